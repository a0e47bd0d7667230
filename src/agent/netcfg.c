/* netcfg.c - the guest's links, IP addresses and routes over rtnetlink: what vspace-agent moves between a NIC and the bond it builds with a hot-plugged VF. */
#include "agent/agent.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_addr.h>

#include "lib/nlmsg.h"

/* The kernel answers within microseconds; a second means something is wrong. */
#define NETCFG_TIMEOUT_MS 1000

/* One request; for a dump the answers in *ans. Returns 0 or -errno. */
static int netcfg_talk(struct nlmsghdr *h, void **ans, size_t *len)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), rc;
	void *junk = NULL;
	size_t jl = 0;

	if (fd < 0)
		return -errno;
	h->nlmsg_seq = (uint32_t)getpid() ^ 0x5a5a;
	rc = nlmsg_transact(fd, h, ans ? ans : &junk, ans ? len : &jl, NETCFG_TIMEOUT_MS);
	free(junk);
	close(fd);
	return rc;
}

static int netcfg_index(const char *ifname)
{
	unsigned idx = if_nametoindex(ifname);
	return idx ? (int)idx : -ENODEV;
}

int netcfg_link_up(void *arg, const char *ifname, bool up)
{
	char buf[128];
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC,
				 .ifi_change = IFF_UP,
				 .ifi_flags = up ? IFF_UP : 0 };
	struct nlmsghdr *h =
		nlmsg_init(buf, sizeof(buf), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 0);
	int idx = netcfg_index(ifname);

	if (idx < 0)
		return idx;
	ifi.ifi_index = idx;
	nlmsg_put(h, sizeof(buf), &ifi, sizeof(ifi));
	return netcfg_talk(h, NULL, NULL);
}

/* A dump (type, the family header fam of famlen bytes) for the NIC ifname:
 * its index, with the answers in *ans (*len bytes; free them), or -errno. */
static int netcfg_dump(const char *ifname, uint16_t type, const void *fam, size_t famlen,
		       void **ans, size_t *len)
{
	char buf[64];
	struct nlmsghdr *h = nlmsg_init(buf, sizeof(buf), type, NLM_F_REQUEST | NLM_F_DUMP, 0);
	int idx = netcfg_index(ifname), rc;

	if (idx < 0)
		return idx;
	nlmsg_put(h, sizeof(buf), fam, famlen);
	rc = netcfg_talk(h, ans, len);
	return rc < 0 ? rc : idx;
}

int netcfg_addrs(void *arg, const char *ifname, struct agent_ipaddr *out, int max)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_UNSPEC };
	const struct nlmsghdr *m;
	void *ans = NULL;
	size_t len = 0, off = 0;
	int n = 0, idx = netcfg_dump(ifname, RTM_GETADDR, &ifa, sizeof(ifa), &ans, &len);

	if (idx < 0)
		return idx;
	while ((m = nlmsg_next(ans, len, &off)) != NULL && n < max) {
		const struct ifaddrmsg *am = NLMSG_DATA(m);
		const void *attrs;
		const struct rtattr *a;
		size_t alen, aoff = 0;
		struct agent_ipaddr x = { 0 };
		bool have = false;

		if (m->nlmsg_type != RTM_NEWADDR || m->nlmsg_len < NLMSG_LENGTH(sizeof(*am)) ||
		    (int)am->ifa_index != idx)
			continue;
		if (am->ifa_family != AF_INET && am->ifa_family != AF_INET6)
			continue;
		/* link-local IPv6 addresses belong to the device, not to move */
		if (am->ifa_family == AF_INET6 && am->ifa_scope == RT_SCOPE_LINK)
			continue;
		attrs = nlmsg_attrs(m, sizeof(*am), &alen);
		while (attrs && (a = nlmsg_attr_next(attrs, alen, &aoff)) != NULL) {
			size_t want = am->ifa_family == AF_INET ? 4 : 16;
			if (nlmsg_attr_type(a) == IFA_LOCAL && nlmsg_attr_len(a) == want) {
				memcpy(x.addr, nlmsg_attr_data(a), want);
				have = true;
			} else if (nlmsg_attr_type(a) == IFA_ADDRESS && !have &&
				   nlmsg_attr_len(a) == want) {
				memcpy(x.addr, nlmsg_attr_data(a), want);
				have = true; /* IPv6 has IFA_ADDRESS only */
			}
		}
		if (!have)
			continue;
		x.family = am->ifa_family;
		x.prefixlen = am->ifa_prefixlen;
		out[n++] = x;
	}
	free(ans);
	return n;
}

int netcfg_addr(void *arg, const char *ifname, const struct agent_ipaddr *x, bool add)
{
	char buf[128];
	size_t alen = x->family == AF_INET ? 4 : 16;
	struct ifaddrmsg ifa = { .ifa_family = (uint8_t)x->family, .ifa_prefixlen = x->prefixlen };
	struct nlmsghdr *h =
		nlmsg_init(buf, sizeof(buf), add ? RTM_NEWADDR : RTM_DELADDR,
			   NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0), 0);
	int idx = netcfg_index(ifname);

	if (idx < 0)
		return idx;
	ifa.ifa_index = (uint32_t)idx;
	nlmsg_put(h, sizeof(buf), &ifa, sizeof(ifa));
	nlmsg_put_attr(h, sizeof(buf), IFA_LOCAL, x->addr, alen);
	nlmsg_put_attr(h, sizeof(buf), IFA_ADDRESS, x->addr, alen);
	return netcfg_talk(h, NULL, NULL);
}

int netcfg_routes(void *arg, const char *ifname, struct agent_route *out, int max)
{
	struct rtmsg rt = { .rtm_family = AF_UNSPEC };
	const struct nlmsghdr *m;
	void *ans = NULL;
	size_t len = 0, off = 0;
	int n = 0, idx = netcfg_dump(ifname, RTM_GETROUTE, &rt, sizeof(rt), &ans, &len);

	if (idx < 0)
		return idx;
	while ((m = nlmsg_next(ans, len, &off)) != NULL && n < max) {
		const struct rtmsg *r = NLMSG_DATA(m);
		const void *attrs;
		const struct rtattr *a;
		size_t alen, aoff = 0, want;
		struct agent_route x = { 0 };
		uint32_t oif = 0, table = 0;

		if (m->nlmsg_type != RTM_NEWROUTE || m->nlmsg_len < NLMSG_LENGTH(sizeof(*r)))
			continue;
		if ((r->rtm_family != AF_INET && r->rtm_family != AF_INET6) ||
		    r->rtm_type != RTN_UNICAST)
			continue;
		/* what the kernel made for the addresses comes back with them */
		if (r->rtm_protocol == RTPROT_KERNEL)
			continue;
		want = r->rtm_family == AF_INET ? 4 : 16;
		attrs = nlmsg_attrs(m, sizeof(*r), &alen);
		table = r->rtm_table;
		while (attrs && (a = nlmsg_attr_next(attrs, alen, &aoff)) != NULL) {
			switch (nlmsg_attr_type(a)) {
			case RTA_OIF:
				nlmsg_attr_u32(a, &oif);
				break;
			case RTA_TABLE:
				nlmsg_attr_u32(a, &table);
				break;
			case RTA_DST:
				if (nlmsg_attr_len(a) == want)
					memcpy(x.dst, nlmsg_attr_data(a), want);
				break;
			case RTA_GATEWAY:
				if (nlmsg_attr_len(a) == want) {
					memcpy(x.gw, nlmsg_attr_data(a), want);
					x.has_gw = true;
				}
				break;
			case RTA_PRIORITY:
				x.has_priority = nlmsg_attr_u32(a, &x.priority);
				break;
			default:
				break;
			}
		}
		if ((int)oif != idx || table != RT_TABLE_MAIN)
			continue;
		x.family = r->rtm_family;
		x.dst_len = r->rtm_dst_len;
		x.protocol = r->rtm_protocol;
		x.scope = r->rtm_scope;
		out[n++] = x;
	}
	free(ans);
	return n;
}

int netcfg_route_add(void *arg, const char *ifname, const struct agent_route *x)
{
	char buf[160];
	size_t alen = x->family == AF_INET ? 4 : 16;
	struct rtmsg rt = { .rtm_family = (uint8_t)x->family,
			    .rtm_dst_len = x->dst_len,
			    .rtm_table = RT_TABLE_MAIN,
			    .rtm_protocol = x->protocol,
			    .rtm_scope = x->scope,
			    .rtm_type = RTN_UNICAST };
	struct nlmsghdr *h =
		nlmsg_init(buf, sizeof(buf), RTM_NEWROUTE,
			   NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, 0);
	int idx = netcfg_index(ifname);

	if (idx < 0)
		return idx;
	nlmsg_put(h, sizeof(buf), &rt, sizeof(rt));
	if (x->dst_len)
		nlmsg_put_attr(h, sizeof(buf), RTA_DST, x->dst, alen);
	if (x->has_gw)
		nlmsg_put_attr(h, sizeof(buf), RTA_GATEWAY, x->gw, alen);
	if (x->has_priority)
		nlmsg_put_u32(h, sizeof(buf), RTA_PRIORITY, x->priority);
	nlmsg_put_u32(h, sizeof(buf), RTA_OIF, (uint32_t)idx);
	return netcfg_talk(h, NULL, NULL);
}
