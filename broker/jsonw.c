/* jsonw.c - a small JSON text writer for the hot path (see jsonw.h). */
#include "jsonw.h"
#include "swar.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
	w->first = true;
}

void
jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	strbuf_add(&w->b, s, n);
}

static void
comma(struct jsonw *w)
{
	if (!w->first)
		jsonw_raw(w, ",", 1);
	w->first = false;
}

void
jsonw_open(struct jsonw *w, char bracket)
{
	comma(w);
	jsonw_raw(w, &bracket, 1);
	w->first = true;
}

void
jsonw_close(struct jsonw *w, char bracket)
{
	jsonw_raw(w, &bracket, 1);
	w->first = false;
}

/* Write s[0..n) quoted and escaped at p, which has room for 6 * n + 2 bytes (the most
 * it can take: every byte a \u00XX). Returns the bytes written. */
static size_t
put_escaped(char *p, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";   /* as jansson writes them */
	char *o = p;

	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c;
		uint64_t w, m;

		/* plain text eight bytes at a time, up to the first byte to look at */
		while (i + 8 <= n) {
			memcpy(&w, s + i, 8);
			if ((m = swar_special8(w)) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				size_t k = (unsigned)__builtin_ctzll(m) / 8;

				memcpy(o, s + i, k);
				o += k;
				i += k;
#endif
				break;
			}
			memcpy(o, s + i, 8);
			o += 8;
			i += 8;
		}
		if (i == n)
			break;
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 15];
			o += 5;
		}
	}
	*o++ = '"';
	return (size_t)(o - p);
}

/* Room for a string of n bytes once quoted and escaped, plus extra bytes; NULL after a
 * failed allocation (the writer is then marked out of memory). */
static char *
string_room(struct jsonw *w, size_t n, size_t extra)
{
	if (n > SIZE_MAX / 16) {
		w->b.oom = true;
		return NULL;
	}
	return strbuf_room(&w->b, 6 * n + 2 + extra);
}

/* The quoted, escaped string of n bytes (a NUL inside is \u0000, as jansson writes it),
 * without a comma. */
static void
put_string(struct jsonw *w, const char *s, size_t n)
{
	char *p = string_room(w, n, 0);

	if (p != NULL)
		strbuf_grew(&w->b, put_escaped(p, s, n));
}

void
jsonw_string(struct jsonw *w, const char *s)
{
	comma(w);
	put_string(w, s, strlen(s));
}

void
jsonw_int(struct jsonw *w, long long v)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%lld", v);

	comma(w);
	jsonw_raw(w, num, (size_t)n);
}

void
jsonw_key_n(struct jsonw *w, const char *key, size_t n)
{
	comma(w);
	put_string(w, key, n);
	jsonw_raw(w, ":", 1);
	w->first = true;   /* the value that follows takes no comma */
}

void
jsonw_key(struct jsonw *w, const char *key)
{
	jsonw_key_n(w, key, strlen(key));
}

void
jsonw_member_str(struct jsonw *w, const char *key, const char *value)
{
	size_t kn, vn, len = 0;
	char *p;

	if (value == NULL)
		return;
	/* one reservation for ,"key":"value" (the hot path: an event has dozens) */
	kn = strlen(key);
	vn = strlen(value);
	p = string_room(w, kn + vn, 4);
	if (p == NULL)
		return;
	if (!w->first)
		p[len++] = ',';
	w->first = false;
	len += put_escaped(p + len, key, kn);
	p[len++] = ':';
	len += put_escaped(p + len, value, vn);
	strbuf_grew(&w->b, len);
}

void
jsonw_json(struct jsonw *w, const json_t *v)
{
	json_t *m;
	char *text;
	size_t i;

	switch (v == NULL ? JSON_NULL : json_typeof(v)) {
	case JSON_OBJECT:
		jsonw_open(w, '{');
		for (void *it = json_object_iter((json_t *)v); it != NULL;
		    it = json_object_iter_next((json_t *)v, it)) {
			jsonw_key_n(w, json_object_iter_key(it), json_object_iter_key_len(it));
			jsonw_json(w, json_object_iter_value(it));
		}
		jsonw_close(w, '}');
		break;
	case JSON_ARRAY:
		jsonw_open(w, '[');
		json_array_foreach(v, i, m)
			jsonw_json(w, m);
		jsonw_close(w, ']');
		break;
	case JSON_STRING:
		comma(w);
		put_string(w, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		jsonw_int(w, (long long)json_integer_value(v));
		break;
	case JSON_TRUE:
		comma(w);
		jsonw_raw(w, "true", 4);
		break;
	case JSON_FALSE:
		comma(w);
		jsonw_raw(w, "false", 5);
		break;
	case JSON_NULL:
		comma(w);
		jsonw_raw(w, "null", 4);
		break;
	default:
		/* a real: jansson's own digits */
		comma(w);
		if ((text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
			w->b.oom = true;
			break;
		}
		jsonw_raw(w, text, strlen(text));
		free(text);
		break;
	}
}

char *
jsonw_take(struct jsonw *w)
{
	char *out = NULL;

	(void)strbuf_finish(&w->b, &out);   /* NULL (and freed) after a failed append */
	jsonw_init(w);
	return out;
}

void
jsonw_clear(struct jsonw *w)
{
	free(w->b.s);
	jsonw_init(w);
}
