/* test_vfplug.c - FlexVF's hot-plug backends: QMP device_add/device_del/DEVICE_DELETED/announce-self against a scripted QEMU (accepted, duplicate, refused, event before reply, timeout, absent, garbage, closed), libvirt's interface XML (checked against libvirt's own schema) and calls through the test:/// driver. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "platform/linux/qmpconn.h"
#include "platform/linux/vfplug.h"
#include "platform/linux/virt.h"
#include "testutil.h"
#include "scratch.h"

static int teardown(void **state)
{
	return scratch_remove();
}

static struct vfplug_dev standin(void)
{
	struct vfplug_dev d;
	memset(&d, 0, sizeof(d));
	strcpy(d.id, "vf0");
	strcpy(d.driver, "e1000e");
	strcpy(d.netdev, "vfn0");
	strcpy(d.mac, "52:54:00:56:00:02");
	strcpy(d.standby, "net0");
	strcpy(d.standby_nic, "net0");
	strcpy(d.bus, "rp1");
	return d;
}

static struct vfplug_dev vfio(void)
{
	struct vfplug_dev d = standin();
	strcpy(d.driver, "vfio-pci");
	strcpy(d.host_pci, "0000:3b:02.1");
	d.netdev[0] = '\0';
	return d;
}

static void test_dev_check_args(void **state)
{
	struct vfplug_dev d = vfio();
	char err[256], *text;
	json_t *a;

	assert_int_equal(vfplug_dev_check(&d, false, false, err, sizeof(err)), 0);
	assert_int_equal(vfplug_dev_check(&d, true, false, err, sizeof(err)), 0);
	a = vfplug_qmp_add_args(&d);
	text = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"bus\":\"rp1\",\"driver\":\"vfio-pci\",\"failover_pair_id\":"
				  "\"net0\",\"host\":\"0000:3b:02.1\",\"id\":\"vf0\"}");
	free(text);
	json_decref(a);
	d = standin();
	d.bus[0] = d.standby[0] = '\0';
	a = vfplug_qmp_add_args(&d);
	text = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"driver\":\"e1000e\",\"id\":\"vf0\",\"mac\":"
				  "\"52:54:00:56:00:02\",\"netdev\":\"vfn0\"}");
	free(text);
	json_decref(a);

	struct {
		const char *field, *value, *msg;
		bool libvirt;
	} bad[] = {
		{ "id", "", "device id", false },
		{ "id", "vf 0", "device id", false },
		{ "id", "0vf", "device id", false },
		{ "mac", "52:54:00", "MAC \"52:54:00\"", false },
		{ "host_pci", "3b:02.1", "not a PCI address", false },
		{ "standby", "net0\"", "standby, bus and netdev names", false },
		{ "driver", "e1000e", "libvirt plugs VFs only", true },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = vfio();
		char *f = strcmp(bad[i].field, "id") == 0	  ? d.id
			  : strcmp(bad[i].field, "mac") == 0	  ? d.mac
			  : strcmp(bad[i].field, "host_pci") == 0 ? d.host_pci
			  : strcmp(bad[i].field, "standby") == 0  ? d.standby
								  : d.driver;
		strcpy(f, bad[i].value);
		if (strcmp(bad[i].field, "driver") == 0)
			strcpy(d.netdev, "vfn0");
		assert_int_equal(vfplug_dev_check(&d, bad[i].libvirt, false, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].msg))
			printf("# case %zu: %s\n", i, err);
		assert_non_null(strstr(err, bad[i].msg));
	}
	d = standin();
	d.netdev[0] = '\0';
	assert_int_equal(vfplug_dev_check(&d, false, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs the netdev"));
	/* a QMP unplug names the id only */
	memset(&d, 0, sizeof(d));
	strcpy(d.id, "vf0");
	assert_int_equal(vfplug_dev_check(&d, false, true, err, sizeof(err)), 0);
}

/* ---- a scripted QEMU on the other end of a socketpair ---------------------------- */

struct fake {
	struct qmpconn c;
	int q; /* QEMU's end */
	struct vfplug_qmp op;
	uint64_t now;
};

static void fake_say(struct fake *f, const char *line)
{
	size_t n = strlen(line);
	assert_int_equal(write(f->q, line, n), (ssize_t)n);
	assert_int_equal(write(f->q, "\n", 1), 1);
}

/* The next command the client sent (parsed), or NULL. */
static json_t *fake_heard(struct fake *f)
{
	static char buf[4096];
	static size_t len;
	char *nl;
	ssize_t k = read(f->q, buf + len, sizeof(buf) - 1 - len);

	if (k > 0)
		len += (size_t)k;
	nl = memchr(buf, '\n', len);
	if (!nl)
		return NULL;
	*nl = '\0';
	json_t *m = json_loads(buf, 0, NULL);
	size_t used = (size_t)(nl - buf) + 1;
	memmove(buf, buf + used, len - used);
	len -= used;
	return m;
}

static enum vfplug_state step(struct fake *f)
{
	return vfplug_qmp_step(&f->op, &f->c, f->now);
}

/* Connected and past the handshake; the op started. */
static void fake_open(struct fake *f, bool unplug, int timeout_ms, bool announce)
{
	int sv[2];
	struct vfplug_dev d = standin();

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	qmpconn_init(&f->c, "fake.sock");
	qmpconn_attach(&f->c, sv[0]);
	f->q = sv[1];
	f->now = 1000000;
	while (fake_heard(f)) /* drop leftovers of an earlier case */
		;
	vfplug_qmp_start(&f->op, &d, unplug, timeout_ms, announce, f->now);
	vfplug_qmp_hook(&f->c, &f->op);
	fake_say(f, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": "
		    "7}}, \"capabilities\": [\"oob\"]}}");
	assert_int_equal(step(f), VFPLUG_IDLE);
	json_t *m = fake_heard(f);
	assert_string_equal(json_string_value(json_object_get(m, "execute")), "qmp_capabilities");
	json_decref(m);
	fake_say(f, "{\"return\": {}, \"id\": \"vspace-caps\"}");
}

static void fake_close(struct fake *f)
{
	qmpconn_free(&f->c);
	close(f->q);
}

/* The command the client sent: its name, arguments as compact sorted JSON. */
static void expect_cmd(struct fake *f, const char *cmd, const char *args, char *id, size_t idlen)
{
	json_t *m = fake_heard(f);
	char *text;

	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "execute")), cmd);
	text = json_dumps(json_object_get(m, "arguments"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, args);
	free(text);
	snprintf(id, idlen, "%s", json_string_value(json_object_get(m, "id")));
	json_decref(m);
}

static void test_qmp_plug(void **state)
{
	struct fake f;
	char id[32], line[160];

	fake_open(&f, false, 0, false);
	f.now += 1000;
	assert_int_equal(step(&f), VFPLUG_ADD_SENT);
	expect_cmd(&f, "device_add",
		   "{\"bus\":\"rp1\",\"driver\":\"e1000e\",\"failover_pair_id\":\"net0\",\"id\":"
		   "\"vf0\",\"mac\":\"52:54:00:56:00:02\",\"netdev\":\"vfn0\"}",
		   id, sizeof(id));
	assert_int_equal(step(&f), VFPLUG_ADD_SENT); /* nothing yet */
	f.now += 2000;
	snprintf(line, sizeof(line), "{\"return\": {}, \"id\": \"%s\"}", id);
	fake_say(&f, line);
	assert_int_equal(step(&f), VFPLUG_DONE);
	assert_false(f.op.was_absent);
	assert_int_equal(f.op.acked_us - f.op.start_us, 3000);
	fake_close(&f);

	/* there already: done, nothing changed */
	fake_open(&f, false, 0, false);
	step(&f);
	expect_cmd(&f, "device_add",
		   "{\"bus\":\"rp1\",\"driver\":\"e1000e\",\"failover_pair_id\":"
		   "\"net0\",\"id\":\"vf0\",\"mac\":\"52:54:00:56:00:02\","
		   "\"netdev\":\"vfn0\"}",
		   id, sizeof(id));
	snprintf(line, sizeof(line),
		 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Duplicate device ID "
		 "'vf0'\"}, \"id\": \"%s\"}",
		 id);
	fake_say(&f, line);
	assert_int_equal(step(&f), VFPLUG_DONE);
	assert_true(f.op.was_absent);
	fake_close(&f);

	/* refused: failed, QEMU's words in the error */
	fake_open(&f, false, 0, false);
	step(&f);
	expect_cmd(&f, "device_add",
		   "{\"bus\":\"rp1\",\"driver\":\"e1000e\",\"failover_pair_id\":"
		   "\"net0\",\"id\":\"vf0\",\"mac\":\"52:54:00:56:00:02\","
		   "\"netdev\":\"vfn0\"}",
		   id, sizeof(id));
	snprintf(line, sizeof(line),
		 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Bus 'rp1' does not support "
		 "hotplugging\"}, \"id\": \"%s\"}",
		 id);
	fake_say(&f, line);
	assert_int_equal(step(&f), VFPLUG_FAILED);
	assert_string_equal(f.op.err, "device_add vf0: GenericError: Bus 'rp1' does not support "
				      "hotplugging");
	fake_close(&f);

	/* no answer within 5 s */
	fake_open(&f, false, 0, false);
	step(&f);
	f.now += 5000001;
	assert_int_equal(step(&f), VFPLUG_FAILED);
	assert_non_null(strstr(f.op.err, "no answer within 5000 ms"));
	fake_close(&f);
}

static void test_qmp_unplug(void **state)
{
	struct fake f;
	char id[32], line[160];

	/* reply, an event about another device, ours, then announce-self */
	fake_open(&f, true, 3000, true);
	assert_int_equal(step(&f), VFPLUG_DEL_SENT);
	expect_cmd(&f, "device_del", "{\"id\":\"vf0\"}", id, sizeof(id));
	snprintf(line, sizeof(line), "{\"return\": {}, \"id\": \"%s\"}", id);
	fake_say(&f, line);
	f.now += 1000;
	assert_int_equal(step(&f), VFPLUG_WAIT_DELETED);
	fake_say(&f, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
		     "\"DEVICE_DELETED\", \"data\": {\"device\": \"vf1\", \"path\": "
		     "\"/machine/peripheral/vf1\"}}");
	assert_int_equal(step(&f), VFPLUG_WAIT_DELETED);
	f.now += 250000;
	fake_say(&f, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
		     "\"DEVICE_DELETED\", \"data\": {\"device\": \"vf0\", \"path\": "
		     "\"/machine/peripheral/vf0\"}}");
	assert_int_equal(step(&f), VFPLUG_ANNOUNCE_SENT);
	assert_int_equal(f.op.gone_us - f.op.start_us, 251000);
	expect_cmd(
		&f, "announce-self",
		"{\"initial\":50,\"interfaces\":[\"net0\"],\"max\":550,\"rounds\":3,\"step\":100}",
		id, sizeof(id));
	snprintf(line, sizeof(line), "{\"return\": {}, \"id\": \"%s\"}", id);
	fake_say(&f, line);
	f.now += 1000;
	assert_int_equal(step(&f), VFPLUG_DONE);
	assert_string_equal(f.op.err, "");
	fake_close(&f);

	/* the event before the reply (a device QEMU removes at once), no announcement */
	fake_open(&f, true, 3000, false);
	step(&f);
	expect_cmd(&f, "device_del", "{\"id\":\"vf0\"}", id, sizeof(id));
	fake_say(&f, "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"vf0\"}}");
	snprintf(line, sizeof(line), "{\"return\": {}, \"id\": \"%s\"}", id);
	fake_say(&f, line);
	assert_int_equal(step(&f), VFPLUG_DONE);
	fake_close(&f);

	/* the guest never releases it */
	fake_open(&f, true, 3000, true);
	step(&f);
	expect_cmd(&f, "device_del", "{\"id\":\"vf0\"}", id, sizeof(id));
	snprintf(line, sizeof(line), "{\"return\": {}, \"id\": \"%s\"}", id);
	fake_say(&f, line);
	assert_int_equal(step(&f), VFPLUG_WAIT_DELETED);
	f.now += 2999000;
	assert_int_equal(step(&f), VFPLUG_WAIT_DELETED);
	f.now += 2000;
	assert_int_equal(step(&f), VFPLUG_FAILED);
	assert_string_equal(f.op.err, "device_del: the guest did not release vf0 within 3000 ms "
				      "(no DEVICE_DELETED)");
	fake_close(&f);

	/* not there */
	fake_open(&f, true, 3000, true);
	step(&f);
	expect_cmd(&f, "device_del", "{\"id\":\"vf0\"}", id, sizeof(id));
	snprintf(line, sizeof(line),
		 "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'vf0' not "
		 "found\"}, \"id\": \"%s\"}",
		 id);
	fake_say(&f, line);
	assert_int_equal(step(&f), VFPLUG_DONE);
	assert_true(f.op.was_absent);
	fake_close(&f);

	/* garbage, then QEMU closing the socket */
	fake_open(&f, true, 3000, true);
	step(&f);
	fake_say(&f, "this is not QMP");
	assert_int_equal(step(&f), VFPLUG_FAILED);
	assert_non_null(strstr(f.op.err, "malformed QMP message"));
	fake_close(&f);
	fake_open(&f, true, 3000, true);
	step(&f);
	close(f.q);
	f.q = -1;
	assert_int_equal(step(&f), VFPLUG_FAILED);
	qmpconn_free(&f.c);
}

/* The blocking runner: no socket there. */
static void test_qmp_run_no_socket(void **state)
{
	struct qmpconn c;
	struct vfplug_qmp op;
	struct vfplug_dev d = standin();

	qmpconn_init(&c, "/nonexistent/vsw-qmp.sock");
	vfplug_qmp_start(&op, &d, false, 0, false, qmpconn_now_us());
	assert_int_equal(vfplug_qmp_run(&op, &c), -1);
	assert_non_null(strstr(op.err, "/nonexistent/vsw-qmp.sock"));
	qmpconn_free(&c);
}

/* ---- libvirt ------------------------------------------------------------------------- */

static void test_libvirt_xml(void **state)
{
	struct vfplug_dev d = vfio();
	char xml[1024], path[128];
	FILE *f;

	assert_true(vfplug_libvirt_xml(&d, xml, sizeof(xml)) > 0);
	strcpy(d.standby, "ua-net0");
	assert_true(vfplug_libvirt_xml(&d, xml, sizeof(xml)) > 0);
	assert_string_equal(xml, "<interface type='hostdev' managed='yes'>\n"
				 "  <mac address='52:54:00:56:00:02'/>\n"
				 "  <source>\n"
				 "    <address type='pci' domain='0x0000' bus='0x3b' slot='0x02' "
				 "function='0x1'/>\n"
				 "  </source>\n"
				 "  <teaming type='transient' persistent='ua-net0'/>\n"
				 "  <alias name='ua-vf0'/>\n"
				 "</interface>\n");
	char small[64];
	assert_int_equal(vfplug_libvirt_xml(&d, small, sizeof(small)), -1);
	/* libvirt's own schema accepts it, in a domain whose virtio-net is the persistent half */
	if (access("/usr/share/libvirt/schemas/domain.rng", R_OK) != 0 ||
	    sh_run("command -v xmllint >/dev/null") != 0) {
		printf("# libvirt's schema or xmllint missing: XML not validated\n");
		return;
	}
	snprintf(cleanup_dir, sizeof(cleanup_dir), "/tmp/vsw-vfplug-XXXXXX");
	assert_non_null(mkdtemp(cleanup_dir));
	snprintf(path, sizeof(path), "%s/dom.xml", cleanup_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"<domain type='kvm'><name>web</name><memory unit='KiB'>524288</memory>"
		"<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
		"<interface type='bridge'><mac address='52:54:00:56:00:02'/>"
		"<source bridge='br0'/><model type='virtio'/><teaming type='persistent'/>"
		"<alias name='ua-net0'/></interface>%s</devices></domain>\n",
		xml);
	fclose(f);
	assert_int_equal(sh("xmllint --noout --relaxng /usr/share/libvirt/schemas/domain.rng %s "
			    "2>%s/lint.log || { cat %s/lint.log; exit 1; }",
			    path, cleanup_dir, cleanup_dir),
			 0);
	/* and the schema does catch a broken one */
	assert_int_equal(sh("sed -i \"s/type='transient'/type='sometimes'/\" %s", path), 0);
	assert_true(sh("xmllint --noout --relaxng /usr/share/libvirt/schemas/domain.rng %s "
		       "2>/dev/null",
		       path) != 0);
}

/* test:///default has no device hot-plug: the call is made and its refusal
 * reported with the function's name; a detach of what is not there is done. */
static void test_libvirt_calls(void **state)
{
	struct vs_virt *v;
	struct vfplug_dev d = vfio();
	char err[512];

	if (!virt_available())
		skip();
	assert_int_equal(virt_open(&v, "test:///default", err, sizeof(err)), 0);
	assert_int_equal(vfplug_libvirt_attach(v, "test", &d, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "domain test: attaching VF 0000:3b:02.1: "
				    "virDomainAttachDeviceFlags: this function is not supported"));
	assert_int_equal(vfplug_libvirt_detach(v, "test", &d, 100, err, sizeof(err)), 0);
	assert_int_equal(virt_device_present(v, "test", "ua-vf0"), 0);
	/* the test domain's interface has no user alias; its memballoon is present by type */
	assert_int_equal(vfplug_libvirt_attach(v, "nope", &d, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "virDomainLookupByName"));
	strcpy(d.driver, "e1000e");
	assert_int_equal(vfplug_libvirt_attach(v, "test", &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "libvirt plugs VFs only"));
	virt_close(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dev_check_args),
		cmocka_unit_test(test_qmp_plug),
		cmocka_unit_test(test_qmp_unplug),
		cmocka_unit_test(test_qmp_run_no_socket),
		cmocka_unit_test_teardown(test_libvirt_xml, teardown),
		cmocka_unit_test(test_libvirt_calls),
	};
	return VS_RUN_TESTS(tests);
}
