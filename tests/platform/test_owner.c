/* test_owner.c - who owns a cgroup v2 path: every naming convention of owner.h, with and without systemd as the init. */
#include <stdio.h>
#include <string.h>

#include "platform/linux/owner.h"
#include "testutil.h"

struct owner_case {
	const char *path;
	bool systemd;
	enum owner_kind kind;
	const char *what, *unit, *unit_cgroup; /* NULL: not checked (what), "" (unit) */
};

static const struct owner_case owner_cases[] = {
	/* the host's systemd: the deepest service or scope is the unit */
	{ "/system.slice/memcached.service", true, OWNER_UNIT, "systemd", "memcached.service",
	  "/system.slice/memcached.service" },
	{ "/system.slice/web.service/payload", true, OWNER_UNIT, "systemd", "web.service",
	  "/system.slice/web.service" },
	{ "/user.slice/user-1000.slice/session-3.scope", true, OWNER_UNIT, "systemd",
	  "session-3.scope", "/user.slice/user-1000.slice/session-3.scope" },
	{ "/app.slice/tenant.slice/a.service", true, OWNER_UNIT, "systemd", "a.service",
	  "/app.slice/tenant.slice/a.service" },
	/* a user's systemd owns what is below user@UID.service */
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/vm.service", true,
	  OWNER_USER_UNIT, "user@1000.service", "vm.service",
	  "/user.slice/user-1000.slice/user@1000.service/app.slice/vm.service" },
	/* the user manager itself is a system unit */
	{ "/user.slice/user-1000.slice/user@1000.service/init.scope", true, OWNER_USER_UNIT,
	  "user@1000.service", "init.scope", NULL },
	/* systemd's own, the root, a cgroup of nobody's naming on a systemd host */
	{ "/init.scope", true, OWNER_SYSTEMD, NULL, "init.scope", NULL },
	{ "/", true, OWNER_SYSTEMD, "the root cgroup", "", NULL },
	{ "/vspace-tests/x", true, OWNER_SYSTEMD, "a cgroup that is not a unit's", "", NULL },
	/* no systemd: nobody's, whatever the names */
	{ "/", false, OWNER_NONE, "", "", NULL },
	{ "/vms/vm1", false, OWNER_NONE, "", "", NULL },
	{ "/system.slice/web.service", false, OWNER_NONE, "", "", NULL },
	/* container runtimes and the kubelet, systemd and cgroupfs drivers */
	{ "/system.slice/docker-0123abcd.scope", true, OWNER_CONTAINER, "docker", "", NULL },
	{ "/docker/0123abcd", false, OWNER_CONTAINER, "docker", "", NULL },
	{ "/system.slice/docker.service", true, OWNER_UNIT, "systemd", "docker.service", NULL },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
	  "cri-containerd-ab.scope",
	  true, OWNER_CONTAINER, "kubelet", "", NULL },
	{ "/kubepods/besteffort/pod1/ab", false, OWNER_CONTAINER, "kubelet", "", NULL },
	{ "/system.slice/cri-containerd-ab.scope", true, OWNER_CONTAINER, "containerd", "", NULL },
	{ "/containerd/ab", false, OWNER_CONTAINER, "containerd", "", NULL },
	{ "/system.slice/containerd.service", true, OWNER_UNIT, "systemd", "containerd.service",
	  NULL },
	{ "/system.slice/crio-ab.scope", true, OWNER_CONTAINER, "CRI-O", "", NULL },
	{ "/machine.slice/libpod-ab.scope/container", true, OWNER_CONTAINER, "podman", "", NULL },
	{ "/libpod_parent/libpod-ab", false, OWNER_CONTAINER, "podman", "", NULL },
	{ "/lxc.payload.web", false, OWNER_CONTAINER, "LXC", "", NULL },
	{ "/lxc/web", false, OWNER_CONTAINER, "LXC", "", NULL },
	/* libvirt (systemd and cgroupfs back ends), other machines */
	{ "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/vcpu0", true, OWNER_MACHINE,
	  "libvirt", "", NULL },
	{ "/machine/qemu-1-vm1.libvirt-qemu/emulator", false, OWNER_MACHINE, "libvirt", "", NULL },
	{ "/machine.slice/systemd-nspawn@box.service/payload", true, OWNER_MACHINE,
	  "systemd-machined", "", NULL },
	/* near misses are not containers */
	{ "/system.slice/dockerd-helper.service", true, OWNER_UNIT, "systemd",
	  "dockerd-helper.service", NULL },
	{ "/system.slice/kube.service", true, OWNER_UNIT, "systemd", "kube.service", NULL },
	/* empty components and a trailing slash are no components */
	{ "//system.slice//web.service/", true, OWNER_UNIT, "systemd", "web.service",
	  "/system.slice/web.service" },
};

static void test_owner_paths(void **state)
{
	for (size_t i = 0; i < sizeof(owner_cases) / sizeof(owner_cases[0]); i++) {
		const struct owner_case *c = &owner_cases[i];
		struct owner_path o;

		owner_classify(c->path, c->systemd, &o);
		if (o.kind != c->kind || (c->what && strcmp(o.what, c->what) != 0) ||
		    strcmp(o.unit, c->unit) != 0 ||
		    (c->unit_cgroup && strcmp(o.unit_cgroup, c->unit_cgroup) != 0)) {
			printf("# %s (systemd %d): got %s \"%s\" unit \"%s\" at \"%s\"\n", c->path,
			       c->systemd, owner_kind_name(o.kind), o.what, o.unit, o.unit_cgroup);
			fail();
		}
	}
}

/* Long and odd input: no overflow, a verdict anyway. */
static void test_owner_long(void **state)
{
	char path[8192], unit[400];
	struct owner_path o;
	size_t n = 0;

	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "/d%d", i);
	owner_classify(path, true, &o);
	assert_int_equal(o.kind, OWNER_SYSTEMD); /* 100 components, no unit among them */
	memset(unit, 'u', sizeof(unit));
	memcpy(unit + sizeof(unit) - 9, ".service", 9);
	snprintf(path, sizeof(path), "/system.slice/%s", unit);
	owner_classify(path, true, &o);
	assert_int_equal(o.kind, OWNER_SYSTEMD);
	assert_string_equal(o.what, "a unit name too long");
	owner_classify("", true, &o);
	assert_int_equal(o.kind, OWNER_SYSTEMD);
	owner_classify("/.service", true, &o); /* no name before the suffix */
	assert_int_equal(o.kind, OWNER_SYSTEMD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_paths),
		cmocka_unit_test(test_owner_long),
	};
	return VS_RUN_TESTS(tests);
}
