/* jsonw.c - a small JSON text writer for the hot path (see jsonw.h). */
#include "jsonw.h"

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

/* The quoted, escaped string, without a comma. */
static void
put_string(struct jsonw *w, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";   /* as jansson writes them */
	const char *run = s;

	jsonw_raw(w, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jsonw_raw(w, run, (size_t)(s - run));
		run = s + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		jsonw_raw(w, esc, n);
	}
	jsonw_raw(w, run, (size_t)(s - run));
	jsonw_raw(w, "\"", 1);
}

void
jsonw_string(struct jsonw *w, const char *s)
{
	comma(w);
	put_string(w, s);
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
jsonw_key(struct jsonw *w, const char *key)
{
	comma(w);
	put_string(w, key);
	jsonw_raw(w, ":", 1);
	w->first = true;   /* the value that follows takes no comma */
}

void
jsonw_member_str(struct jsonw *w, const char *key, const char *value)
{
	if (value == NULL)
		return;
	jsonw_key(w, key);
	jsonw_string(w, value);
}

void
jsonw_json(struct jsonw *w, const json_t *v)
{
	const char *k;
	json_t *m;
	char *text;
	bool all_strings = json_is_object(v);

	if (v == NULL) {
		comma(w);
		jsonw_raw(w, "null", 4);
		return;
	}
	if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)) {
		jsonw_string(w, json_string_value(v));
		return;
	}
	for (void *it = json_object_iter((json_t *)v); all_strings && it != NULL;
	    it = json_object_iter_next((json_t *)v, it)) {
		k = json_object_iter_key(it);
		m = json_object_iter_value(it);
		all_strings = strlen(k) == json_object_iter_key_len(it) && json_is_string(m) &&
		    strlen(json_string_value(m)) == json_string_length(m);
	}
	if (all_strings) {
		jsonw_open(w, '{');
		json_object_foreach((json_t *)v, k, m) {
			jsonw_key(w, k);
			jsonw_string(w, json_string_value(m));
		}
		jsonw_close(w, '}');
		return;
	}
	/* anything else (and strings with NUL characters) as jansson prints it */
	comma(w);
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text == NULL) {
		w->b.oom = true;
		return;
	}
	jsonw_raw(w, text, strlen(text));
	free(text);
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
