/* test_placement.c - placement on a pure cgroup v2 host by the owner of the workload's cgroup (DAEMON.md §4's table): a copy of synth-b made pure v2, each row's writes, restore and crash recovery. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/linux.h"
#include "refresh.h"
#include "bed.h"

static int teardown(void **state)
{
	return scratch_remove();
}

/* synth-b (a QEMU VM, pid 4000, and a BE process, pid 5000) on a pure
 * cgroup v2 host: the v1 hierarchies gone, cgroup2 at sys/fs/cgroup with
 * cpuset. */
#define PREP_V2                                                                                    \
	"rm -rf sys/fs/cgroup/cpuset sys/fs/cgroup/freezer && "                                    \
	"mv sys/fs/cgroup/unified/* sys/fs/cgroup/ && rmdir sys/fs/cgroup/unified && "             \
	"echo 'cpuset cpu io memory pids' > sys/fs/cgroup/cgroup.controllers && "                  \
	"echo 'cpu memory pids' > sys/fs/cgroup/cgroup.subtree_control"
/* systemd is the init (sd_booted: run/systemd/system) */
#define PREP_SYSTEMD "mkdir -p run/systemd/system .vspace-emul/systemd"

static const char *const bed_conf =
	"[host]\ncores=2-19\nmode=R\ncontrol_socket=off\nmetrics_listen=off\n%s"
	"[workload \"vm\"]\nslo_p95_us=1000\npid=4000\n"
	"[workload \"batch\"]\nrole=be\npid=5000\n";
/* more [host] lines for the next bed_open (each line ending in \n) */
static const char *bed_host = "";

/* Shell commands (appended to buf) that put process pid and its threads
 * into cgroup cg, made with controllers offered (its cgroup.controllers). */
static void prep_put(char *buf, size_t len, int pid, const char *cg, const char *controllers)
{
	size_t n = strlen(buf);
	str_appendf(
		buf, len, &n,
		"%ssed -i 's|^0::.*|0::%s|' proc/%d/cgroup proc/%d/task/*/cgroup && "
		"mkdir -p 'sys/fs/cgroup%s' && echo '%s' > 'sys/fs/cgroup%s/cgroup.controllers' && "
		"echo %d > 'sys/fs/cgroup%s/cgroup.procs' && "
		": > 'sys/fs/cgroup%s/cgroup.subtree_control'",
		n ? " && " : "", cg, pid, pid, cg, controllers, cg, pid, cg, cg);
}

/* And the emulated systemd's file of unit (its properties, one per line). */
static void prep_unit(char *buf, size_t len, const char *unit, const char *props)
{
	size_t n = strlen(buf);
	str_appendf(buf, len, &n, "%s" PREP_SYSTEMD " && printf '%s' > '.vspace-emul/systemd/%s'",
		    n ? " && " : "", props, unit);
}

/* Copy synth-b, make it a pure cgroup v2 host, run prep in the copy (may be
 * NULL), open everything. */
static void bed_open(struct bed *b, const char *prep)
{
	char conf[1024];

	snprintf(conf, sizeof(conf), bed_conf, bed_host);
	bed_host = "";
	bed_start(b, "/tmp/vsd-placement-XXXXXX", conf, PREP_V2, prep);
}

/* The content of a file below the bed's root, trailing newlines removed;
 * NULL when it does not exist. */
static char *bed_file(struct bed *b, const char *rel)
{
	return scratch_read_all(b->root, rel);
}

#define assert_file(b, rel, want) scratch_assert_text((rel), bed_file((b), (rel)), (want))

/* The write log has (want true) or has not a line containing text. */
#define assert_logged(b, text, want)                                                               \
	do {                                                                                       \
		if ((strstr((b)->log, (text)) != NULL) != (want)) {                                \
			printf("# write log %s \"%s\":\n%s", (want) ? "lacks" : "has", (text),     \
			       (b)->log);                                                          \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

static void assert_placement(struct bed *b, const char *wl, const char *name, const char *owner,
			     const char *why_has)
{
	struct vs_linux_placement p;

	assert_int_equal(linuxplat_placement(b->lx, wl, &p), 0);
	if (strcmp(p.name, name) != 0 || strcmp(p.owner, owner) != 0 || !strstr(p.why, why_has)) {
		printf("# %s: placement %s, owner %s: %s\n# want %s, %s, \"%s\"\n", wl, p.name,
		       p.owner, p.why, name, owner, why_has);
		fail();
	}
}

#define UNIT_VM "sys/fs/cgroup/system.slice/vm.service"

/* The emulated systemd's calls about unit, one per line ("" none). */
static const char *bed_calls(struct bed *b, const char *unit)
{
	static char out[4096];
	const char *all = bed_file(b, ".vspace-emul/systemd/calls");
	size_t n = 0, ul = strlen(unit);

	out[0] = '\0';
	for (const char *l = all; l && *l;) {
		size_t k = strcspn(l, "\n");
		if (k > ul && !strncmp(l, unit, ul) && l[ul] == ' ')
			str_appendf(out, sizeof(out), &n, "%s%.*s", n ? "\n" : "", (int)k, l);
		l += k + (l[k] == '\n');
	}
	return out;
}

/* The VM as systemd unit vm.service with properties props (ControlGroup=
 * added), its cgroup offering controllers; the BE process in a plain unit
 * of its own; then extra (may be NULL). */
static void bed_open_unit(struct bed *b, const char *props, const char *controllers,
			  const char *extra)
{
	char prep[4096] = "", p[512];

	prep_put(prep, sizeof(prep), 4000, "/system.slice/vm.service", controllers);
	snprintf(p, sizeof(p), "%sControlGroup=/system.slice/vm.service\\n", props);
	prep_unit(prep, sizeof(prep), "vm.service", p);
	prep_put(prep, sizeof(prep), 5000, "/system.slice/batch.service", "cpuset cpu memory");
	prep_unit(prep, sizeof(prep), "batch.service",
		  "Delegate=no\\nControlGroup=/system.slice/batch.service\\n");
	if (extra) {
		size_t n = strlen(prep);
		str_appendf(prep, sizeof(prep), &n, " && %s", extra);
	}
	bed_open(b, prep);
}

/* Delegate=yes: vcpu and nq are threaded children of the unit's cgroup; the
 * process stays in it; systemd is not asked anything; restore takes the
 * threads back, the children away and cpuset out of subtree_control. */
static void test_unit_delegated(void **state)
{
	struct bed b;

	bed_open_unit(&b, "Delegate=yes\\n", "cpuset cpu io memory pids", NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_placement(&b, "vm", "cgroup2-delegated", "systemd unit",
			 "threaded children of its cgroup /system.slice/vm.service");
	assert_file(&b, UNIT_VM "/vcpu/cgroup.type", "threaded");
	assert_file(&b, UNIT_VM "/nq/cgroup.type", "threaded");
	assert_file(&b, UNIT_VM "/cgroup.subtree_control", "+cpuset");
	assert_file(&b, UNIT_VM "/vcpu/cpuset.cpus", "11-19");
	assert_file(&b, UNIT_VM "/nq/cpuset.cpus", "2-10");
	assert_file(&b, UNIT_VM "/vcpu/cgroup.threads", "4021");
	assert_file(&b, UNIT_VM "/nq/cgroup.threads", "4025");
	/* the order the kernel needs: children threaded before +cpuset, which
	 * comes before their cpus */
	{
		const char *t = strstr(b.log, "nq/cgroup.type threaded"),
			   *c = strstr(b.log, "vm.service/cgroup.subtree_control +cpuset"),
			   *v = strstr(b.log, "vcpu/cpuset.cpus");
		assert_true(t && c && v && t < c && c < v);
	}
	assert_logged(&b, "move process", false); /* never out of its domain */
	assert_logged(&b, "mkdir cgroup2:vspace", false);
	assert_false(bed_exists(&b, "sys/fs/cgroup/vspace"));
	assert_string_equal(bed_calls(&b, "vm.service"), ""); /* nothing asked of systemd */
	/* a second period writes nothing new for the groups */
	bed_log_clear(&b);
	assert_int_equal(controller_step(&b.c), 0);
	assert_logged(&b, "mkdir", false);
	assert_logged(&b, "subtree_control", false);
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_logged(&b, "move process 4000 (as it was) to fs/cgroup:/system.slice/vm.service",
		      true);
	assert_file(&b, UNIT_VM "/cgroup.procs", "4000");
	assert_file(&b, UNIT_VM "/cgroup.subtree_control", "-cpuset");
	assert_false(bed_exists(&b, UNIT_VM "/vcpu"));
	assert_false(bed_exists(&b, UNIT_VM "/nq"));
	assert_file(&b, ".vspace-emul/affinity/4002", "0-19");
	bed_close(&b);
}

/* Delegate=no: AllowedCPUs= of the unit through systemd (once), the split
 * by affinity, written after it (the kernel resets affinities when the
 * unit's cpuset changes); restore unsets it, then puts the affinities back.
 * The BE process in its own unit, paused before it had cores: SIGSTOP. */
static void test_unit_plain(void **state)
{
	struct bed b;

	bed_open_unit(&b, "Delegate=no\\n", "cpuset cpu io memory pids", NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_placement(&b, "vm", "systemd", "systemd unit",
			 "AllowedCPUs=2-19 through systemd (run time, restored)");
	assert_placement(&b, "batch", "systemd", "systemd unit", "batch.service (Delegate=no)");
	assert_string_equal(bed_calls(&b, "vm.service"), "vm.service set AllowedCPUs=2-19");
	assert_file(&b, ".vspace-emul/systemd/vm.service",
		    "Delegate=no\nControlGroup=/system.slice/vm.service\nAllowedCPUs=2-19");
	assert_file(&b, ".vspace-emul/affinity/4002", "11-19");
	assert_file(&b, ".vspace-emul/affinity/4000", "2-10");
	assert_non_null(strstr(b.log, "affinity 4002"));
	assert_non_null(strstr(b.log, "systemd vm.service AllowedCPUs=2-19"));
	assert_true(strstr(b.log, "systemd vm.service AllowedCPUs=2-19") <
		    strstr(b.log, "affinity 4002"));
	assert_logged(&b, "mkdir", false);
	assert_logged(&b, "move ", false);
	assert_file(&b, ".vspace-emul/signal/5000", "STOP");
	/* the envelope does not change: systemd is asked once */
	assert_int_equal(controller_step(&b.c), 0);
	assert_string_equal(bed_calls(&b, "vm.service"), "vm.service set AllowedCPUs=2-19");
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_string_equal(bed_calls(&b, "vm.service"),
			    "vm.service set AllowedCPUs=2-19\nvm.service set AllowedCPUs=");
	assert_file(&b, ".vspace-emul/systemd/vm.service",
		    "Delegate=no\nControlGroup=/system.slice/vm.service");
	assert_non_null(strstr(b.log, "affinity 4002 (as it was) 0-19"));
	assert_non_null(strstr(b.log, "systemd vm.service AllowedCPUs= (unset)"));
	assert_true(strstr(b.log, "systemd vm.service AllowedCPUs= (unset)") <
		    strstr(b.log, "affinity 4002 (as it was) 0-19"));
	assert_file(&b, ".vspace-emul/affinity/4002", "0-19");
	assert_file(&b, ".vspace-emul/signal/5000", "CONT");
	bed_close(&b);
}

/* An AllowedCPUs= the administrator set comes back exactly. */
static void test_unit_allowed_restored(void **state)
{
	struct bed b;

	bed_open_unit(&b, "Delegate=no\\nAllowedCPUs=4-7,12\\n", "cpuset", NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_string_equal(bed_calls(&b, "vm.service"), "vm.service set AllowedCPUs=2-19");
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_string_equal(bed_calls(&b, "vm.service"),
			    "vm.service set AllowedCPUs=2-19\nvm.service set AllowedCPUs=4-7,12");
	bed_close(&b);
}

/* Delegate=yes, but vspace may not add children: sub-cgroups of the
 * service's own, the process in one of them, cpuset not delegated. Each
 * falls back to AllowedCPUs= through systemd, saying why. */
static void test_unit_delegated_not_usable(void **state)
{
	static const struct {
		const char *controllers, *extra, *why;
	} cases[] = {
		{ "cpuset cpu memory", "mkdir " UNIT_VM "/payload",
		  "has sub-cgroups of its own (payload)" },
		{ "cpu memory pids", NULL, "the cpuset controller is not delegated to it" },
		{ "cpuset cpu memory",
		  "mkdir " UNIT_VM "/main && sed -i 's|^0::.*|0::/system.slice/vm.service/main|' "
		  "proc/4000/cgroup proc/4000/task/*/cgroup",
		  "the process sits in a sub-cgroup of its own" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bed b;
		bed_open_unit(&b, "Delegate=yes\\n", cases[i].controllers, cases[i].extra);
		assert_int_equal(controller_start(&b.c), 0);
		assert_placement(&b, "vm", "systemd", "systemd unit", cases[i].why);
		assert_false(bed_exists(&b, UNIT_VM "/vcpu"));
		assert_string_equal(bed_calls(&b, "vm.service"), "vm.service set AllowedCPUs=2-19");
		assert_int_equal(linuxplat_restore(b.lx), 0);
		bed_close(&b);
		scratch_remove();
	}
}

/* Owners vspace leaves the cgroups to: thread affinity only, no cgroup
 * write, nothing asked of systemd. */
static void test_affinity_owners(void **state)
{
	static const struct {
		const char *cg;
		bool systemd;
		const char *owner, *why;
	} cases[] = {
		{ "/system.slice/docker-0123abcd.scope", true, "container",
		  "a cgroup docker owns" },
		{ "/kubepods.slice/kubepods-pod1.slice/cri-containerd-ab.scope", true, "container",
		  "a cgroup kubelet owns" },
		{ "/machine.slice/machine-qemu\\\\x2d1\\\\x2dvm.scope/libvirt/emulator", true,
		  "machine", "(libvirt= lets vspace pin the VM through libvirt)" },
		{ "/machine/qemu-1-vm.libvirt-qemu/emulator", false, "machine", "libvirt owns" },
		{ "/user.slice/user-1000.slice/user@1000.service/app.slice/vm.service", true,
		  "user unit", "a user's own systemd (user@1000.service)" },
		{ "/init.scope", true, "systemd", "init.scope, systemd's own" },
		{ "/lab/vm", true, "systemd", "a cgroup that is not a unit's" },
		/* a unit systemd does not know (the emulation has no file for it) */
		{ "/system.slice/ghost.service", true, "systemd unit",
		  "systemd does not say what it is (unit ghost.service: not loaded)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char prep[2048] = "";
		struct bed b;
		prep_put(prep, sizeof(prep), 4000, cases[i].cg, "cpuset cpu");
		if (cases[i].systemd) {
			size_t n = strlen(prep);
			str_appendf(prep, sizeof(prep), &n, " && " PREP_SYSTEMD);
		}
		bed_open(&b, prep);
		assert_int_equal(controller_start(&b.c), 0);
		assert_placement(&b, "vm", "affinity", cases[i].owner, cases[i].why);
		assert_file(&b, ".vspace-emul/affinity/4002", "11-19");
		assert_file(&b, ".vspace-emul/affinity/4000", "2-10");
		assert_logged(&b, "mkdir", false);
		assert_logged(&b, "move ", false);
		assert_logged(&b, "cgroup2:", false);
		assert_string_equal(bed_calls(&b, "vm.service"), "");
		assert_int_equal(linuxplat_restore(b.lx), 0);
		assert_file(&b, ".vspace-emul/affinity/4002", "0-19");
		bed_close(&b);
		scratch_remove();
	}
}

/* No systemd and no other manager's naming: vspace's own subtree, as on a
 * host of its own (the e2e guest); status and explain say so. */
static void test_no_manager(void **state)
{
	char prep[1024] = "";
	struct bed b;
	json_t *st, *o;

	prep_put(prep, sizeof(prep), 4000, "/system.slice/vm.service", "cpuset");
	bed_open(&b, prep); /* a unit's name, but systemd is not the init */
	assert_int_equal(controller_start(&b.c), 0);
	assert_placement(&b, "vm", "cgroup2", "none", "outside any manager");
	assert_file(&b, "sys/fs/cgroup/vspace/vm/cgroup.procs", "4000");
	st = linuxplat_status(b.lx);
	o = json_object_get(json_array_get(json_object_get(st, "workloads"), 0), "owner");
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "none");
	json_decref(st);
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_file(&b, "sys/fs/cgroup/system.slice/vm.service/cgroup.procs", "4000");
	assert_false(bed_exists(&b, "sys/fs/cgroup/vspace"));
	bed_close(&b);
}

/* vspace's own subtree below a nested cgroup_parent: cpuset handed down on
 * the way, a missing level made; restore takes back exactly that. */
static void test_no_manager_nested_parent(void **state)
{
	char prep[1024] = "";
	struct bed b;

	prep_put(prep, sizeof(prep), 4000, "/vms/vm", "cpuset");
	{
		size_t n = strlen(prep);
		str_appendf(prep, sizeof(prep), &n,
			    " && mkdir -p sys/fs/cgroup/tenants && echo memory > "
			    "sys/fs/cgroup/tenants/cgroup.subtree_control");
	}
	bed_host = "cgroup_parent=tenants/lab/vspace\n";
	bed_open(&b, prep);
	assert_int_equal(controller_start(&b.c), 0);
	assert_placement(&b, "vm", "cgroup2", "none", "vspace's own subtree tenants/lab/vspace/vm");
	assert_file(&b, "sys/fs/cgroup/cgroup.subtree_control", "+cpuset");
	assert_file(&b, "sys/fs/cgroup/tenants/cgroup.subtree_control", "+cpuset");
	assert_file(&b, "sys/fs/cgroup/tenants/lab/cgroup.subtree_control", "+cpuset");
	assert_file(&b, "sys/fs/cgroup/tenants/lab/vspace/vm/vcpu/cgroup.type", "threaded");
	{
		const char *root = strstr(b.log, "write cgroup2:./cgroup.subtree_control +cpuset"),
			   *t = strstr(b.log,
				       "write cgroup2:tenants/cgroup.subtree_control +cpuset"),
			   *m = strstr(b.log, "mkdir cgroup2:tenants/lab\n"),
			   *l = strstr(b.log,
				       "write cgroup2:tenants/lab/cgroup.subtree_control +cpuset"),
			   *v = strstr(b.log, "mkdir cgroup2:tenants/lab/vspace\n");
		assert_true(root && t && m && l && v && root < t && t < m && m < l && l < v);
	}
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_file(&b, "sys/fs/cgroup/vms/vm/cgroup.procs", "4000");
	assert_false(bed_exists(&b, "sys/fs/cgroup/tenants/lab"));
	assert_file(&b, "sys/fs/cgroup/tenants/cgroup.subtree_control", "-cpuset");
	assert_file(&b, "sys/fs/cgroup/cgroup.subtree_control", "-cpuset");
	bed_close(&b);
}

/* The daemon dies: the next start puts AllowedCPUs= back through systemd,
 * before anything else. */
static void test_unit_crash_recovery(void **state)
{
	struct bed b;
	char err[256];

	bed_open_unit(&b, "Delegate=no\\nAllowedCPUs=0-19\\n", "cpuset", NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_file(&b, ".vspace-emul/systemd/vm.service",
		    "Delegate=no\nControlGroup=/system.slice/vm.service\nAllowedCPUs=2-19");
	controller_free(&b.c);
	linuxplat_close(b.lx); /* no restore */
	assert_int_equal(linuxplat_recover(b.root, b.state, false, err, sizeof(err)), 0);
	assert_file(&b, ".vspace-emul/systemd/vm.service",
		    "Delegate=no\nControlGroup=/system.slice/vm.service\nAllowedCPUs=0-19");
	assert_file(&b, ".vspace-emul/affinity/4002", "0-19");
	assert_int_equal(access(b.state, F_OK), -1);
	config_free(&b.cfg);
	sh("rm -rf %s", b.tmp);
}

/* systemctl restart of a delegated unit: systemd removes its cgroup with
 * vspace's groups inside; the new process gets them again. */
static void test_unit_delegated_restart(void **state)
{
	struct bed b;

	bed_open_unit(&b, "Delegate=yes\\n", "cpuset cpu memory", NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_true(bed_exists(&b, UNIT_VM "/vcpu"));
	/* stop: the process and the unit's cgroup go */
	assert_int_equal(sh("cd %s && mv proc/4000 proc/4000.gone && rm -rf %s/vcpu %s/nq && "
			    ": > %s/cgroup.subtree_control",
			    b.root, UNIT_VM, UNIT_VM, UNIT_VM),
			 0);
	plat_refresh(b.lx, &b.c, 2e9);
	assert_int_equal(b.c.n_wl, 0);
	/* start */
	assert_int_equal(sh("mv %s/proc/4000.gone %s/proc/4000", b.root, b.root), 0);
	assert_int_equal(plat_refresh(b.lx, &b.c, 3e9), 1);
	assert_int_equal(controller_start(&b.c), 0);
	assert_file(&b, UNIT_VM "/vcpu/cgroup.type", "threaded");
	assert_file(&b, UNIT_VM "/cgroup.subtree_control", "+cpuset");
	assert_file(&b, UNIT_VM "/vcpu/cgroup.threads", "4021");
	bed_log_clear(&b);
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_false(bed_exists(&b, UNIT_VM "/vcpu"));
	assert_file(&b, UNIT_VM "/cgroup.subtree_control", "-cpuset");
	/* one record per object, however often it was made */
	{
		const char *p = strstr(b.log, "rmdir fs/cgroup:system.slice/vm.service/vcpu");
		assert_non_null(p);
		assert_null(strstr(p + 1, "rmdir fs/cgroup:system.slice/vm.service/vcpu"));
		p = strstr(b.log, "vm.service/cgroup.subtree_control -cpuset");
		assert_non_null(p);
		assert_null(strstr(p + 1, "vm.service/cgroup.subtree_control -cpuset"));
	}
	bed_close(&b);
}

/* A unit whose process comes back keeps its first original AllowedCPUs=:
 * restore puts back the administrator's value, not vspace's. */
static void test_unit_plain_restart(void **state)
{
	struct bed b;

	bed_open_unit(&b, "Delegate=no\\n", "cpuset", NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_int_equal(sh("mv %s/proc/4000 %s/proc/4000.gone", b.root, b.root), 0);
	plat_refresh(b.lx, &b.c, 2e9);
	assert_int_equal(sh("mv %s/proc/4000.gone %s/proc/4000", b.root, b.root), 0);
	assert_int_equal(plat_refresh(b.lx, &b.c, 3e9), 1);
	assert_int_equal(controller_start(&b.c), 0);
	/* systemd kept the run-time property: nothing to ask again */
	assert_string_equal(bed_calls(&b, "vm.service"), "vm.service set AllowedCPUs=2-19");
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_string_equal(bed_calls(&b, "vm.service"),
			    "vm.service set AllowedCPUs=2-19\nvm.service set AllowedCPUs=");
	bed_close(&b);
}

/* systemd does not answer in time: affinity meanwhile, asked again at the
 * next full rescan (every 5 s), then the unit's placement. */
static void test_unit_no_answer(void **state)
{
	struct bed b;

	bed_open_unit(&b, "NoAnswer\\nDelegate=no\\n", "cpuset", NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_placement(&b, "vm", "affinity", "systemd unit",
			 "systemd did not answer (unit vm.service: Connection timed out)");
	assert_file(&b, ".vspace-emul/affinity/4002", "11-19");
	assert_string_equal(bed_calls(&b, "vm.service"), "");
	assert_int_equal(
		sh("cd %s && sed -i '/NoAnswer/d' .vspace-emul/systemd/vm.service", b.root), 0);
	plat_refresh(b.lx, &b.c, 1e9 + 2); /* no full rescan yet (every 5 s) */
	assert_placement(&b, "vm", "affinity", "systemd unit", "did not answer");
	plat_refresh(b.lx, &b.c, 1e9 + 7);
	assert_placement(&b, "vm", "systemd", "systemd unit", "(Delegate=no): AllowedCPUs=2-19");
	bed_log_clear(&b);
	assert_int_equal(controller_step(&b.c), 0);
	assert_string_equal(bed_calls(&b, "vm.service"), "vm.service set AllowedCPUs=2-19");
	/* the change reset every affinity: all written again after it */
	assert_non_null(strstr(b.log, "affinity 4002"));
	assert_true(strstr(b.log, "systemd vm.service AllowedCPUs=2-19") <
		    strstr(b.log, "affinity 4002"));
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_string_equal(bed_calls(&b, "vm.service"),
			    "vm.service set AllowedCPUs=2-19\nvm.service set AllowedCPUs=");
	assert_file(&b, ".vspace-emul/affinity/4002", "0-19");
	bed_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_unit_delegated, teardown),
		cmocka_unit_test_teardown(test_unit_plain, teardown),
		cmocka_unit_test_teardown(test_unit_allowed_restored, teardown),
		cmocka_unit_test_teardown(test_unit_delegated_not_usable, teardown),
		cmocka_unit_test_teardown(test_affinity_owners, teardown),
		cmocka_unit_test_teardown(test_no_manager, teardown),
		cmocka_unit_test_teardown(test_no_manager_nested_parent, teardown),
		cmocka_unit_test_teardown(test_unit_crash_recovery, teardown),
		cmocka_unit_test_teardown(test_unit_delegated_restart, teardown),
		cmocka_unit_test_teardown(test_unit_plain_restart, teardown),
		cmocka_unit_test_teardown(test_unit_no_answer, teardown),
	};
	log_init("test_placement", getenv("VS_TEST_VERBOSE") ? VS_LOG_DEBUG : VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
