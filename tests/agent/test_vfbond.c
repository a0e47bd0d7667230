/* test_vfbond.c - vspace-agent's VF bond (src/agent/vfbond.c) on a fixture guest with a fake network kernel: built when a NIC with the standby's MAC appears, addresses and routes moved, released when it goes and on exit; what is not a VF is left alone; a missing bonding driver is reported once. Then the real rtnetlink half (src/agent/netcfg.c) in a private network namespace. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"

#define FIXTURE "tests/fixtures/agent/guest4"

static char dir[64];

/* The fake network kernel: one IPv4 address and a default route per NIC
 * that has them, and a log of every call. */
struct fake_net {
	char log[2048];
	char has_cfg[32]; /* the NIC holding the address and route now */
};

static void flog(struct fake_net *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void flog(struct fake_net *f, const char *fmt, ...)
{
	size_t n = strlen(f->log);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->log + n, sizeof(f->log) - n, fmt, ap);
	va_end(ap);
}

static int f_link_up(void *arg, const char *ifname, bool up)
{
	flog(arg, "%s %s; ", up ? "up" : "down", ifname);
	return 0;
}

static int f_addrs(void *arg, const char *ifname, struct agent_ipaddr *out, int max)
{
	struct fake_net *f = arg;
	if (strcmp(ifname, f->has_cfg) != 0 || max < 1)
		return 0;
	out[0] = (struct agent_ipaddr){ .family = AF_INET, .prefixlen = 24 };
	inet_pton(AF_INET, "198.18.9.2", out[0].addr);
	return 1;
}

static int f_addr(void *arg, const char *ifname, const struct agent_ipaddr *a, bool add)
{
	struct fake_net *f = arg;
	char text[64];
	inet_ntop(a->family, a->addr, text, sizeof(text));
	flog(f, "%s %s %s; ", add ? "add" : "del", ifname, text);
	if (add)
		snprintf(f->has_cfg, sizeof(f->has_cfg), "%s", ifname);
	return 0;
}

static int f_routes(void *arg, const char *ifname, struct agent_route *out, int max)
{
	struct fake_net *f = arg;
	if (strcmp(ifname, f->has_cfg) != 0 || max < 1)
		return 0;
	out[0] = (struct agent_route){ .family = AF_INET, .has_gw = true, .protocol = 3 };
	inet_pton(AF_INET, "198.18.9.1", out[0].gw);
	return 1;
}

static int f_route_add(void *arg, const char *ifname, const struct agent_route *r)
{
	char text[64];
	inet_ntop(r->family, r->gw, text, sizeof(text));
	flog(arg, "route %s via %s; ", ifname, text);
	return 0;
}

static int f_none(void *arg, const char *ifname, struct agent_channels *ch)
{
	errno = EOPNOTSUPP;
	return -1;
}

static int f_nostats(void *arg, const char *ifname, struct agent_qstats *qs)
{
	errno = EOPNOTSUPP;
	return -1;
}

static const struct agent_sys_ops fake_ops = {
	.get_channels = f_none,
	.queue_stats = f_nostats,
	.link_up = f_link_up,
	.addrs = f_addrs,
	.addr = f_addr,
	.routes = f_routes,
	.route_add = f_route_add,
};

static int sh(const char *cmd)
{
	int rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* A NIC in the fixture: its device (NULL: virtual), MAC, state files. */
static void add_nic(const char *name, const char *dev, const char *mac)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "d=%s/sys/class/net/%s && mkdir -p $d/statistics && echo 7 > $d/ifindex && "
		 "echo %s > $d/address && echo up > $d/operstate && echo 1 > "
		 "$d/statistics/rx_packets && echo 2 > $d/statistics/tx_packets%s%s%s",
		 dir, name, mac, dev ? " && mkdir -p " : "", dev ? dir : "", "");
	assert_int_equal(sh(cmd), 0);
	if (dev) {
		snprintf(cmd, sizeof(cmd),
			 "mkdir -p %s/sys/devices/%s && ln -sfn ../../../devices/%s "
			 "%s/sys/class/net/%s/device",
			 dir, dev, dev, dir, name);
		assert_int_equal(sh(cmd), 0);
	}
}

static char *slurp(const char *rel)
{
	static char buf[256];
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "r");
	if (!f)
		return strcpy(buf, "(none)");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return buf;
}

static int setup(void **state)
{
	char cmd[256];

	snprintf(dir, sizeof(dir), "/tmp/vsw-vfbond-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof(cmd), "cp -a %s/. %s/", FIXTURE, dir);
	if (sh(cmd) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return sh(cmd) == 0 ? 0 : -1;
}

static void agent_up(struct agent *a, struct fake_net *f)
{
	struct agent_opts o = { .sysroot = dir, .ops = &fake_ops, .ops_arg = f, .vf_bond = "eth0" };
	char err[256];

	assert_int_equal(agent_init(a, &o, err, sizeof(err)), 0);
}

static void test_build_release(void **state)
{
	struct fake_net f = { .has_cfg = "eth0" };
	struct agent a;
	char cmd[512];

	add_nic("eth0", "pci0000:00/0000:00:02.0/virtio0", "52:54:00:56:00:02");
	/* the bonding driver's files, as the kernel shows them once vsbond0 exists */
	snprintf(cmd, sizeof(cmd),
		 "cd %s/sys/class/net && : > bonding_masters && mkdir -p vsbond0/bonding && "
		 "for f in mode miimon slaves primary; do : > vsbond0/bonding/$f; done && "
		 "echo eth1 > vsbond0/bonding/active_slave",
		 dir);
	assert_int_equal(sh(cmd), 0);
	agent_up(&a, &f);
	/* nothing to bond yet; a NIC with another MAC, a virtual one with the MAC: no */
	assert_int_equal(agent_vfbond_poll(&a), 0);
	add_nic("eth3", "pci0000:00/0000:00:05.0", "52:54:00:56:00:99");
	add_nic("veth0", NULL, "52:54:00:56:00:02");
	assert_int_equal(agent_vfbond_poll(&a), 0);
	assert_string_equal(slurp("sys/class/net/bonding_masters"), "");
	assert_string_equal(f.log, "");

	/* the VF appears */
	add_nic("eth1", "pci0000:00/0000:00:04.0", "52:54:00:56:00:02");
	assert_int_equal(agent_vfbond_poll(&a), 1);
	assert_string_equal(slurp("sys/class/net/bonding_masters"), "+vsbond0");
	assert_string_equal(slurp("sys/class/net/vsbond0/bonding/mode"), "active-backup");
	assert_string_equal(slurp("sys/class/net/vsbond0/bonding/miimon"), "100");
	assert_string_equal(slurp("sys/class/net/vsbond0/bonding/slaves"), "+eth1");
	assert_string_equal(slurp("sys/class/net/vsbond0/bonding/primary"), "eth1");
	assert_string_equal(f.log, "down eth0; up vsbond0; del eth0 198.18.9.2; add vsbond0 "
				   "198.18.9.2; route vsbond0 via 198.18.9.1; down eth1; ");
	assert_true(a.vfb.built);
	assert_int_equal(agent_vfbond_poll(&a), 0); /* nothing new */

	/* stats say so */
	char reply[PROTO_MAX_MSG + 1];
	const char *req = "{\"v\":1,\"id\":1,\"cmd\":\"stats\"}";
	agent_handle_line(&a, req, strlen(req), reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"vf_bond\":{\"standby\":\"eth0\",\"built\":true,"
				      "\"builds\":1,\"releases\":0,\"bond\":\"vsbond0\",\"vf\":"
				      "\"eth1\",\"active\":\"eth1\"}"));

	/* the VF goes: released, eth0 gets its address and route back */
	f.log[0] = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf %s/sys/class/net/eth1", dir);
	assert_int_equal(sh(cmd), 0);
	assert_int_equal(agent_vfbond_poll(&a), 1);
	assert_string_equal(slurp("sys/class/net/vsbond0/bonding/slaves"), "-eth0");
	assert_string_equal(slurp("sys/class/net/bonding_masters"), "-vsbond0");
	assert_string_equal(f.log, "down vsbond0; up eth0; add eth0 198.18.9.2; route eth0 via "
				   "198.18.9.1; ");
	assert_false(a.vfb.built);
	assert_int_equal(a.vfb.releases, 1);

	/* again, then the agent exits: restore releases it */
	add_nic("eth1", "pci0000:00/0000:00:04.0", "52:54:00:56:00:02");
	assert_int_equal(agent_vfbond_poll(&a), 1);
	assert_int_equal(agent_restore(&a), 0);
	assert_false(a.vfb.built);
	assert_string_equal(slurp("sys/class/net/bonding_masters"), "-vsbond0");
	assert_string_equal(f.has_cfg, "eth0");
	agent_fini(&a);
}

static void test_not_ours(void **state)
{
	struct fake_net f = { .has_cfg = "eth0" };
	struct agent a;
	char cmd[256];

	add_nic("eth0", "pci0000:00/0000:00:02.0/virtio0", "52:54:00:56:00:02");
	add_nic("eth1", "pci0000:00/0000:00:04.0", "52:54:00:56:00:02");
	/* no bonding driver (no bonding_masters): reported once, not retried for this VF */
	agent_up(&a, &f);
	assert_int_equal(agent_vfbond_poll(&a), -1);
	assert_non_null(strstr(a.vfb.last_error, "is the bonding driver loaded?"));
	assert_false(a.vfb.built);
	assert_int_equal(agent_vfbond_poll(&a), 0);
	assert_string_equal(f.log, "");
	agent_fini(&a);

	/* a failover standby (it has a master): net_failover does the job */
	snprintf(cmd, sizeof(cmd),
		 "cd %s/sys/class/net && : > bonding_masters && mkdir -p eth9 && ln -s ../eth9 "
		 "eth0/master",
		 dir);
	assert_int_equal(sh(cmd), 0);
	agent_up(&a, &f);
	assert_int_equal(agent_vfbond_poll(&a), 0);
	assert_string_equal(slurp("sys/class/net/bonding_masters"), "");
	agent_fini(&a);

	/* bad option values */
	struct agent_opts o = { .sysroot = dir, .ops = &fake_ops, .vf_bond = "a/b" };
	char err[256];
	assert_int_equal(agent_init(&a, &o, err, sizeof(err)), -2);
	assert_non_null(strstr(err, "--vf-bond a/b: not an interface name"));
	struct agent_sys_ops none = { 0 };
	o.vf_bond = "eth0";
	o.ops = &none;
	assert_int_equal(agent_init(&a, &o, err, sizeof(err)), -2);
	assert_non_null(strstr(err, "no network operations"));
}

/* The real rtnetlink half in a private network namespace (a child process):
 * a veth end's address and default route move to the other end and back. */
static void test_netcfg_live(void **state)
{
	if (geteuid() != 0) {
		skip();
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct agent_ipaddr ad[4];
		struct agent_route rt[8];
		int n;
		if (unshare(CLONE_NEWNET) < 0)
			_exit(90);
		if (system("ip link add vswa type veth peer name vswb && ip link set lo up && "
			   "ip link set vswa up && ip link set vswb up && "
			   "ip addr add 10.77.0.2/24 dev vswa && ip route add default via "
			   "10.77.0.1 "
			   "dev vswa") != 0)
			_exit(91);
		n = netcfg_addrs(NULL, "vswa", ad, 4);
		if (n != 1 || ad[0].prefixlen != 24)
			_exit(92);
		n = netcfg_routes(NULL, "vswa", rt, 8);
		if (n != 1 || !rt[0].has_gw || rt[0].dst_len != 0) /* the default; not the prefix */
			_exit(93);
		if (netcfg_addr(NULL, "vswa", &ad[0], false) < 0 ||
		    netcfg_addr(NULL, "vswb", &ad[0], true) < 0 ||
		    netcfg_route_add(NULL, "vswb", &rt[0]) < 0)
			_exit(94);
		if (system("ip -4 addr show dev vswb | grep -q 'inet 10.77.0.2/24' && "
			   "ip route show default | grep -q 'via 10.77.0.1 dev vswb' && "
			   "! ip -4 addr show dev vswa | grep -q inet") != 0)
			_exit(95);
		if (netcfg_link_up(NULL, "vswb", false) < 0 ||
		    system("ip link show vswb | grep -q 'state DOWN'") != 0)
			_exit(96);
		if (netcfg_addrs(NULL, "nonexistent0", ad, 4) != -ENODEV)
			_exit(97);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("# child exited with %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_ours, setup, teardown),
		cmocka_unit_test(test_netcfg_live),
	};
	return VS_RUN_TESTS(tests);
}
