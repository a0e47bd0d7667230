/* main.c - libFuzzer's entry into one fuzz target (make fuzz builds build/fuzz/fuzz_<target> with FUZZ_TARGET="<target>").
 *
 *   make fuzz
 *   cp -r tests/fuzz/proto /tmp/corpus     # libFuzzer adds to the first directory
 *   build/fuzz/fuzz_proto -max_total_time=600 -dict=tests/fuzz/proto.dict /tmp/corpus
 *
 * New inputs worth keeping go into tests/fuzz/<target>/ (libFuzzer's -merge=1),
 * then VS_UPDATE_GOLDEN=1 build/tests/fuzz/test_corpus records their counts. */
#include <stdlib.h>

#include "fuzz/fuzz.h"

#ifndef FUZZ_TARGET
#define FUZZ_TARGET "parsers"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fuzz_target *t;
	struct fuzz_count c = { 0 };

	if (!t && !(t = fuzz_target_find(FUZZ_TARGET)))
		abort(); /* built for a target that does not exist */
	t->one(data, size, &c);
	return 0;
}
