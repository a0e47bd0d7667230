/* power.c - energy of the modelled package: per-core power by state plus uncore. */
#include "sim/costs.h"
#include "sim/model.h"

double power_energy_j(const struct sim_model *m, const sim_ns *busy_ns, sim_ns period_ns)
{
	double j = SIM_UNCORE_W * (double)period_ns * 1e-9;

	for (int c = 0; c < m->cfg.n_cores; c++) {
		double busy = (double)busy_ns[c] * 1e-9, period = (double)period_ns * 1e-9;
		double idle = period > busy ? period - busy : 0;

		j += busy * SIM_CORE_BUSY_W +
		     idle * (m->core[c].allocated ? m->cost.core_c1_w : SIM_CORE_C6_W);
	}
	return j;
}
