/* irqscen.c - `vspace sim irqrate` scenarios: fixed-rate sweep, policy grid, fan-out; tables, CSV and SVG; runs in parallel processes. */
#include "sim/irqrate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/irqrate_costs.h"

/* One run of a scenario and what came out. */
struct iscen_run {
	struct irqsim_config cfg;
	char label[16]; /* policy name or "fixed" */
	struct irqsim_result res;
	int ok;
	char err[160];
};

static const char *iscen_proto(enum irqsim_proto p)
{
	return p == IRQSIM_UDP ? "udp" : "tcp";
}

/* Run every configuration, at most jobs at a time, one child process each;
 * results come back through a pipe. Returns 0, or -1 (err of the first
 * failure printed). */
static int iscen_parallel(struct iscen_run *runs, int n, int jobs)
{
	pid_t *pid = calloc((size_t)n, sizeof(pid_t));
	int *fd = calloc((size_t)n, sizeof(int));
	int next = 0, running = 0, done = 0, rc = 0;

	if (!pid || !fd) {
		free(pid);
		free(fd);
		return -1;
	}
	if (jobs <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = c > 0 ? (int)c : 1;
	}
	if (jobs == 1) {
		for (int i = 0; i < n; i++)
			runs[i].ok = irqsim_run(&runs[i].cfg, &runs[i].res, runs[i].err,
						sizeof(runs[i].err)) == 0;
		goto check;
	}
	while (done < n) {
		while (next < n && running < jobs) {
			int p[2];
			if (pipe(p) < 0) {
				rc = -1;
				break;
			}
			fflush(NULL);
			pid[next] = fork();
			if (pid[next] < 0) {
				close(p[0]);
				close(p[1]);
				rc = -1;
				break;
			}
			if (pid[next] == 0) {
				struct iscen_run *r = &runs[next];
				close(p[0]);
				r->ok = irqsim_run(&r->cfg, &r->res, r->err, sizeof(r->err)) == 0;
				ssize_t w = write(p[1], r, sizeof(*r));
				_exit(w == (ssize_t)sizeof(*r) ? 0 : 1);
			}
			close(p[1]);
			fd[next] = p[0];
			next++;
			running++;
		}
		if (rc < 0 && running == 0)
			break;
		/* collect the oldest running child */
		for (int i = done; i < next; i++) {
			struct iscen_run got;
			ssize_t k = 0, t = 0;
			while (t < (ssize_t)sizeof(got) &&
			       (k = read(fd[i], (char *)&got + t, sizeof(got) - (size_t)t)) > 0)
				t += k;
			close(fd[i]);
			waitpid(pid[i], NULL, 0);
			if (t == (ssize_t)sizeof(got))
				runs[i] = got;
			else
				snprintf(runs[i].err, sizeof(runs[i].err),
					 "the run's process died");
			done++;
			running--;
			break;
		}
	}
check:
	for (int i = 0; i < n && rc == 0; i++)
		if (!runs[i].ok) {
			fprintf(stderr, "vspace sim irqrate: %s %d VMs %d B %s: %s\n",
				runs[i].label, runs[i].cfg.n_vms, runs[i].cfg.pkt_bytes,
				iscen_proto(runs[i].cfg.proto), runs[i].err);
			rc = -1;
		}
	free(pid);
	free(fd);
	return rc;
}

static void iscen_base(const struct irqsim_scen_opts *o, struct irqsim_config *c)
{
	irqsim_config_defaults(c);
	if (o->duration_s > 0)
		c->duration_s = o->duration_s;
	if (o->warmup_s >= 0)
		c->warmup_s = o->warmup_s;
	if (o->pkt_cost_scale > 0)
		c->pkt_cost_scale = o->pkt_cost_scale;
	if (o->int_cost_scale > 0)
		c->int_cost_scale = o->int_cost_scale;
	c->ring = o->ring;
}

/* ---- SVG ----------------------------------------------------------------------------------- */

/* A small line chart in a panel at (x0, y0) of w x h pixels. */
struct iscen_panel {
	double x0, y0, w, h;
	double xmin, xmax, ymax;
	bool logx;
};

static double iscen_px(const struct iscen_panel *p, double x)
{
	double f = p->logx ? (log(x) - log(p->xmin)) / (log(p->xmax) - log(p->xmin))
			   : (x - p->xmin) / (p->xmax - p->xmin);
	return p->x0 + 50 + f * (p->w - 70);
}

static double iscen_py(const struct iscen_panel *p, double y)
{
	return p->y0 + p->h - 30 - (p->ymax > 0 ? y / p->ymax : 0) * (p->h - 60);
}

/* A round number at or above v for an axis: 1, 2 or 5 times a power of 10. */
static double iscen_nice(double v)
{
	double e = v > 0 ? pow(10, floor(log10(v))) : 1;

	for (int i = 0; i < 3; i++) {
		double m = (double[]){ 1, 2, 5 }[i] * e;
		if (v <= m)
			return m;
	}
	return 10 * e;
}

static void iscen_axes(FILE *f, const struct iscen_panel *p, const char *title, const char *xlabel,
		       const char *ylabel)
{
	double bx = p->x0 + 50, by = p->y0 + p->h - 30;

	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"13\">%s</text>\n", p->x0 + 50,
		p->y0 + 18, title);
	fprintf(f,
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
		bx, by, p->x0 + p->w - 20, by, bx, by, bx, p->y0 + 30);
	for (int i = 0; i <= 4; i++) {
		double v = p->ymax * i / 4;
		fprintf(f,
			"<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" "
			"text-anchor=\"end\">%.3g</text>\n",
			bx - 4, iscen_py(p, v) + 3, v);
	}
	fprintf(f,
		"<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n",
		p->x0 + p->w / 2, p->y0 + p->h - 2, xlabel);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s</text>\n", p->x0 + 4,
		p->y0 + 30, ylabel);
}

static void iscen_xtick(FILE *f, const struct iscen_panel *p, double x, const char *text)
{
	fprintf(f,
		"<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%s</text>\n",
		iscen_px(p, x), p->y0 + p->h - 16, text);
}

static void iscen_line(FILE *f, const struct iscen_panel *p, const double *x, const double *y,
		       int n, const char *color, bool dashed)
{
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color,
		dashed ? " stroke-dasharray=\"5,3\"" : "");
	for (int i = 0; i < n; i++)
		fprintf(f, "%.1f,%.1f ", iscen_px(p, x[i]), iscen_py(p, y[i]));
	fprintf(f, "\"/>\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
			iscen_px(p, x[i]), iscen_py(p, y[i]), color);
}

static FILE *iscen_svg_open(const char *path, double w, double h, const char *title)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "vspace sim irqrate: cannot write %s: %s\n", path, strerror(errno));
		return NULL;
	}
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" "
		"fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"15\">%s</text>\n",
		w, h, title);
	return f;
}

static int iscen_svg_close(FILE *f, const char *path)
{
	fprintf(f, "</svg>\n");
	if (fclose(f) != 0) {
		fprintf(stderr, "vspace sim irqrate: writing %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static const char *const iscen_colors[] = { "#1f77b4", "#d62728", "#2ca02c",
					    "#9467bd", "#ff7f0e", "#8c564b" };

/* ---- the scenarios ---------------------------------------------------------------------------- */

static FILE *iscen_csv_open(const char *path, const char *header)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "vspace sim irqrate: cannot write %s: %s\n", path, strerror(errno));
		return NULL;
	}
	fprintf(f, "%s\n", header);
	return f;
}

static int iscen_csv_close(FILE *f, const char *path)
{
	if (fclose(f) != 0) {
		fprintf(stderr, "vspace sim irqrate: writing %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* (a) throughput and CPU against a fixed interrupt rate. */
static int iscen_sweep(const struct irqsim_scen_opts *o, FILE *out)
{
	static const double def_rates[] = { 250,   500,	  1000,	 2000,	 4000, 8000,
					    16000, 32000, 64000, 100000, 0 };
	const double *rates = o->n_rates ? o->rates : def_rates;
	int n_rates = o->n_rates ? o->n_rates : (int)(sizeof(def_rates) / sizeof(def_rates[0]));
	int vms = o->n_vms ? o->vms[0] : 8, bytes = o->n_pkt_bytes ? o->pkt_bytes[0] : 512;
	enum irqsim_proto protos[2] = { IRQSIM_UDP, IRQSIM_TCP };
	int n_protos = o->n_protos ? o->n_protos : 2, n = 0, rc = 0;
	struct iscen_run *runs = calloc((size_t)(n_rates * 2), sizeof(*runs));

	if (!runs)
		return 1;
	if (o->n_protos)
		memcpy(protos, o->protos, sizeof(protos));
	for (int p = 0; p < n_protos; p++)
		for (int i = 0; i < n_rates; i++) {
			struct iscen_run *r = &runs[n++];
			iscen_base(o, &r->cfg);
			r->cfg.policy = NULL;
			r->cfg.fixed_per_s = rates[i];
			r->cfg.n_vms = vms;
			r->cfg.pkt_bytes = bytes;
			r->cfg.proto = protos[p];
			snprintf(r->label, sizeof(r->label), "fixed");
		}
	if (iscen_parallel(runs, n, o->jobs) < 0) {
		free(runs);
		return 1;
	}
	double cp, ci;
	irqsim_model_costs(bytes, IRQSIM_UDP, &cp, &ci);
	fprintf(out,
		"Fixed interrupt rate: %d VMs x 1 vCPU on %d cores, %d B payload, %.1f s "
		"measured per run. The model's costs: C_int %.0f ns, C_pkt %.0f ns (UDP).\n"
		"rate 0 = no moderation. k = packets taken per interrupt as it came out.\n\n",
		vms, IRQ_SIM_CORES, bytes, runs[0].cfg.duration_s - runs[0].cfg.warmup_s, ci, cp);
	fprintf(out, "%-5s %9s %12s %10s %9s %11s %9s %7s\n", "proto", "rate/VF", "offered_gbps",
		"thr_gbps", "cpu_cores", "loss_pct", "int_per_s", "k");
	FILE *csv = o->csv ? iscen_csv_open(o->csv, "proto,vms,pkt_bytes,rate_per_s,offered_gbps,"
						    "throughput_gbps,cpu_cores,loss_pct,int_per_s,"
						    "pkts_per_int")
			   : NULL;
	if (o->csv && !csv)
		rc = 1;
	for (int i = 0; i < n; i++) {
		const struct irqsim_result *r = &runs[i].res;
		fprintf(out, "%-5s %9.0f %12.3f %10.3f %9.2f %11.2f %9.0f %7.1f\n",
			iscen_proto(runs[i].cfg.proto), runs[i].cfg.fixed_per_s, r->offered_gbps,
			r->throughput_gbps, r->cpu_cores, r->loss_pct, r->int_per_s,
			r->pkts_per_int);
		if (csv)
			fprintf(csv, "%s,%d,%d,%.0f,%.4f,%.4f,%.3f,%.3f,%.0f,%.2f\n",
				iscen_proto(runs[i].cfg.proto), vms, bytes, runs[i].cfg.fixed_per_s,
				r->offered_gbps, r->throughput_gbps, r->cpu_cores, r->loss_pct,
				r->int_per_s, r->pkts_per_int);
	}
	if (csv && iscen_csv_close(csv, o->csv) < 0)
		rc = 1;
	if (o->svg) {
		FILE *f = iscen_svg_open(o->svg, 900, 380,
					 "Throughput and CPU against a fixed interrupt rate");
		if (!f) {
			rc = 1;
		} else {
			struct iscen_panel pt = { 0, 30, 450, 340, 1e9, 0, 0, true };
			struct iscen_panel pc = { 450, 30, 450, 340, 1e9, 0, IRQ_SIM_CORES, true };
			double x[IRQSIM_MAX_LIST], yt[IRQSIM_MAX_LIST], yc[IRQSIM_MAX_LIST];
			for (int i = 0; i < n; i++) {
				double r = runs[i].cfg.fixed_per_s > 0 ? runs[i].cfg.fixed_per_s
								       : 200000;
				pt.xmin = pc.xmin = fmin(pt.xmin, r);
				pt.xmax = pc.xmax = fmax(pt.xmax, r);
				pt.ymax = fmax(pt.ymax, runs[i].res.offered_gbps);
			}
			pt.ymax = iscen_nice(pt.ymax);
			iscen_axes(f, &pt, "throughput (Gbit/s)",
				   "interrupts/s per VF (log; off = no moderation)", "");
			iscen_axes(f, &pc, "CPU (cores)",
				   "interrupts/s per VF (log; off = no moderation)", "");
			for (int p = 0; p < n_protos; p++) {
				int k = 0;
				for (int i = 0; i < n; i++) {
					if (runs[i].cfg.proto != protos[p])
						continue;
					x[k] = runs[i].cfg.fixed_per_s > 0 ? runs[i].cfg.fixed_per_s
									   : 200000;
					yt[k] = runs[i].res.throughput_gbps;
					yc[k] = runs[i].res.cpu_cores;
					k++;
				}
				iscen_line(f, &pt, x, yt, k, iscen_colors[p], false);
				iscen_line(f, &pc, x, yc, k, iscen_colors[p], false);
				fprintf(f,
					"<text x=\"%d\" y=\"%d\" font-size=\"12\" "
					"fill=\"%s\">%s</text>\n",
					250 + 40 * p, 48, iscen_colors[p], iscen_proto(protos[p]));
			}
			for (int k = 0; k < 2; k++) {
				const struct iscen_panel *pp = k ? &pc : &pt;
				for (double t = 1000; t <= pp->xmax; t *= 10)
					iscen_xtick(f, pp, t,
						    t >= 1e5   ? "100k"
						    : t >= 1e4 ? "10k"
							       : "1k");
				if (pp->xmax >= 200000)
					iscen_xtick(f, pp, 200000, "off");
			}
			if (iscen_svg_close(f, o->svg) < 0)
				rc = 1;
		}
	}
	free(runs);
	return rc;
}

/* (b) policies x VMs x packet sizes x protocols. */
static int iscen_grid(const struct irqsim_scen_opts *o, FILE *out)
{
	static const int def_vms[] = { 1, 4, 8, 12, 16 }, def_bytes[] = { 50, 512, 1472 };
	const char *def_pol[] = { "fir", "cgr", "air" };
	int n_pol = o->n_policies ? o->n_policies : 3;
	int n_vms = o->n_vms ? o->n_vms : 5, n_bytes = o->n_pkt_bytes ? o->n_pkt_bytes : 3;
	const int *vms = o->n_vms ? o->vms : def_vms;
	const int *bytes = o->n_pkt_bytes ? o->pkt_bytes : def_bytes;
	enum irqsim_proto protos[2] = { IRQSIM_UDP, IRQSIM_TCP };
	int n_protos = o->n_protos ? o->n_protos : 2, n = 0, rc = 0;
	struct iscen_run *runs = calloc((size_t)(n_pol * n_vms * n_bytes * 2), sizeof(*runs));

	if (!runs)
		return 1;
	if (o->n_protos)
		memcpy(protos, o->protos, sizeof(protos));
	for (int b = 0; b < n_bytes; b++)
		for (int p = 0; p < n_protos; p++)
			for (int v = 0; v < n_vms; v++)
				for (int q = 0; q < n_pol; q++) {
					struct iscen_run *r = &runs[n++];
					const char *name =
						o->n_policies ? o->policies[q] : def_pol[q];
					iscen_base(o, &r->cfg);
					r->cfg.policy = irq_policy_lookup(name);
					r->cfg.n_vms = vms[v];
					r->cfg.pkt_bytes = bytes[b];
					r->cfg.proto = protos[p];
					snprintf(r->label, sizeof(r->label), "%s", name);
				}
	if (iscen_parallel(runs, n, o->jobs) < 0) {
		free(runs);
		return 1;
	}
	fprintf(out,
		"Policies x VMs x packet sizes: VMs of 1 vCPU with a VF each on %d cores, the "
		"10 GbE link shared evenly, %.1f s measured per run; AIR with k = %.0f, its "
		"C_pkt and C_int the model's own (as a calibration gives) and C = the vCPU's "
		"share of its core.\n\n",
		IRQ_SIM_CORES, runs[0].cfg.duration_s - runs[0].cfg.warmup_s,
		runs[0].cfg.params.air_k);
	fprintf(out, "%-6s %4s %9s %5s %15s %9s %8s %9s %6s %10s\n", "policy", "vms", "pkt_bytes",
		"proto", "throughput_gbps", "cpu_cores", "loss_pct", "int_per_s", "k", "rate_set");
	FILE *csv = o->csv ? iscen_csv_open(o->csv, "policy,vms,pkt_bytes,proto,throughput_gbps,"
						    "cpu_cores,loss_pct,int_per_s")
			   : NULL;
	if (o->csv && !csv)
		rc = 1;
	for (int i = 0; i < n; i++) {
		const struct irqsim_result *r = &runs[i].res;
		const struct irqsim_config *c = &runs[i].cfg;
		fprintf(out, "%-6s %4d %9d %5s %15.3f %9.2f %8.2f %9.0f %6.1f %10.0f\n",
			runs[i].label, c->n_vms, c->pkt_bytes, iscen_proto(c->proto),
			r->throughput_gbps, r->cpu_cores, r->loss_pct, r->int_per_s,
			r->pkts_per_int, r->rate_per_s);
		if (csv)
			fprintf(csv, "%s,%d,%d,%s,%.4f,%.3f,%.3f,%.0f\n", runs[i].label, c->n_vms,
				c->pkt_bytes, iscen_proto(c->proto), r->throughput_gbps,
				r->cpu_cores, r->loss_pct, r->int_per_s);
	}
	if (csv && iscen_csv_close(csv, o->csv) < 0)
		rc = 1;
	if (o->svg) {
		/* one panel per packet size and protocol: throughput (solid) and CPU
		 * (dashed, right scale folded onto the same axis as cores/8*max) */
		double pw = 330, ph = 260;
		FILE *f =
			iscen_svg_open(o->svg, pw * n_bytes, 40 + ph * n_protos * 2,
				       "Throughput (Gbit/s) and CPU (cores) against the number of "
				       "VMs, per policy");
		if (!f) {
			rc = 1;
		} else {
			for (int b = 0; b < n_bytes; b++)
				for (int p = 0; p < n_protos; p++)
					for (int m = 0; m < 2; m++) {
						struct iscen_panel pn = {
							pw * b, 30 + ph * (2 * p + m), pw, ph,
							vms[0], vms[n_vms - 1],	       0,  false
						};
						char title[96];
						if (pn.xmax <= pn.xmin)
							pn.xmax = pn.xmin + 1;
						pn.ymax = m ? IRQ_SIM_CORES : 10;
						snprintf(title, sizeof(title), "%d B %s: %s",
							 bytes[b], iscen_proto(protos[p]),
							 m ? "CPU (cores)" : "throughput (Gbit/s)");
						iscen_axes(f, &pn, title, "VMs", "");
						for (int v = 0; v < n_vms; v++) {
							char t[16];
							snprintf(t, sizeof(t), "%d", vms[v]);
							iscen_xtick(f, &pn, vms[v], t);
						}
						for (int q = 0; q < n_pol; q++) {
							double x[IRQSIM_MAX_LIST],
								y[IRQSIM_MAX_LIST];
							int k = 0;
							for (int i = 0; i < n; i++) {
								const struct iscen_run *r =
									&runs[i];
								if (r->cfg.pkt_bytes != bytes[b] ||
								    r->cfg.proto != protos[p] ||
								    strcmp(r->label,
									   runs[q].label) != 0)
									continue;
								x[k] = r->cfg.n_vms;
								y[k] = m ? r->res.cpu_cores
									 : r->res.throughput_gbps;
								k++;
							}
							iscen_line(f, &pn, x, y, k, iscen_colors[q],
								   false);
							if (b == 0 && p == 0 && m == 0)
								fprintf(f,
									"<text x=\"%.0f\" y=\"%d\" "
									"font-size=\"12\" "
									"fill=\"%s\">%s</text>\n",
									pw - 60, 70 + 15 * q,
									iscen_colors[q],
									runs[q].label);
						}
					}
			if (iscen_svg_close(f, o->svg) < 0)
				rc = 1;
		}
	}
	free(runs);
	return rc;
}

/* (c) receive fan-out off and on: 4 VMs x 2 vCPUs, a 1-queue VF, 4 streams. */
static int iscen_fanout(const struct irqsim_scen_opts *o, FILE *out)
{
	static const int def_bytes[] = { 50, 512, 1472 };
	const char *def_pol[] = { "fir", "cgr", "air" };
	int n_pol = o->n_policies ? o->n_policies : 3;
	int n_bytes = o->n_pkt_bytes ? o->n_pkt_bytes : 3, n = 0, rc = 0;
	const int *bytes = o->n_pkt_bytes ? o->pkt_bytes : def_bytes;
	enum irqsim_proto protos[2] = { IRQSIM_UDP, IRQSIM_TCP };
	int n_protos = o->n_protos ? o->n_protos : 2;
	int vms = o->n_vms ? o->vms[0] : 4;
	struct iscen_run *runs = calloc((size_t)(n_pol * n_bytes * 2 * 2), sizeof(*runs));

	if (!runs)
		return 1;
	if (o->n_protos)
		memcpy(protos, o->protos, sizeof(protos));
	for (int b = 0; b < n_bytes; b++)
		for (int p = 0; p < n_protos; p++)
			for (int q = 0; q < n_pol; q++)
				for (int fo = 0; fo < 2; fo++) {
					struct iscen_run *r = &runs[n++];
					const char *name =
						o->n_policies ? o->policies[q] : def_pol[q];
					iscen_base(o, &r->cfg);
					r->cfg.policy = irq_policy_lookup(name);
					r->cfg.n_vms = vms;
					r->cfg.vcpus_per_vm = 2;
					r->cfg.flows_per_vm = 4;
					r->cfg.fanout = fo;
					r->cfg.pkt_bytes = bytes[b];
					r->cfg.proto = protos[p];
					snprintf(r->label, sizeof(r->label), "%s", name);
				}
	if (iscen_parallel(runs, n, o->jobs) < 0) {
		free(runs);
		return 1;
	}
	fprintf(out,
		"Receive fan-out: %d VMs x 2 vCPUs on %d cores, a 1-queue VF each, 4 streams per "
		"VM read by one thread per vCPU; with fan-out, RPS/RFS over ceil(U/0.8) of the "
		"VM's "
		"vCPUs each period (U: busy time of the receiving vCPUs). %.1f s measured.\n\n",
		vms, IRQ_SIM_CORES, runs[0].cfg.duration_s - runs[0].cfg.warmup_s);
	fprintf(out, "%-6s %9s %5s %7s %15s %9s %8s %9s %11s\n", "policy", "pkt_bytes", "proto",
		"fanout", "throughput_gbps", "cpu_cores", "loss_pct", "int_per_s", "cpus_per_vm");
	FILE *csv = o->csv ? iscen_csv_open(o->csv, "policy,vms,vcpus,pkt_bytes,proto,fanout,"
						    "throughput_gbps,cpu_cores,loss_pct,int_per_s,"
						    "fanout_cpus")
			   : NULL;
	if (o->csv && !csv)
		rc = 1;
	for (int i = 0; i < n; i++) {
		const struct irqsim_result *r = &runs[i].res;
		const struct irqsim_config *c = &runs[i].cfg;
		fprintf(out, "%-6s %9d %5s %7s %15.3f %9.2f %8.2f %9.0f %11.2f\n", runs[i].label,
			c->pkt_bytes, iscen_proto(c->proto), c->fanout ? "on" : "off",
			r->throughput_gbps, r->cpu_cores, r->loss_pct, r->int_per_s,
			r->fanout_cpus);
		if (csv)
			fprintf(csv, "%s,%d,2,%d,%s,%s,%.4f,%.3f,%.3f,%.0f,%.2f\n", runs[i].label,
				c->n_vms, c->pkt_bytes, iscen_proto(c->proto),
				c->fanout ? "on" : "off", r->throughput_gbps, r->cpu_cores,
				r->loss_pct, r->int_per_s, r->fanout_cpus);
	}
	if (csv && iscen_csv_close(csv, o->csv) < 0)
		rc = 1;
	if (o->svg) {
		/* throughput per packet size, fan-out off vs on, one group per proto */
		FILE *f = iscen_svg_open(o->svg, 760, 360,
					 "Receive fan-out off (light) and on (dark): throughput "
					 "(Gbit/s) per policy and packet size");
		if (!f) {
			rc = 1;
		} else {
			double x = 60, base = 320, scale = 26; /* px per Gbit/s */
			fprintf(f,
				"<line x1=\"50\" y1=\"%.0f\" x2=\"750\" y2=\"%.0f\" "
				"stroke=\"black\"/>\n<line x1=\"50\" y1=\"%.0f\" x2=\"50\" "
				"y2=\"%.0f\" stroke=\"black\"/>\n",
				base, base, base, base - 10 * scale);
			for (int t = 0; t <= 10; t += 2)
				fprintf(f,
					"<text x=\"46\" y=\"%.0f\" font-size=\"10\" "
					"text-anchor=\"end\">%d</text>\n",
					base - t * scale + 3, t);
			for (int i = 0; i + 1 < n; i += 2) {
				for (int k = 0; k < 2; k++) {
					double h = runs[i + k].res.throughput_gbps * scale;
					fprintf(f,
						"<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" "
						"height=\"%.1f\" "
						"fill=\"%s\" opacity=\"%s\"/>\n",
						x + 8 * k, base - h, h,
						iscen_colors[(i / 2) % n_pol], k ? "1" : "0.4");
				}
				x += 19;
				if ((i / 2) % n_pol == n_pol - 1) {
					fprintf(f,
						"<text x=\"%.1f\" y=\"%.0f\" font-size=\"9\" "
						"text-anchor=\"middle\">%d %s</text>\n",
						x - 19.0 * n_pol / 2, base + 14,
						runs[i].cfg.pkt_bytes,
						iscen_proto(runs[i].cfg.proto));
					x += 12;
				}
			}
			for (int q = 0; q < n_pol; q++)
				fprintf(f,
					"<text x=\"%d\" y=\"44\" font-size=\"12\" "
					"fill=\"%s\">%s</text>\n",
					560 + 40 * q, iscen_colors[q], runs[2 * q].label);
			if (iscen_svg_close(f, o->svg) < 0)
				rc = 1;
		}
	}
	free(runs);
	return rc;
}

int irqsim_scenario(const struct irqsim_scen_opts *o, FILE *out)
{
	if (strcmp(o->what, "grid") == 0)
		return iscen_grid(o, out);
	if (strcmp(o->what, "fanout") == 0)
		return iscen_fanout(o, out);
	return iscen_sweep(o, out);
}
