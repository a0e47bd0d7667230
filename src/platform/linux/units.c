/* units.c - whether systemd is the init, and the emulated unit manager of fixture trees (.vspace-emul/systemd/UNIT files). */
#include "platform/linux/units.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "platform/linux/hostcall.h"

#define UNITS_EMUL VS_EMUL_DIR "/systemd"

bool units_systemd_booted(const struct vs_sysroot *r)
{
	struct stat st;

	return fstatat(r->root_fd, "run/systemd/system", &st, 0) == 0 && S_ISDIR(st.st_mode);
}

struct units_emul {
	struct vs_unit_mgr base;
	const struct vs_sysroot *root;
};

/* A unit name safe as one file name below UNITS_EMUL. */
static bool units_emul_name_ok(const char *unit)
{
	return unit[0] && unit[0] != '.' && !strchr(unit, '/') && strlen(unit) < VS_UNIT_NAME_MAX;
}

static int units_emul_read(struct units_emul *e, const char *unit, char *buf, size_t len)
{
	char path[VS_UNIT_NAME_MAX + 32];

	if (!units_emul_name_ok(unit))
		return -EINVAL;
	snprintf(path, sizeof(path), UNITS_EMUL "/%s", unit);
	return sysroot_read(e->root->root_fd, path, buf, len) < 0 ? -errno : 0;
}

static int units_emul_get(struct vs_unit_mgr *m, const char *unit, struct vs_unit_info *out,
			  char *err, size_t errlen)
{
	struct units_emul *e = (struct units_emul *)m;
	char buf[4096], *save = NULL, perr[128];
	int rc = units_emul_read(e, unit, buf, sizeof(buf));

	memset(out, 0, sizeof(*out));
	if (rc < 0) {
		snprintf(err, errlen, "unit %s: %s", unit,
			 rc == -ENOENT ? "not loaded" : strerror(-rc));
		return rc;
	}
	if (str_starts_with(buf, "NoAnswer")) { /* a manager too busy to answer in time */
		snprintf(err, errlen, "unit %s: %s", unit, strerror(ETIMEDOUT));
		return -ETIMEDOUT;
	}
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(l, "Delegate=yes"))
			out->delegate = true;
		else if (str_starts_with(l, "ControlGroup="))
			str_copy(out->cgroup, l + 13, sizeof(out->cgroup));
		else if (str_starts_with(l, "AllowedCPUs=") &&
			 cpuset_parse_list(&out->allowed, l + 12, perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "unit %s: AllowedCPUs=%s: %s", unit, l + 12, perr);
			return -EINVAL;
		}
	}
	return 0;
}

/* Append text to the calls log. */
static int units_emul_log(struct units_emul *e, const char *text)
{
	int fd = openat(e->root->root_fd, UNITS_EMUL "/calls",
			O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static int units_emul_set(struct vs_unit_mgr *m, const char *unit, const struct vs_cpuset *cpus,
			  char *err, size_t errlen)
{
	struct units_emul *e = (struct units_emul *)m;
	char buf[4096], out[4096 + 64], list[1024], path[VS_UNIT_NAME_MAX + 32], line[1200];
	char *save = NULL;
	size_t n = 0;
	int rc = units_emul_read(e, unit, buf, sizeof(buf));

	if (rc < 0) {
		snprintf(err, errlen, "unit %s: %s", unit,
			 rc == -ENOENT ? "not loaded" : strerror(-rc));
		return rc;
	}
	cpuset_format_list(cpus, list, sizeof(list));
	out[0] = '\0';
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!str_starts_with(l, "AllowedCPUs="))
			str_appendf(out, sizeof(out), &n, "%s\n", l);
	if (!cpuset_empty(cpus))
		str_appendf(out, sizeof(out), &n, "AllowedCPUs=%s\n", list);
	snprintf(path, sizeof(path), UNITS_EMUL "/%s", unit);
	rc = sysroot_write(e->root, e->root->root_fd, path, out);
	if (rc == 0) {
		snprintf(line, sizeof(line), "%s set AllowedCPUs=%s\n", unit, list);
		rc = units_emul_log(e, line);
	}
	if (rc < 0)
		snprintf(err, errlen, "unit %s: %s", unit, strerror(-rc));
	return rc;
}

static void units_emul_close(struct vs_unit_mgr *m)
{
	free(m);
}

static const struct vs_unit_mgr_ops units_emul_ops = {
	.name = "systemd (emulated)",
	.get = units_emul_get,
	.set_allowed_cpus = units_emul_set,
	.close = units_emul_close,
};

struct vs_unit_mgr *units_emul_open(const struct vs_sysroot *r)
{
	struct units_emul *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->base.ops = &units_emul_ops;
	e->root = r;
	return &e->base;
}
