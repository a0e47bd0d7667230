/* test_fixtures.c - golden outputs of discovery, sampling and planned writes on the fixture trees (VS_UPDATE_GOLDEN=1 rewrites them). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/config.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/linux.h"
#include "refresh.h"
#include "testutil.h"

/*
 * For each fixture: copy its root/ to a temporary directory, open the Linux
 * platform on it in dry-run mode with the fixture's vspace.conf, and record
 *  - discovery.txt: what discovery found (linuxplat_describe);
 *  - writes.txt:    the writes planned for the first allocation, then those
 *                   of one period after later/ replaced the files that
 *                   changed (proc/stat one second later);
 *  - sample.txt:    what that period measured and decided.
 * Each is compared with tests/fixtures/<name>/expected/<file>; with
 * VS_UPDATE_GOLDEN=1 in the environment the expected files are rewritten.
 * Synthetic host c is generated (tests/fixtures/gen-synthetic c) rather than
 * stored: 3600 files.
 */

/* Temporary directories of the running test, removed by the teardown even
 * when an assertion ends the test early. */
static char cleanup_dirs[2][48];

static int teardown(void **state)
{
	for (int i = 0; i < 2; i++)
		if (cleanup_dirs[i][0]) {
			char cmd[128];
			snprintf(cmd, sizeof(cmd), "rm -rf %s", cleanup_dirs[i]);
			if (system(cmd) != 0)
				return -1;
			cleanup_dirs[i][0] = '\0';
		}
	return 0;
}

struct text {
	char *p;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s)
{
	size_t n = strlen(s);
	if (t->len + n + 2 > t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 65536;
		while (nc < t->len + n + 2)
			nc *= 2;
		t->p = realloc(t->p, nc);
		assert_non_null(t->p);
		t->cap = nc;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len++] = '\n';
	t->p[t->len] = '\0';
}

static void text_line(void *arg, const char *line)
{
	text_add(arg, line);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Compare got with the expected file (or rewrite it). */
static void golden(const char *fixture, const char *file, const char *got)
{
	char path[512];
	char *want;
	const char *update = getenv("VS_UPDATE_GOLDEN");

	snprintf(path, sizeof(path), "tests/fixtures/%s/expected/%s", fixture, file);
	if (update && !strcmp(update, "1")) {
		char dir[512];
		FILE *f;
		snprintf(dir, sizeof(dir), "tests/fixtures/%s", fixture);
		mkdir(dir, 0755);
		snprintf(dir, sizeof(dir), "tests/fixtures/%s/expected", fixture);
		mkdir(dir, 0755);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(got, f);
		fclose(f);
		printf("# updated %s\n", path);
		return;
	}
	want = slurp(path);
	if (!want) {
		printf("# %s missing: run with VS_UPDATE_GOLDEN=1 to create it\n", path);
		fail();
	}
	if (strcmp(want, got) != 0) {
		/* show the first line that differs */
		const char *a = want, *b = got;
		int line = 1;
		while (*a && *a == *b) {
			if (*a == '\n')
				line++;
			a++;
			b++;
		}
		while (a > want && a[-1] != '\n') {
			a--;
			b--;
		}
		printf("# %s differs at line %d\n# expected: %.*s\n# got:      %.*s\n", path, line,
		       (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
		printf("# (VS_UPDATE_GOLDEN=1 rewrites the expected files)\n");
		free(want);
		fail();
	}
	free(want);
}

static int run(const char *cmd)
{
	int rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* The sampling clock: the fixture's snapshots are one second apart. */
static double fixture_clock(void *arg)
{
	return *(const double *)arg;
}

/* The period's measurement and decision, one line per workload, and what
 * the halt-poll accounting did. */
static void sample_text(const struct vs_controller *c, const struct vs_linux *lx, struct text *t)
{
	char line[2048], v[512], n[512];

	for (int i = 0; i < c->n_wl; i++) {
		const struct vs_ctl_workload *w = &c->wl[i];
		struct vs_linux_haltpoll h;
		cpuset_format_list(&c->plan.wl[i].vcpu_cores, v, sizeof(v));
		cpuset_format_list(&c->plan.wl[i].nq_cores, n, sizeof(n));
		snprintf(line, sizeof(line),
			 "%s: busy_vcpu %.3f busy_nq %.3f -> vcpu %d [%s] nq %d [%s] vcpus %d "
			 "queues %d",
			 w->name, w->last.busy_vcpu, w->last.busy_nq, c->plan.wl[i].alloc.n_vcpu, v,
			 c->plan.wl[i].alloc.n_nq, n, c->plan.wl[i].alloc.vcpus,
			 c->plan.wl[i].alloc.queues);
		text_add(t, line);
		assert_int_equal(linuxplat_haltpoll(lx, w->name, &h), 0);
		if (h.applied)
			snprintf(line, sizeof(line),
				 "  halt polling %s: busy %.3f - polling %.3f = %.3f, from %s (%s)",
				 h.state, h.raw_busy_vcpu, h.halt_poll, h.busy_vcpu, h.source,
				 h.note);
		else
			snprintf(line, sizeof(line), "  halt polling %s, not subtracted%s%s",
				 h.state, h.note[0] ? ": " : "", h.note);
		text_add(t, line);
		/* the controller saw exactly the corrected figure */
		assert_true(w->last.has_halt_poll == h.applied);
		if (h.applied)
			assert_true(fabs(w->last.busy_vcpu - h.busy_vcpu) < 1e-9);
	}
	cpuset_format_list(&c->plan.be_cores, v, sizeof(v));
	snprintf(line, sizeof(line), "best-effort: cores [%s]%s", v,
		 c->plan.be_paused ? " paused" : "");
	text_add(t, line);
	snprintf(line, sizeof(line), "energy: %s", c->hs.has_energy ? "" : "unavailable");
	if (c->hs.has_energy)
		snprintf(line, sizeof(line), "energy: %.3f J", c->hs.energy_j);
	text_add(t, line);
}

/* Run one fixture whose files are in dir (root/, later/, vspace.conf); a
 * scratch dir (in_place) is used as it is, a stored one is copied first. */
static void fixture(const char *name, const char *dir, bool in_place)
{
	char tmp[48] = "/tmp/vsd-fixture-XXXXXX", cmd[1024], path[512], err[512];
	struct text disc = { 0 }, writes = { 0 }, sample = { 0 };
	struct vsd_config cfg;
	struct vs_linux_config lc;
	struct vs_linux *lx;
	struct vs_controller c;
	struct vs_policy pol;
	size_t n;
	double now_s = 1000.0;

	if (in_place) {
		str_copy(tmp, dir, sizeof(tmp));
	} else {
		assert_non_null(mkdtemp(tmp));
		str_copy(cleanup_dirs[0], tmp, sizeof(cleanup_dirs[0]));
		snprintf(cmd, sizeof(cmd), "cp -a %s/root %s/root", dir, tmp);
		assert_int_equal(run(cmd), 0);
	}
	snprintf(path, sizeof(path), "%s/vspace.conf", dir);
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		fail();
	}
	snprintf(path, sizeof(path), "%s/root", tmp);
	config_linux(&cfg, path, true, &lc);
	lc.clock_s = fixture_clock;
	lc.clock_arg = &now_s;
	if (linuxplat_open(&lx, &lc, err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		fail();
	}
	n = linuxplat_describe(lx, NULL, 0);
	disc.p = malloc(n + 1);
	assert_non_null(disc.p);
	linuxplat_describe(lx, disc.p, n + 1);
	golden(name, "discovery.txt", disc.p);

	linuxplat_set_write_log(lx, text_line, &writes);
	assert_int_equal(
		policy_lookup(cfg.policy, cpuset_count(&cfg.managed), &pol, err, sizeof(err)), 0);
	assert_int_equal(controller_init(&c, &pol, &cfg.params, linuxplat_topology(lx),
					 linuxplat_platform(lx), err, sizeof(err)),
			 0);
	text_add(&writes, "== first allocation");
	plat_refresh(lx, &c, 1e9);
	assert_int_equal(controller_start(&c), 0);
	snprintf(cmd, sizeof(cmd), "cp -a %s/later/. %s/root/", dir, tmp);
	assert_int_equal(run(cmd), 0);
	now_s += 1.0;
	text_add(&writes, "== after one period");
	assert_int_equal(controller_step(&c), 0);
	golden(name, "writes.txt", writes.p);
	sample_text(&c, lx, &sample);
	golden(name, "sample.txt", sample.p);

	controller_free(&c);
	linuxplat_close(lx);
	config_free(&cfg);
	free(disc.p);
	free(writes.p);
	free(sample.p);
}

static void test_host_a(void **state)
{
	fixture("host-a", "tests/fixtures/host-a", false);
}

static void test_synth_b(void **state)
{
	fixture("synth-b", "tests/fixtures/synth-b", false);
}

static void test_synth_c(void **state)
{
	char tmp[] = "/tmp/vsd-synth-c-XXXXXX", cmd[256];

	assert_non_null(mkdtemp(tmp));
	str_copy(cleanup_dirs[1], tmp, sizeof(cleanup_dirs[1]));
	snprintf(cmd, sizeof(cmd), "tests/fixtures/gen-synthetic c %s", tmp);
	assert_int_equal(run(cmd), 0);
	fixture("synth-c", tmp, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_host_a, teardown),
		cmocka_unit_test_teardown(test_synth_b, teardown),
		cmocka_unit_test_teardown(test_synth_c, teardown),
	};
	log_init("test_fixtures", VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
