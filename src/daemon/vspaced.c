/* vspaced.c - the daemon's loop: set-up, the epoll loop (timerfd with absolute deadlines, signalfd, sockets), one period (discovery, reconcile, the controller's step), tear-down. */
#include "daemon/vspaced.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon/sdnotify.h"
#include "daemon/vspaced_int.h"
#include "lib/log.h"
#include "lib/strutil.h"

/* At exit (on_exit=restore): how long the guest agents get to put the
 * guests back (a TCG guest answers in milliseconds). */
#define VSD_AGENT_RESTORE_MS 2000

double vsd_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double vsd_thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void vsd_cpus(const struct vs_cpuset *s, char *buf, size_t len)
{
	cpuset_format_list(s, buf, len);
	if (!buf[0])
		str_copy(buf, "-", len);
}

/* ---- The period ---------------------------------------------------------------------------------- */

void vsd_log_changes(struct vsd *d)
{
	const struct vs_controller *c = &d->ctl;

	if (d->n_last < c->n_wl) {
		struct vsd_last *nl = realloc(d->last, sizeof(*nl) * (size_t)c->cap_wl);
		if (!nl)
			return;
		memset(nl + d->n_last, 0, sizeof(*nl) * (size_t)(c->cap_wl - d->n_last));
		d->last = nl;
		d->n_last = c->cap_wl;
	}
	for (int i = 0; i < c->n_wl; i++) {
		const struct vs_wl_plan *wp = &c->plan.wl[i];
		struct vsd_last *l = NULL;
		char v[256], n[256];

		for (int j = 0; j < d->n_last; j++)
			if (!strcmp(d->last[j].name, c->wl[i].name))
				l = &d->last[j];
		if (!l)
			for (int j = 0; j < d->n_last; j++)
				if (!d->last[j].name[0]) {
					l = &d->last[j];
					str_copy(l->name, c->wl[i].name, sizeof(l->name));
					l->alloc.n_vcpu = -1;
					break;
				}
		if (!l)
			continue;
		if (l->alloc.n_vcpu == wp->alloc.n_vcpu && l->alloc.n_nq == wp->alloc.n_nq &&
		    l->alloc.layout == wp->alloc.layout &&
		    cpuset_equal(&l->vcpu, &wp->vcpu_cores) && cpuset_equal(&l->nq, &wp->nq_cores))
			continue;
		vsd_cpus(&wp->vcpu_cores, v, sizeof(v));
		vsd_cpus(&wp->nq_cores, n, sizeof(n));
		log_info("workload %s: vcpu group %d core%s [%s], nq group %d core%s [%s], %d "
			 "vCPUs, "
			 "%d queues: %s",
			 c->wl[i].name, wp->alloc.n_vcpu, wp->alloc.n_vcpu == 1 ? "" : "s", v,
			 wp->alloc.n_nq, wp->alloc.n_nq == 1 ? "" : "s", n, wp->alloc.vcpus,
			 wp->alloc.queues, c->wl[i].decision.why);
		l->alloc = wp->alloc;
		l->vcpu = wp->vcpu_cores;
		l->nq = wp->nq_cores;
	}
}

/* What reconcile did, in the daemon's log. */
static void vsd_reconcile_note(void *arg, enum vs_reconcile_event ev, const struct vs_wl_report *wl,
			       const char *why)
{
	switch (ev) {
	case VS_RECONCILE_ADDED:
		log_info("workload %s: %s", wl->name, why);
		break;
	case VS_RECONCILE_DROPPED:
		log_info("workload %s dropped from the controller: %s", wl->name, why);
		break;
	case VS_RECONCILE_REFUSED:
		log_warnx("workload %s: %s", wl->name, why);
		break;
	}
}

/* Discovery, then the controller in step with it. Returns the number of
 * workloads added (to be placed by controller_start). */
static int vsd_refresh(struct vsd *d, double now)
{
	struct vs_discovery disc;

	linuxplat_refresh(d->lx, now, &disc);
	return controller_reconcile(&d->ctl, &disc, vsd_reconcile_note, d);
}

/* One control period; now_s is the monotonic time (simulated by --bench). */
void vsd_period(struct vsd *d, double now)
{
	double t0 = vsd_thread_cpu(), dt;
	int rc;

	if (vsd_refresh(d, now) > 0 && controller_start(&d->ctl) < 0)
		log_warnx("placing new workloads: %s", d->ctl.last_error);
	rc = controller_step(&d->ctl);
	if (rc < 0 && strcmp(d->last_error, d->ctl.last_error) != 0)
		log_warnx("no plan this period: %s (the allocation in force stays)",
			  d->ctl.last_error);
	str_copy(d->last_error, rc < 0 ? d->ctl.last_error : "", sizeof(d->last_error));
	vsd_log_changes(d);
	if (d->have_vf) /* FlexVF: the VMs the controller runs, the interval's decision */
		vfm_tick(&d->vf, now, true, &d->ctl, d->have_agents ? &d->agents : NULL);
	vsd_memnet_tick(&d->mn, now);
	dt = vsd_thread_cpu() - t0;
	d->cost_last_s = dt;
	d->cost_sum_s += dt;
	d->cost_n++;
	if (dt > d->cost_max_s)
		d->cost_max_s = dt;
	if (d->cfg.metrics_textfile[0] && now - d->textfile_s >= 1.0) {
		metrics_write_textfile(d->cfg.metrics_textfile, vsd_render, d);
		d->textfile_s = now;
	}
	if (d->watchdog_usec && now - d->watchdog_s >= (double)d->watchdog_usec * 0.5e-6) {
		sdnotify("WATCHDOG=1");
		d->watchdog_s = now;
	}
}

/* libvirt's event loop ran: when it brought domain events (a VM started or
 * stopped, libvirtd went away), discovery and the controller follow now,
 * not at the next period. */
static void vsd_virt(struct vsd *d)
{
	virtev_dispatch(d->virt_loop);
	if (!linuxplat_virt_pending(d->lx))
		return;
	if (vsd_refresh(d, vsd_now()) > 0 && controller_start(&d->ctl) < 0)
		log_warnx("placing new workloads: %s", d->ctl.last_error);
	vsd_log_changes(d);
}

static int vsd_arm(struct vsd *d)
{
	struct itimerspec its = { 0 };
	uint64_t ns = (d->tick + 1) * (uint64_t)d->period_ms * 1000000ull;

	its.it_value.tv_sec = d->t0.tv_sec + (time_t)(ns / 1000000000ull);
	its.it_value.tv_nsec = d->t0.tv_nsec + (long)(ns % 1000000000ull);
	if (its.it_value.tv_nsec >= 1000000000L) {
		its.it_value.tv_sec++;
		its.it_value.tv_nsec -= 1000000000L;
	}
	return timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The timer fired: catch up with the deadlines, run one period, re-arm. */
static void vsd_timer(struct vsd *d)
{
	struct timespec now;
	uint64_t exp, elapsed_ns, due;

	if (read(d->tfd, &exp, sizeof(exp)) != sizeof(exp))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed_ns = (uint64_t)(now.tv_sec - d->t0.tv_sec) * 1000000000ull +
		     (uint64_t)(now.tv_nsec - d->t0.tv_nsec);
	due = elapsed_ns / ((uint64_t)d->period_ms * 1000000ull);
	if (due > d->tick + 1) {
		d->overruns += due - d->tick - 1;
		log_debug("%llu period deadline(s) missed",
			  (unsigned long long)(due - d->tick - 1));
	}
	d->tick = due > d->tick ? due : d->tick + 1;
	vsd_period(d, vsd_now());
	if (vsd_arm(d) < 0)
		log_warn("timerfd_settime");
}

static void vsd_signal(struct vsd *d)
{
	struct signalfd_siginfo si;

	while (read(d->sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
		case SIGQUIT:
			log_info("signal %d: stopping", (int)si.ssi_signo);
			d->stop = true;
			break;
		case SIGHUP:
			log_warnx("SIGHUP: reloading the configuration is not supported; restart "
				  "vspaced to apply a new one");
			break;
		case SIGUSR1: {
			char *text = vsd_explain(d);
			if (text) {
				for (char *line = strtok(text, "\n"); line;
				     line = strtok(NULL, "\n"))
					log_info("explain: %s", line);
				free(text);
			}
			break;
		}
		default:
			break;
		}
	}
}

/* ---- Set-up and tear-down ----------------------------------------------------------------------- */

static int vsd_setup_loop(struct vsd *d, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t set;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || d->epfd < 0 || d->tfd < 0) {
		snprintf(err, errlen, "event loop set-up: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	d->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sfd < 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		return -1;
	}
	ev.data.u64 = (uint64_t)VSD_TAG_TIMER << 32;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tfd, &ev);
	ev.data.u64 = (uint64_t)VSD_TAG_SIGNAL << 32;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sfd, &ev);
	return 0;
}

/* A link to the guest agent of every LC workload with agent=, plugged into
 * the platform as the workload's guest actuator. */
static int vsd_agents(struct vsd *d, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)VSD_TAG_AGENT << 32 };

	for (int i = 0; i < d->cfg.n_wl; i++) {
		const struct vs_wl_spec *w = &d->cfg.wl[i];
		char addr[PROTO_PATH_MAX + 16];
		struct agentlink *l;

		if (!w->lc || w->agent.kind == VS_AGENT_NONE)
			continue;
		if (!d->have_agents) {
			if (agentlinks_init(&d->agents, NULL, err, errlen) < 0)
				return -1;
			d->have_agents = true;
			if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, agentlinks_fd(&d->agents), &ev) < 0) {
				snprintf(err, errlen, "agent links: epoll_ctl: %s",
					 strerror(errno));
				return -1;
			}
		}
		vs_agent_format(&w->agent, addr, sizeof(addr));
		l = agentlinks_add(&d->agents, w->name, addr, w->guest_nic, err, errlen);
		if (!l)
			return -1;
		linuxplat_set_guest(d->lx, w->name, &l->base);
		log_info("workload %s: guest agent at %s (guest NIC %s)", w->name, addr,
			 w->guest_nic[0] ? w->guest_nic : "from the agent's hello");
	}
	if (d->have_agents)
		agentlinks_poll(&d->agents, proto_now_ms()); /* start connecting */
	return 0;
}

/* Real-time priority and housekeeping cores for the loop (live runs only). */
static void vsd_sched(struct vsd *d)
{
	if (d->cfg.has_housekeeping) {
		cpu_set_t *set = CPU_ALLOC(VS_MAX_CPUS);
		size_t sz = CPU_ALLOC_SIZE(VS_MAX_CPUS);
		if (set) {
			CPU_ZERO_S(sz, set);
			for (int c = cpuset_next(&d->cfg.housekeeping, 0); c >= 0;
			     c = cpuset_next(&d->cfg.housekeeping, c + 1))
				CPU_SET_S(c, sz, set);
			if (sched_setaffinity(0, sz, set) < 0)
				log_warn("housekeeping cores");
			CPU_FREE(set);
		}
	}
	if (d->cfg.rt_priority > 0) {
		struct sched_param sp = { .sched_priority = d->cfg.rt_priority };
		if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) < 0)
			log_warn("rt_priority %d (SCHED_FIFO); the loop runs at normal priority",
				 d->cfg.rt_priority);
		else
			log_info("control loop at SCHED_FIFO priority %d", d->cfg.rt_priority);
	}
}

static int vsd_loop(struct vsd *d)
{
	struct epoll_event ev[16];

	clock_gettime(CLOCK_MONOTONIC, &d->t0);
	d->tick = 0;
	if (vsd_arm(d) < 0) {
		log_warn("timerfd_settime");
		return 1;
	}
	while (!d->stop) {
		uint64_t now_ms = proto_now_ms();
		int timeout = d->have_agents ? agentlinks_timeout_ms(&d->agents, now_ms) : -1;
		int n;

		if (d->have_ctl) {
			int t = ctlsock_timeout_ms(&d->ctlsock, now_ms);
			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		if (d->have_vf) {
			int vt = vfm_timeout_ms(&d->vf);
			if (vt >= 0 && (timeout < 0 || vt < timeout))
				timeout = vt; /* a hot-plug in flight: QEMU's answers and events */
		}
		n = epoll_wait(d->epfd, ev, 16, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			unsigned tag = (unsigned)(ev[i].data.u64 >> 32);
			unsigned slot = (unsigned)(ev[i].data.u64 & 0xffffffffu);
			switch (tag) {
			case VSD_TAG_TIMER:
				vsd_timer(d);
				if (d->opt.once)
					d->stop = true;
				break;
			case VSD_TAG_SIGNAL:
				vsd_signal(d);
				break;
			case VSD_TAG_CTL:
				ctlsock_event(&d->ctlsock, slot, ev[i].events);
				break;
			case VSD_TAG_METRICS:
				metrics_event(&d->met, slot, ev[i].events);
				break;
			case VSD_TAG_VIRT:
				vsd_virt(d);
				break;
			default: /* VSD_TAG_AGENT: handled below */
				break;
			}
		}
		if (d->have_ctl)
			ctlsock_tick(&d->ctlsock, proto_now_ms());
		/* after a period too: its plan may have changed what the guests should have */
		if (d->have_agents)
			agentlinks_poll(&d->agents, proto_now_ms());
		if (d->have_vf)
			vfm_tick(&d->vf, vsd_now(), false, &d->ctl, NULL);
	}
	return 0;
}

static int vsd_mkdirs(const char *dir)
{
	char buf[PATH_MAX];

	str_copy(buf, dir, sizeof(buf));
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

int vsd_main(const struct vsd_opts *opts)
{
	struct vsd *d = calloc(1, sizeof(*d));
	struct vs_linux_config lc;
	struct vs_policy pol;
	char err[1024], state_path[PATH_MAX];
	double first_s = 0;
	int rc = 1, frc;

	if (!d)
		return 1;
	d->lock.fd = -1;
	d->opt = *opts;
	d->epfd = d->tfd = d->sfd = -1;
	d->start_s = vsd_now();
	if (config_load(&d->cfg, opts->config, err, sizeof(err)) < 0) {
		log_errorx("%s", err);
		free(d);
		return 2;
	}
	log_set_level(opts->verbose ? VS_LOG_DEBUG : d->cfg.log_level);
	d->period_ms = opts->period_ms > 0 ? opts->period_ms : d->cfg.period_ms;
	if (vsd_policy(d, d->cfg.policy, &pol, err, sizeof(err)) < 0) {
		log_errorx("%s: %s", opts->config, err);
		rc = 2;
		goto out;
	}
	if (opts->check) {
		struct vs_linux_problem prob[32];
		char cores[256];
		int np;

		/* what the host says of it, changing nothing */
		config_linux(&d->cfg, opts->sysroot, true, &lc);
		np = linuxplat_check(&lc, prob, 32);
		for (int i = 0; i < np && i < 32; i++) {
			char sect[96];
			if (prob[i].wl >= 0)
				snprintf(sect, sizeof(sect), "workload \"%s\"",
					 d->cfg.wl[prob[i].wl].name);
			else
				str_copy(sect, "host", sizeof(sect));
			log_errorx("%s:%d: [%s] %s: %s", opts->config,
				   config_key_line(&d->cfg, prob[i].wl, prob[i].key), sect,
				   prob[i].key, prob[i].msg);
		}
		if (np > 0) {
			log_errorx("%s: %d problem%s with this host%s", opts->config, np,
				   np == 1 ? "" : "s", np > 32 ? " (the first 32 shown)" : "");
			rc = 2;
			goto out;
		}
		cpuset_format_list(&d->cfg.managed, cores, sizeof(cores));
		printf("vspaced: configuration %s is valid: %d workload%s (%d LC), %d managed "
		       "cores (%s), policy %s, period %d ms",
		       opts->config, d->cfg.n_wl, d->cfg.n_wl == 1 ? "" : "s", d->cfg.n_lc,
		       cpuset_count(&d->cfg.managed), cores, pol.spec, d->period_ms);
		if (d->cfg.n_memnet)
			printf(", %d MemNet region%s in a %.1f MiB budget", d->cfg.n_memnet,
			       d->cfg.n_memnet == 1 ? "" : "s",
			       (double)d->cfg.memnet_budget_bytes / 1048576.0);
		printf("\n");
		rc = 0;
		goto out;
	}

	/* one vspaced per host, before anything is read as an "original" */
	if (!opts->dry_run) {
		char lock_path[PATH_MAX];
		bool under = opts->sysroot && strcmp(opts->sysroot, "/") != 0;
		/* a fixture tree is a host of its own: its lock lives in it */
		snprintf(lock_path, sizeof(lock_path), "%s%s", under ? opts->sysroot : "",
			 d->cfg.lock_file);
		if (hostlock_take(&d->lock, lock_path, opts->config, d->cfg.state_dir,
				  d->cfg.cgroup_parent, err, sizeof(err)) < 0) {
			log_errorx("%s", err);
			goto out;
		}
	}

	/* after a crash: put the host back before anything else */
	config_state_path(&d->cfg, state_path, sizeof(state_path));
	if (!opts->dry_run) {
		if (vsd_mkdirs(d->cfg.state_dir) < 0) {
			log_error("state_dir %s", d->cfg.state_dir);
			goto out;
		}
		frc = linuxplat_recover(opts->sysroot, state_path, false, err, sizeof(err));
		if (frc < 0) {
			log_errorx("%s", err);
			goto out;
		}
	} else if (access(state_path, F_OK) == 0) {
		log_info("dry-run: %s exists; a real run would restore it first", state_path);
	}

	config_linux(&d->cfg, opts->sysroot, opts->dry_run, &lc);
	/* libvirt= workloads are followed through libvirt's events when the loop
	 * runs (not for --once or the benchmarks: one pass, polled) */
	if (!opts->once && !opts->bench && !opts->bench_writes) {
		bool virt = false;
		for (int i = 0; i < d->cfg.n_wl; i++)
			virt |= d->cfg.wl[i].source == VS_SRC_LIBVIRT;
		if (virt && virtev_open(&d->virt_loop, err, sizeof(err)) < 0)
			log_warnx("%s: libvirt workloads are polled", err);
		lc.virt_loop = d->virt_loop;
	}
	/* the QMP wait for the halt-polling counters stays a quarter of the period */
	if (lc.qmp_wait_ms > d->period_ms / 4) {
		int w = d->period_ms / 4 > 0 ? d->period_ms / 4 : 1;
		bool qmp = false;
		for (int i = 0; i < d->cfg.n_wl; i++)
			qmp |= d->cfg.wl[i].lc && d->cfg.wl[i].qmp[0];
		if (qmp && d->cfg.halt_poll == VS_HALTPOLL_AUTO &&
		    d->cfg.halt_poll_source != VS_HPSRC_DEBUGFS)
			log_info("halt_poll_qmp_wait_ms %d is more than a quarter of the %d ms "
				 "period: waiting at most %d ms",
				 lc.qmp_wait_ms, d->period_ms, w);
		lc.qmp_wait_ms = w;
	}
	if (linuxplat_open(&d->lx, &lc, err, sizeof(err)) < 0) {
		log_errorx("%s: %s", opts->config, err);
		rc = 2;
		goto out;
	}
	if (controller_init(&d->ctl, &pol, &d->cfg.params, linuxplat_topology(d->lx),
			    linuxplat_platform(d->lx), err, sizeof(err)) < 0) {
		log_errorx("%s: %s", opts->config, err);
		rc = 2;
		goto out;
	}
	d->ctl_ready = true;
	vsd_policy_changed(d);
	if (vsd_memnet_init(&d->mn, &d->cfg, opts->dry_run, vsd_now(), err, sizeof(err)) < 0) {
		log_errorx("%s: %s", opts->config, err);
		rc = 2;
		goto out;
	}
	if (opts->verbose) {
		size_t n = linuxplat_describe(d->lx, NULL, 0);
		char *text = malloc(n + 1);
		if (text) {
			linuxplat_describe(d->lx, text, n + 1);
			for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
				log_debug("discovery: %s", line);
			free(text);
		}
	}

	if (vsd_setup_loop(d, err, sizeof(err)) < 0) {
		log_errorx("%s", err);
		goto out;
	}
	if (d->virt_loop) {
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = (uint64_t)VSD_TAG_VIRT << 32 };
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, virtev_fd(d->virt_loop), &ev) < 0) {
			log_error("libvirt event loop: epoll_ctl");
			goto out;
		}
	}
	if (!opts->once && !opts->bench && !opts->bench_writes &&
	    vsd_agents(d, err, sizeof(err)) < 0) {
		log_errorx("%s: %s", opts->config, err);
		rc = 2;
		goto out;
	}
	if (d->cfg.vf.on && !opts->once && !opts->bench && !opts->bench_writes) {
		if (vfm_open(&d->vf, &d->cfg, opts->sysroot, opts->dry_run, err, sizeof(err)) < 0) {
			vfm_close(&d->vf);
			log_errorx("%s: [vf]: %s", opts->config, err);
			rc = 2;
			goto out;
		}
		d->have_vf = true;
	}
	{
		double t0 = vsd_thread_cpu();
		vsd_refresh(d, vsd_now());
		if (controller_start(&d->ctl) < 0)
			log_warnx("first allocation: %s", d->ctl.last_error);
		vsd_log_changes(d);
		first_s = vsd_thread_cpu() - t0;
	}

	if (opts->bench > 0) {
		rc = vsd_bench(d, first_s);
		goto out;
	}
	if (opts->bench_writes > 0) {
		vsd_sched(d); /* the writer as the loop runs: real-time priority */
		rc = vsd_bench_writes(d);
		goto out;
	}
	if (d->cfg.control_socket[0] && !opts->once) {
		if (ctlsock_open(&d->ctlsock, d->cfg.control_socket, d->epfd, VSD_TAG_CTL,
				 d->cfg.has_control_gid, d->cfg.control_gid, vsd_handle, d, err,
				 sizeof(err)) < 0) {
			log_errorx("%s", err);
			goto out;
		}
		d->have_ctl = true;
	}
	if (d->cfg.metrics_listen[0] && !opts->once) {
		if (metrics_open(&d->met, d->cfg.metrics_listen, d->epfd, VSD_TAG_METRICS,
				 vsd_render, d, err, sizeof(err)) < 0) {
			log_errorx("%s", err);
			goto out;
		}
		d->have_met = true;
	}
	if (!opts->dry_run && (!opts->sysroot || !strcmp(opts->sysroot, "/")))
		vsd_sched(d);
	d->watchdog_usec = sdnotify_watchdog_usec();
	sdnotify("READY=1\nSTATUS=managing cores");
	log_info("running: policy %s, %d cores, period %d ms%s", d->ctl.policy.spec, d->ctl.n_cores,
		 d->period_ms, opts->dry_run ? ", dry-run (no writes)" : "");
	rc = vsd_loop(d);
	if (opts->once) {
		char *text = vsd_explain(d);
		if (text) {
			fputs(text, stdout);
			free(text);
		}
	}
out:
	sdnotify("STOPPING=1");
	if (d->have_ctl)
		ctlsock_close(&d->ctlsock);
	if (d->have_met)
		metrics_close(&d->met);
	if (d->have_vf) /* vf_on_exit=unplug takes the VFs out; leave keeps the record */
		vfm_close(&d->vf);
	if (d->lx && !opts->dry_run) { /* in a dry run nothing was written */
		if (d->cfg.on_exit_restore && d->have_agents &&
		    agentlinks_restore(&d->agents, VSD_AGENT_RESTORE_MS) > 0 && rc == 0)
			rc = 1;
		if (d->cfg.on_exit_restore) {
			int failed = linuxplat_restore(d->lx);
			if (failed > 0) {
				log_warnx("%d settings could not be restored", failed);
				if (rc == 0)
					rc = 1;
			}
		} else {
			linuxplat_leave(d->lx);
		}
	}
	if (d->ctl_ready)
		controller_free(&d->ctl);
	linuxplat_close(d->lx);
	virtev_close(d->virt_loop); /* after the libvirt connection it served */
	if (d->have_agents)
		agentlinks_free(&d->agents);
	vsd_memnet_free(&d->mn);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->sfd >= 0)
		close(d->sfd);
	free(d->last);
	hostlock_release(&d->lock);
	config_free(&d->cfg);
	free(d);
	return rc;
}
