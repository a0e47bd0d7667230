/* test_sdbus.c - vspaced's D-Bus client of systemd (src/daemon/sdbus.c) against a stand-in org.freedesktop.systemd1 served with sd-bus on a Unix socket: properties, SetUnitProperties, errors, silence, a lost connection. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "daemon/sdbus.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "testutil.h"

/* ---- The stand-in systemd ---------------------------------------------------------------- */

enum mock_mode {
	MOCK_SERVE = 0, /* answer */
	MOCK_DENY,	/* refuse SetUnitProperties: access denied */
	MOCK_SILENT,	/* accept connections, never read them */
	MOCK_MUTE,	/* connect, then leave every call unanswered */
	MOCK_HANGUP,	/* close each connection after its first call */
	MOCK_BADTYPE,	/* AllowedCPUs as a string */
};

struct mock {
	int lfd;
	char path[108];
	enum mock_mode mode;
	pthread_t thr;
	/* unit web.service */
	int delegate;
	uint8_t allowed[8];
	size_t n_allowed;
	/* what SetUnitProperties received */
	char set_unit[64];
	int set_runtime;
	char set_prop[32];
	uint8_t set_mask[200];
	size_t set_n;
	int sets;
	volatile int stop;
};

static int mock_get_unit(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	const char *name;
	int r = sd_bus_message_read(m, "s", &name);

	if (r < 0)
		return r;
	if (((struct mock *)ud)->mode == MOCK_MUTE)
		return 1; /* handled: no answer */
	if (strcmp(name, "web.service") != 0)
		return sd_bus_error_setf(e, "org.freedesktop.systemd1.NoSuchUnit",
					 "Unit %s not loaded.", name);
	return sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/unit/web_2eservice");
}

static int mock_set(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct mock *k = ud;
	const char *name, *prop;
	const void *p;
	size_t n;
	int rt, r;

	if (k->mode == MOCK_DENY)
		return sd_bus_error_set(e, SD_BUS_ERROR_ACCESS_DENIED, "Access denied");
	r = sd_bus_message_read(m, "sb", &name, &rt);
	if (r >= 0)
		r = sd_bus_message_enter_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_enter_container(m, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_read(m, "s", &prop);
	if (r >= 0)
		r = sd_bus_message_enter_container(m, 'v', "ay");
	if (r >= 0)
		r = sd_bus_message_read_array(m, 'y', &p, &n);
	if (r < 0)
		return r;
	if (strcmp(name, "web.service") != 0)
		return sd_bus_error_setf(e, "org.freedesktop.systemd1.NoSuchUnit",
					 "Unit %s not found.", name);
	str_copy(k->set_unit, name, sizeof(k->set_unit));
	str_copy(k->set_prop, prop, sizeof(k->set_prop));
	k->set_runtime = rt;
	k->set_n = n < sizeof(k->set_mask) ? n : sizeof(k->set_mask);
	memcpy(k->set_mask, p, k->set_n);
	k->sets++;
	return sd_bus_reply_method_return(m, "");
}

static int mock_prop_allowed(sd_bus *bus, const char *path, const char *iface, const char *prop,
			     sd_bus_message *reply, void *ud, sd_bus_error *e)
{
	struct mock *k = ud;
	if (k->mode == MOCK_BADTYPE)
		return sd_bus_message_append(reply, "s", "0-3");
	return sd_bus_message_append_array(reply, 'y', k->allowed, k->n_allowed);
}

static int mock_prop_delegate(sd_bus *bus, const char *path, const char *iface, const char *prop,
			      sd_bus_message *reply, void *ud, sd_bus_error *e)
{
	struct mock *k = ud;
	return sd_bus_message_append(reply, "b", k->delegate);
}

static int mock_prop_cgroup(sd_bus *bus, const char *path, const char *iface, const char *prop,
			    sd_bus_message *reply, void *ud, sd_bus_error *e)
{
	return sd_bus_message_append(reply, "s", "/system.slice/web.service");
}

static const sd_bus_vtable mock_manager[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("GetUnit", "s", "o", mock_get_unit, 0),
	SD_BUS_METHOD("SetUnitProperties", "sba(sv)", "", mock_set, 0),
	SD_BUS_VTABLE_END,
};

/* AllowedCPUs is "ay"; the stand-in's bad mode answers with a string, which
 * sd-bus checks against the declared signature only when asked for it: the
 * property is declared per mode below. */
static const sd_bus_vtable mock_service[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Delegate", "b", mock_prop_delegate, 0, 0),
	SD_BUS_PROPERTY("ControlGroup", "s", mock_prop_cgroup, 0, 0),
	SD_BUS_PROPERTY("AllowedCPUs", "ay", mock_prop_allowed, 0, 0),
	SD_BUS_VTABLE_END,
};
static const sd_bus_vtable mock_service_bad[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Delegate", "b", mock_prop_delegate, 0, 0),
	SD_BUS_PROPERTY("ControlGroup", "s", mock_prop_cgroup, 0, 0),
	SD_BUS_PROPERTY("AllowedCPUs", "s", mock_prop_allowed, 0, 0),
	SD_BUS_VTABLE_END,
};

/* Serve one connection until it closes (or, hang-up mode, one call). */
static void mock_serve(struct mock *k, int fd)
{
	sd_bus *b = NULL;
	sd_id128_t id = { { 0x76, 0x73 } };
	int sets = k->sets;

	if (sd_bus_new(&b) < 0)
		return;
	sd_bus_set_fd(b, fd, fd);
	sd_bus_set_server(b, 1, id);
	sd_bus_set_anonymous(b, 1);
	sd_bus_add_object_vtable(b, NULL, "/org/freedesktop/systemd1",
				 "org.freedesktop.systemd1.Manager", mock_manager, k);
	sd_bus_add_object_vtable(b, NULL, "/org/freedesktop/systemd1/unit/web_2eservice",
				 "org.freedesktop.systemd1.Service",
				 k->mode == MOCK_BADTYPE ? mock_service_bad : mock_service, k);
	if (sd_bus_start(b) < 0) {
		sd_bus_unref(b);
		return;
	}
	while (!k->stop) {
		int r = sd_bus_process(b, NULL);
		if (r < 0)
			break;
		if (k->mode == MOCK_HANGUP && k->sets > sets)
			break;
		if (r == 0 && sd_bus_wait(b, 100000) < 0)
			break;
	}
	sd_bus_flush_close_unref(b);
}

static void *mock_main(void *arg)
{
	struct mock *k = arg;
	int held[8], n_held = 0;

	while (!k->stop) {
		struct timeval tv = { 0, 100000 };
		fd_set rs;
		int fd;

		FD_ZERO(&rs);
		FD_SET(k->lfd, &rs);
		if (select(k->lfd + 1, &rs, NULL, NULL, &tv) <= 0)
			continue;
		fd = accept4(k->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (k->mode == MOCK_SILENT) {
			if (n_held < 8)
				held[n_held++] = fd; /* never read */
			else
				close(fd);
			continue;
		}
		mock_serve(k, fd);
	}
	for (int i = 0; i < n_held; i++)
		close(held[i]);
	return NULL;
}

static void mock_start(struct mock *k, enum mock_mode mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(k, 0, sizeof(*k));
	k->mode = mode;
	k->delegate = 1;
	k->allowed[0] = 0x03; /* cpus 0-1 and 20 */
	k->allowed[2] = 0x10;
	k->n_allowed = 3;
	snprintf(k->path, sizeof(k->path), "/tmp/vsd-sdbus-%d-%d.sock", (int)getpid(), (int)mode);
	unlink(k->path);
	str_copy(sa.sun_path, k->path, sizeof(sa.sun_path));
	k->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(k->lfd >= 0);
	assert_int_equal(bind(k->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(k->lfd, 8), 0);
	assert_int_equal(pthread_create(&k->thr, NULL, mock_main, k), 0);
}

static void mock_stop(struct mock *k)
{
	k->stop = 1;
	pthread_join(k->thr, NULL);
	close(k->lfd);
	unlink(k->path);
}

static struct vs_unit_mgr *client(struct mock *k, uint64_t timeout_us)
{
	char addr[160], err[256];
	struct vs_unit_mgr *m = NULL;

	snprintf(addr, sizeof(addr), "unix:path=%s", k->path);
	if (sdbus_units_open(&m, addr, timeout_us, err, sizeof(err)) < 0) {
		printf("# %s\n", err);
		fail();
	}
	return m;
}

/* ---- Tests ------------------------------------------------------------------------------- */

static void test_get(void **state)
{
	struct mock k;
	struct vs_unit_mgr *m;
	struct vs_unit_info u;
	char err[256], list[64];

	mock_start(&k, MOCK_SERVE);
	m = client(&k, 0);
	assert_int_equal(m->ops->get(m, "web.service", &u, err, sizeof(err)), 0);
	assert_true(u.delegate);
	assert_string_equal(u.cgroup, "/system.slice/web.service");
	cpuset_format_list(&u.allowed, list, sizeof(list));
	assert_string_equal(list, "0-1,20");
	/* not loaded: -ENOENT, systemd's words in err */
	assert_int_equal(m->ops->get(m, "ghost.service", &u, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "Unit ghost.service not loaded."));
	/* no unit type with a cgroup */
	assert_int_equal(m->ops->get(m, "web.timer", &u, err, sizeof(err)), -EINVAL);
	m->ops->close(m);
	mock_stop(&k);
}

static void test_set(void **state)
{
	struct mock k;
	struct vs_unit_mgr *m;
	struct vs_cpuset s;
	char err[256];

	mock_start(&k, MOCK_SERVE);
	m = client(&k, 0);
	assert_int_equal(cpuset_parse_list(&s, "2-9,17", err, sizeof(err)), 0);
	assert_int_equal(m->ops->set_allowed_cpus(m, "web.service", &s, err, sizeof(err)), 0);
	assert_string_equal(k.set_unit, "web.service");
	assert_string_equal(k.set_prop, "AllowedCPUs");
	assert_int_equal(k.set_runtime, 1); /* run time only: gone at reboot */
	assert_int_equal(k.set_n, 3);	    /* the shortest mask: cpus 0..23 */
	assert_int_equal(k.set_mask[0], 0xfc);
	assert_int_equal(k.set_mask[1], 0x03);
	assert_int_equal(k.set_mask[2], 0x02);
	/* the empty set: an empty array, which unsets AllowedCPUs= */
	cpuset_zero(&s);
	assert_int_equal(m->ops->set_allowed_cpus(m, "web.service", &s, err, sizeof(err)), 0);
	assert_int_equal(k.set_n, 0);
	assert_int_equal(k.sets, 2);
	assert_int_equal(m->ops->set_allowed_cpus(m, "ghost.service", &s, err, sizeof(err)),
			 -ENOENT);
	m->ops->close(m);
	mock_stop(&k);
}

static void test_denied(void **state)
{
	struct mock k;
	struct vs_unit_mgr *m;
	struct vs_cpuset s;
	char err[256];

	mock_start(&k, MOCK_DENY);
	m = client(&k, 0);
	cpuset_zero(&s);
	cpuset_set(&s, 3);
	assert_int_equal(m->ops->set_allowed_cpus(m, "web.service", &s, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "Access denied"));
	m->ops->close(m);
	mock_stop(&k);
}

static double since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* A peer that accepts but never speaks: connecting gives up after the
 * timeout (sd-bus alone would wait 90 s for the authentication). */
static void test_silent(void **state)
{
	struct mock k;
	struct vs_unit_mgr *m = NULL;
	struct timespec t0;
	char addr[160], err[256];
	double dt;

	mock_start(&k, MOCK_SILENT);
	snprintf(addr, sizeof(addr), "unix:path=%s", k.path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sdbus_units_open(&m, addr, 200000, err, sizeof(err)), -ETIMEDOUT);
	dt = since(&t0);
	printf("# silent peer: connecting gave up after %.3f s (timeout 0.2 s)\n", dt);
	assert_true(dt >= 0.15 && dt < 5.0);
	assert_null(m);
	mock_stop(&k);
}

/* A manager that stops answering: each call gives up after the timeout. */
static void test_mute(void **state)
{
	struct mock k;
	struct vs_unit_mgr *m;
	struct vs_unit_info u;
	struct timespec t0;
	char err[256];
	double dt;

	mock_start(&k, MOCK_MUTE);
	m = client(&k, 200000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(m->ops->get(m, "web.service", &u, err, sizeof(err)), -ETIMEDOUT);
	dt = since(&t0);
	printf("# mute manager: the call gave up after %.3f s (timeout 0.2 s)\n", dt);
	assert_true(dt >= 0.15 && dt < 5.0);
	m->ops->close(m);
	mock_stop(&k);
}

/* The connection drops (systemd re-executed, the bus restarted): the
 * next call connects again. */
static void test_reconnect(void **state)
{
	struct mock k;
	struct vs_unit_mgr *m;
	struct vs_cpuset s;
	char err[256];
	int ok = 0;

	mock_start(&k, MOCK_HANGUP);
	m = client(&k, 500000);
	cpuset_zero(&s);
	cpuset_set(&s, 1);
	assert_int_equal(m->ops->set_allowed_cpus(m, "web.service", &s, err, sizeof(err)), 0);
	/* the stand-in hung up after that call: a failure or two, then through */
	for (int i = 0; i < 5 && !ok; i++) {
		int rc = m->ops->set_allowed_cpus(m, "web.service", &s, err, sizeof(err));
		if (rc == 0)
			ok = 1;
		else
			assert_true(rc == -ENOTCONN || rc == -ECONNRESET || rc == -ETIMEDOUT);
	}
	assert_true(ok);
	assert_int_equal(k.sets, 2);
	m->ops->close(m);
	mock_stop(&k);
}

/* A property of the wrong type is an error naming the unit, not a crash. */
static void test_bad_type(void **state)
{
	struct mock k;
	struct vs_unit_mgr *m;
	struct vs_unit_info u;
	char err[256];

	mock_start(&k, MOCK_BADTYPE);
	m = client(&k, 0);
	assert_true(m->ops->get(m, "web.service", &u, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "web.service"));
	m->ops->close(m);
	mock_stop(&k);
}

/* Nobody listening: open says so. */
static void test_no_manager(void **state)
{
	struct vs_unit_mgr *m = NULL;
	char err[256];

	assert_true(sdbus_units_open(&m, "unix:path=/nonexistent/vsd-sdbus.sock", 0, err,
				     sizeof(err)) < 0);
	assert_null(m);
	assert_non_null(strstr(err, "cannot connect to systemd"));
}

static void test_masks(void **state)
{
	uint8_t big[VS_MAX_CPUS / 8 + 1], buf[VS_MAX_CPUS / 8];
	struct vs_cpuset s, t;
	char err[64], list[64];

	memset(big, 0, sizeof(big));
	big[VS_MAX_CPUS / 8] = 1; /* cpu VS_MAX_CPUS: past what this build holds */
	assert_int_equal(sdbus_mask_to_cpuset(big, sizeof(big), &s), -ERANGE);
	assert_int_equal(sdbus_mask_to_cpuset(big, 0, &s), 0);
	assert_true(cpuset_empty(&s));
	assert_int_equal(cpuset_parse_list(&s, "0,7-8,1023", err, sizeof(err)), 0);
	assert_int_equal(sdbus_cpuset_to_mask(&s, buf, sizeof(buf)), VS_MAX_CPUS / 8);
	assert_int_equal(sdbus_mask_to_cpuset(buf, VS_MAX_CPUS / 8, &t), 0);
	cpuset_format_list(&t, list, sizeof(list));
	assert_string_equal(list, "0,7-8,1023");
	assert_int_equal(sdbus_cpuset_to_mask(&s, buf, 4), -ENOSPC);
	assert_string_equal(sdbus_unit_interface("a.service"), "org.freedesktop.systemd1.Service");
	assert_string_equal(sdbus_unit_interface("s.scope"), "org.freedesktop.systemd1.Scope");
	assert_null(sdbus_unit_interface("a.timer"));
	assert_null(sdbus_unit_interface(".service"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),	 cmocka_unit_test(test_set),
		cmocka_unit_test(test_denied),	 cmocka_unit_test(test_silent),
		cmocka_unit_test(test_mute),	 cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_bad_type), cmocka_unit_test(test_no_manager),
		cmocka_unit_test(test_masks),
	};
	log_init("test_sdbus", getenv("VS_TEST_VERBOSE") ? VS_LOG_DEBUG : VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
