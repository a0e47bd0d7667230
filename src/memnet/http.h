/* http.h - the HTTP/1.1 request head and Range parsers of `vspace memnet serve` (untrusted input; pure, fuzzed). */
#ifndef VS_MEMNET_HTTP_H
#define VS_MEMNET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest request head accepted (request line and headers), bytes. */
#define MEMNET_HTTP_HEAD_MAX 8192
/* Longest request target. */
#define MEMNET_HTTP_TARGET_MAX 512

enum memnet_http_method {
	MEMNET_HTTP_GET,
	MEMNET_HTTP_HEAD,
	MEMNET_HTTP_OTHER, /* a valid token we do not serve: 405 */
};

struct memnet_http_req {
	enum memnet_http_method method;
	char target[MEMNET_HTTP_TARGET_MAX + 1]; /* the path, query removed */
	int minor;				 /* HTTP/1.minor: 0 or 1 */
	bool keep_alive;			 /* from the version and Connection */
	bool has_range;
	char range[128]; /* the Range value (ignored when longer) */
};

/*
 * Parse the request head at the start of buf (len bytes; RFC 9112 §2-§5:
 * request line, header fields, empty line; CRLF or bare LF line ends; empty
 * lines before the request line skipped). Returns the bytes the head takes
 * (> 0), 0 when it is not complete yet, or -STATUS when the request must be
 * refused with that status (400 malformed, a body or a missing/duplicate
 * Host; 414 target too long; 431 head longer than MEMNET_HTTP_HEAD_MAX; 501
 * Transfer-Encoding; 505 not HTTP/1.x), with why set.
 */
int memnet_http_parse(const char *buf, size_t len, struct memnet_http_req *r, char *why,
		      size_t whylen);

/* Result of memnet_http_range. */
enum memnet_range {
	MEMNET_RANGE_NONE,	    /* serve the whole object (absent, not bytes=, several
				       ranges, malformed: RFC 9110 §14.2 lets us ignore it) */
	MEMNET_RANGE_OK,	    /* serve [*first, *last] */
	MEMNET_RANGE_UNSATISFIABLE, /* 416 */
};
/* A single byte range against an object of length bytes. */
enum memnet_range memnet_http_range(const char *value, uint64_t length, uint64_t *first,
				    uint64_t *last);

#endif
