/* test_agentlink.c - vspaced's agent links against an in-process fake agent: hello parsing, clamping, NIC choice, drift, restore, status, metrics. */
#include "testutil.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/agentlink.h"
#include "lib/log.h"
#include "proto/transport.h"

/* A fake agent on a Unix socket: one connection at a time, answers from the
 * fields below, records the requests (without stats) as "cmd n" words. */
struct fake {
	char dir[64], addr[128];
	struct proto_addr pa;
	int lfd, cfd;
	struct proto_linebuf in;
	const char *hello;     /* hello result (JSON text) */
	const char *stats;     /* stats result; NULL: built from queues/vcpus */
	bool refuse_vnq;       /* answer set_vnq with an error */
	int queues, vcpus;     /* what set_vnq / set_vcpus set last */
	bool coal_unsupported; /* set_coalesce: a NIC without coalescing (e1000, virtio) */
	int coalesce_sent;     /* set_coalesce requests seen */
	bool last_adaptive;    /* adaptive_rx of the last set_coalesce */
	char log[1024];	       /* "hello,set_vcpus 4,set_vnq eth0 3" */
	int stats_seen;
	struct agentlinks set;
};

static const char hello_std[] = "{\"proto\":1,\"vcpus\":4,\"active\":\"0-3\",\"nics\":["
				"{\"name\":\"eth1\",\"queues\":1,\"max_queues\":1},"
				"{\"name\":\"eth0\",\"queues\":8,\"max_queues\":8}]}";

/* The fake goes into *state, so that the teardown removes it (and its
 * directory) also when an assertion fails. */
static struct fake *fake_new(void **state, const char *hello)
{
	struct fake *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vsw-linktest-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->addr, sizeof(f->addr), "unix:%s/agent.sock", f->dir);
	assert_int_equal(proto_addr_parse(f->addr, &f->pa, err, sizeof(err)), 0);
	f->lfd = proto_listen(&f->pa, err, sizeof(err));
	assert_true(f->lfd >= 0);
	f->cfd = -1;
	f->hello = hello;
	f->queues = 8;
	f->vcpus = 4;
	struct agentlinks_opts o = { .timeout_ms = 300,
				     .backoff_min_ms = 20,
				     .backoff_max_ms = 50,
				     .stats_ms = 100,
				     .retry_min_ms = 50 };
	assert_int_equal(agentlinks_init(&f->set, &o, err, sizeof(err)), 0);
	*state = f;
	return f;
}

static void fake_free(void **state)
{
	struct fake *f = *state;
	char path[128];

	if (!f)
		return;
	*state = NULL;

	agentlinks_free(&f->set);
	if (f->cfd >= 0)
		close(f->cfd);
	close(f->lfd);
	snprintf(path, sizeof(path), "%s/agent.sock", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
}

static int fake_teardown(void **state)
{
	fake_free(state);
	return 0;
}

static void fake_reply(struct fake *f, const char *line)
{
	json_t *req = json_loads(line, 0, NULL), *args;
	const char *cmd;
	char out[2048], result[1024];
	long id;
	int n;

	assert_non_null(req);
	cmd = json_string_value(json_object_get(req, "cmd"));
	id = (long)json_integer_value(json_object_get(req, "id"));
	args = json_object_get(req, "args");
	n = (int)json_integer_value(json_object_get(args, "n"));
	if (strcmp(cmd, "stats") != 0) {
		char word[64];
		if (!strcmp(cmd, "set_vnq"))
			snprintf(word, sizeof(word), "set_vnq %s %d",
				 json_string_value(json_object_get(args, "ifname")), n);
		else if (!strcmp(cmd, "set_vcpus"))
			snprintf(word, sizeof(word), "set_vcpus %d", n);
		else if (!strcmp(cmd, "set_coalesce"))
			snprintf(word, sizeof(word), "set_coalesce %s %d",
				 json_string_value(json_object_get(args, "ifname")),
				 (int)json_integer_value(json_object_get(args, "rx_usecs")));
		else if (!strcmp(cmd, "set_rps"))
			snprintf(word, sizeof(word), "set_rps %s %d",
				 json_string_value(json_object_get(args, "ifname")), n);
		else
			snprintf(word, sizeof(word), "%s", cmd);
		if (f->log[0])
			strncat(f->log, ",", sizeof(f->log) - strlen(f->log) - 1);
		strncat(f->log, word, sizeof(f->log) - strlen(f->log) - 1);
	}
	if (!strcmp(cmd, "hello")) {
		snprintf(result, sizeof(result), "%s", f->hello);
	} else if (!strcmp(cmd, "set_vnq") && f->refuse_vnq) {
		snprintf(out, sizeof(out), "{\"v\":1,\"id\":%ld,\"ok\":false,\"error\":\"no\"}\n",
			 id);
		json_decref(req);
		assert_true(write(f->cfd, out, strlen(out)) > 0);
		return;
	} else if (!strcmp(cmd, "set_vnq")) {
		f->queues = n;
		snprintf(result, sizeof(result), "{\"queues\":%d}", n);
	} else if (!strcmp(cmd, "set_coalesce") && f->coal_unsupported) {
		f->coalesce_sent++;
		snprintf(out, sizeof(out),
			 "{\"v\":1,\"id\":%ld,\"ok\":false,\"error\":\"set_coalesce: eth0: "
			 "interrupt coalescing is not supported by its driver (ETHTOOL_GCOALESCE: "
			 "Operation not supported)\"}\n",
			 id);
		json_decref(req);
		assert_true(write(f->cfd, out, strlen(out)) > 0);
		return;
	} else if (!strcmp(cmd, "set_coalesce")) {
		f->coalesce_sent++;
		f->last_adaptive = json_is_true(json_object_get(args, "adaptive_rx"));
		/* the guest had rx-usecs 3 with adaptive-rx on (e1000e's default) */
		snprintf(result, sizeof(result),
			 "{\"ifname\":\"eth0\",\"rx_usecs\":%d,\"previous\":3,"
			 "\"previous_adaptive_rx\":true,\"write_us\":150}",
			 (int)json_integer_value(json_object_get(args, "rx_usecs")));
	} else if (!strcmp(cmd, "set_rps")) {
		snprintf(result, sizeof(result), "{\"ifname\":\"eth0\",\"n\":%d}", n);
	} else if (!strcmp(cmd, "set_vcpus")) {
		f->vcpus = n;
		snprintf(result, sizeof(result), "{\"n\":%d}", n);
	} else if (!strcmp(cmd, "stats")) {
		f->stats_seen++;
		if (f->stats)
			snprintf(result, sizeof(result), "%s", f->stats);
		else
			snprintf(result, sizeof(result),
				 "{\"active\":\"0-%d\",\"busy_ms\":[5,null,7],\"nics\":[{\"name\":"
				 "\"eth0\",\"queues\":%d,\"max_queues\":8}]}",
				 f->vcpus - 1, f->queues);
	} else {
		snprintf(result, sizeof(result), "{}");
	}
	snprintf(out, sizeof(out), "{\"v\":1,\"id\":%ld,\"ok\":true,\"result\":%s}\n", id, result);
	json_decref(req);
	assert_true(write(f->cfd, out, strlen(out)) == (ssize_t)strlen(out));
}

/* Serve the fake agent and poll the links for ms milliseconds. */
static void pump(struct fake *f, int ms)
{
	uint64_t end = proto_now_ms() + (uint64_t)ms;

	while (proto_now_ms() < end) {
		char peer[64];
		agentlinks_poll(&f->set, proto_now_ms());
		if (f->cfd < 0) {
			f->cfd = proto_accept(f->lfd, &f->pa, peer, sizeof(peer));
			if (f->cfd >= 0)
				proto_linebuf_init(&f->in);
		}
		if (f->cfd >= 0) {
			ssize_t n = read(f->cfd, proto_linebuf_space(&f->in),
					 proto_linebuf_room(&f->in));
			if (n == 0) {
				close(f->cfd);
				f->cfd = -1;
			} else if (n > 0) {
				char *line;
				size_t len;
				proto_linebuf_commit(&f->in, (size_t)n);
				while (proto_linebuf_next(&f->in, &line, &len) == PROTO_LINE_OK)
					fake_reply(f, line);
			}
		}
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
}

static struct agentlink *fake_link(struct fake *f, const char *guest_nic)
{
	char err[256];
	struct agentlink *l = agentlinks_add(&f->set, "vm", f->addr, guest_nic, err, sizeof(err));

	assert_non_null(l);
	return l;
}

static void test_clamp_and_nic_choice(void **state)
{
	struct fake *f = fake_new(state, hello_std);
	struct agentlink *l = fake_link(f, "");
	struct vs_guest_actuator *g = &l->base;

	/* the plan arrives before the agent is reached: recorded, no error */
	assert_int_equal(g->ops->set_vcpus(g, 16), 0);
	assert_int_equal(g->ops->set_vnq(g, "", 12), 0);
	assert_int_equal(g->ops->set_vcpus(g, 0), -EINVAL);
	pump(f, 150);
	/* eth0: the first NIC with more than one queue; both clamped */
	assert_string_equal(f->log, "hello,set_vcpus 4,set_vnq eth0 8");
	assert_string_equal(l->ifname, "eth0");
	assert_int_equal(l->knob[AGENTLINK_VCPUS].have, 4);
	assert_int_equal(l->knob[AGENTLINK_VNQ].have, 8);
	/* a plan within the limits goes as is; an unchanged one not at all */
	g->ops->set_vnq(g, "", 3);
	g->ops->set_vcpus(g, 4);
	pump(f, 80);
	assert_string_equal(f->log, "hello,set_vcpus 4,set_vnq eth0 8,set_vnq eth0 3");
	assert_true(f->stats_seen >= 1);
	fake_free(state);
}

static void test_configured_nic_missing(void **state)
{
	struct fake *f = fake_new(state, hello_std);
	struct agentlink *l = fake_link(f, "ens3");
	json_t *st;

	l->base.ops->set_vnq(&l->base, "ens3", 2);
	l->base.ops->set_vcpus(&l->base, 2);
	pump(f, 120);
	/* no set_vnq for a NIC the guest does not have; vCPUs still go */
	assert_string_equal(f->log, "hello,set_vcpus 2");
	st = agentlink_status(l, proto_now_ms());
	assert_string_equal(json_string_value(json_object_get(st, "ifname_problem")),
			    "the guest has no NIC \"ens3\" (guest_nic=)");
	json_decref(st);
	fake_free(state);
}

/* Everything in hello is untrusted: wrong types and bad names are ignored. */
static void test_bad_hello(void **state)
{
	static const char bad[] = "{\"vcpus\":\"many\",\"nics\":[7,{\"name\":\"a/b\",\"max_"
				  "queues\":4},{\"name\":\"eth0\",\"max_queues\":-3}]}";
	struct fake *f = fake_new(state, bad);
	struct agentlink *l = fake_link(f, "");

	l->base.ops->set_vcpus(&l->base, 7);
	l->base.ops->set_vnq(&l->base, "", 5);
	pump(f, 120);
	/* vCPUs unknown: no clamp; eth0 is the only usable name, its maximum unknown */
	assert_string_equal(f->log, "hello,set_vcpus 7,set_vnq eth0 5");
	assert_int_equal(l->guest_vcpus, 0);
	assert_int_equal(l->guest_max_queues, 0);
	fake_free(state);
	f = fake_new(state, "{\"nics\":{}}");
	l = fake_link(f, "");
	l->base.ops->set_vnq(&l->base, "", 5);
	pump(f, 80);
	assert_string_equal(f->log, "hello");
	assert_string_equal(l->ifname_problem, "the agent reports no NIC (set guest_nic=)");
	fake_free(state);
}

/* The guest shows something else than the agent confirmed: sent again. */
static void test_drift_and_refusal(void **state)
{
	struct fake *f = fake_new(state, hello_std);
	struct agentlink *l = fake_link(f, "eth0");

	l->base.ops->set_vnq(&l->base, "eth0", 2);
	pump(f, 80);
	assert_int_equal(f->queues, 2);
	f->queues = 8; /* an agent restarted inside the guest */
	pump(f, 300);
	assert_int_equal(f->queues, 2);
	assert_string_equal(f->log, "hello,set_vnq eth0 2,set_vnq eth0 2");
	/* refused: shows in the last reply, retried (retry_min 50 ms, doubling) */
	f->refuse_vnq = true;
	l->base.ops->set_vnq(&l->base, "eth0", 3);
	pump(f, 200);
	assert_true(l->count[AGENTLINK_VNQ].refused >= 2);
	assert_int_equal(l->last[AGENTLINK_VNQ].status, PROTO_ST_AGENT_ERROR);
	assert_string_equal(l->last[AGENTLINK_VNQ].error, "no");
	assert_int_equal(l->knob[AGENTLINK_VNQ].have, 0);
	f->refuse_vnq = false;
	pump(f, 400);
	assert_int_equal(l->knob[AGENTLINK_VNQ].have, 3);
	fake_free(state);
}

static void test_status_metrics_restore(void **state)
{
	struct fake *f = fake_new(state, hello_std);
	struct agentlink *l = fake_link(f, "");
	struct agentlink *down;
	struct metrics_buf b = { 0 };
	char err[256];
	json_t *st;

	down = agentlinks_add(&f->set, "other", "unix:/nonexistent/vsw-agent.sock", "", err,
			      sizeof(err));
	assert_non_null(down);
	assert_null(agentlinks_add(&f->set, "x", "tcp:localhost:1", "", err, sizeof(err)));
	assert_non_null(strstr(err, "agent=tcp:localhost:1"));
	l->base.ops->set_vcpus(&l->base, 2);
	l->base.ops->set_vnq(&l->base, "", 2);
	down->base.ops->set_vcpus(&down->base, 1);
	pump(f, 250);
	st = agentlink_status(l, proto_now_ms());
	assert_string_equal(json_string_value(json_object_get(st, "state")), "ready");
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(st, "queues"), "applied")), 2);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(st, "replies"), "set_vnq"), "status")),
		"ok");
	assert_non_null(json_object_get(st, "stats"));
	json_decref(st);
	st = agentlink_status(down, proto_now_ms());
	assert_string_not_equal(json_string_value(json_object_get(st, "state")), "ready");
	assert_non_null(strstr(json_string_value(json_object_get(st, "last_error")), "connect"));
	json_decref(st);
	/* the loop never waits long for the links */
	assert_true(agentlinks_timeout_ms(&f->set, proto_now_ms()) <= 100);

	agentlinks_metrics(&f->set, &b);
	assert_non_null(b.p);
	assert_non_null(strstr(b.p, "vspace_agent_up{workload=\"vm\"} 1\n"));
	assert_non_null(strstr(b.p, "vspace_agent_up{workload=\"other\"} 0\n"));
	assert_non_null(strstr(b.p, "vspace_agent_guest_queues{workload=\"vm\"} 2\n"));
	assert_non_null(strstr(b.p, "vspace_agent_guest_cpu_busy_seconds_total{workload=\"vm\","
				    "vcpu=\"2\"} 0.007\n"));
	assert_null(strstr(b.p, "vcpu=\"1\"")); /* null: an offline vCPU */
	metrics_buf_free(&b);

	/* exit: the link that changed the guest is asked to restore (the fake
	 * does not answer within the 5 ms: 1 unconfirmed); the link that never
	 * connected changed nothing and is left out */
	assert_int_equal(agentlinks_restore(&f->set, 5), 1);
	pump(f, 50);
	assert_non_null(strstr(f->log, ",restore"));
	fake_free(state);
}

/* The guest NIC as a receive queue: counters from the agent's stats (the
 * first a base), rx-usecs and fan-out through set_coalesce / set_rps, the
 * guest's original setting back on release. */
static void test_coalesce_rate(void **state)
{
	struct fake *f = fake_new(state, hello_std);
	struct agentlink *l = fake_link(f, "eth0");
	struct vs_rxq_sample s;
	struct vs_rxq_target t = { .site = VS_RXQ_GUEST, .queue = -1 };
	json_t *st;

	f->stats = "{\"t_ms\":1000,\"active\":\"0-3\",\"busy_ms\":[100,50,0,0],\"nics\":["
		   "{\"name\":\"eth0\",\"queues\":8,\"max_queues\":8,\"rx_total_packets\":1000,"
		   "\"rx_total_bytes\":64000,\"rx_irqs\":[10,20]}]}";
	assert_int_equal(agentlink_rxq_sample(l, &s), 0); /* no stats yet */
	pump(f, 150);
	assert_int_equal(agentlink_rxq_sample(l, &s), 1);
	assert_false(s.measured); /* a base */
	assert_true(s.coalesce_ok);
	assert_int_equal(s.site, VS_RXQ_GUEST);
	assert_string_equal(s.workload, "vm");
	assert_string_equal(s.ifname, "eth0");
	assert_int_equal(s.fan_max, 4);
	f->stats = "{\"t_ms\":1500,\"active\":\"0-3\",\"busy_ms\":[300,150,0,0],\"nics\":["
		   "{\"name\":\"eth0\",\"queues\":8,\"max_queues\":8,\"rx_total_packets\":6000,"
		   "\"rx_total_bytes\":384000,\"rx_irqs\":[1010,20]}]}";
	pump(f, 150);
	assert_int_equal(agentlink_rxq_sample(l, &s), 1);
	assert_true(s.measured);
	assert_true(s.s.period_s > 0.499 && s.s.period_s < 0.501);
	assert_int_equal(s.s.packets, 5000);
	assert_int_equal(s.s.bytes, 320000);
	assert_int_equal(s.s.interrupts, 1000);
	/* one receiving vCPU (no fan-out yet): vCPU 0's 200 ms in 0.5 s */
	assert_true(s.busy_rx_cores > 0.399 && s.busy_rx_cores < 0.401);
	/* the same stats again: not a new period */
	assert_int_equal(agentlink_rxq_sample(l, &s), 1);
	assert_false(s.measured);

	strcpy(t.workload, "vm");
	strcpy(t.ifname, "eth0");
	t.set_rate = true;
	t.rx_usecs = 125;
	t.set_fan = true;
	t.fan_n = 2;
	agentlink_rxq_apply(l, &t);
	pump(f, 100);
	assert_non_null(strstr(f->log, "set_coalesce eth0 125,set_rps eth0 2"));
	assert_false(f->last_adaptive);
	assert_int_equal(l->knob[AGENTLINK_COAL].have, 125);
	assert_int_equal(l->knob[AGENTLINK_RPS].have, 2);
	assert_int_equal(l->coal_orig, 3);
	st = agentlink_status(l, proto_now_ms());
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(st, "rx_usecs"), "applied")),
		125);
	assert_int_equal(json_integer_value(json_object_get(st, "coalesce_write_us")), 150);
	assert_null(json_object_get(st, "coalesce_unsupported"));
	json_decref(st);
	/* released: the guest's rx-usecs 3 with adaptive-rx on again */
	memset(&t.set_rate, 0, sizeof(t) - offsetof(struct vs_rxq_target, set_rate));
	t.release = true;
	agentlink_rxq_apply(l, &t);
	pump(f, 100);
	assert_non_null(strstr(f->log, "set_rps eth0 2,set_coalesce eth0 3"));
	assert_true(f->last_adaptive);
	fake_free(state);
}

/* A guest NIC without coalescing: the refusal is taken once; no retries,
 * the sample and the status say why. */
static void test_coalesce_unsupported(void **state)
{
	struct fake *f = fake_new(state, hello_std);
	struct agentlink *l = fake_link(f, "eth0");
	struct vs_rxq_sample s;
	struct vs_rxq_target t = {
		.site = VS_RXQ_GUEST, .queue = -1, .set_rate = true, .rx_usecs = 250
	};
	json_t *st;

	f->coal_unsupported = true;
	f->stats = "{\"t_ms\":1000,\"active\":\"0-3\",\"nics\":[{\"name\":\"eth0\","
		   "\"queues\":8,\"max_queues\":8,\"rx_total_packets\":1,\"rx_total_bytes\":64,"
		   "\"rx_irqs\":[1]}]}";
	agentlink_rxq_apply(l, &t);
	pump(f, 400); /* retry_min_ms is 50: a retrying link would have asked again */
	assert_int_equal(f->coalesce_sent, 1);
	t.rx_usecs = 125; /* another rate: still not asked */
	agentlink_rxq_apply(l, &t);
	pump(f, 100);
	assert_int_equal(f->coalesce_sent, 1);
	assert_int_equal(agentlink_rxq_sample(l, &s), 1);
	assert_false(s.coalesce_ok);
	assert_non_null(strstr(s.unsupported, "interrupt coalescing is not supported"));
	st = agentlink_status(l, proto_now_ms());
	assert_non_null(strstr(json_string_value(json_object_get(st, "coalesce_unsupported")),
			       "Operation not supported"));
	json_decref(st);
	fake_free(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_clamp_and_nic_choice, fake_teardown),
		cmocka_unit_test_teardown(test_configured_nic_missing, fake_teardown),
		cmocka_unit_test_teardown(test_bad_hello, fake_teardown),
		cmocka_unit_test_teardown(test_drift_and_refusal, fake_teardown),
		cmocka_unit_test_teardown(test_status_metrics_restore, fake_teardown),
		cmocka_unit_test_teardown(test_coalesce_rate, fake_teardown),
		cmocka_unit_test_teardown(test_coalesce_unsupported, fake_teardown),
	};
	log_init("test_agentlink", getenv("VS_TEST_VERBOSE") ? VS_LOG_DEBUG : VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
