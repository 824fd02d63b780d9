/* jsonread.c - JSON text to a jansson tree, scanning the buffer directly.
 *
 * The parser mirrors jansson 2.14's load.c (the same tokens, checks in the same order,
 * the same messages) so that it accepts what json_loadb accepts and fails where and how
 * json_loadb fails; only the lexer differs: it walks a pointer over the buffer instead of
 * pulling characters through a stream callback, skips plain string runs a word at a time,
 * and hands strings without escapes to jansson straight from the buffer.
 *
 * jansson reports an error at its stream position P (the bytes it has read) with the
 * "saved text" of the current token, which is always buf[token start .. P): every token
 * here records both ends, and line and column are counted from buf[0..P) only when an
 * error is reported. jansson validates each UTF-8 sequence when its first byte is read,
 * wherever that is; so does this lexer, at each byte that jansson would read. */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"
#include "swar.h"

#ifndef JSON_PARSER_MAX_DEPTH
#define JSON_PARSER_MAX_DEPTH 2048
#endif

#if JSON_INTEGER_IS_LONG_LONG
#define JR_INT_MAX LLONG_MAX
#else
#define JR_INT_MAX LONG_MAX
#endif

/* the longest saved text jansson quotes in a message ("... near '<text>'") */
#define JR_CONTEXT_MAX 20

enum {
	TOK_EOF = 0,
	TOK_STRING = 256,
	TOK_INTEGER,
	TOK_REAL,
	TOK_TRUE,
	TOK_FALSE,
	TOK_NULL,
	TOK_INVALID,
};

struct jr {
	const unsigned char *buf, *p, *end;
	size_t depth;
	/* the current token: kind, its first byte and the stream position after it */
	int tok;
	const unsigned char *ts, *tp;
	/* TOK_STRING: the value (in the buffer, or decoded into scratch) */
	const char *str;
	size_t slen;
	int str_decoded, str_nul;
	json_int_t ival;
	double rval;
	/* decoded strings (grown as needed, freed at the end) */
	char *scratch;
	size_t scratch_cap;
	/* the first error wins, as in jansson */
	int failed, nomem;
	char *err;
	size_t errlen;
	const unsigned char *err_pos;
};

/* bytes a string may hold as they are: printable ASCII but '"' and '\\' */
static const unsigned char plain_byte[256] = {
	['\x20'] = 1, 1, 0 /* " */, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 /* \ */, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* JSON's whitespace */
static const unsigned char space_byte[256] = { [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1 };

static inline int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* what may follow a backslash in a string */
static inline int
is_escape(int c)
{
	switch (c) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': case 'u':
		return 1;
	default:
		return 0;
	}
}

static inline int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The length of the valid UTF-8 sequence at p (1 for ASCII), or 0 where jansson's stream
 * fails to decode it: a continuation or never-valid first byte, a sequence cut short,
 * an overlong form, a surrogate, a value over U+10FFFF. */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	uint32_t v;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		n = 2;
		v = c & 0x1F;
	} else if (c < 0xF0) {
		n = 3;
		v = c & 0x0F;
	} else if (c < 0xF5) {
		n = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) ||
	    (n == 4 && v < 0x10000))
		return 0;
	return n;
}

/* Record the first error: msg at stream position pos, quoting the saved text
 * buf[start..pos) as jansson does (none when it is longer than 20 bytes; "near end of
 * file" when it is empty, but for an undecodable byte). */
static void __attribute__((format(printf, 5, 6)))
jr_fail_at(struct jr *r, const unsigned char *start, const unsigned char *pos, int decode,
    const char *fmt, ...)
{
	char msg[JSON_ERROR_TEXT_LENGTH];
	size_t saved = (size_t)(pos - start);
	va_list ap;

	if (r->failed)
		return;
	r->failed = 1;
	r->err_pos = pos;
	if (r->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (saved > 0 && start[0] != '\0') {
		if (saved <= JR_CONTEXT_MAX)
			snprintf(r->err, r->errlen, "%s near '%.*s'", msg, (int)saved,
			    (const char *)start);
		else
			snprintf(r->err, r->errlen, "%s", msg);
	} else if (decode) {
		snprintf(r->err, r->errlen, "%s", msg);
	} else {
		snprintf(r->err, r->errlen, "%s near end of file", msg);
	}
}

/* The token ends at q (jansson's position after it). */
static inline int
tok_end(struct jr *r, int tok, const unsigned char *q)
{
	r->tok = tok;
	r->tp = q;
	r->p = q;
	return tok;
}

/* A parser error about the current token. */
static void
jr_fail(struct jr *r, const char *msg)
{
	jr_fail_at(r, r->ts, r->tp, 0, "%s", msg);
}

/* The byte at q cannot be decoded (jansson's stream error); the token began at start. */
static int
jr_fail_decode(struct jr *r, const unsigned char *start, const unsigned char *q)
{
	jr_fail_at(r, start, q, 1, "unable to decode byte 0x%x", q[0]);
	return tok_end(r, TOK_INVALID, q);
}

static void *
jr_nomem(struct jr *r)
{
	if (!r->failed) {
		r->failed = 1;
		r->nomem = 1;
		r->err_pos = r->tp;
		if (r->errlen > 0)
			snprintf(r->err, r->errlen, "out of memory");
	}
	return NULL;
}

/* True when jansson, reading the byte at q, would fail to decode it. */
static inline int
undecodable(const struct jr *r, const unsigned char *q)
{
	return q < r->end && *q >= 0x80 && utf8_len(q, r->end) == 0;
}

static int
scratch_reserve(struct jr *r, size_t n)
{
	char *s;

	if (n <= r->scratch_cap)
		return 0;
	s = realloc(r->scratch, n);
	if (s == NULL)
		return -ENOMEM;
	r->scratch = s;
	r->scratch_cap = n;
	return 0;
}

static unsigned
hex4(const unsigned char *p)
{
	return (unsigned)(hex_value(p[0]) << 12 | hex_value(p[1]) << 8 | hex_value(p[2]) << 4 |
	    hex_value(p[3]));
}

static size_t
utf8_put(char *t, uint32_t v)
{
	if (v < 0x80) {
		t[0] = (char)v;
		return 1;
	}
	if (v < 0x800) {
		t[0] = (char)(0xC0 | (v >> 6));
		t[1] = (char)(0x80 | (v & 0x3F));
		return 2;
	}
	if (v < 0x10000) {
		t[0] = (char)(0xE0 | (v >> 12));
		t[1] = (char)(0x80 | ((v >> 6) & 0x3F));
		t[2] = (char)(0x80 | (v & 0x3F));
		return 3;
	}
	t[0] = (char)(0xF0 | (v >> 18));
	t[1] = (char)(0x80 | ((v >> 12) & 0x3F));
	t[2] = (char)(0x80 | ((v >> 6) & 0x3F));
	t[3] = (char)(0x80 | (v & 0x3F));
	return 4;
}

/* Decode the escapes of the string token between r->ts + 1 and the closing quote at q
 * (all checked by lex_string) into scratch; surrogates are checked here, after the whole
 * string was read, as jansson does. */
static int
lex_decode(struct jr *r, const unsigned char *q)
{
	const unsigned char *p = r->ts + 1;
	char *t;

	if (scratch_reserve(r, (size_t)(q - p) + 1) != 0) {
		jr_nomem(r);
		return tok_end(r, TOK_INVALID, q + 1);
	}
	t = r->scratch;
	r->str_nul = 0;
	while (p < q) {
		uint32_t v, v2;

		if (*p != '\\') {
			*t++ = (char)*p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'b': *t++ = '\b'; p++; continue;
		case 'f': *t++ = '\f'; p++; continue;
		case 'n': *t++ = '\n'; p++; continue;
		case 'r': *t++ = '\r'; p++; continue;
		case 't': *t++ = '\t'; p++; continue;
		case 'u': break;
		default: *t++ = (char)*p++; continue;
		}
		v = hex4(p + 1);
		p += 5;
		if (v >= 0xD800 && v <= 0xDBFF) {
			if (p[0] != '\\' || p[1] != 'u') {
				jr_fail_at(r, r->ts, q + 1, 0, "invalid Unicode '\\u%04X'", v);
				return tok_end(r, TOK_INVALID, q + 1);
			}
			v2 = hex4(p + 2);
			p += 6;
			if (v2 < 0xDC00 || v2 > 0xDFFF) {
				jr_fail_at(r, r->ts, q + 1, 0, "invalid Unicode '\\u%04X\\u%04X'", v,
				    v2);
				return tok_end(r, TOK_INVALID, q + 1);
			}
			v = ((v - 0xD800) << 10) + (v2 - 0xDC00) + 0x10000;
		} else if (v >= 0xDC00 && v <= 0xDFFF) {
			jr_fail_at(r, r->ts, q + 1, 0, "invalid Unicode '\\u%04X'", v);
			return tok_end(r, TOK_INVALID, q + 1);
		}
		if (v == 0)
			r->str_nul = 1;
		t += utf8_put(t, v);
	}
	r->str = r->scratch;
	r->slen = (size_t)(t - r->scratch);
	r->str_decoded = 1;
	return tok_end(r, TOK_STRING, q + 1);
}

/* A string token: r->ts is at its opening quote. */
static int
lex_string(struct jr *r)
{
	const unsigned char *q = r->ts + 1, *end = r->end;
	int escaped = 0;

	for (;;) {
		unsigned c;
		size_t n;

		while (end - q >= 8) {
			uint64_t w, m;

			memcpy(&w, q, sizeof(w));
			if ((m = swar_special8(w)) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				/* the lowest flagged byte is the first special one */
				q += (unsigned)__builtin_ctzll(m) / 8;
#endif
				break;
			}
			q += 8;
		}
		while (q < end && plain_byte[*q])
			q++;
		if (q == end) {
			jr_fail_at(r, r->ts, q, 0, "premature end of input");
			return tok_end(r, TOK_INVALID, q);
		}
		c = *q;
		if (c == '"')
			break;
		if (c >= 0x80) {
			if ((n = utf8_len(q, end)) == 0)
				return jr_fail_decode(r, r->ts, q);
			q += n;
			continue;
		}
		if (c < 0x20) {
			if (c == '\n')
				jr_fail_at(r, r->ts, q, 0, "unexpected newline");
			else
				jr_fail_at(r, r->ts, q, 0, "control character 0x%x", c);
			return tok_end(r, TOK_INVALID, q);
		}
		/* a backslash: jansson reads the next byte, and four more after 'u' */
		escaped = 1;
		q++;
		if (q == end || !is_escape(*q)) {
			if (undecodable(r, q))
				return jr_fail_decode(r, r->ts, q);
			if (q < end)
				q++;
			jr_fail_at(r, r->ts, q, 0, "invalid escape");
			return tok_end(r, TOK_INVALID, q);
		}
		if (*q++ != 'u')
			continue;
		for (int i = 0; i < 4; i++, q++) {
			if (q < end && hex_value(*q) >= 0)
				continue;
			if (undecodable(r, q))
				return jr_fail_decode(r, r->ts, q);
			if (q < end)
				q++;
			jr_fail_at(r, r->ts, q, 0, "invalid escape");
			return tok_end(r, TOK_INVALID, q);
		}
	}
	if (escaped)
		return lex_decode(r, q);
	r->str = (const char *)r->ts + 1;
	r->slen = (size_t)(q - r->ts - 1);
	r->str_decoded = 0;
	r->str_nul = 0;
	return tok_end(r, TOK_STRING, q + 1);
}

/* A real: strtod on a NUL-terminated copy, '.' swapped for the locale's decimal point as
 * jansson does; an overflow to infinity is an error. */
static int
lex_real(struct jr *r, const unsigned char *q)
{
	size_t n = (size_t)(q - r->ts);
	char small[64], *text = small, *dot;
	const char *point;
	double v;

	if (n >= sizeof(small) && (text = malloc(n + 1)) == NULL) {
		jr_nomem(r);
		return tok_end(r, TOK_INVALID, q);
	}
	memcpy(text, r->ts, n);
	text[n] = '\0';
	point = localeconv()->decimal_point;
	if (point[0] != '.' && (dot = strchr(text, '.')) != NULL)
		*dot = point[0];
	errno = 0;
	v = strtod(text, NULL);
	if (text != small)
		free(text);
	if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE) {
		tok_end(r, TOK_INVALID, q);
		jr_fail(r, "real number overflow");
		return TOK_INVALID;
	}
	r->rval = v;
	return tok_end(r, TOK_REAL, q);
}

/* A number token: r->ts is at '-' or a digit. Where jansson gives up on the syntax it
 * returns an invalid token (the parser then says why); q follows jansson's reads. */
static int
lex_number(struct jr *r)
{
	const unsigned char *q = r->ts, *end = r->end;
	int neg = *q == '-';
	uint64_t acc = 0, limit;

	if (neg)
		q++;
	if (q < end && *q == '0') {
		q++;
		if (q < end && is_digit(*q))
			return tok_end(r, TOK_INVALID, q);
	} else if (q < end && is_digit(*q)) {
		while (q < end && is_digit(*q))
			q++;
	} else {
		if (undecodable(r, q))
			return jr_fail_decode(r, r->ts, q);
		return tok_end(r, TOK_INVALID, q);
	}
	if (undecodable(r, q))
		return jr_fail_decode(r, r->ts, q);
	if (q == end || (*q != '.' && *q != 'e' && *q != 'E')) {
		limit = neg ? (uint64_t)JR_INT_MAX + 1 : (uint64_t)JR_INT_MAX;
		for (const unsigned char *d = r->ts + neg; d < q; d++) {
			unsigned digit = (unsigned)(*d - '0');

			if (acc > (limit - digit) / 10) {
				tok_end(r, TOK_INVALID, q);
				jr_fail(r, neg ? "too big negative integer" : "too big integer");
				return TOK_INVALID;
			}
			acc = acc * 10 + digit;
		}
		r->ival = neg ? (acc > (uint64_t)JR_INT_MAX ? -JR_INT_MAX - 1 : -(json_int_t)acc) :
		    (json_int_t)acc;
		return tok_end(r, TOK_INTEGER, q);
	}
	if (*q == '.') {
		q++;
		if (undecodable(r, q))
			return jr_fail_decode(r, r->ts, q);
		if (q == end || !is_digit(*q))
			return tok_end(r, TOK_INVALID, q);
		while (q < end && is_digit(*q))
			q++;
		if (undecodable(r, q))
			return jr_fail_decode(r, r->ts, q);
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		if (undecodable(r, q))
			return jr_fail_decode(r, r->ts, q);
		if (q == end || !is_digit(*q))
			return tok_end(r, TOK_INVALID, q);
		while (q < end && is_digit(*q))
			q++;
		if (undecodable(r, q))
			return jr_fail_decode(r, r->ts, q);
	}
	return lex_real(r, q);
}

/* true, false, null, or a run of letters that is none of them */
static int
lex_word(struct jr *r)
{
	const unsigned char *q = r->ts;
	size_t n;

	while (q < r->end && is_alpha(*q))
		q++;
	if (undecodable(r, q))
		return jr_fail_decode(r, r->ts, q);
	n = (size_t)(q - r->ts);
	if (n == 4 && memcmp(r->ts, "true", 4) == 0)
		return tok_end(r, TOK_TRUE, q);
	if (n == 5 && memcmp(r->ts, "false", 5) == 0)
		return tok_end(r, TOK_FALSE, q);
	if (n == 4 && memcmp(r->ts, "null", 4) == 0)
		return tok_end(r, TOK_NULL, q);
	return tok_end(r, TOK_INVALID, q);
}

/* The next token, into r->tok (also returned). */
static int
lex_scan(struct jr *r)
{
	const unsigned char *q = r->p, *end = r->end;
	size_t n;

	while (q < end && space_byte[*q])
		q++;
	r->ts = q;
	if (q == end)
		return tok_end(r, TOK_EOF, q);
	switch (*q) {
	case '{': case '}': case '[': case ']': case ':': case ',':
		return tok_end(r, *q, q + 1);
	case '"':
		return lex_string(r);
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return lex_number(r);
	default:
		break;
	}
	if (is_alpha(*q))
		return lex_word(r);
	/* anything else is an invalid token of one character; jansson cannot decode some */
	if ((n = utf8_len(q, end)) == 0) {
		r->ts = q;
		return jr_fail_decode(r, q, q);
	}
	return tok_end(r, TOK_INVALID, q + n);
}

static json_t *parse_value(struct jr *r);

static json_t *
parse_object(struct jr *r)
{
	json_t *obj = json_object(), *v;
	char *owned = NULL;

	if (obj == NULL)
		return jr_nomem(r);
	if (lex_scan(r) == '}')
		return obj;
	for (;;) {
		const char *key;
		size_t klen;

		if (r->tok != TOK_STRING) {
			jr_fail(r, "string or '}' expected");
			goto error;
		}
		key = r->str;
		klen = r->slen;
		if (r->str_decoded) {
			if (r->str_nul) {
				jr_fail(r, "NUL byte in object key not supported");
				goto error;
			}
			/* scratch is reused by the strings of the value */
			if ((owned = malloc(klen + 1)) == NULL) {
				jr_nomem(r);
				goto error;
			}
			memcpy(owned, key, klen);
			key = owned;
		}
		if (lex_scan(r) != ':') {
			jr_fail(r, "':' expected");
			goto error;
		}
		lex_scan(r);
		if ((v = parse_value(r)) == NULL)
			goto error;
		if (json_object_setn_new_nocheck(obj, key, klen, v) != 0) {
			jr_nomem(r);
			goto error;
		}
		free(owned);
		owned = NULL;
		if (lex_scan(r) != ',')
			break;
		lex_scan(r);
	}
	if (r->tok != '}') {
		jr_fail(r, "'}' expected");
		goto error;
	}
	return obj;
error:
	free(owned);
	json_decref(obj);
	return NULL;
}

static json_t *
parse_array(struct jr *r)
{
	json_t *arr = json_array(), *v;

	if (arr == NULL)
		return jr_nomem(r);
	if (lex_scan(r) == ']')
		return arr;
	while (r->tok != TOK_EOF) {
		if ((v = parse_value(r)) == NULL)
			goto error;
		if (json_array_append_new(arr, v) != 0) {
			jr_nomem(r);
			goto error;
		}
		if (lex_scan(r) != ',')
			break;
		lex_scan(r);
	}
	if (r->tok != ']') {
		jr_fail(r, "']' expected");
		goto error;
	}
	return arr;
error:
	json_decref(arr);
	return NULL;
}

/* The value that begins with the current token. */
static json_t *
parse_value(struct jr *r)
{
	json_t *v;

	if (++r->depth > JSON_PARSER_MAX_DEPTH) {
		jr_fail(r, "maximum parsing depth reached");
		return NULL;
	}
	switch (r->tok) {
	case TOK_STRING:
		if (r->str_nul) {
			jr_fail(r, "\\u0000 is not allowed without JSON_ALLOW_NUL");
			return NULL;
		}
		v = json_stringn_nocheck(r->str, r->slen);
		break;
	case TOK_INTEGER:
		v = json_integer(r->ival);
		break;
	case TOK_REAL:
		v = json_real(r->rval);
		break;
	case TOK_TRUE:
		v = json_true();
		break;
	case TOK_FALSE:
		v = json_false();
		break;
	case TOK_NULL:
		v = json_null();
		break;
	case '{':
		v = parse_object(r);
		break;
	case '[':
		v = parse_array(r);
		break;
	case TOK_INVALID:
		jr_fail(r, "invalid token");
		return NULL;
	default:
		jr_fail(r, "unexpected token");
		return NULL;
	}
	if (v == NULL)
		return r->failed ? NULL : jr_nomem(r);
	r->depth--;
	return v;
}

/* jansson's line and column at stream position pos: lines start at 1, columns count the
 * characters read on the line (the bytes before pos are valid UTF-8). */
static void
jr_where(const unsigned char *buf, const unsigned char *pos, int *line, int *column)
{
	int l = 1, c = 0;

	for (const unsigned char *p = buf; p < pos; p++) {
		if (*p == '\n') {
			l++;
			c = 0;
		} else if ((*p & 0xC0) != 0x80) {
			c++;
		}
	}
	if (line != NULL)
		*line = l;
	if (column != NULL)
		*column = c;
}

int
jsonread_loadb(const char *buf, size_t len, json_t **out, char *err, size_t errlen,
    int *line, int *column)
{
	static const unsigned char none[1];
	struct jr r = {
		.buf = buf ? (const unsigned char *)buf : none,
		.err = err, .errlen = err ? errlen : 0,
	};
	json_t *v = NULL;
	int rc;

	*out = NULL;
	if (buf == NULL)
		len = 0;
	r.p = r.ts = r.tp = r.buf;
	r.end = r.buf + len;
	if (lex_scan(&r) != '[' && r.tok != '{') {
		jr_fail(&r, "'[' or '{' expected");
		goto out;
	}
	if ((v = parse_value(&r)) == NULL)
		goto out;
	if (lex_scan(&r) != TOK_EOF) {
		jr_fail(&r, "end of file expected");
		json_decref(v);
		v = NULL;
	}
out:
	free(r.scratch);
	if (v != NULL) {
		*out = v;
		return 0;
	}
	rc = r.nomem ? -ENOMEM : -EINVAL;
	jr_where(r.buf, r.err_pos ? r.err_pos : r.buf, line, column);
	return rc;
}
