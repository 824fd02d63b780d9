/* fuzz_cloudevents.c - libFuzzer target for cloudevents_normalize() in its three modes.
 *
 * Input: one mode byte (value % 3: 0 structured, 1 binary, 2 batch), then an optional
 * header block ("Name: value" lines ending in an empty line; see fuzz_read_headers()),
 * then the body. Seeds use '0', '1' and '2' as the mode byte. */
#include <sys/queue.h>
#include <event2/http.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source_input in = { .received_at = 1770000000000 };
	struct ievent_vec out = { 0 };
	struct evkeyvalq headers;
	size_t off;

	if (size < 1)
		return 0;
	in.ce_binary = data[0] % 3 == 1;
	in.ce_batch = data[0] % 3 == 2;
	data++;
	size--;
	TAILQ_INIT(&headers);
	off = fuzz_read_headers(data, size, &headers);
	in.headers = &headers;
	(void)fuzz_normalize(cloudevents_normalize, "cloudevents", &in, data + off, size - off,
	    &out);
	ievent_vec_clear(&out);
	evhttp_clear_headers(&headers);
	return 0;
}
