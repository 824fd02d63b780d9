/* readapi.h - the JSON read API over the ledger:
 *   GET /v1/incidents[?state=firing|resolved&limit=N&before=ID]
 *   GET /v1/incidents/{id}          (with its events, deliveries and decision trace)
 *   GET /v1/events[?source=S&incident=ID&limit=N&before=ID]
 *   GET /v1/events/{id}             (with payload, decision trace and deliveries)
 *   GET /v1/deliveries[?failed=1&incident=ID&limit=N] */
#ifndef INCIDENTD_READAPI_H
#define INCIDENTD_READAPI_H

#include <stdbool.h>
#include <event2/http.h>

#include "store.h"

/* True when path belongs to the read API. */
bool readapi_handles(const char *path);

/* Answer a GET for path (query may be NULL) from st. Always replies. */
void readapi_handle(struct store *st, struct evhttp_request *req, const char *path,
    const char *query);

#endif
