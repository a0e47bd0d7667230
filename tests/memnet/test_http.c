/* test_http.c - the request head parser (what is accepted, what status refuses what) and byte ranges (RFC 9110 §14). */
#include <string.h>

#include "memnet/http.h"
#include "testutil.h"

static int parse(const char *text, struct memnet_http_req *r)
{
	char why[160];
	return memnet_http_parse(text, strlen(text), r, why, sizeof(why));
}

static void test_requests(void **state)
{
	struct memnet_http_req r;
	const char *get = "GET /vm1/a.bin?x=1 HTTP/1.1\r\nHost: h\r\nRange: bytes=1-2\r\n\r\nNEXT";

	assert_int_equal(parse(get, &r), (int)strlen(get) - 4);
	assert_int_equal(r.method, MEMNET_HTTP_GET);
	assert_string_equal(r.target, "/vm1/a.bin");
	assert_int_equal(r.minor, 1);
	assert_true(r.keep_alive);
	assert_true(r.has_range);
	assert_string_equal(r.range, "bytes=1-2");
	/* incomplete: wait for more */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n", &r), 0);
	/* bare LF, empty lines first, Connection: close */
	assert_true(parse("\r\n\nHEAD /x HTTP/1.1\nhost:h\nConnection: foo, Close\n\n", &r) > 0);
	assert_int_equal(r.method, MEMNET_HTTP_HEAD);
	assert_false(r.keep_alive);
	/* HTTP/1.0: closes unless keep-alive; Host optional */
	assert_true(parse("GET / HTTP/1.0\r\n\r\n", &r) > 0);
	assert_false(r.keep_alive);
	assert_true(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r) > 0);
	assert_true(r.keep_alive);
	assert_true(parse("DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n", &r) > 0);
	assert_int_equal(r.method, MEMNET_HTTP_OTHER);
	assert_true(parse("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", &r) > 0);
	/* two Range fields: ignored */
	assert_true(
		parse("GET /x HTTP/1.1\r\nHost: h\r\nRange: bytes=1-2\r\nRange: bytes=3-4\r\n\r\n",
		      &r) > 0);
	assert_false(r.has_range);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *text;
		int status;
	} cases[] = {
		{ "GET /x HTTP/1.1\r\n\r\n", -400 },			   /* no Host */
		{ "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", -400 }, /* two */
		{ "GET /x HTTP/2.0\r\nHost: a\r\n\r\n", -505 },
		{ "GET /x HTTX/1.1\r\nHost: a\r\n\r\n", -400 },
		{ "GET /x HTTP/1.1 \r\nHost: a\r\n\r\n", -400 },
		{ "GET  /x HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
		{ "GET x HTTP/1.1\r\nHost: a\r\n\r\n", -400 }, /* not a path */
		{ "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
		{ "G(T /x HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
		{ "GET /x HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", -400 },
		{ "GET /x HTTP/1.1\r\nHost : a\r\n\r\n", -400 },
		{ "GET /x HTTP/1.1\r\nHost: a\x01\r\n\r\n", -400 },
		{ "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", -400 },
		{ "GET /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", -501 },
		{ "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
	};
	struct memnet_http_req r;
	char why[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = memnet_http_parse(cases[i].text, strlen(cases[i].text), &r, why,
					   sizeof(why));
		if (rc != cases[i].status)
			fail_msg("case %zu: got %d (%s), want %d", i, rc, why, cases[i].status);
		assert_true(why[0] != '\0');
	}
	/* a target of 513 bytes: 414; a head of 8 KiB without its end: 431 */
	char big[MEMNET_HTTP_HEAD_MAX + 64];
	memset(big, 0, sizeof(big));
	strcpy(big, "GET /");
	memset(big + 5, 'a', 512);
	strcat(big, " HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_int_equal(memnet_http_parse(big, strlen(big), &r, why, sizeof(why)), -414);
	memset(big, 'b', MEMNET_HTTP_HEAD_MAX);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(memnet_http_parse(big, MEMNET_HTTP_HEAD_MAX, &r, why, sizeof(why)), -431);
}

static void test_ranges(void **state)
{
	static const struct {
		const char *v;
		uint64_t len;
		enum memnet_range want;
		uint64_t first, last;
	} cases[] = {
		{ "bytes=0-99", 1000, MEMNET_RANGE_OK, 0, 99 },
		{ "bytes=900-", 1000, MEMNET_RANGE_OK, 900, 999 },
		{ "bytes=900-5000", 1000, MEMNET_RANGE_OK, 900, 999 }, /* last clamped */
		{ "bytes=-100", 1000, MEMNET_RANGE_OK, 900, 999 },
		{ "bytes=-5000", 1000, MEMNET_RANGE_OK, 0, 999 },
		{ " Bytes=5-7 ", 1000, MEMNET_RANGE_OK, 5, 7 },
		{ "bytes = 5-7", 1000, MEMNET_RANGE_NONE, 0, 0 }, /* no whitespace inside */
		{ "bytes=5 - 7", 1000, MEMNET_RANGE_NONE, 0, 0 },
		{ "bytes=999-999", 1000, MEMNET_RANGE_OK, 999, 999 },
		{ "bytes=1000-", 1000, MEMNET_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=1000-2000", 1000, MEMNET_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=-0", 1000, MEMNET_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=0-", 0, MEMNET_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=-1", 0, MEMNET_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=99999999999999999999999-", 1000, MEMNET_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=5-3", 1000, MEMNET_RANGE_NONE, 0, 0 },	    /* invalid: ignored */
		{ "bytes=1-2,5-6", 1000, MEMNET_RANGE_NONE, 0, 0 }, /* several: whole object */
		{ "items=1-2", 1000, MEMNET_RANGE_NONE, 0, 0 },
		{ "bytes=a-b", 1000, MEMNET_RANGE_NONE, 0, 0 },
		{ "bytes=1-2x", 1000, MEMNET_RANGE_NONE, 0, 0 },
		{ "bytes=-", 1000, MEMNET_RANGE_NONE, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t a = 0, b = 0;
		enum memnet_range got = memnet_http_range(cases[i].v, cases[i].len, &a, &b);
		if (got != cases[i].want ||
		    (got == MEMNET_RANGE_OK && (a != cases[i].first || b != cases[i].last)))
			fail_msg("\"%s\" of %lu: got %d %lu-%lu", cases[i].v,
				 (unsigned long)cases[i].len, got, (unsigned long)a,
				 (unsigned long)b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ranges),
	};
	return VS_RUN_TESTS(tests);
}
