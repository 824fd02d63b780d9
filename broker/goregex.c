/* goregex.c - Go 1.19 regexp/syntax (Perl flags), as Alertmanager compiles matcher
 * regexes, parsed the way Go parses it and written out as an equivalent PCRE2 pattern.
 *
 * The parser follows Go's: the same tokens, the same order of checks and the same error
 * texts ("invalid escape sequence: `\8`"). The output spells everything out so PCRE2's own
 * reading of a construct never matters: literals as \x{..}, `.` as [^\n], ^ and $ as \A
 * and \z (or their multi-line forms), Perl and POSIX classes as code point ranges (folded
 * here under (?i), as Go folds them), every group non-capturing. Literals and literal
 * ranges under (?i) are left to PCRE2's caseless matching, which in UTF mode folds like Go
 * (k, K and U+212A KELVIN SIGN; s, S and U+017F LONG S). */
#include "goregex.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "util.h"

#define GX_MAX_REPEAT 1000          /* Go's maxRepeat: counts, and their product when nested */
#define GX_MAX_DEPTH 1000           /* groups inside groups */
#define GX_MAX_RUNE 0x10ffffu

/* Go's parse flags that change what the output means. */
enum { GX_FOLD = 1, GX_DOTNL = 2, GX_ONELINE = 4, GX_NONGREEDY = 8 };

struct gx {
	const char *whole;          /* the pattern */
	const char *p;              /* next byte to parse */
	struct strbuf out;
	unsigned flags;
	int depth;
	char *err;
	size_t errlen;
};

/* The last atom of the concatenation being parsed: what a quantifier applies to. */
struct atom {
	long start;                 /* its offset in out; -1 = none (start of a branch) */
	bool quant;                 /* it ends in a quantifier already */
	long f;                     /* largest product of {n,m} counts on a path inside it */
};

/* --- errors ---------------------------------------------------------------------------- */

/* What RE2 lacks that PCRE users write, for the message. */
static const char *
gx_hint(const char *code, const char *expr, size_t n)
{
	/* expr points into the pattern: what follows it may be read too */
	if (strcmp(code, "invalid or unsupported Perl syntax") == 0) {
		if (strncmp(expr, "(?=", 3) == 0 || strncmp(expr, "(?!", 3) == 0 ||
		    strncmp(expr, "(?<=", 4) == 0 || strncmp(expr, "(?<!", 4) == 0)
			return "(lookarounds are not supported: Alertmanager's regular expressions are "
			    "Go RE2)";
		if (strncmp(expr, "(?<", 3) == 0)
			return "(write a named group as (?P<name>...); Go 1.19 RE2 knows no (?<name>...))";
		return "(Go RE2 has no lookarounds, atomic groups, comments, recursion or "
		    "conditionals; flags are i, m, s and U)";
	}
	if (strcmp(code, "invalid escape sequence") == 0 && n >= 2) {
		if ((expr[1] >= '1' && expr[1] <= '9') || expr[1] == 'k' || expr[1] == 'g')
			return "(backreferences are not supported: Alertmanager's regular expressions "
			    "are Go RE2)";
		if (expr[1] == 'Z')
			return "(use \\z, or $)";
	}
	if (strcmp(code, "invalid nested repetition operator") == 0 && n >= 2 &&
	    expr[n - 1] == '+')
		return "(possessive quantifiers are not supported: Alertmanager's regular "
		    "expressions are Go RE2)";
	return NULL;
}

/* Report Go's error "<code>: `<expr>`" (expr = the n bytes at at, shortened on a character
 * boundary) with a hint when there is one. Returns -EINVAL. */
static int
gx_fail(struct gx *g, const char *code, const char *at, size_t n)
{
	const char *hint = gx_hint(code, at, n);
	size_t shown = n;

	if (shown > 160) {
		shown = 160;
		while (shown > 0 && ((unsigned char)at[shown] & 0xc0) == 0x80)
			shown--;
	}
	snprintf(g->err, g->errlen, "%s: `%.*s%s`%s%s", code, (int)shown, at,
	    shown < n ? "..." : "", hint ? " " : "", hint ? hint : "");
	return -EINVAL;
}

/* Decode the rune at *pp and advance past it; invalid UTF-8 is Go's error. */
static int
gx_rune(struct gx *g, const char **pp, uint32_t *r)
{
	size_t n = util_utf8_decode(*pp, r);

	if (n == 0)
		return gx_fail(g, "invalid UTF-8", *pp, strlen(*pp));
	*pp += n;
	return 0;
}

/* --- output ---------------------------------------------------------------------------- */

static void
emit_cp(struct strbuf *b, uint32_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
		char ch = (char)c;

		strbuf_add(b, &ch, 1);
	} else {
		strbuf_fmt(b, "\\x{%x}", (unsigned)c);
	}
}

/* One literal rune (never a surrogate: gx_escape refuses those). */
static void
emit_literal(struct gx *g, uint32_t c)
{
	if (g->flags & GX_FOLD)
		strbuf_str(&g->out, "(?i:");
	emit_cp(&g->out, c);
	if (g->flags & GX_FOLD)
		strbuf_str(&g->out, ")");
}

/* --- character classes ----------------------------------------------------------------- */

struct rngs {
	uint32_t (*v)[2];
	size_t n, cap;
};

/* A class being parsed: its parts are emitted separately because PCRE2 must fold the
 * literal part under (?i) and must not fold the others. */
struct gclass {
	struct rngs lit;            /* literal runes and ranges */
	struct rngs fix;            /* exact ranges: Perl and POSIX classes, already folded */
	struct strbuf props;        /* \p{X} and \P{X} items */
	bool neg;
};

static int
rngs_add(struct rngs *r, uint32_t lo, uint32_t hi)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		uint32_t (*v)[2] = realloc(r->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n][0] = lo;
	r->v[r->n][1] = hi;
	r->n++;
	return 0;
}

static void
gclass_clear(struct gclass *c)
{
	free(c->lit.v);
	free(c->fix.v);
	free(c->props.s);
}

/* ASCII sets of Go's Perl and POSIX classes: up to four ranges each. */
struct agroup {
	const char *name;
	unsigned char r[4][2];
	size_t n;
};

static const struct agroup posix_groups[] = {
	{ "alnum", { { '0', '9' }, { 'A', 'Z' }, { 'a', 'z' } }, 3 },
	{ "alpha", { { 'A', 'Z' }, { 'a', 'z' } }, 2 },
	{ "ascii", { { 0x00, 0x7f } }, 1 },
	{ "blank", { { '\t', '\t' }, { ' ', ' ' } }, 2 },
	{ "cntrl", { { 0x00, 0x1f }, { 0x7f, 0x7f } }, 2 },
	{ "digit", { { '0', '9' } }, 1 },
	{ "graph", { { '!', '~' } }, 1 },
	{ "lower", { { 'a', 'z' } }, 1 },
	{ "print", { { ' ', '~' } }, 1 },
	{ "punct", { { '!', '/' }, { ':', '@' }, { '[', '`' }, { '{', '~' } }, 4 },
	{ "space", { { '\t', '\r' }, { ' ', ' ' } }, 2 },
	{ "upper", { { 'A', 'Z' } }, 1 },
	{ "word", { { '0', '9' }, { 'A', 'Z' }, { '_', '_' }, { 'a', 'z' } }, 4 },
	{ "xdigit", { { '0', '9' }, { 'A', 'F' }, { 'a', 'f' } }, 3 },
};

/* Go's \d, \s (no \v, unlike PCRE2's) and \w. */
static const struct agroup perl_groups[] = {
	{ "d", { { '0', '9' } }, 1 },
	{ "s", { { '\t', '\n' }, { '\f', '\r' }, { ' ', ' ' } }, 3 },
	{ "w", { { '0', '9' }, { 'A', 'Z' }, { '_', '_' }, { 'a', 'z' } }, 4 },
};

/* Add group (negated when neg) to the exact part of c, folded as Go folds it under (?i):
 * letters get their other case, k and K also U+212A, s and S also U+017F. */
static int
gclass_add_group(struct gclass *c, const struct agroup *grp, bool neg, bool fold)
{
	bool in[128] = { false }, kelvin = false, long_s = false;
	uint32_t r[70][2], lo = 0;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < grp->n; i++)
		for (unsigned ch = grp->r[i][0]; ch <= grp->r[i][1]; ch++)
			in[ch] = true;
	if (fold) {
		for (unsigned ch = 'A'; ch <= 'Z'; ch++)
			in[ch] = in[ch + 32] = in[ch] || in[ch + 32];
		kelvin = in['k'];
		long_s = in['s'];
	}
	for (unsigned ch = 0; ch < 128; ch++) {
		if (!in[ch])
			continue;
		if (n > 0 && r[n - 1][1] + 1 == ch) {
			r[n - 1][1] = ch;
		} else {
			r[n][0] = r[n][1] = ch;
			n++;
		}
	}
	if (long_s) {
		r[n][0] = r[n][1] = 0x17f;
		n++;
	}
	if (kelvin) {
		r[n][0] = r[n][1] = 0x212a;
		n++;
	}
	if (!neg) {
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = rngs_add(&c->fix, r[i][0], r[i][1]);
		return rc;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (r[i][0] > lo)
			rc = rngs_add(&c->fix, lo, r[i][0] - 1);
		lo = r[i][1] + 1;
	}
	return rc != 0 ? rc : rngs_add(&c->fix, lo, GX_MAX_RUNE);
}

/* Unicode classes Go 1.19 knows (its tables are Unicode 13.0): the general categories, the
 * scripts and Any, by exact name. */
static const char *const unicode_names[] = {
	"Any",
	"C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn",
	"N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk",
	"Sm", "So", "Z", "Zl", "Zp", "Zs",
	"Adlam", "Ahom", "Anatolian_Hieroglyphs", "Arabic", "Armenian", "Avestan", "Balinese",
	"Bamum", "Bassa_Vah", "Batak", "Bengali", "Bhaiksuki", "Bopomofo", "Brahmi", "Braille",
	"Buginese", "Buhid", "Canadian_Aboriginal", "Carian", "Caucasian_Albanian", "Chakma",
	"Cham", "Cherokee", "Chorasmian", "Common", "Coptic", "Cuneiform", "Cypriot", "Cyrillic",
	"Deseret", "Devanagari", "Dives_Akuru", "Dogra", "Duployan", "Egyptian_Hieroglyphs",
	"Elbasan", "Elymaic", "Ethiopic", "Georgian", "Glagolitic", "Gothic", "Grantha", "Greek",
	"Gujarati", "Gunjala_Gondi", "Gurmukhi", "Han", "Hangul", "Hanifi_Rohingya", "Hanunoo",
	"Hatran", "Hebrew", "Hiragana", "Imperial_Aramaic", "Inherited", "Inscriptional_Pahlavi",
	"Inscriptional_Parthian", "Javanese", "Kaithi", "Kannada", "Katakana", "Kayah_Li",
	"Kharoshthi", "Khitan_Small_Script", "Khmer", "Khojki", "Khudawadi", "Lao", "Latin",
	"Lepcha", "Limbu", "Linear_A", "Linear_B", "Lisu", "Lycian", "Lydian", "Mahajani",
	"Makasar", "Malayalam", "Mandaic", "Manichaean", "Marchen", "Masaram_Gondi",
	"Medefaidrin", "Meetei_Mayek", "Mende_Kikakui", "Meroitic_Cursive",
	"Meroitic_Hieroglyphs", "Miao", "Modi", "Mongolian", "Mro", "Multani", "Myanmar",
	"Nabataean", "Nandinagari", "New_Tai_Lue", "Newa", "Nko", "Nushu",
	"Nyiakeng_Puachue_Hmong", "Ogham", "Ol_Chiki", "Old_Hungarian", "Old_Italic",
	"Old_North_Arabian", "Old_Permic", "Old_Persian", "Old_Sogdian", "Old_South_Arabian",
	"Old_Turkic", "Oriya", "Osage", "Osmanya", "Pahawh_Hmong", "Palmyrene", "Pau_Cin_Hau",
	"Phags_Pa", "Phoenician", "Psalter_Pahlavi", "Rejang", "Runic", "Samaritan",
	"Saurashtra", "Sharada", "Shavian", "Siddham", "SignWriting", "Sinhala", "Sogdian",
	"Sora_Sompeng", "Soyombo", "Sundanese", "Syloti_Nagri", "Syriac", "Tagalog", "Tagbanwa",
	"Tai_Le", "Tai_Tham", "Tai_Viet", "Takri", "Tamil", "Tangut", "Telugu", "Thaana", "Thai",
	"Tibetan", "Tifinagh", "Tirhuta", "Ugaritic", "Vai", "Wancho", "Warang_Citi", "Yezidi",
	"Yi", "Zanabazar_Square",
};

/* The classes Go adds case-folded characters to under (?i) (unicode.FoldCategory and
 * FoldScript); PCRE2 never folds \p, so these cannot mean the same there. */
static const char *const unicode_folded[] = {
	"L", "Ll", "Lt", "Lu", "M", "Mn", "Common", "Greek", "Inherited",
};

static bool
name_in(const char *name, size_t n, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(list[i]) == n && memcmp(list[i], name, n) == 0)
			return true;
	return false;
}

/* Go's checkUTF8 over [s, end): 0, or its error at the first bad sequence. */
static int
gx_check_utf8(struct gx *g, const char *s, const char *end)
{
	uint32_t r;

	while (s < end) {
		size_t n = util_utf8_decode(s, &r);

		if (n == 0)
			return gx_fail(g, "invalid UTF-8", s, strlen(s));
		s += n;
	}
	return 0;
}

/* \pN, \p{Name}, \PN, \P{Name}, \p{^Name} at s (s[0] == '\\', s[1] is p or P): added to c.
 * *rest is set past it. */
static int
gx_unicode_class(struct gx *g, const char *s, struct gclass *c, const char **rest)
{
	bool pos = s[1] == 'p';
	const char *t = s + 2, *name, *seq_end;
	size_t n;
	uint32_t r;
	int rc;

	if (*t == '\0') {
		/* Go: an empty name */
		return gx_fail(g, "invalid character class range", s, 2);
	} else if (*t != '{') {
		/* a one-letter name: \pL */
		if ((rc = gx_rune(g, &t, &r)) != 0)
			return rc;
		name = s + 2;
		n = (size_t)(t - name);
		seq_end = t;
	} else {
		const char *end = strchr(t, '}');

		if (end == NULL) {
			if ((rc = gx_check_utf8(g, s, s + strlen(s))) != 0)
				return rc;
			return gx_fail(g, "invalid character class range", s, strlen(s));
		}
		name = t + 1;
		n = (size_t)(end - name);
		seq_end = end + 1;
		if ((rc = gx_check_utf8(g, name, end)) != 0)
			return rc;
	}
	if (n > 0 && name[0] == '^') {
		pos = !pos;
		name++;
		n--;
	}
	if (!name_in(name, n, unicode_names, sizeof(unicode_names) / sizeof(unicode_names[0])))
		return gx_fail(g, "invalid character class range", s, (size_t)(seq_end - s));
	if ((g->flags & GX_FOLD) && name_in(name, n, unicode_folded,
	    sizeof(unicode_folded) / sizeof(unicode_folded[0]))) {
		snprintf(g->err, g->errlen, "unsupported: `%.*s` under (?i): Alertmanager (Go) adds "
		    "the case-folded characters to this class, PCRE2 does not; spell the class "
		    "out, or drop (?i) around it", (int)(seq_end - s), s);
		return -EINVAL;
	}
	strbuf_fmt(&c->props, "\\%c{%.*s}", pos ? 'p' : 'P', (int)n, name);
	if (c->props.oom)
		return -ENOMEM;
	*rest = seq_end;
	return 0;
}

/* Go's parseEscape: the rune of the escape at s (s[0] == '\\'); *rest past it. */
static int
gx_escape(struct gx *g, const char *s, uint32_t *out, const char **rest)
{
	const char *t = s + 1;
	uint32_t c, r = 0;
	int rc;

	if (*t == '\0')
		return gx_fail(g, "trailing backslash at end of expression", "", 0);
	if ((rc = gx_rune(g, &t, &c)) != 0)
		return rc;
	switch (c) {
	case '1': case '2': case '3': case '4': case '5': case '6': case '7':
		/* one digit alone would be a backreference: not supported */
		if (*t < '0' || *t > '7')
			break;
		/* fall through */
	case '0':
		r = c - '0';
		for (int i = 1; i < 3 && *t >= '0' && *t <= '7'; i++)
			r = r * 8 + (uint32_t)(*t++ - '0');
		*out = r;
		*rest = t;
		return 0;
	case 'x': {
		uint32_t x, y;
		int nhex = 0;

		if (*t == '\0')
			break;
		if ((rc = gx_rune(g, &t, &c)) != 0)
			return rc;
		if (c == '{') {
			for (;;) {
				int v;

				if (*t == '\0')
					goto bad;
				if ((rc = gx_rune(g, &t, &c)) != 0)
					return rc;
				if (c == '}')
					break;
				v = c <= '9' && c >= '0' ? (int)(c - '0') : c >= 'a' && c <= 'f' ?
				    (int)(c - 'a' + 10) : c >= 'A' && c <= 'F' ? (int)(c - 'A' + 10) : -1;
				if (v < 0)
					goto bad;
				r = r * 16 + (uint32_t)v;
				if (r > GX_MAX_RUNE)
					goto bad;
				nhex++;
			}
			if (nhex == 0)
				goto bad;
			if (r >= 0xd800 && r <= 0xdfff) {
				/* no text holds one; Go matches it against U+FFFD in some places
				 * (its literal prefix) and against nothing in others */
				snprintf(g->err, g->errlen, "unsupported: `%.*s` is a UTF-16 surrogate, "
				    "which no UTF-8 text contains", (int)(t - s), s);
				return -EINVAL;
			}
			*out = r;
			*rest = t;
			return 0;
		}
		x = c;
		y = 0x110000;
		if (*t != '\0' && (rc = gx_rune(g, &t, &y)) != 0)
			return rc;
#define HEXV(ch) ((ch) >= '0' && (ch) <= '9' ? (ch) - '0' : (ch) >= 'a' && (ch) <= 'f' ? \
    (ch) - 'a' + 10 : (ch) >= 'A' && (ch) <= 'F' ? (ch) - 'A' + 10 : 16)
		if (HEXV(x) > 15 || HEXV(y) > 15)
			break;
		*out = HEXV(x) * 16 + HEXV(y);
#undef HEXV
		*rest = t;
		return 0;
	}
	case 'a': *out = '\a'; *rest = t; return 0;
	case 'f': *out = '\f'; *rest = t; return 0;
	case 'n': *out = '\n'; *rest = t; return 0;
	case 'r': *out = '\r'; *rest = t; return 0;
	case 't': *out = '\t'; *rest = t; return 0;
	case 'v': *out = '\v'; *rest = t; return 0;
	default:
		/* escaped punctuation is itself; escaped letters and digits are refused */
		if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z'))) {
			*out = c;
			*rest = t;
			return 0;
		}
		break;
	}
bad:
	return gx_fail(g, "invalid escape sequence", s, (size_t)(t - s));
}

/* \d \D \s \S \w \W at s? Adds it to c and returns 1 (rest set), 0 when it is none, or a
 * negative errno. */
static int
gx_perl_class(const char *s, struct gclass *c, unsigned flags, const char **rest)
{
	const struct agroup *grp;
	int rc;

	if (s[0] != '\\')
		return 0;
	switch (s[1]) {
	case 'd': case 'D': grp = &perl_groups[0]; break;
	case 's': case 'S': grp = &perl_groups[1]; break;
	case 'w': case 'W': grp = &perl_groups[2]; break;
	default: return 0;
	}
	rc = gclass_add_group(c, grp, s[1] >= 'A' && s[1] <= 'Z', (flags & GX_FOLD) != 0);
	if (rc != 0)
		return rc;
	*rest = s + 2;
	return 1;
}

/* Clip the surrogates out of [lo, hi] and append the rest to b as class items. */
static void
emit_range(struct strbuf *b, uint32_t lo, uint32_t hi, bool *any)
{
	uint32_t parts[2][2];
	size_t n = 0;

	if (lo < 0xd800)
		parts[n][0] = lo, parts[n][1] = hi < 0xd800 ? hi : 0xd7ff, n++;
	if (hi > 0xdfff)
		parts[n][0] = lo > 0xdfff ? lo : 0xe000, parts[n][1] = hi, n++;
	for (size_t i = 0; i < n; i++) {
		strbuf_fmt(b, "\\x{%x}", (unsigned)parts[i][0]);
		if (parts[i][1] != parts[i][0])
			strbuf_fmt(b, "-\\x{%x}", (unsigned)parts[i][1]);
		*any = true;
	}
}

/* Class items of r (and of props) into b. Returns whether any item was written. */
static bool
emit_items(struct strbuf *b, const struct rngs *r, const struct strbuf *props)
{
	bool any = false;

	for (size_t i = 0; i < r->n; i++)
		emit_range(b, r->v[i][0], r->v[i][1], &any);
	if (props != NULL && props->len > 0) {
		strbuf_add(b, props->s, props->len);
		any = true;
	}
	return any;
}

/* Append the pieces (NULL-terminated) to b. */
static void
emit_strs(struct strbuf *b, const char *const *pieces)
{
	for (; *pieces != NULL; pieces++)
		strbuf_str(b, *pieces);
}

/* Write class c as one atom. Under (?i) the literal part goes into a caseless group of its
 * own and the rest (already folded) outside it. */
static int
emit_class(struct gx *g, struct gclass *c)
{
	struct strbuf lit = { 0 }, rest = { 0 };
	const char *neg = c->neg ? "^" : "";
	bool has_lit = false, has_rest;
	int rc = 0;

	if (!(g->flags & GX_FOLD)) {
		/* no folding: one class of everything */
		for (size_t i = 0; i < c->lit.n && rc == 0; i++)
			rc = rngs_add(&c->fix, c->lit.v[i][0], c->lit.v[i][1]);
		if (rc != 0)
			return rc;
		has_rest = emit_items(&rest, &c->fix, &c->props);
	} else {
		has_lit = emit_items(&lit, &c->lit, NULL);
		has_rest = emit_items(&rest, &c->fix, &c->props);
	}
	if (lit.oom || rest.oom)
		rc = -ENOMEM;
	else if (!has_lit && !has_rest)
		strbuf_str(&g->out, c->neg ? "(?s:.)" : "(?:(?!))");
	else if (!has_lit)
		emit_strs(&g->out, (const char *const[]){ "[", neg, rest.s, "]", NULL });
	else if (!has_rest)
		emit_strs(&g->out, (const char *const[]){ "(?i:[", neg, lit.s, "])", NULL });
	else if (!c->neg)
		emit_strs(&g->out, (const char *const[]){ "(?:(?i:[", lit.s, "])|[", rest.s, "])",
		    NULL });
	else
		emit_strs(&g->out, (const char *const[]){ "(?:(?!(?i:[", lit.s, "]))[^", rest.s,
		    "])", NULL });
	free(lit.s);
	free(rest.s);
	return rc;
}

/* Go's parseClassChar: a rune or an escape inside [...]. */
static int
gx_class_char(struct gx *g, const char *s, const char *whole_class, uint32_t *r,
    const char **rest)
{
	if (*s == '\0')
		return gx_fail(g, "missing closing ]", whole_class, strlen(whole_class));
	if (*s == '\\')
		return gx_escape(g, s, r, rest);
	*rest = s;
	return gx_rune(g, rest, r);
}

/* [...] at g->p: parsed as Go parses it, written as one atom. */
static int
gx_class(struct gx *g)
{
	const char *s = g->p, *t = s + 1;
	struct gclass c = { 0 };
	bool first = true;
	int rc = 0;

	if (*t == '^') {
		c.neg = true;
		t++;
	}
	while (rc == 0 && (*t != ']' || first)) {
		uint32_t lo, hi;
		const char *rng = t;

		first = false;
		/* POSIX [:alnum:] */
		if (t[0] == '[' && t[1] == ':' && t[2] != '\0') {
			const char *end = strstr(t + 2, ":]");

			if (end != NULL) {
				const char *name = t + 2;
				size_t n = (size_t)(end - name);
				bool neg = n > 0 && name[0] == '^', found = false;

				if (neg) {
					name++;
					n--;
				}
				for (size_t i = 0; i < sizeof(posix_groups) / sizeof(posix_groups[0]); i++) {
					if (strlen(posix_groups[i].name) == n &&
					    memcmp(posix_groups[i].name, name, n) == 0) {
						rc = gclass_add_group(&c, &posix_groups[i], neg,
						    (g->flags & GX_FOLD) != 0);
						found = true;
						break;
					}
				}
				if (!found)
					rc = gx_fail(g, "invalid character class range", t,
					    (size_t)(end + 2 - t));
				t = end + 2;
				continue;
			}
		}
		if (t[0] == '\\' && (t[1] == 'p' || t[1] == 'P')) {
			rc = gx_unicode_class(g, t, &c, &t);
			continue;
		}
		rc = gx_perl_class(t, &c, g->flags, &t);
		if (rc != 0) {
			rc = rc > 0 ? 0 : rc;
			continue;
		}
		if ((rc = gx_class_char(g, t, s, &lo, &t)) != 0)
			break;
		hi = lo;
		/* [a-] is a and -: a range needs something other than ] after the - */
		if (t[0] == '-' && t[1] != '\0' && t[1] != ']') {
			t++;
			if ((rc = gx_class_char(g, t, s, &hi, &t)) != 0)
				break;
			if (hi < lo) {
				rc = gx_fail(g, "invalid character class range", rng, (size_t)(t - rng));
				break;
			}
		}
		rc = rngs_add(&c.lit, lo, hi);
	}
	if (rc == 0) {
		g->p = t + 1;
		rc = emit_class(g, &c);
	}
	gclass_clear(&c);
	return rc;
}

/* --- groups, quantifiers, the parse ------------------------------------------------------ */

static int gx_alt(struct gx *g, long *fmax);

/* Go's parseInt for repeat counts: digits without a leading zero; -1 when too big. */
static bool
gx_int(const char **pp, long *n)
{
	const char *s = *pp;

	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return false;
	*n = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		if (*n >= 0)
			*n = *n >= 100000000 ? -1 : *n * 10 + (*s - '0');
	*pp = s;
	return true;
}

/* {n}, {n,}, {n,m} at s? Sets min, max (-1 = none) and rest; false when it is not one
 * (then { is a literal). */
static bool
gx_repeat_counts(const char *s, long *min, long *max, const char **rest)
{
	s++;
	if (!gx_int(&s, min) || *s == '\0')
		return false;
	if (*s != ',') {
		*max = *min;
	} else {
		s++;
		if (*s == '\0')
			return false;
		if (*s == '}') {
			*max = -1;
		} else {
			if (!gx_int(&s, max))
				return false;
			if (*max < 0)
				*min = -1;
		}
	}
	if (*s != '}')
		return false;
	*rest = s + 1;
	return true;
}

/* Apply the quantifier starting at op (min, max; kind '*', '+', '?' or '{') to the last
 * atom. after is past the quantifier; a following ? makes it lazy. */
static int
gx_quantify(struct gx *g, struct atom *last, const char **lastrep, const char *op,
    const char *after, char kind, long min, long max)
{
	bool lazy = (g->flags & GX_NONGREEDY) != 0;

	if (*after == '?') {
		after++;
		lazy = !lazy;
	}
	if (*lastrep != NULL)
		return gx_fail(g, "invalid nested repetition operator", *lastrep,
		    (size_t)(after - *lastrep));
	if (last->start < 0)
		return gx_fail(g, "missing argument to repetition operator", op,
		    (size_t)(after - op));
	if (kind == '{') {
		long m = max < 0 ? min : max;

		/* Go's repeatIsValid: nested counts multiply to at most 1000 */
		if ((min >= 2 || max >= 2) && m > 0 && m * last->f > GX_MAX_REPEAT)
			return gx_fail(g, "invalid repeat count", op, (size_t)(after - op));
		last->f = m == 0 ? 1 : m * last->f;
	}
	if (last->quant) {
		/* a{2}(?i)* and a*\Q\E*: the quantifier applies to the quantified atom */
		char *a;

		if (g->out.oom)
			return -ENOMEM;
		a = strdup(g->out.s + last->start);
		if (a == NULL)
			return -ENOMEM;
		g->out.len = (size_t)last->start;
		g->out.s[g->out.len] = '\0';
		strbuf_str(&g->out, "(?:");
		strbuf_str(&g->out, a);
		strbuf_str(&g->out, ")");
		free(a);
	}
	if (kind != '{')
		strbuf_add(&g->out, &kind, 1);
	else if (max == min)
		strbuf_fmt(&g->out, "{%ld}", min);
	else if (max < 0)
		strbuf_fmt(&g->out, "{%ld,}", min);
	else
		strbuf_fmt(&g->out, "{%ld,%ld}", min, max);
	if (lazy)
		strbuf_add(&g->out, "?", 1);
	last->quant = true;
	*lastrep = op;
	g->p = after;
	return 0;
}

/* (?P<name>, (?flags), (?flags: at g->p. *group is set when a group opens (its flags are
 * then the new ones; *saved holds the old). */
static int
gx_perl_flags(struct gx *g, bool *group, unsigned *saved)
{
	const char *s = g->p, *t = s + 2;
	unsigned flags = g->flags;
	bool neg = false, saw = false;
	uint32_t c;
	int rc;

	*group = false;
	if (strlen(s) > 4 && s[2] == 'P' && s[3] == '<') {
		const char *end = strchr(s, '>');

		if (end == NULL) {
			if ((rc = gx_check_utf8(g, s, s + strlen(s))) != 0)
				return rc;
			return gx_fail(g, "invalid named capture", s, strlen(s));
		}
		if ((rc = gx_check_utf8(g, s + 4, end)) != 0)
			return rc;
		for (const char *q = s + 4; q <= end; q++)
			if (q == end ? q == s + 4 : !((*q >= '0' && *q <= '9') ||
			    (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || *q == '_'))
				return gx_fail(g, "invalid named capture", s, (size_t)(end + 1 - s));
		*group = true;
		*saved = g->flags;
		g->p = end + 1;
		return 0;
	}
	while (*t != '\0') {
		if ((rc = gx_rune(g, &t, &c)) != 0)
			return rc;
		switch (c) {
		case 'i':
			flags = neg ? flags & ~GX_FOLD : flags | GX_FOLD;
			saw = true;
			continue;
		case 'm':
			flags = neg ? flags | GX_ONELINE : flags & ~GX_ONELINE;
			saw = true;
			continue;
		case 's':
			flags = neg ? flags & ~GX_DOTNL : flags | GX_DOTNL;
			saw = true;
			continue;
		case 'U':
			flags = neg ? flags & ~GX_NONGREEDY : flags | GX_NONGREEDY;
			saw = true;
			continue;
		case '-':
			if (neg)
				break;
			neg = true;
			saw = false;
			continue;
		case ':':
		case ')':
			if (neg && !saw)
				break;
			if (c == ':') {
				*group = true;
				*saved = g->flags;
			}
			g->flags = flags;
			g->p = t;
			return 0;
		default:
			break;
		}
		break;
	}
	return gx_fail(g, "invalid or unsupported Perl syntax", s, (size_t)(t - s));
}

/* A group at g->p: ( ... ), (?: ... ), (?P<n> ... ), (?flags: ... ), or a flag setting
 * (?flags) that is no atom (*atom false). *f is the group's repeat product. */
static int
gx_group(struct gx *g, long *f, bool *atom)
{
	unsigned saved = g->flags;
	bool group = true;
	int rc;

	if (g->p[1] == '?') {
		if ((rc = gx_perl_flags(g, &group, &saved)) != 0)
			return rc;
		if (!group) {
			*atom = false;
			return 0;
		}
	} else {
		g->p++;
	}
	if (++g->depth > GX_MAX_DEPTH)
		return gx_fail(g, "expression nests too deeply", g->whole, strlen(g->whole));
	strbuf_str(&g->out, "(?:");
	if ((rc = gx_alt(g, f)) != 0)
		return rc;
	if (*g->p != ')')
		return gx_fail(g, "missing closing )", g->whole, strlen(g->whole));
	g->p++;
	strbuf_str(&g->out, ")");
	g->flags = saved;
	g->depth--;
	return 0;
}

/* One alternation (until ) or the end): branches of atoms. *fmax is the largest repeat
 * product inside it. */
static int
gx_alt(struct gx *g, long *fmax)
{
	struct atom last = { -1, false, 1 };
	const char *lastrep = NULL;
	int rc = 0;

	*fmax = 1;
	while (rc == 0 && *g->p != '\0' && *g->p != ')') {
		long start = (long)g->out.len, f = 1;
		const char *op = g->p, *rest;
		bool atom = true;
		uint32_t r;

		switch (*g->p) {
		case '|':
			strbuf_add(&g->out, "|", 1);
			g->p++;
			last.start = -1;
			last.quant = false;
			atom = false;
			break;
		case '(':
			rc = gx_group(g, &f, &atom);
			break;
		case '^':
			strbuf_str(&g->out, g->flags & GX_ONELINE ? "(?:\\A)" : "(?:\\A|(?<=\\n))");
			g->p++;
			break;
		case '$':
			strbuf_str(&g->out, g->flags & GX_ONELINE ? "(?:\\z)" : "(?:(?=\\n|\\z))");
			g->p++;
			break;
		case '.':
			strbuf_str(&g->out, g->flags & GX_DOTNL ? "(?s:.)" : "[^\\n]");
			g->p++;
			break;
		case '[':
			rc = gx_class(g);
			break;
		case '*':
		case '+':
		case '?':
			rc = gx_quantify(g, &last, &lastrep, op, op + 1, *op, 0, 0);
			if (rc == 0)
				*fmax = last.f > *fmax ? last.f : *fmax;
			continue;
		case '{': {
			long min, max;

			if (!gx_repeat_counts(g->p, &min, &max, &rest)) {
				emit_literal(g, '{');
				g->p++;
				break;
			}
			if (min < 0 || min > GX_MAX_REPEAT || max > GX_MAX_REPEAT ||
			    (max >= 0 && min > max)) {
				rc = gx_fail(g, "invalid repeat count", op, (size_t)(rest - op));
				break;
			}
			rc = gx_quantify(g, &last, &lastrep, op, rest, '{', min, max);
			if (rc == 0)
				*fmax = last.f > *fmax ? last.f : *fmax;
			continue;
		}
		case '\\':
			switch (g->p[1]) {
			case 'A':
			case 'b':
			case 'B':
			case 'z':
				strbuf_fmt(&g->out, "(?:\\%c)", g->p[1]);
				g->p += 2;
				break;
			case 'C':
				rc = gx_fail(g, "invalid escape sequence", g->p, 2);
				break;
			case 'Q': {
				/* \Q...\E: literals up to \E or the end */
				const char *lit = g->p + 2, *end = strstr(lit, "\\E");
				const char *stop = end ? end : lit + strlen(lit);

				atom = false;
				while (rc == 0 && lit < stop) {
					start = (long)g->out.len;
					if ((rc = gx_rune(g, &lit, &r)) == 0)
						emit_literal(g, r);
					atom = true;
				}
				g->p = end ? end + 2 : stop;
				break;
			}
			case 'p':
			case 'P': {
				struct gclass c = { 0 };

				rc = gx_unicode_class(g, g->p, &c, &rest);
				if (rc == 0) {
					g->p = rest;
					rc = emit_class(g, &c);
				}
				gclass_clear(&c);
				break;
			}
			default: {
				struct gclass c = { 0 };

				rc = gx_perl_class(g->p, &c, g->flags, &rest);
				if (rc > 0) {
					g->p = rest;
					rc = emit_class(g, &c);
				} else if (rc == 0 && (rc = gx_escape(g, g->p, &r, &rest)) == 0) {
					g->p = rest;
					emit_literal(g, r);
				}
				gclass_clear(&c);
				break;
			}
			}
			break;
		default:
			if ((rc = gx_rune(g, &g->p, &r)) == 0)
				emit_literal(g, r);
			break;
		}
		lastrep = NULL;
		if (rc == 0 && atom) {
			last.start = start;
			last.quant = false;
			last.f = f;
			*fmax = f > *fmax ? f : *fmax;
		}
	}
	if (rc == 0 && g->out.oom)
		rc = -ENOMEM;
	return rc;
}

int
goregex_to_pcre2(const char *pattern, char **out, char *err, size_t errlen)
{
	struct gx g = { .whole = pattern, .p = pattern, .flags = GX_ONELINE, .err = err,
	    .errlen = errlen };
	long f;
	int rc;

	*out = NULL;
	rc = gx_alt(&g, &f);
	if (rc == 0 && *g.p == ')')
		rc = gx_fail(&g, "unexpected )", pattern, strlen(pattern));
	if (rc != 0) {
		free(g.out.s);
		return rc;
	}
	return strbuf_finish(&g.out, out);
}
