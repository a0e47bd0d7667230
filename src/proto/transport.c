/* transport.c - parse agent addresses and open their sockets (vsock, serial, unix, tcp). */
#include "proto/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "lib/strutil.h"

/* Host CID as seen from a guest (VMADDR_CID_HOST). */
#define PROTO_VSOCK_HOST_CID 2

static const char *const proto_transport_names[] = {
	[PROTO_T_VSOCK] = "vsock",
	[PROTO_T_SERIAL] = "serial",
	[PROTO_T_UNIX] = "unix",
	[PROTO_T_TCP] = "tcp",
};

const char *proto_transport_name(enum proto_transport t)
{
	return (unsigned)t <= PROTO_T_TCP ? proto_transport_names[t] : "?";
}

static int proto_parse_path(const char *text, const char *rest, struct proto_addr *a, char *err,
			    size_t errlen)
{
	size_t n = strlen(rest);

	if (n == 0) {
		snprintf(err, errlen, "\"%s\": missing path", text);
		return -1;
	}
	if (n >= PROTO_PATH_MAX) {
		snprintf(err, errlen, "\"%.40s...\": path longer than %d bytes", text,
			 PROTO_PATH_MAX - 1);
		return -1;
	}
	memcpy(a->path, rest, n + 1);
	return 0;
}

static int proto_parse_tcp(const char *text, const char *rest, struct proto_addr *a, char *err,
			   size_t errlen)
{
	const char *colon;
	char host[64];
	long port;

	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');
		if (!close || close[1] != ':') {
			snprintf(err, errlen, "\"%s\": expected tcp:[IPV6]:PORT", text);
			return -1;
		}
		if ((size_t)(close - rest - 1) >= sizeof(host)) {
			snprintf(err, errlen, "\"%s\": address too long", text);
			return -1;
		}
		memcpy(host, rest + 1, (size_t)(close - rest - 1));
		host[close - rest - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(rest, ':');
		if (!colon || (size_t)(colon - rest) >= sizeof(host)) {
			snprintf(err, errlen, "\"%s\": expected tcp:HOST:PORT", text);
			return -1;
		}
		memcpy(host, rest, (size_t)(colon - rest));
		host[colon - rest] = '\0';
	}
	struct in6_addr tmp;
	if (inet_pton(AF_INET, host, &tmp) != 1 && inet_pton(AF_INET6, host, &tmp) != 1) {
		snprintf(err, errlen, "\"%s\": HOST must be a numeric IPv4 or [IPv6] address",
			 text);
		return -1;
	}
	if (str_to_long(colon + 1, 1, 65535, &port) < 0) {
		snprintf(err, errlen, "\"%s\": PORT must be an integer in 1..65535", text);
		return -1;
	}
	snprintf(a->host, sizeof(a->host), "%s", host);
	a->port = (uint32_t)port;
	return 0;
}

static int proto_parse_vsock(const char *text, const char *rest, struct proto_addr *a, char *err,
			     size_t errlen)
{
	char buf[64];
	char *colon;
	long v;

	if (strlen(rest) >= sizeof(buf)) {
		snprintf(err, errlen, "\"%.40s...\": too long", text);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", rest);
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		if (str_to_long(buf, 0, UINT32_MAX, &v) < 0) {
			snprintf(err, errlen, "\"%s\": CID must be an integer in 0..%u", text,
				 (unsigned)UINT32_MAX);
			return -1;
		}
		a->has_cid = true;
		a->cid = (uint32_t)v;
	}
	if (str_to_long(colon ? colon + 1 : buf, 0, UINT32_MAX, &v) < 0) {
		snprintf(err, errlen, "\"%s\": PORT must be an integer in 0..%u", text,
			 (unsigned)UINT32_MAX);
		return -1;
	}
	a->port = (uint32_t)v;
	return 0;
}

int proto_addr_parse(const char *text, struct proto_addr *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (str_starts_with(text, "vsock:")) {
		a->kind = PROTO_T_VSOCK;
		return proto_parse_vsock(text, text + 6, a, err, errlen);
	}
	if (str_starts_with(text, "serial:")) {
		a->kind = PROTO_T_SERIAL;
		return proto_parse_path(text, text + 7, a, err, errlen);
	}
	if (str_starts_with(text, "unix:")) {
		a->kind = PROTO_T_UNIX;
		return proto_parse_path(text, text + 5, a, err, errlen);
	}
	if (str_starts_with(text, "tcp:")) {
		a->kind = PROTO_T_TCP;
		return proto_parse_tcp(text, text + 4, a, err, errlen);
	}
	snprintf(err, errlen,
		 "\"%.60s\": unknown transport (expected vsock:[CID:]PORT, serial:PATH, "
		 "unix:PATH or tcp:HOST:PORT)",
		 text);
	return -1;
}

size_t proto_addr_format(const struct proto_addr *a, char *buf, size_t len)
{
	int n = 0;

	switch (a->kind) {
	case PROTO_T_VSOCK:
		if (a->has_cid)
			n = snprintf(buf, len, "vsock:%u:%u", a->cid, a->port);
		else
			n = snprintf(buf, len, "vsock:%u", a->port);
		break;
	case PROTO_T_SERIAL:
	case PROTO_T_UNIX:
		n = snprintf(buf, len, "%s:%s", proto_transport_name(a->kind), a->path);
		break;
	case PROTO_T_TCP:
		n = snprintf(buf, len, strchr(a->host, ':') ? "tcp:[%s]:%u" : "tcp:%s:%u", a->host,
			     a->port);
		break;
	}
	return n < 0 ? 0 : (size_t)n;
}

bool proto_addr_listens(const struct proto_addr *a)
{
	return a->kind != PROTO_T_SERIAL;
}

/* Build the sockaddr for a (unix, serial-as-unix, tcp, vsock). */
static int proto_sockaddr(const struct proto_addr *a, bool listening, struct sockaddr_storage *ss,
			  socklen_t *sl, int *family)
{
	memset(ss, 0, sizeof(*ss));
	switch (a->kind) {
	case PROTO_T_SERIAL:
	case PROTO_T_UNIX: {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, a->path, strlen(a->path) + 1);
		*sl = sizeof(*sun);
		*family = AF_UNIX;
		return 0;
	}
	case PROTO_T_TCP: {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET, a->host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons((uint16_t)a->port);
			*sl = sizeof(*sin);
			*family = AF_INET;
			return 0;
		}
		if (inet_pton(AF_INET6, a->host, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons((uint16_t)a->port);
			*sl = sizeof(*sin6);
			*family = AF_INET6;
			return 0;
		}
		errno = EINVAL;
		return -1;
	}
	case PROTO_T_VSOCK: {
		struct sockaddr_vm *svm = (struct sockaddr_vm *)ss;
		svm->svm_family = AF_VSOCK;
		svm->svm_port = a->port;
		if (a->has_cid)
			svm->svm_cid = a->cid;
		else
			svm->svm_cid = listening ? VMADDR_CID_ANY : PROTO_VSOCK_HOST_CID;
		*sl = sizeof(*svm);
		*family = AF_VSOCK;
		return 0;
	}
	}
	errno = EINVAL;
	return -1;
}

/* Remove a Unix socket file nobody listens on; refuse other files. */
static int proto_clear_stale_unix(const struct proto_addr *a, char *err, size_t errlen)
{
	struct stat st;
	struct sockaddr_storage ss;
	socklen_t sl;
	int family, fd, rc;

	if (lstat(a->path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", a->path);
		return -1;
	}
	proto_sockaddr(a, true, &ss, &sl, &family);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&ss, sl);
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another process is listening there", a->path);
		return -1;
	}
	if (unlink(a->path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "unlink %s: %s", a->path, strerror(errno));
		return -1;
	}
	return 0;
}

int proto_listen(const struct proto_addr *a, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int family, fd, one = 1;
	char name[160];

	proto_addr_format(a, name, sizeof(name));
	if (!proto_addr_listens(a)) {
		snprintf(err, errlen, "%s: serial ports are opened, not listened on", name);
		return -1;
	}
	if (proto_sockaddr(a, true, &ss, &sl, &family) < 0) {
		snprintf(err, errlen, "%s: bad address", name);
		return -1;
	}
	if (a->kind == PROTO_T_UNIX && proto_clear_stale_unix(a, err, errlen) < 0)
		return -1;
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", name, strerror(errno));
		return -1;
	}
	if (family == AF_INET || family == AF_INET6)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 8) < 0) {
		snprintf(err, errlen, "%s: bind/listen: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int proto_accept(int lfd, const struct proto_addr *a, char *peer, size_t peerlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return -1;
	snprintf(peer, peerlen, "%s peer", proto_transport_name(a->kind));
	if (ss.ss_family == AF_VSOCK) {
		const struct sockaddr_vm *svm = (const struct sockaddr_vm *)&ss;
		snprintf(peer, peerlen, "vsock cid %u port %u", svm->svm_cid, svm->svm_port);
		if (svm->svm_cid != PROTO_VSOCK_HOST_CID) {
			close(fd);
			errno = EPERM;
			return -1;
		}
	} else if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
		char host[INET6_ADDRSTRLEN] = "?";
		const void *ap = ss.ss_family == AF_INET
					 ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
					 : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
		inet_ntop(ss.ss_family, ap, host, sizeof(host));
		snprintf(peer, peerlen, "tcp %s", host);
	}
	return fd;
}

int proto_open_serial(const struct proto_addr *a, char *err, size_t errlen)
{
	int fd;

	if (a->kind != PROTO_T_SERIAL) {
		snprintf(err, errlen, "not a serial address");
		return -1;
	}
	fd = open(a->path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "serial:%s: open: %s", a->path, strerror(errno));
		return -1;
	}
	return fd;
}

int proto_connect(const struct proto_addr *a, bool *in_progress, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int family, fd;
	char name[160];

	*in_progress = false;
	proto_addr_format(a, name, sizeof(name));
	if (proto_sockaddr(a, false, &ss, &sl, &family) < 0) {
		snprintf(err, errlen, "%s: bad address", name);
		return -1;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", name, strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno == EINPROGRESS) {
			*in_progress = true;
			return fd;
		}
		snprintf(err, errlen, "%s: connect: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int proto_connect_result(int fd)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}
