/* test_haltpoll.c - the halt-poll accounting shared by the platforms: counter deltas, resets, the clamped correction of U_v. */
#include <math.h>
#include <string.h>

#include "platform/haltpoll.h"
#include "testutil.h"

static void test_mode_names(void **state)
{
	assert_int_equal(haltpoll_mode_parse("auto"), VS_HALTPOLL_AUTO);
	assert_int_equal(haltpoll_mode_parse("off"), VS_HALTPOLL_OFF);
	assert_int_equal(haltpoll_mode_parse("on"), -1);
	assert_int_equal(haltpoll_mode_parse(""), -1);
	assert_int_equal(haltpoll_mode_parse("Auto"), -1);
	assert_string_equal(haltpoll_mode_name(VS_HALTPOLL_AUTO), "auto");
	assert_string_equal(haltpoll_mode_name(VS_HALTPOLL_OFF), "off");
	assert_string_equal(haltpoll_mode_name((enum vs_haltpoll_mode)7), "?");
}

/* The first reading is a baseline; later ones give deltas; a counter that
 * goes down (VM restarted, stats cleared) starts a new baseline and gives no
 * delta for that period. */
static void test_counter_deltas(void **state)
{
	struct vs_haltpoll_counter c = { 0 };
	uint64_t d = 99;

	assert_int_equal(haltpoll_counter_update(&c, 1000, &d), VS_HALTPOLL_FIRST);
	assert_int_equal(d, 0);
	assert_int_equal(haltpoll_counter_update(&c, 251000, &d), VS_HALTPOLL_DELTA);
	assert_int_equal(d, 250000);
	assert_int_equal(haltpoll_counter_update(&c, 251000, &d), VS_HALTPOLL_DELTA);
	assert_int_equal(d, 0); /* an idle period: nothing polled */
	assert_int_equal(haltpoll_counter_update(&c, 500, &d), VS_HALTPOLL_WENT_DOWN);
	assert_int_equal(d, 0);
	assert_int_equal(haltpoll_counter_update(&c, 1500, &d), VS_HALTPOLL_DELTA);
	assert_int_equal(d, 1000); /* counted from the new baseline */
	/* near the top of the range: still a plain difference */
	assert_int_equal(haltpoll_counter_update(&c, UINT64_MAX - 10, &d), VS_HALTPOLL_DELTA);
	assert_int_equal(haltpoll_counter_update(&c, UINT64_MAX, &d), VS_HALTPOLL_DELTA);
	assert_int_equal(d, 10);
	haltpoll_counter_reset(&c);
	assert_int_equal(haltpoll_counter_update(&c, 7, &d), VS_HALTPOLL_FIRST);
	assert_int_equal(d, 0);
}

static void test_cores(void **state)
{
	/* 250 ms of polling in a 100 ms period: 2.5 vCPUs spun the whole time */
	assert_true(fabs(haltpoll_cores(250000000, 0.1) - 2.5) < 1e-12);
	assert_true(haltpoll_cores(0, 0.1) == 0);
	assert_true(haltpoll_cores(1000, 0) == 0);
	assert_true(haltpoll_cores(1000, -1) == 0);
	assert_true(haltpoll_cores(1000, NAN) == 0);
}

static void test_correct_clamps(void **state)
{
	struct vs_sample s = { .busy_vcpu = 7.5, .busy_nq = 2.0, .busy_vcpu_threads = 7.0 };

	/* the ordinary case */
	assert_true(fabs(haltpoll_correct(&s, 5.25) - 5.25) < 1e-12);
	assert_true(s.has_halt_poll);
	assert_true(fabs(s.busy_vcpu - 2.25) < 1e-12);
	assert_true(fabs(s.busy_vcpu_raw - 7.5) < 1e-12);
	assert_true(fabs(s.halt_poll_vcpu - 5.25) < 1e-12);
	/* U_n and the threads' time are not touched */
	assert_true(s.busy_nq == 2.0 && s.busy_vcpu_threads == 7.0);

	/* more polling than busy time (a poll counted at the end of a period
	 * that mostly ran in the one before): never below 0 */
	s = (struct vs_sample){ .busy_vcpu = 1.2 };
	assert_true(fabs(haltpoll_correct(&s, 3.0) - 1.2) < 1e-12);
	assert_true(s.busy_vcpu == 0);
	assert_true(fabs(s.halt_poll_vcpu - 1.2) < 1e-12);
	assert_true(fabs(s.busy_vcpu_raw - 1.2) < 1e-12);

	/* nothing or nonsense to subtract */
	s = (struct vs_sample){ .busy_vcpu = 1.2 };
	assert_true(haltpoll_correct(&s, 0) == 0);
	assert_true(s.busy_vcpu == 1.2 && s.has_halt_poll && s.halt_poll_vcpu == 0);
	s = (struct vs_sample){ .busy_vcpu = 1.2 };
	assert_true(haltpoll_correct(&s, -0.5) == 0 && s.busy_vcpu == 1.2);
	s = (struct vs_sample){ .busy_vcpu = 1.2 };
	assert_true(haltpoll_correct(&s, NAN) == 0 && s.busy_vcpu == 1.2);
	/* a group with no busy time at all */
	s = (struct vs_sample){ 0 };
	assert_true(haltpoll_correct(&s, 0.4) == 0 && s.busy_vcpu == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_names),
		cmocka_unit_test(test_counter_deltas),
		cmocka_unit_test(test_cores),
		cmocka_unit_test(test_correct_clamps),
	};
	return VS_RUN_TESTS(tests);
}
