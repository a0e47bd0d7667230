/* irq.c - vspaced's interrupt-rate stage (SPEC §7.1): measure the NIC queues (host and guests), decide with fir/cgr/air and the fan-out, write; status, explain, metrics, `set irq_policy`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/vspaced.h"
#include "daemon/vspaced_int.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/irqcal.h"

/* Most receive queues measured in one period (host and guests together). */
#define VSD_IRQ_MAX_QUEUES 512

/* C_pkt and C_int from the calibration file unless irq_c_pkt_ns= /
 * irq_c_int_ns= are given. A file named by irq_calibration= must be there;
 * the default one may be missing (defaults, noted in status). Returns 0, or
 * -1 with err (the file is unreadable or malformed). */
static int vsd_irq_calibration(struct vsd *d, struct vs_irq_params *p, char *err, size_t errlen)
{
	char path[PATH_MAX], *text = NULL;
	struct vs_irqcal cal;
	bool explicit_path;
	long n;
	FILE *f;

	config_irq_calibration_path(&d->cfg, path, sizeof(path), &explicit_path);
	if (d->cfg.irq_cpkt_set && d->cfg.irq_cint_set) {
		snprintf(d->irq_cal_note, sizeof(d->irq_cal_note),
			 "C_pkt %.0f ns, C_int %.0f ns from the configuration", p->air_c_pkt_ns,
			 p->air_c_int_ns);
		return 0;
	}
	f = fopen(path, "r");
	if (!f) {
		if (explicit_path || errno != ENOENT) {
			snprintf(err, errlen, "irq_calibration %s: %s", path, strerror(errno));
			return -1;
		}
		snprintf(d->irq_cal_note, sizeof(d->irq_cal_note),
			 "not calibrated (no %.200s; run vspace irq calibrate): C_pkt %.0f ns, "
			 "C_int "
			 "%.0f ns, the defaults",
			 path, p->air_c_pkt_ns, p->air_c_int_ns);
		return 0;
	}
	text = malloc(65536);
	n = text ? (long)fread(text, 1, 65535, f) : -1;
	fclose(f);
	if (n < 0 || irqcal_parse(text, (size_t)n, &cal, err + 0, errlen) < 0) {
		char why[256];
		str_copy(why, n < 0 ? "out of memory" : err, sizeof(why));
		snprintf(err, errlen, "irq_calibration %s: %s", path, why);
		free(text);
		return -1;
	}
	free(text);
	if (!d->cfg.irq_cpkt_set)
		p->air_c_pkt_ns = cal.c_pkt_ns;
	if (!d->cfg.irq_cint_set)
		p->air_c_int_ns = cal.c_int_ns;
	snprintf(d->irq_cal_note, sizeof(d->irq_cal_note),
		 "C_pkt %.0f ns, C_int %.0f ns from %.200s (%s%s%s, residual %.1f %%)",
		 p->air_c_pkt_ns, p->air_c_int_ns, path, cal.ifname[0] ? cal.ifname : "?",
		 cal.time[0] ? ", " : "", cal.time, cal.residual_pct);
	return 0;
}

int vsd_irq_init(struct vsd *d, char *err, size_t errlen)
{
	struct vs_irq_params p = d->cfg.irq_params;
	const struct vs_irq_policy_ops *pol = irq_policy_lookup(d->cfg.irq_policy);

	if (vsd_irq_calibration(d, &p, err, errlen) < 0)
		return -1;
	if (irq_params_check(&p, err, errlen) < 0)
		return -1;
	irqctl_init(&d->irq, pol, &p, d->cfg.irq_fanout);
	for (int i = 0; i < d->cfg.n_wl; i++)
		if (d->cfg.wl[i].lc && d->cfg.wl[i].irq_policy[0] &&
		    irqctl_set_policy(&d->irq, d->cfg.wl[i].name, d->cfg.wl[i].irq_policy, err,
				      errlen) < 0)
			return -1;
	d->rxs = calloc(VSD_IRQ_MAX_QUEUES, sizeof(*d->rxs));
	d->rxt = calloc(VSD_IRQ_MAX_QUEUES, sizeof(*d->rxt));
	if (!d->rxs || !d->rxt) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->irq_ready = true;
	if (!irqctl_idle(&d->irq))
		log_info("interrupt rate: irq_policy=%s%s; %s", d->cfg.irq_policy,
			 d->cfg.irq_fanout ? ", fan-out on" : "", d->irq_cal_note);
	return 0;
}

void vsd_irq_free(struct vsd *d)
{
	if (d->irq_ready)
		irqctl_free(&d->irq);
	free(d->rxs);
	free(d->rxt);
	d->rxs = NULL;
	d->rxt = NULL;
	d->irq_ready = false;
}

/* One period: the queues of the host's NICs and of the guests, the
 * decisions, the writes (guests: through their agent links). */
void vsd_irq_period(struct vsd *d)
{
	int n = 0, nt;

	if (!d->irq_ready || irqctl_idle(&d->irq))
		return;
	n = linuxplat_rxq_sample(d->lx, d->rxs, VSD_IRQ_MAX_QUEUES);
	for (int i = 0; d->have_agents && i < d->agents.n && n < VSD_IRQ_MAX_QUEUES; i++)
		n += agentlink_rxq_sample(d->agents.link[i], &d->rxs[n]);
	nt = irqctl_step(&d->irq, d->rxs, n, d->rxt, VSD_IRQ_MAX_QUEUES);
	if (nt == 0)
		return;
	for (int i = 0; i < nt; i++) {
		const struct vs_rxq_target *t = &d->rxt[i];
		char what[128];
		if (t->set_rate)
			snprintf(what, sizeof(what), "rx-usecs %u", t->rx_usecs);
		else if (t->release)
			snprintf(what, sizeof(what), "its own setting back");
		else
			what[0] = '\0';
		if (t->set_fan)
			snprintf(what + strlen(what), sizeof(what) - strlen(what),
				 "%sfan-out %d CPU%s", what[0] ? ", " : "", t->fan_n,
				 t->fan_n == 1 ? "" : "s");
		if (t->site == VS_RXQ_HOST) {
			char q[16] = "";
			if (t->queue >= 0)
				snprintf(q, sizeof(q), " rx-%d", t->queue);
			log_debug("interrupt rate: host %s%s: %s", t->ifname, q, what);
			continue;
		}
		struct agentlink *l =
			d->have_agents ? agentlinks_find(&d->agents, t->workload) : NULL;
		if (!l)
			continue;
		if (d->opt.dry_run) {
			log_info("dry-run: would ask the agent of %s: %s %s", t->workload,
				 t->ifname, what);
			continue;
		}
		log_debug("interrupt rate: guest %s %s: %s", t->workload, t->ifname, what);
		agentlink_rxq_apply(l, t);
	}
	if (linuxplat_rxq_apply(d->lx, d->rxt, nt) < 0)
		d->irq_apply_errors++;
}

/* ---- requests, status, explain, metrics ------------------------------------------------------ */

json_t *vsd_irq_set(struct vsd *d, json_t *req, char *err, size_t errlen)
{
	const char *value = json_string_value(json_object_get(req, "value"));
	const char *wl = json_string_value(json_object_get(req, "workload"));
	char perr[256];

	if (!value) {
		snprintf(err, errlen,
			 "set irq_policy: missing \"value\" (off, fir, cgr, air; for a workload "
			 "also inherit)");
		return NULL;
	}
	if (wl && wl[0]) {
		bool lc = false;
		for (int i = 0; i < d->cfg.n_wl; i++)
			lc |= d->cfg.wl[i].lc && !strcmp(d->cfg.wl[i].name, wl);
		if (!lc) {
			snprintf(err, errlen, "set irq_policy: unknown LC workload \"%s\"", wl);
			return NULL;
		}
	}
	if (!d->irq_ready || irqctl_set_policy(&d->irq, wl, value, perr, sizeof(perr)) < 0) {
		snprintf(err, errlen, "set irq_policy: %s",
			 d->irq_ready ? perr : "interrupt-rate control is not running");
		return NULL;
	}
	if (wl && wl[0]) {
		log_info("workload %s: irq_policy set to %s by request", wl, value);
		return json_pack("{s:s,s:s}", "workload", wl, "irq_policy",
				 irqctl_override_name(&d->irq, wl));
	}
	log_info("irq_policy set to %s by request", value);
	return json_pack("{s:s}", "irq_policy", d->irq.policy ? d->irq.policy->name : "off");
}

json_t *vsd_irq_status(const struct vsd *d)
{
	const struct vs_irqctl *c = &d->irq;
	json_t *o, *qs = json_array(), *ovr = json_object();

	if (!d->irq_ready)
		return json_null();
	for (int i = 0; i < c->n_ovr; i++)
		json_object_set_new(ovr, c->ovr[i].workload,
				    json_string(irqctl_override_name(c, c->ovr[i].workload)));
	for (int i = 0; i < c->n_q; i++) {
		const struct vs_irqctl_queue *q = &c->q[i];
		char label[96];
		irqctl_queue_label(q, label, sizeof(label));
		json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "queue", label, "site",
				      q->site == VS_RXQ_HOST ? "host" : "guest", "workload",
				      q->workload, "ifname", q->ifname, "index",
				      q->queue >= 0 ? json_integer(q->queue) : json_null(),
				      "policy", q->policy ? q->policy->name : "off");
		if (!q->coalesce_ok)
			json_object_set_new(j, "unsupported", json_string(q->unsupported));
		json_object_set_new(j, "rate_per_s",
				    q->rate_per_s > 0 ? json_real(q->rate_per_s) : json_null());
		json_object_set_new(j, "rx_usecs",
				    q->rx_usecs > 0 ? json_integer(q->rx_usecs) : json_null());
		if (q->has_decision) {
			const struct vs_irq_sample *s = &q->last_s;
			double secs = s->period_s > 0 ? s->period_s : 1;
			json_object_set_new(
				j, "measured",
				json_pack("{s:f,s:f,s:f,s:f,s:f}", "period_s", s->period_s,
					  "packets_per_s", (double)s->packets / secs, "mean_bytes",
					  s->packets ? (double)s->bytes / (double)s->packets : 0.0,
					  "interrupts_per_s", (double)s->interrupts / secs,
					  "busy_cores", s->busy_cores));
			if (q->last.cls != IRQ_CLASS_NONE)
				json_object_set_new(j, "class",
						    json_string(irq_class_name(q->last.cls)));
			if (q->policy == &irq_policy_air)
				json_object_set_new(j, "air",
						    json_pack("{s:f,s:f,s:f}", "raw_per_s",
							      q->last.air_raw_per_s, "ihat_per_s",
							      q->last.air_ihat_per_s, "want_per_s",
							      q->last.air_want_per_s));
			json_object_set_new(j, "why", json_string(q->last.why));
		}
		if (q->has_fan)
			json_object_set_new(
				j, "fanout",
				json_pack("{s:i,s:s}", "cpus", q->fan_n, "why", q->fan_last.why));
		json_object_set_new(j, "changes", json_integer((json_int_t)q->changes));
		json_array_append_new(qs, j);
	}
	o = json_pack("{s:s,s:b,s:o,s:s,s:I,s:o}", "policy", c->policy ? c->policy->name : "off",
		      "fanout", c->fanout, "overrides", ovr, "calibration", d->irq_cal_note,
		      "apply_errors", (json_int_t)d->irq_apply_errors, "queues", qs);
	json_object_set_new(
		o, "params",
		json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "fir_per_s", c->params.fir_per_s,
			  "air_k", c->params.air_k, "air_c_pkt_ns", c->params.air_c_pkt_ns,
			  "air_c_int_ns", c->params.air_c_int_ns, "air_capacity_cores",
			  c->params.air_capacity_cores, "air_offset_per_s",
			  c->params.air_offset_per_s, "air_min_per_s", c->params.air_min_per_s,
			  "air_hysteresis_per_s", c->params.air_hysteresis_per_s));
	return o;
}

size_t vsd_irq_explain(const struct vsd *d, char *buf, size_t len)
{
	size_t n;

	if (len)
		buf[0] = '\0';
	if (!d->irq_ready || (irqctl_idle(&d->irq) && d->irq.n_q == 0))
		return 0;
	n = irqctl_explain(&d->irq, buf, len);
	if (d->irq.policy == &irq_policy_air || d->irq.n_ovr > 0)
		str_appendf(buf, len, &n,
			    "  air: k %g, offset %g, I_min %g, hysteresis %g int/s, C "
			    "%g cores; %s\n",
			    d->irq.params.air_k, d->irq.params.air_offset_per_s,
			    d->irq.params.air_min_per_s, d->irq.params.air_hysteresis_per_s,
			    d->irq.params.air_capacity_cores, d->irq_cal_note);
	return n;
}

void vsd_irq_metrics(const struct vsd *d, struct metrics_buf *b)
{
	const struct vs_irqctl *c = &d->irq;

	if (!d->irq_ready || c->n_q == 0)
		return;
	metrics_printf(b, "# HELP vspace_irq_rate_per_second Interrupt rate vspace set on a NIC "
			  "receive queue (0: the driver's own).\n"
			  "# TYPE vspace_irq_rate_per_second gauge\n");
	for (int i = 0; i < c->n_q; i++) {
		char label[96];
		irqctl_queue_label(&c->q[i], label, sizeof(label));
		metrics_printf(b, "vspace_irq_rate_per_second{queue=\"%s\",policy=\"%s\"} %.1f\n",
			       label, c->q[i].policy ? c->q[i].policy->name : "off",
			       c->q[i].rate_per_s);
	}
	metrics_printf(b, "# HELP vspace_irq_interrupts_per_second Interrupts a NIC receive queue "
			  "raised in the last measured period.\n"
			  "# TYPE vspace_irq_interrupts_per_second gauge\n"
			  "# HELP vspace_irq_packets_per_second Packets it received then.\n"
			  "# TYPE vspace_irq_packets_per_second gauge\n");
	for (int i = 0; i < c->n_q; i++) {
		const struct vs_irqctl_queue *q = &c->q[i];
		char label[96];
		double secs = q->last_s.period_s > 0 ? q->last_s.period_s : 1;
		if (!q->has_decision)
			continue;
		irqctl_queue_label(q, label, sizeof(label));
		metrics_printf(b,
			       "vspace_irq_interrupts_per_second{queue=\"%s\"} %.1f\n"
			       "vspace_irq_packets_per_second{queue=\"%s\"} %.1f\n",
			       label, (double)q->last_s.interrupts / secs, label,
			       (double)q->last_s.packets / secs);
	}
	metrics_printf(b, "# HELP vspace_irq_rate_changes_total Interrupt rates written.\n"
			  "# TYPE vspace_irq_rate_changes_total counter\n");
	for (int i = 0; i < c->n_q; i++) {
		char label[96];
		irqctl_queue_label(&c->q[i], label, sizeof(label));
		metrics_printf(b, "vspace_irq_rate_changes_total{queue=\"%s\"} %llu\n", label,
			       (unsigned long long)c->q[i].changes);
	}
	metrics_printf(b, "# HELP vspace_irq_coalesce_supported 1 when the queue's driver takes "
			  "coalescing settings.\n# TYPE vspace_irq_coalesce_supported gauge\n");
	for (int i = 0; i < c->n_q; i++) {
		char label[96];
		irqctl_queue_label(&c->q[i], label, sizeof(label));
		metrics_printf(b, "vspace_irq_coalesce_supported{queue=\"%s\"} %d\n", label,
			       c->q[i].coalesce_ok);
	}
	if (c->fanout) {
		metrics_printf(b, "# HELP vspace_irq_fanout_cpus CPUs sharing a queue's receive "
				  "work (RPS/RFS).\n# TYPE vspace_irq_fanout_cpus gauge\n");
		for (int i = 0; i < c->n_q; i++) {
			char label[96];
			if (!c->q[i].has_fan)
				continue;
			irqctl_queue_label(&c->q[i], label, sizeof(label));
			metrics_printf(b, "vspace_irq_fanout_cpus{queue=\"%s\"} %d\n", label,
				       c->q[i].fan_n);
		}
	}
}
