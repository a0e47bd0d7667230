/* irqctl.c - the interrupt-rate loop: per receive queue, the policy's rate, the fan-out, and what to write (SPEC §7.1). */
#include "control/irqctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"

void irqctl_init(struct vs_irqctl *c, const struct vs_irq_policy_ops *policy,
		 const struct vs_irq_params *params, bool fanout)
{
	memset(c, 0, sizeof(*c));
	c->policy = policy;
	c->params = *params;
	c->fanout = fanout;
	irq_fanout_defaults(&c->fan);
}

void irqctl_free(struct vs_irqctl *c)
{
	free(c->q);
	c->q = NULL;
	c->n_q = c->cap_q = 0;
}

static struct vs_irqctl_override *irqctl_find_ovr(const struct vs_irqctl *c, const char *workload)
{
	for (int i = 0; i < c->n_ovr; i++)
		if (!strcmp(c->ovr[i].workload, workload))
			return (struct vs_irqctl_override *)&c->ovr[i];
	return NULL;
}

int irqctl_set_policy(struct vs_irqctl *c, const char *workload, const char *name, char *err,
		      size_t errlen)
{
	const struct vs_irq_policy_ops *pol = NULL;
	bool off = !strcmp(name, "off"), inherit = !strcmp(name, "inherit");
	bool host = !workload || !workload[0];

	if (!off && !(inherit && !host)) {
		pol = irq_policy_lookup(name);
		if (!pol) {
			snprintf(err, errlen,
				 "unknown interrupt-rate policy \"%s\" (off, fir, cgr, air%s)",
				 name, host ? "" : ", inherit");
			return -1;
		}
	}
	if (host) {
		c->policy = pol;
		return 0;
	}
	struct vs_irqctl_override *o = irqctl_find_ovr(c, workload);
	if (!o) {
		if (inherit)
			return 0;
		if (c->n_ovr == IRQCTL_MAX_OVERRIDES) {
			snprintf(err, errlen, "more than %d workloads with their own irq_policy",
				 IRQCTL_MAX_OVERRIDES);
			return -1;
		}
		if (strlen(workload) >= sizeof(o->workload)) {
			snprintf(err, errlen, "workload name too long");
			return -1;
		}
		o = &c->ovr[c->n_ovr++];
		str_copy(o->workload, workload, sizeof(o->workload));
	}
	o->off = off;
	o->policy = pol;
	return 0;
}

const struct vs_irq_policy_ops *irqctl_policy_of(const struct vs_irqctl *c, const char *workload)
{
	const struct vs_irqctl_override *o =
		workload && workload[0] ? irqctl_find_ovr(c, workload) : NULL;

	if (o && o->off)
		return NULL;
	if (o && o->policy)
		return o->policy;
	return c->policy;
}

const char *irqctl_override_name(const struct vs_irqctl *c, const char *workload)
{
	const struct vs_irqctl_override *o = irqctl_find_ovr(c, workload);

	if (!o || (!o->off && !o->policy))
		return "inherit";
	return o->off ? "off" : o->policy->name;
}

bool irqctl_idle(const struct vs_irqctl *c)
{
	if (c->policy || c->fanout)
		return false;
	for (int i = 0; i < c->n_ovr; i++)
		if (c->ovr[i].policy)
			return false;
	/* queues whose rate vspace set must still be released */
	for (int i = 0; i < c->n_q; i++)
		if (c->q[i].rate_per_s > 0 || c->q[i].fan_n > 1)
			return false;
	return true;
}

static bool irqctl_same(const struct vs_irqctl_queue *q, enum vs_rxq_site site,
			const char *workload, const char *ifname, int queue)
{
	return q->site == site && q->queue == queue && !strcmp(q->ifname, ifname) &&
	       !strcmp(q->workload, workload);
}

static struct vs_irqctl_queue *irqctl_find(struct vs_irqctl *c, enum vs_rxq_site site,
					   const char *workload, const char *ifname, int queue)
{
	for (int i = 0; i < c->n_q; i++)
		if (irqctl_same(&c->q[i], site, workload, ifname, queue))
			return &c->q[i];
	return NULL;
}

static struct vs_irqctl_queue *irqctl_add(struct vs_irqctl *c, const struct vs_rxq_sample *s)
{
	struct vs_irqctl_queue *q;

	if (c->n_q == c->cap_q) {
		int nc = c->cap_q ? c->cap_q * 2 : 8;
		struct vs_irqctl_queue *nq = realloc(c->q, sizeof(*nq) * (size_t)nc);
		if (!nq)
			return NULL;
		c->q = nq;
		c->cap_q = nc;
	}
	q = &c->q[c->n_q++];
	memset(q, 0, sizeof(*q));
	q->site = s->site;
	str_copy(q->workload, s->workload, sizeof(q->workload));
	str_copy(q->ifname, s->ifname, sizeof(q->ifname));
	q->queue = s->queue;
	return q;
}

static struct vs_rxq_target *irqctl_target(const struct vs_irqctl_queue *q, struct vs_rxq_target *t,
					   int *n, int max)
{
	for (int i = 0; i < *n; i++)
		if (t[i].site == q->site && t[i].queue == q->queue &&
		    !strcmp(t[i].ifname, q->ifname) && !strcmp(t[i].workload, q->workload))
			return &t[i];
	if (*n >= max)
		return NULL;
	struct vs_rxq_target *x = &t[(*n)++];
	memset(x, 0, sizeof(*x));
	x->site = q->site;
	str_copy(x->workload, q->workload, sizeof(x->workload));
	str_copy(x->ifname, q->ifname, sizeof(x->ifname));
	x->queue = q->queue;
	return x;
}

int irqctl_step(struct vs_irqctl *c, const struct vs_rxq_sample *s, int n, struct vs_rxq_target *t,
		int max)
{
	int nt = 0;

	c->steps++;
	for (int i = 0; i < c->n_q; i++)
		c->q[i].seen = false;
	for (int i = 0; i < n; i++) {
		const struct vs_rxq_sample *x = &s[i];
		struct vs_irqctl_queue *q =
			irqctl_find(c, x->site, x->workload, x->ifname, x->queue);
		struct vs_rxq_target *tg;

		if (!q)
			q = irqctl_add(c, x);
		if (!q)
			break; /* out of memory: the rest waits for the next period */
		q->seen = true;
		q->policy = irqctl_policy_of(c, x->workload);
		q->coalesce_ok = x->coalesce_ok;
		str_copy(q->unsupported, x->unsupported, sizeof(q->unsupported));
		if (!x->coalesce_ok) {
			q->rate_per_s = 0; /* none in force (a refused write, say) */
			q->rx_usecs = 0;
		}
		q->busy_rx_cores = x->busy_rx_cores;
		/* the rate */
		if (!q->policy) {
			if (q->rate_per_s > 0 && (tg = irqctl_target(q, t, &nt, max))) {
				tg->release = true; /* off now: the original goes back */
				q->rate_per_s = 0;
				q->rx_usecs = 0;
				q->has_decision = false;
			}
		} else if (x->coalesce_ok && x->measured) {
			struct vs_irq_in in = { .sample = &x->s,
						.current_per_s = q->rate_per_s,
						.params = &c->params };
			struct vs_irq_decision d;
			q->policy->decide(&in, &d);
			q->last = d;
			q->last_s = x->s;
			q->has_decision = true;
			q->periods++;
			if (d.change && (tg = irqctl_target(q, t, &nt, max))) {
				tg->set_rate = true;
				tg->rx_usecs = d.rx_usecs;
				q->rate_per_s = d.rate_per_s;
				q->rx_usecs = d.rx_usecs;
				q->changes++;
			}
		}
		/* receive fan-out */
		if (c->fanout && x->fan_max > 1 && x->measured) {
			struct vs_fanout_decision fd = { 0 };
			int cur = x->fan_cur > 0 ? x->fan_cur : 1;
			irq_fanout_decide(&c->fan, x->busy_rx_cores, cur, x->fan_max, &fd);
			q->fan_last = fd;
			q->has_fan = true;
			if (fd.n != cur || q->fan_n == 0) {
				if ((tg = irqctl_target(q, t, &nt, max))) {
					tg->set_fan = true;
					tg->fan_n = fd.n;
				}
			}
			q->fan_n = fd.n;
		} else if (!c->fanout && q->fan_n > 1 && (tg = irqctl_target(q, t, &nt, max))) {
			tg->set_fan = true; /* fan-out turned off: back to one CPU */
			tg->fan_n = 1;
			q->fan_n = 1;
			q->has_fan = false;
		}
	}
	/* queues gone from the hosts (a NIC or VM left): forget them */
	for (int i = 0; i < c->n_q;) {
		if (c->q[i].seen) {
			i++;
			continue;
		}
		c->q[i] = c->q[--c->n_q];
	}
	return nt;
}

void irqctl_confirm(struct vs_irqctl *c, enum vs_rxq_site site, const char *workload,
		    const char *ifname, int queue, bool ok, const char *why)
{
	struct vs_irqctl_queue *q = irqctl_find(c, site, workload, ifname, queue);

	if (!q || ok)
		return;
	q->coalesce_ok = false;
	str_copy(q->unsupported, why && why[0] ? why : "refused", sizeof(q->unsupported));
	q->rate_per_s = 0;
	q->rx_usecs = 0;
}

size_t irqctl_queue_label(const struct vs_irqctl_queue *q, char *buf, size_t len)
{
	if (q->site == VS_RXQ_GUEST)
		return (size_t)snprintf(buf, len, "guest %s %s", q->workload, q->ifname);
	if (q->queue < 0)
		return (size_t)snprintf(buf, len, "host %s", q->ifname);
	return (size_t)snprintf(buf, len, "host %s rx-%d", q->ifname, q->queue);
}

size_t irqctl_explain(const struct vs_irqctl *c, char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	str_appendf(buf, len, &n, "interrupt rate (irq_policy=%s%s):\n",
		    c->policy ? c->policy->name : "off", c->fanout ? ", fan-out on" : "");
	for (int i = 0; i < c->n_ovr; i++)
		str_appendf(buf, len, &n, "  workload %s: irq_policy=%s\n", c->ovr[i].workload,
			    irqctl_override_name(c, c->ovr[i].workload));
	if (c->n_q == 0)
		str_appendf(buf, len, &n, "  no receive queue measured yet\n");
	for (int i = 0; i < c->n_q; i++) {
		const struct vs_irqctl_queue *q = &c->q[i];
		char label[96];
		irqctl_queue_label(q, label, sizeof(label));
		if (!q->coalesce_ok)
			str_appendf(buf, len, &n, "  %s: coalescing unsupported: %s\n", label,
				    q->unsupported);
		else if (!q->policy)
			str_appendf(buf, len, &n, "  %s: off (the driver's own setting)\n", label);
		else if (!q->has_decision)
			str_appendf(buf, len, &n, "  %s: %s, waiting for a full period\n", label,
				    q->policy->name);
		else
			str_appendf(buf, len, &n,
				    "  %s: %s; %llu interrupts in %.2f s -> %.0f int/s "
				    "in force (rx-usecs %u)\n",
				    label, q->last.why, (unsigned long long)q->last_s.interrupts,
				    q->last_s.period_s, q->rate_per_s, q->rx_usecs);
		if (q->has_fan)
			str_appendf(buf, len, &n, "    %s\n", q->fan_last.why);
	}
	return n;
}
