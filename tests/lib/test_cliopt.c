/* test_cliopt.c - the option errors name the option the user typed, whatever its form. */
#include <getopt.h>
#include <string.h>

#include "lib/cliopt.h"
#include "testutil.h"

/* Run getopt_long over argv until it reports an error; return the message. */
static const char *cliopt_run(int argc, char **argv, const char *optstring, char *buf, size_t len)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "qps", required_argument, NULL, 256 },
		{ "json", no_argument, NULL, 257 },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	buf[0] = '\0';
	optind = 0; /* glibc: start over, also inside a cluster */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, optstring, longopts, NULL)) != -1)
		if (ch == '?' || ch == ':') {
			cliopt_message(buf, len, "prog", ch, argv, optind, optopt);
			break;
		}
	return buf;
}

#define RUN(...)                                                                                   \
	cliopt_run((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)),                      \
		   (char *[]){ __VA_ARGS__, NULL }, ":c:nv", buf, sizeof(buf))

static void test_unknown(void **state)
{
	char buf[256];

	assert_string_equal(RUN("prog", "--bogus"),
			    "prog: unknown option \"--bogus\" (see prog --help)");
	assert_string_equal(RUN("prog", "--bogus=3", "-n"),
			    "prog: unknown option \"--bogus\" (see prog --help)");
	assert_string_equal(RUN("prog", "-x"), "prog: unknown option \"-x\" (see prog --help)");
	/* inside a cluster, after an option with a value: not the previous word */
	assert_string_equal(RUN("prog", "-c", "f", "-nx"),
			    "prog: unknown option \"-x\" (see prog --help)");
	assert_string_equal(RUN("prog", "--json", "-xn"),
			    "prog: unknown option \"-x\" (see prog --help)");
}

static void test_missing_value(void **state)
{
	char buf[256];

	assert_string_equal(RUN("prog", "--qps"), "prog: --qps needs a value (see prog --help)");
	assert_string_equal(RUN("prog", "-n", "--config"),
			    "prog: --config needs a value (see prog --help)");
	assert_string_equal(RUN("prog", "-c"), "prog: -c needs a value (see prog --help)");
	assert_string_equal(RUN("prog", "-nc"), "prog: -c needs a value (see prog --help)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_missing_value),
	};
	return VS_RUN_TESTS(tests);
}
