/* test_engine.c - the loadgen engine against in-process fake servers: rates, latency from the intended time, reports, lag, failures. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "loadgen/loadgen.h"
#include "testutil.h"

#define FAKE_CONNS 128

/* A small memcached look-alike on 127.0.0.1 (ephemeral port), one thread, poll(). */
struct fake_mc {
	int lfd;
	int port;
	pthread_t tid;
	atomic_int stop;
	atomic_long sets, gets;
	int stall_after_ms; /* > 0: once, this long after the first request ... */
	int stall_ms;	    /* ... stop reading for this long */
	int close_every;    /* > 0: close a connection after this many replies */
	bool reject_sets;   /* answer SETs with SERVER_ERROR */
};

struct fake_client {
	int fd;
	char buf[65536];
	size_t len;
	int replies;
};

static long fake_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void fake_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Answer every complete command in c->buf; returns -1 to close the connection. */
static int fake_serve(struct fake_mc *f, struct fake_client *c)
{
	size_t off = 0;
	char out[65536];
	size_t olen = 0;
	int rc = 0;

	for (;;) {
		char *nl = memchr(c->buf + off, '\n', c->len - off);
		size_t line_len;
		if (!nl)
			break;
		line_len = (size_t)(nl - (c->buf + off)) + 1;
		if (strncmp(c->buf + off, "get ", 4) == 0) {
			static const char hit[] = "VALUE k 0 3\r\nabc\r\nEND\r\n";
			memcpy(out + olen, hit, sizeof(hit) - 1);
			olen += sizeof(hit) - 1;
			off += line_len;
			atomic_fetch_add(&f->gets, 1);
		} else if (strncmp(c->buf + off, "set ", 4) == 0) {
			/* "set KEY 0 0 N\r\n" + N bytes + CRLF */
			char *last = memrchr(c->buf + off, ' ', line_len);
			long n = strtol(last + 1, NULL, 10);
			if (c->len - off < line_len + (size_t)n + 2)
				break;
			const char *reply =
				f->reject_sets ? "SERVER_ERROR out of memory\r\n" : "STORED\r\n";
			memcpy(out + olen, reply, strlen(reply));
			olen += strlen(reply);
			off += line_len + (size_t)n + 2;
			atomic_fetch_add(&f->sets, 1);
		} else {
			memcpy(out + olen, "ERROR\r\n", 7);
			olen += 7;
			off += line_len;
		}
		c->replies++;
		if (f->close_every > 0 && c->replies % f->close_every == 0) {
			rc = -1;
			break;
		}
		if (olen > sizeof(out) - 64) {
			fake_write_all(c->fd, out, olen);
			olen = 0;
		}
	}
	fake_write_all(c->fd, out, olen);
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return rc;
}

static void *fake_mc_main(void *arg)
{
	struct fake_mc *f = arg;
	struct fake_client *cl = calloc(FAKE_CONNS, sizeof(*cl));
	struct pollfd pfd[FAKE_CONNS + 1];
	long first_ms = 0;
	bool stalled = false;

	for (int i = 0; i < FAKE_CONNS; i++)
		cl[i].fd = -1;
	while (!atomic_load(&f->stop)) {
		int n = 0;
		pfd[n++] = (struct pollfd){ .fd = f->lfd, .events = POLLIN };
		for (int i = 0; i < FAKE_CONNS; i++)
			pfd[n++] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
		if (poll(pfd, (nfds_t)n, 20) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			int fd = accept(f->lfd, NULL, NULL);
			for (int i = 0; i < FAKE_CONNS && fd >= 0; i++)
				if (cl[i].fd < 0) {
					cl[i].fd = fd;
					cl[i].len = 0;
					cl[i].replies = 0;
					fd = -1;
				}
			if (fd >= 0)
				close(fd);
		}
		for (int i = 0; i < FAKE_CONNS; i++) {
			struct fake_client *c = &cl[i];
			ssize_t r;
			if (c->fd < 0 || !(pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
			if (r <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->len += (size_t)r;
			if (first_ms == 0)
				first_ms = fake_now_ms();
			if (f->stall_ms > 0 && !stalled &&
			    fake_now_ms() - first_ms >= f->stall_after_ms) {
				stalled = true;
				usleep((useconds_t)f->stall_ms * 1000);
			}
			if (fake_serve(f, c) < 0) {
				close(c->fd);
				c->fd = -1;
			}
		}
	}
	for (int i = 0; i < FAKE_CONNS; i++)
		if (cl[i].fd >= 0)
			close(cl[i].fd);
	free(cl);
	return NULL;
}

static void fake_mc_start(struct fake_mc *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 256), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &len), 0);
	f->port = ntohs(sa.sin_port);
	atomic_init(&f->stop, 0);
	atomic_init(&f->sets, 0);
	atomic_init(&f->gets, 0);
	assert_int_equal(pthread_create(&f->tid, NULL, fake_mc_main, f), 0);
}

static void fake_mc_stop(struct fake_mc *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->tid, NULL);
	close(f->lfd);
}

/* A fake vspaced control socket: records report lines, answers each. */
struct fake_daemon {
	char path[108];
	int lfd;
	pthread_t tid;
	atomic_int stop;
	const char *reply; /* the reply line to every request */
	char *lines[256];
	atomic_int n_lines;
};

static void *fake_daemon_main(void *arg)
{
	struct fake_daemon *d = arg;
	char buf[8192];
	size_t len = 0;
	int fd = -1;

	while (!atomic_load(&d->stop)) {
		struct pollfd p = { .fd = fd >= 0 ? fd : d->lfd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		if (fd < 0) {
			fd = accept(d->lfd, NULL, NULL);
			continue;
		}
		ssize_t r = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (r <= 0) {
			close(fd);
			fd = -1;
			continue;
		}
		len += (size_t)r;
		char *nl;
		while ((nl = memchr(buf, '\n', len))) {
			int k = atomic_load(&d->n_lines);
			*nl = '\0';
			if (k < 256) {
				d->lines[k] = strdup(buf);
				atomic_store(&d->n_lines, k + 1);
			}
			fake_write_all(fd, d->reply, strlen(d->reply));
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void fake_daemon_start(struct fake_daemon *d, const char *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "/tmp/vsl-test-%d.sock", (int)getpid());
	unlink(d->path);
	strcpy(sa.sun_path, d->path);
	d->reply = reply;
	d->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(d->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(d->lfd, 4), 0);
	atomic_init(&d->stop, 0);
	atomic_init(&d->n_lines, 0);
	assert_int_equal(pthread_create(&d->tid, NULL, fake_daemon_main, d), 0);
}

static void fake_daemon_stop(struct fake_daemon *d)
{
	atomic_store(&d->stop, 1);
	pthread_join(d->tid, NULL);
	close(d->lfd);
	unlink(d->path);
}

static void fake_daemon_free(struct fake_daemon *d)
{
	for (int i = 0; i < atomic_load(&d->n_lines); i++)
		free(d->lines[i]);
}

static void config_for(struct loadgen_config *c, const struct fake_mc *f, double qps,
		       double duration_s)
{
	char hp[64], err[256];

	loadgen_config_init(c);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", f->port);
	assert_int_equal(loadgen_set_server(c, hp, err, sizeof(err)), 0);
	c->qps = qps;
	c->duration_s = duration_s;
	c->connections = 8;
	c->keys = 500;
	/* a shared, possibly sanitized test machine: this test is about
	 * correctness, not timing, so the lag limit is generous */
	c->max_lag_us = 200000;
}

/* A plain run: everything answered, keys loaded first, figures consistent. */
static void test_run(void **state)
{
	struct fake_mc f = { 0 };
	struct loadgen_config c;
	struct loadgen_result *r = malloc(sizeof(*r));
	char err[512];

	fake_mc_start(&f);
	config_for(&c, &f, 2000, 0.5);
	c.threads = 2;
	assert_int_equal(loadgen_run(&c, r, err, sizeof(err)), 0);
	/* the warm-up load SET every key once before the run */
	assert_true(atomic_load(&f.sets) >= 500);
	assert_true(r->sent > 0);
	assert_int_equal(r->completed, r->sent);
	assert_int_equal(r->errors, 0);
	assert_int_equal(r->timeouts, 0);
	assert_int_equal(r->load_errors, 0);
	assert_int_equal(r->latency.total, r->sent);
	assert_true(r->hits > 0);
	assert_int_equal(r->misses, 0);
	/* about 30 GETs per SET (ETC) */
	assert_true(r->hits > 10 * (r->sent - r->hits));
	/* Poisson count over 0.5 s at 2000/s: 1000 +- 32 (1 sd); allow 6 sd */
	assert_true(r->sent > 800 && r->sent < 1200);
	assert_true(fabs(r->sent_qps - (double)r->sent / 0.5) < 1e-6);
	assert_true(r->lag.total == r->sent);
	fake_mc_stop(&f);
	free(r);
}

/* Latency is measured from the intended send time: a server stall of 300 ms
 * charges every request scheduled during it (no coordinated omission). */
static void test_stall_charged(void **state)
{
	struct fake_mc f = { .stall_after_ms = 400, .stall_ms = 300 };
	struct loadgen_config c;
	struct loadgen_result *r = malloc(sizeof(*r));
	char err[512];

	fake_mc_start(&f);
	config_for(&c, &f, 1000, 1.0);
	c.load_keys = false;
	assert_int_equal(loadgen_run(&c, r, err, sizeof(err)), 0);
	assert_int_equal(r->completed, r->sent);
	/* ~30 % of the requests were scheduled inside the stall, waiting 0..300 ms:
	 * P(lat > x) ~ 0.3 (1 - x / 300 ms), so p95 ~ 250 ms and p50 is small */
	assert_true(loadgen_quantile_us(&r->latency, 0.95) > 150000);
	assert_true(loadgen_quantile_us(&r->latency, 0.50) < 100000);
	assert_true(loadgen_quantile_us(&r->latency, 1.0) > 250000);
	fake_mc_stop(&f);
	free(r);
}

/* Every window's p95 reaches the control socket as vspaced's "report" request. */
static void test_report(void **state)
{
	struct fake_mc f = { 0 };
	struct fake_daemon d;
	struct report_client rc;
	struct loadgen_config c;
	struct loadgen_result *r = malloc(sizeof(*r));
	char spec[160], err[512];
	uint64_t counted = 0;

	fake_mc_start(&f);
	fake_daemon_start(&d, "{\"ok\":true}\n");
	snprintf(spec, sizeof(spec), "unix:%s:web", d.path);
	assert_int_equal(report_open(&rc, spec, err, sizeof(err)), 0);
	config_for(&c, &f, 2000, 0.8);
	c.report = &rc;
	assert_int_equal(loadgen_run(&c, r, err, sizeof(err)), 0);
	report_close(&rc, 500);
	fake_daemon_stop(&d); /* joins: the lines are complete */
	int n = atomic_load(&d.n_lines);
	/* 0.8 s in 100 ms windows: 8, give or take the edges; a main thread held
	 * up on a busy machine merges windows rather than losing them */
	assert_true(n >= 3 && n <= 9);
	assert_int_equal((uint64_t)n, rc.sent);
	assert_int_equal(rc.acked, rc.sent);
	assert_int_equal(rc.rejected, 0);
	for (int i = 0; i < n; i++) {
		json_error_t je;
		json_t *o = json_loads(d.lines[i], 0, &je);
		if (!o)
			fail_msg("report line %d is not JSON: %s", i, d.lines[i]);
		assert_string_equal(json_string_value(json_object_get(o, "cmd")), "report");
		assert_string_equal(json_string_value(json_object_get(o, "workload")), "web");
		assert_true(json_real_value(json_object_get(o, "p95_us")) > 0);
		assert_true(json_integer_value(json_object_get(o, "count")) > 0);
		counted += (uint64_t)json_integer_value(json_object_get(o, "count"));
		json_decref(o);
	}
	/* the windows cover the run (minus the last partial window) */
	assert_true(counted <= r->completed && counted >= r->completed * 7 / 10);
	fake_daemon_free(&d);
	fake_mc_stop(&f);
	free(r);
}

/* vspaced's error replies are counted and the reason kept; the load goes on. */
static void test_report_rejected(void **state)
{
	struct fake_mc f = { 0 };
	struct fake_daemon d;
	struct report_client rc;
	struct loadgen_config c;
	struct loadgen_result *r = malloc(sizeof(*r));
	char spec[160], err[512];

	fake_mc_start(&f);
	fake_daemon_start(&d, "{\"ok\":false,\"error\":\"unknown workload \\\"web\\\"\"}\n");
	snprintf(spec, sizeof(spec), "unix:%s:web", d.path);
	assert_int_equal(report_open(&rc, spec, err, sizeof(err)), 0);
	config_for(&c, &f, 1000, 0.4);
	c.report = &rc;
	log_set_level(VS_LOG_ERROR);
	assert_int_equal(loadgen_run(&c, r, err, sizeof(err)), 0);
	report_close(&rc, 500);
	log_set_level(VS_LOG_INFO);
	assert_true(rc.sent >= 2);
	assert_int_equal(rc.rejected, rc.sent);
	assert_non_null(strstr(rc.last_error, "unknown workload"));
	assert_int_equal(r->completed, r->sent);
	fake_daemon_stop(&d);
	fake_daemon_free(&d);
	fake_mc_stop(&f);
	free(r);
}

/* No daemon at the socket path: a clear error before any load. */
static void test_report_no_daemon(void **state)
{
	struct report_client rc;
	char err[512];

	assert_int_equal(
		report_open(&rc, "unix:/tmp/vsl-test-nobody-here.sock:web", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot connect to /tmp/vsl-test-nobody-here.sock"));
}

/* An offered rate far beyond what one thread can schedule is flagged as
 * sender lag rather than reported as server latency. */
static void test_sender_lag(void **state)
{
	struct fake_mc f = { 0 };
	struct loadgen_config c;
	struct loadgen_result *r = malloc(sizeof(*r));
	char err[512];

	fake_mc_start(&f);
	config_for(&c, &f, 3e7, 0.3);
	c.load_keys = false;
	c.max_lag_us = 500;
	c.drain_timeout_s = 0.2;
	assert_int_equal(loadgen_run(&c, r, err, sizeof(err)), 0);
	assert_true(r->lagging);
	assert_true(loadgen_quantile_us(&r->lag, 0.99) > 500);
	fake_mc_stop(&f);
	free(r);
}

/* The server closes connections now and then: requests are resent on new
 * connections, every one is answered, the closes are counted. */
static void test_server_closes(void **state)
{
	struct fake_mc f = { .close_every = 40 };
	struct loadgen_config c;
	struct loadgen_result *r = malloc(sizeof(*r));
	char err[512];

	fake_mc_start(&f);
	config_for(&c, &f, 2000, 0.5);
	c.load_keys = false;
	assert_int_equal(loadgen_run(&c, r, err, sizeof(err)), 0);
	assert_true(r->reconnects > 0);
	assert_int_equal(r->completed, r->sent);
	assert_int_equal(r->timeouts, 0);
	fake_mc_stop(&f);
	free(r);
}

/* Error replies count as errors, not as latency samples; the first is named. */
static void test_error_replies(void **state)
{
	struct fake_mc f = { .reject_sets = true };
	struct loadgen_config c;
	struct loadgen_result *r = malloc(sizeof(*r));
	char err[512];

	fake_mc_start(&f);
	config_for(&c, &f, 2000, 0.5);
	c.keys = 50;
	c.get_share = 0.5;
	assert_int_equal(loadgen_run(&c, r, err, sizeof(err)), 0);
	assert_int_equal(r->load_errors, 50);
	assert_true(r->errors > 0);
	assert_int_equal(r->latency.total + r->errors, r->completed);
	assert_non_null(strstr(r->first_error, "rejected a SET"));
	fake_mc_stop(&f);
	free(r);
}

/* Nothing listening: the run does not start, and says why. */
static void test_connect_refused(void **state)
{
	struct fake_mc f = { 0 };
	struct loadgen_config c;
	struct loadgen_result *r = malloc(sizeof(*r));
	char err[512];

	fake_mc_start(&f);
	fake_mc_stop(&f); /* the port is closed now */
	config_for(&c, &f, 1000, 0.2);
	assert_int_equal(loadgen_run(&c, r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot connect to 127.0.0.1:"));
	assert_non_null(strstr(err, "refused"));
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_stall_charged),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_report_rejected),
		cmocka_unit_test(test_report_no_daemon),
		cmocka_unit_test(test_sender_lag),
		cmocka_unit_test(test_server_closes),
		cmocka_unit_test(test_error_replies),
		cmocka_unit_test(test_connect_refused),
	};
	return VS_RUN_TESTS(tests);
}
