/* status.c - what the Linux platform found and does, for people: describe (discovery), status (vspacectl status), the halt-poll accounting. */
#include <stdio.h>
#include <string.h>

#include "lib/strutil.h"
#include "platform/linux/kvmstat.h"
#include "platform/linux/linux_int.h"

static size_t status_tids(const struct lx_wl *w, enum lx_role role, char *buf, size_t len)
{
	size_t k = 0;
	int n = 0;

	if (len > 0)
		buf[0] = '\0';
	for (int i = 0; i < w->n_thr; i++) {
		if (w->thr[i].role != role)
			continue;
		if (k < len)
			k += (size_t)snprintf(buf + k, len - k, "%s%d", n ? "," : "",
					      w->thr[i].tid);
		n++;
	}
	return (size_t)n;
}

static const char *status_source_name(enum vs_wl_source s)
{
	static const char *const names[] = { "pid", "pidfile", "qemu_pidfile", "cgroup",
					     "libvirt" };
	return (unsigned)s < 5 ? names[s] : "?";
}

size_t linuxplat_describe(const struct vs_linux *lx, char *buf, size_t len)
{
	size_t n = 0;
	char a[4096], b[4096];
	int smt = 0;

	if (len > 0)
		buf[0] = '\0';
	for (int c = cpuset_next(&lx->online, 0); c >= 0; c = cpuset_next(&lx->online, c + 1))
		if (lx->topo.sib_next[c] != c)
			smt++;
	cpuset_format_list(&lx->online, a, sizeof(a));
	cpuset_format_list(&lx->cfg.managed, b, sizeof(b));
	str_appendf(buf, len, &n,
		    "host: online %s (%d cpus), managed %s (%d), numa nodes %d, cpus with an SMT "
		    "sibling "
		    "%d, mask width %d\n",
		    a, cpuset_count(&lx->online), b, cpuset_count(&lx->cfg.managed), lx->n_nodes,
		    smt, lx->mask_cpus);
	str_appendf(buf, len, &n, "cgroups: cpuset v1 %s, freezer v1 %s, v2 %s (cpuset %s)\n",
		    lx->cg.fd[LX_HIER_CPUSET1] >= 0 ? lx->cg.rel[LX_HIER_CPUSET1] : "-",
		    lx->cg.fd[LX_HIER_FREEZER1] >= 0 ? lx->cg.rel[LX_HIER_FREEZER1] : "-",
		    lx->cg.fd[LX_HIER_V2] >= 0 ? lx->cg.rel[LX_HIER_V2] : "-",
		    lx->cg.v2_cpuset ? "yes" : "no");
	str_appendf(buf, len, &n, "energy: %s\n", lx->rapl.n > 0 ? "rapl" : "unavailable");
	for (int i = 0; i < lx->n_nic; i++) {
		const struct lx_nic *nc = &lx->nic[i];
		str_appendf(
			buf, len, &n,
			"nic %s%s%s: %s, owner %s, numa node %d, queues rx %d tx %d, channels %s",
			nc->name, nc->netns[0] ? " in netns " : "", nc->netns,
			nc->present ? "present" : "absent",
			nc->owner < 0 ? "all LC workloads" : lx->wl[nc->owner].spec.name,
			nc->numa_node, nc->n_rx, nc->n_tx, nc->ch_supported ? "" : "unsupported");
		if (nc->ch_supported)
			str_appendf(buf, len, &n, "rx %u/%u tx %u/%u combined %u/%u", nc->ch.rx,
				    nc->ch.max_rx, nc->ch.tx, nc->ch.max_tx, nc->ch.combined,
				    nc->ch.max_combined);
		str_appendf(buf, len, &n, ", queue irqs %d", nc->n_irq);
		for (int k = 0; k < nc->n_irq; k++)
			str_appendf(buf, len, &n, "%s%d:q%d", k ? " " : " [", nc->irq[k].irq,
				    nc->irq[k].queue);
		str_appendf(buf, len, &n, "%s\n", nc->n_irq ? "]" : "");
	}
	for (int i = 0; i < lx->n_wl; i++) {
		const struct lx_wl *w = &lx->wl[i];
		char agent[160];
		vs_agent_format(&w->spec.agent, agent, sizeof(agent));
		str_appendf(buf, len, &n, "workload %s: %s, %s=%s, placement %s%s%s\n",
			    w->spec.name, w->spec.lc ? "lc" : "be",
			    status_source_name(w->spec.source),
			    w->spec.source == VS_SRC_PID
				    ? (snprintf(a, sizeof(a), "%d", w->spec.pid), a)
			    : w->spec.source == VS_SRC_LIBVIRT ? w->spec.domain
							       : w->spec.path,
			    vs_placement_name(w->place), agent[0] ? ", agent " : "", agent);
		if (!w->present) {
			str_appendf(buf, len, &n, "  absent: %s\n", w->absent);
			continue;
		}
		str_appendf(buf, len, &n, "  pid %d, %s, %d threads\n", w->pid,
			    w->is_vm ? "vm" : "process", w->n_thr);
		for (int r = LX_ROLE_COMPUTE; r <= LX_ROLE_OTHER; r++) {
			size_t cnt = status_tids(w, (enum lx_role)r, a, sizeof(a));
			if (cnt > 0)
				str_appendf(buf, len, &n, "  %s %zu: %s\n",
					    lx_role_name((enum lx_role)r), cnt, a);
		}
		for (int t = 0; t < w->n_thr; t++)
			if (w->thr[t].vcpu >= 0)
				str_appendf(buf, len, &n, "%s%d=%d",
					    t == 0 || w->thr[t - 1].vcpu < 0 ? "  vcpus: " : " ",
					    w->thr[t].vcpu, w->thr[t].tid);
		for (int t = 0; t < w->n_thr; t++)
			if (w->thr[t].vcpu >= 0) {
				str_appendf(buf, len, &n, "\n");
				break;
			}
	}
	return n;
}

static json_t *status_cpus_json(const struct vs_cpuset *s)
{
	char buf[4096];
	cpuset_format_list(s, buf, sizeof(buf));
	return json_string(buf);
}

/* The QMP source of a workload's halt-polling counters, for status. */
static json_t *status_qmp_json(const struct vs_linux_haltpoll *h)
{
	json_t *o = json_pack("{s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "connection", h->qmp_conn,
			      "wait_ms", h->qmp_wait_ms, "requests", (json_int_t)h->qmp_requests,
			      "answers", (json_int_t)h->qmp_answers, "slow",
			      (json_int_t)h->qmp_slow, "bad", (json_int_t)h->qmp_bad, "unavailable",
			      (json_int_t)h->qmp_unavailable, "dropped", (json_int_t)h->qmp_dropped,
			      "connects", (json_int_t)h->qmp_connects);

	if (!o)
		return json_null();
	json_object_set_new(o, "qemu",
			    h->qemu_version[0] ? json_string(h->qemu_version) : json_null());
	if (h->qmp_vcpus > 0)
		json_object_set_new(o, "vcpus", json_integer(h->qmp_vcpus));
	if (h->qmp_rtt_n > 0)
		json_object_set_new(
			o, "rtt_us",
			json_pack("{s:I,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)h->qmp_rtt_n,
				  "last", h->qmp_rtt_last_s * 1e6, "mean", h->qmp_rtt_mean_s * 1e6,
				  "p50", h->qmp_rtt_p50_s * 1e6, "p99", h->qmp_rtt_p99_s * 1e6,
				  "max", h->qmp_rtt_max_s * 1e6));
	return o;
}

json_t *linuxplat_status(const struct vs_linux *lx)
{
	json_t *wls = json_array(), *nics = json_array();

	for (int i = 0; i < lx->n_wl; i++) {
		const struct lx_wl *w = &lx->wl[i];
		json_t *o = json_object();
		char agent[160], tmp[64];
		int roles[3] = { 0, 0, 0 };

		for (int t = 0; t < w->n_thr; t++)
			roles[w->thr[t].role]++;
		vs_agent_format(&w->spec.agent, agent, sizeof(agent));
		json_object_set_new(o, "name", json_string(w->spec.name));
		json_object_set_new(o, "role", json_string(w->spec.lc ? "lc" : "be"));
		json_object_set_new(o, "present", json_boolean(w->present));
		if (!w->present)
			json_object_set_new(o, "absent", json_string(w->absent));
		json_object_set_new(o, "source", json_string(status_source_name(w->spec.source)));
		json_object_set_new(o, "pid", json_integer(w->pid));
		json_object_set_new(o, "vm", json_boolean(w->is_vm));
		json_object_set_new(o, "placement", json_string(vs_placement_name(w->place)));
		json_object_set_new(o, "threads",
				    json_pack("{s:i,s:i,s:i}", "compute", roles[0], "vhost",
					      roles[1], "other", roles[2]));
		json_object_set_new(o, "agent", agent[0] ? json_string(agent) : json_null());
		json_object_set_new(o, "guest_actuator",
				    w->guest ? json_string(w->guest->ops->name) : json_null());
		if (w->spec.slo_p95_us > 0)
			json_object_set_new(o, "slo_p95_us", json_real(w->spec.slo_p95_us));
		json_object_set_new(o, "reports", json_integer((json_int_t)w->reports));
		if (w->reports > 0) {
			json_object_set_new(o, "last_report_p95_us", json_real(w->last_p95_us));
			if (w->p95_count >= 0)
				json_object_set_new(o, "last_report_count",
						    json_integer(w->p95_count));
		}
		if (w->cur_valid) {
			json_object_set_new(o, "vcpu_cores", status_cpus_json(&w->cur_vcpu));
			json_object_set_new(o, "nq_cores", status_cpus_json(&w->cur_nq));
		}
		if (w->spec.lc) {
			struct vs_linux_haltpoll h;
			json_t *ho;
			linuxplat_haltpoll(lx, w->spec.name, &h);
			ho = json_pack(
				"{s:s,s:s,s:b}", "accounting",
				vs_hp_accounting_name(lx->cfg.halt_poll, lx->cfg.halt_poll_source),
				"state", h.state, "applied", h.applied);
			json_object_set_new(ho, "via", h.via[0] ? json_string(h.via) : json_null());
			json_object_set_new(ho, "source",
					    h.source[0] ? json_string(h.source) : json_null());
			if (h.why_via[0])
				json_object_set_new(ho, "why_via", json_string(h.why_via));
			if (h.has_qmp)
				json_object_set_new(ho, "qmp", status_qmp_json(&h));
			if (h.note[0])
				json_object_set_new(ho, "note", json_string(h.note));
			if (h.bad_reads)
				json_object_set_new(ho, "bad_reads",
						    json_integer((json_int_t)h.bad_reads));
			if (w->has_last && h.applied) {
				json_object_set_new(ho, "busy_vcpu_raw",
						    json_real(h.raw_busy_vcpu));
				json_object_set_new(ho, "halt_poll_cores", json_real(h.halt_poll));
				json_object_set_new(ho, "busy_vcpu", json_real(h.busy_vcpu));
			}
			json_object_set_new(o, "halt_poll", ho);
		}
		if (w->has_last) {
			json_object_set_new(o, "busy_vcpu", json_real(w->last.busy_vcpu));
			json_object_set_new(o, "busy_vcpu_raw",
					    json_real(w->last.has_halt_poll ? w->last.busy_vcpu_raw
									    : w->last.busy_vcpu));
			json_object_set_new(
				o, "halt_poll_cores",
				json_real(w->last.has_halt_poll ? w->last.halt_poll_vcpu : 0));
			json_object_set_new(o, "busy_nq", json_real(w->last.busy_nq));
			json_object_set_new(o, "p95_us",
					    w->last.has_p95 ? json_real(w->last.p95_us)
							    : json_null());
		}
		snprintf(tmp, sizeof(tmp), "%s", w->spec.nic[0] ? w->spec.nic : "");
		if (tmp[0])
			json_object_set_new(o, "nic", json_string(tmp));
		if (w->spec.source == VS_SRC_LIBVIRT) {
			json_t *v = json_pack("{s:s}", "domain", w->spec.domain);
			if (w->tmpl >= 0) {
				json_object_set_new(v, "pattern",
						    json_string(lx->tmpl[w->tmpl].domain));
				json_object_set_new(v, "template",
						    json_string(lx->tmpl[w->tmpl].name));
			}
			if (w->pid_via[0])
				json_object_set_new(v, "pid_via", json_string(w->pid_via));
			json_object_set_new(o, "libvirt", v);
		}
		json_array_append_new(wls, o);
	}
	for (int i = 0; i < lx->n_nic; i++) {
		const struct lx_nic *n = &lx->nic[i];
		json_t *o = json_pack("{s:s,s:s,s:b,s:i,s:i,s:i}", "name", n->name, "netns",
				      n->netns, "present", n->present, "rx_queues", n->n_rx,
				      "tx_queues", n->n_tx, "queue_irqs", n->n_irq);
		if (n->ch_supported)
			json_object_set_new(
				o, "channels",
				json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "rx", (int)n->ch.rx, "tx",
					  (int)n->ch.tx, "combined", (int)n->ch.combined, "max_rx",
					  (int)n->ch.max_rx, "max_tx", (int)n->ch.max_tx,
					  "max_combined", (int)n->ch.max_combined));
		json_array_append_new(nics, o);
	}
	return json_pack("{s:o,s:o,s:i,s:o}", "workloads", wls, "nics", nics, "state_records",
			 lx->state.n, "libvirt", virtwl_status(lx));
}

int linuxplat_haltpoll(const struct vs_linux *lx, const char *workload,
		       struct vs_linux_haltpoll *out)
{
	const struct lx_wl *w = NULL;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < lx->n_wl && !w; i++)
		if (strcmp(lx->wl[i].spec.name, workload) == 0)
			w = &lx->wl[i];
	if (!w)
		return -1;
	out->state = kvmstat_state_name(w->hp.state);
	out->via = kvmstat_via_name(w->hp.via);
	if (w->hp.via == LX_VIA_DEBUGFS && w->hp.dir[0])
		snprintf(out->source, sizeof(out->source), "sys/" KVMSTAT_DIR "/%s", w->hp.dir);
	else if (w->hp.via == LX_VIA_QMP)
		snprintf(out->source, sizeof(out->source), "qmp:%s", w->spec.qmp);
	if (w->hp.state != LX_HP_OFF && w->hp.state != LX_HP_NOT_VM)
		str_copy(out->why_via, w->hp.why_via, sizeof(out->why_via));
	str_copy(out->note, w->hp.note, sizeof(out->note));
	out->qmp_wait_ms = linux_qmp_wait_ms(lx);
	{
		const struct lx_hp_qmp *q = &w->hp.q;
		static const char *const conn[] = { "closed", "greeting", "capabilities", "ready" };
		/* the statistics were sought over QMP (not only discovery's threads) */
		out->has_qmp = w->spec.qmp[0] &&
			       (q->requests > 0 || q->unavailable > 0 || w->hp.via == LX_VIA_QMP);
		str_copy(out->qmp_conn, (unsigned)q->conn.state < 4 ? conn[q->conn.state] : "?",
			 sizeof(out->qmp_conn));
		str_copy(out->qemu_version, q->conn.version, sizeof(out->qemu_version));
		out->qmp_vcpus = q->prev.n_vcpus; /* of the last good reading */
		out->qmp_requests = q->requests;
		out->qmp_answers = q->answers;
		out->qmp_slow = q->slow;
		out->qmp_bad = q->bad;
		out->qmp_unavailable = q->unavailable;
		out->qmp_dropped = q->conn.dropped;
		out->qmp_connects = q->conn.connects;
		out->qmp_rtt_n = q->rtt_us ? q->rtt_us->total : 0;
		out->qmp_rtt_last_s = q->rtt_last_s;
		out->qmp_rtt_max_s = q->rtt_max_s;
		if (out->qmp_rtt_n > 0) {
			out->qmp_rtt_mean_s = q->rtt_sum_s / (double)out->qmp_rtt_n;
			out->qmp_rtt_p50_s = (double)hist_quantile(q->rtt_us, 0.5) * 1e-6;
			out->qmp_rtt_p99_s = (double)hist_quantile(q->rtt_us, 0.99) * 1e-6;
		}
	}
	out->applied = w->hp.applied;
	out->raw_busy_vcpu = w->hp.raw_busy_vcpu;
	out->halt_poll = w->hp.subtracted;
	out->busy_vcpu =
		w->hp.applied ? w->hp.raw_busy_vcpu - w->hp.subtracted : w->hp.raw_busy_vcpu;
	out->bad_reads = w->hp.bad_reads;
	return 0;
}
