/* test_slack_blocks.c - the slack sink's pure parts: the Block Kit message of every
 * tests/samples/argocd sample (fields asserted), each block of the seed message, resolve /
 * update / webhook variants, the GitHub button, hostile text (mentions, links, code fences,
 * control characters), Slack's limits (50 blocks, 3,000 / 2,000 / 150 characters, cut
 * visibly, never inside an entity or a character), template data, the chained issue
 * lookup and the classification of every kind of answer. */
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "blocks.h"
#include "source.h"
#include "template.h"

#define KEY "argocd/prod-west-aks/pets/aks-store"
#define EVENT_ID "01KB2Q9S7B4X0VZ9T6W3N5M8QJ"
#define SUMMARY "aks-store is Degraded (OutOfSync) in prod-west-aks/pets"
#define ZWSP "\xe2\x80\x8b"

/* --- helpers ------------------------------------------------------------------------- */

static json_t *
load_sample(const char *name)
{
	const char *dir = getenv("SAMPLES_DIR");
	char path[1024];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), "%s/argocd/%s", dir ? dir : "tests/samples", name);
	j = json_load_file(path, 0, &e);
	if (j == NULL)
		fail_msg("cannot load %s: %s", path, e.text);
	return j;
}

/* The event the broker hands to sinks for a sample (the ledger's event shape). Excerpts
 * without metadata get the name "my-app", as in test_argocd. */
static json_t *
sample_event(const char *name)
{
	struct source_input in = { .received_at = 1770000000000 };
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample(name), *ev;
	char err[512];
	int rc;

	in.body = body;
	rc = argocd_normalize(&in, &vec, err, sizeof(err));
	if (rc == -EINVAL && strstr(err, "metadata.name") != NULL) {
		json_object_set_new(body, "metadata", json_pack("{s:s}", "name", "my-app"));
		rc = argocd_normalize(&in, &vec, err, sizeof(err));
	}
	if (rc != 0)
		fail_msg("%s: %s", name, err);
	assert_int_equal(vec.n, 1);
	ev = ievent_to_json(vec.v[0], true);
	assert_non_null(ev);
	ievent_vec_clear(&vec);
	json_decref(body);
	return ev;
}

static json_t *
seed_event(void)
{
	json_t *ev = sample_event("seed-aks-store-degraded.client_payload.json");

	json_object_set_new(ev, "id", json_string(EVENT_ID));
	return ev;
}

static json_t *
incident(const char *title)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{}}", "id", "01KB2Q9S7B4X0VZ9T6W3N5M8QK",
	    "key", KEY, "state", "firing", "title", title, "opened_at",
	    "2026-02-10T03:01:13.000Z", "refs");
}

static json_t *
render(const json_t *inc, const json_t *ev, const struct slack_render_opts *o)
{
	json_t *msg = NULL;

	assert_int_equal(slack_render_message(inc, ev, o, &msg), 0);
	assert_non_null(msg);
	return msg;
}

static const json_t *
block(const json_t *msg, size_t i)
{
	const json_t *b = json_array_get(json_object_get(msg, "blocks"), i);

	if (b == NULL)
		fail_msg("no block %zu", i);
	return b;
}

static const char *
block_type(const json_t *msg, size_t i)
{
	return json_string_value(json_object_get(block(msg, i), "type"));
}

/* The text of a header or section block. */
static const char *
block_text(const json_t *msg, size_t i)
{
	const char *s = json_string_value(json_object_get(json_object_get(block(msg, i), "text"),
	    "text"));

	if (s == NULL)
		fail_msg("block %zu has no text", i);
	return s;
}

static const char *
field_text(const json_t *msg, size_t blk, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(block(msg, blk),
	    "fields"), i), "text"));
}

static const char *
context_text(const json_t *msg, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(block(msg, i),
	    "elements"), 0), "text"));
}

static bool
ends_with(const char *s, const char *end)
{
	size_t a = strlen(s), b = strlen(end);

	return a >= b && strcmp(s + a - b, end) == 0;
}

static void
check_mrkdwn(const char *s, const char *where)
{
	if (slack_measure_text(s) > SLACK_MAX_SECTION)
		fail_msg("%s: %zu characters", where, slack_measure_text(s));
	if (strpbrk(s, "<>") != NULL)
		fail_msg("%s: raw < or > in mrkdwn: %s", where, s);
	if (strstr(s, "@here") || strstr(s, "@channel") || strstr(s, "@everyone"))
		fail_msg("%s: a live broadcast mention: %s", where, s);
}

/* Everything Slack checks about a message's size and shape, plus our escaping rules. */
static void
check_limits(const json_t *msg)
{
	const json_t *blocks = json_object_get(msg, "blocks"), *b, *e;
	size_t i, k;

	assert_true(json_is_array(blocks));
	assert_true(json_array_size(blocks) >= 1);
	assert_true(json_array_size(blocks) <= SLACK_MAX_BLOCKS);
	check_mrkdwn(json_string_value(json_object_get(msg, "text")), "text");
	assert_true(json_is_false(json_object_get(msg, "unfurl_links")));
	json_array_foreach(blocks, i, b) {
		const char *type = json_string_value(json_object_get(b, "type"));
		const json_t *text = json_object_get(b, "text");

		assert_non_null(type);
		if (strcmp(type, "header") == 0) {
			assert_string_equal(json_string_value(json_object_get(text, "type")),
			    "plain_text");
			assert_true(slack_measure_text(json_string_value(json_object_get(text,
			    "text"))) <= SLACK_MAX_HEADER);
		} else if (strcmp(type, "section") == 0) {
			const json_t *fields = json_object_get(b, "fields");

			if (text != NULL) {
				assert_string_equal(json_string_value(json_object_get(text,
				    "type")), "mrkdwn");
				check_mrkdwn(json_string_value(json_object_get(text, "text")),
				    "section");
			}
			assert_true(text != NULL || json_array_size(fields) > 0);
			assert_true(json_array_size(fields) <= 10);
			json_array_foreach(fields, k, e) {
				const char *t = json_string_value(json_object_get(e, "text"));

				check_mrkdwn(t, "field");
				assert_true(slack_measure_text(t) <= SLACK_MAX_FIELD);
			}
		} else if (strcmp(type, "actions") == 0) {
			json_array_foreach(json_object_get(b, "elements"), k, e) {
				assert_string_equal(json_string_value(json_object_get(e, "type")),
				    "button");
				assert_true(slack_measure_text(json_string_value(json_object_get(
				    json_object_get(e, "text"), "text"))) <= SLACK_MAX_BUTTON);
				/* a link, or a command with a value (incidentd's buttons) */
				if (json_object_get(e, "url") != NULL)
					assert_true(strlen(json_string_value(json_object_get(e,
					    "url"))) <= SLACK_MAX_URL);
				else
					assert_true(strlen(json_string_value(json_object_get(e,
					    "value"))) <= 2000);
			}
		} else if (strcmp(type, "context") == 0) {
			assert_true(json_array_size(json_object_get(b, "elements")) <= 10);
			json_array_foreach(json_object_get(b, "elements"), k, e)
				check_mrkdwn(json_string_value(json_object_get(e, "text")),
				    "context");
		} else {
			fail_msg("unexpected block type %s", type);
		}
	}
}

/* --- the seed message, block by block ------------------------------------------------ */

static void
test_seed_open(void **state)
{
	json_t *ev = seed_event(), *inc = incident(SUMMARY), *msg;
	struct slack_render_opts o = { .action = "open" };

	(void)state;
	msg = render(inc, ev, &o);
	check_limits(msg);
	assert_string_equal(json_string_value(json_object_get(msg, "text")),
	    "\xf0\x9f\x94\xb4 Firing: " SUMMARY);
	assert_int_equal(json_array_size(json_object_get(msg, "blocks")), 7);
	assert_string_equal(block_type(msg, 0), "header");
	assert_string_equal(block_text(msg, 0), "\xf0\x9f\x94\xb4 Firing: " SUMMARY);
	assert_true(json_is_true(json_object_get(json_object_get(block(msg, 0), "text"),
	    "emoji")));
	assert_string_equal(block_text(msg, 1), SUMMARY);
	assert_string_equal(field_text(msg, 2, 0), "*Cluster*\nprod-west-aks");
	assert_string_equal(field_text(msg, 2, 1), "*Namespace*\npets");
	assert_string_equal(field_text(msg, 2, 2), "*App*\naks-store");
	assert_string_equal(field_text(msg, 2, 3), "*Health*\nDegraded");
	assert_string_equal(field_text(msg, 2, 4), "*Sync*\nOutOfSync");
	assert_string_equal(field_text(msg, 2, 5), "*Revision*\n4194267f2c1d");
	assert_null(field_text(msg, 2, 6));
	assert_string_equal(block_text(msg, 3), "*Error*\n```\none or more objects failed to "
	    "apply, reason: Deployment \"store-front\" exceeded its progress deadline\n```");
	/* degraded and missing resources only, in order */
	assert_string_equal(block_text(msg, 4), "*Deployment store-front* in pets — health "
	    "Degraded, sync Synced\n```\nDeployment \"store-front\" exceeded its progress "
	    "deadline\n```");
	assert_string_equal(block_text(msg, 5), "*Service store-front* in pets — health "
	    "Missing, sync Synced");
	assert_string_equal(block_type(msg, 6), "context");
	assert_string_equal(context_text(msg, 6), "incidentd · incident " KEY " · event "
	    EVENT_ID);
	json_decref(msg);
	json_decref(ev);
	json_decref(inc);
}

static void
test_update_and_resolve(void **state)
{
	json_t *ev = seed_event(), *inc = incident(SUMMARY), *msg, *rec;
	struct slack_render_opts o = { .action = "update" };

	(void)state;
	msg = render(inc, ev, &o);
	assert_string_equal(block_text(msg, 0), "\xf0\x9f\x94\x81 Still firing: " SUMMARY);
	assert_string_equal(context_text(msg, 6), "incidentd · incident " KEY " · event "
	    EVENT_ID);
	json_decref(msg);

	rec = sample_event("seed-aks-store-recovered.client_payload.json");
	o.action = "resolve";
	msg = render(inc, rec, &o);
	check_limits(msg);
	assert_string_equal(block_text(msg, 0), "\xe2\x9c\x85 Resolved: " SUMMARY);
	assert_string_equal(block_text(msg, 1), json_string_value(json_object_get(rec,
	    "summary")));
	assert_string_equal(field_text(msg, 2, 3), "*Health*\nHealthy");
	assert_string_equal(field_text(msg, 2, 4), "*Sync*\nSynced");
	/* no error and no resources on resolve: header, summary, fields, context */
	assert_int_equal(json_array_size(json_object_get(msg, "blocks")), 4);
	assert_string_equal(block_type(msg, 3), "context");
	json_decref(msg);
	json_decref(rec);
	json_decref(ev);
	json_decref(inc);
}

static void
test_webhook_followup_and_button(void **state)
{
	json_t *ev = seed_event(), *inc = incident(SUMMARY), *msg, *btn;
	struct slack_render_opts o = { .action = "resolve", .webhook = true, .issue_url =
		"https://github.com/my-org/platform-incidents/issues/42", .issue_number = 42 };

	(void)state;
	msg = render(inc, ev, &o);
	check_limits(msg);
	assert_int_equal(json_array_size(json_object_get(msg, "blocks")), 5);
	assert_string_equal(block_type(msg, 3), "actions");
	btn = json_array_get(json_object_get(block(msg, 3), "elements"), 0);
	assert_string_equal(json_string_value(json_object_get(btn, "type")), "button");
	assert_string_equal(json_string_value(json_object_get(json_object_get(btn, "text"),
	    "text")), "GitHub issue #42");
	assert_string_equal(json_string_value(json_object_get(btn, "url")),
	    "https://github.com/my-org/platform-incidents/issues/42");
	assert_string_equal(context_text(msg, 4), "Incoming webhooks cannot reply in threads: "
	    "this message follows up the incident opened 2026-02-10T03:01:13.000Z. incidentd · "
	    "incident " KEY " · event " EVENT_ID);
	json_decref(msg);

	/* an open message by webhook needs no such note; the button sits before the context */
	o.action = "open";
	msg = render(inc, ev, &o);
	assert_int_equal(json_array_size(json_object_get(msg, "blocks")), 8);
	assert_string_equal(block_type(msg, 6), "actions");
	assert_string_equal(context_text(msg, 7), "incidentd · incident " KEY " · event "
	    EVENT_ID);
	json_decref(msg);
	json_decref(ev);
	json_decref(inc);
}

/* Every Argo CD sample renders within the limits, with the event's fields. */
static void
test_every_argocd_sample(void **state)
{
	const char *dir = getenv("SAMPLES_DIR");
	char path[1024];
	struct dirent *de;
	DIR *d;
	int n = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/argocd", dir ? dir : "tests/samples");
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		static const char *const actions[] = { "open", "update", "resolve" };
		size_t len = strlen(de->d_name);
		json_t *ev, *inc, *msg;

		if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		ev = sample_event(de->d_name);
		inc = incident(json_string_value(json_object_get(ev, "summary")));
		for (size_t a = 0; a < 3; a++) {
			struct slack_render_opts o = { .action = actions[a] };
			static const char *const names[] = { "cluster", "namespace", "app",
				"health", "sync" };
			static const char *const labels[] = { "Cluster", "Namespace", "App",
				"Health", "Sync" };

			msg = render(inc, ev, &o);
			check_limits(msg);
			for (size_t f = 0; f < 5; f++) {
				const char *v = json_string_value(json_object_get(ev, names[f]));
				char want[512];

				snprintf(want, sizeof(want), "*%s*\n%s", labels[f],
				    v && *v ? v : "—");
				if (strcmp(field_text(msg, 2, f), want) != 0)
					fail_msg("%s %s: field %s: %s", de->d_name, actions[a],
					    labels[f], field_text(msg, 2, f));
			}
			assert_true(ends_with(block_text(msg, 0), json_string_value(
			    json_object_get(ev, "summary"))));
			json_decref(msg);
		}
		json_decref(ev);
		json_decref(inc);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 8);
}

/* --- hostile text and limits --------------------------------------------------------- */

static void
test_escape_rules(void **state)
{
	char *s = NULL;

	(void)state;
	assert_int_equal(slack_escape_mrkdwn("a & b < c > d", 0, false, &s), 0);
	assert_string_equal(s, "a &amp; b &lt; c &gt; d");
	free(s);
	assert_int_equal(slack_escape_mrkdwn("<!channel> <!here|x> <@U123> "
	    "<https://evil.example|click> @here @Channel @everyone @bob", 0, false, &s), 0);
	assert_string_equal(s, "&lt;!channel&gt; &lt;!here|x&gt; &lt;@" ZWSP "U123&gt; "
	    "&lt;https:" ZWSP "//evil.example|click&gt; @" ZWSP "here @" ZWSP "Channel @" ZWSP
	    "everyone @" ZWSP "bob");
	free(s);
	/* control characters: \r dropped, others a space; newlines too in mrkdwn (only the
	 * renderer starts lines), kept in code */
	assert_int_equal(slack_escape_mrkdwn("a\r\nb\x01" "c\td", 0, false, &s), 0);
	assert_string_equal(s, "a b c d");
	free(s);
	assert_int_equal(slack_escape_mrkdwn("a\r\nb", 0, true, &s), 0);
	assert_string_equal(s, "a\nb");
	free(s);
	/* formatting characters between zero-width spaces; no quote at the start; no
	 * #channel, URL or www. autolink */
	assert_int_equal(slack_escape_mrkdwn("> *b* _i_ ~s~ `c` #general http://x www.y", 0,
	    false, &s), 0);
	assert_string_equal(s, ZWSP "&gt; " ZWSP "*" ZWSP "b" ZWSP "*" ZWSP " " ZWSP "_" ZWSP "i"
	    ZWSP "_" ZWSP " " ZWSP "~" ZWSP "s" ZWSP "~" ZWSP " " ZWSP "`" ZWSP "c" ZWSP "`" ZWSP
	    " #" ZWSP "general http:" ZWSP "//x www" ZWSP ".y");
	free(s);
	/* inside a code block, a run of backticks can never close it */
	assert_int_equal(slack_escape_mrkdwn("x ``` y ```` z `", 0, true, &s), 0);
	assert_string_equal(s, "x `" ZWSP "`" ZWSP "` y `" ZWSP "`" ZWSP "`" ZWSP "` z `");
	assert_null(strstr(s, "``"));
	free(s);
	/* plain text: no entities, newlines as spaces */
	assert_int_equal(slack_format_plain("a <b> & c\nd", 0, &s), 0);
	assert_string_equal(s, "a <b> & c d");
	free(s);
	assert_int_equal(slack_escape_mrkdwn(NULL, 0, false, &s), 0);
	assert_string_equal(s, "");
	free(s);
}

static void
test_cut_visibly(void **state)
{
	char *s = NULL;
	char big[10000];

	(void)state;
	/* the mark is 13 characters: 20 leave 7 of the text */
	assert_int_equal(slack_measure_text(SLACK_TRUNC_MARK), 13);
	assert_int_equal(slack_escape_mrkdwn("abcdefghijklmnopqrstuvwxyz", 20, false, &s), 0);
	assert_string_equal(s, "abcdefg" SLACK_TRUNC_MARK);
	free(s);
	/* exactly at the limit: untouched */
	assert_int_equal(slack_escape_mrkdwn("abcdefghijklmnopqrst", 20, false, &s), 0);
	assert_string_equal(s, "abcdefghijklmnopqrst");
	free(s);
	/* never inside an entity: "&amp;" is 5, a second one would pass 7 */
	assert_int_equal(slack_escape_mrkdwn("&&&&&&", 20, false, &s), 0);
	assert_string_equal(s, "&amp;" SLACK_TRUNC_MARK);
	free(s);
	/* never inside a character; 4-byte characters count 2 (UTF-16) */
	assert_int_equal(slack_format_plain("ééééé😀😀😀😀😀😀😀😀😀😀", 20, &s), 0);
	assert_string_equal(s, "ééééé😀" SLACK_TRUNC_MARK);
	assert_int_equal(slack_measure_text(s), 20);
	free(s);
	/* a 10,000-character message is cut to 3,000 exactly */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(slack_escape_mrkdwn(big, SLACK_MAX_SECTION, false, &s), 0);
	assert_int_equal(slack_measure_text(s), SLACK_MAX_SECTION);
	assert_true(ends_with(s, "x" SLACK_TRUNC_MARK));
	free(s);
}

static void
test_hostile_event(void **state)
{
	json_t *ev = seed_event(), *inc, *msg;
	struct slack_render_opts o = { .action = "open" };
	char title[1000], *msgtext;
	const char *t;
	size_t n = 0;

	(void)state;
	memset(title, 'T', sizeof(title) - 1);
	title[sizeof(title) - 1] = '\0';
	inc = incident(title);
	/* a 20,000-byte error full of fences, entities and mentions */
	msgtext = malloc(20001);
	assert_non_null(msgtext);
	while (n < 20000) {
		const char *piece = "```<!channel>&@here ";
		size_t pl = strlen(piece);

		memcpy(msgtext + n, piece, pl < 20000 - n ? pl : 20000 - n);
		n += pl < 20000 - n ? pl : 20000 - n;
	}
	msgtext[20000] = '\0';
	json_object_set_new(ev, "message", json_string(msgtext));
	json_object_set_new(ev, "summary", json_string("<!here> deploy & <@U1> `x`"));
	json_object_set_new(ev, "cluster", json_string("<https://evil|prod>"));
	msg = render(inc, ev, &o);
	check_limits(msg);
	/* the header is cut to 150 characters, visibly */
	assert_int_equal(slack_measure_text(block_text(msg, 0)), SLACK_MAX_HEADER);
	assert_true(ends_with(block_text(msg, 0), "T" SLACK_TRUNC_MARK));
	assert_string_equal(block_text(msg, 1), "&lt;!here&gt; deploy &amp; &lt;@" ZWSP "U1&gt; "
	    ZWSP "`" ZWSP "x" ZWSP "`" ZWSP);
	assert_string_equal(field_text(msg, 2, 0), "*Cluster*\n&lt;https:" ZWSP "//evil|prod&gt;");
	/* the error block stays one closed code block within 3,000 characters */
	t = block_text(msg, 3);
	assert_true(strncmp(t, "*Error*\n```\n", 12) == 0);
	assert_true(ends_with(t, SLACK_TRUNC_MARK "\n```"));
	assert_true(slack_measure_text(t) <= SLACK_MAX_SECTION);
	assert_true(slack_measure_text(t) >= SLACK_MAX_SECTION - 5);
	{
		char *inside = strndup(t + 12, strlen(t) - 12 - 4);

		assert_non_null(inside);
		assert_null(strstr(inside, "``"));
		assert_null(strstr(inside, "@here"));
		assert_null(strchr(inside, '<'));
		free(inside);
	}
	free(msgtext);
	json_decref(msg);
	json_decref(ev);
	json_decref(inc);
}

/* --- every construct in every field ------------------------------------------------ */

static const struct hostile {
	const char *value;
	const char *needles[6];      /* must not appear verbatim outside code blocks */
} hostile[] = {
	{ "<!here> <!channel> <!everyone> <@U024BE7LH> <!subteam^S123|sre> <#C123>",
	  { "<!", "<@", "<#" } },
	{ "<!date^1392734382^{date}|x> <tel:123|call>", { "<!", "<tel" } },
	{ "@here @channel @everyone @bob @sre-team", { "@here", "@channel", "@everyone",
	  "@bob", "@sre" } },
	{ "<https://evil.example|click> <mailto:a@b.example>", { "<http", "<mailto", "://" } },
	{ "https://evil.example/x.png and www.evil.example", { "://", "www.evil" } },
	{ "*bold* _it_ ~strike~ `code` ```block```", { "*bold*", "_it_", "~strike~", "`code`",
	  "```block" } },
	{ "> quoted", { NULL } },
	{ "\n> quote\n>>> rest\n&gt; again", { "&gt; again" } },
	{ "line1\nline2\r\n\tx\x01y", { NULL } },
	{ "see #general and #C123", { "#general", "#C123" } },
	{ "``` ```` ` end with `", { NULL } },
	{ "&amp; &lt;b&gt; &#64;x", { "&amp; ", "&lt;b", "&#64;" } },
};

/* One mrkdwn text of ours: lines split only where we put them (lines, the count we
 * expect outside code), code blocks closed once, nothing live. */
static void
check_inert_mrkdwn(const char *t, size_t lines, const struct hostile *h, const char *where)
{
	const char *code = strstr(t, "\n```\n");
	char outside[8192], inside[8192] = "";
	size_t nl = 0;

	snprintf(outside, sizeof(outside), "%s", t);
	if (code != NULL) {
		size_t head = (size_t)(code - t), blen;

		if (!ends_with(t, "\n```"))
			fail_msg("%s: a code block not closed last: %s", where, t);
		blen = strlen(t) - head - 9;
		snprintf(inside, sizeof(inside), "%.*s", (int)blen, code + 5);
		outside[head] = '\0';
		if (strstr(inside, "``") != NULL)
			fail_msg("%s: a fence inside the code block: %s", where, t);
	}
	for (const char *p = outside; *p; p++)
		nl += *p == '\n';
	if (nl != lines)
		fail_msg("%s: %zu line breaks, want %zu: %s", where, nl, lines, t);
	for (const char *p = outside; *p; p++) {
		if (*p == '<')
			fail_msg("%s: '<' (a link, mention or command): %s", where, t);
		if (*p == '@' && isalnum((unsigned char)p[1]))
			fail_msg("%s: a live mention: %s", where, t);
		if (*p == '#' && isalnum((unsigned char)p[1]))
			fail_msg("%s: a channel link: %s", where, t);
		if (strncmp(p, "://", 3) == 0 || strncasecmp(p, "www.", 4) == 0)
			fail_msg("%s: a URL: %s", where, t);
		if ((p == outside || p[-1] == '\n') && strncmp(p, "&gt;", 4) == 0)
			fail_msg("%s: a quote: %s", where, t);
	}
	for (const char *p = inside; *p; p++)
		if ((*p == '@' && isalnum((unsigned char)p[1])) || *p == '<' ||
		    strncmp(p, "://", 3) == 0)
			fail_msg("%s: live inside the code block: %s", where, t);
	for (size_t i = 0; i < 6 && h->needles[i]; i++)
		if (strstr(outside, h->needles[i]) != NULL)
			fail_msg("%s: '%s' in %s", where, h->needles[i], t);
}

static void
check_inert_message(const json_t *msg, const struct hostile *h, const char *field)
{
	const json_t *blocks = json_object_get(msg, "blocks"), *b, *e;
	const char *fb = json_string_value(json_object_get(msg, "text"));
	char where[160];
	size_t i, k;

	snprintf(where, sizeof(where), "%s = '%s': fallback", field, h->value);
	check_inert_mrkdwn(fb, 0, h, where);
	json_array_foreach(blocks, i, b) {
		const char *type = json_string_value(json_object_get(b, "type"));
		const json_t *text = json_object_get(b, "text");
		const char *tt = json_string_value(json_object_get(text, "text"));

		snprintf(where, sizeof(where), "%s = '%s': block %zu", field, h->value, i);
		if (strcmp(type, "header") == 0) {
			for (const char *p = tt; *p; p++)
				if ((unsigned char)*p < 0x20)
					fail_msg("%s: a control character in the header", where);
		} else if (strcmp(type, "section") == 0 && text != NULL) {
			assert_true(json_is_true(json_object_get(text, "verbatim")));
			/* "*Error*\n```…```", a resource "*Kind name* …\n```…```", the summary */
			check_inert_mrkdwn(tt, 0, h, where);
		} else if (strcmp(type, "section") == 0) {
			json_array_foreach(json_object_get(b, "fields"), k, e) {
				assert_true(json_is_true(json_object_get(e, "verbatim")));
				check_inert_mrkdwn(json_string_value(json_object_get(e, "text")), 1, h,
				    where);
			}
		} else if (strcmp(type, "context") == 0) {
			json_array_foreach(json_object_get(b, "elements"), k, e) {
				assert_true(json_is_true(json_object_get(e, "verbatim")));
				check_inert_mrkdwn(json_string_value(json_object_get(e, "text")), 0, h,
				    where);
			}
		}
	}
}

/* Set a string member of o, or of o's first resource for "resources.0.<key>". */
static void
set_field(json_t *o, const char *path, const char *value)
{
	if (strncmp(path, "resources.0.", 12) == 0)
		o = json_array_get(json_object_get(o, "resources"), 0), path += 12;
	assert_non_null(o);
	json_object_set_new(o, path, json_string(value));
}

/* Every hostile value in every field the message prints, for every action, by webhook
 * and by token; and in the data of templates. */
static void
test_inert_everywhere(void **state)
{
	static const char *const ev_fields[] = { "summary", "cluster", "namespace", "app",
		"health", "sync", "revision", "message", "id", "repo_url", "resources.0.kind",
		"resources.0.name", "resources.0.namespace", "resources.0.health",
		"resources.0.sync", "resources.0.message" };
	static const char *const inc_fields[] = { "title", "key", "opened_at" };
	static const char *const actions[] = { "open", "update", "resolve" };

	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		for (size_t f = 0; f < sizeof(ev_fields) / sizeof(ev_fields[0]) +
		    sizeof(inc_fields) / sizeof(inc_fields[0]); f++) {
			bool on_inc = f >= sizeof(ev_fields) / sizeof(ev_fields[0]);
			const char *field = on_inc ? inc_fields[f - sizeof(ev_fields) /
			    sizeof(ev_fields[0])] : ev_fields[f];
			json_t *ev = seed_event(), *inc = incident(SUMMARY), *data = NULL;

			/* the first resource degraded with a message, whatever the field */
			set_field(ev, "resources.0.health", "Degraded");
			set_field(on_inc ? inc : ev, field, hostile[i].value);
			if (strcmp(field, "resources.0.health") == 0)
				json_array_append_new(json_object_get(ev, "resources"), json_pack(
				    "{s:s, s:s, s:s}", "kind", "Pod", "name", "p", "health",
				    "Degraded"));
			for (size_t a = 0; a < 3; a++) {
				for (int webhook = 0; webhook < 2; webhook++) {
					struct slack_render_opts o = { .action = actions[a], .webhook =
						webhook, .issue_url = "https://github.com/o/r/issues/4",
						.issue_number = 4 };
					json_t *msg = render(inc, ev, &o);

					check_limits(msg);
					check_inert_message(msg, &hostile[i], field);
					json_decref(msg);
				}
			}
			assert_int_equal(slack_build_template_data(inc, ev, "open", NULL, 0, true,
			    &data), 0);
			{
				const char *k;
				json_t *v;

				json_object_foreach(data, k, v) {
					char where[160];

					snprintf(where, sizeof(where), "%s = '%s': template %s", field,
					    hostile[i].value, k);
					if (json_is_string(v))
						check_inert_mrkdwn(json_string_value(v), 0, &hostile[i],
						    where);
				}
			}
			json_decref(data);
			json_decref(ev);
			json_decref(inc);
		}
	}
}

/* 100 degraded resources: 50 blocks, the last resource block sums up the rest. */
static void
test_block_limit(void **state)
{
	json_t *ev = seed_event(), *inc = incident(SUMMARY), *msg, *res = json_array();
	struct slack_render_opts o = { .action = "open", .issue_url =
		"https://github.com/my-org/platform-incidents/issues/7", .issue_number = 7 };
	char name[32];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "pod-%d", i);
		json_array_append_new(res, json_pack("{s:s, s:s, s:s, s:s}", "kind", "Pod",
		    "name", name, "health", i % 2 ? "Degraded" : "Missing", "message",
		    "CrashLoopBackOff"));
	}
	json_array_append_new(res, json_pack("{s:s, s:s, s:s}", "kind", "Service", "name",
	    "ok", "health", "Healthy"));
	json_object_set_new(ev, "resources", res);
	msg = render(inc, ev, &o);
	check_limits(msg);
	assert_int_equal(json_array_size(json_object_get(msg, "blocks")), SLACK_MAX_BLOCKS);
	/* header, summary, fields, error, 43 resources, the rest, button, context */
	assert_string_equal(block_text(msg, 4), "*Pod pod-0* in pets — health Missing, sync "
	    "—\n```\nCrashLoopBackOff\n```");
	assert_string_equal(block_text(msg, 46), "*Pod pod-42* in pets — health Missing, sync "
	    "—\n```\nCrashLoopBackOff\n```");
	assert_string_equal(block_text(msg, 47), "… and 57 more degraded resources (see "
	    "`incidentctl incident`)");
	assert_string_equal(block_type(msg, 48), "actions");
	assert_string_equal(block_type(msg, 49), "context");
	json_decref(msg);

	/* a resource message is cut at SLACK_RES_MSG_MAX */
	{
		char longmsg[2000];
		const char *t;

		memset(longmsg, 'm', sizeof(longmsg) - 1);
		longmsg[sizeof(longmsg) - 1] = '\0';
		json_object_set_new(ev, "resources", json_pack("[{s:s, s:s, s:s, s:s}]", "kind",
		    "Pod", "name", "p", "health", "Degraded", "message", longmsg));
		msg = render(inc, ev, &o);
		t = block_text(msg, 4);
		assert_true(ends_with(t, SLACK_TRUNC_MARK "\n```"));
		assert_int_equal(slack_measure_text(strstr(t, "```\n") + 4) - 4, SLACK_RES_MSG_MAX);
		json_decref(msg);
	}
	json_decref(ev);
	json_decref(inc);
}

static void
test_templates(void **state)
{
	json_t *ev = seed_event(), *inc = incident(SUMMARY), *data = NULL, *msg;
	struct slack_render_opts o = { .action = "open" };
	struct template *t = NULL;
	char *out = NULL, err[128];

	(void)state;
	json_object_set_new(ev, "app", json_string("<b>&app"));
	/* mrkdwn data: every value escaped; the template's own markup survives */
	assert_int_equal(slack_build_template_data(inc, ev, "open",
	    "https://github.com/my-org/platform-incidents/issues/42", 42, true, &data), 0);
	assert_string_equal(json_string_value(json_object_get(data, "app")), "&lt;b&gt;&amp;app");
	assert_string_equal(json_string_value(json_object_get(data, "repo")),
	    "my-org/platform-incidents");
	assert_string_equal(json_string_value(json_object_get(data, "status")), "firing");
	assert_string_equal(json_string_value(json_object_get(data, "action")), "open");
	assert_string_equal(json_string_value(json_object_get(data, "key")), KEY);
	assert_int_equal(template_compile("*{{app}}* in {{cluster}}{{#issue}}: <{{url}}|#"
	    "{{number}}>{{/issue}}", TEMPLATE_ESCAPE_NONE, &t, err, sizeof(err)), 0);
	assert_int_equal(template_render(t, data, &out), 0);
	assert_string_equal(out, "*&lt;b&gt;&amp;app* in prod-west-aks: "
	    "<https://github.com/my-org/platform-incidents/issues/42|#42>");
	o.text = out;
	o.title = "Deploy {{broken}} & <done>";
	msg = render(inc, ev, &o);
	assert_string_equal(block_text(msg, 1), out);
	assert_string_equal(block_text(msg, 0), "Deploy {{broken}} & <done>");
	assert_string_equal(json_string_value(json_object_get(msg, "text")),
	    "Deploy {{broken}} &amp; &lt;done&gt;");
	json_decref(msg);
	free(out);
	template_destroy(t);
	json_decref(data);

	/* plain data (for the title): values as they are; without an issue, repo_url */
	assert_int_equal(slack_build_template_data(inc, ev, "resolve", NULL, 0, false, &data),
	    0);
	assert_string_equal(json_string_value(json_object_get(data, "app")), "<b>&app");
	assert_string_equal(json_string_value(json_object_get(data, "repo")),
	    "https://github.com/example-org/agentic-platform-engineering");
	assert_null(json_object_get(data, "issue"));
	assert_null(json_object_get(data, "url"));
	json_decref(data);

	/* a formatted text over the limit is cut, never inside an entity */
	{
		char big[4000];

		for (size_t i = 0; i + 5 < sizeof(big); i += 5)
			memcpy(big + i, "&amp;", 5);
		big[sizeof(big) - 5] = '\0';
		o.text = big;
		o.title = NULL;
		msg = render(inc, ev, &o);
		assert_true(ends_with(block_text(msg, 1), "&amp;" SLACK_TRUNC_MARK));
		assert_true(slack_measure_text(block_text(msg, 1)) <= SLACK_MAX_SECTION);
		json_decref(msg);
	}
	json_decref(ev);
	json_decref(inc);
}

/* --- the issue of a chained github sink ---------------------------------------------- */

static void
test_find_issue(void **state)
{
	const char *url = NULL;
	json_int_t n = 0;
	json_t *refs;

	(void)state;
	refs = json_loads("{\"github\": {\"issue\": 42, \"url\": \"https://github.com/o/r/issues/"
	    "42\", \"repo\": \"o/r\"}, \"slack\": {\"thread_ts\": \"1.2\"}, \"doctor\": "
	    "{\"labeled\": true, \"issue\": 42}}", 0, NULL);
	assert_true(slack_find_issue(refs, NULL, "slack", &url, &n));
	assert_string_equal(url, "https://github.com/o/r/issues/42");
	assert_int_equal(n, 42);
	/* issue_from names it; a name without an issue gives none */
	assert_true(slack_find_issue(refs, "github", "slack", &url, &n));
	assert_false(slack_find_issue(refs, "doctor", "slack", &url, &n));
	assert_null(url);
	/* two candidates: ambiguous without issue_from */
	json_object_set_new(refs, "github2", json_pack("{s:i, s:s}", "issue", 7, "url",
	    "https://github.com/o/other/issues/7"));
	assert_false(slack_find_issue(refs, NULL, "slack", &url, &n));
	assert_true(slack_find_issue(refs, "github2", "slack", &url, &n));
	assert_int_equal(n, 7);
	/* our own entry never counts: github is then the only one */
	assert_true(slack_find_issue(refs, NULL, "github2", &url, &n));
	assert_int_equal(n, 42);
	json_object_del(refs, "github2");
	/* hostile or odd URLs are not linked */
	json_object_set_new(json_object_get(refs, "github"), "url",
	    json_string("javascript:alert(1)"));
	assert_false(slack_find_issue(refs, NULL, "slack", &url, &n));
	json_object_set_new(json_object_get(refs, "github"), "url",
	    json_string("https://x.example/a|b>"));
	assert_false(slack_find_issue(refs, NULL, "slack", &url, &n));
	json_object_set_new(json_object_get(refs, "github"), "url",
	    json_string("https://github.com/o/r/issues/42"));
	json_object_set_new(json_object_get(refs, "github"), "issue", json_integer(0));
	assert_false(slack_find_issue(refs, NULL, "slack", &url, &n));
	assert_false(slack_find_issue(NULL, NULL, "slack", &url, &n));
	json_decref(refs);
}

/* --- Slack's answers ----------------------------------------------------------------- */

struct answer_case {
	bool webhook;
	long status;
	const char *body;
	long retry_after;
	const char *error;
	enum slack_verdict want;
	uint64_t want_ms;
	const char *detail;
};

static void
test_classify(void **state)
{
	static const struct answer_case cases[] = {
		/* incoming webhooks: plain-text answers */
		{ true, 200, "ok", -1, NULL, SLACK_OK, 0, "posted (incoming webhook)" },
		{ true, 400, "invalid_payload", -1, NULL, SLACK_FAIL, 0,
		  "incoming webhook: HTTP 400: invalid_payload" },
		{ true, 403, "action_prohibited", -1, NULL, SLACK_FAIL, 0,
		  "incoming webhook: HTTP 403: action_prohibited" },
		{ true, 403, "invalid_token", -1, NULL, SLACK_FAIL, 0,
		  "incoming webhook: HTTP 403: invalid_token" },
		{ true, 404, "channel_not_found", -1, NULL, SLACK_FAIL, 0,
		  "incoming webhook: HTTP 404: channel_not_found" },
		{ true, 404, "no_service", -1, NULL, SLACK_FAIL, 0,
		  "incoming webhook: HTTP 404: no_service" },
		{ true, 410, "channel_is_archived", -1, NULL, SLACK_FAIL, 0,
		  "incoming webhook: HTTP 410: channel_is_archived" },
		{ true, 500, "rollup_error", -1, NULL, SLACK_RETRY, 0,
		  "incoming webhook: HTTP 500: rollup_error" },
		{ true, 502, "", -1, NULL, SLACK_RETRY, 0,
		  "incoming webhook: HTTP 502: no reason given" },
		{ true, 429, "rate_limited", 3, NULL, SLACK_RETRY, 3000,
		  "incoming webhook: rate limited by Slack (HTTP 429), retry after 3s" },
		{ true, 429, NULL, -1, NULL, SLACK_RETRY, SLACK_DEFAULT_RETRY_S * 1000,
		  "incoming webhook: rate limited by Slack (HTTP 429), retry after 30s" },
		{ true, 0, NULL, -1, "Operation timed out after 2000 milliseconds", SLACK_RETRY,
		  0, "incoming webhook: no answer from Slack: Operation timed out after 2000 "
		  "milliseconds" },
		/* a body that is not a short word is cut at its first line, 100 characters */
		{ true, 404, "channel_not_found\nsecret detail", -1, NULL, SLACK_FAIL, 0,
		  "incoming webhook: HTTP 404: channel_not_found" },
		{ true, 400, "bad\x01" "byte", -1, NULL, SLACK_FAIL, 0,
		  "incoming webhook: HTTP 400: bad?byte" },
		/* chat.postMessage: HTTP 200 with ok true / false */
		{ false, 200, "{\"ok\": true, \"channel\": \"C1\", \"ts\": \"1.2\"}", -1, NULL,
		  SLACK_OK, 0, "posted" },
		{ false, 200, "{\"ok\": false, \"error\": \"channel_not_found\"}", -1, NULL,
		  SLACK_FAIL, 0, "chat.postMessage: channel_not_found" },
		{ false, 200, "{\"ok\": false, \"error\": \"is_archived\"}", -1, NULL, SLACK_FAIL,
		  0, "chat.postMessage: is_archived" },
		{ false, 200, "{\"ok\": false, \"error\": \"invalid_auth\"}", -1, NULL, SLACK_FAIL,
		  0, "chat.postMessage: invalid_auth" },
		{ false, 200, "{\"ok\": false, \"error\": \"invalid_blocks\", \"response_metadata\":"
		  " {\"messages\": [\"[ERROR] must be less than 151 characters [json-pointer:"
		  "/blocks/0/text/text]\"]}}", -1, NULL, SLACK_FAIL, 0,
		  "chat.postMessage: invalid_blocks ([ERROR] must be less than 151 characters "
		  "[json-pointer:/blocks/0/text/text])" },
		{ false, 200, "{\"ok\": false, \"error\": \"ratelimited\"}", 5, NULL, SLACK_RETRY,
		  5000, "chat.postMessage: ratelimited" },
		{ false, 200, "{\"ok\": false, \"error\": \"internal_error\"}", -1, NULL,
		  SLACK_RETRY, 0, "chat.postMessage: internal_error" },
		{ false, 200, "{\"ok\": false, \"error\": \"service_unavailable\"}", -1, NULL,
		  SLACK_RETRY, 0, "chat.postMessage: service_unavailable" },
		{ false, 200, "<html>proxy</html>", -1, NULL, SLACK_RETRY, 0,
		  "chat.postMessage: unexpected answer (HTTP 200)" },
		{ false, 429, "{\"ok\": false, \"error\": \"ratelimited\"}", 2, NULL, SLACK_RETRY,
		  2000, "chat.postMessage: rate limited by Slack (HTTP 429), retry after 2s" },
		{ false, 503, "{\"ok\": false, \"error\": \"service_unavailable\"}", -1, NULL,
		  SLACK_RETRY, 0, "chat.postMessage: HTTP 503: service_unavailable" },
		{ false, 404, "Not Found", -1, NULL, SLACK_FAIL, 0,
		  "chat.postMessage: HTTP 404: Not Found" },
		{ false, 0, NULL, -1, NULL, SLACK_RETRY, 0,
		  "chat.postMessage: no answer from Slack: no answer" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct answer_case *c = &cases[i];
		struct slack_answer a = { .status = c->status, .body = c->body,
			.retry_after_s = c->retry_after, .error = c->error };
		uint64_t ms = 12345;
		char detail[256];
		enum slack_verdict v;

		v = slack_classify_answer(c->webhook, &a, &ms, detail, sizeof(detail));
		if (v != c->want || ms != c->want_ms || strcmp(detail, c->detail) != 0)
			fail_msg("case %zu: verdict %d ms %llu detail '%s'", i, (int)v,
			    (unsigned long long)ms, detail);
	}
}

/* --- buttons and the message after a command ----------------------------------------- */

#define INC_ID "01KB2Q9S7B4X0VZ9T6W3N5M8QK"

static const char *
el_str(const json_t *block_, size_t i, const char *k)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(block_,
	    "elements"), i), k));
}

/* The open message with buttons: one actions block before the context line, the four
 * commands with the incident id, Resolve red and asking first, then the issue's link. */
static void
test_buttons(void **state)
{
	json_t *ev = seed_event(), *inc = incident(SUMMARY), *msg;
	struct slack_render_opts o = { .action = "open", .buttons = true, .incident_id = INC_ID,
		.issue_url = "https://github.com/my-org/platform-incidents/issues/42",
		.issue_number = 42 };
	static const char *const ids[] = { SLACK_ACTION_ACK, SLACK_ACTION_SILENCE_1H,
		SLACK_ACTION_SILENCE_4H, SLACK_ACTION_RESOLVE };
	static const char *const labels[] = { "Acknowledge", "Silence 1h", "Silence 4h",
		"Resolve" };
	const json_t *acts, *confirm;
	size_t n;

	(void)state;
	msg = render(inc, ev, &o);
	check_limits(msg);
	n = json_array_size(json_object_get(msg, "blocks"));
	assert_string_equal(block_type(msg, n - 2), "actions");
	assert_string_equal(block_type(msg, n - 1), "context");
	acts = block(msg, n - 2);
	assert_string_equal(json_string_value(json_object_get(acts, "block_id")),
	    SLACK_ACTIONS_BLOCK);
	assert_int_equal(json_array_size(json_object_get(acts, "elements")), 5);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(el_str(acts, i, "action_id"), ids[i]);
		assert_string_equal(el_str(acts, i, "value"), INC_ID);
		assert_string_equal(json_string_value(json_object_get(json_object_get(
		    json_array_get(json_object_get(acts, "elements"), i), "text"), "text")),
		    labels[i]);
		assert_null(el_str(acts, i, "url"));
	}
	assert_string_equal(el_str(acts, 0, "style"), "primary");
	assert_string_equal(el_str(acts, 3, "style"), "danger");
	confirm = json_object_get(json_array_get(json_object_get(acts, "elements"), 3),
	    "confirm");
	assert_string_equal(json_string_value(json_object_get(json_object_get(confirm,
	    "confirm"), "text")), "Resolve");
	assert_string_equal(json_string_value(json_object_get(json_object_get(confirm, "deny"),
	    "text")), "Cancel");
	assert_string_equal(el_str(acts, 4, "action_id"), SLACK_ACTION_OPEN_ISSUE);
	assert_string_equal(el_str(acts, 4, "url"),
	    "https://github.com/my-org/platform-incidents/issues/42");
	assert_null(el_str(acts, 4, "value"));
	json_decref(msg);

	/* without an issue: the four commands alone */
	o.issue_url = NULL;
	msg = render(inc, ev, &o);
	n = json_array_size(json_object_get(msg, "blocks"));
	assert_int_equal(json_array_size(json_object_get(block(msg, n - 2), "elements")), 4);
	json_decref(msg);

	/* buttons off (webhook, or buttons: false): no actions block at all */
	o.buttons = false;
	msg = render(inc, ev, &o);
	n = json_array_size(json_object_get(msg, "blocks"));
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(block_type(msg, i), "actions");
	json_decref(msg);
	json_decref(ev);
	json_decref(inc);
}

static const char *
context_at(const json_t *msg, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(block(msg, i),
	    "elements"), 0), "text"));
}

static json_t *
status(const json_t *inc, const struct slack_status_opts *o)
{
	json_t *msg = NULL;
	json_t *copy;

	assert_int_equal(slack_render_status(inc, o, &msg), 0);
	assert_non_null(msg);
	/* chat.update has no unfurl arguments: the rest of the limits as for a post */
	assert_null(json_object_get(msg, "unfurl_links"));
	copy = json_deep_copy(msg);
	/* the one mention we write ourselves (a Slack user ID from "slack:U…") is the only
	 * '<' allowed: check the rest of that line like every other */
	{
		json_t *blocks = json_object_get(copy, "blocks"), *b, *e;
		size_t i;

		json_array_foreach(blocks, i, b) {
			const char *t, *m;
			char buf[4096];

			if (strcmp(json_string_value(json_object_get(b, "type")), "context") != 0)
				continue;
			e = json_array_get(json_object_get(b, "elements"), 0);
			t = json_string_value(json_object_get(e, "text"));
			if (o->actor && strncmp(o->actor, "slack:", 6) == 0 &&
			    (m = strstr(t, "<@")) != NULL && strchr(m, '>') != NULL) {
				snprintf(buf, sizeof(buf), "%.*s%s", (int)(m - t),
				    t, strchr(m, '>') + 1);
				json_object_set_new(e, "text", json_string(buf));
			}
			break;
		}
	}
	json_object_set_new(copy, "unfurl_links", json_false());
	json_object_set_new(copy, "unfurl_media", json_false());
	check_limits(copy);
	json_decref(copy);
	return msg;
}

static void
test_status(void **state)
{
	json_t *inc = incident(SUMMARY), *msg;
	struct slack_status_opts o = { .command = "ack", .actor = "slack:U0CA5ALICE",
		.outcome = "done", .at = "2026-02-10T14:02:33.000Z", .event_id = EVENT_ID,
		.buttons = true };
	size_t n;

	(void)state;
	json_object_set_new(inc, "cluster", json_string("prod-west-aks"));
	json_object_set_new(inc, "acked_by", json_string("slack:U0CA5ALICE"));
	json_object_set_new(inc, "acked_at", json_string("2026-02-10T14:02:33.000Z"));
	msg = status(inc, &o);
	assert_string_equal(block_text(msg, 0), "\xf0\x9f\x91\x80 Acknowledged: " SUMMARY);
	assert_string_equal(block_type(msg, 2), "section");
	assert_string_equal(field_text(msg, 2, 0), "*Cluster*\nprod-west-aks");
	assert_string_equal(block_type(msg, 3), "actions");
	assert_string_equal(el_str(block(msg, 3), 0, "value"), INC_ID);
	assert_string_equal(context_at(msg, 4), "Acknowledged by <@U0CA5ALICE> at 14:02 UTC");
	assert_string_equal(context_at(msg, 5), "incidentd · incident " KEY " · event "
	    EVENT_ID);
	json_decref(msg);

	/* silence names its duration */
	o.command = "silence";
	o.duration = "4h";
	msg = status(inc, &o);
	assert_string_equal(context_at(msg, 4), "Silenced for 4h by <@U0CA5ALICE> at 14:02 UTC");
	json_decref(msg);

	/* resolved: no command buttons, the issue's link stays */
	json_object_set_new(inc, "state", json_string("resolved"));
	o.command = "resolve";
	o.duration = NULL;
	o.issue_url = "https://github.com/my-org/platform-incidents/issues/42";
	o.issue_number = 42;
	msg = status(inc, &o);
	assert_string_equal(block_text(msg, 0), "\xe2\x9c\x85 Resolved: " SUMMARY);
	assert_string_equal(block_type(msg, 3), "actions");
	assert_int_equal(json_array_size(json_object_get(block(msg, 3), "elements")), 1);
	assert_string_equal(el_str(block(msg, 3), 0, "action_id"), "incidentd_github_issue");
	assert_string_equal(context_at(msg, 4), "Resolved by <@U0CA5ALICE> at 14:02 UTC");
	json_decref(msg);
	o.issue_url = NULL;
	msg = status(inc, &o);
	n = json_array_size(json_object_get(msg, "blocks"));
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(block_type(msg, i), "actions");
	json_decref(msg);

	/* refused: says so, with the broker's reply, inert */
	json_object_set_new(inc, "state", json_string("firing"));
	json_object_del(inc, "acked_at");
	o.command = "ack";
	o.outcome = "refused";
	o.actor = "github:<@U0EVIL> <!here>";
	o.reply = "<!channel> you may not *ack*";
	o.at = "not a time";
	msg = status(inc, &o);
	assert_string_equal(block_text(msg, 0), "\xf0\x9f\x94\xb4 Firing: " SUMMARY);
	assert_string_equal(context_at(msg, 4), "Not done: ack by github:&lt;@" ZWSP
	    "U0EVIL&gt; &lt;!here&gt; (refused): &lt;!channel&gt; you may not " ZWSP "*" ZWSP
	    "ack" ZWSP "*" ZWSP);
	json_decref(msg);
	json_decref(inc);
}

static void
test_actor(void **state)
{
	char *s;

	(void)state;
	assert_int_equal(slack_format_actor("slack:U0CA5ALICE", &s), 0);
	assert_string_equal(s, "<@U0CA5ALICE>");
	free(s);
	assert_int_equal(slack_format_actor("slack:W0ENTERPRISE1", &s), 0);
	assert_string_equal(s, "<@W0ENTERPRISE1>");
	free(s);
	/* only a user ID becomes a mention */
	assert_int_equal(slack_format_actor("slack:U0|<!here>", &s), 0);
	assert_string_equal(s, "slack:U0|&lt;!here&gt;");
	free(s);
	assert_int_equal(slack_format_actor("slack:u0lower", &s), 0);
	assert_string_equal(s, "slack:u0lower");
	free(s);
	assert_int_equal(slack_format_actor("slack:C0CHANNEL", &s), 0);
	assert_string_equal(s, "slack:C0CHANNEL");
	free(s);
	assert_int_equal(slack_format_actor("github:alice", &s), 0);
	assert_string_equal(s, "github:alice");
	free(s);
	assert_int_equal(slack_format_actor(NULL, &s), 0);
	assert_string_equal(s, "someone");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_open),
		cmocka_unit_test(test_update_and_resolve),
		cmocka_unit_test(test_webhook_followup_and_button),
		cmocka_unit_test(test_every_argocd_sample),
		cmocka_unit_test(test_escape_rules),
		cmocka_unit_test(test_cut_visibly),
		cmocka_unit_test(test_hostile_event),
		cmocka_unit_test(test_inert_everywhere),
		cmocka_unit_test(test_block_limit),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_find_issue),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_buttons),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_actor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
