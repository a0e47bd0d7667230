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

/*
 * MemNet (src/memnet/); the first byte picks, modulo 3:
 *   0  a region image (region): the next 192 bytes become the header of a
 *      64 KiB region, the rest its object table from offset 4096; the host's
 *      scan, lookups, eviction and quota write run over it. Counts slots:
 *      parsed = objects that check, refused = slots refused, plus 1 when the
 *      header is refused. Aborts when an object it took lies outside the
 *      data area or a lookup's bytes outside the region.
 *   1  HTTP request heads, pipelined, and their Range values (http_request):
 *      parsed = requests accepted, refused = the one refused (the connection
 *      would close). Aborts on a range outside the object.
 *   2  `vspace memnet replay` CSV (replay_csv): a header, then rows; parsed =
 *      rows accepted, refused = rows (or the header) refused.
 */
void fuzz_memnet(const uint8_t *data, size_t size, struct fuzz_count *c);

/*
 * FlexVF's parsers; the first byte picks one, the rest is its input (kind):
 *   'c' `vspace vf replay` CSV under fair, activity with a margin, random with
 *       a hold: a unit per strategy, parsed when it exits 0 (vf_replay)
 *   'n' a PF's RTM_NEWLINK answer, its VF list (vf_netlink)
 *   'e' the emulated VF list text of fixture trees (vf_emul)
 *   'p' PCI addresses and MACs as sysfs and netlink give them, one a line
 *       (vf_pci_mac)
 *   'q' what QEMU sends during an unplug with an announcement, through the
 *       non-blocking client: parsed when the unplug finished (vf_qmp_unplug)
 *   'a' a guest agent's stats result: each NIC's counters (vf_agent_stats)
 * Any other first byte is ignored (kind NULL).
 */
void fuzz_vf(const uint8_t *data, size_t size, struct fuzz_count *c);

#endif
