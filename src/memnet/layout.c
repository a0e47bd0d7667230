/* layout.c - the region's geometry and slot checks: every field the guest controls is copied once and checked before use. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "memnet/layout.h"

/* How often memnet_slot_read retries a slot whose seq moved under it. */
#define MEMNET_SEQ_RETRIES 4

uint32_t memnet_default_slots(uint64_t region_bytes)
{
	uint64_t n = region_bytes / (64 * 1024);

	if (n < MEMNET_SLOTS_MIN_DEFAULT)
		n = MEMNET_SLOTS_MIN_DEFAULT;
	if (n > MEMNET_SLOTS_MAX_DEFAULT)
		n = MEMNET_SLOTS_MAX_DEFAULT;
	return (uint32_t)n;
}

/* Where the data area starts for slot_count slots. */
static uint64_t memnet_data_off(uint32_t slot_count)
{
	uint64_t end = MEMNET_HEADER_BYTES + (uint64_t)slot_count * MEMNET_SLOT_BYTES;
	return (end + MEMNET_PAGE_BYTES - 1) / MEMNET_PAGE_BYTES * MEMNET_PAGE_BYTES;
}

int memnet_geom_init(struct memnet_header *h, uint64_t region_bytes, uint32_t slot_count, char *err,
		     size_t errlen)
{
	if (region_bytes < MEMNET_REGION_MIN_BYTES || region_bytes > MEMNET_REGION_MAX_BYTES ||
	    region_bytes % MEMNET_PAGE_BYTES) {
		snprintf(err, errlen,
			 "region size %" PRIu64 " bytes: must be a multiple of %u in [%u, %" PRIu64
			 "]",
			 region_bytes, MEMNET_PAGE_BYTES, MEMNET_REGION_MIN_BYTES,
			 MEMNET_REGION_MAX_BYTES);
		return -1;
	}
	if (slot_count < 1 || slot_count > MEMNET_SLOTS_MAX) {
		snprintf(err, errlen, "slot count %u: must be in [1, %u]", slot_count,
			 MEMNET_SLOTS_MAX);
		return -1;
	}
	uint64_t data_off = memnet_data_off(slot_count);
	if (data_off + MEMNET_PAGE_BYTES > region_bytes) {
		snprintf(err, errlen,
			 "%u slots need a %" PRIu64 "-byte table: no room for data in %" PRIu64
			 " bytes",
			 slot_count, data_off - MEMNET_HEADER_BYTES, region_bytes);
		return -1;
	}
	memset(h, 0, sizeof(*h));
	h->magic = MEMNET_MAGIC;
	h->version = MEMNET_VERSION;
	h->header_bytes = MEMNET_HEADER_BYTES;
	h->region_bytes = region_bytes;
	h->table_off = MEMNET_HEADER_BYTES;
	h->slot_count = slot_count;
	h->slot_bytes = MEMNET_SLOT_BYTES;
	h->data_off = data_off;
	h->data_bytes = region_bytes - data_off;
	h->quota_bytes = h->data_bytes;
	return 0;
}

static uint32_t memnet_load32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int memnet_geom_read(const struct memnet_header *h, uint64_t region_bytes, struct memnet_geom *g,
		     char *err, size_t errlen)
{
	uint64_t magic = memnet_load_rlx(&h->magic);
	uint32_t version = memnet_load32(&h->version);
	uint32_t header_bytes = memnet_load32(&h->header_bytes);
	uint64_t rbytes = memnet_load_rlx(&h->region_bytes);
	uint64_t table_off = memnet_load_rlx(&h->table_off);
	uint32_t slot_count = memnet_load32(&h->slot_count);
	uint32_t slot_bytes = memnet_load32(&h->slot_bytes);
	uint64_t data_off = memnet_load_rlx(&h->data_off);
	uint64_t data_bytes = memnet_load_rlx(&h->data_bytes);
	uint64_t quota = memnet_load_acq(&h->quota_bytes);

	if (magic != MEMNET_MAGIC) {
		if (magic == __builtin_bswap64(MEMNET_MAGIC))
			snprintf(err, errlen, "header: written with the other byte order");
		else
			snprintf(err, errlen,
				 "header: bad magic 0x%016" PRIx64 " (not a vspace memnet region)",
				 magic);
		return -1;
	}
	if (version != MEMNET_VERSION) {
		snprintf(err, errlen, "header: layout version %u, this program reads version %d",
			 version, MEMNET_VERSION);
		return -1;
	}
	if (header_bytes != MEMNET_HEADER_BYTES || slot_bytes != MEMNET_SLOT_BYTES) {
		snprintf(err, errlen, "header: header_bytes %u / slot_bytes %u, expected %u / %u",
			 header_bytes, slot_bytes, MEMNET_HEADER_BYTES, MEMNET_SLOT_BYTES);
		return -1;
	}
	if (rbytes != region_bytes) {
		snprintf(err, errlen,
			 "header: region_bytes %" PRIu64 " but the region is %" PRIu64 " bytes",
			 rbytes, region_bytes);
		return -1;
	}
	if (slot_count < 1 || slot_count > MEMNET_SLOTS_MAX) {
		snprintf(err, errlen, "header: slot_count %u out of range [1, %u]", slot_count,
			 MEMNET_SLOTS_MAX);
		return -1;
	}
	if (table_off != MEMNET_HEADER_BYTES) {
		snprintf(err, errlen, "header: table_off %" PRIu64 ", expected %u", table_off,
			 MEMNET_HEADER_BYTES);
		return -1;
	}
	/* data_off follows from slot_count; the two must agree, and both fit */
	uint64_t want_data_off = memnet_data_off(slot_count);
	if (data_off != want_data_off || data_off >= region_bytes) {
		snprintf(err, errlen,
			 "header: data_off %" PRIu64
			 " does not follow a %u-slot table (expected %" PRIu64 " < %" PRIu64 ")",
			 data_off, slot_count, want_data_off, region_bytes);
		return -1;
	}
	if (data_bytes != region_bytes - data_off) {
		snprintf(err, errlen,
			 "header: data_bytes %" PRIu64 ", expected %" PRIu64 " (region - data_off)",
			 data_bytes, region_bytes - data_off);
		return -1;
	}
	g->region_bytes = region_bytes;
	g->slot_count = slot_count;
	g->table_off = table_off;
	g->data_off = data_off;
	g->data_bytes = data_bytes;
	g->quota_bytes = quota < data_bytes ? quota : data_bytes;
	return 0;
}

int memnet_name_check(const char *name, size_t len, char *err, size_t errlen)
{
	if (len == 0 || len > MEMNET_NAME_MAX) {
		snprintf(err, errlen, "name of %zu bytes (1 to %d allowed)", len, MEMNET_NAME_MAX);
		return -1;
	}
	if (name[0] == '.') {
		snprintf(err, errlen, "name starts with '.'");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-')
			continue;
		snprintf(err, errlen, "name has byte 0x%02x at %zu (allowed: A-Z a-z 0-9 . _ -)", c,
			 i);
		return -1;
	}
	return 0;
}

/* Copy the slot's fields (relaxed loads; the caller brackets with seq). */
static void memnet_slot_copy(const struct memnet_slot *s, struct memnet_obj *o, uint32_t *name_len)
{
	uint64_t words[MEMNET_NAME_MAX / 8];

	o->gen = memnet_load_rlx(&s->gen);
	o->state = (enum memnet_state)memnet_load32(&s->state);
	*name_len = memnet_load32(&s->name_len);
	o->data_off = memnet_load_rlx(&s->data_off);
	o->capacity = memnet_load_rlx(&s->capacity);
	o->length = memnet_load_rlx(&s->length);
	o->mtime_ns = memnet_load_rlx(&s->mtime_ns);
	o->writer_pid = memnet_load32(&s->writer_pid);
	o->released_gen = memnet_load_acq(&s->released_gen);
	for (size_t i = 0; i < MEMNET_NAME_MAX / 8; i++)
		words[i] = memnet_load_rlx((const uint64_t *)(const void *)(s->name + 8 * i));
	memcpy(o->name, words, MEMNET_NAME_MAX);
	o->name[MEMNET_NAME_MAX] = '\0';
}

_Static_assert(MEMNET_NAME_MAX % 8 == 0, "name copied in 8-byte words");
_Static_assert(offsetof(struct memnet_slot, name) % 8 == 0, "name is 8-byte aligned");

enum memnet_read memnet_slot_read(const struct memnet_slot *s, const struct memnet_geom *g,
				  struct memnet_obj *o, char *err, size_t errlen)
{
	uint32_t name_len = 0;
	int tries;

	for (tries = 0; tries < MEMNET_SEQ_RETRIES; tries++) {
		uint64_t s1 = memnet_load_acq(&s->seq);
		if (s1 & 1)
			continue;
		memnet_slot_copy(s, o, &name_len);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (memnet_load_rlx(&s->seq) == s1)
			break;
	}
	if (tries == MEMNET_SEQ_RETRIES)
		return MEMNET_READ_BUSY;
	if (o->state == MEMNET_FREE)
		return MEMNET_READ_OK;
	if (o->state > MEMNET_REMOVED) {
		snprintf(err, errlen, "state %u unknown", (unsigned)o->state);
		return MEMNET_READ_CORRUPT;
	}
	if (o->gen == 0) {
		snprintf(err, errlen, "object in use with generation 0");
		return MEMNET_READ_CORRUPT;
	}
	if (name_len > MEMNET_NAME_MAX) {
		snprintf(err, errlen, "name_len %u > %d", name_len, MEMNET_NAME_MAX);
		return MEMNET_READ_CORRUPT;
	}
	o->name[name_len] = '\0';
	if (memnet_name_check(o->name, name_len, err, errlen) < 0)
		return MEMNET_READ_CORRUPT;
	/* the extent: data_off + capacity <= data_bytes, written to not overflow */
	if (o->data_off > g->data_bytes || o->capacity > g->data_bytes - o->data_off) {
		snprintf(err, errlen,
			 "object \"%s\": extent [%" PRIu64 ", +%" PRIu64 ") outside the %" PRIu64
			 "-byte data area",
			 o->name, o->data_off, o->capacity, g->data_bytes);
		return MEMNET_READ_CORRUPT;
	}
	if (o->length > o->capacity) {
		snprintf(err, errlen,
			 "object \"%s\": length %" PRIu64 " beyond its capacity %" PRIu64, o->name,
			 o->length, o->capacity);
		return MEMNET_READ_CORRUPT;
	}
	return MEMNET_READ_OK;
}

void memnet_jobs_read(const struct memnet_header *h, struct memnet_jobs *j)
{
	j->jobs_done = memnet_load_acq(&h->jobs_done);
	j->service_us_sum = memnet_load_rlx(&h->job_service_us_sum);
	j->response_us_sum = memnet_load_rlx(&h->job_response_us_sum);
	j->bytes_sum = memnet_load_rlx(&h->job_bytes_sum);
}

void memnet_slot_begin(struct memnet_slot *s)
{
	uint64_t seq = memnet_load_rlx(&s->seq);
	/* a slot left odd by a crashed writer: start from the next even value */
	memnet_store_rlx(&s->seq, (seq | 1) + ((seq & 1) ? 2 : 0));
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

void memnet_slot_end(struct memnet_slot *s)
{
	uint64_t seq = memnet_load_rlx(&s->seq);
	memnet_store_rel(&s->seq, (seq | 1) + 1);
}
