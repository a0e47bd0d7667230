/* proto.c - memcached ASCII and HTTP/1.1 incremental response parsers for the loadgen. */
#include "loadgen/proto.h"

#include <stdint.h>
#include <string.h>

static long proto_fail(const char **why, const char *text)
{
	if (why)
		*why = text;
	return -1;
}

/* Index of the '\n' ending the first line (which must end in "\r\n"), or -1
 * when no full line is there yet. */
static long proto_line_end(const char *buf, size_t len, size_t limit)
{
	size_t n = len < limit ? len : limit;
	const char *nl = memchr(buf, '\n', n);

	if (!nl)
		return -1;
	return nl - buf;
}

static bool proto_line_is(const char *line, size_t line_len, const char *word)
{
	size_t w = strlen(word);

	return line_len == w && memcmp(line, word, w) == 0;
}

static bool proto_line_starts(const char *line, size_t line_len, const char *word)
{
	size_t w = strlen(word);

	return line_len >= w && memcmp(line, word, w) == 0;
}

/* Parse digits [p, end) as a decimal in [0, max]; -1 on junk or overflow. */
static long proto_decimal(const char *p, const char *end, unsigned long max)
{
	unsigned long v = 0;

	if (p == end)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max)
			return -1;
	}
	return (long)v;
}

/* "VALUE <key> <flags> <bytes> [<cas>]": the <bytes> field, or -1. */
static long proto_mc_value_bytes(const char *line, size_t line_len)
{
	const char *f[5];
	size_t flen[5];
	int n = 0;
	size_t i = 0;

	while (i < line_len && n < 5) {
		while (i < line_len && line[i] == ' ')
			i++;
		if (i == line_len)
			break;
		f[n] = line + i;
		while (i < line_len && line[i] != ' ')
			i++;
		flen[n] = (size_t)(line + i - f[n]);
		n++;
	}
	while (i < line_len && line[i] == ' ')
		i++;
	if (i != line_len || n < 4 || n > 5)
		return -1;
	if (proto_decimal(f[2], f[2] + flen[2], UINT32_MAX) < 0)
		return -1;
	return proto_decimal(f[3], f[3] + flen[3], PROTO_BODY_MAX);
}

/* An error line any command may get. */
static bool proto_mc_error_line(const char *line, size_t line_len)
{
	return proto_line_is(line, line_len, "ERROR") ||
	       proto_line_starts(line, line_len, "CLIENT_ERROR") ||
	       proto_line_starts(line, line_len, "SERVER_ERROR");
}

long proto_mc_parse(const char *buf, size_t len, enum proto_req_kind kind, struct proto_resp *out,
		    const char **why)
{
	long nl = proto_line_end(buf, len, PROTO_MC_LINE_MAX);
	size_t line_len;

	if (nl < 0)
		return len >= PROTO_MC_LINE_MAX ? proto_fail(why, "memcached reply line too long")
						: 0;
	if (nl == 0 || buf[nl - 1] != '\r')
		return proto_fail(why, "memcached reply line does not end in CRLF");
	line_len = (size_t)nl - 1;
	memset(out, 0, sizeof(*out));
	if (proto_mc_error_line(buf, line_len)) {
		out->status = PROTO_REJECTED;
		return nl + 1;
	}
	if (kind == PROTO_MC_SET) {
		if (proto_line_is(buf, line_len, "STORED")) {
			out->status = PROTO_HIT;
			return nl + 1;
		}
		if (proto_line_is(buf, line_len, "NOT_STORED") ||
		    proto_line_is(buf, line_len, "EXISTS") ||
		    proto_line_is(buf, line_len, "NOT_FOUND")) {
			out->status = PROTO_REJECTED;
			return nl + 1;
		}
		return proto_fail(why, "unexpected memcached reply to set");
	}
	if (kind != PROTO_MC_GET)
		return proto_fail(why, "not a memcached request");
	if (proto_line_is(buf, line_len, "END")) {
		out->status = PROTO_MISS;
		return nl + 1;
	}
	if (proto_line_starts(buf, line_len, "VALUE ")) {
		long bytes = proto_mc_value_bytes(buf, line_len);
		size_t need;

		if (bytes < 0)
			return proto_fail(why, "malformed memcached VALUE line");
		need = (size_t)nl + 1 + (size_t)bytes + 2 + 5; /* data CRLF "END\r\n" */
		if (len < need)
			return 0;
		if (memcmp(buf + nl + 1 + bytes, "\r\n", 2) != 0)
			return proto_fail(why, "memcached value not followed by CRLF");
		if (memcmp(buf + need - 5, "END\r\n", 5) != 0)
			return proto_fail(why, "memcached get reply without END");
		out->status = PROTO_HIT;
		return (long)need;
	}
	return proto_fail(why, "unexpected memcached reply to get");
}

/* s (n bytes) equals lower (lower case ASCII), ignoring case. */
static bool proto_lower_eq(const char *s, const char *lower, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lower[i])
			return false;
	}
	return true;
}

/* The value of a header line "Name: value" whose colon is at line[name_len]:
 * without the blanks around it. */
static void proto_http_value(const char *line, size_t line_len, size_t name_len, const char **value,
			     size_t *value_len)
{
	const char *v = line + name_len + 1, *end = line + line_len;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*value = v;
	*value_len = (size_t)(end - v);
}

/* token (t bytes, lower case) is one of the ','- or ' '-separated words of v. */
static bool proto_token_in(const char *v, size_t v_len, const char *token, size_t t)
{
	size_t i = 0;

	while (i < v_len) {
		size_t start;
		while (i < v_len && (v[i] == ',' || v[i] == ' '))
			i++;
		start = i;
		while (i < v_len && v[i] != ',' && v[i] != ' ')
			i++;
		if (i - start == t && proto_lower_eq(v + start, token, t))
			return true;
	}
	return false;
}

/* Chunked body starting at buf[0]: bytes it occupies (incl. trailers), 0 when
 * incomplete, -1 when malformed. */
static long proto_http_chunked(const char *buf, size_t len, const char **why)
{
	size_t pos = 0;

	for (;;) {
		long nl = proto_line_end(buf + pos, len - pos, PROTO_MC_LINE_MAX);
		unsigned long size = 0;
		size_t i, digits = 0;

		if (nl < 0)
			return len - pos >= PROTO_MC_LINE_MAX
				       ? proto_fail(why, "HTTP chunk size line too long")
				       : 0;
		if (nl == 0 || buf[pos + nl - 1] != '\r')
			return proto_fail(why, "HTTP chunk size line does not end in CRLF");
		for (i = pos; i < pos + (size_t)nl - 1; i++) {
			char c = buf[i];
			int d = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
				: c >= 'A' && c <= 'F' ? c - 'A' + 10
						       : -1;
			if (d < 0)
				break;
			size = size * 16 + (unsigned long)d;
			if (size > PROTO_BODY_MAX)
				return proto_fail(why, "HTTP chunk too large");
			digits++;
		}
		if (digits == 0 || (i < pos + (size_t)nl - 1 && buf[i] != ';' && buf[i] != ' '))
			return proto_fail(why, "malformed HTTP chunk size");
		pos += (size_t)nl + 1;
		if (size == 0) {
			/* trailers: lines until an empty one */
			for (;;) {
				long tl = proto_line_end(buf + pos, len - pos, PROTO_HTTP_HEAD_MAX);
				if (tl < 0)
					return len - pos >= PROTO_HTTP_HEAD_MAX
						       ? proto_fail(why, "HTTP trailer too long")
						       : 0;
				if (tl == 0 || buf[pos + tl - 1] != '\r')
					return proto_fail(why, "HTTP trailer does not end in CRLF");
				pos += (size_t)tl + 1;
				if (tl == 1)
					return (long)pos;
			}
		}
		if (len - pos < size + 2)
			return 0;
		if (memcmp(buf + pos + size, "\r\n", 2) != 0)
			return proto_fail(why, "HTTP chunk not followed by CRLF");
		pos += size + 2;
	}
}

long proto_http_parse(const char *buf, size_t len, struct proto_resp *out, const char **why)
{
	const char *head_end = NULL;
	size_t head_len, pos, lim = len < PROTO_HTTP_HEAD_MAX ? len : PROTO_HTTP_HEAD_MAX;
	long nl, code;
	long content_length = -1;
	bool chunked = false, close = false, http10 = false;

	memset(out, 0, sizeof(*out));
	/* Reject garbage early rather than waiting for 16 KiB of it. */
	if (len >= 5 && memcmp(buf, "HTTP/", 5) != 0)
		return proto_fail(why, "not an HTTP response");
	/* status line: HTTP/1.x SSS reason */
	nl = proto_line_end(buf, lim, lim);
	if (nl < 0)
		return len >= PROTO_HTTP_HEAD_MAX ? proto_fail(why, "HTTP response head too long")
						  : 0;
	if (nl < 13 || buf[nl - 1] != '\r' || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' || (nl > 13 && buf[12] != ' '))
		return proto_fail(why, "malformed HTTP status line");
	http10 = buf[7] == '0';
	code = proto_decimal(buf + 9, buf + 12, 999);
	if (code < 100)
		return proto_fail(why, "malformed HTTP status code");
	/* header lines up to the empty one, in one pass */
	for (pos = (size_t)nl + 1;;) {
		long e = proto_line_end(buf + pos, lim - pos, lim - pos);
		const char *line = buf + pos, *v, *colon;
		size_t v_len, name_len;

		if (e < 0)
			return len >= PROTO_HTTP_HEAD_MAX
				       ? proto_fail(why, "HTTP response head too long")
				       : 0;
		if (e < 1 || line[e - 1] != '\r')
			return proto_fail(why, "HTTP header line does not end in CRLF");
		pos += (size_t)e + 1;
		if (e == 1) {
			head_end = buf + pos;
			break;
		}
		colon = memchr(line, ':', (size_t)e - 1);
		if (!colon)
			continue;
		/* the three headers that matter, told apart by their name's length first */
		name_len = (size_t)(colon - line);
		if (name_len == 14 && proto_lower_eq(line, "content-length", 14)) {
			long cl;
			proto_http_value(line, (size_t)e - 1, name_len, &v, &v_len);
			cl = proto_decimal(v, v + v_len, PROTO_BODY_MAX);
			if (cl < 0 || (content_length >= 0 && cl != content_length))
				return proto_fail(why, "bad HTTP Content-Length");
			content_length = cl;
		} else if (name_len == 17 && proto_lower_eq(line, "transfer-encoding", 17)) {
			proto_http_value(line, (size_t)e - 1, name_len, &v, &v_len);
			if (!proto_token_in(v, v_len, "chunked", 7))
				return proto_fail(why, "unsupported HTTP Transfer-Encoding");
			chunked = true;
		} else if (name_len == 10 && proto_lower_eq(line, "connection", 10)) {
			proto_http_value(line, (size_t)e - 1, name_len, &v, &v_len);
			if (proto_token_in(v, v_len, "close", 5))
				close = true;
			if (proto_token_in(v, v_len, "keep-alive", 10))
				http10 = false;
		}
	}
	head_len = (size_t)(head_end - buf);
	out->http_status = (int)code;
	out->status = code < 400 ? PROTO_HIT : PROTO_REJECTED;
	out->close = close || http10;
	if (code < 200)
		return proto_fail(why, "unexpected HTTP 1xx response");
	if (code == 204 || code == 304)
		return (long)head_len;
	if (chunked) {
		long body = proto_http_chunked(head_end, len - head_len, why);
		if (body <= 0)
			return body;
		return (long)head_len + body;
	}
	if (content_length < 0)
		return proto_fail(why, "HTTP response without Content-Length or chunked body");
	if (len - head_len < (size_t)content_length)
		return 0;
	return (long)head_len + content_length;
}
