/* sensitivity.c - `vspace sim sensitivity`: the headline comparisons with each uncertain constant at other scales. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "sim/costs.h"
#include "simrun/scenario.h"

/*
 * For every variation (the constants as costs.h has them, then each chosen
 * constant at each factor) and every policy, one job in a child process runs
 * the power at the energy load and finds the highest load of the grid step,
 * 2 step, ... max within the SLO by bisection (first max, then halving): it
 * takes a policy that breaks the SLO at some load to break it at every higher
 * one, which the sweeps show for the default policies (not for corenap). The table then compares each variation's orders between
 * policies with those of costs.h: an order that reverses is a result that
 * depends on that constant (fragile).
 */

#define SENS_STEP_QPS	50000.0
#define SENS_MAX_QPS	1000000.0
#define SENS_ENERGY_QPS 50000.0
#define SENS_POINT_S	2.0
#define SENS_WARMUP_S	0.5
/* Powers this close (a share of the larger) are a tie, not an order. */
#define SENS_POWER_TIE 0.01

static const char *const sens_default_policies[] = { "vspace-p", "vspace-e", "static-ts:20:20",
						     "static-iso:16:4" };

/* A variation: constant k (-1: none) at scale f. */
struct sens_var {
	int knob;
	double factor;
};

struct sens_ctx {
	const struct sim_scen_opts *o;
	const struct sens_var *var;
	char (*pol)[64];
	int n_pol;
	double step, max, energy, point_s, warmup_s;
};

/* One job's answer. */
struct sens_res {
	double max_qps; /* the highest load before the first violation; 0: none */
	int all_ok;	/* no violation up to max */
	double power_w; /* at the energy load */
	double p95_us;	/* at the energy load */
	int runs;
};

static bool sens_over(const struct sim_run_result *r, double slo_us)
{
	return isnan(r->p95_us) || r->p95_us > slo_us;
}

static int sens_job(int i, const void *arg, void *out, char *err, size_t errlen)
{
	const struct sens_ctx *x = arg;
	const struct sens_var *v = &x->var[i / x->n_pol];
	struct sens_res *res = out;
	struct sim_run_config c = x->o->base;
	struct sim_run_result r;

	str_copy(c.policy, x->pol[i % x->n_pol], sizeof(c.policy));
	if (v->knob >= 0)
		c.knob[v->knob] = v->factor;
	c.n_phases = 1;
	c.phase[0].duration_s = x->point_s;
	c.warmup_s = x->warmup_s;
	c.csv = NULL;
	memset(res, 0, sizeof(*res));
	res->all_ok = 1;
	/* the power at the energy load */
	c.phase[0].qps = x->energy;
	if (sim_run(&c, &r, err, errlen) < 0)
		return -1;
	res->runs++;
	res->power_w = r.power_w;
	res->p95_us = r.p95_us;
	/* the highest grid load within the SLO, by bisection over the grid
	 * step, 2 step, ... max: lo is within the SLO (0: none known), hi over
	 * it (n + 1: none known) */
	{
		int n = (int)lround(x->max / x->step), lo = 0, hi = n + 1;

		while (hi - lo > 1) {
			int mid = hi == n + 1 && lo == 0 ? n : (lo + hi) / 2;

			c.phase[0].qps = mid * x->step;
			if (sim_run(&c, &r, err, errlen) < 0)
				return -1;
			res->runs++;
			if (sens_over(&r, c.slo_us))
				hi = mid;
			else
				lo = mid;
		}
		res->max_qps = lo * x->step;
		res->all_ok = lo == n;
	}
	return 0;
}

/* Pairs (a, b) whose order differs from the base: a strictly above b in one
 * and strictly below in the other (more_is_better: max load; else power).
 * Writes them into buf; returns how many. */
static int sens_flips(const double *base, const double *now, int n, char pol[][64],
		      bool more_is_better, double tie, char *buf, size_t len)
{
	int flips = 0;
	size_t at = strlen(buf);

	for (int a = 0; a < n; a++) {
		for (int b = a + 1; b < n; b++) {
			double d0 = base[a] - base[b], d1 = now[a] - now[b];
			double t0 = tie * fmax(fabs(base[a]), fabs(base[b]));
			double t1 = tie * fmax(fabs(now[a]), fabs(now[b]));
			const char *hi, *lo;

			/* differences within tie (a share) are ties, not orders */
			if (!((d0 > t0 && d1 < -t1) || (d0 < -t0 && d1 > t1)))
				continue;
			flips++;
			/* name the order as it is now */
			hi = (d1 > 0) == more_is_better ? pol[a] : pol[b];
			lo = hi == pol[a] ? pol[b] : pol[a];
			if (at < len)
				at += (size_t)snprintf(buf + at, len - at, "%s%s %s %s",
						       at ? "; " : "", hi,
						       more_is_better ? ">" : "<", lo);
		}
	}
	return flips;
}

static void sens_print_qps(FILE *f, int width, const struct sens_res *r, double max)
{
	char cell[16];

	if (r->all_ok)
		snprintf(cell, sizeof(cell), ">=%.0f", max / 1000);
	else if (r->max_qps <= 0)
		snprintf(cell, sizeof(cell), "none");
	else
		snprintf(cell, sizeof(cell), "%.0f", r->max_qps / 1000);
	fprintf(f, " %*s", width, cell);
}

static int sens_write_csv(const char *path, const struct sens_var *var, int n_var, char pol[][64],
			  int n_pol, const struct sens_res *res)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "vspace sim sensitivity: cannot write %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	fprintf(f, "constant,scale,policy,max_qps_within_slo,all_tested_within_slo,power_w,p95_us,"
		   "runs\n");
	for (int v = 0; v < n_var; v++)
		for (int p = 0; p < n_pol; p++) {
			const struct sens_res *r = &res[v * n_pol + p];
			fprintf(f, "%s,%g,%s,%.0f,%d,%.2f,%.1f,%d\n",
				var[v].knob < 0 ? "none" : sim_knob_names[var[v].knob],
				var[v].knob < 0 ? 1.0 : var[v].factor, pol[p], r->max_qps,
				r->all_ok, r->power_w, r->p95_us, r->runs);
		}
	if (fclose(f) != 0) {
		fprintf(stderr, "vspace sim sensitivity: writing %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int sim_scen_sensitivity(const struct sim_scen_opts *o, FILE *out)
{
	char pol[SIM_SCEN_MAX_POLICIES][64];
	int n_pol = o->n_policies, n_knobs = o->n_knobs, n_fac = o->n_factors, n_var, n_jobs;
	int knobs[SIM_KNOBS], flipped_vars = 0, rc = 0, width[SIM_SCEN_MAX_POLICIES], wq = 0;
	double factors[8];
	struct sens_var *var = NULL;
	struct sens_res *res = NULL;
	const char **names = NULL;
	struct sens_ctx x = { .o = o };
	char err[512], hp[8];
	double slo = o->base.slo_us;

	if (n_pol == 0) {
		n_pol = (int)(sizeof(sens_default_policies) / sizeof(sens_default_policies[0]));
		for (int i = 0; i < n_pol; i++)
			str_copy(pol[i], sens_default_policies[i], 64);
	} else {
		for (int i = 0; i < n_pol; i++)
			str_copy(pol[i], o->policies[i], 64);
	}
	for (int i = 0; i < n_pol; i++) {
		struct vs_policy p;
		enum sim_path path;
		int np, nvq;
		if (sim_policy_resolve(pol[i], o->base.n_cores, o->base.n_vcpus, &path, &p, &np,
				       &nvq, err, sizeof(err)) < 0) {
			fprintf(stderr, "vspace sim sensitivity: %s\n", err);
			return 2;
		}
	}
	if (n_knobs == 0) {
		n_knobs = SIM_KNOBS;
		for (int i = 0; i < SIM_KNOBS; i++)
			knobs[i] = i;
	} else {
		memcpy(knobs, o->knobs, sizeof(knobs[0]) * (size_t)n_knobs);
	}
	if (n_fac == 0) {
		n_fac = 2;
		factors[0] = 0.5;
		factors[1] = 2;
	} else {
		memcpy(factors, o->factors, sizeof(factors[0]) * (size_t)n_fac);
	}
	x.step = o->step_qps > 0 ? o->step_qps : SENS_STEP_QPS;
	x.max = o->max_qps > 0 ? o->max_qps : SENS_MAX_QPS;
	x.energy = o->energy_qps > 0 ? o->energy_qps : SENS_ENERGY_QPS;
	x.point_s = o->duration_s > 0 ? o->duration_s : SENS_POINT_S;
	x.warmup_s = o->warmup_set ? o->base.warmup_s : SENS_WARMUP_S;
	if (x.max < x.step) {
		fprintf(stderr, "vspace sim sensitivity: --max-qps %.0f is below --step %.0f\n",
			x.max, x.step);
		return 2;
	}
	if (x.warmup_s >= x.point_s) {
		fprintf(stderr,
			"vspace sim sensitivity: the warm-up (%.2f s) leaves nothing of a %.2f s "
			"point to measure\n",
			x.warmup_s, x.point_s);
		return 2;
	}

	n_var = 1 + n_knobs * n_fac;
	n_jobs = n_var * n_pol;
	var = calloc((size_t)n_var, sizeof(*var));
	res = calloc((size_t)n_jobs, sizeof(*res));
	names = calloc((size_t)n_jobs, sizeof(*names));
	if (!var || !res || !names) {
		fprintf(stderr, "vspace sim sensitivity: out of memory\n");
		rc = 1;
		goto out;
	}
	var[0] = (struct sens_var){ .knob = -1, .factor = 1 };
	for (int k = 0; k < n_knobs; k++)
		for (int f = 0; f < n_fac; f++)
			var[1 + k * n_fac + f] =
				(struct sens_var){ .knob = knobs[k], .factor = factors[f] };
	for (int j = 0; j < n_jobs; j++)
		names[j] = pol[j % n_pol];
	x.var = var;
	x.pol = pol;
	x.n_pol = n_pol;
	if (sim_scen_pool(n_jobs, o->jobs, sizeof(*res), sens_job, &x, res, names, err,
			  sizeof(err)) < 0) {
		fprintf(stderr, "vspace sim sensitivity: %s\n", err);
		rc = 1;
		goto out;
	}

	snprintf(hp, sizeof(hp), "%s", o->base.halt_poll_us > 0 ? "on" : "off");
	fprintf(out,
		"sensitivity: %s, SLO p95 <= %.0f us; seed %llu; KVM halt polling %s; "
		"mitigations %s\n"
		"max load: the highest of %.0fk, %.0fk, ... %.0fk within the SLO, by bisection "
		"(%.1f s per point, the first %.1f s not measured; \">=\": the last)\n"
		"power: package W at %.0fk; \"order changes\": pairs of policies whose order "
		"differs from the constants as costs.h has them\n\n",
		sim_workload_name(o->base.wl), slo, (unsigned long long)o->base.seed, hp,
		o->base.no_mitigations ? "off" : "on", x.step / 1000, 2 * x.step / 1000,
		x.max / 1000, x.point_s, x.warmup_s, x.energy / 1000);
	for (int p = 0; p < n_pol; p++) {
		width[p] = (int)strlen(pol[p]);
		if (width[p] < 8)
			width[p] = 8;
		wq += width[p] + 1;
	}
	fprintf(out, "%-18s | %-*s | %-*s |\n", "", wq - 1, "max kQPS in SLO", wq - 1, "power W");
	fprintf(out, "%-12s %5s |", "constant", "scale");
	for (int p = 0; p < n_pol; p++)
		fprintf(out, " %*s", width[p], pol[p]);
	fprintf(out, " |");
	for (int p = 0; p < n_pol; p++)
		fprintf(out, " %*s", width[p], pol[p]);
	fprintf(out, " | order changes\n");
	for (int v = 0; v < n_var; v++) {
		double base_q[SIM_SCEN_MAX_POLICIES], q[SIM_SCEN_MAX_POLICIES];
		double base_w[SIM_SCEN_MAX_POLICIES], w[SIM_SCEN_MAX_POLICIES];
		char flips[512] = "";
		int nf;

		for (int p = 0; p < n_pol; p++) {
			const struct sens_res *b = &res[p], *r = &res[v * n_pol + p];
			/* ">= max" compares as above max */
			base_q[p] = b->all_ok ? x.max + x.step : b->max_qps;
			q[p] = r->all_ok ? x.max + x.step : r->max_qps;
			base_w[p] = b->power_w;
			w[p] = r->power_w;
		}
		fprintf(out, "%-12s %5.3g |",
			var[v].knob < 0 ? "(costs.h)" : sim_knob_names[var[v].knob],
			var[v].knob < 0 ? 1.0 : var[v].factor);
		for (int p = 0; p < n_pol; p++)
			sens_print_qps(out, width[p], &res[v * n_pol + p], x.max);
		fprintf(out, " |");
		for (int p = 0; p < n_pol; p++)
			fprintf(out, " %*.1f", width[p], res[v * n_pol + p].power_w);
		nf = sens_flips(base_q, q, n_pol, pol, true, 0, flips, sizeof(flips));
		nf += sens_flips(base_w, w, n_pol, pol, false, SENS_POWER_TIE, flips,
				 sizeof(flips));
		if (nf > 0)
			flipped_vars++;
		fprintf(out, " | %s\n", v == 0 ? "(reference)" : (nf ? flips : "-"));
	}
	fprintf(out,
		"\n%d of %d variations change an order between policies%s (powers within %.0f %% "
		"of each other count as equal)\n",
		flipped_vars, n_var - 1, flipped_vars ? ": those results are fragile" : "",
		100 * SENS_POWER_TIE);
	if (o->csv && sens_write_csv(o->csv, var, n_var, pol, n_pol, res) < 0)
		rc = 1;
out:
	free(var);
	free(res);
	free(names);
	return rc;
}
