/* model.c - build and tear down the simulated host, and run its event loop. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/costs.h"
#include "sim/model.h"

const char *const sim_stage_names[SIM_STAGES] = {
	"client->NIC",
	"host RX (NIC, softirq)",
	"to worker (vhost, vIRQ, guest NAPI)",
	"worker (queue, service, TX stack)",
	"TX (kick, vhost, xmit, wire)",
};

const char *const sim_knob_names[SIM_KNOBS] = {
	"ctx-switch", "vcpu-load", "vm-exit",	"exit-handler", "irq-entry", "host-pkt",
	"vhost-pkt",  "copy",	   "guest-pkt", "app",		"refill",    "working-set",
	"ibpb",	      "l1d-flush", "vmclear",	"sis-scan",	"c1-power",
};

const char *const sim_knob_covers[SIM_KNOBS] = {
	"SIM_CTX_SWITCH_NS, SIM_GUEST_CTX_SWITCH_NS",
	"SIM_VCPU_LOAD_NS",
	"SIM_VM_EXIT_NS, SIM_VM_ENTRY_NS",
	"SIM_EXIT_HANDLER_NS",
	"SIM_IRQ_ENTRY_NS",
	"SIM_HOST_RX_PKT_NS, SIM_HOST_XMIT_PKT_NS, SIM_HOST_TX_CLEAN_NS",
	"SIM_VHOST_RX_PKT_NS, SIM_VHOST_TX_PKT_NS, SIM_VHOST_SIGNAL_NS",
	"SIM_COPY_NS_PER_KIB",
	"SIM_GUEST_RX_PKT_NS, SIM_GUEST_TX_PKT_NS, SIM_GUEST_IRQ_NS, SIM_GUEST_TX_CLEAN_NS",
	"SIM_MEMCACHED_APP_NS(_PER_KB), SIM_NGINX_APP_NS",
	"SIM_REFILL_NS_PER_KIB, SIM_TLB_WALK_NS, SIM_TLB_WALK_GUEST_NS",
	"SIM_WS_*_KIB, SIM_TLB_VCPU/VHOST/SOFTIRQ/BE",
	"SIM_IBPB_NS",
	"SIM_L1D_FLUSH_NS",
	"SIM_VMCLEAR_IPI_NS, SIM_VMCLEAR_REMOTE_NS, SIM_VCPU_MIGRATE_NS",
	"SIM_SIS_SCAN_NS_PER_CPU",
	"SIM_CORE_C1_W",
};

/* The costs from costs.h, each scaled by its knob. */
static void model_costs(struct sim_cost *k, const double *knob)
{
	double s[SIM_KNOBS];

	for (int i = 0; i < SIM_KNOBS; i++)
		s[i] = knob[i] > 0 ? knob[i] : 1.0;
#define MODEL_K(x, i) ((sim_ns)llround((double)(x)*s[i]))
	k->ctx_switch = MODEL_K(SIM_CTX_SWITCH_NS, SIM_K_CTX_SWITCH);
	k->guest_ctx_switch = MODEL_K(SIM_GUEST_CTX_SWITCH_NS, SIM_K_CTX_SWITCH);
	k->vcpu_load = MODEL_K(SIM_VCPU_LOAD_NS, SIM_K_VCPU_LOAD);
	k->vm_exit = MODEL_K(SIM_VM_EXIT_NS, SIM_K_VM_EXIT);
	k->vm_entry = MODEL_K(SIM_VM_ENTRY_NS, SIM_K_VM_EXIT);
	k->exit_handler = MODEL_K(SIM_EXIT_HANDLER_NS, SIM_K_EXIT_HANDLER);
	k->irq_entry = MODEL_K(SIM_IRQ_ENTRY_NS, SIM_K_IRQ_ENTRY);
	k->host_rx_pkt = MODEL_K(SIM_HOST_RX_PKT_NS, SIM_K_HOST_PKT);
	k->host_xmit_pkt = MODEL_K(SIM_HOST_XMIT_PKT_NS, SIM_K_HOST_PKT);
	k->host_tx_clean = MODEL_K(SIM_HOST_TX_CLEAN_NS, SIM_K_HOST_PKT);
	k->vhost_rx_pkt = MODEL_K(SIM_VHOST_RX_PKT_NS, SIM_K_VHOST_PKT);
	k->vhost_tx_pkt = MODEL_K(SIM_VHOST_TX_PKT_NS, SIM_K_VHOST_PKT);
	k->vhost_signal = MODEL_K(SIM_VHOST_SIGNAL_NS, SIM_K_VHOST_PKT);
	k->copy_per_kib = MODEL_K(SIM_COPY_NS_PER_KIB, SIM_K_COPY);
	k->guest_irq = MODEL_K(SIM_GUEST_IRQ_NS, SIM_K_GUEST_PKT);
	k->guest_rx_pkt = MODEL_K(SIM_GUEST_RX_PKT_NS, SIM_K_GUEST_PKT);
	k->guest_tx_pkt = MODEL_K(SIM_GUEST_TX_PKT_NS, SIM_K_GUEST_PKT);
	k->guest_tx_clean = MODEL_K(SIM_GUEST_TX_CLEAN_NS, SIM_K_GUEST_PKT);
	k->memcached_app = MODEL_K(SIM_MEMCACHED_APP_NS, SIM_K_APP);
	k->memcached_app_per_kb = MODEL_K(SIM_MEMCACHED_APP_NS_PER_KB, SIM_K_APP);
	k->nginx_app = MODEL_K(SIM_NGINX_APP_NS, SIM_K_APP);
	k->refill_per_kib = (double)SIM_REFILL_NS_PER_KIB * s[SIM_K_REFILL];
	k->tlb_walk = (double)SIM_TLB_WALK_NS * s[SIM_K_REFILL];
	k->tlb_walk_guest = (double)SIM_TLB_WALK_GUEST_NS * s[SIM_K_REFILL];
	k->ws_bytes[SIM_T_VCPU] = SIM_WS_VCPU_KIB * 1024.0 * s[SIM_K_WORKING_SET];
	k->ws_bytes[SIM_T_VHOST] = SIM_WS_VHOST_KIB * 1024.0 * s[SIM_K_WORKING_SET];
	k->ws_bytes[SIM_T_BE] = SIM_WS_BE_KIB * 1024.0 * s[SIM_K_WORKING_SET];
	k->ws_bytes[SIM_T_KSOFTIRQD] = SIM_WS_SOFTIRQ_KIB * 1024.0 * s[SIM_K_WORKING_SET];
	k->ws_bytes[SIM_T_KINDS] = SIM_WS_SOFTIRQ_KIB * 1024.0 * s[SIM_K_WORKING_SET];
	k->tlb_entries[SIM_T_VCPU] = SIM_TLB_VCPU * s[SIM_K_WORKING_SET];
	k->tlb_entries[SIM_T_VHOST] = SIM_TLB_VHOST * s[SIM_K_WORKING_SET];
	k->tlb_entries[SIM_T_BE] = SIM_TLB_BE * s[SIM_K_WORKING_SET];
	k->tlb_entries[SIM_T_KSOFTIRQD] = SIM_TLB_SOFTIRQ * s[SIM_K_WORKING_SET];
	k->tlb_entries[SIM_T_KINDS] = SIM_TLB_SOFTIRQ * s[SIM_K_WORKING_SET];
	k->be_stream_per_ns = SIM_BE_STREAM_BYTES_PER_NS * s[SIM_K_WORKING_SET];
	k->ibpb = MODEL_K(SIM_IBPB_NS, SIM_K_IBPB);
	k->l1d_flush = MODEL_K(SIM_L1D_FLUSH_NS, SIM_K_L1D_FLUSH);
	k->vmclear_ipi = MODEL_K(SIM_VMCLEAR_IPI_NS, SIM_K_VMCLEAR);
	k->vmclear_remote = MODEL_K(SIM_VMCLEAR_REMOTE_NS, SIM_K_VMCLEAR);
	k->vcpu_migrate = MODEL_K(SIM_VCPU_MIGRATE_NS, SIM_K_VMCLEAR);
	k->sis_scan_per_cpu = MODEL_K(SIM_SIS_SCAN_NS_PER_CPU, SIM_K_SIS_SCAN);
	k->core_c1_w = SIM_CORE_C1_W * s[SIM_K_C1_POWER];
#undef MODEL_K
}

/* Random-number streams (one per purpose, see rng_seed). */
enum { MODEL_RNG_ARRIVAL = 1, MODEL_RNG_CONN, MODEL_RNG_SIZE };

static int model_check(const struct sim_model_config *cfg, char *err, size_t errlen)
{
	if (cfg->n_cores < 1 || cfg->n_cores > SIM_MAX_CORES) {
		snprintf(err, errlen, "cores = %d is out of range [1, %d]", cfg->n_cores,
			 SIM_MAX_CORES);
		return -1;
	}
	if (cfg->n_vcpus < 1 || cfg->n_vcpus > SIM_MAX_CORES) {
		snprintf(err, errlen, "vcpus = %d is out of range [1, %d]", cfg->n_vcpus,
			 SIM_MAX_CORES);
		return -1;
	}
	if (cfg->n_queues < 1 || cfg->n_queues > SIM_MAX_CORES) {
		snprintf(err, errlen, "queues = %d is out of range [1, %d]", cfg->n_queues,
			 SIM_MAX_CORES);
		return -1;
	}
	if (cfg->n_vms < 0 || cfg->n_vms > SIM_MAX_VMS) {
		snprintf(err, errlen, "%d LC VMs is out of range [1, %d]", cfg->n_vms, SIM_MAX_VMS);
		return -1;
	}
	if (cfg->n_be_vcpus < 0 || cfg->n_be_vcpus > SIM_MAX_CORES) {
		snprintf(err, errlen, "BE vcpus = %d is out of range [0, %d]", cfg->n_be_vcpus,
			 SIM_MAX_CORES);
		return -1;
	}
	for (int i = 0; i < SIM_KNOBS; i++) {
		if (!(cfg->knob[i] >= 0 && cfg->knob[i] <= 100)) {
			snprintf(err, errlen, "scale of %s = %g is out of range (0, 100]",
				 sim_knob_names[i], cfg->knob[i]);
			return -1;
		}
	}
	if (cfg->fixed_pnq < 0 || cfg->fixed_pnq > cfg->n_queues) {
		snprintf(err, errlen, "%d pNQs: more than the %d queues the host has (--queues)",
			 cfg->fixed_pnq, cfg->n_queues);
		return -1;
	}
	if (cfg->fixed_vnq < 0 || cfg->fixed_vnq > cfg->n_queues) {
		snprintf(err, errlen, "%d vNQs: more than the %d queues the VM has (--queues)",
			 cfg->fixed_vnq, cfg->n_queues);
		return -1;
	}
	if (cfg->n_conns < 1 || cfg->n_conns > 1000000) {
		snprintf(err, errlen, "connections = %d is out of range [1, 1000000]",
			 cfg->n_conns);
		return -1;
	}
	return 0;
}

/* VM v's vCPUs and virtio queues (their threads are set up by model_init). */
static bool model_vm_init(struct sim_model *m, struct sim_vm *vm, int v, int n_vnq)
{
	const struct sim_model_config *cfg = &m->cfg;
	bool oom = false;

	vm->id = v;
	vm->arriving = UINT32_MAX;
	vm->vcpu = calloc((size_t)cfg->n_vcpus, sizeof(*vm->vcpu));
	vm->vnq = calloc((size_t)n_vnq, sizeof(*vm->vnq));
	vm->hist = malloc(sizeof(*vm->hist));
	vm->pnq_base = v * m->n_irq;
	vm->pnq = &m->pnq[vm->pnq_base];
	if (!vm->vcpu || !vm->vnq || !vm->hist || ring_init(&vm->retx, 0) < 0)
		return false;
	hist_init(vm->hist);
	for (int i = 0; i < cfg->n_vcpus; i++) {
		struct sim_vcpu *c = &vm->vcpu[i];
		c->id = i;
		c->vm = v;
		c->kick_q = -1;
		c->last_worker = -1;
		c->irq_posted = -1;
		c->irq_taken_at = -1;
		c->softirq_since = -1;
		c->round_start = -1;
		c->halted = true; /* a booted, idle guest */
		c->polled = true;
		oom |= ring_init(&c->napi, 0) < 0 || ring_init(&c->app, 0) < 0 ||
		       ring_init(&c->ipi_out, 0) < 0;
	}
	for (int q = 0; q < n_vnq; q++) {
		struct sim_vnq *vq = &vm->vnq[q];
		vq->id = q;
		vq->vm = v;
		vq->notify = true;
		vq->girq_on = true;
		oom |= ring_init(&vq->tap, SIM_TAP_QUEUE) < 0 ||
		       ring_init(&vq->grx,
				 cfg->path == SIM_PATH_SRIOV ? SIM_NIC_RING : SIM_VIRTQUEUE) < 0 ||
		       ring_init(&vq->gtx, 0) < 0;
	}
	for (int q = 0; q < m->n_irq; q++) {
		vm->pnq[q].last_irq = -SIM_NIC_ITR_GAP_NS;
		vm->pnq[q].vm = v;
		vm->pnq[q].idx = q;
		oom |= ring_init(&vm->pnq[q].rx, SIM_NIC_RING) < 0;
	}
	/* random streams: VM 0 keeps the purposes 1..3 it always had */
	rng_seed(&vm->rng_arrival, cfg->seed, MODEL_RNG_ARRIVAL + 16 * (uint64_t)v);
	rng_seed(&vm->rng_conn, cfg->seed, MODEL_RNG_CONN + 16 * (uint64_t)v);
	rng_seed(&vm->rng_size, cfg->seed, MODEL_RNG_SIZE + 16 * (uint64_t)v);
	vm->n_pnq = 1;
	vm->n_vnq = 1;
	vm->n_active = 1;
	return !oom;
}

int model_init(struct sim_model *m, const struct sim_model_config *cfg, char *err, size_t errlen)
{
	int n_vnq, n_vh, nt = 0, n_vms;
	bool oom = false;

	memset(m, 0, sizeof(*m));
	if (model_check(cfg, err, errlen) < 0)
		return -1;
	m->cfg = *cfg;
	n_vms = cfg->n_vms > 0 ? cfg->n_vms : 1;
	m->cfg.n_vms = n_vms;
	model_costs(&m->cost, cfg->knob);
	n_vnq = cfg->path == SIM_PATH_SRIOV ? SIM_SRIOV_QUEUES : cfg->n_queues;
	n_vh = cfg->path == SIM_PATH_SRIOV ? 0 : n_vnq;
	m->n_irq = cfg->path == SIM_PATH_SRIOV ? SIM_SRIOV_QUEUES : cfg->n_queues;
	m->n_threads = n_vms * (cfg->n_vcpus + n_vh) + cfg->n_be_vcpus + cfg->n_cores;
	m->free_req = UINT32_MAX;
	m->thr = calloc((size_t)m->n_threads, sizeof(*m->thr));
	m->core = calloc((size_t)cfg->n_cores, sizeof(*m->core));
	m->vm = calloc((size_t)n_vms, sizeof(*m->vm));
	m->pnq = calloc((size_t)(n_vms * m->n_irq), sizeof(*m->pnq));
	if (!m->thr || !m->core || !m->vm || !m->pnq ||
	    engine_init(&m->eng, SIM_SLOT_FIXED + 2 * n_vms + 2 * cfg->n_cores + n_vms * m->n_irq) <
		    0)
		goto oom;
	m->n_vms = n_vms;

	for (int c = 0; c < cfg->n_cores; c++) {
		struct sim_core *k = &m->core[c];
		k->id = c;
		k->rq = calloc((size_t)m->n_threads, sizeof(*k->rq));
		oom |= !k->rq || ring_init(&k->napi, 0) < 0;
		k->idle_start = 0;
		k->softirq_since = -1;
		k->avg_idle = 2 * SIM_SCHED_MIGRATION_COST_NS; /* sched_init() */
		k->idle_stamp = -1;
		k->current_vmcs = -1;
		k->idle_wk = (struct sim_wakee){ .last_wakee = -1, .recent_used_cpu = -1 };
	}
	for (int i = 0; i < m->n_threads; i++) {
		struct sim_thread *t = &m->thr[i];
		t->id = i;
		t->core = -1;
		t->vm = -1;
		t->ws_core = -1;
		t->vmcs_core = -1;
		t->wk = (struct sim_wakee){ .last_wakee = -1, .recent_used_cpu = -1 };
		if (cfg->track_cores) {
			t->run_on_ns = calloc((size_t)cfg->n_cores, sizeof(*t->run_on_ns));
			oom |= !t->run_on_ns;
		}
	}
	for (int v = 0; v < n_vms; v++) {
		struct sim_vm *vm = &m->vm[v];

		if (!model_vm_init(m, vm, v, n_vnq)) {
			oom = true;
			continue;
		}
		for (int i = 0; i < cfg->n_vcpus; i++, nt++) {
			vm->vcpu[i].t = &m->thr[nt];
			m->thr[nt].kind = SIM_T_VCPU;
			m->thr[nt].idx = i;
			m->thr[nt].vm = v;
		}
		for (int q = 0; q < n_vh; q++, nt++) {
			vm->vnq[q].vh = &m->thr[nt];
			m->thr[nt].kind = SIM_T_VHOST;
			m->thr[nt].idx = q;
			m->thr[nt].vm = v;
		}
	}
	if (oom)
		goto oom;
	m->be = cfg->n_be_vcpus > 0 ? &m->thr[nt] : NULL;
	for (int i = 0; i < cfg->n_be_vcpus; i++, nt++) {
		m->thr[nt].kind = SIM_T_BE;
		m->thr[nt].idx = i;
		m->thr[nt].frozen = true;
	}
	for (int c = 0; c < cfg->n_cores; c++, nt++) {
		struct sim_thread *t = &m->thr[nt];
		t->kind = SIM_T_KSOFTIRQD;
		t->idx = c;
		t->allowed = UINT64_C(1) << c;
		m->core[c].ksoftirqd = t;
	}
	engine_at(&m->eng, SIM_SLOT_LB, SIM_LB_INTERVAL_NS);
	return 0;
oom:
	model_free(m);
	snprintf(err, errlen, "out of memory building the model");
	return -1;
}

void model_free(struct sim_model *m)
{
	int n_vnq = m->cfg.path == SIM_PATH_SRIOV ? SIM_SRIOV_QUEUES : m->cfg.n_queues;

	if (m->core)
		for (int c = 0; c < m->cfg.n_cores; c++) {
			free(m->core[c].rq);
			ring_free(&m->core[c].napi);
		}
	if (m->thr)
		for (int i = 0; i < m->n_threads; i++)
			free(m->thr[i].run_on_ns);
	for (int v = 0; m->vm && v < m->cfg.n_vms; v++) {
		struct sim_vm *vm = &m->vm[v];
		if (vm->vcpu)
			for (int i = 0; i < m->cfg.n_vcpus; i++) {
				ring_free(&vm->vcpu[i].napi);
				ring_free(&vm->vcpu[i].app);
				ring_free(&vm->vcpu[i].ipi_out);
			}
		if (vm->vnq)
			for (int q = 0; q < n_vnq; q++) {
				ring_free(&vm->vnq[q].tap);
				ring_free(&vm->vnq[q].grx);
				ring_free(&vm->vnq[q].gtx);
			}
		ring_free(&vm->retx);
		free(vm->vcpu);
		free(vm->vnq);
		free(vm->hist);
	}
	if (m->pnq)
		for (int q = 0; q < m->cfg.n_vms * m->n_irq; q++)
			ring_free(&m->pnq[q].rx);
	engine_free(&m->eng);
	free(m->thr);
	free(m->core);
	free(m->vm);
	free(m->pnq);
	free(m->req);
	memset(m, 0, sizeof(*m));
}

void model_run_until(struct sim_model *m, sim_ns until)
{
	int n = m->cfg.n_cores, v2 = 2 * m->n_vms, slot;

	while ((slot = engine_pop(&m->eng, until)) >= 0) {
		int k = slot - SIM_SLOT_FIXED;

		if (slot == SIM_SLOT_LB)
			host_balance(m);
		else if (k < v2 && (k & 1) == 0)
			nic_arrival(m, &m->vm[k / 2]);
		else if (k < v2)
			nic_retransmit(m, &m->vm[k / 2]);
		else if ((k -= v2) < n)
			host_core_done(m, &m->core[k]);
		else if (k < 2 * n)
			host_slice(m, &m->core[k - n]);
		else
			nic_irq_fire(m, k - 2 * n);
	}
}

void model_flush(struct sim_model *m)
{
	for (int c = 0; c < m->cfg.n_cores; c++)
		host_flush(m, &m->core[c]);
}

static const char *const model_item_names[] = {
	"-",	"be",	 "vh_rx",  "vh_tx", "vh_signal", "vh_poll", "g_irq",
	"g_rx", "g_app", "g_kick", "g_ipi", "g_hlt",	 "g_poll",  "ksoftirq",
};

void model_dump(const struct sim_model *m, FILE *f)
{
	fprintf(f, "heap n=%d\n", m->eng.n);
	fprintf(f, "t=%lld ns events=%llu vms=%d\n", (long long)m->eng.now,
		(unsigned long long)m->eng.events, m->n_vms);
	for (int c = 0; c < m->cfg.n_cores; c++) {
		const struct sim_core *k = &m->core[c];
		fprintf(f,
			"core %d seg=%d curr=%d nr_rq=%d napi=%u irq_pending=%lld busy=%lld "
			"idle_start=%lld done@%lld irq_item=%d left=%lld\n",
			c, k->seg, k->curr ? k->curr->id : -1, k->nr_rq, k->napi.count,
			(long long)k->irq_pending_ns, (long long)k->busy_ns,
			(long long)k->idle_start,
			(long long)engine_when(&m->eng, sim_slot_done(m, c)), k->irq.kind,
			(long long)k->irq_left);
	}
	for (int i = 0; i < m->n_threads; i++) {
		const struct sim_thread *t = &m->thr[i];
		fprintf(f,
			"thread %d kind=%d vm=%d idx=%d state=%d core=%d item=%s work=%lld "
			"pen=%lld "
			"allowed=%llx run=%lld\n",
			t->id, t->kind, t->vm, t->idx, t->state, t->core, model_item_names[t->item],
			(long long)t->work_ns, (long long)t->penalty_ns,
			(unsigned long long)t->allowed, (long long)t->run_ns);
	}
	for (int v = 0; v < m->n_vms; v++) {
		const struct sim_vm *vm = &m->vm[v];

		fprintf(f, "vm %d pnq=%d vnq=%d active=%d in_flight=%u retx=%u\n", v, vm->n_pnq,
			vm->n_vnq, vm->n_active, vm->in_flight, vm->retx.count);
		for (int i = 0; i < m->cfg.n_vcpus; i++) {
			const struct sim_vcpu *c = &vm->vcpu[i];
			fprintf(f,
				"vcpu %d virq=%llx ipi=%d napi=%u app=%u busy=%d halted=%d "
				"polled=%d poll_ns=%lld kick=%d ipi_out=%u\n",
				i, (unsigned long long)c->virq, c->ipi, c->napi.count, c->app.count,
				c->app_busy, c->halted, c->polled, (long long)c->poll_ns, c->kick_q,
				c->ipi_out.count);
		}
		for (int q = 0; q < m->n_irq; q++) {
			const struct sim_vnq *vq = &vm->vnq[q];
			const struct sim_pnq *p = &vm->pnq[q];
			fprintf(f,
				"q %d pnq rx=%u clean=%u masked=%d core=%d | vnq tap=%u grx=%u "
				"gtx=%u notify=%d girq=%d stalled=%d vcpu=%d\n",
				q, p->rx.count, p->tx_clean, p->masked, p->core, vq->tap.count,
				vq->grx.count, vq->gtx.count, vq->notify, vq->girq_on,
				vq->rx_stalled, vq->vcpu);
		}
	}
}
