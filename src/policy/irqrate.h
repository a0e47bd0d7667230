/* irqrate.h - interrupt-rate policies FIR, CGR, AIR and receive fan-out (SPEC §7.1): a queue's period in, a target interrupt rate out. */
#ifndef VS_POLICY_IRQRATE_H
#define VS_POLICY_IRQRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An interrupt-rate policy looks at one NIC receive queue over one period
 * (packets, bytes, interrupts, busy time of the core that handles it) and
 * returns the interrupt rate the queue should have, in interrupts per second,
 * and the ethtool rx-usecs that rate maps to (rx-usecs = 1e6 / rate). Like
 * the core policies (policy.h) they are pure: no I/O, no hidden state; what a
 * decision depends on from earlier periods (the rate in force) is an input.
 * The daemon (host queues, and guest queues through vspace-agent), `vspace irq
 * replay` and the simulator (`vspace sim irqrate`) call the same functions.
 */

/* ---- CGR's classes (SPEC §7.1) --------------------------------------------- */

/* Mean packet size at or above which traffic is "full bulk". Source: SPEC §7.1
 * (>= 1,200 B), after the bulk class of Intel's adaptive moderation (e1000
 * "dynamic ITR": bulk when bytes/packets > 1200, e1000_update_itr()). */
#define IRQ_CGR_BULK_MIN_BYTES 1200.0
/* Mean packet size at or above which traffic is "intermediate" (below: small
 * packets). Source: SPEC §7.1 (300-1,200 B). */
#define IRQ_CGR_MID_MIN_BYTES 300.0
/* The lower end SPEC §7.1 gives the "latency sensitive" class (64-300 B): the
 * minimum Ethernet frame. A mean below it (a driver that counts 60-byte
 * frames without the FCS) is small traffic too; it is not a class boundary. */
#define IRQ_CGR_SMALL_MIN_BYTES 64.0
/* Small-packet traffic is "sparse" below this packet rate, per second: at the
 * latency-sensitive class's own rate (IRQ_CGR_SENSITIVE_PER_S) an interrupt
 * would then carry less than one packet on average, so moderating only delays
 * packets. Ours: SPEC §7.1 names the class without a figure; derived from the
 * class rate so that the two meet. A period without packets is sparse. */
#define IRQ_CGR_SPARSE_MAX_PPS 20000.0
/* The classes' interrupt rates, per second. Source: SPEC §7.1. */
#define IRQ_CGR_BULK_PER_S	4000.0	 /* full bulk (e1000's bulk class: 4,000) */
#define IRQ_CGR_MID_PER_S	8000.0	 /* intermediate (the common fixed default) */
#define IRQ_CGR_SENSITIVE_PER_S 20000.0	 /* latency sensitive (e1000's low latency) */
#define IRQ_CGR_CRITICAL_PER_S	100000.0 /* latency critical (ixgbe's IXGBE_100K_ITR) */

enum irq_class {
	IRQ_CLASS_NONE = 0,  /* not classified (FIR, AIR) */
	IRQ_CLASS_BULK,	     /* mean size >= 1,200 B */
	IRQ_CLASS_MID,	     /* 300 <= mean size < 1,200 B */
	IRQ_CLASS_SENSITIVE, /* mean size < 300 B, not sparse */
	IRQ_CLASS_CRITICAL,  /* mean size < 300 B and < IRQ_CGR_SPARSE_MAX_PPS, or no packets */
};

const char *irq_class_name(enum irq_class c);

/* ---- Tunables ----------------------------------------------------------------- */

/* Every tunable of the interrupt-rate policies, with the defaults of
 * irq_params_defaults(). */
struct vs_irq_params {
	double fir_per_s;	     /* FIR's fixed rate; SPEC §7.1: 8,000 int/s (the common
				    driver default, e1000's former fixed InterruptThrottleRate) */
	double air_k;		     /* AIR: packets handled per interrupt, k; 32 (ours: half of
				    NAPI's poll weight of 64, so one interrupt's packets are
				    taken in one poll with room for a burst of as many again) */
	double air_c_pkt_ns;	     /* AIR: CPU time per packet, C_pkt; calibrated per host (vspace
				    irq calibrate); 2,000 ns until then (the simulator's guest
				    receive path: VF driver clean + IP/UDP, IRQ_SIM_* in
				    src/sim/irqrate_costs.h) */
	double air_c_int_ns;	     /* AIR: CPU time per interrupt, C_int; calibrated per host;
				    6,000 ns until then (an SR-IOV interrupt into a VM without
				    posted interrupts: host IRQ, VM exit, injection, guest ISR,
				    EOI exit; the simulator's figures) */
	double air_capacity_cores;   /* AIR: CPU capacity C of the core(s) handling the queue,
				      in cores; 1 (one core, SPEC §7.1's C) */
	double air_offset_per_s;     /* AIR: added to B/(k·S); 1,000 int/s (ours: one more
				    interrupt per millisecond than the mean packet rate needs,
				    room for bursts within the period) */
	double air_min_per_s;	     /* AIR: lower clamp I_min; 1,000 int/s (ours: a packet waits at
				    most 1 ms for its interrupt, the memcached SLO of SPEC §2) */
	double air_hysteresis_per_s; /* AIR: apply only when the rate moves by at least this;
					1,000 int/s (ours: an eighth of the 8,000 default, so
					noise in the packet rate does not cost a write each
					period) */
};

void irq_params_defaults(struct vs_irq_params *p);
/* Check ranges (rates > 0, k >= 1, costs > 0, ...). Returns 0 or -1 with the
 * offending parameter named in err. */
int irq_params_check(const struct vs_irq_params *p, char *err, size_t errlen);

/* ---- Input and output ------------------------------------------------------------ */

/* One receive queue over one period. */
struct vs_irq_sample {
	double period_s;     /* length of the period, seconds (> 0) */
	uint64_t packets;    /* packets received */
	uint64_t bytes;	     /* bytes received (as the driver counts them) */
	uint64_t interrupts; /* interrupts the queue raised */
	double busy_cores;   /* busy time of the core that handles the queue, cores */
};

struct vs_irq_in {
	const struct vs_irq_sample *sample;
	double current_per_s; /* the rate in force during the period; 0 = not set by us yet */
	const struct vs_irq_params *params;
};

struct vs_irq_decision {
	double rate_per_s; /* the rate in force from now on (the current one when held) */
	uint32_t rx_usecs; /* what rate_per_s maps to: round(1e6 / rate), >= 1 */
	bool change;	   /* rate_per_s differs from current_per_s: write it */
	enum irq_class cls;
	/* AIR's numbers (0 for the others), for status and explain */
	double air_raw_per_s;  /* B/(k·S) + offset */
	double air_ihat_per_s; /* Î = C / (C_pkt·k + C_int) */
	double air_want_per_s; /* the raw rate clamped to [I_min, Î] */
	char why[224];	       /* one line: the arithmetic behind the decision */
};

/* rx-usecs for a rate: round(1e6 / rate_per_s), at least 1. */
uint32_t irq_rx_usecs(double rate_per_s);

/* ---- Policies ---------------------------------------------------------------------- */

struct vs_irq_policy_ops {
	/** Name chosen by irq_policy= and --policy: "fir", "cgr" or "air". */
	const char *name;
	/** One line for listings. */
	const char *summary;
	/** Decide one queue's rate. Pure: reads only in. */
	void (*decide)(const struct vs_irq_in *in, struct vs_irq_decision *out);
};

extern const struct vs_irq_policy_ops irq_policy_fir;
extern const struct vs_irq_policy_ops irq_policy_cgr;
extern const struct vs_irq_policy_ops irq_policy_air;

/* The policy of that name, or NULL. */
const struct vs_irq_policy_ops *irq_policy_lookup(const char *name);
/* All of them, NULL-terminated. */
const struct vs_irq_policy_ops *const *irq_policy_all(void);

/* CGR's class of a period (exposed for tests and the simulator). */
enum irq_class irq_cgr_classify(const struct vs_irq_sample *s);

/* ---- Receive fan-out (SPEC §7.1, the multi-threaded VF driver) --------------------- */

/* How many CPUs share a few-queue NIC's receive processing (RPS/RFS): the
 * threshold idea of SPEC §3 applied to the receive work. */
struct vs_fanout_params {
	double threshold; /* highest per-CPU utilization of receive work before another CPU
			     joins; SPEC §3.4's initial threshold, 0.8 */
	double margin;	  /* shrink only when margin·U/threshold needs fewer CPUs; SPEC
			     §3.2's margin, 1.1 */
};

void irq_fanout_defaults(struct vs_fanout_params *p);

struct vs_fanout_decision {
	int n;	       /* CPUs that do receive processing from now on, 1..n_max */
	char why[160]; /* the arithmetic */
};

/* busy_rx_cores: busy time of the CPUs doing the queue's receive work in the
 * period (the interrupt's CPU and the RPS targets: SPEC §3's group busy time
 * U), in cores; n_cur: CPUs doing it during the period (>= 1); n_max: CPUs
 * that may (>= 1). Grows at once to ceil(U/threshold), shrinks only when
 * ceil(margin·U/threshold) is smaller. */
void irq_fanout_decide(const struct vs_fanout_params *p, double busy_rx_cores, int n_cur, int n_max,
		       struct vs_fanout_decision *out);

#endif
