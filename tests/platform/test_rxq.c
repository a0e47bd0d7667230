/* test_rxq.c - interrupt-rate control on the host (scratch copies of fixture synth-b, and host-a as captured): the ethtool -c states (device, per queue, none), the counters per period, the rx-usecs writes, restore and crash recovery, RPS fan-out. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/irqctl.h"
#include "daemon/config.h"
#include "lib/strutil.h"
#include "platform/linux/linux.h"
#include "refresh.h"
#include "testutil.h"
#include "scratch.h"

static int teardown(void **state)
{
	return scratch_remove();
}

/* synth-b's NIC ens1f0 (synthetic, tests/fixtures/gen-synthetic): 20 queues, IRQs
 * ens1f0-TxRx-N (101..120), coalescing "50 0 50 0 1 1" (rx-usecs 50, adaptive-rx on:
 * the emulation file as scripts/capture-fixture writes ethtool -c). */
struct bed {
	char tmp[64], root[128], state[160];
	struct vsd_config cfg;
	struct vs_linux *lx;
	struct vs_controller c;
	struct vs_irqctl irq;
	struct vs_rxq_sample s[64];
	struct vs_rxq_target t[64];
	int writes;
};

static double bed_clock_s;

static double bed_clock(void *arg)
{
	(void)arg;
	return bed_clock_s;
}

static void bed_line(void *arg, const char *line)
{
	struct bed *b = arg;
	b->writes++;
	if (getenv("VS_TEST_VERBOSE"))
		printf("# %s\n", line);
}

static const char *const bed_conf =
	"[host]\ncores=2-19\nnic=ens1f0\nmode=E\ncontrol_socket=off\nmetrics_listen=off\n"
	"[workload \"vm\"]\nslo_p95_us=1000\nqemu_pidfile=/run/vm.pid\n";

static void bed_open_at(struct bed *b, const char *fixture, const char *prep, const char *policy,
			bool fanout);

static void bed_open(struct bed *b, const char *prep, const char *policy, bool fanout)
{
	bed_open_at(b, NULL, prep, policy, fanout);
}

/* fixture: a tree of tests/fixtures with its vspace.conf; NULL synth-b with bed_conf. */
static void bed_open_at(struct bed *b, const char *fixture, const char *prep, const char *policy,
			bool fanout)
{
	char err[512];
	struct vs_linux_config lc;
	struct vs_policy pol;
	struct vs_irq_params p;

	memset(b, 0, sizeof(*b));
	str_copy(b->tmp, "/tmp/vsd-rxq-XXXXXX", sizeof(b->tmp));
	assert_non_null(mkdtemp(b->tmp));
	str_copy(cleanup_dir, b->tmp, sizeof(cleanup_dir));
	snprintf(b->root, sizeof(b->root), "%s/root", b->tmp);
	snprintf(b->state, sizeof(b->state), "%s/vspaced.state", b->tmp);
	assert_int_equal(
		sh("cp -a tests/fixtures/%s/root %s/root", fixture ? fixture : "synth-b", b->tmp),
		0);
	if (!fixture)
		assert_int_equal(sh("mkdir -p %s/sys/class/net/ens1f0/statistics && "
				    "echo 0 >%s/sys/class/net/ens1f0/statistics/rx_packets && "
				    "echo 0 >%s/sys/class/net/ens1f0/statistics/rx_bytes",
				    b->root, b->root, b->root),
				 0);
	if (prep)
		assert_int_equal(sh("cd %s && %s", b->root, prep), 0);
	if (fixture) {
		char path[160];
		snprintf(path, sizeof(path), "tests/fixtures/%s/vspace.conf", fixture);
		if (config_load(&b->cfg, path, err, sizeof(err)) < 0)
			fail_msg("%s", err);
	} else if (config_load_string(&b->cfg, bed_conf, "test.conf", err, sizeof(err)) < 0) {
		fail_msg("%s", err);
	}
	config_linux(&b->cfg, b->root, false, &lc);
	str_copy(lc.state_path, b->state, sizeof(lc.state_path));
	bed_clock_s = 100;
	lc.clock_s = bed_clock;
	if (linuxplat_open(&b->lx, &lc, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	linuxplat_set_write_log(b->lx, bed_line, b);
	assert_int_equal(
		policy_lookup(b->cfg.policy, cpuset_count(&b->cfg.managed), &pol, err, sizeof(err)),
		0);
	assert_int_equal(controller_init(&b->c, &pol, &b->cfg.params, linuxplat_topology(b->lx),
					 linuxplat_platform(b->lx), err, sizeof(err)),
			 0);
	plat_refresh(b->lx, &b->c, 1e9);
	assert_int_equal(controller_start(&b->c), 0);
	irq_params_defaults(&p);
	irqctl_init(&b->irq, policy ? irq_policy_lookup(policy) : NULL, &p, fanout);
}

static void bed_close(struct bed *b)
{
	irqctl_free(&b->irq);
	controller_free(&b->c);
	linuxplat_close(b->lx);
	config_free(&b->cfg);
	sh("rm -rf %s", b->tmp);
}

static char *bed_file(struct bed *b, const char *rel)
{
	return scratch_read(b->root, rel);
}

#define assert_file(b, rel, want) scratch_assert_text((rel), bed_file((b), (rel)), (want))

/* The NIC received packets of bytes and raised irqs interrupts on queue
 * IRQ 101 (queue 0) in the next dt seconds. */
static void bed_traffic(struct bed *b, long packets, long bytes, long irqs, double dt)
{
	static long tot_p, tot_b, tot_i;

	if (packets < 0) { /* a new bed */
		tot_p = tot_b = tot_i = 0;
		return;
	}
	tot_p += packets;
	tot_b += bytes;
	tot_i += irqs;
	assert_int_equal(sh("cd %s && echo %ld >sys/class/net/ens1f0/statistics/rx_packets && "
			    "echo %ld >sys/class/net/ens1f0/statistics/rx_bytes && "
			    "sed -i 's/^ 101: *[0-9]*/ 101: %ld/' proc/interrupts",
			    b->root, tot_p, tot_b, tot_i),
			 0);
	bed_clock_s += dt;
}

/* One interrupt-rate period: sample, decide, write; returns the targets. */
static int bed_period(struct bed *b, int *n_samples)
{
	int n = linuxplat_rxq_sample(b->lx, b->s, 64);
	int nt = irqctl_step(&b->irq, b->s, n, b->t, 64);

	if (n_samples)
		*n_samples = n;
	assert_int_equal(linuxplat_rxq_apply(b->lx, b->t, nt), 0);
	return nt;
}

/* A driver with one coalescing setting for the device: the counters of a
 * period, CGR's bulk class for 1514-byte frames, rx-usecs 250 with
 * adaptive-rx off (the other fields kept), the original in the state first,
 * nothing written again for the same decision, restore puts it back. */
static void test_device_wide(void **state)
{
	struct bed b;
	int n;

	bed_open(&b, NULL, "cgr", false);
	bed_traffic(&b, -1, 0, 0, 0);
	assert_int_equal(bed_period(&b, &n), 0); /* the first reading: a base */
	assert_int_equal(n, 1);
	assert_true(b.s[0].coalesce_ok && !b.s[0].measured && b.s[0].queue == -1);
	assert_string_equal(b.s[0].ifname, "ens1f0");
	assert_string_equal(b.s[0].workload, "");
	bed_traffic(&b, 10000, 15140000, 400, 0.1);
	assert_int_equal(bed_period(&b, &n), 1);
	assert_true(b.s[0].measured);
	assert_true(b.s[0].s.packets == 10000 && b.s[0].s.bytes == 15140000);
	assert_int_equal(b.s[0].s.interrupts, 400);
	assert_true(b.s[0].s.period_s > 0.0999 && b.s[0].s.period_s < 0.1001);
	assert_true(b.t[0].set_rate && b.t[0].rx_usecs == 250);
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce", "250 0 50 0 0 1");
	/* the original was saved before the write */
	{
		json_error_t je;
		json_t *root = json_load_file(b.state, 0, &je), *r;
		size_t i;
		int found = 0;
		assert_non_null(root);
		json_array_foreach(json_object_get(root, "records"), i, r)
		{
			if (strcmp(json_string_value(json_object_get(r, "kind")), "coalesce"))
				continue;
			found++;
			assert_null(json_object_get(r, "queue")); /* the whole device */
			assert_int_equal(json_integer_value(json_object_get(
						 json_object_get(r, "coalesce"), "rx_usecs")),
					 50);
		}
		assert_int_equal(found, 1);
		json_decref(root);
	}
	/* the same class again: nothing to write */
	int w = b.writes;
	bed_traffic(&b, 10000, 15140000, 400, 0.1);
	assert_int_equal(bed_period(&b, NULL), 0);
	assert_int_equal(b.writes, w);
	/* the status names the mode and the setting */
	json_t *st = linuxplat_status(b.lx);
	json_t *co = json_object_get(json_array_get(json_object_get(st, "nics"), 0), "coalesce");
	assert_string_equal(json_string_value(json_object_get(co, "mode")), "device");
	assert_int_equal(json_integer_value(json_object_get(co, "rx_usecs")), 250);
	json_decref(st);
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce", "50 0 50 0 1 1");
	bed_close(&b);
}

/* A policy switched off puts the driver's own setting back at once. */
static void test_release(void **state)
{
	struct bed b;
	char err[128];

	bed_open(&b, NULL, "fir", false);
	bed_traffic(&b, -1, 0, 0, 0);
	bed_period(&b, NULL);
	bed_traffic(&b, 100, 6400, 100, 0.1);
	assert_int_equal(bed_period(&b, NULL), 1);
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce", "125 0 50 0 0 1");
	assert_int_equal(irqctl_set_policy(&b.irq, NULL, "off", err, sizeof(err)), 0);
	bed_traffic(&b, 100, 6400, 100, 0.1);
	assert_int_equal(bed_period(&b, NULL), 1);
	assert_true(b.t[0].release);
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce", "50 0 50 0 1 1");
	bed_close(&b);
}

/* Per-queue coalescing (ETHTOOL_PERQUEUE) with per-queue counters: each
 * queue its own sample and setting; restore puts each back. */
static void test_per_queue(void **state)
{
	struct bed b;
	int n;
	/* 20 queues with their own setting and counters (ethtool -S rx_queue_N_*) */
	const char *prep = "for q in $(seq 0 19); do echo '30 0 50 0 1 1' "
			   ">.vspace-emul/ethtool/ens1f0/coalesce-q$q; "
			   "echo \"rx_queue_${q}_packets 0\"; echo \"rx_queue_${q}_bytes 0\"; done "
			   ">.vspace-emul/ethtool/ens1f0/stats";

	bed_open(&b, prep, "cgr", false);
	bed_traffic(&b, -1, 0, 0, 0);
	bed_period(&b, &n);
	/* the controller cut the channels to the NQ group: 9 queues */
	assert_int_equal(n, 9);
	assert_int_equal(b.s[3].queue, 3);
	/* queue 0: small sparse packets; queue 1: bulk */
	assert_int_equal(sh("cd %s && printf 'rx_queue_0_packets 100\\nrx_queue_0_bytes 6400\\n"
			    "rx_queue_1_packets 10000\\nrx_queue_1_bytes 15140000\\n' "
			    ">.vspace-emul/ethtool/ens1f0/stats",
			    b.root),
			 0);
	bed_clock_s += 0.1;
	bed_period(&b, &n);
	assert_true(b.s[0].measured && b.s[0].s.packets == 100);
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce-q0", "10 0 50 0 0 1");
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce-q1", "250 0 50 0 0 1");
	/* the device-wide setting is not touched */
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce", "50 0 50 0 1 1");
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce-q0", "30 0 50 0 1 1");
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce-q1", "30 0 50 0 1 1");
	bed_close(&b);
}

/* A driver without coalescing: one reason, in the sample and the status;
 * no decision, no write, however many periods. */
static void test_unsupported(void **state)
{
	struct bed b;

	bed_open(&b, "rm .vspace-emul/ethtool/ens1f0/coalesce", "air", false);
	bed_traffic(&b, -1, 0, 0, 0);
	int w = b.writes;
	for (int i = 0; i < 5; i++) {
		bed_traffic(&b, 10000, 640000, 1000, 0.1);
		assert_int_equal(bed_period(&b, NULL), 0);
	}
	assert_int_equal(b.writes, w);
	assert_false(b.s[0].coalesce_ok);
	assert_string_equal(b.s[0].unsupported, "the driver has no interrupt coalescing "
						"(ETHTOOL_GCOALESCE: Operation not supported)");
	assert_false(b.irq.q[0].coalesce_ok);
	json_t *st = linuxplat_status(b.lx);
	json_t *co = json_object_get(json_array_get(json_object_get(st, "nics"), 0), "coalesce");
	assert_string_equal(json_string_value(json_object_get(co, "mode")), "unsupported");
	assert_non_null(strstr(json_string_value(json_object_get(co, "unsupported")),
			       "no interrupt coalescing"));
	json_decref(st);
	bed_close(&b);
}

/* Captured on a real host (fixture host-a: a 2-queue veth, ethtool -c
 * refused, so the capture has no coalescing file): the veth's own counters
 * are read, the queue is unsupported with the reason, nothing is written. */
static void test_captured_veth(void **state)
{
	struct bed b;
	int n, w;

	bed_open_at(&b, "host-a", NULL, "air", true);
	w = b.writes;
	for (int i = 0; i < 3; i++) {
		bed_clock_s += 0.1;
		assert_int_equal(bed_period(&b, &n), 0);
	}
	assert_int_equal(n, 1);
	assert_string_equal(b.s[0].ifname, "vsdc0");
	assert_int_equal(b.s[0].queue, -1);
	assert_false(b.s[0].coalesce_ok);
	assert_non_null(strstr(b.s[0].unsupported, "Operation not supported"));
	/* a veth has no queue IRQs: RPS already steers it, no fan-out of ours */
	assert_int_equal(b.s[0].fan_max, 1);
	assert_int_equal(b.writes, w);
	bed_close(&b);
}

/* A driver that reads its coalescing but refuses rx-usecs (tun/tap): the
 * first write fails, the queue is unsupported from then on with the reason,
 * no write is tried again. */
static void test_refused_write(void **state)
{
	struct bed b;
	int w;

	bed_open(&b, "touch .vspace-emul/ethtool/ens1f0/coalesce-refuse", "fir", false);
	bed_traffic(&b, -1, 0, 0, 0);
	bed_period(&b, NULL);
	bed_traffic(&b, 1000, 64000, 1000, 0.1);
	w = b.writes;
	int nt = irqctl_step(&b.irq, b.s, linuxplat_rxq_sample(b.lx, b.s, 64), b.t, 64);
	assert_int_equal(nt, 1);
	assert_int_equal(linuxplat_rxq_apply(b.lx, b.t, nt), -1); /* refused */
	assert_int_equal(b.writes, w + 1);
	for (int i = 0; i < 3; i++) {
		bed_traffic(&b, 1000, 64000, 1000, 0.1);
		assert_int_equal(bed_period(&b, NULL), 0);
	}
	assert_int_equal(b.writes, w + 1);
	assert_false(b.s[0].coalesce_ok);
	assert_string_equal(b.s[0].unsupported, "the driver refused rx-usecs 125 "
						"(ETHTOOL_SCOALESCE: Operation not supported)");
	assert_true(b.irq.q[0].rate_per_s == 0);
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce", "50 0 50 0 1 1");
	bed_close(&b);
}

/* After a crash the next start puts the original back from the state file. */
static void test_crash_recovery(void **state)
{
	struct bed b;
	char err[256];

	bed_open(&b, NULL, "cgr", false);
	bed_traffic(&b, -1, 0, 0, 0);
	bed_period(&b, NULL);
	bed_traffic(&b, 10000, 15140000, 400, 0.1);
	bed_period(&b, NULL);
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce", "250 0 50 0 0 1");
	/* vspaced dies here: no restore; the next start recovers */
	assert_int_equal(linuxplat_recover(b.root, b.state, false, err, sizeof(err)), 0);
	assert_file(&b, ".vspace-emul/ethtool/ens1f0/coalesce", "50 0 50 0 1 1");
	assert_int_equal(access(b.state, F_OK), -1);
	bed_close(&b);
}

/* Fan-out on a one-queue NIC with a queue IRQ: a busy receive CPU spreads
 * the queue's receive work over more NQ cores by RPS (from its IRQ's core);
 * restore empties the mask again. */
static void test_fanout(void **state)
{
	struct bed b;
	/* a VF-like NIC: one channel, one rx queue */
	const char *prep =
		"echo '0 0 0 1 0 0 0 1' >.vspace-emul/ethtool/ens1f0/channels && "
		"rm -r sys/class/net/ens1f0/queues/rx-1?* sys/class/net/ens1f0/queues/rx-[1-9]";

	bed_open(&b, prep, NULL, true);
	bed_traffic(&b, -1, 0, 0, 0);
	bed_clock_s += 0.1;
	assert_true(controller_step(&b.c) >= 0); /* /proc/stat read */
	bed_period(&b, NULL);
	/* the queue's IRQs on NQ cores 2-3: core 2 fully busy, core 3 idle */
	assert_int_equal(sh("cd %s && awk '$1 == \"cpu2\" { $2 += 1000 } "
			    "$1 == \"cpu3\" { $5 += 1000 } { print }' proc/stat "
			    ">proc/stat.new && mv proc/stat.new proc/stat",
			    b.root),
			 0);
	bed_clock_s += 0.1;
	assert_true(controller_step(&b.c) >= 0);
	bed_traffic(&b, 1000, 64000, 100, 0.0);
	int nt = bed_period(&b, NULL);
	assert_int_equal(nt, 1);
	assert_true(b.s[0].fan_max > 1);
	if (!(b.s[0].busy_rx_cores > 0.99 && b.s[0].busy_rx_cores < 1.01))
		fail_msg("busy_rx_cores %g", b.s[0].busy_rx_cores);
	/* ceil(1.0 / 0.8) = 2 CPUs: NQ cores 2 and 3 */
	assert_int_equal(b.irq.q[0].fan_n, 2);
	assert_file(&b, "sys/class/net/ens1f0/queues/rx-0/rps_cpus", "0000000c");
	assert_int_equal(linuxplat_restore(b.lx), 0);
	assert_file(&b, "sys/class/net/ens1f0/queues/rx-0/rps_cpus", "00000000"); /* empty */
	bed_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_device_wide, teardown),
		cmocka_unit_test_teardown(test_release, teardown),
		cmocka_unit_test_teardown(test_per_queue, teardown),
		cmocka_unit_test_teardown(test_unsupported, teardown),
		cmocka_unit_test_teardown(test_crash_recovery, teardown),
		cmocka_unit_test_teardown(test_captured_veth, teardown),
		cmocka_unit_test_teardown(test_refused_write, teardown),
		cmocka_unit_test_teardown(test_fanout, teardown),
	};
	return VS_RUN_TESTS(tests);
}
