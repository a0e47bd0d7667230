/* virt.h - libvirt pinning for libvirt-managed VMs (the single-writer rule: libvirt owns their cgroups). */
#ifndef VS_PLATFORM_LINUX_VIRT_H
#define VS_PLATFORM_LINUX_VIRT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/cpuset.h"

/*
 * A connection to one libvirt URI ("qemu:///system"; "test:///default" in
 * tests). Calls take the domain by name. Errors: 0 or a negative errno:
 * -ENOTCONN when the connection is lost (transient: the next call
 * reconnects), -ENOENT when the domain does not exist, -EOPNOTSUPP when
 * the driver lacks the call, -EINVAL for other refusals (permanent); the
 * last libvirt message is in virt_last_error().
 */
struct vs_virt;

/* Connect (lazily reconnected later). Returns 0, or -1 with err set. */
int virt_open(struct vs_virt **out, const char *uri, char *err, size_t errlen);
/* The same without connecting now (the first call, or virt_tick once
 * watching, does). Returns 0, or -1 with err (out of memory, no libvirt). */
int virt_new(struct vs_virt **out, const char *uri, char *err, size_t errlen);
void virt_close(struct vs_virt *v);
const char *virt_last_error(const struct vs_virt *v);
/* True when built with libvirt. */
bool virt_available(void);

/* Host cpus as libvirt counts them (cpumap size). */
int virt_host_cpus(struct vs_virt *v);
/* Is the domain defined and running? 1 running, 0 not running, <0 error. */
int virt_domain_running(struct vs_virt *v, const char *dom);
/* Number of vCPUs of the running domain, or <0. */
int virt_vcpu_count(struct vs_virt *v, const char *dom);
int virt_get_vcpu_pin(struct vs_virt *v, const char *dom, int vcpu, struct vs_cpuset *out);
int virt_pin_vcpu(struct vs_virt *v, const char *dom, int vcpu, const struct vs_cpuset *cpus);
int virt_get_emulator_pin(struct vs_virt *v, const char *dom, struct vs_cpuset *out);
int virt_pin_emulator(struct vs_virt *v, const char *dom, const struct vs_cpuset *cpus);
/* IOThread ids of the domain (ascending) into ids[max]; returns the count or <0. */
int virt_iothreads(struct vs_virt *v, const char *dom, int *ids, int max);
int virt_get_iothread_pin(struct vs_virt *v, const char *dom, int id, struct vs_cpuset *out);
int virt_pin_iothread(struct vs_virt *v, const char *dom, int id, const struct vs_cpuset *cpus);
/* Suspend (paused=true) or resume the domain; is_paused reads the state. */
int virt_set_paused(struct vs_virt *v, const char *dom, bool paused);
int virt_is_paused(struct vs_virt *v, const char *dom);

/* Hot-plug (FlexVF, vfplug.c): attach / detach a device given as XML to the
 * live domain (virDomainAttachDeviceFlags / virDomainDetachDeviceFlags with
 * VIR_DOMAIN_AFFECT_LIVE; a detach may finish later, with the guest), and
 * whether the live XML has <alias name='ALIAS'/>: 1 yes, 0 no, or -errno. */
int virt_attach_device(struct vs_virt *v, const char *dom, const char *xml);
int virt_detach_device(struct vs_virt *v, const char *dom, const char *xml);
int virt_device_present(struct vs_virt *v, const char *dom, const char *alias);

/* QEMU's monitor through libvirt (virDomainQemuMonitorCommand, QEMU driver
 * only): cmd is one QMP command ("{\"execute\":\"query-cpus-fast\"}");
 * *reply the malloc'd answer (the whole QMP message). libvirt calls this
 * unsupported and marks the domain tainted ("custom-monitor") on first use.
 * Returns 0 or -errno (-EOPNOTSUPP: not a QEMU domain or built without it). */
int virt_qemu_monitor(struct vs_virt *v, const char *dom, const char *cmd, char **reply);

/* ---- Following the domains: events, keepalive, reconnect -------------------------------------
 *
 *   virt_watch(v, loop)         subscribe on this connection and every later one
 *   each period: virt_tick(v)   reconnects with backoff when libvirtd went away
 *                virt_take_events(v, ev, n)
 *
 * Events come through libvirt's event loop (virtevent.h), queued here as
 * they arrive and taken by the platform once per period. After a (re)connect
 * or when the queue overflowed, a VIRT_EV_RESYNC says "list the domains
 * again": nothing seen while disconnected is lost.
 */
struct virtev;

#define VIRT_NAME_MAX 128 /* domain names (libvirt has no limit; longer ones are not managed) */
#define VIRT_EVQ_MAX  64  /* queued events; on overflow, one RESYNC replaces what was lost */

enum virt_event_kind {
	VIRT_EV_STARTED,   /* the domain runs (booted, restored, migrated in) */
	VIRT_EV_STOPPED,   /* it stopped running (shut off, destroyed, crashed, migrated away) */
	VIRT_EV_DEFINED,   /* its configuration was defined or changed */
	VIRT_EV_UNDEFINED, /* its configuration was removed */
	VIRT_EV_SUSPENDED, /* paused */
	VIRT_EV_RESUMED,   /* running again after a pause */
	VIRT_EV_CHANGED, /* cputune (pins) or devices changed: read vCPUs, IOThreads, pins again */
	VIRT_EV_RESYNC,	 /* (re)connected or events lost: list the domains again */
};

struct virt_event {
	enum virt_event_kind kind;
	int detail; /* libvirt's detail code (lifecycle events), else 0 */
	char domain[VIRT_NAME_MAX];
};

/* What status shows of the connection. */
struct virt_conn_info {
	bool connected;
	bool watching;
	unsigned long long connects; /* successful connects, the first one included */
	unsigned long long losses;   /* connections lost (libvirtd stopped, keepalive, I/O) */
	unsigned long long events;   /* domain events received */
	int keepalive;		     /* 1 on, 0 not supported by the driver, -1 failed */
	double down_since_s;	     /* CLOCK_MONOTONIC when the last loss was seen; 0 when up */
	double next_try_s;	     /* when the next connect is tried (disconnected) */
	int backoff_ms;		     /* the current retry interval */
	char last_loss[96];	     /* why the last connection ended */
};

/* Keepalive: a ping after VIRT_KEEPALIVE_S seconds of silence, the
 * connection declared dead after VIRT_KEEPALIVE_COUNT unanswered ones
 * (libvirt's own client default is 5 s x 5; we want a hung libvirtd noticed
 * within ~20 s). Reconnect: first retry at once, then doubling from
 * VIRT_BACKOFF_MIN_MS up to VIRT_BACKOFF_MAX_MS. */
#define VIRT_KEEPALIVE_S     5
#define VIRT_KEEPALIVE_COUNT 3
#define VIRT_BACKOFF_MIN_MS  250
#define VIRT_BACKOFF_MAX_MS  8000

/* Follow this connection's domains through loop (virtevent.h, open before
 * this call). Subscribes now when connected, on every reconnect otherwise.
 * Returns 0, or -1 with err set (built without libvirt). */
int virt_watch(struct vs_virt *v, struct virtev *loop, char *err, size_t errlen);
/* Once per period: close a connection libvirt declared lost; reconnect when
 * the backoff allows. */
void virt_tick(struct vs_virt *v);
/* Events are queued, or libvirt said the connection is lost (virt_tick
 * and virt_take_events have work). */
bool virt_pending(const struct vs_virt *v);
/* Move up to max queued events to out (oldest first); returns the count. */
int virt_take_events(struct vs_virt *v, struct virt_event *out, int max);
/* Names of the running domains (sorted) into names[max]; returns the count
 * (at most max) or -errno. */
int virt_list_running(struct vs_virt *v, char (*names)[VIRT_NAME_MAX], int max);
void virt_conn_info(const struct vs_virt *v, struct virt_conn_info *out);
/* The URI this connection is for. */
const char *virt_uri(const struct vs_virt *v);

#endif
