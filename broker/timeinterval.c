/* timeinterval.c - Alertmanager-style time intervals. */
#include "timeinterval.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *const weekday_names[] = { "sunday", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday" };
static const char *const month_names[] = { "january", "february", "march", "april", "may",
    "june", "july", "august", "september", "october", "november", "december" };

/* A number or a name (index + base) of names. Returns 0 or -EINVAL. */
static int
parse_item(const char *s, size_t len, const char *const *names, size_t n_names, int base,
    int lo, int hi, int *out)
{
	char buf[32], *end;
	long v;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (size_t i = 0; names != NULL && i < n_names; i++) {
		if (strcasecmp(buf, names[i]) == 0) {
			*out = (int)i + base;
			return 0;
		}
	}
	v = strtol(buf, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* A list of "a" or "a:b" strings into ranges. */
static int
parse_ranges(const json_t *list, const char *key, const char *const *names, size_t n_names,
    int base, int lo, int hi, struct ti_range **out, size_t *n, char *err, size_t errlen)
{
	const json_t *x;
	size_t i;

	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list)) {
		snprintf(err, errlen, "%s: expected a list", key);
		return -EINVAL;
	}
	*out = calloc(json_array_size(list) + 1, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	json_array_foreach(list, i, x) {
		const char *s = json_string_value(x), *colon;
		struct ti_range r;
		char num[24];

		if (json_is_integer(x)) {
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(x));
			s = num;
		}
		if (s == NULL)
			goto bad;
		colon = strchr(s, ':');
		if (parse_item(s, colon ? (size_t)(colon - s) : strlen(s), names, n_names, base, lo,
		    hi, &r.lo) != 0)
			goto bad;
		r.hi = r.lo;
		if (colon != NULL && parse_item(colon + 1, strlen(colon + 1), names, n_names, base,
		    lo, hi, &r.hi) != 0)
			goto bad;
		/* days of the month may count from the end (-1 = last); otherwise lo <= hi */
		if (!(r.lo < 0 || r.hi < 0) && r.lo > r.hi)
			goto bad;
		(*out)[(*n)++] = r;
		continue;
bad:
		snprintf(err, errlen, "%s[%zu]: '%s' is not a value or range of them (e.g. %s)", key,
		    i, s ? s : "?", names == weekday_names ? "'monday:friday'" :
		    names == month_names ? "'january:march' or '1:3'" : "'1:5'");
		return -EINVAL;
	}
	return 0;
}

static int
access_zone(const char *path)
{
	return access(path, R_OK) == 0 ? 0 : -ENOENT;
}

/* "HH:MM" (00:00..24:00) -> minutes. */
static int
parse_hhmm(const char *s, int *out)
{
	int h, m;
	char tail;

	if (s == NULL || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || m < 0 ||
	    m > 59 || h > 24 || (h == 24 && m != 0))
		return -EINVAL;
	*out = h * 60 + m;
	return 0;
}

int
ti_spec_parse(const json_t *obj, struct ti_spec *s, char *err, size_t errlen)
{
	static const char *const keys[] = { "times", "weekdays", "days_of_month", "months",
	    "years", "location", NULL };
	const char *k;
	const json_t *v, *times;
	size_t i;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "expected a mapping");
		return -EINVAL;
	}
	json_object_foreach((json_t *)obj, k, v) {
		bool known = false;

		for (size_t j = 0; keys[j] != NULL; j++)
			known = known || strcmp(k, keys[j]) == 0;
		if (!known) {
			snprintf(err, errlen, "unknown key '%s' (times, weekdays, days_of_month, "
			    "months, years, location)", k);
			return -EINVAL;
		}
	}
	times = json_object_get(obj, "times");
	if (times != NULL && !json_is_array(times)) {
		snprintf(err, errlen, "times: expected a list of {start_time, end_time}");
		return -EINVAL;
	}
	if (times != NULL) {
		s->times = calloc(json_array_size(times) + 1, sizeof(*s->times));
		if (s->times == NULL)
			return -ENOMEM;
		json_array_foreach(times, i, v) {
			struct ti_range r;

			if (parse_hhmm(json_string_value(json_object_get(v, "start_time")), &r.lo) ||
			    parse_hhmm(json_string_value(json_object_get(v, "end_time")), &r.hi) ||
			    r.lo >= r.hi) {
				snprintf(err, errlen, "times[%zu]: expected start_time and end_time as "
				    "HH:MM with start before end (end may be 24:00)", i);
				rc = -EINVAL;
				goto fail;
			}
			s->times[s->n_times++] = r;
		}
	}
	if ((rc = parse_ranges(json_object_get(obj, "weekdays"), "weekdays", weekday_names, 7, 0,
	    0, 6, &s->weekdays, &s->n_weekdays, err, errlen)) != 0 ||
	    (rc = parse_ranges(json_object_get(obj, "days_of_month"), "days_of_month", NULL, 0, 0,
	    -31, 31, &s->mdays, &s->n_mdays, err, errlen)) != 0 ||
	    (rc = parse_ranges(json_object_get(obj, "months"), "months", month_names, 12, 1, 1, 12,
	    &s->months, &s->n_months, err, errlen)) != 0 ||
	    (rc = parse_ranges(json_object_get(obj, "years"), "years", NULL, 0, 0, 1970, 9999,
	    &s->years, &s->n_years, err, errlen)) != 0)
		goto fail;
	for (i = 0; i < s->n_mdays; i++) {
		if (s->mdays[i].lo == 0 || s->mdays[i].hi == 0) {
			snprintf(err, errlen, "days_of_month: 0 is not a day (1..31, or -1 for the "
			    "last)");
			rc = -EINVAL;
			goto fail;
		}
	}
	v = json_object_get(obj, "location");
	if (v != NULL && !json_is_null(v)) {
		const char *loc = json_string_value(v);
		char path[512];

		if (loc == NULL || *loc == '\0' || strstr(loc, "..") != NULL || loc[0] == '/') {
			snprintf(err, errlen, "location: expected UTC, Local or a zone name like "
			    "Europe/Berlin");
			rc = -EINVAL;
			goto fail;
		}
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", loc);
		if (strcmp(loc, "UTC") != 0 && strcmp(loc, "Local") != 0 &&
		    access_zone(path) != 0) {
			snprintf(err, errlen, "location: unknown time zone '%s' (not in "
			    "/usr/share/zoneinfo)", loc);
			rc = -EINVAL;
			goto fail;
		}
		if ((s->location = strdup(loc)) == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	return 0;
fail:
	ti_spec_clear(s);
	return rc;
}

void
ti_spec_clear(struct ti_spec *s)
{
	if (s == NULL)
		return;
	free(s->times);
	free(s->weekdays);
	free(s->mdays);
	free(s->months);
	free(s->years);
	free(s->location);
	memset(s, 0, sizeof(*s));
}

/* Broken-down time of at in the spec's location. The daemon is single-threaded; the TZ
 * switch for a named zone is restored before returning. */
static void
local_tm(const char *loc, int64_t at, struct tm *tm)
{
	time_t t = (time_t)(at / 1000);

	if (loc == NULL || strcmp(loc, "UTC") == 0) {
		gmtime_r(&t, tm);
	} else if (strcmp(loc, "Local") == 0) {
		localtime_r(&t, tm);
	} else {
		const char *old = getenv("TZ");
		char *saved = old ? strdup(old) : NULL;

		setenv("TZ", loc, 1);
		tzset();
		localtime_r(&t, tm);
		if (saved != NULL) {
			setenv("TZ", saved, 1);
			free(saved);
		} else {
			unsetenv("TZ");
		}
		tzset();
	}
}

static int
days_in_month(int year, int mon)  /* mon 1..12 */
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 2 && leap ? 29 : d[mon - 1];
}

static bool
in_ranges(const struct ti_range *r, size_t n, int v)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return true;
	return false;
}

static bool
spec_contains(const struct ti_spec *s, int64_t at)
{
	struct tm tm;
	int minute, dim;
	bool ok = s->n_times == 0;

	local_tm(s->location, at, &tm);
	minute = tm.tm_hour * 60 + tm.tm_min;
	for (size_t i = 0; i < s->n_times && !ok; i++)
		ok = minute >= s->times[i].lo && minute < s->times[i].hi;
	if (!ok || !in_ranges(s->weekdays, s->n_weekdays, tm.tm_wday) ||
	    !in_ranges(s->months, s->n_months, tm.tm_mon + 1) ||
	    !in_ranges(s->years, s->n_years, tm.tm_year + 1900))
		return false;
	if (s->n_mdays == 0)
		return true;
	dim = days_in_month(tm.tm_year + 1900, tm.tm_mon + 1);
	for (size_t i = 0; i < s->n_mdays; i++) {
		int lo = s->mdays[i].lo < 0 ? dim + 1 + s->mdays[i].lo : s->mdays[i].lo;
		int hi = s->mdays[i].hi < 0 ? dim + 1 + s->mdays[i].hi : s->mdays[i].hi;

		if (tm.tm_mday >= lo && tm.tm_mday <= hi)
			return true;
	}
	return false;
}

bool
ti_contains(const struct time_interval *ti, int64_t at)
{
	for (size_t i = 0; i < ti->n_specs; i++)
		if (spec_contains(&ti->specs[i], at))
			return true;
	return false;
}
