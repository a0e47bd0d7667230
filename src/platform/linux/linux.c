/* linux.c - the Linux host platform: open the host, keep workloads in step with the controller, sample a period. */
#include "platform/linux/linux.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/hostcall.h"
#include "platform/linux/kvmstat.h"
#include "platform/linux/linux_int.h"
#include "platform/linux/netns.h"

/* ---- Names and small parsers ----------------------------------------------------------- */

static const char *const linux_place_names[] = { "auto", "cgroup2", "cgroup1", "libvirt",
						 "affinity" };

const char *vs_placement_name(enum vs_placement p)
{
	return (unsigned)p < 5 ? linux_place_names[p] : "?";
}

int vs_placement_parse(const char *text)
{
	for (int i = 0; i < 5; i++)
		if (strcmp(text, linux_place_names[i]) == 0)
			return i;
	return -1;
}

int vs_hp_accounting_parse(const char *text, enum vs_haltpoll_mode *mode, enum vs_hp_source *src)
{
	static const char *const sources[] = { "auto", "debugfs", "qmp" };

	if (strcmp(text, "off") == 0) {
		*mode = VS_HALTPOLL_OFF;
		*src = VS_HPSRC_AUTO;
		return 0;
	}
	for (int i = 0; i < 3; i++)
		if (strcmp(text, sources[i]) == 0) {
			*mode = VS_HALTPOLL_AUTO;
			*src = (enum vs_hp_source)i;
			return 0;
		}
	return -1;
}

const char *vs_hp_accounting_name(enum vs_haltpoll_mode mode, enum vs_hp_source src)
{
	if (mode == VS_HALTPOLL_OFF)
		return "off";
	switch (src) {
	case VS_HPSRC_AUTO:
		return "auto";
	case VS_HPSRC_DEBUGFS:
		return "debugfs";
	case VS_HPSRC_QMP:
		return "qmp";
	}
	return "?";
}

int vs_agent_parse(const char *text, struct vs_agent_addr *out, char *err, size_t errlen)
{
	char buf[256], *f[3];
	long cid, port;
	int n;

	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(buf))
		goto bad;
	str_copy(buf, text, sizeof(buf));
	if (str_starts_with(buf, "serial:") || str_starts_with(buf, "unix:")) {
		bool serial = buf[0] == 's';
		const char *path = strchr(buf, ':') + 1;
		if (path[0] != '/' || strlen(path) >= sizeof(out->path)) {
			snprintf(err, errlen,
				 "\"%s\": %s needs an absolute path (at most %zu bytes)", text,
				 serial ? "serial:" : "unix:", sizeof(out->path) - 1);
			return -1;
		}
		out->kind = serial ? VS_AGENT_SERIAL : VS_AGENT_UNIX;
		str_copy(out->path, path, sizeof(out->path));
		return 0;
	}
	n = str_split(buf, ':', f, 3);
	if (n != 3)
		goto bad;
	if (strcmp(f[0], "vsock") == 0) {
		/* CIDs 0-2 are the hypervisor, local and host: a guest has >= 3 */
		if (str_to_long(f[1], 3, UINT32_MAX - 1, &cid) < 0) {
			snprintf(err, errlen,
				 "\"%s\": vsock CID must be a number >= 3 (a guest's CID)", text);
			return -1;
		}
		if (str_to_long(f[2], 1, UINT32_MAX - 1, &port) < 0) {
			snprintf(err, errlen, "\"%s\": vsock port must be a number >= 1", text);
			return -1;
		}
		out->kind = VS_AGENT_VSOCK;
		out->cid = (unsigned)cid;
		out->port = (unsigned)port;
		return 0;
	}
	if (strcmp(f[0], "tcp") == 0) {
		if (!f[1][0] || strlen(f[1]) >= sizeof(out->host)) {
			snprintf(err, errlen, "\"%s\": tcp needs a host name or address", text);
			return -1;
		}
		if (str_to_long(f[2], 1, 65535, &port) < 0) {
			snprintf(err, errlen, "\"%s\": tcp port must be 1..65535", text);
			return -1;
		}
		out->kind = VS_AGENT_TCP;
		str_copy(out->host, f[1], sizeof(out->host));
		out->port = (unsigned)port;
		return 0;
	}
bad:
	snprintf(err, errlen,
		 "\"%s\" is not an agent address (vsock:CID:PORT | serial:PATH | unix:PATH | "
		 "tcp:HOST:PORT)",
		 text);
	return -1;
}

size_t vs_agent_format(const struct vs_agent_addr *a, char *buf, size_t len)
{
	int k;

	switch (a->kind) {
	case VS_AGENT_VSOCK:
		k = snprintf(buf, len, "vsock:%u:%u", a->cid, a->port);
		break;
	case VS_AGENT_SERIAL:
		k = snprintf(buf, len, "serial:%s", a->path);
		break;
	case VS_AGENT_UNIX:
		k = snprintf(buf, len, "unix:%s", a->path);
		break;
	case VS_AGENT_TCP:
		k = snprintf(buf, len, "tcp:%s:%u", a->host, a->port);
		break;
	default:
		k = snprintf(buf, len, "%s", "");
		break;
	}
	return k < 0 ? 0 : (size_t)k;
}

double linux_now(const struct vs_linux *lx)
{
	struct timespec ts;

	if (lx->cfg.clock_s)
		return lx->cfg.clock_s(lx->cfg.clock_arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- Sampling ---------------------------------------------------------------------------- */

static int linux_read_stat(struct vs_linux *lx, struct vs_procstat *out)
{
	char err[160];

	if (sysroot_read_all(lx->root.proc_fd, "stat", &lx->buf, &lx->bufcap) < 0) {
		log_warn("proc/stat");
		return -1;
	}
	if (procstat_parse(lx->buf, out, err, sizeof(err)) < 0) {
		log_warnx("proc/stat: %s", err);
		return -1;
	}
	return 0;
}

/* Busy cores of set: the sum over its cpus of busy/total ticks in the period. */
static double linux_busy(const struct vs_linux *lx, const struct vs_cpuset *set, double period_s)
{
	double cores = 0;
	long hz = sysconf(_SC_CLK_TCK);

	for (int c = cpuset_next(set, 0); c >= 0; c = cpuset_next(set, c + 1)) {
		const struct vs_cpu_ticks *a = &lx->stat_prev->cpu[c], *b = &lx->stat_cur->cpu[c];
		uint64_t busy, total;
		if (!cpuset_test(&lx->stat_prev->present, c) ||
		    !cpuset_test(&lx->stat_cur->present, c))
			continue;
		busy = b->busy > a->busy ? b->busy - a->busy : 0;
		total = b->total > a->total ? b->total - a->total : 0;
		if (total > 0)
			cores += (double)busy / (double)total;
		else if (period_s > 0 && hz > 0)
			cores += (double)busy / ((double)hz * period_s);
	}
	return cores;
}

/* Run time of the workload's compute threads since the last call, cores. */
static double linux_thread_time(struct vs_linux *lx, struct lx_wl *w, double period_s)
{
	double sum_ns = 0;

	for (int i = 0; i < w->n_thr; i++) {
		struct lx_thread *t = &w->thr[i];
		uint64_t rt;
		if (t->role != LX_ROLE_COMPUTE)
			continue;
		if (task_read_runtime(lx->root.proc_fd, t->pid, t->tid, &rt) < 0)
			continue;
		if (t->has_runtime && rt >= t->runtime_ns)
			sum_ns += (double)(rt - t->runtime_ns);
		t->runtime_ns = rt;
		t->has_runtime = true;
	}
	return period_s > 0 ? sum_ns / (period_s * 1e9) : 0;
}

/* How long a period waits for the QMP answers of the halt-polling counters. */
static int linux_qmp_wait_ms(const struct vs_linux *lx)
{
	return lx->cfg.qmp_wait_ms > 0 ? lx->cfg.qmp_wait_ms : LX_QMP_WAIT_MS;
}

static int linux_sample(struct vs_platform *p, struct vs_host_sample *s)
{
	struct vs_linux *lx = vs_container_of(p, struct vs_linux, base);
	double now, period_s;

	if (linux_read_stat(lx, lx->stat_cur) < 0) {
		lx->cnt.sample_errors++;
		return -1;
	}
	now = linux_now(lx);
	period_s = lx->have_prev ? now - lx->t_prev_s : 0;
	s->period_s = period_s;
	/* KVM's halt-polling counters, read with /proc/stat (same period) */
	kvmstat_read_all(lx, lx->have_prev ? period_s : 0, now, linux_qmp_wait_ms(lx));
	for (int i = 0; i < s->n_workloads; i++) {
		struct lx_wl *w = linux_find(lx, s->name[i]);
		struct vs_sample *ws = &s->wl[i];
		bool shared;
		double threads = 0;

		memset(ws, 0, sizeof(*ws));
		if (!w || !w->present) {
			s->present[i] = false;
			continue;
		}
		s->present[i] = true;
		shared = w->cur_layout != VS_LAYOUT_ISOLATED;
		if (lx->have_prev && w->cur_valid) {
			ws->busy_vcpu = linux_busy(lx, &w->cur_vcpu, period_s);
			ws->busy_nq = shared ? ws->busy_vcpu : linux_busy(lx, &w->cur_nq, period_s);
		}
		if (shared || lx->need_thread_time)
			threads = linux_thread_time(lx, w, period_s);
		ws->busy_vcpu_threads = lx->need_thread_time || shared ? threads : ws->busy_vcpu;
		if (shared && lx->have_prev && w->cur_valid) {
			/* one group holds both: the vCPU (compute) threads' own run
			 * time is U_v, the rest of the group's busy time is U_n */
			double group = ws->busy_vcpu;
			ws->busy_vcpu = threads < group ? threads : group;
			ws->busy_nq = group - ws->busy_vcpu;
		}
		if (lx->have_prev && w->cur_valid)
			kvmstat_correct(w, ws);
		if (w->has_p95) {
			ws->has_p95 = true;
			ws->p95_us = w->p95_us;
			w->has_p95 = false;
		}
		w->last = *ws;
		w->has_last = true;
	}
	s->has_energy = false;
	if (lx->rapl.n > 0) {
		double j;
		if (sysfs_rapl_read(lx->root.sys_fd, &lx->rapl, &j) == 0) {
			s->has_energy = true;
			s->energy_j = j;
			lx->cnt.has_energy = true;
			lx->cnt.energy_j += j;
		}
	}
	{
		struct vs_procstat *t = lx->stat_prev;
		lx->stat_prev = lx->stat_cur;
		lx->stat_cur = t;
	}
	lx->t_prev_s = now;
	lx->have_prev = true;
	lx->cnt.samples++;
	return 0;
}

static int linux_refresh(struct vs_platform *p, double now_s, struct vs_discovery *d);

static const struct vs_platform_ops linux_ops = {
	.name = "linux",
	.refresh = linux_refresh,
	.sample = linux_sample,
	.apply = apply_plan,
};

/* ---- Open and close ---------------------------------------------------------------------- */

static int linux_add_nic(struct vs_linux *lx, const char *name, const char *netns, int owner,
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
static int linux_resolve_placement(struct vs_linux *lx, struct lx_wl *w, char *err, size_t errlen)
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
	lx->wl = calloc((size_t)(cfg->n_wl > 0 ? cfg->n_wl : 1), sizeof(*lx->wl));
	lx->appeared = calloc((size_t)(cfg->n_wl > 0 ? cfg->n_wl : 1), sizeof(*lx->appeared));
	lx->vanished = calloc((size_t)(cfg->n_wl > 0 ? cfg->n_wl : 1), sizeof(*lx->vanished));
	lx->stat_prev = calloc(1, sizeof(*lx->stat_prev));
	lx->stat_cur = calloc(1, sizeof(*lx->stat_cur));
	if (!lx->specs || !lx->wl || !lx->appeared || !lx->vanished || !lx->stat_prev ||
	    !lx->stat_cur) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (int i = 0; i < cfg->n_wl; i++) {
		lx->wl[i].hp.dir_fd = -1; /* closed by linuxplat_close, even on failure */
		qmpconn_init(&lx->wl[i].hp.q.conn, cfg->wl[i].qmp);
		/* until the first reading says otherwise, keep a QMP connection that
		 * discovery makes for the statistics that may need it */
		lx->wl[i].hp.q.in_use = cfg->wl[i].qmp[0] && cfg->halt_poll != VS_HALTPOLL_OFF &&
					cfg->halt_poll_source != VS_HPSRC_DEBUGFS;
	}
	memcpy(lx->specs, cfg->wl, sizeof(*lx->specs) * (size_t)cfg->n_wl);
	lx->cfg.wl = lx->specs;
	lx->n_wl = cfg->n_wl;
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
	if (want_virt) {
		if (virt_open(&lx->virt, cfg->libvirt_uri, perr, sizeof(perr)) < 0) {
			if (cfg->placement == VS_PLACE_LIBVIRT) {
				snprintf(err, errlen, "%s", perr);
				goto fail;
			}
			log_warnx("%s: libvirt workloads are found through their pidfiles and "
				  "pinned with sched_setaffinity",
				  perr);
		}
	}

	/* NICs */
	if (cfg->nic[0]) {
		int k = linux_add_nic(lx, cfg->nic, cfg->nic_netns, -1, true, err, errlen);
		if (k < 0)
			goto fail;
		lx->topo.nic_node = lx->nic[k].numa_node;
	}
	for (int i = 0; i < cfg->n_wl; i++) {
		struct lx_wl *w = &lx->wl[i];
		w->spec = lx->specs[i];
		w->nic = w->tap = -1;
		snprintf(w->cg[LX_G_ENV].path, sizeof(w->cg[0].path), "%s/%s", cfg->cgroup_parent,
			 w->spec.name);
		snprintf(w->cg[LX_G_VCPU].path, sizeof(w->cg[0].path), "%s/%s/%s",
			 cfg->cgroup_parent, w->spec.name, w->spec.lc ? "vcpu" : "be");
		snprintf(w->cg[LX_G_NQ].path, sizeof(w->cg[0].path), "%s/%s/nq", cfg->cgroup_parent,
			 w->spec.name);
		snprintf(w->fz.path, sizeof(w->fz.path), "%s/%s", cfg->cgroup_parent, w->spec.name);
		if (linux_resolve_placement(lx, w, perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "workload %s: %s", w->spec.name, perr);
			goto fail;
		}
		if (w->spec.nic[0]) {
			w->nic = linux_add_nic(lx, w->spec.nic, w->spec.nic_netns, i, true, perr,
					       sizeof(perr));
			if (w->nic < 0) {
				snprintf(err, errlen, "workload %s: %s", w->spec.name, perr);
				goto fail;
			}
		}
		if (w->spec.tap[0]) {
			/* a tap appears when its VM starts: not an error when absent */
			w->tap = linux_add_nic(lx, w->spec.tap, "", i, false, perr, sizeof(perr));
			if (w->tap < 0) {
				w->tap = lx->n_nic - 1;
				log_info("workload %s: tap %s not present yet", w->spec.name,
					 w->spec.tap);
			}
		}
	}

	if (linux_read_stat(lx, lx->stat_prev) < 0) {
		snprintf(err, errlen, "cannot read %s/proc/stat", lx->root.path);
		goto fail;
	}
	lx->t_prev_s = linux_now(lx);
	lx->have_prev = true;
	sysfs_rapl_init(lx->root.sys_fd, &lx->rapl);
	lx->now_s = lx->t_prev_s;
	for (int i = 0; i < lx->n_wl; i++) {
		discover_workload(lx, &lx->wl[i], lx->now_s, true);
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
	free(lx->stat_prev);
	free(lx->stat_cur);
	free(lx->buf);
	free(lx->irql);
	free(lx->tids);
	free(lx);
}

struct vs_platform *linuxplat_platform(struct vs_linux *lx)
{
	return &lx->base;
}

const struct vs_topology *linuxplat_topology(const struct vs_linux *lx)
{
	return &lx->topo;
}

void linuxplat_set_thread_time(struct vs_linux *lx, bool on)
{
	lx->need_thread_time = on;
}

void linuxplat_set_write_log(struct vs_linux *lx, void (*fn)(void *arg, const char *line),
			     void *arg)
{
	lx->act.logfn = fn;
	lx->act.logarg = arg;
}

const struct vs_write_stats *linuxplat_write_stats(const struct vs_linux *lx)
{
	return lx->act.stats;
}

void linuxplat_counters(const struct vs_linux *lx, struct vs_linux_counters *out)
{
	*out = lx->cnt;
}

struct lx_wl *linux_find(struct vs_linux *lx, const char *name)
{
	for (int i = 0; i < lx->n_wl; i++)
		if (strcmp(lx->wl[i].spec.name, name) == 0)
			return &lx->wl[i];
	return NULL;
}

int linuxplat_set_guest(struct vs_linux *lx, const char *workload, struct vs_guest_actuator *g)
{
	struct lx_wl *w = linux_find(lx, workload);

	if (!w)
		return -1;
	w->guest = g;
	w->guest_warned = false;
	w->gvnq.known = w->gvcpus.known = false;
	w->gvnq.broken = w->gvcpus.broken = false;
	return 0;
}

int linuxplat_report(struct vs_linux *lx, const char *workload, double p95_us, long count,
		     char *err, size_t errlen)
{
	struct lx_wl *w = linux_find(lx, workload);

	if (!w) {
		size_t k = (size_t)snprintf(err, errlen,
					    "unknown workload \"%s\" (configured:", workload);
		for (int i = 0; i < lx->n_wl && k < errlen; i++)
			k += (size_t)snprintf(err + k, errlen - k, " %s", lx->wl[i].spec.name);
		if (k < errlen)
			snprintf(err + k, errlen - k, ")");
		return -1;
	}
	if (!w->spec.lc) {
		snprintf(err, errlen,
			 "workload \"%s\" is best-effort: p95 reports are for LC workloads",
			 workload);
		return -1;
	}
	if (!isfinite(p95_us) || p95_us < 0 || p95_us > 1e12) {
		snprintf(err, errlen, "p95_us %g is not a latency in microseconds", p95_us);
		return -1;
	}
	w->has_p95 = true; /* several in one period: the last one wins */
	w->p95_us = p95_us;
	w->p95_count = count;
	w->last_p95_us = p95_us;
	w->reports++;
	lx->cnt.reports++;
	return 0;
}

/* Forget what we knew about a workload's process (it vanished). */
static void linux_wl_reset(struct lx_wl *w)
{
	memset(&w->proc_cg, 0, sizeof(w->proc_cg));
	memset(&w->frozen, 0, sizeof(w->frozen));
	memset(&w->gvnq, 0, sizeof(w->gvnq));
	memset(&w->gvcpus, 0, sizeof(w->gvcpus));
	w->fz.planned = false;
	free(w->vvcpu);
	w->vvcpu = NULL;
	w->n_vvcpu = 0;
	w->n_viothr = 0;
	memset(&w->vemu, 0, sizeof(w->vemu));
	memset(w->viothr, 0, sizeof(w->viothr));
	w->cur_valid = false;
	w->has_p95 = false;
	kvmstat_forget(w);
}

/* Queues come and go without vspace too: a VM's tap has the queues QEMU
 * attached, which follow the guest's channel count (the agent's set_vnq).
 * Masks of queues that went away are forgotten (the kernel recreates them
 * empty), so they are written again when the queues come back. */
static void linux_nic_queues(struct lx_nic *n)
{
	int rx, tx;

	if (sysfs_net_queues(n->sys_fd, n->name, &rx, &tx) < 0 || (rx == n->n_rx && tx == n->n_tx))
		return;
	log_debug("nic %s: %d rx and %d tx queues now (were %d and %d)", n->name, rx, tx, n->n_rx,
		  n->n_tx);
	for (int q = rx; q < n->n_rx && q < n->cap_q; q++)
		n->rps[q].known = false;
	for (int q = tx; q < n->n_tx && q < n->cap_q; q++)
		n->xps[q].known = false;
	n->n_rx = rx;
	n->n_tx = tx;
}

int linuxplat_refresh(struct vs_linux *lx, double now_s, struct vs_discovery *d)
{
	int n_app = 0, n_van = 0;

	lx->now_s = now_s;
	for (int i = 0; i < lx->n_wl; i++) {
		struct lx_wl *w = &lx->wl[i];
		bool was = w->present;
		struct vs_wl_report *r;

		discover_workload(lx, w, now_s, false);
		if (was && !w->present) {
			lx->cnt.vanished++;
			linux_wl_reset(w);
		}
		if (!was && w->present)
			lx->cnt.appeared++;
		if (!w->spec.lc || w->present == w->reported)
			continue;
		w->reported = w->present;
		r = w->present ? &lx->appeared[n_app++] : &lx->vanished[n_van++];
		memset(r, 0, sizeof(*r));
		str_copy(r->name, w->spec.name, sizeof(r->name));
		r->slo_p95_us = w->spec.slo_p95_us;
		if (w->present)
			snprintf(r->found, sizeof(r->found),
				 "pid %d, %d threads (%s), placed by %s", w->pid, w->n_thr,
				 w->is_vm ? "VM" : "process", vs_placement_name(w->place));
		else
			str_copy(r->found, w->absent, sizeof(r->found));
	}
	for (int i = 0; i < lx->n_nic; i++) {
		if (lx->nic[i].present) {
			/* (a fixture tree or a dry run keeps the counts vspace planned) */
			if (lx->root.live && !lx->cfg.dry_run)
				linux_nic_queues(&lx->nic[i]);
		} else if (lx->nic[i].sys_fd >= 0 || !lx->nic[i].netns[0]) {
			if (discover_nic(lx, &lx->nic[i]) == 0)
				log_info("nic %s appeared", lx->nic[i].name);
		}
	}
	*d = (struct vs_discovery){ .n_appeared = n_app,
				    .appeared = lx->appeared,
				    .n_vanished = n_van,
				    .vanished = lx->vanished };
	return 0;
}

static int linux_refresh(struct vs_platform *p, double now_s, struct vs_discovery *d)
{
	return linuxplat_refresh(vs_container_of(p, struct vs_linux, base), now_s, d);
}

/* ---- Restore ---------------------------------------------------------------------------- */

int linuxplat_restore(struct vs_linux *lx)
{
	int failed = 0;

	if (lx->state.n > 0) {
		log_info("restoring %d recorded settings", lx->state.n);
		failed = state_restore(&lx->state, &lx->root, false, lx->act.logfn, lx->act.logarg);
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
		linux_wl_reset(w);
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
	failed = state_restore(&st, &root, dry_run, NULL, NULL);
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

/* ---- Status and description ------------------------------------------------------------ */

static size_t linux_tids(const struct lx_wl *w, enum lx_role role, char *buf, size_t len)
{
	size_t k = 0;
	int n = 0;

	if (len > 0)
		buf[0] = '\0';
	for (int i = 0; i < w->n_thr; i++) {
		if (w->thr[i].role != role)
			continue;
		if (k < len)
			k += (size_t)snprintf(buf + k, len - k, "%s%d", n ? "," : "",
					      w->thr[i].tid);
		n++;
	}
	return (size_t)n;
}

static const char *linux_source_name(enum vs_wl_source s)
{
	static const char *const names[] = { "pid", "pidfile", "qemu_pidfile", "cgroup",
					     "libvirt" };
	return (unsigned)s < 5 ? names[s] : "?";
}

size_t linuxplat_describe(const struct vs_linux *lx, char *buf, size_t len)
{
	size_t n = 0;
	char a[4096], b[4096];
	int smt = 0;

	if (len > 0)
		buf[0] = '\0';
	for (int c = cpuset_next(&lx->online, 0); c >= 0; c = cpuset_next(&lx->online, c + 1))
		if (lx->topo.sib_next[c] != c)
			smt++;
	cpuset_format_list(&lx->online, a, sizeof(a));
	cpuset_format_list(&lx->cfg.managed, b, sizeof(b));
	str_appendf(buf, len, &n,
		    "host: online %s (%d cpus), managed %s (%d), numa nodes %d, cpus with an SMT "
		    "sibling "
		    "%d, mask width %d\n",
		    a, cpuset_count(&lx->online), b, cpuset_count(&lx->cfg.managed), lx->n_nodes,
		    smt, lx->mask_cpus);
	str_appendf(buf, len, &n, "cgroups: cpuset v1 %s, freezer v1 %s, v2 %s (cpuset %s)\n",
		    lx->cg.fd[LX_HIER_CPUSET1] >= 0 ? lx->cg.rel[LX_HIER_CPUSET1] : "-",
		    lx->cg.fd[LX_HIER_FREEZER1] >= 0 ? lx->cg.rel[LX_HIER_FREEZER1] : "-",
		    lx->cg.fd[LX_HIER_V2] >= 0 ? lx->cg.rel[LX_HIER_V2] : "-",
		    lx->cg.v2_cpuset ? "yes" : "no");
	str_appendf(buf, len, &n, "energy: %s\n", lx->rapl.n > 0 ? "rapl" : "unavailable");
	for (int i = 0; i < lx->n_nic; i++) {
		const struct lx_nic *nc = &lx->nic[i];
		str_appendf(
			buf, len, &n,
			"nic %s%s%s: %s, owner %s, numa node %d, queues rx %d tx %d, channels %s",
			nc->name, nc->netns[0] ? " in netns " : "", nc->netns,
			nc->present ? "present" : "absent",
			nc->owner < 0 ? "all LC workloads" : lx->wl[nc->owner].spec.name,
			nc->numa_node, nc->n_rx, nc->n_tx, nc->ch_supported ? "" : "unsupported");
		if (nc->ch_supported)
			str_appendf(buf, len, &n, "rx %u/%u tx %u/%u combined %u/%u", nc->ch.rx,
				    nc->ch.max_rx, nc->ch.tx, nc->ch.max_tx, nc->ch.combined,
				    nc->ch.max_combined);
		str_appendf(buf, len, &n, ", queue irqs %d", nc->n_irq);
		for (int k = 0; k < nc->n_irq; k++)
			str_appendf(buf, len, &n, "%s%d:q%d", k ? " " : " [", nc->irq[k].irq,
				    nc->irq[k].queue);
		str_appendf(buf, len, &n, "%s\n", nc->n_irq ? "]" : "");
	}
	for (int i = 0; i < lx->n_wl; i++) {
		const struct lx_wl *w = &lx->wl[i];
		char agent[160];
		vs_agent_format(&w->spec.agent, agent, sizeof(agent));
		str_appendf(buf, len, &n, "workload %s: %s, %s=%s, placement %s%s%s\n",
			    w->spec.name, w->spec.lc ? "lc" : "be",
			    linux_source_name(w->spec.source),
			    w->spec.source == VS_SRC_PID
				    ? (snprintf(a, sizeof(a), "%d", w->spec.pid), a)
			    : w->spec.source == VS_SRC_LIBVIRT ? w->spec.domain
							       : w->spec.path,
			    vs_placement_name(w->place), agent[0] ? ", agent " : "", agent);
		if (!w->present) {
			str_appendf(buf, len, &n, "  absent: %s\n", w->absent);
			continue;
		}
		str_appendf(buf, len, &n, "  pid %d, %s, %d threads\n", w->pid,
			    w->is_vm ? "vm" : "process", w->n_thr);
		for (int r = LX_ROLE_COMPUTE; r <= LX_ROLE_OTHER; r++) {
			size_t cnt = linux_tids(w, (enum lx_role)r, a, sizeof(a));
			if (cnt > 0)
				str_appendf(buf, len, &n, "  %s %zu: %s\n",
					    lx_role_name((enum lx_role)r), cnt, a);
		}
		for (int t = 0; t < w->n_thr; t++)
			if (w->thr[t].vcpu >= 0)
				str_appendf(buf, len, &n, "%s%d=%d",
					    t == 0 || w->thr[t - 1].vcpu < 0 ? "  vcpus: " : " ",
					    w->thr[t].vcpu, w->thr[t].tid);
		for (int t = 0; t < w->n_thr; t++)
			if (w->thr[t].vcpu >= 0) {
				str_appendf(buf, len, &n, "\n");
				break;
			}
	}
	return n;
}

static json_t *linux_cpus_json(const struct vs_cpuset *s)
{
	char buf[4096];
	cpuset_format_list(s, buf, sizeof(buf));
	return json_string(buf);
}

/* The QMP source of a workload's halt-polling counters, for status. */
static json_t *linux_qmp_json(const struct vs_linux_haltpoll *h)
{
	json_t *o = json_pack("{s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "connection", h->qmp_conn,
			      "wait_ms", h->qmp_wait_ms, "requests", (json_int_t)h->qmp_requests,
			      "answers", (json_int_t)h->qmp_answers, "slow",
			      (json_int_t)h->qmp_slow, "bad", (json_int_t)h->qmp_bad, "unavailable",
			      (json_int_t)h->qmp_unavailable, "dropped", (json_int_t)h->qmp_dropped,
			      "connects", (json_int_t)h->qmp_connects);

	if (!o)
		return json_null();
	json_object_set_new(o, "qemu",
			    h->qemu_version[0] ? json_string(h->qemu_version) : json_null());
	if (h->qmp_vcpus > 0)
		json_object_set_new(o, "vcpus", json_integer(h->qmp_vcpus));
	if (h->qmp_rtt_n > 0)
		json_object_set_new(
			o, "rtt_us",
			json_pack("{s:I,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)h->qmp_rtt_n,
				  "last", h->qmp_rtt_last_s * 1e6, "mean", h->qmp_rtt_mean_s * 1e6,
				  "p50", h->qmp_rtt_p50_s * 1e6, "p99", h->qmp_rtt_p99_s * 1e6,
				  "max", h->qmp_rtt_max_s * 1e6));
	return o;
}

json_t *linuxplat_status(const struct vs_linux *lx)
{
	json_t *wls = json_array(), *nics = json_array();

	for (int i = 0; i < lx->n_wl; i++) {
		const struct lx_wl *w = &lx->wl[i];
		json_t *o = json_object();
		char agent[160], tmp[64];
		int roles[3] = { 0, 0, 0 };

		for (int t = 0; t < w->n_thr; t++)
			roles[w->thr[t].role]++;
		vs_agent_format(&w->spec.agent, agent, sizeof(agent));
		json_object_set_new(o, "name", json_string(w->spec.name));
		json_object_set_new(o, "role", json_string(w->spec.lc ? "lc" : "be"));
		json_object_set_new(o, "present", json_boolean(w->present));
		if (!w->present)
			json_object_set_new(o, "absent", json_string(w->absent));
		json_object_set_new(o, "source", json_string(linux_source_name(w->spec.source)));
		json_object_set_new(o, "pid", json_integer(w->pid));
		json_object_set_new(o, "vm", json_boolean(w->is_vm));
		json_object_set_new(o, "placement", json_string(vs_placement_name(w->place)));
		json_object_set_new(o, "threads",
				    json_pack("{s:i,s:i,s:i}", "compute", roles[0], "vhost",
					      roles[1], "other", roles[2]));
		json_object_set_new(o, "agent", agent[0] ? json_string(agent) : json_null());
		json_object_set_new(o, "guest_actuator",
				    w->guest ? json_string(w->guest->ops->name) : json_null());
		if (w->spec.slo_p95_us > 0)
			json_object_set_new(o, "slo_p95_us", json_real(w->spec.slo_p95_us));
		json_object_set_new(o, "reports", json_integer((json_int_t)w->reports));
		if (w->reports > 0) {
			json_object_set_new(o, "last_report_p95_us", json_real(w->last_p95_us));
			if (w->p95_count >= 0)
				json_object_set_new(o, "last_report_count",
						    json_integer(w->p95_count));
		}
		if (w->cur_valid) {
			json_object_set_new(o, "vcpu_cores", linux_cpus_json(&w->cur_vcpu));
			json_object_set_new(o, "nq_cores", linux_cpus_json(&w->cur_nq));
		}
		if (w->spec.lc) {
			struct vs_linux_haltpoll h;
			json_t *ho;
			linuxplat_haltpoll(lx, w->spec.name, &h);
			ho = json_pack(
				"{s:s,s:s,s:b}", "accounting",
				vs_hp_accounting_name(lx->cfg.halt_poll, lx->cfg.halt_poll_source),
				"state", h.state, "applied", h.applied);
			json_object_set_new(ho, "via", h.via[0] ? json_string(h.via) : json_null());
			json_object_set_new(ho, "source",
					    h.source[0] ? json_string(h.source) : json_null());
			if (h.why_via[0])
				json_object_set_new(ho, "why_via", json_string(h.why_via));
			if (h.has_qmp)
				json_object_set_new(ho, "qmp", linux_qmp_json(&h));
			if (h.note[0])
				json_object_set_new(ho, "note", json_string(h.note));
			if (h.bad_reads)
				json_object_set_new(ho, "bad_reads",
						    json_integer((json_int_t)h.bad_reads));
			if (w->has_last && h.applied) {
				json_object_set_new(ho, "busy_vcpu_raw",
						    json_real(h.raw_busy_vcpu));
				json_object_set_new(ho, "halt_poll_cores", json_real(h.halt_poll));
				json_object_set_new(ho, "busy_vcpu", json_real(h.busy_vcpu));
			}
			json_object_set_new(o, "halt_poll", ho);
		}
		if (w->has_last) {
			json_object_set_new(o, "busy_vcpu", json_real(w->last.busy_vcpu));
			json_object_set_new(o, "busy_vcpu_raw",
					    json_real(w->last.has_halt_poll ? w->last.busy_vcpu_raw
									    : w->last.busy_vcpu));
			json_object_set_new(
				o, "halt_poll_cores",
				json_real(w->last.has_halt_poll ? w->last.halt_poll_vcpu : 0));
			json_object_set_new(o, "busy_nq", json_real(w->last.busy_nq));
			json_object_set_new(o, "p95_us",
					    w->last.has_p95 ? json_real(w->last.p95_us)
							    : json_null());
		}
		snprintf(tmp, sizeof(tmp), "%s", w->spec.nic[0] ? w->spec.nic : "");
		if (tmp[0])
			json_object_set_new(o, "nic", json_string(tmp));
		json_array_append_new(wls, o);
	}
	for (int i = 0; i < lx->n_nic; i++) {
		const struct lx_nic *n = &lx->nic[i];
		json_t *o = json_pack("{s:s,s:s,s:b,s:i,s:i,s:i}", "name", n->name, "netns",
				      n->netns, "present", n->present, "rx_queues", n->n_rx,
				      "tx_queues", n->n_tx, "queue_irqs", n->n_irq);
		if (n->ch_supported)
			json_object_set_new(
				o, "channels",
				json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "rx", (int)n->ch.rx, "tx",
					  (int)n->ch.tx, "combined", (int)n->ch.combined, "max_rx",
					  (int)n->ch.max_rx, "max_tx", (int)n->ch.max_tx,
					  "max_combined", (int)n->ch.max_combined));
		json_array_append_new(nics, o);
	}
	return json_pack("{s:o,s:o,s:i}", "workloads", wls, "nics", nics, "state_records",
			 lx->state.n);
}

int linuxplat_haltpoll(const struct vs_linux *lx, const char *workload,
		       struct vs_linux_haltpoll *out)
{
	const struct lx_wl *w = NULL;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < lx->n_wl && !w; i++)
		if (strcmp(lx->wl[i].spec.name, workload) == 0)
			w = &lx->wl[i];
	if (!w)
		return -1;
	out->state = kvmstat_state_name(w->hp.state);
	out->via = kvmstat_via_name(w->hp.via);
	if (w->hp.via == LX_VIA_DEBUGFS && w->hp.dir[0])
		snprintf(out->source, sizeof(out->source), "sys/" KVMSTAT_DIR "/%s", w->hp.dir);
	else if (w->hp.via == LX_VIA_QMP)
		snprintf(out->source, sizeof(out->source), "qmp:%s", w->spec.qmp);
	if (w->hp.state != LX_HP_OFF && w->hp.state != LX_HP_NOT_VM)
		str_copy(out->why_via, w->hp.why_via, sizeof(out->why_via));
	str_copy(out->note, w->hp.note, sizeof(out->note));
	out->qmp_wait_ms = linux_qmp_wait_ms(lx);
	{
		const struct lx_hp_qmp *q = &w->hp.q;
		static const char *const conn[] = { "closed", "greeting", "capabilities", "ready" };
		/* the statistics were sought over QMP (not only discovery's threads) */
		out->has_qmp = w->spec.qmp[0] &&
			       (q->requests > 0 || q->unavailable > 0 || w->hp.via == LX_VIA_QMP);
		str_copy(out->qmp_conn, (unsigned)q->conn.state < 4 ? conn[q->conn.state] : "?",
			 sizeof(out->qmp_conn));
		str_copy(out->qemu_version, q->conn.version, sizeof(out->qemu_version));
		out->qmp_vcpus = q->prev.n_vcpus; /* of the last good reading */
		out->qmp_requests = q->requests;
		out->qmp_answers = q->answers;
		out->qmp_slow = q->slow;
		out->qmp_bad = q->bad;
		out->qmp_unavailable = q->unavailable;
		out->qmp_dropped = q->conn.dropped;
		out->qmp_connects = q->conn.connects;
		out->qmp_rtt_n = q->rtt_us ? q->rtt_us->total : 0;
		out->qmp_rtt_last_s = q->rtt_last_s;
		out->qmp_rtt_max_s = q->rtt_max_s;
		if (out->qmp_rtt_n > 0) {
			out->qmp_rtt_mean_s = q->rtt_sum_s / (double)out->qmp_rtt_n;
			out->qmp_rtt_p50_s = (double)hist_quantile(q->rtt_us, 0.5) * 1e-6;
			out->qmp_rtt_p99_s = (double)hist_quantile(q->rtt_us, 0.99) * 1e-6;
		}
	}
	out->applied = w->hp.applied;
	out->raw_busy_vcpu = w->hp.raw_busy_vcpu;
	out->halt_poll = w->hp.subtracted;
	out->busy_vcpu =
		w->hp.applied ? w->hp.raw_busy_vcpu - w->hp.subtracted : w->hp.raw_busy_vcpu;
	out->bad_reads = w->hp.bad_reads;
	return 0;
}
