/* test_writers.c - the Linux platform's writes against a temporary copy of fixture synth-b: what it wrote, that it writes only changes, that it puts everything back. */
#include <errno.h>
#include <jansson.h>
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
#include "platform/linux/linux_int.h"
#include "refresh.h"
#include "bed.h"

static int teardown(void **state)
{
	return scratch_remove();
}

static const char *const bed_conf_b =
	"[host]\ncores=2-19\nnic=ens1f0\nmode=R\n"
	"control_socket=off\nmetrics_listen=off\ncoalesce_rx_usecs=20\n"
	"%s\n"
	"[workload \"vm\"]\nslo_p95_us=1000\nqemu_pidfile=/run/vm.pid\n"
	"[workload \"batch\"]\nrole=be\npid=5000\n";

/* Copy synth-b, run `prep` in the copy (may be NULL), open everything. */
static void bed_open(struct bed *b, const char *extra_host, const char *prep)
{
	char conf[1024];

	snprintf(conf, sizeof(conf), bed_conf_b, extra_host ? extra_host : "");
	bed_start(b, "/tmp/vsd-writers-XXXXXX", conf, prep, NULL);
}

/* The content of a file below the bed's root, its first line. */
static char *bed_file(struct bed *b, const char *rel)
{
	return scratch_read(b->root, rel);
}

#define assert_file(b, rel, want) scratch_assert_text((rel), bed_file((b), (rel)), (want))

/* The first allocation on synth-b (R mode, 18 cores): vm 9+9, batch paused. */
static void test_first_allocation_writes(void **state)
{
	struct bed b;

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	/* cgroup v1: our subtree, the groups' cores, the threads moved */
	assert_file(&b, "sys/fs/cgroup/cpuset/vspace/cpuset.cpus", "2-19");
	assert_file(&b, "sys/fs/cgroup/cpuset/vspace/vm/cpuset.cpus", "2-19");
	assert_file(&b, "sys/fs/cgroup/cpuset/vspace/vm/vcpu/cpuset.mems", "0");
	assert_file(&b, "sys/fs/cgroup/cpuset/vspace/vm/vcpu/cpuset.cpus", "11-19");
	assert_file(&b, "sys/fs/cgroup/cpuset/vspace/vm/nq/cpuset.cpus", "2-10");
	/* a fixture file keeps the last id written: the last vCPU thread and
	 * the last non-vCPU thread */
	assert_file(&b, "sys/fs/cgroup/cpuset/vspace/vm/vcpu/tasks", "4021");
	assert_file(&b, "sys/fs/cgroup/cpuset/vspace/vm/nq/tasks", "4025");
	/* the BE process frozen (no core left for it at first) */
	assert_file(&b, "sys/fs/cgroup/freezer/vspace/batch/cgroup.procs", "5000");
	assert_file(&b, "sys/fs/cgroup/freezer/vspace/batch/freezer.state", "FROZEN");
	/* NIC: 9 combined channels, queue IRQs one per NQ core, XPS */
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/channels", "0 0 0 20 0 0 0 9");
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce", "20 0 50 0 0 1");
	assert_file(&b, "proc/irq/101/smp_affinity_list", "2");
	assert_file(&b, "proc/irq/109/smp_affinity_list", "10");
	assert_file(&b, "proc/irq/110/smp_affinity_list", "2-10"); /* queue 9: inactive */
	assert_file(&b, "proc/irq/100/smp_affinity_list", "0-19"); /* the admin vector */
	/* tx-0: NQ core 2 and vCPU core 11 -> bits 2 and 11 */
	assert_file(&b, "sys/class/net/ens1f0/queues/tx-0/xps_cpus", "00000804");
	/* RPS is left alone on a NIC with queue IRQs */
	assert_file(&b, "sys/class/net/ens1f0/queues/rx-0/rps_cpus", "0");
	bed_close(&b);
}

/* The state file holds every original before the writes. */
static void test_state_file(void **state)
{
	struct bed b;
	json_error_t je;
	json_t *root, *recs, *r;
	size_t i;
	/* records by their name in the file */
	static const char *const names[] = { "irq",    "xps",	   "channels", "coalesce",
					     "cgroup", "affinity", "mkdir",    "freeze" };
	enum { IRQ, XPS, CHANNELS, COALESCE, CGROUP, AFFINITY, MKDIR, FREEZE, N_NAMES };
	int kinds[N_NAMES] = { 0 };

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	root = json_load_file(b.state, 0, &je);
	assert_non_null(root);
	recs = json_object_get(root, "records");
	assert_true(json_is_array(recs));
	json_array_foreach(recs, i, r)
	{
		const char *k = json_string_value(json_object_get(r, "kind"));
		for (int j = 0; j < N_NAMES; j++)
			if (k && !strcmp(k, names[j]))
				kinds[j]++;
		if (k && !strcmp(k, "irq") && json_integer_value(json_object_get(r, "irq")) == 101)
			assert_string_equal(json_string_value(json_object_get(r, "cpus")), "0-19");
		if (k && !strcmp(k, "channels"))
			assert_int_equal(json_integer_value(json_object_get(
						 json_object_get(r, "channels"), "combined")),
					 20);
	}
	assert_int_equal(kinds[IRQ], 20); /* every queue IRQ */
	assert_int_equal(kinds[XPS], 20); /* the active tx queues and those the cut removes */
	assert_int_equal(kinds[CHANNELS], 1);
	assert_int_equal(kinds[COALESCE], 1);
	assert_int_equal(kinds[CGROUP], 26 + 1); /* vm's threads, batch's process */
	assert_int_equal(kinds[AFFINITY], 26);
	assert_int_equal(kinds[MKDIR], 4 + 2); /* cpuset: base, vm, vcpu, nq; freezer */
	assert_int_equal(kinds[FREEZE], 1);
	assert_string_equal(json_string_value(json_object_get(root, "boot_id")),
			    "00000000-0000-4000-8000-0000000000bb");
	json_decref(root);
	bed_close(&b);
}

/* Applying the plan in force again writes nothing. */
static void test_idempotent(void **state)
{
	struct bed b;
	struct vs_platform *p;

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_true(b.writes > 50);
	b.writes = 0;
	p = linuxplat_platform(b.lx);
	assert_int_equal(p->ops->apply(p, &b.c.plan), 0);
	assert_int_equal(b.writes, 0);
	/* a changed file behind our back is not rewritten (we trust what we
	 * wrote), but a new period with new cores rewrites only those groups */
	b.c.plan.wl[0].vcpu_cores.bits[0] &= ~(1ull << 19);
	assert_int_equal(p->ops->apply(p, &b.c.plan), 0);
	assert_file(&b, "sys/fs/cgroup/cpuset/vspace/vm/vcpu/cpuset.cpus", "11-18");
	assert_true(b.writes >= 1 && b.writes <= 12);
	bed_close(&b);
}

/* Exit: everything goes back; the state file is removed. */
static void test_restore(void **state)
{
	struct bed b;

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_file(&b, "proc/irq/101/smp_affinity_list", "0-19");
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/channels", "0 0 0 20 0 0 0 20");
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce", "50 0 50 0 1 1");
	assert_file(&b, "sys/class/net/ens1f0/queues/tx-0/xps_cpus", "00000000");
	assert_file(&b, ".vspace-emul/affinity/4002", "0-19");
	/* threads back in the root cpuset, the BE process thawed and back */
	assert_file(&b, "sys/fs/cgroup/cpuset/tasks", "4025");
	assert_file(&b, "sys/fs/cgroup/freezer/cgroup.procs", "5000");
	assert_false(bed_exists(&b, "sys/fs/cgroup/cpuset/vspace"));
	assert_false(bed_exists(&b, "sys/fs/cgroup/freezer/vspace"));
	assert_int_equal(access(b.state, F_OK), -1);
	bed_close(&b);
}

/* Count the state file's records of kind (name) for thread tid (0: any). */
static int bed_records(struct bed *b, const char *kind, int tid)
{
	json_error_t je;
	json_t *root = json_load_file(b->state, 0, &je), *r;
	size_t i;
	int n = 0;

	if (!root)
		return -1;
	json_array_foreach(json_object_get(root, "records"), i, r)
	{
		const char *k = json_string_value(json_object_get(r, "kind"));
		if (k && !strcmp(k, kind) &&
		    (tid == 0 || json_integer_value(json_object_get(r, "tid")) == tid))
			n++;
	}
	json_decref(root);
	return n;
}

/* A thread first seen inside one of vspace's groups (born to a placed
 * thread): not moved when it is where it belongs, never recorded with
 * vspace's group as its original, and put where its process came from on
 * restore. */
static void test_born_inside(void **state)
{
	struct bed b;

	bed_log_clear(&b);
	/* 4003 (CPU 1/KVM) already in the vCPU group, 4004 (CPU 2/KVM) in the NQ group */
	bed_open(
		&b, NULL,
		"sed -i 's|^12:cpuset:/$|12:cpuset:/vspace/vm/vcpu|' proc/4000/task/4003/cgroup && "
		"sed -i 's|^12:cpuset:/$|12:cpuset:/vspace/vm/nq|' proc/4000/task/4004/cgroup");
	assert_int_equal(controller_start(&b.c), 0);
	assert_int_equal(bed_records(&b, "cgroup", 4003), 0);
	assert_int_equal(bed_records(&b, "affinity", 4003), 0);
	assert_int_equal(bed_records(&b, "cgroup", 4004), 0);
	assert_int_equal(bed_records(&b, "cgroup", 4002), 1);
	assert_null(strstr(b.log, "move thread 4003 "));     /* in place already */
	assert_non_null(strstr(b.log, "move thread 4004 ")); /* to the vCPU group */
	/* the main thread's record is the process's original: the root cpuset */
	assert_int_equal(bed_records(&b, "cgroup", 4000), 1);
	/* restore: every recorded thread back, and the two born inside to their
	 * process's original (the fixture's /proc still shows them inside) */
	bed_log_clear(&b);
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_non_null(strstr(b.log, "move thread 4003 (born after placement: its process's "
				      "group) to fs/cgroup/cpuset:/\n"));
	assert_non_null(strstr(b.log, "move thread 4004 (born after placement: its process's "
				      "group) to fs/cgroup/cpuset:/\n"));
	assert_null(strstr(b.log, "to fs/cgroup/cpuset:vspace"));
	assert_false(bed_exists(&b, "sys/fs/cgroup/cpuset/vspace"));
	bed_close(&b);
}

/* Records of threads that exited go at the next listing that sees them go;
 * the file shrinks with them. */
static void test_prune(void **state)
{
	struct bed b;
	int before;

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	before = bed_records(&b, "cgroup", 0);
	assert_int_equal(bed_records(&b, "cgroup", 4010), 1);
	assert_int_equal(sh("rm -rf %s/proc/4000/task/4010 %s/proc/4000/task/4011", b.root, b.root),
			 0);
	plat_refresh(b.lx, &b.c, 2e9); /* a full rescan is due */
	assert_int_equal(bed_records(&b, "cgroup", 4010), 0);
	assert_int_equal(bed_records(&b, "affinity", 4011), 0);
	assert_int_equal(bed_records(&b, "cgroup", 0), before - 2);
	bed_close(&b);
}

/* Restore runs through the writer apply uses: every write is logged, timed
 * and counted by kind (apply never removes a directory: the rmdirs are
 * restore's), a thread that is gone is not an error, and a write refused
 * for good is a failure that keeps the records. */
static void test_restore_through_the_writer(void **state)
{
	struct bed b;
	const struct vs_write_stats *ws;
	int applied;

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	ws = linuxplat_write_stats(b.lx);
	assert_int_equal(ws[VS_W_RMDIR].writes, 0);
	applied = b.writes;
	/* a thread exits before the restore; an IRQ's file becomes a directory
	 * (its write fails with EISDIR: permanent) */
	assert_int_equal(sh("rm -rf %s/proc/4000/task/4002", b.root), 0);
	assert_int_equal(sh("rm -f %s/proc/irq/101/smp_affinity_list && "
			    "mkdir %s/proc/irq/101/smp_affinity_list",
			    b.root, b.root),
			 0);
	assert_int_equal(linuxplat_restore(b.lx), 1);
	assert_true(b.writes > applied + 40); /* each restore write in the write log */
	assert_int_equal(ws[VS_W_RMDIR].writes, 4 + 2);
	assert_true(ws[VS_W_RMDIR].sum_s > 0);
	assert_int_equal(ws[VS_W_IRQ].permanent, 1);
	/* the gone thread's records were skipped, the others restored */
	assert_file(&b, ".vspace-emul/affinity/4003", "0-19");
	/* what failed is kept for the operator */
	{
		char keep[200];
		snprintf(keep, sizeof(keep), "%s.failed", b.state);
		assert_int_equal(access(keep, F_OK), 0);
	}
	bed_close(&b);
}

/* A channel cut removes queues, and the kernel recreates them with empty
 * masks when the channels come back: restore puts their own masks back. */
static void test_restore_removed_queues(void **state)
{
	struct bed b;

	bed_open(&b, NULL, "echo 00008000 > sys/class/net/ens1f0/queues/tx-15/xps_cpus");
	assert_int_equal(controller_start(&b.c), 0);
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/channels", "0 0 0 20 0 0 0 9");
	/* what the kernel does to tx-15 when it goes away and comes back */
	assert_int_equal(
		sh("echo 00000000 > %s/sys/class/net/ens1f0/queues/tx-15/xps_cpus", b.root), 0);
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/channels", "0 0 0 20 0 0 0 20");
	assert_file(&b, "sys/class/net/ens1f0/queues/tx-15/xps_cpus", "00008000");
	assert_file(&b, "sys/class/net/ens1f0/queues/tx-0/xps_cpus", "00000000");
	bed_close(&b);
}

/* on_exit=leave: the settings stay, the state file goes (a later start must
 * not undo them). */
static void test_leave(void **state)
{
	struct bed b;

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_int_equal(access(b.state, F_OK), 0);
	linuxplat_leave(b.lx);
	assert_int_equal(access(b.state, F_OK), -1);
	assert_file(&b, "proc/irq/101/smp_affinity_list", "2");
	assert_true(bed_exists(&b, "sys/fs/cgroup/cpuset/vspace/vm/vcpu"));
	bed_close(&b);
}

/* A crash: the next start finds the state file and restores first. */
static void test_crash_recovery(void **state)
{
	struct bed b;
	char err[256];

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_int_equal(access(b.state, F_OK), 0);
	/* the daemon dies: no restore */
	controller_free(&b.c);
	linuxplat_close(b.lx);
	assert_file(&b, "proc/irq/101/smp_affinity_list", "2");
	/* a file from a daemon that is gone: its pid is ours, so pretend */
	assert_int_equal(linuxplat_recover(b.root, b.state, false, err, sizeof(err)), 0);
	assert_file(&b, "proc/irq/101/smp_affinity_list", "0-19");
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/channels", "0 0 0 20 0 0 0 20");
	assert_false(bed_exists(&b, "sys/fs/cgroup/cpuset/vspace"));
	assert_int_equal(access(b.state, F_OK), -1);
	/* nothing left: a second recovery has nothing to do */
	assert_int_equal(linuxplat_recover(b.root, b.state, false, err, sizeof(err)), 0);
	config_free(&b.cfg);
	sh("rm -rf %s", b.tmp);
}

/* A state file from another boot is not applied. */
static void test_recover_other_boot(void **state)
{
	struct bed b;
	char err[256];

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	controller_free(&b.c);
	linuxplat_close(b.lx);
	assert_int_equal(
		sh("echo 11111111-2222-3333-4444-555555555555 > %s/proc/sys/kernel/random/boot_id",
		   b.root),
		0);
	assert_int_equal(linuxplat_recover(b.root, b.state, false, err, sizeof(err)), 0);
	assert_file(&b, "proc/irq/101/smp_affinity_list", "2"); /* untouched */
	config_free(&b.cfg);
	sh("rm -rf %s", b.tmp);
}

/* A malformed state file is an error that names it, not a crash. */
static void test_recover_bad_file(void **state)
{
	char tmp[] = "/tmp/vsd-badstate-XXXXXX", path[128], err[256];
	FILE *f;

	assert_non_null(mkdtemp(tmp));
	snprintf(path, sizeof(path), "%s/vspaced.state", tmp);
	f = fopen(path, "w");
	fputs("{\"version\":1,\"records\":[{\"kind\":\"irq\",\"irq\":3,\"cpus\":\"zz\"}]}", f);
	fclose(f);
	assert_int_equal(
		linuxplat_recover("tests/fixtures/synth-b/root", path, false, err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "record 0"));
	f = fopen(path, "w");
	fputs("{\"version\":1,\"records\":[{\"kind\":\"mkdir\",\"hier\":\"fs/cgroup/cpuset\","
	      "\"path\":\"../../etc\"}]}",
	      f);
	fclose(f);
	assert_int_equal(
		linuxplat_recover("tests/fixtures/synth-b/root", path, false, err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, ".."));
	sh("rm -rf %s", tmp);
}

/* A permanent error (EISDIR) is logged once and that object left alone. */
static void test_permanent_error(void **state)
{
	struct bed b;
	struct vs_platform *p;
	const struct vs_write_stats *ws;
	uint64_t irq_writes;

	bed_open(&b, NULL,
		 "rm proc/irq/102/smp_affinity_list && mkdir proc/irq/102/smp_affinity_list && "
		 "echo 0-19 > proc/irq/102/smp_affinity_list/x && true");
	/* the original is unreadable as a file: that IRQ is skipped, not broken */
	assert_int_equal(controller_start(&b.c), 0);
	ws = linuxplat_write_stats(b.lx);
	assert_int_equal(ws[VS_W_IRQ].permanent, 0);
	bed_close(&b);

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	/* now make a write fail: replace the file by a directory */
	assert_int_equal(sh("cd %s && rm proc/irq/103/smp_affinity_list && mkdir "
			    "proc/irq/103/smp_affinity_list",
			    b.root),
			 0);
	p = linuxplat_platform(b.lx);
	/* move the NQ group so the IRQs must move */
	b.c.plan.wl[0].nq_cores.bits[0] &= ~(1ull << 2);
	b.c.plan.wl[0].nq_cores.bits[0] |= 0;
	assert_int_equal(p->ops->apply(p, &b.c.plan), -1);
	ws = linuxplat_write_stats(b.lx);
	assert_int_equal(ws[VS_W_IRQ].permanent, 1);
	irq_writes = ws[VS_W_IRQ].writes;
	b.c.plan.wl[0].nq_cores.bits[0] |= 1ull << 2;
	p->ops->apply(p, &b.c.plan);
	/* the broken IRQ is not tried again; the others move back */
	assert_int_equal(ws[VS_W_IRQ].permanent, 1);
	assert_true(ws[VS_W_IRQ].writes > irq_writes);
	assert_file(&b, "proc/irq/101/smp_affinity_list", "2");
	bed_close(&b);
}

static void test_errclass(void **state)
{
	assert_int_equal(act_errclass(-EBUSY), 1);
	assert_int_equal(act_errclass(-ERANGE), 1);
	assert_int_equal(act_errclass(-EAGAIN), 1);
	assert_int_equal(act_errclass(-ENOSPC), 1);
	assert_int_equal(act_errclass(ESRCH), 2);
	assert_int_equal(act_errclass(-EINVAL), 0);
	assert_int_equal(act_errclass(-EPERM), 0);
	assert_int_equal(act_errclass(-EISDIR), 0);
}

/* A write to a thread that has exited is "gone": counted as such, not as a
 * failure (apply's and restore's failure counts leave it out). */
static void test_gone_is_not_a_failure(void **state)
{
	struct vs_sysroot root;
	struct lx_act a = { 0 };
	struct act_op *op;
	char err[256];
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &st, 0), pid); /* reaped: its id is free */
	assert_int_equal(sysroot_open(&root, "/", err, sizeof(err)), 0);
	a.root = &root;
	op = act_queue(&a, ACT_AFFINITY);
	assert_non_null(op);
	op->wkind = VS_W_AFFINITY;
	op->id = pid;
	cpuset_set(&op->cpus, 0);
	assert_int_equal(act_exec(&a), 0);
	assert_int_equal(a.op[0].result, -ESRCH);
	assert_true(a.op[0].gone);
	assert_int_equal(a.stats[VS_W_AFFINITY].gone, 1);
	assert_int_equal(a.stats[VS_W_AFFINITY].permanent + a.stats[VS_W_AFFINITY].transient, 0);
	act_free(&a);
	sysroot_close(&root);
}

/* Pure cgroup v2 with cpuset, the VM in a cgroup outside any manager (no
 * systemd, not a container's or libvirt's): a threaded subtree of vspace's
 * own; BE frozen with cgroup.freeze. (tests/platform/test_placement.c has
 * the other owners.) */
static void test_cgroup2(void **state)
{
	struct bed b;

	bed_open(&b, NULL,
		 "rm -rf sys/fs/cgroup/cpuset sys/fs/cgroup/freezer && "
		 "echo 'cpuset cpu io memory pids' > sys/fs/cgroup/unified/cgroup.controllers && "
		 "mkdir -p sys/fs/cgroup/unified/vms/vm && "
		 "sed -i 's|^0::.*|0::/vms/vm|' proc/4000/cgroup proc/4000/task/*/cgroup");
	assert_int_equal(controller_start(&b.c), 0);
	assert_file(&b, "sys/fs/cgroup/unified/cgroup.subtree_control", "+cpuset");
	assert_file(&b, "sys/fs/cgroup/unified/vspace/cgroup.subtree_control", "+cpuset");
	assert_file(&b, "sys/fs/cgroup/unified/vspace/vm/cgroup.procs", "4000");
	assert_file(&b, "sys/fs/cgroup/unified/vspace/vm/vcpu/cgroup.type", "threaded");
	assert_file(&b, "sys/fs/cgroup/unified/vspace/vm/vcpu/cpuset.cpus", "11-19");
	assert_file(&b, "sys/fs/cgroup/unified/vspace/vm/vcpu/cgroup.threads", "4021");
	assert_file(&b, "sys/fs/cgroup/unified/vspace/vm/nq/cgroup.threads", "4025");
	/* batch: no freezer v1, no v2 group yet (paused before it had cores):
	 * stopped with a signal */
	assert_file(&b, ".vspace-emul/signal/5000", "STOP");
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_file(&b, "sys/fs/cgroup/unified/vms/vm/cgroup.procs", "4000");
	assert_file(&b, "sys/fs/cgroup/unified/cgroup.subtree_control", "-cpuset");
	assert_file(&b, ".vspace-emul/signal/5000", "CONT");
	assert_false(bed_exists(&b, "sys/fs/cgroup/unified/vspace"));
	bed_close(&b);
}

/* placement=affinity: every thread pinned with sched_setaffinity. */
static void test_affinity_placement(void **state)
{
	struct bed b;

	bed_open(&b, "placement=affinity", NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_file(&b, ".vspace-emul/affinity/4002", "11-19");
	assert_file(&b, ".vspace-emul/affinity/4022", "2-10"); /* vhost */
	assert_file(&b, ".vspace-emul/affinity/4000", "2-10"); /* emulator */
	assert_false(bed_exists(&b, "sys/fs/cgroup/cpuset/vspace/vm"));
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_file(&b, ".vspace-emul/affinity/4002", "0-19");
	bed_close(&b);
}

/* A workload that vanishes is dropped; when it comes back it is picked up. */
static void test_vanish_appear(void **state)
{
	struct bed b;

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_int_equal(b.c.n_wl, 1);
	assert_int_equal(sh("mv %s/proc/4000 %s/proc/4000.gone", b.root, b.root), 0);
	plat_refresh(b.lx, &b.c, 2e9);
	assert_int_equal(b.c.n_wl, 0);
	assert_int_equal(controller_step(&b.c), 0); /* the loop goes on */
	assert_int_equal(sh("mv %s/proc/4000.gone %s/proc/4000", b.root, b.root), 0);
	assert_int_equal(plat_refresh(b.lx, &b.c, 3e9), 1);
	assert_int_equal(b.c.n_wl, 1);
	assert_int_equal(controller_start(&b.c), 0);
	assert_int_equal(controller_step(&b.c), 0);
	bed_close(&b);
}

/* p95 reports: known LC workloads only; the last in a period wins; used once. */
static void test_reports(void **state)
{
	struct bed b;
	char err[256];

	bed_open(&b, NULL, NULL);
	assert_int_equal(controller_start(&b.c), 0);
	assert_int_equal(linuxplat_report(b.lx, "nope", 100, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown workload \"nope\" (configured: vm batch)"));
	assert_int_equal(linuxplat_report(b.lx, "batch", 100, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "best-effort"));
	assert_int_equal(linuxplat_report(b.lx, "vm", -1, 1, err, sizeof(err)), -1);
	assert_int_equal(linuxplat_report(b.lx, "vm", 900, 10, err, sizeof(err)), 0);
	assert_int_equal(linuxplat_report(b.lx, "vm", 1200, 10, err, sizeof(err)), 0);
	assert_int_equal(controller_step(&b.c), 0);
	assert_true(b.c.wl[0].last.has_p95);
	assert_true(b.c.wl[0].last.p95_us == 1200);
	assert_int_equal(controller_step(&b.c), 0);
	assert_false(b.c.wl[0].last.has_p95);
	bed_close(&b);
}

/* The guest actuator hook: called with the plan's vCPU and queue counts,
 * only when they change; a transient failure is retried. */
struct fake_guest {
	struct vs_guest_actuator base;
	int vnq, vcpus, calls, fail_with;
	char ifname[16];
};

static int fake_set_vnq(struct vs_guest_actuator *g, const char *ifname, int n)
{
	struct fake_guest *f = (struct fake_guest *)g;
	f->calls++;
	if (f->fail_with)
		return f->fail_with;
	str_copy(f->ifname, ifname, sizeof(f->ifname));
	f->vnq = n;
	return 0;
}

static int fake_set_vcpus(struct vs_guest_actuator *g, int n)
{
	struct fake_guest *f = (struct fake_guest *)g;
	f->calls++;
	if (f->fail_with)
		return f->fail_with;
	f->vcpus = n;
	return 0;
}

static const struct vs_guest_actuator_ops fake_guest_ops = {
	.name = "fake",
	.set_vnq = fake_set_vnq,
	.set_vcpus = fake_set_vcpus,
};

static void test_guest_actuator(void **state)
{
	struct bed b;
	struct fake_guest g = { .base = { .ops = &fake_guest_ops } };
	struct vs_platform *p;

	bed_open(&b, NULL, NULL);
	assert_int_equal(linuxplat_set_guest(b.lx, "nope", &g.base), -1);
	assert_int_equal(linuxplat_set_guest(b.lx, "vm", &g.base), 0);
	assert_int_equal(controller_start(&b.c), 0);
	assert_int_equal(g.vcpus, 9);
	assert_int_equal(g.vnq, 9);
	assert_string_equal(g.ifname, ""); /* no guest_nic=: the agent link picks the NIC */
	assert_int_equal(g.calls, 2);
	p = linuxplat_platform(b.lx);
	assert_int_equal(p->ops->apply(p, &b.c.plan), 0);
	assert_int_equal(g.calls, 2); /* nothing changed */
	b.c.plan.wl[0].alloc.vcpus = 4;
	g.fail_with = -EAGAIN; /* the agent is not connected yet */
	assert_int_equal(p->ops->apply(p, &b.c.plan), -1);
	assert_int_equal(g.calls, 3);
	assert_int_equal(g.vcpus, 9);
	g.fail_with = 0;
	assert_int_equal(p->ops->apply(p, &b.c.plan), 0); /* retried */
	assert_int_equal(g.vcpus, 4);
	assert_int_equal(g.calls, 4);
	linuxplat_set_guest(b.lx, "vm", NULL);
	bed_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_first_allocation_writes, teardown),
		cmocka_unit_test_teardown(test_state_file, teardown),
		cmocka_unit_test_teardown(test_idempotent, teardown),
		cmocka_unit_test_teardown(test_restore, teardown),
		cmocka_unit_test_teardown(test_born_inside, teardown),
		cmocka_unit_test_teardown(test_prune, teardown),
		cmocka_unit_test_teardown(test_restore_removed_queues, teardown),
		cmocka_unit_test_teardown(test_restore_through_the_writer, teardown),
		cmocka_unit_test_teardown(test_leave, teardown),
		cmocka_unit_test_teardown(test_crash_recovery, teardown),
		cmocka_unit_test_teardown(test_recover_other_boot, teardown),
		cmocka_unit_test_teardown(test_recover_bad_file, teardown),
		cmocka_unit_test_teardown(test_permanent_error, teardown),
		cmocka_unit_test_teardown(test_errclass, teardown),
		cmocka_unit_test_teardown(test_gone_is_not_a_failure, teardown),
		cmocka_unit_test_teardown(test_cgroup2, teardown),
		cmocka_unit_test_teardown(test_affinity_placement, teardown),
		cmocka_unit_test_teardown(test_vanish_appear, teardown),
		cmocka_unit_test_teardown(test_reports, teardown),
		cmocka_unit_test_teardown(test_guest_actuator, teardown),
	};
	log_init("test_writers", getenv("VS_TEST_VERBOSE") ? VS_LOG_DEBUG : VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
