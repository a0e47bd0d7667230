/* proto.h - the host<->guest agent protocol: versioned JSON lines, at most 4 KiB each. */
#ifndef VS_PROTO_PROTO_H
#define VS_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * Wire format (one JSON object per line, '\n'-terminated, UTF-8):
 *
 *   request  {"v":1,"id":7,"cmd":"set_vnq","args":{"ifname":"eth0","n":2}}
 *   reply    {"v":1,"id":7,"ok":true,"result":{...}}
 *            {"v":1,"id":7,"ok":false,"error":"set_vnq: n must be ..."}
 *
 * "v" is the protocol version (PROTO_VERSION); "id" an integer the host
 * chooses (0..2^32-1), echoed in the reply (null when the request was too
 * broken to read one). Commands and their args:
 *
 *   hello      {"version":1}            optional; the agent's identity and limits
 *   set_vnq    {"ifname":S,"n":N}       N queues (channels) on NIC S
 *   set_vcpus  {"n":N,"method":M}       active vCPUs 0..N-1; M "cpuset" (default)
 *                                       or "hotplug"
 *   stats      {"ifname":S}             optional filter; per-vCPU busy time,
 *                                       per-queue packets and bytes
 *   restore    {}                       put back every setting changed so far
 *                                       (the host leaves: vspaced on_exit=restore)
 *
 * A message, newline included, is at most PROTO_MAX_MSG bytes. Unknown
 * fields are errors (a typo never passes silently).
 */

/* Protocol version spoken by this code (requests and replies carry it). */
#define PROTO_VERSION 1
/* Largest message in bytes, including the terminating '\n'. */
#define PROTO_MAX_MSG 4096
/* Interface names: IFNAMSIZ (16) including the NUL. */
#define PROTO_IFNAME_MAX 16
/* Bounds the decoder enforces before any device is consulted; the agent then
 * checks against the real device maxima. */
#define PROTO_MAX_QUEUES 1024
#define PROTO_MAX_VCPUS	 1024

enum proto_cmd {
	PROTO_CMD_HELLO = 0,
	PROTO_CMD_SET_VNQ,
	PROTO_CMD_SET_VCPUS,
	PROTO_CMD_STATS,
	PROTO_CMD_RESTORE,
	PROTO_CMD_COUNT,
};

enum proto_vcpu_method {
	PROTO_VCPUS_CPUSET = 0, /* confine the application (cgroup or pids) */
	PROTO_VCPUS_HOTPLUG,	/* offline vCPUs >= n as well */
};

/* A decoded, validated request. */
struct proto_request {
	bool has_id;
	uint32_t id;
	enum proto_cmd cmd;
	union {
		struct {
			int version; /* the host's protocol version */
		} hello;
		struct {
			char ifname[PROTO_IFNAME_MAX];
			int n;
		} set_vnq;
		struct {
			int n;
			enum proto_vcpu_method method;
		} set_vcpus;
		struct {
			char ifname[PROTO_IFNAME_MAX]; /* "" = every NIC */
		} stats;
	} u;
};

/* A decoded reply (host side). result is a new reference (or NULL). */
struct proto_reply {
	bool has_id;
	uint32_t id;
	bool ok;
	char error[256];
	json_t *result;
};

/* ---- API for both sides ---------------------------------------------------- */

const char *proto_cmd_name(enum proto_cmd cmd);
/* PROTO_CMD_* for a name, or -1. */
int proto_cmd_lookup(const char *name);
const char *proto_vcpu_method_name(enum proto_vcpu_method m);
/* True when s is a usable Linux interface name (1..15 bytes, no '/', ':',
 * blanks or control characters, not "." or ".."). */
bool proto_ifname_valid(const char *s);

/* ---- API for the agent ------------------------------------------------------ */

/* Decode and validate one line (without its '\n'; len bytes, NULs inside
 * are an error). Returns 0, or -1 with a one-line reason in err; on -1,
 * req->has_id/id still say which id to answer when one could be read. */
int proto_decode_request(const char *line, size_t len, struct proto_request *req, char *err,
			 size_t errlen);
/* Encode a reply line (with '\n') into buf. result may be NULL (then {}).
 * Returns its length, or -1 when it does not fit (buf or PROTO_MAX_MSG). */
int proto_encode_ok(char *buf, size_t len, bool has_id, uint32_t id, const json_t *result);
int proto_encode_error(char *buf, size_t len, bool has_id, uint32_t id, const char *error);

/* ---- API for the host ------------------------------------------------------- */

/* Encode a request line (with '\n'). args may be NULL. Returns its length,
 * or -1 when it does not fit. */
int proto_encode_request(char *buf, size_t len, uint32_t id, const char *cmd, const json_t *args);
/* Decode a reply line. Returns 0 (reply filled; free with
 * proto_reply_clear), or -1 with a reason in err. */
int proto_decode_reply(const char *line, size_t len, struct proto_reply *rep, char *err,
		       size_t errlen);
void proto_reply_clear(struct proto_reply *rep);

/* ---- Line framing ----------------------------------------------------------- */

/* Splits a byte stream into lines of at most PROTO_MAX_MSG bytes. Read into
 * proto_linebuf_space() (at most proto_linebuf_room() bytes), commit, then
 * call proto_linebuf_next() until it returns PROTO_LINE_NONE. */
struct proto_linebuf {
	char buf[PROTO_MAX_MSG + 1]; /* + NUL after a returned line */
	size_t len;		     /* bytes held */
	size_t consumed;	     /* bytes of buf already returned as lines */
	bool discarding;	     /* inside an oversized line: drop to '\n' */
};

enum proto_line_result {
	PROTO_LINE_NONE = 0, /* need more bytes */
	PROTO_LINE_OK,	     /* *line (NUL-terminated, no '\n'), *linelen */
	PROTO_LINE_TOO_LONG, /* a message exceeded PROTO_MAX_MSG; it is dropped */
};

void proto_linebuf_init(struct proto_linebuf *lb);
char *proto_linebuf_space(struct proto_linebuf *lb);
size_t proto_linebuf_room(const struct proto_linebuf *lb);
void proto_linebuf_commit(struct proto_linebuf *lb, size_t n);
enum proto_line_result proto_linebuf_next(struct proto_linebuf *lb, char **line, size_t *linelen);

#endif
