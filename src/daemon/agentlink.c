/* agentlink.c - vspaced drives the guest agents: desired vCPU/queue counts, (re)connects, stats, status, metrics. */
#include "daemon/agentlink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/cpuset.h"
#include "lib/log.h"
#include "lib/strutil.h"

static const char *const agentlink_req_names[AGENTLINK_N_REQ] = {
	[AGENTLINK_VCPUS] = "set_vcpus",   [AGENTLINK_VNQ] = "set_vnq",
	[AGENTLINK_COAL] = "set_coalesce", [AGENTLINK_RPS] = "set_rps",
	[AGENTLINK_STATS] = "stats",	   [AGENTLINK_RESTORE] = "restore",
};

static const char *agentlink_status_name(enum proto_status st)
{
	switch (st) {
	case PROTO_ST_OK:
		return "ok";
	case PROTO_ST_AGENT_ERROR:
		return "refused";
	case PROTO_ST_TIMEOUT:
		return "timeout";
	case PROTO_ST_DISCONNECTED:
		return "disconnected";
	}
	return "?";
}

static struct agentlink *agentlink_of(struct vs_guest_actuator *g)
{
	return vs_container_of(g, struct agentlink, base);
}

/* ---- The guest actuator (called by the platform from inside a period) ---------------------- */

static int agentlink_set_vcpus(struct vs_guest_actuator *g, int n)
{
	struct agentlink *l = agentlink_of(g);

	if (n < 1)
		return -EINVAL;
	l->knob[AGENTLINK_VCPUS].want = n;
	return 0; /* recorded: agentlinks_poll delivers it when the agent is ready */
}

static int agentlink_set_vnq(struct vs_guest_actuator *g, const char *ifname, int n)
{
	struct agentlink *l = agentlink_of(g);

	if (n < 1)
		return -EINVAL;
	if (ifname && ifname[0] && strcmp(ifname, l->ifname_cfg) != 0) {
		str_copy(l->ifname_cfg, ifname, sizeof(l->ifname_cfg));
		str_copy(l->ifname, ifname, sizeof(l->ifname));
	}
	l->knob[AGENTLINK_VNQ].want = n;
	return 0;
}

static void agentlink_close_op(struct vs_guest_actuator *g)
{
	(void)g; /* the daemon frees the links after the platform (agentlinks_free) */
}

static const struct vs_guest_actuator_ops agentlink_ops = {
	.name = "agent",
	.set_vnq = agentlink_set_vnq,
	.set_vcpus = agentlink_set_vcpus,
	.close = agentlink_close_op,
};

/* ---- Reading the agent's answers (untrusted) ------------------------------------------------- */

/* Integer field in [lo, hi], else 0. */
static int agentlink_int(const json_t *o, const char *key, int lo, int hi)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return 0;
	return (int)json_integer_value(v);
}

/* The NIC entry of a hello or stats "nics" array named ifname, or NULL. */
static const json_t *agentlink_nic(const json_t *result, const char *ifname)
{
	const json_t *nics = json_object_get(result, "nics"), *nic;
	size_t i;

	json_array_foreach(nics, i, nic)
	{
		const char *name = json_string_value(json_object_get(nic, "name"));
		if (name && !strcmp(name, ifname))
			return nic;
	}
	return NULL;
}

/* Count of a cpulist field ("0-3"), or 0. */
static int agentlink_cpus(const json_t *o, const char *key)
{
	const char *text = json_string_value(json_object_get(o, key));
	struct vs_cpuset s;
	char err[64];

	if (!text || cpuset_parse_list(&s, text, err, sizeof(err)) < 0)
		return 0;
	return cpuset_count(&s);
}

/* READY: what the guest has (hello), the NIC to steer. */
void agentlink_take_hello(struct agentlink *l, const json_t *h)
{
	const json_t *nics, *nic, *first = NULL, *multi = NULL;
	size_t i;

	l->guest_vcpus = agentlink_int(h, "vcpus", 1, PROTO_MAX_VCPUS);
	l->guest_max_queues = 0;
	l->ifname_problem[0] = '\0';
	nics = json_object_get(h, "nics");
	json_array_foreach(nics, i, nic)
	{
		const char *name = json_string_value(json_object_get(nic, "name"));
		if (!name || !proto_ifname_valid(name))
			continue;
		if (!first)
			first = nic;
		if (!multi && agentlink_int(nic, "max_queues", 2, PROTO_MAX_QUEUES) > 0)
			multi = nic;
	}
	if (l->ifname_cfg[0]) {
		str_copy(l->ifname, l->ifname_cfg, sizeof(l->ifname));
		nic = agentlink_nic(h, l->ifname);
		if (!nic)
			snprintf(l->ifname_problem, sizeof(l->ifname_problem),
				 "the guest has no NIC \"%s\" (guest_nic=)", l->ifname);
	} else {
		nic = multi ? multi : first;
		if (nic)
			str_copy(l->ifname, json_string_value(json_object_get(nic, "name")),
				 sizeof(l->ifname));
		else
			snprintf(l->ifname_problem, sizeof(l->ifname_problem),
				 "the agent reports no NIC (set guest_nic=)");
	}
	if (nic)
		l->guest_max_queues = agentlink_int(nic, "max_queues", 1, PROTO_MAX_QUEUES);
}

/* ---- Requests ---------------------------------------------------------------------------------- */

static void agentlink_record(struct agentlink *l, enum agentlink_req r, int value,
			     const struct proto_result *res, uint64_t now_ms)
{
	struct agentlink_last *last = &l->last[r];
	struct agentlink_counts *cnt = &l->count[r];

	last->valid = true;
	last->status = res->status;
	last->value = value;
	last->at_ms = now_ms;
	last->rtt_us = res->rtt_us;
	str_copy(last->error,
		 res->status == PROTO_ST_OK ? ""
		 : res->error		    ? res->error
					    : "?",
		 sizeof(last->error));
	switch (res->status) {
	case PROTO_ST_OK:
		cnt->ok++;
		break;
	case PROTO_ST_AGENT_ERROR:
		cnt->refused++;
		break;
	case PROTO_ST_TIMEOUT:
		cnt->timeout++;
		break;
	case PROTO_ST_DISCONNECTED:
		cnt->disconnected++;
		break;
	}
	if (res->status == PROTO_ST_OK || res->status == PROTO_ST_AGENT_ERROR) {
		l->rtt_n++;
		l->rtt_sum_us += res->rtt_us;
		l->rtt_last_us = res->rtt_us;
		if (res->rtt_us > l->rtt_max_us)
			l->rtt_max_us = res->rtt_us;
	}
}

static void agentlink_knob_done(struct agentlink *l, enum agentlink_req k,
				const struct proto_result *res)
{
	struct agentlink_knob *kn = &l->knob[k];
	uint64_t now = proto_now_ms();
	int v = kn->sent;
	char what[64];

	kn->sent = 0;
	agentlink_record(l, k, v, res, now);
	if (k == AGENTLINK_VNQ || k == AGENTLINK_COAL || k == AGENTLINK_RPS)
		snprintf(what, sizeof(what), "%s %s %d", agentlink_req_names[k], l->ifname, v);
	else
		snprintf(what, sizeof(what), "set_vcpus %d", v);
	if (res->status == PROTO_ST_OK && k == AGENTLINK_COAL && res->result) {
		/* the guest's setting before vspace's first change: what goes back */
		const json_t *prev = json_object_get(res->result, "previous");
		const json_t *wus = json_object_get(res->result, "write_us");
		if (l->coal_orig == 0 && json_is_integer(prev) && json_integer_value(prev) > 0 &&
		    json_integer_value(prev) <= PROTO_MAX_RX_USECS) {
			l->coal_orig = (int)json_integer_value(prev);
			l->coal_orig_adaptive =
				json_is_true(json_object_get(res->result, "previous_adaptive_rx"));
		}
		l->coal_write_us = json_is_integer(wus) && json_integer_value(wus) >= 0
					   ? (int64_t)json_integer_value(wus)
					   : -1;
	}
	if (res->status == PROTO_ST_AGENT_ERROR && k == AGENTLINK_COAL && res->error &&
	    strstr(res->error, "not supported")) {
		/* a NIC without coalescing: said once, not asked again */
		kn->have = 0;
		kn->failed = v;
		kn->retry_ms = UINT64_MAX;
		if (!l->coal_unsupported[0])
			log_warnx("workload %s: guest NIC %s: interrupt rate not controlled: %s",
				  l->workload, l->ifname, res->error);
		str_copy(l->coal_unsupported, res->error, sizeof(l->coal_unsupported));
		return;
	}
	if (res->status == PROTO_ST_OK) {
		kn->have = v;
		kn->confirmed_ms = now;
		kn->failed = 0;
		kn->retry_delay_ms = 0;
		l->changed = true;
		if (kn->logged_error[0])
			log_info("workload %s: agent: %s done (%.1f ms) after an error",
				 l->workload, what, (double)res->rtt_us / 1000.0);
		else
			log_info("workload %s: agent: %s done (%.1f ms)", l->workload, what,
				 (double)res->rtt_us / 1000.0);
		kn->logged_error[0] = '\0';
		return;
	}
	if (res->status == PROTO_ST_DISCONNECTED)
		return; /* the connection is gone: READY again re-sends */
	/* refused or no answer: the guest's state is unknown; try again later */
	kn->have = 0;
	kn->failed = v;
	if (kn->retry_delay_ms == 0)
		kn->retry_delay_ms = l->set->opt.retry_min_ms;
	kn->retry_ms = now + kn->retry_delay_ms;
	if (strcmp(kn->logged_error, res->error ? res->error : "") != 0) {
		log_warnx(
			"workload %s: agent %s: %s %s: %s (retried in %.1f s while placement goes "
			"on)",
			l->workload, l->address, what,
			res->status == PROTO_ST_TIMEOUT ? "no answer" : "refused",
			res->error ? res->error : "?", kn->retry_delay_ms / 1000.0);
		str_copy(kn->logged_error, res->error ? res->error : "", sizeof(kn->logged_error));
	} else {
		log_debug("workload %s: agent: %s failed again: %s", l->workload, what,
			  res->error ? res->error : "?");
	}
	kn->retry_delay_ms = kn->retry_delay_ms * 2 > l->set->opt.retry_max_ms
				     ? l->set->opt.retry_max_ms
				     : kn->retry_delay_ms * 2;
}

static void agentlink_on_vcpus(void *arg, const struct proto_result *res)
{
	agentlink_knob_done(arg, AGENTLINK_VCPUS, res);
}

static void agentlink_on_vnq(void *arg, const struct proto_result *res)
{
	agentlink_knob_done(arg, AGENTLINK_VNQ, res);
}

static void agentlink_on_coal(void *arg, const struct proto_result *res)
{
	agentlink_knob_done(arg, AGENTLINK_COAL, res);
}

static void agentlink_on_rps(void *arg, const struct proto_result *res)
{
	agentlink_knob_done(arg, AGENTLINK_RPS, res);
}

/* The guest no longer shows what the agent confirmed (an agent restarted in
 * the guest restores its original settings): forget it, so it is sent again. */
static void agentlink_drift(struct agentlink *l, enum agentlink_req k, int seen)
{
	struct agentlink_knob *kn = &l->knob[k];

	if (kn->have == 0 || kn->sent || seen == 0 || seen == kn->have ||
	    l->stats_sent_ms < kn->confirmed_ms)
		return; /* nothing confirmed, a change under way, or stats older than it */
	log_warnx("workload %s: the guest reports %d %s, the agent had confirmed %d: sending it "
		  "again",
		  l->workload, seen, k == AGENTLINK_VNQ ? "queues" : "active vCPUs", kn->have);
	kn->have = 0;
}

static void agentlink_on_stats(void *arg, const struct proto_result *res)
{
	struct agentlink *l = arg;
	uint64_t now = proto_now_ms();

	l->stats_pending = false;
	agentlink_record(l, AGENTLINK_STATS, 0, res, now);
	if (res->status != PROTO_ST_OK) {
		if (res->status != PROTO_ST_DISCONNECTED && res->error &&
		    strcmp(l->stats_logged, res->error) != 0) {
			log_warnx("workload %s: agent %s: stats: %s", l->workload, l->address,
				  res->error);
			str_copy(l->stats_logged, res->error, sizeof(l->stats_logged));
		}
		return;
	}
	l->stats_logged[0] = '\0';
	agentlink_take_stats(l, res->result, now);
}

void agentlink_take_stats(struct agentlink *l, const json_t *stats, uint64_t now_ms)
{
	json_decref(l->stats);
	l->stats = json_deep_copy(stats);
	l->stats_at_ms = now_ms;
	if (l->ifname[0]) {
		const json_t *nic = agentlink_nic(stats, l->ifname);
		agentlink_drift(l, AGENTLINK_VNQ,
				agentlink_int(nic, "queues", 1, PROTO_MAX_QUEUES));
	}
	agentlink_drift(l, AGENTLINK_VCPUS, agentlink_cpus(stats, "active"));
}

static void agentlink_on_restore(void *arg, const struct proto_result *res)
{
	struct agentlink *l = arg;

	l->restore_pending = false;
	agentlink_record(l, AGENTLINK_RESTORE, 0, res, proto_now_ms());
	if (l->closing)
		return; /* agentlinks_restore already said that no answer came */
	if (res->status == PROTO_ST_OK)
		log_info("workload %s: agent restored the guest's settings (%.1f ms)", l->workload,
			 (double)res->rtt_us / 1000.0);
	else
		log_warnx("workload %s: agent %s: restore: %s", l->workload, l->address,
			  res->error ? res->error : "?");
}

/* The value to ask for: want clamped to what the guest has; 0 when the
 * request cannot be made (no NIC). */
static int agentlink_asked(struct agentlink *l, enum agentlink_req k)
{
	struct agentlink_knob *kn = &l->knob[k];
	int max = k == AGENTLINK_VCPUS || k == AGENTLINK_RPS ? l->guest_vcpus
		  : k == AGENTLINK_VNQ			     ? l->guest_max_queues
							     : 0;
	int n = kn->want;

	if (k == AGENTLINK_COAL && l->coal_unsupported[0])
		return 0;
	if (k != AGENTLINK_VCPUS && (!l->ifname[0] || l->ifname_problem[0])) {
		if (kn->clamp_logged != -kn->want) {
			log_warnx("workload %s: agent: cannot set the guest's queues: %s",
				  l->workload, l->ifname_problem[0] ? l->ifname_problem : "no NIC");
			kn->clamp_logged = -kn->want;
		}
		return 0;
	}
	if (max > 0 && n > max) {
		if (kn->clamp_logged != kn->want) {
			if (k == AGENTLINK_VCPUS)
				log_info("workload %s: the plan asks for %d vCPUs, the guest has "
					 "%d: "
					 "asking for %d",
					 l->workload, n, max, max);
			else
				log_info("workload %s: the plan asks for %d queues, %s has at most "
					 "%d: asking for %d",
					 l->workload, n, l->ifname, max, max);
			kn->clamp_logged = kn->want;
		}
		n = max;
	}
	return n;
}

static void agentlink_send_knob(struct agentlink *l, enum agentlink_req k, uint64_t now)
{
	struct agentlink_knob *kn = &l->knob[k];
	json_t *args;
	long id;
	int n;

	if (kn->want == 0 || kn->sent)
		return;
	n = agentlink_asked(l, k);
	kn->asked = n;
	if (n == 0 || n == kn->have || (n == kn->failed && now < kn->retry_ms))
		return;
	proto_reply_fn done = agentlink_on_vcpus;
	if (k == AGENTLINK_VNQ || k == AGENTLINK_RPS) {
		args = json_pack("{s:s,s:i}", "ifname", l->ifname, "n", n);
		done = k == AGENTLINK_VNQ ? agentlink_on_vnq : agentlink_on_rps;
	} else if (k == AGENTLINK_COAL) {
		args = json_pack("{s:s,s:i,s:b}", "ifname", l->ifname, "rx_usecs", n, "adaptive_rx",
				 l->coal_adaptive);
		done = agentlink_on_coal;
	} else {
		args = json_pack("{s:i,s:s}", "n", n, "method", "cpuset");
	}
	id = proto_client_request(&l->client, agentlink_req_names[k], args, done, l, now);
	json_decref(args);
	if (id < 0) {
		log_debug("workload %s: agent: %s %d not sent: %s", l->workload,
			  agentlink_req_names[k], n, strerror(errno));
		return;
	}
	kn->sent = n;
	l->count[k].sent++;
	log_debug("workload %s: agent: %s %d sent (id %ld)", l->workload, agentlink_req_names[k], n,
		  id);
}

static void agentlink_send_stats(struct agentlink *l, uint64_t now)
{
	json_t *args = NULL;

	if (l->stats_pending || now < l->next_stats_ms)
		return;
	if (l->ifname[0] && !l->ifname_problem[0])
		args = json_pack("{s:s}", "ifname", l->ifname);
	if (proto_client_request(&l->client, "stats", args, agentlink_on_stats, l, now) >= 0) {
		l->stats_pending = true;
		l->stats_sent_ms = now;
		l->count[AGENTLINK_STATS].sent++;
	}
	json_decref(args);
	l->next_stats_ms = now + l->set->opt.stats_ms;
}

/* Send what is due on a ready link. */
static void agentlink_sync(struct agentlink *l, uint64_t now)
{
	if (proto_client_state(&l->client) != PROTO_CLIENT_READY || l->closing)
		return;
	/* vCPUs first: the agent re-spreads the queues over the active vCPUs */
	agentlink_send_knob(l, AGENTLINK_VCPUS, now);
	agentlink_send_knob(l, AGENTLINK_VNQ, now);
	agentlink_send_knob(l, AGENTLINK_COAL, now);
	agentlink_send_knob(l, AGENTLINK_RPS, now);
	agentlink_send_stats(l, now);
}

/* ---- Connection state ---------------------------------------------------------------------------- */

static void agentlink_on_state(void *arg, enum proto_client_state st, const char *why)
{
	struct agentlink *l = arg;
	uint64_t now = proto_now_ms();

	if (l->closing)
		return;
	if (st == PROTO_CLIENT_READY) {
		agentlink_take_hello(l, proto_client_hello(&l->client));
		for (int k = 0; k < AGENTLINK_N_KNOBS; k++) {
			l->knob[k].have = 0; /* unknown on a new connection: send the plan again */
			l->knob[k].sent = 0;
			l->knob[k].failed = 0;
			l->knob[k].retry_delay_ms = 0;
			l->knob[k].clamp_logged = 0;
		}
		l->connects++;
		l->up = true;
		l->up_since_ms = now;
		l->down_logged = false;
		l->next_stats_ms = now;
		log_info("workload %s: agent %s connected: %d vCPUs, guest NIC %s (at most %d "
			 "queues)%s%s",
			 l->workload, l->address, l->guest_vcpus, l->ifname[0] ? l->ifname : "-",
			 l->guest_max_queues, l->ifname_problem[0] ? "; " : "", l->ifname_problem);
		return;
	}
	if (st != PROTO_CLIENT_IDLE) {
		log_debug("workload %s: agent %s: %s", l->workload, l->address, why);
		return;
	}
	l->stats_pending = false;
	if (l->up) {
		l->up = false;
		l->disconnects++;
		l->down_logged = true;
		log_warnx("workload %s: agent %s lost: %s; reconnecting while host-side placement "
			  "goes on",
			  l->workload, l->address, why);
	} else if (!l->down_logged) {
		l->down_logged = true;
		log_warnx("workload %s: agent %s unreachable: %s; retrying (backoff up to %.1f s) "
			  "while host-side placement goes on",
			  l->workload, l->address, why, l->set->opt.backoff_max_ms / 1000.0);
	} else {
		log_debug("workload %s: agent %s still unreachable: %s", l->workload, l->address,
			  why);
	}
}

/* ---- The set ------------------------------------------------------------------------------------- */

int agentlinks_init(struct agentlinks *s, const struct agentlinks_opts *o, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (o)
		s->opt = *o;
#define AGENTLINK_DEF(f, v)                                                                        \
	if (s->opt.f == 0)                                                                         \
	s->opt.f = (v)
	AGENTLINK_DEF(timeout_ms, AGENTLINK_TIMEOUT_MS);
	AGENTLINK_DEF(connect_timeout_ms, AGENTLINK_CONNECT_TIMEOUT_MS);
	AGENTLINK_DEF(backoff_min_ms, AGENTLINK_BACKOFF_MIN_MS);
	AGENTLINK_DEF(backoff_max_ms, AGENTLINK_BACKOFF_MAX_MS);
	AGENTLINK_DEF(stats_ms, AGENTLINK_STATS_MS);
	AGENTLINK_DEF(retry_min_ms, AGENTLINK_RETRY_MIN_MS);
	AGENTLINK_DEF(retry_max_ms, AGENTLINK_RETRY_MAX_MS);
#undef AGENTLINK_DEF
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		snprintf(err, errlen, "agent links: epoll_create1: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void agentlinks_free(struct agentlinks *s)
{
	for (int i = 0; i < s->n; i++) {
		struct agentlink *l = s->link[i];
		l->closing = true;
		proto_client_close(&l->client);
		json_decref(l->stats);
		free(l);
	}
	free(s->link);
	s->link = NULL;
	s->n = s->cap = 0;
	if (s->epfd >= 0)
		close(s->epfd);
	s->epfd = -1;
}

struct agentlink *agentlinks_add(struct agentlinks *s, const char *workload, const char *address,
				 const char *guest_nic, char *err, size_t errlen)
{
	struct proto_addr addr;
	struct agentlink *l;
	char perr[256];

	if (proto_addr_parse(address, &addr, perr, sizeof(perr)) < 0) {
		snprintf(err, errlen, "workload %s: agent=%s: %s", workload, address, perr);
		return NULL;
	}
	if (guest_nic && guest_nic[0] && !proto_ifname_valid(guest_nic)) {
		snprintf(err, errlen, "workload %s: guest_nic=%s is not an interface name",
			 workload, guest_nic);
		return NULL;
	}
	if (s->n == s->cap) {
		int nc = s->cap ? s->cap * 2 : 4;
		struct agentlink **nl = realloc(s->link, sizeof(*nl) * (size_t)nc);
		if (!nl) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		s->link = nl;
		s->cap = nc;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->base.ops = &agentlink_ops;
	l->set = s;
	l->coal_write_us = -1;
	str_copy(l->workload, workload, sizeof(l->workload));
	str_copy(l->address, address, sizeof(l->address));
	if (guest_nic) {
		str_copy(l->ifname_cfg, guest_nic, sizeof(l->ifname_cfg));
		str_copy(l->ifname, guest_nic, sizeof(l->ifname));
	}
	struct proto_client_opts o = {
		.timeout_ms = s->opt.timeout_ms,
		.connect_timeout_ms = s->opt.connect_timeout_ms,
		.backoff_min_ms = s->opt.backoff_min_ms,
		.backoff_max_ms = s->opt.backoff_max_ms,
		.epfd = s->epfd,
		.epoll_ptr = l,
		.on_state = agentlink_on_state,
		.arg = l,
	};
	proto_client_init(&l->client, &addr, &o);
	s->link[s->n++] = l;
	return l;
}

struct agentlink *agentlinks_find(struct agentlinks *s, const char *workload)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->link[i]->workload, workload))
			return s->link[i];
	return NULL;
}

int agentlinks_fd(const struct agentlinks *s)
{
	return s->epfd;
}

void agentlinks_poll(struct agentlinks *s, uint64_t now_ms)
{
	struct epoll_event ev[16];
	int n;

	do {
		n = epoll_wait(s->epfd, ev, 16, 0);
		for (int i = 0; i < n; i++) {
			struct agentlink *l = ev[i].data.ptr;
			proto_client_handle_events(&l->client, ev[i].events, now_ms);
		}
	} while (n == 16);
	for (int i = 0; i < s->n; i++) {
		proto_client_tick(&s->link[i]->client, now_ms);
		agentlink_sync(s->link[i], now_ms);
	}
}

int agentlinks_timeout_ms(const struct agentlinks *s, uint64_t now_ms)
{
	uint64_t t = UINT64_MAX;

	for (int i = 0; i < s->n; i++) {
		const struct agentlink *l = s->link[i];
		uint64_t d = proto_client_next_deadline_ms(&l->client);
		if (d < t)
			t = d;
		if (proto_client_state(&l->client) != PROTO_CLIENT_READY)
			continue;
		if (!l->stats_pending && l->next_stats_ms < t)
			t = l->next_stats_ms;
		for (int k = 0; k < AGENTLINK_N_KNOBS; k++) {
			const struct agentlink_knob *kn = &l->knob[k];
			if (kn->failed && !kn->sent && kn->retry_ms < t)
				t = kn->retry_ms;
		}
	}
	if (t == UINT64_MAX)
		return -1;
	if (t <= now_ms)
		return 0;
	return t - now_ms > 60000 ? 60000 : (int)(t - now_ms);
}

int agentlinks_restore(struct agentlinks *s, uint32_t wait_ms)
{
	uint64_t now = proto_now_ms(), deadline = now + wait_ms;
	int waiting = 0, failed = 0;

	for (int i = 0; i < s->n; i++) {
		struct agentlink *l = s->link[i];
		if (!l->changed)
			continue;
		if (proto_client_state(&l->client) != PROTO_CLIENT_READY) {
			log_warnx(
				"workload %s: agent %s is not connected: the guest keeps the last "
				"vCPU and queue counts (the agent restores them when it exits)",
				l->workload, l->address);
			failed++;
			continue;
		}
		if (proto_client_request(&l->client, "restore", NULL, agentlink_on_restore, l,
					 now) < 0) {
			log_warn("workload %s: agent: restore not sent", l->workload);
			failed++;
			continue;
		}
		l->count[AGENTLINK_RESTORE].sent++;
		l->restore_pending = true;
		waiting++;
	}
	while (waiting > 0 && now < deadline) {
		struct epoll_event ev[16];
		int n = epoll_wait(s->epfd, ev, 16, (int)(deadline - now));
		now = proto_now_ms();
		for (int i = 0; i < n; i++) {
			struct agentlink *l = ev[i].data.ptr;
			proto_client_handle_events(&l->client, ev[i].events, now);
		}
		waiting = 0;
		for (int i = 0; i < s->n; i++) {
			proto_client_tick(&s->link[i]->client, now);
			waiting += s->link[i]->restore_pending;
		}
	}
	for (int i = 0; i < s->n; i++) {
		struct agentlink *l = s->link[i];
		if (l->restore_pending) {
			log_warnx("workload %s: agent %s: no answer to restore within %u ms",
				  l->workload, l->address, wait_ms);
			l->restore_pending = false;
			failed++;
		} else if (l->changed && l->last[AGENTLINK_RESTORE].valid &&
			   l->last[AGENTLINK_RESTORE].status != PROTO_ST_OK) {
			failed++;
		}
	}
	return failed;
}

/* ---- Interrupt rate of the guest NIC ------------------------------------------------------------ */

/* A counter of the agent's stats, or -1. */
static int64_t agentlink_u64(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v)
								: -1;
}

int agentlink_rxq_sample(struct agentlink *l, struct vs_rxq_sample *s)
{
	const json_t *nic, *irqs, *busy, *v;
	int64_t packets, bytes, t_ms, busy_ms = 0, irq = 0;
	int fan = l->knob[AGENTLINK_RPS].have > 0 ? l->knob[AGENTLINK_RPS].have : 1;
	size_t i;

	if (!l->stats || !l->ifname[0] || l->ifname_problem[0])
		return 0;
	nic = agentlink_nic(l->stats, l->ifname);
	packets = agentlink_u64(nic, "rx_total_packets");
	bytes = agentlink_u64(nic, "rx_total_bytes");
	t_ms = agentlink_u64(l->stats, "t_ms");
	irqs = json_object_get(nic, "rx_irqs");
	if (!nic || packets < 0 || bytes < 0 || t_ms < 0 || !json_is_array(irqs))
		return 0; /* an agent without the counters (older, or no vector of its own) */
	json_array_foreach(irqs, i, v)
	{
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			irq += json_integer_value(v);
	}
	/* the receiving vCPUs: the interrupt's (0) and the RPS targets */
	busy = json_object_get(l->stats, "busy_ms");
	json_array_foreach(busy, i, v)
	{
		if ((int)i >= fan)
			break;
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			busy_ms += json_integer_value(v);
	}
	memset(s, 0, sizeof(*s));
	s->site = VS_RXQ_GUEST;
	str_copy(s->workload, l->workload, sizeof(s->workload));
	str_copy(s->ifname, l->ifname, sizeof(s->ifname));
	s->queue = -1;
	s->coalesce_ok = !l->coal_unsupported[0];
	str_copy(s->unsupported, l->coal_unsupported, sizeof(s->unsupported));
	s->rx_usecs =
		(uint32_t)(l->knob[AGENTLINK_COAL].have > 0 ? l->knob[AGENTLINK_COAL].have : 0);
	s->fan_cur = fan;
	s->fan_max = l->guest_vcpus > 1 ? l->guest_vcpus : 1;
	if (l->rx_have && l->stats_at_ms != l->rx_stats_ms && t_ms > l->rx_t_ms &&
	    (uint64_t)packets >= l->rx_packets && (uint64_t)bytes >= l->rx_bytes &&
	    (uint64_t)irq >= l->rx_irqs) {
		double secs = (double)(t_ms - l->rx_t_ms) / 1e3;
		s->measured = true;
		s->s.period_s = secs;
		s->s.packets = (uint64_t)packets - l->rx_packets;
		s->s.bytes = (uint64_t)bytes - l->rx_bytes;
		s->s.interrupts = (uint64_t)irq - l->rx_irqs;
		s->s.busy_cores = busy_ms >= l->rx_busy_ms
					  ? (double)(busy_ms - l->rx_busy_ms) / 1e3 / secs
					  : 0;
		s->busy_rx_cores = s->s.busy_cores;
	}
	if (!l->rx_have || l->stats_at_ms != l->rx_stats_ms) {
		l->rx_have = true;
		l->rx_stats_ms = l->stats_at_ms;
		l->rx_t_ms = t_ms;
		l->rx_packets = (uint64_t)packets;
		l->rx_bytes = (uint64_t)bytes;
		l->rx_irqs = (uint64_t)irq;
		l->rx_busy_ms = busy_ms;
	}
	return 1;
}

void agentlink_rxq_apply(struct agentlink *l, const struct vs_rxq_target *t)
{
	if (t->set_rate && t->rx_usecs >= 1 && t->rx_usecs <= PROTO_MAX_RX_USECS) {
		l->knob[AGENTLINK_COAL].want = (int)t->rx_usecs;
		l->coal_adaptive = false;
	} else if (t->release && l->coal_orig > 0) {
		l->knob[AGENTLINK_COAL].want = l->coal_orig; /* what the guest had */
		l->coal_adaptive = l->coal_orig_adaptive;
	}
	if (t->set_fan && t->fan_n >= 1)
		l->knob[AGENTLINK_RPS].want = t->fan_n;
}

/* ---- Status and metrics ---------------------------------------------------------------------- */

static json_t *agentlink_opt_int(int v)
{
	return v > 0 ? json_integer(v) : json_null();
}

static json_t *agentlink_knob_json(const struct agentlink_knob *kn)
{
	return json_pack("{s:o,s:o,s:o,s:b,s:o}", "want", agentlink_opt_int(kn->want), "asked",
			 agentlink_opt_int(kn->asked), "applied", agentlink_opt_int(kn->have),
			 "pending", kn->sent != 0, "pending_value", agentlink_opt_int(kn->sent));
}

json_t *agentlink_status(const struct agentlink *l, uint64_t now_ms)
{
	enum proto_client_state st = proto_client_state(&l->client);
	json_t *o = json_object(), *replies = json_object(), *reqs = json_object();

	json_object_set_new(o, "address", json_string(l->address));
	json_object_set_new(o, "state", json_string(proto_client_state_name(st)));
	json_object_set_new(o, "ready", json_boolean(st == PROTO_CLIENT_READY));
	if (st == PROTO_CLIENT_READY)
		json_object_set_new(o, "up_s", json_real((double)(now_ms - l->up_since_ms) / 1e3));
	json_object_set_new(o, "last_error", json_string(proto_client_last_error(&l->client)));
	json_object_set_new(o, "connects", json_integer((json_int_t)l->connects));
	json_object_set_new(o, "disconnects", json_integer((json_int_t)l->disconnects));
	json_object_set_new(o, "ifname", l->ifname[0] ? json_string(l->ifname) : json_null());
	if (l->ifname_problem[0])
		json_object_set_new(o, "ifname_problem", json_string(l->ifname_problem));
	json_object_set_new(o, "guest_vcpus", agentlink_opt_int(l->guest_vcpus));
	json_object_set_new(o, "guest_max_queues", agentlink_opt_int(l->guest_max_queues));
	json_object_set_new(o, "vcpus", agentlink_knob_json(&l->knob[AGENTLINK_VCPUS]));
	json_object_set_new(o, "queues", agentlink_knob_json(&l->knob[AGENTLINK_VNQ]));
	json_object_set_new(o, "rx_usecs", agentlink_knob_json(&l->knob[AGENTLINK_COAL]));
	json_object_set_new(o, "rps_cpus", agentlink_knob_json(&l->knob[AGENTLINK_RPS]));
	if (l->coal_unsupported[0])
		json_object_set_new(o, "coalesce_unsupported", json_string(l->coal_unsupported));
	if (l->coal_write_us >= 0)
		json_object_set_new(o, "coalesce_write_us", json_integer(l->coal_write_us));
	for (int r = 0; r < AGENTLINK_N_REQ; r++) {
		const struct agentlink_last *last = &l->last[r];
		const struct agentlink_counts *c = &l->count[r];
		json_object_set_new(reqs, agentlink_req_names[r],
				    json_pack("{s:I,s:I,s:I,s:I,s:I}", "sent", (json_int_t)c->sent,
					      "ok", (json_int_t)c->ok, "refused",
					      (json_int_t)c->refused, "timeout",
					      (json_int_t)c->timeout, "disconnected",
					      (json_int_t)c->disconnected));
		if (!last->valid)
			continue;
		json_t *rep = json_pack(
			"{s:s,s:f,s:f}", "status", agentlink_status_name(last->status), "age_s",
			(double)(now_ms - last->at_ms) / 1e3, "rtt_us", (double)last->rtt_us);
		if (r < AGENTLINK_N_KNOBS)
			json_object_set_new(rep, "n", json_integer(last->value));
		if (last->error[0])
			json_object_set_new(rep, "error", json_string(last->error));
		json_object_set_new(replies, agentlink_req_names[r], rep);
	}
	json_object_set_new(o, "replies", replies);
	json_object_set_new(o, "requests", reqs);
	json_object_set_new(o, "rtt_us",
			    json_pack("{s:I,s:f,s:f,s:f}", "count", (json_int_t)l->rtt_n, "last",
				      (double)l->rtt_last_us, "mean",
				      l->rtt_n ? (double)l->rtt_sum_us / (double)l->rtt_n : 0.0,
				      "max", (double)l->rtt_max_us));
	if (l->stats) {
		json_object_set_new(o, "stats", json_incref(l->stats));
		json_object_set_new(o, "stats_age_s",
				    json_real((double)(now_ms - l->stats_at_ms) / 1e3));
	}
	return o;
}

void agentlinks_metrics(const struct agentlinks *s, struct metrics_buf *b)
{
	if (s->n == 0)
		return;
	metrics_printf(b, "# HELP vspace_agent_up 1 while the guest agent link is ready.\n"
			  "# TYPE vspace_agent_up gauge\n");
	for (int i = 0; i < s->n; i++)
		metrics_printf(b, "vspace_agent_up{workload=\"%s\"} %d\n", s->link[i]->workload,
			       proto_client_state(&s->link[i]->client) == PROTO_CLIENT_READY);
	metrics_printf(b, "# HELP vspace_agent_connects_total Connections to the agent that "
			  "reached ready.\n# TYPE vspace_agent_connects_total counter\n");
	for (int i = 0; i < s->n; i++)
		metrics_printf(b, "vspace_agent_connects_total{workload=\"%s\"} %llu\n",
			       s->link[i]->workload, (unsigned long long)s->link[i]->connects);
	metrics_printf(b, "# HELP vspace_agent_disconnects_total Ready connections that were "
			  "lost.\n# TYPE vspace_agent_disconnects_total counter\n");
	for (int i = 0; i < s->n; i++)
		metrics_printf(b, "vspace_agent_disconnects_total{workload=\"%s\"} %llu\n",
			       s->link[i]->workload, (unsigned long long)s->link[i]->disconnects);
	metrics_printf(b, "# HELP vspace_agent_requests_total Requests to the agent by command "
			  "and outcome.\n# TYPE vspace_agent_requests_total counter\n");
	for (int i = 0; i < s->n; i++)
		for (int r = 0; r < AGENTLINK_N_REQ; r++) {
			const struct agentlink_counts *c = &s->link[i]->count[r];
			const char *w = s->link[i]->workload, *cmd = agentlink_req_names[r];
			metrics_printf(
				b,
				"vspace_agent_requests_total{workload=\"%s\",cmd=\"%s\",result="
				"\"ok\"} "
				"%llu\n"
				"vspace_agent_requests_total{workload=\"%s\",cmd=\"%s\",result="
				"\"refused\"} %llu\n"
				"vspace_agent_requests_total{workload=\"%s\",cmd=\"%s\",result="
				"\"timeout\"} %llu\n"
				"vspace_agent_requests_total{workload=\"%s\",cmd=\"%s\",result="
				"\"disconnected\"} %llu\n",
				w, cmd, (unsigned long long)c->ok, w, cmd,
				(unsigned long long)c->refused, w, cmd,
				(unsigned long long)c->timeout, w, cmd,
				(unsigned long long)c->disconnected);
		}
	metrics_printf(b, "# HELP vspace_agent_rtt_seconds Round-trip time of answered agent "
			  "requests.\n# TYPE vspace_agent_rtt_seconds summary\n");
	for (int i = 0; i < s->n; i++)
		metrics_printf(b,
			       "vspace_agent_rtt_seconds_sum{workload=\"%s\"} %.6f\n"
			       "vspace_agent_rtt_seconds_count{workload=\"%s\"} %llu\n",
			       s->link[i]->workload, (double)s->link[i]->rtt_sum_us * 1e-6,
			       s->link[i]->workload, (unsigned long long)s->link[i]->rtt_n);
	metrics_printf(b, "# HELP vspace_agent_rtt_seconds_max Largest agent round-trip time.\n"
			  "# TYPE vspace_agent_rtt_seconds_max gauge\n");
	for (int i = 0; i < s->n; i++)
		metrics_printf(b, "vspace_agent_rtt_seconds_max{workload=\"%s\"} %.6f\n",
			       s->link[i]->workload, (double)s->link[i]->rtt_max_us * 1e-6);
	metrics_printf(b, "# HELP vspace_agent_guest_vcpus Active vCPUs the agent confirmed.\n"
			  "# TYPE vspace_agent_guest_vcpus gauge\n");
	for (int i = 0; i < s->n; i++)
		if (s->link[i]->knob[AGENTLINK_VCPUS].have > 0)
			metrics_printf(b, "vspace_agent_guest_vcpus{workload=\"%s\"} %d\n",
				       s->link[i]->workload,
				       s->link[i]->knob[AGENTLINK_VCPUS].have);
	metrics_printf(b, "# HELP vspace_agent_guest_queues Queues of the guest NIC the agent "
			  "confirmed.\n# TYPE vspace_agent_guest_queues gauge\n");
	for (int i = 0; i < s->n; i++)
		if (s->link[i]->knob[AGENTLINK_VNQ].have > 0)
			metrics_printf(b, "vspace_agent_guest_queues{workload=\"%s\"} %d\n",
				       s->link[i]->workload, s->link[i]->knob[AGENTLINK_VNQ].have);
	metrics_printf(b, "# HELP vspace_agent_guest_cpu_busy_seconds_total Busy time of each "
			  "guest vCPU (agent stats).\n"
			  "# TYPE vspace_agent_guest_cpu_busy_seconds_total counter\n");
	for (int i = 0; i < s->n; i++) {
		const json_t *busy = json_object_get(s->link[i]->stats, "busy_ms"), *v;
		size_t c;
		json_array_foreach(busy, c, v)
		{
			if (c >= PROTO_MAX_VCPUS)
				break;
			if (json_is_integer(v) && json_integer_value(v) >= 0)
				metrics_printf(b,
					       "vspace_agent_guest_cpu_busy_seconds_total{workload="
					       "\"%s\",vcpu=\"%zu\"} %.3f\n",
					       s->link[i]->workload, c,
					       (double)json_integer_value(v) / 1e3);
		}
	}
}
