/* test_sched.c - the host model's mechanisms one at a time: wake-up placement against hand-built
 * run queues, idle_cpu(), the cache/TLB refill after a switch, mitigations, counters on a script. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/costs.h"
#include "sim/model.h"
#include "testutil.h"

#define MS 1000000LL
#define US 1000LL

/* cores, LC vCPUs, vhost threads (queues), BE vCPUs; all threads blocked
 * with no cpuset, every core idle. */
static void build(struct sim_model *m, int cores, int vcpus, int queues, int be)
{
	struct sim_model_config cfg = {
		.n_cores = cores,
		.n_vcpus = vcpus,
		.n_queues = queues,
		.n_be_vcpus = be,
		.path = SIM_PATH_VIRTIO,
		.wl = SIM_WL_MEMCACHED,
		.n_conns = 16,
		.seed = 1,
		.halt_poll_max_ns = SIM_HALT_POLL_MAX_NS,
	};
	char err[128];

	assert_int_equal(model_init(m, &cfg, err, sizeof(err)), 0);
}

static uint64_t all_cores(const struct sim_model *m)
{
	return (UINT64_C(1) << m->cfg.n_cores) - 1;
}

/* Hand-built state: t is core c's current thread (rq->curr). */
static void run_on(struct sim_model *m, struct sim_thread *t, int c)
{
	m->core[c].curr = t;
	m->core[c].rq_curr = t;
	t->state = SIM_TS_RUNNING;
	t->core = c;
}

/* t sleeps; it last ran on core c. */
static void slept_on(struct sim_thread *t, int c, uint64_t allowed)
{
	t->state = SIM_TS_BLOCKED;
	t->core = c;
	t->allowed = allowed;
}

static struct sim_thread *vhost(struct sim_model *m, int q)
{
	return m->vm[0].vnq[q].vh;
}

/* idle_cpu(): IRQ and softirq work leave a core idle; a current thread,
 * even one that halt-polls, or a queued one makes it busy. */
static void test_idle_cpu_semantics(void **state)
{
	struct sim_model m;

	build(&m, 4, 2, 1, 0);
	/* core 0: only NIC IRQ work (pending hard IRQ and a NAPI poll) */
	m.core[0].irq_pending_ns = 1000;
	ring_push(&m.core[0].napi, 0);
	m.core[0].seg = SEG_IRQ;
	assert_true(host_idle_cpu(&m.core[0]));
	assert_false(host_core_idle(&m.core[0])); /* what the model used to ask */
	/* core 1: a vCPU thread polling after HLT */
	run_on(&m, m.vm[0].vcpu[0].t, 1);
	m.vm[0].vcpu[0].t->item = IT_G_POLL;
	assert_false(host_idle_cpu(&m.core[1]));
	/* core 2: a thread waiting in the run queue */
	m.core[2].rq[m.core[2].nr_rq++] = m.vm[0].vcpu[1].t;
	assert_false(host_idle_cpu(&m.core[2]));
	assert_true(host_idle_cpu(&m.core[3]));
	ring_pop(&m.core[0].napi);
	m.core[0].seg = SEG_NONE;
	m.core[0].irq_pending_ns = 0;
	model_free(&m);
}

/*
 * A vhost thread woken by softirq work on an otherwise idle core 0 (the
 * interrupt's core: idle_cpu() says idle). wake_affine_idle(): prev idle ->
 * prev; prev busy -> this CPU, so the worker stacks on the IRQ's core even
 * though other cores are idle.
 */
static void test_wake_affine_idle_stacks_on_irq_core(void **state)
{
	struct sim_model m;
	struct sim_thread *w;

	build(&m, 8, 2, 1, 0);
	w = vhost(&m, 0);
	slept_on(w, 3, all_cores(&m));
	assert_int_equal(host_select_task_rq(&m, w, &m.core[0]), 3); /* prev idle */
	run_on(&m, m.vm[0].vcpu[0].t, 3);			     /* prev busy */
	assert_int_equal(host_select_task_rq(&m, w, &m.core[0]), 0);
	/* an affine wake-up: the waker (core 0's idle task, in the interrupt)
	 * notes its CPU as its recent_used_cpu (select_task_rq_fair) */
	assert_int_equal(m.core[0].idle_wk.recent_used_cpu, 0);
	model_free(&m);
}

/*
 * A per-CPU kthread (ksoftirqd) waking a task that last ran on its CPU, and
 * alone there, stacks the wakee on that CPU: 7 other CPUs are idle.
 */
static void test_percpu_kthread_stacks(void **state)
{
	struct sim_model m;
	struct sim_thread *w;

	build(&m, 8, 1, 1, 0);
	w = vhost(&m, 0);
	slept_on(w, 0, all_cores(&m));
	run_on(&m, m.core[0].ksoftirqd, 0);
	assert_int_equal(host_select_task_rq(&m, w, &m.core[0]), 0);
	/* the same wake-up from a vCPU thread (not a kthread) goes to an idle core */
	run_on(&m, m.vm[0].vcpu[0].t, 0);
	assert_int_not_equal(host_select_task_rq(&m, w, &m.core[0]), 0);
	model_free(&m);
}

/* recent_used_cpu: target and prev busy, the wakee's recent CPU idle: it is
 * taken, and prev becomes the next candidate. */
static void test_recent_used_cpu(void **state)
{
	struct sim_model m;
	struct sim_thread *w;

	build(&m, 8, 3, 1, 0);
	w = vhost(&m, 0);
	slept_on(w, 2, all_cores(&m) & ~UINT64_C(1)); /* not on core 0: no affine wake */
	run_on(&m, m.vm[0].vcpu[0].t, 0);	      /* the waker */
	run_on(&m, m.vm[0].vcpu[1].t, 2);	      /* prev busy */
	w->wk.recent_used_cpu = 6;
	assert_int_equal(host_select_task_rq(&m, w, &m.core[0]), 6);
	assert_int_equal(w->wk.recent_used_cpu, 2);
	model_free(&m);
}

/*
 * select_idle_cpu() with SIS_PROP: the scan depth follows the waking CPU's
 * avg_idle against the LLC's avg_scan_cost. A busy waker (avg_idle 10 us)
 * with a 1 us average scan examines 3 CPUs (nr = 4) and misses the idle one
 * 4 CPUs after the target; an idle waker (avg_idle 1 ms) finds it.
 */
static void test_sis_prop_limits_the_scan(void **state)
{
	struct sim_model m;
	struct sim_thread *w;
	uint64_t scanned;

	build(&m, 8, 8, 1, 0);
	w = vhost(&m, 0);
	slept_on(w, 0, all_cores(&m));
	for (int c = 0; c < 8; c++)
		if (c != 4)
			run_on(&m, m.vm[0].vcpu[c].t, c); /* only core 4 is idle */
	m.llc_avg_scan_cost = 1000;
	m.core[0].avg_idle = 10 * US;
	scanned = m.cnt.wake_scanned;
	/* the waker is core 0 = prev = target: no wake_affine */
	assert_int_equal(host_select_task_rq(&m, w, &m.core[0]), 0); /* gave up: target */
	assert_int_equal(m.cnt.wake_scanned - scanned, 3);
	assert_int_equal(m.llc_avg_scan_cost, 1000); /* a scan that gives up is not averaged */

	m.core[0].avg_idle = 1 * MS;
	scanned = m.cnt.wake_scanned;
	assert_int_equal(host_select_task_rq(&m, w, &m.core[0]), 4);
	assert_int_equal(m.cnt.wake_scanned - scanned, 5); /* cores 0..4 */
	/* update_avg(): an eighth of the way to 5 CPUs x 50 ns */
	assert_int_equal(m.llc_avg_scan_cost, 1000 + (5 * SIM_SIS_SCAN_NS_PER_CPU - 1000) / 8);
	model_free(&m);
}

/* A CPU the task may no longer use (its cpuset changed while it slept) may
 * still be returned by select_idle_sibling(); try_to_wake_up() then falls
 * back to the first allowed CPU (select_fallback_rq), busy or not. */
static void test_fallback_to_first_allowed(void **state)
{
	struct sim_model m;
	struct sim_thread *w;

	build(&m, 8, 1, 1, 0);
	w = vhost(&m, 0);
	slept_on(w, 5, (UINT64_C(1) << 2) | (UINT64_C(1) << 3));
	run_on(&m, m.vm[0].vcpu[0].t, 2); /* 2 busy, 3 idle */
	assert_int_equal(host_select_task_rq(&m, w, NULL), 2);
	/* a thread allowed on one CPU goes there (select_task_rq) */
	w->allowed = UINT64_C(1) << 6;
	assert_int_equal(host_select_task_rq(&m, w, &m.core[0]), 6);
	model_free(&m);
}

/* wake_wide(): a waker flipping among many wakees, waking a wakee that
 * flips too, does not pull it to its CPU (want_affine false): the wakee
 * stays with prev's idle search, not the waker's CPU. */
static void test_wake_wide(void **state)
{
	struct sim_model m;
	struct sim_thread *w, *waker;

	build(&m, 8, 2, 1, 0);
	w = vhost(&m, 0);
	waker = m.vm[0].vcpu[0].t;
	slept_on(w, 5, all_cores(&m));
	run_on(&m, waker, 0);
	run_on(&m, m.vm[0].vcpu[1].t, 5); /* prev busy */
	/* factor = 8 cores: slave >= 8 and master >= 8 * slave */
	w->wk.flips = 8;
	waker->wk.flips = 200;
	waker->wk.decay_ts = 0;
	/* not affine: target = prev (busy), scan from prev finds core 6 */
	assert_int_equal(host_select_task_rq(&m, w, &m.core[0]), 6);
	/* affine (few flips): wake_affine_weight() compares loads; equal loads,
	 * and WA_BIAS makes prev look 8 % heavier: the waker's CPU becomes the
	 * target and the idle search from it finds core 1 */
	w->wk.flips = 0;
	waker->wk.flips = 0;
	m.core[0].load_avg = 1024;
	m.core[0].load_upd = 0;
	m.core[5].load_avg = 1024;
	m.core[5].load_upd = 0;
	assert_int_equal(host_select_task_rq(&m, w, &m.core[0]), 1);
	model_free(&m);
}

/* wake_affine_weight(): both CPUs busy; the waker's CPU is much less loaded
 * than prev, so the target becomes the waker's CPU and the idle search
 * starts there. */
static void test_wake_affine_weight(void **state)
{
	struct sim_model m;
	struct sim_thread *w;

	build(&m, 8, 8, 1, 0);
	w = vhost(&m, 0);
	slept_on(w, 5, all_cores(&m));
	for (int c = 0; c < 8; c++)
		if (c != 2)
			run_on(&m, m.vm[0].vcpu[c].t, c); /* idle: 2 only */
	m.core[0].load_avg = 100;
	m.core[5].load_avg = 3000;
	m.llc_avg_scan_cost = 0;
	m.core[0].avg_idle = 1 * MS;
	/* from target 0 the scan reaches 2 (0, 1, 2); from prev 5 it would too,
	 * but later: count the CPUs it examined */
	uint64_t before = m.cnt.wake_scanned;
	assert_int_equal(host_select_task_rq(&m, w, &m.core[0]), 2);
	assert_int_equal(m.cnt.wake_scanned - before, 3);
	/* reversed loads: target prev (5), scan 5, 6, 7, 0, 1, 2 */
	m.core[0].load_avg = 3000;
	m.core[5].load_avg = 100;
	before = m.cnt.wake_scanned;
	assert_int_equal(host_select_task_rq(&m, w, &m.core[0]), 2);
	assert_int_equal(m.cnt.wake_scanned - before, 6);
	model_free(&m);
}

/*
 * The refill after sharing a core: a thread that never ran on the core
 * refills its whole working set and TLB footprint; one that ran there and
 * found nothing new pays nothing; after X bytes came in from others it
 * refills the evicted share 1 - exp(-X / L2) of its working set, which grows
 * with X (the longer the others ran, the more they brought in).
 */
static void test_refill_after_switch(void **state)
{
	struct sim_model m;
	struct sim_thread *v;
	struct sim_core *c;
	double ws = SIM_WS_VCPU_KIB * (double)SIM_REFILL_NS_PER_KIB;
	sim_ns cold, r[3];

	build(&m, 2, 1, 1, 0);
	v = m.vm[0].vcpu[0].t;
	c = &m.core[0];
	cold = host_refill_thread(&m, c, v);
	assert_true(llabs(cold - (sim_ns)llround(ws + SIM_TLB_VCPU * SIM_TLB_WALK_GUEST_NS)) <= 1);
	assert_int_equal(host_refill_thread(&m, c, v), 0);
	for (int i = 0; i < 3; i++) {
		uint64_t x = (uint64_t)(64 * 1024) << (2 * i); /* 64 KiB, 256 KiB, 1 MiB */
		double want = (1 - exp(-(double)x / SIM_L2_BYTES)) * ws;
		host_touch(&m, 0, (uint32_t)x);
		r[i] = host_refill_thread(&m, c, v);
		print_message("# %6llu KiB came in: refill %lld ns (expected %.0f)\n",
			      (unsigned long long)(x / 1024), (long long)r[i], want);
		assert_true(fabs((double)r[i] - want) <= 1);
	}
	assert_true(r[0] < r[1] && r[1] < r[2]);
	/* on the other core: everything again */
	assert_int_equal(host_refill_thread(&m, &m.core[1], v), cold);
	model_free(&m);
}

/* Give vCPU v one CPU-bound request of app_ns on worker v. */
static void give_app_work(struct sim_model *m, int v, uint32_t app_ns)
{
	struct sim_vm *vm = &m->vm[0];
	uint32_t id = wl_new_request(m, vm, m->eng.now);

	assert_true(id != UINT32_MAX);
	m->req[id].conn = (uint32_t)v;
	m->req[id].app_ns = app_ns;
	m->req[id].resp_bytes = 100;
	assert_int_equal(ring_push(&vm->vcpu[v].app, id), 0);
	vm->vcpu[v].halted = false;
	host_wake(m, vm->vcpu[v].t);
}

/*
 * Mitigations on one core: two CPU-bound vCPUs of the LC VM time-share it.
 * Every switch between them loads the other VMCS (an IBPB) and schedules a
 * vCPU in (an L1D flush at its VM entry). With mitigations off, neither.
 */
static void mitigations_on_one_core(bool off, uint64_t *ibpb, uint64_t *flush, uint64_t *sw)
{
	struct sim_model m;

	build(&m, 1, 2, 1, 0);
	m.cfg.no_mitigations = off;
	m.vm[0].vnq[0].vcpu = 0;
	for (int v = 0; v < 2; v++) {
		host_set_allowed(&m, m.vm[0].vcpu[v].t, 1);
		give_app_work(&m, v, 500 * MS);
	}
	model_run_until(&m, 200 * MS);
	*ibpb = m.cnt.ibpbs;
	*flush = m.cnt.l1d_flushes;
	*sw = m.cnt.ctx_switches;
	print_message("# mitigations %s: %llu switches, %llu IBPB, %llu L1D flushes, %.3f ms\n",
		      off ? "off" : "on", (unsigned long long)*sw, (unsigned long long)*ibpb,
		      (unsigned long long)*flush, (double)m.cnt.mitigation_ns / MS);
	model_free(&m);
}

static void test_mitigations_on_vcpu_switches(void **state)
{
	uint64_t ibpb, flush, sw;

	mitigations_on_one_core(false, &ibpb, &flush, &sw);
	/* 12 ms slices over 200 ms: ~16 switches, each to the other vCPU */
	assert_true(sw >= 10);
	assert_true(ibpb >= sw - 1 && ibpb <= sw + 1);
	assert_true(flush >= sw - 1 && flush <= sw + 1);
	mitigations_on_one_core(true, &ibpb, &flush, &sw);
	assert_int_equal(ibpb, 0);
	assert_int_equal(flush, 0);
}

/*
 * Counters on a scripted trace, as the kernel counts them: rq->nr_switches
 * (every change of rq->curr, to and from the idle task), se.nr_migrations
 * (every change of CPU), /proc/interrupts (NIC, RES, CAL), and the vCPU's
 * migration: a VMCLEAR function-call IPI to the CPU it left.
 */
static void test_counters_on_a_script(void **state)
{
	struct sim_model m;
	struct sim_thread *be, *v;

	build(&m, 2, 1, 1, 1);
	be = &m.be[0];
	v = m.vm[0].vcpu[0].t;
	m.vm[0].vnq[0].vcpu = 0;

	/* a BE vCPU starts on core 0 (idle -> BE: 1 switch), is frozen
	 * (BE -> idle: 2), then thawed on core 1 only (a migration; idle -> BE: 3) */
	host_set_allowed(&m, be, 1);
	host_set_frozen(&m, be, false);
	model_run_until(&m, 1 * MS);
	assert_int_equal(m.cnt.ctx_switches, 1);
	assert_int_equal(be->nr_migrations, 0);
	host_set_frozen(&m, be, true);
	model_run_until(&m, 2 * MS);
	assert_int_equal(m.cnt.ctx_switches, 2);
	host_set_allowed(&m, be, 2);
	host_set_frozen(&m, be, false);
	model_run_until(&m, 3 * MS);
	assert_int_equal(m.cnt.ctx_switches, 3);
	assert_int_equal(be->nr_migrations, 1);
	assert_int_equal(m.cnt.migrations, 1);
	assert_int_equal(be->core, 1);
	/* the BE vCPU's VMCS was loaded on core 0: VMCLEAR there (a CAL IPI) */
	assert_int_equal(m.cnt.vcpu_migrations, 1);
	assert_int_equal(m.cnt.cal_ipis, 1);
	assert_int_equal(m.cnt.host_irqs, 1);

	/* a NIC interrupt on core 0 is one line of /proc/interrupts */
	m.vm[0].pnq[0].core = 0;
	host_irq(&m, &m.core[0], 0);
	model_run_until(&m, 4 * MS);
	assert_int_equal(m.cnt.host_irqs, 2);

	/* the LC vCPU runs on core 0, sleeps (HLT, no polling), then is woken
	 * with core 0 forbidden: it runs on core 1 when the BE vCPU's CFS slice
	 * ends; its VMCS was loaded on 0, so a VMCLEAR IPI goes to core 0 */
	m.cfg.halt_poll_max_ns = 0;
	host_set_allowed(&m, v, 1);
	give_app_work(&m, 0, 100 * US);
	model_run_until(&m, 5 * MS);
	assert_int_equal(v->state, SIM_TS_BLOCKED);
	assert_int_equal(v->vmcs_core, 0);
	uint64_t sw = m.cnt.ctx_switches, irqs = m.cnt.host_irqs;
	host_set_allowed(&m, v, 2);
	give_app_work(&m, 0, 100 * US);
	model_run_until(&m, 30 * MS);
	print_message("# switches %llu, migrations %llu, irqs %llu (RES %llu, CAL %llu)\n",
		      (unsigned long long)m.cnt.ctx_switches, (unsigned long long)m.cnt.migrations,
		      (unsigned long long)m.cnt.host_irqs, (unsigned long long)m.cnt.res_ipis,
		      (unsigned long long)m.cnt.cal_ipis);
	assert_int_equal(v->vmcs_core, 1);
	assert_int_equal(m.cnt.vcpu_migrations, 2);
	assert_int_equal(m.cnt.cal_ipis, 2);
	assert_int_equal(v->nr_migrations, 1);
	/* core 1: BE -> vCPU -> BE (the vCPU slept again): 2 switches */
	assert_int_equal(m.cnt.ctx_switches - sw, 2);
	/* the CAL IPI is an interrupt too */
	assert_true(m.cnt.host_irqs - irqs >= 1);
	assert_int_equal(m.cnt.host_irqs, 1 + m.cnt.res_ipis + m.cnt.cal_ipis);
	model_free(&m);
}

/*
 * Two vCPUs trade cores: A's VMCS is loaded on core 1, B's on core 0. A is
 * woken on core 0: its switch-in sends the VMCLEAR IPI to core 1, which takes
 * the interrupt before it runs B (queued there); B's switch-in then sends a
 * VMCLEAR IPI to core 0, which interrupts A in guest mode (an exit). Each
 * migration is one CAL IPI and one IBPB on the new CPU.
 */
static void test_vmclear_ipis_cross(void **state)
{
	struct sim_model m;
	struct sim_thread *a, *b;

	build(&m, 2, 2, 1, 0);
	a = m.vm[0].vcpu[0].t;
	b = m.vm[0].vcpu[1].t;
	a->vmcs_core = 1;
	m.core[1].current_vmcs = a->id;
	b->vmcs_core = 0;
	m.core[0].current_vmcs = b->id;
	/* B waits in core 1's run queue, put there by hand (on an idle core it
	 * would run at once) */
	b->allowed = 2;
	b->core = 1;
	b->state = SIM_TS_RUNNABLE;
	m.core[1].rq[m.core[1].nr_rq++] = b;
	m.vm[0].vcpu[1].halted = false;
	host_set_allowed(&m, a, 1);
	give_app_work(&m, 0, 500 * US);
	/* now: A switched in on core 0, core 1 in the VMCLEAR handler */
	assert_int_equal(a->state, SIM_TS_RUNNING);
	assert_int_equal(a->core, 0);
	assert_int_equal(m.core[1].seg, SEG_IRQ);
	assert_int_equal(b->state, SIM_TS_RUNNABLE);
	assert_int_equal(m.cnt.cal_ipis, 1);
	assert_int_equal(m.core[1].current_vmcs, -1); /* VMCLEARed */
	model_run_until(&m, 20 * US);
	/* core 1 runs B (until it halts, having nothing to do): its VMCLEAR
	 * interrupted A */
	assert_int_equal(b->state, SIM_TS_RUNNING);
	assert_int_equal(b->core, 1);
	model_run_until(&m, 100 * US);
	assert_int_equal(m.cnt.cal_ipis, 2);
	assert_int_equal(m.cnt.vcpu_migrations, 2);
	assert_int_equal(m.cnt.ibpbs, 2);
	assert_true(m.vm[0].cnt.vm_exits >= 1);
	assert_int_equal(a->vmcs_core, 0);
	assert_int_equal(b->vmcs_core, 1);
	assert_int_equal(m.core[0].current_vmcs, a->id);
	assert_int_equal(m.core[1].current_vmcs, b->id);
	model_free(&m);
}

/* Give VM vm cores as simplat_apply does for an isolated plan: vCPUs on
 * vmask, packet processing on nmask, n queues, n_active vCPUs. */
static void split(struct sim_model *m, struct sim_vm *vm, uint64_t vmask, uint64_t nmask, int n,
		  int n_active)
{
	int nq[SIM_MAX_CORES], k = 0;

	for (int c = 0; c < m->cfg.n_cores; c++)
		if ((nmask >> c) & 1)
			nq[k++] = c;
	vm->n_pnq = vm->n_vnq = n;
	vm->nq_mask = nmask;
	for (int q = 0; q < m->n_irq; q++) {
		vm->pnq[q].core = nq[q % k];
		vm->vnq[q].vcpu = q % n_active;
	}
	for (int c = 0, r = 0; c < m->cfg.n_cores; c++)
		vm->xps_q[c] = ((nmask >> c) & 1) ? (r++) % n : c % n;
	guest_set_active(m, vm, n_active);
	for (int i = 0; i < m->cfg.n_vcpus; i++)
		host_set_allowed(m, vm->vcpu[i].t, vmask);
	for (int q = 0; q < m->n_irq; q++)
		host_set_allowed(m, vm->vnq[q].vh, nmask);
}

/*
 * Two LC VMs on one host, each with its own NIC port, vhost workers and load
 * generator, on disjoint cores: each serves its own load, its requests stay
 * on its cores, and the host's counters are the sum of the VMs'.
 */
static void test_two_lc_vms(void **state)
{
	struct sim_model_config cfg = {
		.n_cores = 8,
		.n_vcpus = 4,
		.n_queues = 2,
		.n_vms = 2,
		.path = SIM_PATH_VIRTIO,
		.wl = SIM_WL_MEMCACHED,
		.n_conns = 64,
		.seed = 5,
		.track_cores = true,
		.halt_poll_max_ns = SIM_HALT_POLL_MAX_NS,
	};
	struct sim_model m;
	char err[128];
	uint64_t done = 0;

	assert_int_equal(model_init(&m, &cfg, err, sizeof(err)), 0);
	assert_int_equal(m.n_vms, 2);
	split(&m, &m.vm[0], 0x03, 0x0c, 2, 2); /* VM 0: vCPUs 0-1, NQ 2-3 */
	split(&m, &m.vm[1], 0x30, 0xc0, 2, 2); /* VM 1: vCPUs 4-5, NQ 6-7 */
	nic_set_qps(&m, &m.vm[0], 20000);
	nic_set_qps(&m, &m.vm[1], 60000);
	model_run_until(&m, 500 * MS);
	model_flush(&m);
	for (int v = 0; v < 2; v++) {
		struct sim_vm *vm = &m.vm[v];
		uint64_t want = v ? 30000 : 10000;

		print_message("# VM %d: %llu requests, %llu replies, p95 %.1f us, %llu exits\n", v,
			      (unsigned long long)vm->cnt.arrivals,
			      (unsigned long long)vm->cnt.completions,
			      (double)hist_quantile(vm->hist, 0.95) / 1000.0,
			      (unsigned long long)vm->cnt.vm_exits);
		assert_true(vm->cnt.completions > want * 9 / 10 &&
			    vm->cnt.completions < want * 11 / 10);
		assert_int_equal(vm->hist->total, vm->cnt.completions);
		assert_true(hist_quantile(vm->hist, 0.95) < 1000 * US);
		done += vm->cnt.completions;
	}
	assert_int_equal(m.cnt.completions, done);
	assert_int_equal(m.cnt.vm_exits, m.vm[0].cnt.vm_exits + m.vm[1].cnt.vm_exits);
	assert_int_equal(m.cnt.pirqs, m.vm[0].cnt.pirqs + m.vm[1].cnt.pirqs);
	/* every VM's threads ran only on its own cores */
	for (int i = 0; i < m.n_threads; i++) {
		const struct sim_thread *t = &m.thr[i];
		uint64_t mine = t->vm == 0 ? 0x0f : 0xf0;

		if (t->vm < 0)
			continue;
		for (int c = 0; c < 8; c++)
			if (!((mine >> c) & 1))
				assert_int_equal(t->run_on_ns[c], 0);
	}
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_cpu_semantics),
		cmocka_unit_test(test_wake_affine_idle_stacks_on_irq_core),
		cmocka_unit_test(test_percpu_kthread_stacks),
		cmocka_unit_test(test_recent_used_cpu),
		cmocka_unit_test(test_sis_prop_limits_the_scan),
		cmocka_unit_test(test_fallback_to_first_allowed),
		cmocka_unit_test(test_wake_wide),
		cmocka_unit_test(test_wake_affine_weight),
		cmocka_unit_test(test_refill_after_switch),
		cmocka_unit_test(test_mitigations_on_vcpu_switches),
		cmocka_unit_test(test_counters_on_a_script),
		cmocka_unit_test(test_vmclear_ipis_cross),
		cmocka_unit_test(test_two_lc_vms),
	};
	return VS_RUN_TESTS(tests);
}
