/* store.h - the ledger: events, incidents, deliveries (an outbox) and the decision trace,
 * in an embedded SQLite file or a PostgreSQL database (store/db.h hides which). One
 * connection, used from the event-loop thread only.
 *
 * Times are ms since the epoch in C and RFC 3339 UTC text with milliseconds in SQL
 * (fixed width, so they sort), which keeps the database readable with plain sqlite3.
 * Every function returns 0 or a negative errno (-EIO for SQLite errors, -ENOENT for
 * "not found", -EBUSY when the database is locked, -ENOMEM); none calls back unless it
 * says so. All SQL is prepared statements. */
#ifndef INCIDENTD_STORE_H
#define INCIDENTD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "event.h"

#define STORE_SCHEMA_VERSION 14

struct store;

struct incident {
	char id[UTIL_ID_LEN + 1];
	char *key;            /* incident key, e.g. "argocd/prod-west-aks/pets/aks-store" */
	char *route;          /* route that owns it */
	char *state;          /* "firing" | "resolved" */
	char *source, *cluster, *namespace, *app;
	char *title;          /* one-line human title */
	int64_t opened_at;    /* first firing */
	int64_t updated_at;   /* last event */
	int64_t resolved_at;  /* 0 while firing */
	char *last_event_id;
	int64_t event_count;
	json_t *refs;         /* object: per sink results, e.g. {"github": {"issue": 42}} (owned) */
	char *acked_by;       /* who acknowledged this episode ("github:alice"), or NULL */
	int64_t acked_at;     /* when; 0 when not acknowledged */
	char *fix_pr;         /* the pull request that fixes it ("owner/repo#77"), or NULL */
	char *fix_url;        /* its URL, or NULL */
	int64_t fix_merged_at;   /* when it was merged; 0 while not */
};

enum delivery_state {
	DELIVERY_BLOCKED = 0, /* waits for depends_on to succeed (sink `after:`) */
	DELIVERY_PENDING,     /* due at next_attempt_at */
	DELIVERY_RUNNING,     /* handed to the sink; at start-up recovered or made again */
	DELIVERY_DONE,
	DELIVERY_FAILED,      /* permanently; last_error says why */
	DELIVERY_CANCELLED,   /* its dependency failed, or it became pointless */
};

struct delivery {
	int64_t id;
	char incident_id[UTIL_ID_LEN + 1];
	char event_id[UTIL_ID_LEN + 1];
	char *sink;            /* sink instance name from conf.d */
	char *action;          /* "open" | "update" | "resolve" */
	enum delivery_state state;
	int attempts;
	int64_t next_attempt_at;
	int64_t created_at, updated_at;
	char *last_status;     /* "ok", "retry", "fail" */
	char *last_error;      /* short detail from the sink; never a secret */
	json_t *result;        /* sink's result object or NULL (owned) */
	int64_t depends_on;    /* delivery id, 0 if none */
	bool requires_firing;  /* a `for` window: only if the incident still fires when due */
	int64_t retried_at;    /* an operator re-drove it then (0 = never): give-up counts
	                        * from here instead of created_at */
	char *note;            /* JSON object text the sink noted while it ran, or NULL */
};

/* What one sink has been told about one incident (from its deliveries). */
struct sink_history {
	int64_t last_notified_at;  /* updated_at of the latest done open/update, 0 if none */
	int64_t held_open_id;      /* an open held by a `for` window (requires_firing, blocked
	                            * or pending), 0 if none */
	bool told_since_resolve;   /* an open/update after the last resolve is done or on its
	                            * way (blocked, pending, running) */
	bool active;               /* a delivery of this sink for this incident is on its way
	                            * (blocked, pending or running): a new one waits behind it */
	int64_t waiting_update_id; /* an update of this sink for this incident that has not
	                            * started (blocked or pending, never attempted), 0 if none */
};

/* Open the ledger at target and apply pending migrations. A "postgresql://" or
 * "postgres://" URI connects to PostgreSQL (migrations under an advisory lock, so replicas
 * starting together migrate once); anything else is a SQLite file, created if needed with
 * its parent directory, in WAL mode with synchronous=FULL. A ledger at a newer schema than
 * this build is refused (-EPROTO). Returns 0 and *out, or a negative errno with a message
 * in err that never contains a password. */
int store_open(const char *target, struct store **out, char *err, size_t errlen);

/* Whether target is a PostgreSQL URI ("postgresql://" or "postgres://"), which
 * store_open() connects to, rather than a SQLite file path. */
bool store_target_is_url(const char *target);

/* Open a PostgreSQL ledger from a libpq URI or keyword/value connection string (sslmode
 * and the rest honoured), as store_open(). */
int store_open_pg(const char *conninfo, struct store **out, char *err, size_t errlen);

/* target (a ledger path or PostgreSQL URI/connection string) for logs and messages: the
 * password, if any, replaced by "****". Writes at most len bytes to buf and returns buf. */
const char *store_target_display(const char *target, char *buf, size_t len);

/* Whether the ledger is a PostgreSQL database (several replicas may share it) rather than
 * an embedded SQLite file. */
bool store_is_shared(const struct store *st);

/* Close the ledger. NULL is a no-op. */
void store_close(struct store *st);

/* Schema version recorded in the database (PRAGMA user_version). */
int store_schema_version(struct store *st);

/* Transactions. store_begin() starts BEGIN IMMEDIATE (-EIO while one is open already: they
 * do not nest). Savepoints nest inside it, so one bad request in a grouped commit can be
 * undone alone. */
int store_begin(struct store *st);
int store_commit(struct store *st);
/* Whether the next commits wait for the disk (synchronous=FULL, the default) or not
 * (NORMAL: in WAL mode a power loss may lose them, never corrupt them, and the next FULL
 * commit or fsync of the WAL makes them durable too). For bookkeeping that is safe to redo
 * (delivery states: at worst a delivery is made again) and for commits a store_syncer
 * makes durable. The setting stays until changed (on SQLite changing it costs a statement,
 * keeping it nothing; on PostgreSQL it goes with the next store_begin): a writer that needs
 * durable commits sets true itself. Call outside a transaction. Returns 0 or -errno. */
int store_set_durable(struct store *st, bool durable);

int store_rollback(struct store *st);
int store_savepoint(struct store *st);          /* SAVEPOINT req */
int store_release(struct store *st);            /* RELEASE req */
int store_rollback_savepoint(struct store *st); /* ROLLBACK TO req; RELEASE req */

/* Idempotent ingest: the events of a request from source with this payload digest received
 * at or after since_ms. Returns 0 and a new JSON array of event ids (possibly empty) in
 * *ids. */
int store_find_duplicate(struct store *st, const char *source, const char *payload_sha256,
    int64_t since_ms, json_t **ids);

/* Record one accepted request: source, when, the body's digest, and shared (borrowed, may
 * be NULL): the payload members its events share, stored once. Sets *id. Returns 0 or a
 * negative errno. */
int store_insert_request(struct store *st, const char *source, int64_t received_at,
    const char *payload_sha256, const json_t *shared, int64_t *id);

/* Insert one event (normalized columns, the event JSON and its payload) of request
 * request_id (> 0). When ev->payload_shared is set, the row keeps only the payload members
 * that are not shared (the request row has those). incident_id may be NULL. Returns 0, or
 * -EEXIST if the id exists. */
int store_insert_event(struct store *st, const struct ievent *ev, int64_t request_id,
    const char *incident_id);

/* store_insert_event() with the event's own decision trace in its row: steps_json, a JSON
 * array of [seq, step, outcome, detail, at] (store_trace_step) about incident_id (or about
 * no incident when it is NULL), borrowed; NULL for none. Read back through `decisions`.
 * Returns 0 or a negative errno. */
int store_insert_event_steps(struct store *st, const struct ievent *ev, int64_t request_id,
    const char *incident_id, const char *steps_json);

/* Load the incident with this key into *out (caller frees with incident_clear()).
 * Returns 0 or -ENOENT. */
int store_get_incident_by_key(struct store *st, const char *key, struct incident *out);

/* Load the incident with this id. Returns 0 or -ENOENT. */
int store_get_incident(struct store *st, const char *id, struct incident *out);

/* Insert or update (by id) an incident. What identifies it (key, route, source, cluster,
 * namespace, app) and opened_at are written on insert only, and so is refs: later changes
 * go through store_merge_incident_refs(), so a sink result is never lost. Returns 0 or a
 * negative errno. */
int store_put_incident(struct store *st, const struct incident *inc);

/* Remove refs[sink] of the incident (its issue was deleted or moved away: the sink starts
 * over). Returns 0 or -ENOENT. */
int store_drop_incident_ref(struct store *st, const char *incident_id, const char *sink);

/* The newest incident whose refs name GitHub issue `number` of repo ("owner/name"; a
 * sink's refs object with "repo" and "issue"), into *out (incident_clear()). Reads every
 * incident's refs: for webhooks without the marker only. Returns 0 or -ENOENT. */
int store_find_incident_by_issue(struct store *st, const char *repo, int64_t number,
    struct incident *out);

/* Merge obj's members into refs[sink] of the incident (obj borrowed). Returns 0 or -ENOENT. */
int store_merge_incident_refs(struct store *st, const char *incident_id, const char *sink,
    const json_t *obj);

/* Free what an incident owns and zero it. */
void incident_clear(struct incident *inc);

/* Insert a delivery; sets d->id. created_at/updated_at default to now when 0. */
int store_insert_delivery(struct store *st, struct delivery *d);

/* Update state, attempts, next_attempt_at, last_status, last_error, result of d (by id).
 * Returns 0, -ENOENT (no such delivery) or a negative errno. */
int store_update_delivery(struct store *st, const struct delivery *d);

/* store_update_delivery() that also appends one step [seq, step, outcome, detail, at] to
 * the delivery's own decision trace (deliveries.steps; at = d->updated_at, else now), in
 * the same statement: how an attempt's outcome is traced. Read back through `decisions`
 * with the delivery's event and incident. Strings are borrowed; detail may be NULL. */
int store_update_delivery_step(struct store *st, const struct delivery *d, int seq,
    const char *step, const char *outcome, const char *detail);

/* Append one step to delivery id's own trace (as store_update_delivery_step, at = now),
 * changing nothing else. Returns 0, -ENOENT or a negative errno. */
int store_add_delivery_step(struct store *st, int64_t id, int seq, const char *step,
    const char *outcome, const char *detail);

/* Load up to max deliveries in state PENDING with next_attempt_at <= now, oldest due first,
 * leaving out any that has an unfinished (blocked, pending, running) earlier delivery of the
 * same sink and incident: per sink, an incident's actions run one at a time, in order.
 * Returns 0 and *out (array of *n; free with delivery_free_array()). */
int store_due_deliveries(struct store *st, int64_t now, size_t max, struct delivery **out,
    size_t *n);

/* Let the waiting update id (sink_history.waiting_update_id) carry event_id instead of
 * its own event, at now, if it still waits for depends_on (0: for no other delivery).
 * Returns 0, -ENOENT when it is no longer waiting or waits for another delivery (started,
 * claimed meanwhile, or chained to a delivery that started: write a new one), or a
 * negative errno. No callbacks. */
int store_fold_delivery(struct store *st, int64_t id, const char *event_id,
    int64_t depends_on, int64_t now);

/* Fill h from the deliveries of sink for incident_id. Returns 0 or a negative errno. */
int store_sink_history(struct store *st, const char *incident_id, const char *sink,
    struct sink_history *h);

/* Cancel a blocked or pending delivery with reason (copied) and cancel the chain behind
 * it. Returns 0, -ENOENT (no such delivery, or it is no longer waiting) or a negative errno. */
int store_cancel_delivery(struct store *st, int64_t id, const char *reason, int64_t now);

/* Record a silence: matchers (JSON array of matcher strings, borrowed, already validated),
 * active from starts_at to ends_at (ms). Writes the new id into id. Returns 0 or -errno. */
int store_silence_add(struct store *st, const json_t *matchers, int64_t starts_at,
    int64_t ends_at, const char *comment, const char *created_by, char *id);

/* Silences as a JSON array (new reference in *out), newest first: only those active at now
 * (started, not ended, not expired) unless all. Each: id, matchers (array), starts_at,
 * ends_at, comment, created_by, created_at, expired_at. Returns 0 or -errno. */
int store_silence_list(struct store *st, int64_t now, bool all, json_t **out);

/* End a silence now. Returns 0, -ENOENT (no such active silence) or -errno. */
int store_silence_expire(struct store *st, const char *id, int64_t now);

/* Inhibition. The firing incident incident_id matches inhibit rule `rule` (its id text)
 * with these equal values (a JSON array text): record it, replacing what it had for the
 * rule. Returns 0 or -errno. */
int store_inhibitor_set(struct store *st, const char *rule, const char *incident_id,
    const char *equal_key, int64_t now);

/* incident_id no longer inhibits under rule (rule NULL: under any rule). Returns 0 or
 * -errno. */
int store_inhibitor_clear(struct store *st, const char *rule, const char *incident_id);

/* A firing incident other than exclude_id that inhibits under rule with equal_key: its id
 * into id_out (UTIL_ID_LEN + 1 bytes) and its key (a new string, caller frees) into
 * *key_out. Returns 0, -ENOENT when none does, or -errno. */
int store_inhibitor_find(struct store *st, const char *rule, const char *equal_key,
    const char *exclude_id, char *id_out, char **key_out);

/* Incidents of route opened at or after since, storm summaries ("storm/...") not counted.
 * Returns 0 and *n, or -errno. */
int store_count_route_incidents(struct store *st, const char *route, int64_t since,
    int64_t *n);

/* How many refusals (events of source "incidentd", type "incident.command", outcome
 * "refused") incident_id's replies gave actor since since (ms). Returns 0 or -errno. */
int store_count_refusals(struct store *st, const char *incident_id, const char *actor,
    int64_t since, int64_t *n);

/* Firing incidents folded into the storm summary storm_key (refs.storm.into). Returns 0
 * and *n, or -errno. */
int store_count_storm_members(struct store *st, const char *storm_key, int64_t *n);

/* Earliest next_attempt_at among PENDING deliveries that may run (same rule). Returns 0,
 * or -ENOENT if none. */
int store_next_due_time(struct store *st, int64_t *when);

/* Deliveries BLOCKED on dependency dep_id become PENDING (due now) when ok, else CANCELLED
 * with last_error "dependency <id> failed". Returns 0. */
int store_release_dependents(struct store *st, int64_t dep_id, bool ok, int64_t now);

/* An operator re-drives failed delivery id: it becomes PENDING, due at now (its attempts
 * kept, give-up counted from now), and the deliveries its failure cancelled (chained with
 * `after:`) are BLOCKED behind it again. Returns 0, -ENOENT (no such delivery), -EINVAL
 * (it is not failed; *state_out says what it is) or -errno. */
int store_retry_delivery(struct store *st, int64_t id, int64_t now,
    enum delivery_state *state_out);

/* Every failed delivery (of sink, when not NULL) as store_retry_delivery(), oldest first.
 * Sets *n to how many. Returns 0 or -errno. */
int store_retry_failed(struct store *st, const char *sink, int64_t now, int *n);

/* At start-up: deliveries left RUNNING by a crash become PENDING again. *n gets the count. */
int store_requeue_running(struct store *st, int *n);

/* Deliveries in state RUNNING, oldest first (at start-up: left by a previous process).
 * Returns 0 and *out (array of *n; free with delivery_free_array()). */
int store_running_deliveries(struct store *st, struct delivery **out, size_t *n);

/* Who this process is when it claims deliveries (a delivery written or updated as RUNNING
 * is claimed by id until now + lease_ms, and renewed by store_renew_claims()). id is
 * copied (at most 63 bytes). */
void store_set_claimant(struct store *st, const char *id, int64_t lease_ms);

/* Pacing lanes in the ledger, shared by every replica (see pace.h for the meaning): book
 * the next slot of lane at or after now, the slot after it gap_ms later; *wait_ms is how
 * long to wait before acting. Returns 0 or a negative errno (then *wait_ms is 0). */
int store_pace_reserve(struct store *st, const char *lane, int64_t now, uint64_t gap_ms,
    uint64_t *wait_ms);

/* Nothing on lane before until (ms since the epoch); an earlier hold is ignored. Returns 0
 * or a negative errno. */
int store_pace_hold(struct store *st, const char *lane, int64_t until);

/* Counters per period in the ledger, shared by every replica (host->quota_take): take one
 * unit of counter name (copied) in the period that starts at period_ms if fewer than limit
 * were taken in it. One statement, so concurrent replicas never take more than limit.
 * Returns 1 (taken), 0 (none left; limit <= 0 takes nothing) or a negative errno. Rows of
 * earlier periods stay (one per counter and period). */
int store_quota_take(struct store *st, const char *name, int64_t period_ms, int64_t limit);

/* Concurrency slots in the ledger, shared by every replica (host->slot_take): a slot of
 * name (copied) for delivery delivery_id if fewer than max deliveries in state running
 * hold one. A slot counts only while its delivery is running, so the slots of a dead
 * replica free themselves when its deliveries are taken over or finish. Runs in its own
 * write transaction (store_begin(): none may be open). Returns 1 (taken, or already held
 * by delivery_id), 0 (none free) or a negative errno. */
int store_slot_take(struct store *st, const char *name, int64_t delivery_id, int64_t max);

/* Give back the slot of name held by delivery_id (none held: nothing changes). Returns 0
 * or a negative errno. Retention deletes the slots of the deliveries it prunes. */
int store_slot_release(struct store *st, const char *name, int64_t delivery_id);

/* Extend the claims of this process's running deliveries to now + lease. Returns 0 or a
 * negative errno. */
int store_renew_claims(struct store *st, int64_t now);

/* PostgreSQL: running deliveries whose claim has ended before now (their process died),
 * and with own those claimed under this process's claimant id (an earlier process of the
 * same replica: at start-up), as store_running_deliveries(). A SQLite ledger has one
 * process: at its start every running delivery is left over, and
 * store_running_deliveries() is the call. */
int store_expired_claims(struct store *st, int64_t now, bool own, struct delivery **out,
    size_t *n);

/* Set the note (JSON object text, copied) of delivery id while it is RUNNING. Returns 0,
 * -ENOENT (no such delivery, or it is not running) or a negative errno. */
int store_set_delivery_note(struct store *st, int64_t id, const char *note);

/* Load one delivery by id into *out (free with delivery_clear()). Returns 0 or -ENOENT. */
int store_get_delivery(struct store *st, int64_t id, struct delivery *out);

void delivery_clear(struct delivery *d);
void delivery_free_array(struct delivery *arr, size_t n);

/* Decision trace: steps of why an event did (not) lead to an action, as one row of the
 * traces table. steps_json is a JSON array of [seq, step, outcome, detail] arrays (seq
 * orders steps within an event; detail may be null), borrowed; incident_id may be NULL.
 * Read back through the `decisions` view, one row per step. Returns 0 or a negative
 * errno. */
int store_insert_trace(struct store *st, const char *event_id, const char *incident_id,
    const char *steps_json);

/* Append one [seq, step, outcome, detail] element to w, an open JSON array (the steps
 * of store_insert_trace), or [seq, step, outcome, detail, at] when at_ms > 0 (the steps
 * of store_insert_event_steps); detail may be NULL. */
struct jsonw;
void store_trace_step(struct jsonw *w, int seq, const char *step, const char *outcome,
    const char *detail, int64_t at_ms);

/* One step of the decision trace, as a row of its own (store_insert_trace with one step):
 * for the writers that record a single step. Returns 0 or a negative errno. */
int store_insert_decision(struct store *st, const char *event_id, const char *incident_id,
    int seq, const char *step, const char *outcome, const char *detail);

/* --- read side (incidentctl, the HTTP read API); each returns new JSON references --- */

struct store_query {
	int limit;              /* 0 = default 50, capped at 1000 */
	const char *before_id;  /* page backwards from this id (exclusive), or NULL */
	const char *source;     /* filter, or NULL */
	const char *state;      /* incidents: "firing"/"resolved"; deliveries: state name */
	const char *incident_id;/* filter events/deliveries by incident, or NULL */
	bool failed_only;       /* deliveries: only FAILED */
	const char *app;        /* incidents: filter by app, or NULL */
	const char *cluster;    /* incidents: filter by cluster, or NULL */
	int64_t since;          /* incidents: updated at or after (ms), 0 = any time */
};

/* Events, newest first: array of summary objects (id, source, type, status, cluster,
 * namespace, app, summary, occurred_at, received_at, incident_id). */
int store_list_events(struct store *st, const struct store_query *q, json_t **out);

/* One event: the full event JSON plus "incident_id", "payload" and "decisions" (the trace)
 * and "deliveries". Returns -ENOENT if absent. */
int store_event_json(struct store *st, const char *id, json_t **out);

/* One event as sinks see it: the stored event JSON with "payload", as compact text
 * (caller frees), and, when status/summary are not NULL, new copies of those columns (NULL
 * when empty). Cheaper than store_event_json() (no trace, no re-parsing).
 * Returns 0, -ENOENT, -EIO (corrupt row) or -ENOMEM. */
int store_event_text(struct store *st, const char *id, char **out, char **status,
    char **summary);

/* What store_event_text() reads for ev once it is written, built from memory: ev's
 * ledger dump (ev->json_text) with its payload as received (ev->payload_text, nothing
 * shared with its request). Returns 0 and a new string, -ENOENT when ev has not both (read
 * it back instead), or -ENOMEM. Never calls back. */
int store_event_text_of(const struct ievent *ev, char **out);

/* Incidents, most recently updated first: array of objects (id, key, route, state, source,
 * cluster, namespace, app, title, opened_at, updated_at, resolved_at, event_count, refs). */
int store_list_incidents(struct store *st, const struct store_query *q, json_t **out);

/* One incident with its "events" (ids, newest first, at most 100), "deliveries" and
 * "decisions". Returns -ENOENT if absent. */
int store_incident_json(struct store *st, const char *id, json_t **out);

/* Statistics of the incidents opened at or after since (ms): {"since", "incidents",
 * "firing", "resolved", "by_app": [{cluster, app, incidents, events, firing}] (most
 * incidents first, at most 50), "time_to_resolve_ms": {"count", "p50", "p90"} (resolved
 * ones), "noisiest": [{id, key, state, event_count, opened_at}] (at most 10, most events
 * first)} as a new reference in *out. Returns 0 or -errno. */
int store_stats(struct store *st, int64_t since, json_t **out);

/* Deliveries, newest first: array of objects with every column; state as its name. */
int store_list_deliveries(struct store *st, const struct store_query *q, json_t **out);

/* Name of a delivery state ("blocked", "pending", ...), and the reverse (-EINVAL). */
const char *delivery_state_name(enum delivery_state s);
int delivery_state_parse(const char *name, enum delivery_state *out);

/* --- retention (store_prune.c) --- */

/* What store_prune_batch() works through, in this order: rows go before the rows they
 * refer to (deliveries name events and incidents, events name requests and incidents). */
enum store_prune_table {
	STORE_PRUNE_DELIVERIES = 0,
	STORE_PRUNE_EVENTS,          /* with their decision trace */
	STORE_PRUNE_REQUESTS,
	STORE_PRUNE_INCIDENTS,
	STORE_PRUNE__COUNT
};

struct store_prune_batch {
	int64_t cursor;          /* in: look at rows after this rowid (0 = from the oldest);
	                          * out: the last rowid looked at */
	int64_t limit;           /* in: rows to look at, at most (> 0) */
	int64_t deleted;         /* out: rows of the table deleted */
	int64_t decisions;       /* out: decision rows deleted with their events (EVENTS) */
	bool done;               /* out: no row after cursor is older than the cutoff */
};

/* Prune one batch of table in a transaction of its own (call outside one; it commits
 * without waiting for the disk, as pruning is safe to redo): of the next b->limit rows
 * after b->cursor, oldest first, delete those older than cutoff (ms) that the ledger no
 * longer needs:
 *   deliveries: done, failed or cancelled, last changed before cutoff, not of a firing
 *               incident, and no delivery chained after it (sink after:) is left;
 *   events:     received before cutoff, not of a firing incident (its own, or one its
 *               decision trace names), no delivery names it; its decisions go with it;
 *   requests:   received before cutoff, none of its events is left;
 *   incidents:  resolved, last changed before cutoff, nothing refers to it any more
 *               (no event, delivery, decision or inhibitor row).
 * Firing incidents and unfinished deliveries (blocked, pending, running) are never
 * deleted. Returns 0 with b's outputs set, or a negative errno (nothing deleted). */
int store_prune_batch(struct store *st, enum store_prune_table table, int64_t cutoff,
    struct store_prune_batch *b);

/* Give up to 32 free pages back to the file system (PRAGMA
 * incremental_vacuum) in a short transaction of its own; a ledger without incremental
 * auto-vacuum (see store_ledger_stats()) is left as it is. Sets *remaining to the free pages
 * left. Returns 0 or a negative errno. */
int store_vacuum_step(struct store *st, int64_t *remaining);

/* --- observability (store_ledger_stats.c) --- */

struct store_ledger_stats {
	int64_t page_size;       /* bytes */
	int64_t pages;           /* pages in the database file */
	int64_t free_pages;      /* of them, unused (the free list) */
	int64_t wal_bytes;       /* size of the -wal file, 0 when there is none */
	bool incremental_vacuum; /* auto_vacuum = INCREMENTAL: free pages can be given back
	                          * (always true on PostgreSQL: autovacuum's job) */
};

/* Size figures of the ledger: PRAGMA header reads and a stat() of the WAL, no table
 * read. Returns 0 or a negative errno. */
int store_ledger_stats(struct store *st, struct store_ledger_stats *out);

/* One (sink, state) group of unfinished deliveries. */
struct store_backlog {
	char *sink;              /* owned */
	enum delivery_state state; /* blocked, pending or running */
	int64_t count;
	int64_t oldest_due_at;   /* the earliest next_attempt_at of the group (ms) */
};

/* The outbox backlog: unfinished deliveries counted per sink and state, read from the
 * deliveries_backlog index alone (its size is the backlog's, not the table's). Returns 0
 * and a new array in *out of *n groups (free with store_backlog_free()), or -errno. */
int store_outbox_backlog(struct store *st, struct store_backlog **out, size_t *n);

/* Free an array of store_outbox_backlog(). NULL is a no-op. */
void store_backlog_free(struct store_backlog *arr, size_t n);

/* --- backup (sqlite/store_backup.c); these open the files themselves, no struct store --- */

/* Write a consistent copy of the ledger at src to dst with VACUUM INTO: one read
 * transaction (a snapshot: everything committed before it starts, nothing after), so a
 * running daemon keeps writing meanwhile. The copy is compact, in rollback-journal mode
 * (the daemon switches it to WAL when it opens it) and has incremental auto-vacuum. dst
 * must not exist or be empty; its mode is kept (create it 0600). src is opened read-only
 * and never changed. Not synced to disk: the caller fsyncs dst. Returns 0, or a negative
 * errno with a message in err. */
int store_backup(const char *src, const char *dst, char *err, size_t errlen);

struct store_copy_info {
	int schema;              /* PRAGMA user_version */
	int64_t events, incidents, deliveries;
};

/* Check the ledger copy at path read-only with PRAGMA integrity_check and count its rows
 * into *info. Returns 0 when SQLite says "ok", -EUCLEAN with SQLite's first complaint in
 * err when it does not, or another negative errno with a message in err. */
int store_verify(const char *path, struct store_copy_info *info, char *err, size_t errlen);

/* Quick writability probe for /readyz: returns 0 when a write transaction can start
 * (SQLite), or when the database answers (PostgreSQL). */
int store_check_writable(struct store *st);

/* Durability off the event loop (sqlite/store_sync.c). A caller commits with
 * store_set_durable(st, false), asks store_syncer_request() for a sync of everything
 * written so far (a generation number), and answers only once store_syncer_collect() (when
 * store_syncer_fd() is readable) or store_syncer_wait() reports that generation done: the
 * WAL has been fdatasynced. The syncer's thread also checkpoints the WAL, between syncs,
 * on a connection of its own. */
struct store_syncer;

/* Start the syncer of st (borrowed; outlives it). Returns 0 and *out, -EINVAL for a ledger
 * without a file, or a negative errno (nothing started). */
int store_syncer_new(struct store *st, struct store_syncer **out);

/* An eventfd that becomes readable when a sync finished. */
int store_syncer_fd(const struct store_syncer *s);

/* Ask for a sync of everything committed so far; returns its generation. Never blocks on
 * I/O. */
uint64_t store_syncer_request(struct store_syncer *s);

/* Clear the eventfd and write the last generation synced into *done. Returns 0, or the
 * negative errno of a failed fdatasync (sticky: the ledger's durability is in doubt from
 * then on). */
int store_syncer_collect(struct store_syncer *s, uint64_t *done);

/* Block until generation gen is synced (shutdown, reload). Returns as collect. */
int store_syncer_wait(struct store_syncer *s, uint64_t gen);

/* The checkpoints of the WAL the syncer's thread made so far, and those that failed (the
 * WAL waits for the next one). From then on it checkpoints, not the caller's commits,
 * which only copy what is left now and then (then the WAL starts over). Thread-safe; no
 * callbacks. */
void store_syncer_checkpoints(struct store_syncer *s, uint64_t *made, uint64_t *failed);

/* Stop the thread (the syncs asked for are made first), give the checkpoints back to the
 * ledger's own commits, and free. NULL is a no-op. */
void store_syncer_destroy(struct store_syncer *s);

/* SQLite's message for the last failed call on st (borrowed, valid until the next call),
 * or "no error". NULL st is allowed. Never contains secrets: SQL has no inline values. */
const char *store_last_error(struct store *st);

#endif
