/* conn.c - client connections below evhttp (conn.h). */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <jansson.h>

#include "httputil.h"
#include "log.h"
#include "tls.h"
#include "metrics.h"
#include "util.h"

/* How long a closed connection keeps reading (and discarding) what the client still
 * sends, so that an answer sent before the body arrived (401, 413, 503) is not destroyed
 * by a TCP reset: at most this long in total, and until the client closes its side. */
#define LINGER_MS 2000
/* At most this many connections linger at once; more are closed at once. */
#define LINGER_MAX 64
/* Connections beyond max_connections that may still ask /healthz or /readyz, and how
 * long such a connection may take for it. */
#define PROBE_LANE_MAX 16
#define PROBE_LANE_MS 1000
/* The longest request head this checks; evhttp refuses longer ones itself. */
#define HEAD_MAX (64 * 1024)
/* At most one warning of a kind per this many milliseconds. */
#define WARN_EVERY_MS 10000
/* Accept failures pause the listener this long, doubling up to the maximum. */
#define ACCEPT_PAUSE_MIN_MS 20
#define ACCEPT_PAUSE_MAX_MS 1000

enum conn_state { CONN_NEW, CONN_OPEN, CONN_LINGER };
enum head_state { HEAD_AWAIT, HEAD_DONE, HEAD_SKIP };

/* One client connection, from accept until its socket is closed. evhttp owns the HTTP
 * side; we hold an extra reference on its (plain socket) bufferevent, learn its
 * evhttp_connection right after the accept (evhttp makes it the bufferevent's callback
 * argument) and register a close callback on it. When evhttp closes the connection, our
 * reference keeps the socket open for a lingering close (see LINGER_MS). */
struct conn {
	TAILQ_ENTRY(conn) entry;
	struct conns *cs;
	struct bufferevent *bev;           /* our reference */
	struct evbuffer_cb_entry *in_cb;   /* on bev's input: a request starts arriving */
	struct evhttp_connection *evcon;   /* while evhttp has it (CONN_OPEN) */
	struct event *kick;                /* one-shot: adopt, answer a refusal, linger */
	struct event *deadline;            /* request_timeout, then the linger bound */
	enum conn_state state;
	struct conn_info info;
	bool no_linger;                    /* close at once when evhttp is done */
	bool tls;                          /* an OpenSSL bufferevent (server.tls) */
	bool lingering;                    /* counted in cs->n_linger */
	/* the head of the current request, copied as it arrives (evhttp consumes it line by
	 * line), until it is complete */
	enum head_state hstate;
	char *head;
	size_t head_len, head_cap;
	/* a refusal decided on the head, answered from the kick unless evhttp dispatched the
	 * request first */
	bool refusing;
	struct access_verdict verdict;
};

TAILQ_HEAD(conn_list, conn);

struct conns {
	TAILQ_ENTRY(conns) entry;
	struct event_base *base;
	struct evhttp *http;
	conn_head_fn head_fn;
	void *head_arg;
	int64_t max_conns;
	int64_t request_timeout_ms;
	struct tls_server *tls;            /* new connections speak TLS with it; borrowed */
	struct conn_list list;
	int64_t n_conns;                   /* sockets we hold, lingering ones included */
	int64_t n_probe;                   /* open connections in the probe lane */
	int64_t n_linger;
	uint64_t refused_unlogged;
	int64_t refused_logged_at;         /* util_mono_ms() of the last warning */
	/* accept failures */
	struct evconnlistener *listener;
	struct event *resume;
	int64_t pause_ms;
	uint64_t accept_fail_unlogged;
	int64_t accept_logged_at;
};

/* evconnlistener error callbacks get evhttp's argument: find our conns by it. */
static TAILQ_HEAD(, conns) all_conns = TAILQ_HEAD_INITIALIZER(all_conns);

static void
conns_gauge(const struct conns *cs)
{
	metrics_set("incidentd_connections_open", NULL, (double)cs->n_conns);
}

static void
arm_ms(struct event *ev, int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

/* Whether a warning may be logged now (at most one per WARN_EVERY_MS). */
static bool
warn_due(int64_t *last)
{
	int64_t now = util_mono_ms();

	if (*last != 0 && now - *last < WARN_EVERY_MS)
		return false;
	*last = now;
	return true;
}

static void
head_reset(struct conn *c)
{
	free(c->head);
	c->head = NULL;
	c->head_len = c->head_cap = 0;
}

/* Close the socket (drops our bufferevent reference) and forget the connection. */
static void
conn_finish(struct conn *c)
{
	struct conns *cs = c->cs;

	TAILQ_REMOVE(&cs->list, c, entry);
	cs->n_conns--;
	if (c->lingering)
		cs->n_linger--;
	if (c->info.limited && c->state != CONN_LINGER)
		cs->n_probe--;
	conns_gauge(cs);
	event_free(c->kick);
	event_free(c->deadline);
	if (c->in_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	bufferevent_decref(c->bev);
	head_reset(c);
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
	if (c->info.limited)
		c->cs->n_probe--;
	c->evcon = NULL;
	c->state = CONN_LINGER;
	c->refusing = false;
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

	if (c->no_linger || c->cs->n_linger >= LINGER_MAX) {
		conn_finish(c);
		return;
	}
	/* evhttp sent its last answer and shut down our sending side; discard the rest. */
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setcb(c->bev, linger_read, NULL, linger_event, c);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	if (bufferevent_enable(c->bev, EV_READ) != 0) {
		conn_finish(c);
		return;
	}
	c->lingering = true;
	c->cs->n_linger++;
	arm_ms(c->deadline, LINGER_MS);
}

/* A TLS connection's refusal has been written (or the client went away): now evhttp may
 * close the connection. */
static void
tls_answer_written(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	evhttp_connection_free(c->evcon);  /* calls conn_closed: lingers, then closes */
}

static void
tls_answer_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	tls_answer_written(bev, arg);
}

/* Answer v and let evhttp close the connection: for a request whose body evhttp has not
 * read (a refusal on its head), and for a connection refused at once. A plain socket's
 * send buffer is empty here, so the short answer is sent on the socket itself; a TLS
 * connection's answer goes through its bufferevent, and evhttp closes it once written. */
static void
conn_answer_and_close(struct conn *c, const struct access_verdict *v)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	json_t *o = json_pack("{s:s}", "error", v->message);
	char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	char msg[1024], extra[256] = "";
	int n;

	if (v->challenge)
		snprintf(extra, sizeof(extra), "WWW-Authenticate: %s\r\n", v->challenge);
	else if (v->allow)
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", v->allow);
	else if (v->status == 503)
		snprintf(extra, sizeof(extra), "Retry-After: 1\r\n");
	n = snprintf(msg, sizeof(msg), "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "%sConnection: close\r\nContent-Length: %zu\r\n\r\n%s\n", v->status,
	    http_reason(v->status), extra, body ? strlen(body) + 1 : 1, body ? body : "");
	free(body);
	json_decref(o);
	if (n <= 0 || (size_t)n >= sizeof(msg))
		n = 0;
	if (c->tls && n > 0 && bufferevent_write(c->bev, msg, (size_t)n) == 0) {
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_setcb(c->bev, NULL, tls_answer_written, tls_answer_event, c);
		bufferevent_enable(c->bev, EV_WRITE);
		return;
	}
	if (!c->tls && fd >= 0 && n > 0 &&
	    send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("server", "answer %d to a refused request: %s", v->status,
		    strerror(errno));
	evhttp_connection_free(c->evcon);  /* calls conn_closed: lingers, then closes */
}

/* A connection turned away because server.max_connections are open: counted, and
 * logged at most every WARN_EVERY_MS. */
static void
count_refused(struct conns *cs)
{
	metrics_inc("incidentd_connections_rejected_total", NULL);
	cs->refused_unlogged++;
	if (warn_due(&cs->refused_logged_at)) {
		log_warn("server", "refused %llu connection(s) with 503: server.max_connections "
		    "(%lld) are open", (unsigned long long)cs->refused_unlogged,
		    (long long)cs->max_conns);
		cs->refused_unlogged = 0;
	}
}

/* Answer 503 "too many connections" and close at once (no lingering: under a flood every
 * descriptor counts). */
static void
conn_refuse(struct conn *c)
{
	struct conns *cs = c->cs;
	struct access_verdict v = { .status = 503 };

	snprintf(v.message, sizeof(v.message), "too many connections: server.max_connections "
	    "(%lld) are open; retry", (long long)cs->max_conns);
	count_refused(cs);
	c->no_linger = true;
	conn_answer_and_close(c, &v);
}

static bool
sockaddr_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

/* Right after the accept, before any of the connection's I/O: evhttp has made the
 * bufferevent's callback argument its evhttp_connection. Returns true when c is open,
 * false when it is gone or closing. */
static bool
conn_adopt(struct conn *c)
{
	struct conns *cs = c->cs;
	bufferevent_event_cb ecb = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	void *arg = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, &ecb, &arg);
	if (ecb == NULL || arg == NULL) {
		/* evhttp could not set the connection up and already freed it */
		conn_finish(c);
		return false;
	}
	c->evcon = arg;
	c->state = CONN_OPEN;
	evhttp_connection_set_closecb(c->evcon, conn_closed, c);
	if (getpeername(bufferevent_getfd(c->bev), (struct sockaddr *)&ss, &sl) == 0)
		c->info.peer_loopback = sockaddr_is_loopback(&ss);
	if (cs->n_conns - cs->n_linger - cs->n_probe <= cs->max_conns)
		return true;
	if (cs->n_probe >= PROBE_LANE_MAX) {
		conn_refuse(c);
		return false;
	}
	/* the probe lane: health endpoints only, quickly */
	c->info.limited = true;
	c->no_linger = true;
	cs->n_probe++;
	arm_ms(c->deadline, PROBE_LANE_MS);
	return true;
}

static void
conn_kick(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state == CONN_NEW && !conn_adopt(c))
		return;
	if (c->state == CONN_LINGER) {
		linger_start(c);
	} else if (c->refusing) {
		struct access_verdict v = c->verdict;

		c->refusing = false;
		conn_answer_and_close(c, &v);
	}
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
	if (c->info.limited) {
		conn_refuse(c);  /* the probe lane's time is up */
		return;
	}
	metrics_inc("incidentd_requests_timed_out_total", NULL);
	log_info("server", "closed a connection whose request did not arrive within "
	    "server.request_timeout (%lld ms)", (long long)c->cs->request_timeout_ms);
	evhttp_connection_free(c->evcon);  /* calls conn_closed */
}

/* --- request heads ------------------------------------------------------------------- */

/* The end of the head in buf (the index after its empty line), or 0 when it is not
 * complete yet. Lines end in LF or CRLF, like evhttp reads them. */
static size_t
head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static enum evhttp_cmd_type
method_of(const char *m)
{
	static const struct { const char *name; enum evhttp_cmd_type cmd; } methods[] = {
		{ "GET", EVHTTP_REQ_GET }, { "POST", EVHTTP_REQ_POST },
		{ "HEAD", EVHTTP_REQ_HEAD }, { "PUT", EVHTTP_REQ_PUT },
		{ "DELETE", EVHTTP_REQ_DELETE }, { "OPTIONS", EVHTTP_REQ_OPTIONS },
		{ "TRACE", EVHTTP_REQ_TRACE }, { "CONNECT", EVHTTP_REQ_CONNECT },
		{ "PATCH", EVHTTP_REQ_PATCH },
	};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(m, methods[i].name) == 0)
			return methods[i].cmd;
	return 0;
}

/* Cut the next line off *p (NUL-terminating it, without its CR). */
static char *
next_line(char **p)
{
	char *line = *p, *nl = strchr(line, '\n');

	if (nl == NULL)
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	return line;
}

/* Parse the complete head in text (NUL-terminated, modified) the way evhttp does: the
 * method up to the first space, the version after the last, headers "Name: value" with
 * the value trimmed. Returns 0 with *cmd, *target and the headers, or -1 for anything
 * this does not understand (evhttp then decides, and the server checks the complete
 * request). */
static int
head_parse(char *text, enum evhttp_cmd_type *cmd, char **target, struct evkeyvalq *headers)
{
	char *p = text, *line, *sp, *last;

	if ((line = next_line(&p)) == NULL || (sp = strchr(line, ' ')) == NULL)
		return -1;
	*sp = '\0';
	while ((last = strrchr(sp + 1, ' ')) != NULL && last[1] == '\0')
		*last = '\0';   /* trailing spaces */
	if ((*cmd = method_of(line)) == 0 || (last = strrchr(sp + 1, ' ')) == NULL ||
	    last == sp + 1 || strncmp(last + 1, "HTTP/", 5) != 0)
		return -1;
	*last = '\0';
	*target = sp + 1;
	while ((line = next_line(&p)) != NULL && *line != '\0') {
		char *colon = strchr(line, ':'), *value, *end;

		if (*line == ' ' || *line == '\t' || colon == NULL)
			return -1;   /* folded lines and the like: leave them to evhttp */
		*colon = '\0';
		value = colon + 1 + strspn(colon + 1, " \t");
		end = value + strlen(value);
		while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (evhttp_add_header(headers, line, value) != 0)
			return -1;
	}
	return 0;
}

/* The head is complete: check it, and when it is refused stop reading and answer. */
static void
head_check(struct conn *c, size_t end)
{
	struct evkeyvalq headers;
	struct evhttp_uri *uri = NULL;
	enum evhttp_cmd_type cmd = 0;
	char *target = NULL;
	int rc;

	TAILQ_INIT(&headers);
	c->head[end] = '\0';
	c->hstate = HEAD_SKIP;
	if (head_parse(c->head, &cmd, &target, &headers) != 0 ||
	    (uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT)) == NULL)
		goto out;
	c->hstate = HEAD_DONE;
	rc = c->cs->head_fn(c->cs->head_arg, cmd, evhttp_uri_get_path(uri), &headers, &c->info,
	    &c->verdict);
	if (rc != 0) {
		if (c->info.limited && rc == 503)
			count_refused(c->cs);
		/* evhttp reads no more of this connection; if what it has is the whole request
		 * it dispatches it now (the server refuses it the same way), else the kick
		 * answers. */
		c->refusing = true;
		bufferevent_disable(c->bev, EV_READ);
		event_active(c->kick, EV_TIMEOUT, 1);
	}
out:
	if (uri)
		evhttp_uri_free(uri);
	evhttp_clear_headers(&headers);
	head_reset(c);
}

/* Copy the last n bytes of buf into the head; check the head once it is complete. */
static void
head_take(struct conn *c, struct evbuffer *buf, size_t n)
{
	struct evbuffer_ptr at;
	size_t len = evbuffer_get_length(buf), end;

	if (n == 0 || n > len)
		return;
	if (c->head_len + n > HEAD_MAX) {
		c->hstate = HEAD_SKIP;     /* evhttp refuses a head this long itself */
		head_reset(c);
		return;
	}
	if (c->head_len + n + 1 > c->head_cap) {
		size_t cap = c->head_cap ? c->head_cap : 1024;
		char *p;

		while (cap < c->head_len + n + 1)
			cap *= 2;
		if ((p = realloc(c->head, cap)) == NULL) {
			c->hstate = HEAD_SKIP;
			head_reset(c);
			return;
		}
		c->head = p;
		c->head_cap = cap;
	}
	if (evbuffer_ptr_set(buf, &at, len - n, EVBUFFER_PTR_SET) != 0 ||
	    evbuffer_copyout_from(buf, &at, c->head + c->head_len, n) != (ev_ssize_t)n) {
		c->hstate = HEAD_SKIP;
		head_reset(c);
		return;
	}
	c->head_len += n;
	if ((end = head_end(c->head, c->head_len)) > 0)
		head_check(c, end);
}

/* Bytes arrived on a connection: the first ones of a request start its deadline, and
 * the head is copied until it is complete. */
static void
conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	if (info->n_added == 0 || c->state == CONN_LINGER)
		return;
	if (c->state == CONN_OPEN && !evtimer_pending(c->deadline, NULL))
		arm_ms(c->deadline, c->cs->request_timeout_ms);
	if (c->hstate == HEAD_AWAIT)
		head_take(c, buf, info->n_added);
}

/* The answer to the previous request is sent: what is already buffered starts the next
 * one. */
static void
conn_request_done(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in;

	(void)req;
	if (c->state != CONN_OPEN)
		return;
	c->hstate = HEAD_AWAIT;
	head_reset(c);
	in = bufferevent_get_input(c->bev);
	head_take(c, in, evbuffer_get_length(in));
}

static struct conn *
conn_find(struct conns *cs, const struct bufferevent *bev)
{
	struct conn *c;

	TAILQ_FOREACH(c, &cs->list, entry)
		if (c->bev == bev)
			return c;
	return NULL;
}

void
conns_request_read(struct conns *cs, struct evhttp_request *req, struct conn_info *ci)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct conn *c = evcon ? conn_find(cs, evhttp_connection_get_bufferevent(evcon)) :
	    NULL;

	memset(ci, 0, sizeof(*ci));
	if (c == NULL)
		return;
	*ci = c->info;
	if (!c->info.limited)
		event_del(c->deadline);
	/* evhttp dispatched the request: the server answers it (a refusal decided on the
	 * head is decided again, the same way) */
	c->refusing = false;
	c->hstate = HEAD_DONE;
	evhttp_request_set_on_complete_cb(req, conn_request_done, c);
}

/* evhttp's bufferevent factory: one per accepted connection. */
static struct bufferevent *
conn_new(struct event_base *base, void *arg)
{
	struct conns *cs = arg;
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;  /* evhttp makes its own bufferevent: served, not counted */
	c->cs = cs;
	if (cs->tls != NULL) {
		c->tls = true;
		c->bev = tls_server_bufferevent(cs->tls, base);
		/* HTTP clients often close without TLS's close_notify: an end, not an error */
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
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
	TAILQ_INSERT_TAIL(&cs->list, c, entry);
	cs->n_conns++;
	cs->pause_ms = 0;       /* accepting works again */
	conns_gauge(cs);
	event_active(c->kick, EV_TIMEOUT, 1);
	return c->bev;
}

/* --- accept failures ------------------------------------------------------------------- */

static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct conns *cs = arg;

	(void)fd;
	(void)what;
	if (cs->listener != NULL)
		evconnlistener_enable(cs->listener);
}

static void
accept_error(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct conns *cs;

	TAILQ_FOREACH(cs, &all_conns, entry)
		if (cs->http == arg)
			break;
	metrics_inc("incidentd_accept_errors_total", NULL);
	if (cs == NULL)
		return;
	cs->pause_ms = cs->pause_ms ? cs->pause_ms * 2 : ACCEPT_PAUSE_MIN_MS;
	if (cs->pause_ms > ACCEPT_PAUSE_MAX_MS)
		cs->pause_ms = ACCEPT_PAUSE_MAX_MS;
	evconnlistener_disable(lev);
	arm_ms(cs->resume, cs->pause_ms);
	cs->accept_fail_unlogged++;
	if (warn_due(&cs->accept_logged_at)) {
		log_warn("server", "cannot accept connections: %s (%llu time(s)); pausing "
		    "accepts for %lld ms at a time%s", evutil_socket_error_to_string(err),
		    (unsigned long long)cs->accept_fail_unlogged, (long long)cs->pause_ms,
		    err == EMFILE || err == ENFILE ? " (out of file descriptors: lower "
		    "server.max_connections or raise the open-files limit)" : "");
		cs->accept_fail_unlogged = 0;
	}
}

void
conns_watch_listener(struct conns *cs, struct evhttp_bound_socket *sock)
{
	cs->listener = evhttp_bound_socket_get_listener(sock);
	if (cs->listener != NULL)
		evconnlistener_set_error_cb(cs->listener, accept_error);
}

void
conns_unwatch_listener(struct conns *cs)
{
	cs->listener = NULL;
	event_del(cs->resume);
}

/* --- the set ----------------------------------------------------------------------------- */

int
conns_new(struct event_base *base, struct evhttp *http, conn_head_fn head, void *arg,
    struct conns **out)
{
	struct conns *cs = calloc(1, sizeof(*cs));

	if (cs == NULL || (cs->resume = evtimer_new(base, accept_resume, cs)) == NULL) {
		free(cs);
		return -ENOMEM;
	}
	cs->base = base;
	cs->http = http;
	cs->head_fn = head;
	cs->head_arg = arg;
	cs->max_conns = 1024;
	cs->request_timeout_ms = 30000;
	TAILQ_INIT(&cs->list);
	TAILQ_INSERT_TAIL(&all_conns, cs, entry);
	evhttp_set_bevcb(http, conn_new, cs);
	conns_gauge(cs);
	metrics_add("incidentd_connections_rejected_total", NULL, 0);
	metrics_add("incidentd_requests_timed_out_total", NULL, 0);
	metrics_add("incidentd_accept_errors_total", NULL, 0);
	*out = cs;
	return 0;
}

void
conns_apply(struct conns *cs, int64_t max_conns, int64_t request_timeout_ms,
    struct tls_server *tls)
{
	cs->max_conns = max_conns;
	cs->request_timeout_ms = request_timeout_ms;
	cs->tls = tls;
}

int64_t
conns_open(const struct conns *cs)
{
	return cs->n_conns;
}

void
conns_destroy(struct conns *cs)
{
	struct conn *c;

	if (cs == NULL)
		return;
	while ((c = TAILQ_FIRST(&cs->list)) != NULL)
		conn_finish(c);
	TAILQ_REMOVE(&all_conns, cs, entry);
	event_free(cs->resume);
	free(cs);
}
