/* test_proto.c - the agent protocol codec, line framing and address parsing. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/transport.h"

static int decode(const char *line, struct proto_request *req, char *err)
{
	return proto_decode_request(line, strlen(line), req, err, 256);
}

static void test_decode_good(void **state)
{
	struct proto_request req;
	char err[256];

	(void)state;
	assert_int_equal(decode("{\"v\":1,\"id\":7,\"cmd\":\"hello\"}", &req, err), 0);
	assert_int_equal(req.cmd, PROTO_CMD_HELLO);
	assert_true(req.has_id);
	assert_int_equal(req.id, 7);
	assert_int_equal(req.u.hello.version, 1);

	assert_int_equal(decode("{\"v\":1,\"id\":4294967295,\"cmd\":\"set_vnq\",\"args\":"
				"{\"ifname\":\"eth0\",\"n\":3}}",
				&req, err),
			 0);
	assert_int_equal(req.cmd, PROTO_CMD_SET_VNQ);
	assert_int_equal(req.id, 4294967295u);
	assert_string_equal(req.u.set_vnq.ifname, "eth0");
	assert_int_equal(req.u.set_vnq.n, 3);

	/* key order does not matter; method defaults to cpuset */
	assert_int_equal(
		decode("{\"args\":{\"n\":2},\"cmd\":\"set_vcpus\",\"id\":0,\"v\":1}", &req, err),
		0);
	assert_int_equal(req.cmd, PROTO_CMD_SET_VCPUS);
	assert_int_equal(req.u.set_vcpus.n, 2);
	assert_int_equal(req.u.set_vcpus.method, PROTO_VCPUS_CPUSET);
	assert_int_equal(decode("{\"v\":1,\"id\":1,\"cmd\":\"set_vcpus\",\"args\":{\"n\":1,"
				"\"method\":\"hotplug\"}}",
				&req, err),
			 0);
	assert_int_equal(req.u.set_vcpus.method, PROTO_VCPUS_HOTPLUG);

	assert_int_equal(decode("{\"v\":1,\"id\":2,\"cmd\":\"stats\"}", &req, err), 0);
	assert_string_equal(req.u.stats.ifname, "");
	assert_int_equal(
		decode("{\"v\":1,\"id\":2,\"cmd\":\"stats\",\"args\":{\"ifname\":\"ens3\"}}", &req,
		       err),
		0);
	assert_string_equal(req.u.stats.ifname, "ens3");

	/* restore takes no args */
	assert_int_equal(decode("{\"v\":1,\"id\":3,\"cmd\":\"restore\"}", &req, err), 0);
	assert_int_equal(req.cmd, PROTO_CMD_RESTORE);
	assert_int_equal(decode("{\"v\":1,\"id\":3,\"cmd\":\"restore\",\"args\":{}}", &req, err),
			 0);
	assert_int_equal(
		decode("{\"v\":1,\"id\":3,\"cmd\":\"restore\",\"args\":{\"n\":1}}", &req, err), -1);
	assert_string_equal(err, "restore: unknown field \"n\"");

	/* interrupt coalescing: rx_usecs 0 (no moderation) is valid; adaptive_rx defaults off */
	assert_int_equal(decode("{\"v\":1,\"id\":4,\"cmd\":\"get_coalesce\",\"args\":{\"ifname\":"
				"\"eth0\"}}",
				&req, err),
			 0);
	assert_int_equal(req.cmd, PROTO_CMD_GET_COALESCE);
	assert_string_equal(req.u.get_coalesce.ifname, "eth0");
	assert_int_equal(decode("{\"v\":1,\"id\":5,\"cmd\":\"set_coalesce\",\"args\":{\"ifname\":"
				"\"eth0\",\"rx_usecs\":0}}",
				&req, err),
			 0);
	assert_int_equal(req.cmd, PROTO_CMD_SET_COALESCE);
	assert_int_equal(req.u.set_coalesce.rx_usecs, 0);
	assert_false(req.u.set_coalesce.adaptive_rx);
	assert_int_equal(decode("{\"v\":1,\"id\":5,\"cmd\":\"set_coalesce\",\"args\":{\"ifname\":"
				"\"eth0\",\"rx_usecs\":1000000,\"adaptive_rx\":true}}",
				&req, err),
			 0);
	assert_int_equal(req.u.set_coalesce.rx_usecs, 1000000);
	assert_true(req.u.set_coalesce.adaptive_rx);
	assert_int_equal(decode("{\"v\":1,\"id\":6,\"cmd\":\"set_rps\",\"args\":{\"ifname\":"
				"\"eth0\",\"n\":3}}",
				&req, err),
			 0);
	assert_int_equal(req.cmd, PROTO_CMD_SET_RPS);
	assert_int_equal(req.u.set_rps.n, 3);
}

/* A bad request still reports the id it carried, so the error can be matched. */
static void test_decode_bad_keeps_id(void **state)
{
	struct proto_request req;
	char err[256];

	(void)state;
	assert_int_equal(decode("{\"v\":1,\"id\":9,\"cmd\":\"nope\"}", &req, err), -1);
	assert_true(req.has_id);
	assert_int_equal(req.id, 9);
	assert_non_null(strstr(err, "unknown command \"nope\""));
	/* the list of known commands is complete */
	assert_non_null(strstr(err, "(known: hello, set_vnq, set_vcpus, stats, restore, "
				    "get_coalesce, set_coalesce, set_rps)"));
	assert_int_equal(decode("{\"v\":1,\"cmd\":\"hello\"", &req, err), -1);
	assert_false(req.has_id);
}

/* Inputs the table in tests/agent/data cannot hold (bytes, sizes). */
static void test_decode_bad_bytes(void **state)
{
	struct proto_request req;
	char err[256], big[PROTO_MAX_MSG + 64];
	const char nul[] = "{\"v\":1,\"id\":1,\"cmd\":\"hel\0lo\"}";
	const char bad_utf8[] = "{\"v\":1,\"id\":1,\"cmd\":\"\xff\xfe\"}";
	const char nul_escape[] = "{\"v\":1,\"id\":1,\"cmd\":\"a\\u0000b\"}";

	(void)state;
	assert_int_equal(proto_decode_request(nul, sizeof(nul) - 1, &req, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL byte"));
	assert_int_equal(decode(bad_utf8, &req, err), -1);
	assert_non_null(strstr(err, "not valid JSON"));
	assert_int_equal(decode(nul_escape, &req, err), -1);
	assert_non_null(strstr(err, "not valid JSON"));

	/* exactly at the limit (4095 bytes + '\n') is fine, one more is not */
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"v\":1,\"id\":1,\"cmd\":\"hello\"}", 28);
	assert_int_equal(proto_decode_request(big, PROTO_MAX_MSG - 1, &req, err, sizeof(err)), 0);
	assert_int_equal(proto_decode_request(big, PROTO_MAX_MSG, &req, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exceeds the limit of 4096"));
}

static void test_encode_roundtrip(void **state)
{
	char buf[PROTO_MAX_MSG + 1], err[256];
	struct proto_reply rep;
	struct proto_request req;
	json_t *res = json_pack("{s:i,s:s}", "queues", 2, "ifname", "eth0");
	int n;

	(void)state;
	n = proto_encode_ok(buf, sizeof(buf), true, 42, res);
	assert_true(n > 0);
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal(proto_decode_reply(buf, (size_t)n - 1, &rep, err, sizeof(err)), 0);
	assert_true(rep.ok && rep.has_id);
	assert_int_equal(rep.id, 42);
	assert_int_equal(json_integer_value(json_object_get(rep.result, "queues")), 2);
	proto_reply_clear(&rep);
	json_decref(res);

	n = proto_encode_error(buf, sizeof(buf), false, 0, "bad \"thing\"\n\x01");
	assert_true(n > 0);
	assert_int_equal(proto_decode_reply(buf, (size_t)n - 1, &rep, err, sizeof(err)), 0);
	assert_false(rep.ok);
	assert_false(rep.has_id);
	/* control characters in an error never reach the wire */
	assert_string_equal(rep.error, "bad \"thing\"??");
	proto_reply_clear(&rep);

	json_t *args = json_pack("{s:s,s:i}", "ifname", "eth0", "n", 3);
	n = proto_encode_request(buf, sizeof(buf), 5, "set_vnq", args);
	json_decref(args);
	assert_true(n > 0);
	assert_int_equal(proto_decode_request(buf, (size_t)n - 1, &req, err, sizeof(err)), 0);
	assert_int_equal(req.id, 5);
	assert_int_equal(req.u.set_vnq.n, 3);

	/* a result too big for one message is refused, not truncated */
	json_t *huge = json_object();
	char key[16];
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(huge, key, json_integer(123456789));
	}
	assert_int_equal(proto_encode_ok(buf, sizeof(buf), true, 1, huge), -1);
	json_decref(huge);
}

static void test_decode_reply_bad(void **state)
{
	struct proto_reply rep;
	char err[256];
	const char *bad[] = {
		"{\"v\":1,\"id\":1}",			       /* no ok */
		"{\"v\":1,\"id\":1,\"ok\":1}",		       /* ok not boolean */
		"{\"v\":1,\"id\":1,\"ok\":false}",	       /* no error text */
		"{\"v\":1,\"id\":1,\"ok\":true,\"result\":3}", /* result not object */
		"{\"v\":3,\"id\":1,\"ok\":true}",	       /* version */
		"{\"v\":1,\"id\":-4,\"ok\":true}",	       /* id */
		"[]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(proto_decode_reply(bad[i], strlen(bad[i]), &rep, err, sizeof(err)),
				 -1);
}

static void test_linebuf(void **state)
{
	struct proto_linebuf lb;
	char *line;
	size_t len;
	const char *in = "abc\r\ndef\n\ngh";

	(void)state;
	proto_linebuf_init(&lb);
	memcpy(proto_linebuf_space(&lb), in, strlen(in));
	proto_linebuf_commit(&lb, strlen(in));
	assert_int_equal(proto_linebuf_next(&lb, &line, &len), PROTO_LINE_OK);
	assert_string_equal(line, "abc");
	assert_int_equal(len, 3);
	assert_int_equal(proto_linebuf_next(&lb, &line, &len), PROTO_LINE_OK);
	assert_string_equal(line, "def");
	assert_int_equal(proto_linebuf_next(&lb, &line, &len), PROTO_LINE_OK);
	assert_int_equal(len, 0);
	assert_int_equal(proto_linebuf_next(&lb, &line, &len), PROTO_LINE_NONE);
	memcpy(proto_linebuf_space(&lb), "i\n", 2);
	proto_linebuf_commit(&lb, 2);
	assert_int_equal(proto_linebuf_next(&lb, &line, &len), PROTO_LINE_OK);
	assert_string_equal(line, "ghi");

	/* an oversized line is reported once, dropped through its newline, and
	 * the next line is intact */
	size_t total = 0;
	int too_long = 0;
	while (total < 3 * PROTO_MAX_MSG) {
		size_t room = proto_linebuf_room(&lb);
		assert_true(room > 0);
		memset(proto_linebuf_space(&lb), 'x', room);
		proto_linebuf_commit(&lb, room);
		total += room;
		enum proto_line_result r;
		while ((r = proto_linebuf_next(&lb, &line, &len)) != PROTO_LINE_NONE) {
			assert_int_equal(r, PROTO_LINE_TOO_LONG);
			too_long++;
		}
	}
	assert_int_equal(too_long, 1);
	memcpy(proto_linebuf_space(&lb), "xx\nok\n", 6);
	proto_linebuf_commit(&lb, 6);
	assert_int_equal(proto_linebuf_next(&lb, &line, &len), PROTO_LINE_OK);
	assert_string_equal(line, "ok");

	/* a line of exactly PROTO_MAX_MSG bytes with its newline passes */
	proto_linebuf_init(&lb);
	memset(proto_linebuf_space(&lb), 'y', PROTO_MAX_MSG - 1);
	proto_linebuf_space(&lb)[PROTO_MAX_MSG - 1] = '\n';
	proto_linebuf_commit(&lb, PROTO_MAX_MSG);
	assert_int_equal(proto_linebuf_next(&lb, &line, &len), PROTO_LINE_OK);
	assert_int_equal(len, PROTO_MAX_MSG - 1);
}

static void test_addr_parse(void **state)
{
	struct proto_addr a;
	char err[256], buf[200];
	struct {
		const char *text;
		const char *canon; /* NULL: must fail */
	} cases[] = {
		{ "vsock:7070", "vsock:7070" },
		{ "vsock:3:7070", "vsock:3:7070" },
		{ "serial:/run/web.agent", "serial:/run/web.agent" },
		{ "unix:/tmp/vsa-x.sock", "unix:/tmp/vsa-x.sock" },
		{ "tcp:127.0.0.1:19480", "tcp:127.0.0.1:19480" },
		{ "tcp:[::1]:19481", "tcp:[::1]:19481" },
		{ "tcp:localhost:19480", NULL }, /* numeric only */
		{ "tcp:127.0.0.1:0", NULL },
		{ "tcp:127.0.0.1:65536", NULL },
		{ "tcp:127.0.0.1", NULL },
		{ "tcp:[::1:19480", NULL },
		{ "vsock:", NULL },
		{ "vsock:x:1", NULL },
		{ "vsock:3:99999999999", NULL },
		{ "serial:", NULL },
		{ "unix:", NULL },
		{ "udp:1.2.3.4:5", NULL },
		{ "/tmp/sock", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = proto_addr_parse(cases[i].text, &a, err, sizeof(err));
		if (!cases[i].canon) {
			if (rc == 0)
				fail_msg("%s: accepted", cases[i].text);
			assert_true(strlen(err) > 0);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %s", cases[i].text, err);
		proto_addr_format(&a, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].canon);
	}
	char longpath[300];
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "unix:/", 6);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(proto_addr_parse(longpath, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than"));
}

static void test_ifname_valid(void **state)
{
	(void)state;
	assert_true(proto_ifname_valid("eth0"));
	assert_true(proto_ifname_valid("enp0s3.100"));
	assert_true(proto_ifname_valid("abcdefghijklmno")); /* 15 */
	assert_false(proto_ifname_valid("abcdefghijklmnop"));
	assert_false(proto_ifname_valid(""));
	assert_false(proto_ifname_valid("."));
	assert_false(proto_ifname_valid(".."));
	assert_false(proto_ifname_valid("a/b"));
	assert_false(proto_ifname_valid("a:b"));
	assert_false(proto_ifname_valid("a b"));
	assert_false(proto_ifname_valid("\xc3\xa9"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_good),	 cmocka_unit_test(test_decode_bad_keeps_id),
		cmocka_unit_test(test_decode_bad_bytes), cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_decode_reply_bad), cmocka_unit_test(test_linebuf),
		cmocka_unit_test(test_addr_parse),	 cmocka_unit_test(test_ifname_valid),
	};
	return VS_RUN_TESTS(tests);
}
