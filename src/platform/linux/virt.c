/* virt.c - libvirt pinning for libvirt-managed VMs (the single-writer rule: libvirt owns their cgroups). */
#include "platform/linux/virt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"

#ifdef VS_HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

struct vs_virt {
	char uri[256];
	virConnectPtr conn;
	int host_cpus; /* cached virNodeGetCPUMap count */
	char last_error[256];
};

/* libvirt prints every error to stderr unless a handler is set. */
static void virt_quiet(void *arg, virErrorPtr e)
{
}

bool virt_available(void)
{
	return true;
}

static int virt_fail(struct vs_virt *v, const char *what)
{
	virErrorPtr e = virGetLastError();
	int code = e ? e->code : VIR_ERR_INTERNAL_ERROR;

	snprintf(v->last_error, sizeof(v->last_error), "%s: %s", what,
		 e && e->message ? e->message : "unknown libvirt error");
	switch (code) {
	case VIR_ERR_NO_DOMAIN:
		return -ENOENT;
	case VIR_ERR_NO_SUPPORT:
	case VIR_ERR_ARGUMENT_UNSUPPORTED:
		return -EOPNOTSUPP;
	case VIR_ERR_OPERATION_TIMEOUT:
	case VIR_ERR_AGENT_UNRESPONSIVE:
		return -EAGAIN;
	case VIR_ERR_SYSTEM_ERROR:
	case VIR_ERR_RPC:
	case VIR_ERR_NO_CONNECT:
	case VIR_ERR_INVALID_CONN:
		if (v->conn && virConnectIsAlive(v->conn) != 1) {
			virConnectClose(v->conn);
			v->conn = NULL;
			return -ENOTCONN;
		}
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

static int virt_connect(struct vs_virt *v)
{
	if (v->conn)
		return 0;
	v->conn = virConnectOpen(v->uri);
	if (!v->conn) {
		virt_fail(v, "connect");
		return -ENOTCONN;
	}
	return 0;
}

int virt_open(struct vs_virt **out, const char *uri, char *err, size_t errlen)
{
	struct vs_virt *v = calloc(1, sizeof(*v));

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	virSetErrorFunc(NULL, virt_quiet);
	str_copy(v->uri, uri, sizeof(v->uri));
	if (virt_connect(v) < 0) {
		snprintf(err, errlen, "libvirt %s: %s", uri, v->last_error);
		free(v);
		return -1;
	}
	*out = v;
	return 0;
}

void virt_close(struct vs_virt *v)
{
	if (!v)
		return;
	if (v->conn)
		virConnectClose(v->conn);
	free(v);
}

const char *virt_last_error(const struct vs_virt *v)
{
	return v ? v->last_error : "libvirt not connected";
}

int virt_host_cpus(struct vs_virt *v)
{
	int n;

	if (virt_connect(v) < 0)
		return -ENOTCONN;
	n = virNodeGetCPUMap(v->conn, NULL, NULL, 0);
	return n < 0 ? virt_fail(v, "virNodeGetCPUMap") : n;
}

/* Look up dom; *d must be freed with virDomainFree. */
static int virt_lookup(struct vs_virt *v, const char *dom, virDomainPtr *d)
{
	if (virt_connect(v) < 0)
		return -ENOTCONN;
	*d = virDomainLookupByName(v->conn, dom);
	return *d ? 0 : virt_fail(v, "virDomainLookupByName");
}

/* cpumap <-> cpuset */
static int virt_maplen(struct vs_virt *v)
{
	int n = v->host_cpus > 0 ? v->host_cpus : virt_host_cpus(v);

	if (n < 0)
		return n;
	v->host_cpus = n;
	return VIR_CPU_MAPLEN(n);
}

static void virt_to_map(const struct vs_cpuset *s, unsigned char *map, int maplen)
{
	memset(map, 0, (size_t)maplen);
	for (int c = cpuset_next(s, 0); c >= 0 && c < maplen * 8; c = cpuset_next(s, c + 1))
		VIR_USE_CPU(map, c);
}

/* What every call with a fixed-size cpumap starts with: the map length for
 * this host (at most maxlen bytes) and the domain. Returns the map length,
 * with *d to free with virDomainFree, or -errno. */
static int virt_domain_map(struct vs_virt *v, const char *dom, virDomainPtr *d, int maxlen)
{
	int maplen = virt_maplen(v), rc;

	if (maplen < 0)
		return maplen;
	rc = virt_lookup(v, dom, d);
	if (rc < 0)
		return rc;
	return maplen < maxlen ? maplen : maxlen;
}

static void virt_from_map(const unsigned char *map, int maplen, struct vs_cpuset *s)
{
	cpuset_zero(s);
	for (int c = 0; c < maplen * 8 && c < VS_MAX_CPUS; c++)
		if (VIR_CPU_USABLE(map, maplen, 0, c))
			cpuset_set(s, c);
}

int virt_domain_running(struct vs_virt *v, const char *dom)
{
	virDomainPtr d;
	int rc = virt_lookup(v, dom, &d);

	if (rc < 0)
		return rc;
	rc = virDomainIsActive(d);
	if (rc < 0)
		rc = virt_fail(v, "virDomainIsActive");
	virDomainFree(d);
	return rc;
}

int virt_vcpu_count(struct vs_virt *v, const char *dom)
{
	virDomainPtr d;
	int rc = virt_lookup(v, dom, &d);

	if (rc < 0)
		return rc;
	rc = virDomainGetVcpusFlags(d, VIR_DOMAIN_AFFECT_CURRENT);
	if (rc < 0)
		rc = virt_fail(v, "virDomainGetVcpusFlags");
	virDomainFree(d);
	return rc;
}

int virt_get_vcpu_pin(struct vs_virt *v, const char *dom, int vcpu, struct vs_cpuset *out)
{
	virDomainPtr d;
	int maplen = virt_maplen(v), n, rc;
	unsigned char *maps;

	if (maplen < 0)
		return maplen;
	rc = virt_lookup(v, dom, &d);
	if (rc < 0)
		return rc;
	n = virDomainGetVcpusFlags(d, VIR_DOMAIN_AFFECT_CURRENT);
	if (n <= vcpu || n < 0) {
		rc = n < 0 ? virt_fail(v, "virDomainGetVcpusFlags") : -ENOENT;
		virDomainFree(d);
		return rc;
	}
	maps = calloc((size_t)n, (size_t)maplen);
	if (!maps) {
		virDomainFree(d);
		return -ENOMEM;
	}
	rc = virDomainGetVcpuPinInfo(d, n, maps, maplen, VIR_DOMAIN_AFFECT_CURRENT);
	if (rc < 0)
		rc = virt_fail(v, "virDomainGetVcpuPinInfo");
	else {
		virt_from_map(VIR_GET_CPUMAP(maps, maplen, vcpu), maplen, out);
		rc = 0;
	}
	free(maps);
	virDomainFree(d);
	return rc;
}

int virt_pin_vcpu(struct vs_virt *v, const char *dom, int vcpu, const struct vs_cpuset *cpus)
{
	unsigned char map[VS_MAX_CPUS / 8];
	virDomainPtr d;
	int maplen = virt_domain_map(v, dom, &d, (int)sizeof(map)), rc;

	if (maplen < 0)
		return maplen;
	virt_to_map(cpus, map, maplen);
	rc = virDomainPinVcpuFlags(d, (unsigned)vcpu, map, maplen, VIR_DOMAIN_AFFECT_CURRENT);
	rc = rc < 0 ? virt_fail(v, "virDomainPinVcpuFlags") : 0;
	virDomainFree(d);
	return rc;
}

int virt_get_emulator_pin(struct vs_virt *v, const char *dom, struct vs_cpuset *out)
{
	unsigned char map[VS_MAX_CPUS / 8];
	virDomainPtr d;
	int maplen = virt_domain_map(v, dom, &d, (int)sizeof(map)), rc;

	if (maplen < 0)
		return maplen;
	rc = virDomainGetEmulatorPinInfo(d, map, maplen, VIR_DOMAIN_AFFECT_CURRENT);
	if (rc < 0)
		rc = virt_fail(v, "virDomainGetEmulatorPinInfo");
	else {
		virt_from_map(map, maplen, out);
		rc = 0;
	}
	virDomainFree(d);
	return rc;
}

int virt_pin_emulator(struct vs_virt *v, const char *dom, const struct vs_cpuset *cpus)
{
	unsigned char map[VS_MAX_CPUS / 8];
	virDomainPtr d;
	int maplen = virt_domain_map(v, dom, &d, (int)sizeof(map)), rc;

	if (maplen < 0)
		return maplen;
	virt_to_map(cpus, map, maplen);
	rc = virDomainPinEmulator(d, map, maplen, VIR_DOMAIN_AFFECT_CURRENT);
	rc = rc < 0 ? virt_fail(v, "virDomainPinEmulator") : 0;
	virDomainFree(d);
	return rc;
}

/* Fetch the IOThread info array; returns the count or <0. */
static int virt_iothread_info(struct vs_virt *v, const char *dom, virDomainIOThreadInfoPtr **info)
{
	virDomainPtr d;
	int rc = virt_lookup(v, dom, &d);

	if (rc < 0)
		return rc;
	rc = virDomainGetIOThreadInfo(d, info, VIR_DOMAIN_AFFECT_CURRENT);
	if (rc < 0)
		rc = virt_fail(v, "virDomainGetIOThreadInfo");
	virDomainFree(d);
	return rc;
}

static int virt_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int virt_iothreads(struct vs_virt *v, const char *dom, int *ids, int max)
{
	virDomainIOThreadInfoPtr *info = NULL;
	int n = virt_iothread_info(v, dom, &info), k = 0;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (k < max)
			ids[k++] = (int)info[i]->iothread_id;
		virDomainIOThreadInfoFree(info[i]);
	}
	free(info);
	qsort(ids, (size_t)k, sizeof(int), virt_cmp_int);
	return k;
}

int virt_get_iothread_pin(struct vs_virt *v, const char *dom, int id, struct vs_cpuset *out)
{
	virDomainIOThreadInfoPtr *info = NULL;
	int n = virt_iothread_info(v, dom, &info), rc = -ENOENT;

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if ((int)info[i]->iothread_id == id) {
			virt_from_map(info[i]->cpumap, info[i]->cpumaplen, out);
			rc = 0;
		}
		virDomainIOThreadInfoFree(info[i]);
	}
	free(info);
	return rc;
}

int virt_pin_iothread(struct vs_virt *v, const char *dom, int id, const struct vs_cpuset *cpus)
{
	unsigned char map[VS_MAX_CPUS / 8];
	virDomainPtr d;
	int maplen = virt_domain_map(v, dom, &d, (int)sizeof(map)), rc;

	if (maplen < 0)
		return maplen;
	virt_to_map(cpus, map, maplen);
	rc = virDomainPinIOThread(d, (unsigned)id, map, maplen, VIR_DOMAIN_AFFECT_CURRENT);
	rc = rc < 0 ? virt_fail(v, "virDomainPinIOThread") : 0;
	virDomainFree(d);
	return rc;
}

int virt_is_paused(struct vs_virt *v, const char *dom)
{
	virDomainPtr d;
	int rc = virt_lookup(v, dom, &d), state, reason;

	if (rc < 0)
		return rc;
	rc = virDomainGetState(d, &state, &reason, 0);
	rc = rc < 0 ? virt_fail(v, "virDomainGetState") : state == VIR_DOMAIN_PAUSED;
	virDomainFree(d);
	return rc;
}

int virt_set_paused(struct vs_virt *v, const char *dom, bool paused)
{
	virDomainPtr d;
	int rc = virt_lookup(v, dom, &d);

	if (rc < 0)
		return rc;
	rc = paused ? virDomainSuspend(d) : virDomainResume(d);
	rc = rc < 0 ? virt_fail(v, paused ? "virDomainSuspend" : "virDomainResume") : 0;
	virDomainFree(d);
	return rc;
}

/* FlexVF's hot-plug (vfplug.c): a device's XML attached to / detached from
 * the live domain, and whether the live definition names an alias. */
int virt_attach_device(struct vs_virt *v, const char *dom, const char *xml)
{
	virDomainPtr d;
	int rc = virt_lookup(v, dom, &d);

	if (rc < 0)
		return rc;
	rc = virDomainAttachDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_LIVE) < 0
		     ? virt_fail(v, "virDomainAttachDeviceFlags")
		     : 0;
	virDomainFree(d);
	return rc;
}

int virt_detach_device(struct vs_virt *v, const char *dom, const char *xml)
{
	virDomainPtr d;
	int rc = virt_lookup(v, dom, &d);

	if (rc < 0)
		return rc;
	rc = virDomainDetachDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_LIVE) < 0
		     ? virt_fail(v, "virDomainDetachDeviceFlags")
		     : 0;
	virDomainFree(d);
	return rc;
}

int virt_device_present(struct vs_virt *v, const char *dom, const char *alias)
{
	virDomainPtr d;
	char needle[96];
	char *xml;
	int rc = virt_lookup(v, dom, &d);

	if (rc < 0)
		return rc;
	xml = virDomainGetXMLDesc(d, 0);
	virDomainFree(d);
	if (!xml)
		return virt_fail(v, "virDomainGetXMLDesc");
	snprintf(needle, sizeof(needle), "<alias name='%s'/>", alias);
	rc = strstr(xml, needle) != NULL;
	free(xml);
	return rc;
}

#else /* !VS_HAVE_LIBVIRT */

struct vs_virt {
	int unused;
};

bool virt_available(void)
{
	return false;
}

int virt_open(struct vs_virt **out, const char *uri, char *err, size_t errlen)
{
	snprintf(err, errlen, "vspace was built without libvirt (install libvirt-dev and rebuild)");
	return -1;
}

void virt_close(struct vs_virt *v)
{
}

const char *virt_last_error(const struct vs_virt *v)
{
	return "built without libvirt";
}

#define VIRT_STUB(...)                                                                             \
	{                                                                                          \
		return -EOPNOTSUPP;                                                                \
	}
int virt_host_cpus(struct vs_virt *v) VIRT_STUB();
int virt_domain_running(struct vs_virt *v, const char *dom) VIRT_STUB();
int virt_vcpu_count(struct vs_virt *v, const char *dom) VIRT_STUB();
int virt_get_vcpu_pin(struct vs_virt *v, const char *dom, int vcpu, struct vs_cpuset *out)
	VIRT_STUB();
int virt_pin_vcpu(struct vs_virt *v, const char *dom, int vcpu, const struct vs_cpuset *cpus)
	VIRT_STUB();
int virt_get_emulator_pin(struct vs_virt *v, const char *dom, struct vs_cpuset *out) VIRT_STUB();
int virt_pin_emulator(struct vs_virt *v, const char *dom, const struct vs_cpuset *cpus) VIRT_STUB();
int virt_iothreads(struct vs_virt *v, const char *dom, int *ids, int max) VIRT_STUB();
int virt_get_iothread_pin(struct vs_virt *v, const char *dom, int id, struct vs_cpuset *out)
	VIRT_STUB();
int virt_pin_iothread(struct vs_virt *v, const char *dom, int id, const struct vs_cpuset *cpus)
	VIRT_STUB();
int virt_set_paused(struct vs_virt *v, const char *dom, bool paused) VIRT_STUB();
int virt_is_paused(struct vs_virt *v, const char *dom) VIRT_STUB();
int virt_attach_device(struct vs_virt *v, const char *dom, const char *xml) VIRT_STUB();
int virt_detach_device(struct vs_virt *v, const char *dom, const char *xml) VIRT_STUB();
int virt_device_present(struct vs_virt *v, const char *dom, const char *alias) VIRT_STUB();
#endif
