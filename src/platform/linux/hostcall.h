/* hostcall.h - the system calls vspace acts through (affinity, ethtool, signals), live or emulated under a fixture root. */
#ifndef VS_PLATFORM_LINUX_HOSTCALL_H
#define VS_PLATFORM_LINUX_HOSTCALL_H

#include "lib/cpuset.h"
#include "platform/linux/ethtool.h"
#include "platform/linux/sysroot.h"

/*
 * On a live root these are the real calls. Under a fixture root they read
 * and write files below DIR/.vspace-emul/ so that a test can both seed the
 * "current" setting and assert what vspace set:
 *   .vspace-emul/affinity/<tid>          cpulist (read falls back to
 *                                        proc/<tid>/status Cpus_allowed_list)
 *   .vspace-emul/ethtool/<if>/channels   "max_rx max_tx max_other max_combined
 *                                         rx tx other combined"
 *   .vspace-emul/ethtool/<if>/coalesce   "rx_usecs rx_frames tx_usecs tx_frames
 *                                         adaptive_rx adaptive_tx"
 *   .vspace-emul/ethtool/<if>/coalesce-q<N>  the same for receive queue N (a driver
 *                                        with ETHTOOL_PERQUEUE coalescing)
 *   .vspace-emul/ethtool/<if>/coalesce-refuse  present: writes of coalescing fail with
 *                                        -EOPNOTSUPP (a driver that reads it but takes no
 *                                        rx-usecs, as tun/tap)
 *   .vspace-emul/ethtool/<if>/stats      ETHTOOL_GSTATS: "NAME VALUE" per line
 *                                        (rx_queue_N_packets, rx_queue_N_bytes)
 *   .vspace-emul/signal/<pid>            the last signal sent: "STOP" or "CONT"
 * A missing ethtool file reads as -EOPNOTSUPP (the driver lacks it).
 * All return 0 or -errno.
 */

#define VS_EMUL_DIR ".vspace-emul"

/* pid: the thread's process (for the fixture fallback proc/<pid>/task/<tid>/status). */
int hostcall_get_affinity(const struct vs_sysroot *r, int pid, int tid, struct vs_cpuset *out);
int hostcall_set_affinity(const struct vs_sysroot *r, int tid, const struct vs_cpuset *cpus);
/* sock: ethtool socket in the NIC's namespace (ignored when emulated). */
int hostcall_get_channels(const struct vs_sysroot *r, int sock, const char *ifname,
			  struct vs_channels *ch);
int hostcall_set_channels(const struct vs_sysroot *r, int sock, const char *ifname,
			  const struct vs_channels *ch);
int hostcall_get_coalesce(const struct vs_sysroot *r, int sock, const char *ifname,
			  struct vs_coalesce *co);
int hostcall_set_coalesce(const struct vs_sysroot *r, int sock, const char *ifname,
			  const struct vs_coalesce *co);
/* Coalescing of one receive queue (queue >= 0) or, queue -1, the device. */
int hostcall_get_coalesce_q(const struct vs_sysroot *r, int sock, const char *ifname, int queue,
			    struct vs_coalesce *co);
int hostcall_set_coalesce_q(const struct vs_sysroot *r, int sock, const char *ifname, int queue,
			    const struct vs_coalesce *co);
/* Per-queue packet and byte counters (ETHTOOL_GSTATS). */
int hostcall_queue_stats(const struct vs_sysroot *r, int sock, const char *ifname,
			 struct vs_qstats *qs);
/* SIGSTOP / SIGCONT to a process. */
int hostcall_signal(const struct vs_sysroot *r, int pid, int sig);

#endif
