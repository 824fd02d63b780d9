/* timeinterval.h - Alertmanager-style time intervals (maintenance windows, business hours):
 * a named list of specs, each a conjunction of times of day, weekdays, days of the month,
 * months and years, in a location (UTC, Local or an IANA zone such as Europe/Berlin).
 * Routes refer to them with mute_time_intervals / active_time_intervals. */
#ifndef INCIDENTD_TIMEINTERVAL_H
#define INCIDENTD_TIMEINTERVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct ti_range {
	int lo, hi;              /* inclusive; minutes of the day use [lo, hi) */
};

struct ti_spec {
	struct ti_range *times, *weekdays, *mdays, *months, *years;
	size_t n_times, n_weekdays, n_mdays, n_months, n_years;
	char *location;          /* NULL or "UTC": UTC; "Local"; or an IANA zone name */
};

struct time_interval {
	char *name;
	struct ti_spec *specs;
	size_t n_specs;
};

/* Parse one spec object (keys times, weekdays, days_of_month, months, years, location;
 * Alertmanager's syntax, e.g. weekdays: ['monday:friday'], times: [{start_time: '09:00',
 * end_time: '17:00'}], days_of_month: ['1:5', '-1'], months: ['january:march', '12'],
 * years: ['2026:2027']). Returns 0, or -EINVAL with the offending key and value in err
 * (the caller prefixes file:line), or -ENOMEM. On error s holds nothing. */
int ti_spec_parse(const json_t *obj, struct ti_spec *s, char *err, size_t errlen);

/* Free what s holds and zero it. NULL is a no-op. */
void ti_spec_clear(struct ti_spec *s);

/* Whether the instant at (ms since the epoch) falls in any spec of ti. */
bool ti_contains(const struct time_interval *ti, int64_t at);

#endif
