/* bench.c - vspaced's benchmarks: --bench (periods back to back, CPU and wall time) and --bench-writes (each kind of write, timed). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "daemon/vspaced.h"
#include "daemon/vspaced_int.h"
#include "lib/log.h"

static int vsd_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* --bench N: N periods back to back, CPU time of each. The clock the
 * periods see advances by period_ms each, so the full thread rescans happen
 * as often as in a real run (every LX_RESCAN_S). */
int vsd_bench(struct vsd *d, double first_s)
{
	int n = d->opt.bench;
	double *t = calloc((size_t)n, sizeof(double)), *wall = calloc((size_t)n, sizeof(double));
	double sum = 0, wsum = 0, now = vsd_now();
	struct rusage ru;

	if (!t || !wall) {
		free(t);
		free(wall);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		double t0 = vsd_thread_cpu(), w0 = vsd_now();
		now += d->period_ms * 1e-3;
		vsd_period(d, now);
		t[i] = vsd_thread_cpu() - t0;
		wall[i] = vsd_now() - w0;
		sum += t[i];
		wsum += wall[i];
	}
	qsort(t, (size_t)n, sizeof(double), vsd_cmp_double);
	qsort(wall, (size_t)n, sizeof(double), vsd_cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	printf("periods %d, workloads %d, managed cores %d\n", n, d->ctl.n_wl, d->ctl.n_cores);
	printf("first allocation (discovery, decide, place, plan every write): %.1f us\n",
	       first_s * 1e6);
	printf("cpu per period: mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us\n",
	       sum / n * 1e6, t[n / 2] * 1e6, t[(int)((n - 1) * 0.99)] * 1e6, t[n - 1] * 1e6);
	printf("wall per period: mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us\n",
	       wsum / n * 1e6, wall[n / 2] * 1e6, wall[(int)((n - 1) * 0.99)] * 1e6,
	       wall[n - 1] * 1e6);
	for (int i = 0; i < d->cfg.n_wl; i++) {
		struct vs_linux_haltpoll h;
		if (linuxplat_haltpoll(d->lx, d->cfg.wl[i].name, &h) < 0 || !h.has_qmp)
			continue;
		printf("workload %s: halt polling %s via %s; QMP query-stats: %llu requests, %llu "
		       "answers, %llu slow (wait %d ms), %llu bad; round trip",
		       d->cfg.wl[i].name, h.state, h.via[0] ? h.via : "-",
		       (unsigned long long)h.qmp_requests, (unsigned long long)h.qmp_answers,
		       (unsigned long long)h.qmp_slow, h.qmp_wait_ms,
		       (unsigned long long)h.qmp_bad);
		if (h.qmp_rtt_n > 0)
			printf(" mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us\n",
			       h.qmp_rtt_mean_s * 1e6, h.qmp_rtt_p50_s * 1e6, h.qmp_rtt_p99_s * 1e6,
			       h.qmp_rtt_max_s * 1e6);
		else
			printf(" -\n");
	}
	printf("peak RSS %ld KiB\n", ru.ru_maxrss);
	free(t);
	free(wall);
	return 0;
}

int vsd_bench_writes(struct vsd *d)
{
	const struct vs_write_stats *ws;
	char err[256];

	if (linuxplat_bench_writes(d->lx, d->opt.bench_writes, err, sizeof(err)) < 0) {
		log_errorx("--bench-writes: %s", err);
		return 1;
	}
	ws = linuxplat_write_stats(d->lx);
	printf("%-14s %7s %10s %10s %10s %10s %7s\n", "write", "count", "mean_us", "p50_us",
	       "p99_us", "max_us", "errors");
	for (int k = 0; k < VS_W_N; k++) {
		if (ws[k].writes == 0)
			continue;
		printf("%-14s %7llu %10.1f %10.1f %10.1f %10.1f %7llu\n", vs_write_kind_name(k),
		       (unsigned long long)ws[k].writes, ws[k].sum_s / (double)ws[k].writes * 1e6,
		       linuxplat_bench_quantile(d->lx, k, 0.5) * 1e6,
		       linuxplat_bench_quantile(d->lx, k, 0.99) * 1e6, ws[k].max_s * 1e6,
		       (unsigned long long)(ws[k].transient + ws[k].permanent));
	}
	return 0;
}

/* mkdir -p, mode 0755. */
