/* vspaced.h - the daemon: its options and state, the entry point, the control-request handler (tests call it). */
#ifndef VS_DAEMON_VSPACED_H
#define VS_DAEMON_VSPACED_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "control/controller.h"
#include "daemon/agentlink.h"
#include "daemon/config.h"
#include "daemon/ctlsock.h"
#include "daemon/hostlock.h"
#include "daemon/metrics.h"
#include "daemon/mnorch.h"
#include "daemon/vfmgr.h"
#include "platform/linux/linux.h"
#include "platform/linux/virtevent.h"

/* epoll tags (the high 32 bits of epoll_event.data.u64) */
enum vsd_tag {
	VSD_TAG_TIMER = 1,
	VSD_TAG_SIGNAL,
	VSD_TAG_CTL,
	VSD_TAG_METRICS,
	VSD_TAG_AGENT,
	VSD_TAG_VIRT
};

struct vsd_opts {
	const char *config;  /* -c */
	const char *sysroot; /* --sysroot; NULL = "/" */
	bool dry_run;	     /* --dry-run */
	bool once;	     /* --once */
	bool check;	     /* -n */
	bool verbose;	     /* -v */
	int period_ms;	     /* --period-ms; 0 = from the config */
	int bench;	     /* --bench N: N periods back to back (dry-run) */
	int bench_writes;    /* --bench-writes N */
};

/* What the daemon remembers of each LC workload's allocation, to log changes. */
struct vsd_last {
	char name[VS_WORKLOAD_NAME_MAX];
	struct vs_alloc alloc;
	struct vs_cpuset vcpu, nq;
};

struct vsd {
	struct vsd_opts opt;
	struct vsd_config cfg;
	struct vs_linux *lx;
	struct vs_controller ctl;
	bool ctl_ready;
	int epfd, tfd, sfd;
	bool have_ctl;
	struct ctlsock ctlsock;
	struct hostlock lock; /* [host] lock_file, held while running */
	struct metrics_srv met;
	bool have_met;
	struct agentlinks agents; /* guest agents of the LC workloads with agent= */
	bool have_agents;
	struct virtev *virt_loop; /* libvirt's events (libvirt= workloads), NULL */
	struct vsd_memnet mn;	  /* the MemNet regions of workloads with memnet= */
	struct vfm vf;		  /* FlexVF: who holds the host's VFs ([vf]) */
	bool have_vf;
	bool stop;
	int period_ms;
	struct timespec t0; /* deadline k is t0 + k * period */
	uint64_t tick;
	uint64_t overruns;
	double start_s;
	double textfile_s; /* last textfile write */
	uint64_t watchdog_usec;
	double watchdog_s;
	/* cost of a period: CPU time of the loop thread, seconds */
	double cost_last_s, cost_sum_s, cost_max_s;
	uint64_t cost_n;
	char last_error[256];
	struct vsd_last *last;
	int n_last;
};

/* Run the daemon per opts; returns the exit status (0, 1 run-time failure,
 * 2 configuration error). */
int vsd_main(const struct vsd_opts *opts);
/* Handle one control request (exposed for tests). */
json_t *vsd_handle(void *arg, json_t *req, uid_t uid, char *err, size_t errlen);

#endif
