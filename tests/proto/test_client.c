/* test_client.c - the host-side agent client: hello, replies, timeouts, disconnects, backoff (fake agent on a Unix socket). */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/client.h"

struct fx {
	char dir[64];
	struct proto_addr addr;
	int lfd; /* the fake agent's listening socket */
	int cfd; /* its accepted connection */
	struct proto_client c;
	char why[256]; /* last on_state reason */
	int states[16];
	int n_states;
};

struct cb {
	int calls;
	enum proto_status status;
	char error[256];
	json_int_t x;
	uint64_t rtt_us;
};

static void on_state(void *arg, enum proto_client_state st, const char *why)
{
	struct fx *f = arg;

	snprintf(f->why, sizeof(f->why), "%s", why);
	if (f->n_states < 16)
		f->states[f->n_states++] = (int)st;
}

static void on_reply(void *arg, const struct proto_result *res)
{
	struct cb *cb = arg;

	cb->calls++;
	cb->status = res->status;
	cb->rtt_us = res->rtt_us;
	snprintf(cb->error, sizeof(cb->error), "%s", res->error ? res->error : "");
	if (res->result)
		cb->x = json_integer_value(json_object_get(res->result, "x"));
}

static struct fx *fx_new(bool listen, uint32_t backoff_max_ms)
{
	struct fx *f = calloc(1, sizeof(*f));
	char text[128], err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vsa-client-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(text, sizeof(text), "unix:%s/agent.sock", f->dir);
	assert_int_equal(proto_addr_parse(text, &f->addr, err, sizeof(err)), 0);
	f->lfd = f->cfd = -1;
	if (listen) {
		f->lfd = proto_listen(&f->addr, err, sizeof(err));
		if (f->lfd < 0)
			fail_msg("listen: %s", err);
	}
	struct proto_client_opts o = { .timeout_ms = 1000,
				       .connect_timeout_ms = 2000,
				       .backoff_min_ms = 100,
				       .backoff_max_ms = backoff_max_ms,
				       .epfd = -1,
				       .on_state = on_state,
				       .arg = f };
	proto_client_init(&f->c, &f->addr, &o);
	return f;
}

static void fx_free(struct fx *f)
{
	proto_client_close(&f->c);
	if (f->cfd >= 0)
		close(f->cfd);
	if (f->lfd >= 0)
		close(f->lfd);
	unlink(f->addr.path);
	rmdir(f->dir);
	free(f);
}

/* Let the client handle whatever is ready on its fd (no waiting beyond ms). */
static void pump(struct fx *f, uint64_t now, int ms)
{
	for (int i = 0; i < 20; i++) {
		int fd = proto_client_fd(&f->c);
		if (fd < 0)
			return;
		uint32_t ev = proto_client_events(&f->c);
		struct pollfd p = { .fd = fd,
				    .events = (short)(((ev & EPOLLIN) ? POLLIN : 0) |
						      ((ev & EPOLLOUT) ? POLLOUT : 0)) };
		if (poll(&p, 1, i == 0 ? ms : 0) <= 0)
			return;
		uint32_t got = ((p.revents & POLLIN) ? EPOLLIN : 0) |
			       ((p.revents & POLLOUT) ? EPOLLOUT : 0) |
			       ((p.revents & POLLHUP) ? EPOLLHUP : 0) |
			       ((p.revents & POLLERR) ? EPOLLERR : 0);
		proto_client_handle_events(&f->c, got, now);
	}
}

static void srv_accept(struct fx *f)
{
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };
	char peer[64];

	assert_int_equal(poll(&p, 1, 2000), 1);
	f->cfd = proto_accept(f->lfd, &f->addr, peer, sizeof(peer));
	assert_true(f->cfd >= 0);
}

/* Read one request on the fake agent's side; returns its id and command. */
static uint32_t srv_read(struct fx *f, char *cmd, size_t len)
{
	char buf[PROTO_MAX_MSG + 1], err[256];
	size_t got = 0;
	struct proto_request req;

	for (;;) {
		struct pollfd p = { .fd = f->cfd, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 2000), 1);
		/* one byte at a time: never read past this request's newline */
		ssize_t n = read(f->cfd, buf + got, 1);
		if (n < 0 && errno == EAGAIN)
			continue;
		assert_int_equal(n, 1);
		if (buf[got] == '\n')
			break;
		got++;
		assert_true(got < PROTO_MAX_MSG);
	}
	if (proto_decode_request(buf, got, &req, err, sizeof(err)) != 0)
		fail_msg("client sent a bad request: %s", err);
	snprintf(cmd, len, "%s", proto_cmd_name(req.cmd));
	return req.id;
}

static void srv_send(struct fx *f, const char *text)
{
	assert_int_equal(write(f->cfd, text, strlen(text)), (ssize_t)strlen(text));
}

static void srv_ok(struct fx *f, uint32_t id, int x)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "{\"v\":1,\"id\":%u,\"ok\":true,\"result\":{\"x\":%d}}\n", id,
		 x);
	srv_send(f, buf);
}

/* Connect and complete the hello: the client is READY. */
static void make_ready(struct fx *f, uint64_t now)
{
	char cmd[32];

	proto_client_tick(&f->c, now);
	srv_accept(f);
	pump(f, now, 0);
	uint32_t id = srv_read(f, cmd, sizeof(cmd));
	assert_string_equal(cmd, "hello");
	assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_HELLO);
	srv_ok(f, id, 1);
	pump(f, now, 2000);
	assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_READY);
}

/* Nobody listens: each attempt fails at once and the wait doubles up to the cap. */
static void test_backoff(void **state)
{
	struct fx *f = fx_new(false, 500);
	uint64_t expect[] = { 100, 300, 700, 1200, 1700 };
	uint64_t now = 0;

	(void)state;
	for (int i = 0; i < 5; i++) {
		proto_client_tick(&f->c, now);
		assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_IDLE);
		assert_int_equal(proto_client_next_deadline_ms(&f->c), expect[i]);
		assert_non_null(strstr(f->why, "connect"));
		/* nothing happens before the deadline */
		proto_client_tick(&f->c, expect[i] - 1);
		assert_int_equal(f->c.failures, (unsigned)i + 1);
		now = expect[i];
	}
	assert_int_equal(proto_client_fd(&f->c), -1);
	errno = 0;
	assert_int_equal(proto_client_request(&f->c, "stats", NULL, on_reply, NULL, now), -1);
	assert_int_equal(errno, ENOTCONN);
	fx_free(f);
}

static void test_request_reply(void **state)
{
	struct fx *f = fx_new(true, 5000);
	struct cb a = { 0 }, b = { 0 };
	char cmd[32];
	uint64_t now = 1000;

	(void)state;
	make_ready(f, now);
	assert_non_null(proto_client_hello(&f->c));
	assert_int_equal(json_integer_value(json_object_get(proto_client_hello(&f->c), "x")), 1);

	json_t *args = json_pack("{s:s,s:i}", "ifname", "eth0", "n", 2);
	long id1 = proto_client_request(&f->c, "set_vnq", args, on_reply, &a, now);
	long id2 = proto_client_request(&f->c, "stats", NULL, on_reply, &b, now);
	json_decref(args);
	assert_true(id1 > 0 && id2 > 0 && id1 != id2);
	pump(f, now, 0);
	assert_int_equal(srv_read(f, cmd, sizeof(cmd)), (uint32_t)id1);
	assert_string_equal(cmd, "set_vnq");
	assert_int_equal(srv_read(f, cmd, sizeof(cmd)), (uint32_t)id2);
	/* answers may come in any order; a reply nobody asked for is ignored */
	srv_send(f, "{\"v\":1,\"id\":777,\"ok\":true}\n");
	char buf[160];
	snprintf(buf, sizeof(buf), "{\"v\":1,\"id\":%ld,\"ok\":false,\"error\":\"no such NIC\"}\n",
		 id2);
	srv_send(f, buf);
	srv_ok(f, (uint32_t)id1, 42);
	pump(f, now, 2000);
	pump(f, now, 100);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, PROTO_ST_OK);
	assert_int_equal(a.x, 42);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.status, PROTO_ST_AGENT_ERROR);
	assert_string_equal(b.error, "no such NIC");
	assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_READY);
	fx_free(f);
}

static void test_timeout_then_late_reply(void **state)
{
	struct fx *f = fx_new(true, 5000);
	struct cb a = { 0 };
	char cmd[32];
	uint64_t now = 1000;

	(void)state;
	make_ready(f, now);
	long id = proto_client_request(&f->c, "stats", NULL, on_reply, &a, now);
	assert_true(id > 0);
	pump(f, now, 0);
	srv_read(f, cmd, sizeof(cmd));
	assert_int_equal(proto_client_next_deadline_ms(&f->c), now + 1000);
	proto_client_tick(&f->c, now + 999);
	assert_int_equal(a.calls, 0);
	proto_client_tick(&f->c, now + 1000);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, PROTO_ST_TIMEOUT);
	/* the late answer is dropped; the connection stays up */
	srv_ok(f, (uint32_t)id, 5);
	pump(f, now + 1001, 200);
	assert_int_equal(a.calls, 1);
	assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_READY);
	fx_free(f);
}

static void test_disconnect_and_reconnect(void **state)
{
	struct fx *f = fx_new(true, 5000);
	struct cb a = { 0 };
	char cmd[32];
	uint64_t now = 1000;

	(void)state;
	make_ready(f, now);
	assert_true(proto_client_request(&f->c, "stats", NULL, on_reply, &a, now) > 0);
	pump(f, now, 0);
	srv_read(f, cmd, sizeof(cmd));
	close(f->cfd); /* the agent goes away */
	f->cfd = -1;
	pump(f, now, 2000);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, PROTO_ST_DISCONNECTED);
	assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_IDLE);
	assert_int_equal(proto_client_next_deadline_ms(&f->c), now + 100);
	/* it comes back: the next attempt is READY again, backoff reset */
	make_ready(f, now + 100);
	assert_int_equal(f->c.backoff_ms, 100);
	fx_free(f);
}

static void test_hello_garbage_and_timeout(void **state)
{
	struct fx *f = fx_new(true, 5000);
	char cmd[32];
	uint64_t now = 1000;

	(void)state;
	proto_client_tick(&f->c, now);
	srv_accept(f);
	pump(f, now, 0);
	srv_read(f, cmd, sizeof(cmd));
	srv_send(f, "this is not json\n");
	pump(f, now, 2000);
	assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_IDLE);
	assert_non_null(strstr(proto_client_last_error(&f->c), "bad reply from agent"));
	close(f->cfd);
	f->cfd = -1;

	/* an agent that never answers the hello */
	now += 100;
	proto_client_tick(&f->c, now);
	srv_accept(f);
	pump(f, now, 0);
	srv_read(f, cmd, sizeof(cmd));
	proto_client_tick(&f->c, now + 1999);
	assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_HELLO);
	proto_client_tick(&f->c, now + 2000);
	assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_IDLE);
	assert_non_null(strstr(proto_client_last_error(&f->c), "hello timed out"));
	fx_free(f);
}

static void test_hello_refused(void **state)
{
	struct fx *f = fx_new(true, 5000);
	char cmd[32], buf[160];
	uint64_t now = 1000;

	(void)state;
	proto_client_tick(&f->c, now);
	srv_accept(f);
	pump(f, now, 0);
	uint32_t id = srv_read(f, cmd, sizeof(cmd));
	snprintf(buf, sizeof(buf),
		 "{\"v\":1,\"id\":%u,\"ok\":false,\"error\":\"unsupported protocol\"}\n", id);
	srv_send(f, buf);
	pump(f, now, 2000);
	assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_IDLE);
	assert_non_null(strstr(proto_client_last_error(&f->c), "hello refused: unsupported"));
	close(f->cfd);
	f->cfd = -1;

	/* an agent that turns the connection away answers without an id */
	now += 100;
	proto_client_tick(&f->c, now);
	srv_accept(f);
	pump(f, now, 0);
	srv_read(f, cmd, sizeof(cmd));
	srv_send(f, "{\"v\":1,\"id\":null,\"ok\":false,\"error\":\"too many connections\"}\n");
	pump(f, now, 2000);
	assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_IDLE);
	assert_non_null(strstr(proto_client_last_error(&f->c),
			       "agent refused the connection: too many connections"));
	fx_free(f);
}

static void test_pending_limit(void **state)
{
	struct fx *f = fx_new(true, 5000);
	struct cb cbs[PROTO_CLIENT_MAX_PENDING + 1];
	uint64_t now = 1000;

	(void)state;
	memset(cbs, 0, sizeof(cbs));
	make_ready(f, now);
	for (int i = 0; i < PROTO_CLIENT_MAX_PENDING; i++)
		assert_true(proto_client_request(&f->c, "stats", NULL, on_reply, &cbs[i], now) > 0);
	errno = 0;
	assert_int_equal(proto_client_request(&f->c, "stats", NULL, on_reply,
					      &cbs[PROTO_CLIENT_MAX_PENDING], now),
			 -1);
	assert_int_equal(errno, ENOBUFS);
	/* close fails every pending request exactly once */
	proto_client_close(&f->c);
	for (int i = 0; i < PROTO_CLIENT_MAX_PENDING; i++) {
		assert_int_equal(cbs[i].calls, 1);
		assert_int_equal(cbs[i].status, PROTO_ST_DISCONNECTED);
	}
	assert_int_equal(cbs[PROTO_CLIENT_MAX_PENDING].calls, 0);
	assert_int_equal(proto_client_next_deadline_ms(&f->c), UINT64_MAX);
	fx_free(f);
}

/* With an epoll set, the client keeps its fd registered across reconnects. */
static void test_epoll_registration(void **state)
{
	struct fx *f = fx_new(true, 5000);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	char cmd[32];
	uint64_t now = 1000;

	(void)state;
	f->c.opts.epfd = ep;
	f->c.opts.epoll_ptr = &f->c;
	proto_client_tick(&f->c, now);
	srv_accept(f);
	struct epoll_event ev;
	/* after connecting, the hello waits to be flushed or was flushed */
	int n = epoll_wait(ep, &ev, 1, 1000);
	if (n == 1) {
		assert_ptr_equal(ev.data.ptr, &f->c);
		proto_client_handle_events(&f->c, ev.events, now);
	}
	uint32_t id = srv_read(f, cmd, sizeof(cmd));
	srv_ok(f, id, 1);
	n = epoll_wait(ep, &ev, 1, 2000);
	assert_int_equal(n, 1);
	assert_ptr_equal(ev.data.ptr, &f->c);
	proto_client_handle_events(&f->c, ev.events, now);
	assert_int_equal(proto_client_state(&f->c), PROTO_CLIENT_READY);
	proto_client_close(&f->c);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0); /* removed from the set */
	close(ep);
	fx_free(f);
}

/* The blocking helper against a fake agent served from a child process. */
static void test_call_blocking(void **state)
{
	struct fx *f = fx_new(true, 5000);
	char err[256];
	json_t *res = NULL;

	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char cmd[32];
		srv_accept(f);
		uint32_t id = srv_read(f, cmd, sizeof(cmd));
		srv_ok(f, id, 1);
		id = srv_read(f, cmd, sizeof(cmd));
		srv_ok(f, id, strcmp(cmd, "stats") == 0 ? 99 : 0);
		char buf[8];
		while (read(f->cfd, buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	uint64_t rtt = 0;
	enum proto_status st =
		proto_client_call(&f->c, "stats", NULL, 3000, &res, &rtt, err, sizeof(err));
	if (st != PROTO_ST_OK)
		fail_msg("call: %s", err);
	assert_int_equal(json_integer_value(json_object_get(res, "x")), 99);
	assert_true(rtt > 0);
	json_decref(res);
	proto_client_close(&f->c);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_request_reply),
		cmocka_unit_test(test_timeout_then_late_reply),
		cmocka_unit_test(test_disconnect_and_reconnect),
		cmocka_unit_test(test_hello_garbage_and_timeout),
		cmocka_unit_test(test_hello_refused),
		cmocka_unit_test(test_pending_limit),
		cmocka_unit_test(test_epoll_registration),
		cmocka_unit_test(test_call_blocking),
	};
	return VS_RUN_TESTS(tests);
}
