/* history.h - the pure parts of the slack sink's exactly-once check: the message metadata
 * that marks a delivery's message ({"event_type": "incidentd_delivery", "event_payload":
 * {"delivery_id", "event_id"}}), who the token posts as (auth.test, or a chat.postMessage
 * answer), and reading Slack's pages: conversations.history / conversations.replies (is a
 * message of ours with this delivery's metadata there?) and conversations.list (the ID of
 * a channel configured by name).
 *
 * Compiled into the slack plugin (hidden symbols) and into its unit test. Never calls
 * back, never logs. JSON arguments are borrowed; returned strings are new and owned by the
 * caller. */
#ifndef INCIDENTD_SLACK_HISTORY_H
#define INCIDENTD_SLACK_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define SLACK_DELIVERY_EVENT_TYPE "incidentd_delivery"
#define SLACK_ID_MAX 32              /* user, bot and channel IDs are far shorter */

/* Who a token posts as: its bot (bot_id, "B…") and the bot's user (user_id, "U…");
 * "" when unknown. */
struct slack_identity {
	char user_id[SLACK_ID_MAX];
	char bot_id[SLACK_ID_MAX];
};

/* The metadata of the message of delivery delivery_id (> 0) for event event_id (NULL:
 * "-"): {"event_type": "incidentd_delivery", "event_payload": {"delivery_id": "<id>",
 * "event_id": "<event id>"}}. Returns 0 and a new object in *out, -EINVAL or -ENOMEM. */
int slack_delivery_metadata(int64_t delivery_id, const char *event_id, json_t **out);

/* The identity in an auth.test answer ({"ok": true, "user_id", "bot_id"}) or in the
 * "message" of a chat.postMessage answer ({"user", "bot_id"}). IDs that are not 1..31
 * characters of [A-Z0-9] are ignored. Returns true when at least one ID was found. */
bool slack_identity_from_auth(const json_t *answer, struct slack_identity *id);
bool slack_identity_from_message(const json_t *message, struct slack_identity *id);

/* What one page of conversations.history or conversations.replies tells. */
struct slack_page {
	char ts[SLACK_ID_MAX];       /* the ts of our message with the metadata, or "" */
	int foreign;                 /* messages with the metadata posted by someone else */
	char *cursor;                /* response_metadata.next_cursor, or NULL: last page */
};

/* Look through the "messages" of one page for a message with the delivery's metadata
 * (event_type and both ids equal) posted by id: the same bot_id when both have one, else
 * the same user. Fills *page (free page->cursor). Returns 0, or -EINVAL when answer is not
 * a page ({"ok": true, "messages": [...]}), or -ENOMEM. */
int slack_page_find(const json_t *answer, const struct slack_identity *id,
    int64_t delivery_id, const char *event_id, struct slack_page *page);

/* The ID of the channel called name (a leading '#' ignored) in one page of
 * conversations.list, into id (SLACK_ID_MAX bytes; "" when not on this page), and the
 * next page's cursor in *cursor (new string, or NULL on the last page). Returns 0,
 * -EINVAL (not a page) or -ENOMEM. */
int slack_channel_find(const json_t *answer, const char *name, char *id, size_t idlen,
    char **cursor);

/* True when channel is a conversation ID (C…, G… or D… followed by upper-case letters and
 * digits), which conversations.history needs; false for a #name or name. */
bool slack_channel_is_id(const char *channel);

#endif
