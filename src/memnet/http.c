/* http.c - parse an HTTP/1.x request head and a bytes Range (RFC 9110, 9112), strictly and within fixed bounds. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/strutil.h"
#include "memnet/http.h"

/* RFC 9110 §5.6.2 tchar */
static bool http_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* End of the head: the index just past the empty line, or 0 when not there. */
static size_t http_head_end(const char *buf, size_t len, size_t from)
{
	for (size_t i = from; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		size_t j = i + 1;
		if (j < len && buf[j] == '\r')
			j++;
		if (j < len && buf[j] == '\n')
			return j + 1;
	}
	return 0;
}

/* Next line in [*pos, end): sets *s, *n (without CR LF). Returns false at end. */
static bool http_line(const char *buf, size_t end, size_t *pos, const char **s, size_t *n)
{
	size_t i = *pos;

	if (i >= end)
		return false;
	const char *nl = memchr(buf + i, '\n', end - i);
	size_t e = nl ? (size_t)(nl - buf) : end;
	*s = buf + i;
	*n = e - i;
	if (*n > 0 && (*s)[*n - 1] == '\r')
		(*n)--;
	*pos = e + 1;
	return true;
}

static int http_fail(int status, char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -status;
}

/* Does the comma-separated token list v (n bytes) hold token t? */
static bool http_has_token(const char *v, size_t n, const char *t)
{
	size_t tl = strlen(t), i = 0;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (i - s == tl && strncasecmp(v + s, t, tl) == 0)
			return true;
		while (i < n && v[i] != ',')
			i++;
	}
	return false;
}

static int http_request_line(const char *s, size_t n, struct memnet_http_req *r, char *why,
			     size_t whylen)
{
	size_t i = 0, m;

	while (i < n && http_tchar((unsigned char)s[i]))
		i++;
	m = i;
	if (m == 0 || m > 16 || i >= n || s[i] != ' ')
		return http_fail(400, why, whylen, "malformed request line (method)");
	if (m == 3 && memcmp(s, "GET", 3) == 0)
		r->method = MEMNET_HTTP_GET;
	else if (m == 4 && memcmp(s, "HEAD", 4) == 0)
		r->method = MEMNET_HTTP_HEAD;
	else
		r->method = MEMNET_HTTP_OTHER;
	size_t t0 = ++i;
	while (i < n && s[i] != ' ') {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f)
			return http_fail(400, why, whylen, "control byte in the request target");
		i++;
	}
	size_t tl = i - t0;
	if (tl == 0 || i >= n)
		return http_fail(400, why, whylen, "malformed request line (target)");
	if (s[t0] != '/')
		return http_fail(400, why, whylen, "request target is not a path (origin-form)");
	if (tl > MEMNET_HTTP_TARGET_MAX)
		return http_fail(414, why, whylen, "request target too long");
	memcpy(r->target, s + t0, tl);
	r->target[tl] = '\0';
	r->target[strcspn(r->target, "?#")] = '\0';
	i++;
	const char *v = s + i;
	size_t vl = n - i;
	if (vl != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return http_fail(400, why, whylen, "malformed request line (HTTP version)");
	if (v[5] != '1')
		return http_fail(505, why, whylen, "HTTP version not supported (1.0 and 1.1 are)");
	r->minor = v[7] == '0' ? 0 : 1;
	return 0;
}

int memnet_http_parse(const char *buf, size_t len, struct memnet_http_req *r, char *why,
		      size_t whylen)
{
	size_t pos = 0, end, n;
	const char *s;
	int hosts = 0, ranges = 0, rc;
	bool conn_close = false, conn_keep = false;

	memset(r, 0, sizeof(*r));
	while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	end = http_head_end(buf, len, pos);
	if (end == 0)
		return len >= MEMNET_HTTP_HEAD_MAX
			       ? http_fail(431, why, whylen, "request head too long")
			       : 0;
	if (end > MEMNET_HTTP_HEAD_MAX)
		return http_fail(431, why, whylen, "request head too long");
	if (!http_line(buf, end, &pos, &s, &n))
		return http_fail(400, why, whylen, "empty request");
	if ((rc = http_request_line(s, n, r, why, whylen)) < 0)
		return rc;
	while (http_line(buf, end, &pos, &s, &n) && n > 0) {
		size_t k = 0;
		if (s[0] == ' ' || s[0] == '\t')
			return http_fail(400, why, whylen, "folded header line");
		while (k < n && http_tchar((unsigned char)s[k]))
			k++;
		if (k == 0 || k >= n || s[k] != ':')
			return http_fail(400, why, whylen, "malformed header line");
		size_t nl = k;
		const char *v = s + k + 1;
		size_t vl = n - k - 1;
		for (size_t i = 0; i < vl; i++) {
			unsigned char c = (unsigned char)v[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return http_fail(400, why, whylen,
						 "control byte in a header value");
		}
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		if (nl == 4 && strncasecmp(s, "host", 4) == 0) {
			hosts++;
		} else if (nl == 10 && strncasecmp(s, "connection", 10) == 0) {
			conn_close |= http_has_token(v, vl, "close");
			conn_keep |= http_has_token(v, vl, "keep-alive");
		} else if (nl == 14 && strncasecmp(s, "content-length", 14) == 0) {
			if (vl != 1 || v[0] != '0')
				return http_fail(400, why, whylen,
						 "request bodies are not accepted");
		} else if (nl == 17 && strncasecmp(s, "transfer-encoding", 17) == 0) {
			return http_fail(501, why, whylen, "request bodies are not accepted");
		} else if (nl == 5 && strncasecmp(s, "range", 5) == 0) {
			if (++ranges == 1 && vl < sizeof(r->range)) {
				memcpy(r->range, v, vl);
				r->range[vl] = '\0';
				r->has_range = true;
			} else {
				r->has_range =
					false; /* several Range fields, or too long: ignored */
			}
		}
	}
	if (r->minor == 1 ? hosts != 1 : hosts > 1)
		return http_fail(400, why, whylen,
				 hosts ? "more than one Host header"
				       : "HTTP/1.1 request without Host");
	r->keep_alive = r->minor == 1 ? !conn_close : (conn_keep && !conn_close);
	return (int)end;
}

/* Digits at *p as a number, saturating at UINT64_MAX; false when none. */
static bool http_num(const char **p, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');
		*v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
		s++;
	}
	*p = s;
	return true;
}

static const char *http_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

enum memnet_range memnet_http_range(const char *value, uint64_t length, uint64_t *first,
				    uint64_t *last)
{
	const char *p = http_ows(value);
	uint64_t a, b;

	/* RFC 9110 §14.1.1: "bytes=" first-pos "-" [last-pos] | "-" suffix-length,
	 * no whitespace inside (the field value's ends are trimmed) */
	if (strncasecmp(p, "bytes=", 6) != 0)
		return MEMNET_RANGE_NONE;
	p += 6;
	if (strchr(p, ','))
		return MEMNET_RANGE_NONE;
	if (*p == '-') { /* suffix: the last b bytes */
		p++;
		if (!http_num(&p, &b) || *http_ows(p) != '\0')
			return MEMNET_RANGE_NONE;
		if (b == 0 || length == 0)
			return MEMNET_RANGE_UNSATISFIABLE;
		*first = length - (b < length ? b : length);
		*last = length - 1;
		return MEMNET_RANGE_OK;
	}
	if (!http_num(&p, &a) || *p++ != '-')
		return MEMNET_RANGE_NONE;
	if (*http_ows(p) == '\0') {
		b = UINT64_MAX;
	} else {
		if (!http_num(&p, &b) || *http_ows(p) != '\0' || b < a)
			return MEMNET_RANGE_NONE;
	}
	if (a >= length)
		return MEMNET_RANGE_UNSATISFIABLE;
	*first = a;
	*last = b < length - 1 ? b : length - 1;
	return MEMNET_RANGE_OK;
}
