/* vfreplay.c - `vspace vf replay`: feed recorded per-VM packet rates through a VF strategy and print who holds the VFs after each interval. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "control/vfsched.h"
#include "lib/cliopt.h"
#include "lib/strutil.h"

/* Longest input line accepted (a row is a number, a name and a rate). */
#define VFREPLAY_LINE_MAX 512
/* Largest interval number and packet rate accepted. */
#define VFREPLAY_INTERVAL_MAX 1000000000000L
#define VFREPLAY_PPS_MAX      1e12

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

enum vfreplay_col { VCOL_INTERVAL, VCOL_VM, VCOL_PPS, VCOL_N };

static const char *const vfreplay_cols[VCOL_N] = { "interval", "vm", "pps" };

static int vfreplay_header(char *line, const char *name, long lineno, int *col_of)
{
	char *field[VCOL_N + 1];
	int seen[VCOL_N] = { 0 };
	int n = str_split(line, ',', field, VCOL_N);

	if (n != VCOL_N) {
		fprintf(stderr,
			"vspace vf replay: %s:%ld: the header must name the 3 columns "
			"interval,vm,pps\n",
			name, lineno);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char *f = str_trim(field[i]);
		int k;
		for (k = 0; k < VCOL_N; k++)
			if (strcmp(f, vfreplay_cols[k]) == 0)
				break;
		if (k == VCOL_N) {
			fprintf(stderr,
				"vspace vf replay: %s:%ld: unknown column \"%.40s\" in the header "
				"(expected interval,vm,pps)\n",
				name, lineno, f);
			return -1;
		}
		if (seen[k]++) {
			fprintf(stderr, "vspace vf replay: %s:%ld: column \"%s\" appears twice\n",
				name, lineno, f);
			return -1;
		}
		col_of[i] = k;
	}
	return 0;
}

static bool vfreplay_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= VF_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == ':' || *s == '-'))
			return false;
	return true;
}

/* One row: interval, vm (pointing into line), pps. */
static int vfreplay_row(char *line, const char *name, long lineno, const int *col_of,
			long *interval, char **vm, double *pps)
{
	char *field[VCOL_N + 1];
	int n = str_split(line, ',', field, VCOL_N);

	if (n != VCOL_N) {
		fprintf(stderr,
			"vspace vf replay: %s:%ld: %s fields, expected 3 (interval,vm,pps)\n", name,
			lineno,
			n < 0	 ? "more than 3"
			: n == 1 ? "1"
				 : "2");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char *f = str_trim(field[i]);
		switch (col_of[i]) {
		case VCOL_INTERVAL:
			if (str_to_long(f, 0, VFREPLAY_INTERVAL_MAX, interval) < 0) {
				fprintf(stderr,
					"vspace vf replay: %s:%ld: interval: \"%.40s\" is not a "
					"whole number in [0, %ld]\n",
					name, lineno, f, VFREPLAY_INTERVAL_MAX);
				return -1;
			}
			break;
		case VCOL_VM:
			if (!vfreplay_name_ok(f)) {
				fprintf(stderr,
					"vspace vf replay: %s:%ld: vm: \"%.40s\" is not a name (1 "
					"to "
					"%d letters, digits, . _ : -)\n",
					name, lineno, f, VF_NAME_MAX - 1);
				return -1;
			}
			*vm = f;
			break;
		case VCOL_PPS:
			if (str_to_double(f, 0, VFREPLAY_PPS_MAX, pps) < 0) {
				fprintf(stderr,
					"vspace vf replay: %s:%ld: pps: \"%.40s\" is not a number "
					"in "
					"[0, %g]\n",
					name, lineno, f, VFREPLAY_PPS_MAX);
				return -1;
			}
			break;
		}
	}
	return 0;
}

static int vfreplay_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The decision for interval `interval`, printed. */
static int vfreplay_decide(struct vf_sched *s, long interval, bool explain, FILE *out)
{
	const char *names[VF_MAX_VMS];
	int k = 0;

	if (vf_sched_decide(s) < 0) {
		fprintf(stderr, "vspace vf replay: out of memory\n");
		return -1;
	}
	for (int i = 0; i < s->n; i++)
		if (s->vm[i].v.grant)
			names[k++] = s->vm[i].name;
	qsort(names, (size_t)k, sizeof(names[0]), vfreplay_cmp_names);
	fprintf(out, "%ld,", interval);
	for (int i = 0; i < k; i++)
		fprintf(out, "%s%s", i ? ";" : "", names[i]);
	if (explain) {
		fputs(",\"", out);
		for (int i = 0, first = 1; i < s->n; i++) {
			if (!s->vm[i].present && !s->vm[i].v.grant &&
			    s->vm[i].v.why != VF_WHY_RELEASED)
				continue;
			fprintf(out, "%s%s: %s", first ? "" : "; ", s->vm[i].name, s->vm[i].why);
			first = 0;
		}
		fputc('"', out);
	}
	fputc('\n', out);
	return 0;
}

int vfreplay_run(const struct vfreplay_opts *o, FILE *in, const char *input_name, FILE *out)
{
	struct vf_sched s;
	char err[256], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int col_of[VCOL_N], rc = 0;
	long lineno = 0, cur = -1;
	bool have_header = false;

	if (vf_sched_init(&s, o->ops, &o->params, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace vf replay: %s\n", err);
		return 2;
	}
	fprintf(out, "interval,granted%s\n", o->explain ? ",why" : "");
	while ((len = getline(&line, &cap, in)) >= 0) {
		long interval = 0;
		double pps = 0;
		char *t, *vm = NULL;

		lineno++;
		if (len > VFREPLAY_LINE_MAX) {
			fprintf(stderr, "vspace vf replay: %s:%ld: line longer than %d bytes\n",
				input_name, lineno, VFREPLAY_LINE_MAX);
			rc = 2;
			break;
		}
		if (memchr(line, '\0', (size_t)len) != NULL) {
			fprintf(stderr, "vspace vf replay: %s:%ld: a NUL byte in the line\n",
				input_name, lineno);
			rc = 2;
			break;
		}
		t = str_trim(line);
		if (*t == '\0' || *t == '#')
			continue;
		if (!have_header) {
			if (vfreplay_header(t, input_name, lineno, col_of) < 0) {
				rc = 2;
				break;
			}
			have_header = true;
			continue;
		}
		if (vfreplay_row(t, input_name, lineno, col_of, &interval, &vm, &pps) < 0) {
			rc = 2;
			break;
		}
		if (cur >= 0 && interval < cur) {
			fprintf(stderr,
				"vspace vf replay: %s:%ld: interval %ld after %ld (the intervals "
				"must increase; the rows of one interval are consecutive)\n",
				input_name, lineno, interval, cur);
			rc = 2;
			break;
		}
		if (interval != cur) {
			if (cur >= 0 && vfreplay_decide(&s, cur, o->explain, out) < 0) {
				rc = 1;
				break;
			}
			vf_sched_begin(&s);
			cur = interval;
		}
		int i = vf_sched_find(&s, vm);
		if (i >= 0 && s.vm[i].present) {
			fprintf(stderr,
				"vspace vf replay: %s:%ld: vm %s appears twice in interval %ld\n",
				input_name, lineno, vm, interval);
			rc = 2;
			break;
		}
		if (vf_sched_report(&s, vm, pps, err, sizeof(err)) < 0) {
			fprintf(stderr, "vspace vf replay: %s:%ld: %s\n", input_name, lineno, err);
			rc = 2;
			break;
		}
	}
	if (rc == 0 && cur >= 0 && vfreplay_decide(&s, cur, o->explain, out) < 0)
		rc = 1;
	if (rc == 0 && ferror(in)) {
		fprintf(stderr, "vspace vf replay: %s: read error\n", input_name);
		rc = 2;
	}
	if (rc == 0 && !have_header) {
		fprintf(stderr, "vspace vf replay: %s: no header line (expected interval,vm,pps)\n",
			input_name);
		rc = 2;
	}
	free(line);
	vf_sched_free(&s);
	if (fflush(out) != 0 && rc == 0)
		rc = 1;
	return rc;
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
