/* agent.h - vspace-agent: the guest side of vspace (queues, active vCPUs, stats, restore on exit). */
#ifndef VS_AGENT_AGENT_H
#define VS_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "lib/cpuset.h"
#include "proto/proto.h"
#include "proto/transport.h"

/*
 * The agent runs inside the LC VM and changes, when told:
 *   - the channel (queue) count of a NIC (ETHTOOL_SCHANNELS), then the IRQ
 *     affinity of its queue IRQs (/proc/irq/N/smp_affinity_list) and XPS
 *     (/sys/class/net/IF/queues/tx-N/xps_cpus) to spread the queues over the
 *     active vCPUs;
 *   - the active vCPU set 0..n-1: the application's cgroup (cpuset.cpus) or
 *     pids (sched_setaffinity) are confined to it; with "hotplug" the vCPUs
 *     >= n also go offline (/sys/devices/system/cpu/cpuN/online).
 * Before its first write to anything it records the original value and
 * puts every one back in agent_restore() (on exit).
 *
 * Every /proc and /sys path goes through the sysroot fd (openat); only the
 * ethtool ioctls and sched_{get,set}affinity go to the kernel directly,
 * through struct agent_sys_ops so that tests can replace them.
 */

#define AGENT_VERSION "0.1"
/* NICs reported by hello/stats and managed by set_vnq. */
#define AGENT_MAX_NICS 16
/* Queues per NIC whose statistics are reported. */
#define AGENT_MAX_QUEUES 64
/* Application pids confined by set_vcpus. */
#define AGENT_MAX_PIDS 16

struct agent_channels {
	uint32_t rx, tx, combined;
	uint32_t max_rx, max_tx, max_combined;
};

struct agent_qstats {
	int n_rx, n_tx; /* queues with counters (highest index + 1) */
	uint64_t rx_packets[AGENT_MAX_QUEUES], rx_bytes[AGENT_MAX_QUEUES];
	uint64_t tx_packets[AGENT_MAX_QUEUES], tx_bytes[AGENT_MAX_QUEUES];
};

/* An IP address of a NIC (IPv4 or IPv6, not link-local). */
struct agent_ipaddr {
	int family; /* AF_INET, AF_INET6 */
	uint8_t addr[16];
	uint8_t prefixlen;
};

/* A route of the main table through a NIC (not one the kernel made for an
 * address: those come back with the address). */
struct agent_route {
	int family;
	uint8_t dst[16], dst_len;
	uint8_t gw[16];
	bool has_gw;
	uint8_t protocol, scope;
	uint32_t priority;
	bool has_priority;
};

/* What the agent asks of the kernel outside /proc and /sys. The first five
 * return 0 or -1 with errno set; the network ones (vfbond.c, netcfg.c) 0 or
 * a count, or -errno. */
struct agent_sys_ops {
	/** ETHTOOL_GCHANNELS */
	int (*get_channels)(void *arg, const char *ifname, struct agent_channels *ch);
	/** ETHTOOL_SCHANNELS */
	int (*set_channels)(void *arg, const char *ifname, const struct agent_channels *ch);
	/** ETHTOOL_GSTATS: the rx_queue_N_{packets,bytes}, tx_queue_N_... counters */
	int (*queue_stats)(void *arg, const char *ifname, struct agent_qstats *qs);
	/** sched_getaffinity / sched_setaffinity of one task */
	int (*get_affinity)(void *arg, pid_t tid, struct vs_cpuset *cpus);
	int (*set_affinity)(void *arg, pid_t tid, const struct vs_cpuset *cpus);
	/** a link administratively up or down (RTM_NEWLINK, IFF_UP) */
	int (*link_up)(void *arg, const char *ifname, bool up);
	/** the NIC's addresses into out (at most max): the count */
	int (*addrs)(void *arg, const char *ifname, struct agent_ipaddr *out, int max);
	/** add or delete one address on the NIC */
	int (*addr)(void *arg, const char *ifname, const struct agent_ipaddr *a, bool add);
	/** the main table's routes through the NIC into out: the count */
	int (*routes)(void *arg, const char *ifname, struct agent_route *out, int max);
	/** add (or replace) a route through the NIC */
	int (*route_add)(void *arg, const char *ifname, const struct agent_route *r);
};

/* The real kernel's network half (netcfg.c, rtnetlink). */
int netcfg_link_up(void *arg, const char *ifname, bool up);
int netcfg_addrs(void *arg, const char *ifname, struct agent_ipaddr *out, int max);
int netcfg_addr(void *arg, const char *ifname, const struct agent_ipaddr *a, bool add);
int netcfg_routes(void *arg, const char *ifname, struct agent_route *out, int max);
int netcfg_route_add(void *arg, const char *ifname, const struct agent_route *r);

/* The real kernel (ethtool.c). */
extern const struct agent_sys_ops agent_linux_ops;

struct agent_opts {
	const char *sysroot;	    /* "/" in production; a fixture tree in tests */
	bool dry_run;		    /* log every write, make none */
	const char *cgroup;	    /* application cgroup directory (absolute, under
				   the sysroot), or NULL */
	pid_t pids[AGENT_MAX_PIDS]; /* application processes, or none */
	int n_pids;
	const struct agent_sys_ops *ops; /* NULL: agent_linux_ops */
	void *ops_arg;
	const char *vf_bond; /* --vf-bond IF: bond IF with a VF that appears with its MAC */
};

/* FlexVF without a failover-capable standby (vfbond.c): when a NIC carrying
 * the standby's MAC appears (a VF hot-plugged by the host), the agent builds
 * an active-backup bond of the two with the VF primary, moves the standby's
 * addresses and routes to it, and undoes all of it when the VF goes (or the
 * agent exits). */
#define AGENT_BOND_NAME	  "vsbond0"
#define AGENT_BOND_ADDRS  16
#define AGENT_BOND_ROUTES 32
struct agent_vfbond {
	char standby[PROTO_IFNAME_MAX]; /* "" = off */
	char vf[PROTO_IFNAME_MAX];	/* the VF enslaved, "" = none */
	bool built;			/* AGENT_BOND_NAME exists: we made it */
	uint64_t builds, releases;	/* done so far */
	char last_error[200];		/* why the last build/release failed, "" */
	char skip[PROTO_IFNAME_MAX];	/* a VF whose bond failed: not retried while it stays */
	bool error_logged;		/* that error was logged (once) */
};

/* An original value the agent must put back. */
enum agent_saved_kind {
	AGENT_SAVED_ONLINE = 0, /* cpuN/online: restored first */
	AGENT_SAVED_FILE,	/* xps_cpus, smp_affinity_list, cpuset.cpus */
};

struct agent_saved_file {
	enum agent_saved_kind kind;
	char path[128]; /* relative to the sysroot */
	char value[128];
};

struct agent_saved_nic {
	char ifname[PROTO_IFNAME_MAX];
	struct agent_channels ch;
};

struct agent_saved_task {
	pid_t tid;
	struct vs_cpuset cpus;
};

/* A NIC set_vnq manages: its queues follow the active vCPU set. */
struct agent_nic {
	char ifname[PROTO_IFNAME_MAX];
	int queues;
};

struct agent {
	int root_fd;
	bool dry_run;
	char cgroup[128]; /* relative to the sysroot, "" = none */
	pid_t pids[AGENT_MAX_PIDS];
	int n_pids;
	const struct agent_sys_ops *ops;
	void *ops_arg;
	long clk_tck; /* USER_HZ for /proc/stat */

	int n_vcpus;		 /* possible vCPUs (0..n_vcpus-1) */
	struct vs_cpuset active; /* active vCPUs */
	struct agent_nic nics[AGENT_MAX_NICS];
	int n_nics;

	struct agent_saved_file *saved;
	int n_saved, cap_saved;
	struct agent_saved_nic saved_nics[AGENT_MAX_NICS];
	int n_saved_nics;
	struct agent_saved_task *saved_tasks;
	int n_saved_tasks, cap_saved_tasks;

	uint64_t requests, errors; /* answered requests, of which errors */
	struct agent_vfbond vfb;
};

/* ---- API for main and the server ----------------------------------------------- */

/* Open the sysroot and read the vCPU count. Returns 0; -2 with err when an
 * option names something unusable (the sysroot, the --cgroup, too many
 * pids); -1 with err when the guest cannot be read. */
int agent_init(struct agent *a, const struct agent_opts *o, char *err, size_t errlen);
/* Answer one request line (without '\n'; len bytes). Writes the reply line
 * (with '\n') into reply and returns its length; never fails: a bad request
 * gets an error reply. replylen must be at least PROTO_MAX_MSG + 1. */
int agent_handle_line(struct agent *a, const char *line, size_t len, char *reply, size_t replylen);
/* The reply to a message that exceeded PROTO_MAX_MSG. */
int agent_reply_too_long(struct agent *a, char *reply, size_t replylen);
/* Put back every original value recorded. Returns the number of values that
 * could not be restored (each is logged). */
int agent_restore(struct agent *a);
void agent_fini(struct agent *a);

/* The VF bond (vfbond.c): look for a VF to bond with, or for the bonded VF
 * gone; build or release. Cheap (a directory listing); the server calls it
 * every 200 ms while --vf-bond is set. Returns 1 when it changed something,
 * 0 when not, -1 on a failure (last_error, logged once). */
int agent_vfbond_poll(struct agent *a);
/* Undo the bond now (exit). 0, or -1 when something could not be put back. */
int agent_vfbond_release(struct agent *a);
/* The bond's state for stats (NULL when --vf-bond is off). */
json_t *agent_vfbond_json(struct agent *a);

/* Serve addr until SIGTERM or SIGINT, then restore (server.c). Returns the
 * exit status. */
int agent_serve(struct agent *a, const struct proto_addr *addr);

/* ---- API inside the agent (guest.c) -------------------------------------------- */

/* Read a small file under the sysroot; trailing newline removed. 0 or -1. */
int guest_read(struct agent *a, const char *path, char *buf, size_t len);
/* Read a whole file (e.g. /proc/stat) into a malloc'd NUL-terminated
 * buffer. NULL on error. */
char *guest_read_all(struct agent *a, const char *path);
/* Write value to path unless it already reads as value; record the
 * original first. Dry-run logs instead. Returns 0, or -1 with errno. */
int guest_write(struct agent *a, enum agent_saved_kind kind, const char *path, const char *value);
/* Write value + '\n' to path now (no comparison, no record). 0 or -1. */
int guest_write_raw(struct agent *a, const char *path, const char *value);
/* Record path's original value (once per path) for agent_restore(). */
int guest_remember(struct agent *a, enum agent_saved_kind kind, const char *path,
		   const char *value);
/* Possible and online vCPUs. */
int guest_cpus_possible(struct agent *a, struct vs_cpuset *set);
int guest_cpus_online(struct agent *a, struct vs_cpuset *set);
/* True when sys/class/net/IF exists. */
bool guest_nic_exists(struct agent *a, const char *ifname);
/* Names of the NICs (not lo), sorted; returns the count (<= max). */
int guest_nic_list(struct agent *a, char names[][PROTO_IFNAME_MAX], int max);
/* Queue IRQs of a NIC: irq[i] and queue[i], from /proc/interrupts (virtio
 * "virtioN-input.Q"/"-output.Q" names, or "IF-...-Q"). Returns the count. */
int guest_nic_irqs(struct agent *a, const char *ifname, int *irq, int *queue, int max);
/* What the guest's kernel says of a NIC (sys/class/net/IF): its packet
 * counters (any driver), operstate, MAC and master (a failover or bond
 * master: the NIC is its slave). */
struct agent_nic_info {
	uint64_t rx_packets, tx_packets;
	char oper[16];		       /* "up", "down", "unknown", ... */
	char mac[18];		       /* "" when unreadable */
	char master[PROTO_IFNAME_MAX]; /* "" when none */
};
/* Returns 0, or -1 when the NIC or its counters cannot be read. */
int guest_nic_info(struct agent *a, const char *ifname, struct agent_nic_info *out);
/* Number of tx-N directories under sys/class/net/IF/queues. */
int guest_nic_tx_queues(struct agent *a, const char *ifname);
/* Per-vCPU busy and total time in ms from /proc/stat (-1 for a vCPU not
 * listed, i.e. offline). Returns 0, or -1 with err. */
int guest_cpu_times(struct agent *a, int64_t *busy_ms, int64_t *total_ms, int n, char *err,
		    size_t errlen);
/* Thread ids of a process (proc/PID/task). Returns the count, -1 on error. */
int guest_tasks(struct agent *a, pid_t pid, pid_t *tids, int max);

/* `vspace-agent memnet ...`: put, ls, rm objects in the VM's MemNet region
 * (src/agent/memnet.c). Returns the exit status. */
int agent_memnet_main(int argc, char **argv);

#endif
