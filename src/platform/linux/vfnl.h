/* vfnl.h - what a PF says about its VFs over rtnetlink (IFLA_VFINFO_LIST: MAC, IFLA_VF_STATS) and setting a VF's MAC. */
#ifndef VS_PLATFORM_LINUX_VFNL_H
#define VS_PLATFORM_LINUX_VFNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/linux/sysroot.h"

/*
 * RTM_GETLINK on the PF with IFLA_EXT_MASK = RTEXT_FILTER_VF makes the
 * kernel add IFLA_VFINFO_LIST: one nested IFLA_VF_INFO per VF holding
 * IFLA_VF_MAC (struct ifla_vf_mac) and IFLA_VF_STATS (nested u64 counters
 * IFLA_VF_STATS_RX_PACKETS, ...), as the PF driver reports them
 * (net/core/rtnetlink.c rtnl_fill_vfinfo). A VF bound to vfio-pci has no
 * host netdev, so this is where its counters and MAC come from.
 *
 * Under a fixture root the answer is emulated by the text file
 * .vspace-emul/vfinfo/<pf>: one line per VF,
 *   "vf mac rx_packets tx_packets rx_bytes tx_bytes"
 * and setting a MAC rewrites that VF's line.
 */

struct vfnl_vf {
	int vf;		     /* the VF's number on its PF (virtfn<N>) */
	char mac[18];	     /* "" when the PF did not say */
	bool has_stats;	     /* the driver reports IFLA_VF_STATS */
	uint64_t rx_packets; /* received by the VF (towards its VM) */
	uint64_t tx_packets; /* sent by the VF */
	uint64_t rx_bytes, tx_bytes;
	uint64_t rx_dropped, tx_dropped;
};

/* Most VFs one answer is read for. */
#define VFNL_MAX 256

/* Parse one RTM_NEWLINK message (its netlink header included, len bytes):
 * the VFs of its IFLA_VFINFO_LIST into out (at most max). Returns the number
 * found (0: the device lists none), or -1 with err for a message that is not
 * an RTM_NEWLINK or whose attributes are malformed. Never reads past len. */
int vfnl_parse(const void *msg, size_t len, struct vfnl_vf *out, int max, char *err, size_t errlen);
/* Parse the emulation file's text. Same returns. */
int vfnl_parse_emul(const char *text, struct vfnl_vf *out, int max, char *err, size_t errlen);

/* Ask the PF (live: over nlfd, an AF_NETLINK/NETLINK_ROUTE socket in the
 * PF's namespace; under a fixture root: the emulation file). Returns the
 * number of VFs, or -1 with err. */
int vfnl_query(const struct vs_sysroot *r, int nlfd, const char *pf, struct vfnl_vf *out, int max,
	       char *err, size_t errlen);

/* Build the RTM_SETLINK request that sets VF vf's MAC (ip link set PF vf N
 * mac M): IFLA_IFNAME pf, IFLA_VFINFO_LIST { IFLA_VF_INFO { IFLA_VF_MAC } }.
 * Returns the message length, or -1 when it does not fit or mac is not a MAC. */
int vfnl_set_mac_msg(void *buf, size_t cap, const char *pf, int vf, const char *mac, uint32_t seq);
/* Set it (live, or in the emulation file). Returns 0 or -errno with err. */
int vfnl_set_mac(const struct vs_sysroot *r, int nlfd, const char *pf, int vf, const char *mac,
		 char *err, size_t errlen);

/* An rtnetlink socket (non-blocking, close-on-exec). Returns the fd or -errno. */
int vfnl_socket(void);

#endif
