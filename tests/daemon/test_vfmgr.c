/* test_vfmgr.c - vspaced's FlexVF manager (src/daemon/vfmgr.c) against a scripted QEMU on a Unix socket: plug by the strategy, a refused plug retried with backoff, an unplug the guest never finishes, a VM vanishing mid-plug freeing its VF, the pool exhausted (reported once), forced grants, the grants' record adopted at the next start; and its configuration's errors. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/controller.h"
#include "platform/topology.h"
#include "lib/strutil.h"
#include "daemon/config.h"
#include "daemon/vfmgr.h"
#include "lib/log.h"
#include "testutil.h"

static char dir[64];

/* ---- a scripted QEMU: one monitor socket per VM, served by a thread ---------------- */

struct fake_qemu {
	char path[128];
	int lfd;
	pthread_t thr;
	volatile int refuse_adds; /* device_add answered with an error this many times */
	volatile int no_deleted;  /* device_del accepted but no DEVICE_DELETED */
	volatile int adds, dels, announces;
	volatile int stop;
};

static void fq_say(int fd, const char *text)
{
	size_t n = strlen(text);
	/* the manager may have closed its end (vfm_close): no SIGPIPE */
	if (send(fd, text, n, MSG_NOSIGNAL) != (ssize_t)n || send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		return;
}

static void *fq_main(void *arg)
{
	struct fake_qemu *q = arg;

	while (!q->stop) {
		int fd = accept(q->lfd, NULL, NULL);
		char buf[4096];
		size_t len = 0;
		if (fd < 0)
			continue;
		fq_say(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
			   "\"major\": 7}}, "
			   "\"capabilities\": []}}");
		for (;;) {
			ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
			char *nl;
			if (k <= 0)
				break;
			len += (size_t)k;
			while ((nl = memchr(buf, '\n', len)) != NULL) {
				char line[4096], reply[512];
				size_t l = (size_t)(nl - buf);
				json_t *m;
				memcpy(line, buf, l);
				line[l] = '\0';
				memmove(buf, nl + 1, len - l - 1);
				len -= l + 1;
				m = json_loads(line, 0, NULL);
				const char *cmd = json_string_value(json_object_get(m, "execute"));
				const char *id = json_string_value(json_object_get(m, "id"));
				const char *dev = json_string_value(
					json_object_get(json_object_get(m, "arguments"), "id"));
				if (!cmd || !id) {
					json_decref(m);
					continue;
				}
				if (!strcmp(cmd, "device_add") && q->refuse_adds > 0) {
					q->refuse_adds--;
					q->adds++;
					snprintf(reply, sizeof(reply),
						 "{\"error\": {\"class\": \"GenericError\", "
						 "\"desc\": "
						 "\"Bus 'rp1' is full\"}, \"id\": \"%s\"}",
						 id);
					fq_say(fd, reply);
				} else {
					q->adds += !strcmp(cmd, "device_add");
					q->dels += !strcmp(cmd, "device_del");
					q->announces += !strcmp(cmd, "announce-self");
					snprintf(reply, sizeof(reply),
						 "{\"return\": {}, \"id\": \"%s\"}", id);
					fq_say(fd, reply);
					if (!strcmp(cmd, "device_del") && !q->no_deleted) {
						snprintf(
							reply, sizeof(reply),
							"{\"event\": \"DEVICE_DELETED\", \"data\": "
							"{\"device\": \"%s\"}}",
							dev ? dev : "");
						fq_say(fd, reply);
					}
				}
				json_decref(m);
			}
		}
		close(fd);
	}
	return NULL;
}

static void fq_start(struct fake_qemu *q, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 0, 100000 };

	memset(q, 0, sizeof(*q));
	snprintf(q->path, sizeof(q->path), "%s/%s.qmp", dir, name);
	str_copy(sa.sun_path, q->path, sizeof(sa.sun_path));
	unlink(q->path);
	q->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(q->lfd >= 0);
	assert_int_equal(bind(q->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(q->lfd, 4), 0);
	setsockopt(q->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* accept wakes to stop */
	assert_int_equal(pthread_create(&q->thr, NULL, fq_main, q), 0);
}

static void fq_stop(struct fake_qemu *q)
{
	q->stop = 1;
	shutdown(q->lfd, SHUT_RDWR);
	pthread_join(q->thr, NULL);
	close(q->lfd);
}

/* ---- the manager under test ------------------------------------------------------------ */

struct rig {
	struct vsd_config cfg;
	struct vs_controller ctl;
	struct vs_topology topo;
	struct vs_policy pol;
	struct vs_platform plat;
	struct vfm m;
	double now;
};

static int nullplat_sample(struct vs_platform *p, struct vs_host_sample *s)
{
	return 0;
}
static int nullplat_apply(struct vs_platform *p, const struct vs_plan *plan)
{
	return 0;
}
static const struct vs_platform_ops nullplat_ops = {
	.name = "null",
	.sample = nullplat_sample,
	.apply = nullplat_apply,
};

static void rig_open(struct rig *r, const char *vfsect, int n_vm)
{
	char conf[4096], err[512];
	size_t k = 0;

	memset(r, 0, sizeof(*r));
	str_appendf(conf, sizeof(conf), &k,
		    "[host]\ncores=0-7\ncontrol_socket=off\nmetrics_listen=off\nstate_dir=%s\n"
		    "[vf]\nstandin=e1000e\n%s",
		    dir, vfsect);
	for (int i = 0; i < n_vm; i++)
		str_appendf(
			conf, sizeof(conf), &k,
			"[workload \"vm%d\"]\npid=%d\nvf=on\nvf_qmp=%s/vm%d.qmp\nvf_standby=net0\n"
			"vf_mac=52:54:00:56:00:0%d\nvf_netdev=vfn0\n",
			i, 4000 + i, dir, i, i);
	assert_int_equal(config_load_string(&r->cfg, conf, "test.conf", err, sizeof(err)), 0);
	assert_int_equal(policy_lookup("vspace-e", 8, &r->pol, err, sizeof(err)), 0);
	topology_init_flat(&r->topo, 8);
	r->plat.ops = &nullplat_ops;
	assert_int_equal(controller_init(&r->ctl, &r->pol, &r->cfg.params, &r->topo, &r->plat, err,
					 sizeof(err)),
			 0);
	for (int i = 0; i < n_vm; i++) {
		char name[16];
		snprintf(name, sizeof(name), "vm%d", i);
		assert_true(controller_add_workload(&r->ctl, name, 1000, err, sizeof(err)) >= 0);
	}
	assert_int_equal(vfm_open(&r->m, &r->cfg, "/", false, err, sizeof(err)), 0);
	r->now = 1000;
}

/* Ticks of 10 ms for ms (the loop's wake-ups), a period every 100 ms. */
static void rig_run(struct rig *r, int ms)
{
	for (int t = 0; t < ms; t += 10) {
		struct timespec ts = { 0, 2000000 };
		r->now += 0.01;
		vfm_tick(&r->m, r->now, t % 100 == 0, &r->ctl, NULL);
		nanosleep(&ts, NULL); /* the fake QEMU's thread answers meanwhile */
	}
}

static void rig_close(struct rig *r)
{
	vfm_close(&r->m);
	controller_free(&r->ctl);
	config_free(&r->cfg);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/vsw-vfmgr-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* fair, 1 VF, 2 VMs: the VF goes back and forth each interval; each plug
 * and unplug reaches QEMU; the record names the holder. */
static void test_plug_unplug(void **state)
{
	struct fake_qemu q0, q1;
	struct rig r;

	fq_start(&q0, "vm0");
	fq_start(&q1, "vm1");
	rig_open(&r, "vfs=1\nstrategy=fair\ninterval_s=1\n", 2);
	rig_run(&r, 1500); /* first readings, then the first decision at 1 s */
	assert_int_equal(r.m.decisions, 1);
	assert_int_equal(r.m.vm[0].slot, 0); /* fair: vm0 by name */
	assert_int_equal(q0.adds, 1);
	json_t *rec = json_load_file(r.m.record_path, 0, NULL);
	assert_non_null(rec);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(rec, "grants"), 0), "workload")),
			    "vm0");
	json_decref(rec);
	rig_run(&r, 1000); /* second decision: vm1's turn */
	assert_int_equal(r.m.decisions, 2);
	assert_int_equal(r.m.vm[0].slot, -1);
	assert_int_equal(r.m.vm[1].slot, 0);
	assert_int_equal(q0.dels, 1);
	assert_int_equal(q0.announces, 1); /* announce-self on the standby after the unplug */
	assert_int_equal(q1.adds, 1);
	json_t *st = vfm_status(&r.m, r.now);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "pool"), "held")),
			 1);
	json_decref(st);
	rig_close(&r);
	fq_stop(&q0);
	fq_stop(&q1);
}

/* QEMU refuses device_add twice: the VM stays on its PV NIC, tries again
 * after 2 s, then 4 s, then gets it. */
static void test_retry_backoff(void **state)
{
	struct fake_qemu q0;
	struct rig r;

	fq_start(&q0, "vm0");
	q0.refuse_adds = 2;
	rig_open(&r, "vfs=1\nstrategy=activity\ninterval_s=100\n", 1);
	rig_run(&r, 200);	     /* first readings */
	r.m.next_decision_s = r.now; /* decide now */
	rig_run(&r, 300);
	assert_int_equal(q0.adds, 1);
	assert_int_equal(r.m.vm[0].slot, -1);
	assert_int_equal(r.m.vm[0].failures, 1);
	assert_non_null(strstr(r.m.vm[0].last_error, "Bus 'rp1' is full"));
	assert_int_equal(r.m.slot[0].holder, -1); /* the VF is free again */
	rig_run(&r, 1500);
	assert_int_equal(q0.adds, 1); /* not before 2 s */
	rig_run(&r, 700);
	assert_int_equal(q0.adds, 2); /* 2 s: refused again, next in 4 s */
	rig_run(&r, 3000);
	assert_int_equal(q0.adds, 2);
	rig_run(&r, 1300);
	assert_int_equal(q0.adds, 3);
	assert_int_equal(r.m.vm[0].slot, 0);
	assert_int_equal(r.m.vm[0].failures, 2);
	assert_string_equal(r.m.vm[0].last_error, "");
	rig_close(&r);
	fq_stop(&q0);
}

/* An unplug the guest never finishes: failed after the timeout, the VF
 * still counted as the VM's, the unplug tried again later. A forced grant
 * and deny through requests. */
static void test_unplug_timeout_and_requests(void **state)
{
	struct fake_qemu q0;
	struct rig r;
	char err[256];

	fq_start(&q0, "vm0");
	q0.no_deleted = 1;
	rig_open(&r, "vfs=1\nstrategy=activity\ninterval_s=100\nplug_timeout_ms=500\nmin_pps=10\n",
		 1);
	rig_run(&r, 200);
	/* idle: below min_pps, no VF; a forced grant plugs anyway */
	json_t *req = json_pack("{s:s,s:s,s:s}", "cmd", "vf", "op", "grant", "workload", "vm0");
	json_t *rep = vfm_request(&r.m, req, r.now, err, sizeof(err));
	assert_non_null(rep);
	json_decref(rep);
	json_decref(req);
	rig_run(&r, 300);
	assert_int_equal(r.m.vm[0].slot, 0);
	assert_non_null(strstr(r.m.vm[0].why, "forced by the operator"));
	req = json_pack("{s:s,s:s,s:s}", "cmd", "vf", "op", "deny", "workload", "vm0");
	json_decref(vfm_request(&r.m, req, r.now, err, sizeof(err)));
	json_decref(req);
	rig_run(&r, 900); /* device_del accepted, no DEVICE_DELETED within 500 ms */
	if (q0.dels != 1)
		printf("# why %s op %d slot %d dec %ld ex %d\n", r.m.vm[0].why, r.m.vm[0].op,
		       r.m.vm[0].slot, r.m.decisions, r.m.vm[0].excluded);
	assert_int_equal(q0.dels, 1);
	assert_int_equal(r.m.vm[0].slot, 0);
	assert_int_equal(r.m.vm[0].failures, 1);
	assert_non_null(strstr(r.m.vm[0].last_error, "did not release vspace-vf0 within 500 ms"));
	q0.no_deleted = 0;
	rig_run(&r, 2500); /* tried again after 2 s */
	assert_int_equal(q0.dels, 2);
	assert_int_equal(r.m.vm[0].slot, -1);
	/* requests' errors */
	req = json_pack("{s:s,s:s,s:s}", "cmd", "vf", "op", "grant", "workload", "nope");
	assert_null(vfm_request(&r.m, req, r.now, err, sizeof(err)));
	assert_non_null(strstr(err, "\"nope\" is not a workload with vf=on"));
	json_decref(req);
	req = json_pack("{s:s,s:s}", "cmd", "vf", "op", "steal");
	assert_null(vfm_request(&r.m, req, r.now, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown \"op\""));
	json_decref(req);
	rig_close(&r);
	fq_stop(&q0);
}

/* A VM that vanishes during its plug frees the VF for the other; with the
 * VF held by a VM being unplugged, a newly granted one waits (the pool is
 * exhausted) and gets it once it is free. */
static void test_vanish_and_exhausted(void **state)
{
	struct fake_qemu q0, q1;
	struct rig r;

	fq_start(&q0, "vm0");
	fq_start(&q1, "vm1");
	rig_open(&r, "vfs=1\nstrategy=fair\ninterval_s=100\n", 2);
	rig_run(&r, 200);
	r.m.next_decision_s = r.now;
	r.now += 0.01;
	vfm_tick(&r.m, r.now, true, &r.ctl, NULL); /* decides: plug vm0 starts */
	assert_int_equal(r.m.vm[0].op, VFM_OP_PLUG);
	controller_remove_workload(&r.ctl, controller_find_workload(&r.ctl, "vm0"));
	r.now += 0.01;
	vfm_tick(&r.m, r.now, true, &r.ctl, NULL);
	assert_int_equal(r.m.vm[0].op, VFM_OP_NONE);
	assert_int_equal(r.m.vm[0].slot, -1);
	assert_int_equal(r.m.slot[0].holder, -1);
	r.m.next_decision_s = r.now;
	rig_run(&r, 300);
	assert_int_equal(r.m.vm[1].slot, 0); /* the next decision gives it to vm1 */
	rig_close(&r);
	fq_stop(&q0);
	fq_stop(&q1);

	/* vm0 holds the VF; vm1 is forced: vm0's unplug is slow, vm1 waits for the
	 * VF (the pool exhausted, said once), and gets it when it is free */
	char rec[128];
	snprintf(rec, sizeof(rec), "%s/vf-grants.json", dir);
	unlink(rec); /* the first half's record */
	fq_start(&q0, "vm0");
	fq_start(&q1, "vm1");
	rig_open(&r, "vfs=1\nstrategy=activity\ninterval_s=100\nplug_timeout_ms=3000\n", 2);
	rig_run(&r, 200);
	r.m.next_decision_s = r.now;
	rig_run(&r, 300);
	assert_int_equal(r.m.vm[0].slot, 0); /* activity, equal rates: by name */
	q0.no_deleted = 1;
	char err[256];
	json_t *req = json_pack("{s:s,s:s,s:s}", "cmd", "vf", "op", "grant", "workload", "vm1");
	json_decref(vfm_request(&r.m, req, r.now, err, sizeof(err)));
	json_decref(req);
	rig_run(&r, 500);
	assert_int_equal(r.m.vm[0].op, VFM_OP_UNPLUG);
	assert_int_equal(r.m.wanted_unmet, 1);
	assert_true(r.m.exhausted_logged);
	assert_int_equal(r.m.vm[1].slot, -1);
	q0.no_deleted = 0; /* the guest lets go (the retry's device_del) */
	rig_run(&r, 6000);
	assert_int_equal(r.m.vm[0].slot, -1);
	assert_int_equal(r.m.vm[1].slot, 0);
	assert_int_equal(r.m.wanted_unmet, 0);
	rig_close(&r);
	fq_stop(&q0);
	fq_stop(&q1);
}

/* The record of a run that left its VFs: the next start adopts them and does
 * not plug again (vf_on_exit=leave). */
static void test_record_adopted(void **state)
{
	struct fake_qemu q0;
	struct rig r;

	fq_start(&q0, "vm0");
	rig_open(&r, "vfs=1\nstrategy=activity\ninterval_s=1\n", 1);
	rig_run(&r, 1500);
	assert_int_equal(r.m.vm[0].slot, 0);
	assert_int_equal(q0.adds, 1);
	rig_close(&r); /* leave (the default): no unplug */
	assert_int_equal(q0.dels, 0);
	rig_open(&r, "vfs=1\nstrategy=activity\ninterval_s=1\n", 1);
	assert_int_equal(r.m.vm[0].slot, 0); /* adopted */
	rig_run(&r, 1500);
	assert_int_equal(q0.adds, 1); /* not plugged twice */
	assert_int_equal(r.m.vm[0].slot, 0);
	rig_close(&r);
	fq_stop(&q0);
}

/* The configuration: [vf] against the workloads. */
static void test_config_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "[vf]\nstrategy=busiest\n", "[vf] strategy: \"busiest\" is not fair, activity or "
					      "random" },
		{ "[vf]\nstrategy=fair\n", "[vf]: give pf= (an SR-IOV PF) or standin=" },
		{ "[vf]\npf=ens1f0\nstandin=e1000e\nvfs=1\n", "not both" },
		{ "[vf]\nstandin=e1000e\n", "[vf] standin: needs vfs=" },
		{ "[vf]\npf=ens1f0\nvfs=2\n", "[vf] vfs: the PF's sysfs says" },
		{ "[vf]\nstandin=e1000e\nvfs=1\nvf_on_exit=sometimes\n", "is not unplug or leave" },
		{ "[vf]\nstandin=e1000e\nvfs=1\ninterval_s=0\n", "[vf] interval_s: \"0\"" },
		{ "[vf]\nstandin=e1000e\nvfs=1\nbogus=1\n", "[vf] bogus: unknown key" },
		{ "[vf]\nstandin=e 1000\nvfs=1\n", "is not a QEMU NIC model" },
	};
	static const char *const wl_cases[][2] = {
		{ "vf=on\n", "vf: on without a [vf] section" },
		{ "vf=maybe\n", "vf: \"maybe\" is not on or off" },
		{ "vf=on\nvf_qmp=/x\n", "vf: on needs vf_mac=" },
		{ "vf=on\nvf_mac=52:54:00:56:00:02\n", "vf: on needs vf_qmp=" },
		{ "vf=on\nvf_mac=52:54\n", "vf_mac: \"52:54\" is not a MAC" },
		{ "vf=on\nvf_mac=52:54:00:56:00:02\nvf_qmp=/q\nqmp=/q\n",
		  "vf_qmp: /q is also qmp=" },
		{ "vf=on\nvf_mac=52:54:00:56:00:02\nvf_qmp=/q\n",
		  "a stand-in VF needs vf_netdev=" },
		{ "vf_standby=net 0\n", "vf_standby: \"net 0\" is not a QEMU id" },
		{ "vf_frob=1\n", "vf_frob: unknown key (the VF keys" },
	};
	char conf[1024], err[512];
	struct vsd_config c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(conf, sizeof(conf), "[host]\ncores=0-3\n%s[workload \"w\"]\npid=1\n",
			 cases[i].text);
		assert_int_equal(config_load_string(&c, conf, "t.conf", err, sizeof(err)), -1);
		if (!strstr(err, cases[i].msg))
			printf("# case %zu: %s\n", i, err);
		assert_non_null(strstr(err, cases[i].msg));
	}
	for (size_t i = 0; i < sizeof(wl_cases) / sizeof(wl_cases[0]); i++) {
		const char *vf =
			strstr(wl_cases[i][0], "vf=on") && !strstr(wl_cases[i][1], "without")
				? "[vf]\nstandin=e1000e\nvfs=1\n"
				: "";
		snprintf(conf, sizeof(conf), "[host]\ncores=0-3\n%s[workload \"w\"]\npid=1\n%s", vf,
			 wl_cases[i][0]);
		assert_int_equal(config_load_string(&c, conf, "t.conf", err, sizeof(err)), -1);
		if (!strstr(err, wl_cases[i][1]))
			printf("# wl case %zu: %s\n", i, err);
		assert_non_null(strstr(err, wl_cases[i][1]));
	}
	/* a good one, with the defaults */
	snprintf(conf, sizeof(conf),
		 "[host]\ncores=0-3\n[vf]\npf=ens1f0\n[workload \"w\"]\nlibvirt=web\nvf=on\n"
		 "vf_mac=52:54:00:56:00:0A\nvf_standby=ua-net0\n");
	assert_int_equal(config_load_string(&c, conf, "t.conf", err, sizeof(err)), 0);
	assert_true(c.vf.on && c.vfwl[0].on);
	assert_ptr_equal(c.vf.strategy, &vf_policy_fair);
	assert_true(c.vf.interval_s == 300 && c.vf.min_hold == 1 && !c.vf.on_exit_unplug);
	assert_string_equal(c.vfwl[0].mac, "52:54:00:56:00:0a");
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plug_unplug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_timeout_and_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanish_and_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_adopted, setup, teardown),
		cmocka_unit_test(test_config_errors),
	};
	log_init("test_vfmgr", VS_LOG_WARN);
	return VS_RUN_TESTS(tests);
}
