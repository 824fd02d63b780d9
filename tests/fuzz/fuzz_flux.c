/* fuzz_flux.c - libFuzzer target for flux_normalize(): the input is the request body,
 * a Flux notification-controller event. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source_input in = { .received_at = 1770000000000 };
	struct ievent_vec out = { 0 };

	(void)fuzz_normalize(flux_normalize, "flux", &in, data, size, &out);
	ievent_vec_clear(&out);
	return 0;
}
