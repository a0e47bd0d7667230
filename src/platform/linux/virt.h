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

#endif
