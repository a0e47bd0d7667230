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
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"

#define CTL_LISTENER 0xffffffffu

static uint64_t ctlsock_data(const struct ctlsock *s, unsigned slot)
{
	return (uint64_t)s->tag << 32 | slot;
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
	    listen(s->lfd, 16) < 0) {
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
	}
	if (c->closing)
		ctlsock_drop(s, c);
}

static void ctlsock_accept(struct ctlsock *s)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		struct ctl_client *c = NULL;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
			close(fd);
			continue;
		}
		for (int i = 0; i < VSD_CTL_CLIENTS; i++)
			if (s->cl[i].fd < 0) {
				c = &s->cl[i];
				break;
			}
		if (!c) {
			static const char busy[] =
				"{\"ok\":false,\"error\":\"too many clients\"}\n";
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				log_debug("control socket: busy reply not sent");
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->uid = cred.uid;
		ev.data.u64 = ctlsock_data(s, (unsigned)(c - s->cl));
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			c->fd = -1;
			continue;
		}
		if (cred.uid != 0 && cred.uid != geteuid() && !(s->has_gid && cred.gid == s->gid)) {
			/* answered (with a refusal) once it has sent its request */
			s->rejected++;
			c->rejected = true;
			log_warnx("control socket: refused pid %d uid %u", (int)cred.pid,
				  (unsigned)cred.uid);
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
		while (c->fd >= 0 && (nl = memchr(c->in, '\n', c->in_len))) {
			size_t len = (size_t)(nl - c->in);
			if (c->rejected) {
				char msg[160];
				snprintf(msg, sizeof(msg),
					 "permission denied: uid %u may not use this socket (root, "
					 "uid "
					 "%u%s)",
					 (unsigned)c->uid, (unsigned)geteuid(),
					 s->has_gid ? " or the control_group" : "");
				char *line = ctlsock_error_line(msg);
				c->closing = true;
				if (line) {
					ctlsock_send(s, c, line);
					free(line);
				} else {
					ctlsock_drop(s, c);
				}
				return;
			}
			if (!c->discarding) {
				size_t l = len;
				if (l > 0 && c->in[l - 1] == '\r')
					l--;
				char *reply = l > 0 ? ctlsock_dispatch(s, c->in, l, c->uid) : NULL;
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
