/* history.c - delivery metadata, the token's identity and Slack's read pages, for the
 * slack sink's exactly-once check. */
#include "history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return (s != NULL && *s != '\0') ? s : NULL;
}

/* A Slack ID: 1..SLACK_ID_MAX-1 characters of [A-Z0-9]. */
static bool
valid_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n < SLACK_ID_MAX && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

/* A message ts: digits with one dot, as Slack writes them ("1712345678.123456"). */
static bool
valid_ts(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	const char *dot = s ? strchr(s, '.') : NULL;

	return n > 0 && n < SLACK_ID_MAX && dot != NULL && dot != s && strchr(dot + 1, '.') == NULL &&
	    strspn(s, "0123456789.") == n;
}

int
slack_delivery_metadata(int64_t delivery_id, const char *event_id, json_t **out)
{
	char id[24];

	*out = NULL;
	if (delivery_id <= 0)
		return -EINVAL;
	snprintf(id, sizeof(id), "%lld", (long long)delivery_id);
	*out = json_pack("{s:s, s:{s:s, s:s}}", "event_type", SLACK_DELIVERY_EVENT_TYPE,
	    "event_payload", "delivery_id", id, "event_id",
	    event_id != NULL && *event_id != '\0' ? event_id : "-");
	return *out != NULL ? 0 : -ENOMEM;
}

static bool
identity_set(struct slack_identity *id, const char *user, const char *bot)
{
	bool found = false;

	if (valid_id(user)) {
		snprintf(id->user_id, sizeof(id->user_id), "%s", user);
		found = true;
	}
	if (valid_id(bot)) {
		snprintf(id->bot_id, sizeof(id->bot_id), "%s", bot);
		found = true;
	}
	return found;
}

bool
slack_identity_from_auth(const json_t *answer, struct slack_identity *id)
{
	if (!json_is_true(json_object_get(answer, "ok")))
		return false;
	return identity_set(id, jstr(answer, "user_id"), jstr(answer, "bot_id"));
}

bool
slack_identity_from_message(const json_t *message, struct slack_identity *id)
{
	return identity_set(id, jstr(message, "user"), jstr(message, "bot_id"));
}

/* Whether message m was posted by id: the same bot when both name one, else the same
 * user. */
static bool
posted_by(const json_t *m, const struct slack_identity *id)
{
	const char *bot = jstr(m, "bot_id"), *user = jstr(m, "user");

	if (id->bot_id[0] != '\0' && bot != NULL)
		return strcmp(bot, id->bot_id) == 0;
	return id->user_id[0] != '\0' && user != NULL && strcmp(user, id->user_id) == 0;
}

/* Whether message m carries the metadata of this delivery. */
static bool
has_metadata(const json_t *m, const char *delivery, const char *event_id)
{
	const json_t *md = json_object_get(m, "metadata");
	const json_t *p = json_object_get(md, "event_payload");
	const char *type = jstr(md, "event_type");
	const char *d = jstr(p, "delivery_id"), *e = jstr(p, "event_id");

	return type != NULL && strcmp(type, SLACK_DELIVERY_EVENT_TYPE) == 0 && d != NULL &&
	    strcmp(d, delivery) == 0 && e != NULL &&
	    strcmp(e, event_id != NULL && *event_id != '\0' ? event_id : "-") == 0;
}

/* response_metadata.next_cursor as a new string in *cursor (NULL when empty or absent).
 * Returns 0 or -ENOMEM. */
static int
next_cursor(const json_t *answer, char **cursor)
{
	const char *c = jstr(json_object_get(answer, "response_metadata"), "next_cursor");

	*cursor = NULL;
	if (c == NULL)
		return 0;
	*cursor = strdup(c);
	return *cursor != NULL ? 0 : -ENOMEM;
}

int
slack_page_find(const json_t *answer, const struct slack_identity *id, int64_t delivery_id,
    const char *event_id, struct slack_page *page)
{
	const json_t *msgs = json_object_get(answer, "messages");
	char delivery[24];
	size_t i;
	json_t *m;

	memset(page, 0, sizeof(*page));
	if (!json_is_true(json_object_get(answer, "ok")) || !json_is_array(msgs))
		return -EINVAL;
	snprintf(delivery, sizeof(delivery), "%lld", (long long)delivery_id);
	json_array_foreach(msgs, i, m) {
		const char *ts = jstr(m, "ts");

		if (!has_metadata(m, delivery, event_id))
			continue;
		if (!posted_by(m, id) || !valid_ts(ts)) {
			page->foreign++;
			continue;
		}
		snprintf(page->ts, sizeof(page->ts), "%s", ts);
		return 0;
	}
	return next_cursor(answer, &page->cursor);
}

int
slack_channel_find(const json_t *answer, const char *name, char *id, size_t idlen,
    char **cursor)
{
	const json_t *chans = json_object_get(answer, "channels");
	size_t i;
	json_t *c;

	*cursor = NULL;
	if (idlen > 0)
		id[0] = '\0';
	if (!json_is_true(json_object_get(answer, "ok")) || !json_is_array(chans))
		return -EINVAL;
	if (name[0] == '#')
		name++;
	json_array_foreach(chans, i, c) {
		const char *n = jstr(c, "name"), *cid = jstr(c, "id");

		if (n != NULL && strcmp(n, name) == 0 && valid_id(cid)) {
			snprintf(id, idlen, "%s", cid);
			return 0;
		}
	}
	return next_cursor(answer, cursor);
}

bool
slack_channel_is_id(const char *channel)
{
	return channel != NULL && (channel[0] == 'C' || channel[0] == 'G' || channel[0] == 'D') &&
	    strlen(channel) >= 2 && valid_id(channel);
}
