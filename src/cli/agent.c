/* agent.c - `vspace agent`: talk to a guest's vspace-agent from the host (commands, raw lines, RTT). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/cliopt.h"
#include "lib/strutil.h"
#include "proto/client.h"

static void agent_cli_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace agent --connect ADDR [options] COMMAND [ARGS]\n"
		"\n"
		"Send one command to a guest's vspace-agent and print its answer (JSON).\n"
		"\n"
		"Commands:\n"
		"  hello                        protocol version, vCPUs, NICs and queue maxima\n"
		"  stats [IFNAME]               per-vCPU busy time, per-queue packets and bytes\n"
		"  set_vnq IFNAME N             N queues on the guest NIC IFNAME\n"
		"  set_vcpus N [cpuset|hotplug] active vCPUs 0..N-1\n"
		"  get_coalesce IFNAME          interrupt coalescing of IFNAME (ethtool -c)\n"
		"  set_coalesce IFNAME USECS [adaptive]\n"
		"                               rx-usecs USECS (interrupt rate 1e6/USECS),\n"
		"                               adaptive-rx off unless \"adaptive\" is given\n"
		"  set_rps IFNAME N             receive processing of IFNAME over the first N\n"
		"                               active vCPUs (RPS/RFS); 1 = no fan-out\n"
		"  restore                      put back every setting the agent changed\n"
		"  raw                          send each stdin line as is, print each reply line\n"
		"\n"
		"Options:\n"
		"  -c, --connect ADDR   serial:PATH (QEMU's Unix-socket chardev), unix:PATH,\n"
		"                       tcp:HOST:PORT or vsock:CID:PORT\n"
		"  -t, --timeout MS     give up after MS milliseconds (default 5000)\n"
		"  -r, --repeat N       send the command N times and print round-trip times\n"
		"                       (microseconds: min, p50, p95, p99, max) instead\n"
		"  -h, --help           this text\n"
		"\n"
		"Exit status: 0 answered ok, 1 the agent refused or did not answer, 2 bad "
		"usage.\n"
		"\n"
		"Examples:\n"
		"  vspace agent -c serial:/run/vm.agent hello\n"
		"  vspace agent -c unix:/tmp/agent.sock set_vnq eth0 2\n"
		"  vspace agent -c serial:/run/vm.agent set_coalesce eth0 250\n"
		"  vspace agent -c unix:/tmp/agent.sock -r 200 stats\n"
		"  echo '{\"v\":1,\"id\":1,\"cmd\":\"hello\"}' | vspace agent -c "
		"unix:/tmp/agent.sock raw\n");
}

/* Build the args object of a command from the words after it. */
static int agent_cli_args(const char *cmd, int argc, char **argv, json_t **args, char *err,
			  size_t errlen)
{
	long n;

	*args = NULL;
	if (strcmp(cmd, "restore") == 0) {
		if (argc > 0) {
			snprintf(err, errlen, "restore: takes no arguments");
			return -1;
		}
		return 0;
	}
	if (strcmp(cmd, "hello") == 0 || strcmp(cmd, "stats") == 0) {
		if (argc > (cmd[0] == 's' ? 1 : 0)) {
			snprintf(err, errlen, "%s: too many arguments", cmd);
			return -1;
		}
		if (argc == 1)
			*args = json_pack("{s:s}", "ifname", argv[0]);
		return 0;
	}
	if (strcmp(cmd, "set_vnq") == 0) {
		if (argc != 2 || str_to_long(argv[1], 1, PROTO_MAX_QUEUES, &n) < 0) {
			snprintf(err, errlen, "usage: set_vnq IFNAME N (N in 1..%d)",
				 PROTO_MAX_QUEUES);
			return -1;
		}
		*args = json_pack("{s:s,s:i}", "ifname", argv[0], "n", (int)n);
		return 0;
	}
	if (strcmp(cmd, "set_vcpus") == 0) {
		if (argc < 1 || argc > 2 || str_to_long(argv[0], 1, PROTO_MAX_VCPUS, &n) < 0) {
			snprintf(err, errlen, "usage: set_vcpus N [cpuset|hotplug] (N in 1..%d)",
				 PROTO_MAX_VCPUS);
			return -1;
		}
		if (argc == 2 && strcmp(argv[1], "cpuset") != 0 &&
		    strcmp(argv[1], "hotplug") != 0) {
			snprintf(err, errlen,
				 "set_vcpus: method \"%.40s\" is not cpuset or hotplug", argv[1]);
			return -1;
		}
		*args = json_pack("{s:i}", "n", (int)n);
		if (argc == 2)
			json_object_set_new(*args, "method", json_string(argv[1]));
		return 0;
	}
	if (strcmp(cmd, "get_coalesce") == 0) {
		if (argc != 1) {
			snprintf(err, errlen, "usage: get_coalesce IFNAME");
			return -1;
		}
		*args = json_pack("{s:s}", "ifname", argv[0]);
		return 0;
	}
	if (strcmp(cmd, "set_coalesce") == 0) {
		if (argc < 2 || argc > 3 || str_to_long(argv[1], 0, PROTO_MAX_RX_USECS, &n) < 0 ||
		    (argc == 3 && strcmp(argv[2], "adaptive") != 0)) {
			snprintf(err, errlen,
				 "usage: set_coalesce IFNAME USECS [adaptive] (USECS in 0..%d)",
				 PROTO_MAX_RX_USECS);
			return -1;
		}
		*args = json_pack("{s:s,s:i,s:b}", "ifname", argv[0], "rx_usecs", (int)n,
				  "adaptive_rx", argc == 3);
		return 0;
	}
	if (strcmp(cmd, "set_rps") == 0) {
		if (argc != 2 || str_to_long(argv[1], 1, PROTO_MAX_VCPUS, &n) < 0) {
			snprintf(err, errlen, "usage: set_rps IFNAME N (N in 1..%d)",
				 PROTO_MAX_VCPUS);
			return -1;
		}
		*args = json_pack("{s:s,s:i}", "ifname", argv[0], "n", (int)n);
		return 0;
	}
	snprintf(err, errlen,
		 "unknown command \"%s\" (hello, stats, set_vnq, set_vcpus, get_coalesce, "
		 "set_coalesce, set_rps, restore, raw)",
		 cmd);
	return -1;
}

static int agent_cli_cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Send stdin lines verbatim on a plain connection; print one reply per line. */
static int agent_cli_raw(const struct proto_addr *addr, uint32_t timeout_ms)
{
	char err[256], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	bool in_progress;
	struct proto_linebuf *lb = malloc(sizeof(*lb));
	int fd, status = 0;

	if (!lb)
		return 1;
	proto_linebuf_init(lb);
	fd = proto_connect(addr, &in_progress, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "vspace agent: %s\n", err);
		free(lb);
		return 1;
	}
	if (in_progress) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, (int)timeout_ms) != 1 || proto_connect_result(fd) < 0) {
			fprintf(stderr, "vspace agent: connect failed\n");
			status = 1;
			goto out;
		}
	}
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		const char *p = line;
		size_t left = (size_t)len;
		if (left == 0 || line[left - 1] != '\n') {
			/* every message ends in a newline */
			char *grown = realloc(line, (size_t)len + 2);
			if (!grown) {
				fprintf(stderr, "vspace agent: out of memory\n");
				status = 1;
				goto out;
			}
			line = grown;
			line[len] = '\n';
			left++;
			p = line;
		}
		while (left > 0) {
			ssize_t w = send(fd, p, left, MSG_NOSIGNAL);
			if (w < 0 && errno == EAGAIN) {
				struct pollfd pw = { .fd = fd, .events = POLLOUT };
				poll(&pw, 1, (int)timeout_ms);
				continue;
			}
			if (w < 0) {
				perror("vspace agent: write");
				status = 1;
				goto out;
			}
			p += w;
			left -= (size_t)w;
		}
		/* one reply per line */
		for (bool got = false; !got;) {
			char *reply;
			size_t rlen;
			enum proto_line_result r = proto_linebuf_next(lb, &reply, &rlen);
			if (r == PROTO_LINE_OK) {
				printf("%s\n", reply);
				fflush(stdout);
				got = true;
				continue;
			}
			if (r == PROTO_LINE_TOO_LONG) {
				fprintf(stderr, "vspace agent: reply over %d bytes\n",
					PROTO_MAX_MSG);
				status = 1;
				goto out;
			}
			struct pollfd pr = { .fd = fd, .events = POLLIN };
			if (poll(&pr, 1, (int)timeout_ms) != 1) {
				fprintf(stderr, "vspace agent: no reply within %u ms\n",
					timeout_ms);
				status = 1;
				goto out;
			}
			ssize_t n = read(fd, proto_linebuf_space(lb), proto_linebuf_room(lb));
			if (n <= 0) {
				fprintf(stderr, "vspace agent: connection closed\n");
				status = 1;
				goto out;
			}
			proto_linebuf_commit(lb, (size_t)n);
		}
	}
out:
	free(line);
	free(lb);
	close(fd);
	return status;
}

int agent_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *connect_to = NULL;
	long timeout_ms = 5000, repeat = 0;
	struct proto_addr addr;
	char err[300];
	int c;

	optind = 1;
	opterr = 0;
	/* "+": stop at the command, so its arguments are not taken for options */
	while ((c = getopt_long(argc, argv, "+:c:t:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			connect_to = optarg;
			break;
		case 't':
			if (str_to_long(optarg, 1, 3600000, &timeout_ms) < 0) {
				fprintf(stderr,
					"vspace agent: --timeout %s: expected 1..3600000 ms\n",
					optarg);
				return 2;
			}
			break;
		case 'r':
			if (str_to_long(optarg, 1, 1000000, &repeat) < 0) {
				fprintf(stderr, "vspace agent: --repeat %s: expected 1..1000000\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			agent_cli_usage(stdout);
			return 0;
		default:
			return cliopt_error("vspace agent", c, argv);
		}
	}
	if (!connect_to) {
		fprintf(stderr,
			"vspace agent: --connect ADDR is required (see vspace agent --help)\n");
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "vspace agent: missing COMMAND (hello, stats, set_vnq, set_vcpus, "
				"get_coalesce, set_coalesce, set_rps, restore, raw)\n");
		return 2;
	}
	if (proto_addr_parse(connect_to, &addr, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace agent: --connect %s\n", err);
		return 2;
	}
	const char *cmd = argv[optind];
	if (strcmp(cmd, "raw") == 0) {
		if (optind + 1 < argc || repeat) {
			fprintf(stderr, "vspace agent: raw: %s (the lines come on stdin)\n",
				repeat ? "not with --repeat" : "takes no arguments");
			return 2;
		}
		return agent_cli_raw(&addr, (uint32_t)timeout_ms);
	}

	json_t *args;
	if (agent_cli_args(cmd, argc - optind - 1, argv + optind + 1, &args, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "vspace agent: %s\n", err);
		return 2;
	}
	struct proto_client *cl = malloc(sizeof(*cl));
	/* A hello that goes unanswered is retried on a new connection every 3 s
	 * (an agent that is still starting, a serial port that lost it). */
	struct proto_client_opts opts = {
		.timeout_ms = (uint32_t)timeout_ms,
		.connect_timeout_ms = timeout_ms < 3000 ? (uint32_t)timeout_ms : 3000,
		.backoff_min_ms = 100,
		.backoff_max_ms = 1000,
		.epfd = -1,
	};
	uint64_t *rtts = repeat ? calloc((size_t)repeat, sizeof(uint64_t)) : NULL;
	int status = 0;
	if (!cl || (repeat && !rtts)) {
		fprintf(stderr, "vspace agent: out of memory\n");
		free(cl);
		json_decref(args);
		return 1;
	}
	proto_client_init(cl, &addr, &opts);
	for (long i = 0; i < (repeat ? repeat : 1); i++) {
		json_t *result = NULL;
		uint64_t rtt_us = 0;
		/* rtt_us: request written -> reply read (the first call's connect and
		 * hello are not part of it) */
		enum proto_status st = proto_client_call(cl, cmd, args, (uint32_t)timeout_ms,
							 &result, &rtt_us, err, sizeof(err));
		if (st != PROTO_ST_OK) {
			fprintf(stderr, "vspace agent: %s\n", err);
			status = 1;
			break;
		}
		if (repeat) {
			rtts[i] = rtt_us;
		} else {
			char *text = json_dumps(result, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			printf("%s\n", text ? text : "{}");
			free(text);
		}
		json_decref(result);
	}
	if (repeat && status == 0) {
		qsort(rtts, (size_t)repeat, sizeof(uint64_t), agent_cli_cmp_u64);
#define AGENT_Q(q) rtts[(size_t)((double)(repeat - 1) * (q) + 0.5)]
		printf("command %s, %ld round trips over %s: rtt_us min %llu p50 %llu p95 %llu "
		       "p99 %llu max %llu\n",
		       cmd, repeat, connect_to, (unsigned long long)rtts[0],
		       (unsigned long long)AGENT_Q(0.50), (unsigned long long)AGENT_Q(0.95),
		       (unsigned long long)AGENT_Q(0.99), (unsigned long long)rtts[repeat - 1]);
#undef AGENT_Q
	}
	proto_client_close(cl);
	free(cl);
	free(rtts);
	json_decref(args);
	return status;
}
