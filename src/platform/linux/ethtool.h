/* ethtool.h - NIC channel counts and interrupt coalescing (ETHTOOL_G/SCHANNELS, G/SCOALESCE). */
#ifndef VS_PLATFORM_LINUX_ETHTOOL_H
#define VS_PLATFORM_LINUX_ETHTOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vs_channels {
	uint32_t max_rx, max_tx, max_other, max_combined;
	uint32_t rx, tx, other, combined;
};

/* The coalescing fields vspace sets and restores. */
struct vs_coalesce {
	uint32_t rx_usecs, rx_frames; /* rx-usecs, rx-frames */
	uint32_t tx_usecs, tx_frames;
	uint32_t adaptive_rx, adaptive_tx; /* adaptive-rx/-tx on (1) or off (0) */
};

/* One SIOCETHTOOL request (data starts with its ETHTOOL_* cmd) on ifname;
 * 0 or -errno. The vspace-agent uses it too. */
int ethtool_call(int sock, const char *ifname, void *data);
/* All return 0 or -errno (-EOPNOTSUPP: the driver does not support it).
 * sock is an AF_INET socket in the NIC's network namespace (netns.h). */
int ethtool_get_channels(int sock, const char *ifname, struct vs_channels *ch);
/* Set the counts in ch (the max_* fields are ignored). */
int ethtool_set_channels(int sock, const char *ifname, const struct vs_channels *ch);
int ethtool_get_coalesce(int sock, const char *ifname, struct vs_coalesce *co);
/* Read-modify-write: only the fields of co change; the driver's other
 * coalescing settings are kept. */
int ethtool_set_coalesce(int sock, const char *ifname, const struct vs_coalesce *co);

/* The same for one receive queue (ETHTOOL_PERQUEUE with ETHTOOL_G/SCOALESCE);
 * -EOPNOTSUPP where the driver sets coalescing only for the whole device. */
int ethtool_get_coalesce_queue(int sock, const char *ifname, int queue, struct vs_coalesce *co);
int ethtool_set_coalesce_queue(int sock, const char *ifname, int queue,
			       const struct vs_coalesce *co);

/* Per-queue packet and byte counters from ETHTOOL_GSTATS (the
 * rx_queue_N_packets / _bytes and tx_queue_N_... strings most drivers use;
 * not every driver has them). */
#define ETHTOOL_QSTATS_MAX 64
struct vs_qstats {
	int n_rx, n_tx; /* queues with counters (highest index + 1) */
	uint64_t rx_packets[ETHTOOL_QSTATS_MAX], rx_bytes[ETHTOOL_QSTATS_MAX];
	uint64_t tx_packets[ETHTOOL_QSTATS_MAX], tx_bytes[ETHTOOL_QSTATS_MAX];
};
/* 0 (qs filled, possibly with no queue) or -errno. */
int ethtool_queue_stats(int sock, const char *ifname, struct vs_qstats *qs);
/* "rx_queue_3_packets" -> 'r', 3, bytes false; false when it is no such name. */
bool ethtool_parse_queue_stat(const char *name, char *dir, int *queue, bool *bytes);

/* The channel count a queue count maps to: combined channels when the NIC
 * has them, else rx and tx alike; clamped to the maxima. Returns the new
 * settings in out. */
void ethtool_channels_for(const struct vs_channels *cur, int queues, struct vs_channels *out);
/* Queues a setting gives: combined + max(rx, tx) (the driver's
 * real_num_rx_queues is combined + rx, real_num_tx_queues combined + tx). */
int ethtool_channels_queues(const struct vs_channels *ch);

#endif
