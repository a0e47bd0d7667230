/* server.c - `vspace memnet serve`: epoll HTTP/1.1 over many regions, bodies sent from the mapping, chunked while objects grow. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "memnet/http.h"
#include "memnet/server.h"

/* Segments of a response queued at once: head, body, chunk trailer. */
#define MN_SEGS 4

enum mn_kind { MN_LISTEN, MN_TIMER, MN_SIGNAL, MN_CONN };

struct mn_tag {
	enum mn_kind kind;
};

/* A piece of a response: bytes in memory (a head, or the mapping), or, when fd >= 0, bytes of
 * the region file at off (sendfile: the kernel hands the region's pages themselves to TCP). */
struct mn_seg {
	const char *p;
	size_t len;
	int fd;
	off_t off;
};

/* Bodies at least this long leave with sendfile() from the region file (no copy; one more
 * system call than a single sendmsg, so small bodies are copied from the mapping instead).
 * 16 KiB: ours, between the 1 KiB and 64 KiB cases of scripts/bench-memnet. */
#define MN_SENDFILE_MIN (16u * 1024u)

struct mn_conn {
	struct mn_tag tag;
	int fd;
	uint32_t index; /* in srv->conns */
	uint64_t last_ms;
	char in[MEMNET_HTTP_HEAD_MAX];
	size_t in_len;
	char head[768]; /* response head */
	char chunk[24]; /* chunk-size line */
	char *body;	/* a generated body (status, listing, errors), malloc'd */
	struct mn_seg seg[MN_SEGS];
	int nseg, seg_i;
	bool busy;	  /* a response is in progress */
	bool close_after; /* close when it is done */
	/* the object being sent */
	int region; /* -1: none */
	int slot;
	uint64_t gen;
	uint64_t pos, end; /* next byte, end (streams: what is queued so far) */
	bool stream;	   /* the object is still being written */
	bool chunked;	   /* stream with chunked framing (else until close) */
	bool stream_done;  /* the last chunk is queued */
	bool full;	   /* a whole 200 body: counts as a serve when done */
	bool dead;	   /* closed; freed after the current batch of events */
	struct mn_conn *next_dead;
};

struct memnet_server {
	struct memnet_server_opts o;
	struct mn_tag t_listen, t_timer, t_signal;
	int lfd, tfd, sfd, epfd;
	unsigned port;
	sigset_t old_mask;
	bool mask_set;
	struct sigaction old_pipe; /* SIGPIPE is ignored while the server exists (sendfile) */
	bool pipe_set;
	struct memnet_reader *regions[MEMNET_SERVER_REGIONS_MAX];
	struct memnet_orch_vm orch_vm[MEMNET_SERVER_REGIONS_MAX];
	size_t n_regions;
	struct mn_conn **conns;
	size_t n_conns, cap_conns;
	struct mn_conn *dead; /* closed during this batch of events */
	uint64_t now_ms, next_orch_ms;
	time_t date_s;
	char date[40];
	/* counters */
	uint64_t accepted, requests, bytes_sent, refused_conns;
	uint64_t status_count[6]; /* 1xx..5xx by first digit */
};

static uint64_t mn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void memnet_server_defaults(struct memnet_server_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->poll_ms = 10;
	o->idle_timeout_ms = 60000;
	o->max_conns = 4096;
	o->evict.punch = true;
	o->interval_ms = 1000;
	memnet_sizing_defaults(&o->sizing);
}

/* ---- listening --------------------------------------------------------- */

static int mn_listen(const char *addr, unsigned *port, bool *usage, char *err, size_t errlen)
{
	char host[128];
	const char *colon, *p = addr;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	long pn;
	int fd, one = 1;

	if (*p == '[') {
		const char *e = strchr(p, ']');
		if (!e || e[1] != ':' || (size_t)(e - p - 1) >= sizeof(host)) {
			snprintf(err, errlen, "--listen %s: expected HOST:PORT or [V6ADDR]:PORT",
				 addr);
			*usage = true;
			return -1;
		}
		memcpy(host, p + 1, (size_t)(e - p - 1));
		host[e - p - 1] = '\0';
		colon = e + 1;
	} else {
		colon = strrchr(p, ':');
		if (!colon || (size_t)(colon - p) >= sizeof(host)) {
			snprintf(err, errlen, "--listen %s: expected HOST:PORT or [V6ADDR]:PORT",
				 addr);
			*usage = true;
			return -1;
		}
		memcpy(host, p, (size_t)(colon - p));
		host[colon - p] = '\0';
	}
	if (str_to_long(colon + 1, 0, 65535, &pn) < 0) {
		snprintf(err, errlen, "--listen %s: port \"%s\" is not a number in [0, 65535]",
			 addr, colon + 1);
		*usage = true;
		return -1;
	}
	int gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
	if (gai != 0) {
		snprintf(err, errlen, "--listen %s: \"%s\" is not a numeric address: %s", addr,
			 host, gai_strerror(gai));
		*usage = true;
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		snprintf(err, errlen, "--listen %s: %s", addr, strerror(errno));
		freeaddrinfo(ai);
		close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

struct memnet_server *memnet_server_new(const struct memnet_server_opts *o, bool *usage, char *err,
					size_t errlen)
{
	struct memnet_server *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	*usage = false;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->o = *o;
	s->lfd = s->tfd = s->sfd = s->epfd = -1;
	s->t_listen.kind = MN_LISTEN;
	s->t_timer.kind = MN_TIMER;
	s->t_signal.kind = MN_SIGNAL;
	if (s->o.poll_ms == 0)
		s->o.poll_ms = 10;
	s->lfd = mn_listen(o->listen, &s->port, usage, err, errlen);
	if (s->lfd < 0)
		goto fail;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, &s->old_mask) == 0)
		s->mask_set = true;
	s->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	/* sendfile() to a socket the client closed raises SIGPIPE (it has no MSG_NOSIGNAL) */
	struct sigaction ign = { .sa_handler = SIG_IGN };
	if (sigaction(SIGPIPE, &ign, &s->old_pipe) == 0)
		s->pipe_set = true;
	if (s->epfd < 0 || s->tfd < 0 || s->sfd < 0) {
		snprintf(err, errlen, "epoll/timerfd/signalfd: %s", strerror(errno));
		goto fail;
	}
	struct itimerspec its = {
		.it_interval = { o->poll_ms / 1000, (long)(o->poll_ms % 1000) * 1000000L },
		.it_value = { o->poll_ms / 1000, (long)(o->poll_ms % 1000) * 1000000L },
	};
	timerfd_settime(s->tfd, 0, &its, NULL);
	ev.data.ptr = &s->t_listen;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev);
	ev.data.ptr = &s->t_timer;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->tfd, &ev);
	ev.data.ptr = &s->t_signal;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sfd, &ev);
	return s;
fail:
	memnet_server_free(s);
	return NULL;
}

int memnet_server_add(struct memnet_server *s, const char *name, const char *path, char *err,
		      size_t errlen)
{
	if (s->n_regions == MEMNET_SERVER_REGIONS_MAX) {
		snprintf(err, errlen, "at most %d regions", MEMNET_SERVER_REGIONS_MAX);
		return -1;
	}
	for (size_t i = 0; i < s->n_regions; i++)
		if (strcmp(s->regions[i]->name, name) == 0) {
			snprintf(err, errlen, "region name \"%s\" given twice", name);
			return -1;
		}
	struct memnet_reader *r = calloc(1, sizeof(*r));
	if (!r || memnet_reader_init(r, name, path, err, errlen) < 0) {
		if (!r)
			snprintf(err, errlen, "out of memory");
		free(r);
		return -1;
	}
	memset(&s->orch_vm[s->n_regions], 0, sizeof(s->orch_vm[0]));
	s->regions[s->n_regions++] = r;
	return 0;
}

unsigned memnet_server_port(const struct memnet_server *s)
{
	return s->port;
}

/* ---- connections --------------------------------------------------------- */

static void mn_unpin(struct memnet_server *s, struct mn_conn *c)
{
	if (c->region >= 0)
		memnet_reader_unpin(s->regions[c->region], c->slot);
	c->region = -1;
}

static void mn_reset_response(struct memnet_server *s, struct mn_conn *c)
{
	mn_unpin(s, c);
	free(c->body);
	c->body = NULL;
	c->nseg = c->seg_i = 0;
	c->busy = c->stream = c->chunked = c->stream_done = c->full = false;
}

static void mn_close(struct memnet_server *s, struct mn_conn *c)
{
	mn_reset_response(s, c);
	close(c->fd);
	/* swap with the last */
	s->conns[c->index] = s->conns[--s->n_conns];
	s->conns[c->index]->index = c->index;
	/* an event for it may still be in this batch: free it afterwards */
	c->dead = true;
	c->next_dead = s->dead;
	s->dead = c;
}

static void mn_reap(struct memnet_server *s)
{
	while (s->dead) {
		struct mn_conn *c = s->dead;
		s->dead = c->next_dead;
		free(c);
	}
}

static void mn_accept(struct memnet_server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept");
			return;
		}
		if (s->n_conns >= s->o.max_conns) {
			s->refused_conns++;
			close(fd);
			continue;
		}
		if (s->n_conns == s->cap_conns) {
			size_t cap = s->cap_conns ? 2 * s->cap_conns : 64;
			struct mn_conn **nc = realloc(s->conns, cap * sizeof(*nc));
			if (!nc) {
				close(fd);
				continue;
			}
			s->conns = nc;
			s->cap_conns = cap;
		}
		struct mn_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->tag.kind = MN_CONN;
		c->fd = fd;
		c->region = -1;
		c->last_ms = s->now_ms;
		c->index = (uint32_t)s->n_conns;
		s->conns[s->n_conns++] = c;
		s->accepted++;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
					  .data.ptr = c };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			mn_close(s, c);
	}
}

static void mn_seg_add(struct mn_conn *c, const char *p, size_t len)
{
	if (len) {
		c->seg[c->nseg].p = p;
		c->seg[c->nseg].len = len;
		c->seg[c->nseg].fd = -1;
		c->nseg++;
	}
}

/* Bytes [from, from + len) of object slot of region r. From the file when the region is one
 * and its released objects are punched out: a released extent's old pages then stay with the
 * socket that still holds them, so the guest's next writes can never reach a client through a
 * send still in flight (without punching the guest would write into those very pages). */
static void mn_seg_obj(struct memnet_server *s, struct mn_conn *c, const struct memnet_reader *r,
		       int slot, uint64_t from, uint64_t len)
{
	if (len >= MN_SENDFILE_MIN && !r->in_memory && r->reg.fd >= 0 && s->o.evict.punch) {
		struct mn_seg *g = &c->seg[c->nseg++];
		g->p = NULL;
		g->len = len;
		g->fd = r->reg.fd;
		g->off = (off_t)(r->geom.data_off + r->slots[slot].o.data_off + from);
		return;
	}
	mn_seg_add(c, memnet_reader_bytes(r, slot) + from, len);
}

static const char *mn_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 206:
		return "Partial Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 414:
		return "URI Too Long";
	case 416:
		return "Range Not Satisfiable";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

/* Start a response head. extra: more header lines (each ending CRLF).
 * length < 0: no Content-Length (chunked or close-delimited). */
static void mn_head(struct memnet_server *s, struct mn_conn *c, int status, const char *type,
		    int64_t length, const char *extra)
{
	size_t n = 0;

	str_appendf(c->head, sizeof(c->head), &n,
		    "HTTP/1.1 %d %s\r\nServer: vspace-memnet\r\nDate: %s\r\n", status,
		    mn_reason(status), s->date);
	if (type)
		str_appendf(c->head, sizeof(c->head), &n, "Content-Type: %s\r\n", type);
	if (length >= 0)
		str_appendf(c->head, sizeof(c->head), &n, "Content-Length: %" PRId64 "\r\n",
			    length);
	if (extra)
		str_appendf(c->head, sizeof(c->head), &n, "%s", extra);
	if (c->close_after)
		str_appendf(c->head, sizeof(c->head), &n, "Connection: close\r\n");
	str_appendf(c->head, sizeof(c->head), &n, "\r\n");
	c->nseg = c->seg_i = 0;
	mn_seg_add(c, c->head, n < sizeof(c->head) ? n : sizeof(c->head) - 1);
	c->busy = true;
	s->status_count[status / 100 < 6 ? status / 100 : 5]++;
}

/* A response with a generated body (taken over: free()d when sent). */
static void mn_reply_body(struct memnet_server *s, struct mn_conn *c, int status, const char *type,
			  char *body, bool head_only, const char *extra)
{
	size_t len = body ? strlen(body) : 0;

	mn_head(s, c, status, type, (int64_t)len, extra);
	c->body = body;
	if (!head_only)
		mn_seg_add(c, body, len);
}

static void mn_reply_text(struct memnet_server *s, struct mn_conn *c, int status, bool head_only,
			  const char *extra, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static void mn_reply_text(struct memnet_server *s, struct mn_conn *c, int status, bool head_only,
			  const char *extra, const char *fmt, ...)
{
	char *body = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&body, fmt, ap) < 0)
		body = NULL;
	va_end(ap);
	mn_reply_body(s, c, status, "text/plain; charset=utf-8", body, head_only, extra);
}

static char *mn_status_json(const struct memnet_server *s)
{
	json_t *regions = json_array();
	for (size_t i = 0; i < s->n_regions; i++) {
		json_t *o = memnet_region_json(s->regions[i]);
		const struct memnet_orch_vm *v = &s->orch_vm[i];
		if (s->o.budget_bytes && v->active)
			json_object_set_new(o, "sizing", memnet_sizing_json(v));
		json_array_append_new(regions, o);
	}
	json_t *root = json_pack(
		"{s:o,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I}}", "regions", regions, "connections",
		(json_int_t)s->n_conns, "accepted", (json_int_t)s->accepted, "requests",
		(json_int_t)s->requests, "bytes_sent", (json_int_t)s->bytes_sent, "responses",
		"2xx", (json_int_t)s->status_count[2], "3xx", (json_int_t)s->status_count[3], "4xx",
		(json_int_t)s->status_count[4], "5xx", (json_int_t)s->status_count[5]);
	if (s->o.budget_bytes)
		json_object_set_new(root, "budget_bytes",
				    json_integer((json_int_t)s->o.budget_bytes));
	char *text = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	if (text) {
		size_t n = strlen(text);
		char *t = realloc(text, n + 2);
		if (t) {
			t[n] = '\n';
			t[n + 1] = '\0';
			text = t;
		}
	}
	return text;
}

static char *mn_listing_json(const struct memnet_reader *r)
{
	json_t *objs = json_array();
	for (uint32_t i = 0; r->slots && i < r->geom.slot_count; i++) {
		const struct memnet_hslot *h = &r->slots[i];
		if (!h->live || (h->o.state != MEMNET_WRITING && h->o.state != MEMNET_COMPLETE))
			continue;
		if (memnet_reader_find(r, h->o.name) != (int)i)
			continue; /* an older object of the same name */
		json_array_append_new(
			objs,
			json_pack("{s:s,s:I,s:s,s:I,s:I}", "name", h->o.name, "length",
				  (json_int_t)h->o.length, "state",
				  h->o.state == MEMNET_COMPLETE ? "complete" : "writing", "gen",
				  (json_int_t)h->o.gen, "serves", (json_int_t)h->full_serves));
	}
	json_t *root = memnet_region_json(r);
	json_object_set_new(root, "list", objs);
	char *text = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	return text;
}

/* Queue the next piece of a stream (an object still being written). */
static void mn_stream_fill(struct memnet_server *s, struct mn_conn *c)
{
	const struct memnet_reader *r = s->regions[c->region];
	const struct memnet_hslot *h = &r->slots[c->slot];
	uint64_t len = h->o.length;

	c->nseg = c->seg_i = 0;
	if (len > c->pos) {
		const char *p = memnet_reader_bytes(r, c->slot) + c->pos;
		if (c->chunked) {
			int k = snprintf(c->chunk, sizeof(c->chunk), "%" PRIx64 "\r\n",
					 len - c->pos);
			mn_seg_add(c, c->chunk, (size_t)k);
			mn_seg_add(c, p, len - c->pos);
			mn_seg_add(c, "\r\n", 2);
		} else {
			mn_seg_add(c, p, len - c->pos);
		}
		c->pos = len;
	} else if (h->o.state == MEMNET_COMPLETE) {
		if (c->chunked)
			mn_seg_add(c, "0\r\n\r\n", 5);
		c->stream_done = true;
	}
}

/* Is the object behind c's stream still the one it started with? */
static bool mn_stream_valid(const struct memnet_server *s, const struct mn_conn *c)
{
	const struct memnet_reader *r = s->regions[c->region];
	const struct memnet_hslot *h = &r->slots[c->slot];

	return r->ok && h->live && h->o.gen == c->gen &&
	       (h->o.state == MEMNET_WRITING || h->o.state == MEMNET_COMPLETE);
}

static void mn_serve_object(struct memnet_server *s, struct mn_conn *c,
			    const struct memnet_http_req *rq, int ri, int slot)
{
	struct memnet_reader *r = s->regions[ri];
	const struct memnet_obj *o = &r->slots[slot].o;
	bool head_only = rq->method == MEMNET_HTTP_HEAD;
	char extra[256];
	uint64_t first = 0, last = 0;

	snprintf(extra, sizeof(extra), "Accept-Ranges: bytes\r\nETag: \"%" PRIx64 "\"\r\n", o->gen);
	if (o->state == MEMNET_COMPLETE) {
		enum memnet_range rg =
			rq->has_range ? memnet_http_range(rq->range, o->length, &first, &last)
				      : MEMNET_RANGE_NONE;
		if (rg == MEMNET_RANGE_UNSATISFIABLE) {
			size_t n = strlen(extra);
			snprintf(extra + n, sizeof(extra) - n,
				 "Content-Range: bytes */%" PRIu64 "\r\n", o->length);
			mn_reply_text(s, c, 416, head_only, extra,
				      "416 Range Not Satisfiable: \"%s\" has %" PRIu64 " bytes\n",
				      o->name, o->length);
			return;
		}
		if (rg == MEMNET_RANGE_OK) {
			size_t n = strlen(extra);
			snprintf(extra + n, sizeof(extra) - n,
				 "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
				 first, last, o->length);
			mn_head(s, c, 206, "application/octet-stream", (int64_t)(last - first + 1),
				extra);
			c->pos = first;
			c->end = last + 1;
		} else {
			mn_head(s, c, 200, "application/octet-stream", (int64_t)o->length, extra);
			c->pos = 0;
			c->end = o->length;
			c->full = !head_only;
		}
		if (c->full && c->end == c->pos) /* an empty body: served at once */
			r->slots[slot].full_serves++;
		if (!head_only && c->end > c->pos) {
			memnet_reader_pin(r, slot, s->now_ms);
			c->region = ri;
			c->slot = slot;
			c->gen = o->gen;
			mn_seg_obj(s, c, r, slot, c->pos, c->end - c->pos);
		}
		return;
	}
	/* still being written: a range inside what exists is served as is */
	if (rq->has_range &&
	    memnet_http_range(rq->range, UINT64_MAX, &first, &last) == MEMNET_RANGE_OK &&
	    last < o->length) {
		size_t n = strlen(extra);
		snprintf(extra + n, sizeof(extra) - n,
			 "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/*\r\n", first, last);
		mn_head(s, c, 206, "application/octet-stream", (int64_t)(last - first + 1), extra);
		if (!head_only) {
			memnet_reader_pin(r, slot, s->now_ms);
			c->region = ri;
			c->slot = slot;
			c->gen = o->gen;
			mn_seg_obj(s, c, r, slot, first, last - first + 1);
		}
		return;
	}
	c->chunked = rq->minor >= 1;
	if (!c->chunked)
		c->close_after = true; /* HTTP/1.0: the end of the body is the close */
	if (c->chunked) {
		size_t n = strlen(extra);
		snprintf(extra + n, sizeof(extra) - n, "Transfer-Encoding: chunked\r\n");
	}
	mn_head(s, c, 200, "application/octet-stream", -1, extra);
	if (head_only)
		return;
	memnet_reader_pin(r, slot, s->now_ms);
	c->region = ri;
	c->slot = slot;
	c->gen = o->gen;
	c->pos = 0;
	c->stream = true;
	c->full = true;
}

static void mn_request(struct memnet_server *s, struct mn_conn *c, const struct memnet_http_req *rq)
{
	bool head_only = rq->method == MEMNET_HTTP_HEAD;
	char rname[MEMNET_HTTP_TARGET_MAX + 1], why[200];
	const char *t = rq->target + 1, *slash;

	s->requests++;
	c->close_after = !rq->keep_alive;
	if (rq->method == MEMNET_HTTP_OTHER) {
		mn_reply_text(s, c, 405, false, "Allow: GET, HEAD\r\n",
			      "405 Method Not Allowed: GET and HEAD are served\n");
		return;
	}
	if (*t == '\0') {
		mn_reply_body(s, c, 200, "application/json", mn_status_json(s), head_only, NULL);
		return;
	}
	slash = strchr(t, '/');
	size_t rl = slash ? (size_t)(slash - t) : strlen(t);
	memcpy(rname, t, rl);
	rname[rl] = '\0';
	int ri = -1;
	for (size_t i = 0; i < s->n_regions; i++)
		if (strcmp(s->regions[i]->name, rname) == 0)
			ri = (int)i;
	if (ri < 0) {
		mn_reply_text(s, c, 404, head_only, NULL, "404 Not Found: no region \"%s\"\n",
			      rname);
		return;
	}
	struct memnet_reader *r = s->regions[ri];
	if (!r->ok) {
		mn_reply_text(s, c, 503, head_only, "Retry-After: 1\r\n",
			      "503 Service Unavailable: region %s is refused: %s\n", r->name,
			      r->error);
		return;
	}
	if (!slash || slash[1] == '\0') {
		mn_reply_body(s, c, 200, "application/json", mn_listing_json(r), head_only, NULL);
		return;
	}
	const char *name = slash + 1;
	int slot = -1;
	if (memnet_name_check(name, strlen(name), why, sizeof(why)) == 0)
		slot = memnet_reader_find(r, name);
	if (slot < 0) {
		mn_reply_text(s, c, 404, head_only, NULL,
			      "404 Not Found: no object \"%s\" in region %s\n", name, r->name);
		return;
	}
	mn_serve_object(s, c, rq, ri, slot);
}

/* Send what is queued. 0: all sent; 1: the socket is full; -1: broken. */
static int mn_flush(struct memnet_server *s, struct mn_conn *c)
{
	while (c->seg_i < c->nseg) {
		struct mn_seg *g = &c->seg[c->seg_i];
		ssize_t w;
		if (g->fd >= 0) {
			w = sendfile(c->fd, g->fd, &g->off, g->len);
			if (w == 0)
				return -1; /* the file ends early: it shrank */
		} else {
			struct iovec iov[MN_SEGS];
			int n = 0, flags = MSG_NOSIGNAL | MSG_DONTWAIT;
			for (int i = c->seg_i; i < c->nseg && c->seg[i].fd < 0; i++, n++) {
				iov[n].iov_base = (void *)(uintptr_t)c->seg[i].p;
				iov[n].iov_len = c->seg[i].len;
			}
			if (c->seg_i + n < c->nseg)
				flags |= MSG_MORE; /* the head goes out with the body */
			struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
			w = sendmsg(c->fd, &mh, flags);
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -1; /* EPIPE, ECONNRESET, EFAULT (a region that shrank) */
		}
		s->bytes_sent += (uint64_t)w;
		c->last_ms = s->now_ms;
		if (g->fd >= 0) { /* sendfile moved g->off */
			g->len -= (size_t)w;
			if (g->len == 0)
				c->seg_i++;
			continue;
		}
		size_t left = (size_t)w;
		while (left && c->seg_i < c->nseg) {
			g = &c->seg[c->seg_i];
			size_t k = left < g->len ? left : g->len;
			g->p += k;
			g->len -= k;
			left -= k;
			if (g->len == 0)
				c->seg_i++;
		}
	}
	return 0;
}

/* Run the connection as far as it goes without blocking. */
static void mn_drive(struct memnet_server *s, struct mn_conn *c)
{
	for (;;) {
		if (c->busy) {
			if (c->region >= 0 && (c->stream || c->seg_i < c->nseg) &&
			    !s->regions[c->region]->ok) {
				mn_close(s, c); /* its region was refused mid-response */
				return;
			}
			int f = mn_flush(s, c);
			if (f < 0) {
				mn_close(s, c);
				return;
			}
			if (f == 1)
				return;
			if (c->stream && !c->stream_done) {
				if (!mn_stream_valid(s, c)) {
					mn_close(s, c); /* withdrawn mid-stream: cut */
					return;
				}
				mn_stream_fill(s, c);
				if (c->nseg == 0)
					return; /* wait for it to grow (the tick drives us) */
				continue;
			}
			if (c->full && c->region >= 0)
				s->regions[c->region]->slots[c->slot].full_serves++;
			bool close_now = c->close_after;
			mn_reset_response(s, c);
			if (close_now) {
				shutdown(c->fd, SHUT_WR);
				mn_close(s, c);
				return;
			}
		}
		struct memnet_http_req rq;
		char why[160];
		int n = memnet_http_parse(c->in, c->in_len, &rq, why, sizeof(why));
		if (n > 0) {
			mn_request(s, c, &rq);
			memmove(c->in, c->in + n, c->in_len - (size_t)n);
			c->in_len -= (size_t)n;
			continue;
		}
		if (n < 0) {
			c->close_after = true;
			c->in_len = 0;
			mn_reply_text(s, c, -n, false, NULL, "%d %s: %s\n", -n, mn_reason(-n), why);
			continue;
		}
		ssize_t rd = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
		if (rd > 0) {
			c->in_len += (size_t)rd;
			c->last_ms = s->now_ms;
			continue;
		}
		if (rd < 0 && errno == EINTR)
			continue;
		if (rd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		mn_close(s, c); /* EOF or error */
		return;
	}
}

/* ---- the tick ------------------------------------------------------------ */

static void mn_tick(struct memnet_server *s)
{
	uint64_t t;
	time_t now = time(NULL);

	while (read(s->tfd, &t, sizeof(t)) > 0)
		;
	s->now_ms = mn_now_ms();
	if (now != s->date_s) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(s->date, sizeof(s->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		s->date_s = now;
	}
	for (size_t i = 0; i < s->n_regions; i++) {
		memnet_reader_scan(s->regions[i], s->now_ms, false);
		memnet_reader_enforce(s->regions[i], &s->o.evict);
	}
	if (s->o.budget_bytes && s->now_ms >= s->next_orch_ms) {
		struct memnet_orch o = { .params = s->o.sizing,
					 .budget_bytes = s->o.budget_bytes,
					 .slo_ms = s->o.slo_ms,
					 .interval_s = s->o.interval_ms / 1000.0 };
		memnet_orch_step(&o, s->regions, s->orch_vm, s->n_regions);
		s->next_orch_ms = s->now_ms + s->o.interval_ms;
	}
	/* streams waiting for growth, cut responses, idle connections */
	for (size_t i = 0; i < s->n_conns;) {
		struct mn_conn *c = s->conns[i];
		size_t before = s->n_conns;
		if (c->busy && c->stream && c->seg_i == c->nseg)
			mn_drive(s, c);
		else if (c->busy && c->region >= 0 && !s->regions[c->region]->ok)
			mn_close(s, c);
		else if (s->now_ms - c->last_ms > s->o.idle_timeout_ms)
			mn_close(s, c);
		if (s->n_conns == before)
			i++;
	}
}

int memnet_server_run(struct memnet_server *s)
{
	struct epoll_event evs[64];

	s->now_ms = mn_now_ms();
	s->date_s = 0;
	mn_tick(s);
	s->next_orch_ms = s->now_ms + s->o.interval_ms;
	log_info("listening on %s (port %u), %zu region%s, scan every %u ms%s", s->o.listen,
		 s->port, s->n_regions, s->n_regions == 1 ? "" : "s", s->o.poll_ms,
		 s->o.budget_bytes ? ", orchestrating the budget" : "");
	for (;;) {
		int n = epoll_wait(s->epfd, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			return 1;
		}
		s->now_ms = mn_now_ms();
		for (int i = 0; i < n; i++) {
			struct mn_tag *tag = evs[i].data.ptr;
			switch (tag->kind) {
			case MN_LISTEN:
				mn_accept(s);
				break;
			case MN_TIMER:
				mn_tick(s);
				break;
			case MN_SIGNAL: {
				struct signalfd_siginfo si;
				if (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
					log_info("signal %u: stopping", si.ssi_signo);
					mn_reap(s);
					return 0;
				}
				break;
			}
			case MN_CONN:
				if (!((struct mn_conn *)tag)->dead)
					mn_drive(s, (struct mn_conn *)tag);
				break;
			}
		}
		mn_reap(s);
	}
}

void memnet_server_free(struct memnet_server *s)
{
	if (!s)
		return;
	while (s->n_conns)
		mn_close(s, s->conns[s->n_conns - 1]);
	mn_reap(s);
	free(s->conns);
	for (size_t i = 0; i < s->n_regions; i++) {
		memnet_reader_free(s->regions[i]);
		free(s->regions[i]);
	}
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->tfd >= 0)
		close(s->tfd);
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->mask_set)
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
	if (s->pipe_set)
		sigaction(SIGPIPE, &s->old_pipe, NULL);
	free(s);
}
