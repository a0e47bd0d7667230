/* irqrate.c - the interrupt-moderation model: VFs with EITR throttling, NAPI, vCPUs on shared cores, TCP/UDP senders, FIR/CGR/AIR and RPS fan-out. */
#include "sim/irqrate.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/engine.h"
#include "sim/irqrate_costs.h"

/* Most vCPUs in a run, and TCP packet trains in flight per VM. */
#define ISIM_MAX_VCPUS	128
#define ISIM_MAX_TRAINS 256

enum isim_hstate { HS_HALTED = 0, HS_RUNNABLE, HS_RUNNING };

/* What a vCPU is doing inside the guest. */
enum isim_seg {
	SEG_NONE = 0,
	SEG_ISR,     /* interrupt handler (+ EOI exit), or an RPS IPI's */
	SEG_POLL,    /* a NAPI poll: driver and, for local flows, the stack */
	SEG_BACKLOG, /* packets RPS steered here: the stack */
	SEG_APP,     /* the application reading its sockets */
};

struct isim_vcpu {
	int vm, idx, core;
	enum isim_hstate hs;
	double vruntime;  /* ns */
	int64_t run_from; /* when it last started running */
	/* the guest segment in progress (also while descheduled) */
	enum isim_seg seg;
	int64_t seg_left; /* ns of it still to run */
	int64_t seg_end;  /* absolute, while running */
	int seg_pkts;	  /* packets it handles */
	int seg_local;	  /* POLL: of which processed here */
	int64_t carry;	  /* overhead added to the next segment (IPIs sent) */
	bool isr_pending, ipi_pending;
	bool napi;	       /* NAPI scheduled on it (the VF's vCPU) */
	bool deferred;	       /* softirq work left to ksoftirqd */
	bool ksoftirqd_turn;   /* deferred: whose turn, ksoftirqd's or the app's */
	int64_t softirq_start; /* this softirq run: start and packets */
	int softirq_pkts;
	long long backlog; /* packets steered here, waiting for the stack */
	long long sockq;   /* packets in the sockets of its reader */
	int64_t app_left;  /* an application read cut short by an interrupt */
	int app_pkts;
	/* accounting, ns */
	int64_t rx_ns;	/* ISR, POLL, BACKLOG: receive work */
	int64_t run_ns; /* running (guest work and the switches into it) */
	int64_t p_run_ns;
};

struct isim_train {
	int64_t start;	 /* first packet's arrival at the NIC */
	double spacing;	 /* ns between packets */
	long long count; /* packets */
	long long done;	 /* already arrived */
};

struct isim_vm {
	int first_vcpu, n_vcpus;
	/* the wire */
	double spacing_ns; /* between this VM's packets at its share of the link */
	int frame_bytes;   /* bytes the driver counts per packet */
	/* UDP: a steady stream from t0 */
	int64_t t0;
	long long arrived; /* packets that reached the NIC so far */
	/* TCP sender */
	double cwnd, ssthresh;
	long long inflight;
	int64_t wire_free, last_cut, last_progress;
	struct isim_train trains[ISIM_MAX_TRAINS];
	int tr_head, tr_n;
	/* the VF */
	long long ring;
	int64_t sync_at;   /* arrivals accounted up to here */
	int64_t itr_ns;	   /* interval between interrupts, 0 = none */
	int64_t last_irq;  /* -inf at start */
	bool irq_enabled;  /* vector unmasked */
	double rate_per_s; /* the rate set */
	int rps_n;	   /* CPUs sharing receive work (1 = no RPS) */
	long long flow_rr; /* round robin of arriving packets over the flows */
	/* counters */
	long long rx_pkts, drops_ring, drops_sock, irqs, delivered, sent;
	/* the last period's, for the policies */
	long long p_rx, p_irqs;
	int64_t p_busy, p_rx_ns;
};

struct isim_core {
	int curr;	    /* running vCPU, -1 idle */
	int64_t slice_end;  /* when curr's slice ends */
	int64_t host_until; /* host interrupt work on the core runs until then */
	int64_t busy_ns;    /* everything: vCPUs, host interrupt work, switches */
	int n_vcpus;
	int vcpu[ISIM_MAX_VCPUS];
};

struct isim {
	struct irqsim_config cfg;
	struct sim_engine eng;
	struct isim_core core[IRQ_SIM_CORES];
	struct isim_vcpu *vc;
	struct isim_vm *vm;
	int n_vcpus;
	double c_stack_ns, c_app_call_ns, c_copy_ns;	/* per packet, by size and protocol */
	double c_drv_ns;				/* per packet in the driver */
	double c_host_irq_ns, c_guest_isr_ns, c_eoi_ns; /* per interrupt */
	long long ring;					/* descriptors per VF */
	long long sock_cap;				/* packets a reader's socket holds */
	long long events;
	/* the measured window */
	bool measuring;
	long long m_rx, m_drops_ring, m_drops_sock, m_irqs, m_delivered, m_sent, m_arrived;
	int64_t m_busy;
	double m_rate_sum, m_fan_sum;
	int m_periods;
};

/* Engine slots: one per core, one per VF, one for the period. */
#define SLOT_CORE(c)   (c)
#define SLOT_NIC(s, v) (IRQ_SIM_CORES + (v))
#define SLOT_PERIOD(s) (IRQ_SIM_CORES + (s)->cfg.n_vms)

void irqsim_config_defaults(struct irqsim_config *c)
{
	memset(c, 0, sizeof(*c));
	c->n_vms = 8;
	c->vcpus_per_vm = 1;
	c->flows_per_vm = 1;
	c->pkt_bytes = 1472;
	c->proto = IRQSIM_UDP;
	c->policy = &irq_policy_fir;
	irq_params_defaults(&c->params);
	c->params.air_c_pkt_ns = 0;
	c->params.air_c_int_ns = 0;
	c->duration_s = 1.0;
	c->warmup_s = 0.3;
	c->pkt_cost_scale = 1;
	c->int_cost_scale = 1;
}

/* Per packet: the stack, the reader's call and copy. */
static void isim_pkt_costs(int pkt_bytes, enum irqsim_proto proto, double *stack, double *call,
			   double *copy)
{
	*copy = (double)IRQ_SIM_COPY_NS_PER_KIB * pkt_bytes / 1024.0;
	if (proto == IRQSIM_UDP) {
		*stack = IRQ_SIM_UDP_PKT_NS;
		*call = IRQ_SIM_RECV_CALL_NS;
	} else {
		*stack = IRQ_SIM_TCP_PKT_NS + (double)IRQ_SIM_TCP_ACK_NS / IRQ_SIM_TCP_ACK_PER;
		/* one read call per 64 KiB */
		*call = (double)IRQ_SIM_RECV_CALL_NS * pkt_bytes / IRQ_SIM_TCP_READ_BYTES;
	}
}

void irqsim_model_costs(int pkt_bytes, enum irqsim_proto proto, double *c_pkt_ns, double *c_int_ns)
{
	double stack, call, copy;

	isim_pkt_costs(pkt_bytes, proto, &stack, &call, &copy);
	*c_pkt_ns = IRQ_SIM_DRV_PKT_NS + stack + call + copy;
	*c_int_ns = IRQ_SIM_HOST_IRQ_NS + IRQ_SIM_VM_EXIT_NS + IRQ_SIM_VM_ENTRY_NS +
		    IRQ_SIM_GUEST_ISR_NS + IRQ_SIM_EOI_EXIT_NS;
}

/* ---- arrivals ----------------------------------------------------------------------------- */

static void isim_count_arrivals(struct isim *s, struct isim_vm *m, long long n)
{
	long long room = s->ring - m->ring, in = n < room ? n : room;

	m->ring += in;
	m->rx_pkts += in;
	m->drops_ring += n - in;
	if (s->measuring) {
		s->m_arrived += n;
		s->m_rx += in;
		s->m_drops_ring += n - in;
	}
	if (s->cfg.proto == IRQSIM_TCP && n > in) {
		/* lost segments: the sender learns within a round trip; one window
		 * cut per round trip (Reno's fast recovery, simplified) */
		int64_t now = s->eng.now;
		m->inflight -= n - in;
		if (m->inflight < 0)
			m->inflight = 0;
		if (now - m->last_cut > 4 * IRQ_SIM_ONE_WAY_NS + 100000) {
			m->ssthresh = m->cwnd / 2 > 2 ? m->cwnd / 2 : 2;
			m->cwnd = m->ssthresh;
			m->last_cut = now;
		}
	}
}

/* Packet i of a stream starting at t0 arrives at t0 + ceil(i * spacing): how
 * many (i = 0, 1, ...) have arrived by now. Computed so that it agrees
 * exactly with isim_arrival_at() despite rounding. */
static int64_t isim_arrival_at(int64_t t0, double spacing, long long i)
{
	return t0 + (int64_t)ceil((double)i * spacing);
}

static long long isim_arrived_by(int64_t t0, double spacing, int64_t now)
{
	long long i;

	if (now < t0)
		return 0;
	i = (long long)floor((double)(now - t0) / spacing);
	while (isim_arrival_at(t0, spacing, i + 1) <= now)
		i++;
	while (i >= 0 && isim_arrival_at(t0, spacing, i) > now)
		i--;
	return i + 1;
}

/* Bring the VF's ring up to now. */
static void isim_sync(struct isim *s, struct isim_vm *m)
{
	int64_t now = s->eng.now;

	if (now <= m->sync_at)
		return;
	m->sync_at = now;
	if (s->cfg.proto == IRQSIM_UDP) {
		long long total = isim_arrived_by(m->t0, m->spacing_ns, now);
		if (total > m->arrived) {
			isim_count_arrivals(s, m, total - m->arrived);
			m->arrived = total;
		}
		return;
	}
	while (m->tr_n > 0) {
		struct isim_train *t = &m->trains[m->tr_head];
		if (now < t->start)
			break;
		long long upto = isim_arrived_by(t->start, t->spacing, now);
		if (upto > t->count)
			upto = t->count;
		if (upto > t->done) {
			isim_count_arrivals(s, m, upto - t->done);
			m->arrived += upto - t->done;
			t->done = upto;
		}
		if (t->done < t->count)
			break;
		m->tr_head = (m->tr_head + 1) % ISIM_MAX_TRAINS;
		m->tr_n--;
	}
}

/* When the next packet reaches the NIC after now (INT64_MAX: none coming). */
static int64_t isim_next_arrival(struct isim *s, struct isim_vm *m)
{
	int64_t now = s->eng.now;

	if (s->cfg.proto == IRQSIM_UDP) {
		return isim_arrival_at(m->t0, m->spacing_ns,
				       isim_arrived_by(m->t0, m->spacing_ns, now));
	}
	if (m->tr_n == 0)
		return INT64_MAX;
	struct isim_train *t = &m->trains[m->tr_head];
	return isim_arrival_at(t->start, t->spacing, t->done);
}

/* TCP: the sender gets ACKs for acked packets at ack_at and sends what its
 * window allows, at its share of the wire. */
static void isim_tcp_send(struct isim *s, struct isim_vm *m, long long acked, int64_t ack_at)
{
	long long queued = 0, can;
	double rwnd;

	m->inflight -= acked;
	if (m->inflight < 0)
		m->inflight = 0;
	for (int i = 0; i < acked; i++)
		m->cwnd += m->cwnd < m->ssthresh ? 1 : 1 / m->cwnd;
	for (int i = 0; i < m->n_vcpus; i++)
		queued += s->vc[m->first_vcpu + i].sockq + s->vc[m->first_vcpu + i].backlog;
	rwnd = (double)(s->sock_cap - queued);
	can = (long long)floor(m->cwnd < rwnd ? m->cwnd : rwnd) - m->inflight;
	if (can <= 0 || m->tr_n == ISIM_MAX_TRAINS)
		return;
	int64_t start = ack_at + IRQ_SIM_ONE_WAY_NS;
	if (start < m->wire_free)
		start = m->wire_free;
	struct isim_train *t = &m->trains[(m->tr_head + m->tr_n) % ISIM_MAX_TRAINS];
	*t = (struct isim_train){ .start = start + IRQ_SIM_ONE_WAY_NS,
				  .spacing = m->spacing_ns,
				  .count = can };
	m->tr_n++;
	m->wire_free = start + (int64_t)ceil((double)can * m->spacing_ns);
	m->inflight += can;
	m->sent += can;
	m->last_progress = ack_at;
	if (s->measuring)
		s->m_sent += can;
}

/* ---- the VF's interrupt ------------------------------------------------------------------- */

static void isim_nic_arm(struct isim *s, int v)
{
	struct isim_vm *m = &s->vm[v];
	int64_t t;

	if (!m->irq_enabled) {
		engine_cancel(&s->eng, SLOT_NIC(s, v));
		return;
	}
	isim_sync(s, m);
	t = m->ring > 0 ? s->eng.now : isim_next_arrival(s, m);
	if (t == INT64_MAX) {
		engine_cancel(&s->eng, SLOT_NIC(s, v));
		return;
	}
	if (m->itr_ns > 0 && m->last_irq != INT64_MIN && t < m->last_irq + m->itr_ns)
		t = m->last_irq + m->itr_ns;
	engine_at(&s->eng, SLOT_NIC(s, v), t < s->eng.now ? s->eng.now : t);
}

/* ---- host scheduling ---------------------------------------------------------------------- */

static void isim_core_arm(struct isim *s, int c)
{
	struct isim_core *k = &s->core[c];

	if (k->curr < 0) {
		engine_cancel(&s->eng, SLOT_CORE(c));
		return;
	}
	struct isim_vcpu *v = &s->vc[k->curr];
	int64_t t = v->seg_end;
	if (k->slice_end < t)
		t = k->slice_end;
	engine_at(&s->eng, SLOT_CORE(c), t < s->eng.now ? s->eng.now : t);
}

static double isim_min_vruntime(struct isim *s, int c)
{
	struct isim_core *k = &s->core[c];
	double mv = INFINITY;

	for (int i = 0; i < k->n_vcpus; i++) {
		struct isim_vcpu *v = &s->vc[k->vcpu[i]];
		if (v->hs != HS_HALTED && v->vruntime < mv)
			mv = v->vruntime;
	}
	return mv == INFINITY ? 0 : mv;
}

static int isim_nr_running(struct isim *s, int c)
{
	int n = 0;

	for (int i = 0; i < s->core[c].n_vcpus; i++)
		n += s->vc[s->core[c].vcpu[i]].hs != HS_HALTED;
	return n;
}

static void isim_guest_next(struct isim *s, struct isim_vcpu *v);

/* Start running v on its core now, after overhead ns of switching. */
static void isim_run(struct isim *s, struct isim_vcpu *v, int64_t overhead)
{
	struct isim_core *k = &s->core[v->core];
	int64_t now = s->eng.now, start = now + overhead;
	int nr = isim_nr_running(s, v->core);
	int64_t slice = nr > 0 ? IRQ_SIM_SCHED_LATENCY_NS / nr : IRQ_SIM_SCHED_LATENCY_NS;

	if (k->host_until > now)
		start = k->host_until + overhead; /* after the host's interrupt work */
	if (slice < IRQ_SIM_SCHED_MIN_GRAN_NS)
		slice = IRQ_SIM_SCHED_MIN_GRAN_NS;
	k->busy_ns += overhead;
	k->curr = (int)(v - s->vc);
	k->slice_end = start + slice;
	v->hs = HS_RUNNING;
	v->run_from = start;
	if (v->seg == SEG_NONE)
		isim_guest_next(s, v);
	/* nothing to do: the core event at start halts it again */
	v->seg_end = start + (v->seg != SEG_NONE ? v->seg_left : 0);
	isim_core_arm(s, v->core);
}

/* Take v off its core (it stays RUNNABLE or HALTs); its segment keeps what is left. */
static void isim_deschedule(struct isim *s, struct isim_vcpu *v, enum isim_hstate to)
{
	struct isim_core *k = &s->core[v->core];
	int64_t now = s->eng.now, ran = now > v->run_from ? now - v->run_from : 0;

	if (v->seg != SEG_NONE) {
		v->seg_left = v->seg_end > now ? v->seg_end - now : 0;
		/* the time the segment ran is busy time */
	}
	v->vruntime += (double)ran;
	v->run_ns += ran;
	k->busy_ns += ran;
	v->hs = to;
	k->curr = -1;
}

/* The runnable vCPU of core c with the least vruntime, or -1. */
static int isim_pick(struct isim *s, int c)
{
	struct isim_core *k = &s->core[c];
	int best = -1;

	for (int i = 0; i < k->n_vcpus; i++) {
		struct isim_vcpu *v = &s->vc[k->vcpu[i]];
		if (v->hs == HS_RUNNABLE && (best < 0 || v->vruntime < s->vc[best].vruntime))
			best = k->vcpu[i];
	}
	return best;
}

static void isim_schedule(struct isim *s, int c, int64_t overhead)
{
	int next = isim_pick(s, c);

	if (next < 0) {
		s->core[c].curr = -1;
		engine_cancel(&s->eng, SLOT_CORE(c));
		return;
	}
	isim_run(s, &s->vc[next], overhead + IRQ_SIM_VCPU_SWITCH_NS);
}

/* Work for v arrived (interrupt, IPI, packets): wake it, or let it preempt
 * its own application work. */
static void isim_kick(struct isim *s, struct isim_vcpu *v)
{
	struct isim_core *k = &s->core[v->core];
	int64_t now = s->eng.now;

	if (v->hs == HS_RUNNING) {
		/* the application is interrupted: the rest of its read waits */
		if (v->seg == SEG_APP && (v->isr_pending || v->ipi_pending)) {
			/* host interrupt work first, then the guest's handler */
			int64_t from = k->host_until > now ? k->host_until : now;
			v->app_left = v->seg_end > from ? v->seg_end - from : 0;
			v->app_pkts = v->seg_pkts;
			v->seg = SEG_NONE;
			isim_guest_next(s, v);
			v->seg_end = from + v->seg_left;
			isim_core_arm(s, v->core);
		}
		return;
	}
	if (v->hs == HS_RUNNABLE)
		return; /* it sees the work when it runs */
	/* a halted vCPU wakes: CFS places it at most latency/2 behind */
	double floor_v = isim_min_vruntime(s, v->core) - IRQ_SIM_SCHED_LATENCY_NS / 2.0;
	if (v->vruntime < floor_v)
		v->vruntime = floor_v;
	v->hs = HS_RUNNABLE;
	if (k->curr < 0) {
		isim_run(s, v, IRQ_SIM_WAKE_NS);
		return;
	}
	struct isim_vcpu *cur = &s->vc[k->curr];
	double cur_v = cur->vruntime + (double)(now - cur->run_from);
	if (cur_v - v->vruntime > IRQ_SIM_SCHED_WAKEUP_GRAN_NS) {
		isim_deschedule(s, cur, HS_RUNNABLE);
		isim_run(s, v, IRQ_SIM_VCPU_SWITCH_NS);
	}
}

/* Host interrupt work on core c: it delays whatever runs there. */
static void isim_host_work(struct isim *s, int c, int64_t ns)
{
	struct isim_core *k = &s->core[c];
	int64_t now = s->eng.now;

	k->busy_ns += ns;
	k->host_until = (k->host_until > now ? k->host_until : now) + ns;
	if (k->curr >= 0) {
		struct isim_vcpu *v = &s->vc[k->curr];
		v->seg_end += ns;
		v->run_from += ns; /* not the vCPU's run time */
		k->slice_end += ns;
		isim_core_arm(s, c);
	}
}

/* ---- the guest ---------------------------------------------------------------------------- */

/* The vCPU (index within the VM) whose reader has flow f. */
static int isim_flow_reader(const struct isim_vm *m, int f)
{
	return f % m->n_vcpus;
}

/* Choose v's next segment; SEG_NONE: nothing to do. */
static void isim_guest_next(struct isim *s, struct isim_vcpu *v)
{
	struct isim_vm *m = &s->vm[v->vm];
	int64_t now = s->eng.now, cost = v->carry;
	bool softirq = v->napi || v->backlog > 0;

	v->carry = 0;
	v->seg = SEG_NONE;
	v->seg_pkts = 0;
	if (!softirq)
		v->deferred = false;
	if (v->isr_pending || v->ipi_pending) {
		v->seg = SEG_ISR;
		cost += (int64_t)(v->isr_pending ? s->c_guest_isr_ns + s->c_eoi_ns
						 : s->c_guest_isr_ns);
		v->seg_left = cost;
		return;
	}
	bool app_ready = v->sockq > 0 || v->app_left > 0;
	if (softirq && (!v->deferred || !app_ready || v->ksoftirqd_turn)) {
		if (!v->deferred && v->softirq_pkts == 0)
			v->softirq_start = now;
		v->ksoftirqd_turn = false;
		if (v->napi) {
			isim_sync(s, m);
			int n = (int)(m->ring < IRQ_SIM_NAPI_WEIGHT ? m->ring
								    : IRQ_SIM_NAPI_WEIGHT);
			int local = 0, remote_cpus = 0;
			bool remote[ISIM_MAX_VCPUS] = { false };
			m->ring -= n;
			/* where each packet's stack work runs: here, or RPS/RFS to
			 * its reader's vCPU */
			for (int i = 0; i < n; i++) {
				int f = (int)((m->flow_rr + i) % s->cfg.flows_per_vm);
				int r = isim_flow_reader(m, f);
				if (m->rps_n > 1 && r < m->rps_n && r != v->idx) {
					if (!remote[r])
						remote_cpus++;
					remote[r] = true;
				} else {
					local++;
				}
			}
			v->seg = SEG_POLL;
			v->seg_pkts = n;
			v->seg_local = local;
			cost += (int64_t)(n * s->c_drv_ns) + (int64_t)(local * s->c_stack_ns) +
				(n - local) * IRQ_SIM_RPS_PKT_NS + remote_cpus * IRQ_SIM_RPS_IPI_NS;
			v->seg_left = cost > 0 ? cost : 1;
			return;
		}
		int n = (int)(v->backlog < IRQ_SIM_NAPI_WEIGHT ? v->backlog : IRQ_SIM_NAPI_WEIGHT);
		v->backlog -= n;
		v->seg = SEG_BACKLOG;
		v->seg_pkts = n;
		v->seg_left = cost + (int64_t)(n * s->c_stack_ns);
		return;
	}
	if (app_ready) {
		v->ksoftirqd_turn = true;
		v->seg = SEG_APP;
		if (v->app_left > 0) { /* the read an interrupt cut short */
			v->seg_pkts = v->app_pkts;
			v->seg_left = cost + v->app_left;
			v->app_left = 0;
			return;
		}
		long long per_call =
			s->cfg.proto == IRQSIM_UDP ? 1 : IRQ_SIM_TCP_READ_BYTES / s->cfg.pkt_bytes;
		if (per_call < 1)
			per_call = 1;
		long long n = v->sockq < 64 * per_call ? v->sockq : 64 * per_call;
		v->sockq -= n;
		v->seg_pkts = (int)n;
		v->seg_left = cost + (int64_t)(n * s->c_copy_ns) +
			      (int64_t)(((n + per_call - 1) / per_call) * IRQ_SIM_RECV_CALL_NS);
		return;
	}
	if (cost > 0) {
		/* IPIs sent at the end of the last segment, nothing else to do */
		v->seg = SEG_ISR;
		v->seg_left = cost;
		v->ipi_pending = false;
		return;
	}
}

/* Packets handled by the stack on vCPU vi of the VM land in their reader's
 * socket; returns the overhead (IPIs to wake other vCPUs). */
static int64_t isim_deliver(struct isim *s, struct isim_vcpu *v, int n, bool local_only)
{
	struct isim_vm *m = &s->vm[v->vm];
	int64_t ipis = 0;

	for (int i = 0; i < n; i++) {
		int f = (int)(m->flow_rr++ % s->cfg.flows_per_vm);
		int r = isim_flow_reader(m, f);
		struct isim_vcpu *dst = &s->vc[m->first_vcpu + r];
		bool steered = !local_only && m->rps_n > 1 && r < m->rps_n && r != v->idx;
		if (steered) {
			/* (the IPI is in the poll's cost) */
			dst->backlog++;
			dst->ipi_pending = true;
			continue;
		}
		/* the stack ran: the socket takes it, or drops it when full */
		if (s->cfg.proto == IRQSIM_UDP && dst->sockq >= s->sock_cap) {
			m->drops_sock++;
			if (s->measuring)
				s->m_drops_sock++;
			continue;
		}
		dst->sockq++;
		if (dst != v && dst->hs == HS_HALTED)
			ipis += IRQ_SIM_RPS_IPI_NS; /* wake the reader on another vCPU */
		if (dst != v)
			dst->ipi_pending = dst->ipi_pending || dst->hs == HS_HALTED;
	}
	return ipis;
}

/* v's segment is done: its effects, then the next one. */
static void isim_seg_done(struct isim *s, struct isim_vcpu *v)
{
	struct isim_vm *m = &s->vm[v->vm];
	int64_t now = s->eng.now;
	enum isim_seg seg = v->seg;
	int n = v->seg_pkts;

	v->seg = SEG_NONE;
	switch (seg) {
	case SEG_ISR:
		if (v->isr_pending) {
			v->isr_pending = false;
			v->napi = true;
		}
		v->ipi_pending = false;
		break;
	case SEG_POLL: {
		/* local packets: into the sockets; steered ones: other backlogs */
		v->carry += isim_deliver(s, v, n, false);
		v->softirq_pkts += n;
		if (s->cfg.proto == IRQSIM_TCP)
			isim_tcp_send(s, m, v->seg_local, now); /* steered ones are acked there */
		isim_sync(s, m);
		if (m->ring == 0) {
			/* napi_complete: the vector is unmasked */
			v->napi = false;
			m->irq_enabled = true;
			isim_nic_arm(s, (int)v->vm);
		}
		break;
	}
	case SEG_BACKLOG:
		v->carry += isim_deliver(s, v, n, true);
		v->softirq_pkts += n;
		if (s->cfg.proto == IRQSIM_TCP)
			isim_tcp_send(s, m, n, now);
		break;
	case SEG_APP:
		m->delivered += n;
		if (s->measuring)
			s->m_delivered += n;
		if (s->cfg.proto == IRQSIM_TCP && m->inflight == 0)
			isim_tcp_send(s, m, 0, now); /* the window opened */
		break;
	case SEG_NONE:
		break;
	}
	/* softirq budget: past it, the rest runs in ksoftirqd next to the app */
	bool softirq = v->napi || v->backlog > 0;
	if (!softirq) {
		v->softirq_pkts = 0;
		v->deferred = false;
	} else if (!v->deferred && (v->softirq_pkts >= IRQ_SIM_NETDEV_BUDGET ||
				    now - v->softirq_start >= IRQ_SIM_NETDEV_BUDGET_NS)) {
		v->deferred = true;
		v->softirq_pkts = 0;
	}
	for (int i = 0; i < m->n_vcpus; i++) {
		struct isim_vcpu *o = &s->vc[m->first_vcpu + i];
		if (o != v && (o->ipi_pending || (o->hs == HS_HALTED && o->sockq > 0)))
			isim_kick(s, o);
	}
}

/* ---- events ------------------------------------------------------------------------------- */

static void isim_on_core(struct isim *s, int c)
{
	struct isim_core *k = &s->core[c];
	int64_t now = s->eng.now;

	if (k->curr < 0)
		return;
	struct isim_vcpu *v = &s->vc[k->curr];
	if (v->seg == SEG_NONE || now >= v->seg_end) {
		enum isim_seg was = v->seg;
		if (was == SEG_ISR || was == SEG_POLL || was == SEG_BACKLOG)
			v->rx_ns += v->seg_left; /* the segment as planned (host work excluded) */
		v->seg_left = 0;
		if (was != SEG_NONE)
			isim_seg_done(s, v);
		if (k->curr != (int)(v - s->vc))
			return; /* (a kick above rescheduled the core) */
		isim_guest_next(s, v);
		if (v->seg == SEG_NONE) {
			/* nothing to do: HLT */
			isim_deschedule(s, v, HS_HALTED);
			isim_schedule(s, c, IRQ_SIM_HALT_NS);
			return;
		}
		v->seg_end = now + v->seg_left;
	}
	if (now >= k->slice_end) {
		if (isim_pick(s, c) >= 0) {
			isim_deschedule(s, v, HS_RUNNABLE);
			isim_schedule(s, c, 0);
			return;
		}
		int nr = isim_nr_running(s, c);
		k->slice_end =
			now + (nr > 0 ? IRQ_SIM_SCHED_LATENCY_NS / nr : IRQ_SIM_SCHED_LATENCY_NS);
	}
	isim_core_arm(s, c);
}

static void isim_on_nic(struct isim *s, int vmi)
{
	struct isim_vm *m = &s->vm[vmi];
	struct isim_vcpu *v = &s->vc[m->first_vcpu]; /* the VF's interrupt goes to vCPU 0 */

	isim_sync(s, m);
	if (!m->irq_enabled)
		return;
	if (m->ring == 0) {
		isim_nic_arm(s, vmi);
		return;
	}
	m->irqs++;
	if (s->measuring)
		s->m_irqs++;
	m->last_irq = s->eng.now;
	m->irq_enabled = false; /* auto-masked until NAPI completes */
	isim_host_work(
		s, v->core,
		(int64_t)s->c_host_irq_ns +
			(v->hs == HS_RUNNING ? IRQ_SIM_VM_EXIT_NS + IRQ_SIM_VM_ENTRY_NS : 0));
	v->isr_pending = true;
	isim_kick(s, v);
}

static void isim_measure_start(struct isim *s)
{
	s->measuring = true;
	s->m_busy = 0;
	for (int c = 0; c < IRQ_SIM_CORES; c++)
		s->m_busy -= s->core[c].busy_ns;
}

/* Busy time of the cores so far, including the running vCPUs' current stretch. */
static int64_t isim_busy_now(struct isim *s)
{
	int64_t b = 0;

	for (int c = 0; c < IRQ_SIM_CORES; c++) {
		b += s->core[c].busy_ns;
		if (s->core[c].curr >= 0 && s->eng.now > s->vc[s->core[c].curr].run_from)
			b += s->eng.now - s->vc[s->core[c].curr].run_from;
	}
	return b;
}

/* Every period: the policies set each VF's rate; fan-out is sized. */
static void isim_on_period(struct isim *s)
{
	double secs = IRQ_SIM_PERIOD_NS / 1e9;
	struct vs_fanout_params fp;

	irq_fanout_defaults(&fp);
	for (int i = 0; i < s->cfg.n_vms; i++) {
		struct isim_vm *m = &s->vm[i];
		struct isim_vcpu *v0 = &s->vc[m->first_vcpu];
		int64_t rx_ns = 0, recv_busy = 0;
		for (int j = 0; j < m->n_vcpus; j++) {
			struct isim_vcpu *v = &s->vc[m->first_vcpu + j];
			int64_t run = v->run_ns;
			if (v->hs == HS_RUNNING && s->eng.now > v->run_from)
				run += s->eng.now - v->run_from;
			rx_ns += v->rx_ns;
			/* the CPUs doing receive work: the interrupt's and the RPS targets */
			if (j < m->rps_n)
				recv_busy += run - v->p_run_ns;
			v->p_run_ns = run;
		}
		if (s->cfg.policy) {
			struct vs_irq_params p = s->cfg.params;
			/* capacity: the vCPU's share of its core */
			p.air_capacity_cores = 1.0 / s->core[v0->core].n_vcpus;
			struct vs_irq_sample smp = {
				.period_s = secs,
				.packets = (uint64_t)(m->rx_pkts - m->p_rx),
				.bytes =
					(uint64_t)(m->rx_pkts - m->p_rx) * (uint64_t)m->frame_bytes,
				.interrupts = (uint64_t)(m->irqs - m->p_irqs),
				.busy_cores = (double)(rx_ns - m->p_rx_ns) / IRQ_SIM_PERIOD_NS,
			};
			struct vs_irq_in in = { .sample = &smp,
						.current_per_s = m->rate_per_s,
						.params = &p };
			struct vs_irq_decision d;
			s->cfg.policy->decide(&in, &d);
			if (d.change) {
				m->rate_per_s = d.rate_per_s;
				m->itr_ns = (int64_t)d.rx_usecs * 1000;
			}
		}
		if (s->cfg.fanout && m->n_vcpus > 1) {
			struct vs_fanout_decision fd = { 0 };
			irq_fanout_decide(&fp, (double)recv_busy / IRQ_SIM_PERIOD_NS, m->rps_n,
					  m->n_vcpus, &fd);
			m->rps_n = fd.n;
		}
		m->p_rx = m->rx_pkts;
		m->p_irqs = m->irqs;
		m->p_rx_ns = rx_ns;
		if (s->cfg.proto == IRQSIM_TCP && m->tr_n == 0 &&
		    s->eng.now - m->last_progress > IRQ_SIM_TCP_RTO_NS) {
			/* a stalled sender: retransmission timeout, one segment */
			m->inflight = 0;
			m->cwnd = 1;
			isim_tcp_send(s, m, 0, s->eng.now);
		}
		if (s->measuring) {
			s->m_rate_sum += m->rate_per_s;
			s->m_fan_sum += m->rps_n;
		}
	}
	if (s->measuring)
		s->m_periods++;
	engine_at(&s->eng, SLOT_PERIOD(s), s->eng.now + IRQ_SIM_PERIOD_NS);
}

static int isim_check(const struct irqsim_config *c, char *err, size_t errlen)
{
	if (c->n_vms < 1 || c->n_vms > 64 || c->vcpus_per_vm < 1 || c->vcpus_per_vm > 2 ||
	    c->n_vms * c->vcpus_per_vm > ISIM_MAX_VCPUS) {
		snprintf(err, errlen, "%d VMs of %d vCPUs: at most 64 VMs of 1 or 2 vCPUs",
			 c->n_vms, c->vcpus_per_vm);
		return -1;
	}
	if (c->pkt_bytes < 1 || c->pkt_bytes > 1472 || c->flows_per_vm < 1 ||
	    c->flows_per_vm > 16) {
		snprintf(err, errlen, "packets of 1..1472 bytes and 1..16 flows per VM");
		return -1;
	}
	if (!(c->pkt_cost_scale >= 0.1 && c->pkt_cost_scale <= 10) ||
	    !(c->int_cost_scale >= 0.1 && c->int_cost_scale <= 10) || c->ring < 0 ||
	    c->ring > 65536) {
		snprintf(err, errlen, "cost scales in [0.1, 10], a ring of 0 (default) .. 65536");
		return -1;
	}
	if (!(c->duration_s > c->warmup_s) || c->warmup_s < 0 || c->duration_s > 3600 ||
	    !(c->fixed_per_s >= 0)) {
		snprintf(err, errlen, "a duration longer than the warm-up, at most 3600 s");
		return -1;
	}
	return 0;
}

int irqsim_run(const struct irqsim_config *cfg, struct irqsim_result *r, char *err, size_t errlen)
{
	struct isim *s = calloc(1, sizeof(*s));
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (isim_check(cfg, err, errlen) < 0)
		goto out;
	s->cfg = *cfg;
	s->n_vcpus = cfg->n_vms * cfg->vcpus_per_vm;
	s->vc = calloc((size_t)s->n_vcpus, sizeof(*s->vc));
	s->vm = calloc((size_t)cfg->n_vms, sizeof(*s->vm));
	if (!s->vc || !s->vm || engine_init(&s->eng, IRQ_SIM_CORES + cfg->n_vms + 1) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	isim_pkt_costs(cfg->pkt_bytes, cfg->proto, &s->c_stack_ns, &s->c_app_call_ns,
		       &s->c_copy_ns);
	/* the sensitivity knobs: per-packet and per-interrupt costs scaled */
	s->c_stack_ns *= cfg->pkt_cost_scale;
	s->c_app_call_ns *= cfg->pkt_cost_scale;
	s->c_copy_ns *= cfg->pkt_cost_scale;
	s->c_drv_ns = IRQ_SIM_DRV_PKT_NS * cfg->pkt_cost_scale;
	s->c_host_irq_ns = IRQ_SIM_HOST_IRQ_NS * cfg->int_cost_scale;
	s->c_guest_isr_ns = IRQ_SIM_GUEST_ISR_NS * cfg->int_cost_scale;
	s->c_eoi_ns = IRQ_SIM_EOI_EXIT_NS * cfg->int_cost_scale;
	s->ring = cfg->ring > 0 ? cfg->ring : IRQ_SIM_RING;
	if (!(s->cfg.params.air_c_pkt_ns > 0) || !(s->cfg.params.air_c_int_ns > 0)) {
		double cp, ci;
		irqsim_model_costs(cfg->pkt_bytes, cfg->proto, &cp, &ci);
		cp *= cfg->pkt_cost_scale;
		ci = (ci - IRQ_SIM_VM_EXIT_NS - IRQ_SIM_VM_ENTRY_NS) * cfg->int_cost_scale +
		     IRQ_SIM_VM_EXIT_NS + IRQ_SIM_VM_ENTRY_NS;
		if (!(s->cfg.params.air_c_pkt_ns > 0))
			s->cfg.params.air_c_pkt_ns = cp;
		if (!(s->cfg.params.air_c_int_ns > 0))
			s->cfg.params.air_c_int_ns = ci;
	}
	s->sock_cap = (cfg->proto == IRQSIM_UDP ? IRQ_SIM_UDP_RCVBUF : IRQ_SIM_TCP_RCVBUF) /
		      IRQ_SIM_TRUESIZE;
	for (int c = 0; c < IRQ_SIM_CORES; c++)
		s->core[c].curr = -1;
	int overhead =
		cfg->proto == IRQSIM_UDP ? IRQ_SIM_UDP_WIRE_OVERHEAD : IRQ_SIM_TCP_WIRE_OVERHEAD;
	double share_bps = IRQ_SIM_LINK_BPS / cfg->n_vms;
	for (int i = 0; i < cfg->n_vms; i++) {
		struct isim_vm *m = &s->vm[i];
		m->first_vcpu = i * cfg->vcpus_per_vm;
		m->n_vcpus = cfg->vcpus_per_vm;
		m->spacing_ns = (cfg->pkt_bytes + overhead) * 8.0 / share_bps * 1e9;
		m->frame_bytes =
			cfg->pkt_bytes +
			(cfg->proto == IRQSIM_UDP ? IRQ_SIM_UDP_FRAME_HDR : IRQ_SIM_TCP_FRAME_HDR);
		/* the VMs' streams interleave on the wire */
		m->t0 = (int64_t)(m->spacing_ns * i / cfg->n_vms);
		m->last_irq = INT64_MIN;
		m->irq_enabled = true;
		m->rps_n = 1;
		m->cwnd = IRQ_SIM_TCP_IW;
		m->ssthresh = 1e18;
		m->last_cut = INT64_MIN / 2;
		m->sync_at = -1;
		if (cfg->policy) {
			m->rate_per_s = 0;  /* the driver's own until the first period */
			m->itr_ns = 125000; /* 8,000 int/s, the common default */
		} else {
			m->rate_per_s = cfg->fixed_per_s;
			m->itr_ns = cfg->fixed_per_s > 0 ? llround(1e9 / cfg->fixed_per_s) : 0;
		}
		for (int j = 0; j < m->n_vcpus; j++) {
			int id = m->first_vcpu + j;
			struct isim_vcpu *v = &s->vc[id];
			struct isim_core *k;
			v->vm = i;
			v->idx = j;
			v->core = id % IRQ_SIM_CORES; /* pinned round-robin */
			v->hs = HS_HALTED;
			k = &s->core[v->core];
			k->vcpu[k->n_vcpus++] = id;
		}
	}
	for (int i = 0; i < cfg->n_vms; i++) {
		if (cfg->proto == IRQSIM_TCP)
			isim_tcp_send(s, &s->vm[i], 0, 0);
		isim_nic_arm(s, i);
	}
	engine_at(&s->eng, SLOT_PERIOD(s), IRQ_SIM_PERIOD_NS);
	int64_t warm = (int64_t)(cfg->warmup_s * 1e9), end = (int64_t)(cfg->duration_s * 1e9);
	bool warm_done = warm == 0;
	if (warm_done)
		isim_measure_start(s);
	for (;;) {
		int64_t limit = warm_done ? end : warm;
		int slot = engine_pop(&s->eng, limit);
		if (slot < 0) {
			if (!warm_done) {
				warm_done = true;
				for (int i = 0; i < cfg->n_vms; i++)
					isim_sync(s, &s->vm[i]);
				s->m_busy = -isim_busy_now(s);
				s->measuring = true;
				continue;
			}
			break;
		}
		s->events++;
		if (slot < IRQ_SIM_CORES)
			isim_on_core(s, slot);
		else if (slot == SLOT_PERIOD(s))
			isim_on_period(s);
		else
			isim_on_nic(s, slot - IRQ_SIM_CORES);
	}
	for (int i = 0; i < cfg->n_vms; i++)
		isim_sync(s, &s->vm[i]);
	s->m_busy += isim_busy_now(s);
	double secs = (end - warm) / 1e9;
	r->offered_gbps = (double)s->m_arrived * cfg->pkt_bytes * 8 / secs / 1e9;
	if (cfg->proto == IRQSIM_TCP)
		r->offered_gbps = (double)s->m_sent * cfg->pkt_bytes * 8 / secs / 1e9;
	r->throughput_gbps = (double)s->m_delivered * cfg->pkt_bytes * 8 / secs / 1e9;
	r->cpu_cores = (double)s->m_busy / (secs * 1e9);
	r->loss_pct = s->m_arrived > 0 ? 100.0 * (double)(s->m_drops_ring + s->m_drops_sock) /
						 (double)s->m_arrived
				       : 0;
	r->ring_loss_pct =
		s->m_arrived > 0 ? 100.0 * (double)s->m_drops_ring / (double)s->m_arrived : 0;
	r->int_per_s = (double)s->m_irqs / secs;
	r->pkts_per_int = s->m_irqs > 0 ? (double)s->m_rx / (double)s->m_irqs : 0;
	r->rate_per_s = s->m_periods > 0 ? s->m_rate_sum / (s->m_periods * cfg->n_vms) : 0;
	r->fanout_cpus = s->m_periods > 0 ? s->m_fan_sum / (s->m_periods * cfg->n_vms) : 1;
	r->events = s->events;
	rc = 0;
out:
	if (s) {
		engine_free(&s->eng);
		free(s->vc);
		free(s->vm);
		free(s);
	}
	return rc;
}
