/* procfs.c - parsers and readers for /proc/stat, /proc/<pid>/task/<tid>/..., /proc/interrupts. */
#include "platform/linux/procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "platform/linux/sysroot.h"

/* Parse an unsigned decimal at *p, advancing it; false when none. */
static bool procfs_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s)) {
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		s++;
	}
	*p = s;
	*out = v;
	return true;
}

/* Skip one field: an optionally negative number of any size. */
static bool procfs_skip(const char **p)
{
	const char *s = *p;

	while (*s == ' ')
		s++;
	if (*s == '-')
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	*p = s;
	return true;
}

/* Signed variant (task stat has a few negative fields). */
static bool procfs_i64(const char **p, int64_t *out)
{
	const char *s = *p;
	bool neg = false;
	uint64_t v;

	while (*s == ' ')
		s++;
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (!procfs_u64(&s, &v) || v > INT64_MAX)
		return false;
	*p = s;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

int procstat_parse(const char *text, struct vs_procstat *out, char *err, size_t errlen)
{
	const char *line = text;
	int lineno = 0;

	cpuset_zero(&out->present);
	while (*line) {
		const char *eol = strchr(line, '\n');
		const char *p = line;
		uint64_t v[8] = { 0 };
		uint64_t cpu;
		int n = 0;

		lineno++;
		if (!eol)
			eol = line + strlen(line);
		if (strncmp(p, "cpu", 3) == 0 && isdigit((unsigned char)p[3])) {
			p += 3;
			if (!procfs_u64(&p, &cpu) || cpu >= VS_MAX_CPUS)
				goto bad;
			while (n < 8 && p < eol && procfs_u64(&p, &v[n]))
				n++;
			/* user nice system idle are always there; iowait, irq, softirq,
			 * steal arrived with 2.5/2.6 kernels */
			if (n < 4)
				goto bad;
			while (*p == ' ')
				p++;
			if (p < eol && !isdigit((unsigned char)*p))
				goto bad;
			out->cpu[cpu].busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
			out->cpu[cpu].total = out->cpu[cpu].busy + v[3] + v[4];
			cpuset_set(&out->present, (int)cpu);
		}
		line = *eol ? eol + 1 : eol;
	}
	if (cpuset_empty(&out->present)) {
		snprintf(err, errlen, "no cpuN lines");
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "line %d: malformed cpu line", lineno);
	return -1;
}

void procstat_delta(const struct vs_procstat *before, const struct vs_procstat *after,
		    const struct vs_cpuset *set, uint64_t *busy, uint64_t *total)
{
	*busy = *total = 0;
	for (int c = cpuset_next(set, 0); c >= 0; c = cpuset_next(set, c + 1)) {
		const struct vs_cpu_ticks *a = &before->cpu[c], *b = &after->cpu[c];
		if (!cpuset_test(&before->present, c) || !cpuset_test(&after->present, c))
			continue;
		if (b->busy > a->busy)
			*busy += b->busy - a->busy;
		if (b->total > a->total)
			*total += b->total - a->total;
	}
}

int task_parse_stat(const char *text, char *comm, size_t commlen, struct vs_taskstat *st)
{
	const char *open = strchr(text, '('), *close = strrchr(text, ')');
	const char *p;
	uint64_t u;
	int64_t s;
	size_t n;

	memset(st, 0, sizeof(*st));
	if (!open || !close || close < open)
		return -1;
	n = (size_t)(close - open - 1);
	if (comm && commlen > 0) {
		if (n >= commlen)
			n = commlen - 1;
		memcpy(comm, open + 1, n);
		comm[n] = '\0';
	}
	p = close + 1;
	while (*p == ' ')
		p++;
	if (!*p || *p == '\n')
		return -1;
	st->state = *p++;
	/* fields 4..: ppid pgrp session tty_nr tpgid flags */
	for (int f = 4; f <= 8; f++)
		if (!procfs_skip(&p))
			return -1;
	if (!procfs_u64(&p, &u))
		return -1;
	st->flags = (unsigned long)u;
	/* minflt cminflt majflt cmajflt */
	for (int f = 10; f <= 13; f++)
		if (!procfs_u64(&p, &u))
			return -1;
	if (!procfs_u64(&p, &st->utime_ticks) || !procfs_u64(&p, &st->stime_ticks))
		return -1;
	/* cutime cstime priority nice num_threads itrealvalue */
	for (int f = 16; f <= 21; f++)
		if (!procfs_skip(&p))
			return -1;
	if (!procfs_u64(&p, &st->start_ticks))
		return -1;
	/* vsize rss rsslim startcode endcode startstack kstkesp kstkeip signal
	 * blocked sigignore sigcatch wchan nswap cnswap exit_signal */
	for (int f = 23; f <= 38; f++)
		if (!procfs_skip(&p))
			return 0; /* old kernels end early; processor stays 0 */
	if (procfs_i64(&p, &s) && s >= 0 && s < VS_MAX_CPUS)
		st->processor = (int)s;
	return 0;
}

static char *task_path(char *buf, size_t len, int pid, int tid, const char *file)
{
	if (tid == pid || tid <= 0)
		return sysroot_path(buf, len, "%d/%s", pid, file);
	return sysroot_path(buf, len, "%d/task/%d/%s", pid, tid, file);
}

int task_read_stat(int proc_fd, int pid, int tid, char *comm, size_t commlen,
		   struct vs_taskstat *st)
{
	char path[96], buf[1024];

	if (!task_path(path, sizeof(path), pid, tid, "stat")) {
		errno = EINVAL;
		return -1;
	}
	if (sysroot_read(proc_fd, path, buf, sizeof(buf)) < 0)
		return -1;
	if (task_parse_stat(buf, comm, commlen, st) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int task_read_runtime(int proc_fd, int pid, int tid, uint64_t *runtime_ns)
{
	char path[96], buf[128];
	const char *p = buf;

	if (!task_path(path, sizeof(path), pid, tid, "schedstat")) {
		errno = EINVAL;
		return -1;
	}
	if (sysroot_read(proc_fd, path, buf, sizeof(buf)) < 0)
		return -1;
	if (!procfs_u64(&p, runtime_ns)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int task_read_comm(int proc_fd, int pid, int tid, char *comm, size_t len)
{
	char path[96];

	if (!task_path(path, sizeof(path), pid, tid, "comm")) {
		errno = EINVAL;
		return -1;
	}
	if (sysroot_read(proc_fd, path, comm, len) < 0)
		return -1;
	comm[strcspn(comm, "\n")] = '\0';
	return 0;
}

static int task_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int task_list(int proc_fd, int pid, int **tids, int *cap)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%d/task", pid);
	d = sysroot_opendir(proc_fd, path);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		long tid;
		if (de->d_name[0] == '.' || str_to_long(de->d_name, 1, INT32_MAX, &tid) < 0)
			continue;
		if (n == *cap) {
			int nc = *cap ? *cap * 2 : 16;
			int *nt = realloc(*tids, sizeof(int) * (size_t)nc);
			if (!nt) {
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			*tids = nt;
			*cap = nc;
		}
		(*tids)[n++] = (int)tid;
	}
	closedir(d);
	if (n > 1)
		qsort(*tids, (size_t)n, sizeof(int), task_cmp_int);
	return n;
}

int task_read_ppid(int proc_fd, int pid)
{
	char path[96], buf[4096];
	const char *key = "\nPPid:";
	long v;
	char *p;

	if (!task_path(path, sizeof(path), pid, pid, "status")) {
		errno = EINVAL;
		return -1;
	}
	if (sysroot_read(proc_fd, path, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, key);
	if (!p) {
		errno = ENODATA;
		return -1;
	}
	p += strlen(key);
	p[strcspn(p, "\n")] = '\0';
	if (str_to_long(str_trim(p), 0, INT32_MAX, &v) < 0) {
		errno = EINVAL;
		return -1;
	}
	return (int)v;
}

int task_read_allowed(int proc_fd, int pid, int tid, struct vs_cpuset *out)
{
	char path[96], buf[4096], err[128];
	const char *key = "Cpus_allowed_list:";
	char *p, *eol;

	if (!task_path(path, sizeof(path), pid, tid, "status")) {
		errno = EINVAL;
		return -1;
	}
	if (sysroot_read(proc_fd, path, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, key);
	if (!p) {
		errno = ENODATA;
		return -1;
	}
	p += strlen(key);
	eol = strchr(p, '\n');
	if (eol)
		*eol = '\0';
	if (cpuset_parse_list(out, str_trim(p), err, sizeof(err)) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int task_parse_cgroup(const char *text, const char *controller, char *path, size_t len)
{
	const char *line = text;

	while (*line) {
		const char *eol = strchr(line, '\n');
		const char *c1 = strchr(line, ':'), *c2;
		size_t ll = eol ? (size_t)(eol - line) : strlen(line);

		if (c1 && c1 < line + ll && (c2 = strchr(c1 + 1, ':')) && c2 < line + ll) {
			bool match = false;
			size_t clen = (size_t)(c2 - c1 - 1);
			if (controller[0] == '\0') {
				match = strncmp(line, "0::", 3) == 0;
			} else {
				/* comma-separated controller list */
				const char *q = c1 + 1;
				while (q < c2) {
					const char *comma = memchr(q, ',', (size_t)(c2 - q));
					size_t k = comma ? (size_t)(comma - q) : (size_t)(c2 - q);
					if (k == strlen(controller) &&
					    strncmp(q, controller, k) == 0)
						match = true;
					q += k + 1;
				}
				(void)clen;
			}
			if (match) {
				size_t k = (size_t)(line + ll - (c2 + 1));
				if (k >= len) {
					errno = ENAMETOOLONG;
					return -1;
				}
				memcpy(path, c2 + 1, k);
				path[k] = '\0';
				return 0;
			}
		}
		if (!eol)
			break;
		line = eol + 1;
	}
	errno = ENODATA;
	return -1;
}

int task_read_cgroup(int proc_fd, int pid, int tid, const char *controller, char *path, size_t len)
{
	char p[96], buf[4096];

	if (!task_path(p, sizeof(p), pid, tid, "cgroup")) {
		errno = EINVAL;
		return -1;
	}
	if (sysroot_read(proc_fd, p, buf, sizeof(buf)) < 0)
		return -1;
	return task_parse_cgroup(buf, controller, path, len);
}

int interrupts_parse(const char *text, struct vs_irq_line **lines, int *cap, char *err,
		     size_t errlen)
{
	const char *line = text, *eol;
	int ncpu = 0, n = 0, lineno = 1;

	/* header: "CPU0 CPU1 ..." */
	eol = strchr(line, '\n');
	if (!eol) {
		snprintf(err, errlen, "no header line");
		return -1;
	}
	for (const char *p = line; p < eol; p++)
		if (strncmp(p, "CPU", 3) == 0)
			ncpu++;
	if (ncpu == 0) {
		snprintf(err, errlen, "line 1: header names no CPUs");
		return -1;
	}
	line = eol + 1;
	while (*line) {
		const char *p = line, *colon;
		struct vs_irq_line l = { 0 };
		uint64_t v;

		lineno++;
		eol = strchr(line, '\n');
		if (!eol)
			eol = line + strlen(line);
		while (*p == ' ')
			p++;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon) {
			snprintf(err, errlen, "line %d: no ':'", lineno);
			return -1;
		}
		if (!isdigit((unsigned char)*p)) {
			line = *eol ? eol + 1 : eol; /* NMI, LOC, ERR, MIS, ... */
			continue;
		}
		if (!procfs_u64(&p, &v) || p != colon || v > INT32_MAX) {
			snprintf(err, errlen, "line %d: bad IRQ number", lineno);
			return -1;
		}
		l.irq = (int)v;
		p = colon + 1;
		for (int c = 0; c < ncpu; c++) {
			const char *q = p;
			if (!procfs_u64(&q, &v) || q > eol)
				break; /* some lines (e.g. ERR) carry fewer columns */
			l.count += v;
			p = q;
		}
		/* the last blank-separated field is the action name */
		const char *end = eol;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		const char *start = end;
		while (start > p && !isspace((unsigned char)start[-1]))
			start--;
		size_t k = (size_t)(end - start);
		if (k >= sizeof(l.name))
			k = sizeof(l.name) - 1;
		memcpy(l.name, start, k);
		l.name[k] = '\0';
		if (n == *cap) {
			int nc = *cap ? *cap * 2 : 64;
			struct vs_irq_line *nl = realloc(*lines, sizeof(*nl) * (size_t)nc);
			if (!nl) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			*lines = nl;
			*cap = nc;
		}
		(*lines)[n++] = l;
		line = *eol ? eol + 1 : eol;
	}
	return n;
}
