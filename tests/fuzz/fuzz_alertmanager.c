/* fuzz_alertmanager.c - libFuzzer target for alertmanager_normalize(): the input is the request body,
 * an Alertmanager webhook body. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source_input in = { .received_at = 1770000000000 };
	struct ievent_vec out = { 0 };

	(void)fuzz_normalize(alertmanager_normalize, "alertmanager", &in, data, size, &out);
	ievent_vec_clear(&out);
	return 0;
}
