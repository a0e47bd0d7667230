/* sysfs.h - readers for the cpu topology, network devices and powercap energy under /sys. */
#ifndef VS_PLATFORM_LINUX_SYSFS_H
#define VS_PLATFORM_LINUX_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/topology.h"
#include "lib/cpuset.h"

/* All functions take sys_fd: a directory fd on the sysfs root (root/sys, or
 * a sysfs mounted inside a network namespace for the net functions). */

/* ---- CPU topology ------------------------------------------------------------ */

/* Online cpus (devices/system/cpu/online). Returns 0 or -1 with err. */
int sysfs_online_cpus(int sys_fd, struct vs_cpuset *online, char *err, size_t errlen);
/* Fill t->node_of (devices/system/node/node*\/cpulist; 0 when the host has no
 * node directory) and t->core_of (the lowest cpu of each cpu's
 * topology/thread_siblings_list; -1 when unknown) for the online cpus, then
 * topology_finalize(). t->managed and t->nic_node are left alone. Returns
 * the number of NUMA nodes seen (>= 1), or -1 with err. */
int sysfs_read_topology(int sys_fd, const struct vs_cpuset *online, struct vs_topology *t,
			char *err, size_t errlen);

/* ---- Network devices (class/net/<ifname>) -------------------------------------- */

/* True when class/net/<ifname> exists. */
bool sysfs_net_exists(int sys_fd, const char *ifname);
/* Active queue counts: the rx-N and tx-N directories under queues/. Returns
 * 0 or -1 (errno). */
int sysfs_net_queues(int sys_fd, const char *ifname, int *n_rx, int *n_tx);
/* device/numa_node; -1 when absent or unknown. */
int sysfs_net_numa_node(int sys_fd, const char *ifname);
/* IRQ numbers in device/msi_irqs/, ascending, into *irqs (realloc, *cap).
 * Returns the count (0 when the device has no MSI vectors, e.g. veth). */
int sysfs_net_msi_irqs(int sys_fd, const char *ifname, int **irqs, int *cap);

/* ---- Energy (class/powercap) ----------------------------------------------------- */

#define VS_RAPL_MAX_ZONES 16

/* The package-level RAPL zones (class/powercap/intel-rapl:N, not subzones). */
struct vs_rapl {
	int n;				     /* zones found; 0 = energy unavailable */
	char zone[VS_RAPL_MAX_ZONES][32];    /* e.g. "intel-rapl:0" */
	uint64_t max_uj[VS_RAPL_MAX_ZONES];  /* max_energy_range_uj: the counter wraps here */
	uint64_t last_uj[VS_RAPL_MAX_ZONES]; /* the last reading */
};

/* Find the zones and take a first reading. Returns the zone count. */
int sysfs_rapl_init(int sys_fd, struct vs_rapl *r);
/* Energy used since the last reading, joules (wraps handled). Returns 0, or
 * -1 when a zone could not be read. */
int sysfs_rapl_read(int sys_fd, struct vs_rapl *r, double *joules);

#endif
