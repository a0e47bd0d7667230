/* netns.h - reach a network namespace: its sysfs as a directory fd, and sockets created inside it. */
#ifndef VS_PLATFORM_LINUX_NETNS_H
#define VS_PLATFORM_LINUX_NETNS_H

#include <stddef.h>

/*
 * /sys/class/net shows the devices of the namespace that mounted sysfs, so a
 * NIC in another namespace is reached through a sysfs mounted from inside
 * it: a child process joins the namespace (setns), unshares its mount
 * namespace, mounts sysfs on a private temporary directory, opens it and
 * passes the directory fd back over a socketpair (SCM_RIGHTS). The mount is
 * then detached; the open fd keeps it usable for the daemon's lifetime.
 *
 * ethtool ioctls act on the namespace of the socket they are issued on: the
 * socket is created after a temporary setns of the calling thread, which then
 * returns to its own namespace.
 */

/* Directory fd on a sysfs mounted inside the namespace at nspath (e.g.
 * "/run/netns/vsl-srv"). Returns the fd, or -1 with err set. Needs
 * CAP_SYS_ADMIN. */
int netns_open_sysfs(const char *nspath, char *err, size_t errlen);

/* An AF_INET datagram socket for ethtool ioctls inside the namespace at
 * nspath (NULL: the caller's namespace). Returns the fd, or -1 with err. */
int netns_socket(const char *nspath, char *err, size_t errlen);

#endif
