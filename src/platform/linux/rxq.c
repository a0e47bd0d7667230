/* rxq.c - the Linux platform's NIC receive queues under interrupt-rate control: coalescing support, counters per period, rx-usecs and RPS fan-out writes (SPEC §7.1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/hostcall.h"
#include "platform/linux/linux_int.h"

const char *rxq_mode_name(enum lx_coal_mode m)
{
	switch (m) {
	case LX_COAL_NONE:
		return "unsupported";
	case LX_COAL_DEVICE:
		return "device";
	case LX_COAL_QUEUE:
		return "per-queue";
	case LX_COAL_UNKNOWN:
		break;
	}
	return "unknown";
}

void rxq_forget(struct lx_nic *n)
{
	free(n->rxq);
	n->rxq = NULL;
	n->cap_rxq = 0;
	n->coal_mode = LX_COAL_UNKNOWN;
	n->coal_why[0] = '\0';
	n->rxq_t = 0;
}

/* Queues sampled for n: each receive queue, or one for the device. */
static int rxq_count(const struct lx_nic *n)
{
	return n->coal_mode == LX_COAL_QUEUE ? (n->n_rx > 0 ? n->n_rx : 1) : 1;
}

static bool rxq_room(struct lx_nic *n, int need)
{
	if (need <= n->cap_rxq)
		return true;
	struct lx_rxq *r = realloc(n->rxq, sizeof(*r) * (size_t)need);
	if (!r)
		return false;
	memset(r + n->cap_rxq, 0, sizeof(*r) * (size_t)(need - n->cap_rxq));
	n->rxq = r;
	n->cap_rxq = need;
	return true;
}

/* What the driver offers: coalescing at all (device), per queue with per-queue
 * counters, or not (with the reason, logged once). */
static void rxq_probe(struct vs_linux *lx, struct lx_nic *n)
{
	struct vs_coalesce co;
	struct vs_qstats *qs;
	int rc = hostcall_get_coalesce(&lx->root, n->sock, n->name, &co);

	if (rc < 0) {
		n->coal_mode = LX_COAL_NONE;
		snprintf(n->coal_why, sizeof(n->coal_why), "%s (ETHTOOL_GCOALESCE: %s)",
			 rc == -EOPNOTSUPP ? "the driver has no interrupt coalescing"
					   : "its coalescing cannot be read",
			 strerror(-rc));
		log_info("nic %s: interrupt rate not controlled: %s", n->name, n->coal_why);
		return;
	}
	n->coal_mode = LX_COAL_DEVICE;
	qs = malloc(sizeof(*qs));
	/* asked whatever the queue count now: the plan changes it later */
	if (qs && hostcall_get_coalesce_q(&lx->root, n->sock, n->name, 0, &co) == 0 &&
	    hostcall_queue_stats(&lx->root, n->sock, n->name, qs) == 0 && qs->n_rx >= n->n_rx)
		n->coal_mode = LX_COAL_QUEUE;
	free(qs);
	log_info("nic %s: interrupt coalescing %s (%d receive queue%s)", n->name,
		 n->coal_mode == LX_COAL_QUEUE ? "per queue" : "for the whole device", n->n_rx,
		 n->n_rx == 1 ? "" : "s");
}

/* The CPUs doing queue q's receive work: its IRQs' affinity and its RPS
 * mask as vspace set or read them, else the NQ cores of the NIC's workloads,
 * else every managed core. */
static void rxq_cpus(const struct vs_linux *lx, const struct lx_nic *n, int q,
		     struct vs_cpuset *cpus)
{
	cpuset_zero(cpus);
	for (int i = 0; i < n->n_irq; i++)
		if ((q < 0 || n->irq[i].queue == q) && n->irq[i].aff.known)
			cpuset_or(cpus, cpus, &n->irq[i].aff.cpus);
	if (q >= 0 && q < n->cap_rxq && n->rxq[q].fan.known)
		cpuset_or(cpus, cpus, &n->rxq[q].fan.cpus);
	if (n->n_irq == 0 && q >= 0 && q < n->cap_q && n->rps[q].known)
		cpuset_or(cpus, cpus, &n->rps[q].cpus);
	if (!cpuset_empty(cpus))
		return;
	for (int i = 0; i < lx->n_wl; i++) {
		const struct lx_wl *w = &lx->wl[i];
		if (w->present && w->cur_valid && (n->owner < 0 || n->owner == i))
			cpuset_or(cpus, cpus, &w->cur_nq);
	}
	if (cpuset_empty(cpus))
		*cpus = lx->cfg.managed;
}

/* The NQ cores the NIC's receive work may use, in order. */
static int rxq_nq_list(const struct vs_linux *lx, const struct lx_nic *n, int *list, int max)
{
	struct vs_cpuset nq;
	int k = 0;

	cpuset_zero(&nq);
	for (int i = 0; i < lx->n_wl; i++) {
		const struct lx_wl *w = &lx->wl[i];
		if (w->present && w->cur_valid && w->spec.lc && (n->owner < 0 || n->owner == i))
			cpuset_or(&nq, &nq, &w->cur_nq);
	}
	for (int c = cpuset_next(&nq, 0); c >= 0 && k < max; c = cpuset_next(&nq, c + 1))
		list[k++] = c;
	return k;
}

int linuxplat_rxq_sample(struct vs_linux *lx, struct vs_rxq_sample *out, int max)
{
	const struct vs_procstat *ps = lx->have_prev ? lx->stat_prev : NULL; /* the latest */
	double now = linux_now(lx);
	int n_lines = -1, k = 0;
	char err[160];

	if (sysroot_read_all(lx->root.proc_fd, "interrupts", &lx->buf, &lx->bufcap) >= 0)
		n_lines = interrupts_parse(lx->buf, &lx->irql, &lx->irqcap, err, sizeof(err));
	for (int i = 0; i < lx->n_nic && k < max; i++) {
		struct lx_nic *n = &lx->nic[i];
		struct vs_qstats *qs = NULL;
		uint64_t tot_packets = 0, tot_bytes = 0;
		bool have_tot = false;
		int nq, list[VS_MAX_CPUS], n_nq;

		if (!n->present)
			continue;
		if (n->coal_mode == LX_COAL_UNKNOWN)
			rxq_probe(lx, n);
		nq = rxq_count(n);
		if (!rxq_room(n, nq))
			continue;
		if (n->coal_mode == LX_COAL_QUEUE) {
			qs = malloc(sizeof(*qs));
			if (qs && hostcall_queue_stats(&lx->root, n->sock, n->name, qs) < 0) {
				free(qs);
				qs = NULL;
			}
		}
		if (!qs) {
			char path[96];
			long v1, v2;
			snprintf(path, sizeof(path), "class/net/%s/statistics/rx_packets", n->name);
			if (sysroot_read_long(n->sys_fd, path, &v1) == 0) {
				snprintf(path, sizeof(path), "class/net/%s/statistics/rx_bytes",
					 n->name);
				if (sysroot_read_long(n->sys_fd, path, &v2) == 0) {
					tot_packets = (uint64_t)v1;
					tot_bytes = (uint64_t)v2;
					have_tot = true;
				}
			}
		}
		n_nq = rxq_nq_list(lx, n, list, VS_MAX_CPUS);
		for (int q = 0; q < nq && k < max; q++) {
			struct lx_rxq *r = &n->rxq[q];
			struct vs_rxq_sample *s = &out[k++];
			int queue = n->coal_mode == LX_COAL_QUEUE ? q : -1;
			uint64_t packets, bytes, irqs = 0, busy = 0, total = 0;
			struct vs_cpuset cpus;

			memset(s, 0, sizeof(*s));
			s->site = VS_RXQ_HOST;
			if (n->owner >= 0)
				str_copy(s->workload, lx->wl[n->owner].spec.name,
					 sizeof(s->workload));
			str_copy(s->ifname, n->name, sizeof(s->ifname));
			s->queue = queue;
			s->coalesce_ok =
				n->coal_mode == LX_COAL_QUEUE || n->coal_mode == LX_COAL_DEVICE;
			str_copy(s->unsupported, s->coalesce_ok ? "" : n->coal_why,
				 sizeof(s->unsupported));
			s->rx_usecs = r->coal.known ? (uint32_t)r->coal.ival : 0;
			/* counters: the queue's, or the device's */
			if (qs) {
				packets = qs->rx_packets[q];
				bytes = qs->rx_bytes[q];
			} else {
				packets = tot_packets;
				bytes = tot_bytes;
			}
			for (int j = 0; j < n->n_irq; j++) {
				if (queue >= 0 && n->irq[j].queue != queue)
					continue;
				for (int l = 0; l < n_lines; l++)
					if (lx->irql[l].irq == n->irq[j].irq)
						irqs += lx->irql[l].count;
			}
			rxq_cpus(lx, n, queue, &cpus);
			/* per CPU since the last sample: the set may have changed since */
			if (ps && lx->rxq_stat)
				procstat_delta(lx->rxq_stat, ps, &cpus, &busy, &total);
			if (r->have && now > n->rxq_t && (qs || have_tot) &&
			    packets >= r->packets && bytes >= r->bytes && irqs >= r->irqs) {
				double secs = now - n->rxq_t;
				s->measured = true;
				s->s.period_s = secs;
				s->s.packets = packets - r->packets;
				s->s.bytes = bytes - r->bytes;
				s->s.interrupts = irqs - r->irqs;
				if (total > 0)
					s->s.busy_cores = (double)busy / (double)total *
							  (double)cpuset_count(&cpus);
				s->busy_rx_cores = s->s.busy_cores;
			}
			r->have = qs || have_tot;
			r->packets = packets;
			r->bytes = bytes;
			r->irqs = irqs;
			/* fan-out: only where the queue has an IRQ of its own (RPS steers
			 * NICs without one already), per queue or on a one-queue device */
			s->fan_cur = r->fan.known && !cpuset_empty(&r->fan.cpus)
					     ? cpuset_count(&r->fan.cpus)
					     : 1;
			s->fan_max = n->n_irq > 0 && (queue >= 0 || n->n_rx == 1)
					     ? n_nq / (nq > 0 ? nq : 1)
					     : 1;
			if (s->fan_max < 1)
				s->fan_max = 1;
		}
		free(qs);
		n->rxq_t = now;
	}
	/* the base of the next period's busy CPUs */
	if (ps && (lx->rxq_stat || (lx->rxq_stat = malloc(sizeof(*lx->rxq_stat)))))
		*lx->rxq_stat = *ps;
	return k;
}

/* The NIC a target names. */
static struct lx_nic *rxq_nic(struct vs_linux *lx, const struct vs_rxq_target *t)
{
	for (int i = 0; i < lx->n_nic; i++) {
		struct lx_nic *n = &lx->nic[i];
		const char *owner = n->owner >= 0 ? lx->wl[n->owner].spec.name : "";
		if (n->present && !strcmp(n->name, t->ifname) && !strcmp(owner, t->workload))
			return n;
	}
	return NULL;
}

static void rxq_remember(struct vs_linux *lx, struct lx_obj *obj, const struct st_rec *r, bool *oom)
{
	if (obj->remembered)
		return;
	obj->remembered = true;
	if (lx->state.path[0] && state_add(&lx->state, r) < 0)
		*oom = true;
}

/* rx-usecs (adaptive-rx off), or the original back. */
static void rxq_rate(struct vs_linux *lx, struct lx_nic *n, struct lx_rxq *r, int queue,
		     const struct vs_rxq_target *t, bool *oom)
{
	struct vs_coalesce cur, want;
	struct act_op *op;
	int rc;

	if (r->coal.broken || n->coal_mode == LX_COAL_NONE)
		return;
	rc = hostcall_get_coalesce_q(&lx->root, n->sock, n->name, queue, &cur);
	if (rc < 0) {
		if (!r->coal.warned)
			log_warnx("nic %s: reading its coalescing: %s", n->name, strerror(-rc));
		r->coal.warned = true;
		return;
	}
	if (!r->have_orig) {
		struct st_rec rec = { .kind = ACT_COALESCE, .co = cur, .queue = queue };
		r->orig = cur;
		r->have_orig = true;
		str_copy(rec.ifname, n->name, sizeof(rec.ifname));
		str_copy(rec.netns, n->netns, sizeof(rec.netns));
		rxq_remember(lx, &r->coal, &rec, oom);
	}
	if (t->release) {
		want = r->orig;
	} else {
		want = cur;
		want.rx_usecs = t->rx_usecs;
		want.adaptive_rx = 0;
	}
	if (!memcmp(&want, &cur, sizeof(want))) {
		r->coal.known = true;
		r->coal.ival = (int)want.rx_usecs;
		return;
	}
	op = act_push(lx, ACT_COALESCE);
	if (!op) {
		*oom = true;
		return;
	}
	op->wkind = VS_W_COALESCE;
	op->nic = (int)(n - lx->nic);
	op->queue = queue;
	op->co = want;
	op->value = (int)want.rx_usecs;
	op->obj = &r->coal;
	str_copy(op->what, t->release ? "as it was" : "interrupt rate", sizeof(op->what));
}

/* Queue q's RPS mask: fan_n NQ cores from the one its IRQ is on. */
static void rxq_fan(struct vs_linux *lx, struct lx_nic *n, struct lx_rxq *r, int q, int fan_n,
		    bool *oom)
{
	int list[VS_MAX_CPUS], n_nq = rxq_nq_list(lx, n, list, VS_MAX_CPUS), base = 0;
	struct vs_cpuset want;
	struct act_op *op;

	if (r->fan.broken || n->n_irq == 0 || q < 0 || n_nq == 0)
		return;
	cpuset_zero(&want);
	if (fan_n > 1) {
		/* from the core the queue's IRQ is on (apply.c: NQ core q mod n_nq) */
		for (int i = 0; i < n_nq; i++)
			if (list[i] == list[q % n_nq])
				base = i;
		for (int j = 0; j < fan_n && j < n_nq; j++)
			cpuset_set(&want, list[(base + j) % n_nq]);
	}
	if (!r->fan.known) {
		char path[160], buf[1024], err[128];
		snprintf(path, sizeof(path), "class/net/%s/queues/rx-%d/rps_cpus", n->name, q);
		if (sysroot_read(n->sys_fd, path, buf, sizeof(buf)) < 0 ||
		    cpuset_parse_mask(&r->fan.cpus, str_trim(buf), err, sizeof(err)) < 0)
			return; /* no RPS on this device */
		r->fan.known = true;
		struct st_rec rec = { .kind = ACT_RPS, .queue = q, .cpus = r->fan.cpus };
		str_copy(rec.ifname, n->name, sizeof(rec.ifname));
		str_copy(rec.netns, n->netns, sizeof(rec.netns));
		rxq_remember(lx, &r->fan, &rec, oom);
	}
	if (cpuset_equal(&r->fan.cpus, &want))
		return;
	op = act_push(lx, ACT_RPS);
	if (!op) {
		*oom = true;
		return;
	}
	op->wkind = VS_W_RPS;
	op->nic = (int)(n - lx->nic);
	op->queue = q;
	op->cpus = want;
	op->obj = &r->fan;
	str_copy(op->what, "receive fan-out", sizeof(op->what));
}

int linuxplat_rxq_apply(struct vs_linux *lx, const struct vs_rxq_target *t, int n)
{
	bool oom = false;

	lx->act.n = 0;
	for (int i = 0; i < n; i++) {
		struct lx_nic *nic;
		int slot;
		if (t[i].site != VS_RXQ_HOST || !(nic = rxq_nic(lx, &t[i])))
			continue;
		slot = t[i].queue >= 0 ? t[i].queue : 0;
		if (!rxq_room(nic, slot + 1)) {
			oom = true;
			break;
		}
		if (t[i].set_rate || t[i].release)
			rxq_rate(lx, nic, &nic->rxq[slot], t[i].queue, &t[i], &oom);
		if (t[i].set_fan)
			rxq_fan(lx, nic, &nic->rxq[slot],
				t[i].queue >= 0 ? t[i].queue : (nic->n_rx == 1 ? 0 : -1),
				t[i].fan_n, &oom);
	}
	if (oom) {
		log_warnx("out of memory while planning interrupt-rate writes: none made");
		lx->act.n = 0;
		return -1;
	}
	if (lx->act.n == 0)
		return 0;
	/* the originals reach the disk before the first write that changes them */
	if (lx->state.dirty && state_save(&lx->state) < 0) {
		log_warnx("state file %s could not be written: no interrupt-rate writes",
			  lx->state.path);
		lx->act.n = 0;
		return -1;
	}
	int nops = lx->act.n, rc = act_run(lx) > 0 ? -1 : 0;
	/* a driver that refused rx-usecs for good (tun/tap reads its coalescing
	 * but takes only rx-frames): the writer logged it once; the status says
	 * it from now on, and it is not asked again */
	for (int i = 0; i < nops; i++) {
		const struct act_op *op = &lx->act.op[i];
		struct lx_nic *nic = op->nic >= 0 && op->nic < lx->n_nic ? &lx->nic[op->nic] : NULL;
		if (op->kind != ACT_COALESCE || op->result >= 0 || !nic ||
		    act_errclass(op->result) != 0 || nic->coal_mode == LX_COAL_NONE)
			continue;
		nic->coal_mode = LX_COAL_NONE;
		snprintf(nic->coal_why, sizeof(nic->coal_why),
			 "the driver refused rx-usecs %u (ETHTOOL_SCOALESCE: %s)", op->co.rx_usecs,
			 strerror(-op->result));
	}
	return rc;
}
