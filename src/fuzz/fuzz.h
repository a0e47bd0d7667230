/* fuzz.h - the fuzz targets: each feeds one untrusted input to parsers of outside input and counts what they made of it. */
#ifndef VS_FUZZ_FUZZ_H
#define VS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every parser of outside input has a target here. A target never crashes,
 * leaks or reads out of bounds, whatever the input (what libFuzzer checks:
 * src/fuzz/main.c, `make fuzz`), and aborts when a parser breaks an
 * invariant it states. Its saved corpus, tests/fuzz/<target>/, replays in
 * make check (tests/fuzz/test_corpus.c), where the counts below, summed over
 * the corpus, must match tests/fuzz/expected.txt: a parser that starts
 * refusing what it took, or taking what it refused, fails the test.
 */

/* What one input came to. */
struct fuzz_count {
	const char *kind; /* what was parsed ("line", "reply", "config", ...); NULL: ignored */
	unsigned parsed;  /* units (messages, replies, files) a parser accepted */
	unsigned refused; /* units it refused, with a reason */
};

typedef void fuzz_fn(const uint8_t *data, size_t size, struct fuzz_count *c);

struct fuzz_target {
	const char *name; /* tests/fuzz/<name>/ holds its corpus */
	fuzz_fn *one;
	const char *about;
};

/* The targets (n of them). */
const struct fuzz_target *fuzz_targets(int *n);
/* The target called name, or NULL. */
const struct fuzz_target *fuzz_target_find(const char *name);

/* The agent protocol (src/proto/): the bytes framed into lines (in uneven
 * chunks), each line decoded as a request and answered, the answer decoded
 * as a reply with the same id, and the line decoded as a reply. Counts
 * lines: parsed = a valid request. */
void fuzz_proto(const uint8_t *data, size_t size, struct fuzz_count *c);

/* The load generator's reply parsers (src/loadgen/proto.c): the first byte
 * picks what the connection waits for (memcached get, set, HTTP GET, then
 * the next), the rest is what the server sent, consumed reply by reply.
 * Counts replies: parsed, or refused (with a reason); an incomplete tail
 * counts neither. */
void fuzz_loadgen_reply(const uint8_t *data, size_t size, struct fuzz_count *c);

/*
 * vspaced's parsers; the first byte picks one, the rest is its input (kind):
 *   'c' a control-socket request line (ctl)   'i' a configuration file (config)
 *   's' /proc/stat (proc_stat)   't' a task's stat line (task_stat)
 *   'g' a task's cgroup file (task_cgroup)   'n' /proc/interrupts (interrupts)
 *   'q' a QMP query-cpus-fast reply (qmp_cpus)   'a' an agent address (agent_addr)
 *   'm' a cpu list and a hex cpu mask (cpuset)
 *   'h' a guest agent's reply line, its result taken as a hello and as stats
 *       by an agent link (agent_reply)
 *   'k' KVM debugfs counter files (NUL-separated), read as successive
 *       halt-polling readings (kvm_counters)
 *   'Q' what QEMU sends on a QMP socket: the bytes as a stream through the
 *       non-blocking client, each line as a query-stats-schemas and a
 *       query-stats answer (qmp_stream)
 * Any other first byte is ignored (kind NULL).
 */
void fuzz_parsers(const uint8_t *data, size_t size, struct fuzz_count *c);

#endif
