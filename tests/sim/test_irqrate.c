/* test_irqrate.c - the interrupt-moderation model: k emerges from the rate, ring overflow, receive livelock without moderation, fan-out, determinism, bad configurations. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/irqrate.h"
#include "sim/irqrate_costs.h"

static struct irqsim_result run_fixed(int vms, int bytes, enum irqsim_proto proto, double rate)
{
	struct irqsim_config c;
	struct irqsim_result r;
	char err[160];

	irqsim_config_defaults(&c);
	c.n_vms = vms;
	c.pkt_bytes = bytes;
	c.proto = proto;
	c.policy = NULL;
	c.fixed_per_s = rate;
	c.duration_s = 0.5;
	c.warmup_s = 0.2;
	if (irqsim_run(&c, &r, err, sizeof(err)) != 0)
		fail_msg("irqsim_run: %s", err);
	assert_true(r.cpu_cores >= 0 && r.cpu_cores <= IRQ_SIM_CORES + 1e-9);
	assert_true(r.throughput_gbps <= r.offered_gbps * 1.01 + 1e-9);
	return r;
}

/* Below saturation the VF raises at most I interrupts per second and k =
 * P/I packets come with each: nothing tells the model k. */
static void test_k_emerges(void **state)
{
	/* 8 VMs, 1472 B UDP: 10e9/8/(1538*8) = 101,600 packets/s per VM */
	double pps = 10e9 / 8 / ((1472 + IRQ_SIM_UDP_WIRE_OVERHEAD) * 8.0);

	(void)state;
	for (double rate = 2000; rate <= 16000; rate *= 2) {
		struct irqsim_result r = run_fixed(8, 1472, IRQSIM_UDP, rate);
		double per_vf = r.int_per_s / 8;
		if (per_vf > rate * 1.001 || per_vf < rate * 0.95)
			fail_msg("rate %.0f: %.0f interrupts/s per VF", rate, per_vf);
		assert_true(fabs(r.pkts_per_int - pps / per_vf) < 0.02 * pps / per_vf);
		assert_true(r.loss_pct == 0);
	}
}

/* A rate so low that an interval's packets exceed the ring loses them there;
 * a moderate one does not. */
static void test_ring_overflow(void **state)
{
	struct irqsim_result low = run_fixed(8, 512, IRQSIM_UDP, 250);
	struct irqsim_result mid = run_fixed(8, 512, IRQSIM_UDP, 8000);

	(void)state;
	/* 270,000 packets/s per VM / 250 = 1,080 per interval > 512 descriptors */
	assert_true(low.ring_loss_pct > 10);
	assert_true(low.pkts_per_int <= IRQ_SIM_RING * 1.7);
	assert_true(mid.ring_loss_pct == 0 && mid.loss_pct == 0);
	assert_true(low.throughput_gbps < mid.throughput_gbps);
}

/* Throughput against the fixed rate rises, then falls when interrupts eat
 * the vCPU (UDP, 8 VMs, 512 B); without moderation the receive path livelocks
 * the reader: more interrupts, more CPU, less throughput. */
static void test_rise_and_fall(void **state)
{
	struct irqsim_result lo = run_fixed(8, 512, IRQSIM_UDP, 250);
	struct irqsim_result mid = run_fixed(8, 512, IRQSIM_UDP, 16000);
	struct irqsim_result hi = run_fixed(8, 512, IRQSIM_UDP, 100000);
	struct irqsim_result off = run_fixed(8, 512, IRQSIM_UDP, 0);

	(void)state;
	printf("# 512 B UDP, 8 VMs: 250/s %.2f Gbit/s, 16000/s %.2f, 100000/s %.2f (%.1f cores), "
	       "off %.2f\n",
	       lo.throughput_gbps, mid.throughput_gbps, hi.throughput_gbps, hi.cpu_cores,
	       off.throughput_gbps);
	assert_true(mid.throughput_gbps > lo.throughput_gbps);
	assert_true(mid.throughput_gbps > hi.throughput_gbps);
	assert_true(hi.cpu_cores > mid.cpu_cores);
	assert_true(off.int_per_s > mid.int_per_s);
	assert_true(hi.loss_pct > 0 && hi.ring_loss_pct == 0); /* lost at the socket */
}

/* At saturation NAPI keeps polling and the vector stays masked: no
 * interrupts, whatever the rate (50 B UDP at line rate into one VM). */
static void test_saturation_masks_interrupts(void **state)
{
	struct irqsim_result a = run_fixed(1, 50, IRQSIM_UDP, 8000);
	struct irqsim_result b = run_fixed(1, 50, IRQSIM_UDP, 100000);

	(void)state;
	assert_true(a.cpu_cores > 0.99);
	assert_true(a.int_per_s < 100 && b.int_per_s < 100);
	assert_true(fabs(a.throughput_gbps - b.throughput_gbps) < 1e-3);
	assert_true(a.ring_loss_pct > 90);
}

/* TCP: the window keeps the ring from overflowing; the reader gets what the
 * sender sent. */
static void test_tcp(void **state)
{
	struct irqsim_result r = run_fixed(8, 1472, IRQSIM_TCP, 8000);

	(void)state;
	assert_true(r.loss_pct == 0);
	assert_true(r.throughput_gbps > 9 && r.throughput_gbps < 10);
}

/* The policies: CGR puts 1472-byte traffic in the bulk class (4,000/s per
 * VF), FIR at 8,000/s; AIR below the clamp follows P/k + offset. */
static void test_policies(void **state)
{
	struct irqsim_config c;
	struct irqsim_result fir, cgr, air;
	char err[160];

	(void)state;
	irqsim_config_defaults(&c);
	c.n_vms = 16;
	c.duration_s = 0.6;
	c.warmup_s = 0.3;
	c.policy = &irq_policy_fir;
	assert_int_equal(irqsim_run(&c, &fir, err, sizeof(err)), 0);
	c.policy = &irq_policy_cgr;
	assert_int_equal(irqsim_run(&c, &cgr, err, sizeof(err)), 0);
	c.policy = &irq_policy_air;
	assert_int_equal(irqsim_run(&c, &air, err, sizeof(err)), 0);
	assert_true(fabs(fir.rate_per_s - 8000) < 1e-6);
	assert_true(fabs(cgr.rate_per_s - 4000) < 1e-6);
	/* 16 VMs: P = 10e9/16/(1538*8) = 50,800/s; P/32 + 1000 = 2,588 */
	assert_true(fabs(air.rate_per_s - 2588) < 60);
	assert_true(fir.int_per_s > cgr.int_per_s && cgr.int_per_s > air.int_per_s);
	assert_true(fir.cpu_cores > air.cpu_cores);
}

/* Fan-out: a saturated interrupt vCPU spreads the stack over both vCPUs and
 * more packets get through. */
static void test_fanout(void **state)
{
	struct irqsim_config c;
	struct irqsim_result off, on;
	char err[160];

	(void)state;
	irqsim_config_defaults(&c);
	c.n_vms = 4;
	c.vcpus_per_vm = 2;
	c.flows_per_vm = 4;
	c.pkt_bytes = 512;
	c.duration_s = 0.6;
	assert_int_equal(irqsim_run(&c, &off, err, sizeof(err)), 0);
	c.fanout = true;
	assert_int_equal(irqsim_run(&c, &on, err, sizeof(err)), 0);
	assert_true(off.fanout_cpus == 1);
	assert_true(on.fanout_cpus > 1.5);
	assert_true(on.throughput_gbps > off.throughput_gbps * 1.2);
}

static void test_deterministic(void **state)
{
	struct irqsim_result a = run_fixed(12, 512, IRQSIM_TCP, 4000);
	struct irqsim_result b = run_fixed(12, 512, IRQSIM_TCP, 4000);

	(void)state;
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_bad_config(void **state)
{
	struct irqsim_config c;
	struct irqsim_result r;
	char err[160];

	(void)state;
	irqsim_config_defaults(&c);
	c.n_vms = 0;
	assert_int_equal(irqsim_run(&c, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VMs"));
	irqsim_config_defaults(&c);
	c.pkt_bytes = 9000;
	assert_int_equal(irqsim_run(&c, &r, err, sizeof(err)), -1);
	irqsim_config_defaults(&c);
	c.warmup_s = 2;
	assert_int_equal(irqsim_run(&c, &r, err, sizeof(err)), -1);
	irqsim_config_defaults(&c);
	c.int_cost_scale = 0;
	assert_int_equal(irqsim_run(&c, &r, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_k_emerges),
		cmocka_unit_test(test_ring_overflow),
		cmocka_unit_test(test_rise_and_fall),
		cmocka_unit_test(test_saturation_masks_interrupts),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_fanout),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_bad_config),
	};
	return VS_RUN_TESTS(tests);
}
