/* nlmsg.h - build and walk rtnetlink messages with bounds checks (the host's VF queries, the agent's address moves). */
#ifndef VS_LIB_NLMSG_H
#define VS_LIB_NLMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/*
 * Building: a message lives in a caller's buffer of cap bytes; each put
 * appends at the 4-byte aligned end and updates nlmsg_len; a put that does
 * not fit returns -1 and leaves the message as it was.
 *
 *   char buf[512];
 *   struct nlmsghdr *h = nlmsg_init(buf, sizeof buf, RTM_GETLINK, NLM_F_REQUEST, seq);
 *   struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
 *   nlmsg_put(h, sizeof buf, &ifi, sizeof ifi);
 *   nlmsg_put_u32(h, sizeof buf, IFLA_EXT_MASK, RTEXT_FILTER_VF);
 *
 * Walking: everything received is untrusted; nlmsg_attr_next() never reads
 * past the region it is given and stops at the first malformed attribute.
 *
 *   size_t off = 0; const struct rtattr *a;
 *   while ((a = nlmsg_attr_next(data, len, &off)) != NULL)
 *       switch (nlmsg_attr_type(a)) { ... nlmsg_attr_data(a), nlmsg_attr_len(a) ... }
 */

struct nlmsghdr *nlmsg_init(void *buf, size_t cap, uint16_t type, uint16_t flags, uint32_t seq);
/* Append len bytes (a family header such as struct ifinfomsg). 0 or -1. */
int nlmsg_put(struct nlmsghdr *h, size_t cap, const void *data, size_t len);
/* Append an attribute. 0 or -1. */
int nlmsg_put_attr(struct nlmsghdr *h, size_t cap, uint16_t type, const void *data, size_t len);
int nlmsg_put_u32(struct nlmsghdr *h, size_t cap, uint16_t type, uint32_t v);
int nlmsg_put_str(struct nlmsghdr *h, size_t cap, uint16_t type, const char *s);
/* Open a nested attribute (NLA_F_NESTED set); returns it, or NULL. */
struct rtattr *nlmsg_nest_begin(struct nlmsghdr *h, size_t cap, uint16_t type);
/* Close it: its length covers everything appended since. */
void nlmsg_nest_end(struct nlmsghdr *h, struct rtattr *nest);

/* The next attribute in data[0..len) at *off (advanced past it), or NULL at
 * the end or at a malformed attribute (a length below the header or past
 * the region). */
const struct rtattr *nlmsg_attr_next(const void *data, size_t len, size_t *off);
/* Type without the NLA_F_NESTED / NLA_F_NET_BYTEORDER flags. */
uint16_t nlmsg_attr_type(const struct rtattr *a);
const void *nlmsg_attr_data(const struct rtattr *a);
size_t nlmsg_attr_len(const struct rtattr *a);
/* A u32 or u64 payload of exactly that size; false otherwise. */
bool nlmsg_attr_u32(const struct rtattr *a, uint32_t *v);
bool nlmsg_attr_u64(const struct rtattr *a, uint64_t *v);

/* The payload after the netlink header and a family header of fam_len
 * bytes, with its length: the attribute region. NULL when the message is
 * shorter than its headers. */
const void *nlmsg_attrs(const struct nlmsghdr *h, size_t fam_len, size_t *len);

/* One request over an rtnetlink socket (fd: AF_NETLINK, NETLINK_ROUTE), its
 * answers collected into *buf (malloc'd, grown; *len bytes): for a dump
 * until NLMSG_DONE, else the one answer or the ACK. Waits at most
 * timeout_ms for each read. Returns 0, or -errno (the kernel's NLMSG_ERROR
 * code, -ETIMEDOUT, -EMSGSIZE when more than 4 MiB come). */
int nlmsg_transact(int fd, struct nlmsghdr *req, void **buf, size_t *len, int timeout_ms);
/* Walk the messages of a buffer nlmsg_transact filled: the next one at *off,
 * or NULL at the end or a malformed header. */
const struct nlmsghdr *nlmsg_next(const void *buf, size_t len, size_t *off);

#endif
