/* simplat.c - the simulator as a vspace platform: struct vs_platform_ops over the host model. */
#include "sim/simplat.h"

#include <stdio.h>
#include <string.h>

#include "lib/strutil.h"
#include "sim/costs.h"

static uint64_t simplat_mask(const struct vs_cpuset *s)
{
	/* the model has at most SIM_MAX_CORES (64) cores: word 0 is all of it */
	return s->bits[0];
}

/* ---- The model's LC VMs ------------------------------------------------------------------
 * Everything simplat reads or sets of one LC VM goes through these helpers:
 * the model hosts m->n_vms LC VMs (struct sim_vm, model.h), each with its
 * own vCPUs, queues, NIC port, histogram and counters. */

int simplat_model_vms(const struct sim_model *m)
{
	return m->n_vms;
}

/* Run time of VM vm's vCPU threads since the start. */
static sim_ns simplat_vm_run_ns(const struct sim_model *m, int vm)
{
	sim_ns run = 0;

	for (int i = 0; i < m->cfg.n_vcpus; i++)
		run += m->vm[vm].vcpu[i].t->run_ns;
	return run;
}

/* KVM's halt-polling counters of VM vm (halt_poll_success_ns + halt_poll_fail_ns). */
static uint64_t simplat_vm_poll_ns(const struct sim_model *m, int vm)
{
	const struct sim_counters *c = &m->vm[vm].cnt;

	return (uint64_t)(c->halt_poll_success_ns + c->halt_poll_fail_ns);
}

/* Latencies of VM vm's replies completed since the last sample. */
static const struct vs_hist *simplat_vm_hist(const struct sim_model *m, int vm)
{
	return m->vm[vm].hist;
}

/* The queue count, queue cores and active vCPUs of VM vm. */
static void simplat_vm_queues(struct sim_model *m, int vm, uint64_t nmask, int queues, int vcpus)
{
	struct sim_vm *v = &m->vm[vm];
	int nq_cores[SIM_MAX_CORES], n_nq = 0;
	int qmax = m->cfg.path == SIM_PATH_SRIOV ? SIM_SRIOV_QUEUES : m->cfg.n_queues;

	queues = queues < 1 ? 1 : (queues > qmax ? qmax : queues);
	vcpus = vcpus < 1 ? 1 : (vcpus > m->cfg.n_vcpus ? m->cfg.n_vcpus : vcpus);

	/* queues: count, IRQ affinity, XPS */
	for (int c = 0; c < m->cfg.n_cores; c++)
		if ((nmask >> c) & 1)
			nq_cores[n_nq++] = c;
	if (n_nq == 0)
		return; /* simplat_apply passes non-empty groups only */
	/* physical and virtio queue counts: the plan's, unless fixed (the
	 * original's "1 pNQ + 20 vNQ" configurations) */
	v->n_pnq =
		m->cfg.fixed_pnq > 0 && m->cfg.path != SIM_PATH_SRIOV ? m->cfg.fixed_pnq : queues;
	v->n_vnq =
		m->cfg.fixed_vnq > 0 && m->cfg.path != SIM_PATH_SRIOV ? m->cfg.fixed_vnq : queues;
	v->nq_mask = nmask;
	for (int q = 0; q < qmax; q++)
		v->pnq[q].core = nq_cores[q % n_nq];
	for (int c = 0, r = 0; c < m->cfg.n_cores; c++)
		v->xps_q[c] = ((nmask >> c) & 1) ? (r++) % v->n_pnq : c % v->n_pnq;
	for (int q = 0; q < qmax; q++)
		v->vnq[q].vcpu = q % vcpus;
	guest_set_active(m, v, vcpus);
}

/* The cpusets of VM vm's vCPU and vhost threads. */
static void simplat_vm_cpusets(struct sim_model *m, int vm, uint64_t vmask, uint64_t nmask)
{
	int qmax = m->cfg.path == SIM_PATH_SRIOV ? SIM_SRIOV_QUEUES : m->cfg.n_queues;

	struct sim_vm *v = &m->vm[vm];

	for (int i = 0; i < m->cfg.n_vcpus; i++)
		host_set_allowed(m, v->vcpu[i].t, vmask);
	for (int q = 0; q < qmax; q++)
		if (v->vnq[q].vh)
			host_set_allowed(m, v->vnq[q].vh, nmask);
}

/* ---- Workloads ------------------------------------------------------------------------------- */

struct simplat_wl *simplat_find(struct sim_platform *p, const char *name)
{
	for (int i = 0; i < p->n_wl; i++)
		if (strcmp(p->wl[i].name, name) == 0)
			return &p->wl[i];
	return NULL;
}

int simplat_add_workload(struct sim_platform *p, const char *name, double slo_p95_us, char *err,
			 size_t errlen)
{
	struct simplat_wl *w;
	int vms = simplat_model_vms(p->m);
	uint64_t first;

	if (!name[0] || strlen(name) >= VS_WORKLOAD_NAME_MAX) {
		snprintf(err, errlen, "workload name \"%.20s\" must be 1..%d characters", name,
			 VS_WORKLOAD_NAME_MAX - 1);
		return -1;
	}
	w = simplat_find(p, name);
	if (w && w->present) {
		snprintf(err, errlen, "workload \"%s\" already exists", name);
		return -1;
	}
	if (w) {
		/* back on its VM (a restarted VM): it appears again */
		w->present = true;
		w->slo_p95_us = slo_p95_us;
		return (int)(w - p->wl);
	}
	if (p->n_wl >= vms || p->n_wl >= SIMPLAT_MAX_WL) {
		snprintf(err, errlen, "workload \"%s\": the model hosts %d LC VM%s, all taken",
			 name, vms, vms == 1 ? "" : "s");
		return -1;
	}
	w = &p->wl[p->n_wl];
	memset(w, 0, sizeof(*w));
	str_copy(w->name, name, sizeof(w->name));
	w->slo_p95_us = slo_p95_us;
	w->vm = p->n_wl;
	w->present = true;
	/* the counters' baselines are taken with the busy times' (at the start) */
	haltpoll_counter_update(&w->hp, simplat_vm_poll_ns(p->m, w->vm), &first);
	w->vcpu_run_prev = simplat_vm_run_ns(p->m, w->vm);
	w->cnt_prev = p->m->vm[w->vm].cnt;
	return p->n_wl++;
}

int simplat_remove_workload(struct sim_platform *p, const char *name)
{
	struct simplat_wl *w = simplat_find(p, name);

	if (!w)
		return -1;
	w->present = false;
	return 0;
}

static int simplat_refresh(struct vs_platform *base, double now_s, struct vs_discovery *d)
{
	struct sim_platform *p = vs_container_of(base, struct sim_platform, base);
	int n_app = 0, n_van = 0;

	for (int i = 0; i < p->n_wl; i++) {
		struct simplat_wl *w = &p->wl[i];
		struct vs_wl_report *r;

		if (w->present == w->reported)
			continue;
		w->reported = w->present;
		r = w->present ? &p->appeared[n_app++] : &p->vanished[n_van++];
		memset(r, 0, sizeof(*r));
		str_copy(r->name, w->name, sizeof(r->name));
		r->slo_p95_us = w->slo_p95_us;
		snprintf(r->found, sizeof(r->found),
			 w->present ? "LC VM %d of the model" : "removed", w->vm);
	}
	*d = (struct vs_discovery){ .n_appeared = n_app,
				    .appeared = p->appeared,
				    .n_vanished = n_van,
				    .vanished = p->vanished };
	return 0;
}

/* ---- Sample ---------------------------------------------------------------------------------- */

/* A workload's counters over the period: the host's for what belongs to the
 * host (switches, migrations, interrupts of every line, wake-ups, refills,
 * mitigations), its VM's for what belongs to the VM (its requests, its NIC
 * port's interrupts, its interrupts and exits). */
static void simplat_period_counters(struct sim_counters *d, const struct sim_counters *host,
				    const struct sim_counters *host_prev,
				    const struct sim_counters *vm,
				    const struct sim_counters *vm_prev)
{
	*d = *host;
	d->ctx_switches -= host_prev->ctx_switches;
	d->migrations -= host_prev->migrations;
	d->be_work_ns -= host_prev->be_work_ns;
	d->host_irqs -= host_prev->host_irqs;
	d->res_ipis -= host_prev->res_ipis;
	d->cal_ipis -= host_prev->cal_ipis;
	d->wakeups -= host_prev->wakeups;
	d->wake_idle -= host_prev->wake_idle;
	d->wake_scans -= host_prev->wake_scans;
	d->wake_scanned -= host_prev->wake_scanned;
	d->ibpbs -= host_prev->ibpbs;
	d->l1d_flushes -= host_prev->l1d_flushes;
	d->vcpu_migrations -= host_prev->vcpu_migrations;
	d->refill_ns -= host_prev->refill_ns;
	d->mitigation_ns -= host_prev->mitigation_ns;
	d->arrivals = vm->arrivals - vm_prev->arrivals;
	d->completions = vm->completions - vm_prev->completions;
	d->drops = vm->drops - vm_prev->drops;
	d->client_lost = vm->client_lost - vm_prev->client_lost;
	d->pirqs = vm->pirqs - vm_prev->pirqs;
	d->virqs = vm->virqs - vm_prev->virqs;
	d->ipis = vm->ipis - vm_prev->ipis;
	d->kicks = vm->kicks - vm_prev->kicks;
	d->vm_exits = vm->vm_exits - vm_prev->vm_exits;
	d->virq_waits = vm->virq_waits - vm_prev->virq_waits;
	d->virq_wait_ns = vm->virq_wait_ns - vm_prev->virq_wait_ns;
}

/* One workload's period from the cores' busy time d[] over sec seconds. */
static void simplat_sample_wl(struct sim_platform *p, struct simplat_wl *w, const sim_ns *d,
			      double sec, double energy_j, struct vs_sample *out)
{
	struct sim_model *m = p->m;
	struct sim_period *per = &w->per;
	const struct vs_hist *h = simplat_vm_hist(m, w->vm);
	sim_ns run = simplat_vm_run_ns(m, w->vm);
	double bv = 0, bn = 0;
	uint64_t delta = 0;

	for (int c = 0; c < m->cfg.n_cores; c++) {
		if ((w->vcpu_mask >> c) & 1)
			bv += (double)d[c];
		if ((w->nq_mask >> c) & 1)
			bn += (double)d[c];
	}
	memset(per, 0, sizeof(*per));
	per->period_s = sec;
	per->alloc = w->alloc;
	per->busy_vcpu_threads = (double)(run - w->vcpu_run_prev) * 1e-9 / sec;
	w->vcpu_run_prev = run;
	if (w->alloc.layout == VS_LAYOUT_ISOLATED) {
		per->busy_vcpu = bv * 1e-9 / sec;
		per->busy_nq = bn * 1e-9 / sec;
	} else {
		/* one set of cores: split its busy time by thread accounting */
		double all = 0;
		for (int c = 0; c < m->cfg.n_cores; c++)
			if (((w->vcpu_mask | w->nq_mask) >> c) & 1)
				all += (double)d[c];
		per->busy_vcpu = per->busy_vcpu_threads;
		per->busy_nq = all * 1e-9 / sec - per->busy_vcpu;
		if (per->busy_nq < 0)
			per->busy_nq = 0;
	}
	/* KVM's polling counters, read as the daemon reads debugfs */
	if (haltpoll_counter_update(&w->hp, simplat_vm_poll_ns(m, w->vm), &delta) ==
	    VS_HALTPOLL_DELTA)
		per->halt_poll_cores = haltpoll_cores(delta, sec);
	per->busy_vcpu_raw = per->busy_vcpu;
	per->energy_j = energy_j;
	per->has_p95 = h->total > 0;
	if (per->has_p95) {
		per->p95_us = (double)hist_quantile(h, 0.95) / 1000.0;
		per->p99_us = (double)hist_quantile(h, 0.99) / 1000.0;
	}
	simplat_period_counters(&per->d, &m->cnt, &p->cnt_prev, &m->vm[w->vm].cnt, &w->cnt_prev);
	w->cnt_prev = m->vm[w->vm].cnt;

	*out = (struct vs_sample){
		.busy_vcpu = per->busy_vcpu,
		.busy_nq = per->busy_nq,
		.busy_vcpu_threads = per->busy_vcpu_threads,
		.has_p95 = per->has_p95,
		.p95_us = per->p95_us,
	};
	if (p->halt_poll == VS_HALTPOLL_AUTO) {
		haltpoll_correct(out, per->halt_poll_cores);
		per->busy_vcpu = out->busy_vcpu;
		per->has_halt_poll = true;
	}
}

static int simplat_sample(struct vs_platform *base, struct vs_host_sample *s)
{
	struct sim_platform *p = vs_container_of(base, struct sim_platform, base);
	struct sim_model *m = p->m;
	sim_ns d[SIM_MAX_CORES], period = m->eng.now - p->last_at;
	double sec, energy_j;

	if (period <= 0 || s->n_workloads < 1)
		return -1;
	model_flush(m);
	sec = (double)period * 1e-9;
	for (int c = 0; c < m->cfg.n_cores; c++) {
		d[c] = m->core[c].busy_ns - p->busy_prev[c];
		p->busy_prev[c] = m->core[c].busy_ns;
	}
	energy_j = power_energy_j(m, d, period);
	for (int i = 0; i < s->n_workloads; i++) {
		struct simplat_wl *w = simplat_find(p, s->name[i]);
		s->present[i] = w && w->present;
		if (s->present[i])
			simplat_sample_wl(p, w, d, sec, energy_j, &s->wl[i]);
	}
	p->cnt_prev = m->cnt;
	p->last_at = m->eng.now;
	s->period_s = sec;
	s->has_energy = true;
	s->energy_j = energy_j;
	return 0;
}

/* ---- Apply ----------------------------------------------------------------------------------- */

static int simplat_apply(struct vs_platform *base, const struct vs_plan *plan)
{
	struct sim_platform *p = vs_container_of(base, struct sim_platform, base);
	struct sim_model *m = p->m;
	struct simplat_wl *wl[SIMPLAT_MAX_WL];
	uint64_t bmask;
	bool paused;
	int n = 0, rc = 0;

	if (plan->n_workloads < 1)
		return 0;
	/* the plan's workloads: ours, with groups (the placer never leaves one empty) */
	for (int i = 0; i < plan->n_workloads; i++) {
		const struct vs_wl_plan *wp = &plan->wl[i];
		struct simplat_wl *w = simplat_find(p, wp->name);

		if (!w || !w->present || simplat_mask(&wp->vcpu_cores) == 0 ||
		    simplat_mask(&wp->nq_cores) == 0 || n == SIMPLAT_MAX_WL) {
			rc = -1;
			continue;
		}
		w->alloc = wp->alloc;
		w->vcpu_mask = simplat_mask(&wp->vcpu_cores);
		w->nq_mask = simplat_mask(&wp->nq_cores);
		wl[n++] = w;
	}
	if (n == 0)
		return -1;
	bmask = m->be ? simplat_mask(&plan->be_cores) : 0;
	paused = plan->be_paused || bmask == 0;

	/* queues and guests, then the threads' cpusets with best-effort work
	 * frozen while it may be on the wrong cores */
	for (int i = 0; i < n; i++)
		simplat_vm_queues(m, wl[i]->vm, wl[i]->nq_mask, wl[i]->alloc.queues,
				  wl[i]->alloc.vcpus);
	if (paused)
		for (int i = 0; i < m->cfg.n_be_vcpus; i++)
			host_set_frozen(m, &m->be[i], true);
	m->alloc_mask = bmask;
	for (int i = 0; i < n; i++) {
		simplat_vm_cpusets(m, wl[i]->vm, wl[i]->vcpu_mask, wl[i]->nq_mask);
		m->alloc_mask |= wl[i]->vcpu_mask | wl[i]->nq_mask;
	}
	for (int i = 0; i < m->cfg.n_be_vcpus; i++)
		host_set_allowed(m, &m->be[i], bmask);
	if (!paused)
		for (int i = 0; i < m->cfg.n_be_vcpus; i++)
			host_set_frozen(m, &m->be[i], false);
	for (int c = 0; c < m->cfg.n_cores; c++)
		m->core[c].allocated = (m->alloc_mask >> c) & 1;

	p->be_mask = bmask;
	p->be_paused = paused;
	p->applies++;
	return rc;
}

static const struct vs_platform_ops simplat_ops = {
	.name = "sim",
	.refresh = simplat_refresh,
	.sample = simplat_sample,
	.apply = simplat_apply,
};

void simplat_init(struct sim_platform *p, struct sim_model *m)
{
	memset(p, 0, sizeof(*p));
	p->base.ops = &simplat_ops;
	p->m = m;
	p->halt_poll = VS_HALTPOLL_AUTO;
	p->last_at = m->eng.now;
}
