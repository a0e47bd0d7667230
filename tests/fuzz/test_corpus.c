/* test_corpus.c - every fuzz target's saved corpus (tests/fuzz/<target>/) through its entry point, built with gcc: no crash or broken invariant (under ASan: no memory error), and what the parsers made of it matches tests/fuzz/expected.txt (VS_UPDATE_GOLDEN=1 rewrites it). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "lib/log.h"
#include "testutil.h"

/* Run from the repository root (tests/run-tests does). */
#define EXPECTED "tests/fuzz/expected.txt"
#define MAX_ROWS 64

/* What one target's corpus came to, per kind of input. */
struct row {
	char target[32], kind[32];
	unsigned files, parsed, refused;
};

struct tally {
	struct row row[MAX_ROWS];
	int n;
};

static struct row *tally_row(struct tally *t, const char *target, const char *kind)
{
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->row[i].target, target) && !strcmp(t->row[i].kind, kind))
			return &t->row[i];
	assert_true(t->n < MAX_ROWS);
	snprintf(t->row[t->n].target, sizeof(t->row[0].target), "%s", target);
	snprintf(t->row[t->n].kind, sizeof(t->row[0].kind), "%s", kind);
	return &t->row[t->n++];
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Every file of one target's corpus, in name order; the parsers' inputs
 * also cut at every length up to 512 bytes (truncated input; not counted). */
static void replay(const struct fuzz_target *t, struct tally *out)
{
	char dir[128];
	char *names[4096];
	int n = 0;
	DIR *d;
	struct dirent *de;

	snprintf(dir, sizeof(dir), "tests/fuzz/%s", t->name);
	d = opendir(dir);
	if (!d)
		fail_msg("cannot open %s (run from the repository root)", dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_true(n < 4096);
		names[n] = strdup(de->d_name);
		assert_non_null(names[n]);
		n++;
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), name_cmp);
	for (int i = 0; i < n; i++) {
		char path[512];
		size_t len;
		uint8_t *buf;
		struct fuzz_count c = { 0 };

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		buf = slurp(path, &len);
		t->one(buf, len, &c); /* aborts (failing the test) on a broken invariant */
		if (c.kind) {
			struct row *r = tally_row(out, t->name, c.kind);
			r->files++;
			r->parsed += c.parsed;
			r->refused += c.refused;
		} else {
			tally_row(out, t->name, "-")->files++;
		}
		if (!strcmp(t->name, "parsers"))
			for (size_t k = 0; k < len && k < 512; k++) {
				struct fuzz_count cut = { 0 };
				t->one(buf, k, &cut);
			}
		free(buf);
		free(names[i]);
	}
}

static void write_expected(const struct tally *t)
{
	FILE *f = fopen(EXPECTED, "w");

	assert_non_null(f);
	fprintf(f, "# expected.txt - what the parsers make of each fuzz target's saved corpus "
		   "(tests/fuzz/test_corpus.c).\n"
		   "# Rewritten by VS_UPDATE_GOLDEN=1 build/tests/fuzz/test_corpus after a "
		   "corpus or a parser changed on purpose.\n"
		   "# target kind files parsed refused\n");
	for (int i = 0; i < t->n; i++)
		fprintf(f, "%s %s %u %u %u\n", t->row[i].target, t->row[i].kind, t->row[i].files,
			t->row[i].parsed, t->row[i].refused);
	fclose(f);
	printf("# updated %s\n", EXPECTED);
}

static void read_expected(struct tally *t)
{
	FILE *f = fopen(EXPECTED, "r");
	char line[256];

	if (!f)
		fail_msg("cannot open %s (VS_UPDATE_GOLDEN=1 writes it)", EXPECTED);
	while (fgets(line, sizeof(line), f)) {
		struct row r = { 0 };
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%31s %31s %u %u %u", r.target, r.kind, &r.files, &r.parsed,
			   &r.refused) != 5)
			fail_msg("%s: not \"target kind files parsed refused\": %s", EXPECTED,
				 line);
		assert_true(t->n < MAX_ROWS);
		t->row[t->n++] = r;
	}
	fclose(f);
}

static void test_corpora(void **state)
{
	static struct tally got, want;
	const struct fuzz_target *targets;
	const char *update = getenv("VS_UPDATE_GOLDEN");
	int n_targets, bad = 0;

	memset(&got, 0, sizeof(got));
	memset(&want, 0, sizeof(want));
	targets = fuzz_targets(&n_targets);
	for (int i = 0; i < n_targets; i++)
		replay(&targets[i], &got);
	for (int i = 0; i < got.n; i++)
		printf("# %s %s: %u files, %u parsed, %u refused\n", got.row[i].target,
		       got.row[i].kind, got.row[i].files, got.row[i].parsed, got.row[i].refused);
	if (update && !strcmp(update, "1")) {
		write_expected(&got);
		return;
	}
	read_expected(&want);
	/* every row as expected, and no row more or less */
	for (int i = 0; i < want.n; i++) {
		const struct row *w = &want.row[i], *g = NULL;
		for (int j = 0; j < got.n && !g; j++)
			if (!strcmp(got.row[j].target, w->target) &&
			    !strcmp(got.row[j].kind, w->kind))
				g = &got.row[j];
		if (!g) {
			printf("# %s %s: expected %u files, none replayed\n", w->target, w->kind,
			       w->files);
			bad++;
		} else if (g->files != w->files || g->parsed != w->parsed ||
			   g->refused != w->refused) {
			printf("# %s %s: %u files %u parsed %u refused, expected %u %u %u\n",
			       w->target, w->kind, g->files, g->parsed, g->refused, w->files,
			       w->parsed, w->refused);
			bad++;
		}
	}
	if (got.n != want.n) {
		printf("# %d kinds of input replayed, %d expected\n", got.n, want.n);
		bad++;
	}
	/* a corpus emptied or lost must not pass, whatever the table says */
	for (int i = 0; i < n_targets; i++) {
		unsigned files = 0;
		for (int j = 0; j < got.n; j++)
			if (!strcmp(got.row[j].target, targets[i].name))
				files += got.row[j].files;
		if (files < 10) {
			printf("# %s: %u corpus files\n", targets[i].name, files);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpora),
	};
	log_init("test_corpus", VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
