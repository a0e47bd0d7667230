/* agentlink.h - vspaced's side of the guest agents: one proto_client per LC workload with agent=, behind the platform's guest hook. */
#ifndef VS_DAEMON_AGENTLINK_H
#define VS_DAEMON_AGENTLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/metrics.h"
#include "platform/linux/guest.h"
#include "control/controller.h"
#include "platform/platform.h"
#include "platform/rxq.h"
#include "proto/client.h"

/*
 * The Linux platform tells a workload's guest actuator (platform/linux/guest.h)
 * the vCPU and queue counts of each new plan. An agent link *is* that
 * actuator: it records the desired values and returns at once; the I/O
 * happens in agentlinks_poll(), from the daemon's event loop, never blocking
 * it. Per link:
 *
 *   desired (want)  --clamp to hello's maxima-->  asked  --agent replies ok-->  applied
 *
 * - A value is sent when the link is READY, differs from what the agent last
 *   confirmed on this connection, and no request for that knob is in flight
 *   (one at a time per knob keeps the order: the newest plan wins).
 * - When the link becomes READY (first connect or reconnect) the applied
 *   values are forgotten, so the current desired ones are sent again.
 * - A refused or timed-out request is retried after a delay that doubles
 *   from retry_min_ms to retry_max_ms; a new plan value goes out at once.
 * - Link state changes are logged once (up, lost, unreachable); repeated
 *   connect failures and repeated identical errors only at debug level.
 * - stats every stats_ms; when the guest's reported queue count or active
 *   vCPUs drift from what the agent confirmed (an agent restarted inside the
 *   guest), the desired values are sent again.
 * - Values above what hello reports (vCPUs; the NIC's max_queues) are
 *   clamped with one log line per plan value.
 * - The guest NIC is guest_nic= or, when that is empty, the first NIC of
 *   hello with more than one queue (else its first NIC).
 */

/* ---- Tunables (zero fields of agentlinks_opts take these) -------------------------------- */

/* Time an agent may take to answer. A TCG guest answers a set_vnq that
 * changes the channel count in ~6 ms (p50) to ~12 ms (max) here, stats in
 * ~1.5 ms; 2 s leaves room for a loaded host without letting a hung agent
 * hold a knob for long. */
#define AGENTLINK_TIMEOUT_MS 2000
/* Connect + hello. */
#define AGENTLINK_CONNECT_TIMEOUT_MS 3000
/* Reconnect backoff (the client doubles it): an agent that boots late or a
 * VM that restarts is found again within 5 s. */
#define AGENTLINK_BACKOFF_MIN_MS 200
#define AGENTLINK_BACKOFF_MAX_MS 5000
/* Period of the stats request. */
#define AGENTLINK_STATS_MS 1000
/* Retry delay after a refused or timed-out set request. */
#define AGENTLINK_RETRY_MIN_MS 1000
#define AGENTLINK_RETRY_MAX_MS 30000

struct agentlinks_opts {
	uint32_t timeout_ms;
	uint32_t connect_timeout_ms;
	uint32_t backoff_min_ms, backoff_max_ms;
	uint32_t stats_ms;
	uint32_t retry_min_ms, retry_max_ms;
};

/* The requests a link makes (index of the per-request records). */
enum agentlink_req {
	AGENTLINK_VCPUS = 0, /* set_vcpus */
	AGENTLINK_VNQ,	     /* set_vnq */
	AGENTLINK_COAL,	     /* set_coalesce: rx-usecs of the guest NIC (interrupt rate) */
	AGENTLINK_RPS,	     /* set_rps: CPUs sharing the guest NIC's receive work */
	AGENTLINK_STATS,     /* stats */
	AGENTLINK_RESTORE,   /* restore (at exit, on_exit=restore) */
	AGENTLINK_N_REQ
};
/* Knobs are the first four requests. */
#define AGENTLINK_N_KNOBS 4

struct agentlink_knob {
	int want;		 /* what the plan asks; 0 = nothing asked yet */
	int sent;		 /* value of the request in flight; 0 = none */
	int have;		 /* value the agent confirmed on this connection; 0 = unknown */
	int asked;		 /* want after clamping, as last computed */
	int clamp_logged;	 /* the want whose clamping was logged */
	int failed;		 /* value of the last failed request; 0 = none */
	uint64_t retry_ms;	 /* failed may not be sent again before this time */
	uint32_t retry_delay_ms; /* the next delay */
	uint64_t confirmed_ms;	 /* when have was confirmed */
	char logged_error[200];	 /* the error last logged at warn level */
};

/* The last answer to one kind of request. */
struct agentlink_last {
	bool valid;
	enum proto_status status;
	int value; /* n asked (set_vcpus, set_vnq) */
	uint64_t rtt_us;
	uint64_t at_ms;
	char error[256];
};

struct agentlink_counts {
	uint64_t sent, ok, refused, timeout, disconnected;
};

struct agentlinks;

struct agentlink {
	struct vs_guest_actuator base; /* first: the platform's hook */
	struct agentlinks *set;
	char workload[VS_WORKLOAD_NAME_MAX];
	char address[PROTO_PATH_MAX + 16]; /* as configured, for logs and status */
	char ifname_cfg[IFNAMSIZ];	   /* guest_nic=; "" = from hello */
	char ifname[IFNAMSIZ];		   /* the guest NIC in use; "" = none (yet) */
	char ifname_problem[160];	   /* why there is none */
	int guest_vcpus;		   /* hello: vCPUs of the guest; 0 unknown */
	int guest_max_queues;		   /* hello: queue maximum of ifname; 0 unknown */
	struct proto_client client;
	struct agentlink_knob knob[AGENTLINK_N_KNOBS];
	struct agentlink_last last[AGENTLINK_N_REQ];
	struct agentlink_counts count[AGENTLINK_N_REQ];
	json_t *stats;		/* the agent's last stats result, NULL before one */
	uint64_t stats_at_ms;	/* when it arrived */
	uint64_t stats_sent_ms; /* when the request in flight (or the last) was sent */
	uint64_t next_stats_ms;
	bool stats_pending;
	char stats_logged[200]; /* stats error last logged at warn level */
	bool restore_pending;
	bool up;	  /* READY, as last logged */
	bool down_logged; /* the link being down has been logged */
	bool changed;	  /* some set request succeeded since start (restore needed) */
	bool closing;
	uint64_t connects, disconnects;
	uint64_t up_since_ms;
	uint64_t rtt_n, rtt_sum_us, rtt_max_us, rtt_last_us;
	/* interrupt rate of the guest NIC (SPEC §7.1) */
	char coal_unsupported[200]; /* the agent said the NIC has no coalescing: not asked again */
	bool coal_adaptive;	    /* ask adaptive-rx on (putting an original back) */
	int coal_orig;		    /* rx-usecs before vspace's first change (0 unknown) */
	bool coal_orig_adaptive;
	int64_t coal_write_us; /* the agent's time for the last coalescing write, -1 */
	/* the guest NIC's counters at the last sample (agentlink_rxq_sample) */
	bool rx_have;
	uint64_t rx_stats_ms; /* stats_at_ms of the stats they came from */
	int64_t rx_t_ms;      /* the guest's clock then */
	uint64_t rx_packets, rx_bytes, rx_irqs;
	int64_t rx_busy_ms; /* busy time of the receiving vCPUs */
};

struct agentlinks {
	int epfd; /* the links' own epoll set; its fd sits in the daemon's loop */
	struct agentlinks_opts opt;
	struct agentlink **link;
	int n, cap;
};

/* ---- API for the daemon ------------------------------------------------------------------- */

/* An empty set. Returns 0, or -1 with err (epoll_create1). o may be NULL. */
int agentlinks_init(struct agentlinks *s, const struct agentlinks_opts *o, char *err,
		    size_t errlen);
/* Close every connection (no restore) and free the links. */
void agentlinks_free(struct agentlinks *s);
/* A link for workload (address as in agent=, guest_nic may be "" for the
 * hello's choice). Nothing connects before agentlinks_poll. Returns the
 * link (plug &link->base into linuxplat_set_guest), or NULL with err. */
struct agentlink *agentlinks_add(struct agentlinks *s, const char *workload, const char *address,
				 const char *guest_nic, char *err, size_t errlen);
struct agentlink *agentlinks_find(struct agentlinks *s, const char *workload);
/* The fd to watch for EPOLLIN in the daemon's epoll set. */
int agentlinks_fd(const struct agentlinks *s);
/* Handle what is ready, connect and time out when due, send what the plans
 * ask and the periodic stats. Call after every wake-up of the loop. */
void agentlinks_poll(struct agentlinks *s, uint64_t now_ms);
/* Milliseconds until agentlinks_poll has work (-1 none): the loop's
 * epoll_wait timeout. */
int agentlinks_timeout_ms(const struct agentlinks *s, uint64_t now_ms);
/* At exit with on_exit=restore: ask every ready agent whose guest vspace
 * changed to put its original settings back ("restore"), waiting at most
 * wait_ms for the answers. Returns the number of agents that did not
 * confirm. */
int agentlinks_restore(struct agentlinks *s, uint32_t wait_ms);

/* ---- API for tests and fuzzing: the agent's answers (untrusted) -------------------------- */

/* A hello result: the guest's vCPUs, its NICs, the NIC to steer. */
void agentlink_take_hello(struct agentlink *l, const json_t *hello);
/* A stats result: kept for status and metrics, compared with what the agent
 * confirmed (drift). */
void agentlink_take_stats(struct agentlink *l, const json_t *stats, uint64_t now_ms);

/* ---- Interrupt rate of the guest NIC (SPEC §7.1) --------------------------------------------- */

/* The guest NIC as a receive queue (queue -1: the agent sets the whole
 * device), from the agent's last stats: measured when stats newer than the
 * last call's came. Returns 1 with *s filled, 0 when there is nothing to
 * report (no NIC, no stats yet). */
int agentlink_rxq_sample(struct agentlink *l, struct vs_rxq_sample *s);
/* Ask for a target's rate (set_coalesce, adaptive-rx off; on release the
 * original back) and fan-out (set_rps); delivered like the other knobs. */
void agentlink_rxq_apply(struct agentlink *l, const struct vs_rxq_target *t);

/* ---- Status and metrics ---------------------------------------------------------------------- */

/* The link's state for vspacectl status (new reference). */
json_t *agentlink_status(const struct agentlink *l, uint64_t now_ms);
/* Prometheus text of every link (vspace_agent_*). */
void agentlinks_metrics(const struct agentlinks *s, struct metrics_buf *b);

#endif
