/* irqrate.h - the interrupt-moderation model: an 8-core SR-IOV host, VMs with a VF each, TCP/UDP streams, FIR/CGR/AIR and RPS fan-out (`vspace sim irqrate`). */
#ifndef VS_SIM_IRQRATE_H
#define VS_SIM_IRQRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "policy/irqrate.h"

/*
 * A discrete-event model of interrupt moderation, separate from the vSPACE
 * host model (src/sim/host.c). Mechanisms (constants in irqrate_costs.h):
 *   - the sender puts each VM's stream on the wire at the VM's share of 10 GbE
 *     (UDP: always; TCP: as its window allows, Reno-like, ACK-clocked);
 *   - the VF writes arriving packets into its 512-descriptor ring (full: the
 *     packet is lost) and raises an interrupt when a packet is waiting, its
 *     vector is unmasked and 1/I s have passed since the last one (EITR);
 *   - the interrupt costs host time on the vCPU's core (vfio, KVM injection,
 *     a VM exit when the vCPU is in guest mode) and guest time (ISR, EOI exit);
 *   - NAPI then polls 64 packets at a time (driver, IP, UDP/TCP, ACKs) until the
 *     ring is empty, and unmasks the vector; past 300 packets or 2 ms the rest
 *     is left to ksoftirqd, which shares the vCPU with the application;
 *   - the application reads the socket (per call and per KiB); a full UDP
 *     socket drops the packet after the stack paid for it;
 *   - vCPUs are threads on the host's cores (pinned round-robin), scheduled
 *     CFS-like: time slices, wake-up placement and preemption; an interrupt
 *     for a descheduled vCPU waits until it runs;
 *   - with fan-out (RPS/RFS) the interrupt's vCPU only steers each packet to
 *     the vCPU of its flow's reader, with an IPI per poll and remote vCPU.
 * k (packets per interrupt) is not an input: it is whatever arrived.
 */

enum irqsim_proto {
	IRQSIM_UDP = 0,
	IRQSIM_TCP,
};

struct irqsim_config {
	int n_vms;	  /* VMs, one VF each (1..64) */
	int vcpus_per_vm; /* 1 or 2 */
	int flows_per_vm; /* streams per VM (1..16) */
	int pkt_bytes;	  /* UDP/TCP payload per packet (1..1472) */
	enum irqsim_proto proto;
	/* the interrupt rate: a policy every period, or a fixed rate (policy
	 * NULL; fixed_per_s 0 = no moderation) */
	const struct vs_irq_policy_ops *policy;
	double fixed_per_s;
	struct vs_irq_params params; /* air_c_pkt_ns/air_c_int_ns <= 0: the model's own
					(irqsim_model_costs), as a calibration would give */
	bool fanout;		     /* RPS/RFS over the VM's vCPUs, sized each period */
	double duration_s;	     /* simulated time, including the warm-up */
	double warmup_s;	     /* not measured */
	/* sensitivity: the uncertain constants moved (1, 1, 0 = as in irqrate_costs.h) */
	double pkt_cost_scale; /* the guest's per-packet costs times this */
	double int_cost_scale; /* the per-interrupt costs (host handler, ISR, EOI) times this */
	int ring;	       /* descriptors per VF; 0 = IRQ_SIM_RING */
};

struct irqsim_result {
	double offered_gbps;	/* payload the sender put on the wire */
	double throughput_gbps; /* payload the applications read */
	double cpu_cores;	/* busy time of the host's cores, cores */
	double loss_pct;	/* packets lost (ring full, socket full) / packets arrived */
	double ring_loss_pct;	/* of which at the ring */
	double int_per_s;	/* interrupts of all VFs per second */
	double pkts_per_int;	/* packets taken per interrupt (k as it came out) */
	double rate_per_s;	/* mean interrupt rate the VFs were set to (0 = none) */
	double fanout_cpus;	/* mean CPUs doing receive work per VM */
	long long events;	/* events simulated */
};

void irqsim_config_defaults(struct irqsim_config *c);
/* The per-packet and per-interrupt CPU time of the model's receive path for
 * a packet size and protocol: what `vspace irq calibrate` would measure (guest
 * and host time per packet; per interrupt both sides). */
void irqsim_model_costs(int pkt_bytes, enum irqsim_proto proto, double *c_pkt_ns, double *c_int_ns);
/* Run one configuration. Returns 0, or -1 with err (bad configuration, out
 * of memory). Deterministic. */
int irqsim_run(const struct irqsim_config *c, struct irqsim_result *r, char *err, size_t errlen);

/* ---- Scenarios (`vspace sim irqrate`) ----------------------------------------------------- */

#define IRQSIM_MAX_LIST 16

struct irqsim_scen_opts {
	const char *what; /* "sweep", "grid" or "fanout" */
	char policies[IRQSIM_MAX_LIST][8];
	int n_policies;
	int vms[IRQSIM_MAX_LIST];
	int n_vms;
	int pkt_bytes[IRQSIM_MAX_LIST];
	int n_pkt_bytes;
	enum irqsim_proto protos[2];
	int n_protos;
	double rates[IRQSIM_MAX_LIST]; /* sweep: fixed rates; 0 = no moderation */
	int n_rates;
	double duration_s, warmup_s;
	double pkt_cost_scale, int_cost_scale; /* 0 = 1 */
	int ring;			       /* 0 = the default */
	const char *csv;		       /* CSV file, or NULL */
	const char *svg;		       /* SVG file, or NULL */
	int jobs;			       /* parallel runs (processes); 0 = online CPUs */
};

/* Run the scenario, print its table to out, write the CSV/SVG asked for.
 * Returns an exit status: 0, 1 (a run failed), 2 (bad options). */
int irqsim_scenario(const struct irqsim_scen_opts *o, FILE *out);

#endif
