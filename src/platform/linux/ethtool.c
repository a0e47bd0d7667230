/* ethtool.c - NIC channel counts and interrupt coalescing (ETHTOOL_G/SCHANNELS, G/SCOALESCE). */
#include "platform/linux/ethtool.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lib/strutil.h"

int ethtool_call(int sock, const char *ifname, void *data)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -ENAMETOOLONG;
	str_copy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
	ifr.ifr_data = data;
	if (ioctl(sock, SIOCETHTOOL, &ifr) < 0)
		return -errno;
	return 0;
}

int ethtool_get_channels(int sock, const char *ifname, struct vs_channels *ch)
{
	struct ethtool_channels ec = { .cmd = ETHTOOL_GCHANNELS };
	int rc = ethtool_call(sock, ifname, &ec);

	if (rc < 0)
		return rc;
	*ch = (struct vs_channels){
		.max_rx = ec.max_rx,
		.max_tx = ec.max_tx,
		.max_other = ec.max_other,
		.max_combined = ec.max_combined,
		.rx = ec.rx_count,
		.tx = ec.tx_count,
		.other = ec.other_count,
		.combined = ec.combined_count,
	};
	return 0;
}

int ethtool_set_channels(int sock, const char *ifname, const struct vs_channels *ch)
{
	struct ethtool_channels ec = { .cmd = ETHTOOL_GCHANNELS };
	int rc = ethtool_call(sock, ifname, &ec);

	if (rc < 0)
		return rc;
	ec.cmd = ETHTOOL_SCHANNELS;
	ec.rx_count = ch->rx;
	ec.tx_count = ch->tx;
	ec.other_count = ch->other;
	ec.combined_count = ch->combined;
	return ethtool_call(sock, ifname, &ec);
}

int ethtool_get_coalesce(int sock, const char *ifname, struct vs_coalesce *co)
{
	struct ethtool_coalesce ec = { .cmd = ETHTOOL_GCOALESCE };
	int rc = ethtool_call(sock, ifname, &ec);

	if (rc < 0)
		return rc;
	*co = (struct vs_coalesce){
		.rx_usecs = ec.rx_coalesce_usecs,
		.rx_frames = ec.rx_max_coalesced_frames,
		.tx_usecs = ec.tx_coalesce_usecs,
		.tx_frames = ec.tx_max_coalesced_frames,
		.adaptive_rx = ec.use_adaptive_rx_coalesce,
		.adaptive_tx = ec.use_adaptive_tx_coalesce,
	};
	return 0;
}

int ethtool_set_coalesce(int sock, const char *ifname, const struct vs_coalesce *co)
{
	struct ethtool_coalesce ec = { .cmd = ETHTOOL_GCOALESCE };
	int rc = ethtool_call(sock, ifname, &ec);

	if (rc < 0)
		return rc;
	ec.cmd = ETHTOOL_SCOALESCE;
	ec.rx_coalesce_usecs = co->rx_usecs;
	ec.rx_max_coalesced_frames = co->rx_frames;
	ec.tx_coalesce_usecs = co->tx_usecs;
	ec.tx_max_coalesced_frames = co->tx_frames;
	ec.use_adaptive_rx_coalesce = co->adaptive_rx;
	ec.use_adaptive_tx_coalesce = co->adaptive_tx;
	return ethtool_call(sock, ifname, &ec);
}

static uint32_t ethtool_clamp(int v, uint32_t max)
{
	if (v < 1)
		v = 1;
	return (uint32_t)v > max ? max : (uint32_t)v;
}

void ethtool_channels_for(const struct vs_channels *cur, int queues, struct vs_channels *out)
{
	*out = *cur;
	if (cur->max_combined > 0) {
		out->combined = ethtool_clamp(queues, cur->max_combined);
		/* separate rx/tx channels on top of combined ones are left alone */
		return;
	}
	if (cur->max_rx > 0)
		out->rx = ethtool_clamp(queues, cur->max_rx);
	if (cur->max_tx > 0)
		out->tx = ethtool_clamp(queues, cur->max_tx);
}

int ethtool_channels_queues(const struct vs_channels *ch)
{
	return (int)(ch->combined + (ch->rx > ch->tx ? ch->rx : ch->tx));
}
