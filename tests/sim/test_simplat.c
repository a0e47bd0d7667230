/* test_simplat.c - the simulator's workloads reach the controller through discovery and reconcile, as vspaced's do. */
#include <string.h>

#include "control/controller.h"
#include "lib/strutil.h"
#include "platform/topology.h"
#include "sim/costs.h"
#include "sim/model.h"
#include "sim/simplat.h"
#include "testutil.h"

#define MS 1000000LL

struct bed {
	struct sim_model m;
	struct sim_platform plat;
	struct vs_controller ctl;
	char notes[512]; /* what reconcile reported: "+name", "-name", "!name" */
	size_t n_notes;
};

/* cores; vms LC VMs of vcpus vCPUs and queues each */
static void bed_open(struct bed *b, int cores, int vms, int vcpus)
{
	struct sim_model_config mc = {
		.n_cores = cores,
		.n_vcpus = vcpus,
		.n_queues = vcpus,
		.n_vms = vms,
		.path = SIM_PATH_VIRTIO,
		.wl = SIM_WL_MEMCACHED,
		.n_conns = 64,
		.seed = 5,
		.halt_poll_max_ns = SIM_HALT_POLL_MAX_NS,
	};
	struct vs_policy pol;
	struct vs_params params;
	struct vs_topology topo;
	char err[256];

	memset(b, 0, sizeof(*b));
	assert_int_equal(model_init(&b->m, &mc, err, sizeof(err)), 0);
	simplat_init(&b->plat, &b->m);
	topology_init_flat(&topo, cores);
	vs_params_defaults(&params);
	assert_int_equal(policy_lookup("vspace-e", cores, &pol, err, sizeof(err)), 0);
	assert_int_equal(
		controller_init(&b->ctl, &pol, &params, &topo, &b->plat.base, err, sizeof(err)), 0);
}

static void bed_close(struct bed *b)
{
	controller_free(&b->ctl);
	model_free(&b->m);
}

static void bed_note(void *arg, enum vs_reconcile_event ev, const struct vs_wl_report *wl,
		     const char *why)
{
	struct bed *b = arg;

	str_appendf(b->notes, sizeof(b->notes), &b->n_notes, "%c%s ",
		    ev == VS_RECONCILE_ADDED	 ? '+'
		    : ev == VS_RECONCILE_DROPPED ? '-'
						 : '!',
		    wl->name);
}

/* Discovery, then reconcile: what src/simrun/run.c does before the first period. */
static int bed_sync(struct bed *b)
{
	struct vs_discovery d;

	b->n_notes = 0;
	b->notes[0] = '\0';
	assert_int_equal(b->plat.base.ops->refresh(&b->plat.base, 0, &d), 0);
	return controller_reconcile(&b->ctl, &d, bed_note, b);
}

/* One period of load (qps to every VM), then the controller's step. */
static int bed_period(struct bed *b, int k, double qps)
{
	for (int v = 0; v < b->m.n_vms; v++)
		nic_set_qps(&b->m, &b->m.vm[v], qps);
	model_run_until(&b->m, (sim_ns)(k + 1) * 100 * MS);
	return controller_step(&b->ctl);
}

/*
 * The model's LC VM appears to discovery, the controller admits it by name
 * and sizes it from the samples simplat takes for that name; it vanishes and
 * comes back. (This model hosts one LC VM: a second workload is refused with
 * the reason; test_two_workloads has two.)
 */
static void test_reconcile_path(void **state)
{
	struct bed b;
	char err[256];
	struct vs_discovery d;
	int k = 0;

	bed_open(&b, 8, 1, 8);
	assert_int_equal(simplat_model_vms(&b.m), 1);
	assert_int_equal(simplat_add_workload(&b.plat, "web", 500, err, sizeof(err)), 0);
	assert_int_equal(simplat_add_workload(&b.plat, "web", 500, err, sizeof(err)), -1);
	assert_string_equal(err, "workload \"web\" already exists");
	assert_int_equal(simplat_add_workload(&b.plat, "db", 500, err, sizeof(err)), -1);
	assert_string_equal(err, "workload \"db\": the model hosts 1 LC VM, all taken");

	/* nothing reaches the controller before discovery reports it */
	assert_int_equal(b.ctl.n_wl, 0);
	assert_int_equal(bed_sync(&b), 1);
	assert_string_equal(b.notes, "+web ");
	assert_int_equal(b.ctl.n_wl, 1);
	assert_string_equal(b.ctl.wl[0].name, "web");
	assert_true(b.ctl.wl[0].slo_p95_us == 500);
	assert_int_equal(bed_sync(&b), 0); /* reported once */

	/* first allocation 4 + 4, realised on the model's VM */
	assert_int_equal(controller_start(&b.ctl), 0);
	assert_int_equal(b.plat.wl[0].alloc.n_vcpu, 4);
	assert_int_equal(b.plat.wl[0].alloc.n_nq, 4);
	assert_int_equal(__builtin_popcountll(b.plat.wl[0].vcpu_mask), 4);
	assert_true((b.plat.wl[0].vcpu_mask & b.plat.wl[0].nq_mask) == 0);
	assert_true(b.m.alloc_mask == (b.plat.wl[0].vcpu_mask | b.plat.wl[0].nq_mask));

	/* periods under load: the sample for "web" is the VM's, the plan follows */
	for (; k < 5; k++)
		assert_int_equal(bed_period(&b, k, 100000), 0);
	assert_true(b.ctl.wl[0].has_sample);
	assert_true(b.ctl.wl[0].last.busy_vcpu > 0.5);
	assert_true(b.ctl.wl[0].last.has_p95);
	assert_true(b.plat.wl[0].per.has_p95);
	assert_true(b.ctl.wl[0].last.busy_vcpu == b.plat.wl[0].per.busy_vcpu);
	assert_int_equal(b.plat.wl[0].alloc.n_vcpu, b.ctl.plan.wl[0].alloc.n_vcpu);

	/* it vanishes: dropped; with no workload the periods are skipped */
	assert_int_equal(simplat_remove_workload(&b.plat, "web"), 0);
	assert_int_equal(simplat_remove_workload(&b.plat, "db"), -1);
	assert_int_equal(b.plat.base.ops->refresh(&b.plat.base, 0, &d), 0);
	assert_int_equal(d.n_vanished, 1);
	assert_string_equal(d.vanished[0].name, "web");
	assert_int_equal(controller_reconcile(&b.ctl, &d, NULL, NULL), 0);
	assert_int_equal(b.ctl.n_wl, 0);
	assert_int_equal(bed_period(&b, k++, 100000), 1);

	/* it comes back on its VM: admitted again, a new first allocation */
	assert_int_equal(simplat_add_workload(&b.plat, "web", 800, err, sizeof(err)), 0);
	assert_int_equal(bed_sync(&b), 1);
	assert_true(b.ctl.wl[0].slo_p95_us == 800);
	assert_int_equal(controller_start(&b.ctl), 0);
	assert_int_equal(bed_period(&b, k++, 100000), 0);
	assert_true(b.ctl.wl[0].has_sample);
	bed_close(&b);
}

/* A plan naming a workload the simulator does not host is refused, the
 * rest of it realised. */
static void test_apply_unknown_name(void **state)
{
	struct bed b;
	char err[256];
	struct vs_wl_plan wp[2] = { { .name = "web" }, { .name = "ghost" } };
	struct vs_plan plan = { .seq = 1, .n_workloads = 2, .wl = wp };

	bed_open(&b, 8, 1, 8);
	assert_int_equal(simplat_add_workload(&b.plat, "web", 500, err, sizeof(err)), 0);
	for (int i = 0; i < 2; i++) {
		wp[i].alloc = (struct vs_alloc){ .layout = VS_LAYOUT_ISOLATED,
						 .n_vcpu = 2,
						 .n_nq = 2,
						 .vcpus = 2,
						 .queues = 2 };
		cpuset_set(&wp[i].vcpu_cores, 4 * i);
		cpuset_set(&wp[i].vcpu_cores, 4 * i + 1);
		cpuset_set(&wp[i].nq_cores, 4 * i + 2);
		cpuset_set(&wp[i].nq_cores, 4 * i + 3);
	}
	assert_int_equal(b.plat.base.ops->apply(&b.plat.base, &plan), -1);
	assert_true(b.plat.wl[0].vcpu_mask == 0x3);
	assert_true(b.plat.wl[0].nq_mask == 0xc);
	assert_true(b.m.alloc_mask == 0xf);
	bed_close(&b);
}

/*
 * Two LC workloads on one simulated host through the reconcile path (SPEC
 * §3.5): both appear to discovery and are admitted by name; each is sampled
 * from its own VM (its own p95 and busy time); the arbitration divides the
 * host's 12 cores between their groups, disjoint, at least one per group;
 * the heavier-loaded workload gets more cores; when one vanishes the other
 * keeps running and the cores it held go back to the survivor.
 */
static void test_two_workloads(void **state)
{
	struct bed b;
	char err[256];
	struct vs_discovery d;
	int k = 0;

	bed_open(&b, 12, 2, 6);
	assert_int_equal(simplat_model_vms(&b.m), 2);
	assert_int_equal(simplat_add_workload(&b.plat, "web", 1000, err, sizeof(err)), 0);
	assert_int_equal(simplat_add_workload(&b.plat, "cache", 1000, err, sizeof(err)), 1);
	assert_int_equal(simplat_add_workload(&b.plat, "db", 1000, err, sizeof(err)), -1);
	assert_string_equal(err, "workload \"db\": the model hosts 2 LC VMs, all taken");
	assert_int_equal(bed_sync(&b), 2);
	assert_string_equal(b.notes, "+web +cache ");
	assert_int_equal(controller_start(&b.ctl), 0);

	/* web carries 4 times cache's load */
	for (; k < 20; k++) {
		nic_set_qps(&b.m, &b.m.vm[0], 160000);
		nic_set_qps(&b.m, &b.m.vm[1], 40000);
		model_run_until(&b.m, (sim_ns)(k + 1) * 100 * MS);
		assert_int_equal(controller_step(&b.ctl), 0);
		uint64_t all = 0;
		for (int i = 0; i < 2; i++) {
			const struct simplat_wl *w = &b.plat.wl[i];
			assert_true(__builtin_popcountll(w->vcpu_mask) >= 1);
			assert_true(__builtin_popcountll(w->nq_mask) >= 1);
			assert_true((w->vcpu_mask & w->nq_mask) == 0);
			assert_true((all & (w->vcpu_mask | w->nq_mask)) == 0); /* disjoint */
			all |= w->vcpu_mask | w->nq_mask;
		}
	}
	for (int i = 0; i < 2; i++) {
		const struct simplat_wl *w = &b.plat.wl[i];
		print_message(
			"# %s: %d + %d cores, U_v %.2f U_n %.2f, p95 %.1f us, %.0f replies/s\n",
			w->name, w->alloc.n_vcpu, w->alloc.n_nq, w->per.busy_vcpu, w->per.busy_nq,
			w->per.p95_us, (double)w->per.d.completions / w->per.period_s);
		assert_true(w->per.has_p95 && w->per.p95_us < 1000);
		assert_string_equal(b.ctl.wl[i].name, w->name);
		assert_true(b.ctl.wl[i].last.busy_vcpu == w->per.busy_vcpu);
	}
	/* each sample is its own VM's: replies at its own offered rate */
	assert_true(b.plat.wl[0].per.d.completions > 3 * b.plat.wl[1].per.d.completions);
	assert_true(b.plat.wl[0].alloc.n_vcpu + b.plat.wl[0].alloc.n_nq >
		    b.plat.wl[1].alloc.n_vcpu + b.plat.wl[1].alloc.n_nq);

	/* cache vanishes: web alone, with all 12 cores under vspace-e's rules */
	assert_int_equal(simplat_remove_workload(&b.plat, "cache"), 0);
	assert_int_equal(b.plat.base.ops->refresh(&b.plat.base, 0, &d), 0);
	assert_int_equal(d.n_vanished, 1);
	assert_int_equal(controller_reconcile(&b.ctl, &d, NULL, NULL), 0); /* none added */
	assert_int_equal(b.ctl.n_wl, 1);
	assert_string_equal(b.ctl.wl[0].name, "web");
	for (int j = 0; j < 5; j++, k++) {
		nic_set_qps(&b.m, &b.m.vm[0], 160000);
		nic_set_qps(&b.m, &b.m.vm[1], 0);
		model_run_until(&b.m, (sim_ns)(k + 1) * 100 * MS);
		assert_int_equal(controller_step(&b.ctl), 0);
	}
	assert_true(b.plat.wl[0].per.has_p95);
	bed_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reconcile_path),
		cmocka_unit_test(test_apply_unknown_name),
		cmocka_unit_test(test_two_workloads),
	};
	return VS_RUN_TESTS(tests);
}
