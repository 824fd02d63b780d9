/* matcher.h - Alertmanager-style matchers over event fields: `field op value` with op one
 * of =, !=, =~, !~; the value bare or double-quoted ("prod-.*", with \" \\ \n escapes).
 * Fields are the event's ("cluster", "status", ...), "labels.X", "annotations.X" or
 * "payload.a.b"; an absent field reads as "" (as an absent label does in Alertmanager).
 * Regular expressions are PCRE2, anchored at both ends, with match and depth limits, so a
 * hostile value cannot stall the loop. */
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

/* Parse text into m (zeroed first). Returns 0, -EINVAL with a message in err naming what
 * is wrong (bad operator, unknown field, bad regex with its offset), or -ENOMEM. On error m
 * holds nothing. Does not call back. */
int matcher_parse(const char *text, struct matcher *m, char *err, size_t errlen);

/* Free what m holds and zero it. NULL is a no-op. */
void matcher_clear(struct matcher *m);

/* Whether ev satisfies m. Writes to why (may be NULL) the value seen, e.g.
 * `cluster="staging-east"` (cut to whylen). Returns 1 (match), 0 (no match; a regex that
 * hits its match limit does not match and why says so) or -ENOMEM. */
int matcher_eval(const struct matcher *m, const struct ievent *ev, char *why, size_t whylen);

/* True when name is a field matchers and group_by can read (see ievent_get_field). */
bool matcher_field_known(const char *name);

#endif
