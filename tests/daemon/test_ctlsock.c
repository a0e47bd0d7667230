/* test_ctlsock.c - the control socket (framing, bad requests, a second daemon refused) and the metrics HTTP responses. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
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
	/* an empty line gets an answer too */
	assert_string_equal(buf, "{\"x\":1,\"ok\":true}\n{\"x\":2,\"ok\":true}\n"
				 "{\"ok\":false,\"error\":\"empty request: send one JSON object "
				 "per line, e.g. {\\\"cmd\\\":\\\"status\\\"}\"}\n");
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

/* ---- Limits: per-user connections, root never locked out, refusals, idle ---- */

#define OTHER_UID 65534 /* nobody: a user that is not root and not us */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Pump until fd (a pipe from a child) is readable; returns its byte. */
static char pump_until(struct ctlsock *s, int epfd, int fd)
{
	for (;;) {
		struct epoll_event ev[8];
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char ch = 0;
		int n = epoll_wait(epfd, ev, 8, 20);
		for (int i = 0; i < n; i++)
			ctlsock_event(s, (unsigned)(ev[i].data.u64 & 0xffffffffu), ev[i].events);
		if (poll(&p, 1, 0) == 1) {
			assert_int_equal(read(fd, &ch, 1), 1);
			return ch;
		}
	}
}

/* The first line the daemon sent on fd within ms, "" when none. */
static void first_line(int fd, int ms, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	buf[0] = '\0';
	while (got + 1 < len && poll(&p, 1, ms) == 1) {
		ssize_t k = read(fd, buf + got, len - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
		buf[got] = '\0';
		if (strchr(buf, '\n'))
			break;
	}
}

/* In a child as OTHER_UID (with the given supplementary groups): open n
 * connections, tell the parent 'c', count the ones answered "too many clients"
 * at once, report the count as one byte, hold the rest until the parent
 * closes `hold`. */
static pid_t other_user(const char *path, int n, const gid_t *groups, int n_groups, int report[2],
			int hold[2])
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	close(report[0]);
	close(hold[1]);
	if (setgroups((size_t)n_groups, groups) < 0 ||
	    setresgid(OTHER_UID, OTHER_UID, OTHER_UID) < 0 ||
	    setresuid(OTHER_UID, OTHER_UID, OTHER_UID) < 0)
		_exit(3);
	int *fds = calloc((size_t)n, sizeof(int)), busy = 0, refused = 0;
	for (int i = 0; i < n; i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		str_copy(sa.sun_path, path, sizeof(sa.sun_path));
		if (connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(4);
	}
	char ch = 'c', line[512];
	if (write(report[1], &ch, 1) != 1)
		_exit(5);
	for (int i = 0; i < n; i++) {
		first_line(fds[i], 100, line, sizeof(line));
		busy += strstr(line, "too many clients") != NULL;
		refused += strstr(line, "permission denied") != NULL;
	}
	ch = (char)(refused ? 200 + refused : busy);
	if (write(report[1], &ch, 1) != 1)
		_exit(5);
	if (read(hold[0], &ch, 1) < 0) /* until the parent closes it */
		_exit(6);
	_exit(0);
}

static void test_limits(void **state)
{
	char dir[] = "/tmp/vsd-lim-XXXXXX", path[128], err[256], line[512];
	struct ctlsock s;
	int epfd = epoll_create1(0), calls = 0, report[2], hold[2], st, fds[200];
	pid_t pid;
	char ch;

	if (geteuid() != 0) {
		skip();
		return;
	}
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/vspaced.sock", dir);
	/* group 4242 may use the socket: nobody holds it only as a supplementary group */
	assert_int_equal(
		ctlsock_open(&s, path, epfd, 3, true, 4242, handler, &calls, err, sizeof(err)), 0);

	/* 1. a user holding 200 connections gets VSD_CTL_PER_UID, the rest are told
	 * "too many clients" at once */
	gid_t g = 4242;
	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(hold), 0);
	pid = other_user(path, 200, &g, 1, report, hold);
	close(report[1]);
	close(hold[0]);
	assert_int_equal(pump_until(&s, epfd, report[0]), 'c');
	ch = pump_until(&s, epfd, report[0]);
	assert_int_equal((unsigned char)ch, 200 - VSD_CTL_PER_UID);
	assert_int_equal(ctlsock_clients(&s), VSD_CTL_PER_UID);
	assert_int_equal(s.busy, 200 - VSD_CTL_PER_UID);

	/* 2. root fills every slot and more: the newest root client is still served */
	for (int i = 0; i < 200; i++) {
		fds[i] = dial(path);
		if (i % 32 == 31) /* the listen backlog is 64 */
			pump(&s, epfd);
	}
	pump(&s, epfd);
	assert_int_equal(ctlsock_clients(&s), VSD_CTL_CLIENTS);
	assert_true(s.evicted >= 200 - (VSD_CTL_CLIENTS - VSD_CTL_PER_UID));
	{
		int fd = dial(path);
		assert_true(write(fd, "{\"cmd\":\"echo\",\"x\":7}\n", 21) == 21);
		pump(&s, epfd);
		first_line(fd, 1000, line, sizeof(line));
		assert_string_equal(line, "{\"x\":7,\"ok\":true}\n");
		close(fd);
	}
	for (int i = 0; i < 200; i++)
		close(fds[i]);
	close(hold[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(report[0]);
	pump(&s, epfd);
	assert_int_equal(ctlsock_clients(&s), 0);

	/* 3. a user without the group (the socket file made world-writable so
	 * that it gets as far as the daemon) is refused at once and holds no slot */
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(hold), 0);
	pid = other_user(path, 3, NULL, 0, report, hold);
	close(report[1]);
	close(hold[0]);
	assert_int_equal(pump_until(&s, epfd, report[0]), 'c');
	ch = pump_until(&s, epfd, report[0]);
	assert_int_equal((unsigned char)ch, 203); /* 3 refusals */
	assert_int_equal(ctlsock_clients(&s), 0);
	close(hold[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(report[0]);

	/* 4. idle connections are closed after idle_ms; active ones stay */
	s.idle_ms = 150;
	{
		int idle = dial(path), active = dial(path);
		pump(&s, epfd);
		assert_int_equal(ctlsock_clients(&s), 2);
		assert_true(ctlsock_timeout_ms(&s, mono_ms()) <= 150);
		for (int i = 0; i < 8; i++) { /* 8 x >= 50 ms */
			assert_true(write(active, "{\"cmd\":\"echo\",\"x\":1}\n", 21) == 21);
			pump(&s, epfd);
			first_line(active, 1000, line, sizeof(line));
			assert_string_equal(line, "{\"x\":1,\"ok\":true}\n");
			ctlsock_tick(&s, mono_ms());
		}
		assert_int_equal(ctlsock_clients(&s), 1);
		assert_int_equal(s.idle, 1);
		assert_int_equal(read(idle, line, sizeof(line)), 0); /* closed */
		close(idle);
		close(active);
	}
	ctlsock_close(&s);
	close(epfd);
	snprintf(line, sizeof(line), "rm -rf %s", dir);
	assert_int_equal(system(line), 0);
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
		cmocka_unit_test(test_dispatch),       cmocka_unit_test(test_socket),
		cmocka_unit_test(test_limits),	       cmocka_unit_test(test_metrics_http),
		cmocka_unit_test(test_metrics_listen),
	};
	log_init("test_ctlsock", VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
