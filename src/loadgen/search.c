/* search.c - `vspace loadgen --search`: the highest offered rate whose p95 stays under the SLO. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen/loadgen.h"

/* A step passes only if the server answered nearly all it was sent inside the
 * measured time (a server falling behind shows here before p95 explodes on a
 * short step). 5 % leaves room for replies in flight at the end of a short
 * step on a busy machine (a 25 ms hiccup in a 0.5 s step). */
#define SEARCH_MIN_ANSWERED 0.95
/* Lowest rate tried when even the start rate fails. */
#define SEARCH_MIN_QPS 10.0

bool loadgen_search_judge(const struct loadgen_result *r, double slo_us, const char **verdict)
{
	const char *v = "ok";

	if (r->interrupted)
		v = "interrupted";
	else if (r->lagging)
		v = "sender lag";
	else if (r->sent == 0)
		v = "no requests sent";
	else if (r->timeouts > 0 || r->dropped > 0)
		v = "server behind (timeouts)";
	else if (r->errors > 0)
		v = "errors";
	else if ((double)r->received < SEARCH_MIN_ANSWERED * (double)r->sent)
		v = "server behind";
	else if (loadgen_quantile_us(&r->latency, 0.95) > slo_us)
		v = "p95 over SLO";
	*verdict = v;
	return strcmp(v, "ok") == 0;
}

int loadgen_search_run(const struct loadgen_config *c, struct loadgen_search *s,
		       void (*on_step)(const struct loadgen_search_step *st,
				       const struct loadgen_result *r, void *arg),
		       void *arg, char *err, size_t err_len)
{
	struct loadgen_config step_cfg = *c;
	struct loadgen_result *r = malloc(sizeof(*r));
	double rate = s->start_qps, lo = 0, hi = 0;
	int max_steps = s->max_steps;

	if (!r)
		return -1;
	if (max_steps <= 0 || max_steps > (int)(sizeof(s->steps) / sizeof(s->steps[0])))
		max_steps = (int)(sizeof(s->steps) / sizeof(s->steps[0]));
	s->n_steps = 0;
	s->best_qps = s->fail_qps = 0;
	s->limit = "step limit reached";
	while (s->n_steps < max_steps) {
		struct loadgen_search_step *st = &s->steps[s->n_steps];
		const char *verdict;
		bool pass;

		step_cfg.qps = rate;
		if (loadgen_run(&step_cfg, r, err, err_len) < 0) {
			free(r);
			return -1;
		}
		step_cfg.load_keys = false; /* the keys stay loaded */
		pass = loadgen_search_judge(r, s->slo_us, &verdict);
		st->qps = rate;
		st->achieved_qps = r->achieved_qps;
		st->p95_us = r->lagging ? NAN : loadgen_quantile_us(&r->latency, 0.95);
		st->pass = pass;
		st->verdict = verdict;
		s->n_steps++;
		if (on_step)
			on_step(st, r, arg);
		if (r->interrupted) {
			s->limit = "interrupted";
			break;
		}
		if (pass) {
			lo = rate;
		} else {
			hi = rate;
			s->limit = verdict;
		}
		if (hi == 0) {
			if (rate >= s->max_qps) {
				s->limit = "--max-qps reached";
				break;
			}
			rate = fmin(rate * 2, s->max_qps);
			continue;
		}
		if (lo == 0) {
			if (hi <= SEARCH_MIN_QPS)
				break;
			rate = fmax(hi / 2, SEARCH_MIN_QPS);
			continue;
		}
		if (hi - lo <= s->precision * lo)
			break;
		rate = (lo + hi) / 2;
	}
	s->best_qps = lo;
	s->fail_qps = hi;
	free(r);
	return 0;
}
