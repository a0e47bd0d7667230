/* sysroot.h - every /proc, /sys and cgroupfs access goes through one root directory fd (openat). */
#ifndef VS_PLATFORM_LINUX_SYSROOT_H
#define VS_PLATFORM_LINUX_SYSROOT_H

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The daemon resolves every procfs, sysfs and cgroupfs path relative to a root
 * directory: "/" on a live host, a fixture tree in tests (`--sysroot DIR`).
 * Paths handed to the helpers are relative ("proc/stat", "class/net/eth0").
 *
 * On a live host, system calls (sched_setaffinity, ethtool ioctls) act on the
 * host. Under another root they are emulated by files below DIR/.vspace-emul/
 * so that tests can assert every write (see act.h).
 */
struct vs_sysroot {
	int root_fd;		 /* the root directory */
	int proc_fd;		 /* root/proc */
	int sys_fd;		 /* root/sys */
	bool live;		 /* root is "/": syscalls act on the host */
	char path[PATH_MAX / 4]; /* the root as given, for messages */
};

/* Open dir ("/" or a tree). Returns 0, or -1 with err set. */
int sysroot_open(struct vs_sysroot *r, const char *dir, char *err, size_t errlen);
void sysroot_close(struct vs_sysroot *r);

/* Read the small file dirfd/path into buf (NUL-terminated, at most len-1
 * bytes). Returns the length, or -1 with errno set (EFBIG when it did not fit). */
ssize_t sysroot_read(int dirfd, const char *path, char *buf, size_t len);
/* Read a file of any size into *buf (grown with realloc, *cap bytes).
 * Returns the length, or -1 with errno set. */
ssize_t sysroot_read_all(int dirfd, const char *path, char **buf, size_t *cap);
/* Read a whole number from a file ("12\n"). Returns 0 or -1 (errno; EINVAL
 * when the content is not a number). */
int sysroot_read_long(int dirfd, const char *path, long *out);
/* Open the directory dirfd/path for readdir. Returns NULL with errno set
 * (ENOENT: it does not exist); closedir() frees it. */
DIR *sysroot_opendir(int dirfd, const char *path);
/* Write text to dirfd/path in one write(2). On a live root the file must
 * exist (sysfs/procfs/cgroupfs semantics); under a fixture root it is
 * created or truncated. Returns 0 or -errno. */
int sysroot_write(const struct vs_sysroot *r, int dirfd, const char *path, const char *text);
/* Build "fmt..." into buf; returns buf, or NULL when it did not fit. */
char *sysroot_path(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
