/* mnorch.h - vspaced's MemNet orchestrator: the workloads' regions ([workload] memnet=), their quotas from [memnet] budget_mb= and slo_ms=, status and metrics. */
#ifndef VS_DAEMON_MNORCH_H
#define VS_DAEMON_MNORCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/config.h"
#include "daemon/metrics.h"
#include "memnet/orch.h"
#include "memnet/reader.h"

/*
 * vspaced reads each region (the guest's job counters, what is in use) and
 * writes one field of it, the guest's quota; `vspace memnet serve` (run
 * without --budget-mb) serves the objects and releases them. Each field of
 * the region keeps one writer.
 */
struct vsd_memnet {
	struct memnet_orch orch;
	size_t n;
	struct memnet_reader *r;   /* one per workload with memnet= */
	struct memnet_reader **rp; /* pointers to r (what memnet_orch_step takes) */
	struct memnet_orch_vm *vm; /* the orchestrator's state per region */
	double next_s;		   /* the next interval's end (monotonic seconds) */
	uint64_t steps;		   /* intervals run */
	uint64_t changes;	   /* quotas changed (dry run: would have) */
};

/* Set up a reader per workload with memnet= (regions may not exist yet:
 * they are tried every interval). Returns 0 (nothing to do when no
 * workload has a region) or -1 with err. */
int vsd_memnet_init(struct vsd_memnet *m, const struct vsd_config *c, bool dry_run, double now_s,
		    char *err, size_t errlen);
void vsd_memnet_free(struct vsd_memnet *m);
/* Once an interval has passed: scan every region, size, divide, write the
 * quotas. Cheap otherwise (a comparison). */
void vsd_memnet_tick(struct vsd_memnet *m, double now_s);
/* The region of workload name as a status object, or NULL when it has none. */
json_t *vsd_memnet_status(const struct vsd_memnet *m, const char *name);
/* Prometheus lines for every region. */
void vsd_memnet_metrics(const struct vsd_memnet *m, struct metrics_buf *b);

#endif
