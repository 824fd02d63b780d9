/* test_slack_source.c - sources/slack.c: Slack's documented signing example ("Verifying
 * requests from Slack") as a test vector, stale / future / forged / malformed signatures,
 * the form body, and the event of a button press (labels, capabilities left out of the
 * payload, hostile values). */
#include <sys/queue.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "source.h"

/* Slack's example: the secret, the timestamp, a slash command's body and its signature. */
#define EX_SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define EX_TS "1531420618"
#define EX_BODY "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&" \
	"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&" \
	"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F" \
	"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=" \
	"398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
#define EX_SIG "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
#define EX_NOW 1531420618LL

static void
headers_set(struct evkeyvalq *h, const char *ts, const char *sig)
{
	TAILQ_INIT(h);
	if (ts != NULL)
		evhttp_add_header(h, "X-Slack-Request-Timestamp", ts);
	if (sig != NULL)
		evhttp_add_header(h, "X-Slack-Signature", sig);
}

static int
verify(const char *ts, const char *sig, const char *body, int64_t now, const char **why)
{
	struct evkeyvalq h;
	int rc;

	headers_set(&h, ts, sig);
	rc = slack_verify_request(EX_SECRET, &h, body, strlen(body), now, why);
	evhttp_clear_headers(&h);
	return rc;
}

static void
test_documented_vector(void **state)
{
	const char *why = "unset";

	(void)state;
	assert_true(slack_signature_ok(EX_SECRET, EX_TS, EX_SIG, EX_BODY, strlen(EX_BODY)));
	assert_int_equal(verify(EX_TS, EX_SIG, EX_BODY, EX_NOW, &why), 0);
	assert_null(why);
	/* Slack's clock may be ahead or behind ours by up to five minutes */
	assert_int_equal(verify(EX_TS, EX_SIG, EX_BODY, EX_NOW + 300, &why), 0);
	assert_int_equal(verify(EX_TS, EX_SIG, EX_BODY, EX_NOW - 300, &why), 0);
	/* the hex digits may come in upper case */
	assert_true(slack_signature_ok(EX_SECRET, EX_TS, "v0=A2114D57B48EAC39B9AD189DD8316235A7B4"
	    "A8D21A10BD27519666489C69B503", EX_BODY, strlen(EX_BODY)));
}

static void
test_stale_and_future(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(verify(EX_TS, EX_SIG, EX_BODY, EX_NOW + 301, &why), -EACCES);
	assert_non_null(strstr(why, "5 minutes"));
	assert_int_equal(verify(EX_TS, EX_SIG, EX_BODY, EX_NOW + 360, &why), -EACCES);
	assert_int_equal(verify(EX_TS, EX_SIG, EX_BODY, EX_NOW - 301, &why), -EACCES);
	assert_non_null(strstr(why, "5 minutes"));
	assert_int_equal(slack_check_timestamp("1531420618x", EX_NOW, &why), -EACCES);
	assert_int_equal(slack_check_timestamp("-1531420618", EX_NOW, &why), -EACCES);
	assert_int_equal(slack_check_timestamp(" 1531420618", EX_NOW, &why), -EACCES);
	assert_int_equal(slack_check_timestamp("99999999999999999999", EX_NOW, &why), -EACCES);
	assert_int_equal(slack_check_timestamp("", EX_NOW, &why), -EACCES);
	assert_int_equal(slack_check_timestamp(NULL, EX_NOW, &why), -EACCES);
	assert_non_null(strstr(why, "missing X-Slack-Request-Timestamp"));
}

static void
test_forged(void **state)
{
	char body[sizeof(EX_BODY)], sig[sizeof(EX_SIG)];
	const char *why = NULL;

	(void)state;
	/* one changed byte of the body */
	memcpy(body, EX_BODY, sizeof(body));
	body[strlen(body) - 1] ^= 1;
	assert_int_equal(verify(EX_TS, EX_SIG, body, EX_NOW, &why), -EACCES);
	assert_non_null(strstr(why, "does not match"));
	/* one changed digit of the signature */
	memcpy(sig, EX_SIG, sizeof(sig));
	sig[10] = sig[10] == '0' ? '1' : '0';
	assert_int_equal(verify(EX_TS, sig, EX_BODY, EX_NOW, &why), -EACCES);
	/* the same request with another timestamp (signed for the first one) */
	assert_int_equal(verify("1531420619", EX_SIG, EX_BODY, EX_NOW, &why), -EACCES);
	/* another secret */
	assert_false(slack_signature_ok("another-secret", EX_TS, EX_SIG, EX_BODY,
	    strlen(EX_BODY)));
	assert_false(slack_signature_ok("", EX_TS, EX_SIG, EX_BODY, strlen(EX_BODY)));
	/* malformed signatures and missing headers */
	assert_int_equal(verify(EX_TS, "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666"
	    "489c69b503", EX_BODY, EX_NOW, &why), -EACCES);
	assert_non_null(strstr(why, "v0=<64 hex digits>"));
	assert_int_equal(verify(EX_TS, "v0=a2114d57", EX_BODY, EX_NOW, &why), -EACCES);
	assert_int_equal(verify(EX_TS, "v0=g2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666"
	    "489c69b503", EX_BODY, EX_NOW, &why), -EACCES);
	assert_int_equal(verify(EX_TS, EX_SIG "00", EX_BODY, EX_NOW, &why), -EACCES);
	assert_int_equal(verify(EX_TS, NULL, EX_BODY, EX_NOW, &why), -EACCES);
	assert_non_null(strstr(why, "missing X-Slack-Signature"));
	assert_int_equal(verify(NULL, EX_SIG, EX_BODY, EX_NOW, &why), -EACCES);
	/* a reason never carries the secret */
	assert_null(strstr(why, EX_SECRET));
}

static json_t *
load_sample(void)
{
	const char *dir = getenv("SAMPLES_DIR");
	char path[1024];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), "%s/slack/block_actions.json", dir ? dir : "tests/samples");
	j = json_load_file(path, 0, &e);
	if (j == NULL)
		fail_msg("cannot load %s: %s", path, e.text);
	return j;
}

/* payload=<JSON of j>, form-encoded. */
static char *
form_of(const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT), *enc, *out;
	size_t n;

	assert_non_null(text);
	enc = evhttp_uriencode(text, -1, 1);
	assert_non_null(enc);
	n = strlen(enc) + 16;
	out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "payload=%s", enc);
	free(enc);
	free(text);
	return out;
}

static void
test_form(void **state)
{
	json_t *j = load_sample(), *got = NULL;
	char *form = form_of(j), err[300];

	(void)state;
	assert_int_equal(slack_form_payload(form, strlen(form), &got, err, sizeof(err)), 0);
	assert_true(json_equal(got, j));
	json_decref(got);
	/* '+' stands for a space in a form */
	assert_int_equal(slack_form_payload("payload=%7B%22type%22:+%22x%22%7D", 33, &got, err,
	    sizeof(err)), 0);
	assert_string_equal(json_string_value(json_object_get(got, "type")), "x");
	json_decref(got);
	/* not the shape Slack sends */
	assert_int_equal(slack_form_payload("{\"type\":\"block_actions\"}", 24, &got, err,
	    sizeof(err)), -EINVAL);
	assert_null(got);
	assert_int_equal(slack_form_payload("text=hello", 10, &got, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no payload field"));
	assert_int_equal(slack_form_payload("payload=%7B&payload=%7B", 23, &got, err,
	    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than one"));
	assert_int_equal(slack_form_payload("payload=%7B%22a%22", 18, &got, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "payload: invalid JSON at line 1"));
	assert_int_equal(slack_form_payload("payload=%5B1%5D", 15, &got, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "expected a JSON object"));
	assert_int_equal(slack_form_payload("payload=%7B%7D\0x", 16, &got, err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(slack_form_payload("", 0, &got, err, sizeof(err)), -EINVAL);
	/* the form is read within len, not up to a NUL */
	assert_int_equal(slack_form_payload("payload=%7B%7Dtrailing", 14, &got, err,
	    sizeof(err)), 0);
	json_decref(got);
	free(form);
	json_decref(j);
}

static const char *
label(const struct ievent *ev, const char *k)
{
	return json_string_value(json_object_get(ev->labels, k));
}

static int
normalize(json_t *body, struct ievent_vec *vec, char *err, size_t errlen)
{
	struct source_input in = { .body = body, .received_at = 1770000011000 };

	err[0] = '\0';
	return slack_normalize(&in, vec, err, errlen);
}

static void
test_button_event(void **state)
{
	json_t *j = load_sample();
	struct ievent_vec vec = { 0 };
	struct ievent *ev;
	char err[300], sha[65], sha2[65], *dump;

	(void)state;
	assert_int_equal(normalize(j, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	assert_string_equal(ev->source, "slack");
	assert_string_equal(ev->type, "slack.block_actions");
	assert_string_equal(ev->status, "info");
	assert_string_equal(ev->summary, "slack: alice pressed Acknowledge");
	assert_string_equal(label(ev, "slack_event"), "block_actions");
	assert_string_equal(label(ev, "slack_team"), "T0FAKE000");
	assert_string_equal(label(ev, "slack_user"), "U0CA5ALICE");
	assert_string_equal(label(ev, "slack_user_name"), "alice");
	assert_string_equal(label(ev, "action_id"), "incidentd.ack");
	assert_string_equal(label(ev, "command"), "ack");
	assert_null(label(ev, "duration"));
	assert_string_equal(label(ev, "incident_id"), "01KH1ZK3W0E4XJ0Y3S5B7D9F1H");
	assert_string_equal(label(ev, "channel"), "C0INCIDENTS");
	assert_string_equal(label(ev, "message_ts"), "1770000000.000100");
	assert_int_equal(json_object_size(ev->labels), 9);
	assert_int_equal(ev->received_at, 1770000011000);
	/* the capabilities and the verification token are not in the payload */
	dump = json_dumps(ev->payload, JSON_COMPACT);
	assert_null(strstr(dump, "response_url"));
	assert_null(strstr(dump, "hooks.slack.com"));
	assert_null(strstr(dump, "trigger_id"));
	assert_null(strstr(dump, "12466734323"));
	assert_null(strstr(dump, "Shh_its_a_seekrit"));
	assert_non_null(strstr(dump, "\"action_ts\":\"1770000010.123456\""));
	free(dump);
	/* the input is untouched */
	assert_non_null(json_object_get(j, "response_url"));
	/* a press is keyed by who pressed what when, not by the body */
	assert_true(slack_request_key(ev, sha));
	ievent_vec_clear(&vec);
	json_object_set_new(j, "state", json_pack("{s:s}", "other", "body"));
	assert_int_equal(normalize(j, &vec, err, sizeof(err)), 0);
	assert_true(slack_request_key(vec.v[0], sha2));
	assert_string_equal(sha, sha2);
	ievent_vec_clear(&vec);
	json_object_set_new(json_array_get(json_object_get(j, "actions"), 0), "action_ts",
	    json_string("1770000012.000001"));
	assert_int_equal(normalize(j, &vec, err, sizeof(err)), 0);
	assert_true(slack_request_key(vec.v[0], sha2));
	assert_string_not_equal(sha, sha2);
	ievent_vec_clear(&vec);
	json_decref(j);
}

/* Each button, an unknown action and an unknown interaction type. */
static void
test_commands(void **state)
{
	static const struct { const char *id, *command, *duration, *summary; } cases[] = {
		{ "incidentd.silence.1h", "silence", "1h", "slack: alice pressed Silence 1h" },
		{ "incidentd.silence.4h", "silence", "4h", "slack: alice pressed Silence 4h" },
		{ "incidentd.resolve", "resolve", NULL, "slack: alice pressed Resolve" },
		{ "incidentd.open_issue", NULL, NULL, "slack: alice pressed Open issue" },
		{ "someone.elses.button", NULL, NULL, "slack: alice pressed someone.elses.button" },
	};
	struct ievent_vec vec = { 0 };
	char err[300], sha[65];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = load_sample(), *a = json_array_get(json_object_get(j, "actions"), 0);

		json_object_set_new(a, "action_id", json_string(cases[i].id));
		assert_int_equal(normalize(j, &vec, err, sizeof(err)), 0);
		assert_string_equal(label(vec.v[0], "action_id"), cases[i].id);
		if (cases[i].command)
			assert_string_equal(label(vec.v[0], "command"), cases[i].command);
		else
			assert_null(label(vec.v[0], "command"));
		if (cases[i].duration)
			assert_string_equal(label(vec.v[0], "duration"), cases[i].duration);
		else
			assert_null(label(vec.v[0], "duration"));
		assert_string_equal(vec.v[0]->summary, cases[i].summary);
		ievent_vec_clear(&vec);
		json_decref(j);
	}
	/* an interaction that is not a button: recorded with its type, keyed by its body */
	{
		json_t *j = json_pack("{s:s, s:{s:s}, s:{s:s, s:s}, s:s}", "type",
		    "view_submission", "team", "id", "T0FAKE000", "user", "id", "U0CA5ALICE",
		    "name", "alice", "trigger_id", "1.2.3");

		assert_int_equal(normalize(j, &vec, err, sizeof(err)), 0);
		assert_string_equal(vec.v[0]->type, "slack.view_submission");
		assert_string_equal(vec.v[0]->summary, "slack: alice sent view_submission");
		assert_null(label(vec.v[0], "action_id"));
		assert_null(label(vec.v[0], "command"));
		assert_null(json_object_get(vec.v[0]->payload, "trigger_id"));
		assert_false(slack_request_key(vec.v[0], sha));
		ievent_vec_clear(&vec);
		json_decref(j);
	}
}

/* What a sender writes stays a string in a label, or is left out. */
static void
test_hostile(void **state)
{
	json_t *j = load_sample(), *a = json_array_get(json_object_get(j, "actions"), 0);
	struct ievent_vec vec = { 0 };
	char err[300], longname[400];

	(void)state;
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	json_object_set_new(a, "value", json_string("01KH1ZK3W0E4XJ0Y3S5B7D9F1H' OR 1=1"));
	json_object_set_new(a, "action_ts", json_string("1770000010.1 <!here>"));
	json_object_set_new(json_object_get(j, "container"), "channel_id",
	    json_string("C0\nINJECT"));
	json_object_set_new(json_object_get(j, "user"), "id", json_string("U1 <@U2>"));
	json_object_set_new(json_object_get(j, "user"), "username", json_string(longname));
	assert_int_equal(normalize(j, &vec, err, sizeof(err)), 0);
	assert_null(label(vec.v[0], "incident_id"));
	assert_null(label(vec.v[0], "slack_user"));
	/* not the container's channel: the channel object's */
	assert_string_equal(label(vec.v[0], "channel"), "C0INCIDENTS");
	assert_int_equal(strlen(label(vec.v[0], "slack_user_name")), 80);
	ievent_vec_clear(&vec);

	/* values that are not strings are absent, not errors */
	json_object_set_new(a, "value", json_integer(7));
	json_object_set_new(j, "team", json_string("T0"));
	assert_int_equal(normalize(j, &vec, err, sizeof(err)), 0);
	assert_null(label(vec.v[0], "incident_id"));
	assert_null(label(vec.v[0], "slack_team"));
	ievent_vec_clear(&vec);

	/* the type is required and must be a word */
	json_object_set_new(j, "type", json_string("block actions"));
	assert_int_equal(normalize(j, &vec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "payload.type"));
	json_object_del(j, "type");
	assert_int_equal(normalize(j, &vec, err, sizeof(err)), -EINVAL);
	assert_int_equal(vec.n, 0);
	json_decref(j);
}

static void
test_incident_id(void **state)
{
	(void)state;
	assert_true(slack_is_incident_id("01KH1ZK3W0E4XJ0Y3S5B7D9F1H"));
	assert_true(slack_is_incident_id("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
	assert_false(slack_is_incident_id("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
	assert_false(slack_is_incident_id("01KH1ZK3W0E4XJ0Y3S5B7D9F1"));
	assert_false(slack_is_incident_id("01KH1ZK3W0E4XJ0Y3S5B7D9F1HH"));
	assert_false(slack_is_incident_id("01kh1zk3w0e4xj0y3s5b7d9f1h"));
	assert_false(slack_is_incident_id("01KH1ZK3W0E4XJ0Y3S5B7D9F1I"));
	assert_false(slack_is_incident_id("01KH1ZK3W0E4XJ0Y3S5B7D9F1U"));
	assert_false(slack_is_incident_id(""));
	assert_false(slack_is_incident_id(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documented_vector),
		cmocka_unit_test(test_stale_and_future),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_button_event),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_incident_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
