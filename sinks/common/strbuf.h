/* strbuf.h - a growable string for the sinks' renderers (compiled into each plugin that
 * uses it). On allocation failure the buffer is marked and later appends are no-ops, so a
 * renderer appends freely and checks once, in strbuf_finish(). */
#ifndef INCIDENTD_STRBUF_H
#define INCIDENTD_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

/* Append n bytes of s (NUL-terminated after). */
void strbuf_add(struct strbuf *b, const char *s, size_t n);

/* Room for n more bytes: where they go (the caller writes at most n there and then calls
 * strbuf_grew with how many it wrote), or NULL after a failed allocation (b->oom; nothing
 * to write). Lets a writer that knows an upper bound append without a call per piece. */
char *strbuf_room(struct strbuf *b, size_t n);

/* Count n bytes written at strbuf_room()'s pointer as appended (NUL-terminated after). */
void strbuf_grew(struct strbuf *b, size_t n);

/* Append the string s. */
void strbuf_str(struct strbuf *b, const char *s);

/* Append printf-style text (up to 1 KiB per call). */
void strbuf_fmt(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct json_t;

/* Replace every bidirectional-control character (U+202A..U+202E embeddings and overrides,
 * U+2066..U+2069 isolates: they make text display in another order than it reads, e.g. to
 * hide part of a command) in every string of v (modified in place; objects and arrays
 * walked) with U+FFFD. Renderers run it once over the event and incident they are given.
 * Returns 0 or -ENOMEM. */
int text_json_strip_bidi(struct json_t *v);

/* Hand the string over in *out ("" when nothing was appended; the caller frees) and return
 * 0, or free it and return -ENOMEM when an append failed. */
int strbuf_finish(struct strbuf *b, char **out);

#endif
