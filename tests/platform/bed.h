/* bed.h - shared test bed of the platform tests: the Linux platform and a controller opened on a scratch copy of fixture synth-b, every write logged. */
#ifndef VS_TESTS_PLATFORM_BED_H
#define VS_TESTS_PLATFORM_BED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/controller.h"
#include "daemon/config.h"
#include "lib/strutil.h"
#include "platform/linux/linux.h"
#include "refresh.h"
#include "scratch.h"
#include "testutil.h"

struct bed {
	char tmp[64];
	char root[128];
	char state[160];
	struct vsd_config cfg;
	struct vs_linux *lx;
	struct vs_controller c;
	char log[65536]; /* the write log, one line each (cut when full) */
	size_t n_log;
	int writes; /* lines written to the log, cut or not */
};

static inline void bed_line(void *arg, const char *line)
{
	struct bed *b = arg;
	str_appendf(b->log, sizeof(b->log), &b->n_log, "%s\n", line);
	b->writes++;
	if (getenv("VS_TEST_VERBOSE"))
		printf("# %s\n", line);
}

/* Forget the writes logged so far. */
static inline void bed_log_clear(struct bed *b)
{
	b->n_log = 0;
	b->log[0] = '\0';
}

/* Copy synth-b to a scratch directory made from tmpl (removed by the test's
 * teardown), run prep1 and then prep2 in the copy (either may be NULL),
 * load conf, open the platform and a controller, run one refresh. */
static inline void bed_start(struct bed *b, const char *tmpl, const char *conf, const char *prep1,
			     const char *prep2)
{
	char err[512];
	struct vs_linux_config lc;
	struct vs_policy pol;

	memset(b, 0, sizeof(*b));
	str_copy(b->tmp, tmpl, sizeof(b->tmp));
	assert_non_null(mkdtemp(b->tmp));
	str_copy(cleanup_dir, b->tmp, sizeof(cleanup_dir));
	snprintf(b->root, sizeof(b->root), "%s/root", b->tmp);
	snprintf(b->state, sizeof(b->state), "%s/vspaced.state", b->tmp);
	assert_int_equal(sh("cp -a tests/fixtures/synth-b/root %s/root", b->tmp), 0);
	if (prep1)
		assert_int_equal(sh("cd %s && %s", b->root, prep1), 0);
	if (prep2)
		assert_int_equal(sh("cd %s && %s", b->root, prep2), 0);
	if (config_load_string(&b->cfg, conf, "test.conf", err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		fail();
	}
	config_linux(&b->cfg, b->root, false, &lc);
	str_copy(lc.state_path, b->state, sizeof(lc.state_path));
	if (linuxplat_open(&b->lx, &lc, err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		fail();
	}
	linuxplat_set_write_log(b->lx, bed_line, b);
	assert_int_equal(
		policy_lookup(b->cfg.policy, cpuset_count(&b->cfg.managed), &pol, err, sizeof(err)),
		0);
	assert_int_equal(controller_init(&b->c, &pol, &b->cfg.params, linuxplat_topology(b->lx),
					 linuxplat_platform(b->lx), err, sizeof(err)),
			 0);
	plat_refresh(b->lx, &b->c, 1e9);
}

static inline void bed_close(struct bed *b)
{
	controller_free(&b->c);
	linuxplat_close(b->lx);
	config_free(&b->cfg);
	sh("rm -rf %s", b->tmp);
}

static inline bool bed_exists(struct bed *b, const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", b->root, rel);
	return access(path, F_OK) == 0;
}

#endif
