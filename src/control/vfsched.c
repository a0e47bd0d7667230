/* vfsched.c - the FlexVF decision loop's memory: the VMs by name, what each held, one decision per interval. */
#include "control/vfsched.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"

int vf_sched_init(struct vf_sched *s, const struct vf_policy_ops *ops,
		  const struct vf_params *params, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (vf_params_check(params, err, errlen) < 0)
		return -1;
	s->ops = ops;
	s->params = *params;
	s->vm = calloc(VF_MAX_VMS, sizeof(s->vm[0]));
	if (!s->vm) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void vf_sched_free(struct vf_sched *s)
{
	free(s->vm);
	s->vm = NULL;
	s->n = 0;
}

int vf_sched_find(const struct vf_sched *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->vm[i].name, name) == 0)
			return i;
	return -1;
}

int vf_sched_add(struct vf_sched *s, const char *name, char *err, size_t errlen)
{
	int i = vf_sched_find(s, name);

	if (i >= 0)
		return i;
	if (!name[0] || strlen(name) >= VF_NAME_MAX) {
		snprintf(err, errlen, "VM name \"%.40s\" is empty or longer than %d bytes", name,
			 VF_NAME_MAX - 1);
		return -1;
	}
	if (s->n >= VF_MAX_VMS) {
		snprintf(err, errlen, "more than %d VMs", VF_MAX_VMS);
		return -1;
	}
	i = s->n++;
	memset(&s->vm[i], 0, sizeof(s->vm[i]));
	str_copy(s->vm[i].name, name, sizeof(s->vm[i].name));
	s->vm[i].v.other = -1;
	return i;
}

void vf_sched_begin(struct vf_sched *s)
{
	for (int i = 0; i < s->n; i++) {
		s->vm[i].present = false;
		s->vm[i].pps = 0;
	}
}

int vf_sched_report(struct vf_sched *s, const char *name, double pps, char *err, size_t errlen)
{
	int i;

	if (!isfinite(pps) || pps < 0) {
		snprintf(err, errlen, "packet rate %g of %s is not a finite number >= 0", pps,
			 name);
		return -1;
	}
	i = vf_sched_add(s, name, err, errlen);
	if (i < 0)
		return -1;
	s->vm[i].present = true;
	s->vm[i].pps = pps;
	return i;
}

int vf_sched_decide(struct vf_sched *s)
{
	struct vf_cand *cand = calloc((size_t)(s->n ? s->n : 1), sizeof(*cand));
	struct vf_verdict *out = calloc((size_t)(s->n ? s->n : 1), sizeof(*out));
	struct vf_decide_in in = {
		.cand = cand, .n = s->n, .interval = s->interval, .params = &s->params
	};
	long join;

	if (!cand || !out) {
		free(cand);
		free(out);
		return -1;
	}
	/* the fair virtual time of those who stayed; joiners start there */
	for (int i = 0; i < s->n; i++) {
		struct vf_sched_vm *m = &s->vm[i];
		cand[i] =
			(struct vf_cand){ .name = m->name,
					  .pps = m->pps,
					  .eligible = m->present && m->was_present && !m->excluded,
					  .st = m->st };
	}
	join = vf_join_served(cand, s->n);
	for (int i = 0; i < s->n; i++) {
		struct vf_sched_vm *m = &s->vm[i];
		if (m->present && !m->was_present && m->st.served < join)
			m->st.served = join;
		cand[i].eligible = m->present && !m->excluded;
		cand[i].pinned = m->pinned;
		cand[i].st = m->st;
	}
	s->grants = vf_decide(s->ops, &in, out);
	for (int i = 0; i < s->n; i++) {
		struct vf_sched_vm *m = &s->vm[i];
		m->v = out[i];
		vf_why_text(s->ops, &in, out, i, m->why, sizeof(m->why));
	}
	for (int i = 0; i < s->n; i++) {
		vf_hold_advance(&s->vm[i].st, out[i].grant);
		s->vm[i].was_present = s->vm[i].present;
	}
	s->interval++;
	free(cand);
	free(out);
	return s->grants;
}

void vf_sched_revoke(struct vf_sched *s, int i)
{
	struct vf_hold *h = &s->vm[i].st;

	if (!h->holds)
		return;
	h->holds = false;
	h->held_for = 0;
	if (h->served > 0)
		h->served--;
	h->idle_for = 0;
	if (s->grants > 0)
		s->grants--;
}

void vf_sched_adopt(struct vf_sched *s, int i, int held_for)
{
	struct vf_hold *h = &s->vm[i].st;

	if (h->holds)
		return;
	h->holds = true;
	h->held_for = held_for > 0 ? held_for : 1;
	h->idle_for = 0;
}
