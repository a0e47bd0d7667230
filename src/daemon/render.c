/* render.c - what vspaced shows: the status reply, the explain text, the Prometheus metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/vspaced.h"
#include "daemon/vspaced_int.h"
#include "platform/linux/virt.h"

/* ---- Explain ------------------------------------------------------------------------------- */

/* The controller's account of the last decision plus, per LC workload, what
 * the halt-poll accounting did (malloc'd; NULL when out of memory). */
char *vsd_explain(const struct vsd *d)
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
	{
		/* libvirt: the connection, how its VMs are reached, the patterns */
		size_t m = linuxplat_explain_libvirt(d->lx, NULL, 0), at = strlen(text);
		if (m > 0) {
			char *t = realloc(text, at + m + 1);
			if (!t)
				return text;
			text = t;
			linuxplat_explain_libvirt(d->lx, text + at, m + 1);
		}
	}
	if (d->have_vf) {
		/* the VF manager's lines, in a buffer of their own */
		size_t vn = 0, vcap = 512 + 512 * (size_t)d->vf.n_vm, at = strlen(text);
		char *vt = malloc(vcap), *t2;
		if (vt) {
			vt[0] = '\0';
			vfm_explain(&d->vf, vt, vcap, &vn);
			t2 = realloc(text, at + strlen(vt) + 1);
			if (t2) {
				text = t2;
				memcpy(text + at, vt, strlen(vt) + 1);
			}
			free(vt);
		}
	}
	return text;
}

/* ---- Status ---------------------------------------------------------------------------------- */

static json_t *vsd_cpus_json(const struct vs_cpuset *s)
{
	char buf[4096];
	cpuset_format_list(s, buf, sizeof(buf));
	return json_string(buf);
}

json_t *vsd_status(struct vsd *d)
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
		json_t *mn =
			vsd_memnet_status(&d->mn, json_string_value(json_object_get(w, "name")));
		if (mn)
			json_object_set_new(w, "memnet", mn);
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
	if (d->have_vf)
		json_object_set_new(plat, "vf", vfm_status(&d->vf, vsd_now()));
	return plat;
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
			  "answer).\n# TYPE vspace_qmp_stats_rtt_seconds summary\n");
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
			"vspace_qmp_stats_rtt_seconds_count{workload=\"%s\"} %llu\n",
			n, h.qmp_rtt_p50_s, n, h.qmp_rtt_p99_s, n,
			h.qmp_rtt_mean_s * (double)h.qmp_rtt_n, n, (unsigned long long)h.qmp_rtt_n);
	}
	metrics_printf(b, "# HELP vspace_qmp_stats_rtt_seconds_max Largest round trip of "
			  "query-stats.\n# TYPE vspace_qmp_stats_rtt_seconds_max gauge\n");
	for (int i = 0; i < c->n_wl; i++) {
		struct vs_linux_haltpoll h;
		const char *n = c->wl[i].name;
		if (linuxplat_haltpoll(d->lx, n, &h) < 0 || h.qmp_rtt_n == 0)
			continue;
		metrics_printf(b, "vspace_qmp_stats_rtt_seconds_max{workload=\"%s\"} %.9f\n", n,
			       h.qmp_rtt_max_s);
	}
}

/* The libvirt connection: up or down, connects, losses, events. */
static void vsd_render_libvirt(struct vsd *d, struct metrics_buf *b)
{
	struct virt_conn_info ci;

	if (!linuxplat_virt_info(d->lx, &ci))
		return;
	metrics_printf(b,
		       "# HELP vspace_libvirt_connected 1 while the libvirt connection is up.\n"
		       "# TYPE vspace_libvirt_connected gauge\nvspace_libvirt_connected %d\n"
		       "# HELP vspace_libvirt_connects_total Successful connects to libvirt "
		       "(the first included).\n"
		       "# TYPE vspace_libvirt_connects_total counter\n"
		       "vspace_libvirt_connects_total %llu\n"
		       "# HELP vspace_libvirt_losses_total libvirt connections lost (libvirtd "
		       "stopped, keepalive, I/O).\n"
		       "# TYPE vspace_libvirt_losses_total counter\n"
		       "vspace_libvirt_losses_total %llu\n"
		       "# HELP vspace_libvirt_events_total Domain events received from libvirt.\n"
		       "# TYPE vspace_libvirt_events_total counter\n"
		       "vspace_libvirt_events_total %llu\n",
		       ci.connected ? 1 : 0, ci.connects, ci.losses, ci.events);
}

void vsd_render(void *arg, struct metrics_buf *b)
{
	struct vsd *d = arg;
	const struct vs_controller *c = &d->ctl;
	const struct vs_write_stats *ws = linuxplat_write_stats(d->lx);
	struct vs_linux_counters cnt;

	vsd_render_libvirt(d, b);

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
	/* each family's HELP and TYPE directly above its own samples (the text
	 * exposition format groups a family's samples together) */
	metrics_printf(b,
		       "# HELP vspace_vcpu_busy_raw_cores Busy time of the vCPU group's cores in "
		       "the last period before the KVM halt-polling correction, cores.\n"
		       "# TYPE vspace_vcpu_busy_raw_cores gauge\n");
	for (int i = 0; i < c->n_wl; i++)
		if (c->wl[i].has_sample) {
			const struct vs_sample *s = &c->wl[i].last;
			metrics_printf(b, "vspace_vcpu_busy_raw_cores{workload=\"%s\"} %.4f\n",
				       c->wl[i].name,
				       s->has_halt_poll ? s->busy_vcpu_raw : s->busy_vcpu);
		}
	metrics_printf(b, "# HELP vspace_halt_poll_cores KVM halt-polling time subtracted from the "
			  "vCPU group's busy time in the last period, cores.\n"
			  "# TYPE vspace_halt_poll_cores gauge\n");
	for (int i = 0; i < c->n_wl; i++)
		if (c->wl[i].has_sample) {
			const struct vs_sample *s = &c->wl[i].last;
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
	metrics_printf(b, "# HELP vspace_writes_gone_total Writes whose object went away (a thread "
			  "exited, a queue was removed): not errors.\n"
			  "# TYPE vspace_writes_gone_total counter\n");
	for (int k = 0; k < VS_W_N; k++)
		if (ws[k].writes > 0)
			metrics_printf(b, "vspace_writes_gone_total{kind=\"%s\"} %llu\n",
				       vs_write_kind_name(k), (unsigned long long)ws[k].gone);
	metrics_printf(b,
		       "# HELP vspace_state_records Records of original settings in the state "
		       "file.\n# TYPE vspace_state_records gauge\nvspace_state_records %d\n"
		       "# HELP vspace_state_records_pruned_total Records dropped because their "
		       "thread or process exited.\n"
		       "# TYPE vspace_state_records_pruned_total counter\n"
		       "vspace_state_records_pruned_total %llu\n",
		       cnt.records, (unsigned long long)cnt.records_pruned);
	if (d->have_ctl)
		metrics_printf(b,
			       "# HELP vspace_control_clients Connections held on the control "
			       "socket.\n# TYPE vspace_control_clients gauge\n"
			       "vspace_control_clients %d\n"
			       "# HELP vspace_control_refused_total Control-socket connections "
			       "refused or closed, by reason.\n"
			       "# TYPE vspace_control_refused_total counter\n"
			       "vspace_control_refused_total{reason=\"permission\"} %lu\n"
			       "vspace_control_refused_total{reason=\"too_many_clients\"} %lu\n"
			       "vspace_control_refused_total{reason=\"evicted_for_root\"} %lu\n"
			       "vspace_control_refused_total{reason=\"idle\"} %lu\n",
			       ctlsock_clients(&d->ctlsock), d->ctlsock.rejected, d->ctlsock.busy,
			       d->ctlsock.evicted, d->ctlsock.idle);
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
	if (d->have_vf)
		vfm_metrics(&d->vf, b);
	vsd_memnet_metrics(&d->mn, b);
	if (cnt.has_energy)
		metrics_printf(b,
			       "# HELP vspace_energy_joules_total Package energy (RAPL).\n"
			       "# TYPE vspace_energy_joules_total counter\n"
			       "vspace_energy_joules_total %.3f\n",
			       cnt.energy_j);
}
