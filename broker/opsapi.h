/* opsapi.h - operator verbs over HTTP (server.api_auth; incidentctl resolve and retry use
 * them): resolve an incident by hand, re-drive failed deliveries. They act through the
 * running daemon so the dispatcher delivers at once. */
#ifndef INCIDENTD_OPSAPI_H
#define INCIDENTD_OPSAPI_H

#include <event2/http.h>

#include "daemon.h"

/* Answer a POST to path (one of the EP_OPS paths of access.h; access was checked):
 *   /v1/incidents/{id}/resolve  {"comment"?, "author"?} -> 200 {"incident", "event",
 *                               "deliveries"}; 404 unknown; 409 not firing
 *   /v1/deliveries/{id}/retry   -> 200 {"retried": 1}; 404 unknown; 409 not failed
 *   /v1/deliveries/retry        {"sink"?} -> 200 {"retried": N} (every failed delivery)
 * 400 for a body that is not such an object. Always replies; kicks the dispatcher after a
 * commit. */
void opsapi_handle(struct daemon *dmn, struct evhttp_request *req, const char *path);

#endif
