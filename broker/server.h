/* server.h - the HTTP front door (libevent evhttp): source endpoints, health, metrics and
 * the read API. Every answer is JSON except /metrics. */
#ifndef INCIDENTD_SERVER_H
#define INCIDENTD_SERVER_H

#include <stddef.h>

#include "daemon.h"

struct server;

struct tls_server;

/* Bind listen ("HOST:PORT", "[::1]:PORT"; port 0 picks a free port) and start serving
 * requests for dmn (borrowed; must outlive the server), over TLS with tls (owned from now
 * on, also on failure; NULL = plain HTTP, see tls_server_new()). Logs "listening on
 * http(s)://..." with the actual port. Returns 0 and *out, or a negative errno with a
 * message in err. */
int server_new(struct daemon *dmn, const char *listen, struct tls_server *tls,
    struct server **out, char *err, size_t errlen);

/* Apply the (new) active configuration: body size, request_timeout (idle and
 * whole-request), max_connections and tls (owned from now on; the previous one is freed)
 * for connections accepted from now on. */
void server_apply_config(struct server *srv, const struct config *cfg,
    struct tls_server *tls);

/* Stop accepting connections (draining); requests already read are still answered. */
void server_stop_listening(struct server *srv);

/* Free the server and close its connections. NULL is a no-op. */
void server_destroy(struct server *srv);

#endif
