/* test_placer.c - counts to core sets: stable boundary moves, reserved cores, SMT, NUMA. */
#include <stdlib.h>
#include <string.h>

#include "control/placer.h"
#include "testutil.h"

struct fixture {
	struct vs_topology topo;
	struct vs_wl_plan prev_wl[4], next_wl[4];
	struct vs_plan prev, next;
};

static void fx_init(struct fixture *f, int n_cpus)
{
	memset(f, 0, sizeof(*f));
	topology_init_flat(&f->topo, n_cpus);
	f->prev.wl = f->prev_wl;
	f->next.wl = f->next_wl;
}

static struct vs_alloc iso(int v, int n, int be)
{
	return (struct vs_alloc){ .layout = VS_LAYOUT_ISOLATED,
				  .n_vcpu = v,
				  .n_nq = n,
				  .n_be = be,
				  .vcpus = v,
				  .queues = n };
}

/* Place alloc[0..n) starting from f->prev; the result becomes f->prev. */
static void place(struct fixture *f, const struct vs_alloc *a, int n)
{
	char err[128];
	assert_int_equal(placer_place(&f->topo, &f->prev, a, n, &f->next, err, sizeof(err)), 0);
	memcpy(f->prev_wl, f->next_wl, sizeof(f->prev_wl));
	f->prev.n_workloads = f->next.n_workloads;
	f->prev.be_cores = f->next.be_cores;
	f->prev.idle_cores = f->next.idle_cores;
	f->prev.be_paused = f->next.be_paused;
}

static void assert_set(const struct vs_cpuset *s, const char *list)
{
	char buf[256];
	cpuset_format_list(s, buf, sizeof(buf));
	assert_string_equal(buf, list);
}

/* Cores whose owner (group) differs between two plans of one workload. */
static int moved(const struct vs_wl_plan *a, const struct vs_cpuset *abe,
		 const struct vs_wl_plan *b, const struct vs_cpuset *bbe)
{
	int n = 0;
	for (int c = 0; c < VS_MAX_CPUS; c++) {
		int oa = cpuset_test(&a->vcpu_cores, c) ? 1
			 : cpuset_test(&a->nq_cores, c) ? 2
			 : cpuset_test(abe, c)		? 3
							: 0;
		int ob = cpuset_test(&b->vcpu_cores, c) ? 1
			 : cpuset_test(&b->nq_cores, c) ? 2
			 : cpuset_test(bbe, c)		? 3
							: 0;
		n += oa != ob;
	}
	return n;
}

static void test_initial_flat(void **state)
{
	struct fixture f;
	fx_init(&f, 20);
	struct vs_alloc a = iso(10, 10, 0);
	place(&f, &a, 1);
	/* NQ from the low end, vCPU from the high end */
	assert_set(&f.prev_wl[0].nq_cores, "0-9");
	assert_set(&f.prev_wl[0].vcpu_cores, "10-19");
	assert_true(cpuset_empty(&f.prev.idle_cores));
}

static void test_grow_by_one_moves_one(void **state)
{
	struct fixture f;
	struct vs_wl_plan before;
	struct vs_cpuset be_before;

	fx_init(&f, 20);
	struct vs_alloc a = iso(10, 3, 0);
	place(&f, &a, 1);
	assert_set(&f.prev_wl[0].nq_cores, "0-2");
	assert_set(&f.prev_wl[0].vcpu_cores, "10-19");
	assert_set(&f.prev.idle_cores, "3-9");
	/* E: the vCPU group grows by one from the idle cores: one core moves */
	before = f.prev_wl[0];
	be_before = f.prev.be_cores;
	a = iso(11, 3, 0);
	place(&f, &a, 1);
	assert_int_equal(moved(&before, &be_before, &f.prev_wl[0], &f.prev.be_cores), 1);
	assert_set(&f.prev_wl[0].vcpu_cores, "9-19");
	/* P: 16 + 4 -> 15 + 5 moves exactly the boundary core */
	fx_init(&f, 20);
	a = iso(16, 4, 0);
	place(&f, &a, 1);
	before = f.prev_wl[0];
	a = iso(15, 5, 0);
	place(&f, &a, 1);
	assert_int_equal(moved(&before, &be_before, &f.prev_wl[0], &f.prev.be_cores), 1);
	assert_set(&f.prev_wl[0].nq_cores, "0-4");
	assert_set(&f.prev_wl[0].vcpu_cores, "5-19");
}

static void test_random_single_steps(void **state)
{
	uint64_t rng = 42;

	/* from random states: a group growing by one from idle cores, or (all cores
	 * in use) one core changing sides, moves exactly one core */
	for (int iter = 0; iter < 500; iter++) {
		struct fixture f;
		int T = 2 + (int)(vs_test_rand(&rng) % 63);
		int v = 1 + (int)(vs_test_rand(&rng) % (unsigned)(T - 1));
		int n = 1 + (int)(vs_test_rand(&rng) % (unsigned)(T - v));
		if (iter % 2 == 0)
			n = T - v; /* P: every core in use */
		struct vs_wl_plan before;
		struct vs_cpuset be_before;
		fx_init(&f, T);
		if (iter % 3 == 0) { /* SMT pairs (c, c + T/2) */
			for (int c = 0; c < T; c++)
				f.topo.core_of[c] = c % (T / 2 > 0 ? T / 2 : 1);
			topology_finalize(&f.topo);
		}
		struct vs_alloc a = iso(v, n, 0);
		place(&f, &a, 1);
		before = f.prev_wl[0];
		be_before = f.prev.be_cores;
		int kind = (int)(vs_test_rand(&rng) % 4);
		if (kind == 0 && v + n < T)
			a = iso(v + 1, n, 0);
		else if (kind == 1 && v + n < T)
			a = iso(v, n + 1, 0);
		else if (kind == 2 && v > 1 && v + n == T)
			a = iso(v - 1, n + 1, 0);
		else if (kind == 3 && n > 1 && v + n == T)
			a = iso(v + 1, n - 1, 0);
		else
			continue;
		place(&f, &a, 1);
		assert_int_equal(moved(&before, &be_before, &f.prev_wl[0], &f.prev.be_cores), 1);
	}
}

static void test_reserved_never_used(void **state)
{
	struct fixture f;
	struct vs_cpuset m;
	char err[64];

	fx_init(&f, 8);
	cpuset_parse_list(&m, "1-3,5-7", err, sizeof(err)); /* 0 and 4 reserved */
	topology_set_managed(&f.topo, &m);
	struct vs_alloc a = iso(3, 2, 1);
	place(&f, &a, 1);
	assert_false(cpuset_test(&f.prev_wl[0].vcpu_cores, 0));
	assert_false(cpuset_test(&f.prev_wl[0].nq_cores, 4));
	assert_set(&f.prev_wl[0].nq_cores, "1-2");
	assert_set(&f.prev_wl[0].vcpu_cores, "5-7");
	assert_set(&f.prev.be_cores, "3");
	a = iso(4, 3, 0); /* 7 > 6 managed */
	assert_int_equal(placer_place(&f.topo, &f.prev, &a, 1, &f.next, err, sizeof(err)), -1);
}

static void test_smt_siblings_together(void **state)
{
	struct fixture f;

	/* 8 cpus, siblings (c, c+4) as Linux numbers them */
	fx_init(&f, 8);
	for (int c = 0; c < 8; c++)
		f.topo.core_of[c] = c % 4;
	topology_finalize(&f.topo);
	struct vs_alloc a = iso(6, 2, 0);
	place(&f, &a, 1);
	assert_set(&f.prev_wl[0].nq_cores, "0,4");
	assert_set(&f.prev_wl[0].vcpu_cores, "1-3,5-7");
	/* growing NQ by two takes a whole pair from the vCPU group */
	a = iso(4, 4, 0);
	place(&f, &a, 1);
	for (int c = 0; c < 4; c++)
		assert_int_equal(cpuset_test(&f.prev_wl[0].nq_cores, c),
				 cpuset_test(&f.prev_wl[0].nq_cores, c + 4));
}

static void test_numa_nic_node(void **state)
{
	struct fixture f;

	fx_init(&f, 16);
	for (int c = 8; c < 16; c++)
		f.topo.node_of[c] = 1;
	f.topo.nic_node = 1;
	topology_finalize(&f.topo);
	struct vs_alloc a = iso(4, 4, 0);
	place(&f, &a, 1);
	/* NQ on the NIC's node; the vCPU group follows its NQ group's node */
	assert_set(&f.prev_wl[0].nq_cores, "8-11");
	assert_set(&f.prev_wl[0].vcpu_cores, "12-15");
	a = iso(8, 4, 0);
	place(&f, &a, 1);
	assert_set(&f.prev_wl[0].vcpu_cores, "4-7,12-15");
}

static void test_shared_layouts(void **state)
{
	struct fixture f;

	fx_init(&f, 20);
	struct vs_alloc a = { .layout = VS_LAYOUT_SHARED, .n_vcpu = 5, .n_nq = 5, .n_be = 15 };
	place(&f, &a, 1);
	assert_true(cpuset_equal(&f.prev_wl[0].vcpu_cores, &f.prev_wl[0].nq_cores));
	assert_int_equal(cpuset_count(&f.prev_wl[0].vcpu_cores), 5);
	assert_int_equal(cpuset_count(&f.prev.be_cores), 15);
	assert_false(cpuset_intersects(&f.prev.be_cores, &f.prev_wl[0].vcpu_cores));
	a = (struct vs_alloc){ .layout = VS_LAYOUT_SHARED_ALL, .n_vcpu = 20, .n_nq = 20 };
	place(&f, &a, 1);
	assert_set(&f.prev_wl[0].vcpu_cores, "0-19");
	assert_set(&f.prev_wl[0].nq_cores, "0-19");
	/* and back to isolated: groups are disjoint again */
	a = iso(12, 8, 0);
	place(&f, &a, 1);
	assert_false(cpuset_intersects(&f.prev_wl[0].vcpu_cores, &f.prev_wl[0].nq_cores));
	assert_int_equal(cpuset_count(&f.prev_wl[0].vcpu_cores), 12);
}

static void test_two_workloads(void **state)
{
	struct fixture f;
	struct vs_cpuset all;

	fx_init(&f, 16);
	struct vs_alloc a[2] = { iso(4, 2, 3), iso(5, 2, 3) };
	place(&f, a, 2);
	cpuset_zero(&all);
	for (int i = 0; i < 2; i++) {
		assert_false(cpuset_intersects(&all, &f.prev_wl[i].vcpu_cores));
		cpuset_or(&all, &all, &f.prev_wl[i].vcpu_cores);
		assert_false(cpuset_intersects(&all, &f.prev_wl[i].nq_cores));
		cpuset_or(&all, &all, &f.prev_wl[i].nq_cores);
	}
	assert_false(cpuset_intersects(&all, &f.prev.be_cores));
	assert_int_equal(cpuset_count(&all), 13);
	assert_int_equal(cpuset_count(&f.prev.be_cores), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_flat),
		cmocka_unit_test(test_grow_by_one_moves_one),
		cmocka_unit_test(test_random_single_steps),
		cmocka_unit_test(test_reserved_never_used),
		cmocka_unit_test(test_smt_siblings_together),
		cmocka_unit_test(test_numa_nic_node),
		cmocka_unit_test(test_shared_layouts),
		cmocka_unit_test(test_two_workloads),
	};
	return VS_RUN_TESTS(tests);
}
