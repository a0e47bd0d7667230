/* parsers.c - fuzz target "parsers": untrusted bytes to every parser of outside input vspaced has, the first byte picking which. */
#include <jansson.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/agentlink.h"
#include "daemon/config.h"
#include "daemon/ctlsock.h"
#include "fuzz/fuzz.h"
#include "lib/cpuset.h"
#include "platform/haltpoll.h"
#include "platform/linux/kvmstat.h"
#include "platform/linux/procfs.h"
#include "platform/linux/qmp.h"
#include "platform/linux/qmpconn.h"
#include "platform/linux/qmpstats.h"

static void fuzz_tally(struct fuzz_count *c, bool parsed)
{
	if (parsed)
		c->parsed++;
	else
		c->refused++;
}

static json_t *fuzz_handler(void *arg, json_t *req, uid_t uid, char *err, size_t errlen)
{
	return json_pack("{s:O}", "echo", req);
}

/* QEMU's side of a QMP connection: the bytes through the client (as a
 * stream, with a query-stats awaited once it is ready), and each line, as
 * an answer, through the query-stats parsers. */
static void fuzz_qmp(const char *text, size_t len, struct fuzz_count *cnt)
{
	struct qmpstats_schema schema = { .ns_per_unit = { 1, 1000 } };
	struct qmpstats_reading rd;
	struct qmpconn c;
	char err[512];
	int sv[2];

	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		json_t *m = json_loadb(line, n, 0, NULL), *ret = json_object_get(m, "return");
		if (m) {
			/* a line is parsed when it is a schema or a reading */
			bool ok = qmpstats_parse_schema(ret ? ret : m, &schema, err, sizeof(err)) ==
				  QMPSTATS_SCHEMA_OK;
			schema.ns_per_unit[0] = schema.ns_per_unit[0] ? schema.ns_per_unit[0] : 1;
			schema.ns_per_unit[1] = schema.ns_per_unit[1] ? schema.ns_per_unit[1] : 1;
			ok |= qmpstats_parse_stats(ret ? ret : m, &schema, &rd, err, sizeof(err)) ==
			      0;
			fuzz_tally(cnt, ok);
		} else if (n > 0) {
			cnt->refused++;
		}
		json_decref(m);
		line += n + (nl ? 1 : 0);
	}
	if (len > (1 << 16) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	qmpconn_init(&c, "fuzz");
	qmpconn_attach(&c, sv[0]);
	if (write(sv[1], text, len) == (ssize_t)len) {
		shutdown(sv[1], SHUT_WR);
		for (int i = 0; i < 64 && c.fd >= 0; i++) {
			json_t *reply = NULL;
			enum qmpconn_rc rc = qmpconn_step(&c, &reply, err, sizeof(err));
			json_decref(reply);
			if (rc == QMPCONN_BROKEN || rc == QMPCONN_GARBAGE)
				break;
			if (qmpconn_can_send(&c)) {
				json_t *args = qmpstats_stats_args();
				qmpconn_send(&c, "query-stats", args, err, sizeof(err));
				json_decref(args);
			}
		}
	} else {
		qmpconn_close(&c);
	}
	qmpconn_free(&c); /* closes sv[0] when still open */
	close(sv[1]);
}

void fuzz_parsers(const uint8_t *data, size_t len, struct fuzz_count *c)
{
	char *text, err[512];

	if (len < 1 || len > (1 << 20))
		return;
	text = malloc(len);
	if (!text)
		return;
	memcpy(text, data + 1, len - 1);
	text[len - 1] = '\0'; /* parsers of text files get NUL-terminated text */
	switch (data[0]) {
	case 'c': {
		/* parsed: the request reached the handler (its echo came back) */
		struct ctlsock s = { .handle = fuzz_handler };
		char *reply = ctlsock_dispatch(&s, (const char *)data + 1, len - 1, 0);
		c->kind = "ctl";
		fuzz_tally(c, reply && strstr(reply, "\"echo\":") != NULL);
		free(reply);
		break;
	}
	case 'i': {
		struct vsd_config cfg;
		int rc = config_load_string(&cfg, text, "fuzz", err, sizeof(err));
		c->kind = "config";
		fuzz_tally(c, rc == 0);
		if (rc == 0)
			config_free(&cfg);
		break;
	}
	case 's': {
		struct vs_procstat *ps = malloc(sizeof(*ps));
		c->kind = "proc_stat";
		if (ps)
			fuzz_tally(c, procstat_parse(text, ps, err, sizeof(err)) == 0);
		free(ps);
		break;
	}
	case 't': {
		struct vs_taskstat st;
		char comm[32];
		c->kind = "task_stat";
		fuzz_tally(c, task_parse_stat(text, comm, sizeof(comm), &st) == 0);
		break;
	}
	case 'g': {
		char path[64];
		c->kind = "task_cgroup";
		fuzz_tally(c, task_parse_cgroup(text, "cpuset", path, sizeof(path)) == 0);
		fuzz_tally(c, task_parse_cgroup(text, "", path, sizeof(path)) == 0);
		break;
	}
	case 'n': {
		struct vs_irq_line *l = NULL;
		int cap = 0;
		c->kind = "interrupts";
		fuzz_tally(c, interrupts_parse(text, &l, &cap, err, sizeof(err)) >= 0);
		free(l);
		break;
	}
	case 'q': {
		int tids[64];
		c->kind = "qmp_cpus";
		fuzz_tally(c, qmp_parse_cpus(text, tids, 64, err, sizeof(err)) > 0);
		break;
	}
	case 'a': {
		struct vs_agent_addr a;
		c->kind = "agent_addr";
		fuzz_tally(c, vs_agent_parse(text, &a, err, sizeof(err)) == 0);
		break;
	}
	case 'h': {
		/* an agent's answer, read as a hello and as stats by an agent link */
		struct proto_reply rep;
		struct agentlink *l = calloc(1, sizeof(*l));
		int rc = l ? proto_decode_reply(text, len - 1, &rep, err, sizeof(err)) : -1;
		c->kind = "agent_reply";
		if (l)
			fuzz_tally(c, rc == 0);
		if (rc == 0) {
			struct agentlinks set = { .link = &l, .n = 1, .epfd = -1 };
			struct metrics_buf b = { 0 };
			if (rep.result) {
				agentlink_take_hello(l, rep.result);
				l->knob[AGENTLINK_VCPUS].have = 2;
				l->knob[AGENTLINK_VNQ].have = 2;
				agentlink_take_stats(l, rep.result, 1);
			}
			json_decref(agentlink_status(l, 2));
			agentlinks_metrics(&set, &b);
			metrics_buf_free(&b);
			json_decref(l->stats);
			proto_reply_clear(&rep);
		}
		free(l);
		break;
	}
	case 'k': {
		/* KVM debugfs counter files, one per NUL-separated chunk, fed as
		 * successive readings through the halt-poll accounting */
		struct vs_haltpoll_counter ctr = { 0 };
		c->kind = "kvm_counters";
		for (size_t off = 0; off < len - 1; off += strlen(text + off) + 1) {
			uint64_t v, d;
			struct vs_sample smp = { .busy_vcpu = 3.5 };
			int ok = kvmstat_parse_u64(text + off, &v) == 0;
			fuzz_tally(c, ok);
			if (ok && haltpoll_counter_update(&ctr, v, &d) == VS_HALTPOLL_DELTA)
				haltpoll_correct(&smp, haltpoll_cores(d, 0.1));
		}
		break;
	}
	case 'Q':
		c->kind = "qmp_stream";
		fuzz_qmp(text, len - 1, c);
		break;
	case 'm': {
		struct vs_cpuset s;
		c->kind = "cpuset";
		fuzz_tally(c, cpuset_parse_list(&s, text, err, sizeof(err)) == 0);
		fuzz_tally(c, cpuset_parse_mask(&s, text, err, sizeof(err)) == 0);
		break;
	}
	default:
		break;
	}
	free(text);
}
