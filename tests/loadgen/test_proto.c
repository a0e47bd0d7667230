/* test_proto.c - the loadgen's memcached and HTTP response parsers: complete, split and malformed replies. */
#include <stdlib.h>
#include <string.h>

#include "loadgen/proto.h"
#include "testutil.h"

static long mc(const char *text, enum proto_req_kind kind, struct proto_resp *r)
{
	return proto_mc_parse(text, strlen(text), kind, r, NULL);
}

static long http(const char *text, struct proto_resp *r)
{
	return proto_http_parse(text, strlen(text), r, NULL);
}

/* Every proper prefix of a complete reply needs more bytes (returns 0); the
 * whole reply returns its length; extra bytes after it are not consumed. */
static void check_split(const char *text, enum proto_req_kind kind, bool is_http)
{
	size_t n = strlen(text);
	char *buf = malloc(n + 8);
	struct proto_resp r;

	memcpy(buf, text, n);
	for (size_t k = 0; k < n; k++) {
		long got = is_http ? proto_http_parse(buf, k, &r, NULL)
				   : proto_mc_parse(buf, k, kind, &r, NULL);
		if (got != 0)
			fail_msg("prefix of %zu/%zu bytes returned %ld", k, n, got);
	}
	memcpy(buf + n, "END\r\n", 5);
	assert_int_equal(is_http ? proto_http_parse(buf, n, &r, NULL)
				 : proto_mc_parse(buf, n, kind, &r, NULL),
			 (long)n);
	assert_int_equal(is_http ? proto_http_parse(buf, n + 5, &r, NULL)
				 : proto_mc_parse(buf, n + 5, kind, &r, NULL),
			 (long)n);
	free(buf);
}

static void test_mc_get(void **state)
{
	struct proto_resp r;
	const char *hit = "VALUE kabc 0 5\r\nhello\r\nEND\r\n";

	assert_int_equal(mc(hit, PROTO_MC_GET, &r), (long)strlen(hit));
	assert_int_equal(r.status, PROTO_HIT);
	/* with a cas field (gets), and a value that itself contains CRLF and "END" */
	const char *tricky = "VALUE k 7 10 99\r\nEND\r\nEND\r\n\r\nEND\r\n";
	assert_int_equal(mc(tricky, PROTO_MC_GET, &r), (long)strlen(tricky));
	assert_int_equal(mc("END\r\n", PROTO_MC_GET, &r), 5);
	assert_int_equal(r.status, PROTO_MISS);
	check_split(hit, PROTO_MC_GET, false);
	check_split(tricky, PROTO_MC_GET, false);
	/* empty value */
	assert_int_equal(mc("VALUE k 0 0\r\n\r\nEND\r\n", PROTO_MC_GET, &r), 20);
}

static void test_mc_set_and_errors(void **state)
{
	struct proto_resp r;

	assert_int_equal(mc("STORED\r\n", PROTO_MC_SET, &r), 8);
	assert_int_equal(r.status, PROTO_HIT);
	assert_int_equal(mc("NOT_STORED\r\n", PROTO_MC_SET, &r), 12);
	assert_int_equal(r.status, PROTO_REJECTED);
	assert_int_equal(mc("SERVER_ERROR out of memory storing object\r\n", PROTO_MC_SET, &r), 43);
	assert_int_equal(r.status, PROTO_REJECTED);
	assert_int_equal(mc("CLIENT_ERROR bad data chunk\r\n", PROTO_MC_GET, &r), 29);
	assert_int_equal(r.status, PROTO_REJECTED);
	assert_int_equal(mc("ERROR\r\n", PROTO_MC_GET, &r), 7);
	assert_int_equal(r.status, PROTO_REJECTED);
	check_split("STORED\r\n", PROTO_MC_SET, false);
	check_split("SERVER_ERROR object too large for cache\r\n", PROTO_MC_SET, false);
}

static void test_mc_malformed(void **state)
{
	struct proto_resp r;
	const char *why = NULL;
	char *big;

	/* a reply that belongs to the other command */
	assert_int_equal(mc("STORED\r\n", PROTO_MC_GET, &r), -1);
	assert_int_equal(mc("END\r\n", PROTO_MC_SET, &r), -1);
	/* bare LF, junk, bad VALUE lines */
	assert_int_equal(mc("END\n", PROTO_MC_GET, &r), -1);
	assert_int_equal(mc("HELLO\r\n", PROTO_MC_GET, &r), -1);
	assert_int_equal(mc("VALUE k 0\r\n", PROTO_MC_GET, &r), -1);
	assert_int_equal(mc("VALUE k 0 -5\r\nEND\r\n", PROTO_MC_GET, &r), -1);
	assert_int_equal(mc("VALUE k x 5\r\nhello\r\nEND\r\n", PROTO_MC_GET, &r), -1);
	assert_int_equal(mc("VALUE k 0 99999999999\r\n", PROTO_MC_GET, &r), -1);
	assert_int_equal(mc("VALUE k 0 5 1 2\r\nhello\r\nEND\r\n", PROTO_MC_GET, &r), -1);
	/* data not followed by CRLF, or no END */
	assert_int_equal(mc("VALUE k 0 5\r\nhelloXXEND\r\n", PROTO_MC_GET, &r), -1);
	assert_int_equal(mc("VALUE k 0 5\r\nhello\r\nENX\r\n", PROTO_MC_GET, &r), -1);
	/* a line that never ends */
	big = malloc(PROTO_MC_LINE_MAX + 1);
	memset(big, 'A', PROTO_MC_LINE_MAX);
	assert_int_equal(proto_mc_parse(big, PROTO_MC_LINE_MAX, PROTO_MC_GET, &r, &why), -1);
	assert_non_null(why);
	assert_non_null(strstr(why, "too long"));
	free(big);
}

static void test_http_content_length(void **state)
{
	struct proto_resp r;
	const char *ok = "HTTP/1.1 200 OK\r\nServer: nginx\r\ncontent-length: 5\r\n\r\nhello";

	assert_int_equal(http(ok, &r), (long)strlen(ok));
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.status, PROTO_HIT);
	assert_false(r.close);
	check_split(ok, 0, true);
	/* error status, Connection: close */
	const char *nf =
		"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nConnection: close\r\n\r\nno!";
	assert_int_equal(http(nf, &r), (long)strlen(nf));
	assert_int_equal(r.status, PROTO_REJECTED);
	assert_true(r.close);
	/* HTTP/1.0 closes unless keep-alive */
	assert_int_equal(http("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", &r), 38);
	assert_true(r.close);
	assert_int_equal(
		http("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", &r),
		62);
	assert_false(r.close);
	/* 204 and 304 carry no body; a status line with no reason phrase */
	assert_int_equal(http("HTTP/1.1 204 No Content\r\n\r\n", &r), 27);
	assert_int_equal(http("HTTP/1.1 304\r\n\r\n", &r), 16);
}

static void test_http_chunked(void **state)
{
	struct proto_resp r;
	const char *ch = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "5\r\nhello\r\na;ext=1\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n";

	assert_int_equal(http(ch, &r), (long)strlen(ch));
	assert_int_equal(r.status, PROTO_HIT);
	check_split(ch, 0, true);
	/* chunk size junk, missing CRLF after data */
	assert_int_equal(http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &r),
			 -1);
	assert_int_equal(
		http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX0\r\n\r\n", &r),
		-1);
}

static void test_http_malformed(void **state)
{
	struct proto_resp r;
	const char *why = NULL;
	char *big;

	assert_int_equal(http("SSH-2.0-OpenSSH\r\n", &r), -1);
	assert_int_equal(http("HTTP/2 200 OK\r\n\r\n", &r), -1);
	assert_int_equal(http("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", &r), -1);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &r), -1);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello", &r), -1);
	/* two different lengths */
	assert_int_equal(
		http("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", &r),
		-1);
	/* neither length nor chunked: cannot keep the connection */
	assert_int_equal(http("HTTP/1.1 200 OK\r\n\r\nbody", &r), -1);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", &r), -1);
	assert_int_equal(http("HTTP/1.1 100 Continue\r\n\r\n", &r), -1);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nBad header\nX: y\r\n\r\n", &r), -1);
	/* a head that never ends */
	big = malloc(PROTO_HTTP_HEAD_MAX);
	memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
	memset(big + 17, 'A', PROTO_HTTP_HEAD_MAX - 17);
	assert_int_equal(proto_http_parse(big, PROTO_HTTP_HEAD_MAX, &r, &why), -1);
	assert_non_null(strstr(why, "too long"));
	free(big);
}

/* Random bytes never crash the parsers and never claim more than they were given. */
static void test_random_bytes(void **state)
{
	uint64_t rng = 7;
	char buf[512];
	struct proto_resp r;
	static const char *const seeds[] = { "VALUE k 0 ", "HTTP/1.1 200 OK\r\n",
					     "END\r\n",	   "Content-Length: ",
					     "\r\n\r\n",   "STORED" };

	for (int it = 0; it < 20000; it++) {
		size_t n = vs_test_rand(&rng) % sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)(vs_test_rand(&rng) & 0xff);
		if (n > 24 && (vs_test_rand(&rng) & 1)) {
			const char *s = seeds[vs_test_rand(&rng) % 6];
			memcpy(buf, s, strlen(s));
		}
		long a = proto_mc_parse(buf, n, (it & 1) ? PROTO_MC_GET : PROTO_MC_SET, &r, NULL);
		long b = proto_http_parse(buf, n, &r, NULL);
		assert_true(a >= -1 && a <= (long)n);
		assert_true(b >= -1 && b <= (long)n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mc_get),	     cmocka_unit_test(test_mc_set_and_errors),
		cmocka_unit_test(test_mc_malformed), cmocka_unit_test(test_http_content_length),
		cmocka_unit_test(test_http_chunked), cmocka_unit_test(test_http_malformed),
		cmocka_unit_test(test_random_bytes),
	};
	return VS_RUN_TESTS(tests);
}
