/* main.c - vspace-agent: options, then serve the host until SIGTERM (restoring the guest on exit). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "lib/cliopt.h"
#include "lib/log.h"
#include "lib/strutil.h"

static void agent_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace-agent --listen ADDR [options]\n"
		"       vspace-agent memnet [--region PATH | --pci BDF] put|ls|rm ...\n"
		"\n"
		"The guest side of vspace: the host asks it to change the NIC queue count and\n"
		"the active vCPUs of this VM, and for statistics. Every setting it changes is\n"
		"put back when it exits (SIGTERM, SIGINT).\n"
		"\n"
		"Options:\n"
		"  -l, --listen ADDR   vsock:PORT (only the host may connect), serial:PATH\n"
		"                      (/dev/virtio-ports/NAME), unix:PATH or tcp:HOST:PORT\n"
		"  -c, --cgroup DIR    the application's cgroup (e.g. /sys/fs/cgroup/app): its\n"
		"                      cpuset.cpus follows the active vCPUs\n"
		"  -p, --pid PID       an application process whose threads follow the active\n"
		"                      vCPUs (repeatable, at most %d)\n"
		"      --vf-bond IF    FlexVF without virtio-net failover: when a NIC with IF's\n"
		"                      MAC appears (a VF the host plugged), bond the two\n"
		"                      (active-backup, the VF primary) and move IF's addresses\n"
		"                      and routes to the bond; undo it when the VF goes\n"
		"  -n, --dry-run       log every change, make none\n"
		"      --sysroot DIR   resolve /proc and /sys under DIR (tests)\n"
		"  -v, --verbose       log every write\n"
		"  -q, --quiet         log warnings only\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version and the protocol version\n"
		"\n"
		"Exit status: 0 stopped by SIGTERM/SIGINT and the guest restored, 1 run-time\n"
		"failure (the guest cannot be read or restored), 2 bad option (including a\n"
		"--cgroup or --sysroot that cannot be used).\n"
		"\n"
		"Examples:\n"
		"  vspace-agent --listen serial:/dev/virtio-ports/vspace.agent --cgroup "
		"/sys/fs/cgroup/app\n"
		"  vspace-agent --listen unix:/run/vspace-agent.sock --pid 1234 --dry-run\n"
		"(the host side: vspace agent, or vspaced with agent= in the workload's section)\n"
		"\n"
		"vspace-agent memnet puts results into the VM's MemNet region for the host to\n"
		"serve (vspace-agent memnet --help).\n",
		AGENT_MAX_PIDS);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "pid", required_argument, NULL, 'p' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "sysroot", required_argument, NULL, 'S' },
		{ "vf-bond", required_argument, NULL, 'B' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent_opts o = { .sysroot = "/" };
	const char *listen = NULL;
	enum vs_log_level level = VS_LOG_INFO;
	struct proto_addr addr;
	struct agent a;
	char err[256];
	int c;

	log_init("vspace-agent", VS_LOG_INFO);
	if (argc > 1 && strcmp(argv[1], "memnet") == 0)
		return agent_memnet_main(argc - 1, argv + 1);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:c:p:nvqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 'c':
			o.cgroup = optarg;
			break;
		case 'p': {
			long pid;
			if (str_to_long(optarg, 1, INT32_MAX, &pid) < 0) {
				fprintf(stderr, "vspace-agent: --pid %s: not a process id\n",
					optarg);
				return 2;
			}
			if (o.n_pids == AGENT_MAX_PIDS) {
				fprintf(stderr, "vspace-agent: at most %d --pid\n", AGENT_MAX_PIDS);
				return 2;
			}
			o.pids[o.n_pids++] = (pid_t)pid;
			break;
		}
		case 'n':
			o.dry_run = true;
			break;
		case 'S':
			o.sysroot = optarg;
			break;
		case 'B':
			o.vf_bond = optarg;
			break;
		case 'v':
			level = VS_LOG_DEBUG;
			break;
		case 'q':
			level = VS_LOG_WARN;
			break;
		case 'h':
			agent_usage(stdout);
			return 0;
		case 'V':
			printf("vspace-agent %s (protocol %d)\n", AGENT_VERSION, PROTO_VERSION);
			return 0;
		default:
			return cliopt_error("vspace-agent", c, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vspace-agent: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!listen) {
		fprintf(stderr,
			"vspace-agent: --listen ADDR is required (see vspace-agent --help)\n");
		return 2;
	}
	if (proto_addr_parse(listen, &addr, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace-agent: --listen %s\n", err);
		return 2;
	}
	log_set_level(level);
	int rc = agent_init(&a, &o, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "vspace-agent: %s\n", err);
		return rc == -2 ? 2 : 1;
	}
	int status = agent_serve(&a, &addr);
	agent_fini(&a);
	return status;
}
