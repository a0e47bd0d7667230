/* qmpconn.c - a non-blocking QMP client: one persistent connection to a QEMU monitor socket, the handshake, one command at a time matched by id, waits bounded by a deadline. */
#include "platform/linux/qmpconn.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/strutil.h"

/* The id prefix of our commands. */
#define QMPCONN_ID_PREFIX "vspace-"

uint64_t qmpconn_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void qmpconn_init(struct qmpconn *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->next_id = 1;
	str_copy(c->path, path, sizeof(c->path));
}

void qmpconn_close(struct qmpconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = QMPCONN_CLOSED;
	c->len = 0;
	c->outstanding = 0;
	c->awaited = false;
}

void qmpconn_free(struct qmpconn *c)
{
	qmpconn_close(c);
	free(c->buf);
	c->buf = NULL;
	c->cap = 0;
}

int qmpconn_open(struct qmpconn *c, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	qmpconn_close(c);
	c->version[0] = '\0';
	if (!c->path[0] || strlen(c->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "QMP socket \"%s\": empty or too long a path", c->path);
		return -1;
	}
	str_copy(sa.sun_path, c->path, sizeof(sa.sun_path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(err, errlen, "QMP socket %s: socket: %s", c->path, strerror(errno));
		return -1;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		int e = errno;
		snprintf(err, errlen, "QMP socket %s: %s%s", c->path, strerror(e),
			 e == EAGAIN ? " (its backlog is full: QEMU is not accepting)" : "");
		qmpconn_close(c);
		return -1;
	}
	c->state = QMPCONN_GREETING;
	c->connects++;
	return 0;
}

void qmpconn_attach(struct qmpconn *c, int fd)
{
	qmpconn_close(c);
	c->version[0] = '\0';
	c->fd = fd;
	c->state = QMPCONN_GREETING;
	c->connects++;
}

bool qmpconn_can_send(const struct qmpconn *c)
{
	return c->fd >= 0 && c->state == QMPCONN_READY && c->outstanding == 0;
}

/* Write text whole, without waiting: a command is a few hundred bytes and
 * the socket buffer is empty of ours (one command outstanding at most). */
static int qmpconn_write(struct qmpconn *c, const char *text, char *err, size_t errlen)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t k = send(c->fd, text + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errlen, "QMP socket %s: send: %s", c->path,
				 errno == EAGAIN ? "the socket buffer is full (QEMU is not reading)"
						 : strerror(errno));
			qmpconn_close(c);
			return -1;
		}
		off += (size_t)k;
	}
	return 0;
}

uint64_t qmpconn_send(struct qmpconn *c, const char *cmd, const json_t *args, char *err,
		      size_t errlen)
{
	char id[40], *text;
	json_t *m;
	uint64_t n;
	int rc;

	if (!qmpconn_can_send(c)) {
		snprintf(err, errlen, "QMP socket %s: not ready for a command", c->path);
		return 0;
	}
	n = c->next_id++;
	snprintf(id, sizeof(id), QMPCONN_ID_PREFIX "%" PRIu64, n);
	m = json_pack("{s:s,s:s}", "execute", cmd, "id", id);
	if (m && args)
		json_object_set(m, "arguments", (json_t *)args);
	text = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	/* QMP reads JSON objects off the stream; the newline keeps logs readable */
	{
		size_t l = strlen(text);
		char *t2 = realloc(text, l + 2);
		if (!t2) {
			free(text);
			snprintf(err, errlen, "out of memory");
			return 0;
		}
		text = t2;
		text[l] = '\n';
		text[l + 1] = '\0';
	}
	rc = qmpconn_write(c, text, err, errlen);
	free(text);
	if (rc < 0)
		return 0;
	c->outstanding = n;
	c->awaited = true;
	return n;
}

void qmpconn_abandon(struct qmpconn *c)
{
	c->awaited = false;
}

bool qmpconn_error(const json_t *reply, char *buf, size_t len, char *class_out, size_t classlen)
{
	json_t *e = json_object_get(reply, "error");
	const char *cls, *desc;

	if (!e)
		return false;
	cls = json_string_value(json_object_get(e, "class"));
	desc = json_string_value(json_object_get(e, "desc"));
	snprintf(buf, len, "%s: %s", cls ? cls : "(no class)", desc ? desc : "(no description)");
	if (class_out)
		str_copy(class_out, cls ? cls : "", classlen);
	return true;
}

/* The start of a line, printable characters only, for messages. */
static void qmpconn_show(const char *line, char *out, size_t len)
{
	size_t i = 0;

	for (; line[i] && i + 4 < len && i < 60; i++)
		out[i] = (line[i] >= 0x20 && line[i] < 0x7f) ? line[i] : '?';
	if (line[i] && i + 4 <= len) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/* Whether the reply's id is ours and names command n (absent: QEMU answers
 * a request it could not parse without one; taken as the outstanding's). */
static bool qmpconn_id_matches(const json_t *m, uint64_t n)
{
	json_t *id = json_object_get(m, "id");
	const char *s = json_string_value(id);
	char want[40];

	if (!id)
		return true;
	if (!s)
		return false;
	snprintf(want, sizeof(want), QMPCONN_ID_PREFIX "%" PRIu64, n);
	return strcmp(s, want) == 0;
}

/* QEMU's version from the greeting. */
static void qmpconn_greeting(struct qmpconn *c, const json_t *m)
{
	json_t *q = json_object_get(json_object_get(json_object_get(m, "QMP"), "version"), "qemu");

	if (json_is_integer(json_object_get(q, "major")))
		snprintf(c->version, sizeof(c->version), "%lld.%lld.%lld",
			 (long long)json_integer_value(json_object_get(q, "major")),
			 (long long)json_integer_value(json_object_get(q, "minor")),
			 (long long)json_integer_value(json_object_get(q, "micro")));
}

/* One line from QEMU. */
static enum qmpconn_rc qmpconn_line(struct qmpconn *c, const char *line, json_t **reply, char *err,
				    size_t errlen)
{
	json_error_t je;
	json_t *m;
	char shown[72], what[300];
	bool is_reply;

	if (!line[0])
		return QMPCONN_AGAIN; /* a blank line between messages */
	m = json_loads(line, 0, &je);
	if (!m || !json_is_object(m)) {
		qmpconn_show(line, shown, sizeof(shown));
		snprintf(err, errlen, "QMP socket %s: malformed QMP message \"%s\" (%s)", c->path,
			 shown, m ? "not a JSON object" : je.text);
		json_decref(m);
		return QMPCONN_GARBAGE;
	}
	is_reply = json_object_get(m, "return") || json_object_get(m, "error");
	if (!is_reply && json_object_get(m, "event")) {
		if (c->on_event && c->state == QMPCONN_READY)
			c->on_event(c->event_arg, m);
		json_decref(m); /* asynchronous events are not answers */
		return QMPCONN_AGAIN;
	}
	switch (c->state) {
	case QMPCONN_GREETING:
		if (!json_object_get(m, "QMP")) {
			qmpconn_show(line, shown, sizeof(shown));
			snprintf(err, errlen,
				 "QMP socket %s: \"%s\" instead of QEMU's greeting (not a QMP "
				 "monitor? -qmp, or -mon with mode=control)",
				 c->path, shown);
			json_decref(m);
			return QMPCONN_GARBAGE;
		}
		qmpconn_greeting(c, m);
		json_decref(m);
		if (qmpconn_write(c, "{\"execute\":\"qmp_capabilities\",\"id\":\"vspace-caps\"}\n",
				  err, errlen) < 0)
			return QMPCONN_BROKEN;
		c->state = QMPCONN_CAPS;
		return QMPCONN_AGAIN;
	case QMPCONN_CAPS:
		if (!is_reply) {
			json_decref(m);
			break;
		}
		if (qmpconn_error(m, what, sizeof(what), NULL, 0)) {
			snprintf(err, errlen, "QMP socket %s: qmp_capabilities refused: %s",
				 c->path, what);
			json_decref(m);
			qmpconn_close(c);
			return QMPCONN_BROKEN;
		}
		json_decref(m);
		c->state = QMPCONN_READY;
		return QMPCONN_AGAIN;
	case QMPCONN_READY:
		if (!is_reply) {
			json_decref(m);
			break;
		}
		if (c->outstanding == 0 || !qmpconn_id_matches(m, c->outstanding)) {
			json_decref(m); /* not an answer to anything we are owed */
			c->dropped++;
			return QMPCONN_AGAIN;
		}
		c->outstanding = 0;
		if (!c->awaited) {
			json_decref(m);
			c->dropped++;
			return QMPCONN_AGAIN;
		}
		c->awaited = false;
		*reply = m;
		return QMPCONN_REPLY;
	case QMPCONN_CLOSED:
		json_decref(m);
		break;
	}
	qmpconn_show(line, shown, sizeof(shown));
	snprintf(err, errlen, "QMP socket %s: \"%s\" is not a QMP reply or event", c->path, shown);
	return QMPCONN_GARBAGE;
}

/* Handle every complete line in the buffer (stopping at a reply or an error). */
static enum qmpconn_rc qmpconn_lines(struct qmpconn *c, json_t **reply, char *err, size_t errlen)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		enum qmpconn_rc rc;
		size_t used;

		if (!nl)
			return QMPCONN_AGAIN;
		*nl = '\0';
		if (nl > c->buf && nl[-1] == '\r')
			nl[-1] = '\0';
		used = (size_t)(nl - c->buf) + 1;
		rc = qmpconn_line(c, c->buf, reply, err, errlen);
		if (c->fd < 0)
			return rc == QMPCONN_AGAIN ? QMPCONN_BROKEN : rc;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		if (rc != QMPCONN_AGAIN)
			return rc;
	}
}

enum qmpconn_rc qmpconn_step(struct qmpconn *c, json_t **reply, char *err, size_t errlen)
{
	enum qmpconn_rc rc;

	*reply = NULL;
	if (c->fd < 0) {
		snprintf(err, errlen, "QMP socket %s: not connected", c->path);
		return QMPCONN_BROKEN;
	}
	for (;;) {
		ssize_t k;

		rc = qmpconn_lines(c, reply, err, errlen);
		if (rc == QMPCONN_GARBAGE)
			qmpconn_close(c);
		if (rc != QMPCONN_AGAIN)
			return rc;
		if (c->len >= QMPCONN_LINE_MAX) {
			snprintf(err, errlen, "QMP socket %s: a message longer than %d bytes",
				 c->path, QMPCONN_LINE_MAX);
			qmpconn_close(c);
			return QMPCONN_GARBAGE;
		}
		if (c->cap - c->len < 4096) {
			size_t nc = c->cap ? c->cap * 2 : 16384;
			char *nb = realloc(c->buf, nc);
			if (!nb) {
				snprintf(err, errlen, "out of memory");
				qmpconn_close(c);
				return QMPCONN_BROKEN;
			}
			c->buf = nb;
			c->cap = nc;
		}
		k = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, MSG_DONTWAIT);
		if (k > 0) {
			c->len += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return QMPCONN_AGAIN;
		snprintf(err, errlen, "QMP socket %s: %s", c->path,
			 k == 0 ? "QEMU closed the connection" : strerror(errno));
		qmpconn_close(c);
		return QMPCONN_BROKEN;
	}
}

int qmpconn_call(struct qmpconn *c, const char *cmd, const json_t *args, int timeout_ms,
		 json_t **reply, char *err, size_t errlen)
{
	uint64_t deadline = qmpconn_now_us() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000u;
	bool sent = false, fresh = c->fd < 0;

	*reply = NULL;
	if (c->fd < 0 && qmpconn_open(c, err, errlen) < 0)
		return -1;
	for (;;) {
		enum qmpconn_rc rc = qmpconn_step(c, reply, err, errlen);
		struct pollfd pfd;
		uint64_t now;

		if (rc == QMPCONN_REPLY && sent)
			return 0;
		if (rc == QMPCONN_REPLY) /* cannot happen: nothing of ours was awaited */
			json_decref(*reply);
		*reply = NULL;
		if (rc == QMPCONN_BROKEN && !sent && !fresh) {
			/* a connection kept from before whose QEMU went away (restarted on
			 * the same socket): one new connection */
			fresh = true;
			if (qmpconn_open(c, err, errlen) < 0)
				return -1;
			continue;
		}
		if (rc == QMPCONN_BROKEN || rc == QMPCONN_GARBAGE)
			return -1;
		if (!sent && qmpconn_can_send(c)) {
			if (qmpconn_send(c, cmd, args, err, errlen) == 0)
				return -1;
			sent = true;
			continue; /* the reply may already be there */
		}
		now = qmpconn_now_us();
		if (now >= deadline)
			break;
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)((deadline - now + 999) / 1000)) < 0 && errno != EINTR) {
			snprintf(err, errlen, "QMP socket %s: poll: %s", c->path, strerror(errno));
			return -1;
		}
	}
	if (sent)
		qmpconn_abandon(c);
	snprintf(err, errlen, "QMP socket %s: no answer to %s within %d ms%s", c->path, cmd,
		 timeout_ms,
		 c->state == QMPCONN_GREETING ? " (no greeting: another client holds the monitor?)"
					      : "");
	return -1;
}
