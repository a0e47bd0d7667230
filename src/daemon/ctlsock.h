/* ctlsock.h - the control socket: JSON lines over a Unix stream socket, peer credentials checked. */
#ifndef VS_DAEMON_CTLSOCK_H
#define VS_DAEMON_CTLSOCK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest request line (bytes, without the newline). */
#define VSD_CTL_LINE_MAX 4096
/* Connections held at once. Each slot costs ~4 KiB (its line buffer); a
 * full table never locks root out (see VSD_CTL_ROOT_SLOTS). */
#define VSD_CTL_CLIENTS 64
/* Connections one user other than root may hold at once (a client needs one;
 * the load generator's p95 reporter one per run). */
#define VSD_CTL_PER_UID 8
/* Slots at the end of the table only root may take; when even those are taken,
 * root's new connection replaces the longest-idle one. */
#define VSD_CTL_ROOT_SLOTS 4
/* A connection with nothing sent to it or read from it for this long is
 * closed (a request or reply in progress counts as activity). */
#define VSD_CTL_IDLE_MS 30000
/* Largest reply backlog per client before it is dropped (slow reader). */
#define VSD_CTL_OUT_MAX (1 << 20)

struct ctl_client {
	int fd; /* -1 = free slot */
	uid_t uid;
	pid_t pid;
	uint64_t active_ms; /* last byte read or written (monotonic ms) */
	char in[VSD_CTL_LINE_MAX + 2];
	size_t in_len;
	bool discarding; /* skipping the rest of an overlong line */
	char *out;
	size_t out_len, out_cap;
	bool closing; /* close once out is flushed */
};

/* Answer one request: return the reply (its "ok" is set by the caller), or
 * NULL with err set. req is a JSON object with a string "cmd". */
typedef json_t *(*ctlsock_handler)(void *arg, json_t *req, uid_t uid, char *err, size_t errlen);

struct ctlsock {
	int lfd;
	char path[108];
	int epfd;
	unsigned tag; /* epoll data: tag << 32 | slot (slot 0xffffffff = listener) */
	bool has_gid; /* members of this group may connect besides root and our uid */
	gid_t gid;
	ctlsock_handler handle;
	void *arg;
	int idle_ms; /* VSD_CTL_IDLE_MS; tests shorten it */
	struct ctl_client cl[VSD_CTL_CLIENTS];
	unsigned long requests;
	unsigned long rejected; /* peers without permission (answered, closed at once) */
	unsigned long busy;	/* connections refused: too many clients */
	unsigned long evicted;	/* idle connections closed to make room for root */
	unsigned long idle;	/* connections closed after idle_ms */
	uint64_t refuse_log_ms; /* last refusal logged (at most one line a second) */
	unsigned long refuse_unlogged;
};

/* Create the socket (its directory too), refuse when another daemon answers
 * on it, and register it with epfd. Returns 0, or -1 with err. */
int ctlsock_open(struct ctlsock *s, const char *path, int epfd, unsigned tag, bool has_gid,
		 gid_t gid, ctlsock_handler handle, void *arg, char *err, size_t errlen);
/* An epoll event whose data carried our tag. */
void ctlsock_event(struct ctlsock *s, unsigned slot, unsigned events);
/* Close connections idle for idle_ms. Call at least as often as
 * ctlsock_timeout_ms() asks. */
void ctlsock_tick(struct ctlsock *s, uint64_t now_ms);
/* Milliseconds until the next idle connection is due to close; -1 = none. */
int ctlsock_timeout_ms(const struct ctlsock *s, uint64_t now_ms);
/* Connections held now. */
int ctlsock_clients(const struct ctlsock *s);
/* Close every client and the listener; remove the socket file. */
void ctlsock_close(struct ctlsock *s);
/* Handle one request line (no newline) and return the reply line (malloc'd,
 * with newline). Exposed for tests and fuzzing. */
char *ctlsock_dispatch(struct ctlsock *s, const char *line, size_t len, uid_t uid);

#endif
