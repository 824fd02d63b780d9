/* blocks.c - Block Kit messages, mrkdwn escaping and answer classification for the slack
 * sink. */
#include "blocks.h"
#include "strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ZWSP "\xe2\x80\x8b"          /* U+200B ZERO WIDTH SPACE */

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return (s != NULL && *s != '\0') ? s : NULL;
}

/* --- text ---------------------------------------------------------------------------- */

enum text_mode {
	TEXT_PLAIN,      /* plain_text: control characters (also newlines) as spaces */
	TEXT_MRKDWN,     /* untrusted text in mrkdwn */
	TEXT_CODE,       /* untrusted text inside a ``` block */
	TEXT_FORMATTED,  /* mrkdwn made by us or a template: kept, entities never split */
	TEXT_LINK        /* a URL we checked, for <url|label>: '&', '<', '>' as entities */
};

/* Bytes of the UTF-8 sequence starting at p (1 for a stray byte). */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
	    (*p & 0xf8) == 0xf0 ? 4 : 1;

	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

size_t
slack_measure_text(const char *s)
{
	size_t units = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; ) {
		size_t n = utf8_len(p);

		units += n == 4 ? 2 : 1;
		p += n;
	}
	return units;
}

/* Length of an entity "&amp;" / "&lt;" / "&gt;" (or "&#123;") at p, else 0. */
static size_t
entity_len(const char *p)
{
	size_t i = 1;

	if (*p != '&')
		return 0;
	while (i < 10 && p[i] && (p[i] == '#' || (p[i] >= 'a' && p[i] <= 'z') ||
	    (p[i] >= '0' && p[i] <= '9')))
		i++;
	return (i > 1 && p[i] == ';') ? i + 1 : 0;
}

/* Convert s for its place in a message, at most max UTF-16 units (0: no limit); when it
 * does not fit, cut after the last whole character that leaves room for the mark. */
static int
text_convert(const char *s, size_t max, enum text_mode mode, char **out)
{
	struct strbuf t = { 0 };
	size_t units = 0, cut = 0, mark = slack_measure_text(SLACK_TRUNC_MARK);
	size_t budget = max > mark ? max - mark : 0;
	const unsigned char *start = (const unsigned char *)(s ? s : ""), *p = start;
	bool over = false, untrusted = mode == TEXT_MRKDWN || mode == TEXT_CODE;

	while (*p) {
		size_t n = utf8_len(p), u = 1;
		const char *c = (const char *)p;
		size_t ent = mode == TEXT_FORMATTED ? entity_len(c) : 0;

		if (ent > 0) {
			n = ent;
			strbuf_add(&t, c, n);
			u = n;
		} else if (mode != TEXT_PLAIN && mode != TEXT_FORMATTED && *p == '&') {
			n = 1;
			strbuf_str(&t, "&amp;");
			u = 5;
		} else if (mode != TEXT_PLAIN && mode != TEXT_FORMATTED && *p == '<') {
			n = 1;
			strbuf_str(&t, "&lt;");
			u = 4;
		} else if (mode != TEXT_PLAIN && mode != TEXT_FORMATTED && *p == '>') {
			/* at the start a quote marker: untrusted text may begin a line */
			bool lead = mode == TEXT_MRKDWN && t.len == 0;

			n = 1;
			strbuf_str(&t, lead ? ZWSP "&gt;" : "&gt;");
			u = lead ? 5 : 4;
		} else if (*p == '\r') {
			n = 1;
			u = 0;
		} else if (*p == '\n' && (mode == TEXT_CODE || mode == TEXT_FORMATTED)) {
			n = 1;
			strbuf_str(&t, "\n");
		} else if (*p < 0x20 || *p == 0x7f) {
			n = 1;
			strbuf_str(&t, " ");
		} else if (!untrusted) {
			if (n == 1 && *p >= 0x80)
				strbuf_str(&t, "\xef\xbf\xbd");   /* a stray byte: U+FFFD */
			else
				strbuf_add(&t, c, n);
			u = n == 4 ? 2 : 1;
		} else if (*p == '@') {
			/* no @here / @channel / @everyone, @user or @group */
			n = 1;
			strbuf_str(&t, "@" ZWSP);
			u = 2;
		} else if (*p == ':' && p[1] == '/' && p[2] == '/') {
			/* no URL autolink */
			n = 1;
			strbuf_str(&t, ":" ZWSP);
			u = 2;
		} else if (*p == '.' && p - start >= 3 &&
		    strncasecmp(c - 3, "www", 3) == 0) {
			n = 1;
			strbuf_str(&t, ZWSP ".");
			u = 2;
		} else if (mode == TEXT_MRKDWN && *p == '#' && isalnum(p[1])) {
			/* no #channel link */
			n = 1;
			strbuf_str(&t, "#" ZWSP);
			u = 2;
		} else if (mode == TEXT_MRKDWN && strchr("*_~`", *p) != NULL) {
			/* no bold, italics, strike-through or code: a formatting character
			 * between zero-width spaces neither opens nor closes */
			n = 1;
			strbuf_str(&t, ZWSP);
			strbuf_add(&t, c, 1);
			strbuf_str(&t, ZWSP);
			u = 3;
		} else if (*p == '`' && mode == TEXT_CODE && p[1] == '`') {
			n = 1;
			strbuf_str(&t, "`" ZWSP);
			u = 2;
		} else {
			if (n == 1 && *p >= 0x80)
				strbuf_str(&t, "\xef\xbf\xbd");   /* a stray byte: U+FFFD */
			else
				strbuf_add(&t, c, n);
			u = n == 4 ? 2 : 1;
		}
		p += n;
		units += u;
		if (max == 0)
			continue;
		if (units <= budget)
			cut = t.len;
		if (units > max) {
			over = true;
			break;
		}
	}
	if (over && !t.oom) {
		t.len = cut;
		if (t.s != NULL)
			t.s[cut] = '\0';
		strbuf_str(&t, SLACK_TRUNC_MARK);
	}
	return strbuf_finish(&t, out);
}

int
slack_escape_mrkdwn(const char *s, size_t max, bool code, char **out)
{
	return text_convert(s, max, code ? TEXT_CODE : TEXT_MRKDWN, out);
}

int
slack_format_plain(const char *s, size_t max, char **out)
{
	return text_convert(s, max, TEXT_PLAIN, out);
}

/* Append converted text to b. */
static void
buf_text(struct strbuf *b, const char *s, size_t max, enum text_mode mode)
{
	char *t = NULL;

	if (text_convert(s, max, mode, &t) != 0) {
		b->oom = true;
		return;
	}
	strbuf_str(b, t);
	free(t);
}

/* --- the message --------------------------------------------------------------------- */

static bool
is_bad_health(const char *h)
{
	return h && (strcmp(h, "Degraded") == 0 || strcmp(h, "Missing") == 0 ||
	    strcmp(h, "Unknown") == 0);
}

static void
state_of(const char *action, const char **emoji, const char **label)
{
	if (action != NULL && strcmp(action, "resolve") == 0) {
		*emoji = "\xe2\x9c\x85";                 /* U+2705 */
		*label = "Resolved";
	} else if (action != NULL && strcmp(action, "update") == 0) {
		*emoji = "\xf0\x9f\x94\x81";             /* U+1F501 */
		*label = "Still firing";
	} else {
		*emoji = "\xf0\x9f\x94\xb4";             /* U+1F534 */
		*label = "Firing";
	}
}

static const char *
incident_title(const json_t *incident, const json_t *event)
{
	if (jstr(incident, "title"))
		return jstr(incident, "title");
	if (jstr(event, "summary"))
		return jstr(event, "summary");
	if (jstr(incident, "key"))
		return jstr(incident, "key");
	return "incident";
}

/* Append a block; false (and the whole render fails) when out of memory. */
static bool
add_block(json_t *blocks, json_t *block)
{
	return block != NULL && json_array_append_new(blocks, block) == 0;
}

/* A mrkdwn text object. verbatim: Slack does not turn URLs, channel names or mentions in
 * it into links on its own (our escaping already keeps them inert; this is the second
 * lock); <url|label> and <!here> written by us or a template still work. */
static json_t *
mrkdwn_obj(const char *text)
{
	return json_pack("{s:s, s:s, s:b}", "type", "mrkdwn", "text", text, "verbatim", 1);
}

static json_t *
section(const char *text)
{
	return json_pack("{s:s, s:o}", "type", "section", "text", mrkdwn_obj(text));
}

/* "*Label*\n<value>" for a section field. */
static json_t *
field(const char *label, const char *value)
{
	struct strbuf b = { 0 };
	json_t *f = NULL;
	char *s = NULL;

	strbuf_str(&b, "*");
	strbuf_str(&b, label);
	strbuf_str(&b, "*\n");
	if (value != NULL)
		buf_text(&b, value, SLACK_MAX_FIELD - slack_measure_text(label) - 3, TEXT_MRKDWN);
	else
		strbuf_str(&b, "—");
	if (strbuf_finish(&b, &s) == 0)
		f = mrkdwn_obj(s);
	free(s);
	return f;
}

static json_t *
fields_block(const json_t *ev)
{
	const char *rev = jstr(ev, "revision");
	char shortrev[13];
	json_t *fs = json_array();

	/* a commit hash is shown as its first 12 characters, anything else in full */
	if (rev != NULL && strlen(rev) >= 12 && strspn(rev, "0123456789abcdef") == strlen(rev)) {
		snprintf(shortrev, sizeof(shortrev), "%s", rev);
		rev = shortrev;
	}
	if (fs == NULL ||
	    json_array_append_new(fs, field("Cluster", jstr(ev, "cluster"))) != 0 ||
	    json_array_append_new(fs, field("Namespace", jstr(ev, "namespace"))) != 0 ||
	    json_array_append_new(fs, field("App", jstr(ev, "app"))) != 0 ||
	    json_array_append_new(fs, field("Health", jstr(ev, "health"))) != 0 ||
	    json_array_append_new(fs, field("Sync", jstr(ev, "sync"))) != 0 ||
	    json_array_append_new(fs, field("Revision", rev)) != 0) {
		json_decref(fs);
		return NULL;
	}
	return json_pack("{s:s, s:o}", "type", "section", "fields", fs);
}

/* "<head>\n```\n<untrusted>\n```" within SLACK_MAX_SECTION. */
static json_t *
code_section(const char *head, const char *text, size_t max)
{
	struct strbuf b = { 0 };
	size_t room = SLACK_MAX_SECTION - slack_measure_text(head) - 9;
	json_t *blk = NULL;
	char *s = NULL;

	strbuf_str(&b, head);
	strbuf_str(&b, "\n```\n");
	buf_text(&b, text, max && max < room ? max : room, TEXT_CODE);
	strbuf_str(&b, "\n```");
	if (strbuf_finish(&b, &s) == 0)
		blk = section(s);
	free(s);
	return blk;
}

static json_t *
resource_block(const json_t *r, const char *app_ns)
{
	const char *ns = jstr(r, "namespace") ? jstr(r, "namespace") : app_ns;
	struct strbuf b = { 0 };
	json_t *blk = NULL;
	char *s = NULL;

	strbuf_str(&b, "*");
	buf_text(&b, jstr(r, "kind") ? jstr(r, "kind") : "Resource", 64, TEXT_MRKDWN);
	strbuf_str(&b, " ");
	buf_text(&b, jstr(r, "name") ? jstr(r, "name") : "—", 253, TEXT_MRKDWN);
	strbuf_str(&b, "*");
	if (ns != NULL) {
		strbuf_str(&b, " in ");
		buf_text(&b, ns, 253, TEXT_MRKDWN);
	}
	strbuf_str(&b, " — health ");
	buf_text(&b, jstr(r, "health"), 64, TEXT_MRKDWN);
	strbuf_str(&b, ", sync ");
	buf_text(&b, jstr(r, "sync") ? jstr(r, "sync") : "—", 64, TEXT_MRKDWN);
	if (b.oom || strbuf_finish(&b, &s) != 0)
		return NULL;
	if (jstr(r, "message"))
		blk = code_section(s, jstr(r, "message"), SLACK_RES_MSG_MAX);
	else
		blk = section(s);
	free(s);
	return blk;
}

/* A button: a command (action_id, value = the incident id; style and confirm optional) or
 * a link (url). */
static json_t *
button(const char *label, const char *action_id, const char *value, const char *url,
    const char *style)
{
	json_t *b = json_pack("{s:s, s:{s:s, s:s, s:b}, s:s}", "type", "button", "text", "type",
	    "plain_text", "text", label, "emoji", 1, "action_id", action_id);

	if (b == NULL || (value != NULL && json_object_set_new(b, "value", json_string(value))) ||
	    (url != NULL && json_object_set_new(b, "url", json_string(url))) ||
	    (style != NULL && json_object_set_new(b, "style", json_string(style)))) {
		json_decref(b);
		return NULL;
	}
	return b;
}

/* Resolve asks first: resolving by mistake sends every sink a resolve. */
static json_t *
resolve_confirm(void)
{
	return json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:s}",
	    "title", "type", "plain_text", "text", "Resolve this incident?",
	    "text", "type", "plain_text", "text", "incidentd marks it resolved now and tells "
	    "every sink; it fires again if the failure comes back.",
	    "confirm", "type", "plain_text", "text", "Resolve",
	    "deny", "type", "plain_text", "text", "Cancel", "style", "danger");
}

/* The actions block: incidentd's command buttons (when buttons and an incident id) and the
 * GitHub issue's link (when issue_url); NULL when out of memory. */
static json_t *
actions_block(bool buttons, const char *incident_id, const char *issue_url,
    json_int_t issue_number)
{
	json_t *el = json_array(), *r = NULL;
	char label[64];

	if (el == NULL)
		return NULL;
	if (buttons && incident_id != NULL) {
		json_t *res = button("Resolve", SLACK_ACTION_RESOLVE, incident_id, NULL, "danger");

		if (res == NULL || json_object_set_new(res, "confirm", resolve_confirm()) != 0 ||
		    json_array_append_new(el, button("Acknowledge", SLACK_ACTION_ACK, incident_id,
		    NULL, "primary")) != 0 ||
		    json_array_append_new(el, button("Silence 1h", SLACK_ACTION_SILENCE_1H,
		    incident_id, NULL, NULL)) != 0 ||
		    json_array_append_new(el, button("Silence 4h", SLACK_ACTION_SILENCE_4H,
		    incident_id, NULL, NULL)) != 0 ||
		    json_array_append_new(el, res) != 0)
			goto out;
	}
	if (issue_url != NULL) {
		/* with the command buttons the link says what it does; alone, as it always did */
		snprintf(label, sizeof(label), buttons && incident_id ? "Open issue #%lld" :
		    "GitHub issue #%lld", (long long)issue_number);
		if (json_array_append_new(el, button(label, buttons && incident_id ?
		    SLACK_ACTION_OPEN_ISSUE : "incidentd_github_issue", NULL, issue_url,
		    NULL)) != 0)
			goto out;
	}
	if (json_array_size(el) > 0)
		r = json_pack("{s:s, s:s, s:O}", "type", "actions", "block_id",
		    SLACK_ACTIONS_BLOCK, "elements", el);
out:
	json_decref(el);
	return r;
}

static json_t *
context_block(const json_t *incident, const json_t *ev, const struct slack_render_opts *o,
    bool followup)
{
	struct strbuf b = { 0 };
	json_t *blk = NULL;
	char *s = NULL;

	if (o->webhook && followup) {
		strbuf_str(&b, "Incoming webhooks cannot reply in threads: this message follows up "
		    "the incident opened ");
		buf_text(&b, jstr(incident, "opened_at") ? jstr(incident, "opened_at") : "earlier",
		    64, TEXT_MRKDWN);
		strbuf_str(&b, ". ");
	}
	strbuf_str(&b, "incidentd · incident ");
	buf_text(&b, jstr(incident, "key") ? jstr(incident, "key") : "—", 500, TEXT_MRKDWN);
	strbuf_str(&b, " · event ");
	buf_text(&b, jstr(ev, "id") ? jstr(ev, "id") : "—", 64, TEXT_MRKDWN);
	if (strbuf_finish(&b, &s) == 0)
		blk = json_pack("{s:s, s:[o]}", "type", "context", "elements", mrkdwn_obj(s));
	free(s);
	return blk;
}

int
slack_render_message(const json_t *incident, const json_t *event,
    const struct slack_render_opts *o, json_t **out)
{
	const char *emoji, *label, *action = o->action ? o->action : "open";
	bool resolve = strcmp(action, "resolve") == 0;
	bool followup = strcmp(action, "open") != 0, has_actions;
	const json_t *res = json_object_get(event, "resources"), *r;
	struct strbuf hb = { 0 };
	json_t *msg = NULL, *blocks = NULL;
	char *header = NULL, *fallback = NULL, *summary = NULL, *raw = NULL;
	size_t i, fixed, room, bad = 0, shown = 0;
	int rc = -ENOMEM;

	*out = NULL;
	state_of(action, &emoji, &label);
	if (o->title != NULL) {
		strbuf_str(&hb, o->title);
	} else {
		strbuf_str(&hb, emoji);
		strbuf_str(&hb, " ");
		strbuf_str(&hb, label);
		strbuf_str(&hb, ": ");
		strbuf_str(&hb, incident_title(incident, event));
	}
	if (strbuf_finish(&hb, &raw) != 0 ||
	    slack_format_plain(raw, SLACK_MAX_HEADER, &header) != 0 ||
	    slack_escape_mrkdwn(raw, SLACK_MAX_SECTION, false, &fallback) != 0)
		goto out;
	if (o->text != NULL)
		rc = text_convert(o->text, SLACK_MAX_SECTION, TEXT_FORMATTED, &summary);
	else
		rc = slack_escape_mrkdwn(jstr(event, "summary") ? jstr(event, "summary") :
		    incident_title(incident, event), SLACK_MAX_SECTION, false, &summary);
	if (rc != 0)
		goto out;
	rc = -ENOMEM;

	blocks = json_array();
	if (blocks == NULL ||
	    !add_block(blocks, json_pack("{s:s, s:{s:s, s:s, s:b}}", "type", "header", "text",
	    "type", "plain_text", "text", header, "emoji", 1)) ||
	    !add_block(blocks, section(summary)) ||
	    !add_block(blocks, fields_block(event)))
		goto out;
	if (!resolve && jstr(event, "message") &&
	    !add_block(blocks, code_section("*Error*", jstr(event, "message"), 0)))
		goto out;

	/* degraded resources fill what is left of the 50 blocks before the button and the
	 * context line; the last one that fits sums up the rest */
	if (!resolve) {
		json_array_foreach(res, i, r)
			if (is_bad_health(jstr(r, "health")))
				bad++;
	}
	has_actions = o->issue_url != NULL || (o->buttons && o->incident_id != NULL);
	fixed = json_array_size(blocks) + (has_actions ? 1 : 0) + 1;
	room = SLACK_MAX_BLOCKS > fixed ? SLACK_MAX_BLOCKS - fixed : 0;
	json_array_foreach(res, i, r) {
		if (bad == 0)
			break;
		if (!is_bad_health(jstr(r, "health")))
			continue;
		if (bad > room && shown + 1 == room) {
			char more[160];

			snprintf(more, sizeof(more), "… and %zu more degraded resources (see "
			    "`incidentctl incident`)", bad - shown);
			if (!add_block(blocks, section(more)))
				goto out;
			break;
		}
		if (!add_block(blocks, resource_block(r, jstr(event, "namespace"))))
			goto out;
		shown++;
	}
	if (has_actions && !add_block(blocks, actions_block(o->buttons, o->incident_id,
	    o->issue_url, o->issue_number)))
		goto out;
	if (!add_block(blocks, context_block(incident, event, o, followup)))
		goto out;
	msg = json_pack("{s:s, s:O, s:b, s:b}", "text", fallback, "blocks", blocks,
	    "unfurl_links", 0, "unfurl_media", 0);
	if (msg == NULL)
		goto out;
	*out = msg;
	rc = 0;
out:
	json_decref(blocks);
	free(raw);
	free(header);
	free(fallback);
	free(summary);
	return rc;
}

/* --- the message after a command ------------------------------------------------------ */

/* Whether s is a Slack user ID (U… or W… and upper-case letters and digits, 3..31). */
static bool
is_user_id(const char *s)
{
	size_t n = strlen(s);

	if (n < 3 || n > 31 || (s[0] != 'U' && s[0] != 'W'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

int
slack_format_actor(const char *actor, char **out)
{
	char mention[40];

	if (actor != NULL && strncmp(actor, "slack:", 6) == 0 && is_user_id(actor + 6)) {
		snprintf(mention, sizeof(mention), "<@%s>", actor + 6);
		*out = strdup(mention);
		return *out != NULL ? 0 : -ENOMEM;
	}
	return text_convert(actor != NULL && *actor != '\0' ? actor : "someone", 200,
	    TEXT_MRKDWN, out);
}

/* "HH:MM UTC" of an RFC 3339 UTC time ("2026-02-10T14:02:33.000Z"), or "" when it is not
 * one. */
static void
clock_of(const char *at, char *out, size_t len)
{
	out[0] = '\0';
	if (at == NULL || strlen(at) < 20 || at[10] != 'T' || at[13] != ':' ||
	    at[strlen(at) - 1] != 'Z' || strspn(at + 11, "0123456789") != 2 ||
	    strspn(at + 14, "0123456789") != 2)
		return;
	snprintf(out, len, "%.5s UTC", at + 11);
}

/* What a command did, past tense, for "<done> by <actor>". */
static const char *
command_done(const char *command)
{
	if (command == NULL)
		return NULL;
	if (strcmp(command, "ack") == 0)
		return "Acknowledged";
	if (strcmp(command, "unack") == 0)
		return "Acknowledgement withdrawn";
	if (strcmp(command, "silence") == 0)
		return "Silenced";
	if (strcmp(command, "resolve") == 0)
		return "Resolved";
	return NULL;
}

/* The context line of a command (see slack_render_status). */
static json_t *
command_context(const struct slack_status_opts *o)
{
	const char *done = command_done(o->command);
	bool ok = o->outcome != NULL && strcmp(o->outcome, "done") == 0;
	struct strbuf b = { 0 };
	char clock[16], *actor = NULL, *s = NULL;
	json_t *blk = NULL;

	if (slack_format_actor(o->actor, &actor) != 0)
		return NULL;
	clock_of(o->at, clock, sizeof(clock));
	if (ok && done != NULL) {
		strbuf_str(&b, done);
		if (strcmp(o->command, "silence") == 0 && o->duration != NULL) {
			strbuf_str(&b, " for ");
			buf_text(&b, o->duration, 16, TEXT_MRKDWN);
		}
	} else {
		strbuf_str(&b, ok ? "Done: " : "Not done: ");
		buf_text(&b, o->command ? o->command : "a command", 32, TEXT_MRKDWN);
	}
	strbuf_str(&b, " by ");
	strbuf_str(&b, actor);
	if (clock[0] != '\0') {
		strbuf_str(&b, " at ");
		strbuf_str(&b, clock);
	}
	if (!ok) {
		strbuf_str(&b, " (");
		buf_text(&b, o->outcome ? o->outcome : "unknown", 16, TEXT_MRKDWN);
		strbuf_str(&b, ")");
		if (o->reply != NULL && *o->reply != '\0') {
			strbuf_str(&b, ": ");
			buf_text(&b, o->reply, 500, TEXT_MRKDWN);
		}
	}
	if (strbuf_finish(&b, &s) == 0)
		blk = json_pack("{s:s, s:[o]}", "type", "context", "elements", mrkdwn_obj(s));
	free(s);
	free(actor);
	return blk;
}

static json_t *
incident_fields(const json_t *incident)
{
	json_t *fs = json_array();

	if (fs == NULL ||
	    json_array_append_new(fs, field("Cluster", jstr(incident, "cluster"))) != 0 ||
	    json_array_append_new(fs, field("Namespace", jstr(incident, "namespace"))) != 0 ||
	    json_array_append_new(fs, field("App", jstr(incident, "app"))) != 0 ||
	    json_array_append_new(fs, field("Opened", jstr(incident, "opened_at"))) != 0) {
		json_decref(fs);
		return NULL;
	}
	return json_pack("{s:s, s:o}", "type", "section", "fields", fs);
}

int
slack_render_status(const json_t *incident, const struct slack_status_opts *o,
    json_t **out)
{
	const char *state = jstr(incident, "state");
	bool resolved = state != NULL && strcmp(state, "resolved") == 0;
	bool acked = jstr(incident, "acked_at") != NULL;
	const char *emoji = resolved ? "\xe2\x9c\x85" : acked ? "\xf0\x9f\x91\x80" :
	    "\xf0\x9f\x94\xb4";                  /* U+2705, U+1F440, U+1F534 */
	const char *label = resolved ? "Resolved" : acked ? "Acknowledged" : "Firing";
	struct slack_render_opts ro = { .action = resolved ? "resolve" : "open" };
	struct strbuf hb = { 0 };
	json_t *blocks = json_array(), *msg = NULL, *ev = NULL;
	char *raw = NULL, *header = NULL, *fallback = NULL, *title = NULL;
	const char *id = jstr(incident, "id");
	int rc = -ENOMEM;

	*out = NULL;
	strbuf_str(&hb, emoji);
	strbuf_str(&hb, " ");
	strbuf_str(&hb, label);
	strbuf_str(&hb, ": ");
	strbuf_str(&hb, incident_title(incident, NULL));
	if (blocks == NULL || strbuf_finish(&hb, &raw) != 0 ||
	    slack_format_plain(raw, SLACK_MAX_HEADER, &header) != 0 ||
	    slack_escape_mrkdwn(raw, SLACK_MAX_SECTION, false, &fallback) != 0 ||
	    slack_escape_mrkdwn(incident_title(incident, NULL), SLACK_MAX_SECTION, false,
	    &title) != 0)
		goto out;
	if (!add_block(blocks, json_pack("{s:s, s:{s:s, s:s, s:b}}", "type", "header", "text",
	    "type", "plain_text", "text", header, "emoji", 1)) ||
	    !add_block(blocks, section(title)) ||
	    !add_block(blocks, incident_fields(incident)))
		goto out;
	if ((o->issue_url != NULL || (o->buttons && !resolved && id != NULL)) &&
	    !add_block(blocks, actions_block(o->buttons && !resolved, id, o->issue_url,
	    o->issue_number)))
		goto out;
	if ((ev = json_pack("{s:s?}", "id", o->event_id)) == NULL ||
	    !add_block(blocks, command_context(o)) ||
	    !add_block(blocks, context_block(incident, ev, &ro, false)))
		goto out;
	msg = json_pack("{s:s, s:O}", "text", fallback, "blocks", blocks);
	if (msg == NULL)
		goto out;
	*out = msg;
	rc = 0;
out:
	json_decref(ev);
	json_decref(blocks);
	free(raw);
	free(header);
	free(fallback);
	free(title);
	return rc;
}

/* --- template data ------------------------------------------------------------------- */

/* Set key to value, escaped for mrkdwn (a URL we checked: for <url|label>) or as is. */
static int
data_set_mode(json_t *d, const char *key, const char *value, bool mrkdwn, bool url)
{
	char *esc = NULL;
	int rc;

	if (value == NULL)
		return 0;
	if (!mrkdwn)
		return json_object_set_new(d, key, json_string(value)) == 0 ? 0 : -ENOMEM;
	rc = text_convert(value, 0, url ? TEXT_LINK : TEXT_MRKDWN, &esc);
	if (rc == 0 && json_object_set_new(d, key, json_string(esc)) != 0)
		rc = -ENOMEM;
	free(esc);
	return rc;
}

static int
data_set(json_t *d, const char *key, const char *value, bool mrkdwn)
{
	return data_set_mode(d, key, value, mrkdwn, false);
}

int
slack_build_template_data(const json_t *incident, const json_t *event,
    const char *action, const char *issue_url, json_int_t issue_number, bool mrkdwn,
    json_t **out)
{
	static const char *const from_event[] = { "app", "cluster", "namespace", "revision",
		"summary", "message", "source", "status", "severity", "health", "sync" };
	bool have_repo = false;
	json_t *d = json_object(), *issue = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	if (d == NULL)
		goto out;
	for (size_t i = 0; i < sizeof(from_event) / sizeof(from_event[0]); i++)
		if ((rc = data_set(d, from_event[i], jstr(event, from_event[i]), mrkdwn)) != 0)
			goto out;
	if (issue_url != NULL) {
		const char *p = strstr(issue_url, "github.com/");

		/* https://github.com/<owner>/<repo>/issues/<n> names the repository */
		if (p != NULL) {
			char tmp[256];
			char *cut;

			snprintf(tmp, sizeof(tmp), "%s", p + strlen("github.com/"));
			cut = strstr(tmp, "/issues/");
			if (cut != NULL) {
				*cut = '\0';
				if ((rc = data_set(d, "repo", tmp, mrkdwn)) != 0)
					goto out;
				have_repo = true;
			}
		}
	}
	if (!have_repo && (rc = data_set(d, "repo", jstr(event, "repo_url"), mrkdwn)) != 0)
		goto out;
	if ((rc = data_set(d, "action", action, mrkdwn)) != 0 ||
	    (rc = data_set(d, "key", jstr(incident, "key"), mrkdwn)) != 0 ||
	    (rc = data_set(d, "title", incident_title(incident, event), mrkdwn)) != 0)
		goto out;
	rc = -ENOMEM;
	if (issue_url != NULL) {
		issue = json_object();
		/* the issue's URL comes from GitHub through the ledger, checked by
		 * slack_find_issue: a link target, not event text */
		if (issue == NULL || json_object_set_new(issue, "number",
		    json_integer(issue_number)) != 0 || data_set_mode(issue, "url", issue_url,
		    mrkdwn, true) != 0 || json_object_set(d, "issue", issue) != 0 ||
		    json_object_set(d, "url", json_object_get(issue, "url")) != 0)
			goto out;
	}
	*out = d;
	d = NULL;
	rc = 0;
out:
	json_decref(issue);
	json_decref(d);
	return rc;
}

/* --- the GitHub issue of a chained sink ---------------------------------------------- */

static bool
issue_ref(const json_t *v, const char **url, json_int_t *number)
{
	json_t *n = json_object_get(v, "issue");
	const char *u = json_string_value(json_object_get(v, "url"));

	if (!json_is_integer(n) || json_integer_value(n) <= 0 || u == NULL ||
	    strlen(u) > SLACK_MAX_URL || strpbrk(u, " \t\r\n<>|\"") != NULL ||
	    (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
		return false;
	*url = u;
	*number = json_integer_value(n);
	return true;
}

bool
slack_find_issue(const json_t *refs, const char *issue_from, const char *self,
    const char **url, json_int_t *number)
{
	const char *name, *found_url = NULL;
	json_int_t found_n = 0;
	const json_t *v;
	int found = 0;

	*url = NULL;
	*number = 0;
	if (issue_from != NULL)
		return issue_ref(json_object_get(refs, issue_from), url, number);
	json_object_foreach((json_t *)refs, name, v) {
		const char *u;
		json_int_t n;

		if ((self != NULL && strcmp(name, self) == 0) || !issue_ref(v, &u, &n))
			continue;
		if (found++ > 0)
			return false;      /* ambiguous: issue_from must say which */
		found_url = u;
		found_n = n;
	}
	if (found != 1)
		return false;
	*url = found_url;
	*number = found_n;
	return true;
}

/* --- Slack's answers ----------------------------------------------------------------- */

/* Slack's reason as a short printable word (never more than 100 characters). */
static void
sanitize(const char *s, char *out, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return;
	for (; s != NULL && *s && n + 1 < len && n < 100; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n' || c == '\r')
			break;
		out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static bool
is_transient(const char *error)
{
	static const char *const transient[] = { "internal_error", "fatal_error",
		"service_unavailable", "request_timeout", "ratelimited", "rate_limited" };

	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		if (strcmp(error, transient[i]) == 0)
			return true;
	return false;
}

enum slack_verdict
slack_classify_method(const char *method, const struct slack_answer *a,
    uint64_t *retry_after_ms, char *detail, size_t len)
{
	bool webhook = method == NULL;
	const char *what = webhook ? "incoming webhook" : method;
	long ra = a->retry_after_s >= 0 ? a->retry_after_s : SLACK_DEFAULT_RETRY_S;
	enum slack_verdict v = SLACK_FAIL;
	char reason[128], extra[128] = "";
	json_t *j = NULL;

	*retry_after_ms = 0;
	if (a->status == 0) {
		sanitize(a->error ? a->error : "no answer", reason, sizeof(reason));
		snprintf(detail, len, "%s: no answer from Slack: %s", what, reason);
		return SLACK_RETRY;
	}
	if (!webhook && a->body != NULL)
		j = json_loads(a->body, 0, NULL);
	if (j != NULL && json_is_string(json_object_get(j, "error")))
		sanitize(json_string_value(json_object_get(j, "error")), reason, sizeof(reason));
	else
		sanitize(a->body ? a->body : "", reason, sizeof(reason));
	if (reason[0] == '\0')
		snprintf(reason, sizeof(reason), "no reason given");

	if (a->status == 429) {
		*retry_after_ms = (uint64_t)ra * 1000;
		snprintf(detail, len, "%s: rate limited by Slack (HTTP 429), retry after %lds",
		    what, ra);
		v = SLACK_RETRY;
	} else if (a->status >= 500 || a->status == 408) {
		snprintf(detail, len, "%s: HTTP %ld: %s", what, a->status, reason);
		v = SLACK_RETRY;
	} else if (a->status < 200 || a->status >= 300) {
		snprintf(detail, len, "%s: HTTP %ld: %s", what, a->status, reason);
		v = SLACK_FAIL;
	} else if (webhook) {
		snprintf(detail, len, "posted (incoming webhook)");
		v = SLACK_OK;
	} else if (!json_is_object(j) || !json_is_boolean(json_object_get(j, "ok"))) {
		snprintf(detail, len, "%s: unexpected answer (HTTP %ld)", what, a->status);
		v = SLACK_RETRY;
	} else if (json_is_true(json_object_get(j, "ok"))) {
		snprintf(detail, len, "%s: ok", what);
		v = SLACK_OK;
	} else {
		json_t *msgs = json_object_get(json_object_get(j, "response_metadata"),
		    "messages");
		const char *m0 = json_string_value(json_array_get(msgs, 0));
		const char *needed = json_string_value(json_object_get(j, "needed"));

		if (needed != NULL && strcmp(reason, "missing_scope") == 0) {
			char m[100];

			sanitize(needed, m, sizeof(m));
			snprintf(extra, sizeof(extra), " (needs %s)", m);
		} else if (m0 != NULL) {
			char m[100];

			sanitize(m0, m, sizeof(m));
			snprintf(extra, sizeof(extra), " (%s)", m);
		}
		snprintf(detail, len, "%s: %s%s", what, reason, extra);
		v = is_transient(reason) ? SLACK_RETRY : SLACK_FAIL;
		if (strcmp(reason, "ratelimited") == 0 || strcmp(reason, "rate_limited") == 0)
			*retry_after_ms = (uint64_t)ra * 1000;
	}
	json_decref(j);
	return v;
}

enum slack_verdict
slack_classify_answer(bool webhook, const struct slack_answer *a, uint64_t *retry_after_ms,
    char *detail, size_t len)
{
	enum slack_verdict v = slack_classify_method(webhook ? NULL : "chat.postMessage", a,
	    retry_after_ms, detail, len);

	if (v == SLACK_OK)
		snprintf(detail, len, "%s", webhook ? "posted (incoming webhook)" : "posted");
	return v;
}
