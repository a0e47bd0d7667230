/* vf.c - `vspace sim vf`'s intervals: the FlexVF model (src/sim/vf.c) run under the real VF strategies (src/control/vfsched.c, src/policy/vf.c). */
#include "simrun/vf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/vfsched.h"

int simvf_run(const struct simvf_cfg *c, struct simvf_result *r, char *err, size_t errlen)
{
	int n_vm = c->vms + (c->bulk_pps > 0 ? 1 : 0), rc = -1;
	struct simvf_model m;
	struct vf_sched s = { 0 };
	struct vf_params p;
	char name[32];

	memset(r, 0, sizeof(*r));
	memset(&m, 0, sizeof(m));
	if (simvf_check(c, err, errlen) < 0 || simvf_model_init(&m, c, n_vm, err, errlen) < 0)
		goto out;
	vf_params_defaults(&p);
	p.n_vfs = c->strategy ? c->vfs : 0;
	p.hysteresis = c->hysteresis;
	p.min_hold = c->min_hold;
	p.seed = c->seed;
	if (vf_sched_init(&s, c->strategy ? c->strategy : &vf_policy_fair, &p, err, errlen) < 0)
		goto out;
	r->n_groups = c->n_groups;
	r->has_bulk = c->bulk_pps > 0;
	for (int g = 0; g <= c->n_groups; g++)
		hist_init(&r->group[g].lat_ns);
	for (int i = 0; i < n_vm; i++) {
		if (i < c->vms)
			snprintf(name, sizeof(name), "g%d-vm%03d", m.vm[i].group + 1, i);
		else
			snprintf(name, sizeof(name), "bulk");
		if (vf_sched_add(&s, name, err, errlen) != i)
			goto out;
	}
	/* interval 0 only gives the strategy its first rates; intervals 1..N run
	 * on the grants decided at the end of the one before */
	for (int k = 0; k <= c->intervals; k++) {
		simvf_draw_rates(&m, c);
		if (k > 0) {
			double util = simvf_window(&m, c, r);
			r->host_util_mean += util / c->intervals;
			if (util > r->host_util_max)
				r->host_util_max = util;
			for (int i = 0; i < n_vm; i++) {
				r->group[m.vm[i].group].vm_intervals++;
				r->group[m.vm[i].group].vf_intervals += m.vm[i].vf;
			}
		}
		if (k == c->intervals)
			break;
		vf_sched_begin(&s);
		for (int i = 0; i < n_vm; i++)
			if (vf_sched_report(&s, s.vm[i].name, m.vm[i].pps, err, errlen) < 0)
				goto out;
		if (vf_sched_decide(&s) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		for (int i = 0; i < n_vm; i++) {
			bool now = s.vm[i].v.grant;
			r->plugs += now && !m.vm[i].vf;
			r->unplugs += !now && m.vm[i].vf;
			m.vm[i].vf = now;
		}
	}
	rc = 0;
out:
	vf_sched_free(&s);
	simvf_model_free(&m);
	return rc;
}
