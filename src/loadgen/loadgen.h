/* loadgen.h - the open-loop load generator: Poisson arrivals over many connections, few threads. */
#ifndef VS_LOADGEN_LOADGEN_H
#define VS_LOADGEN_LOADGEN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "lib/hist.h"
#include "loadgen/etc.h"
#include "loadgen/proto.h"
#include "loadgen/report.h"

#define LOADGEN_THREADS_MAX  64
#define LOADGEN_CONNS_MAX    65536
#define LOADGEN_PIPELINE_MAX 1024
/* Requests waiting for a free connection beyond this count are dropped (and
 * counted): the server is so far behind that the figures are meaningless. */
#define LOADGEN_BACKLOG_MAX (1u << 20)
/* How long connecting to the server may take at start. */
#define LOADGEN_CONNECT_TIMEOUT_MS 3000
/* Pause before reconnecting a connection the server closed or refused. */
#define LOADGEN_RECONNECT_MS 10
/* A run whose replies received in the measured time fall below this share of
 * the requests scheduled in it did not hold the offered rate (the server fell
 * behind). 5 % leaves room for the replies still in flight when a short step
 * ends on a busy machine (a 25 ms hiccup in a 0.5 s step). */
#define LOADGEN_MIN_ACHIEVED 0.95
/*
 * The automatic coalescing window (--coalesce-us not given): requests that are
 * due within it leave together, on average LOADGEN_COALESCE_PER_WAKE + 1 per
 * wake-up of the sender, and none more than LOADGEN_COALESCE_MAX_US early. A
 * timer wake-up costs 15-22 us of CPU on the 2-core VM the project runs on, the
 * rest of a request about 10 us (docs/BENCHMARKS.md, "CPU per request"): one
 * wake-up per 5 requests keeps the sender's CPU at or below wrk's, whose
 * closed loop with millisecond timers sends in bursts too. 0 sends every
 * request at its own time.
 */
#define LOADGEN_COALESCE_PER_WAKE 4.0
#define LOADGEN_COALESCE_MAX_US	  1000.0
/* The key space (each key's name and value size) is drawn with this seed,
 * not the run's: a run with --no-load, whatever its --seed, asks for the keys
 * an earlier run loaded (--keys and --value-max being the same). */
#define LOADGEN_KEYS_SEED 1
/* A run uses too much CPU to be the server's limit when its sender threads
 * were busy this share of the measured time (search: the loadgen's own limit). */
#define LOADGEN_CPU_LIMIT 0.90

enum loadgen_protocol {
	LOADGEN_MEMCACHED,
	LOADGEN_HTTP,
};

/*
 * Exit statuses of `vspace loadgen` (documented in its --help and in
 * docs/BENCHMARKS.md): one per kind of failure, so that a script can tell them
 * apart. When several apply, the first in this order of precedence wins:
 * protocol, connection lost, timeouts, error replies, rate, sender lag.
 */
enum loadgen_status {
	LOADGEN_OK = 0,
	LOADGEN_E_START = 1, /* the run could not start: cannot connect, resources, --rt refused */
	LOADGEN_E_USAGE = 2, /* bad argument */
	LOADGEN_E_LAG = 3,   /* the loadgen fell behind its own schedule (sender lag) */
	LOADGEN_E_TIMEOUTS =
		4, /* requests unanswered within --timeout (a server that stopped answering) */
	LOADGEN_E_CONN_LOST = 5, /* unanswered requests while connections failed (a server gone) */
	LOADGEN_E_ERRORS = 6,	/* error replies (HTTP 4xx/5xx, memcached ERROR/SERVER_ERROR ...) */
	LOADGEN_E_PROTOCOL = 7, /* replies that are not the protocol's (wrong --protocol or port) */
	LOADGEN_E_RATE = 8, /* the offered rate was not held: the server answered too few in time */
	LOADGEN_E_PHASE_TIMEOUT = 9, /* connecting or the warm-up key load got no answer in time */
	LOADGEN_E_SEARCH_LIMIT =
		10, /* --search: the load generator, not the server, was the limit */
	LOADGEN_E_INTERRUPTED = 130, /* SIGINT/SIGTERM */
};

/* Everything a run needs; loadgen_config_init() gives the defaults. */
struct loadgen_config {
	enum loadgen_protocol protocol;
	struct sockaddr_storage addr; /* the server */
	socklen_t addr_len;
	char server[256];     /* HOST:PORT as given (messages, HTTP Host header) */
	double qps;	      /* offered load, requests per second (Poisson) */
	double duration_s;    /* measured time */
	double warmup_s;      /* load at the target rate before measuring (not recorded) */
	int connections;      /* total, spread over the threads */
	int threads;	      /* sender threads, each with its own epoll set */
	int pipeline_max;     /* requests outstanding per connection at most */
	uint64_t seed;	      /* arrivals, key picks, GET/SET choice, key sizes */
	double timeout_s;     /* a request without a reply this long after its start is a
				   timeout; also bounds the key load's silences and the drain */
	double max_lag_us;    /* sender-lag limit: the p99 of send time minus intended time
				   above which the run is flagged */
	double max_error_pct; /* errors + timeouts + dropped above this share of the
				   requests fail the run */
	double coalesce_us;   /* a request may leave up to this long before its intended
				   time, with an earlier one, to save a wake-up (0: never);
				   < 0: automatic (loadgen_coalesce_auto_us) */
	bool rt;	      /* sender threads at SCHED_FIFO 1 (fails when not permitted) */
	/* memcached */
	uint32_t keys;	    /* key space size */
	uint32_t value_max; /* largest value size, bytes */
	double get_share;   /* fraction of requests that are GETs */
	bool load_keys;	    /* SET every key before the run (the warm-up load) */
	/* http */
	char path[1024]; /* request target */
	/* per-window output */
	int window_ms;		      /* report/timeline window */
	struct report_client *report; /* push each window's p95 (NULL: none) */
	FILE *timeline;		      /* per-window CSV (NULL: none) */
	FILE *raw;		      /* one line per measured request (NULL: none) */
	volatile sig_atomic_t *stop;  /* set (by a signal) to end the run early; may be NULL */
};

/*
 * Every measured request (intended inside the measured time) ends as exactly
 * one of ok, errors, bad_replies, timeouts or dropped:
 *   scheduled = ok + errors + bad_replies + timeouts + dropped
 *   completed = ok + errors + bad_replies (a reply of some kind came)
 * Connection failures are counted apart: a request on a connection that failed
 * is sent again on another one, and only its final outcome is counted.
 */
struct loadgen_result {
	uint64_t seed;	       /* the seed the run used */
	double offered_qps;    /* the target */
	double duration_s;     /* measured time */
	double coalesce_us;    /* the coalescing window used */
	double scheduled_qps;  /* requests the schedule generated in the measured time / duration */
	double sent_qps;       /* ... of which written in full to a connection / duration */
	double achieved_qps;   /* replies received during the measured time / duration */
	uint64_t scheduled;    /* measured requests the Poisson schedule generated */
	uint64_t sent;	       /* ... of which were written in full to a connection */
	uint64_t completed;    /* ... answered: ok + errors + bad_replies */
	uint64_t ok;	       /* ... answered with success (the latency samples) */
	uint64_t errors;       /* ... answered with an error reply */
	uint64_t bad_replies;  /* ... answered with bytes that are no valid reply */
	uint64_t timeouts;     /* ... without a reply within timeout_s */
	uint64_t dropped;      /* ... dropped because the backlog was full */
	uint64_t received;     /* replies received during the measured time (any request) */
	uint64_t late_replies; /* replies that came after their request had timed out */
	uint64_t conn_failures;	   /* connect_failures + conn_closed (the run, any phase of it) */
	uint64_t connect_failures; /* connects refused or failed */
	uint64_t conn_closed;	   /* connections reset or closed with requests in flight */
	uint64_t conn_closed_unanswered; /* ... of which had not answered a single request */
	uint64_t reconnects;		 /* connections re-opened during the run */
	uint64_t hits, misses;		 /* memcached GETs */
	uint64_t load_errors;		 /* SETs of the warm-up load that failed */
	uint64_t rx_timestamped;	 /* replies timed by the kernel's receive timestamp */
	struct vs_hist latency;		 /* ns, from the request's start (its intended send time, or
				    its actual send when sent early) to the reply's arrival */
	struct vs_hist lag;	 /* ns, how late the sender took each request up (0 when early) */
	bool lagging;		 /* lag p99 > max_lag_us: latencies include the loadgen's lag */
	bool interrupted;	 /* stopped early by *stop */
	bool rt;		 /* the sender threads ran at SCHED_FIFO */
	double cpu_s;		 /* user + system CPU of the loadgen over the measured time */
	double sender_cpu_max_s; /* CPU of the busiest sender thread over the measured time */
	uint64_t raw_lost;	 /* --raw records lost for want of memory */
	char first_error[512];	 /* what the first error was, for the report */
	char first_conn_error[512]; /* what the first connection failure was */
};

void loadgen_config_init(struct loadgen_config *c);
/* Resolve "HOST:PORT" or "[V6]:PORT" into c->addr. Returns 0 or -1 with err. */
int loadgen_set_server(struct loadgen_config *c, const char *hostport, char *err, size_t err_len);
/* The coalescing window the engine uses for a rate when none is given
 * (coalesce_us < 0). */
double loadgen_coalesce_auto_us(double qps);
/* Run once at c->qps. Returns LOADGEN_OK when the run happened (r is filled:
 * judge it with loadgen_judge), else the status of why not (LOADGEN_E_START,
 * LOADGEN_E_PHASE_TIMEOUT, LOADGEN_E_INTERRUPTED) with err naming the phase
 * and the cause. */
int loadgen_run(const struct loadgen_config *c, struct loadgen_result *r, char *err,
		size_t err_len);

/* Latency quantile q of a result, in microseconds. */
double loadgen_quantile_us(const struct vs_hist *h, double q);

/* Check a run against its validity rules (error + timeout share, the rate,
 * sender lag). Returns LOADGEN_OK or the status of the first failure in order
 * of precedence; why (may be NULL) gets every failed rule in one line. */
int loadgen_judge(const struct loadgen_config *c, const struct loadgen_result *r, char *why,
		  size_t why_len);
/* Text of an exit status ("timeouts", "sender lag", ...). */
const char *loadgen_status_name(int status);

/* --search: highest rate whose p95 stays at or under slo_us. */
struct loadgen_search_step {
	double qps;
	int runs;	     /* runs at this rate */
	int passed;	     /* ... of which passed */
	int limited;	     /* ... of which the loadgen could not drive (no vote) */
	int empty;	     /* ... of which drew no request to measure (no vote) */
	double achieved_qps; /* median over the runs */
	double p95_us;	     /* median over the runs that voted (NAN: no replies) */
	double lag_p99_us;   /* median over the runs */
	bool pass;	     /* a majority of --repeats passed */
	bool loadgen_limit;  /* a majority of --repeats could not be driven by the loadgen */
	const char *verdict; /* "ok", "p95 over SLO", "timeouts", "sender lag", ... */
};

struct loadgen_search {
	double slo_us;
	double start_qps;
	double max_qps;
	double precision; /* stop when (fail - pass) <= precision * pass */
	int repeats;	  /* runs per rate; the majority (the median p95) decides */
	int max_steps;
	/* results */
	double best_qps;   /* highest passing rate (0: none passed) */
	double fail_qps;   /* lowest failing rate (0: none failed) */
	const char *limit; /* why the search stopped above best_qps */
	int status;	   /* LOADGEN_OK, LOADGEN_E_SEARCH_LIMIT, or the failure that
			      ended it (a failure no load level explains, e.g. protocol) */
	char why[512];	   /* the failing run's reasons when status is a failure */
	bool too_short;	   /* stopped at a rate whose runs drew no request (--duration) */
	int n_steps;
	int n_runs;
	double elapsed_s;
	struct loadgen_search_step steps[64];
};

/* One run's verdict for the search (exposed for tests): "ok" when
 * loadgen_judge passes and p95 <= slo; otherwise why, and *status the
 * judge's status (LOADGEN_OK for "p95 over SLO"). */
bool loadgen_search_judge(const struct loadgen_config *c, const struct loadgen_result *r,
			  double slo_us, const char **verdict, int *status);
/* Run the search; on_run (may be NULL) is called after each run, on_step
 * after each rate's repeats. Returns LOADGEN_OK when the search ran (its own
 * outcome is in s->status), else the status of the run that could not start. */
int loadgen_search_run(const struct loadgen_config *c, struct loadgen_search *s,
		       void (*on_run)(const struct loadgen_search *s, double qps, int run,
				      const struct loadgen_result *r, const char *verdict,
				      void *arg),
		       void (*on_step)(const struct loadgen_search *s,
				       const struct loadgen_search_step *st, void *arg),
		       void *arg, char *err, size_t err_len);

#endif
