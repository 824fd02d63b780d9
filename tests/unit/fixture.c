/* fixture.c - the ledger the store unit suites run each test against (fixture.h). */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture_backend fixture_sqlite = { DB_SQLITE, NULL };
struct fixture_backend fixture_pg = { DB_PG, NULL };

static const char *fixture_suite = "test_store";    /* names the temporary directories */

/* Make the PostgreSQL database empty: the schema public with everything in it dropped and
 * made again (faster than a database per test, and nothing a failed test left over
 * survives). Returns 0 or -1. */
static int
pg_reset(const char *target)
{
	struct db *db = NULL;
	char err[256];
	int rc;

	if (db_open(target, DB_PG, &db, err, sizeof(err)) != 0) {
		print_error("db_open: %s\n", err);
		return -1;
	}
	rc = db_exec(db, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
	if (rc != 0)
		print_error("resetting the schema: %s\n", db_errmsg(db));
	db_close(db);
	return rc == 0 ? 0 : -1;
}

/* Remove the SQLite ledger's files and the directories fixture_open made. */
static void
remove_sqlite_files(struct fixture *f)
{
	static const char *const suffix[] = { "", "-journal", "-wal", "-shm" };
	char p[450];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->sub);
	snprintf(p, sizeof(p), "%s/var", f->dir);
	rmdir(p);
	rmdir(f->dir);
}

int
fixture_store_open(struct fixture *f, struct store **out, char *err, size_t errlen)
{
	/* a URI through store_open(), as the daemon's --db; keyword/value through
	 * store_open_pg(), as ledger.url */
	if (f->be->kind == DB_PG && !db_target_is_pg(f->target))
		return store_open_pg(f->target, out, err, errlen);
	return store_open(f->target, out, err, errlen);
}

int
fixture_open(struct fixture *f, const struct fixture_backend *be)
{
	const char *tmp = getenv("TMPDIR");
	char err[256];

	f->be = be;
	if (be->kind == DB_SQLITE) {
		snprintf(f->dir, sizeof(f->dir), "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
		    fixture_suite);
		if (mkdtemp(f->dir) == NULL) {
			print_error("mkdtemp %s failed\n", f->dir);
			f->dir[0] = '\0';
			return -1;
		}
		/* the parent directories do not exist yet: store_open must create them */
		snprintf(f->sub, sizeof(f->sub), "%s/var/lib", f->dir);
		snprintf(f->path, sizeof(f->path), "%s/ledger.db", f->sub);
		f->target = f->path;
	} else {
		if (be->target == NULL || pg_reset(be->target) != 0)
			return -1;
		f->target = be->target;
	}
	if (fixture_store_open(f, &f->st, err, sizeof(err)) != 0) {
		print_error("store_open: %s\n", err);
		fixture_close(f);
		return -1;
	}
	return 0;
}

void
fixture_close(struct fixture *f)
{
	store_close(f->st);
	f->st = NULL;
	if (f->be != NULL && f->be->kind == DB_SQLITE && f->dir[0] != '\0')
		remove_sqlite_files(f);
	f->dir[0] = '\0';
}

void
fixture_reopen(struct fixture *f)
{
	char err[256];

	store_close(f->st);
	f->st = NULL;
	if (fixture_store_open(f, &f->st, err, sizeof(err)) != 0)
		fail_msg("store_open again: %s", err);
}

int
fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (fixture_open(f, *state) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

int
fixture_teardown(void **state)
{
	struct fixture *f = *state;

	fixture_close(f);
	free(f);
	return 0;
}

bool
fixture_is_pg(const struct fixture *f)
{
	return f->be->kind == DB_PG;
}

struct db *
fixture_connect(struct fixture *f)
{
	struct db *db = NULL;
	char err[256];

	if (db_open(f->target, f->be->kind, &db, err, sizeof(err)) != 0)
		fail_msg("db_open: %s", err);
	return db;
}

/* Open a connection of our own to f's ledger and prepare sql with ?1 = arg (if not NULL);
 * fails the test when that fails. */
static struct db_stmt *
side_prepare(struct fixture *f, const char *sql, const char *arg, struct db **db)
{
	struct db_stmt *s = NULL;

	*db = fixture_connect(f);
	if (db_prepare(*db, sql, &s) != 0 || (arg != NULL && db_bind_text(s, 1, arg) != 0)) {
		print_error("%s: %s\n", sql, db_errmsg(*db));
		db_finalize(s);
		db_close(*db);
		fail();
	}
	return s;
}

/* Step s; fails the test (closing s and db) on an error. */
static int
side_step(struct db *db, struct db_stmt *s, const char *sql)
{
	int rc = db_step(s);

	if (rc < 0) {
		print_error("%s: %s\n", sql, db_errmsg(db));
		db_finalize(s);
		db_close(db);
		fail();
	}
	return rc;
}

int64_t
fixture_int(struct fixture *f, const char *sql, const char *arg)
{
	struct db *db = NULL;
	struct db_stmt *s = side_prepare(f, sql, arg, &db);
	int64_t v = -1;

	if (side_step(db, s, sql) == DB_ROW)
		v = db_column_int64(s, 0);
	db_finalize(s);
	db_close(db);
	return v;
}

char *
fixture_text(struct fixture *f, const char *sql, const char *arg)
{
	struct db *db = NULL;
	struct db_stmt *s = side_prepare(f, sql, arg, &db);
	char *v = NULL;

	if (side_step(db, s, sql) == DB_ROW && db_column_text(s, 0) != NULL) {
		v = strdup(db_column_text(s, 0));
		assert_non_null(v);
	}
	db_finalize(s);
	db_close(db);
	return v;
}

int64_t
fixture_exec(struct fixture *f, const char *sql, const char *arg)
{
	struct db *db = NULL;
	struct db_stmt *s = side_prepare(f, sql, arg, &db);
	int64_t n;

	while (side_step(db, s, sql) == DB_ROW)
		;
	n = db_changes(s);
	db_finalize(s);
	db_close(db);
	return n;
}

int
fixture_run(const char *suite, struct CMUnitTest *tests, size_t n)
{
	const char *pg = getenv("INCIDENTD_TEST_PG");
	size_t kept = 0;

	fixture_suite = suite;
	if (pg != NULL && *pg != '\0') {
		fixture_pg.target = pg;
		kept = n;
	} else {
		for (size_t i = 0; i < n; i++)
			if (tests[i].initial_state != &fixture_pg)
				tests[kept++] = tests[i];
		printf("# INCIDENTD_TEST_PG is not set: the PostgreSQL half does not run here "
		    "(tests/integration/test_units_pg.py runs it against a server of its own)\n");
		fflush(stdout);
	}
	return _cmocka_run_group_tests(suite, tests, kept, NULL, NULL);
}
