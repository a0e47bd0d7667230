/* search.c - run verdicts and exit statuses, and `--search`: the highest offered rate whose p95 stays under the SLO. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/strutil.h"
#include "loadgen/loadgen.h"

/* Lowest rate tried when even the start rate fails. */
#define SEARCH_MIN_QPS 10.0
/* Most repeats per rate (the median of an odd number decides), and so the
 * most runs one rate can take (see the step loop). */
#define SEARCH_REPEATS_MAX 15
#define SEARCH_RUNS_MAX	   (4 * SEARCH_REPEATS_MAX)
/* The verdict of a step whose runs drew no request at all. */
#define SEARCH_NOTHING_DRAWN "no request drawn"

const char *loadgen_status_name(int status)
{
	switch (status) {
	case LOADGEN_OK:
		return "ok";
	case LOADGEN_E_START:
		return "could not start";
	case LOADGEN_E_USAGE:
		return "bad argument";
	case LOADGEN_E_LAG:
		return "sender lag";
	case LOADGEN_E_TIMEOUTS:
		return "timeouts";
	case LOADGEN_E_CONN_LOST:
		return "connection lost";
	case LOADGEN_E_ERRORS:
		return "error replies";
	case LOADGEN_E_PROTOCOL:
		return "wrong protocol";
	case LOADGEN_E_RATE:
		return "rate not held";
	case LOADGEN_E_PHASE_TIMEOUT:
		return "phase timeout";
	case LOADGEN_E_SEARCH_LIMIT:
		return "limited by the load generator";
	case LOADGEN_E_INTERRUPTED:
		return "interrupted";
	default:
		return "unknown";
	}
}

static double search_pct(uint64_t n, uint64_t of)
{
	return of ? 100.0 * (double)n / (double)of : 0;
}

int loadgen_judge(const struct loadgen_config *c, const struct loadgen_result *r, char *why,
		  size_t why_len)
{
	uint64_t failed = r->errors + r->bad_replies + r->timeouts + r->dropped;
	double limit = c->max_error_pct;
	bool over = r->scheduled > 0 && search_pct(failed, r->scheduled) > limit;
	int status = LOADGEN_OK;
	size_t n = 0, len;
	char tmp[512];
	const char *proto = c->protocol == LOADGEN_HTTP ? "HTTP" : "memcached";
	/* a server that drops the connection at every request it cannot parse
	 * (memcached does so with HTTP) and is alive (it accepts again) */
	bool silent_closes = r->ok + r->errors == 0 && r->conn_closed_unanswered > 0 &&
			     r->conn_closed_unanswered >= r->connect_failures;

	if (!why) {
		why = tmp;
		why_len = sizeof(tmp);
	}
	why[0] = '\0';
	if (r->interrupted) {
		str_appendf(why, why_len, &n, "interrupted; ");
		status = LOADGEN_E_INTERRUPTED;
	}
	/* in order of precedence: the first one found sets the status */
	if (over && r->bad_replies > 0 && r->bad_replies * 2 >= failed) {
		str_appendf(why, why_len, &n,
			    "%.2f %% of the requests got replies that are not %s (wrong "
			    "--protocol or port?); ",
			    search_pct(r->bad_replies, r->scheduled), proto);
		if (!status)
			status = LOADGEN_E_PROTOCOL;
	} else if (over && silent_closes) {
		str_appendf(why, why_len, &n,
			    "the server closed %llu connections without answering a request on "
			    "them and answered none at all: not %s (wrong --protocol or port?); ",
			    (unsigned long long)r->conn_closed_unanswered, proto);
		if (!status)
			status = LOADGEN_E_PROTOCOL;
	}
	if (over && silent_closes) {
		/* explained above */
	} else if (over && r->timeouts + r->dropped > 0 && r->conn_failures > 0) {
		str_appendf(why, why_len, &n,
			    "%.2f %% of the requests unanswered while %llu connections failed "
			    "(the server went away?); ",
			    search_pct(r->timeouts + r->dropped, r->scheduled),
			    (unsigned long long)r->conn_failures);
		if (!status)
			status = LOADGEN_E_CONN_LOST;
	} else if (over && r->timeouts + r->dropped > 0) {
		str_appendf(why, why_len, &n,
			    "%.2f %% of the requests got no reply within %.3g s (--timeout); ",
			    search_pct(r->timeouts + r->dropped, r->scheduled), c->timeout_s);
		if (!status)
			status = LOADGEN_E_TIMEOUTS;
	}
	if (over && r->errors > 0) {
		str_appendf(why, why_len, &n, "%.2f %% of the requests got error replies; ",
			    search_pct(r->errors, r->scheduled));
		if (!status)
			status = LOADGEN_E_ERRORS;
	}
	if (over && !status) {
		/* several small shares that only together pass the limit */
		str_appendf(why, why_len, &n,
			    "%.2f %% of the requests failed (errors, bad replies, timeouts); ",
			    search_pct(failed, r->scheduled));
		status = r->bad_replies ? LOADGEN_E_PROTOCOL
			 : r->errors	? LOADGEN_E_ERRORS
					: LOADGEN_E_TIMEOUTS;
	}
	if ((double)r->received < LOADGEN_MIN_ACHIEVED * (double)r->scheduled) {
		str_appendf(why, why_len, &n,
			    "rate not held: %.1f %% of the scheduled requests were answered in the "
			    "measured time (under %.0f %%); ",
			    search_pct(r->received, r->scheduled), 100 * LOADGEN_MIN_ACHIEVED);
		if (!status)
			status = LOADGEN_E_RATE;
	}
	if (r->lagging) {
		uint64_t lo, hi;
		hist_quantile_ci(&r->lag, 0.99, 1.96, &lo, &hi);
		str_appendf(why, why_len, &n,
			    "sender lag: p99 %.0f us (at least %.0f us, 95 %% confidence) over "
			    "--max-lag-us %.0f; ",
			    loadgen_quantile_us(&r->lag, 0.99), (double)lo / 1000.0, c->max_lag_us);
		if (!status)
			status = LOADGEN_E_LAG;
	}
	len = strlen(why); /* n may run past a short buffer */
	if (len >= 2 && why[len - 2] == ';')
		why[len - 2] = '\0';
	return status;
}

bool loadgen_search_judge(const struct loadgen_config *c, const struct loadgen_result *r,
			  double slo_us, const char **verdict, int *status)
{
	*status = loadgen_judge(c, r, NULL, 0);
	if (*status != LOADGEN_OK)
		*verdict = loadgen_status_name(*status);
	else if (r->scheduled == 0)
		*verdict = SEARCH_NOTHING_DRAWN;
	else if (r->ok == 0)
		*verdict = "no replies";
	else if (loadgen_quantile_us(&r->latency, 0.95) > slo_us)
		*verdict = "p95 over SLO";
	else
		*verdict = "ok";
	return strcmp(*verdict, "ok") == 0;
}

/* The run could not be judged against the server: the loadgen kept neither
 * its schedule nor, with a sender thread busy most of the measured time, its
 * CPU budget. */
static bool search_loadgen_limited(const struct loadgen_result *r)
{
	return r->lagging || r->sender_cpu_max_s >= LOADGEN_CPU_LIMIT * r->duration_s;
}

static int search_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double search_median(double *v, int n)
{
	if (n == 0)
		return NAN;
	qsort(v, (size_t)n, sizeof(*v), search_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double search_elapsed_s(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Failures no rate explains: the search stops with their status. */
static bool search_fatal(int status)
{
	return status == LOADGEN_E_PROTOCOL || status == LOADGEN_E_CONN_LOST;
}

int loadgen_search_run(const struct loadgen_config *c, struct loadgen_search *s,
		       void (*on_run)(const struct loadgen_search *s, double qps, int run,
				      const struct loadgen_result *r, const char *verdict,
				      void *arg),
		       void (*on_step)(const struct loadgen_search *s,
				       const struct loadgen_search_step *st, void *arg),
		       void *arg, char *err, size_t err_len)
{
	struct loadgen_config run_cfg = *c;
	struct loadgen_result *r = malloc(sizeof(*r));
	double rate = s->start_qps, lo = 0, hi = 0;
	int max_steps = s->max_steps, repeats = s->repeats, rc = LOADGEN_OK;
	struct timespec t0;

	if (!r) {
		snprintf(err, err_len, "out of memory");
		return LOADGEN_E_START;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (max_steps <= 0 || max_steps > (int)(sizeof(s->steps) / sizeof(s->steps[0])))
		max_steps = (int)(sizeof(s->steps) / sizeof(s->steps[0]));
	if (repeats < 1)
		repeats = 1;
	if (repeats > SEARCH_REPEATS_MAX)
		repeats = SEARCH_REPEATS_MAX;
	s->n_steps = s->n_runs = 0;
	s->best_qps = s->fail_qps = 0;
	s->status = LOADGEN_OK;
	s->too_short = false;
	s->why[0] = '\0';
	s->limit = "step limit reached";
	while (s->n_steps < max_steps) {
		struct loadgen_search_step *st = &s->steps[s->n_steps];
		double p95[SEARCH_RUNS_MAX], ach[SEARCH_RUNS_MAX], lag[SEARCH_RUNS_MAX];
		int n_p95 = 0, failed = 0, limited = 0, empty = 0, fatal = 0;
		int need = repeats / 2 + 1;
		const char *fail_verdict = NULL;
		char fail_why[512] = "";

		memset(st, 0, sizeof(*st));
		st->qps = rate;
		/*
		 * Runs until one outcome has a majority of --repeats: passed, failed
		 * (the server), or limited by the loadgen (lag, a busy sender). A run
		 * the loadgen could not drive says nothing of the server and does not
		 * vote for or against it; only when most runs are like that is the
		 * loadgen the limit at this rate. A run whose Poisson schedule drew
		 * no request at all (a low rate, a short --duration) measured
		 * nothing and does not vote either. With four outcomes this ends
		 * within 4 (need - 1) + 1 runs.
		 */
		while (st->passed < need && failed < need && limited < need && empty < need) {
			const char *verdict;
			int status;
			bool pass;

			run_cfg.qps = rate;
			/* every run its own schedule, all of them given by the seed */
			run_cfg.seed = c->seed + (uint64_t)s->n_runs;
			rc = loadgen_run(&run_cfg, r, err, err_len);
			if (rc != LOADGEN_OK)
				goto out;
			run_cfg.load_keys = false; /* the keys stay loaded */
			s->n_runs++;
			pass = loadgen_search_judge(&run_cfg, r, s->slo_us, &verdict, &status);
			if (on_run)
				on_run(s, rate, st->runs + 1, r, verdict, arg);
			ach[st->runs] = r->achieved_qps;
			lag[st->runs] = loadgen_quantile_us(&r->lag, 0.99);
			st->runs++;
			if (r->interrupted) {
				s->limit = "interrupted";
				s->status = LOADGEN_E_INTERRUPTED;
				st->verdict = "interrupted";
				s->n_steps++;
				goto done;
			}
			if (r->scheduled == 0 && !search_fatal(status)) {
				empty++;
				continue;
			}
			if (search_fatal(status)) {
				failed++;
				fatal++;
				loadgen_judge(&run_cfg, r, fail_why, sizeof(fail_why));
				if (!fail_verdict)
					fail_verdict = verdict;
				continue;
			}
			if (!pass && search_loadgen_limited(r)) {
				limited++;
				continue;
			}
			if (r->ok > 0)
				p95[n_p95++] = loadgen_quantile_us(&r->latency, 0.95);
			if (pass) {
				st->passed++;
				continue;
			}
			failed++;
			if (!fail_verdict)
				fail_verdict = verdict;
		}
		st->limited = limited;
		st->empty = empty;
		st->achieved_qps = search_median(ach, st->runs);
		st->p95_us = search_median(p95, n_p95);
		st->lag_p99_us = search_median(lag, st->runs);
		st->pass = st->passed >= need;
		st->loadgen_limit = limited >= need;
		st->verdict = st->pass		  ? "ok"
			      : st->loadgen_limit ? "limited by the load generator"
			      : empty >= need	  ? SEARCH_NOTHING_DRAWN
						  : fail_verdict;
		s->n_steps++;
		if (on_step)
			on_step(s, st, arg);
		/* Nothing measured: this rate neither passes nor fails, and lower
		 * ones would draw fewer requests still. The search ends on what the
		 * rates before it showed. */
		if (empty >= need) {
			s->too_short = true;
			if (hi == 0) {
				s->limit = SEARCH_NOTHING_DRAWN;
				if (lo == 0) {
					hi = rate;
					s->status = LOADGEN_E_SEARCH_LIMIT;
				}
			}
			break;
		}
		if (!st->pass && !st->loadgen_limit && fatal * 2 > failed) {
			s->limit = fail_verdict;
			s->status = loadgen_judge(&run_cfg, r, NULL, 0);
			snprintf(s->why, sizeof(s->why), "%s", fail_why);
			hi = rate;
			break;
		}
		/* A rate the loadgen itself could not drive bounds the search like a
		 * failing one: the bisection then finds the loadgen's own limit, and
		 * what the server does above it cannot be told (exit 10). */
		if (st->pass) {
			lo = rate;
		} else {
			hi = rate;
			s->limit = st->verdict;
			s->status = st->loadgen_limit ? LOADGEN_E_SEARCH_LIMIT : LOADGEN_OK;
		}
		if (hi == 0) { /* bracketing upwards */
			if (rate >= s->max_qps) {
				s->limit = "--max-qps reached";
				break;
			}
			rate = fmin(rate * 2, s->max_qps);
			continue;
		}
		if (lo == 0) { /* bracketing downwards */
			if (hi <= SEARCH_MIN_QPS)
				break;
			rate = fmax(hi / 2, SEARCH_MIN_QPS);
			continue;
		}
		if (hi - lo <= s->precision * lo)
			break;
		rate = round((lo + hi) / 2);
	}
done:
	s->best_qps = lo;
	s->fail_qps = hi;
	/* nothing passed, not even the lowest rate: say why the server failed */
	if (s->status == LOADGEN_OK && lo == 0 && s->n_steps > 0) {
		const struct loadgen_search_step *last = &s->steps[s->n_steps - 1];
		if (last->verdict && strcmp(last->verdict, "p95 over SLO") != 0 &&
		    strcmp(last->verdict, loadgen_status_name(LOADGEN_E_RATE)) != 0)
			s->status = loadgen_judge(&run_cfg, r, s->why, sizeof(s->why));
	}
	rc = LOADGEN_OK;
out:
	s->elapsed_s = search_elapsed_s(&t0);
	free(r);
	return rc;
}
