/* proto.c - encode, decode and validate agent protocol messages; line framing. */
#include "proto/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const proto_cmd_names[PROTO_CMD_COUNT] = {
	[PROTO_CMD_HELLO] = "hello",	     [PROTO_CMD_SET_VNQ] = "set_vnq",
	[PROTO_CMD_SET_VCPUS] = "set_vcpus", [PROTO_CMD_STATS] = "stats",
	[PROTO_CMD_RESTORE] = "restore",
};

/* The args each command accepts (NULL-terminated). */
static const char *const proto_hello_args[] = { "version", NULL };
static const char *const proto_set_vnq_args[] = { "ifname", "n", NULL };
static const char *const proto_set_vcpus_args[] = { "n", "method", NULL };
static const char *const proto_stats_args[] = { "ifname", NULL };
static const char *const proto_restore_args[] = { NULL };
static const char *const *const proto_cmd_args[PROTO_CMD_COUNT] = {
	[PROTO_CMD_HELLO] = proto_hello_args,	      [PROTO_CMD_SET_VNQ] = proto_set_vnq_args,
	[PROTO_CMD_SET_VCPUS] = proto_set_vcpus_args, [PROTO_CMD_STATS] = proto_stats_args,
	[PROTO_CMD_RESTORE] = proto_restore_args,
};

const char *proto_cmd_name(enum proto_cmd cmd)
{
	return (unsigned)cmd < PROTO_CMD_COUNT ? proto_cmd_names[cmd] : "?";
}

int proto_cmd_lookup(const char *name)
{
	for (int i = 0; i < PROTO_CMD_COUNT; i++)
		if (strcmp(name, proto_cmd_names[i]) == 0)
			return i;
	return -1;
}

const char *proto_vcpu_method_name(enum proto_vcpu_method m)
{
	return m == PROTO_VCPUS_HOTPLUG ? "hotplug" : "cpuset";
}

bool proto_ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= PROTO_IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || c == '/' || c == ':')
			return false;
	}
	return true;
}

/* Copy at most max bytes of untrusted text for an error message: printable
 * ASCII kept, anything else becomes '?', "..." marks a cut. */
static void proto_quote(char *dst, size_t len, const char *src, size_t max)
{
	size_t i, o = 0;

	for (i = 0; i < max && src[i] && o + 4 < len; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[o++] = (c >= ' ' && c < 0x7f) ? (char)c : '?';
	}
	if (src[i] && o + 4 < len) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static const char *proto_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* Read integer field key of obj into *out within [min, max]. Returns 1 when
 * absent, 0 on success, -1 (with err) when present but bad. */
static int proto_get_int(const json_t *obj, const char *ctx, const char *key, long long min,
			 long long max, long long *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return 1;
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "%s%s must be an integer in %lld..%lld, got %s", ctx, key,
			 min, max, proto_type_name(v));
		return -1;
	}
	json_int_t x = json_integer_value(v);
	if (x < min || x > max) {
		snprintf(err, errlen, "%s%s must be an integer in %lld..%lld, got %lld", ctx, key,
			 min, max, (long long)x);
		return -1;
	}
	*out = x;
	return 0;
}

/* Read string field key; 1 absent, 0 ok (*out borrowed), -1 bad type. */
static int proto_get_str(const json_t *obj, const char *ctx, const char *key, const char **out,
			 char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return 1;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s%s must be a string, got %s", ctx, key,
			 proto_type_name(v));
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int proto_check_keys(const json_t *obj, const char *ctx, const char *const *allowed,
			    char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		bool known = false;
		for (int i = 0; allowed[i]; i++)
			known = known || strcmp(key, allowed[i]) == 0;
		if (!known) {
			char q[40];
			proto_quote(q, sizeof(q), key, 24);
			snprintf(err, errlen, "%sunknown field \"%s\"", ctx, q);
			return -1;
		}
	}
	return 0;
}

static int proto_get_ifname(const json_t *args, const char *ctx, bool required, char *dst,
			    char *err, size_t errlen)
{
	const char *s = NULL;
	int r = proto_get_str(args, ctx, "ifname", &s, err, errlen);

	if (r < 0)
		return -1;
	if (r > 0) {
		if (required) {
			snprintf(err, errlen, "%smissing field \"ifname\"", ctx);
			return -1;
		}
		dst[0] = '\0';
		return 0;
	}
	if (!proto_ifname_valid(s)) {
		char q[40];
		proto_quote(q, sizeof(q), s, 24);
		snprintf(err, errlen,
			 "%sifname \"%s\" is not a valid interface name (1..15 printable bytes, "
			 "no '/', ':' or blanks)",
			 ctx, q);
		return -1;
	}
	snprintf(dst, PROTO_IFNAME_MAX, "%s", s);
	return 0;
}

static int proto_decode_args(const json_t *args, struct proto_request *req, char *err,
			     size_t errlen)
{
	char ctx[32];
	long long x = 0;
	int r;

	snprintf(ctx, sizeof(ctx), "%s: ", proto_cmd_name(req->cmd));
	if (proto_check_keys(args, ctx, proto_cmd_args[req->cmd], err, errlen) < 0)
		return -1;

	switch (req->cmd) {
	case PROTO_CMD_HELLO:
		req->u.hello.version = PROTO_VERSION;
		r = proto_get_int(args, ctx, "version", 1, 1000000, &x, err, errlen);
		if (r < 0)
			return -1;
		if (r == 0)
			req->u.hello.version = (int)x;
		return 0;
	case PROTO_CMD_SET_VNQ:
		if (proto_get_ifname(args, ctx, true, req->u.set_vnq.ifname, err, errlen) < 0)
			return -1;
		r = proto_get_int(args, ctx, "n", 1, PROTO_MAX_QUEUES, &x, err, errlen);
		if (r < 0)
			return -1;
		if (r > 0) {
			snprintf(err, errlen, "%smissing field \"n\" (number of queues)", ctx);
			return -1;
		}
		req->u.set_vnq.n = (int)x;
		return 0;
	case PROTO_CMD_SET_VCPUS: {
		const char *m = NULL;
		r = proto_get_int(args, ctx, "n", 1, PROTO_MAX_VCPUS, &x, err, errlen);
		if (r < 0)
			return -1;
		if (r > 0) {
			snprintf(err, errlen, "%smissing field \"n\" (number of vCPUs)", ctx);
			return -1;
		}
		req->u.set_vcpus.n = (int)x;
		req->u.set_vcpus.method = PROTO_VCPUS_CPUSET;
		r = proto_get_str(args, ctx, "method", &m, err, errlen);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (strcmp(m, "cpuset") == 0) {
				req->u.set_vcpus.method = PROTO_VCPUS_CPUSET;
			} else if (strcmp(m, "hotplug") == 0) {
				req->u.set_vcpus.method = PROTO_VCPUS_HOTPLUG;
			} else {
				char q[40];
				proto_quote(q, sizeof(q), m, 24);
				snprintf(err, errlen,
					 "%sunknown method \"%s\" (expected \"cpuset\" or "
					 "\"hotplug\")",
					 ctx, q);
				return -1;
			}
		}
		return 0;
	}
	case PROTO_CMD_STATS:
		return proto_get_ifname(args, ctx, false, req->u.stats.ifname, err, errlen);
	case PROTO_CMD_RESTORE:
		return 0;
	case PROTO_CMD_COUNT:
		break;
	}
	snprintf(err, errlen, "internal error: command %d", (int)req->cmd);
	return -1;
}

static const char *const proto_request_keys[] = { "v", "id", "cmd", "args", NULL };

/* Load one JSON object from a line: size, NUL and syntax checks. */
static json_t *proto_load_object(const char *line, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (len + 1 > PROTO_MAX_MSG) {
		snprintf(err, errlen, "message of %zu bytes exceeds the limit of %d", len + 1,
			 PROTO_MAX_MSG);
		return NULL;
	}
	if (memchr(line, '\0', len)) {
		snprintf(err, errlen, "message contains a NUL byte");
		return NULL;
	}
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	if (i == len) {
		snprintf(err, errlen, "empty message");
		return NULL;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		char q[96];
		proto_quote(q, sizeof(q), jerr.text, 80);
		snprintf(err, errlen, "not valid JSON at byte %d: %s", jerr.position, q);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "message must be a JSON object, got %s",
			 proto_type_name(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

/* "v" must be PROTO_VERSION. */
static int proto_check_version(const json_t *root, char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, "v");

	if (!v) {
		snprintf(err, errlen, "missing field \"v\" (protocol version, %d)", PROTO_VERSION);
		return -1;
	}
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "v must be an integer, got %s", proto_type_name(v));
		return -1;
	}
	if (json_integer_value(v) != PROTO_VERSION) {
		snprintf(err, errlen, "unsupported protocol version %lld (this side speaks %d)",
			 (long long)json_integer_value(v), PROTO_VERSION);
		return -1;
	}
	return 0;
}

/* "id": 0..UINT32_MAX; absent or null leaves has_id false. */
static int proto_read_id(const json_t *root, bool *has_id, uint32_t *id, char *err, size_t errlen)
{
	const json_t *v = json_object_get(root, "id");

	*has_id = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX) {
		snprintf(err, errlen, "id must be an integer in 0..%u", (unsigned)UINT32_MAX);
		return -1;
	}
	*has_id = true;
	*id = (uint32_t)json_integer_value(v);
	return 0;
}

int proto_decode_request(const char *line, size_t len, struct proto_request *req, char *err,
			 size_t errlen)
{
	json_t *root;
	const json_t *cmd, *args;
	int rc = -1;

	memset(req, 0, sizeof(*req));
	root = proto_load_object(line, len, err, errlen);
	if (!root)
		return -1;
	/* The id first, so that even a bad request gets an answer it can match. */
	if (proto_read_id(root, &req->has_id, &req->id, err, errlen) < 0)
		goto out;
	if (proto_check_keys(root, "", proto_request_keys, err, errlen) < 0)
		goto out;
	if (proto_check_version(root, err, errlen) < 0)
		goto out;
	if (!req->has_id) {
		snprintf(err, errlen, "missing field \"id\"");
		goto out;
	}
	cmd = json_object_get(root, "cmd");
	if (!cmd) {
		snprintf(err, errlen, "missing field \"cmd\"");
		goto out;
	}
	if (!json_is_string(cmd)) {
		snprintf(err, errlen, "cmd must be a string, got %s", proto_type_name(cmd));
		goto out;
	}
	int c = proto_cmd_lookup(json_string_value(cmd));
	if (c < 0) {
		char q[40];
		proto_quote(q, sizeof(q), json_string_value(cmd), 24);
		snprintf(
			err, errlen,
			"unknown command \"%s\" (known: hello, set_vnq, set_vcpus, stats, restore)",
			q);
		goto out;
	}
	req->cmd = (enum proto_cmd)c;
	args = json_object_get(root, "args");
	if (args && !json_is_object(args)) {
		snprintf(err, errlen, "args must be an object, got %s", proto_type_name(args));
		goto out;
	}
	json_t *empty = NULL;
	if (!args)
		args = empty = json_object();
	rc = proto_decode_args(args, req, err, errlen);
	json_decref(empty);
out:
	json_decref(root);
	return rc;
}

/* Dump obj compactly plus '\n' into buf; -1 when it does not fit. */
static int proto_dump_line(json_t *obj, char *buf, size_t len)
{
	size_t cap = len < PROTO_MAX_MSG ? len : PROTO_MAX_MSG;
	size_t n = json_dumpb(obj, buf, cap, JSON_COMPACT);

	if (n == 0 || n + 1 > cap)
		return -1;
	buf[n] = '\n';
	if (n + 1 < len)
		buf[n + 1] = '\0';
	return (int)(n + 1);
}

static json_t *proto_reply_head(bool has_id, uint32_t id, bool ok)
{
	return json_pack("{s:i,s:o,s:b}", "v", PROTO_VERSION, "id",
			 has_id ? json_integer((json_int_t)id) : json_null(), "ok", ok);
}

int proto_encode_ok(char *buf, size_t len, bool has_id, uint32_t id, const json_t *result)
{
	json_t *obj = proto_reply_head(has_id, id, true);
	int n;

	if (!obj)
		return -1;
	json_object_set_new(obj, "result", result ? json_deep_copy(result) : json_object());
	n = proto_dump_line(obj, buf, len);
	json_decref(obj);
	return n;
}

int proto_encode_error(char *buf, size_t len, bool has_id, uint32_t id, const char *error)
{
	char q[256];
	json_t *obj = proto_reply_head(has_id, id, false);
	int n;

	if (!obj)
		return -1;
	proto_quote(q, sizeof(q), error, sizeof(q) - 8);
	json_object_set_new(obj, "error", json_string(q));
	n = proto_dump_line(obj, buf, len);
	json_decref(obj);
	return n;
}

int proto_encode_request(char *buf, size_t len, uint32_t id, const char *cmd, const json_t *args)
{
	json_t *obj =
		json_pack("{s:i,s:I,s:s}", "v", PROTO_VERSION, "id", (json_int_t)id, "cmd", cmd);
	int n;

	if (!obj)
		return -1;
	if (args)
		json_object_set_new(obj, "args", json_deep_copy(args));
	n = proto_dump_line(obj, buf, len);
	json_decref(obj);
	return n;
}

int proto_decode_reply(const char *line, size_t len, struct proto_reply *rep, char *err,
		       size_t errlen)
{
	json_t *root;
	const json_t *ok, *v;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	root = proto_load_object(line, len, err, errlen);
	if (!root)
		return -1;
	if (proto_read_id(root, &rep->has_id, &rep->id, err, errlen) < 0)
		goto out;
	if (proto_check_version(root, err, errlen) < 0)
		goto out;
	ok = json_object_get(root, "ok");
	if (!json_is_boolean(ok)) {
		snprintf(err, errlen, "reply: \"ok\" must be a boolean");
		goto out;
	}
	rep->ok = json_is_true(ok);
	if (rep->ok) {
		v = json_object_get(root, "result");
		if (v && !json_is_object(v)) {
			snprintf(err, errlen, "reply: result must be an object, got %s",
				 proto_type_name(v));
			goto out;
		}
		rep->result = v ? json_incref((json_t *)v) : json_object();
	} else {
		v = json_object_get(root, "error");
		if (!json_is_string(v)) {
			snprintf(err, errlen, "reply: error must be a string");
			goto out;
		}
		proto_quote(rep->error, sizeof(rep->error), json_string_value(v),
			    sizeof(rep->error) - 8);
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void proto_reply_clear(struct proto_reply *rep)
{
	json_decref(rep->result);
	rep->result = NULL;
}

/* ---- Line framing ---------------------------------------------------------- */

void proto_linebuf_init(struct proto_linebuf *lb)
{
	memset(lb, 0, sizeof(*lb));
}

/* Drop the lines already handed out. */
static void proto_linebuf_compact(struct proto_linebuf *lb)
{
	if (lb->consumed == 0)
		return;
	memmove(lb->buf, lb->buf + lb->consumed, lb->len - lb->consumed);
	lb->len -= lb->consumed;
	lb->consumed = 0;
}

char *proto_linebuf_space(struct proto_linebuf *lb)
{
	proto_linebuf_compact(lb);
	return lb->buf + lb->len;
}

size_t proto_linebuf_room(const struct proto_linebuf *lb)
{
	return PROTO_MAX_MSG - (lb->len - lb->consumed);
}

void proto_linebuf_commit(struct proto_linebuf *lb, size_t n)
{
	lb->len += n;
}

enum proto_line_result proto_linebuf_next(struct proto_linebuf *lb, char **line, size_t *linelen)
{
	char *nl;

	proto_linebuf_compact(lb);
	if (lb->discarding) {
		nl = memchr(lb->buf, '\n', lb->len);
		if (!nl) {
			lb->len = 0;
			return PROTO_LINE_NONE;
		}
		lb->consumed = (size_t)(nl - lb->buf) + 1;
		lb->discarding = false;
		proto_linebuf_compact(lb);
	}
	nl = memchr(lb->buf, '\n', lb->len);
	if (nl) {
		size_t n = (size_t)(nl - lb->buf);
		lb->consumed = n + 1;
		if (n > 0 && lb->buf[n - 1] == '\r')
			n--;
		lb->buf[n] = '\0';
		*line = lb->buf;
		*linelen = n;
		return PROTO_LINE_OK;
	}
	if (lb->len >= PROTO_MAX_MSG) {
		lb->len = 0;
		lb->discarding = true;
		return PROTO_LINE_TOO_LONG;
	}
	return PROTO_LINE_NONE;
}
