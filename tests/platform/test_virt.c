/* test_virt.c - libvirt pinning through the test:/// driver: the calls, then the platform pinning a libvirt workload and restoring it. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "daemon/config.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/linux.h"
#include "platform/linux/linux_int.h"
#include "platform/linux/virt.h"
#include "platform/linux/virtevent.h"
#include "refresh.h"
#include "testutil.h"

#ifdef VS_HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#endif

static void test_calls(void **state)
{
	struct vs_virt *v;
	struct vs_cpuset s, got;
	char err[256];

	if (!virt_available()) {
		skip();
	}
	assert_int_equal(virt_open(&v, "test:///default", err, sizeof(err)), 0);
	assert_int_equal(virt_host_cpus(v), 8);
	assert_int_equal(virt_domain_running(v, "test"), 1);
	assert_true(virt_domain_running(v, "nope") < 0);
	assert_int_equal(virt_vcpu_count(v, "test"), 2);
	cpuset_zero(&s);
	cpuset_set(&s, 2);
	cpuset_set(&s, 3);
	assert_int_equal(virt_pin_vcpu(v, "test", 1, &s), 0);
	assert_int_equal(virt_get_vcpu_pin(v, "test", 1, &got), 0);
	assert_true(cpuset_equal(&s, &got));
	assert_int_equal(virt_get_vcpu_pin(v, "test", 5, &got), -ENOENT);
	assert_int_equal(virt_pin_emulator(v, "test", &s), 0);
	assert_int_equal(virt_get_emulator_pin(v, "test", &got), 0);
	assert_true(cpuset_equal(&s, &got));
#ifdef VS_HAVE_LIBVIRT
	{
		/* give the domain an IOThread (the test driver starts with none) */
		virConnectPtr conn = virConnectOpen("test:///default");
		virDomainPtr dom = conn ? virDomainLookupByName(conn, "test") : NULL;
		int ids[4];
		assert_non_null(dom);
		assert_int_equal(virDomainAddIOThread(dom, 7, VIR_DOMAIN_AFFECT_CURRENT), 0);
		assert_int_equal(virt_iothreads(v, "test", ids, 4), 1);
		assert_int_equal(ids[0], 7);
		assert_int_equal(virt_pin_iothread(v, "test", 7, &s), 0);
		assert_int_equal(virt_get_iothread_pin(v, "test", 7, &got), 0);
		assert_true(cpuset_equal(&s, &got));
		assert_int_equal(virt_get_iothread_pin(v, "test", 8, &got), -ENOENT);
		assert_int_equal(virDomainDelIOThread(dom, 7, VIR_DOMAIN_AFFECT_CURRENT), 0);
		virDomainFree(dom);
		virConnectClose(conn);
	}
#endif
	assert_int_equal(virt_set_paused(v, "test", true), 0);
	assert_int_equal(virt_is_paused(v, "test"), 1);
	assert_int_equal(virt_set_paused(v, "test", false), 0);
	assert_int_equal(virt_is_paused(v, "test"), 0);
	assert_true(virt_pin_vcpu(v, "nope", 0, &s) < 0);
	assert_non_null(strstr(virt_last_error(v), "virDomainLookupByName"));
	virt_close(v);
	assert_int_equal(virt_open(&v, "bogus:///nothing", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bogus:///nothing"));
}

/* A libvirt= workload: vCPUs pinned to the vCPU group, the emulator to the
 * NQ group, all through libvirt; restored on exit. */
static void test_platform(void **state)
{
	const char *conf = "[host]\ncores=2-7\nmode=P\ncontrol_socket=off\nmetrics_listen=off\n"
			   "libvirt_uri=test:///default\n"
			   "[workload \"test\"]\nslo_p95_us=500\nlibvirt=test\n";
	char tmp[] = "/tmp/vsd-virt-XXXXXX", cmd[256], err[512];
	struct vsd_config cfg;
	struct vs_linux_config lc;
	struct vs_linux *lx;
	struct vs_controller c;
	struct vs_policy pol;
	struct vs_cpuset got, orig0, orig_emu;
	int rc;

	if (!virt_available())
		skip();
	assert_non_null(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "cp -a tests/fixtures/synth-b/root %s/", tmp);
	rc = system(cmd);
	assert_int_equal(WEXITSTATUS(rc), 0);
	assert_int_equal(config_load_string(&cfg, conf, "virt.conf", err, sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "%s/root", tmp);
	config_linux(&cfg, cmd, false, &lc);
	snprintf(lc.state_path, sizeof(lc.state_path), "%s/state", tmp);
	assert_int_equal(linuxplat_open(&lx, &lc, err, sizeof(err)), 0);
	assert_non_null(lx->virt);
	assert_int_equal(lx->wl[0].place, VS_PLACE_LIBVIRT);
	/* the pins before */
	assert_int_equal(virt_get_vcpu_pin(lx->virt, "test", 0, &orig0), 0);
	assert_int_equal(virt_get_emulator_pin(lx->virt, "test", &orig_emu), 0);
	assert_int_equal(policy_lookup(cfg.policy, 6, &pol, err, sizeof(err)), 0);
	assert_int_equal(controller_init(&c, &pol, &cfg.params, linuxplat_topology(lx),
					 linuxplat_platform(lx), err, sizeof(err)),
			 0);
	plat_refresh(lx, &c, 1e9);
	assert_int_equal(c.n_wl, 1); /* present: running in libvirt, no pid needed */
	assert_int_equal(controller_start(&c), 0);
	/* 6 cores split 3+3: vCPUs on 5-7, emulator on 2-4 */
	assert_int_equal(virt_get_vcpu_pin(lx->virt, "test", 0, &got), 0);
	assert_true(cpuset_equal(&got, &c.plan.wl[0].vcpu_cores));
	assert_int_equal(virt_get_vcpu_pin(lx->virt, "test", 1, &got), 0);
	assert_true(cpuset_equal(&got, &c.plan.wl[0].vcpu_cores));
	assert_int_equal(virt_get_emulator_pin(lx->virt, "test", &got), 0);
	assert_true(cpuset_equal(&got, &c.plan.wl[0].nq_cores));
	assert_true(linuxplat_write_stats(lx)[VS_W_LIBVIRT].writes == 3);
	assert_int_equal(linuxplat_restore(lx), 0);
	/* test:///default is one shared instance per process: the restore's own
	 * connection put the originals back */
	assert_int_equal(virt_get_vcpu_pin(lx->virt, "test", 0, &got), 0);
	assert_true(cpuset_equal(&got, &orig0));
	assert_int_equal(virt_get_emulator_pin(lx->virt, "test", &got), 0);
	assert_true(cpuset_equal(&got, &orig_emu));
	controller_free(&c);
	linuxplat_close(lx);
	config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	rc = system(cmd);
	(void)rc;
}

/* A libvirt best-effort domain is suspended while it has no core, resumed after. */
static void test_be_pause(void **state)
{
	const char *conf = "[host]\ncores=2-7\nmode=R\ncontrol_socket=off\nmetrics_listen=off\n"
			   "libvirt_uri=test:///default\n"
			   "[workload \"vm\"]\nslo_p95_us=500\nqemu_pidfile=/run/vm.pid\n"
			   "[workload \"test\"]\nrole=be\nlibvirt=test\n";
	char tmp[] = "/tmp/vsd-virt-XXXXXX", cmd[256], err[512];
	struct vsd_config cfg;
	struct vs_linux_config lc;
	struct vs_linux *lx;
	struct vs_controller c;
	struct vs_policy pol;
	int rc;

	if (!virt_available())
		skip();
	assert_non_null(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "cp -a tests/fixtures/synth-b/root %s/", tmp);
	rc = system(cmd);
	assert_int_equal(WEXITSTATUS(rc), 0);
	assert_int_equal(config_load_string(&cfg, conf, "virt.conf", err, sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "%s/root", tmp);
	config_linux(&cfg, cmd, false, &lc);
	snprintf(lc.state_path, sizeof(lc.state_path), "%s/state", tmp);
	assert_int_equal(linuxplat_open(&lx, &lc, err, sizeof(err)), 0);
	assert_int_equal(policy_lookup(cfg.policy, 6, &pol, err, sizeof(err)), 0);
	assert_int_equal(controller_init(&c, &pol, &cfg.params, linuxplat_topology(lx),
					 linuxplat_platform(lx), err, sizeof(err)),
			 0);
	plat_refresh(lx, &c, 1e9);
	/* first allocation: 3+3 for the VM, nothing left: BE suspended */
	assert_int_equal(controller_start(&c), 0);
	assert_true(
		cpuset_empty(&c.plan.be_cores)); /* (be_paused is not set for a first allocation) */
	assert_int_equal(virt_is_paused(lx->virt, "test"), 1);
	/* an idle period: the VM shrinks to 1+1, the BE domain gets 4 cores */
	assert_int_equal(controller_step(&c), 0);
	assert_false(c.plan.be_paused);
	assert_int_equal(virt_is_paused(lx->virt, "test"), 0);
	assert_int_equal(cpuset_count(&c.plan.be_cores), 4);
	{
		struct vs_cpuset got;
		assert_int_equal(virt_get_vcpu_pin(lx->virt, "test", 0, &got), 0);
		assert_true(cpuset_equal(&got, &c.plan.be_cores));
	}
	assert_int_equal(linuxplat_restore(lx), 0);
	assert_int_equal(virt_is_paused(lx->virt, "test"), 0);
	controller_free(&c);
	linuxplat_close(lx);
	config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	rc = system(cmd);
	(void)rc;
}

#ifdef VS_HAVE_LIBVIRT
/* Run libvirt's loop as vspaced does until the platform has events (at most
 * 1 s); true when it has. */
static bool virt_wait_events(struct virtev *ev, struct vs_linux *lx)
{
	for (int i = 0; i < 100 && !linuxplat_virt_pending(lx); i++) {
		struct pollfd p = { .fd = virtev_fd(ev), .events = POLLIN };
		if (poll(&p, 1, 10) > 0)
			virtev_dispatch(ev);
	}
	return linuxplat_virt_pending(lx);
}

static const char *virt_wl_absent(struct vs_linux *lx, const char *name)
{
	for (int i = 0; i < lx->n_wl; i++)
		if (!strcmp(lx->wl[i].spec.name, name))
			return lx->wl[i].present ? NULL : lx->wl[i].absent;
	return "unknown";
}

#define VIRT_TEST_XML                                                                              \
	"<domain type='test'><name>%s</name><memory>65536</memory><vcpu>2</vcpu><os><type>hvm</"   \
	"type></os></domain>"

/* A libvirt= pattern followed through libvirt's events: a matching domain
 * that starts becomes a workload (named after it) and is pinned; one that
 * stops is dropped at the next refresh; others are left alone. */
static void test_events_pattern(void **state)
{
	const char *conf = "[host]\ncores=2-7\nmode=P\ncontrol_socket=off\nmetrics_listen=off\n"
			   "libvirt_uri=test:///default\n"
			   "[workload \"web\"]\nslo_p95_us=500\nlibvirt=web-*\n";
	char tmp[] = "/tmp/vsd-virt-XXXXXX", cmd[256], err[512], x[256], *text;
	struct vsd_config cfg;
	struct vs_linux_config lc;
	struct vs_linux *lx;
	struct vs_controller c;
	struct vs_policy pol;
	struct vs_cpuset got;
	struct virtev *ev;
	virConnectPtr conn;
	virDomainPtr web, db;
	json_t *st;
	size_t n;
	int rc;

	assert_non_null(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "cp -a tests/fixtures/synth-b/root %s/", tmp);
	rc = system(cmd);
	assert_int_equal(WEXITSTATUS(rc), 0);
	assert_int_equal(config_load_string(&cfg, conf, "virt.conf", err, sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "%s/root", tmp);
	config_linux(&cfg, cmd, false, &lc);
	snprintf(lc.state_path, sizeof(lc.state_path), "%s/state", tmp);
	assert_int_equal(virtev_open(&ev, err, sizeof(err)), 0);
	lc.virt_loop = ev;
	assert_int_equal(linuxplat_open(&lx, &lc, err, sizeof(err)), 0);
	assert_int_equal(policy_lookup(cfg.policy, 6, &pol, err, sizeof(err)), 0);
	assert_int_equal(controller_init(&c, &pol, &cfg.params, linuxplat_topology(lx),
					 linuxplat_platform(lx), err, sizeof(err)),
			 0);
	/* the pattern matches nothing yet ("test" runs, but is not web-*) */
	assert_int_equal(plat_refresh(lx, &c, 1e9), 0);
	assert_int_equal(c.n_wl, 0);
	assert_int_equal(lx->n_wl, 0);

	conn = virConnectOpen("test:///default");
	assert_non_null(conn);
	snprintf(x, sizeof(x), VIRT_TEST_XML, "db-1");
	db = virDomainCreateXML(conn, x, 0);
	snprintf(x, sizeof(x), VIRT_TEST_XML, "web-1");
	web = virDomainCreateXML(conn, x, 0);
	assert_non_null(db);
	assert_non_null(web);
	/* the events reach the platform through the loop: web-1 appears, db-1 does not */
	assert_true(virt_wait_events(ev, lx));
	assert_int_equal(plat_refresh(lx, &c, 1e9 + 1), 1);
	assert_int_equal(c.n_wl, 1);
	assert_string_equal(c.wl[0].name, "web-1");
	assert_int_equal(lx->n_wl, 1);
	assert_int_equal(lx->wl[0].place, VS_PLACE_LIBVIRT);
	assert_int_equal(controller_start(&c), 0);
	assert_int_equal(virt_get_vcpu_pin(lx->virt, "web-1", 1, &got), 0);
	assert_true(cpuset_equal(&got, &c.plan.wl[0].vcpu_cores));
	assert_int_equal(virt_get_emulator_pin(lx->virt, "web-1", &got), 0);
	assert_true(cpuset_equal(&got, &c.plan.wl[0].nq_cores));
	st = linuxplat_status(lx);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_array_get(json_object_get(st, "workloads"), 0),
					"libvirt"),
			"pattern")),
		"web-*");
	assert_true(json_is_true(json_object_get(json_object_get(st, "libvirt"), "events")));
	json_decref(st);
	n = linuxplat_explain_libvirt(lx, NULL, 0);
	text = malloc(n + 1);
	assert_non_null(text);
	linuxplat_explain_libvirt(lx, text, n + 1);
	assert_non_null(strstr(text, "web-1: domain web-1 (matches libvirt=web-*), pinned through "
				     "libvirt"));
	assert_non_null(strstr(text, "libvirt=web-* ([workload \"web\"], lc): running: web-1"));
	free(text);

	/* stopped: dropped at the next refresh, with libvirt's reason */
	assert_int_equal(virDomainDestroy(web), 0);
	assert_true(virt_wait_events(ev, lx));
	plat_refresh(lx, &c, 1e9 + 2);
	assert_int_equal(c.n_wl, 0);
	assert_string_equal(virt_wl_absent(lx, "web-1"), "libvirt: domain web-1 destroyed");
	/* and not looked for again until libvirt says it runs */
	plat_refresh(lx, &c, 1e9 + 10);
	assert_int_equal(c.n_wl, 0);

	assert_int_equal(linuxplat_restore(lx), 0);
	virDomainDestroy(db);
	virDomainFree(db);
	virDomainFree(web);
	virConnectClose(conn);
	controller_free(&c);
	linuxplat_close(lx);
	virtev_close(ev);
	config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	rc = system(cmd);
	(void)rc;
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_platform),
		cmocka_unit_test(test_be_pause),
#ifdef VS_HAVE_LIBVIRT
		cmocka_unit_test(test_events_pattern),
#endif
	};
	log_init("test_virt", VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
