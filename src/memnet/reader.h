/* reader.h - the host's view of one VM's region: checked scans of the table, name lookup, pins, release/eviction, the quota it writes. */
#ifndef VS_MEMNET_READER_H
#define VS_MEMNET_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memnet/layout.h"
#include "memnet/region.h"

/* Longest region name (the first path segment of its URLs). */
#define MEMNET_REGION_NAME_MAX 32

/* The host's record of one slot. */
struct memnet_hslot {
	struct memnet_obj o;  /* the last consistent, checked copy */
	bool live;	      /* o is an object the host has not released */
	bool bad;	      /* the slot's last read did not check (logged once) */
	uint32_t refs;	      /* responses sending from its bytes: never released meanwhile */
	uint64_t released;    /* the generation the host released here (its own record) */
	uint64_t full_serves; /* complete 200 bodies sent */
	uint64_t last_use_ms; /* last response started (or when it appeared) */
};

/* When the host lets go of objects (besides REMOVED ones, always released). */
struct memnet_evict_opts {
	unsigned after_serves; /* evict a complete object after this many full serves; 0 = no */
	bool unserved;	       /* over quota or for a waiting put, also evict objects nobody
				  fetched yet (default: only served ones) */
	bool punch;	       /* punch released extents out of the file (frees the memory) */
};

struct memnet_reader {
	char name[MEMNET_REGION_NAME_MAX + 1];
	char path[256];
	struct memnet_region reg;
	bool mapped;
	bool in_memory;	 /* a buffer, not a file (fuzzing, tests): no fstat, no punch */
	bool ok;	 /* the header checks: objects are served */
	char error[320]; /* why not, when !ok */
	struct memnet_geom geom;
	bool have_geom; /* geom is locked for this mapping */
	struct memnet_hslot *slots;
	uint32_t *hash;	    /* name -> slot + 1, open addressing */
	uint32_t hash_size; /* a power of two, 0 before the first scan */
	uint64_t table_seq; /* the guest's table_seq at the last table scan */
	uint64_t last_table_ms, last_open_ms;
	uint32_t refs_total; /* pins over all slots */
	/* after each scan */
	uint64_t used_bytes; /* reserved by live objects */
	uint64_t need_bytes; /* what a waiting put in the guest asks for */
	uint32_t n_live, n_bad;
	/* counters */
	uint64_t releases, evictions, punched_bytes, refusals, quota_changes;
};

/* Set up a reader for the region file at path, served under name (1..32 of
 * [A-Za-z0-9._-]). Maps nothing yet: memnet_reader_scan opens the file (and
 * keeps trying while it is missing). Returns 0, or -1 with err (bad name). */
int memnet_reader_init(struct memnet_reader *r, const char *name, const char *path, char *err,
		       size_t errlen);
/* A reader over a buffer (the fuzz target, unit tests). */
int memnet_reader_init_mem(struct memnet_reader *r, const char *name, void *base, uint64_t bytes,
			   char *err, size_t errlen);
void memnet_reader_free(struct memnet_reader *r);

/* Bring the view up to date: (re)open, check the header, rescan the table
 * when the guest's table_seq moved, force is set, or a second has passed.
 * Logs each refusal and recovery once, and each corrupt slot once. Returns
 * true when r->ok changed. */
bool memnet_reader_scan(struct memnet_reader *r, uint64_t now_ms, bool force);
/* Release REMOVED objects and evict (see memnet_evict_opts) as the quota
 * and a waiting put require; only objects without pins. Returns how many
 * objects were let go. */
unsigned memnet_reader_enforce(struct memnet_reader *r, const struct memnet_evict_opts *ev);
/* Write the guest's quota (clamped to the data area) when it differs.
 * Returns 1 changed, 0 unchanged, -1 region not usable. */
int memnet_reader_set_quota(struct memnet_reader *r, uint64_t bytes);
/* The guest's job counters. Returns 0, or -1 when the region is refused. */
int memnet_reader_jobs(const struct memnet_reader *r, struct memnet_jobs *j);

/* The servable object called name (COMPLETE before WRITING, then the newest),
 * or -1. */
int memnet_reader_find(const struct memnet_reader *r, const char *name);
/* Its bytes in the mapping (valid while pinned and r->mapped). */
const char *memnet_reader_bytes(const struct memnet_reader *r, int slot);
void memnet_reader_pin(struct memnet_reader *r, int slot, uint64_t now_ms);
void memnet_reader_unpin(struct memnet_reader *r, int slot);

/* The name rules of regions. */
int memnet_region_name_check(const char *name, char *err, size_t errlen);

#endif
