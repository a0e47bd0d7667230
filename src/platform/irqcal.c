/* irqcal.c - the interrupt-rate calibration file: parse and format (C_pkt, C_int and how they were measured). */
#include "platform/irqcal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"

/* Largest cost accepted, ns: one second per packet or interrupt is a broken
 * measurement, not a slow host. */
#define IRQCAL_COST_MAX_NS 1e9

static const char *const irqcal_keys[] = { "version",	   "c_pkt_ns", "c_int_ns",
					   "residual_pct", "runs",     "ifname",
					   "source",	   "time",     NULL };

static int irqcal_cost(const json_t *root, const char *key, double *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, key);

	if (!v) {
		snprintf(err, errlen, "missing \"%s\"", key);
		return -1;
	}
	if (!json_is_number(v) || !(json_number_value(v) > 0) ||
	    json_number_value(v) > IRQCAL_COST_MAX_NS) {
		snprintf(err, errlen, "\"%s\" must be a number in (0, %g] ns", key,
			 IRQCAL_COST_MAX_NS);
		return -1;
	}
	*out = json_number_value(v);
	return 0;
}

static int irqcal_text(const json_t *root, const char *key, char *dst, size_t len, char *err,
		       size_t errlen)
{
	const json_t *v = json_object_get(root, key);

	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) >= len) {
		snprintf(err, errlen, "\"%s\" must be a string of at most %zu bytes", key, len - 1);
		return -1;
	}
	str_copy(dst, json_string_value(v), len);
	return 0;
}

int irqcal_parse(const char *text, size_t len, struct vs_irqcal *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->residual_pct = -1;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "not a JSON object (line %d: %s)", jerr.line, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		bool known = false;
		for (int i = 0; irqcal_keys[i]; i++)
			known = known || strcmp(key, irqcal_keys[i]) == 0;
		if (!known) {
			snprintf(err, errlen, "unknown field \"%.40s\"", key);
			goto out;
		}
	}
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != IRQCAL_VERSION) {
		snprintf(err, errlen, "\"version\" must be %d", IRQCAL_VERSION);
		goto out;
	}
	if (irqcal_cost(root, "c_pkt_ns", &out->c_pkt_ns, err, errlen) < 0 ||
	    irqcal_cost(root, "c_int_ns", &out->c_int_ns, err, errlen) < 0)
		goto out;
	v = json_object_get(root, "residual_pct");
	if (v) {
		if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
		    json_number_value(v) > 1e6) {
			snprintf(err, errlen, "\"residual_pct\" must be a number >= 0");
			goto out;
		}
		out->residual_pct = json_number_value(v);
	}
	v = json_object_get(root, "runs");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 2 ||
		    json_integer_value(v) > 1000) {
			snprintf(err, errlen, "\"runs\" must be an integer in 2..1000");
			goto out;
		}
		out->runs = (int)json_integer_value(v);
	}
	if (irqcal_text(root, "ifname", out->ifname, sizeof(out->ifname), err, errlen) < 0 ||
	    irqcal_text(root, "source", out->source, sizeof(out->source), err, errlen) < 0 ||
	    irqcal_text(root, "time", out->time, sizeof(out->time), err, errlen) < 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

char *irqcal_format(const struct vs_irqcal *c)
{
	json_t *o = json_pack("{s:i,s:f,s:f}", "version", IRQCAL_VERSION, "c_pkt_ns", c->c_pkt_ns,
			      "c_int_ns", c->c_int_ns);
	char *text, *line;

	if (!o)
		return NULL;
	if (c->residual_pct >= 0)
		json_object_set_new(o, "residual_pct",
				    json_real(round(c->residual_pct * 100) / 100));
	if (c->runs > 0)
		json_object_set_new(o, "runs", json_integer(c->runs));
	if (c->ifname[0])
		json_object_set_new(o, "ifname", json_string(c->ifname));
	if (c->source[0])
		json_object_set_new(o, "source", json_string(c->source));
	if (c->time[0])
		json_object_set_new(o, "time", json_string(c->time));
	text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(1));
	json_decref(o);
	if (!text)
		return NULL;
	line = malloc(strlen(text) + 2);
	if (line)
		snprintf(line, strlen(text) + 2, "%s\n", text);
	free(text);
	return line;
}

int irqcal_fit(const double *packets, const double *irqs, const double *busy_ms, int n,
	       double *c_pkt_ns, double *c_int_ns, double *rms_ms, double *rms_pct, double *fit_ms)
{
	double sxx = 0, sxy = 0, syy = 0, sxz = 0, syz = 0, ss = 0, mean = 0, a, b;

	if (n < 2)
		return -1;
	for (int i = 0; i < n; i++) {
		double x = packets[i], y = irqs[i], z = busy_ms[i];
		sxx += x * x;
		sxy += x * y;
		syy += y * y;
		sxz += x * z;
		syz += y * z;
	}
	double det = sxx * syy - sxy * sxy;
	/* proportional columns (or an empty one) leave the costs undetermined */
	if (!(det > 1e-9 * sxx * syy))
		return -1;
	a = (sxz * syy - syz * sxy) / det; /* ms per packet */
	b = (syz * sxx - sxz * sxy) / det; /* ms per interrupt */
	for (int i = 0; i < n; i++) {
		double f = a * packets[i] + b * irqs[i], e = busy_ms[i] - f;
		if (fit_ms)
			fit_ms[i] = f;
		ss += e * e;
		mean += busy_ms[i] / n;
	}
	*c_pkt_ns = a * 1e6;
	*c_int_ns = b * 1e6;
	*rms_ms = sqrt(ss / n);
	*rms_pct = mean > 0 ? 100 * *rms_ms / mean : -1;
	return 0;
}
