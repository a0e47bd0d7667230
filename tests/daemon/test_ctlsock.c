/* test_ctlsock.c - the control socket (framing, bad requests, a second daemon refused) and the metrics HTTP responses. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/ctlsock.h"
#include "daemon/metrics.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "testutil.h"

/* echo: {"cmd":"echo","x":..} -> {"x":..}; {"cmd":"fail"} -> error */
static json_t *handler(void *arg, json_t *req, uid_t uid, char *err, size_t errlen)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	int *calls = arg;

	(*calls)++;
	if (!strcmp(cmd, "echo"))
		return json_pack("{s:O}", "x", json_object_get(req, "x"));
	snprintf(err, errlen, "no such thing: %s", cmd);
	return NULL;
}

static void expect(char *line, const char *want)
{
	if (!line || strcmp(line, want) != 0) {
		printf("# got %s# want %s\n", line ? line : "(null)\n", want);
		fail();
	}
	free(line);
}

static void test_dispatch(void **state)
{
	struct ctlsock s = { 0 };
	int calls = 0;

	s.handle = handler;
	s.arg = &calls;
	expect(ctlsock_dispatch(&s, "{\"cmd\":\"echo\",\"x\":5}", 20, 0),
	       "{\"x\":5,\"ok\":true}\n");
	expect(ctlsock_dispatch(&s, "{\"cmd\":\"fail\"}", 14, 0),
	       "{\"ok\":false,\"error\":\"no such thing: fail\"}\n");
	expect(ctlsock_dispatch(&s, "{\"cmd\":", 7, 0),
	       "{\"ok\":false,\"error\":\"malformed JSON at column 7: unexpected token near end of "
	       "file\"}\n");
	expect(ctlsock_dispatch(&s, "[1,2]", 5, 0), "{\"ok\":false,\"error\":\"a request is a JSON "
						    "object: {\\\"cmd\\\":\\\"status\\\"}\"}\n");
	expect(ctlsock_dispatch(&s, "{\"cmd\":7}", 9, 0),
	       "{\"ok\":false,\"error\":\"missing \\\"cmd\\\" (a string: status, explain, report, "
	       "set, "
	       "pause, resume)\"}\n");
	expect(ctlsock_dispatch(&s, "{\"cmd\":\"a\",\"cmd\":\"b\"}", 21, 0),
	       "{\"ok\":false,\"error\":\"malformed JSON at column 16: duplicate object key near "
	       "'\\\"cmd\\\"'\"}\n");
	assert_int_equal(calls, 2);
}

/* Run the event loop until nothing happens for a while. */
static void pump(struct ctlsock *s, int epfd)
{
	struct epoll_event ev[8];
	int n;

	while ((n = epoll_wait(epfd, ev, 8, 50)) > 0)
		for (int i = 0; i < n; i++)
			ctlsock_event(s, (unsigned)(ev[i].data.u64 & 0xffffffffu), ev[i].events);
}

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	str_copy(sa.sun_path, path, sizeof(sa.sun_path));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_socket(void **state)
{
	char dir[] = "/tmp/vsd-ctl-XXXXXX", path[128], err[256], buf[8192];
	struct ctlsock s, s2;
	int epfd = epoll_create1(0), calls = 0, fd;
	ssize_t k;
	char *big;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/dir/vspaced.sock", dir);
	assert_int_equal(
		ctlsock_open(&s, path, epfd, 3, false, 0, handler, &calls, err, sizeof(err)), 0);
	/* a second daemon on the same socket is refused */
	assert_int_equal(
		ctlsock_open(&s2, path, epfd, 4, false, 0, handler, &calls, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another vspaced is running"));

	fd = dial(path);
	pump(&s, epfd);
	/* two requests in one write, the second split across writes, CRLF */
	assert_true(write(fd, "{\"cmd\":\"echo\",\"x\":1}\n{\"cmd\":\"ec", 31) == 31);
	pump(&s, epfd);
	assert_true(write(fd, "ho\",\"x\":2}\r\n\n", 13) == 13);
	pump(&s, epfd);
	k = read(fd, buf, sizeof(buf) - 1);
	assert_true(k > 0);
	buf[k] = '\0';
	assert_string_equal(buf, "{\"x\":1,\"ok\":true}\n{\"x\":2,\"ok\":true}\n");
	/* an overlong line: an error, then the connection still works */
	big = malloc(VSD_CTL_LINE_MAX + 100);
	memset(big, 'a', VSD_CTL_LINE_MAX + 99);
	big[VSD_CTL_LINE_MAX + 99] = '\n';
	assert_true(write(fd, big, VSD_CTL_LINE_MAX + 100) == VSD_CTL_LINE_MAX + 100);
	free(big);
	pump(&s, epfd);
	assert_true(write(fd, "{\"cmd\":\"echo\",\"x\":3}\n", 21) == 21);
	pump(&s, epfd);
	k = read(fd, buf, sizeof(buf) - 1);
	assert_true(k > 0);
	buf[k] = '\0';
	assert_string_equal(buf, "{\"ok\":false,\"error\":\"request longer than 4096 bytes\"}\n"
				 "{\"x\":3,\"ok\":true}\n");
	close(fd);
	pump(&s, epfd);
	/* the socket file goes away with the daemon */
	ctlsock_close(&s);
	assert_int_equal(access(path, F_OK), -1);
	/* a socket file left by a dead daemon is taken over */
	{
		int stale = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		str_copy(sa.sun_path, path, sizeof(sa.sun_path));
		assert_int_equal(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(stale);
	}
	assert_int_equal(
		ctlsock_open(&s, path, epfd, 3, false, 0, handler, &calls, err, sizeof(err)), 0);
	ctlsock_close(&s);
	close(epfd);
	snprintf(buf, sizeof(buf), "rm -rf %s", dir);
	assert_int_equal(system(buf), 0);
}

static void render(void *arg, struct metrics_buf *b)
{
	metrics_printf(b, "# TYPE vspace_x gauge\nvspace_x %d\n", *(int *)arg);
}

static void test_metrics_http(void **state)
{
	struct metrics_buf out = { 0 };
	int v = 42;
	const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

	metrics_http_response(req, strlen(req), render, &v, &out);
	assert_non_null(strstr(out.p, "HTTP/1.0 200 OK\r\n"));
	assert_non_null(strstr(out.p, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(out.p, "Content-Length: 34\r\n"));
	assert_non_null(strstr(out.p, "\r\n\r\n# TYPE vspace_x gauge\nvspace_x 42\n"));
	metrics_buf_free(&out);
	req = "HEAD /metrics HTTP/1.0\r\n\r\n";
	metrics_http_response(req, strlen(req), render, &v, &out);
	assert_non_null(strstr(out.p, "200 OK"));
	assert_null(strstr(out.p, "vspace_x 42"));
	metrics_buf_free(&out);
	req = "POST /metrics HTTP/1.0\r\n\r\n";
	metrics_http_response(req, strlen(req), render, &v, &out);
	assert_non_null(strstr(out.p, "405 Method Not Allowed"));
	metrics_buf_free(&out);
	req = "GET /secrets HTTP/1.0\r\n\r\n";
	metrics_http_response(req, strlen(req), render, &v, &out);
	assert_non_null(strstr(out.p, "404 Not Found"));
	metrics_buf_free(&out);
	metrics_http_response("", 0, render, &v, &out);
	assert_non_null(strstr(out.p, "405"));
	metrics_buf_free(&out);
}

static void test_metrics_listen(void **state)
{
	struct metrics_srv m;
	char err[256];
	int v = 1, epfd = epoll_create1(0);

	assert_int_equal(metrics_open(&m, "localhost:19467", epfd, 5, render, &v, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not a numeric IP address"));
	assert_int_equal(metrics_open(&m, "127.0.0.1", epfd, 5, render, &v, err, sizeof(err)), -1);
	assert_int_equal(metrics_open(&m, "127.0.0.1:19467", epfd, 5, render, &v, err, sizeof(err)),
			 0);
	metrics_close(&m);
	close(epfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_metrics_http),
		cmocka_unit_test(test_metrics_listen),
	};
	log_init("test_ctlsock", VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
