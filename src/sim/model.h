/* model.h - the simulated host: cores, threads, NIC, vhost, guest, workload (API inside src/sim). */
#ifndef VS_SIM_MODEL_H
#define VS_SIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/hist.h"
#include "sim/engine.h"
#include "sim/ring.h"
#include "sim/rng.h"

/*
 * One host, one or more LC VMs (each with its own NIC port, vhost workers and
 * load generator), optionally one BE VM. Who does what:
 *   host.c     cores, run queues, CFS-like scheduling, IRQs preempting threads
 *   nic.c      the pNIC: arrivals, RSS, rings, interrupt moderation, host
 *              softirq (NAPI), transmit, retransmission of dropped requests
 *   vhost.c    one vhost thread per vNQ: copies between tap and virtqueues
 *   guest.c    vCPUs: vIRQs, guest NAPI, worker threads, TX kicks, HLT
 *   workload.c memcached (ETC) and nginx requests
 *   power.c    energy by core state
 * The controller and the policies are not here: src/sim/simplat.c connects
 * this model to them through struct vs_platform_ops.
 *
 * Limits: cores, vCPUs and queues are each at most SIM_MAX_CORES (masks are
 * 64-bit words).
 */

#define SIM_MAX_CORES 64
/* Most LC VMs one model hosts. */
#define SIM_MAX_VMS 8

/* The packet path (SPEC §9, §3.6). */
enum sim_path {
	SIM_PATH_VIRTIO = 0, /* pNIC -> host softirq -> tap -> vhost -> virtio -> guest */
	SIM_PATH_ES2,	     /* virtio with ES2: posted vIRQs redirected to a running
				vCPU, vhost hybrid polling (no kick exits while polling) */
	SIM_PATH_SRIOV,	     /* a VF's queues DMA straight into the guest, posted
				interrupts, no host softirq and no vhost */
};

enum sim_wl_kind {
	SIM_WL_MEMCACHED = 0,
	SIM_WL_NGINX,
};

enum sim_tkind {
	SIM_T_VCPU = 0,	 /* an LC VM vCPU thread */
	SIM_T_VHOST,	 /* a vhost-net worker of one vNQ */
	SIM_T_BE,	 /* a BE VM vCPU thread (CPU-bound) */
	SIM_T_KSOFTIRQD, /* a core's ksoftirqd (softirq work deferred to a thread) */
	SIM_T_KINDS,
};

/* The uncertain constants `vspace sim sensitivity` scales (x0.5, x2), each
 * with the costs.h names it covers (sim_knob_names in model.c). */
enum sim_knob {
	SIM_K_CTX_SWITCH = 0, /* SIM_CTX_SWITCH_NS, SIM_GUEST_CTX_SWITCH_NS */
	SIM_K_VCPU_LOAD,      /* SIM_VCPU_LOAD_NS */
	SIM_K_VM_EXIT,	      /* SIM_VM_EXIT_NS, SIM_VM_ENTRY_NS */
	SIM_K_EXIT_HANDLER,   /* SIM_EXIT_HANDLER_NS */
	SIM_K_IRQ_ENTRY,      /* SIM_IRQ_ENTRY_NS */
	SIM_K_HOST_PKT,	      /* SIM_HOST_RX_PKT_NS, SIM_HOST_XMIT_PKT_NS, SIM_HOST_TX_CLEAN_NS */
	SIM_K_VHOST_PKT,      /* SIM_VHOST_RX_PKT_NS, SIM_VHOST_TX_PKT_NS, SIM_VHOST_SIGNAL_NS */
	SIM_K_COPY,	      /* SIM_COPY_NS_PER_KIB */
	SIM_K_GUEST_PKT,      /* SIM_GUEST_RX_PKT_NS, SIM_GUEST_TX_PKT_NS, SIM_GUEST_IRQ_NS */
	SIM_K_APP,	      /* SIM_MEMCACHED_APP_NS (+_PER_KB), SIM_NGINX_APP_NS */
	SIM_K_REFILL,	      /* SIM_REFILL_NS_PER_KIB, SIM_TLB_WALK_NS, SIM_TLB_WALK_GUEST_NS */
	SIM_K_WORKING_SET,    /* SIM_WS_*_KIB, SIM_TLB_VCPU/VHOST/SOFTIRQ/BE */
	SIM_K_IBPB,	      /* SIM_IBPB_NS */
	SIM_K_L1D_FLUSH,      /* SIM_L1D_FLUSH_NS */
	SIM_K_VMCLEAR,	      /* SIM_VMCLEAR_IPI_NS, SIM_VMCLEAR_REMOTE_NS, SIM_VCPU_MIGRATE_NS */
	SIM_K_SIS_SCAN,	      /* SIM_SIS_SCAN_NS_PER_CPU */
	SIM_K_C1_POWER,	      /* SIM_CORE_C1_W */
	SIM_KNOBS,
};
/* Short names (--knob NAME=SCALE, the sensitivity table) and what each covers. */
extern const char *const sim_knob_names[SIM_KNOBS];
extern const char *const sim_knob_covers[SIM_KNOBS];

/* What record_wakee()/wake_wide() and select_idle_sibling() keep per task
 * (kernel/sched/fair.c): the flip counter of whom it wakes and the CPU it
 * last woke a task from. A core's idle task has one too (wake-ups from
 * interrupts on an idle core are made by it). */
struct sim_wakee {
	int last_wakee;	     /* thread id of current->last_wakee, -1 none */
	uint32_t flips;	     /* wakee_flips */
	sim_ns decay_ts;     /* wakee_flip_decay_ts */
	int recent_used_cpu; /* p->recent_used_cpu, -1 none */
};

enum sim_tstate {
	SIM_TS_BLOCKED = 0,
	SIM_TS_RUNNABLE, /* in a core's run queue */
	SIM_TS_RUNNING,	 /* a core's curr (possibly interrupted by IRQ work) */
};

/* What a thread is doing (its current work item). */
enum sim_item {
	IT_NONE = 0,
	IT_BE,	      /* BE VM: a slice of CPU-bound guest work */
	IT_VH_RX,     /* vhost: copy one packet tap -> guest RX ring */
	IT_VH_TX,     /* vhost: copy one packet guest TX ring -> tap -> NIC */
	IT_VH_SIGNAL, /* vhost: signal the guest (irqfd) */
	IT_VH_POLL,   /* vhost (ES2): poll the rings before sleeping */
	IT_G_IRQ,     /* guest: interrupt handler (vIRQ or IPI) */
	IT_G_RX,      /* guest: NAPI receive of one packet */
	IT_G_APP,     /* guest: a worker serves one request and sends the reply */
	IT_G_KICK,    /* guest: TX kick (VM exit to notify vhost) */
	IT_G_IPI,     /* guest: wake-up IPI to another vCPU (VM exit on ICR write) */
	IT_G_HLT,     /* guest: idle, HLT (VM exit) */
	IT_G_POLL,    /* KVM halt polling after HLT */
	IT_KSOFTIRQ,  /* ksoftirqd: one NAPI item */
};

struct sim_thread {
	int id;
	enum sim_tkind kind;
	int idx; /* vCPU, vNQ or BE vCPU index (within its VM), or core (ksoftirqd) */
	int vm;	 /* the LC VM of a vCPU or vhost thread, -1 for the others */
	enum sim_tstate state;
	int core;	   /* core it runs on or waits at; last core when blocked; -1 never ran */
	uint64_t allowed;  /* cores its cpuset allows */
	sim_ns vruntime;   /* CFS virtual run time (all threads nice 0) */
	sim_ns penalty_ns; /* overhead to pay before its work (switch, cold cache, VM entry) */
	sim_ns work_ns;	   /* what is left of the current item */
	enum sim_item item;
	bool frozen;	   /* BE VM paused (freezer) */
	bool parked;	   /* wanted to run while its cpuset was empty */
	bool in_guest;	   /* vCPU: in guest mode, so taking it off the core costs a VM exit */
	sim_ns run_ns;	   /* total time on a core */
	sim_ns *run_on_ns; /* per-core run time (only when tracking, for tests) */

	/* wake-up placement (host.c, after kernel/sched/fair.c) */
	struct sim_wakee wk;	/* its wakee_flips and recent_used_cpu */
	double load_avg;	/* PELT se.avg.load_avg, 0..1024 */
	sim_ns load_upd;	/* when load_avg was last brought up to date */
	uint64_t nr_migrations; /* se.nr_migrations */
	/* working set in a core's private caches (host.c) */
	int ws_core;	  /* core holding its lines, -1 none */
	uint64_t ws_mark; /* that core's touched_bytes when it last ran there */
	uint64_t tlb_mark;
	/* KVM (vCPU threads) */
	int vmcs_core;	/* CPU its VMCS is loaded on (VMPTRLD), -1 none */
	bool l1d_flush; /* vcpu->arch.l1tf_flush_l1d: flush L1D at the next VM entry */
};

enum sim_seg {
	SEG_NONE = 0, /* idle */
	SEG_IRQ,      /* hard IRQ or softirq work */
	SEG_THREAD,   /* curr's work */
};

enum sim_irq_item {
	IRQ_HARD = 0, /* interrupt entry (and the VM exit it caused) */
	IRQ_RX,	      /* NAPI: one received packet */
	IRQ_CLEAN,    /* NAPI: clean transmitted descriptors */
};

/* One unit of host NAPI work (in IRQ context or in ksoftirqd). */
struct sim_nq_item {
	enum sim_irq_item kind;
	uint32_t req; /* IRQ_RX: the packet's request */
};

struct sim_core {
	int id;
	struct sim_thread *curr;
	struct sim_thread *last; /* the thread that ran last (context-switch cost) */
	struct sim_thread **rq;	 /* waiting threads */
	int nr_rq;
	sim_ns min_vruntime;
	sim_ns curr_since; /* when curr got the core */
	bool resched;	   /* curr should yield when it next can */

	enum sim_seg seg; /* what the core executes now */
	sim_ns seg_start; /* when that segment began (or begins, after a C-state exit) */
	sim_ns acct_at;	  /* busy time accounted up to here */

	sim_ns irq_pending_ns;	/* hard-IRQ cost still to pay */
	struct sim_ring napi;	/* pNQs scheduled for NAPI here */
	int napi_done;		/* packets in the head queue's current poll */
	struct sim_nq_item irq; /* the IRQ-context item */
	sim_ns irq_left;	/* its remaining cost */
	sim_ns softirq_since;	/* start of the current softirq run, -1 none */
	bool ksoftirqd_on;	/* softirq work is deferred to ksoftirqd */
	struct sim_thread *ksoftirqd;
	struct sim_nq_item ksi; /* ksoftirqd's item */

	sim_ns busy_ns;	   /* non-idle time since the start */
	sim_ns irq_ns;	   /* of which IRQ/softirq */
	sim_ns ipi_ns;	   /* of that, handling IPIs that are not network interrupts (CAL) */
	sim_ns idle_start; /* when the core last stopped executing anything (C-state), -1 busy */
	sim_ns avg_idle;   /* rq->avg_idle: gates newidle balancing, sets SIS_PROP's scan depth */
	sim_ns idle_stamp; /* rq->idle_stamp: when its run queue went idle, -1 not idle */
	bool allocated;	   /* in some group of the plan (C1 when idle) or not (C6) */

	struct sim_thread *rq_curr; /* what rq->curr is: a thread, or NULL for the idle
				       task (nr_switches counts its changes) */
	double load_avg;	    /* PELT cfs_rq load_avg */
	sim_ns load_upd;
	struct sim_wakee idle_wk; /* the idle task's wakee state */
	/* private caches: bytes (entries) brought in by anything since the start */
	uint64_t touched_bytes;
	uint64_t tlb_touched;
	uint64_t irq_ws_mark; /* touched_bytes when softirq work last ran here */
	uint64_t irq_tlb_mark;
	bool irq_ws_warm; /* softirq work ran here before */
	int current_vmcs; /* thread id of the vCPU whose VMCS is loaded here, -1 */
	bool l1tf_flush;  /* per-CPU kvm_cpu_l1tf_flush_l1d (an interrupt ran here) */
};

/* A request from the load generator and, later, its reply. */
struct sim_req {
	sim_ns sent;   /* client send time (latency is measured from here) */
	sim_ns due;    /* retransmission time after a drop */
	uint32_t conn; /* client connection */
	uint32_t req_bytes;
	uint32_t resp_bytes;
	uint32_t app_ns; /* user-space service time in the guest */
	uint32_t next_free;
	uint16_t vm;  /* the LC VM it is for */
	bool live;    /* allocated (a self-check: completing a dead request is an anomaly) */
	sim_ns at[4]; /* when it reached: the NIC, the tap (or VF ring), the guest
			 worker's queue, the TX path (see enum sim_stage) */
};

/* Where a request's time goes (for the per-stage breakdown). */
enum sim_stage {
	SIM_STAGE_CLIENT = 0, /* client send -> NIC (one-way, wire, retransmission waits) */
	SIM_STAGE_HOST_RX,    /* NIC ring, host IRQ and softirq -> tap queue */
	SIM_STAGE_VHOST_RX,   /* tap queue, vhost copy, vIRQ, guest NAPI -> worker queue */
	SIM_STAGE_APP,	      /* worker queue, service, guest TX stack -> TX ring */
	SIM_STAGE_TX,	      /* TX ring, kick, vhost TX, host xmit, wire, client */
	SIM_STAGES,
};
extern const char *const sim_stage_names[SIM_STAGES];

struct sim_pnq {
	struct sim_ring rx; /* RX descriptors with packets (SIM_NIC_RING) */
	uint32_t tx_clean;  /* transmitted descriptors to clean */
	bool masked;	    /* interrupt disabled: NAPI scheduled */
	sim_ns last_irq;
	int core; /* IRQ affinity */
	int vm;	  /* the LC VM whose NIC port it is */
	int idx;  /* queue index on that port */
};

struct sim_vnq {
	int id;
	int vm;
	struct sim_thread *vh; /* vhost worker (NULL under SR-IOV) */
	struct sim_ring tap;   /* from the host stack, for vhost (SIM_TAP_QUEUE) */
	struct sim_ring grx;   /* guest RX virtqueue: packets the guest can read */
	struct sim_ring gtx;   /* guest TX: replies for vhost (the qdisc holds overflow) */
	bool notify;	       /* guest TX kicks enabled (vhost not processing or polling) */
	bool girq_on;	       /* the device may interrupt the guest (guest NAPI not polling) */
	bool rx_stalled;       /* vhost stopped: guest RX ring full */
	bool polled;	       /* ES2: vhost already polled since its rings ran dry */
	bool turn_tx;	       /* vhost serves TX next */
	int batch;	       /* packets since vhost switched rings */
	int unsignalled;       /* RX packets added since the guest was last signalled */
	int vcpu;	       /* vCPU its interrupt is affine to */
	uint32_t cur;	       /* request of vhost's current item */
};

struct sim_vcpu {
	int id;
	int vm;
	struct sim_thread *t;
	uint64_t virq;		 /* vNQs with an interrupt pending */
	bool ipi;		 /* wake-up IPI pending */
	bool ipi_queued;	 /* in some vCPU's ipi_out already */
	sim_ns irq_posted;	 /* when the oldest pending interrupt was posted, -1 none */
	struct sim_ring napi;	 /* vNQs in NAPI on this vCPU */
	int napi_done;		 /* packets in the head vNQ's current poll */
	struct sim_ring app;	 /* requests for the workers on this vCPU */
	struct sim_ring ipi_out; /* vCPUs to wake with an IPI */
	bool app_busy;		 /* an app item is under way (maybe suspended) */
	uint32_t app_req;
	sim_ns app_left; /* remaining work of a suspended app item */
	int last_worker;
	uint32_t cur; /* request of the RX item */
	int cur_q;    /* its vNQ */
	int kick_q;   /* vNQ to kick next, -1 none */
	bool halted;  /* the guest is idle (HLT executed) */
	bool polled;  /* halt polling done for this halt */
	sim_ns halt_start;
	sim_ns poll_ns;	      /* adaptive halt-poll window (KVM's vcpu->halt_poll_ns) */
	sim_ns poll_item_ns;  /* length of the halt poll under way (for KVM's poll stats) */
	sim_ns irq_taken_at;  /* when the guest last started an interrupt handler */
	sim_ns softirq_since; /* start of the current guest softirq run, -1 none */
	sim_ns round_start;   /* start of the current NAPI poll round, -1 none */
	sim_ns app_credit;    /* ksoftirqd deferral: app time owed before more NAPI */
	sim_ns app_started;   /* when the current app item (re)started */
};

/* Counters since the start (the driver takes per-period differences). */
struct sim_counters {
	uint64_t arrivals;	  /* requests that reached the NIC (first tries) */
	uint64_t completions;	  /* replies delivered to the client */
	uint64_t drops;		  /* packets dropped on a full ring (then retransmitted) */
	uint64_t client_lost;	  /* sends not made: SIM_MAX_IN_FLIGHT outstanding */
	uint64_t pirqs;		  /* host NIC queue interrupts */
	uint64_t virqs;		  /* device interrupts delivered to the LC guest */
	uint64_t ipis;		  /* guest wake-up IPIs */
	uint64_t kicks;		  /* guest TX kicks */
	uint64_t ctx_switches;	  /* host context switches as rq->nr_switches counts them:
				  every change of rq->curr, to and from the idle task */
	uint64_t migrations;	  /* host thread migrations: the sum of se.nr_migrations */
	uint64_t vm_exits;	  /* LC VM exits, as KVM's exits statistic counts them */
	uint64_t host_irqs;	  /* host interrupts as /proc/interrupts counts them: NIC
				  queues (pirqs), reschedule (RES), function call (CAL) */
	uint64_t res_ipis;	  /* reschedule IPIs (RES) */
	uint64_t cal_ipis;	  /* function-call IPIs (CAL): VMCLEAR of a migrated vCPU */
	uint64_t wakeups;	  /* wake-ups placed (select_task_rq) */
	uint64_t wake_idle;	  /* ... onto a CPU that idle_cpu() calls idle */
	uint64_t wake_scans;	  /* select_idle_cpu() scans */
	uint64_t wake_scanned;	  /* CPUs they examined */
	uint64_t ibpbs;		  /* IBPBs on a VMCS switch */
	uint64_t l1d_flushes;	  /* L1D flushes on VM entry (KVM's l1d_flush statistic) */
	uint64_t vcpu_migrations; /* LC vCPU loads on a CPU other than its VMCS's */
	sim_ns refill_ns;	  /* CPU time refilling caches and TLB after sharing a core */
	sim_ns mitigation_ns;	  /* CPU time in IBPB, L1D flushes, VMCLEAR */
	uint64_t virq_waits;	  /* interrupts the guest took */
	sim_ns virq_wait_ns;	  /* summed time from posting to the guest handler */
	sim_ns virq_wait_max_ns;
	sim_ns be_work_ns;	     /* CPU time the BE VM's vCPUs got for their work */
	sim_ns halt_poll_success_ns; /* KVM's stats of the same names, summed over the LC */
	sim_ns halt_poll_fail_ns;    /* VM's vCPUs (as its debugfs directory shows them) */
	sim_ns stage_ns[SIM_STAGES]; /* summed over completed requests */
	uint64_t anomalies;	     /* model self-check failures (a request completed twice); 0 */
};

struct sim_model_config {
	int n_cores;	/* host cores */
	int n_vcpus;	/* LC VM vCPUs (and worker threads) */
	int n_queues;	/* most pNQs/vNQs */
	int n_be_vcpus; /* BE VM vCPUs; 0 = no BE VM */
	enum sim_path path;
	enum sim_wl_kind wl;
	int n_conns; /* client connections */
	uint64_t seed;
	bool track_cores;	 /* keep per-thread per-core run time (tests) */
	sim_ns halt_poll_max_ns; /* KVM halt_poll_ns (SIM_HALT_POLL_MAX_NS); 0 = no halt polling */
	bool no_mitigations;	 /* mitigations=off: no IBPB, no L1D flush */
	int n_vms;		 /* LC VMs, each as n_vcpus, n_queues, wl, n_conns say; 0 = 1 */
	double knob[SIM_KNOBS];	 /* scale of each uncertain constant (0 = 1, as costs.h) */
	int fixed_pnq;		 /* pNQs regardless of the plan (0 = the plan's count) */
	int fixed_vnq;		 /* vNQs regardless of the plan (0 = the plan's count) */
};

/* The costs the model charges, from costs.h scaled by the configuration's
 * knobs (model_init). */
struct sim_cost {
	sim_ns ctx_switch, guest_ctx_switch, vcpu_load;
	sim_ns vm_exit, vm_entry, exit_handler, irq_entry;
	sim_ns host_rx_pkt, host_xmit_pkt, host_tx_clean;
	sim_ns vhost_rx_pkt, vhost_tx_pkt, vhost_signal, copy_per_kib;
	sim_ns guest_irq, guest_rx_pkt, guest_tx_pkt, guest_tx_clean;
	sim_ns memcached_app, memcached_app_per_kb, nginx_app;
	double refill_per_kib;		  /* ns */
	double tlb_walk, tlb_walk_guest;  /* ns */
	double ws_bytes[SIM_T_KINDS + 1]; /* working set per thread kind; [SIM_T_KINDS] softirq */
	double tlb_entries[SIM_T_KINDS + 1];
	double be_stream_per_ns; /* bytes a BE vCPU streams through the L2 per ns it runs */
	sim_ns ibpb, l1d_flush, vmclear_ipi, vmclear_remote, vcpu_migrate;
	sim_ns sis_scan_per_cpu;
	double core_c1_w;
};

/* One LC VM: its vCPUs and virtio queues, the NIC port that carries its
 * traffic (its pNQs), the load generator that drives it and what its clients
 * measured. */
struct sim_vm {
	int id;
	struct sim_vcpu *vcpu; /* cfg.n_vcpus */
	struct sim_vnq *vnq;   /* cfg.n_queues (SR-IOV: the VF's queues) */
	struct sim_pnq *pnq;   /* its port's queues, inside sim_model.pnq */
	int pnq_base;	       /* index of pnq[0] in sim_model.pnq */

	/* the configuration in force (set by simplat apply) */
	int n_pnq;    /* active pNQs (VF queues under SR-IOV) */
	int n_vnq;    /* active vNQs */
	int n_active; /* vCPUs the guest runs its workers on */
	uint64_t nq_mask;
	int xps_q[SIM_MAX_CORES]; /* XPS: the pNQ a core transmits on */

	/* load generator and wire */
	struct sim_rng rng_arrival, rng_conn, rng_size;
	double qps;	      /* offered load */
	sim_ns next_send;     /* client send time of the next request */
	sim_ns rx_wire_free;  /* the RX link is busy until */
	sim_ns tx_wire_free;  /* the TX link is busy until */
	struct sim_ring retx; /* dropped requests awaiting retransmission (FIFO by due) */
	uint32_t arriving;    /* the request whose arrival is scheduled, UINT32_MAX none */
	uint32_t in_flight;   /* requests sent and not answered */

	struct vs_hist *hist;	 /* latency (ns) of replies completed in this period */
	struct sim_counters cnt; /* what concerns this VM (its requests, its NIC port's
				    interrupts, its exits, its halt polling) */
};

struct sim_model {
	struct sim_engine eng;
	struct sim_model_config cfg;
	struct sim_cost cost;
	int n_threads;
	struct sim_thread *thr;
	struct sim_core *core;
	int n_vms;
	struct sim_vm *vm;
	struct sim_pnq *pnq;	 /* every VM's pNQs, n_vms x n_irq */
	int n_irq;		 /* pNQs (VF queues) per VM */
	struct sim_thread *be;	 /* the BE threads inside thr */
	struct sim_core *active; /* core whose completion is being handled */

	uint64_t alloc_mask; /* cores in some group (power) */

	/* requests */
	struct sim_req *req;
	uint32_t n_req_cap;
	uint32_t free_req; /* head of the free list, UINT32_MAX when empty */

	struct sim_counters cnt; /* the host's, all VMs' included */

	/* the scheduler's shared state */
	sim_ns llc_avg_scan_cost;    /* sd_llc->avg_scan_cost (SIS_PROP) */
	int distribute_prev;	     /* cpumask_any_and_distribute()'s last CPU */
	struct sim_core *waker_core; /* the CPU a wake-up is made from (NULL: the wakee's) */
};

/* Count in the host's counters and VM vm's. */
#define SIM_COUNT(m, vm, field, v)                                                                 \
	do {                                                                                       \
		(m)->cnt.field += (v);                                                             \
		(vm)->cnt.field += (v);                                                            \
	} while (0)

/* Timer slots: the balancing tick, each VM's arrival and retransmission,
 * each core's segment end and time slice, each pNQ's interrupt. */
enum {
	SIM_SLOT_LB = 0,
	SIM_SLOT_FIXED,
};
static inline int sim_slot_arrival(const struct sim_model *m, int vm)
{
	return SIM_SLOT_FIXED + 2 * vm;
}
static inline int sim_slot_retx(const struct sim_model *m, int vm)
{
	return SIM_SLOT_FIXED + 2 * vm + 1;
}
static inline int sim_slot_done(const struct sim_model *m, int c)
{
	return SIM_SLOT_FIXED + 2 * m->n_vms + c;
}
static inline int sim_slot_slice(const struct sim_model *m, int c)
{
	return SIM_SLOT_FIXED + 2 * m->n_vms + m->cfg.n_cores + c;
}
/* gq: the pNQ's index in sim_model.pnq */
static inline int sim_slot_irq(const struct sim_model *m, int gq)
{
	return SIM_SLOT_FIXED + 2 * m->n_vms + 2 * m->cfg.n_cores + gq;
}
/* The VM of an LC thread (vCPU or vhost). */
static inline struct sim_vm *sim_vm_of(struct sim_model *m, const struct sim_thread *t)
{
	return &m->vm[t->vm];
}

/* ---- model.c: life cycle and the event loop --------------------------------- */

/* Build the model; every thread starts blocked with no cpuset (0): set one
 * with host_set_allowed (simplat_apply does). Returns 0 or -1 with err. */
int model_init(struct sim_model *m, const struct sim_model_config *cfg, char *err, size_t errlen);
void model_free(struct sim_model *m);
/* Handle every event up to time until. */
void model_run_until(struct sim_model *m, sim_ns until);
/* Account busy time of running segments up to now (before reading busy_ns). */
void model_flush(struct sim_model *m);
/* Print the model's state: every core, thread, vCPU and queue (a debugging
 * aid, e.g. `call model_dump(&m, stderr)` from gdb). */
void model_dump(const struct sim_model *m, FILE *f);

/* ---- host.c ------------------------------------------------------------------ */

void host_core_done(struct sim_model *m, struct sim_core *c);
void host_slice(struct sim_model *m, struct sim_core *c);
void host_balance(struct sim_model *m);
/* A blocked thread becomes runnable (placement, preemption check). */
void host_wake(struct sim_model *m, struct sim_thread *t);
/* End t's current item early (a poll that saw work, an app item taken over by
 * an interrupt): the owner keeps what is left. */
void host_cut(struct sim_model *m, struct sim_thread *t);
/* pNQ gq's interrupt (gq: index in sim_model.pnq) arrives at core c. */
void host_irq(struct sim_model *m, struct sim_core *c, int gq);
/* Interrupt t's running item: charge extra_ns (a VM exit and entry) and, with
 * cut, end the item early as host_cut does. */
void host_interrupt(struct sim_model *m, struct sim_thread *t, sim_ns extra_ns, bool cut);
void host_set_allowed(struct sim_model *m, struct sim_thread *t, uint64_t allowed);
void host_set_frozen(struct sim_model *m, struct sim_thread *t, bool frozen);
/* Account c's running segment up to now. */
void host_flush(struct sim_model *m, struct sim_core *c);
/* Nothing runs, waits or is pending on c (not even IRQ work). */
bool host_core_idle(const struct sim_core *c);
/* idle_cpu() (kernel/sched/core.c): c's run queue runs its idle task and has
 * nothing queued. IRQ and softirq work do not make a core busy; a thread that
 * halt-polls does. */
bool host_idle_cpu(const struct sim_core *c);
/* select_task_rq_fair() for a wake-up of t made from CPU waker (the core
 * whose work wakes it; NULL: an event with no CPU, taken as t's previous one).
 * Pure apart from the scheduler statistics it updates as the kernel does
 * (wakee flips, recent_used_cpu, avg_scan_cost). Returns the core. */
int host_select_task_rq(struct sim_model *m, struct sim_thread *t, struct sim_core *waker);
/* VM entry of vCPU (LC or BE) thread t on its core: the entry, and the L1D
 * flush when due (vmentry_l1d_flush=cond). Adds the cost to t's penalty. */
void host_vm_enter(struct sim_model *m, struct sim_thread *t);
/* The cost of t re-entering the guest on its core (entry, L1D flush when
 * due; clears the flush flags). */
sim_ns host_reentry_cost(struct sim_model *m, struct sim_thread *t);
/* The refill t pays to start a segment on c (all of its working set and TLB
 * footprint on a core it has not run on since; else the share of it that what
 * came into c's caches since evicted), charged by host_core_go; it also
 * records that t's lines are on c now. */
sim_ns host_refill_thread(struct sim_model *m, struct sim_core *c, struct sim_thread *t);
/* Data streamed through core c's private cache (packet payloads). */
void host_touch(struct sim_model *m, int c, uint32_t bytes);
/* Send an IPI to core c: RES (resched) or CAL (function call); counts it in
 * /proc/interrupts and marks the core for the L1D flush. */
void host_ipi(struct sim_model *m, struct sim_core *c, bool call);

/* ---- nic.c -------------------------------------------------------------------- */

/* Set the load offered to vm (requests/s); 0 stops its load generator. */
void nic_set_qps(struct sim_model *m, struct sim_vm *vm, double qps);
void nic_arrival(struct sim_model *m, struct sim_vm *vm);
void nic_retransmit(struct sim_model *m, struct sim_vm *vm);
/* pNQ gq's (moderated) interrupt fires. */
void nic_irq_fire(struct sim_model *m, int gq);
/* Next NAPI item of core c's poll list into *it with its cost; false when
 * the list is done. */
bool nic_softirq_next(struct sim_model *m, struct sim_core *c, struct sim_nq_item *it,
		      sim_ns *cost);
void nic_softirq_done(struct sim_model *m, struct sim_core *c, const struct sim_nq_item *it);
/* A reply leaves: from a vhost thread on core (virtio) or the guest (VF queue q). */
void nic_transmit(struct sim_model *m, uint32_t id, int core, int vf_q);
/* Re-evaluate pNQ gq's interrupt (after NAPI re-enabled it, or new work). */
void nic_raise(struct sim_model *m, int gq);
/* A packet was dropped: retransmit after the TCP RTO. */
void nic_drop(struct sim_model *m, uint32_t id);

/* ---- vhost.c ------------------------------------------------------------------- */

bool vhost_next(struct sim_model *m, struct sim_thread *t);
void vhost_done(struct sim_model *m, struct sim_thread *t);
void vhost_cut(struct sim_model *m, struct sim_thread *t);
/* The host stack hands a packet to vm's vNQ q's tap queue. */
void vhost_tap_rx(struct sim_model *m, struct sim_vm *vm, int q, uint32_t id);
/* Guest notification (kick) of vNQ q, or ES2's polling thread noticing work. */
void vhost_notify(struct sim_model *m, struct sim_vm *vm, int q);
/* The guest freed RX descriptors on vNQ q. */
void vhost_rx_space(struct sim_model *m, struct sim_vm *vm, int q);

/* ---- guest.c -------------------------------------------------------------------- */

bool guest_next(struct sim_model *m, struct sim_thread *t);
void guest_done(struct sim_model *m, struct sim_thread *t);
void guest_cut(struct sim_model *m, struct sim_thread *t);
/* Device interrupt of vm's vNQ (or VF queue) q for the guest. */
void guest_virq(struct sim_model *m, struct sim_vm *vm, int q);
/* vm's guest moves its workers to vCPUs 0..n-1 (agent set_vcpus). */
void guest_set_active(struct sim_model *m, struct sim_vm *vm, int n);
/* Worker threads serve requests of conn on this vCPU. */
int guest_vcpu_of(const struct sim_model *m, const struct sim_vm *vm, uint32_t conn);

/* ---- workload.c ---------------------------------------------------------------- */

/* A new request to vm (sizes, service time) for a client send at time sent;
 * returns its id, or UINT32_MAX when out of memory. */
uint32_t wl_new_request(struct sim_model *m, struct sim_vm *vm, sim_ns sent);
void wl_free_request(struct sim_model *m, uint32_t id);
/* Time on the wire of a packet carrying bytes of payload (MSS segments). */
sim_ns wl_wire_ns(uint32_t bytes);

/* ---- power.c --------------------------------------------------------------------- */

/* Energy of the host over a period of period_ns in which core c was busy
 * busy_ns[c] (allocation per core->allocated). */
double power_energy_j(const struct sim_model *m, const sim_ns *busy_ns, sim_ns period_ns);

#endif
