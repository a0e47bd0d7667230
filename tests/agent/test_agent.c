/* test_agent.c - vspace-agent commands against a fixture guest (tests/fixtures/agent/guest4) with fake ethtool/affinity. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"

#define FIXTURE "tests/fixtures/agent/guest4"

/* The fake kernel: channels of eth0 and task affinities. */
struct fake_sys {
	struct agent_channels eth0;
	int set_calls;
	int fail_set; /* errno for set_channels, 0 = succeed */
	struct vs_cpuset aff[2];
	int aff_sets;
	struct agent_coalesce coal; /* eth0's interrupt coalescing */
	int coal_sets;
	int coal_errno; /* errno of get/set_coalesce (EOPNOTSUPP: no coalescing), 0 = works */
};

static int fake_get_channels(void *arg, const char *ifname, struct agent_channels *ch)
{
	struct fake_sys *f = arg;

	if (strcmp(ifname, "eth0") != 0) {
		errno = EOPNOTSUPP;
		return -1;
	}
	*ch = f->eth0;
	return 0;
}

static int fake_set_channels(void *arg, const char *ifname, const struct agent_channels *ch)
{
	struct fake_sys *f = arg;

	f->set_calls++;
	if (strcmp(ifname, "eth0") != 0 || f->fail_set) {
		errno = f->fail_set ? f->fail_set : ENODEV;
		return -1;
	}
	if (ch->combined < 1 || ch->combined > f->eth0.max_combined || ch->rx || ch->tx) {
		errno = EINVAL;
		return -1;
	}
	f->eth0.combined = ch->combined;
	return 0;
}

static int fake_queue_stats(void *arg, const char *ifname, struct agent_qstats *qs)
{
	(void)arg;
	memset(qs, 0, sizeof(*qs));
	if (strcmp(ifname, "eth0") != 0) {
		errno = EOPNOTSUPP;
		return -1;
	}
	qs->n_rx = qs->n_tx = 4;
	for (int q = 0; q < 4; q++) {
		qs->rx_packets[q] = 100u * (q + 1);
		qs->rx_bytes[q] = 6400u * (q + 1);
		qs->tx_packets[q] = 10u * (q + 1);
		qs->tx_bytes[q] = 640u * (q + 1);
	}
	return 0;
}

static int fake_slot(pid_t tid)
{
	return tid == 4242 ? 0 : tid == 4250 ? 1 : -1;
}

static int fake_get_affinity(void *arg, pid_t tid, struct vs_cpuset *cpus)
{
	struct fake_sys *f = arg;
	int s = fake_slot(tid);

	if (s < 0) {
		errno = ESRCH;
		return -1;
	}
	*cpus = f->aff[s];
	return 0;
}

static int fake_set_affinity(void *arg, pid_t tid, const struct vs_cpuset *cpus)
{
	struct fake_sys *f = arg;
	int s = fake_slot(tid);

	if (s < 0) {
		errno = ESRCH;
		return -1;
	}
	f->aff[s] = *cpus;
	f->aff_sets++;
	return 0;
}

static int fake_get_coalesce(void *arg, const char *ifname, struct agent_coalesce *co)
{
	struct fake_sys *f = arg;

	if (strcmp(ifname, "eth0") != 0 || f->coal_errno) {
		errno = f->coal_errno ? f->coal_errno : ENODEV;
		return -1;
	}
	*co = f->coal;
	return 0;
}

/* As e1000e: rx-usecs 0-4 (off and the dynamic modes) or 10-10000. */
static int fake_set_coalesce(void *arg, const char *ifname, const struct agent_coalesce *co)
{
	struct fake_sys *f = arg;

	f->coal_sets++;
	if (strcmp(ifname, "eth0") != 0 || f->coal_errno) {
		errno = f->coal_errno ? f->coal_errno : ENODEV;
		return -1;
	}
	if (co->rx_usecs > 10000 || (co->rx_usecs > 4 && co->rx_usecs < 10)) {
		errno = EINVAL;
		return -1;
	}
	f->coal = *co;
	return 0;
}

static const struct agent_sys_ops fake_ops = {
	.get_coalesce = fake_get_coalesce,
	.set_coalesce = fake_set_coalesce,
	.get_channels = fake_get_channels,
	.set_channels = fake_set_channels,
	.queue_stats = fake_queue_stats,
	.get_affinity = fake_get_affinity,
	.set_affinity = fake_set_affinity,
};

struct fx {
	char dir[64];
	char root[96];
	struct fake_sys sys;
	struct agent a;
	char reply[PROTO_MAX_MSG + 1];
};

static struct fx *fx_new(bool cgroup, bool pids, bool dry_run)
{
	struct fx *f = calloc(1, sizeof(*f));
	char cmd[256], err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vsa-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	snprintf(cmd, sizeof(cmd), "cp -a %s %s", FIXTURE, f->root);
	assert_int_equal(system(cmd), 0);
	f->sys.eth0 = (struct agent_channels){ .combined = 4, .max_combined = 4 };
	/* e1000e's defaults: rx-usecs 3 (dynamic conservative), tx-usecs 0 */
	f->sys.coal = (struct agent_coalesce){ .rx_usecs = 3, .adaptive_rx = 0 };
	for (int i = 0; i < 2; i++)
		for (int c = 0; c < 4; c++)
			cpuset_set(&f->sys.aff[i], c);
	struct agent_opts o = { .sysroot = f->root,
				.dry_run = dry_run,
				.cgroup = cgroup ? "/sys/fs/cgroup/app" : NULL,
				.ops = &fake_ops,
				.ops_arg = &f->sys };
	if (pids) {
		o.pids[0] = 4242;
		o.n_pids = 1;
	}
	if (agent_init(&f->a, &o, err, sizeof(err)) != 0)
		fail_msg("agent_init: %s", err);
	return f;
}

static void fx_free(struct fx *f)
{
	char cmd[128];

	agent_fini(&f->a);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

/* Send one request line; return the decoded reply (caller clears). */
static struct proto_reply fx_send(struct fx *f, const char *line)
{
	struct proto_reply rep;
	char err[256];
	int n = agent_handle_line(&f->a, line, strlen(line), f->reply, sizeof(f->reply));

	assert_true(n > 0 && n <= PROTO_MAX_MSG);
	assert_int_equal(f->reply[n - 1], '\n');
	if (proto_decode_reply(f->reply, (size_t)n - 1, &rep, err, sizeof(err)) != 0)
		fail_msg("reply does not decode (%s): %s", err, f->reply);
	return rep;
}

static json_t *fx_ok(struct fx *f, const char *line)
{
	struct proto_reply rep = fx_send(f, line);

	if (!rep.ok)
		fail_msg("%s -> error %s", line, rep.error);
	return rep.result;
}

static void fx_read(struct fx *f, const char *rel, char *buf, size_t len)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	fp = fopen(path, "r");
	assert_non_null(fp);
	size_t n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	fclose(fp);
}

static void assert_file(struct fx *f, const char *rel, const char *want)
{
	char buf[256];

	fx_read(f, rel, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("/%s is \"%s\", expected \"%s\"", rel, buf, want);
}

/* The whole tree equals the fixture again. */
static void assert_pristine(struct fx *f)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "diff -r --no-dereference %s %s >/dev/null", FIXTURE, f->root);
	assert_int_equal(system(cmd), 0);
}

static void test_hello(void **state)
{
	struct fx *f = fx_new(true, false, false);
	json_t *r = fx_ok(f, "{\"v\":1,\"id\":1,\"cmd\":\"hello\",\"args\":{\"version\":1}}");

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(r, "proto")), PROTO_VERSION);
	assert_int_equal(json_integer_value(json_object_get(r, "vcpus")), 4);
	assert_string_equal(json_string_value(json_object_get(r, "online")), "0-3");
	assert_string_equal(json_string_value(json_object_get(r, "confine")), "cgroup");
	json_t *nics = json_object_get(r, "nics");
	assert_int_equal(json_array_size(nics), 1); /* lo is not listed */
	json_t *eth0 = json_array_get(nics, 0);
	assert_string_equal(json_string_value(json_object_get(eth0, "name")), "eth0");
	assert_int_equal(json_integer_value(json_object_get(eth0, "queues")), 4);
	assert_int_equal(json_integer_value(json_object_get(eth0, "max_queues")), 4);
	json_decref(r);
	fx_free(f);
}

/* set_vnq 2 with 4 active vCPUs: queue q's IRQs to vCPU q, XPS of queue q =
 * vCPUs j with j % 2 == q; then set_vcpus 2 narrows XPS; exit restores all. */
static void test_set_vnq_then_vcpus_and_restore(void **state)
{
	struct fx *f = fx_new(true, false, false);
	json_t *r;

	(void)state;
	r = fx_ok(f,
		  "{\"v\":1,\"id\":2,\"cmd\":\"set_vnq\",\"args\":{\"ifname\":\"eth0\",\"n\":2}}");
	assert_int_equal(json_integer_value(json_object_get(r, "queues")), 2);
	assert_int_equal(json_integer_value(json_object_get(r, "previous")), 4);
	/* input.0, output.0, input.1, output.1 */
	assert_int_equal(json_integer_value(json_object_get(r, "irqs")), 4);
	assert_int_equal(json_array_size(json_object_get(r, "warnings")), 0);
	json_decref(r);
	assert_int_equal(f->sys.eth0.combined, 2);
	assert_file(f, "sys/class/net/eth0/queues/tx-0/xps_cpus", "00000005"); /* 0,2 */
	assert_file(f, "sys/class/net/eth0/queues/tx-1/xps_cpus", "0000000a"); /* 1,3 */
	assert_file(f, "sys/class/net/eth0/queues/tx-2/xps_cpus", "4");	       /* unused */
	assert_file(f, "proc/irq/27/smp_affinity_list", "0");		       /* input.0 */
	assert_file(f, "proc/irq/30/smp_affinity_list", "1");		       /* output.1 */
	assert_file(f, "proc/irq/31/smp_affinity_list", "2");		       /* input.2 unused */

	r = fx_ok(f, "{\"v\":1,\"id\":3,\"cmd\":\"set_vcpus\",\"args\":{\"n\":1}}");
	assert_string_equal(json_string_value(json_object_get(r, "active")), "0");
	json_decref(r);
	assert_file(f, "sys/fs/cgroup/app/cpuset.cpus", "0");
	/* both queues now on vCPU 0 */
	assert_file(f, "sys/class/net/eth0/queues/tx-0/xps_cpus", "00000001");
	assert_file(f, "sys/class/net/eth0/queues/tx-1/xps_cpus", "00000001");
	assert_file(f, "proc/irq/29/smp_affinity_list", "0");

	/* idempotent: the same command again writes nothing new */
	r = fx_ok(f,
		  "{\"v\":1,\"id\":4,\"cmd\":\"set_vnq\",\"args\":{\"ifname\":\"eth0\",\"n\":2}}");
	json_decref(r);
	assert_int_equal(f->sys.set_calls, 1);

	assert_int_equal(agent_restore(&f->a), 0);
	assert_int_equal(f->sys.eth0.combined, 4);
	assert_pristine(f);
	fx_free(f);
}

/* The host leaves (vspaced on_exit=restore): "restore" over the wire puts
 * the guest back, and the agent keeps serving from the original state. */
static void test_restore_command(void **state)
{
	struct fx *f = fx_new(true, false, false);
	json_t *r;

	(void)state;
	json_decref(fx_ok(
		f,
		"{\"v\":1,\"id\":1,\"cmd\":\"set_vnq\",\"args\":{\"ifname\":\"eth0\",\"n\":1}}"));
	json_decref(fx_ok(f, "{\"v\":1,\"id\":2,\"cmd\":\"set_vcpus\",\"args\":{\"n\":2}}"));
	assert_file(f, "sys/fs/cgroup/app/cpuset.cpus", "0-1");
	r = fx_ok(f, "{\"v\":1,\"id\":3,\"cmd\":\"restore\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "nics")), 1);
	assert_true(json_integer_value(json_object_get(r, "values")) > 0);
	json_decref(r);
	assert_int_equal(f->sys.eth0.combined, 4);
	assert_pristine(f);
	r = fx_ok(f, "{\"v\":1,\"id\":4,\"cmd\":\"hello\"}");
	assert_string_equal(json_string_value(json_object_get(r, "active")), "0-3");
	json_decref(r);
	/* nothing left to put back */
	r = fx_ok(f, "{\"v\":1,\"id\":5,\"cmd\":\"restore\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "values")), 0);
	json_decref(r);
	fx_free(f);
}

static void test_set_vcpus_hotplug(void **state)
{
	struct fx *f = fx_new(false, false, false);
	json_t *r;

	(void)state;
	r = fx_ok(f, "{\"v\":1,\"id\":1,\"cmd\":\"set_vcpus\",\"args\":{\"n\":2,\"method\":"
		     "\"hotplug\"}}");
	assert_string_equal(json_string_value(json_object_get(r, "method")), "hotplug");
	json_decref(r);
	assert_file(f, "sys/devices/system/cpu/cpu1/online", "1");
	assert_file(f, "sys/devices/system/cpu/cpu2/online", "0");
	assert_file(f, "sys/devices/system/cpu/cpu3/online", "0");
	assert_int_equal(agent_restore(&f->a), 0);
	assert_pristine(f);
	fx_free(f);
}

static void test_set_vcpus_pids(void **state)
{
	struct fx *f = fx_new(false, true, false);
	json_t *r;

	(void)state;
	r = fx_ok(f, "{\"v\":1,\"id\":1,\"cmd\":\"set_vcpus\",\"args\":{\"n\":3}}");
	assert_string_equal(json_string_value(json_object_get(r, "confine")), "pids");
	json_decref(r);
	/* both threads of pid 4242 (proc/4242/task) */
	assert_int_equal(cpuset_count(&f->sys.aff[0]), 3);
	assert_int_equal(cpuset_count(&f->sys.aff[1]), 3);
	assert_false(cpuset_test(&f->sys.aff[1], 3));
	assert_int_equal(agent_restore(&f->a), 0);
	assert_int_equal(cpuset_count(&f->sys.aff[0]), 4);
	assert_int_equal(cpuset_count(&f->sys.aff[1]), 4);
	fx_free(f);
}

static void test_stats(void **state)
{
	struct fx *f = fx_new(true, false, false);
	json_t *r;

	(void)state;
	r = fx_ok(f, "{\"v\":1,\"id\":1,\"cmd\":\"stats\"}");
	/* cpu0: user 1200 + system 800 + softirq 100 = 2100 ticks at USER_HZ 100 */
	json_t *busy = json_object_get(r, "busy_ms");
	assert_int_equal(json_array_size(busy), 4);
	assert_int_equal(json_integer_value(json_array_get(busy, 0)), 21000);
	/* total = busy + idle 90000 + iowait 40 */
	assert_int_equal(json_integer_value(json_array_get(json_object_get(r, "total_ms"), 0)),
			 921400);
	json_t *eth0 = json_array_get(json_object_get(r, "nics"), 0);
	json_t *rxp = json_object_get(eth0, "rx_packets");
	assert_int_equal(json_array_size(rxp), 4);
	assert_int_equal(json_integer_value(json_array_get(rxp, 3)), 400);
	json_decref(r);

	/* after set_vnq 1 only queue 0 is reported */
	json_decref(fx_ok(f, "{\"v\":1,\"id\":2,\"cmd\":\"set_vnq\",\"args\":{\"ifname\":\"eth0\","
			     "\"n\":1}}"));
	r = fx_ok(f, "{\"v\":1,\"id\":3,\"cmd\":\"stats\",\"args\":{\"ifname\":\"eth0\"}}");
	eth0 = json_array_get(json_object_get(r, "nics"), 0);
	assert_int_equal(json_integer_value(json_object_get(eth0, "queues")), 1);
	assert_int_equal(json_array_size(json_object_get(eth0, "tx_bytes")), 1);
	json_decref(r);
	agent_restore(&f->a);
	fx_free(f);
}

/* A malformed /proc/stat is an error reply, not a crash or a wrong number. */
static void test_stats_bad_proc(void **state)
{
	struct fx *f = fx_new(true, false, false);
	char path[160];
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/proc/stat", f->root);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("cpu  1 2 3 4\ncpu0 1 2 x 4 5 6 7 8\n", fp);
	fclose(fp);
	struct proto_reply rep = fx_send(f, "{\"v\":1,\"id\":1,\"cmd\":\"stats\"}");
	assert_false(rep.ok);
	assert_non_null(strstr(rep.error, "/proc/stat line 2: malformed"));
	proto_reply_clear(&rep);
	fx_free(f);
}

static void test_dry_run_writes_nothing(void **state)
{
	struct fx *f = fx_new(true, false, true);

	(void)state;
	json_decref(fx_ok(f, "{\"v\":1,\"id\":1,\"cmd\":\"set_vnq\",\"args\":{\"ifname\":\"eth0\","
			     "\"n\":1}}"));
	json_decref(fx_ok(f, "{\"v\":1,\"id\":2,\"cmd\":\"set_vcpus\",\"args\":{\"n\":1,"
			     "\"method\":\"hotplug\"}}"));
	assert_int_equal(f->sys.set_calls, 0);
	assert_pristine(f);
	agent_restore(&f->a);
	assert_pristine(f);
	fx_free(f);
}

/* A failing ETHTOOL_SCHANNELS is an error reply and changes nothing. */
static void test_set_vnq_failure_changes_nothing(void **state)
{
	struct fx *f = fx_new(true, false, false);

	(void)state;
	f->sys.fail_set = EBUSY;
	struct proto_reply rep = fx_send(
		f, "{\"v\":1,\"id\":1,\"cmd\":\"set_vnq\",\"args\":{\"ifname\":\"eth0\",\"n\":2}}");
	assert_false(rep.ok);
	assert_non_null(strstr(rep.error, "cannot set 2 channels"));
	proto_reply_clear(&rep);
	assert_pristine(f);
	assert_int_equal(agent_restore(&f->a), 0);
	fx_free(f);
}

static void test_cpuset_needs_target(void **state)
{
	struct fx *f = fx_new(false, false, false);

	(void)state;
	struct proto_reply rep =
		fx_send(f, "{\"v\":1,\"id\":1,\"cmd\":\"set_vcpus\",\"args\":{\"n\":2}}");
	assert_false(rep.ok);
	assert_non_null(strstr(rep.error, "needs an application to confine"));
	proto_reply_clear(&rep);
	fx_free(f);
}

/* get_coalesce reads, set_coalesce writes rx-usecs with adaptive-rx off (once:
 * the same value again writes nothing), restore puts the original back. */
static void test_coalesce_set_and_restore(void **state)
{
	struct fx *f = fx_new(true, false, false);
	json_t *r;

	(void)state;
	f->sys.coal.adaptive_rx = 1;
	r = fx_ok(f, "{\"v\":1,\"id\":1,\"cmd\":\"get_coalesce\",\"args\":{\"ifname\":\"eth0\"}}");
	assert_int_equal(json_integer_value(json_object_get(r, "rx_usecs")), 3);
	assert_true(json_is_true(json_object_get(r, "adaptive_rx")));
	assert_true(json_is_false(json_object_get(r, "managed")));
	json_decref(r);

	r = fx_ok(f, "{\"v\":1,\"id\":2,\"cmd\":\"set_coalesce\",\"args\":{\"ifname\":\"eth0\","
		     "\"rx_usecs\":250}}");
	assert_int_equal(json_integer_value(json_object_get(r, "rx_usecs")), 250);
	assert_int_equal(json_integer_value(json_object_get(r, "previous")), 3);
	assert_true(json_is_true(json_object_get(r, "changed")));
	json_decref(r);
	assert_int_equal(f->sys.coal.rx_usecs, 250);
	assert_int_equal(f->sys.coal.adaptive_rx, 0);
	assert_int_equal(f->sys.coal_sets, 1);

	/* idempotent */
	r = fx_ok(f, "{\"v\":1,\"id\":3,\"cmd\":\"set_coalesce\",\"args\":{\"ifname\":\"eth0\","
		     "\"rx_usecs\":250}}");
	assert_true(json_is_false(json_object_get(r, "changed")));
	json_decref(r);
	assert_int_equal(f->sys.coal_sets, 1);
	r = fx_ok(f, "{\"v\":1,\"id\":4,\"cmd\":\"set_coalesce\",\"args\":{\"ifname\":\"eth0\","
		     "\"rx_usecs\":500}}");
	json_decref(r);
	assert_int_equal(f->sys.coal.rx_usecs, 500);
	r = fx_ok(f, "{\"v\":1,\"id\":5,\"cmd\":\"get_coalesce\",\"args\":{\"ifname\":\"eth0\"}}");
	assert_true(json_is_true(json_object_get(r, "managed")));
	json_decref(r);

	/* a value the driver refuses: an error naming it; the setting stays */
	struct proto_reply rep = fx_send(f, "{\"v\":1,\"id\":6,\"cmd\":\"set_coalesce\",\"args\":{"
					    "\"ifname\":\"eth0\",\"rx_usecs\":7}}");
	assert_false(rep.ok);
	assert_non_null(strstr(rep.error, "cannot set rx-usecs 7"));
	assert_non_null(strstr(rep.error, "Invalid argument"));
	proto_reply_clear(&rep);
	assert_int_equal(f->sys.coal.rx_usecs, 500);

	/* the host leaves: the original (rx-usecs 3, adaptive-rx on) is back */
	r = fx_ok(f, "{\"v\":1,\"id\":7,\"cmd\":\"restore\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "coalesce")), 1);
	json_decref(r);
	assert_int_equal(f->sys.coal.rx_usecs, 3);
	assert_int_equal(f->sys.coal.adaptive_rx, 1);
	/* nothing left to restore: no further write */
	int sets = f->sys.coal_sets;
	assert_int_equal(agent_restore(&f->a), 0);
	assert_int_equal(f->sys.coal_sets, sets);
	assert_pristine(f);
	fx_free(f);
}

/* A driver without coalescing (veth, virtio-net before 6.x): one clear
 * "not supported" error, nothing recorded, nothing written. */
static void test_coalesce_unsupported(void **state)
{
	struct fx *f = fx_new(true, false, false);
	struct proto_reply rep;

	(void)state;
	f->sys.coal_errno = EOPNOTSUPP;
	rep = fx_send(f, "{\"v\":1,\"id\":1,\"cmd\":\"set_coalesce\",\"args\":{\"ifname\":\"eth0\","
			 "\"rx_usecs\":125}}");
	assert_false(rep.ok);
	assert_non_null(strstr(rep.error, "set_coalesce: eth0: interrupt coalescing is not "
					  "supported by its driver"));
	proto_reply_clear(&rep);
	rep = fx_send(f,
		      "{\"v\":1,\"id\":2,\"cmd\":\"get_coalesce\",\"args\":{\"ifname\":\"eth0\"}}");
	assert_false(rep.ok);
	assert_non_null(strstr(rep.error, "get_coalesce: eth0: interrupt coalescing is not"));
	proto_reply_clear(&rep);
	assert_int_equal(f->sys.coal_sets, 0);
	assert_int_equal(f->a.n_saved_coal, 0);
	fx_free(f);
}

/* set_coalesce under --dry-run: answers, writes nothing. */
static void test_coalesce_dry_run(void **state)
{
	struct fx *f = fx_new(true, false, true);
	json_t *r;

	(void)state;
	r = fx_ok(f, "{\"v\":1,\"id\":1,\"cmd\":\"set_coalesce\",\"args\":{\"ifname\":\"eth0\","
		     "\"rx_usecs\":125}}");
	assert_true(json_is_true(json_object_get(r, "dry_run")));
	json_decref(r);
	assert_int_equal(f->sys.coal_sets, 0);
	assert_int_equal(f->sys.coal.rx_usecs, 3);
	agent_restore(&f->a);
	assert_int_equal(f->sys.coal_sets, 0);
	fx_free(f);
}

/* set_rps 2: every rx queue's RPS mask = vCPUs 0-1, RFS flow tables
 * (32768 entries, 32768/4 per queue); set_vcpus 1 narrows them to vCPU 0;
 * set_rps 1 turns RPS off; restore brings back the fixture's values. */
static void test_set_rps(void **state)
{
	struct fx *f = fx_new(true, false, false);
	json_t *r;

	(void)state;
	r = fx_ok(f,
		  "{\"v\":1,\"id\":1,\"cmd\":\"set_rps\",\"args\":{\"ifname\":\"eth0\",\"n\":2}}");
	assert_string_equal(json_string_value(json_object_get(r, "cpus")), "0-1");
	assert_int_equal(json_integer_value(json_object_get(r, "rx_queues")), 4);
	assert_int_equal(json_array_size(json_object_get(r, "warnings")), 0);
	json_decref(r);
	for (int q = 0; q < 4; q++) {
		char path[96];
		snprintf(path, sizeof(path), "sys/class/net/eth0/queues/rx-%d/rps_cpus", q);
		assert_file(f, path, "00000003");
		snprintf(path, sizeof(path), "sys/class/net/eth0/queues/rx-%d/rps_flow_cnt", q);
		assert_file(f, path, "8192");
	}
	assert_file(f, "proc/sys/net/core/rps_sock_flow_entries", "32768");

	/* the same again writes nothing new: the mask compares as a set ("3" = "00000003") */
	char path[160];
	snprintf(path, sizeof(path), "%s/sys/class/net/eth0/queues/rx-0/rps_cpus", f->root);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("3\n", fp);
	fclose(fp);
	json_decref(fx_ok(
		f,
		"{\"v\":1,\"id\":2,\"cmd\":\"set_rps\",\"args\":{\"ifname\":\"eth0\",\"n\":2}}"));
	assert_file(f, "sys/class/net/eth0/queues/rx-0/rps_cpus", "3");

	/* fewer active vCPUs: the fan-out follows */
	json_decref(fx_ok(f, "{\"v\":1,\"id\":3,\"cmd\":\"set_vcpus\",\"args\":{\"n\":1}}"));
	assert_file(f, "sys/class/net/eth0/queues/rx-2/rps_cpus", "00000001");
	json_decref(fx_ok(f, "{\"v\":1,\"id\":4,\"cmd\":\"set_vcpus\",\"args\":{\"n\":4}}"));
	assert_file(f, "sys/class/net/eth0/queues/rx-2/rps_cpus", "00000003");

	/* n=1: no fan-out */
	r = fx_ok(f,
		  "{\"v\":1,\"id\":5,\"cmd\":\"set_rps\",\"args\":{\"ifname\":\"eth0\",\"n\":1}}");
	assert_string_equal(json_string_value(json_object_get(r, "cpus")), "");
	json_decref(r);
	assert_file(f, "sys/class/net/eth0/queues/rx-1/rps_cpus", "00000000");
	assert_file(f, "sys/class/net/eth0/queues/rx-1/rps_flow_cnt", "0");

	struct proto_reply rep = fx_send(
		f, "{\"v\":1,\"id\":6,\"cmd\":\"set_rps\",\"args\":{\"ifname\":\"eth0\",\"n\":5}}");
	assert_false(rep.ok);
	assert_non_null(strstr(rep.error, "set_rps: n=5 is above the 4 vCPUs"));
	proto_reply_clear(&rep);

	assert_int_equal(agent_restore(&f->a), 0);
	assert_pristine(f);
	fx_free(f);
}

/* stats: per-vCPU interrupt + softirq time, per-NIC receive totals and the
 * interrupts of each receive queue (virtio names here; e1000e-style names
 * and a single-vector NIC below). */
static void test_stats_irq(void **state)
{
	struct fx *f = fx_new(true, false, false);
	json_t *r, *eth0, *irqs;
	char path[160];
	FILE *fp;

	(void)state;
	r = fx_ok(f, "{\"v\":1,\"id\":1,\"cmd\":\"stats\"}");
	/* cpu0: irq 0 + softirq 100 ticks = 1000 ms */
	assert_int_equal(json_integer_value(json_array_get(json_object_get(r, "softirq_ms"), 0)),
			 1000);
	eth0 = json_array_get(json_object_get(r, "nics"), 0);
	assert_int_equal(json_integer_value(json_object_get(eth0, "rx_total_packets")), 1000);
	assert_int_equal(json_integer_value(json_object_get(eth0, "rx_total_bytes")), 64000);
	irqs = json_object_get(eth0, "rx_irqs");
	/* virtio0-input.0..3: 41, 12, 30, 7 (outputs and config not counted) */
	assert_int_equal(json_array_size(irqs), 4);
	assert_int_equal(json_integer_value(json_array_get(irqs, 0)), 41);
	assert_int_equal(json_integer_value(json_array_get(irqs, 1)), 12);
	assert_int_equal(json_integer_value(json_array_get(irqs, 3)), 7);
	/* and its coalescing as ethtool -c shows it (the fake: rx-usecs 3, adaptive-rx off) */
	assert_int_equal(json_integer_value(json_object_get(eth0, "rx_usecs")), 3);
	assert_true(json_is_false(json_object_get(eth0, "adaptive_rx")));
	json_decref(r);

	/* an e1000e under MSI-X: eth0-rx-0 counts, eth0-tx-0 and "eth0" (other) do not */
	snprintf(path, sizeof(path), "%s/sys/class/net/eth0/device", f->root);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/proc/interrupts", f->root);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("           CPU0       CPU1       CPU2       CPU3       \n"
	      "  0:         47          0          0          0   IO-APIC   2-edge      timer\n"
	      " 24:       1000        200          0          5   PCI-MSI 16384-edge      "
	      "eth0-rx-0\n"
	      " 25:         30          0          0          0   PCI-MSI 16385-edge      "
	      "eth0-tx-0\n"
	      " 26:          2          0          0          0   PCI-MSI 16386-edge      eth0\n"
	      " 27:          9          0          0          0   PCI-MSI 16387-edge      "
	      "eth00-rx-0\n"
	      "LOC:       9581       8443       7712       7001   Local timer interrupts\n",
	      fp);
	fclose(fp);
	r = fx_ok(f, "{\"v\":1,\"id\":2,\"cmd\":\"stats\",\"args\":{\"ifname\":\"eth0\"}}");
	irqs = json_object_get(json_array_get(json_object_get(r, "nics"), 0), "rx_irqs");
	assert_int_equal(json_array_size(irqs), 1);
	assert_int_equal(json_integer_value(json_array_get(irqs, 0)), 1205);
	json_decref(r);

	/* MSI or INTx: one vector named after the NIC is its receive interrupt */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("           CPU0       CPU1\n"
	      " 11:       4321         79   IO-APIC  11-fasteoi   eth0\n",
	      fp);
	fclose(fp);
	r = fx_ok(f, "{\"v\":1,\"id\":3,\"cmd\":\"stats\",\"args\":{\"ifname\":\"eth0\"}}");
	irqs = json_object_get(json_array_get(json_object_get(r, "nics"), 0), "rx_irqs");
	assert_int_equal(json_array_size(irqs), 1);
	assert_int_equal(json_integer_value(json_array_get(irqs, 0)), 4400);
	json_decref(r);
	fx_free(f);
}

/* Replace every @IF@ in s by ifname. */
static void subst_if(const char *s, const char *ifname, char *out, size_t len)
{
	size_t o = 0;

	while (*s && o + 1 < len) {
		if (strncmp(s, "@IF@", 4) == 0) {
			o += (size_t)snprintf(out + o, len - o, "%s", ifname);
			s += 4;
		} else {
			out[o++] = *s++;
		}
	}
	out[o < len ? o : len - 1] = '\0';
}

/* Every bad request of tests/agent/data/bad_requests.tsv gets its error
 * reply; the agent keeps answering and nothing in the guest changed. */
static void test_bad_requests(void **state)
{
	struct fx *f = fx_new(true, false, false);
	FILE *fp = fopen("tests/agent/data/bad_requests.tsv", "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int count = 0;

	(void)state;
	assert_non_null(fp);
	while ((len = getline(&line, &cap, fp)) >= 0) {
		char want[256], req[1024];
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *tab = strchr(line, '\t');
		assert_non_null(tab);
		*tab = '\0';
		subst_if(line, "eth0", want, sizeof(want));
		subst_if(tab + 1, "eth0", req, sizeof(req));
		struct proto_reply rep = fx_send(f, req);
		if (rep.ok)
			fail_msg("accepted: %s", req);
		if (!strstr(rep.error, want))
			fail_msg("%s\n  -> \"%s\"\n  expected \"%s\"", req, rep.error, want);
		proto_reply_clear(&rep);
		count++;
	}
	free(line);
	fclose(fp);
	assert_true(count >= 30);
	/* the agent still serves, and nothing was changed */
	json_decref(fx_ok(f, "{\"v\":1,\"id\":99,\"cmd\":\"hello\"}"));
	assert_int_equal(f->sys.set_calls, 0);
	assert_pristine(f);
	assert_int_equal(f->a.errors, (uint64_t)count);
	printf("# %d bad requests answered with errors\n", count);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_set_vnq_then_vcpus_and_restore),
		cmocka_unit_test(test_restore_command),
		cmocka_unit_test(test_set_vcpus_hotplug),
		cmocka_unit_test(test_set_vcpus_pids),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_stats_bad_proc),
		cmocka_unit_test(test_dry_run_writes_nothing),
		cmocka_unit_test(test_set_vnq_failure_changes_nothing),
		cmocka_unit_test(test_cpuset_needs_target),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_coalesce_set_and_restore),
		cmocka_unit_test(test_coalesce_unsupported),
		cmocka_unit_test(test_coalesce_dry_run),
		cmocka_unit_test(test_set_rps),
		cmocka_unit_test(test_stats_irq),
	};
	return VS_RUN_TESTS(tests);
}
