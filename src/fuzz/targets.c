/* targets.c - the table of fuzz targets (libFuzzer's entry and the corpus replay look them up by name). */
#include <string.h>

#include "fuzz/fuzz.h"

static const struct fuzz_target fuzz_table[] = {
	{ "proto", fuzz_proto, "the agent protocol's framing and message decoders" },
	{ "loadgen_reply", fuzz_loadgen_reply, "the loadgen's memcached and HTTP reply parsers" },
	{ "parsers", fuzz_parsers, "vspaced's parsers of outside input" },
	{ "memnet", fuzz_memnet, "MemNet: a guest's region, HTTP requests, replay CSV" },
	{ "vf", fuzz_vf,
	  "FlexVF's parsers: vf replay CSV, a PF's netlink answer, sysfs words, QMP "
	  "unplug, agent NIC counters" },
};

const struct fuzz_target *fuzz_targets(int *n)
{
	*n = (int)(sizeof(fuzz_table) / sizeof(fuzz_table[0]));
	return fuzz_table;
}

const struct fuzz_target *fuzz_target_find(const char *name)
{
	int n;
	const struct fuzz_target *t = fuzz_targets(&n);

	for (int i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}
