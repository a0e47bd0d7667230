/* server.h - the host transmission module: an epoll HTTP/1.1 server that sends objects straight from the mapped regions of many VMs. */
#ifndef VS_MEMNET_SERVER_H
#define VS_MEMNET_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memnet/orch.h"
#include "memnet/reader.h"

/*
 * URLs:  /                 JSON status of every region
 *        /REGION/          JSON list of its objects
 *        /REGION/NAME      the object: GET, HEAD; Range (one bytes range:
 *                          206, unsatisfiable: 416); a complete object has a
 *                          Content-Length, one still being written is sent
 *                          chunked as it grows (HTTP/1.0: until close)
 * Keep-alive and pipelining (answers in order), one thread, edge-triggered
 * epoll. Bodies go from the mapping to the socket with sendmsg() (no copy
 * through a buffer per request); an object is pinned while a response sends
 * it, so it is never released under a send. A refused region answers 503
 * and its responses in progress are cut; the other regions are untouched.
 */

/* Regions one server serves at most. */
#define MEMNET_SERVER_REGIONS_MAX 64

struct memnet_server_opts {
	const char *listen;	  /* HOST:PORT or [V6]:PORT (numeric); port 0: any */
	unsigned poll_ms;	  /* table scan period; 10 (ours: chunked streams see
					 growth within 10 ms) */
	unsigned idle_timeout_ms; /* close a connection without progress this long;
					 60000 (ours) */
	unsigned max_conns;	  /* more are closed at accept; 4096 (ours) */
	struct memnet_evict_opts evict;
	/* the orchestrator (budget_bytes 0: off, the quotas stay as they are) */
	uint64_t budget_bytes;
	double slo_ms;
	unsigned interval_ms;
	struct memnet_sizing_params sizing;
};

struct memnet_server;

void memnet_server_defaults(struct memnet_server_opts *o);
/* Listen (the address is bound here). Returns the server, or NULL with err
 * (*usage set when the address itself was malformed). */
struct memnet_server *memnet_server_new(const struct memnet_server_opts *o, bool *usage, char *err,
					size_t errlen);
/* Serve region `name` from the file at path (it may not exist yet). */
int memnet_server_add(struct memnet_server *s, const char *name, const char *path, char *err,
		      size_t errlen);
/* The port bound. */
unsigned memnet_server_port(const struct memnet_server *s);
/* Serve until SIGINT/SIGTERM. Returns 0, or 1 on a run-time failure. */
int memnet_server_run(struct memnet_server *s);
void memnet_server_free(struct memnet_server *s);

#endif
