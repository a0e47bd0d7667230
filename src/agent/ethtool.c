/* ethtool.c - the agent's kernel calls outside /proc and /sys: ethtool channels and stats, affinity. */
#include "agent/agent.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>

#include "lib/strutil.h"
#include "platform/linux/ethtool.h"

/* Counters of more than this many statistics are not read (a broken driver). */
#define ETHTOOL_MAX_STATS 65536

/* An AF_INET socket for ethtool requests on ifname, or -1 with errno set
 * (EINVAL for a name too long for an interface). */
static int ethtool_sock(const char *ifname)
{
	struct ifreq ifr;

	if (strlen(ifname) >= sizeof(ifr.ifr_name)) {
		errno = EINVAL;
		return -1;
	}
	return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

/* Close fd and turn a 0/-errno result into 0 / -1 with errno. */
static int ethtool_done(int fd, int rc)
{
	close(fd);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/* One ethtool request on a socket of its own; -1 with errno set on failure. */
static int ethtool_ioctl(const char *ifname, void *data)
{
	int fd = ethtool_sock(ifname);

	if (fd < 0)
		return -1;
	return ethtool_done(fd, ethtool_call(fd, ifname, data));
}

static int agent_ethtool_get_channels(void *arg, const char *ifname, struct agent_channels *ch)
{
	struct vs_channels vc;
	int fd = ethtool_sock(ifname), rc;

	(void)arg;
	if (fd < 0)
		return -1;
	rc = ethtool_get_channels(fd, ifname, &vc);
	if (rc == 0)
		*ch = (struct agent_channels){
			.rx = vc.rx,
			.tx = vc.tx,
			.combined = vc.combined,
			.max_rx = vc.max_rx,
			.max_tx = vc.max_tx,
			.max_combined = vc.max_combined,
		};
	return ethtool_done(fd, rc);
}

static int agent_ethtool_set_channels(void *arg, const char *ifname,
				      const struct agent_channels *ch)
{
	struct vs_channels vc;
	int fd = ethtool_sock(ifname), rc;

	(void)arg;
	if (fd < 0)
		return -1;
	rc = ethtool_get_channels(fd, ifname, &vc);
	if (rc == 0) {
		/* the "other" count is not the agent's: it stays as the driver has it */
		vc.rx = ch->rx;
		vc.tx = ch->tx;
		vc.combined = ch->combined;
		rc = ethtool_set_channels(fd, ifname, &vc);
	}
	return ethtool_done(fd, rc);
}

/* "rx_queue_3_packets" -> dir 'r', queue 3, field "packets". */
static bool ethtool_parse_stat(const char *name, char *dir, long *queue, bool *bytes)
{
	char num[16];
	const char *p, *us;

	if (str_starts_with(name, "rx_queue_"))
		*dir = 'r';
	else if (str_starts_with(name, "tx_queue_"))
		*dir = 't';
	else
		return false;
	p = name + 9;
	us = strchr(p, '_');
	if (!us || us == p || (size_t)(us - p) >= sizeof(num))
		return false;
	memcpy(num, p, (size_t)(us - p));
	num[us - p] = '\0';
	if (str_to_long(num, 0, AGENT_MAX_QUEUES - 1, queue) < 0)
		return false;
	if (strcmp(us, "_packets") == 0)
		*bytes = false;
	else if (strcmp(us, "_bytes") == 0)
		*bytes = true;
	else
		return false;
	return true;
}

static int ethtool_queue_stats(void *arg, const char *ifname, struct agent_qstats *qs)
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t count;
	} info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_STATS } };
	struct ethtool_gstrings *names = NULL;
	struct ethtool_stats *vals = NULL;
	int rc = -1;

	(void)arg;
	memset(qs, 0, sizeof(*qs));
	if (ethtool_ioctl(ifname, &info) < 0)
		return -1;
	uint32_t n = info.hdr.sset_mask ? info.count : 0;
	if (n == 0)
		return 0;
	if (n > ETHTOOL_MAX_STATS) {
		errno = E2BIG;
		return -1;
	}
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	vals = calloc(1, sizeof(*vals) + (size_t)n * sizeof(uint64_t));
	if (!names || !vals)
		goto out;
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_STATS;
	names->len = n;
	vals->cmd = ETHTOOL_GSTATS;
	vals->n_stats = n;
	if (ethtool_ioctl(ifname, names) < 0 || ethtool_ioctl(ifname, vals) < 0)
		goto out;
	/* The kernel may have fewer strings than it said a moment ago. */
	if (names->len < n)
		n = names->len;
	if (vals->n_stats < n)
		n = vals->n_stats;
	for (uint32_t i = 0; i < n; i++) {
		char name[ETH_GSTRING_LEN + 1];
		char dir;
		long q;
		bool bytes;
		memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		if (!ethtool_parse_stat(name, &dir, &q, &bytes))
			continue;
		if (dir == 'r') {
			(bytes ? qs->rx_bytes : qs->rx_packets)[q] = vals->data[i];
			if (q + 1 > qs->n_rx)
				qs->n_rx = (int)q + 1;
		} else {
			(bytes ? qs->tx_bytes : qs->tx_packets)[q] = vals->data[i];
			if (q + 1 > qs->n_tx)
				qs->n_tx = (int)q + 1;
		}
	}
	rc = 0;
out:
	free(names);
	free(vals);
	return rc;
}

static int ethtool_get_affinity(void *arg, pid_t tid, struct vs_cpuset *cpus)
{
	cpu_set_t *set = CPU_ALLOC(VS_MAX_CPUS);
	size_t sz = CPU_ALLOC_SIZE(VS_MAX_CPUS);

	(void)arg;
	if (!set)
		return -1;
	if (sched_getaffinity(tid, sz, set) < 0) {
		CPU_FREE(set);
		return -1;
	}
	cpuset_zero(cpus);
	for (int c = 0; c < VS_MAX_CPUS; c++)
		if (CPU_ISSET_S(c, sz, set))
			cpuset_set(cpus, c);
	CPU_FREE(set);
	return 0;
}

static int ethtool_set_affinity(void *arg, pid_t tid, const struct vs_cpuset *cpus)
{
	cpu_set_t *set = CPU_ALLOC(VS_MAX_CPUS);
	size_t sz = CPU_ALLOC_SIZE(VS_MAX_CPUS);
	int rc;

	(void)arg;
	if (!set)
		return -1;
	CPU_ZERO_S(sz, set);
	for (int c = cpuset_next(cpus, 0); c >= 0; c = cpuset_next(cpus, c + 1))
		CPU_SET_S(c, sz, set);
	rc = sched_setaffinity(tid, sz, set);
	CPU_FREE(set);
	return rc;
}

const struct agent_sys_ops agent_linux_ops = {
	.get_channels = agent_ethtool_get_channels,
	.set_channels = agent_ethtool_set_channels,
	.queue_stats = ethtool_queue_stats,
	.get_affinity = ethtool_get_affinity,
	.set_affinity = ethtool_set_affinity,
	.link_up = netcfg_link_up,
	.addrs = netcfg_addrs,
	.addr = netcfg_addr,
	.routes = netcfg_routes,
	.route_add = netcfg_route_add,
};
