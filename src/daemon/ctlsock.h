/* ctlsock.h - the control socket: JSON lines over a Unix stream socket, peer credentials checked. */
#ifndef VS_DAEMON_CTLSOCK_H
#define VS_DAEMON_CTLSOCK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Longest request line (bytes, without the newline). */
#define VSD_CTL_LINE_MAX 4096
/* Clients served at once. */
#define VSD_CTL_CLIENTS 32
/* Largest reply backlog per client before it is dropped (slow reader). */
#define VSD_CTL_OUT_MAX (1 << 20)

struct ctl_client {
	int fd; /* -1 = free slot */
	uid_t uid;
	char in[VSD_CTL_LINE_MAX + 2];
	size_t in_len;
	bool discarding; /* skipping the rest of an overlong line */
	char *out;
	size_t out_len, out_cap;
	bool closing;  /* close once out is flushed */
	bool rejected; /* peer not allowed: its first request gets the refusal */
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
	struct ctl_client cl[VSD_CTL_CLIENTS];
	unsigned long requests, rejected;
};

/* Create the socket (its directory too), refuse when another daemon answers
 * on it, and register it with epfd. Returns 0, or -1 with err. */
int ctlsock_open(struct ctlsock *s, const char *path, int epfd, unsigned tag, bool has_gid,
		 gid_t gid, ctlsock_handler handle, void *arg, char *err, size_t errlen);
/* An epoll event whose data carried our tag. */
void ctlsock_event(struct ctlsock *s, unsigned slot, unsigned events);
/* Close every client and the listener; remove the socket file. */
void ctlsock_close(struct ctlsock *s);
/* Handle one request line (no newline) and return the reply line (malloc'd,
 * with newline). Exposed for tests and fuzzing. */
char *ctlsock_dispatch(struct ctlsock *s, const char *line, size_t len, uid_t uid);

#endif
