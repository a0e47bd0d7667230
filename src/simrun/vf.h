/* vf.h - `vspace sim vf`'s intervals: the FlexVF model (src/sim/vf.h) run under the real VF strategies. */
#ifndef VS_SIMRUN_VF_H
#define VS_SIMRUN_VF_H

#include <stddef.h>

#include "sim/vf.h"

/* Run the model for c->intervals decisions of c->strategy (NULL: none).
 * Returns 0, or -1 with err (bad configuration, no memory). Deterministic
 * for a configuration and seed. */
int simvf_run(const struct simvf_cfg *c, struct simvf_result *r, char *err, size_t errlen);

#endif
