/* request.c - vspaced's control requests (status, explain, report, set, pause, resume) and policy switching. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon/vspaced.h"
#include "daemon/vspaced_int.h"
#include "lib/log.h"

/* ---- Policy ----------------------------------------------------------------------------- */

/* "P", "E", "R" (any case) or a policy name. */
int vsd_policy(struct vsd *d, const char *spec, struct vs_policy *pol, char *err, size_t errlen)
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

void vsd_policy_changed(struct vsd *d)
{
	/* demeter sizes from the vCPU threads' own run time */
	linuxplat_set_thread_time(d->lx, d->ctl.policy.ops == &policy_demeter);
}

/* ---- Control requests ---------------------------------------------------------------------- */

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
		struct vs_thresholds th = d->ctl.wl[k].ex.th;
		char perr[256];
		if (has_v)
			th.vcpu = v1;
		if (has_n)
			th.nq = v2;
		if (controller_set_thresholds(&d->ctl, d->ctl.wl[k].name, &th, perr, sizeof(perr)) <
		    0) {
			snprintf(err, errlen, "set threshold: %s", perr);
			return NULL;
		}
		log_info("workload %s: thresholds set to vcpu %.3f nq %.3f by request",
			 d->ctl.wl[k].name, d->ctl.wl[k].ex.th.vcpu, d->ctl.wl[k].ex.th.nq);
		return json_pack("{s:s,s:f,s:f}", "workload", d->ctl.wl[k].name, "vcpu",
				 d->ctl.wl[k].ex.th.vcpu, "nq", d->ctl.wl[k].ex.th.nq);
	}
	if (!strcmp(what, "slo")) {
		k = vsd_req_workload(d, req, err, errlen);
		if (k < 0)
			return NULL;
		if (!vsd_num(req, "p95_us", 1, 1e9, &v1, err, errlen, true) ||
		    controller_set_slo(&d->ctl, d->ctl.wl[k].name, v1, err, errlen) < 0)
			return NULL;
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
		controller_set_hold(&d->ctl, hold);
		return json_pack("{s:b}", "paused", hold);
	}
	if (!strcmp(cmd, "vf")) {
		if (!d->have_vf) {
			snprintf(err, errlen, "vf: FlexVF is off (no [vf] section in %s)",
				 d->cfg.path);
			return NULL;
		}
		return vfm_request(&d->vf, req, vsd_now(), err, errlen);
	}
	snprintf(err, errlen,
		 "unknown cmd \"%s\" (known: status, explain, report, set, pause, resume, vf)",
		 cmd);
	return NULL;
}
