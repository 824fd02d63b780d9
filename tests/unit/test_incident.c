/* test_incident.c - what events do to incidents and the outbox, with an injected clock
 * (explicit times, no sleeping): for windows, recovery cancelling a hold, repeat_interval,
 * flap hold-down, silences, time intervals and the storm guard. Each test runs on SQLite,
 * and on PostgreSQL too when INCIDENTD_TEST_PG is set (fixture.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "fixture.h"
#include "incident.h"
#include "store.h"

#define T0 1770692472000LL          /* 2026-02-10T03:01:12Z */
#define MIN 60000LL

struct fx {
	struct fixture lg;
	struct config *cfg;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (fixture_open(&f->lg, *state) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	fixture_close(&f->lg);
	config_destroy(f->cfg);
	free(f);
	return 0;
}

static void
use_config(struct fx *f, const char *routes)
{
	char yaml[2048], err[512];

	snprintf(yaml, sizeof(yaml), "sinks:\n  s: { plugin: log }\nroutes:\n%s", routes);
	if (config_load_string(yaml, "t.yaml", &f->cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

/* Apply a firing/resolved event for app at time at (ms). */
static void
apply(struct fx *f, const char *status, const char *app, int64_t at)
{
	struct ievent *ev = ievent_new("argocd");
	char sha[65];
	int64_t req = 0;
	int n = 0;

	assert_non_null(ev);
	assert_int_equal(ievent_set(&ev->type, "deployment.degraded"), 0);
	assert_int_equal(ievent_set(&ev->status, status), 0);
	assert_int_equal(ievent_set(&ev->cluster, "c"), 0);
	assert_int_equal(ievent_set(&ev->namespace, "n"), 0);
	assert_int_equal(ievent_set(&ev->app, app), 0);
	assert_int_equal(ievent_set(&ev->summary, app), 0);
	ev->received_at = ev->occurred_at = at;
	ev->payload = json_object();
	snprintf(sha, sizeof(sha), "%s-%lld", ev->id, (long long)at);
	assert_int_equal(store_begin(f->lg.st), 0);
	assert_int_equal(store_insert_request(f->lg.st, "argocd", at, sha, NULL, &req), 0);
	assert_int_equal(incident_apply(f->lg.st, f->cfg, ev, req, at, &n, NULL, NULL), 0);
	assert_int_equal(store_commit(f->lg.st), 0);
	ievent_destroy(ev);
}

/* Apply a firing/resolved Alertmanager-like event: alertname and cluster as labels and
 * fields, its own incident per (alertname, cluster, app). */
static void
apply_alert(struct fx *f, const char *status, const char *alertname, const char *cluster,
    const char *app, int64_t at)
{
	struct ievent *ev = ievent_new("alertmanager");
	char fp[128];
	int64_t req = 0;
	int n = 0;

	assert_non_null(ev);
	snprintf(fp, sizeof(fp), "%s/%s/%s", alertname, cluster, app);
	assert_int_equal(ievent_set(&ev->type, "alert.firing"), 0);
	assert_int_equal(ievent_set(&ev->status, status), 0);
	assert_int_equal(ievent_set(&ev->cluster, cluster), 0);
	assert_int_equal(ievent_set(&ev->app, app), 0);
	assert_int_equal(ievent_set(&ev->summary, alertname), 0);
	assert_int_equal(ievent_set(&ev->fingerprint, fp), 0);
	assert_int_equal(json_object_set_new(ev->labels, "alertname", json_string(alertname)), 0);
	ev->received_at = ev->occurred_at = at;
	assert_int_equal(store_begin(f->lg.st), 0);
	assert_int_equal(store_insert_request(f->lg.st, "alertmanager", at, ev->id, NULL, &req),
	    0);
	assert_int_equal(incident_apply(f->lg.st, f->cfg, ev, req, at, &n, NULL, NULL), 0);
	assert_int_equal(store_commit(f->lg.st), 0);
	ievent_destroy(ev);
}

/* How many decision rows of outcome the ledger has. */
static int
count_outcome(struct fx *f, const char *outcome)
{
	return (int)fixture_int(&f->lg, "SELECT count(*) FROM decisions WHERE outcome = ?1",
	    outcome);
}

/* The deliveries of app's incident (or of key when app starts with "storm/") as
 * "action:state:due-offset-in-s:held" joined by spaces. */
static void
expect_deliveries(struct fx *f, const char *app, int64_t base, const char *want)
{
	struct db *db = fixture_connect(&f->lg);
	struct db_stmt *s = NULL;
	char got[1024] = "";
	size_t len = 0;
	int rc;

	assert_int_equal(db_prepare(db, "SELECT d.action, d.state, d.next_attempt_at, "
	    "d.requires_firing FROM deliveries d JOIN incidents i ON i.id = d.incident_id "
	    "WHERE i.app = ?1 OR i.key = ?1 ORDER BY d.id", &s), 0);
	assert_int_equal(db_bind_text(s, 1, app), 0);
	while ((rc = db_step(s)) == DB_ROW) {
		int64_t due = 0;

		assert_int_equal(util_parse_time(db_column_text(s, 2), &due), 0);
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s:%s:%lld%s",
		    len ? " " : "", db_column_text(s, 0), db_column_text(s, 1),
		    (long long)((due - base) / 1000), db_column_int64(s, 3) ? ":held" : "");
		assert_true(len < sizeof(got));
	}
	assert_int_equal(rc, DB_DONE);
	db_finalize(s);
	db_close(db);
	assert_string_equal(got, want);
}

/* Mark every pending delivery done at time at (as if the dispatcher had run them). */
static void
deliver_all(struct fx *f, int64_t at)
{
	char when[40];

	util_format_time(at, when, sizeof(when));
	fixture_exec(&f->lg, "UPDATE deliveries SET state = 'done', updated_at = ?1 "
	    "WHERE state = 'pending'", when);
}

static void
test_for_window(void **state)
{
	struct fx *f = *state;

	use_config(f, "  - { name: r, for: 2m, sinks: [s] }\n");
	apply(f, "firing", "a", T0);
	expect_deliveries(f, "a", T0, "open:pending:120:held");
	/* an update during the hold folds into it */
	apply(f, "firing", "a", T0 + MIN);
	expect_deliveries(f, "a", T0, "open:pending:120:held");
	/* recovery within the window: the hold is cancelled, no resolve */
	apply(f, "resolved", "a", T0 + MIN + 1000);
	expect_deliveries(f, "a", T0, "open:cancelled:120:held");
	/* still failing after the window: delivered then (the dispatcher checks the state) */
	apply(f, "firing", "b", T0);
	deliver_all(f, T0 + 2 * MIN);
	apply(f, "resolved", "b", T0 + 3 * MIN);
	expect_deliveries(f, "b", T0, "open:done:120:held resolve:pending:180");
}

static void
test_repeat_and_flap(void **state)
{
	struct fx *f = *state;

	use_config(f, "  - { name: r, repeat_interval: 1h, flap_window: 10m, sinks: [s] }\n");
	apply(f, "firing", "a", T0);
	deliver_all(f, T0);
	apply(f, "firing", "a", T0 + 30 * MIN);          /* within 1h: skipped */
	apply(f, "firing", "a", T0 + 61 * MIN);          /* after 1h: sent */
	deliver_all(f, T0 + 61 * MIN);
	expect_deliveries(f, "a", T0, "open:done:0 update:done:3660");
	apply(f, "resolved", "a", T0 + 62 * MIN);
	deliver_all(f, T0 + 62 * MIN);
	/* fires again 5 min after resolving: flapping, held for flap_window */
	apply(f, "firing", "a", T0 + 67 * MIN);
	expect_deliveries(f, "a", T0, "open:done:0 update:done:3660 resolve:done:3720 "
	    "open:pending:4620:held");
	/* and flaps back within it: nothing at all */
	apply(f, "resolved", "a", T0 + 70 * MIN);
	expect_deliveries(f, "a", T0, "open:done:0 update:done:3660 resolve:done:3720 "
	    "open:cancelled:4620:held");
}

static void
test_silence_and_time_interval(void **state)
{
	struct fx *f = *state;
	json_t *m = json_pack("[s]", "app=~\"sil-.*\"");
	char id[UTIL_ID_LEN + 1];

	use_config(f, "  - { name: m, match: ['app = muted'], sinks: [s], "
	    "mute_time_intervals: [night] }\n  - { name: r, sinks: [s] }\n"
	    "time_intervals:\n  - { name: night, time_intervals: [ { times: [ "
	    "{ start_time: '00:00', end_time: '06:00' } ] } ] }\n");
	assert_int_equal(store_silence_add(f->lg.st, m, T0, T0 + 60 * MIN, "freeze", "me", id),
	    0);
	json_decref(m);
	apply(f, "firing", "sil-1", T0 + MIN);           /* silenced */
	apply(f, "firing", "sil-2", T0 + 61 * MIN);      /* after the silence */
	apply(f, "firing", "muted", T0);                 /* 03:01 UTC: in the night window */
	apply(f, "firing", "muted", T0 + 240 * MIN);     /* 07:01 UTC: outside */
	expect_deliveries(f, "sil-1", T0, "");
	expect_deliveries(f, "sil-2", T0, "open:pending:3660");
	expect_deliveries(f, "muted", T0, "update:pending:14400");
}

/* inhibit_rules: a firing ClusterUnreachable holds back new notifications of the other
 * incidents of its cluster (not of other clusters, not of itself); when it resolves, the
 * next event of a still-firing target notifies again. */
static void
test_inhibit(void **state)
{
	struct fx *f = *state;
	char err[512];

	if (config_load_string("sinks:\n  s: { plugin: log }\n"
	    "routes:\n  - name: r\n    sinks: [s]\n    group_by: [fingerprint]\n"
	    "inhibit_rules:\n  - source_matchers: ['labels.alertname = ClusterUnreachable']\n"
	    "    target_matchers: ['severity != info']\n    equal: [cluster]\n",
	    "t.yaml", &f->cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	apply_alert(f, "firing", "ClusterUnreachable", "west", "cluster", T0);
	/* the source matches its own target matchers too: it does not inhibit itself */
	expect_deliveries(f, "cluster", T0, "open:pending:0");
	apply_alert(f, "firing", "PodCrashLooping", "west", "aks-store", T0 + MIN);
	expect_deliveries(f, "aks-store", T0 + MIN, "");
	assert_int_equal(count_outcome(f, "inhibited"), 1);
	apply_alert(f, "firing", "PodCrashLooping", "east", "pets", T0 + MIN);
	expect_deliveries(f, "pets", T0 + MIN, "open:pending:0");
	/* the source resolves: the still-firing target notifies with its next event */
	apply_alert(f, "resolved", "ClusterUnreachable", "west", "cluster", T0 + 2 * MIN);
	apply_alert(f, "firing", "PodCrashLooping", "west", "aks-store", T0 + 3 * MIN);
	expect_deliveries(f, "aks-store", T0 + 3 * MIN, "update:pending:0");
	assert_int_equal(count_outcome(f, "inhibited"), 1);
	/* firing again, it inhibits again */
	apply_alert(f, "firing", "ClusterUnreachable", "west", "cluster", T0 + 4 * MIN);
	apply_alert(f, "firing", "PodCrashLooping", "west", "aks-store", T0 + 5 * MIN);
	expect_deliveries(f, "aks-store", T0 + 3 * MIN, "update:pending:0");
	assert_int_equal(count_outcome(f, "inhibited"), 2);
}

static void
test_storm(void **state)
{
	struct fx *f = *state;

	use_config(f, "  - { name: prod, max_new_incidents: '2 per 10m', sinks: [s] }\n");
	apply(f, "firing", "a", T0);
	apply(f, "firing", "b", T0 + 1000);
	apply(f, "firing", "c", T0 + 2000);
	apply(f, "firing", "d", T0 + 3000);
	/* outside the window a new incident notifies on its own again */
	apply(f, "firing", "e", T0 + 11 * MIN);
	expect_deliveries(f, "c", T0, "");
	expect_deliveries(f, "storm/prod", T0, "open:pending:2 update:pending:3");
	expect_deliveries(f, "e", T0, "open:pending:660");
	apply(f, "resolved", "c", T0 + 20 * MIN);
	expect_deliveries(f, "storm/prod", T0, "open:pending:2 update:pending:3");
	apply(f, "resolved", "d", T0 + 21 * MIN);
	expect_deliveries(f, "storm/prod", T0, "open:pending:2 update:pending:3 "
	    "resolve:pending:1260");
}

/* Where the trace is written (schema 14): the steps about the event's own incident go into
 * the event's row, the steps about another incident (a second route, continue: true) into
 * a traces row of their own; `decisions` shows them all, numbered in order, each with its
 * time and its incident. */
static void
test_trace_rows(void **state)
{
	struct fx *f = *state;
	char *ev, *first, *second, *steps;
	int64_t n, seq_rows;

	use_config(f, "  - { name: a, match: ['app = x'], group_by: [app], continue: true, "
	    "sinks: [s] }\n  - { name: b, group_by: [cluster], sinks: [s] }\n");
	apply(f, "firing", "x", T0);
	ev = fixture_text(&f->lg, "SELECT id FROM events", NULL);
	first = fixture_text(&f->lg, "SELECT id FROM incidents WHERE route = 'a'", NULL);
	second = fixture_text(&f->lg, "SELECT id FROM incidents WHERE route = 'b'", NULL);
	assert_non_null(ev);
	assert_non_null(first);
	assert_non_null(second);
	/* the event's row: its incident is the first route's, and so are its steps */
	steps = fixture_text(&f->lg, "SELECT incident_id FROM events", NULL);
	assert_non_null(steps);
	assert_string_equal(steps, first);
	free(steps);
	steps = fixture_text(&f->lg, "SELECT steps FROM events", NULL);
	assert_non_null(steps);
	assert_non_null(strstr(steps, "\"route\""));
	assert_non_null(strstr(steps, "Z\"]"));       /* each step ends with its time */
	free(steps);
	/* one traces row: what the event did to the second route's incident */
	assert_int_equal(fixture_int(&f->lg, "SELECT count(*) FROM traces", NULL), 1);
	assert_int_equal(fixture_int(&f->lg, "SELECT count(*) FROM traces WHERE incident_id = ?1",
	    second), 1);
	/* decisions: every step once, numbered 1..n without a gap, each with its time */
	n = fixture_int(&f->lg, "SELECT count(*) FROM decisions WHERE event_id = ?1", ev);
	assert_true(n >= 4);
	seq_rows = fixture_int(&f->lg, "SELECT count(DISTINCT seq) FROM decisions WHERE"
	    " event_id = ?1 AND seq BETWEEN 1 AND 99 AND at IS NOT NULL", ev);
	assert_int_equal(seq_rows, n);
	assert_int_equal(fixture_int(&f->lg, "SELECT max(seq) FROM decisions WHERE event_id = ?1",
	    ev), n);
	assert_true(fixture_int(&f->lg, "SELECT count(*) FROM decisions WHERE incident_id = ?1"
	    " AND step = 'delivery' AND outcome = 'scheduled'", first) == 1);
	assert_true(fixture_int(&f->lg, "SELECT count(*) FROM decisions WHERE incident_id = ?1"
	    " AND step = 'delivery' AND outcome = 'scheduled'", second) == 1);
	/* the references to the event were checked at the commit and hold */
	if (!fixture_is_pg(&f->lg))
		assert_int_equal(fixture_int(&f->lg, "SELECT count(*) FROM pragma_foreign_key_check",
		    NULL), 0);
	free(ev);
	free(first);
	free(second);
}

/* A burst while the sink has not been told yet: one update waits behind the open, and
 * each newer event takes its place (the sink hears the latest state once, not once per
 * event); an update that has started is left alone, and the next event writes a new one.
 * A chained sink's waiting update follows its parent's. */
static void
test_fold_updates(void **state)
{
	struct fx *f = *state;
	char err[512];

	if (config_load_string("sinks:\n  s: { plugin: log }\n  t: { plugin: log, after: s }\n"
	    "routes:\n  - { name: r, sinks: [s, t] }\n", "t.yaml", &f->cfg, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	apply(f, "firing", "a", T0);
	apply(f, "firing", "a", T0 + 1000);
	apply(f, "firing", "a", T0 + 2000);
	apply(f, "firing", "a", T0 + 3000);
	expect_deliveries(f, "a", T0, "open:pending:0 open:blocked:0 update:pending:1 "
	    "update:blocked:1");
	assert_int_equal(count_outcome(f, "folded"), 4);
	/* both waiting updates carry the newest event, the chain is intact */
	assert_int_equal(fixture_int(&f->lg, "SELECT count(*) FROM deliveries WHERE action ="
	    " 'update' AND event_id = (SELECT max(id) FROM events)", NULL), 2);
	assert_int_equal(fixture_int(&f->lg, "SELECT count(*) FROM deliveries AS t JOIN"
	    " deliveries AS s ON s.id = t.depends_on WHERE t.sink = 't' AND t.action = 'update'"
	    " AND s.sink = 's' AND s.action = 'update'", NULL), 1);
	/* s's update has started: the next event writes a new one for s (and t after it) */
	fixture_exec(&f->lg, "UPDATE deliveries SET attempts = 1 WHERE sink = 's' AND action ="
	    " 'update'", NULL);
	apply(f, "firing", "a", T0 + 4000);
	expect_deliveries(f, "a", T0, "open:pending:0 open:blocked:0 update:pending:1 "
	    "update:blocked:1 update:pending:4 update:blocked:4");
	assert_int_equal(count_outcome(f, "folded"), 4);
	/* the sink was told (both done): no update waits, the next event writes new ones */
	deliver_all(f, T0 + 5000);
	fixture_exec(&f->lg, "UPDATE deliveries SET state = 'done' WHERE state = 'blocked'", NULL);
	apply(f, "firing", "a", T0 + 6000);
	assert_int_equal(count_outcome(f, "folded"), 4);
	assert_int_equal(fixture_int(&f->lg, "SELECT count(*) FROM deliveries WHERE state ="
	    " 'pending' OR state = 'blocked'", NULL), 2);
}

int
main(void)
{
	struct CMUnitTest tests[] = {
		FIXTURE_TEST(sqlite, test_for_window, setup, teardown),
		FIXTURE_TEST(pg, test_for_window, setup, teardown),
		FIXTURE_TEST(sqlite, test_repeat_and_flap, setup, teardown),
		FIXTURE_TEST(pg, test_repeat_and_flap, setup, teardown),
		FIXTURE_TEST(sqlite, test_silence_and_time_interval, setup, teardown),
		FIXTURE_TEST(pg, test_silence_and_time_interval, setup, teardown),
		FIXTURE_TEST(sqlite, test_storm, setup, teardown),
		FIXTURE_TEST(pg, test_storm, setup, teardown),
		FIXTURE_TEST(sqlite, test_inhibit, setup, teardown),
		FIXTURE_TEST(pg, test_inhibit, setup, teardown),
		FIXTURE_TEST(sqlite, test_trace_rows, setup, teardown),
		FIXTURE_TEST(pg, test_trace_rows, setup, teardown),
		FIXTURE_TEST(sqlite, test_fold_updates, setup, teardown),
		FIXTURE_TEST(pg, test_fold_updates, setup, teardown),
	};

	return fixture_run("test_incident", tests, sizeof(tests) / sizeof(tests[0]));
}
