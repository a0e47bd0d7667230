/* mnorch.c - vspaced's MemNet orchestrator: every interval, the workloads' regions are scanned and their quotas sized from the budget (src/memnet/orch.c). */
#include "daemon/mnorch.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

int vsd_memnet_init(struct vsd_memnet *m, const struct vsd_config *c, bool dry_run, double now_s,
		    char *err, size_t errlen)
{
	size_t k = 0;

	memset(m, 0, sizeof(*m));
	if (c->n_memnet == 0)
		return 0;
	m->r = calloc((size_t)c->n_memnet, sizeof(*m->r));
	m->rp = calloc((size_t)c->n_memnet, sizeof(*m->rp));
	m->vm = calloc((size_t)c->n_memnet, sizeof(*m->vm));
	if (!m->r || !m->rp || !m->vm) {
		snprintf(err, errlen, "memnet: out of memory");
		vsd_memnet_free(m);
		return -1;
	}
	for (int i = 0; i < c->n_wl; i++) {
		if (!c->wl_memnet[i][0])
			continue;
		/* the workload's name names the region (log lines, status) */
		if (memnet_reader_init(&m->r[k], c->wl[i].name, c->wl_memnet[i], err, errlen) < 0) {
			vsd_memnet_free(m);
			return -1;
		}
		m->rp[k] = &m->r[k];
		k++;
	}
	m->n = k;
	memnet_sizing_defaults(&m->orch.params);
	m->orch.params.min_bytes = c->memnet_min_bytes;
	m->orch.budget_bytes = c->memnet_budget_bytes;
	m->orch.slo_ms = c->memnet_slo_ms;
	m->orch.interval_s = c->memnet_interval_s;
	m->orch.dry_run = dry_run;
	/* the first interval only records the guests' counters */
	m->next_s = now_s;
	log_info("memnet: %zu region%s, budget %.1f MiB, job response-time target %.1f ms, every "
		 "%.2f s%s",
		 m->n, m->n == 1 ? "" : "s", (double)m->orch.budget_bytes / 1048576.0,
		 m->orch.slo_ms, m->orch.interval_s, dry_run ? " (dry-run: no quota written)" : "");
	return 0;
}

void vsd_memnet_free(struct vsd_memnet *m)
{
	for (size_t i = 0; m->r && i < m->n; i++)
		memnet_reader_free(&m->r[i]);
	free(m->r);
	free(m->rp);
	free(m->vm);
	memset(m, 0, sizeof(*m));
}

void vsd_memnet_tick(struct vsd_memnet *m, double now_s)
{
	if (m->n == 0 || now_s < m->next_s)
		return;
	/* absolute deadlines: a late tick does not shift the next ones */
	while (m->next_s <= now_s)
		m->next_s += m->orch.interval_s;
	for (size_t i = 0; i < m->n; i++)
		memnet_reader_scan(&m->r[i], (uint64_t)(now_s * 1000.0) + 1, false);
	m->changes += memnet_orch_step(&m->orch, m->rp, m->vm, m->n);
	m->steps++;
}

static const struct memnet_reader *vsd_memnet_find(const struct vsd_memnet *m, const char *name,
						   size_t *idx)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->r[i].name, name)) {
			*idx = i;
			return &m->r[i];
		}
	return NULL;
}

json_t *vsd_memnet_status(const struct vsd_memnet *m, const char *name)
{
	size_t i;
	const struct memnet_reader *r = vsd_memnet_find(m, name, &i);
	json_t *o;

	if (!r)
		return NULL;
	o = memnet_region_json(r);
	json_object_del(o, "name"); /* the workload's */
	if (m->vm[i].active)
		json_object_set_new(o, "sizing", memnet_sizing_json(&m->vm[i]));
	return o;
}

void vsd_memnet_metrics(const struct vsd_memnet *m, struct metrics_buf *b)
{
	if (m->n == 0)
		return;
	metrics_printf(b,
		       "# HELP vspace_memnet_budget_bytes The MemNet regions' memory budget.\n"
		       "# TYPE vspace_memnet_budget_bytes gauge\nvspace_memnet_budget_bytes %llu\n"
		       "# HELP vspace_memnet_quota_changes_total Quotas the orchestrator changed.\n"
		       "# TYPE vspace_memnet_quota_changes_total counter\n"
		       "vspace_memnet_quota_changes_total %llu\n",
		       (unsigned long long)m->orch.budget_bytes, (unsigned long long)m->changes);
	metrics_printf(b, "# HELP vspace_memnet_region_ok 1 while a workload's region checks.\n"
			  "# TYPE vspace_memnet_region_ok gauge\n");
	for (size_t i = 0; i < m->n; i++)
		metrics_printf(b, "vspace_memnet_region_ok{workload=\"%s\"} %d\n", m->r[i].name,
			       m->r[i].ok);
	metrics_printf(b, "# HELP vspace_memnet_quota_bytes The quota in a workload's region.\n"
			  "# TYPE vspace_memnet_quota_bytes gauge\n"
			  "# HELP vspace_memnet_used_bytes Bytes its live objects reserve.\n"
			  "# TYPE vspace_memnet_used_bytes gauge\n");
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].ok)
			metrics_printf(b,
				       "vspace_memnet_quota_bytes{workload=\"%s\"} %llu\n"
				       "vspace_memnet_used_bytes{workload=\"%s\"} %llu\n",
				       m->r[i].name, (unsigned long long)m->r[i].geom.quota_bytes,
				       m->r[i].name, (unsigned long long)m->r[i].used_bytes);
	metrics_printf(b,
		       "# HELP vspace_memnet_request_bytes What the sizing asked for a workload "
		       "in the last interval.\n# TYPE vspace_memnet_request_bytes gauge\n"
		       "# HELP vspace_memnet_jobs_total Jobs the workload's guest reported done.\n"
		       "# TYPE vspace_memnet_jobs_total counter\n");
	for (size_t i = 0; i < m->n; i++) {
		if (m->vm[i].active)
			metrics_printf(b, "vspace_memnet_request_bytes{workload=\"%s\"} %llu\n",
				       m->r[i].name,
				       (unsigned long long)m->vm[i].out.request_bytes);
		if (m->vm[i].have_last)
			metrics_printf(b, "vspace_memnet_jobs_total{workload=\"%s\"} %llu\n",
				       m->r[i].name, (unsigned long long)m->vm[i].last.jobs_done);
	}
}
