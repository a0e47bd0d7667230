/* virt.c - libvirt pinning for libvirt-managed VMs (the single-writer rule: libvirt owns their cgroups). */
#include "platform/linux/virt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/strutil.h"
#include "platform/linux/virtevent.h"

#ifdef VS_HAVE_LIBVIRT
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* The domain events we subscribe to, and their callback ids on the connection. */
enum { VIRT_CB_LIFECYCLE, VIRT_CB_TUNABLE, VIRT_CB_DEV_ADDED, VIRT_CB_DEV_REMOVED, VIRT_CB_N };

struct vs_virt {
	char uri[256];
	virConnectPtr conn;
	int host_cpus; /* cached virNodeGetCPUMap count */
	char last_error[256];
	/* watching (virt_watch) */
	struct virtev *loop;
	int cb[VIRT_CB_N]; /* -1 when not registered */
	bool close_cb;	   /* the close callback is registered on conn */
	bool lost;	   /* libvirt said the connection closed: drop it in virt_tick */
	struct virt_conn_info info;
	struct virt_event q[VIRT_EVQ_MAX];
	int q_head, q_n;
	bool q_overflow;
};

static void virt_on_close(virConnectPtr conn, int reason, void *opaque);
static void virt_subscribe(struct vs_virt *v);

/* libvirt prints every error to stderr unless a handler is set. */
static void virt_quiet(void *arg, virErrorPtr e)
{
}

bool virt_available(void)
{
	return true;
}

static double virt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void virt_push(struct vs_virt *v, enum virt_event_kind kind, const char *dom, int detail)
{
	struct virt_event *e;

	if (v->q_n == VIRT_EVQ_MAX) {
		v->q_overflow = true; /* taken as one RESYNC */
		return;
	}
	e = &v->q[(v->q_head + v->q_n++) % VIRT_EVQ_MAX];
	e->kind = kind;
	e->detail = detail;
	str_copy(e->domain, dom ? dom : "", sizeof(e->domain));
}

/* Forget the connection: callbacks off, then close. Safe on a dead one
 * (the deregistrations are local then); never called from libvirt's own
 * callbacks. */
static void virt_drop(struct vs_virt *v, const char *why)
{
	if (!v->conn)
		return;
	for (int i = 0; i < VIRT_CB_N; i++)
		if (v->cb[i] >= 0) {
			virConnectDomainEventDeregisterAny(v->conn, v->cb[i]);
			v->cb[i] = -1;
		}
	if (v->close_cb)
		virConnectUnregisterCloseCallback(v->conn, virt_on_close);
	v->close_cb = false;
	virConnectClose(v->conn);
	v->conn = NULL;
	v->lost = false;
	if (v->loop) {
		double now = virt_now();
		v->info.losses++;
		v->info.connected = false;
		v->info.down_since_s = now;
		v->info.next_try_s = now; /* the first retry at once */
		v->info.backoff_ms = 0;
		if (why)
			str_copy(v->info.last_loss, why, sizeof(v->info.last_loss));
	}
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
			virt_drop(v, what);
			return -ENOTCONN;
		}
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

/* Connect when not connected. Watching, a failed try waits out the backoff
 * before the next one, and a success subscribes to the events again. */
static int virt_connect(struct vs_virt *v)
{
	double now;

	if (v->conn)
		return 0;
	now = virt_now();
	if (v->loop && now < v->info.next_try_s)
		return -ENOTCONN;
	v->conn = virConnectOpen(v->uri);
	if (!v->conn) {
		virt_fail(v, "connect");
		if (v->loop) {
			int b = v->info.backoff_ms;
			b = b == 0 ? VIRT_BACKOFF_MIN_MS
				   : (b * 2 > VIRT_BACKOFF_MAX_MS ? VIRT_BACKOFF_MAX_MS : b * 2);
			v->info.backoff_ms = b;
			v->info.next_try_s = now + b * 1e-3;
		}
		return -ENOTCONN;
	}
	v->info.connects++;
	v->host_cpus = 0;
	if (v->loop)
		virt_subscribe(v);
	return 0;
}

int virt_new(struct vs_virt **out, const char *uri, char *err, size_t errlen)
{
	struct vs_virt *v = calloc(1, sizeof(*v));

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	virSetErrorFunc(NULL, virt_quiet);
	str_copy(v->uri, uri, sizeof(v->uri));
	for (int i = 0; i < VIRT_CB_N; i++)
		v->cb[i] = -1;
	*out = v;
	return 0;
}

int virt_open(struct vs_virt **out, const char *uri, char *err, size_t errlen)
{
	struct vs_virt *v;

	if (virt_new(&v, uri, err, errlen) < 0)
		return -1;
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
	virt_drop(v, NULL);
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

int virt_qemu_monitor(struct vs_virt *v, const char *dom, const char *cmd, char **reply)
{
	virDomainPtr d;
	int rc = virt_lookup(v, dom, &d);

	*reply = NULL;
	if (rc < 0)
		return rc;
	rc = virDomainQemuMonitorCommand(d, cmd, reply, VIR_DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT);
	rc = rc < 0 ? virt_fail(v, "virDomainQemuMonitorCommand") : 0;
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

/* ---- Following the domains --------------------------------------------------------------------- */

static int virt_on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
			     void *opaque)
{
	struct vs_virt *v = opaque;
	enum virt_event_kind kind;

	v->info.events++;
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		kind = VIRT_EV_STARTED;
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
	case VIR_DOMAIN_EVENT_CRASHED:
		kind = VIRT_EV_STOPPED;
		break;
	case VIR_DOMAIN_EVENT_DEFINED:
		kind = VIRT_EV_DEFINED;
		break;
	case VIR_DOMAIN_EVENT_UNDEFINED:
		kind = VIRT_EV_UNDEFINED;
		break;
	case VIR_DOMAIN_EVENT_SUSPENDED:
		kind = VIRT_EV_SUSPENDED;
		break;
	case VIR_DOMAIN_EVENT_RESUMED:
		kind = VIRT_EV_RESUMED;
		break;
	default: /* SHUTDOWN (a STOPPED follows), PMSUSPENDED */
		return 0;
	}
	virt_push(v, kind, virDomainGetName(dom), detail);
	return 0;
}

/* cputune changes (pins; libvirt 9 has no vCPU hot-plug event of its own) */
static void virt_on_tunable(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params,
			    int nparams, void *opaque)
{
	struct vs_virt *v = opaque;

	v->info.events++;
	virt_push(v, VIRT_EV_CHANGED, virDomainGetName(dom), 0);
}

static void virt_on_device(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	struct vs_virt *v = opaque;

	v->info.events++;
	virt_push(v, VIRT_EV_CHANGED, virDomainGetName(dom), 0);
}

static void virt_on_close(virConnectPtr conn, int reason, void *opaque)
{
	static const char *const why[] = { "I/O error", "libvirtd closed the connection",
					   "keepalive timed out", "closed by us" };
	struct vs_virt *v = opaque;

	/* never close from inside libvirt's callback: virt_tick does */
	v->lost = true;
	snprintf(v->info.last_loss, sizeof(v->info.last_loss), "%s",
		 reason >= 0 && reason < (int)(sizeof(why) / sizeof(why[0])) ? why[reason]
									     : "closed");
}

/* On a fresh connection: the events, the close notice, keepalive; then a
 * RESYNC so the platform lists the domains (what happened meanwhile). */
static void virt_subscribe(struct vs_virt *v)
{
	static const int ids[VIRT_CB_N] = { VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					    VIR_DOMAIN_EVENT_ID_TUNABLE,
					    VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
					    VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED };
	const virConnectDomainEventGenericCallback cbs[VIRT_CB_N] = {
		VIR_DOMAIN_EVENT_CALLBACK(virt_on_lifecycle),
		VIR_DOMAIN_EVENT_CALLBACK(virt_on_tunable),
		VIR_DOMAIN_EVENT_CALLBACK(virt_on_device),
		VIR_DOMAIN_EVENT_CALLBACK(virt_on_device),
	};
	int rc;

	for (int i = 0; i < VIRT_CB_N; i++) {
		v->cb[i] = virConnectDomainEventRegisterAny(v->conn, NULL, ids[i], cbs[i], v, NULL);
		if (v->cb[i] < 0)
			virt_fail(v, "virConnectDomainEventRegisterAny");
	}
	v->close_cb = virConnectRegisterCloseCallback(v->conn, virt_on_close, v, NULL) == 0;
	/* 1: the daemon has no keepalive; local drivers (test:///) have no call for it */
	rc = virConnectSetKeepAlive(v->conn, VIRT_KEEPALIVE_S, VIRT_KEEPALIVE_COUNT);
	if (rc < 0 && virGetLastError() && virGetLastError()->code == VIR_ERR_NO_SUPPORT)
		rc = 1;
	v->info.keepalive = rc == 0 ? 1 : rc == 1 ? 0 : -1;
	v->info.connected = true;
	v->info.down_since_s = 0;
	v->info.backoff_ms = 0;
	v->lost = false;
	virt_push(v, VIRT_EV_RESYNC, NULL, 0);
}

int virt_watch(struct vs_virt *v, struct virtev *loop, char *err, size_t errlen)
{
	if (!loop) {
		snprintf(err, errlen, "libvirt events: no event loop");
		return -1;
	}
	v->loop = loop;
	if (v->conn)
		virt_subscribe(v);
	else
		v->info.next_try_s = 0;
	return 0;
}

void virt_tick(struct vs_virt *v)
{
	if (v->lost) {
		char why[sizeof(v->info.last_loss)];
		str_copy(why, v->info.last_loss, sizeof(why));
		virt_drop(v, why);
	}
	if (!v->conn && v->loop)
		virt_connect(v);
}

bool virt_pending(const struct vs_virt *v)
{
	return v->q_n > 0 || v->q_overflow || v->lost;
}

int virt_take_events(struct vs_virt *v, struct virt_event *out, int max)
{
	int k = 0;

	while (v->q_n > 0 && k < max) {
		out[k++] = v->q[v->q_head];
		v->q_head = (v->q_head + 1) % VIRT_EVQ_MAX;
		v->q_n--;
	}
	if (v->q_overflow && v->q_n == 0 && k < max) {
		memset(&out[k], 0, sizeof(out[k]));
		out[k++].kind = VIRT_EV_RESYNC;
		v->q_overflow = false;
	}
	return k;
}

static int virt_cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

int virt_list_running(struct vs_virt *v, char (*names)[VIRT_NAME_MAX], int max)
{
	virDomainPtr *doms = NULL;
	int n, k = 0;

	if (virt_connect(v) < 0)
		return -ENOTCONN;
	n = virConnectListAllDomains(v->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0)
		return virt_fail(v, "virConnectListAllDomains");
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		if (name && strlen(name) < VIRT_NAME_MAX && k < max)
			str_copy(names[k++], name, VIRT_NAME_MAX);
		virDomainFree(doms[i]);
	}
	free(doms);
	qsort(names, (size_t)k, VIRT_NAME_MAX, virt_cmp_name);
	return k;
}

void virt_conn_info(const struct vs_virt *v, struct virt_conn_info *out)
{
	*out = v->info;
	out->connected = v->conn != NULL && !v->lost;
	out->watching = v->loop != NULL;
}

const char *virt_uri(const struct vs_virt *v)
{
	return v->uri;
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

int virt_new(struct vs_virt **out, const char *uri, char *err, size_t errlen)
{
	return virt_open(out, uri, err, errlen);
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
int virt_list_running(struct vs_virt *v, char (*names)[VIRT_NAME_MAX], int max) VIRT_STUB();
int virt_attach_device(struct vs_virt *v, const char *dom, const char *xml) VIRT_STUB();
int virt_detach_device(struct vs_virt *v, const char *dom, const char *xml) VIRT_STUB();
int virt_device_present(struct vs_virt *v, const char *dom, const char *alias) VIRT_STUB();

int virt_qemu_monitor(struct vs_virt *v, const char *dom, const char *cmd, char **reply)
{
	*reply = NULL;
	return -EOPNOTSUPP;
}

int virt_watch(struct vs_virt *v, struct virtev *loop, char *err, size_t errlen)
{
	snprintf(err, errlen, "vspace was built without libvirt (install libvirt-dev and rebuild)");
	return -1;
}

void virt_tick(struct vs_virt *v)
{
}

bool virt_pending(const struct vs_virt *v)
{
	return false;
}

int virt_take_events(struct vs_virt *v, struct virt_event *out, int max)
{
	return 0;
}

void virt_conn_info(const struct vs_virt *v, struct virt_conn_info *out)
{
	memset(out, 0, sizeof(*out));
}

const char *virt_uri(const struct vs_virt *v)
{
	return "";
}
#endif
