/* test_prune.c - retention in the ledger: what a pruning pass deletes and what it keeps
 * (firing incidents and theirs, unfinished deliveries, anything a kept row refers to),
 * batches that look at a bounded window of rows, and free pages given back. Each test runs
 * on SQLite, and on PostgreSQL too when INCIDENTD_TEST_PG is set (fixture.h); the plans
 * and the free pages are SQLite's own. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include <cmocka.h>

#include "event.h"
#include "fixture.h"
#include "prunesize.h"
#include "store.h"
#include "store_int.h"

#define T0 1770692472000LL          /* 2026-02-10T03:01:12.000Z */
#define DAY 86400000LL
#define OLD (T0 - 100 * DAY)        /* before the cutoff */
#define CUTOFF (T0 - 90 * DAY)
#define NEW (T0 - DAY)              /* after it */

/* One integer from the ledger with a connection of its own. */
static int64_t
count(struct fixture *f, const char *sql, const char *arg)
{
	return fixture_int(f, sql, arg);
}

/* Rows that name a row that is no longer there. SQLite checks its foreign keys with
 * pragma_foreign_key_check. PostgreSQL checks them at every statement, or at the commit
 * for the two that name an event: a pass that left one would have failed, as long as
 * every foreign key is validated. */
static int64_t
dangling(struct fixture *f)
{
	if (fixture_is_pg(f)) {
		assert_true(count(f, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'",
		    NULL) > 0);
		/* the two that name an event are checked at the commit (schema 14): a pass
		 * that left one would have failed there; they are counted row by row too */
		assert_int_equal(count(f, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
		    " AND condeferrable AND conrelid IN ('deliveries'::regclass,"
		    " 'traces'::regclass) AND confrelid = 'events'::regclass", NULL), 2);
		return count(f, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND"
		    " (NOT convalidated OR (condeferrable AND confrelid <> 'events'::regclass))",
		    NULL) +
		    count(f, "SELECT count(*) FROM deliveries AS d WHERE NOT EXISTS"
		    " (SELECT 1 FROM events AS e WHERE e.id = d.event_id)", NULL) +
		    count(f, "SELECT count(*) FROM traces AS t WHERE NOT EXISTS"
		    " (SELECT 1 FROM events AS e WHERE e.id = t.event_id)", NULL);
	}
	return count(f, "SELECT count(*) FROM pragma_foreign_key_check", NULL);
}

static bool
has(struct fixture *f, const char *table, const char *id)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE id = ?1", table);
	return count(f, sql, id) == 1;
}

static bool
has_delivery(struct fixture *f, int64_t id)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)id);
	return count(f, "SELECT count(*) FROM deliveries WHERE id = CAST(?1 AS INTEGER)", buf) == 1;
}

/* An incident with state, opened at opened and last changed at updated. */
static void
add_incident(struct store *st, struct incident *inc, const char *key, const char *state,
    int64_t opened, int64_t updated)
{
	memset(inc, 0, sizeof(*inc));
	util_id_new(inc->id);
	inc->key = strdup(key);
	inc->route = strdup("r");
	inc->state = strdup(state);
	inc->opened_at = opened;
	inc->updated_at = updated;
	inc->resolved_at = strcmp(state, "resolved") == 0 ? updated : 0;
	inc->refs = json_object();
	assert_int_equal(store_put_incident(st, inc), 0);
}

/* An event of incident_id (may be NULL) received at, in a request of its own, with a
 * decision trace of two steps naming trace_incident (may be NULL). */
static void
add_event(struct store *st, int64_t at, const char *incident_id, const char *trace_incident,
    char *id)
{
	struct ievent *ev = ievent_new("argocd");
	int64_t req = 0;

	assert_non_null(ev);
	assert_int_equal(ievent_set(&ev->status, "firing"), 0);
	assert_int_equal(ievent_set(&ev->app, "aks-store"), 0);
	ev->received_at = ev->occurred_at = at;
	ev->payload = json_pack("{s:s}", "app", "aks-store");
	assert_int_equal(store_insert_request(st, "argocd", at, "sha", NULL, &req), 0);
	assert_int_equal(store_insert_event(st, ev, req, incident_id), 0);
	assert_int_equal(store_insert_decision(st, ev->id, trace_incident, 1, "route",
	    "matched", "x"), 0);
	assert_int_equal(store_insert_decision(st, ev->id, trace_incident, 2, "incident",
	    "updated", "y"), 0);
	snprintf(id, UTIL_ID_LEN + 1, "%s", ev->id);
	ievent_destroy(ev);
}

/* A delivery for inc and event in state s, created and last changed at `at`. */
static int64_t
add_delivery(struct store *st, const struct incident *inc, const char *event_id,
    enum delivery_state s, int64_t at, int64_t dep)
{
	struct delivery d;

	memset(&d, 0, sizeof(d));
	snprintf(d.incident_id, sizeof(d.incident_id), "%s", inc->id);
	snprintf(d.event_id, sizeof(d.event_id), "%s", event_id);
	d.sink = (char *)"github";
	d.action = (char *)"open";
	d.state = s;
	d.next_attempt_at = at;
	d.created_at = d.updated_at = at;
	d.depends_on = dep;
	assert_int_equal(store_insert_delivery(st, &d), 0);
	return d.id;
}

/* A whole pass, the way the daemon runs it: every table in order, batch after batch of
 * limit rows. Returns the rows deleted; deleted[] gets them per table (may be NULL). */
static int64_t
prune_pass(struct store *st, int64_t cutoff, int64_t limit, int64_t *deleted,
    int *batches)
{
	int64_t total = 0;

	*batches = 0;
	for (int t = 0; t < STORE_PRUNE__COUNT; t++) {
		struct store_prune_batch b = { .cursor = 0, .limit = limit };

		if (deleted != NULL)
			deleted[t] = 0;
		do {
			assert_int_equal(store_prune_batch(st, (enum store_prune_table)t, cutoff,
			    &b), 0);
			(*batches)++;
			total += b.deleted + b.decisions;
			if (deleted != NULL)
				deleted[t] += b.deleted;
		} while (!b.done);
	}
	return total;
}

/* What goes and what stays, with foreign keys ON throughout. */
static void
test_prune_rules(void **state)
{
	struct fixture *f = *state;
	struct incident gone, firing, recent, waiting, chained, other;
	char e_gone[UTIL_ID_LEN + 1], e_firing[UTIL_ID_LEN + 1], e_recent[UTIL_ID_LEN + 1],
	    e_none[UTIL_ID_LEN + 1], e_waiting[UTIL_ID_LEN + 1], e_chain[UTIL_ID_LEN + 1],
	    e_traced[UTIL_ID_LEN + 1], e_new[UTIL_ID_LEN + 1];
	int64_t d_gone, d_firing, d_recent, d_waiting, d_a, d_b, deleted[STORE_PRUNE__COUNT];
	int batches;

	/* resolved long ago: everything of it goes */
	add_incident(f->st, &gone, "k/gone", "resolved", OLD, OLD + 1000);
	/* firing since long ago: kept whole, however old its rows */
	add_incident(f->st, &firing, "k/firing", "firing", OLD, OLD);
	/* resolved recently: its old event and finished delivery go, the incident stays */
	add_incident(f->st, &recent, "k/recent", "resolved", OLD, NEW);
	/* resolved long ago, but a delivery still waits (a retry): kept with what it names */
	add_incident(f->st, &waiting, "k/waiting", "resolved", OLD, OLD);
	/* resolved long ago, with a chain github -> label (sink after:) */
	add_incident(f->st, &chained, "k/chained", "resolved", OLD, OLD);
	/* resolved long ago; an event of it names the firing incident in its trace too */
	add_incident(f->st, &other, "k/other", "resolved", OLD, OLD);

	add_event(f->st, OLD, gone.id, gone.id, e_gone);
	add_event(f->st, OLD, firing.id, firing.id, e_firing);
	add_event(f->st, OLD, recent.id, recent.id, e_recent);
	add_event(f->st, OLD, NULL, NULL, e_none);              /* no route matched */
	add_event(f->st, OLD, waiting.id, waiting.id, e_waiting);
	add_event(f->st, OLD, chained.id, chained.id, e_chain);
	add_event(f->st, OLD, other.id, firing.id, e_traced);   /* continue: true */
	d_gone = add_delivery(f->st, &gone, e_gone, DELIVERY_DONE, OLD, 0);
	d_firing = add_delivery(f->st, &firing, e_firing, DELIVERY_DONE, OLD, 0);
	d_recent = add_delivery(f->st, &recent, e_recent, DELIVERY_FAILED, OLD, 0);
	d_waiting = add_delivery(f->st, &waiting, e_waiting, DELIVERY_PENDING, OLD, 0);
	d_a = add_delivery(f->st, &chained, e_chain, DELIVERY_DONE, OLD, 0);
	d_b = add_delivery(f->st, &chained, e_chain, DELIVERY_CANCELLED, OLD, d_a);
	add_event(f->st, NEW, NULL, NULL, e_new);               /* young: stays */
	assert_int_equal(count(f, "SELECT count(*) FROM events", NULL), 8);

	assert_true(prune_pass(f->st, CUTOFF, 3, deleted, &batches) > 0);
	assert_int_equal(deleted[STORE_PRUNE_DELIVERIES], 3);     /* gone, recent, the chain's end */
	assert_int_equal(deleted[STORE_PRUNE_EVENTS], 3);         /* gone, recent, none */
	assert_int_equal(deleted[STORE_PRUNE_REQUESTS], 3);
	assert_int_equal(deleted[STORE_PRUNE_INCIDENTS], 1);      /* gone */

	assert_false(has(f, "incidents", gone.id));
	assert_false(has(f, "events", e_gone));
	assert_false(has_delivery(f, d_gone));
	assert_int_equal(count(f, "SELECT count(*) FROM decisions WHERE event_id = ?1", e_gone),
	    0);
	assert_true(has(f, "incidents", firing.id));
	assert_true(has(f, "events", e_firing));
	assert_true(has_delivery(f, d_firing));
	assert_int_equal(count(f, "SELECT count(*) FROM decisions WHERE event_id = ?1",
	    e_firing), 2);
	assert_true(has(f, "incidents", recent.id));
	assert_false(has(f, "events", e_recent));
	assert_false(has_delivery(f, d_recent));
	assert_false(has(f, "events", e_none));
	assert_true(has(f, "incidents", waiting.id));
	assert_true(has(f, "events", e_waiting));
	assert_true(has_delivery(f, d_waiting));
	/* a chain goes from its end: the label's delivery first, the github one next pass */
	assert_true(has_delivery(f, d_a));
	assert_false(has_delivery(f, d_b));
	assert_true(has(f, "events", e_chain));
	assert_true(has(f, "events", e_traced));
	assert_true(has(f, "incidents", other.id));
	assert_true(has(f, "events", e_new));
	/* every event kept keeps its request */
	assert_int_equal(count(f, "SELECT count(*) FROM events AS e LEFT JOIN requests AS r"
	    " ON r.id = e.request_id WHERE r.id IS NULL", NULL), 0);

	/* the next pass takes the rest of the chain, then its event and incident */
	assert_true(prune_pass(f->st, CUTOFF, 3, deleted, &batches) > 0);
	assert_false(has_delivery(f, d_a));
	assert_false(has(f, "events", e_chain));
	assert_false(has(f, "incidents", chained.id));
	/* and then nothing more: a pass over a pruned ledger deletes nothing */
	assert_int_equal(prune_pass(f->st, CUTOFF, 3, NULL, &batches), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM events", NULL), 4);

	/* once the firing incident resolves (and its rows are old), it goes too; the event
	 * whose trace named it with it */
	free(firing.state);
	firing.state = strdup("resolved");
	firing.resolved_at = OLD + 2000;
	firing.updated_at = OLD + 2000;
	assert_int_equal(store_put_incident(f->st, &firing), 0);
	assert_true(prune_pass(f->st, CUTOFF, 3, NULL, &batches) > 0);
	assert_false(has(f, "incidents", firing.id));
	assert_false(has(f, "events", e_firing));
	assert_false(has(f, "events", e_traced));
	assert_false(has(f, "incidents", other.id));
	assert_true(has(f, "events", e_waiting));
	assert_true(has(f, "events", e_new));
	assert_int_equal(dangling(f), 0);
	incident_clear(&gone);
	incident_clear(&firing);
	incident_clear(&recent);
	incident_clear(&waiting);
	incident_clear(&chained);
	incident_clear(&other);
}

/* An inhibitor row (inhibit_rules) names its incident: an old resolved incident that one
 * still names is kept, and the batch that holds it still prunes its neighbours. (Rows of a
 * resolved incident are normally cleared; one is left when the rules went away in a
 * reload before it resolved.) */
static void
test_prune_inhibitor(void **state)
{
	struct fixture *f = *state;
	struct incident named, plain;
	int64_t deleted[STORE_PRUNE__COUNT];
	int batches;

	add_incident(f->st, &named, "k/named", "resolved", OLD, OLD);
	add_incident(f->st, &plain, "k/plain", "resolved", OLD, OLD);
	assert_int_equal(store_inhibitor_set(f->st, "{\"rule\":1}", named.id, "[]", OLD), 0);
	prune_pass(f->st, CUTOFF, 8, deleted, &batches);
	assert_int_equal(deleted[STORE_PRUNE_INCIDENTS], 1);
	assert_true(has(f, "incidents", named.id));
	assert_false(has(f, "incidents", plain.id));
	assert_int_equal(dangling(f), 0);
	incident_clear(&named);
	incident_clear(&plain);
}

/* Every prune statement reads the table it prunes by the batch's rowid range, whatever
 * indexes the table has: a batch's cost follows its window, not the table (SQLite's
 * plan for the deliveries went through deliveries_due and walked every finished one). */
static void
test_prune_plans(void **state)
{
	static const struct { enum store_stmt_id id; const char *search; } plans[] = {
		{ STMT_PRUNE_DELIVERIES, "SEARCH p " },
		{ STMT_PRUNE_TRACES, "SEARCH e " },
		{ STMT_PRUNE_EVENTS, "SEARCH e " },
		{ STMT_PRUNE_REQUESTS, "SEARCH r " },
		{ STMT_PRUNE_INCIDENTS, "SEARCH i " },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		sqlite3_stmt *eqp = NULL;
		char sql[4096], found[256] = "";

		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", store_stmt_sql(f->st, plans[i].id));
		assert_int_equal(sqlite3_prepare_v2(db_sqlite_handle(f->st->db), sql, -1, &eqp, NULL), SQLITE_OK);
		while (sqlite3_step(eqp) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(eqp, 3);

			if (detail != NULL && strncmp(detail, plans[i].search,
			    strlen(plans[i].search)) == 0)
				snprintf(found, sizeof(found), "%s", detail);
		}
		sqlite3_finalize(eqp);
		if (strstr(found, "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)") == NULL)
			fail_msg("statement %d reads its table as '%s'", (int)plans[i].id, found);
	}
}

/* The size of the daemon's batches (prunesize.h): quick batches that delete nothing do not
 * grow it past what the assumed cost of a row affords (a window of old rows that stay, then
 * one of rows that all go, must not make a long batch); a measured cost takes over; a slow
 * batch halves it; it stays within its bounds. */
static void
test_prune_sizes(void **state)
{
	struct prunesize ps;

	(void)state;
	prunesize_init(&ps);
	assert_int_equal(ps.limit, PRUNESIZE_MIN);
	for (int i = 0; i < 50; i++)
		prunesize_update(&ps, 0, 100);
	assert_int_equal(ps.limit, (int64_t)(PRUNESIZE_TARGET_US / PRUNESIZE_PRIOR_US));
	prunesize_update(&ps, 20, 200);             /* 10 us a row */
	assert_true(ps.row_us > 9.9 && ps.row_us < 10.1);
	for (int i = 0; i < 50; i++)
		prunesize_update(&ps, 0, 100);
	assert_int_equal(ps.limit, 200);            /* 2 ms at 10 us a row */
	prunesize_update(&ps, 0, 5000);             /* a slow batch */
	assert_int_equal(ps.limit, 100);
	prunesize_update(&ps, 16, 32000);           /* rows turn expensive: the minimum */
	assert_int_equal(ps.limit, PRUNESIZE_MIN);
	prunesize_init(&ps);
	ps.row_us = 0.1;                            /* cheap rows: the maximum */
	for (int i = 0; i < 20; i++)
		prunesize_update(&ps, 0, 100);
	assert_int_equal(ps.limit, PRUNESIZE_MAX);
}

/* A batch looks at `limit` rows at most, oldest first, and the walk stops at the first
 * window that starts at the cutoff instead of reading the young rows. */
static void
test_prune_batches(void **state)
{
	struct fixture *f = *state;
	struct store_prune_batch b = { .cursor = 0, .limit = 8 };
	char id[UTIL_ID_LEN + 1];
	int64_t deleted[STORE_PRUNE__COUNT];
	int batches = 0, n = 0;

	assert_int_equal(store_begin(f->st), 0);
	for (int i = 0; i < 50; i++)
		add_event(f->st, OLD + i, NULL, NULL, id);
	for (int i = 0; i < 30; i++)
		add_event(f->st, NEW + i, NULL, NULL, id);
	assert_int_equal(store_commit(f->st), 0);

	assert_int_equal(store_prune_batch(f->st, STORE_PRUNE_EVENTS, CUTOFF, &b), 0);
	assert_int_equal(b.deleted, 8);
	assert_int_equal(b.decisions, 16);
	assert_false(b.done);
	assert_true(b.cursor > 0);
	assert_int_equal(count(f, "SELECT count(*) FROM events", NULL), 72);
	do {
		assert_int_equal(store_prune_batch(f->st, STORE_PRUNE_EVENTS, CUTOFF, &b), 0);
		assert_true(b.deleted <= 8);
		n++;
	} while (!b.done);
	/* 42 old rows left: 5 full windows, the 6th holds the last 2 old and 6 young rows,
	 * the 7th starts young and ends the walk: the other young rows are never read */
	assert_int_equal(n, 7);
	assert_int_equal(count(f, "SELECT count(*) FROM events", NULL), 30);
	assert_int_equal(count(f, "SELECT count(*) FROM decisions", NULL), 60);

	/* a bad table or limit changes nothing */
	b.limit = 0;
	assert_int_equal(store_prune_batch(f->st, STORE_PRUNE_EVENTS, CUTOFF, &b), -EINVAL);
	b.limit = 8;
	assert_int_equal(store_prune_batch(f->st, STORE_PRUNE__COUNT, CUTOFF, &b), -EINVAL);

	/* the requests of the pruned events follow in the next phase */
	assert_int_equal(prune_pass(f->st, CUTOFF, 8, deleted, &batches), 0 + 50);
	assert_int_equal(deleted[STORE_PRUNE_REQUESTS], 50);
	assert_int_equal(count(f, "SELECT count(*) FROM requests", NULL), 30);
}

/* A pass inside a transaction of the caller's is refused: a batch is its own. */
static void
test_prune_own_transaction(void **state)
{
	struct fixture *f = *state;
	struct store_prune_batch b = { .cursor = 0, .limit = 8 };
	char id[UTIL_ID_LEN + 1];

	add_event(f->st, OLD, NULL, NULL, id);
	assert_int_equal(store_begin(f->st), 0);
	assert_true(store_prune_batch(f->st, STORE_PRUNE_EVENTS, CUTOFF, &b) < 0);
	assert_int_equal(store_rollback(f->st), 0);
	assert_true(has(f, "events", id));
	assert_int_equal(store_prune_batch(f->st, STORE_PRUNE_EVENTS, CUTOFF, &b), 0);
	assert_false(has(f, "events", id));
}

/* A new ledger has incremental auto-vacuum: the pages pruning frees go back to the file
 * system, a step at a time. */
static void
test_vacuum(void **state)
{
	struct fixture *f = *state;
	struct store_ledger_stats before, after;
	char id[UTIL_ID_LEN + 1];
	int64_t left = -1, pages;
	int batches, steps = 0;

	assert_int_equal(store_begin(f->st), 0);
	for (int i = 0; i < 2000; i++)
		add_event(f->st, OLD + i, NULL, NULL, id);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_ledger_stats(f->st, &before), 0);
	assert_true(before.incremental_vacuum);
	assert_true(before.page_size > 0);
	assert_true(before.wal_bytes > 0);
	pages = before.pages;
	assert_int_equal(prune_pass(f->st, CUTOFF, 4096, NULL, &batches), 2000 * 4);
	assert_int_equal(store_ledger_stats(f->st, &after), 0);
	assert_true(after.free_pages > 32);        /* more than one step's worth */
	do {
		assert_int_equal(store_vacuum_step(f->st, &left), 0);
		steps++;
	} while (left > 0 && steps < 100);
	assert_int_equal(left, 0);
	assert_true(steps > 1);
	assert_int_equal(store_ledger_stats(f->st, &after), 0);
	assert_int_equal(after.free_pages, 0);
	assert_true(after.pages < pages / 2);
}

/* A ledger created without auto-vacuum is left as it is: pages stay free for reuse. */
static void
test_vacuum_old_ledger(void **state)
{
	struct fixture *f = *state;
	struct store_ledger_stats ss;
	sqlite3 *db = NULL;
	char err[256], id[UTIL_ID_LEN + 1];
	int64_t left = -1;
	int batches;

	store_close(f->st);
	f->st = NULL;
	unlink(f->path);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);   /* an older incidentd */
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE x (y)",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->path, &f->st, err, sizeof(err)), 0);
	assert_int_equal(store_ledger_stats(f->st, &ss), 0);
	assert_false(ss.incremental_vacuum);
	assert_int_equal(store_begin(f->st), 0);
	for (int i = 0; i < 300; i++)
		add_event(f->st, OLD + i, NULL, NULL, id);
	assert_int_equal(store_commit(f->st), 0);
	assert_true(prune_pass(f->st, CUTOFF, 4096, NULL, &batches) > 0);
	assert_int_equal(store_vacuum_step(f->st, &left), 0);
	assert_int_equal(store_ledger_stats(f->st, &ss), 0);
	assert_true(ss.free_pages > 0);
	assert_int_equal(left, ss.free_pages);
}

int
main(void)
{
	struct CMUnitTest tests[] = {
		FIXTURE_BOTH(test_prune_rules),
		FIXTURE_BOTH(test_prune_inhibitor),
		/* SQLite's EXPLAIN QUERY PLAN (its planner took the wrong index) */
		FIXTURE_ON(sqlite, test_prune_plans),
		cmocka_unit_test(test_prune_sizes),
		FIXTURE_BOTH(test_prune_batches),
		FIXTURE_BOTH(test_prune_own_transaction),
		/* the file's free pages and incremental auto-vacuum: PostgreSQL's autovacuum
		 * gives space back by itself */
		FIXTURE_ON(sqlite, test_vacuum),
		FIXTURE_ON(sqlite, test_vacuum_old_ledger),
	};

	return fixture_run("test_prune", tests, sizeof(tests) / sizeof(tests[0]));
}
