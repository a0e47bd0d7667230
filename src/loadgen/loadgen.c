/* loadgen.c - the open-loop load generator: Poisson arrivals over many connections, few threads. */
#include "loadgen/loadgen.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"

/* Smallest free space kept in a connection's read buffer before a read. */
#define LG_READ_CHUNK 16384
/* Longest a thread sleeps when nothing is due, so it sees a stop request. */
#define LG_IDLE_POLL_NS 50000000ull
/* While replies are outstanding and the thread reads them lazily (from the
 * kernel's receive timestamps, at its next send), it still looks at least this
 * often: connections come free and timeouts are seen in time. */
#define LG_LAZY_READ_NS 5000000ull
/* How often requests are checked for having timed out. */
#define LG_EXPIRE_SCAN_NS 10000000ull
#define LG_EVENTS	  128

/* lg_req.flags */
#define LG_REQ_MEASURED 1u /* intended inside [warm, end): counted */
#define LG_REQ_EXPIRED	2u /* timed out while in flight; its late reply is discarded */
#define LG_REQ_WRITTEN	4u /* its bytes went out in full (counted in sent) */

struct lg_req {
	uint64_t intended_ns; /* when the schedule wanted it sent */
	uint64_t taken_ns;    /* when the sender took it up (may precede intended_ns by at
				 most the coalescing window) */
	uint32_t key;	      /* memcached key id */
	uint8_t kind;	      /* enum proto_req_kind */
	uint8_t flags;	      /* LG_REQ_* */
};

/* Outcome of a measured request in the --raw output. */
enum lg_outcome {
	LG_OUT_OK,
	LG_OUT_MISS,
	LG_OUT_ERROR,
	LG_OUT_BAD,
	LG_OUT_TIMEOUT,
	LG_OUT_DROPPED
};

static const char *const lg_outcome_name[] = { "ok",	    "miss",    "error",
					       "bad_reply", "timeout", "dropped" };

struct lg_raw {
	uint64_t intended_ns;
	uint64_t latency_ns; /* UINT64_MAX: none */
	uint64_t lag_ns;
	uint8_t outcome; /* enum lg_outcome */
};

struct lg_rawbuf {
	struct lg_raw *v;
	size_t n, cap;
};

struct lg_conn {
	int fd; /* -1 while down */
	bool connecting;
	bool want_out;	   /* EPOLLOUT registered */
	bool in_idle;	   /* on the thread's idle stack */
	bool dirty;	   /* on the thread's flush list */
	struct lg_req *fl; /* requests in flight, oldest first (ring of pipeline_max) */
	unsigned fl_head, fl_len;
	unsigned fl_written; /* the first fl_written of them went out in full */
	char *wbuf;
	size_t wlen, woff, wcap;
	char *rbuf;
	size_t rlen, rcap;
	uint64_t retry_ns; /* while down: reconnect at this time */
	uint64_t replies;  /* replies since it was opened */
};

enum lg_phase { LG_CONNECT, LG_LOAD, LG_RUN, LG_DRAIN, LG_DONE };

struct lg_engine;

/* Window figures shared with the main thread (under lg_thread.mu). */
struct lg_window_counts {
	uint64_t ok, errors, timeouts, conn_failures;
};

struct lg_thread {
	struct lg_engine *eng;
	int id;
	pthread_t tid;
	int epfd;
	enum lg_phase phase;
	struct lg_conn *conns;
	int n_conns;
	int *idle; /* stack of connections with nothing in flight */
	int n_idle;
	int *dirty; /* connections with bytes to write */
	int n_dirty;
	int rr; /* round-robin start for pipelining */
	int n_up;
	int n_want_out; /* connections waiting for EPOLLOUT (connecting or a partial write) */
	uint64_t inflight;
	uint64_t expired_inflight; /* ... of which timed out (their replies are still due) */
	bool no_pwait2;		   /* the kernel has no epoll_pwait2: fall back to epoll_wait */
	bool rx_ts;		   /* every socket has SO_TIMESTAMPNS: replies may be read lazily */
	bool poll_due;		   /* woken on the clock: events not taken yet */
	struct etc_rng rng;
	double gap_mean_ns;
	double next_rel_ns;	 /* intended time of the next request, since t0 (a small
				    number: the same seed gives the same schedule) */
	uint64_t coalesce_ns;	 /* take up requests due this far ahead */
	uint64_t expire_next_ns; /* next timeout scan */
	/* requests due but not yet on a connection (ring) */
	struct lg_req *bl;
	size_t bl_head, bl_len, bl_cap;
	/* warm-up key load: SET keys [load_next, load_end) */
	uint32_t load_start, load_next, load_end, load_left;
	uint64_t load_last_ns; /* the last reply of the key load (or its start) */
	char *value_buf;
	/* results, private until joined */
	struct vs_hist lat, lag;
	uint64_t scheduled, sent, ok, errors, bad_replies, timeouts, dropped, received;
	uint64_t late_replies, connect_failures, conn_closed, conn_closed_unanswered, reconnects,
		hits, misses, load_errors, rx_timestamped;
	double cpu0_s, cpu_s; /* this thread's CPU at the start of the measured time; over it */
	bool cpu0_taken;
	char first_error[512];
	char first_conn_error[512];
	/* the current window, shared with the main thread */
	pthread_mutex_t mu;
	struct vs_hist *win, *win_spare;
	struct lg_window_counts wc;
	struct lg_rawbuf raw, raw_spare;
	uint64_t raw_lost; /* raw records lost for want of memory */
	/* set when the thread cannot go on (start-up) */
	bool failed;
	int fail_status; /* enum loadgen_status */
	char err[512];
};

struct lg_engine {
	const struct loadgen_config *cfg;
	struct etc_keys keys;
	char http_req[1400];
	size_t http_req_len;
	struct lg_thread *th;
	int n_threads;
	uint64_t timeout_ns;
	/* start gate: threads report ready (connected, keys loaded), then wait for go */
	pthread_mutex_t gate_mu;
	pthread_cond_t gate_cv;
	int n_ready;
	bool go;
	uint64_t t0_ns, warm_ns, end_ns, drain_end_ns;
	atomic_int abort; /* start-up failed or stop requested */
};

static uint64_t lg_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t lg_now_ns(void)
{
	return lg_clock_ns(CLOCK_MONOTONIC);
}

static double lg_thread_cpu_s(void)
{
	return (double)lg_clock_ns(CLOCK_THREAD_CPUTIME_ID) / 1e9;
}

double loadgen_coalesce_auto_us(double qps)
{
	return fmin(LOADGEN_COALESCE_PER_WAKE * 1e6 / qps, LOADGEN_COALESCE_MAX_US);
}

void loadgen_config_init(struct loadgen_config *c)
{
	memset(c, 0, sizeof(*c));
	c->protocol = LOADGEN_MEMCACHED;
	c->qps = 1000;
	c->duration_s = 10;
	c->warmup_s = 0;
	c->connections = 32;
	c->threads = 1;
	c->pipeline_max = 16;
	c->seed = 1;
	c->timeout_s = 1;
	c->max_lag_us = 500;
	c->max_error_pct = 0.1;
	c->coalesce_us = -1;
	c->keys = 10000;
	c->value_max = 4096;
	c->get_share = ETC_GET_PER_SET / (ETC_GET_PER_SET + 1);
	c->load_keys = true;
	str_copy(c->path, "/", sizeof(c->path));
	c->window_ms = 100;
}

int loadgen_set_server(struct loadgen_config *c, const char *hostport, char *err, size_t err_len)
{
	char host[256];
	const char *colon, *port_text;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	long port;
	size_t hlen;
	int rc;

	if (hostport[0] == '[') {
		const char *close = strchr(hostport, ']');
		if (!close || close[1] != ':') {
			snprintf(err, err_len, "\"%s\" is not [IPV6]:PORT", hostport);
			return -1;
		}
		hlen = (size_t)(close - hostport - 1);
		if (hlen >= sizeof(host))
			goto too_long;
		memcpy(host, hostport + 1, hlen);
		port_text = close + 2;
	} else {
		colon = strrchr(hostport, ':');
		if (!colon) {
			snprintf(err, err_len, "\"%s\" is not HOST:PORT", hostport);
			return -1;
		}
		hlen = (size_t)(colon - hostport);
		if (hlen >= sizeof(host))
			goto too_long;
		memcpy(host, hostport, hlen);
		port_text = colon + 1;
	}
	host[hlen] = '\0';
	if (hlen == 0) {
		snprintf(err, err_len, "\"%s\" names no host", hostport);
		return -1;
	}
	if (str_to_long(port_text, 1, 65535, &port) < 0) {
		snprintf(err, err_len, "port \"%s\" in \"%s\" is not a number in 1..65535",
			 port_text, hostport);
		return -1;
	}
	rc = getaddrinfo(host, port_text, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, err_len, "cannot resolve host \"%s\": %s", host, gai_strerror(rc));
		return -1;
	}
	memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
	c->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	str_copy(c->server, hostport, sizeof(c->server));
	return 0;
too_long:
	snprintf(err, err_len, "host in \"%s\" is too long", hostport);
	return -1;
}

double loadgen_quantile_us(const struct vs_hist *h, double q)
{
	return (double)hist_quantile(h, q) / 1000.0;
}

static void lg_note_error(struct lg_thread *t, const char *what)
{
	if (t->first_error[0] == '\0')
		snprintf(t->first_error, sizeof(t->first_error), "%s", what);
}

/* A connection failed during the run: a connect refused or failed
 * (LG_CF_CONNECT), or the connection reset or closed with requests in flight
 * (LG_CF_CLOSED). Counted apart from the requests, which are sent again. */
enum lg_conn_fail { LG_CF_CONNECT, LG_CF_CLOSED };

static void lg_conn_failure(struct lg_thread *t, struct lg_conn *c, enum lg_conn_fail kind,
			    const char *what)
{
	if (kind == LG_CF_CONNECT) {
		t->connect_failures++;
	} else {
		t->conn_closed++;
		if (c && c->replies == 0)
			t->conn_closed_unanswered++;
	}
	if (t->first_conn_error[0] == '\0')
		snprintf(t->first_conn_error, sizeof(t->first_conn_error), "%s", what);
	pthread_mutex_lock(&t->mu);
	t->wc.conn_failures++;
	pthread_mutex_unlock(&t->mu);
}

/* --- per-request outcomes: totals, the window, --raw --- */

static void lg_raw_add(struct lg_thread *t, const struct lg_req *q, uint64_t latency_ns,
		       enum lg_outcome out)
{
	struct lg_rawbuf *b = &t->raw;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		struct lg_raw *nv = realloc(b->v, cap * sizeof(*nv));
		if (!nv) {
			t->raw_lost++;
			return;
		}
		b->v = nv;
		b->cap = cap;
	}
	b->v[b->n++] = (struct lg_raw){
		.intended_ns = q->intended_ns,
		.latency_ns = latency_ns,
		.lag_ns = q->taken_ns > q->intended_ns ? q->taken_ns - q->intended_ns : 0,
		.outcome = (uint8_t)out,
	};
}

/* A measured request's final outcome (not for ok replies: lg_complete). */
static void lg_outcome(struct lg_thread *t, const struct lg_req *q, enum lg_outcome out)
{
	switch (out) {
	case LG_OUT_ERROR:
		t->errors++;
		break;
	case LG_OUT_BAD:
		t->bad_replies++;
		break;
	case LG_OUT_TIMEOUT:
		t->timeouts++;
		break;
	case LG_OUT_DROPPED:
		t->dropped++;
		break;
	default:
		break;
	}
	pthread_mutex_lock(&t->mu);
	if (out == LG_OUT_TIMEOUT || out == LG_OUT_DROPPED)
		t->wc.timeouts++;
	else
		t->wc.errors++;
	if (t->eng->cfg->raw)
		lg_raw_add(t, q, UINT64_MAX, out);
	pthread_mutex_unlock(&t->mu);
}

/* --- backlog: requests due but not yet on a connection --- */

static int lg_bl_grow(struct lg_thread *t)
{
	size_t cap = t->bl_cap ? t->bl_cap * 2 : 1024;
	struct lg_req *nb;

	if (cap > LOADGEN_BACKLOG_MAX)
		return -1;
	nb = malloc(cap * sizeof(*nb));
	if (!nb)
		return -1;
	for (size_t i = 0; i < t->bl_len; i++)
		nb[i] = t->bl[(t->bl_head + i) % t->bl_cap];
	free(t->bl);
	t->bl = nb;
	t->bl_head = 0;
	t->bl_cap = cap;
	return 0;
}

static void lg_bl_drop(struct lg_thread *t, const struct lg_req *q)
{
	if (q->flags & LG_REQ_MEASURED)
		lg_outcome(t, q, LG_OUT_DROPPED);
	lg_note_error(t, "requests dropped: more than 1M waiting for a connection");
}

static void lg_bl_push(struct lg_thread *t, const struct lg_req *q)
{
	if (t->bl_len == t->bl_cap && lg_bl_grow(t) < 0) {
		lg_bl_drop(t, q);
		return;
	}
	t->bl[(t->bl_head + t->bl_len) % t->bl_cap] = *q;
	t->bl_len++;
}

static void lg_bl_push_front(struct lg_thread *t, const struct lg_req *q)
{
	if (t->bl_len == t->bl_cap && lg_bl_grow(t) < 0) {
		lg_bl_drop(t, q);
		return;
	}
	t->bl_head = (t->bl_head + t->bl_cap - 1) % t->bl_cap;
	t->bl[t->bl_head] = *q;
	t->bl_len++;
}

static struct lg_req lg_bl_pop(struct lg_thread *t)
{
	struct lg_req q = t->bl[t->bl_head];

	t->bl_head = (t->bl_head + 1) % t->bl_cap;
	t->bl_len--;
	return q;
}

/* --- connections --- */

static int lg_epoll_set(struct lg_thread *t, struct lg_conn *c, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
	bool out = c->connecting || c->wlen > c->woff;

	if (out)
		ev.events |= EPOLLOUT;
	if (out != c->want_out)
		t->n_want_out += out ? 1 : -1;
	c->want_out = out;
	return epoll_ctl(t->epfd, op, c->fd, &ev);
}

static void lg_idle_push(struct lg_thread *t, struct lg_conn *c)
{
	if (!c->in_idle) {
		c->in_idle = true;
		t->idle[t->n_idle++] = (int)(c - t->conns);
	}
}

static void lg_dirty_push(struct lg_thread *t, struct lg_conn *c)
{
	if (!c->dirty) {
		c->dirty = true;
		t->dirty[t->n_dirty++] = (int)(c - t->conns);
	}
}

/* Start a non-blocking connect. Returns 0 (connected or in progress) or -1 with errno. */
static int lg_conn_open(struct lg_thread *t, struct lg_conn *c)
{
	const struct loadgen_config *cfg = t->eng->cfg;
	int one = 1, fd;

	fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* the kernel's receive time of each reply: replies need not be read at once */
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		t->rx_ts = false;
	if (connect(fd, (const struct sockaddr *)&cfg->addr, cfg->addr_len) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	c->fd = fd;
	c->connecting = true;
	c->replies = 0;
	c->wlen = c->woff = c->rlen = 0;
	if (lg_epoll_set(t, c, EPOLL_CTL_ADD) < 0) {
		int e = errno;
		close(fd);
		c->fd = -1;
		c->connecting = false;
		t->n_want_out--;
		c->want_out = false;
		errno = e;
		return -1;
	}
	return 0;
}

/* Close c; its requests in flight go back to the front of the backlog (in
 * order, keeping their intended and start times) to be sent again, except
 * those that already timed out. */
static void lg_conn_reset(struct lg_thread *t, struct lg_conn *c, uint64_t retry_after_ns)
{
	unsigned cap = (unsigned)t->eng->cfg->pipeline_max;

	if (c->fd >= 0) {
		epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		if (!c->connecting)
			t->n_up--;
	}
	if (c->want_out)
		t->n_want_out--;
	c->want_out = false;
	c->fd = -1;
	c->connecting = false;
	for (unsigned i = c->fl_len; i-- > 0;) {
		struct lg_req *q = &c->fl[(c->fl_head + i) % cap];
		if (q->flags & LG_REQ_EXPIRED)
			t->expired_inflight--;
		else
			lg_bl_push_front(t, q);
	}
	t->inflight -= c->fl_len;
	c->fl_len = 0;
	c->fl_head = 0;
	c->fl_written = 0;
	c->wlen = c->woff = c->rlen = 0;
	c->retry_ns = lg_now_ns() + retry_after_ns;
}

static void lg_conn_connected(struct lg_thread *t, struct lg_conn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr != 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "cannot connect to %s: %s", t->eng->cfg->server,
			 strerror(soerr));
		if (t->phase == LG_CONNECT) {
			t->failed = true;
			t->fail_status = LOADGEN_E_START;
			snprintf(t->err, sizeof(t->err), "%s", msg);
		} else {
			lg_conn_failure(t, c, LG_CF_CONNECT, msg);
		}
		lg_conn_reset(t, c, LOADGEN_RECONNECT_MS * 1000000ull);
		return;
	}
	c->connecting = false;
	t->n_up++;
	lg_epoll_set(t, c, EPOLL_CTL_MOD);
	lg_idle_push(t, c);
}

/* Reopen connections whose retry time has come; returns the earliest pending retry (0: none). */
static uint64_t lg_reconnect_due(struct lg_thread *t, uint64_t now)
{
	uint64_t next = 0;

	if (t->n_up == t->n_conns)
		return 0;
	for (int i = 0; i < t->n_conns; i++) {
		struct lg_conn *c = &t->conns[i];
		if (c->fd >= 0)
			continue;
		if (c->retry_ns <= now) {
			if (lg_conn_open(t, c) < 0) {
				char msg[512];
				snprintf(msg, sizeof(msg), "cannot connect to %s: %s",
					 t->eng->cfg->server, strerror(errno));
				lg_conn_failure(t, c, LG_CF_CONNECT, msg);
				c->retry_ns = now + LOADGEN_RECONNECT_MS * 1000000ull;
			} else {
				t->reconnects++;
				continue;
			}
		}
		if (next == 0 || c->retry_ns < next)
			next = c->retry_ns;
	}
	return next;
}

/* --- requests --- */

static int lg_wbuf_reserve(struct lg_conn *c, size_t need)
{
	if (c->wcap - c->wlen >= need)
		return 0;
	if (c->woff > 0) {
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
		if (c->wcap - c->wlen >= need)
			return 0;
	}
	size_t cap = c->wcap ? c->wcap : 4096;
	while (cap - c->wlen < need)
		cap *= 2;
	char *nb = realloc(c->wbuf, cap);
	if (!nb)
		return -1;
	c->wbuf = nb;
	c->wcap = cap;
	return 0;
}

static size_t lg_put_u32(char *dst, uint32_t v)
{
	char tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

/* Append q's bytes to c's write buffer. */
static int lg_encode(struct lg_thread *t, struct lg_conn *c, const struct lg_req *q)
{
	const struct lg_engine *e = t->eng;
	char *p;

	if (q->kind == PROTO_HTTP_GET) {
		if (lg_wbuf_reserve(c, e->http_req_len) < 0)
			return -1;
		memcpy(c->wbuf + c->wlen, e->http_req, e->http_req_len);
		c->wlen += e->http_req_len;
		return 0;
	}
	uint32_t vlen = e->keys.value_len[q->key];
	if (lg_wbuf_reserve(c, 4 + ETC_KEY_MAX + 24 + vlen + 2) < 0)
		return -1;
	p = c->wbuf + c->wlen;
	if (q->kind == PROTO_MC_GET) {
		memcpy(p, "get ", 4);
		p += 4;
		p += etc_key_format(&e->keys, q->key, p);
	} else {
		memcpy(p, "set ", 4);
		p += 4;
		p += etc_key_format(&e->keys, q->key, p);
		memcpy(p, " 0 0 ", 5);
		p += 5;
		p += lg_put_u32(p, vlen);
		*p++ = '\r';
		*p++ = '\n';
		memcpy(p, t->value_buf, vlen);
		p += vlen;
	}
	*p++ = '\r';
	*p++ = '\n';
	c->wlen = (size_t)(p - c->wbuf);
	return 0;
}

/* A connection for one more request: an idle one, else one with pipeline room. */
static struct lg_conn *lg_pick(struct lg_thread *t)
{
	unsigned cap = (unsigned)t->eng->cfg->pipeline_max;

	while (t->n_idle > 0) {
		struct lg_conn *c = &t->conns[t->idle[--t->n_idle]];
		c->in_idle = false;
		if (c->fd >= 0 && !c->connecting && c->fl_len == 0)
			return c;
	}
	if (cap == 1)
		return NULL;
	for (int k = 0; k < t->n_conns; k++) {
		int i = (t->rr + k) % t->n_conns;
		struct lg_conn *c = &t->conns[i];
		if (c->fd >= 0 && !c->connecting && c->fl_len < cap) {
			t->rr = (i + 1) % t->n_conns;
			return c;
		}
	}
	return NULL;
}

static void lg_dispatch(struct lg_thread *t)
{
	unsigned cap = (unsigned)t->eng->cfg->pipeline_max;

	while (t->bl_len > 0) {
		struct lg_conn *c = lg_pick(t);
		struct lg_req q;

		if (!c)
			return;
		q = lg_bl_pop(t);
		if (lg_encode(t, c, &q) < 0) {
			lg_bl_push_front(t, &q);
			lg_note_error(t, "out of memory for a write buffer");
			return;
		}
		c->fl[(c->fl_head + c->fl_len) % cap] = q;
		c->fl_len++;
		t->inflight++;
		lg_dirty_push(t, c);
	}
}

/* Everything queued on c went out: its requests count as sent. */
static void lg_mark_written(struct lg_thread *t, struct lg_conn *c)
{
	unsigned cap = (unsigned)t->eng->cfg->pipeline_max;

	for (unsigned i = c->fl_written; i < c->fl_len; i++) {
		struct lg_req *q = &c->fl[(c->fl_head + i) % cap];
		if (!(q->flags & LG_REQ_WRITTEN)) {
			q->flags |= LG_REQ_WRITTEN;
			if (q->flags & LG_REQ_MEASURED)
				t->sent++;
		}
	}
	c->fl_written = c->fl_len;
}

static void lg_flush(struct lg_thread *t, struct lg_conn *c)
{
	while (c->fd >= 0 && c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
		if (n > 0) {
			c->woff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!c->want_out)
				lg_epoll_set(t, c, EPOLL_CTL_MOD);
			return;
		}
		char msg[512];
		snprintf(msg, sizeof(msg), "sending to %s failed: %s", t->eng->cfg->server,
			 n < 0 ? strerror(errno) : "nothing written");
		lg_conn_failure(t, c, LG_CF_CLOSED, msg);
		lg_conn_reset(t, c, LOADGEN_RECONNECT_MS * 1000000ull);
		return;
	}
	if (c->fd >= 0) {
		c->wlen = c->woff = 0;
		lg_mark_written(t, c);
		if (c->want_out)
			lg_epoll_set(t, c, EPOLL_CTL_MOD);
	}
}

static void lg_flush_dirty(struct lg_thread *t)
{
	for (int i = 0; i < t->n_dirty; i++) {
		struct lg_conn *c = &t->conns[t->dirty[i]];
		c->dirty = false;
		lg_flush(t, c);
	}
	t->n_dirty = 0;
}

/* The schedule: every request whose intended time has come, or comes within
 * the coalescing window, joins the backlog. */
static void lg_generate(struct lg_thread *t, uint64_t now)
{
	const struct lg_engine *e = t->eng;
	const struct loadgen_config *cfg = e->cfg;
	uint64_t horizon = now + t->coalesce_ns;

	for (;;) {
		struct lg_req q = { .intended_ns = e->t0_ns + (uint64_t)t->next_rel_ns,
				    .taken_ns = now };

		if (q.intended_ns > horizon || q.intended_ns >= e->end_ns)
			break;

		if (q.intended_ns >= e->warm_ns)
			q.flags = LG_REQ_MEASURED;
		if (cfg->protocol == LOADGEN_HTTP) {
			q.kind = PROTO_HTTP_GET;
		} else {
			q.kind = etc_rng_unit(&t->rng) < cfg->get_share ? PROTO_MC_GET
									: PROTO_MC_SET;
			q.key = (uint32_t)etc_rng_below(&t->rng, e->keys.n_keys);
		}
		if (q.flags & LG_REQ_MEASURED) {
			t->scheduled++;
			hist_add(&t->lag, now > q.intended_ns ? now - q.intended_ns : 0);
		}
		lg_bl_push(t, &q);
		t->next_rel_ns += etc_rng_exp(&t->rng, t->gap_mean_ns);
	}
}

/* The warm-up key load: closed loop, as fast as the connections allow. */
static void lg_generate_load(struct lg_thread *t, uint64_t now)
{
	size_t room = (size_t)t->n_conns * (size_t)t->eng->cfg->pipeline_max;

	while (t->load_next < t->load_end && t->bl_len + t->inflight < room) {
		struct lg_req q = { .intended_ns = now,
				    .taken_ns = now,
				    .key = t->load_next++,
				    .kind = PROTO_MC_SET };
		lg_bl_push(t, &q);
	}
}

/* A reply to q arrived at rx_ns. */
static void lg_complete(struct lg_thread *t, const struct lg_req *q, const struct proto_resp *r,
			uint64_t rx_ns)
{
	const struct lg_engine *e = t->eng;
	uint64_t start = q->taken_ns < q->intended_ns ? q->taken_ns : q->intended_ns;
	uint64_t lat = rx_ns > start ? rx_ns - start : 0;
	bool rejected = r->status == PROTO_REJECTED;

	if (t->phase == LG_LOAD) {
		t->load_left--;
		t->load_last_ns = rx_ns;
		if (rejected) {
			t->load_errors++;
			lg_note_error(t, "the server rejected a SET of the warm-up load");
		}
		return;
	}
	if (rx_ns >= e->warm_ns && rx_ns < e->end_ns)
		t->received++;
	if (q->flags & LG_REQ_EXPIRED) {
		if (q->flags & LG_REQ_MEASURED)
			t->late_replies++;
		return;
	}
	if (!(q->flags & LG_REQ_MEASURED)) {
		/* warm-up at the rate: windows only */
		pthread_mutex_lock(&t->mu);
		if (rejected) {
			t->wc.errors++;
		} else {
			hist_add(t->win, lat);
			t->wc.ok++;
		}
		pthread_mutex_unlock(&t->mu);
		return;
	}
	if (rejected) {
		char msg[64];
		if (q->kind == PROTO_HTTP_GET)
			snprintf(msg, sizeof(msg), "HTTP status %d", r->http_status);
		else
			snprintf(msg, sizeof(msg), "memcached error reply to %s",
				 q->kind == PROTO_MC_GET ? "get" : "set");
		lg_note_error(t, msg);
		lg_outcome(t, q, LG_OUT_ERROR);
		return;
	}
	t->ok++;
	hist_add(&t->lat, lat);
	if (q->kind == PROTO_MC_GET) {
		if (r->status == PROTO_HIT)
			t->hits++;
		else
			t->misses++;
	}
	pthread_mutex_lock(&t->mu);
	hist_add(t->win, lat);
	t->wc.ok++;
	if (e->cfg->raw)
		lg_raw_add(t, q, lat, r->status == PROTO_MISS ? LG_OUT_MISS : LG_OUT_OK);
	pthread_mutex_unlock(&t->mu);
}

/* The reply's arrival time on CLOCK_MONOTONIC from a SCM_TIMESTAMPNS
 * (CLOCK_REALTIME) receive timestamp; now_* are both clocks read together. */
static uint64_t lg_rx_time(const struct msghdr *m, uint64_t now_mono, uint64_t now_real,
			   bool *stamped)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR((struct msghdr *)m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
			struct timespec ts;
			uint64_t real, age;
			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			real = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			if (real > now_real)
				return now_mono; /* the clock was stepped: use the read time */
			age = now_real - real;
			if (age > now_mono)
				return now_mono;
			*stamped = true;
			return now_mono - age;
		}
	return now_mono;
}

/* The oldest request in flight on c got bytes that are no valid reply: it is a
 * bad reply (not sent again); the connection is dropped. */
static void lg_bad_head(struct lg_thread *t, struct lg_conn *c, const char *why)
{
	unsigned cap = (unsigned)t->eng->cfg->pipeline_max;
	char msg[512];

	snprintf(msg, sizeof(msg), "bad reply from %s: %s", t->eng->cfg->server, why);
	lg_note_error(t, msg);
	if (c->fl_len > 0) {
		struct lg_req done = c->fl[c->fl_head];
		c->fl_head = (c->fl_head + 1) % cap;
		c->fl_len--;
		if (c->fl_written > 0)
			c->fl_written--;
		t->inflight--;
		if (done.flags & LG_REQ_EXPIRED) {
			t->expired_inflight--;
		} else if (t->phase == LG_LOAD) {
			t->load_left--;
			t->load_errors++;
		} else if (done.flags & LG_REQ_MEASURED) {
			lg_outcome(t, &done, LG_OUT_BAD);
		}
	}
	lg_conn_reset(t, c, LOADGEN_RECONNECT_MS * 1000000ull);
}

static void lg_conn_readable(struct lg_thread *t, struct lg_conn *c)
{
	unsigned cap = (unsigned)t->eng->cfg->pipeline_max;
	bool eof = false, stamped = false;
	size_t off = 0;
	uint64_t now = 0, rx = 0;

	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(struct timespec))];
		struct iovec iov;
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;
		if (c->rcap - c->rlen < LG_READ_CHUNK) {
			size_t ncap = c->rcap ? c->rcap * 2 : 2 * LG_READ_CHUNK;
			char *nb;
			if (ncap > PROTO_BODY_MAX + PROTO_HTTP_HEAD_MAX + 2 * LG_READ_CHUNK) {
				lg_bad_head(t, c, "reply larger than the read buffer limit");
				return;
			}
			nb = realloc(c->rbuf, ncap);
			if (!nb) {
				lg_note_error(t, "out of memory for a read buffer");
				lg_conn_reset(t, c, LOADGEN_RECONNECT_MS * 1000000ull);
				return;
			}
			c->rbuf = nb;
			c->rcap = ncap;
		}
		iov.iov_base = c->rbuf + c->rlen;
		iov.iov_len = c->rcap - c->rlen;
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		n = recvmsg(c->fd, &m, 0);
		if (n > 0) {
			c->rlen += (size_t)n;
			now = lg_now_ns();
			rx = lg_rx_time(&m, now, lg_clock_ns(CLOCK_REALTIME), &stamped);
			if ((size_t)n < iov.iov_len)
				break;
			continue;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break;
		eof = true; /* ECONNRESET and friends: like a close */
		break;
	}
	if (now == 0)
		now = rx = lg_now_ns();
	while (c->fl_len > 0) {
		struct lg_req *q = &c->fl[c->fl_head];
		struct proto_resp r;
		const char *why = NULL;
		long used =
			q->kind == PROTO_HTTP_GET
				? proto_http_parse(c->rbuf + off, c->rlen - off, &r, &why)
				: proto_mc_parse(c->rbuf + off, c->rlen - off, q->kind, &r, &why);
		struct lg_req done;
		uint64_t start;

		if (used == 0)
			break;
		if (used < 0) {
			lg_bad_head(t, c, why ? why : "malformed");
			return;
		}
		done = *q;
		c->fl_head = (c->fl_head + 1) % cap;
		c->fl_len--;
		if (c->fl_written > 0)
			c->fl_written--;
		t->inflight--;
		if (done.flags & LG_REQ_EXPIRED)
			t->expired_inflight--;
		off += (size_t)used;
		c->replies++;
		/* a reply cannot arrive before its request left */
		start = done.taken_ns < done.intended_ns ? done.taken_ns : done.intended_ns;
		if (stamped && t->phase != LG_LOAD && (done.flags & LG_REQ_MEASURED) &&
		    !(done.flags & LG_REQ_EXPIRED) && r.status != PROTO_REJECTED)
			t->rx_timestamped++;
		lg_complete(t, &done, &r, rx > start ? rx : now);
		if (r.close) {
			/* HTTP "Connection: close": whatever was pipelined behind it is resent. */
			lg_conn_reset(t, c, 0);
			return;
		}
	}
	if (off < c->rlen && c->fl_len == 0) {
		lg_note_error(t, "the server sent bytes nobody asked for");
		lg_conn_failure(t, c, LG_CF_CLOSED, "the server sent bytes nobody asked for");
		lg_conn_reset(t, c, LOADGEN_RECONNECT_MS * 1000000ull);
		return;
	}
	if (off > 0) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	if (eof) {
		if (c->fl_len > 0) {
			char msg[512];
			snprintf(msg, sizeof(msg), "%s closed a connection with requests in flight",
				 t->eng->cfg->server);
			lg_conn_failure(t, c, LG_CF_CLOSED, msg);
		}
		lg_conn_reset(t, c, c->fl_len > 0 ? LOADGEN_RECONNECT_MS * 1000000ull : 0);
		return;
	}
	if (c->fl_len == 0)
		lg_idle_push(t, c);
}

static void lg_handle_events(struct lg_thread *t, struct epoll_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		struct lg_conn *c = ev[i].data.ptr;
		if (c->fd < 0)
			continue;
		if (c->connecting) {
			lg_conn_connected(t, c);
			continue;
		}
		if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			lg_conn_readable(t, c);
		if (c->fd >= 0 && (ev[i].events & EPOLLOUT))
			lg_flush(t, c);
	}
}

/* Requests whose timeout has passed: those waiting for a connection leave the
 * backlog, those in flight are marked (their late replies are discarded). The
 * backlog and each connection are in intended-time order, so each is looked at
 * from its oldest request until one that is still in time. */
static void lg_expire(struct lg_thread *t, uint64_t now)
{
	uint64_t tmo = t->eng->timeout_ns;
	unsigned cap = (unsigned)t->eng->cfg->pipeline_max;

	while (t->bl_len > 0) {
		const struct lg_req *q = &t->bl[t->bl_head];
		uint64_t start = q->taken_ns < q->intended_ns ? q->taken_ns : q->intended_ns;
		struct lg_req gone;
		if (start + tmo > now)
			break;
		gone = lg_bl_pop(t);
		if (gone.flags & LG_REQ_MEASURED)
			lg_outcome(t, &gone, LG_OUT_TIMEOUT);
	}
	if (t->inflight == t->expired_inflight)
		return;
	for (int k = 0; k < t->n_conns; k++) {
		struct lg_conn *c = &t->conns[k];
		for (unsigned i = 0; i < c->fl_len; i++) {
			struct lg_req *q = &c->fl[(c->fl_head + i) % cap];
			uint64_t start =
				q->taken_ns < q->intended_ns ? q->taken_ns : q->intended_ns;
			if (q->flags & LG_REQ_EXPIRED)
				continue;
			if (start + tmo > now)
				break;
			q->flags |= LG_REQ_EXPIRED;
			t->expired_inflight++;
			if (q->flags & LG_REQ_MEASURED)
				lg_outcome(t, q, LG_OUT_TIMEOUT);
		}
	}
}

/* The run is over (drain deadline or stop): what is still unanswered times out. */
static void lg_count_timeouts(struct lg_thread *t)
{
	unsigned cap = (unsigned)t->eng->cfg->pipeline_max;

	for (size_t i = 0; i < t->bl_len; i++) {
		const struct lg_req *q = &t->bl[(t->bl_head + i) % t->bl_cap];
		if (q->flags & LG_REQ_MEASURED)
			lg_outcome(t, q, LG_OUT_TIMEOUT);
	}
	t->bl_len = 0;
	for (int k = 0; k < t->n_conns; k++) {
		struct lg_conn *c = &t->conns[k];
		for (unsigned i = 0; i < c->fl_len; i++) {
			struct lg_req *q = &c->fl[(c->fl_head + i) % cap];
			if ((q->flags & LG_REQ_MEASURED) && !(q->flags & LG_REQ_EXPIRED)) {
				q->flags |= LG_REQ_EXPIRED;
				t->expired_inflight++;
				lg_outcome(t, q, LG_OUT_TIMEOUT);
			}
		}
	}
}

static void lg_fail(struct lg_thread *t, int status, const char *msg)
{
	t->failed = true;
	t->fail_status = status;
	snprintf(t->err, sizeof(t->err), "%s", msg);
}

/* Take whatever events are there, without waiting. */
static void lg_poll(struct lg_thread *t)
{
	struct epoll_event ev[LG_EVENTS];
	int n;

	t->poll_due = false;
	do {
		n = epoll_wait(t->epfd, ev, LG_EVENTS, 0);
		if (n > 0)
			lg_handle_events(t, ev, n);
	} while (n == LG_EVENTS);
}

/* Sleep until wake_ns: in epoll (any reply or writable socket wakes it), or
 * when lazy on the clock alone (the events are then taken by lg_poll). */
static void lg_wait(struct lg_thread *t, uint64_t now, uint64_t wake_ns, bool lazy)
{
	struct epoll_event ev[LG_EVENTS];
	uint64_t wait = wake_ns > now ? wake_ns - now : 0;
	int n;

	if (lazy) {
		struct timespec ts = { .tv_sec = (time_t)(wake_ns / 1000000000ull),
				       .tv_nsec = (long)(wake_ns % 1000000000ull) };
		if (wait > 0)
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		/* the replies are read after the due requests went out (lg_poll) */
		t->poll_due = true;
		return;
	}
	if (!t->no_pwait2) {
		struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000ull),
				       .tv_nsec = (long)(wait % 1000000000ull) };
		n = epoll_pwait2(t->epfd, ev, LG_EVENTS, &ts, NULL);
		if (n < 0 && errno == ENOSYS) {
			/* Linux < 5.11: millisecond waits (more sender lag, which is measured) */
			t->no_pwait2 = true;
			return;
		}
	} else {
		n = epoll_wait(t->epfd, ev, LG_EVENTS, (int)((wait + 999999) / 1000000));
	}
	if (n > 0)
		lg_handle_events(t, ev, n);
}

/* The event loop of one phase (connect, load, or run+drain). */
static void lg_loop(struct lg_thread *t, uint64_t deadline_ns)
{
	struct lg_engine *e = t->eng;

	for (;;) {
		uint64_t now = lg_now_ns(), wake, retry;
		bool lazy;

		if (atomic_load(&e->abort)) {
			if (t->phase == LG_RUN || t->phase == LG_DRAIN)
				lg_count_timeouts(t);
			return;
		}
		if (t->phase == LG_RUN && !t->cpu0_taken && now >= e->warm_ns) {
			t->cpu0_s = lg_thread_cpu_s();
			t->cpu0_taken = true;
		}
		/* the schedule up to now (never past the end: a sender woken late
		 * still takes up every request of the measured time) */
		if (t->phase == LG_RUN)
			lg_generate(t, now);
		else if (t->phase == LG_LOAD)
			lg_generate_load(t, now);
		if (t->phase == LG_RUN && now >= e->end_ns) {
			t->phase = LG_DRAIN;
			t->cpu_s = lg_thread_cpu_s() - t->cpu0_s;
		}
		retry = t->phase == LG_CONNECT ? 0 : lg_reconnect_due(t, now);
		lg_dispatch(t);
		lg_flush_dirty(t);
		if (t->poll_due) {
			/* woken on the clock: the due requests went out first, now the
			 * replies (they carry their arrival time), then whatever waited
			 * for the connections they free */
			lg_poll(t);
			lg_dispatch(t);
			lg_flush_dirty(t);
		}
		if ((t->phase == LG_RUN || t->phase == LG_DRAIN) && now >= t->expire_next_ns) {
			lg_expire(t, now);
			t->expire_next_ns = now + LG_EXPIRE_SCAN_NS;
		}

		/* done? */
		if (t->phase == LG_CONNECT && (t->n_up == t->n_conns || t->failed))
			return;
		if (t->phase == LG_LOAD && t->load_left == 0)
			return;
		if (t->phase == LG_LOAD && now - t->load_last_ns >= e->timeout_ns) {
			char msg[512];
			snprintf(msg, sizeof(msg),
				 "warm-up key load: %s stopped answering (no reply for %.1f s, "
				 "--timeout; %u of %u keys stored by this thread)",
				 e->cfg->server, (double)e->timeout_ns / 1e9,
				 t->load_end - t->load_start - t->load_left,
				 t->load_end - t->load_start);
			lg_fail(t, LOADGEN_E_PHASE_TIMEOUT, msg);
			return;
		}
		if (t->phase == LG_DRAIN && t->bl_len == 0 && t->inflight == t->expired_inflight)
			return;
		if (deadline_ns && now >= deadline_ns) {
			if (t->phase == LG_DRAIN)
				lg_count_timeouts(t);
			return;
		}

		/* sleep until the next intended send, a reconnect, a timeout scan or the deadline */
		wake = now + LG_IDLE_POLL_NS;
		lazy = t->phase == LG_RUN && t->rx_ts && t->bl_len == 0 && t->n_want_out == 0;
		if (t->phase == LG_RUN) {
			uint64_t next = e->t0_ns + (uint64_t)t->next_rel_ns;
			if (next > e->end_ns)
				next = e->end_ns;
			if (next < wake)
				wake = next;
			if (lazy && t->inflight > t->expired_inflight &&
			    now + LG_LAZY_READ_NS < wake)
				wake = now + LG_LAZY_READ_NS;
		}
		if ((t->phase == LG_RUN || t->phase == LG_DRAIN) && (t->inflight || t->bl_len) &&
		    t->expire_next_ns < wake)
			wake = t->expire_next_ns;
		if (t->phase == LG_LOAD && t->load_last_ns + e->timeout_ns < wake)
			wake = t->load_last_ns + e->timeout_ns;
		if (retry && retry < wake)
			wake = retry;
		if (deadline_ns && deadline_ns < wake)
			wake = deadline_ns;
		lg_wait(t, now, wake, lazy);
	}
}

static void *lg_thread_main(void *arg)
{
	struct lg_thread *t = arg;
	struct lg_engine *e = t->eng;

	/* Wake-ups as precise as the kernel gives (the default slack is 50 us). */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (e->cfg->rt) {
		struct sched_param sp = { .sched_priority = 1 };
		int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
		if (rc != 0) {
			char msg[512];
			snprintf(msg, sizeof(msg),
				 "--rt: cannot run the sender at SCHED_FIFO 1: %s (needs root, "
				 "CAP_SYS_NICE or an RLIMIT_RTPRIO of at least 1)",
				 strerror(rc));
			lg_fail(t, LOADGEN_E_START, msg);
		}
	}
	t->phase = LG_CONNECT;
	for (int i = 0; i < t->n_conns && !t->failed; i++)
		if (lg_conn_open(t, &t->conns[i]) < 0) {
			char msg[512];
			snprintf(msg, sizeof(msg), "cannot connect to %s: %s", e->cfg->server,
				 strerror(errno));
			lg_fail(t, LOADGEN_E_START, msg);
		}
	if (!t->failed) {
		lg_loop(t, lg_now_ns() + LOADGEN_CONNECT_TIMEOUT_MS * 1000000ull);
		if (!t->failed && t->n_up < t->n_conns) {
			char msg[512];
			snprintf(msg, sizeof(msg),
				 "connecting: %s did not accept the connections within %d ms "
				 "(%d of %d up)",
				 e->cfg->server, LOADGEN_CONNECT_TIMEOUT_MS, t->n_up, t->n_conns);
			lg_fail(t, LOADGEN_E_PHASE_TIMEOUT, msg);
		}
	}
	if (!t->failed && t->load_left > 0) {
		t->phase = LG_LOAD;
		t->load_last_ns = lg_now_ns();
		lg_loop(t, 0);
	}
	pthread_mutex_lock(&e->gate_mu);
	e->n_ready++;
	pthread_cond_broadcast(&e->gate_cv);
	while (!e->go)
		pthread_cond_wait(&e->gate_cv, &e->gate_mu);
	pthread_mutex_unlock(&e->gate_mu);
	if (atomic_load(&e->abort))
		return NULL;
	t->phase = LG_RUN;
	t->next_rel_ns = etc_rng_exp(&t->rng, t->gap_mean_ns);
	t->expire_next_ns = e->t0_ns + LG_EXPIRE_SCAN_NS;
	lg_loop(t, e->drain_end_ns);
	if (t->phase == LG_RUN && t->cpu0_taken) /* stopped early */
		t->cpu_s = lg_thread_cpu_s() - t->cpu0_s;
	t->phase = LG_DONE;
	return NULL;
}

/* --- the main thread: windows, reports, timeline, raw records --- */

static void lg_raw_write(const struct lg_engine *e, FILE *f, const struct lg_rawbuf *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct lg_raw *x = &b->v[i];
		double t_us = ((double)x->intended_ns - (double)e->warm_ns) / 1000.0;
		if (x->latency_ns == UINT64_MAX)
			fprintf(f, "%.3f,,%s,%.3f\n", t_us, lg_outcome_name[x->outcome],
				(double)x->lag_ns / 1000.0);
		else
			fprintf(f, "%.3f,%.3f,%s,%.3f\n", t_us, (double)x->latency_ns / 1000.0,
				lg_outcome_name[x->outcome], (double)x->lag_ns / 1000.0);
	}
}

static void lg_window(struct lg_engine *e, struct vs_hist *agg, uint64_t now, FILE *timeline,
		      struct report_client *report)
{
	struct lg_window_counts sum = { 0 };
	FILE *raw = e->cfg->raw;

	hist_init(agg);
	for (int i = 0; i < e->n_threads; i++) {
		struct lg_thread *t = &e->th[i];
		struct vs_hist *full;
		struct lg_rawbuf rb;

		pthread_mutex_lock(&t->mu);
		full = t->win;
		t->win = t->win_spare;
		t->win_spare = full;
		sum.ok += t->wc.ok;
		sum.errors += t->wc.errors;
		sum.timeouts += t->wc.timeouts;
		sum.conn_failures += t->wc.conn_failures;
		memset(&t->wc, 0, sizeof(t->wc));
		rb = t->raw;
		t->raw = t->raw_spare;
		t->raw_spare = rb;
		pthread_mutex_unlock(&t->mu);
		hist_merge(agg, full);
		hist_init(full);
		if (raw) {
			lg_raw_write(e, raw, &t->raw_spare);
			t->raw_spare.n = 0;
		}
	}
	if (report && agg->total > 0)
		report_send(report, loadgen_quantile_us(agg, 0.95), agg->total);
	if (timeline)
		fprintf(timeline, "%.3f,%llu,%llu,%llu,%llu,%.1f,%.1f,%.1f\n",
			(double)((int64_t)now - (int64_t)e->warm_ns) / 1e9,
			(unsigned long long)sum.ok, (unsigned long long)sum.errors,
			(unsigned long long)sum.timeouts, (unsigned long long)sum.conn_failures,
			loadgen_quantile_us(agg, 0.50), loadgen_quantile_us(agg, 0.95),
			loadgen_quantile_us(agg, 0.99));
}

static double lg_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void lg_sleep_until(uint64_t t_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000ull),
			       .tv_nsec = (long)(t_ns % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		if (lg_now_ns() >= t_ns)
			break;
}

/* Runs while the threads send: every window, collect and report; note CPU at
 * the start and end of the measured time. */
static void lg_supervise(struct lg_engine *e, struct loadgen_result *r)
{
	const struct loadgen_config *cfg = e->cfg;
	uint64_t window_ns = (uint64_t)cfg->window_ms * 1000000ull;
	uint64_t next_win = e->t0_ns + window_ns;
	double cpu0 = 0;
	bool have_cpu0 = false, stopped = false;
	struct vs_hist *agg = malloc(sizeof(*agg));

	if (!agg) {
		log_warnx("loadgen: out of memory for the window histogram; no windows");
		window_ns = 0;
	}
	if (cfg->timeline)
		fprintf(cfg->timeline,
			"t_s,replies,errors,timeouts,conn_failures,p50_us,p95_us,p99_us\n");
	if (cfg->raw)
		fprintf(cfg->raw, "intended_us,latency_us,status,lag_us\n");
	for (;;) {
		uint64_t now = lg_now_ns(), wake = e->end_ns;

		if (cfg->stop && *cfg->stop && !stopped) {
			stopped = true;
			r->interrupted = true;
			atomic_store(&e->abort, 1);
		}
		if (!have_cpu0 && now >= e->warm_ns) {
			cpu0 = lg_cpu_s();
			have_cpu0 = true;
		}
		if (agg && now >= next_win) {
			lg_window(e, agg, now, cfg->timeline, cfg->report);
			next_win += window_ns;
			if (next_win <= now) /* we slept long: skip, do not burst */
				next_win = now + window_ns;
		}
		if (now >= e->end_ns || stopped)
			break;
		if (!have_cpu0 && e->warm_ns < wake)
			wake = e->warm_ns;
		if (agg && next_win < wake)
			wake = next_win;
		lg_sleep_until(wake);
	}
	r->cpu_s = lg_cpu_s() - cpu0;
	free(agg);
}

static void lg_thread_free(struct lg_thread *t)
{
	for (int i = 0; i < t->n_conns; i++) {
		struct lg_conn *c = &t->conns[i];
		if (c->fd >= 0)
			close(c->fd);
		free(c->fl);
		free(c->wbuf);
		free(c->rbuf);
	}
	if (t->epfd >= 0)
		close(t->epfd);
	free(t->conns);
	free(t->idle);
	free(t->dirty);
	free(t->bl);
	free(t->value_buf);
	free(t->win);
	free(t->win_spare);
	free(t->raw.v);
	free(t->raw_spare.v);
	pthread_mutex_destroy(&t->mu);
}

static int lg_thread_init(struct lg_engine *e, struct lg_thread *t, int id)
{
	const struct loadgen_config *cfg = e->cfg;
	int n = cfg->connections / e->n_threads + (id < cfg->connections % e->n_threads);
	double coalesce_us =
		cfg->coalesce_us >= 0 ? cfg->coalesce_us : loadgen_coalesce_auto_us(cfg->qps);

	t->eng = e;
	t->id = id;
	t->rx_ts = true;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	pthread_mutex_init(&t->mu, NULL);
	t->conns = calloc((size_t)n, sizeof(*t->conns));
	if (t->conns) {
		for (int i = 0; i < n; i++)
			t->conns[i].fd = -1;
		t->n_conns = n;
	}
	t->idle = calloc((size_t)n, sizeof(*t->idle));
	t->dirty = calloc((size_t)n, sizeof(*t->dirty));
	t->win = malloc(sizeof(*t->win));
	t->win_spare = malloc(sizeof(*t->win_spare));
	t->value_buf = malloc(cfg->value_max + 1);
	if (t->epfd < 0 || !t->conns || !t->idle || !t->dirty || !t->win || !t->win_spare ||
	    !t->value_buf)
		return -1;
	memset(t->value_buf, 'v', cfg->value_max);
	hist_init(t->win);
	hist_init(t->win_spare);
	hist_init(&t->lat);
	hist_init(&t->lag);
	for (int i = 0; i < n; i++) {
		t->conns[i].fl = calloc((size_t)cfg->pipeline_max, sizeof(struct lg_req));
		if (!t->conns[i].fl)
			return -1;
	}
	etc_rng_seed(&t->rng, cfg->seed * 1000003u + (uint64_t)id);
	t->gap_mean_ns = 1e9 * e->n_threads / cfg->qps;
	t->coalesce_ns = (uint64_t)(coalesce_us * 1000.0);
	if (cfg->protocol == LOADGEN_MEMCACHED && cfg->load_keys) {
		t->load_start = t->load_next =
			(uint32_t)((uint64_t)cfg->keys * (uint64_t)id / (uint64_t)e->n_threads);
		t->load_end = (uint32_t)((uint64_t)cfg->keys * (uint64_t)(id + 1) /
					 (uint64_t)e->n_threads);
		t->load_left = t->load_end - t->load_next;
	}
	return 0;
}

static void lg_merge(struct lg_engine *e, struct loadgen_result *r)
{
	const struct loadgen_config *cfg = e->cfg;

	for (int i = 0; i < e->n_threads; i++) {
		struct lg_thread *t = &e->th[i];
		hist_merge(&r->latency, &t->lat);
		hist_merge(&r->lag, &t->lag);
		r->scheduled += t->scheduled;
		r->sent += t->sent;
		r->ok += t->ok;
		r->errors += t->errors;
		r->bad_replies += t->bad_replies;
		r->timeouts += t->timeouts;
		r->dropped += t->dropped;
		r->received += t->received;
		r->late_replies += t->late_replies;
		r->connect_failures += t->connect_failures;
		r->conn_closed += t->conn_closed;
		r->conn_closed_unanswered += t->conn_closed_unanswered;
		r->reconnects += t->reconnects;
		r->hits += t->hits;
		r->misses += t->misses;
		r->load_errors += t->load_errors;
		r->rx_timestamped += t->rx_timestamped;
		if (t->cpu_s > r->sender_cpu_max_s)
			r->sender_cpu_max_s = t->cpu_s;
		if (r->first_error[0] == '\0' && t->first_error[0] != '\0')
			snprintf(r->first_error, sizeof(r->first_error), "%s", t->first_error);
		if (r->first_conn_error[0] == '\0' && t->first_conn_error[0] != '\0')
			snprintf(r->first_conn_error, sizeof(r->first_conn_error), "%s",
				 t->first_conn_error);
	}
	r->completed = r->ok + r->errors + r->bad_replies;
	r->conn_failures = r->connect_failures + r->conn_closed;
	r->seed = cfg->seed;
	r->rt = cfg->rt;
	r->offered_qps = cfg->qps;
	r->duration_s = cfg->duration_s;
	r->coalesce_us = (double)e->th[0].coalesce_ns / 1000.0;
	r->scheduled_qps = (double)r->scheduled / cfg->duration_s;
	r->sent_qps = (double)r->sent / cfg->duration_s;
	r->achieved_qps = (double)r->received / cfg->duration_s;
	/* Lagging when the p99 of the lag is over the limit with 95 % confidence:
	 * the lower end of its interval, so that in a short or slow run (where
	 * the p99 is one of the last few samples) a single hiccup of the machine
	 * does not fail it, while a lag that recurs does. */
	if (r->lag.total > 0) {
		uint64_t lo, hi;
		hist_quantile_ci(&r->lag, 0.99, 1.96, &lo, &hi);
		r->lagging = (double)lo > cfg->max_lag_us * 1000.0;
	}
}

static int lg_check_config(const struct loadgen_config *c, char *err, size_t err_len)
{
	if (c->addr_len == 0)
		snprintf(err, err_len, "no server");
	else if (!(c->qps > 0))
		snprintf(err, err_len, "qps must be > 0");
	else if (!(c->duration_s > 0) || c->warmup_s < 0 || !(c->timeout_s > 0))
		snprintf(err, err_len, "duration and timeout must be > 0, warm-up >= 0");
	else if (c->threads < 1 || c->threads > LOADGEN_THREADS_MAX)
		snprintf(err, err_len, "threads must be 1..%d", LOADGEN_THREADS_MAX);
	else if (c->connections < c->threads || c->connections > LOADGEN_CONNS_MAX)
		snprintf(err, err_len, "connections must be %d..%d (at least one per thread)",
			 c->threads, LOADGEN_CONNS_MAX);
	else if (c->pipeline_max < 1 || c->pipeline_max > LOADGEN_PIPELINE_MAX)
		snprintf(err, err_len, "pipeline must be 1..%d", LOADGEN_PIPELINE_MAX);
	else if (c->protocol == LOADGEN_MEMCACHED && (c->keys < 1 || c->value_max < 1))
		snprintf(err, err_len, "keys and value size must be >= 1");
	else if (c->window_ms < 1)
		snprintf(err, err_len, "window must be >= 1 ms");
	else
		return 0;
	return -1;
}

/* Make room for the connections in RLIMIT_NOFILE (raising the soft limit up
 * to the hard one when needed). */
static int lg_fd_room(const struct loadgen_config *c, char *err, size_t err_len)
{
	/* connections + an epoll fd per thread + stdio, the report socket, the timeline, slack */
	rlim_t need = (rlim_t)c->connections + (rlim_t)c->threads + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		snprintf(err, err_len,
			 "%d connections need %llu file descriptors; the limit is %llu (ulimit -n)",
			 c->connections, (unsigned long long)need, (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(err, err_len, "cannot raise the file descriptor limit to %llu: %s",
			 (unsigned long long)need, strerror(errno));
		return -1;
	}
	return 0;
}

/* Wait for every started thread to be connected (and done loading keys), or
 * for a stop request. The threads' own phase timeouts bound the wait. */
static void lg_wait_ready(struct lg_engine *e, int started, char *err, size_t err_len, int *rc)
{
	const struct loadgen_config *cfg = e->cfg;

	pthread_mutex_lock(&e->gate_mu);
	while (e->n_ready < started) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&e->gate_cv, &e->gate_mu, &ts);
		if (cfg->stop && *cfg->stop && !atomic_load(&e->abort)) {
			snprintf(err, err_len, "interrupted before the measured run started");
			*rc = LOADGEN_E_INTERRUPTED;
			atomic_store(&e->abort, 1);
		}
	}
	pthread_mutex_unlock(&e->gate_mu);
	for (int i = 0; i < started && !atomic_load(&e->abort); i++)
		if (e->th[i].failed) {
			snprintf(err, err_len, "%s", e->th[i].err);
			*rc = e->th[i].fail_status;
			atomic_store(&e->abort, 1);
		}
}

int loadgen_run(const struct loadgen_config *cfg, struct loadgen_result *r, char *err,
		size_t err_len)
{
	struct lg_engine *e;
	int rc = LOADGEN_E_START, started = 0;

	if (lg_check_config(cfg, err, err_len) < 0 || lg_fd_room(cfg, err, err_len) < 0)
		return LOADGEN_E_START;
	memset(r, 0, sizeof(*r));
	hist_init(&r->latency);
	hist_init(&r->lag);
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, err_len, "out of memory");
		return LOADGEN_E_START;
	}
	e->cfg = cfg;
	e->n_threads = cfg->threads;
	e->timeout_ns = (uint64_t)(cfg->timeout_s * 1e9);
	atomic_init(&e->abort, 0);
	if (cfg->protocol == LOADGEN_MEMCACHED &&
	    etc_keys_init(&e->keys, cfg->keys, cfg->value_max, LOADGEN_KEYS_SEED) < 0) {
		snprintf(err, err_len, "out of memory for %u keys", cfg->keys);
		free(e);
		return LOADGEN_E_START;
	}
	if (cfg->protocol == LOADGEN_HTTP) {
		int n = snprintf(
			e->http_req, sizeof(e->http_req),
			"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: vspace-loadgen\r\n\r\n",
			cfg->path, cfg->server);
		if (n < 0 || (size_t)n >= sizeof(e->http_req)) {
			snprintf(err, err_len, "HTTP path too long");
			goto out_keys;
		}
		e->http_req_len = (size_t)n;
	}
	e->th = calloc((size_t)e->n_threads, sizeof(*e->th));
	if (!e->th) {
		snprintf(err, err_len, "out of memory");
		goto out_keys;
	}
	for (int i = 0; i < e->n_threads; i++)
		e->th[i].epfd = -1;
	for (int i = 0; i < e->n_threads; i++)
		if (lg_thread_init(e, &e->th[i], i) < 0) {
			snprintf(err, err_len, "out of memory or file descriptors for thread %d",
				 i);
			goto out_threads;
		}
	pthread_mutex_init(&e->gate_mu, NULL);
	pthread_cond_init(&e->gate_cv, NULL);
	for (; started < e->n_threads; started++)
		if (pthread_create(&e->th[started].tid, NULL, lg_thread_main, &e->th[started]) !=
		    0) {
			snprintf(err, err_len, "cannot create sender thread %d", started);
			atomic_store(&e->abort, 1);
			break;
		}
	lg_wait_ready(e, started, err, err_len, &rc);
	pthread_mutex_lock(&e->gate_mu);
	e->t0_ns = lg_now_ns() + 1000000ull; /* 1 ms from now: every thread starts together */
	e->warm_ns = e->t0_ns + (uint64_t)(cfg->warmup_s * 1e9);
	e->end_ns = e->warm_ns + (uint64_t)(cfg->duration_s * 1e9);
	e->drain_end_ns = e->end_ns + e->timeout_ns;
	e->go = true;
	pthread_cond_broadcast(&e->gate_cv);
	pthread_mutex_unlock(&e->gate_mu);
	if (!atomic_load(&e->abort))
		lg_supervise(e, r);
	for (int i = 0; i < started; i++)
		pthread_join(e->th[i].tid, NULL);
	pthread_cond_destroy(&e->gate_cv);
	pthread_mutex_destroy(&e->gate_mu);
	if (atomic_load(&e->abort) && !r->interrupted)
		goto out_threads;
	/* the records of the last window and the drain */
	if (cfg->raw)
		for (int i = 0; i < e->n_threads; i++) {
			lg_raw_write(e, cfg->raw, &e->th[i].raw);
			e->th[i].raw.n = 0;
		}
	lg_merge(e, r);
	for (int i = 0; i < e->n_threads; i++)
		r->raw_lost += e->th[i].raw_lost;
	rc = LOADGEN_OK;
out_threads:
	for (int i = 0; i < e->n_threads; i++)
		if (e->th[i].eng)
			lg_thread_free(&e->th[i]);
	free(e->th);
out_keys:
	etc_keys_free(&e->keys);
	free(e);
	return rc;
}
