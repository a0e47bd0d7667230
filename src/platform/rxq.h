/* rxq.h - the seam for NIC receive queues under interrupt-rate control (SPEC §7.1): what a host measures of a queue, what it is asked to set. */
#ifndef VS_PLATFORM_RXQ_H
#define VS_PLATFORM_RXQ_H

#include <stdbool.h>
#include <stdint.h>

#include "platform/platform.h"
#include "policy/irqrate.h"

/*
 * A queue is a host NIC's receive queue (the host NIC shared by the LC
 * workloads, or a workload's own nic=) or a guest NIC's, reached through the
 * workload's vspace-agent. Where a driver sets coalescing only for the whole
 * device, the device is one "queue" (queue -1) with the device's counters.
 * The host measures (packets, bytes, interrupts, busy time) and realises
 * (rx-usecs, adaptive-rx off, RPS fan-out); the interrupt-rate loop
 * (src/control/irqctl.h) decides, with the policies of src/policy/irqrate.h.
 */

enum vs_rxq_site {
	VS_RXQ_HOST = 0, /* a NIC of this host */
	VS_RXQ_GUEST,	 /* a NIC in an LC VM, through its agent */
};

/* Interface names, as IFNAMSIZ. */
#define VS_RXQ_IFNAME_MAX 16

/* One queue over one period. */
struct vs_rxq_sample {
	enum vs_rxq_site site;
	char workload[VS_WORKLOAD_NAME_MAX]; /* the guest's workload, or the owner of a host
						NIC of its own; "" the shared host NIC */
	char ifname[VS_RXQ_IFNAME_MAX];
	int queue;		/* receive queue; -1 the whole device */
	bool measured;		/* s is a full period (the first reading is a base) */
	struct vs_irq_sample s; /* packets, bytes, interrupts, busy, period */
	double busy_rx_cores;	/* busy time of the CPUs doing its receive work */
	int fan_cur;		/* CPUs doing it now (RPS fan-out), >= 1 */
	int fan_max;		/* CPUs it may spread over; <= 1: no fan-out */
	bool coalesce_ok;	/* the driver takes rx-usecs */
	char unsupported[160];	/* why not ("" when it does) */
	uint32_t rx_usecs;	/* the setting in force as last read or confirmed;
						0 unknown */
};

/* What to set on one queue. */
struct vs_rxq_target {
	enum vs_rxq_site site;
	char workload[VS_WORKLOAD_NAME_MAX];
	char ifname[VS_RXQ_IFNAME_MAX];
	int queue;
	bool set_rate;	   /* write rx_usecs (adaptive-rx off) */
	uint32_t rx_usecs; /* >= 1 */
	bool release;	   /* no policy any more: put the original setting back */
	bool set_fan;	   /* spread receive work over fan_n CPUs (1: not at all) */
	int fan_n;
};

#endif
