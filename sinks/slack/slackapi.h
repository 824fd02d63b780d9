/* slackapi.h - one HTTP request of the slack sink on the broker's shared curl multi handle:
 * an incoming webhook or chat.postMessage POST with a JSON body, or a Web API read (GET
 * with a query string: auth.test, conversations.history, ...). Requests wait for the
 * sink's pacing lane and for a rate-limit hold; the answer (status, body, Retry-After,
 * curl's error with the webhook's secret path scrubbed) goes to a callback.
 *
 * Compiled into the slack plugin (hidden symbols). Everything runs on the loop. */
#ifndef INCIDENTD_SLACKAPI_H
#define INCIDENTD_SLACKAPI_H

#include <stdint.h>

#include "incidentd/sink.h"
#include "blocks.h"

/* The connection settings of one sink instance. Strings are owned (slack_client_clear). */
struct slack_client {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	char *auth_header;       /* "Authorization: Bearer <token>" (secret) or NULL */
	char *secret_path;       /* webhook: its URL's path (secret), scrubbed from errors */
	char *lane;              /* pacing lane: "slack:" + a hash of the secret */
	char *user_agent;
	long timeout_ms;
	int64_t hold_until;      /* a rate limit: no request starts before this (ms) */
};

/* Called once per slack_request_start(), later, from the loop; a is borrowed for the
 * call. The request is freed after it returns. */
typedef void (*slack_done_fn)(void *arg, const struct slack_answer *a);

struct slack_request;

/* Start a request to url (a secret for a webhook: never logged). json_body (copied) makes
 * it a POST of application/json; NULL a GET (the query is in url). It starts once the
 * lane grants it a slot (gap_ms after the lane's previous booking; 0 books nothing: a read
 * waits only for earlier bookings and holds) and no hold is in force. Returns 0 and *out
 * (valid until done runs or slack_request_cancel), or a negative errno; done is then never
 * called. done is never called from inside slack_request_start(). */
int slack_request_start(struct slack_client *c, const char *url, const char *json_body,
    uint64_t gap_ms, slack_done_fn done, void *arg, struct slack_request **out);

/* Abandon a request; done is not called. NULL is a no-op. */
void slack_request_cancel(struct slack_request *r);

/* Slack asked to wait delay_ms (a 429, or ok:false "ratelimited"): hold the lane and every
 * request of this client until then. Does not call back. */
void slack_client_hold(struct slack_client *c, uint64_t delay_ms);

/* Free the client's strings (wiping the secrets). NULL members are fine. */
void slack_client_clear(struct slack_client *c);

#endif
