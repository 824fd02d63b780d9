/* server.c - HTTP endpoints on libevent's evhttp. Connections (limits, deadlines, the
 * check of each request's head before its body) live in conn.c, the rules of who may use
 * which endpoint in access.c. */
#include "server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "access.h"
#include "auth.h"
#include "conn.h"
#include "httputil.h"
#include "jsonread.h"
#include "log.h"
#include "metrics.h"
#include "opsapi.h"
#include "readapi.h"
#include "selfmetrics.h"
#include "source.h"
#include "tls.h"

struct server {
	struct daemon *dmn;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct conns *conns;
	bool loopback_listener;
	uint64_t max_body;
	int64_t capped_at;        /* max_connections was capped to this (logged once) */
	struct tls_server *tls;   /* server.tls of the active configuration, or NULL */
};

/* One accepted request waiting for its commit. */
struct pending_reply {
	struct evhttp_request *req;
	int ok_status;           /* what an accepted request is answered: 202, or 200 */
	bool empty;              /* answer an accepted request with an empty body (Slack) */
};

static const char *argocd_json_hint =
    "; if this body comes from an Argo CD notification template, render every value with "
    "toJson (e.g. \"message\": {{toJson .app.status.operationState.message}}) so quotes "
    "and newlines inside messages are escaped";

static void
count_reject(const char *source, const char *reason)
{
	char labels[128];

	snprintf(labels, sizeof(labels), "source=\"%s\",reason=\"%s\"", source, reason);
	metrics_inc("incidentd_events_rejected_total", labels);
}

/* A refused request that is not a source's: counted by endpoint and reason. */
static void
count_refused(const struct endpoint *ep, const char *reason)
{
	static const char *const names[] = {
		[EP_NOT_FOUND] = "none", [EP_NO_SOURCE] = "none", [EP_SOURCE] = "source",
		[EP_RELOAD] = "reload", [EP_HEALTH] = "health", [EP_READY] = "health",
		[EP_METRICS] = "metrics", [EP_READAPI] = "api", [EP_OPS] = "ops",
	};
	char labels[128];

	if (ep->kind == EP_SOURCE) {
		count_reject(ep->source, reason);
		return;
	}
	snprintf(labels, sizeof(labels), "endpoint=\"%s\",reason=\"%s\"", names[ep->kind],
	    reason);
	metrics_inc("incidentd_requests_refused_total", labels);
}

/* The access rules of the active configuration, plus the probe lane: a connection over
 * server.max_connections may only ask /healthz and /readyz. */
static int
server_check(struct server *srv, const struct endpoint *ep, enum evhttp_cmd_type cmd,
    const struct evkeyvalq *headers, const struct conn_info *ci, struct access_verdict *v)
{
	struct access_ctx ax = {
		.cfg = srv->dmn->cfg, .loopback_listener = srv->loopback_listener,
		.peer_loopback = ci->peer_loopback,
	};

	if (ci->limited && ep->kind != EP_HEALTH && ep->kind != EP_READY) {
		memset(v, 0, sizeof(*v));
		v->status = 503;
		v->reason = "too_many_connections";
		snprintf(v->message, sizeof(v->message), "too many connections: "
		    "server.max_connections (%lld) are open; retry",
		    (long long)srv->dmn->cfg->max_connections);
		return 503;
	}
	return access_check(&ax, ep, cmd, headers, v);
}

/* conn.c asks about a request whose head has arrived. */
static int
server_check_head(void *arg, enum evhttp_cmd_type cmd, const char *path,
    const struct evkeyvalq *headers, const struct conn_info *ci, struct access_verdict *v)
{
	struct server *srv = arg;
	struct endpoint ep;
	int rc;

	endpoint_find(path, cmd, &ep);
	rc = server_check(srv, &ep, cmd, headers, ci, v);
	if (rc != 0)
		count_refused(&ep, v->reason);
	return rc;
}

static void
reply_verdict(struct evhttp_request *req, const struct access_verdict *v)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	if (v->challenge)
		evhttp_add_header(out, "WWW-Authenticate", v->challenge);
	if (v->allow)
		evhttp_add_header(out, "Allow", v->allow);
	if (v->status == 503)
		evhttp_add_header(out, "Retry-After", "1");
	http_reply_error(req, v->status, v->message);
}

/* Whether s is an id of ours: ULID characters only (nothing to escape in JSON). */
static bool
plain_id(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

/* {"accepted": N, "events": [ids...], "duplicate": true}: written directly (the ids are
 * ours), which costs a fraction of building and dumping the object on every request; in
 * plain appends, not evbuffer_add_printf(), which formats twice into a fresh chunk. */
static void
reply_accepted(struct evhttp_request *req, int code, const struct ingest_result *res)
{
	struct evbuffer *buf = evbuffer_new();
	char head[64];
	size_t i;
	json_t *id;
	int n = snprintf(head, sizeof(head), "{\"accepted\":%d,\"events\":[", res->accepted);
	bool ok = buf != NULL && n > 0 && (size_t)n < sizeof(head) &&
	    evbuffer_add(buf, head, (size_t)n) == 0;

	json_array_foreach(res->ids, i, id) {
		const char *v = json_string_value(id);

		if (!ok)
			break;
		ok = plain_id(v) && (i == 0 || evbuffer_add(buf, ",", 1) == 0) &&
		    evbuffer_add(buf, "\"", 1) == 0 && evbuffer_add(buf, v, strlen(v)) == 0 &&
		    evbuffer_add(buf, "\"", 1) == 0;
	}
	if (ok) {
		const char *tail = res->duplicate ? "],\"duplicate\":true}\n" : "]}\n";

		ok = evbuffer_add(buf, tail, strlen(tail)) == 0;
	}
	if (!ok) {
		json_t *body = json_pack("{s:i, s:O}", "accepted", res->accepted, "events",
		    res->ids);

		if (body && res->duplicate)
			json_object_set_new(body, "duplicate", json_true());
		if (buf != NULL)
			evbuffer_free(buf);
		http_reply_json(req, code, body);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	evhttp_send_reply(req, code, http_reason(code), buf);
	evbuffer_free(buf);
}

static void
on_ingested(void *arg, const struct ingest_result *res)
{
	struct pending_reply *pr = arg;

	if (res->status == 202 && pr->empty) {
		evhttp_send_reply(pr->req, pr->ok_status, "OK", NULL);
	} else if (res->status == 202) {
		reply_accepted(pr->req, pr->ok_status, res);
	} else {
		http_reply_error(pr->req, res->status, res->error);
	}
	free(pr);
}

static bool
media_is(const char *ct, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(ct, want, n) == 0;
}

/* CloudEvents over HTTP: application/cloudevents+json is structured mode,
 * application/cloudevents-batch+json batch mode, any other (JSON) type binary mode. */
static void
cloudevents_mode(const char *ct, struct source_input *in)
{
	size_t n;

	while (ct != NULL && *ct == ' ')
		ct++;
	n = ct ? strcspn(ct, "; ") : 0;
	if (media_is(ct, n, "application/cloudevents+json"))
		return;
	if (media_is(ct, n, "application/cloudevents-batch+json")) {
		in->ce_batch = true;
		return;
	}
	in->ce_binary = true;
}

/* POST a source payload: auth, media type, size, JSON, normalize, then queue for commit. */
/* With header value "true", label every event incidentd_test=true. Returns 0 or -ENOMEM. */
static int
ievent_mark_test(struct ievent_vec *events, const char *header)
{
	if (header == NULL || strcmp(header, "true") != 0)
		return 0;
	for (size_t i = 0; i < events->n; i++)
		if (json_object_set_new(events->v[i]->labels, "incidentd_test",
		    json_string("true")) != 0)
			return -ENOMEM;
	return 0;
}

/* POST a source payload (the checks without the body passed): size, signature, JSON,
 * normalize, then queue for commit. */
static void
handle_source(struct server *srv, struct evhttp_request *req, const struct endpoint *ep)
{
	struct daemon *dmn = srv->dmn;
	const char *source = ep->source;
	const struct config_source *cs = config_find_source(dmn->cfg, source);
	struct evkeyvalq *hdrs = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct ievent_vec events = { 0 };
	struct pending_reply *pr = NULL;
	const char *why = NULL;
	char err[1024], sha[65], jtext[JSON_ERROR_TEXT_LENGTH];
	json_t *body = NULL;
	int jline, jcol;
	size_t len;
	unsigned char *data;
	const char *ghevent;
	bool github, slack = strcmp(source, "slack") == 0, forever;
	int rc;

	if (dmn->draining) {
		http_reply_error(req, 503, "incidentd is shutting down; retry");
		count_reject(source, "draining");
		return;
	}
	len = evbuffer_get_length(in);
	if (len > srv->max_body) {
		snprintf(err, sizeof(err), "body of %zu bytes is over the limit of %llu bytes", len,
		    (unsigned long long)srv->max_body);
		http_reply_error(req, 413, err);
		count_reject(source, "too_large");
		return;
	}
	data = evbuffer_pullup(in, -1);
	if (auth_check(&cs->auth, hdrs, data, len, &why) != 0) {
		const char *ch = auth_challenge(&cs->auth);

		if (ch)
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "WWW-Authenticate", ch);
		http_reply_error(req, 401, why);
		count_reject(source, "unauthorized");
		return;
	}
	/* Slack: the signature of the exact body, before anything is done with it */
	if (slack && slack_verify_request(cs->signing_secret, hdrs, data, len,
	    util_now_ms() / 1000, &why) != 0) {
		http_reply_error(req, 401, why);
		count_reject(source, "unauthorized");
		return;
	}
	if (len == 0) {
		http_reply_error(req, 400, slack ? "empty body: expected Slack's payload=<JSON> "
		    "form" : "empty body: expected a JSON object");
		count_reject(source, "bad_json");
		return;
	}
	err[0] = '\0';
	if (slack)
		rc = slack_form_payload((const char *)data, len, &body, err, sizeof(err));
	else
		rc = jsonread_loadb((const char *)data, len, &body, jtext, sizeof(jtext), &jline,
		    &jcol);
	if (rc == -ENOMEM)
		goto nomem;
	if (rc != 0 && slack) {
		http_reply_error(req, 400, err);
		count_reject(source, "bad_json");
		return;
	}
	if (rc != 0) {
		snprintf(err, sizeof(err), "invalid JSON at line %d, column %d: %s%s", jline, jcol,
		    jtext, strcmp(source, "argocd") == 0 ? argocd_json_hint : "");
		http_reply_error(req, 400, err);
		count_reject(source, "bad_json");
		return;
	}
	struct source_input input = {
		.body = body, .received_at = util_now_ms(),
		.path_owner = ep->dispatch ? ep->owner : NULL,
		.path_repo = ep->dispatch ? ep->repo : NULL,
		.headers = hdrs,
	};
	if (strcmp(source, "cloudevents") == 0)
		cloudevents_mode(evhttp_find_header(hdrs, "Content-Type"), &input);
	err[0] = '\0';
	rc = ep->normalize(&input, &events, err, sizeof(err));
	if (rc == -E2BIG) {
		http_reply_error(req, 413, err[0] ? err : "payload too large");
		count_reject(source, "too_large");
		goto out;
	}
	if (rc != 0) {
		http_reply_error(req, rc == -ENOMEM ? 503 : 400, err[0] ? err :
		    "payload rejected");
		count_reject(source, rc == -ENOMEM ? "unavailable" : "invalid_payload");
		goto out;
	}
	/* an event whose payload is the whole body keeps the body's text for the ledger (no
	 * second printing of the same JSON) */
	for (size_t i = 0; i < events.n; i++) {
		struct ievent *ev = events.v[i];

		if (ev->payload == body && ev->payload_shared == NULL && ev->payload_text == NULL &&
		    (ev->payload_text = strndup((const char *)data, len)) == NULL)
			goto nomem;
	}
	/* incidentctl fire: a synthetic event, marked so rules can route it to a test sink */
	if (ievent_mark_test(&events, evhttp_find_header(hdrs, "X-Incidentd-Test")) != 0)
		goto nomem;
	/* GitHub names each delivery and keeps the name for redeliveries: that is the
	 * idempotency key (a redelivery days later is still the same delivery) */
	github = strcmp(source, "github") == 0;
	forever = github;
	if (slack && events.n == 1 && slack_request_key(events.v[0], sha)) {
		/* one press of a button, whatever the body's timestamp: for good */
		forever = true;
	} else if (github) {
		const char *id = evhttp_find_header(hdrs, "X-GitHub-Delivery");
		char key[160];
		int n = snprintf(key, sizeof(key), "X-GitHub-Delivery: %s", id ? id : "");

		util_sha256_hex(key, (size_t)n < sizeof(key) ? (size_t)n : sizeof(key) - 1, sha);
	} else {
		util_sha256_hex(data, len, sha);
	}
	pr = calloc(1, sizeof(*pr));
	if (pr == NULL)
		goto nomem;
	pr->req = req;
	/* GitHub's ping (sent when a webhook is created) is answered 200, like GitHub expects */
	ghevent = github ? evhttp_find_header(hdrs, "X-GitHub-Event") : NULL;
	pr->ok_status = ghevent != NULL && strcmp(ghevent, "ping") == 0 ? 200 : 202;
	/* Slack wants 200 with an empty body (anything else shows the person an error) */
	if (slack) {
		pr->ok_status = 200;
		pr->empty = true;
	}
	if (ingest_submit(dmn->ingest, source, &events, sha, forever, on_ingested, pr) != 0)
		goto nomem;
	pr = NULL;
	goto out;
nomem:
	free(pr);
	http_reply_error(req, 503, "out of memory; retry");
	count_reject(source, "unavailable");
out:
	ievent_vec_clear(&events);
	json_decref(body);
}

/* POST /-/reload: reload conf.d like SIGHUP and say how it went (server.api_auth, or
 * loopback clients only without it: see access_check). */
static void
handle_reload(struct server *srv, struct evhttp_request *req)
{
	char err[2048];
	int rc;

	if (srv->dmn->reload == NULL) {
		http_reply_error(req, 503, "reload is not available");
		return;
	}
	err[0] = '\0';
	rc = srv->dmn->reload(srv->dmn->reload_arg, err, sizeof(err));
	if (rc == 0)
		http_reply_json(req, 200, json_pack("{s:s, s:i, s:i}", "status", "reloaded",
		    "sinks", (int)srv->dmn->cfg->n_sinks, "routes", (int)srv->dmn->cfg->n_routes));
	else if (rc == -ESHUTDOWN)
		http_reply_error(req, 503, err);
	else
		http_reply_error(req, 400, err[0] ? err : "reload failed");
}

static void
handle_health(struct server *srv, struct evhttp_request *req, int ready)
{
	struct daemon *dmn = srv->dmn;

	if (!ready) {
		http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
		return;
	}
	if (dmn->draining) {
		http_reply_json(req, 503, json_pack("{s:s, s:s}", "status", "not ready", "reason",
		    "shutting down"));
		return;
	}
	if (dmn->cfg == NULL || dmn->sinks == NULL) {
		http_reply_json(req, 503, json_pack("{s:s, s:s}", "status", "not ready", "reason",
		    "configuration not loaded"));
		return;
	}
	if (store_check_writable(dmn->store) != 0) {
		http_reply_json(req, 503, json_pack("{s:s, s:s}", "status", "not ready", "reason",
		    "ledger is not writable"));
		return;
	}
	http_reply_json(req, 200, json_pack("{s:s}", "status", "ready"));
}

static void
handle_metrics(struct server *srv, struct evhttp_request *req)
{
	struct evbuffer *buf = evbuffer_new();
	int rc;

	if (buf == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	selfmetrics_process();
	ingest_report_checkpoints(srv->dmn->ingest);
	rc = selfmetrics_ledger(srv->dmn->store, srv->dmn->cfg, util_now_ms());
	if (rc != 0)
		log_warn("server", "/metrics: cannot read the ledger's figures: %s (%d)",
		    store_last_error(srv->dmn->store), rc);
	metrics_render(buf);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

static void
server_route(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct access_verdict v;
	struct conn_info ci;
	struct endpoint ep;

	conns_request_read(srv->conns, req, &ci);
	endpoint_find(path, cmd, &ep);
	if (server_check(srv, &ep, cmd, evhttp_request_get_input_headers(req), &ci, &v) != 0) {
		count_refused(&ep, v.reason);
		reply_verdict(req, &v);
		return;
	}
	switch (ep.kind) {
	case EP_SOURCE:
		handle_source(srv, req, &ep);
		break;
	case EP_RELOAD:
		handle_reload(srv, req);
		break;
	case EP_HEALTH:
	case EP_READY:
		handle_health(srv, req, ep.kind == EP_READY);
		break;
	case EP_METRICS:
		handle_metrics(srv, req);
		break;
	case EP_READAPI:
		readapi_handle(srv->dmn->store, req, path, uri ? evhttp_uri_get_query(uri) : NULL);
		break;
	case EP_OPS:
		opsapi_handle(srv->dmn, req, path);
		break;
	default:
		http_reply_error(req, 404, "no such endpoint");
		break;
	}
}

static int
split_listen(const char *listen, char *host, size_t hlen, unsigned short *port)
{
	const char *colon;
	char *end;
	long p;

	if (listen[0] == '[') {
		const char *rb = strchr(listen, ']');
		if (rb == NULL || rb[1] != ':' || (size_t)(rb - listen - 1) >= hlen)
			return -EINVAL;
		snprintf(host, hlen, "%.*s", (int)(rb - listen - 1), listen + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL || (size_t)(colon - listen) >= hlen)
			return -EINVAL;
		snprintf(host, hlen, "%.*s", (int)(colon - listen), listen);
	}
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || p < 0 || p > 65535)
		return -EINVAL;
	*port = (unsigned short)p;
	return 0;
}

/* Descriptors kept for everything but client connections: the ledger, plugins' HTTP
 * connections, agents' pipes, nanomsg sockets, accepted-then-refused connections. */
static int64_t
fd_reserve(int64_t limit)
{
	int64_t r = limit / 4;

	return r < 64 ? 64 : r > 512 ? 512 : r;
}

/* server.max_connections, capped below the open-files limit with a reserve. */
static int64_t
conn_cap(struct server *srv, int64_t want)
{
	struct rlimit rl;
	int64_t limit, cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return want;
	limit = (int64_t)rl.rlim_cur;
	cap = limit - fd_reserve(limit);
	if (cap < 1)
		cap = 1;
	if (want <= cap)
		return want;
	if (srv->capped_at != cap)
		log_warn("server", "server.max_connections %lld capped to %lld: the open-files "
		    "limit is %lld (ulimit -n) and %lld descriptors are kept for the ledger, "
		    "sinks and agents", (long long)want, (long long)cap, (long long)limit,
		    (long long)fd_reserve(limit));
	srv->capped_at = cap;
	return cap;
}

void
server_apply_config(struct server *srv, const struct config *cfg, struct tls_server *tls)
{
	srv->max_body = cfg->max_body_bytes;
	srv->loopback_listener = config_listen_is_loopback(cfg->listen);
	if (srv->tls != tls)         /* connections made with it keep it (OpenSSL refcounts) */
		tls_server_free(srv->tls);
	srv->tls = tls;
	conns_apply(srv->conns, conn_cap(srv, cfg->max_connections), cfg->request_timeout_ms,
	    tls);
	/* evhttp answers 413 itself, from Content-Length right after the headers, or while a
	 * chunked body streams in; handle_source() checks again as a second line. Its idle
	 * timeout closes a connection on which nothing arrives for request_timeout; conn.c
	 * bounds the whole request to request_timeout (a client trickling bytes). */
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)cfg->max_body_bytes);
	evhttp_set_max_headers_size(srv->http, 64 * 1024);
	evhttp_set_timeout(srv->http, (int)((cfg->request_timeout_ms + 999) / 1000));
}

int
server_new(struct daemon *dmn, const char *listen, struct tls_server *tls,
    struct server **out, char *err, size_t errlen)
{
	struct server *srv = calloc(1, sizeof(*srv));
	char host[256], shown[300];
	unsigned short port;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int rc;

	if (srv == NULL) {
		tls_server_free(tls);
		return -ENOMEM;
	}
	srv->dmn = dmn;
	srv->tls = tls;
	rc = split_listen(listen, host, sizeof(host), &port);
	if (rc != 0) {
		snprintf(err, errlen, "invalid listen address '%s' (expected HOST:PORT)", listen);
		goto fail;
	}
	srv->http = evhttp_new(dmn->base);
	if (srv->http == NULL || conns_new(dmn->base, srv->http, server_check_head, srv,
	    &srv->conns) != 0) {
		rc = -ENOMEM;
		snprintf(err, errlen, "cannot create the HTTP server");
		goto fail;
	}
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(srv->http, "application/json");
	/* Not EVHTTP_SERVER_LINGERING_CLOSE: with it evhttp reads a whole oversized body before
	 * answering 413. It answers at once instead; our connections linger after the close
	 * (conn.c) so the client still sees the 413. */
	evhttp_set_gencb(srv->http, server_route, srv);
	server_apply_config(srv, dmn->cfg, tls);
	srv->sock = evhttp_bind_socket_with_handle(srv->http, host, port);
	if (srv->sock == NULL) {
		rc = -EADDRINUSE;
		snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(errno));
		goto fail;
	}
	conns_watch_listener(srv->conns, srv->sock);
	if (getsockname(evhttp_bound_socket_get_fd(srv->sock), (struct sockaddr *)&ss, &sl) == 0)
		port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						      : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(shown, sizeof(shown), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	log_info("server", "listening on %s://%s%s", tls ? "https" : "http", shown,
	    tls && dmn->cfg->tls_client_ca ? " (client certificates required)" : "");
	*out = srv;
	return 0;
fail:
	server_destroy(srv);
	return rc;
}

void
server_stop_listening(struct server *srv)
{
	if (srv && srv->sock) {
		conns_unwatch_listener(srv->conns);
		evhttp_del_accept_socket(srv->http, srv->sock);
		srv->sock = NULL;
	}
}

void
server_destroy(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->conns)
		conns_unwatch_listener(srv->conns);
	if (srv->http)
		evhttp_free(srv->http);  /* closes every connection (conn.c lingers no more) */
	conns_destroy(srv->conns);
	tls_server_free(srv->tls);
	free(srv);
}
