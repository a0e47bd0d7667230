/* vfrate.h - a VM's packet rate for FlexVF's ranking: the host tap's counters (PV path), the VF's (netlink IFLA_VF_STATS) or the guest agent's NIC counters. */
#ifndef VS_PLATFORM_LINUX_VFRATE_H
#define VS_PLATFORM_LINUX_VFRATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * A VM's traffic takes its para-virtual path (the host tap: rx_packets are
 * what the guest sent, tx_packets what it received) and, while it holds a
 * VF, the VF. The VF's counters come from its PF over netlink (vfnl.h),
 * or, where the PF driver reports none, from the guest agent's `stats`
 * answer: each NIC's "packets": [rx, tx] (the totals the guest's kernel
 * keeps). The rate of a VM is the sum over its paths.
 */

/* rx_packets and tx_packets of class/net/<ifname>/statistics below sys_fd
 * (the sysfs root, or a namespace's). Returns 0 or -1 (errno). */
int vfrate_netdev_packets(int sys_fd, const char *ifname, uint64_t *rx, uint64_t *tx);

/* The guest agent's counters of NIC ifname in a stats result: its
 * "packets": [rx, tx]. Returns 0, or -1 when the NIC or its counters are
 * missing or malformed (the agent is not trusted: both whole numbers >= 0). */
int vfrate_agent_packets(const json_t *stats, const char *ifname, uint64_t *rx, uint64_t *tx);

/* A cumulative counter turned into a rate. */
struct vfrate_ctr {
	bool primed;	  /* a reading was taken */
	uint64_t last;	  /* the last reading */
	uint64_t last_ns; /* when (monotonic) */
};

/* Take the reading count at now_ns. Returns the rate in packets per second
 * since the previous reading, or -1 when there was none, no time passed, or
 * the counter went back (a reset: a device re-plugged, a VM restarted); the
 * reading is kept either way. */
double vfrate_feed(struct vfrate_ctr *c, uint64_t count, uint64_t now_ns);

#endif
