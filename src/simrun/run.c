/* run.c - run the model under the real controller: one configuration, per-period CSV, summary. */
#include "simrun/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/controller.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "sim/costs.h"
#include "sim/simplat.h"

void sim_run_defaults(struct sim_run_config *cfg, enum sim_wl_kind wl)
{
	memset(cfg, 0, sizeof(*cfg));
	str_copy(cfg->policy, "vspace-e", sizeof(cfg->policy));
	cfg->wl = wl;
	cfg->slo_us = wl == SIM_WL_NGINX ? 10000 : 1000;
	cfg->n_cores = 20;
	cfg->n_vcpus = 20;
	cfg->n_queues = 20;
	cfg->n_conns = SIM_CONNECTIONS;
	cfg->halt_poll_us = SIM_HALT_POLL_MAX_NS / 1000.0;
	cfg->halt_poll_accounting = VS_HALTPOLL_AUTO;
	cfg->seed = 1;
	cfg->period_s = 0.1;
	cfg->n_phases = 1;
	cfg->phase[0] = (struct sim_phase){ .duration_s = 10, .qps = 100000 };
	vs_params_defaults(&cfg->params);
}

int sim_workload_parse(const char *name, enum sim_wl_kind *out)
{
	if (strcmp(name, "memcached") == 0)
		*out = SIM_WL_MEMCACHED;
	else if (strcmp(name, "nginx") == 0)
		*out = SIM_WL_NGINX;
	else
		return -1;
	return 0;
}

const char *sim_workload_name(enum sim_wl_kind wl)
{
	return wl == SIM_WL_NGINX ? "nginx" : "memcached";
}

/* "static-ts:NV:NP:NVQ" (or static-iso): the controller's spec with
 * max(NP, NVQ) queues into spec, the two counts into *np and *nvq. Returns 1
 * when name has that form, 0 when not, -1 (err) when it does but is wrong. */
static int sim_split_queues(const char *name, char *spec, size_t len, int *np, int *nvq, char *err,
			    size_t errlen)
{
	const char *kind = NULL;
	long nv, p, v;
	char *end;

	if (str_starts_with(name, "static-ts:"))
		kind = "static-ts";
	else if (str_starts_with(name, "static-iso:"))
		kind = "static-iso";
	if (!kind || strchr(name, ':') == strrchr(name, ':') ||
	    strchr(strchr(name, ':') + 1, ':') == strrchr(name, ':'))
		return 0; /* fewer than three numbers: the controller's form */
	nv = strtol(strchr(name, ':') + 1, &end, 10);
	if (*end != ':')
		goto bad;
	p = strtol(end + 1, &end, 10);
	if (*end != ':')
		goto bad;
	v = strtol(end + 1, &end, 10);
	if (*end != '\0' || nv < 1 || p < 1 || v < 1 || nv > SIM_MAX_CORES || p > SIM_MAX_CORES ||
	    v > SIM_MAX_CORES)
		goto bad;
	snprintf(spec, len, "%s:%ld:%ld", kind, nv, p > v ? p : v);
	*np = (int)p;
	*nvq = (int)v;
	return 1;
bad:
	snprintf(err, errlen,
		 "policy \"%.40s\": expected %s:NV:NP:NVQ with NV vCPUs, NP physical and NVQ "
		 "virtio queues, each in [1, %d]",
		 name, kind, SIM_MAX_CORES);
	return -1;
}

int sim_policy_resolve(const char *name, int n_cores, int n_vcpus, enum sim_path *path,
		       struct vs_policy *pol, int *pnq, int *vnq, char *err, size_t errlen)
{
	char spec[64];
	int split;

	*path = SIM_PATH_VIRTIO;
	*pnq = *vnq = 0;
	if (strcmp(name, "es2") == 0) {
		/* SPEC §3.6: single queue, its hybrid polling on one core of its own */
		*path = SIM_PATH_ES2;
		if (n_cores < 2) {
			snprintf(err, errlen, "policy es2 needs at least 2 cores");
			return -1;
		}
		snprintf(spec, sizeof(spec), "static-iso:%d:1",
			 n_vcpus < n_cores - 1 ? n_vcpus : n_cores - 1);
	} else if (strcmp(name, "sriov") == 0) {
		*path = SIM_PATH_SRIOV;
		snprintf(spec, sizeof(spec), "static-ts:%d:%d", n_vcpus, SIM_SRIOV_QUEUES);
	} else {
		if (strlen(name) >= sizeof(spec)) {
			snprintf(err, errlen, "policy name \"%.40s...\" is too long", name);
			return -1;
		}
		split = sim_split_queues(name, spec, sizeof(spec), pnq, vnq, err, errlen);
		if (split < 0)
			return -1;
		if (split == 0)
			str_copy(spec, name, sizeof(spec));
	}
	if (policy_lookup(spec, n_cores, pol, err, errlen) < 0) {
		size_t n = strlen(err);
		/* the controller's list "(known: ...)" plus the simulator's own names */
		if (str_starts_with(err, "unknown policy") && n > 0 && err[n - 1] == ')')
			snprintf(err + n - 1, errlen - (n - 1), ", es2, sriov)");
		return -1;
	}
	if (*path != SIM_PATH_VIRTIO || *pnq > 0)
		str_copy(pol->spec, name, sizeof(pol->spec));
	return 0;
}

static int sim_run_check(const struct sim_run_config *cfg, char *err, size_t errlen)
{
	if (!(cfg->period_s >= 0.001 && cfg->period_s <= 10)) {
		snprintf(err, errlen, "period %g s is out of range [0.001, 10]", cfg->period_s);
		return -1;
	}
	if (cfg->n_phases < 1 || cfg->n_phases > SIM_MAX_PHASES) {
		snprintf(err, errlen, "%d load phases: need 1..%d", cfg->n_phases, SIM_MAX_PHASES);
		return -1;
	}
	for (int i = 0; i < cfg->n_phases; i++) {
		const struct sim_phase *ph = &cfg->phase[i];
		if (!(ph->duration_s >= cfg->period_s && ph->duration_s <= 86400)) {
			snprintf(
				err, errlen,
				"phase %d: duration %g s must be at least one period (%g s) and at "
				"most a day",
				i + 1, ph->duration_s, cfg->period_s);
			return -1;
		}
		if (!(ph->qps >= 0 && ph->qps <= 1e8)) {
			snprintf(err, errlen, "phase %d: load %g QPS is out of range [0, 1e8]",
				 i + 1, ph->qps);
			return -1;
		}
	}
	if (!(cfg->slo_us > 0)) {
		snprintf(err, errlen, "the SLO must be positive (got %g us)", cfg->slo_us);
		return -1;
	}
	if (!(cfg->halt_poll_us >= 0 && cfg->halt_poll_us <= 1e6)) {
		snprintf(err, errlen, "halt polling %g us is out of range [0, 1e6]",
			 cfg->halt_poll_us);
		return -1;
	}
	if (cfg->halt_poll_accounting != VS_HALTPOLL_AUTO &&
	    cfg->halt_poll_accounting != VS_HALTPOLL_OFF) {
		snprintf(err, errlen, "halt-poll accounting %d is not auto or off",
			 (int)cfg->halt_poll_accounting);
		return -1;
	}
	if (!(cfg->warmup_s >= 0)) {
		snprintf(err, errlen, "warm-up %g s must not be negative", cfg->warmup_s);
		return -1;
	}
	if (cfg->n_lc < 0 || cfg->n_lc > SIM_MAX_VMS) {
		snprintf(err, errlen, "%d LC workloads is out of range [1, %d]", cfg->n_lc,
			 SIM_MAX_VMS);
		return -1;
	}
	for (int i = 0; i < SIM_MAX_VMS; i++) {
		if (!(cfg->lc_scale[i] >= 0 && cfg->lc_scale[i] <= 100)) {
			snprintf(err, errlen,
				 "load scale %g of LC workload %d is out of range [0, 100]",
				 cfg->lc_scale[i], i + 1);
			return -1;
		}
	}
	return 0;
}

/* The name of LC workload i: "lc", then "lc2", "lc3", ... */
static void sim_lc_name(int i, char *buf, size_t len)
{
	if (i == 0)
		snprintf(buf, len, "lc");
	else
		snprintf(buf, len, "lc%d", i + 1);
}

static double sim_lc_scale(const struct sim_run_config *cfg, int i)
{
	return cfg->lc_scale[i] > 0 ? cfg->lc_scale[i] : 1.0;
}

/* Running means over periods. */
struct sim_acc {
	int periods, violations;
	double vcpu, nq, be, lc, energy, u_v, u_n;
	double busy_v, busy_v_raw, poll;
};

static void sim_acc_add(struct sim_acc *a, const struct sim_period *per, double slo_us,
			double offered)
{
	const struct vs_alloc *al = &per->alloc;

	a->periods++;
	if ((per->has_p95 && per->p95_us > slo_us) || (!per->has_p95 && offered > 0))
		a->violations++;
	a->vcpu += al->n_vcpu;
	a->nq += al->n_nq;
	a->be += al->n_be;
	a->lc += vs_alloc_lc_cores(al);
	a->energy += per->energy_j;
	a->u_v += al->n_vcpu > 0 ? per->busy_vcpu / al->n_vcpu : 0;
	a->u_n += al->n_nq > 0 ? per->busy_nq / al->n_nq : 0;
	a->busy_v += per->busy_vcpu;
	a->busy_v_raw += per->busy_vcpu_raw;
	a->poll += per->halt_poll_cores;
}

static void sim_csv_row(FILE *f, double t_s, double offered, const struct sim_period *per,
			const struct vs_explore_sample *u, struct vs_thresholds th)
{
	const struct vs_alloc *al = &per->alloc;

	fprintf(f, "%.3f,%.0f,%.0f,", t_s, offered, (double)per->d.completions / per->period_s);
	if (per->has_p95)
		fprintf(f, "%.1f,%.1f,", per->p95_us, per->p99_us);
	else
		fprintf(f, ",,");
	fprintf(f, "%d,%d,%d,%.4f,%.4f,%.4f,%.4f,%.3f,%llu,%llu,%llu,%llu,%llu,%.4f,%.4f,",
		al->n_vcpu, al->n_nq, al->n_be, u->u_vcpu, u->u_nq, th.vcpu, th.nq, per->energy_j,
		(unsigned long long)per->d.pirqs, (unsigned long long)per->d.virqs,
		(unsigned long long)per->d.ctx_switches, (unsigned long long)per->d.migrations,
		(unsigned long long)per->d.vm_exits, per->busy_vcpu_raw, per->halt_poll_cores);
	fprintf(f, "%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%.4f,%.4f\n",
		(unsigned long long)per->d.host_irqs, (unsigned long long)per->d.res_ipis,
		(unsigned long long)per->d.cal_ipis, (unsigned long long)per->d.wakeups,
		(unsigned long long)per->d.wake_idle, (unsigned long long)per->d.ibpbs,
		(unsigned long long)per->d.l1d_flushes, (unsigned long long)per->d.vcpu_migrations,
		(double)per->d.refill_ns * 1e-9 / per->period_s,
		(double)per->d.mitigation_ns * 1e-9 / per->period_s);
}

static double sim_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sim_phase_finish(struct sim_phase_result *pr, const struct sim_acc *a,
			     const struct vs_hist *h, double secs, double qps)
{
	pr->qps = qps;
	pr->periods = a->periods;
	pr->violations = a->violations;
	pr->achieved_qps = secs > 0 ? (double)h->total / secs : 0;
	pr->p95_us = h->total ? (double)hist_quantile(h, 0.95) / 1000.0 : NAN;
	pr->p99_us = h->total ? (double)hist_quantile(h, 0.99) / 1000.0 : NAN;
	pr->mean_vcpu_cores = a->periods ? a->vcpu / a->periods : 0;
	pr->mean_nq_cores = a->periods ? a->nq / a->periods : 0;
	pr->mean_be_cores = a->periods ? a->be / a->periods : 0;
	pr->energy_j = a->energy;
}

/* Discovery's report into the controller, as vspaced does it: a workload
 * the controller refuses (it does not fit) is an error here. */
struct sim_refusal {
	char why[256]; /* the first refusal, "" none */
};

static void sim_run_note(void *arg, enum vs_reconcile_event ev, const struct vs_wl_report *wl,
			 const char *why)
{
	struct sim_refusal *r = arg;

	if (ev == VS_RECONCILE_REFUSED && !r->why[0])
		snprintf(r->why, sizeof(r->why), "workload %s: %s", wl->name, why);
}

static int sim_run_reconcile(struct sim_platform *plat, struct vs_controller *ctl, char *err,
			     size_t errlen)
{
	struct vs_discovery d;
	struct sim_refusal r = { "" };

	plat->base.ops->refresh(&plat->base, 0, &d);
	controller_reconcile(ctl, &d, sim_run_note, &r);
	if (r.why[0]) {
		str_copy(err, r.why, errlen);
		return -1;
	}
	return 0;
}

int sim_run(const struct sim_run_config *cfg, struct sim_run_result *res, char *err, size_t errlen)
{
	struct sim_model_config mc = { 0 };
	struct sim_model m;
	struct sim_platform plat;
	struct vs_controller ctl;
	struct vs_policy pol;
	struct vs_topology topo;
	struct vs_hist *ph = NULL, *all = NULL, *lc_hist[SIM_MAX_VMS] = { NULL };
	struct sim_acc lc_acc[SIM_MAX_VMS] = { { 0 } };
	struct sim_counters vc0[SIM_MAX_VMS] = { { 0 } };
	double lc_offered[SIM_MAX_VMS] = { 0 };
	struct sim_acc acc = { 0 };
	struct sim_counters c0 = { 0 };
	double wall0 = sim_wall_s(), offered_sum = 0, measured_s = 0;
	sim_ns period_ns, t = 0, warm_ns;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (sim_run_check(cfg, err, errlen) < 0)
		return -1;
	mc.n_cores = cfg->n_cores;
	mc.n_vcpus = cfg->n_vcpus;
	mc.n_queues = cfg->n_queues;
	mc.n_be_vcpus = cfg->n_be_vcpus;
	mc.wl = cfg->wl;
	mc.n_conns = cfg->n_conns;
	mc.seed = cfg->seed;
	mc.halt_poll_max_ns = (sim_ns)llround(cfg->halt_poll_us * 1000);
	mc.no_mitigations = cfg->no_mitigations;
	mc.n_vms = cfg->n_lc > 0 ? cfg->n_lc : 1;
	memcpy(mc.knob, cfg->knob, sizeof(mc.knob));
	if (sim_policy_resolve(cfg->policy, cfg->n_cores, cfg->n_vcpus, &mc.path, &pol,
			       &mc.fixed_pnq, &mc.fixed_vnq, err, errlen) < 0)
		return -1;
	/* --pnqs/--vnqs set what the policy name does not */
	if (cfg->n_pnq > 0)
		mc.fixed_pnq = cfg->n_pnq;
	if (cfg->n_vnq > 0)
		mc.fixed_vnq = cfg->n_vnq;
	if (mc.path == SIM_PATH_SRIOV && (mc.fixed_pnq || mc.fixed_vnq)) {
		snprintf(err, errlen, "sriov has the VF's %d queues: --pnqs/--vnqs do not apply",
			 SIM_SRIOV_QUEUES);
		return -1;
	}
	if (model_init(&m, &mc, err, errlen) < 0)
		return -1;
	simplat_init(&plat, &m);
	plat.halt_poll = cfg->halt_poll_accounting;
	topology_init_flat(&topo, cfg->n_cores);
	if (controller_init(&ctl, &pol, &cfg->params, &topo, &plat.base, err, errlen) < 0) {
		model_free(&m);
		return -1;
	}
	ph = malloc(sizeof(*ph));
	all = malloc(sizeof(*all));
	if (!ph || !all) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	hist_init(all);
	for (int v = 1; v < mc.n_vms; v++) {
		lc_hist[v] = malloc(sizeof(*lc_hist[v]));
		if (!lc_hist[v]) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		hist_init(lc_hist[v]);
	}
	/* the LC VMs appear to discovery; the controller takes them from the report */
	for (int i = 0; i < mc.n_vms; i++) {
		char name[16];

		sim_lc_name(i, name, sizeof(name));
		if (simplat_add_workload(&plat, name, cfg->slo_us, err, errlen) < 0)
			goto out;
	}
	if (sim_run_reconcile(&plat, &ctl, err, errlen) < 0)
		goto out;
	if (controller_start(&ctl) < 0) {
		snprintf(err, errlen, "first allocation: %s", ctl.last_error);
		goto out;
	}
	if (cfg->csv)
		fprintf(cfg->csv, "%s\n", SIM_CSV_HEADER);

	period_ns = (sim_ns)llround(cfg->period_s * 1e9);
	warm_ns = (sim_ns)llround(cfg->warmup_s * 1e9);
	res->n_phases = cfg->n_phases;
	for (int i = 0; i < cfg->n_phases; i++) {
		const struct sim_phase *phase = &cfg->phase[i];
		long n = lround(phase->duration_s / cfg->period_s);
		struct sim_acc pacc = { 0 };

		hist_init(ph);
		for (int v = 0; v < m.n_vms; v++)
			nic_set_qps(&m, &m.vm[v], phase->qps * sim_lc_scale(cfg, v));
		for (long k = 0; k < n; k++) {
			struct vs_thresholds th = ctl.wl[0].ex.th;
			struct sim_counters before = m.cnt, vbefore[SIM_MAX_VMS];

			for (int v = 0; v < m.n_vms; v++)
				vbefore[v] = m.vm[v].cnt;
			const struct sim_period *per = &plat.wl[0].per;

			t += period_ns;
			model_run_until(&m, t);
			if (controller_step(&ctl) < 0)
				res->plan_errors++;
			if (cfg->csv)
				sim_csv_row(cfg->csv, (double)t * 1e-9, phase->qps, per,
					    &ctl.wl[0].last_u, th);
			hist_merge(ph, m.vm[0].hist);
			sim_acc_add(&pacc, per, cfg->slo_us, phase->qps);
			if (t > warm_ns) {
				if (acc.periods == 0) {
					c0 = before;
					memcpy(vc0, vbefore, sizeof(vc0));
				}
				hist_merge(all, m.vm[0].hist);
				sim_acc_add(&acc, per, cfg->slo_us, phase->qps);
				offered_sum += phase->qps * per->period_s;
				measured_s += per->period_s;
				for (int v = 1; v < m.n_vms; v++) {
					const struct sim_period *pv = &plat.wl[v].per;
					double q = phase->qps * sim_lc_scale(cfg, v);

					hist_merge(lc_hist[v], m.vm[v].hist);
					sim_acc_add(&lc_acc[v], pv, cfg->slo_us, q);
					lc_offered[v] += q * pv->period_s;
				}
			}
			for (int v = 0; v < m.n_vms; v++)
				hist_init(m.vm[v].hist);
		}
		sim_phase_finish(&res->phase[i], &pacc, ph, (double)n * cfg->period_s, phase->qps);
	}

	if (acc.periods > 0) {
		/* the host's counters, and the first workload's VM's for its requests */
		const struct sim_counters *c1 = &m.cnt, *v1 = &m.vm[0].cnt, *v0 = &vc0[0];
		double s = measured_s;
		uint64_t done = v1->completions - v0->completions;

		res->periods = acc.periods;
		res->violations = acc.violations;
		res->p50_us = all->total ? (double)hist_quantile(all, 0.50) / 1000.0 : NAN;
		res->p95_us = all->total ? (double)hist_quantile(all, 0.95) / 1000.0 : NAN;
		res->p99_us = all->total ? (double)hist_quantile(all, 0.99) / 1000.0 : NAN;
		res->mean_us = all->total ? hist_mean(all) / 1000.0 : NAN;
		res->achieved_qps = (double)all->total / s;
		res->offered_qps = offered_sum / s;
		res->mean_vcpu_cores = acc.vcpu / acc.periods;
		res->mean_nq_cores = acc.nq / acc.periods;
		res->mean_be_cores = acc.be / acc.periods;
		res->mean_lc_cores = acc.lc / acc.periods;
		res->u_vcpu = acc.u_v / acc.periods;
		res->u_nq = acc.u_n / acc.periods;
		res->busy_vcpu = acc.busy_v / acc.periods;
		res->busy_vcpu_raw = acc.busy_v_raw / acc.periods;
		res->halt_poll_cores = acc.poll / acc.periods;
		res->energy_j = acc.energy;
		res->power_w = acc.energy / s;
		res->power_tdp = res->power_w / SIM_TDP_W;
		res->be_cores = (double)(c1->be_work_ns - c0.be_work_ns) * 1e-9 / s;
		res->drops_per_s = (double)(v1->drops - v0->drops) / s;
		res->client_lost_per_s = (double)(v1->client_lost - v0->client_lost) / s;
		res->exits_per_req =
			done ? (double)(v1->vm_exits - v0->vm_exits) / (double)done : 0;
		res->ctx_per_s = (double)(c1->ctx_switches - c0.ctx_switches) / s;
		res->migrations_per_s = (double)(c1->migrations - c0.migrations) / s;
		res->pirqs_per_s = (double)(v1->pirqs - v0->pirqs) / s;
		res->host_irqs_per_s = (double)(c1->host_irqs - c0.host_irqs) / s;
		res->res_per_s = (double)(c1->res_ipis - c0.res_ipis) / s;
		res->cal_per_s = (double)(c1->cal_ipis - c0.cal_ipis) / s;
		res->wakeups_per_s = (double)(c1->wakeups - c0.wakeups) / s;
		res->wake_idle_share = c1->wakeups > c0.wakeups
					       ? (double)(c1->wake_idle - c0.wake_idle) /
							 (double)(c1->wakeups - c0.wakeups)
					       : 0;
		res->scans_per_s = (double)(c1->wake_scans - c0.wake_scans) / s;
		res->scanned_per_scan = c1->wake_scans > c0.wake_scans
						? (double)(c1->wake_scanned - c0.wake_scanned) /
							  (double)(c1->wake_scans - c0.wake_scans)
						: 0;
		res->ibpb_per_s = (double)(c1->ibpbs - c0.ibpbs) / s;
		res->l1d_flush_per_s = (double)(c1->l1d_flushes - c0.l1d_flushes) / s;
		res->vcpu_migrations_per_s = (double)(c1->vcpu_migrations - c0.vcpu_migrations) / s;
		res->refill_cores = (double)(c1->refill_ns - c0.refill_ns) * 1e-9 / s;
		res->mitigation_cores = (double)(c1->mitigation_ns - c0.mitigation_ns) * 1e-9 / s;
		res->virqs_per_s = (double)(v1->virqs - v0->virqs) / s;
		for (int k = 0; k < SIM_STAGES; k++)
			res->stage_us[k] = done ? (double)(v1->stage_ns[k] - v0->stage_ns[k]) /
							   1000.0 / (double)done
						: 0;
		res->virq_wait_us = v1->virq_waits > v0->virq_waits
					    ? (double)(v1->virq_wait_ns - v0->virq_wait_ns) /
						      1000.0 /
						      (double)(v1->virq_waits - v0->virq_waits)
					    : 0;
		/* every LC workload, the first included */
		res->n_lc = m.n_vms;
		for (int v = 0; v < m.n_vms; v++) {
			struct sim_lc_result *l = &res->lc[v];
			const struct sim_acc *a = v ? &lc_acc[v] : &acc;
			const struct vs_hist *h = v ? lc_hist[v] : all;
			uint64_t n = m.vm[v].cnt.completions - vc0[v].completions;

			l->offered_qps = v ? lc_offered[v] / s : res->offered_qps;
			l->achieved_qps = (double)h->total / s;
			l->p95_us = h->total ? (double)hist_quantile(h, 0.95) / 1000.0 : NAN;
			l->p99_us = h->total ? (double)hist_quantile(h, 0.99) / 1000.0 : NAN;
			l->periods = a->periods;
			l->violations = a->violations;
			l->mean_vcpu_cores = a->periods ? a->vcpu / a->periods : 0;
			l->mean_nq_cores = a->periods ? a->nq / a->periods : 0;
			l->exits_per_req =
				n ? (double)(m.vm[v].cnt.vm_exits - vc0[v].vm_exits) / (double)n
				  : 0;
		}
	}
	res->th_vcpu = ctl.wl[0].ex.th.vcpu;
	res->th_nq = ctl.wl[0].ex.th.nq;
	res->events = m.eng.events;
	res->anomalies = m.cnt.anomalies;
	if (m.cnt.anomalies)
		log_warnx("sim: %s: %llu model self-check failures (a bug in the model)",
			  cfg->policy, (unsigned long long)m.cnt.anomalies);
	res->sim_s = (double)t * 1e-9;
	rc = 0;
out:
	res->wall_s = sim_wall_s() - wall0;
	free(ph);
	free(all);
	for (int v = 0; v < SIM_MAX_VMS; v++)
		free(lc_hist[v]);
	controller_free(&ctl);
	model_free(&m);
	return rc;
}
