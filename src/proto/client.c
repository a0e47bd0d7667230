/* client.c - host side of the agent protocol: non-blocking connect, hello, requests, timeouts, backoff. */
#include "proto/client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROTO_DEF_TIMEOUT_MS	     1000
#define PROTO_DEF_CONNECT_TIMEOUT_MS 2000
#define PROTO_DEF_BACKOFF_MIN_MS     100
#define PROTO_DEF_BACKOFF_MAX_MS     5000

uint64_t proto_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t proto_now_ms(void)
{
	return proto_now_us() / 1000u;
}

static const char *const proto_client_state_names[] = { "idle", "connecting", "hello", "ready" };

const char *proto_client_state_name(enum proto_client_state s)
{
	return (unsigned)s <= PROTO_CLIENT_READY ? proto_client_state_names[s] : "?";
}

void proto_client_init(struct proto_client *c, const struct proto_addr *addr,
		       const struct proto_client_opts *opts)
{
	memset(c, 0, sizeof(*c));
	c->addr = *addr;
	c->opts.epfd = -1;
	if (opts)
		c->opts = *opts;
	if (c->opts.timeout_ms == 0)
		c->opts.timeout_ms = PROTO_DEF_TIMEOUT_MS;
	if (c->opts.connect_timeout_ms == 0)
		c->opts.connect_timeout_ms = PROTO_DEF_CONNECT_TIMEOUT_MS;
	if (c->opts.backoff_min_ms == 0)
		c->opts.backoff_min_ms = PROTO_DEF_BACKOFF_MIN_MS;
	if (c->opts.backoff_max_ms < c->opts.backoff_min_ms)
		c->opts.backoff_max_ms = c->opts.backoff_min_ms > PROTO_DEF_BACKOFF_MAX_MS
						 ? c->opts.backoff_min_ms
						 : PROTO_DEF_BACKOFF_MAX_MS;
	c->fd = -1;
	c->state = PROTO_CLIENT_IDLE;
	c->next_attempt_ms = 0; /* the first tick connects */
	c->backoff_ms = c->opts.backoff_min_ms;
	c->next_id = 1;
	proto_linebuf_init(&c->in);
}

static void proto_client_set_state(struct proto_client *c, enum proto_client_state st,
				   const char *why)
{
	c->state = st;
	if (c->opts.on_state)
		c->opts.on_state(c->opts.arg, st, why);
}

/* Register (or update) the fd in the owner's epoll set. */
static void proto_client_watch(struct proto_client *c)
{
	uint32_t want = proto_client_events(c);
	struct epoll_event ev = { .events = want, .data.ptr = c->opts.epoll_ptr };

	if (c->opts.epfd < 0 || c->fd < 0 || want == c->events)
		return;
	if (epoll_ctl(c->opts.epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0)
		c->events = want;
}

static void proto_client_finish(struct proto_pending *p, enum proto_status st, const char *error)
{
	struct proto_result res = { .status = st, .id = p->id, .error = error };
	proto_reply_fn fn = p->fn;
	void *arg = p->arg;

	memset(p, 0, sizeof(*p));
	if (fn)
		fn(arg, &res);
}

/* Drop the connection; schedule the next attempt after the backoff. */
static void proto_client_fail(struct proto_client *c, const char *why, uint64_t now_ms)
{
	if (c->fd >= 0) {
		if (c->opts.epfd >= 0 && c->events)
			epoll_ctl(c->opts.epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->events = 0;
	c->out_len = 0;
	proto_linebuf_init(&c->in);
	json_decref(c->hello);
	c->hello = NULL;
	snprintf(c->last_error, sizeof(c->last_error), "%s", why);
	c->failures++;
	c->next_attempt_ms = now_ms + c->backoff_ms;
	c->backoff_ms = c->backoff_ms >= c->opts.backoff_max_ms / 2 ? c->opts.backoff_max_ms
								    : c->backoff_ms * 2;
	proto_client_set_state(c, PROTO_CLIENT_IDLE, why);
	for (int i = 0; i < PROTO_CLIENT_MAX_PENDING; i++)
		if (c->pending[i].used)
			proto_client_finish(&c->pending[i], PROTO_ST_DISCONNECTED, why);
}

void proto_client_close(struct proto_client *c)
{
	proto_client_fail(c, "closed", 0);
	c->failures = 0;
	c->next_attempt_ms = UINT64_MAX; /* no reconnect after a close */
}

int proto_client_fd(const struct proto_client *c)
{
	return c->fd;
}

uint32_t proto_client_events(const struct proto_client *c)
{
	if (c->fd < 0)
		return 0;
	if (c->state == PROTO_CLIENT_CONNECTING)
		return EPOLLOUT;
	return EPOLLIN | (c->out_len > 0 ? EPOLLOUT : 0);
}

enum proto_client_state proto_client_state(const struct proto_client *c)
{
	return c->state;
}

const json_t *proto_client_hello(const struct proto_client *c)
{
	return c->state == PROTO_CLIENT_READY ? c->hello : NULL;
}

const char *proto_client_last_error(const struct proto_client *c)
{
	return c->last_error;
}

/* Write what we can of the output buffer. Returns 0, or an errno value
 * for a hard error (the caller decides when to fail the connection). */
static int proto_client_write(struct proto_client *c)
{
	while (c->out_len > 0) {
		/* every host-side transport is a socket: no SIGPIPE if the agent left */
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return errno;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	proto_client_watch(c);
	return 0;
}

static void proto_client_read(struct proto_client *c, uint64_t now_ms);

/* Write, and drop the connection on a hard error. */
static int proto_client_flush(struct proto_client *c, uint64_t now_ms)
{
	int e = proto_client_write(c);

	if (e == EPIPE || e == ECONNRESET) {
		/* the agent closed: what it sent before (a refusal) says why */
		proto_client_read(c, now_ms);
		if (c->fd < 0)
			return -1;
	}
	if (e != 0) {
		char why[160];
		snprintf(why, sizeof(why), "write: %s", strerror(e));
		proto_client_fail(c, why, now_ms);
		return -1;
	}
	return 0;
}

static uint32_t proto_client_take_id(struct proto_client *c)
{
	uint32_t id = c->next_id++;

	if (c->next_id == 0)
		c->next_id = 1;
	return id;
}

/* Queue an encoded request and remember it as pending. */
static long proto_client_send(struct proto_client *c, const char *cmd, const json_t *args,
			      proto_reply_fn fn, void *arg, uint64_t deadline_ms)
{
	char line[PROTO_MAX_MSG + 1];
	struct proto_pending *slot = NULL;
	int n;

	for (int i = 0; i < PROTO_CLIENT_MAX_PENDING && !slot; i++)
		if (!c->pending[i].used)
			slot = &c->pending[i];
	if (!slot) {
		errno = ENOBUFS;
		return -1;
	}
	uint32_t id = proto_client_take_id(c);
	n = proto_encode_request(line, sizeof(line), id, cmd, args);
	if (n < 0) {
		errno = EMSGSIZE;
		return -1;
	}
	if (c->out_len + (size_t)n > sizeof(c->out)) {
		errno = ENOBUFS;
		return -1;
	}
	memcpy(c->out + c->out_len, line, (size_t)n);
	c->out_len += (size_t)n;
	*slot = (struct proto_pending){ .used = true,
					.id = id,
					.deadline_ms = deadline_ms,
					.sent_us = proto_now_us(),
					.fn = fn,
					.arg = arg };
	/* A hard write error shows up again as EPOLLERR/EPOLLHUP and fails the
	 * connection from handle_events: callbacks never run inside request(). */
	proto_client_write(c);
	return (long)id;
}

long proto_client_request(struct proto_client *c, const char *cmd, const json_t *args,
			  proto_reply_fn fn, void *arg, uint64_t now_ms)
{
	if (c->state != PROTO_CLIENT_READY) {
		errno = ENOTCONN;
		return -1;
	}
	return proto_client_send(c, cmd, args, fn, arg, now_ms + c->opts.timeout_ms);
}

static void proto_client_hello_done(void *arg, const struct proto_result *res)
{
	(void)arg;
	(void)res; /* handled in proto_client_line: the hello is not a user request */
}

/* Connected: say hello. */
static void proto_client_connected(struct proto_client *c, uint64_t now_ms)
{
	json_t *args = json_pack("{s:i}", "version", PROTO_VERSION);
	long id;

	proto_client_set_state(c, PROTO_CLIENT_HELLO, "connected");
	id = proto_client_send(c, "hello", args, proto_client_hello_done, NULL,
			       c->hello_deadline_ms);
	json_decref(args);
	if (id < 0) {
		proto_client_fail(c, "hello: cannot queue", now_ms);
		return;
	}
	c->hello_id = (uint32_t)id;
	proto_client_flush(c, now_ms);
}

static void proto_client_attempt(struct proto_client *c, uint64_t now_ms)
{
	char err[200];
	bool in_progress;

	c->hello_deadline_ms = now_ms + c->opts.connect_timeout_ms;
	c->fd = proto_connect(&c->addr, &in_progress, err, sizeof(err));
	if (c->fd < 0) {
		proto_client_fail(c, err, now_ms);
		return;
	}
	c->events = 0;
	proto_client_set_state(c, PROTO_CLIENT_CONNECTING, "connecting");
	if (!in_progress)
		proto_client_connected(c, now_ms);
	else
		proto_client_watch(c);
}

static struct proto_pending *proto_client_find(struct proto_client *c, uint32_t id)
{
	for (int i = 0; i < PROTO_CLIENT_MAX_PENDING; i++)
		if (c->pending[i].used && c->pending[i].id == id)
			return &c->pending[i];
	return NULL;
}

/* One reply line. Returns -1 when the connection was dropped. */
static int proto_client_line(struct proto_client *c, const char *line, size_t len, uint64_t now_ms)
{
	struct proto_reply rep;
	char err[256];
	struct proto_pending *p;

	if (proto_decode_reply(line, len, &rep, err, sizeof(err)) < 0) {
		char why[300];
		snprintf(why, sizeof(why), "bad reply from agent: %s", err);
		proto_client_fail(c, why, now_ms);
		return -1;
	}
	/* Replies without an id, or to a request that already timed out, are
	 * answers nobody waits for any more (e.g. after a reconnect over a
	 * serial port that kept old bytes). */
	/* An answer without an id during the hello is the agent turning us
	 * away ("too many connections") or not understanding us at all. */
	if (!rep.has_id && !rep.ok && c->state == PROTO_CLIENT_HELLO) {
		char why[300];
		snprintf(why, sizeof(why), "agent refused the connection: %s", rep.error);
		proto_reply_clear(&rep);
		proto_client_fail(c, why, now_ms);
		return -1;
	}
	p = rep.has_id ? proto_client_find(c, rep.id) : NULL;
	if (!p) {
		proto_reply_clear(&rep);
		return 0;
	}
	if (c->state == PROTO_CLIENT_HELLO && rep.id == c->hello_id) {
		memset(p, 0, sizeof(*p));
		if (!rep.ok) {
			char why[300];
			snprintf(why, sizeof(why), "hello refused: %s", rep.error);
			proto_reply_clear(&rep);
			proto_client_fail(c, why, now_ms);
			return -1;
		}
		c->hello = rep.result;
		c->failures = 0;
		c->backoff_ms = c->opts.backoff_min_ms;
		c->last_error[0] = '\0';
		proto_client_set_state(c, PROTO_CLIENT_READY, "ready");
		return 0;
	}
	struct proto_result res = {
		.status = rep.ok ? PROTO_ST_OK : PROTO_ST_AGENT_ERROR,
		.id = rep.id,
		.error = rep.ok ? NULL : rep.error,
		.result = rep.result,
		.rtt_us = proto_now_us() - p->sent_us,
	};
	proto_reply_fn fn = p->fn;
	void *arg = p->arg;
	memset(p, 0, sizeof(*p));
	if (fn)
		fn(arg, &res);
	proto_reply_clear(&rep);
	return 0;
}

static void proto_client_read(struct proto_client *c, uint64_t now_ms)
{
	for (;;) {
		size_t room = proto_linebuf_room(&c->in);
		ssize_t n = read(c->fd, proto_linebuf_space(&c->in), room);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			char why[160];
			snprintf(why, sizeof(why), "read: %s", strerror(errno));
			proto_client_fail(c, why, now_ms);
			return;
		}
		if (n == 0) {
			proto_client_fail(c, "agent closed the connection", now_ms);
			return;
		}
		proto_linebuf_commit(&c->in, (size_t)n);
		for (;;) {
			char *line;
			size_t len;
			enum proto_line_result r = proto_linebuf_next(&c->in, &line, &len);
			if (r == PROTO_LINE_NONE)
				break;
			if (r == PROTO_LINE_TOO_LONG) {
				proto_client_fail(c, "agent sent a message over 4096 bytes",
						  now_ms);
				return;
			}
			if (proto_client_line(c, line, len, now_ms) < 0)
				return;
		}
	}
}

void proto_client_handle_events(struct proto_client *c, uint32_t events, uint64_t now_ms)
{
	if (c->fd < 0)
		return;
	if (c->state == PROTO_CLIENT_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (proto_connect_result(c->fd) < 0) {
			char why[160];
			snprintf(why, sizeof(why), "connect: %s", strerror(errno));
			proto_client_fail(c, why, now_ms);
			return;
		}
		proto_client_connected(c, now_ms);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		proto_client_read(c, now_ms);
		if (c->fd < 0)
			return;
	}
	if (events & EPOLLOUT)
		proto_client_flush(c, now_ms);
}

void proto_client_tick(struct proto_client *c, uint64_t now_ms)
{
	if (c->state == PROTO_CLIENT_IDLE) {
		if (now_ms >= c->next_attempt_ms)
			proto_client_attempt(c, now_ms);
		return;
	}
	if (c->state != PROTO_CLIENT_READY) {
		if (now_ms >= c->hello_deadline_ms)
			proto_client_fail(c,
					  c->state == PROTO_CLIENT_CONNECTING
						  ? "connect timed out"
						  : "hello timed out (no agent on the other end?)",
					  now_ms);
		return;
	}
	for (int i = 0; i < PROTO_CLIENT_MAX_PENDING; i++)
		if (c->pending[i].used && now_ms >= c->pending[i].deadline_ms)
			proto_client_finish(&c->pending[i], PROTO_ST_TIMEOUT, "request timed out");
}

uint64_t proto_client_next_deadline_ms(const struct proto_client *c)
{
	uint64_t t = UINT64_MAX;

	if (c->state == PROTO_CLIENT_IDLE)
		return c->next_attempt_ms;
	if (c->state != PROTO_CLIENT_READY)
		return c->hello_deadline_ms;
	for (int i = 0; i < PROTO_CLIENT_MAX_PENDING; i++)
		if (c->pending[i].used && c->pending[i].deadline_ms < t)
			t = c->pending[i].deadline_ms;
	return t;
}

/* ---- Blocking convenience ----------------------------------------------------- */

struct proto_call_state {
	bool done;
	enum proto_status status;
	json_t *result;
	uint64_t rtt_us;
	char error[256];
};

static void proto_call_done(void *arg, const struct proto_result *res)
{
	struct proto_call_state *st = arg;

	st->done = true;
	st->status = res->status;
	st->rtt_us = res->rtt_us;
	if (res->result)
		st->result = json_incref((json_t *)res->result);
	if (res->error)
		snprintf(st->error, sizeof(st->error), "%s", res->error);
}

enum proto_status proto_client_call(struct proto_client *c, const char *cmd, const json_t *args,
				    uint32_t timeout_ms, json_t **result, uint64_t *rtt_us,
				    char *err, size_t errlen)
{
	struct proto_call_state st = { 0 };
	uint64_t now = proto_now_ms(), deadline = now + timeout_ms;
	bool sent = false;

	*result = NULL;
	/* Inside a blocking call the first attempt happens now, whatever the
	 * backoff said, so that a tool does not wait for nothing. */
	if (c->state == PROTO_CLIENT_IDLE && c->next_attempt_ms > now)
		c->next_attempt_ms = now;
	while (!st.done) {
		now = proto_now_ms();
		proto_client_tick(c, now);
		if (!sent && c->state == PROTO_CLIENT_READY) {
			if (proto_client_request(c, cmd, args, proto_call_done, &st, now) < 0) {
				snprintf(err, errlen, "%s: %s", cmd, strerror(errno));
				return PROTO_ST_DISCONNECTED;
			}
			sent = true;
			continue;
		}
		if (st.done)
			break;
		if (now >= deadline) {
			snprintf(err, errlen, "%s: no answer within %u ms%s%s", cmd, timeout_ms,
				 c->last_error[0] ? " (last error: " : "",
				 c->last_error[0] ? c->last_error : "");
			if (c->last_error[0])
				strncat(err, ")", errlen - strlen(err) - 1);
			return PROTO_ST_TIMEOUT;
		}
		uint64_t wake = proto_client_next_deadline_ms(c);
		if (wake > deadline)
			wake = deadline;
		int wait_ms = wake > now ? (int)(wake - now) : 0;
		if (c->fd >= 0) {
			struct pollfd pfd = { .fd = c->fd, .events = 0 };
			uint32_t ev = proto_client_events(c);
			pfd.events = (short)(((ev & EPOLLIN) ? POLLIN : 0) |
					     ((ev & EPOLLOUT) ? POLLOUT : 0));
			int r = poll(&pfd, 1, wait_ms);
			now = proto_now_ms();
			if (r > 0) {
				uint32_t got = ((pfd.revents & POLLIN) ? EPOLLIN : 0) |
					       ((pfd.revents & POLLOUT) ? EPOLLOUT : 0) |
					       ((pfd.revents & POLLHUP) ? EPOLLHUP : 0) |
					       ((pfd.revents & POLLERR) ? EPOLLERR : 0);
				proto_client_handle_events(c, got, now);
			}
		} else if (wait_ms > 0) {
			struct timespec ts = { wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
			now = proto_now_ms();
		}
	}
	if (rtt_us)
		*rtt_us = st.rtt_us;
	if (st.status == PROTO_ST_OK) {
		*result = st.result;
		return PROTO_ST_OK;
	}
	json_decref(st.result);
	snprintf(err, errlen, "%s", st.error);
	return st.status;
}
