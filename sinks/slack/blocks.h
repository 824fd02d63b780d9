/* blocks.h - the pure parts of the slack sink: the Block Kit message of one delivery
 * (header with state and title, summary, fields, the error in a code block, degraded
 * resources, a button to the GitHub issue, a context line) within Slack's limits, mrkdwn
 * escaping of untrusted text, the data that title/text templates see, the GitHub issue of
 * a chained sink, and the classification of Slack's answers (incoming webhook and Web
 * API methods) into OK / RETRY / FAIL.
 *
 * Every string from the event is untrusted and inert in mrkdwn (Slack's "Formatting text
 * for app surfaces"): '&', '<' and '>' become entities (so no <!here>, <!channel>,
 * <@U…>, <!subteam^…>, <#C…>, <!date…> or <url|label> can be injected); a zero-width space
 * follows every '@' (no @here, @channel, @everyone, @user or @group), comes after the ':'
 * of "://" and before the '.' of "www." (no URL autolink) and after '#' before a letter
 * or digit (no #channel link); '*', '_', '~' and '`' stand between zero-width spaces (no
 * bold, italics, strike-through or code); a leading '>' is not a quote; control
 * characters, newlines too, become spaces, so lines break only where the renderer breaks
 * them. Inside a code block newlines are kept and a backtick followed by a backtick gets a
 * zero-width space (the block cannot be closed early); '@', "://" and "www." as above.
 * Every mrkdwn text object is also "verbatim": Slack does not link URLs, channel names or
 * mentions in it by itself. Text over a limit is cut on a character boundary (never
 * inside an entity) and ends with SLACK_TRUNC_MARK. Lengths are counted in UTF-16 code
 * units, which is never less than Slack's count of characters.
 *
 * Compiled into the slack plugin (hidden symbols) and into its unit test. Never calls
 * back, never logs. All returned strings and JSON values are new and owned by the caller. */
#ifndef INCIDENTD_SLACK_BLOCKS_H
#define INCIDENTD_SLACK_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define SLACK_MAX_BLOCKS 50          /* blocks in one message */
#define SLACK_MAX_SECTION 3000       /* text of a section (and of the fallback text) */
#define SLACK_MAX_FIELD 2000         /* one item of a section's fields */
#define SLACK_MAX_HEADER 150         /* text of a header block */
#define SLACK_MAX_BUTTON 75          /* text of a button */
#define SLACK_MAX_URL 3000           /* url of a button */
#define SLACK_RES_MSG_MAX 500        /* a degraded resource's message is cut to this */
#define SLACK_TRUNC_MARK "… (truncated)"

/* What the message is about, besides the incident and the event. */
struct slack_render_opts {
	const char *action;          /* "open", "update" or "resolve" (NULL: "open") */
	bool webhook;                /* incoming webhook: an update/resolve cannot thread,
	                              * the context line says so */
	const char *issue_url;       /* the GitHub issue (chained after github) or NULL */
	json_int_t issue_number;     /* its number, > 0 with issue_url */
	const char *title;           /* rendered title template (plain text) or NULL: the
	                              * default "<state>: <incident title>" */
	const char *text;            /* rendered text template (mrkdwn, its values already
	                              * escaped) or NULL: the event's summary */
	const char *incident_id;     /* with buttons: the value of every command button */
	bool buttons;                /* incidentd's buttons (SLACK_ACTION_*) in the actions
	                              * block, before the issue's ("Open issue #N") */
};

/* The action_ids of incidentd's buttons (sources/slack.c maps them to commands) and the
 * block_id of the actions block that holds them. Each command button's value is the
 * incident id. */
#define SLACK_ACTION_ACK "incidentd.ack"
#define SLACK_ACTION_SILENCE_1H "incidentd.silence.1h"
#define SLACK_ACTION_SILENCE_4H "incidentd.silence.4h"
#define SLACK_ACTION_RESOLVE "incidentd.resolve"
#define SLACK_ACTION_OPEN_ISSUE "incidentd.open_issue"
#define SLACK_ACTIONS_BLOCK "incidentd.actions"

/* What a command did, for the message re-rendered after it (slack_render_status). */
struct slack_status_opts {
	const char *command;         /* "ack", "silence", "resolve", ... (labels.command) */
	const char *duration;        /* silence: "1h", or NULL */
	const char *actor;           /* "slack:U123" (becomes <@U123>), "github:alice", ...:
	                              * anything but a Slack user ID is shown inert */
	const char *outcome;         /* "done", "refused" or "failed" */
	const char *reply;           /* the broker's one line, shown unless done; or NULL */
	const char *at;              /* when, RFC 3339 UTC ("2026-02-10T14:02:33.000Z") */
	const char *event_id;        /* the command's event, for the last context line */
	const char *issue_url;       /* as in slack_render_opts */
	json_int_t issue_number;
	bool buttons;                /* the command buttons, unless the incident resolved */
};

/* The chat.postMessage / webhook payload: {"text", "blocks", "unfurl_links": false,
 * "unfurl_media": false}; the caller adds channel, thread_ts and reply_broadcast.
 * incident and event are the JSON the broker hands to sinks (borrowed). At most
 * SLACK_MAX_BLOCKS blocks: degraded resources that do not fit are summed up in a last
 * "… and N more" section. Returns 0 and a new object in *out, or -ENOMEM. */
int slack_render_message(const json_t *incident, const json_t *event,
    const struct slack_render_opts *o, json_t **out);

/* The incident's message again, from the incident view alone (borrowed; after a command:
 * chat.update): a header with its state (Resolved, Acknowledged or Firing) and title,
 * cluster / namespace / app / opened fields, the actions block (command buttons unless
 * the incident is resolved, the issue's button), a context line saying who did what and
 * when ("Acknowledged by <@U123> at 14:02 UTC"; a refused or failed command says so with
 * the broker's reply), and the usual context line. Returns 0 and a new object ({"text",
 * "blocks"}) in *out, or -ENOMEM. */
int slack_render_status(const json_t *incident, const struct slack_status_opts *o,
    json_t **out);

/* actor as mrkdwn: "slack:<Slack user ID>" as the mention <@ID>, anything else escaped
 * (inert). Returns 0 and a new string in *out, or -ENOMEM. */
int slack_format_actor(const char *actor, char **out);

/* s escaped for mrkdwn (see above), at most max characters (0: no limit), cut visibly.
 * code: for the inside of a ``` block. Returns 0 and a new string in *out, or -ENOMEM. */
int slack_escape_mrkdwn(const char *s, size_t max, bool code, char **out);

/* s as plain text (control characters as spaces), at most max characters (0: no
 * limit), cut visibly. Returns 0 and a new string in *out, or -ENOMEM. */
int slack_format_plain(const char *s, size_t max, char **out);

/* Length of s in UTF-16 code units (what the limits above are compared with). */
size_t slack_measure_text(const char *s);

/* The data title/text templates render over: app, cluster, namespace, revision, repo
 * (the issue's repository, else the event's repo_url), summary, message, source, status,
 * severity, health, sync, action, key, title, url (the issue URL) and issue {number, url}
 * when there is one. mrkdwn: every string value escaped with slack_escape_mrkdwn() (for
 * the text template; issue.url and url, a URL from GitHub that slack_find_issue checked,
 * get only '&', '<' and '>' as entities, for <{{url}}|…>), else as is (for the plain-text
 * title). Returns 0 and a new object in
 * *out, or -ENOMEM. */
int slack_build_template_data(const json_t *incident, const json_t *event,
    const char *action, const char *issue_url, json_int_t issue_number, bool mrkdwn,
    json_t **out);

/* The GitHub issue of the incident from its refs (borrowed): the entry named issue_from
 * when not NULL, else the only entry other than self (this sink's own) with an integer
 * "issue" > 0 and a string "url" (none when two entries qualify). Sets *url (borrowed from
 * refs, an http(s) URL of at most SLACK_MAX_URL bytes) and *number, and returns true, or
 * returns false. */
bool slack_find_issue(const json_t *refs, const char *issue_from, const char *self,
    const char **url, json_int_t *number);

/* What Slack answered. */
struct slack_answer {
	long status;                 /* HTTP status; 0 when there was no answer */
	const char *body;            /* the body (NUL-terminated) or NULL */
	long retry_after_s;          /* Retry-After in seconds, -1 when absent */
	const char *error;           /* curl's error text when status is 0, or NULL */
};

enum slack_verdict { SLACK_OK, SLACK_RETRY, SLACK_FAIL };

/* Seconds to wait after a rate limit answer without Retry-After. */
#define SLACK_DEFAULT_RETRY_S 30

/* Classify an answer of an incoming webhook (webhook true: 200 = posted; 400
 * invalid_payload, 403 action_prohibited / invalid_token, 404 channel_not_found /
 * no_service, 410 channel_is_archived and other 4xx FAIL with Slack's text) or of
 * chat.postMessage (HTTP 200 {"ok": true} = posted; {"ok": false, "error": E} FAILs with
 * E, except ratelimited / rate_limited and Slack's transient errors (internal_error,
 * fatal_error, service_unavailable, request_timeout), which RETRY). Both: no answer, 408
 * and 5xx RETRY with the core's back-off; 429 RETRYs after Retry-After (or
 * SLACK_DEFAULT_RETRY_S). Writes a short detail naming Slack's reason (never the URL or
 * token: only Slack's error string, sanitized) and the delay in *retry_after_ms (0 = core
 * back-off). */
enum slack_verdict slack_classify_answer(bool webhook, const struct slack_answer *a,
    uint64_t *retry_after_ms, char *detail, size_t len);

/* The same for any Web API method (method names it in the detail, e.g.
 * "conversations.history: missing_scope (needs channels:history)"; NULL: an incoming
 * webhook). A missing_scope answer names the scope Slack says is needed. */
enum slack_verdict slack_classify_method(const char *method, const struct slack_answer *a,
    uint64_t *retry_after_ms, char *detail, size_t len);

#endif
