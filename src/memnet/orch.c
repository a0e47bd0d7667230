/* orch.c - one orchestrator interval: guest counters in, quotas out (the policy does the arithmetic). */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "memnet/orch.h"

/* The interval's measurements of one region from its counters. */
static void memnet_orch_measure(const struct memnet_orch *o, const struct memnet_reader *r,
				struct memnet_orch_vm *v, const struct memnet_jobs *j)
{
	struct memnet_sizing_in *in = &v->in;

	memset(in, 0, sizeof(*in));
	in->interval_s = o->interval_s;
	in->slo_ms = o->slo_ms;
	if (v->have_last && j->jobs_done >= v->last.jobs_done &&
	    j->service_us_sum >= v->last.service_us_sum &&
	    j->response_us_sum >= v->last.response_us_sum && j->bytes_sum >= v->last.bytes_sum) {
		double jobs = (double)(j->jobs_done - v->last.jobs_done);
		if (jobs > 0) {
			in->arrivals = jobs;
			in->service_ms = (double)(j->service_us_sum - v->last.service_us_sum) /
					 jobs / 1000.0;
			in->has_response = true;
			in->response_ms = (double)(j->response_us_sum - v->last.response_us_sum) /
					  jobs / 1000.0;
			v->object_bytes = (double)(j->bytes_sum - v->last.bytes_sum) / jobs;
			if (in->service_ms <= 0) /* a job faster than 1 us */
				in->service_ms = 0.001;
		}
	}
	in->object_bytes = v->object_bytes;
	in->used_bytes = r->used_bytes;
	in->need_bytes = r->need_bytes;
	v->last = *j;
	v->have_last = true;
}

unsigned memnet_orch_step(const struct memnet_orch *o, struct memnet_reader *const *r,
			  struct memnet_orch_vm *vm, size_t n)
{
	uint64_t *req = calloc(n ? n : 1, sizeof(*req)), *cap = calloc(n ? n : 1, sizeof(*cap));
	uint64_t *grant = calloc(n ? n : 1, sizeof(*grant));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx)), k = 0;
	unsigned changed = 0;

	if (!req || !cap || !grant || !idx) {
		log_warnx("memnet orchestrator: out of memory, quotas unchanged");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct memnet_jobs j;
		vm[i].active = memnet_reader_jobs(r[i], &j) == 0;
		if (!vm[i].active)
			continue;
		memnet_orch_measure(o, r[i], &vm[i], &j);
		memnet_size(&o->params, &vm[i].st, &vm[i].in, &vm[i].out);
		req[k] = vm[i].out.request_bytes;
		cap[k] = r[i]->geom.data_bytes;
		idx[k++] = i;
	}
	memnet_orchestrate(o->budget_bytes, req, cap, k, grant);
	for (size_t m = 0; m < k; m++) {
		struct memnet_orch_vm *v = &vm[idx[m]];
		uint64_t before = r[idx[m]]->geom.quota_bytes;
		v->grant = grant[m];
		if (o->dry_run ? before != grant[m] && v->logged != grant[m]
			       : memnet_reader_set_quota(r[idx[m]], grant[m]) == 1) {
			char why[512];
			memnet_sizing_explain(&o->params, &v->in, &v->out, v->grant, why,
					      sizeof(why));
			log_info("memnet region %s: %squota %" PRIu64 " -> %" PRIu64 " bytes: %s",
				 r[idx[m]]->name, o->dry_run ? "dry-run: would set " : "", before,
				 grant[m], why);
			changed++;
		}
		v->logged = grant[m];
	}
out:
	free(req);
	free(cap);
	free(grant);
	free(idx);
	return changed;
}

json_t *memnet_region_json(const struct memnet_reader *r)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "name", r->name, "path", r->path, "state",
			      r->ok ? "serving" : "refused");
	if (!r->ok)
		json_object_set_new(o, "error", json_string(r->error));
	if (r->have_geom) {
		json_object_set_new(o, "data_bytes", json_integer((json_int_t)r->geom.data_bytes));
		json_object_set_new(o, "quota_bytes",
				    json_integer((json_int_t)r->geom.quota_bytes));
		json_object_set_new(o, "used_bytes", json_integer((json_int_t)r->used_bytes));
		json_object_set_new(o, "need_bytes", json_integer((json_int_t)r->need_bytes));
		json_object_set_new(o, "slots", json_integer(r->geom.slot_count));
		json_object_set_new(o, "objects", json_integer(r->n_live));
		json_object_set_new(o, "bad_slots", json_integer(r->n_bad));
	}
	struct memnet_jobs j;
	if (memnet_reader_jobs(r, &j) == 0) {
		json_object_set_new(o, "jobs_done", json_integer((json_int_t)j.jobs_done));
		json_object_set_new(o, "job_service_us_sum",
				    json_integer((json_int_t)j.service_us_sum));
		json_object_set_new(o, "job_response_us_sum",
				    json_integer((json_int_t)j.response_us_sum));
	}
	json_object_set_new(o, "releases", json_integer((json_int_t)r->releases));
	json_object_set_new(o, "evictions", json_integer((json_int_t)r->evictions));
	json_object_set_new(o, "punched_bytes", json_integer((json_int_t)r->punched_bytes));
	json_object_set_new(o, "refusals", json_integer((json_int_t)r->refusals));
	json_object_set_new(o, "quota_changes", json_integer((json_int_t)r->quota_changes));
	return o;
}

json_t *memnet_sizing_json(const struct memnet_orch_vm *v)
{
	json_t *o = json_pack("{s:f,s:f,s:f,s:b,s:f,s:f,s:I,s:I}", "lambda_per_s",
			      v->out.lambda_per_s, "mu_per_s", v->out.mu_per_s, "rho", v->out.rho,
			      "saturated", v->out.saturated, "n_jobs", v->out.n_jobs, "factor",
			      v->out.factor, "request_bytes", (json_int_t)v->out.request_bytes,
			      "grant_bytes", (json_int_t)v->grant);
	if (v->in.has_response)
		json_object_set_new(o, "response_ms", json_real(v->in.response_ms));
	return o;
}
