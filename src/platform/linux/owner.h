/* owner.h - who owns a workload's cgroup on a cgroup v2 host (a systemd unit, a container runtime, libvirt, nobody), read from the path. */
#ifndef VS_PLATFORM_LINUX_OWNER_H
#define VS_PLATFORM_LINUX_OWNER_H

#include <stdbool.h>

#include "platform/linux/units.h"

/*
 * On cgroup v2 a process belongs to one domain cgroup, and that cgroup has
 * one writer (systemd's docs/CGROUP_DELEGATION.md, "single-writer rule").
 * vspace finds the writer from the process's path (/proc/PID/cgroup, the
 * "0::" line) by the managers' naming conventions, then writes only where
 * that writer allows (owner.c, DAEMON.md §4):
 *
 *   kubepods*                                  the kubelet
 *   docker-ID.scope, /docker/ID                Docker
 *   cri-containerd-ID.scope, /containerd/...   containerd
 *   crio-ID.scope, crio-conmon-ID.scope        CRI-O
 *   libpod-ID.scope, libpod_parent             Podman
 *   lxc.payload.NAME, lxc.monitor.NAME, /lxc/  LXC
 *   machine-qemu\x2dN\x2dNAME.scope,           libvirt (systemd and cgroupfs
 *   /machine/NAME.libvirt-qemu                 back ends)
 *   machine.slice/...                          systemd-machined's other guests
 *   .../user@UID.service/.../U                 a user's own systemd
 *   .../U.service, .../U.scope                 the host's systemd: unit U
 *   anything else                              nobody, when systemd is not the
 *                                              init; else systemd's tree
 * The rules are tried in this order, each against every component of the
 * path (so a container inside a kubelet pod is the kubelet's).
 */

enum owner_kind {
	OWNER_NONE = 0,	 /* outside any manager: vspace's own subtree is fine */
	OWNER_UNIT,	 /* a unit of the host's systemd */
	OWNER_USER_UNIT, /* a unit of a user's systemd (user@UID.service) */
	OWNER_CONTAINER, /* a container runtime or the kubelet */
	OWNER_MACHINE,	 /* libvirt, or another guest registered with systemd-machined */
	OWNER_SYSTEMD,	 /* systemd's tree, but no unit vspace can act through */
};

struct owner_path {
	enum owner_kind kind;
	char what[64];		     /* "docker", "kubelet", "libvirt", "user@1000.service", ... */
	char unit[VS_UNIT_NAME_MAX]; /* OWNER_UNIT, OWNER_USER_UNIT: the unit */
	char unit_cgroup[256];	     /* its cgroup, "/system.slice/web.service" */
};

/* Classify cgroup v2 path ("/system.slice/web.service"; "/" the root).
 * systemd: systemd is the host's init (units_systemd_booted). Pure. */
void owner_classify(const char *path, bool systemd, struct owner_path *out);
/* "none", "systemd unit", "user unit", "container", "machine", "systemd". */
const char *owner_kind_name(enum owner_kind k);

#endif
