/* irqcal.c - `vspace irq calibrate` (C_pkt and C_int by a least-squares fit over runs at several interrupt rates) and `vspace irq send` (a steady UDP stream). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/cliopt.h"
#include "lib/strutil.h"
#include "platform/irqcal.h"
#include "platform/linux/ethtool.h"
#include "platform/linux/netns.h"
#include "platform/linux/procfs.h"
#include "platform/linux/sysroot.h"
#include "proto/client.h"

/* Most packets handed to the kernel in one sendmmsg(2). */
#define IRQSEND_BATCH 64
/* The pacing tick: packets due are sent every this many ns (or every packet
 * interval when that is longer). 100 us keeps bursts at 20,000 pkt/s to two. */
#define IRQSEND_TICK_NS 100000LL
/* Largest UDP payload sent: one 1500-byte MTU frame (1500 - 20 - 8). */
#define IRQSEND_MAX_BYTES 1472
/* Settling time after a rate change before a run is measured, ms. */
#define IRQCAL_SETTLE_MS 300
/* Most runs (rates) in one calibration. */
#define IRQCAL_MAX_RUNS 16

static volatile sig_atomic_t irqsend_stop;

static void irqsend_on_signal(int sig)
{
	(void)sig;
	irqsend_stop = 1;
}

static int64_t irq_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A paced UDP stream to one address. */
struct irqsend {
	int fd;
	double pps;
	size_t bytes;
	uint64_t sent;	  /* packets the kernel took, over all runs */
	uint64_t errors;  /* sends it refused (a full queue) */
	uint64_t skipped; /* packets not sent after a stall of the sender */
	char buf[IRQSEND_MAX_BYTES];
};

/* "198.18.5.2:9" -> sockaddr. 0 or -1 with err. */
static int irqsend_addr(const char *text, struct sockaddr_in *sa, char *err, size_t errlen)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	long port;

	memset(sa, 0, sizeof(*sa));
	if (!colon || (size_t)(colon - text) >= sizeof(host) ||
	    str_to_long(colon + 1, 1, 65535, &port) < 0) {
		snprintf(err, errlen, "\"%s\" is not IPV4:PORT", text);
		return -1;
	}
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		snprintf(err, errlen, "\"%s\" is not a numeric IPv4 address", host);
		return -1;
	}
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

/* Open the stream's socket (inside netns when given) and connect it. */
static int irqsend_open(struct irqsend *s, const char *to, const char *netns, char *err,
			size_t errlen)
{
	struct sockaddr_in sa;
	char nspath[300];

	if (irqsend_addr(to, &sa, err, errlen) < 0)
		return -1;
	if (netns && strchr(netns, '/') == NULL)
		snprintf(nspath, sizeof(nspath), "/run/netns/%s", netns);
	else if (netns)
		str_copy(nspath, netns, sizeof(nspath));
	s->fd = netns_socket(netns ? nspath : NULL, err, errlen);
	if (s->fd < 0)
		return -1;
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "connect %s: %s", to, strerror(errno));
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	for (size_t i = 0; i < sizeof(s->buf); i++)
		s->buf[i] = (char)('a' + i % 26);
	return 0;
}

/* Send at s->pps for seconds (or until a signal). */
static void irqsend_run(struct irqsend *s, double seconds)
{
	struct mmsghdr msgs[IRQSEND_BATCH];
	struct iovec iov = { .iov_base = s->buf, .iov_len = s->bytes };
	int64_t t0 = irq_now_ns(), end = t0 + (int64_t)(seconds * 1e9);
	int64_t tick = (int64_t)(1e9 / s->pps), next;
	uint64_t sent = 0; /* this run's packets (s->sent counts every run) */

	if (tick < IRQSEND_TICK_NS)
		tick = IRQSEND_TICK_NS;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < IRQSEND_BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	for (next = t0; !irqsend_stop; next += tick) {
		int64_t now = irq_now_ns();
		if (now >= end)
			break;
		uint64_t due = (uint64_t)((double)(now - t0) * s->pps / 1e9);
		/* a stall is not made up by a burst larger than one batch */
		if (due > sent + IRQSEND_BATCH) {
			s->skipped += due - IRQSEND_BATCH - sent;
			sent = due - IRQSEND_BATCH;
		}
		while (sent < due) {
			unsigned k = (unsigned)(due - sent);
			int r = sendmmsg(s->fd, msgs, k > IRQSEND_BATCH ? IRQSEND_BATCH : k,
					 MSG_DONTWAIT);
			if (r <= 0) {
				s->errors++; /* dropped at the sender; keep the schedule */
				sent++;
				continue;
			}
			sent += (uint64_t)r;
			s->sent += (uint64_t)r;
		}
		if (next + tick > now) {
			struct timespec ts = { .tv_sec = (next + tick) / 1000000000LL,
					       .tv_nsec = (next + tick) % 1000000000LL };
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		} else {
			next = now - tick; /* behind: restart the tick grid from now */
		}
	}
}

static void irqsend_usage(FILE *f)
{
	fprintf(f, "usage: vspace irq send --to IPV4:PORT [--pps N] [--bytes B] [--seconds S]\n"
		   "                       [--netns NS]\n"
		   "\n"
		   "Send a steady stream of UDP datagrams (payload B bytes) at N packets per\n"
		   "second for S seconds: the traffic of `vspace irq calibrate` and of the\n"
		   "interrupt-rate tests. Prints what it sent. Stops early on SIGINT/SIGTERM.\n"
		   "\n"
		   "Options:\n"
		   "  --to IPV4:PORT   destination (numeric)\n"
		   "  --pps N          packets per second, 1..2000000 (default 10000)\n"
		   "  --bytes B        UDP payload, 1..1472 (default 1472)\n"
		   "  --seconds S      how long, 0.01..86400 (default 5)\n"
		   "  --netns NS       send from network namespace NS (/run/netns/NS or a path)\n"
		   "  -h, --help       this text\n"
		   "\n"
		   "Exit status: 0 ok, 1 the socket could not be set up, 2 bad usage.\n"
		   "\n"
		   "Example:\n"
		   "  vspace irq send --to 198.18.5.2:9 --pps 20000 --bytes 1472 --seconds 3\n");
}

/* Options shared by send and calibrate. */
struct irqsend_opts {
	const char *to, *netns;
	double pps, seconds;
	long bytes;
};

static int irqsend_opt(int ch, const char *prog, struct irqsend_opts *o)
{
	switch (ch) {
	case 't':
		o->to = optarg;
		return 0;
	case 'p':
		if (str_to_double(optarg, 1, 2e6, &o->pps) < 0)
			break;
		return 0;
	case 'b':
		if (str_to_long(optarg, 1, IRQSEND_MAX_BYTES, &o->bytes) < 0)
			break;
		return 0;
	case 's':
		if (str_to_double(optarg, 0.01, 86400, &o->seconds) < 0)
			break;
		return 0;
	case 'n':
		o->netns = optarg;
		return 0;
	default:
		return 1;
	}
	fprintf(stderr, "%s: %s: \"%s\" is out of range (see --help)\n", prog,
		ch == 'p'   ? "--pps"
		: ch == 'b' ? "--bytes"
			    : "--seconds",
		optarg);
	return -1;
}

int irqsend_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "pps", required_argument, NULL, 'p' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "seconds", required_argument, NULL, 's' },
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct irqsend_opts o = { .pps = 10000, .seconds = 5, .bytes = IRQSEND_MAX_BYTES };
	struct irqsend s = { .fd = -1 };
	char err[300];
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (ch == 'h') {
			irqsend_usage(stdout);
			return 0;
		}
		int r = irqsend_opt(ch, "vspace irq send", &o);
		if (r < 0)
			return 2;
		if (r > 0)
			return cliopt_error("vspace irq send", ch, argv);
	}
	if (optind < argc) {
		fprintf(stderr, "vspace irq send: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!o.to) {
		fprintf(stderr, "vspace irq send: --to IPV4:PORT is required\n");
		return 2;
	}
	s.pps = o.pps;
	s.bytes = (size_t)o.bytes;
	if (irqsend_open(&s, o.to, o.netns, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace irq send: %s\n", err);
		return strstr(err, "not IPV4") || strstr(err, "numeric") ? 2 : 1;
	}
	signal(SIGINT, irqsend_on_signal);
	signal(SIGTERM, irqsend_on_signal);
	int64_t t0 = irq_now_ns();
	irqsend_run(&s, o.seconds);
	double secs = (double)(irq_now_ns() - t0) / 1e9;
	printf("sent %llu packets of %zu bytes to %s in %.2f s (%.0f pkt/s); %llu refused by "
	       "the kernel, %llu skipped after stalls\n",
	       (unsigned long long)s.sent, s.bytes, o.to, secs, (double)s.sent / secs,
	       (unsigned long long)s.errors, (unsigned long long)s.skipped);
	close(s.fd);
	return 0;
}

/* ---- calibrate ---------------------------------------------------------------- */

/* One reading of the device's counters. */
struct irqcal_reading {
	double busy_ms;	  /* CPU busy time so far (all CPUs of the guest or host) */
	uint64_t packets; /* received packets */
	uint64_t irqs;	  /* interrupts of its receive queues */
	int64_t t_ns;	  /* when it was taken (CLOCK_MONOTONIC) */
};

/* Where the NIC is: in a guest through its agent, or on this host. */
struct irqcal_dev {
	const char *ifname;
	struct proto_client *cl; /* the agent, or NULL: local */
	int sock;		 /* local: ethtool socket */
	struct vs_sysroot root;	 /* local: /proc and /sys */
	int timeout_ms;
};

static json_t *irqcal_call(struct irqcal_dev *d, const char *cmd, json_t *args, char *err,
			   size_t errlen)
{
	json_t *result = NULL;
	enum proto_status st = proto_client_call(d->cl, cmd, args, (uint32_t)d->timeout_ms, &result,
						 NULL, err, errlen);

	json_decref(args);
	return st == PROTO_ST_OK ? result : NULL;
}

static int irqcal_get(struct irqcal_dev *d, uint32_t *rx_usecs, bool *adaptive, char *err,
		      size_t errlen)
{
	if (d->cl) {
		json_t *r = irqcal_call(d, "get_coalesce", json_pack("{s:s}", "ifname", d->ifname),
					err, errlen);
		if (!r)
			return -1;
		*rx_usecs = (uint32_t)json_integer_value(json_object_get(r, "rx_usecs"));
		*adaptive = json_is_true(json_object_get(r, "adaptive_rx"));
		json_decref(r);
		return 0;
	}
	struct vs_coalesce co;
	int rc = ethtool_get_coalesce(d->sock, d->ifname, &co);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s (ETHTOOL_GCOALESCE: %s)", d->ifname,
			 rc == -EOPNOTSUPP ? "interrupt coalescing is not supported by its driver"
					   : "cannot read its interrupt coalescing",
			 strerror(-rc));
		return -1;
	}
	*rx_usecs = co.rx_usecs;
	*adaptive = co.adaptive_rx != 0;
	return 0;
}

static int irqcal_set(struct irqcal_dev *d, uint32_t rx_usecs, bool adaptive, char *err,
		      size_t errlen)
{
	if (d->cl) {
		json_t *r = irqcal_call(d, "set_coalesce",
					json_pack("{s:s,s:I,s:b}", "ifname", d->ifname, "rx_usecs",
						  (json_int_t)rx_usecs, "adaptive_rx", adaptive),
					err, errlen);
		json_decref(r);
		return r ? 0 : -1;
	}
	struct vs_coalesce co;
	int rc = ethtool_get_coalesce(d->sock, d->ifname, &co);
	if (rc == 0) {
		co.rx_usecs = rx_usecs;
		co.adaptive_rx = adaptive;
		rc = ethtool_set_coalesce(d->sock, d->ifname, &co);
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot set rx-usecs %u (ETHTOOL_SCOALESCE): %s",
			 d->ifname, rx_usecs, strerror(-rc));
		return -1;
	}
	return 0;
}

/* Local counters: /proc/stat (all CPUs), /proc/interrupts, the NIC's sysfs. */
static int irqcal_read_local(struct irqcal_dev *d, struct irqcal_reading *r, char *err,
			     size_t errlen)
{
	struct vs_procstat *ps = malloc(sizeof(*ps));
	struct vs_irq_line *lines = NULL;
	uint64_t counts[64], busy = 0, total = 0;
	char *text = NULL, path[96], val[32];
	size_t cap = 0;
	int ncap = 0, n, nq, rc = -1;
	long v;

	if (!ps)
		return -1;
	if (sysroot_read_all(d->root.proc_fd, "stat", &text, &cap) < 0 ||
	    procstat_parse(text, ps, err, errlen) < 0)
		goto out;
	struct vs_procstat zero;
	memset(&zero, 0, sizeof(zero));
	zero.present = ps->present;
	procstat_delta(&zero, ps, &ps->present, &busy, &total);
	/* elapsed minus idle, as for a guest (irqcal_read) */
	r->busy_ms = (double)cpuset_count(&ps->present) * (double)r->t_ns / 1e6 -
		     (double)(total - busy) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
	if (sysroot_read_all(d->root.proc_fd, "interrupts", &text, &cap) < 0 ||
	    (n = interrupts_parse(text, &lines, &ncap, err, errlen)) < 0)
		goto out;
	nq = interrupts_rx_counts(lines, n, d->ifname, NULL, counts, 64);
	if (nq == 0) {
		snprintf(err, errlen, "%s: no interrupt vector of its own in /proc/interrupts",
			 d->ifname);
		goto out;
	}
	r->irqs = 0;
	for (int q = 0; q < nq; q++)
		r->irqs += counts[q];
	snprintf(path, sizeof(path), "class/net/%.15s/statistics/rx_packets", d->ifname);
	if (sysroot_read(d->root.sys_fd, path, val, sizeof(val)) < 0 ||
	    str_to_long(val, 0, LONG_MAX, &v) < 0) {
		snprintf(err, errlen, "/sys/%s: %s", path, strerror(errno));
		goto out;
	}
	r->packets = (uint64_t)v;
	rc = 0;
out:
	free(ps);
	free(text);
	free(lines);
	return rc;
}

static int irqcal_read(struct irqcal_dev *d, struct irqcal_reading *r, char *err, size_t errlen)
{
	r->t_ns = irq_now_ns();
	if (!d->cl)
		return irqcal_read_local(d, r, err, errlen);
	json_t *st = irqcal_call(d, "stats", json_pack("{s:s}", "ifname", d->ifname), err, errlen);
	json_t *nic, *v;
	size_t i;

	if (!st)
		return -1;
	/* Busy time as elapsed minus idle: under a tickless kernel /proc/stat's
	 * idle is measured, while user/system/softirq are tick samples that miss
	 * short bursts of packet work between idle periods. */
	json_t *busy = json_object_get(st, "busy_ms"), *total = json_object_get(st, "total_ms");
	double t_ms = (double)json_integer_value(json_object_get(st, "t_ms"));
	r->busy_ms = 0;
	json_array_foreach(busy, i, v)
	{
		json_t *tot = json_array_get(total, i);
		if (!json_is_integer(v) || !json_is_integer(tot))
			continue; /* an offline vCPU */
		r->busy_ms += t_ms - (double)(json_integer_value(tot) - json_integer_value(v));
	}
	nic = json_array_get(json_object_get(st, "nics"), 0);
	if (!json_is_integer(json_object_get(nic, "rx_total_packets")) ||
	    !json_is_array(json_object_get(nic, "rx_irqs"))) {
		snprintf(err, errlen,
			 "the agent reports no %s for %s (an agent from before vspace irq, or "
			 "no interrupt vector of its own in the guest's /proc/interrupts)",
			 json_object_get(nic, "rx_irqs") ? "receive packet count" : "rx_irqs",
			 d->ifname);
		json_decref(st);
		return -1;
	}
	r->packets = (uint64_t)json_integer_value(json_object_get(nic, "rx_total_packets"));
	r->irqs = 0;
	json_array_foreach(json_object_get(nic, "rx_irqs"), i, v)
	{
		r->irqs += (uint64_t)json_integer_value(v);
	}
	json_decref(st);
	return 0;
}

struct irqcal_run {
	double rate_per_s; /* asked for; 0 = no moderation (rx-usecs 0) */
	uint32_t rx_usecs;
	double seconds;
	double packets, irqs;
	double busy_ms; /* minus the idle baseline over the same time */
};

static void irqcal_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !irqsend_stop)
		;
}

static void irqcal_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace irq calibrate (--agent ADDR | --local) --ifname IF --to IPV4:PORT\n"
		"                            [--netns NS] [--pps N] [--bytes B] [--rates LIST]\n"
		"                            [--seconds S] [--repeat N] [--out FILE]\n"
		"\n"
		"Measure the CPU time a NIC's receive path costs per packet (C_pkt) and per\n"
		"interrupt (C_int), the constants of the air policy (SPEC §7.1). It sends a\n"
		"steady UDP stream to an address the NIC receives (--to, from --netns), once\n"
		"per interrupt rate in LIST, each run S seconds with the NIC's rx-usecs set to\n"
		"1e6/rate, and fits  busy = C_pkt * packets + C_int * interrupts  by least\n"
		"squares over the runs (busy time less that of an idle run of the same length).\n"
		"The NIC's coalescing is put back afterwards. Prints the runs, the fit and its\n"
		"residual, and writes the result where vspaced reads it.\n"
		"\n"
		"The NIC:\n"
		"  --agent ADDR     in a guest, through its vspace-agent (serial:PATH, unix:PATH,\n"
		"                   tcp:HOST:PORT, vsock:CID:PORT): busy time of all its vCPUs\n"
		"  --local          on this host: busy time of all CPUs from /proc/stat\n"
		"  --ifname IF      the NIC (its driver must support ETHTOOL_SCOALESCE)\n"
		"\n"
		"Options:\n"
		"  --to IPV4:PORT   where the stream goes (an address behind the NIC)\n"
		"  --netns NS       send from network namespace NS\n"
		"  --pps N          packets per second (default 10000): above every rate in LIST\n"
		"  --bytes B        UDP payload (default 1472)\n"
		"  --rates LIST     interrupt rates per second, comma-separated, 0 = no\n"
		"                   moderation (default 2000,4000,8000); at least 2\n"
		"  --seconds S      length of each run (default 3)\n"
		"  --repeat N       go through the rates N times, alternating the order\n"
		"                   (default 1; at most 16 runs in all)\n"
		"  --out FILE       result file (default /var/lib/vspace/" IRQCAL_DEFAULT_FILE ",\n"
		"                   vspaced's state_dir); - prints it instead\n"
		"  -t, --timeout MS agent requests (default 10000)\n"
		"  -h, --help       this text\n"
		"\n"
		"Exit status: 0 ok, 1 a measurement or the fit failed (nothing written), 2 bad\n"
		"usage.\n"
		"\n"
		"Example (the e2e guest's e1000e, tests/e2e/test_irqrate.sh):\n"
		"  vspace irq calibrate --agent serial:/run/vm.agent --ifname eth0 \\\n"
		"      --to 198.18.6.2:9 --netns vsi-g1 --rates 2000,4000,0 --out cal.json\n");
}

static int irqcal_parse_rates(const char *text, double *rates, int max)
{
	char buf[256], *f[IRQCAL_MAX_RUNS + 1];
	int n;

	if (strlen(text) >= sizeof(buf))
		return -1;
	str_copy(buf, text, sizeof(buf));
	n = str_split(buf, ',', f, max);
	if (n < 2)
		return -1;
	for (int i = 0; i < n; i++)
		if (str_to_double(str_trim(f[i]), 0, 1e6, &rates[i]) < 0 ||
		    (rates[i] > 0 && rates[i] < 1))
			return -1;
	return n;
}

int irqcal_main(int argc, char **argv)
{
	enum { OPT_AGENT = 256, OPT_LOCAL, OPT_IFNAME, OPT_RATES, OPT_OUT, OPT_REPEAT };
	static const struct option longopts[] = {
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "local", no_argument, NULL, OPT_LOCAL },
		{ "ifname", required_argument, NULL, OPT_IFNAME },
		{ "to", required_argument, NULL, 't' },
		{ "netns", required_argument, NULL, 'n' },
		{ "pps", required_argument, NULL, 'p' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rates", required_argument, NULL, OPT_RATES },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "vspace irq calibrate";
	struct irqsend_opts o = { .pps = 10000, .seconds = 3, .bytes = IRQSEND_MAX_BYTES };
	const char *agent = NULL, *out = "/var/lib/vspace/" IRQCAL_DEFAULT_FILE;
	double rates[IRQCAL_MAX_RUNS] = { 2000, 4000, 8000 };
	int n_rates = 3, ch, status = 1;
	bool local = false;
	long timeout_ms = 10000, repeat = 1;
	struct irqcal_dev d = { .sock = -1 };
	struct irqsend s = { .fd = -1 };
	struct proto_addr addr;
	char err[400];

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":ht:", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_AGENT:
			agent = optarg;
			continue;
		case OPT_LOCAL:
			local = true;
			continue;
		case OPT_IFNAME:
			d.ifname = optarg;
			continue;
		case OPT_RATES:
			n_rates = irqcal_parse_rates(optarg, rates, IRQCAL_MAX_RUNS);
			if (n_rates < 0) {
				fprintf(stderr,
					"%s: --rates: \"%s\" is not a list of 2..%d rates (0 or "
					"1..1000000 per second)\n",
					prog, optarg, IRQCAL_MAX_RUNS);
				return 2;
			}
			continue;
		case OPT_OUT:
			out = optarg;
			continue;
		case OPT_REPEAT:
			if (str_to_long(optarg, 1, 8, &repeat) < 0) {
				fprintf(stderr, "%s: --repeat: \"%s\" is not 1..8\n", prog, optarg);
				return 2;
			}
			continue;
		case 'T':
			if (str_to_long(optarg, 1, 3600000, &timeout_ms) < 0) {
				fprintf(stderr, "%s: --timeout: \"%s\" is not 1..3600000 ms\n",
					prog, optarg);
				return 2;
			}
			continue;
		case 'h':
			irqcal_usage(stdout);
			return 0;
		default:
			break;
		}
		int r = irqsend_opt(ch, prog, &o);
		if (r < 0)
			return 2;
		if (r > 0)
			return cliopt_error(prog, ch, argv);
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[optind]);
		return 2;
	}
	if (n_rates * repeat > IRQCAL_MAX_RUNS) {
		fprintf(stderr, "%s: %d rates x --repeat %ld is more than %d runs\n", prog, n_rates,
			repeat, IRQCAL_MAX_RUNS);
		return 2;
	}
	if (!!agent == local) {
		fprintf(stderr, "%s: say where the NIC is: --agent ADDR or --local\n", prog);
		return 2;
	}
	if (!d.ifname || !o.to) {
		fprintf(stderr, "%s: --ifname and --to are required (see --help)\n", prog);
		return 2;
	}
	if (strlen(d.ifname) >= 16) {
		fprintf(stderr, "%s: --ifname \"%s\" is too long for an interface name\n", prog,
			d.ifname);
		return 2;
	}
	if (agent && proto_addr_parse(agent, &addr, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: --agent %s\n", prog, err);
		return 2;
	}
	for (int i = 0; i < n_rates; i++)
		if (rates[i] >= o.pps) {
			fprintf(stderr,
				"%s: rate %.0f is not below --pps %.0f: every run needs more "
				"packets "
				"than interrupts\n",
				prog, rates[i], o.pps);
			return 2;
		}
	s.pps = o.pps;
	s.bytes = (size_t)o.bytes;
	if (irqsend_open(&s, o.to, o.netns, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: --to: %s\n", prog, err);
		return 2;
	}
	d.timeout_ms = (int)timeout_ms;
	if (agent) {
		struct proto_client_opts copts = {
			.timeout_ms = (uint32_t)timeout_ms,
			.connect_timeout_ms = timeout_ms < 3000 ? (uint32_t)timeout_ms : 3000,
			.backoff_min_ms = 100,
			.backoff_max_ms = 1000,
			.epfd = -1,
		};
		d.cl = malloc(sizeof(*d.cl));
		if (!d.cl) {
			close(s.fd);
			return 1;
		}
		proto_client_init(d.cl, &addr, &copts);
	} else {
		d.sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (d.sock < 0 || sysroot_open(&d.root, "/", err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", prog, d.sock < 0 ? strerror(errno) : err);
			if (d.sock >= 0)
				close(d.sock);
			close(s.fd);
			return 1;
		}
	}
	signal(SIGINT, irqsend_on_signal);
	signal(SIGTERM, irqsend_on_signal);

	uint32_t orig_usecs = 0;
	bool orig_adaptive = false, changed = false;
	struct irqcal_run run[IRQCAL_MAX_RUNS];
	struct irqcal_reading r0, r1;
	double idle_ms_per_s;
	int n_runs = 0;

	if (irqcal_get(&d, &orig_usecs, &orig_adaptive, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto done;
	}
	/* the idle baseline: what the CPUs do without the stream */
	if (irqcal_read(&d, &r0, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto done;
	}
	irqcal_sleep_ms((int)(o.seconds * 1000));
	if (irqcal_read(&d, &r1, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto done;
	}
	idle_ms_per_s = (r1.busy_ms - r0.busy_ms) / ((double)(r1.t_ns - r0.t_ns) / 1e9);
	printf("# %s on %s: idle run %.2f s: busy %.1f ms/s, %llu interrupts, %llu packets\n",
	       d.ifname, agent ? agent : "this host", (double)(r1.t_ns - r0.t_ns) / 1e9,
	       idle_ms_per_s, (unsigned long long)(r1.irqs - r0.irqs),
	       (unsigned long long)(r1.packets - r0.packets));
	printf("run,rate_per_s,rx_usecs,seconds,packets,pkt_per_s,interrupts,int_per_s,busy_ms\n");
	/* each repetition goes through the rates in the other direction, so that a
	 * drift of the host's load does not line up with the rate */
	int n_plan = n_rates * (int)repeat;
	for (int i = 0; i < n_plan && !irqsend_stop; i++) {
		struct irqcal_run *u = &run[n_runs];
		int k = (i / n_rates) % 2 ? n_rates - 1 - i % n_rates : i % n_rates;
		u->rate_per_s = rates[k];
		u->rx_usecs = rates[k] > 0 ? (uint32_t)lround(1e6 / rates[k]) : 0;
		if (irqcal_set(&d, u->rx_usecs, false, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", prog, err);
			goto done;
		}
		changed = true;
		irqcal_sleep_ms(IRQCAL_SETTLE_MS);
		if (irqcal_read(&d, &r0, err, sizeof(err)) < 0)
			break;
		irqsend_run(&s, o.seconds);
		if (irqcal_read(&d, &r1, err, sizeof(err)) < 0)
			break;
		u->seconds = (double)(r1.t_ns - r0.t_ns) / 1e9;
		u->packets = (double)(r1.packets - r0.packets);
		u->irqs = (double)(r1.irqs - r0.irqs);
		u->busy_ms = r1.busy_ms - r0.busy_ms - idle_ms_per_s * u->seconds;
		printf("%d,%.0f,%u,%.2f,%.0f,%.0f,%.0f,%.0f,%.1f\n", n_runs + 1, u->rate_per_s,
		       u->rx_usecs, u->seconds, u->packets, u->packets / u->seconds, u->irqs,
		       u->irqs / u->seconds, u->busy_ms);
		n_runs++;
	}
	if (irqsend_stop) {
		fprintf(stderr, "%s: interrupted\n", prog);
		goto done;
	}
	if (n_runs < n_plan) {
		fprintf(stderr, "%s: run %d: %s\n", prog, n_runs + 1, err);
		goto done;
	}
	double xs[IRQCAL_MAX_RUNS], ys[IRQCAL_MAX_RUNS], zs[IRQCAL_MAX_RUNS], fit[IRQCAL_MAX_RUNS];
	double rms, worst = 0;
	struct vs_irqcal cal = { .runs = n_runs };
	for (int i = 0; i < n_runs; i++) {
		xs[i] = run[i].packets;
		ys[i] = run[i].irqs;
		zs[i] = run[i].busy_ms;
	}
	if (irqcal_fit(xs, ys, zs, n_runs, &cal.c_pkt_ns, &cal.c_int_ns, &rms, &cal.residual_pct,
		       fit) < 0) {
		fprintf(stderr,
			"%s: the runs cannot tell packets from interrupts apart (their interrupt "
			"counts are proportional to their packet counts); choose rates the NIC "
			"honours further apart\n",
			prog);
		goto done;
	}
	for (int i = 0; i < n_runs; i++)
		worst = fabs(zs[i] - fit[i]) > worst ? fabs(zs[i] - fit[i]) : worst;
	printf("# fit over %d runs: busy = C_pkt * packets + C_int * interrupts\n", n_runs);
	printf("# C_pkt = %.1f ns per packet, C_int = %.1f ns per interrupt\n", cal.c_pkt_ns,
	       cal.c_int_ns);
	printf("# residual: rms %.2f ms per run (%.1f %% of the mean busy time), largest %.2f "
	       "ms\n",
	       rms, cal.residual_pct, worst);
	if (!(cal.c_pkt_ns > 0) || !(cal.c_int_ns > 0)) {
		fprintf(stderr,
			"%s: the fit gave a cost <= 0 (C_pkt %.1f ns, C_int %.1f ns): the runs are "
			"dominated by noise; run longer (--seconds) or with more packets (--pps); "
			"nothing written\n",
			prog, cal.c_pkt_ns, cal.c_int_ns);
		goto done;
	}
	str_copy(cal.ifname, d.ifname, sizeof(cal.ifname));
	snprintf(cal.source, sizeof(cal.source), "%s%.80s", agent ? "agent " : "local",
		 agent ? agent : "");
	time_t now = time(NULL);
	struct tm tm;
	strftime(cal.time, sizeof(cal.time), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	char *text = irqcal_format(&cal);
	if (!text)
		goto done;
	if (strcmp(out, "-") == 0) {
		fputs(text, stdout);
		status = 0;
	} else {
		char tmp[4200];
		snprintf(tmp, sizeof(tmp), "%s.tmp", out);
		FILE *f = fopen(tmp, "w");
		if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, out) < 0) {
			fprintf(stderr, "%s: cannot write %s: %s\n", prog, out, strerror(errno));
			unlink(tmp);
		} else {
			printf("# wrote %s\n", out);
			status = 0;
		}
	}
	free(text);
done:
	if (changed && irqcal_set(&d, orig_usecs, orig_adaptive, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: restoring rx-usecs %u: %s\n", prog, orig_usecs, err);
		status = 1;
	}
	if (d.cl) {
		proto_client_close(d.cl);
		free(d.cl);
	}
	if (d.sock >= 0) {
		close(d.sock);
		sysroot_close(&d.root);
	}
	close(s.fd);
	return status;
}
