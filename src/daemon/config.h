/* config.h - vspaced's INI configuration (SPEC §8): parse, check, and name file:line on every error. */
#ifndef VS_DAEMON_CONFIG_H
#define VS_DAEMON_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/ctlpath.h"
#include "daemon/vfmgr.h"
#include "lib/cpuset.h"
#include "lib/log.h"
#include "platform/linux/linux.h"
#include "policy/policy.h"

/* Longest configuration line accepted (inih's line buffer holds 200 bytes
 * including the line end). */
#define VSD_CONFIG_LINE_MAX 197
/* The range of [host] period_ms (and of vspaced --period-ms). */
#define VSD_PERIOD_MS_MIN 10
#define VSD_PERIOD_MS_MAX 60000

struct vsd_config {
	char path[PATH_MAX / 4]; /* the file, for messages */
	/* [host] */
	struct vs_cpuset cores;	       /* cores=: what vspace manages (required) */
	struct vs_cpuset reserved;     /* reserved=: inside cores, never used */
	struct vs_cpuset housekeeping; /* housekeeping=: where vspaced itself runs; must not
					  overlap cores */
	bool has_housekeeping;
	struct vs_cpuset managed; /* cores minus reserved */
	char nic[16];
	char nic_netns[64];
	char policy[64];		  /* from mode= (P|E|R) or policy= */
	int period_ms;			  /* control period; 100 (SPEC §2) */
	enum vs_placement placement;	  /* auto */
	char control_socket[CTLPATH_MAX]; /* "" = none; default CTLPATH_DEFAULT */
	bool has_control_gid;		  /* control_group=: members may use the socket too */
	gid_t control_gid;
	char state_dir[PATH_MAX / 4];	     /* /var/lib/vspace */
	char lock_file[PATH_MAX / 4];	     /* one vspaced per host: /run/vspace/vspaced.lock */
	char metrics_listen[64];	     /* HOST:PORT, "" = off; default 127.0.0.1:9465 */
	char metrics_textfile[PATH_MAX / 4]; /* node_exporter textfile, "" = off */
	bool on_exit_restore;		     /* on_exit=restore (default) | leave */
	int rt_priority;		 /* SCHED_FIFO priority of the loop; 0 = SCHED_OTHER; 1 */
	char cgroup_parent[96];		 /* our subtree in every hierarchy; "vspace" */
	char libvirt_uri[256];		 /* qemu:///system */
	int coalesce_rx_usecs;		 /* host NIC rx-usecs; -1 = leave alone */
	enum vs_haltpoll_mode halt_poll; /* halt_poll_accounting=: auto (subtract KVM halt
					    polling from U_v when readable) | off */
	enum vs_hp_source halt_poll_source; /* ... and where it is read: auto (debugfs, else
					       QMP), debugfs or qmp */
	int halt_poll_qmp_wait_ms;	    /* per-period wait for QEMU's query-stats answers; 20 */
	enum vs_log_level log_level;	    /* info */
	/* [threshold] */
	struct vs_params params;
	/* [memnet] (docs/MEMNET.md): size the workloads' MemNet regions from a budget */
	uint64_t memnet_budget_bytes; /* budget_mb=; 0 = off */
	double memnet_slo_ms;	      /* slo_ms=: target mean job response time */
	double memnet_interval_s;     /* interval_s=; 1 (as vspace memnet serve) */
	uint64_t memnet_min_bytes;    /* min_mb=; 1 MiB (src/policy/memnet.h) */
	int n_memnet;		      /* workloads with memnet= */
	/* [workload "NAME"] */
	struct vs_wl_spec *wl;
	int n_wl;
	/* where each key was given, for messages about it after the parse */
	struct vsd_keyline {
		int wl; /* workload index; -1 [host], -2 [threshold] */
		char key[24];
		int line;
	} * keylines;
	int n_keylines;
	int *wl_line;			 /* line of each workload's first key */
	char (*wl_memnet)[PATH_MAX / 4]; /* each workload's memnet= region file, "" = none */
	int n_lc;
	/* [vf] and each workload's vf keys (FlexVF, src/daemon/vfmgr.c) */
	struct vsd_vf_config vf;
	struct vsd_vf_wl *vfwl; /* n_wl of them, by workload */
};

/* Read and check path. Returns 0, or -1 with err as "FILE:LINE: [section]
 * key: what is wrong". Checks that need the host (online cores, the NIC)
 * are made when the daemon opens it. */
int config_load(struct vsd_config *c, const char *path, char *err, size_t errlen);
/* The same from a string (tests); name is used in messages. */
int config_load_string(struct vsd_config *c, const char *text, const char *name, char *err,
		       size_t errlen);
void config_free(struct vsd_config *c);
/* The line of key in [host] (wl -1) or workload wl; the section's first line
 * when the key was not given (a default); 1 when neither is known. */
int config_key_line(const struct vsd_config *c, int wl, const char *key);
/* The state file below state_dir. */
void config_state_path(const struct vsd_config *c, char *buf, size_t len);
/* The platform's configuration view (points into c). */
void config_linux(const struct vsd_config *c, const char *sysroot, bool dry_run,
		  struct vs_linux_config *out);

#endif
