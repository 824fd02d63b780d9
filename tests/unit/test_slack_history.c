/* test_slack_history.c - the pure parts of the slack sink's exactly-once check: the
 * delivery's message metadata, the token's identity (auth.test, a chat.postMessage
 * answer), finding our message in conversations.history / conversations.replies pages
 * (only ours: another bot's or user's copy of the metadata does not count), a channel's ID
 * in conversations.list pages, channel IDs, and the classification of read answers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blocks.h"
#include "history.h"

#define EVENT_ID "01KB2Q9S7B4X0VZ9T6W3N5M8QJ"

static json_t *
parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (j == NULL)
		fail_msg("bad test JSON: %s", e.text);
	return j;
}

static void
test_metadata(void **state)
{
	json_t *md = NULL;
	char *dump;

	(void)state;
	assert_int_equal(slack_delivery_metadata(17, EVENT_ID, &md), 0);
	dump = json_dumps(md, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(dump, "{\"event_payload\":{\"delivery_id\":\"17\",\"event_id\":\""
	    EVENT_ID "\"},\"event_type\":\"incidentd_delivery\"}");
	free(dump);
	json_decref(md);
	assert_int_equal(slack_delivery_metadata(3, NULL, &md), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(md,
	    "event_payload"), "event_id")), "-");
	json_decref(md);
	assert_int_equal(slack_delivery_metadata(0, EVENT_ID, &md), -EINVAL);
	assert_null(md);
}

static void
test_identity(void **state)
{
	struct slack_identity id = { { 0 }, { 0 } };
	json_t *a;

	(void)state;
	a = parse("{\"ok\": true, \"url\": \"https://x.slack.com/\", \"team\": \"X\", \"user\": "
	    "\"incidentd\", \"team_id\": \"T1\", \"user_id\": \"U0BOT1\", \"bot_id\": \"B0BOT1\"}");
	assert_true(slack_identity_from_auth(a, &id));
	assert_string_equal(id.user_id, "U0BOT1");
	assert_string_equal(id.bot_id, "B0BOT1");
	json_decref(a);
	/* not ok, or IDs that are not IDs: nothing learned */
	memset(&id, 0, sizeof(id));
	a = parse("{\"ok\": false, \"error\": \"invalid_auth\", \"user_id\": \"U1\"}");
	assert_false(slack_identity_from_auth(a, &id));
	json_decref(a);
	a = parse("{\"ok\": true, \"user_id\": \"u1&x=1\", \"bot_id\": \"\"}");
	assert_false(slack_identity_from_auth(a, &id));
	assert_string_equal(id.user_id, "");
	json_decref(a);
	/* the message of a chat.postMessage answer */
	a = parse("{\"type\": \"message\", \"user\": \"U0BOT2\", \"bot_id\": \"B0BOT2\", "
	    "\"ts\": \"1.2\"}");
	assert_true(slack_identity_from_message(a, &id));
	assert_string_equal(id.bot_id, "B0BOT2");
	json_decref(a);
	assert_false(slack_identity_from_message(NULL, &id));
}

/* A history page with (1) our message of another delivery, (2) another bot's copy of
 * delivery 17's metadata, (3) a person's copy, (4) ours. */
static const char *const page_text =
    "{\"ok\": true, \"messages\": ["
    "{\"type\": \"message\", \"user\": \"U0BOT1\", \"bot_id\": \"B0BOT1\", \"ts\": \"1700000004.000100\","
    " \"metadata\": {\"event_type\": \"incidentd_delivery\", \"event_payload\": "
    "{\"delivery_id\": \"171\", \"event_id\": \"" EVENT_ID "\"}}},"
    "{\"type\": \"message\", \"user\": \"U0EVIL\", \"bot_id\": \"B0EVIL\", \"ts\": \"1700000003.000100\","
    " \"metadata\": {\"event_type\": \"incidentd_delivery\", \"event_payload\": "
    "{\"delivery_id\": \"17\", \"event_id\": \"" EVENT_ID "\"}}},"
    "{\"type\": \"message\", \"user\": \"U0HUMAN\", \"ts\": \"1700000002.000100\","
    " \"metadata\": {\"event_type\": \"incidentd_delivery\", \"event_payload\": "
    "{\"delivery_id\": \"17\", \"event_id\": \"" EVENT_ID "\"}}},"
    "{\"type\": \"message\", \"user\": \"U0BOT1\", \"bot_id\": \"B0BOT1\", \"ts\": \"1700000001.000100\","
    " \"metadata\": {\"event_type\": \"incidentd_delivery\", \"event_payload\": "
    "{\"delivery_id\": \"17\", \"event_id\": \"" EVENT_ID "\"}}}"
    "], \"has_more\": true, \"response_metadata\": {\"next_cursor\": \"bmV4dDox\"}}";

static void
test_page_find(void **state)
{
	struct slack_identity me = { "U0BOT1", "B0BOT1" }, user = { "U0HUMAN", "" };
	struct slack_page page;
	json_t *a = parse(page_text), *b;

	(void)state;
	assert_int_equal(slack_page_find(a, &me, 17, EVENT_ID, &page), 0);
	assert_string_equal(page.ts, "1700000001.000100");
	/* another bot's and a user's copies of the metadata are not ours */
	assert_int_equal(page.foreign, 2);
	assert_null(page.cursor);
	/* an identity without a bot (a user token) is matched by its user */
	assert_int_equal(slack_page_find(a, &user, 17, EVENT_ID, &page), 0);
	assert_string_equal(page.ts, "1700000002.000100");
	assert_int_equal(page.foreign, 1);
	free(page.cursor);
	/* another delivery, another event (a lost ledger's 17): the next page */
	assert_int_equal(slack_page_find(a, &me, 1, EVENT_ID, &page), 0);
	assert_string_equal(page.ts, "");
	assert_string_equal(page.cursor, "bmV4dDox");
	free(page.cursor);
	assert_int_equal(slack_page_find(a, &me, 17, "01KB2Q9S7B4X0VZ9T6W3N5M8QK", &page), 0);
	assert_string_equal(page.ts, "");
	assert_int_equal(page.foreign, 0);
	free(page.cursor);
	json_decref(a);
	/* the last page: an empty cursor, or none */
	a = parse("{\"ok\": true, \"messages\": [], \"response_metadata\": {\"next_cursor\": \"\"}}");
	assert_int_equal(slack_page_find(a, &me, 17, EVENT_ID, &page), 0);
	assert_null(page.cursor);
	json_decref(a);
	/* our message with a ts that is not one: not taken */
	a = parse("{\"ok\": true, \"messages\": [{\"bot_id\": \"B0BOT1\", \"ts\": \"1&x\", "
	    "\"metadata\": {\"event_type\": \"incidentd_delivery\", \"event_payload\": "
	    "{\"delivery_id\": \"17\", \"event_id\": \"" EVENT_ID "\"}}}]}");
	assert_int_equal(slack_page_find(a, &me, 17, EVENT_ID, &page), 0);
	assert_string_equal(page.ts, "");
	json_decref(a);
	/* not a page */
	b = parse("{\"ok\": false, \"error\": \"missing_scope\"}");
	assert_int_equal(slack_page_find(b, &me, 17, EVENT_ID, &page), -EINVAL);
	json_decref(b);
	b = parse("{\"ok\": true}");
	assert_int_equal(slack_page_find(b, &me, 17, EVENT_ID, &page), -EINVAL);
	json_decref(b);
	/* without any identity nothing is ours */
	{
		struct slack_identity none = { "", "" };

		a = parse(page_text);
		assert_int_equal(slack_page_find(a, &none, 17, EVENT_ID, &page), 0);
		assert_string_equal(page.ts, "");
		assert_int_equal(page.foreign, 3);
		free(page.cursor);
		json_decref(a);
	}
}

static void
test_channel_find(void **state)
{
	json_t *a = parse("{\"ok\": true, \"channels\": [{\"id\": \"C0GENERAL\", \"name\": "
	    "\"general\"}, {\"id\": \"G0PRIV\", \"name\": \"incidents\", \"is_private\": true}],"
	    " \"response_metadata\": {\"next_cursor\": \"dGVhbTpD\"}}");
	char id[SLACK_ID_MAX], *cursor = NULL;

	(void)state;
	assert_int_equal(slack_channel_find(a, "#incidents", id, sizeof(id), &cursor), 0);
	assert_string_equal(id, "G0PRIV");
	assert_null(cursor);
	assert_int_equal(slack_channel_find(a, "general", id, sizeof(id), &cursor), 0);
	assert_string_equal(id, "C0GENERAL");
	assert_int_equal(slack_channel_find(a, "#incident", id, sizeof(id), &cursor), 0);
	assert_string_equal(id, "");
	assert_string_equal(cursor, "dGVhbTpD");
	free(cursor);
	json_decref(a);
	a = parse("{\"ok\": false, \"error\": \"missing_scope\", \"needed\": \"groups:read\"}");
	assert_int_equal(slack_channel_find(a, "#x", id, sizeof(id), &cursor), -EINVAL);
	json_decref(a);
}

static void
test_channel_is_id(void **state)
{
	(void)state;
	assert_true(slack_channel_is_id("C0INCIDENTS"));
	assert_true(slack_channel_is_id("G0PRIVATE1"));
	assert_true(slack_channel_is_id("D0123ABC"));
	assert_false(slack_channel_is_id("#incidents"));
	assert_false(slack_channel_is_id("incidents"));
	assert_false(slack_channel_is_id("Cincidents"));
	assert_false(slack_channel_is_id("U0123ABC"));
	assert_false(slack_channel_is_id("C"));
	assert_false(slack_channel_is_id(""));
	assert_false(slack_channel_is_id(NULL));
}

static void
test_classify_method(void **state)
{
	struct slack_answer a = { .status = 200, .retry_after_s = -1 };
	char detail[256];
	uint64_t ms = 1;

	(void)state;
	a.body = "{\"ok\": false, \"error\": \"missing_scope\", \"needed\": \"channels:history\", "
	    "\"provided\": \"chat:write\"}";
	assert_int_equal(slack_classify_method("conversations.history", &a, &ms, detail,
	    sizeof(detail)), SLACK_FAIL);
	assert_string_equal(detail, "conversations.history: missing_scope (needs "
	    "channels:history)");
	a.body = "{\"ok\": true, \"messages\": []}";
	assert_int_equal(slack_classify_method("conversations.replies", &a, &ms, detail,
	    sizeof(detail)), SLACK_OK);
	assert_string_equal(detail, "conversations.replies: ok");
	a.body = "{\"ok\": false, \"error\": \"ratelimited\"}";
	a.retry_after_s = 7;
	assert_int_equal(slack_classify_method("auth.test", &a, &ms, detail, sizeof(detail)),
	    SLACK_RETRY);
	assert_int_equal(ms, 7000);
	a.status = 429;
	assert_int_equal(slack_classify_method("conversations.list", &a, &ms, detail,
	    sizeof(detail)), SLACK_RETRY);
	assert_string_equal(detail, "conversations.list: rate limited by Slack (HTTP 429), "
	    "retry after 7s");
	/* chat.postMessage keeps its details */
	a.status = 200;
	a.body = "{\"ok\": true, \"ts\": \"1.2\"}";
	assert_int_equal(slack_classify_answer(false, &a, &ms, detail, sizeof(detail)), SLACK_OK);
	assert_string_equal(detail, "posted");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_page_find),
		cmocka_unit_test(test_channel_find),
		cmocka_unit_test(test_channel_is_id),
		cmocka_unit_test(test_classify_method),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
