/* vfreplay.c - the heart of `vspace vf replay`: per-VM packet rates (CSV) through a VF strategy, the grants after each interval (CSV); a parser of outside input. */
#include "control/vfreplay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/vfsched.h"
#include "lib/lines.h"
#include "lib/strutil.h"

/* Longest input line accepted (a row is a number, a name and a rate). */
#define VFREPLAY_LINE_MAX 512
/* Largest interval number and packet rate accepted. */
#define VFREPLAY_INTERVAL_MAX 1000000000000L
#define VFREPLAY_PPS_MAX      1e12

enum vfreplay_col { VCOL_INTERVAL, VCOL_VM, VCOL_PPS, VCOL_N };

static const char *const vfreplay_cols[VCOL_N] = { "interval", "vm", "pps" };

static int vfreplay_header(char *line, const char *name, long lineno, int *col_of)
{
	int seen[VCOL_N] = { 0 };
	char err[160];
	int n = str_csv_header(line, vfreplay_cols, VCOL_N, "interval,vm,pps", col_of, seen, err,
			       sizeof(err));

	if (n < 0) {
		fprintf(stderr, "vspace vf replay: %s:%ld: %s\n", name, lineno, err);
		return -1;
	}
	if (n != VCOL_N) {
		fprintf(stderr,
			"vspace vf replay: %s:%ld: the header must name the 3 columns "
			"interval,vm,pps\n",
			name, lineno);
		return -1;
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
	char err[300], line[VFREPLAY_LINE_MAX + 1], *t;
	struct vs_lines lines;
	int col_of[VCOL_N], rc = 0, got;
	long cur = -1;
	bool have_header = false;

	if (vf_sched_init(&s, o->ops, &o->params, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace vf replay: %s\n", err);
		return 2;
	}
	fprintf(out, "interval,granted%s\n", o->explain ? ",why" : "");
	lines_init(&lines, in, input_name, line, sizeof(line));
	while ((got = lines_next(&lines, &t, err, sizeof(err))) == 1) {
		long interval = 0;
		double pps = 0;
		char *vm = NULL;

		if (!have_header) {
			if (vfreplay_header(t, input_name, lines.lineno, col_of) < 0) {
				rc = 2;
				break;
			}
			have_header = true;
			continue;
		}
		if (vfreplay_row(t, input_name, lines.lineno, col_of, &interval, &vm, &pps) < 0) {
			rc = 2;
			break;
		}
		if (cur >= 0 && interval < cur) {
			fprintf(stderr,
				"vspace vf replay: %s:%ld: interval %ld after %ld (the intervals "
				"must increase; the rows of one interval are consecutive)\n",
				input_name, lines.lineno, interval, cur);
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
				input_name, lines.lineno, vm, interval);
			rc = 2;
			break;
		}
		if (vf_sched_report(&s, vm, pps, err, sizeof(err)) < 0) {
			fprintf(stderr, "vspace vf replay: %s:%ld: %s\n", input_name, lines.lineno,
				err);
			rc = 2;
			break;
		}
	}
	if (rc == 0 && got < 0) {
		fprintf(stderr, "vspace vf replay: %s\n", err);
		rc = 2;
	}
	if (rc == 0 && cur >= 0 && vfreplay_decide(&s, cur, o->explain, out) < 0)
		rc = 1;
	if (rc == 0 && !have_header) {
		fprintf(stderr, "vspace vf replay: %s: no header line (expected interval,vm,pps)\n",
			input_name);
		rc = 2;
	}
	vf_sched_free(&s);
	if (fflush(out) != 0 && rc == 0)
		rc = 1;
	return rc;
}
