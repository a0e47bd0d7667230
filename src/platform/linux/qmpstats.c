/* qmpstats.c - KVM's halt-polling counters from QEMU over QMP (query-stats, QEMU >= 7.1): the replies' parsers and the exchange of each period. */
#include "platform/linux/qmpstats.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/hist.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/linux_int.h"

/* ---- Parsing the replies ---------------------------------------------------------------- */

static const char *const qmpstats_names[2] = { QMPSTATS_SUCCESS, QMPSTATS_FAIL };

json_t *qmpstats_schema_args(void)
{
	return json_pack("{s:s}", "provider", "kvm");
}

json_t *qmpstats_stats_args(void)
{
	return json_pack("{s:s,s:[{s:s,s:[s,s]}]}", "target", "vcpu", "providers", "provider",
			 "kvm", "names", QMPSTATS_SUCCESS, QMPSTATS_FAIL);
}

static bool qmpstats_streq(const json_t *o, const char *key, const char *want)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && strcmp(s, want) == 0;
}

/* The schema entry of one statistic: its unit as nanoseconds per unit. */
static enum qmpstats_schema_rc qmpstats_unit(const json_t *st, const char *name, uint64_t *ns,
					     char *err, size_t errlen)
{
	json_t *base = json_object_get(st, "base"), *exp = json_object_get(st, "exponent");
	const char *type = json_string_value(json_object_get(st, "type"));
	const char *unit = json_string_value(json_object_get(st, "unit"));
	json_int_t e = json_is_integer(exp) ? json_integer_value(exp) : 0;

	if (!type || strcmp(type, "cumulative") != 0) {
		snprintf(err, errlen,
			 "query-stats-schemas: %s is a \"%s\" statistic, not a cumulative counter",
			 name, type ? type : "(untyped)");
		return QMPSTATS_SCHEMA_BAD;
	}
	if (!unit || strcmp(unit, "seconds") != 0) {
		snprintf(err, errlen, "query-stats-schemas: %s is in \"%s\", not in seconds", name,
			 unit ? unit : "(no unit)");
		return QMPSTATS_SCHEMA_BAD;
	}
	if ((exp && !json_is_integer(exp)) || (e != 0 && !json_is_integer(base)) ||
	    (json_is_integer(base) && json_integer_value(base) != 10 && e != 0) || e < -9 ||
	    e > 0) {
		snprintf(err, errlen,
			 "query-stats-schemas: %s is in seconds times %s^%lld: only 10^-9 .. 10^0 "
			 "are understood",
			 name, json_is_integer(base) ? "base" : "(no base)", (long long)e);
		return QMPSTATS_SCHEMA_BAD;
	}
	*ns = 1; /* 10^(e + 9) nanoseconds */
	for (json_int_t i = -9; i < e; i++)
		*ns *= 10;
	return QMPSTATS_SCHEMA_OK;
}

enum qmpstats_schema_rc qmpstats_parse_schema(const json_t *ret, struct qmpstats_schema *out,
					      char *err, size_t errlen)
{
	const json_t *vcpu = NULL, *e, *stats;
	size_t i;

	if (!json_is_array(ret)) {
		snprintf(err, errlen, "query-stats-schemas: the answer is not a list");
		return QMPSTATS_SCHEMA_BAD;
	}
	json_array_foreach(ret, i, e)
	{
		if (qmpstats_streq(e, "provider", "kvm") && qmpstats_streq(e, "target", "vcpu")) {
			vcpu = e;
			break;
		}
	}
	if (!vcpu) {
		snprintf(err, errlen,
			 "QEMU reports no KVM vCPU statistics (query-stats-schemas has no provider "
			 "kvm, target vcpu): a guest without KVM (-accel tcg), or a kernel without "
			 "KVM's binary statistics (Linux < 5.14)");
		return QMPSTATS_SCHEMA_NO_KVM;
	}
	stats = json_object_get(vcpu, "stats");
	if (!json_is_array(stats)) {
		snprintf(err, errlen, "query-stats-schemas: the kvm vcpu schema has no stats list");
		return QMPSTATS_SCHEMA_BAD;
	}
	for (int k = 0; k < 2; k++) {
		const json_t *found = NULL;
		enum qmpstats_schema_rc rc;
		json_array_foreach(stats, i, e)
		{
			if (qmpstats_streq(e, "name", qmpstats_names[k])) {
				found = e;
				break;
			}
		}
		if (!found) {
			snprintf(err, errlen,
				 "QEMU's KVM vCPU statistics have no %s (the kernel is older than "
				 "Linux 5.8, which added KVM's halt-polling time statistics)",
				 qmpstats_names[k]);
			return QMPSTATS_SCHEMA_NO_COUNTER;
		}
		rc = qmpstats_unit(found, qmpstats_names[k], &out->ns_per_unit[k], err, errlen);
		if (rc != QMPSTATS_SCHEMA_OK)
			return rc;
	}
	return QMPSTATS_SCHEMA_OK;
}

/* FNV-1a of a string: the identity of a vCPU in the reading's key. */
static uint64_t qmpstats_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

int qmpstats_parse_stats(const json_t *ret, const struct qmpstats_schema *schema,
			 struct qmpstats_reading *out, char *err, size_t errlen)
{
	struct qmpstats_reading r = { 0 };
	const json_t *e;
	size_t i;

	if (!json_is_array(ret)) {
		snprintf(err, errlen, "query-stats: the answer is not a list");
		return -1;
	}
	json_array_foreach(ret, i, e)
	{
		const json_t *stats = json_object_get(e, "stats"), *s;
		const char *path = json_string_value(json_object_get(e, "qom-path"));
		char who[96];
		uint64_t v[2];
		bool have[2] = { false, false };
		size_t j;

		if (!json_is_object(e) || !json_is_string(json_object_get(e, "provider"))) {
			snprintf(err, errlen, "query-stats: entry %zu is not a statistics result",
				 i);
			return -1;
		}
		if (!qmpstats_streq(e, "provider", "kvm"))
			continue; /* another provider's */
		if (path)
			snprintf(who, sizeof(who), "vCPU %s", path);
		else
			snprintf(who, sizeof(who), "vCPU entry %zu", i);
		if (!json_is_array(stats)) {
			snprintf(err, errlen, "query-stats: %s has no stats list", who);
			return -1;
		}
		json_array_foreach(stats, j, s)
		{
			const json_t *val = json_object_get(s, "value");
			for (int k = 0; k < 2; k++) {
				json_int_t x;
				if (have[k] || !qmpstats_streq(s, "name", qmpstats_names[k]))
					continue;
				if (!json_is_integer(val) || (x = json_integer_value(val)) < 0) {
					snprintf(err, errlen,
						 "query-stats: %s: %s is not a counter (a whole "
						 "number >= 0)",
						 who, qmpstats_names[k]);
					return -1;
				}
				if ((uint64_t)x > UINT64_MAX / schema->ns_per_unit[k]) {
					snprintf(err, errlen,
						 "query-stats: %s: %s overflows 64 bits of "
						 "nanoseconds",
						 who, qmpstats_names[k]);
					return -1;
				}
				v[k] = (uint64_t)x * schema->ns_per_unit[k];
				have[k] = true;
			}
		}
		for (int k = 0; k < 2; k++)
			if (!have[k]) {
				snprintf(err, errlen,
					 "query-stats: %s: %s is missing from the answer", who,
					 qmpstats_names[k]);
				return -1;
			}
		if (v[0] > UINT64_MAX - v[1] || r.total_ns > UINT64_MAX - v[0] - v[1]) {
			snprintf(err, errlen,
				 "query-stats: %s + %s summed over the vCPUs overflow 64 bits",
				 QMPSTATS_SUCCESS, QMPSTATS_FAIL);
			return -1;
		}
		r.total_ns += v[0] + v[1];
		r.n_vcpus++;
		if (path) {
			r.vcpu_key += qmpstats_hash(path);
		} else {
			char idx[32];
			snprintf(idx, sizeof(idx), "#%zu", i);
			r.vcpu_key += qmpstats_hash(idx);
		}
	}
	if (r.n_vcpus == 0) {
		snprintf(err, errlen,
			 "query-stats: no vCPU statistics from provider kvm in the answer "
			 "(missing)");
		return -1;
	}
	*out = r;
	return 0;
}

/* ---- The exchange of a period ------------------------------------------------------------ */

static const char *qmpstats_conn_text(const struct qmpconn *c)
{
	switch (c->state) {
	case QMPCONN_GREETING:
		return "no greeting (QEMU serves one client per QMP socket: is another connected?)";
	case QMPCONN_CAPS:
		return "no answer to qmp_capabilities";
	default:
		return "";
	}
}

static void qmpstats_result(struct lx_hp_qmp *q, enum lx_q_rc rc, const char *why)
{
	q->rc = rc;
	str_copy(q->why, why, sizeof(q->why));
	switch (rc) {
	case LX_Q_SLOW:
		q->slow++;
		break;
	case LX_Q_BAD:
		q->bad++;
		break;
	case LX_Q_UNAVAILABLE:
		q->unavailable++;
		break;
	default:
		break;
	}
}

/* QEMU cannot give the counters: said once, not asked again for this
 * process, and the monitor is left to others. */
static void qmpstats_unsupported(struct lx_hp_qmp *q, const char *why)
{
	q->unsupported = true;
	str_copy(q->unsupported_why, why, sizeof(q->unsupported_why));
	qmpconn_close(&q->conn);
	qmpstats_result(q, LX_Q_UNAVAILABLE, why);
}

/* An answer to the request awaited. */
static void qmpstats_reply(struct vs_linux *lx, struct lx_wl *w, json_t *reply)
{
	struct lx_hp_qmp *q = &w->hp.q;
	char what[200], cls[64], why[512];
	json_t *ret = json_object_get(reply, "return");
	bool is_err = qmpconn_error(reply, what, sizeof(what), cls, sizeof(cls));
	int asked = q->asking;

	q->asking = LX_QASK_NONE;
	if (asked == LX_QASK_SCHEMA) {
		enum qmpstats_schema_rc rc;
		if (is_err) {
			snprintf(why, sizeof(why), "QEMU %s refuses query-stats-schemas: %s%s",
				 q->conn.version[0] ? q->conn.version : "(version unknown)", what,
				 !strcmp(cls, "CommandNotFound")
					 ? " (KVM statistics over QMP need QEMU >= 7.1)"
					 : "");
			qmpstats_unsupported(q, why);
			return;
		}
		rc = qmpstats_parse_schema(ret, &q->schema, why, sizeof(why));
		if (rc == QMPSTATS_SCHEMA_OK)
			q->have_schema = true;
		else if (rc == QMPSTATS_SCHEMA_BAD)
			qmpstats_result(q, LX_Q_BAD, why);
		else
			qmpstats_unsupported(q, why);
		return;
	}
	if (asked != LX_QASK_STATS)
		return;
	{
		uint64_t rtt_us = qmpconn_now_us() - q->sent_us;
		double rtt_s = (double)rtt_us * 1e-6;
		q->rtt_last_s = rtt_s;
		q->rtt_sum_s += rtt_s;
		if (rtt_s > q->rtt_max_s)
			q->rtt_max_s = rtt_s;
		if (!q->rtt_us && (q->rtt_us = malloc(sizeof(*q->rtt_us))) != NULL)
			hist_init(q->rtt_us);
		if (q->rtt_us)
			hist_add(q->rtt_us, rtt_us);
	}
	if (is_err) {
		snprintf(why, sizeof(why), "QEMU %s refuses query-stats: %s%s",
			 q->conn.version[0] ? q->conn.version : "(version unknown)", what,
			 !strcmp(cls, "CommandNotFound") ? " (QEMU >= 7.1 needed)" : "");
		if (!strcmp(cls, "CommandNotFound"))
			qmpstats_unsupported(q, why);
		else
			qmpstats_result(q, LX_Q_BAD, why);
		return;
	}
	if (qmpstats_parse_stats(ret, &q->schema, &q->rd, why, sizeof(why)) < 0) {
		qmpstats_result(q, LX_Q_BAD, why);
		return;
	}
	q->at_s = (q->sent_s + linux_now(lx)) / 2;
	q->answers++;
	qmpstats_result(q, LX_Q_OK, "");
}

/* Send what the connection is ready for: the schema first, then the
 * statistics. Returns 0, or -1 (result set). */
static int qmpstats_ask(struct vs_linux *lx, struct lx_wl *w)
{
	struct lx_hp_qmp *q = &w->hp.q;
	char err[256];
	json_t *args = q->have_schema ? qmpstats_stats_args() : qmpstats_schema_args();
	uint64_t id;

	q->sent_s = linux_now(lx);
	q->sent_us = qmpconn_now_us();
	id = qmpconn_send(&q->conn, q->have_schema ? "query-stats" : "query-stats-schemas", args,
			  err, sizeof(err));
	json_decref(args);
	if (id == 0) {
		qmpstats_result(q, LX_Q_UNAVAILABLE, err);
		q->retry_s = 0; /* connect again next period */
		return -1;
	}
	q->asking = q->have_schema ? LX_QASK_STATS : LX_QASK_SCHEMA;
	if (q->have_schema)
		q->requests++;
	return 0;
}

/* Consume what has arrived and send what is due. Returns true when the
 * workload's outcome is known; *fresh is set when a request went out now
 * (the exchange then waits for its answer). */
static bool qmpstats_drive(struct vs_linux *lx, struct lx_wl *w, bool *fresh)
{
	struct lx_hp_qmp *q = &w->hp.q;

	for (;;) {
		json_t *reply = NULL;
		char err[256];
		enum qmpconn_state was = q->conn.state;
		enum qmpconn_rc rc = qmpconn_step(&q->conn, &reply, err, sizeof(err));

		if (rc == QMPCONN_AGAIN && q->conn.state != was)
			*fresh = true; /* the handshake went on: its next answer is this period's */

		if (rc == QMPCONN_REPLY) {
			qmpstats_reply(lx, w, reply);
			json_decref(reply);
			if (q->rc != LX_Q_NONE)
				return true;
			continue;
		}
		if (rc == QMPCONN_BROKEN) {
			q->asking = LX_QASK_NONE;
			q->have_schema = false;
			q->retry_s = 0; /* connect again next period (then every LX_RESCAN_S) */
			qmpstats_result(q, LX_Q_UNAVAILABLE, err);
			return true;
		}
		if (rc == QMPCONN_GARBAGE) {
			q->asking = LX_QASK_NONE;
			q->have_schema = false;
			q->retry_s = 0;
			qmpstats_result(q, LX_Q_BAD, err);
			return true;
		}
		if (!qmpconn_can_send(&q->conn))
			return false;
		if (qmpstats_ask(lx, w) < 0)
			return true;
		*fresh = true;
	}
}

/* Start a workload's exchange: returns true when its outcome is already
 * known (not to be asked, or the connection cannot be made); *opened when
 * a connection was made now. */
static bool qmpstats_begin(struct vs_linux *lx, struct lx_wl *w, double now_s, bool *opened)
{
	struct lx_hp_qmp *q = &w->hp.q;
	char err[256];

	q->rc = LX_Q_NONE;
	q->why[0] = '\0';
	if (q->unsupported) {
		qmpstats_result(q, LX_Q_UNAVAILABLE, q->unsupported_why);
		return true;
	}
	if (q->conn.fd >= 0)
		return false;
	if (q->retry_s > 0 && now_s < q->retry_s) {
		qmpstats_result(q, LX_Q_UNAVAILABLE, q->fail_why);
		return true;
	}
	if (strcmp(q->conn.path, w->spec.qmp) != 0) {
		qmpconn_free(&q->conn);
		qmpconn_init(&q->conn, w->spec.qmp);
	}
	q->have_schema = false;
	q->asking = LX_QASK_NONE;
	if (qmpconn_open(&q->conn, err, sizeof(err)) < 0) {
		str_copy(q->fail_why, err, sizeof(q->fail_why));
		q->retry_s = now_s + LX_RESCAN_S;
		qmpstats_result(q, LX_Q_UNAVAILABLE, err);
		return true;
	}
	*opened = true;
	return false;
}

/* No outcome by the deadline. */
static void qmpstats_slow(struct lx_wl *w, int wait_ms)
{
	struct lx_hp_qmp *q = &w->hp.q;
	char why[300];

	if (q->conn.state == QMPCONN_READY)
		snprintf(why, sizeof(why), "QMP socket %s: no answer to %s within %d ms",
			 q->conn.path,
			 q->asking == LX_QASK_SCHEMA
				 ? "query-stats-schemas"
				 : (q->asking == LX_QASK_STATS ? "query-stats"
							       : "an earlier request"),
			 wait_ms);
	else
		snprintf(why, sizeof(why), "QMP socket %s: %s within %d ms", q->conn.path,
			 qmpstats_conn_text(&q->conn), wait_ms);
	if (q->conn.outstanding && q->conn.awaited)
		qmpconn_abandon(&q->conn); /* its answer is dropped when it comes */
	q->asking = LX_QASK_NONE;
	qmpstats_result(q, LX_Q_SLOW, why);
	if (!q->slow_logged) {
		q->slow_logged = true;
		log_warnx("workload %s: %s: this period's busy time is used without the halt-poll "
			  "correction (logged once; vspacectl status counts such periods; "
			  "[host] halt_poll_qmp_wait_ms sets the wait)",
			  w->spec.name, why);
	}
}

void qmpstats_exchange(struct vs_linux *lx, struct lx_wl **wl, int n, int wait_ms)
{
	uint64_t deadline = qmpconn_now_us() + (uint64_t)wait_ms * 1000u;
	struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
	bool *done = calloc((size_t)n, sizeof(*done)), *fresh = calloc((size_t)n, sizeof(*fresh));
	double now_s = linux_now(lx);

	if (!pfd || !done || !fresh) {
		for (int i = 0; i < n; i++)
			qmpstats_result(&wl[i]->hp.q, LX_Q_UNAVAILABLE, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		/* a connection made now is waited for (its greeting) like a request */
		done[i] = qmpstats_begin(lx, wl[i], now_s, &fresh[i]);
	}
	for (;;) {
		int k = 0, waiting = 0;
		uint64_t now;
		struct timespec ts;

		for (int i = 0; i < n; i++) {
			if (done[i])
				continue;
			done[i] = qmpstats_drive(lx, wl[i], &fresh[i]);
			if (done[i])
				continue;
			/* only requests of this period are waited for: an answer still owed
			 * from an earlier one (a slow QEMU) is looked for, not waited for */
			if (fresh[i])
				waiting++;
			pfd[k].fd = wl[i]->hp.q.conn.fd;
			pfd[k].events = POLLIN;
			pfd[k].revents = 0;
			k++;
		}
		now = qmpconn_now_us();
		if (waiting == 0 || now >= deadline)
			break;
		ts.tv_sec = (time_t)((deadline - now) / 1000000u);
		ts.tv_nsec = (long)((deadline - now) % 1000000u) * 1000;
		if (ppoll(pfd, (nfds_t)k, &ts, NULL) < 0 && errno != EINTR) {
			log_warn("QMP statistics: ppoll");
			break;
		}
	}
	for (int i = 0; i < n; i++)
		if (!done[i])
			qmpstats_slow(wl[i], wait_ms);
out:
	free(pfd);
	free(done);
	free(fresh);
}

void qmpstats_reset(struct lx_wl *w)
{
	struct lx_hp_qmp *q = &w->hp.q;
	struct vs_hist *h = q->rtt_us;
	struct lx_hp_qmp keep = *q;

	qmpconn_free(&q->conn);
	memset(q, 0, sizeof(*q));
	qmpconn_init(&q->conn, w->spec.qmp);
	/* counts and round trips cover the daemon's life, not one process's */
	q->requests = keep.requests;
	q->answers = keep.answers;
	q->slow = keep.slow;
	q->bad = keep.bad;
	q->unavailable = keep.unavailable;
	q->rtt_last_s = keep.rtt_last_s;
	q->rtt_sum_s = keep.rtt_sum_s;
	q->rtt_max_s = keep.rtt_max_s;
	q->rtt_us = h;
	q->conn.connects = keep.conn.connects;
	q->conn.dropped = keep.conn.dropped;
}

void qmpstats_release(struct lx_wl *w)
{
	if (!w->hp.q.in_use)
		qmpconn_close(&w->hp.q.conn);
}

void qmpstats_free(struct lx_wl *w)
{
	qmpconn_free(&w->hp.q.conn);
	free(w->hp.q.rtt_us);
	w->hp.q.rtt_us = NULL;
}
