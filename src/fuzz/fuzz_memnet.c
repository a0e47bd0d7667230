/* fuzz_memnet.c - libFuzzer target: a guest's region as the host reads it, HTTP requests to memnet serve, replay CSV (src/memnet/fuzzentry.h).
 *
 *   make fuzz
 *   cp -r tests/fuzz/memnet /tmp/mn-corpus
 *   build/fuzz/fuzz_memnet -max_total_time=60 /tmp/mn-corpus
 *
 * The saved corpus (tests/fuzz/memnet/) also runs as a plain regression
 * test: tests/memnet/test_corpus.c. */
#include <stddef.h>
#include <stdint.h>

#include "memnet/fuzzentry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return memnet_fuzz_one(data, size);
}
