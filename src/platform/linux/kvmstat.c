/* kvmstat.c - KVM's per-VM statistics in debugfs, and the Linux platform's halt-poll accounting of each VM workload. */
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

/* Set the state and the note; log when the state or the directory changed. */
static void kvmstat_set(struct lx_wl *w, enum lx_hp_state st, const char *note)
{
	struct lx_haltpoll *h = &w->hp;
	char key[sizeof(h->logged)];

	h->state = st;
	str_copy(h->note, note, sizeof(h->note));
	snprintf(key, sizeof(key), "%d %s", (int)st, st == LX_HP_ACTIVE ? h->dir : "");
	if (st == LX_HP_UNAVAILABLE)
		str_copy(key + strlen(key), note, sizeof(key) - strlen(key));
	if (strcmp(key, h->logged) == 0)
		return;
	str_copy(h->logged, key, sizeof(h->logged));
	switch (st) {
	case LX_HP_ACTIVE:
		log_info("workload %s: KVM halt polling is subtracted from the vCPU group's busy "
			 "time: reading sys/" KVMSTAT_DIR "/%s%s%s",
			 w->spec.name, h->dir, note[0] ? "; " : "", note);
		break;
	case LX_HP_UNAVAILABLE:
		log_info("workload %s: KVM halt polling cannot be subtracted (counted as busy): "
			 "%s",
			 w->spec.name, note);
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
 * found). Returns 0 with h->dir set, or -1 (state set). */
static int kvmstat_locate(struct vs_linux *lx, struct lx_wl *w, double now_s)
{
	struct lx_haltpoll *h = &w->hp;
	struct kvmstat_vm vms[KVMSTAT_MAX_VMS];
	char why[200], note[sizeof(h->note)];
	int n, k;

	if (h->dir[0])
		return 0;
	if (h->searched && now_s - h->searched_s < LX_RESCAN_S)
		return -1;
	h->searched = true;
	h->searched_s = now_s;
	n = kvmstat_find(lx->root.sys_fd, w->pid, vms, KVMSTAT_MAX_VMS, why, sizeof(why));
	if (n < 0) {
		kvmstat_set(w, LX_HP_UNAVAILABLE, why);
		return -1;
	}
	k = kvmstat_choose(vms, n, why, sizeof(why));
	kvmstat_close_dir(h);
	h->dir_fd = kvmstat_open_vm(lx->root.sys_fd, vms[k].name);
	if (h->dir_fd < 0) {
		snprintf(note, sizeof(note), "sys/" KVMSTAT_DIR "/%s: %s", vms[k].name,
			 strerror(errno));
		kvmstat_set(w, LX_HP_UNAVAILABLE, note);
		return -1;
	}
	str_copy(h->dir, vms[k].name, sizeof(h->dir));
	snprintf(note, sizeof(note), "%d vCPU directories%s%s", vms[k].n_vcpus, why[0] ? "; " : "",
		 why);
	str_copy(h->found, note, sizeof(h->found));
	haltpoll_counter_reset(&h->ctr);
	return 0;
}

/* Read a workload's counters now: keeps the baseline in step with the
 * /proc/stat snapshot just taken; sets h->poll_cores for the period. */
static void kvmstat_read_wl(struct vs_linux *lx, struct lx_wl *w, double period_s, double now_s)
{
	struct lx_haltpoll *h = &w->hp;
	char err[256];
	uint64_t total, delta;
	enum kvmstat_read rc;

	h->have_poll = false;
	h->poll_cores = 0;
	h->applied = false; /* until kvmstat_correct says otherwise */
	h->subtracted = 0;
	if (!w->is_vm || w->pid <= 0) {
		kvmstat_set(w, LX_HP_NOT_VM,
			    w->is_vm ? "the VM's process is not known (cgroup= workload)"
				     : "not a QEMU/KVM process");
		return;
	}
	if (lx->cfg.halt_poll == VS_HALTPOLL_OFF) {
		kvmstat_set(w, LX_HP_OFF, "");
		return;
	}
	if (h->pid != w->pid || h->pid_start != w->pid_start) {
		/* a new process: find its directory afresh */
		h->pid = w->pid;
		h->pid_start = w->pid_start;
		kvmstat_close_dir(h);
		h->searched = false;
		haltpoll_counter_reset(&h->ctr);
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (kvmstat_locate(lx, w, now_s) < 0)
			return;
		rc = kvmstat_read_poll(lx->root.sys_fd, h->dir_fd, h->dir, &total, err,
				       sizeof(err));
		if (rc != KVMSTAT_GONE)
			break;
		/* the VM was closed (or QEMU made a new one): look again now */
		log_info("workload %s: %s; looking for its KVM directory again", w->spec.name, err);
		kvmstat_close_dir(h);
		h->searched = false;
		haltpoll_counter_reset(&h->ctr);
	}
	if (rc == KVMSTAT_GONE) {
		kvmstat_set(w, LX_HP_UNAVAILABLE, err);
		return;
	}
	if (rc == KVMSTAT_MISSING || rc == KVMSTAT_ERROR) {
		haltpoll_counter_reset(&h->ctr);
		kvmstat_set(w, LX_HP_UNAVAILABLE, err);
		kvmstat_close_dir(h); /* looked for again after LX_RESCAN_S */
		return;
	}
	if (rc == KVMSTAT_GARBAGE) {
		/* no baseline across a bad reading: the next delta would span it */
		haltpoll_counter_reset(&h->ctr);
		h->bad_reads++;
		kvmstat_set(w, LX_HP_BAD, err);
		return;
	}
	switch (haltpoll_counter_update(&h->ctr, total, &delta)) {
	case VS_HALTPOLL_FIRST:
		kvmstat_set(w, LX_HP_ACTIVE, h->found);
		str_copy(h->note, "first reading of the counters (the baseline)", sizeof(h->note));
		break;
	case VS_HALTPOLL_WENT_DOWN:
		log_info("workload %s: sys/" KVMSTAT_DIR "/%s: the halt-polling counters went down "
			 "(VM restarted or its statistics cleared): new baseline, no correction "
			 "this period",
			 w->spec.name, h->dir);
		kvmstat_set(w, LX_HP_ACTIVE, h->found);
		str_copy(h->note,
			 "the counters went down (VM restarted or its statistics cleared): new "
			 "baseline, no correction this period",
			 sizeof(h->note));
		break;
	case VS_HALTPOLL_DELTA:
		kvmstat_set(w, LX_HP_ACTIVE, h->found);
		if (period_s > 0) {
			h->have_poll = true;
			h->poll_cores = haltpoll_cores(delta, period_s);
		}
		break;
	}
}

void kvmstat_read_all(struct vs_linux *lx, double period_s, double now_s)
{
	for (int i = 0; i < lx->n_wl; i++) {
		struct lx_wl *w = &lx->wl[i];
		if (w->present && w->spec.lc)
			kvmstat_read_wl(lx, w, period_s, now_s);
	}
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
}
