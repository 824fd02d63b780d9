/* retention.h - ledger.retention: prunes the ledger on the event loop, off the request
 * path. A pass runs every interval (an eighth of the retention, from 100 ms to 60 s): it
 * walks deliveries, events (with their decisions), requests and incidents oldest first in
 * small batches, each its own short transaction (sized for about 2 ms from what a deleted
 * row has cost so far: prunesize.h), then gives free pages back to the file system
 * (incremental auto-vacuum, 32 pages a step). After each batch it pauses as long as the batch took, so a
 * pass uses at most about half of the loop and whatever waits is served in between. What
 * may go is store_prune_batch()'s rule. Event-loop thread only. */
#ifndef INCIDENTD_RETENTION_H
#define INCIDENTD_RETENTION_H

#include <stdint.h>
#include <event2/event.h>

#include "config.h"
#include "store.h"

struct retention;

/* Create the pruner of st (borrowed; it must outlive the pruner) on base. It does nothing
 * until a configuration with ledger.retention is applied. Returns 0 and *out, or -ENOMEM. */
int retention_new(struct event_base *base, struct store *st, struct retention **out);

/* Use cfg's ledger.retention (read now, cfg is not kept): starts, changes or stops the
 * passes. A pass under way ends at its next batch and the next starts with the new
 * setting. Sets incidentd_ledger_retention_seconds. Does not call back. */
void retention_apply_config(struct retention *r, const struct config *cfg);

/* Time between two passes for a retention of retention_ms (> 0). */
int64_t retention_interval_ms(int64_t retention_ms);

/* Stop and free. Every batch done is committed; a pass under way just stops. NULL is a
 * no-op. */
void retention_destroy(struct retention *r);

#endif
