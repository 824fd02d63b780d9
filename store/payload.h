/* payload.h - how an event's payload is stored when its request's events share part of
 * it (ievent.payload_shared): the shared members once on the request row, the rest on the
 * event row, joined again as text when read. Pure functions, no SQLite: the ledger uses
 * them and the Alertmanager fuzz target checks that they round-trip. */
#ifndef INCIDENTD_STORE_PAYLOAD_H
#define INCIDENTD_STORE_PAYLOAD_H

#include "event.h"

/* The event's own payload as compact JSON text (new string in *out; NULL when the event
 * has no payload): the whole payload, or, with payload_shared, the members of payload that
 * are not the shared object's (same key, same value). Returns 0 or -ENOMEM. */
int payload_own_text(const struct ievent *ev, char **out);

/* The payload read back: own alone when shared is NULL (or shared alone when own is),
 * else the two compact JSON objects' members in one object (shared first). Their members
 * are disjoint by construction. New string in *out (NULL when both are NULL). Returns 0,
 * -EIO when a non-NULL text is not a compact JSON object, or -ENOMEM. */
int payload_join_text(const char *shared, const char *own, char **out);

#endif
