/* httputil.h - small helpers for evhttp handlers: JSON answers and query parameters. */
#ifndef INCIDENTD_HTTPUTIL_H
#define INCIDENTD_HTTPUTIL_H

#include <event2/http.h>
#include <jansson.h>

/* Send body (a new reference, stolen; may be NULL for an empty body) as
 * application/json with the given status. Frees nothing else; never fails visibly. */
void http_reply_json(struct evhttp_request *req, int code, json_t *body);

/* Send {"error": msg} with the given status (msg copied). */
void http_reply_error(struct evhttp_request *req, int code, const char *msg);

/* Reason phrase for a status code ("Accepted"). */
const char *http_reason(int code);

#endif
