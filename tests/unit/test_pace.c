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
	struct pace *p = pace_new(-1000000);
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
	struct pace *p = pace_new(-1000000);
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
	struct pace *p = pace_new(-1000000);
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

/* A fresh process cannot know when the one before it last acted: the first slot of a lane
 * is min_gap after the start, later ones as usual. */
static void
test_first_slot_after_start(void **state)
{
	struct pace *p = pace_new(100000);
	uint64_t w;

	(void)state;
	/* a gapless reservation (a read waiting only for holds) does not count */
	assert_int_equal(pace_reserve(p, "gh:a", 100040, 0, &w), 0);
	assert_int_equal(w, 0);
	assert_int_equal(pace_reserve(p, "gh:a", 100050, 1000, &w), 0);
	assert_int_equal(w, 950);
	assert_int_equal(pace_reserve(p, "gh:a", 100050, 1000, &w), 0);
	assert_int_equal(w, 1950);
	/* long after the start: at once */
	assert_int_equal(pace_reserve(p, "gh:b", 200000, 1000, &w), 0);
	assert_int_equal(w, 0);
	pace_destroy(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_lanes_independent),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_first_slot_after_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
