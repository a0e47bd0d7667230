/* irqctl.h - the interrupt-rate loop: each period, per NIC receive queue, the policy's rate and the receive fan-out (SPEC §7.1). */
#ifndef VS_CONTROL_IRQCTL_H
#define VS_CONTROL_IRQCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/rxq.h"
#include "policy/irqrate.h"

/*
 * The program running the loop (vspaced) hands irqctl_step() what the hosts
 * measured of every queue (the Linux platform its NICs', the agent links the
 * guests') and writes back the targets it returns. The state kept here is
 * what a decision depends on from earlier periods (the rate in force, the
 * fan-out) and what status and explain show; no I/O.
 *
 * Which policy a queue gets: its workload's override (irq_policy= in the
 * workload's section, or vspacectl set irq_policy WORKLOAD P), else the
 * host's ([host] irq_policy=); "off" means vspace does not touch the rate.
 */

#define IRQCTL_MAX_OVERRIDES 64

/* A workload's choice: inherit the host's policy, off, or one policy. */
struct vs_irqctl_override {
	char workload[VS_WORKLOAD_NAME_MAX];
	bool off;
	const struct vs_irq_policy_ops *policy; /* NULL with off false: inherit */
};

/* One queue as the loop knows it. */
struct vs_irqctl_queue {
	enum vs_rxq_site site;
	char workload[VS_WORKLOAD_NAME_MAX];
	char ifname[VS_RXQ_IFNAME_MAX];
	int queue;
	const struct vs_irq_policy_ops *policy; /* in force (NULL: off) */
	double rate_per_s;			/* the rate vspace set; 0 = none (driver's own) */
	uint32_t rx_usecs;			/* what it maps to */
	bool has_decision;
	struct vs_irq_decision last; /* the last decision */
	struct vs_irq_sample last_s; /* the period it was made on */
	bool coalesce_ok;
	char unsupported[160];
	int fan_n; /* CPUs doing its receive work as asked; 0 = never asked */
	bool has_fan;
	struct vs_fanout_decision fan_last;
	double busy_rx_cores;
	uint64_t periods; /* decisions made */
	uint64_t changes; /* rates written */
	bool seen;	  /* in the last step */
};

struct vs_irqctl {
	const struct vs_irq_policy_ops *policy; /* the host's; NULL = off */
	struct vs_irq_params params;
	bool fanout; /* receive fan-out on */
	struct vs_fanout_params fan;
	struct vs_irqctl_override ovr[IRQCTL_MAX_OVERRIDES];
	int n_ovr;
	struct vs_irqctl_queue *q;
	int n_q, cap_q;
	uint64_t steps;
};

/* ---- API for the program running the loop ------------------------------------------------ */

/* policy: the host's (NULL off); params checked by the caller. */
void irqctl_init(struct vs_irqctl *c, const struct vs_irq_policy_ops *policy,
		 const struct vs_irq_params *params, bool fanout);
void irqctl_free(struct vs_irqctl *c);
/* Set the host's policy (workload NULL or "") or a workload's override, by
 * name: "off", "fir", "cgr", "air", and for a workload also "inherit".
 * Takes effect at the next step. Returns 0, or -1 with err. */
int irqctl_set_policy(struct vs_irqctl *c, const char *workload, const char *name, char *err,
		      size_t errlen);
/* The policy a queue of workload ("" the shared host NIC) gets; NULL off. */
const struct vs_irq_policy_ops *irqctl_policy_of(const struct vs_irqctl *c, const char *workload);
/* The name of a workload's setting ("inherit", "off" or the policy's). */
const char *irqctl_override_name(const struct vs_irqctl *c, const char *workload);
/* True when nothing is asked of any queue (no policy anywhere, no fan-out):
 * the caller may skip measuring. */
bool irqctl_idle(const struct vs_irqctl *c);

/* One period over n samples: decide, and write into t (at most max) what to
 * set. Queues absent from the samples are forgotten. Returns the number of
 * targets. */
int irqctl_step(struct vs_irqctl *c, const struct vs_rxq_sample *s, int n, struct vs_rxq_target *t,
		int max);
/* A queue's state after a confirmed or refused write (a guest agent answers
 * later): ok false with why marks it unsupported, so it is not asked again. */
void irqctl_confirm(struct vs_irqctl *c, enum vs_rxq_site site, const char *workload,
		    const char *ifname, int queue, bool ok, const char *why);

/* A multi-line account of the last decisions (vspacectl explain). */
size_t irqctl_explain(const struct vs_irqctl *c, char *buf, size_t len);
/* "host eth0 rx-0", "host eth0" (whole device), "guest web eth0". */
size_t irqctl_queue_label(const struct vs_irqctl_queue *q, char *buf, size_t len);

#endif
