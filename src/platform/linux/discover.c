/* discover.c - find the configured workloads' threads (vCPU, vhost, other) and the NICs' queues and queue IRQs. */
#include <ctype.h>
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
#include "platform/linux/hostcall.h"
#include "platform/linux/linux_int.h"
#include "platform/linux/netns.h"
#include "platform/linux/qmp.h"

const char *lx_role_name(enum lx_role r)
{
	return r == LX_ROLE_COMPUTE ? "compute" : r == LX_ROLE_VHOST ? "vhost" : "other";
}

/* ---- cgroup hierarchies --------------------------------------------------------------- */

static int discover_open_hier(struct vs_linux *lx, enum lx_hier h, const char *rel,
			      const char *probe)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", rel, probe);
	if (faccessat(lx->root.sys_fd, path, F_OK, 0) < 0)
		return -1;
	fd = openat(lx->root.sys_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	lx->cg.fd[h] = fd;
	str_copy(lx->cg.rel[h], rel, sizeof(lx->cg.rel[h]));
	return 0;
}

void discover_cgroupfs(struct vs_linux *lx)
{
	char buf[512];

	for (int h = 0; h < LX_HIER_N; h++)
		lx->cg.fd[h] = -1;
	discover_open_hier(lx, LX_HIER_CPUSET1, "fs/cgroup/cpuset", "cpuset.cpus");
	discover_open_hier(lx, LX_HIER_FREEZER1, "fs/cgroup/freezer", "cgroup.procs");
	if (discover_open_hier(lx, LX_HIER_V2, "fs/cgroup", "cgroup.controllers") < 0)
		discover_open_hier(lx, LX_HIER_V2, "fs/cgroup/unified", "cgroup.controllers");
	if (lx->cg.fd[LX_HIER_V2] >= 0 &&
	    sysroot_read(lx->cg.fd[LX_HIER_V2], "cgroup.controllers", buf, sizeof(buf)) >= 0) {
		char *save = NULL;
		for (char *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
			if (strcmp(t, "cpuset") == 0)
				lx->cg.v2_cpuset = true;
		/* cgroup.freeze exists in every non-root v2 group since Linux 5.2;
		 * the root group has none: take a hierarchy whose root hands
		 * controllers down (cgroup.subtree_control) as able to freeze */
		lx->cg.v2_freeze =
			faccessat(lx->cg.fd[LX_HIER_V2], "cgroup.subtree_control", F_OK, 0) == 0;
	}
	str_copy(lx->cg.mems, "0", sizeof(lx->cg.mems));
	if (lx->cg.fd[LX_HIER_CPUSET1] >= 0 &&
	    sysroot_read(lx->cg.fd[LX_HIER_CPUSET1], "cpuset.mems", buf, sizeof(buf)) >= 0 &&
	    str_trim(buf)[0])
		str_copy(lx->cg.mems, str_trim(buf), sizeof(lx->cg.mems));
}

/* ---- Workloads -------------------------------------------------------------------------- */

/* "CPU 3/KVM" or "CPU 3/TCG" -> 3; -1 otherwise. */
static int discover_vcpu_index(const char *comm)
{
	long v;
	char num[16];
	const char *slash;

	if (strncmp(comm, "CPU ", 4) != 0)
		return -1;
	slash = strchr(comm + 4, '/');
	if (!slash || (strcmp(slash, "/KVM") != 0 && strcmp(slash, "/TCG") != 0) ||
	    (size_t)(slash - comm - 4) >= sizeof(num))
		return -1;
	memcpy(num, comm + 4, (size_t)(slash - comm - 4));
	num[slash - comm - 4] = '\0';
	if (str_to_long(num, 0, 1 << 20, &v) < 0)
		return -1;
	return (int)v;
}

/* "vhost-<pid>" */
static bool discover_is_vhost(const char *comm, int pid)
{
	long v;
	return strncmp(comm, "vhost-", 6) == 0 && str_to_long(comm + 6, 1, INT32_MAX, &v) == 0 &&
	       (pid == 0 || v == pid);
}

/* Read a pid from a pidfile (resolved under the sysroot). 0 with why set. */
static int discover_pidfile(struct vs_linux *lx, const char *path, char *why, size_t whylen)
{
	char buf[64];
	long v;
	const char *rel = path;

	while (*rel == '/')
		rel++;
	if (sysroot_read(lx->root.root_fd, rel, buf, sizeof(buf)) < 0) {
		snprintf(why, whylen, "pidfile %s: %s", path, strerror(errno));
		return 0;
	}
	if (str_to_long(buf, 1, INT32_MAX, &v) < 0) {
		snprintf(why, whylen, "pidfile %s does not hold a pid", path);
		return 0;
	}
	return (int)v;
}

static struct lx_thread *discover_find(struct lx_wl *w, int tid)
{
	/* threads are kept sorted by tid */
	int lo = 0, hi = w->n_thr - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (w->thr[mid].tid == tid)
			return &w->thr[mid];
		if (w->thr[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* Add or refresh thread tid (process pid). Returns 0, or -1 when it is gone. */
static int discover_thread(struct vs_linux *lx, struct lx_wl *w, int pid, int tid)
{
	struct vs_taskstat ts;
	struct lx_thread *t;
	char comm[64];

	if (task_read_stat(lx->root.proc_fd, pid, tid, comm, sizeof(comm), &ts) < 0 ||
	    ts.state == 'Z' || ts.state == 'X')
		return -1;
	t = discover_find(w, tid);
	if (t && t->start == ts.start_ticks) {
		t->seen = true;
		str_copy(t->comm, comm, sizeof(t->comm));
		return 0;
	}
	if (t) { /* the tid was reused: a new thread */
		memset(t, 0, sizeof(*t));
	} else {
		int at = w->n_thr;
		if (w->n_thr == w->cap_thr) {
			int nc = w->cap_thr ? w->cap_thr * 2 : 16;
			struct lx_thread *nt = realloc(w->thr, sizeof(*nt) * (size_t)nc);
			if (!nt)
				return -1;
			w->thr = nt;
			w->cap_thr = nc;
		}
		/* keep the array sorted by tid (listings come in ascending order,
		 * so this is an append in the common case) */
		while (at > 0 && w->thr[at - 1].tid > tid)
			at--;
		memmove(&w->thr[at + 1], &w->thr[at], sizeof(w->thr[0]) * (size_t)(w->n_thr - at));
		w->n_thr++;
		t = &w->thr[at];
		memset(t, 0, sizeof(*t));
	}
	t->tid = tid;
	t->pid = pid;
	t->start = ts.start_ticks;
	t->kthread = (ts.flags & VS_PF_KTHREAD) != 0;
	t->seen = true;
	t->vcpu = -1;
	t->cg.ival = -1;
	str_copy(t->comm, comm, sizeof(t->comm));
	return 1;
}

/* Collect the tids listed in a cgroup (and its descendants) into lx->tids. */
static int discover_cgroup_tids(struct vs_linux *lx, int dirfd, const char *file, int n, int depth)
{
	struct dirent *de;
	DIR *d;
	char *p;

	if (depth > 16)
		return n;
	if (sysroot_read_all(dirfd, file, &lx->buf, &lx->bufcap) >= 0) {
		for (p = lx->buf; *p;) {
			char *end;
			long tid = strtol(p, &end, 10);
			if (end == p)
				break;
			if (tid > 0 && tid <= INT32_MAX) {
				if (n == lx->tidcap) {
					int nc = lx->tidcap ? lx->tidcap * 2 : 64;
					int *nt = realloc(lx->tids, sizeof(int) * (size_t)nc);
					if (!nt)
						return n;
					lx->tids = nt;
					lx->tidcap = nc;
				}
				lx->tids[n++] = (int)tid;
			}
			p = end;
			while (*p == '\n' || *p == ' ')
				p++;
		}
	}
	d = sysroot_opendir(dirfd, ".");
	if (!d)
		return n;
	while ((de = readdir(d)) != NULL) {
		int sub;
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			continue;
		n = discover_cgroup_tids(lx, sub, file, n, depth + 1);
		close(sub);
	}
	closedir(d);
	return n;
}

/* Kernel vhost threads (before Linux 6.4) of QEMU process pid: scan /proc. */
static void discover_vhost_kthreads(struct vs_linux *lx, struct lx_wl *w)
{
	struct dirent *de;
	DIR *d = sysroot_opendir(lx->root.proc_fd, ".");

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char comm[64];
		long pid;
		if (str_to_long(de->d_name, 1, INT32_MAX, &pid) < 0 || pid == w->pid)
			continue;
		if (task_read_comm(lx->root.proc_fd, (int)pid, (int)pid, comm, sizeof(comm)) < 0 ||
		    !discover_is_vhost(comm, w->pid))
			continue;
		if (discover_thread(lx, w, (int)pid, (int)pid) >= 0) {
			struct lx_thread *t = discover_find(w, (int)pid);
			if (t)
				t->role = LX_ROLE_VHOST;
		}
	}
	closedir(d);
}

void discover_set_absent(struct vs_linux *lx, struct lx_wl *w, const char *why)
{
	if (w->present)
		log_info("workload %s vanished: %s", w->spec.name, why);
	else if (strcmp(w->absent, why) != 0)
		log_info("workload %s not found: %s", w->spec.name, why);
	str_copy(w->absent, why, sizeof(w->absent));
	w->present = false;
	w->n_thr = 0;
	w->pid = 0;
	w->task_nlink = 0;
	w->cur_valid = false;
}

/* Classify the threads after a listing. */
static void discover_classify(struct vs_linux *lx, struct lx_wl *w)
{
	bool named = false;

	w->vhost_in_process = false;
	for (int i = 0; i < w->n_thr; i++) {
		struct lx_thread *t = &w->thr[i];
		int v = discover_vcpu_index(t->comm);
		if (v >= 0) {
			t->vcpu = v;
			named = true;
		}
		if (discover_is_vhost(t->comm, w->pid) && (t->pid == w->pid || t->kthread)) {
			t->role = LX_ROLE_VHOST;
			if (!t->kthread)
				w->vhost_in_process = true;
		}
	}
	w->is_vm =
		named || w->spec.source == VS_SRC_QEMU_PIDFILE || w->spec.source == VS_SRC_LIBVIRT;
	if (w->is_vm && !named && w->spec.qmp[0] && w->pid > 0) {
		int tids[1024], n = -1;
		char err[256];
		json_t *reply = NULL;
		/* over the VM's one QMP connection, which the halt-polling statistics
		 * may be using (QEMU serves one client per socket) */
		if (strcmp(w->hp.q.conn.path, w->spec.qmp) != 0) {
			qmpconn_free(&w->hp.q.conn);
			qmpconn_init(&w->hp.q.conn, w->spec.qmp);
		}
		if (qmpconn_call(&w->hp.q.conn, "query-cpus-fast", NULL, LX_QMP_TIMEOUT_MS, &reply,
				 err, sizeof(err)) == 0) {
			memset(tids, 0, sizeof(tids));
			n = qmp_parse_cpus_json(reply, tids, 1024, err, sizeof(err));
			if (n == 0) {
				snprintf(err, sizeof(err), "QMP query-cpus-fast returned no vCPUs");
				n = -1;
			}
		}
		json_decref(reply);
		qmpstats_release(w); /* closed unless the statistics use it */
		if (n < 0) {
			log_warnx("workload %s: %s", w->spec.name, err);
		} else {
			for (int i = 0; i < n; i++) {
				struct lx_thread *t =
					tids[i] > 0 ? discover_find(w, tids[i]) : NULL;
				if (t)
					t->vcpu = i;
			}
			named = true;
			w->qmp_used = true;
		}
	}
	for (int i = 0; i < w->n_thr; i++) {
		struct lx_thread *t = &w->thr[i];
		if (t->role == LX_ROLE_VHOST)
			continue;
		if (!w->is_vm || !named)
			t->role = LX_ROLE_COMPUTE; /* all of a plain process's threads */
		else
			t->role = t->vcpu >= 0 ? LX_ROLE_COMPUTE : LX_ROLE_OTHER;
	}
	if (w->is_vm && !named)
		log_warnx("workload %s: QEMU's vCPU threads are not named (start QEMU with -name "
			  "...,debug-threads=on or set qmp=): all its threads but vhost count as "
			  "vCPU "
			  "threads",
			  w->spec.name);
}

/* Drop threads not seen in the last listing. */
static void discover_prune(struct lx_wl *w)
{
	int k = 0;

	for (int i = 0; i < w->n_thr; i++)
		if (w->thr[i].seen)
			w->thr[k++] = w->thr[i];
	w->n_thr = k;
}

int discover_workload(struct vs_linux *lx, struct lx_wl *w, double now_s, bool force)
{
	char why[160] = "";
	char path[64];
	struct stat st;
	int pid = 0, n;
	bool changed = false;

	if (!force && w->present && now_s - w->scanned_s < LX_RESCAN_S) {
		/* cheap check: the task directory and its link count (2 + threads) */
		if (w->pid > 0) {
			snprintf(path, sizeof(path), "%d/task", w->pid);
			if (fstatat(lx->root.proc_fd, path, &st, 0) < 0) {
				discover_set_absent(lx, w, "the process exited");
				return 0;
			}
			if ((long)st.st_nlink == w->task_nlink)
				return 0;
		} else if (w->spec.source != VS_SRC_CGROUP) {
			return 0; /* libvirt without a pid: nothing to list */
		}
	}
	if (!force && !w->present && now_s - w->scanned_s < 1.0)
		return 0;
	if (!force && !w->present && w->spec.source == VS_SRC_LIBVIRT && lx->virt_watch)
		return 0; /* followed through libvirt's events: looked for when one says it
			     runs, or after a (re)connect; never polled */
	w->scanned_s = now_s;
	lx->cnt.discoveries++;

	/* resolve the process */
	switch (w->spec.source) {
	case VS_SRC_PID:
		pid = w->spec.pid;
		break;
	case VS_SRC_PIDFILE:
	case VS_SRC_QEMU_PIDFILE:
		pid = discover_pidfile(lx, w->spec.path, why, sizeof(why));
		break;
	case VS_SRC_LIBVIRT: {
		char pf[200];
		snprintf(pf, sizeof(pf), "/run/libvirt/qemu/%s.pid", w->spec.domain);
		pid = discover_pidfile(lx, pf, why, sizeof(why));
		if (pid > 0) {
			snprintf(w->pid_via, sizeof(w->pid_via), "pidfile %s", pf);
			w->virt_qmp = false;
		} else if (lx->virt && virt_domain_running(lx->virt, w->spec.domain) == 1) {
			/* running, the pidfile elsewhere (another runtime directory):
			 * QEMU's vCPU threads over QMP, else pinned through libvirt only */
			why[0] = '\0';
			pid = virtwl_pid(lx, w, why, sizeof(why));
		} else if (lx->virt) {
			snprintf(why, sizeof(why), "libvirt domain %s is not running",
				 w->spec.domain);
		}
		break;
	}
	case VS_SRC_CGROUP:
		break;
	}
	if (why[0]) {
		discover_set_absent(lx, w, why);
		return 0;
	}
	for (int i = 0; i < w->n_thr; i++)
		w->thr[i].seen = false;

	if (w->spec.source == VS_SRC_CGROUP) {
		int fd = -1;
		const char *file = "cgroup.threads";
		const char *rel = w->spec.path;
		while (*rel == '/')
			rel++;
		if (lx->cg.fd[LX_HIER_V2] >= 0)
			fd = openat(lx->cg.fd[LX_HIER_V2], *rel ? rel : ".",
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && lx->cg.fd[LX_HIER_CPUSET1] >= 0) {
			fd = openat(lx->cg.fd[LX_HIER_CPUSET1], *rel ? rel : ".",
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			file = "tasks";
			w->place = VS_PLACE_AFFINITY; /* moving them would hide them from us */
		}
		if (fd < 0) {
			snprintf(why, sizeof(why), "cgroup %.120s does not exist", w->spec.path);
			discover_set_absent(lx, w, why);
			return 0;
		}
		n = discover_cgroup_tids(lx, fd, file, 0, 0);
		close(fd);
		for (int i = 0; i < n; i++) {
			struct lx_thread *t = discover_find(w, lx->tids[i]);
			int rc = discover_thread(lx, w, lx->tids[i], lx->tids[i]);
			if (rc > 0 || (!t && rc == 0))
				changed = true;
		}
		w->pid = 0;
	} else if (pid > 0) {
		struct vs_taskstat ts;
		if (task_read_stat(lx->root.proc_fd, pid, pid, NULL, 0, &ts) < 0 ||
		    ts.state == 'Z') {
			snprintf(why, sizeof(why), "process %d is not running", pid);
			discover_set_absent(lx, w, why);
			return 0;
		}
		if (w->present && (w->pid != pid || w->pid_start != ts.start_ticks)) {
			discover_set_absent(lx, w, "the process was replaced");
			changed = true;
		}
		w->pid = pid;
		w->pid_start = ts.start_ticks;
		snprintf(path, sizeof(path), "%d/task", pid);
		if (fstatat(lx->root.proc_fd, path, &st, 0) == 0)
			w->task_nlink = (long)st.st_nlink;
		n = task_list(lx->root.proc_fd, pid, &lx->tids, &lx->tidcap);
		if (n < 0) {
			snprintf(why, sizeof(why), "process %d: %s", pid, strerror(errno));
			discover_set_absent(lx, w, why);
			return 0;
		}
		for (int i = 0; i < n; i++) {
			if (discover_thread(lx, w, pid, lx->tids[i]) > 0)
				changed = true;
		}
	}
	/* keep kernel vhost threads found earlier unless they are gone */
	for (int i = 0; i < w->n_thr; i++) {
		struct lx_thread *t = &w->thr[i];
		if (!t->seen && t->kthread && t->role == LX_ROLE_VHOST &&
		    discover_thread(lx, w, t->pid, t->tid) == 0)
			t->seen = true;
	}
	{
		int before = w->n_thr;
		discover_prune(w);
		if (w->n_thr != before)
			changed = true;
	}
	if (w->pid == 0 && w->n_thr == 0 && w->spec.source == VS_SRC_CGROUP) {
		snprintf(why, sizeof(why), "cgroup %.120s holds no threads", w->spec.path);
		discover_set_absent(lx, w, why);
		return 0;
	}
	discover_classify(lx, w);
	if (w->is_vm && w->pid > 0 && !w->vhost_in_process && (changed || force)) {
		int before = w->n_thr;
		discover_vhost_kthreads(lx, w);
		if (w->n_thr != before)
			changed = true;
	}
	if (!w->present) {
		w->present = true;
		w->absent[0] = '\0';
		changed = true;
	}
	return changed ? 1 : 0;
}

/* ---- NICs --------------------------------------------------------------------------------- */

/* The queue index of a queue IRQ's name, -1 when it is not one: the last
 * run of digits (before an "@pci..." suffix) of names like eth0-TxRx-3,
 * i40e-eth0-TxRx-3, mlx5_comp3@pci:0000:3b:00.0, virtio0-input.3. */
static int discover_irq_queue(const char *name, const char *ifname, bool msi_member)
{
	size_t il = strlen(ifname), end, n;
	char buf[64];
	long v;

	if (!msi_member && !strstr(name, ifname))
		return -1;
	if (strstr(name, "async") || strstr(name, "ctrl") || strstr(name, "config"))
		return -1;
	str_copy(buf, name, sizeof(buf));
	buf[strcspn(buf, "@")] = '\0';
	end = strlen(buf);
	n = end;
	while (n > 0 && isdigit((unsigned char)buf[n - 1]))
		n--;
	if (n == end || end - n > 5)
		return -1;
	/* the admin vector is named like the interface ("eth0", "i40e-eth0"):
	 * those digits belong to the interface name, not to a queue */
	if (end >= il && strcmp(buf + end - il, ifname) == 0)
		return -1;
	if (str_to_long(buf + n, 0, 65535, &v) < 0)
		return -1;
	return (int)v;
}

static int discover_irq_cmp(const void *a, const void *b)
{
	const struct lx_irq *x = a, *y = b;
	if (x->queue != y->queue)
		return (x->queue > y->queue) - (x->queue < y->queue);
	return (x->irq > y->irq) - (x->irq < y->irq);
}

int discover_nic_irqs(struct vs_linux *lx, struct lx_nic *n)
{
	char err[160];
	int *msi = NULL, msicap = 0, n_msi, n_lines;
	struct lx_irq *old = n->irq;
	int n_old = n->n_irq;
	struct lx_irq *neu = NULL;
	int k = 0, cap = 0;

	n->irq_rescan = false;
	n_msi = sysfs_net_msi_irqs(n->sys_fd, n->name, &msi, &msicap);
	if (sysroot_read_all(lx->root.proc_fd, "interrupts", &lx->buf, &lx->bufcap) < 0) {
		free(msi);
		return -1;
	}
	n_lines = interrupts_parse(lx->buf, &lx->irql, &lx->irqcap, err, sizeof(err));
	if (n_lines < 0) {
		log_warnx("proc/interrupts: %s", err);
		free(msi);
		return -1;
	}
	for (int i = 0; i < n_lines; i++) {
		const struct vs_irq_line *l = &lx->irql[i];
		bool member = false;
		int q;
		for (int j = 0; j < n_msi; j++)
			if (msi[j] == l->irq)
				member = true;
		if (n_msi > 0 && !member)
			continue;
		q = discover_irq_queue(l->name, n->name, member);
		if (q < 0)
			continue;
		if (k == cap) {
			int nc = cap ? cap * 2 : 16;
			struct lx_irq *ni = realloc(neu, sizeof(*ni) * (size_t)nc);
			if (!ni)
				break;
			neu = ni;
			cap = nc;
		}
		memset(&neu[k], 0, sizeof(neu[k]));
		neu[k].irq = l->irq;
		neu[k].queue = q;
		str_copy(neu[k].name, l->name, sizeof(neu[k].name));
		for (int j = 0; j < n_old; j++)
			if (old[j].irq == l->irq) { /* keep what we know about it */
				neu[k].aff = old[j].aff;
				neu[k].mismatch_warned = old[j].mismatch_warned;
			}
		k++;
	}
	free(msi);
	if (k > 0)
		qsort(neu, (size_t)k, sizeof(neu[0]), discover_irq_cmp);
	free(old);
	n->irq = neu;
	n->n_irq = k;
	n->cap_irq = cap;
	return k;
}

int discover_nic(struct vs_linux *lx, struct lx_nic *n)
{
	char err[256];
	int rxq, txq;

	if (n->sys_fd < 0) {
		if (n->netns[0] && lx->root.live) {
			char nspath[128];
			snprintf(nspath, sizeof(nspath), "/run/netns/%s", n->netns);
			n->sys_fd = netns_open_sysfs(nspath, err, sizeof(err));
			if (n->sys_fd < 0) {
				log_warnx("nic %s: %s", n->name, err);
				return -1;
			}
			n->own_fd = true;
			if (n->sock < 0)
				n->sock = netns_socket(nspath, err, sizeof(err));
		} else {
			n->sys_fd = lx->root.sys_fd;
			if (lx->root.live && n->sock < 0)
				n->sock = netns_socket(NULL, err, sizeof(err));
		}
		if (lx->root.live && n->sock < 0)
			log_warnx("nic %s: no ethtool socket: %s", n->name, err);
	}
	n->present = sysfs_net_exists(n->sys_fd, n->name);
	if (!n->present)
		return -1;
	if (sysfs_net_queues(n->sys_fd, n->name, &rxq, &txq) == 0) {
		n->n_rx = rxq;
		n->n_tx = txq;
	}
	n->numa_node = sysfs_net_numa_node(n->sys_fd, n->name);
	n->ch_supported = hostcall_get_channels(&lx->root, n->sock, n->name, &n->ch) == 0;
	discover_nic_irqs(lx, n);
	return 0;
}
