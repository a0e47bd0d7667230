/* ctlsock.c - the control socket: JSON lines over a Unix stream socket, peer credentials checked. */
#include "daemon/ctlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"

#define CTL_LISTENER 0xffffffffu

static uint64_t ctlsock_data(const struct ctlsock *s, unsigned slot)
{
	return (uint64_t)s->tag << 32 | slot;
}

static uint64_t ctlsock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* mkdir -p for the socket's directory. */
static int ctlsock_mkdirs(const char *path)
{
	char buf[108];

	str_copy(buf, path, sizeof(buf));
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

int ctlsock_open(struct ctlsock *s, const char *path, int epfd, unsigned tag, bool has_gid,
		 gid_t gid, ctlsock_handler handle, void *arg, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	int probe;

	memset(s, 0, sizeof(*s));
	s->lfd = -1;
	for (int i = 0; i < VSD_CTL_CLIENTS; i++)
		s->cl[i].fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control_socket %s: path too long", path);
		return -1;
	}
	str_copy(s->path, path, sizeof(s->path));
	str_copy(sa.sun_path, path, sizeof(sa.sun_path));
	s->epfd = epfd;
	s->tag = tag;
	s->has_gid = has_gid;
	s->gid = gid;
	s->handle = handle;
	s->arg = arg;
	s->idle_ms = VSD_CTL_IDLE_MS;
	if (ctlsock_mkdirs(path) < 0) {
		snprintf(err, errlen, "control_socket %s: cannot create its directory: %s", path,
			 strerror(errno));
		return -1;
	}
	/* a socket file left behind: is a daemon still answering on it? */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		snprintf(err, errlen,
			 "control_socket %s: another vspaced is running (it answers on the socket)",
			 path);
		return -1;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->lfd, 64) < 0) {
		snprintf(err, errlen, "control_socket %s: %s", path, strerror(errno));
		if (s->lfd >= 0)
			close(s->lfd);
		s->lfd = -1;
		return -1;
	}
	/* root, our user and (with control_group) that group */
	if (chmod(path, has_gid ? 0660 : 0600) < 0 || (has_gid && chown(path, (uid_t)-1, gid) < 0))
		log_warn("control_socket %s: permissions", path);
	ev.data.u64 = ctlsock_data(s, CTL_LISTENER);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->lfd, &ev) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		ctlsock_close(s);
		return -1;
	}
	return 0;
}

static void ctlsock_drop(struct ctlsock *s, struct ctl_client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void ctlsock_close(struct ctlsock *s)
{
	for (int i = 0; i < VSD_CTL_CLIENTS; i++)
		ctlsock_drop(s, &s->cl[i]);
	if (s->lfd >= 0) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
		close(s->lfd);
		unlink(s->path);
	}
	s->lfd = -1;
}

static char *ctlsock_error_line(const char *msg)
{
	json_t *o = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
	char *text = json_dumps(o, JSON_COMPACT);
	char *line = NULL;

	json_decref(o);
	if (text && (line = malloc(strlen(text) + 2)))
		snprintf(line, strlen(text) + 2, "%s\n", text);
	free(text);
	return line;
}

char *ctlsock_dispatch(struct ctlsock *s, const char *line, size_t len, uid_t uid)
{
	json_error_t je;
	json_t *req, *reply;
	char err[512], *text, *out;

	s->requests++;
	if (len == 0)
		return ctlsock_error_line("empty request: send one JSON object per line, e.g. "
					  "{\"cmd\":\"status\"}");
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!req) {
		snprintf(err, sizeof(err), "malformed JSON at column %d: %s", je.column, je.text);
		return ctlsock_error_line(err);
	}
	if (!json_is_object(req)) {
		json_decref(req);
		return ctlsock_error_line("a request is a JSON object: {\"cmd\":\"status\"}");
	}
	if (!json_is_string(json_object_get(req, "cmd"))) {
		json_decref(req);
		return ctlsock_error_line(
			"missing \"cmd\" (a string: status, explain, report, set, "
			"pause, resume)");
	}
	err[0] = '\0';
	reply = s->handle(s->arg, req, uid, err, sizeof(err));
	json_decref(req);
	if (!reply)
		return ctlsock_error_line(err[0] ? err : "request failed");
	json_object_set_new(reply, "ok", json_true());
	text = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(reply);
	if (!text)
		return ctlsock_error_line("out of memory");
	out = malloc(strlen(text) + 2);
	if (out)
		snprintf(out, strlen(text) + 2, "%s\n", text);
	free(text);
	return out;
}

/* Queue text for c and try to send it now. */
static void ctlsock_send(struct ctlsock *s, struct ctl_client *c, const char *text)
{
	size_t len = strlen(text);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
				  .data.u64 = ctlsock_data(s, (unsigned)(c - s->cl)) };

	if (c->out_len + len > VSD_CTL_OUT_MAX) {
		log_warnx("control socket: client (uid %u) does not read its replies: dropped",
			  (unsigned)c->uid);
		ctlsock_drop(s, c);
		return;
	}
	if (c->out_len + len > c->out_cap) {
		size_t nc = c->out_cap ? c->out_cap : 4096;
		while (nc < c->out_len + len)
			nc *= 2;
		char *no = realloc(c->out, nc);
		if (!no) {
			ctlsock_drop(s, c);
			return;
		}
		c->out = no;
		c->out_cap = nc;
	}
	memcpy(c->out + c->out_len, text, len);
	c->out_len += len;
	while (c->out_len > 0) {
		ssize_t k = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		}
		if (k < 0) {
			ctlsock_drop(s, c);
			return;
		}
		memmove(c->out, c->out + k, c->out_len - (size_t)k);
		c->out_len -= (size_t)k;
		if (k > 0)
			c->active_ms = ctlsock_now_ms();
	}
	if (c->closing)
		ctlsock_drop(s, c);
}

/* Is the peer root, our user, or a member (primary or supplementary) of the
 * control group? */
static bool ctlsock_allowed(const struct ctlsock *s, int fd, const struct ucred *cred)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0 || cred->uid == geteuid())
		return true;
	if (!s->has_gid)
		return false;
	if (cred->gid == s->gid)
		return true;
	/* the peer's supplementary groups as they were at connect() (Linux 4.13) */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == s->gid)
			return true;
	return false;
}

/* Answer a connection we do not keep with one error line and close it. */
static void ctlsock_refuse(int fd, const char *msg)
{
	char *line = ctlsock_error_line(msg);

	/* the line fits in an empty socket buffer; a peer that already closed
	 * gets nothing */
	if (line && send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control socket: refusal not sent: %s", strerror(errno));
	free(line);
	close(fd);
}

/* Log a refusal, at most one line a second (a flood must not flood the log). */
static void ctlsock_log_refusal(struct ctlsock *s, const char *what, const struct ucred *cred)
{
	uint64_t now = ctlsock_now_ms();

	if (s->refuse_log_ms && now - s->refuse_log_ms < 1000) {
		s->refuse_unlogged++;
		return;
	}
	if (s->refuse_unlogged)
		log_warnx("control socket: %s pid %d uid %u (and %lu more refused in the last "
			  "second)",
			  what, (int)cred->pid, (unsigned)cred->uid, s->refuse_unlogged);
	else
		log_warnx("control socket: %s pid %d uid %u", what, (int)cred->pid,
			  (unsigned)cred->uid);
	s->refuse_log_ms = now;
	s->refuse_unlogged = 0;
}

/* The longest-idle connection with nothing in progress (or, if every one is
 * mid-request, the longest idle of all). */
static struct ctl_client *ctlsock_victim(struct ctlsock *s)
{
	struct ctl_client *best = NULL, *best_busy = NULL;

	for (int i = 0; i < VSD_CTL_CLIENTS; i++) {
		struct ctl_client *c = &s->cl[i];
		if (c->fd < 0)
			continue;
		if (c->in_len == 0 && c->out_len == 0) {
			if (!best || c->active_ms < best->active_ms)
				best = c;
		} else if (!best_busy || c->active_ms < best_busy->active_ms) {
			best_busy = c;
		}
	}
	return best ? best : best_busy;
}

/* A slot for a new connection from cred, or NULL with why set. */
static struct ctl_client *ctlsock_slot(struct ctlsock *s, const struct ucred *cred, char *why,
				       size_t len)
{
	int same_uid = 0,
	    last = cred->uid == 0 ? VSD_CTL_CLIENTS : VSD_CTL_CLIENTS - VSD_CTL_ROOT_SLOTS;
	struct ctl_client *free_slot = NULL, *v;

	for (int i = 0; i < VSD_CTL_CLIENTS; i++) {
		if (s->cl[i].fd < 0) {
			if (!free_slot && i < last)
				free_slot = &s->cl[i];
		} else if (s->cl[i].uid == cred->uid) {
			same_uid++;
		}
	}
	if (cred->uid != 0 && same_uid >= VSD_CTL_PER_UID) {
		snprintf(why, len,
			 "too many clients: uid %u already holds %d connections (the limit per "
			 "user is %d)",
			 (unsigned)cred->uid, same_uid, VSD_CTL_PER_UID);
		return NULL;
	}
	if (free_slot)
		return free_slot;
	if (cred->uid != 0) {
		snprintf(why, len, "too many clients: all %d connections are in use",
			 VSD_CTL_CLIENTS - VSD_CTL_ROOT_SLOTS);
		return NULL;
	}
	/* root is never locked out: the longest-idle connection makes room */
	v = ctlsock_victim(s);
	if (!v) {
		snprintf(why, len, "too many clients");
		return NULL;
	}
	log_info("control socket: full; closing the connection of pid %d uid %u (idle %.1f s) "
		 "for root",
		 (int)v->pid, (unsigned)v->uid, (double)(ctlsock_now_ms() - v->active_ms) / 1e3);
	s->evicted++;
	ctlsock_drop(s, v);
	return v;
}

static void ctlsock_accept(struct ctlsock *s)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		struct ctl_client *c;
		char why[160];
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
			close(fd);
			continue;
		}
		if (!ctlsock_allowed(s, fd, &cred)) {
			/* answered and closed at once: a refused peer holds no slot */
			s->rejected++;
			ctlsock_log_refusal(s, "refused (no permission)", &cred);
			snprintf(why, sizeof(why),
				 "permission denied: uid %u may not use this socket (root, uid "
				 "%u%s)",
				 (unsigned)cred.uid, (unsigned)geteuid(),
				 s->has_gid ? " or members of the control_group" : "");
			ctlsock_refuse(fd, why);
			continue;
		}
		c = ctlsock_slot(s, &cred, why, sizeof(why));
		if (!c) {
			s->busy++;
			ctlsock_log_refusal(s, "refused (too many clients)", &cred);
			ctlsock_refuse(fd, why);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->uid = cred.uid;
		c->pid = cred.pid;
		c->active_ms = ctlsock_now_ms();
		ev.data.u64 = ctlsock_data(s, (unsigned)(c - s->cl));
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			c->fd = -1;
			continue;
		}
	}
}

static void ctlsock_read(struct ctlsock *s, struct ctl_client *c)
{
	for (;;) {
		ssize_t k;
		char *nl;

		if (c->fd < 0 || c->closing)
			return;
		k = recv(c->fd, c->in + c->in_len, VSD_CTL_LINE_MAX + 1 - c->in_len, MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (k <= 0) {
			ctlsock_drop(s, c);
			return;
		}
		c->in_len += (size_t)k;
		c->active_ms = ctlsock_now_ms();
		while (c->fd >= 0 && (nl = memchr(c->in, '\n', c->in_len))) {
			size_t len = (size_t)(nl - c->in);
			if (!c->discarding) {
				size_t l = len;
				if (l > 0 && c->in[l - 1] == '\r')
					l--;
				char *reply = ctlsock_dispatch(s, c->in, l, c->uid);
				if (reply) {
					ctlsock_send(s, c, reply);
					free(reply);
				}
			}
			c->discarding = false;
			if (c->fd < 0)
				return;
			memmove(c->in, nl + 1, c->in_len - len - 1);
			c->in_len -= len + 1;
		}
		if (c->in_len > VSD_CTL_LINE_MAX) {
			char msg[96];
			snprintf(msg, sizeof(msg), "request longer than %d bytes",
				 VSD_CTL_LINE_MAX);
			if (!c->discarding) {
				char *line = ctlsock_error_line(msg);
				if (line) {
					ctlsock_send(s, c, line);
					free(line);
				}
			}
			c->discarding = true;
			c->in_len = 0;
		}
	}
}

void ctlsock_event(struct ctlsock *s, unsigned slot, unsigned events)
{
	struct ctl_client *c;

	if (slot == CTL_LISTENER) {
		ctlsock_accept(s);
		return;
	}
	if (slot >= VSD_CTL_CLIENTS || s->cl[slot].fd < 0)
		return;
	c = &s->cl[slot];
	if (events & EPOLLOUT) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ctlsock_data(s, slot) };
		ctlsock_send(s, c, ""); /* flush the backlog */
		if (c->fd >= 0 && c->out_len == 0)
			epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	}
	if (c->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		ctlsock_read(s, c);
}

void ctlsock_tick(struct ctlsock *s, uint64_t now_ms)
{
	for (int i = 0; i < VSD_CTL_CLIENTS; i++) {
		struct ctl_client *c = &s->cl[i];
		if (c->fd < 0 || now_ms < c->active_ms + (uint64_t)s->idle_ms)
			continue;
		log_debug("control socket: closing the connection of pid %d uid %u: idle for %d ms",
			  (int)c->pid, (unsigned)c->uid, s->idle_ms);
		s->idle++;
		ctlsock_drop(s, c);
	}
}

int ctlsock_timeout_ms(const struct ctlsock *s, uint64_t now_ms)
{
	int64_t best = -1;

	for (int i = 0; i < VSD_CTL_CLIENTS; i++) {
		const struct ctl_client *c = &s->cl[i];
		int64_t left;
		if (c->fd < 0)
			continue;
		left = (int64_t)(c->active_ms + (uint64_t)s->idle_ms) - (int64_t)now_ms;
		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	return (int)best;
}

int ctlsock_clients(const struct ctlsock *s)
{
	int n = 0;

	for (int i = 0; i < VSD_CTL_CLIENTS; i++)
		n += s->cl[i].fd >= 0;
	return n;
}
