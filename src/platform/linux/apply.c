/* apply.c - turn a plan into the writes that realise it: read what is there, remember the original, write only what differs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/hostcall.h"
#include "platform/linux/linux_int.h"

/* Everything one call of apply_plan() shares. */
struct apply_ctx {
	struct vs_linux *lx;
	uint64_t seq;	 /* the plan's number: marks what was planned in this call */
	bool keep_state; /* records are kept (not in dry-run) */
	bool oom;
};

static struct act_op *apply_op(struct apply_ctx *a, enum act_kind kind, enum vs_write_kind wk)
{
	struct act_op *op = act_push(a->lx, kind);

	if (!op)
		a->oom = true;
	else
		op->wkind = wk;
	return op;
}

static int apply_last_op(const struct apply_ctx *a)
{
	return a->lx->act.n - 1;
}

static void apply_remember(struct apply_ctx *a, struct lx_obj *obj, const struct st_rec *r)
{
	if (obj->remembered)
		return;
	obj->remembered = true;
	if (a->keep_state && state_add(&a->lx->state, r) < 0)
		a->oom = true;
}

/* ---- Threads ------------------------------------------------------------------------------ */

static void apply_thread_what(const struct lx_wl *w, const struct lx_thread *t, char *buf,
			      size_t len)
{
	snprintf(buf, len, "%s: %s", w->spec.name, t->comm);
}

/* Learn a thread's affinity and remember it as the original. false: gone.
 * A user thread first seen after its workload's threads were placed was born
 * to a placed thread and has its affinity from it: its original is its
 * process's, which restore gives every thread without a record of its own
 * (restore.c), so it needs no record. */
static bool apply_thread_affinity_known(struct apply_ctx *a, struct lx_wl *w, struct lx_thread *t)
{
	struct vs_linux *lx = a->lx;

	if (!t->aff.known) {
		if (hostcall_get_affinity(&lx->root, t->pid, t->tid, &t->aff.cpus) < 0)
			return false;
		t->aff.known = true;
	}
	if (!t->aff.remembered && !t->kthread && t->tid != t->pid && w->aff_seq != 0 &&
	    w->aff_seq != a->seq) {
		t->aff.remembered = true;
		return true;
	}
	struct st_rec r = { .kind = ACT_AFFINITY,
			    .pid = t->pid,
			    .tid = t->tid,
			    .start = t->start,
			    .cpus = t->aff.cpus };
	apply_remember(a, &t->aff, &r);
	return true;
}

static void apply_affinity(struct apply_ctx *a, struct lx_wl *w, struct lx_thread *t,
			   const struct vs_cpuset *cores)
{
	struct act_op *op;

	if (t->aff.broken || !apply_thread_affinity_known(a, w, t))
		return;
	if (w->aff_seq == 0)
		w->aff_seq = a->seq; /* the plan that first placed this workload's threads */
	if (cpuset_equal(&t->aff.cpus, cores))
		return;
	op = apply_op(a, ACT_AFFINITY, VS_W_AFFINITY);
	if (!op)
		return;
	op->id = t->tid;
	op->cpus = *cores;
	op->obj = &t->aff;
	op->wl = (int)(w - a->lx->wl);
	apply_thread_what(w, t, op->what, sizeof(op->what));
}

/* ---- cgroup directories ------------------------------------------------------------------- */

/* Plan one cgroup set-up write (text into dir/file of hierarchy h) after dep.
 * Returns its op index, or -1 when out of memory. */
static int apply_setup_write(struct apply_ctx *a, enum lx_hier h, const char *dir, const char *file,
			     const char *text, int dep)
{
	struct act_op *op = apply_op(a, ACT_CG_WRITE, VS_W_CG_SETUP);

	if (!op)
		return -1;
	op->hier = h;
	op->dep = dep;
	str_copy(op->path, dir, sizeof(op->path));
	str_copy(op->file, file, sizeof(op->file));
	str_copy(op->text, text, sizeof(op->text));
	return apply_last_op(a);
}

/* Plan creating dir d (once): mkdir plus the set-up its hierarchy needs.
 * Returns the index of the last set-up op (-1 when nothing was planned). */
static int apply_mkdir(struct apply_ctx *a, enum lx_hier h, struct lx_cgdir *d, bool threaded,
		       int dep)
{
	struct vs_linux *lx = a->lx;
	struct act_op *op;

	if (d->planned)
		return -1;
	d->planned = true;
	struct st_rec r = { .kind = ACT_RMDIR };
	str_copy(r.hier, lx->cg.rel[h], sizeof(r.hier));
	str_copy(r.path, d->path, sizeof(r.path));
	if (a->keep_state && state_add(&lx->state, &r) < 0)
		a->oom = true;
	op = apply_op(a, ACT_MKDIR, VS_W_MKDIR);
	if (!op)
		return -1;
	op->hier = h;
	op->dep = dep;
	str_copy(op->path, d->path, sizeof(op->path));
	dep = apply_last_op(a);
	if (h == LX_HIER_CPUSET1)
		return apply_setup_write(a, h, d->path, "cpuset.mems", lx->cg.mems, dep);
	if (h == LX_HIER_V2 && threaded)
		return apply_setup_write(a, h, d->path, "cgroup.type", "threaded", dep);
	return dep;
}

/* Enable the cpuset controller for the children of dir (v2). */
static int apply_subtree(struct apply_ctx *a, const char *dir, int dep)
{
	return apply_setup_write(a, LX_HIER_V2, dir, "cgroup.subtree_control", "+cpuset", dep);
}

/* Plan cpuset.cpus of d to cores when it differs. Returns the op index or dep. */
static int apply_cpus(struct apply_ctx *a, enum lx_hier h, struct lx_cgdir *d,
		      const struct vs_cpuset *cores, int dep)
{
	struct act_op *op;

	if (d->cpus.broken || (d->cpus.known && cpuset_equal(&d->cpus.cpus, cores)))
		return dep;
	op = apply_op(a, ACT_CG_WRITE, VS_W_CPUSET);
	if (!op)
		return dep;
	op->hier = h;
	op->dep = dep;
	op->use_cpus = true;
	op->cpus = *cores;
	op->obj = &d->cpus;
	str_copy(op->path, d->path, sizeof(op->path));
	str_copy(op->file, "cpuset.cpus", sizeof(op->file));
	return apply_last_op(a);
}

/* The base directory of our subtree in hierarchy h. */
static struct lx_cgdir *apply_base(struct vs_linux *lx, enum lx_hier h)
{
	return &lx->cgbase[h];
}

/* Plan the workload's groups in hierarchy h: base/<wl> (the envelope,
 * all managed cores), base/<wl>/vcpu and base/<wl>/nq. Returns, per group,
 * the op the thread moves must wait for (-1 none). */
static void apply_groups(struct apply_ctx *a, struct lx_wl *w, enum lx_hier h,
			 const struct vs_cpuset *vcpu, const struct vs_cpuset *nq,
			 int ready[LX_G_N])
{
	struct vs_linux *lx = a->lx;
	struct lx_cgdir *base = apply_base(lx, h);
	int dep = -1, d;

	for (int g = 0; g < LX_G_N; g++)
		ready[g] = -1;
	if (!base->planned) {
		if (h == LX_HIER_V2) {
			/* the root must hand the cpuset controller down */
			char buf[256];
			if (sysroot_read(lx->cg.fd[h], "cgroup.subtree_control", buf, sizeof(buf)) <
				    0 ||
			    !strstr(buf, "cpuset")) {
				struct st_rec r = { .kind = ACT_CG_WRITE,
						    .file = "cgroup.subtree_control" };
				str_copy(r.hier, lx->cg.rel[h], sizeof(r.hier));
				str_copy(r.path, "/", sizeof(r.path));
				str_copy(r.text, "-cpuset", sizeof(r.text));
				if (a->keep_state && state_add(&lx->state, &r) < 0)
					a->oom = true;
				dep = apply_subtree(a, ".", -1);
			}
		}
		d = apply_mkdir(a, h, base, false, dep);
		dep = d >= 0 ? d : dep;
		dep = apply_cpus(a, h, base, &lx->cfg.managed, dep);
		if (h == LX_HIER_V2)
			dep = apply_subtree(a, base->path, dep);
	}
	if (!w->cg[LX_G_ENV].planned) {
		d = apply_mkdir(a, h, &w->cg[LX_G_ENV], false, dep);
		dep = d >= 0 ? d : dep;
		dep = apply_cpus(a, h, &w->cg[LX_G_ENV], &lx->cfg.managed, dep);
		if (h == LX_HIER_V2)
			dep = apply_subtree(a, w->cg[LX_G_ENV].path, dep);
	}
	ready[LX_G_ENV] = dep;
	for (int g = LX_G_VCPU; g <= LX_G_NQ; g++) {
		int gd = dep;
		d = apply_mkdir(a, h, &w->cg[g], true, gd);
		gd = d >= 0 ? d : gd;
		gd = apply_cpus(a, h, &w->cg[g], g == LX_G_VCPU ? vcpu : nq, gd);
		ready[g] = gd;
	}
}

/* A best-effort workload's single group base/<wl> with the BE cores.
 * Returns the op its moves wait for. */
static int apply_be_group(struct apply_ctx *a, struct lx_wl *w, enum lx_hier h,
			  const struct vs_cpuset *cores)
{
	struct vs_linux *lx = a->lx;
	struct lx_cgdir *base = apply_base(lx, h);
	int dep = -1, d;

	if (!base->planned) {
		d = apply_mkdir(a, h, base, false, -1);
		dep = d >= 0 ? d : dep;
		dep = apply_cpus(a, h, base, &lx->cfg.managed, dep);
		if (h == LX_HIER_V2)
			dep = apply_subtree(a, base->path, dep);
	}
	d = apply_mkdir(a, h, &w->cg[LX_G_ENV], false, dep);
	dep = d >= 0 ? d : dep;
	return apply_cpus(a, h, &w->cg[LX_G_ENV], cores, dep);
}

/* path without its leading slashes (/proc/PID/cgroup paths start with one;
 * ours are relative to the hierarchy). */
static const char *apply_rel(const char *path)
{
	while (*path == '/')
		path++;
	return path;
}

/* Is a task's cgroup path in hierarchy h one of vspace's own groups? */
static bool apply_ours(const struct vs_linux *lx, enum lx_hier h, const char *path)
{
	return state_cg_ours(&lx->state, lx->cg.rel[h], path, lx->cfg.cgroup_parent);
}

/* Where a process found inside vspace's groups goes back to: its parent
 * process's cgroup when that is not vspace's, else the hierarchy's root. */
static void apply_fallback_cgroup(const struct vs_linux *lx, int pid, enum lx_hier h, char *path,
				  size_t len)
{
	int ppid = task_read_ppid(lx->root.proc_fd, pid);

	if (ppid > 0 &&
	    task_read_cgroup(lx->root.proc_fd, ppid, ppid, h == LX_HIER_CPUSET1 ? "cpuset" : "",
			     path, len) == 0 &&
	    !apply_ours(lx, h, path))
		return;
	str_copy(path, "/", len);
}

/* cgroup v2: the process joins its domain group base/<wl> (once); threads
 * then move into the threaded children. Returns the op to wait for. */
static int apply_proc_move(struct apply_ctx *a, struct lx_wl *w, int dep)
{
	struct vs_linux *lx = a->lx;
	struct act_op *op;

	if ((w->proc_cg.known && w->proc_cg.ival == 1) || w->proc_move_seq == a->seq || w->pid <= 0)
		return dep;
	if (!w->proc_cg.remembered) {
		struct st_rec r = { .kind = ACT_CG_MOVE,
				    .pid = w->pid,
				    .tid = w->pid,
				    .start = w->pid_start,
				    .procs = true };
		if (task_read_cgroup(lx->root.proc_fd, w->pid, w->pid, "", r.path, sizeof(r.path)) <
		    0)
			return dep;
		str_copy(r.hier, lx->cg.rel[LX_HIER_V2], sizeof(r.hier));
		str_copy(r.file, "cgroup.procs", sizeof(r.file));
		if (apply_ours(lx, LX_HIER_V2, r.path)) {
			bool there = strcmp(apply_rel(r.path), w->cg[LX_G_ENV].path) == 0;
			apply_fallback_cgroup(lx, w->pid, LX_HIER_V2, r.path, sizeof(r.path));
			apply_remember(a, &w->proc_cg, &r);
			if (there) { /* already where it belongs */
				w->proc_cg.known = true;
				w->proc_cg.ival = 1;
				return dep;
			}
		} else {
			apply_remember(a, &w->proc_cg, &r);
		}
	}
	op = apply_op(a, ACT_CG_MOVE, VS_W_CG_MOVE);
	if (!op)
		return dep;
	op->hier = LX_HIER_V2;
	op->dep = dep;
	op->id = w->pid;
	op->value = 1;
	op->obj = &w->proc_cg;
	op->wl = (int)(w - lx->wl);
	str_copy(op->path, w->cg[LX_G_ENV].path, sizeof(op->path));
	str_copy(op->file, "cgroup.procs", sizeof(op->file));
	snprintf(op->what, sizeof(op->what), "%s", w->spec.name);
	w->proc_move_seq = a->seq; /* once per apply, however many threads follow */
	return apply_last_op(a);
}

/* Move thread t into group g of hierarchy h (once). */
static void apply_move(struct apply_ctx *a, struct lx_wl *w, struct lx_thread *t, enum lx_hier h,
		       int g, int dep)
{
	struct vs_linux *lx = a->lx;
	struct act_op *op;

	if (t->cg.known && t->cg.ival == g)
		return;
	if (!t->cg.remembered) {
		struct st_rec r = {
			.kind = ACT_CG_MOVE, .pid = t->pid, .tid = t->tid, .start = t->start
		};
		if (task_read_cgroup(lx->root.proc_fd, t->pid, t->tid,
				     h == LX_HIER_CPUSET1 ? "cpuset" : "", r.path,
				     sizeof(r.path)) < 0)
			return;
		if (apply_ours(lx, h, r.path)) {
			/* born inside one of our groups (created by a thread vspace
			 * placed): its original is its process's (restore moves every
			 * such thread there), so no record of its own — but the main
			 * thread's record is its process's original */
			bool there = strcmp(apply_rel(r.path), w->cg[g].path) == 0;
			if (h == LX_HIER_CPUSET1 && t->tid == t->pid) {
				apply_fallback_cgroup(lx, t->pid, h, r.path, sizeof(r.path));
				str_copy(r.hier, lx->cg.rel[h], sizeof(r.hier));
				str_copy(r.file, "tasks", sizeof(r.file));
				apply_remember(a, &t->cg, &r);
			}
			t->cg.remembered = true;
			t->aff.remembered = true; /* joining its original resets it */
			if (there && (h == LX_HIER_CPUSET1 || w->proc_cg.known)) {
				t->cg.known = true; /* already where it belongs: no write */
				t->cg.ival = g;
				return;
			}
		} else {
			/* joining a cpuset resets the affinity: remember that too */
			if (!apply_thread_affinity_known(a, w, t))
				return;
			if (h == LX_HIER_CPUSET1) {
				str_copy(r.hier, lx->cg.rel[h], sizeof(r.hier));
				str_copy(r.file, "tasks", sizeof(r.file));
				apply_remember(a, &t->cg, &r);
			} else {
				t->cg.remembered = true; /* the process record covers it */
			}
		}
	}
	if (h == LX_HIER_V2)
		dep = apply_proc_move(a, w, dep);
	op = apply_op(a, ACT_CG_MOVE, VS_W_CG_MOVE);
	if (!op)
		return;
	op->hier = h;
	op->dep = dep;
	op->id = t->tid;
	op->value = g;
	op->obj = &t->cg;
	op->wl = (int)(w - lx->wl);
	str_copy(op->path, w->cg[g].path, sizeof(op->path));
	str_copy(op->file, h == LX_HIER_CPUSET1 ? "tasks" : "cgroup.threads", sizeof(op->file));
	apply_thread_what(w, t, op->what, sizeof(op->what));
}

/* ---- libvirt --------------------------------------------------------------------------------- */

static void apply_virt_pin(struct apply_ctx *a, struct lx_wl *w, enum act_kind kind, int id,
			   struct lx_obj *obj, const struct vs_cpuset *cores)
{
	struct vs_linux *lx = a->lx;
	struct act_op *op;
	int rc;

	if (obj->broken)
		return;
	if (!obj->known) {
		rc = kind == ACT_VIRT_VCPU
			     ? virt_get_vcpu_pin(lx->virt, w->spec.domain, id, &obj->cpus)
		     : kind == ACT_VIRT_EMULATOR
			     ? virt_get_emulator_pin(lx->virt, w->spec.domain, &obj->cpus)
			     : virt_get_iothread_pin(lx->virt, w->spec.domain, id, &obj->cpus);
		if (rc < 0) {
			if (act_errclass(rc) != 1) {
				log_warnx("workload %s: %s; leaving it alone", w->spec.name,
					  virt_last_error(lx->virt));
				obj->broken = true;
			}
			return;
		}
		obj->known = true;
	}
	struct st_rec r = { .kind = kind, .index = id, .cpus = obj->cpus };
	str_copy(r.uri, lx->cfg.libvirt_uri, sizeof(r.uri));
	str_copy(r.domain, w->spec.domain, sizeof(r.domain));
	apply_remember(a, obj, &r);
	if (cpuset_equal(&obj->cpus, cores))
		return;
	op = apply_op(a, kind, VS_W_LIBVIRT);
	if (!op)
		return;
	op->id = id;
	op->cpus = *cores;
	op->obj = obj;
	op->wl = (int)(w - lx->wl);
}

/* Pin a libvirt domain: vCPUs to vcpu, emulator and IOThreads to nq. */
static void apply_virt(struct apply_ctx *a, struct lx_wl *w, const struct vs_cpuset *vcpu,
		       const struct vs_cpuset *nq)
{
	struct vs_linux *lx = a->lx;

	if (w->n_vvcpu == 0) {
		int n = virt_vcpu_count(lx->virt, w->spec.domain);
		if (n <= 0)
			return;
		w->vvcpu = calloc((size_t)n, sizeof(*w->vvcpu));
		if (!w->vvcpu) {
			a->oom = true;
			return;
		}
		w->n_vvcpu = n;
		w->n_viothr = virt_iothreads(lx->virt, w->spec.domain, w->viothread, 16);
		if (w->n_viothr < 0)
			w->n_viothr = 0;
	}
	if (w->virt_recount) {
		/* libvirt said the domain changed (cputune, devices): vCPUs or
		 * IOThreads may have come or gone; what is known of the others stays
		 * (their originals are recorded once) */
		int n = virt_vcpu_count(lx->virt, w->spec.domain), ids[16], m;
		struct lx_obj old[16];
		w->virt_recount = false;
		if (n > w->n_vvcpu) {
			struct lx_obj *nv = realloc(w->vvcpu, sizeof(*nv) * (size_t)n);
			if (!nv) {
				a->oom = true;
				return;
			}
			memset(nv + w->n_vvcpu, 0, sizeof(*nv) * (size_t)(n - w->n_vvcpu));
			w->vvcpu = nv;
		}
		if (n > 0)
			w->n_vvcpu = n;
		m = virt_iothreads(lx->virt, w->spec.domain, ids, 16);
		if (m >= 0) {
			memcpy(old, w->viothr, sizeof(old));
			for (int i = 0; i < m; i++) {
				struct lx_obj o = { 0 };
				for (int j = 0; j < w->n_viothr; j++)
					if (w->viothread[j] == ids[i])
						o = old[j];
				w->viothr[i] = o;
				w->viothread[i] = ids[i];
			}
			w->n_viothr = m;
		}
	}
	for (int v = 0; v < w->n_vvcpu; v++)
		apply_virt_pin(a, w, ACT_VIRT_VCPU, v, &w->vvcpu[v], vcpu);
	apply_virt_pin(a, w, ACT_VIRT_EMULATOR, 0, &w->vemu, nq);
	for (int i = 0; i < w->n_viothr; i++)
		apply_virt_pin(a, w, ACT_VIRT_IOTHREAD, w->viothread[i], &w->viothr[i], nq);
}

/* ---- LC workloads ---------------------------------------------------------------------------- */

static enum lx_hier apply_hier(enum vs_placement p)
{
	return p == VS_PLACE_CGROUP1 ? LX_HIER_CPUSET1 : LX_HIER_V2;
}

static void apply_guest(struct apply_ctx *a, struct lx_wl *w, const struct vs_alloc *al)
{
	struct act_op *op;

	if (!w->is_vm)
		return;
	if (!w->guest) {
		if (!w->guest_warned &&
		    (al->vcpus != w->cur_vcpus || al->queues != w->cur_queues)) {
			log_info("workload %s: no guest agent connected: the guest keeps its vCPU "
				 "and queue counts (plan: %d vCPUs, %d queues)",
				 w->spec.name, al->vcpus, al->queues);
			w->guest_warned = true;
		}
		return;
	}
	if (!w->gvcpus.broken && (!w->gvcpus.known || w->gvcpus.ival != al->vcpus) &&
	    al->vcpus > 0) {
		op = apply_op(a, ACT_GUEST_VCPUS, VS_W_GUEST);
		if (op) {
			op->value = al->vcpus;
			op->obj = &w->gvcpus;
			op->wl = (int)(w - a->lx->wl);
		}
	}
	if (!w->gvnq.broken && (!w->gvnq.known || w->gvnq.ival != al->queues) && al->queues > 0) {
		op = apply_op(a, ACT_GUEST_VNQ, VS_W_GUEST);
		if (op) {
			op->value = al->queues;
			op->obj = &w->gvnq;
			op->wl = (int)(w - a->lx->wl);
			str_copy(op->text, w->spec.guest_nic, sizeof(op->text));
		}
	}
}

static void apply_lc(struct apply_ctx *a, struct lx_wl *w, const struct vs_wl_plan *wp)
{
	struct vs_linux *lx = a->lx;
	const struct vs_cpuset *vcpu = &wp->vcpu_cores, *nq = &wp->nq_cores;
	bool cgroup = w->place == VS_PLACE_CGROUP1 || w->place == VS_PLACE_CGROUP2;
	int ready[LX_G_N] = { -1, -1, -1 };
	enum lx_hier h = apply_hier(w->place);

	if (cpuset_empty(vcpu) || cpuset_empty(nq))
		return; /* never leave a group with no core */
	w->cur_valid = true;
	w->cur_alloc = wp->alloc;
	w->cur_layout = wp->alloc.layout;
	w->cur_vcpu = *vcpu;
	w->cur_nq = *nq;
	if (cgroup)
		apply_groups(a, w, h, vcpu, nq, ready);
	if (w->place == VS_PLACE_LIBVIRT && lx->virt)
		apply_virt(a, w, vcpu, nq);
	for (int i = 0; i < w->n_thr; i++) {
		struct lx_thread *t = &w->thr[i];
		bool compute = t->role == LX_ROLE_COMPUTE;
		int g = compute ? LX_G_VCPU : LX_G_NQ;

		if (w->place == VS_PLACE_LIBVIRT && lx->virt) {
			/* libvirt owns vCPU and emulator threads; vhost workers live
			 * in the emulator's cgroup (nq cores) and get an affinity */
			if (t->role == LX_ROLE_VHOST)
				apply_affinity(a, w, t, nq);
			continue;
		}
		if (cgroup && !t->kthread && !t->cg.broken)
			apply_move(a, w, t, h, g, ready[g]);
		else
			apply_affinity(a, w, t, compute ? vcpu : nq);
	}
	apply_guest(a, w, &wp->alloc);
	w->cur_vcpus = wp->alloc.vcpus;
	w->cur_queues = wp->alloc.queues;
}

/* ---- Best-effort workloads -------------------------------------------------------------------- */

static void apply_freeze_write(struct apply_ctx *a, struct lx_wl *w, enum lx_hier h,
			       const char *dir, bool pause, int dep)
{
	struct act_op *op = apply_op(a, ACT_CG_WRITE, VS_W_FREEZE);

	if (!op)
		return;
	op->hier = h;
	op->dep = dep;
	op->obj = &w->frozen;
	op->value = pause;
	op->wl = (int)(w - a->lx->wl);
	str_copy(op->path, dir, sizeof(op->path));
	if (h == LX_HIER_FREEZER1) {
		str_copy(op->file, "freezer.state", sizeof(op->file));
		str_copy(op->text, pause ? "FROZEN" : "THAWED", sizeof(op->text));
	} else {
		str_copy(op->file, "cgroup.freeze", sizeof(op->file));
		str_copy(op->text, pause ? "1" : "0", sizeof(op->text));
	}
}

/* Pause or resume a BE workload: libvirt suspend, freezer, cgroup.freeze or signals. */
static void apply_pause(struct apply_ctx *a, struct lx_wl *w, bool pause)
{
	struct vs_linux *lx = a->lx;
	struct act_op *op;
	int dep = -1;

	if (w->frozen.broken || (w->frozen.known && w->frozen.ival == (int)pause))
		return;
	if (!w->frozen.known && !pause) {
		w->frozen.known = true; /* never paused by us: nothing to resume */
		w->frozen.ival = 0;
		return;
	}
	if (w->place == VS_PLACE_LIBVIRT && lx->virt) {
		struct st_rec r = { .kind = ACT_VIRT_PAUSE };
		str_copy(r.uri, lx->cfg.libvirt_uri, sizeof(r.uri));
		str_copy(r.domain, w->spec.domain, sizeof(r.domain));
		apply_remember(a, &w->frozen, &r);
		op = apply_op(a, ACT_VIRT_PAUSE, VS_W_LIBVIRT);
		if (op) {
			op->value = pause;
			op->obj = &w->frozen;
			op->wl = (int)(w - lx->wl);
		}
		return;
	}
	if (w->spec.source == VS_SRC_CGROUP && lx->cg.fd[LX_HIER_V2] >= 0) {
		/* freeze the workload's own v2 cgroup */
		struct st_rec r = { .kind = ACT_CG_WRITE, .file = "cgroup.freeze" };
		const char *p = w->spec.path;
		while (*p == '/')
			p++;
		str_copy(r.hier, lx->cg.rel[LX_HIER_V2], sizeof(r.hier));
		str_copy(r.path, *p ? p : ".", sizeof(r.path));
		str_copy(r.text, "0", sizeof(r.text));
		apply_remember(a, &w->frozen, &r);
		apply_freeze_write(a, w, LX_HIER_V2, r.path, pause, -1);
		return;
	}
	if (w->pid > 0 && lx->cg.fd[LX_HIER_FREEZER1] >= 0) {
		if (!w->fz.planned) {
			struct st_rec r = { .kind = ACT_CG_MOVE,
					    .tid = w->pid,
					    .start = w->pid_start,
					    .procs = true };
			if (task_read_cgroup(lx->root.proc_fd, w->pid, w->pid, "freezer", r.path,
					     sizeof(r.path)) < 0)
				return;
			str_copy(r.hier, lx->cg.rel[LX_HIER_FREEZER1], sizeof(r.hier));
			str_copy(r.file, "cgroup.procs", sizeof(r.file));
			if (a->keep_state && state_add(&lx->state, &r) < 0)
				a->oom = true;
			dep = apply_mkdir(a, LX_HIER_FREEZER1, apply_base(lx, LX_HIER_FREEZER1),
					  false, -1);
			int d = apply_mkdir(a, LX_HIER_FREEZER1, &w->fz, false, dep);
			dep = d >= 0 ? d : dep;
			op = apply_op(a, ACT_CG_MOVE, VS_W_CG_MOVE);
			if (!op)
				return;
			op->hier = LX_HIER_FREEZER1;
			op->dep = dep;
			op->id = w->pid;
			op->wl = (int)(w - lx->wl);
			str_copy(op->path, w->fz.path, sizeof(op->path));
			str_copy(op->file, "cgroup.procs", sizeof(op->file));
			str_copy(op->what, w->spec.name, sizeof(op->what));
			dep = apply_last_op(a);
			struct st_rec f = { .kind = ACT_CG_WRITE, .file = "freezer.state" };
			str_copy(f.hier, lx->cg.rel[LX_HIER_FREEZER1], sizeof(f.hier));
			str_copy(f.path, w->fz.path, sizeof(f.path));
			str_copy(f.text, "THAWED", sizeof(f.text));
			if (a->keep_state && state_add(&lx->state, &f) < 0)
				a->oom = true;
		}
		w->frozen.remembered = true;
		apply_freeze_write(a, w, LX_HIER_FREEZER1, w->fz.path, pause, dep);
		return;
	}
	if (w->pid > 0 && w->place == VS_PLACE_CGROUP2 && w->proc_cg.known) {
		struct st_rec f = { .kind = ACT_CG_WRITE, .file = "cgroup.freeze" };
		str_copy(f.hier, lx->cg.rel[LX_HIER_V2], sizeof(f.hier));
		str_copy(f.path, w->cg[LX_G_ENV].path, sizeof(f.path));
		str_copy(f.text, "0", sizeof(f.text));
		apply_remember(a, &w->frozen, &f);
		apply_freeze_write(a, w, LX_HIER_V2, w->cg[LX_G_ENV].path, pause, -1);
		return;
	}
	/* last resort: stop and continue the process(es) */
	{
		struct st_rec r = { .kind = ACT_SIGNAL, .tid = w->pid, .start = w->pid_start };
		int target = w->pid > 0 ? w->pid : (w->n_thr > 0 ? w->thr[0].tid : 0);
		if (target <= 0)
			return;
		if (w->pid <= 0) {
			r.tid = w->thr[0].tid;
			r.start = w->thr[0].start;
		}
		apply_remember(a, &w->frozen, &r);
		op = apply_op(a, ACT_SIGNAL, VS_W_SIGNAL);
		if (op) {
			op->id = target;
			op->arg = pause ? SIGSTOP : SIGCONT;
			op->value = pause;
			op->obj = &w->frozen;
			op->wl = (int)(w - lx->wl);
		}
	}
}

static void apply_be(struct apply_ctx *a, struct lx_wl *w, const struct vs_plan *plan)
{
	struct vs_linux *lx = a->lx;
	const struct vs_cpuset *cores = &plan->be_cores;
	bool pause = plan->be_paused || cpuset_empty(cores);

	if (!cpuset_empty(cores)) {
		bool cgroup = w->place == VS_PLACE_CGROUP1 || w->place == VS_PLACE_CGROUP2;
		enum lx_hier h = apply_hier(w->place);

		w->cur_valid = true;
		w->cur_vcpu = w->cur_nq = *cores;
		if (w->place == VS_PLACE_LIBVIRT && lx->virt) {
			apply_virt(a, w, cores, cores);
		} else {
			/* one group, base/<wl>, holding the BE cores */
			int dep = -1;
			if (cgroup)
				dep = apply_be_group(a, w, h, cores);
			if (cgroup && h == LX_HIER_V2)
				apply_proc_move(a, w, dep);
			for (int i = 0; i < w->n_thr; i++) {
				struct lx_thread *t = &w->thr[i];
				if (cgroup && h == LX_HIER_V2)
					break;
				if (cgroup && !t->kthread && !t->cg.broken)
					apply_move(a, w, t, h, LX_G_ENV, dep);
				else
					apply_affinity(a, w, t, cores);
			}
		}
	}
	apply_pause(a, w, pause);
}

/* ---- NICs -------------------------------------------------------------------------------------- */

static int apply_cpu_list(const struct vs_cpuset *s, int *out, int max)
{
	int n = 0;
	for (int c = cpuset_next(s, 0); c >= 0 && n < max; c = cpuset_next(s, c + 1))
		out[n++] = c;
	return n;
}

/* Make room for queue objects 0..n-1 before any op points into the arrays. */
static bool apply_queue_room(struct apply_ctx *a, struct lx_nic *n, int need)
{
	int nc;
	struct lx_obj *r, *x;

	if (need <= n->cap_q)
		return true;
	nc = need + 8;
	r = realloc(n->rps, sizeof(*r) * (size_t)nc);
	if (r)
		n->rps = r;
	x = r ? realloc(n->xps, sizeof(*x) * (size_t)nc) : NULL;
	if (!r || !x) {
		a->oom = true;
		return false;
	}
	n->xps = x;
	memset(&n->rps[n->cap_q], 0, sizeof(*r) * (size_t)(nc - n->cap_q));
	memset(&n->xps[n->cap_q], 0, sizeof(*x) * (size_t)(nc - n->cap_q));
	n->cap_q = nc;
	return true;
}

static struct lx_obj *apply_queue_obj(struct lx_nic *n, bool rx, int q)
{
	if (q >= n->cap_q)
		return NULL;
	return rx ? &n->rps[q] : &n->xps[q];
}

/* Learn a queue's RPS (rx) or XPS mask unless known, and remember it as the
 * original. Returns the object, NULL when there is none or it is broken. */
static struct lx_obj *apply_mask_known(struct apply_ctx *a, struct lx_nic *n, bool rx, int q,
				       bool force)
{
	struct lx_obj *obj = apply_queue_obj(n, rx, q);
	char path[160], buf[1024], err[128];

	if (!obj || obj->broken)
		return NULL;
	if (!obj->known && !force) {
		snprintf(path, sizeof(path), "class/net/%s/queues/%s-%d/%s", n->name,
			 rx ? "rx" : "tx", q, rx ? "rps_cpus" : "xps_cpus");
		if (sysroot_read(n->sys_fd, path, buf, sizeof(buf)) >= 0 &&
		    cpuset_parse_mask(&obj->cpus, str_trim(buf), err, sizeof(err)) == 0)
			obj->known = true;
		else
			cpuset_zero(&obj->cpus);
	}
	struct st_rec r = { .kind = rx ? ACT_RPS : ACT_XPS, .queue = q, .cpus = obj->cpus };
	str_copy(r.ifname, n->name, sizeof(r.ifname));
	str_copy(r.netns, n->netns, sizeof(r.netns));
	apply_remember(a, obj, &r);
	return obj;
}

static void apply_mask(struct apply_ctx *a, struct lx_nic *n, bool rx, int q,
		       const struct vs_cpuset *cores, bool force, int dep)
{
	struct vs_linux *lx = a->lx;
	struct lx_obj *obj = apply_mask_known(a, n, rx, q, force);
	struct act_op *op;

	if (!obj)
		return;
	if (!obj->known && !force && !rx)
		return; /* no xps_cpus to read: a single-queue device has no XPS */
	if (obj->known && !force && cpuset_equal(&obj->cpus, cores))
		return;
	op = apply_op(a, rx ? ACT_RPS : ACT_XPS, rx ? VS_W_RPS : VS_W_XPS);
	if (!op)
		return;
	op->nic = (int)(n - lx->nic);
	op->queue = q;
	op->cpus = *cores;
	op->obj = obj;
	op->dep = dep;
}

static void apply_irq(struct apply_ctx *a, struct lx_nic *n, struct lx_irq *irq,
		      const struct vs_cpuset *cores, int dep)
{
	struct vs_linux *lx = a->lx;
	char path[64], buf[4096], err[128];
	struct act_op *op;

	if (irq->aff.broken)
		return;
	if (!irq->aff.known) {
		snprintf(path, sizeof(path), "irq/%d/smp_affinity_list", irq->irq);
		if (sysroot_read(lx->root.proc_fd, path, buf, sizeof(buf)) < 0 ||
		    cpuset_parse_list(&irq->aff.cpus, str_trim(buf), err, sizeof(err)) < 0)
			return; /* the IRQ went away with a channel change */
		irq->aff.known = true;
	}
	struct st_rec r = { .kind = ACT_IRQ, .irq = irq->irq, .cpus = irq->aff.cpus };
	apply_remember(a, &irq->aff, &r);
	if (cpuset_equal(&irq->aff.cpus, cores))
		return;
	op = apply_op(a, ACT_IRQ, VS_W_IRQ);
	if (!op)
		return;
	op->nic = (int)(n - lx->nic);
	op->id = irq->irq;
	op->cpus = *cores;
	op->obj = &irq->aff;
	op->dep = dep;
	str_copy(op->what, irq->name, sizeof(op->what));
}

static void apply_nic(struct apply_ctx *a, struct lx_nic *n, const struct vs_plan *plan)
{
	struct vs_linux *lx = a->lx;
	struct vs_cpuset nq, comp;
	int queues = 0, owners = 0, dep = -1;
	int rx = n->n_rx, tx = n->n_tx, old_rx = n->n_rx, old_tx = n->n_tx;
	bool changed = false;
	int *nql = lx->scratch, *order = lx->scratch + VS_MAX_CPUS;
	int n_nq, n_order = 0;

	cpuset_zero(&nq);
	cpuset_zero(&comp);
	for (int i = 0; i < plan->n_workloads; i++) {
		struct lx_wl *w = linux_find(lx, plan->wl[i].name);
		if (!w || !w->present)
			continue;
		if (n->owner >= 0 && n->owner != (int)(w - lx->wl))
			continue;
		cpuset_or(&nq, &nq, &plan->wl[i].nq_cores);
		cpuset_or(&comp, &comp, &plan->wl[i].vcpu_cores);
		queues += plan->wl[i].alloc.queues;
		owners++;
	}
	if (owners == 0 || cpuset_empty(&nq))
		return;

	/* channels first: the masks below address the queues they leave */
	if (n->manage_channels && n->ch_supported && !n->chan.broken && queues > 0) {
		struct vs_channels want;
		struct st_rec r = { .kind = ACT_CHANNELS, .ch = n->ch };
		str_copy(r.ifname, n->name, sizeof(r.ifname));
		str_copy(r.netns, n->netns, sizeof(r.netns));
		apply_remember(a, &n->chan, &r);
		ethtool_channels_for(&n->ch, queues, &want);
		if (want.rx != n->ch.rx || want.tx != n->ch.tx || want.combined != n->ch.combined) {
			struct act_op *op = apply_op(a, ACT_CHANNELS, VS_W_CHANNELS);
			if (op) {
				op->nic = (int)(n - lx->nic);
				op->ch = want;
				op->value = ethtool_channels_queues(&want);
				op->obj = &n->chan;
				dep = apply_last_op(a);
				changed = true;
				rx = (int)(want.combined + want.rx);
				tx = (int)(want.combined + want.tx);
			}
		}
	}
	n_nq = apply_cpu_list(&nq, nql, VS_MAX_CPUS);
	{
		int need = rx > tx ? rx : tx;
		if (old_rx > need)
			need = old_rx;
		if (old_tx > need)
			need = old_tx;
		if (!apply_queue_room(a, n, need))
			return;
	}
	/* queues a channel cut removes lose their masks (the kernel recreates
	 * them empty): remember them now, so that restore (channels first)
	 * puts them back */
	if (changed) {
		for (int q = rx; q < old_rx; q++)
			if (n->n_irq == 0)
				apply_mask_known(a, n, true, q, false);
		for (int q = tx; q < old_tx; q++)
			apply_mask_known(a, n, false, q, false);
	}
	if (n->n_irq > 0) {
		/* queue q's IRQs on NQ core q mod n_nq; idle queues on the whole group */
		for (int i = 0; i < n->n_irq; i++) {
			struct vs_cpuset one;
			int q = n->irq[i].queue;
			cpuset_zero(&one);
			if (q < rx)
				cpuset_set(&one, nql[q % n_nq]);
			apply_irq(a, n, &n->irq[i], q < rx ? &one : &nq, dep);
		}
	} else {
		/* no queue IRQs (veth, tap): steer receive processing with RPS */
		for (int q = 0; q < rx; q++) {
			struct vs_cpuset one;
			cpuset_zero(&one);
			cpuset_set(&one, nql[q % n_nq]);
			apply_mask(a, n, true, q, rx >= n_nq ? &one : &nq, changed && q >= old_rx,
				   dep);
		}
	}
	/* XPS: every core of the workloads (NQ cores first) sends on one queue */
	for (int i = 0; i < n_nq; i++)
		order[n_order++] = nql[i];
	for (int c = cpuset_next(&comp, 0); c >= 0; c = cpuset_next(&comp, c + 1))
		if (!cpuset_test(&nq, c))
			order[n_order++] = c;
	if (tx >= 1)
		for (int q = 0; q < tx; q++) {
			struct vs_cpuset s;
			cpuset_zero(&s);
			for (int j = q; j < n_order; j += tx)
				cpuset_set(&s, order[j]);
			apply_mask(a, n, false, q, &s, changed && q >= old_tx, dep);
		}

	/* a fixed coalescing setting for the host NIC (interrupt-rate control
	 * policies of SPEC §7.1 will drive it per period) */
	if (n->owner < 0 && lx->cfg.coalesce_rx_usecs >= 0 && !n->coal.broken) {
		struct vs_coalesce cur, want;
		if (!n->coal.known) {
			int rc = hostcall_get_coalesce(&lx->root, n->sock, n->name, &cur);
			if (rc < 0) {
				log_warnx("nic %s: interrupt coalescing %s: %s; coalesce_rx_usecs "
					  "ignored",
					  n->name, rc == -EOPNOTSUPP ? "unsupported" : "unreadable",
					  strerror(-rc));
				n->coal.broken = true;
				return;
			}
			n->coal.known = true;
			n->coal.ival = (int)cur.rx_usecs;
			struct st_rec r = { .kind = ACT_COALESCE, .co = cur };
			str_copy(r.ifname, n->name, sizeof(r.ifname));
			str_copy(r.netns, n->netns, sizeof(r.netns));
			apply_remember(a, &n->coal, &r);
		}
		if (n->coal.ival != lx->cfg.coalesce_rx_usecs &&
		    hostcall_get_coalesce(&lx->root, n->sock, n->name, &cur) == 0) {
			struct act_op *op = apply_op(a, ACT_COALESCE, VS_W_COALESCE);
			want = cur;
			want.rx_usecs = (uint32_t)lx->cfg.coalesce_rx_usecs;
			want.adaptive_rx = 0;
			if (op) {
				op->nic = (int)(n - lx->nic);
				op->co = want;
				op->value = lx->cfg.coalesce_rx_usecs;
				op->obj = &n->coal;
			}
		}
	}
}

/* ---- The seam's apply ------------------------------------------------------------------------ */

int apply_plan(struct vs_platform *p, const struct vs_plan *plan)
{
	struct vs_linux *lx = vs_container_of(p, struct vs_linux, base);
	struct apply_ctx a = { .lx = lx,
			       .seq = plan->seq,
			       .keep_state = lx->state.path[0] != '\0' };
	int failed;

	lx->act.n = 0;
	for (int i = 0; i < plan->n_workloads; i++) {
		struct lx_wl *w = linux_find(lx, plan->wl[i].name);
		if (w && w->present)
			apply_lc(&a, w, &plan->wl[i]);
	}
	for (int j = 0; j < lx->n_wl; j++)
		if (!lx->wl[j].spec.lc && lx->wl[j].present)
			apply_be(&a, &lx->wl[j], plan);
	for (int i = 0; i < lx->n_nic; i++) {
		struct lx_nic *n = &lx->nic[i];
		if (n->irq_rescan && n->present)
			discover_nic_irqs(lx, n);
		if (n->present)
			apply_nic(&a, n, plan);
	}
	if (a.oom) {
		log_warnx("out of memory while planning writes: none made this period");
		lx->act.n = 0;
		return -1;
	}
	/* the originals reach the disk before the first write that changes them */
	if (lx->state.dirty && state_save(&lx->state) < 0) {
		log_warnx("state file %s could not be written: no writes this period (vspace "
			  "must be able to put things back)",
			  lx->state.path);
		lx->act.n = 0;
		return -1;
	}
	failed = act_run(lx);
	return failed > 0 ? -1 : 0;
}

/* ---- Benchmark of the writes ---------------------------------------------------------------- */

/* The plan in force, rebuilt from what each placed LC workload last had;
 * *self: the entry of workload self (-1 when it has none). */
static int bench_plan(struct vs_linux *lx, struct vs_plan *plan, struct vs_wl_plan *wl, int cap,
		      const struct lx_wl *self, int *self_i)
{
	int n = 0;

	memset(plan, 0, sizeof(*plan));
	*self_i = -1;
	for (int j = 0; j < lx->n_wl && n < cap; j++) {
		struct lx_wl *w = &lx->wl[j];
		if (!w->spec.lc || !w->present || !w->cur_valid)
			continue;
		if (w == self)
			*self_i = n;
		memset(&wl[n], 0, sizeof(wl[n]));
		str_copy(wl[n].name, w->spec.name, sizeof(wl[n].name));
		wl[n].alloc = w->cur_alloc;
		wl[n].vcpu_cores = w->cur_vcpu;
		wl[n].nq_cores = w->cur_nq;
		n++;
	}
	plan->wl = wl;
	plan->n_workloads = n;
	plan->be_paused = false;
	return n;
}

int linuxplat_bench_writes(struct vs_linux *lx, int rounds, char *err, size_t errlen)
{
	struct vs_wl_plan wl[64];
	struct vs_plan plan;
	struct lx_wl *w = NULL;
	struct lx_thread *t = NULL;
	struct vs_cpuset a, b;
	uint64_t seq = 1000000;
	bool cgroup;
	enum lx_hier h;

	for (int j = 0; j < lx->n_wl && !w; j++)
		if (lx->wl[j].spec.lc && lx->wl[j].present && lx->wl[j].cur_valid)
			w = &lx->wl[j];
	if (!w) {
		snprintf(err, errlen, "no LC workload is running and placed");
		return -1;
	}
	if (lx->cfg.dry_run) {
		snprintf(err, errlen, "a write benchmark makes writes: not in --dry-run");
		return -1;
	}
	a = w->cur_vcpu;
	b = w->cur_nq;
	if (cpuset_equal(&a, &b) || cpuset_intersects(&a, &b)) {
		snprintf(err, errlen, "workload %s has no isolated groups (use a vSPACE policy)",
			 w->spec.name);
		return -1;
	}
	for (int i = 0; i < w->n_thr && !t; i++)
		if (w->thr[i].role == LX_ROLE_COMPUTE && !w->thr[i].kthread)
			t = &w->thr[i];
	memset(lx->act.stats, 0, sizeof(lx->act.stats));
	if (!lx->act.hist) {
		lx->act.hist = calloc(VS_W_N, sizeof(*lx->act.hist));
		if (!lx->act.hist) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	for (int k = 0; k < VS_W_N; k++)
		hist_init(&lx->act.hist[k]);
	cgroup = w->place == VS_PLACE_CGROUP1 || w->place == VS_PLACE_CGROUP2;
	h = apply_hier(w->place);

	/* 1: swap the groups' cores (cpuset.cpus or affinity, IRQ/RPS/XPS) and
	 * flip the queue count (channels) */
	for (int r = 0; r < rounds; r++) {
		int self;
		bench_plan(lx, &plan, wl, 64, w, &self);
		if (self < 0)
			break;
		wl[self].vcpu_cores = r % 2 ? a : b;
		wl[self].nq_cores = r % 2 ? b : a;
		wl[self].alloc.queues = r % 2 ? 1 : 2;
		plan.seq = ++seq;
		apply_plan(&lx->base, &plan);
	}
	/* 2: move one thread between the two groups (cgroup placement) */
	if (cgroup && t && h == LX_HIER_CPUSET1) {
		for (int r = 0; r < rounds; r++) {
			struct act_op *op = act_push(lx, ACT_CG_MOVE);
			if (!op)
				break;
			op->wkind = VS_W_CG_MOVE;
			op->hier = h;
			op->id = t->tid;
			op->value = r % 2 ? LX_G_VCPU : LX_G_NQ;
			op->obj = &t->cg;
			op->wl = (int)(w - lx->wl);
			str_copy(op->path, w->cg[op->value].path, sizeof(op->path));
			str_copy(op->file, "tasks", sizeof(op->file));
			apply_thread_what(w, t, op->what, sizeof(op->what));
			act_run(lx);
		}
	}
	/* 3: sched_setaffinity of that thread between the two core sets (in the
	 * envelope group, which holds every managed core) */
	if (t) {
		seq++;
		struct apply_ctx ac = { .lx = lx,
					.seq = seq,
					.keep_state = lx->state.path[0] != '\0' };
		if (cgroup && h == LX_HIER_CPUSET1) {
			struct act_op *op = act_push(lx, ACT_CG_MOVE);
			if (op) {
				op->wkind = VS_W_CG_MOVE;
				op->hier = h;
				op->id = t->tid;
				op->value = LX_G_ENV;
				op->obj = &t->cg;
				op->wl = (int)(w - lx->wl);
				str_copy(op->path, w->cg[LX_G_ENV].path, sizeof(op->path));
				str_copy(op->file, "tasks", sizeof(op->file));
				apply_thread_what(w, t, op->what, sizeof(op->what));
				act_run(lx);
			}
		}
		t->aff.known = false;
		for (int r = 0; r < rounds; r++) {
			apply_affinity(&ac, w, t, r % 2 ? &a : &b);
			if (lx->state.dirty)
				state_save(&lx->state);
			act_run(lx);
		}
	}
	return 0;
}

double linuxplat_bench_quantile(const struct vs_linux *lx, enum vs_write_kind k, double q)
{
	if (!lx->act.hist || k >= VS_W_N || lx->act.hist[k].total == 0)
		return 0;
	return (double)hist_quantile(&lx->act.hist[k], q) * 1e-9;
}
