/* test_sysfs.c - topology, NIC and energy readers on the fixture trees; emulated system calls; channel arithmetic. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform/linux/ethtool.h"
#include "platform/linux/hostcall.h"
#include "platform/linux/sysfs.h"
#include "platform/linux/sysroot.h"
#include "testutil.h"

static int sh(const char *cmd)
{
	int rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* synth-c is generated once for this program. */
static char gen_dir[64];

static int setup_c(void **state)
{
	char cmd[256];

	snprintf(gen_dir, sizeof(gen_dir), "/tmp/vsd-sysfs-XXXXXX");
	if (!mkdtemp(gen_dir))
		return -1;
	snprintf(cmd, sizeof(cmd), "tests/fixtures/gen-synthetic c %s/c", gen_dir);
	return sh(cmd) == 0 ? 0 : -1;
}

static int teardown_c(void **state)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", gen_dir);
	sh(cmd);
	return 0;
}

static void test_topology_c(void **state)
{
	struct vs_sysroot r;
	struct vs_topology *t = calloc(1, sizeof(*t));
	struct vs_cpuset online;
	char path[128], err[256];

	snprintf(path, sizeof(path), "%s/c/root", gen_dir);
	assert_int_equal(sysroot_open(&r, path, err, sizeof(err)), 0);
	assert_false(r.live);
	assert_int_equal(sysfs_online_cpus(r.sys_fd, &online, err, sizeof(err)), 0);
	assert_int_equal(cpuset_count(&online), 256);
	assert_int_equal(sysfs_read_topology(r.sys_fd, &online, t, err, sizeof(err)), 4);
	/* node n holds cores n*32..n*32+31 and their hyper-threads +128 */
	assert_int_equal(t->node_of[0], 0);
	assert_int_equal(t->node_of[31], 0);
	assert_int_equal(t->node_of[32], 1);
	assert_int_equal(t->node_of[128], 0);
	assert_int_equal(t->node_of[255], 3);
	assert_true(topology_siblings(t, 5, 133));
	assert_false(topology_siblings(t, 5, 6));
	assert_int_equal(t->sib_next[5], 133);
	assert_int_equal(t->sib_next[133], 5);
	assert_int_equal(sysfs_net_numa_node(r.sys_fd, "ens2f0"), 0);
	assert_int_equal(sysfs_net_numa_node(r.sys_fd, "nope"), -1);
	sysroot_close(&r);
	free(t);
}

static void test_net_b(void **state)
{
	struct vs_sysroot r;
	char err[256];
	int rx, tx, *irqs = NULL, cap = 0;

	assert_int_equal(sysroot_open(&r, "tests/fixtures/synth-b/root", err, sizeof(err)), 0);
	assert_true(sysfs_net_exists(r.sys_fd, "ens1f0"));
	assert_false(sysfs_net_exists(r.sys_fd, "eth9"));
	assert_false(sysfs_net_exists(r.sys_fd, "../../etc"));
	assert_int_equal(sysfs_net_queues(r.sys_fd, "ens1f0", &rx, &tx), 0);
	assert_int_equal(rx, 20);
	assert_int_equal(tx, 20);
	assert_int_equal(sysfs_net_queues(r.sys_fd, "eth9", &rx, &tx), -1);
	assert_int_equal(sysfs_net_msi_irqs(r.sys_fd, "ens1f0", &irqs, &cap), 21);
	assert_int_equal(irqs[0], 100);
	assert_int_equal(irqs[20], 120);
	assert_int_equal(sysfs_net_msi_irqs(r.sys_fd, "eth9", &irqs, &cap), 0);
	free(irqs);
	sysroot_close(&r);
	/* a missing root, or one without proc/ */
	assert_int_equal(sysroot_open(&r, "/nonexistent-vsd", err, sizeof(err)), -1);
	assert_int_equal(sysroot_open(&r, "tests/fixtures", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no proc"));
}

static void test_rapl_wrap(void **state)
{
	char tmp[] = "/tmp/vsd-rapl-XXXXXX", cmd[256], path[128], err[256];
	struct vs_sysroot r;
	struct vs_rapl rapl;
	double j;

	assert_non_null(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "cp -a tests/fixtures/synth-b/root %s/", tmp);
	assert_int_equal(sh(cmd), 0);
	snprintf(path, sizeof(path), "%s/root", tmp);
	assert_int_equal(sysroot_open(&r, path, err, sizeof(err)), 0);
	assert_int_equal(sysfs_rapl_init(r.sys_fd, &rapl), 1);
	snprintf(cmd, sizeof(cmd), "cp -a tests/fixtures/synth-b/later/. %s/root/", tmp);
	assert_int_equal(sh(cmd), 0);
	/* 262143328850 - 262140000000 + 121671150 uJ across the wrap */
	assert_int_equal(sysfs_rapl_read(r.sys_fd, &rapl, &j), 0);
	assert_true(j > 124.999 && j < 125.001);
	assert_int_equal(sysfs_rapl_read(r.sys_fd, &rapl, &j), 0);
	assert_true(j == 0);
	sysroot_close(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	sh(cmd);
	/* no powercap: unavailable */
	assert_int_equal(sysroot_open(&r, "tests/fixtures/host-a/root", err, sizeof(err)), 0);
	assert_int_equal(sysfs_rapl_init(r.sys_fd, &rapl), 0);
	sysroot_close(&r);
}

static void test_hostcall_emul(void **state)
{
	char tmp[] = "/tmp/vsd-hostcall-XXXXXX", cmd[256], path[128], err[256], buf[64];
	struct vs_sysroot r;
	struct vs_channels ch;
	struct vs_coalesce co;
	struct vs_cpuset s;

	assert_non_null(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "cp -a tests/fixtures/synth-b/root %s/", tmp);
	assert_int_equal(sh(cmd), 0);
	snprintf(path, sizeof(path), "%s/root", tmp);
	assert_int_equal(sysroot_open(&r, path, err, sizeof(err)), 0);
	/* channels: read, set within the maxima, refuse beyond them */
	assert_int_equal(hostcall_get_channels(&r, -1, "ens1f0", &ch), 0);
	assert_int_equal(ch.max_combined, 20);
	assert_int_equal(ch.combined, 20);
	ch.combined = 4;
	assert_int_equal(hostcall_set_channels(&r, -1, "ens1f0", &ch), 0);
	assert_int_equal(hostcall_get_channels(&r, -1, "ens1f0", &ch), 0);
	assert_int_equal(ch.combined, 4);
	ch.combined = 21;
	assert_int_equal(hostcall_set_channels(&r, -1, "ens1f0", &ch), -EINVAL);
	assert_int_equal(hostcall_get_channels(&r, -1, "eth9", &ch), -EOPNOTSUPP);
	assert_int_equal(hostcall_get_coalesce(&r, -1, "ens1f0", &co), 0);
	assert_int_equal(co.rx_usecs, 50);
	assert_int_equal(co.adaptive_rx, 1);
	/* affinity: falls back to status, then reads what was set */
	assert_int_equal(hostcall_get_affinity(&r, 4000, 4002, &s), 0);
	assert_int_equal(cpuset_count(&s), 20);
	cpuset_zero(&s);
	cpuset_set(&s, 3);
	assert_int_equal(hostcall_set_affinity(&r, 4002, &s), 0);
	assert_int_equal(sysroot_read(r.root_fd, ".vspace-emul/affinity/4002", buf, sizeof(buf)),
			 2);
	assert_string_equal(buf, "3\n");
	cpuset_zero(&s);
	assert_int_equal(hostcall_set_affinity(&r, 4002, &s), -EINVAL);
	assert_int_equal(hostcall_get_affinity(&r, 4000, 4002, &s), 0);
	assert_true(cpuset_test(&s, 3) && cpuset_count(&s) == 1);
	assert_int_equal(hostcall_get_affinity(&r, 1, 777, &s), -ENOENT);
	assert_int_equal(hostcall_signal(&r, 0, 19), -EINVAL);
	sysroot_close(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	sh(cmd);
}

static void test_sysroot_write(void **state)
{
	char tmp[] = "/tmp/vsd-sysroot-XXXXXX", err[256], buf[16];
	struct vs_sysroot r;
	long v;

	assert_non_null(mkdtemp(tmp));
	assert_int_equal(sysroot_open(&r, tmp, err, sizeof(err)), -1); /* no proc/, sys/ */
	snprintf(err, sizeof(err), "mkdir %s/proc %s/sys", tmp, tmp);
	assert_int_equal(sh(err), 0);
	assert_int_equal(sysroot_open(&r, tmp, err, sizeof(err)), 0);
	assert_int_equal(sysroot_write(&r, r.proc_fd, "x", "12345"), 0);
	assert_int_equal(sysroot_write(&r, r.proc_fd, "x", "7"), 0); /* truncated: not "72345" */
	assert_int_equal(sysroot_read_long(r.proc_fd, "x", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(sysroot_write(&r, r.proc_fd, "nodir/x", "1"), -ENOENT);
	assert_int_equal(sysroot_write(&r, r.proc_fd, "y", "abc"), 0);
	assert_int_equal(sysroot_read_long(r.proc_fd, "y", &v), -1);
	assert_int_equal(errno, EINVAL);
	/* a file larger than the buffer */
	assert_int_equal(sysroot_write(&r, r.proc_fd, "z", "0123456789abcdefghij"), 0);
	assert_int_equal(sysroot_read(r.proc_fd, "z", buf, sizeof(buf)), -1);
	assert_int_equal(errno, EFBIG);
	sysroot_close(&r);
	snprintf(err, sizeof(err), "rm -rf %s", tmp);
	sh(err);
}

static void test_channels_for(void **state)
{
	struct vs_channels combined = { .max_combined = 8, .combined = 8 }, out;
	struct vs_channels veth = { .max_rx = 2, .max_tx = 2, .rx = 2, .tx = 2 };

	ethtool_channels_for(&combined, 3, &out);
	assert_int_equal(out.combined, 3);
	assert_int_equal(ethtool_channels_queues(&out), 3);
	ethtool_channels_for(&combined, 40, &out);
	assert_int_equal(out.combined, 8); /* clamped to the maximum */
	ethtool_channels_for(&combined, 0, &out);
	assert_int_equal(out.combined, 1); /* never 0 */
	ethtool_channels_for(&veth, 1, &out);
	assert_int_equal(out.rx, 1);
	assert_int_equal(out.tx, 1);
	assert_int_equal(out.combined, 0);
	assert_int_equal(ethtool_channels_queues(&out), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_topology_c, setup_c, teardown_c),
		cmocka_unit_test(test_net_b),
		cmocka_unit_test(test_rapl_wrap),
		cmocka_unit_test(test_hostcall_emul),
		cmocka_unit_test(test_sysroot_write),
		cmocka_unit_test(test_channels_for),
	};
	return VS_RUN_TESTS(tests);
}
