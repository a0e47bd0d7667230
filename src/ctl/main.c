/* main.c - vspacectl: talk to vspaced over its control socket (status, explain, report, set, pause, resume). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/ctlpath.h"
#include "lib/cliopt.h"
#include "lib/strutil.h"

#define CTL_DEFAULT_SOCKET "/run/vspace/vspaced.sock"
/* Largest reply accepted (a status of 1000 workloads is ~1 MiB). */
#define CTL_REPLY_MAX (16 << 20)

static void ctl_usage(FILE *f)
{
	fprintf(f,
		"usage: vspacectl [-s SOCKET | -c CONFIG] [--json] [--timeout MS] COMMAND [ARGS]\n"
		"\n"
		"Ask a running vspaced what it is doing, or tell it something, over its\n"
		"control socket.\n"
		"\n"
		"Commands:\n"
		"  status                      workloads, their core groups, utilization,\n"
		"                              thresholds, latency; NICs; best-effort work\n"
		"  explain                     why the last decision was made\n"
		"  report WORKLOAD p95=US [count=N]\n"
		"                              push the p95 latency (microseconds) of the\n"
		"                              current period for an LC workload\n"
		"  set mode P|E|R|POLICY       switch policy (vspace-p/-e/-r, static-ts:NV:NQ,\n"
		"                              static-iso:NV:NQ, corenap, demeter:NQ)\n"
		"  set threshold WORKLOAD [vcpu=X] [nq=Y]\n"
		"                              set the utilization thresholds (0.01..1)\n"
		"  set slo WORKLOAD p95=US     set the p95 SLO\n"
		"  pause                       keep the current allocation (still measuring)\n"
		"  resume                      follow the policy again\n"
		"  vf                          FlexVF: the VF pool, who holds which VF and why\n"
		"  vf grant WORKLOAD           force a VF for the VM (held whatever its rank)\n"
		"  vf deny WORKLOAD            no VF for the VM\n"
		"  vf auto WORKLOAD            the strategy decides again\n"
		"  vf decide                   decide now instead of at the interval's end\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH   vspaced's control socket (default " CTL_DEFAULT_SOCKET ")\n"
		"  -c, --config FILE   take control_socket from vspaced's configuration\n"
		"      --json          print the daemon's JSON reply as is\n"
		"      --timeout MS    give up waiting for the reply (default 5000)\n"
		"  -h, --help          this text\n"
		"\n"
		"The protocol is one JSON object per line, e.g. {\"cmd\":\"status\"}; replies are\n"
		"{\"ok\":true,...} or {\"ok\":false,\"error\":\"...\"} (docs/DAEMON.md).\n"
		"\n"
		"Exit status: 0 ok, 1 the daemon refused or could not be reached, 2 usage.\n"
		"\n"
		"Examples:\n"
		"  vspacectl status\n"
		"  vspacectl -c /etc/vspace/vspace.conf explain\n"
		"  vspacectl report web p95=850\n"
		"  vspacectl set mode P\n"
		"  vspacectl set threshold web vcpu=0.7 nq=0.8\n"
		"  vspacectl vf grant web\n");
}

/* "key=value" -> value when key matches, else NULL. */
static const char *ctl_kv(const char *arg, const char *key)
{
	size_t n = strlen(key);
	return strncmp(arg, key, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

static int ctl_number(const char *what, const char *text, double lo, double hi, double *out)
{
	if (!text || str_to_double(text, lo, hi, out) < 0) {
		fprintf(stderr, "vspacectl: %s: \"%s\" is not a number in [%g, %g]\n", what,
			text ? text : "", lo, hi);
		return -1;
	}
	return 0;
}

/* Build the request from the command line; NULL (after a message) on a usage error. */
static json_t *ctl_request(int argc, char **argv)
{
	const char *cmd = argv[0];
	double v;

	if (!strcmp(cmd, "status") || !strcmp(cmd, "explain") || !strcmp(cmd, "pause") ||
	    !strcmp(cmd, "resume")) {
		if (argc != 1) {
			fprintf(stderr, "vspacectl: %s takes no arguments\n", cmd);
			return NULL;
		}
		return json_pack("{s:s}", "cmd", cmd);
	}
	if (!strcmp(cmd, "report")) {
		const char *p95 = NULL, *count = NULL;
		json_t *req;
		if (argc < 3 || argc > 4) {
			fprintf(stderr, "vspacectl: usage: report WORKLOAD p95=US [count=N]\n");
			return NULL;
		}
		for (int i = 2; i < argc; i++) {
			if (ctl_kv(argv[i], "p95"))
				p95 = ctl_kv(argv[i], "p95");
			else if (ctl_kv(argv[i], "count"))
				count = ctl_kv(argv[i], "count");
			else {
				fprintf(stderr,
					"vspacectl: report: unknown argument \"%s\" (p95=US, "
					"count=N)\n",
					argv[i]);
				return NULL;
			}
		}
		if (!p95) {
			fprintf(stderr, "vspacectl: report: missing p95=US\n");
			return NULL;
		}
		if (ctl_number("p95", p95, 0, 1e12, &v) < 0)
			return NULL;
		req = json_pack("{s:s,s:s,s:f}", "cmd", "report", "workload", argv[1], "p95_us", v);
		if (count) {
			long n;
			if (str_to_long(count, 0, 1L << 50, &n) < 0) {
				fprintf(stderr, "vspacectl: count: \"%s\" is not a whole number\n",
					count);
				json_decref(req);
				return NULL;
			}
			json_object_set_new(req, "count", json_integer(n));
		}
		return req;
	}
	if (!strcmp(cmd, "set")) {
		if (argc >= 3 && !strcmp(argv[1], "mode")) {
			if (argc != 3) {
				fprintf(stderr, "vspacectl: usage: set mode P|E|R|POLICY\n");
				return NULL;
			}
			return json_pack("{s:s,s:s,s:s}", "cmd", "set", "what", "mode", "value",
					 argv[2]);
		}
		if (argc >= 4 && !strcmp(argv[1], "threshold")) {
			json_t *req = json_pack("{s:s,s:s,s:s}", "cmd", "set", "what", "threshold",
						"workload", argv[2]);
			for (int i = 3; i < argc; i++) {
				const char *key = ctl_kv(argv[i], "vcpu") ? "vcpu" : "nq";
				const char *val = ctl_kv(argv[i], key);
				if (!val) {
					fprintf(stderr,
						"vspacectl: set threshold: unknown argument \"%s\" "
						"(vcpu=X, "
						"nq=Y)\n",
						argv[i]);
					json_decref(req);
					return NULL;
				}
				if (ctl_number(key, val, 0.01, 1, &v) < 0) {
					json_decref(req);
					return NULL;
				}
				json_object_set_new(req, key, json_real(v));
			}
			return req;
		}
		if (argc == 4 && !strcmp(argv[1], "slo")) {
			const char *p95 = ctl_kv(argv[3], "p95");
			if (!p95) {
				fprintf(stderr, "vspacectl: usage: set slo WORKLOAD p95=US\n");
				return NULL;
			}
			if (ctl_number("p95", p95, 1, 1e9, &v) < 0)
				return NULL;
			return json_pack("{s:s,s:s,s:s,s:f}", "cmd", "set", "what", "slo",
					 "workload", argv[2], "p95_us", v);
		}
		if (argc >= 2 && !strcmp(argv[1], "mode"))
			fprintf(stderr, "vspacectl: usage: set mode P|E|R|POLICY\n");
		else if (argc >= 2 && !strcmp(argv[1], "threshold"))
			fprintf(stderr, "vspacectl: usage: set threshold WORKLOAD [vcpu=X] [nq=Y] "
					"(at least one of them)\n");
		else if (argc >= 2 && !strcmp(argv[1], "slo"))
			fprintf(stderr, "vspacectl: usage: set slo WORKLOAD p95=US\n");
		else if (argc >= 2)
			fprintf(stderr,
				"vspacectl: set: unknown setting \"%s\" (mode, threshold, slo)\n",
				argv[1]);
		else
			fprintf(stderr, "vspacectl: set: missing what to set (mode, threshold, "
					"slo)\n");
		return NULL;
	}
	if (!strcmp(cmd, "vf")) {
		if (argc == 1)
			return json_pack("{s:s,s:s}", "cmd", "vf", "op", "status");
		if (argc == 2 && !strcmp(argv[1], "decide"))
			return json_pack("{s:s,s:s}", "cmd", "vf", "op", "decide");
		if (argc == 3 && (!strcmp(argv[1], "grant") || !strcmp(argv[1], "deny") ||
				  !strcmp(argv[1], "auto")))
			return json_pack("{s:s,s:s,s:s}", "cmd", "vf", "op", argv[1], "workload",
					 argv[2]);
		fprintf(stderr, "vspacectl: usage: vf | vf grant|deny|auto WORKLOAD | vf decide\n");
		return NULL;
	}
	fprintf(stderr, "vspacectl: unknown command \"%s\" (see --help)\n", cmd);
	return NULL;
}

static const char *ctl_s(json_t *o, const char *key, const char *dflt);

/* `vspacectl vf`: the pool and the VMs, one line each. */
static void ctl_print_vf(json_t *r)
{
	json_t *pool = json_object_get(r, "pool"), *x;
	size_t i;

	printf("strategy %s every %g s (hysteresis %g, min_hold %lld, min_pps %g), next decision "
	       "in %.0f s, %lld so far\n",
	       ctl_s(r, "strategy", "?"), json_number_value(json_object_get(r, "interval_s")),
	       json_number_value(json_object_get(r, "hysteresis")),
	       (long long)json_integer_value(json_object_get(r, "min_hold")),
	       json_number_value(json_object_get(r, "min_pps")),
	       json_number_value(json_object_get(r, "next_decision_in_s")),
	       (long long)json_integer_value(json_object_get(r, "decisions")));
	printf("pool: %s %s, %lld VFs, %lld usable, %lld held%s%s\n", ctl_s(pool, "source", "?"),
	       ctl_s(pool, "name", "?"),
	       (long long)json_integer_value(json_object_get(pool, "size")),
	       (long long)json_integer_value(json_object_get(pool, "usable")),
	       (long long)json_integer_value(json_object_get(pool, "held")),
	       json_object_get(pool, "error") ? "; " : "", ctl_s(pool, "error", ""));
	json_array_foreach(json_object_get(r, "vfs"), i, x)
	{
		json_t *h = json_object_get(x, "holder");
		printf("  VF %lld %s %s%s: %s\n",
		       (long long)json_integer_value(json_object_get(x, "vf")), ctl_s(x, "pci", ""),
		       ctl_s(x, "note", ""),
		       json_is_true(json_object_get(x, "usable")) ? "" : " (not usable)",
		       json_is_string(h) ? json_string_value(h) : "free");
	}
	json_array_foreach(json_object_get(r, "vms"), i, x)
	{
		json_t *vf = json_object_get(x, "vf"), *op = json_object_get(x, "op");
		printf("%s: %s%s%s, %.0f pkt/s (%s): %s\n", ctl_s(x, "workload", "?"),
		       json_is_integer(vf) ? "VF " : "no VF", json_is_integer(vf) ? "" : "",
		       json_is_string(op)
			       ? (json_string_value(op)[0] == 'p' ? ", plugging" : ", unplugging")
			       : "",
		       json_number_value(json_object_get(x, "pps")), ctl_s(x, "rate_source", "?"),
		       ctl_s(x, "why", ""));
		if (json_is_integer(vf))
			printf("  holds VF %lld\n", (long long)json_integer_value(vf));
		if (json_object_get(x, "last_error"))
			printf("  last error: %s\n", ctl_s(x, "last_error", ""));
	}
}

/* Send the request line and read one reply line. Returns the reply or NULL. */
static json_t *ctl_exchange(const char *path, json_t *req, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *text = json_dumps(req, JSON_COMPACT), *buf = NULL;
	size_t len = 0, cap = 0;
	json_t *reply = NULL;
	json_error_t je;
	int fd = -1;

	if (!text)
		return NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vspacectl: socket path %s is too long\n", path);
		goto out;
	}
	str_copy(sa.sun_path, path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "vspacectl: cannot reach vspaced at %s: %s\n", path,
			strerror(errno));
		goto out;
	}
	if (send(fd, text, strlen(text), MSG_NOSIGNAL) < 0 || send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		/* a daemon that refuses the connection (permission, too many
		 * clients) answers and closes before our request arrives: its
		 * answer is still there to read */
		if (errno != EPIPE && errno != ECONNRESET) {
			fprintf(stderr, "vspacectl: %s: %s\n", path, strerror(errno));
			goto out;
		}
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t k;
		if (len + 4096 > cap) {
			size_t nc = cap ? cap * 2 : 65536;
			char *nb;
			if (nc > CTL_REPLY_MAX + 4096) {
				fprintf(stderr, "vspacectl: reply longer than %d bytes\n",
					CTL_REPLY_MAX);
				goto out;
			}
			nb = realloc(buf, nc);
			if (!nb)
				goto out;
			buf = nb;
			cap = nc;
		}
		if (poll(&pfd, 1, timeout_ms) <= 0) {
			fprintf(stderr, "vspacectl: no reply from %s within %d ms\n", path,
				timeout_ms);
			goto out;
		}
		k = recv(fd, buf + len, cap - len - 1, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "vspacectl: %s closed the connection without a reply\n",
				path);
			goto out;
		}
		len += (size_t)k;
		if (memchr(buf, '\n', len))
			break;
	}
	reply = json_loadb(buf, (size_t)((char *)memchr(buf, '\n', len) - buf), 0, &je);
	if (!reply || !json_is_object(reply)) {
		fprintf(stderr, "vspacectl: malformed reply: %s\n",
			reply ? "not an object" : je.text);
		json_decref(reply);
		reply = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(buf);
	return reply;
}

static double ctl_num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *ctl_s(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && s[0] ? s : dflt;
}

/* v with the given decimals, "-" when absent. */
static void ctl_fmt(char *buf, size_t len, double v, int decimals)
{
	if (isnan(v))
		str_copy(buf, "-", len);
	else
		snprintf(buf, len, "%.*f", decimals, v);
}

/* "applied/limit (plan want)" of a guest knob; "-" parts when unknown. */
static void ctl_knob(char *buf, size_t len, json_t *knob, double limit)
{
	char have[16], max[16], want[16];

	ctl_fmt(have, sizeof(have), ctl_num(knob, "applied"), 0);
	ctl_fmt(max, sizeof(max), limit, 0);
	ctl_fmt(want, sizeof(want), ctl_num(knob, "want"), 0);
	snprintf(buf, len, "%s/%s (plan %s%s)", have, max, want,
		 json_is_true(json_object_get(knob, "pending")) ? ", sending" : "");
}

/* The guest agent link of a workload: state, what the guest has, errors. */
static void ctl_print_agent(json_t *a)
{
	static const char *const reqs[] = { "set_vcpus", "set_vnq", "stats", "restore" };
	char up[32] = "", v[64], q[64], rtt[16], age[16];

	if (!a)
		return;
	if (!isnan(ctl_num(a, "up_s")))
		snprintf(up, sizeof(up), " %.0f s", ctl_num(a, "up_s"));
	ctl_knob(v, sizeof(v), json_object_get(a, "vcpus"), ctl_num(a, "guest_vcpus"));
	ctl_knob(q, sizeof(q), json_object_get(a, "queues"), ctl_num(a, "guest_max_queues"));
	ctl_fmt(rtt, sizeof(rtt), ctl_num(json_object_get(a, "rtt_us"), "last") / 1000.0, 1);
	ctl_fmt(age, sizeof(age), ctl_num(a, "stats_age_s"), 1);
	printf("  agent %s: %s%s%s%s%s, NIC %s, vCPUs %s, queues %s, rtt %s ms, stats %s s old\n",
	       ctl_s(a, "address", "?"), ctl_s(a, "state", "?"), up,
	       ctl_s(a, "last_error", NULL) ? " (" : "", ctl_s(a, "last_error", ""),
	       ctl_s(a, "last_error", NULL) ? ")" : "", ctl_s(a, "ifname", "-"), v, q, rtt, age);
	if (ctl_s(a, "ifname_problem", NULL))
		printf("  agent: %s\n", ctl_s(a, "ifname_problem", ""));
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		json_t *rep = json_object_get(json_object_get(a, "replies"), reqs[i]);
		if (!rep || !strcmp(ctl_s(rep, "status", "ok"), "ok"))
			continue;
		char n[24] = "";
		if (!isnan(ctl_num(rep, "n")))
			snprintf(n, sizeof(n), " %.0f", ctl_num(rep, "n"));
		printf("  agent %s%s: %s: %s (%.1f s ago)\n", reqs[i], n, ctl_s(rep, "status", "?"),
		       ctl_s(rep, "error", "-"), ctl_num(rep, "age_s"));
	}
}

/* A workload's MemNet region: its state, what is in use of the quota, the sizing. */
static void ctl_print_memnet(json_t *m)
{
	json_t *z = json_object_get(m, "sizing");

	if (!m)
		return;
	if (strcmp(ctl_s(m, "state", "?"), "serving") != 0) {
		printf("  memnet %s: %s: %s\n", ctl_s(m, "path", "?"), ctl_s(m, "state", "?"),
		       ctl_s(m, "error", "-"));
		return;
	}
	printf("  memnet %s: quota %.1f MiB of %.1f, in use %.1f MiB, %.0f objects, %.0f jobs",
	       ctl_s(m, "path", "?"), ctl_num(m, "quota_bytes") / 1048576.0,
	       ctl_num(m, "data_bytes") / 1048576.0, ctl_num(m, "used_bytes") / 1048576.0,
	       ctl_num(m, "objects"), isnan(ctl_num(m, "jobs_done")) ? 0 : ctl_num(m, "jobs_done"));
	if (!isnan(ctl_num(m, "bad_slots")) && ctl_num(m, "bad_slots") > 0)
		printf(", %.0f bad slots", ctl_num(m, "bad_slots"));
	printf("\n");
	if (z)
		printf("    sizing: lambda %.2f/s, mu %.2f/s, rho %.2f%s, %.0f results, factor "
		       "%.2f, "
		       "asked %.1f MiB, granted %.1f MiB\n",
		       ctl_num(z, "lambda_per_s"), ctl_num(z, "mu_per_s"), ctl_num(z, "rho"),
		       json_is_true(json_object_get(z, "saturated")) ? " (saturated)" : "",
		       ctl_num(z, "n_jobs"), ctl_num(z, "factor"),
		       ctl_num(z, "request_bytes") / 1048576.0,
		       ctl_num(z, "grant_bytes") / 1048576.0);
}

/* What KVM halt polling did to the vCPU group's busy time (LC VMs). */
static void ctl_print_halt_poll(json_t *h)
{
	const char *state = ctl_s(h, "state", NULL);
	double raw = ctl_num(h, "busy_vcpu_raw"), poll = ctl_num(h, "halt_poll_cores");

	if (!state || !strcmp(state, "not a VM"))
		return;
	if (json_is_true(json_object_get(h, "applied")) && !isnan(raw) && !isnan(poll)) {
		printf("  vCPU busy %.2f cores - KVM halt polling %.2f (%.0f %%) = U_v %.2f, from "
		       "%s\n",
		       raw, poll, raw > 0 ? 100 * poll / raw : 0, ctl_num(h, "busy_vcpu"),
		       ctl_s(h, "source", "?"));
	} else if (!strcmp(state, "active")) {
		printf("  halt polling (accounting %s): reading %s, nothing subtracted this "
		       "period: "
		       "%s\n",
		       ctl_s(h, "accounting", "?"), ctl_s(h, "source", "?"), ctl_s(h, "note", "-"));
	} else {
		printf("  halt polling (accounting %s): %s, not subtracted%s%s\n",
		       ctl_s(h, "accounting", "?"), state, ctl_s(h, "note", NULL) ? ": " : "",
		       ctl_s(h, "note", ""));
	}
	/* over QMP: why, and how QEMU answers */
	if (!strcmp(ctl_s(h, "via", ""), "qmp")) {
		json_t *q = json_object_get(h, "qmp"), *rtt = json_object_get(q, "rtt_us");
		printf("    via qmp: %s", ctl_s(h, "why_via", "-"));
		if (rtt)
			printf("; QEMU %s answers in %.0f us (p50; max %.0f us), %.0f of %.0f "
			       "requests slow",
			       ctl_s(q, "qemu", "?"), ctl_num(rtt, "p50"), ctl_num(rtt, "max"),
			       ctl_num(q, "slow"), ctl_num(q, "requests"));
		printf("\n");
	}
}

/* "libvirt URI: connected, events, ..." and one line per pattern. */
static void ctl_print_libvirt(json_t *v)
{
	json_t *p;
	size_t i;

	if (!json_is_object(v))
		return;
	if (json_is_true(json_object_get(v, "connected")))
		printf("libvirt %s: connected%s, %.0f connects, %.0f losses, %.0f events, "
		       "keepalive %s%s%s\n",
		       ctl_s(v, "uri", "?"),
		       json_is_true(json_object_get(v, "events")) ? ", following its events" : "",
		       ctl_num(v, "connects"), ctl_num(v, "losses"), ctl_num(v, "events_received"),
		       ctl_s(v, "keepalive", "?"),
		       ctl_s(v, "last_loss", NULL) ? "; last loss: " : "",
		       ctl_s(v, "last_loss", ""));
	else
		printf("libvirt %s: DISCONNECTED for %.1f s (%s), next try in %.1f s, %.0f "
		       "connects, %.0f losses\n",
		       ctl_s(v, "uri", "?"), ctl_num(v, "down_s"), ctl_s(v, "last_error", "?"),
		       ctl_num(v, "retry_in_s"), ctl_num(v, "connects"), ctl_num(v, "losses"));
	json_array_foreach(json_object_get(v, "patterns"), i, p)
	{
		json_t *r = json_object_get(p, "running"), *x;
		size_t k;
		printf("  libvirt=%s ([workload \"%s\"], %s): ", ctl_s(p, "libvirt", "?"),
		       ctl_s(p, "workload", "?"), ctl_s(p, "role", "?"));
		if (json_array_size(r) == 0)
			printf("no running domain matches");
		json_array_foreach(r, k, x)
		{
			printf("%s%s", k ? " " : "", json_string_value(x));
		}
		printf("\n");
	}
}

static void ctl_print_status(json_t *r)
{
	json_t *d = json_object_get(r, "daemon"), *w, *n;
	size_t i;

	printf("vspaced %s (pid %d): policy %s, managed cores %s, period %d ms, %lld periods%s%s\n",
	       ctl_s(d, "version", "?"), (int)ctl_num(d, "pid"), ctl_s(d, "policy", "?"),
	       ctl_s(d, "managed", "-"), (int)ctl_num(d, "period_ms"),
	       (long long)ctl_num(d, "periods"),
	       json_is_true(json_object_get(d, "paused")) ? ", PAUSED" : "",
	       json_is_true(json_object_get(d, "dry_run")) ? ", dry-run" : "");
	if (ctl_s(d, "last_error", NULL))
		printf("last error: %s\n", ctl_s(d, "last_error", ""));
	printf("%-16s %-4s %-8s %7s %-12s %-12s %5s %5s %5s %5s %8s %8s %5s %6s\n", "WORKLOAD",
	       "ROLE", "STATE", "PID", "VCPU CORES", "NQ CORES", "U_V", "U_N", "TH_V", "TH_N",
	       "P95_US", "SLO_US", "VCPUS", "QUEUES");
	json_array_foreach(json_object_get(r, "workloads"), i, w)
	{
		char vc[64], nc[64], uv[16], un[16], tv[16], tn[16], p95[16], slo[16], vcpus[16],
			q[16];
		snprintf(vc, sizeof(vc), "%.0f [%s]",
			 isnan(ctl_num(w, "n_vcpu")) ? 0 : ctl_num(w, "n_vcpu"),
			 ctl_s(w, "vcpu_cores", "-"));
		snprintf(nc, sizeof(nc), "%.0f [%s]",
			 isnan(ctl_num(w, "n_nq")) ? 0 : ctl_num(w, "n_nq"),
			 ctl_s(w, "nq_cores", "-"));
		if (strcmp(ctl_s(w, "role", ""), "lc") != 0 || isnan(ctl_num(w, "n_vcpu"))) {
			snprintf(vc, sizeof(vc), "[%s]", ctl_s(w, "vcpu_cores", "-"));
			str_copy(nc, "-", sizeof(nc));
		}
		ctl_fmt(uv, sizeof(uv), ctl_num(w, "u_vcpu"), 2);
		ctl_fmt(un, sizeof(un), ctl_num(w, "u_nq"), 2);
		ctl_fmt(tv, sizeof(tv), ctl_num(w, "th_vcpu"), 2);
		ctl_fmt(tn, sizeof(tn), ctl_num(w, "th_nq"), 2);
		ctl_fmt(p95, sizeof(p95), ctl_num(w, "p95_us"), 0);
		ctl_fmt(slo, sizeof(slo), ctl_num(w, "slo_p95_us"), 0);
		ctl_fmt(vcpus, sizeof(vcpus), ctl_num(w, "vcpus"), 0);
		ctl_fmt(q, sizeof(q), ctl_num(w, "queues"), 0);
		printf("%-16s %-4s %-8s %7.0f %-12s %-12s %5s %5s %5s %5s %8s %8s %5s %6s\n",
		       ctl_s(w, "name", "?"), ctl_s(w, "role", "?"),
		       json_is_true(json_object_get(w, "present")) ? "running" : "absent",
		       ctl_num(w, "pid"), vc, nc, uv, un, tv, tn, p95, slo, vcpus, q);
		if (!json_is_true(json_object_get(w, "present")))
			printf("  %s\n", ctl_s(w, "absent", ""));
		else if (ctl_s(w, "why", NULL))
			printf("  why: %s\n", ctl_s(w, "why", ""));
		if (json_is_true(json_object_get(w, "present")))
			ctl_print_halt_poll(json_object_get(w, "halt_poll"));
		ctl_print_agent(json_object_get(w, "agent_link"));
		ctl_print_memnet(json_object_get(w, "memnet"));
	}
	json_array_foreach(json_object_get(r, "nics"), i, n)
	{
		json_t *ch = json_object_get(n, "channels");
		printf("nic %s%s%s: %s, queues rx %.0f tx %.0f, %.0f queue IRQs",
		       ctl_s(n, "name", "?"), ctl_s(n, "netns", NULL) ? " (netns " : "",
		       ctl_s(n, "netns", NULL) ? ctl_s(n, "netns", "") : "",
		       json_is_true(json_object_get(n, "present")) ? "present" : "absent",
		       ctl_num(n, "rx_queues"), ctl_num(n, "tx_queues"), ctl_num(n, "queue_irqs"));
		if (ch)
			printf(", channels rx %.0f/%.0f tx %.0f/%.0f combined %.0f/%.0f",
			       ctl_num(ch, "rx"), ctl_num(ch, "max_rx"), ctl_num(ch, "tx"),
			       ctl_num(ch, "max_tx"), ctl_num(ch, "combined"),
			       ctl_num(ch, "max_combined"));
		printf("\n");
	}
	w = json_object_get(r, "best_effort");
	printf("best-effort: cores %s%s\n", ctl_s(w, "cores", "-"),
	       json_is_true(json_object_get(w, "paused")) ? ", paused" : "");
	ctl_print_libvirt(json_object_get(r, "libvirt"));
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_TIMEOUT };
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = CTL_DEFAULT_SOCKET, *config = NULL;
	char sockbuf[CTLPATH_MAX];
	bool json = false;
	long timeout_ms = 5000;
	json_t *req, *reply;
	int ch, rc;

	opterr = 0;
	/* "+": stop at the command, so its arguments are not taken for options */
	while ((ch = getopt_long(argc, argv, "+:s:c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_TIMEOUT:
			if (str_to_long(optarg, 1, 600000, &timeout_ms) < 0) {
				fprintf(stderr,
					"vspacectl: --timeout: \"%s\" is not 1..600000 ms\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			return cliopt_error("vspacectl", ch, argv);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vspacectl: missing COMMAND\n\n");
		ctl_usage(stderr);
		return 2;
	}
	/* status --json is also accepted after the command */
	if (!strcmp(argv[optind], "status") && argc - optind == 2 &&
	    !strcmp(argv[optind + 1], "--json")) {
		json = true;
		argc--;
	}
	if (config) {
		char err[512];
		if (ctlpath_from_config(config, sockbuf, sizeof(sockbuf), err, sizeof(err)) < 0) {
			fprintf(stderr, "vspacectl: %s\n", err);
			return 2;
		}
		if (!sockbuf[0]) {
			fprintf(stderr, "vspacectl: %s has control_socket=off\n", config);
			return 2;
		}
		sock = sockbuf;
	}
	req = ctl_request(argc - optind, argv + optind);
	if (!req)
		return 2;
	reply = ctl_exchange(sock, req, (int)timeout_ms);
	json_decref(req);
	if (!reply)
		return 1;
	rc = json_is_true(json_object_get(reply, "ok")) ? 0 : 1;
	if (json) {
		char *text = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER |
						       JSON_REAL_PRECISION(10));
		if (text)
			puts(text);
		free(text);
	} else if (rc != 0) {
		fprintf(stderr, "vspacectl: %s\n", ctl_s(reply, "error", "request failed"));
	} else if (!strcmp(argv[optind], "status")) {
		ctl_print_status(reply);
	} else if (!strcmp(argv[optind], "explain")) {
		fputs(ctl_s(reply, "text", ""), stdout);
	} else if (!strcmp(argv[optind], "set")) {
		char *text = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER |
						       JSON_REAL_PRECISION(10));
		if (text)
			printf("ok %s\n", text);
		free(text);
	} else if (!strcmp(argv[optind], "vf") && argc - optind == 1) {
		ctl_print_vf(reply);
	} else if (!strcmp(argv[optind], "vf")) {
		char *text = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text)
			printf("ok %s\n", text);
		free(text);
	} else if (!strcmp(argv[optind], "pause") || !strcmp(argv[optind], "resume")) {
		printf("%s\n",
		       json_is_true(json_object_get(reply, "paused")) ? "paused" : "running");
	}
	json_decref(reply);
	return rc;
}
