/* vspaced.c - the daemon: event loop (epoll + timerfd + signalfd), control requests, metrics. */
#include "daemon/vspaced.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon/sdnotify.h"
#include "lib/log.h"
#include "lib/strutil.h"

#define VSD_VERSION "0.1"
/* At exit (on_exit=restore): how long the guest agents get to put the
 * guests back (a TCG guest answers in milliseconds). */
#define VSD_AGENT_RESTORE_MS 2000

static double vsd_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double vsd_thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void vsd_cpus(const struct vs_cpuset *s, char *buf, size_t len)
{
	cpuset_format_list(s, buf, len);
	if (!buf[0])
		str_copy(buf, "-", len);
}

/* ---- Policy ----------------------------------------------------------------------------- */

/* "P", "E", "R" (any case) or a policy name. */
static int vsd_policy(struct vsd *d, const char *spec, struct vs_policy *pol, char *err,
		      size_t errlen)
{
	const char *name = spec;

	if (!strcasecmp(spec, "P"))
		name = "vspace-p";
	else if (!strcasecmp(spec, "E"))
		name = "vspace-e";
	else if (!strcasecmp(spec, "R"))
		name = "vspace-r";
	return policy_lookup(name, cpuset_count(&d->cfg.managed), pol, err, errlen);
}

static void vsd_policy_changed(struct vsd *d)
{
	/* demeter sizes from the vCPU threads' own run time */
	linuxplat_set_thread_time(d->lx, d->ctl.policy.ops == &policy_demeter);
}

/* ---- Explain ------------------------------------------------------------------------------- */

/* The controller's account of the last decision plus, per LC workload, what
 * the halt-poll accounting did (malloc'd; NULL when out of memory). */
static char *vsd_explain(const struct vsd *d)
{
	size_t n = controller_explain(&d->ctl, NULL, 0), k,
	       cap = n + 1 + 1536 * (size_t)d->cfg.n_wl;
	char *text = malloc(cap + 64);

	if (!text)
		return NULL;
	controller_explain(&d->ctl, text, n + 1);
	k = n;
	for (int i = 0; i < d->cfg.n_wl && k < cap; i++) {
		struct vs_linux_haltpoll h;
		/* VMs only: a plain process has no KVM polling to speak of */
		if (!d->cfg.wl[i].lc || linuxplat_haltpoll(d->lx, d->cfg.wl[i].name, &h) < 0 ||
		    !strcmp(h.state, "not a VM"))
			continue;
		if (k == n)
			k += (size_t)snprintf(
				text + k, cap - k, "KVM halt polling (halt_poll_accounting=%s):\n",
				vs_hp_accounting_name(d->cfg.halt_poll, d->cfg.halt_poll_source));
		if (k >= cap)
			break;
		if (h.applied)
			k += (size_t)snprintf(text + k, cap - k,
					      "  %s: U_v %.3f = busy %.3f - polling %.3f, from "
					      "%s (%s)\n",
					      d->cfg.wl[i].name, h.busy_vcpu, h.raw_busy_vcpu,
					      h.halt_poll, h.source, h.note);
		else
			k += (size_t)snprintf(text + k, cap - k, "  %s: %s, not subtracted%s%s\n",
					      d->cfg.wl[i].name, h.state, h.note[0] ? ": " : "",
					      h.note);
		/* which source, and why that one */
		if (k < cap && h.via[0] && h.why_via[0])
			k += (size_t)snprintf(text + k, cap - k, "    via %s: %s\n", h.via,
					      h.why_via);
		if (k < cap && h.has_qmp && h.qmp_rtt_n > 0)
			k += (size_t)snprintf(
				text + k, cap - k,
				"    QMP query-stats on %s: %llu answers, %llu slow (wait %d ms), "
				"%llu bad; round trip last %.0f us, p50 %.0f us, max %.0f us\n",
				d->cfg.wl[i].qmp, (unsigned long long)h.qmp_answers,
				(unsigned long long)h.qmp_slow, h.qmp_wait_ms,
				(unsigned long long)h.qmp_bad, h.qmp_rtt_last_s * 1e6,
				h.qmp_rtt_p50_s * 1e6, h.qmp_rtt_max_s * 1e6);
	}
	return text;
}

/* ---- Control requests ---------------------------------------------------------------------- */

static json_t *vsd_cpus_json(const struct vs_cpuset *s)
{
	char buf[4096];
	cpuset_format_list(s, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *vsd_status(struct vsd *d)
{
	json_t *plat = linuxplat_status(d->lx), *wls = json_object_get(plat, "workloads"), *w;
	const struct vs_controller *c = &d->ctl;
	json_t *daemon;
	size_t i;

	json_array_foreach(wls, i, w)
	{
		int k = controller_find_workload(c, json_string_value(json_object_get(w, "name")));
		if (k < 0)
			continue;
		const struct vs_ctl_workload *cw = &c->wl[k];
		const struct vs_alloc *a = &c->plan.wl[k].alloc;
		json_object_set_new(w, "n_vcpu", json_integer(a->n_vcpu));
		json_object_set_new(w, "n_nq", json_integer(a->n_nq));
		json_object_set_new(w, "layout",
				    json_string(a->layout == VS_LAYOUT_ISOLATED ? "isolated"
						: a->layout == VS_LAYOUT_SHARED ? "shared"
										: "shared_all"));
		json_object_set_new(w, "vcpus", json_integer(a->vcpus));
		json_object_set_new(w, "queues", json_integer(a->queues));
		json_object_set_new(w, "th_vcpu", json_real(cw->ex.th.vcpu));
		json_object_set_new(w, "th_nq", json_real(cw->ex.th.nq));
		json_object_set_new(w, "slo_p95_us", json_real(cw->slo_p95_us));
		if (cw->has_sample) {
			json_object_set_new(w, "u_vcpu", json_real(cw->last_u.u_vcpu));
			json_object_set_new(w, "u_nq", json_real(cw->last_u.u_nq));
		}
		json_object_set_new(w, "explore_windows", json_integer((json_int_t)cw->ex.windows));
		json_object_set_new(w, "why", json_string(cw->decision.why));
	}
	json_array_foreach(wls, i, w)
	{
		const struct agentlink *l =
			d->have_agents
				? agentlinks_find(&d->agents,
						  json_string_value(json_object_get(w, "name")))
				: NULL;
		if (l)
			json_object_set_new(w, "agent_link", agentlink_status(l, proto_now_ms()));
	}
	daemon = json_pack("{s:i,s:s,s:f,s:s,s:i,s:I,s:I,s:I,s:I,s:b,s:b,s:o,s:f,s:f}", "pid",
			   (int)getpid(), "version", VSD_VERSION, "uptime_s",
			   vsd_now() - d->start_s, "policy", c->policy.spec, "period_ms",
			   d->period_ms, "periods", (json_int_t)c->periods, "skipped",
			   (json_int_t)c->skipped, "overruns", (json_int_t)d->overruns,
			   "apply_errors", (json_int_t)c->apply_errors, "paused", c->hold,
			   "dry_run", d->opt.dry_run, "managed", vsd_cpus_json(&d->cfg.managed),
			   "period_cpu_last_us", d->cost_last_s * 1e6, "period_cpu_mean_us",
			   d->cost_n ? d->cost_sum_s / (double)d->cost_n * 1e6 : 0.0);
	json_object_set_new(daemon, "last_error", json_string(c->last_error));
	json_object_set_new(plat, "daemon", daemon);
	json_object_set_new(plat, "best_effort",
			    json_pack("{s:o,s:b}", "cores", vsd_cpus_json(&c->plan.be_cores),
				      "paused", c->plan.be_paused));
	return plat;
}

static bool vsd_num(json_t *req, const char *key, double lo, double hi, double *out, char *err,
		    size_t errlen, bool required)
{
	json_t *v = json_object_get(req, key);

	if (!v) {
		if (required)
			snprintf(err, errlen, "missing \"%s\"", key);
		return false;
	}
	if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < lo ||
	    json_number_value(v) > hi) {
		snprintf(err, errlen, "\"%s\" must be a number in [%g, %g]", key, lo, hi);
		return false;
	}
	*out = json_number_value(v);
	return true;
}

static int vsd_req_workload(struct vsd *d, json_t *req, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(req, "workload"));
	int k;

	if (!name) {
		snprintf(err, errlen, "missing \"workload\" (a string)");
		return -1;
	}
	k = controller_find_workload(&d->ctl, name);
	if (k < 0) {
		bool configured = false;
		for (int i = 0; i < d->cfg.n_wl; i++)
			if (!strcmp(d->cfg.wl[i].name, name))
				configured = d->cfg.wl[i].lc;
		snprintf(err, errlen,
			 configured ? "workload \"%s\" is not running now"
				    : "unknown LC workload \"%s\"",
			 name);
	}
	return k;
}

static json_t *vsd_set(struct vsd *d, json_t *req, char *err, size_t errlen)
{
	const char *what = json_string_value(json_object_get(req, "what"));
	double v1, v2;
	int k;

	if (!what) {
		snprintf(err, errlen, "set: missing \"what\" (mode, threshold or slo)");
		return NULL;
	}
	if (!strcmp(what, "mode") || !strcmp(what, "policy")) {
		const char *value = json_string_value(json_object_get(req, "value"));
		struct vs_policy pol;
		char perr[256];
		if (!value) {
			snprintf(err, errlen,
				 "set mode: missing \"value\" (P, E, R or a policy name)");
			return NULL;
		}
		if (vsd_policy(d, value, &pol, perr, sizeof(perr)) < 0 ||
		    controller_set_policy(&d->ctl, &pol, perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "set mode: %s", perr);
			return NULL;
		}
		vsd_policy_changed(d);
		log_info("policy set to %s by request", pol.spec);
		return json_pack("{s:s}", "policy", pol.spec);
	}
	if (!strcmp(what, "threshold")) {
		bool has_v, has_n;
		k = vsd_req_workload(d, req, err, errlen);
		if (k < 0)
			return NULL;
		err[0] = '\0';
		has_v = vsd_num(req, "vcpu", 0.01, 1, &v1, err, errlen, false);
		if (err[0])
			return NULL;
		has_n = vsd_num(req, "nq", 0.01, 1, &v2, err, errlen, false);
		if (err[0])
			return NULL;
		if (!has_v && !has_n) {
			snprintf(err, errlen,
				 "set threshold: give \"vcpu\" and/or \"nq\" (0.01..1)");
			return NULL;
		}
		if (has_v)
			d->ctl.wl[k].ex.th.vcpu = v1;
		if (has_n)
			d->ctl.wl[k].ex.th.nq = v2;
		log_info("workload %s: thresholds set to vcpu %.3f nq %.3f by request",
			 d->ctl.wl[k].name, d->ctl.wl[k].ex.th.vcpu, d->ctl.wl[k].ex.th.nq);
		return json_pack("{s:s,s:f,s:f}", "workload", d->ctl.wl[k].name, "vcpu",
				 d->ctl.wl[k].ex.th.vcpu, "nq", d->ctl.wl[k].ex.th.nq);
	}
	if (!strcmp(what, "slo")) {
		k = vsd_req_workload(d, req, err, errlen);
		if (k < 0)
			return NULL;
		if (!vsd_num(req, "p95_us", 1, 1e9, &v1, err, errlen, true))
			return NULL;
		d->ctl.wl[k].slo_p95_us = v1;
		log_info("workload %s: SLO p95 set to %.0f us by request", d->ctl.wl[k].name, v1);
		return json_pack("{s:s,s:f}", "workload", d->ctl.wl[k].name, "p95_us", v1);
	}
	snprintf(err, errlen, "set: unknown \"what\": \"%s\" (mode, threshold or slo)", what);
	return NULL;
}

json_t *vsd_handle(void *arg, json_t *req, uid_t uid, char *err, size_t errlen)
{
	struct vsd *d = arg;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!strcmp(cmd, "report")) {
		const char *name = json_string_value(json_object_get(req, "workload"));
		double p95, count = -1;
		if (!name) {
			snprintf(err, errlen, "report: missing \"workload\" (a string)");
			return NULL;
		}
		if (!vsd_num(req, "p95_us", 0, 1e12, &p95, err, errlen, true))
			return NULL;
		err[0] = '\0';
		if (!vsd_num(req, "count", 0, 1e15, &count, err, errlen, false) && err[0])
			return NULL;
		if (linuxplat_report(d->lx, name, p95, (long)count, err, errlen) < 0)
			return NULL;
		return json_object();
	}
	if (!strcmp(cmd, "status"))
		return vsd_status(d);
	if (!strcmp(cmd, "explain")) {
		char *text = vsd_explain(d);
		json_t *o;
		if (!text) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		o = json_pack("{s:s}", "text", text);
		free(text);
		return o;
	}
	if (!strcmp(cmd, "set"))
		return vsd_set(d, req, err, errlen);
	if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
		bool hold = cmd[0] == 'p';
		if (d->ctl.hold != hold)
			log_info("%s by request (uid %u): %s", hold ? "paused" : "resumed",
				 (unsigned)uid,
				 hold ? "measuring and exploring, the allocation stays"
				      : "allocations follow the policy again");
		d->ctl.hold = hold;
		return json_pack("{s:b}", "paused", hold);
	}
	snprintf(err, errlen,
		 "unknown cmd \"%s\" (known: status, explain, report, set, pause, resume)", cmd);
	return NULL;
}

/* ---- Metrics ----------------------------------------------------------------------------------- */

/* The QMP source of the halt-polling counters: periods by outcome, round trips. */
static void vsd_render_qmp(struct vsd *d, struct metrics_buf *b)
{
	const struct vs_controller *c = &d->ctl;

	metrics_printf(b, "# HELP vspace_qmp_stats_periods_total Periods by the outcome of reading "
			  "KVM's halt-polling counters over QMP query-stats (ok, slow: no answer "
			  "within halt_poll_qmp_wait_ms, bad: unusable answer, unavailable).\n"
			  "# TYPE vspace_qmp_stats_periods_total counter\n");
	for (int i = 0; i < c->n_wl; i++) {
		struct vs_linux_haltpoll h;
		if (linuxplat_haltpoll(d->lx, c->wl[i].name, &h) < 0 || !h.has_qmp)
			continue;
		metrics_printf(
			b,
			"vspace_qmp_stats_periods_total{workload=\"%s\",result=\"ok\"} %llu\n"
			"vspace_qmp_stats_periods_total{workload=\"%s\",result=\"slow\"} "
			"%llu\n"
			"vspace_qmp_stats_periods_total{workload=\"%s\",result=\"bad\"} %llu\n"
			"vspace_qmp_stats_periods_total{workload=\"%s\",result="
			"\"unavailable\"} %llu\n",
			c->wl[i].name, (unsigned long long)h.qmp_answers, c->wl[i].name,
			(unsigned long long)h.qmp_slow, c->wl[i].name,
			(unsigned long long)h.qmp_bad, c->wl[i].name,
			(unsigned long long)h.qmp_unavailable);
	}
	metrics_printf(b, "# HELP vspace_qmp_stats_rtt_seconds Round trip of query-stats (send to "
			  "answer).\n# TYPE vspace_qmp_stats_rtt_seconds summary\n"
			  "# HELP vspace_qmp_stats_rtt_seconds_max Largest round trip of "
			  "query-stats.\n# TYPE vspace_qmp_stats_rtt_seconds_max gauge\n");
	for (int i = 0; i < c->n_wl; i++) {
		struct vs_linux_haltpoll h;
		const char *n = c->wl[i].name;
		if (linuxplat_haltpoll(d->lx, n, &h) < 0 || h.qmp_rtt_n == 0)
			continue;
		metrics_printf(
			b,
			"vspace_qmp_stats_rtt_seconds{workload=\"%s\",quantile=\"0.5\"} %.9f\n"
			"vspace_qmp_stats_rtt_seconds{workload=\"%s\",quantile=\"0.99\"} "
			"%.9f\n"
			"vspace_qmp_stats_rtt_seconds_sum{workload=\"%s\"} %.9f\n"
			"vspace_qmp_stats_rtt_seconds_count{workload=\"%s\"} %llu\n"
			"vspace_qmp_stats_rtt_seconds_max{workload=\"%s\"} %.9f\n",
			n, h.qmp_rtt_p50_s, n, h.qmp_rtt_p99_s, n,
			h.qmp_rtt_mean_s * (double)h.qmp_rtt_n, n, (unsigned long long)h.qmp_rtt_n,
			n, h.qmp_rtt_max_s);
	}
}

static void vsd_render(void *arg, struct metrics_buf *b)
{
	struct vsd *d = arg;
	const struct vs_controller *c = &d->ctl;
	const struct vs_write_stats *ws = linuxplat_write_stats(d->lx);
	struct vs_linux_counters cnt;

	linuxplat_counters(d->lx, &cnt);
	metrics_printf(
		b,
		"# HELP vspace_info vspaced's policy and version.\n# TYPE vspace_info gauge\n"
		"vspace_info{policy=\"%s\",version=\"%s\",dry_run=\"%d\"} 1\n",
		c->policy.spec, VSD_VERSION, d->opt.dry_run);
	metrics_printf(b,
		       "# HELP vspace_managed_cores Cores vspace manages (T).\n"
		       "# TYPE vspace_managed_cores gauge\nvspace_managed_cores %d\n",
		       c->n_cores);
	metrics_printf(b,
		       "# HELP vspace_periods_total Control periods run.\n"
		       "# TYPE vspace_periods_total counter\nvspace_periods_total %llu\n",
		       (unsigned long long)c->periods);
	metrics_printf(
		b,
		"# HELP vspace_periods_skipped_total Periods the host could not be measured.\n"
		"# TYPE vspace_periods_skipped_total counter\nvspace_periods_skipped_total %llu\n",
		(unsigned long long)c->skipped);
	metrics_printf(
		b,
		"# HELP vspace_period_overruns_total Period deadlines missed.\n"
		"# TYPE vspace_period_overruns_total counter\nvspace_period_overruns_total %llu\n",
		(unsigned long long)d->overruns);
	metrics_printf(b,
		       "# HELP vspace_apply_errors_total Periods in which some write failed.\n"
		       "# TYPE vspace_apply_errors_total counter\nvspace_apply_errors_total %llu\n",
		       (unsigned long long)c->apply_errors);
	metrics_printf(
		b,
		"# HELP vspace_period_cpu_seconds CPU time of the control loop per period "
		"(sample, decide, place, apply).\n# TYPE vspace_period_cpu_seconds summary\n"
		"vspace_period_cpu_seconds_sum %.9f\nvspace_period_cpu_seconds_count %llu\n"
		"# HELP vspace_period_cpu_seconds_max Largest CPU time of one period.\n"
		"# TYPE vspace_period_cpu_seconds_max gauge\nvspace_period_cpu_seconds_max %.9f\n",
		d->cost_sum_s, (unsigned long long)d->cost_n, d->cost_max_s);
	metrics_printf(b,
		       "# HELP vspace_paused 1 while allocations are held (vspacectl pause).\n"
		       "# TYPE vspace_paused gauge\nvspace_paused %d\n",
		       c->hold);
	metrics_printf(b, "# HELP vspace_group_cores Cores of each group.\n# TYPE "
			  "vspace_group_cores gauge\n");
	for (int i = 0; i < c->n_wl; i++) {
		const struct vs_alloc *a = &c->plan.wl[i].alloc;
		metrics_printf(b, "vspace_group_cores{workload=\"%s\",group=\"vcpu\"} %d\n",
			       c->wl[i].name, a->n_vcpu);
		metrics_printf(b, "vspace_group_cores{workload=\"%s\",group=\"nq\"} %d\n",
			       c->wl[i].name, a->n_nq);
	}
	metrics_printf(b,
		       "# HELP vspace_group_busy_cores Busy time of each group in the last period, "
		       "cores.\n# TYPE vspace_group_busy_cores gauge\n");
	for (int i = 0; i < c->n_wl; i++)
		if (c->wl[i].has_sample) {
			metrics_printf(
				b, "vspace_group_busy_cores{workload=\"%s\",group=\"vcpu\"} %.4f\n",
				c->wl[i].name, c->wl[i].last.busy_vcpu);
			metrics_printf(
				b, "vspace_group_busy_cores{workload=\"%s\",group=\"nq\"} %.4f\n",
				c->wl[i].name, c->wl[i].last.busy_nq);
		}
	metrics_printf(
		b, "# HELP vspace_vcpu_busy_raw_cores Busy time of the vCPU group's cores in the "
		   "last period before the KVM halt-polling correction, cores.\n"
		   "# TYPE vspace_vcpu_busy_raw_cores gauge\n"
		   "# HELP vspace_halt_poll_cores KVM halt-polling time subtracted from the vCPU "
		   "group's busy time in the last period, cores.\n"
		   "# TYPE vspace_halt_poll_cores gauge\n");
	for (int i = 0; i < c->n_wl; i++)
		if (c->wl[i].has_sample) {
			const struct vs_sample *s = &c->wl[i].last;
			metrics_printf(b, "vspace_vcpu_busy_raw_cores{workload=\"%s\"} %.4f\n",
				       c->wl[i].name,
				       s->has_halt_poll ? s->busy_vcpu_raw : s->busy_vcpu);
			metrics_printf(b, "vspace_halt_poll_cores{workload=\"%s\"} %.4f\n",
				       c->wl[i].name, s->has_halt_poll ? s->halt_poll_vcpu : 0);
		}
	metrics_printf(b, "# HELP vspace_halt_poll_accounting 1 while KVM halt polling is read and "
			  "subtracted for the workload (state: active, unavailable, bad counters, "
			  "off, not a VM).\n# TYPE vspace_halt_poll_accounting gauge\n");
	for (int i = 0; i < c->n_wl; i++) {
		struct vs_linux_haltpoll h;
		if (linuxplat_haltpoll(d->lx, c->wl[i].name, &h) == 0)
			metrics_printf(b,
				       "vspace_halt_poll_accounting{workload=\"%s\",state=\"%s\"} "
				       "%d\n",
				       c->wl[i].name, h.state, strcmp(h.state, "active") == 0);
	}
	metrics_printf(b, "# HELP vspace_halt_poll_source 1 for the source of the workload's KVM "
			  "halt-polling counters (debugfs, qmp; none while nothing is read).\n"
			  "# TYPE vspace_halt_poll_source gauge\n");
	for (int i = 0; i < c->n_wl; i++) {
		struct vs_linux_haltpoll h;
		if (linuxplat_haltpoll(d->lx, c->wl[i].name, &h) == 0)
			metrics_printf(b,
				       "vspace_halt_poll_source{workload=\"%s\",source=\"%s\"} 1\n",
				       c->wl[i].name,
				       strcmp(h.state, "active") == 0 && h.via[0] ? h.via : "none");
	}
	vsd_render_qmp(d, b);
	metrics_printf(b, "# HELP vspace_threshold Utilization threshold of each group.\n"
			  "# TYPE vspace_threshold gauge\n");
	for (int i = 0; i < c->n_wl; i++) {
		metrics_printf(b, "vspace_threshold{workload=\"%s\",group=\"vcpu\"} %.4f\n",
			       c->wl[i].name, c->wl[i].ex.th.vcpu);
		metrics_printf(b, "vspace_threshold{workload=\"%s\",group=\"nq\"} %.4f\n",
			       c->wl[i].name, c->wl[i].ex.th.nq);
	}
	metrics_printf(b,
		       "# HELP vspace_p95_microseconds p95 latency reported for the last period.\n"
		       "# TYPE vspace_p95_microseconds gauge\n");
	for (int i = 0; i < c->n_wl; i++)
		if (c->wl[i].has_sample && c->wl[i].last.has_p95)
			metrics_printf(b, "vspace_p95_microseconds{workload=\"%s\"} %.1f\n",
				       c->wl[i].name, c->wl[i].last.p95_us);
	metrics_printf(b, "# HELP vspace_slo_p95_microseconds The SLO for p95.\n"
			  "# TYPE vspace_slo_p95_microseconds gauge\n");
	for (int i = 0; i < c->n_wl; i++)
		metrics_printf(b, "vspace_slo_p95_microseconds{workload=\"%s\"} %.1f\n",
			       c->wl[i].name, c->wl[i].slo_p95_us);
	metrics_printf(b,
		       "# HELP vspace_be_cores Cores given to best-effort work.\n"
		       "# TYPE vspace_be_cores gauge\nvspace_be_cores %d\n"
		       "# HELP vspace_be_paused 1 while best-effort work is paused.\n"
		       "# TYPE vspace_be_paused gauge\nvspace_be_paused %d\n",
		       cpuset_count(&c->plan.be_cores), c->plan.be_paused);
	metrics_printf(b,
		       "# HELP vspace_write_seconds Latency of each kind of write vspace makes.\n"
		       "# TYPE vspace_write_seconds histogram\n");
	for (int k = 0; k < VS_W_N; k++) {
		uint64_t cum = 0;
		if (ws[k].writes == 0)
			continue;
		for (int bk = 0; bk < VS_LAT_BUCKETS; bk++) {
			cum += ws[k].le[bk];
			metrics_printf(b,
				       "vspace_write_seconds_bucket{kind=\"%s\",le=\"%g\"} %llu\n",
				       vs_write_kind_name(k), (double)(1u << bk) * 1e-6,
				       (unsigned long long)cum);
		}
		metrics_printf(b,
			       "vspace_write_seconds_bucket{kind=\"%s\",le=\"+Inf\"} %llu\n"
			       "vspace_write_seconds_sum{kind=\"%s\"} %.9f\n"
			       "vspace_write_seconds_count{kind=\"%s\"} %llu\n",
			       vs_write_kind_name(k), (unsigned long long)ws[k].writes,
			       vs_write_kind_name(k), ws[k].sum_s, vs_write_kind_name(k),
			       (unsigned long long)ws[k].writes);
	}
	metrics_printf(b, "# HELP vspace_write_errors_total Failed writes by kind and class.\n"
			  "# TYPE vspace_write_errors_total counter\n");
	for (int k = 0; k < VS_W_N; k++)
		if (ws[k].writes > 0)
			metrics_printf(
				b,
				"vspace_write_errors_total{kind=\"%s\",class=\"transient\"} %llu\n"
				"vspace_write_errors_total{kind=\"%s\",class=\"permanent\"} %llu\n",
				vs_write_kind_name(k), (unsigned long long)ws[k].transient,
				vs_write_kind_name(k), (unsigned long long)ws[k].permanent);
	metrics_printf(
		b,
		"# HELP vspace_irq_affinity_mismatch_total IRQs whose effective affinity "
		"left the requested cores.\n# TYPE vspace_irq_affinity_mismatch_total counter\n"
		"vspace_irq_affinity_mismatch_total %llu\n",
		(unsigned long long)cnt.irq_mismatch);
	metrics_printf(b,
		       "# HELP vspace_workload_events_total Workloads that appeared or vanished.\n"
		       "# TYPE vspace_workload_events_total counter\n"
		       "vspace_workload_events_total{event=\"appeared\"} %llu\n"
		       "vspace_workload_events_total{event=\"vanished\"} %llu\n",
		       (unsigned long long)cnt.appeared, (unsigned long long)cnt.vanished);
	metrics_printf(b,
		       "# HELP vspace_reports_total p95 reports received.\n"
		       "# TYPE vspace_reports_total counter\nvspace_reports_total %llu\n",
		       (unsigned long long)cnt.reports);
	if (d->have_agents)
		agentlinks_metrics(&d->agents, b);
	if (cnt.has_energy)
		metrics_printf(b,
			       "# HELP vspace_energy_joules_total Package energy (RAPL).\n"
			       "# TYPE vspace_energy_joules_total counter\n"
			       "vspace_energy_joules_total %.3f\n",
			       cnt.energy_j);
}

/* ---- The period ---------------------------------------------------------------------------------- */

static void vsd_log_changes(struct vsd *d)
{
	const struct vs_controller *c = &d->ctl;

	if (d->n_last < c->n_wl) {
		struct vsd_last *nl = realloc(d->last, sizeof(*nl) * (size_t)c->cap_wl);
		if (!nl)
			return;
		memset(nl + d->n_last, 0, sizeof(*nl) * (size_t)(c->cap_wl - d->n_last));
		d->last = nl;
		d->n_last = c->cap_wl;
	}
	for (int i = 0; i < c->n_wl; i++) {
		const struct vs_wl_plan *wp = &c->plan.wl[i];
		struct vsd_last *l = NULL;
		char v[256], n[256];

		for (int j = 0; j < d->n_last; j++)
			if (!strcmp(d->last[j].name, c->wl[i].name))
				l = &d->last[j];
		if (!l)
			for (int j = 0; j < d->n_last; j++)
				if (!d->last[j].name[0]) {
					l = &d->last[j];
					str_copy(l->name, c->wl[i].name, sizeof(l->name));
					l->alloc.n_vcpu = -1;
					break;
				}
		if (!l)
			continue;
		if (l->alloc.n_vcpu == wp->alloc.n_vcpu && l->alloc.n_nq == wp->alloc.n_nq &&
		    l->alloc.layout == wp->alloc.layout &&
		    cpuset_equal(&l->vcpu, &wp->vcpu_cores) && cpuset_equal(&l->nq, &wp->nq_cores))
			continue;
		vsd_cpus(&wp->vcpu_cores, v, sizeof(v));
		vsd_cpus(&wp->nq_cores, n, sizeof(n));
		log_info("workload %s: vcpu group %d core%s [%s], nq group %d core%s [%s], %d "
			 "vCPUs, "
			 "%d queues: %s",
			 c->wl[i].name, wp->alloc.n_vcpu, wp->alloc.n_vcpu == 1 ? "" : "s", v,
			 wp->alloc.n_nq, wp->alloc.n_nq == 1 ? "" : "s", n, wp->alloc.vcpus,
			 wp->alloc.queues, c->wl[i].decision.why);
		l->alloc = wp->alloc;
		l->vcpu = wp->vcpu_cores;
		l->nq = wp->nq_cores;
	}
}

/* One control period; now_s is the monotonic time (simulated by --bench). */
static void vsd_period(struct vsd *d, double now)
{
	double t0 = vsd_thread_cpu(), dt;
	int rc;

	if (linuxplat_refresh(d->lx, &d->ctl, now) > 0 && controller_start(&d->ctl) < 0)
		log_warnx("placing new workloads: %s", d->ctl.last_error);
	rc = controller_step(&d->ctl);
	if (rc < 0 && strcmp(d->last_error, d->ctl.last_error) != 0)
		log_warnx("no plan this period: %s (the allocation in force stays)",
			  d->ctl.last_error);
	str_copy(d->last_error, rc < 0 ? d->ctl.last_error : "", sizeof(d->last_error));
	vsd_log_changes(d);
	dt = vsd_thread_cpu() - t0;
	d->cost_last_s = dt;
	d->cost_sum_s += dt;
	d->cost_n++;
	if (dt > d->cost_max_s)
		d->cost_max_s = dt;
	if (d->cfg.metrics_textfile[0] && now - d->textfile_s >= 1.0) {
		metrics_write_textfile(d->cfg.metrics_textfile, vsd_render, d);
		d->textfile_s = now;
	}
	if (d->watchdog_usec && now - d->watchdog_s >= (double)d->watchdog_usec * 0.5e-6) {
		sdnotify("WATCHDOG=1");
		d->watchdog_s = now;
	}
}

static int vsd_arm(struct vsd *d)
{
	struct itimerspec its = { 0 };
	uint64_t ns = (d->tick + 1) * (uint64_t)d->period_ms * 1000000ull;

	its.it_value.tv_sec = d->t0.tv_sec + (time_t)(ns / 1000000000ull);
	its.it_value.tv_nsec = d->t0.tv_nsec + (long)(ns % 1000000000ull);
	if (its.it_value.tv_nsec >= 1000000000L) {
		its.it_value.tv_sec++;
		its.it_value.tv_nsec -= 1000000000L;
	}
	return timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The timer fired: catch up with the deadlines, run one period, re-arm. */
static void vsd_timer(struct vsd *d)
{
	struct timespec now;
	uint64_t exp, elapsed_ns, due;

	if (read(d->tfd, &exp, sizeof(exp)) != sizeof(exp))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed_ns = (uint64_t)(now.tv_sec - d->t0.tv_sec) * 1000000000ull +
		     (uint64_t)(now.tv_nsec - d->t0.tv_nsec);
	due = elapsed_ns / ((uint64_t)d->period_ms * 1000000ull);
	if (due > d->tick + 1) {
		d->overruns += due - d->tick - 1;
		log_debug("%llu period deadline(s) missed",
			  (unsigned long long)(due - d->tick - 1));
	}
	d->tick = due > d->tick ? due : d->tick + 1;
	vsd_period(d, vsd_now());
	if (vsd_arm(d) < 0)
		log_warn("timerfd_settime");
}

static void vsd_signal(struct vsd *d)
{
	struct signalfd_siginfo si;

	while (read(d->sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
		case SIGQUIT:
			log_info("signal %d: stopping", (int)si.ssi_signo);
			d->stop = true;
			break;
		case SIGHUP:
			log_warnx("SIGHUP: reloading the configuration is not supported; restart "
				  "vspaced to apply a new one");
			break;
		case SIGUSR1: {
			char *text = vsd_explain(d);
			if (text) {
				for (char *line = strtok(text, "\n"); line;
				     line = strtok(NULL, "\n"))
					log_info("explain: %s", line);
				free(text);
			}
			break;
		}
		default:
			break;
		}
	}
}

/* ---- Set-up and tear-down ----------------------------------------------------------------------- */

static int vsd_setup_loop(struct vsd *d, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t set;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || d->epfd < 0 || d->tfd < 0) {
		snprintf(err, errlen, "event loop set-up: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	d->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sfd < 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		return -1;
	}
	ev.data.u64 = (uint64_t)VSD_TAG_TIMER << 32;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tfd, &ev);
	ev.data.u64 = (uint64_t)VSD_TAG_SIGNAL << 32;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sfd, &ev);
	return 0;
}

/* A link to the guest agent of every LC workload with agent=, plugged into
 * the platform as the workload's guest actuator. */
static int vsd_agents(struct vsd *d, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)VSD_TAG_AGENT << 32 };

	for (int i = 0; i < d->cfg.n_wl; i++) {
		const struct vs_wl_spec *w = &d->cfg.wl[i];
		char addr[PROTO_PATH_MAX + 16];
		struct agentlink *l;

		if (!w->lc || w->agent.kind == VS_AGENT_NONE)
			continue;
		if (!d->have_agents) {
			if (agentlinks_init(&d->agents, NULL, err, errlen) < 0)
				return -1;
			d->have_agents = true;
			if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, agentlinks_fd(&d->agents), &ev) < 0) {
				snprintf(err, errlen, "agent links: epoll_ctl: %s",
					 strerror(errno));
				return -1;
			}
		}
		vs_agent_format(&w->agent, addr, sizeof(addr));
		l = agentlinks_add(&d->agents, w->name, addr, w->guest_nic, err, errlen);
		if (!l)
			return -1;
		linuxplat_set_guest(d->lx, w->name, &l->base);
		log_info("workload %s: guest agent at %s (guest NIC %s)", w->name, addr,
			 w->guest_nic[0] ? w->guest_nic : "from the agent's hello");
	}
	if (d->have_agents)
		agentlinks_poll(&d->agents, proto_now_ms()); /* start connecting */
	return 0;
}

/* Real-time priority and housekeeping cores for the loop (live runs only). */
static void vsd_sched(struct vsd *d)
{
	if (d->cfg.has_housekeeping) {
		cpu_set_t *set = CPU_ALLOC(VS_MAX_CPUS);
		size_t sz = CPU_ALLOC_SIZE(VS_MAX_CPUS);
		if (set) {
			CPU_ZERO_S(sz, set);
			for (int c = cpuset_next(&d->cfg.housekeeping, 0); c >= 0;
			     c = cpuset_next(&d->cfg.housekeeping, c + 1))
				CPU_SET_S(c, sz, set);
			if (sched_setaffinity(0, sz, set) < 0)
				log_warn("housekeeping cores");
			CPU_FREE(set);
		}
	}
	if (d->cfg.rt_priority > 0) {
		struct sched_param sp = { .sched_priority = d->cfg.rt_priority };
		if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) < 0)
			log_warn("rt_priority %d (SCHED_FIFO); the loop runs at normal priority",
				 d->cfg.rt_priority);
		else
			log_info("control loop at SCHED_FIFO priority %d", d->cfg.rt_priority);
	}
}

static int vsd_loop(struct vsd *d)
{
	struct epoll_event ev[16];

	clock_gettime(CLOCK_MONOTONIC, &d->t0);
	d->tick = 0;
	if (vsd_arm(d) < 0) {
		log_warn("timerfd_settime");
		return 1;
	}
	while (!d->stop) {
		uint64_t now_ms = proto_now_ms();
		int timeout = d->have_agents ? agentlinks_timeout_ms(&d->agents, now_ms) : -1;
		int n;

		if (d->have_ctl) {
			int t = ctlsock_timeout_ms(&d->ctlsock, now_ms);
			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		n = epoll_wait(d->epfd, ev, 16, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			unsigned tag = (unsigned)(ev[i].data.u64 >> 32);
			unsigned slot = (unsigned)(ev[i].data.u64 & 0xffffffffu);
			switch (tag) {
			case VSD_TAG_TIMER:
				vsd_timer(d);
				if (d->opt.once)
					d->stop = true;
				break;
			case VSD_TAG_SIGNAL:
				vsd_signal(d);
				break;
			case VSD_TAG_CTL:
				ctlsock_event(&d->ctlsock, slot, ev[i].events);
				break;
			case VSD_TAG_METRICS:
				metrics_event(&d->met, slot, ev[i].events);
				break;
			default: /* VSD_TAG_AGENT: handled below */
				break;
			}
		}
		if (d->have_ctl)
			ctlsock_tick(&d->ctlsock, proto_now_ms());
		/* after a period too: its plan may have changed what the guests should have */
		if (d->have_agents)
			agentlinks_poll(&d->agents, proto_now_ms());
	}
	return 0;
}

static int vsd_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* --bench N: N periods back to back, CPU time of each. The clock the
 * periods see advances by period_ms each, so the full thread rescans happen
 * as often as in a real run (every LX_RESCAN_S). */
static int vsd_bench(struct vsd *d, double first_s)
{
	int n = d->opt.bench;
	double *t = calloc((size_t)n, sizeof(double)), *wall = calloc((size_t)n, sizeof(double));
	double sum = 0, wsum = 0, now = vsd_now();
	struct rusage ru;

	if (!t || !wall) {
		free(t);
		free(wall);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		double t0 = vsd_thread_cpu(), w0 = vsd_now();
		now += d->period_ms * 1e-3;
		vsd_period(d, now);
		t[i] = vsd_thread_cpu() - t0;
		wall[i] = vsd_now() - w0;
		sum += t[i];
		wsum += wall[i];
	}
	qsort(t, (size_t)n, sizeof(double), vsd_cmp_double);
	qsort(wall, (size_t)n, sizeof(double), vsd_cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	printf("periods %d, workloads %d, managed cores %d\n", n, d->ctl.n_wl, d->ctl.n_cores);
	printf("first allocation (discovery, decide, place, plan every write): %.1f us\n",
	       first_s * 1e6);
	printf("cpu per period: mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us\n",
	       sum / n * 1e6, t[n / 2] * 1e6, t[(int)((n - 1) * 0.99)] * 1e6, t[n - 1] * 1e6);
	printf("wall per period: mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us\n",
	       wsum / n * 1e6, wall[n / 2] * 1e6, wall[(int)((n - 1) * 0.99)] * 1e6,
	       wall[n - 1] * 1e6);
	for (int i = 0; i < d->cfg.n_wl; i++) {
		struct vs_linux_haltpoll h;
		if (linuxplat_haltpoll(d->lx, d->cfg.wl[i].name, &h) < 0 || !h.has_qmp)
			continue;
		printf("workload %s: halt polling %s via %s; QMP query-stats: %llu requests, %llu "
		       "answers, %llu slow (wait %d ms), %llu bad; round trip",
		       d->cfg.wl[i].name, h.state, h.via[0] ? h.via : "-",
		       (unsigned long long)h.qmp_requests, (unsigned long long)h.qmp_answers,
		       (unsigned long long)h.qmp_slow, h.qmp_wait_ms,
		       (unsigned long long)h.qmp_bad);
		if (h.qmp_rtt_n > 0)
			printf(" mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us\n",
			       h.qmp_rtt_mean_s * 1e6, h.qmp_rtt_p50_s * 1e6, h.qmp_rtt_p99_s * 1e6,
			       h.qmp_rtt_max_s * 1e6);
		else
			printf(" -\n");
	}
	printf("peak RSS %ld KiB\n", ru.ru_maxrss);
	free(t);
	free(wall);
	return 0;
}

static int vsd_bench_writes(struct vsd *d)
{
	const struct vs_write_stats *ws;
	char err[256];

	if (linuxplat_bench_writes(d->lx, d->opt.bench_writes, err, sizeof(err)) < 0) {
		log_errorx("--bench-writes: %s", err);
		return 1;
	}
	ws = linuxplat_write_stats(d->lx);
	printf("%-14s %7s %10s %10s %10s %10s %7s\n", "write", "count", "mean_us", "p50_us",
	       "p99_us", "max_us", "errors");
	for (int k = 0; k < VS_W_N; k++) {
		if (ws[k].writes == 0)
			continue;
		printf("%-14s %7llu %10.1f %10.1f %10.1f %10.1f %7llu\n", vs_write_kind_name(k),
		       (unsigned long long)ws[k].writes, ws[k].sum_s / (double)ws[k].writes * 1e6,
		       linuxplat_bench_quantile(d->lx, k, 0.5) * 1e6,
		       linuxplat_bench_quantile(d->lx, k, 0.99) * 1e6, ws[k].max_s * 1e6,
		       (unsigned long long)(ws[k].transient + ws[k].permanent));
	}
	return 0;
}

/* mkdir -p, mode 0755. */
static int vsd_mkdirs(const char *dir)
{
	char buf[PATH_MAX];

	str_copy(buf, dir, sizeof(buf));
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

int vsd_main(const struct vsd_opts *opts)
{
	struct vsd *d = calloc(1, sizeof(*d));
	struct vs_linux_config lc;
	struct vs_policy pol;
	char err[1024], state_path[PATH_MAX];
	double first_s = 0;
	int rc = 1, frc;

	if (!d)
		return 1;
	d->opt = *opts;
	d->epfd = d->tfd = d->sfd = -1;
	d->start_s = vsd_now();
	if (config_load(&d->cfg, opts->config, err, sizeof(err)) < 0) {
		log_errorx("%s", err);
		free(d);
		return 2;
	}
	log_set_level(opts->verbose ? VS_LOG_DEBUG : d->cfg.log_level);
	d->period_ms = opts->period_ms > 0 ? opts->period_ms : d->cfg.period_ms;
	if (vsd_policy(d, d->cfg.policy, &pol, err, sizeof(err)) < 0) {
		log_errorx("%s: %s", opts->config, err);
		rc = 2;
		goto out;
	}
	if (opts->check) {
		char cores[256];

		cpuset_format_list(&d->cfg.managed, cores, sizeof(cores));
		printf("vspaced: configuration %s is valid: %d workload%s (%d LC), %d managed "
		       "cores (%s), policy %s, period %d ms\n",
		       opts->config, d->cfg.n_wl, d->cfg.n_wl == 1 ? "" : "s", d->cfg.n_lc,
		       cpuset_count(&d->cfg.managed), cores, pol.spec, d->period_ms);
		rc = 0;
		goto out;
	}

	/* after a crash: put the host back before anything else */
	config_state_path(&d->cfg, state_path, sizeof(state_path));
	if (!opts->dry_run) {
		if (vsd_mkdirs(d->cfg.state_dir) < 0) {
			log_error("state_dir %s", d->cfg.state_dir);
			goto out;
		}
		frc = linuxplat_recover(opts->sysroot, state_path, false, err, sizeof(err));
		if (frc < 0) {
			log_errorx("%s", err);
			goto out;
		}
	} else if (access(state_path, F_OK) == 0) {
		log_info("dry-run: %s exists; a real run would restore it first", state_path);
	}

	config_linux(&d->cfg, opts->sysroot, opts->dry_run, &lc);
	/* the QMP wait for the halt-polling counters stays a quarter of the period */
	if (lc.qmp_wait_ms > d->period_ms / 4) {
		int w = d->period_ms / 4 > 0 ? d->period_ms / 4 : 1;
		bool qmp = false;
		for (int i = 0; i < d->cfg.n_wl; i++)
			qmp |= d->cfg.wl[i].lc && d->cfg.wl[i].qmp[0];
		if (qmp && d->cfg.halt_poll == VS_HALTPOLL_AUTO &&
		    d->cfg.halt_poll_source != VS_HPSRC_DEBUGFS)
			log_info("halt_poll_qmp_wait_ms %d is more than a quarter of the %d ms "
				 "period: waiting at most %d ms",
				 lc.qmp_wait_ms, d->period_ms, w);
		lc.qmp_wait_ms = w;
	}
	if (linuxplat_open(&d->lx, &lc, err, sizeof(err)) < 0) {
		log_errorx("%s: %s", opts->config, err);
		rc = 2;
		goto out;
	}
	if (controller_init(&d->ctl, &pol, &d->cfg.params, linuxplat_topology(d->lx),
			    linuxplat_platform(d->lx), err, sizeof(err)) < 0) {
		log_errorx("%s: %s", opts->config, err);
		rc = 2;
		goto out;
	}
	d->ctl_ready = true;
	vsd_policy_changed(d);
	if (opts->verbose) {
		size_t n = linuxplat_describe(d->lx, NULL, 0);
		char *text = malloc(n + 1);
		if (text) {
			linuxplat_describe(d->lx, text, n + 1);
			for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
				log_debug("discovery: %s", line);
			free(text);
		}
	}

	if (vsd_setup_loop(d, err, sizeof(err)) < 0) {
		log_errorx("%s", err);
		goto out;
	}
	if (!opts->once && !opts->bench && !opts->bench_writes &&
	    vsd_agents(d, err, sizeof(err)) < 0) {
		log_errorx("%s: %s", opts->config, err);
		rc = 2;
		goto out;
	}
	{
		double t0 = vsd_thread_cpu();
		linuxplat_refresh(d->lx, &d->ctl, vsd_now());
		if (controller_start(&d->ctl) < 0)
			log_warnx("first allocation: %s", d->ctl.last_error);
		vsd_log_changes(d);
		first_s = vsd_thread_cpu() - t0;
	}

	if (opts->bench > 0) {
		rc = vsd_bench(d, first_s);
		goto out;
	}
	if (opts->bench_writes > 0) {
		vsd_sched(d); /* the writer as the loop runs: real-time priority */
		rc = vsd_bench_writes(d);
		goto out;
	}
	if (d->cfg.control_socket[0] && !opts->once) {
		if (ctlsock_open(&d->ctlsock, d->cfg.control_socket, d->epfd, VSD_TAG_CTL,
				 d->cfg.has_control_gid, d->cfg.control_gid, vsd_handle, d, err,
				 sizeof(err)) < 0) {
			log_errorx("%s", err);
			goto out;
		}
		d->have_ctl = true;
	}
	if (d->cfg.metrics_listen[0] && !opts->once) {
		if (metrics_open(&d->met, d->cfg.metrics_listen, d->epfd, VSD_TAG_METRICS,
				 vsd_render, d, err, sizeof(err)) < 0) {
			log_errorx("%s", err);
			goto out;
		}
		d->have_met = true;
	}
	if (!opts->dry_run && (!opts->sysroot || !strcmp(opts->sysroot, "/")))
		vsd_sched(d);
	d->watchdog_usec = sdnotify_watchdog_usec();
	sdnotify("READY=1\nSTATUS=managing cores");
	log_info("running: policy %s, %d cores, period %d ms%s", d->ctl.policy.spec, d->ctl.n_cores,
		 d->period_ms, opts->dry_run ? ", dry-run (no writes)" : "");
	rc = vsd_loop(d);
	if (opts->once) {
		char *text = vsd_explain(d);
		if (text) {
			fputs(text, stdout);
			free(text);
		}
	}
out:
	sdnotify("STOPPING=1");
	if (d->have_ctl)
		ctlsock_close(&d->ctlsock);
	if (d->have_met)
		metrics_close(&d->met);
	if (d->lx && !opts->dry_run) { /* in a dry run nothing was written */
		if (d->cfg.on_exit_restore && d->have_agents &&
		    agentlinks_restore(&d->agents, VSD_AGENT_RESTORE_MS) > 0 && rc == 0)
			rc = 1;
		if (d->cfg.on_exit_restore) {
			int failed = linuxplat_restore(d->lx);
			if (failed > 0) {
				log_warnx("%d settings could not be restored", failed);
				if (rc == 0)
					rc = 1;
			}
		} else {
			linuxplat_leave(d->lx);
		}
	}
	if (d->ctl_ready)
		controller_free(&d->ctl);
	linuxplat_close(d->lx);
	if (d->have_agents)
		agentlinks_free(&d->agents);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->sfd >= 0)
		close(d->sfd);
	free(d->last);
	config_free(&d->cfg);
	free(d);
	return rc;
}
