/* nlmsg.c - build and walk rtnetlink messages with bounds checks. */
#include "lib/nlmsg.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Largest answer collected by nlmsg_transact. */
#define NLMSG_ANSWER_MAX (4u << 20)

#define NLMSG_ALIGN4(n) (((n) + 3u) & ~(size_t)3u)

struct nlmsghdr *nlmsg_init(void *buf, size_t cap, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *h = buf;

	if (cap < sizeof(*h))
		return NULL;
	memset(h, 0, sizeof(*h));
	h->nlmsg_len = sizeof(*h);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	return h;
}

int nlmsg_put(struct nlmsghdr *h, size_t cap, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN4(h->nlmsg_len);

	if (at + len > cap || at + len > UINT32_MAX)
		return -1;
	memset((char *)h + h->nlmsg_len, 0, at - h->nlmsg_len);
	if (len)
		memcpy((char *)h + at, data, len);
	h->nlmsg_len = (uint32_t)(at + len);
	return 0;
}

int nlmsg_put_attr(struct nlmsghdr *h, size_t cap, uint16_t type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN4(h->nlmsg_len);
	struct rtattr a;

	if (len > 0xffff - sizeof(a) || at + sizeof(a) + len > cap)
		return -1;
	a.rta_len = (unsigned short)(sizeof(a) + len);
	a.rta_type = type;
	if (nlmsg_put(h, cap, &a, sizeof(a)) < 0)
		return -1;
	if (len) {
		memcpy((char *)h + h->nlmsg_len, data, len);
		h->nlmsg_len += (uint32_t)len;
	}
	return 0;
}

int nlmsg_put_u32(struct nlmsghdr *h, size_t cap, uint16_t type, uint32_t v)
{
	return nlmsg_put_attr(h, cap, type, &v, sizeof(v));
}

int nlmsg_put_str(struct nlmsghdr *h, size_t cap, uint16_t type, const char *s)
{
	return nlmsg_put_attr(h, cap, type, s, strlen(s) + 1);
}

struct rtattr *nlmsg_nest_begin(struct nlmsghdr *h, size_t cap, uint16_t type)
{
	size_t at = NLMSG_ALIGN4(h->nlmsg_len);

	if (nlmsg_put_attr(h, cap, (uint16_t)(type | NLA_F_NESTED), NULL, 0) < 0)
		return NULL;
	return (struct rtattr *)((char *)h + at);
}

void nlmsg_nest_end(struct nlmsghdr *h, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)h + h->nlmsg_len - (char *)nest);
}

const struct rtattr *nlmsg_attr_next(const void *data, size_t len, size_t *off)
{
	const struct rtattr *a;

	if (*off + sizeof(*a) > len)
		return NULL;
	a = (const struct rtattr *)((const char *)data + *off);
	if (a->rta_len < sizeof(*a) || a->rta_len > len - *off)
		return NULL;
	*off += NLMSG_ALIGN4(a->rta_len);
	if (*off > len)
		*off = len; /* the last attribute may lack its padding */
	return a;
}

uint16_t nlmsg_attr_type(const struct rtattr *a)
{
	return a->rta_type & NLA_TYPE_MASK;
}

const void *nlmsg_attr_data(const struct rtattr *a)
{
	return (const char *)a + sizeof(*a);
}

size_t nlmsg_attr_len(const struct rtattr *a)
{
	return a->rta_len - sizeof(*a);
}

bool nlmsg_attr_u32(const struct rtattr *a, uint32_t *v)
{
	if (nlmsg_attr_len(a) != sizeof(*v))
		return false;
	memcpy(v, nlmsg_attr_data(a), sizeof(*v));
	return true;
}

bool nlmsg_attr_u64(const struct rtattr *a, uint64_t *v)
{
	if (nlmsg_attr_len(a) != sizeof(*v))
		return false;
	memcpy(v, nlmsg_attr_data(a), sizeof(*v));
	return true;
}

const void *nlmsg_attrs(const struct nlmsghdr *h, size_t fam_len, size_t *len)
{
	size_t at = NLMSG_ALIGN4(sizeof(*h) + fam_len);

	if (h->nlmsg_len < sizeof(*h) + fam_len)
		return NULL;
	*len = h->nlmsg_len > at ? h->nlmsg_len - at : 0;
	return (const char *)h + (h->nlmsg_len > at ? at : h->nlmsg_len);
}

const struct nlmsghdr *nlmsg_next(const void *buf, size_t len, size_t *off)
{
	const struct nlmsghdr *h;

	if (*off + sizeof(*h) > len)
		return NULL;
	h = (const struct nlmsghdr *)((const char *)buf + *off);
	if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - *off)
		return NULL;
	*off += NLMSG_ALIGN4(h->nlmsg_len);
	if (*off > len)
		*off = len;
	return h;
}

int nlmsg_transact(int fd, struct nlmsghdr *req, void **buf, size_t *len, int timeout_ms)
{
	bool dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char *out = NULL;
	size_t n = 0, cap = 0;

	*buf = NULL;
	*len = 0;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got, want;
		int rc = poll(&p, 1, timeout_ms);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			free(out);
			return rc == 0 ? -ETIMEDOUT : -errno;
		}
		want = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
		if (want < 0) {
			free(out);
			return -errno;
		}
		if (n + (size_t)want > NLMSG_ANSWER_MAX) {
			free(out);
			return -EMSGSIZE;
		}
		if (n + (size_t)want > cap) {
			size_t ncap = (n + (size_t)want) * 2;
			char *p2 = realloc(out, ncap);
			if (!p2) {
				free(out);
				return -ENOMEM;
			}
			out = p2;
			cap = ncap;
		}
		got = recv(fd, out + n, (size_t)want, 0);
		if (got < 0) {
			free(out);
			return -errno;
		}
		/* look at what arrived: an error, the end of a dump, the answer */
		size_t off = n, end = n + (size_t)got;
		const struct nlmsghdr *h;
		bool done = false;
		while ((h = nlmsg_next(out, end, &off)) != NULL) {
			if (h->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
					free(out);
					return -EBADMSG;
				}
				if (e->error != 0) {
					int code = e->error;
					free(out);
					return code;
				}
				done = true; /* an ACK */
			} else if (h->nlmsg_type == NLMSG_DONE || !dump) {
				done = true;
			}
		}
		n = end;
		if (done)
			break;
	}
	*buf = out;
	*len = n;
	return 0;
}
