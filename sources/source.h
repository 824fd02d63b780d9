/* source.h - the contract between the HTTP server and a source normalizer.
 *
 * A normalizer turns one parsed request body into zero or more events. It never stores
 * anything and never calls back; the server commits the events and answers. */
#ifndef INCIDENTD_SOURCE_H
#define INCIDENTD_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "event.h"

/* What a normalizer may look at besides the body. */
struct source_input {
	const json_t *body;         /* parsed JSON body (borrowed) */
	int64_t received_at;        /* ms since epoch */
	const char *path_owner;     /* /repos/{owner}/{repo}/dispatches only, else NULL */
	const char *path_repo;
};

/* Normalize function type. Returns 0 and appends >= 1 events to out (which then owns them),
 * or -EINVAL with a user-facing message in err naming what is wrong and where
 * (e.g. "missing required field(s): app_name, health_status"). On error nothing is
 * appended. */
typedef int (*source_normalize_fn)(const struct source_input *in, struct ievent_vec *out,
    char *err, size_t errlen);

/* sources/argocd.c: Argo CD notifications (client_payload of the reference template, the
 * whole {event_type, client_payload} of repository_dispatch, or an Application object). */
int argocd_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen);

#endif
