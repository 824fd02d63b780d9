/* test_timeinterval.c - time intervals at fixed instants (no clock, no sleeping). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "timeinterval.h"

/* Instants (UTC). */
#define TUE_10 1770717600000LL    /* 2026-02-10T10:00Z, Tuesday */
#define TUE_18 1770746400000LL    /* 2026-02-10T18:00Z */
#define SAT_10 1771063200000LL    /* 2026-02-14T10:00Z, Saturday */
#define FEB_28 1772280000000LL    /* 2026-02-28T12:00Z, last day of February */
#define FEB_27 1772193600000LL    /* 2026-02-27T12:00Z */
#define LEAP_29 1835438400000LL   /* 2028-02-29T12:00Z */
#define W_0830 1770712200000LL    /* 2026-02-10T08:30Z = 09:30 in Berlin (CET) */
#define S_0730 1783668600000LL    /* 2026-07-10T07:30Z = 09:30 in Berlin (CEST) */
#define S_0830 1783672200000LL    /* 2026-07-10T08:30Z = 10:30 in Berlin */
#define XMAS 1798113600000LL      /* 2026-12-24T12:00Z */

static bool
contains(const char *json, int64_t at)
{
	struct ti_spec spec;
	struct time_interval ti = { .name = (char *)"t", .specs = &spec, .n_specs = 1 };
	json_t *o = json_loads(json, 0, NULL);
	char err[256];
	bool in;

	assert_non_null(o);
	if (ti_spec_parse(o, &spec, err, sizeof(err)) != 0)
		fail_msg("%s: %s", json, err);
	in = ti_contains(&ti, at);
	ti_spec_clear(&spec);
	json_decref(o);
	return in;
}

static void
test_business_hours(void **state)
{
	const char *bh = "{\"weekdays\": [\"monday:friday\"], \"times\": [{\"start_time\": "
	    "\"09:00\", \"end_time\": \"17:00\"}]}";

	(void)state;
	assert_true(contains(bh, TUE_10));
	assert_false(contains(bh, TUE_18));
	assert_false(contains(bh, SAT_10));
	assert_true(contains("{\"weekdays\": [\"saturday\", \"sunday\"]}", SAT_10));
	assert_true(contains("{\"times\": [{\"start_time\": \"17:00\", \"end_time\": \"24:00\"}]}",
	    TUE_18));
	assert_true(contains("{}", TUE_10));                     /* no constraint: always */
}

static void
test_days_months_years(void **state)
{
	(void)state;
	assert_true(contains("{\"days_of_month\": [\"-1\"]}", FEB_28));
	assert_false(contains("{\"days_of_month\": [\"-1\"]}", FEB_27));
	assert_true(contains("{\"days_of_month\": [\"-1\"]}", LEAP_29));
	assert_true(contains("{\"days_of_month\": [\"1:5\", \"27\"]}", FEB_27));
	assert_true(contains("{\"months\": [\"december\"], \"days_of_month\": [\"24:26\"]}",
	    XMAS));
	assert_false(contains("{\"months\": [\"1:11\"]}", XMAS));
	assert_true(contains("{\"years\": [\"2026\"], \"months\": [\"february\"]}", FEB_28));
	assert_false(contains("{\"years\": [\"2027:2030\"]}", FEB_28));
}

static void
test_location(void **state)
{
	const char *berlin = "{\"location\": \"Europe/Berlin\", \"times\": [{\"start_time\": "
	    "\"09:00\", \"end_time\": \"10:00\"}]}";

	(void)state;
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
		skip();
	assert_true(contains(berlin, W_0830));     /* winter, UTC+1 */
	assert_true(contains(berlin, S_0730));     /* summer, UTC+2 */
	assert_false(contains(berlin, S_0830));
	assert_null(getenv("TZ"));                 /* the switch is undone */
}

static void
test_errors(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"weekdays\": [\"funday\"]}", "weekdays[0]: 'funday'" },
		{ "{\"weekdays\": [\"friday:monday\"]}", "weekdays[0]" },
		{ "{\"times\": [{\"start_time\": \"17:00\", \"end_time\": \"09:00\"}]}", "times[0]" },
		{ "{\"times\": [{\"start_time\": \"25:00\", \"end_time\": \"26:00\"}]}", "times[0]" },
		{ "{\"days_of_month\": [\"0\"]}", "0 is not a day" },
		{ "{\"months\": [\"13\"]}", "months[0]" },
		{ "{\"weekday\": [\"monday\"]}", "unknown key 'weekday'" },
		{ "{\"location\": \"Mars/Olympus\"}", "unknown time zone 'Mars/Olympus'" },
		{ "{\"location\": \"../../etc/passwd\"}", "location" },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ti_spec spec;
		json_t *o = json_loads(cases[i].json, 0, NULL);

		err[0] = '\0';
		assert_int_equal(ti_spec_parse(o, &spec, err, sizeof(err)), -EINVAL);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("%s: error '%s' lacks '%s'", cases[i].json, err, cases[i].want);
		assert_null(spec.times);
		json_decref(o);
	}
	ti_spec_clear(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_business_hours),
		cmocka_unit_test(test_days_months_years),
		cmocka_unit_test(test_location),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
