/* layout.h - the MemNet shared region (SPEC §7.3): header, object table, data area; who writes what, the memory ordering, the checks. */
#ifndef VS_MEMNET_LAYOUT_H
#define VS_MEMNET_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A region is one file (a /dev/shm file or a memfd) that the host creates and
 * the guest maps: through QEMU's ivshmem-plain device (memory-backend-file,
 * share=on; the guest mmaps BAR 2, /sys/bus/pci/devices/<bdf>/resource2) or,
 * between two host processes, directly. One region per VM.
 *
 *   offset 0          header (4 KiB): geometry, quota, the guest's counters
 *   table_off = 4096  object table: slot_count slots of 128 bytes
 *   data_off          data area (page-aligned) up to region_bytes
 *
 * All fields are little-endian (guest and host share the byte order; a
 * byte-swapped magic is refused as such) and naturally aligned.
 *
 * Trust boundary. The guest is untrusted: every byte of the region may change
 * at any moment. The host (reader) copies each field it uses once, checks the
 * copy (memnet_geom_check, memnet_slot_check) and uses only the copy, so a
 * check cannot be undone by a later change (no double fetch), and every
 * access it makes stays inside the region. A corrupt header refuses the
 * whole region; a corrupt slot makes that one object unreadable. Nothing the
 * guest writes can make the host read or write outside this region, so a
 * torn or hostile guest can at worst make its own objects unreadable.
 *
 * Ownership: each field has exactly one writer.
 *   host-written at creation, read-only afterwards: the geometry;
 *   host-owned (host writes, guest reads): quota_bytes, each slot's
 *       released_gen;
 *   guest-owned (guest writes, host reads): everything else.
 * There are no locks across the boundary: a reader never waits for a writer.
 * (Several writer processes inside one guest serialise among themselves with
 * flock() on the region file; the host never takes that lock.)
 *
 * Memory ordering (single writer, single reader, per field):
 *   - A slot is published with a seqlock (Boehm, "Can seqlocks get along with
 *     programming language memory models?", MSPC 2012): the guest makes seq
 *     odd (relaxed store + release fence), stores the fields (relaxed), then
 *     makes seq even with a release store. The host loads seq with acquire,
 *     copies the fields (relaxed), issues an acquire fence and loads seq
 *     again; an odd or changed seq means "changing now": the copy is
 *     discarded and read again on the next scan.
 *   - Object bytes are written before the length that covers them is
 *     published (the seqlock's release store), so the host, having read that
 *     length with acquire semantics, reads only bytes the guest finished.
 *   - table_seq (header) is bumped with a release store after every slot
 *     change; the host rescans the table when it moved (and once a second
 *     regardless).
 *   - The host's quota_bytes and released_gen are release stores; the guest
 *     reads them with acquire loads. Before releasing an object the host has
 *     finished every send from its bytes (and punched its pages out of the
 *     file), so the guest may overwrite them as soon as it sees released_gen.
 *
 * Object life (state is guest-owned, released_gen host-owned):
 *   FREE -> WRITING (put: extent reserved, length grows; the host may serve it
 *   chunked) -> COMPLETE (served with its final length) -> REMOVED (the guest
 *   withdrew it: rm, replaced by a newer object of the same name, or an
 *   aborted put). The host sets released_gen = gen when it lets an object go:
 *   a REMOVED one once no response is sending it, or a COMPLETE one it
 *   evicts. A slot whose released_gen equals its gen is free for the guest.
 *   Its bytes count against the quota until then.
 */

/* "VSMEMNET" read as a little-endian 64-bit number. */
#define MEMNET_MAGIC   UINT64_C(0x54454e4d454d5356)
#define MEMNET_VERSION 1
/* The header occupies the first page. */
#define MEMNET_HEADER_BYTES 4096u
#define MEMNET_SLOT_BYTES   128u
/* Data extents and the data area are page-aligned so that the host can
 * punch an evicted object's pages out of the file without touching others. */
#define MEMNET_PAGE_BYTES 4096u
/* Object names: 1..56 bytes of [A-Za-z0-9._-], not starting with '.'
 * (URL-safe as they are, never a path). */
#define MEMNET_NAME_MAX 56
/* At most this many slots (a 8 MiB table). */
#define MEMNET_SLOTS_MAX 65536u
/* Default slots for a region: one per 64 KiB of data, between 64 and 4096. */
#define MEMNET_SLOTS_MIN_DEFAULT 64u
#define MEMNET_SLOTS_MAX_DEFAULT 4096u
/* Smallest region: the header, one page of table and one page of data. */
#define MEMNET_REGION_MIN_BYTES (3u * MEMNET_PAGE_BYTES)
/* Largest region: 1 TiB (QEMU's ivshmem BAR is a 64-bit BAR). */
#define MEMNET_REGION_MAX_BYTES (UINT64_C(1) << 40)

enum memnet_state {
	MEMNET_FREE = 0,
	MEMNET_WRITING = 1,
	MEMNET_COMPLETE = 2,
	MEMNET_REMOVED = 3,
};

struct memnet_header {
	/* --- written by the host at creation; never changed after --- */
	uint64_t magic;	       /* MEMNET_MAGIC */
	uint32_t version;      /* MEMNET_VERSION */
	uint32_t header_bytes; /* MEMNET_HEADER_BYTES */
	uint64_t region_bytes; /* the whole region (the file's size) */
	uint64_t table_off;    /* = header_bytes */
	uint32_t slot_count;   /* slots in the table */
	uint32_t slot_bytes;   /* MEMNET_SLOT_BYTES */
	uint64_t data_off;     /* first data byte: the table's end rounded up to a page */
	uint64_t data_bytes;   /* region_bytes - data_off */
	uint8_t pad0[8];
	/* --- host-owned (own cache line): the guest reads --- */
	uint64_t quota_bytes; /* the most data bytes the guest's live objects may
				 reserve (<= data_bytes); the orchestrator's decision */
	uint64_t quota_seq;   /* bumped by the host with every quota change */
	uint8_t pad1[48];
	/* --- guest-owned (own cache line): the host reads --- */
	uint64_t table_seq;	      /* bumped after every slot change (release) */
	uint64_t need_bytes;	      /* contiguous bytes a waiting put needs; 0: none */
	uint64_t jobs_done;	      /* jobs the processing module finished (counter) */
	uint64_t job_service_us_sum;  /* their summed service time, microseconds */
	uint64_t job_response_us_sum; /* their summed response time (arrival to result) */
	uint64_t job_bytes_sum;	      /* their summed result size, bytes */
	uint8_t pad2[16];
};

struct memnet_slot {
	uint64_t seq;	     /* guest: seqlock word, odd while the guest changes the slot */
	uint64_t gen;	     /* guest: the object's id, unique in the region, > 0 in use */
	uint32_t state;	     /* guest: enum memnet_state */
	uint32_t name_len;   /* guest: bytes of name used */
	uint64_t data_off;   /* guest: the object's first byte, from the data area's start */
	uint64_t capacity;   /* guest: bytes reserved for it (a multiple of the page) */
	uint64_t length;     /* guest: bytes written and published (<= capacity) */
	uint64_t mtime_ns;   /* guest: CLOCK_REALTIME of its last change */
	uint32_t writer_pid; /* guest: the writing process, for the guest's own clean-up */
	uint32_t pad;
	uint64_t released_gen;	    /* host: the object the host let go of (see above) */
	char name[MEMNET_NAME_MAX]; /* guest: not NUL-terminated when 56 bytes long */
};

_Static_assert(sizeof(struct memnet_header) == 192, "header layout");
_Static_assert(sizeof(struct memnet_slot) == MEMNET_SLOT_BYTES, "slot layout");

/* ---- Accessors for shared fields (GCC/Clang atomics on plain fields) ------ */

static inline uint64_t memnet_load_acq(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint64_t memnet_load_rlx(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void memnet_store_rel(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void memnet_store_rlx(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* ---- The checked copies the host (and the guest writer) work from -------- */

/* The geometry, checked (memnet_geom_check). */
struct memnet_geom {
	uint64_t region_bytes;
	uint32_t slot_count;
	uint64_t table_off;
	uint64_t data_off;
	uint64_t data_bytes;
	uint64_t quota_bytes; /* clamped to data_bytes */
};

/* One slot, copied consistently (seqlock) and checked. */
struct memnet_obj {
	uint64_t gen;
	enum memnet_state state;
	uint64_t data_off; /* from the data area's start */
	uint64_t capacity;
	uint64_t length;
	uint64_t mtime_ns;
	uint64_t released_gen;
	uint32_t writer_pid;
	char name[MEMNET_NAME_MAX + 1]; /* NUL-terminated */
};

/* The guest's job counters (header), as read. */
struct memnet_jobs {
	uint64_t jobs_done, service_us_sum, response_us_sum, bytes_sum;
};

/* ---- API for the region's writer and reader (src/memnet/) ---------------- */

/* Slots a region of region_bytes gets by default (see MEMNET_SLOTS_*). */
uint32_t memnet_default_slots(uint64_t region_bytes);
/* Fill *h with the geometry of a fresh region (quota = the data area).
 * Returns 0, or -1 with err set (size or slot count out of range). */
int memnet_geom_init(struct memnet_header *h, uint64_t region_bytes, uint32_t slot_count, char *err,
		     size_t errlen);
/* Copy the header's geometry and quota from the shared header h (relaxed
 * loads, each field once) and check it against the size of the mapping the
 * reader holds (region_bytes). Returns 0 with *g filled, or -1 with err
 * naming the field and the value found. */
int memnet_geom_read(const struct memnet_header *h, uint64_t region_bytes, struct memnet_geom *g,
		     char *err, size_t errlen);
/* Check a name: 1..MEMNET_NAME_MAX bytes of [A-Za-z0-9._-], not starting
 * with '.'. Returns 0 or -1 with err set. */
int memnet_name_check(const char *name, size_t len, char *err, size_t errlen);

/* Result of memnet_slot_read. */
enum memnet_read {
	MEMNET_READ_OK = 0,	 /* *o holds a checked object (or state FREE) */
	MEMNET_READ_BUSY = 1,	 /* the guest is changing the slot: try later */
	MEMNET_READ_CORRUPT = 2, /* the slot's contents are invalid: err says why */
};
/* Copy slot s (in a region of geometry g) consistently with the seqlock and
 * check it: state, name, extent inside the data area, length <= capacity,
 * gen > 0. A FREE slot is returned as is (other fields unchecked). */
enum memnet_read memnet_slot_read(const struct memnet_slot *s, const struct memnet_geom *g,
				  struct memnet_obj *o, char *err, size_t errlen);
/* The guest's job counters (relaxed loads). */
void memnet_jobs_read(const struct memnet_header *h, struct memnet_jobs *j);
/* The slot table of a mapped region (base = the region's first byte). */
static inline struct memnet_slot *memnet_slots(void *base, const struct memnet_geom *g)
{
	return (struct memnet_slot *)((char *)base + g->table_off);
}

/* ---- API for the guest writer -------------------------------------------- */

/* Write slot fields under the seqlock: memnet_slot_begin() makes seq odd,
 * the caller stores fields, memnet_slot_end() makes it even (release). */
void memnet_slot_begin(struct memnet_slot *s);
void memnet_slot_end(struct memnet_slot *s);

#endif
