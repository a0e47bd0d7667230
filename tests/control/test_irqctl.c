/* test_irqctl.c - the interrupt-rate loop: policy per queue (host, workload override), writes only on change, release, unsupported queues, refusals, fan-out, forgetting queues. */
#include <stdlib.h>
#include <string.h>

#include "control/irqctl.h"
#include "testutil.h"

static struct vs_irqctl C;

static void ctl_init(const char *host_policy, bool fanout)
{
	struct vs_irq_params p;

	irq_params_defaults(&p);
	irqctl_init(&C, host_policy ? irq_policy_lookup(host_policy) : NULL, &p, fanout);
}

static int teardown(void **state)
{
	irqctl_free(&C);
	return 0;
}

/* A queue's period: packets of size bytes in 0.1 s with irqs interrupts. */
static struct vs_rxq_sample rq(enum vs_rxq_site site, const char *wl, const char *ifname, int queue,
			       long packets, long size, long irqs)
{
	struct vs_rxq_sample s;

	memset(&s, 0, sizeof(s));
	s.site = site;
	strcpy(s.workload, wl);
	strcpy(s.ifname, ifname);
	s.queue = queue;
	s.measured = true;
	s.coalesce_ok = true;
	s.s.period_s = 0.1;
	s.s.packets = (uint64_t)packets;
	s.s.bytes = (uint64_t)(packets * size);
	s.s.interrupts = (uint64_t)irqs;
	s.s.busy_cores = 0.5;
	s.busy_rx_cores = 0.5;
	s.fan_cur = 1;
	s.fan_max = 1;
	return s;
}

/* FIR: nothing on the first reading (a base), rx-usecs 125 (8,000 int/s)
 * on the first full period, nothing again while the rate holds. */
static void test_irqctl_fir_writes_once(void **state)
{
	struct vs_rxq_sample s = rq(VS_RXQ_HOST, "", "eth0", 0, 1000, 64, 1000);
	struct vs_rxq_target t[4];

	ctl_init("fir", false);
	s.measured = false;
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 0);
	assert_int_equal(C.n_q, 1);
	assert_false(C.q[0].has_decision);
	s.measured = true;
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 1);
	assert_true(t[0].set_rate && !t[0].release && !t[0].set_fan);
	assert_int_equal(t[0].rx_usecs, 125);
	assert_int_equal(t[0].queue, 0);
	assert_string_equal(t[0].ifname, "eth0");
	assert_true(C.q[0].rate_per_s == 8000);
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 0);
	assert_int_equal(C.q[0].periods, 2);
	assert_int_equal(C.q[0].changes, 1);
}

/* A workload's override beats the host's policy; "inherit" returns to it;
 * a guest queue and the shared host NIC are separate queues. */
static void test_irqctl_override(void **state)
{
	struct vs_rxq_sample s[2] = {
		rq(VS_RXQ_HOST, "", "eth0", -1, 10000, 1514, 400),   /* CGR: bulk, 4,000/s */
		rq(VS_RXQ_GUEST, "web", "eth0", -1, 1000, 64, 1000), /* CGR: sparse, 100,000/s */
	};
	struct vs_rxq_target t[4];
	char err[128];

	ctl_init("cgr", false);
	assert_int_equal(irqctl_set_policy(&C, "web", "off", err, sizeof(err)), 0);
	assert_string_equal(irqctl_override_name(&C, "web"), "off");
	assert_string_equal(irqctl_override_name(&C, "db"), "inherit");
	assert_int_equal(irqctl_step(&C, s, 2, t, 4), 1);
	assert_int_equal(t[0].site, VS_RXQ_HOST);
	assert_int_equal(t[0].rx_usecs, 250);
	assert_null(C.q[1].policy);
	/* the workload's own policy: FIR's 8,000/s */
	assert_int_equal(irqctl_set_policy(&C, "web", "fir", err, sizeof(err)), 0);
	assert_int_equal(irqctl_step(&C, s, 2, t, 4), 1);
	assert_int_equal(t[0].site, VS_RXQ_GUEST);
	assert_string_equal(t[0].workload, "web");
	assert_int_equal(t[0].rx_usecs, 125);
	/* back to the host's CGR: sparse small packets, 100,000/s = rx-usecs 10 */
	assert_int_equal(irqctl_set_policy(&C, "web", "inherit", err, sizeof(err)), 0);
	assert_string_equal(irqctl_override_name(&C, "web"), "inherit");
	assert_int_equal(irqctl_step(&C, s, 2, t, 4), 1);
	assert_int_equal(t[0].rx_usecs, 10);
	assert_ptr_equal(irqctl_policy_of(&C, "web"), irq_policy_lookup("cgr"));
}

/* Switched off, a queue whose rate vspace set is released once (its
 * original setting goes back), and then left alone. */
static void test_irqctl_release(void **state)
{
	struct vs_rxq_sample s = rq(VS_RXQ_HOST, "", "eth0", -1, 1000, 64, 1000);
	struct vs_rxq_target t[4];
	char err[128];

	ctl_init("fir", false);
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 1);
	assert_false(irqctl_idle(&C));
	assert_int_equal(irqctl_set_policy(&C, NULL, "off", err, sizeof(err)), 0);
	assert_false(irqctl_idle(&C)); /* one release still due */
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 1);
	assert_true(t[0].release && !t[0].set_rate);
	assert_true(irqctl_idle(&C));
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 0);
}

/* A queue whose driver has no coalescing gets no decision and no write;
 * explain says why in one line. */
static void test_irqctl_unsupported(void **state)
{
	struct vs_rxq_sample s = rq(VS_RXQ_HOST, "", "veth0", -1, 1000, 64, 0);
	struct vs_rxq_target t[4];
	char buf[1024];

	s.coalesce_ok = false;
	strcpy(s.unsupported, "the driver has no interrupt coalescing");
	ctl_init("air", false);
	for (int i = 0; i < 3; i++)
		assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 0);
	irqctl_explain(&C, buf, sizeof(buf));
	assert_non_null(strstr(buf, "host veth0: coalescing unsupported: the driver has no "
				    "interrupt coalescing\n"));
	assert_null(strstr(buf, "air;"));
}

/* A write the guest's agent refused marks the queue: its rate is no longer
 * in force, and explain names the refusal. */
static void test_irqctl_confirm_refusal(void **state)
{
	struct vs_rxq_sample s = rq(VS_RXQ_GUEST, "web", "eth0", -1, 1000, 64, 1000);
	struct vs_rxq_target t[4];
	char buf[1024];

	ctl_init("fir", false);
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 1);
	irqctl_confirm(&C, VS_RXQ_GUEST, "web", "eth0", -1, true, NULL);
	assert_true(C.q[0].rate_per_s == 8000);
	irqctl_confirm(&C, VS_RXQ_GUEST, "web", "eth0", -1, false, "Operation not supported");
	assert_true(C.q[0].rate_per_s == 0);
	irqctl_explain(&C, buf, sizeof(buf));
	assert_non_null(strstr(buf, "guest web eth0: coalescing unsupported: Operation not "
				    "supported"));
	/* a confirmation for a queue it does not know changes nothing */
	irqctl_confirm(&C, VS_RXQ_GUEST, "db", "eth0", -1, false, "x");
	assert_int_equal(C.n_q, 1);
}

/* Fan-out: busy receive CPUs grow the set at once (ceil(U/0.8)), shrink it
 * only with the 1.1 margin, never past fan_max; off puts it back to one. */
static void test_irqctl_fanout(void **state)
{
	struct vs_rxq_sample s = rq(VS_RXQ_HOST, "", "eth0", 0, 1000, 64, 1000);
	struct vs_rxq_target t[4];

	ctl_init(NULL, true);
	s.fan_max = 4;
	s.busy_rx_cores = 1.5; /* ceil(1.5/0.8) = 2 */
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 1);
	assert_true(t[0].set_fan && !t[0].set_rate);
	assert_int_equal(t[0].fan_n, 2);
	s.fan_cur = 2;
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 0); /* holds */
	s.busy_rx_cores = 1.55; /* ceil(1.55/0.8) = 2, ceil(1.1*1.55/0.8) = 3: still 2 */
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 0);
	s.busy_rx_cores = 5.0; /* ceil(5/0.8) = 7, capped at 4 */
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 1);
	assert_int_equal(t[0].fan_n, 4);
	s.fan_cur = 4;
	s.busy_rx_cores = 2.5; /* req 4 = cur: holds */
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 0);
	s.busy_rx_cores = 2.2; /* req ceil(2.75)=3, with the margin ceil(3.025)=4: holds */
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 0);
	s.busy_rx_cores = 2.1; /* req 3, with the margin ceil(2.8875)=3: shrinks to 3 */
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 1);
	assert_int_equal(t[0].fan_n, 3);
	s.fan_cur = 3;
	C.fanout = false;
	assert_int_equal(irqctl_step(&C, &s, 1, t, 4), 1);
	assert_int_equal(t[0].fan_n, 1);
	assert_true(irqctl_idle(&C));
}

/* Queues missing from a step (the NIC or VM left) are forgotten; the
 * targets array bounds what one step asks. */
static void test_irqctl_forget_and_bound(void **state)
{
	struct vs_rxq_sample s[3] = {
		rq(VS_RXQ_HOST, "", "eth0", 0, 1000, 64, 1000),
		rq(VS_RXQ_HOST, "", "eth0", 1, 1000, 64, 1000),
		rq(VS_RXQ_HOST, "", "eth0", 2, 1000, 64, 1000),
	};
	struct vs_rxq_target t[2];

	ctl_init("fir", false);
	assert_int_equal(irqctl_step(&C, s, 3, t, 2), 2); /* room for two */
	assert_int_equal(C.n_q, 3);
	assert_int_equal(irqctl_step(&C, s + 1, 1, t, 2), 0); /* queue 1 set already */
	assert_int_equal(C.n_q, 1);
	assert_int_equal(C.q[0].queue, 1);
}

/* Names: unknown policies name the choices; "inherit" only for a workload. */
static void test_irqctl_set_policy_errors(void **state)
{
	char err[128];

	ctl_init(NULL, false);
	assert_true(irqctl_idle(&C));
	assert_int_equal(irqctl_set_policy(&C, NULL, "fastest", err, sizeof(err)), -1);
	assert_string_equal(err, "unknown interrupt-rate policy \"fastest\" (off, fir, cgr, air)");
	assert_int_equal(irqctl_set_policy(&C, "", "inherit", err, sizeof(err)), -1);
	assert_int_equal(irqctl_set_policy(&C, "web", "bogus", err, sizeof(err)), -1);
	assert_string_equal(
		err, "unknown interrupt-rate policy \"bogus\" (off, fir, cgr, air, inherit)");
	assert_int_equal(irqctl_set_policy(&C, "web", "inherit", err, sizeof(err)), 0);
	assert_int_equal(C.n_ovr, 0); /* nothing to remember */
	assert_int_equal(irqctl_set_policy(&C, "web", "air", err, sizeof(err)), 0);
	assert_false(irqctl_idle(&C));
	assert_int_equal(irqctl_set_policy(&C, NULL, "cgr", err, sizeof(err)), 0);
	assert_ptr_equal(irqctl_policy_of(&C, ""), irq_policy_lookup("cgr"));
	assert_ptr_equal(irqctl_policy_of(&C, "web"), irq_policy_lookup("air"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_irqctl_fir_writes_once, teardown),
		cmocka_unit_test_teardown(test_irqctl_override, teardown),
		cmocka_unit_test_teardown(test_irqctl_release, teardown),
		cmocka_unit_test_teardown(test_irqctl_unsupported, teardown),
		cmocka_unit_test_teardown(test_irqctl_confirm_refusal, teardown),
		cmocka_unit_test_teardown(test_irqctl_fanout, teardown),
		cmocka_unit_test_teardown(test_irqctl_forget_and_bound, teardown),
		cmocka_unit_test_teardown(test_irqctl_set_policy_errors, teardown),
	};
	return VS_RUN_TESTS(tests);
}
