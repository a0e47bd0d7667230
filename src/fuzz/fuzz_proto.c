/* fuzz_proto.c - libFuzzer target: the agent protocol's framing and message decoders (make fuzz). */
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	proto_fuzz_one(data, size);
	return 0;
}
