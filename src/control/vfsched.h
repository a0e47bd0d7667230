/* vfsched.h - the FlexVF decision loop's memory: the VMs by name, what each held, one decision per interval (the same code in vspaced, vspace vf replay and vspace sim vf). */
#ifndef VS_CONTROL_VFSCHED_H
#define VS_CONTROL_VFSCHED_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/vf.h"

/*
 * src/policy/vf.h decides from what it is given; this keeps what it needs
 * between intervals: per VM its name, whether it is present, its packet
 * rate over the interval, whether it is pinned, and its hold state. One
 * interval:
 *
 *   vf_sched_begin(s);                       every VM absent until reported
 *   vf_sched_report(s, "web", pps);          the VMs present, with their rates
 *   vf_sched_decide(s);                      verdicts in s->vm[i].v, .why
 *   ... actuation; a plug that failed: vf_sched_revoke(s, i)
 *
 * A VM that joins (or returns after being absent) starts at the fair
 * strategy's current virtual time (vf_join_served): it neither waits for the
 * others' whole history nor gets credit for its absence.
 */

/* Longest VM name, with the NUL. */
#define VF_NAME_MAX 64

struct vf_sched_vm {
	char name[VF_NAME_MAX];
	bool present;	     /* reported in this interval */
	bool was_present;    /* present at the previous decision */
	bool pinned;	     /* forced grant (vspacectl vf grant) */
	bool excluded;	     /* may not hold one (vf=off, or the operator said no) */
	double pps;	     /* packet rate reported for this interval */
	struct vf_hold st;   /* after the last decision: holds during the next interval */
	struct vf_verdict v; /* the last decision's verdict */
	char why[200];	     /* and its reason as text */
};

struct vf_sched {
	const struct vf_policy_ops *ops;
	struct vf_params params;
	long interval;		/* decisions made so far */
	int n;			/* VMs known */
	struct vf_sched_vm *vm; /* n of them (malloc'd, VF_MAX_VMS at most) */
	int grants;		/* VFs granted by the last decision */
};

/* Returns 0, or -1 with err (bad parameters, no memory). */
int vf_sched_init(struct vf_sched *s, const struct vf_policy_ops *ops,
		  const struct vf_params *params, char *err, size_t errlen);
void vf_sched_free(struct vf_sched *s);

/* The VM's index, or -1 when unknown. */
int vf_sched_find(const struct vf_sched *s, const char *name);
/* The VM's index, adding it (absent, holding nothing) when unknown. Returns
 * -1 with err when the name is empty or too long, or VF_MAX_VMS are known. */
int vf_sched_add(struct vf_sched *s, const char *name, char *err, size_t errlen);

/* Start an interval: every VM absent until reported. */
void vf_sched_begin(struct vf_sched *s);
/* VM name is present with rate pps (added when unknown). Returns its index or
 * -1 with err (as vf_sched_add; also a negative or non-finite rate). */
int vf_sched_report(struct vf_sched *s, const char *name, double pps, char *err, size_t errlen);
/* Decide the next interval: fills each VM's v and why, advances its hold
 * state. Returns the number of grants. */
int vf_sched_decide(struct vf_sched *s);
/* The grant to VM i could not be carried out (a plug failed, the VM went
 * away): it holds nothing, and the interval does not count as served. */
void vf_sched_revoke(struct vf_sched *s, int i);
/* VM i holds a VF that the decision did not give it (state restored from
 * the state file, a VF found plugged at start): it counts as a holder of
 * held_for intervals. */
void vf_sched_adopt(struct vf_sched *s, int i, int held_for);

#endif
