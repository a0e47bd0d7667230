/* sysroot.c - every /proc, /sys and cgroupfs access goes through one root directory fd (openat). */
#include "platform/linux/sysroot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strutil.h"

int sysroot_open(struct vs_sysroot *r, const char *dir, char *err, size_t errlen)
{
	struct stat a, b;

	memset(r, 0, sizeof(*r));
	r->root_fd = r->proc_fd = r->sys_fd = -1;
	if (strlen(dir) >= sizeof(r->path)) {
		snprintf(err, errlen, "sysroot \"%.40s...\" is too long", dir);
		return -1;
	}
	str_copy(r->path, dir, sizeof(r->path));
	r->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->root_fd < 0) {
		snprintf(err, errlen, "sysroot %s: %s", dir, strerror(errno));
		return -1;
	}
	r->proc_fd = openat(r->root_fd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r->sys_fd = openat(r->root_fd, "sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->proc_fd < 0 || r->sys_fd < 0) {
		snprintf(err, errlen, "sysroot %s: no %s directory", dir,
			 r->proc_fd < 0 ? "proc" : "sys");
		sysroot_close(r);
		return -1;
	}
	/* live when the root is the real "/" */
	r->live = stat("/", &a) == 0 && fstat(r->root_fd, &b) == 0 && a.st_dev == b.st_dev &&
		  a.st_ino == b.st_ino;
	return 0;
}

void sysroot_close(struct vs_sysroot *r)
{
	if (r->proc_fd >= 0)
		close(r->proc_fd);
	if (r->sys_fd >= 0)
		close(r->sys_fd);
	if (r->root_fd >= 0)
		close(r->root_fd);
	r->root_fd = r->proc_fd = r->sys_fd = -1;
}

ssize_t sysroot_read(int dirfd, const char *path, char *buf, size_t len)
{
	size_t n = 0;
	int fd, e;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t k = read(fd, buf + n, len - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == len - 1) {
			char extra;
			k = read(fd, &extra, 1);
			if (k > 0) {
				close(fd);
				buf[n] = '\0';
				errno = EFBIG;
				return -1;
			}
			break;
		}
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

DIR *sysroot_opendir(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e;
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

ssize_t sysroot_read_all(int dirfd, const char *path, char **buf, size_t *cap)
{
	size_t n = 0;
	int fd, e;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		if (*cap - n < 2 || !*buf) {
			size_t nc = *cap ? *cap * 2 : 8192;
			char *nb = realloc(*buf, nc);
			if (!nb) {
				close(fd);
				errno = ENOMEM;
				return -1;
			}
			*buf = nb;
			*cap = nc;
		}
		ssize_t k = read(fd, *buf + n, *cap - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	(*buf)[n] = '\0';
	return (ssize_t)n;
}

int sysroot_read_long(int dirfd, const char *path, long *out)
{
	char buf[64];

	if (sysroot_read(dirfd, path, buf, sizeof(buf)) < 0)
		return -1;
	if (str_to_long(buf, -(1L << 62), 1L << 62, out) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int sysroot_write(const struct vs_sysroot *r, int dirfd, const char *path, const char *text)
{
	size_t len = strlen(text);
	int flags = O_WRONLY | O_CLOEXEC;
	int fd, e;
	ssize_t k;

	if (!r->live)
		flags |= O_CREAT | O_TRUNC;
	fd = openat(dirfd, path, flags, 0644);
	if (fd < 0)
		return -errno;
	do
		k = write(fd, text, len);
	while (k < 0 && errno == EINTR);
	e = k < 0 ? errno : 0;
	if (close(fd) < 0 && e == 0)
		e = errno;
	if (e == 0 && k >= 0 && (size_t)k != len)
		e = EIO;
	return -e;
}

char *sysroot_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return NULL;
	return buf;
}
