/* test_kvmstat.c - KVM debugfs reading and the daemon's halt-poll accounting over periods: deltas, resets, missing and garbage counters, several VMs. */
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/config.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/kvmstat.h"
#include "platform/linux/linux.h"
#include "refresh.h"
#include "testutil.h"
#include "scratch.h"

static int teardown(void **state)
{
	return scratch_remove();
}

static void scratch(char *dir, size_t len)
{
	str_copy(dir, "/tmp/vsh-kvmstat-XXXXXX", len);
	assert_non_null(mkdtemp(dir));
	str_copy(cleanup_dir, dir, sizeof(cleanup_dir));
}

static int open_sys(const char *dir)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/sys", dir);
	fd = open(path, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	return fd;
}

/* ---- the reader ------------------------------------------------------------------------- */

static void test_parse(void **state)
{
	uint64_t v;

	assert_int_equal(kvmstat_parse_u64("0\n", &v), 0);
	assert_true(v == 0);
	assert_int_equal(kvmstat_parse_u64("73400000000\n", &v), 0);
	assert_true(v == 73400000000ULL);
	assert_int_equal(kvmstat_parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	static const char *const bad[] = { "",
					   "\n",
					   "-1\n",
					   "+1\n",
					   " 1\n",
					   "1 \n",
					   "12a\n",
					   "1\n2",
					   "0x10",
					   "1e9",
					   "18446744073709551616\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(kvmstat_parse_u64(bad[i], &v), -1);
		assert_true(v == 7); /* untouched */
	}
}

/* Why there is nothing to read: debugfs not mounted, KVM not loaded, no VM
 * for the pid; and which directory wins among several. */
static void test_find(void **state)
{
	char dir[64], why[256];
	struct kvmstat_vm vms[KVMSTAT_MAX_VMS];
	int fd, n;

	scratch(dir, sizeof(dir));
	assert_int_equal(sh("mkdir -p %s/sys/kernel/debug", dir), 0);
	fd = open_sys(dir);
	assert_int_equal(kvmstat_find(fd, 4000, vms, KVMSTAT_MAX_VMS, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "debugfs is not mounted at sys/kernel/debug"));

	assert_int_equal(sh("mkdir -p %s/sys/kernel/debug/tracing", dir), 0);
	assert_int_equal(kvmstat_find(fd, 4000, vms, KVMSTAT_MAX_VMS, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "kvm module is not loaded"));

	/* names that only look like pid 4000's */
	assert_int_equal(sh("cd %s/sys/kernel/debug && mkdir -p kvm/40001-3 kvm/400-2 kvm/4000- "
			    "kvm/4000-x kvm/4000-1-2 kvm/04000-9 && touch kvm/halt_poll_fail_ns",
			    dir),
			 0);
	assert_int_equal(kvmstat_find(fd, 4000, vms, KVMSTAT_MAX_VMS, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no KVM VM directory 4000-* in sys/kernel/debug/kvm"));

	/* one VM */
	assert_int_equal(sh("mkdir -p %s/sys/kernel/debug/kvm/4000-11/vcpu0 "
			    "%s/sys/kernel/debug/kvm/4000-11/vcpu1",
			    dir, dir),
			 0);
	n = kvmstat_find(fd, 4000, vms, KVMSTAT_MAX_VMS, why, sizeof(why));
	assert_int_equal(n, 1);
	assert_string_equal(vms[0].name, "4000-11");
	assert_int_equal(vms[0].fd, 11);
	assert_int_equal(vms[0].n_vcpus, 2);
	assert_int_equal(kvmstat_choose(vms, n, why, sizeof(why)), 0);
	assert_string_equal(why, "");

	/* a probe VM with a higher fd and no vCPUs, one with a lower fd: the
	 * 2-vCPU VM is chosen and the reason names all three */
	assert_int_equal(
		sh("mkdir -p %s/sys/kernel/debug/kvm/4000-14 %s/sys/kernel/debug/kvm/4000-9", dir,
		   dir),
		0);
	n = kvmstat_find(fd, 4000, vms, KVMSTAT_MAX_VMS, why, sizeof(why));
	assert_int_equal(n, 3);
	assert_int_equal(vms[0].fd, 9); /* ascending fd */
	assert_int_equal(vms[2].fd, 14);
	assert_int_equal(kvmstat_choose(vms, n, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "3 KVM VMs in this process (4000-9: 0 vCPUs, 4000-11: 2 vCPUs, "
				    "4000-14: 0 vCPUs): the one with the most vCPUs"));
	/* a tie: the most recently created (highest fd) */
	assert_int_equal(sh("mkdir -p %s/sys/kernel/debug/kvm/4000-14/vcpu0 "
			    "%s/sys/kernel/debug/kvm/4000-14/vcpu1",
			    dir, dir),
			 0);
	n = kvmstat_find(fd, 4000, vms, KVMSTAT_MAX_VMS, why, sizeof(why));
	assert_int_equal(kvmstat_choose(vms, n, why, sizeof(why)), 2);
	assert_non_null(strstr(why, "the most recently created (highest fd)"));
	close(fd);
}

static void test_read(void **state)
{
	char dir[64], err[256];
	uint64_t total = 0;
	int fd, vm;

	scratch(dir, sizeof(dir));
	assert_int_equal(sh("mkdir -p %s/sys/kernel/debug/kvm/4000-11", dir), 0);
	fd = open_sys(dir);
	vm = kvmstat_open_vm(fd, "4000-11");
	assert_true(vm >= 0);
	/* Linux < 5.8: the directory, no counters */
	assert_int_equal(kvmstat_read_poll(fd, vm, "4000-11", &total, err, sizeof(err)),
			 KVMSTAT_MISSING);
	assert_non_null(strstr(err, "no halt_poll_success_ns in sys/kernel/debug/kvm/4000-11"));
	assert_non_null(strstr(err, "older than Linux 5.8"));

	assert_int_equal(sh("cd %s/sys/kernel/debug/kvm/4000-11 && echo 1500 >halt_poll_success_ns "
			    "&& echo 250 >halt_poll_fail_ns",
			    dir),
			 0);
	assert_int_equal(kvmstat_read_poll(fd, vm, "4000-11", &total, err, sizeof(err)),
			 KVMSTAT_OK);
	assert_true(total == 1750);

	/* garbage: named, shown (printable part), refused */
	assert_int_equal(
		sh("printf 'abc\\001def' >%s/sys/kernel/debug/kvm/4000-11/halt_poll_fail_ns", dir),
		0);
	assert_int_equal(kvmstat_read_poll(fd, vm, "4000-11", &total, err, sizeof(err)),
			 KVMSTAT_GARBAGE);
	assert_non_null(strstr(err, "sys/kernel/debug/kvm/4000-11/halt_poll_fail_ns: \"abc?def\" "
				    "is not a counter"));
	assert_int_equal(sh("printf '' >%s/sys/kernel/debug/kvm/4000-11/halt_poll_fail_ns", dir),
			 0);
	assert_int_equal(kvmstat_read_poll(fd, vm, "4000-11", &total, err, sizeof(err)),
			 KVMSTAT_GARBAGE);
	/* a file too long for any counter */
	assert_int_equal(sh("head -c 200 /dev/zero | tr '\\0' 1 "
			    ">%s/sys/kernel/debug/kvm/4000-11/halt_poll_fail_ns",
			    dir),
			 0);
	assert_int_equal(kvmstat_read_poll(fd, vm, "4000-11", &total, err, sizeof(err)),
			 KVMSTAT_GARBAGE);
	/* both near the top: their sum does not fit */
	assert_int_equal(sh("cd %s/sys/kernel/debug/kvm/4000-11 && echo 18446744073709551615 "
			    ">halt_poll_success_ns && echo 1 >halt_poll_fail_ns",
			    dir),
			 0);
	assert_int_equal(kvmstat_read_poll(fd, vm, "4000-11", &total, err, sizeof(err)),
			 KVMSTAT_GARBAGE);
	assert_non_null(strstr(err, "overflow"));
	/* the VM closed, and another took its name (QEMU reusing the fd): the
	 * directory in hand is gone either way */
	assert_int_equal(sh("rm -rf %s/sys/kernel/debug/kvm/4000-11", dir), 0);
	assert_int_equal(kvmstat_read_poll(fd, vm, "4000-11", &total, err, sizeof(err)),
			 KVMSTAT_GONE);
	assert_non_null(strstr(err, "sys/kernel/debug/kvm/4000-11 is gone"));
	assert_int_equal(
		sh("mkdir -p %s/sys/kernel/debug/kvm/4000-11 && cd "
		   "%s/sys/kernel/debug/kvm/4000-11 && echo 1 >halt_poll_success_ns && echo "
		   "2 >halt_poll_fail_ns",
		   dir, dir),
		0);
	assert_int_equal(kvmstat_read_poll(fd, vm, "4000-11", &total, err, sizeof(err)),
			 KVMSTAT_GONE);
	close(vm);
	vm = kvmstat_open_vm(fd, "4000-11");
	assert_int_equal(kvmstat_read_poll(fd, vm, "4000-11", &total, err, sizeof(err)),
			 KVMSTAT_OK);
	assert_true(total == 3);
	close(vm);
	assert_int_equal(kvmstat_open_vm(fd, "4000-99"), -1);
	close(fd);
}

/* ---- the platform over several periods -------------------------------------------------- */

/* A platform and controller (dry run) on a scratch copy of synth-b, whose VM
 * (pid 4000, 20 vCPUs) has the KVM directories 4000-9 (a probe) and 4000-11. */
struct bed {
	char tmp[64], root[128];
	struct vsd_config cfg;
	struct vs_linux *lx;
	struct vs_controller c;
	double now_s;
	int k; /* periods written */
};

static double bed_clock(void *arg)
{
	return ((struct bed *)arg)->now_s;
}

/* proc/stat after k periods of 1 s: every cpu busy 60 of 100 ticks each. */
static void bed_stat(struct bed *b, int k)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/stat", b->root);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "cpu 0 0 0 0 0 0 0 0 0 0\n");
	for (int c = 0; c < 20; c++)
		fprintf(f, "cpu%d %d 0 %d %d 0 0 0 0 0 0\n", c, 100000 + 50 * k, 20000 + 10 * k,
			900000 + 40 * k);
	fprintf(f, "intr 0\nctxt 1\nbtime 1700000000\n");
	fclose(f);
}

static void bed_poll(struct bed *b, const char *vm, const char *success, const char *fail)
{
	assert_int_equal(sh("cd %s/sys/kernel/debug/kvm/%s && printf '%%s\\n' '%s' "
			    ">halt_poll_success_ns && printf '%%s\\n' '%s' >halt_poll_fail_ns",
			    b->root, vm, success, fail),
			 0);
}

static void bed_open(struct bed *b, const char *extra_host)
{
	char conf[1024], err[512];
	struct vs_linux_config lc;
	struct vs_policy pol;

	memset(b, 0, sizeof(*b));
	scratch(b->tmp, sizeof(b->tmp));
	snprintf(b->root, sizeof(b->root), "%s/root", b->tmp);
	assert_int_equal(sh("cp -a tests/fixtures/synth-b/root %s/root", b->tmp), 0);
	snprintf(conf, sizeof(conf),
		 "[host]\ncores=2-19\nnic=ens1f0\npolicy=static-iso:9:9\ncontrol_socket=off\n"
		 "metrics_listen=off\n%s\n[workload \"vm\"]\nslo_p95_us=1000\n"
		 "qemu_pidfile=/run/vm.pid\n",
		 extra_host ? extra_host : "");
	if (config_load_string(&b->cfg, conf, "test.conf", err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		fail();
	}
	bed_stat(b, 0);
	b->now_s = 500.0;
	config_linux(&b->cfg, b->root, true, &lc);
	lc.clock_s = bed_clock;
	lc.clock_arg = b;
	if (linuxplat_open(&b->lx, &lc, err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		fail();
	}
	assert_int_equal(
		policy_lookup(b->cfg.policy, cpuset_count(&b->cfg.managed), &pol, err, sizeof(err)),
		0);
	assert_int_equal(controller_init(&b->c, &pol, &b->cfg.params, linuxplat_topology(b->lx),
					 linuxplat_platform(b->lx), err, sizeof(err)),
			 0);
	plat_refresh(b->lx, &b->c, 1e9);
	assert_int_equal(controller_start(&b->c), 0);
}

/* One period of 1 s: the new proc/stat, then the step. Returns the sample
 * the controller saw; *h what the platform reports. */
static struct vs_sample bed_step(struct bed *b, struct vs_linux_haltpoll *h)
{
	b->k++;
	bed_stat(b, b->k);
	b->now_s += 1.0;
	plat_refresh(b->lx, &b->c, 1e9 + b->k);
	assert_int_equal(controller_step(&b->c), 0);
	assert_int_equal(linuxplat_haltpoll(b->lx, "vm", h), 0);
	if (getenv("VS_TEST_VERBOSE"))
		printf("# period %d: %s applied %d busy %.3f poll %.3f U_v %.3f (%s)\n", b->k,
		       h->state, h->applied, h->raw_busy_vcpu, h->halt_poll,
		       b->c.wl[0].last.busy_vcpu, h->note);
	return b->c.wl[0].last;
}

static void bed_close(struct bed *b)
{
	controller_free(&b->c);
	linuxplat_close(b->lx);
	config_free(&b->cfg);
}

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-6;
}

/* 9 vCPU cores at 60 % busy = 5.4 cores of busy time each period; the
 * counters decide what is subtracted. */
static void test_periods(void **state)
{
	struct bed b;
	struct vs_linux_haltpoll h;
	struct vs_sample s;
	json_t *st;

	bed_open(&b, NULL);
	/* the baseline was read at open (with the first proc/stat): 85.5 s */
	bed_poll(&b, "4000-11", "75300000000", "12600000000"); /* +2.4 s */
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "active");
	assert_string_equal(h.source, "sys/kernel/debug/kvm/4000-11"); /* not the probe 4000-9 */
	assert_non_null(strstr(h.note, "2 KVM VMs in this process"));
	assert_true(h.applied && s.has_halt_poll);
	assert_true(near(s.busy_vcpu_raw, 5.4) && near(s.halt_poll_vcpu, 2.4));
	assert_true(near(s.busy_vcpu, 3.0));
	assert_true(near(h.busy_vcpu, 3.0) && near(h.raw_busy_vcpu, 5.4) && near(h.halt_poll, 2.4));

	/* an idle period: nothing polled, nothing subtracted, still applied */
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0) && near(s.busy_vcpu, 5.4));

	/* more polling than busy time: U_v stops at 0 */
	bed_poll(&b, "4000-11", "83300000000", "12600000000"); /* +8 s over 1 s */
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.busy_vcpu, 0) && near(s.halt_poll_vcpu, 5.4));

	/* the counters go down (statistics cleared): a new baseline, no correction */
	bed_poll(&b, "4000-11", "1000", "0");
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "active");
	assert_false(h.applied || s.has_halt_poll);
	assert_true(near(s.busy_vcpu, 5.4));
	assert_non_null(strstr(h.note, "went down"));
	bed_poll(&b, "4000-11", "1000001000", "500000000"); /* +1.5 s */
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 1.5) && near(s.busy_vcpu, 3.9));

	/* garbage: a clear error, the sample used without the correction */
	bed_poll(&b, "4000-11", "1000001000", "5e8");
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "bad counters");
	assert_non_null(strstr(h.note, "sys/kernel/debug/kvm/4000-11/halt_poll_fail_ns: \"5e8\" is "
				       "not a counter"));
	assert_false(h.applied || s.has_halt_poll);
	assert_true(near(s.busy_vcpu, 5.4));
	assert_true(h.bad_reads == 1);
	st = linuxplat_status(b.lx);
	{
		json_t *hp = json_object_get(json_array_get(json_object_get(st, "workloads"), 0),
					     "halt_poll");
		assert_string_equal(json_string_value(json_object_get(hp, "state")),
				    "bad counters");
		assert_string_equal(json_string_value(json_object_get(hp, "accounting")), "auto");
		assert_true(json_is_false(json_object_get(hp, "applied")));
	}
	json_decref(st);
	/* good again: the reading after garbage is a new baseline (no delta
	 * across the bad period), then corrections resume */
	bed_poll(&b, "4000-11", "2000000000", "500000000");
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "active");
	assert_false(h.applied);
	bed_poll(&b, "4000-11", "2700000000", "500000000"); /* +0.7 s */
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0.7));

	/* the VM is closed and QEMU makes a new one (another fd): found at once */
	assert_int_equal(
		sh("cd %s/sys/kernel/debug/kvm && cp -a 4000-11 4000-17 && rm -rf 4000-11", b.root),
		0);
	s = bed_step(&b, &h);
	assert_string_equal(h.source, "sys/kernel/debug/kvm/4000-17");
	assert_false(h.applied);			    /* its first reading */
	bed_poll(&b, "4000-17", "2800000000", "600000000"); /* +0.2 s */
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0.2));

	/* an old kernel: the counters are not there */
	assert_int_equal(sh("rm %s/sys/kernel/debug/kvm/4000-17/halt_poll_*", b.root), 0);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "unavailable");
	assert_non_null(strstr(h.note, "older than Linux 5.8"));
	assert_false(h.applied || s.has_halt_poll);
	assert_true(near(s.busy_vcpu, 5.4));

	/* debugfs unmounted: said so */
	assert_int_equal(sh("rm -rf %s/sys/kernel/debug/kvm", b.root), 0);
	for (int i = 0; i < 6; i++) /* looked for again after the rescan interval (5 s) */
		s = bed_step(&b, &h);
	assert_string_equal(h.state, "unavailable");
	assert_non_null(strstr(h.note, "debugfs is not mounted"));
	assert_true(near(s.busy_vcpu, 5.4));
	bed_close(&b);
}

/* halt_poll_accounting=off: the counters are not read, U_v is the busy time. */
static void test_off(void **state)
{
	struct bed b;
	struct vs_linux_haltpoll h;
	struct vs_sample s;

	bed_open(&b, "halt_poll_accounting=off");
	bed_poll(&b, "4000-11", "75300000000", "12600000000");
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "off");
	assert_false(h.applied || s.has_halt_poll);
	assert_true(near(s.busy_vcpu, 5.4));
	bed_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_teardown(test_find, teardown),
		cmocka_unit_test_teardown(test_read, teardown),
		cmocka_unit_test_teardown(test_periods, teardown),
		cmocka_unit_test_teardown(test_off, teardown),
	};
	log_init("test_kvmstat", getenv("VS_TEST_VERBOSE") ? VS_LOG_DEBUG : VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
