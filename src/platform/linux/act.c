/* act.c - run the planned writes: idempotent by construction, timed, errors sorted into transient and permanent. */
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

struct act_op *act_push(struct vs_linux *lx, enum act_kind kind)
{
	struct lx_act *a = &lx->act;
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

size_t act_describe(const struct vs_linux *lx, const struct act_op *op, char *buf, size_t len)
{
	char cpus[4096];
	const struct lx_nic *n = op->nic >= 0 ? &lx->nic[op->nic] : NULL;
	const char *dom = op->wl >= 0 ? lx->wl[op->wl].spec.domain : "";
	const char *wname = op->wl >= 0 ? lx->wl[op->wl].spec.name : "";
	int k = 0;

	cpuset_format_list(&op->cpus, cpus, sizeof(cpus));
	switch (op->kind) {
	case ACT_MKDIR:
		k = snprintf(buf, len, "mkdir %s:%s", lx_hier_name(op->hier), op->path);
		break;
	case ACT_RMDIR:
		k = snprintf(buf, len, "rmdir %s:%s", lx_hier_name(op->hier), op->path);
		break;
	case ACT_CG_WRITE:
		k = snprintf(buf, len, "write %s:%s/%s %s", lx_hier_name(op->hier), op->path,
			     op->file, op->use_cpus ? cpus : op->text);
		break;
	case ACT_CG_MOVE:
		k = snprintf(buf, len, "move %s %d (%s) to %s:%s",
			     strcmp(op->file, "cgroup.procs") == 0 ? "process" : "thread", op->id,
			     op->what, lx_hier_name(op->hier), op->path);
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
			     n ? n->name : "?", op->kind == ACT_RPS ? "rx" : "tx", op->queue,
			     cpus[0] ? cpus : "none");
		break;
	case ACT_CHANNELS:
		k = snprintf(buf, len, "channels %s rx %u tx %u other %u combined %u",
			     n ? n->name : "?", op->ch.rx, op->ch.tx, op->ch.other,
			     op->ch.combined);
		break;
	case ACT_COALESCE:
		k = snprintf(buf, len, "coalesce %s rx-usecs %u", n ? n->name : "?",
			     op->co.rx_usecs);
		break;
	case ACT_SIGNAL:
		k = snprintf(buf, len, "signal %s to %d (%s)", op->arg == SIGSTOP ? "STOP" : "CONT",
			     op->id, wname);
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
static void act_check_effective(struct vs_linux *lx, const struct act_op *op)
{
	char path[64], buf[4096], err[128];
	struct vs_cpuset eff, outside;

	snprintf(path, sizeof(path), "irq/%d/effective_affinity_list", op->id);
	if (sysroot_read(lx->root.proc_fd, path, buf, sizeof(buf)) < 0 ||
	    cpuset_parse_list(&eff, str_trim(buf), err, sizeof(err)) < 0 || cpuset_empty(&eff))
		return; /* not every kernel / irqchip reports it */
	cpuset_andnot(&outside, &eff, &op->cpus);
	if (!cpuset_empty(&outside)) {
		lx->cnt.irq_mismatch++;
		log_warnx("irq %d (%s): effective affinity %s is outside the requested set", op->id,
			  op->what, str_trim(buf));
	}
}

static int act_cg_write(struct vs_linux *lx, const struct act_op *op, const char *text)
{
	char path[220];
	int fd = lx->cg.fd[op->hier];

	if (fd < 0)
		return -ENOENT;
	if (!sysroot_path(path, sizeof(path), "%s/%s", op->path, op->file))
		return -ENAMETOOLONG;
	return sysroot_write(&lx->root, fd, path, text);
}

static int act_do(struct vs_linux *lx, struct act_op *op)
{
	char text[4096], path[200];
	struct lx_nic *n = op->nic >= 0 ? &lx->nic[op->nic] : NULL;
	struct lx_wl *w = op->wl >= 0 ? &lx->wl[op->wl] : NULL;
	int rc;

	switch (op->kind) {
	case ACT_MKDIR:
		if (lx->cg.fd[op->hier] < 0)
			return -ENOENT;
		if (mkdirat(lx->cg.fd[op->hier], op->path, 0755) < 0 && errno != EEXIST)
			return -errno;
		return 0;
	case ACT_RMDIR:
		if (lx->cg.fd[op->hier] < 0)
			return -ENOENT;
		return unlinkat(lx->cg.fd[op->hier], op->path, AT_REMOVEDIR) < 0 ? -errno : 0;
	case ACT_CG_WRITE:
		if (op->use_cpus)
			cpuset_format_list(&op->cpus, text, sizeof(text));
		else
			str_copy(text, op->text, sizeof(text));
		return act_cg_write(lx, op, text);
	case ACT_CG_MOVE:
		snprintf(text, sizeof(text), "%d", op->id);
		return act_cg_write(lx, op, text);
	case ACT_AFFINITY:
		return hostcall_set_affinity(&lx->root, op->id, &op->cpus);
	case ACT_IRQ:
		cpuset_format_list(&op->cpus, text, sizeof(text));
		snprintf(path, sizeof(path), "irq/%d/smp_affinity_list", op->id);
		rc = sysroot_write(&lx->root, lx->root.proc_fd, path, text);
		if (rc == 0)
			act_check_effective(lx, op);
		return rc;
	case ACT_RPS:
	case ACT_XPS:
		if (!n)
			return -EINVAL;
		cpuset_format_mask(&op->cpus, lx->mask_cpus, text, sizeof(text));
		if (!sysroot_path(path, sizeof(path), "class/net/%s/queues/%s-%d/%s", n->name,
				  op->kind == ACT_RPS ? "rx" : "tx", op->queue,
				  op->kind == ACT_RPS ? "rps_cpus" : "xps_cpus"))
			return -ENAMETOOLONG;
		return sysroot_write(&lx->root, n->sys_fd, path, text);
	case ACT_CHANNELS:
		if (!n)
			return -EINVAL;
		return hostcall_set_channels(&lx->root, n->sock, n->name, &op->ch);
	case ACT_COALESCE:
		return n ? hostcall_set_coalesce(&lx->root, n->sock, n->name, &op->co) : -EINVAL;
	case ACT_SIGNAL:
		return hostcall_signal(&lx->root, op->id, op->arg);
	case ACT_VIRT_VCPU:
		return lx->virt ? virt_pin_vcpu(lx->virt, w->spec.domain, op->id, &op->cpus)
				: -ENOTCONN;
	case ACT_VIRT_EMULATOR:
		return lx->virt ? virt_pin_emulator(lx->virt, w->spec.domain, &op->cpus)
				: -ENOTCONN;
	case ACT_VIRT_IOTHREAD:
		return lx->virt ? virt_pin_iothread(lx->virt, w->spec.domain, op->id, &op->cpus)
				: -ENOTCONN;
	case ACT_VIRT_PAUSE:
		return lx->virt ? virt_set_paused(lx->virt, w->spec.domain, op->value != 0)
				: -ENOTCONN;
	case ACT_GUEST_VNQ:
		if (!w || !w->guest || !w->guest->ops->set_vnq)
			return -EOPNOTSUPP;
		return w->guest->ops->set_vnq(w->guest, op->text, op->value);
	case ACT_GUEST_VCPUS:
		if (!w || !w->guest || !w->guest->ops->set_vcpus)
			return -EOPNOTSUPP;
		return w->guest->ops->set_vcpus(w->guest, op->value);
	}
	return -EINVAL;
}

/* What a successful (or, in a dry run, planned) write changes beyond its object. */
static void act_after(struct vs_linux *lx, const struct act_op *op)
{
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

int act_run(struct vs_linux *lx)
{
	struct lx_act *a = &lx->act;
	int failed = 0;

	for (int i = 0; i < a->n; i++) {
		struct act_op *op = &a->op[i];
		struct vs_write_stats *st = &a->stats[op->wkind];
		char desc[512];
		double t0, dt;
		int rc, cls;

		act_describe(lx, op, desc, sizeof(desc));
		if (op->dep >= 0 && a->op[op->dep].result < 0) {
			op->result = -EAGAIN;
			st->skipped++;
			log_debug("skipped (an earlier write failed): %s", desc);
			continue;
		}
		if (a->logfn)
			a->logfn(a->logarg, desc);
		if (lx->cfg.dry_run) {
			log_info("dry-run: %s", desc);
			op->result = 0;
			st->skipped++;
		} else {
			t0 = act_now();
			rc = act_do(lx, op);
			dt = act_now() - t0;
			cls = rc < 0 ? act_errclass(rc) : -1;
			if (rc == -ENOENT && (op->kind == ACT_RPS || op->kind == ACT_XPS))
				cls = 2; /* the queue went away (fewer channels): not an error */
			act_record(st, dt, cls, rc);
			if (a->hist)
				hist_add(&a->hist[op->wkind], (uint64_t)(dt * 1e9));
			op->result = rc;
			if (rc < 0) {
				failed++;
				if (cls == 1) {
					if (op->obj && !op->obj->warned) {
						log_warnx("%s: %s (transient, retried next period)",
							  desc, strerror(-rc));
						op->obj->warned = true;
					} else {
						log_debug("%s: %s (transient)", desc,
							  strerror(-rc));
					}
				} else if (cls == 2) {
					log_debug("%s: %s (gone)", desc, strerror(-rc));
				} else {
					log_warnx("%s: %s; leaving it alone from now on", desc,
						  strerror(-rc));
					if (op->obj)
						op->obj->broken = true;
				}
				continue;
			}
			log_debug("%s (%.0f us)", desc, dt * 1e6);
		}
		if (op->obj) {
			op->obj->known = true;
			op->obj->warned = false;
			op->obj->cpus = op->cpus;
			op->obj->ival = op->value;
		}
		act_after(lx, op);
	}
	a->n = 0;
	return failed;
}
