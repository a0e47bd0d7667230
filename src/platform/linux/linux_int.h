/* linux_int.h - internals shared by the Linux platform's files (not for the daemon). */
#ifndef VS_PLATFORM_LINUX_LINUX_INT_H
#define VS_PLATFORM_LINUX_LINUX_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/hist.h"
#include "platform/haltpoll.h"
#include "platform/linux/ethtool.h"
#include "platform/linux/linux.h"
#include "platform/linux/procfs.h"
#include "platform/linux/qmpconn.h"
#include "platform/linux/qmpstats.h"
#include "platform/linux/sysfs.h"
#include "platform/linux/sysroot.h"
#include "platform/linux/virt.h"

/* Seconds between full rescans of a workload's threads (new vhost kernel
 * threads, QMP, a reused pid) even when its task list looks unchanged. */
#define LX_RESCAN_S 5.0
/* QMP query time limit (discovery's query-cpus-fast; the first reading of
 * the halt-polling counters at start-up). */
#define LX_QMP_TIMEOUT_MS 200
/* Default wait for the halt-polling counters over QMP each period. */
#define LX_QMP_WAIT_MS VS_HP_QMP_WAIT_MS

/* ---- Objects vspace writes ------------------------------------------------------------ */

/* One setting vspace owns: a thread's affinity, an IRQ's, an RPS mask, ... */
struct lx_obj {
	bool known;	 /* cpus/ival hold the current setting */
	bool remembered; /* its original is in the state records */
	bool broken;	 /* a permanent error: left alone from now on */
	bool warned;	 /* a transient error was logged at warn level once */
	struct vs_cpuset cpus;
	int ival;
};

/* ---- cgroup hierarchies ------------------------------------------------------------------ */

enum lx_hier { LX_HIER_CPUSET1 = 0, LX_HIER_FREEZER1, LX_HIER_V2, LX_HIER_N };

struct lx_cgroupfs {
	int fd[LX_HIER_N];	   /* hierarchy root, -1 when absent */
	char rel[LX_HIER_N][32];   /* its path below sys/ ("fs/cgroup/cpuset") */
	bool v2_cpuset, v2_freeze; /* controllers usable in the v2 hierarchy */
	char mems[64];		   /* cpuset.mems of the v1 root, copied into our groups */
};
const char *lx_hier_name(enum lx_hier h);

/* A cgroup directory vspace creates (relative to its hierarchy). */
struct lx_cgdir {
	char path[192];
	bool planned; /* mkdir and set-up have been planned */
	struct lx_obj cpus;
};

/* ---- Workloads -------------------------------------------------------------------------- */

/* KVM halt-polling accounting of an LC VM workload (kvmstat.c). */
enum lx_hp_state {
	LX_HP_OFF = 0,	   /* halt_poll_accounting=off */
	LX_HP_NOT_VM,	   /* not a QEMU/KVM process: nothing to subtract */
	LX_HP_UNAVAILABLE, /* the counters cannot be read (note says why) */
	LX_HP_BAD,	   /* a counter file holds garbage (note): no correction */
	LX_HP_ACTIVE,	   /* read each period, subtracted from U_v */
};

/* Where the counters in use come from. */
enum lx_hp_via { LX_VIA_NONE = 0, LX_VIA_DEBUGFS, LX_VIA_QMP };

/* The outcome of a period's QMP exchange (qmpstats.c). */
enum lx_q_rc {
	LX_Q_NONE = 0,	  /* not asked this period */
	LX_Q_OK,	  /* reading holds the counters */
	LX_Q_SLOW,	  /* no answer within the wait (why) */
	LX_Q_BAD,	  /* an unusable answer: garbage, missing counters, an error reply (why) */
	LX_Q_UNAVAILABLE, /* not to be had: no socket, refused, closed, QEMU without query-stats or
			     without KVM statistics (why) */
};

/* A workload's QMP connection and its halt-polling statistics over it. */
struct lx_hp_qmp {
	struct qmpconn conn; /* the VM's QMP connection, shared with discovery */
	bool in_use;	     /* the statistics are read over it (else it is closed after use) */
	bool have_schema;    /* the schema was read on this connection */
	struct qmpstats_schema schema;
	enum { LX_QASK_NONE = 0, LX_QASK_SCHEMA, LX_QASK_STATS } asking; /* the request awaited */
	bool unsupported; /* this QEMU cannot give them: not asked again for this process */
	char unsupported_why[256];
	double retry_s;	    /* no new connection before this time (platform clock) */
	char fail_why[256]; /* why the last connection attempt failed */
	double sent_s;	    /* this period's query-stats: sent (platform clock) */
	uint64_t sent_us;   /* and in monotonic microseconds (round trip) */
	/* this period */
	enum lx_q_rc rc;
	char why[256];
	struct qmpstats_reading rd;
	double at_s; /* when the reading was taken: the request's midpoint (platform clock) */
	/* the last good reading: the interval of the next delta */
	bool have_prev;
	double prev_at_s;
	struct qmpstats_reading prev;
	/* counts since start */
	uint64_t requests, answers, slow, bad, unavailable;
	double rtt_last_s, rtt_sum_s, rtt_max_s;
	struct vs_hist *rtt_us; /* round trips of query-stats, microseconds (allocated on use) */
	bool slow_logged;	/* the first slow answer was logged (once) */
};

struct lx_haltpoll {
	enum lx_hp_state state;
	char note[256];		/* why not active; when active, how the source was chosen */
	char found[256];	/* how the directory in use was chosen */
	char logged[320];	/* the state last logged (log once per change) */
	enum lx_hp_via via;	/* the source of the counters in use (or last tried) */
	enum lx_hp_via ctr_via; /* the source ctr's baseline came from */
	char why_via[400];	/* why that source */
	char dfs_why[256];	/* why debugfs cannot be read (its last attempt), "" */
	struct lx_hp_qmp q;
	int pid; /* the process the directory belongs to */
	uint64_t pid_start;
	char dir[32];	   /* "<pid>-<fd>" below sys/kernel/debug/kvm, "" none */
	int dir_fd;	   /* O_PATH fd of it, -1 */
	bool dfs_new;	   /* the directory was (re)found: its first reading is a baseline */
	bool searched;	   /* looked for since the process was seen */
	double searched_s; /* when */
	struct vs_haltpoll_counter ctr;
	bool have_poll;	      /* poll_cores is this period's */
	double poll_cores;    /* KVM polling over the period, cores */
	bool applied;	      /* the last sample was corrected */
	double raw_busy_vcpu; /* the last sample's U_v before the correction */
	double subtracted;    /* what was subtracted from it */
	uint64_t bad_reads;   /* periods whose counters held garbage */
};

enum lx_role { LX_ROLE_COMPUTE = 0, LX_ROLE_VHOST, LX_ROLE_OTHER };
/* Thread groups of a workload (index into lx_wl.cg). */
enum lx_group { LX_G_ENV = 0, LX_G_VCPU, LX_G_NQ, LX_G_N };

struct lx_thread {
	int tid, pid; /* pid: the tgid, for /proc paths */
	uint64_t start;
	enum lx_role role;
	int vcpu; /* vCPU index, -1 */
	bool kthread;
	bool seen; /* present in the last listing */
	char comm[24];
	struct lx_obj aff; /* sched affinity */
	struct lx_obj cg;  /* cgroup membership: ival = lx_group joined, -1 none */
	uint64_t runtime_ns;
	bool has_runtime;
};

struct lx_wl {
	struct vs_wl_spec spec;
	bool present;
	char absent[160]; /* why it is not present ("" when present) */
	int pid;	  /* main process, 0 for cgroup= workloads */
	uint64_t pid_start;
	bool is_vm;
	bool qmp_used;
	bool reported; /* reported present by the last refresh (LC workloads) */
	enum vs_placement place;
	struct lx_thread *thr;
	int n_thr, cap_thr;
	long task_nlink;  /* nlink of /proc/<pid>/task at the last listing */
	double scanned_s; /* time of the last full rescan */
	bool vhost_in_process;
	struct lx_cgdir cg[LX_G_N]; /* cpuset groups (v1 or v2) */
	struct lx_cgdir fz;	    /* freezer group (BE, v1) */
	struct lx_obj proc_cg;	    /* v2: the process joined our domain group */
	uint64_t aff_seq;	    /* plan that first set its threads' affinity (0 none) */
	uint64_t proc_move_seq;	    /* plan in which its move was planned */
	struct lx_obj frozen;	    /* ival 1 = paused */
	/* libvirt */
	struct lx_obj *vvcpu; /* per vCPU pin */
	int n_vvcpu;
	struct lx_obj vemu;
	int viothread[16];
	struct lx_obj viothr[16];
	int n_viothr;
	int tmpl;	   /* an instance of the libvirt= pattern lx->tmpl[tmpl]; -1 */
	bool virt_due;	   /* an event asked for a discovery now */
	bool virt_stopped; /* libvirt said the domain stopped: not looked for until it runs */
	bool virt_recount; /* vCPUs or IOThreads may have changed: apply reads them again */
	bool virt_qmp;	   /* the pid came through libvirt's QMP passthrough */
	char pid_via[224]; /* how the pid was found (status, explain) */
	/* what is in force (for sampling) */
	bool cur_valid;
	struct vs_alloc cur_alloc;
	enum vs_layout cur_layout;
	struct vs_cpuset cur_vcpu, cur_nq;
	int cur_vcpus, cur_queues;
	struct lx_obj gvnq, gvcpus; /* guest parallelism (ival) */
	struct vs_guest_actuator *guest;
	bool guest_warned;
	/* latency reports */
	bool has_p95;
	double p95_us;
	long p95_count;
	uint64_t reports;
	double last_p95_us;
	/* the last sample, for status */
	struct vs_sample last;
	bool has_last;
	int nic; /* index of its own NIC (nic=), -1 */
	int tap; /* index of its tap (tap=), -1 */
	struct lx_haltpoll hp;
};

/* ---- NICs ------------------------------------------------------------------------------- */

struct lx_irq {
	int irq;
	int queue;
	char name[64];
	struct lx_obj aff;
	bool mismatch_warned;
};

struct lx_nic {
	char name[IFNAMSIZ];
	char netns[64];
	int sys_fd; /* sysfs of its namespace */
	bool own_fd;
	int sock;  /* ethtool socket in its namespace, -1 */
	int owner; /* workload index; -1: the host NIC, shared by all LC workloads */
	bool manage_channels;
	bool present;
	int numa_node;
	int n_rx, n_tx; /* active queues (directories under queues/) */
	struct lx_irq *irq;
	int n_irq, cap_irq;
	bool irq_rescan;
	struct lx_obj *rps, *xps; /* per queue index */
	int cap_q;
	bool ch_supported; /* ETHTOOL_GCHANNELS works */
	struct vs_channels ch;
	struct lx_obj chan; /* ival: queue count set */
	struct lx_obj coal;
	bool ch_warned, coal_warned;
};

/* ---- Writes -------------------------------------------------------------------------------- */

/* Every write vspace makes, in a period or when it puts things back: one
 * enum, one dispatcher (act.c). */
enum act_kind {
	ACT_MKDIR = 0,
	ACT_RMDIR,
	ACT_CG_WRITE, /* a cgroup file: cpuset.cpus (cpus), or text (mems, type, subtree, freeze) */
	ACT_CG_MOVE,  /* id into path/file ("tasks", "cgroup.threads", "cgroup.procs") */
	ACT_AFFINITY,
	ACT_IRQ,
	ACT_RPS,
	ACT_XPS,
	ACT_CHANNELS,
	ACT_COALESCE,
	ACT_SIGNAL,
	ACT_VIRT_VCPU,
	ACT_VIRT_EMULATOR,
	ACT_VIRT_IOTHREAD,
	ACT_VIRT_PAUSE,
	ACT_GUEST_VNQ,
	ACT_GUEST_VCPUS,
};

struct act_op {
	enum act_kind kind;
	enum vs_write_kind wkind; /* for the statistics */
	struct lx_obj *obj;	  /* updated on success; broken on a permanent error */
	int dep;		  /* index of an op that must succeed first, -1 */
	enum lx_hier hier;
	char path[200]; /* cgroup dir below the hierarchy ("/" or "" its root) */
	char file[24];	/* cgroup file */
	bool use_cpus;	/* ACT_CG_WRITE: write cpus as a cpulist, else text */
	char text[64];
	int id;	 /* tid / pid / irq / vcpu / iothread id */
	int wl;	 /* workload index, -1 */
	int nic; /* NIC index, -1 */
	int queue;
	struct vs_cpuset cpus;
	struct vs_channels ch;
	struct vs_coalesce co;
	int value; /* the object's new ival: freeze flag, queue count, group joined */
	int arg;   /* ACT_SIGNAL: the signal */
	char what[96];
	bool enoent_gone; /* ENOENT means the object is gone, not an error (restore) */
	/* where it goes, filled by the writer's resolve hook just before it runs */
	int dirfd;			 /* the cgroup hierarchy's root, -1 */
	char hier_name[32];		 /* for the log */
	int sys_fd, sock;		 /* the NIC's sysfs and ethtool socket, -1 */
	char ifname[IFNAMSIZ];		 /* the NIC */
	int mask_cpus;			 /* width of RPS/XPS masks */
	struct vs_virt *virt;		 /* libvirt connection, NULL */
	char domain[128];		 /* its domain */
	struct vs_guest_actuator *guest; /* ACT_GUEST_*: the workload's actuator */
	char wname[64];			 /* the workload's name, for the log */
	/* the outcome */
	int result; /* 0 or -errno */
	bool gone;  /* failed because the object no longer exists */
};

/* The writer: queued ops, run in order, each timed, errors sorted. */
struct lx_act {
	struct act_op *op;
	int n, cap;
	const struct vs_sysroot *root;
	bool dry_run;
	const char *prefix; /* before each line it logs ("restore: "), "" */
	bool log_each;	    /* log every write at info level (restore), else at debug */
	struct vs_write_stats stats[VS_W_N];
	struct vs_hist *hist;  /* VS_W_N exact-ish latency histograms (ns); NULL unless
				 a write benchmark asked for them */
	uint64_t irq_mismatch; /* IRQs whose effective affinity left the requested set */
	void (*logfn)(void *arg, const char *line);
	void *logarg;
	/* the caller's hooks (may be NULL): fill an op's handles before it runs;
	 * account for what a write made (or, dry run, would make) changed */
	void (*resolve)(void *arg, struct act_op *op);
	void (*after)(void *arg, const struct act_op *op);
	void *hook_arg;
};

/* Append an op (zeroed but for kind, wkind, dep = -1, wl = nic = -1, no
 * handles); NULL when out of memory. */
struct act_op *act_queue(struct lx_act *a, enum act_kind kind);
/* Run the queued ops in order (an op whose dep failed is skipped) and
 * clear the queue; op->result and op->gone stay readable until the next
 * act_queue. Returns the number of failed ops (gone ones, a thread or queue that
 * went away, are not failures). */
int act_exec(struct lx_act *a);
/* One-line description of an op. */
size_t act_describe(const struct act_op *op, char *buf, size_t len);
/* Sort errno into transient (1), gone (2: the thread/object vanished) or permanent (0). */
int act_errclass(int err);
void act_free(struct lx_act *a);

/* The platform's writer: act_queue on lx->act; act_run resolves each op
 * against the host (cgroup fds, NICs, libvirt, guests) and runs them. */
struct act_op *act_push(struct vs_linux *lx, enum act_kind kind);
int act_run(struct vs_linux *lx);

/* ---- State records (what to put back) -------------------------------------------------- */

/*
 * The original of one setting vspace changed, as the write that puts it
 * back (the kinds of enum act_kind):
 *	ACT_RMDIR	 a cgroup directory vspace created
 *	ACT_CG_WRITE	 text back into file: cgroup.subtree_control ("-cpuset"),
 *			 freezer.state / cgroup.freeze (thaw)
 *	ACT_CG_MOVE	 a thread (procs: a process) back into its cgroup (file:
 *			 tasks, cgroup.threads, cgroup.procs)
 *	ACT_AFFINITY, ACT_IRQ, ACT_RPS, ACT_XPS, ACT_CHANNELS, ACT_COALESCE
 *	ACT_SIGNAL	 SIGCONT to a process vspace may have stopped
 *	ACT_VIRT_*	 libvirt pins; ACT_VIRT_PAUSE: resume the domain
 * The state file names them as before ("mkdir", "subtree_control", "cgroup",
 * "freeze", "sigstop", "libvirt_pause", ...: st_rec_name).
 */
struct st_rec {
	enum act_kind kind;
	int pid; /* the thread's process (for /proc paths) */
	int tid; /* thread or process id */
	uint64_t start;
	bool procs;	/* ACT_CG_MOVE: move the whole process */
	char hier[32];	/* cgroup hierarchy below sys/ */
	char path[200]; /* cgroup path in it; "/" is the root */
	char file[24];	/* ACT_CG_WRITE, ACT_CG_MOVE: the file written */
	int irq;
	char netns[64];
	char ifname[IFNAMSIZ];
	int queue;
	struct vs_cpuset cpus;
	struct vs_channels ch;
	struct vs_coalesce co;
	char uri[128];
	char domain[128];
	int index;
	char text[64]; /* ACT_CG_WRITE: what is written back */
};

struct lx_state {
	char path[PATH_MAX / 2]; /* "" = keep nothing (dry-run) */
	char boot_id[64];
	int daemon_pid; /* the daemon that wrote a loaded file */
	struct st_rec *rec;
	int n, cap;
	bool dirty; /* records added since the last save */
};

/* The record's name in the state file ("mkdir", "cgroup", "freeze", ...). */
const char *st_rec_name(const struct st_rec *r);
/* Add a record (copied). Returns 0 or -1 (out of memory). */
int state_add(struct lx_state *st, const struct st_rec *r);
/* Write the file atomically (temp file, fsync, rename). Returns 0 or -1 (logged). */
int state_save(struct lx_state *st);
/* Load a state file. Returns 1 loaded, 0 no file, -1 with err. */
int state_load(struct lx_state *st, const char *path, char *err, size_t errlen);
/* Delete the file and forget the records. */
void state_clear(struct lx_state *st);
void state_free(struct lx_state *st);
/* Drop the records of threads and processes that no longer exist (the
 * thread id is gone or belongs to a newer thread). Returns how many went;
 * the file is rewritten at the next save. */
int state_prune(struct lx_state *st, int proc_fd);
/* Is cgroup path (as /proc/PID/cgroup shows it) in hierarchy hier (below
 * sys/) one of vspace's own groups: below parent (the configured
 * cgroup_parent, may be NULL) or below a directory a record says vspace
 * created? Such a place is never anybody's original. */
bool state_cg_ours(const struct lx_state *st, const char *hier, const char *path,
		   const char *parent);
/* The host's boot id (proc/sys/kernel/random/boot_id), "" when unknown. */
void state_boot_id(const struct vs_sysroot *root, char *buf, size_t len);

/* restore.c: put back every record (in a safe order) under root through the
 * writer a (its root and dry_run are set here); libvirt records reach their
 * own URI. Returns the number of records that failed. */
int restore_records(struct lx_state *st, const struct vs_sysroot *root, bool dry_run,
		    struct lx_act *a);

/* ---- The platform ------------------------------------------------------------------------ */

struct vs_linux {
	struct vs_platform base;
	struct vs_linux_config cfg;
	struct vs_wl_spec *specs; /* cfg.wl points here */
	struct vs_sysroot root;
	struct lx_cgroupfs cg;
	struct vs_topology topo;
	struct vs_cpuset online;
	int n_nodes;
	int mask_cpus; /* cpus covered by the hex masks we write */
	struct lx_wl *wl;
	int n_wl, cap_wl; /* cap_wl: room in wl, appeared and vanished */
	/* libvirt= patterns (virtwl.c): each running domain that matches one is
	 * an instance in wl, named after the domain */
	struct vs_wl_spec *tmpl;
	int n_tmpl;
	bool virt_watch;		     /* following libvirt's events (cfg.virt_loop) */
	double virt_listed_s;		     /* the last listing of the running domains */
	unsigned long long virt_events;	     /* events taken by refresh */
	char virt_skipped[8][VIRT_NAME_MAX]; /* matching domains not usable as a workload
						 (logged once each, the last 8) */
	int n_virt_skipped;
	struct lx_nic *nic;
	int n_nic;
	struct vs_procstat *stat_prev, *stat_cur;
	bool have_prev;
	double t_prev_s; /* when stat_prev was read (cfg.clock_s) */
	struct vs_rapl rapl;
	struct lx_state state;
	struct lx_act act;
	struct vs_virt *virt;
	bool need_thread_time;
	/* scratch */
	char *buf;
	size_t bufcap;
	struct vs_irq_line *irql;
	int irqcap;
	int *tids;
	int tidcap;
	double now_s;
	struct vs_linux_counters cnt;
	/* the last refresh's report (LC workloads at most once each) */
	struct vs_wl_report *appeared, *vanished;
	struct lx_cgdir cgbase[LX_HIER_N]; /* cfg.cgroup_parent in each hierarchy */
	int scratch[3 * VS_MAX_CPUS];
};

/* linux.c: the workload named name, or NULL; the period's wait for QMP answers. */
struct lx_wl *linux_find(struct vs_linux *lx, const char *name);
int linux_qmp_wait_ms(const struct vs_linux *lx);

/* sample.c: the seam's sample; one /proc/stat snapshot. */
int sample_seam(struct vs_platform *p, struct vs_host_sample *s);
int sample_read_stat(struct vs_linux *lx, struct vs_procstat *out);

/* refresh.c: the seam's refresh; forget what was known of a workload's
 * process (it vanished, or everything was put back). */
int refresh_seam(struct vs_platform *p, double now_s, struct vs_discovery *d);
void refresh_forget(struct lx_wl *w);

/* open.c: add a workload for spec at the end of lx->wl (cgroup paths,
 * placement, its own NIC and tap); its index, or -1 with err. */
int linux_wl_add(struct vs_linux *lx, const struct vs_wl_spec *spec, char *err, size_t errlen);

/* virtwl.c: libvirt workloads. refresh takes libvirt's events (and, without
 * them, lists the domains now and then): instances of patterns appear,
 * stopped domains are marked absent, changed ones rediscovered. pid finds a
 * running domain's QEMU process (its pidfile, else QMP through libvirt);
 * 0 with why set when there is none. */
void virtwl_refresh(struct vs_linux *lx, double now_s);
int virtwl_pid(struct vs_linux *lx, struct lx_wl *w, char *why, size_t whylen);
json_t *virtwl_status(const struct vs_linux *lx);

/* discover.c */
int discover_workload(struct vs_linux *lx, struct lx_wl *w, double now_s, bool force);
void discover_set_absent(struct vs_linux *lx, struct lx_wl *w, const char *why);
int discover_nic(struct vs_linux *lx, struct lx_nic *n);
int discover_nic_irqs(struct vs_linux *lx, struct lx_nic *n);
void discover_cgroupfs(struct vs_linux *lx);
const char *lx_role_name(enum lx_role r);

/* open.c: how the workload's threads are placed (w->place), from the
 * configuration and what the host has; -1 with err when the configured
 * placement cannot work here. */
int open_placement(struct vs_linux *lx, struct lx_wl *w, char *err, size_t errlen);

/* apply.c */
int apply_plan(struct vs_platform *p, const struct vs_plan *plan);

/* kvmstat.c: halt-poll accounting. read_all reads every present LC VM's
 * counters right after /proc/stat (period_s: the period that snapshot ends,
 * 0 for the first), from debugfs or over QMP (waiting at most wait_ms for
 * all the QMP answers together); correct subtracts that period's polling
 * from the workload's sample; forget drops what was known (the workload
 * vanished). */
void kvmstat_read_all(struct vs_linux *lx, double period_s, double now_s, int wait_ms);
void kvmstat_correct(struct lx_wl *w, struct vs_sample *ws);
void kvmstat_forget(struct lx_wl *w);
const char *kvmstat_state_name(enum lx_hp_state s);
const char *kvmstat_via_name(enum lx_hp_via v);
/* Platform clock (cfg.clock_s or CLOCK_MONOTONIC), seconds. */
double linux_now(const struct vs_linux *lx);

#endif
