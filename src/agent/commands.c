/* commands.c - the agent's commands (hello, set_vnq, set_vcpus, stats) and restoring the guest on exit. */
#include "agent/agent.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"

/* Error text of a command handler. */
struct agent_err {
	char text[256];
};

int agent_init(struct agent *a, const struct agent_opts *o, char *err, size_t errlen)
{
	struct vs_cpuset possible, online;
	int rc = -2; /* an option's fault until the options are checked */

	memset(a, 0, sizeof(*a));
	a->root_fd = open(o->sysroot ? o->sysroot : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->root_fd < 0) {
		snprintf(err, errlen, "--sysroot %s: %s", o->sysroot ? o->sysroot : "/",
			 strerror(errno));
		return -2;
	}
	a->dry_run = o->dry_run;
	a->ops = o->ops ? o->ops : &agent_linux_ops;
	a->ops_arg = o->ops_arg;
	a->clk_tck = sysconf(_SC_CLK_TCK);
	if (a->clk_tck <= 0)
		a->clk_tck = 100;
	if (o->cgroup) {
		const char *rel = o->cgroup;
		while (*rel == '/')
			rel++;
		char probe[160];
		if (*rel == '\0' ||
		    str_copy(a->cgroup, rel, sizeof(a->cgroup) - 16) >= sizeof(a->cgroup) - 16) {
			snprintf(err, errlen, "--cgroup %s: empty or too long", o->cgroup);
			goto fail;
		}
		snprintf(probe, sizeof(probe), "%s/cpuset.cpus", a->cgroup);
		if (faccessat(a->root_fd, probe, W_OK, 0) < 0) {
			snprintf(err, errlen,
				 "--cgroup %s: no writable cpuset.cpus there (%s); is the cpuset "
				 "controller enabled for it?",
				 o->cgroup, strerror(errno));
			goto fail;
		}
	}
	if (o->n_pids < 0 || o->n_pids > AGENT_MAX_PIDS) {
		snprintf(err, errlen, "at most %d --pid", AGENT_MAX_PIDS);
		goto fail;
	}
	a->n_pids = o->n_pids;
	memcpy(a->pids, o->pids, sizeof(pid_t) * (size_t)o->n_pids);
	if (o->vf_bond) {
		if (!proto_ifname_valid(o->vf_bond)) {
			snprintf(err, errlen, "--vf-bond %s: not an interface name", o->vf_bond);
			goto fail;
		}
		if (!a->ops->link_up || !a->ops->addrs || !a->ops->addr || !a->ops->routes ||
		    !a->ops->route_add) {
			snprintf(err, errlen, "--vf-bond: no network operations to bond with");
			goto fail;
		}
		str_copy(a->vfb.standby, o->vf_bond, sizeof(a->vfb.standby));
	}
	rc = -1;
	if (guest_cpus_possible(a, &possible) < 0 || cpuset_empty(&possible)) {
		snprintf(err, errlen, "cannot read /sys/devices/system/cpu/possible: %s",
			 strerror(errno));
		goto fail;
	}
	a->n_vcpus = cpuset_last(&possible) + 1;
	if (guest_cpus_online(a, &online) < 0) {
		snprintf(err, errlen, "cannot read /sys/devices/system/cpu/online: %s",
			 strerror(errno));
		goto fail;
	}
	a->active = online;
	return 0;
fail:
	close(a->root_fd);
	a->root_fd = -1;
	return rc;
}

void agent_fini(struct agent *a)
{
	if (a->root_fd >= 0)
		close(a->root_fd);
	a->root_fd = -1;
	free(a->saved);
	free(a->saved_tasks);
	a->saved = NULL;
	a->saved_tasks = NULL;
	a->n_saved = a->n_saved_tasks = 0;
}

static void agent_errf(struct agent_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void agent_errf(struct agent_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
}

static json_t *agent_cpulist_json(const struct vs_cpuset *s)
{
	char buf[1024];

	cpuset_format_list(s, buf, sizeof(buf));
	return json_string(buf);
}

static void agent_warn(json_t *warnings, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void agent_warn(json_t *warnings, const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warnx("%s", buf);
	/* a handful is enough to see what is wrong, and keeps replies small */
	if (json_array_size(warnings) < 4)
		json_array_append_new(warnings, json_string(buf));
}

/* The queue maximum ethtool reports: combined channels, else rx/tx pairs. */
static int agent_max_queues(const struct agent_channels *ch)
{
	if (ch->max_combined > 0)
		return (int)ch->max_combined;
	return (int)(ch->max_rx < ch->max_tx ? ch->max_rx : ch->max_tx);
}

static int agent_cur_queues(const struct agent_channels *ch)
{
	if (ch->max_combined > 0)
		return (int)ch->combined;
	return (int)(ch->rx < ch->tx ? ch->rx : ch->tx);
}

/* Queues of a NIC as ethtool or, failing that, sysfs sees them. */
static void agent_nic_queues(struct agent *a, const char *ifname, int *cur, int *max)
{
	struct agent_channels ch;

	if (a->ops->get_channels(a->ops_arg, ifname, &ch) == 0 && agent_max_queues(&ch) > 0) {
		*cur = agent_cur_queues(&ch);
		*max = agent_max_queues(&ch);
		return;
	}
	*cur = *max = guest_nic_tx_queues(a, ifname);
}

static json_t *agent_nics_json(struct agent *a)
{
	char names[AGENT_MAX_NICS][PROTO_IFNAME_MAX];
	int n = guest_nic_list(a, names, AGENT_MAX_NICS);
	json_t *arr = json_array();

	for (int i = 0; i < n; i++) {
		int cur, max;
		agent_nic_queues(a, names[i], &cur, &max);
		json_array_append_new(arr, json_pack("{s:s,s:i,s:i}", "name", names[i], "queues",
						     cur, "max_queues", max));
	}
	return arr;
}

static const char *agent_confine_name(const struct agent *a)
{
	if (a->cgroup[0] && a->n_pids > 0)
		return "cgroup+pids";
	if (a->cgroup[0])
		return "cgroup";
	return a->n_pids > 0 ? "pids" : "none";
}

static json_t *agent_hello(struct agent *a, const struct proto_request *req, struct agent_err *e)
{
	struct vs_cpuset online;

	(void)e;
	(void)req;
	if (guest_cpus_online(a, &online) < 0)
		cpuset_zero(&online);
	return json_pack("{s:i,s:s,s:i,s:o,s:o,s:[ss],s:s,s:b,s:o}", "proto", PROTO_VERSION,
			 "agent", "vspace-agent " AGENT_VERSION, "vcpus", a->n_vcpus, "online",
			 agent_cpulist_json(&online), "active", agent_cpulist_json(&a->active),
			 "methods", "cpuset", "hotplug", "confine", agent_confine_name(a),
			 "dry_run", a->dry_run, "nics", agent_nics_json(a));
}

/* Active vCPUs that are online, in order. */
static int agent_active_list(struct agent *a, int *cpus, int max)
{
	struct vs_cpuset online, act;
	int n = 0;

	if (guest_cpus_online(a, &online) < 0)
		online = a->active;
	cpuset_and(&act, &a->active, &online);
	if (cpuset_empty(&act))
		act = online;
	for (int c = cpuset_next(&act, 0); c >= 0 && n < max; c = cpuset_next(&act, c + 1))
		cpus[n++] = c;
	return n;
}

/* Point the queue IRQs and XPS of ifname (nq queues) at the active vCPUs:
 * queue q to vCPU active[q % k]; XPS of queue q = the active vCPUs j with
 * j % nq == q (so every active vCPU transmits on exactly one queue). */
static int agent_spread(struct agent *a, const char *ifname, int nq, json_t *warnings)
{
	int cpus[VS_MAX_CPUS], irqs[4 * AGENT_MAX_QUEUES], queues[4 * AGENT_MAX_QUEUES];
	int k = agent_active_list(a, cpus, VS_MAX_CPUS);
	int n_irq = guest_nic_irqs(a, ifname, irqs, queues, 4 * AGENT_MAX_QUEUES);
	char path[128], val[256];
	int pointed = 0;

	if (k == 0)
		return 0;
	for (int i = 0; i < n_irq; i++) {
		if (queues[i] >= nq)
			continue;
		pointed++;
		snprintf(path, sizeof(path), "proc/irq/%d/smp_affinity_list", irqs[i]);
		snprintf(val, sizeof(val), "%d", cpus[queues[i] % k]);
		if (guest_write(a, AGENT_SAVED_FILE, path, val) < 0)
			agent_warn(warnings, "%s: irq %d affinity: %s", ifname, irqs[i],
				   strerror(errno));
	}
	for (int q = 0; q < nq; q++) {
		struct vs_cpuset mask;
		cpuset_zero(&mask);
		for (int j = 0; j < k; j++)
			if (j % nq == q)
				cpuset_set(&mask, cpus[j]);
		if (cpuset_empty(&mask))
			cpuset_set(&mask, cpus[q % k]);
		cpuset_format_mask(&mask, a->n_vcpus, val, sizeof(val));
		snprintf(path, sizeof(path), "sys/class/net/%s/queues/tx-%d/xps_cpus", ifname, q);
		if (guest_write(a, AGENT_SAVED_FILE, path, val) < 0 && errno != ENOENT)
			agent_warn(warnings, "%s: tx-%d xps: %s", ifname, q, strerror(errno));
	}
	return pointed;
}

/* First touch of a NIC: record channels, XPS of every tx queue and the
 * affinity of every queue IRQ before anything changes. */
static int agent_save_nic(struct agent *a, const char *ifname, const struct agent_channels *ch)
{
	int irqs[4 * AGENT_MAX_QUEUES], queues[4 * AGENT_MAX_QUEUES];
	char path[128], val[256];

	for (int i = 0; i < a->n_saved_nics; i++)
		if (strcmp(a->saved_nics[i].ifname, ifname) == 0)
			return 0;
	if (a->n_saved_nics == AGENT_MAX_NICS)
		return -1;
	struct agent_saved_nic *s = &a->saved_nics[a->n_saved_nics++];
	str_copy(s->ifname, ifname, sizeof(s->ifname));
	s->ch = *ch;
	/* Writing the value a file already has records it without a change. */
	int ntx = guest_nic_tx_queues(a, ifname);
	for (int q = 0; q < ntx; q++) {
		snprintf(path, sizeof(path), "sys/class/net/%s/queues/tx-%d/xps_cpus", ifname, q);
		if (guest_read(a, path, val, sizeof(val)) == 0)
			guest_remember(a, AGENT_SAVED_FILE, path, val);
	}
	int n_irq = guest_nic_irqs(a, ifname, irqs, queues, 4 * AGENT_MAX_QUEUES);
	for (int i = 0; i < n_irq; i++) {
		snprintf(path, sizeof(path), "proc/irq/%d/smp_affinity_list", irqs[i]);
		if (guest_read(a, path, val, sizeof(val)) == 0)
			guest_remember(a, AGENT_SAVED_FILE, path, val);
	}
	return 0;
}

static struct agent_nic *agent_find_nic(struct agent *a, const char *ifname)
{
	for (int i = 0; i < a->n_nics; i++)
		if (strcmp(a->nics[i].ifname, ifname) == 0)
			return &a->nics[i];
	return NULL;
}

static json_t *agent_set_vnq(struct agent *a, const struct proto_request *req, struct agent_err *e)
{
	const char *ifname = req->u.set_vnq.ifname;
	int n = req->u.set_vnq.n, max, cur;
	struct agent_channels ch, want;
	json_t *warnings;

	if (!guest_nic_exists(a, ifname)) {
		agent_errf(e, "set_vnq: no network interface \"%s\" in this guest", ifname);
		return NULL;
	}
	if (a->ops->get_channels(a->ops_arg, ifname, &ch) < 0) {
		agent_errf(e, "set_vnq: %s: cannot read its channels (ETHTOOL_GCHANNELS): %s",
			   ifname, strerror(errno));
		return NULL;
	}
	max = agent_max_queues(&ch);
	cur = agent_cur_queues(&ch);
	if (n > max) {
		agent_errf(e, "set_vnq: n=%d is above the maximum of %s (%d queues)", n, ifname,
			   max);
		return NULL;
	}
	if (!agent_find_nic(a, ifname) && a->n_nics == AGENT_MAX_NICS) {
		agent_errf(e, "set_vnq: already managing %d NICs", AGENT_MAX_NICS);
		return NULL;
	}
	if (agent_save_nic(a, ifname, &ch) < 0) {
		agent_errf(e, "set_vnq: cannot record the original state of %s", ifname);
		return NULL;
	}
	if (n != cur) {
		want = ch;
		if (ch.max_combined > 0) {
			want.combined = (uint32_t)n;
		} else {
			want.rx = want.tx = (uint32_t)n;
		}
		if (a->dry_run) {
			log_info("dry-run: would set %s channels from %d to %d", ifname, cur, n);
		} else if (a->ops->set_channels(a->ops_arg, ifname, &want) < 0) {
			agent_errf(e, "set_vnq: %s: cannot set %d channels (ETHTOOL_SCHANNELS): %s",
				   ifname, n, strerror(errno));
			return NULL;
		} else {
			log_info("%s: %d -> %d queues", ifname, cur, n);
		}
	}
	struct agent_nic *nic = agent_find_nic(a, ifname);
	if (!nic) {
		nic = &a->nics[a->n_nics++];
		str_copy(nic->ifname, ifname, sizeof(nic->ifname));
	}
	nic->queues = n;
	warnings = json_array();
	int irqs = agent_spread(a, ifname, n, warnings);
	return json_pack("{s:s,s:i,s:i,s:i,s:o,s:i,s:b,s:o}", "ifname", ifname, "queues", n,
			 "previous", cur, "max_queues", max, "active",
			 agent_cpulist_json(&a->active), "irqs", irqs, "dry_run", a->dry_run,
			 "warnings", warnings);
}

/* Confine the application (cgroup and/or pids) to cpus. Returns 0, or -1
 * with e filled. */
static int agent_confine(struct agent *a, const struct vs_cpuset *cpus, struct agent_err *e)
{
	char path[160], list[1024];

	cpuset_format_list(cpus, list, sizeof(list));
	if (a->cgroup[0]) {
		snprintf(path, sizeof(path), "%s/cpuset.cpus", a->cgroup);
		if (guest_write(a, AGENT_SAVED_FILE, path, list) < 0) {
			agent_errf(e, "set_vcpus: cannot write \"%s\" to /%s: %s", list, path,
				   strerror(errno));
			return -1;
		}
	}
	for (int i = 0; i < a->n_pids; i++) {
		pid_t tids[256];
		int nt = guest_tasks(a, a->pids[i], tids, 256);
		if (nt < 0) {
			agent_errf(e, "set_vcpus: application pid %d: %s", (int)a->pids[i],
				   strerror(errno));
			return -1;
		}
		for (int t = 0; t < nt; t++) {
			bool known = false;
			for (int s = 0; s < a->n_saved_tasks && !known; s++)
				known = a->saved_tasks[s].tid == tids[t];
			if (!known) {
				struct vs_cpuset orig;
				if (a->ops->get_affinity(a->ops_arg, tids[t], &orig) < 0)
					continue; /* the thread just exited */
				if (a->n_saved_tasks == a->cap_saved_tasks) {
					int cap = a->cap_saved_tasks ? a->cap_saved_tasks * 2 : 16;
					struct agent_saved_task *ns =
						realloc(a->saved_tasks, (size_t)cap * sizeof(*ns));
					if (!ns) {
						agent_errf(e, "set_vcpus: out of memory");
						return -1;
					}
					a->saved_tasks = ns;
					a->cap_saved_tasks = cap;
				}
				a->saved_tasks[a->n_saved_tasks++] =
					(struct agent_saved_task){ tids[t], orig };
			}
			if (a->dry_run) {
				log_info("dry-run: would pin task %d to %s", (int)tids[t], list);
				continue;
			}
			if (a->ops->set_affinity(a->ops_arg, tids[t], cpus) < 0 && errno != ESRCH) {
				agent_errf(e, "set_vcpus: pin task %d to %s: %s", (int)tids[t],
					   list, strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

/* Online (want=true) or offline one vCPU; 0 when it already is. */
static int agent_cpu_online(struct agent *a, int cpu, bool want)
{
	char path[64];

	snprintf(path, sizeof(path), "sys/devices/system/cpu/cpu%d/online", cpu);
	if (faccessat(a->root_fd, path, F_OK, 0) < 0)
		return want ? 0 : -1; /* not hot-pluggable (cpu0): always online */
	return guest_write(a, AGENT_SAVED_ONLINE, path, want ? "1" : "0");
}

static json_t *agent_set_vcpus(struct agent *a, const struct proto_request *req,
			       struct agent_err *e)
{
	int n = req->u.set_vcpus.n;
	enum proto_vcpu_method method = req->u.set_vcpus.method;
	struct vs_cpuset target, online, before_online;
	json_t *warnings;

	if (n > a->n_vcpus) {
		agent_errf(e, "set_vcpus: n=%d is above the %d vCPUs of this guest", n, a->n_vcpus);
		return NULL;
	}
	if (method == PROTO_VCPUS_CPUSET && !a->cgroup[0] && a->n_pids == 0) {
		agent_errf(e, "set_vcpus: method cpuset needs an application to confine (start "
			      "the agent with --cgroup or --pid), or use method hotplug");
		return NULL;
	}
	if (guest_cpus_online(a, &before_online) < 0)
		cpuset_zero(&before_online);
	cpuset_zero(&target);
	for (int c = 0; c < n; c++)
		cpuset_set(&target, c);

	/* vCPUs come online before the application may use them; with
	 * "cpuset" every vCPU the agent took offline earlier comes back. */
	for (int c = 0; c < a->n_vcpus; c++) {
		bool want = c < n || method == PROTO_VCPUS_CPUSET;
		if (!want || cpuset_test(&before_online, c))
			continue;
		if (agent_cpu_online(a, c, true) < 0) {
			agent_errf(e, "set_vcpus: cannot bring vCPU %d online: %s", c,
				   strerror(errno));
			goto undo;
		}
	}
	if (agent_confine(a, &target, e) < 0)
		goto undo;
	if (method == PROTO_VCPUS_HOTPLUG) {
		for (int c = a->n_vcpus - 1; c >= n; c--) {
			if (!cpuset_test(&before_online, c))
				continue;
			if (agent_cpu_online(a, c, false) < 0) {
				agent_errf(e, "set_vcpus: cannot take vCPU %d offline: %s", c,
					   strerror(errno));
				goto undo;
			}
		}
	}
	a->active = target;
	warnings = json_array();
	for (int i = 0; i < a->n_nics; i++)
		agent_spread(a, a->nics[i].ifname, a->nics[i].queues, warnings);
	if (guest_cpus_online(a, &online) < 0)
		cpuset_zero(&online);
	log_info("active vCPUs %d (%s)", n, proto_vcpu_method_name(method));
	return json_pack("{s:i,s:s,s:o,s:o,s:s,s:b,s:o}", "n", n, "method",
			 proto_vcpu_method_name(method), "active", agent_cpulist_json(&target),
			 "online", agent_cpulist_json(&online), "confine", agent_confine_name(a),
			 "dry_run", a->dry_run, "warnings", warnings);
undo:
	/* Leave the vCPUs online as they were; the confinement keeps the last
	 * good set (a partial write is retried by the next command). */
	for (int c = 0; c < a->n_vcpus; c++)
		if (cpuset_test(&before_online, c))
			agent_cpu_online(a, c, true);
	return NULL;
}

static json_t *agent_u64_array(const uint64_t *v, int n)
{
	json_t *arr = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(arr, json_integer((json_int_t)v[i]));
	return arr;
}

static json_t *agent_stats(struct agent *a, const struct proto_request *req, struct agent_err *e)
{
	int64_t busy[VS_MAX_CPUS], total[VS_MAX_CPUS];
	char names[AGENT_MAX_NICS][PROTO_IFNAME_MAX], err[160];
	struct vs_cpuset online;
	struct timespec ts;
	int n_nics;
	json_t *jb, *jt, *nics;

	if (guest_cpu_times(a, busy, total, a->n_vcpus, err, sizeof(err)) < 0) {
		agent_errf(e, "stats: %s", err);
		return NULL;
	}
	if (req->u.stats.ifname[0]) {
		if (!guest_nic_exists(a, req->u.stats.ifname)) {
			agent_errf(e, "stats: no network interface \"%s\" in this guest",
				   req->u.stats.ifname);
			return NULL;
		}
		str_copy(names[0], req->u.stats.ifname, PROTO_IFNAME_MAX);
		n_nics = 1;
	} else {
		n_nics = guest_nic_list(a, names, AGENT_MAX_NICS);
	}
	if (guest_cpus_online(a, &online) < 0)
		cpuset_zero(&online);
	jb = json_array();
	jt = json_array();
	for (int c = 0; c < a->n_vcpus; c++) {
		json_array_append_new(jb, busy[c] < 0 ? json_null() : json_integer(busy[c]));
		json_array_append_new(jt, total[c] < 0 ? json_null() : json_integer(total[c]));
	}
	nics = json_array();
	for (int i = 0; i < n_nics; i++) {
		struct agent_qstats *qs = calloc(1, sizeof(*qs));
		int cur, max;
		if (!qs)
			continue;
		agent_nic_queues(a, names[i], &cur, &max);
		json_t *nic = json_pack("{s:s,s:i,s:i}", "name", names[i], "queues", cur,
					"max_queues", max);
		struct agent_nic_info info;
		if (nic && guest_nic_info(a, names[i], &info) == 0) {
			/* totals of any driver, the state, the failover/bond master */
			json_object_set_new(nic, "packets",
					    json_pack("[I,I]", (json_int_t)info.rx_packets,
						      (json_int_t)info.tx_packets));
			json_object_set_new(nic, "oper", json_string(info.oper));
			json_object_set_new(nic, "mac", json_string(info.mac));
			if (info.master[0])
				json_object_set_new(nic, "master", json_string(info.master));
		}
		if (a->ops->queue_stats(a->ops_arg, names[i], qs) == 0) {
			/* counters of the queues in use (drivers keep the rest) */
			int nr = qs->n_rx < cur ? qs->n_rx : cur;
			int nt = qs->n_tx < cur ? qs->n_tx : cur;
			json_object_set_new(nic, "rx_packets", agent_u64_array(qs->rx_packets, nr));
			json_object_set_new(nic, "rx_bytes", agent_u64_array(qs->rx_bytes, nr));
			json_object_set_new(nic, "tx_packets", agent_u64_array(qs->tx_packets, nt));
			json_object_set_new(nic, "tx_bytes", agent_u64_array(qs->tx_bytes, nt));
		}
		free(qs);
		json_array_append_new(nics, nic);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	json_t *r = json_pack("{s:I,s:i,s:o,s:o,s:o,s:o,s:o}", "t_ms",
			      (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, "vcpus",
			      a->n_vcpus, "online", agent_cpulist_json(&online), "active",
			      agent_cpulist_json(&a->active), "busy_ms", jb, "total_ms", jt, "nics",
			      nics);
	json_t *vfb = agent_vfbond_json(a);
	if (r && vfb)
		json_object_set_new(r, "vf_bond", vfb);
	else
		json_decref(vfb);
	/* what the kernel lets the application use (cgroup v2, else v1 name) */
	if (r && a->cgroup[0]) {
		char path[160], val[256];
		snprintf(path, sizeof(path), "%s/cpuset.cpus.effective", a->cgroup);
		if (guest_read(a, path, val, sizeof(val)) < 0) {
			snprintf(path, sizeof(path), "%s/cpuset.effective_cpus", a->cgroup);
			if (guest_read(a, path, val, sizeof(val)) < 0)
				snprintf(val, sizeof(val), "?");
		}
		json_object_set_new(r, "app_cpus", json_string(val));
	}
	return r;
}

/* The host leaves (vspaced on_exit=restore): put back what was changed. */
static json_t *agent_restore_cmd(struct agent *a, const struct proto_request *req,
				 struct agent_err *e)
{
	int values = a->n_saved, nics = a->n_saved_nics, tasks = a->n_saved_tasks;
	int failed = agent_restore(a);
	struct vs_cpuset online;

	(void)req;
	if (failed > 0) {
		agent_errf(e,
			   "restore: %d of %d settings could not be put back (see the agent's log)",
			   failed, values + nics + tasks);
		return NULL;
	}
	if (guest_cpus_online(a, &online) == 0)
		a->active = online;
	return json_pack("{s:i,s:i,s:i,s:b}", "values", values, "nics", nics, "tasks", tasks,
			 "dry_run", a->dry_run);
}

typedef json_t *(*agent_cmd_fn)(struct agent *a, const struct proto_request *req,
				struct agent_err *e);

static const agent_cmd_fn agent_cmds[PROTO_CMD_COUNT] = {
	[PROTO_CMD_HELLO] = agent_hello,	 [PROTO_CMD_SET_VNQ] = agent_set_vnq,
	[PROTO_CMD_SET_VCPUS] = agent_set_vcpus, [PROTO_CMD_STATS] = agent_stats,
	[PROTO_CMD_RESTORE] = agent_restore_cmd,
};

int agent_handle_line(struct agent *a, const char *line, size_t len, char *reply, size_t replylen)
{
	struct proto_request req;
	struct agent_err e = { "" };
	json_t *result;
	int n;

	a->requests++;
	if (proto_decode_request(line, len, &req, e.text, sizeof(e.text)) < 0) {
		a->errors++;
		log_debug("bad request: %s", e.text);
		return proto_encode_error(reply, replylen, req.has_id, req.id, e.text);
	}
	result = agent_cmds[req.cmd](a, &req, &e);
	if (!result) {
		a->errors++;
		if (!e.text[0])
			snprintf(e.text, sizeof(e.text), "%s: out of memory",
				 proto_cmd_name(req.cmd));
		log_warnx("%s", e.text);
		return proto_encode_error(reply, replylen, true, req.id, e.text);
	}
	n = proto_encode_ok(reply, replylen, true, req.id, result);
	json_decref(result);
	if (n < 0) {
		a->errors++;
		snprintf(e.text, sizeof(e.text), "%s: the answer exceeds %d bytes%s",
			 proto_cmd_name(req.cmd), PROTO_MAX_MSG,
			 req.cmd == PROTO_CMD_STATS ? "; ask for one NIC: {\"ifname\":...}" : "");
		return proto_encode_error(reply, replylen, true, req.id, e.text);
	}
	return n;
}

int agent_reply_too_long(struct agent *a, char *reply, size_t replylen)
{
	char text[96];

	a->requests++;
	a->errors++;
	snprintf(text, sizeof(text), "message exceeds the limit of %d bytes (dropped)",
		 PROTO_MAX_MSG);
	return proto_encode_error(reply, replylen, false, 0, text);
}

static int agent_restore_file(struct agent *a, const struct agent_saved_file *s)
{
	if (a->dry_run)
		return 0;
	if (guest_write_raw(a, s->path, s->value) == 0)
		return 0;
	if (errno == ENOENT)
		return 0; /* the object is gone (a queue or IRQ that no longer exists) */
	size_t plen = strlen(s->path), tail = strlen("/cpuset.cpus");
	if (errno == ENOSPC && !s->value[0] && plen > tail &&
	    !strcmp(s->path + plen - tail, "/cpuset.cpus")) {
		/* An empty cpuset.cpus (inherit the parent's) cannot be written back
		 * while the cgroup has tasks: the parent's cpus are the same set. */
		char parent[sizeof(s->path) + 32], cpus[256];
		snprintf(parent, sizeof(parent), "%.*s/../cpuset.cpus.effective",
			 (int)(plen - tail), s->path);
		if (guest_read(a, parent, cpus, sizeof(cpus)) == 0 && cpus[0] &&
		    guest_write_raw(a, s->path, cpus) == 0) {
			log_info("restore: /%s has tasks, so it cannot be empty (inherit) again: "
				 "set to "
				 "its parent's cpus %s",
				 s->path, cpus);
			return 0;
		}
		errno = ENOSPC;
	}
	log_warn("restore \"%s\" to /%s", s->value, s->path);
	return -1;
}

int agent_restore(struct agent *a)
{
	int failed = 0;

	/* 0. a VF bond the agent built: the standby gets its configuration back */
	failed += agent_vfbond_release(a) < 0;

	/* 1. vCPUs back online, so affinities naming them can be restored. */
	for (int i = 0; i < a->n_saved; i++)
		if (a->saved[i].kind == AGENT_SAVED_ONLINE)
			failed += agent_restore_file(a, &a->saved[i]) < 0;
	/* 2. channel counts, so the queues whose XPS was saved exist again. */
	for (int i = 0; i < a->n_saved_nics; i++) {
		struct agent_saved_nic *s = &a->saved_nics[i];
		struct agent_channels cur;
		if (a->dry_run)
			continue;
		if (a->ops->get_channels(a->ops_arg, s->ifname, &cur) == 0 &&
		    agent_cur_queues(&cur) == agent_cur_queues(&s->ch))
			continue;
		if (a->ops->set_channels(a->ops_arg, s->ifname, &s->ch) < 0) {
			log_warn("restore %s to %d queues", s->ifname, agent_cur_queues(&s->ch));
			failed++;
		}
	}
	/* 3. files, newest first */
	for (int i = a->n_saved - 1; i >= 0; i--)
		if (a->saved[i].kind == AGENT_SAVED_FILE)
			failed += agent_restore_file(a, &a->saved[i]) < 0;
	/* 4. task affinities */
	for (int i = 0; i < a->n_saved_tasks; i++) {
		if (a->dry_run)
			continue;
		if (a->ops->set_affinity(a->ops_arg, a->saved_tasks[i].tid,
					 &a->saved_tasks[i].cpus) < 0 &&
		    errno != ESRCH) {
			log_warn("restore affinity of task %d", (int)a->saved_tasks[i].tid);
			failed++;
		}
	}
	if (a->n_saved + a->n_saved_nics + a->n_saved_tasks > 0)
		log_info("restored the guest's settings (%d values, %d NICs, %d tasks, %d failed)",
			 a->n_saved, a->n_saved_nics, a->n_saved_tasks, failed);
	a->n_saved = a->n_saved_nics = a->n_saved_tasks = 0;
	a->n_nics = 0;
	return failed;
}
