/* qmp.c - vCPU thread ids from QEMU's QMP socket (query-cpus-fast), for VMs started without thread names. */
#include "platform/linux/qmp.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/strutil.h"

struct qmp_conn {
	int fd;
	char *buf;
	size_t len, cap;
	struct timespec deadline;
};

static int qmp_ms_left(const struct qmp_conn *q)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (q->deadline.tv_sec - now.tv_sec) * 1000 +
	     (q->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* Next line (without CR/LF) into *line (points into q->buf, valid until the
 * next call). Returns 0, or -1 with err. */
static int qmp_read_line(struct qmp_conn *q, char **line, size_t *consumed, char *err,
			 size_t errlen)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
		if (nl) {
			*nl = '\0';
			if (nl > q->buf && nl[-1] == '\r')
				nl[-1] = '\0';
			*line = q->buf;
			*consumed = (size_t)(nl - q->buf) + 1;
			return 0;
		}
		if (q->len + 1 >= VS_QMP_LINE_MAX) {
			snprintf(err, errlen, "QMP reply longer than %d bytes", VS_QMP_LINE_MAX);
			return -1;
		}
		if (q->cap - q->len < 4096) {
			size_t nc = q->cap ? q->cap * 2 : 16384;
			char *nb = realloc(q->buf, nc);
			if (!nb) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			q->buf = nb;
			q->cap = nc;
		}
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		int ms = qmp_ms_left(q);
		if (ms == 0 || poll(&pfd, 1, ms) <= 0) {
			snprintf(err, errlen, "QMP did not answer in time");
			return -1;
		}
		ssize_t k = read(q->fd, q->buf + q->len, q->cap - q->len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(err, errlen, "QMP closed the connection%s%s", k < 0 ? ": " : "",
				 k < 0 ? strerror(errno) : "");
			return -1;
		}
		q->len += (size_t)k;
	}
}

static void qmp_consume(struct qmp_conn *q, size_t n)
{
	memmove(q->buf, q->buf + n, q->len - n);
	q->len -= n;
}

static int qmp_send(struct qmp_conn *q, const char *text, char *err, size_t errlen)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t k = send(q->fd, text + off, len - off, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errlen, "QMP send: %s", strerror(errno));
			return -1;
		}
		off += (size_t)k;
	}
	return 0;
}

int qmp_parse_cpus(const char *line, int *tids, int max, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(line, 0, &je), *ret, *e;
	size_t i;
	int n = 0;

	if (!root || !json_is_object(root)) {
		snprintf(err, errlen, "QMP sent malformed JSON: %s",
			 root ? "not an object" : je.text);
		json_decref(root);
		return -1;
	}
	if ((e = json_object_get(root, "error"))) {
		const char *desc = json_string_value(json_object_get(e, "desc"));
		snprintf(err, errlen, "QMP error: %s", desc ? desc : "(no description)");
		json_decref(root);
		return -1;
	}
	ret = json_object_get(root, "return");
	if (!ret || !json_is_array(ret)) {
		json_decref(root);
		return 0; /* greeting, event or the qmp_capabilities reply */
	}
	json_array_foreach(ret, i, e)
	{
		json_t *idx = json_object_get(e, "cpu-index"),
		       *tid = json_object_get(e, "thread-id");
		json_int_t ci, ti;
		if (!json_is_integer(idx) || !json_is_integer(tid)) {
			snprintf(err, errlen,
				 "QMP query-cpus-fast entry %zu lacks cpu-index/thread-id", i);
			json_decref(root);
			return -1;
		}
		ci = json_integer_value(idx);
		ti = json_integer_value(tid);
		if (ci < 0 || ci >= max || ti <= 0 || ti > INT32_MAX) {
			snprintf(err, errlen,
				 "QMP query-cpus-fast entry %zu: cpu-index %lld thread-id %lld out "
				 "of range",
				 i, (long long)ci, (long long)ti);
			json_decref(root);
			return -1;
		}
		tids[ci] = (int)ti;
		if (ci + 1 > n)
			n = (int)ci + 1;
	}
	json_decref(root);
	return n;
}

/* Read lines until one carries "return" or "error" (skipping events). */
static int qmp_wait_reply(struct qmp_conn *q, int *tids, int max, char *err, size_t errlen)
{
	for (;;) {
		char *line;
		size_t used;
		int n;

		if (qmp_read_line(q, &line, &used, err, errlen) < 0)
			return -1;
		if (strstr(line, "\"event\"") && !strstr(line, "\"return\"")) {
			qmp_consume(q, used);
			continue;
		}
		if (strstr(line, "\"QMP\"")) { /* greeting */
			qmp_consume(q, used);
			return 0;
		}
		n = qmp_parse_cpus(line, tids, max, err, errlen);
		qmp_consume(q, used);
		return n;
	}
}

int qmp_vcpu_threads(const char *path, int timeout_ms, int *tids, int max, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmp_conn q = { .fd = -1 };
	int n = -1;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "QMP socket path %s is too long", path);
		return -1;
	}
	str_copy(sa.sun_path, path, sizeof(sa.sun_path));
	clock_gettime(CLOCK_MONOTONIC, &q.deadline);
	q.deadline.tv_sec += timeout_ms / 1000;
	q.deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (q.deadline.tv_nsec >= 1000000000) {
		q.deadline.tv_sec++;
		q.deadline.tv_nsec -= 1000000000;
	}
	q.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q.fd < 0 || connect(q.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "QMP socket %s: %s", path, strerror(errno));
		goto out;
	}
	memset(tids, 0, sizeof(int) * (size_t)max);
	/* greeting, then capabilities negotiation, then the query */
	if (qmp_wait_reply(&q, tids, max, err, errlen) < 0 ||
	    qmp_send(&q, "{\"execute\":\"qmp_capabilities\"}\r\n", err, errlen) < 0 ||
	    qmp_wait_reply(&q, tids, max, err, errlen) < 0 ||
	    qmp_send(&q, "{\"execute\":\"query-cpus-fast\"}\r\n", err, errlen) < 0)
		goto out;
	n = qmp_wait_reply(&q, tids, max, err, errlen);
	if (n == 0) {
		snprintf(err, errlen, "QMP query-cpus-fast returned no vCPUs");
		n = -1;
	}
out:
	if (q.fd >= 0)
		close(q.fd);
	free(q.buf);
	return n;
}
