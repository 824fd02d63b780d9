/* fuzz_native.c - libFuzzer target for native_normalize(): the input is one message in
 * incidentd's own event JSON (what `incidentctl tail --json` prints). */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source_input in = { .received_at = 1770000000000 };
	struct ievent_vec out = { 0 };

	(void)fuzz_normalize(native_normalize, NULL, &in, data, size, &out);
	ievent_vec_clear(&out);
	return 0;
}
