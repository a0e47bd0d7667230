/* vfmgr.h - vspaced's FlexVF manager (SPEC §7.2): the VF pool, each VM's packet rate, the strategy every interval, hot-plug and unplug with retries, forced grants, the grants' record. */
#ifndef VS_DAEMON_VFMGR_H
#define VS_DAEMON_VFMGR_H

#include <jansson.h>
#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/vfsched.h"
#include "daemon/metrics.h"
#include "platform/linux/qmpconn.h"
#include "platform/linux/vfplug.h"
#include "platform/linux/vfpool.h"
#include "platform/linux/vfrate.h"
#include "platform/linux/sysroot.h"
#include "policy/vf.h"

/* ---- Configuration ([vf] and per workload; parsed by config.c) ----------- */

/* Defaults (each also in DAEMON.md). */
#define VFM_INTERVAL_S	    300.0 /* SPEC §7.2 */
#define VFM_PLUG_TIMEOUT_MS 10000 /* device_add answered, DEVICE_DELETED, libvirt detach */
#define VFM_RETRY_MIN_S	    2.0	  /* a failed plug is retried after this, doubling ... */
#define VFM_RETRY_MAX_S	    300.0 /* ... up to an interval */

/* One workload's VF settings (vf=on and vf_* keys). */
struct vsd_vf_wl {
	bool on;	  /* vf=on: may hold a VF */
	char qmp[108];	  /* vf_qmp=: the QEMU monitor hot-plug speaks on ("" : libvirt=) */
	char standby[32]; /* vf_standby=: the virtio-net's QEMU id (failover_pair_id) or libvirt
				   alias; "" = no failover pair (the guest agent bonds, --vf-bond) */
	char mac[18];	  /* vf_mac=: the standby's MAC, which the VF takes */
	char bus[32];	  /* vf_bus=: a free pcie-root-port (QMP); "" = QEMU picks */
	char netdev[32];  /* vf_netdev=: the QEMU netdev of a stand-in NIC ([vf] standin=) */
	char tap[IF_NAMESIZE]; /* vf_tap=: a stand-in's tap, counted with the VM's rate */
	int line;	       /* the first vf key's line */
};

struct vsd_vf_config {
	bool on;	      /* a [vf] section */
	char pf[IF_NAMESIZE]; /* pf=: the SR-IOV PF whose VFs are the pool */
	char standin[32];     /* standin=MODEL: the pool is `vfs` emulated NICs (no SR-IOV) */
	int standin_vfs;      /* vfs=: their number */
	const struct vf_policy_ops *strategy; /* strategy=: fair (default) | activity | random */
	double interval_s;		      /* interval_s=: 300 */
	double hysteresis;		      /* hysteresis=: 0 */
	int min_hold;			      /* min_hold=: intervals, 1 */
	double min_pps;			      /* min_pps=: below it a VM wants no VF; 0 */
	bool on_exit_unplug;		      /* vf_on_exit=unplug | leave (default) */
	int plug_timeout_ms;		      /* plug_timeout_ms=: 10000 */
	bool announce; /* announce=on (default): QMP announce-self after an unplug */
	int line;      /* the [vf] section's first line */
};

/* ---- The manager ----------------------------------------------------------------- */

enum vfm_op {
	VFM_OP_NONE = 0,
	VFM_OP_PLUG,
	VFM_OP_UNPLUG,
};

/* A libvirt call runs on a thread of its own (it blocks for the attach). */
struct vfm_job {
	pthread_t thread;
	bool running;  /* a thread was started and not joined */
	int done;      /* set by the thread (atomic): 1 finished */
	int rc;	       /* its result */
	char err[256]; /* its error */
	char uri[256], dom[128];
	struct vfplug_dev dev;
	bool unplug;
	int timeout_ms;
};

struct vfm_vm {
	char name[VF_NAME_MAX];
	int cfg_index; /* in the daemon's configuration */
	const struct vsd_vf_wl *c;
	bool libvirt; /* the backend: libvirt (libvirt=) or QMP */
	char domain[128];
	bool present;	       /* the controller runs it now */
	bool pinned, excluded; /* vspacectl vf grant / deny */
	/* the rate */
	int tap_fd;	       /* sysfs of the namespace its tap is in; -1: the host's */
	struct vfrate_ctr ctr; /* its packets (one counter: the source it has) */
	char rate_source[16];  /* "agent", "tap", "tap+vf", "none" */
	double pps;	       /* over the last interval */
	uint64_t last_count;
	/* the grant */
	int slot;      /* the pool slot it holds (plugged), -1 */
	int want_slot; /* the slot an op in flight is for, -1 */
	enum vfm_op op;
	struct qmpconn conn;
	struct vfplug_qmp qop;
	struct vfm_job job;
	double op_start_s;
	double retry_s; /* a failed plug is retried from then; 0 none */
	double backoff_s;
	/* what happened */
	uint64_t plugs, unplugs, failures;
	double plug_ms, unplug_ms; /* the last ones */
	char last_error[256];
	char why[200]; /* the strategy's reason */
};

struct vfm_slot {
	int vf;	       /* the VF's number on the PF (stand-in: 0..vfs-1) */
	char pci[16];  /* "" for a stand-in */
	char mac[18];  /* the MAC it has now (netlink), "" unknown */
	bool usable;   /* may be handed out */
	char note[80]; /* why not, or what it is */
	int holder;    /* the VM that holds (or is getting) it, -1 */
};

struct vfm {
	const struct vsd_config *dcfg;
	const struct vsd_vf_config *cfg;
	struct vf_sched sched;
	struct vfm_vm *vm;
	int n_vm;
	struct vfm_slot slot[VFPOOL_MAX];
	int n_slot;
	struct vs_sysroot root; /* for the pool and the taps */
	bool have_root;
	int nlfd; /* rtnetlink, for a real PF; -1 */
	bool dry_run;
	char libvirt_uri[256];
	char record_path[PATH_MAX / 4 + 32]; /* the grants' record (state_dir/vf-grants.json) */
	double next_decision_s;
	long decisions;
	int wanted_unmet; /* VMs the last decision granted that got no VF (pool) */
	bool exhausted_logged;
	char pool_error[256]; /* why the pool could not be read, "" */
};

struct vsd_config;
struct agentlinks;
struct vs_controller;

/* Set up from the configuration (no I/O on the VMs yet): the pool, the VMs
 * with vf=on, the grants recorded by an earlier run (adopted: the VFs stay
 * where they are). Returns 0, or -1 with err. */
int vfm_open(struct vfm *m, const struct vsd_config *cfg, const char *sysroot, bool dry_run,
	     char *err, size_t errlen);
/* Each wake-up of the loop: drive the hot-plug operations in flight; on
 * each period (period true) also follow the controller's workloads (a VM
 * that vanished frees its VF) and, every interval, read the rates, decide
 * and start the plugs and unplugs the decision asks for. */
void vfm_tick(struct vfm *m, double now_s, bool period, const struct vs_controller *ctl,
	      struct agentlinks *agents);
/* The longest the loop may sleep while an operation is in flight (ms), -1. */
int vfm_timeout_ms(const struct vfm *m);
/* At exit: unplug every VF when vf_on_exit=unplug (waiting at most the plug
 * timeout), else leave them and keep the record. */
void vfm_close(struct vfm *m);

/* Control requests: {"cmd":"vf","op":"status|grant|auto|deny|decide","workload":...}. */
json_t *vfm_request(struct vfm *m, json_t *req, double now_s, char *err, size_t errlen);
/* The "vf" object of vspacectl status. */
json_t *vfm_status(const struct vfm *m, double now_s);
/* Lines for explain. */
void vfm_explain(const struct vfm *m, char *buf, size_t len, size_t *n);
/* Prometheus metrics. */
void vfm_metrics(const struct vfm *m, struct metrics_buf *b);

#endif
