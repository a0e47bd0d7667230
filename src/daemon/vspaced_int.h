/* vspaced_int.h - internals shared by vspaced's files (loop, requests, rendering, benchmarks; not for other programs). */
#ifndef VS_DAEMON_VSPACED_INT_H
#define VS_DAEMON_VSPACED_INT_H

#include <jansson.h>
#include <stddef.h>

#include "daemon/metrics.h"
#include "daemon/vspaced.h"
#include "lib/cpuset.h"
#include "policy/policy.h"

#define VSD_VERSION "0.1"

/* vspaced.c: clocks (monotonic; the loop thread's CPU time), a cpu list
 * ("-" when empty), one period (now: monotonic seconds, simulated by
 * --bench), the log line of each allocation that changed. */
double vsd_now(void);
double vsd_thread_cpu(void);
void vsd_cpus(const struct vs_cpuset *s, char *buf, size_t len);
void vsd_period(struct vsd *d, double now);
void vsd_log_changes(struct vsd *d);

/* request.c: "P", "E", "R" (any case) or a policy name; what follows a policy change. */
int vsd_policy(struct vsd *d, const char *spec, struct vs_policy *pol, char *err, size_t errlen);
void vsd_policy_changed(struct vsd *d);

/* render.c: explain (malloc'd text, NULL when out of memory), the status
 * reply, the metrics (metrics_open's render callback; arg is the vsd). */
char *vsd_explain(const struct vsd *d);
json_t *vsd_status(struct vsd *d);
void vsd_render(void *arg, struct metrics_buf *b);

/* bench.c: --bench (first_s: the first allocation's CPU time) and
 * --bench-writes; each returns the exit status. */
int vsd_bench(struct vsd *d, double first_s);
int vsd_bench_writes(struct vsd *d);

#endif
