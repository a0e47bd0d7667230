/* sysfs.c - readers for the cpu topology, network devices and powercap energy under /sys. */
#include "platform/linux/sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "platform/linux/sysroot.h"

int sysfs_online_cpus(int sys_fd, struct vs_cpuset *online, char *err, size_t errlen)
{
	char buf[4096], perr[160];

	if (sysroot_read(sys_fd, "devices/system/cpu/online", buf, sizeof(buf)) < 0) {
		snprintf(err, errlen, "sys/devices/system/cpu/online: %s", strerror(errno));
		return -1;
	}
	if (cpuset_parse_list(online, str_trim(buf), perr, sizeof(perr)) < 0 ||
	    cpuset_empty(online)) {
		snprintf(err, errlen, "sys/devices/system/cpu/online: %s",
			 cpuset_empty(online) ? "no cpu online" : perr);
		return -1;
	}
	return 0;
}

int sysfs_read_topology(int sys_fd, const struct vs_cpuset *online, struct vs_topology *t,
			char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d;
	int nodes = 0;

	for (int c = 0; c < VS_MAX_CPUS; c++) {
		t->node_of[c] = 0;
		t->core_of[c] = -1;
	}
	d = sysroot_opendir(sys_fd, "devices/system/node");
	if (d) {
		while ((de = readdir(d)) != NULL) {
			char path[128], buf[4096], perr[160];
			struct vs_cpuset cpus;
			long node;

			if (strncmp(de->d_name, "node", 4) != 0 ||
			    str_to_long(de->d_name + 4, 0, VS_MAX_CPUS, &node) < 0)
				continue;
			snprintf(path, sizeof(path), "devices/system/node/%.40s/cpulist",
				 de->d_name);
			if (sysroot_read(sys_fd, path, buf, sizeof(buf)) < 0)
				continue;
			if (cpuset_parse_list(&cpus, str_trim(buf), perr, sizeof(perr)) < 0) {
				snprintf(err, errlen, "sys/%s: %s", path, perr);
				closedir(d);
				return -1;
			}
			for (int c = cpuset_next(&cpus, 0); c >= 0; c = cpuset_next(&cpus, c + 1))
				t->node_of[c] = (int)node;
			nodes++;
		}
		closedir(d);
	}
	for (int c = cpuset_next(online, 0); c >= 0; c = cpuset_next(online, c + 1)) {
		char path[128], buf[4096], perr[160];
		struct vs_cpuset sib;

		snprintf(path, sizeof(path),
			 "devices/system/cpu/cpu%d/topology/thread_siblings_list", c);
		if (sysroot_read(sys_fd, path, buf, sizeof(buf)) < 0)
			continue;
		if (cpuset_parse_list(&sib, str_trim(buf), perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "sys/%s: %s", path, perr);
			return -1;
		}
		if (cpuset_count(&sib) > 1)
			t->core_of[c] = cpuset_next(&sib, 0);
	}
	topology_finalize(t);
	return nodes > 0 ? nodes : 1;
}

bool sysfs_net_exists(int sys_fd, const char *ifname)
{
	char path[128];

	if (!sysroot_path(path, sizeof(path), "class/net/%s", ifname))
		return false;
	return faccessat(sys_fd, path, F_OK, 0) == 0;
}

int sysfs_net_queues(int sys_fd, const char *ifname, int *n_rx, int *n_tx)
{
	char path[128];
	struct dirent *de;
	DIR *d;

	*n_rx = *n_tx = 0;
	if (!sysroot_path(path, sizeof(path), "class/net/%s/queues", ifname)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	d = sysroot_opendir(sys_fd, path);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		long q;
		if (strncmp(de->d_name, "rx-", 3) == 0 &&
		    str_to_long(de->d_name + 3, 0, 65535, &q) == 0 && q + 1 > *n_rx)
			*n_rx = (int)q + 1;
		else if (strncmp(de->d_name, "tx-", 3) == 0 &&
			 str_to_long(de->d_name + 3, 0, 65535, &q) == 0 && q + 1 > *n_tx)
			*n_tx = (int)q + 1;
	}
	closedir(d);
	return 0;
}

int sysfs_net_numa_node(int sys_fd, const char *ifname)
{
	char path[128];
	long v;

	if (!sysroot_path(path, sizeof(path), "class/net/%s/device/numa_node", ifname))
		return -1;
	if (sysroot_read_long(sys_fd, path, &v) < 0 || v < 0 || v >= VS_MAX_CPUS)
		return -1;
	return (int)v;
}

static int sysfs_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int sysfs_net_msi_irqs(int sys_fd, const char *ifname, int **irqs, int *cap)
{
	char path[128];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (!sysroot_path(path, sizeof(path), "class/net/%s/device/msi_irqs", ifname))
		return 0;
	d = sysroot_opendir(sys_fd, path);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		long irq;
		if (str_to_long(de->d_name, 0, INT32_MAX, &irq) < 0)
			continue;
		if (n == *cap) {
			int nc = *cap ? *cap * 2 : 32;
			int *ni = realloc(*irqs, sizeof(int) * (size_t)nc);
			if (!ni)
				break;
			*irqs = ni;
			*cap = nc;
		}
		(*irqs)[n++] = (int)irq;
	}
	closedir(d);
	if (n > 1)
		qsort(*irqs, (size_t)n, sizeof(int), sysfs_cmp_int);
	return n;
}

static int sysfs_rapl_zone_read(int sys_fd, const char *zone, const char *file, uint64_t *out)
{
	char path[128];
	long v;

	snprintf(path, sizeof(path), "class/powercap/%s/%s", zone, file);
	if (sysroot_read_long(sys_fd, path, &v) < 0 || v < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int sysfs_rapl_init(int sys_fd, struct vs_rapl *r)
{
	struct dirent *de;
	DIR *d;

	memset(r, 0, sizeof(*r));
	d = sysroot_opendir(sys_fd, "class/powercap");
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL && r->n < VS_RAPL_MAX_ZONES) {
		const char *name = de->d_name;
		long idx;
		/* package zones are intel-rapl:N; subzones intel-rapl:N:M */
		if (strncmp(name, "intel-rapl:", 11) != 0 || strlen(name) >= sizeof(r->zone[0]) ||
		    str_to_long(name + 11, 0, 1024, &idx) < 0)
			continue;
		str_copy(r->zone[r->n], name, sizeof(r->zone[0]));
		if (sysfs_rapl_zone_read(sys_fd, name, "max_energy_range_uj", &r->max_uj[r->n]) <
			    0 ||
		    sysfs_rapl_zone_read(sys_fd, name, "energy_uj", &r->last_uj[r->n]) < 0)
			continue;
		r->n++;
	}
	closedir(d);
	return r->n;
}

int sysfs_rapl_read(int sys_fd, struct vs_rapl *r, double *joules)
{
	double total_uj = 0;

	*joules = 0;
	for (int i = 0; i < r->n; i++) {
		uint64_t now;
		if (sysfs_rapl_zone_read(sys_fd, r->zone[i], "energy_uj", &now) < 0)
			return -1;
		if (now >= r->last_uj[i])
			total_uj += (double)(now - r->last_uj[i]);
		else /* the counter wrapped at max_energy_range_uj */
			total_uj += (double)(r->max_uj[i] - r->last_uj[i] + now);
		r->last_uj[i] = now;
	}
	*joules = total_uj / 1e6;
	return 0;
}
