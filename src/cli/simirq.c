/* simirq.c - `vspace sim irqrate`: the interrupt-moderation model's scenarios (fixed-rate sweep, policy grid, fan-out) and single runs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/cliopt.h"
#include "lib/strutil.h"
#include "sim/irqrate.h"

#define SIMIRQ_PROG "vspace sim irqrate"

static void simirq_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace sim irqrate [sweep|grid|fanout|run] [options]\n"
		"\n"
		"A discrete-event model of interrupt moderation on an SR-IOV host (SPEC §7.1):\n"
		"8 cores, VMs with a VF of a 10 GbE NIC each, TCP or UDP streams. The VF raises\n"
		"an interrupt at most every 1/I s; NAPI takes what arrived (k emerges); every\n"
		"interrupt and packet costs CPU; a full 512-descriptor ring loses packets.\n"
		"Constants and their sources: src/sim/irqrate_costs.h, docs/SIMULATOR.md.\n"
		"\n"
		"Scenarios:\n"
		"  sweep   (default) throughput and CPU against a fixed interrupt rate:\n"
		"          --rates LIST (default 250,500,1000,2000,4000,8000,16000,32000,64000,\n"
		"          100000) for --vms (default 8), --pkt-bytes (default 512), --protos\n"
		"  grid    the policies x VMs x packet sizes x protocols:\n"
		"          --policies fir,cgr,air --vms 1,4,8,12,16 --pkt-bytes 50,512,1472\n"
		"          --protos udp,tcp (the defaults)\n"
		"  fanout  4 VMs of 2 vCPUs, a 1-queue VF each, 4 streams per VM, receive fan-out\n"
		"          (RPS/RFS sized each period) off and on, per policy and packet size\n"
		"  run     one configuration: --policy P | --rate I, --vms N, --pkt-bytes B,\n"
		"          --protos udp|tcp, [--vcpus 1|2] [--flows F] [--fanout]\n"
		"\n"
		"Options:\n"
		"  --policies LIST     fir, cgr, air (grid, fanout; default all three)\n"
		"  --policy P          run: one policy\n"
		"  --rate I            run: a fixed rate, int/s (0 = no moderation)\n"
		"  --rates LIST        sweep: fixed rates\n"
		"  --vms LIST          VM counts (1..64)\n"
		"  --pkt-bytes LIST    payload sizes (1..1472)\n"
		"  --protos LIST       udp, tcp\n"
		"  --vcpus N           run: vCPUs per VM (1 or 2)\n"
		"  --flows N           run: streams per VM (1..16)\n"
		"  --fanout            run: receive fan-out on\n"
		"  --duration S        simulated seconds per run (default 1), of which\n"
		"  --warmup S          not measured (default 0.3)\n"
		"  --csv FILE          one row per run; the grid's columns:\n"
		"                      "
		"policy,vms,pkt_bytes,proto,throughput_gbps,cpu_cores,loss_pct,int_per_s\n"
		"  --svg FILE          a plot of the table\n"
		"  --jobs N            parallel runs (default: the number of CPUs)\n"
		"Sensitivity (how the results move with the uncertain constants):\n"
		"  --pkt-cost-scale X  the guest's per-packet costs times X (0.1..10)\n"
		"  --int-cost-scale X  the per-interrupt costs (host handler, ISR, EOI) times X\n"
		"  --ring N            descriptors per VF (default 512, IXGBEVF_DEFAULT_RXD)\n"
		"  -h, --help          this text\n"
		"\n"
		"Exit status: 0 ok, 1 a run failed, 2 bad arguments.\n"
		"\n"
		"Examples:\n"
		"  vspace sim irqrate sweep --vms 8 --pkt-bytes 512 --protos udp --svg sweep.svg\n"
		"  vspace sim irqrate grid --csv grid.csv --svg grid.svg\n"
		"  vspace sim irqrate fanout\n");
}

static int simirq_list(const char *opt, const char *text, char **f, char *buf, size_t len)
{
	int n;

	if (strlen(text) >= len) {
		fprintf(stderr, SIMIRQ_PROG ": %s: list too long\n", opt);
		return -1;
	}
	str_copy(buf, text, len);
	n = str_split(buf, ',', f, IRQSIM_MAX_LIST);
	if (n <= 0) {
		fprintf(stderr, SIMIRQ_PROG ": %s: more than %d entries in \"%s\"\n", opt,
			IRQSIM_MAX_LIST, text);
		return -1;
	}
	for (int i = 0; i < n; i++)
		f[i] = str_trim(f[i]);
	return n;
}

static int simirq_ints(const char *opt, const char *text, long lo, long hi, int *out)
{
	char buf[512], *f[IRQSIM_MAX_LIST];
	int n = simirq_list(opt, text, f, buf, sizeof(buf));

	for (int i = 0; i < n; i++) {
		long v;
		if (str_to_long(f[i], lo, hi, &v) < 0) {
			fprintf(stderr,
				SIMIRQ_PROG ": %s: \"%s\" is not a whole number in [%ld, %ld]\n",
				opt, f[i], lo, hi);
			return -1;
		}
		out[i] = (int)v;
	}
	return n;
}

static int simirq_protos(const char *text, struct irqsim_scen_opts *o)
{
	char buf[64], *f[IRQSIM_MAX_LIST];
	int n = simirq_list("--protos", text, f, buf, sizeof(buf));

	if (n < 0 || n > 2)
		return -1;
	for (int i = 0; i < n; i++) {
		if (strcmp(f[i], "udp") == 0) {
			o->protos[i] = IRQSIM_UDP;
		} else if (strcmp(f[i], "tcp") == 0) {
			o->protos[i] = IRQSIM_TCP;
		} else {
			fprintf(stderr, SIMIRQ_PROG ": --protos: \"%s\" is not udp or tcp\n", f[i]);
			return -1;
		}
	}
	o->n_protos = n;
	return 0;
}

static int simirq_policies(const char *opt, const char *text, struct irqsim_scen_opts *o)
{
	char buf[128], *f[IRQSIM_MAX_LIST];
	int n = simirq_list(opt, text, f, buf, sizeof(buf));

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (!irq_policy_lookup(f[i])) {
			fprintf(stderr, SIMIRQ_PROG ": %s: unknown policy \"%s\" (fir, cgr, air)\n",
				opt, f[i]);
			return -1;
		}
		str_copy(o->policies[i], f[i], sizeof(o->policies[i]));
	}
	o->n_policies = n;
	return 0;
}

static int simirq_run(const struct irqsim_scen_opts *o, const char *policy, double rate, int vcpus,
		      int flows, bool fanout)
{
	struct irqsim_config c;
	struct irqsim_result r;
	char err[256];

	irqsim_config_defaults(&c);
	c.n_vms = o->n_vms ? o->vms[0] : 8;
	c.pkt_bytes = o->n_pkt_bytes ? o->pkt_bytes[0] : 1472;
	c.proto = o->n_protos ? o->protos[0] : IRQSIM_UDP;
	c.vcpus_per_vm = vcpus;
	c.flows_per_vm = flows;
	c.fanout = fanout;
	c.policy = policy ? irq_policy_lookup(policy) : NULL;
	c.fixed_per_s = rate;
	if (o->duration_s > 0)
		c.duration_s = o->duration_s;
	if (o->warmup_s >= 0)
		c.warmup_s = o->warmup_s;
	if (o->pkt_cost_scale > 0)
		c.pkt_cost_scale = o->pkt_cost_scale;
	if (o->int_cost_scale > 0)
		c.int_cost_scale = o->int_cost_scale;
	c.ring = o->ring;
	if (irqsim_run(&c, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, SIMIRQ_PROG " run: %s\n", err);
		return 2;
	}
	printf("%d VMs x %d vCPU, %d flow(s) each, %d B %s, %s%s: offered %.3f Gbit/s, "
	       "throughput %.3f Gbit/s, CPU %.2f cores, loss %.2f %% (ring %.2f %%), %.0f int/s "
	       "(%.1f packets each), rate set %.0f, fan-out %.2f CPUs, %lld events\n",
	       c.n_vms, c.vcpus_per_vm, c.flows_per_vm, c.pkt_bytes,
	       c.proto == IRQSIM_UDP ? "UDP" : "TCP", policy ? policy : "fixed",
	       fanout ? " + fan-out" : "", r.offered_gbps, r.throughput_gbps, r.cpu_cores,
	       r.loss_pct, r.ring_loss_pct, r.int_per_s, r.pkts_per_int, r.rate_per_s,
	       r.fanout_cpus, r.events);
	return 0;
}

int simirq_main(int argc, char **argv)
{
	enum {
		OPT_POLICIES = 256,
		OPT_POLICY,
		OPT_RATE,
		OPT_RATES,
		OPT_VMS,
		OPT_BYTES,
		OPT_PROTOS,
		OPT_VCPUS,
		OPT_FLOWS,
		OPT_FANOUT,
		OPT_DURATION,
		OPT_WARMUP,
		OPT_CSV,
		OPT_SVG,
		OPT_JOBS,
		OPT_PKT_SCALE,
		OPT_INT_SCALE,
		OPT_RING,
	};
	static const struct option longopts[] = {
		{ "policies", required_argument, NULL, OPT_POLICIES },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "rates", required_argument, NULL, OPT_RATES },
		{ "vms", required_argument, NULL, OPT_VMS },
		{ "pkt-bytes", required_argument, NULL, OPT_BYTES },
		{ "protos", required_argument, NULL, OPT_PROTOS },
		{ "vcpus", required_argument, NULL, OPT_VCPUS },
		{ "flows", required_argument, NULL, OPT_FLOWS },
		{ "fanout", no_argument, NULL, OPT_FANOUT },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "csv", required_argument, NULL, OPT_CSV },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "jobs", required_argument, NULL, OPT_JOBS },
		{ "pkt-cost-scale", required_argument, NULL, OPT_PKT_SCALE },
		{ "int-cost-scale", required_argument, NULL, OPT_INT_SCALE },
		{ "ring", required_argument, NULL, OPT_RING },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct irqsim_scen_opts o = { .what = "sweep", .warmup_s = -1 };
	const char *policy = NULL;
	double rate = -1;
	long v;
	int ch, vcpus = 1, flows = 1;
	bool fanout = false;

	if (argc > 1 && argv[1][0] != '-') {
		o.what = argv[1];
		argc--;
		argv++;
		if (strcmp(o.what, "sweep") && strcmp(o.what, "grid") && strcmp(o.what, "fanout") &&
		    strcmp(o.what, "run")) {
			fprintf(stderr,
				SIMIRQ_PROG
				": unknown scenario \"%s\" (sweep, grid, fanout, run)\n",
				o.what);
			return 2;
		}
	}
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		int bad = 0;
		switch (ch) {
		case OPT_POLICIES:
			bad = simirq_policies("--policies", optarg, &o);
			break;
		case OPT_POLICY:
			if (!irq_policy_lookup(optarg)) {
				fprintf(stderr,
					SIMIRQ_PROG
					": --policy: unknown policy \"%s\" (fir, cgr, air)\n",
					optarg);
				bad = -1;
			}
			policy = optarg;
			break;
		case OPT_RATE:
			if (str_to_double(optarg, 0, 1e6, &rate) < 0) {
				fprintf(stderr, SIMIRQ_PROG ": --rate: \"%s\" is not 0..1000000\n",
					optarg);
				bad = -1;
			}
			break;
		case OPT_RATES: {
			char buf[512], *f[IRQSIM_MAX_LIST];
			int n = simirq_list("--rates", optarg, f, buf, sizeof(buf));
			bad = n < 0;
			for (int i = 0; i < n && !bad; i++)
				if (str_to_double(f[i], 0, 1e6, &o.rates[i]) < 0) {
					fprintf(stderr,
						SIMIRQ_PROG ": --rates: \"%s\" is not 0..1000000\n",
						f[i]);
					bad = -1;
				}
			o.n_rates = n;
			break;
		}
		case OPT_VMS:
			o.n_vms = simirq_ints("--vms", optarg, 1, 64, o.vms);
			bad = o.n_vms < 0;
			break;
		case OPT_BYTES:
			o.n_pkt_bytes = simirq_ints("--pkt-bytes", optarg, 1, 1472, o.pkt_bytes);
			bad = o.n_pkt_bytes < 0;
			break;
		case OPT_PROTOS:
			bad = simirq_protos(optarg, &o);
			break;
		case OPT_VCPUS:
		case OPT_FLOWS:
			if (str_to_long(optarg, 1, ch == OPT_VCPUS ? 2 : 16, &v) < 0) {
				fprintf(stderr, SIMIRQ_PROG ": %s: \"%s\" is not 1..%d\n",
					ch == OPT_VCPUS ? "--vcpus" : "--flows", optarg,
					ch == OPT_VCPUS ? 2 : 16);
				bad = -1;
			}
			*(ch == OPT_VCPUS ? &vcpus : &flows) = (int)v;
			break;
		case OPT_FANOUT:
			fanout = true;
			break;
		case OPT_DURATION:
		case OPT_WARMUP:
			if (str_to_double(optarg, 0, 3600,
					  ch == OPT_DURATION ? &o.duration_s : &o.warmup_s) < 0) {
				fprintf(stderr, SIMIRQ_PROG ": %s: \"%s\" is not 0..3600 s\n",
					ch == OPT_DURATION ? "--duration" : "--warmup", optarg);
				bad = -1;
			}
			break;
		case OPT_CSV:
			o.csv = optarg;
			break;
		case OPT_SVG:
			o.svg = optarg;
			break;
		case OPT_JOBS:
			if (str_to_long(optarg, 1, 256, &v) < 0) {
				fprintf(stderr, SIMIRQ_PROG ": --jobs: \"%s\" is not 1..256\n",
					optarg);
				bad = -1;
			}
			o.jobs = (int)v;
			break;
		case OPT_PKT_SCALE:
		case OPT_INT_SCALE:
			if (str_to_double(optarg, 0.1, 10,
					  ch == OPT_PKT_SCALE ? &o.pkt_cost_scale
							      : &o.int_cost_scale) < 0) {
				fprintf(stderr, SIMIRQ_PROG ": %s: \"%s\" is not 0.1..10\n",
					ch == OPT_PKT_SCALE ? "--pkt-cost-scale"
							    : "--int-cost-scale",
					optarg);
				bad = -1;
			}
			break;
		case OPT_RING:
			if (str_to_long(optarg, 16, 65536, &v) < 0) {
				fprintf(stderr, SIMIRQ_PROG ": --ring: \"%s\" is not 16..65536\n",
					optarg);
				bad = -1;
			}
			o.ring = (int)v;
			break;
		case 'h':
			simirq_usage(stdout);
			return 0;
		default:
			return cliopt_error(SIMIRQ_PROG, ch, argv);
		}
		if (bad)
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, SIMIRQ_PROG ": unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (o.duration_s > 0 && o.warmup_s >= o.duration_s) {
		fprintf(stderr, SIMIRQ_PROG ": --warmup must be shorter than --duration\n");
		return 2;
	}
	if (strcmp(o.what, "run") == 0) {
		if (!policy == (rate < 0)) {
			fprintf(stderr, SIMIRQ_PROG " run: give --policy P or --rate I\n");
			return 2;
		}
		return simirq_run(&o, policy, rate < 0 ? 0 : rate, vcpus, flows, fanout);
	}
	if (policy || rate >= 0 || fanout || vcpus != 1 || flows != 1) {
		fprintf(stderr,
			SIMIRQ_PROG " %s: --policy, --rate, --vcpus, --flows and --fanout "
				    "are for run\n",
			o.what);
		return 2;
	}
	return irqsim_scenario(&o, stdout);
}
