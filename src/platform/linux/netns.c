/* netns.c - reach a network namespace: its sysfs as a directory fd, and sockets created inside it. */
#include "platform/linux/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Send fd over the unix socket s. */
static int netns_send_fd(int s, int fd)
{
	char data = 'f';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(s, &m, 0) == 1 ? 0 : -1;
}

/* Receive an fd, or an errno value written as text when the child failed. */
static int netns_recv_fd(int s, char *err, size_t errlen)
{
	char data[160];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) - 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t k;
	int fd;

	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	do
		k = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
	while (k < 0 && errno == EINTR);
	if (k <= 0) {
		snprintf(err, errlen, "helper process gave no answer");
		return -1;
	}
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS) {
		data[k] = '\0';
		snprintf(err, errlen, "%s", data);
		return -1;
	}
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The child: join the namespace, mount sysfs privately, send the dir fd. */
static void netns_child(int s, const char *nspath)
{
	char tmp[] = "/tmp/vspace-netsys-XXXXXX";
	char msg[160];
	const char *step;
	int nsfd, dfd;

	step = "open";
	nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		goto fail;
	step = "setns";
	if (setns(nsfd, CLONE_NEWNET) < 0)
		goto fail;
	step = "unshare(CLONE_NEWNS)";
	if (unshare(CLONE_NEWNS) < 0)
		goto fail;
	step = "make / private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail;
	step = "mkdtemp";
	if (!mkdtemp(tmp))
		goto fail;
	step = "mount sysfs";
	if (mount("sysfs", tmp, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		int e = errno;
		rmdir(tmp);
		errno = e;
		goto fail;
	}
	dfd = open(tmp, O_RDONLY | O_DIRECTORY);
	umount2(tmp, MNT_DETACH);
	rmdir(tmp);
	step = "open the mounted sysfs";
	if (dfd < 0)
		goto fail;
	if (netns_send_fd(s, dfd) < 0)
		_exit(1);
	_exit(0);
fail:
	snprintf(msg, sizeof(msg), "network namespace %s: %s: %s", nspath, step, strerror(errno));
	if (write(s, msg, strlen(msg)) < 0)
		_exit(1);
	_exit(1);
}

int netns_open_sysfs(const char *nspath, char *err, size_t errlen)
{
	int sp[2], fd, status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0) {
		close(sp[0]);
		netns_child(sp[1], nspath);
	}
	close(sp[1]);
	fd = netns_recv_fd(sp[0], err, errlen);
	close(sp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return fd;
}

int netns_socket(const char *nspath, char *err, size_t errlen)
{
	int self = -1, ns = -1, s, e;

	if (!nspath) {
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			snprintf(err, errlen, "socket: %s", strerror(errno));
		return s;
	}
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ns = open(nspath, O_RDONLY | O_CLOEXEC);
	if (self < 0 || ns < 0) {
		snprintf(err, errlen, "network namespace %s: %s",
			 self < 0 ? "of this thread" : nspath, strerror(errno));
		goto out_err;
	}
	if (setns(ns, CLONE_NEWNET) < 0) {
		snprintf(err, errlen, "setns %s: %s", nspath, strerror(errno));
		goto out_err;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	e = errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		/* cannot happen short of a kernel bug; staying in the wrong
		 * namespace would be worse than stopping */
		perror("vspace: setns back to the daemon's network namespace");
		abort();
	}
	close(self);
	close(ns);
	if (s < 0)
		snprintf(err, errlen, "socket in %s: %s", nspath, strerror(e));
	return s;
out_err:
	if (self >= 0)
		close(self);
	if (ns >= 0)
		close(ns);
	return -1;
}
