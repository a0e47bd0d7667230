/* linux.h - the Linux host platform: discovery, sampling and actuation behind struct vs_platform_ops. */
#ifndef VS_PLATFORM_LINUX_LINUX_H
#define VS_PLATFORM_LINUX_LINUX_H

#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/topology.h"
#include "lib/cpuset.h"
#include "platform/haltpoll.h"
#include "platform/linux/guest.h"
#include "platform/platform.h"

struct virtev;

/* ---- What the daemon's configuration hands the platform -------------------------- */

/* How thread placement is realised (SPEC §5 "Actuation"). */
enum vs_placement {
	VS_PLACE_AUTO = 0, /* libvirt for libvirt= workloads, else cgroup1, cgroup2, affinity */
	VS_PLACE_CGROUP2,  /* threaded cpuset sub-groups in a cgroup v2 subtree vspace owns */
	VS_PLACE_CGROUP1,  /* cgroup v1 cpuset sub-groups */
	VS_PLACE_LIBVIRT,  /* virDomainPinVcpuFlags / PinEmulator / PinIOThread */
	VS_PLACE_AFFINITY, /* sched_setaffinity per thread */
};
const char *vs_placement_name(enum vs_placement p);
/* "auto" | "cgroup2" | "cgroup1" | "libvirt" | "affinity"; -1 when unknown. */
int vs_placement_parse(const char *text);

/* Where a workload's threads come from. */
enum vs_wl_source {
	VS_SRC_PID = 0,	     /* pid=N: a plain process (non-VM LC workload) or QEMU */
	VS_SRC_PIDFILE,	     /* pidfile=PATH: the same, pid read from a file */
	VS_SRC_QEMU_PIDFILE, /* qemu_pidfile=PATH: a QEMU VM */
	VS_SRC_CGROUP,	     /* cgroup=PATH: every thread in a cgroup (and below) */
	VS_SRC_LIBVIRT,	     /* libvirt=DOMAIN: a libvirt-managed VM */
};

/* The guest agent's address (issue 5 connects to it; parsed and shown here). */
enum vs_agent_kind {
	VS_AGENT_NONE = 0,
	VS_AGENT_VSOCK,
	VS_AGENT_SERIAL,
	VS_AGENT_UNIX,
	VS_AGENT_TCP
};
struct vs_agent_addr {
	enum vs_agent_kind kind;
	unsigned cid, port; /* vsock:CID:PORT, tcp:HOST:PORT */
	char path[108];	    /* serial:PATH, unix:PATH */
	char host[64];	    /* tcp:HOST:PORT */
};
/* Parse vsock:CID:PORT | serial:PATH | unix:PATH | tcp:HOST:PORT. Returns 0
 * or -1 with err. */
int vs_agent_parse(const char *text, struct vs_agent_addr *out, char *err, size_t errlen);
size_t vs_agent_format(const struct vs_agent_addr *a, char *buf, size_t len);

struct vs_wl_spec {
	char name[VS_WORKLOAD_NAME_MAX];
	bool lc;	   /* role=lc; false: best-effort */
	double slo_p95_us; /* SLO; 0 = none */
	enum vs_wl_source source;
	int pid;		  /* pid= */
	char path[PATH_MAX / 4];  /* pidfile=, qemu_pidfile=, cgroup= */
	char domain[128];	  /* libvirt=: a domain name, or a pattern (domain_pattern) */
	bool domain_pattern;	  /* domain is a glob (fnmatch): every running domain it
				     matches is a workload of its own, named after it */
	char qmp[108];		  /* qmp=PATH: QMP socket for vCPU thread ids */
	char nic[IFNAMSIZ];	  /* nic=: a NIC of this workload alone (channels managed) */
	char nic_netns[64];	  /* its network namespace */
	char tap[IFNAMSIZ];	  /* tap=: the VM's tap device (RPS/XPS only) */
	char guest_nic[IFNAMSIZ]; /* guest interface the agent's set_vnq acts on */
	struct vs_agent_addr agent;
};

/* Where KVM's halt-polling counters are read ([host] halt_poll_accounting=
 * auto | debugfs | qmp | off: the mode says whether, the source where). */
enum vs_hp_source {
	VS_HPSRC_AUTO =
		0, /* debugfs when readable, else QMP query-stats when the workload has qmp= */
	VS_HPSRC_DEBUGFS, /* debugfs only (sys/kernel/debug/kvm/<pid>-<fd>) */
	VS_HPSRC_QMP,	  /* QEMU's query-stats on the workload's qmp= socket only */
};
/* "auto" | "debugfs" | "qmp" | "off" into *mode and *src. Returns 0, or -1
 * when unknown. */
int vs_hp_accounting_parse(const char *text, enum vs_haltpoll_mode *mode, enum vs_hp_source *src);
/* The value of halt_poll_accounting= for a mode and source. */
const char *vs_hp_accounting_name(enum vs_haltpoll_mode mode, enum vs_hp_source src);

/* Default of [host] halt_poll_qmp_wait_ms, the most a period waits for QEMU's
 * query-stats answers: QEMU answers for 2 vCPUs in ~0.1 ms here
 * (docs/BENCHMARKS.md); 20 ms leaves room for a loaded host while bounding
 * what a hung QEMU costs the loop. */
#define VS_HP_QMP_WAIT_MS 20

struct vs_linux_config {
	const char *sysroot;	  /* "/" or a fixture tree */
	struct vs_cpuset managed; /* cores vspace manages (cores minus reserved) */
	char nic[IFNAMSIZ];	  /* host NIC shared by the LC workloads; "" none */
	char nic_netns[64];	  /* its namespace name (/run/netns/NAME); "" current */
	enum vs_placement placement;
	char cgroup_parent[96];		 /* our subtree in each hierarchy, e.g. "vspace" */
	char state_path[PATH_MAX / 2];	 /* the state file; "" = no state kept (dry-run) */
	char libvirt_uri[256];		 /* for libvirt= workloads */
	struct virtev *virt_loop;	 /* libvirt's event loop (virtevent.h) to follow the domains
				     through events; NULL: found by polling */
	int coalesce_rx_usecs;		 /* host NIC rx-usecs to set; -1 leave alone */
	enum vs_haltpoll_mode halt_poll; /* subtract KVM halt polling from U_v (auto) */
	enum vs_hp_source halt_poll_source; /* where its counters are read (auto) */
	int qmp_wait_ms; /* wait at most this long per period for the QMP answers; 0 = LX_QMP_WAIT_MS */
	bool dry_run; /* log the writes, make none */
	/* Monotonic clock in seconds for the sampling period; NULL:
	 * CLOCK_MONOTONIC (tests substitute a fake one). */
	double (*clock_s)(void *arg);
	void *clock_arg;
	const struct vs_wl_spec *wl;
	int n_wl;
};

/* ---- API for the daemon ----------------------------------------------------------- */

struct vs_linux;

/* Open the host: sysroot, topology, cgroup hierarchies, NICs, libvirt, and a
 * first discovery. Returns 0, or -1 with err (a configuration problem the
 * host reveals, e.g. cores not online or the NIC missing). */
int linuxplat_open(struct vs_linux **out, const struct vs_linux_config *cfg, char *err,
		   size_t errlen);
void linuxplat_close(struct vs_linux *lx);
struct vs_platform *linuxplat_platform(struct vs_linux *lx);
const struct vs_topology *linuxplat_topology(const struct vs_linux *lx);

/* Re-discover the workloads (cheaply: only when a task list changed, plus a
 * full rescan every few seconds) and report the LC workloads that appeared
 * (at the first call: every one present) and vanished, by name (the seam's
 * refresh; the daemon hands the report to controller_reconcile). Returns 0. */
int linuxplat_refresh(struct vs_linux *lx, double now_s, struct vs_discovery *d);

/* libvirt's events (cfg.virt_loop) arrived since the last refresh: a
 * refresh now places a started VM and forgets a stopped one at once. */
bool linuxplat_virt_pending(const struct vs_linux *lx);
/* The libvirt connection's state (virt.h); false without libvirt workloads. */
struct virt_conn_info;
bool linuxplat_virt_info(const struct vs_linux *lx, struct virt_conn_info *out);

/* A p95 pushed by a load generator or exporter for the current period.
 * Returns 0, or -1 with err (unknown workload, bad value). */
int linuxplat_report(struct vs_linux *lx, const char *workload, double p95_us, long count,
		     char *err, size_t errlen);
/* Read per-thread run time each period (demeter needs the vCPU threads' time;
 * shared layouts always read it). */
void linuxplat_set_thread_time(struct vs_linux *lx, bool on);
/* Plug a guest actuator for a workload (NULL to remove). */
int linuxplat_set_guest(struct vs_linux *lx, const char *workload, struct vs_guest_actuator *g);

/* Put back everything vspace changed (from the state file's records) and
 * delete the state file. Returns the number of records that could not be
 * restored. */
int linuxplat_restore(struct vs_linux *lx);
/* Forget the state (on_exit=leave): delete the state file, change nothing. */
void linuxplat_leave(struct vs_linux *lx);

/* Crash recovery before anything else: when state_path exists, restore its
 * records under sysroot and delete it. Returns the number of records that
 * failed, 0 when there was nothing to do, or -1 with err (unreadable file). */
int linuxplat_recover(const char *sysroot, const char *state_path, bool dry_run, char *err,
		      size_t errlen);

/* Every write (or, in dry-run, every write that would be made) is described
 * in one line and handed to fn as well as logged. */
void linuxplat_set_write_log(struct vs_linux *lx, void (*fn)(void *arg, const char *line),
			     void *arg);

/* Text dump of what discovery found (golden tests, `vspaced --once -v`). */
size_t linuxplat_describe(const struct vs_linux *lx, char *buf, size_t len);
/* What explain says of libvirt: the connection, how each libvirt workload is
 * reached and pinned, the patterns (appended to buf like snprintf; returns
 * the length the whole text needs; nothing without libvirt workloads). */
size_t linuxplat_explain_libvirt(const struct vs_linux *lx, char *buf, size_t len);
/* Status of every configured workload and NIC (vspacectl status). */
json_t *linuxplat_status(const struct vs_linux *lx);

/* The halt-poll accounting of a workload in the last period. */
struct vs_linux_haltpoll {
	const char *state;    /* "active", "unavailable", "bad counters", "off", "not a VM" */
	const char *via;      /* the source in use or last tried: "debugfs", "qmp", "" none */
	char source[128];     /* what is read: the KVM directory ("sys/kernel/debug/kvm/4000-11")
				 or the QMP socket ("qmp:/run/vm.qmp"), "" */
	char why_via[400];    /* why that source ("halt_poll_accounting=auto: debugfs cannot be
				 read (...)"), "" */
	char note[256];	      /* why it is not active, or how the source was chosen */
	bool applied;	      /* the last sample was corrected */
	double raw_busy_vcpu; /* U_v before the correction, cores */
	double halt_poll;     /* subtracted, cores */
	double busy_vcpu;     /* U_v the policy saw */
	uint64_t bad_reads;   /* periods whose counters held garbage */
	/* the QMP source (workloads with qmp=, once it was used) */
	bool has_qmp;
	char qmp_conn[16];	  /* "closed", "greeting", "capabilities", "ready" */
	char qemu_version[32];	  /* from QEMU's greeting, "" */
	int qmp_vcpus;		  /* vCPUs in the last reading */
	uint64_t qmp_requests;	  /* query-stats sent */
	uint64_t qmp_answers;	  /* good readings */
	uint64_t qmp_slow;	  /* periods without an answer within the wait */
	uint64_t qmp_bad;	  /* unusable answers (garbage, missing counters, errors) */
	uint64_t qmp_unavailable; /* periods it could not be asked (no socket, refused, ...) */
	uint64_t qmp_dropped;	  /* answers that came after their period gave up */
	uint64_t qmp_connects;
	uint64_t qmp_rtt_n; /* round trips measured */
	double qmp_rtt_last_s, qmp_rtt_mean_s, qmp_rtt_max_s;
	double qmp_rtt_p50_s, qmp_rtt_p99_s;
	int qmp_wait_ms; /* the wait per period */
};
/* Returns 0, or -1 for an unknown workload. */
int linuxplat_haltpoll(const struct vs_linux *lx, const char *workload,
		       struct vs_linux_haltpoll *out);

/* ---- Write statistics (metrics) ------------------------------------------------------ */

enum vs_write_kind {
	VS_W_MKDIR = 0,
	VS_W_RMDIR,
	VS_W_CG_SETUP, /* cpuset.mems, cgroup.type, subtree_control */
	VS_W_CPUSET,   /* rewrite a group's cpuset.cpus */
	VS_W_CG_MOVE,  /* move a thread or process into a cgroup */
	VS_W_AFFINITY, /* sched_setaffinity */
	VS_W_IRQ,      /* /proc/irq/N/smp_affinity_list */
	VS_W_RPS,      /* rx-N/rps_cpus */
	VS_W_XPS,      /* tx-N/xps_cpus */
	VS_W_CHANNELS, /* ETHTOOL_SCHANNELS */
	VS_W_COALESCE, /* ETHTOOL_SCOALESCE */
	VS_W_FREEZE,   /* freezer.state / cgroup.freeze */
	VS_W_SIGNAL,   /* SIGSTOP / SIGCONT */
	VS_W_LIBVIRT,  /* virDomainPin*, suspend/resume */
	VS_W_GUEST,    /* guest actuator calls */
	VS_W_N
};
const char *vs_write_kind_name(enum vs_write_kind k);

/* Latency buckets: 1 us * 2^i, i = 0..VS_LAT_BUCKETS-1 (1 us .. ~1 s), then +Inf. */
#define VS_LAT_BUCKETS 21

struct vs_write_stats {
	uint64_t writes;    /* writes made (successful or not) */
	uint64_t transient; /* failed, retried next period */
	uint64_t permanent; /* failed, object left alone since */
	uint64_t gone;	    /* the object went away (a thread exited, a queue removed):
			       not an error */
	uint64_t skipped;   /* planned but skipped (dry-run or a failed prerequisite) */
	double sum_s;	    /* total latency */
	double max_s;	    /* largest latency */
	uint64_t le[VS_LAT_BUCKETS + 1]; /* non-cumulative counts per bucket, last = +Inf */
};
const struct vs_write_stats *linuxplat_write_stats(const struct vs_linux *lx);

/* ---- What `vspaced -n` checks of the host (check.c) --------------------------------- */

/* A way the host contradicts the configuration, named by the key it is about. */
struct vs_linux_problem {
	int wl;	       /* index into cfg->wl, -1 for [host] */
	char key[24];  /* the configuration key: cores, nic, nic_netns, pidfile, ... */
	char msg[320]; /* what is wrong */
};
/* Check what can be checked without changing anything: the cores online and
 * not isolated, each NIC present in its network namespace, the directory of
 * each pidfile, the cgroup hierarchy the placement needs, the libvirt
 * connection. Fills out[0..max) and returns the number of problems found
 * (possibly more than max). */
int linuxplat_check(const struct vs_linux_config *cfg, struct vs_linux_problem *out, int max);

/* Counters of the platform for metrics. */
struct vs_linux_counters {
	uint64_t samples;	/* periods measured */
	uint64_t sample_errors; /* periods /proc/stat could not be read */
	uint64_t discoveries;	/* full rescans of a workload's threads */
	uint64_t appeared, vanished;
	uint64_t irq_mismatch;	 /* IRQs whose effective affinity left the requested set */
	uint64_t reports;	 /* p95 reports received */
	uint64_t records_pruned; /* state records dropped: their threads exited */
	int records;		 /* state records held now */
	bool has_energy;
	double energy_j; /* total energy measured */
};
void linuxplat_counters(const struct vs_linux *lx, struct vs_linux_counters *out);

/* ---- Benchmark of the writes (vspaced --bench-writes) ---------------------------------- */

/* Alternate each kind of write available on this host between two settings
 * `rounds` times on the first present LC workload (thread moves between its
 * two cgroups, cpuset.cpus rewrites, affinity, RPS/XPS masks, channels, IRQ
 * affinity), timing each through the normal write path; then restore. The
 * results are in linuxplat_write_stats(). Returns 0 or -1 with err. */
int linuxplat_bench_writes(struct vs_linux *lx, int rounds, char *err, size_t errlen);
/* After linuxplat_bench_writes: the latency of kind k at quantile q (0..1)
 * from a log-linear histogram (<= 0.4 % error), seconds; 0 when none. */
double linuxplat_bench_quantile(const struct vs_linux *lx, enum vs_write_kind k, double q);

#endif
