/* testutil.h - cmocka set-up shared by the unit tests (TAP output, small helpers). */
#ifndef VS_TESTS_TESTUTIL_H
#define VS_TESTS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Run a group of tests with TAP output (read by tests/run-tests). */
#define VS_RUN_TESTS(tests)                                                                        \
	(cmocka_set_message_output(CM_OUTPUT_TAP), cmocka_run_group_tests(tests, NULL, NULL))

/* Deterministic pseudo-random numbers for property tests (xorshift64*). */
static inline uint64_t vs_test_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(2685821657736338717);
}

/* Uniform real in [0, 1). */
static inline double vs_test_unit(uint64_t *state)
{
	return (double)(vs_test_rand(state) >> 11) / (double)(UINT64_C(1) << 53);
}

#endif
