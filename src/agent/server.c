/* server.c - the agent's event loop: listening socket or virtio-serial port, connections, signals. */
#include "agent/agent.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <time.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/log.h"

/* Clients served at once (the host's vspaced plus an operator's tool). */
#define SERVER_MAX_CONNS 4
/* Replies a connection may have unsent before it is dropped. */
#define SERVER_OUTBUF (16 * PROTO_MAX_MSG)
/* While the host end of a serial port is closed, look again this often. */
#define SERVER_SERIAL_RETRY_MS 100
/* After a serial port failed to open (not there yet), retry this often. */
#define SERVER_SERIAL_REOPEN_MS 1000
/* How often --vf-bond looks for a VF coming or going (a directory listing). */
#define SERVER_VFBOND_MS 200

enum server_tag {
	SERVER_TAG_LISTEN = 1,
	SERVER_TAG_SIGNAL,
	SERVER_TAG_TIMER,
	SERVER_TAG_CONN0 = 16, /* + connection index */
};

struct server_conn {
	int fd; /* -1: free */
	bool serial;
	bool watched; /* in the epoll set */
	uint32_t events;
	char peer[64];
	struct proto_linebuf in;
	char out[SERVER_OUTBUF];
	size_t out_len;
};

struct server {
	struct agent *a;
	struct proto_addr addr;
	int epfd, lfd, sfd, tfd;
	bool stop;
	int status;
	struct server_conn conns[SERVER_MAX_CONNS];
	char reply[PROTO_MAX_MSG + 1];
	int64_t vfbond_ms; /* when --vf-bond last looked (monotonic ms) */
};

static void server_watch(struct server *s, int i)
{
	struct server_conn *c = &s->conns[i];
	uint32_t want = EPOLLIN | (c->out_len > 0 ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = want, .data.u64 = SERVER_TAG_CONN0 + (uint64_t)i };

	if (c->watched && c->events == want)
		return;
	if (epoll_ctl(s->epfd, c->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		log_warn("epoll_ctl %s", c->peer);
		return;
	}
	c->watched = true;
	c->events = want;
}

static void server_unwatch(struct server *s, int i)
{
	struct server_conn *c = &s->conns[i];

	if (c->watched)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->watched = false;
	c->events = 0;
}

static void server_arm_timer(struct server *s, unsigned ms)
{
	struct itimerspec its = { .it_value = { ms / 1000, (long)(ms % 1000) * 1000000L } };

	timerfd_settime(s->tfd, 0, &its, NULL);
}

static void server_close_conn(struct server *s, int i, const char *why)
{
	struct server_conn *c = &s->conns[i];

	if (c->fd < 0)
		return;
	log_info("%s: %s", c->peer, why);
	server_unwatch(s, i);
	close(c->fd);
	c->fd = -1;
	c->out_len = 0;
	if (c->serial)
		server_arm_timer(s, SERVER_SERIAL_REOPEN_MS);
}

static int server_add_conn(struct server *s, int fd, bool serial, const char *peer)
{
	for (int i = 0; i < SERVER_MAX_CONNS; i++) {
		struct server_conn *c = &s->conns[i];
		if (c->fd >= 0)
			continue;
		c->fd = fd;
		c->serial = serial;
		c->watched = false;
		c->out_len = 0;
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
		proto_linebuf_init(&c->in);
		server_watch(s, i);
		return i;
	}
	return -1;
}

static void server_open_serial(struct server *s)
{
	char err[200];
	int fd = proto_open_serial(&s->addr, err, sizeof(err));

	if (fd < 0) {
		log_warnx("%s (retrying every %d ms)", err, SERVER_SERIAL_REOPEN_MS);
		server_arm_timer(s, SERVER_SERIAL_REOPEN_MS);
		return;
	}
	char peer[64];
	snprintf(peer, sizeof(peer), "serial port");
	server_add_conn(s, fd, true, peer);
}

/* The host end of the serial port is closed: drop a partial input line (the
 * rest of it will never come) and look again soon. Unsent replies are kept:
 * the guest can learn of a reconnect after it already read the new host's
 * request, and a reply a new host did not ask for is ignored by its id. */
static void server_serial_idle(struct server *s, int i)
{
	struct server_conn *c = &s->conns[i];

	server_unwatch(s, i);
	proto_linebuf_init(&c->in);
	server_arm_timer(s, SERVER_SERIAL_RETRY_MS);
}

static void server_flush(struct server *s, int i)
{
	struct server_conn *c = &s->conns[i];

	while (c->out_len > 0) {
		ssize_t n = write(c->fd, c->out, c->out_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			char why[96];
			snprintf(why, sizeof(why), "write: %s", strerror(errno));
			server_close_conn(s, i, why);
			return;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	server_watch(s, i);
}

static void server_queue_reply(struct server *s, int i, int n)
{
	struct server_conn *c = &s->conns[i];

	if (n <= 0)
		return;
	if (c->out_len + (size_t)n > sizeof(c->out)) {
		if (c->serial) {
			log_warnx("serial port: host is not reading; reply dropped");
			return;
		}
		server_close_conn(s, i, "client does not read its replies; dropped");
		return;
	}
	memcpy(c->out + c->out_len, s->reply, (size_t)n);
	c->out_len += (size_t)n;
}

static void server_read(struct server *s, int i)
{
	struct server_conn *c = &s->conns[i];

	for (;;) {
		ssize_t n = read(c->fd, proto_linebuf_space(&c->in), proto_linebuf_room(&c->in));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			char why[96];
			snprintf(why, sizeof(why), "read: %s", strerror(errno));
			server_close_conn(s, i, why);
			return;
		}
		if (n == 0) {
			if (c->serial)
				server_serial_idle(s, i);
			else
				server_close_conn(s, i, "closed by peer");
			return;
		}
		proto_linebuf_commit(&c->in, (size_t)n);
		for (;;) {
			char *line;
			size_t len;
			enum proto_line_result r = proto_linebuf_next(&c->in, &line, &len);
			if (r == PROTO_LINE_NONE)
				break;
			int m = r == PROTO_LINE_OK
					? agent_handle_line(s->a, line, len, s->reply,
							    sizeof(s->reply))
					: agent_reply_too_long(s->a, s->reply, sizeof(s->reply));
			server_queue_reply(s, i, m);
			if (c->fd < 0)
				return;
		}
	}
	server_flush(s, i);
}

static void server_accept(struct server *s)
{
	for (;;) {
		char peer[64];
		int fd = proto_accept(s->lfd, &s->addr, peer, sizeof(peer));
		if (fd < 0) {
			if (errno == EPERM)
				log_warnx("refused %s: only the host may connect", peer);
			else if (errno != EAGAIN && errno != EINTR)
				log_warn("accept");
			if (errno == EPERM || errno == EINTR)
				continue;
			return;
		}
		if (server_add_conn(s, fd, false, peer) < 0) {
			int n = proto_encode_error(s->reply, sizeof(s->reply), false, 0,
						   "too many connections to the agent");
			/* read what it already sent, so that closing does not reset
			 * the connection before it reads why */
			char junk[512];
			while (read(fd, junk, sizeof(junk)) > 0)
				;
			if (n > 0 && write(fd, s->reply, (size_t)n) < 0)
				log_debug("refusing %s: write failed", peer);
			shutdown(fd, SHUT_WR);
			close(fd);
			log_warnx("refused %s: %d connections already", peer, SERVER_MAX_CONNS);
			continue;
		}
		log_info("%s connected", peer);
	}
}

static void server_timer(struct server *s)
{
	uint64_t ticks;

	if (read(s->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("timerfd");
	if (s->addr.kind != PROTO_T_SERIAL)
		return;
	struct server_conn *c = &s->conns[0];
	if (c->fd < 0)
		server_open_serial(s);
	else if (!c->watched)
		server_watch(s, 0);
}

static void server_signal(struct server *s)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: nothing to reload");
			continue;
		}
		log_info("signal %d: restoring the guest and exiting", (int)si.ssi_signo);
		s->stop = true;
	}
}

static void server_event(struct server *s, const struct epoll_event *ev)
{
	uint64_t tag = ev->data.u64;

	if (tag == SERVER_TAG_LISTEN) {
		server_accept(s);
		return;
	}
	if (tag == SERVER_TAG_SIGNAL) {
		server_signal(s);
		return;
	}
	if (tag == SERVER_TAG_TIMER) {
		server_timer(s);
		return;
	}
	int i = (int)(tag - SERVER_TAG_CONN0);
	if (i < 0 || i >= SERVER_MAX_CONNS || s->conns[i].fd < 0)
		return;
	struct server_conn *c = &s->conns[i];
	if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (c->serial && !(ev->events & EPOLLIN) && (ev->events & EPOLLHUP)) {
			server_serial_idle(s, i); /* host end not connected */
			return;
		}
		server_read(s, i);
		if (c->fd < 0 || !c->watched)
			return;
	}
	if (ev->events & EPOLLOUT)
		server_flush(s, i);
}

static int server_setup(struct server *s)
{
	sigset_t mask;
	char err[200];
	struct epoll_event ev = { .events = EPOLLIN };

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -1;
	s->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->epfd < 0 || s->tfd < 0 || s->sfd < 0) {
		log_warn("epoll/timerfd/signalfd");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	ev.data.u64 = SERVER_TAG_SIGNAL;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sfd, &ev);
	ev.data.u64 = SERVER_TAG_TIMER;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->tfd, &ev);

	char name[160];
	proto_addr_format(&s->addr, name, sizeof(name));
	if (s->addr.kind == PROTO_T_SERIAL) {
		server_open_serial(s);
	} else {
		s->lfd = proto_listen(&s->addr, err, sizeof(err));
		if (s->lfd < 0) {
			log_warnx("%s", err);
			return -1;
		}
		ev.data.u64 = SERVER_TAG_LISTEN;
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev);
	}
	log_info("listening on %s%s", name, s->a->dry_run ? " (dry run: no writes)" : "");
	return 0;
}

int agent_serve(struct agent *a, const struct proto_addr *addr)
{
	struct server *s = calloc(1, sizeof(*s));
	int status = 0;

	if (!s) {
		log_warn("out of memory");
		return 1;
	}
	s->a = a;
	s->addr = *addr;
	s->lfd = s->sfd = s->tfd = s->epfd = -1;
	for (int i = 0; i < SERVER_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	if (server_setup(s) < 0) {
		status = 1;
		goto out;
	}
	while (!s->stop) {
		struct epoll_event evs[16];
		/* with --vf-bond, look for a VF coming or going every 200 ms */
		int n = epoll_wait(s->epfd, evs, 16, a->vfb.standby[0] ? SERVER_VFBOND_MS : -1);
		if (a->vfb.standby[0]) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
			if (now_ms - s->vfbond_ms >= SERVER_VFBOND_MS) {
				s->vfbond_ms = now_ms;
				agent_vfbond_poll(a);
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			status = 1;
			break;
		}
		for (int k = 0; k < n && !s->stop; k++)
			server_event(s, &evs[k]);
	}
out:
	if (agent_restore(a) > 0)
		status = 1;
	for (int i = 0; i < SERVER_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			close(s->conns[i].fd);
	if (s->lfd >= 0) {
		close(s->lfd);
		if (addr->kind == PROTO_T_UNIX)
			unlink(addr->path);
	}
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->tfd >= 0)
		close(s->tfd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s);
	return status;
}
