/* dispatcher.h - drives the outbox: picks due deliveries from the ledger, hands them to
 * sink plugins, and writes their outcomes back (grouped, one transaction per pass), with
 * exponential back-off and jitter, sink-requested delays, and `after:` chaining. */
#ifndef INCIDENTD_DISPATCHER_H
#define INCIDENTD_DISPATCHER_H

#include <stddef.h>
#include <event2/event.h>

#include "config.h"
#include "incident.h"
#include "plugin.h"
#include "store.h"

struct dispatcher;

/* Create a dispatcher on base over st (borrowed). Returns 0 and *out, or a negative
 * errno. */
int dispatcher_new(struct event_base *base, struct store *st, struct dispatcher **out);

/* Use these sinks and this configuration (both borrowed; they must stay alive until
 * replaced, and the sink set until its in-flight deliveries completed); the set's
 * host->note() writes to the deliveries' rows. The first call also handles the deliveries
 * a previous process left RUNNING: a sink with recover() gets each of its own through it
 * (a decision-trace step "recover"), the rest are requeued. Kicks a pass. */
void dispatcher_set_sinks(struct dispatcher *d, struct sink_set *set, const struct config *cfg);

/* Schedule a pass on the next loop iteration (cheap; coalesced). */
void dispatcher_kick(struct dispatcher *d);

/* The ledger is shared by several replicas: every lease_ms / 3, renew the claims of this
 * process's running deliveries and take over those whose claim ended (see
 * store_set_claimant()). Returns 0 or a negative errno. */
int dispatcher_share(struct dispatcher *d, int64_t lease_ms);

/* How many deliveries may be handed over right now (dispatcher_start_ready): 0 while
 * draining or before the sinks are set. */
size_t dispatcher_free_slots(const struct dispatcher *d);

/* Start the deliveries of a committed transaction that were written running (struct
 * ready_list): their entries move into the dispatcher and l is left empty (its array
 * stays the caller's). The caller took at most dispatcher_free_slots() of them in that
 * same loop iteration. Sinks may complete at once; outcomes are written on a later pass. */
void dispatcher_start_ready(struct dispatcher *d, struct ready_list *l);

/* Stop starting deliveries (SIGTERM); in-flight ones still complete and are recorded. */
void dispatcher_drain(struct dispatcher *d);

/* Deliveries handed to sinks whose outcome has not been written yet. */
size_t dispatcher_inflight(const struct dispatcher *d);

/* Write outcomes that arrived but are not committed yet (used when draining). */
void dispatcher_flush_results(struct dispatcher *d);

/* Free. In-flight deliveries stay RUNNING in the ledger; the next start recovers or
 * requeues them. NULL is a no-op. */
void dispatcher_destroy(struct dispatcher *d);

/* Back-off before attempt `attempts + 1`: initial * 2^(attempts-1), capped at max, scaled by
 * a random factor in [0.5, 1.0] ("equal jitter"). Exposed for tests. */
int64_t dispatcher_backoff_ms(int attempts, int64_t initial_ms, int64_t max_ms);

#endif
