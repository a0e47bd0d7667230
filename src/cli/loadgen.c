/* loadgen.c - `vspace loadgen`: open-loop Poisson load for memcached and HTTP servers, with latency percentiles. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/cliopt.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "loadgen/loadgen.h"

/* Set by SIGINT/SIGTERM (the handler only sets it); the run ends early. */
static volatile sig_atomic_t loadgen_stop;

struct loadgen_cli {
	struct loadgen_config cfg;
	bool json;
	bool search;
	double slo_us;	  /* 0: not given */
	double max_qps;	  /* search upper bound */
	double precision; /* search bracket */
	const char *report_spec;
	const char *timeline_path;
	const char *raw_path;
	int repeats; /* search: runs per rate */
	bool have_server, have_qps;
};

static void loadgen_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace loadgen --server HOST:PORT --qps N [options]\n"
		"       vspace loadgen --server HOST:PORT --search --slo-us US [options]\n"
		"\n"
		"Open-loop load: requests are sent at Poisson-distributed times at the offered\n"
		"rate whatever the replies do, over many connections served by a few threads\n"
		"(epoll). Latency runs from each request's intended send time (its actual send\n"
		"time when it left early, see --coalesce-us) to the kernel's receive time of the\n"
		"reply, so a server that falls behind is charged for the queue it causes (no\n"
		"coordinated omission). Percentiles come from a log-linear histogram (<= 0.4 %%\n"
		"error) with 95 %% confidence intervals.\n"
		"\n"
		"Options:\n"
		"  --protocol P        memcached (default) or http\n"
		"  --server HOST:PORT  the server ([V6ADDR]:PORT for IPv6)\n"
		"  --qps N             offered load, requests per second (search: the start)\n"
		"  --duration S        measured seconds (default 10)\n"
		"  --warmup S          seconds of load at the rate before measuring (default 0)\n"
		"  --connections C     TCP connections in total (default 32)\n"
		"  --threads T         sender threads (default 1)\n"
		"  --pipeline N        requests in flight per connection at most (default 16);\n"
		"                      an idle connection is always preferred; 1: no pipelining\n"
		"  --timeout S         a request without a reply S seconds after its start is a\n"
		"                      timeout (default 1); also the longest silence of the\n"
		"                      warm-up key load and of the drain after the run\n"
		"  --max-error-pct P   the run fails when errors, bad replies, timeouts and\n"
		"                      drops exceed P %% of the requests (default 0.1)\n"
		"  --max-lag-us US     sender-lag limit (default 500): when the p99 of how late\n"
		"                      the loadgen took its requests up exceeds it (the lower\n"
		"                      end of its 95 %% confidence interval does: one hiccup in a\n"
		"                      short run is not enough), the run fails (exit 3); its\n"
		"                      percentiles are still printed, marked\n"
		"  --rt                run the sender threads at SCHED_FIFO 1 (needs root,\n"
		"                      CAP_SYS_NICE or RLIMIT_RTPRIO >= 1; exit 1 when refused):\n"
		"                      keeps the schedule on a busy machine\n"
		"  --coalesce-us US    send a request up to US early together with one that is\n"
		"                      due, saving a wake-up; its latency then runs from its\n"
		"                      actual send (default 4e6/QPS, at most 1000: about five\n"
		"                      requests per wake-up; 0: every request at its own time,\n"
		"                      which costs more CPU)\n"
		"  --seed N            random seed (default: a fresh one, printed; give it to\n"
		"                      repeat a run's schedule)\n"
		"  --slo-us US         p95 target in microseconds (for --search; also printed)\n"
		"  --json              print one JSON object (search: one per run, then one\n"
		"                      with the result)\n"
		"  --report unix:SOCKET:WORKLOAD\n"
		"                      push each window's p95 to vspaced's control socket:\n"
		"                      "
		"{\"cmd\":\"report\",\"workload\":W,\"p95_us\":P,\"count\":N}\n"
		"  --window-ms MS      report/timeline window (default 100)\n"
		"  --timeline FILE     per-window CSV: t_s,replies,errors,timeouts,\n"
		"                      conn_failures,p50_us,p95_us,p99_us (t_s: end of the\n"
		"                      window, seconds since the measured time began; negative\n"
		"                      during --warmup; errors include bad replies, timeouts\n"
		"                      drops)\n"
		"  --raw FILE          one CSV line per measured request:\n"
		"                      intended_us,latency_us,status,lag_us (intended send time\n"
		"                      since the measured time began; status ok, miss, error,\n"
		"                      bad_reply, timeout or dropped; latency empty for the last\n"
		"                      two; lag: how late the sender took it up)\n"
		"  --search            find the highest rate whose p95 <= --slo-us: double the\n"
		"                      rate from --qps (default 1000) until a rate fails, then\n"
		"                      bisect until the bracket is within --precision. Each\n"
		"                      rate runs (--duration each, a new seed each) until a\n"
		"                      majority of --repeats agree: passed, failed (any rule\n"
		"                      above, or p95 over the SLO: the median p95 decides), or\n"
		"                      the loadgen could not drive it (sender lag, a sender\n"
		"                      thread >= 90 %% busy; such runs do not vote on the\n"
		"                      server). When the lowest failing rate is of the last\n"
		"                      kind, the result is the loadgen's own limit: exit 10.\n"
		"                      A run whose schedule drew no request (a low rate, a\n"
		"                      short --duration) does not vote either; the search\n"
		"                      ends there on what the rates above showed (exit 10\n"
		"                      when none showed anything).\n"
		"                      Wrong protocol or lost connections stop it (7, 5)\n"
		"  --repeats N         runs per rate in a search (default 3)\n"
		"  --max-qps N         search upper bound (default 10000000)\n"
		"  --precision X       search stops when the bracket is narrower than X times the\n"
		"                      best rate (default 0.05)\n"
		"memcached:\n"
		"  --keys N            key space (default 10000); every key is SET before the\n"
		"                      run (the warm-up load) unless --no-load\n"
		"  --mix GET:SET       request mix (default 30:1, Facebook ETC)\n"
		"  --value-max BYTES   largest value (default 4096); key and value sizes follow\n"
		"                      the ETC fits (GEV keys, generalized-Pareto values)\n"
		"  --no-load           skip the warm-up load (the key space does not depend on\n"
		"                      --seed: an earlier run's keys are hit)\n"
		"http:\n"
		"  --path PATH         request target (default /); HTTP/1.1 keep-alive GET\n"
		"  -h, --help          this text\n"
		"\n"
		"Output: the verdict first (OK, or FAILED with the exit status and every reason);\n"
		"offered, scheduled, sent (written in full) and achieved (replies in the\n"
		"measured time) rates; every scheduled request's outcome (ok, error reply, bad\n"
		"reply, timeout, dropped) and connection failures apart; p50/p95/p99/p99.9 in\n"
		"microseconds with 95 %% confidence intervals; the sender's own lag; the\n"
		"loadgen's CPU time per request. JSON keys: status exit_status failure seed\n"
		"offered_qps scheduled_qps sent_qps achieved_qps duration_s scheduled sent\n"
		"completed ok errors bad_replies timeouts dropped late_replies conn_failures\n"
		"connect_failures conn_closed conn_closed_unanswered reconnects hits misses p50_us "
		"p95_us p99_us p999_us max_us mean_us p50_ci_us\n"
		"p95_ci_us p99_ci_us p999_ci_us sender_lag lag_p50_us lag_p99_us lag_p999_us\n"
		"lag_max_us cpu_s cpu_us_per_req (percentiles are null only without replies),\n"
		"plus reports_* with --report.\n"
		"\n"
		"Exit status: one per kind of failure (when several apply, the first of 7, 5,\n"
		"4, 6, 8, 3):\n"
		"  0   ok: errors + timeouts within --max-error-pct, the rate held (replies in "
		"the\n"
		"      measured time >= 95 %% of the requests scheduled), no sender lag\n"
		"  1   the run could not start (cannot connect, resources, --rt refused), or\n"
		"      writing --raw or --timeline failed\n"
		"  2   bad argument (also a --timeline or --raw file that cannot be created)\n"
		"  3   sender lag: the loadgen fell behind its own schedule\n"
		"  4   timeouts: the server stopped answering\n"
		"  5   connection lost: requests unanswered while connections failed\n"
		"  6   error replies (HTTP 4xx/5xx, memcached ERROR/SERVER_ERROR/NOT_STORED)\n"
		"  7   wrong protocol: replies that are not the protocol's\n"
		"  8   rate not held: the server answered too few in the measured time\n"
		"  9   a phase timed out before the measured run (connecting, the key load)\n"
		"  10  --search: limited by the load generator\n"
		"  130 interrupted\n"
		"\n"
		"Examples:\n"
		"  vspace loadgen --server 127.0.0.1:11211 --qps 20000 --duration 10\n"
		"  vspace loadgen --protocol http --server 127.0.0.1:8080 --path /1k.bin --qps "
		"5000\n"
		"  vspace loadgen --server 127.0.0.1:11211 --search --slo-us 1000 --duration 2\n");
}

static int loadgen_bad(const char *opt, const char *text, const char *what)
{
	fprintf(stderr, "vspace loadgen: %s: \"%s\" is not %s\n", opt, text, what);
	return -1;
}

static int loadgen_opt_double(const char *opt, const char *text, double lo, double hi, double *out)
{
	char what[96];

	if (str_to_double(text, lo, hi, out) == 0)
		return 0;
	snprintf(what, sizeof(what), "a number in [%g, %g]", lo, hi);
	return loadgen_bad(opt, text, what);
}

static int loadgen_opt_long(const char *opt, const char *text, long lo, long hi, long *out)
{
	char what[96];

	if (str_to_long(text, lo, hi, out) == 0)
		return 0;
	snprintf(what, sizeof(what), "an integer in [%ld, %ld]", lo, hi);
	return loadgen_bad(opt, text, what);
}

/* "G:S" with G, S >= 0 and G + S > 0 -> share of GETs. */
static int loadgen_parse_mix(const char *text, double *get_share)
{
	char buf[64], *f[3];
	double g, s;

	if (str_copy(buf, text, sizeof(buf)) >= sizeof(buf) || str_split(buf, ':', f, 2) != 2 ||
	    str_to_double(f[0], 0, 1e9, &g) < 0 || str_to_double(f[1], 0, 1e9, &s) < 0 ||
	    g + s <= 0)
		return loadgen_bad("--mix", text, "GET:SET (two non-negative numbers, not both 0)");
	*get_share = g / (g + s);
	return 0;
}

enum {
	OPT_PROTOCOL = 256,
	OPT_SERVER,
	OPT_QPS,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_CONNECTIONS,
	OPT_THREADS,
	OPT_PIPELINE,
	OPT_SLO,
	OPT_JSON,
	OPT_REPORT,
	OPT_WINDOW,
	OPT_TIMELINE,
	OPT_RAW,
	OPT_SEARCH,
	OPT_REPEATS,
	OPT_MAX_QPS,
	OPT_PRECISION,
	OPT_MAX_LAG,
	OPT_MAX_ERROR,
	OPT_TIMEOUT,
	OPT_RT,
	OPT_COALESCE,
	OPT_SEED,
	OPT_KEYS,
	OPT_MIX,
	OPT_VALUE_MAX,
	OPT_NO_LOAD,
	OPT_PATH,
};

static const struct option loadgen_options[] = {
	{ "protocol", required_argument, NULL, OPT_PROTOCOL },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "qps", required_argument, NULL, OPT_QPS },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "pipeline", required_argument, NULL, OPT_PIPELINE },
	{ "slo-us", required_argument, NULL, OPT_SLO },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "window-ms", required_argument, NULL, OPT_WINDOW },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ "raw", required_argument, NULL, OPT_RAW },
	{ "search", no_argument, NULL, OPT_SEARCH },
	{ "repeats", required_argument, NULL, OPT_REPEATS },
	{ "max-qps", required_argument, NULL, OPT_MAX_QPS },
	{ "precision", required_argument, NULL, OPT_PRECISION },
	{ "max-lag-us", required_argument, NULL, OPT_MAX_LAG },
	{ "max-error-pct", required_argument, NULL, OPT_MAX_ERROR },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "rt", no_argument, NULL, OPT_RT },
	{ "coalesce-us", required_argument, NULL, OPT_COALESCE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "keys", required_argument, NULL, OPT_KEYS },
	{ "mix", required_argument, NULL, OPT_MIX },
	{ "value-max", required_argument, NULL, OPT_VALUE_MAX },
	{ "no-load", no_argument, NULL, OPT_NO_LOAD },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A seed nobody gave: fresh for every run, small enough to print and type. */
static uint64_t loadgen_fresh_seed(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		v = (uint64_t)ts.tv_nsec * 2654435761u ^ (uint64_t)ts.tv_sec ^ (uint64_t)getpid();
	}
	return v % 1000000000u + 1; /* 1 .. 10^9 */
}

/* Returns 0, 1 for --help, -1 on a bad argument (already reported). */
static int loadgen_parse(int argc, char **argv, struct loadgen_cli *o)
{
	char err[256];
	long l;
	int ch;
	bool have_seed = false;

	loadgen_config_init(&o->cfg);
	o->max_qps = 1e7;
	o->precision = 0.05;
	o->repeats = 3;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":h", loadgen_options, NULL)) != -1) {
		struct loadgen_config *c = &o->cfg;
		int rc = 0;

		switch (ch) {
		case OPT_PROTOCOL:
			if (strcmp(optarg, "memcached") == 0)
				c->protocol = LOADGEN_MEMCACHED;
			else if (strcmp(optarg, "http") == 0)
				c->protocol = LOADGEN_HTTP;
			else
				rc = loadgen_bad("--protocol", optarg, "memcached or http");
			break;
		case OPT_SERVER:
			if (loadgen_set_server(c, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "vspace loadgen: --server: %s\n", err);
				rc = -1;
			}
			o->have_server = true;
			break;
		case OPT_QPS:
			rc = loadgen_opt_double("--qps", optarg, 0.001, 1e8, &c->qps);
			o->have_qps = true;
			break;
		case OPT_DURATION:
			rc = loadgen_opt_double("--duration", optarg, 0.01, 86400, &c->duration_s);
			break;
		case OPT_WARMUP:
			rc = loadgen_opt_double("--warmup", optarg, 0, 3600, &c->warmup_s);
			break;
		case OPT_CONNECTIONS:
			rc = loadgen_opt_long("--connections", optarg, 1, LOADGEN_CONNS_MAX, &l);
			c->connections = (int)l;
			break;
		case OPT_THREADS:
			rc = loadgen_opt_long("--threads", optarg, 1, LOADGEN_THREADS_MAX, &l);
			c->threads = (int)l;
			break;
		case OPT_PIPELINE:
			rc = loadgen_opt_long("--pipeline", optarg, 1, LOADGEN_PIPELINE_MAX, &l);
			c->pipeline_max = (int)l;
			break;
		case OPT_SLO:
			rc = loadgen_opt_double("--slo-us", optarg, 0.001, 1e9, &o->slo_us);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_REPORT:
			o->report_spec = optarg;
			break;
		case OPT_WINDOW:
			rc = loadgen_opt_long("--window-ms", optarg, 1, 60000, &l);
			c->window_ms = (int)l;
			break;
		case OPT_TIMELINE:
			o->timeline_path = optarg;
			break;
		case OPT_RAW:
			o->raw_path = optarg;
			break;
		case OPT_SEARCH:
			o->search = true;
			break;
		case OPT_REPEATS:
			rc = loadgen_opt_long("--repeats", optarg, 1, 15, &l);
			o->repeats = (int)l;
			break;
		case OPT_MAX_QPS:
			rc = loadgen_opt_double("--max-qps", optarg, 1, 1e8, &o->max_qps);
			break;
		case OPT_PRECISION:
			rc = loadgen_opt_double("--precision", optarg, 0.001, 1, &o->precision);
			break;
		case OPT_MAX_LAG:
			rc = loadgen_opt_double("--max-lag-us", optarg, 1, 1e9, &c->max_lag_us);
			break;
		case OPT_MAX_ERROR:
			rc = loadgen_opt_double("--max-error-pct", optarg, 0, 100,
						&c->max_error_pct);
			break;
		case OPT_TIMEOUT:
			rc = loadgen_opt_double("--timeout", optarg, 0.001, 3600, &c->timeout_s);
			break;
		case OPT_RT:
			c->rt = true;
			break;
		case OPT_COALESCE:
			rc = loadgen_opt_double("--coalesce-us", optarg, 0, 1e6, &c->coalesce_us);
			break;
		case OPT_SEED:
			rc = loadgen_opt_long("--seed", optarg, 0, LONG_MAX, &l);
			c->seed = (uint64_t)l;
			have_seed = true;
			break;
		case OPT_KEYS:
			rc = loadgen_opt_long("--keys", optarg, 1, 100000000, &l);
			c->keys = (uint32_t)l;
			break;
		case OPT_MIX:
			rc = loadgen_parse_mix(optarg, &c->get_share);
			break;
		case OPT_VALUE_MAX:
			rc = loadgen_opt_long("--value-max", optarg, 1, 1 << 20, &l);
			c->value_max = (uint32_t)l;
			break;
		case OPT_NO_LOAD:
			c->load_keys = false;
			break;
		case OPT_PATH:
			if (optarg[0] != '/' || strlen(optarg) >= 1024 ||
			    strpbrk(optarg, " \r\n\t")) {
				rc = loadgen_bad(
					"--path", optarg,
					"a path starting with '/' without blanks (< 1024 bytes)");
				break;
			}
			str_copy(c->path, optarg, sizeof(c->path));
			break;
		case 'h':
			loadgen_usage(stdout);
			return 1;
		default:
			cliopt_error("vspace loadgen", ch, argv);
			return -1;
		}
		if (rc < 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "vspace loadgen: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (!o->have_server) {
		fprintf(stderr, "vspace loadgen: --server HOST:PORT is required\n");
		return -1;
	}
	if (!o->search && !o->have_qps) {
		fprintf(stderr, "vspace loadgen: --qps N is required (or --search)\n");
		return -1;
	}
	if (o->search && o->slo_us <= 0) {
		fprintf(stderr, "vspace loadgen: --search needs --slo-us US\n");
		return -1;
	}
	if (o->search && o->cfg.qps > o->max_qps) {
		fprintf(stderr, "vspace loadgen: --qps %g is above --max-qps %g\n", o->cfg.qps,
			o->max_qps);
		return -1;
	}
	if (o->search && o->raw_path) {
		fprintf(stderr, "vspace loadgen: --raw is for one run, not --search\n");
		return -1;
	}
	if (o->cfg.connections < o->cfg.threads) {
		fprintf(stderr, "vspace loadgen: --connections %d is fewer than --threads %d\n",
			o->cfg.connections, o->cfg.threads);
		return -1;
	}
	if (o->report_spec) {
		char path[REPORT_PATH_MAX], wl[REPORT_WORKLOAD_MAX];
		if (report_parse_spec(o->report_spec, path, sizeof(path), wl, sizeof(wl), err,
				      sizeof(err)) < 0) {
			fprintf(stderr, "vspace loadgen: --report: %s\n", err);
			return -1;
		}
	}
	if (!have_seed)
		o->cfg.seed = loadgen_fresh_seed();
	return 0;
}

static json_t *loadgen_json_us(const struct vs_hist *h, double q)
{
	return h->total > 0 ? json_real(loadgen_quantile_us(h, q)) : json_null();
}

static json_t *loadgen_json_ci(const struct vs_hist *h, double q)
{
	uint64_t lo, hi;

	if (h->total == 0)
		return json_null();
	hist_quantile_ci(h, q, 1.96, &lo, &hi);
	return json_pack("[f, f]", (double)lo / 1000.0, (double)hi / 1000.0);
}

static const char *loadgen_proto_name(const struct loadgen_config *c)
{
	return c->protocol == LOADGEN_HTTP ? "http" : "memcached";
}

static double loadgen_cpu_per_req_us(const struct loadgen_result *r)
{
	return r->completed ? r->cpu_s * 1e6 / (double)r->completed : 0;
}

static json_t *loadgen_result_json(const struct loadgen_cli *o, const struct loadgen_result *r)
{
	const struct loadgen_config *c = &o->cfg;
	const struct vs_hist *h = &r->latency;
	json_t *j = json_object();
	char why[1024];
	int status = loadgen_judge(c, r, why, sizeof(why));

	json_object_set_new(j, "status", json_string(loadgen_status_name(status)));
	json_object_set_new(j, "exit_status", json_integer(status));
	json_object_set_new(j, "failure", status ? json_string(why) : json_null());
	json_object_set_new(j, "protocol", json_string(loadgen_proto_name(c)));
	json_object_set_new(j, "server", json_string(c->server));
	json_object_set_new(j, "seed", json_integer((json_int_t)r->seed));
	json_object_set_new(j, "offered_qps", json_real(r->offered_qps));
	json_object_set_new(j, "scheduled_qps", json_real(r->scheduled_qps));
	json_object_set_new(j, "sent_qps", json_real(r->sent_qps));
	json_object_set_new(j, "achieved_qps", json_real(r->achieved_qps));
	json_object_set_new(j, "duration_s", json_real(r->duration_s));
	json_object_set_new(j, "connections", json_integer(c->connections));
	json_object_set_new(j, "threads", json_integer(c->threads));
	json_object_set_new(j, "pipeline", json_integer(c->pipeline_max));
	json_object_set_new(j, "coalesce_us", json_real(r->coalesce_us));
	json_object_set_new(j, "rt", json_boolean(r->rt));
	json_object_set_new(j, "scheduled", json_integer((json_int_t)r->scheduled));
	json_object_set_new(j, "sent", json_integer((json_int_t)r->sent));
	json_object_set_new(j, "completed", json_integer((json_int_t)r->completed));
	json_object_set_new(j, "ok", json_integer((json_int_t)r->ok));
	json_object_set_new(j, "errors", json_integer((json_int_t)r->errors));
	json_object_set_new(j, "bad_replies", json_integer((json_int_t)r->bad_replies));
	json_object_set_new(j, "timeouts", json_integer((json_int_t)r->timeouts));
	json_object_set_new(j, "dropped", json_integer((json_int_t)r->dropped));
	json_object_set_new(j, "late_replies", json_integer((json_int_t)r->late_replies));
	json_object_set_new(j, "conn_failures", json_integer((json_int_t)r->conn_failures));
	json_object_set_new(j, "connect_failures", json_integer((json_int_t)r->connect_failures));
	json_object_set_new(j, "conn_closed", json_integer((json_int_t)r->conn_closed));
	json_object_set_new(j, "conn_closed_unanswered",
			    json_integer((json_int_t)r->conn_closed_unanswered));
	json_object_set_new(j, "reconnects", json_integer((json_int_t)r->reconnects));
	if (c->protocol == LOADGEN_MEMCACHED) {
		json_object_set_new(j, "hits", json_integer((json_int_t)r->hits));
		json_object_set_new(j, "misses", json_integer((json_int_t)r->misses));
		json_object_set_new(j, "load_errors", json_integer((json_int_t)r->load_errors));
	}
	json_object_set_new(j, "p50_us", loadgen_json_us(h, 0.50));
	json_object_set_new(j, "p95_us", loadgen_json_us(h, 0.95));
	json_object_set_new(j, "p99_us", loadgen_json_us(h, 0.99));
	json_object_set_new(j, "p999_us", loadgen_json_us(h, 0.999));
	json_object_set_new(j, "max_us", loadgen_json_us(h, 1.0));
	json_object_set_new(j, "mean_us",
			    h->total ? json_real(hist_mean(h) / 1000.0) : json_null());
	json_object_set_new(j, "p50_ci_us", loadgen_json_ci(h, 0.50));
	json_object_set_new(j, "p95_ci_us", loadgen_json_ci(h, 0.95));
	json_object_set_new(j, "p99_ci_us", loadgen_json_ci(h, 0.99));
	json_object_set_new(j, "p999_ci_us", loadgen_json_ci(h, 0.999));
	json_object_set_new(j, "rx_timestamped", json_integer((json_int_t)r->rx_timestamped));
	json_object_set_new(j, "sender_lag", json_boolean(r->lagging));
	json_object_set_new(j, "lag_p50_us", json_real(loadgen_quantile_us(&r->lag, 0.50)));
	json_object_set_new(j, "lag_p99_us", json_real(loadgen_quantile_us(&r->lag, 0.99)));
	json_object_set_new(j, "lag_p999_us", json_real(loadgen_quantile_us(&r->lag, 0.999)));
	json_object_set_new(j, "lag_max_us", json_real(loadgen_quantile_us(&r->lag, 1.0)));
	json_object_set_new(j, "max_lag_us", json_real(c->max_lag_us));
	json_object_set_new(j, "cpu_s", json_real(r->cpu_s));
	json_object_set_new(j, "cpu_us_per_req", json_real(loadgen_cpu_per_req_us(r)));
	json_object_set_new(j, "sender_busy",
			    json_real(r->duration_s > 0 ? r->sender_cpu_max_s / r->duration_s : 0));
	if (o->slo_us > 0)
		json_object_set_new(j, "slo_us", json_real(o->slo_us));
	if (r->first_error[0])
		json_object_set_new(j, "first_error", json_string(r->first_error));
	if (r->first_conn_error[0])
		json_object_set_new(j, "first_conn_error", json_string(r->first_conn_error));
	if (r->interrupted)
		json_object_set_new(j, "interrupted", json_true());
	if (c->report) {
		json_object_set_new(j, "reports_sent", json_integer((json_int_t)c->report->sent));
		json_object_set_new(j, "reports_acked", json_integer((json_int_t)c->report->acked));
		json_object_set_new(j, "reports_rejected",
				    json_integer((json_int_t)c->report->rejected));
		json_object_set_new(j, "reports_lost", json_integer((json_int_t)c->report->lost));
	}
	return j;
}

static void loadgen_print_json(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));

	if (text) {
		puts(text);
		free(text);
	}
	fflush(stdout);
	json_decref(j);
}

static void loadgen_print_pct(const struct vs_hist *h, const char *name, double q, bool marked)
{
	uint64_t lo, hi;

	hist_quantile_ci(h, q, 1.96, &lo, &hi);
	printf("  %-6s %10.1f us   [%.1f, %.1f]%s\n", name, loadgen_quantile_us(h, q),
	       (double)lo / 1000.0, (double)hi / 1000.0, marked ? "  *" : "");
}

/* What to do about sender lag: the fixes measured to help (docs/BENCHMARKS.md). */
static void loadgen_print_lag_help(const struct loadgen_config *c, const struct loadgen_result *r)
{
	double busy = r->duration_s > 0 ? 100.0 * r->sender_cpu_max_s / r->duration_s : 0;

	printf("         the loadgen fell behind its own schedule: the percentiles (marked *)\n"
	       "         include its lateness, and the server saw a burstier load than offered.\n");
	if (busy >= 100 * LOADGEN_CPU_LIMIT)
		printf("         A sender thread was %.0f %% busy: more --threads or a lower "
		       "--qps.\n",
		       busy);
	if (!c->rt)
		printf("         What helps on a busy machine: --rt (the sender at SCHED_FIFO 1; "
		       "needs\n"
		       "         root or CAP_SYS_NICE; or chrt -f 1 vspace loadgen ...): measured "
		       "to keep\n"
		       "         the lag p99 under 0.2 ms where other work made it 4-50 ms, which "
		       "pinning\n"
		       "         it to a core of its own with taskset did not "
		       "(docs/BENCHMARKS.md).\n");
	else
		printf("         It ran at SCHED_FIFO already (--rt): something of higher "
		       "priority,\n"
		       "         or interrupts, took its core.\n");
	printf("         --max-lag-us %.0f would accept this lag.\n",
	       ceil(loadgen_quantile_us(&r->lag, 0.99) / 100) * 100);
}

static void loadgen_print_text(const struct loadgen_cli *o, const struct loadgen_result *r)
{
	const struct loadgen_config *c = &o->cfg;
	const struct vs_hist *h = &r->latency;
	char why[1024];
	int status = loadgen_judge(c, r, why, sizeof(why));

	if (status == LOADGEN_OK)
		printf("vspace loadgen: OK\n");
	else
		printf("vspace loadgen: %s (exit %d, %s): %s\n",
		       status == LOADGEN_E_INTERRUPTED ? "INTERRUPTED" : "FAILED", status,
		       loadgen_status_name(status), why);
	printf("run      %s %s, %.0f QPS offered for %.1f s (%d connections, %d thread%s, "
	       "pipeline %d%s), seed %llu\n",
	       loadgen_proto_name(c), c->server, r->offered_qps, r->duration_s, c->connections,
	       c->threads, c->threads == 1 ? "" : "s", c->pipeline_max, r->rt ? ", SCHED_FIFO" : "",
	       (unsigned long long)r->seed);
	printf("rate     offered %.1f  scheduled %.1f  sent %.1f  achieved %.1f QPS "
	       "(%.2f %% of offered)\n",
	       r->offered_qps, r->scheduled_qps, r->sent_qps, r->achieved_qps,
	       r->offered_qps > 0 ? 100.0 * r->achieved_qps / r->offered_qps : 0);
	printf("requests %llu scheduled: %llu ok, %llu error replies, %llu bad replies, "
	       "%llu timeouts, %llu dropped (%llu sent)\n",
	       (unsigned long long)r->scheduled, (unsigned long long)r->ok,
	       (unsigned long long)r->errors, (unsigned long long)r->bad_replies,
	       (unsigned long long)r->timeouts, (unsigned long long)r->dropped,
	       (unsigned long long)r->sent);
	printf("conns    %llu connection failures (%llu connects refused or failed, %llu closed "
	       "with requests in flight, %llu of them before any reply), %llu reconnects\n",
	       (unsigned long long)r->conn_failures, (unsigned long long)r->connect_failures,
	       (unsigned long long)r->conn_closed, (unsigned long long)r->conn_closed_unanswered,
	       (unsigned long long)r->reconnects);
	if (r->late_replies)
		printf("late     %llu replies came after their request had timed out\n",
		       (unsigned long long)r->late_replies);
	if (c->protocol == LOADGEN_MEMCACHED && r->hits + r->misses > 0)
		printf("gets     %llu hits, %llu misses (%.1f %% hits)\n",
		       (unsigned long long)r->hits, (unsigned long long)r->misses,
		       100.0 * (double)r->hits / (double)(r->hits + r->misses));
	if (r->load_errors)
		printf("load     %llu SETs of the warm-up load failed\n",
		       (unsigned long long)r->load_errors);
	if (r->first_error[0])
		printf("first error: %s\n", r->first_error);
	if (r->first_conn_error[0])
		printf("first connection failure: %s\n", r->first_conn_error);
	printf("sender   lag p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us (limit %.0f "
	       "us)%s\n",
	       loadgen_quantile_us(&r->lag, 0.5), loadgen_quantile_us(&r->lag, 0.99),
	       loadgen_quantile_us(&r->lag, 0.999), loadgen_quantile_us(&r->lag, 1.0),
	       c->max_lag_us, r->lagging ? "  -- SENDER LAG" : "");
	if (r->lagging)
		loadgen_print_lag_help(c, r);
	if (h->total > 0) {
		printf("latency  from the intended send time (the actual one when sent up to %.0f "
		       "us early) to the reply's arrival; 95 %% CI%s\n",
		       r->coalesce_us, r->lagging ? "; * includes sender lag" : "");
		loadgen_print_pct(h, "p50", 0.50, r->lagging);
		loadgen_print_pct(h, "p95", 0.95, r->lagging);
		loadgen_print_pct(h, "p99", 0.99, r->lagging);
		loadgen_print_pct(h, "p99.9", 0.999, r->lagging);
		printf("  %-6s %10.1f us\n  %-6s %10.1f us\n", "mean", hist_mean(h) / 1000.0, "max",
		       loadgen_quantile_us(h, 1.0));
		if (o->slo_us > 0)
			printf("slo      p95 %s %.0f us\n",
			       loadgen_quantile_us(h, 0.95) <= o->slo_us ? "within" : "OVER",
			       o->slo_us);
	} else if (r->scheduled == 0) {
		printf("latency  none measured: the schedule drew no request in %.1f s at %.0f QPS "
		       "(a longer --duration or a higher --qps)\n",
		       r->duration_s, r->offered_qps);
	} else {
		printf("latency  no successful replies\n");
	}
	printf("cpu      %.3f s of loadgen CPU = %.2f us per answered request (busiest sender "
	       "thread %.0f %% busy)\n",
	       r->cpu_s, loadgen_cpu_per_req_us(r),
	       r->duration_s > 0 ? 100.0 * r->sender_cpu_max_s / r->duration_s : 0);
	if (c->report)
		printf("reports  %llu sent to %s, %llu acknowledged, %llu rejected, %llu "
		       "lost%s%s\n",
		       (unsigned long long)c->report->sent, c->report->path,
		       (unsigned long long)c->report->acked,
		       (unsigned long long)c->report->rejected, (unsigned long long)c->report->lost,
		       c->report->last_error[0] ? ": " : "", c->report->last_error);
	fflush(stdout);
}

static void loadgen_on_run(const struct loadgen_search *s, double qps, int run,
			   const struct loadgen_result *r, const char *verdict, void *arg)
{
	const struct loadgen_cli *o = arg;

	if (o->json) {
		json_t *j = loadgen_result_json(o, r);
		json_object_set_new(j, "run_pass", json_boolean(strcmp(verdict, "ok") == 0));
		json_object_set_new(j, "run_verdict", json_string(verdict));
		loadgen_print_json(j);
		return;
	}
	printf("  run %d  %9.0f QPS  achieved %10.1f  p95 ", run, qps, r->achieved_qps);
	if (r->ok > 0)
		printf("%10.1f us", loadgen_quantile_us(&r->latency, 0.95));
	else
		printf("%10s   ", "n/a");
	printf("  lag p99 %7.0f us  %s\n", loadgen_quantile_us(&r->lag, 0.99), verdict);
	fflush(stdout);
}

static void loadgen_on_step(const struct loadgen_search *s, const struct loadgen_search_step *st,
			    void *arg)
{
	const struct loadgen_cli *o = arg;

	if (o->json)
		return;
	printf("step  %9.0f QPS  %d/%d runs passed", st->qps, st->passed, st->runs);
	if (st->limited)
		printf(" (%d lagged: no vote)", st->limited);
	if (st->empty)
		printf(" (%d drew no request: no vote)", st->empty);
	printf(", median p95 ");
	if (isnan(st->p95_us))
		printf("n/a");
	else
		printf("%.1f us", st->p95_us);
	printf(": %s\n", st->pass ? "pass" : st->verdict);
	fflush(stdout);
}

static void loadgen_print_duration(double s)
{
	if (s >= 60)
		printf("%dm%04.1fs", (int)(s / 60), fmod(s, 60));
	else
		printf("%.1f s", s);
}

/* The step run at qps (the last one when several were). */
static const struct loadgen_search_step *loadgen_search_step_at(const struct loadgen_search *s,
								double qps)
{
	const struct loadgen_search_step *st = &s->steps[s->n_steps - 1];

	for (int i = 0; i < s->n_steps; i++)
		if (s->steps[i].qps == qps)
			st = &s->steps[i];
	return st;
}

static int loadgen_do_search(struct loadgen_cli *o)
{
	struct loadgen_search *s = calloc(1, sizeof(*s));
	char err[512];
	int rc;

	if (!s) {
		fprintf(stderr, "vspace loadgen: out of memory\n");
		return LOADGEN_E_START;
	}
	s->slo_us = o->slo_us;
	s->start_qps = o->cfg.qps;
	s->max_qps = o->max_qps;
	s->precision = o->precision;
	s->repeats = o->repeats;
	s->max_steps = 40;
	if (!o->json)
		printf("vspace loadgen: searching the highest rate with p95 <= %.0f us (%s %s, "
		       "%d run%s of %.1f s per rate, the majority decides; precision %.0f %%; "
		       "seed %llu)\n",
		       o->slo_us, loadgen_proto_name(&o->cfg), o->cfg.server, s->repeats,
		       s->repeats == 1 ? "" : "s", o->cfg.duration_s, 100 * o->precision,
		       (unsigned long long)o->cfg.seed);
	rc = loadgen_search_run(&o->cfg, s, loadgen_on_run, loadgen_on_step, o, err, sizeof(err));
	if (rc != LOADGEN_OK) {
		fprintf(stderr, "vspace loadgen: %s\n", err);
		free(s);
		return rc;
	}
	rc = s->status;
	if (o->json) {
		json_t *j =
			json_pack("{s:b, s:s, s:i, s:f, s:f, s:s, s:i, s:i, s:f, s:f, s:I}",
				  "search", 1, "status", loadgen_status_name(rc), "exit_status", rc,
				  "slo_us", o->slo_us, "max_qps", s->best_qps, "limit", s->limit,
				  "steps", s->n_steps, "runs", s->n_runs, "elapsed_s", s->elapsed_s,
				  "precision", s->precision, "seed", (json_int_t)o->cfg.seed);
		json_object_set_new(j, "fail_qps",
				    s->fail_qps > 0 ? json_real(s->fail_qps) : json_null());
		if (s->why[0])
			json_object_set_new(j, "failure", json_string(s->why));
		loadgen_print_json(j);
	} else {
		/* the search ended at a rate whose runs drew nothing: that rate
		 * bounds it only when no rate above it did */
		double empty_qps = s->too_short ? s->steps[s->n_steps - 1].qps : 0;

		if (rc == LOADGEN_E_SEARCH_LIMIT && empty_qps > 0 && s->fail_qps == empty_qps)
			printf("result   nothing measured: the %.1f s runs at %.0f QPS drew no "
			       "request, "
			       "so nothing is known of the server (exit %d). What helps: a longer "
			       "--duration or a higher --qps\n",
			       o->cfg.duration_s, s->fail_qps, rc);
		else if (rc == LOADGEN_E_SEARCH_LIMIT && s->best_qps > 0)
			printf("result   limited by the load generator at %.0f QPS (it could not "
			       "keep "
			       "its schedule there: sender lag p99 %.0f us); the server kept p95 "
			       "<= "
			       "%.0f us up to %.0f QPS at least (exit %d). What helps: --rt, more "
			       "--threads, a quieter machine\n",
			       s->fail_qps, loadgen_search_step_at(s, s->fail_qps)->lag_p99_us,
			       o->slo_us, s->best_qps, rc);
		else if (rc == LOADGEN_E_SEARCH_LIMIT)
			printf("result   limited by the load generator at %.0f QPS (it could not "
			       "keep "
			       "its schedule there: sender lag p99 %.0f us), and no rate passed: "
			       "nothing is known of the server (exit %d). What helps: --rt, more "
			       "--threads, a quieter machine\n",
			       s->fail_qps, loadgen_search_step_at(s, s->fail_qps)->lag_p99_us, rc);
		else if (rc != LOADGEN_OK && rc != LOADGEN_E_INTERRUPTED)
			printf("result   FAILED (exit %d, %s) at %.0f QPS: %s\n", rc,
			       loadgen_status_name(rc), s->fail_qps, s->why);
		else if (s->best_qps > 0 && s->fail_qps > 0)
			printf("result   %.0f QPS is the highest rate with p95 <= %.0f us; %.0f "
			       "QPS "
			       "failed (%s); within %.0f %%\n",
			       s->best_qps, o->slo_us, s->fail_qps, s->limit,
			       100 * (s->fail_qps - s->best_qps) / s->best_qps);
		else if (s->best_qps > 0)
			printf("result   %.0f QPS is the highest rate with p95 <= %.0f us (%s)\n",
			       s->best_qps, o->slo_us, s->limit);
		else
			printf("result   no rate passed: %s at %.0f QPS\n", s->limit, s->fail_qps);
		if (empty_qps > 0 && s->fail_qps != empty_qps)
			printf("note     the %.1f s runs at %.0f QPS drew no request and the "
			       "search "
			       "stopped there; a longer --duration measures lower rates\n",
			       o->cfg.duration_s, empty_qps);
		printf("time     ");
		loadgen_print_duration(s->elapsed_s);
		printf(" (%d rates, %d runs)\n", s->n_steps, s->n_runs);
	}
	free(s);
	return rc;
}

static void loadgen_on_signal(int sig)
{
	loadgen_stop = 1;
}

/* Close an output file; a write that failed is the run's failure. */
static int loadgen_close_output(FILE *f, const char *opt, const char *path)
{
	int bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		fprintf(stderr, "vspace loadgen: %s: writing \"%s\" failed: %s\n", opt, path,
			strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

static FILE *loadgen_open_output(const char *opt, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fprintf(stderr, "vspace loadgen: %s: cannot write \"%s\": %s\n", opt, path,
			strerror(errno));
	return f;
}

int loadgen_main(int argc, char **argv)
{
	struct loadgen_cli *o = calloc(1, sizeof(*o));
	struct report_client report;
	struct loadgen_result *r = NULL;
	struct sigaction sa = { .sa_handler = loadgen_on_signal };
	char err[512];
	int rc, status = 0;

	if (!o) {
		fprintf(stderr, "vspace loadgen: out of memory\n");
		return LOADGEN_E_START;
	}
	log_init("vspace loadgen", VS_LOG_INFO);
	rc = loadgen_parse(argc, argv, o);
	if (rc != 0) {
		free(o);
		return rc > 0 ? 0 : LOADGEN_E_USAGE;
	}
	if (o->timeline_path) {
		o->cfg.timeline = loadgen_open_output("--timeline", o->timeline_path);
		if (!o->cfg.timeline) {
			free(o);
			return LOADGEN_E_USAGE;
		}
	}
	if (o->raw_path) {
		o->cfg.raw = loadgen_open_output("--raw", o->raw_path);
		if (!o->cfg.raw) {
			status = LOADGEN_E_USAGE;
			goto out;
		}
	}
	if (o->report_spec) {
		if (report_open(&report, o->report_spec, err, sizeof(err)) < 0) {
			fprintf(stderr, "vspace loadgen: --report: %s\n", err);
			status = LOADGEN_E_START;
			goto out;
		}
		o->cfg.report = &report;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o->cfg.stop = &loadgen_stop;
	if (o->search) {
		status = loadgen_do_search(o);
		goto out;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		fprintf(stderr, "vspace loadgen: out of memory\n");
		status = LOADGEN_E_START;
		goto out;
	}
	rc = loadgen_run(&o->cfg, r, err, sizeof(err));
	if (rc != LOADGEN_OK) {
		if (o->json)
			loadgen_print_json(json_pack("{s:s, s:i, s:s, s:I}", "status",
						     loadgen_status_name(rc), "exit_status", rc,
						     "failure", err, "seed",
						     (json_int_t)o->cfg.seed));
		else
			printf("vspace loadgen: FAILED (exit %d, %s): %s\n", rc,
			       loadgen_status_name(rc), err);
		fprintf(stderr, "vspace loadgen: %s\n", err);
		status = rc;
		goto out;
	}
	if (o->cfg.report)
		report_close(o->cfg.report, 200);
	if (o->json)
		loadgen_print_json(loadgen_result_json(o, r));
	else
		loadgen_print_text(o, r);
	status = loadgen_judge(&o->cfg, r, NULL, 0);
	if (r->raw_lost)
		fprintf(stderr, "vspace loadgen: --raw: %llu records lost (out of memory)\n",
			(unsigned long long)r->raw_lost);
out:
	if (o->cfg.report)
		report_close(o->cfg.report, 0);
	if (o->cfg.timeline &&
	    loadgen_close_output(o->cfg.timeline, "--timeline", o->timeline_path) < 0 && !status)
		status = LOADGEN_E_START;
	if (o->cfg.raw && loadgen_close_output(o->cfg.raw, "--raw", o->raw_path) < 0 && !status)
		status = LOADGEN_E_START;
	if (r && r->raw_lost && !status)
		status = LOADGEN_E_START;
	free(r);
	free(o);
	return status;
}
