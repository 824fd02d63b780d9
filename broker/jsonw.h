/* jsonw.h - a small JSON text writer for the hot path: what json_dumps(obj, JSON_COMPACT)
 * would print for the same members in the same order, without building a json_t tree.
 * Strings are written as jansson writes them (", \ and control characters escaped, other
 * UTF-8 as is, "/" unescaped). Not thread-safe per writer; no callbacks. */
#ifndef INCIDENTD_JSONW_H
#define INCIDENTD_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "common/strbuf.h"

struct jsonw {
	struct strbuf b;   /* the text so far (owned until jsonw_take; b.oom after a failed
	                    * allocation: jsonw_take returns NULL) */
	bool first;        /* no member written yet in the current object or array */
};

/* Start an empty writer (no allocation yet). */
void jsonw_init(struct jsonw *w);

/* Raw text, as is (punctuation). */
void jsonw_raw(struct jsonw *w, const char *s, size_t n);

/* Open/close an object or array; members and elements get their commas. Nesting is the
 * caller's: after a close, the next member of the outer level gets its comma. */
void jsonw_open(struct jsonw *w, char bracket);
void jsonw_close(struct jsonw *w, char bracket);

/* A string value (escaped), with its comma when not first. */
void jsonw_string(struct jsonw *w, const char *s);

/* "key": then the value is up to the caller (jsonw_string, jsonw_open, jsonw_json). */
void jsonw_key(struct jsonw *w, const char *key);

/* The same for a key of n bytes, which may hold a NUL (written \u0000, as jansson does). */
void jsonw_key_n(struct jsonw *w, const char *key, size_t n);

/* An integer value, with its comma when not first. */
void jsonw_int(struct jsonw *w, long long v);

/* "key":"value" when value is not NULL; nothing otherwise. */
void jsonw_member_str(struct jsonw *w, const char *key, const char *value);

/* A jansson value as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) prints it, written
 * directly (objects in their order, arrays, strings and keys with their lengths, integers,
 * true, false, null); only a real goes through jansson. NULL: null. Strings are taken as
 * valid UTF-8, as jansson's constructors and jsonread make them. */
void jsonw_json(struct jsonw *w, const json_t *v);

/* The text (malloc'd, the caller frees it), or NULL after a failed allocation. The writer
 * is empty afterwards. */
char *jsonw_take(struct jsonw *w);

/* Free what the writer holds (safe after jsonw_take and on an unused writer). */
void jsonw_clear(struct jsonw *w);

#endif
