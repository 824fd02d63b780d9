/* ingest.h - grouped commits: events accepted during one event-loop pass are written in ONE
 * ledger transaction, and only then answered. Never one fsync per request. */
#ifndef INCIDENTD_INGEST_H
#define INCIDENTD_INGEST_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "event.h"
#include "store.h"

struct ingest;

struct ingest_result {
	int status;          /* 202 committed (or recognized duplicate), 503 ledger failure */
	bool duplicate;      /* the same payload was accepted before within the dedup window */
	int accepted;        /* events newly committed */
	const json_t *ids;   /* array of event ids (new ones, or the originals for a duplicate);
	                        borrowed for the duration of the callback */
	const char *error;   /* for 503: what failed (no secrets) */
};

/* Called once per submission, from the commit pass (never from inside ingest_submit). */
typedef void (*ingest_done_fn)(void *arg, const struct ingest_result *res);

/* Called after every successful commit that wrote deliveries. */
typedef void (*ingest_committed_fn)(void *arg, int n_deliveries);

/* Called once per newly committed event (never for a duplicate or a failed commit), after
 * the commit and before the done callback of its submission; ev is borrowed for the
 * duration of the call. Must not call ingest_submit(). */
typedef void (*ingest_event_fn)(void *arg, const struct ievent *ev);

/* Create the ingest queue on base, writing to st (borrowed; must outlive it).
 * Returns 0 and *out, or -ENOMEM. */
int ingest_new(struct event_base *base, struct store *st, ingest_committed_fn committed,
    void *arg, struct ingest **out);

/* The configuration used for routing from the next commit pass on (borrowed; the caller
 * keeps it alive until replaced and the next pass has run, see ingest_flush). */
void ingest_set_config(struct ingest *ing, const struct config *cfg);

/* Hand the deliveries of each pass that are due at once straight to d (borrowed; NULL =
 * none): they are written running and started after the commit, without the dispatcher
 * reading them back (struct ready_list). The committed callback then counts only the
 * deliveries left in the outbox. */
struct dispatcher;
void ingest_set_dispatcher(struct ingest *ing, struct dispatcher *d);

/* Watch every newly committed event from the next commit pass on (fn NULL = stop).
 * Used for the live tail (broker/publish.c). */
void ingest_set_observer(struct ingest *ing, ingest_event_fn fn, void *arg);

/* Queue the events of one request (source borrowed; events moved out of *events, which
 * is left empty). payload_sha256 identifies the request for idempotency: the SHA-256 of
 * the exact body, a repeat of which within ledger.dedup_window is a duplicate; or, with
 * key_forever, the SHA-256 of an id the sender gives each delivery (GitHub's
 * X-GitHub-Delivery), a repeat of which is a duplicate however late it comes.
 * Returns 0 (done will be called), or -ENOMEM (done will not be called). */
int ingest_submit(struct ingest *ing, const char *source, struct ievent_vec *events,
    const char *payload_sha256, bool key_forever, ingest_done_fn done, void *arg);

/* Make commits durable off the event loop from now on (store_syncer): a pass is committed
 * without fsync on the loop, and its requests are answered (and its deliveries started)
 * once a thread has fdatasynced the WAL; passes committed meanwhile share that fsync.
 * Returns 0, or a negative errno (commits stay synchronous, synchronous = FULL). */
int ingest_enable_sync(struct ingest *ing);

/* Run a pending commit pass now and answer every committed pass, waiting for its sync if
 * needed (used before reload and when draining). */
void ingest_flush(struct ingest *ing);

/* Set the checkpoint counters of /metrics from the syncer (none without one: PostgreSQL,
 * or a ledger that syncs on the loop; ing may be NULL). No callbacks. */
void ingest_report_checkpoints(struct ingest *ing);

/* Number of submissions waiting for the next commit. */
size_t ingest_pending(const struct ingest *ing);

/* Free; pending submissions are committed first. NULL is a no-op. */
void ingest_destroy(struct ingest *ing);

#endif
