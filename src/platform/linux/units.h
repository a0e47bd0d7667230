/* units.h - the hook to the init system's unit manager (systemd's unit properties and AllowedCPUs=): the daemon's D-Bus client plugs in, fixture trees emulate it. */
#ifndef VS_PLATFORM_LINUX_UNITS_H
#define VS_PLATFORM_LINUX_UNITS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/cpuset.h"
#include "platform/linux/sysroot.h"

/*
 * On a systemd host the unit manager is the single writer of its units'
 * cgroups (systemd's docs/CGROUP_DELEGATION.md): vspace asks it, never the
 * cgroup files, to confine a unit that has not delegated its cgroup. The
 * Linux platform reaches it through this hook: vspaced plugs in its sd-bus
 * client (src/daemon/sdbus.h, org.freedesktop.systemd1 on the system bus);
 * under a fixture root the platform uses units_emul_open() instead.
 *
 * Calls block for at most the implementation's timeout (the D-Bus client:
 * 1 s); they are made when a workload's process is found and once per unit
 * when vspace sets or restores AllowedCPUs=.
 */

/* systemd caps unit names at 255 bytes (UNIT_NAME_MAX). */
#define VS_UNIT_NAME_MAX 256

/* What vspace needs to know of a unit. */
struct vs_unit_info {
	bool delegate;		  /* Delegate=yes: the unit's cgroup subtree is handed over */
	char cgroup[256];	  /* ControlGroup= ("/system.slice/web.service"), "" none */
	struct vs_cpuset allowed; /* AllowedCPUs= (empty: not set, every cpu) */
};

struct vs_unit_mgr;

struct vs_unit_mgr_ops {
	/** Short name for logs ("systemd"). */
	const char *name;
	/** The unit's properties. Returns 0; -ENOENT when the manager has no
	 *  such unit loaded; another -errno with err set. */
	int (*get)(struct vs_unit_mgr *m, const char *unit, struct vs_unit_info *out, char *err,
		   size_t errlen);
	/** Set AllowedCPUs= at run time (systemd: SetUnitProperties with
	 *  runtime=true, gone at reboot); an empty set removes the restriction.
	 *  Returns 0 or -errno with err set (-ENOENT: no such unit;
	 *  -ETIMEDOUT: no answer in time). */
	int (*set_allowed_cpus)(struct vs_unit_mgr *m, const char *unit,
				const struct vs_cpuset *cpus, char *err, size_t errlen);
	/** Release it. */
	void (*close)(struct vs_unit_mgr *m);
};

/* Implementations embed this as their first member. */
struct vs_unit_mgr {
	const struct vs_unit_mgr_ops *ops;
};

/* Whether systemd is the host's init: run/systemd/system exists below the
 * root (what sd_booted(3) checks). */
bool units_systemd_booted(const struct vs_sysroot *r);

/* The emulated unit manager of a fixture tree: unit U is the file
 * .vspace-emul/systemd/U below the root, lines "Delegate=yes|no",
 * "ControlGroup=/path", "AllowedCPUs=LIST" (absent: not set); a first line
 * "NoAnswer" stands for a manager that does not answer in time. get reads
 * it (-ENOENT without the file, -ETIMEDOUT); set_allowed_cpus rewrites its AllowedCPUs=
 * line and appends "set AllowedCPUs=LIST" to .vspace-emul/systemd/calls,
 * so tests can assert each call. NULL when out of memory. */
struct vs_unit_mgr *units_emul_open(const struct vs_sysroot *r);

#endif
