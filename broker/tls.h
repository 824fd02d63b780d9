/* tls.h - the TLS side of the listener (server.tls): a server context from PEM files,
 * rebuilt on reload so renewed certificates are picked up, and the OpenSSL bufferevents
 * of accepted connections. */
#ifndef INCIDENTD_TLS_H
#define INCIDENTD_TLS_H

#include <stddef.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"

struct tls_server;

/* The TLS context of cfg's server.tls: certificate chain and key (which must match),
 * and with client_ca clients must present a certificate issued by one of those CAs.
 * TLS 1.2 or newer. Returns 0 and *out (NULL when cfg has no server.tls), or a negative
 * errno with the file and OpenSSL's reason in err. Does not call back. */
int tls_server_new(const struct config *cfg, struct tls_server **out, char *err,
    size_t errlen);

/* Free. Connections made with it keep working (OpenSSL counts references). NULL is a
 * no-op. */
void tls_server_free(struct tls_server *ts);

/* A new accepting TLS bufferevent on base (no socket yet: evhttp sets it), closing its
 * socket when freed. Returns NULL when out of memory. */
struct bufferevent *tls_server_bufferevent(struct tls_server *ts, struct event_base *base);

#endif
