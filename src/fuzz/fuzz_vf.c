/* fuzz_vf.c - libFuzzer target over FlexVF's parsers of outside input (see src/cli/vffuzz.h).
 *
 *   make build/fuzz/fuzz_vf
 *   cp -r tests/fuzz/vf /tmp/vfcorpus && build/fuzz/fuzz_vf -max_total_time=60 /tmp/vfcorpus
 *
 * The saved corpus (tests/fuzz/vf/) also runs as a plain regression test:
 * tests/cli/test_vf_corpus.c. */
#include <stddef.h>
#include <stdint.h>

#include "cli/vffuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return vffuzz_one(data, size);
}
