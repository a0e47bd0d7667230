/* controller.c - the control loop: sample -> explore -> decide -> place -> apply (SPEC §4). */
#include "control/controller.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/placer.h"
#include "lib/strutil.h"

static int controller_grow(struct vs_controller *c, int cap)
{
	struct vs_ctl_workload *wl;
	struct vs_wl_plan *pw, *nw;
	struct vs_sample *sw;
	const char **names;
	bool *present;
	struct vs_alloc *allocs;
	struct vs_decision *dec;

	if (cap <= c->cap_wl)
		return 0;
	wl = realloc(c->wl, sizeof(*wl) * (size_t)cap);
	if (wl)
		c->wl = wl;
	pw = realloc(c->plan.wl, sizeof(*pw) * (size_t)cap);
	if (pw)
		c->plan.wl = pw;
	nw = realloc(c->next.wl, sizeof(*nw) * (size_t)cap);
	if (nw)
		c->next.wl = nw;
	sw = realloc(c->hs.wl, sizeof(*sw) * (size_t)cap);
	if (sw)
		c->hs.wl = sw;
	names = realloc(c->hs_name, sizeof(*names) * (size_t)cap);
	if (names)
		c->hs_name = names;
	present = realloc(c->hs.present, sizeof(*present) * (size_t)cap);
	if (present)
		c->hs.present = present;
	allocs = realloc(c->allocs, sizeof(*allocs) * (size_t)cap);
	if (allocs)
		c->allocs = allocs;
	dec = realloc(c->dec, sizeof(*dec) * (size_t)cap);
	if (dec)
		c->dec = dec;
	if (!wl || !pw || !nw || !sw || !names || !present || !allocs || !dec)
		return -1;
	c->cap_wl = cap;
	return 0;
}

int controller_init(struct vs_controller *c, const struct vs_policy *pol,
		    const struct vs_params *params, const struct vs_topology *topo,
		    struct vs_platform *plat, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (vs_params_check(params, err, errlen) < 0)
		return -1;
	c->policy = *pol;
	c->params = *params;
	c->topo = *topo;
	c->n_cores = cpuset_count(&topo->managed);
	c->plat = plat;
	if (c->n_cores < 1) {
		snprintf(err, errlen, "no cores to manage");
		return -1;
	}
	if (controller_grow(c, 4) < 0) {
		snprintf(err, errlen, "out of memory");
		controller_free(c);
		return -1;
	}
	return 0;
}

void controller_free(struct vs_controller *c)
{
	for (int i = 0; i < c->n_wl; i++)
		explore_free(&c->wl[i].ex);
	free(c->wl);
	free(c->plan.wl);
	free(c->next.wl);
	free(c->hs.wl);
	free(c->hs_name);
	free(c->hs.present);
	free(c->waiting);
	free(c->allocs);
	free(c->dec);
	memset(c, 0, sizeof(*c));
}

int controller_add_workload(struct vs_controller *c, const char *name, double slo_p95_us, char *err,
			    size_t errlen)
{
	struct vs_ctl_workload *w;
	int groups = 0;

	if (controller_find_workload(c, name) >= 0) {
		snprintf(err, errlen, "workload \"%s\" already exists", name);
		return -1;
	}
	if (strlen(name) >= VS_WORKLOAD_NAME_MAX) {
		snprintf(err, errlen, "workload name \"%.20s...\" is longer than %d characters",
			 name, VS_WORKLOAD_NAME_MAX - 1);
		return -1;
	}
	groups = 2 * (c->n_wl + 1);
	if (groups > c->n_cores) {
		snprintf(err, errlen,
			 "workload \"%s\": %d LC workloads need at least %d cores, only %d managed",
			 name, c->n_wl + 1, groups, c->n_cores);
		return -1;
	}
	if (c->n_wl == c->cap_wl && controller_grow(c, c->cap_wl * 2) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w = &c->wl[c->n_wl];
	memset(w, 0, sizeof(*w));
	str_copy(w->name, name, sizeof(w->name));
	w->slo_p95_us = slo_p95_us;
	if (explore_init(&w->ex, &c->params) < 0) {
		snprintf(err, errlen, "out of memory for a window of %d samples", c->params.window);
		return -1;
	}
	memset(&c->plan.wl[c->n_wl], 0, sizeof(c->plan.wl[0]));
	str_copy(c->plan.wl[c->n_wl].name, name, sizeof(c->plan.wl[0].name));
	c->plan.wl[c->n_wl].alloc = (struct vs_alloc){ .layout = VS_LAYOUT_ISOLATED };
	return c->n_wl++;
}

void controller_remove_workload(struct vs_controller *c, int i)
{
	if (i < 0 || i >= c->n_wl)
		return;
	explore_free(&c->wl[i].ex);
	memmove(&c->wl[i], &c->wl[i + 1], sizeof(c->wl[0]) * (size_t)(c->n_wl - i - 1));
	memmove(&c->plan.wl[i], &c->plan.wl[i + 1],
		sizeof(c->plan.wl[0]) * (size_t)(c->n_wl - i - 1));
	c->n_wl--;
	if (c->plan.n_workloads > c->n_wl)
		c->plan.n_workloads = c->n_wl;
}

int controller_find_workload(const struct vs_controller *c, const char *name)
{
	for (int i = 0; i < c->n_wl; i++)
		if (strcmp(c->wl[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- Reconcile: discovery's report -> the workloads -------------------------------------- */

static int controller_find_waiting(const struct vs_controller *c, const char *name)
{
	for (int i = 0; i < c->n_waiting; i++)
		if (strcmp(c->waiting[i].wl.name, name) == 0)
			return i;
	return -1;
}

static void controller_drop_waiting(struct vs_controller *c, int i)
{
	memmove(&c->waiting[i], &c->waiting[i + 1],
		sizeof(c->waiting[0]) * (size_t)(c->n_waiting - i - 1));
	c->n_waiting--;
}

/* Queue a reported workload for admission; 0, or -1 when out of memory. */
static int controller_queue(struct vs_controller *c, const struct vs_wl_report *r)
{
	if (c->n_waiting == c->cap_waiting) {
		int cap = c->cap_waiting ? 2 * c->cap_waiting : 4;
		struct vs_ctl_waiting *w = realloc(c->waiting, sizeof(*w) * (size_t)cap);
		if (!w)
			return -1;
		c->waiting = w;
		c->cap_waiting = cap;
	}
	c->waiting[c->n_waiting++] = (struct vs_ctl_waiting){ .wl = *r };
	return 0;
}

int controller_reconcile(struct vs_controller *c, const struct vs_discovery *d,
			 vs_reconcile_note_fn *note, void *arg)
{
	char err[256];
	int added = 0;

	for (int i = 0; i < d->n_vanished; i++) {
		const struct vs_wl_report *r = &d->vanished[i];
		int k = controller_find_workload(c, r->name);
		if (k >= 0) {
			controller_remove_workload(c, k);
			if (note)
				note(arg, VS_RECONCILE_DROPPED, r, r->found);
		} else if ((k = controller_find_waiting(c, r->name)) >= 0) {
			controller_drop_waiting(c, k);
		}
	}
	for (int i = 0; i < d->n_appeared; i++) {
		const struct vs_wl_report *r = &d->appeared[i];
		if (controller_find_workload(c, r->name) >= 0 ||
		    controller_find_waiting(c, r->name) >= 0)
			continue;
		if (controller_queue(c, r) < 0 && note)
			note(arg, VS_RECONCILE_REFUSED, r, "out of memory");
	}
	for (int i = 0; i < c->n_waiting;) {
		struct vs_ctl_waiting *w = &c->waiting[i];
		if (controller_add_workload(c, w->wl.name, w->wl.slo_p95_us, err, sizeof(err)) <
		    0) {
			if (!w->noted && note)
				note(arg, VS_RECONCILE_REFUSED, &w->wl, err);
			w->noted = true;
			i++;
			continue;
		}
		added++;
		if (note)
			note(arg, VS_RECONCILE_ADDED, &w->wl, w->wl.found);
		controller_drop_waiting(c, i);
	}
	return added;
}

/* A workload's first decision: its fair share of the cores, split in half. */
static void controller_first_decision(const struct vs_controller *c, struct vs_decision *d)
{
	int share = c->n_cores / (c->n_wl > 0 ? c->n_wl : 1);

	if (share < 2)
		share = 2;
	memset(d, 0, sizeof(*d));
	d->alloc = vs_alloc_initial(share);
	d->want_vcpu = d->alloc.n_vcpu;
	d->want_nq = d->alloc.n_nq;
	snprintf(d->why, sizeof(d->why), "first allocation: %d cores split in half: %d+%d", share,
		 d->alloc.n_vcpu, d->alloc.n_nq);
}

/* Arbitrate the decisions in c->dec, place them, apply the plan. */
static int controller_place_apply(struct vs_controller *c)
{
	char err[256];

	if (policy_arbitrate(&c->policy, c->n_cores, c->dec, c->n_wl, err, sizeof(err)) < 0)
		goto fail;
	for (int i = 0; i < c->n_wl; i++)
		c->allocs[i] = c->dec[i].alloc;
	if (placer_place(&c->topo, &c->plan, c->allocs, c->n_wl, &c->next, err, sizeof(err)) < 0)
		goto fail;
	for (int i = 0; i < c->n_wl; i++)
		str_copy(c->next.wl[i].name, c->wl[i].name, sizeof(c->next.wl[i].name));
	c->next.seq = c->plan.seq + 1;
	if (c->plat && c->plat->ops->apply && c->plat->ops->apply(c->plat, &c->next) < 0)
		c->apply_errors++;
	/* the new plan is in force */
	struct vs_plan tmp = c->plan;
	c->plan = c->next;
	c->next = tmp;
	for (int i = 0; i < c->n_wl; i++) {
		c->wl[i].decision = c->dec[i];
		c->wl[i].placed = true;
	}
	c->last_error[0] = '\0';
	return 0;
fail:
	str_copy(c->last_error, err, sizeof(c->last_error));
	return -1;
}

int controller_start(struct vs_controller *c)
{
	bool need = false;

	for (int i = 0; i < c->n_wl; i++) {
		if (c->wl[i].placed) {
			c->dec[i] = c->wl[i].decision;
			c->dec[i].alloc = c->plan.wl[i].alloc;
		} else {
			controller_first_decision(c, &c->dec[i]);
			need = true;
		}
	}
	if (!need)
		return 0;
	return controller_place_apply(c);
}

/* Per-core utilization of a period: busy time over the cores the group had. */
static struct vs_explore_sample controller_util(const struct vs_sample *s, const struct vs_alloc *a)
{
	struct vs_explore_sample u = { .p95_us = s->has_p95 ? s->p95_us : NAN };

	u.u_vcpu = a->n_vcpu > 0 ? s->busy_vcpu / a->n_vcpu : 0;
	u.u_nq = a->n_nq > 0 ? s->busy_nq / a->n_nq : 0;
	return u;
}

int controller_step(struct vs_controller *c)
{
	/* sample */
	c->hs.n_workloads = c->n_wl;
	c->hs.name = c->hs_name;
	c->hs.period_s = 0;
	c->hs.has_energy = false;
	c->hs.energy_j = 0;
	for (int i = 0; i < c->n_wl; i++) {
		memset(&c->hs.wl[i], 0, sizeof(c->hs.wl[i]));
		c->hs_name[i] = c->wl[i].name;
		c->hs.present[i] = true;
	}
	c->periods++;
	if (c->plat && c->plat->ops->sample(c->plat, &c->hs) < 0) {
		c->skipped++;
		return 1;
	}

	/* explore */
	for (int i = 0; i < c->n_wl; i++) {
		struct vs_ctl_workload *w = &c->wl[i];
		if (!c->hs.present[i] || !w->placed)
			continue;
		w->last = c->hs.wl[i];
		w->last_u = controller_util(&w->last, &c->plan.wl[i].alloc);
		w->has_sample = true;
		if (c->policy.ops->uses_thresholds)
			explore_record(&w->ex, &c->params, w->slo_p95_us, w->last.has_p95,
				       &w->last_u, NULL);
	}
	if (c->hold)
		return 0;

	/* decide */
	for (int i = 0; i < c->n_wl; i++) {
		struct vs_ctl_workload *w = &c->wl[i];
		struct vs_decide_in in = {
			.sample = &w->last,
			.prev = &c->plan.wl[i].alloc,
			.th = w->ex.th,
			.n_cores = c->n_cores,
			.slo_p95_us = w->slo_p95_us,
			.params = &c->params,
		};

		if (!w->placed) {
			controller_first_decision(c, &c->dec[i]);
			continue;
		}
		if (!c->hs.present[i]) {
			c->dec[i] = w->decision;
			c->dec[i].alloc = c->plan.wl[i].alloc;
			continue;
		}
		memset(&c->dec[i], 0, sizeof(c->dec[i]));
		c->policy.ops->decide(&c->policy, &in, &c->dec[i]);
	}

	/* place, apply */
	return controller_place_apply(c) < 0 ? -1 : 0;
}

int controller_set_policy(struct vs_controller *c, const struct vs_policy *pol, char *err,
			  size_t errlen)
{
	if (2 * c->n_wl > c->n_cores && pol->ops != c->policy.ops) {
		snprintf(err, errlen, "%d workloads do not fit %d cores", c->n_wl, c->n_cores);
		return -1;
	}
	c->policy = *pol;
	return 0;
}

int controller_set_thresholds(struct vs_controller *c, const char *name,
			      const struct vs_thresholds *th, char *err, size_t errlen)
{
	int k = controller_find_workload(c, name);

	if (k < 0) {
		snprintf(err, errlen, "no workload \"%s\"", name);
		return -1;
	}
	if (!(th->vcpu > 0 && th->vcpu <= 1 && th->nq > 0 && th->nq <= 1)) {
		snprintf(err, errlen, "thresholds vcpu %g nq %g: each must be in (0, 1]", th->vcpu,
			 th->nq);
		return -1;
	}
	c->wl[k].ex.th = *th;
	return 0;
}

int controller_set_slo(struct vs_controller *c, const char *name, double slo_p95_us, char *err,
		       size_t errlen)
{
	int k = controller_find_workload(c, name);

	if (k < 0) {
		snprintf(err, errlen, "no workload \"%s\"", name);
		return -1;
	}
	if (!(slo_p95_us >= 0 && isfinite(slo_p95_us))) {
		snprintf(err, errlen, "SLO %g us: must be 0 (none) or a positive latency",
			 slo_p95_us);
		return -1;
	}
	c->wl[k].slo_p95_us = slo_p95_us;
	return 0;
}

void controller_set_hold(struct vs_controller *c, bool hold)
{
	c->hold = hold;
}

size_t controller_explain(const struct vs_controller *c, char *buf, size_t len)
{
	size_t n = 0;

	if (len > 0)
		buf[0] = '\0';
	str_appendf(buf, len, &n, "policy %s, %d cores, period %llu (plan %llu)%s\n",
		    c->policy.spec, c->n_cores, (unsigned long long)c->periods,
		    (unsigned long long)c->plan.seq, c->hold ? ", paused" : "");
	if (c->last_error[0])
		str_appendf(buf, len, &n, "last error: %s\n", c->last_error);
	for (int i = 0; i < c->n_wl; i++) {
		const struct vs_ctl_workload *w = &c->wl[i];
		const struct vs_alloc *a = &c->plan.wl[i].alloc;
		char vc[256], nc[256];

		cpuset_format_list(&c->plan.wl[i].vcpu_cores, vc, sizeof(vc));
		cpuset_format_list(&c->plan.wl[i].nq_cores, nc, sizeof(nc));
		str_appendf(buf, len, &n,
			    "workload %s: vcpu cores %s (%d) nq cores %s (%d) vcpus %d queues %d\n",
			    w->name, vc, a->n_vcpu, nc, a->n_nq, a->vcpus, a->queues);
		if (w->has_sample) {
			str_appendf(buf, len, &n, "  sample: U_v %.3f U_n %.3f u_v %.3f u_n %.3f",
				    w->last.busy_vcpu, w->last.busy_nq, w->last_u.u_vcpu,
				    w->last_u.u_nq);
			if (w->last.has_halt_poll)
				str_appendf(buf, len, &n,
					    " (U_v = busy %.3f - KVM halt polling %.3f)",
					    w->last.busy_vcpu_raw, w->last.halt_poll_vcpu);
			if (w->last.has_p95)
				str_appendf(buf, len, &n, " p95 %.0f us (SLO %.0f)\n",
					    w->last.p95_us, w->slo_p95_us);
			else
				str_appendf(buf, len, &n, " p95 unknown\n");
		}
		str_appendf(buf, len, &n,
			    "  thresholds: vcpu %.3f nq %.3f (%lu windows, %d/%d samples%s)\n",
			    w->ex.th.vcpu, w->ex.th.nq, w->ex.windows, w->ex.n, w->ex.cap,
			    w->ex.frozen ? ", frozen" : "");
		if (w->ex.windows > 0)
			str_appendf(buf, len, &n,
				    "  last window: %s, %d of %d samples over SLO (%d allowed), "
				    "vcpu %.3f->%.3f nq %.3f->%.3f\n",
				    explore_action_name(w->ex.last.action), w->ex.last.n_violations,
				    w->ex.last.n_samples, w->ex.last.allowed,
				    w->ex.last.before.vcpu, w->ex.last.after.vcpu,
				    w->ex.last.before.nq, w->ex.last.after.nq);
		str_appendf(buf, len, &n, "  why: %s\n", w->decision.why);
	}
	if (c->n_wl > 0) {
		char bc[256];
		cpuset_format_list(&c->plan.be_cores, bc, sizeof(bc));
		str_appendf(buf, len, &n, "best-effort: cores %s (%d)%s\n", bc[0] ? bc : "-",
			    cpuset_count(&c->plan.be_cores), c->plan.be_paused ? ", paused" : "");
	}
	return n;
}
