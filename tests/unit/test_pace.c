/* test_pace.c - pacing lanes: gaps between actions, holds, independent lanes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pace.h"

static void
test_gap(void **state)
{
	struct pace *p = pace_new();
	uint64_t w;

	(void)state;
	assert_non_null(p);
	assert_int_equal(pace_reserve(p, "gh:a", 1000, 1000, &w), 0);
	assert_int_equal(w, 0);
	/* a second action at the same time waits the whole gap, a third twice that */
	assert_int_equal(pace_reserve(p, "gh:a", 1000, 1000, &w), 0);
	assert_int_equal(w, 1000);
	assert_int_equal(pace_reserve(p, "gh:a", 1500, 1000, &w), 0);
	assert_int_equal(w, 1500);
	/* long after, no wait */
	assert_int_equal(pace_reserve(p, "gh:a", 10000, 1000, &w), 0);
	assert_int_equal(w, 0);
	pace_destroy(p);
}

static void
test_lanes_independent(void **state)
{
	struct pace *p = pace_new();
	uint64_t w;

	(void)state;
	assert_int_equal(pace_reserve(p, "gh:a", 0, 1000, &w), 0);
	assert_int_equal(pace_reserve(p, "gh:b", 0, 1000, &w), 0);
	assert_int_equal(w, 0);
	pace_destroy(p);
}

static void
test_hold(void **state)
{
	struct pace *p = pace_new();
	uint64_t w;

	(void)state;
	assert_int_equal(pace_hold(p, "gh:a", 60000), 0);
	assert_int_equal(pace_hold(p, "gh:a", 30000), 0);   /* earlier: ignored */
	assert_int_equal(pace_reserve(p, "gh:a", 1000, 1000, &w), 0);
	assert_int_equal(w, 59000);
	assert_int_equal(pace_reserve(p, "gh:a", 1000, 1000, &w), 0);
	assert_int_equal(w, 60000);
	pace_destroy(p);
	pace_destroy(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_lanes_independent),
		cmocka_unit_test(test_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
