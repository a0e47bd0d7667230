/* proto.c - fuzz target "proto": the agent protocol's framing and message decoders on arbitrary bytes. */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "proto/proto.h"

static void fuzz_proto_check(bool cond)
{
	if (!cond)
		abort();
}

/* One line: 1 when it is a valid request. */
static int fuzz_proto_line(const char *line, size_t len)
{
	char err[256], out[PROTO_MAX_MSG + 1];
	struct proto_request req;
	struct proto_reply rep;
	int n;

	int ok = proto_decode_request(line, len, &req, err, sizeof(err)) == 0;

	if (ok) {
		json_t *res = json_pack("{s:s}", "cmd", proto_cmd_name(req.cmd));
		fuzz_proto_check(req.has_id && (unsigned)req.cmd < PROTO_CMD_COUNT);
		n = proto_encode_ok(out, sizeof(out), true, req.id, res);
		json_decref(res);
	} else {
		fuzz_proto_check(strlen(err) > 0);
		n = proto_encode_error(out, sizeof(out), req.has_id, req.id, err);
	}
	/* Every answer fits in one message and reads back with the same id. */
	fuzz_proto_check(n > 0 && n <= PROTO_MAX_MSG && out[n - 1] == '\n');
	fuzz_proto_check(proto_decode_reply(out, (size_t)n - 1, &rep, err, sizeof(err)) == 0);
	fuzz_proto_check(rep.has_id == req.has_id && (!rep.has_id || rep.id == req.id));
	proto_reply_clear(&rep);
	/* The host-side decoder on arbitrary input. */
	if (proto_decode_reply(line, len, &rep, err, sizeof(err)) == 0)
		proto_reply_clear(&rep);
	return ok;
}

static void fuzz_proto_count(struct fuzz_count *c, int ok)
{
	if (ok)
		c->parsed++;
	else
		c->refused++;
}

void fuzz_proto(const uint8_t *data, size_t size, struct fuzz_count *c)
{
	struct proto_linebuf *lb = malloc(sizeof(*lb));
	size_t off = 0;

	c->kind = "line";
	fuzz_proto_check(lb != NULL);
	proto_linebuf_init(lb);
	/* Feed in uneven chunks so that lines straddle reads. */
	for (unsigned chunk = 1; off < size; chunk = chunk * 3 + 1) {
		size_t n = size - off, room = proto_linebuf_room(lb);
		size_t want = chunk % 997 + 1;
		if (n > want)
			n = want;
		if (n > room)
			n = room;
		memcpy(proto_linebuf_space(lb), data + off, n);
		proto_linebuf_commit(lb, n);
		off += n;
		for (;;) {
			char *line;
			size_t len;
			enum proto_line_result r = proto_linebuf_next(lb, &line, &len);
			if (r == PROTO_LINE_NONE)
				break;
			if (r == PROTO_LINE_OK) {
				fuzz_proto_check(len < PROTO_MAX_MSG && line[len] == '\0');
				fuzz_proto_count(c, fuzz_proto_line(line, len));
			} else {
				c->refused++; /* too long: dropped through its newline */
			}
		}
	}
	/* A final line without '\n' is a message too (as at end of stream). */
	proto_linebuf_space(lb); /* compacts: the rest starts at buf */
	if (lb->len > 0 && !lb->discarding) {
		lb->buf[lb->len] = '\0';
		fuzz_proto_count(c, fuzz_proto_line(lb->buf, lb->len));
	}
	free(lb);
}
