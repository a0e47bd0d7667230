/* fuzz_parsers.c - libFuzzer target over every parser of outside input (see src/daemon/fuzzentry.h).
 *
 *   make fuzz
 *   build/fuzz/fuzz_parsers -max_total_time=60 /tmp/corpus tests/fixtures/corpus
 *
 * The saved corpus (tests/fixtures/corpus/) also runs as a plain regression
 * test: tests/daemon/test_corpus.c. */
#include <stddef.h>
#include <stdint.h>

#include "daemon/fuzzentry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one(data, size);
}
