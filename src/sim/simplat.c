/* simplat.c - the simulator as a vspace platform: struct vs_platform_ops over the host model. */
#include "sim/simplat.h"

#include <string.h>

#include "sim/costs.h"

static uint64_t simplat_mask(const struct vs_cpuset *s)
{
	/* the model has at most SIM_MAX_CORES (64) cores: word 0 is all of it */
	return s->bits[0];
}

static int simplat_sample(struct vs_platform *base, struct vs_host_sample *s)
{
	struct sim_platform *p = vs_container_of(base, struct sim_platform, base);
	struct sim_model *m = p->m;
	struct sim_period *per = &p->per;
	sim_ns d[SIM_MAX_CORES], period = m->eng.now - p->last_at, run = 0;
	double bv = 0, bn = 0, sec;

	if (period <= 0 || s->n_workloads < 1)
		return -1;
	model_flush(m);
	sec = (double)period * 1e-9;
	for (int c = 0; c < m->cfg.n_cores; c++) {
		d[c] = m->core[c].busy_ns - p->busy_prev[c];
		p->busy_prev[c] = m->core[c].busy_ns;
		if ((p->vcpu_mask >> c) & 1)
			bv += (double)d[c];
		if ((p->nq_mask >> c) & 1)
			bn += (double)d[c];
	}
	for (int i = 0; i < m->cfg.n_vcpus; i++)
		run += m->vm[0].vcpu[i].t->run_ns;
	memset(per, 0, sizeof(*per));
	per->period_s = sec;
	per->alloc = p->alloc;
	per->busy_vcpu_threads = (double)(run - p->vcpu_run_prev) * 1e-9 / sec;
	p->vcpu_run_prev = run;
	if (p->alloc.layout == VS_LAYOUT_ISOLATED) {
		per->busy_vcpu = bv * 1e-9 / sec;
		per->busy_nq = bn * 1e-9 / sec;
	} else {
		/* one set of cores: split its busy time by thread accounting */
		double all = 0;
		for (int c = 0; c < m->cfg.n_cores; c++)
			if (((p->vcpu_mask | p->nq_mask) >> c) & 1)
				all += (double)d[c];
		per->busy_vcpu = per->busy_vcpu_threads;
		per->busy_nq = all * 1e-9 / sec - per->busy_vcpu;
		if (per->busy_nq < 0)
			per->busy_nq = 0;
	}
	{
		/* KVM's polling counters, read as the daemon reads debugfs */
		uint64_t delta = 0;
		sim_ns total = m->cnt.halt_poll_success_ns + m->cnt.halt_poll_fail_ns;

		if (haltpoll_counter_update(&p->hp, (uint64_t)total, &delta) == VS_HALTPOLL_DELTA)
			per->halt_poll_cores = haltpoll_cores(delta, sec);
		per->busy_vcpu_raw = per->busy_vcpu;
	}
	per->energy_j = power_energy_j(m, d, period);
	per->has_p95 = m->vm[0].hist->total > 0;
	if (per->has_p95) {
		per->p95_us = (double)hist_quantile(m->vm[0].hist, 0.95) / 1000.0;
		per->p99_us = (double)hist_quantile(m->vm[0].hist, 0.99) / 1000.0;
	}
	per->d = m->cnt;
	per->d.arrivals -= p->cnt_prev.arrivals;
	per->d.completions -= p->cnt_prev.completions;
	per->d.drops -= p->cnt_prev.drops;
	per->d.pirqs -= p->cnt_prev.pirqs;
	per->d.virqs -= p->cnt_prev.virqs;
	per->d.ipis -= p->cnt_prev.ipis;
	per->d.kicks -= p->cnt_prev.kicks;
	per->d.ctx_switches -= p->cnt_prev.ctx_switches;
	per->d.migrations -= p->cnt_prev.migrations;
	per->d.vm_exits -= p->cnt_prev.vm_exits;
	per->d.virq_waits -= p->cnt_prev.virq_waits;
	per->d.virq_wait_ns -= p->cnt_prev.virq_wait_ns;
	per->d.be_work_ns -= p->cnt_prev.be_work_ns;
	per->d.host_irqs -= p->cnt_prev.host_irqs;
	per->d.res_ipis -= p->cnt_prev.res_ipis;
	per->d.cal_ipis -= p->cnt_prev.cal_ipis;
	per->d.wakeups -= p->cnt_prev.wakeups;
	per->d.wake_idle -= p->cnt_prev.wake_idle;
	per->d.wake_scans -= p->cnt_prev.wake_scans;
	per->d.wake_scanned -= p->cnt_prev.wake_scanned;
	per->d.ibpbs -= p->cnt_prev.ibpbs;
	per->d.l1d_flushes -= p->cnt_prev.l1d_flushes;
	per->d.vcpu_migrations -= p->cnt_prev.vcpu_migrations;
	per->d.refill_ns -= p->cnt_prev.refill_ns;
	per->d.mitigation_ns -= p->cnt_prev.mitigation_ns;
	p->cnt_prev = m->cnt;
	p->last_at = m->eng.now;

	s->period_s = sec;
	s->wl[0] = (struct vs_sample){
		.busy_vcpu = per->busy_vcpu,
		.busy_nq = per->busy_nq,
		.busy_vcpu_threads = per->busy_vcpu_threads,
		.has_p95 = per->has_p95,
		.p95_us = per->p95_us,
	};
	if (p->halt_poll == VS_HALTPOLL_AUTO) {
		haltpoll_correct(&s->wl[0], per->halt_poll_cores);
		per->busy_vcpu = s->wl[0].busy_vcpu;
		per->has_halt_poll = true;
	}
	s->present[0] = true;
	for (int i = 1; i < s->n_workloads; i++)
		s->present[i] = false; /* the model hosts one LC VM */
	s->has_energy = true;
	s->energy_j = per->energy_j;
	return 0;
}

static int simplat_apply(struct vs_platform *base, const struct vs_plan *plan)
{
	struct sim_platform *p = vs_container_of(base, struct sim_platform, base);
	struct sim_model *m = p->m;
	struct sim_vm *vm = &m->vm[0]; /* one LC workload: the model's first VM */
	const struct vs_wl_plan *w;
	int nq_cores[SIM_MAX_CORES], n_nq = 0, queues, vcpus, qmax;
	uint64_t vmask, nmask, bmask;
	bool paused;

	if (plan->n_workloads < 1)
		return 0;
	w = &plan->wl[0];
	vmask = simplat_mask(&w->vcpu_cores);
	nmask = simplat_mask(&w->nq_cores);
	bmask = m->be ? simplat_mask(&plan->be_cores) : 0;
	paused = plan->be_paused || bmask == 0;
	if (vmask == 0 || nmask == 0)
		return -1; /* the placer never does this */

	qmax = m->cfg.path == SIM_PATH_SRIOV ? SIM_SRIOV_QUEUES : m->cfg.n_queues;
	queues = w->alloc.queues < 1 ? 1 : (w->alloc.queues > qmax ? qmax : w->alloc.queues);
	vcpus = w->alloc.vcpus < 1 ? 1 : w->alloc.vcpus;
	if (vcpus > m->cfg.n_vcpus)
		vcpus = m->cfg.n_vcpus;

	/* queues: count, IRQ affinity, XPS */
	for (int c = 0; c < m->cfg.n_cores; c++)
		if ((nmask >> c) & 1)
			nq_cores[n_nq++] = c;
	/* physical and virtio queue counts: the plan's, unless fixed (the
	 * original's "1 pNQ + 20 vNQ" configurations) */
	vm->n_pnq =
		m->cfg.fixed_pnq > 0 && m->cfg.path != SIM_PATH_SRIOV ? m->cfg.fixed_pnq : queues;
	vm->n_vnq =
		m->cfg.fixed_vnq > 0 && m->cfg.path != SIM_PATH_SRIOV ? m->cfg.fixed_vnq : queues;
	vm->nq_mask = nmask;
	for (int q = 0; q < qmax; q++)
		vm->pnq[q].core = nq_cores[q % n_nq];
	for (int c = 0, r = 0; c < m->cfg.n_cores; c++)
		vm->xps_q[c] = ((nmask >> c) & 1) ? (r++) % vm->n_pnq : c % vm->n_pnq;
	for (int q = 0; q < qmax; q++)
		vm->vnq[q].vcpu = q % vcpus;
	guest_set_active(m, vm, vcpus);

	/* cpusets */
	if (paused)
		for (int i = 0; i < m->cfg.n_be_vcpus; i++)
			host_set_frozen(m, &m->be[i], true);
	for (int i = 0; i < m->cfg.n_vcpus; i++)
		host_set_allowed(m, vm->vcpu[i].t, vmask);
	for (int q = 0; q < qmax; q++)
		if (vm->vnq[q].vh)
			host_set_allowed(m, vm->vnq[q].vh, nmask);
	for (int i = 0; i < m->cfg.n_be_vcpus; i++)
		host_set_allowed(m, &m->be[i], bmask);
	if (!paused)
		for (int i = 0; i < m->cfg.n_be_vcpus; i++)
			host_set_frozen(m, &m->be[i], false);
	m->alloc_mask = vmask | nmask | bmask;
	for (int c = 0; c < m->cfg.n_cores; c++)
		m->core[c].allocated = (m->alloc_mask >> c) & 1;

	p->alloc = w->alloc;
	p->vcpu_mask = vmask;
	p->nq_mask = nmask;
	p->be_mask = bmask;
	p->be_paused = paused;
	p->applies++;
	return 0;
}

static const struct vs_platform_ops simplat_ops = {
	.name = "sim",
	.sample = simplat_sample,
	.apply = simplat_apply,
};

void simplat_init(struct sim_platform *p, struct sim_model *m)
{
	uint64_t first;

	memset(p, 0, sizeof(*p));
	p->base.ops = &simplat_ops;
	p->m = m;
	p->halt_poll = VS_HALTPOLL_AUTO;
	/* the counters' baseline is taken with the busy times' (at the start) */
	haltpoll_counter_update(
		&p->hp, (uint64_t)(m->cnt.halt_poll_success_ns + m->cnt.halt_poll_fail_ns), &first);
	p->last_at = m->eng.now;
}
