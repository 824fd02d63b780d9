/* matcher.h - Alertmanager's matchers over event fields, parsed exactly as Alertmanager
 * 0.25 parses them (pkg/labels/parse.go): `field op value` with op one of =, !=, =~, !~,
 * white space ([ \t\n\f\r]) around each token ignored; the value bare or double-quoted,
 * where \\, \" and \n are escapes and any other backslash stays as it is (so
 * `cluster =~ "prod\.west"` is the regex prod\.west). Fields are the event's ("cluster",
 * "status", ...), "labels.X", "annotations.X" or "payload.a.b"; an absent field reads as ""
 * (as an absent label does in Alertmanager). Regular expressions have Go's RE2 syntax and
 * meaning, anchored as Alertmanager anchors them ("^(?:VALUE)$"), rewritten for PCRE2
 * (goregex.h) and run with match and depth limits, so a hostile value cannot stall the
 * loop. */
#ifndef INCIDENTD_MATCHER_H
#define INCIDENTD_MATCHER_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

enum matcher_op { MATCHER_EQ, MATCHER_NE, MATCHER_RE, MATCHER_NRE };

struct matcher {
	char *text;              /* as written, for traces */
	char *field;
	enum matcher_op op;
	char *value;             /* unquoted */
	void *re;                /* pcre2_code * for =~ and !~ */
};

/* Parse one matcher (Alertmanager's ParseMatcher, as `amtool silence add` reads each
 * argument) into m (zeroed first). Returns 0, -EINVAL with a message in err naming what is
 * wrong (bad format or operator, unknown field, a stray quote, a bad regex in Go's words),
 * or -ENOMEM. On error m holds nothing. Does not call back. */
int matcher_parse(const char *text, struct matcher *m, char *err, size_t errlen);

/* Parse a list of matchers as Alertmanager parses each entry of a route's `matchers:`
 * (ParseMatchers): an optional { at the start and } at the end, matchers separated by
 * commas outside double quotes, a trailing comma allowed; "" or "{}" is no matcher.
 * Returns 0 with *out (a new array of *n matchers; free each with matcher_clear() and the
 * array with free(); NULL when *n is 0), -EINVAL with err, or -ENOMEM. */
int matcher_parse_list(const char *text, struct matcher **out, size_t *n, char *err,
    size_t errlen);

/* Free what m holds and zero it. NULL is a no-op. */
void matcher_clear(struct matcher *m);

/* Whether ev satisfies m. Writes to why (may be NULL) the value seen, e.g.
 * `cluster="staging-east"` (cut to whylen). Returns 1 (match), 0 (no match; a regex that
 * hits its match limit does not match and why says so) or -ENOMEM. */
int matcher_eval(const struct matcher *m, const struct ievent *ev, char *why, size_t whylen);

/* True when name is a field matchers and group_by can read (see ievent_get_field). */
bool matcher_field_known(const char *name);

#endif
