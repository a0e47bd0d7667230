/* test_cpuset.c - cpulist/mask parsing and formatting, set operations. */
#include <stdio.h>
#include <string.h>

#include "lib/cpuset.h"
#include "testutil.h"

static void test_list_roundtrip(void **state)
{
	struct vs_cpuset s;
	char err[128], buf[256];

	assert_int_equal(cpuset_parse_list(&s, "0-3,8,10-11\n", err, sizeof(err)), 0);
	assert_int_equal(cpuset_count(&s), 7);
	assert_true(cpuset_test(&s, 8));
	assert_false(cpuset_test(&s, 9));
	cpuset_format_list(&s, buf, sizeof(buf));
	assert_string_equal(buf, "0-3,8,10-11");
	assert_int_equal(cpuset_parse_list(&s, "", err, sizeof(err)), 0);
	assert_true(cpuset_empty(&s));
	cpuset_format_list(&s, buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_int_equal(cpuset_parse_list(&s, "1023", err, sizeof(err)), 0);
	assert_int_equal(cpuset_last(&s), 1023);
}

static void test_list_errors(void **state)
{
	static const char *const bad[] = { "a",	   "1-",      "-1",  "3-1", "1,,2",
					   "1024", "0-99999", "1 2", "1;2", "0x1" };
	struct vs_cpuset s;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(cpuset_parse_list(&s, bad[i], err, sizeof(err)), -1);
		assert_non_null(strstr(err, bad[i]));
		assert_true(cpuset_empty(&s));
	}
}

static void test_mask(void **state)
{
	struct vs_cpuset s;
	char err[128], buf[256];

	assert_int_equal(cpuset_parse_mask(&s, "00000000,0000000f\n", err, sizeof(err)), 0);
	assert_int_equal(cpuset_count(&s), 4);
	assert_int_equal(cpuset_parse_mask(&s, "1,00000001", err, sizeof(err)), 0);
	assert_true(cpuset_test(&s, 0));
	assert_true(cpuset_test(&s, 32));
	assert_int_equal(cpuset_count(&s), 2);
	cpuset_format_mask(&s, 40, buf, sizeof(buf));
	assert_string_equal(buf, "00000001,00000001");
	cpuset_format_mask(&s, 2, buf, sizeof(buf));
	assert_string_equal(buf, "00000001");
	assert_int_equal(cpuset_parse_mask(&s, "0xff", err, sizeof(err)), 0);
	assert_int_equal(cpuset_count(&s), 8);
	assert_int_equal(cpuset_parse_mask(&s, "zz", err, sizeof(err)), -1);
	assert_int_equal(cpuset_parse_mask(&s, "", err, sizeof(err)), -1);
}

static void test_ops(void **state)
{
	struct vs_cpuset a, b, c;
	char err[64];
	int n = 0;

	cpuset_parse_list(&a, "0-9", err, sizeof(err));
	cpuset_parse_list(&b, "5-14", err, sizeof(err));
	cpuset_and(&c, &a, &b);
	assert_int_equal(cpuset_count(&c), 5);
	cpuset_or(&c, &a, &b);
	assert_int_equal(cpuset_count(&c), 15);
	cpuset_andnot(&c, &a, &b);
	assert_int_equal(cpuset_count(&c), 5);
	assert_true(cpuset_intersects(&a, &b));
	assert_false(cpuset_intersects(&c, &b));
	for (int cpu = cpuset_next(&b, 0); cpu >= 0; cpu = cpuset_next(&b, cpu + 1))
		n++;
	assert_int_equal(n, 10);
	cpuset_zero(&a);
	cpuset_set(&a, 64);
	cpuset_set(&a, 63);
	assert_int_equal(cpuset_next(&a, 0), 63);
	assert_int_equal(cpuset_next(&a, 64), 64);
	assert_int_equal(cpuset_next(&a, 65), -1);
	assert_false(cpuset_equal(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_roundtrip),
		cmocka_unit_test(test_list_errors),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_ops),
	};
	return VS_RUN_TESTS(tests);
}
