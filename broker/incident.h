/* incident.h - what one event does to its incident and which deliveries follow.
 *
 * incident_apply() runs inside the caller's ledger transaction (a savepoint of the grouped
 * commit): it plans the route, moves the incident through its states, and writes the event,
 * the incident, the deliveries (outbox) and the decision trace. Nothing is sent from here:
 * after the commit the dispatcher starts the deliveries handed to it (struct ready_list)
 * and picks the others up from the outbox. */
#ifndef INCIDENTD_INCIDENT_H
#define INCIDENTD_INCIDENT_H

#include <stdint.h>

#include "config.h"
#include "event.h"
#include "store.h"

/* A delivery incident_apply() wrote as already running (attempt 1), with what its sink
 * gets: the caller hands it to the dispatcher once the transaction has committed, instead
 * of the dispatcher reading it back from the outbox. */
struct ready_delivery {
	struct delivery del;        /* the row as written (owns sink and action) */
	char *incident_json;        /* the incident as plugins see it (incident_view_json) */
	char *incident_key;
	char *event_json;           /* the event as plugins see it, with its payload */
	char *event_status, *event_summary;
};

/* Ready deliveries of one transaction. At most max are taken; a delivery that is not due
 * now, waits for another (chained, or an earlier one of the same sink and incident on its
 * way), or is held by a `for` window is written pending as before. */
struct ready_list {
	struct ready_delivery *v;
	size_t n, cap;
	size_t max;
};

/* Free the entries from n on (the transaction that wrote them was rolled back) and keep
 * the first n. ready_list_truncate(l, 0) empties the list; the array itself is freed by
 * ready_list_clear(). Both accept a NULL list. */
void ready_list_truncate(struct ready_list *l, size_t n);
void ready_list_clear(struct ready_list *l);

/* Free what one entry owns (not the entry itself). */
void ready_delivery_clear(struct ready_delivery *r);

/* The event an operator's verb writes (source "operator", type and status as given,
 * summary "<what> by <author>[: <comment>]", payload {incident, author, comment}) about
 * inc's cluster, namespace and app, so it reads like the incident's other events. Returns
 * a new event (ievent_destroy) or NULL when out of memory. */
struct ievent *incident_operator_event(const struct incident *inc, const char *type,
    const char *status, const char *what, const char *author, const char *comment,
    int64_t now);

/* Forget the acknowledgement of inc (in memory; the caller writes the incident). */
void incident_unack(struct incident *inc);

/* The incident as plugins see it (no event list, unlike the read API): a new JSON text
 * (caller frees), or NULL when out of memory. */
char *incident_view_json(const struct incident *inc);

/* Apply ev (borrowed) under cfg (borrowed); request_id is the ledger row of the request it
 * came in (store_insert_request). Sets *n_deliveries to the number of deliveries written
 * (including those added to ready) and, when key_out is not NULL, *key_out to a new copy of
 * the first incident's key (or NULL). With ready not NULL, deliveries due at once are
 * written running and appended to it (see struct ready_list); on an error the caller
 * truncates ready back to where it was. The event's row is written last, with its own
 * steps of the trace (the ledger checks the references to an event at the commit).
 * Returns 0, or a negative errno from the ledger (the caller rolls back). */
int incident_apply(struct store *st, const struct config *cfg, const struct ievent *ev,
    int64_t request_id, int64_t now, int *n_deliveries, char **key_out,
    struct ready_list *ready);

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
