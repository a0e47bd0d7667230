/* fuzzentry.h - one entry point that feeds untrusted bytes to every parser of outside input vspaced has (fuzz targets and their corpus tests). */
#ifndef VS_DAEMON_FUZZENTRY_H
#define VS_DAEMON_FUZZENTRY_H

#include <stddef.h>
#include <stdint.h>

/*
 * The first byte picks the parser, the rest is its input:
 *   'c' a control-socket request line (ctlsock_dispatch with a handler that
 *       echoes the request)      'i' a configuration file (config_load_string)
 *   's' /proc/stat               't' a task's stat line     'g' a task's cgroup file
 *   'n' /proc/interrupts         'q' a QMP reply line       'a' an agent address
 *   'm' a cpu list and a hex cpu mask (cpuset_parse_list / _mask)
 *   'h' a guest agent's reply line, its result taken as a hello and as stats
 *       by an agent link (agentlink_take_hello / _take_stats, status, metrics)
 *   'k' KVM debugfs counter files (NUL-separated), read as successive
 *       halt-polling readings (kvmstat_parse_u64, src/platform/haltpoll.h)
 *   'Q' what QEMU sends on a QMP socket: the bytes as a stream through the
 *       non-blocking client (qmpconn_step, a query-stats awaited once ready),
 *       and each line as a query-stats-schemas and a query-stats answer
 *       (qmpstats_parse_schema / _stats)
 *   'I' an interrupt-rate calibration file (irqcal_parse, then irqcal_format)
 * Any other first byte is ignored. Never crashes, leaks or reads out of
 * bounds for any input (what the fuzzers check). Returns 0.
 */
int fuzz_one(const uint8_t *data, size_t len);

#endif
