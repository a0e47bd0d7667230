/* procfs.h - parsers and readers for /proc/stat, /proc/<pid>/task/<tid>/{comm,stat,schedstat,status}, /proc/interrupts. */
#ifndef VS_PLATFORM_LINUX_PROCFS_H
#define VS_PLATFORM_LINUX_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cpuset.h"

/* ---- /proc/stat -------------------------------------------------------------- */

/* One CPU's cumulative time, in USER_HZ ticks (1/100 s on Linux). busy is
 * user+nice+system+irq+softirq+steal; guest and guest_nice are not added
 * because the kernel already counts them in user and nice (proc(5)). */
struct vs_cpu_ticks {
	uint64_t busy;
	uint64_t total; /* busy + idle + iowait */
};

struct vs_procstat {
	struct vs_cpuset present; /* cpus with a "cpuN" line */
	struct vs_cpu_ticks cpu[VS_MAX_CPUS];
};

/* Parse the text of /proc/stat. Returns 0, or -1 with err naming the line. */
int procstat_parse(const char *text, struct vs_procstat *out, char *err, size_t errlen);
/* Busy and total ticks of the cpus in set between two snapshots (cpus missing
 * from either snapshot are skipped; counters going backwards count 0). */
void procstat_delta(const struct vs_procstat *before, const struct vs_procstat *after,
		    const struct vs_cpuset *set, uint64_t *busy, uint64_t *total);

/* ---- /proc/<pid>/task/<tid>/stat --------------------------------------------- */

#define VS_PF_KTHREAD 0x00200000UL /* task flag: a kernel thread */

struct vs_taskstat {
	char state;	      /* R, S, D, Z, ... */
	unsigned long flags;  /* PF_* */
	uint64_t utime_ticks; /* user time, USER_HZ ticks */
	uint64_t stime_ticks; /* system time */
	uint64_t start_ticks; /* start time after boot: with the tid, identifies a thread */
	int processor;	      /* cpu it last ran on */
};

/* Parse a task's stat line; comm (may hold spaces and parentheses) is copied
 * into comm. Returns 0, or -1 when the line is malformed. */
int task_parse_stat(const char *text, char *comm, size_t commlen, struct vs_taskstat *st);
/* Read /proc/<pid>/task/<tid>/stat (tid == pid reads the process itself).
 * Returns 0, or -1 with errno (ENOENT/ESRCH: gone; EINVAL: malformed). */
int task_read_stat(int proc_fd, int pid, int tid, char *comm, size_t commlen,
		   struct vs_taskstat *st);
/* Run time of a task in nanoseconds from .../schedstat (first field).
 * Returns 0 or -1 (errno). */
int task_read_runtime(int proc_fd, int pid, int tid, uint64_t *runtime_ns);
/* Read comm (trailing newline removed). Returns 0 or -1 (errno). */
int task_read_comm(int proc_fd, int pid, int tid, char *comm, size_t len);
/* The thread ids of process pid, ascending, into *tids (grown with realloc;
 * *cap entries). Returns the count, or -1 with errno (ENOENT: no such process). */
int task_list(int proc_fd, int pid, int **tids, int *cap);
/* The parent process id (PPid: in /proc/<pid>/status). Returns it, or -1
 * with errno. */
int task_read_ppid(int proc_fd, int pid);
/* Cpus_allowed_list from .../status. Returns 0 or -1 (errno). */
int task_read_allowed(int proc_fd, int pid, int tid, struct vs_cpuset *out);
/* The path of the task's cgroup in a hierarchy, from .../cgroup: for cgroup
 * v1 the line whose controller list contains `controller`; for v2 (controller
 * "") the "0::" line. Returns 0 or -1 (errno; ENODATA when no such line). */
int task_read_cgroup(int proc_fd, int pid, int tid, const char *controller, char *path, size_t len);
/* Parse the content of a cgroup file as above (exposed for tests). */
int task_parse_cgroup(const char *text, const char *controller, char *path, size_t len);

/* ---- /proc/interrupts --------------------------------------------------------- */

struct vs_irq_line {
	int irq;	/* the number before ':' */
	uint64_t count; /* sum over cpus */
	char name[64];	/* the last field: the action (device) name */
};

/* Parse /proc/interrupts; numbered lines only (NMI, LOC, ... are skipped).
 * *lines grows with realloc (*cap entries). Returns the count, or -1 with err. */
int interrupts_parse(const char *text, struct vs_irq_line **lines, int *cap, char *err,
		     size_t errlen);

#endif
