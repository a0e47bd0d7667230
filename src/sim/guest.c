/* guest.c - the LC guest: vIRQ delivery, guest NAPI, worker threads, TX kicks, HLT and halt polling. */
#include <stddef.h>

#include "sim/costs.h"
#include "sim/model.h"

/*
 * Each vCPU runs, in order of priority: a pending interrupt's handler, NAPI
 * receive of the vNQs scheduled on it, wake-up IPIs and TX kicks it owes
 * (each a VM exit), then the requests of the worker threads placed on it.
 * With nothing left it executes HLT (a VM exit); KVM then polls for up to the
 * vCPU's adaptive halt-poll window before the thread sleeps.
 *
 * Workers: worker w = conn % n_vcpus (memcached hands connections to its
 * threads round-robin; nginx has one worker process per vCPU); the guest keeps
 * its workers on the active vCPUs 0..n_active-1, worker w on vCPU
 * w % n_active. A request's reply goes out on the vCPU's XPS queue,
 * vcpu % n_vnq.
 */

static sim_ns guest_copy_ns(const struct sim_model *m, uint32_t bytes)
{
	return (sim_ns)bytes * m->cost.copy_per_kib / 1024;
}

int guest_vcpu_of(const struct sim_model *m, const struct sim_vm *vm, uint32_t conn)
{
	int worker = (int)(conn % (uint32_t)m->cfg.n_vcpus);

	return worker % vm->n_active;
}

static void guest_enter(struct sim_model *m, struct sim_thread *t)
{
	if (!t->in_guest)
		host_vm_enter(m, t);
}

/* KVM's halt-polling stats (update_halt_poll_stats in virt/kvm/kvm_main.c):
 * the time a poll took goes to halt_poll_success_ns when the vCPU did not
 * have to wait (an interrupt arrived while polling), else to
 * halt_poll_fail_ns. KVM measures the poll with ktime; here it is the poll
 * item's time on the core (the switch-in costs before it are not polling). */
static void guest_poll_stats(struct sim_model *m, struct sim_vcpu *v, sim_ns polled_ns,
			     bool success)
{
	struct sim_vm *vm = &m->vm[v->vm];

	if (success)
		SIM_COUNT(m, vm, halt_poll_success_ns, polled_ns);
	else
		SIM_COUNT(m, vm, halt_poll_fail_ns, polled_ns);
	v->poll_item_ns = 0;
}

/* The vCPU leaves its halt: KVM's adaptive halt-poll update
 * (kvm_vcpu_halt: grow on short halts, shrink on long ones). */
static void guest_unhalt(struct sim_model *m, struct sim_vcpu *v)
{
	sim_ns halt_ns = m->eng.now - v->halt_start, p = v->poll_ns;
	sim_ns max = m->cfg.halt_poll_max_ns;

	if (max <= 0) {
		v->poll_ns = 0; /* halt polling off */
	} else if (halt_ns <= p) {
		/* the poll caught it */
	} else if (p > 0 && halt_ns > max) {
		p /= SIM_HALT_POLL_SHRINK;
		v->poll_ns = p < SIM_HALT_POLL_START_NS ? 0 : p;
	} else if (p < max && halt_ns < max) {
		p *= SIM_HALT_POLL_GROW;
		if (p < SIM_HALT_POLL_START_NS)
			p = SIM_HALT_POLL_START_NS;
		v->poll_ns = p > max ? max : p;
	}
	v->halted = false;
	v->polled = false;
}

/* Start (or resume) the next app request on v. */
static bool guest_app(struct sim_model *m, struct sim_vcpu *v, struct sim_thread *t)
{
	if (!v->app_busy) {
		uint32_t id = ring_pop(&v->app);
		struct sim_req *r = &m->req[id];
		int worker = (int)(r->conn % (uint32_t)m->cfg.n_vcpus);
		sim_ns w = r->app_ns + m->cost.guest_tx_pkt + guest_copy_ns(m, r->resp_bytes);

		if (m->cfg.path == SIM_PATH_SRIOV)
			w += m->cost.guest_tx_clean;
		if (worker != v->last_worker)
			w += m->cost.guest_ctx_switch;
		v->last_worker = worker;
		v->app_req = id;
		v->app_left = w;
		v->app_busy = true;
	}
	t->item = IT_G_APP;
	t->work_ns = v->app_left;
	v->app_started = m->eng.now;
	guest_enter(m, t);
	return true;
}

/* The guest's NAPI: the next packet of the vNQs scheduled on v, or false
 * when there is none or the softirq must yield to the workers (ksoftirqd
 * deferral: after SIM_SOFTIRQ_MAX_NS of continuous softirq, NAPI rounds and
 * app work alternate, each round buying the workers as much time as it took). */
static bool guest_napi(struct sim_model *m, struct sim_vcpu *v, struct sim_thread *t, bool app_work)
{
	sim_ns now = m->eng.now;

	while (v->napi.count > 0) {
		int q = (int)v->napi.buf[v->napi.head];
		struct sim_vnq *vq = &m->vm[v->vm].vnq[q];

		if (vq->grx.count > 0 && v->napi_done < SIM_NAPI_BUDGET) {
			uint32_t id = ring_pop(&vq->grx);

			if (v->softirq_since < 0)
				v->softirq_since = now;
			if (v->round_start < 0)
				v->round_start = now;
			v->cur = id;
			v->cur_q = q;
			v->napi_done++;
			t->item = IT_G_RX;
			t->work_ns = m->cost.guest_rx_pkt + guest_copy_ns(m, m->req[id].req_bytes);
			guest_enter(m, t);
			return true;
		}
		ring_pop(&v->napi);
		v->napi_done = 0;
		if (vq->grx.count > 0) {
			/* budget used: back of the list */
			ring_push(&v->napi, (uint32_t)q);
			if (app_work && v->softirq_since >= 0 &&
			    now - v->softirq_since >= SIM_SOFTIRQ_MAX_NS) {
				v->app_credit = v->round_start >= 0 ? now - v->round_start : 1;
				v->round_start = -1;
				return false;
			}
			v->round_start = -1;
			continue;
		}
		/* napi_complete: the queue may interrupt again */
		v->round_start = -1;
		vq->girq_on = true;
		if (m->cfg.path == SIM_PATH_SRIOV)
			nic_raise(m, m->vm[v->vm].pnq_base + q);
	}
	v->softirq_since = -1;
	return false;
}

bool guest_next(struct sim_model *m, struct sim_thread *t)
{
	struct sim_vm *vm = sim_vm_of(m, t);
	struct sim_vcpu *v = &vm->vcpu[t->idx];
	bool app_work;

	if (v->virq || v->ipi) {
		if (v->halted)
			guest_unhalt(m, v);
		t->item = IT_G_IRQ;
		t->work_ns = m->cost.guest_irq;
		guest_enter(m, t);
		return true;
	}
	if (v->kick_q >= 0) {
		/* virtqueue_kick in the reply's transmit path */
		t->item = IT_G_KICK;
		t->work_ns = m->cost.vm_exit + m->cost.exit_handler + m->cost.vm_entry;
		guest_enter(m, t);
		return true;
	}
	if (v->ipi_out.count > 0) {
		/* wake-ups sent while delivering packets to sockets */
		t->item = IT_G_IPI;
		t->work_ns = m->cost.vm_exit + m->cost.exit_handler + m->cost.vm_entry;
		guest_enter(m, t);
		return true;
	}
	app_work = v->app_busy || v->app.count > 0;
	if (app_work && v->app_credit > 0)
		return guest_app(m, v, t);
	v->app_credit = 0;
	if (guest_napi(m, v, t, app_work))
		return true;
	if (app_work)
		return guest_app(m, v, t);
	if (v->napi.count > 0)
		return guest_napi(m, v, t, false);
	if (!v->halted) {
		/* HLT: the exit starts now */
		t->item = IT_G_HLT;
		t->work_ns = m->cost.vm_exit + m->cost.exit_handler;
		t->in_guest = false;
		return true;
	}
	if (!v->polled) {
		v->polled = true;
		/* kvm_vcpu_can_poll: only while no other task wants this core */
		if (v->poll_ns > 0 && m->core[t->core].nr_rq == 0) {
			t->item = IT_G_POLL;
			t->work_ns = v->poll_ns;
			v->poll_item_ns = v->poll_ns;
			return true;
		}
	}
	return false;
}

/* Post an interrupt (vIRQ or IPI) to v. posted: delivered by posted
 * interrupts (no VM exit when v is running). */
static void guest_deliver(struct sim_model *m, struct sim_vcpu *v, bool posted)
{
	struct sim_thread *t = v->t;
	struct sim_core *c;

	if (v->irq_posted < 0)
		v->irq_posted = m->eng.now;
	switch (t->state) {
	case SIM_TS_BLOCKED:
		host_wake(m, t); /* kvm_vcpu_kick: wake the halted vCPU */
		break;
	case SIM_TS_RUNNABLE:
		break; /* descheduled: the interrupt waits until the vCPU runs */
	case SIM_TS_RUNNING:
		c = &m->core[t->core];
		if (t->item == IT_G_POLL) {
			host_cut(m, t); /* the halt poll sees it */
			break;
		}
		if (c->curr != t || c->seg != SEG_THREAD || !t->in_guest ||
		    (t->item != IT_G_IRQ && t->item != IT_G_RX && t->item != IT_G_APP))
			break; /* out of guest code now: injected at the next entry */
		if (!posted) {
			/* kvm_vcpu_kick(): a reschedule IPI to the vCPU's CPU forces
			 * an external-interrupt exit; the interrupt is injected at the
			 * re-entry (which the IPI makes flush L1D) */
			SIM_COUNT(m, &m->vm[v->vm], vm_exits, 1);
			if (m->waker_core != c)
				host_ipi(m, c, false);
			else
				c->l1tf_flush = true;
		}
		host_interrupt(m, t, posted ? 0 : m->cost.vm_exit + host_reentry_cost(m, t),
			       t->item == IT_G_APP);
		break;
	}
}

/* A running, in-guest vCPU other than v for ES2's redirection, or NULL. */
static struct sim_vcpu *guest_running_vcpu(struct sim_model *m, struct sim_vm *vm)
{
	for (int i = 0; i < vm->n_active; i++) {
		struct sim_thread *t = vm->vcpu[i].t;
		if (t->state == SIM_TS_RUNNING && t->in_guest && m->core[t->core].curr == t &&
		    m->core[t->core].seg == SEG_THREAD)
			return &vm->vcpu[i];
	}
	return NULL;
}

void guest_virq(struct sim_model *m, struct sim_vm *vm, int q)
{
	struct sim_vcpu *v = &vm->vcpu[vm->vnq[q].vcpu];
	uint64_t bit = UINT64_C(1) << q;

	if (m->cfg.path == SIM_PATH_ES2 && v->t->state != SIM_TS_RUNNING) {
		/* ES2 intelligent redirection: to a vCPU that is running now */
		struct sim_vcpu *u = guest_running_vcpu(m, vm);
		if (u)
			v = u;
	}
	if (v->virq & bit)
		return; /* already pending: the interrupts coalesce */
	SIM_COUNT(m, vm, virqs, 1);
	v->virq |= bit;
	guest_deliver(m, v, m->cfg.path != SIM_PATH_VIRTIO);
}

void guest_done(struct sim_model *m, struct sim_thread *t)
{
	struct sim_vm *vm = sim_vm_of(m, t);
	struct sim_vcpu *v = &vm->vcpu[t->idx];
	enum sim_item it = t->item;

	t->item = IT_NONE;
	switch (it) {
	case IT_G_IRQ: {
		sim_ns wait = m->eng.now - v->irq_posted;

		for (int q = 0; v->virq; q++) {
			uint64_t bit = UINT64_C(1) << q;
			if (!(v->virq & bit))
				continue;
			v->virq &= ~bit;
			if (vm->vnq[q].girq_on || m->cfg.path == SIM_PATH_SRIOV) {
				/* napi_schedule: the queue's interrupt stays off while polling */
				vm->vnq[q].girq_on = false;
				ring_push(&v->napi, (uint32_t)q);
			}
		}
		v->ipi = false;
		if (v->irq_posted >= 0) {
			SIM_COUNT(m, vm, virq_waits, 1);
			SIM_COUNT(m, vm, virq_wait_ns, wait);
			if (wait > m->cnt.virq_wait_max_ns)
				m->cnt.virq_wait_max_ns = wait;
			if (wait > vm->cnt.virq_wait_max_ns)
				vm->cnt.virq_wait_max_ns = wait;
		}
		v->irq_posted = -1;
		v->irq_taken_at = m->eng.now;
		break;
	}
	case IT_G_RX: {
		uint32_t id = v->cur;

		host_touch(m, t->core, 2 * m->req[id].req_bytes);
		int tv = guest_vcpu_of(m, vm, m->req[id].conn);
		struct sim_vcpu *target = &vm->vcpu[tv];

		if (m->cfg.path != SIM_PATH_SRIOV)
			vhost_rx_space(m, vm, v->cur_q);
		ring_push(&target->app, id);
		m->req[id].at[2] = m->eng.now;
		if (target != v && target->halted && !target->ipi && !target->ipi_queued) {
			target->ipi_queued = true;
			ring_push(&v->ipi_out, (uint32_t)tv);
		}
		break;
	}
	case IT_G_IPI: {
		struct sim_vcpu *target = &vm->vcpu[ring_pop(&v->ipi_out)];

		target->ipi_queued = false;
		SIM_COUNT(m, vm, ipis, 1);
		SIM_COUNT(m, vm, vm_exits, 1);
		if (!target->ipi) {
			target->ipi = true;
			guest_deliver(m, target, m->cfg.path != SIM_PATH_VIRTIO);
		}
		break;
	}
	case IT_G_KICK: {
		int q = v->kick_q;

		v->kick_q = -1;
		SIM_COUNT(m, vm, kicks, 1);
		SIM_COUNT(m, vm, vm_exits, 1);
		vhost_notify(m, vm, q);
		break;
	}
	case IT_G_APP: {
		uint32_t id = v->app_req;

		host_touch(m, t->core, 2 * m->req[id].resp_bytes + m->req[id].req_bytes);
		if (v->app_credit > 0)
			v->app_credit -= m->eng.now - v->app_started;
		v->app_busy = false;
		v->app_left = 0;
		m->req[id].at[3] = m->eng.now;
		if (m->cfg.path == SIM_PATH_SRIOV) {
			nic_transmit(m, id, -1, v->id % vm->n_pnq);
		} else {
			int q = v->id % vm->n_vnq;
			struct sim_vnq *vq = &vm->vnq[q];

			ring_push(&vq->gtx, id);
			if (vq->notify)
				v->kick_q = q; /* virtqueue_kick: a VM exit */
			else if (vq->vh->item == IT_VH_POLL)
				vhost_notify(m, vm,
					     q); /* ES2: the polling worker sees it, no exit */
		}
		break;
	}
	case IT_G_HLT:
		SIM_COUNT(m, vm, vm_exits, 1);
		v->halted = true;
		v->polled = false;
		v->halt_start = m->eng.now;
		break;
	case IT_G_POLL:
		/* the window ran out: the thread sleeps */
		guest_poll_stats(m, v, v->poll_item_ns, false);
		break;
	default:
		break;
	}
}

void guest_cut(struct sim_model *m, struct sim_thread *t)
{
	struct sim_vm *vm = sim_vm_of(m, t);
	struct sim_vcpu *v = &vm->vcpu[t->idx];

	if (t->item == IT_G_APP) {
		if (v->app_credit > 0)
			v->app_credit -= m->eng.now - v->app_started;
		v->app_left = t->work_ns > 0 ? t->work_ns : 1;
		t->item = IT_NONE;
		t->work_ns = 0;
	} else if (t->item == IT_G_POLL) {
		/* an interrupt arrived (success) or another task wants the core */
		sim_ns polled = v->poll_item_ns - t->work_ns;
		guest_poll_stats(m, v, polled > 0 ? polled : 0, v->virq != 0 || v->ipi);
		t->item = IT_NONE;
		t->work_ns = 0;
	}
}

void guest_set_active(struct sim_model *m, struct sim_vm *vm, int n)
{
	if (n == vm->n_active)
		return;
	vm->n_active = n;
	/* the guest migrates its workers: queued requests follow them */
	for (int i = 0; i < m->cfg.n_vcpus; i++) {
		struct sim_vcpu *v = &vm->vcpu[i];
		uint32_t k = v->app.count;

		for (uint32_t j = 0; j < k; j++) {
			uint32_t id = ring_pop(&v->app);
			int tv = guest_vcpu_of(m, vm, m->req[id].conn);

			ring_push(&vm->vcpu[tv].app, id);
			if (tv != i && vm->vcpu[tv].halted && !vm->vcpu[tv].ipi) {
				vm->vcpu[tv].ipi = true;
				guest_deliver(m, &vm->vcpu[tv], true);
			}
		}
	}
}
