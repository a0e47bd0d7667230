/* virtwl.c - libvirt workloads: the domains' events turned into discovery (started, stopped, changed), libvirt= patterns into workloads, a domain's QEMU pid. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/linux_int.h"
#include "platform/linux/qmp.h"

/* Most running domains one listing looks at. */
#define VIRTWL_LIST_MAX 512

static bool virtwl_match(const struct vs_wl_spec *s, const char *dom)
{
	return s->domain_pattern ? fnmatch(s->domain, dom, 0) == 0 : strcmp(s->domain, dom) == 0;
}

/* The workload following domain dom (configured or an instance), or NULL. */
static struct lx_wl *virtwl_find(struct vs_linux *lx, const char *dom)
{
	for (int i = 0; i < lx->n_wl; i++)
		if (lx->wl[i].spec.source == VS_SRC_LIBVIRT && !strcmp(lx->wl[i].spec.domain, dom))
			return &lx->wl[i];
	return NULL;
}

/* A domain name that is also a usable workload name (metrics labels, logs,
 * cgroup paths should placement fall back): 1-63 of A-Z a-z 0-9 - _ . */
static bool virtwl_name_ok(const char *dom)
{
	size_t n = strlen(dom);

	if (n == 0 || n >= VS_WORKLOAD_NAME_MAX || !strcmp(dom, ".") || !strcmp(dom, ".."))
		return false;
	for (const char *p = dom; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

/* A matching domain that cannot be managed: said once. */
static void virtwl_skip(struct vs_linux *lx, const char *dom, const char *tmpl, const char *why)
{
	for (int i = 0; i < lx->n_virt_skipped && i < 8; i++)
		if (!strcmp(lx->virt_skipped[i], dom))
			return;
	str_copy(lx->virt_skipped[lx->n_virt_skipped % 8], dom, VIRT_NAME_MAX);
	lx->n_virt_skipped++;
	log_warnx("libvirt domain %s matches [workload \"%s\"] but is not managed: %s", dom, tmpl,
		  why);
}

/* The workload for a running domain: the configured one, an instance made
 * earlier, or a new instance of the first pattern it matches; NULL when no
 * workload wants it. */
static struct lx_wl *virtwl_for(struct vs_linux *lx, const char *dom)
{
	struct lx_wl *w = virtwl_find(lx, dom);
	struct vs_wl_spec spec;
	char err[256];
	int t, k;

	if (w)
		return w;
	for (t = 0; t < lx->n_tmpl; t++)
		if (virtwl_match(&lx->tmpl[t], dom))
			break;
	if (t == lx->n_tmpl)
		return NULL;
	if (!virtwl_name_ok(dom)) {
		virtwl_skip(lx, dom, lx->tmpl[t].name,
			    "its name is not a usable workload name (1-63 of A-Z a-z 0-9 - _ .)");
		return NULL;
	}
	if (linux_find(lx, dom)) {
		virtwl_skip(lx, dom, lx->tmpl[t].name, "another workload has that name");
		return NULL;
	}
	spec = lx->tmpl[t];
	str_copy(spec.name, dom, sizeof(spec.name));
	str_copy(spec.domain, dom, sizeof(spec.domain));
	spec.domain_pattern = false;
	k = linux_wl_add(lx, &spec, err, sizeof(err));
	if (k < 0) {
		virtwl_skip(lx, dom, lx->tmpl[t].name, err);
		return NULL;
	}
	lx->wl[k].tmpl = t;
	log_info("workload %s: libvirt domain %s matches libvirt=%s of [workload \"%s\"] (%s)", dom,
		 dom, lx->tmpl[t].domain, lx->tmpl[t].name, lx->tmpl[t].lc ? "lc" : "be");
	return &lx->wl[k];
}

/* The domain no longer runs: absent now (the refresh reports it vanished),
 * and not looked for until libvirt says it runs again. */
static void virtwl_gone(struct vs_linux *lx, struct lx_wl *w, const char *why)
{
	if (w->present) {
		discover_set_absent(lx, w, why);
		lx->cnt.vanished++;
		refresh_forget(w);
	} else {
		str_copy(w->absent, why, sizeof(w->absent));
	}
	w->virt_stopped = true;
	w->virt_due = false;
}

static const char *virtwl_stop_why(int detail)
{
	switch (detail) {
	case 0: /* VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN */
		return "shut down";
	case 1: /* _DESTROYED */
		return "destroyed";
	case 2: /* _CRASHED */
		return "crashed";
	case 3: /* _MIGRATED */
		return "migrated away";
	case 4: /* _SAVED */
		return "saved";
	case 5: /* _FAILED */
		return "failed";
	case 6: /* _FROM_SNAPSHOT */
		return "reverted to a snapshot";
	default:
		return "stopped";
	}
}

/* List the running domains: instances for new matches, every libvirt
 * workload rediscovered, the ones not running marked absent. */
static void virtwl_resync(struct vs_linux *lx, double now_s)
{
	char(*names)[VIRT_NAME_MAX] = calloc(VIRTWL_LIST_MAX, VIRT_NAME_MAX);
	int n;

	if (!names)
		return;
	n = virt_list_running(lx->virt, names, VIRTWL_LIST_MAX);
	lx->virt_listed_s = now_s;
	if (n < 0) {
		free(names);
		return; /* not connected: the next (re)connect resyncs */
	}
	for (int i = 0; i < n; i++) {
		struct lx_wl *w = virtwl_for(lx, names[i]);
		if (w) {
			w->virt_stopped = false;
			w->virt_due = true;
		}
	}
	for (int i = 0; i < lx->n_wl; i++) {
		struct lx_wl *w = &lx->wl[i];
		bool running = false;
		char why[160];
		if (w->spec.source != VS_SRC_LIBVIRT)
			continue;
		for (int j = 0; j < n && !running; j++)
			running = !strcmp(names[j], w->spec.domain);
		if (running)
			continue;
		snprintf(why, sizeof(why), "libvirt domain %.120s is not running", w->spec.domain);
		virtwl_gone(lx, w, why);
	}
	free(names);
}

static void virtwl_event(struct vs_linux *lx, const struct virt_event *e, double now_s)
{
	struct lx_wl *w;
	char why[192];

	lx->virt_events++;
	switch (e->kind) {
	case VIRT_EV_RESYNC:
		virtwl_resync(lx, now_s);
		break;
	case VIRT_EV_STARTED:
	case VIRT_EV_RESUMED:
		w = virtwl_for(lx, e->domain);
		if (w) {
			w->virt_stopped = false;
			w->virt_due = true;
		}
		break;
	case VIRT_EV_STOPPED:
	case VIRT_EV_UNDEFINED:
		w = virtwl_find(lx, e->domain);
		if (!w)
			break;
		snprintf(why, sizeof(why), "libvirt: domain %.120s %s", e->domain,
			 e->kind == VIRT_EV_UNDEFINED ? "undefined" : virtwl_stop_why(e->detail));
		virtwl_gone(lx, w, why);
		break;
	case VIRT_EV_CHANGED:
		w = virtwl_find(lx, e->domain);
		if (w && w->present) {
			w->virt_recount = true;
			w->virt_due = true;
		}
		break;
	case VIRT_EV_DEFINED:
	case VIRT_EV_SUSPENDED:
		break;
	}
}

void virtwl_refresh(struct vs_linux *lx, double now_s)
{
	struct virt_event ev[32];
	int n;

	if (!lx->virt)
		return;
	if (lx->virt_watch) {
		virt_tick(lx->virt);
		while ((n = virt_take_events(lx->virt, ev, 32)) > 0)
			for (int i = 0; i < n; i++)
				virtwl_event(lx, &ev[i], now_s);
	} else if (lx->n_tmpl > 0 &&
		   (lx->virt_listed_s == 0 || now_s - lx->virt_listed_s >= LX_RESCAN_S)) {
		virtwl_resync(lx, now_s); /* no events: the patterns' domains by listing */
	}
}

bool linuxplat_virt_pending(const struct vs_linux *lx)
{
	return lx->virt && lx->virt_watch && virt_pending(lx->virt);
}

bool linuxplat_virt_info(const struct vs_linux *lx, struct virt_conn_info *out)
{
	if (!lx->virt)
		return false;
	virt_conn_info(lx->virt, out);
	return true;
}

/* ---- The QEMU process of a running domain ------------------------------------------------------ */

/* Tgid of thread tid (its /proc status), 0 when unknown. */
static int virtwl_tgid(struct vs_linux *lx, int tid)
{
	char path[32], buf[2048], *p;
	long v;

	snprintf(path, sizeof(path), "%d/status", tid);
	if (sysroot_read(lx->root.proc_fd, path, buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "\nTgid:");
	if (!p)
		return 0;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	p[strcspn(p, "\n")] = '\0';
	return str_to_long(p, 1, INT32_MAX, &v) == 0 ? (int)v : 0;
}

/* Its vCPU threads through QEMU's monitor (virDomainQemuMonitorCommand:
 * query-cpus-fast), their process from /proc. The thread must be a vCPU
 * thread of this host ("CPU n/KVM|TCG"): a remote libvirt's ids mean nothing
 * here. */
static int virtwl_pid_qmp(struct vs_linux *lx, struct lx_wl *w, char *why, size_t whylen)
{
	char *reply = NULL, err[256], comm[64], path[64];
	json_t *root;
	json_error_t je;
	int tids[1024], n, rc, pid;

	rc = virt_qemu_monitor(lx->virt, w->spec.domain, "{\"execute\":\"query-cpus-fast\"}",
			       &reply);
	if (rc < 0) {
		snprintf(why, whylen, "QMP through libvirt: %.120s", virt_last_error(lx->virt));
		return 0;
	}
	root = json_loads(reply, 0, &je);
	free(reply);
	if (!root) {
		snprintf(why, whylen, "QMP through libvirt: unreadable answer (%.80s)", je.text);
		return 0;
	}
	memset(tids, 0, sizeof(tids));
	n = qmp_parse_cpus_json(root, tids, 1024, err, sizeof(err));
	json_decref(root);
	if (n <= 0 || tids[0] <= 0) {
		snprintf(why, whylen, "QMP through libvirt: %.120s",
			 n < 0 ? err : "query-cpus-fast named no vCPU thread");
		return 0;
	}
	pid = virtwl_tgid(lx, tids[0]);
	snprintf(path, sizeof(path), "%d/task/%d/comm", pid, tids[0]);
	if (pid <= 0 || sysroot_read(lx->root.proc_fd, path, comm, sizeof(comm)) < 0 ||
	    strncmp(comm, "CPU ", 4) != 0) {
		snprintf(why, whylen,
			 "QMP through libvirt: vCPU thread %d is not a QEMU thread on this host",
			 tids[0]);
		return 0;
	}
	return pid;
}

int virtwl_pid(struct vs_linux *lx, struct lx_wl *w, char *why, size_t whylen)
{
	char note[160];
	int pid;

	/* a pid found over QMP holds while its process lives */
	if (w->virt_qmp && w->pid > 0) {
		struct vs_taskstat ts;
		if (task_read_stat(lx->root.proc_fd, w->pid, w->pid, NULL, 0, &ts) == 0 &&
		    ts.state != 'Z' && ts.start_ticks == w->pid_start)
			return w->pid;
	}
	pid = virtwl_pid_qmp(lx, w, note, sizeof(note));
	if (pid > 0) {
		if (!w->virt_qmp)
			log_info("workload %s: QEMU pid %d from query-cpus-fast through libvirt's "
				 "monitor passthrough (virDomainQemuMonitorCommand, which libvirt "
				 "calls unsupported: it marks the domain tainted, custom-monitor)",
				 w->spec.name, pid);
		w->virt_qmp = true;
		snprintf(w->pid_via, sizeof(w->pid_via),
			 "QMP query-cpus-fast through libvirt (virDomainQemuMonitorCommand)");
		return pid;
	}
	if (strcmp(w->pid_via, note) != 0)
		log_info("workload %s: no QEMU pid (%s): pinned through libvirt only, not "
			 "measured",
			 w->spec.name, note);
	w->virt_qmp = false;
	str_copy(w->pid_via, note, sizeof(w->pid_via));
	if (whylen > 0)
		why[0] = '\0'; /* running: pinned through libvirt without a pid */
	return 0;
}

/* ---- Status ------------------------------------------------------------------------------------ */

json_t *virtwl_status(const struct vs_linux *lx)
{
	struct virt_conn_info ci;
	json_t *o, *pats;
	double now = linux_now(lx);

	if (!lx->virt)
		return json_null();
	virt_conn_info(lx->virt, &ci);
	o = json_pack("{s:s,s:b,s:b,s:I,s:I,s:I,s:I}", "uri", virt_uri(lx->virt), "connected",
		      ci.connected, "events", ci.watching, "connects", (json_int_t)ci.connects,
		      "losses", (json_int_t)ci.losses, "events_received", (json_int_t)ci.events,
		      "events_handled", (json_int_t)lx->virt_events);
	json_object_set_new(o, "keepalive",
			    json_string(ci.keepalive > 0    ? "on"
					: ci.keepalive == 0 ? "not supported by the driver"
							    : "failed"));
	json_object_set_new(o, "last_loss",
			    ci.last_loss[0] ? json_string(ci.last_loss) : json_null());
	if (!ci.connected && ci.watching) {
		json_object_set_new(o, "down_s",
				    json_real(ci.down_since_s > 0 ? now - ci.down_since_s : 0));
		json_object_set_new(o, "retry_in_s",
				    json_real(ci.next_try_s > now ? ci.next_try_s - now : 0));
		json_object_set_new(o, "last_error", json_string(virt_last_error(lx->virt)));
	}
	pats = json_array();
	for (int t = 0; t < lx->n_tmpl; t++) {
		json_t *inst = json_array();
		for (int i = 0; i < lx->n_wl; i++)
			if (lx->wl[i].tmpl == t && lx->wl[i].present)
				json_array_append_new(inst, json_string(lx->wl[i].spec.name));
		json_array_append_new(pats,
				      json_pack("{s:s,s:s,s:s,s:o}", "workload", lx->tmpl[t].name,
						"libvirt", lx->tmpl[t].domain, "role",
						lx->tmpl[t].lc ? "lc" : "be", "running", inst));
	}
	json_object_set_new(o, "patterns", pats);
	return o;
}

size_t linuxplat_explain_libvirt(const struct vs_linux *lx, char *buf, size_t len)
{
	struct virt_conn_info ci;
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	if (!lx->virt)
		return 0;
	virt_conn_info(lx->virt, &ci);
	str_appendf(buf, len, &n, "libvirt %s: %s", virt_uri(lx->virt),
		    ci.connected ? "connected" : "not connected");
	if (ci.watching)
		str_appendf(buf, len, &n,
			    ", following its domain events (%llu; a VM is placed when libvirt "
			    "says it started, forgotten when it stopped), keepalive %s, %llu "
			    "connects, %llu lost%s%s",
			    ci.events,
			    ci.keepalive > 0	? "on"
			    : ci.keepalive == 0 ? "n/a"
						: "failed",
			    ci.connects, ci.losses, ci.last_loss[0] ? " (last: " : "",
			    ci.last_loss[0] ? ci.last_loss : "");
	else
		str_appendf(buf, len, &n, ", no events: libvirt workloads are polled");
	str_appendf(buf, len, &n, "%s\n", ci.watching && ci.last_loss[0] ? ")" : "");
	for (int i = 0; i < lx->n_wl; i++) {
		const struct lx_wl *w = &lx->wl[i];
		if (w->spec.source != VS_SRC_LIBVIRT)
			continue;
		str_appendf(buf, len, &n, "  %s: domain %s%s%s%s, ", w->spec.name, w->spec.domain,
			    w->tmpl >= 0 ? " (matches libvirt=" : "",
			    w->tmpl >= 0 ? lx->tmpl[w->tmpl].domain : "", w->tmpl >= 0 ? ")" : "");
		if (!w->present) {
			str_appendf(buf, len, &n, "absent: %s\n", w->absent);
			continue;
		}
		str_appendf(buf, len, &n, "%s",
			    w->place == VS_PLACE_LIBVIRT ? "pinned through libvirt (vCPUs: "
							   "virDomainPinVcpuFlags; emulator, "
							   "IOThreads: PinEmulator, PinIOThread)"
							 : "placed by ");
		if (w->place != VS_PLACE_LIBVIRT)
			str_appendf(buf, len, &n, "%s", vs_placement_name(w->place));
		if (w->pid > 0)
			str_appendf(buf, len, &n, "; QEMU pid %d from %s\n", w->pid, w->pid_via);
		else
			str_appendf(buf, len, &n, "; no QEMU pid (%s): not measured\n",
				    w->pid_via[0] ? w->pid_via : "none found");
	}
	for (int t = 0; t < lx->n_tmpl; t++) {
		int k = 0;
		str_appendf(buf, len, &n,
			    "  libvirt=%s ([workload \"%s\"], %s): ", lx->tmpl[t].domain,
			    lx->tmpl[t].name, lx->tmpl[t].lc ? "lc" : "be");
		for (int i = 0; i < lx->n_wl; i++)
			if (lx->wl[i].tmpl == t && lx->wl[i].present)
				str_appendf(buf, len, &n, "%s%s",
					    k++ ? " " : "running: ", lx->wl[i].spec.name);
		str_appendf(buf, len, &n, "%s\n", k ? "" : "no running domain matches");
	}
	return n;
}
