/* state.c - the state file: the original of everything vspace changed, saved before the first write and put back on exit or after a crash. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/linux_int.h"

/* Format version of the state file. */
#define STATE_VERSION 1

/* The records' names in the file: the write that restores each, and for
 * cgroup writes the file written ("freeze": freezer.state or cgroup.freeze,
 * by the hierarchy). */
static const struct {
	const char *name;
	enum act_kind kind;
	const char *file;
} state_names[] = {
	{ "mkdir", ACT_RMDIR, NULL },
	{ "subtree_control", ACT_CG_WRITE, "cgroup.subtree_control" },
	{ "cgroup", ACT_CG_MOVE, NULL },
	{ "affinity", ACT_AFFINITY, NULL },
	{ "irq", ACT_IRQ, NULL },
	{ "rps", ACT_RPS, NULL },
	{ "xps", ACT_XPS, NULL },
	{ "channels", ACT_CHANNELS, NULL },
	{ "coalesce", ACT_COALESCE, NULL },
	{ "freeze", ACT_CG_WRITE, NULL },
	{ "sigstop", ACT_SIGNAL, NULL },
	{ "libvirt_vcpu", ACT_VIRT_VCPU, NULL },
	{ "libvirt_emulator", ACT_VIRT_EMULATOR, NULL },
	{ "libvirt_iothread", ACT_VIRT_IOTHREAD, NULL },
	{ "libvirt_pause", ACT_VIRT_PAUSE, NULL },
};
#define STATE_N_NAMES (int)(sizeof(state_names) / sizeof(state_names[0]))

const char *st_rec_name(const struct st_rec *r)
{
	for (int i = 0; i < STATE_N_NAMES; i++)
		if (state_names[i].kind == r->kind &&
		    (!state_names[i].file || !strcmp(state_names[i].file, r->file)))
			return state_names[i].name;
	return "?";
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

/* Does record r name a thread or process that still exists (same start time)? */
static bool state_rec_alive(int proc_fd, const struct st_rec *r)
{
	struct vs_taskstat ts;

	if (task_read_stat(proc_fd, r->pid > 0 ? r->pid : r->tid, r->tid, NULL, 0, &ts) < 0)
		return false;
	return ts.start_ticks == r->start && ts.state != 'Z';
}

int state_prune(struct lx_state *st, int proc_fd)
{
	int k = 0, dropped;

	for (int i = 0; i < st->n; i++) {
		const struct st_rec *r = &st->rec[i];
		if (r->tid > 0 && !state_rec_alive(proc_fd, r))
			continue; /* its thread is gone, and what it had with it */
		st->rec[k++] = *r;
	}
	dropped = st->n - k;
	st->n = k;
	if (dropped > 0)
		st->dirty = true;
	return dropped;
}

/* path without its leading slashes */
static const char *state_rel(const char *path)
{
	while (*path == '/')
		path++;
	return path;
}

/* Is path below (or at) dir? Both relative to a hierarchy's root. */
static bool state_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	path = state_rel(path);
	return n > 0 && strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool state_cg_ours(const struct lx_state *st, const char *hier, const char *path,
		   const char *parent)
{
	if (parent && parent[0] && state_below(path, state_rel(parent)))
		return true;
	for (int i = 0; i < st->n; i++) {
		const struct st_rec *r = &st->rec[i];
		if (r->kind == ACT_RMDIR && strcmp(r->hier, hier) == 0 &&
		    state_below(path, state_rel(r->path)))
			return true;
	}
	return false;
}

void state_boot_id(const struct vs_sysroot *root, char *buf, size_t len)
{
	if (sysroot_read(root->proc_fd, "sys/kernel/random/boot_id", buf, len) < 0)
		buf[0] = '\0';
	str_trim(buf);
}

static bool state_uses_cpus(enum act_kind k)
{
	return k == ACT_AFFINITY || k == ACT_IRQ || k == ACT_RPS || k == ACT_XPS ||
	       k == ACT_VIRT_VCPU || k == ACT_VIRT_EMULATOR || k == ACT_VIRT_IOTHREAD;
}

static json_t *state_rec_json(const struct st_rec *r)
{
	json_t *o = json_object();
	char cpus[4096];

	json_object_set_new(o, "kind", json_string(st_rec_name(r)));
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
	if (r->kind == ACT_IRQ)
		json_object_set_new(o, "irq", json_integer(r->irq));
	if (r->ifname[0]) {
		json_object_set_new(o, "ifname", json_string(r->ifname));
		json_object_set_new(o, "netns", json_string(r->netns));
	}
	if (r->kind == ACT_RPS || r->kind == ACT_XPS)
		json_object_set_new(o, "queue", json_integer(r->queue));
	if (state_uses_cpus(r->kind)) {
		cpuset_format_list(&r->cpus, cpus, sizeof(cpus));
		json_object_set_new(o, "cpus", json_string(cpus));
	}
	if (r->kind == ACT_CHANNELS)
		json_object_set_new(o, "channels",
				    json_pack("{s:i,s:i,s:i,s:i}", "rx", (int)r->ch.rx, "tx",
					      (int)r->ch.tx, "other", (int)r->ch.other, "combined",
					      (int)r->ch.combined));
	if (r->kind == ACT_COALESCE)
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
	/* "text": the file a process or thread goes back into (cgroup), or
	 * what is written back (subtree_control, freeze) */
	if (r->kind == ACT_CG_MOVE && r->file[0])
		json_object_set_new(o, "text", json_string(r->file));
	else if (r->text[0])
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

static int state_name_parse(const char *name)
{
	for (int i = 0; i < STATE_N_NAMES; i++)
		if (name && strcmp(name, state_names[i].name) == 0)
			return i;
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
	k = state_name_parse(json_string_value(json_object_get(o, "kind")));
	if (k < 0) {
		snprintf(err, errlen, "unknown record kind");
		return -1;
	}
	r->kind = state_names[k].kind;
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
	/* the file each cgroup record writes */
	if (r->kind == ACT_CG_MOVE) {
		str_copy(r->file, r->text[0] ? r->text : "tasks", sizeof(r->file));
		r->text[0] = '\0';
		if (strcmp(r->file, "tasks") && strcmp(r->file, "cgroup.threads") &&
		    strcmp(r->file, "cgroup.procs")) {
			snprintf(err, errlen,
				 "cgroup record into \"%s\" (tasks, cgroup.threads or "
				 "cgroup.procs)",
				 r->file);
			return -1;
		}
	} else if (r->kind == ACT_CG_WRITE) {
		str_copy(r->file,
			 state_names[k].file	      ? state_names[k].file
			 : strstr(r->hier, "freezer") ? "freezer.state"
						      : "cgroup.freeze",
			 sizeof(r->file));
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
