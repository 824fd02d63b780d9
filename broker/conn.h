/* conn.h - the client connections of the HTTP server, below evhttp: the connection limit
 * (with a few extra connections that may only ask /healthz and /readyz, so probes keep
 * working during a flood), the whole-request deadline, a check of every request's head
 * before evhttp reads its body (a refused request is answered at once and its body is
 * never buffered), lingering closes, and accept failures that back off instead of
 * spinning (e.g. out of file descriptors). Event-loop thread only. */
#ifndef INCIDENTD_CONN_H
#define INCIDENTD_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "access.h"

struct conns;

/* What the server knows about the connection of a request. */
struct conn_info {
	bool limited;        /* over server.max_connections: only health endpoints */
	bool peer_loopback;  /* the client's address is a loopback address */
};

/* Called when the head of a request (request line and headers, as parsed here) is
 * complete, before its body is read: return 0 to let evhttp read and dispatch it, or an
 * HTTP status with *v filled, which is then answered (Connection: close) without reading
 * the body. path is the decoded target's path. Must not free the connection. */
typedef int (*conn_head_fn)(void *arg, enum evhttp_cmd_type cmd, const char *path,
    const struct evkeyvalq *headers, const struct conn_info *ci, struct access_verdict *v);

/* Track the connections of http (borrowed; conns must be destroyed first) on base: makes
 * itself evhttp's bufferevent factory. head is called for every request head with arg.
 * Returns 0 and *out, or -ENOMEM. */
int conns_new(struct event_base *base, struct evhttp *http, conn_head_fn head, void *arg,
    struct conns **out);

struct tls_server;

/* Settings from now on: max_conns open connections (more get the probe lane or a 503),
 * request_timeout_ms for a request to arrive whole, and tls (borrowed until the next call;
 * NULL = plain HTTP) for connections accepted from now on. */
void conns_apply(struct conns *cs, int64_t max_conns, int64_t request_timeout_ms,
    struct tls_server *tls);

/* Watch the listener of sock for accept failures: the listener pauses (20 ms, doubling
 * up to 1 s) instead of spinning, and says so at most every 10 s. */
void conns_watch_listener(struct conns *cs, struct evhttp_bound_socket *sock);

/* Forget sock's listener (it is being closed). */
void conns_unwatch_listener(struct conns *cs);

/* The server's request callback got req (read completely): its deadline is met; the next
 * request on the connection is checked once req's answer is sent. Fills *ci. */
void conns_request_read(struct conns *cs, struct evhttp_request *req, struct conn_info *ci);

/* Open connections, lingering ones included. */
int64_t conns_open(const struct conns *cs);

/* Close every connection (after evhttp_free()) and free. NULL is a no-op. */
void conns_destroy(struct conns *cs);

#endif
