/* haltpoll.h - KVM halt-polling accounting shared by the platforms: counter deltas and the correction of U_v. */
#ifndef VS_PLATFORM_HALTPOLL_H
#define VS_PLATFORM_HALTPOLL_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"

/*
 * With KVM's adaptive halt polling (halt_poll_ns, 200 us by default on x86)
 * a vCPU whose guest goes idle spins in the host before its thread sleeps.
 * That spinning is non-idle time of the vCPU group's cores in /proc/stat, so
 * U_v (SPEC §2) overstates what the guest needs. KVM accounts the time it
 * spends polling per vCPU: halt_poll_success_ns + halt_poll_fail_ns ("the sum
 * of these 2 stats is the total cpu time spent polling", Linux >= 5.8), and
 * its debugfs exports the sum over a VM's vCPUs. Both the Linux platform
 * (src/platform/linux/kvmstat.c) and the simulator (src/sim/simplat.c) feed
 * that sum through these helpers each period, so the policies see the same
 * corrected U_v from either.
 */

/* [host] halt_poll_accounting= / `vspace sim --halt-poll-accounting`. */
enum vs_haltpoll_mode {
	VS_HALTPOLL_AUTO = 0, /* subtract KVM's polling time whenever it can be read (default) */
	VS_HALTPOLL_OFF,      /* U_v is the group's busy time, polling included */
};
const char *haltpoll_mode_name(enum vs_haltpoll_mode m);
/* "auto" | "off"; -1 when unknown. */
int haltpoll_mode_parse(const char *text);

/* A cumulative polling counter (ns) and its last reading. */
struct vs_haltpoll_counter {
	bool have;	  /* last_ns holds a reading */
	uint64_t last_ns; /* the last reading */
};

enum vs_haltpoll_step {
	VS_HALTPOLL_FIRST = 0, /* no earlier reading: this one is the baseline */
	VS_HALTPOLL_DELTA,     /* *delta_ns is the polling time since the last reading */
	VS_HALTPOLL_WENT_DOWN, /* the counter went backwards (VM restarted on the same
				  directory name, or its stats were cleared): new baseline */
};

/* Feed a new reading of the summed counter. */
enum vs_haltpoll_step haltpoll_counter_update(struct vs_haltpoll_counter *c, uint64_t total_ns,
					      uint64_t *delta_ns);
/* Forget the last reading (the VM or its stats directory changed). */
void haltpoll_counter_reset(struct vs_haltpoll_counter *c);

/* Polling time over a period, in cores: delta_ns / period; 0 when the
 * period is not positive. */
double haltpoll_cores(uint64_t delta_ns, double period_s);

/* Subtract poll_cores of KVM halt polling from s->busy_vcpu, clamped so that
 * U_v stays >= 0 (what is subtracted is never more than the group's busy
 * time), and record it: s->has_halt_poll, s->busy_vcpu_raw (U_v before),
 * s->halt_poll_vcpu (what was subtracted). U_n and busy_vcpu_threads are left
 * alone: polling is neither packet processing nor, for the baselines that
 * read thread time, a change of their published inputs. Returns the amount
 * subtracted. */
double haltpoll_correct(struct vs_sample *s, double poll_cores);

#endif
