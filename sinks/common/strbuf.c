/* strbuf.c - a growable string for the sinks' renderers. */
#include "strbuf.h"

#include <jansson.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

char *
strbuf_room(struct strbuf *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (n >= SIZE_MAX / 4 - b->len) {
		b->oom = true;
		return NULL;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *ns;

		while (cap < b->len + n + 1)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (ns == NULL) {
			b->oom = true;
			return NULL;
		}
		b->s = ns;
		b->cap = cap;
	}
	return b->s + b->len;
}

void
strbuf_grew(struct strbuf *b, size_t n)
{
	b->len += n;
	b->s[b->len] = '\0';
}

void
strbuf_add(struct strbuf *b, const char *s, size_t n)
{
	char *p = strbuf_room(b, n);

	if (p == NULL)
		return;
	memcpy(p, s, n);
	strbuf_grew(b, n);
}

void
strbuf_str(struct strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s));
}

void
strbuf_fmt(struct strbuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		strbuf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

int
strbuf_finish(struct strbuf *b, char **out)
{
	if (!b->oom && b->s == NULL)
		strbuf_add(b, "", 0);
	if (b->oom) {
		free(b->s);
		*out = NULL;
		return -ENOMEM;
	}
	*out = b->s;
	return 0;
}

/* The bytes of a bidirectional-control character at p, or 0. */
static size_t
bidi_control(const unsigned char *u)
{
	if (u[0] != 0xe2 || u[1] == 0)
		return 0;
	if ((u[1] == 0x80 && u[2] >= 0xaa && u[2] <= 0xae) ||
	    (u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9))
		return 3;
	return 0;
}

/* s with its bidirectional controls as U+FFFD (same length), or NULL when it has none or
 * out of memory (*oom says which). */
static char *
strip_bidi(const char *s, size_t len, bool *oom)
{
	char *out;
	size_t i;

	*oom = false;
	for (i = 0; i + 2 < len && bidi_control((const unsigned char *)s + i) == 0; i++)
		;
	if (i + 2 >= len)
		return NULL;
	if ((out = malloc(len + 1)) == NULL) {
		*oom = true;
		return NULL;
	}
	memcpy(out, s, len + 1);
	for (; i + 2 < len; i++) {
		if (bidi_control((const unsigned char *)out + i) > 0) {
			memcpy(out + i, "\xef\xbf\xbd", 3);
			i += 2;
		}
	}
	return out;
}

int
text_json_strip_bidi(struct json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;
	bool oom;
	char *s;

	if (json_is_object(v)) {
		json_object_foreach(v, k, x)
			if (text_json_strip_bidi(x) != 0)
				return -ENOMEM;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (text_json_strip_bidi(x) != 0)
				return -ENOMEM;
	} else if (json_is_string(v)) {
		s = strip_bidi(json_string_value(v), json_string_length(v), &oom);
		if (oom)
			return -ENOMEM;
		if (s != NULL) {
			int rc = json_string_setn(v, s, json_string_length(v));

			free(s);
			return rc == 0 ? 0 : -ENOMEM;
		}
	}
	return 0;
}
