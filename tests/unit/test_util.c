/* test_util.c - time formatting/parsing, ULIDs, durations, sizes, SHA-256, formatting into
 * new strings, UTF-8 trimming. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "util.h"

static void
test_time_roundtrip(void **state)
{
	char buf[UTIL_TIME_LEN];
	int64_t ms = 0;

	(void)state;
	assert_int_equal(util_parse_time("2026-02-10T03:01:12Z", &ms), 0);
	assert_int_equal(ms, 1770692472000LL);
	assert_string_equal(util_format_time(ms, buf, sizeof(buf)), "2026-02-10T03:01:12.000Z");
	assert_int_equal(util_parse_time("2026-02-10T03:01:12.25Z", &ms), 0);
	assert_int_equal(ms % 1000, 250);
	/* prometheus-msteams style: offset and nanoseconds */
	assert_int_equal(util_parse_time("2020-01-01T10:00:00.123456789-05:00", &ms), 0);
	assert_string_equal(util_format_time(ms, buf, sizeof(buf)), "2020-01-01T15:00:00.123Z");
	assert_int_equal(util_parse_time("2026-02-10 03:01:12Z", &ms), 0);
	assert_int_equal(util_parse_time("2026-02-10T03:01:12", &ms), -EINVAL);
	assert_int_equal(util_parse_time("2026-13-10T03:01:12Z", &ms), -EINVAL);
	assert_int_equal(util_parse_time("yesterday", &ms), -EINVAL);
	assert_int_equal(util_parse_time("0001-01-01T00:00:00Z", &ms), 0);
}

/* util_format_time computes the date itself: it must agree with gmtime_r everywhere
 * (leap days, century years, before 1970, the last millisecond of a day). */
static void
test_time_format_matches_gmtime(void **state)
{
	static const int64_t fixed[] = { 0, -1, 999, -1000, 951782400000LL /* 2000-02-29 */,
	    4107542399999LL /* 2100-02-28T23:59:59.999 */, 4107542400000LL, -62135596800000LL,
	    253402300799999LL /* 9999-12-31T23:59:59.999 */, 1770692472123LL };
	char got[UTIL_TIME_LEN], want[UTIL_TIME_LEN];
	uint64_t x = 88172645463325252ULL;

	(void)state;
	for (size_t i = 0; i < 200000 + sizeof(fixed) / sizeof(fixed[0]); i++) {
		int64_t ms, secs;
		int frac;
		struct tm tm;
		time_t t;

		if (i < sizeof(fixed) / sizeof(fixed[0])) {
			ms = fixed[i];
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			ms = (int64_t)(x % 315537897600000ULL) - 62135596800000LL;  /* 0001..9999 */
		}
		secs = ms / 1000;
		frac = (int)(ms % 1000);
		if (frac < 0) {
			frac += 1000;
			secs--;
		}
		t = (time_t)secs;
		assert_non_null(gmtime_r(&t, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    frac);
		assert_string_equal(util_format_time(ms, got, sizeof(got)), want);
	}
}

static void
test_ids_sorted_unique(void **state)
{
	char prev[UTIL_ID_LEN + 1], cur[UTIL_ID_LEN + 1];

	(void)state;
	util_id_new(prev);
	assert_int_equal(strlen(prev), UTIL_ID_LEN);
	for (int i = 0; i < 10000; i++) {
		util_id_new(cur);
		assert_true(strcmp(prev, cur) < 0);
		for (int j = 0; j < UTIL_ID_LEN; j++)
			assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", cur[j]));
		memcpy(prev, cur, sizeof(prev));
	}
}

static void
test_durations(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(util_parse_duration("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(util_parse_duration("2m", &ms), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(util_parse_duration("1h30m", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(util_parse_duration("1d", &ms), 0);
	assert_int_equal(ms, 86400000);
	assert_int_equal(util_parse_duration("0s", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(util_parse_duration("10", &ms), -EINVAL);
	assert_int_equal(util_parse_duration("m", &ms), -EINVAL);
	assert_int_equal(util_parse_duration("", &ms), -EINVAL);
	assert_int_equal(util_parse_duration("5 m", &ms), -EINVAL);
	assert_int_equal(util_parse_duration("-5m", &ms), -EINVAL);
	assert_int_equal(util_parse_duration("99999999999999999999h", &ms), -EINVAL);
}

static void
test_sizes(void **state)
{
	uint64_t b;

	(void)state;
	assert_int_equal(util_parse_size("1MiB", &b), 0);
	assert_int_equal(b, 1048576);
	assert_int_equal(util_parse_size("4KiB", &b), 0);
	assert_int_equal(b, 4096);
	assert_int_equal(util_parse_size("2MB", &b), 0);
	assert_int_equal(b, 2000000);
	assert_int_equal(util_parse_size("123", &b), 0);
	assert_int_equal(b, 123);
	assert_int_equal(util_parse_size("1 MiB", &b), -EINVAL);
	assert_int_equal(util_parse_size("MiB", &b), -EINVAL);
	assert_int_equal(util_parse_size("1TiB", &b), -EINVAL);
}

static void
test_sha256(void **state)
{
	char hex[65];

	(void)state;
	util_sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	util_sha256_hex("", 0, hex);
	assert_string_equal(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_format_new(void **state)
{
	char big[3000], *s;

	(void)state;
	s = util_format_new("%s/%d", "flux", 42);
	assert_non_null(s);
	assert_string_equal(s, "flux/42");
	free(s);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = util_format_new("<%s>", big);   /* longer than any fixed buffer: not truncated */
	assert_non_null(s);
	assert_int_equal(strlen(s), sizeof(big) + 1);
	assert_int_equal(s[sizeof(big)], '>');
	free(s);
	s = util_format_new("%s", "");
	assert_string_equal(s, "");
	free(s);
}

/* What snprintf truncation of UTF-8 text leaves, and what util_trim_utf8 makes of it. */
static void
test_trim_utf8(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "", "" },
		{ "abc", "abc" },
		{ "a\xc3\xa9", "a\xc3\xa9" },                  /* é complete */
		{ "a\xc3", "a" },                              /* é cut after its lead byte */
		{ "a\xe2\x82\xac", "a\xe2\x82\xac" },          /* € complete */
		{ "a\xe2\x82", "a" },
		{ "a\xe2", "a" },
		{ "a\xf0\x9f\x94\xa5", "a\xf0\x9f\x94\xa5" },  /* 4-byte sequence complete */
		{ "a\xf0\x9f\x94", "a" },
		{ "a\xf0\x9f", "a" },
		{ "a\xf0", "a" },
		{ "\xc3\xa9\xc3", "\xc3\xa9" },
		{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" },
	};
	char buf[16], small[6];
	volatile size_t cap = sizeof(small);   /* truncation is the point: no warning */

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		assert_ptr_equal(util_trim_utf8(buf), buf);
		assert_string_equal(buf, cases[i].want);
	}
	/* the case it is for: the last one, "éééé", into 6 bytes keeps 2 é and half of the third */
	snprintf(small, cap, "%s", cases[sizeof(cases) / sizeof(cases[0]) - 1].in);
	assert_int_equal(strlen(small), 5);
	assert_string_equal(util_trim_utf8(small), "\xc3\xa9\xc3\xa9");
}

/* Untrusted text made inert for a log line or a terminal: printable ASCII and UTF-8 as
 * they are; controls, DEL, C1, the bidi overrides and bytes that are no UTF-8 escaped;
 * cut at outlen - 1 bytes, never inside an escape or a character. */
static void
test_escape_text(void **state)
{
	char out[64];
	const char *longer = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	(void)state;
	assert_string_equal(util_escape_text(out, sizeof(out), "plain text, \"quoted\" \\ ok"),
	    "plain text, \"quoted\" \\ ok");
	assert_string_equal(util_escape_text(out, sizeof(out), "a\nb\tc\rd\x1b[31me\x7f"),
	    "a\\nb\\tc\\rd\\x1b[31me\\x7f");
	assert_string_equal(util_escape_text(out, sizeof(out), "caf\xc3\xa9 \xe2\x80\xae!"),
	    "caf\xc3\xa9 \\u202e!");
	assert_string_equal(util_escape_text(out, sizeof(out), "\xc2\x85 \xff\xfe x"),
	    "\\u0085 \\xff\\xfe x");
	assert_string_equal(util_escape_text(out, sizeof(out), ""), "");
	/* cut: 63 bytes of a longer plain run; an escape that does not fit is left out */
	util_escape_text(out, sizeof(out), longer);
	assert_int_equal(strlen(out), 63);
	assert_memory_equal(out, longer, 63);
	assert_string_equal(util_escape_text(out, 8, "abcde\nf"), "abcde\\n");
	assert_string_equal(util_escape_text(out, 7, "abcde\nf"), "abcde");
	assert_string_equal(util_escape_text(out, 4, "ab\xc3\xa9"), "ab");
	assert_string_equal(util_escape_text(out, 1, "abc"), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_roundtrip),
		cmocka_unit_test(test_time_format_matches_gmtime),
		cmocka_unit_test(test_ids_sorted_unique),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_format_new),
		cmocka_unit_test(test_trim_utf8),
		cmocka_unit_test(test_escape_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
