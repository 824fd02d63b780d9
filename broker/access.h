/* access.h - who may use which HTTP endpoint: the endpoint a path names, and every check
 * of a request that does not need its body (method, Host, browser origin, media type,
 * credentials). The server runs these checks twice: when a request's head has arrived,
 * so a refused request is answered before its body is read, and again on the complete
 * request. Both use the same function, so they cannot disagree. */
#ifndef INCIDENTD_ACCESS_H
#define INCIDENTD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "config.h"
#include "source.h"

enum endpoint_kind {
	EP_NOT_FOUND = 0,  /* no such endpoint */
	EP_NO_SOURCE,      /* POST /v1/events/<not a source> */
	EP_SOURCE,         /* a source (argocd, alertmanager, flux, cloudevents, github,
	                    * slack) */
	EP_RELOAD,         /* POST /-/reload */
	EP_HEALTH,         /* GET /healthz */
	EP_READY,          /* GET /readyz */
	EP_METRICS,        /* GET /metrics */
	EP_READAPI,        /* GET /v1/incidents..., /v1/events..., /v1/deliveries */
	EP_OPS,            /* POST operator verbs: /v1/incidents/{id}/resolve,
	                    * /v1/deliveries/{id}/retry, /v1/deliveries/retry */
};

/* What a request path names. */
struct endpoint {
	enum endpoint_kind kind;
	const char *source;             /* EP_SOURCE: the source's conf.d name */
	source_normalize_fn normalize;  /* EP_SOURCE */
	bool dispatch;                  /* /repos/{owner}/{repo}/dispatches */
	char owner[128], repo[128];     /* dispatch only */
	bool post;                      /* the endpoint takes POST (else GET and HEAD) */
};

/* The endpoint that a request with method cmd to path (NULL or "" is "/") names:
 * /v1/events is the CloudEvents source for POST and the read API otherwise. Never fails:
 * anything unknown is EP_NOT_FOUND. Does not call back. */
void endpoint_find(const char *path, enum evhttp_cmd_type cmd, struct endpoint *ep);

/* Why a request is refused. */
struct access_verdict {
	int status;               /* 0: allowed; else the HTTP status to answer */
	const char *reason;       /* metric label: unauthorized, forbidden, bad_host,
	                           * unsupported_media_type, method, disabled, not_found */
	const char *challenge;    /* WWW-Authenticate of a 401, or NULL */
	const char *allow;        /* Allow of a 405, or NULL */
	char message[384];        /* the {"error": ...} text; never a secret or credential */
};

/* What the checks need besides the request. */
struct access_ctx {
	const struct config *cfg;       /* the active configuration (borrowed) */
	bool loopback_listener;         /* the daemon listens on a loopback address only */
	bool peer_loopback;             /* the client connected from a loopback address */
};

/* Check a request to ep that does not need its body: the method; the Host header against
 * server.allowed_hosts (by default, on a loopback listener, an IP literal or localhost:
 * no DNS name can be rebound onto the daemon); browser requests (an Origin header not in
 * server.allowed_origins, or Sec-Fetch-Site cross-site/same-site) are refused; a POST needs
 * a JSON media type (application/json, application/<x>+json, text/json); a disabled source
 * is not found; credentials of the endpoint's auth (a source's, server.api_auth for the
 * read API and reload, config_metrics_auth() for /metrics; bearer and basic completely, for
 * hmac only that a well-formed signature header is there). /healthz and /readyz need no
 * credentials; reload without api_auth only from a loopback peer. The slack source
 * (POST /v1/slack/actions) instead needs Slack's signature headers first
 * (slack_check_headers(): a timestamp within 5 minutes, a well-formed X-Slack-Signature;
 * 401 otherwise) and then application/x-www-form-urlencoded.
 * Returns 0 when allowed, else the HTTP status, with *v filled either way. Does not call
 * back. */
int access_check(const struct access_ctx *ax, const struct endpoint *ep,
    enum evhttp_cmd_type cmd, const struct evkeyvalq *headers, struct access_verdict *v);

/* The auth that guards ep under cfg (borrowed), or NULL when none applies. */
const struct config_auth *access_endpoint_auth(const struct config *cfg,
    const struct endpoint *ep);

#endif
