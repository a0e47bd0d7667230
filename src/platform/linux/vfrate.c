/* vfrate.c - a VM's packet rate for FlexVF's ranking: tap, VF and guest agent counters. */
#include "platform/linux/vfrate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "platform/linux/sysroot.h"

static int vfrate_read_u64(int sys_fd, const char *ifname, const char *counter, uint64_t *v)
{
	char path[160];
	long x;

	if (!ifname[0] || strchr(ifname, '/') || ifname[0] == '.' ||
	    !sysroot_path(path, sizeof(path), "class/net/%s/statistics/%s", ifname, counter)) {
		errno = EINVAL;
		return -1;
	}
	if (sysroot_read_long(sys_fd, path, &x) < 0)
		return -1;
	if (x < 0) {
		errno = EINVAL;
		return -1;
	}
	*v = (uint64_t)x;
	return 0;
}

int vfrate_netdev_packets(int sys_fd, const char *ifname, uint64_t *rx, uint64_t *tx)
{
	if (vfrate_read_u64(sys_fd, ifname, "rx_packets", rx) < 0 ||
	    vfrate_read_u64(sys_fd, ifname, "tx_packets", tx) < 0)
		return -1;
	return 0;
}

int vfrate_agent_packets(const json_t *stats, const char *ifname, uint64_t *rx, uint64_t *tx)
{
	const json_t *nics = json_object_get(stats, "nics"), *nic;
	size_t i;

	if (!json_is_array(nics))
		return -1;
	json_array_foreach(nics, i, nic)
	{
		const json_t *name = json_object_get(nic, "name");
		const json_t *p = json_object_get(nic, "packets");
		if (!json_is_string(name) || strcmp(json_string_value(name), ifname) != 0)
			continue;
		if (!json_is_array(p) || json_array_size(p) != 2 ||
		    !json_is_integer(json_array_get(p, 0)) ||
		    !json_is_integer(json_array_get(p, 1)) ||
		    json_integer_value(json_array_get(p, 0)) < 0 ||
		    json_integer_value(json_array_get(p, 1)) < 0)
			return -1;
		*rx = (uint64_t)json_integer_value(json_array_get(p, 0));
		*tx = (uint64_t)json_integer_value(json_array_get(p, 1));
		return 0;
	}
	return -1;
}

double vfrate_feed(struct vfrate_ctr *c, uint64_t count, uint64_t now_ns)
{
	double rate = -1;

	if (c->primed && now_ns > c->last_ns && count >= c->last)
		rate = (double)(count - c->last) * 1e9 / (double)(now_ns - c->last_ns);
	c->primed = true;
	c->last = count;
	c->last_ns = now_ns;
	return rate;
}
