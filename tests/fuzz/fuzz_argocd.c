/* fuzz_argocd.c - libFuzzer target for argocd_normalize(): the input is the request body,
 * an Argo CD notifications body (client_payload, repository_dispatch or an Application). */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source_input in = { .received_at = 1770000000000 };
	struct ievent_vec out = { 0 };

	(void)fuzz_normalize(argocd_normalize, "argocd", &in, data, size, &out);
	ievent_vec_clear(&out);
	return 0;
}
