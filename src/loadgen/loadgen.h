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

enum loadgen_protocol {
	LOADGEN_MEMCACHED,
	LOADGEN_HTTP,
};

/* Everything a run needs; loadgen_config_init() gives the defaults. */
struct loadgen_config {
	enum loadgen_protocol protocol;
	struct sockaddr_storage addr; /* the server */
	socklen_t addr_len;
	char server[256];	/* HOST:PORT as given (messages, HTTP Host header) */
	double qps;		/* offered load, requests per second (Poisson) */
	double duration_s;	/* measured time */
	double warmup_s;	/* load at the target rate before measuring (not recorded) */
	int connections;	/* total, spread over the threads */
	int threads;		/* sender threads, each with its own epoll set */
	int pipeline_max;	/* requests outstanding per connection at most */
	uint64_t seed;		/* arrivals, key picks, GET/SET choice, key sizes */
	double drain_timeout_s; /* after the run, wait this long for replies */
	double max_lag_us;	/* sender-lag limit: the p99 of send time minus
					 intended time above which the run is flagged */
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
	volatile sig_atomic_t *stop;  /* set (by a signal) to end the run early; may be NULL */
};

struct loadgen_result {
	double offered_qps;    /* the target */
	double duration_s;     /* measured time */
	double sent_qps;       /* requests the schedule generated in the measured time / duration */
	double achieved_qps;   /* replies received during the measured time / duration */
	uint64_t sent;	       /* requests intended in the measured time */
	uint64_t completed;    /* ... of which got a reply */
	uint64_t received;     /* replies received during the measured time (any request) */
	uint64_t errors;       /* error replies, malformed replies, connection failures */
	uint64_t timeouts;     /* measured requests without a reply after the drain timeout */
	uint64_t dropped;      /* requests dropped because the backlog was full */
	uint64_t reconnects;   /* connections re-opened during the run */
	uint64_t hits, misses; /* memcached GETs */
	uint64_t load_errors;  /* SETs of the warm-up load that failed */
	struct vs_hist latency; /* ns, from the intended send time to the reply */
	struct vs_hist lag;	/* ns, from the intended send time to the moment the sender
				   took the request up (its own schedule lag) */
	bool lagging;		/* lag p99 > max_lag_us: latencies are not trustworthy */
	bool interrupted;	/* stopped early by *stop */
	double cpu_s;		/* user + system CPU of the loadgen over the measured time */
	char first_error[512];	/* what the first error was, for the report */
};

void loadgen_config_init(struct loadgen_config *c);
/* Resolve "HOST:PORT" or "[V6]:PORT" into c->addr. Returns 0 or -1 with err. */
int loadgen_set_server(struct loadgen_config *c, const char *hostport, char *err, size_t err_len);
/* Run once at c->qps. Returns 0, or -1 when the run could not happen (cannot
 * connect, out of memory): err says why. r is filled on 0. */
int loadgen_run(const struct loadgen_config *c, struct loadgen_result *r, char *err,
		size_t err_len);

/* Latency quantile q of a result, in microseconds. */
double loadgen_quantile_us(const struct vs_hist *h, double q);

/* --search: highest rate whose p95 stays at or under slo_us. */
struct loadgen_search_step {
	double qps;
	double achieved_qps;
	double p95_us;
	bool pass;
	const char *verdict; /* "ok", "p95 over SLO", "server behind", "sender lag", ... */
};

struct loadgen_search {
	double slo_us;
	double start_qps;
	double max_qps;
	double precision; /* stop when the bracket is narrower than this fraction */
	int max_steps;
	/* results */
	double best_qps;   /* highest passing rate (0: none passed) */
	double fail_qps;   /* lowest failing rate (0: none failed) */
	const char *limit; /* why the search stopped above best_qps */
	int n_steps;
	struct loadgen_search_step steps[64];
};

/* One step verdict (exposed for tests): pass when the sender kept its schedule,
 * there were no errors or timeouts, the replies received in the measured time
 * were at least 95 % of the requests sent, and p95 <= slo. */
bool loadgen_search_judge(const struct loadgen_result *r, double slo_us, const char **verdict);
/* Run the search; on_step (may be NULL) is called after each step. */
int loadgen_search_run(const struct loadgen_config *c, struct loadgen_search *s,
		       void (*on_step)(const struct loadgen_search_step *st,
				       const struct loadgen_result *r, void *arg),
		       void *arg, char *err, size_t err_len);

#endif
