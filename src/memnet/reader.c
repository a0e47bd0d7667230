/* reader.c - the host side of a MemNet region: checked table scans, lookup, pins, release and eviction (punching pages out), the quota. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "memnet/reader.h"

/* A table rescan at least this often even when table_seq did not move (a
 * guest that forgets to bump it still gets its objects seen). */
#define MEMNET_RESCAN_MS 1000
/* A missing or unusable region file is tried again this often. */
#define MEMNET_REOPEN_MS 1000

int memnet_region_name_check(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n == 0 || n > MEMNET_REGION_NAME_MAX) {
		snprintf(err, errlen, "region name \"%s\": 1 to %d bytes", name,
			 MEMNET_REGION_NAME_MAX);
		return -1;
	}
	if (memnet_name_check(name, n, err, errlen) < 0) {
		char why[160];
		str_copy(why, err, sizeof(why));
		snprintf(err, errlen, "region name \"%s\": %s", name, why);
		return -1;
	}
	return 0;
}

static void memnet_reader_reset(struct memnet_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->reg.fd = -1;
}

int memnet_reader_init(struct memnet_reader *r, const char *name, const char *path, char *err,
		       size_t errlen)
{
	memnet_reader_reset(r);
	if (memnet_region_name_check(name, err, errlen) < 0)
		return -1;
	str_copy(r->name, name, sizeof(r->name));
	str_copy(r->path, path, sizeof(r->path));
	snprintf(r->error, sizeof(r->error), "not opened yet");
	return 0;
}

int memnet_reader_init_mem(struct memnet_reader *r, const char *name, void *base, uint64_t bytes,
			   char *err, size_t errlen)
{
	if (memnet_reader_init(r, name, "(memory)", err, errlen) < 0)
		return -1;
	r->in_memory = true;
	r->mapped = true;
	r->reg.base = base;
	r->reg.bytes = bytes;
	return 0;
}

static void memnet_reader_drop_table(struct memnet_reader *r)
{
	free(r->slots);
	free(r->hash);
	r->slots = NULL;
	r->hash = NULL;
	r->hash_size = 0;
	r->have_geom = false;
	r->n_live = r->n_bad = 0;
	r->used_bytes = r->need_bytes = 0;
}

void memnet_reader_free(struct memnet_reader *r)
{
	if (r->mapped && !r->in_memory)
		memnet_region_unmap(&r->reg);
	r->mapped = false;
	memnet_reader_drop_table(r);
}

/* Mark the region refused (log on the transition). */
static void memnet_reader_refuse(struct memnet_reader *r, const char *why)
{
	if (r->ok || strcmp(r->error, why) != 0) {
		log_warnx("memnet region %s (%s): refused: %s", r->name, r->path, why);
		r->refusals++;
	}
	str_copy(r->error, why, sizeof(r->error));
	r->ok = false;
}

static uint32_t memnet_hash_name(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static bool memnet_servable(const struct memnet_hslot *h)
{
	return h->live && (h->o.state == MEMNET_WRITING || h->o.state == MEMNET_COMPLETE);
}

/* Does a beat b for the same name? COMPLETE first, then the newer. */
static bool memnet_better(const struct memnet_hslot *a, const struct memnet_hslot *b)
{
	if ((a->o.state == MEMNET_COMPLETE) != (b->o.state == MEMNET_COMPLETE))
		return a->o.state == MEMNET_COMPLETE;
	return a->o.gen > b->o.gen;
}

static void memnet_rehash(struct memnet_reader *r)
{
	uint32_t mask = r->hash_size - 1;

	memset(r->hash, 0, sizeof(*r->hash) * r->hash_size);
	r->used_bytes = 0;
	r->n_live = 0;
	for (uint32_t i = 0; i < r->geom.slot_count; i++) {
		struct memnet_hslot *h = &r->slots[i];
		if (!h->live)
			continue;
		r->used_bytes += h->o.capacity;
		r->n_live++;
		if (!memnet_servable(h))
			continue;
		for (uint32_t k = memnet_hash_name(h->o.name) & mask;; k = (k + 1) & mask) {
			uint32_t e = r->hash[k];
			if (e == 0) {
				r->hash[k] = i + 1;
				break;
			}
			if (strcmp(r->slots[e - 1].o.name, h->o.name) == 0) {
				if (memnet_better(h, &r->slots[e - 1]))
					r->hash[k] = i + 1;
				break;
			}
		}
	}
}

/* The geometry is locked for a mapping: the first one that checks. */
static bool memnet_reader_header(struct memnet_reader *r)
{
	struct memnet_geom g;
	char why[256];

	if (memnet_geom_read(memnet_region_header(&r->reg), r->reg.bytes, &g, why, sizeof(why)) <
	    0) {
		memnet_reader_refuse(r, why);
		return false;
	}
	if (r->have_geom && g.slot_count != r->geom.slot_count) {
		snprintf(why, sizeof(why), "header: slot_count changed from %u to %u",
			 r->geom.slot_count, g.slot_count);
		memnet_reader_refuse(r, why);
		return false;
	}
	if (!r->have_geom) {
		uint32_t hs = 16;
		while (hs < 2 * g.slot_count)
			hs <<= 1;
		r->slots = calloc(g.slot_count, sizeof(*r->slots));
		r->hash = calloc(hs, sizeof(*r->hash));
		if (!r->slots || !r->hash) {
			memnet_reader_drop_table(r);
			memnet_reader_refuse(r, "out of memory for its table");
			return false;
		}
		r->hash_size = hs;
		r->have_geom = true;
		r->table_seq = 0;
		r->last_table_ms = 0;
	}
	r->geom = g;
	return true;
}

static void memnet_reader_table(struct memnet_reader *r, uint64_t now_ms)
{
	struct memnet_slot *slots = memnet_slots(r->reg.base, &r->geom);
	char why[256];

	r->n_bad = 0;
	for (uint32_t i = 0; i < r->geom.slot_count; i++) {
		struct memnet_hslot *h = &r->slots[i];
		struct memnet_obj o;
		enum memnet_read rd = memnet_slot_read(&slots[i], &r->geom, &o, why, sizeof(why));

		if (rd == MEMNET_READ_BUSY) { /* changing now: keep the last copy */
			r->n_bad += h->bad;
			continue;
		}
		if (rd == MEMNET_READ_CORRUPT) {
			if (!h->bad)
				log_warnx("memnet region %s: slot %u refused: %s", r->name, i, why);
			h->bad = true;
			h->live = false;
			r->n_bad++;
			continue;
		}
		h->bad = false;
		if (o.state == MEMNET_FREE || (h->released && o.gen == h->released)) {
			h->live = false;
			h->o.gen = o.gen;
			continue;
		}
		if (!h->live || o.gen != h->o.gen) {
			h->full_serves = 0;
			h->last_use_ms = now_ms;
		}
		h->o = o;
		h->live = true;
	}
	memnet_rehash(r);
	r->need_bytes = memnet_load_acq(&memnet_region_header(&r->reg)->need_bytes);
	if (r->need_bytes > r->geom.data_bytes)
		r->need_bytes = r->geom.data_bytes;
}

/* Map (or re-map) the file; false when it cannot be used now. */
static bool memnet_reader_mapping(struct memnet_reader *r, uint64_t now_ms)
{
	char why[300];

	if (r->in_memory)
		return true;
	if (r->mapped && !memnet_region_same(&r->reg, why, sizeof(why))) {
		memnet_reader_refuse(r, why);
		if (r->refs_total > 0)
			return false; /* the server drops its responses first */
		memnet_region_unmap(&r->reg);
		memnet_reader_drop_table(r);
		r->mapped = false;
		r->last_open_ms = 0;
	}
	if (r->mapped)
		return true;
	if (r->last_open_ms && now_ms - r->last_open_ms < MEMNET_REOPEN_MS)
		return false;
	r->last_open_ms = now_ms ? now_ms : 1;
	if (memnet_region_map(&r->reg, r->path, why, sizeof(why)) < 0) {
		memnet_reader_refuse(r, why);
		return false;
	}
	r->mapped = true;
	return true;
}

bool memnet_reader_scan(struct memnet_reader *r, uint64_t now_ms, bool force)
{
	bool was_ok = r->ok;

	if (!memnet_reader_mapping(r, now_ms) || !memnet_reader_header(r))
		return was_ok != r->ok;
	uint64_t seq = memnet_load_acq(&memnet_region_header(&r->reg)->table_seq);
	if (!r->ok || force || seq != r->table_seq || r->last_table_ms == 0 ||
	    now_ms - r->last_table_ms >= MEMNET_RESCAN_MS) {
		r->table_seq = seq;
		r->last_table_ms = now_ms ? now_ms : 1;
		memnet_reader_table(r, now_ms);
	}
	if (!r->ok) {
		log_info("memnet region %s (%s): serving: %u slots, %" PRIu64
			 " data bytes, quota %" PRIu64 ", %u objects",
			 r->name, r->path, r->geom.slot_count, r->geom.data_bytes,
			 r->geom.quota_bytes, r->n_live);
		r->error[0] = '\0';
		r->ok = true;
	}
	return was_ok != r->ok;
}

/* Let go of slot i: punch its pages out of the file, then tell the guest. */
static void memnet_release(struct memnet_reader *r, uint32_t i, const struct memnet_evict_opts *ev)
{
	struct memnet_hslot *h = &r->slots[i];
	struct memnet_slot *s = &memnet_slots(r->reg.base, &r->geom)[i];

	if (ev->punch && !r->in_memory) {
		/* whole pages inside the extent only (the extent was checked to lie
		 * inside the data area; the data area starts on a page) */
		uint64_t a = (h->o.data_off + MEMNET_PAGE_BYTES - 1) / MEMNET_PAGE_BYTES *
			     MEMNET_PAGE_BYTES;
		uint64_t b =
			(h->o.data_off + h->o.capacity) / MEMNET_PAGE_BYTES * MEMNET_PAGE_BYTES;
		if (b > a && fallocate(r->reg.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				       (off_t)(r->geom.data_off + a), (off_t)(b - a)) == 0)
			r->punched_bytes += b - a;
	}
	memnet_store_rel(&s->released_gen, h->o.gen);
	h->released = h->o.gen;
	h->live = false;
	r->releases++;
}

/* The largest free extent of the data area, from the live objects. */
static uint64_t memnet_largest_gap(const struct memnet_reader *r)
{
	uint64_t *ends = malloc(sizeof(*ends) * 2 * (r->n_live + 1));
	uint64_t best = 0, at = 0;
	size_t n = 0;

	if (!ends)
		return 0;
	for (uint32_t i = 0; i < r->geom.slot_count; i++) {
		const struct memnet_hslot *h = &r->slots[i];
		if (!h->live)
			continue;
		ends[2 * n] = h->o.data_off;
		ends[2 * n + 1] = h->o.data_off + h->o.capacity;
		n++;
	}
	/* sort the extents by start (insertion sort on pairs; n is small when
	 * this runs: only while a put waits) */
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && ends[2 * (b - 1)] > ends[2 * b]; b--) {
			uint64_t t0 = ends[2 * b], t1 = ends[2 * b + 1];
			ends[2 * b] = ends[2 * (b - 1)];
			ends[2 * b + 1] = ends[2 * (b - 1) + 1];
			ends[2 * (b - 1)] = t0;
			ends[2 * (b - 1) + 1] = t1;
		}
	for (size_t k = 0; k <= n; k++) {
		uint64_t start = k < n ? ends[2 * k] : r->geom.data_bytes;
		if (start > at && start - at > best)
			best = start - at;
		if (k < n) {
			uint64_t e = (ends[2 * k + 1] + MEMNET_PAGE_BYTES - 1) / MEMNET_PAGE_BYTES *
				     MEMNET_PAGE_BYTES;
			if (e > at)
				at = e;
		}
	}
	free(ends);
	return best;
}

/* Does the quota or a waiting put want room? */
static bool memnet_short(struct memnet_reader *r)
{
	uint64_t quota = r->geom.quota_bytes;

	if (r->used_bytes > quota)
		return true;
	if (r->need_bytes == 0)
		return false;
	return quota - r->used_bytes < r->need_bytes || memnet_largest_gap(r) < r->need_bytes;
}

unsigned memnet_reader_enforce(struct memnet_reader *r, const struct memnet_evict_opts *ev)
{
	unsigned n = 0;

	if (!r->ok)
		return 0;
	r->geom.quota_bytes = memnet_load_acq(&memnet_region_header(&r->reg)->quota_bytes);
	if (r->geom.quota_bytes > r->geom.data_bytes)
		r->geom.quota_bytes = r->geom.data_bytes;
	for (uint32_t i = 0; i < r->geom.slot_count; i++) {
		struct memnet_hslot *h = &r->slots[i];
		if (!h->live || h->refs)
			continue;
		if (h->o.state == MEMNET_REMOVED ||
		    (ev->after_serves && h->o.state == MEMNET_COMPLETE &&
		     h->full_serves >= ev->after_serves)) {
			if (h->o.state != MEMNET_REMOVED)
				r->evictions++;
			memnet_release(r, i, ev);
			n++;
		}
	}
	if (n)
		memnet_rehash(r);
	while (memnet_short(r)) {
		int64_t victim = -1;
		for (uint32_t i = 0; i < r->geom.slot_count; i++) {
			const struct memnet_hslot *h = &r->slots[i];
			if (!h->live || h->refs || h->o.state != MEMNET_COMPLETE ||
			    (!ev->unserved && h->full_serves == 0))
				continue;
			if (victim < 0 || h->last_use_ms < r->slots[victim].last_use_ms)
				victim = i;
		}
		if (victim < 0)
			break;
		r->evictions++;
		memnet_release(r, (uint32_t)victim, ev);
		memnet_rehash(r);
		n++;
	}
	return n;
}

int memnet_reader_set_quota(struct memnet_reader *r, uint64_t bytes)
{
	struct memnet_header *h;

	if (!r->ok)
		return -1;
	h = memnet_region_header(&r->reg);
	if (bytes > r->geom.data_bytes)
		bytes = r->geom.data_bytes;
	if (memnet_load_acq(&h->quota_bytes) == bytes)
		return 0;
	memnet_store_rel(&h->quota_bytes, bytes);
	memnet_store_rel(&h->quota_seq, memnet_load_rlx(&h->quota_seq) + 1);
	r->geom.quota_bytes = bytes;
	r->quota_changes++;
	return 1;
}

int memnet_reader_jobs(const struct memnet_reader *r, struct memnet_jobs *j)
{
	if (!r->ok)
		return -1;
	memnet_jobs_read(memnet_region_header(&r->reg), j);
	return 0;
}

int memnet_reader_find(const struct memnet_reader *r, const char *name)
{
	if (!r->ok || r->hash_size == 0)
		return -1;
	uint32_t mask = r->hash_size - 1;
	for (uint32_t k = memnet_hash_name(name) & mask;; k = (k + 1) & mask) {
		uint32_t e = r->hash[k];
		if (e == 0)
			return -1;
		if (strcmp(r->slots[e - 1].o.name, name) == 0)
			return (int)(e - 1);
	}
}

const char *memnet_reader_bytes(const struct memnet_reader *r, int slot)
{
	return (const char *)r->reg.base + r->geom.data_off + r->slots[slot].o.data_off;
}

void memnet_reader_pin(struct memnet_reader *r, int slot, uint64_t now_ms)
{
	r->slots[slot].refs++;
	r->slots[slot].last_use_ms = now_ms;
	r->refs_total++;
}

void memnet_reader_unpin(struct memnet_reader *r, int slot)
{
	if (r->slots && r->slots[slot].refs) {
		r->slots[slot].refs--;
		r->refs_total--;
	}
}
