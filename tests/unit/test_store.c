/* test_store.c - the ledger: schema and migrations, events, duplicates, incidents, the
 * delivery outbox (claims, pacing lanes, quotas, slots), silences, savepoints and the
 * read-side JSON. Each test runs on SQLite, and on PostgreSQL too when INCIDENTD_TEST_PG is
 * set (fixture.h); the ones about the SQLite file itself run on SQLite only. */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <cmocka.h>

#include "event.h"
#include "fixture.h"
#include "store.h"
#include "payload.h"
#include "store_int.h"

#define T0 1770692472000LL  /* 2026-02-10T03:01:12.000Z */

/* Read one integer or text value with a raw sqlite3 connection (independent of store). */
static void
raw_query(const char *path, const char *sql, char *out, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	out[0] = '\0';
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static struct ievent *
make_event(const char *source, const char *status, const char *app, int64_t received_at)
{
	struct ievent *ev = ievent_new(source);

	assert_non_null(ev);
	assert_int_equal(ievent_set(&ev->type, "deployment.degraded"), 0);
	assert_int_equal(ievent_set(&ev->status, status), 0);
	assert_int_equal(ievent_set(&ev->cluster, "prod-west-aks"), 0);
	assert_int_equal(ievent_set(&ev->namespace, "pets"), 0);
	assert_int_equal(ievent_set(&ev->app, app), 0);
	assert_int_equal(ievent_set(&ev->summary, "aks-store is Degraded"), 0);
	ev->received_at = received_at;
	ev->occurred_at = received_at - 500;
	ev->payload = json_pack("{s:s, s:i}", "app", app, "n", 7);
	assert_non_null(ev->payload);
	return ev;
}

/* Record a request of source with digest sha received at; returns its id. */
static int64_t
add_request(struct store *st, const char *source, int64_t at, const char *sha)
{
	int64_t id = 0;

	assert_int_equal(store_insert_request(st, source, at, sha ? sha : "-", NULL, &id), 0);
	assert_true(id > 0);
	return id;
}

/* Insert an event (in a request of its own) and return its id in id[UTIL_ID_LEN + 1]. */
static void
add_event(struct store *st, const char *source, const char *status, const char *app,
    int64_t at, const char *sha, const char *incident_id, char *id)
{
	struct ievent *ev = make_event(source, status, app, at);

	assert_int_equal(store_insert_event(st, ev, add_request(st, source, at, sha),
	    incident_id), 0);
	snprintf(id, UTIL_ID_LEN + 1, "%s", ev->id);
	ievent_destroy(ev);
}

static void
make_incident(struct incident *inc, const char *key, int64_t opened)
{
	memset(inc, 0, sizeof(*inc));
	util_id_new(inc->id);
	inc->key = strdup(key);
	inc->route = strdup("prod-deployments");
	inc->state = strdup("firing");
	inc->source = strdup("argocd");
	inc->cluster = strdup("prod-west-aks");
	inc->namespace = strdup("pets");
	inc->app = strdup("aks-store");
	inc->title = strdup("aks-store is Degraded");
	inc->opened_at = opened;
	inc->updated_at = opened;
	inc->event_count = 1;
	inc->refs = json_object();
}

static void
test_open_schema_wal(void **state)
{
	struct fixture *f = *state;
	char buf[64];

	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	raw_query(f->path, "PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, "wal");
	raw_query(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
	    " ('events', 'incidents', 'deliveries', 'traces', 'requests')", buf, sizeof(buf));
	assert_string_equal(buf, "5");
	raw_query(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
	    " ('requests_dedup', 'deliveries_due', 'incidents_key', 'traces_event')", buf,
	    sizeof(buf));
	assert_string_equal(buf, "4");
	/* the per-step table of schemas 1 to 12 is a view of the traces (v13) */
	raw_query(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'view' AND"
	    " name = 'decisions'", buf, sizeof(buf));
	assert_string_equal(buf, "1");
	assert_int_equal(store_check_writable(f->st), 0);
	assert_string_equal(store_last_error(NULL), "no error");
}

/* A new ledger, on either engine: at the current schema, writable, shared between replicas
 * only on PostgreSQL (where the server makes each commit durable: no syncer). */
static void
test_open_fresh(void **state)
{
	struct fixture *f = *state;
	struct store_syncer *sy = NULL;

	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	assert_int_equal(store_check_writable(f->st), 0);
	assert_int_equal(store_is_shared(f->st), fixture_is_pg(f));
	if (fixture_is_pg(f)) {
		assert_int_equal(store_syncer_new(f->st, &sy), -ENOTSUP);
		assert_null(sy);
	}
	assert_int_equal(fixture_int(f, "SELECT count(*) FROM events", NULL), 0);
}

/* No IN list of more than two constants is left in the constraints or the partial index
 * (each made SQLite build a temporary b-tree per statement), the constraints still hold,
 * and the daemon's own connection uses the rewritten definitions after the migration. */
static void
test_schema_without_in_lists(void **state)
{
	struct fixture *f = *state;
	char buf[64], *msg = NULL;
	sqlite3 *db = NULL;

	raw_query(f->path, "SELECT count(*) FROM sqlite_master WHERE sql LIKE '% IN (%'"
	    " AND name != 'incidents'", buf, sizeof(buf));   /* its IN has two: comparisons */
	assert_string_equal(buf, "0");
	raw_query(f->path, "SELECT count(*) FROM sqlite_master WHERE name = 'deliveries_active'"
	    " AND sql LIKE '%WHERE (state = ''blocked'' OR state = ''pending'' OR state ="
	    " ''running'')'", buf, sizeof(buf));
	assert_string_equal(buf, "1");
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO events (id, source, status,"
	    " occurred_at, received_at, event) VALUES ('X', 'argocd', 'bogus', 't', 't', '{}')",
	    NULL, NULL, &msg), SQLITE_OK);
	assert_non_null(strstr(msg, "CHECK constraint failed"));
	sqlite3_free(msg);
	sqlite3_close(db);
	/* the store's connection: the IN lists compiled into a statement show up in its
	 * EXPLAIN as an OpenEphemeral (a temporary b-tree) */
	raw_query(f->path, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check"
	    " != 'ok'", buf, sizeof(buf));
	assert_string_equal(buf, "0");
	{
		sqlite3_stmt *s = NULL;
		int ephemeral = 0;

		assert_int_equal(sqlite3_prepare_v2(db_sqlite_handle(f->st->db), "EXPLAIN INSERT INTO deliveries"
		    " (incident_id, event_id, sink, action, state, next_attempt_at, created_at,"
		    " updated_at) VALUES ('i', 'e', 's', 'open', 'pending', 't', 't', 't')", -1, &s,
		    NULL), SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW)
			ephemeral += strcmp((const char *)sqlite3_column_text(s, 1),
			    "OpenEphemeral") == 0;
		sqlite3_finalize(s);
		assert_int_equal(ephemeral, 0);
	}
	/* the incident lookup by key reads the newest from the index, no sorting */
	{
		sqlite3_stmt *s = NULL;
		int sorts = 0;

		assert_int_equal(sqlite3_prepare_v2(db_sqlite_handle(f->st->db), "EXPLAIN QUERY PLAN SELECT id FROM"
		    " incidents WHERE key = 'k' ORDER BY opened_at DESC, id DESC LIMIT 1", -1, &s,
		    NULL), SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW)
			sorts += strstr((const char *)sqlite3_column_text(s, 3), "TEMP B-TREE") != NULL;
		sqlite3_finalize(s);
		assert_int_equal(sorts, 0);
	}
	/* the decision trace of an incident or an event (schema 14: a view over traces,
	 * events and deliveries) is read through each table's index, never by a scan */
	for (int k = 0; k < 2; k++) {
		sqlite3_stmt *s = NULL;
		int searches = 0, scans = 0;
		const char *sql = k == 0 ? "EXPLAIN QUERY PLAN SELECT seq FROM decisions WHERE"
		    " incident_id = 'i' ORDER BY event_id, seq, at, id" : "EXPLAIN QUERY PLAN SELECT"
		    " seq FROM decisions WHERE event_id = 'e' ORDER BY seq, at, id";

		assert_int_equal(sqlite3_prepare_v2(db_sqlite_handle(f->st->db), sql, -1, &s, NULL),
		    SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW) {
			const char *d = (const char *)sqlite3_column_text(s, 3);

			searches += strncmp(d, "SEARCH ", 7) == 0 && strstr(d, "USING INDEX") != NULL;
			/* "SCAN t", "SCAN e", "SCAN d" (a table of the view read whole) */
			scans += strncmp(d, "SCAN ", 5) == 0 && strchr("ted", d[5]) != NULL &&
			    (d[6] == '\0' || d[6] == ' ');
		}
		sqlite3_finalize(s);
		assert_int_equal(searches, 3);
		assert_int_equal(scans, 0);
	}
}

static void
test_reopen_is_noop(void **state)
{
	struct fixture *f = *state;
	char id[UTIL_ID_LEN + 1];
	json_t *o = NULL;

	add_event(f->st, "argocd", "firing", "aks-store", T0, "aa", NULL, id);
	fixture_reopen(f);
	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	assert_int_equal(store_event_json(f->st, id, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "id")), id);
	json_decref(o);
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct store *st2 = NULL;
	sqlite3 *db = NULL;
	char err[256], want[128];

	store_close(f->st);
	f->st = NULL;
	if (fixture_is_pg(f)) {     /* the version is the one row of incidentd_schema there */
		assert_int_equal(fixture_exec(f, "UPDATE incidentd_schema SET version = 999",
		    NULL), 1);
	} else {
		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(db);
	}
	assert_true(fixture_store_open(f, &st2, err, sizeof(err)) < 0);
	assert_null(st2);
	snprintf(want, sizeof(want), "ledger schema 999 is newer than this incidentd (%d)",
	    STORE_SCHEMA_VERSION);
	assert_string_equal(err, want);
}

/* A ledger written by schema 1 (before `for` windows and silences) is upgraded in place
 * at open and keeps its rows; its deliveries are not held. */
static void
test_migrate_v1(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;
	char err[256], buf[64], *text = NULL;
	struct delivery d;

	store_close(f->st);
	f->st = NULL;
	unlink(f->path);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, store_migrations[0], NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1;"
	    "INSERT INTO incidents (id, key, route, state, opened_at, updated_at) VALUES"
	    " ('I1', 'k', 'r', 'firing', '2026-02-10T03:00:00.000Z', '2026-02-10T03:00:00.000Z');"
	    "INSERT INTO events (id, source, type, status, received_at, occurred_at, event,"
	    " payload) VALUES ('E1', 'argocd', 't', 'firing', '2026-02-10T03:00:00.000Z',"
	    " '2026-02-10T03:00:00.000Z', '{}', '{}');"
	    "INSERT INTO deliveries (incident_id, event_id, sink, action, state, next_attempt_at,"
	    " created_at, updated_at) VALUES ('I1', 'E1', 'log', 'open', 'pending',"
	    " '2026-02-10T03:00:00.000Z', '2026-02-10T03:00:00.000Z', '2026-02-10T03:00:00.000Z');",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->path, &f->st, err, sizeof(err)), 0);
	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	assert_int_equal(store_get_delivery(f->st, 1, &d), 0);
	assert_string_equal(d.sink, "log");
	assert_false(d.requires_firing);
	delivery_clear(&d);
	raw_query(f->path, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), STORE_SCHEMA_VERSION);
	/* an event from before requests existed still reads whole */
	assert_int_equal(store_event_text(f->st, "E1", &text, NULL, NULL), 0);
	assert_string_equal(text, "{\"payload\":{}}");
	free(text);
}

/* Schema 13 folds the per-step decisions table into traces rows: a ledger of schema 12
 * keeps every step, read through the decisions view as before; and a replica of the
 * previous version (still running during a rolling upgrade, its statements prepared
 * before the migration) can still insert into and delete from decisions. On both engines:
 * SQLite's schema 12 is migrations 1 to 12, PostgreSQL's the baseline and its first
 * script. */
static void
test_migrate_v12_traces(void **state)
{
	struct fixture *f = *state;
	struct db *old = NULL;
	struct db_stmt *ins = NULL, *del = NULL;
	char err[256], *text;
	json_t *o = NULL, *steps;

	store_close(f->st);
	f->st = NULL;
	if (fixture_is_pg(f)) {
		old = fixture_connect(f);
		assert_int_equal(db_exec(old, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
		assert_int_equal(db_exec(old, store_pg_baseline), 0);
		for (size_t i = 0; STORE_PG_BASE_VERSION + i < 12; i++)
			assert_int_equal(db_exec(old, store_pg_migrations[i]), 0);
		assert_int_equal(db_exec(old, "CREATE TABLE incidentd_schema (version INTEGER NOT"
		    " NULL); INSERT INTO incidentd_schema (version) VALUES (12)"), 0);
	} else {
		unlink(f->path);
		assert_int_equal(db_open(f->path, DB_SQLITE, &old, err, sizeof(err)), 0);
		for (size_t i = 0; i < 12; i++)
			assert_int_equal(db_exec(old, store_migrations[i]), 0);
		assert_int_equal(db_exec(old, "PRAGMA user_version = 12; PRAGMA foreign_keys = ON"),
		    0);
	}
	assert_int_equal(db_exec(old,
	    "INSERT INTO incidents (id, key, route, state, opened_at, updated_at) VALUES"
	    " ('I1', 'k', 'r', 'firing', '2026-02-10T03:00:00.000Z', '2026-02-10T03:00:00.000Z');"
	    "INSERT INTO events (id, source, type, status, received_at, occurred_at, event,"
	    " payload, incident_id) VALUES ('E1', 'argocd', 't', 'firing',"
	    " '2026-02-10T03:00:00.000Z', '2026-02-10T03:00:00.000Z', '{}', '{}', 'I1');"
	    "INSERT INTO decisions (event_id, incident_id, seq, step, outcome, detail, at) VALUES"
	    " ('E1', NULL, 1, 'route', 'matched', 'route r: \"quoted\"', '2026-02-10T03:00:00.001Z'),"
	    " ('E1', 'I1', 2, 'incident', 'opened', NULL, '2026-02-10T03:00:00.002Z');"), 0);
	/* the previous version's statements, prepared on its schema */
	assert_int_equal(db_prepare(old, "INSERT INTO decisions (event_id, incident_id, seq, step,"
	    " outcome, detail, at) VALUES ('E1', 'I1', 101, 'delivery', 'ok', 'sink log open"
	    " attempt 1: logged', '2026-02-10T03:00:01.000Z')", &ins), 0);
	assert_int_equal(db_step(ins), DB_DONE);
	db_reset(ins);
	assert_int_equal(db_prepare(old, "DELETE FROM decisions WHERE event_id = 'E1'", &del), 0);

	/* the migration */
	assert_int_equal(fixture_store_open(f, &f->st, err, sizeof(err)), 0);
	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	assert_int_equal(fixture_int(f, "SELECT count(*) FROM traces", NULL), 3);
	assert_int_equal(fixture_int(f, "SELECT count(*) FROM decisions", NULL), 3);
	text = fixture_text(f, "SELECT step || '|' || outcome || '|' || detail || '|' || at FROM"
	    " decisions WHERE seq = 1 AND incident_id IS NULL", NULL);
	assert_string_equal(text, "route|matched|route r: \"quoted\"|2026-02-10T03:00:00.001Z");
	free(text);
	text = fixture_text(f, "SELECT incident_id || '|' || step || '|' || outcome || '|' || at"
	    " FROM decisions WHERE seq = 2 AND detail IS NULL", NULL);
	assert_string_equal(text, "I1|incident|opened|2026-02-10T03:00:00.002Z");
	free(text);
	/* explain reads them, in order */
	assert_int_equal(store_event_json(f->st, "E1", &o), 0);
	steps = json_object_get(o, "decisions");
	assert_int_equal(json_array_size(steps), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 1),
	    "outcome")), "opened");
	assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 2),
	    "detail")), "sink log open attempt 1: logged");
	json_decref(o);

	/* the previous version, still running: its prepared insert and delete */
	assert_int_equal(db_step(ins), DB_DONE);
	assert_int_equal(fixture_int(f, "SELECT count(*) FROM decisions WHERE seq = 101", NULL),
	    2);
	assert_int_equal(db_step(del), DB_DONE);
	assert_int_equal(fixture_int(f, "SELECT count(*) FROM traces", NULL), 0);
	db_finalize(ins);
	db_finalize(del);
	db_close(old);
}

static void
test_silences(void **state)
{
	struct fixture *f = *state;
	json_t *m = json_pack("[s]", "app=aks-store"), *list = NULL;
	char a[UTIL_ID_LEN + 1], b[UTIL_ID_LEN + 1];

	assert_int_equal(store_silence_add(f->st, m, T0, T0 + 3600000, "freeze", "me", a), 0);
	assert_int_equal(store_silence_add(f->st, m, T0 + 7200000, T0 + 9000000, "later", NULL,
	    b), 0);
	/* at T0 + 1 min only the first is active */
	assert_int_equal(store_silence_list(f->st, T0 + 60000, false, &list), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), a);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(list,
	    0), "matchers"), 0)), "app=aks-store");
	json_decref(list);
	assert_int_equal(store_silence_expire(f->st, a, T0 + 120000), 0);
	assert_int_equal(store_silence_expire(f->st, a, T0 + 130000), -ENOENT);
	assert_int_equal(store_silence_list(f->st, T0 + 180000, false, &list), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(store_silence_list(f->st, T0, true, &list), 0);
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
	json_decref(m);
}

static void
test_insert_read_event(void **state)
{
	struct fixture *f = *state;
	struct ievent *ev = make_event("argocd", "firing", "aks-store", T0);
	json_t *o = NULL, *d;

	int64_t req = add_request(f->st, "argocd", T0, "0123abcd");

	assert_int_equal(store_insert_event(f->st, ev, req, NULL), 0);
	assert_int_equal(store_insert_event(f->st, ev, req, NULL), -EEXIST);
	assert_int_equal(store_insert_decision(f->st, ev->id, NULL, 2, "route", "skipped",
	    "route b: cluster does not match"), 0);
	assert_int_equal(store_insert_decision(f->st, ev->id, NULL, 1, "route", "matched",
	    "route a"), 0);
	assert_int_equal(store_event_json(f->st, ev->id, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "source")), "argocd");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "firing");
	assert_true(json_is_null(json_object_get(o, "incident_id")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "payload"), "n")),
	    7);
	d = json_object_get(o, "decisions");
	assert_int_equal(json_array_size(d), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(d, 0), "seq")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "outcome")),
	    "matched");
	assert_string_equal(json_string_value(json_object_get(json_array_get(d, 1), "detail")),
	    "route b: cluster does not match");
	assert_int_equal(json_array_size(json_object_get(o, "deliveries")), 0);
	json_decref(o);
	assert_int_equal(store_event_json(f->st, "01NOSUCHEVENT0000000000000", &o), -ENOENT);
	assert_null(o);
	ievent_destroy(ev);

	/* an event with its dump and its body as received: the text sinks get is the same
	 * from memory as read back */
	ev = make_event("argocd", "firing", "aks-store", T0);
	{
		char *mem = NULL, *back = NULL;

		assert_int_equal(store_event_text_of(ev, &mem), -ENOENT);   /* no dump yet */
		assert_non_null(ievent_json_text(ev));
		assert_non_null(ev->payload_text = strdup("{\"n\": 7, \"s\": \"as \\u0041 sent\"}"));
		assert_int_equal(store_insert_event(f->st, ev, req, NULL), 0);
		assert_int_equal(store_event_text_of(ev, &mem), 0);
		assert_int_equal(store_event_text(f->st, ev->id, &back, NULL, NULL), 0);
		assert_string_equal(mem, back);
		assert_non_null(strstr(mem, "\"payload\":{\"n\": 7, \"s\": \"as \\u0041 sent\"}}"));
		free(mem);
		free(back);
	}
	ievent_destroy(ev);

	/* status "info" is allowed, anything else violates the CHECK */
	ev = make_event("flux", "info", "podinfo", T0);
	assert_int_equal(store_insert_event(f->st, ev, req, NULL), 0);
	ievent_destroy(ev);
	ev = make_event("flux", "bogus", "podinfo", T0);
	assert_int_equal(store_insert_event(f->st, ev, req, NULL), -EIO);
	/* SQLite: "CHECK constraint failed: ...", PostgreSQL: "... violates check constraint" */
	assert_non_null(strcasestr(store_last_error(f->st), "check constraint"));
	ievent_destroy(ev);
}

/* What a request's events share is stored once and each event's payload is whole again
 * when read, for the read API and for sinks alike. */
static void
test_shared_payload(void **state)
{
	struct fixture *f = *state;
	json_t *shared = json_pack("{s:s, s:{s:s}}", "receiver", "incidentd", "commonLabels",
	    "team", "core");
	struct ievent *a = make_event("alertmanager", "firing", "a", T0);
	struct ievent *b = make_event("alertmanager", "firing", "b", T0);
	char *text = NULL, *own = NULL;
	json_t *o = NULL, *p;
	int64_t req = 0;

	assert_non_null(shared);
	for (int i = 0; i < 2; i++) {
		struct ievent *ev = i ? b : a;

		json_decref(ev->payload);
		ev->payload = json_copy(shared);
		assert_int_equal(json_object_set_new(ev->payload, "alert", json_pack("{s:s}",
		    "fingerprint", i ? "fb" : "fa")), 0);
		ev->payload_shared = json_incref(shared);
	}
	assert_int_equal(store_insert_request(f->st, "alertmanager", T0, "sha", shared, &req), 0);
	assert_int_equal(store_insert_event(f->st, a, req, NULL), 0);
	assert_int_equal(store_insert_event(f->st, b, req, NULL), 0);
	/* stored once: the event rows hold only their own alert */
	own = fixture_text(f, "SELECT payload FROM events WHERE id = ?1", b->id);
	assert_non_null(own);
	assert_string_equal(own, "{\"alert\":{\"fingerprint\":\"fb\"}}");
	assert_int_equal(store_event_json(f->st, b->id, &o), 0);
	p = json_object_get(o, "payload");
	assert_true(json_equal(json_object_get(p, "commonLabels"),
	    json_object_get(shared, "commonLabels")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(p, "alert"),
	    "fingerprint")), "fb");
	assert_int_equal(json_object_size(p), 3);
	json_decref(o);
	assert_int_equal(store_event_text(f->st, a->id, &text, NULL, NULL), 0);
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(o,
	    "payload"), "alert"), "fingerprint")), "fa");
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "payload"),
	    "receiver")), "incidentd");
	json_decref(o);
	free(text);
	free(own);
	/* an own member whose key has a NUL inside is stored as jansson prints it */
	json_decref(a->payload);
	a->payload = json_copy(shared);
	assert_int_equal(json_object_setn_new(a->payload, "k\0y", 3, json_string("v\"")), 0);
	assert_int_equal(payload_own_text(a, &own), 0);
	assert_string_equal(own, "{\"k\\u0000y\":\"v\\\"\"}");
	free(own);
	ievent_destroy(a);
	ievent_destroy(b);
	json_decref(shared);
}

static void
test_duplicate_window(void **state)
{
	struct fixture *f = *state;
	char a[UTIL_ID_LEN + 1], b[UTIL_ID_LEN + 1], c[UTIL_ID_LEN + 1];
	json_t *ids = NULL;

	add_event(f->st, "argocd", "firing", "x", T0, "sha1", NULL, a);
	add_event(f->st, "argocd", "firing", "y", T0 + 60000, "sha1", NULL, b);
	add_event(f->st, "flux", "firing", "x", T0 + 60000, "sha1", NULL, c);

	assert_int_equal(store_find_duplicate(f->st, "argocd", "sha1", T0 - 1000, &ids), 0);
	assert_int_equal(json_array_size(ids), 2);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), a);
	assert_string_equal(json_string_value(json_array_get(ids, 1)), b);
	json_decref(ids);
	/* the window starts after the first one */
	assert_int_equal(store_find_duplicate(f->st, "argocd", "sha1", T0 + 1, &ids), 0);
	assert_int_equal(json_array_size(ids), 1);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), b);
	json_decref(ids);
	/* other digest, and a window after everything */
	assert_int_equal(store_find_duplicate(f->st, "argocd", "sha2", 0, &ids), 0);
	assert_int_equal(json_array_size(ids), 0);
	json_decref(ids);
	assert_int_equal(store_find_duplicate(f->st, "flux", "sha1", T0 + 60001, &ids), 0);
	assert_int_equal(json_array_size(ids), 0);
	json_decref(ids);
}

static void
test_incident_put_get_refs(void **state)
{
	struct fixture *f = *state;
	struct incident a, b, got;
	json_t *obj;

	make_incident(&a, "argocd/prod/pets/aks-store", T0);
	assert_int_equal(store_put_incident(f->st, &a), 0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_get_incident(f->st, a.id, &got), 0);
	assert_string_equal(got.key, "argocd/prod/pets/aks-store");
	assert_string_equal(got.state, "firing");
	assert_int_equal(got.opened_at, T0);
	assert_int_equal(got.resolved_at, 0);
	assert_int_equal(got.event_count, 1);
	assert_true(json_is_object(got.refs));
	assert_int_equal(json_object_size(got.refs), 0);
	incident_clear(&got);

	/* refs merge per sink, member by member */
	obj = json_pack("{s:i}", "issue", 42);
	assert_int_equal(store_merge_incident_refs(f->st, a.id, "github", obj), 0);
	json_decref(obj);
	obj = json_pack("{s:s}", "url", "https://github.com/o/r/issues/42");
	assert_int_equal(store_merge_incident_refs(f->st, a.id, "github", obj), 0);
	assert_int_equal(store_merge_incident_refs(f->st, "nope", "github", obj), -ENOENT);
	json_decref(obj);

	/* resolve: an update by id keeps the refs */
	free(a.state);
	a.state = strdup("resolved");
	a.resolved_at = T0 + 5000;
	a.updated_at = T0 + 5000;
	a.event_count = 2;
	assert_int_equal(store_put_incident(f->st, &a), 0);
	assert_int_equal(store_get_incident_by_key(f->st, a.key, &got), 0);
	assert_string_equal(got.id, a.id);
	assert_string_equal(got.state, "resolved");
	assert_int_equal(got.resolved_at, T0 + 5000);
	assert_int_equal(got.event_count, 2);
	obj = json_object_get(got.refs, "github");
	assert_int_equal(json_integer_value(json_object_get(obj, "issue")), 42);
	assert_string_equal(json_string_value(json_object_get(obj, "url")),
	    "https://github.com/o/r/issues/42");
	incident_clear(&got);

	/* a later incident with the same key wins the lookup by key */
	make_incident(&b, a.key, T0 + 10000);
	assert_int_equal(store_put_incident(f->st, &b), 0);
	assert_int_equal(store_get_incident_by_key(f->st, a.key, &got), 0);
	assert_string_equal(got.id, b.id);
	incident_clear(&got);
	assert_int_equal(store_get_incident_by_key(f->st, "no/such/key", &got), -ENOENT);
	assert_int_equal(store_get_incident(f->st, "no-such-id", &got), -ENOENT);

	/* invalid state is refused by the CHECK constraint */
	free(b.state);
	b.state = strdup("open");
	assert_int_equal(store_put_incident(f->st, &b), -EIO);
	incident_clear(&a);
	incident_clear(&b);
	incident_clear(NULL);
}

static int64_t
add_delivery(struct store *st, const struct incident *inc, const char *event_id,
    const char *sink, enum delivery_state s, int64_t due, int64_t dep)
{
	struct delivery d;

	memset(&d, 0, sizeof(d));
	snprintf(d.incident_id, sizeof(d.incident_id), "%s", inc->id);
	snprintf(d.event_id, sizeof(d.event_id), "%s", event_id);
	d.sink = (char *)sink;
	d.action = (char *)"open";
	d.state = s;
	d.next_attempt_at = due;
	d.created_at = d.updated_at = T0;
	d.depends_on = dep;
	assert_int_equal(store_insert_delivery(st, &d), 0);
	assert_true(d.id > 0);
	return d.id;
}

static void
test_delivery_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct incident inc;
	struct delivery *rows = NULL, d;
	char ev[UTIL_ID_LEN + 1];
	int64_t a, b, c, later, when = 0;
	size_t n = 0;
	int cnt = -1;

	make_incident(&inc, "k", T0);
	assert_int_equal(store_put_incident(f->st, &inc), 0);
	add_event(f->st, "argocd", "firing", "aks-store", T0, "s", inc.id, ev);
	a = add_delivery(f->st, &inc, ev, "github", DELIVERY_PENDING, T0, 0);
	b = add_delivery(f->st, &inc, ev, "doctor-label", DELIVERY_BLOCKED, T0, a);
	c = add_delivery(f->st, &inc, ev, "oncall", DELIVERY_BLOCKED, T0, b);
	later = add_delivery(f->st, &inc, ev, "slow", DELIVERY_PENDING, T0 + 60000, 0);

	assert_int_equal(store_next_due_time(f->st, &when), 0);
	assert_int_equal(when, T0);
	assert_int_equal(store_due_deliveries(f->st, T0 + 1, 10, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, a);
	assert_string_equal(rows[0].sink, "github");
	assert_int_equal(rows[0].state, DELIVERY_PENDING);
	assert_int_equal(rows[0].next_attempt_at, T0);

	/* running, then a crash: requeued */
	rows[0].state = DELIVERY_RUNNING;
	rows[0].attempts = 1;
	assert_int_equal(store_update_delivery(f->st, &rows[0]), 0);
	delivery_free_array(rows, n);
	assert_int_equal(store_due_deliveries(f->st, T0 + 1, 10, &rows, &n), 0);
	assert_int_equal(n, 0);
	assert_null(rows);
	/* a sink's note on its running delivery; only while it runs */
	assert_int_equal(store_set_delivery_note(f->st, a, "{\"pid\": 4242}"), 0);
	assert_int_equal(store_set_delivery_note(f->st, b, "{\"pid\": 1}"), -ENOENT);
	assert_int_equal(store_running_deliveries(f->st, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, a);
	assert_string_equal(rows[0].note, "{\"pid\": 4242}");
	delivery_free_array(rows, n);
	rows = NULL;
	assert_int_equal(store_requeue_running(f->st, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(store_get_delivery(f->st, a, &d), 0);
	assert_int_equal(d.state, DELIVERY_PENDING);
	assert_int_equal(d.attempts, 1);
	assert_string_equal(d.note, "{\"pid\": 4242}");   /* kept for the next attempt */
	assert_int_equal(store_running_deliveries(f->st, &rows, &n), 0);
	assert_int_equal(n, 0);
	assert_null(rows);

	/* done with a result; the dependent is released */
	d.state = DELIVERY_DONE;
	d.attempts = 2;
	d.last_status = strdup("ok");
	d.result = json_pack("{s:i}", "issue", 42);
	assert_int_equal(store_update_delivery(f->st, &d), 0);
	assert_int_equal(store_release_dependents(f->st, a, true, T0 + 2000), 0);
	delivery_clear(&d);
	assert_int_equal(store_get_delivery(f->st, a, &d), 0);
	assert_int_equal(d.state, DELIVERY_DONE);
	assert_string_equal(d.last_status, "ok");
	assert_int_equal(json_integer_value(json_object_get(d.result, "issue")), 42);
	delivery_clear(&d);
	assert_int_equal(store_get_delivery(f->st, b, &d), 0);
	assert_int_equal(d.state, DELIVERY_PENDING);
	assert_int_equal(d.next_attempt_at, T0 + 2000);
	assert_int_equal(d.depends_on, a);

	/* b fails: c (blocked on b) is cancelled */
	d.state = DELIVERY_FAILED;
	d.last_error = strdup("HTTP 422");
	assert_int_equal(store_update_delivery(f->st, &d), 0);
	assert_int_equal(store_release_dependents(f->st, b, false, T0 + 3000), 0);
	delivery_clear(&d);
	assert_int_equal(store_get_delivery(f->st, c, &d), 0);
	assert_int_equal(d.state, DELIVERY_CANCELLED);
	{
		char want[64];

		snprintf(want, sizeof(want), "dependency %lld failed", (long long)b);
		assert_string_equal(d.last_error, want);
	}
	delivery_clear(&d);

	/* only the later one is still pending */
	assert_int_equal(store_next_due_time(f->st, &when), 0);
	assert_int_equal(when, T0 + 60000);
	assert_int_equal(store_due_deliveries(f->st, T0 + 60000, 10, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, later);
	rows[0].state = DELIVERY_CANCELLED;
	assert_int_equal(store_update_delivery(f->st, &rows[0]), 0);
	delivery_free_array(rows, n);
	assert_int_equal(store_next_due_time(f->st, &when), -ENOENT);
	assert_int_equal(store_get_delivery(f->st, 9999, &d), -ENOENT);
	d.id = 9999;
	assert_int_equal(store_update_delivery(f->st, &d), -ENOENT);
	incident_clear(&inc);
}

/* The syncer's thread checkpoints the WAL (the committing connection no longer does),
 * and the WAL still starts over: its file stays far shorter than what was written. Once
 * the syncer is gone, the connection checkpoints by itself again. */
static void
test_syncer_checkpoints(void **state)
{
	struct fixture *f = *state;
	struct store_syncer *sy = NULL;
	json_t *m = json_pack("[s]", "app=aks-store");
	char id[UTIL_ID_LEN + 1], comment[3900], wal[1100];
	uint64_t made = 0, failed = 0, gen = 0;
	struct stat sb;
	int commits = 0;

	memset(comment, 'c', sizeof(comment) - 1);
	comment[sizeof(comment) - 1] = '\0';
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(store_syncer_new(f->st, &sy), 0);
	store_syncer_checkpoints(sy, &made, &failed);
	assert_int_equal(made, 0);
	/* about 12,000 frames (a row of 4 KB and an index entry per commit) */
	for (commits = 0; commits < 5000; commits++) {
		assert_int_equal(store_set_durable(f->st, false), 0);
		assert_int_equal(store_begin(f->st), 0);
		assert_int_equal(store_silence_add(f->st, m, T0, T0 + 1000, comment, "me", id), 0);
		assert_int_equal(store_commit(f->st), 0);
		if (commits % 10 == 9)
			assert_int_equal(store_syncer_wait(sy, store_syncer_request(sy)), 0);
	}
	gen = store_syncer_request(sy);
	assert_int_equal(store_syncer_wait(sy, gen), 0);
	store_syncer_checkpoints(sy, &made, &failed);
	assert_true(made >= 10);
	assert_int_equal(failed, 0);
	/* it started over: far fewer frames than were written (4,000 + a few commits) */
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size < 6000 * (4096 + 24));
	store_syncer_destroy(sy);
	/* without the syncer, SQLite's automatic checkpoint (1,000 frames) is back: the WAL
	 * keeps starting over, never reaching the length above */
	for (commits = 0; commits < 5000; commits++) {
		assert_int_equal(store_begin(f->st), 0);
		assert_int_equal(store_silence_add(f->st, m, T0, T0 + 1000, comment, "me", id), 0);
		assert_int_equal(store_commit(f->st), 0);
	}
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size < 6000 * (4096 + 24));
	assert_int_equal(fixture_int(f, "SELECT count(*) FROM silences", NULL), 10000);
	json_decref(m);
}

/* A delivery's attempts are traced in its own row (schema 14): each outcome appends a step
 * with the update that records it, and `decisions` (the event's and the incident's trace)
 * shows them after the event's own steps, in order, with no traces row of their own. */
static void
test_delivery_steps(void **state)
{
	struct fixture *f = *state;
	struct incident inc;
	struct delivery d;
	char ev[UTIL_ID_LEN + 1];
	json_t *obj = NULL, *steps;
	int64_t a, b;

	make_incident(&inc, "k", T0);
	assert_int_equal(store_put_incident(f->st, &inc), 0);
	add_event(f->st, "argocd", "firing", "aks-store", T0, "s", inc.id, ev);
	assert_int_equal(store_insert_decision(f->st, ev, inc.id, 1, "route", "matched",
	    "route default"), 0);
	a = add_delivery(f->st, &inc, ev, "github", DELIVERY_RUNNING, T0, 0);
	b = add_delivery(f->st, &inc, ev, "slack", DELIVERY_RUNNING, T0, 0);

	/* a: a retry, then done; b: done at once, after a's first attempt */
	assert_int_equal(store_get_delivery(f->st, a, &d), 0);
	d.state = DELIVERY_PENDING;
	d.attempts = 1;
	d.updated_at = T0 + 1000;
	d.last_error = strdup("HTTP 502");
	assert_int_equal(store_update_delivery_step(f->st, &d, 101, "delivery", "retry",
	    "sink github open attempt 1: HTTP 502"), 0);
	d.state = DELIVERY_DONE;
	d.attempts = 2;
	d.updated_at = T0 + 3000;
	assert_int_equal(store_update_delivery_step(f->st, &d, 102, "delivery", "ok",
	    "sink github open attempt 2: created"), 0);
	delivery_clear(&d);
	assert_int_equal(store_get_delivery(f->st, b, &d), 0);
	d.state = DELIVERY_DONE;
	d.attempts = 1;
	d.updated_at = T0 + 2000;
	assert_int_equal(store_update_delivery_step(f->st, &d, 101, "delivery", "ok", NULL), 0);
	delivery_clear(&d);
	assert_int_equal(store_add_delivery_step(f->st, b, 101, "delivery", "note",
	    "a \"quoted\" detail"), 0);
	assert_int_equal(store_add_delivery_step(f->st, 9999, 101, "delivery", "x", NULL),
	    -ENOENT);
	assert_int_equal(store_get_delivery(f->st, a, &d), 0);
	assert_int_equal(d.state, DELIVERY_DONE);       /* the update itself took */
	assert_int_equal(d.attempts, 2);
	delivery_clear(&d);

	assert_int_equal(fixture_int(f, "SELECT count(*) FROM traces", NULL), 1);
	assert_int_equal(fixture_int(f, "SELECT count(*) FROM decisions WHERE event_id = ?1",
	    ev), 5);
	assert_int_equal(store_event_json(f->st, ev, &obj), 0);
	steps = json_object_get(obj, "decisions");
	assert_int_equal(json_array_size(steps), 5);
	{
		static const char *const want[][4] = {
			{ "1", "route", "matched", "route default" },
			{ "101", "delivery", "retry", "sink github open attempt 1: HTTP 502" },
			{ "101", "delivery", "ok", NULL },
			{ "101", "delivery", "note", "a \"quoted\" detail" },
			{ "102", "delivery", "ok", "sink github open attempt 2: created" },
		};
		static const char *const at[] = { NULL, "2026-02-10T03:01:13.000Z",
			"2026-02-10T03:01:14.000Z", NULL, "2026-02-10T03:01:15.000Z" };

		for (size_t i = 0; i < 5; i++) {
			json_t *row = json_array_get(steps, i);
			const char *detail = json_string_value(json_object_get(row, "detail"));

			assert_int_equal(json_integer_value(json_object_get(row, "seq")),
			    atoi(want[i][0]));
			assert_string_equal(json_string_value(json_object_get(row, "step")),
			    want[i][1]);
			assert_string_equal(json_string_value(json_object_get(row, "outcome")),
			    want[i][2]);
			if (want[i][3] == NULL)
				assert_null(detail);
			else
				assert_string_equal(detail, want[i][3]);
			if (at[i] != NULL)
				assert_string_equal(json_string_value(json_object_get(row, "at")),
				    at[i]);
			else
				assert_non_null(json_string_value(json_object_get(row, "at")));
		}
	}
	json_decref(obj);
	/* the incident's trace has them too */
	assert_int_equal(store_incident_json(f->st, inc.id, &obj), 0);
	assert_int_equal(json_array_size(json_object_get(obj, "decisions")), 5);
	json_decref(obj);
	incident_clear(&inc);
}

/* Per sink, an incident's deliveries run one at a time and in order; other sinks and other
 * incidents are not held up. */
/* Claims (replicas): a running delivery belongs to its claimant until the lease ends; the
 * claimant renews it; an ended claim is someone else's to take over. */
static void
test_claims(void **state)
{
	struct fixture *f = *state;
	struct incident inc;
	struct delivery *rows = NULL;
	char ev[UTIL_ID_LEN + 1];
	int64_t a, now = util_now_ms();
	size_t n = 0;

	make_incident(&inc, "k", T0);
	assert_int_equal(store_put_incident(f->st, &inc), 0);
	add_event(f->st, "argocd", "firing", "aks-store", T0, "s", inc.id, ev);
	store_set_claimant(f->st, "replica-a", 30000);
	a = add_delivery(f->st, &inc, ev, "github", DELIVERY_RUNNING, T0, 0);
	/* claimed until now + 30s: not ended now, ended 31s later */
	assert_int_equal(store_expired_claims(f->st, now, false, &rows, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_expired_claims(f->st, now + 31000, false, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, a);
	delivery_free_array(rows, n);
	/* renewed at now + 20s: holds until now + 50s */
	assert_int_equal(store_renew_claims(f->st, now + 20000), 0);
	assert_int_equal(store_expired_claims(f->st, now + 31000, false, &rows, &n), 0);
	assert_int_equal(n, 0);
	/* another replica renews only its own */
	store_set_claimant(f->st, "replica-b", 30000);
	assert_int_equal(store_renew_claims(f->st, now + 100000), 0);
	assert_int_equal(store_expired_claims(f->st, now + 51000, false, &rows, &n), 0);
	assert_int_equal(n, 1);
	/* taking it over: updated as running, it is b's until now + 30s */
	assert_int_equal(store_update_delivery(f->st, &rows[0]), 0);
	delivery_free_array(rows, n);
	assert_int_equal(store_expired_claims(f->st, now + 29000, false, &rows, &n), 0);
	assert_int_equal(n, 0);
	/* b restarted: its own claims are left over from its earlier process, at once */
	assert_int_equal(store_expired_claims(f->st, now + 29000, true, &rows, &n), 0);
	assert_int_equal(n, 1);
	delivery_free_array(rows, n);
	store_set_claimant(f->st, "replica-c", 30000);
	assert_int_equal(store_expired_claims(f->st, now + 29000, true, &rows, &n), 0);
	assert_int_equal(n, 0);
	incident_clear(&inc);
}

/* Pacing lanes in the ledger: slots gap apart, a hold pushes the next slot. */
static void
test_pace_lanes(void **state)
{
	struct fixture *f = *state;
	uint64_t wait = 99;

	assert_int_equal(store_pace_reserve(f->st, "github:ab", T0, 1000, &wait), 0);
	assert_int_equal(wait, 0);
	assert_int_equal(store_pace_reserve(f->st, "github:ab", T0 + 200, 1000, &wait), 0);
	assert_int_equal(wait, 800);
	assert_int_equal(store_pace_reserve(f->st, "github:cd", T0 + 200, 1000, &wait), 0);
	assert_int_equal(wait, 0);
	assert_int_equal(store_pace_hold(f->st, "github:ab", T0 + 60000), 0);
	assert_int_equal(store_pace_hold(f->st, "github:ab", T0 + 5000), 0);  /* earlier: kept */
	assert_int_equal(store_pace_reserve(f->st, "github:ab", T0 + 300, 1000, &wait), 0);
	assert_int_equal(wait, 59700);
	assert_int_equal(store_pace_reserve(f->st, "github:ab", T0 + 300, 1000, &wait), 0);
	assert_int_equal(wait, 60700);
}

/* Quotas in the ledger: at most limit units per period, a new period starts again, each
 * counter apart. */
static void
test_quotas(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_quota_take(f->st, "runner:runs", T0, 2), 1);
	assert_int_equal(store_quota_take(f->st, "runner:runs", T0, 2), 1);
	assert_int_equal(store_quota_take(f->st, "runner:runs", T0, 2), 0);
	assert_int_equal(store_quota_take(f->st, "runner:runs", T0, 2), 0);
	/* a higher limit (a reload) lets one more through */
	assert_int_equal(store_quota_take(f->st, "runner:runs", T0, 3), 1);
	assert_int_equal(store_quota_take(f->st, "runner:runs", T0, 3), 0);
	assert_int_equal(store_quota_take(f->st, "other:runs", T0, 1), 1);
	assert_int_equal(store_quota_take(f->st, "runner:runs", T0 + 86400000, 2), 1);
	assert_int_equal(store_quota_take(f->st, "runner:runs", T0, 0), 0);
	assert_int_equal(store_quota_take(f->st, NULL, T0, 1), -EINVAL);
}

/* Slots in the ledger: at most max running deliveries hold one; taking again is no new
 * slot; a slot whose delivery no longer runs is free; release gives it back. */
static void
test_slots(void **state)
{
	struct fixture *f = *state;
	struct incident inc;
	struct delivery d;
	char ev[UTIL_ID_LEN + 1];
	int64_t a, b, c;

	make_incident(&inc, "k", T0);
	assert_int_equal(store_put_incident(f->st, &inc), 0);
	add_event(f->st, "argocd", "firing", "aks-store", T0, "s", inc.id, ev);
	a = add_delivery(f->st, &inc, ev, "runner", DELIVERY_RUNNING, T0, 0);
	b = add_delivery(f->st, &inc, ev, "runner", DELIVERY_RUNNING, T0, 0);
	c = add_delivery(f->st, &inc, ev, "runner", DELIVERY_RUNNING, T0, 0);
	assert_int_equal(store_slot_take(f->st, "runner:x", a, 2), 1);
	assert_int_equal(store_slot_take(f->st, "runner:x", a, 2), 1);  /* held already */
	assert_int_equal(store_slot_take(f->st, "runner:x", b, 2), 1);
	assert_int_equal(store_slot_take(f->st, "runner:x", c, 2), 0);
	assert_int_equal(store_slot_take(f->st, "runner:y", c, 2), 1);  /* another name */
	/* a finished (e.g. by the replica that took it over): its slot counts no more */
	assert_int_equal(store_get_delivery(f->st, a, &d), 0);
	d.state = DELIVERY_DONE;
	assert_int_equal(store_update_delivery(f->st, &d), 0);
	delivery_clear(&d);
	assert_int_equal(store_slot_take(f->st, "runner:x", c, 2), 1);
	assert_int_equal(store_slot_take(f->st, "runner:y", a, 1), 0);
	assert_int_equal(store_slot_release(f->st, "runner:y", c), 0);
	assert_int_equal(store_slot_take(f->st, "runner:y", a, 1), 1);
	assert_int_equal(store_slot_release(f->st, "runner:y", c), 0);  /* none: no-op */
	assert_int_equal(store_slot_take(f->st, NULL, a, 1), -EINVAL);
	incident_clear(&inc);
}

static void
test_delivery_order_per_sink(void **state)
{
	struct fixture *f = *state;
	struct incident inc, other;
	struct delivery *rows = NULL, d;
	char ev[UTIL_ID_LEN + 1], ev2[UTIL_ID_LEN + 1];
	int64_t open, update, slack, other_open, when = 0;
	size_t n = 0;

	make_incident(&inc, "k1", T0);
	make_incident(&other, "k2", T0);
	assert_int_equal(store_put_incident(f->st, &inc), 0);
	assert_int_equal(store_put_incident(f->st, &other), 0);
	add_event(f->st, "argocd", "firing", "aks-store", T0, "s1", inc.id, ev);
	add_event(f->st, "argocd", "firing", "aks-store-2", T0, "s2", other.id, ev2);
	/* the open is waiting for a retry in a minute; the update is due now */
	open = add_delivery(f->st, &inc, ev, "github", DELIVERY_PENDING, T0 + 60000, 0);
	update = add_delivery(f->st, &inc, ev, "github", DELIVERY_PENDING, T0, 0);
	slack = add_delivery(f->st, &inc, ev, "slack", DELIVERY_PENDING, T0, 0);
	other_open = add_delivery(f->st, &other, ev2, "github", DELIVERY_PENDING, T0, 0);

	assert_int_equal(store_next_due_time(f->st, &when), 0);
	assert_int_equal(when, T0);
	assert_int_equal(store_due_deliveries(f->st, T0 + 1, 10, &rows, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].id, slack);
	assert_int_equal(rows[1].id, other_open);
	for (size_t i = 0; i < n; i++) {
		rows[i].state = DELIVERY_DONE;
		assert_int_equal(store_update_delivery(f->st, &rows[i]), 0);
	}
	delivery_free_array(rows, n);
	/* only the open can be next, once due (not the update behind it) */
	assert_int_equal(store_next_due_time(f->st, &when), 0);
	assert_int_equal(when, T0 + 60000);
	assert_int_equal(store_due_deliveries(f->st, T0 + 1, 10, &rows, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_due_deliveries(f->st, T0 + 60000, 10, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, open);
	/* while it runs, the update still waits */
	rows[0].state = DELIVERY_RUNNING;
	assert_int_equal(store_update_delivery(f->st, &rows[0]), 0);
	delivery_free_array(rows, n);
	assert_int_equal(store_next_due_time(f->st, &when), -ENOENT);
	/* a failed open does not hold the incident hostage */
	assert_int_equal(store_get_delivery(f->st, open, &d), 0);
	d.state = DELIVERY_FAILED;
	assert_int_equal(store_update_delivery(f->st, &d), 0);
	delivery_clear(&d);
	assert_int_equal(store_due_deliveries(f->st, T0 + 60000, 10, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, update);
	delivery_free_array(rows, n);
	incident_clear(&inc);
	incident_clear(&other);
}

static void
test_cancel_chain(void **state)
{
	struct fixture *f = *state;
	struct incident inc;
	struct delivery d;
	char ev[UTIL_ID_LEN + 1], want[64];
	int64_t a, b, c;

	make_incident(&inc, "k", T0);
	assert_int_equal(store_put_incident(f->st, &inc), 0);
	add_event(f->st, "argocd", "firing", "aks-store", T0, "s", inc.id, ev);
	a = add_delivery(f->st, &inc, ev, "github", DELIVERY_PENDING, T0, 0);
	b = add_delivery(f->st, &inc, ev, "label", DELIVERY_BLOCKED, T0, a);
	c = add_delivery(f->st, &inc, ev, "slack", DELIVERY_BLOCKED, T0, b);
	assert_int_equal(store_release_dependents(f->st, a, false, T0 + 1), 0);
	assert_int_equal(store_get_delivery(f->st, c, &d), 0);
	assert_int_equal(d.state, DELIVERY_CANCELLED);
	snprintf(want, sizeof(want), "dependency %lld cancelled", (long long)b);
	assert_string_equal(d.last_error, want);
	delivery_clear(&d);
	assert_int_equal(store_get_delivery(f->st, a, &d), 0);
	assert_int_equal(d.state, DELIVERY_PENDING);  /* the failed one itself is untouched */
	delivery_clear(&d);
	incident_clear(&inc);
}

static void
test_savepoint_rollback(void **state)
{
	struct fixture *f = *state;
	char bad[UTIL_ID_LEN + 1], good[UTIL_ID_LEN + 1];
	json_t *o = NULL;

	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_savepoint(f->st), 0);
	add_event(f->st, "argocd", "firing", "bad", T0, "s1", NULL, bad);
	assert_int_equal(store_insert_decision(f->st, bad, NULL, 1, "route", "matched", "x"), 0);
	assert_int_equal(store_rollback_savepoint(f->st), 0);
	assert_int_equal(store_savepoint(f->st), 0);
	add_event(f->st, "argocd", "firing", "good", T0, "s2", NULL, good);
	assert_int_equal(store_release(f->st), 0);
	assert_int_equal(store_check_writable(f->st), 0);
	assert_int_equal(store_commit(f->st), 0);

	assert_int_equal(store_event_json(f->st, bad, &o), -ENOENT);
	assert_int_equal(store_event_json(f->st, good, &o), 0);
	json_decref(o);
	assert_int_equal(store_list_events(f->st, NULL, &o), 0);
	assert_int_equal(json_array_size(o), 1);
	json_decref(o);

	/* a whole rollback leaves nothing either */
	assert_int_equal(store_begin(f->st), 0);
	add_event(f->st, "argocd", "firing", "bad", T0, "s3", NULL, bad);
	assert_int_equal(store_rollback(f->st), 0);
	assert_int_equal(store_event_json(f->st, bad, &o), -ENOENT);
	assert_int_equal(store_rollback(f->st), 0);  /* nothing open: no-op */
}

static void
test_list_paging_filters(void **state)
{
	struct fixture *f = *state;
	struct store_query q;
	struct incident inc, inc2;
	char ids[5][UTIL_ID_LEN + 1];
	json_t *o = NULL, *row;
	int64_t a;

	make_incident(&inc, "k1", T0);
	make_incident(&inc2, "k2", T0 + 1);
	free(inc2.state);
	inc2.state = strdup("resolved");
	inc2.resolved_at = T0 + 2;
	inc2.updated_at = T0 + 2;
	assert_int_equal(store_put_incident(f->st, &inc), 0);
	assert_int_equal(store_put_incident(f->st, &inc2), 0);
	for (int i = 0; i < 5; i++)
		add_event(f->st, i % 2 ? "flux" : "argocd", "firing", "app", T0 + i, "s",
		    i < 3 ? inc.id : NULL, ids[i]);

	memset(&q, 0, sizeof(q));
	q.limit = 2;
	assert_int_equal(store_list_events(f->st, &q, &o), 0);
	assert_int_equal(json_array_size(o), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(o, 0), "id")),
	    ids[4]);
	assert_string_equal(json_string_value(json_object_get(json_array_get(o, 1), "id")),
	    ids[3]);
	row = json_array_get(o, 0);
	assert_string_equal(json_string_value(json_object_get(row, "received_at")),
	    "2026-02-10T03:01:12.004Z");
	assert_true(json_is_null(json_object_get(row, "incident_id")));
	json_decref(o);
	q.before_id = ids[3];
	assert_int_equal(store_list_events(f->st, &q, &o), 0);
	assert_int_equal(json_array_size(o), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(o, 0), "id")),
	    ids[2]);
	json_decref(o);
	memset(&q, 0, sizeof(q));
	q.source = "flux";
	assert_int_equal(store_list_events(f->st, &q, &o), 0);
	assert_int_equal(json_array_size(o), 2);
	json_decref(o);
	q.source = NULL;
	q.incident_id = inc.id;
	assert_int_equal(store_list_events(f->st, &q, &o), 0);
	assert_int_equal(json_array_size(o), 3);
	json_decref(o);

	/* incidents: most recently updated first; state filter */
	memset(&q, 0, sizeof(q));
	assert_int_equal(store_list_incidents(f->st, &q, &o), 0);
	assert_int_equal(json_array_size(o), 2);
	row = json_array_get(o, 0);
	assert_string_equal(json_string_value(json_object_get(row, "id")), inc2.id);
	assert_string_equal(json_string_value(json_object_get(row, "resolved_at")),
	    "2026-02-10T03:01:12.002Z");
	assert_true(json_is_null(json_object_get(json_array_get(o, 1), "resolved_at")));
	assert_true(json_is_object(json_object_get(row, "refs")));
	json_decref(o);
	q.state = "firing";
	assert_int_equal(store_list_incidents(f->st, &q, &o), 0);
	assert_int_equal(json_array_size(o), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(o, 0), "id")),
	    inc.id);
	json_decref(o);
	q.state = NULL;
	q.before_id = inc2.id;
	assert_int_equal(store_list_incidents(f->st, &q, &o), 0);
	assert_int_equal(json_array_size(o), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(o, 0), "id")),
	    inc.id);
	json_decref(o);

	/* deliveries: failed only, state filter, bad state */
	a = add_delivery(f->st, &inc, ids[0], "github", DELIVERY_PENDING, T0, 0);
	add_delivery(f->st, &inc, ids[0], "slack", DELIVERY_FAILED, T0, 0);
	assert_int_equal(store_insert_decision(f->st, ids[0], inc.id, 1, "incident", "opened",
	    "opened"), 0);
	memset(&q, 0, sizeof(q));
	q.failed_only = true;
	assert_int_equal(store_list_deliveries(f->st, &q, &o), 0);
	assert_int_equal(json_array_size(o), 1);
	row = json_array_get(o, 0);
	assert_string_equal(json_string_value(json_object_get(row, "sink")), "slack");
	assert_string_equal(json_string_value(json_object_get(row, "state")), "failed");
	assert_true(json_is_null(json_object_get(row, "result")));
	json_decref(o);
	memset(&q, 0, sizeof(q));
	q.state = "pending";
	assert_int_equal(store_list_deliveries(f->st, &q, &o), 0);
	assert_int_equal(json_array_size(o), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(o, 0), "id")), a);
	json_decref(o);
	q.state = "nonsense";
	assert_int_equal(store_list_deliveries(f->st, &q, &o), -EINVAL);
	memset(&q, 0, sizeof(q));
	assert_int_equal(store_list_deliveries(f->st, &q, &o), 0);
	assert_int_equal(json_array_size(o), 2);
	json_decref(o);

	/* one incident with its events, deliveries and decisions */
	assert_int_equal(store_incident_json(f->st, inc.id, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "key")), "k1");
	row = json_object_get(o, "events");
	assert_int_equal(json_array_size(row), 3);
	assert_string_equal(json_string_value(json_array_get(row, 0)), ids[2]);
	assert_int_equal(json_array_size(json_object_get(o, "deliveries")), 2);
	assert_int_equal(json_array_size(json_object_get(o, "decisions")), 1);
	json_decref(o);
	assert_int_equal(store_incident_json(f->st, "nope", &o), -ENOENT);

	/* the event view lists its deliveries */
	assert_int_equal(store_event_json(f->st, ids[0], &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "incident_id")), inc.id);
	assert_int_equal(json_array_size(json_object_get(o, "deliveries")), 2);
	json_decref(o);
	incident_clear(&inc);
	incident_clear(&inc2);
}

/* The outbox backlog /metrics reports: unfinished deliveries per sink and state, with the
 * earliest due time; finished ones are not counted. */
static void
test_outbox_backlog(void **state)
{
	struct fixture *f = *state;
	struct store_backlog *g = NULL;
	struct incident inc;
	char ev[UTIL_ID_LEN + 1];
	size_t n = 0;
	int64_t a;

	assert_int_equal(store_outbox_backlog(f->st, &g, &n), 0);
	assert_int_equal(n, 0);
	store_backlog_free(g, n);
	make_incident(&inc, "k", T0);
	assert_int_equal(store_put_incident(f->st, &inc), 0);
	add_event(f->st, "argocd", "firing", "aks-store", T0, "s", inc.id, ev);
	a = add_delivery(f->st, &inc, ev, "github", DELIVERY_PENDING, T0 + 5000, 0);
	add_delivery(f->st, &inc, ev, "github", DELIVERY_PENDING, T0 + 1000, 0);
	add_delivery(f->st, &inc, ev, "label", DELIVERY_BLOCKED, T0, a);
	add_delivery(f->st, &inc, ev, "slack", DELIVERY_RUNNING, T0, 0);
	add_delivery(f->st, &inc, ev, "slack", DELIVERY_DONE, T0, 0);
	add_delivery(f->st, &inc, ev, "slack", DELIVERY_FAILED, T0, 0);
	assert_int_equal(store_outbox_backlog(f->st, &g, &n), 0);
	assert_int_equal(n, 3);   /* ordered by state, then sink */
	assert_int_equal(g[0].state, DELIVERY_BLOCKED);
	assert_string_equal(g[0].sink, "label");
	assert_int_equal(g[0].count, 1);
	assert_int_equal(g[1].state, DELIVERY_PENDING);
	assert_string_equal(g[1].sink, "github");
	assert_int_equal(g[1].count, 2);
	assert_int_equal(g[1].oldest_due_at, T0 + 1000);
	assert_int_equal(g[2].state, DELIVERY_RUNNING);
	assert_string_equal(g[2].sink, "slack");
	assert_int_equal(g[2].count, 1);
	store_backlog_free(g, n);
	store_backlog_free(NULL, 0);
	incident_clear(&inc);
}

static void
test_state_names(void **state)
{
	enum delivery_state s = DELIVERY_DONE;

	(void)state;
	assert_string_equal(delivery_state_name(DELIVERY_BLOCKED), "blocked");
	assert_string_equal(delivery_state_name(DELIVERY_CANCELLED), "cancelled");
	assert_int_equal(delivery_state_parse("running", &s), 0);
	assert_int_equal(s, DELIVERY_RUNNING);
	assert_int_equal(delivery_state_parse("Running", &s), -EINVAL);
	assert_int_equal(delivery_state_parse(NULL, &s), -EINVAL);
	delivery_clear(NULL);
	delivery_free_array(NULL, 0);
	store_close(NULL);
}

/* The syncer: a requested generation is done once the WAL is fdatasynced, the eventfd
 * says so and collect clears it; destroy makes the syncs asked for first. */
static void
test_syncer(void **state)
{
	struct fixture *f = *state;
	struct store_syncer *sy = NULL;
	json_t *m = json_pack("[s]", "app=aks-store");
	char id[UTIL_ID_LEN + 1];
	struct pollfd pfd;
	uint64_t gen = 0, done = 0;

	assert_int_equal(store_syncer_new(f->st, &sy), 0);
	pfd.fd = store_syncer_fd(sy);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);      /* nothing asked, nothing done */
	for (int pass = 0; pass < 20; pass++) {
		assert_int_equal(store_set_durable(f->st, false), 0);
		assert_int_equal(store_begin(f->st), 0);
		assert_int_equal(store_silence_add(f->st, m, T0, T0 + 1000, "x", "me", id), 0);
		assert_int_equal(store_commit(f->st), 0);
		gen = store_syncer_request(sy);
	}
	assert_int_equal(gen, 20);
	assert_int_equal(store_syncer_wait(sy, gen), 0);
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(store_syncer_collect(sy, &done), 0);
	assert_int_equal(done, gen);
	assert_int_equal(poll(&pfd, 1, 0), 0);      /* collect cleared it */
	gen = store_syncer_request(sy);
	store_syncer_destroy(sy);                  /* makes that one before it stops */
	store_syncer_destroy(NULL);
	json_decref(m);
}

/* How a write transaction begins on PostgreSQL: durable or not, bounded by the lease
 * (clamped to what the settings take: a lease of 40 days is about 24), and the lock. */
static void
test_pg_begin_sql(void **state)
{
	char sql[320];

	(void)state;
	store_pg_begin_sql(sql, sizeof(sql), true, 30000);
	assert_string_equal(sql, "BEGIN; SET LOCAL synchronous_commit = on; SET LOCAL"
	    " lock_timeout = 30000; SET LOCAL idle_in_transaction_session_timeout = 30000;"
	    " SELECT pg_advisory_xact_lock(" STORE_PG_WRITE_LOCK_STR ")");
	store_pg_begin_sql(sql, sizeof(sql), false, 40LL * 86400 * 1000);
	assert_non_null(strstr(sql, "synchronous_commit = off;"));
	assert_non_null(strstr(sql, "lock_timeout = 2147483647;"));
	assert_non_null(strstr(sql, "idle_in_transaction_session_timeout = 2147483647;"));
}

int
main(void)
{
	struct CMUnitTest tests[] = {
		/* the syncer fdatasyncs SQLite's WAL file (PostgreSQL makes each commit durable
		 * itself: store_syncer_new() says -ENOTSUP) */
		FIXTURE_ON(sqlite, test_syncer),
		FIXTURE_ON(sqlite, test_syncer_checkpoints),
		FIXTURE_BOTH(test_open_fresh),
		/* WAL mode, sqlite_master, SQLite's EXPLAIN (PostgreSQL's schema is one baseline
		 * script, pg/migrations_pg.c) */
		FIXTURE_ON(sqlite, test_open_schema_wal),
		FIXTURE_ON(sqlite, test_schema_without_in_lists),
		FIXTURE_BOTH(test_reopen_is_noop),
		FIXTURE_BOTH(test_newer_schema_refused),
		FIXTURE_BOTH(test_insert_read_event),
		FIXTURE_BOTH(test_shared_payload),
		FIXTURE_BOTH(test_duplicate_window),
		FIXTURE_BOTH(test_incident_put_get_refs),
		FIXTURE_BOTH(test_delivery_lifecycle),
		FIXTURE_BOTH(test_delivery_steps),
		FIXTURE_BOTH(test_delivery_order_per_sink),
		FIXTURE_BOTH(test_claims),
		FIXTURE_BOTH(test_pace_lanes),
		FIXTURE_BOTH(test_quotas),
		FIXTURE_BOTH(test_slots),
		/* a schema 1 file upgraded step by step: a PostgreSQL ledger starts at the
		 * baseline (STORE_PG_BASE_VERSION), it never had a schema 1 */
		FIXTURE_ON(sqlite, test_migrate_v1),
		FIXTURE_BOTH(test_migrate_v12_traces),
		FIXTURE_BOTH(test_silences),
		FIXTURE_BOTH(test_cancel_chain),
		FIXTURE_BOTH(test_savepoint_rollback),
		FIXTURE_BOTH(test_list_paging_filters),
		FIXTURE_BOTH(test_outbox_backlog),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_pg_begin_sql),
	};

	return fixture_run("test_store", tests, sizeof(tests) / sizeof(tests[0]));
}
