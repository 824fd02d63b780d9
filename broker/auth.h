/* auth.h - inbound request authentication for sources (bearer, basic, HMAC). */
#ifndef INCIDENTD_AUTH_H
#define INCIDENTD_AUTH_H

#include <stddef.h>
#include <event2/keyvalq_struct.h>

#include "config.h"

/* Check the request headers (and, for HMAC, the exact body) against the source's auth.
 * AUTH_UNSET and AUTH_NONE accept everything. Comparisons are constant-time.
 * Returns 0 when accepted, -EACCES otherwise (with a short reason in *why that never
 * contains a secret or the presented credential). Does not call back. */
int auth_check(const struct config_auth *auth, const struct evkeyvalq *headers,
    const void *body, size_t len, const char **why);

/* The part of auth_check() that needs no body, for answering before the body is read:
 * bearer and basic completely; for HMAC only that a well-formed signature header is
 * there. Returns 0 or -EACCES with *why as auth_check(). Does not call back. */
int auth_check_headers(const struct config_auth *auth, const struct evkeyvalq *headers,
    const char **why);

/* The WWW-Authenticate challenge for a 401, or NULL when the scheme has none (HMAC). */
const char *auth_challenge(const struct config_auth *auth);

#endif
