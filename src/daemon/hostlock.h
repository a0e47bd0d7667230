/* hostlock.h - one vspaced per host: an exclusive lock on [host] lock_file that names its holder. */
#ifndef VS_DAEMON_HOSTLOCK_H
#define VS_DAEMON_HOSTLOCK_H

#include <limits.h>
#include <stddef.h>

/* The lock every vspaced takes before it touches anything, whatever its
 * state_dir and cgroup_parent: two daemons managing the same threads would
 * each take the other's settings for the originals. */
#define HOSTLOCK_DEFAULT "/run/vspace/vspaced.lock"

struct hostlock {
	int fd; /* -1 when not held */
	char path[PATH_MAX];
};

/* Take the lock at path (flock, exclusive, not waiting) and write the holder
 * (pid, config, state_dir, cgroup_parent) into it. Returns 0, or -1 with err
 * naming the holder when another vspaced has it. */
int hostlock_take(struct hostlock *l, const char *path, const char *config, const char *state_dir,
		  const char *cgroup_parent, char *err, size_t errlen);
/* Let it go (also at exit: the kernel drops it with the fd). */
void hostlock_release(struct hostlock *l);

#endif
