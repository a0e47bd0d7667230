/* host.c - the host's cores: run queues, CFS, wake-up placement as Linux 5.13 makes it, balancing, IRQs, the cost of sharing a core. */
#include <math.h>
#include <stdint.h>

#include "sim/costs.h"
#include "sim/model.h"

/*
 * A core executes one segment at a time: IRQ work (hard IRQ entry, then NAPI
 * items of the queues scheduled on it) always first, else the current
 * thread's item. A segment's end is the core's "done" timer; anything that
 * changes the core's plan (an IRQ, a preempting wake-up, a cut) stops the
 * segment, accounts the elapsed part and re-runs host_core_go().
 *
 * Side effects on other entities happen only in completion handlers (run with
 * m->active set to the core); host_core_go() only chooses and starts work, so it
 * never recurses.
 *
 * Wake-up placement follows Linux 5.13's kernel/sched/fair.c:
 * select_task_rq_fair() -> record_wakee()/wake_wide(), wake_affine()
 * (wake_affine_idle, wake_affine_weight with PELT loads), then
 * select_idle_sibling() (target, prev, the per-CPU-kthread stacking rule,
 * recent_used_cpu, select_idle_cpu()'s SIS_PROP-limited scan of the LLC),
 * with idle_cpu() of kernel/sched/core.c: a CPU is idle when its run queue
 * runs the idle task, whatever IRQ work it does. The host has one LLC and no
 * SMT, so select_idle_core()/select_idle_smt() have nothing to find.
 */

static inline sim_ns host_now(const struct sim_model *m)
{
	return m->eng.now;
}

static inline bool host_allowed(const struct sim_thread *t, int c)
{
	return (t->allowed >> c) & 1;
}

static inline int host_nr_running(const struct sim_core *c)
{
	return (c->curr ? 1 : 0) + c->nr_rq;
}

bool host_core_idle(const struct sim_core *c)
{
	return c->seg == SEG_NONE && !c->curr && c->nr_rq == 0 && c->napi.count == 0 &&
	       c->irq_pending_ns == 0;
}

bool host_idle_cpu(const struct sim_core *c)
{
	return !c->curr && c->nr_rq == 0;
}

/* A VM's vCPU thread (LC or BE): runs guest code, leaves it by VM exits. */
static inline bool host_is_vm(const struct sim_thread *t)
{
	return t->kind == SIM_T_VCPU || t->kind == SIM_T_BE;
}

static inline bool host_item_is_poll(const struct sim_thread *t)
{
	return t->item == IT_G_POLL || t->item == IT_VH_POLL;
}

/* Items that execute guest code (resuming them needs a VM entry). */
static inline bool host_item_in_guest(enum sim_item it)
{
	return it == IT_BE || it == IT_G_IRQ || it == IT_G_RX || it == IT_G_APP;
}

/* ---- threads' owners -------------------------------------------------------------- */

/* Length of a BE VM work item: CPU-bound guest code has no natural item
 * boundary; preemption splits it anyway, so the length only bounds events. */
#define HOST_BE_CHUNK_NS 1000000LL

static bool host_thread_next(struct sim_model *m, struct sim_thread *t)
{
	switch (t->kind) {
	case SIM_T_VCPU:
		return guest_next(m, t);
	case SIM_T_VHOST:
		return vhost_next(m, t);
	case SIM_T_KSOFTIRQD: {
		struct sim_core *c = &m->core[t->idx];
		if (nic_softirq_next(m, c, &c->ksi, &t->work_ns)) {
			t->item = IT_KSOFTIRQ;
			return true;
		}
		c->ksoftirqd_on = false;
		return false;
	}
	case SIM_T_BE:
		if (t->frozen)
			return false;
		t->item = IT_BE;
		t->work_ns = HOST_BE_CHUNK_NS;
		if (!t->in_guest)
			host_vm_enter(m, t);
		return true;
	case SIM_T_KINDS:
		break;
	}
	return false;
}

static void host_thread_done(struct sim_model *m, struct sim_thread *t)
{
	switch (t->kind) {
	case SIM_T_VCPU:
		guest_done(m, t);
		break;
	case SIM_T_VHOST:
		vhost_done(m, t);
		break;
	case SIM_T_KSOFTIRQD:
		t->item = IT_NONE;
		nic_softirq_done(m, &m->core[t->idx], &m->core[t->idx].ksi);
		break;
	case SIM_T_BE:
	case SIM_T_KINDS:
		t->item = IT_NONE;
		break;
	}
}

static void host_thread_cut(struct sim_model *m, struct sim_thread *t)
{
	switch (t->kind) {
	case SIM_T_VCPU:
		guest_cut(m, t);
		break;
	case SIM_T_VHOST:
		vhost_cut(m, t);
		break;
	case SIM_T_BE:
	case SIM_T_KSOFTIRQD:
	case SIM_T_KINDS:
		break;
	}
}

/* ---- PELT load (kernel/sched/pelt.c), continuous decay ------------------------------- */

static double host_pelt_y(sim_ns dt)
{
	return dt <= 0 ? 1.0 : exp2(-(double)dt / (double)SIM_PELT_HALFLIFE_NS);
}

/* Bring t's load_avg up to now (runnable: weight 1024, blocked: decays). */
static void host_pelt_task(struct sim_model *m, struct sim_thread *t)
{
	double y = host_pelt_y(host_now(m) - t->load_upd);
	double w = t->state != SIM_TS_BLOCKED ? SIM_PELT_WEIGHT : 0;

	t->load_avg = t->load_avg * y + w * (1 - y);
	t->load_upd = host_now(m);
}

/* Bring c's cfs_rq load_avg up to now: the decayed sum of its runnable
 * threads' weight (blocked threads' load decays in it until they move). */
static void host_pelt_rq(struct sim_model *m, struct sim_core *c)
{
	double y = host_pelt_y(host_now(m) - c->load_upd);

	c->load_avg = c->load_avg * y + SIM_PELT_WEIGHT * host_nr_running(c) * (1 - y);
	c->load_upd = host_now(m);
}

/* ---- the cost of sharing a core: caches, TLB, mitigations ----------------------------- */

void host_touch(struct sim_model *m, int c, uint32_t bytes)
{
	if (c >= 0 && c < m->cfg.n_cores)
		m->core[c].touched_bytes += bytes;
}

/* Refill of a working set of kind k on core c: whole when it was elsewhere
 * (warm false), else the share that what came in since (F bytes, FT TLB
 * entries) evicted, 1 - exp(-F / capacity). Adds what it brings in to the
 * core's counters and returns the CPU time. */
static sim_ns host_refill(struct sim_model *m, struct sim_core *c, int k, bool warm, uint64_t mark,
			  uint64_t tlb_mark, bool guest)
{
	const struct sim_cost *k_ = &m->cost;
	double ws = k_->ws_bytes[k], tlb = k_->tlb_entries[k], fb = 1, ft = 1, bytes, entries, ns;

	if (ws > SIM_L2_BYTES)
		ws = SIM_L2_BYTES;
	if (tlb > SIM_STLB_ENTRIES)
		tlb = SIM_STLB_ENTRIES;
	if (warm) {
		uint64_t f = c->touched_bytes - mark, ftl = c->tlb_touched - tlb_mark;
		if (f == 0 && ftl == 0)
			return 0;
		fb = 1 - exp(-(double)f / SIM_L2_BYTES);
		ft = 1 - exp(-(double)ftl / SIM_STLB_ENTRIES);
	}
	bytes = fb * ws;
	entries = ft * tlb;
	ns = bytes / 1024 * k_->refill_per_kib +
	     entries * (guest ? k_->tlb_walk_guest : k_->tlb_walk);
	c->touched_bytes += (uint64_t)llround(bytes);
	c->tlb_touched += (uint64_t)llround(entries);
	m->cnt.refill_ns += (sim_ns)llround(ns);
	return (sim_ns)llround(ns);
}

/* t starts a segment on c: refill what others evicted (or everything, on a
 * core it has not run on since its lines were there). */
sim_ns host_refill_thread(struct sim_model *m, struct sim_core *c, struct sim_thread *t)
{
	sim_ns ns = host_refill(m, c, t->kind, t->ws_core == c->id, t->ws_mark, t->tlb_mark,
				host_is_vm(t));

	t->ws_core = c->id;
	t->ws_mark = c->touched_bytes;
	t->tlb_mark = c->tlb_touched;
	return ns;
}

static sim_ns host_refill_irq(struct sim_model *m, struct sim_core *c)
{
	sim_ns ns = host_refill(m, c, SIM_T_KINDS, c->irq_ws_warm, c->irq_ws_mark, c->irq_tlb_mark,
				false);

	c->irq_ws_warm = true;
	c->irq_ws_mark = c->touched_bytes;
	c->irq_tlb_mark = c->tlb_touched;
	return ns;
}

/* The cost of re-entering the guest on t's core: VM entry, and the L1D flush
 * when vmentry_l1d_flush=cond asks for one (the vCPU was scheduled in, or an
 * interrupt ran on the CPU, since its last entry). */
sim_ns host_reentry_cost(struct sim_model *m, struct sim_thread *t)
{
	struct sim_core *c = &m->core[t->core];
	sim_ns ns = m->cost.vm_entry;

	if (!m->cfg.no_mitigations && (t->l1d_flush || c->l1tf_flush)) {
		ns += m->cost.l1d_flush;
		m->cnt.mitigation_ns += m->cost.l1d_flush;
		m->cnt.l1d_flushes++;
	}
	t->l1d_flush = false;
	c->l1tf_flush = false;
	return ns;
}

void host_vm_enter(struct sim_model *m, struct sim_thread *t)
{
	t->penalty_ns += host_reentry_cost(m, t);
	t->in_guest = true;
}

/* ---- accounting and segments --------------------------------------------------------- */

static void host_account(struct sim_model *m, struct sim_core *c)
{
	sim_ns now = host_now(m), d;

	if (c->seg == SEG_NONE || now <= c->acct_at)
		return;
	d = now - c->acct_at;
	c->acct_at = now;
	c->busy_ns += d;
	if (c->seg == SEG_IRQ) {
		c->irq_ns += d;
	} else {
		struct sim_thread *t = c->curr;
		t->vruntime += d;
		t->run_ns += d;
		if (t->run_on_ns)
			t->run_on_ns[c->id] += d;
		if (t->kind == SIM_T_BE) {
			m->cnt.be_work_ns += d;
			c->touched_bytes += (uint64_t)llround((double)d * m->cost.be_stream_per_ns);
		}
	}
}

void host_flush(struct sim_model *m, struct sim_core *c)
{
	host_account(m, c);
}

/* The segment ended or stopped: what was brought into the cache until now was
 * the running context's own (it does not evict itself). */
static void host_seg_marks(struct sim_core *c, enum sim_seg s)
{
	if (s == SEG_THREAD && c->curr) {
		c->curr->ws_mark = c->touched_bytes;
		c->curr->tlb_mark = c->tlb_touched;
	} else if (s == SEG_IRQ) {
		c->irq_ws_mark = c->touched_bytes;
		c->irq_tlb_mark = c->tlb_touched;
	}
}

/* Stop the running segment: account it and keep what is left of its work. */
static enum sim_seg host_stop(struct sim_model *m, struct sim_core *c)
{
	enum sim_seg s = c->seg;
	sim_ns el;

	if (s == SEG_NONE)
		return s;
	host_account(m, c);
	engine_cancel(&m->eng, sim_slot_done(m, c->id));
	el = host_now(m) - c->seg_start;
	if (el < 0)
		el = 0;
	if (s == SEG_IRQ) {
		c->irq_left = c->irq_left > el ? c->irq_left - el : 0;
	} else {
		struct sim_thread *t = c->curr;
		sim_ns take = el < t->penalty_ns ? el : t->penalty_ns;
		t->penalty_ns -= take;
		el -= take;
		t->work_ns = t->work_ns > el ? t->work_ns - el : 0;
	}
	host_seg_marks(c, s);
	c->seg = SEG_NONE;
	return s;
}

static void host_start(struct sim_model *m, struct sim_core *c, enum sim_seg s, sim_ns len)
{
	sim_ns at = host_now(m);

	if (c->idle_start >= 0) {
		/* leaving idle: the C-state exit delays the work (not busy time) */
		if (at - c->idle_start > 0)
			at += c->allocated ? SIM_C1_EXIT_NS : SIM_C6_EXIT_NS;
		c->idle_start = -1;
	}
	if (len < 1)
		len = 1;
	c->seg = s;
	c->seg_start = c->acct_at = at;
	engine_at(&m->eng, sim_slot_done(m, c->id), at + len);
}

/* ---- run queues ---------------------------------------------------------------------- */

static void host_update_min(struct sim_core *c)
{
	sim_ns v = INT64_MAX;

	if (c->curr)
		v = c->curr->vruntime;
	for (int i = 0; i < c->nr_rq; i++)
		if (c->rq[i]->vruntime < v)
			v = c->rq[i]->vruntime;
	if (v != INT64_MAX && v > c->min_vruntime)
		c->min_vruntime = v;
}

static void host_rq_remove(struct sim_model *m, struct sim_core *c, struct sim_thread *t)
{
	for (int i = 0; i < c->nr_rq; i++) {
		if (c->rq[i] == t) {
			host_pelt_rq(m, c);
			c->rq[i] = c->rq[--c->nr_rq];
			return;
		}
	}
}

/* CFS pick: the smallest vruntime (ties: the lower thread id). */
static struct sim_thread *host_pick(struct sim_core *c)
{
	int best = -1;

	for (int i = 0; i < c->nr_rq; i++) {
		struct sim_thread *t = c->rq[i];
		if (best < 0 || t->vruntime < c->rq[best]->vruntime ||
		    (t->vruntime == c->rq[best]->vruntime && t->id < c->rq[best]->id))
			best = i;
	}
	if (best < 0)
		return NULL;
	struct sim_thread *t = c->rq[best];
	c->rq[best] = c->rq[--c->nr_rq];
	return t;
}

static sim_ns host_slice_ns(const struct sim_core *c)
{
	sim_ns s = SIM_SCHED_LATENCY_NS / (host_nr_running(c) > 0 ? host_nr_running(c) : 1);

	return s < SIM_SCHED_MIN_GRAN_NS ? SIM_SCHED_MIN_GRAN_NS : s;
}

static void host_arm_slice(struct sim_model *m, struct sim_core *c)
{
	int slot = sim_slot_slice(m, c->id);
	sim_ns end;

	if (!c->curr || c->nr_rq == 0)
		return;
	end = c->curr_since + host_slice_ns(c);
	if (end < host_now(m))
		end = host_now(m);
	if (!engine_armed(&m->eng, slot) || engine_when(&m->eng, slot) > end)
		engine_at(&m->eng, slot, end);
}

/* update_avg() of kernel/sched/core.c: an eighth of the difference. */
static void host_update_avg(sim_ns *avg, sim_ns sample)
{
	*avg += (sample - *avg) / 8;
}

/* Move t (detached, RUNNABLE-to-be) onto core c's run queue. wakeup: from a
 * sleep (ttwu), else a migration of a runnable thread. */
static void host_enqueue(struct sim_model *m, struct sim_core *c, struct sim_thread *t, bool wakeup)
{
	host_pelt_task(m, t);
	host_pelt_rq(m, c);
	if (t->core != c->id) {
		if (t->core >= 0) {
			/* set_task_cpu(): se.nr_migrations, vruntime relative to the new
			 * queue (migrate_task_rq_fair), the load moves with the task */
			struct sim_core *o = &m->core[t->core];
			host_pelt_rq(m, o);
			o->load_avg = o->load_avg > t->load_avg ? o->load_avg - t->load_avg : 0;
			t->vruntime += c->min_vruntime - o->min_vruntime;
			t->nr_migrations++;
			m->cnt.migrations++;
		}
		c->load_avg += t->load_avg;
	}
	if (wakeup && t->vruntime < c->min_vruntime - SIM_SCHED_SLEEPER_CREDIT_NS)
		t->vruntime = c->min_vruntime - SIM_SCHED_SLEEPER_CREDIT_NS;
	t->core = c->id;
	t->state = SIM_TS_RUNNABLE;
	c->rq[c->nr_rq++] = t;
	host_update_min(c);
	if (wakeup && c->idle_stamp >= 0) {
		/* ttwu_do_wakeup(): the idle period that just ended feeds avg_idle,
		 * capped at 2 * max_idle_balance_cost (sysctl_sched_migration_cost) */
		host_update_avg(&c->avg_idle, host_now(m) - c->idle_stamp);
		if (c->avg_idle > 2 * SIM_SCHED_MIGRATION_COST_NS)
			c->avg_idle = 2 * SIM_SCHED_MIGRATION_COST_NS;
		c->idle_stamp = -1;
	}
}

/* Make the core re-plan now (unless its completion handler is running or it
 * is in IRQ work: core_go follows those anyway). */
static void host_core_go(struct sim_model *m, struct sim_core *c);

static void host_kick(struct sim_model *m, struct sim_core *c)
{
	if (c == m->active || c->seg == SEG_IRQ)
		return;
	host_stop(m, c);
	host_core_go(m, c);
}

static bool host_wakeup_preempts(const struct sim_model *m, const struct sim_core *c,
				 const struct sim_thread *t)
{
	const struct sim_thread *cur = c->curr;
	sim_ns vr = cur->vruntime;

	if (c->seg == SEG_THREAD && host_now(m) > c->acct_at)
		vr += host_now(m) - c->acct_at;
	return vr - t->vruntime > SIM_SCHED_WAKEUP_GRAN_NS;
}

/* t was just queued on c: start c if idle, preempt or arm the slice timer.
 * A preemption asked of another CPU's running thread is a reschedule IPI
 * (an idle CPU waiting in MWAIT polls its flags and needs none). */
static void host_check_preempt(struct sim_model *m, struct sim_core *c, struct sim_thread *t)
{
	if (!c->curr) {
		if (c->seg == SEG_NONE && c != m->active)
			host_core_go(m, c);
		return;
	}
	if (host_item_is_poll(c->curr) || host_wakeup_preempts(m, c, t)) {
		if (m->waker_core != c)
			host_ipi(m, c, false);
		c->resched = true;
		host_kick(m, c);
		return;
	}
	host_arm_slice(m, c);
}

/* ---- wake-up placement (kernel/sched/fair.c, v5.13) ------------------------------------ */

/* record_wakee(): current notes whom it wakes; a change of wakee is a flip. */
static void host_record_wakee(struct sim_model *m, struct sim_wakee *cur,
			      const struct sim_thread *p)
{
	if (host_now(m) > cur->decay_ts + SIM_WAKEE_DECAY_NS) {
		cur->flips >>= 1;
		cur->decay_ts = host_now(m);
	}
	if (cur->last_wakee != p->id) {
		cur->last_wakee = p->id;
		cur->flips++;
	}
}

/* wake_wide(): a waker that flips among many wakees (and a wakee that does
 * too) is not pulled to the waker's CPU. factor = sd_llc_size. */
static bool host_wake_wide(const struct sim_model *m, const struct sim_wakee *cur,
			   const struct sim_thread *p)
{
	uint32_t master = cur->flips, slave = p->wk.flips, factor = (uint32_t)m->cfg.n_cores;

	if (master < slave) {
		uint32_t x = master;
		master = slave;
		slave = x;
	}
	return !(slave < factor || master < slave * factor);
}

/* wake_affine(): this_cpu or prev_cpu as the target (sync = 0: no wake-up in
 * this model is WF_SYNC; vhost's and KVM's wake-ups are wake_up_process()). */
static int host_wake_affine(struct sim_model *m, struct sim_thread *p, int this_cpu, int prev)
{
	struct sim_core *tc = &m->core[this_cpu], *pc = &m->core[prev];
	double this_eff, prev_eff;

	/* WA_IDLE, wake_affine_idle(): an idle waker CPU means an interrupt
	 * woke the task; move only if prev is busy (cache is shared) */
	if (host_idle_cpu(tc))
		return host_idle_cpu(pc) ? prev : this_cpu;
	if (host_idle_cpu(pc))
		return prev;
	/* WA_WEIGHT, wake_affine_weight() with WA_BIAS; capacities are equal */
	host_pelt_rq(m, tc);
	host_pelt_rq(m, pc);
	host_pelt_task(m, p);
	this_eff = (tc->load_avg + p->load_avg) * 100;
	prev_eff = (pc->load_avg - p->load_avg) * (100 + (SIM_SD_LLC_IMBALANCE_PCT - 100) / 2);
	return this_eff < prev_eff ? this_cpu : prev;
}

/* select_idle_cpu(): scan the LLC's allowed CPUs from target, at most nr - 1
 * of them where SIS_PROP sets nr from the waking CPU's avg_idle against the
 * domain's avg_scan_cost. Returns an idle CPU or -1. */
static int host_select_idle_cpu(struct sim_model *m, const struct sim_thread *p, int target,
				const struct sim_core *this_rq)
{
	int n = m->cfg.n_cores, found = -1, checked = 0;
	sim_ns avg_idle = this_rq->avg_idle / 512, avg_cost = m->llc_avg_scan_cost + 1;
	sim_ns span_avg = (sim_ns)n * avg_idle, nr;

	nr = span_avg > 4 * avg_cost ? span_avg / avg_cost : 4;
	m->cnt.wake_scans++;
	for (int i = 0; i < n; i++) {
		int cpu = (target + i) % n;
		if (!host_allowed(p, cpu))
			continue;
		if (!--nr) {
			/* depth used up: give up (avg_scan_cost is not updated) */
			m->cnt.wake_scanned += (uint64_t)checked;
			return -1;
		}
		checked++;
		if (host_idle_cpu(&m->core[cpu])) {
			found = cpu;
			break;
		}
	}
	m->cnt.wake_scanned += (uint64_t)checked;
	host_update_avg(&m->llc_avg_scan_cost, (sim_ns)checked * m->cost.sis_scan_per_cpu);
	return found;
}

/* is_per_cpu_kthread(current): ksoftirqd, or the idle task (current NULL). */
static bool host_current_is_percpu_kthread(const struct sim_thread *cur)
{
	return !cur || cur->kind == SIM_T_KSOFTIRQD;
}

/* select_idle_sibling() on the single LLC. */
static int host_select_idle_sibling(struct sim_model *m, struct sim_thread *p, int prev, int target,
				    const struct sim_core *this_rq, const struct sim_thread *cur)
{
	int r, i;

	if (host_idle_cpu(&m->core[target]))
		return target;
	/* the previous CPU is cache affine and idle: don't be stupid */
	if (prev != target && host_idle_cpu(&m->core[prev]))
		return prev;
	/* a per-CPU kthread waking a task that last ran on its CPU, the only
	 * thing running there: stack (the XFS/IO-completion rule) */
	if (host_current_is_percpu_kthread(cur) && prev == this_rq->id &&
	    host_nr_running(this_rq) <= 1)
		return prev;
	/* a recently used CPU as a potential idle candidate */
	r = p->wk.recent_used_cpu;
	if (r >= 0 && r != prev && r != target && host_idle_cpu(&m->core[r]) &&
	    host_allowed(p, r)) {
		p->wk.recent_used_cpu = prev;
		return r;
	}
	i = host_select_idle_cpu(m, p, target, this_rq);
	return i >= 0 ? i : target;
}

int host_select_task_rq(struct sim_model *m, struct sim_thread *t, struct sim_core *waker)
{
	int n = m->cfg.n_cores, prev = t->core, new_cpu;
	struct sim_core *this_rq;
	struct sim_wakee *cw;
	bool want_affine;

	if (prev < 0 || prev >= n)
		prev = t->allowed ? __builtin_ctzll(t->allowed) : 0;
	/* select_task_rq(): a thread allowed on one CPU goes there */
	if (__builtin_popcountll(t->allowed) == 1)
		return __builtin_ctzll(t->allowed);
	this_rq = waker ? waker : &m->core[prev];
	cw = this_rq->curr ? &this_rq->curr->wk : &this_rq->idle_wk;
	host_record_wakee(m, cw, t);
	want_affine = !host_wake_wide(m, cw, t) && host_allowed(t, this_rq->id);
	new_cpu = prev;
	if (want_affine && this_rq->id != prev)
		new_cpu = host_wake_affine(m, t, this_rq->id, prev);
	new_cpu = host_select_idle_sibling(m, t, prev, new_cpu, this_rq, this_rq->curr);
	if (want_affine)
		cw->recent_used_cpu = this_rq->id;
	/* try_to_wake_up(): a CPU the task may not use -> select_fallback_rq(),
	 * the first allowed CPU of the node */
	if (!host_allowed(t, new_cpu))
		new_cpu = __builtin_ctzll(t->allowed);
	return new_cpu;
}

void host_wake(struct sim_model *m, struct sim_thread *t)
{
	struct sim_core *c;

	if (t->state != SIM_TS_BLOCKED || t->frozen)
		return;
	if (t->allowed == 0) {
		t->parked = true; /* woken again when it gets cores */
		return;
	}
	c = &m->core[host_select_task_rq(m, t, m->waker_core)];
	m->cnt.wakeups++;
	if (host_idle_cpu(c))
		m->cnt.wake_idle++;
	host_enqueue(m, c, t, true);
	host_check_preempt(m, c, t);
}

/* cpumask_any_and_distribute(): the next allowed CPU after the last one this
 * picked (where __set_cpus_allowed_ptr() moves a thread its cpuset evicts). */
static int host_any_distribute(struct sim_model *m, uint64_t allowed)
{
	int n = m->cfg.n_cores;

	for (int i = 1; i <= n; i++) {
		int c = (m->distribute_prev + i) % n;
		if ((allowed >> c) & 1) {
			m->distribute_prev = c;
			return c;
		}
	}
	return __builtin_ctzll(allowed);
}

/* Pull one waiting thread allowed on c from the busiest core. newidle: only
 * when c's average idle period is long enough (newidle_balance). Returns the
 * thread queued on c, or NULL. */
static struct sim_thread *host_pull(struct sim_model *m, struct sim_core *c, bool newidle,
				    int min_gap)
{
	int n = m->cfg.n_cores, best = -1, best_nr = 0, my_nr = host_nr_running(c);
	struct sim_thread *t = NULL;

	if (newidle && c->avg_idle < SIM_SCHED_MIGRATION_COST_NS)
		return NULL;
	for (int i = 1; i < n; i++) {
		struct sim_core *b = &m->core[(c->id + i) % n];
		int nr = host_nr_running(b);
		bool has = false;

		if (b->nr_rq == 0 || nr - my_nr < min_gap || nr <= best_nr)
			continue;
		for (int k = 0; k < b->nr_rq && !has; k++)
			has = host_allowed(b->rq[k], c->id);
		if (has) {
			best = b->id;
			best_nr = nr;
		}
	}
	if (best < 0)
		return NULL;
	struct sim_core *b = &m->core[best];
	for (int k = 0; k < b->nr_rq; k++) {
		struct sim_thread *x = b->rq[k];
		if (host_allowed(x, c->id) && (!t || x->vruntime < t->vruntime ||
					       (x->vruntime == t->vruntime && x->id < t->id)))
			t = x;
	}
	host_rq_remove(m, b, t);
	host_enqueue(m, c, t, false);
	return t;
}

void host_balance(struct sim_model *m)
{
	for (int i = 0; i < m->cfg.n_cores; i++) {
		struct sim_core *c = &m->core[i];
		struct sim_thread *t;

		if (host_nr_running(c) == 0 && c->seg == SEG_NONE) {
			if (host_pull(m, c, false, 1))
				host_core_go(m, c);
		} else if ((t = host_pull(m, c, false, 2)) != NULL) {
			host_check_preempt(m, c, t);
		}
	}
	engine_at(&m->eng, SIM_SLOT_LB, host_now(m) + SIM_LB_INTERVAL_NS);
}

/* ---- the core's plan ----------------------------------------------------------------- */

static void host_put_prev(struct sim_model *m, struct sim_core *c)
{
	struct sim_thread *t = c->curr;

	c->curr = NULL;
	engine_cancel(&m->eng, sim_slot_slice(m, c->id));
	if (host_is_vm(t) && t->in_guest) {
		/* taking a vCPU off the core forces a VM exit (paid when it resumes) */
		t->in_guest = false;
		t->penalty_ns += m->cost.vm_exit;
		if (t->kind == SIM_T_VCPU)
			SIM_COUNT(m, sim_vm_of(m, t), vm_exits, 1);
	}
	t->state = SIM_TS_RUNNABLE;
	c->rq[c->nr_rq++] = t;
}

/* A vCPU thread is scheduled in on c (kvm_sched_in -> vcpu_load): VMPTRLD of
 * its VMCS with an IBPB when another was loaded here; on another CPU than its
 * VMCS's, the VMCLEAR there first (a function-call IPI, waited for), a TLB
 * flush and the LAPIC timer's move. Returns the cost; sets the L1D flush. */
static sim_ns host_vcpu_load(struct sim_model *m, struct sim_core *c, struct sim_thread *t)
{
	sim_ns ns = m->cost.vcpu_load, mit = 0;

	if (t->vmcs_core != c->id) {
		if (t->vmcs_core >= 0) {
			struct sim_core *o = &m->core[t->vmcs_core];

			mit += m->cost.vmclear_ipi;
			if (o->current_vmcs == t->id)
				o->current_vmcs = -1;
			host_ipi(m, o, true);
			m->cnt.vcpu_migrations++;
		}
		ns += m->cost.vcpu_migrate;
		t->vmcs_core = c->id;
	}
	if (c->current_vmcs != t->id) {
		if (!m->cfg.no_mitigations) {
			mit += m->cost.ibpb;
			m->cnt.ibpbs++;
		}
		c->current_vmcs = t->id;
	}
	m->cnt.mitigation_ns += mit;
	t->l1d_flush = true; /* kvm_arch_sched_in() */
	return ns + mit;
}

static void host_switch_in(struct sim_model *m, struct sim_core *c, struct sim_thread *t)
{
	c->curr = t;
	t->state = SIM_TS_RUNNING;
	t->core = c->id;
	c->curr_since = host_now(m);
	if (c->rq_curr != t) {
		/* __schedule(): prev != next */
		m->cnt.ctx_switches++;
		c->rq_curr = t;
		t->penalty_ns += m->cost.ctx_switch;
		if (host_is_vm(t))
			t->penalty_ns += host_vcpu_load(m, c, t);
	}
	if (host_is_vm(t) && t->work_ns > 0 && !t->in_guest && host_item_in_guest(t->item))
		host_vm_enter(m, t); /* resuming guest code */
	engine_cancel(&m->eng, sim_slot_slice(m, c->id));
	host_arm_slice(m, c);
	host_update_min(c);
}

/* Queue c's ksoftirqd on c from inside host_core_go (no kick: the caller
 * goes on planning c). */
static void host_ksoftirqd_wake(struct sim_model *m, struct sim_core *c)
{
	struct sim_thread *t = c->ksoftirqd;

	if (t->state != SIM_TS_BLOCKED)
		return;
	m->cnt.wakeups++;
	if (host_idle_cpu(c))
		m->cnt.wake_idle++;
	host_enqueue(m, c, t, true);
	if (c->curr && (host_item_is_poll(c->curr) || host_wakeup_preempts(m, c, t)))
		c->resched = true;
	else
		host_arm_slice(m, c);
}

static void host_core_go(struct sim_model *m, struct sim_core *c)
{
	for (;;) {
		struct sim_thread *t;

		if (c->irq_pending_ns > 0) {
			c->irq.kind = IRQ_HARD;
			c->irq_left = c->irq_pending_ns;
			c->irq_pending_ns = 0;
			host_start(m, c, SEG_IRQ, c->irq_left);
			return;
		}
		if (c->napi.count > 0 && !c->ksoftirqd_on) {
			if (c->softirq_since < 0)
				c->softirq_since = host_now(m);
			if (host_now(m) - c->softirq_since >= SIM_SOFTIRQ_MAX_NS) {
				/* __do_softirq ran too long: the rest goes to ksoftirqd */
				c->ksoftirqd_on = true;
				c->softirq_since = -1;
				host_ksoftirqd_wake(m, c);
				continue;
			}
			if (nic_softirq_next(m, c, &c->irq, &c->irq_left)) {
				/* the network softirq's working set (not the hard
				 * IRQ entries', nor IPI handlers') */
				c->irq_left += host_refill_irq(m, c);
				host_start(m, c, SEG_IRQ, c->irq_left);
				return;
			}
			continue;
		}
		c->softirq_since = -1;
		t = c->curr;
		if (t) {
			bool yield = c->resched && c->nr_rq > 0;

			c->resched = false;
			if (yield && host_item_is_poll(t)) {
				/* single_task_running() is false: polling stops */
				host_thread_cut(m, t);
			} else if (yield) {
				host_put_prev(m, c);
				continue;
			}
			/* an item left (even one stopped exactly at its end) completes
			 * through its done event; without one, ask the owner */
			if (t->item != IT_NONE || host_thread_next(m, t) || t->penalty_ns > 0) {
				/* (a switched-in thread with nothing to do still pays its switch) */
				t->penalty_ns += host_refill_thread(m, c, t);
				host_start(m, c, SEG_THREAD, t->penalty_ns + t->work_ns);
				return;
			}
			/* nothing to do: the thread sleeps */
			host_pelt_task(m, t);
			host_pelt_rq(m, c);
			c->curr = NULL;
			t->state = SIM_TS_BLOCKED;
			t->in_guest = false;
			engine_cancel(&m->eng, sim_slot_slice(m, c->id));
			continue;
		}
		t = host_pick(c);
		if (!t && c->rq_curr) {
			/* schedule() finds no task: newidle_balance() (which stamps the
			 * start of the idle period), then the idle task */
			c->idle_stamp = host_now(m);
			if (host_pull(m, c, true, 1)) {
				t = host_pick(c);
				c->idle_stamp = -1;
			}
		}
		if (!t) {
			if (c->rq_curr) {
				m->cnt.ctx_switches++; /* to the idle task */
				c->rq_curr = NULL;
			}
			if (c->idle_start < 0)
				c->idle_start = host_now(m);
			return;
		}
		host_switch_in(m, c, t);
	}
}

void host_core_done(struct sim_model *m, struct sim_core *c)
{
	enum sim_seg s;

	/* the segment ran to its end */
	host_account(m, c);
	s = c->seg;
	c->seg = SEG_NONE;
	m->active = c;
	m->waker_core = c;
	if (s == SEG_IRQ) {
		c->irq_left = 0;
		if (c->irq.kind != IRQ_HARD)
			nic_softirq_done(m, c, &c->irq);
	} else if (s == SEG_THREAD) {
		struct sim_thread *t = c->curr;
		t->penalty_ns = 0;
		t->work_ns = 0;
		if (t->item != IT_NONE)
			host_thread_done(m, t);
	}
	host_seg_marks(c, s);
	m->active = NULL;
	m->waker_core = NULL;
	host_core_go(m, c);
}

void host_slice(struct sim_model *m, struct sim_core *c)
{
	if (!c->curr || c->nr_rq == 0)
		return;
	if (host_item_is_poll(c->curr) || host_now(m) - c->curr_since >= host_slice_ns(c)) {
		c->resched = true;
		host_kick(m, c);
		return;
	}
	host_arm_slice(m, c);
}

void host_cut(struct sim_model *m, struct sim_thread *t)
{
	struct sim_core *c = t->state == SIM_TS_RUNNING ? &m->core[t->core] : NULL;
	bool running = c && c->curr == t && c->seg == SEG_THREAD;

	if (running)
		host_stop(m, c);
	host_thread_cut(m, t);
	if (running && c != m->active)
		host_core_go(m, c);
}

/* An interrupt arrives at c with cost_ns of handler work: it preempts the
 * running thread; a vCPU in guest mode takes an external-interrupt exit and
 * re-enters after it (with the L1D flush the interrupt calls for). */
static void host_irq_arrive(struct sim_model *m, struct sim_core *c, sim_ns cost_ns, bool ipi)
{
	c->irq_pending_ns += cost_ns;
	if (ipi)
		c->ipi_ns += cost_ns;
	c->l1tf_flush = true; /* kvm_set_cpu_l1tf_flush_l1d() on IRQ entry */
	if (c == m->active || c->seg == SEG_IRQ)
		return;
	if (c->seg == SEG_THREAD) {
		struct sim_thread *t = c->curr;
		host_stop(m, c);
		if (host_is_vm(t) && t->in_guest) {
			/* external-interrupt exit, re-entry after the handler */
			c->irq_pending_ns += m->cost.vm_exit;
			if (ipi)
				c->ipi_ns += m->cost.vm_exit;
			t->penalty_ns += host_reentry_cost(m, t);
			if (t->kind == SIM_T_VCPU)
				SIM_COUNT(m, sim_vm_of(m, t), vm_exits, 1);
		}
	}
	host_core_go(m, c);
}

void host_irq(struct sim_model *m, struct sim_core *c, int gq)
{
	ring_push(&c->napi, (uint32_t)gq);
	m->cnt.host_irqs++;
	host_irq_arrive(m, c, m->cost.irq_entry, false);
}

void host_ipi(struct sim_model *m, struct sim_core *c, bool call)
{
	m->cnt.host_irqs++;
	if (call) {
		/* a function call: the VMCLEAR of a vCPU that moved away */
		m->cnt.cal_ipis++;
		host_irq_arrive(m, c, m->cost.irq_entry + m->cost.vmclear_remote, true);
	} else {
		/* a reschedule IPI: its handler is negligible next to the
		 * switch it causes; it marks the CPU for the L1D flush */
		m->cnt.res_ipis++;
		c->l1tf_flush = true;
	}
}

/* Take t off its core (it stays detached: the caller queues or parks it). */
static void host_detach(struct sim_model *m, struct sim_thread *t)
{
	struct sim_core *c;

	if (t->state == SIM_TS_BLOCKED)
		return;
	c = &m->core[t->core];
	if (t->state == SIM_TS_RUNNABLE) {
		host_rq_remove(m, c, t);
		t->state = SIM_TS_BLOCKED;
		return;
	}
	if (c->seg == SEG_THREAD && c->curr == t)
		host_stop(m, c);
	host_put_prev(m, c);
	host_rq_remove(m, c, t);
	t->state = SIM_TS_BLOCKED;
	if (c->seg == SEG_NONE && c != m->active)
		host_core_go(m, c);
}

void host_set_allowed(struct sim_model *m, struct sim_thread *t, uint64_t allowed)
{
	struct sim_core *c;

	if (t->allowed == allowed)
		return;
	t->allowed = allowed;
	if (t->state == SIM_TS_BLOCKED) {
		if (t->parked && allowed != 0) {
			t->parked = false;
			host_wake(m, t);
		}
		return;
	}
	if (host_allowed(t, t->core))
		return;
	host_detach(m, t);
	if (allowed == 0) {
		t->parked = true;
		return;
	}
	/* __set_cpus_allowed_ptr(): moved to cpumask_any_and_distribute() */
	c = &m->core[host_any_distribute(m, allowed)];
	host_enqueue(m, c, t, false);
	host_check_preempt(m, c, t);
}

void host_set_frozen(struct sim_model *m, struct sim_thread *t, bool frozen)
{
	if (t->frozen == frozen)
		return;
	t->frozen = frozen;
	if (frozen)
		host_detach(m, t);
	else
		host_wake(m, t);
}

void host_interrupt(struct sim_model *m, struct sim_thread *t, sim_ns extra_ns, bool cut)
{
	struct sim_core *c = t->state == SIM_TS_RUNNING ? &m->core[t->core] : NULL;
	bool running = c && c->curr == t && c->seg == SEG_THREAD;

	if (running)
		host_stop(m, c);
	t->penalty_ns += extra_ns;
	if (cut)
		host_thread_cut(m, t);
	if (running && c != m->active)
		host_core_go(m, c);
}
