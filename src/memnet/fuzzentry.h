/* fuzzentry.h - one entry point feeding untrusted bytes to MemNet's parsers: the region (as the host reads it), HTTP requests, replay CSV. */
#ifndef VS_MEMNET_FUZZENTRY_H
#define VS_MEMNET_FUZZENTRY_H

#include <stddef.h>
#include <stdint.h>

/* The first byte picks the parser (mod 3):
 *   0  a region image: the next 192 bytes become the header of a 64 KiB
 *      region, the rest its object table from offset 4096; the host's scan,
 *      lookups, eviction and quota run over it
 *   1  HTTP request heads (pipelined) and the Range values in them
 *   2  replay CSV: a header line, then rows
 * Aborts when an invariant breaks (an object outside the data area, a range
 * outside the object). Returns 0. */
int memnet_fuzz_one(const uint8_t *data, size_t len);

#endif
