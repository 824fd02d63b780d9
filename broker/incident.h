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

#endif
