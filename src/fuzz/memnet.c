/* memnet.c - fuzz target "memnet": a guest's region as the host reads it, HTTP requests to memnet serve, replay CSV; their invariants asserted. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "memnet/csv.h"
#include "memnet/http.h"
#include "memnet/reader.h"

/* The region the image is laid into. */
#define FUZZ_REGION_BYTES 65536u

static void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static void fuzz_region(const uint8_t *data, size_t len, struct fuzz_count *c)
{
	uint64_t *words = calloc(FUZZ_REGION_BYTES / 8, 8);
	char *base = (char *)words, err[320];
	size_t hdr = len < sizeof(struct memnet_header) ? len : sizeof(struct memnet_header);
	struct memnet_reader r;

	if (!base)
		return;
	memcpy(base, data, hdr);
	if (len > hdr) {
		size_t rest = len - hdr;
		if (rest > FUZZ_REGION_BYTES - MEMNET_HEADER_BYTES)
			rest = FUZZ_REGION_BYTES - MEMNET_HEADER_BYTES;
		memcpy(base + MEMNET_HEADER_BYTES, data + hdr, rest);
	}
	if (memnet_reader_init_mem(&r, "fuzz", base, FUZZ_REGION_BYTES, err, sizeof(err)) < 0)
		abort();
	c->kind = "region";
	for (int round = 0; round < 2; round++) {
		memnet_reader_scan(&r, 1 + (uint64_t)round * 2000, true);
		if (!r.ok) {
			c->refused += round == 0; /* the header refused */
			break;
		}
		if (round == 0) { /* objects that check, slots refused */
			c->parsed += r.n_live;
			c->refused += r.n_bad;
		}
		fuzz_check(r.geom.data_off + r.geom.data_bytes == FUZZ_REGION_BYTES);
		for (uint32_t i = 0; i < r.geom.slot_count; i++) {
			const struct memnet_hslot *h = &r.slots[i];
			if (!h->live)
				continue;
			fuzz_check(h->o.data_off + h->o.capacity <= r.geom.data_bytes);
			fuzz_check(h->o.length <= h->o.capacity);
			int k = memnet_reader_find(&r, h->o.name);
			if (k >= 0) {
				const char *p = memnet_reader_bytes(&r, k);
				fuzz_check(p >= base + r.geom.data_off);
				fuzz_check(p + r.slots[k].o.length <= base + FUZZ_REGION_BYTES);
				memnet_reader_pin(&r, k, 5);
				memnet_reader_unpin(&r, k);
			}
		}
		struct memnet_evict_opts ev = { .after_serves = 1, .unserved = round == 1 };
		memnet_reader_enforce(&r, &ev);
		memnet_reader_set_quota(&r, r.geom.data_bytes / 2);
		struct memnet_jobs j;
		memnet_reader_jobs(&r, &j);
	}
	memnet_reader_free(&r);
	free(words);
}

static void fuzz_http(const uint8_t *data, size_t len, struct fuzz_count *c)
{
	struct memnet_http_req rq;
	char why[160];
	size_t off = 0;

	c->kind = "http_request";
	while (off < len) {
		int n = memnet_http_parse((const char *)data + off, len - off, &rq, why,
					  sizeof(why));
		if (n < 0) {
			fuzz_check(why[0] != '\0');
			c->refused++;
		}
		if (n <= 0)
			break;
		c->parsed++;
		fuzz_check((size_t)n <= len - off && rq.target[0] == '/');
		if (rq.has_range) {
			static const uint64_t lengths[] = { 0, 1, 100, 4096, UINT64_MAX };
			for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
				uint64_t a = 0, b = 0;
				if (memnet_http_range(rq.range, lengths[i], &a, &b) ==
				    MEMNET_RANGE_OK)
					fuzz_check(a <= b && b < lengths[i]);
			}
		}
		off += (size_t)n;
	}
}

static void fuzz_csv(const uint8_t *data, size_t len, struct fuzz_count *c)
{
	char *text = malloc(len + 1), *save = NULL, err[300];
	struct memnet_csv csv;
	struct memnet_csv_row row;
	bool header = false;

	if (!text)
		return;
	c->kind = "replay_csv";
	memcpy(text, data, len);
	text[len] = '\0';
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!header) {
			if (memnet_csv_header(&csv, line, err, sizeof(err)) < 0) {
				fuzz_check(err[0] != '\0');
				c->refused++;
				break;
			}
			header = true;
		} else if (memnet_csv_row(&csv, line, &row, err, sizeof(err)) == 0) {
			fuzz_check(row.arrivals >= 0 && row.service_ms >= 0 &&
				   row.object_bytes >= 0);
			c->parsed++;
		} else {
			fuzz_check(err[0] != '\0');
			c->refused++;
		}
	}
	free(text);
}

void fuzz_memnet(const uint8_t *data, size_t size, struct fuzz_count *c)
{
	if (size == 0)
		return;
	switch (data[0] % 3) {
	case 0:
		fuzz_region(data + 1, size - 1, c);
		break;
	case 1:
		fuzz_http(data + 1, size - 1, c);
		break;
	default:
		fuzz_csv(data + 1, size - 1, c);
		break;
	}
}
