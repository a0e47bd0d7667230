/* report.c - pushes each window's p95 to vspaced's control socket (JSON lines: vspaced's "report" request). */
#include "loadgen/report.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"

static bool report_workload_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

int report_parse_spec(const char *spec, char *path, size_t path_len, char *workload,
		      size_t workload_len, char *err, size_t err_len)
{
	const char *rest, *colon;
	size_t plen, wlen;

	if (!str_starts_with(spec, "unix:")) {
		snprintf(err, err_len,
			 "\"%s\" does not start with \"unix:\" (expected unix:SOCKET:WORKLOAD)",
			 spec);
		return -1;
	}
	rest = spec + 5;
	colon = strrchr(rest, ':');
	if (!colon) {
		snprintf(err, err_len, "\"%s\" names no workload (expected unix:SOCKET:WORKLOAD)",
			 spec);
		return -1;
	}
	plen = (size_t)(colon - rest);
	wlen = strlen(colon + 1);
	if (plen == 0) {
		snprintf(err, err_len,
			 "\"%s\" names no socket path (expected unix:SOCKET:WORKLOAD)", spec);
		return -1;
	}
	if (plen >= path_len || plen >= REPORT_PATH_MAX) {
		snprintf(err, err_len, "socket path in \"%s\" is longer than %d bytes", spec,
			 REPORT_PATH_MAX - 1);
		return -1;
	}
	if (wlen == 0 || wlen >= workload_len || wlen >= REPORT_WORKLOAD_MAX) {
		snprintf(err, err_len, "workload name in \"%s\" must be 1 to %d characters", spec,
			 REPORT_WORKLOAD_MAX - 1);
		return -1;
	}
	for (size_t i = 0; i < wlen; i++)
		if (!report_workload_char(colon[1 + i])) {
			snprintf(err, err_len,
				 "workload name \"%s\" may contain only letters, digits, '_', '.', "
				 "'-'",
				 colon + 1);
			return -1;
		}
	memcpy(path, rest, plen);
	path[plen] = '\0';
	memcpy(workload, colon + 1, wlen + 1);
	return 0;
}

static int report_connect(struct report_client *rc, char *err, size_t err_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, err_len, "socket: %s", strerror(errno));
		return -1;
	}
	str_copy(sa.sun_path, rc->path, sizeof(sa.sun_path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, err_len, "cannot connect to %s: %s", rc->path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Non-blocking from here on: a stuck daemon must never stall the load. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		snprintf(err, err_len, "fcntl: %s", strerror(errno));
		close(fd);
		return -1;
	}
	rc->fd = fd;
	rc->rlen = 0;
	rc->pending = 0;
	return 0;
}

int report_open(struct report_client *rc, const char *spec, char *err, size_t err_len)
{
	memset(rc, 0, sizeof(*rc));
	rc->fd = -1;
	if (report_parse_spec(spec, rc->path, sizeof(rc->path), rc->workload, sizeof(rc->workload),
			      err, err_len) < 0)
		return -1;
	return report_connect(rc, err, err_len);
}

char *report_format(const char *workload, double p95_us, uint64_t count)
{
	json_t *o = json_pack("{s:s, s:s, s:f, s:I}", "cmd", "report", "workload", workload,
			      "p95_us", p95_us, "count", (json_int_t)count);
	char *text;

	if (!o)
		return NULL;
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

static void report_drop(struct report_client *rc, const char *why)
{
	if (rc->fd >= 0)
		close(rc->fd);
	rc->fd = -1;
	rc->lost += (uint64_t)(rc->pending > 0 ? rc->pending : 0);
	rc->pending = 0;
	rc->rlen = 0;
	snprintf(rc->last_error, sizeof(rc->last_error), "%s", why);
	if (!rc->warned_down) {
		log_warnx("report: %s (%s); reports are lost until it comes back", why, rc->path);
		rc->warned_down = true;
	}
}

/* One reply line from vspaced. */
static void report_reply(struct report_client *rc, const char *line)
{
	json_error_t jerr;
	json_t *o = json_loads(line, 0, &jerr), *ok, *error;

	if (rc->pending > 0)
		rc->pending--;
	ok = o ? json_object_get(o, "ok") : NULL;
	if (ok && json_is_true(ok)) {
		rc->acked++;
	} else {
		const char *e = "reply is not {\"ok\":...}";
		error = o ? json_object_get(o, "error") : NULL;
		if (error && json_is_string(error))
			e = json_string_value(error);
		if (!o)
			e = "reply is not JSON";
		rc->rejected++;
		if (strcmp(rc->last_error, e) != 0)
			log_warnx("report: vspaced rejected the report for \"%s\": %s",
				  rc->workload, e);
		snprintf(rc->last_error, sizeof(rc->last_error), "%s", e);
	}
	json_decref(o);
}

/* Read available replies; wait up to wait_ms for the outstanding ones. */
static void report_read(struct report_client *rc, int wait_ms)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (rc->fd >= 0) {
		struct pollfd pfd = { .fd = rc->fd, .events = POLLIN };
		struct timespec t1;
		int left_ms;
		ssize_t n;
		char *nl;

		/* complete lines first */
		while ((nl = memchr(rc->rbuf, '\n', rc->rlen))) {
			size_t k = (size_t)(nl - rc->rbuf);
			*nl = '\0';
			report_reply(rc, rc->rbuf);
			memmove(rc->rbuf, nl + 1, rc->rlen - k - 1);
			rc->rlen -= k + 1;
		}
		if (rc->rlen == sizeof(rc->rbuf)) {
			report_drop(rc, "reply line longer than 4096 bytes");
			return;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left_ms = wait_ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
					  (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (rc->pending <= 0 || left_ms < 0)
			left_ms = 0;
		if (poll(&pfd, 1, left_ms) <= 0)
			return;
		n = read(rc->fd, rc->rbuf + rc->rlen, sizeof(rc->rbuf) - rc->rlen);
		if (n == 0) {
			report_drop(rc, "vspaced closed the control connection");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			report_drop(rc, strerror(errno));
			return;
		}
		rc->rlen += (size_t)n;
	}
}

int report_send(struct report_client *rc, double p95_us, uint64_t count)
{
	char err[256];
	char *line;
	size_t len;
	ssize_t n;

	if (rc->fd < 0 && report_connect(rc, err, sizeof(err)) < 0) {
		rc->lost++;
		snprintf(rc->last_error, sizeof(rc->last_error), "%s", err);
		return -1;
	}
	if (rc->warned_down) {
		log_info("report: connected to %s again", rc->path);
		rc->warned_down = false;
	}
	line = report_format(rc->workload, p95_us, count);
	if (!line) {
		rc->lost++;
		return -1;
	}
	len = strlen(line);
	line[len] = '\n'; /* json_dumps leaves room: replace the NUL */
	n = send(rc->fd, line, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(line);
	if (n != (ssize_t)(len + 1)) {
		/* A partial line would corrupt the stream: drop the connection. */
		rc->lost++;
		report_drop(rc, n < 0 ? strerror(errno) : "control socket full");
		return -1;
	}
	rc->sent++;
	rc->pending++;
	report_read(rc, REPORT_REPLY_WAIT_MS);
	return 0;
}

void report_close(struct report_client *rc, int wait_ms)
{
	if (rc->fd >= 0) {
		report_read(rc, wait_ms);
		close(rc->fd);
	}
	rc->fd = -1;
}
