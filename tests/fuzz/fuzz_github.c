/* fuzz_github.c - libFuzzer target for github_normalize(): an optional header block
 * ("Name: value" lines ending in an empty line; see fuzz_read_headers()) with
 * X-GitHub-Event and X-GitHub-Delivery, then the webhook body. Inputs without those
 * headers get "issues" and a fixed delivery id, so every body reaches the parser of issue
 * markers and pull request references. */
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

	TAILQ_INIT(&headers);
	off = fuzz_read_headers(data, size, &headers);
	if (evhttp_find_header(&headers, "X-GitHub-Event") == NULL)
		evhttp_add_header(&headers, "X-GitHub-Event", "issues");
	if (evhttp_find_header(&headers, "X-GitHub-Delivery") == NULL)
		evhttp_add_header(&headers, "X-GitHub-Delivery",
		    "72d3162e-cc78-11e3-81ab-4c9367dc0958");
	in.headers = &headers;
	(void)fuzz_normalize(github_normalize, "github", &in, data + off, size - off, &out);
	ievent_vec_clear(&out);
	evhttp_clear_headers(&headers);
	return 0;
}
