/* vf.h - FlexVF: which VMs hold the host's few SR-IOV VFs next interval (SPEC §7.2); pure ranking policies. */
#ifndef VS_POLICY_VF_H
#define VS_POLICY_VF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A host has N VFs and more VMs than that. Every interval (300 s by default)
 * the VMs are ranked and N of them hold a VF during the next interval; the
 * others use their para-virtual NIC only. A decision reads each VM's packet
 * rate over the interval that just ended and what it held; it returns, per
 * VM, whether it holds a VF next and why. Nothing here does I/O or keeps
 * state: the caller keeps each VM's `struct vf_hold` and advances it with
 * vf_hold_advance() after each decision.
 *
 * The strategies (FlexVF, Future Generation Computer Systems 2022):
 *   fair      round robin over time: the VMs that have held a VF for the
 *             fewest intervals so far get them, so that over a cycle every
 *             VM holds one for the same number of intervals (+-1).
 *   activity  the N VMs with the highest packet rate over the last interval.
 *   random    N VMs drawn at random each interval (a baseline for the
 *             simulator; deterministic for a seed and an interval).
 * Ours, on top of every strategy: a grant is kept for at least `min_hold`
 * intervals, and (activity) a VM that holds a VF keeps it unless a contender's
 * rate beats its own by the `hysteresis` margin: a plug costs the guest about
 * 0.6 s of work (SPEC §7.2: hot-plug ~640 ms), so grants must not flap on
 * noise. Defaults (hysteresis 0, min_hold 1) are the original strategies.
 * Ties are broken deterministically: at equal rank a holder stays before a
 * contender, then names compare (strcmp).
 */

/* Most VMs one decision ranks (a host's VMs; the simulator's 100). */
#define VF_MAX_VMS 1024

/* ---- Tunables ------------------------------------------------------------- */

struct vf_params {
	int n_vfs;	   /* N: VFs to hand out (the pool's free + granted VFs) */
	double hysteresis; /* activity: a contender displaces a holder only when its rate
			      exceeds the holder's by this fraction (0.25 = 25 % more);
			      0 = the original strategy */
	int min_hold;	   /* a grant is kept for at least this many intervals; 1 = the
			      original (re-decided every interval) */
	uint64_t seed;	   /* random: seed of the draw */
};

/* N 0, hysteresis 0, min_hold 1, seed 1: the original strategies. */
void vf_params_defaults(struct vf_params *p);
/* Check ranges (n_vfs 0..VF_MAX_VMS, hysteresis 0..100, min_hold 1..1e6).
 * Returns 0 or -1 with the offending parameter named in err. */
int vf_params_check(const struct vf_params *p, char *err, size_t errlen);

/* ---- Inputs ----------------------------------------------------------------- */

/* What a VM has held so far: the state the caller keeps between decisions. */
struct vf_hold {
	bool holds;    /* holds a VF during the interval that just ended */
	int held_for;  /* consecutive intervals it has held one, up to now (0: none) */
	long served;   /* intervals held so far: fair's virtual time (vf_join_served) */
	long idle_for; /* intervals since it last held one (fair: who waited longest) */
};

/* One VM as a decision sees it. */
struct vf_cand {
	const char *name; /* unique among the candidates; orders ties */
	double pps;	  /* packets per second (received + sent) over the last interval */
	bool eligible;	  /* present and wants a VF; a holder that is not is released */
	bool pinned;	  /* the operator forced a grant: held whatever its rank, still one
			     of the N (vspacectl vf grant) */
	struct vf_hold st;
};

struct vf_decide_in {
	const struct vf_cand *cand; /* the VMs, in any order */
	int n;			    /* how many (<= VF_MAX_VMS) */
	long interval;		    /* the decision's number (random: part of the draw) */
	const struct vf_params *params;
};

/* ---- Outputs ---------------------------------------------------------------- */

/* Why a VM holds a VF next interval or not. */
enum vf_why {
	VF_WHY_NOT_ELIGIBLE = 0, /* does not want one (vf=off, gone): no VF */
	VF_WHY_RELEASED,	 /* held one but is no longer eligible: released */
	VF_WHY_PINNED,		 /* forced by the operator */
	VF_WHY_MIN_HOLD,	 /* held for fewer than min_hold intervals: kept */
	VF_WHY_RANK,		 /* among the N best ranked: holds (keeps or gets) one */
	VF_WHY_FREE,		 /* a VF was free: gets it */
	VF_WHY_DISPLACES,	 /* gets the VF of `other`, whom it outranks (by the margin) */
	VF_WHY_MARGIN_KEPT,	 /* outranked by `other`, but not by the margin: keeps it */
	VF_WHY_OUTRANKED,	 /* outranked by `other`, who takes its VF */
	VF_WHY_MARGIN_SHORT,	 /* outranks holder `other`, but not by the margin: none */
	VF_WHY_NO_ROOM,		 /* ranked below the N: none (other: the last holder, or -1) */
};

struct vf_verdict {
	bool grant;	 /* holds a VF during the next interval */
	enum vf_why why; /* the reason */
	int rank;	 /* 1-based place in the strategy's order among the eligible; 0 if not */
	int other;	 /* index of the VM the reason names, or -1 */
};

/* ---- Strategies ------------------------------------------------------------- */

struct vf_policy_ops {
	/** Name chosen on the command line and in [vf] strategy=. */
	const char *name;
	/** One line for listings. */
	const char *summary;
	/** The order compares packet rates, so the hysteresis margin applies. */
	bool by_rate;
	/** < 0 when a deserves a VF more than b, > 0 when less. A total order
	 *  over candidates with distinct names. Pure. */
	int (*compare)(const struct vf_cand *a, const struct vf_cand *b,
		       const struct vf_decide_in *in);
};

extern const struct vf_policy_ops vf_policy_fair;
extern const struct vf_policy_ops vf_policy_activity;
extern const struct vf_policy_ops vf_policy_random;

/* A strategy by name ("fair", "activity", "random"), or NULL. */
const struct vf_policy_ops *vf_policy_lookup(const char *name);
/* All strategies, NULL-terminated, for listings. */
const struct vf_policy_ops *const *vf_policy_all(void);

/* ---- Deciding (API for the daemon, the replay tool and the simulator) -------- */

/*
 * Decide who holds the N VFs next interval. out[i] is the verdict for
 * in->cand[i]. Order of the steps:
 *   1. ineligible VMs get nothing (a holder among them is released);
 *   2. pinned VMs get a VF (best ranked first, while VFs last);
 *   3. holders that have held for fewer than min_hold intervals keep theirs;
 *   4. the rest are ranked; the N' (VFs left) best form the wanted set; its
 *      holders keep their VFs, free VFs go to its best contenders, and each
 *      remaining contender (strongest first) takes the VF of the weakest
 *      holder outside the set - for a by_rate strategy only when its rate
 *      exceeds that holder's by the hysteresis margin.
 * With hysteresis 0 and min_hold 1 the result is exactly the N best ranked.
 * Returns the number of grants (<= n_vfs).
 */
int vf_decide(const struct vf_policy_ops *ops, const struct vf_decide_in *in,
	      struct vf_verdict *out);

/* After a decision: the VM holds a VF next interval or not. */
void vf_hold_advance(struct vf_hold *h, bool granted);
/* The fair virtual time a VM joining now starts at: the least `served` among
 * the eligible candidates (0 when none), so a newcomer neither waits for the
 * others' whole history nor takes a VF for that long. */
long vf_join_served(const struct vf_cand *cand, int n);

/* One line saying why (for explain, status and logs): e.g. "holds: rank 2 of
 * 5 by packet rate (41000 pkt/s)" or "no VF: outranks vm3 (900 pkt/s) but not
 * by the 25% margin (1000 pkt/s needed)". Returns buf. */
const char *vf_why_text(const struct vf_policy_ops *ops, const struct vf_decide_in *in,
			const struct vf_verdict *out, int i, char *buf, size_t len);
/* The reason's short name for metrics labels and JSON ("rank", "min_hold", ...). */
const char *vf_why_name(enum vf_why why);

#endif
