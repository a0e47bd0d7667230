/* act.c - run the planned writes: idempotent by construction, timed, errors sorted into transient and permanent. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/hostcall.h"
#include "platform/linux/linux_int.h"

static const char *const act_wkind_names[VS_W_N] = {
	[VS_W_MKDIR] = "mkdir",
	[VS_W_RMDIR] = "rmdir",
	[VS_W_CG_SETUP] = "cgroup_setup",
	[VS_W_CPUSET] = "cpuset_cpus",
	[VS_W_CG_MOVE] = "cpuset_move",
	[VS_W_AFFINITY] = "affinity",
	[VS_W_IRQ] = "irq_affinity",
	[VS_W_RPS] = "rps",
	[VS_W_XPS] = "xps",
	[VS_W_CHANNELS] = "channels",
	[VS_W_COALESCE] = "coalesce",
	[VS_W_FREEZE] = "freeze",
	[VS_W_SIGNAL] = "signal",
	[VS_W_LIBVIRT] = "libvirt",
	[VS_W_GUEST] = "guest",
};

const char *vs_write_kind_name(enum vs_write_kind k)
{
	return k < VS_W_N ? act_wkind_names[k] : "?";
}

const char *lx_hier_name(enum lx_hier h)
{
	return h == LX_HIER_CPUSET1 ? "cpuset" : h == LX_HIER_FREEZER1 ? "freezer" : "cgroup2";
}

struct act_op *act_queue(struct lx_act *a, enum act_kind kind)
{
	struct act_op *op;

	if (a->n == a->cap) {
		int nc = a->cap ? a->cap * 2 : 64;
		struct act_op *no = realloc(a->op, sizeof(*no) * (size_t)nc);
		if (!no)
			return NULL;
		a->op = no;
		a->cap = nc;
	}
	op = &a->op[a->n++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->dep = -1;
	op->wl = -1;
	op->nic = -1;
	op->dirfd = op->sys_fd = op->sock = -1;
	return op;
}

void act_free(struct lx_act *a)
{
	free(a->hist);
	a->hist = NULL;
	free(a->op);
	a->op = NULL;
	a->n = a->cap = 0;
}

int act_errclass(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case EBUSY:
	case ERANGE:
	case EAGAIN:
	case EINTR:
	case ENOMEM:
	case ENOSPC: /* IRQ vectors exhausted on the target cpu */
	case ETIMEDOUT:
	case ENOTCONN:
		return 1;
	case ESRCH:
		return 2;
	default:
		return 0;
	}
}

size_t act_describe(const struct act_op *op, char *buf, size_t len)
{
	char cpus[4096];
	const char *ifname = op->ifname[0] ? op->ifname : "?";
	const char *dom = op->domain, *wname = op->wname;
	int k = 0;

	cpuset_format_list(&op->cpus, cpus, sizeof(cpus));
	switch (op->kind) {
	case ACT_MKDIR:
		k = snprintf(buf, len, "mkdir %s:%s", op->hier_name, op->path);
		break;
	case ACT_RMDIR:
		k = snprintf(buf, len, "rmdir %s:%s", op->hier_name, op->path);
		break;
	case ACT_CG_WRITE:
		k = snprintf(buf, len, "write %s:%s/%s %s", op->hier_name, op->path, op->file,
			     op->use_cpus ? cpus : op->text);
		break;
	case ACT_CG_MOVE:
		k = snprintf(buf, len, "move %s %d (%s) to %s:%s",
			     strcmp(op->file, "cgroup.procs") == 0 ? "process" : "thread", op->id,
			     op->what, op->hier_name, op->path);
		break;
	case ACT_AFFINITY:
		k = snprintf(buf, len, "affinity %d (%s) %s", op->id, op->what, cpus);
		break;
	case ACT_IRQ:
		k = snprintf(buf, len, "irq %d (%s) %s", op->id, op->what, cpus);
		break;
	case ACT_RPS:
	case ACT_XPS:
		k = snprintf(buf, len, "%s %s %s-%d %s", op->kind == ACT_RPS ? "rps" : "xps",
			     ifname, op->kind == ACT_RPS ? "rx" : "tx", op->queue,
			     cpus[0] ? cpus : "none");
		break;
	case ACT_CHANNELS:
		k = snprintf(buf, len, "channels %s rx %u tx %u other %u combined %u", ifname,
			     op->ch.rx, op->ch.tx, op->ch.other, op->ch.combined);
		break;
	case ACT_COALESCE:
		k = snprintf(buf, len, "coalesce %s rx-usecs %u", ifname, op->co.rx_usecs);
		break;
	case ACT_SIGNAL:
		k = snprintf(buf, len, "signal %s to %d (%s)", op->arg == SIGSTOP ? "STOP" : "CONT",
			     op->id, wname[0] ? wname : op->what);
		break;
	case ACT_VIRT_VCPU:
		k = snprintf(buf, len, "libvirt %s vcpu %d pin %s", dom, op->id, cpus);
		break;
	case ACT_VIRT_EMULATOR:
		k = snprintf(buf, len, "libvirt %s emulator pin %s", dom, cpus);
		break;
	case ACT_VIRT_IOTHREAD:
		k = snprintf(buf, len, "libvirt %s iothread %d pin %s", dom, op->id, cpus);
		break;
	case ACT_VIRT_PAUSE:
		k = snprintf(buf, len, "libvirt %s %s", dom, op->value ? "suspend" : "resume");
		break;
	case ACT_GUEST_VNQ:
		k = snprintf(buf, len, "guest %s set_vnq %s %d", wname,
			     op->text[0] ? op->text : "(the agent's NIC)", op->value);
		break;
	case ACT_GUEST_VCPUS:
		k = snprintf(buf, len, "guest %s set_vcpus %d", wname, op->value);
		break;
	}
	return k < 0 ? 0 : (size_t)k;
}

/* The IRQ's effective affinity should lie inside what was asked. */
static void act_check_effective(struct lx_act *a, const struct act_op *op)
{
	char path[64], buf[4096], err[128];
	struct vs_cpuset eff, outside;

	snprintf(path, sizeof(path), "irq/%d/effective_affinity_list", op->id);
	if (sysroot_read(a->root->proc_fd, path, buf, sizeof(buf)) < 0 ||
	    cpuset_parse_list(&eff, str_trim(buf), err, sizeof(err)) < 0 || cpuset_empty(&eff))
		return; /* not every kernel / irqchip reports it */
	cpuset_andnot(&outside, &eff, &op->cpus);
	if (!cpuset_empty(&outside)) {
		a->irq_mismatch++;
		log_warnx("irq %d (%s): effective affinity %s is outside the requested set", op->id,
			  op->what, str_trim(buf));
	}
}

/* op->path below its hierarchy, without leading slashes ("" the root). */
static const char *act_cg_dir(const struct act_op *op)
{
	const char *p = op->path;

	while (*p == '/')
		p++;
	return *p ? p : ".";
}

static int act_cg_write(struct lx_act *a, const struct act_op *op, const char *text)
{
	char path[240];
	const char *dir = act_cg_dir(op);

	if (op->dirfd < 0)
		return -ENOENT;
	if (!sysroot_path(path, sizeof(path), "%s/%s", dir, op->file))
		return -ENAMETOOLONG;
	return sysroot_write(a->root, op->dirfd, path, text);
}

/* rmdir; in a fixture tree (not cgroupfs) the directory holds regular files
 * where cgroupfs has virtual ones: remove them first. */
static int act_rmdir(struct lx_act *a, const struct act_op *op)
{
	const char *dir = act_cg_dir(op);
	DIR *d;
	struct dirent *de;

	if (op->dirfd < 0)
		return -ENOENT;
	if (unlinkat(op->dirfd, dir, AT_REMOVEDIR) == 0)
		return 0;
	if (errno != ENOTEMPTY || a->root->live)
		return -errno;
	d = sysroot_opendir(op->dirfd, dir);
	while (d && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	return unlinkat(op->dirfd, dir, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* The one dispatcher: make the write. Returns 0 or -errno. */
static int act_do(struct lx_act *a, struct act_op *op)
{
	char text[4096], path[200];
	int rc;

	switch (op->kind) {
	case ACT_MKDIR:
		if (op->dirfd < 0)
			return -ENOENT;
		if (mkdirat(op->dirfd, act_cg_dir(op), 0755) < 0 && errno != EEXIST)
			return -errno;
		return 0;
	case ACT_RMDIR:
		return act_rmdir(a, op);
	case ACT_CG_WRITE:
		if (op->use_cpus)
			cpuset_format_list(&op->cpus, text, sizeof(text));
		else
			str_copy(text, op->text, sizeof(text));
		return act_cg_write(a, op, text);
	case ACT_CG_MOVE:
		snprintf(text, sizeof(text), "%d", op->id);
		return act_cg_write(a, op, text);
	case ACT_AFFINITY:
		return hostcall_set_affinity(a->root, op->id, &op->cpus);
	case ACT_IRQ:
		cpuset_format_list(&op->cpus, text, sizeof(text));
		snprintf(path, sizeof(path), "irq/%d/smp_affinity_list", op->id);
		rc = sysroot_write(a->root, a->root->proc_fd, path, text);
		if (rc == 0)
			act_check_effective(a, op);
		return rc;
	case ACT_RPS:
	case ACT_XPS:
		if (!op->ifname[0])
			return -EINVAL;
		cpuset_format_mask(&op->cpus, op->mask_cpus > 0 ? op->mask_cpus : 1, text,
				   sizeof(text));
		if (!sysroot_path(path, sizeof(path), "class/net/%s/queues/%s-%d/%s", op->ifname,
				  op->kind == ACT_RPS ? "rx" : "tx", op->queue,
				  op->kind == ACT_RPS ? "rps_cpus" : "xps_cpus"))
			return -ENAMETOOLONG;
		return sysroot_write(a->root, op->sys_fd, path, text);
	case ACT_CHANNELS:
		if (!op->ifname[0])
			return -EINVAL;
		return hostcall_set_channels(a->root, op->sock, op->ifname, &op->ch);
	case ACT_COALESCE:
		if (!op->ifname[0])
			return -EINVAL;
		return hostcall_set_coalesce(a->root, op->sock, op->ifname, &op->co);
	case ACT_SIGNAL:
		return hostcall_signal(a->root, op->id, op->arg);
	case ACT_VIRT_VCPU:
		return op->virt ? virt_pin_vcpu(op->virt, op->domain, op->id, &op->cpus)
				: -ENOTCONN;
	case ACT_VIRT_EMULATOR:
		return op->virt ? virt_pin_emulator(op->virt, op->domain, &op->cpus) : -ENOTCONN;
	case ACT_VIRT_IOTHREAD:
		return op->virt ? virt_pin_iothread(op->virt, op->domain, op->id, &op->cpus)
				: -ENOTCONN;
	case ACT_VIRT_PAUSE:
		return op->virt ? virt_set_paused(op->virt, op->domain, op->value != 0) : -ENOTCONN;
	case ACT_GUEST_VNQ:
		if (!op->guest || !op->guest->ops->set_vnq)
			return -EOPNOTSUPP;
		return op->guest->ops->set_vnq(op->guest, op->text, op->value);
	case ACT_GUEST_VCPUS:
		if (!op->guest || !op->guest->ops->set_vcpus)
			return -EOPNOTSUPP;
		return op->guest->ops->set_vcpus(op->guest, op->value);
	}
	return -EINVAL;
}

/* ---- The platform's hooks ---------------------------------------------------------------- */

/* Fill an op's handles from the platform: its hierarchy, NIC, domain, guest. */
static void act_resolve(void *arg, struct act_op *op)
{
	struct vs_linux *lx = arg;
	struct lx_nic *n = op->nic >= 0 ? &lx->nic[op->nic] : NULL;
	struct lx_wl *w = op->wl >= 0 ? &lx->wl[op->wl] : NULL;

	op->dirfd = lx->cg.fd[op->hier];
	str_copy(op->hier_name, lx_hier_name(op->hier), sizeof(op->hier_name));
	if (n) {
		op->sys_fd = n->sys_fd;
		op->sock = n->sock;
		str_copy(op->ifname, n->name, sizeof(op->ifname));
	}
	op->mask_cpus = lx->mask_cpus;
	op->virt = lx->virt;
	if (w) {
		str_copy(op->domain, w->spec.domain, sizeof(op->domain));
		str_copy(op->wname, w->spec.name, sizeof(op->wname));
		op->guest = w->guest;
	}
}

/* What a successful (or, in a dry run, planned) write changes beyond its object. */
static void act_after(void *arg, const struct act_op *op)
{
	struct vs_linux *lx = arg;
	struct lx_nic *n = op->nic >= 0 ? &lx->nic[op->nic] : NULL;

	if (op->kind == ACT_CHANNELS && n) {
		n->ch.rx = op->ch.rx;
		n->ch.tx = op->ch.tx;
		n->ch.other = op->ch.other;
		n->ch.combined = op->ch.combined;
		n->irq_rescan = !lx->cfg.dry_run; /* drivers may renumber their IRQs */
		if (lx->root.live && !lx->cfg.dry_run)
			sysfs_net_queues(n->sys_fd, n->name, &n->n_rx, &n->n_tx);
		else {
			n->n_rx = (int)(op->ch.combined + op->ch.rx);
			n->n_tx = (int)(op->ch.combined + op->ch.tx);
		}
	}
}

static void act_record(struct vs_write_stats *s, double dt_s, int cls, int rc)
{
	int b = 0;
	double us = dt_s * 1e6;

	s->writes++;
	if (rc < 0) {
		if (cls == 1)
			s->transient++;
		else if (cls == 0)
			s->permanent++;
		else if (cls == 2)
			s->gone++;
	}
	s->sum_s += dt_s;
	if (dt_s > s->max_s)
		s->max_s = dt_s;
	while (b < VS_LAT_BUCKETS && us > (double)(1u << b))
		b++;
	s->le[b]++;
}

static double act_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int act_exec(struct lx_act *a)
{
	int failed = 0;

	for (int i = 0; i < a->n; i++) {
		struct act_op *op = &a->op[i];
		struct vs_write_stats *st = &a->stats[op->wkind];
		const char *pre = a->prefix ? a->prefix : "";
		char desc[512];
		double t0, dt;
		int rc, cls;

		if (a->resolve)
			a->resolve(a->hook_arg, op);
		act_describe(op, desc, sizeof(desc));
		if (op->dep >= 0 && a->op[op->dep].result < 0) {
			op->result = -EAGAIN;
			st->skipped++;
			log_debug("%sskipped (an earlier write failed): %s", pre, desc);
			continue;
		}
		if (a->logfn)
			a->logfn(a->logarg, desc);
		if (a->dry_run) {
			log_info("dry-run: %s%s", pre, desc);
			op->result = 0;
			st->skipped++;
		} else {
			if (a->log_each)
				log_info("%s%s", pre, desc);
			t0 = act_now();
			rc = act_do(a, op);
			dt = act_now() - t0;
			cls = rc < 0 ? act_errclass(rc) : -1;
			if (rc == -ENOENT &&
			    (op->enoent_gone || op->kind == ACT_RPS || op->kind == ACT_XPS))
				cls = 2; /* the queue (object) went away: not an error */
			act_record(st, dt, cls, rc);
			if (a->hist)
				hist_add(&a->hist[op->wkind], (uint64_t)(dt * 1e9));
			op->result = rc;
			op->gone = cls == 2;
			if (rc < 0) {
				if (cls != 2)
					failed++; /* a thread or queue that went away is not a failure */
				if (cls == 2) {
					log_debug("%s%s: %s (gone)", pre, desc, strerror(-rc));
				} else if (!op->obj) {
					log_warnx("%s%s: %s", pre, desc, strerror(-rc));
				} else if (cls == 1) {
					if (!op->obj->warned) {
						log_warnx(
							"%s%s: %s (transient, retried next period)",
							pre, desc, strerror(-rc));
						op->obj->warned = true;
					} else {
						log_debug("%s%s: %s (transient)", pre, desc,
							  strerror(-rc));
					}
				} else {
					log_warnx("%s%s: %s; leaving it alone from now on", pre,
						  desc, strerror(-rc));
					op->obj->broken = true;
				}
				continue;
			}
			if (!a->log_each)
				log_debug("%s (%.0f us)", desc, dt * 1e6);
		}
		if (op->obj) {
			op->obj->known = true;
			op->obj->warned = false;
			op->obj->cpus = op->cpus;
			op->obj->ival = op->value;
		}
		if (a->after)
			a->after(a->hook_arg, op);
	}
	a->n = 0;
	return failed;
}

struct act_op *act_push(struct vs_linux *lx, enum act_kind kind)
{
	return act_queue(&lx->act, kind);
}

/* A NIC that cannot have its channels set (a tap: its queues follow what
 * QEMU attached, i.e. the guest) was never changed by vspace: its channels
 * record goes, or a restore would try to "put back" a count that is the
 * guest's to set (and fail, when the guest has not caught up yet). */
static void act_drop_unsettable(struct vs_linux *lx, const struct act_op *op)
{
	struct lx_state *st = &lx->state;
	const struct lx_nic *n = op->nic >= 0 ? &lx->nic[op->nic] : NULL;
	int k = 0;

	if (op->kind != ACT_CHANNELS || op->result != -EOPNOTSUPP || !n)
		return;
	for (int i = 0; i < st->n; i++) {
		const struct st_rec *r = &st->rec[i];
		if (r->kind == ACT_CHANNELS && !strcmp(r->ifname, n->name) &&
		    !strcmp(r->netns, n->netns))
			continue;
		st->rec[k++] = *r;
	}
	if (k != st->n) {
		st->n = k;
		st->dirty = true;
		state_save(st);
	}
}

int act_run(struct vs_linux *lx)
{
	struct lx_act *a = &lx->act;
	int n = a->n, failed;

	a->root = &lx->root;
	a->dry_run = lx->cfg.dry_run;
	a->prefix = "";
	a->log_each = false;
	a->resolve = act_resolve;
	a->after = act_after;
	a->hook_arg = lx;
	failed = act_exec(a);
	for (int i = 0; i < n; i++)
		act_drop_unsettable(lx, &a->op[i]);
	return failed;
}
