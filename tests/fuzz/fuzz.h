/* fuzz.h - helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * A target turns one input into calls of the code under test and checks the contracts
 * that code states in its header; a broken contract calls fuzz_fail(), which aborts so
 * libFuzzer keeps the input. Nothing here keeps state between inputs. */
#ifndef INCIDENTD_FUZZ_H
#define INCIDENTD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <event2/keyvalq_struct.h>

#include "source.h"

/* Every target's entry point (declared for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a broken contract on stderr and abort(). Never returns. */
void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* A NUL-terminated copy of data[0..size) (an embedded NUL ends the string early).
 * Returns a new string (caller frees); aborts when out of memory. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Read request headers from the front of data: "Name: value" lines ending in "\n" (a
 * trailing "\r" is dropped), up to and including the first empty line. Headers are added to
 * h, which the caller has TAILQ_INIT'ed and clears with evhttp_clear_headers(); lines
 * without ':' and headers libevent refuses are skipped. When data holds no empty line it
 * has no header block: nothing is added and 0 is returned. Returns the offset of the body. */
size_t fuzz_read_headers(const uint8_t *data, size_t size, struct evkeyvalq *h);

/* Parse body[0..size) as the HTTP server does (jsonread_loadb) and run normalize on
 * it with the rest of *in (in->body is replaced). Checks the source_normalize_fn contract
 * (source as for fuzz_check_event())
 * (rc 0 appends >= 1 events, each passing fuzz_check_event() for source; an error appends
 * nothing and, but for -ENOMEM, says why in err) and aborts when it is broken. Returns
 * the normalizer's rc, or 1 when the body is not JSON (normalize is not called). The new
 * events stay in out (owned by it); the body is freed. */
int fuzz_normalize(source_normalize_fn normalize, const char *source,
    const struct source_input *in, const uint8_t *body, size_t size, struct ievent_vec *out);

/* Check one normalized event: id, source (== source unless source is NULL: the native
 * format names its own), type and status set, labels and
 * annotations objects of strings, resources with kind and name, a payload, and
 * ievent_to_json() succeeds (every string is valid UTF-8 and every time formats). */
void fuzz_check_event(const struct ievent *ev, const char *source);

#endif
