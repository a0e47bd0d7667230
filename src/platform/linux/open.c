/* open.c - open the Linux host (sysroot, topology, cgroup hierarchies, NICs, libvirt, a first discovery) and close it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/linux_int.h"

static const struct vs_platform_ops linux_ops = {
	.name = "linux",
	.refresh = refresh_seam,
	.sample = sample_seam,
	.apply = apply_plan,
};

static int open_add_nic(struct vs_linux *lx, const char *name, const char *netns, int owner,
			bool channels, char *err, size_t errlen)
{
	struct lx_nic *n = realloc(lx->nic, sizeof(*n) * (size_t)(lx->n_nic + 1));

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	lx->nic = n;
	n = &lx->nic[lx->n_nic++];
	memset(n, 0, sizeof(*n));
	str_copy(n->name, name, sizeof(n->name));
	str_copy(n->netns, netns, sizeof(n->netns));
	n->sys_fd = -1;
	n->sock = -1;
	n->owner = owner;
	n->manage_channels = channels;
	n->numa_node = -1;
	if (discover_nic(lx, n) < 0) {
		snprintf(err, errlen, "nic %s: no such network interface%s%s", name,
			 netns[0] ? " in network namespace " : "", netns);
		return -1;
	}
	return lx->n_nic - 1;
}

/* Choose how a workload's threads are placed. */
int open_placement(struct vs_linux *lx, struct lx_wl *w, char *err, size_t errlen)
{
	enum vs_placement p = lx->cfg.placement;
	bool is_virt = w->spec.source == VS_SRC_LIBVIRT;

	if (p == VS_PLACE_AUTO) {
		if (is_virt && lx->virt)
			p = VS_PLACE_LIBVIRT;
		else if (lx->cg.fd[LX_HIER_CPUSET1] >= 0)
			p = VS_PLACE_CGROUP1;
		else if (lx->cg.v2_cpuset && w->spec.source != VS_SRC_CGROUP)
			p = VS_PLACE_CGROUP2;
		else
			p = VS_PLACE_AFFINITY;
	}
	switch (p) {
	case VS_PLACE_CGROUP1:
		if (lx->cg.fd[LX_HIER_CPUSET1] < 0) {
			snprintf(err, errlen,
				 "placement=cgroup1: no cgroup v1 cpuset hierarchy at "
				 "sys/fs/cgroup/cpuset");
			return -1;
		}
		break;
	case VS_PLACE_CGROUP2:
		if (!lx->cg.v2_cpuset) {
			snprintf(err, errlen,
				 "placement=cgroup2: the cgroup v2 hierarchy has no cpuset "
				 "controller");
			return -1;
		}
		if (w->spec.source == VS_SRC_CGROUP) {
			/* threads cannot leave their v2 domain: pin them instead */
			p = VS_PLACE_AFFINITY;
		}
		break;
	case VS_PLACE_LIBVIRT:
		if (!is_virt) {
			/* plain processes have no libvirt object: the fallback */
			p = lx->cg.fd[LX_HIER_CPUSET1] >= 0 ? VS_PLACE_CGROUP1 : VS_PLACE_AFFINITY;
		} else if (!lx->virt) {
			snprintf(err, errlen, "placement=libvirt: libvirt is not reachable");
			return -1;
		}
		break;
	default:
		break;
	}
	w->place = p;
	return 0;
}

/* Room for one more workload in wl and the refresh's reports. */
static int open_grow(struct vs_linux *lx)
{
	int cap = lx->cap_wl ? lx->cap_wl * 2 : 4;
	struct lx_wl *w;
	struct vs_wl_report *r;

	if (lx->n_wl < lx->cap_wl)
		return 0;
	w = realloc(lx->wl, sizeof(*w) * (size_t)cap);
	if (!w)
		return -1;
	lx->wl = w;
	r = realloc(lx->appeared, sizeof(*r) * (size_t)cap);
	if (!r)
		return -1;
	lx->appeared = r;
	r = realloc(lx->vanished, sizeof(*r) * (size_t)cap);
	if (!r)
		return -1;
	lx->vanished = r;
	lx->cap_wl = cap;
	return 0;
}

int linux_wl_add(struct vs_linux *lx, const struct vs_wl_spec *spec, char *err, size_t errlen)
{
	const struct vs_linux_config *cfg = &lx->cfg;
	struct lx_wl *w;
	char perr[160];
	int i = lx->n_wl;

	if (open_grow(lx) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w = &lx->wl[lx->n_wl++];
	memset(w, 0, sizeof(*w));
	w->spec = *spec;
	w->hp.dir_fd = -1; /* closed by linuxplat_close, even on failure */
	qmpconn_init(&w->hp.q.conn, spec->qmp);
	/* until the first reading says otherwise, keep a QMP connection that
	 * discovery makes for the statistics that may need it */
	w->hp.q.in_use = spec->qmp[0] && cfg->halt_poll != VS_HALTPOLL_OFF &&
			 cfg->halt_poll_source != VS_HPSRC_DEBUGFS;
	w->nic = w->tap = -1;
	w->tmpl = -1;
	snprintf(w->cg[LX_G_ENV].path, sizeof(w->cg[0].path), "%s/%s", cfg->cgroup_parent,
		 w->spec.name);
	snprintf(w->cg[LX_G_VCPU].path, sizeof(w->cg[0].path), "%s/%s/%s", cfg->cgroup_parent,
		 w->spec.name, w->spec.lc ? "vcpu" : "be");
	snprintf(w->cg[LX_G_NQ].path, sizeof(w->cg[0].path), "%s/%s/nq", cfg->cgroup_parent,
		 w->spec.name);
	snprintf(w->fz.path, sizeof(w->fz.path), "%s/%s", cfg->cgroup_parent, w->spec.name);
	if (open_placement(lx, w, perr, sizeof(perr)) < 0) {
		snprintf(err, errlen, "workload %s: %s", w->spec.name, perr);
		return -1;
	}
	if (w->spec.nic[0]) {
		int k = open_add_nic(lx, w->spec.nic, w->spec.nic_netns, i, true, perr,
				     sizeof(perr));
		if (k < 0) {
			snprintf(err, errlen, "workload %s: %s", w->spec.name, perr);
			return -1;
		}
		lx->wl[i].nic = k;
	}
	if (w->spec.tap[0]) {
		/* a tap appears when its VM starts: not an error when absent */
		int k = open_add_nic(lx, w->spec.tap, "", i, false, perr, sizeof(perr));
		if (k < 0) {
			k = lx->n_nic - 1;
			log_info("workload %s: tap %s not present yet", w->spec.name, w->spec.tap);
		}
		lx->wl[i].tap = k;
	}
	return i;
}

/* libvirt: a connection for libvirt= workloads; with an event loop it
 * follows the domains and reconnects by itself, so libvirtd being down at
 * start is not fatal. */
static int open_virt(struct vs_linux *lx, char *err, size_t errlen)
{
	const struct vs_linux_config *cfg = &lx->cfg;
	char perr[320];

	if (cfg->virt_loop) {
		struct virt_conn_info ci;
		if (virt_new(&lx->virt, cfg->libvirt_uri, err, errlen) < 0 ||
		    virt_watch(lx->virt, cfg->virt_loop, err, errlen) < 0)
			return -1;
		lx->virt_watch = true;
		virt_tick(lx->virt); /* the first connect */
		virt_conn_info(lx->virt, &ci);
		if (!ci.connected)
			log_warnx("libvirt %s: %s: its workloads wait; reconnecting with backoff",
				  cfg->libvirt_uri, virt_last_error(lx->virt));
		return 0;
	}
	if (virt_open(&lx->virt, cfg->libvirt_uri, perr, sizeof(perr)) < 0) {
		if (cfg->placement == VS_PLACE_LIBVIRT) {
			snprintf(err, errlen, "%s", perr);
			return -1;
		}
		log_warnx("%s: libvirt workloads are found through their pidfiles and "
			  "pinned with sched_setaffinity",
			  perr);
	}
	return 0;
}

int linuxplat_open(struct vs_linux **out, const struct vs_linux_config *cfg, char *err,
		   size_t errlen)
{
	struct vs_linux *lx = calloc(1, sizeof(*lx));
	struct vs_cpuset outside;
	char buf[512], perr[160];
	bool want_virt = false;

	*out = NULL;
	if (!lx) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	lx->base.ops = &linux_ops;
	lx->cfg = *cfg;
	lx->root.root_fd = lx->root.proc_fd = lx->root.sys_fd = -1;
	for (int h = 0; h < LX_HIER_N; h++)
		lx->cg.fd[h] = -1;
	lx->specs = calloc((size_t)(cfg->n_wl > 0 ? cfg->n_wl : 1), sizeof(*lx->specs));
	lx->tmpl = calloc((size_t)(cfg->n_wl > 0 ? cfg->n_wl : 1), sizeof(*lx->tmpl));
	lx->stat_prev = calloc(1, sizeof(*lx->stat_prev));
	lx->stat_cur = calloc(1, sizeof(*lx->stat_cur));
	if (!lx->specs || !lx->tmpl || !lx->stat_prev || !lx->stat_cur || open_grow(lx) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(lx->specs, cfg->wl, sizeof(*lx->specs) * (size_t)cfg->n_wl);
	lx->cfg.wl = lx->specs;
	if (sysroot_open(&lx->root, cfg->sysroot ? cfg->sysroot : "/", err, errlen) < 0)
		goto fail;

	/* cpus and topology */
	if (sysfs_online_cpus(lx->root.sys_fd, &lx->online, err, errlen) < 0)
		goto fail;
	cpuset_andnot(&outside, &cfg->managed, &lx->online);
	if (!cpuset_empty(&outside)) {
		char a[256], b[256];
		cpuset_format_list(&outside, a, sizeof(a));
		cpuset_format_list(&lx->online, b, sizeof(b));
		snprintf(err, errlen, "cores %s are not online on this host (online: %s)", a, b);
		goto fail;
	}
	lx->mask_cpus = cpuset_last(&lx->online) + 1;
	if (sysroot_read(lx->root.sys_fd, "devices/system/cpu/possible", buf, sizeof(buf)) >= 0) {
		struct vs_cpuset possible;
		if (cpuset_parse_list(&possible, str_trim(buf), perr, sizeof(perr)) == 0 &&
		    cpuset_last(&possible) + 1 > lx->mask_cpus)
			lx->mask_cpus = cpuset_last(&possible) + 1;
	}
	lx->n_nodes = sysfs_read_topology(lx->root.sys_fd, &lx->online, &lx->topo, err, errlen);
	if (lx->n_nodes < 0)
		goto fail;
	lx->topo.managed = cfg->managed;
	lx->topo.nic_node = -1;

	discover_cgroupfs(lx);
	for (int h = 0; h < LX_HIER_N; h++)
		str_copy(lx->cgbase[h].path, cfg->cgroup_parent, sizeof(lx->cgbase[h].path));

	/* the state file: written by apply before the first change */
	if (cfg->state_path[0] && !cfg->dry_run)
		str_copy(lx->state.path, cfg->state_path, sizeof(lx->state.path));
	state_boot_id(&lx->root, lx->state.boot_id, sizeof(lx->state.boot_id));

	for (int i = 0; i < cfg->n_wl; i++)
		if (cfg->wl[i].source == VS_SRC_LIBVIRT)
			want_virt = true;
	if (want_virt && open_virt(lx, err, errlen) < 0)
		goto fail;

	/* NICs */
	if (cfg->nic[0]) {
		int k = open_add_nic(lx, cfg->nic, cfg->nic_netns, -1, true, err, errlen);
		if (k < 0)
			goto fail;
		lx->topo.nic_node = lx->nic[k].numa_node;
	}
	for (int i = 0; i < cfg->n_wl; i++) {
		if (lx->specs[i].source == VS_SRC_LIBVIRT && lx->specs[i].domain_pattern)
			lx->tmpl[lx->n_tmpl++] = lx->specs[i]; /* its domains come later */
		else if (linux_wl_add(lx, &lx->specs[i], err, errlen) < 0)
			goto fail;
	}

	if (sample_read_stat(lx, lx->stat_prev) < 0) {
		snprintf(err, errlen, "cannot read %s/proc/stat", lx->root.path);
		goto fail;
	}
	lx->t_prev_s = linux_now(lx);
	lx->have_prev = true;
	sysfs_rapl_init(lx->root.sys_fd, &lx->rapl);
	lx->now_s = lx->t_prev_s;
	virtwl_refresh(lx, lx->now_s); /* the pattern's domains running now */
	for (int i = 0; i < lx->n_wl; i++) {
		discover_workload(lx, &lx->wl[i], lx->now_s, true);
		lx->wl[i].virt_due = false;
		/* spread the periodic full rescans over LX_RESCAN_S instead of
		 * rescanning every workload in the same period */
		lx->wl[i].scanned_s -= LX_RESCAN_S * i / lx->n_wl;
	}
	/* the halt-polling counters' baseline, with the first /proc/stat (a QMP
	 * connection made now may take its handshake: the start-up limit) */
	kvmstat_read_all(lx, 0, lx->t_prev_s,
			 linux_qmp_wait_ms(lx) > LX_QMP_TIMEOUT_MS ? linux_qmp_wait_ms(lx)
								   : LX_QMP_TIMEOUT_MS);
	*out = lx;
	return 0;
fail:
	linuxplat_close(lx);
	return -1;
}

void linuxplat_close(struct vs_linux *lx)
{
	if (!lx)
		return;
	for (int i = 0; i < lx->n_wl; i++) {
		struct lx_wl *w = &lx->wl[i];
		free(w->thr);
		free(w->vvcpu);
		if (w->hp.dir_fd >= 0)
			close(w->hp.dir_fd);
		qmpstats_free(w);
		if (w->guest && w->guest->ops->close)
			w->guest->ops->close(w->guest);
	}
	for (int i = 0; i < lx->n_nic; i++) {
		struct lx_nic *n = &lx->nic[i];
		if (n->own_fd && n->sys_fd >= 0)
			close(n->sys_fd);
		if (n->sock >= 0)
			close(n->sock);
		free(n->irq);
		free(n->rps);
		free(n->xps);
	}
	for (int h = 0; h < LX_HIER_N; h++)
		if (lx->cg.fd[h] >= 0)
			close(lx->cg.fd[h]);
	virt_close(lx->virt);
	sysroot_close(&lx->root);
	state_free(&lx->state);
	act_free(&lx->act);
	free(lx->nic);
	free(lx->wl);
	free(lx->appeared);
	free(lx->vanished);
	free(lx->specs);
	free(lx->tmpl);
	free(lx->stat_prev);
	free(lx->stat_cur);
	free(lx->buf);
	free(lx->irql);
	free(lx->tids);
	free(lx);
}
