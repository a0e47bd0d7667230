/* owner.c - the owner of a workload's cgroup on a cgroup v2 host and the placement that follows: own subtree, threaded groups in a delegated unit, AllowedCPUs= through systemd, or affinity. */
#include "platform/linux/owner.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/linux_int.h"
#include "platform/linux/procfs.h"

/* ---- The path conventions (pure) ----------------------------------------------------------- */

/* A component matches when it starts with prefix and ends with suffix
 * (either may be ""), or, with exact, equals prefix. */
static const struct {
	const char *prefix, *suffix;
	bool exact;
	enum owner_kind kind;
	const char *what;
} owner_rules[] = {
	{ "kubepods", "", false, OWNER_CONTAINER, "kubelet" },
	{ "kubepods", "", true, OWNER_CONTAINER, "kubelet" },
	{ "docker-", ".scope", false, OWNER_CONTAINER, "docker" },
	{ "docker", "", true, OWNER_CONTAINER, "docker" },
	{ "cri-containerd-", "", false, OWNER_CONTAINER, "containerd" },
	{ "containerd", "", true, OWNER_CONTAINER, "containerd" },
	{ "crio-", "", false, OWNER_CONTAINER, "CRI-O" },
	{ "libpod-", "", false, OWNER_CONTAINER, "podman" },
	{ "libpod_parent", "", true, OWNER_CONTAINER, "podman" },
	{ "lxc.payload.", "", false, OWNER_CONTAINER, "LXC" },
	{ "lxc.monitor.", "", false, OWNER_CONTAINER, "LXC" },
	{ "lxc", "", true, OWNER_CONTAINER, "LXC" },
	{ "machine-qemu", "", false, OWNER_MACHINE, "libvirt" },
	{ "", ".libvirt-qemu", false, OWNER_MACHINE, "libvirt" },
	{ "machine", "", true, OWNER_MACHINE, "libvirt" },
	{ "machine.slice", "", true, OWNER_MACHINE, "systemd-machined" },
};
#define OWNER_N_RULES (int)(sizeof(owner_rules) / sizeof(owner_rules[0]))

static bool owner_comp_is(const char *c, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(c, s, n) == 0;
}

static bool owner_comp_match(const char *c, size_t n, int r)
{
	size_t lp = strlen(owner_rules[r].prefix), ls = strlen(owner_rules[r].suffix);

	if (owner_rules[r].exact)
		return owner_comp_is(c, n, owner_rules[r].prefix);
	return n > lp + ls && memcmp(c, owner_rules[r].prefix, lp) == 0 &&
	       memcmp(c + n - ls, owner_rules[r].suffix, ls) == 0;
}

static bool owner_comp_ends(const char *c, size_t n, const char *suffix)
{
	size_t ls = strlen(suffix);
	return n > ls && memcmp(c + n - ls, suffix, ls) == 0;
}

/* A unit that can hold processes: a service or a scope. */
static bool owner_comp_unit(const char *c, size_t n)
{
	return owner_comp_ends(c, n, ".service") || owner_comp_ends(c, n, ".scope");
}

void owner_classify(const char *path, bool systemd, struct owner_path *out)
{
	const char *comp[64];
	size_t len[64];
	int n = 0, unit = -1, user = -1;

	memset(out, 0, sizeof(*out));
	for (const char *p = path; *p && n < 64;) {
		size_t k;
		while (*p == '/')
			p++;
		k = strcspn(p, "/");
		if (k > 0) {
			comp[n] = p;
			len[n++] = k;
		}
		p += k;
	}
	for (int r = 0; r < OWNER_N_RULES; r++)
		for (int i = 0; i < n; i++)
			if (owner_comp_match(comp[i], len[i], r)) {
				out->kind = owner_rules[r].kind;
				str_copy(out->what, owner_rules[r].what, sizeof(out->what));
				return;
			}
	if (!systemd)
		return; /* OWNER_NONE: nobody's naming: vspace's own subtree */
	for (int i = 0; i < n; i++) {
		if (owner_comp_unit(comp[i], len[i]))
			unit = i;
		if (user < 0 && len[i] > 13 && memcmp(comp[i], "user@", 5) == 0 &&
		    owner_comp_ends(comp[i], len[i], ".service"))
			user = i;
	}
	if (unit < 0) {
		out->kind = OWNER_SYSTEMD;
		str_copy(out->what, n == 0 ? "the root cgroup" : "a cgroup that is not a unit's",
			 sizeof(out->what));
		return;
	}
	if (len[unit] >= sizeof(out->unit) ||
	    (size_t)(comp[unit] + len[unit] - path) >= sizeof(out->unit_cgroup)) {
		out->kind = OWNER_SYSTEMD;
		str_copy(out->what, "a unit name too long", sizeof(out->what));
		return;
	}
	memcpy(out->unit, comp[unit], len[unit]);
	out->unit[len[unit]] = '\0';
	out->unit_cgroup[0] = '/';
	for (int i = 0, k = 1; i <= unit; i++) {
		memcpy(out->unit_cgroup + k, comp[i], len[i]);
		k += (int)len[i];
		out->unit_cgroup[k] = i < unit ? '/' : '\0';
		k += i < unit;
	}
	if (user >= 0 && user < unit) {
		out->kind = OWNER_USER_UNIT;
		snprintf(out->what, sizeof(out->what), "%.*s", (int)len[user], comp[user]);
	} else if (owner_comp_is(comp[unit], len[unit], "init.scope")) {
		out->kind = OWNER_SYSTEMD;
		str_copy(out->what, "init.scope, systemd's own", sizeof(out->what));
	} else {
		out->kind = OWNER_UNIT;
		str_copy(out->what, "systemd", sizeof(out->what));
	}
}

const char *owner_kind_name(enum owner_kind k)
{
	switch (k) {
	case OWNER_NONE:
		return "none";
	case OWNER_UNIT:
		return "systemd unit";
	case OWNER_USER_UNIT:
		return "user unit";
	case OWNER_CONTAINER:
		return "container";
	case OWNER_MACHINE:
		return "machine";
	case OWNER_SYSTEMD:
		return "systemd";
	}
	return "?";
}

/* ---- The placement that follows ------------------------------------------------------------ */

/* Say why the workload is placed as it is (explain, status, the log). */
static void owner_say(struct lx_wl *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void owner_say(struct lx_wl *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->own_why, sizeof(w->own_why), fmt, ap);
	va_end(ap);
}

/* printf into buf (len bytes), cut when it does not fit. */
static void owner_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void owner_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* path without its leading slashes ("" the root). */
static const char *owner_rel(const char *path)
{
	while (*path == '/')
		path++;
	return path;
}

/* Whether dir (below the v2 root) offers the cpuset controller. */
static bool owner_has_cpuset(struct vs_linux *lx, const char *dir)
{
	char path[320], buf[512], *save = NULL;

	if (!sysroot_path(path, sizeof(path), "%s/cgroup.controllers", *dir ? dir : ".") ||
	    sysroot_read(lx->cg.fd[LX_HIER_V2], path, buf, sizeof(buf)) < 0)
		return false;
	for (char *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (!strcmp(t, "cpuset"))
			return true;
	return false;
}

/* The first child cgroup of dir other than vspace's vcpu and nq (the
 * delegated subtree is in use), "" none. */
static void owner_foreign_child(struct vs_linux *lx, const char *dir, char *name, size_t len)
{
	DIR *d = sysroot_opendir(lx->cg.fd[LX_HIER_V2], *dir ? dir : ".");
	struct dirent *de;

	name[0] = '\0';
	while (d && (de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.' || !strcmp(de->d_name, "vcpu") ||
		    !strcmp(de->d_name, "nq"))
			continue;
		str_copy(name, de->d_name, len);
		break;
	}
	if (d)
		closedir(d);
}

/* The groups of a workload placed in its delegated unit: <unit>/vcpu and
 * <unit>/nq (threaded); the envelope is the unit's own cgroup. */
static void owner_unit_groups(struct lx_wl *w)
{
	const char *u = owner_rel(w->own.unit_cgroup);

	for (int g = 0; g < LX_G_N; g++) {
		w->cg[g].planned = false;
		memset(&w->cg[g].cpus, 0, sizeof(w->cg[g].cpus));
	}
	owner_fmt(w->cg[LX_G_ENV].path, sizeof(w->cg[0].path), "%s", u);
	owner_fmt(w->cg[LX_G_VCPU].path, sizeof(w->cg[0].path), "%s/vcpu", u);
	owner_fmt(w->cg[LX_G_NQ].path, sizeof(w->cg[0].path), "%s/nq", u);
	w->cg[LX_G_ENV].planned = true; /* systemd's: never created nor written by vspace */
}

/* A unit of the host's systemd: threaded groups in its cgroup when it is
 * delegated and free, else AllowedCPUs= through systemd. */
static void owner_unit(struct vs_linux *lx, struct lx_wl *w, const char *cg)
{
	char err[256], child[128], list[128];
	const char *u = w->own.unit;
	int rc;

	if (!lx->units) {
		w->place = VS_PLACE_AFFINITY;
		owner_say(w,
			  "in systemd unit %s, but systemd's D-Bus API cannot be reached (%s): "
			  "thread affinity only",
			  u, lx->units_why[0] ? lx->units_why : "no unit manager");
		return;
	}
	rc = lx->units->ops->get(lx->units, u, &w->unit, err, sizeof(err));
	if (rc < 0 && act_errclass(rc) == 1) {
		/* no answer in time, the connection lost: ask again at the next
		 * full rescan; threads by affinity meanwhile */
		w->own_resolved = false;
		w->place = VS_PLACE_AFFINITY;
		owner_say(w,
			  "in systemd unit %s, but systemd did not answer (%s): thread affinity "
			  "until it does (asked again every few seconds)",
			  u, err);
		return;
	}
	if (rc < 0) {
		w->place = VS_PLACE_AFFINITY;
		owner_say(w,
			  "in systemd unit %s, but systemd does not say what it is (%s): thread "
			  "affinity only",
			  u, err);
		return;
	}
	if (w->unit.cgroup[0] && strcmp(w->unit.cgroup, w->own.unit_cgroup) != 0) {
		w->place = VS_PLACE_AFFINITY;
		owner_say(w, "in %s, but systemd says unit %s is at %s: thread affinity only", cg,
			  u, w->unit.cgroup);
		return;
	}
	cpuset_format_list(&lx->cfg.managed, list, sizeof(list));
	if (w->unit.delegate && w->spec.lc) {
		const char *ucg = owner_rel(w->own.unit_cgroup);
		char why[192] = "";
		owner_foreign_child(lx, ucg, child, sizeof(child));
		if (strcmp(owner_rel(cg), ucg) != 0)
			owner_fmt(why, sizeof(why), "the process sits in a sub-cgroup of its own");
		else if (child[0])
			owner_fmt(why, sizeof(why),
				  "the unit's cgroup has sub-cgroups of its own (%s)", child);
		else if (!owner_has_cpuset(lx, ucg))
			owner_fmt(why, sizeof(why), "the cpuset controller is not delegated to it");
		else if (strlen(ucg) + sizeof("/vcpu") > sizeof(w->cg[0].path))
			owner_fmt(why, sizeof(why), "its cgroup's path is too long for vspace");
		if (!why[0]) {
			w->place = VS_PLACE_UNIT;
			owner_unit_groups(w);
			owner_say(
				w,
				"systemd unit %s has Delegate=yes: the vcpu and nq groups are "
				"threaded children of its cgroup %s, the process stays in it (the "
				"unit's cgroup becomes a threaded domain: memory, io and pids stay "
				"accounted there, and while vspace runs the service cannot make "
				"domain sub-cgroups of its own)",
				u, w->own.unit_cgroup);
			return;
		}
		owner_say(w,
			  "systemd unit %s has Delegate=yes, but %s: AllowedCPUs=%s through "
			  "systemd (run time, restored), the vCPU/NQ split by thread affinity",
			  u, why, list);
	} else {
		owner_say(w,
			  "systemd unit %s (%s): AllowedCPUs=%s through systemd (run time, "
			  "restored), the vCPU/NQ split by thread affinity",
			  u,
			  w->unit.delegate ? "Delegate=yes, a best-effort workload" : "Delegate=no",
			  list);
	}
	w->place = lx->cg.v2_cpuset ? VS_PLACE_SYSTEMD : VS_PLACE_AFFINITY;
	if (w->place == VS_PLACE_AFFINITY)
		owner_say(
			w,
			"systemd unit %s, but the kernel offers no cpuset controller on cgroup v2: "
			"thread affinity only",
			u);
}

void owner_resolve(struct vs_linux *lx, struct lx_wl *w)
{
	char cg[256], was[sizeof(w->own_why)];
	enum vs_placement before = w->place;

	if (w->own_resolved)
		return;
	/* only on a pure v2 host, for what the configuration leaves to vspace */
	if ((lx->cfg.placement != VS_PLACE_AUTO && lx->cfg.placement != VS_PLACE_CGROUP2) ||
	    w->spec.source == VS_SRC_LIBVIRT || lx->cg.fd[LX_HIER_CPUSET1] >= 0 ||
	    lx->cg.fd[LX_HIER_V2] < 0 || !lx->cg.v2_cpuset)
		return;
	if (w->spec.source == VS_SRC_CGROUP)
		str_copy(cg, w->spec.path, sizeof(cg));
	else if (w->pid <= 0 ||
		 task_read_cgroup(lx->root.proc_fd, w->pid, w->pid, "", cg, sizeof(cg)) < 0)
		return; /* gone meanwhile: the next discovery tries again */
	str_copy(was, w->own_why, sizeof(was));
	w->own_resolved = true;
	owner_classify(cg, lx->systemd, &w->own);
	switch (w->own.kind) {
	case OWNER_NONE:
		if (w->spec.source == VS_SRC_CGROUP) {
			w->place = VS_PLACE_AFFINITY;
			owner_say(
				w,
				"cgroup %s, outside any manager: its threads stay in it (v2 keeps "
				"a process in its domain): thread affinity",
				cg);
		} else {
			w->place = VS_PLACE_CGROUP2;
			owner_say(
				w,
				"in %s, outside any manager (no systemd, no container runtime, no "
				"libvirt): vspace's own subtree %s/%s with threaded vcpu and nq "
				"groups",
				cg, lx->cfg.cgroup_parent, w->spec.name);
		}
		break;
	case OWNER_UNIT:
		owner_unit(lx, w, cg);
		break;
	case OWNER_USER_UNIT:
		w->place = VS_PLACE_AFFINITY;
		owner_say(w,
			  "in %s, unit %s of a user's own systemd (%s), which the host's systemd "
			  "does not manage: thread affinity only",
			  cg, w->own.unit, w->own.what);
		break;
	case OWNER_CONTAINER:
	case OWNER_MACHINE:
		w->place = VS_PLACE_AFFINITY;
		owner_say(w,
			  "in %s, a cgroup %s owns: thread affinity only, its cgroups are left to "
			  "it%s",
			  cg, w->own.what,
			  w->own.kind == OWNER_MACHINE && !strcmp(w->own.what, "libvirt")
				  ? " (libvirt= lets vspace pin the VM through libvirt)"
				  : "");
		break;
	case OWNER_SYSTEMD:
		w->place = VS_PLACE_AFFINITY;
		owner_say(w, "in %s, systemd's tree but %s: thread affinity only", cg, w->own.what);
		break;
	}
	if (w->place != VS_PLACE_UNIT && before == VS_PLACE_UNIT) {
		/* back to the groups of vspace's own subtree */
		snprintf(w->cg[LX_G_ENV].path, sizeof(w->cg[0].path), "%s/%s",
			 lx->cfg.cgroup_parent, w->spec.name);
		snprintf(w->cg[LX_G_VCPU].path, sizeof(w->cg[0].path), "%s/%s/%s",
			 lx->cfg.cgroup_parent, w->spec.name, w->spec.lc ? "vcpu" : "be");
		snprintf(w->cg[LX_G_NQ].path, sizeof(w->cg[0].path), "%s/%s/nq",
			 lx->cfg.cgroup_parent, w->spec.name);
		for (int g = 0; g < LX_G_N; g++) {
			w->cg[g].planned = false;
			memset(&w->cg[g].cpus, 0, sizeof(w->cg[g].cpus));
		}
	}
	if (strcmp(was, w->own_why) != 0) /* a retry that learnt nothing new stays quiet */
		log_info("workload %s: placement %s: %s", w->spec.name, vs_placement_name(w->place),
			 w->own_why);
}
