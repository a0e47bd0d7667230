/* ethtool.c - NIC channel counts and interrupt coalescing (ETHTOOL_G/SCHANNELS, G/SCOALESCE). */
#include "platform/linux/ethtool.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <stdlib.h>
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

/* One queue's coalescing through ETHTOOL_PERQUEUE: the op, then one
 * struct ethtool_coalesce for the queue in the mask. */
struct ethtool_pq_coalesce {
	struct ethtool_per_queue_op op;
	struct ethtool_coalesce ec;
};

static int ethtool_pq(int sock, const char *ifname, int queue, uint32_t sub,
		      struct ethtool_coalesce *ec)
{
	struct ethtool_pq_coalesce *pq;
	int rc;

	if (queue < 0 || queue >= MAX_NUM_QUEUE)
		return -EINVAL;
	pq = calloc(1, sizeof(*pq));
	if (!pq)
		return -ENOMEM;
	pq->op.cmd = ETHTOOL_PERQUEUE;
	pq->op.sub_command = sub;
	pq->op.queue_mask[queue / 32] = 1u << (queue % 32);
	pq->ec = *ec;
	pq->ec.cmd = sub;
	rc = ethtool_call(sock, ifname, pq);
	if (rc == 0)
		*ec = pq->ec;
	free(pq);
	return rc;
}

/* ETHTOOL_{G,S}COALESCE of the device (queue < 0) or of one receive queue. */
static int ethtool_coal_call(int sock, const char *ifname, int queue, uint32_t cmd,
			     struct ethtool_coalesce *ec)
{
	if (queue >= 0)
		return ethtool_pq(sock, ifname, queue, cmd, ec);
	ec->cmd = cmd;
	return ethtool_call(sock, ifname, ec);
}

int ethtool_get_coalesce_queue(int sock, const char *ifname, int queue, struct vs_coalesce *co)
{
	struct ethtool_coalesce ec = { .cmd = ETHTOOL_GCOALESCE };
	int rc = ethtool_coal_call(sock, ifname, queue, ETHTOOL_GCOALESCE, &ec);

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

/* Read, change the six fields, write: the driver's other fields stay. */
int ethtool_set_coalesce_queue(int sock, const char *ifname, int queue,
			       const struct vs_coalesce *co)
{
	struct ethtool_coalesce ec = { .cmd = ETHTOOL_GCOALESCE };
	int rc = ethtool_coal_call(sock, ifname, queue, ETHTOOL_GCOALESCE, &ec);

	if (rc < 0)
		return rc;
	ec.rx_coalesce_usecs = co->rx_usecs;
	ec.rx_max_coalesced_frames = co->rx_frames;
	ec.tx_coalesce_usecs = co->tx_usecs;
	ec.tx_max_coalesced_frames = co->tx_frames;
	ec.use_adaptive_rx_coalesce = co->adaptive_rx;
	ec.use_adaptive_tx_coalesce = co->adaptive_tx;
	return ethtool_coal_call(sock, ifname, queue, ETHTOOL_SCOALESCE, &ec);
}

int ethtool_get_coalesce(int sock, const char *ifname, struct vs_coalesce *co)
{
	return ethtool_get_coalesce_queue(sock, ifname, -1, co);
}

int ethtool_set_coalesce(int sock, const char *ifname, const struct vs_coalesce *co)
{
	return ethtool_set_coalesce_queue(sock, ifname, -1, co);
}

/* Counters of more than this many statistics are not read (a broken driver). */
#define ETHTOOL_MAX_STATS 65536

bool ethtool_parse_queue_stat(const char *name, char *dir, int *queue, bool *bytes)
{
	char num[16];
	const char *p, *us;
	long q;

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
	if (str_to_long(num, 0, ETHTOOL_QSTATS_MAX - 1, &q) < 0)
		return false;
	if (strcmp(us, "_packets") == 0)
		*bytes = false;
	else if (strcmp(us, "_bytes") == 0)
		*bytes = true;
	else
		return false;
	*queue = (int)q;
	return true;
}

int ethtool_queue_stats(int sock, const char *ifname, struct vs_qstats *qs)
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t count;
	} info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_STATS } };
	struct ethtool_gstrings *names = NULL;
	struct ethtool_stats *vals = NULL;
	int rc;

	memset(qs, 0, sizeof(*qs));
	rc = ethtool_call(sock, ifname, &info);
	if (rc < 0)
		return rc;
	uint32_t n = info.hdr.sset_mask ? info.count : 0;
	if (n == 0)
		return 0;
	if (n > ETHTOOL_MAX_STATS)
		return -E2BIG;
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	vals = calloc(1, sizeof(*vals) + (size_t)n * sizeof(uint64_t));
	rc = -ENOMEM;
	if (!names || !vals)
		goto out;
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_STATS;
	names->len = n;
	vals->cmd = ETHTOOL_GSTATS;
	vals->n_stats = n;
	if ((rc = ethtool_call(sock, ifname, names)) < 0 ||
	    (rc = ethtool_call(sock, ifname, vals)) < 0)
		goto out;
	/* the kernel may have fewer strings than it said a moment ago */
	if (names->len < n)
		n = names->len;
	if (vals->n_stats < n)
		n = vals->n_stats;
	for (uint32_t i = 0; i < n; i++) {
		char name[ETH_GSTRING_LEN + 1], dir;
		int q;
		bool bytes;
		memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		if (!ethtool_parse_queue_stat(name, &dir, &q, &bytes))
			continue;
		if (dir == 'r') {
			(bytes ? qs->rx_bytes : qs->rx_packets)[q] = vals->data[i];
			if (q + 1 > qs->n_rx)
				qs->n_rx = q + 1;
		} else {
			(bytes ? qs->tx_bytes : qs->tx_packets)[q] = vals->data[i];
			if (q + 1 > qs->n_tx)
				qs->n_tx = q + 1;
		}
	}
	rc = 0;
out:
	free(names);
	free(vals);
	return rc;
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
