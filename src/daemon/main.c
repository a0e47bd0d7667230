/* main.c - vspaced: the vspace host daemon (options; the work is in vspaced.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/vspaced.h"
#include "lib/cliopt.h"
#include "lib/log.h"
#include "lib/strutil.h"

static void vsd_usage(FILE *f)
{
	fprintf(f,
		"usage: vspaced [-c FILE] [options]\n"
		"\n"
		"Dynamic CPU-core management for latency-critical workloads (VMs or plain\n"
		"processes): every period vspaced measures the busy time of each workload's\n"
		"vCPU group and packet-processing (NQ) group, decides their core counts with\n"
		"the configured policy and moves threads, IRQs, RPS/XPS masks and NIC channels\n"
		"to match. Everything it changes is recorded in a state file first and put\n"
		"back on exit (on_exit=restore) or, after a crash, at the next start.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE   configuration (default /etc/vspace/vspace.conf);\n"
		"                      see vspace.conf in examples/ and docs/DAEMON.md\n"
		"  -n, --check         check the configuration and the host it is for (cores\n"
		"                      online and not isolated, NICs in their namespaces,\n"
		"                      pidfile directories, cgroup hierarchies, libvirt),\n"
		"                      changing nothing; exit 0 valid, 2 not (every problem\n"
		"                      named at FILE:LINE: [section] key)\n"
		"      --dry-run       measure and decide, log every write instead of making it\n"
		"      --once          run one period, print the decision (explain), exit\n"
		"      --sysroot DIR   resolve every /proc, /sys and cgroupfs path under DIR\n"
		"                      (a fixture tree); system calls are emulated under\n"
		"                      DIR/.vspace-emul/\n"
		"      --period-ms MS  override period_ms (10..60000)\n"
		"      --bench N       with --dry-run: run N periods back to back and print the\n"
		"                      CPU time of one period and the peak RSS\n"
		"      --bench-writes N  time each kind of write on this host N times (moves\n"
		"                      the first LC workload between its core sets), then restore\n"
		"  -v, --verbose       debug logging (every write, discovery)\n"
		"  -h, --help          this text\n"
		"      --version       print the version\n"
		"\n"
		"Signals: TERM/INT/QUIT stop (and restore per on_exit); USR1 logs `explain`;\n"
		"HUP is ignored (restart to change the configuration).\n"
		"\n"
		"Control: vspacectl talks to control_socket (JSON lines): status, explain,\n"
		"report WORKLOAD p95=US, set mode|threshold|slo, pause, resume.\n"
		"Metrics: Prometheus text on http://metrics_listen/metrics and in\n"
		"metrics_textfile (node_exporter textfile collector).\n"
		"\n"
		"Exit status: 0 ok, 1 run-time failure (e.g. the socket is in use, or some\n"
		"setting could not be restored), 2 bad option or configuration error\n"
		"(FILE:LINE: [section] key: why).\n"
		"\n"
		"Examples:\n"
		"  vspaced -n -c /etc/vspace/vspace.conf      check a configuration on this host\n"
		"  vspaced -n -c tests/fixtures/synth-b/vspace.conf --sysroot "
		"tests/fixtures/synth-b/root\n"
		"                                              ... against a captured host\n"
		"  vspaced -c /etc/vspace/vspace.conf --dry-run   decide and log the writes, make "
		"none\n"
		"  vspaced -c /etc/vspace/vspace.conf          run (root); SIGTERM puts everything "
		"back\n"
		"  vspaced -c tests/fixtures/synth-b/vspace.conf --sysroot "
		"tests/fixtures/synth-b/root \\\n"
		"          --dry-run --once                    one period on a fixture tree\n");
}

int main(int argc, char **argv)
{
	enum {
		OPT_DRY = 256,
		OPT_ONCE,
		OPT_SYSROOT,
		OPT_PERIOD,
		OPT_BENCH,
		OPT_BENCH_W,
		OPT_VERSION
	};
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "sysroot", required_argument, NULL, OPT_SYSROOT },
		{ "period-ms", required_argument, NULL, OPT_PERIOD },
		{ "bench", required_argument, NULL, OPT_BENCH },
		{ "bench-writes", required_argument, NULL, OPT_BENCH_W },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct vsd_opts o = { .config = "/etc/vspace/vspace.conf" };
	long v;
	int ch;

	log_init("vspaced", VS_LOG_INFO);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:nvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config = optarg;
			break;
		case 'n':
			o.check = true;
			break;
		case OPT_DRY:
			o.dry_run = true;
			break;
		case OPT_ONCE:
			o.once = true;
			break;
		case OPT_SYSROOT:
			o.sysroot = optarg;
			break;
		case OPT_PERIOD:
			if (str_to_long(optarg, VSD_PERIOD_MS_MIN, VSD_PERIOD_MS_MAX, &v) < 0) {
				fprintf(stderr,
					"vspaced: --period-ms: \"%s\" is not a number of "
					"milliseconds in [%d, %d]\n",
					optarg, VSD_PERIOD_MS_MIN, VSD_PERIOD_MS_MAX);
				return 2;
			}
			o.period_ms = (int)v;
			break;
		case OPT_BENCH:
		case OPT_BENCH_W:
			if (str_to_long(optarg, 1, 10000000, &v) < 0) {
				fprintf(stderr,
					"vspaced: %s: \"%s\" is not a count in [1, 10000000]\n",
					ch == OPT_BENCH ? "--bench" : "--bench-writes", optarg);
				return 2;
			}
			if (ch == OPT_BENCH)
				o.bench = (int)v;
			else
				o.bench_writes = (int)v;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			vsd_usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("vspaced 0.1\n");
			return 0;
		default:
			return cliopt_error("vspaced", ch, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vspaced: unexpected argument \"%s\" (see --help)\n", argv[optind]);
		return 2;
	}
	if (o.bench > 0 && !o.dry_run) {
		fprintf(stderr,
			"vspaced: --bench needs --dry-run (it measures the loop, not writes)\n");
		return 2;
	}
	if (o.bench_writes > 0 && o.dry_run) {
		fprintf(stderr, "vspaced: --bench-writes makes writes: not with --dry-run\n");
		return 2;
	}
	return vsd_main(&o);
}
