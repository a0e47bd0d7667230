/* test_engine.c - the event engine: ordering against a reference, RNG, rings, and an M/M/1 queue
 * that must match queueing theory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/engine.h"
#include "sim/ring.h"
#include "sim/rng.h"
#include "testutil.h"

/* Random arm/move/cancel operations; every pop must return the armed slot
 * with the smallest (time, arming order), checked against a linear scan. */
static void test_heap_matches_reference(void **state)
{
	enum { SLOTS = 40, OPS = 20000 };
	struct sim_engine e;
	sim_ns at[SLOTS];
	uint64_t order[SLOTS], next_order = 0, rs = 12345;
	bool armed[SLOTS] = { false };

	assert_int_equal(engine_init(&e, SLOTS), 0);
	for (int op = 0; op < OPS; op++) {
		int slot = (int)(vs_test_rand(&rs) % SLOTS);
		uint64_t r = vs_test_rand(&rs) % 10;

		if (r < 5) {
			/* coarse times so that ties happen often */
			sim_ns t = e.now + (sim_ns)(vs_test_rand(&rs) % 50) * 10;
			engine_at(&e, slot, t);
			at[slot] = t;
			order[slot] = next_order++;
			armed[slot] = true;
		} else if (r < 7) {
			engine_cancel(&e, slot);
			armed[slot] = false;
		} else {
			int best = -1;
			for (int i = 0; i < SLOTS; i++)
				if (armed[i] && (best < 0 || at[i] < at[best] ||
						 (at[i] == at[best] && order[i] < order[best])))
					best = i;
			/* an empty heap moves now to the limit: keep it far but finite */
			int got = engine_pop(&e, e.now + 1000000);
			assert_int_equal(got, best);
			if (best >= 0) {
				assert_int_equal(e.now, at[best]);
				armed[best] = false;
			}
		}
		for (int i = 0; i < SLOTS; i++)
			assert_int_equal(engine_armed(&e, i), armed[i]);
	}
	engine_free(&e);
}

static void test_pop_respects_limit(void **state)
{
	struct sim_engine e;

	assert_int_equal(engine_init(&e, 2), 0);
	engine_at(&e, 0, 100);
	assert_int_equal(engine_pop(&e, 99), -1);
	assert_int_equal(e.now, 99);
	assert_int_equal(engine_pop(&e, 100), 0);
	assert_int_equal(e.now, 100);
	/* arming in the past fires now */
	engine_at(&e, 1, 50);
	assert_int_equal(engine_when(&e, 1), 100);
	engine_free(&e);
}

static void test_rng_streams(void **state)
{
	struct sim_rng a, b, c;
	double sum = 0;
	int counts[10] = { 0 };

	rng_seed(&a, 7, 1);
	rng_seed(&b, 7, 1);
	rng_seed(&c, 7, 2);
	for (int i = 0; i < 1000; i++) {
		uint64_t x = rng_next(&a);
		assert_true(x == rng_next(&b));
		assert_true(x != rng_next(&c)); /* another stream: not the same sequence */
	}
	rng_seed(&a, 1, 1);
	for (int i = 0; i < 200000; i++)
		sum += rng_exp(&a, 10.0);
	assert_true(fabs(sum / 200000 - 10.0) < 0.1);
	for (int i = 0; i < 100000; i++) {
		double u = rng_unit(&a);
		assert_true(u > 0 && u < 1);
		counts[rng_below(&a, 10)]++;
	}
	for (int i = 0; i < 10; i++)
		assert_true(counts[i] > 9700 && counts[i] < 10300);
}

static void test_rings(void **state)
{
	struct sim_ring f, g;

	assert_int_equal(ring_init(&f, 3), 0);
	assert_int_equal(ring_push(&f, 1), 0);
	assert_int_equal(ring_push(&f, 2), 0);
	assert_int_equal(ring_push(&f, 3), 0);
	assert_true(ring_full(&f));
	assert_int_equal(ring_push(&f, 4), -1);
	assert_int_equal(ring_pop(&f), 1);
	assert_int_equal(ring_push(&f, 4), 0);
	assert_int_equal(ring_pop(&f), 2);
	assert_int_equal(ring_pop(&f), 3);
	assert_int_equal(ring_pop(&f), 4);
	assert_int_equal(f.count, 0);
	ring_free(&f);

	assert_int_equal(ring_init(&g, 0), 0);
	for (uint32_t i = 0; i < 1000; i++) {
		assert_int_equal(ring_push(&g, i), 0);
		if (i % 3 == 0)
			assert_int_equal(ring_pop(&g), i / 3); /* FIFO order */
	}
	assert_false(ring_full(&g));
	ring_free(&g);
}

/*
 * An M/M/1 queue built on the engine: Poisson arrivals (rate lambda), one
 * exponential server (rate mu), FIFO. Queueing theory: mean wait in queue
 * Wq = rho / (mu - lambda), rho = lambda / mu. With mean service 10 us and
 * rho = 0.5, Wq = 10 us. Two million customers bring the sample mean within
 * 2 % (its standard error is ~0.7 % here).
 */
static void test_mm1_mean_wait(void **state)
{
	enum { ARRIVAL = 0, DEPARTURE = 1 };
	const double mean_service_ns = 10000, rho = 0.5;
	const double mean_gap_ns = mean_service_ns / rho;
	const long customers = 2000000;
	struct sim_engine e;
	struct sim_rng ra, rs;
	struct sim_ring q; /* arrival times are kept as offsets: store indices */
	sim_ns *arrived = malloc(sizeof(*arrived) * (size_t)customers);
	long n_arrived = 0, n_served = 0;
	double wait_sum = 0, expect = rho / (1.0 / mean_service_ns - 1.0 / mean_gap_ns);
	bool busy = false;

	assert_non_null(arrived);
	assert_int_equal(engine_init(&e, 2), 0);
	assert_int_equal(ring_init(&q, 0), 0);
	rng_seed(&ra, 42, 1);
	rng_seed(&rs, 42, 2);
	engine_at(&e, ARRIVAL, (sim_ns)llround(rng_exp(&ra, mean_gap_ns)));
	while (n_served < customers) {
		int slot = engine_pop(&e, INT64_MAX);

		if (slot == ARRIVAL) {
			arrived[n_arrived] = e.now;
			assert_int_equal(ring_push(&q, (uint32_t)n_arrived), 0);
			n_arrived++;
			if (n_arrived < customers)
				engine_at(&e, ARRIVAL,
					  e.now + (sim_ns)llround(rng_exp(&ra, mean_gap_ns)));
		} else {
			busy = false;
			n_served++;
		}
		if (!busy && q.count > 0) {
			uint32_t k = ring_pop(&q);
			wait_sum += (double)(e.now - arrived[k]);
			busy = true;
			engine_at(&e, DEPARTURE,
				  e.now + (sim_ns)llround(rng_exp(&rs, mean_service_ns)));
		}
	}
	double wq = wait_sum / (double)customers;
	print_message("# M/M/1 rho %.2f: mean wait %.1f ns, theory %.1f ns (%.2f %%)\n", rho, wq,
		      expect, 100 * (wq - expect) / expect);
	assert_true(fabs(wq - expect) / expect < 0.02);
	ring_free(&q);
	engine_free(&e);
	free(arrived);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_matches_reference),
		cmocka_unit_test(test_pop_respects_limit),
		cmocka_unit_test(test_rng_streams),
		cmocka_unit_test(test_rings),
		cmocka_unit_test(test_mm1_mean_wait),
	};
	return VS_RUN_TESTS(tests);
}
