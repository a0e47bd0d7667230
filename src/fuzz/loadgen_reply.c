/* loadgen_reply.c - fuzz target "loadgen_reply": the loadgen's memcached and HTTP reply parsers on arbitrary server bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz/fuzz.h"
#include "loadgen/proto.h"

/* The first byte picks what the connection is waiting for; the rest is what
 * the server sent. Replies are consumed one after another, as the engine does. */
void fuzz_loadgen_reply(const uint8_t *data, size_t size, struct fuzz_count *c)
{
	static const enum proto_req_kind kinds[] = { PROTO_MC_GET, PROTO_MC_SET, PROTO_HTTP_GET };
	const char *buf = (const char *)data + 1;
	size_t len, off = 0;

	if (size < 1)
		return;
	c->kind = "reply";
	len = size - 1;
	for (int i = 0; off < len; i++) {
		enum proto_req_kind kind = kinds[(data[0] + i) % 3];
		struct proto_resp r;
		const char *why = NULL;
		long used = kind == PROTO_HTTP_GET
				    ? proto_http_parse(buf + off, len - off, &r, &why)
				    : proto_mc_parse(buf + off, len - off, kind, &r, &why);

		if (used == 0)
			break;
		if (used < 0) {
			if (!why) /* every rejection says why */
				abort();
			c->refused++;
			break;
		}
		if ((size_t)used > len - off)
			abort();
		/* the same reply cut by one byte is incomplete, not another reply or an error */
		{
			struct proto_resp r2;
			long again =
				kind == PROTO_HTTP_GET
					? proto_http_parse(buf + off, (size_t)used - 1, &r2, NULL)
					: proto_mc_parse(buf + off, (size_t)used - 1, kind, &r2,
							 NULL);
			if (again != 0)
				abort();
		}
		/* a memcached reply ends with CRLF */
		if (kind != PROTO_HTTP_GET &&
		    (used < 2 || buf[off + used - 2] != '\r' || buf[off + used - 1] != '\n'))
			abort();
		if (r.status != PROTO_HIT && r.status != PROTO_MISS && r.status != PROTO_REJECTED)
			abort();
		c->parsed++;
		off += (size_t)used;
	}
}
