/* nic.c - each LC VM's NIC port: arrivals, RSS, RX rings, interrupt moderation, host NAPI, transmit. */
#include "sim/costs.h"
#include "sim/model.h"

/* The flow hash of a connection's 4-tuple (the NIC's Toeplitz hash stands in
 * as a fixed integer mix: any hash that spreads connections does). */
static uint32_t nic_hash(uint32_t conn)
{
	uint32_t h = conn * 0x9e3779b1u + 0x7f4a7c15u;

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* RSS: the default indirection table (128 entries, entry i -> queue i % n,
 * rewritten by ethtool -L) indexed by the hash's low bits. */
static int nic_rss_queue(uint32_t conn, int n)
{
	return (int)((nic_hash(conn) & 127u) % (uint32_t)n);
}

/* tun's automatic queue selection: reciprocal_scale(rxhash, numqueues). */
static int nic_tap_queue(uint32_t conn, int n)
{
	return (int)(((uint64_t)nic_hash(conn) * (uint64_t)n) >> 32);
}

/* Draw the next client send and schedule its arrival at the NIC after the
 * one-way latency and the RX link's serialization. */
static void nic_schedule_arrival(struct sim_model *m, struct sim_vm *vm)
{
	int slot = sim_slot_arrival(m, vm->id);
	uint32_t id;
	sim_ns at;

	if (vm->qps <= 0)
		return;
	if (vm->in_flight >= SIM_MAX_IN_FLIGHT) {
		/* the client cannot send: try again at the next send time */
		SIM_COUNT(m, vm, client_lost, 1);
		vm->arriving = UINT32_MAX;
		at = vm->next_send;
		vm->next_send += (sim_ns)(rng_exp(&vm->rng_arrival, 1e9 / vm->qps) + 0.5);
		engine_at(&m->eng, slot, at);
		return;
	}
	id = wl_new_request(m, vm, vm->next_send);
	if (id == UINT32_MAX)
		return; /* out of memory: the load generator stalls */
	at = vm->next_send + SIM_CLIENT_ONE_WAY_NS;
	if (at < vm->rx_wire_free)
		at = vm->rx_wire_free;
	at += wl_wire_ns(m->req[id].req_bytes);
	vm->rx_wire_free = at;
	vm->arriving = id;
	vm->next_send += (sim_ns)(rng_exp(&vm->rng_arrival, 1e9 / vm->qps) + 0.5);
	engine_at(&m->eng, slot, at);
}

void nic_set_qps(struct sim_model *m, struct sim_vm *vm, double qps)
{
	vm->qps = qps;
	if (qps > 0 && !engine_armed(&m->eng, sim_slot_arrival(m, vm->id))) {
		if (vm->next_send < m->eng.now)
			vm->next_send = m->eng.now;
		vm->next_send += (sim_ns)(rng_exp(&vm->rng_arrival, 1e9 / qps) + 0.5);
		nic_schedule_arrival(m, vm);
	}
}

/* A packet reaches vm's NIC port: RSS to a queue, DMA into its ring or drop. */
static void nic_rx(struct sim_model *m, struct sim_vm *vm, uint32_t id)
{
	int q;

	m->req[id].at[0] = m->eng.now;
	q = nic_rss_queue(m->req[id].conn, vm->n_pnq);
	if (m->cfg.path == SIM_PATH_SRIOV) {
		if (ring_push(&vm->vnq[q].grx, id) < 0) {
			nic_drop(m, id);
			return;
		}
		m->req[id].at[1] = m->eng.now; /* DMA straight into the guest */
	} else if (ring_push(&vm->pnq[q].rx, id) < 0) {
		nic_drop(m, id);
		return;
	}
	nic_raise(m, vm->pnq_base + q);
}

void nic_arrival(struct sim_model *m, struct sim_vm *vm)
{
	uint32_t id = vm->arriving;

	vm->arriving = UINT32_MAX;
	if (id != UINT32_MAX) {
		SIM_COUNT(m, vm, arrivals, 1);
		nic_rx(m, vm, id);
	}
	nic_schedule_arrival(m, vm);
}

void nic_drop(struct sim_model *m, uint32_t id)
{
	struct sim_vm *vm = &m->vm[m->req[id].vm];
	int slot = sim_slot_retx(m, vm->id);

	SIM_COUNT(m, vm, drops, 1);
	m->req[id].due = m->eng.now + SIM_TCP_RTO_NS;
	ring_push(&vm->retx, id);
	if (!engine_armed(&m->eng, slot))
		engine_at(&m->eng, slot, m->req[id].due);
}

void nic_retransmit(struct sim_model *m, struct sim_vm *vm)
{
	while (vm->retx.count > 0 && m->req[vm->retx.buf[vm->retx.head]].due <= m->eng.now)
		nic_rx(m, vm, ring_pop(&vm->retx));
	if (vm->retx.count > 0)
		engine_at(&m->eng, sim_slot_retx(m, vm->id),
			  m->req[vm->retx.buf[vm->retx.head]].due);
}

/* Arm pNQ gq's interrupt if it is enabled and has work, no sooner than the
 * moderation gap after its last one. */
void nic_raise(struct sim_model *m, int gq)
{
	struct sim_pnq *p = &m->pnq[gq];
	int slot = sim_slot_irq(m, gq);
	sim_ns at;

	if (m->cfg.path == SIM_PATH_SRIOV) {
		const struct sim_vnq *vq = &m->vm[p->vm].vnq[p->idx];
		if (!vq->girq_on || vq->grx.count == 0)
			return;
	} else if (p->masked || (p->rx.count == 0 && p->tx_clean == 0)) {
		return;
	}
	if (engine_armed(&m->eng, slot))
		return;
	at = p->last_irq + SIM_NIC_ITR_GAP_NS;
	engine_at(&m->eng, slot, at > m->eng.now ? at : m->eng.now);
}

void nic_irq_fire(struct sim_model *m, int gq)
{
	struct sim_pnq *p = &m->pnq[gq];
	struct sim_vm *vm = &m->vm[p->vm];

	if (m->cfg.path == SIM_PATH_SRIOV) {
		struct sim_vnq *vq = &vm->vnq[p->idx];
		if (!vq->girq_on || vq->grx.count == 0)
			return;
		/* the VF's MSI-X vector is auto-masked until the guest's NAPI re-enables it */
		vq->girq_on = false;
		p->last_irq = m->eng.now;
		guest_virq(m, vm, p->idx);
		return;
	}
	if (p->masked || (p->rx.count == 0 && p->tx_clean == 0))
		return;
	p->masked = true;
	p->last_irq = m->eng.now;
	SIM_COUNT(m, vm, pirqs, 1);
	host_irq(m, &m->core[p->core], gq);
}

bool nic_softirq_next(struct sim_model *m, struct sim_core *c, struct sim_nq_item *it, sim_ns *cost)
{
	while (c->napi.count > 0) {
		int gq = (int)c->napi.buf[c->napi.head];
		struct sim_pnq *p = &m->pnq[gq];

		if (p->tx_clean > 0) {
			/* the driver cleans completed TX descriptors first */
			it->kind = IRQ_CLEAN;
			*cost = (sim_ns)p->tx_clean * m->cost.host_tx_clean;
			p->tx_clean = 0;
			return true;
		}
		if (p->rx.count > 0 && c->napi_done < SIM_NAPI_BUDGET) {
			it->kind = IRQ_RX;
			it->req = ring_pop(&p->rx);
			*cost = m->cost.host_rx_pkt;
			c->napi_done++;
			return true;
		}
		ring_pop(&c->napi);
		c->napi_done = 0;
		if (p->rx.count > 0) {
			/* budget used up: to the back of the poll list */
			ring_push(&c->napi, (uint32_t)gq);
			continue;
		}
		/* napi_complete: the queue's interrupt is enabled again */
		p->masked = false;
		nic_raise(m, gq);
	}
	return false;
}

void nic_softirq_done(struct sim_model *m, struct sim_core *c, const struct sim_nq_item *it)
{
	if (it->kind == IRQ_RX) {
		struct sim_vm *vm = &m->vm[m->req[it->req].vm];

		host_touch(m, c->id, m->req[it->req].req_bytes);
		vhost_tap_rx(m, vm, nic_tap_queue(m->req[it->req].conn, vm->n_vnq), it->req);
	}
}

void nic_transmit(struct sim_model *m, uint32_t id, int core, int vf_q)
{
	struct sim_req *r = &m->req[id];
	struct sim_vm *vm = &m->vm[r->vm];
	sim_ns depart = m->eng.now;

	if (!r->live) {
		m->cnt.anomalies++; /* never expected: counted, reported, tested */
		return;
	}
	if (depart < vm->tx_wire_free)
		depart = vm->tx_wire_free;
	depart += wl_wire_ns(r->resp_bytes);
	vm->tx_wire_free = depart;
	hist_add(vm->hist, (uint64_t)(depart + SIM_CLIENT_ONE_WAY_NS - r->sent));
	SIM_COUNT(m, vm, stage_ns[SIM_STAGE_CLIENT], r->at[0] - r->sent);
	SIM_COUNT(m, vm, stage_ns[SIM_STAGE_HOST_RX], r->at[1] - r->at[0]);
	SIM_COUNT(m, vm, stage_ns[SIM_STAGE_VHOST_RX], r->at[2] - r->at[1]);
	SIM_COUNT(m, vm, stage_ns[SIM_STAGE_APP], r->at[3] - r->at[2]);
	SIM_COUNT(m, vm, stage_ns[SIM_STAGE_TX], depart + SIM_CLIENT_ONE_WAY_NS - r->at[3]);
	SIM_COUNT(m, vm, completions, 1);
	wl_free_request(m, id);
	if (vf_q < 0 && core >= 0) {
		/* XPS: the sending core's queue gets the TX completion */
		int gq = vm->pnq_base + vm->xps_q[core];
		struct sim_pnq *p = &m->pnq[gq];
		int slot = sim_slot_irq(m, gq);
		sim_ns at = p->last_irq + SIM_NIC_ITR_GAP_NS;

		p->tx_clean++;
		if (!p->masked && !engine_armed(&m->eng, slot))
			engine_at(&m->eng, slot, at > depart ? at : depart);
	}
}
