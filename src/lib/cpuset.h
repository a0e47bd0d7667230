/* cpuset.h - fixed-size CPU sets: cpulist and hex-mask parsing and formatting. */
#ifndef VS_LIB_CPUSET_H
#define VS_LIB_CPUSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest CPU id + 1 that vspace handles (Linux NR_CPUS is 8192 on some
 * distros; 1024 covers every host we target, and a set stays 128 bytes). */
#define VS_MAX_CPUS	1024
#define VS_CPUSET_WORDS (VS_MAX_CPUS / 64)

struct vs_cpuset {
	uint64_t bits[VS_CPUSET_WORDS];
};

void cpuset_zero(struct vs_cpuset *s);
void cpuset_set(struct vs_cpuset *s, int cpu);
void cpuset_clear(struct vs_cpuset *s, int cpu);
bool cpuset_test(const struct vs_cpuset *s, int cpu);
int cpuset_count(const struct vs_cpuset *s);
bool cpuset_equal(const struct vs_cpuset *a, const struct vs_cpuset *b);
bool cpuset_empty(const struct vs_cpuset *s);
/* dst = a | b, a & b, a & ~b (dst may alias a or b) */
void cpuset_or(struct vs_cpuset *dst, const struct vs_cpuset *a, const struct vs_cpuset *b);
void cpuset_and(struct vs_cpuset *dst, const struct vs_cpuset *a, const struct vs_cpuset *b);
void cpuset_andnot(struct vs_cpuset *dst, const struct vs_cpuset *a, const struct vs_cpuset *b);
bool cpuset_intersects(const struct vs_cpuset *a, const struct vs_cpuset *b);
/* First CPU >= from in the set, or -1. Iterate with
 * for (c = cpuset_next(s, 0); c >= 0; c = cpuset_next(s, c + 1)) */
int cpuset_next(const struct vs_cpuset *s, int from);
/* Highest CPU in the set, or -1. */
int cpuset_last(const struct vs_cpuset *s);

/* Parse a cpulist ("0-3,8,10-11"; empty or "\n" gives the empty set).
 * Returns 0, or -1 with a reason in err (errlen bytes). */
int cpuset_parse_list(struct vs_cpuset *s, const char *text, char *err, size_t errlen);
/* Format as a cpulist ("0-3,8"); "" for the empty set. Returns the length
 * that would have been written (as snprintf). */
size_t cpuset_format_list(const struct vs_cpuset *s, char *buf, size_t len);

/* Parse a kernel hex mask ("ff", "00000000,0000000f", with or without
 * "0x"). Returns 0, or -1 with a reason in err. */
int cpuset_parse_mask(struct vs_cpuset *s, const char *text, char *err, size_t errlen);
/* Format as a kernel hex mask in comma-separated 32-bit words, as
 * /proc/irq/N/smp_affinity prints it, covering cpus 0..ncpus-1. */
size_t cpuset_format_mask(const struct vs_cpuset *s, int ncpus, char *buf, size_t len);

#endif
