/* test_strutil.c - strict number parsing and splitting. */
#include <string.h>

#include "lib/strutil.h"
#include "testutil.h"

static void test_long(void **state)
{
	long v;

	assert_int_equal(str_to_long(" 42\n", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(str_to_long("101", 0, 100, &v), -1);
	assert_int_equal(str_to_long("4x", 0, 100, &v), -1);
	assert_int_equal(str_to_long("", 0, 100, &v), -1);
	assert_int_equal(str_to_long("-1", 0, 100, &v), -1);
	assert_int_equal(str_to_long("99999999999999999999999", 0, 100, &v), -1);
}

static void test_double(void **state)
{
	double v;

	assert_int_equal(str_to_double("7.3", 0, 10, &v), 0);
	assert_true(v == 7.3);
	assert_int_equal(str_to_double("nan", 0, 10, &v), -1);
	assert_int_equal(str_to_double("inf", 0, 1e300, &v), -1);
	assert_int_equal(str_to_double("1e400", 0, 1e300, &v), -1);
	assert_int_equal(str_to_double("1.5.2", 0, 10, &v), -1);
	assert_int_equal(str_to_double("-0.1", 0, 10, &v), -1);
}

static void test_split(void **state)
{
	char line[] = "a,b,,c";
	char *f[4];

	assert_int_equal(str_split(line, ',', f, 4), 4);
	assert_string_equal(f[2], "");
	assert_string_equal(f[3], "c");
	char line2[] = "a,b,c";
	assert_int_equal(str_split(line2, ',', f, 2), -1);
	char t[] = "  x y \r\n";
	assert_string_equal(str_trim(t), "x y");
}

static void test_appendf(void **state)
{
	char buf[8];
	size_t n = 0;

	str_appendf(buf, sizeof(buf), &n, "%s", "abc");
	str_appendf(buf, sizeof(buf), &n, "%d", 12);
	assert_string_equal(buf, "abc12");
	assert_int_equal(n, 5);
	/* past the end: cut, NUL-terminated, n counts what was needed */
	str_appendf(buf, sizeof(buf), &n, "%s", "xyzw");
	assert_string_equal(buf, "abc12xy");
	assert_int_equal(n, 9);
	str_appendf(buf, sizeof(buf), &n, "%s", "more");
	assert_string_equal(buf, "abc12xy");
	assert_int_equal(n, 13);
}

static void test_csv_header(void **state)
{
	static const char *const names[3] = { "a", "b", "c" };
	char line[64], err[128];
	int col_of[3], seen[3];

	/* any order, blanks around names; seen[] tells the caller what is missing */
	strcpy(line, " c ,a");
	memset(seen, 0, sizeof(seen));
	assert_int_equal(str_csv_header(line, names, 3, "a,b,c", col_of, seen, err, sizeof(err)),
			 2);
	assert_int_equal(col_of[0], 2);
	assert_int_equal(col_of[1], 0);
	assert_int_equal(seen[0] + seen[1] * 10 + seen[2] * 100, 101);

	strcpy(line, "a,x");
	memset(seen, 0, sizeof(seen));
	assert_int_equal(str_csv_header(line, names, 3, "a,b,c", col_of, seen, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "unknown column \"x\" in the header (expected a,b,c)");

	strcpy(line, "b,a,b");
	memset(seen, 0, sizeof(seen));
	assert_int_equal(str_csv_header(line, names, 3, "a,b,c", col_of, seen, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "column \"b\" appears twice");

	strcpy(line, "a,b,c,a");
	memset(seen, 0, sizeof(seen));
	assert_int_equal(str_csv_header(line, names, 3, "a,b,c", col_of, seen, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "header has more than 3 columns");
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long),	   cmocka_unit_test(test_double),
		cmocka_unit_test(test_split),	   cmocka_unit_test(test_appendf),
		cmocka_unit_test(test_csv_header),
	};
	return VS_RUN_TESTS(tests);
}
