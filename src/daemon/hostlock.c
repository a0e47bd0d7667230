/* hostlock.c - one vspaced per host: an exclusive lock on [host] lock_file that names its holder. */
#include "daemon/hostlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strutil.h"

/* mkdir -p for the lock's directory (not the lock itself). */
static int hostlock_mkdirs(const char *path)
{
	char buf[PATH_MAX];

	str_copy(buf, path, sizeof(buf));
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* The holder's line from the lock file, made printable. */
static void hostlock_holder(int fd, char *out, size_t len)
{
	char buf[512];
	ssize_t k = pread(fd, buf, sizeof(buf) - 1, 0);

	if (k <= 0) {
		str_copy(out, "pid unknown", len);
		return;
	}
	buf[k] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?'; /* someone else's bytes: never raw to a terminal */
	str_copy(out, buf[0] ? buf : "pid unknown", len);
}

int hostlock_take(struct hostlock *l, const char *path, const char *config, const char *state_dir,
		  const char *cgroup_parent, char *err, size_t errlen)
{
	char line[PATH_MAX + 512];
	int fd, n;

	l->fd = -1;
	str_copy(l->path, path, sizeof(l->path));
	if (hostlock_mkdirs(path) < 0) {
		snprintf(err, errlen, "lock_file %s: cannot create its directory: %s", path,
			 strerror(errno));
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "lock_file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char holder[512];
		int e = errno;
		if (e != EWOULDBLOCK) {
			snprintf(err, errlen, "lock_file %s: %s", path, strerror(e));
			close(fd);
			return -1;
		}
		hostlock_holder(fd, holder, sizeof(holder));
		snprintf(err, errlen,
			 "another vspaced manages this host (%s; it holds %s): one vspaced per "
			 "host, "
			 "whatever its state_dir and cgroup_parent; stop it first",
			 holder, path);
		close(fd);
		return -1;
	}
	n = snprintf(line, sizeof(line), "pid %d, config %s, state_dir %s, cgroup_parent %s\n",
		     (int)getpid(), config, state_dir, cgroup_parent);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)strlen(line);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n) {
		snprintf(err, errlen, "lock_file %s: cannot write the holder: %s", path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	l->fd = fd;
	return 0;
}

void hostlock_release(struct hostlock *l)
{
	if (l->fd < 0)
		return;
	/* emptied, not removed: removing it would let a newcomer lock a new
	 * file while a waiter still holds the old one */
	if (ftruncate(l->fd, 0) < 0) {
		/* nothing to do: the lock goes with the fd all the same */
	}
	close(l->fd);
	l->fd = -1;
}
