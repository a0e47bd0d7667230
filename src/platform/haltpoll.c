/* haltpoll.c - KVM halt-polling accounting shared by the platforms: counter deltas and the correction of U_v. */
#include "platform/haltpoll.h"

#include <math.h>
#include <string.h>

static const char *const haltpoll_names[] = { "auto", "off" };

const char *haltpoll_mode_name(enum vs_haltpoll_mode m)
{
	return (unsigned)m < 2 ? haltpoll_names[m] : "?";
}

int haltpoll_mode_parse(const char *text)
{
	for (int i = 0; i < 2; i++)
		if (strcmp(text, haltpoll_names[i]) == 0)
			return i;
	return -1;
}

enum vs_haltpoll_step haltpoll_counter_update(struct vs_haltpoll_counter *c, uint64_t total_ns,
					      uint64_t *delta_ns)
{
	enum vs_haltpoll_step st;

	*delta_ns = 0;
	if (!c->have) {
		st = VS_HALTPOLL_FIRST;
	} else if (total_ns < c->last_ns) {
		/* a u64 of nanoseconds wraps after ~584 years: going down is a
		 * reset, never a wrap */
		st = VS_HALTPOLL_WENT_DOWN;
	} else {
		*delta_ns = total_ns - c->last_ns;
		st = VS_HALTPOLL_DELTA;
	}
	c->have = true;
	c->last_ns = total_ns;
	return st;
}

void haltpoll_counter_reset(struct vs_haltpoll_counter *c)
{
	c->have = false;
	c->last_ns = 0;
}

double haltpoll_cores(uint64_t delta_ns, double period_s)
{
	if (!(period_s > 0))
		return 0;
	return (double)delta_ns / (period_s * 1e9);
}

double haltpoll_correct(struct vs_sample *s, double poll_cores)
{
	double raw = s->busy_vcpu > 0 ? s->busy_vcpu : 0, sub = poll_cores;

	if (!(sub > 0) || !isfinite(sub))
		sub = 0;
	if (sub > raw)
		sub = raw;
	s->has_halt_poll = true;
	s->busy_vcpu_raw = s->busy_vcpu;
	s->halt_poll_vcpu = sub;
	s->busy_vcpu = raw - sub;
	return sub;
}
