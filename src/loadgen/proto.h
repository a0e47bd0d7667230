/* proto.h - memcached ASCII and HTTP/1.1 requests and incremental response parsers for the loadgen. */
#ifndef VS_LOADGEN_PROTO_H
#define VS_LOADGEN_PROTO_H

#include <stdbool.h>
#include <stddef.h>

/* Longest status/header line accepted from a memcached server. */
#define PROTO_MC_LINE_MAX 2048
/* Largest HTTP response head (status line + headers) accepted. */
#define PROTO_HTTP_HEAD_MAX 16384
/* Largest response body or memcached value accepted (memcached's item limit is 1 MiB by default). */
#define PROTO_BODY_MAX (64u << 20)

enum proto_req_kind {
	PROTO_MC_GET,
	PROTO_MC_SET,
	PROTO_HTTP_GET,
};

enum proto_status {
	PROTO_HIT,	/* GET found the key, SET stored it, HTTP 2xx/3xx */
	PROTO_MISS,	/* GET: the key was not there (a normal outcome, not an error) */
	PROTO_REJECTED, /* the server answered with an error: memcached ERROR/CLIENT_ERROR/
			    SERVER_ERROR/NOT_STORED..., HTTP 4xx/5xx */
};

struct proto_resp {
	enum proto_status status;
	int http_status; /* HTTP only */
	bool close;	 /* HTTP: the server closes the connection after this response */
};

/*
 * The parsers look at the start of buf (len bytes received so far) for one
 * complete response to a request of the given kind. They return the bytes the
 * response occupies (> 0) and fill *out; 0 when more bytes are needed; -1 when
 * the bytes cannot be a valid response (then why, if not NULL, says what was
 * wrong; the caller drops the connection).
 */
long proto_mc_parse(const char *buf, size_t len, enum proto_req_kind kind, struct proto_resp *out,
		    const char **why);
long proto_http_parse(const char *buf, size_t len, struct proto_resp *out, const char **why);

#endif
