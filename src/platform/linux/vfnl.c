/* vfnl.c - what a PF says about its VFs over rtnetlink (IFLA_VFINFO_LIST: MAC, IFLA_VF_STATS) and setting a VF's MAC. */
#include "platform/linux/vfnl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <net/if.h>

#include "lib/nlmsg.h"
#include "lib/strutil.h"
#include "platform/linux/hostcall.h"
#include "platform/linux/vfpool.h"

/* Wait for the kernel's answer at most this long (it answers in microseconds). */
#define VFNL_TIMEOUT_MS 1000

static void vfnl_mac_text(const uint8_t *m, char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* IFLA_VF_STATS: u64 counters (IFLA_VF_STATS_PAD and unknown ones skipped). */
static int vfnl_stats(const void *data, size_t len, struct vfnl_vf *vf)
{
	size_t off = 0;
	const struct rtattr *a;
	uint64_t v;

	while ((a = nlmsg_attr_next(data, len, &off)) != NULL) {
		uint16_t t = nlmsg_attr_type(a);
		if (t == IFLA_VF_STATS_PAD || t > IFLA_VF_STATS_MAX)
			continue;
		if (!nlmsg_attr_u64(a, &v))
			return -1;
		switch (t) {
		case IFLA_VF_STATS_RX_PACKETS:
			vf->rx_packets = v;
			break;
		case IFLA_VF_STATS_TX_PACKETS:
			vf->tx_packets = v;
			break;
		case IFLA_VF_STATS_RX_BYTES:
			vf->rx_bytes = v;
			break;
		case IFLA_VF_STATS_TX_BYTES:
			vf->tx_bytes = v;
			break;
		case IFLA_VF_STATS_RX_DROPPED:
			vf->rx_dropped = v;
			break;
		case IFLA_VF_STATS_TX_DROPPED:
			vf->tx_dropped = v;
			break;
		default:
			break;
		}
	}
	if (off != len)
		return -1;
	vf->has_stats = true;
	return 0;
}

/* One IFLA_VF_INFO. */
static int vfnl_info(const void *data, size_t len, struct vfnl_vf *vf, char *err, size_t errlen)
{
	size_t off = 0;
	const struct rtattr *a;
	bool have_mac = false;

	memset(vf, 0, sizeof(*vf));
	vf->vf = -1;
	while ((a = nlmsg_attr_next(data, len, &off)) != NULL) {
		switch (nlmsg_attr_type(a)) {
		case IFLA_VF_MAC: {
			struct ifla_vf_mac m;
			if (nlmsg_attr_len(a) < sizeof(m)) {
				snprintf(err, errlen, "IFLA_VF_MAC of %zu bytes (expected %zu)",
					 nlmsg_attr_len(a), sizeof(m));
				return -1;
			}
			memcpy(&m, nlmsg_attr_data(a), sizeof(m));
			if (m.vf > 0xffff) {
				snprintf(err, errlen, "IFLA_VF_MAC names VF %" PRIu32, m.vf);
				return -1;
			}
			vf->vf = (int)m.vf;
			vfnl_mac_text(m.mac, vf->mac);
			have_mac = true;
			break;
		}
		case IFLA_VF_STATS:
			if (vfnl_stats(nlmsg_attr_data(a), nlmsg_attr_len(a), vf) < 0) {
				snprintf(err, errlen, "malformed IFLA_VF_STATS");
				return -1;
			}
			break;
		default:
			break;
		}
	}
	if (off != len) {
		snprintf(err, errlen, "malformed attribute in IFLA_VF_INFO");
		return -1;
	}
	if (!have_mac) {
		snprintf(err, errlen, "IFLA_VF_INFO without IFLA_VF_MAC (which VF?)");
		return -1;
	}
	return 0;
}

int vfnl_parse(const void *msg, size_t len, struct vfnl_vf *out, int max, char *err, size_t errlen)
{
	const struct nlmsghdr *h = msg;
	const void *attrs;
	const struct rtattr *a;
	size_t alen, off = 0;
	int n = 0;

	if (len < sizeof(*h) || h->nlmsg_len > len || h->nlmsg_len < sizeof(*h)) {
		snprintf(err, errlen, "netlink message of %zu bytes: truncated header", len);
		return -1;
	}
	if (h->nlmsg_type != RTM_NEWLINK) {
		snprintf(err, errlen, "netlink message type %u, not RTM_NEWLINK", h->nlmsg_type);
		return -1;
	}
	attrs = nlmsg_attrs(h, sizeof(struct ifinfomsg), &alen);
	if (!attrs) {
		snprintf(err, errlen, "RTM_NEWLINK shorter than its ifinfomsg");
		return -1;
	}
	while ((a = nlmsg_attr_next(attrs, alen, &off)) != NULL) {
		size_t loff = 0;
		const struct rtattr *info;
		if (nlmsg_attr_type(a) != IFLA_VFINFO_LIST)
			continue;
		while ((info = nlmsg_attr_next(nlmsg_attr_data(a), nlmsg_attr_len(a), &loff))) {
			struct vfnl_vf vf;
			if (nlmsg_attr_type(info) != IFLA_VF_INFO)
				continue;
			if (vfnl_info(nlmsg_attr_data(info), nlmsg_attr_len(info), &vf, err,
				      errlen) < 0)
				return -1;
			if (n < max)
				out[n++] = vf;
		}
		if (loff != nlmsg_attr_len(a)) {
			snprintf(err, errlen, "malformed attribute in IFLA_VFINFO_LIST");
			return -1;
		}
	}
	if (off != alen) {
		snprintf(err, errlen, "malformed attribute in RTM_NEWLINK");
		return -1;
	}
	return n;
}

int vfnl_parse_emul(const char *text, struct vfnl_vf *out, int max, char *err, size_t errlen)
{
	int n = 0, lineno = 0;

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		char line[256], mac[32];
		struct vfnl_vf vf = { 0 };
		int used = 0;

		lineno++;
		if (l >= sizeof(line)) {
			snprintf(err, errlen, "line %d: longer than %zu bytes", lineno,
				 sizeof(line) - 1);
			return -1;
		}
		memcpy(line, p, l);
		line[l] = '\0';
		p += l + (nl ? 1 : 0);
		if (*str_trim(line) == '\0')
			continue;
		if (sscanf(line, "%d %31s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %n",
			   &vf.vf, mac, &vf.rx_packets, &vf.tx_packets, &vf.rx_bytes, &vf.tx_bytes,
			   &used) != 6 ||
		    line[used] != '\0' || vf.vf < 0 || vf.vf > 0xffff ||
		    vfpool_parse_mac(mac, vf.mac) < 0) {
			snprintf(err, errlen,
				 "line %d: expected \"vf mac rx_packets tx_packets rx_bytes "
				 "tx_bytes\"",
				 lineno);
			return -1;
		}
		vf.has_stats = true;
		if (n < max)
			out[n++] = vf;
	}
	return n;
}

int vfnl_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	return fd < 0 ? -errno : fd;
}

static int vfnl_emul_path(const char *pf, char *path, size_t len)
{
	if (!pf[0] || strchr(pf, '/') || pf[0] == '.')
		return -1;
	return sysroot_path(path, len, "%s/vfinfo/%s", VS_EMUL_DIR, pf) ? 0 : -1;
}

int vfnl_query(const struct vs_sysroot *r, int nlfd, const char *pf, struct vfnl_vf *out, int max,
	       char *err, size_t errlen)
{
	char req[256], e2[160];
	struct nlmsghdr *h;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	void *ans = NULL;
	size_t alen = 0, off = 0;
	const struct nlmsghdr *m;
	int rc, n = -1;

	if (!r->live) {
		char path[128], *text = NULL;
		size_t cap = 0;
		if (vfnl_emul_path(pf, path, sizeof(path)) < 0 ||
		    sysroot_read_all(r->root_fd, path, &text, &cap) < 0) {
			snprintf(err, errlen, "PF %s: no VF information (%s)", pf, path);
			free(text);
			return -1;
		}
		n = vfnl_parse_emul(text, out, max, e2, sizeof(e2));
		free(text);
		if (n < 0)
			snprintf(err, errlen, "%s: %s", path, e2);
		return n;
	}
	h = nlmsg_init(req, sizeof(req), RTM_GETLINK, NLM_F_REQUEST, (uint32_t)getpid());
	if (!h || nlmsg_put(h, sizeof(req), &ifi, sizeof(ifi)) < 0 ||
	    nlmsg_put_str(h, sizeof(req), IFLA_IFNAME, pf) < 0 ||
	    nlmsg_put_u32(h, sizeof(req), IFLA_EXT_MASK, RTEXT_FILTER_VF) < 0) {
		snprintf(err, errlen, "PF %s: name too long", pf);
		return -1;
	}
	rc = nlmsg_transact(nlfd, h, &ans, &alen, VFNL_TIMEOUT_MS);
	if (rc < 0) {
		snprintf(err, errlen, "PF %s: RTM_GETLINK: %s", pf, strerror(-rc));
		return -1;
	}
	while ((m = nlmsg_next(ans, alen, &off)) != NULL)
		if (m->nlmsg_type == RTM_NEWLINK) {
			n = vfnl_parse(m, m->nlmsg_len, out, max, e2, sizeof(e2));
			if (n < 0)
				snprintf(err, errlen, "PF %s: %s", pf, e2);
			break;
		}
	if (!m)
		snprintf(err, errlen, "PF %s: the kernel sent no RTM_NEWLINK", pf);
	free(ans);
	return n;
}

int vfnl_set_mac_msg(void *buf, size_t cap, const char *pf, int vf, const char *mac, uint32_t seq)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct ifla_vf_mac m;
	struct nlmsghdr *h;
	struct rtattr *list, *info;
	char norm[18];
	unsigned b[6];

	if (vf < 0 || vfpool_parse_mac(mac, norm) < 0 ||
	    sscanf(norm, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	memset(&m, 0, sizeof(m));
	m.vf = (uint32_t)vf;
	for (int i = 0; i < 6; i++)
		m.mac[i] = (uint8_t)b[i];
	h = nlmsg_init(buf, cap, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
	if (!h || nlmsg_put(h, cap, &ifi, sizeof(ifi)) < 0 ||
	    nlmsg_put_str(h, cap, IFLA_IFNAME, pf) < 0)
		return -1;
	list = nlmsg_nest_begin(h, cap, IFLA_VFINFO_LIST);
	info = list ? nlmsg_nest_begin(h, cap, IFLA_VF_INFO) : NULL;
	if (!info || nlmsg_put_attr(h, cap, IFLA_VF_MAC, &m, sizeof(m)) < 0)
		return -1;
	nlmsg_nest_end(h, info);
	nlmsg_nest_end(h, list);
	return (int)h->nlmsg_len;
}

int vfnl_set_mac(const struct vs_sysroot *r, int nlfd, const char *pf, int vf, const char *mac,
		 char *err, size_t errlen)
{
	char req[256];
	void *ans = NULL;
	size_t alen = 0;
	int rc;

	if (vfnl_set_mac_msg(req, sizeof(req), pf, vf, mac, (uint32_t)getpid()) < 0) {
		snprintf(err, errlen, "PF %s VF %d: bad MAC \"%.20s\" or name", pf, vf, mac);
		return -EINVAL;
	}
	if (!r->live) {
		struct vfnl_vf vfs[VFNL_MAX];
		char path[128], *text;
		size_t cap = 16384, k = 0;
		int n = vfnl_query(r, nlfd, pf, vfs, VFNL_MAX, err, errlen), i;
		if (n < 0)
			return -ENOENT;
		for (i = 0; i < n && vfs[i].vf != vf; i++)
			;
		if (i == n) {
			snprintf(err, errlen, "PF %s has no VF %d", pf, vf);
			return -ENOENT;
		}
		vfpool_parse_mac(mac, vfs[i].mac);
		text = malloc(cap);
		if (!text)
			return -ENOMEM;
		text[0] = '\0';
		for (i = 0; i < n; i++)
			str_appendf(text, cap, &k,
				    "%d %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
				    vfs[i].vf, vfs[i].mac, vfs[i].rx_packets, vfs[i].tx_packets,
				    vfs[i].rx_bytes, vfs[i].tx_bytes);
		vfnl_emul_path(pf, path, sizeof(path));
		rc = k < cap ? sysroot_write(r, r->root_fd, path, text) : -EFBIG;
		free(text);
		if (rc < 0)
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = nlmsg_transact(nlfd, (struct nlmsghdr *)req, &ans, &alen, VFNL_TIMEOUT_MS);
	free(ans);
	if (rc < 0)
		snprintf(err, errlen, "PF %s VF %d: setting MAC %s: %s", pf, vf, mac,
			 strerror(-rc));
	return rc;
}
