/* command_parse.c - the `/incidentd` command line (command.h); no ledger, no I/O. */
#include "command.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *const verb_names[] = {
	[COMMAND_ACK] = "ack",
	[COMMAND_SILENCE] = "silence",
	[COMMAND_RESOLVE] = "resolve",
	[COMMAND_DOCTOR] = "doctor",
	[COMMAND_EXPLAIN] = "explain",
};

#define N_VERBS (sizeof(verb_names) / sizeof(verb_names[0]))

const char *
command_verb_name(enum command_verb verb)
{
	return verb > COMMAND_NONE && (size_t)verb < N_VERBS ? verb_names[verb] : NULL;
}

enum command_verb
command_verb_parse(const char *name)
{
	for (size_t i = 1; name != NULL && i < N_VERBS; i++)
		if (strcmp(name, verb_names[i]) == 0)
			return (enum command_verb)i;
	return COMMAND_NONE;
}

/* A word of at most max bytes at p into out (NUL-terminated); returns its length. */
static size_t
take_word(const char *p, size_t linelen, char *out, size_t max)
{
	size_t n = 0;

	while (n < linelen && !isspace((unsigned char)p[n]))
		n++;
	snprintf(out, max, "%.*s", (int)n, p);
	return n;
}

/* The reason: the rest of the line, control characters as spaces, at most max - 1 bytes
 * (cut on a UTF-8 boundary), without white space around it. */
static void
take_reason(const char *p, size_t n, char *out, size_t max)
{
	size_t o = 0;

	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	for (size_t i = 0; i < n && o + 1 < max; i++)
		out[o++] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? ' ' : p[i];
	out[o] = '\0';
	util_trim_utf8(out);
	o = strlen(out);
	while (o > 0 && isspace((unsigned char)out[o - 1]))
		out[--o] = '\0';
}

/* A verb as shown in an error: only [a-z0-9_-], at most 20 bytes, else "that". */
static const char *
shown_verb(const char *w, char *buf, size_t len)
{
	size_t n = strlen(w);

	if (n == 0 || n > 20)
		return "that";
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)w[i]) || isdigit((unsigned char)w[i]) || w[i] == '_' ||
		    w[i] == '-'))
			return "that";
	snprintf(buf, len, "`%s`", w);
	return buf;
}

/* Parse one command line (after "/incidentd"). */
static int
parse_line(const char *p, size_t n, struct command *c, char *err, size_t errlen)
{
	char word[64], shown[32];
	size_t w;

	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	w = take_word(p, n, word, sizeof(word));
	if (w == 0) {
		snprintf(err, errlen, "a command is missing; accepted: %s", COMMAND_USAGE);
		return -EINVAL;
	}
	c->verb = w < sizeof(word) ? command_verb_parse(word) : COMMAND_NONE;
	if (c->verb == COMMAND_NONE) {
		snprintf(err, errlen, "%s is not a command; accepted: %s",
		    shown_verb(word, shown, sizeof(shown)), COMMAND_USAGE);
		return -EINVAL;
	}
	p += w;
	n -= w;
	if (c->verb == COMMAND_SILENCE) {
		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		w = take_word(p, n, word, sizeof(word));
		if (w == 0 || w >= sizeof(c->duration) ||
		    util_parse_duration(word, &c->duration_ms) != 0 ||
		    c->duration_ms < COMMAND_SILENCE_MIN_MS || c->duration_ms > COMMAND_SILENCE_MAX_MS) {
			snprintf(err, errlen, "`/incidentd silence` needs a duration from 1m to 30d "
			    "first (e.g. `/incidentd silence 2h deploy freeze`); accepted: %s",
			    COMMAND_USAGE);
			c->verb = COMMAND_NONE;
			return -EINVAL;
		}
		snprintf(c->duration, sizeof(c->duration), "%.*s", (int)w, word);
		p += w;
		n -= w;
	}
	take_reason(p, n, c->reason, sizeof(c->reason));
	if ((c->verb == COMMAND_DOCTOR || c->verb == COMMAND_EXPLAIN) && c->reason[0] != '\0') {
		snprintf(err, errlen, "`/incidentd %s` takes no arguments; accepted: %s",
		    verb_names[c->verb], COMMAND_USAGE);
		c->verb = COMMAND_NONE;
		c->reason[0] = '\0';
		return -EINVAL;
	}
	return 1;
}

int
command_find(const char *text, struct command *c, char *err, size_t errlen)
{
	static const char word[] = "/incidentd";
	const size_t wl = sizeof(word) - 1;
	bool fenced = false;
	const char *p = text;

	memset(c, 0, sizeof(*c));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	while (p != NULL && *p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *q = p;
		size_t m = n;

		if (m > 0 && q[m - 1] == '\r')
			m--;
		while (m > 0 && (*q == ' ' || *q == '\t')) {
			q++;
			m--;
		}
		if (m >= 3 && (strncmp(q, "```", 3) == 0 || strncmp(q, "~~~", 3) == 0))
			fenced = !fenced;
		else if (!fenced && m >= wl && strncmp(q, word, wl) == 0 &&
		    (m == wl || isspace((unsigned char)q[wl])))
			return parse_line(q + wl, m - wl, c, err, errlen);
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}
