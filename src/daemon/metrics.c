/* metrics.c - Prometheus text metrics: a tiny HTTP endpoint on a loopback port and a node_exporter textfile. */
#include "daemon/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"

#define MET_LISTENER 0xffffffffu

void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		k = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->oom = true;
			return;
		}
		if (b->p && (size_t)k < room) {
			b->len += (size_t)k;
			return;
		}
		size_t nc = b->cap ? b->cap * 2 : 8192;
		while (nc < b->len + (size_t)k + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

void metrics_buf_free(struct metrics_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static uint64_t metrics_data(const struct metrics_srv *m, unsigned slot)
{
	return (uint64_t)m->tag << 32 | slot;
}

int metrics_open(struct metrics_srv *m, const char *listen_addr, int epfd, unsigned tag,
		 metrics_render_fn render, void *arg, char *err, size_t errlen)
{
	char host[64];
	char *colon;
	long port;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1;

	memset(m, 0, sizeof(*m));
	m->lfd = -1;
	for (int i = 0; i < VSD_MET_CLIENTS; i++)
		m->cl[i].fd = -1;
	m->epfd = epfd;
	m->tag = tag;
	m->render = render;
	m->arg = arg;
	str_copy(host, listen_addr, sizeof(host));
	colon = strrchr(host, ':');
	if (!colon || str_to_long(colon + 1, 1, 65535, &port) < 0) {
		snprintf(err, errlen, "metrics_listen %s: expected HOST:PORT", listen_addr);
		return -1;
	}
	*colon = '\0';
	memset(&ss, 0, sizeof(ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sl = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*sin6);
	} else {
		snprintf(err, errlen, "metrics_listen %s: \"%s\" is not a numeric IP address",
			 listen_addr, host);
		return -1;
	}
	m->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->lfd < 0 || setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(m->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(m->lfd, 16) < 0) {
		snprintf(err, errlen, "metrics_listen %s: %s", listen_addr, strerror(errno));
		if (m->lfd >= 0)
			close(m->lfd);
		m->lfd = -1;
		return -1;
	}
	ev.data.u64 = metrics_data(m, MET_LISTENER);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, m->lfd, &ev) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		metrics_close(m);
		return -1;
	}
	return 0;
}

static void metrics_drop(struct metrics_srv *m, struct met_client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	metrics_buf_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void metrics_close(struct metrics_srv *m)
{
	for (int i = 0; i < VSD_MET_CLIENTS; i++)
		metrics_drop(m, &m->cl[i]);
	if (m->lfd >= 0) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->lfd, NULL);
		close(m->lfd);
	}
	m->lfd = -1;
}

void metrics_http_response(const char *req, size_t len, metrics_render_fn render, void *arg,
			   struct metrics_buf *out)
{
	struct metrics_buf body = { 0 };
	const char *status = "200 OK", *ctype = "text/plain; version=0.0.4; charset=utf-8";
	char first[256];
	size_t fl = strcspn(req, "\r\n");

	if (fl >= sizeof(first) || fl > len)
		fl = 0;
	memcpy(first, req, fl);
	first[fl] = '\0';
	if (strncmp(first, "GET ", 4) != 0 && strncmp(first, "HEAD ", 5) != 0) {
		status = "405 Method Not Allowed";
		metrics_printf(&body, "only GET /metrics\n");
	} else if (strncmp(first + (first[0] == 'G' ? 4 : 5), "/metrics ", 9) != 0 &&
		   strncmp(first + (first[0] == 'G' ? 4 : 5), "/ ", 2) != 0) {
		status = "404 Not Found";
		metrics_printf(&body, "vspaced serves /metrics\n");
	} else {
		render(arg, &body);
	}
	if (body.oom) {
		metrics_buf_free(&body);
		status = "500 Internal Server Error";
		metrics_printf(&body, "out of memory\n");
	}
	metrics_printf(out,
		       "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: "
		       "close\r\n\r\n",
		       status, ctype, body.len);
	if (first[0] != 'H' && body.len > 0)
		metrics_printf(out, "%.*s", (int)body.len, body.p);
	metrics_buf_free(&body);
}

static void metrics_flush(struct metrics_srv *m, struct met_client *c)
{
	while (c->out_off < c->out.len) {
		ssize_t k = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct epoll_event ev = { .events = EPOLLOUT,
						  .data.u64 =
							  metrics_data(m, (unsigned)(c - m->cl)) };
			epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		}
		if (k < 0)
			break;
		c->out_off += (size_t)k;
	}
	metrics_drop(m, c);
}

void metrics_event(struct metrics_srv *m, unsigned slot, unsigned events)
{
	struct met_client *c;

	if (slot == MET_LISTENER) {
		for (;;) {
			int fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			struct epoll_event ev = { .events = EPOLLIN };
			c = NULL;
			if (fd < 0)
				return;
			for (int i = 0; i < VSD_MET_CLIENTS; i++)
				if (m->cl[i].fd < 0) {
					c = &m->cl[i];
					break;
				}
			if (!c) {
				close(fd);
				continue;
			}
			memset(c, 0, sizeof(*c));
			c->fd = fd;
			ev.data.u64 = metrics_data(m, (unsigned)(c - m->cl));
			if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
				close(fd);
				c->fd = -1;
			}
		}
	}
	if (slot >= VSD_MET_CLIENTS || m->cl[slot].fd < 0)
		return;
	c = &m->cl[slot];
	if (events & EPOLLOUT) {
		metrics_flush(m, c);
		return;
	}
	for (;;) {
		ssize_t k =
			recv(c->fd, c->in + c->in_len, VSD_MET_REQ_MAX - c->in_len, MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (k <= 0) {
			metrics_drop(m, c);
			return;
		}
		c->in_len += (size_t)k;
		c->in[c->in_len] = '\0';
		if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n") ||
		    c->in_len >= VSD_MET_REQ_MAX) {
			m->scrapes++;
			metrics_http_response(c->in, c->in_len, m->render, m->arg, &c->out);
			metrics_flush(m, c);
			return;
		}
	}
}

int metrics_write_textfile(const char *path, metrics_render_fn render, void *arg)
{
	struct metrics_buf b = { 0 };
	char tmp[4200];
	int fd, rc = -1;

	render(arg, &b);
	if (b.oom ||
	    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_warn("metrics_textfile %s", tmp);
		goto out;
	}
	{
		ssize_t k = write(fd, b.p, b.len);
		int e = errno;
		if (close(fd) < 0 || k != (ssize_t)b.len) {
			errno = k < 0 ? e : EIO;
			log_warn("metrics_textfile %s: write", tmp);
			unlink(tmp);
			goto out;
		}
	}
	if (rename(tmp, path) < 0) {
		log_warn("metrics_textfile: rename to %s", path);
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	metrics_buf_free(&b);
	return rc;
}
