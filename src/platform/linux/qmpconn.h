/* qmpconn.h - a non-blocking QMP client: one persistent connection to a QEMU monitor socket, the handshake, one command at a time matched by id, waits bounded by a deadline. */
#ifndef VS_PLATFORM_LINUX_QMPCONN_H
#define VS_PLATFORM_LINUX_QMPCONN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * QEMU serves one client per QMP socket at a time: a second connect()
 * succeeds but gets no greeting until the first client leaves. So vspaced
 * keeps one connection per VM and every user of that socket (the vCPU
 * thread ids of discovery, the halt-polling statistics of each period)
 * shares it.
 *
 * Nothing here blocks: the socket is O_NONBLOCK; qmpconn_step() consumes
 * what has arrived and returns. A command carries "id":"vspace-N"; QEMU
 * echoes it in the reply, so a reply that comes after its caller gave up
 * (qmpconn_abandon) is recognised and dropped. At most one command is
 * outstanding: a new one is sent only once the previous reply (wanted or
 * not) has arrived, so a stalled QEMU never gets a backlog of requests.
 */

enum qmpconn_state {
	QMPCONN_CLOSED = 0,
	QMPCONN_GREETING, /* connected, waiting for QEMU's greeting */
	QMPCONN_CAPS,	  /* qmp_capabilities sent, waiting for its reply */
	QMPCONN_READY,	  /* commands may be sent */
};

struct qmpconn {
	char path[108]; /* the socket */
	int fd;		/* -1 when closed */
	enum qmpconn_state state;
	char *buf; /* received bytes not yet consumed */
	size_t len, cap;
	uint64_t next_id;     /* id of the next command */
	uint64_t outstanding; /* id of the command sent whose reply has not arrived; 0 none */
	bool awaited;	      /* its caller still wants the reply */
	char version[32];     /* QEMU's version from the greeting ("7.2.22"), "" */
	uint64_t connects;    /* connections made */
	uint64_t dropped;     /* replies that arrived after their caller gave up */
	/* Called with each asynchronous event QEMU sends ({"event": ...},
	 * borrowed) while qmpconn_step reads; NULL: events are skipped. Set
	 * after qmpconn_init; kept across reconnects. */
	void (*on_event)(void *arg, const json_t *event);
	void *event_arg;
};

/* Outcome of qmpconn_step. */
enum qmpconn_rc {
	QMPCONN_AGAIN = 0, /* nothing complete yet (or only the handshake progressed) */
	QMPCONN_REPLY,	   /* *reply holds the awaited command's reply */
	QMPCONN_BROKEN,	   /* the connection failed or QEMU closed it (err); now closed */
	QMPCONN_GARBAGE,   /* QEMU sent something that is not QMP (err); now closed */
};

/* Largest reply line accepted (a 1024-vCPU query-stats is ~200 KiB). */
#define QMPCONN_LINE_MAX (1 << 20)

/* A closed connection to path (nothing connects yet); c holds nothing (a
 * connection in use is qmpconn_free'd first). */
void qmpconn_init(struct qmpconn *c, const char *path);
/* Connect (non-blocking). Returns 0 (state GREETING) or -1 with err
 * (no such socket, refused, busy). */
int qmpconn_open(struct qmpconn *c, char *err, size_t errlen);
/* Take fd, a connected stream socket, as the connection (state GREETING):
 * tests and fuzzing speak QEMU's side through a socketpair. */
void qmpconn_attach(struct qmpconn *c, int fd);
/* Close the socket; buffered input and the outstanding command are dropped. */
void qmpconn_close(struct qmpconn *c);
/* qmpconn_close and free the buffer. */
void qmpconn_free(struct qmpconn *c);

/* Whether a command can be sent now: READY and none outstanding. */
bool qmpconn_can_send(const struct qmpconn *c);
/* Send {"execute":cmd,"arguments":args,"id":...} (args may be NULL; not
 * stolen). Precondition: qmpconn_can_send. Returns the id (> 0) or 0 with
 * err (the connection is closed then). */
uint64_t qmpconn_send(struct qmpconn *c, const char *cmd, const json_t *args, char *err,
		      size_t errlen);
/* The caller stops waiting for the outstanding command: its reply will be
 * dropped when it comes. */
void qmpconn_abandon(struct qmpconn *c);

/* Read what the socket has (never waits), run the handshake, skip events,
 * drop abandoned replies. On QMPCONN_REPLY *reply is the awaited command's
 * whole message ({"return": ...} or {"error": ...}; the caller decrefs). */
enum qmpconn_rc qmpconn_step(struct qmpconn *c, json_t **reply, char *err, size_t errlen);

/* One command, waiting at most timeout_ms (for callers that may wait, such
 * as discovery): connects and completes the handshake first when needed, and
 * waits for an abandoned reply still outstanding. Returns 0 with *reply, or
 * -1 with err (the connection stays open after a timeout: a late reply is
 * dropped when it comes). */
int qmpconn_call(struct qmpconn *c, const char *cmd, const json_t *args, int timeout_ms,
		 json_t **reply, char *err, size_t errlen);

/* The text of an error reply ({"error":{"class":C,"desc":D}}): "C: D";
 * class_out (may be NULL) receives the class. Returns false when the reply
 * is not an error. */
bool qmpconn_error(const json_t *reply, char *buf, size_t len, char *class_out, size_t classlen);

/* Monotonic milliseconds (the clock of the deadlines). */
uint64_t qmpconn_now_us(void);

#endif
