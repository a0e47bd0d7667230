/* test_qmp.c - vCPU thread ids over QMP: reply parsing, and a scripted QMP server (events, errors, silence). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "platform/linux/qmp.h"
#include "testutil.h"

static void test_parse(void **state)
{
	int tids[8];
	char err[256];

	memset(tids, 0, sizeof(tids));
	assert_int_equal(qmp_parse_cpus("{\"return\": [{\"cpu-index\": 1, \"thread-id\": 4003, "
					"\"qom-path\": \"/machine/unattached/device[1]\"}, "
					"{\"cpu-index\": 0, \"thread-id\": 4002}]}",
					tids, 8, err, sizeof(err)),
			 2);
	assert_int_equal(tids[0], 4002);
	assert_int_equal(tids[1], 4003);
	/* greeting, capabilities reply and events are not the answer */
	assert_int_equal(qmp_parse_cpus("{\"QMP\": {\"version\": {}}}", tids, 8, err, sizeof(err)),
			 0);
	assert_int_equal(qmp_parse_cpus("{\"return\": {}}", tids, 8, err, sizeof(err)), 0);
	/* errors and malformed replies */
	assert_int_equal(
		qmp_parse_cpus("{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}", tids,
			       8, err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "QMP error: no"));
	assert_int_equal(qmp_parse_cpus("{\"return\": [", tids, 8, err, sizeof(err)), -1);
	assert_int_equal(qmp_parse_cpus("[1]", tids, 8, err, sizeof(err)), -1);
	assert_int_equal(qmp_parse_cpus("{\"return\": [{\"cpu-index\": 9, \"thread-id\": 1}]}",
					tids, 8, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(
		qmp_parse_cpus("{\"return\": [{\"cpu-index\": 0}]}", tids, 8, err, sizeof(err)),
		-1);
	assert_int_equal(qmp_parse_cpus("{\"return\": [{\"cpu-index\": 0, \"thread-id\": -5}]}",
					tids, 8, err, sizeof(err)),
			 -1);
}

/* A scripted QMP server: answers each command with the next reply. */
struct fake {
	int lfd;
	const char *greeting;
	const char *caps_reply;
	const char *cpus_reply;
	bool silent; /* never answer the query */
};

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	char buf[1024];
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (write(fd, f->greeting, strlen(f->greeting)) < 0)
		goto out;
	if (read(fd, buf, sizeof(buf)) <= 0) /* qmp_capabilities */
		goto out;
	if (write(fd, f->caps_reply, strlen(f->caps_reply)) < 0)
		goto out;
	if (read(fd, buf, sizeof(buf)) <= 0) /* query-cpus-fast */
		goto out;
	if (!f->silent) {
		if (write(fd, f->cpus_reply, strlen(f->cpus_reply)) < 0)
			goto out;
	} else {
		sleep(1);
	}
out:
	close(fd);
	return NULL;
}

static int fake_run(struct fake *f, int *tids, char *err, size_t errlen)
{
	char dir[] = "/tmp/vsd-qmp-XXXXXX", path[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t th;
	int n;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qmp.sock", dir);
	str_copy(sa.sun_path, path, sizeof(sa.sun_path));
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 1), 0);
	assert_int_equal(pthread_create(&th, NULL, fake_serve, f), 0);
	n = qmp_vcpu_threads(path, 300, tids, 8, err, errlen);
	pthread_join(th, NULL);
	close(f->lfd);
	unlink(path);
	rmdir(dir);
	return n;
}

static void test_server(void **state)
{
	struct fake ok = {
		.greeting = "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7}}, \"capabilities\": "
			    "[]}}\r\n",
		.caps_reply = "{\"return\": {}}\r\n",
		.cpus_reply = "{\"timestamp\": {\"seconds\": 1}, \"event\": "
			      "\"NIC_RX_FILTER_CHANGED\"}\r\n"
			      "{\"return\": [{\"cpu-index\": 0, \"thread-id\": 501}, "
			      "{\"cpu-index\": 1, \"thread-id\": 502}]}\r\n",
	};
	struct fake refuses = ok, silent = ok, junk = ok;
	int tids[8];
	char err[256];

	assert_int_equal(fake_run(&ok, tids, err, sizeof(err)), 2);
	assert_int_equal(tids[0], 501);
	assert_int_equal(tids[1], 502);
	refuses.cpus_reply = "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
			     "query-cpus-fast has not been found\"}}\r\n";
	assert_int_equal(fake_run(&refuses, tids, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "has not been found"));
	silent.silent = true;
	assert_int_equal(fake_run(&silent, tids, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "within"));
	junk.cpus_reply = "this is not json\r\n";
	assert_int_equal(fake_run(&junk, tids, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "malformed"));
	/* nobody listening */
	assert_int_equal(
		qmp_vcpu_threads("/tmp/vsd-no-such-qmp.sock", 100, tids, 8, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "vsd-no-such-qmp.sock"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_server),
	};
	return VS_RUN_TESTS(tests);
}
