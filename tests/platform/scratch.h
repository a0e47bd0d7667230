/* scratch.h - shared helpers of the platform tests: a scratch directory removed even when an assertion ends the test, shell commands. */
#ifndef VS_TESTS_PLATFORM_SCRATCH_H
#define VS_TESTS_PLATFORM_SCRATCH_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

/* The scratch directory of the running test ("" when none), removed by
 * scratch_remove() from the test's teardown even when an assertion ends
 * the test early. One per test program (each includes this once). */
static char cleanup_dir[64];

/* Remove cleanup_dir, if set; 0, or -1 when rm failed. */
static inline int scratch_remove(void)
{
	char cmd[128];

	if (!cleanup_dir[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cleanup_dir);
	cleanup_dir[0] = '\0';
	return system(cmd) == 0 ? 0 : -1;
}

/* Run a shell command; its exit status, or -1. */
static inline int sh_run(const char *cmd)
{
	int rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* Run a shell command built like printf. */
#define sh(...)                                                                                    \
	({                                                                                         \
		char cmd_[2048];                                                                   \
		snprintf(cmd_, sizeof(cmd_), __VA_ARGS__);                                         \
		sh_run(cmd_);                                                                      \
	})

#endif
