/* linux.c - the Linux host platform's small API: names and parsers of its settings, the clock, accessors, p95 reports, guest actuators. */
#include "platform/linux/linux.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/strutil.h"
#include "platform/linux/linux_int.h"

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

int linux_qmp_wait_ms(const struct vs_linux *lx)
{
	return lx->cfg.qmp_wait_ms > 0 ? lx->cfg.qmp_wait_ms : LX_QMP_WAIT_MS;
}

/* ---- Accessors, reports, guest actuators ------------------------------------------------- */

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
	out->irq_mismatch = lx->act.irq_mismatch;
	out->records = lx->state.n;
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
