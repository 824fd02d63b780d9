/* store_int.h - internals shared by the store/ files: the connection, the cache of
 * prepared statements and small bind/column helpers. Not for use outside store/. */
#ifndef INCIDENTD_STORE_INT_H
#define INCIDENTD_STORE_INT_H

#include <sqlite3.h>

#include "db.h"
#include "store.h"

/* Every statement the store runs, prepared once on first use (see store_sql[]). */
enum store_stmt_id {
	STMT_BEGIN = 0,
	STMT_PING,
	STMT_SYNC_FULL,
	STMT_SYNC_NORMAL,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SAVEPOINT,
	STMT_RELEASE,
	STMT_ROLLBACK_TO,
	STMT_USER_VERSION,
	STMT_FIND_DUP,
	STMT_INSERT_EVENT,
	STMT_INSERT_REQUEST,
	STMT_INC_BY_KEY,
	STMT_INC_BY_ID,
	STMT_INC_BY_ISSUE,
	STMT_INC_UPSERT,
	STMT_INC_UPDATE,
	STMT_INC_REFS_GET,
	STMT_INC_REFS_SET,
	STMT_DEL_INSERT,
	STMT_DEL_UPDATE,
	STMT_DEL_UPDATE_STEP,
	STMT_DEL_ADD_STEP,
	STMT_DEL_DUE,
	STMT_DEL_NEXT,
	STMT_DEL_RELEASE_OK,
	STMT_DEL_RELEASE_FAIL,
	STMT_DEL_REQUEUE,
	STMT_DEL_RUNNING,
	STMT_DEL_EXPIRED,
	STMT_DEL_RENEW,
	STMT_PACE_RESERVE,
	STMT_PACE_HOLD,
	STMT_QUOTA_TAKE,
	STMT_SLOT_HELD,
	STMT_SLOT_COUNT,
	STMT_SLOT_INSERT,
	STMT_SLOT_DELETE,
	STMT_PRUNE_SLOTS,
	STMT_DEL_NOTE,
	STMT_DEL_GET,
	STMT_DEL_HISTORY,
	STMT_DEL_HELD,
	STMT_DEL_FOLD,
	STMT_DEL_RETRY,
	STMT_DEL_RETRY_CHAIN,
	STMT_DEL_FAILED_IDS,
	STMT_SILENCE_ADD,
	STMT_COUNT_ROUTE,
	STMT_COUNT_STORM,
	STMT_COUNT_REFUSALS,
	STMT_SILENCE_LIST,
	STMT_SILENCE_EXPIRE,
	STMT_INHIBITOR_SET,
	STMT_INHIBITOR_CLEAR,
	STMT_INHIBITOR_CLEAR_ALL,
	STMT_INHIBITOR_FIND,
	STMT_TRACE_INSERT,
	STMT_LIST_EVENTS,
	STMT_EVENT_GET,
	STMT_DECISIONS_BY_EVENT,
	STMT_DELIVERIES_BY_EVENT,
	STMT_LIST_INCIDENTS,
	STMT_INC_EVENTS,
	STMT_DELIVERIES_BY_INC,
	STMT_DECISIONS_BY_INC,
	STMT_LIST_DELIVERIES,
	STMT_PRUNE_WINDOW_DELIVERIES,
	STMT_PRUNE_WINDOW_EVENTS,
	STMT_PRUNE_WINDOW_REQUESTS,
	STMT_PRUNE_WINDOW_INCIDENTS,
	STMT_PRUNE_DELIVERIES,
	STMT_PRUNE_TRACES,
	STMT_PRUNE_EVENTS,
	STMT_PRUNE_REQUESTS,
	STMT_PRUNE_INCIDENTS,
	STMT_INCREMENTAL_VACUUM,
	STMT_PAGE_SIZE,
	STMT_PAGE_COUNT,
	STMT_FREELIST_COUNT,
	STMT_AUTO_VACUUM,
	STMT_OUTBOX_BACKLOG,
	STMT_STATS_TOTALS,
	STMT_STATS_BY_APP,
	STMT_STATS_RESOLVE_TIMES,
	STMT_STATS_FIX_TIMES,
	STMT_STATS_NOISIEST,
	STMT__COUNT
};

struct store {
	struct db *db;
	struct db_stmt *stmt[STMT__COUNT];
	char *pg_sql[STMT__COUNT];  /* PostgreSQL: statements derived from store_sql[] */
	char claimant[64];          /* store_set_claimant() */
	int64_t lease_ms;
	int durable;               /* synchronous: 1 FULL, 0 NORMAL, -1 unknown */
};

/* Migrations (sqlite/migrations.c): store_migrations[i] brings the schema from version i to i + 1. */
extern const char *const store_migrations[];
extern const size_t store_n_migrations;

/* PostgreSQL (pg/migrations_pg.c): store_pg_baseline creates the schema at version
 * STORE_PG_BASE_VERSION; store_pg_migrations[i] then moves it from that version + i to
 * + i + 1. */
#define STORE_PG_BASE_VERSION 11
/* The advisory lock key migrations take ("ncidentd" in ASCII, as a bigint). */
#define STORE_PG_LOCK_STR "7954317246785811556"
/* PostgreSQL's text of statement id, whose shared text is sql (pg/sql_pg.c): a static
 * string where PostgreSQL has its own, else a new copy of sql without SQLite's planner
 * hints and with its optional filters reordered, stored in *owned (the caller frees it
 * when it closes). Returns the text, or NULL when out of memory. */
const char *store_pg_stmt_sql(enum store_stmt_id id, const char *sql, char **owned);

/* Write into buf (len bytes; 320 are enough) the script that begins a write transaction on
 * PostgreSQL: durable or not, bounded by lease_ms, holding the replicas' write lock. */
void store_pg_begin_sql(char *buf, size_t len, bool durable, int64_t lease_ms);

/* A lease when nobody set one (store_set_claimant): the default of ledger.lease. */
#define STORE_DEFAULT_LEASE_MS 30000

/* The advisory lock every write transaction takes (see store_begin). */
#define STORE_PG_WRITE_LOCK_STR "7954317246785811557"
extern const char *const store_pg_baseline;
extern const char *const store_pg_migrations[];
extern const size_t store_n_pg_migrations;

/* The cached statement id (prepared on first use, reset and unbound). Returns 0 and *out
 * (borrowed: owned by st), or a negative errno. */
int store_stmt(struct store *st, enum store_stmt_id id, struct db_stmt **out);

/* The SQL text of statement id on st's engine (static). */
const char *store_stmt_sql(struct store *st, enum store_stmt_id id);

/* Reset and unbind a statement after use. NULL is a no-op. */
void store_stmt_done(struct db_stmt *s);

/* A db.h result (DB_ROW, DB_DONE or a negative errno) as 0 or that errno: the engine's
 * message is kept for store_last_error(). */
int store_error(struct store *st, int sqlite_rc);

/* Run the cached statement id (an integer PRAGMA) and read its first column into *out.
 * Returns 0 or a negative errno. */
int store_pragma_int(struct store *st, enum store_stmt_id id, int64_t *out);

/* Step a statement that returns no rows, then reset it. Returns 0 or a negative errno. */
int store_step_done(struct store *st, struct db_stmt *s);

/* Step a statement that changes rows to its end, set *changes to how many it changed, then
 * reset it. Returns 0 or a negative errno. */
int store_step_count(struct store *st, struct db_stmt *s, int64_t *changes);
/* store_step_count() of a statement that must change a row: 0, -ENOENT when it changed
 * none, or the error (s is done either way). */
int store_step_one(struct store *st, struct db_stmt *s);

/* Step an INSERT (PostgreSQL's with RETURNING id): *id gets the new row's id; resets the
 * statement. Returns 0 or a negative errno. */
int store_step_id(struct store *st, struct db_stmt *s, int64_t *id);

/* Bind helpers: NULL strings (and 0 times for the _opt variant) bind SQL NULL.
 * Return an SQLite result code. store_bind_text() does not copy: v must stay unchanged
 * until the statement is reset (every caller binds, steps and resets in one function;
 * SQLite copies the value into the row it writes). Times are formatted into a copy. */
int store_bind_text(struct db_stmt *s, int idx, const char *v);
int store_bind_time(struct db_stmt *s, int idx, int64_t ms);
int store_bind_time_opt(struct db_stmt *s, int idx, int64_t ms);

/* Column helpers. store_col_dup: 0 and a new copy (NULL for SQL NULL), or -ENOMEM.
 * store_col_time: ms since the epoch of an RFC 3339 column, 0 for NULL or bad text. */
int store_col_dup(struct db_stmt *s, int col, char **out);
int64_t store_col_time(struct db_stmt *s, int col);

/* The current row as a JSON object (new reference) keyed by column name: NULL -> null,
 * integers -> integers, text -> strings, except the columns "refs", "result" and "event",
 * which hold JSON text and are parsed back. Returns NULL on allocation failure. */
json_t *store_row_json(struct db_stmt *s);

/* Read the rows of a stepped statement into a JSON array (new reference in *out), one
 * store_row_json() object per row. Resets the statement. Returns 0 or a negative errno. */
int store_rows_json(struct store *st, struct db_stmt *s, json_t **out);

/* Load the current row of a deliveries SELECT (columns in DELIVERY_COLUMNS order). */
int store_row_delivery(struct db_stmt *s, struct delivery *d);

#define DELIVERY_COLUMNS "id, incident_id, event_id, sink, action, state, attempts, " \
	"next_attempt_at, created_at, updated_at, last_status, last_error, result, depends_on, " \
	"requires_firing, retried_at, note"

/* The predicate of the partial indexes deliveries_active (schema 9) and deliveries_backlog
 * (schema 10), written as comparisons: an IN list of more than two constants makes SQLite
 * build a throw-away b-tree every time the statement runs. A query that is to use either
 * index must say exactly this. */
/* What recording an attempt's outcome sets (STMT_DEL_UPDATE, and STMT_DEL_UPDATE_STEP on
 * both engines, which also appends a step to the delivery's trace). */
#define DELIVERY_OUTCOME_SET "UPDATE deliveries SET state = ?2, attempts = ?3," \
	" next_attempt_at = ?4, last_status = ?5, last_error = ?6, result = ?7, updated_at = ?8," \
	" claimed_by = CASE WHEN ?2 = 'running' THEN ?9 END," \
	" lease_until = CASE WHEN ?2 = 'running' THEN ?10 END"
#define DELIVERY_ACTIVE(alias) "(" alias "state = 'blocked' OR " alias "state = 'pending'" \
	" OR " alias "state = 'running')"

/* A delivery (alias d) runs only after every earlier delivery of the same sink for the
 * same incident has finished: a sink sees an incident's actions one at a time and in
 * order (an "update" never races the "open" that creates the GitHub issue). */
#define DELIVERY_NO_EARLIER "NOT EXISTS (SELECT 1 FROM deliveries AS e" \
	" INDEXED BY deliveries_active" \
	" WHERE " DELIVERY_ACTIVE("e.") \
	" AND e.incident_id = d.incident_id AND e.sink = d.sink AND e.id < d.id)"

/* Free pages one store_vacuum_step() gives back (a short transaction: each page moved
 * from the end of the file into a free slot is one page written). */
#define STORE_VACUUM_PAGES_STR "32"

/* Retention (store_prune.c). A window is the rows with rowid in (?1, ?2]; ?3 is the
 * cutoff time. Rows are pruned older than it and only when nothing kept refers to them:
 * never a firing incident or what belongs to it, never a delivery still to make. The
 * pruned table is read NOT INDEXED, i.e. by its rowid range: left to itself SQLite reads
 * the deliveries through deliveries_due (state IN (...)) and so walks every finished
 * delivery in every batch, a batch's cost growing with the table. */
#define PRUNE_IN_WINDOW(alias) alias ".rowid > ?1 AND " alias ".rowid <= ?2"
#define PRUNE_NOT_FIRING(col) "NOT EXISTS (SELECT 1 FROM incidents AS f" \
	" WHERE f.id = " col " AND f.state = 'firing')"
/* An event goes when it is old, is not a firing incident's (by its incident or by a step
 * of its trace: a route with continue: true), and no delivery is left that names it. Of
 * the trace only the traces table is read: the steps kept in the event's row are about
 * its own incident, those in a delivery's row about a delivery that names it, and both are
 * checked already (the decisions view costs a scan per event on PostgreSQL). */
#define PRUNE_EVENT_GOES PRUNE_IN_WINDOW("e") " AND e.received_at < ?3" \
	" AND (e.incident_id IS NULL OR " PRUNE_NOT_FIRING("e.incident_id") ")" \
	" AND NOT EXISTS (SELECT 1 FROM traces AS x JOIN incidents AS f" \
	" ON f.id = x.incident_id WHERE x.event_id = e.id AND f.state = 'firing')" \
	" AND NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.event_id = e.id)"

#define INCIDENT_COLUMNS "id, key, route, state, source, cluster, namespace, app, title, " \
	"opened_at, updated_at, resolved_at, last_event_id, event_count, refs, acked_by, acked_at, " \
	"fix_pr, fix_url, fix_merged_at"

#endif
