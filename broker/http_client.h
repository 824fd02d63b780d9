/* http_client.h - one shared libcurl multi handle driven by a libevent base (the
 * hiperfifo pattern): the broker's sinks start transfers here, connections are reused
 * across transfers, and completions are reported from the event loop.
 *
 * curl_global_init() must have been called (main does it) before http_client_new().
 */
#ifndef INCIDENTD_HTTP_CLIENT_H
#define INCIDENTD_HTTP_CLIENT_H

#include <stddef.h>
#include <curl/curl.h>
#include <event2/event.h>

struct http_client;

/* Called once when a transfer started with http_client_start() finishes (rc is the
 * transfer's CURLcode). The easy handle has already been removed from the multi handle
 * and belongs to the caller again. Runs from the event loop; may start or cancel other
 * transfers, but must not destroy the client. */
typedef void (*http_client_done_fn)(CURL *easy, CURLcode rc, void *arg);

/* Create a client on base (borrowed; must outlive the client). At most 8 connections per
 * host. Returns 0 and *out (owned by the caller), or -ENOMEM. Does not call back. */
int http_client_new(struct event_base *base, struct http_client **out);

/* Free the client. Transfers still running are removed from the multi handle without
 * calling their done callbacks; their easy handles stay owned by whoever started them.
 * NULL is a no-op. */
void http_client_destroy(struct http_client *hc);

/* Start a configured transfer. easy stays owned by the caller but must not be touched or
 * freed until done runs or http_client_cancel() is called; CURLOPT_PRIVATE is used by
 * the client. done is called exactly once, later, from the loop (never from inside this
 * function). Returns 0, -EINVAL (NULL argument), -ENOMEM, -EALREADY (easy already
 * running) or -EIO. */
int http_client_start(struct http_client *hc, CURL *easy, http_client_done_fn done,
    void *arg);

/* Stop a running transfer; its done callback is not called. Unknown handles are ignored.
 * Does not call back. */
void http_client_cancel(struct http_client *hc, CURL *easy);

/* Number of transfers started and not yet finished or cancelled. */
size_t http_client_active(const struct http_client *hc);

#endif
