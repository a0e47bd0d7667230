/* check.c - what `vspaced -n` checks of the host without changing it: cores online and not isolated, NICs in their namespaces, pidfile directories, the cgroup hierarchies placement needs, libvirt. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "platform/linux/linux_int.h"
#include "platform/linux/netns.h"

struct check_ctx {
	struct vs_linux_problem *out;
	int max, n;
};

static void check_add(struct check_ctx *c, int wl, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void check_add(struct check_ctx *c, int wl, const char *key, const char *fmt, ...)
{
	struct vs_linux_problem *p;
	va_list ap;

	if (c->n >= c->max) {
		c->n++;
		return;
	}
	p = &c->out[c->n++];
	p->wl = wl;
	str_copy(p->key, key, sizeof(p->key));
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
}

/* The cores: online, and not taken from the scheduler's balancing. */
static void check_cores(struct check_ctx *c, struct vs_linux *lx)
{
	struct vs_cpuset online, isolated, bad;
	char buf[4096], a[256], b[256], err[160];

	if (sysfs_online_cpus(lx->root.sys_fd, &online, err, sizeof(err)) < 0) {
		check_add(c, -1, "cores", "cannot tell which cores are online: %s", err);
		return;
	}
	cpuset_andnot(&bad, &lx->cfg.managed, &online);
	if (!cpuset_empty(&bad)) {
		cpuset_format_list(&bad, a, sizeof(a));
		cpuset_format_list(&online, b, sizeof(b));
		check_add(c, -1, "cores", "cores %s are not online on this host (online: %s)", a,
			  b);
	}
	/* isolcpus= cores get no load balancing: a group of several would run
	 * its threads wherever they were first put */
	if (sysroot_read(lx->root.sys_fd, "devices/system/cpu/isolated", buf, sizeof(buf)) >= 0 &&
	    str_trim(buf)[0] &&
	    cpuset_parse_list(&isolated, str_trim(buf), err, sizeof(err)) == 0) {
		cpuset_and(&bad, &lx->cfg.managed, &isolated);
		if (!cpuset_empty(&bad)) {
			cpuset_format_list(&bad, a, sizeof(a));
			check_add(c, -1, "cores",
				  "cores %s are isolated (isolcpus=): the scheduler does not "
				  "balance threads over them; leave them out of cores= or boot "
				  "without isolating them",
				  a);
		}
	}
}

/* A NIC in its network namespace ("" = ours). */
static void check_nic(struct check_ctx *c, struct vs_linux *lx, int wl, const char *nic,
		      const char *netns)
{
	char nspath[128], err[256];
	int fd = lx->root.sys_fd;
	bool own = false;

	if (!nic[0])
		return;
	if (netns[0] && lx->root.live) {
		snprintf(nspath, sizeof(nspath), "/run/netns/%s", netns);
		if (access(nspath, F_OK) < 0) {
			check_add(c, wl, "nic_netns",
				  "network namespace %s does not exist (%s; `ip netns add %s` "
				  "makes one)",
				  netns, nspath, netns);
			return;
		}
		fd = netns_open_sysfs(nspath, err, sizeof(err));
		if (fd < 0) {
			check_add(c, wl, "nic_netns", "%s", err);
			return;
		}
		own = true;
	}
	if (!sysfs_net_exists(fd, nic))
		check_add(c, wl, "nic", "no network interface %s%s%s on this host", nic,
			  netns[0] ? " in network namespace " : "", netns);
	if (own)
		close(fd);
}

/* The directory a pidfile is written to exists (the file itself may appear
 * when the workload starts). */
static void check_pidfile(struct check_ctx *c, struct vs_linux *lx, int wl,
			  const struct vs_wl_spec *s)
{
	char dir[sizeof(s->path)];
	char *slash;
	const char *rel;

	if (s->source != VS_SRC_PIDFILE && s->source != VS_SRC_QEMU_PIDFILE)
		return;
	str_copy(dir, s->path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	for (rel = dir; *rel == '/'; rel++)
		;
	if (faccessat(lx->root.root_fd, rel, F_OK, 0) < 0)
		check_add(c, wl, s->source == VS_SRC_PIDFILE ? "pidfile" : "qemu_pidfile",
			  "directory %s does not exist: the pidfile %s can never appear", dir,
			  s->path);
}

int linuxplat_check(const struct vs_linux_config *cfg, struct vs_linux_problem *out, int max)
{
	struct check_ctx c = { .out = out, .max = max };
	struct vs_linux *lx = calloc(1, sizeof(*lx));
	char err[256];
	bool want_virt = false;
	int virt_wl = -1;

	if (!lx) {
		check_add(&c, -1, "cores", "out of memory");
		return c.n;
	}
	lx->cfg = *cfg;
	lx->root.root_fd = lx->root.proc_fd = lx->root.sys_fd = -1;
	if (sysroot_open(&lx->root, cfg->sysroot ? cfg->sysroot : "/", err, sizeof(err)) < 0) {
		check_add(&c, -1, "cores", "%s", err);
		free(lx);
		return c.n;
	}
	check_cores(&c, lx);
	discover_cgroupfs(lx);
	for (int i = 0; i < cfg->n_wl; i++)
		if (cfg->wl[i].source == VS_SRC_LIBVIRT && !want_virt) {
			want_virt = true;
			virt_wl = i;
		}
	if (want_virt && virt_open(&lx->virt, cfg->libvirt_uri, err, sizeof(err)) < 0) {
		lx->virt = NULL;
		check_add(&c, virt_wl, "libvirt", "%s", err);
	}
	check_nic(&c, lx, -1, cfg->nic, cfg->nic_netns);
	for (int i = 0; i < cfg->n_wl; i++) {
		struct lx_wl w = { .spec = cfg->wl[i] };
		check_nic(&c, lx, i, w.spec.nic, w.spec.nic_netns);
		check_pidfile(&c, lx, i, &w.spec);
		/* libvirt already said why it cannot be reached */
		if ((!want_virt || lx->virt || w.spec.source != VS_SRC_LIBVIRT) &&
		    open_placement(lx, &w, err, sizeof(err)) < 0)
			check_add(&c, -1, "placement", "workload %s: %s", w.spec.name, err);
	}
	for (int h = 0; h < LX_HIER_N; h++)
		if (lx->cg.fd[h] >= 0)
			close(lx->cg.fd[h]);
	virt_close(lx->virt);
	sysroot_close(&lx->root);
	free(lx);
	return c.n;
}
