/* test_command.c - the `/incidentd` command line: where it is found in a comment, what each
 * verb accepts, and that an error never echoes the sender's text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "command.h"

static int
find(const char *text, struct command *c, char *err, size_t len)
{
	return command_find(text, c, err, len);
}

static void
test_where(void **state)
{
	struct command c;
	char err[600];

	(void)state;
	assert_int_equal(find("", &c, err, sizeof(err)), 0);
	assert_int_equal(find("thanks!", &c, err, sizeof(err)), 0);
	assert_int_equal(find("please run /incidentd ack", &c, err, sizeof(err)), 0);
	assert_int_equal(find("> /incidentd ack", &c, err, sizeof(err)), 0);
	assert_int_equal(find("/incidentdack", &c, err, sizeof(err)), 0);
	assert_int_equal(find("```\n/incidentd resolve\n```\n", &c, err, sizeof(err)), 0);
	assert_int_equal(find("~~~\n/incidentd resolve\n~~~\n/incidentd ack", &c, err,
	    sizeof(err)), 1);
	assert_int_equal(c.verb, COMMAND_ACK);
	assert_int_equal(find("Looking.\r\n  /incidentd ack\r\n/incidentd resolve", &c, err,
	    sizeof(err)), 1);
	assert_int_equal(c.verb, COMMAND_ACK);      /* the first command line counts */
	assert_string_equal(c.reason, "");
}

static void
test_verbs(void **state)
{
	struct command c;
	char err[600];

	(void)state;
	assert_int_equal(find("/incidentd ack on it, rolling back", &c, err, sizeof(err)), 1);
	assert_int_equal(c.verb, COMMAND_ACK);
	assert_string_equal(c.reason, "on it, rolling back");
	assert_int_equal(find("/incidentd silence 2h vendor\tincident ", &c, err, sizeof(err)), 1);
	assert_int_equal(c.verb, COMMAND_SILENCE);
	assert_int_equal(c.duration_ms, 2 * 3600 * 1000LL);
	assert_string_equal(c.duration, "2h");
	assert_string_equal(c.reason, "vendor incident");   /* control characters: spaces */
	assert_int_equal(find("/incidentd resolve", &c, err, sizeof(err)), 1);
	assert_int_equal(c.verb, COMMAND_RESOLVE);
	assert_int_equal(find("/incidentd doctor", &c, err, sizeof(err)), 1);
	assert_int_equal(c.verb, COMMAND_DOCTOR);
	assert_int_equal(find("/incidentd explain", &c, err, sizeof(err)), 1);
	assert_int_equal(c.verb, COMMAND_EXPLAIN);
	assert_string_equal(command_verb_name(COMMAND_SILENCE), "silence");
	assert_null(command_verb_name(COMMAND_NONE));
	assert_int_equal(command_verb_parse("ACK"), COMMAND_NONE);
}

static void
test_bad(void **state)
{
	struct command c;
	char err[600];

	(void)state;
	assert_int_equal(find("/incidentd", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "missing"));
	assert_non_null(strstr(err, "/incidentd silence <duration"));
	assert_int_equal(find("/incidentd reboot", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "`reboot` is not a command"));
	assert_int_equal(find("/incidentd <b>@org/team</b>", &c, err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "<b>"));            /* never echoed */
	assert_null(strstr(err, "@org"));
	assert_non_null(strstr(err, "that is not a command"));
	assert_int_equal(find("/incidentd silence", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(find("/incidentd silence forever", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(find("/incidentd silence 30s", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(find("/incidentd silence 31d", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(find("/incidentd silence 30d", &c, err, sizeof(err)), 1);
	assert_int_equal(find("/incidentd doctor now please", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "takes no arguments"));
	assert_int_equal(c.verb, COMMAND_NONE);
}

static void
test_long_reason(void **state)
{
	struct command c;
	char text[1200], err[600];
	size_t n;

	(void)state;
	/* a reason cut at the limit never ends inside a UTF-8 character */
	n = (size_t)snprintf(text, sizeof(text), "/incidentd ack ");
	while (n + 2 < sizeof(text) - 1) {
		text[n++] = (char)0xc3;
		text[n++] = (char)0xa9;   /* é */
	}
	text[n] = '\0';
	assert_int_equal(find(text, &c, err, sizeof(err)), 1);
	n = strlen(c.reason);
	assert_true(n > 0 && n < sizeof(c.reason) && n % 2 == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_long_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
