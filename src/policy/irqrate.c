/* irqrate.c - interrupt-rate policies FIR, CGR, AIR and the receive fan-out decision (SPEC §7.1). */
#include "policy/irqrate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"

void irq_params_defaults(struct vs_irq_params *p)
{
	*p = (struct vs_irq_params){
		.fir_per_s = 8000,
		.air_k = 32,
		.air_c_pkt_ns = 2000,
		.air_c_int_ns = 6000,
		.air_capacity_cores = 1,
		.air_offset_per_s = 1000,
		.air_min_per_s = 1000,
		.air_hysteresis_per_s = 1000,
	};
}

/* Highest rate accepted anywhere: rx-usecs 1. */
#define IRQ_MAX_PER_S 1e6

int irq_params_check(const struct vs_irq_params *p, char *err, size_t errlen)
{
	const struct {
		const char *name;
		double v, lo, hi;
	} r[] = {
		{ "fir rate", p->fir_per_s, 1, IRQ_MAX_PER_S },
		{ "air k", p->air_k, 1, 1e6 },
		{ "air c_pkt_ns", p->air_c_pkt_ns, 1e-3, 1e9 },
		{ "air c_int_ns", p->air_c_int_ns, 1e-3, 1e9 },
		{ "air capacity_cores", p->air_capacity_cores, 1e-3, 4096 },
		{ "air offset", p->air_offset_per_s, 0, IRQ_MAX_PER_S },
		{ "air min", p->air_min_per_s, 1, IRQ_MAX_PER_S },
		{ "air hysteresis", p->air_hysteresis_per_s, 0, IRQ_MAX_PER_S },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (!(r[i].v >= r[i].lo && r[i].v <= r[i].hi)) {
			snprintf(err, errlen, "%s %g is outside [%g, %g]", r[i].name, r[i].v,
				 r[i].lo, r[i].hi);
			return -1;
		}
	return 0;
}

const char *irq_class_name(enum irq_class c)
{
	switch (c) {
	case IRQ_CLASS_BULK:
		return "full-bulk";
	case IRQ_CLASS_MID:
		return "intermediate";
	case IRQ_CLASS_SENSITIVE:
		return "latency-sensitive";
	case IRQ_CLASS_CRITICAL:
		return "latency-critical";
	case IRQ_CLASS_NONE:
		break;
	}
	return "-";
}

uint32_t irq_rx_usecs(double rate_per_s)
{
	double us = rate_per_s > 0 ? 1e6 / rate_per_s : 1e6;

	if (us < 1)
		return 1;
	if (us > 1e6)
		return 1000000;
	return (uint32_t)lround(us);
}

/* Fill the common fields: a target rate, applied when it differs. */
static void irq_set(const struct vs_irq_in *in, double target, struct vs_irq_decision *out)
{
	out->rate_per_s = target;
	out->rx_usecs = irq_rx_usecs(target);
	out->change = target != in->current_per_s;
}

static void irq_fir_decide(const struct vs_irq_in *in, struct vs_irq_decision *out)
{
	memset(out, 0, sizeof(*out));
	irq_set(in, in->params->fir_per_s, out);
	snprintf(out->why, sizeof(out->why), "fir: fixed %.0f int/s (rx-usecs %u)", out->rate_per_s,
		 out->rx_usecs);
}

enum irq_class irq_cgr_classify(const struct vs_irq_sample *s)
{
	double mean, pps;

	if (s->packets == 0 || !(s->period_s > 0))
		return IRQ_CLASS_CRITICAL; /* nothing arrived: sparse by definition */
	mean = (double)s->bytes / (double)s->packets;
	if (mean >= IRQ_CGR_BULK_MIN_BYTES)
		return IRQ_CLASS_BULK;
	if (mean >= IRQ_CGR_MID_MIN_BYTES)
		return IRQ_CLASS_MID;
	pps = (double)s->packets / s->period_s;
	return pps < IRQ_CGR_SPARSE_MAX_PPS ? IRQ_CLASS_CRITICAL : IRQ_CLASS_SENSITIVE;
}

static double irq_cgr_rate(enum irq_class c)
{
	switch (c) {
	case IRQ_CLASS_BULK:
		return IRQ_CGR_BULK_PER_S;
	case IRQ_CLASS_MID:
		return IRQ_CGR_MID_PER_S;
	case IRQ_CLASS_SENSITIVE:
		return IRQ_CGR_SENSITIVE_PER_S;
	case IRQ_CLASS_CRITICAL:
	case IRQ_CLASS_NONE:
		break;
	}
	return IRQ_CGR_CRITICAL_PER_S;
}

static void irq_cgr_decide(const struct vs_irq_in *in, struct vs_irq_decision *out)
{
	const struct vs_irq_sample *s = in->sample;

	memset(out, 0, sizeof(*out));
	out->cls = irq_cgr_classify(s);
	irq_set(in, irq_cgr_rate(out->cls), out);
	if (s->packets == 0) {
		snprintf(out->why, sizeof(out->why), "cgr: no packets -> %s %.0f int/s",
			 irq_class_name(out->cls), out->rate_per_s);
		return;
	}
	snprintf(out->why, sizeof(out->why), "cgr: mean %.1f B, %.0f pkt/s -> %s %.0f int/s",
		 (double)s->bytes / (double)s->packets,
		 s->period_s > 0 ? (double)s->packets / s->period_s : 0.0, irq_class_name(out->cls),
		 out->rate_per_s);
}

/* SPEC §7.1: I = B/(k·S) + offset clamped to [I_min, Î], Î = C/(C_pkt·k +
 * C_int); applied only when |I - I_current| >= hysteresis. */
static void irq_air_decide(const struct vs_irq_in *in, struct vs_irq_decision *out)
{
	const struct vs_irq_sample *s = in->sample;
	const struct vs_irq_params *p = in->params;
	double secs = s->period_s > 0 ? s->period_s : 1;
	double bw = (double)s->bytes / secs;				      /* B, bytes/s */
	double size = s->packets ? (double)s->bytes / (double)s->packets : 0; /* S */
	double raw, ihat, want;
	const char *clamp = "";

	memset(out, 0, sizeof(*out));
	/* B/(k·S) is the packet rate over k; with no packets it is 0 */
	raw = (size > 0 ? bw / (p->air_k * size) : 0) + p->air_offset_per_s;
	ihat = p->air_capacity_cores * 1e9 / (p->air_c_pkt_ns * p->air_k + p->air_c_int_ns);
	want = raw;
	if (want > ihat) {
		want = ihat;
		clamp = " (clamped to Ihat)";
	}
	if (want < p->air_min_per_s) {
		want = p->air_min_per_s; /* the floor wins when Î is below it */
		clamp = " (clamped to I_min)";
	}
	out->air_raw_per_s = raw;
	out->air_ihat_per_s = ihat;
	out->air_want_per_s = want;
	if (in->current_per_s > 0 && fabs(want - in->current_per_s) < p->air_hysteresis_per_s) {
		irq_set(in, in->current_per_s, out);
		snprintf(
			out->why, sizeof(out->why),
			"air: I=%.0f/(%g*%.1f)+%g=%.1f Ihat=%.1f -> %.1f%s; |%.1f-%.1f| < %g: hold",
			bw, p->air_k, size, p->air_offset_per_s, raw, ihat, want, clamp, want,
			in->current_per_s, p->air_hysteresis_per_s);
		return;
	}
	irq_set(in, want, out);
	snprintf(out->why, sizeof(out->why), "air: I=%.0f/(%g*%.1f)+%g=%.1f Ihat=%.1f -> %.1f%s",
		 bw, p->air_k, size, p->air_offset_per_s, raw, ihat, want, clamp);
}

const struct vs_irq_policy_ops irq_policy_fir = {
	.name = "fir",
	.summary = "fixed interrupt rate (8,000 int/s unless set)",
	.decide = irq_fir_decide,
};

const struct vs_irq_policy_ops irq_policy_cgr = {
	.name = "cgr",
	.summary = "rate by traffic class: mean packet size and sparseness (4k/8k/20k/100k)",
	.decide = irq_cgr_decide,
};

const struct vs_irq_policy_ops irq_policy_air = {
	.name = "air",
	.summary = "rate from the model I = B/(k*S) + offset within [I_min, C/(C_pkt*k + C_int)]",
	.decide = irq_air_decide,
};

static const struct vs_irq_policy_ops *const irq_policies[] = {
	&irq_policy_fir,
	&irq_policy_cgr,
	&irq_policy_air,
	NULL,
};

const struct vs_irq_policy_ops *const *irq_policy_all(void)
{
	return irq_policies;
}

const struct vs_irq_policy_ops *irq_policy_lookup(const char *name)
{
	for (int i = 0; irq_policies[i]; i++)
		if (strcmp(irq_policies[i]->name, name) == 0)
			return irq_policies[i];
	return NULL;
}

void irq_fanout_defaults(struct vs_fanout_params *p)
{
	*p = (struct vs_fanout_params){ .threshold = 0.8, .margin = 1.1 };
}

void irq_fanout_decide(const struct vs_fanout_params *p, double busy_rx_cores, int n_cur, int n_max,
		       struct vs_fanout_decision *out)
{
	double busy = busy_rx_cores > 0 ? busy_rx_cores : 0;
	int req = policy_ceil(busy / p->threshold), n;

	if (n_max < 1)
		n_max = 1;
	if (n_cur < 1)
		n_cur = 1;
	if (req < 1)
		req = 1;
	if (req >= n_cur) {
		n = req; /* grow at once */
	} else {
		int shrunk = policy_ceil(p->margin * busy / p->threshold);
		n = shrunk < n_cur ? (shrunk > req ? shrunk : req) : n_cur;
	}
	if (n > n_max)
		n = n_max;
	snprintf(out->why, sizeof(out->why),
		 "fanout: U_rx=%.3f over %d cpu(s), ceil(U/%.2f)=%d%s -> %d of %d", busy, n_cur,
		 p->threshold, req, req < n_cur ? " (shrink needs the margin)" : "", n, n_max);
	out->n = n;
}
