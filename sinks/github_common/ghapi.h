/* ghapi.h - GitHub REST requests for the github_* sinks, on the broker's shared curl
 * multi handle: GitHub's required headers, the per-token pacing of mutating requests
 * (>= 1 s apart, through the host's pacing lanes), response capture (JSON body, link,
 * retry-after and rate-limit headers) and the classification of answers into
 * OK / RETRY (with the delay GitHub asks for) / FAIL.
 *
 * Compiled into each github_* plugin (hidden symbols). Everything runs on the loop. */
#ifndef INCIDENTD_GHAPI_H
#define INCIDENTD_GHAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "incidentd/sink.h"

/* Connection settings of one sink instance. */
struct gh_client {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	char *api_url;       /* "https://api.github.com", no trailing slash */
	char *auth_header;   /* "Authorization: Bearer <token>" (secret; never logged) */
	char *lane;          /* pacing lane: "github:" + sha256 of the token, first 16 hex */
	char *user_agent;
	long timeout_ms;
};

/* What came back. */
struct gh_response {
	long status;           /* HTTP status, 0 when no answer (connection error) */
	int curl_code;         /* CURLcode of the transfer */
	json_t *json;          /* parsed body or NULL (owned) */
	char *link_next;       /* absolute URL of rel="next", or NULL */
	long retry_after_s;    /* -1 when absent */
	long rl_remaining;     /* -1 when absent */
	int64_t rl_reset;      /* seconds since the epoch, 0 when absent */
	char etag[128];        /* the ETag header ("" when absent, too long or not printable) */
	char error[256];       /* curl's error text when status is 0 */
};

/* Called once per gh_request(), later, from the loop. resp is borrowed for the call. */
typedef void (*gh_done_fn)(void *arg, const struct gh_response *resp);

struct gh_request;

/* Fill c from a token and an API URL (both copied; token is kept only in the header).
 * Returns 0, or -ENOMEM / -EINVAL (not http(s)://) with a message in err. */
int gh_client_init(struct gh_client *c, const struct incidentd_host *host,
    struct incidentd_instance *self, const char *api_url, const char *token,
    char *err, size_t errlen);

/* Free what gh_client_init() allocated (wiping the header). NULL members are fine. */
void gh_client_clear(struct gh_client *c);

/* Start a request. path is "/repos/..." (relative to api_url) or an absolute URL, which
 * must be on api_url's origin (pagination links; the token never goes elsewhere). body
 * (borrowed, may be NULL) is sent as JSON. A mutating request (anything but GET) waits
 * for its slot on the token's pacing lane (>= 1 s apart); every request waits for a rate
 * limit hold on the lane. Returns 0 and *out (a handle valid until done runs), or a
 * negative errno; done is then never called. done is never called from inside
 * gh_request(). */
int gh_request(struct gh_client *c, const char *method, const char *path, const json_t *body,
    gh_done_fn done, void *arg, struct gh_request **out);

/* Like gh_request(), with If-None-Match: etag (borrowed; NULL or "" for none): GitHub
 * answers 304 with no body when the resource did not change, which costs no rate limit. */
int gh_request_if_none_match(struct gh_client *c, const char *method, const char *path,
    const json_t *body, const char *etag, gh_done_fn done, void *arg, struct gh_request **out);

/* Abandon a request; done is not called. NULL is a no-op. */
void gh_request_cancel(struct gh_request *r);

/* Outcome of an answer for the core's retry logic. */
enum gh_verdict { GH_OK, GH_RETRY, GH_FAIL };

/* Classify resp (2xx OK; 5xx, 408, connection errors and timeouts RETRY with core
 * back-off; 403/429 rate limits RETRY after retry-after, or until x-ratelimit-reset when
 * x-ratelimit-remaining is 0, or >= 60 s doubling with attempt for secondary limits without
 * headers, and hold the token's lane until then; other 4xx FAIL). Writes a short detail
 * with GitHub's message (no secrets) and the delay in *retry_after_ms (0 = core back-off).
 * now is ms since the epoch. */
enum gh_verdict gh_classify(struct gh_client *c, const struct gh_response *resp, int attempt,
    int64_t now, uint64_t *retry_after_ms, char *detail, size_t len);

/* The URL of rel="next" in a `link` header value (`<url>; rel="next", <url>; rel="last"`),
 * as a new string the caller frees, or NULL when there is none (the last page). */
char *gh_link_next(const char *value);

/* "owner/repo" validity: two non-empty parts of [A-Za-z0-9._-]. */
bool gh_repo_valid(const char *repo);

#endif
