/* guest.c - the agent's view of the guest: /proc and /sys through the sysroot fd, with saved originals. */
#include "agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"

int guest_read(struct agent *a, const char *path, char *buf, size_t len)
{
	int fd = openat(a->root_fd, path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got + 1 < len) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';
	return 0;
}

char *guest_read_all(struct agent *a, const char *path)
{
	int fd = openat(a->root_fd, path, O_RDONLY | O_CLOEXEC);
	size_t cap = 16384, got = 0;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		if (got + 1 == cap) {
			/* /proc files are small; 4 MiB is a broken file, not a big one. */
			char *nb = cap < (4u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (n == 0) {
			buf[got] = '\0';
			break;
		}
		got += (size_t)n;
	}
	int e = errno;
	close(fd);
	errno = e;
	return buf;
}

int guest_remember(struct agent *a, enum agent_saved_kind kind, const char *path,
		   const char *current)
{
	for (int i = 0; i < a->n_saved; i++)
		if (strcmp(a->saved[i].path, path) == 0)
			return 0;
	if (a->n_saved == a->cap_saved) {
		int cap = a->cap_saved ? a->cap_saved * 2 : 32;
		struct agent_saved_file *ns = realloc(a->saved, (size_t)cap * sizeof(*ns));
		if (!ns)
			return -1;
		a->saved = ns;
		a->cap_saved = cap;
	}
	struct agent_saved_file *s = &a->saved[a->n_saved];
	if (str_copy(s->path, path, sizeof(s->path)) >= sizeof(s->path) ||
	    str_copy(s->value, current, sizeof(s->value)) >= sizeof(s->value)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	s->kind = kind;
	a->n_saved++;
	return 0;
}

/* Write value plus '\n' in one write(2), as `echo` does and sysfs wants. */
int guest_write_raw(struct agent *a, const char *path, const char *value)
{
	char buf[256];
	int fd, n = snprintf(buf, sizeof(buf), "%s\n", value);
	ssize_t w;

	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = E2BIG;
		return -1;
	}
	fd = openat(a->root_fd, path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	w = write(fd, buf, (size_t)n);
	int e = errno;
	close(fd);
	if (w < 0) {
		errno = e;
		return -1;
	}
	if (w != n) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int guest_write(struct agent *a, enum agent_saved_kind kind, const char *path, const char *value)
{
	char cur[128];

	if (guest_read(a, path, cur, sizeof(cur)) < 0)
		return -1;
	if (strcmp(cur, value) == 0)
		return 0;
	if (guest_remember(a, kind, path, cur) < 0)
		return -1;
	if (a->dry_run) {
		log_info("dry-run: would write \"%s\" to /%s (now \"%s\")", value, path, cur);
		return 0;
	}
	log_debug("write \"%s\" to /%s (was \"%s\")", value, path, cur);
	return guest_write_raw(a, path, value);
}

static int guest_cpulist(struct agent *a, const char *path, struct vs_cpuset *set)
{
	char buf[4096], err[128];

	if (guest_read(a, path, buf, sizeof(buf)) < 0)
		return -1;
	if (cpuset_parse_list(set, buf, err, sizeof(err)) < 0) {
		log_warnx("/%s: %s", path, err);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int guest_cpus_possible(struct agent *a, struct vs_cpuset *set)
{
	return guest_cpulist(a, "sys/devices/system/cpu/possible", set);
}

int guest_cpus_online(struct agent *a, struct vs_cpuset *set)
{
	return guest_cpulist(a, "sys/devices/system/cpu/online", set);
}

bool guest_nic_exists(struct agent *a, const char *ifname)
{
	char path[64];

	snprintf(path, sizeof(path), "sys/class/net/%s", ifname);
	return proto_ifname_valid(ifname) && faccessat(a->root_fd, path, F_OK, 0) == 0;
}

static int guest_name_cmp(const void *x, const void *y)
{
	return strcmp(x, y);
}

/* Open a directory under the sysroot for reading. */
static DIR *guest_opendir(struct agent *a, const char *path)
{
	int fd = openat(a->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

int guest_nic_list(struct agent *a, char names[][PROTO_IFNAME_MAX], int max)
{
	DIR *d = guest_opendir(a, "sys/class/net");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char path[300];
		if (e->d_name[0] == '.' || strcmp(e->d_name, "lo") == 0 ||
		    !proto_ifname_valid(e->d_name))
			continue;
		/* a network device, not a control file (bonding_masters) */
		snprintf(path, sizeof(path), "sys/class/net/%s/ifindex", e->d_name);
		if (faccessat(a->root_fd, path, F_OK, 0) != 0)
			continue;
		str_copy(names[n++], e->d_name, PROTO_IFNAME_MAX);
	}
	closedir(d);
	qsort(names, (size_t)n, PROTO_IFNAME_MAX, guest_name_cmp);
	return n;
}

int guest_nic_tx_queues(struct agent *a, const char *ifname)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "sys/class/net/%s/queues", ifname);
	d = guest_opendir(a, path);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (str_starts_with(e->d_name, "tx-"))
			n++;
	closedir(d);
	return n;
}

/* Parse "<prefix><digits>" exactly; the number or -1. */
static long guest_suffix_num(const char *name, const char *prefix)
{
	long v;

	if (!str_starts_with(name, prefix) || name[strlen(prefix)] == '\0')
		return -1;
	if (str_to_long(name + strlen(prefix), 0, 100000, &v) < 0)
		return -1;
	return v;
}

int guest_nic_irqs(struct agent *a, const char *ifname, int *irq, int *queue, int max)
{
	char path[64], link[256], dev[64] = "", in_prefix[96], out_prefix[96], if_prefix[32];
	char *text, *save = NULL;
	int n = 0;

	/* virtio: sys/class/net/IF/device -> .../virtioN */
	snprintf(path, sizeof(path), "sys/class/net/%s/device", ifname);
	ssize_t l = readlinkat(a->root_fd, path, link, sizeof(link) - 1);
	if (l > 0) {
		link[l] = '\0';
		const char *base = strrchr(link, '/');
		str_copy(dev, base ? base + 1 : link, sizeof(dev));
	}
	snprintf(in_prefix, sizeof(in_prefix), "%s-input.", dev);
	snprintf(out_prefix, sizeof(out_prefix), "%s-output.", dev);
	snprintf(if_prefix, sizeof(if_prefix), "%s-", ifname);

	text = guest_read_all(a, "proc/interrupts");
	if (!text)
		return 0;
	for (char *line = strtok_r(text, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		long num, q = -1;
		if (!colon)
			continue;
		*colon = '\0';
		if (str_to_long(line, 0, 1000000, &num) < 0)
			continue; /* NMI, LOC, ... */
		/* the name is the last field */
		char *end = colon + 1 + strlen(colon + 1);
		while (end > colon + 1 && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		char *name = end;
		while (name > colon + 1 && name[-1] != ' ' && name[-1] != '\t')
			name--;
		if (dev[0] && str_starts_with(dev, "virtio")) {
			q = guest_suffix_num(name, in_prefix);
			if (q < 0)
				q = guest_suffix_num(name, out_prefix);
		} else if (str_starts_with(name, if_prefix)) {
			const char *dash = strrchr(name, '-');
			q = guest_suffix_num(dash, "-");
		}
		if (q < 0)
			continue;
		irq[n] = (int)num;
		queue[n] = (int)q;
		n++;
	}
	free(text);
	return n;
}

/* Sum the busy and total fields of one "cpuN ..." line of /proc/stat. */
static int guest_stat_line(char *fields, uint64_t *busy, uint64_t *total)
{
	char *f[12];
	uint64_t v[10] = { 0 };
	int n = str_split(fields, ' ', f, 12);

	/* user nice system idle iowait irq softirq steal [guest guest_nice] */
	if (n < 8)
		return -1;
	for (int i = 0; i < n && i < 10; i++) {
		long x;
		if (str_to_long(f[i], 0, LONG_MAX, &x) < 0)
			return -1;
		v[i] = (uint64_t)x;
	}
	/* guest time is already counted in user (kernel/sched/cputime.c) */
	*busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	*total = *busy + v[3] + v[4];
	return 0;
}

int guest_cpu_times(struct agent *a, int64_t *busy_ms, int64_t *total_ms, int n, char *err,
		    size_t errlen)
{
	char *text = guest_read_all(a, "proc/stat"), *save = NULL;
	int lineno = 0;

	if (!text) {
		snprintf(err, errlen, "/proc/stat: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++)
		busy_ms[i] = total_ms[i] = -1;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		long cpu;
		if (!str_starts_with(line, "cpu") || line[3] == ' ')
			continue;
		char *sp = strchr(line, ' ');
		if (!sp)
			goto bad;
		*sp = '\0';
		if (str_to_long(line + 3, 0, VS_MAX_CPUS - 1, &cpu) < 0)
			goto bad;
		char *fields = sp + 1;
		while (*fields == ' ')
			fields++;
		uint64_t busy, total;
		if (guest_stat_line(fields, &busy, &total) < 0)
			goto bad;
		if (cpu < n) {
			busy_ms[cpu] = (int64_t)(busy * 1000u / (uint64_t)a->clk_tck);
			total_ms[cpu] = (int64_t)(total * 1000u / (uint64_t)a->clk_tck);
		}
	}
	free(text);
	return 0;
bad:
	snprintf(err, errlen, "/proc/stat line %d: malformed cpu line", lineno);
	free(text);
	return -1;
}

int guest_tasks(struct agent *a, pid_t pid, pid_t *tids, int max)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "proc/%d/task", (int)pid);
	d = guest_opendir(a, path);
	if (!d)
		return -1;
	while ((e = readdir(d)) && n < max) {
		long tid;
		if (e->d_name[0] == '.' || str_to_long(e->d_name, 1, INT32_MAX, &tid) < 0)
			continue;
		tids[n++] = (pid_t)tid;
	}
	closedir(d);
	return n;
}

int guest_nic_info(struct agent *a, const char *ifname, struct agent_nic_info *out)
{
	char path[96], buf[64];
	ssize_t n;
	long v;

	memset(out, 0, sizeof(*out));
	if (!proto_ifname_valid(ifname))
		return -1;
	snprintf(path, sizeof(path), "sys/class/net/%s/statistics/rx_packets", ifname);
	if (guest_read(a, path, buf, sizeof(buf)) == 0 && str_to_long(buf, 0, LONG_MAX, &v) == 0)
		out->rx_packets = (uint64_t)v;
	else
		return -1;
	snprintf(path, sizeof(path), "sys/class/net/%s/statistics/tx_packets", ifname);
	if (guest_read(a, path, buf, sizeof(buf)) == 0 && str_to_long(buf, 0, LONG_MAX, &v) == 0)
		out->tx_packets = (uint64_t)v;
	else
		return -1;
	snprintf(path, sizeof(path), "sys/class/net/%s/operstate", ifname);
	if (guest_read(a, path, buf, sizeof(buf)) == 0)
		str_copy(out->oper, buf, sizeof(out->oper));
	snprintf(path, sizeof(path), "sys/class/net/%s/address", ifname);
	if (guest_read(a, path, buf, sizeof(buf)) == 0)
		str_copy(out->mac, buf, sizeof(out->mac));
	snprintf(path, sizeof(path), "sys/class/net/%s/master", ifname);
	n = readlinkat(a->root_fd, path, buf, sizeof(buf) - 1);
	if (n > 0) {
		const char *base;
		buf[n] = '\0';
		base = strrchr(buf, '/');
		base = base ? base + 1 : buf;
		if (proto_ifname_valid(base))
			str_copy(out->master, base, sizeof(out->master));
	}
	return 0;
}
