/* ethtool.c - the agent's kernel calls outside /proc and /sys: ethtool channels, coalescing and stats, affinity. */
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

static int agent_ethtool_get_coalesce(void *arg, const char *ifname, struct agent_coalesce *co)
{
	struct vs_coalesce vc;
	int fd = ethtool_sock(ifname), rc;

	(void)arg;
	if (fd < 0)
		return -1;
	rc = ethtool_get_coalesce(fd, ifname, &vc);
	if (rc == 0)
		*co = (struct agent_coalesce){
			.rx_usecs = vc.rx_usecs,
			.rx_frames = vc.rx_frames,
			.tx_usecs = vc.tx_usecs,
			.tx_frames = vc.tx_frames,
			.adaptive_rx = vc.adaptive_rx,
			.adaptive_tx = vc.adaptive_tx,
		};
	return ethtool_done(fd, rc);
}

static int agent_ethtool_set_coalesce(void *arg, const char *ifname,
				      const struct agent_coalesce *co)
{
	struct vs_coalesce vc = {
		.rx_usecs = co->rx_usecs,
		.rx_frames = co->rx_frames,
		.tx_usecs = co->tx_usecs,
		.tx_frames = co->tx_frames,
		.adaptive_rx = co->adaptive_rx,
		.adaptive_tx = co->adaptive_tx,
	};
	int fd = ethtool_sock(ifname);

	(void)arg;
	if (fd < 0)
		return -1;
	return ethtool_done(fd, ethtool_set_coalesce(fd, ifname, &vc));
}

static int ethtool_queue_stats_op(void *arg, const char *ifname, struct agent_qstats *qs)
{
	struct vs_qstats *v = malloc(sizeof(*v));
	int fd = ethtool_sock(ifname), rc;

	(void)arg;
	memset(qs, 0, sizeof(*qs));
	if (!v || fd < 0) {
		free(v);
		if (fd >= 0)
			close(fd);
		if (!v)
			errno = ENOMEM;
		return -1;
	}
	rc = ethtool_queue_stats(fd, ifname, v);
	if (rc == 0) {
		int nr = v->n_rx < AGENT_MAX_QUEUES ? v->n_rx : AGENT_MAX_QUEUES;
		int nt = v->n_tx < AGENT_MAX_QUEUES ? v->n_tx : AGENT_MAX_QUEUES;
		qs->n_rx = nr;
		qs->n_tx = nt;
		memcpy(qs->rx_packets, v->rx_packets, sizeof(uint64_t) * (size_t)nr);
		memcpy(qs->rx_bytes, v->rx_bytes, sizeof(uint64_t) * (size_t)nr);
		memcpy(qs->tx_packets, v->tx_packets, sizeof(uint64_t) * (size_t)nt);
		memcpy(qs->tx_bytes, v->tx_bytes, sizeof(uint64_t) * (size_t)nt);
	}
	free(v);
	return ethtool_done(fd, rc);
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
	.queue_stats = ethtool_queue_stats_op,
	.get_coalesce = agent_ethtool_get_coalesce,
	.set_coalesce = agent_ethtool_set_coalesce,
	.get_affinity = ethtool_get_affinity,
	.set_affinity = ethtool_set_affinity,
	.link_up = netcfg_link_up,
	.addrs = netcfg_addrs,
	.addr = netcfg_addr,
	.routes = netcfg_routes,
	.route_add = netcfg_route_add,
};
