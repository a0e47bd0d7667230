/* vfpool.h - a PF's SR-IOV virtual functions from sysfs: count, PCI address, driver, host netdev, MAC (FlexVF's pool, SPEC §7.2). */
#ifndef VS_PLATFORM_LINUX_VFPOOL_H
#define VS_PLATFORM_LINUX_VFPOOL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * The layout read (Documentation/ABI/testing/sysfs-bus-pci; the links are
 * made by drivers/pci/iov.c), all relative to the sysfs root:
 *
 *   class/net/<pf>/device                 -> the PF's PCI device directory
 *   class/net/<pf>/device/sriov_totalvfs  VFs the device supports
 *   class/net/<pf>/device/sriov_numvfs    VFs enabled now (written by the admin)
 *   class/net/<pf>/device/virtfn<N>       -> ../<VF's PCI address>, N = 0..numvfs-1
 *   <VF>/physfn                           -> ../<PF's PCI address>
 *   <VF>/driver                           -> .../bus/pci/drivers/<name> (absent: unbound)
 *   <VF>/net/<ifname>/address             its MAC, when a host net driver owns it
 *   <VF>/net/<ifname>/flags               IFF_* in hex; IFF_UP (0x1): in use on the host
 *   <VF>/iommu_group                      -> .../kernel/iommu_groups/<G>
 *
 * A VF bound to vfio-pci has no host netdev: its MAC is the one the PF
 * programmed, read over netlink (vfnl.h, IFLA_VF_MAC) and merged by the
 * caller. Which VF a VM holds is vspaced's own record (its grants); this
 * reader says what the host has.
 */

/* Most VFs read per PF (PCIe allows more; NICs offer up to 128-256). */
#define VFPOOL_MAX 256

enum vfpool_binding {
	VFPOOL_UNBOUND = 0, /* no driver */
	VFPOOL_HOST,	    /* a host network driver (iavf, ixgbevf, mlx5_core, ...) */
	VFPOOL_VFIO,	    /* vfio-pci: ready for device assignment */
	VFPOOL_OTHER,	    /* another driver (pci-stub, ...) */
};

struct vfpool_vf {
	int index;	 /* N of virtfn<N> */
	char pci[16];	 /* "0000:3b:02.3" */
	char driver[32]; /* "iavf", "vfio-pci", "" when unbound */
	enum vfpool_binding binding;
	char netdev[IF_NAMESIZE]; /* its host netdev, "" when none */
	char mac[18];		  /* "aa:bb:cc:dd:ee:ff", "" when not known from sysfs */
	bool host_up;		  /* its host netdev is administratively up (in use) */
	int iommu_group;	  /* -1 when unknown */
};

struct vfpool {
	char pf[IF_NAMESIZE]; /* the PF's netdev */
	char pf_pci[16];      /* its PCI address */
	int total_vfs;	      /* sriov_totalvfs */
	int num_vfs;	      /* sriov_numvfs */
	int n;		      /* VFs read (virtfn links found) */
	struct vfpool_vf vf[VFPOOL_MAX];
};

/* Read pf's VFs below the sysfs root sys_fd. Returns the number of VFs read
 * (0 when SR-IOV is off), or -1 with err: no such interface, not a PCI
 * device, no SR-IOV (no sriov_totalvfs), or a malformed link or file. */
int vfpool_read(int sys_fd, const char *pf, struct vfpool *out, char *err, size_t errlen);

/* The VF with PCI address pci, or NULL. */
const struct vfpool_vf *vfpool_find(const struct vfpool *p, const char *pci);

/* Strict parsers of what sysfs and netlink hand over (untrusted at the
 * boundary): a PCI address "DDDD:BB:DD.F" (lower-case hex; domain, bus,
 * device <= 0x1f, function <= 7), and a MAC "aa:bb:cc:dd:ee:ff" (either case;
 * normalised to lower case into out, 18 bytes). Return 0 or -1. */
int vfpool_parse_pci(const char *text, unsigned *domain, unsigned *bus, unsigned *dev,
		     unsigned *fn);
int vfpool_parse_mac(const char *text, char out[18]);

const char *vfpool_binding_name(enum vfpool_binding b);

#endif
