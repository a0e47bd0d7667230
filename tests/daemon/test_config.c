/* test_config.c - vspaced's configuration: every key read, and every error naming file:line and key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "testutil.h"

static void test_full(void **state)
{
	const char *text =
		"; comment\n# comment\n"
		"[host]\n"
		"cores=2-19 ; inline comment\n"
		"reserved=19\n"
		"housekeeping=0-1\n"
		"nic=vsl-srv0\n"
		"nic_netns=vsl-srv\n"
		"policy=static-iso:8:4\n"
		"period_ms=10\n"
		"placement=affinity\n"
		"control_socket=/run/vsd-test/s.sock\n"
		"state_dir=/run/vsd-test/state\n"
		"metrics_listen=[::1]:19465\n"
		"metrics_textfile=/run/vsd-test/vspace.prom\n"
		"on_exit=leave\n"
		"rt_priority=0\n"
		"cgroup_parent=vsd-test/a\n"
		"coalesce_rx_usecs=25\n"
		"halt_poll_accounting=off\n"
		"log_level=debug\n"
		"[threshold]\nvcpu=0.7\nnq=0.6\nexplore=off\nwindow=50\nmargin=1.2\n"
		"[workload \"web\"]\nrole=lc\nslo_p95_us=850.5\nqemu_pidfile=/run/web.pid\n"
		"qmp=/run/web.qmp\ntap=tap0\nagent=tcp:127.0.0.1:7070\nguest_nic=ens3\n"
		"[workload \"batch\"]\nrole=be\ncgroup=/machine.slice/batch.scope\n";
	struct vsd_config c;
	char err[512], buf[64];

	assert_int_equal(config_load_string(&c, text, "t.conf", err, sizeof(err)), 0);
	cpuset_format_list(&c.managed, buf, sizeof(buf));
	assert_string_equal(buf, "2-18");
	assert_true(c.has_housekeeping);
	assert_string_equal(c.nic, "vsl-srv0");
	assert_string_equal(c.nic_netns, "vsl-srv");
	assert_string_equal(c.policy, "static-iso:8:4");
	assert_int_equal(c.period_ms, 10);
	assert_int_equal(c.placement, VS_PLACE_AFFINITY);
	assert_string_equal(c.metrics_listen, "[::1]:19465");
	assert_false(c.on_exit_restore);
	assert_int_equal(c.rt_priority, 0);
	assert_string_equal(c.cgroup_parent, "vsd-test/a");
	assert_int_equal(c.coalesce_rx_usecs, 25);
	assert_int_equal(c.halt_poll, VS_HALTPOLL_OFF);
	assert_int_equal(c.log_level, VS_LOG_DEBUG);
	assert_true(c.params.th_vcpu_init == 0.7);
	assert_false(c.params.explore);
	assert_int_equal(c.params.window, 50);
	assert_int_equal(c.n_wl, 2);
	assert_int_equal(c.n_lc, 1);
	assert_string_equal(c.wl[0].name, "web");
	assert_true(c.wl[0].slo_p95_us == 850.5);
	assert_int_equal(c.wl[0].source, VS_SRC_QEMU_PIDFILE);
	assert_string_equal(c.wl[0].qmp, "/run/web.qmp");
	assert_int_equal(c.wl[0].agent.kind, VS_AGENT_TCP);
	assert_int_equal(c.wl[0].agent.port, 7070);
	assert_string_equal(c.wl[0].guest_nic, "ens3");
	assert_false(c.wl[1].lc);
	assert_int_equal(c.wl[1].source, VS_SRC_CGROUP);
	config_free(&c);

	/* defaults */
	assert_int_equal(config_load_string(&c, "[host]\ncores=0-1\n[workload \"m\"]\npid=1\n", "d",
					    err, sizeof(err)),
			 0);
	assert_string_equal(c.policy, "vspace-e");
	assert_int_equal(c.period_ms, 100);
	assert_true(c.on_exit_restore);
	assert_int_equal(c.rt_priority, 1);
	assert_string_equal(c.control_socket, "/run/vspace/vspaced.sock");
	assert_string_equal(c.metrics_listen, "127.0.0.1:9465");
	assert_string_equal(c.cgroup_parent, "vspace");
	assert_int_equal(c.halt_poll, VS_HALTPOLL_AUTO);
	assert_int_equal(c.halt_poll_source, VS_HPSRC_AUTO);
	assert_int_equal(c.halt_poll_qmp_wait_ms, VS_HP_QMP_WAIT_MS);
	config_free(&c);

	/* the sources of the halt-polling counters, and the QMP wait */
	static const struct {
		const char *value;
		enum vs_haltpoll_mode mode;
		enum vs_hp_source src;
	} hp[] = { { "auto", VS_HALTPOLL_AUTO, VS_HPSRC_AUTO },
		   { "debugfs", VS_HALTPOLL_AUTO, VS_HPSRC_DEBUGFS },
		   { "qmp", VS_HALTPOLL_AUTO, VS_HPSRC_QMP },
		   { "off", VS_HALTPOLL_OFF, VS_HPSRC_AUTO } };
	for (size_t i = 0; i < sizeof(hp) / sizeof(hp[0]); i++) {
		char conf[256];
		struct vs_linux_config lc;
		snprintf(conf, sizeof(conf),
			 "[host]\ncores=0-1\nhalt_poll_accounting=%s\nhalt_poll_qmp_wait_ms=35\n"
			 "[workload \"m\"]\npid=1\n",
			 hp[i].value);
		assert_int_equal(config_load_string(&c, conf, "d", err, sizeof(err)), 0);
		assert_int_equal(c.halt_poll, hp[i].mode);
		assert_int_equal(c.halt_poll_source, hp[i].src);
		assert_string_equal(vs_hp_accounting_name(c.halt_poll, c.halt_poll_source),
				    hp[i].value);
		config_linux(&c, "/", true, &lc);
		assert_int_equal(lc.halt_poll, hp[i].mode);
		assert_int_equal(lc.halt_poll_source, hp[i].src);
		assert_int_equal(lc.qmp_wait_ms, 35);
		config_free(&c);
	}
}

/* Each bad configuration: the error names file:line and what is wrong. */
static void test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want; /* must appear in the message */
	} cases[] = {
		{ "[host]\ncores=0-1\nfoo=1\n", "bad.conf:3: [host] foo: unknown key" },
		{ "[host]\ncores=0-x\n", "bad.conf:2: [host] cores: \"0-x\" is not a cpu list" },
		{ "[host]\ncores=0-3\n", "bad.conf:2: missing workload" },
		{ "[host]\ncores=0-3\n[workload \"a\"]\nrole=lc\n",
		  "bad.conf:4: [workload \"a\"]: missing workload source" },
		{ "[host]\ncores=0-3\nhousekeeping=2-5\n[workload \"a\"]\npid=1\n",
		  "bad.conf:3: [host] housekeeping: overlapping core sets: cores 2-3" },
		{ "[host]\ncores=0-3\nreserved=4\n[workload \"a\"]\npid=1\n",
		  "bad.conf:3: [host] reserved: cores 4 are not in cores=" },
		{ "[host]\ncores=0-3\ncores=0-1\n",
		  "bad.conf:3: [host] cores: set twice (first at line 2)" },
		{ "[host]\nnic=eth0\n[workload \"a\"]\npid=1\n",
		  "bad.conf:2: [host] cores: missing" },
		{ "[host]\ncores=0-3\n[workload \"a\"]\npid=1\npidfile=/x\n",
		  "bad.conf:5: [workload \"a\"] pidfile: a workload has exactly one of" },
		{ "[host]\ncores=0-3\n[workload \"a\"]\npid=1\nagent=vsock:2:70\n",
		  "bad.conf:5: [workload \"a\"] agent: \"vsock:2:70\": vsock CID must be a number "
		  ">= 3" },
		{ "[host]\ncores=0-3\n[workload \"a/b\"]\npid=1\n",
		  "bad.conf:4: [workload \"a/b\"]: a workload name" },
		{ "[host]\ncores=0-3\n[workload \"a\"]\npid=1\n[workload \"b\"]\npid=2\n[workload "
		  "\"a\"]\npid=3\n",
		  "bad.conf:8: [workload \"a\"]: defined twice (first at line 4)" },
		{ "[host]\ncores=0-2\n[workload \"a\"]\npid=1\n[workload \"b\"]\npid=2\n",
		  "bad.conf:2: [host] cores: 2 LC workloads need at least 4 cores, 3 managed" },
		{ "[host]\ncores=0-3\nmode=E\npolicy=corenap\n[workload \"a\"]\npid=1\n",
		  "bad.conf:4: [host] policy: give mode= (line 3) or policy=, not both" },
		{ "[host]\ncores=0-3\npolicy=bogus\n[workload \"a\"]\npid=1\n",
		  "bad.conf:3: [host] policy: unknown policy" },
		{ "[host]\ncores=0-3\n[threshold]\nth_min=0.9\nth_max=0.5\n[workload "
		  "\"a\"]\npid=1\n",
		  "bad.conf:4: [threshold]: " },
		{ "[host]\ncores=0-3\n[workload \"a\"]\nrole=be\nslo_p95_us=5\npid=1\n",
		  "bad.conf:4: [workload \"a\"] slo_p95_us: only lc workloads have an SLO" },
		{ "[host]\ncores=0-3\nmetrics_listen=localhost\n",
		  "bad.conf:3: [host] metrics_listen: \"localhost\" is not HOST:PORT" },
		{ "[host]\ncores=0-3\nperiod_ms=5\n",
		  "bad.conf:3: [host] period_ms: \"5\" is not a whole number in [10, 60000]" },
		{ "[host]\ncores=0-3\nstate_dir=relative\n",
		  "bad.conf:3: [host] state_dir: \"relative\" is not an absolute path" },
		{ "cores=0-3\n", "bad.conf:1: cores: key outside any section" },
		{ "[host]\ncores=0-3\nhalt_poll_accounting=yes\n[workload \"a\"]\npid=1\n",
		  "bad.conf:3: [host] halt_poll_accounting: \"yes\" is not auto, debugfs, qmp or "
		  "off" },
		{ "[host]\ncores=0-3\nhalt_poll_accounting=QMP\n[workload \"a\"]\npid=1\n",
		  "bad.conf:3: [host] halt_poll_accounting: \"QMP\" is not auto, debugfs, qmp or "
		  "off" },
		{ "[host]\ncores=0-3\nhalt_poll_qmp_wait_ms=0\n[workload \"a\"]\npid=1\n",
		  "bad.conf:3: [host] halt_poll_qmp_wait_ms: \"0\" is not a whole number in [1, "
		  "1000]" },
		{ "[host]\ncores=0-3\nhalt_poll_qmp_wait_ms=20ms\n[workload \"a\"]\npid=1\n",
		  "bad.conf:3: [host] halt_poll_qmp_wait_ms: \"20ms\" is not a whole number" },
		{ "[hots]\ncores=0-3\n", "bad.conf:2: [hots]: unknown section" },
		{ "[host]\ncores=0-3\nthis line has no equals sign\n", "bad.conf:3: syntax error" },
		{ "[host]\ncores=0-3\ncgroup_parent=../etc\n", "bad.conf:3: [host] cgroup_parent" },
		{ "[host]\ncores=0-3\nnic=a/b\n",
		  "bad.conf:3: [host] nic: \"a/b\" is not a valid name" },
		{ "[host]\ncores=0-3\n[workload \"a\"]\ncgroup=/x/../y\n",
		  "bad.conf:4: [workload \"a\"] cgroup" },
		{ "[host]\ncores=0-3\nplacement=cgroup3\n", "bad.conf:3: [host] placement" },
		{ "[host]\ncores=0-3\non_exit=maybe\n", "bad.conf:3: [host] on_exit" },
		{ "[host]\ncores=0-3\n[workload \"a\"]\nrole=be\npid=1\n",
		  "missing workload: every workload is role=be" },
		{ "[host]\ncores=0\n[workload \"a\"]\npid=1\n",
		  "bad.conf:2: [host] cores: 1 core left to manage" },
		/* a libvirt= pattern stands for many VMs: nothing that names one of them */
		{ "[host]\ncores=0-3\n[workload \"web\"]\nlibvirt=web-*\nagent=serial:/a.sock\n",
		  "bad.conf:4: [workload \"web\"] agent: not with a libvirt= pattern (\"web-*\" "
		  "matches many domains" },
		{ "[host]\ncores=0-3\n[workload \"web\"]\nlibvirt=web-?\ntap=vnet0\n",
		  "[workload \"web\"] tap: not with a libvirt= pattern" },
		{ "[host]\ncores=0-3\n[workload \"web\"]\nqmp=/q.sock\nlibvirt=web-[0-9]\n",
		  "[workload \"web\"] qmp: not with a libvirt= pattern" },
		{ "[host]\ncores=0-3\n[workload \"web\"]\nlibvirt=web/*\n",
		  "bad.conf:4: [workload \"web\"] libvirt: \"web/*\" is not a valid name" },
	};
	char err[1024], longline[400];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vsd_config c;
		int rc = config_load_string(&c, cases[i].text, "bad.conf", err, sizeof(err));
		if (rc != -1 || !strstr(err, cases[i].want)) {
			printf("# case %zu: rc %d, message \"%s\", want \"%s\"\n", i, rc, err,
			       cases[i].want);
			fail();
		}
	}
	/* a line longer than the parser takes */
	snprintf(longline, sizeof(longline), "[host]\ncores=0-3\nnic=%0250d\n", 0);
	{
		struct vsd_config c;
		assert_int_equal(config_load_string(&c, longline, "bad.conf", err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "bad.conf:3: line longer than"));
	}
	/* a missing file */
	{
		struct vsd_config c;
		assert_int_equal(config_load(&c, "/nonexistent/vspace.conf", err, sizeof(err)), -1);
		assert_non_null(strstr(err, "/nonexistent/vspace.conf: No such file"));
	}
}

/* The shipped example is valid. */
/* libvirt= with a glob is a pattern; a plain name is one domain. */
static void test_libvirt_pattern(void **state)
{
	const char *text = "[host]\ncores=0-5\nlibvirt_uri=qemu:///system\n"
			   "[workload \"web\"]\nslo_p95_us=500\nlibvirt=web-*\n"
			   "[workload \"db\"]\nlibvirt=db1\n"
			   "[workload \"batch\"]\nrole=be\nlibvirt=batch-[0-9]*\n";
	struct vsd_config c;
	char err[512];

	assert_int_equal(config_load_string(&c, text, "p.conf", err, sizeof(err)), 0);
	assert_int_equal(c.n_wl, 3);
	assert_string_equal(c.wl[0].domain, "web-*");
	assert_true(c.wl[0].domain_pattern);
	assert_true(c.wl[0].lc);
	assert_string_equal(c.wl[1].domain, "db1");
	assert_false(c.wl[1].domain_pattern);
	assert_true(c.wl[2].domain_pattern);
	assert_false(c.wl[2].lc);
	assert_int_equal(c.n_lc, 2);
	config_free(&c);
}

static void test_example(void **state)
{
	struct vsd_config c;
	char err[512];

	if (config_load(&c, "examples/vspace.conf", err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		fail();
	}
	assert_int_equal(c.n_wl, 2);
	config_free(&c);
}

static void test_agent(void **state)
{
	struct vs_agent_addr a;
	char err[256], buf[160];
	static const char *const good[] = { "vsock:3:7070", "serial:/run/web.agent",
					    "unix:/run/vsd-test/agent.sock", "tcp:127.0.0.1:7070" };
	static const char *const bad[] = { "vsock:3",	       "vsock:x:1", "vsock:3:0",
					   "serial:rel/path",  "tcp::70",   "tcp:h:99999",
					   "carrier-pigeon:1", "" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(vs_agent_parse(good[i], &a, err, sizeof(err)), 0);
		vs_agent_format(&a, buf, sizeof(buf));
		assert_string_equal(buf, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vs_agent_parse(bad[i], &a, err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_libvirt_pattern),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_agent),
	};
	return VS_RUN_TESTS(tests);
}
