/* transport.h - agent addresses (vsock, serial, unix, tcp) and their sockets. */
#ifndef VS_PROTO_TRANSPORT_H
#define VS_PROTO_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Address syntax (the `agent=` key of a workload, `--listen`, `--connect`):
 *
 *   vsock:PORT, vsock:CID:PORT  AF_VSOCK. The agent listens (CID optional,
 *                               default any) and accepts only the host
 *                               (CID 2); the host connects to CID:PORT.
 *   serial:PATH                 virtio-serial. Guest: the port device
 *                               (/dev/virtio-ports/NAME), opened directly.
 *                               Host: QEMU's Unix-socket chardev, connected.
 *   unix:PATH                   AF_UNIX stream socket (tests, local use).
 *   tcp:HOST:PORT               TCP; HOST numeric IPv4 or [IPv6] (tests).
 *
 * Every fd returned here is non-blocking and close-on-exec, so it can sit in
 * an epoll loop.
 */

enum proto_transport {
	PROTO_T_VSOCK = 0,
	PROTO_T_SERIAL,
	PROTO_T_UNIX,
	PROTO_T_TCP,
};

/* sun_path is 108 bytes including the NUL. */
#define PROTO_PATH_MAX 108

struct proto_addr {
	enum proto_transport kind;
	char path[PROTO_PATH_MAX]; /* serial, unix */
	char host[64];		   /* tcp: numeric address as written (no brackets) */
	uint32_t port;		   /* tcp (1..65535), vsock (any 32-bit port) */
	bool has_cid;		   /* vsock: CID given */
	uint32_t cid;		   /* vsock */
};

/* Parse text into a. Returns 0, or -1 with a reason in err. */
int proto_addr_parse(const char *text, struct proto_addr *a, char *err, size_t errlen);
/* Format a back into the syntax above (as snprintf). */
size_t proto_addr_format(const struct proto_addr *a, char *buf, size_t len);
const char *proto_transport_name(enum proto_transport t);

/* ---- API for the agent (guest side) ---------------------------------------- */

/* True for transports served by listen/accept (vsock, unix, tcp); serial
 * is a single device opened with proto_open_serial(). */
bool proto_addr_listens(const struct proto_addr *a);
/* A listening socket. A stale Unix socket file (nobody listening) is
 * replaced; any other existing file is an error. Returns fd or -1 + err. */
int proto_listen(const struct proto_addr *a, char *err, size_t errlen);
/* Accept one connection. vsock peers other than the host (CID 2) are
 * refused: -1 with errno EPERM. Other failures: -1 with errno (EAGAIN when
 * nothing is pending). The peer is described in peer. */
int proto_accept(int lfd, const struct proto_addr *a, char *peer, size_t peerlen);
/* Open the guest's virtio-serial port device. Returns fd or -1 + err. */
int proto_open_serial(const struct proto_addr *a, char *err, size_t errlen);

/* ---- API for the host ------------------------------------------------------- */

/* Start a non-blocking connect (serial: to QEMU's Unix-socket chardev).
 * Returns the fd with *in_progress set when the connection completes later
 * (wait for EPOLLOUT, then proto_connect_result()), or -1 + err. */
int proto_connect(const struct proto_addr *a, bool *in_progress, char *err, size_t errlen);
/* Result of a connect that was in progress: 0, or -1 with errno set. */
int proto_connect_result(int fd);

#endif
