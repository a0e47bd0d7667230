/* state.c - the state file: the original of everything vspace changed, saved before the first write and put back on exit or after a crash. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/hostcall.h"
#include "platform/linux/linux_int.h"
#include "platform/linux/netns.h"

/* Format version of the state file. */
#define STATE_VERSION 1

static const char *const state_kind_names[ST_N] = {
	[ST_MKDIR] = "mkdir",
	[ST_SUBTREE] = "subtree_control",
	[ST_CGROUP] = "cgroup",
	[ST_AFFINITY] = "affinity",
	[ST_IRQ] = "irq",
	[ST_RPS] = "rps",
	[ST_XPS] = "xps",
	[ST_CHANNELS] = "channels",
	[ST_COALESCE] = "coalesce",
	[ST_FREEZE] = "freeze",
	[ST_SIGSTOP] = "sigstop",
	[ST_VIRT_VCPU] = "libvirt_vcpu",
	[ST_VIRT_EMULATOR] = "libvirt_emulator",
	[ST_VIRT_IOTHREAD] = "libvirt_iothread",
	[ST_VIRT_PAUSE] = "libvirt_pause",
};

const char *st_kind_name(enum st_kind k)
{
	return k < ST_N ? state_kind_names[k] : "?";
}

int state_add(struct lx_state *st, const struct st_rec *r)
{
	if (st->n == st->cap) {
		int nc = st->cap ? st->cap * 2 : 64;
		struct st_rec *nr = realloc(st->rec, sizeof(*nr) * (size_t)nc);
		if (!nr)
			return -1;
		st->rec = nr;
		st->cap = nc;
	}
	st->rec[st->n++] = *r;
	st->dirty = true;
	return 0;
}

void state_boot_id(const struct vs_sysroot *root, char *buf, size_t len)
{
	if (sysroot_read(root->proc_fd, "sys/kernel/random/boot_id", buf, len) < 0)
		buf[0] = '\0';
	str_trim(buf);
}

static bool state_uses_cpus(enum st_kind k)
{
	return k == ST_AFFINITY || k == ST_IRQ || k == ST_RPS || k == ST_XPS || k == ST_VIRT_VCPU ||
	       k == ST_VIRT_EMULATOR || k == ST_VIRT_IOTHREAD;
}

static json_t *state_rec_json(const struct st_rec *r)
{
	json_t *o = json_object();
	char cpus[4096];

	json_object_set_new(o, "kind", json_string(st_kind_name(r->kind)));
	if (r->tid > 0) {
		if (r->pid > 0 && r->pid != r->tid)
			json_object_set_new(o, "pid", json_integer(r->pid));
		json_object_set_new(o, "tid", json_integer(r->tid));
		json_object_set_new(o, "start", json_integer((json_int_t)r->start));
	}
	if (r->procs)
		json_object_set_new(o, "procs", json_true());
	if (r->hier[0]) {
		json_object_set_new(o, "hier", json_string(r->hier));
		json_object_set_new(o, "path", json_string(r->path));
	}
	if (r->kind == ST_IRQ)
		json_object_set_new(o, "irq", json_integer(r->irq));
	if (r->ifname[0]) {
		json_object_set_new(o, "ifname", json_string(r->ifname));
		json_object_set_new(o, "netns", json_string(r->netns));
	}
	if (r->kind == ST_RPS || r->kind == ST_XPS)
		json_object_set_new(o, "queue", json_integer(r->queue));
	if (state_uses_cpus(r->kind)) {
		cpuset_format_list(&r->cpus, cpus, sizeof(cpus));
		json_object_set_new(o, "cpus", json_string(cpus));
	}
	if (r->kind == ST_CHANNELS)
		json_object_set_new(o, "channels",
				    json_pack("{s:i,s:i,s:i,s:i}", "rx", (int)r->ch.rx, "tx",
					      (int)r->ch.tx, "other", (int)r->ch.other, "combined",
					      (int)r->ch.combined));
	if (r->kind == ST_COALESCE)
		json_object_set_new(o, "coalesce",
				    json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "rx_usecs",
					      (int)r->co.rx_usecs, "rx_frames",
					      (int)r->co.rx_frames, "tx_usecs", (int)r->co.tx_usecs,
					      "tx_frames", (int)r->co.tx_frames, "adaptive_rx",
					      (int)r->co.adaptive_rx, "adaptive_tx",
					      (int)r->co.adaptive_tx));
	if (r->domain[0]) {
		json_object_set_new(o, "uri", json_string(r->uri));
		json_object_set_new(o, "domain", json_string(r->domain));
		json_object_set_new(o, "index", json_integer(r->index));
	}
	if (r->text[0])
		json_object_set_new(o, "text", json_string(r->text));
	return o;
}

int state_save(struct lx_state *st)
{
	char tmp[PATH_MAX];
	json_t *root, *arr;
	FILE *f;
	int fd, rc = -1;

	if (!st->path[0]) {
		st->dirty = false;
		return 0;
	}
	arr = json_array();
	for (int i = 0; i < st->n; i++)
		json_array_append_new(arr, state_rec_json(&st->rec[i]));
	root = json_pack("{s:i,s:s,s:i,s:o}", "version", STATE_VERSION, "boot_id", st->boot_id,
			 "daemon_pid", (int)getpid(), "records", arr);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", st->path) >= (int)sizeof(tmp))
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("state file %s", tmp);
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		goto out;
	}
	if (json_dumpf(root, f, JSON_INDENT(1)) < 0 || fputc('\n', f) == EOF || fflush(f) != 0 ||
	    fsync(fileno(f)) < 0) {
		log_warn("state file %s: write", tmp);
		fclose(f);
		unlink(tmp);
		goto out;
	}
	fclose(f);
	if (rename(tmp, st->path) < 0) {
		log_warn("state file: rename %s to %s", tmp, st->path);
		unlink(tmp);
		goto out;
	}
	/* make the rename durable */
	{
		char dir[PATH_MAX];
		char *slash;
		str_copy(dir, st->path, sizeof(dir));
		slash = strrchr(dir, '/');
		if (slash) {
			*(slash == dir ? slash + 1 : slash) = '\0';
			int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
	}
	st->dirty = false;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static int state_kind_parse(const char *name)
{
	for (int k = 0; k < ST_N; k++)
		if (name && strcmp(name, state_kind_names[k]) == 0)
			return k;
	return -1;
}

static void state_str(json_t *o, const char *key, char *dst, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));
	str_copy(dst, s ? s : "", len);
}

static int state_rec_parse(json_t *o, struct st_rec *r, char *err, size_t errlen)
{
	json_t *v;
	int k;

	memset(r, 0, sizeof(*r));
	k = state_kind_parse(json_string_value(json_object_get(o, "kind")));
	if (k < 0) {
		snprintf(err, errlen, "unknown record kind");
		return -1;
	}
	r->kind = (enum st_kind)k;
	if ((v = json_object_get(o, "tid"))) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    json_integer_value(v) > INT32_MAX) {
			snprintf(err, errlen, "bad tid");
			return -1;
		}
		r->tid = (int)json_integer_value(v);
		r->pid = (int)json_integer_value(json_object_get(o, "pid"));
		if (r->pid <= 0 || r->pid > INT32_MAX)
			r->pid = r->tid;
		r->start = (uint64_t)json_integer_value(json_object_get(o, "start"));
	}
	r->procs = json_is_true(json_object_get(o, "procs"));
	state_str(o, "hier", r->hier, sizeof(r->hier));
	state_str(o, "path", r->path, sizeof(r->path));
	r->irq = (int)json_integer_value(json_object_get(o, "irq"));
	state_str(o, "ifname", r->ifname, sizeof(r->ifname));
	state_str(o, "netns", r->netns, sizeof(r->netns));
	r->queue = (int)json_integer_value(json_object_get(o, "queue"));
	if (state_uses_cpus(r->kind)) {
		char perr[128];
		const char *c = json_string_value(json_object_get(o, "cpus"));
		if (!c || cpuset_parse_list(&r->cpus, c, perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "bad cpus");
			return -1;
		}
	}
	if ((v = json_object_get(o, "channels"))) {
		r->ch.rx = (uint32_t)json_integer_value(json_object_get(v, "rx"));
		r->ch.tx = (uint32_t)json_integer_value(json_object_get(v, "tx"));
		r->ch.other = (uint32_t)json_integer_value(json_object_get(v, "other"));
		r->ch.combined = (uint32_t)json_integer_value(json_object_get(v, "combined"));
	}
	if ((v = json_object_get(o, "coalesce"))) {
		r->co.rx_usecs = (uint32_t)json_integer_value(json_object_get(v, "rx_usecs"));
		r->co.rx_frames = (uint32_t)json_integer_value(json_object_get(v, "rx_frames"));
		r->co.tx_usecs = (uint32_t)json_integer_value(json_object_get(v, "tx_usecs"));
		r->co.tx_frames = (uint32_t)json_integer_value(json_object_get(v, "tx_frames"));
		r->co.adaptive_rx = (uint32_t)json_integer_value(json_object_get(v, "adaptive_rx"));
		r->co.adaptive_tx = (uint32_t)json_integer_value(json_object_get(v, "adaptive_tx"));
	}
	state_str(o, "uri", r->uri, sizeof(r->uri));
	state_str(o, "domain", r->domain, sizeof(r->domain));
	r->index = (int)json_integer_value(json_object_get(o, "index"));
	state_str(o, "text", r->text, sizeof(r->text));
	/* paths come back into openat(): no escaping the hierarchy */
	if (strstr(r->path, "..") || strstr(r->hier, "..") || strchr(r->ifname, '/') ||
	    strchr(r->text, '/')) {
		snprintf(err, errlen, "path with \"..\" or \"/\" in an interface name");
		return -1;
	}
	return 0;
}

int state_load(struct lx_state *st, const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *arr, *o;
	size_t i;

	st->n = 0;
	str_copy(st->path, path, sizeof(st->path));
	root = json_load_file(path, 0, &je);
	if (!root) {
		if (access(path, F_OK) < 0 && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "state file %s:%d: %s", path, je.line, je.text);
		return -1;
	}
	if (json_integer_value(json_object_get(root, "version")) != STATE_VERSION ||
	    !json_is_array(arr = json_object_get(root, "records"))) {
		snprintf(err, errlen, "state file %s: not a version %d vspace state file", path,
			 STATE_VERSION);
		json_decref(root);
		return -1;
	}
	state_str(root, "boot_id", st->boot_id, sizeof(st->boot_id));
	st->daemon_pid = (int)json_integer_value(json_object_get(root, "daemon_pid"));
	json_array_foreach(arr, i, o)
	{
		struct st_rec r;
		char rerr[96];
		if (state_rec_parse(o, &r, rerr, sizeof(rerr)) < 0) {
			snprintf(err, errlen, "state file %s: record %zu: %s", path, i, rerr);
			json_decref(root);
			st->n = 0;
			return -1;
		}
		if (state_add(st, &r) < 0) {
			snprintf(err, errlen, "out of memory");
			json_decref(root);
			return -1;
		}
	}
	st->dirty = false;
	json_decref(root);
	return 1;
}

void state_clear(struct lx_state *st)
{
	if (st->path[0] && unlink(st->path) < 0 && errno != ENOENT)
		log_warn("state file %s: unlink", st->path);
	st->n = 0;
	st->dirty = false;
}

void state_free(struct lx_state *st)
{
	free(st->rec);
	st->rec = NULL;
	st->n = st->cap = 0;
}

/* ---- Restore ------------------------------------------------------------------------- */

/* Per-namespace handles opened while restoring. */
struct state_ns {
	char name[64];
	int sys_fd; /* owned unless equal to root->sys_fd */
	int sock;
};

struct state_ctx {
	const struct vs_sysroot *root;
	bool dry_run;
	void (*logfn)(void *arg, const char *line);
	void *arg;
	struct state_ns ns[8];
	int n_ns;
	struct vs_virt *virt;
	char virt_uri[128];
};

static void state_log(struct state_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void state_log(struct state_ctx *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (c->dry_run)
		log_info("dry-run: would restore: %s", line);
	else
		log_info("restore: %s", line);
	if (c->logfn)
		c->logfn(c->arg, line);
}

static struct state_ns *state_ns_get(struct state_ctx *c, const char *netns)
{
	char err[256], nspath[128];
	struct state_ns *n;

	for (int i = 0; i < c->n_ns; i++)
		if (strcmp(c->ns[i].name, netns) == 0)
			return &c->ns[i];
	if (c->n_ns == (int)(sizeof(c->ns) / sizeof(c->ns[0])))
		return NULL;
	n = &c->ns[c->n_ns];
	str_copy(n->name, netns, sizeof(n->name));
	n->sys_fd = c->root->sys_fd;
	n->sock = -1;
	if (c->root->live && netns[0]) {
		snprintf(nspath, sizeof(nspath), "/run/netns/%s", netns);
		n->sys_fd = netns_open_sysfs(nspath, err, sizeof(err));
		if (n->sys_fd < 0) {
			log_warnx("restore: %s", err);
			return NULL;
		}
		n->sock = netns_socket(nspath, err, sizeof(err));
	} else if (c->root->live) {
		n->sock = netns_socket(NULL, err, sizeof(err));
	}
	c->n_ns++;
	return n;
}

static bool state_thread_alive(struct state_ctx *c, const struct st_rec *r)
{
	struct vs_taskstat ts;

	if (task_read_stat(c->root->proc_fd, r->pid > 0 ? r->pid : r->tid, r->tid, NULL, 0, &ts) <
	    0)
		return false;
	return ts.start_ticks == r->start && ts.state != 'Z';
}

static int state_hier_fd(struct state_ctx *c, const struct st_rec *r)
{
	return openat(c->root->sys_fd, r->hier, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* path/file below the hierarchy root ("/" is the root itself). */
static int state_cg_file(const struct st_rec *r, const char *file, char *buf, size_t len)
{
	const char *p = r->path;

	while (*p == '/')
		p++;
	if (!sysroot_path(buf, len, "%s%s%s", p, *p ? "/" : "", file))
		return -ENAMETOOLONG;
	return 0;
}

static int state_restore_one(struct state_ctx *c, const struct st_rec *r)
{
	char cpus[4096], path[320], num[32];
	struct state_ns *ns;
	int fd, rc = 0;

	cpuset_format_list(&r->cpus, cpus, sizeof(cpus));
	switch (r->kind) {
	case ST_MKDIR:
		state_log(c, "rmdir %s:%s", r->hier, r->path);
		if (c->dry_run)
			return 0;
		fd = state_hier_fd(c, r);
		if (fd < 0)
			return errno == ENOENT ? 0 : -errno;
		/* children first: they are recorded after their parent */
		rc = unlinkat(fd, r->path[0] == '/' ? r->path + 1 : r->path, AT_REMOVEDIR) < 0
			     ? -errno
			     : 0;
		if (rc < 0 && !c->root->live && rc == -ENOTEMPTY) {
			/* a fixture tree holds regular files where cgroupfs has
			 * virtual ones: remove them, then the directory */
			DIR *d = sysroot_opendir(fd, r->path[0] == '/' ? r->path + 1 : r->path);
			struct dirent *de;
			while (d && (de = readdir(d)) != NULL)
				if (de->d_name[0] != '.')
					unlinkat(dirfd(d), de->d_name, 0);
			if (d)
				closedir(d);
			rc = unlinkat(fd, r->path[0] == '/' ? r->path + 1 : r->path, AT_REMOVEDIR) <
					     0
				     ? -errno
				     : 0;
		}
		close(fd);
		return rc == -ENOENT ? 0 : rc;
	case ST_SUBTREE:
		state_log(c, "write %s:%s/cgroup.subtree_control %s", r->hier, r->path, r->text);
		if (c->dry_run)
			return 0;
		fd = state_hier_fd(c, r);
		if (fd < 0)
			return -errno;
		if (state_cg_file(r, "cgroup.subtree_control", path, sizeof(path)) == 0)
			rc = sysroot_write(c->root, fd, path, r->text);
		close(fd);
		return rc;
	case ST_CGROUP:
		if (!state_thread_alive(c, r))
			return 0;
		state_log(c, "move %s %d back to %s:%s", r->procs ? "process" : "thread", r->tid,
			  r->hier, r->path);
		if (c->dry_run)
			return 0;
		fd = state_hier_fd(c, r);
		if (fd < 0)
			return -errno;
		snprintf(num, sizeof(num), "%d", r->tid);
		/* text names the file: tasks, cgroup.threads or cgroup.procs */
		rc = state_cg_file(r, r->text[0] ? r->text : "tasks", path, sizeof(path));
		if (rc == 0)
			rc = sysroot_write(c->root, fd, path, num);
		close(fd);
		return rc == -ESRCH ? 0 : rc;
	case ST_AFFINITY:
		if (!state_thread_alive(c, r))
			return 0;
		state_log(c, "affinity of %d back to %s", r->tid, cpus);
		if (c->dry_run)
			return 0;
		rc = hostcall_set_affinity(c->root, r->tid, &r->cpus);
		return rc == -ESRCH ? 0 : rc;
	case ST_IRQ:
		state_log(c, "irq %d affinity back to %s", r->irq, cpus);
		if (c->dry_run)
			return 0;
		snprintf(path, sizeof(path), "irq/%d/smp_affinity_list", r->irq);
		rc = sysroot_write(c->root, c->root->proc_fd, path, cpus);
		return rc == -ENOENT ? 0 : rc;
	case ST_RPS:
	case ST_XPS: {
		char mask[512];
		int ncpu = cpuset_last(&r->cpus) + 1;
		state_log(c, "%s %s %s-%d back to %s", r->kind == ST_RPS ? "rps" : "xps", r->ifname,
			  r->kind == ST_RPS ? "rx" : "tx", r->queue, cpus[0] ? cpus : "none");
		if (c->dry_run)
			return 0;
		ns = state_ns_get(c, r->netns);
		if (!ns)
			return -ENOENT;
		cpuset_format_mask(&r->cpus, ncpu > 0 ? ncpu : 1, mask, sizeof(mask));
		snprintf(path, sizeof(path), "class/net/%s/queues/%s-%d/%s", r->ifname,
			 r->kind == ST_RPS ? "rx" : "tx", r->queue,
			 r->kind == ST_RPS ? "rps_cpus" : "xps_cpus");
		rc = sysroot_write(c->root, ns->sys_fd, path, mask);
		return rc == -ENOENT ? 0 : rc; /* the queue is gone */
	}
	case ST_CHANNELS: {
		struct vs_channels cur;
		state_log(c, "channels %s back to rx %u tx %u other %u combined %u", r->ifname,
			  r->ch.rx, r->ch.tx, r->ch.other, r->ch.combined);
		if (c->dry_run)
			return 0;
		ns = state_ns_get(c, r->netns);
		if (!ns)
			return -ENOENT;
		/* nothing to put back when they are as recorded (e.g. the write
		 * was refused: a tap has no settable channels) */
		if (hostcall_get_channels(c->root, ns->sock, r->ifname, &cur) == 0 &&
		    cur.rx == r->ch.rx && cur.tx == r->ch.tx && cur.other == r->ch.other &&
		    cur.combined == r->ch.combined)
			return 0;
		return hostcall_set_channels(c->root, ns->sock, r->ifname, &r->ch);
	}
	case ST_COALESCE:
		state_log(c, "coalesce %s back to rx-usecs %u", r->ifname, r->co.rx_usecs);
		if (c->dry_run)
			return 0;
		ns = state_ns_get(c, r->netns);
		if (!ns)
			return -ENOENT;
		return hostcall_set_coalesce(c->root, ns->sock, r->ifname, &r->co);
	case ST_FREEZE:
		state_log(c, "thaw %s:%s", r->hier, r->path);
		if (c->dry_run)
			return 0;
		fd = state_hier_fd(c, r);
		if (fd < 0)
			return errno == ENOENT ? 0 : -errno;
		rc = state_cg_file(r,
				   strstr(r->hier, "freezer") ? "freezer.state" : "cgroup.freeze",
				   path, sizeof(path));
		if (rc == 0)
			rc = sysroot_write(c->root, fd, path, r->text);
		close(fd);
		return rc == -ENOENT ? 0 : rc;
	case ST_SIGSTOP:
		if (!state_thread_alive(c, r))
			return 0;
		state_log(c, "SIGCONT to %d", r->tid);
		if (c->dry_run)
			return 0;
		return hostcall_signal(c->root, r->tid, SIGCONT);
	case ST_VIRT_VCPU:
	case ST_VIRT_EMULATOR:
	case ST_VIRT_IOTHREAD:
	case ST_VIRT_PAUSE:
		if (r->kind == ST_VIRT_PAUSE)
			state_log(c, "libvirt %s resume", r->domain);
		else
			state_log(c, "libvirt %s %s %d pin back to %s", r->domain,
				  r->kind == ST_VIRT_VCPU	? "vcpu"
				  : r->kind == ST_VIRT_EMULATOR ? "emulator"
								: "iothread",
				  r->index, cpus);
		if (c->dry_run)
			return 0;
		if (!c->virt || strcmp(c->virt_uri, r->uri) != 0) {
			char err[256];
			virt_close(c->virt);
			c->virt = NULL;
			if (virt_open(&c->virt, r->uri, err, sizeof(err)) < 0) {
				log_warnx("restore: %s", err);
				return -ENOTCONN;
			}
			str_copy(c->virt_uri, r->uri, sizeof(c->virt_uri));
		}
		if (virt_domain_running(c->virt, r->domain) != 1)
			return 0; /* the VM is gone: its pins went with it */
		if (r->kind == ST_VIRT_VCPU)
			return virt_pin_vcpu(c->virt, r->domain, r->index, &r->cpus);
		if (r->kind == ST_VIRT_EMULATOR)
			return virt_pin_emulator(c->virt, r->domain, &r->cpus);
		if (r->kind == ST_VIRT_IOTHREAD)
			return virt_pin_iothread(c->virt, r->domain, r->index, &r->cpus);
		return virt_is_paused(c->virt, r->domain) == 1
			       ? virt_set_paused(c->virt, r->domain, false)
			       : 0;
	case ST_N:
		break;
	}
	return -EINVAL;
}

int state_restore(struct lx_state *st, const struct vs_sysroot *root, bool dry_run,
		  void (*logfn)(void *arg, const char *line), void *arg)
{
	/* resume what is paused, then NIC settings (channels before the masks
	 * of the queues they bring back), IRQs, libvirt pins, thread cgroups,
	 * affinities (after the cgroup move that resets them), and last the
	 * directories (children before parents) and subtree_control */
	static const enum st_kind order[] = {
		ST_VIRT_PAUSE,	  ST_FREEZE, ST_SIGSTOP,  ST_CHANNELS,	ST_COALESCE,
		ST_RPS,		  ST_XPS,    ST_IRQ,	  ST_VIRT_VCPU, ST_VIRT_EMULATOR,
		ST_VIRT_IOTHREAD, ST_CGROUP, ST_AFFINITY, ST_MKDIR,	ST_SUBTREE,
	};
	struct state_ctx c = { .root = root, .dry_run = dry_run, .logfn = logfn, .arg = arg };
	char boot[64];
	int failed = 0;

	state_boot_id(root, boot, sizeof(boot));
	if (st->boot_id[0] && boot[0] && strcmp(st->boot_id, boot) != 0) {
		log_info("state file %s is from an earlier boot: nothing to restore", st->path);
		return 0;
	}
	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		bool reverse = order[o] == ST_MKDIR || order[o] == ST_SUBTREE;
		for (int j = 0; j < st->n; j++) {
			int i = reverse ? st->n - 1 - j : j;
			const struct st_rec *r = &st->rec[i];
			int rc;

			if (r->kind != order[o])
				continue;
			rc = state_restore_one(&c, r);
			if (rc < 0) {
				failed++;
				log_warnx("restore %s record %d failed: %s", st_kind_name(r->kind),
					  i, strerror(-rc));
			}
		}
	}
	for (int i = 0; i < c.n_ns; i++) {
		if (c.ns[i].sys_fd >= 0 && c.ns[i].sys_fd != root->sys_fd)
			close(c.ns[i].sys_fd);
		if (c.ns[i].sock >= 0)
			close(c.ns[i].sock);
	}
	virt_close(c.virt);
	return failed;
}
