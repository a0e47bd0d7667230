/* vhost.c - vhost-net: one worker thread per vNQ copying between the tap queue and the virtqueues. */
#include "sim/costs.h"
#include "sim/model.h"

static sim_ns vhost_copy_ns(const struct sim_model *m, uint32_t bytes)
{
	return (sim_ns)bytes * m->cost.copy_per_kib / 1024;
}

/*
 * The worker's loop (drivers/vhost/net.c, simplified): handle TX and RX,
 * alternating after VHOST_NET_PKT_WEIGHT packets; signal the guest after
 * VHOST_NET_BATCH RX packets or when RX runs dry (unless the guest has its
 * interrupt off because its NAPI is polling); with both rings empty,
 * re-enable guest kicks and sleep.
 * While the worker processes, guest kicks are disabled (vhost_disable_notify),
 * which is what makes a busy vhost cheaper per packet.
 */
bool vhost_next(struct sim_model *m, struct sim_thread *t)
{
	struct sim_vnq *vq = &sim_vm_of(m, t)->vnq[t->idx];
	bool can_rx = vq->tap.count > 0 && !ring_full(&vq->grx);
	bool can_tx = vq->gtx.count > 0;

	if (vq->unsignalled > 0 && (!can_rx || vq->unsignalled >= SIM_VHOST_BATCH)) {
		if (vq->girq_on) {
			t->item = IT_VH_SIGNAL;
			t->work_ns = m->cost.vhost_signal;
			return true;
		}
		vq->unsignalled = 0; /* the guest is polling: it will see them */
	}
	if (vq->batch >= SIM_VHOST_WEIGHT) {
		vq->batch = 0;
		vq->turn_tx = !vq->turn_tx;
	}
	if (can_tx && (vq->turn_tx || !can_rx)) {
		uint32_t id = ring_pop(&vq->gtx);
		vq->cur = id;
		t->item = IT_VH_TX;
		t->work_ns = m->cost.vhost_tx_pkt + vhost_copy_ns(m, m->req[id].resp_bytes) +
			     m->cost.host_xmit_pkt;
	} else if (can_rx) {
		uint32_t id = ring_pop(&vq->tap);
		vq->cur = id;
		t->item = IT_VH_RX;
		t->work_ns = m->cost.vhost_rx_pkt + vhost_copy_ns(m, m->req[id].req_bytes);
	} else {
		vq->batch = 0;
		if (vq->tap.count > 0)
			vq->rx_stalled = true;
		if (m->cfg.path == SIM_PATH_ES2 && !vq->polled) {
			/* ES2 hybrid handling: poll a while before sleeping, kicks stay off */
			vq->polled = true;
			vq->notify = false;
			t->item = IT_VH_POLL;
			t->work_ns = SIM_ES2_POLL_NS;
			return true;
		}
		vq->notify = true;
		vq->polled = false;
		return false;
	}
	vq->batch++;
	vq->notify = false;
	vq->polled = false;
	return true;
}

void vhost_done(struct sim_model *m, struct sim_thread *t)
{
	struct sim_vm *vm = sim_vm_of(m, t);
	struct sim_vnq *vq = &vm->vnq[t->idx];
	enum sim_item it = t->item;

	t->item = IT_NONE;
	switch (it) {
	case IT_VH_RX:
		host_touch(m, t->core, 2 * m->req[vq->cur].req_bytes);
		ring_push(&vq->grx, vq->cur);
		vq->unsignalled++;
		break;
	case IT_VH_TX:
		host_touch(m, t->core, 2 * m->req[vq->cur].resp_bytes);
		nic_transmit(m, vq->cur, t->core, -1);
		break;
	case IT_VH_SIGNAL:
		vq->unsignalled = 0;
		guest_virq(m, vm, vq->id);
		break;
	default:
		break;
	}
}

void vhost_cut(struct sim_model *m, struct sim_thread *t)
{
	if (t->item == IT_VH_POLL) {
		t->item = IT_NONE;
		t->work_ns = 0;
	}
}

void vhost_notify(struct sim_model *m, struct sim_vm *vm, int q)
{
	struct sim_thread *t = vm->vnq[q].vh;

	if (!t)
		return;
	if (t->state == SIM_TS_BLOCKED)
		host_wake(m, t);
	else if (t->item == IT_VH_POLL)
		host_cut(m, t); /* the polling worker sees the work at once */
}

void vhost_tap_rx(struct sim_model *m, struct sim_vm *vm, int q, uint32_t id)
{
	if (ring_push(&vm->vnq[q].tap, id) < 0) {
		nic_drop(m, id);
		return;
	}
	m->req[id].at[1] = m->eng.now;
	vhost_notify(m, vm, q);
}

void vhost_rx_space(struct sim_model *m, struct sim_vm *vm, int q)
{
	struct sim_vnq *vq = &vm->vnq[q];

	if (vq->rx_stalled) {
		vq->rx_stalled = false;
		vhost_notify(m, vm, q);
	}
}
