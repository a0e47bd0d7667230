/* refresh.h - the daemon's discovery step for the platform tests: refresh, then reconcile. */
#ifndef VS_TESTS_PLATFORM_REFRESH_H
#define VS_TESTS_PLATFORM_REFRESH_H

#include "control/controller.h"
#include "platform/linux/linux.h"

/* Re-discover and bring the controller in step, as vspaced's period does;
 * returns the number of workloads added. */
static inline int plat_refresh(struct vs_linux *lx, struct vs_controller *c, double now_s)
{
	struct vs_discovery d;

	linuxplat_refresh(lx, now_s, &d);
	return controller_reconcile(c, &d, NULL, NULL);
}

#endif
