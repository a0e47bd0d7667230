/* client.h - host side of the agent protocol: reconnect with backoff, per-request timeouts, epoll-driven. */
#ifndef VS_PROTO_CLIENT_H
#define VS_PROTO_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proto/proto.h"
#include "proto/transport.h"

/*
 * One client per agent. It never blocks: all I/O is non-blocking and driven
 * by the owner's event loop.
 *
 *   proto_client_init(&c, &addr, &opts)     (no I/O yet)
 *   loop:
 *     proto_client_tick(&c, now_ms)          connects when due, times out
 *                                            requests; call at least every
 *                                            proto_client_next_deadline_ms()
 *     on an event of the client's fd:
 *       proto_client_handle_events(&c, events, now_ms)
 *   proto_client_request(&c, "set_vnq", args, fn, arg, now_ms)
 *   proto_client_close(&c)
 *
 * The fd changes at every reconnect. With opts.epfd >= 0 the client adds,
 * modifies and removes it in that epoll set itself (data.ptr =
 * opts.epoll_ptr); otherwise poll proto_client_fd() for
 * proto_client_events().
 *
 * Life cycle: IDLE (waiting for the next attempt) -> CONNECTING -> HELLO
 * (hello sent; the agent's answer is kept, see proto_client_hello()) ->
 * READY. A failed connect, a failed or late hello, EOF, a socket error or a
 * garbled reply closes the connection, fails the pending requests with
 * PROTO_ST_DISCONNECTED, and schedules the next attempt after a backoff
 * that doubles from backoff_min_ms to backoff_max_ms and resets once READY.
 * Requests are accepted only when READY; opts.on_state tells the owner when
 * to (re)send its desired state.
 *
 * Every callback runs from inside handle_events/tick/close, never from
 * request(). Writes use MSG_NOSIGNAL: an agent going away is an error on the
 * connection, never a SIGPIPE for the owner.
 */

enum proto_client_state {
	PROTO_CLIENT_IDLE = 0,
	PROTO_CLIENT_CONNECTING,
	PROTO_CLIENT_HELLO,
	PROTO_CLIENT_READY,
};

enum proto_status {
	PROTO_ST_OK = 0,       /* the agent did it; result holds its answer */
	PROTO_ST_AGENT_ERROR,  /* the agent refused: error says why */
	PROTO_ST_TIMEOUT,      /* no answer within timeout_ms */
	PROTO_ST_DISCONNECTED, /* the connection closed before the answer */
};

struct proto_result {
	enum proto_status status;
	uint32_t id;
	const char *error;    /* AGENT_ERROR: the agent's text; else a description */
	const json_t *result; /* OK: borrowed, valid during the callback only */
	uint64_t rtt_us;      /* OK, AGENT_ERROR: send -> reply received */
};

typedef void (*proto_reply_fn)(void *arg, const struct proto_result *res);

struct proto_client_opts {
	/* Time a request may wait for its answer. Default 1000 ms. */
	uint32_t timeout_ms;
	/* Time from starting a connect to the hello answer. Default 2000 ms
	 * (an agent that boots late just means more attempts). */
	uint32_t connect_timeout_ms;
	/* Reconnect backoff bounds. Defaults 100 ms and 5000 ms. */
	uint32_t backoff_min_ms;
	uint32_t backoff_max_ms;
	/* Optional epoll set the client keeps its fd in (-1: none). */
	int epfd;
	void *epoll_ptr;
	/* Optional: called on every state change; why says what happened
	 * ("connected", "connect: Connection refused", "hello timed out"). */
	void (*on_state)(void *arg, enum proto_client_state state, const char *why);
	void *arg;
};

/* Pending requests per client; more are refused with ENOBUFS. */
#define PROTO_CLIENT_MAX_PENDING 32
/* Unsent output the client holds (requests are small). */
#define PROTO_CLIENT_OUTBUF (4 * PROTO_MAX_MSG)

struct proto_pending {
	bool used;
	uint32_t id;
	uint64_t deadline_ms;
	uint64_t sent_us;
	proto_reply_fn fn;
	void *arg;
};

struct proto_client {
	struct proto_addr addr;
	struct proto_client_opts opts;
	enum proto_client_state state;
	int fd;
	uint32_t events;	  /* what the fd is registered for */
	uint64_t next_attempt_ms; /* IDLE: when to connect */
	uint64_t hello_deadline_ms;
	uint32_t backoff_ms;
	uint32_t next_id;
	uint32_t hello_id;
	unsigned failures; /* consecutive failed attempts */
	json_t *hello;	   /* the agent's hello result (READY), else NULL */
	char last_error[200];
	struct proto_linebuf in;
	char out[PROTO_CLIENT_OUTBUF];
	size_t out_len;
	struct proto_pending pending[PROTO_CLIENT_MAX_PENDING];
};

/* ---- API for the owner's event loop ----------------------------------------- */

/* Set up (no I/O; the first attempt happens at the first tick). opts may be
 * NULL for the defaults; zero fields take their defaults too. */
void proto_client_init(struct proto_client *c, const struct proto_addr *addr,
		       const struct proto_client_opts *opts);
/* Close the connection and fail every pending request (DISCONNECTED). */
void proto_client_close(struct proto_client *c);
/* Current fd (-1 when not connected) and the epoll events it waits for. */
int proto_client_fd(const struct proto_client *c);
uint32_t proto_client_events(const struct proto_client *c);
void proto_client_handle_events(struct proto_client *c, uint32_t events, uint64_t now_ms);
void proto_client_tick(struct proto_client *c, uint64_t now_ms);
/* The earliest time tick() has work (next attempt or deadline), or
 * UINT64_MAX. */
uint64_t proto_client_next_deadline_ms(const struct proto_client *c);

/* ---- API for the owner's logic ----------------------------------------------- */

enum proto_client_state proto_client_state(const struct proto_client *c);
const char *proto_client_state_name(enum proto_client_state s);
/* The agent's hello answer while READY (borrowed), else NULL. */
const json_t *proto_client_hello(const struct proto_client *c);
/* Why the last attempt or connection failed ("" if none). */
const char *proto_client_last_error(const struct proto_client *c);

/* Queue a request (args borrowed, may be NULL). Returns its id, or -1 with
 * errno ENOTCONN (not READY), ENOBUFS (too many pending or output full),
 * EMSGSIZE (longer than PROTO_MAX_MSG). fn is called exactly once for an
 * accepted request. */
long proto_client_request(struct proto_client *c, const char *cmd, const json_t *args,
			  proto_reply_fn fn, void *arg, uint64_t now_ms);

/* Blocking convenience for tools: connect if needed, send one request, wait
 * at most timeout_ms overall. Returns the status; *result gets a new
 * reference on OK (the caller decrefs); err gets the error text otherwise. */
enum proto_status proto_client_call(struct proto_client *c, const char *cmd, const json_t *args,
				    uint32_t timeout_ms, json_t **result, uint64_t *rtt_us,
				    char *err, size_t errlen);

/* CLOCK_MONOTONIC in milliseconds and microseconds. */
uint64_t proto_now_ms(void);
uint64_t proto_now_us(void);

#endif
