/* vfmgr.c - vspaced's FlexVF manager: the VF pool, each VM's packet rate, the strategy every interval, hot-plug and unplug with retries, forced grants, the grants' record. */
#include "daemon/vfmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/controller.h"
#include "daemon/agentlink.h"
#include "daemon/config.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/netns.h"
#include "platform/linux/vfnl.h"
#include "platform/linux/virt.h"

/* The QEMU device id of pool slot k's device: "vspace-vfK". */
static void vfm_dev_id(int k, char *buf, size_t len)
{
	snprintf(buf, len, "vspace-vf%d", k);
}

/* ---- The grants' record (state_dir/vf-grants.json) ------------------------------------- */

/* Who holds which VF, written after every change (tmp, fsync, rename), so
 * that a restart - after a crash or with vf_on_exit=leave - finds the VFs
 * where they are instead of plugging them twice. */
static void vfm_record_save(struct vfm *m)
{
	char tmp[PATH_MAX / 4 + 48];
	json_t *arr, *root;
	char *text;
	FILE *f;

	if (m->dry_run || !m->record_path[0])
		return;
	arr = json_array();
	for (int i = 0; i < m->n_vm; i++) {
		const struct vfm_vm *v = &m->vm[i];
		if (v->slot < 0)
			continue;
		json_array_append_new(arr, json_pack("{s:s,s:i,s:i,s:s}", "workload", v->name,
						     "slot", v->slot, "vf", m->slot[v->slot].vf,
						     "pci", m->slot[v->slot].pci));
	}
	root = json_pack("{s:i,s:o}", "version", 1, "grants", arr);
	text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
	json_decref(root);
	if (!text)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", m->record_path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) < 0 || fclose(f) != 0 || rename(tmp, m->record_path) < 0) {
		if (f)
			log_warn("vf: writing %s", m->record_path);
		else
			log_warn("vf: %s", tmp);
	}
	free(text);
}

/* The record of an earlier run: its grants are adopted (the VFs are plugged). */
static void vfm_record_load(struct vfm *m)
{
	json_error_t je;
	json_t *root = json_load_file(m->record_path, 0, &je), *g;
	size_t i;

	if (!root) {
		if (access(m->record_path, F_OK) == 0)
			log_warnx("vf: %s: %s (line %d): ignored; VFs plugged before are not "
				  "known",
				  m->record_path, je.text, je.line);
		return;
	}
	json_array_foreach(json_object_get(root, "grants"), i, g)
	{
		const char *name = json_string_value(json_object_get(g, "workload"));
		json_t *js = json_object_get(g, "slot");
		int k = json_is_integer(js) ? (int)json_integer_value(js) : -1, vi = -1;
		for (int j = 0; name && j < m->n_vm; j++)
			if (!strcmp(m->vm[j].name, name))
				vi = j;
		if (vi < 0 || k < 0 || k >= m->n_slot || m->slot[k].holder >= 0) {
			log_warnx(
				"vf: %s: grant %zu (%s, slot %d) does not fit this configuration: "
				"not adopted",
				m->record_path, i, name ? name : "?", k);
			continue;
		}
		m->vm[vi].slot = k;
		m->slot[k].holder = vi;
		vf_sched_adopt(&m->sched, vi, 1);
		log_info("vf: workload %s holds VF %d%s%s (recorded by the last run)", name,
			 m->slot[k].vf, m->slot[k].pci[0] ? " " : "", m->slot[k].pci);
	}
	json_decref(root);
}

/* ---- The pool ---------------------------------------------------------------------------- */

static int vfm_pool(struct vfm *m, char *err, size_t errlen)
{
	const struct vsd_vf_config *c = m->cfg;

	if (c->standin[0]) {
		m->n_slot = c->standin_vfs;
		for (int k = 0; k < m->n_slot; k++) {
			m->slot[k] = (struct vfm_slot){ .vf = k, .usable = true, .holder = -1 };
			snprintf(m->slot[k].note, sizeof(m->slot[k].note), "stand-in %s",
				 c->standin);
		}
		return 0;
	}
	struct vfpool *p = calloc(1, sizeof(*p));
	struct vfnl_vf *nl = calloc(VFNL_MAX, sizeof(*nl));
	char nlerr[256];
	int n, n_nl;

	if (!p || !nl) {
		free(p);
		free(nl);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = vfpool_read(m->root.sys_fd, c->pf, p, err, errlen);
	if (n < 0) {
		free(p);
		free(nl);
		return -1;
	}
	if (m->root.live && m->nlfd < 0)
		m->nlfd = vfnl_socket();
	n_nl = vfnl_query(&m->root, m->nlfd, c->pf, nl, VFNL_MAX, nlerr, sizeof(nlerr));
	if (n_nl < 0)
		log_warnx("vf: PF %s: %s (VF MACs and counters unknown)", c->pf, nlerr);
	m->n_slot = n;
	for (int k = 0; k < n; k++) {
		struct vfm_slot *s = &m->slot[k];
		const struct vfpool_vf *v = &p->vf[k];
		*s = (struct vfm_slot){ .vf = v->index, .holder = -1 };
		str_copy(s->pci, v->pci, sizeof(s->pci));
		str_copy(s->mac, v->mac, sizeof(s->mac));
		for (int j = 0; j < n_nl; j++)
			if (nl[j].vf == v->index && !s->mac[0])
				str_copy(s->mac, nl[j].mac, sizeof(s->mac));
		s->usable = !v->host_up;
		snprintf(s->note, sizeof(s->note), "%s%s%s%s", vfpool_binding_name(v->binding),
			 v->netdev[0] ? ", host netdev " : "", v->netdev,
			 v->host_up ? " up: in use on the host" : "");
	}
	free(p);
	free(nl);
	return 0;
}

static int vfm_usable(const struct vfm *m)
{
	int n = 0;
	for (int k = 0; k < m->n_slot; k++)
		n += m->slot[k].usable;
	return n;
}

/* ---- Open ------------------------------------------------------------------------------------ */

int vfm_open(struct vfm *m, const struct vsd_config *cfg, const char *sysroot, bool dry_run,
	     char *err, size_t errlen)
{
	struct vf_params p;

	memset(m, 0, sizeof(*m));
	m->cfg = &cfg->vf;
	m->dcfg = cfg;
	m->nlfd = -1;
	m->dry_run = dry_run;
	str_copy(m->libvirt_uri, cfg->libvirt_uri, sizeof(m->libvirt_uri));
	snprintf(m->record_path, sizeof(m->record_path), "%s/vf-grants.json", cfg->state_dir);
	if (sysroot_open(&m->root, sysroot ? sysroot : "/", err, errlen) < 0)
		return -1;
	m->have_root = true;
	if (vfm_pool(m, m->pool_error, sizeof(m->pool_error)) < 0) {
		/* reported (status, log), not fatal: the VMs stay on their PV NICs */
		log_warnx("vf: the VF pool: %s; no VM gets a VF", m->pool_error);
		m->n_slot = 0;
	}
	vf_params_defaults(&p);
	p.n_vfs = vfm_usable(m);
	p.hysteresis = m->cfg->hysteresis;
	p.min_hold = m->cfg->min_hold;
	if (vf_sched_init(&m->sched, m->cfg->strategy, &p, err, errlen) < 0)
		return -1;
	m->vm = calloc((size_t)(cfg->n_wl ? cfg->n_wl : 1), sizeof(*m->vm));
	if (!m->vm) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < cfg->n_wl; i++) {
		const struct vs_wl_spec *w = &cfg->wl[i];
		struct vfm_vm *v;
		if (!cfg->vfwl[i].on)
			continue;
		v = &m->vm[m->n_vm];
		memset(v, 0, sizeof(*v));
		str_copy(v->name, w->name, sizeof(v->name));
		v->cfg_index = i;
		v->c = &cfg->vfwl[i];
		v->libvirt = w->source == VS_SRC_LIBVIRT;
		str_copy(v->domain, w->domain, sizeof(v->domain));
		v->slot = v->want_slot = -1;
		v->tap_fd = -1;
		v->backoff_s = VFM_RETRY_MIN_S;
		qmpconn_init(&v->conn, v->c->qmp);
		if (vf_sched_add(&m->sched, v->name, err, errlen) != m->n_vm)
			return -1;
		/* the tap lives in the host NIC's namespace, if it has one */
		if ((w->tap[0] || v->c->tap[0]) && cfg->nic_netns[0] && m->root.live) {
			char nspath[128], nerr[256];
			snprintf(nspath, sizeof(nspath), "/run/netns/%s", cfg->nic_netns);
			v->tap_fd = netns_open_sysfs(nspath, nerr, sizeof(nerr));
			if (v->tap_fd < 0)
				log_warnx("vf: workload %s: %s (its tap's counters are not read)",
					  v->name, nerr);
		}
		m->n_vm++;
	}
	vfm_record_load(m);
	log_info("vf: %d VM%s may hold one of %d VF%s (%s%s%s), strategy %s, every %g s", m->n_vm,
		 m->n_vm == 1 ? "" : "s", vfm_usable(m), vfm_usable(m) == 1 ? "" : "s",
		 m->cfg->standin[0] ? "stand-in " : "PF ",
		 m->cfg->standin[0] ? m->cfg->standin : m->cfg->pf,
		 m->pool_error[0] ? ": unreadable" : "", m->cfg->strategy->name,
		 m->cfg->interval_s);
	return 0;
}

/* ---- Hot-plug -------------------------------------------------------------------------------- */

static void vfm_dev(const struct vfm *m, const struct vfm_vm *v, int k, struct vfplug_dev *d)
{
	memset(d, 0, sizeof(*d));
	vfm_dev_id(k, d->id, sizeof(d->id));
	if (m->cfg->standin[0]) {
		str_copy(d->driver, m->cfg->standin, sizeof(d->driver));
		str_copy(d->netdev, v->c->netdev, sizeof(d->netdev));
	} else {
		str_copy(d->driver, "vfio-pci", sizeof(d->driver));
		str_copy(d->host_pci, m->slot[k].pci, sizeof(d->host_pci));
	}
	str_copy(d->mac, v->c->mac, sizeof(d->mac));
	str_copy(d->standby, v->c->standby, sizeof(d->standby));
	if (m->cfg->announce)
		str_copy(d->standby_nic, v->c->standby, sizeof(d->standby_nic));
	str_copy(d->bus, v->c->bus, sizeof(d->bus));
}

static void *vfm_job_main(void *arg)
{
	struct vfm_job *j = arg;
	struct vs_virt *virt;

	if (virt_open(&virt, j->uri, j->err, sizeof(j->err)) < 0) {
		j->rc = -ENOTCONN;
	} else {
		j->rc = j->unplug ? vfplug_libvirt_detach(virt, j->dom, &j->dev, j->timeout_ms,
							  j->err, sizeof(j->err))
				  : vfplug_libvirt_attach(virt, j->dom, &j->dev, j->err,
							  sizeof(j->err));
		virt_close(virt);
	}
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void vfm_on_event(void *arg, const json_t *event)
{
	vfplug_qmp_event(arg, event);
}

/* Start plugging slot k into v (or unplugging what it holds). */
static int vfm_start(struct vfm *m, struct vfm_vm *v, int k, bool unplug, double now)
{
	struct vfplug_dev d;
	char err[256];

	vfm_dev(m, v, k, &d);
	v->op = unplug ? VFM_OP_UNPLUG : VFM_OP_PLUG;
	v->want_slot = k;
	v->op_start_s = now;
	m->slot[k].holder = (int)(v - m->vm);
	if (m->dry_run) {
		log_info("vf: dry-run: would %s %s %s (%s)", unplug ? "unplug" : "plug", d.id,
			 unplug ? "from" : "into", v->name);
		return 0;
	}
	if (!unplug && !m->cfg->standin[0] && !v->libvirt && m->root.live &&
	    strcmp(m->slot[k].mac, d.mac) != 0) {
		/* over QMP the VF must already carry the standby's MAC (libvirt sets it) */
		if (vfnl_set_mac(&m->root, m->nlfd, m->cfg->pf, m->slot[k].vf, d.mac, err,
				 sizeof(err)) < 0) {
			str_copy(v->last_error, err, sizeof(v->last_error));
			return -1;
		}
		str_copy(m->slot[k].mac, d.mac, sizeof(m->slot[k].mac));
	}
	if (v->libvirt) {
		struct vfm_job *j = &v->job;
		memset(j, 0, sizeof(*j));
		str_copy(j->uri, m->libvirt_uri, sizeof(j->uri));
		str_copy(j->dom, v->domain, sizeof(j->dom));
		j->dev = d;
		j->unplug = unplug;
		j->timeout_ms = m->cfg->plug_timeout_ms;
		if (pthread_create(&j->thread, NULL, vfm_job_main, j) != 0) {
			snprintf(v->last_error, sizeof(v->last_error), "cannot start a thread: %s",
				 strerror(errno));
			return -1;
		}
		j->running = true;
		return 0;
	}
	if (v->conn.fd < 0 && qmpconn_open(&v->conn, err, sizeof(err)) < 0) {
		str_copy(v->last_error, err, sizeof(v->last_error));
		return -1;
	}
	/* now: the loop's monotonic clock (CLOCK_MONOTONIC, as qmpconn_now_us) */
	vfplug_qmp_start(&v->qop, &d, unplug, m->cfg->plug_timeout_ms, unplug && d.standby_nic[0],
			 (uint64_t)(now * 1e6));
	v->conn.on_event = vfm_on_event;
	v->conn.event_arg = &v->qop;
	return 0;
}

/* A plug or unplug ended (ok or not). */
static void vfm_finish(struct vfm *m, struct vfm_vm *v, bool ok, const char *err, double now)
{
	int k = v->want_slot, vi = (int)(v - m->vm);
	double ms = (now - v->op_start_s) * 1000;
	enum vfm_op op = v->op;

	v->op = VFM_OP_NONE;
	v->want_slot = -1;
	if (op == VFM_OP_PLUG && ok) {
		v->slot = k;
		v->plugs++;
		v->plug_ms = ms;
		v->backoff_s = VFM_RETRY_MIN_S;
		v->retry_s = 0;
		v->last_error[0] = '\0';
		if (!m->sched.vm[vi].st.holds) /* a retry after the decision's interval began */
			vf_sched_adopt(&m->sched, vi, 1);
		log_info("vf: workload %s: VF %d%s%s plugged in %.0f ms (%s)", v->name,
			 m->slot[k].vf, m->slot[k].pci[0] ? " " : "", m->slot[k].pci, ms, v->why);
	} else if (op == VFM_OP_PLUG) {
		m->slot[k].holder = -1;
		v->failures++;
		str_copy(v->last_error, err, sizeof(v->last_error));
		v->retry_s = now + v->backoff_s;
		log_warnx(
			"vf: workload %s: plugging VF %d failed after %.0f ms: %s; it stays on its "
			"PV NIC, next try in %.0f s",
			v->name, m->slot[k].vf, ms, err, v->backoff_s);
		v->backoff_s = fmin(v->backoff_s * 2, VFM_RETRY_MAX_S);
		vf_sched_revoke(&m->sched, vi);
	} else if (ok) {
		m->slot[k].holder = -1;
		v->slot = -1;
		v->unplugs++;
		v->unplug_ms = ms;
		v->retry_s = 0;
		v->backoff_s = VFM_RETRY_MIN_S;
		log_info("vf: workload %s: VF %d unplugged in %.0f ms (%s)", v->name, m->slot[k].vf,
			 ms, v->why);
	} else {
		/* still plugged, as far as we know: try again later */
		v->failures++;
		str_copy(v->last_error, err, sizeof(v->last_error));
		v->retry_s = now + v->backoff_s;
		log_warnx("vf: workload %s: unplugging VF %d failed after %.0f ms: %s; next try in "
			  "%.0f s",
			  v->name, m->slot[k].vf, ms, err, v->backoff_s);
		v->backoff_s = fmin(v->backoff_s * 2, VFM_RETRY_MAX_S);
	}
	vfm_record_save(m);
}

/* Drive v's operation in flight. */
static void vfm_drive(struct vfm *m, struct vfm_vm *v, double now)
{
	if (v->op == VFM_OP_NONE)
		return;
	if (m->dry_run) {
		vfm_finish(m, v, true, "", now);
		return;
	}
	if (v->libvirt) {
		if (!__atomic_load_n(&v->job.done, __ATOMIC_ACQUIRE))
			return;
		pthread_join(v->job.thread, NULL);
		v->job.running = false;
		vfm_finish(m, v, v->job.rc == 0, v->job.err, now);
		return;
	}
	enum vfplug_state st = vfplug_qmp_step(&v->qop, &v->conn, (uint64_t)(now * 1e6));
	if (st == VFPLUG_DONE || st == VFPLUG_FAILED)
		vfm_finish(m, v, st == VFPLUG_DONE, v->qop.err, now);
}

/* A VM the controller no longer runs: its VF is free (the VM took it along). */
static void vfm_vanished(struct vfm *m, struct vfm_vm *v)
{
	int vi = (int)(v - m->vm);

	if (v->op != VFM_OP_NONE) {
		if (v->libvirt && v->job.running) {
			pthread_join(v->job.thread, NULL); /* bounded by libvirt's own timeouts */
			v->job.running = false;
		}
		qmpconn_close(&v->conn);
		if (v->want_slot >= 0) {
			m->slot[v->want_slot].holder = -1;
			log_info("vf: workload %s vanished during its %s: VF %d is free again",
				 v->name, v->op == VFM_OP_PLUG ? "plug" : "unplug",
				 m->slot[v->want_slot].vf);
		}
		v->op = VFM_OP_NONE;
		v->want_slot = -1;
	}
	if (v->slot >= 0) {
		log_info("vf: workload %s vanished: VF %d is free again", v->name,
			 m->slot[v->slot].vf);
		m->slot[v->slot].holder = -1;
		v->slot = -1;
	}
	qmpconn_close(&v->conn);
	vf_sched_revoke(&m->sched, vi);
	v->retry_s = 0;
	v->backoff_s = VFM_RETRY_MIN_S;
	vfm_record_save(m);
}

/* ---- Rates ----------------------------------------------------------------------------------- */

/* The VM's packet count now, and its source: the guest agent's NICs (the
 * ones that are no one's slave: a failover master or bond counts both
 * paths once), else the host tap (plus a stand-in's tap, or the held VF's
 * counters from its PF). */
static bool vfm_count(struct vfm *m, struct vfm_vm *v, const struct vsd_config *cfg,
		      struct agentlinks *agents, uint64_t *count)
{
	const struct vs_wl_spec *w = &cfg->wl[v->cfg_index];
	struct agentlink *l = agents ? agentlinks_find(agents, v->name) : NULL;
	uint64_t rx, tx, sum = 0;
	int fd = v->tap_fd >= 0 ? v->tap_fd : m->root.sys_fd;
	bool any = false;

	if (l && l->stats) {
		const json_t *nic;
		size_t i;
		json_array_foreach(json_object_get(l->stats, "nics"), i, nic)
		{
			const char *name = json_string_value(json_object_get(nic, "name"));
			if (!name || json_object_get(nic, "master"))
				continue;
			if (vfrate_agent_packets(l->stats, name, &rx, &tx) == 0) {
				sum += rx + tx;
				any = true;
			}
		}
		if (any) {
			str_copy(v->rate_source, "agent", sizeof(v->rate_source));
			*count = sum;
			return true;
		}
	}
	if (w->tap[0] && vfrate_netdev_packets(fd, w->tap, &rx, &tx) == 0) {
		sum += rx + tx;
		any = true;
		str_copy(v->rate_source, "tap", sizeof(v->rate_source));
	}
	if (v->c->tap[0] && vfrate_netdev_packets(fd, v->c->tap, &rx, &tx) == 0) {
		sum += rx + tx;
		any = true;
		str_copy(v->rate_source, "tap+vf", sizeof(v->rate_source));
	} else if (v->slot >= 0 && m->cfg->pf[0]) {
		struct vfnl_vf nl[VFNL_MAX];
		char err[256];
		int n = vfnl_query(&m->root, m->nlfd, m->cfg->pf, nl, VFNL_MAX, err, sizeof(err));
		for (int j = 0; j < n; j++)
			if (nl[j].vf == m->slot[v->slot].vf && nl[j].has_stats) {
				sum += nl[j].rx_packets + nl[j].tx_packets;
				any = true;
				str_copy(v->rate_source, "tap+vf", sizeof(v->rate_source));
			}
	}
	if (!any)
		str_copy(v->rate_source, "none", sizeof(v->rate_source));
	*count = sum;
	return any;
}

/* ---- Deciding ------------------------------------------------------------------------------- */

static int vfm_free_slot(const struct vfm *m)
{
	for (int k = 0; k < m->n_slot; k++)
		if (m->slot[k].usable && m->slot[k].holder < 0)
			return k;
	return -1;
}

/* Start what the grants ask for and nothing is doing: unplugs, then plugs
 * into free VFs (a plug waits for a VF still being unplugged). */
static void vfm_act(struct vfm *m, double now)
{
	int want = 0, unmet = 0;

	for (int i = 0; i < m->n_vm; i++) {
		struct vfm_vm *v = &m->vm[i];
		bool grant = m->sched.vm[i].v.grant;
		if (v->op != VFM_OP_NONE || !v->present || grant || v->slot < 0)
			continue;
		if (v->retry_s > now)
			continue;
		if (vfm_start(m, v, v->slot, true, now) < 0)
			vfm_finish(m, v, false, v->last_error, now);
	}
	for (int i = 0; i < m->n_vm; i++) {
		struct vfm_vm *v = &m->vm[i];
		bool grant = m->sched.vm[i].v.grant;
		int k;
		if (!grant || !v->present || v->slot >= 0 || v->op != VFM_OP_NONE)
			continue;
		want++;
		if (v->retry_s > now)
			continue;
		k = vfm_free_slot(m);
		if (k < 0) {
			unmet++;
			continue;
		}
		if (vfm_start(m, v, k, false, now) < 0)
			vfm_finish(m, v, false, v->last_error, now);
	}
	if (unmet && !m->exhausted_logged)
		log_info("vf: pool exhausted: %d VM%s granted a VF wait%s for one (%d usable, all "
			 "held or being released)",
			 unmet, unmet == 1 ? "" : "s", unmet == 1 ? "s" : "", vfm_usable(m));
	m->exhausted_logged = unmet > 0;
	m->wanted_unmet = unmet;
	(void)want;
}

static void vfm_decide(struct vfm *m, double now, const struct vsd_config *cfg,
		       struct agentlinks *agents)
{
	char err[256];

	vf_sched_begin(&m->sched);
	for (int i = 0; i < m->n_vm; i++) {
		struct vfm_vm *v = &m->vm[i];
		uint64_t count;
		double pps = 0;
		if (vfm_count(m, v, cfg, agents, &count)) {
			double r = vfrate_feed(&v->ctr, count, (uint64_t)(now * 1e9));
			pps = r >= 0 ? r : v->pps;
		}
		v->pps = pps;
		/* below min_pps a VM wants no VF; one that holds one keeps it for its
		 * minimum hold all the same (no flapping on a dip) */
		bool quiet =
			!v->pinned && m->cfg->min_pps > 0 && pps < m->cfg->min_pps &&
			!(m->sched.vm[i].st.holds && m->sched.vm[i].st.held_for < m->cfg->min_hold);
		m->sched.vm[i].pinned = v->pinned;
		m->sched.vm[i].excluded = v->excluded || quiet;
		if (v->present && vf_sched_report(&m->sched, v->name, pps, err, sizeof(err)) < 0)
			log_warnx("vf: workload %s: %s", v->name, err);
	}
	m->sched.params.n_vfs = vfm_usable(m);
	vf_sched_decide(&m->sched);
	m->decisions++;
	for (int i = 0; i < m->n_vm; i++) {
		struct vfm_vm *v = &m->vm[i];
		str_copy(v->why, m->sched.vm[i].why, sizeof(v->why));
		if (m->sched.vm[i].excluded && !v->excluded && v->present)
			snprintf(v->why, sizeof(v->why), "no VF: %.0f pkt/s, below min_pps %g",
				 v->pps, m->cfg->min_pps);
	}
	m->next_decision_s = now + m->cfg->interval_s;
	vfm_act(m, now);
}

void vfm_tick(struct vfm *m, double now, bool period, const struct vs_controller *ctl,
	      struct agentlinks *agents)
{
	const struct vsd_config *cfg = m->dcfg;

	for (int i = 0; i < m->n_vm; i++)
		vfm_drive(m, &m->vm[i], now);
	if (!period)
		return;
	for (int i = 0; i < m->n_vm; i++) {
		struct vfm_vm *v = &m->vm[i];
		bool present = ctl && controller_find_workload(ctl, v->name) >= 0;
		if (v->present && !present)
			vfm_vanished(m, v);
		v->present = present;
	}
	if (m->next_decision_s == 0) {
		/* the first counter readings: the first decision, one interval on, has rates */
		for (int i = 0; i < m->n_vm; i++) {
			uint64_t count;
			if (vfm_count(m, &m->vm[i], cfg, agents, &count))
				vfrate_feed(&m->vm[i].ctr, count, (uint64_t)(now * 1e9));
		}
		/* VFs recorded by the last run stay where they are until then */
		m->next_decision_s = now + m->cfg->interval_s;
	} else if (now >= m->next_decision_s) {
		vfm_decide(m, now, cfg, agents);
	} else if (m->decisions > 0) {
		vfm_act(m, now); /* retries due, VFs freed for waiting plugs */
	}
}

int vfm_timeout_ms(const struct vfm *m)
{
	for (int i = 0; i < m->n_vm; i++)
		if (m->vm[i].op != VFM_OP_NONE)
			return 20;
	return -1;
}

/* At exit: drive v's op until it ends or the clock passes end. */
static double vfm_finish_op(struct vfm *m, struct vfm_vm *v, double now, double end)
{
	while (v->op != VFM_OP_NONE && now < end) {
		struct timespec ts = { 0, 10 * 1000000L };
		vfm_drive(m, v, now);
		nanosleep(&ts, NULL);
		now = (double)qmpconn_now_us() / 1e6;
	}
	return now;
}

void vfm_close(struct vfm *m)
{
	if (m->cfg && m->cfg->on_exit_unplug && !m->dry_run) {
		double now = (double)qmpconn_now_us() / 1e6;
		double end = now + m->cfg->plug_timeout_ms / 1000.0 + 1;
		/* finish what is in flight, then take every VF out */
		for (int i = 0; i < m->n_vm; i++) {
			struct vfm_vm *v = &m->vm[i];
			now = vfm_finish_op(m, v, now, end);
			if (v->slot >= 0 && v->op == VFM_OP_NONE &&
			    vfm_start(m, v, v->slot, true, now) < 0)
				vfm_finish(m, v, false, v->last_error, now);
		}
		for (int i = 0; i < m->n_vm; i++)
			now = vfm_finish_op(m, &m->vm[i], now, end);
	} else if (m->cfg && m->n_vm) {
		int held = 0;
		for (int i = 0; i < m->n_vm; i++)
			held += m->vm[i].slot >= 0;
		if (held)
			log_info("vf: leaving %d VF%s where %s (vf_on_exit=leave; recorded in %s)",
				 held, held == 1 ? "" : "s", held == 1 ? "it is" : "they are",
				 m->record_path);
	}
	for (int i = 0; i < m->n_vm; i++) {
		struct vfm_vm *v = &m->vm[i];
		if (v->job.running)
			pthread_join(v->job.thread, NULL);
		qmpconn_free(&v->conn);
		if (v->tap_fd >= 0)
			close(v->tap_fd);
	}
	if (m->nlfd >= 0)
		close(m->nlfd);
	vf_sched_free(&m->sched);
	free(m->vm);
	m->vm = NULL;
	m->n_vm = 0;
	if (m->have_root)
		sysroot_close(&m->root);
	m->have_root = false;
}

/* ---- Requests, status, explain, metrics ----------------------------------------------------- */

static int vfm_find(const struct vfm *m, const char *name)
{
	for (int i = 0; name && i < m->n_vm; i++)
		if (!strcmp(m->vm[i].name, name))
			return i;
	return -1;
}

json_t *vfm_request(struct vfm *m, json_t *req, double now, char *err, size_t errlen)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	const char *name = json_string_value(json_object_get(req, "workload"));
	int i;

	if (!op || !strcmp(op, "status"))
		return vfm_status(m, now);
	if (!strcmp(op, "decide")) {
		m->next_decision_s = now; /* at the next period */
		log_info("vf: decision now, by request");
		return json_pack("{s:s}", "decide", "at the next period");
	}
	if (strcmp(op, "grant") && strcmp(op, "auto") && strcmp(op, "deny")) {
		snprintf(err, errlen,
			 "vf: unknown \"op\": \"%s\" (status, grant, auto, deny, decide)", op);
		return NULL;
	}
	if (!name) {
		snprintf(err, errlen, "vf %s: missing \"workload\" (a string)", op);
		return NULL;
	}
	i = vfm_find(m, name);
	if (i < 0) {
		snprintf(err, errlen, "vf %s: \"%s\" is not a workload with vf=on", op, name);
		return NULL;
	}
	m->vm[i].pinned = !strcmp(op, "grant");
	m->vm[i].excluded = !strcmp(op, "deny");
	m->next_decision_s = now;
	log_info("vf: workload %s: %s by request", name,
		 m->vm[i].pinned     ? "a VF forced (held whatever its rank)"
		 : m->vm[i].excluded ? "no VF (denied)"
				     : "back to the strategy");
	return json_pack("{s:s,s:b,s:b}", "workload", name, "pinned", m->vm[i].pinned, "denied",
			 m->vm[i].excluded);
}

json_t *vfm_status(const struct vfm *m, double now)
{
	json_t *vfs = json_array(), *vms = json_array();
	int held = 0;

	for (int k = 0; k < m->n_slot; k++) {
		const struct vfm_slot *s = &m->slot[k];
		json_t *o = json_pack("{s:i,s:s,s:s,s:b,s:s}", "vf", s->vf, "pci", s->pci, "mac",
				      s->mac, "usable", s->usable, "note", s->note);
		json_object_set_new(o, "holder",
				    s->holder >= 0 ? json_string(m->vm[s->holder].name)
						   : json_null());
		json_array_append_new(vfs, o);
	}
	for (int i = 0; i < m->n_vm; i++) {
		const struct vfm_vm *v = &m->vm[i];
		json_t *o = json_pack("{s:s,s:b,s:f,s:s,s:b,s:b,s:b,s:s}", "workload", v->name,
				      "present", v->present, "pps", v->pps, "rate_source",
				      v->rate_source[0] ? v->rate_source : "none", "holds",
				      v->slot >= 0, "pinned", v->pinned, "denied", v->excluded,
				      "why", v->why);
		held += v->slot >= 0;
		json_object_set_new(o, "vf",
				    v->slot >= 0 ? json_integer(m->slot[v->slot].vf) : json_null());
		json_object_set_new(o, "op",
				    v->op == VFM_OP_PLUG     ? json_string("plug")
				    : v->op == VFM_OP_UNPLUG ? json_string("unplug")
							     : json_null());
		json_object_set_new(o, "backend", json_string(v->libvirt ? "libvirt" : "qmp"));
		json_object_set_new(o, "plugs", json_integer((json_int_t)v->plugs));
		json_object_set_new(o, "unplugs", json_integer((json_int_t)v->unplugs));
		json_object_set_new(o, "failures", json_integer((json_int_t)v->failures));
		json_object_set_new(o, "plug_ms", v->plugs ? json_real(v->plug_ms) : json_null());
		json_object_set_new(o, "unplug_ms",
				    v->unplugs ? json_real(v->unplug_ms) : json_null());
		if (v->last_error[0])
			json_object_set_new(o, "last_error", json_string(v->last_error));
		if (v->retry_s > now)
			json_object_set_new(o, "retry_in_s", json_real(v->retry_s - now));
		json_array_append_new(vms, o);
	}
	json_t *r = json_pack("{s:s,s:f,s:f,s:f,s:i,s:f,s:I,s:o,s:o}", "strategy",
			      m->cfg->strategy->name, "interval_s", m->cfg->interval_s,
			      "hysteresis", m->cfg->hysteresis, "min_pps", m->cfg->min_pps,
			      "min_hold", m->cfg->min_hold, "next_decision_in_s",
			      m->next_decision_s > now ? m->next_decision_s - now : 0.0,
			      "decisions", (json_int_t)m->decisions, "vfs", vfs, "vms", vms);
	json_t *pool = json_pack("{s:s,s:i,s:i,s:i,s:i}", "source",
				 m->cfg->standin[0] ? "stand-in" : "pf", "size", m->n_slot,
				 "usable", vfm_usable(m), "held", held, "waiting", m->wanted_unmet);
	json_object_set_new(pool, "name",
			    json_string(m->cfg->standin[0] ? m->cfg->standin : m->cfg->pf));
	if (m->pool_error[0])
		json_object_set_new(pool, "error", json_string(m->pool_error));
	json_object_set_new(r, "pool", pool);
	return r;
}

void vfm_explain(const struct vfm *m, char *buf, size_t len, size_t *n)
{
	int held = 0;

	for (int i = 0; i < m->n_vm; i++)
		held += m->vm[i].slot >= 0;
	str_appendf(buf, len, n,
		    "vf: strategy %s, every %g s (%ld decisions); %d of %d usable VF%s held (%s "
		    "%s)%s%s\n",
		    m->cfg->strategy->name, m->cfg->interval_s, m->decisions, held, vfm_usable(m),
		    vfm_usable(m) == 1 ? "" : "s", m->cfg->standin[0] ? "stand-in" : "PF",
		    m->cfg->standin[0] ? m->cfg->standin : m->cfg->pf,
		    m->pool_error[0] ? "; pool: " : "", m->pool_error);
	for (int i = 0; i < m->n_vm; i++) {
		const struct vfm_vm *v = &m->vm[i];
		char holds[48] = "no VF";
		if (v->slot >= 0)
			snprintf(holds, sizeof(holds), "holds VF %d", m->slot[v->slot].vf);
		str_appendf(buf, len, n, "  %s: %s, %.0f pkt/s (%s)%s%s: %s%s%s\n", v->name, holds,
			    v->pps, v->rate_source[0] ? v->rate_source : "none",
			    v->op == VFM_OP_PLUG     ? ", plugging"
			    : v->op == VFM_OP_UNPLUG ? ", unplugging"
						     : "",
			    v->pinned	  ? ", forced"
			    : v->excluded ? ", denied"
					  : "",
			    v->why[0] ? v->why : "not decided yet",
			    v->last_error[0] ? "; last error: " : "", v->last_error);
	}
}

void vfm_metrics(const struct vfm *m, struct metrics_buf *b)
{
	int held = 0;

	for (int i = 0; i < m->n_vm; i++)
		held += m->vm[i].slot >= 0;
	metrics_printf(b,
		       "# HELP vspace_vf_pool VFs of the pool: all, usable, held.\n"
		       "# TYPE vspace_vf_pool gauge\n"
		       "vspace_vf_pool{state=\"all\"} %d\nvspace_vf_pool{state=\"usable\"} %d\n"
		       "vspace_vf_pool{state=\"held\"} %d\n",
		       m->n_slot, vfm_usable(m), held);
	metrics_printf(b,
		       "# HELP vspace_vf_decisions_total Decisions of the VF strategy.\n"
		       "# TYPE vspace_vf_decisions_total counter\nvspace_vf_decisions_total %ld\n",
		       m->decisions);
	if (!m->n_vm)
		return;
	metrics_printf(b, "# HELP vspace_vf_holds 1 while the VM holds a VF.\n"
			  "# TYPE vspace_vf_holds gauge\n");
	for (int i = 0; i < m->n_vm; i++)
		metrics_printf(b, "vspace_vf_holds{workload=\"%s\"} %d\n", m->vm[i].name,
			       m->vm[i].slot >= 0);
	metrics_printf(b,
		       "# HELP vspace_vf_packet_rate Packets per second of the VM over the last "
		       "interval (what the strategy ranks).\n# TYPE vspace_vf_packet_rate gauge\n");
	for (int i = 0; i < m->n_vm; i++)
		metrics_printf(b, "vspace_vf_packet_rate{workload=\"%s\"} %.1f\n", m->vm[i].name,
			       m->vm[i].pps);
	metrics_printf(b, "# HELP vspace_vf_operations_total Hot-plug operations by kind and "
			  "outcome.\n# TYPE vspace_vf_operations_total counter\n");
	for (int i = 0; i < m->n_vm; i++) {
		const struct vfm_vm *v = &m->vm[i];
		metrics_printf(
			b,
			"vspace_vf_operations_total{workload=\"%s\",op=\"plug\",result=\"ok\"} "
			"%llu\n"
			"vspace_vf_operations_total{workload=\"%s\",op=\"unplug\",result="
			"\"ok\"} %llu\n"
			"vspace_vf_operations_total{workload=\"%s\",op=\"any\",result="
			"\"failed\"} %llu\n",
			v->name, (unsigned long long)v->plugs, v->name,
			(unsigned long long)v->unplugs, v->name, (unsigned long long)v->failures);
	}
	metrics_printf(b, "# HELP vspace_vf_last_op_seconds The last plug (request to QEMU's or "
			  "libvirt's acceptance) and unplug (request to the device gone).\n"
			  "# TYPE vspace_vf_last_op_seconds gauge\n");
	for (int i = 0; i < m->n_vm; i++) {
		const struct vfm_vm *v = &m->vm[i];
		if (v->plugs)
			metrics_printf(
				b, "vspace_vf_last_op_seconds{workload=\"%s\",op=\"plug\"} %.3f\n",
				v->name, v->plug_ms / 1000);
		if (v->unplugs)
			metrics_printf(
				b,
				"vspace_vf_last_op_seconds{workload=\"%s\",op=\"unplug\"} %.3f\n",
				v->name, v->unplug_ms / 1000);
	}
}
