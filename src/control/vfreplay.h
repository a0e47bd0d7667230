/* vfreplay.h - the heart of `vspace vf replay`: per-VM packet rates (CSV) through a VF strategy, the grants after each interval (CSV). */
#ifndef VS_CONTROL_VFREPLAY_H
#define VS_CONTROL_VFREPLAY_H

#include <stdbool.h>
#include <stdio.h>

#include "policy/vf.h"

struct vfreplay_opts {
	const struct vf_policy_ops *ops; /* the strategy */
	struct vf_params params;
	bool explain; /* add the why column */
};

/* Replay CSV (interval,vm,pps; see `vspace vf replay --help`) from in to
 * out: one decision per interval through src/control/vfsched.c. A malformed
 * line is reported on stderr as "vspace vf replay: NAME:LINE: what".
 * Returns the exit status: 0, 1 (out of memory, write error), 2 (bad input). */
int vfreplay_run(const struct vfreplay_opts *o, FILE *in, const char *input_name, FILE *out);

#endif
