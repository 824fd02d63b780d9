/* incident.h - what one event does to its incident and which deliveries follow.
 *
 * incident_apply() runs inside the caller's ledger transaction (a savepoint of the grouped
 * commit): it plans the route, moves the incident through its states, and writes the event,
 * the incident, the deliveries (outbox) and the decision trace. Nothing is sent from here;
 * the dispatcher picks the deliveries up after the commit. */
#ifndef INCIDENTD_INCIDENT_H
#define INCIDENTD_INCIDENT_H

#include <stdint.h>

#include "config.h"
#include "event.h"
#include "store.h"

/* Apply ev (borrowed) under cfg (borrowed); request_id is the ledger row of the request it
 * came in (store_insert_request). Sets *n_deliveries to the number of deliveries written and, when
 * key_out is not NULL, *key_out to a new copy of the first incident's key (or NULL).
 * Returns 0, or a negative errno from the ledger (the caller rolls the savepoint back). */
int incident_apply(struct store *st, const struct config *cfg, const struct ievent *ev,
    int64_t request_id, int64_t now, int *n_deliveries, char **key_out);

/* An operator resolves the firing incident `id` by hand (incidentctl resolve, POST
 * /v1/incidents/{id}/resolve), inside the caller's transaction: a request and an event
 * (source "operator", type "incident.resolved", status resolved, its summary naming author
 * and comment, both copied) are written, the incident resolves, and every sink of its route
 * that was told about it gets a `resolve` delivery (as for a recovery event). author and
 * comment may be NULL. Sets *n_deliveries and, when event_id is not NULL, the new event's id
 * (UTIL_ID_LEN + 1 bytes). Returns 0, -ENOENT (no such incident), -EALREADY (it is not
 * firing) or a negative errno from the ledger. */
int incident_resolve_by_hand(struct store *st, const struct config *cfg, const char *id,
    const char *author, const char *comment, int64_t now, int *n_deliveries, char *event_id);

#endif
