/* test_qmpstats.c - KVM halt-polling counters over QMP query-stats: reply parsing, the non-blocking connection, and the platform's accounting against a scripted QEMU (counters rising and going down, missing stats, no query-stats, garbage, slow and silent replies, the source choice, one connection shared with discovery). */
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/config.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/linux.h"
#include "platform/linux/qmpconn.h"
#include "platform/linux/qmpstats.h"
#include "refresh.h"
#include "testutil.h"
#include "scratch.h"

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-6;
}

/* ---- Parsing ------------------------------------------------------------------------------ */

/* QEMU 7.2's answers on this machine (2-vCPU KVM VM), trimmed to the
 * statistics that matter plus neighbours. */
#define SCHEMA_72                                                                                  \
	"[{\"provider\": \"kvm\", \"target\": \"vcpu\", \"stats\": ["                              \
	"{\"name\": \"halt_poll_fail_hist\", \"unit\": \"seconds\", \"base\": 10, \"exponent\": "  \
	"-9, \"type\": \"log2-histogram\"}, "                                                      \
	"{\"name\": \"halt_poll_fail_ns\", \"unit\": \"seconds\", \"base\": 10, \"exponent\": "    \
	"-9, "                                                                                     \
	"\"type\": \"cumulative\"}, "                                                              \
	"{\"name\": \"halt_poll_success_ns\", \"unit\": \"seconds\", \"base\": 10, \"exponent\": " \
	"-9, \"type\": \"cumulative\"}, "                                                          \
	"{\"name\": \"halt_poll_invalid\", \"exponent\": 0, \"type\": \"cumulative\"}]}, "         \
	"{\"provider\": \"kvm\", \"target\": \"vm\", \"stats\": []}]"

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		printf("# bad test JSON: %s\n", je.text);
	assert_non_null(j);
	return j;
}

static void test_parse_schema(void **state)
{
	struct qmpstats_schema s;
	char err[512];
	json_t *j;

	j = load(SCHEMA_72);
	assert_int_equal(qmpstats_parse_schema(j, &s, err, sizeof(err)), QMPSTATS_SCHEMA_OK);
	assert_true(s.ns_per_unit[0] == 1 && s.ns_per_unit[1] == 1);
	json_decref(j);

	/* microseconds: 1000 ns per unit; plain seconds */
	j = load("[{\"provider\":\"kvm\",\"target\":\"vcpu\",\"stats\":[{\"name\":"
		 "\"halt_poll_success_ns\",\"unit\":\"seconds\",\"base\":10,\"exponent\":-6,"
		 "\"type\":\"cumulative\"},{\"name\":\"halt_poll_fail_ns\",\"unit\":\"seconds\","
		 "\"exponent\":0,\"type\":\"cumulative\"}]}]");
	assert_int_equal(qmpstats_parse_schema(j, &s, err, sizeof(err)), QMPSTATS_SCHEMA_OK);
	assert_true(s.ns_per_unit[0] == 1000 && s.ns_per_unit[1] == 1000000000);
	json_decref(j);

	/* a TCG guest: no kvm statistics at all */
	j = load("[]");
	assert_int_equal(qmpstats_parse_schema(j, &s, err, sizeof(err)), QMPSTATS_SCHEMA_NO_KVM);
	assert_non_null(strstr(err, "no KVM vCPU statistics"));
	json_decref(j);
	j = load("[{\"provider\":\"kvm\",\"target\":\"vm\",\"stats\":[]}]");
	assert_int_equal(qmpstats_parse_schema(j, &s, err, sizeof(err)), QMPSTATS_SCHEMA_NO_KVM);
	json_decref(j);

	/* a kernel without the counters */
	j = load("[{\"provider\":\"kvm\",\"target\":\"vcpu\",\"stats\":[{\"name\":"
		 "\"halt_poll_success_ns\",\"unit\":\"seconds\",\"base\":10,\"exponent\":-9,"
		 "\"type\":\"cumulative\"}]}]");
	assert_int_equal(qmpstats_parse_schema(j, &s, err, sizeof(err)),
			 QMPSTATS_SCHEMA_NO_COUNTER);
	assert_non_null(strstr(err, "no halt_poll_fail_ns"));
	json_decref(j);

	/* units and types that are not a nanosecond counter */
	static const char *const bad[] = {
		"{}",
		"[{\"provider\":\"kvm\",\"target\":\"vcpu\"}]",
		"[{\"provider\":\"kvm\",\"target\":\"vcpu\",\"stats\":[{\"name\":"
		"\"halt_poll_success_ns\",\"unit\":\"seconds\",\"base\":10,\"exponent\":-9,"
		"\"type\":"
		"\"instant\"},{\"name\":\"halt_poll_fail_ns\"}]}]",
		"[{\"provider\":\"kvm\",\"target\":\"vcpu\",\"stats\":[{\"name\":"
		"\"halt_poll_success_ns\",\"unit\":\"cycles\",\"exponent\":0,\"type\":"
		"\"cumulative\"},{\"name\":\"halt_poll_fail_ns\"}]}]",
		"[{\"provider\":\"kvm\",\"target\":\"vcpu\",\"stats\":[{\"name\":"
		"\"halt_poll_success_ns\",\"unit\":\"seconds\",\"base\":2,\"exponent\":-9,\"type\":"
		"\"cumulative\"},{\"name\":\"halt_poll_fail_ns\"}]}]",
		"[{\"provider\":\"kvm\",\"target\":\"vcpu\",\"stats\":[{\"name\":"
		"\"halt_poll_success_ns\",\"unit\":\"seconds\",\"base\":10,\"exponent\":-12,"
		"\"type\":\"cumulative\"},{\"name\":\"halt_poll_fail_ns\"}]}]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = load(bad[i]);
		err[0] = '\0';
		if (qmpstats_parse_schema(j, &s, err, sizeof(err)) != QMPSTATS_SCHEMA_BAD) {
			printf("# case %zu accepted\n", i);
			fail();
		}
		assert_true(err[0] != '\0');
		json_decref(j);
	}
}

static void test_parse_stats(void **state)
{
	struct qmpstats_schema ns = { .ns_per_unit = { 1, 1 } },
			       us = { .ns_per_unit = { 1000, 1 } };
	struct qmpstats_reading r, r2;
	char err[512];
	json_t *j;

	/* QEMU 7.2's answer (vCPUs in reverse order) */
	j = load(
		"[{\"provider\": \"kvm\", \"stats\": [{\"name\": \"halt_poll_fail_ns\", \"value\": "
		"1200}, {\"name\": \"halt_poll_success_ns\", \"value\": 73400000000}], "
		"\"qom-path\": \"/machine/unattached/device[2]\"}, {\"provider\": \"kvm\", "
		"\"stats\": [{\"name\": \"halt_poll_fail_ns\", \"value\": 5}, {\"name\": "
		"\"halt_poll_success_ns\", \"value\": 7}], \"qom-path\": "
		"\"/machine/unattached/device[0]\"}]");
	assert_int_equal(qmpstats_parse_stats(j, &ns, &r, err, sizeof(err)), 0);
	assert_true(r.total_ns == 73400001212ULL);
	assert_int_equal(r.n_vcpus, 2);
	assert_int_equal(qmpstats_parse_stats(j, &us, &r2, err, sizeof(err)), 0);
	assert_true(r2.total_ns == 73400000000000ULL + 1200 + 7000 + 5);
	assert_true(r2.vcpu_key == r.vcpu_key);
	json_decref(j);
	/* the same vCPUs in another order: the same key; another vCPU: another */
	j = load(
		"[{\"provider\":\"kvm\",\"qom-path\":\"/machine/unattached/device[0]\",\"stats\":"
		"[{\"name\":\"halt_poll_success_ns\",\"value\":0},{\"name\":"
		"\"halt_poll_fail_ns\",\"value\":0}]},{\"provider\":\"kvm\",\"qom-path\":"
		"\"/machine/unattached/device[2]\",\"stats\":[{\"name\":\"halt_poll_success_ns\","
		"\"value\":0},{\"name\":\"halt_poll_fail_ns\",\"value\":0}]},{\"provider\":\"xen\","
		"\"stats\":[]}]");
	assert_int_equal(qmpstats_parse_stats(j, &ns, &r2, err, sizeof(err)), 0);
	assert_true(r2.vcpu_key == r.vcpu_key && r2.total_ns == 0);
	json_decref(j);
	j = load("[{\"provider\":\"kvm\",\"qom-path\":\"/machine/unattached/device[1]\",\"stats\":"
		 "[{\"name\":\"halt_poll_success_ns\",\"value\":0},{\"name\":"
		 "\"halt_poll_fail_ns\",\"value\":0}]}]");
	assert_int_equal(qmpstats_parse_stats(j, &ns, &r2, err, sizeof(err)), 0);
	assert_true(r2.vcpu_key != r.vcpu_key && r2.n_vcpus == 1);
	json_decref(j);

	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "{}", "not a list" },
		{ "[]", "no vCPU statistics" },
		{ "[{\"provider\":\"xen\",\"stats\":[]}]", "no vCPU statistics" },
		{ "[3]", "entry 0 is not a statistics result" },
		{ "[{\"provider\":\"kvm\",\"qom-path\":\"/cpu0\"}]",
		  "vCPU /cpu0 has no stats list" },
		{ "[{\"provider\":\"kvm\",\"qom-path\":\"/cpu0\",\"stats\":[{\"name\":"
		  "\"halt_poll_success_ns\",\"value\":1}]}]",
		  "vCPU /cpu0: halt_poll_fail_ns is missing" },
		{ "[{\"provider\":\"kvm\",\"stats\":[{\"name\":\"halt_poll_success_ns\",\"value\":-"
		  "1},"
		  "{\"name\":\"halt_poll_fail_ns\",\"value\":1}]}]",
		  "vCPU entry 0: halt_poll_success_ns is not a counter" },
		{ "[{\"provider\":\"kvm\",\"stats\":[{\"name\":\"halt_poll_success_ns\",\"value\":"
		  "1.5},"
		  "{\"name\":\"halt_poll_fail_ns\",\"value\":1}]}]",
		  "is not a counter" },
		{ "[{\"provider\":\"kvm\",\"stats\":[{\"name\":\"halt_poll_success_ns\",\"value\":["
		  "1,2]},"
		  "{\"name\":\"halt_poll_fail_ns\",\"value\":1}]}]",
		  "is not a counter" },
		{ "[{\"provider\":\"kvm\",\"stats\":[{\"name\":\"halt_poll_success_ns\",\"value\":"
		  "\"12\"},{\"name\":\"halt_poll_fail_ns\",\"value\":1}]}]",
		  "is not a counter" },
		{ "[{\"provider\":\"kvm\",\"stats\":[{\"name\":\"halt_poll_success_ns\",\"value\":"
		  "9223372036854775807},{\"name\":\"halt_poll_fail_ns\",\"value\":"
		  "9223372036854775807}]},{\"provider\":\"kvm\",\"stats\":[{\"name\":"
		  "\"halt_poll_success_ns\",\"value\":9223372036854775807},{\"name\":"
		  "\"halt_poll_fail_ns\",\"value\":9223372036854775807}]}]",
		  "overflow 64 bits" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = load(bad[i].text);
		r.total_ns = 42;
		if (qmpstats_parse_stats(j, &ns, &r, err, sizeof(err)) != -1 ||
		    !strstr(err, bad[i].want)) {
			printf("# case %zu: \"%s\", want \"%s\"\n", i, err, bad[i].want);
			fail();
		}
		assert_true(r.total_ns == 42); /* untouched */
		json_decref(j);
	}
	/* a value in microseconds that does not fit as nanoseconds */
	j = load("[{\"provider\":\"kvm\",\"stats\":[{\"name\":\"halt_poll_success_ns\",\"value\":"
		 "9223372036854775807},{\"name\":\"halt_poll_fail_ns\",\"value\":0}]}]");
	assert_int_equal(qmpstats_parse_stats(j, &us, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "overflows 64 bits of nanoseconds"));
	json_decref(j);
	/* the requests */
	j = qmpstats_stats_args();
	{
		char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		assert_string_equal(t, "{\"providers\":[{\"names\":[\"halt_poll_success_ns\","
				       "\"halt_poll_fail_ns\"],\"provider\":\"kvm\"}],\"target\":"
				       "\"vcpu\"}");
		free(t);
	}
	json_decref(j);
}

/* ---- The connection, QEMU's side through a socketpair ------------------------------------- */

static void put(int fd, const char *text)
{
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

/* The next line the client sent. */
static json_t *got(int fd)
{
	char buf[1024];
	size_t n = 0;

	while (n + 1 < sizeof(buf)) {
		ssize_t k = read(fd, buf + n, 1);
		assert_true(k == 1);
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return load(buf);
}

static enum qmpconn_rc step(struct qmpconn *c, json_t **reply, char *err, size_t errlen)
{
	*reply = NULL;
	return qmpconn_step(c, reply, err, errlen);
}

static void test_conn(void **state)
{
	struct qmpconn c;
	int sv[2];
	json_t *m, *reply;
	char err[512];
	uint64_t id;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	qmpconn_init(&c, "/run/vm.qmp");
	qmpconn_attach(&c, sv[0]);
	assert_false(qmpconn_can_send(&c));
	assert_int_equal(step(&c, &reply, err, sizeof(err)), QMPCONN_AGAIN); /* nothing yet */
	/* the greeting in two pieces, then the capabilities */
	put(sv[1], "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, ");
	assert_int_equal(step(&c, &reply, err, sizeof(err)), QMPCONN_AGAIN);
	put(sv[1], "\"major\": 7}}, \"capabilities\": [\"oob\"]}}\r\n");
	assert_int_equal(step(&c, &reply, err, sizeof(err)), QMPCONN_AGAIN);
	assert_string_equal(c.version, "7.2.22");
	assert_int_equal(c.state, QMPCONN_CAPS);
	m = got(sv[1]);
	assert_string_equal(json_string_value(json_object_get(m, "execute")), "qmp_capabilities");
	json_decref(m);
	put(sv[1], "{\"return\": {}, \"id\": \"vspace-caps\"}\r\n");
	assert_int_equal(step(&c, &reply, err, sizeof(err)), QMPCONN_AGAIN);
	assert_true(qmpconn_can_send(&c));

	/* a command, an event before its answer */
	m = qmpstats_stats_args();
	id = qmpconn_send(&c, "query-stats", m, err, sizeof(err));
	json_decref(m);
	assert_true(id > 0);
	assert_false(qmpconn_can_send(&c)); /* one at a time */
	assert_int_equal(qmpconn_send(&c, "query-stats", NULL, err, sizeof(err)), 0);
	m = got(sv[1]);
	assert_string_equal(json_string_value(json_object_get(m, "execute")), "query-stats");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(m, "arguments"), "target")),
		"vcpu");
	{
		char line[128];
		snprintf(line, sizeof(line),
			 "{\"event\": \"RESUME\", \"timestamp\": {}}\r\n{\"return\": [], "
			 "\"id\": \"%s\"}\r\n",
			 json_string_value(json_object_get(m, "id")));
		put(sv[1], line);
	}
	json_decref(m);
	assert_int_equal(step(&c, &reply, err, sizeof(err)), QMPCONN_REPLY);
	assert_true(json_is_array(json_object_get(reply, "return")));
	json_decref(reply);
	assert_true(qmpconn_can_send(&c));

	/* an abandoned command: its late answer is dropped, and only then can the
	 * next one go out */
	id = qmpconn_send(&c, "query-stats", NULL, err, sizeof(err));
	assert_true(id > 0);
	json_decref(got(sv[1]));
	qmpconn_abandon(&c);
	assert_int_equal(step(&c, &reply, err, sizeof(err)), QMPCONN_AGAIN);
	assert_false(qmpconn_can_send(&c));
	{
		char line[128];
		/* an answer to some other id first: not ours */
		snprintf(line, sizeof(line),
			 "{\"return\": {}, \"id\": \"other\"}\n{\"return\": [], \"id\": "
			 "\"vspace-%llu\"}\n",
			 (unsigned long long)id);
		put(sv[1], line);
	}
	assert_int_equal(step(&c, &reply, err, sizeof(err)), QMPCONN_AGAIN);
	assert_null(reply);
	assert_true(c.dropped == 2);
	assert_true(qmpconn_can_send(&c));

	/* an error answer is an answer */
	id = qmpconn_send(&c, "query-stats", NULL, err, sizeof(err));
	json_decref(got(sv[1]));
	put(sv[1], "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
		   "query-stats has not been found\"}}\n"); /* no id: taken as the answer */
	assert_int_equal(step(&c, &reply, err, sizeof(err)), QMPCONN_REPLY);
	{
		char what[200], cls[32];
		assert_true(qmpconn_error(reply, what, sizeof(what), cls, sizeof(cls)));
		assert_string_equal(cls, "CommandNotFound");
		assert_string_equal(what,
				    "CommandNotFound: The command query-stats has not been found");
	}
	json_decref(reply);

	/* garbage: named, and the connection is closed */
	qmpconn_send(&c, "query-stats", NULL, err, sizeof(err));
	json_decref(got(sv[1]));
	put(sv[1], "this is not json\n");
	assert_int_equal(step(&c, &reply, err, sizeof(err)), QMPCONN_GARBAGE);
	assert_non_null(strstr(err, "QMP socket /run/vm.qmp: malformed QMP message \"this is not "
				    "json\""));
	assert_int_equal(c.fd, -1);
	assert_int_equal(c.state, QMPCONN_CLOSED);
	close(sv[1]);

	/* QEMU goes away */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	qmpconn_attach(&c, sv[0]);
	close(sv[1]);
	assert_int_equal(step(&c, &reply, err, sizeof(err)), QMPCONN_BROKEN);
	assert_non_null(strstr(err, "QEMU closed the connection"));

	/* not a QMP monitor (an HMP one says hello in text) */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	qmpconn_attach(&c, sv[0]);
	put(sv[1], "{\"hello\": 1}\n");
	assert_int_equal(step(&c, &reply, err, sizeof(err)), QMPCONN_GARBAGE);
	assert_non_null(strstr(err, "instead of QEMU's greeting"));
	close(sv[1]);

	/* a line without end, longer than any answer */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	qmpconn_attach(&c, sv[0]);
	{
		char *big = malloc(65536);
		enum qmpconn_rc rc = QMPCONN_AGAIN;
		assert_non_null(big);
		memset(big, 'x', 65536);
		for (int i = 0; i < 64 && rc == QMPCONN_AGAIN; i++) {
			size_t off = 0;
			while (off < 65536) {
				ssize_t k = write(sv[1], big + off, 65536 - off);
				if (k <= 0)
					break;
				off += (size_t)k;
			}
			rc = step(&c, &reply, err, sizeof(err));
		}
		free(big);
		assert_int_equal(rc, QMPCONN_GARBAGE);
		assert_non_null(strstr(err, "longer than"));
	}
	close(sv[1]);
	/* nobody listening: named */
	qmpconn_free(&c);
	qmpconn_init(&c, "/tmp/vsq-no-such-dir/qmp.sock");
	assert_int_equal(qmpconn_open(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "QMP socket /tmp/vsq-no-such-dir/qmp.sock: No such file"));
	qmpconn_free(&c);
}

/* ---- A scripted QEMU on a Unix socket ------------------------------------------------------- */

enum { C_CAPS = 0, C_SCHEMA, C_STATS, C_CPUS, C_OTHER, C_N };

struct fqmp {
	char path[128];
	int lfd, client, stop[2];
	pthread_t th;
	pthread_mutex_t mu;
	char in[65536];
	size_t len;
	/* what it answers (under mu) */
	char version[16]; /* "7.2.0" */
	int n_vcpus;
	uint64_t success[8], fail[8];
	int tids[8];	 /* query-cpus-fast */
	bool no_stats;	 /* CommandNotFound for query-stats and the schemas (QEMU < 7.1) */
	bool tcg;	 /* no KVM statistics in the schema */
	bool missing;	 /* vCPU 1's halt_poll_fail_ns left out */
	bool garbage;	 /* query-stats answered with a line that is not JSON */
	bool error;	 /* query-stats answered with a GenericError */
	int delay_ms;	 /* before answering query-stats */
	bool silent;	 /* query-stats never answered */
	bool hang_up;	 /* the connection closed on query-stats */
	bool greet_late; /* no greeting until greet is set */
	bool greet;
	/* what happened */
	int accepted, closed, cmds[C_N];
};

static void fq_lock(struct fqmp *f)
{
	pthread_mutex_lock(&f->mu);
}

static void fq_unlock(struct fqmp *f)
{
	pthread_mutex_unlock(&f->mu);
}

static void fq_send(struct fqmp *f, json_t *m, json_t *id)
{
	char *t;

	if (id)
		json_object_set(m, "id", id);
	t = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	if (t) {
		size_t n = strlen(t);
		if (write(f->client, t, n) != (ssize_t)n || write(f->client, "\r\n", 2) != 2) {
			/* the client left */
		}
		free(t);
	}
}

static json_t *fq_stats(struct fqmp *f)
{
	json_t *ret = json_array();

	for (int i = f->n_vcpus - 1; i >= 0; i--) { /* QEMU lists them last first */
		char path[64];
		json_t *st = json_array();
		snprintf(path, sizeof(path), "/machine/unattached/device[%d]", i);
		if (!(f->missing && i == 1))
			json_array_append_new(st,
					      json_pack("{s:s,s:I}", "name", "halt_poll_fail_ns",
							"value", (json_int_t)f->fail[i]));
		json_array_append_new(st, json_pack("{s:s,s:I}", "name", "halt_poll_success_ns",
						    "value", (json_int_t)f->success[i]));
		json_array_append_new(ret, json_pack("{s:s,s:o,s:s}", "provider", "kvm", "stats",
						     st, "qom-path", path));
	}
	return json_pack("{s:o}", "return", ret);
}

static json_t *fq_not_found(const char *cmd)
{
	char desc[96];
	snprintf(desc, sizeof(desc), "The command %s has not been found", cmd);
	return json_pack("{s:{s:s,s:s}}", "error", "class", "CommandNotFound", "desc", desc);
}

/* One command from the client. */
static void fq_command(struct fqmp *f, const char *line)
{
	json_t *req = json_loads(line, 0, NULL), *id = json_object_get(req, "id");
	const char *cmd = json_string_value(json_object_get(req, "execute"));
	int delay = 0;

	if (!cmd) {
		json_decref(req);
		return;
	}
	fq_lock(f);
	if (!strcmp(cmd, "qmp_capabilities")) {
		f->cmds[C_CAPS]++;
		fq_send(f, json_pack("{s:{}}", "return"), id);
	} else if (!strcmp(cmd, "query-stats-schemas")) {
		f->cmds[C_SCHEMA]++;
		if (f->no_stats)
			fq_send(f, fq_not_found(cmd), id);
		else
			fq_send(f, json_pack("{s:o}", "return", load(f->tcg ? "[]" : SCHEMA_72)),
				id);
	} else if (!strcmp(cmd, "query-stats")) {
		f->cmds[C_STATS]++;
		delay = f->delay_ms;
		if (delay > 0) {
			fq_unlock(f);
			usleep((useconds_t)delay * 1000);
			fq_lock(f);
		}
		if (f->no_stats)
			fq_send(f, fq_not_found(cmd), id);
		else if (f->hang_up) {
			close(f->client);
			f->client = -1;
			f->closed++;
		} else if (f->silent)
			;
		else if (f->garbage) {
			if (write(f->client, "Error: this is not JSON\r\n", 25) != 25) {
			}
		} else if (f->error)
			fq_send(f,
				json_pack("{s:{s:s,s:s}}", "error", "class", "GenericError", "desc",
					  "stats are not available right now"),
				id);
		else
			fq_send(f, fq_stats(f), id);
	} else if (!strcmp(cmd, "query-cpus-fast")) {
		json_t *ret = json_array();
		f->cmds[C_CPUS]++;
		for (int i = 0; i < f->n_vcpus; i++)
			json_array_append_new(ret, json_pack("{s:i,s:i,s:s}", "cpu-index", i,
							     "thread-id", f->tids[i], "target",
							     "x86_64"));
		fq_send(f, json_pack("{s:o}", "return", ret), id);
	} else {
		f->cmds[C_OTHER]++;
		fq_send(f, fq_not_found(cmd), id);
	}
	fq_unlock(f);
	json_decref(req);
}

static void fq_greet(struct fqmp *f)
{
	char g[200];
	int maj = 0, min = 0, mic = 0;

	sscanf(f->version, "%d.%d.%d", &maj, &min, &mic);
	snprintf(g, sizeof(g),
		 "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": %d, \"minor\": %d, \"major\": "
		 "%d}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n",
		 mic, min, maj);
	if (write(f->client, g, strlen(g)) < 0) {
	}
}

/* QEMU serves one client at a time: others wait in the backlog. */
static void *fq_serve(void *arg)
{
	struct fqmp *f = arg;
	bool greeted = false;

	for (;;) {
		struct pollfd p[2] = { { .fd = f->stop[0], .events = POLLIN },
				       { .fd = f->client >= 0 ? f->client : f->lfd,
					 .events = POLLIN } };
		if (poll(p, 2, 10) < 0)
			continue;
		if (p[0].revents)
			break;
		fq_lock(f);
		if (f->client >= 0 && !greeted && (!f->greet_late || f->greet)) {
			fq_greet(f);
			greeted = true;
		}
		fq_unlock(f);
		if (!p[1].revents)
			continue;
		if (f->client < 0) {
			int c = accept(f->lfd, NULL, NULL);
			if (c < 0)
				continue;
			fq_lock(f);
			f->client = c;
			f->accepted++;
			f->len = 0;
			greeted = false;
			if (!f->greet_late || f->greet) {
				fq_greet(f);
				greeted = true;
			}
			fq_unlock(f);
			continue;
		}
		{
			ssize_t k = read(f->client, f->in + f->len, sizeof(f->in) - f->len - 1);
			char *nl;
			if (k <= 0) {
				fq_lock(f);
				close(f->client);
				f->client = -1;
				f->closed++;
				fq_unlock(f);
				continue;
			}
			f->len += (size_t)k;
			f->in[f->len] = '\0';
			while (f->client >= 0 && (nl = strchr(f->in, '\n')) != NULL) {
				*nl = '\0';
				fq_command(f, f->in);
				memmove(f->in, nl + 1, f->len - (size_t)(nl + 1 - f->in) + 1);
				f->len -= (size_t)(nl + 1 - f->in);
			}
		}
	}
	return NULL;
}

static void fq_start(struct fqmp *f, const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	snprintf(f->path, sizeof(f->path), "%s/qmp.sock", dir);
	str_copy(f->version, "7.2.0", sizeof(f->version));
	f->n_vcpus = 2;
	f->client = -1;
	str_copy(sa.sun_path, f->path, sizeof(sa.sun_path));
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pipe(f->stop), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fq_serve, f), 0);
}

static void fq_stop(struct fqmp *f)
{
	if (f->stop[1] <= 0)
		return;
	if (write(f->stop[1], "x", 1) != 1) {
	}
	pthread_join(f->th, NULL);
	close(f->stop[0]);
	close(f->stop[1]);
	f->stop[1] = 0;
	if (f->client >= 0)
		close(f->client);
	f->client = -1;
	if (f->lfd >= 0)
		close(f->lfd);
	f->lfd = -1;
	unlink(f->path);
}

/* Counters of vCPU i (both halves). */
static void fq_set(struct fqmp *f, int i, uint64_t success, uint64_t fail)
{
	fq_lock(f);
	f->success[i] = success;
	f->fail[i] = fail;
	fq_unlock(f);
}

static int fq_get(struct fqmp *f, const int *field)
{
	int v;
	fq_lock(f);
	v = *field;
	fq_unlock(f);
	return v;
}

/* ---- The platform over several periods (scratch copy of synth-b) ------------------------------ */

/* The running test's fake QEMU, stopped by the teardown even when an
 * assertion ends the test early. */
static struct fqmp *cleanup_fq;

static int teardown(void **state)
{
	if (cleanup_fq)
		fq_stop(cleanup_fq);
	cleanup_fq = NULL;
	return scratch_remove();
}

struct bed {
	char tmp[64], root[128];
	struct fqmp fq;
	struct vsd_config cfg;
	struct vs_linux *lx;
	struct vs_controller c;
	double now_s;
	int k;
};

static double bed_clock(void *arg)
{
	return ((struct bed *)arg)->now_s;
}

/* proc/stat after k periods of 1 s: every cpu busy 60 of 100 ticks each. */
static void bed_stat(struct bed *b, int k)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/stat", b->root);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "cpu 0 0 0 0 0 0 0 0 0 0\n");
	for (int c = 0; c < 20; c++)
		fprintf(f, "cpu%d %d 0 %d %d 0 0 0 0 0 0\n", c, 100000 + 50 * k, 20000 + 10 * k,
			900000 + 40 * k);
	fprintf(f, "intr 0\nctxt 1\nbtime 1700000000\n");
	fclose(f);
}

/* The bed's set-up before the platform opens. */
struct bed_opts {
	const char *host;  /* extra [host] lines */
	bool keep_debugfs; /* leave synth-b's KVM debugfs directories in place */
	bool no_qmp;	   /* no qmp= for the workload */
	bool unnamed;	   /* QEMU's vCPU threads without names (query-cpus-fast needed) */
	bool greet_late;   /* the fake QEMU greets only when told */
	bool no_stats;	   /* the fake QEMU has no query-stats */
	bool tcg;	   /* the fake QEMU's guest has no KVM statistics */
	const char *version;
};

static void bed_open(struct bed *b, const struct bed_opts *o)
{
	char conf[1024], err[512];
	struct vs_linux_config lc;
	struct vs_policy pol;

	memset(b, 0, sizeof(*b));
	str_copy(b->tmp, "/tmp/vsq-qmpstats-XXXXXX", sizeof(b->tmp));
	assert_non_null(mkdtemp(b->tmp));
	str_copy(cleanup_dir, b->tmp, sizeof(cleanup_dir));
	snprintf(b->root, sizeof(b->root), "%s/root", b->tmp);
	assert_int_equal(sh("cp -a tests/fixtures/synth-b/root %s/root", b->tmp), 0);
	if (!o->keep_debugfs)
		assert_int_equal(sh("rm -rf %s/sys/kernel/debug/kvm", b->root), 0);
	if (o->unnamed)
		assert_int_equal(sh("sed -i 's|(CPU [0-9]*/KVM)|(qemu-system-x86)|' "
				    "%s/proc/4000/task/*/stat",
				    b->root),
				 0);
	fq_start(&b->fq, b->tmp);
	cleanup_fq = &b->fq;
	b->fq.greet_late = o->greet_late;
	b->fq.no_stats = o->no_stats;
	b->fq.tcg = o->tcg;
	if (o->version)
		str_copy(b->fq.version, o->version, sizeof(b->fq.version));
	for (int i = 0; i < 8; i++)
		b->fq.tids[i] = 4002 + i;
	snprintf(conf, sizeof(conf),
		 "[host]\ncores=2-19\nnic=ens1f0\npolicy=static-iso:9:9\ncontrol_socket=off\n"
		 "metrics_listen=off\n%s\n[workload \"vm\"]\nslo_p95_us=1000\n"
		 "qemu_pidfile=/run/vm.pid\n%s%s\n",
		 o->host ? o->host : "", o->no_qmp ? "" : "qmp=", o->no_qmp ? "" : b->fq.path);
	if (config_load_string(&b->cfg, conf, "test.conf", err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		fail();
	}
	bed_stat(b, 0);
	b->now_s = 500.0;
	config_linux(&b->cfg, b->root, true, &lc);
	lc.clock_s = bed_clock;
	lc.clock_arg = b;
	if (linuxplat_open(&b->lx, &lc, err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		fail();
	}
	assert_int_equal(
		policy_lookup(b->cfg.policy, cpuset_count(&b->cfg.managed), &pol, err, sizeof(err)),
		0);
	assert_int_equal(controller_init(&b->c, &pol, &b->cfg.params, linuxplat_topology(b->lx),
					 linuxplat_platform(b->lx), err, sizeof(err)),
			 0);
	plat_refresh(b->lx, &b->c, 1e9);
	assert_int_equal(controller_start(&b->c), 0);
}

/* One period of 1 s. Returns the sample the controller saw; *h what the
 * platform reports; *wall_s (may be NULL) how long the step took. */
static struct vs_sample bed_step_t(struct bed *b, struct vs_linux_haltpoll *h, double *wall_s)
{
	struct timespec t0, t1;

	b->k++;
	bed_stat(b, b->k);
	b->now_s += 1.0;
	plat_refresh(b->lx, &b->c, 1e9 + b->k);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(controller_step(&b->c), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (wall_s)
		*wall_s =
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	assert_int_equal(linuxplat_haltpoll(b->lx, "vm", h), 0);
	if (getenv("VS_TEST_VERBOSE"))
		printf("# period %d: %s via %s applied %d busy %.3f poll %.3f (%s)\n", b->k,
		       h->state, h->via, h->applied, h->raw_busy_vcpu, h->halt_poll, h->note);
	return b->c.wl[0].last;
}

static struct vs_sample bed_step(struct bed *b, struct vs_linux_haltpoll *h)
{
	return bed_step_t(b, h, NULL);
}

static void bed_close(struct bed *b)
{
	controller_free(&b->c);
	linuxplat_close(b->lx);
	config_free(&b->cfg);
	fq_stop(&b->fq);
	cleanup_fq = NULL;
	assert_int_equal(sh("rm -rf %s", b->tmp), 0);
	cleanup_dir[0] = '\0';
}

/* Capture what is logged (stderr) between cap_start and cap_stop. */
struct cap {
	char path[160];
	int saved;
};

static void cap_start(struct cap *c, const struct bed *b)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "%s/log", b->tmp);
	fflush(stderr);
	log_set_level(VS_LOG_INFO);
	c->saved = dup(2);
	fd = open(c->path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	assert_true(fd >= 0 && c->saved >= 0);
	dup2(fd, 2);
	close(fd);
}

/* The text logged (malloc'd). */
static char *cap_stop(struct cap *c)
{
	char *text = calloc(1, 65536);
	FILE *f;

	fflush(stderr);
	log_set_level(getenv("VS_TEST_VERBOSE") ? VS_LOG_DEBUG : VS_LOG_ERROR);
	dup2(c->saved, 2);
	close(c->saved);
	f = fopen(c->path, "r");
	assert_non_null(f && text);
	if (fread(text, 1, 65535, f) == 0)
		text[0] = '\0';
	fclose(f);
	return text;
}

static int count(const char *text, const char *what)
{
	int n = 0;
	for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

/* The halt_poll object of the workload in linuxplat_status (new reference). */
static json_t *status_hp(struct bed *b)
{
	json_t *st = linuxplat_status(b->lx),
	       *hp = json_object_get(json_array_get(json_object_get(st, "workloads"), 0),
				     "halt_poll");
	json_incref(hp);
	json_decref(st);
	return hp;
}

/* auto, debugfs unreadable: QEMU is asked; counters rising, going down,
 * missing, garbage, an error answer, a vCPU more, QEMU restarting its
 * monitor. */
static void test_auto_fallback(void **state)
{
	struct bed_opts o = { 0 };
	struct bed b;
	struct vs_linux_haltpoll h;
	struct vs_sample s;
	struct cap cap;
	json_t *hp;
	char *log;

	bed_open(&b, &o);
	/* the baseline was read at open: 0 */
	fq_set(&b.fq, 0, 1500000000, 100000000); /* +1.6 s */
	fq_set(&b.fq, 1, 700000000, 100000000);	 /* +0.8 s */
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "active");
	assert_string_equal(h.via, "qmp");
	assert_true(strncmp(h.source, "qmp:/tmp/vsq-qmpstats-", 22) == 0);
	assert_non_null(strstr(h.why_via, "halt_poll_accounting=auto: debugfs cannot be read "
					  "(debugfs is not mounted at sys/kernel/debug"));
	assert_string_equal(h.note, "QEMU 7.2.0, 2 vCPUs");
	assert_true(h.applied && s.has_halt_poll);
	assert_true(near(s.busy_vcpu_raw, 5.4) && near(s.halt_poll_vcpu, 2.4));
	assert_true(near(s.busy_vcpu, 3.0));
	assert_true(h.has_qmp && h.qmp_requests == 2 && h.qmp_answers == 2 && h.qmp_rtt_n == 2);
	assert_string_equal(h.qmp_conn, "ready");
	assert_string_equal(h.qemu_version, "7.2.0");
	assert_int_equal(h.qmp_vcpus, 2);
	assert_int_equal(h.qmp_wait_ms, 20);
	hp = status_hp(&b);
	assert_string_equal(json_string_value(json_object_get(hp, "via")), "qmp");
	assert_string_equal(json_string_value(json_object_get(hp, "accounting")), "auto");
	assert_non_null(strstr(json_string_value(json_object_get(hp, "why_via")), "debugfs"));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(hp, "qmp"), "connection")),
		"ready");
	assert_true(json_integer_value(json_object_get(
			    json_object_get(json_object_get(hp, "qmp"), "rtt_us"), "count")) == 2);
	json_decref(hp);

	/* idle: nothing polled, nothing subtracted, still applied */
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0) && near(s.busy_vcpu, 5.4));

	/* the counters go down (the VM's statistics were cleared): a new baseline */
	fq_set(&b.fq, 0, 1000, 0);
	fq_set(&b.fq, 1, 0, 0);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "active");
	assert_false(h.applied || s.has_halt_poll);
	assert_non_null(strstr(h.note, "went down"));
	fq_set(&b.fq, 0, 500001000, 0); /* +0.5 s */
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0.5));

	/* a counter missing from the answer: bad counters, not corrected, then
	 * a baseline, then corrections again */
	fq_lock(&b.fq);
	b.fq.missing = true;
	fq_unlock(&b.fq);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "bad counters");
	assert_non_null(strstr(h.note, "vCPU /machine/unattached/device[1]: halt_poll_fail_ns is "
				       "missing from the answer"));
	assert_false(h.applied || s.has_halt_poll);
	assert_true(near(s.busy_vcpu, 5.4) && h.bad_reads == 1 && h.qmp_bad == 1);
	fq_lock(&b.fq);
	b.fq.missing = false;
	fq_unlock(&b.fq);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "active");
	assert_false(h.applied);
	fq_set(&b.fq, 1, 300000000, 0); /* +0.3 s */
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0.3));

	/* an error answer */
	fq_lock(&b.fq);
	b.fq.error = true;
	fq_unlock(&b.fq);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "bad counters");
	assert_non_null(strstr(h.note, "refuses query-stats: GenericError: stats are not "
				       "available right now"));
	fq_lock(&b.fq);
	b.fq.error = false;
	fq_unlock(&b.fq);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "active");

	/* garbage: a clear error, the connection closed and made again */
	fq_lock(&b.fq);
	b.fq.garbage = true;
	fq_unlock(&b.fq);
	cap_start(&cap, &b);
	s = bed_step(&b, &h);
	log = cap_stop(&cap);
	assert_string_equal(h.state, "bad counters");
	assert_non_null(strstr(h.note, "malformed QMP message \"Error: this is not JSON\""));
	assert_false(h.applied || s.has_halt_poll);
	assert_true(near(s.busy_vcpu, 5.4));
	assert_int_equal(count(log, "this period's busy time is used without the halt-poll "
				    "correction"),
			 1);
	free(log);
	assert_string_equal(h.qmp_conn, "closed");
	fq_lock(&b.fq);
	b.fq.garbage = false;
	fq_unlock(&b.fq);
	s = bed_step(&b, &h); /* a new connection: schema again, then the baseline */
	assert_string_equal(h.state, "active");
	assert_false(h.applied);
	assert_int_equal(fq_get(&b.fq, &b.fq.accepted), 2);
	assert_int_equal(fq_get(&b.fq, &b.fq.cmds[C_SCHEMA]), 2);
	fq_set(&b.fq, 0, 600001000, 0); /* +0.1 s */
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0.1));

	/* a vCPU more (hot-plugged): a new baseline, then corrections over 3 */
	fq_lock(&b.fq);
	b.fq.n_vcpus = 3;
	b.fq.success[2] = 9000000000; /* its own history is not this period's polling */
	fq_unlock(&b.fq);
	cap_start(&cap, &b);
	s = bed_step(&b, &h);
	log = cap_stop(&cap);
	assert_false(h.applied);
	assert_non_null(strstr(log, "the VM's vCPUs changed (2 before, 3 now)"));
	free(log);
	fq_set(&b.fq, 2, 9200000000, 0); /* +0.2 s */
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0.2));
	assert_string_equal(h.note, "QEMU 7.2.0, 3 vCPUs");

	/* QEMU closes the monitor: unavailable, connected again next period */
	fq_lock(&b.fq);
	b.fq.hang_up = true;
	fq_unlock(&b.fq);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "unavailable");
	assert_non_null(strstr(h.note, "QEMU closed the connection"));
	assert_false(h.applied);
	fq_lock(&b.fq);
	b.fq.hang_up = false;
	fq_unlock(&b.fq);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "active");
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0));

	/* QEMU is gone (its socket too): said, tried again every 5 s */
	fq_stop(&b.fq);
	s = bed_step(&b, &h); /* the connection breaks */
	assert_string_equal(h.state, "unavailable");
	s = bed_step(&b, &h); /* connecting fails */
	assert_string_equal(h.state, "unavailable");
	assert_non_null(strstr(h.note, "No such file or directory"));
	assert_true(near(s.busy_vcpu, 5.4));
	{
		uint64_t conns = h.qmp_connects;
		for (int i = 0; i < 3; i++)
			s = bed_step(&b, &h);
		assert_true(h.qmp_connects == conns); /* not before 5 s */
	}
	bed_close(&b);
}

/* Slow and silent answers: the loop waits at most halt_poll_qmp_wait_ms
 * (300 ms here, so that waiting and not waiting differ whatever the load),
 * says so once, uses the sample uncorrected, drops the late answer. */
static void test_slow(void **state)
{
	struct bed_opts o = { .host = "halt_poll_qmp_wait_ms=300" };
	struct bed b;
	struct vs_linux_haltpoll h;
	struct vs_sample s;
	struct cap cap;
	double wall;
	char *log;

	bed_open(&b, &o);
	fq_set(&b.fq, 0, 1000000000, 0);
	s = bed_step_t(&b, &h, &wall);
	assert_true(h.applied && near(s.halt_poll_vcpu, 1.0));
	assert_true(wall < 0.3); /* a prompt answer is not waited out */

	/* an answer after 800 ms: this period goes uncorrected */
	fq_lock(&b.fq);
	b.fq.delay_ms = 800;
	fq_unlock(&b.fq);
	fq_set(&b.fq, 0, 2000000000, 0);
	cap_start(&cap, &b);
	s = bed_step_t(&b, &h, &wall);
	log = cap_stop(&cap);
	assert_string_equal(h.state, "active"); /* still the source in use */
	assert_false(h.applied || s.has_halt_poll);
	assert_true(near(s.busy_vcpu, 5.4));
	assert_non_null(strstr(h.note, "no answer to query-stats within 300 ms: not subtracted "
				       "this period"));
	assert_true(h.qmp_slow == 1);
	assert_true(wall >= 0.29 && wall < 0.8); /* waited, and not for the answer */
	assert_int_equal(count(log, "no answer to query-stats within 300 ms"), 1);
	free(log);

	/* answering promptly again: the late answer is dropped when it comes,
	 * the next is a baseline, then corrections */
	fq_lock(&b.fq);
	b.fq.delay_ms = 0;
	fq_unlock(&b.fq);
	usleep(900 * 1000);
	cap_start(&cap, &b);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "active");
	assert_false(h.applied);
	assert_true(h.qmp_dropped == 1);
	fq_set(&b.fq, 0, 2500000000, 0);
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0.5));

	/* silent: the period that asked waits its 300 ms; the next ones, whose
	 * request is still owed, do not wait at all and send nothing more */
	fq_lock(&b.fq);
	b.fq.silent = true;
	fq_unlock(&b.fq);
	s = bed_step_t(&b, &h, &wall);
	assert_false(h.applied);
	assert_true(wall >= 0.29 && wall < 0.8);
	for (int i = 0; i < 3; i++) {
		s = bed_step_t(&b, &h, &wall);
		assert_false(h.applied || s.has_halt_poll);
		assert_true(near(s.busy_vcpu, 5.4));
		assert_true(wall < 0.15);
	}
	assert_true(h.qmp_slow == 5);
	assert_int_equal(fq_get(&b.fq, &b.fq.cmds[C_STATS]), 6); /* no backlog of requests */
	log = cap_stop(&cap);
	/* logged once, not once per period */
	assert_int_equal(count(log, "within 300 ms"), 0);
	free(log);
	bed_close(&b);
}

/* A monitor another client holds: no greeting; waiting, said once; picked
 * up when the other client leaves. */
static void test_busy_monitor(void **state)
{
	struct bed_opts o = { .greet_late = true };
	struct bed b;
	struct vs_linux_haltpoll h;
	struct vs_sample s;

	bed_open(&b, &o);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "unavailable");
	assert_non_null(strstr(h.note, "no greeting (QEMU serves one client per QMP socket: is "
				       "another connected?)"));
	assert_false(h.applied || s.has_halt_poll);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "unavailable");
	assert_true(h.qmp_connects == 1); /* still waiting on the same connection */
	fq_lock(&b.fq);
	b.fq.greet = true;
	fq_unlock(&b.fq);
	usleep(50 * 1000);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "active");
	s = bed_step(&b, &h);
	assert_true(h.applied);
	bed_close(&b);
}

/* QEMU without query-stats (< 7.1), and a guest without KVM: said once,
 * never asked again, the monitor left alone. */
static void test_unsupported(void **state)
{
	struct bed_opts o = { .no_stats = true, .version = "7.0.0" };
	struct bed b;
	struct vs_linux_haltpoll h;
	struct vs_sample s;
	int asked;

	bed_open(&b, &o);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "unavailable");
	assert_string_equal(h.via, "qmp");
	assert_non_null(strstr(h.note, "QEMU 7.0.0 refuses query-stats-schemas: CommandNotFound: "
				       "The command query-stats-schemas has not been found (KVM "
				       "statistics over QMP need QEMU >= 7.1)"));
	assert_false(h.applied || s.has_halt_poll);
	assert_true(near(s.busy_vcpu, 5.4));
	asked = fq_get(&b.fq, &b.fq.cmds[C_SCHEMA]) + fq_get(&b.fq, &b.fq.cmds[C_STATS]);
	assert_int_equal(asked, 1);
	for (int i = 0; i < 7; i++)
		s = bed_step(&b, &h);
	assert_int_equal(fq_get(&b.fq, &b.fq.cmds[C_SCHEMA]) + fq_get(&b.fq, &b.fq.cmds[C_STATS]),
			 asked);
	assert_string_equal(h.qmp_conn, "closed");
	usleep(50 * 1000);
	assert_int_equal(fq_get(&b.fq, &b.fq.client), -1); /* the monitor is free */
	bed_close(&b);

	/* a TCG guest: no KVM statistics */
	memset(&o, 0, sizeof(o));
	o.tcg = true;
	bed_open(&b, &o);
	s = bed_step(&b, &h);
	assert_string_equal(h.state, "unavailable");
	assert_non_null(strstr(h.note, "QEMU reports no KVM vCPU statistics"));
	assert_non_null(strstr(h.note, "-accel tcg"));
	assert_int_equal(fq_get(&b.fq, &b.fq.cmds[C_STATS]), 0);
	bed_close(&b);
}

/* The source each setting picks. */
static void test_sources(void **state)
{
	struct bed b;
	struct vs_linux_haltpoll h;
	struct vs_sample s;

	/* auto with debugfs readable: debugfs; QEMU is never asked */
	{
		struct bed_opts o = { .keep_debugfs = true };
		bed_open(&b, &o);
		s = bed_step(&b, &h);
		assert_string_equal(h.via, "debugfs");
		assert_string_equal(h.source, "sys/kernel/debug/kvm/4000-11");
		assert_string_equal(h.why_via, "halt_poll_accounting=auto: debugfs is readable");
		assert_true(h.applied);
		assert_int_equal(fq_get(&b.fq, &b.fq.accepted), 0);
		assert_false(h.has_qmp);
		bed_close(&b);
	}
	/* qmp with debugfs readable: QMP all the same */
	{
		struct bed_opts o = { .keep_debugfs = true, .host = "halt_poll_accounting=qmp" };
		bed_open(&b, &o);
		fq_set(&b.fq, 1, 400000000, 0);
		s = bed_step(&b, &h);
		assert_string_equal(h.via, "qmp");
		assert_string_equal(h.why_via, "halt_poll_accounting=qmp");
		assert_true(h.applied && near(s.halt_poll_vcpu, 0.4));
		bed_close(&b);
	}
	/* debugfs, unreadable, with qmp=: not asked */
	{
		struct bed_opts o = { .host = "halt_poll_accounting=debugfs" };
		bed_open(&b, &o);
		s = bed_step(&b, &h);
		assert_string_equal(h.state, "unavailable");
		assert_string_equal(h.via, "debugfs");
		assert_non_null(strstr(h.note, "debugfs is not mounted"));
		assert_null(strstr(h.note, "qmp"));
		assert_int_equal(fq_get(&b.fq, &b.fq.accepted), 0);
		bed_close(&b);
	}
	/* auto without qmp=: the reason says what would help */
	{
		struct bed_opts o = { .no_qmp = true };
		bed_open(&b, &o);
		s = bed_step(&b, &h);
		assert_string_equal(h.state, "unavailable");
		assert_non_null(strstr(h.note, "(mount -t debugfs none /sys/kernel/debug); no qmp= "
					       "socket to ask QEMU instead"));
		bed_close(&b);
	}
	/* qmp without qmp= */
	{
		struct bed_opts o = { .no_qmp = true, .host = "halt_poll_accounting=qmp" };
		bed_open(&b, &o);
		s = bed_step(&b, &h);
		assert_string_equal(h.state, "unavailable");
		assert_string_equal(
			h.note, "halt_poll_accounting=qmp, but the workload has no qmp= socket");
		bed_close(&b);
	}
	/* off: nothing asked */
	{
		struct bed_opts o = { .host = "halt_poll_accounting=off" };
		bed_open(&b, &o);
		s = bed_step(&b, &h);
		assert_string_equal(h.state, "off");
		assert_false(h.applied || s.has_halt_poll);
		assert_int_equal(fq_get(&b.fq, &b.fq.accepted), 0);
		bed_close(&b);
	}
}

/* auto follows debugfs: QMP while debugfs cannot be read, debugfs again once
 * it can (looked for every 5 s), QMP again when it goes; each switch a new
 * baseline, and the QMP connection closed while debugfs serves. */
static void test_switch(void **state)
{
	struct bed_opts o = { 0 };
	struct bed b;
	struct vs_linux_haltpoll h;
	struct vs_sample s;

	bed_open(&b, &o);
	fq_set(&b.fq, 0, 100000000, 0);
	s = bed_step(&b, &h);
	assert_string_equal(h.via, "qmp");
	assert_true(h.applied && near(s.halt_poll_vcpu, 0.1));
	/* debugfs appears (mounted): found within the 5 s between searches */
	assert_int_equal(sh("cp -a tests/fixtures/synth-b/root/sys/kernel/debug/kvm "
			    "%s/sys/kernel/debug/",
			    b.root),
			 0);
	for (int i = 0; i < 6 && strcmp(h.via, "debugfs") != 0; i++)
		s = bed_step(&b, &h);
	assert_string_equal(h.via, "debugfs");
	assert_string_equal(h.why_via, "halt_poll_accounting=auto: debugfs is readable");
	assert_false(h.applied); /* a new baseline */
	usleep(50 * 1000);
	assert_int_equal(fq_get(&b.fq, &b.fq.client), -1); /* QMP left alone */
	assert_string_equal(h.qmp_conn, "closed");
	assert_int_equal(sh("cd %s/sys/kernel/debug/kvm/4000-11 && echo 80700000000 "
			    ">halt_poll_success_ns",
			    b.root),
			 0); /* +7.8 s: clamped at the busy time */
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 5.4) && near(s.busy_vcpu, 0));
	/* and goes away: QMP at once, a new baseline there */
	assert_int_equal(sh("rm -rf %s/sys/kernel/debug/kvm", b.root), 0);
	s = bed_step(&b, &h);
	assert_string_equal(h.via, "qmp");
	assert_string_equal(h.state, "active");
	assert_false(h.applied);
	fq_set(&b.fq, 0, 300000000, 0);
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0.2));
	bed_close(&b);
}

/* Threads without names: discovery's query-cpus-fast and the statistics
 * share the VM's one QMP connection (QEMU serves one client at a time);
 * without the statistics, discovery's connection is not kept. */
static void test_shared(void **state)
{
	struct bed_opts o = { .unnamed = true };
	struct bed b;
	struct vs_linux_haltpoll h;
	struct vs_sample s;
	json_t *st;

	bed_open(&b, &o);
	fq_set(&b.fq, 0, 250000000, 0);
	s = bed_step(&b, &h);
	assert_true(h.applied && near(s.halt_poll_vcpu, 0.25));
	for (int i = 0; i < 6; i++) /* a full rescan every 5 s asks the vCPU threads again */
		s = bed_step(&b, &h);
	assert_true(h.applied);
	assert_true(fq_get(&b.fq, &b.fq.cmds[C_CPUS]) >= 2);
	assert_int_equal(fq_get(&b.fq, &b.fq.accepted), 1);
	assert_int_equal(fq_get(&b.fq, &b.fq.closed), 0);
	st = linuxplat_status(b.lx);
	{
		json_t *thr = json_object_get(json_array_get(json_object_get(st, "workloads"), 0),
					      "threads");
		assert_int_equal(json_integer_value(json_object_get(thr, "compute")), 2);
	}
	json_decref(st);
	bed_close(&b);

	/* debugfs readable: the statistics do not use QMP, so discovery's
	 * connection is closed after each use */
	o.keep_debugfs = true;
	bed_open(&b, &o);
	s = bed_step(&b, &h);
	assert_string_equal(h.via, "debugfs");
	usleep(50 * 1000);
	assert_true(fq_get(&b.fq, &b.fq.accepted) >= 1);
	assert_int_equal(fq_get(&b.fq, &b.fq.client), -1);
	bed_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_schema),
		cmocka_unit_test(test_parse_stats),
		cmocka_unit_test(test_conn),
		cmocka_unit_test_teardown(test_auto_fallback, teardown),
		cmocka_unit_test_teardown(test_slow, teardown),
		cmocka_unit_test_teardown(test_busy_monitor, teardown),
		cmocka_unit_test_teardown(test_unsupported, teardown),
		cmocka_unit_test_teardown(test_sources, teardown),
		cmocka_unit_test_teardown(test_switch, teardown),
		cmocka_unit_test_teardown(test_shared, teardown),
	};
	log_init("test_qmpstats", getenv("VS_TEST_VERBOSE") ? VS_LOG_DEBUG : VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
