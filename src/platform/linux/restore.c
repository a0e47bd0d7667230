/* restore.c - put back what vspace changed: the state file's records, in a safe order, through the writer apply uses (act.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/hostcall.h"
#include "platform/linux/linux_int.h"
#include "platform/linux/netns.h"

/* Handles opened while restoring: the records name hierarchies, network
 * namespaces and libvirt URIs, not the platform's objects (a crash
 * recovery has no platform). */
#define RESTORE_MAX_HANDLES 8

struct restore_ctx {
	const struct vs_sysroot *root;
	const struct lx_state *st;
	bool dry_run;
	struct {
		char name[32];
		int fd; /* -errno when it could not be opened */
	} hier[RESTORE_MAX_HANDLES];
	int n_hier;
	struct {
		char name[64];
		int sys_fd; /* owned unless equal to root->sys_fd */
		int sock;
	} ns[RESTORE_MAX_HANDLES];
	int n_ns;
	struct {
		char uri[128];
		struct vs_virt *virt;
	} virt[RESTORE_MAX_HANDLES];
	int n_virt;
	int failed; /* records that could not even be planned */
};

/* The order of the writes: resume what is paused, then NIC settings
 * (channels before the masks of the queues they bring back), IRQs, libvirt
 * pins, thread cgroups, affinities (after the cgroup move that resets them),
 * and last the directories (children before parents: latest record first)
 * and subtree_control. */
static int restore_rank(const struct st_rec *r)
{
	switch (r->kind) {
	case ACT_VIRT_PAUSE:
		return 0;
	case ACT_CG_WRITE:
		return strcmp(r->file, "cgroup.subtree_control") == 0 ? 14 : 1; /* else thaw */
	case ACT_SIGNAL:
		return 2;
	case ACT_CHANNELS:
		return 3;
	case ACT_COALESCE:
		return 4;
	case ACT_RPS:
		return 5;
	case ACT_XPS:
		return 6;
	case ACT_IRQ:
		return 7;
	case ACT_VIRT_VCPU:
		return 8;
	case ACT_VIRT_EMULATOR:
		return 9;
	case ACT_VIRT_IOTHREAD:
		return 10;
	case ACT_CG_MOVE:
		return 11;
	case ACT_AFFINITY:
		return 12;
	case ACT_RMDIR:
		return 13;
	default:
		return -1; /* never recorded */
	}
}
#define RESTORE_RANKS 15

static bool restore_thread_alive(const struct restore_ctx *c, const struct st_rec *r)
{
	struct vs_taskstat ts;

	if (task_read_stat(c->root->proc_fd, r->pid > 0 ? r->pid : r->tid, r->tid, NULL, 0, &ts) <
	    0)
		return false;
	return ts.start_ticks == r->start && ts.state != 'Z';
}

/* The root of cgroup hierarchy name (below sys/): an fd, or -errno. */
static int restore_hier(struct restore_ctx *c, const char *name)
{
	int i;

	for (i = 0; i < c->n_hier; i++)
		if (strcmp(c->hier[i].name, name) == 0)
			return c->hier[i].fd;
	if (c->n_hier == RESTORE_MAX_HANDLES)
		return -EMFILE;
	i = c->n_hier++;
	str_copy(c->hier[i].name, name, sizeof(c->hier[i].name));
	c->hier[i].fd = openat(c->root->sys_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->hier[i].fd < 0)
		c->hier[i].fd = -errno;
	return c->hier[i].fd;
}

/* A network namespace's sysfs and ethtool socket; NULL when unavailable (logged). */
static bool restore_ns(struct restore_ctx *c, const char *netns, int *sys_fd, int *sock)
{
	char err[256], nspath[128];
	int i;

	for (i = 0; i < c->n_ns; i++)
		if (strcmp(c->ns[i].name, netns) == 0)
			goto found;
	if (c->n_ns == RESTORE_MAX_HANDLES)
		return false;
	i = c->n_ns;
	str_copy(c->ns[i].name, netns, sizeof(c->ns[i].name));
	c->ns[i].sys_fd = c->root->sys_fd;
	c->ns[i].sock = -1;
	if (c->root->live && netns[0]) {
		snprintf(nspath, sizeof(nspath), "/run/netns/%s", netns);
		c->ns[i].sys_fd = netns_open_sysfs(nspath, err, sizeof(err));
		if (c->ns[i].sys_fd < 0) {
			log_warnx("restore: %s", err);
			return false;
		}
		c->ns[i].sock = netns_socket(nspath, err, sizeof(err));
	} else if (c->root->live) {
		c->ns[i].sock = netns_socket(NULL, err, sizeof(err));
	}
	c->n_ns++;
found:
	*sys_fd = c->ns[i].sys_fd;
	*sock = c->ns[i].sock;
	return true;
}

/* A libvirt connection to uri; NULL when it cannot be had (logged). */
static struct vs_virt *restore_virt(struct restore_ctx *c, const char *uri)
{
	char err[256];
	int i;

	for (i = 0; i < c->n_virt; i++)
		if (strcmp(c->virt[i].uri, uri) == 0)
			return c->virt[i].virt;
	if (c->n_virt == RESTORE_MAX_HANDLES)
		return NULL;
	i = c->n_virt++;
	str_copy(c->virt[i].uri, uri, sizeof(c->virt[i].uri));
	if (virt_open(&c->virt[i].virt, uri, err, sizeof(err)) < 0) {
		log_warnx("restore: %s", err);
		c->virt[i].virt = NULL;
	}
	return c->virt[i].virt;
}

/* The cgroup process pid goes back to in hierarchy hier: the record of its
 * main thread (or of the process), else of any of its threads, that is not
 * one of vspace's own groups; "/" (the hierarchy's root) when none. */
static const char *restore_proc_cgroup(const struct restore_ctx *c, int pid, const char *hier)
{
	const struct st_rec *best = NULL;

	for (int i = 0; i < c->st->n; i++) {
		const struct st_rec *r = &c->st->rec[i];
		if (r->kind != ACT_CG_MOVE || r->pid != pid || strcmp(r->hier, hier) != 0 ||
		    state_cg_ours(c->st, r->hier, r->path, NULL))
			continue;
		if (!best || r->tid == pid)
			best = r;
	}
	return best ? best->path : "/";
}

/* Does the state hold a record of kind k for thread tid of process pid? */
static bool restore_has_rec(const struct lx_state *st, enum act_kind k, int pid, int tid)
{
	for (int i = 0; i < st->n; i++)
		if (st->rec[i].kind == k && st->rec[i].pid == pid && st->rec[i].tid == tid)
			return true;
	return false;
}

/* Queue moving task id into dir (file: tasks, cgroup.procs) of hierarchy hier. */
static void restore_queue_move(struct restore_ctx *c, struct lx_act *a, const char *hier, int dirfd,
			       const char *dir, const char *file, int id, const char *why)
{
	struct act_op *op = act_queue(a, ACT_CG_MOVE);

	if (!op) {
		c->failed++;
		return;
	}
	op->wkind = VS_W_CG_MOVE;
	op->dirfd = dirfd;
	op->id = id;
	str_copy(op->hier_name, hier, sizeof(op->hier_name));
	str_copy(op->path, dir, sizeof(op->path));
	str_copy(op->file, file, sizeof(op->file));
	str_copy(op->what, why, sizeof(op->what));
}

/* Threads the records do not name: those born after vspace placed their
 * process. Each goes where its process came from — a thread still inside
 * one of vspace's groups to its process's original cgroup (joining it resets
 * its affinity to that group's cpus), and, for a process placed by affinity
 * alone, every such thread gets its process's original affinity. */
static void restore_sweep_threads(struct restore_ctx *c, struct lx_act *a, int **tids, int *cap)
{
	const struct lx_state *st = c->st;

	for (int i = 0; i < st->n; i++) {
		const struct st_rec *p = &st->rec[i];
		bool cgroup = p->kind == ACT_CG_MOVE && !p->procs && strcmp(p->file, "tasks") == 0;
		bool first = true;
		int n;

		if ((!cgroup && p->kind != ACT_AFFINITY) || p->pid <= 0)
			continue;
		/* once per process and kind: at its first record */
		for (int j = 0; j < i && first; j++)
			first = !(st->rec[j].kind == p->kind && st->rec[j].pid == p->pid &&
				  (!cgroup || strcmp(st->rec[j].file, "tasks") == 0));
		if (!first)
			continue;
		if (p->kind == ACT_AFFINITY && restore_has_rec(st, ACT_CG_MOVE, p->pid, p->tid))
			continue; /* placed by cgroup: the move resets the affinity */
		n = task_list(c->root->proc_fd, p->pid, tids, cap);
		for (int k = 0; k < n; k++) {
			int tid = (*tids)[k];
			char path[200], ctl[32];
			if (restore_has_rec(st, p->kind, p->pid, tid))
				continue; /* its own record put it back */
			if (cgroup) {
				const char *slash = strrchr(p->hier, '/');
				int dirfd = restore_hier(c, p->hier);
				str_copy(ctl, slash ? slash + 1 : p->hier, sizeof(ctl));
				if (dirfd < 0 ||
				    task_read_cgroup(c->root->proc_fd, p->pid, tid, ctl, path,
						     sizeof(path)) < 0 ||
				    !state_cg_ours(st, p->hier, path, NULL))
					continue;
				restore_queue_move(c, a, p->hier, dirfd,
						   restore_proc_cgroup(c, p->pid, p->hier), "tasks",
						   tid,
						   "born after placement: its process's group");
			} else {
				const struct st_rec *o = p;
				struct vs_cpuset cur;
				struct act_op *op;
				/* the main thread's original is the process's */
				for (int j = 0; j < st->n; j++)
					if (st->rec[j].kind == ACT_AFFINITY &&
					    st->rec[j].pid == p->pid && st->rec[j].tid == p->pid)
						o = &st->rec[j];
				if (hostcall_get_affinity(c->root, p->pid, tid, &cur) < 0 ||
				    cpuset_equal(&cur, &o->cpus))
					continue;
				op = act_queue(a, ACT_AFFINITY);
				if (!op) {
					c->failed++;
					continue;
				}
				op->wkind = VS_W_AFFINITY;
				op->id = tid;
				op->cpus = o->cpus;
				str_copy(op->what, "born after placement: its process's affinity",
					 sizeof(op->what));
			}
		}
	}
}

/* Is cgroup path (from /proc) the directory rel (relative to the hierarchy)? */
static bool restore_same_dir(const char *path, const char *rel)
{
	while (*path == '/')
		path++;
	return strcmp(path, rel) == 0;
}

/* Whatever is still inside a group vspace created (a process it has no
 * record of) goes to the hierarchy's root, so that the group can go. */
static void restore_sweep_dirs(struct restore_ctx *c, struct lx_act *a)
{
	const struct lx_state *st = c->st;
	char file[240], *buf = NULL;
	size_t cap = 0;

	for (int i = st->n - 1; i >= 0; i--) {
		const struct st_rec *r = &st->rec[i];
		const char *rel = r->path, *list, *slash;
		char ctl[32];
		bool v1;
		int dirfd;

		if (r->kind != ACT_RMDIR)
			continue;
		dirfd = restore_hier(c, r->hier);
		if (dirfd < 0)
			continue;
		while (*rel == '/')
			rel++;
		slash = strrchr(r->hier, '/');
		str_copy(ctl, slash ? slash + 1 : r->hier, sizeof(ctl));
		/* v1 lists threads in tasks; v2 moves whole processes */
		snprintf(file, sizeof(file), "%s/tasks", rel);
		v1 = faccessat(dirfd, file, F_OK, 0) == 0;
		list = v1 ? "tasks" : "cgroup.procs";
		snprintf(file, sizeof(file), "%s/%s", rel, list);
		if (sysroot_read_all(dirfd, file, &buf, &cap) < 0)
			continue;
		for (char *p = buf, *end; *p; p = end) {
			long id = strtol(p, &end, 10);
			char path[200];
			if (end == p)
				break;
			/* only what /proc confirms is in there (a listing is a
			 * snapshot; a fixture's is a plain file) */
			if (id > 0 && id <= INT32_MAX &&
			    task_read_cgroup(c->root->proc_fd, (int)id, (int)id, v1 ? ctl : "",
					     path, sizeof(path)) == 0 &&
			    restore_same_dir(path, rel))
				restore_queue_move(c, a, r->hier, dirfd, "/", list, (int)id,
						   "left inside vspace's group: the root");
			while (*end == '\n' || *end == ' ')
				end++;
		}
	}
	free(buf);
}

static void restore_fail(struct restore_ctx *c, int i, const struct st_rec *r, const char *why)
{
	c->failed++;
	log_warnx("restore %s record %d failed: %s", st_rec_name(r), i, why);
}

/* Queue the write that puts record i back (or nothing: already as it was,
 * or its object is gone). */
static void restore_plan(struct restore_ctx *c, struct lx_act *a, int i, const struct st_rec *r)
{
	static const enum vs_write_kind wkind[] = {
		[ACT_RMDIR] = VS_W_RMDIR,
		[ACT_CG_MOVE] = VS_W_CG_MOVE,
		[ACT_AFFINITY] = VS_W_AFFINITY,
		[ACT_IRQ] = VS_W_IRQ,
		[ACT_RPS] = VS_W_RPS,
		[ACT_XPS] = VS_W_XPS,
		[ACT_CHANNELS] = VS_W_CHANNELS,
		[ACT_COALESCE] = VS_W_COALESCE,
		[ACT_SIGNAL] = VS_W_SIGNAL,
		[ACT_VIRT_VCPU] = VS_W_LIBVIRT,
		[ACT_VIRT_EMULATOR] = VS_W_LIBVIRT,
		[ACT_VIRT_IOTHREAD] = VS_W_LIBVIRT,
		[ACT_VIRT_PAUSE] = VS_W_LIBVIRT,
	};
	bool thaw = r->kind == ACT_CG_WRITE && strcmp(r->file, "cgroup.subtree_control") != 0;
	struct act_op *op;
	struct vs_virt *virt = NULL;
	int dirfd = -1, sys_fd = -1, sock = -1;

	/* what is there already, when the host can be asked */
	if ((r->kind == ACT_CG_MOVE || r->kind == ACT_AFFINITY || r->kind == ACT_SIGNAL) &&
	    !restore_thread_alive(c, r))
		return; /* the thread is gone, and what it had with it */
	if (!c->dry_run) {
		switch (r->kind) {
		case ACT_RMDIR:
		case ACT_CG_WRITE:
		case ACT_CG_MOVE:
			dirfd = restore_hier(c, r->hier);
			if (dirfd == -ENOENT && (r->kind == ACT_RMDIR || thaw))
				return; /* the hierarchy is gone, and the group with it */
			if (dirfd < 0) {
				restore_fail(c, i, r, strerror(-dirfd));
				return;
			}
			break;
		case ACT_RPS:
		case ACT_XPS:
		case ACT_CHANNELS:
		case ACT_COALESCE:
			if (!restore_ns(c, r->netns, &sys_fd, &sock)) {
				restore_fail(c, i, r, strerror(ENOENT));
				return;
			}
			if (r->kind == ACT_CHANNELS) {
				/* nothing to put back when they are as recorded (e.g.
				 * the write was refused: a tap has no settable channels) */
				struct vs_channels cur;
				if (hostcall_get_channels(c->root, sock, r->ifname, &cur) == 0 &&
				    cur.rx == r->ch.rx && cur.tx == r->ch.tx &&
				    cur.other == r->ch.other && cur.combined == r->ch.combined)
					return;
			}
			break;
		case ACT_VIRT_VCPU:
		case ACT_VIRT_EMULATOR:
		case ACT_VIRT_IOTHREAD:
		case ACT_VIRT_PAUSE:
			virt = restore_virt(c, r->uri);
			if (!virt) {
				restore_fail(c, i, r, strerror(ENOTCONN));
				return;
			}
			if (virt_domain_running(virt, r->domain) != 1)
				return; /* the VM is gone: its pins went with it */
			if (r->kind == ACT_VIRT_PAUSE && virt_is_paused(virt, r->domain) != 1)
				return;
			break;
		default:
			break;
		}
	}
	op = act_queue(a, r->kind);
	if (!op) {
		restore_fail(c, i, r, "out of memory");
		return;
	}
	if (r->kind == ACT_CG_MOVE && state_cg_ours(c->st, r->hier, r->path, NULL)) {
		/* an older vspace took a group of its own for the original (a
		 * thread born inside it): never move anything back into one */
		const char *orig = restore_proc_cgroup(c, r->pid, r->hier);
		log_info("restore: %s record %d names vspace's own group %s: %s instead",
			 st_rec_name(r), i, r->path, orig);
		str_copy(op->path, orig, sizeof(op->path));
	}
	op->wkind = r->kind == ACT_CG_WRITE ? (thaw ? VS_W_FREEZE : VS_W_CG_SETUP) : wkind[r->kind];
	op->dirfd = dirfd;
	str_copy(op->hier_name, r->hier, sizeof(op->hier_name));
	if (!op->path[0])
		str_copy(op->path, r->path, sizeof(op->path));
	str_copy(op->file, r->file, sizeof(op->file));
	str_copy(op->text, r->text, sizeof(op->text));
	op->id = r->kind == ACT_IRQ					    ? r->irq
		 : r->kind == ACT_VIRT_VCPU || r->kind == ACT_VIRT_IOTHREAD ? r->index
									    : r->tid;
	op->cpus = r->cpus;
	op->ch = r->ch;
	op->co = r->co;
	op->queue = r->queue;
	op->sys_fd = sys_fd;
	op->sock = sock;
	str_copy(op->ifname, r->ifname, sizeof(op->ifname));
	op->mask_cpus = cpuset_last(&r->cpus) + 1;
	op->virt = virt;
	str_copy(op->domain, r->domain, sizeof(op->domain));
	op->arg = SIGCONT;
	op->value = 0; /* ACT_VIRT_PAUSE: resume */
	op->enoent_gone = r->kind == ACT_RMDIR || r->kind == ACT_IRQ || thaw;
	str_copy(op->what, "as it was", sizeof(op->what));
}

int restore_records(struct lx_state *st, const struct vs_sysroot *root, bool dry_run,
		    struct lx_act *a)
{
	struct restore_ctx c = { .root = root, .st = st, .dry_run = dry_run };
	char boot[64];
	int failed;

	state_boot_id(root, boot, sizeof(boot));
	if (st->boot_id[0] && boot[0] && strcmp(st->boot_id, boot) != 0) {
		log_info("state file %s is from an earlier boot: nothing to restore", st->path);
		return 0;
	}
	a->root = root;
	a->dry_run = dry_run;
	a->prefix = "restore: ";
	a->log_each = true;
	a->resolve = NULL;
	a->after = NULL;
	a->hook_arg = NULL;
	failed = 0;
	/* 1: every record but the directories; 2: the threads and processes no
	 * record names that are still inside vspace's groups, then the
	 * directories (children first) and subtree_control */
	for (int phase = 1; phase <= 2; phase++) {
		int n;
		a->n = 0;
		if (phase == 2) {
			int *tids = NULL, cap = 0;
			restore_sweep_threads(&c, a, &tids, &cap);
			free(tids);
			restore_sweep_dirs(&c, a);
		}
		for (int rank = phase == 1 ? 0 : 13; rank < (phase == 1 ? 13 : RESTORE_RANKS);
		     rank++) {
			bool reverse = rank >= 13; /* directories: children first */
			for (int j = 0; j < st->n; j++) {
				int i = reverse ? st->n - 1 - j : j;
				if (restore_rank(&st->rec[i]) == rank)
					restore_plan(&c, a, i, &st->rec[i]);
			}
		}
		n = a->n;
		act_exec(a);
		for (int i = 0; i < n; i++)
			if (a->op[i].result < 0 && !a->op[i].gone)
				failed++;
	}
	failed += c.failed;
	for (int i = 0; i < c.n_hier; i++)
		if (c.hier[i].fd >= 0)
			close(c.hier[i].fd);
	for (int i = 0; i < c.n_ns; i++) {
		if (c.ns[i].sys_fd >= 0 && c.ns[i].sys_fd != root->sys_fd)
			close(c.ns[i].sys_fd);
		if (c.ns[i].sock >= 0)
			close(c.ns[i].sock);
	}
	for (int i = 0; i < c.n_virt; i++)
		virt_close(c.virt[i].virt);
	return failed;
}

/* ---- The platform's restore, leave and crash recovery ------------------------------------- */

int linuxplat_restore(struct vs_linux *lx)
{
	int failed = 0;

	if (lx->state.n > 0) {
		log_info("restoring %d recorded settings", lx->state.n);
		failed = restore_records(&lx->state, &lx->root, false, &lx->act);
	}
	if (failed > 0 && lx->state.path[0]) {
		/* keep what could not be put back for the operator */
		char keep[PATH_MAX];
		snprintf(keep, sizeof(keep), "%s.failed", lx->state.path);
		if (rename(lx->state.path, keep) == 0)
			log_warnx("the records are kept in %s", keep);
	}
	state_clear(&lx->state);
	/* forget what we knew: everything is back to the host's own settings */
	for (int i = 0; i < lx->n_wl; i++) {
		struct lx_wl *w = &lx->wl[i];
		for (int t = 0; t < w->n_thr; t++) {
			memset(&w->thr[t].aff, 0, sizeof(w->thr[t].aff));
			memset(&w->thr[t].cg, 0, sizeof(w->thr[t].cg));
			w->thr[t].cg.ival = -1;
		}
		for (int g = 0; g < LX_G_N; g++) {
			w->cg[g].planned = false;
			memset(&w->cg[g].cpus, 0, sizeof(w->cg[g].cpus));
		}
		refresh_forget(w);
	}
	for (int h = 0; h < LX_HIER_N; h++) {
		lx->cgbase[h].planned = false;
		memset(&lx->cgbase[h].cpus, 0, sizeof(lx->cgbase[h].cpus));
	}
	for (int i = 0; i < lx->n_nic; i++) {
		struct lx_nic *n = &lx->nic[i];
		for (int k = 0; k < n->n_irq; k++)
			memset(&n->irq[k].aff, 0, sizeof(n->irq[k].aff));
		if (n->cap_q > 0) {
			memset(n->rps, 0, sizeof(*n->rps) * (size_t)n->cap_q);
			memset(n->xps, 0, sizeof(*n->xps) * (size_t)n->cap_q);
		}
		memset(&n->chan, 0, sizeof(n->chan));
		memset(&n->coal, 0, sizeof(n->coal));
		n->ch_supported = hostcall_get_channels(&lx->root, n->sock, n->name, &n->ch) == 0;
		if (n->present)
			sysfs_net_queues(n->sys_fd, n->name, &n->n_rx, &n->n_tx);
	}
	return failed;
}

void linuxplat_leave(struct vs_linux *lx)
{
	if (lx->state.n > 0)
		log_info("on_exit=leave: %d settings stay as vspace made them", lx->state.n);
	state_clear(&lx->state);
}

int linuxplat_recover(const char *sysroot, const char *state_path, bool dry_run, char *err,
		      size_t errlen)
{
	struct lx_state st = { 0 };
	struct vs_sysroot root;
	int rc, failed;

	rc = state_load(&st, state_path, err, errlen);
	if (rc <= 0) {
		state_free(&st);
		return rc;
	}
	if (sysroot_open(&root, sysroot ? sysroot : "/", err, errlen) < 0) {
		state_free(&st);
		return -1;
	}
	if (st.daemon_pid > 0 && st.daemon_pid != (int)getpid()) {
		char comm[32], boot[64];
		state_boot_id(&root, boot, sizeof(boot));
		if ((!st.boot_id[0] || !strcmp(st.boot_id, boot)) &&
		    task_read_comm(root.proc_fd, st.daemon_pid, st.daemon_pid, comm,
				   sizeof(comm)) == 0 &&
		    !strcmp(comm, "vspaced")) {
			snprintf(err, errlen,
				 "state file %s belongs to a running vspaced (pid %d): stop it "
				 "first",
				 state_path, st.daemon_pid);
			sysroot_close(&root);
			state_free(&st);
			return -1;
		}
	}
	log_info("state file %s left by an earlier run (pid %d is gone): restoring %d settings "
		 "first",
		 state_path, st.daemon_pid, st.n);
	{
		struct lx_act a = { 0 };
		failed = restore_records(&st, &root, dry_run, &a);
		act_free(&a);
	}
	if (!dry_run) {
		if (failed > 0) {
			char keep[PATH_MAX];
			snprintf(keep, sizeof(keep), "%s.failed", state_path);
			if (rename(state_path, keep) == 0)
				log_warnx("%d settings could not be restored; the records are kept "
					  "in "
					  "%s",
					  failed, keep);
		} else {
			state_clear(&st);
		}
	}
	sysroot_close(&root);
	state_free(&st);
	return failed;
}
