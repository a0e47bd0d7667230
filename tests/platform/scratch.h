/* scratch.h - shared helpers of the platform tests: a scratch directory removed even when an assertion ends the test, its files read back, shell commands. */
#ifndef VS_TESTS_PLATFORM_SCRATCH_H
#define VS_TESTS_PLATFORM_SCRATCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The whole file rel below root (static buffer, the first 4095 bytes),
 * trailing newlines removed, or NULL. */
static inline char *scratch_read_all(const char *root, const char *rel)
{
	static char buf[4096];
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return buf;
}

/* The first line of the file rel below root (static buffer), or NULL. */
static inline char *scratch_read(const char *root, const char *rel)
{
	char *buf = scratch_read_all(root, rel);

	if (buf)
		buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* Fail the running test (cmocka), naming rel, when got - a file's text read
 * back, NULL when there is no such file - is not want. */
#define scratch_assert_text(rel, got, want)                                                        \
	do {                                                                                       \
		const char *got_ = (got);                                                          \
		if (!got_ || strcmp(got_, (want)) != 0)                                            \
			fail_msg("%s: got \"%s\", want \"%s\"", (rel), got_ ? got_ : "(none)",     \
				 (want));                                                          \
	} while (0)

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
