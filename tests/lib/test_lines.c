/* test_lines.c - the line reader: comments and blanks skipped but counted, the length limit, NUL bytes, read errors. */
#include <stdio.h>
#include <string.h>

#include "lib/lines.h"
#include "testutil.h"

/* A reader over the first n bytes of text (NUL bytes included). */
static FILE *mem(const char *text, size_t n)
{
	FILE *f = fmemopen((void *)text, n, "r");

	assert_non_null(f);
	return f;
}

static void test_lines_skip_and_count(void **state)
{
	static const char in[] = "# comment\n\n  a,b \r\n\t\n1,2\n  # indented comment\nlast";
	char buf[32], err[128], *t;
	struct vs_lines l;
	FILE *f = mem(in, sizeof(in) - 1);

	lines_init(&l, f, "in.csv", buf, sizeof(buf));
	assert_int_equal(lines_next(&l, &t, err, sizeof(err)), 1);
	assert_string_equal(t, "a,b"); /* blanks and the CR trimmed */
	assert_int_equal(l.lineno, 3);
	assert_int_equal(lines_next(&l, &t, err, sizeof(err)), 1);
	assert_string_equal(t, "1,2");
	assert_int_equal(l.lineno, 5);
	assert_int_equal(lines_next(&l, &t, err, sizeof(err)), 1);
	assert_string_equal(t, "last"); /* no newline at the end */
	assert_int_equal(l.lineno, 7);
	assert_int_equal(lines_next(&l, &t, err, sizeof(err)), 0);
	assert_int_equal(lines_next(&l, &t, err, sizeof(err)), 0);
	fclose(f);
	(void)state;
}

static void test_lines_limit(void **state)
{
	/* buf of 6: lines of up to 5 bytes */
	static const char in[] = "12345\n123456\nnot reached\n";
	char buf[6], err[128], *t;
	struct vs_lines l;
	FILE *f = mem(in, sizeof(in) - 1);

	lines_init(&l, f, "stdin", buf, sizeof(buf));
	assert_int_equal(lines_next(&l, &t, err, sizeof(err)), 1);
	assert_string_equal(t, "12345");
	assert_int_equal(lines_next(&l, &t, err, sizeof(err)), -1);
	assert_string_equal(err, "stdin:2: line longer than 5 bytes");
	fclose(f);
	(void)state;
}

static void test_lines_nul(void **state)
{
	static const char in[] = "a,b\n1,2\0junk\n";
	char buf[64], err[128], *t;
	struct vs_lines l;
	FILE *f = mem(in, sizeof(in) - 1);

	lines_init(&l, f, "x.csv", buf, sizeof(buf));
	assert_int_equal(lines_next(&l, &t, err, sizeof(err)), 1);
	/* not "1,2": the bytes after the NUL would be lost without a word */
	assert_int_equal(lines_next(&l, &t, err, sizeof(err)), -1);
	assert_string_equal(err, "x.csv:2: a NUL byte in the line");
	fclose(f);
	(void)state;
}

static void test_lines_read_error(void **state)
{
	char buf[64], err[128], *t;
	struct vs_lines l;
	FILE *f = fopen("/dev/null", "w"); /* reading a write-only stream fails */

	assert_non_null(f);
	lines_init(&l, f, "out", buf, sizeof(buf));
	assert_int_equal(lines_next(&l, &t, err, sizeof(err)), -1);
	assert_true(strncmp(err, "out: read error: ", 17) == 0);
	fclose(f);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_skip_and_count),
		cmocka_unit_test(test_lines_limit),
		cmocka_unit_test(test_lines_nul),
		cmocka_unit_test(test_lines_read_error),
	};
	return VS_RUN_TESTS(tests);
}
