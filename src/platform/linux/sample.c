/* sample.c - the Linux platform's sample: a period's busy time of each workload's groups (/proc/stat), thread run time, KVM halt polling, the pushed p95, RAPL energy. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "platform/linux/linux_int.h"

int sample_read_stat(struct vs_linux *lx, struct vs_procstat *out)
{
	char err[160];

	if (sysroot_read_all(lx->root.proc_fd, "stat", &lx->buf, &lx->bufcap) < 0) {
		log_warn("proc/stat");
		return -1;
	}
	if (procstat_parse(lx->buf, out, err, sizeof(err)) < 0) {
		log_warnx("proc/stat: %s", err);
		return -1;
	}
	return 0;
}

/* Busy cores of set: the sum over its cpus of busy/total ticks in the period. */
static double sample_busy(const struct vs_linux *lx, const struct vs_cpuset *set, double period_s)
{
	double cores = 0;
	long hz = sysconf(_SC_CLK_TCK);

	for (int c = cpuset_next(set, 0); c >= 0; c = cpuset_next(set, c + 1)) {
		const struct vs_cpu_ticks *a = &lx->stat_prev->cpu[c], *b = &lx->stat_cur->cpu[c];
		uint64_t busy, total;
		if (!cpuset_test(&lx->stat_prev->present, c) ||
		    !cpuset_test(&lx->stat_cur->present, c))
			continue;
		busy = b->busy > a->busy ? b->busy - a->busy : 0;
		total = b->total > a->total ? b->total - a->total : 0;
		if (total > 0)
			cores += (double)busy / (double)total;
		else if (period_s > 0 && hz > 0)
			cores += (double)busy / ((double)hz * period_s);
	}
	return cores;
}

/* Run time of the workload's compute threads since the last call, cores. */
static double sample_thread_time(struct vs_linux *lx, struct lx_wl *w, double period_s)
{
	double sum_ns = 0;

	for (int i = 0; i < w->n_thr; i++) {
		struct lx_thread *t = &w->thr[i];
		uint64_t rt;
		if (t->role != LX_ROLE_COMPUTE)
			continue;
		if (task_read_runtime(lx->root.proc_fd, t->pid, t->tid, &rt) < 0)
			continue;
		if (t->has_runtime && rt >= t->runtime_ns)
			sum_ns += (double)(rt - t->runtime_ns);
		t->runtime_ns = rt;
		t->has_runtime = true;
	}
	return period_s > 0 ? sum_ns / (period_s * 1e9) : 0;
}

int sample_seam(struct vs_platform *p, struct vs_host_sample *s)
{
	struct vs_linux *lx = vs_container_of(p, struct vs_linux, base);
	double now, period_s;

	if (sample_read_stat(lx, lx->stat_cur) < 0) {
		lx->cnt.sample_errors++;
		return -1;
	}
	now = linux_now(lx);
	period_s = lx->have_prev ? now - lx->t_prev_s : 0;
	s->period_s = period_s;
	/* KVM's halt-polling counters, read with /proc/stat (same period) */
	kvmstat_read_all(lx, lx->have_prev ? period_s : 0, now, linux_qmp_wait_ms(lx));
	for (int i = 0; i < s->n_workloads; i++) {
		struct lx_wl *w = linux_find(lx, s->name[i]);
		struct vs_sample *ws = &s->wl[i];
		bool shared;
		double threads = 0;

		memset(ws, 0, sizeof(*ws));
		if (!w || !w->present) {
			s->present[i] = false;
			continue;
		}
		s->present[i] = true;
		shared = w->cur_layout != VS_LAYOUT_ISOLATED;
		if (lx->have_prev && w->cur_valid) {
			ws->busy_vcpu = sample_busy(lx, &w->cur_vcpu, period_s);
			ws->busy_nq =
				shared ? ws->busy_vcpu : sample_busy(lx, &w->cur_nq, period_s);
		}
		if (shared || lx->need_thread_time)
			threads = sample_thread_time(lx, w, period_s);
		ws->busy_vcpu_threads = lx->need_thread_time || shared ? threads : ws->busy_vcpu;
		if (shared && lx->have_prev && w->cur_valid) {
			/* one group holds both: the vCPU (compute) threads' own run
			 * time is U_v, the rest of the group's busy time is U_n */
			double group = ws->busy_vcpu;
			ws->busy_vcpu = threads < group ? threads : group;
			ws->busy_nq = group - ws->busy_vcpu;
		}
		if (lx->have_prev && w->cur_valid)
			kvmstat_correct(w, ws);
		if (w->has_p95) {
			ws->has_p95 = true;
			ws->p95_us = w->p95_us;
			w->has_p95 = false;
		}
		w->last = *ws;
		w->has_last = true;
	}
	s->has_energy = false;
	if (lx->rapl.n > 0) {
		double j;
		if (sysfs_rapl_read(lx->root.sys_fd, &lx->rapl, &j) == 0) {
			s->has_energy = true;
			s->energy_j = j;
			lx->cnt.has_energy = true;
			lx->cnt.energy_j += j;
		}
	}
	{
		struct vs_procstat *t = lx->stat_prev;
		lx->stat_prev = lx->stat_cur;
		lx->stat_cur = t;
	}
	lx->t_prev_s = now;
	lx->have_prev = true;
	lx->cnt.samples++;
	return 0;
}
