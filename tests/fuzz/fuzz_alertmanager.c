/* fuzz_alertmanager.c - libFuzzer target for alertmanager_normalize(): the input is the
 * request body, an Alertmanager webhook body. Every event's payload must also survive the
 * ledger's request-context storage: its own part (payload_own_text) joined again with the
 * shared members (payload_join_text) is the payload, and the shared members are one object
 * for the whole body. */
#include <stdlib.h>

#include "fuzz.h"
#include "payload.h"

static void
check_storage(const struct ievent_vec *out)
{
	const json_t *shared = out->n ? out->v[0]->payload_shared : NULL;
	char *shared_text = NULL;

	if (shared != NULL && (shared_text = json_dumps(shared, JSON_COMPACT)) == NULL)
		fuzz_fail("out of memory");
	for (size_t i = 0; i < out->n; i++) {
		const struct ievent *ev = out->v[i];
		char *own = NULL, *joined = NULL;
		json_t *back;
		int rc;

		if (ev->payload_shared != shared)
			fuzz_fail("event %zu: payload_shared is not the body's one object", i);
		if (payload_own_text(ev, &own) != 0)
			fuzz_fail("event %zu: payload_own_text failed", i);
		rc = payload_join_text(shared_text, own, &joined);
		if (rc != 0)
			fuzz_fail("event %zu: payload_join_text: %d", i, rc);
		back = joined ? json_loads(joined, 0, NULL) : NULL;
		if (back == NULL || !json_equal(back, ev->payload))
			fuzz_fail("event %zu: the stored payload does not read back whole", i);
		if (json_object_size(back) != json_object_size(ev->payload))
			fuzz_fail("event %zu: members repeated or lost", i);
		json_decref(back);
		free(own);
		free(joined);
	}
	free(shared_text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source_input in = { .received_at = 1770000000000 };
	struct ievent_vec out = { 0 };

	if (fuzz_normalize(alertmanager_normalize, "alertmanager", &in, data, size, &out) == 0)
		check_storage(&out);
	ievent_vec_clear(&out);
	return 0;
}
