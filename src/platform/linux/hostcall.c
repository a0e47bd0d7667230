/* hostcall.c - the system calls vspace acts through (affinity, ethtool, signals), live or emulated under a fixture root. */
#include "platform/linux/hostcall.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "platform/linux/procfs.h"

/* mkdir -p of dir below the root (emulation files only). */
static int hostcall_mkdirs(const struct vs_sysroot *r, const char *dir)
{
	char buf[256];
	size_t n = str_copy(buf, dir, sizeof(buf));

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdirat(r->root_fd, buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdirat(r->root_fd, buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int hostcall_emul_write(const struct vs_sysroot *r, const char *dir, const char *file,
			       const char *text)
{
	char path[320];
	int rc = hostcall_mkdirs(r, dir);

	if (rc < 0)
		return rc;
	if (!sysroot_path(path, sizeof(path), "%s/%s", dir, file))
		return -ENAMETOOLONG;
	return sysroot_write(r, r->root_fd, path, text);
}

int hostcall_get_affinity(const struct vs_sysroot *r, int pid, int tid, struct vs_cpuset *out)
{
	char path[96], buf[4096], err[128];

	if (r->live) {
		cpu_set_t *set = CPU_ALLOC(VS_MAX_CPUS);
		size_t sz = CPU_ALLOC_SIZE(VS_MAX_CPUS);
		int rc = 0;

		if (!set)
			return -ENOMEM;
		CPU_ZERO_S(sz, set);
		if (sched_getaffinity(tid, sz, set) < 0) {
			rc = -errno;
		} else {
			cpuset_zero(out);
			for (int c = 0; c < VS_MAX_CPUS; c++)
				if (CPU_ISSET_S(c, sz, set))
					cpuset_set(out, c);
		}
		CPU_FREE(set);
		return rc;
	}
	snprintf(path, sizeof(path), VS_EMUL_DIR "/affinity/%d", tid);
	if (sysroot_read(r->root_fd, path, buf, sizeof(buf)) >= 0)
		return cpuset_parse_list(out, str_trim(buf), err, sizeof(err)) < 0 ? -EINVAL : 0;
	return task_read_allowed(r->proc_fd, pid > 0 ? pid : tid, tid, out) < 0 ? -errno : 0;
}

int hostcall_set_affinity(const struct vs_sysroot *r, int tid, const struct vs_cpuset *cpus)
{
	char name[32], text[4096];

	if (cpuset_empty(cpus))
		return -EINVAL;
	if (r->live) {
		cpu_set_t *set = CPU_ALLOC(VS_MAX_CPUS);
		size_t sz = CPU_ALLOC_SIZE(VS_MAX_CPUS);
		int rc = 0;

		if (!set)
			return -ENOMEM;
		CPU_ZERO_S(sz, set);
		for (int c = cpuset_next(cpus, 0); c >= 0; c = cpuset_next(cpus, c + 1))
			CPU_SET_S(c, sz, set);
		if (sched_setaffinity(tid, sz, set) < 0)
			rc = -errno;
		CPU_FREE(set);
		return rc;
	}
	snprintf(name, sizeof(name), "%d", tid);
	cpuset_format_list(cpus, text, sizeof(text));
	strncat(text, "\n", sizeof(text) - strlen(text) - 1);
	return hostcall_emul_write(r, VS_EMUL_DIR "/affinity", name, text);
}

/* Read up to n unsigned numbers from an emulation file. */
static int hostcall_emul_numbers(const struct vs_sysroot *r, const char *ifname, const char *file,
				 uint32_t *v, int n)
{
	char path[160], buf[256];
	char *p = buf;

	if (!sysroot_path(path, sizeof(path), VS_EMUL_DIR "/ethtool/%s/%s", ifname, file))
		return -ENAMETOOLONG;
	if (sysroot_read(r->root_fd, path, buf, sizeof(buf)) < 0)
		return errno == ENOENT ? -EOPNOTSUPP : -errno;
	for (int i = 0; i < n; i++) {
		char *end;
		unsigned long x;
		while (*p == ' ' || *p == '\t')
			p++;
		errno = 0;
		x = strtoul(p, &end, 10);
		if (end == p || errno || x > UINT32_MAX)
			return -EINVAL;
		v[i] = (uint32_t)x;
		p = end;
	}
	return 0;
}

int hostcall_get_channels(const struct vs_sysroot *r, int sock, const char *ifname,
			  struct vs_channels *ch)
{
	uint32_t v[8];
	int rc;

	if (r->live)
		return ethtool_get_channels(sock, ifname, ch);
	rc = hostcall_emul_numbers(r, ifname, "channels", v, 8);
	if (rc < 0)
		return rc;
	*ch = (struct vs_channels){ v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7] };
	return 0;
}

int hostcall_set_channels(const struct vs_sysroot *r, int sock, const char *ifname,
			  const struct vs_channels *ch)
{
	struct vs_channels cur;
	char dir[128], text[160];
	int rc;

	if (r->live)
		return ethtool_set_channels(sock, ifname, ch);
	rc = hostcall_get_channels(r, sock, ifname, &cur);
	if (rc < 0)
		return rc;
	if (ch->rx > cur.max_rx || ch->tx > cur.max_tx || ch->other > cur.max_other ||
	    ch->combined > cur.max_combined)
		return -EINVAL;
	snprintf(text, sizeof(text), "%u %u %u %u %u %u %u %u\n", cur.max_rx, cur.max_tx,
		 cur.max_other, cur.max_combined, ch->rx, ch->tx, ch->other, ch->combined);
	snprintf(dir, sizeof(dir), VS_EMUL_DIR "/ethtool/%s", ifname);
	return hostcall_emul_write(r, dir, "channels", text);
}

/* The emulation file of a device's (queue < 0) or a queue's coalescing. */
static void hostcall_coal_file(int queue, char *file, size_t len)
{
	if (queue < 0)
		snprintf(file, len, "coalesce");
	else
		snprintf(file, len, "coalesce-q%d", queue);
}

int hostcall_get_coalesce_q(const struct vs_sysroot *r, int sock, const char *ifname, int queue,
			    struct vs_coalesce *co)
{
	uint32_t v[6];
	char file[32];
	int rc;

	if (r->live)
		return ethtool_get_coalesce_queue(sock, ifname, queue, co);
	hostcall_coal_file(queue, file, sizeof(file));
	rc = hostcall_emul_numbers(r, ifname, file, v, 6);
	if (rc < 0)
		return rc;
	*co = (struct vs_coalesce){ v[0], v[1], v[2], v[3], v[4], v[5] };
	return 0;
}

/* Emulated: a driver that reads its coalescing but refuses rx-usecs (tun/tap
 * takes only rx-frames): .vspace-emul/ethtool/<if>/coalesce-refuse. */
static int hostcall_coalesce_refused(const struct vs_sysroot *r, const char *ifname)
{
	char path[160];

	if (!sysroot_path(path, sizeof(path), VS_EMUL_DIR "/ethtool/%s/coalesce-refuse", ifname))
		return -ENAMETOOLONG;
	return faccessat(r->root_fd, path, F_OK, 0) == 0 ? -EOPNOTSUPP : 0;
}

int hostcall_set_coalesce_q(const struct vs_sysroot *r, int sock, const char *ifname, int queue,
			    const struct vs_coalesce *co)
{
	struct vs_coalesce cur;
	char dir[128], file[32], text[160];
	int rc;

	if (r->live)
		return ethtool_set_coalesce_queue(sock, ifname, queue, co);
	rc = hostcall_get_coalesce_q(r, sock, ifname, queue, &cur);
	if (rc < 0)
		return rc;
	if ((rc = hostcall_coalesce_refused(r, ifname)) < 0)
		return rc;
	snprintf(text, sizeof(text), "%u %u %u %u %u %u\n", co->rx_usecs, co->rx_frames,
		 co->tx_usecs, co->tx_frames, co->adaptive_rx, co->adaptive_tx);
	snprintf(dir, sizeof(dir), VS_EMUL_DIR "/ethtool/%s", ifname);
	hostcall_coal_file(queue, file, sizeof(file));
	return hostcall_emul_write(r, dir, file, text);
}

int hostcall_get_coalesce(const struct vs_sysroot *r, int sock, const char *ifname,
			  struct vs_coalesce *co)
{
	return hostcall_get_coalesce_q(r, sock, ifname, -1, co);
}

int hostcall_set_coalesce(const struct vs_sysroot *r, int sock, const char *ifname,
			  const struct vs_coalesce *co)
{
	return hostcall_set_coalesce_q(r, sock, ifname, -1, co);
}

int hostcall_queue_stats(const struct vs_sysroot *r, int sock, const char *ifname,
			 struct vs_qstats *qs)
{
	char path[160], *text = NULL, *save = NULL;
	size_t cap = 0;

	if (r->live)
		return ethtool_queue_stats(sock, ifname, qs);
	memset(qs, 0, sizeof(*qs));
	if (!sysroot_path(path, sizeof(path), VS_EMUL_DIR "/ethtool/%s/stats", ifname))
		return -ENAMETOOLONG;
	if (sysroot_read_all(r->root_fd, path, &text, &cap) < 0) {
		int e = errno;
		free(text);
		return e == ENOENT ? -EOPNOTSUPP : -e;
	}
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], dir;
		unsigned long long v;
		int q;
		bool bytes;
		if (sscanf(line, "%63s %llu", name, &v) != 2 ||
		    !ethtool_parse_queue_stat(name, &dir, &q, &bytes))
			continue;
		if (dir == 'r') {
			(bytes ? qs->rx_bytes : qs->rx_packets)[q] = v;
			if (q + 1 > qs->n_rx)
				qs->n_rx = q + 1;
		} else {
			(bytes ? qs->tx_bytes : qs->tx_packets)[q] = v;
			if (q + 1 > qs->n_tx)
				qs->n_tx = q + 1;
		}
	}
	free(text);
	return 0;
}

int hostcall_signal(const struct vs_sysroot *r, int pid, int sig)
{
	char name[32];

	if (pid <= 0)
		return -EINVAL;
	if (r->live)
		return kill(pid, sig) < 0 ? -errno : 0;
	snprintf(name, sizeof(name), "%d", pid);
	return hostcall_emul_write(r, VS_EMUL_DIR "/signal", name,
				   sig == SIGSTOP   ? "STOP\n"
				   : sig == SIGCONT ? "CONT\n"
						    : "OTHER\n");
}
