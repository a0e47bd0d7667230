/* vfreplay.c - `vspace vf replay`: feed recorded per-VM packet rates through a VF strategy and print who holds the VFs after each interval. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "control/vfreplay.h"
#include "control/vfsched.h"
#include "lib/cliopt.h"
#include "lib/strutil.h"

void vfreplay_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace vf replay --strategy fair|activity|random --vfs N [options] < "
		"rates.csv\n"
		"\n"
		"Feed recorded per-VM packet rates through a FlexVF strategy and print which VMs\n"
		"hold the N VFs after each interval's decision. No host is touched.\n"
		"\n"
		"Input (stdin): CSV with the header line interval,vm,pps (columns in any order)\n"
		"and one row per VM and interval:\n"
		"  interval  a whole number; rows of one interval are consecutive and the\n"
		"            numbers increase (gaps allowed: one decision per interval present)\n"
		"  vm        the VM's name: letters, digits and . _ : - (at most %d bytes),\n"
		"            once per interval; a VM missing from an interval is absent then\n"
		"            (it releases a VF it held)\n"
		"  pps       its packets per second (received + sent) over that interval\n"
		"Blank lines and lines starting with '#' are skipped.\n"
		"\n"
		"Output (stdout): CSV with the header interval,granted\n"
		"  interval  as in the input\n"
		"  granted   the VMs holding a VF after the decision at the end of that interval\n"
		"            (during the next one), sorted by name and joined with ';'\n"
		"With --explain a last column `why` gives each VM's reason.\n"
		"\n"
		"Strategies (SPEC §7.2): fair - round robin: the VMs that held a VF for the\n"
		"fewest intervals get them (equal shares over a cycle, +-1); activity - the N\n"
		"VMs with the highest rate; random - N drawn per interval (--seed). Ties: a\n"
		"holder before a contender, then by name. A VM that joins starts at the\n"
		"others' least count of intervals held.\n"
		"\n"
		"Options:\n"
		"  --strategy S      fair | activity | random (required)\n"
		"  --vfs N           VFs to hand out (required, 0..%d)\n"
		"  --hysteresis X    activity: a contender takes a holder's VF only when its rate\n"
		"                    exceeds the holder's by this fraction (0.25 = 25%%; default "
		"0,\n"
		"                    the original strategy)\n"
		"  --min-hold K      a grant is kept at least K intervals (default 1, the "
		"original)\n"
		"  --seed N          random: the draw's seed (default 1)\n"
		"  --explain         add a `why` column\n"
		"  -h, --help        this text\n"
		"\n"
		"Exit status: 0 ok, 2 bad argument or malformed input (the message names the\n"
		"line).\n"
		"\n"
		"Example:\n"
		"  printf 'interval,vm,pps\\n1,a,10\\n1,b,30\\n1,c,20\\n' | \\\n"
		"      vspace vf replay --strategy activity --vfs 2      # 1,b;c\n",
		VF_NAME_MAX - 1, VF_MAX_VMS);
}

int vfreplay_main(int argc, char **argv)
{
	enum { OPT_STRATEGY = 256, OPT_VFS, OPT_HYST, OPT_HOLD, OPT_SEED, OPT_EXPLAIN };
	static const struct option longopts[] = {
		{ "strategy", required_argument, NULL, OPT_STRATEGY },
		{ "vfs", required_argument, NULL, OPT_VFS },
		{ "hysteresis", required_argument, NULL, OPT_HYST },
		{ "min-hold", required_argument, NULL, OPT_HOLD },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vfreplay_opts o = { 0 };
	bool have_vfs = false;
	long v;
	int ch;

	vf_params_defaults(&o.params);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_STRATEGY:
			o.ops = vf_policy_lookup(optarg);
			if (!o.ops) {
				fprintf(stderr,
					"vspace vf replay: --strategy: unknown \"%s\" (fair, "
					"activity, "
					"random)\n",
					optarg);
				return 2;
			}
			break;
		case OPT_VFS:
			if (str_to_long(optarg, 0, VF_MAX_VMS, &v) < 0) {
				fprintf(stderr,
					"vspace vf replay: --vfs: \"%s\" is not a whole number in "
					"[0, "
					"%d]\n",
					optarg, VF_MAX_VMS);
				return 2;
			}
			o.params.n_vfs = (int)v;
			have_vfs = true;
			break;
		case OPT_HYST:
			if (str_to_double(optarg, 0, 100, &o.params.hysteresis) < 0) {
				fprintf(stderr,
					"vspace vf replay: --hysteresis: \"%s\" is not a number in "
					"[0, "
					"100] (a fraction: 0.25 = 25%%)\n",
					optarg);
				return 2;
			}
			break;
		case OPT_HOLD:
			if (str_to_long(optarg, 1, 1000000, &v) < 0) {
				fprintf(stderr,
					"vspace vf replay: --min-hold: \"%s\" is not a whole "
					"number in "
					"[1, 1000000]\n",
					optarg);
				return 2;
			}
			o.params.min_hold = (int)v;
			break;
		case OPT_SEED:
			if (str_to_long(optarg, 0, 0x7fffffffL, &v) < 0) {
				fprintf(stderr,
					"vspace vf replay: --seed: \"%s\" is not a whole number in "
					"[0, "
					"2147483647]\n",
					optarg);
				return 2;
			}
			o.params.seed = (uint64_t)v;
			break;
		case OPT_EXPLAIN:
			o.explain = true;
			break;
		case 'h':
			vfreplay_usage(stdout);
			return 0;
		default:
			return cliopt_error("vspace vf replay", ch, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"vspace vf replay: unexpected argument \"%s\" (the input comes on stdin)\n",
			argv[optind]);
		return 2;
	}
	if (!o.ops || !have_vfs) {
		fprintf(stderr,
			"vspace vf replay: --strategy and --vfs are required (see --help)\n");
		return 2;
	}
	return vfreplay_run(&o, stdin, "stdin", stdout);
}
