/* orch.h - the MemNet orchestrator: each interval, the guests' job counters -> sizing (src/policy/memnet.h) -> the budget's division -> each guest's quota. */
#ifndef VS_MEMNET_ORCH_H
#define VS_MEMNET_ORCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memnet/reader.h"
#include "policy/memnet.h"

/* What the orchestrator keeps per region (VM). */
struct memnet_orch_vm {
	struct memnet_sizing_state st;
	struct memnet_jobs last; /* the counters at the last interval */
	bool have_last;
	double object_bytes; /* the last known mean result size */
	/* the last decision */
	bool active; /* the region was usable and took part */
	struct memnet_sizing_in in;
	struct memnet_sizing_out out;
	uint64_t grant;
	uint64_t logged; /* the last grant logged (a dry run logs each new one once) */
};

struct memnet_orch {
	struct memnet_sizing_params params;
	uint64_t budget_bytes;
	double slo_ms;
	double interval_s;
	bool dry_run; /* decide and log, write no quota */
};

/* One interval over n regions (r[i] with state vm[i]): read each usable
 * region's counters (differences since the last interval; counters that went
 * back start a new baseline), size, divide the budget, write the quotas
 * (only changed ones; each change logged with its arithmetic). Regions that
 * are refused take no part and keep what they had. Returns the number of
 * quotas changed (dry run: that would have changed). */
unsigned memnet_orch_step(const struct memnet_orch *o, struct memnet_reader *const *r,
			  struct memnet_orch_vm *vm, size_t n);

/* A region's state and counters, and the last sizing of a VM, as JSON (the
 * server's status page, vspaced's status). */
json_t *memnet_region_json(const struct memnet_reader *r);
json_t *memnet_sizing_json(const struct memnet_orch_vm *v);

#endif
