/* access.c - endpoints and the checks of a request that need no body. */
#include "access.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "readapi.h"
#include "util.h"

static const struct {
	const char *path;
	const char *source;
	source_normalize_fn normalize;
} source_paths[] = {
	{ "/v1/events/argocd", "argocd", argocd_normalize },
	{ "/v1/events/alertmanager", "alertmanager", alertmanager_normalize },
	{ "/v1/events/flux", "flux", flux_normalize },
	{ "/v1/events/github", "github", github_normalize },
	{ "/v1/slack/actions", "slack", slack_normalize },
};

/* /repos/{owner}/{repo}/dispatches: GitHub's repository_dispatch, as a drop-in. */
static bool
parse_dispatch_path(const char *path, struct endpoint *ep)
{
	const char *p = path + strlen("/repos/"), *slash, *slash2;

	if (strncmp(path, "/repos/", 7) != 0 || (slash = strchr(p, '/')) == NULL)
		return false;
	slash2 = strchr(slash + 1, '/');
	if (slash2 == NULL || strcmp(slash2, "/dispatches") != 0 || slash == p ||
	    slash2 == slash + 1 || (size_t)(slash - p) >= sizeof(ep->owner) ||
	    (size_t)(slash2 - slash - 1) >= sizeof(ep->repo))
		return false;
	snprintf(ep->owner, sizeof(ep->owner), "%.*s", (int)(slash - p), p);
	snprintf(ep->repo, sizeof(ep->repo), "%.*s", (int)(slash2 - slash - 1), slash + 1);
	return true;
}

/* /v1/incidents/{id}/resolve, .../ack, .../unack, /v1/deliveries/{id}/retry or
 * /v1/deliveries/retry. */
static bool
ops_path(const char *path)
{
	static const struct { const char *prefix, *suffix; } verbs[] = {
		{ "/v1/incidents/", "/resolve" }, { "/v1/incidents/", "/ack" },
		{ "/v1/incidents/", "/unack" }, { "/v1/deliveries/", "/retry" },
	};

	if (strcmp(path, "/v1/deliveries/retry") == 0)
		return true;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		size_t p = strlen(verbs[i].prefix), s = strlen(verbs[i].suffix), n = strlen(path);
		const char *id = path + p;

		if (n > p + s && strncmp(path, verbs[i].prefix, p) == 0 &&
		    strcmp(path + n - s, verbs[i].suffix) == 0 &&
		    memchr(id, '/', n - p - s) == NULL)
			return true;
	}
	return false;
}

void
endpoint_find(const char *path, enum evhttp_cmd_type cmd, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (path == NULL || *path == '\0')
		path = "/";
	for (size_t i = 0; i < sizeof(source_paths) / sizeof(source_paths[0]); i++) {
		if (strcmp(path, source_paths[i].path) == 0) {
			ep->kind = EP_SOURCE;
			ep->source = source_paths[i].source;
			ep->normalize = source_paths[i].normalize;
			ep->post = true;
			return;
		}
	}
	if (strcmp(path, "/v1/events") == 0 && cmd == EVHTTP_REQ_POST) {
		ep->kind = EP_SOURCE;
		ep->source = "cloudevents";
		ep->normalize = cloudevents_normalize;
		ep->post = true;
	} else if (parse_dispatch_path(path, ep)) {
		ep->kind = EP_SOURCE;
		ep->source = "argocd";
		ep->normalize = argocd_normalize;
		ep->dispatch = true;
		ep->post = true;
	} else if (strcmp(path, "/-/reload") == 0) {
		ep->kind = EP_RELOAD;
		ep->post = true;
	} else if (strcmp(path, "/healthz") == 0) {
		ep->kind = EP_HEALTH;
	} else if (strcmp(path, "/readyz") == 0) {
		ep->kind = EP_READY;
	} else if (strcmp(path, "/metrics") == 0) {
		ep->kind = EP_METRICS;
	} else if (ops_path(path)) {
		ep->kind = EP_OPS;
		ep->post = true;
	} else if (cmd == EVHTTP_REQ_POST && strncmp(path, "/v1/events/", 11) == 0) {
		ep->kind = EP_NO_SOURCE;   /* a source name that does not exist */
		ep->post = true;
	} else if (readapi_handles(path)) {
		ep->kind = EP_READAPI;
	}
}

const struct config_auth *
access_endpoint_auth(const struct config *cfg, const struct endpoint *ep)
{
	const struct config_source *cs;

	switch (ep->kind) {
	case EP_SOURCE:
		cs = config_find_source(cfg, ep->source);
		return cs ? &cs->auth : NULL;
	case EP_READAPI:
	case EP_RELOAD:
	case EP_OPS:
		return &cfg->api_auth;
	case EP_METRICS:
		return config_metrics_auth(cfg);
	default:
		return NULL;
	}
}

static int
refuse(struct access_verdict *v, int status, const char *reason, const char *fmt,
    const char *arg) __attribute__((format(printf, 4, 0)));

static int
refuse(struct access_verdict *v, int status, const char *reason, const char *fmt,
    const char *arg)
{
	v->status = status;
	v->reason = reason;
	snprintf(v->message, sizeof(v->message), fmt, arg ? arg : "");
	return status;
}

/* application/json, application/<x>+json (CloudEvents' too) or text/json. */
static bool
media_is_json(const char *ct)
{
	char media[128];
	size_t n = 0;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	while (ct[n] && ct[n] != ';' && ct[n] != ' ' && n < sizeof(media) - 1) {
		media[n] = (char)tolower((unsigned char)ct[n]);
		n++;
	}
	media[n] = '\0';
	if (strcmp(media, "application/json") == 0 || strcmp(media, "text/json") == 0)
		return true;
	return strncmp(media, "application/", 12) == 0 && n > 17 &&
	    strcmp(media + n - 5, "+json") == 0;
}

/* application/x-www-form-urlencoded (what Slack posts), with or without parameters. */
static bool
media_is_form(const char *ct)
{
	static const char form[] = "application/x-www-form-urlencoded";
	size_t n = sizeof(form) - 1;

	while (ct != NULL && (*ct == ' ' || *ct == '\t'))
		ct++;
	return ct != NULL && strncasecmp(ct, form, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The host part of a Host header value (brackets of an IPv6 literal kept), lower-cased. */
static void
host_name(const char *host, char *out, size_t len)
{
	size_t n;

	if (host[0] == '[') {
		const char *rb = strchr(host, ']');

		n = rb ? (size_t)(rb - host) + 1 : strlen(host);
	} else {
		const char *colon = strchr(host, ':');

		n = colon ? (size_t)(colon - host) : strlen(host);
	}
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)host[i]);
	out[n] = '\0';
}

/* An IP literal or localhost: names no DNS answer can point somewhere else. */
static bool
host_is_literal(const char *name)
{
	unsigned char buf[16];
	char v6[64];
	size_t n = strlen(name);

	if (strcmp(name, "localhost") == 0 || inet_pton(AF_INET, name, buf) == 1)
		return true;
	if (n < 3 || name[0] != '[' || name[n - 1] != ']' || n - 2 >= sizeof(v6))
		return false;
	memcpy(v6, name + 1, n - 2);
	v6[n - 2] = '\0';
	return inet_pton(AF_INET6, v6, buf) == 1;
}

static bool
host_allowed(const struct access_ctx *ax, const char *host)
{
	const struct config *cfg = ax->cfg;
	char name[256];

	if (host == NULL)   /* HTTP/1.0 without Host: nothing a browser sends */
		return true;
	host_name(host, name, sizeof(name));
	if (cfg->n_allowed_hosts == 0)
		return !ax->loopback_listener || host_is_literal(name);
	for (size_t i = 0; i < cfg->n_allowed_hosts; i++) {
		char want[256];

		host_name(cfg->allowed_hosts[i], want, sizeof(want));
		if (strcmp(want, name) == 0)
			return true;
	}
	return false;
}

static bool
origin_allowed(const struct config *cfg, const char *origin)
{
	for (size_t i = 0; i < cfg->n_allowed_origins; i++)
		if (strcasecmp(cfg->allowed_origins[i], origin) == 0)
			return true;
	return false;
}

static bool
endpoint_is_open(const struct endpoint *ep)
{
	return ep->kind == EP_HEALTH || ep->kind == EP_READY || ep->kind == EP_NOT_FOUND;
}

int
access_check(const struct access_ctx *ax, const struct endpoint *ep,
    enum evhttp_cmd_type cmd, const struct evkeyvalq *headers, struct access_verdict *v)
{
	const struct config *cfg = ax->cfg;
	const struct config_source *cs;
	const struct config_auth *auth;
	const char *host = evhttp_find_header(headers, "Host");
	const char *origin = evhttp_find_header(headers, "Origin");
	const char *site = evhttp_find_header(headers, "Sec-Fetch-Site");
	const char *why = NULL;
	bool is_get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;

	memset(v, 0, sizeof(*v));
	if (!host_allowed(ax, host))
		return refuse(v, 403, "bad_host", "Host '%.100s' is not served here (list it in "
		    "server.allowed_hosts)", host);
	if (origin != NULL && !origin_allowed(cfg, origin))
		return refuse(v, 403, "forbidden", "requests from web pages are refused (Origin "
		    "'%.100s'; list it in server.allowed_origins to accept it)", origin);
	if (site != NULL && (strcasecmp(site, "cross-site") == 0 ||
	    strcasecmp(site, "same-site") == 0) && origin == NULL)
		return refuse(v, 403, "forbidden", "requests from web pages are refused "
		    "(Sec-Fetch-Site: %.20s)", site);
	if (ep->kind == EP_NOT_FOUND)
		return refuse(v, 404, "not_found", "%sno such endpoint", NULL);
	if (ep->kind == EP_NO_SOURCE)
		return refuse(v, 404, "not_found", "%sunknown source (POST /v1/events/argocd, "
		    "/v1/events/alertmanager, /v1/events/flux, /v1/events/github, /v1/events for "
		    "CloudEvents, or "
		    "/repos/{owner}/{repo}/dispatches)", NULL);
	if (ep->post ? cmd != EVHTTP_REQ_POST : !is_get) {
		v->allow = ep->post ? "POST" : "GET, HEAD";
		return refuse(v, 405, "method", "%smethod not allowed", NULL);
	}
	if (ep->kind == EP_SOURCE) {
		cs = config_find_source(cfg, ep->source);
		if (cs == NULL || !cs->enabled)
			return refuse(v, 404, "disabled", "%sthis source is not enabled in the "
			    "configuration", NULL);
	}
	if (ep->kind == EP_SOURCE && strcmp(ep->source, "slack") == 0) {
		/* Slack's signature headers come before everything else; the signature of
		 * the body is checked when it has arrived (server.c) */
		const char *ct = evhttp_find_header(headers, "Content-Type");

		if (slack_check_headers(headers, util_now_ms() / 1000, &why) != 0)
			return refuse(v, 401, "unauthorized", "%s", why);
		if (!media_is_form(ct))
			return refuse(v, 415, "unsupported_media_type", "Content-Type must be "
			    "application/x-www-form-urlencoded (Slack's interactivity request), not "
			    "%.100s", ct ? ct : "none");
		return 0;
	}
	if (ep->post && !media_is_json(evhttp_find_header(headers, "Content-Type"))) {
		const char *ct = evhttp_find_header(headers, "Content-Type");

		if (ct == NULL)
			return refuse(v, 415, "unsupported_media_type", "%sContent-Type is missing: "
			    "send application/json (or application/cloudevents+json)", NULL);
		return refuse(v, 415, "unsupported_media_type", "Content-Type must be "
		    "application/json (or application/cloudevents+json), not %.100s", ct);
	}
	if (endpoint_is_open(ep))
		return 0;
	auth = access_endpoint_auth(cfg, ep);
	if ((ep->kind == EP_RELOAD || ep->kind == EP_OPS) && (auth == NULL ||
	    auth->kind == AUTH_UNSET || auth->kind == AUTH_NONE) && !ax->peer_loopback)
		return refuse(v, 403, "forbidden", "%sreload and operator verbs without "
		    "server.api_auth are only accepted from loopback", NULL);
	if (auth != NULL && auth_check_headers(auth, headers, &why) != 0) {
		v->challenge = auth_challenge(auth);
		return refuse(v, 401, "unauthorized", "%s", why);
	}
	return 0;
}
