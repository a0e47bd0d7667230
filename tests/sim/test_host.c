/* test_host.c - the host model: fair sharing, vIRQs waiting for descheduled vCPUs, isolation,
 * wake-up placement, halt polling. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "control/controller.h"
#include "sim/costs.h"
#include "sim/model.h"
#include "sim/simplat.h"
#include "testutil.h"

#define MS 1000000LL
#define US 1000LL

static void build(struct sim_model *m, int cores, int vcpus, int be, bool track)
{
	struct sim_model_config cfg = {
		.n_cores = cores,
		.n_vcpus = vcpus,
		.n_queues = 1,
		.n_be_vcpus = be,
		.path = SIM_PATH_VIRTIO,
		.wl = SIM_WL_MEMCACHED,
		.n_conns = 16,
		.seed = 1,
		.track_cores = track,
		.halt_poll_max_ns = SIM_HALT_POLL_MAX_NS,
	};
	char err[128];

	assert_int_equal(model_init(m, &cfg, err, sizeof(err)), 0);
}

/* Two CPU-bound threads allowed only on core 0 get half of it each. */
static void test_two_threads_share_a_core_fairly(void **state)
{
	struct sim_model m;

	build(&m, 2, 1, 2, false);
	for (int i = 0; i < 2; i++) {
		host_set_allowed(&m, &m.be[i], 1);
		host_set_frozen(&m, &m.be[i], false);
	}
	model_run_until(&m, 1000 * MS);
	model_flush(&m);
	double a = (double)m.be[0].run_ns, b = (double)m.be[1].run_ns;
	print_message("# shares: %.4f %.4f of 1 s, core 1 busy %lld ns, %llu switches\n", a / 1e9,
		      b / 1e9, (long long)m.core[1].busy_ns,
		      (unsigned long long)m.cnt.ctx_switches);
	assert_true(fabs(a / 1e9 - 0.5) < 0.01);
	assert_true(fabs(b / 1e9 - 0.5) < 0.01);
	/* the core was never idle, the other core never used */
	assert_true(m.core[0].busy_ns > 999 * MS);
	assert_int_equal(m.core[1].busy_ns, 0);
	/* CFS slices: 24 ms latency / 2 threads = 12 ms, so ~83 switches in 1 s */
	assert_true(m.cnt.ctx_switches > 60 && m.cnt.ctx_switches < 110);
	model_free(&m);
}

/* A woken thread goes to an idle allowed core, not behind a busy one. */
static void test_wakeup_prefers_idle_allowed_core(void **state)
{
	struct sim_model m;

	build(&m, 4, 1, 2, false);
	host_set_allowed(&m, &m.be[0], 0x3);
	host_set_frozen(&m, &m.be[0], false);
	model_run_until(&m, 1 * MS);
	assert_int_equal(m.be[0].state, SIM_TS_RUNNING);
	int busy_core = m.be[0].core;
	host_set_allowed(&m, &m.be[1], 0x3);
	host_set_frozen(&m, &m.be[1], false);
	model_run_until(&m, 2 * MS);
	assert_int_equal(m.be[1].state, SIM_TS_RUNNING);
	assert_int_not_equal(m.be[1].core, busy_core);
	assert_true(m.be[1].core == 0 || m.be[1].core == 1);
	/* a third BE thread with only core 3 allowed never touches 0-2 */
	model_free(&m);
}

/* Put one request on vCPU v's worker queue (a CPU-bound app item). */
static void give_app_work(struct sim_model *m, int v, uint32_t app_ns)
{
	struct sim_vm *vm = &m->vm[0];
	uint32_t id = wl_new_request(m, vm, m->eng.now);

	assert_true(id != UINT32_MAX);
	m->req[id].conn = (uint32_t)v; /* worker v -> vCPU v */
	m->req[id].app_ns = app_ns;
	m->req[id].resp_bytes = 100;
	assert_int_equal(ring_push(&vm->vcpu[v].app, id), 0);
	vm->vcpu[v].halted = false;
	host_wake(m, vm->vcpu[v].t);
}

/*
 * A vIRQ posted to a vCPU thread that is runnable but descheduled (a
 * CPU-bound BE thread holds the core) is taken only when the vCPU runs again;
 * the same vIRQ posted while the vCPU runs is taken within microseconds.
 */
static void test_virq_waits_for_descheduled_vcpu(void **state)
{
	struct sim_model m;
	struct sim_vcpu *v;
	sim_ns posted, t_run = -1;

	build(&m, 1, 1, 1, false);
	v = &m.vm[0].vcpu[0];
	m.vm[0].vnq[0].vcpu = 0;
	host_set_allowed(&m, v->t, 1);
	host_set_allowed(&m, &m.be[0], 1);
	host_set_frozen(&m, &m.be[0], false);
	give_app_work(&m, 0, 200 * MS); /* keeps the vCPU CPU-bound too */

	/* step until the vCPU has been preempted by the BE thread */
	for (sim_ns t = 0; t < 100 * MS && v->t->state != SIM_TS_RUNNABLE; t += 10 * US)
		model_run_until(&m, t);
	assert_int_equal(v->t->state, SIM_TS_RUNNABLE);
	assert_ptr_equal(m.core[0].curr, &m.be[0]);
	posted = m.eng.now;
	guest_virq(&m, &m.vm[0], 0);
	assert_int_equal(v->irq_taken_at, -1);

	/* the vCPU gets the core back only when the BE thread's slice ends */
	for (sim_ns t = posted; t < posted + 100 * MS && t_run < 0; t += 10 * US) {
		model_run_until(&m, t);
		if (v->t->state == SIM_TS_RUNNING && m.core[0].curr == v->t)
			t_run = m.core[0].curr_since;
		else
			assert_int_equal(v->irq_taken_at, -1); /* not while descheduled */
	}
	assert_true(t_run > 0);
	model_run_until(&m, t_run + 50 * US);
	print_message("# vIRQ posted at %lld, vCPU ran at %lld, handler at %lld\n",
		      (long long)posted, (long long)t_run, (long long)v->irq_taken_at);
	assert_true(v->irq_taken_at >= t_run);
	/* after the switch-in costs: context switch, vcpu_load, IBPB, the refill
	 * of the working set the BE vCPU evicted (~30 us) and the L1D flush */
	assert_true(v->irq_taken_at - t_run < 60 * US);
	assert_true(t_run - posted > 1 * MS); /* it waited for a CFS slice */

	/* control: posted while the vCPU runs, the interrupt is taken at once */
	sim_ns again = m.eng.now;
	assert_ptr_equal(m.core[0].curr, v->t);
	guest_virq(&m, &m.vm[0], 0);
	model_run_until(&m, again + 50 * US);
	assert_true(v->irq_taken_at >= again);
	assert_true(v->irq_taken_at - again < 20 * US);
	model_free(&m);
}

/* KVM halt polling: a vCPU interrupted every 50 us polls through the gaps
 * (its core looks busy); interrupted every 5 ms it sleeps (core mostly idle);
 * with halt polling off (halt_poll_ns = 0) the 50 us case is mostly idle too. */
static double halt_poll_busy(sim_ns gap, sim_ns max, sim_ns *poll_ns)
{
	struct sim_model m;
	double busy;

	build(&m, 1, 1, 0, false);
	m.cfg.halt_poll_max_ns = max;
	m.vm[0].vnq[0].vcpu = 0;
	host_set_allowed(&m, m.vm[0].vcpu[0].t, 1);
	for (sim_ns t = gap; t <= 500 * MS; t += gap) {
		model_run_until(&m, t);
		guest_virq(&m, &m.vm[0], 0);
	}
	model_run_until(&m, 500 * MS);
	model_flush(&m);
	busy = (double)m.core[0].busy_ns / (500.0 * MS);
	*poll_ns = m.vm[0].vcpu[0].poll_ns;
	print_message(
		"# interrupt every %lld us, halt_poll_ns %lld: core busy %.3f, window %lld ns\n",
		(long long)(gap / US), (long long)max, busy, (long long)*poll_ns);
	model_free(&m);
	return busy;
}

static void test_halt_polling_adapts(void **state)
{
	sim_ns w;

	assert_true(halt_poll_busy(50 * US, SIM_HALT_POLL_MAX_NS, &w) > 0.9);
	assert_true(w >= 50 * US);
	assert_true(halt_poll_busy(5 * MS, SIM_HALT_POLL_MAX_NS, &w) < 0.1);
	assert_int_equal(w, 0);
	assert_true(halt_poll_busy(50 * US, 0, &w) < 0.3);
	assert_int_equal(w, 0);
}

/*
 * Halt-poll accounting through the platform seam: an idle VM whose only vCPU
 * is interrupted every 50 us (and does nothing else) polls through every gap,
 * so its vCPU group's core is busy ~all the time. KVM's counters in the model
 * account that polling; with accounting auto the sample's U_v is ~0 (the
 * interrupt handlers' few percent), with it off U_v is the core's busy time,
 * as before the accounting existed.
 */
static void halt_poll_sample(enum vs_haltpoll_mode mode, struct vs_sample *out, double *busy)
{
	struct sim_model m;
	struct sim_platform plat;
	struct vs_wl_plan wp = { .name = "lc" };
	struct vs_plan plan = { .seq = 1, .n_workloads = 1, .wl = &wp };
	struct vs_sample ws;
	bool present;
	const char *names[] = { "lc" };
	struct vs_host_sample hs = {
		.n_workloads = 1, .name = names, .wl = &ws, .present = &present
	};
	char err[256];

	build(&m, 2, 1, 0, false);
	simplat_init(&plat, &m);
	plat.halt_poll = mode;
	assert_int_equal(simplat_add_workload(&plat, "lc", 1000, err, sizeof(err)), 0);
	wp.alloc = (struct vs_alloc){
		.layout = VS_LAYOUT_ISOLATED, .n_vcpu = 1, .n_nq = 1, .vcpus = 1, .queues = 1
	};
	cpuset_set(&wp.vcpu_cores, 0);
	cpuset_set(&wp.nq_cores, 1);
	assert_int_equal(plat.base.ops->apply(&plat.base, &plan), 0);
	/* one period to settle the adaptive window, then the measured one */
	for (int k = 0; k < 2; k++) {
		for (sim_ns t = 50 * US; t <= 100 * MS; t += 50 * US) {
			model_run_until(&m, k * 100 * MS + t);
			guest_virq(&m, &m.vm[0], 0);
		}
		model_run_until(&m, (k + 1) * 100 * MS);
		assert_int_equal(plat.base.ops->sample(&plat.base, &hs), 0);
	}
	*out = ws;
	*busy = plat.wl[0].per.busy_vcpu_raw;
	print_message("# accounting %s: core busy %.3f, KVM polling %.3f, U_v %.3f\n",
		      haltpoll_mode_name(mode), *busy, plat.wl[0].per.halt_poll_cores,
		      ws.busy_vcpu);
	assert_true(present);
	model_free(&m);
}

static void test_halt_poll_accounting(void **state)
{
	struct vs_sample s;
	double busy;

	halt_poll_sample(VS_HALTPOLL_AUTO, &s, &busy);
	assert_true(busy > 0.9);	      /* the core spins */
	assert_true(s.has_halt_poll);	      /* ... and it is KVM polling: */
	assert_true(s.busy_vcpu < 0.1);	      /* U_v is ~0 */
	assert_true(s.halt_poll_vcpu > 0.85); /* nearly all of it was polling */
	assert_true(fabs(s.busy_vcpu_raw - busy) < 1e-9);
	assert_true(fabs(s.busy_vcpu + s.halt_poll_vcpu - busy) < 1e-9);

	halt_poll_sample(VS_HALTPOLL_OFF, &s, &busy);
	assert_true(busy > 0.9);
	assert_false(s.has_halt_poll);
	assert_true(fabs(s.busy_vcpu - busy) < 1e-9); /* as before: polling counts as busy */
}

/*
 * Isolation under vspace-e with the real controller: while the allocation
 * changes period by period, vCPU threads never run on the NQ group's cores,
 * and vhost threads and IRQ/softirq work never run on the vCPU group's cores.
 */
static void test_isolation_keeps_groups_apart(void **state)
{
	struct sim_model_config mc = {
		.n_cores = 8,
		.n_vcpus = 8,
		.n_queues = 8,
		.path = SIM_PATH_VIRTIO,
		.wl = SIM_WL_MEMCACHED,
		.n_conns = 64,
		.seed = 3,
		.track_cores = true,
		.halt_poll_max_ns = SIM_HALT_POLL_MAX_NS,
	};
	struct sim_model m;
	struct sim_platform plat;
	struct vs_controller ctl;
	struct vs_policy pol;
	struct vs_params params;
	struct vs_topology topo;
	char err[256];
	sim_ns *prev = calloc((size_t)256 * 8, sizeof(*prev)), prev_irq[8] = { 0 };
	int changes = 0;
	struct vs_alloc last = { 0 };

	assert_non_null(prev);
	assert_int_equal(model_init(&m, &mc, err, sizeof(err)), 0);
	simplat_init(&plat, &m);
	assert_int_equal(simplat_add_workload(&plat, "lc", 1000, err, sizeof(err)), 0);
	topology_init_flat(&topo, 8);
	vs_params_defaults(&params);
	params.explore = false;
	assert_int_equal(policy_lookup("vspace-e", 8, &pol, err, sizeof(err)), 0);
	assert_int_equal(controller_init(&ctl, &pol, &params, &topo, &plat.base, err, sizeof(err)),
			 0);
	assert_true(controller_add_workload(&ctl, "lc", 1000, err, sizeof(err)) >= 0);
	assert_int_equal(controller_start(&ctl), 0);
	uint64_t was_nq = 0;

	for (int k = 0; k < 30; k++) {
		uint64_t vmask = plat.wl[0].vcpu_mask, nmask = plat.wl[0].nq_mask;

		assert_true((vmask & nmask) == 0);
		nic_set_qps(&m, &m.vm[0], k < 10 ? 20000 : (k < 20 ? 120000 : 40000));
		model_run_until(&m, (sim_ns)(k + 1) * 100 * MS);
		model_flush(&m);
		for (int i = 0; i < m.n_threads; i++) {
			struct sim_thread *t = &m.thr[i];
			for (int c = 0; c < 8; c++) {
				sim_ns d = t->run_on_ns[c] - prev[i * 8 + c];
				prev[i * 8 + c] = t->run_on_ns[c];
				if (t->kind == SIM_T_VCPU && ((nmask >> c) & 1))
					assert_int_equal(d, 0);
				if (t->kind == SIM_T_VHOST && ((vmask >> c) & 1))
					assert_int_equal(d, 0);
				if (t->kind == SIM_T_KSOFTIRQD && ((vmask >> c) & 1) &&
				    !((was_nq >> c) & 1))
					assert_int_equal(d, 0);
			}
		}
		for (int c = 0; c < 8; c++) {
			/* network IRQ and softirq time: all IRQ time but the
			 * function-call IPIs of vCPU migrations (VMCLEAR) */
			sim_ns d = m.core[c].irq_ns - m.core[c].ipi_ns - prev_irq[c];
			prev_irq[c] = m.core[c].irq_ns - m.core[c].ipi_ns;
			/* a core that just left the NQ group finishes the NAPI poll it
			 * had taken (a new IRQ affinity applies to the next interrupt):
			 * allow that drain, nothing more */
			if (((vmask >> c) & 1) && ((was_nq >> c) & 1))
				assert_true(d < 100 * US);
			else if ((vmask >> c) & 1)
				assert_int_equal(d, 0);
		}
		was_nq = nmask;
		assert_int_equal(controller_step(&ctl), 0);
		if (plat.wl[0].alloc.n_vcpu != last.n_vcpu || plat.wl[0].alloc.n_nq != last.n_nq)
			changes++;
		last = plat.wl[0].alloc;
	}
	print_message("# %d allocation changes, %llu requests completed\n", changes,
		      (unsigned long long)m.cnt.completions);
	assert_true(changes >= 3); /* the test exercised reconfiguration */
	assert_true(m.cnt.completions > 100000);
	controller_free(&ctl);
	model_free(&m);
	free(prev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_threads_share_a_core_fairly),
		cmocka_unit_test(test_wakeup_prefers_idle_allowed_core),
		cmocka_unit_test(test_virq_waits_for_descheduled_vcpu),
		cmocka_unit_test(test_halt_polling_adapts),
		cmocka_unit_test(test_halt_poll_accounting),
		cmocka_unit_test(test_isolation_keeps_groups_apart),
	};
	return VS_RUN_TESTS(tests);
}
