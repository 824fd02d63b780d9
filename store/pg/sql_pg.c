/* sql_pg.c - the SQL that differs on PostgreSQL. The store's statements are written once
 * (store.c, in the dialect SQLite and PostgreSQL share); PostgreSQL runs its own text for
 * the few where the engines differ (JSON, time arithmetic, PRAGMAs, RETURNING, greatest()),
 * and the others without SQLite's planner hints, with their optional filters reordered so
 * PostgreSQL can type every parameter. Also how a transaction begins there. */
#include "store_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What PostgreSQL runs instead of the shared text where the two differ (NULL: the shared
 * statement, less SQLite's planner hints; see store_pg_stmt_sql()). */
static const char *const store_sql_pg[STMT__COUNT] = {
	/* (BEGIN, the write lock and synchronous_commit: store_begin) */
	[STMT_BEGIN] = "BEGIN",
	[STMT_USER_VERSION] = "SELECT version FROM incidentd_schema",
	/* the new row's id: RETURNING (SQLite reads sqlite3_last_insert_rowid(), which costs
	 * nothing, where RETURNING buffers the rows it returns) */
	[STMT_INSERT_REQUEST] =
	    "INSERT INTO requests (source, received_at, payload_sha256, shared)"
	    " VALUES (?1, ?2, ?3, ?4) RETURNING id",
	[STMT_DEL_INSERT] =
	    "INSERT INTO deliveries (incident_id, event_id, sink, action, state, attempts,"
	    " next_attempt_at, created_at, updated_at, last_status, last_error, result,"
	    " depends_on, requires_firing, claimed_by, lease_until) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
	    " CASE WHEN ?5 = 'running' THEN ?15 END, CASE WHEN ?5 = 'running' THEN ?16 END)"
	    " RETURNING id",
	[STMT_DEL_UPDATE_STEP] =
	    DELIVERY_OUTCOME_SET ","
	    " steps = (coalesce(steps, '[]')::jsonb || jsonb_build_array(jsonb_build_array("
	    "?11::integer, ?12::text, ?13::text, ?14::text, ?8::text)))::text WHERE id = ?1",
	[STMT_DEL_ADD_STEP] =
	    "UPDATE deliveries SET steps = (coalesce(steps, '[]')::jsonb || jsonb_build_array("
	    "jsonb_build_array(?2::integer, ?3::text, ?4::text, ?5::text, ?6::text)))::text"
	    " WHERE id = ?1",
	[STMT_INC_BY_ISSUE] =
	    "SELECT " INCIDENT_COLUMNS " FROM incidents WHERE id IN (SELECT i.id FROM"
	    " incidents AS i, jsonb_each(i.refs::jsonb) AS r"
	    " WHERE jsonb_typeof(r.value) = 'object' AND r.value->>'repo' = ?1"
	    " AND r.value->>'issue' = ?2::text)"
	    " ORDER BY opened_at DESC, id DESC LIMIT 1",
	[STMT_COUNT_REFUSALS] =
	    "SELECT count(*) FROM events WHERE incident_id = ?1 AND source = 'incidentd'"
	    " AND type = 'incident.command' AND received_at >= ?3"
	    " AND event::jsonb->'labels'->>'actor' = ?2"
	    " AND event::jsonb->'labels'->>'outcome' = 'refused'",
	[STMT_COUNT_STORM] =
	    "SELECT count(*) FROM incidents WHERE state = 'firing'"
	    " AND refs::jsonb->'storm'->>'into' = ?1",
	[STMT_PACE_RESERVE] =
	    "INSERT INTO pace_lanes (lane, next_ms) VALUES (?1, ?2::bigint + ?3::bigint)"
	    " ON CONFLICT (lane) DO UPDATE SET next_ms ="
	    " greatest(pace_lanes.next_ms, pace_lanes.hold_ms, ?2::bigint) + ?3::bigint"
	    " RETURNING next_ms - ?3::bigint",
	[STMT_PACE_HOLD] =
	    "INSERT INTO pace_lanes (lane, next_ms, hold_ms) VALUES (?1, 0, ?2)"
	    " ON CONFLICT (lane) DO UPDATE SET hold_ms = greatest(pace_lanes.hold_ms, ?2)",
	[STMT_STATS_RESOLVE_TIMES] =
	    "SELECT CAST(round(extract(epoch FROM resolved_at::timestamptz"
	    " - opened_at::timestamptz) * 1000) AS BIGINT) AS ms FROM incidents"
	    " WHERE opened_at >= ?1 AND resolved_at IS NOT NULL ORDER BY ms",
	[STMT_STATS_FIX_TIMES] =
	    "SELECT CAST(round(extract(epoch FROM fix_merged_at::timestamptz"
	    " - opened_at::timestamptz) * 1000) AS BIGINT) AS ms FROM incidents"
	    " WHERE opened_at >= ?1 AND fix_merged_at IS NOT NULL ORDER BY ms",
	/* the database's size; pages are SQLite's (store_ledger_stats() asks only these) */
	[STMT_PAGE_SIZE] = "SELECT 1",
	[STMT_PAGE_COUNT] = "SELECT pg_database_size(current_database())",
	[STMT_FREELIST_COUNT] = "SELECT 0",
	[STMT_AUTO_VACUUM] = "SELECT 0",
	[STMT_INCREMENTAL_VACUUM] = "SELECT 0",  /* autovacuum's job */
};

/* Remove every occurrence of word from s (in place). */
static void
strip_word(char *s, const char *word)
{
	size_t n = strlen(word);
	char *p;

	while ((p = strstr(s, word)) != NULL)
		memmove(p, p + n, strlen(p + n) + 1);
}

/* PostgreSQL gives a parameter its type where it first appears, and "?N IS NULL" says
 * nothing about it: rewrite every optional filter "(?N IS NULL OR expr)" as
 * "(expr OR ?N IS NULL)", so expr (e.g. "source = ?N") types it first. In place: the
 * length does not change. */
static void
swap_null_tests(char *s)
{
	char *p = s, *q, *e, tmp[2048];
	size_t head, body;
	int depth;

	while ((p = strstr(p, "(?")) != NULL) {
		q = p + 2;
		while (*q >= '0' && *q <= '9')
			q++;
		if (q == p + 2 || strncmp(q, " IS NULL OR ", 12) != 0) {
			p++;
			continue;
		}
		head = (size_t)(q + 12 - (p + 1));     /* "?N IS NULL OR " */
		for (e = q + 12, depth = 0; *e != '\0' && (depth > 0 || *e != ')'); e++)
			depth += *e == '(' ? 1 : *e == ')' ? -1 : 0;
		body = (size_t)(e - (q + 12));
		if (*e != ')' || head + body + 1 > sizeof(tmp))
			break;
		/* "?N IS NULL OR " + body  ->  body + " OR ?N IS NULL" */
		snprintf(tmp, sizeof(tmp), "%.*s OR %.*s", (int)body, q + 12, (int)(head - 4),
		    p + 1);
		memcpy(p + 1, tmp, head + body);
		p = e;
	}
}

const char *
store_pg_stmt_sql(enum store_stmt_id id, const char *sql, char **owned)
{
	static const char *const hints[] = { " INDEXED BY deliveries_active",
	    " INDEXED BY deliveries_backlog", " NOT INDEXED" };
	char *s;

	if (store_sql_pg[id] != NULL)
		return store_sql_pg[id];
	if ((s = strdup(sql)) == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		strip_word(s, hints[i]);
	swap_null_tests(s);
	*owned = s;
	return s;
}

void
store_pg_begin_sql(char *buf, size_t len, bool durable, int64_t lease_ms)
{
	/* One round trip: the transaction; its durability (store_set_durable: with
	 * synchronous_commit off a commit returns before its WAL is flushed, so a server crash
	 * may lose the last ones, never corrupt them, as SQLite's NORMAL; SET LOCAL ends with
	 * the transaction, so no session state needs restoring, not even after a
	 * reconnection); and what BEGIN IMMEDIATE is to SQLite, one writer at a time across
	 * every replica. Everything the broker decides (incident keys and transitions, holds,
	 * the storm window, delivery claims) reads and writes in such a transaction, so
	 * replicas see one history, as one process would. The lock is held until COMMIT or
	 * ROLLBACK. Nothing waits for it or holds it longer than a lease: a replica that cannot
	 * get it within a lease gives up (lock_timeout: the pass fails, its senders get 503 and
	 * retry), and the server ends the session of one that stops in the middle of a
	 * transaction (a frozen process or node) a lease later, which releases the lock, as its
	 * delivery claims run out (idle_in_transaction_session_timeout). */
	if (lease_ms > INT_MAX)     /* the settings' range (ms): about 24 days */
		lease_ms = INT_MAX;
	snprintf(buf, len, "BEGIN; SET LOCAL synchronous_commit = %s;"
	    " SET LOCAL lock_timeout = %lld; SET LOCAL idle_in_transaction_session_timeout = %lld;"
	    " SELECT pg_advisory_xact_lock(" STORE_PG_WRITE_LOCK_STR ")",
	    durable ? "on" : "off", (long long)lease_ms, (long long)lease_ms);
}
