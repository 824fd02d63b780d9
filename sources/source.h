/* source.h - the contract between the HTTP server and a source normalizer.
 *
 * A normalizer turns one parsed request body into zero or more events. It never stores
 * anything and never calls back; the server commits the events and answers. */
#ifndef INCIDENTD_SOURCE_H
#define INCIDENTD_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "event.h"

/* What a normalizer may look at besides the body. */
struct source_input {
	const json_t *body;         /* parsed JSON body (borrowed) */
	int64_t received_at;        /* ms since epoch */
	const char *path_owner;     /* /repos/{owner}/{repo}/dispatches only, else NULL */
	const char *path_repo;
	const struct evkeyvalq *headers;  /* request headers, may be NULL */
	bool ce_binary;             /* CloudEvents binary mode: attributes in ce-* headers */
	bool ce_batch;              /* CloudEvents batch mode: body is an array of events */
};

/* Normalize function type. Returns 0 and appends >= 1 events to out (which then owns them),
 * or -EINVAL with a user-facing message in err naming what is wrong and where
 * (e.g. "missing required field(s): app_name, health_status"), or -E2BIG when the body
 * holds more than the source accepts in one request (the server answers 413). On error
 * nothing is appended. */
typedef int (*source_normalize_fn)(const struct source_input *in, struct ievent_vec *out,
    char *err, size_t errlen);

/* sources/argocd.c: Argo CD notifications (client_payload of the reference template, the
 * whole {event_type, client_payload} of repository_dispatch, or an Application object). */
int argocd_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen);

/* Most alerts alertmanager_normalize() takes from one body. */
#define ALERTMANAGER_MAX_ALERTS 10000
/* Most bytes of commonLabels/commonAnnotations members that the alerts themselves lack
 * and that one body may make the normalizer copy into its events, all alerts together. */
#define ALERTMANAGER_MAX_COMMON_COPY (1024 * 1024)

/* sources/alertmanager.c: an Alertmanager webhook body (payload version 4; version "3" and
 * bodies without fingerprint or groupKey too): one event per alert, in body order. Per
 * event: labels = commonLabels overlaid by the alert's labels, annotations likewise (plus
 * "generatorURL" unless an annotation has that name), fingerprint = the alert's or a
 * SHA-256 of its sorted labels, payload = a new object holding the body's top-level
 * members except alerts[] and alert (shared by reference with in->body) plus "alert" (the
 * alert object), payload_shared = one object of those shared members, the same for every
 * event of the body. Returns 0, -EINVAL (an empty alerts[] is "no alerts"; a bad alert is
 * named by its index, "alerts[2]: ..."), -E2BIG over ALERTMANAGER_MAX_ALERTS alerts or over
 * ALERTMANAGER_MAX_COMMON_COPY bytes of common members the alerts lack, or -ENOMEM; on
 * error nothing is appended to out. */
int alertmanager_normalize(const struct source_input *in, struct ievent_vec *out,
    char *err, size_t errlen);

/* sources/flux.c: a Flux notification-controller event (generic / generic-hmac provider
 * body: involvedObject, severity, reason, message, metadata, ...). Appends exactly one
 * event: severity error -> firing "reconcile.failed"; info with a success reason ->
 * resolved "reconcile.succeeded"; other info (and "trace") -> status "info"
 * "reconcile.progress". Requires involvedObject.kind, involvedObject.name, severity and
 * message. Returns as a source_normalize_fn (0, -EINVAL with err, or -ENOMEM). */
int flux_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen);

/* sources/github.c: a GitHub webhook delivery (repository or organization webhook, GitHub
 * App). Requires the X-GitHub-Event and X-GitHub-Delivery headers (in->headers) and an
 * object body. Appends exactly one event: source "github", status "info", type
 * "github.<event>[.<action>]", fingerprint = the delivery id, the facts of the delivery in
 * string labels (github_event, delivery, action, repository, issue, sender, sender_type,
 * incident_key from the issue body's incidentd marker, new_repository for a transfer, and
 * for a new comment with an `/incidentd` line command, duration, command_reason or
 * command_error (command_find)) and
 * the body as payload. Returns as a source_normalize_fn (0, -EINVAL with err, -ENOMEM). */
int github_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen);

/* sources/slack.c: Slack interactivity (POST /v1/slack/actions). */

/* How far X-Slack-Request-Timestamp may be from now, either way (Slack's advice). */
#define SLACK_MAX_SKEW_S 300

/* Whether ts (X-Slack-Request-Timestamp, seconds since the epoch) is within
 * SLACK_MAX_SKEW_S of now_s. Returns 0, or -EACCES with a short reason in *why (static;
 * never a secret). Does not call back. */
int slack_check_timestamp(const char *ts, int64_t now_s, const char **why);

/* The checks that need no body, for answering before the body is read: the timestamp as
 * slack_check_timestamp() and an X-Slack-Signature of the form v0=<64 hex digits>.
 * Returns 0 or -EACCES with *why as slack_check_timestamp(). Does not call back. */
int slack_check_headers(const struct evkeyvalq *headers, int64_t now_s, const char **why);

/* Whether sig is "v0=" + the hex HMAC-SHA256 of "v0:<ts>:<body>" keyed with secret
 * (compared in constant time). False for anything malformed. Does not call back. */
bool slack_signature_ok(const char *secret, const char *ts, const char *sig,
    const void *body, size_t len);

/* The whole check of a request from Slack, before anything else is done with it:
 * slack_check_headers(), then the signature of the exact body (len bytes) with the app's
 * signing secret. Returns 0, or -EACCES with *why as slack_check_timestamp(). */
int slack_verify_request(const char *secret, const struct evkeyvalq *headers,
    const void *body, size_t len, int64_t now_s, const char **why);

/* The interaction of an interactivity request body (len bytes of
 * application/x-www-form-urlencoded, need not be NUL-terminated): its one "payload" field
 * parsed as a JSON object, new in *out (caller owns). Returns 0, -EINVAL with a
 * user-facing message in err (not a form, no payload or more than one, not JSON, not an
 * object), or -ENOMEM. */
int slack_form_payload(const char *data, size_t len, json_t **out, char *err,
    size_t errlen);

/* Normalize one interaction (in->body: the payload object) into exactly one event: source
 * "slack", status "info", type "slack.<payload type>", fingerprint
 * "slack:<team>:<user>:<action_ts>:<action_id>" ("-" for what is missing), labels
 * (strings, each only when present): slack_event, slack_team, slack_user,
 * slack_user_name, action_id, command (ack, silence, resolve: incidentd's buttons only),
 * duration (1h, 4h with silence), incident_id (actions[0].value when it is an incidentd
 * id), channel, message_ts; payload = a copy of the interaction without response_url,
 * response_urls, trigger_id and token. Requires payload.type. Returns as a
 * source_normalize_fn (0, -EINVAL with err, or -ENOMEM). */
int slack_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen);

/* The idempotency key of a slack event's request into sha (64 hex + NUL): a digest of the
 * interaction's name (team, user, action_ts, action_id: a press Slack sends again has the
 * same) and true, or false when the event has no such name (the caller keys by the body's
 * digest within ledger.dedup_window). Does not call back. */
bool slack_request_key(const struct ievent *ev, char sha[65]);

/* Whether s has the shape of an incidentd id (a ULID: 26 Crockford base32 characters). */
bool slack_is_incident_id(const char *s);

/* sources/cloudevents.c: CloudEvents 1.0. Structured mode (body is the event), binary mode
 * (in->ce_binary: context attributes in ce-* headers of in->headers, body is the data) or
 * batch mode (in->ce_batch: body is an array of structured events, one event each).
 * Requires specversion "1.0", id, source and type on every CloudEvent; a batch is accepted
 * or refused as a whole. In binary mode, a body carrying "specversion" sent without a
 * ce-specversion header is taken as a structured event (posted as application/json).
 * Each event's payload is the whole CloudEvent (in binary mode rebuilt in structured form
 * from the headers and the body; it does not borrow from in->headers). Returns as a
 * source_normalize_fn (0, -EINVAL with err, or -ENOMEM). */
int cloudevents_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen);

/* sources/native.c: incidentd's own event JSON (ievent_to_json() output, as `incidentctl
 * tail --json` prints it): one object, one event. Requires type, status (firing, resolved
 * or info), summary, and fingerprint or app; source is optional (default "nanomsg", else
 * [A-Za-z0-9_.-], at most 64 characters, and not github, slack, incidentd or operator: -EINVAL). The message's id and received_at are ignored
 * (the daemon assigns both); occurred_at defaults to in->received_at; a missing
 * fingerprint is a hash of source, cluster, namespace and app. payload = the message's
 * "payload" member if it has one, else the whole message (shared by reference with
 * in->body). Returns as a source_normalize_fn (0, -EINVAL with err, or -ENOMEM). */
int native_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen);

/* The normalizer of a format name as conf.d spells it (sources.nanomsg.format): argocd,
 * alertmanager, flux, cloudevents or event (native_normalize). NULL for anything else. */
source_normalize_fn source_find_normalizer(const char *format);

/* One message of a message-based source (nanomsg): parse data (len bytes, at most max_len)
 * as JSON and normalize it with the normalizer of format, events received at received_at.
 * A JSON array in format cloudevents is a batch. Returns 0 and appends >= 1 events to out
 * (*reason = NULL), or a negative errno with a user-facing message in err and a metric
 * reason in *reason (static): "bad_json" (empty or invalid JSON, with line and column but
 * without the text near the error),
 * "too_large" (over max_len, or -E2BIG from the normalizer), "invalid_payload" (what the
 * normalizer refused, or an unknown format) or "unavailable" (-ENOMEM). On error nothing
 * is appended. Never logs. */
int source_normalize_message(const char *format, const void *data, size_t len,
    uint64_t max_len, int64_t received_at, struct ievent_vec *out, const char **reason,
    char *err, size_t errlen);

#endif
