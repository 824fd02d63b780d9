/* store.c - the ledger connection: open, migrations, transactions, the statement cache
 * and the bind/column helpers the other store/ files share. */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Every statement, indexed by enum store_stmt_id. Optional filters are written as
 * "(?N IS NULL OR col = ?N)" so each query is prepared once. */
static const char *const store_sql[STMT__COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_PING] = "SELECT 1",
	[STMT_SYNC_FULL] = "PRAGMA synchronous = FULL",
	[STMT_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_SAVEPOINT] = "SAVEPOINT req",
	[STMT_RELEASE] = "RELEASE req",
	[STMT_ROLLBACK_TO] = "ROLLBACK TO req",
	[STMT_USER_VERSION] = "PRAGMA user_version",
	[STMT_FIND_DUP] =
	    "SELECT e.id FROM requests AS r JOIN events AS e ON e.request_id = r.id"
	    " WHERE r.source = ?1 AND r.payload_sha256 = ?2 AND r.received_at >= ?3"
	    " ORDER BY e.id",
	[STMT_INSERT_EVENT] =
	    "INSERT INTO events (id, source, type, status, severity, cluster, namespace, app,"
	    " revision, repo_url, summary, message, fingerprint, incident_id, occurred_at,"
	    " received_at, request_id, event, payload, steps)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
	    " ?17, ?18, ?19, ?20)",
	[STMT_INSERT_REQUEST] =
	    "INSERT INTO requests (source, received_at, payload_sha256, shared)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[STMT_INC_BY_KEY] =
	    "SELECT " INCIDENT_COLUMNS " FROM incidents WHERE key = ?1"
	    " ORDER BY opened_at DESC, id DESC LIMIT 1",
	[STMT_INC_BY_ID] = "SELECT " INCIDENT_COLUMNS " FROM incidents WHERE id = ?1",
	[STMT_INC_BY_ISSUE] =
	    "SELECT " INCIDENT_COLUMNS " FROM incidents WHERE id IN (SELECT i.id FROM"
	    " incidents AS i, json_each(i.refs) AS r WHERE json_type(r.value) = 'object'"
	    " AND json_extract(r.value, '$.repo') = ?1"
	    " AND json_extract(r.value, '$.issue') = ?2)"
	    " ORDER BY opened_at DESC, id DESC LIMIT 1",
	[STMT_INC_UPSERT] =
	    "INSERT INTO incidents (" INCIDENT_COLUMNS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
	    " ?17, ?18, ?19, ?20)"
	    " ON CONFLICT (id) DO UPDATE SET key = excluded.key, route = excluded.route,"
	    " state = excluded.state, source = excluded.source, cluster = excluded.cluster,"
	    " namespace = excluded.namespace, app = excluded.app, title = excluded.title,"
	    " opened_at = excluded.opened_at, updated_at = excluded.updated_at,"
	    " resolved_at = excluded.resolved_at, last_event_id = excluded.last_event_id,"
	    " event_count = excluded.event_count, acked_by = excluded.acked_by,"
	    " acked_at = excluded.acked_at, fix_pr = excluded.fix_pr, fix_url = excluded.fix_url,"
	    " fix_merged_at = excluded.fix_merged_at",
	/* what changes over an incident's life; key, route, where and opened_at do not: the
	 * index on key is left alone */
	[STMT_INC_UPDATE] =
	    "UPDATE incidents SET state = ?2, title = ?3, updated_at = ?4, resolved_at = ?5,"
	    " last_event_id = ?6, event_count = ?7, acked_by = ?8, acked_at = ?9, fix_pr = ?10,"
	    " fix_url = ?11, fix_merged_at = ?12 WHERE id = ?1",
	[STMT_INC_REFS_GET] = "SELECT refs FROM incidents WHERE id = ?1",
	[STMT_INC_REFS_SET] = "UPDATE incidents SET refs = ?2 WHERE id = ?1",
	[STMT_DEL_INSERT] =
	    "INSERT INTO deliveries (incident_id, event_id, sink, action, state, attempts,"
	    " next_attempt_at, created_at, updated_at, last_status, last_error, result,"
	    " depends_on, requires_firing, claimed_by, lease_until) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
	    " CASE WHEN ?5 = 'running' THEN ?15 END, CASE WHEN ?5 = 'running' THEN ?16 END)",
	[STMT_DEL_UPDATE] = DELIVERY_OUTCOME_SET " WHERE id = ?1",
	/* the same, with one step appended to the delivery's trace (at: updated_at) */
	[STMT_DEL_UPDATE_STEP] =
	    DELIVERY_OUTCOME_SET ","
	    " steps = json_insert(coalesce(steps, '[]'), '$[#]',"
	    " json_array(?11, ?12, ?13, ?14, ?8)) WHERE id = ?1",
	[STMT_DEL_ADD_STEP] =
	    "UPDATE deliveries SET steps = json_insert(coalesce(steps, '[]'), '$[#]',"
	    " json_array(?2, ?3, ?4, ?5, ?6)) WHERE id = ?1",
	[STMT_DEL_DUE] =
	    "SELECT " DELIVERY_COLUMNS " FROM deliveries AS d WHERE state = 'pending'"
	    " AND next_attempt_at <= ?1 AND " DELIVERY_NO_EARLIER
	    " ORDER BY next_attempt_at, id LIMIT ?2",
	[STMT_DEL_NEXT] =
	    "SELECT min(next_attempt_at) FROM deliveries AS d WHERE state = 'pending' AND "
	    DELIVERY_NO_EARLIER,
	[STMT_DEL_RELEASE_OK] =
	    "UPDATE deliveries SET state = 'pending', next_attempt_at = ?2, updated_at = ?2"
	    " WHERE depends_on = ?1 AND state = 'blocked'",
	/* A failure cancels the whole chain blocked behind it. */
	[STMT_DEL_RELEASE_FAIL] =
	    "WITH RECURSIVE chain(id) AS (SELECT id FROM deliveries WHERE depends_on = ?1"
	    " UNION SELECT d.id FROM deliveries d JOIN chain c ON d.depends_on = c.id)"
	    " UPDATE deliveries SET state = 'cancelled', updated_at = ?2,"
	    " last_error = 'dependency ' || depends_on ||"
	    " CASE WHEN depends_on = ?1 THEN ' failed' ELSE ' cancelled' END"
	    " WHERE state = 'blocked' AND id IN (SELECT id FROM chain)",
	[STMT_DEL_RETRY] =
	    "UPDATE deliveries SET state = 'pending', next_attempt_at = ?2, updated_at = ?2,"
	    " retried_at = ?2, last_status = 'retry', last_error = 'retried by an operator'"
	    " WHERE id = ?1 AND state = 'failed'",
	/* the chain the failure cancelled (see STMT_DEL_RELEASE_FAIL) waits again */
	[STMT_DEL_RETRY_CHAIN] =
	    "WITH RECURSIVE chain(id) AS (SELECT id FROM deliveries WHERE depends_on = ?1"
	    " UNION SELECT d.id FROM deliveries d JOIN chain c ON d.depends_on = c.id)"
	    " UPDATE deliveries SET state = 'blocked', updated_at = ?2, last_error = NULL"
	    " WHERE state = 'cancelled' AND (last_error LIKE 'dependency % failed'"
	    " OR last_error LIKE 'dependency % cancelled') AND id IN (SELECT id FROM chain)",
	[STMT_DEL_FAILED_IDS] =
	    "SELECT id FROM deliveries WHERE state = 'failed' AND (?1 IS NULL OR sink = ?1)"
	    " ORDER BY id",
	[STMT_DEL_REQUEUE] =
	    "UPDATE deliveries SET state = 'pending' WHERE state = 'running'",
	[STMT_DEL_RUNNING] =
	    "SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE state = 'running' ORDER BY id",
	[STMT_DEL_EXPIRED] =
	    "SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE state = 'running'"
	    " AND (lease_until IS NULL OR lease_until < ?1 OR claimed_by = ?2) ORDER BY id",
	/* the slot booked: the later of the lane's next slot, its hold and now (?2); the
	 * next slot is ?3 ms after it. One statement: concurrent replicas queue on the row. */
	[STMT_PACE_RESERVE] =
	    "INSERT INTO pace_lanes (lane, next_ms) VALUES (?1, ?2 + ?3)"
	    " ON CONFLICT (lane) DO UPDATE SET next_ms ="
	    " max(pace_lanes.next_ms, pace_lanes.hold_ms, ?2) + ?3"
	    " RETURNING next_ms - ?3",
	[STMT_PACE_HOLD] =
	    "INSERT INTO pace_lanes (lane, next_ms, hold_ms) VALUES (?1, 0, ?2)"
	    " ON CONFLICT (lane) DO UPDATE SET hold_ms = max(pace_lanes.hold_ms, ?2)",
	/* one unit of counter ?1 in period ?2 if fewer than ?3 were taken: a row comes back
	 * only when it was taken (one statement: concurrent replicas queue on the row) */
	[STMT_QUOTA_TAKE] =
	    "INSERT INTO quotas (name, period_ms, used) VALUES (?1, ?2, 1)"
	    " ON CONFLICT (name, period_ms) DO UPDATE SET used = quotas.used + 1"
	    " WHERE quotas.used < ?3 RETURNING used",
	[STMT_SLOT_HELD] = "SELECT count(*) FROM slots WHERE name = ?1 AND delivery_id = ?2",
	/* slots count only while their delivery runs */
	[STMT_SLOT_COUNT] =
	    "SELECT count(*) FROM slots AS s JOIN deliveries AS d ON d.id = s.delivery_id"
	    " WHERE s.name = ?1 AND d.state = 'running'",
	[STMT_SLOT_INSERT] = "INSERT INTO slots (name, delivery_id) VALUES (?1, ?2)",
	[STMT_SLOT_DELETE] = "DELETE FROM slots WHERE name = ?1 AND delivery_id = ?2",
	[STMT_DEL_RENEW] =
	    "UPDATE deliveries SET lease_until = ?2 WHERE claimed_by = ?1 AND state = 'running'",
	[STMT_DEL_NOTE] =
	    "UPDATE deliveries SET note = ?2 WHERE id = ?1 AND state = 'running'",
	[STMT_DEL_GET] = "SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE id = ?1",
	[STMT_COUNT_ROUTE] =
	    "SELECT count(*) FROM incidents WHERE route = ?1 AND opened_at >= ?2"
	    " AND key NOT LIKE 'storm/%'",
	[STMT_COUNT_REFUSALS] =
	    "SELECT count(*) FROM events WHERE incident_id = ?1 AND source = 'incidentd'"
	    " AND type = 'incident.command' AND received_at >= ?3"
	    " AND json_extract(event, '$.labels.actor') = ?2"
	    " AND json_extract(event, '$.labels.outcome') = 'refused'",
	[STMT_COUNT_STORM] =
	    "SELECT count(*) FROM incidents WHERE state = 'firing'"
	    " AND json_extract(refs, '$.storm.into') = ?1",
	[STMT_SILENCE_ADD] =
	    "INSERT INTO silences (id, matchers, starts_at, ends_at, comment, created_by,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STMT_SILENCE_LIST] =
	    "SELECT id, matchers, starts_at, ends_at, comment, created_by, created_at,"
	    " expired_at FROM silences WHERE ?2 OR (expired_at IS NULL AND starts_at <= ?1"
	    " AND ends_at > ?1) ORDER BY id DESC",
	[STMT_SILENCE_EXPIRE] =
	    "UPDATE silences SET expired_at = ?2 WHERE id = ?1 AND expired_at IS NULL"
	    " AND ends_at > ?2",
	[STMT_INHIBITOR_SET] =
	    "INSERT INTO inhibitors (rule, incident_id, equal_key, since) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT (rule, incident_id) DO UPDATE SET equal_key = excluded.equal_key",
	[STMT_INHIBITOR_CLEAR] = "DELETE FROM inhibitors WHERE rule = ?1 AND incident_id = ?2",
	[STMT_INHIBITOR_CLEAR_ALL] = "DELETE FROM inhibitors WHERE incident_id = ?1",
	[STMT_INHIBITOR_FIND] =
	    "SELECT i.incident_id, n.key FROM inhibitors AS i JOIN incidents AS n"
	    " ON n.id = i.incident_id WHERE i.rule = ?1 AND i.equal_key = ?2"
	    " AND i.incident_id != ?3 AND n.state = 'firing' ORDER BY i.since LIMIT 1",
	/* newest first: the first rows answer (stop early), whatever the history's length */
	[STMT_DEL_HISTORY] =
	    "SELECT action, state, updated_at FROM deliveries WHERE incident_id = ?1"
	    " AND sink = ?2 ORDER BY id DESC",
	[STMT_DEL_HELD] =
	    "SELECT max(CASE WHEN action = 'open' AND requires_firing = 1 AND state != 'running'"
	    " THEN id END), count(*),"
	    " max(CASE WHEN action = 'update' AND state != 'running' AND attempts = 0"
	    " AND requires_firing = 0 THEN id END) FROM deliveries INDEXED BY deliveries_active"
	    " WHERE " DELIVERY_ACTIVE("") " AND incident_id = ?1 AND sink = ?2",
	/* a waiting update takes a newer event (store_fold_delivery) */
	[STMT_DEL_FOLD] =
	    "UPDATE deliveries SET event_id = ?2, updated_at = ?3 WHERE id = ?1"
	    " AND (state = 'pending' OR state = 'blocked') AND attempts = 0"
	    " AND coalesce(depends_on, 0) = ?4",
	[STMT_TRACE_INSERT] =
	    "INSERT INTO traces (event_id, incident_id, at, steps) VALUES (?1, ?2, ?3, ?4)",
	[STMT_LIST_EVENTS] =
	    "SELECT id, source, type, status, cluster, namespace, app, summary, occurred_at,"
	    " received_at, incident_id FROM events WHERE (?1 IS NULL OR id < ?1)"
	    " AND (?2 IS NULL OR source = ?2) AND (?3 IS NULL OR incident_id = ?3)"
	    " ORDER BY id DESC LIMIT ?4",
	[STMT_EVENT_GET] = "SELECT e.event, e.payload, e.incident_id, e.status, e.summary,"
	    " r.shared FROM events AS e LEFT JOIN requests AS r ON r.id = e.request_id"
	    " WHERE e.id = ?1",
	[STMT_DECISIONS_BY_EVENT] =
	    "SELECT seq, step, outcome, detail, at FROM decisions WHERE event_id = ?1"
	    " ORDER BY seq, at, id",
	[STMT_DELIVERIES_BY_EVENT] =
	    "SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE event_id = ?1 ORDER BY id",
	[STMT_LIST_INCIDENTS] =
	    "SELECT id, key, route, state, source, cluster, namespace, app, title, opened_at,"
	    " updated_at, resolved_at, event_count, refs, acked_by, acked_at, fix_pr, fix_url,"
	    " fix_merged_at FROM incidents"
	    " WHERE (?1 IS NULL OR (updated_at, id) <"
	    " (SELECT updated_at, id FROM incidents WHERE id = ?1))"
	    " AND (?2 IS NULL OR source = ?2) AND (?3 IS NULL OR state = ?3)"
	    " AND (?5 IS NULL OR app = ?5) AND (?6 IS NULL OR cluster = ?6)"
	    " AND (?7 IS NULL OR updated_at >= ?7)"
	    " ORDER BY updated_at DESC, id DESC LIMIT ?4",
	[STMT_INC_EVENTS] =
	    "SELECT id FROM events WHERE incident_id = ?1 ORDER BY id DESC LIMIT 100",
	[STMT_DELIVERIES_BY_INC] =
	    "SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE incident_id = ?1 ORDER BY id",
	[STMT_DECISIONS_BY_INC] =
	    "SELECT event_id, seq, step, outcome, detail, at FROM decisions"
	    " WHERE incident_id = ?1 ORDER BY event_id, seq, at, id",
	[STMT_LIST_DELIVERIES] =
	    "SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE (?1 IS NULL OR id < ?1)"
	    " AND (?2 IS NULL OR incident_id = ?2) AND (?3 IS NULL OR state = ?3)"
	    " AND (?4 = 0 OR state = 'failed') ORDER BY id DESC LIMIT ?5",
	/* retention windows: the next ?2 rows after rowid ?1 (oldest first), and the oldest
	 * time among them that bounds the time their prune condition checks */
	[STMT_PRUNE_WINDOW_DELIVERIES] =
	    "SELECT max(rowid), count(*), min(created_at) FROM (SELECT rowid, created_at"
	    " FROM deliveries WHERE rowid > ?1 ORDER BY rowid LIMIT ?2) AS w",
	[STMT_PRUNE_WINDOW_EVENTS] =
	    "SELECT max(rowid), count(*), min(received_at) FROM (SELECT rowid, received_at"
	    " FROM events WHERE rowid > ?1 ORDER BY rowid LIMIT ?2) AS w",
	[STMT_PRUNE_WINDOW_REQUESTS] =
	    "SELECT max(rowid), count(*), min(received_at) FROM (SELECT rowid, received_at"
	    " FROM requests WHERE rowid > ?1 ORDER BY rowid LIMIT ?2) AS w",
	[STMT_PRUNE_WINDOW_INCIDENTS] =
	    "SELECT max(rowid), count(*), min(opened_at) FROM (SELECT rowid, opened_at"
	    " FROM incidents WHERE rowid > ?1 ORDER BY rowid LIMIT ?2) AS w",
	/* finished, old, not a firing incident's, and no delivery waits on it (sink after:);
	 * a chain goes from its end, one link per pass */
	[STMT_PRUNE_DELIVERIES] =
	    "DELETE FROM deliveries AS p NOT INDEXED WHERE " PRUNE_IN_WINDOW("p")
	    " AND (p.state = 'done' OR p.state = 'failed' OR p.state = 'cancelled')"
	    " AND p.updated_at < ?3"
	    " AND " PRUNE_NOT_FIRING("p.incident_id")
	    " AND NOT EXISTS (SELECT 1 FROM deliveries AS c WHERE c.depends_on = p.id)",
	/* the slots of the window's finished deliveries (they no longer count), so that
	 * STMT_PRUNE_DELIVERIES is not held back by their foreign key */
	[STMT_PRUNE_SLOTS] =
	    "DELETE FROM slots WHERE delivery_id IN (SELECT p.id FROM deliveries AS p NOT INDEXED"
	    " WHERE " PRUNE_IN_WINDOW("p")
	    " AND (p.state = 'done' OR p.state = 'failed' OR p.state = 'cancelled')"
	    " AND p.updated_at < ?3)",
	[STMT_PRUNE_TRACES] =
	    "DELETE FROM traces WHERE event_id IN (SELECT e.id FROM events AS e NOT INDEXED"
	    " WHERE " PRUNE_EVENT_GOES ")",
	[STMT_PRUNE_EVENTS] = "DELETE FROM events AS e NOT INDEXED WHERE " PRUNE_EVENT_GOES,
	[STMT_PRUNE_REQUESTS] =
	    "DELETE FROM requests AS r NOT INDEXED WHERE " PRUNE_IN_WINDOW("r")
	    " AND r.received_at < ?3"
	    " AND NOT EXISTS (SELECT 1 FROM events AS e WHERE e.request_id = r.id)",
	/* resolved before the cutoff, and nothing left refers to it */
	[STMT_PRUNE_INCIDENTS] =
	    "DELETE FROM incidents AS i NOT INDEXED WHERE " PRUNE_IN_WINDOW("i")
	    " AND i.state = 'resolved' AND i.updated_at < ?3"
	    " AND NOT EXISTS (SELECT 1 FROM events AS e WHERE e.incident_id = i.id)"
	    " AND NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.incident_id = i.id)"
	    " AND NOT EXISTS (SELECT 1 FROM traces AS x WHERE x.incident_id = i.id)"
	    " AND NOT EXISTS (SELECT 1 FROM inhibitors AS h WHERE h.incident_id = i.id)",
	[STMT_INCREMENTAL_VACUUM] = "PRAGMA incremental_vacuum(" STORE_VACUUM_PAGES_STR ")",
	[STMT_PAGE_SIZE] = "PRAGMA page_size",
	[STMT_PAGE_COUNT] = "PRAGMA page_count",
	[STMT_FREELIST_COUNT] = "PRAGMA freelist_count",
	[STMT_AUTO_VACUUM] = "PRAGMA auto_vacuum",
	/* covered by deliveries_backlog: the unfinished rows only, never the table */
	[STMT_OUTBOX_BACKLOG] =
	    "SELECT state, sink, count(*), min(next_attempt_at) FROM deliveries"
	    " INDEXED BY deliveries_backlog WHERE " DELIVERY_ACTIVE("")
	    " GROUP BY state, sink",
	[STMT_STATS_TOTALS] =
	    "SELECT count(*), count(*) FILTER (WHERE state = 'firing') FROM incidents"
	    " WHERE opened_at >= ?1",
	[STMT_STATS_BY_APP] =
	    "SELECT cluster, app, count(*) AS incidents, sum(event_count) AS events,"
	    " count(*) FILTER (WHERE state = 'firing') AS firing FROM incidents"
	    " WHERE opened_at >= ?1"
	    " GROUP BY cluster, app ORDER BY incidents DESC, events DESC LIMIT 50",
	[STMT_STATS_RESOLVE_TIMES] =
	    "SELECT CAST(round((julianday(resolved_at) - julianday(opened_at)) * 86400000)"
	    " AS INTEGER) AS ms FROM incidents WHERE opened_at >= ?1 AND resolved_at IS NOT NULL"
	    " ORDER BY ms",
	[STMT_STATS_FIX_TIMES] =
	    "SELECT CAST(round((julianday(fix_merged_at) - julianday(opened_at)) * 86400000)"
	    " AS INTEGER) AS ms FROM incidents WHERE opened_at >= ?1"
	    " AND fix_merged_at IS NOT NULL ORDER BY ms",
	[STMT_STATS_NOISIEST] =
	    "SELECT id, key, state, event_count, opened_at FROM incidents WHERE opened_at >= ?1"
	    " ORDER BY event_count DESC, id DESC LIMIT 10",
};

int
store_error(struct store *st, int rc)
{
	(void)st;
	return rc < 0 ? rc : 0;
}

const char *
store_last_error(struct store *st)
{
	if (st == NULL || st->db == NULL || db_errmsg(st->db)[0] == '\0')
		return "no error";
	return db_errmsg(st->db);
}

int
store_stmt(struct store *st, enum store_stmt_id id, struct db_stmt **out)
{
	int rc;

	if (st->stmt[id] == NULL) {
		const char *sql = store_stmt_sql(st, id);

		if (sql == NULL)
			return -ENOMEM;
		rc = db_prepare(st->db, sql, &st->stmt[id]);
		if (rc != 0)
			return rc;
	}
	*out = st->stmt[id];
	return 0;
}

/* store_sql[id] as PostgreSQL runs it (pg/sql_pg.c), made once per store. Returns a
 * string owned by st or static, or NULL when out of memory. */
static const char *
pg_sql(struct store *st, enum store_stmt_id id)
{
	if (st->pg_sql[id] != NULL)
		return st->pg_sql[id];
	return store_pg_stmt_sql(id, store_sql[id], &st->pg_sql[id]);
}

const char *
store_stmt_sql(struct store *st, enum store_stmt_id id)
{
	if (db_kind_of(st->db) == DB_PG)
		return pg_sql(st, id);
	return store_sql[id];
}

void
store_stmt_done(struct db_stmt *s)
{
	db_reset(s);
}

int
store_step_done(struct store *st, struct db_stmt *s)
{
	int rc;

	rc = db_step(s);
	rc = rc == DB_DONE || rc == DB_ROW ? 0 : store_error(st, rc);
	store_stmt_done(s);
	return rc;
}

int
store_step_count(struct store *st, struct db_stmt *s, int64_t *changes)
{
	int rc;

	*changes = 0;
	while ((rc = db_step(s)) == DB_ROW)
		;
	if (rc == DB_DONE)
		*changes = db_changes(s);
	store_stmt_done(s);
	return store_error(st, rc);
}

int
store_step_one(struct store *st, struct db_stmt *s)
{
	int64_t changes = 0;
	int rc = store_step_count(st, s, &changes);

	return rc == 0 && changes == 0 ? -ENOENT : rc;
}

int
store_step_id(struct store *st, struct db_stmt *s, int64_t *id)
{
	int rc;

	rc = db_step(s);
	if (rc == DB_ROW)
		*id = db_column_int64(s, 0);
	else if (rc == DB_DONE)
		*id = db_last_insert_id(st->db);       /* SQLite: no RETURNING */
	while (rc == DB_ROW)
		rc = db_step(s);
	store_stmt_done(s);
	return store_error(st, rc);
}

int
store_pragma_int(struct store *st, enum store_stmt_id id, int64_t *out)
{
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, id, &s);
	if (rc != 0)
		return rc;
	rc = db_step(s);
	if (rc == DB_ROW) {
		*out = db_column_int64(s, 0);
		rc = 0;
	} else {
		rc = store_error(st, rc);
	}
	store_stmt_done(s);
	return rc;
}

int
store_bind_text(struct db_stmt *s, int idx, const char *v)
{
	return db_bind_text(s, idx, v);
}

int
store_bind_time(struct db_stmt *s, int idx, int64_t ms)
{
	char buf[UTIL_TIME_LEN];

	util_format_time(ms, buf, sizeof(buf));
	return db_bind_text_copy(s, idx, buf);
}

int
store_bind_time_opt(struct db_stmt *s, int idx, int64_t ms)
{
	if (ms == 0)
		return db_bind_null(s, idx);
	return store_bind_time(s, idx, ms);
}

int
store_col_dup(struct db_stmt *s, int col, char **out)
{
	const char *v = db_column_text(s, col);

	*out = NULL;
	if (v == NULL)
		return db_column_is_null(s, col) ? 0 : -ENOMEM;
	*out = strdup((const char *)v);
	return *out == NULL ? -ENOMEM : 0;
}

int64_t
store_col_time(struct db_stmt *s, int col)
{
	const char *v = db_column_text(s, col);
	int64_t ms = 0;

	if (v == NULL || util_parse_time((const char *)v, &ms) != 0)
		return 0;
	return ms;
}

static int
is_json_column(const char *name)
{
	return strcmp(name, "refs") == 0 || strcmp(name, "result") == 0 ||
	    strcmp(name, "event") == 0 || strcmp(name, "payload") == 0 ||
	    strcmp(name, "matchers") == 0 || strcmp(name, "note") == 0;
}

json_t *
store_row_json(struct db_stmt *s)
{
	json_t *o, *v;
	int n = db_column_count(s);

	o = json_object();
	if (o == NULL)
		return NULL;
	for (int i = 0; i < n; i++) {
		const char *name = db_column_name(s, i);
		const char *text;

		if (db_column_is_null(s, i)) {
			v = json_null();
		} else if (db_column_is_integer(s, i)) {
			v = json_integer(db_column_int64(s, i));
		} else if ((text = db_column_text(s, i)) == NULL) {
			v = NULL;
		} else {
			v = is_json_column(name) ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
			if (v == NULL)
				v = json_string(text);
		}
		if (v == NULL || json_object_set_new(o, name, v) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int
store_rows_json(struct store *st, struct db_stmt *s, json_t **out)
{
	json_t *arr, *row;
	int rc;

	*out = NULL;
	arr = json_array();
	if (arr == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while ((rc = db_step(s)) == DB_ROW) {
		row = store_row_json(s);
		if (row == NULL || json_array_append_new(arr, row) != 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = rc == DB_DONE ? 0 : store_error(st, rc);
out:
	store_stmt_done(s);
	if (rc == 0)
		*out = arr;
	else
		json_decref(arr);
	return rc;
}

/* Run a PRAGMA or query (constant text) and return its first column as text in buf (may be
 * empty). */
static int
run_pragma(struct store *st, const char *sql, char *buf, size_t len)
{
	struct db_stmt *s = NULL;
	int rc;

	if (len > 0)
		buf[0] = '\0';
	rc = db_prepare(st->db, sql, &s);
	if (rc != 0)
		goto out;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *v = db_column_text(s, 0);

		if (v != NULL && len > 0 && buf[0] == '\0')
			snprintf(buf, len, "%s", v);
	}
out:
	db_finalize(s);
	return rc < 0 ? rc : 0;
}

/* Run every statement of a constant script. */
static int
run_script(struct store *st, const char *sql)
{
	return db_exec(st->db, sql);
}

int
store_schema_version(struct store *st)
{
	struct db_stmt *s = NULL;
	int rc, v = -EIO;

	rc = store_stmt(st, STMT_USER_VERSION, &s);
	if (rc != 0)
		return rc;
	rc = db_step(s);
	if (rc == DB_ROW)
		v = (int)db_column_int64(s, 0);
	else
		v = store_error(st, rc);
	store_stmt_done(s);
	return v;
}

/* Apply migration i (schema i -> i + 1) and record it, in one transaction. */
static int
migrate_one(struct store *st, size_t i)
{
	char sql[64], keep[512];
	int rc;

	rc = run_script(st, "BEGIN IMMEDIATE");
	if (rc != 0)
		goto out;
	rc = run_script(st, store_migrations[i]);
	if (rc == 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", i + 1);
		rc = run_script(st, sql);
	}
	if (rc == 0)
		rc = run_script(st, "COMMIT");
	if (rc != 0) {
		snprintf(keep, sizeof(keep), "%s", db_errmsg(st->db));
		run_script(st, "ROLLBACK");
		db_set_errmsg(st->db, "%s", keep);
	}
out:
	return rc;
}

/* Apply the migrations this database has not seen, each in its own transaction; *reopen
 * is set when any was applied: a script may rewrite table definitions through PRAGMA
 * writable_schema (its DDL bumps the schema cookie, so other connections reload them), and
 * this connection must reconnect to see them. */
static int
migrate(struct store *st, bool *reopen, char *err, size_t errlen)
{
	int rc = 0, version;

	version = store_schema_version(st);
	if (version < 0) {
		snprintf(err, errlen, "cannot read the ledger schema version: %s",
		    store_last_error(st));
		return version;
	}
	if ((size_t)version > store_n_migrations) {
		snprintf(err, errlen, "ledger schema %d is newer than this incidentd (%zu)",
		    version, store_n_migrations);
		return -EPROTO;
	}
	for (size_t i = (size_t)version; rc == 0 && i < store_n_migrations; i++) {
		rc = migrate_one(st, i);
		*reopen = true;
		if (rc != 0)
			snprintf(err, errlen, "cannot migrate the ledger to schema %zu: %s", i + 1,
			    store_last_error(st));
	}
	return rc;
}

/* PostgreSQL: bring the schema to STORE_SCHEMA_VERSION in one transaction that holds an
 * advisory lock, so replicas starting together migrate once (the others wait for the lock,
 * then find the work done). A database at a newer version is refused. */
static int
migrate_pg(struct store *st, char *err, size_t errlen)
{
	char sql[96];
	int rc, version;

	rc = run_script(st, "BEGIN;"
	    " SELECT pg_advisory_xact_lock(" STORE_PG_LOCK_STR ");"
	    " CREATE TABLE IF NOT EXISTS incidentd_schema (version INTEGER NOT NULL);"
	    " INSERT INTO incidentd_schema (version)"
	    " SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM incidentd_schema)");
	if (rc != 0) {
		snprintf(err, errlen, "cannot lock the ledger schema: %s", store_last_error(st));
		goto out;
	}
	version = store_schema_version(st);
	if (version < 0) {
		rc = version;
		snprintf(err, errlen, "cannot read the ledger schema version: %s",
		    store_last_error(st));
		goto out;
	}
	if (version > STORE_SCHEMA_VERSION) {
		rc = -EPROTO;
		snprintf(err, errlen, "ledger schema %d is newer than this incidentd (%d)",
		    version, STORE_SCHEMA_VERSION);
		goto out;
	}
	if (version > 0 && version < STORE_PG_BASE_VERSION) {
		rc = -EPROTO;
		snprintf(err, errlen, "ledger schema %d is older than any PostgreSQL ledger (%d)",
		    version, STORE_PG_BASE_VERSION);
		goto out;
	}
	if (version == 0 && (rc = run_script(st, store_pg_baseline)) == 0)
		version = STORE_PG_BASE_VERSION;
	for (size_t i = (size_t)(version - STORE_PG_BASE_VERSION);
	    rc == 0 && i < store_n_pg_migrations; i++)
		rc = run_script(st, store_pg_migrations[i]);
	if (rc == 0) {
		snprintf(sql, sizeof(sql), "UPDATE incidentd_schema SET version = %d",
		    STORE_SCHEMA_VERSION);
		rc = run_script(st, sql);
	}
	if (rc == 0)
		rc = run_script(st, "COMMIT");
	if (rc != 0)
		snprintf(err, errlen, "cannot migrate the ledger to schema %d: %s",
		    STORE_SCHEMA_VERSION, store_last_error(st));
out:
	if (rc != 0)
		(void)store_rollback(st);
	return rc;
}

/* Before SQLite initializes (the first store_open of the process): no bulk page-cache
 * allocation per cache. By default every page cache, including the throw-away ones SQLite
 * builds for each "x IN (...)" of the deliveries table's CHECK constraints and partial index
 * (three per INSERT or UPDATE of a delivery), starts with a ~90 KB block; malloc takes it
 * from the top of the heap and gives it back with brk on free, so every delivery write paid
 * for brk calls and page faults. Pages are then allocated one at a time, as needed. Too
 * late (SQLite already initialized by the program) is harmless: the defaults stay. */
static void
store_configure_sqlite(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	(void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	/* no memory statistics: they took a global mutex on every allocation, and incidentd
	 * never asks sqlite3_status() for them */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* The ledger and its WAL and shared-memory files are readable by their owner only (SQLite
 * creates the WAL and SHM files with the database file's mode). Ledgers made by older
 * versions are tightened too; a file that is not ours is left alone. */
static void
restrict_files(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char name[4096];
	struct stat sb;

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path, suffixes[i]) >= sizeof(name))
			return;
		if (stat(name, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid() &&
		    (sb.st_mode & 077) != 0)
			(void)chmod(name, sb.st_mode & 0700);
	}
}

/* A new ledger gives the pages that pruning frees back to the file system on request
 * (PRAGMA incremental_vacuum, see store_vacuum_step()). SQLite accepts the setting only
 * before the first table exists, and before the switch to WAL writes the header: so it is
 * set on an empty file only. Ledgers created before keep auto_vacuum = NONE (freed pages
 * are reused, the file does not shrink) until converted, see docs/operations.md. */
static int
set_auto_vacuum(struct store *st)
{
	char n[32];
	int rc;

	rc = run_pragma(st, "SELECT count(*) FROM sqlite_master", n, sizeof(n));
	if (rc == 0 && strcmp(n, "0") == 0)
		rc = run_pragma(st, "PRAGMA auto_vacuum = INCREMENTAL", NULL, 0);
	return rc;
}

/* Open (or reopen) st->db on path with the ledger's settings. Returns 0 or a negative
 * errno with the reason in err. */
static int
store_connect(struct store *st, const char *path, char *err, size_t errlen)
{
	char mode[32];
	int rc;

	rc = db_open(path, DB_SQLITE, &st->db, err, errlen);
	if (rc != 0)
		goto out;
	restrict_files(path);
	rc = set_auto_vacuum(st);
	if (rc == 0)
		rc = run_pragma(st, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
	if (rc == 0 && strcmp(mode, "wal") != 0) {
		db_set_errmsg(st->db, "journal_mode is %s, not wal", mode);
		rc = -EIO;
	}
	if (rc == 0)
		rc = run_pragma(st, "PRAGMA synchronous = FULL", NULL, 0);
	st->durable = rc == 0 ? 1 : -1;
	if (rc == 0)
		rc = run_pragma(st, "PRAGMA foreign_keys = ON", NULL, 0);
	if (rc != 0)
		snprintf(err, errlen, "cannot set up %s: %s", path, store_last_error(st));
out:
	return rc;
}

/* Close st->db and its cached statements (st itself stays). */
static void
store_disconnect(struct store *st)
{
	for (size_t i = 0; i < STMT__COUNT; i++) {
		db_finalize(st->stmt[i]);
		st->stmt[i] = NULL;
	}
	db_close(st->db);
	st->db = NULL;
	for (size_t i = 0; i < STMT__COUNT; i++) {
		free(st->pg_sql[i]);
		st->pg_sql[i] = NULL;
	}
}

int
store_open_pg(const char *conninfo, struct store **out, char *err, size_t errlen)
{
	struct store *st = NULL;
	int rc;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	st->durable = 1;  /* synchronous_commit = on, PostgreSQL's default */
	rc = db_open(conninfo, DB_PG, &st->db, err, errlen);
	if (rc == 0)
		rc = migrate_pg(st, err, errlen);
	if (rc != 0) {
		store_close(st);
		return rc;
	}
	*out = st;
	return 0;
}

int
store_open(const char *path, struct store **out, char *err, size_t errlen)
{
	struct store *st = NULL;
	bool reopen = false;
	int rc;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (db_target_is_pg(path))
		return store_open_pg(path, out, err, errlen);
	rc = util_make_parent_dir(path);
	if (rc != 0) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(-rc));
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	store_configure_sqlite();
	rc = store_connect(st, path, err, errlen);
	if (rc == 0)
		rc = migrate(st, &reopen, err, errlen);
	if (rc == 0 && reopen) {
		/* a migration may have rewritten table definitions (writable_schema): this
		 * connection still holds the old ones, a new one reads the new */
		store_disconnect(st);
		rc = store_connect(st, path, err, errlen);
	}
out:
	if (rc != 0) {
		store_close(st);
		return rc;
	}
	*out = st;
	return 0;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	store_disconnect(st);
	free(st);
}

static int
run_cached(struct store *st, enum store_stmt_id id)
{
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, id, &s);
	if (rc != 0)
		return rc;
	return store_step_done(st, s);
}

/* Append text[0..n) to buf at *at (bounded by len; always terminated). */
static void
put(char *buf, size_t len, size_t *at, const char *text, size_t n)
{
	while (n-- > 0 && *at + 1 < len)
		buf[(*at)++] = *text++;
	buf[*at < len ? *at : len - 1] = '\0';
}

/* The length of the value of a `password=` at p: up to '&' in a URI's query, or a word
 * or a single-quoted string (with backslash escapes) in a keyword/value string. */
static size_t
password_len(const char *p, bool uri)
{
	size_t n = 0;

	if (uri)
		return strcspn(p, "&#");
	if (*p != '\'')
		return strcspn(p, " \t\n");
	for (n = 1; p[n] != '\0' && p[n] != '\''; n++)
		if (p[n] == '\\' && p[n + 1] != '\0')
			n++;
	return p[n] == '\'' ? n + 1 : n;
}

const char *
store_target_display(const char *target, char *buf, size_t len)
{
	const char *p = target, *scheme, *at, *end;
	bool uri = db_target_is_pg(target);
	size_t o = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (uri) {
		/* user:password@ in the authority */
		scheme = strstr(p, "://") + 3;
		end = scheme + strcspn(scheme, "/?#");
		at = memchr(scheme, '@', (size_t)(end - scheme));
		if (at != NULL) {
			const char *colon = memchr(scheme, ':', (size_t)(at - scheme));

			if (colon != NULL) {
				put(buf, len, &o, p, (size_t)(colon + 1 - p));
				put(buf, len, &o, "****", 4);
				p = at;
			}
		}
	}
	while (*p != '\0') {
		/* password=... as a query parameter or a keyword */
		if (strncmp(p, "password=", 9) == 0 && (p == target || strchr(uri ? "?&" : " \t",
		    p[-1]) != NULL)) {
			put(buf, len, &o, p, 9);
			put(buf, len, &o, "****", 4);
			p += 9 + password_len(p + 9, uri);
			continue;
		}
		put(buf, len, &o, p, 1);
		p++;
	}
	return buf;
}

bool
store_target_is_url(const char *target)
{
	return db_target_is_pg(target);
}

bool
store_is_shared(const struct store *st)
{
	return db_kind_of(st->db) == DB_PG;
}

int
store_begin(struct store *st)
{
	char sql[320];
	int rc;

	/* PostgreSQL only warns about a BEGIN inside a transaction and goes on in it, so the
	 * inner commit would commit the caller's work: refused, as SQLite refuses it */
	if (db_in_transaction(st->db)) {
		db_set_errmsg(st->db, "cannot start a transaction within a transaction");
		return -EIO;
	}
	if (db_kind_of(st->db) != DB_PG)
		return run_cached(st, STMT_BEGIN);
	store_pg_begin_sql(sql, sizeof(sql), st->durable != 0,
	    st->lease_ms > 0 ? st->lease_ms : STORE_DEFAULT_LEASE_MS);
	rc = db_exec(st->db, sql);
	if (rc != 0)
		(void)store_rollback(st);
	return rc;
}

int
store_commit(struct store *st)
{
	return run_cached(st, STMT_COMMIT);
}

int
store_set_durable(struct store *st, bool durable)
{
	int rc;

	if (st->durable == (durable ? 1 : 0))
		return 0;
	if (db_kind_of(st->db) == DB_PG) {
		st->durable = durable ? 1 : 0;   /* store_begin says it: SET LOCAL */
		return 0;
	}
	rc = run_cached(st, durable ? STMT_SYNC_FULL : STMT_SYNC_NORMAL);
	st->durable = rc == 0 ? (durable ? 1 : 0) : -1;
	return rc;
}

int
store_rollback(struct store *st)
{
	if (!db_in_transaction(st->db))
		return 0;  /* nothing open (SQLite may have rolled back already) */
	return run_cached(st, STMT_ROLLBACK);
}

int
store_savepoint(struct store *st)
{
	return run_cached(st, STMT_SAVEPOINT);
}

int
store_release(struct store *st)
{
	return run_cached(st, STMT_RELEASE);
}

int
store_rollback_savepoint(struct store *st)
{
	int rc;

	rc = run_cached(st, STMT_ROLLBACK_TO);
	if (rc == 0)
		rc = run_cached(st, STMT_RELEASE);
	return rc;
}

int
store_check_writable(struct store *st)
{
	int rc;

	if (db_in_transaction(st->db))
		return 0;
	/* PostgreSQL: reachable is what matters (the write lock is the writers' to hold) */
	if (db_kind_of(st->db) == DB_PG)
		return run_cached(st, STMT_PING);  /* a write transaction is open on this connection */
	rc = run_cached(st, STMT_BEGIN);
	if (rc == 0)
		rc = run_cached(st, STMT_ROLLBACK);
	return rc;
}
