/* host.c - the host's cores: run queues, CFS-like scheduling, wake-up placement, balancing, IRQs. */
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
		if (!t->in_guest) {
			t->penalty_ns += SIM_VM_ENTRY_NS;
			t->in_guest = true;
		}
		return true;
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
		break;
	}
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
		if (t->kind == SIM_T_BE)
			m->cnt.be_work_ns += d;
	}
}

void host_flush(struct sim_model *m, struct sim_core *c)
{
	host_account(m, c);
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
	c->seg = SEG_NONE;
	return s;
}

static void host_start(struct sim_model *m, struct sim_core *c, enum sim_seg s, sim_ns len)
{
	sim_ns at = host_now(m);

	if (c->idle_start >= 0) {
		/* leaving idle: the C-state exit delays the work (not busy time) */
		sim_ns idle = at - c->idle_start;
		c->avg_idle += (idle - c->avg_idle) / 8;
		if (c->avg_idle > 2 * SIM_SCHED_MIGRATION_COST_NS)
			c->avg_idle = 2 * SIM_SCHED_MIGRATION_COST_NS;
		if (idle > 0)
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

static void host_rq_remove(struct sim_core *c, struct sim_thread *t)
{
	for (int i = 0; i < c->nr_rq; i++) {
		if (c->rq[i] == t) {
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

/* Move t (detached, RUNNABLE-to-be) onto core c's run queue. */
static void host_enqueue(struct sim_model *m, struct sim_core *c, struct sim_thread *t, bool wakeup)
{
	if (t->core >= 0 && t->core != c->id) {
		/* migrate_task_rq_fair: vruntime relative to the new queue */
		t->vruntime += c->min_vruntime - m->core[t->core].min_vruntime;
		if (t->run_ns > 0) {
			m->cnt.migrations++;
			t->penalty_ns += SIM_MIGRATION_COLD_NS;
		}
	}
	if (wakeup && t->vruntime < c->min_vruntime - SIM_SCHED_SLEEPER_CREDIT_NS)
		t->vruntime = c->min_vruntime - SIM_SCHED_SLEEPER_CREDIT_NS;
	t->core = c->id;
	t->state = SIM_TS_RUNNABLE;
	c->rq[c->nr_rq++] = t;
	host_update_min(c);
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

/* t was just queued on c: start c if idle, preempt or arm the slice timer. */
static void host_check_preempt(struct sim_model *m, struct sim_core *c, struct sim_thread *t)
{
	if (!c->curr) {
		if (c->seg == SEG_NONE && c != m->active)
			host_core_go(m, c);
		return;
	}
	if (host_item_is_poll(c->curr) || host_wakeup_preempts(m, c, t)) {
		c->resched = true;
		host_kick(m, c);
		return;
	}
	host_arm_slice(m, c);
}

/* ---- wake-up placement and balancing ------------------------------------------------- */

/* select_task_rq_fair on one LLC: the previous core if idle, else the first
 * idle allowed core after it, else the previous core, else the allowed core
 * with the fewest runnable threads. */
static int host_select_core(const struct sim_model *m, const struct sim_thread *t)
{
	int n = m->cfg.n_cores, prev = t->core, best = -1;

	if (prev < 0 || !host_allowed(t, prev)) {
		prev = -1;
		for (int c = 0; c < n && prev < 0; c++)
			if (host_allowed(t, c))
				prev = c;
		if (t->core >= 0 && prev >= 0) {
			/* previous core no longer allowed: no cache to keep, pick the least loaded */
			for (int i = 0; i < n; i++) {
				int c = (t->core + i) % n;
				if (!host_allowed(t, c))
					continue;
				if (host_core_idle(&m->core[c]))
					return c;
				if (best < 0 ||
				    host_nr_running(&m->core[c]) < host_nr_running(&m->core[best]))
					best = c;
			}
			return best;
		}
	}
	if (host_core_idle(&m->core[prev]))
		return prev;
	for (int i = 1; i < n; i++) {
		int c = (prev + i) % n;
		if (host_allowed(t, c) && host_core_idle(&m->core[c]))
			return c;
	}
	return prev;
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
	c = &m->core[host_select_core(m, t)];
	host_enqueue(m, c, t, true);
	host_check_preempt(m, c, t);
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
	host_rq_remove(b, t);
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
		t->penalty_ns += SIM_VM_EXIT_NS;
		if (t->kind == SIM_T_VCPU)
			m->cnt.vm_exits++;
	}
	t->state = SIM_TS_RUNNABLE;
	c->rq[c->nr_rq++] = t;
}

static void host_switch_in(struct sim_model *m, struct sim_core *c, struct sim_thread *t)
{
	c->curr = t;
	t->state = SIM_TS_RUNNING;
	t->core = c->id;
	c->curr_since = host_now(m);
	if (c->last != t) {
		m->cnt.ctx_switches++;
		t->penalty_ns += SIM_CTX_SWITCH_NS;
		if (host_is_vm(t))
			t->penalty_ns += SIM_VCPU_LOAD_NS;
		c->last = t;
	}
	if (host_is_vm(t) && t->work_ns > 0 && !t->in_guest && host_item_in_guest(t->item)) {
		/* resuming guest code */
		t->penalty_ns += SIM_VM_ENTRY_NS;
		t->in_guest = true;
	}
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
				host_start(m, c, SEG_THREAD, t->penalty_ns + t->work_ns);
				return;
			}
			/* nothing to do: the thread sleeps */
			c->curr = NULL;
			t->state = SIM_TS_BLOCKED;
			t->in_guest = false;
			engine_cancel(&m->eng, sim_slot_slice(m, c->id));
			continue;
		}
		t = host_pick(c);
		if (!t && host_pull(m, c, true, 1))
			t = host_pick(c);
		if (!t) {
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
	m->active = NULL;
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

void host_irq(struct sim_model *m, struct sim_core *c, int q)
{
	ring_push(&c->napi, (uint32_t)q);
	c->irq_pending_ns += SIM_IRQ_ENTRY_NS;
	if (c == m->active || c->seg == SEG_IRQ)
		return;
	if (c->seg == SEG_THREAD) {
		struct sim_thread *t = c->curr;
		host_stop(m, c);
		if (host_is_vm(t) && t->in_guest) {
			/* external-interrupt exit, re-entry after the handler */
			c->irq_pending_ns += SIM_VM_EXIT_NS + SIM_VM_ENTRY_NS;
			if (t->kind == SIM_T_VCPU)
				m->cnt.vm_exits++;
		}
	}
	host_core_go(m, c);
}

/* Take t off its core (it stays detached: the caller queues or parks it). */
static void host_detach(struct sim_model *m, struct sim_thread *t)
{
	struct sim_core *c;

	if (t->state == SIM_TS_BLOCKED)
		return;
	c = &m->core[t->core];
	if (t->state == SIM_TS_RUNNABLE) {
		host_rq_remove(c, t);
		t->state = SIM_TS_BLOCKED;
		return;
	}
	if (c->seg == SEG_THREAD && c->curr == t)
		host_stop(m, c);
	host_put_prev(m, c);
	host_rq_remove(c, t);
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
	c = &m->core[host_select_core(m, t)];
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
