/* reconcile.h - catching up on GitHub webhooks incidentd missed (it was down, unreachable,
 * or GitHub gave up): every sources.github.reconcile (default 10m; and soon after start)
 * the issue of every firing incident is read back from GitHub with a conditional request
 * (If-None-Match with the ETag of the last read: an unchanged issue answers 304, which
 * costs no rate limit), through the github_issue sink that owns it and its pacing.
 *
 * A pass writes one event (source "incidentd", type "github.reconcile") and per incident
 * and owning sink an `update` delivery of it to that sink, with a delivery to COMMAND_SINK
 * behind it (command.h) that applies what the sink found (command_step): an issue
 * closed by a person acknowledges the firing incident as the webhook would have, an issue
 * open again withdraws an acknowledgement that came from closing it, a deleted issue is
 * forgotten (the sink drops it from refs). An incident whose sink has a delivery on its way
 * is skipped until the next pass. Event-loop thread only. */
#ifndef INCIDENTD_RECONCILE_H
#define INCIDENTD_RECONCILE_H

#include <stdint.h>
#include <event2/event.h>

#include "config.h"
#include "dispatcher.h"
#include "store.h"

struct reconcile;

/* Create the reconciler of st and disp (borrowed; they must outlive it) on base. It does
 * nothing until a configuration with an enabled github source is applied. Returns 0 and
 * *out, or -ENOMEM. */
int reconcile_new(struct event_base *base, struct store *st, struct dispatcher *disp,
    struct reconcile **out);

/* Use cfg (borrowed until the next call or destroy): starts, changes or stops the passes;
 * the first pass runs a second later. Does not call back. */
void reconcile_apply_config(struct reconcile *r, const struct config *cfg);

/* Run one pass now, inside no transaction (it opens its own). Returns 0 or a negative
 * errno (then nothing of the pass is written). Does not call back. */
int reconcile_pass(struct reconcile *r, int64_t now, int *n_deliveries);

/* Stop and free. NULL is a no-op. */
void reconcile_destroy(struct reconcile *r);

#endif
