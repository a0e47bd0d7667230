/* vfplug.h - hot-plug a VF into a running VM and take it out again: QMP (device_add/device_del, DEVICE_DELETED) or libvirt (attach/detach of a hostdev interface with <teaming>). */
#ifndef VS_PLATFORM_LINUX_VFPLUG_H
#define VS_PLATFORM_LINUX_VFPLUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/linux/qmpconn.h"

/*
 * The guest sees the VF next to its para-virtual NIC. With virtio-net
 * failover (QEMU `-device virtio-net-pci,...,failover=on`, libvirt
 * `<teaming type='persistent'/>`) the guest's net_failover driver makes the
 * VF the primary of the failover pair when it appears and falls back to the
 * virtio-net standby when it goes; the VF carries the standby's MAC. Without
 * a failover standby the guest's vspace-agent bonds the two (src/agent/).
 *
 * QMP (QEMU without libvirt):
 *   plug    device_add {driver: "vfio-pci", host: VF, id, bus: a free
 *           pcie-root-port, failover_pair_id: the virtio-net's id}
 *           (a stand-in NIC instead: {driver: "e1000e", netdev, mac, ...})
 *   unplug  device_del {id}, then the DEVICE_DELETED event naming the id
 *           (the guest releases the device: tens of ms to seconds), waited
 *           for at most a timeout; then announce-self on the standby's
 *           NIC, so that a learning switch in front of the VM sends its
 *           traffic to the PV path at once instead of after its MAC ages
 *           out (a vfio-pci VF is not a QEMU NIC: nothing to announce there;
 *           the PF's own switch steers by the VF's MAC).
 * libvirt:
 *   plug    virDomainAttachDeviceFlags(LIVE) of
 *           <interface type='hostdev' managed='yes'><mac/><source><address
 *           type='pci' .../></source><teaming type='transient'
 *           persistent='ALIAS'/><alias name='ua-...'/></interface>
 *   unplug  virDomainDetachDeviceFlags(LIVE) of the same, then the live XML
 *           polled until the alias is gone (detaching may be asynchronous).
 * Both are idempotent: plugging a device that is there (QEMU: "Duplicate
 * device ID") or unplugging one that is not ("not found") succeeds.
 */

/* What to plug: one VF (or a stand-in NIC) for one VM. */
struct vfplug_dev {
	char id[32];	      /* the QEMU device id ("vspace-vf0"); libvirt alias "ua-<id>" */
	char driver[32];      /* "vfio-pci" for a VF; a NIC model ("e1000e") stands in */
	char host_pci[16];    /* vfio-pci / libvirt: the VF's PCI address "0000:3b:02.1" */
	char netdev[32];      /* a stand-in NIC: the QEMU netdev behind it */
	char mac[18];	      /* the VM's standby MAC (the VF must carry it) */
	char standby[32];     /* failover: the virtio-net's QEMU id (failover_pair_id), or
			       its libvirt alias ("ua-net0"; teaming persistent=); "" =
			       no failover pair (the agent bonds) */
	char standby_nic[32]; /* QMP: the standby's NIC name for announce-self (its id) */
	char bus[32];	      /* QMP: a free pcie-root-port's id; "" = QEMU picks */
};

/* Check a description before use (ids: letters, digits, - _ .; a MAC; a
 * PCI address where the driver needs one). A QMP unplug needs only the id
 * (and standby_nic when announcing). Returns 0 or -1 with err. */
int vfplug_dev_check(const struct vfplug_dev *d, bool libvirt, bool unplug, char *err,
		     size_t errlen);

/* ---- QMP ---------------------------------------------------------------------- */

/* The arguments of device_add for d (caller decrefs). */
json_t *vfplug_qmp_add_args(const struct vfplug_dev *d);

enum vfplug_state {
	VFPLUG_IDLE = 0,
	VFPLUG_ADD_SENT,      /* device_add sent, its reply awaited */
	VFPLUG_DEL_SENT,      /* device_del sent */
	VFPLUG_WAIT_DELETED,  /* device_del accepted; DEVICE_DELETED awaited */
	VFPLUG_ANNOUNCE_SENT, /* announce-self sent */
	VFPLUG_DONE,	      /* finished: ok */
	VFPLUG_FAILED,	      /* finished: err says why */
};

/* One plug or unplug in progress over a shared, non-blocking QMP
 * connection (qmpconn.h). Nothing here waits: vfplug_qmp_step() sends when
 * the connection can take a command and reads what has arrived. */
struct vfplug_qmp {
	struct vfplug_dev dev;
	enum vfplug_state state;
	bool unplug;	      /* this is an unplug */
	bool announce;	      /* after an unplug, announce-self on dev.standby_nic */
	bool deleted;	      /* DEVICE_DELETED for dev.id seen (it may precede the reply) */
	bool was_absent;      /* the device was not there (unplug) / already there (plug) */
	uint64_t start_us;    /* when it started */
	uint64_t deadline_us; /* the wait for DEVICE_DELETED ends here */
	uint64_t acked_us;    /* when QEMU answered device_add / device_del */
	uint64_t gone_us;     /* unplug: when DEVICE_DELETED arrived */
	uint64_t done_us;     /* when it finished (after the announcement, if any) */
	int timeout_ms;	      /* how long DEVICE_DELETED may take */
	char err[256];
};

/* Start a plug / an unplug (no I/O yet). The connection's on_event hook must
 * lead to vfplug_qmp_event() (vfplug_qmp_hook() sets it for one op). */
void vfplug_qmp_start(struct vfplug_qmp *op, const struct vfplug_dev *d, bool unplug,
		      int timeout_ms, bool announce, uint64_t now_us);
/* An event from QEMU: notes DEVICE_DELETED for the op's device. */
void vfplug_qmp_event(struct vfplug_qmp *op, const json_t *event);
/* Point c's event hook at op (when it is the connection's only user). */
void vfplug_qmp_hook(struct qmpconn *c, struct vfplug_qmp *op);
/* Drive the op: send its next command when c can take one, read what
 * arrived, check the deadline. Returns the state (DONE / FAILED when it
 * finished). The reply a connection awaits is consumed here: while an op
 * runs, no one else sends on c. */
enum vfplug_state vfplug_qmp_step(struct vfplug_qmp *op, struct qmpconn *c, uint64_t now_us);
/* The op's wait for QEMU: when to call step again at the latest (us). */
uint64_t vfplug_qmp_next_us(const struct vfplug_qmp *op, uint64_t now_us);

/* Blocking: run the op to its end over c (connecting when needed), for
 * tools. Returns 0 or -1 with op->err. */
int vfplug_qmp_run(struct vfplug_qmp *op, struct qmpconn *c);

/* ---- libvirt -------------------------------------------------------------------- */

/* The <interface> XML for d into buf. Returns its length, or -1 when it does
 * not fit. */
int vfplug_libvirt_xml(const struct vfplug_dev *d, char *buf, size_t len);

struct vs_virt;
/* Attach / detach d on domain dom (live). Detach waits up to timeout_ms for
 * the device to leave the live definition. Return 0 or a negative errno
 * (virt.h's classes: -EOPNOTSUPP the driver cannot, -ENOENT no domain,
 * -ETIMEDOUT the guest did not release it) with err. */
int vfplug_libvirt_attach(struct vs_virt *v, const char *dom, const struct vfplug_dev *d, char *err,
			  size_t errlen);
int vfplug_libvirt_detach(struct vs_virt *v, const char *dom, const struct vfplug_dev *d,
			  int timeout_ms, char *err, size_t errlen);

#endif
