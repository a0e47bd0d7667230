/* test_irqcal.c - the calibration file (parse, format, errors), the least-squares fit, and which interrupt vectors count as a NIC's receive queues. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/irqcal.h"
#include "platform/linux/procfs.h"

static int parse(const char *text, struct vs_irqcal *c, char *err)
{
	return irqcal_parse(text, strlen(text), c, err, 256);
}

static void test_roundtrip(void **state)
{
	struct vs_irqcal c = { .c_pkt_ns = 812.44,
			       .c_int_ns = 4210.31,
			       .residual_pct = 1.937,
			       .runs = 6 },
			 back;
	char err[256];

	(void)state;
	strcpy(c.ifname, "eth0");
	strcpy(c.source, "agent serial:/run/vm.agent");
	strcpy(c.time, "2025-01-01T12:00:00Z");
	char *text = irqcal_format(&c);
	assert_non_null(text);
	assert_int_equal(text[strlen(text) - 1], '\n');
	if (parse(text, &back, err) != 0)
		fail_msg("%s: %s", text, err);
	assert_true(back.c_pkt_ns == 812.44 && back.c_int_ns == 4210.31); /* exactly */
	assert_true(fabs(back.residual_pct - 1.94) < 1e-9);
	assert_int_equal(back.runs, 6);
	assert_string_equal(back.ifname, "eth0");
	assert_string_equal(back.source, "agent serial:/run/vm.agent");
	free(text);
	/* the minimum: version and the two costs */
	assert_int_equal(parse("{\"version\":1,\"c_pkt_ns\":1,\"c_int_ns\":2}", &back, err), 0);
	assert_true(back.residual_pct < 0 && back.runs == 0 && back.ifname[0] == '\0');
}

static void test_bad_files(void **state)
{
	const struct {
		const char *text, *want;
	} c[] = {
		{ "", "not a JSON object" },
		{ "[1]", "not a JSON object" },
		{ "{\"version\":1,\"c_pkt_ns\":1,\"c_int_ns\":2,\"k\":3}", "unknown field \"k\"" },
		{ "{\"c_pkt_ns\":1,\"c_int_ns\":2}", "\"version\" must be 1" },
		{ "{\"version\":2,\"c_pkt_ns\":1,\"c_int_ns\":2}", "\"version\" must be 1" },
		{ "{\"version\":1,\"c_int_ns\":2}", "missing \"c_pkt_ns\"" },
		{ "{\"version\":1,\"c_pkt_ns\":0,\"c_int_ns\":2}",
		  "\"c_pkt_ns\" must be a number" },
		{ "{\"version\":1,\"c_pkt_ns\":1,\"c_int_ns\":-2}",
		  "\"c_int_ns\" must be a number" },
		{ "{\"version\":1,\"c_pkt_ns\":1,\"c_int_ns\":2e12}", "\"c_int_ns\" must be" },
		{ "{\"version\":1,\"c_pkt_ns\":\"1\",\"c_int_ns\":2}", "\"c_pkt_ns\" must be" },
		{ "{\"version\":1,\"c_pkt_ns\":1,\"c_int_ns\":2,\"runs\":1}", "\"runs\" must be" },
		{ "{\"version\":1,\"c_pkt_ns\":1,\"c_int_ns\":2,\"residual_pct\":-1}",
		  "\"residual_pct\" must be" },
		{ "{\"version\":1,\"c_pkt_ns\":1,\"c_int_ns\":2,\"ifname\":"
		  "\"averyveryverylongname\"}",
		  "\"ifname\" must be a string of at most 15 bytes" },
		{ "{\"version\":1,\"version\":1,\"c_pkt_ns\":1,\"c_int_ns\":2}",
		  "not a JSON object" },
	};
	struct vs_irqcal out;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (parse(c[i].text, &out, err) == 0)
			fail_msg("accepted: %s", c[i].text);
		if (!strstr(err, c[i].want))
			fail_msg("%s -> \"%s\", expected \"%s\"", c[i].text, err, c[i].want);
	}
}

/* Runs made from known costs give the costs back exactly, residual 0. */
static void test_fit_exact(void **state)
{
	double pk[4] = { 30000, 30000, 30000, 30000 }, ir[4] = { 3000, 6000, 12000, 24000 }, z[4];
	double a, b, rms, pct, fit[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		z[i] = (800 * pk[i] + 4000 * ir[i]) / 1e6;
	assert_int_equal(irqcal_fit(pk, ir, z, 4, &a, &b, &rms, &pct, fit), 0);
	assert_true(fabs(a - 800) < 1e-6 && fabs(b - 4000) < 1e-6);
	assert_true(rms < 1e-9 && pct < 1e-6);
	assert_true(fabs(fit[3] - z[3]) < 1e-9);
}

/* Noise gives a residual that says so; proportional runs are refused. */
static void test_fit_noise_and_singular(void **state)
{
	double pk[3] = { 20000, 21000, 19000 }, ir[3] = { 2000, 4000, 8000 }, z[3];
	double a, b, rms, pct;
	uint64_t seed = 5;

	(void)state;
	for (int i = 0; i < 3; i++)
		z[i] = (1000 * pk[i] + 5000 * ir[i]) / 1e6 *
		       (1 + 0.02 * (vs_test_unit(&seed) - 0.5));
	assert_int_equal(irqcal_fit(pk, ir, z, 3, &a, &b, &rms, &pct, NULL), 0);
	assert_true(fabs(a - 1000) < 100 && fabs(b - 5000) < 1500);
	assert_true(rms > 0 && pct > 0 && pct < 2);
	/* interrupts proportional to packets: C_pkt and C_int cannot be told apart */
	double pk2[3] = { 1000, 2000, 4000 }, ir2[3] = { 100, 200, 400 }, z2[3] = { 1, 2, 4 };
	assert_int_equal(irqcal_fit(pk2, ir2, z2, 3, &a, &b, &rms, &pct, NULL), -1);
	assert_int_equal(irqcal_fit(pk, ir, z, 1, &a, &b, &rms, &pct, NULL), -1);
	double zero[3] = { 0, 0, 0 };
	assert_int_equal(irqcal_fit(pk, zero, z, 3, &a, &b, &rms, &pct, NULL), -1);
}

/* Vector names: virtio input.Q, e1000e/igb IF-rx-Q, ixgbevf IF-TxRx-Q; tx
 * vectors, other NICs and prefixes of longer names are not the NIC's rx. */
static void test_rx_queue_names(void **state)
{
	(void)state;
	assert_int_equal(interrupts_rx_queue("virtio0-input.3", "eth0", "virtio0"), 3);
	assert_int_equal(interrupts_rx_queue("virtio0-output.3", "eth0", "virtio0"), -1);
	assert_int_equal(interrupts_rx_queue("virtio1-input.0", "eth0", "virtio0"), -1);
	assert_int_equal(interrupts_rx_queue("eth0-rx-0", "eth0", NULL), 0);
	assert_int_equal(interrupts_rx_queue("eth0-TxRx-7", "eth0", ""), 7);
	assert_int_equal(interrupts_rx_queue("eth0-tx-0", "eth0", NULL), -1);
	assert_int_equal(interrupts_rx_queue("eth0", "eth0", NULL), VS_IRQ_RXQ_BARE);
	assert_int_equal(interrupts_rx_queue("eth00-rx-0", "eth0", NULL), -1);
	assert_int_equal(interrupts_rx_queue("eth0-rx-x", "eth0", NULL), -1);
	assert_int_equal(interrupts_rx_queue("eth0-rx-", "eth0", NULL), -1);

	struct vs_irq_line l[] = {
		{ 24, 1205, "eth0-rx-0" }, { 25, 30, "eth0-tx-0" }, { 26, 2, "eth0" },
		{ 27, 9, "eth00-rx-0" },   { 28, 7, "eth0-rx-2" },
	};
	uint64_t cnt[4];
	assert_int_equal(interrupts_rx_counts(l, 5, "eth0", NULL, cnt, 4), 3);
	assert_true(cnt[0] == 1205 && cnt[1] == 0 && cnt[2] == 7);
	/* a single vector (MSI): the bare name is queue 0 */
	assert_int_equal(interrupts_rx_counts(&l[2], 1, "eth0", NULL, cnt, 4), 1);
	assert_true(cnt[0] == 2);
	assert_int_equal(interrupts_rx_counts(l, 5, "eth1", NULL, cnt, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_fit_exact),
		cmocka_unit_test(test_fit_noise_and_singular),
		cmocka_unit_test(test_rx_queue_names),
	};
	return VS_RUN_TESTS(tests);
}
