/* ack.h - acknowledging an incident by hand (incidentctl ack, POST /v1/incidents/{id}/ack).
 *
 * An acknowledged incident gets no update notifications until it resolves, which ends the
 * acknowledgement (see incident.c's sink policy). People acknowledge by closing the
 * incident's GitHub issue (ghfeedback.c) or with this operator verb. */
#ifndef INCIDENTD_ACK_H
#define INCIDENTD_ACK_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Acknowledge the firing incident `id` as author (e.g. a login; NULL: "an operator"), or
 * with undo withdraw its acknowledgement, inside the caller's transaction: a request and
 * an event (source "operator", type "incident.acknowledged" or "incident.unacknowledged",
 * status info, naming author and comment) are written with a decision-trace row "ack".
 * The incident's acked_by becomes "operator:<author>". When event_id is not NULL the new
 * event's id is written there (UTIL_ID_LEN + 1 bytes). Returns 0, -ENOENT (no such
 * incident), -EALREADY (not firing, already acknowledged, or with undo not acknowledged)
 * or a negative errno from the ledger. Never calls back. */
int ack_by_hand(struct store *st, const char *id, const char *author, const char *comment,
    bool undo, int64_t now, char *event_id);

#endif
