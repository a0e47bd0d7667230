/* kvmstat.c - KVM's per-VM statistics in debugfs, and the Linux platform's halt-poll accounting of each VM workload (from debugfs, else over QMP). */
#include "platform/linux/kvmstat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/linux_int.h"

/* ---- Reading debugfs ------------------------------------------------------------------ */

int kvmstat_parse_u64(const char *text, uint64_t *out)
{
	const char *p = text;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -1; /* empty, blank, sign */
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (*p == '\n')
		p++;
	if (*p != '\0')
		return -1;
	*out = v;
	return 0;
}

/* A decimal number as the kernel prints one ("%d": no sign, no leading
 * zero) at *p, ending at stop; -1 otherwise. Advances *p. */
static long kvmstat_name_num(const char **p, char stop)
{
	const char *s = *p;
	long v = 0;

	if (*s == '0' && s[1] != stop)
		return -1;
	for (; *s >= '0' && *s <= '9' && v <= INT32_MAX; s++)
		v = v * 10 + (*s - '0');
	if (s == *p || *s != stop || v > INT32_MAX)
		return -1;
	*p = s;
	return v;
}

/* "<pid>-<fd>" with pid == want: fd, else -1. */
static int kvmstat_name_fd(const char *name, int want)
{
	const char *p = name;
	long pid = kvmstat_name_num(&p, '-'), fd;

	if (pid < 0 || pid != want)
		return -1;
	p++;
	fd = kvmstat_name_num(&p, '\0');
	return fd < 0 ? -1 : (int)fd;
}

/* vcpuN subdirectories of KVMSTAT_DIR/name. */
static int kvmstat_count_vcpus(int kvm_fd, const char *name)
{
	int fd = openat(kvm_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	long v;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "vcpu", 4) == 0 &&
		    str_to_long(de->d_name + 4, 0, 1 << 20, &v) == 0)
			n++;
	closedir(d);
	return n;
}

/* Whether sys/kernel/debug has any entry (an unmounted debugfs leaves the
 * empty mount point sysfs provides). */
static bool kvmstat_debugfs_mounted(int sys_fd)
{
	int fd = openat(sys_fd, "kernel/debug", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	bool any = false;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (!any && (de = readdir(d)) != NULL)
		any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return any;
}

static int kvmstat_cmp_fd(const void *a, const void *b)
{
	const struct kvmstat_vm *x = a, *y = b;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

int kvmstat_find(int sys_fd, int pid, struct kvmstat_vm *vms, int max, char *why, size_t whylen)
{
	int fd = openat(sys_fd, KVMSTAT_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0, e;
	DIR *d;
	struct dirent *de;

	if (fd < 0) {
		e = errno;
		if (e == ENOENT && !kvmstat_debugfs_mounted(sys_fd))
			snprintf(why, whylen,
				 "debugfs is not mounted at sys/kernel/debug (mount -t debugfs "
				 "none /sys/kernel/debug)");
		else if (e == ENOENT)
			snprintf(why, whylen,
				 "no sys/" KVMSTAT_DIR " in debugfs: the kvm module is not loaded");
		else
			snprintf(why, whylen,
				 "cannot open sys/" KVMSTAT_DIR ": %s (debugfs is readable by root "
				 "only; kernel lockdown also restricts it)",
				 strerror(e));
		return -1;
	}
	d = fdopendir(fd);
	if (!d) {
		snprintf(why, whylen, "cannot list sys/" KVMSTAT_DIR ": %s", strerror(errno));
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		int vfd = kvmstat_name_fd(de->d_name, pid);
		if (vfd < 0 || n >= max)
			continue;
		str_copy(vms[n].name, de->d_name, sizeof(vms[n].name));
		vms[n].fd = vfd;
		vms[n].n_vcpus = kvmstat_count_vcpus(dirfd(d), de->d_name);
		n++;
	}
	closedir(d);
	if (n == 0) {
		snprintf(why, whylen,
			 "no KVM VM directory %d-* in sys/" KVMSTAT_DIR
			 ": process %d has no KVM VM (QEMU without KVM, e.g. -accel tcg?)",
			 pid, pid);
		return -1;
	}
	qsort(vms, (size_t)n, sizeof(*vms), kvmstat_cmp_fd);
	return n;
}

int kvmstat_choose(const struct kvmstat_vm *vms, int n, char *why, size_t whylen)
{
	int best = 0;
	size_t k;

	for (int i = 1; i < n; i++)
		if (vms[i].n_vcpus >= vms[best].n_vcpus)
			best = i; /* ascending fd: a tie goes to the later one */
	if (whylen > 0)
		why[0] = '\0';
	if (n < 2 || whylen == 0)
		return best;
	k = (size_t)snprintf(why, whylen, "%d KVM VMs in this process (", n);
	for (int i = 0; i < n && k < whylen; i++)
		k += (size_t)snprintf(why + k, whylen - k, "%s%s: %d vCPUs", i ? ", " : "",
				      vms[i].name, vms[i].n_vcpus);
	if (k < whylen) {
		bool tie = false;
		for (int i = 0; i < n; i++)
			if (i != best && vms[i].n_vcpus == vms[best].n_vcpus)
				tie = true;
		snprintf(
			why + k, whylen - k, "): %s",
			tie ? "as many vCPUs as another, and the most recently created (highest fd)"
			    : "the one with the most vCPUs (the others are probes or idle)");
	}
	return best;
}

int kvmstat_open_vm(int sys_fd, const char *vm)
{
	char path[96];

	if (!sysroot_path(path, sizeof(path), KVMSTAT_DIR "/%s", vm)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return openat(sys_fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Whether vm_fd is still the directory named vm (not removed, not replaced
 * by a new VM's directory of the same name). */
static bool kvmstat_still_there(int sys_fd, int vm_fd, const char *vm)
{
	char path[96];
	struct stat a, b;

	if (!sysroot_path(path, sizeof(path), KVMSTAT_DIR "/%s", vm))
		return false;
	return fstat(vm_fd, &a) == 0 && fstatat(sys_fd, path, &b, 0) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Read one counter file of vm: open, one read (KVM's debugfs attribute files
 * hand out the whole number in one), close. */
static enum kvmstat_read kvmstat_read_one(int sys_fd, int vm_fd, const char *vm, const char *file,
					  uint64_t *out, char *err, size_t errlen)
{
	char buf[64];
	ssize_t n;
	int fd = openat(vm_fd, file, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0) {
		e = errno;
		if (e == ENOENT && !kvmstat_still_there(sys_fd, vm_fd, vm)) {
			snprintf(err, errlen, "sys/" KVMSTAT_DIR "/%s is gone", vm);
			return KVMSTAT_GONE;
		}
		if (e == ENOENT) {
			snprintf(err, errlen,
				 "no %s in sys/" KVMSTAT_DIR "/%s: the kernel is older than Linux "
				 "5.8 (which added KVM's halt-polling time statistics)",
				 file, vm);
			return KVMSTAT_MISSING;
		}
		if (e == EPERM)
			/* debugfs_locked_down(): KVM's statistics files are writable (0644,
			 * writing 0 clears them), which kernel lockdown forbids opening */
			snprintf(err, errlen,
				 "sys/" KVMSTAT_DIR "/%s/%s: %s: kernel lockdown forbids opening "
				 "writable debugfs files such as KVM's statistics",
				 vm, file, strerror(e));
		else
			snprintf(err, errlen, "sys/" KVMSTAT_DIR "/%s/%s: %s", vm, file,
				 strerror(e));
		return KVMSTAT_ERROR;
	}
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	e = errno;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "sys/" KVMSTAT_DIR "/%s/%s: %s", vm, file, strerror(e));
		return KVMSTAT_ERROR;
	}
	buf[n] = '\0';
	if ((size_t)n == sizeof(buf) - 1) {
		snprintf(err, errlen, "sys/" KVMSTAT_DIR "/%s/%s: longer than any counter", vm,
			 file);
		return KVMSTAT_GARBAGE;
	}
	if (kvmstat_parse_u64(buf, out) < 0) {
		char shown[24];
		size_t i = 0;
		/* show the start of it, printable characters only */
		for (; i < sizeof(shown) - 1 && i < (size_t)n && buf[i] != '\n'; i++)
			shown[i] = (buf[i] >= 0x20 && buf[i] < 0x7f) ? buf[i] : '?';
		shown[i] = '\0';
		snprintf(err, errlen,
			 "sys/" KVMSTAT_DIR "/%s/%s: \"%s%s\" is not a counter (a whole number of "
			 "nanoseconds)",
			 vm, file, shown, (size_t)n > i && buf[i] != '\n' ? "..." : "");
		return KVMSTAT_GARBAGE;
	}
	return KVMSTAT_OK;
}

enum kvmstat_read kvmstat_read_poll(int sys_fd, int vm_fd, const char *vm, uint64_t *total_ns,
				    char *err, size_t errlen)
{
	uint64_t ok_ns, fail_ns;
	enum kvmstat_read rc;

	rc = kvmstat_read_one(sys_fd, vm_fd, vm, "halt_poll_success_ns", &ok_ns, err, errlen);
	if (rc == KVMSTAT_OK)
		rc = kvmstat_read_one(sys_fd, vm_fd, vm, "halt_poll_fail_ns", &fail_ns, err,
				      errlen);
	if (rc != KVMSTAT_OK)
		return rc;
	if (ok_ns > UINT64_MAX - fail_ns) {
		snprintf(err, errlen,
			 "sys/" KVMSTAT_DIR "/%s: halt_poll_success_ns + halt_poll_fail_ns "
			 "overflow 64 bits",
			 vm);
		return KVMSTAT_GARBAGE;
	}
	*total_ns = ok_ns + fail_ns;
	return KVMSTAT_OK;
}

/* ---- The platform's accounting per workload ------------------------------------------- */

const char *kvmstat_state_name(enum lx_hp_state s)
{
	static const char *const names[] = { "off", "not a VM", "unavailable", "bad counters",
					     "active" };
	return (unsigned)s < 5 ? names[s] : "?";
}

const char *kvmstat_via_name(enum lx_hp_via v)
{
	static const char *const names[] = { "", "debugfs", "qmp" };
	return (unsigned)v < 3 ? names[v] : "?";
}

/* What the source in use reads, for messages. */
static void kvmstat_source_text(const struct lx_wl *w, char *buf, size_t len)
{
	const struct lx_haltpoll *h = &w->hp;

	if (h->via == LX_VIA_DEBUGFS && h->dir[0])
		snprintf(buf, len, "sys/" KVMSTAT_DIR "/%s", h->dir);
	else if (h->via == LX_VIA_QMP)
		snprintf(buf, len, "QMP query-stats on %s", w->spec.qmp);
	else
		snprintf(buf, len, "nothing");
}

/* Set the state and the note; log when the state, the source or (when
 * unavailable) the reason changed. */
static void kvmstat_set(struct vs_linux *lx, struct lx_wl *w, enum lx_hp_state st, const char *note)
{
	struct lx_haltpoll *h = &w->hp;
	char key[sizeof(h->logged)], src[160], also[300] = "";

	h->state = st;
	str_copy(h->note, note, sizeof(h->note));
	kvmstat_source_text(w, src, sizeof(src));
	snprintf(key, sizeof(key), "%d %d %s ", (int)st, (int)h->via,
		 st == LX_HP_ACTIVE ? src : "");
	if (st == LX_HP_UNAVAILABLE)
		str_copy(key + strlen(key), note, sizeof(key) - strlen(key));
	if (strcmp(key, h->logged) == 0)
		return;
	str_copy(h->logged, key, sizeof(h->logged));
	if (h->via == LX_VIA_QMP && lx->cfg.halt_poll_source == VS_HPSRC_AUTO && h->dfs_why[0])
		snprintf(also, sizeof(also), "; debugfs: %s", h->dfs_why);
	switch (st) {
	case LX_HP_ACTIVE:
		log_info("workload %s: KVM halt polling is subtracted from the vCPU group's busy "
			 "time: reading %s%s%s%s%s",
			 w->spec.name, src, note[0] ? " (" : "", note, note[0] ? ")" : "", also);
		break;
	case LX_HP_UNAVAILABLE:
		log_info("workload %s: KVM halt polling cannot be subtracted (counted as busy): "
			 "%s%s",
			 w->spec.name, note, also);
		break;
	case LX_HP_BAD:
		log_warnx("workload %s: %s; this period's busy time is used without the halt-poll "
			  "correction",
			  w->spec.name, note);
		break;
	case LX_HP_OFF:
		log_info("workload %s: halt_poll_accounting=off: KVM halt polling counts as busy",
			 w->spec.name);
		break;
	case LX_HP_NOT_VM:
		break;
	}
}

/* Close the directory in use (no fd on a stat file is ever kept open: an
 * open KVM stat file holds a reference on its VM). */
static void kvmstat_close_dir(struct lx_haltpoll *h)
{
	if (h->dir_fd >= 0)
		close(h->dir_fd);
	h->dir_fd = -1;
	h->dir[0] = '\0';
}

/* Find the workload's VM directory (at most every LX_RESCAN_S while none is
 * found). Returns 0 with h->dir set, or -1 (h->dfs_why says why, from the
 * last search). */
static int kvmstat_locate(struct vs_linux *lx, struct lx_wl *w, double now_s)
{
	struct lx_haltpoll *h = &w->hp;
	struct kvmstat_vm vms[KVMSTAT_MAX_VMS];
	char why[200];
	int n, k;

	if (h->dir[0])
		return 0;
	if (h->searched && now_s - h->searched_s < LX_RESCAN_S)
		return -1;
	h->searched = true;
	h->searched_s = now_s;
	n = kvmstat_find(lx->root.sys_fd, w->pid, vms, KVMSTAT_MAX_VMS, why, sizeof(why));
	if (n < 0) {
		str_copy(h->dfs_why, why, sizeof(h->dfs_why));
		return -1;
	}
	k = kvmstat_choose(vms, n, why, sizeof(why));
	kvmstat_close_dir(h);
	h->dir_fd = kvmstat_open_vm(lx->root.sys_fd, vms[k].name);
	if (h->dir_fd < 0) {
		snprintf(h->dfs_why, sizeof(h->dfs_why), "sys/" KVMSTAT_DIR "/%s: %s", vms[k].name,
			 strerror(errno));
		return -1;
	}
	str_copy(h->dir, vms[k].name, sizeof(h->dir));
	snprintf(h->found, sizeof(h->found), "%d vCPU directories%s%s", vms[k].n_vcpus,
		 why[0] ? "; " : "", why);
	h->dfs_new = true; /* a new baseline */
	return 0;
}

enum kvmstat_dfs { KVMSTAT_DFS_OK = 0, KVMSTAT_DFS_GARBAGE, KVMSTAT_DFS_UNAVAILABLE };

/* Read the counters from debugfs. KVMSTAT_DFS_UNAVAILABLE leaves the reason
 * in h->dfs_why, KVMSTAT_DFS_GARBAGE in err. */
static enum kvmstat_dfs kvmstat_debugfs(struct vs_linux *lx, struct lx_wl *w, double now_s,
					uint64_t *total, char *err, size_t errlen)
{
	struct lx_haltpoll *h = &w->hp;
	enum kvmstat_read rc = KVMSTAT_GONE;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (kvmstat_locate(lx, w, now_s) < 0)
			return KVMSTAT_DFS_UNAVAILABLE;
		rc = kvmstat_read_poll(lx->root.sys_fd, h->dir_fd, h->dir, total, err, errlen);
		if (rc != KVMSTAT_GONE)
			break;
		/* the VM was closed (or QEMU made a new one): look again now */
		log_info("workload %s: %s; looking for its KVM directory again", w->spec.name, err);
		kvmstat_close_dir(h);
		h->searched = false;
	}
	switch (rc) {
	case KVMSTAT_OK:
		h->dfs_why[0] = '\0';
		return KVMSTAT_DFS_OK;
	case KVMSTAT_GARBAGE:
		return KVMSTAT_DFS_GARBAGE;
	case KVMSTAT_GONE:
		str_copy(h->dfs_why, err, sizeof(h->dfs_why));
		return KVMSTAT_DFS_UNAVAILABLE;
	default: /* missing counters (old kernel), permission (lockdown), I/O */
		str_copy(h->dfs_why, err, sizeof(h->dfs_why));
		kvmstat_close_dir(h); /* looked for again after LX_RESCAN_S */
		return KVMSTAT_DFS_UNAVAILABLE;
	}
}

/* Why the source in use is used. */
static void kvmstat_why_via(struct vs_linux *lx, struct lx_wl *w)
{
	struct lx_haltpoll *h = &w->hp;
	enum vs_hp_source pref = lx->cfg.halt_poll_source;

	if (h->via == LX_VIA_DEBUGFS)
		snprintf(h->why_via, sizeof(h->why_via), "%s",
			 pref == VS_HPSRC_AUTO ? "halt_poll_accounting=auto: debugfs is readable"
					       : "halt_poll_accounting=debugfs");
	else if (h->via == LX_VIA_QMP && pref == VS_HPSRC_AUTO)
		snprintf(h->why_via, sizeof(h->why_via),
			 "halt_poll_accounting=auto: debugfs cannot be read (%s), so QEMU is asked "
			 "over qmp=",
			 h->dfs_why[0] ? h->dfs_why : "?");
	else if (h->via == LX_VIA_QMP)
		snprintf(h->why_via, sizeof(h->why_via), "halt_poll_accounting=qmp");
	else
		h->why_via[0] = '\0';
}

/* Nothing is subtracted this period and the next reading is a baseline. */
static void kvmstat_no_reading(struct lx_haltpoll *h)
{
	haltpoll_counter_reset(&h->ctr);
	h->q.have_prev = false;
}

/* A good reading of the summed counters from source via; interval_s: the
 * time it covers since the last reading (0 unknown). */
static void kvmstat_take(struct vs_linux *lx, struct lx_wl *w, enum lx_hp_via via, uint64_t total,
			 double interval_s)
{
	struct lx_haltpoll *h = &w->hp;
	uint64_t delta;

	h->via = via;
	kvmstat_why_via(lx, w);
	if (h->ctr_via != via) {
		haltpoll_counter_reset(&h->ctr);
		h->ctr_via = via;
	}
	switch (haltpoll_counter_update(&h->ctr, total, &delta)) {
	case VS_HALTPOLL_FIRST:
		kvmstat_set(lx, w, LX_HP_ACTIVE, h->found);
		str_copy(h->note, "first reading of the counters (the baseline)", sizeof(h->note));
		break;
	case VS_HALTPOLL_WENT_DOWN: {
		char src[160];
		kvmstat_source_text(w, src, sizeof(src));
		log_info("workload %s: %s: the halt-polling counters went down (VM restarted or "
			 "its statistics cleared): new baseline, no correction this period",
			 w->spec.name, src);
		kvmstat_set(lx, w, LX_HP_ACTIVE, h->found);
		str_copy(h->note,
			 "the counters went down (VM restarted or its statistics cleared): new "
			 "baseline, no correction this period",
			 sizeof(h->note));
		break;
	}
	case VS_HALTPOLL_DELTA:
		kvmstat_set(lx, w, LX_HP_ACTIVE, h->found);
		if (interval_s > 0) {
			h->have_poll = true;
			h->poll_cores = haltpoll_cores(delta, interval_s);
		}
		break;
	}
}

/* The counters cannot be had this period: the state says why. */
static void kvmstat_unavailable(struct vs_linux *lx, struct lx_wl *w, enum lx_hp_via via,
				const char *why)
{
	struct lx_haltpoll *h = &w->hp;

	h->via = via;
	kvmstat_why_via(lx, w);
	kvmstat_no_reading(h);
	kvmstat_set(lx, w, LX_HP_UNAVAILABLE, why);
}

/* First step of a workload's period: everything but the QMP exchange.
 * Returns true when its counters are to be asked over QMP. */
static bool kvmstat_begin(struct vs_linux *lx, struct lx_wl *w, double period_s, double now_s)
{
	struct lx_haltpoll *h = &w->hp;
	enum vs_hp_source pref = lx->cfg.halt_poll_source;
	char err[256], note[400];
	uint64_t total;

	h->have_poll = false;
	h->poll_cores = 0;
	h->applied = false; /* until kvmstat_correct says otherwise */
	h->subtracted = 0;
	h->q.rc = LX_Q_NONE;
	if (!w->is_vm || w->pid <= 0) {
		h->via = LX_VIA_NONE;
		h->q.in_use = false;
		kvmstat_set(lx, w, LX_HP_NOT_VM,
			    w->is_vm ? "the VM's process is not known (cgroup= workload)"
				     : "not a QEMU/KVM process");
		return false;
	}
	if (lx->cfg.halt_poll == VS_HALTPOLL_OFF) {
		h->via = LX_VIA_NONE;
		h->q.in_use = false;
		kvmstat_set(lx, w, LX_HP_OFF, "");
		return false;
	}
	if (h->pid != w->pid || h->pid_start != w->pid_start) {
		/* a new process: find its directory afresh, and its QMP socket is a new
		 * one (unless this is the first process seen: discovery may just have
		 * made the connection, to this very QEMU) */
		if (h->pid != 0)
			qmpstats_reset(w);
		h->pid = w->pid;
		h->pid_start = w->pid_start;
		kvmstat_close_dir(h);
		h->searched = false;
		h->dfs_why[0] = '\0';
		kvmstat_no_reading(h);
	}
	if (pref != VS_HPSRC_QMP) {
		switch (kvmstat_debugfs(lx, w, now_s, &total, err, sizeof(err))) {
		case KVMSTAT_DFS_OK:
			if (h->dfs_new) {
				h->dfs_new = false;
				haltpoll_counter_reset(&h->ctr);
			}
			h->q.in_use = false;
			qmpstats_release(w);
			kvmstat_take(lx, w, LX_VIA_DEBUGFS, total, period_s);
			return false;
		case KVMSTAT_DFS_GARBAGE:
			/* no baseline across a bad reading: the next delta would span it */
			h->via = LX_VIA_DEBUGFS;
			kvmstat_why_via(lx, w);
			kvmstat_no_reading(h);
			h->bad_reads++;
			kvmstat_set(lx, w, LX_HP_BAD, err);
			return false;
		case KVMSTAT_DFS_UNAVAILABLE:
			break;
		}
		if (pref == VS_HPSRC_DEBUGFS || !w->spec.qmp[0]) {
			h->q.in_use = false;
			if (pref == VS_HPSRC_AUTO)
				snprintf(note, sizeof(note),
					 "%s; no qmp= socket to ask QEMU instead", h->dfs_why);
			else
				str_copy(note, h->dfs_why, sizeof(note));
			kvmstat_unavailable(lx, w, LX_VIA_DEBUGFS, note);
			return false;
		}
	} else if (!w->spec.qmp[0]) {
		h->q.in_use = false;
		kvmstat_unavailable(
			lx, w, LX_VIA_QMP,
			"halt_poll_accounting=qmp, but the workload has no qmp= socket");
		return false;
	}
	h->q.in_use = true;
	return true;
}

/* Last step of a workload's period read over QMP: the exchange's outcome. */
static void kvmstat_finish_qmp(struct vs_linux *lx, struct lx_wl *w)
{
	struct lx_haltpoll *h = &w->hp;
	struct lx_hp_qmp *q = &h->q;
	char note[300];

	switch (q->rc) {
	case LX_Q_OK: {
		double interval_s = q->have_prev ? q->at_s - q->prev_at_s : 0;
		if (q->have_prev &&
		    (q->rd.n_vcpus != q->prev.n_vcpus || q->rd.vcpu_key != q->prev.vcpu_key)) {
			log_info("workload %s: the VM's vCPUs changed (%d before, %d now): the "
				 "halt-polling counters start a new baseline",
				 w->spec.name, q->prev.n_vcpus, q->rd.n_vcpus);
			haltpoll_counter_reset(&h->ctr);
		}
		snprintf(h->found, sizeof(h->found), "QEMU %s, %d vCPU%s",
			 q->conn.version[0] ? q->conn.version : "(version unknown)", q->rd.n_vcpus,
			 q->rd.n_vcpus == 1 ? "" : "s");
		kvmstat_take(lx, w, LX_VIA_QMP, q->rd.total_ns, interval_s);
		q->prev = q->rd;
		q->prev_at_s = q->at_s;
		q->have_prev = true;
		break;
	}
	case LX_Q_SLOW:
		kvmstat_no_reading(h);
		if (h->state == LX_HP_ACTIVE && h->via == LX_VIA_QMP) {
			/* a slow answer now and then: still the source in use */
			snprintf(note, sizeof(note), "%s: not subtracted this period", q->why);
			str_copy(h->note, note, sizeof(h->note));
		} else {
			kvmstat_unavailable(lx, w, LX_VIA_QMP, q->why);
		}
		break;
	case LX_Q_BAD:
		h->via = LX_VIA_QMP;
		kvmstat_why_via(lx, w);
		kvmstat_no_reading(h);
		h->bad_reads++;
		kvmstat_set(lx, w, LX_HP_BAD, q->why);
		break;
	case LX_Q_UNAVAILABLE:
	case LX_Q_NONE:
		kvmstat_unavailable(lx, w, LX_VIA_QMP, q->why[0] ? q->why : "not asked");
		break;
	}
}

void kvmstat_read_all(struct vs_linux *lx, double period_s, double now_s, int wait_ms)
{
	struct lx_wl **ask = lx->n_wl > 0 ? calloc((size_t)lx->n_wl, sizeof(*ask)) : NULL;
	int n = 0;

	for (int i = 0; i < lx->n_wl; i++) {
		struct lx_wl *w = &lx->wl[i];
		if (!w->present || !w->spec.lc)
			continue;
		if (kvmstat_begin(lx, w, period_s, now_s)) {
			if (ask)
				ask[n++] = w;
			else
				kvmstat_unavailable(lx, w, LX_VIA_QMP, "out of memory");
		}
	}
	if (n > 0)
		qmpstats_exchange(lx, ask, n, wait_ms);
	for (int i = 0; i < n; i++)
		kvmstat_finish_qmp(lx, ask[i]);
	free(ask);
}

void kvmstat_correct(struct lx_wl *w, struct vs_sample *ws)
{
	struct lx_haltpoll *h = &w->hp;

	h->applied = false;
	h->raw_busy_vcpu = ws->busy_vcpu;
	h->subtracted = 0;
	if (h->state != LX_HP_ACTIVE || !h->have_poll)
		return;
	h->subtracted = haltpoll_correct(ws, h->poll_cores);
	h->applied = true;
}

void kvmstat_forget(struct lx_wl *w)
{
	struct lx_haltpoll *h = &w->hp;

	h->pid = 0;
	kvmstat_close_dir(h);
	h->searched = false;
	h->have_poll = false;
	h->applied = false;
	haltpoll_counter_reset(&h->ctr);
	qmpstats_reset(w); /* the process is gone: its monitor too */
}
