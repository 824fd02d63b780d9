/* matcher.c - Alertmanager 0.25's matchers (pkg/labels/parse.go), regexes through PCRE2. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "matcher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcre2.h>

#include "goregex.h"
#include "util.h"

#define MATCHER_MATCH_LIMIT 100000   /* backtracking steps per match */
#define MATCHER_DEPTH_LIMIT 1000     /* nested backtracking depth */

static const char *const plain_fields[] = {
	"id", "source", "type", "status", "severity", "cluster", "namespace", "app", "revision",
	"repo_url", "health", "sync", "summary", "message", "fingerprint", "resource_health",
	"incident_key",
};

bool
matcher_field_known(const char *name)
{
	static const char *const prefixes[] = { "labels.", "annotations.", "payload." };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);

		if (strncmp(name, prefixes[i], n) == 0)
			return name[n] != '\0';
	}
	for (size_t i = 0; i < sizeof(plain_fields) / sizeof(plain_fields[0]); i++)
		if (strcmp(name, plain_fields[i]) == 0)
			return true;
	return false;
}

static bool
field_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '.' || c == '-' || c == '/';
}

/* Go's \s, what Alertmanager's matcher regex skips around the tokens. */
static bool
go_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Alertmanager's unquoting of the value raw (n bytes): a leading " asks for a closing "
 * as the last byte; \\, \" and \n are escapes; any other backslash stays, as does one at
 * the very end; an unescaped " elsewhere is an error. Returns 0 and a new string in *out,
 * -EINVAL with err, or -ENOMEM. */
static int
unquote_value(const char *raw, size_t n, char **out, char *err, size_t errlen)
{
	bool quoted = n > 0 && raw[0] == '"', escaped = false;
	char *v, *o;

	*out = NULL;
	if (quoted) {
		raw++;
		n--;
	}
	for (size_t i = 0; i < n; ) {
		uint32_t cp;
		size_t k = util_utf8_decode(raw + i, &cp);

		if (k == 0 || raw[i] == '\0') {
			snprintf(err, errlen, "the value is not valid UTF-8");
			return -EINVAL;
		}
		i += k;
	}
	o = v = malloc(n + 1);
	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char c = raw[i];

		if (escaped) {
			escaped = false;
			if (c == 'n') {
				*o++ = '\n';
			} else if (c == '"' || c == '\\') {
				*o++ = c;
			} else {
				*o++ = '\\';      /* not an escape: the backslash stays */
				*o++ = c;
			}
			continue;
		}
		if (c == '\\') {
			if (i + 1 < n)
				escaped = true;
			else
				*o++ = '\\';      /* a backslash as the last byte is itself */
			continue;
		}
		if (c == '"') {
			if (!quoted || i + 1 < n)
				goto bad_quote;
			quoted = false;       /* the closing quote */
			continue;
		}
		*o++ = c;
	}
	if (quoted)
		goto bad_quote;
	*o = '\0';
	*out = v;
	return 0;
bad_quote:
	free(v);
	snprintf(err, errlen, "unterminated or unescaped double quote in the value (a quoted "
	    "value is \"...\" with \\\" for a quote inside it; a bare value has no quotes)");
	return -EINVAL;
}

/* Compile the value of m as Alertmanager does: Go's regexp "^(?:VALUE)$", here rewritten
 * for PCRE2 (goregex.h) and compiled with the match limits of regex_match(). */
static int
compile_regex(struct matcher *m, char *err, size_t errlen)
{
	pcre2_compile_context *cc = NULL;
	char *go = NULL, *pcre = NULL, gerr[400];
	int code, rc;
	PCRE2_SIZE off;

	go = util_format_new("^(?:%s)$", m->value);
	cc = pcre2_compile_context_create(NULL);
	if (go == NULL || cc == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = goregex_to_pcre2(go, &pcre, gerr, sizeof(gerr));
	if (rc == -EINVAL)
		snprintf(err, errlen, "bad regular expression: %s", gerr);
	if (rc != 0)
		goto out;
	/* each Go group is one or two PCRE2 groups; goregex caps Go's nesting at 1000 */
	pcre2_set_parens_nest_limit(cc, 2 * 1000 + 16);
	m->re = pcre2_compile((PCRE2_SPTR)pcre, PCRE2_ZERO_TERMINATED, PCRE2_UTF |
	    PCRE2_NEVER_BACKSLASH_C, &code, &off, cc);
	if (m->re == NULL) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen, "bad regular expression: PCRE2 cannot compile it (%s)",
		    (const char *)msg);
		rc = code == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -EINVAL;
	}
out:
	free(go);
	free(pcre);
	pcre2_compile_context_free(cc);
	return rc;
}

int
matcher_parse(const char *text, struct matcher *m, char *err, size_t errlen)
{
	const char *p = text, *start, *end;
	char inner[480];
	int rc = -EINVAL;

	memset(m, 0, sizeof(*m));
	inner[0] = '\0';
	/* Alertmanager: ^\s*NAME\s*(=~|=|!=|!~)\s*((?s).*?)\s*$ */
	while (go_space(*p))
		p++;
	start = p;
	while (field_char(*p))
		p++;
	if (p == start) {
		snprintf(inner, sizeof(inner), "bad matcher format: expected `field op value` "
		    "(op: =, !=, =~, !~)");
		goto out;
	}
	m->field = strndup(start, (size_t)(p - start));
	for (end = text + strlen(text); end > text && go_space(end[-1]); end--)
		;
	m->text = strndup(start, (size_t)(end - start));
	if (m->field == NULL || m->text == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (go_space(*p))
		p++;
	if (strncmp(p, "=~", 2) == 0) {
		m->op = MATCHER_RE;
		p += 2;
	} else if (*p == '=') {
		m->op = MATCHER_EQ;
		p++;
	} else if (strncmp(p, "!=", 2) == 0) {
		m->op = MATCHER_NE;
		p += 2;
	} else if (strncmp(p, "!~", 2) == 0) {
		m->op = MATCHER_NRE;
		p += 2;
	} else {
		snprintf(inner, sizeof(inner), "bad matcher format: expected an operator (=, !=, "
		    "=~, !~) after '%s'", m->field);
		goto out;
	}
	if (!matcher_field_known(m->field)) {
		snprintf(inner, sizeof(inner), "unknown field '%s' (event fields, labels.X, "
		    "annotations.X or payload.a.b)", m->field);
		goto out;
	}
	while (go_space(*p))
		p++;
	if (end < p)
		end = p;
	rc = unquote_value(p, (size_t)(end - p), &m->value, inner, sizeof(inner));
	if (rc == 0 && (m->op == MATCHER_RE || m->op == MATCHER_NRE))
		rc = compile_regex(m, inner, sizeof(inner));
out:
	if (rc == -EINVAL)
		snprintf(err, errlen, "'%s': %s", text, inner);
	if (rc != 0)
		matcher_clear(m);
	return rc;
}

/* Go's unicode.IsSpace at s: the length of the white space character there, or 0. */
static size_t
unicode_space(const char *s)
{
	uint32_t c;
	size_t n = util_utf8_decode(s, &c);

	if (n == 0 || *s == '\0')
		return 0;
	if ((c >= '\t' && c <= '\r') || c == ' ' || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	    c == 0x205f || c == 0x3000)
		return n;
	return 0;
}

/* Go's strings.TrimSpace of the n bytes at *s: adjusts *s and returns the new length. */
static size_t
trim_unicode_space(const char **s, size_t n)
{
	const char *b = *s, *e = *s + n;
	size_t k;

	while (b < e && (k = unicode_space(b)) > 0)
		b += k;
	while (e > b) {
		const char *q = e - 1;

		while (q > b && ((unsigned char)*q & 0xc0) == 0x80)
			q--;
		if (unicode_space(q) != (size_t)(e - q))
			break;
		e = q;
	}
	*s = b;
	return (size_t)(e - b);
}

int
matcher_parse_list(const char *text, struct matcher **out, size_t *n, char *err,
    size_t errlen)
{
	size_t len = strlen(text), ntok = 0, cap = 0;
	const char *s = text, *tok;
	struct matcher *ms = NULL;
	bool quoted = false, escaped = false;
	int rc = 0;

	*out = NULL;
	*n = 0;
	/* an optional { at the start and } at the end */
	if (len > 0 && s[0] == '{') {
		s++;
		len--;
	}
	if (len > 0 && s[len - 1] == '}')
		len--;
	tok = s;
	for (size_t i = 0; i <= len && rc == 0; i++) {
		const char *t = tok;
		size_t tlen;
		char *one;

		if (i < len) {
			char c = s[i];

			/* split at commas outside quotes; \" does not open or close a quote */
			if (c == '"') {
				if (!escaped)
					quoted = !quoted;
				else
					escaped = false;
			} else if (c == '\\') {
				escaped = !escaped;
			} else if (c != ',') {
				escaped = false;
			}
			if (c != ',' || quoted)
				continue;
		}
		tlen = (size_t)(s + i - tok);
		tok = s + i + 1;
		if (i == len && (tlen = trim_unicode_space(&t, tlen)) == 0)
			break;           /* nothing (or only space) after the last comma */
		if (ntok == cap) {
			struct matcher *nm = realloc(ms, (cap = cap ? cap * 2 : 4) * sizeof(*nm));

			if (nm == NULL) {
				rc = -ENOMEM;
				break;
			}
			ms = nm;
		}
		one = strndup(t, tlen);
		if (one == NULL) {
			rc = -ENOMEM;
			break;
		}
		rc = matcher_parse(one, &ms[ntok], err, errlen);
		free(one);
		if (rc == 0)
			ntok++;
	}
	if (rc == -EINVAL && (ntok > 0 || tok < s + len)) {
		char inner[512];

		snprintf(inner, sizeof(inner), "%s", err);
		snprintf(err, errlen, "in '%s' (a comma outside quotes separates matchers): %s",
		    text, inner);
	}
	if (rc != 0) {
		for (size_t i = 0; i < ntok; i++)
			matcher_clear(&ms[i]);
		free(ms);
		return rc;
	}
	*out = ms;
	*n = ntok;
	return 0;
}

void
matcher_clear(struct matcher *m)
{
	if (m == NULL)
		return;
	free(m->text);
	free(m->field);
	free(m->value);
	pcre2_code_free(m->re);
	memset(m, 0, sizeof(*m));
}

/* Run the regex; 1 match, 0 no match, -ENOMEM, -E2BIG when a limit was hit. */
static int
regex_match(const struct matcher *m, const char *s)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(m->re, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	int rc;

	if (md == NULL || mc == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	pcre2_set_match_limit(mc, MATCHER_MATCH_LIMIT);
	pcre2_set_depth_limit(mc, MATCHER_DEPTH_LIMIT);
	rc = pcre2_match(m->re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, mc);
	if (rc >= 0)
		rc = 1;
	else if (rc == PCRE2_ERROR_NOMATCH)
		rc = 0;
	else if (rc == PCRE2_ERROR_NOMEMORY)
		rc = -ENOMEM;
	else
		rc = -E2BIG;   /* match/depth limit, or text that is not UTF-8 */
out:
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	return rc;
}

int
matcher_eval(const struct matcher *m, const struct ievent *ev, char *why, size_t whylen)
{
	char *v = NULL;
	const char *s;
	int rc, hit;

	rc = ievent_get_field(ev, m->field, &v);
	if (rc == -ENOMEM)
		return -ENOMEM;
	s = v ? v : "";
	switch (m->op) {
	case MATCHER_EQ:
		hit = strcmp(s, m->value) == 0;
		break;
	case MATCHER_NE:
		hit = strcmp(s, m->value) != 0;
		break;
	default:
		hit = regex_match(m, s);
		if (hit == -ENOMEM) {
			free(v);
			return -ENOMEM;
		}
		if (hit == -E2BIG) {
			if (why)
				snprintf(why, whylen, "%s: regex gave up on %.80s (match limit or "
				    "invalid UTF-8); counted as no match", m->field, s);
			free(v);
			return 0;
		}
		if (m->op == MATCHER_NRE)
			hit = !hit;
		break;
	}
	if (why != NULL && rc == -ENOENT)
		snprintf(why, whylen, "%s is absent", m->field);
	else if (why != NULL)
		snprintf(why, whylen, "%s=\"%.120s\"", m->field, s);
	free(v);
	return hit;
}
