/* qmpstats.h - KVM's halt-polling counters from QEMU over QMP (query-stats, QEMU >= 7.1): the replies' parsers and the exchange of each period. */
#ifndef VS_PLATFORM_LINUX_QMPSTATS_H
#define VS_PLATFORM_LINUX_QMPSTATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * QEMU >= 7.1 reads KVM's binary statistics (KVM_GET_STATS_FD, Linux >= 5.14)
 * of each vCPU and hands them out over QMP (qapi/stats.json):
 *
 *   -> {"execute":"query-stats-schemas","arguments":{"provider":"kvm"}}
 *   <- {"return":[{"provider":"kvm","target":"vcpu","stats":[
 *        {"name":"halt_poll_success_ns","type":"cumulative","unit":"seconds",
 *         "base":10,"exponent":-9}, ...]}, {"provider":"kvm","target":"vm",...}]}
 *   -> {"execute":"query-stats","arguments":{"target":"vcpu","providers":
 *        [{"provider":"kvm","names":["halt_poll_success_ns","halt_poll_fail_ns"]}]}}
 *   <- {"return":[{"provider":"kvm","qom-path":"/machine/unattached/device[0]",
 *        "stats":[{"name":"halt_poll_fail_ns","value":0},
 *                 {"name":"halt_poll_success_ns","value":0}]}, ...one per vCPU]}
 *
 * The schema is asked once per connection: it says whether this QEMU and
 * kernel have the two counters and in which unit (seconds * base^exponent;
 * nanoseconds on every kernel so far). Each period then asks for the two
 * values of every vCPU and sums them over the VM: the same number KVM's
 * debugfs file holds (src/platform/linux/kvmstat.h), fed through the same
 * arithmetic (src/platform/haltpoll.h).
 */

#define QMPSTATS_SUCCESS "halt_poll_success_ns"
#define QMPSTATS_FAIL	 "halt_poll_fail_ns"

/* What the schema says about the two counters. */
struct qmpstats_schema {
	uint64_t ns_per_unit[2]; /* success, fail: nanoseconds per unit of the value */
};

enum qmpstats_schema_rc {
	QMPSTATS_SCHEMA_OK = 0,
	QMPSTATS_SCHEMA_NO_KVM,	    /* no vCPU statistics from provider kvm (TCG, old kernel) */
	QMPSTATS_SCHEMA_NO_COUNTER, /* kvm vCPU statistics without the two counters */
	QMPSTATS_SCHEMA_BAD,	    /* malformed, or a unit we cannot convert */
};

/* The "return" member of a query-stats-schemas reply. err says why not OK. */
enum qmpstats_schema_rc qmpstats_parse_schema(const json_t *ret, struct qmpstats_schema *out,
					      char *err, size_t errlen);

/* One reading of a VM's counters. */
struct qmpstats_reading {
	uint64_t total_ns; /* sum over its vCPUs of halt_poll_success_ns + halt_poll_fail_ns */
	int n_vcpus;	   /* vCPUs in the reply */
	uint64_t vcpu_key; /* order-independent hash of their qom-paths (a changed set of
			      vCPUs is a new baseline) */
};

/* The "return" member of a query-stats reply (schema: what the schema
 * said). Returns 0, or -1 with err: not a list, no vCPU, a vCPU without one
 * of the counters ("missing"), a value that is not a whole number, a sum
 * that does not fit 64 bits. */
int qmpstats_parse_stats(const json_t *ret, const struct qmpstats_schema *schema,
			 struct qmpstats_reading *out, char *err, size_t errlen);

/* The arguments of the two requests (new references). */
json_t *qmpstats_schema_args(void);
json_t *qmpstats_stats_args(void);

/* ---- API for the Linux platform (kvmstat.c) -------------------------------------------- */

struct vs_linux;
struct lx_wl;

/* Read, for the n workloads in wl[] (each with a QMP socket), the two
 * counters over its QMP connection: connect and ask the schema where needed,
 * send every request first, then wait for all the answers together, at most
 * wait_ms in total (never more). Each workload's outcome is left in its
 * w->hp.q (kvmstat.c turns it into the period's correction). */
void qmpstats_exchange(struct vs_linux *lx, struct lx_wl **wl, int n, int wait_ms);

/* Forget what is known of a workload's QMP statistics (a new process). The
 * connection is closed. */
void qmpstats_reset(struct lx_wl *w);
/* Close the connection unless the statistics are read over it (after
 * discovery used it: QEMU serves one client at a time, so an idle
 * connection would lock others out of the monitor). */
void qmpstats_release(struct lx_wl *w);
/* Free what the workload's QMP state holds. */
void qmpstats_free(struct lx_wl *w);

#endif
