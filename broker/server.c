/* server.c - HTTP endpoints on libevent's evhttp. */
#include "server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "auth.h"
#include "httputil.h"
#include "log.h"
#include "metrics.h"
#include "readapi.h"
#include "source.h"

/* How long a closed connection keeps reading (and discarding) what the client still
 * sends, so that an answer sent before the body arrived (413, 503) is not destroyed by a
 * TCP reset: at most this long in total, and until the client closes its side. */
#define LINGER_MS 2000
/* At most one "connections refused" warning per this many milliseconds. */
#define REFUSE_LOG_MS 10000

enum conn_state { CONN_NEW, CONN_OPEN, CONN_LINGER };

/* One client connection, from accept until its socket is closed. evhttp owns the HTTP
 * side; we hold an extra reference on its (plain socket) bufferevent, learn its
 * evhttp_connection right after the accept (evhttp makes it the bufferevent's callback
 * argument) and register a close callback on it. When evhttp closes the connection, our
 * reference keeps the socket open for a lingering close (see LINGER_MS). */
struct conn {
	TAILQ_ENTRY(conn) entry;
	struct server *srv;
	struct bufferevent *bev;           /* our reference */
	struct evbuffer_cb_entry *in_cb;   /* on bev's input: a request starts arriving */
	struct evhttp_connection *evcon;   /* while evhttp has it (CONN_OPEN) */
	struct event *kick;                /* one-shot: adopt after accept, start lingering */
	struct event *deadline;            /* request_timeout, then the linger bound */
	enum conn_state state;
};

TAILQ_HEAD(conn_list, conn);

struct server {
	struct daemon *dmn;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	uint64_t max_body;
	int64_t request_timeout_ms;
	int64_t max_conns;
	struct conn_list conns;
	int64_t n_conns;                   /* sockets open, lingering ones included */
	uint64_t refused_unlogged;
	int64_t refused_logged_at;         /* util_now_ms() of the last warning */
};

/* One accepted request waiting for its commit. */
struct pending_reply {
	struct evhttp_request *req;
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

/* application/json, application/<x>+json, text/json, or no Content-Type at all. */
static int
content_type_ok(const char *ct)
{
	char media[128];
	size_t n = 0;

	if (ct == NULL)
		return 1;
	while (*ct == ' ')
		ct++;
	while (ct[n] && ct[n] != ';' && ct[n] != ' ' && n < sizeof(media) - 1) {
		media[n] = (char)tolower((unsigned char)ct[n]);
		n++;
	}
	media[n] = '\0';
	if (strcmp(media, "application/json") == 0 || strcmp(media, "text/json") == 0)
		return 1;
	return strncmp(media, "application/", 12) == 0 && n > 17 &&
	    strcmp(media + n - 5, "+json") == 0;
}

static void
on_ingested(void *arg, const struct ingest_result *res)
{
	struct pending_reply *pr = arg;

	if (res->status == 202) {
		json_t *body = json_pack("{s:i, s:O}", "accepted", res->accepted, "events",
		    res->ids);
		if (body && res->duplicate)
			json_object_set_new(body, "duplicate", json_true());
		http_reply_json(pr->req, 202, body);
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
static void
handle_source(struct server *srv, struct evhttp_request *req, const char *source,
    source_normalize_fn normalize, const char *owner, const char *repo)
{
	struct daemon *dmn = srv->dmn;
	const struct config_source *cs = config_find_source(dmn->cfg, source);
	struct evkeyvalq *hdrs = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct ievent_vec events = { 0 };
	struct pending_reply *pr = NULL;
	const char *why = NULL;
	char err[1024], sha[65];
	json_t *body = NULL;
	json_error_t jerr;
	size_t len;
	unsigned char *data;
	int rc;

	if (cs == NULL || !cs->enabled) {
		http_reply_error(req, 404, "this source is not enabled in the configuration");
		count_reject(source, "disabled");
		return;
	}
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
	if (!content_type_ok(evhttp_find_header(hdrs, "Content-Type"))) {
		snprintf(err, sizeof(err), "Content-Type must be application/json, not %.100s",
		    evhttp_find_header(hdrs, "Content-Type"));
		http_reply_error(req, 415, err);
		count_reject(source, "unsupported_media_type");
		return;
	}
	if (len == 0) {
		http_reply_error(req, 400, "empty body: expected a JSON object");
		count_reject(source, "bad_json");
		return;
	}
	body = json_loadb((const char *)data, len, 0, &jerr);
	if (body == NULL) {
		snprintf(err, sizeof(err), "invalid JSON at line %d, column %d: %s%s", jerr.line,
		    jerr.column, jerr.text, strcmp(source, "argocd") == 0 ? argocd_json_hint : "");
		http_reply_error(req, 400, err);
		count_reject(source, "bad_json");
		return;
	}
	struct source_input input = {
		.body = body, .received_at = util_now_ms(), .path_owner = owner, .path_repo = repo,
		.headers = hdrs,
	};
	if (strcmp(source, "cloudevents") == 0)
		cloudevents_mode(evhttp_find_header(hdrs, "Content-Type"), &input);
	err[0] = '\0';
	rc = normalize(&input, &events, err, sizeof(err));
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
	util_sha256_hex(data, len, sha);
	pr = calloc(1, sizeof(*pr));
	if (pr == NULL)
		goto nomem;
	pr->req = req;
	if (ingest_submit(dmn->ingest, source, &events, sha, on_ingested, pr) != 0)
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
handle_metrics(struct evhttp_request *req)
{
	struct evbuffer *buf = evbuffer_new();

	if (buf == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	metrics_render(buf);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

static void
method_not_allowed(struct evhttp_request *req, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	http_reply_error(req, 405, "method not allowed");
}

/* /repos/{owner}/{repo}/dispatches: GitHub's repository_dispatch, as a drop-in. */
static int
parse_dispatch_path(const char *path, char *owner, size_t olen, char *repo, size_t rlen)
{
	const char *p = path + strlen("/repos/"), *slash, *slash2;

	if (strncmp(path, "/repos/", 7) != 0 || (slash = strchr(p, '/')) == NULL)
		return -1;
	slash2 = strchr(slash + 1, '/');
	if (slash2 == NULL || strcmp(slash2, "/dispatches") != 0 || slash == p ||
	    slash2 == slash + 1 || (size_t)(slash - p) >= olen ||
	    (size_t)(slash2 - slash - 1) >= rlen)
		return -1;
	snprintf(owner, olen, "%.*s", (int)(slash - p), p);
	snprintf(repo, rlen, "%.*s", (int)(slash2 - slash - 1), slash + 1);
	return 0;
}

static void conn_request_read(struct server *srv, struct evhttp_request *req);

static void
server_route(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	int is_get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
	int is_post = cmd == EVHTTP_REQ_POST;
	char owner[128], repo[128];

	conn_request_read(srv, req);
	if (path == NULL || *path == '\0')
		path = "/";
	if (strcmp(path, "/v1/events/argocd") == 0) {
		if (is_post)
			handle_source(srv, req, "argocd", argocd_normalize, NULL, NULL);
		else
			method_not_allowed(req, "POST");
	} else if (strcmp(path, "/v1/events/alertmanager") == 0) {
		if (is_post)
			handle_source(srv, req, "alertmanager", alertmanager_normalize, NULL, NULL);
		else
			method_not_allowed(req, "POST");
	} else if (strcmp(path, "/v1/events/flux") == 0) {
		if (is_post)
			handle_source(srv, req, "flux", flux_normalize, NULL, NULL);
		else
			method_not_allowed(req, "POST");
	} else if (strcmp(path, "/v1/events") == 0 && is_post) {
		handle_source(srv, req, "cloudevents", cloudevents_normalize, NULL, NULL);
	} else if (parse_dispatch_path(path, owner, sizeof(owner), repo, sizeof(repo)) == 0) {
		if (is_post)
			handle_source(srv, req, "argocd", argocd_normalize, owner, repo);
		else
			method_not_allowed(req, "POST");
	} else if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0) {
		if (is_get)
			handle_health(srv, req, strcmp(path, "/readyz") == 0);
		else
			method_not_allowed(req, "GET, HEAD");
	} else if (strcmp(path, "/metrics") == 0) {
		if (is_get)
			handle_metrics(req);
		else
			method_not_allowed(req, "GET, HEAD");
	} else if (is_post && strncmp(path, "/v1/events/", 11) == 0) {
		/* a source name that does not exist: say so, rather than 405 of /v1/events/{id} */
		http_reply_error(req, 404, "unknown source (POST /v1/events/argocd, "
		    "/v1/events/alertmanager, /v1/events/flux, /v1/events for CloudEvents, or "
		    "/repos/{owner}/{repo}/dispatches)");
	} else if (readapi_handles(path)) {
		if (is_get)
			readapi_handle(srv->dmn->store, req, path,
			    uri ? evhttp_uri_get_query(uri) : NULL);
		else
			method_not_allowed(req, "GET, HEAD");
	} else {
		http_reply_error(req, 404, "no such endpoint");
	}
}

/* --- connections: limit, request deadline, lingering close ---------------------------- */

static void
conns_gauge(const struct server *srv)
{
	metrics_set("incidentd_connections_open", NULL, (double)srv->n_conns);
}

static struct conn *
conn_find(struct server *srv, const struct bufferevent *bev)
{
	struct conn *c;

	TAILQ_FOREACH(c, &srv->conns, entry)
		if (c->bev == bev)
			return c;
	return NULL;
}

static void
arm_ms(struct event *ev, int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

/* Close the socket (drops our bufferevent reference) and forget the connection. */
static void
conn_finish(struct conn *c)
{
	struct server *srv = c->srv;

	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->n_conns--;
	conns_gauge(srv);
	event_free(c->kick);
	event_free(c->deadline);
	if (c->in_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	bufferevent_decref(c->bev);
	free(c);
}

/* evhttp is freeing the connection (any reason: answered with Connection: close, client
 * gone, timeout, shutdown). It frees the bufferevent right after this returns, so the
 * lingering starts from the kick event. */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;

	(void)evcon;
	c->evcon = NULL;
	c->state = CONN_LINGER;
	event_del(c->deadline);
	event_active(c->kick, EV_TIMEOUT, 1);
}

static void
linger_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
linger_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;  /* EOF, error or the idle timeout: the client is done or gone */
	conn_finish(arg);
}

static void
linger_start(struct conn *c)
{
	struct timeval tv = { .tv_sec = LINGER_MS / 1000, .tv_usec = (LINGER_MS % 1000) * 1000 };
	struct evbuffer *in = bufferevent_get_input(c->bev);

	/* evhttp sent its last answer and shut down our sending side; discard the rest. */
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setcb(c->bev, linger_read, NULL, linger_event, c);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	if (bufferevent_enable(c->bev, EV_READ) != 0) {
		conn_finish(c);
		return;
	}
	arm_ms(c->deadline, LINGER_MS);
}

static void
conn_refuse(struct conn *c)
{
	struct server *srv = c->srv;
	char body[160], msg[512];
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	int64_t now = util_now_ms();
	int n;

	snprintf(body, sizeof(body), "{\"error\":\"too many connections: server.max_connections "
	    "(%lld) are open; retry\"}\n", (long long)srv->max_conns);
	n = snprintf(msg, sizeof(msg), "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	/* a fresh socket: this small answer fits its send buffer; best effort otherwise */
	if (fd >= 0 && n > 0 && send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("server", "503 to a refused connection: %s", strerror(errno));
	metrics_inc("incidentd_connections_rejected_total", NULL);
	srv->refused_unlogged++;
	if (srv->refused_logged_at == 0 || now - srv->refused_logged_at >= REFUSE_LOG_MS) {
		log_warn("server", "refused %llu connection(s) with 503: server.max_connections "
		    "(%lld) are open", (unsigned long long)srv->refused_unlogged,
		    (long long)srv->max_conns);
		srv->refused_unlogged = 0;
		srv->refused_logged_at = now;
	}
	evhttp_connection_free(c->evcon);  /* calls conn_closed: lingers, then closes */
}

/* Right after the accept, before any of the connection's I/O: evhttp has made the
 * bufferevent's callback argument its evhttp_connection. */
static void
conn_adopt(struct conn *c)
{
	bufferevent_event_cb ecb = NULL;
	void *arg = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, &ecb, &arg);
	if (ecb == NULL || arg == NULL) {
		/* evhttp could not set the connection up and already freed it */
		conn_finish(c);
		return;
	}
	c->evcon = arg;
	c->state = CONN_OPEN;
	evhttp_connection_set_closecb(c->evcon, conn_closed, c);
	if (c->srv->n_conns > c->srv->max_conns)
		conn_refuse(c);
}

static void
conn_kick(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state == CONN_NEW)
		conn_adopt(c);
	else if (c->state == CONN_LINGER)
		linger_start(c);
}

static void
conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state != CONN_OPEN) {
		conn_finish(c);  /* the linger bound */
		return;
	}
	metrics_inc("incidentd_requests_timed_out_total", NULL);
	log_info("server", "closed a connection whose request did not arrive within "
	    "server.request_timeout (%lld ms)", (long long)c->srv->request_timeout_ms);
	evhttp_connection_free(c->evcon);  /* calls conn_closed */
}

/* Bytes arrived on a connection: the first ones of a request start its deadline. */
static void
conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	(void)buf;
	if (info->n_added > 0 && c->state == CONN_OPEN &&
	    !evtimer_pending(c->deadline, NULL))
		arm_ms(c->deadline, c->srv->request_timeout_ms);
}

/* A request was read completely: its deadline is met. */
static void
conn_request_read(struct server *srv, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct conn *c = evcon ? conn_find(srv, evhttp_connection_get_bufferevent(evcon)) :
	    NULL;

	if (c)
		event_del(c->deadline);
}

/* evhttp's bufferevent factory: one per accepted connection. */
static struct bufferevent *
conn_new(struct event_base *base, void *arg)
{
	struct server *srv = arg;
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;  /* evhttp makes its own bufferevent: served, not counted */
	c->srv = srv;
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	c->kick = event_new(base, -1, 0, conn_kick, c);
	c->deadline = evtimer_new(base, conn_deadline, c);
	if (c->bev)
		c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), conn_input, c);
	if (c->bev == NULL || c->kick == NULL || c->deadline == NULL || c->in_cb == NULL) {
		if (c->bev)
			bufferevent_free(c->bev);
		if (c->kick)
			event_free(c->kick);
		if (c->deadline)
			event_free(c->deadline);
		free(c);
		return NULL;
	}
	bufferevent_incref(c->bev);
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->n_conns++;
	conns_gauge(srv);
	event_active(c->kick, EV_TIMEOUT, 1);
	return c->bev;
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

void
server_apply_config(struct server *srv, const struct config *cfg)
{
	srv->max_body = cfg->max_body_bytes;
	srv->request_timeout_ms = cfg->request_timeout_ms;
	srv->max_conns = cfg->max_connections;
	/* evhttp answers 413 itself, from Content-Length right after the headers, or while a
	 * chunked body streams in; handle_source() checks again as a second line. Its idle
	 * timeout closes a connection on which nothing arrives for request_timeout; conn_input
	 * bounds the whole request to request_timeout (a client trickling bytes). */
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)cfg->max_body_bytes);
	evhttp_set_max_headers_size(srv->http, 64 * 1024);
	evhttp_set_timeout(srv->http, (int)((cfg->request_timeout_ms + 999) / 1000));
}

int
server_new(struct daemon *dmn, const char *listen, struct server **out, char *err,
    size_t errlen)
{
	struct server *srv = calloc(1, sizeof(*srv));
	char host[256], shown[300];
	unsigned short port;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int rc;

	if (srv == NULL)
		return -ENOMEM;
	srv->dmn = dmn;
	TAILQ_INIT(&srv->conns);
	rc = split_listen(listen, host, sizeof(host), &port);
	if (rc != 0) {
		snprintf(err, errlen, "invalid listen address '%s' (expected HOST:PORT)", listen);
		goto fail;
	}
	srv->http = evhttp_new(dmn->base);
	if (srv->http == NULL) {
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
	 * (conn_closed) so the client still sees the 413. */
	evhttp_set_bevcb(srv->http, conn_new, srv);
	evhttp_set_gencb(srv->http, server_route, srv);
	conns_gauge(srv);
	metrics_add("incidentd_connections_rejected_total", NULL, 0);
	metrics_add("incidentd_requests_timed_out_total", NULL, 0);
	server_apply_config(srv, dmn->cfg);
	srv->sock = evhttp_bind_socket_with_handle(srv->http, host, port);
	if (srv->sock == NULL) {
		rc = -EADDRINUSE;
		snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(errno));
		goto fail;
	}
	if (getsockname(evhttp_bound_socket_get_fd(srv->sock), (struct sockaddr *)&ss, &sl) == 0)
		port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						      : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(shown, sizeof(shown), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	log_info("server", "listening on http://%s", shown);
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
		evhttp_del_accept_socket(srv->http, srv->sock);
		srv->sock = NULL;
	}
}

void
server_destroy(struct server *srv)
{
	struct conn *c;

	if (srv == NULL)
		return;
	if (srv->http)
		evhttp_free(srv->http);  /* closes every connection: conn_closed for each */
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		conn_finish(c);
	free(srv);
}
