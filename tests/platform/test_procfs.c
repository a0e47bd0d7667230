/* test_procfs.c - parsers of /proc/stat, task stat, cgroup membership and /proc/interrupts, including malformed input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "platform/linux/procfs.h"
#include "testutil.h"

static void test_procstat(void **state)
{
	struct vs_procstat *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct vs_cpuset set;
	uint64_t busy, total;
	char err[128];

	/* user nice system idle iowait irq softirq steal guest guest_nice */
	assert_int_equal(procstat_parse("cpu  10 0 10 100 0 0 0 0 0 0\n"
					"cpu0 5 1 2 50 3 1 1 1 7 0\n"
					"cpu1 5 0 8 50 0 0 0 0 0 0\nintr 1 2\nctxt 5\n",
					a, err, sizeof(err)),
			 0);
	assert_true(cpuset_test(&a->present, 0) && cpuset_test(&a->present, 1));
	assert_false(cpuset_test(&a->present, 2));
	/* busy: 5+1+2+1+1+1 = 11 (guest is inside user already); total: + 50 + 3 */
	assert_int_equal(a->cpu[0].busy, 11);
	assert_int_equal(a->cpu[0].total, 64);
	/* old kernels: four fields */
	assert_int_equal(procstat_parse("cpu0 1 2 3 4\n", b, err, sizeof(err)), 0);
	assert_int_equal(b->cpu[0].busy, 6);
	assert_int_equal(b->cpu[0].total, 10);
	assert_int_equal(procstat_parse("cpu0 5 1 2 60 3 1 1 1 7 0\ncpu1 9 0 8 56 0 0 0 0 0 0\n", b,
					err, sizeof(err)),
			 0);
	cpuset_zero(&set);
	cpuset_set(&set, 0);
	cpuset_set(&set, 1);
	cpuset_set(&set, 5); /* absent: skipped */
	procstat_delta(a, b, &set, &busy, &total);
	assert_int_equal(busy, 4);
	assert_int_equal(total, 4 + 10 + 6);
	/* malformed */
	assert_int_equal(procstat_parse("cpu  1 2 3 4\ncpu0 1 2 x 4\n", b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(procstat_parse("cpu0 1 2\n", b, err, sizeof(err)), -1);
	assert_int_equal(procstat_parse("cpu9999 1 2 3 4\n", b, err, sizeof(err)), -1);
	assert_int_equal(procstat_parse("intr 5\n", b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no cpuN"));
	assert_int_equal(procstat_parse("", b, err, sizeof(err)), -1);
	free(a);
	free(b);
}

static void test_task_stat(void **state)
{
	struct vs_taskstat st;
	char comm[32];

	assert_int_equal(
		task_parse_stat(
			"4002 (CPU 0/KVM) S 1 4000 4000 0 -1 4194368 100 0 0 0 325 258 0 0 20 "
			"0 1 0 5003 1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 "
			"7 0 0\n",
			comm, sizeof(comm), &st),
		0);
	assert_string_equal(comm, "CPU 0/KVM");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.utime_ticks, 325);
	assert_int_equal(st.stime_ticks, 258);
	assert_int_equal(st.start_ticks, 5003);
	assert_int_equal(st.processor, 7);
	assert_false(st.flags & VS_PF_KTHREAD);
	/* a comm with ") (" inside and a kernel thread */
	assert_int_equal(
		task_parse_stat("77 (a) (b)) S 2 0 0 0 -1 2129984 0 0 0 0 1 2 0 0 20 0 1 0 9 "
				"0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n",
				comm, sizeof(comm), &st),
		0);
	assert_string_equal(comm, "a) (b)");
	assert_true(st.flags & VS_PF_KTHREAD);
	assert_int_equal(st.start_ticks, 9);
	/* long comm truncated to the buffer */
	assert_int_equal(
		task_parse_stat("1 (abcdefghijkl) R 0 0 0 0 0 0 0 0 0 0 1 1 0 0 0 0 1 0 3\n", comm,
				5, &st),
		0);
	assert_string_equal(comm, "abcd");
	/* malformed */
	assert_int_equal(task_parse_stat("1 (x S 1 2", comm, sizeof(comm), &st), -1);
	assert_int_equal(task_parse_stat("1 (x) S 1 2 3", comm, sizeof(comm), &st), -1);
	assert_int_equal(task_parse_stat("", comm, sizeof(comm), &st), -1);
	assert_int_equal(task_parse_stat("1 (x)", comm, sizeof(comm), &st), -1);
}

static void test_task_cgroup(void **state)
{
	const char *v1 = "12:cpuset:/vspace/web/vcpu\n4:cpu,cpuacct:/sys\n1:name=systemd:/x\n"
			 "0::/user.slice/a.scope\n";
	char path[64];

	assert_int_equal(task_parse_cgroup(v1, "cpuset", path, sizeof(path)), 0);
	assert_string_equal(path, "/vspace/web/vcpu");
	assert_int_equal(task_parse_cgroup(v1, "cpuacct", path, sizeof(path)), 0);
	assert_string_equal(path, "/sys");
	assert_int_equal(task_parse_cgroup(v1, "", path, sizeof(path)), 0);
	assert_string_equal(path, "/user.slice/a.scope");
	assert_int_equal(task_parse_cgroup(v1, "freezer", path, sizeof(path)), -1);
	assert_int_equal(errno, ENODATA);
	assert_int_equal(task_parse_cgroup("0::/a\n", "cpu", path, sizeof(path)), -1);
	assert_int_equal(task_parse_cgroup(v1, "cpuset", path, 4), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(task_parse_cgroup("garbage", "", path, sizeof(path)), -1);
}

static void test_interrupts(void **state)
{
	const char *text = "           CPU0       CPU1\n"
			   "  0:         22          0   IO-APIC   2-edge      timer\n"
			   " 45:         10         32   PCI-MSI 524288-edge      eth0-TxRx-0\n"
			   " 46:          1          2   PCI-MSI 524289-edge      eth0-TxRx-1\n"
			   "NMI:          0          0   Non-maskable interrupts\n"
			   "ERR:          0\n"
			   "MIS:          0\n";
	struct vs_irq_line *l = NULL;
	int cap = 0, n;
	char err[128];

	n = interrupts_parse(text, &l, &cap, err, sizeof(err));
	assert_int_equal(n, 3);
	assert_int_equal(l[1].irq, 45);
	assert_int_equal(l[1].count, 42);
	assert_string_equal(l[1].name, "eth0-TxRx-0");
	assert_string_equal(l[0].name, "timer");
	assert_int_equal(interrupts_parse("no header", &l, &cap, err, sizeof(err)), -1);
	assert_int_equal(interrupts_parse("  x y\n 1: 2\n", &l, &cap, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "names no CPUs"));
	assert_int_equal(interrupts_parse("  CPU0\n 12 13 14\n", &l, &cap, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(interrupts_parse("  CPU0\n 1x: 5 eth0\n", &l, &cap, err, sizeof(err)), -1);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_procstat),
		cmocka_unit_test(test_task_stat),
		cmocka_unit_test(test_task_cgroup),
		cmocka_unit_test(test_interrupts),
	};
	return VS_RUN_TESTS(tests);
}
