/* workload.c - requests of the modelled services: memcached (ETC key/value sizes) and nginx. */
#include <math.h>
#include <stdlib.h>

#include "sim/costs.h"
#include "sim/model.h"

/* First size of the request pool; it doubles when exhausted (amortised: the
 * number of requests in flight is bounded by the rings and queues). */
#define WL_POOL_INIT 4096
/* memcached's longest key. */
#define WL_KEY_MAX 250

static int wl_grow(struct sim_model *m)
{
	uint32_t cap = m->n_req_cap ? m->n_req_cap * 2 : WL_POOL_INIT;
	struct sim_req *r;

	if (cap < m->n_req_cap || cap > (UINT32_MAX >> 1))
		return -1;
	r = realloc(m->req, sizeof(*r) * cap);
	if (!r)
		return -1;
	m->req = r;
	for (uint32_t i = m->n_req_cap; i < cap; i++)
		r[i].next_free = i + 1 < cap ? i + 1 : m->free_req;
	m->free_req = m->n_req_cap;
	m->n_req_cap = cap;
	return 0;
}

/* ETC key size: inverse CDF of the generalized extreme value distribution. */
static uint32_t wl_etc_key(struct sim_rng *r)
{
	double u = rng_unit(r);
	double x = SIM_ETC_KEY_MU +
		   SIM_ETC_KEY_SIGMA / SIM_ETC_KEY_K * (pow(-log(u), -SIM_ETC_KEY_K) - 1.0);

	if (x < 1)
		x = 1;
	return x > WL_KEY_MAX ? WL_KEY_MAX : (uint32_t)x;
}

/* ETC value size: inverse CDF of the generalized Pareto distribution. */
static uint32_t wl_etc_value(struct sim_rng *r)
{
	double u = rng_unit(r);
	double x = SIM_ETC_VALUE_SIGMA / SIM_ETC_VALUE_K * (pow(u, -SIM_ETC_VALUE_K) - 1.0);

	if (x < 1)
		x = 1;
	return x > SIM_ETC_VALUE_MAX ? SIM_ETC_VALUE_MAX : (uint32_t)x;
}

uint32_t wl_new_request(struct sim_model *m, struct sim_vm *vm, sim_ns sent)
{
	struct sim_req *r;
	uint32_t id;

	if (m->free_req == UINT32_MAX && wl_grow(m) < 0)
		return UINT32_MAX;
	id = m->free_req;
	r = &m->req[id];
	m->free_req = r->next_free;
	vm->in_flight++;
	r->live = true;
	r->sent = sent;
	r->due = 0;
	r->vm = (uint16_t)vm->id;
	r->conn = rng_below(&vm->rng_conn, (uint32_t)m->cfg.n_conns);
	if (m->cfg.wl == SIM_WL_NGINX) {
		r->req_bytes = SIM_NGINX_REQ_BYTES;
		r->resp_bytes = SIM_NGINX_FILE_BYTES + SIM_NGINX_RESP_HDR_BYTES;
		r->app_ns = (uint32_t)m->cost.nginx_app;
	} else {
		bool set = rng_below(&vm->rng_size, SIM_ETC_GETS_PER_SET + 1) == 0;
		uint32_t key = wl_etc_key(&vm->rng_size), value = wl_etc_value(&vm->rng_size);

		r->req_bytes = SIM_MEMCACHED_HDR_BYTES + key + (set ? value : 0);
		r->resp_bytes = set ? 8 : SIM_MEMCACHED_HDR_BYTES + key + value;
		r->app_ns = (uint32_t)(m->cost.memcached_app +
				       (sim_ns)(key + value) * m->cost.memcached_app_per_kb / 1024);
	}
	return id;
}

void wl_free_request(struct sim_model *m, uint32_t id)
{
	if (!m->req[id].live) {
		m->cnt.anomalies++;
		return;
	}
	m->req[id].live = false;
	m->req[id].next_free = m->free_req;
	m->free_req = id;
	m->vm[m->req[id].vm].in_flight--;
}

sim_ns wl_wire_ns(uint32_t bytes)
{
	uint32_t segs = bytes ? (bytes + SIM_MSS_BYTES - 1) / SIM_MSS_BYTES : 1;
	double wire = (double)bytes + (double)segs * SIM_FRAME_OVERHEAD_BYTES;

	return (sim_ns)(wire * 8.0 * 1e9 / SIM_LINK_BPS + 0.5);
}
