/* matcher.c - Alertmanager-style matchers, regexes through PCRE2. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "matcher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcre2.h>

#define MATCHER_MATCH_LIMIT 100000   /* backtracking steps per match */
#define MATCHER_DEPTH_LIMIT 1000     /* nested backtracking depth */

static const char *const plain_fields[] = {
	"id", "source", "type", "status", "severity", "cluster", "namespace", "app", "revision",
	"repo_url", "health", "sync", "summary", "message", "fingerprint", "resource_health",
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

/* The value after the operator: bare (trimmed) or double-quoted with escapes. Returns a new
 * string, or NULL with err set (or on allocation failure, errno ENOMEM). */
static char *
parse_value(const char *p, char *err, size_t errlen)
{
	size_t n = strlen(p);
	char *out, *o;

	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	out = malloc(n + 1);
	if (out == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (n == 0 || p[0] != '"') {
		memcpy(out, p, n);
		out[n] = '\0';
		return out;
	}
	o = out;
	for (size_t i = 1; i < n; i++) {
		if (p[i] == '"') {
			if (i != n - 1)
				break;
			*o = '\0';
			return out;
		}
		if (p[i] == '\\' && i + 1 < n) {
			i++;
			*o++ = p[i] == 'n' ? '\n' : p[i] == 't' ? '\t' : p[i];
		} else {
			*o++ = p[i];
		}
	}
	free(out);
	snprintf(err, errlen, "unterminated or misplaced quote in the value");
	errno = EINVAL;
	return NULL;
}

int
matcher_parse(const char *text, struct matcher *m, char *err, size_t errlen)
{
	const char *p = text, *start;
	char *anchored = NULL;
	int rc = -EINVAL;

	memset(m, 0, sizeof(*m));
	while (*p == ' ' || *p == '\t')
		p++;
	start = p;
	while (field_char(*p))
		p++;
	if (p == start) {
		snprintf(err, errlen, "'%s': expected `field op value` (op: =, !=, =~, !~)", text);
		goto out;
	}
	m->field = strndup(start, (size_t)(p - start));
	m->text = strdup(text);
	if (m->field == NULL || m->text == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (!matcher_field_known(m->field)) {
		snprintf(err, errlen, "'%s': unknown field '%s' (event fields, labels.X, "
		    "annotations.X or payload.a.b)", text, m->field);
		goto out;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "=~", 2) == 0) {
		m->op = MATCHER_RE;
		p += 2;
	} else if (strncmp(p, "!~", 2) == 0) {
		m->op = MATCHER_NRE;
		p += 2;
	} else if (strncmp(p, "!=", 2) == 0) {
		m->op = MATCHER_NE;
		p += 2;
	} else if (*p == '=') {
		m->op = MATCHER_EQ;
		p++;
	} else {
		snprintf(err, errlen, "'%s': expected an operator (=, !=, =~, !~) after '%s'", text,
		    m->field);
		goto out;
	}
	m->value = parse_value(p, err, errlen);
	if (m->value == NULL) {
		rc = errno == ENOMEM ? -ENOMEM : -EINVAL;
		if (rc == -EINVAL) {
			char inner[256];

			snprintf(inner, sizeof(inner), "%s", err);
			snprintf(err, errlen, "'%s': %s", text, inner);
		}
		goto out;
	}
	if (m->op == MATCHER_RE || m->op == MATCHER_NRE) {
		size_t alen = strlen(m->value) + 8;
		int code;
		PCRE2_SIZE off;

		anchored = malloc(alen);
		if (anchored == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		/* anchored like Alertmanager's: the whole value must match */
		snprintf(anchored, alen, "^(?:%s)$", m->value);
		m->re = pcre2_compile((PCRE2_SPTR)anchored, PCRE2_ZERO_TERMINATED,
		    PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &code, &off, NULL);
		if (m->re == NULL) {
			PCRE2_UCHAR msg[160];

			pcre2_get_error_message(code, msg, sizeof(msg));
			snprintf(err, errlen, "'%s': bad regular expression at offset %zu: %s", text,
			    off >= 4 ? (size_t)off - 4 : 0, (const char *)msg);
			goto out;
		}
	}
	rc = 0;
out:
	free(anchored);
	if (rc != 0)
		matcher_clear(m);
	return rc;
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
