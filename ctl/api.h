/* api.h - incidentctl's client of the daemon's HTTP API (reload, and verbs that act
 * through the running daemon). Where and how: --url / $INCIDENTD_URL (default
 * http://127.0.0.1:9740); credentials of server.api_auth from $INCIDENTD_API_TOKEN (bearer),
 * --token-file FILE / $INCIDENTD_API_TOKEN_FILE (bearer, first line), or
 * $INCIDENTD_API_USER "user:password" (basic). Tokens are never put on the command line. */
#ifndef INCIDENTCTL_API_H
#define INCIDENTCTL_API_H

#include <jansson.h>

struct ctl_api {
	const char *url;          /* base URL */
	const char *token_file;   /* or NULL */
};

/* Defaults from the environment. */
void ctl_api_init(struct ctl_api *api);

/* POST (body non-NULL, a JSON object, borrowed) or GET path, and read the JSON answer.
 * Returns 0 with *status and *answer (new reference, or NULL when the answer was not
 * JSON), or -1 when the daemon could not be reached or the credentials could not be read,
 * after printing why to stderr. */
int ctl_api_call(const struct ctl_api *api, const char *method, const char *path,
    const json_t *body, long *status, json_t **answer);

#endif
