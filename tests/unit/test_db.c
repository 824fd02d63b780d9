/* test_db.c - the db.h contract, on each engine: numbered parameters (repeated, out of
 * order, left alone inside quotes and comments), binds of every kind, steps over 0/1/many
 * rows, changes, reset, errors mapped to errno with a one-line message, columns, scripts.
 *
 * Always against SQLite (a temporary file); against PostgreSQL too when INCIDENTD_TEST_PG
 * holds a libpq connection string of a server with password authentication
 * (tests/integration/test_units_pg.py starts one and runs this program with it). The
 * connection tests that need no server (errors never show the password) always run. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <libpq-fe.h>

#include "db.h"

struct backend {
	enum db_kind kind;
	const char *target;     /* PostgreSQL: INCIDENTD_TEST_PG; SQLite: made per test */
};

static struct backend be_sqlite = { DB_SQLITE, NULL };
static struct backend be_pg = { DB_PG, NULL };

struct fixture {
	const struct backend *be;
	char dir[256];
	char path[300];
	struct db *db;
	struct db *other;       /* a second session (closed first, so no lock it holds
	                         * outlives a failed test) */
};

#define TABLE "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, n BIGINT, note TEXT)"

static void
remove_sqlite_files(struct fixture *f)
{
	static const char *const suffix[] = { "", "-journal", "-wal", "-shm" };
	char p[400];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	const char *target;
	char err[256];

	if (f == NULL)
		return -1;
	f->be = *state;
	if (f->be->kind == DB_SQLITE) {
		snprintf(f->dir, sizeof(f->dir), "%s/test_db.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(f->dir) == NULL)
			goto fail;
		snprintf(f->path, sizeof(f->path), "%s/ledger.db", f->dir);
		target = f->path;
	} else {
		target = f->be->target;
	}
	if (db_open(target, f->be->kind, &f->db, err, sizeof(err)) != 0) {
		print_error("db_open: %s\n", err);
		goto fail;
	}
	if (db_kind_of(f->db) != f->be->kind) {
		print_error("db_open made the wrong kind of connection\n");
		goto fail;
	}
	if (db_exec(f->db, "DROP TABLE IF EXISTS t; " TABLE) != 0) {
		print_error("create table: %s\n", db_errmsg(f->db));
		goto fail;
	}
	*state = f;
	return 0;
fail:
	db_close(f->db);
	if (f->be->kind == DB_SQLITE && f->dir[0] != '\0')
		remove_sqlite_files(f);
	free(f);
	return -1;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	db_close(f->other);
	if (f->be->kind == DB_PG)
		db_exec(f->db, "DROP TABLE IF EXISTS t");
	db_close(f->db);
	if (f->be->kind == DB_SQLITE)
		remove_sqlite_files(f);
	free(f);
	return 0;
}

/* --- helpers ------------------------------------------------------------------------------ */

static struct db_stmt *
prep(struct db *db, const char *sql)
{
	struct db_stmt *s = NULL;
	int rc = db_prepare(db, sql, &s);

	if (rc != 0)
		print_error("prepare %s: %d %s\n", sql, rc, db_errmsg(db));
	assert_int_equal(rc, 0);
	assert_non_null(s);
	return s;
}

static void
exec_ok(struct db *db, const char *sql)
{
	int rc = db_exec(db, sql);

	if (rc != 0)
		print_error("exec %s: %d %s\n", sql, rc, db_errmsg(db));
	assert_int_equal(rc, 0);
}

/* The single integer a query without parameters answers. */
static int64_t
scalar(struct db *db, const char *sql)
{
	struct db_stmt *s = prep(db, sql);
	int64_t v;

	assert_int_equal(db_step(s), DB_ROW);
	v = db_column_int64(s, 0);
	assert_int_equal(db_step(s), DB_DONE);
	db_finalize(s);
	return v;
}

/* The single text a query without parameters answers (copied into buf). */
static const char *
scalar_text(struct db *db, const char *sql, char *buf, size_t len)
{
	struct db_stmt *s = prep(db, sql);

	assert_int_equal(db_step(s), DB_ROW);
	assert_non_null(db_column_text(s, 0));
	snprintf(buf, len, "%s", db_column_text(s, 0));
	assert_int_equal(db_step(s), DB_DONE);
	db_finalize(s);
	return buf;
}

static void
insert_row(struct db *db, int64_t id, const char *name, int64_t n)
{
	struct db_stmt *s = prep(db, "INSERT INTO t (id, name, n) VALUES (?1, ?2, ?3)");

	assert_int_equal(db_bind_int64(s, 1, id), 0);
	assert_int_equal(db_bind_text(s, 2, name), 0);
	assert_int_equal(db_bind_int64(s, 3, n), 0);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 1);
	db_finalize(s);
}

/* An engine's error message: present, one line. */
static void
assert_one_line_message(struct db *db, const char *contains)
{
	const char *m = db_errmsg(db);

	assert_non_null(m);
	assert_true(m[0] != '\0');
	assert_null(strchr(m, '\n'));
	if (contains != NULL && strcasestr(m, contains) == NULL) {
		print_error("message \"%s\" lacks \"%s\"\n", m, contains);
		fail();
	}
}

/* --- what needs no database ---------------------------------------------------------------- */

static void
test_target_is_pg(void **state)
{
	(void)state;
	assert_true(db_target_is_pg("postgresql://incidentd@db.example/ledger"));
	assert_true(db_target_is_pg("postgres://db.example/ledger?sslmode=verify-full"));
	assert_true(db_target_is_pg("PostgreSQL://db.example/ledger"));
	assert_true(db_target_is_pg("POSTGRES://db.example/ledger"));
	/* a keyword/value string is PostgreSQL only where the kind is given (ledger.url) */
	assert_false(db_target_is_pg("host=db.example dbname=ledger"));
	assert_false(db_target_is_pg("/var/lib/incidentd/incidentd.db"));
	assert_false(db_target_is_pg("incidentd.db"));
	assert_false(db_target_is_pg("var/postgresql://x.db"));
	assert_false(db_target_is_pg("postgresql:/x.db"));
	assert_false(db_target_is_pg("file:ledger.db?mode=ro"));
	assert_false(db_target_is_pg("postgresql.db"));
	assert_false(db_target_is_pg(""));
	assert_false(db_target_is_pg(NULL));
}

/* Connection strings that fail before any server answers: the message says what failed
 * and never quotes the password, whatever libpq's parser would echo. */
static void
test_pg_open_errors_hide_password(void **state)
{
	static const struct {
		const char *conninfo;
		int rc;                 /* 0: any negative errno */
		const char *says;
	} cases[] = {
		/* no server: libpq names the socket it tried */
		{ "host=/nonexistent-incidentd-test port=5432 user=u password=S3cr3tPw "
		  "connect_timeout=2", 0, "/nonexistent-incidentd-test" },
		{ "postgresql://u:S3cr3tPw@%2Fnonexistent-incidentd-test/ledger", 0,
		  "/nonexistent-incidentd-test" },
		/* libpq's URI parser quotes the token or the whole URI in these */
		{ "postgresql://u:S3cr3tPw%zz@localhost/ledger", -EINVAL, "connection string" },
		{ "postgresql://u:S3cr3tPw@[::1/ledger", -EINVAL, "connection string" },
		{ "postgresql://u@localhost/ledger?password=S3cr3tPw&bad", -EINVAL,
		  "connection string" },
		/* and the keyword/value parser the words after an unquoted space */
		{ "host=localhost password=S3cr3tPw S3cr3tTail", -EINVAL, "connection string" },
		{ "host=localhost password='S3cr3tPw", -EINVAL, "connection string" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct db *db = NULL;
		char err[512] = "";
		int rc = db_open(cases[i].conninfo, DB_PG, &db, err, sizeof(err));

		print_message("# %s -> %d %s\n", cases[i].conninfo[0] == 'h' ? "keyword/value" :
		    "URI", rc, err);
		assert_null(db);
		assert_true(rc < 0);
		if (cases[i].rc != 0)
			assert_int_equal(rc, cases[i].rc);
		assert_null(strstr(err, "S3cr3t"));
		assert_null(strchr(err, '\n'));
		if (strstr(err, cases[i].says) == NULL) {
			print_error("\"%s\" lacks \"%s\"\n", err, cases[i].says);
			fail();
		}
	}
}

/* --- the contract, on each engine ----------------------------------------------------------- */

static void
test_params_numbered(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;

	/* repeated and out of order: ?2 is the id and n, ?1 the name and the note */
	s = prep(f->db, "INSERT INTO t (id, name, n, note) VALUES (?2, ?1, ?2, ?1)");
	assert_int_equal(db_bind_text(s, 1, "alpha"), 0);
	assert_int_equal(db_bind_int64(s, 2, 7), 0);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 1);
	db_finalize(s);

	s = prep(f->db, "SELECT id, name, n, note FROM t WHERE n = ?2 AND name = ?1 AND id = ?2");
	assert_int_equal(db_bind_text(s, 1, "alpha"), 0);
	assert_int_equal(db_bind_int64(s, 2, 7), 0);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 7);
	assert_string_equal(db_column_text(s, 1), "alpha");
	assert_int_equal(db_column_int64(s, 2), 7);
	assert_string_equal(db_column_text(s, 3), "alpha");
	assert_int_equal(db_step(s), DB_DONE);
	db_finalize(s);

	/* two digits, and parameters the statement does not use (?1..?9) */
	s = prep(f->db, "SELECT name FROM t WHERE id = ?10");
	assert_int_equal(db_bind_int64(s, 10, 7), 0);
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal(db_column_text(s, 0), "alpha");
	assert_int_equal(db_step(s), DB_DONE);
	assert_true(db_bind_int64(s, 11, 7) < 0);
	db_finalize(s);
}

/* ?N inside a string literal, a quoted identifier or a comment is not a parameter. */
static void
test_params_quoted_left_alone(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;

	insert_row(f->db, 1, "one", 10);
	s = prep(f->db, "SELECT '?1 -- ''?2'' /* ?3 */' AS \"q?4\", name /* ?5 */ FROM t\n"
	    "-- ?6 ' \"\n"
	    "WHERE id = ?1 /* ' ?7 */");
	assert_true(db_bind_text(s, 2, "x") < 0);       /* the statement has ?1 only */
	assert_int_equal(db_bind_int64(s, 1, 1), 0);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_count(s), 2);
	assert_string_equal(db_column_name(s, 0), "q?4");
	assert_string_equal(db_column_text(s, 0), "?1 -- '?2' /* ?3 */");
	assert_string_equal(db_column_text(s, 1), "one");
	assert_int_equal(db_step(s), DB_DONE);
	db_finalize(s);
}

/* PostgreSQL: a parameter without a number (or ?0) is refused, with a message. */
static void
test_pg_params_unnumbered_refused(void **state)
{
	static const char *const bad[] = {
		"SELECT name FROM t WHERE id = ?",
		"SELECT name FROM t WHERE id = ?1 OR n = ?",
		"SELECT name FROM t WHERE id = ?0",
	};
	struct fixture *f = *state;
	struct db_stmt *s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = NULL;
		assert_int_equal(db_prepare(f->db, bad[i], &s), -EINVAL);
		assert_null(s);
		assert_one_line_message(f->db, "?");
	}
	/* a ? in a literal is fine */
	s = prep(f->db, "SELECT count(*) FROM t WHERE name = '?' OR id = ?1");
	db_finalize(s);
}

static void
test_bind_kinds(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;
	char buf[32];

	s = prep(f->db, "INSERT INTO t (id, name, n, note) VALUES (?1, ?2, ?3, ?4)");
	/* int64 extremes, text kept by pointer, text copied from a buffer overwritten later */
	assert_int_equal(db_bind_int64(s, 1, 1), 0);
	assert_int_equal(db_bind_text(s, 2, "plain"), 0);
	assert_int_equal(db_bind_int64(s, 3, INT64_MAX), 0);
	snprintf(buf, sizeof(buf), "first copy");
	assert_int_equal(db_bind_text_copy(s, 4, buf), 0);
	snprintf(buf, sizeof(buf), "copied");
	assert_int_equal(db_bind_text_copy(s, 4, buf), 0);     /* rebinding replaces */
	memset(buf, 'X', sizeof(buf) - 1);
	assert_int_equal(db_step(s), DB_DONE);
	db_reset(s);
	/* NULL three ways: bind_text(NULL), bind_null, never bound */
	assert_int_equal(db_bind_int64(s, 1, 2), 0);
	assert_int_equal(db_bind_text(s, 2, NULL), 0);
	assert_int_equal(db_bind_null(s, 3), 0);
	assert_int_equal(db_step(s), DB_DONE);
	db_reset(s);
	/* negative, the empty string (not NULL), UTF-8 */
	assert_int_equal(db_bind_int64(s, 1, -5), 0);
	assert_int_equal(db_bind_text(s, 2, ""), 0);
	assert_int_equal(db_bind_int64(s, 3, INT64_MIN), 0);
	assert_int_equal(db_bind_text_copy(s, 4, "gr\xc3\xbc\xc3\x9f" "e \xe2\x9c\x93"), 0);
	assert_int_equal(db_step(s), DB_DONE);
	/* out of range */
	assert_true(db_bind_int64(s, 0, 1) < 0);
	assert_true(db_bind_int64(s, 5, 1) < 0);
	assert_true(db_bind_text(s, 5, "x") < 0);
	assert_true(db_bind_null(s, 5) < 0);
	db_finalize(s);

	s = prep(f->db, "SELECT id, name, n, note FROM t ORDER BY id");
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), -5);
	assert_false(db_column_is_null(s, 1));
	assert_string_equal(db_column_text(s, 1), "");
	assert_int_equal(db_column_int64(s, 2), INT64_MIN);
	assert_string_equal(db_column_text(s, 3), "gr\xc3\xbc\xc3\x9f" "e \xe2\x9c\x93");

	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 1);
	assert_string_equal(db_column_text(s, 1), "plain");
	assert_int_equal(db_column_int64(s, 2), INT64_MAX);
	assert_string_equal(db_column_text(s, 2), "9223372036854775807");
	assert_string_equal(db_column_text(s, 3), "copied");

	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 2);
	for (int col = 1; col <= 3; col++) {
		assert_true(db_column_is_null(s, col));
		assert_null(db_column_text(s, col));
		assert_int_equal(db_column_int64(s, col), 0);
	}
	assert_int_equal(db_step(s), DB_DONE);
	db_finalize(s);
}

static void
test_steps_rows(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *ins, *sel;
	int64_t want;
	int rc;

	sel = prep(f->db, "SELECT id, name FROM t WHERE id >= ?1 ORDER BY id");
	/* no rows */
	assert_int_equal(db_bind_int64(sel, 1, 0), 0);
	assert_int_equal(db_step(sel), DB_DONE);
	db_reset(sel);
	/* one */
	insert_row(f->db, 1, "one", 1);
	assert_int_equal(db_bind_int64(sel, 1, 0), 0);
	assert_int_equal(db_step(sel), DB_ROW);
	assert_int_equal(db_column_int64(sel, 0), 1);
	assert_int_equal(db_step(sel), DB_DONE);
	db_reset(sel);
	/* many, in order */
	ins = prep(f->db, "INSERT INTO t (id, name) VALUES (?1, ?2)");
	for (int64_t id = 2; id <= 300; id++) {
		char name[32];

		snprintf(name, sizeof(name), "row %lld", (long long)id);
		assert_int_equal(db_bind_int64(ins, 1, id), 0);
		assert_int_equal(db_bind_text(ins, 2, name), 0);
		assert_int_equal(db_step(ins), DB_DONE);
		db_reset(ins);
	}
	db_finalize(ins);
	assert_int_equal(db_bind_int64(sel, 1, 0), 0);
	want = 1;
	while ((rc = db_step(sel)) == DB_ROW) {
		assert_int_equal(db_column_int64(sel, 0), want);
		want++;
	}
	assert_int_equal(rc, DB_DONE);
	assert_int_equal(want, 301);
	db_finalize(sel);
}

static void
test_changes(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;

	insert_row(f->db, 1, "a", 1);
	insert_row(f->db, 2, "b", 2);
	insert_row(f->db, 3, "c", 3);
	s = prep(f->db, "UPDATE t SET n = n + 1 WHERE id <= ?1");
	assert_int_equal(db_bind_int64(s, 1, 2), 0);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 2);
	db_reset(s);
	assert_int_equal(db_bind_int64(s, 1, 0), 0);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 0);
	db_finalize(s);
	s = prep(f->db, "DELETE FROM t");
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 3);
	db_finalize(s);
}

static void
test_reset_rerun(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;

	insert_row(f->db, 1, "a", 1);
	insert_row(f->db, 2, "b", 2);
	insert_row(f->db, 3, "c", 3);

	s = prep(f->db, "SELECT count(*) FROM t WHERE name = ?1");
	assert_int_equal(db_bind_text(s, 1, "b"), 0);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 1);
	db_reset(s);
	/* the reset cleared the binding: ?1 is NULL now and matches nothing */
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 0);
	assert_int_equal(db_step(s), DB_DONE);
	db_reset(s);
	db_finalize(s);

	/* reset in the middle of the rows: the next run starts again from the first */
	s = prep(f->db, "SELECT id FROM t ORDER BY id");
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 2);
	db_reset(s);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 1);
	db_reset(s);
	/* the rows a re-run sees are the table's at that time */
	exec_ok(f->db, "DELETE FROM t WHERE id = 1");
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 2);
	db_finalize(s);
	db_reset(NULL);
	db_finalize(NULL);
}

static void
test_duplicate_key(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;

	exec_ok(f->db, "CREATE UNIQUE INDEX t_name ON t (name)");
	insert_row(f->db, 1, "a", 1);
	s = prep(f->db, "INSERT INTO t (id, name) VALUES (?1, ?2)");
	/* the primary key */
	assert_int_equal(db_bind_int64(s, 1, 1), 0);
	assert_int_equal(db_bind_text(s, 2, "b"), 0);
	assert_int_equal(db_step(s), -EEXIST);
	assert_one_line_message(f->db, NULL);
	db_reset(s);
	/* a unique index */
	assert_int_equal(db_bind_int64(s, 1, 2), 0);
	assert_int_equal(db_bind_text(s, 2, "a"), 0);
	assert_int_equal(db_step(s), -EEXIST);
	assert_one_line_message(f->db, NULL);
	db_reset(s);
	/* the statement and the connection go on */
	assert_int_equal(db_bind_int64(s, 1, 2), 0);
	assert_int_equal(db_bind_text(s, 2, "b"), 0);
	assert_int_equal(db_step(s), DB_DONE);
	db_finalize(s);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM t"), 2);
	/* a script too */
	assert_int_equal(db_exec(f->db, "INSERT INTO t (id) VALUES (1)"), -EEXIST);
}

/* db_in_transaction: open after BEGIN, still open after a failed statement in it, closed
 * by COMMIT and ROLLBACK. */
static void
test_transactions(void **state)
{
	struct fixture *f = *state;

	assert_false(db_in_transaction(f->db));
	exec_ok(f->db, "BEGIN");
	assert_true(db_in_transaction(f->db));
	insert_row(f->db, 1, "a", 1);
	exec_ok(f->db, "COMMIT");
	assert_false(db_in_transaction(f->db));

	exec_ok(f->db, "BEGIN");
	insert_row(f->db, 2, "b", 2);
	assert_int_equal(db_exec(f->db, "INSERT INTO t (id) VALUES (1)"), -EEXIST);
	assert_true(db_in_transaction(f->db));
	exec_ok(f->db, "ROLLBACK");
	assert_false(db_in_transaction(f->db));
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM t"), 1);
}

static void
test_sql_errors(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s = NULL;

	assert_int_equal(db_prepare(f->db, "SELEC id FROM t", &s), -EIO);
	assert_null(s);
	assert_one_line_message(f->db, "syntax error");
	assert_int_equal(db_prepare(f->db, "SELECT id FROM no_such_table", &s), -EIO);
	assert_null(s);
	assert_one_line_message(f->db, "no_such_table");
	assert_int_equal(db_exec(f->db, "SELECT 1; SELEC 2"), -EIO);
	assert_one_line_message(f->db, "syntax error");
	/* the connection still works */
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM t"), 0);
}

static void
test_columns(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;

	insert_row(f->db, 42, "answer", -3);
	s = prep(f->db, "SELECT id, name AS label, n, count(*) OVER () AS total FROM t");
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_count(s), 4);
	assert_string_equal(db_column_name(s, 0), "id");
	assert_string_equal(db_column_name(s, 1), "label");
	assert_string_equal(db_column_name(s, 2), "n");
	assert_string_equal(db_column_name(s, 3), "total");
	assert_true(db_column_is_integer(s, 0));
	assert_false(db_column_is_integer(s, 1));
	assert_true(db_column_is_integer(s, 2));
	assert_true(db_column_is_integer(s, 3));
	assert_false(db_column_is_null(s, 0));
	assert_string_equal(db_column_text(s, 0), "42");
	assert_int_equal(db_column_int64(s, 2), -3);
	assert_string_equal(db_column_text(s, 2), "-3");
	assert_int_equal(db_column_int64(s, 3), 1);
	assert_string_equal(db_column_text(s, 1), "answer");
	assert_int_equal(db_step(s), DB_DONE);
	db_finalize(s);
}

static void
test_exec_script(void **state)
{
	struct fixture *f = *state;

	exec_ok(f->db, "INSERT INTO t (id, name) VALUES (1, 'a; b');\n"
	    "-- a comment; with a semicolon\n"
	    "INSERT INTO t (id, name) VALUES (2, 'it''s');\n"
	    "/* another; */ UPDATE t SET n = id * 10;\n"
	    "SELECT id FROM t;");
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM t"), 2);
	assert_int_equal(scalar(f->db, "SELECT sum(n) FROM t"), 30);
	exec_ok(f->db, "");
	exec_ok(f->db, "  -- nothing but a comment\n");
}

/* --- PostgreSQL only ----------------------------------------------------------------------- */

/* target with password replaced by pw (the keyword/value or the URI form). */
static void
with_password(const char *target, const char *pw, char *out, size_t len)
{
	if (strncasecmp(target, "postgres", 8) == 0 && strstr(target, "://") != NULL)
		snprintf(out, len, "%s%cpassword=%s", target, strchr(target, '?') ? '&' : '?',
		    pw);
	else
		snprintf(out, len, "%s password='%s'", target, pw);
}

static void
test_pg_wrong_password(void **state)
{
	struct fixture *f = *state;
	PQconninfoOption *opts;
	const char *right = NULL;
	char target[2048], err[512] = "";
	struct db *db = NULL;
	int rc;

	/* the right one, so that the test can tell it is not shown either */
	opts = PQconninfoParse(f->be->target, NULL);
	assert_non_null(opts);
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0)
			right = o->val;
	if (right == NULL || right[0] == '\0') {
		print_error("INCIDENTD_TEST_PG has no password: it must name a server with "
		    "password authentication\n");
		PQconninfoFree(opts);
		fail();
	}
	with_password(f->be->target, "Wr0ngPassw0rd", target, sizeof(target));
	rc = db_open(target, DB_PG, &db, err, sizeof(err));
	print_message("# wrong password -> %d %s\n", rc, err);
	if (rc == 0) {
		print_error("the server accepted a wrong password: INCIDENTD_TEST_PG must name "
		    "a server with password authentication\n");
		db_close(db);
		PQconninfoFree(opts);
		fail();
	}
	assert_null(db);
	assert_int_equal(rc, -ENOTCONN);
	assert_non_null(strstr(err, "password authentication failed"));
	assert_null(strstr(err, "Wr0ngPassw0rd"));
	assert_null(strstr(err, right));
	assert_null(strchr(err, '\n'));
	PQconninfoFree(opts);
}

/* The session: application_name incidentd unless the string names one, TimeZone UTC,
 * client_encoding UTF8. */
static void
test_pg_session(void **state)
{
	struct fixture *f = *state;
	char target[2048], err[512], buf[128];
	struct db *db = NULL;

	assert_string_equal(scalar_text(f->db, "SELECT current_setting('application_name')",
	    buf, sizeof(buf)), "incidentd");
	assert_string_equal(scalar_text(f->db, "SELECT current_setting('TimeZone')",
	    buf, sizeof(buf)), "UTC");
	assert_string_equal(scalar_text(f->db, "SELECT current_setting('client_encoding')",
	    buf, sizeof(buf)), "UTF8");

	if (strncasecmp(f->be->target, "postgres", 8) == 0 && strstr(f->be->target, "://"))
		snprintf(target, sizeof(target), "%s%capplication_name=replica-2",
		    f->be->target, strchr(f->be->target, '?') ? '&' : '?');
	else
		snprintf(target, sizeof(target), "%s application_name=replica-2", f->be->target);
	assert_int_equal(db_open(target, DB_PG, &db, err, sizeof(err)), 0);
	assert_string_equal(scalar_text(db, "SELECT current_setting('application_name')",
	    buf, sizeof(buf)), "replica-2");
	db_close(db);
}

/* PostgreSQL: after an error inside a transaction every statement fails until ROLLBACK
 * (SQLite rolls back only the statement). */
static void
test_pg_aborted_transaction(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s = NULL;

	insert_row(f->db, 1, "a", 1);
	s = prep(f->db, "SELECT count(*) FROM t");
	exec_ok(f->db, "BEGIN");
	assert_int_equal(db_exec(f->db, "INSERT INTO t (id) VALUES (1)"), -EEXIST);
	assert_true(db_in_transaction(f->db));
	assert_int_equal(db_step(s), -EIO);
	assert_one_line_message(f->db, "25P02");
	db_reset(s);
	exec_ok(f->db, "ROLLBACK");
	assert_false(db_in_transaction(f->db));
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_column_int64(s, 0), 1);
	db_finalize(s);
}

/* db_exec of a COPY from or to the client is refused, and the connection stays usable. */
static void
test_pg_exec_copy_refused(void **state)
{
	struct fixture *f = *state;

	insert_row(f->db, 1, "a", 1);
	assert_int_equal(db_exec(f->db, "COPY t TO STDOUT"), -EINVAL);
	assert_one_line_message(f->db, "COPY");
	assert_int_equal(db_exec(f->db, "COPY t FROM STDIN"), -EINVAL);
	assert_one_line_message(f->db, "COPY");
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM t"), 1);
}

/* A row lock another session holds: NOWAIT fails at once with 55P03 -> -EBUSY. */
static void
test_pg_busy(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;
	char err[512];

	insert_row(f->db, 1, "locked", 1);
	assert_int_equal(db_open(f->be->target, DB_PG, &f->other, err, sizeof(err)), 0);
	exec_ok(f->other, "BEGIN; SELECT id FROM t WHERE id = 1 FOR UPDATE");
	s = prep(f->db, "SELECT id FROM t WHERE id = ?1 FOR UPDATE NOWAIT");
	assert_int_equal(db_bind_int64(s, 1, 1), 0);
	assert_int_equal(db_step(s), -EBUSY);
	assert_one_line_message(f->db, "lock");
	db_finalize(s);
	exec_ok(f->other, "ROLLBACK");
}

/* The server ends the session: every later call says -ENOTCONN. */
static void
test_pg_connection_lost(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *kept, *s;
	int64_t pid;
	char err[512];

	kept = prep(f->db, "SELECT count(*) FROM t");
	pid = scalar(f->db, "SELECT pg_backend_pid()");
	assert_int_equal(db_open(f->be->target, DB_PG, &f->other, err, sizeof(err)), 0);
	s = prep(f->other, "SELECT pg_terminate_backend(CAST(?1 AS INTEGER))");
	assert_int_equal(db_bind_int64(s, 1, pid), 0);
	assert_int_equal(db_step(s), DB_ROW);
	db_finalize(s);
	/* wait until the backend is gone (not a timing assertion: at most 10 s) */
	s = prep(f->other, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?1");
	for (int i = 0; i < 1000; i++) {
		const struct timespec ten_ms = { 0, 10 * 1000 * 1000 };
		int64_t alive;

		assert_int_equal(db_bind_int64(s, 1, pid), 0);
		assert_int_equal(db_step(s), DB_ROW);
		alive = db_column_int64(s, 0);
		db_reset(s);
		if (alive == 0)
			break;
		nanosleep(&ten_ms, NULL);
	}
	db_finalize(s);
	db_close(f->other);
	f->other = NULL;

	/* the statement that finds the connection gone fails ... */
	assert_int_equal(db_step(kept), -ENOTCONN);
	assert_one_line_message(f->db, NULL);
	assert_false(db_in_transaction(f->db));
	db_reset(kept);
	/* ... and the next one reconnects: a new session, where the statement prepared in
	 * the old one is prepared again when it runs */
	assert_int_equal(db_step(kept), DB_ROW);
	db_reset(kept);
	assert_true(scalar(f->db, "SELECT pg_backend_pid()") != pid);
	assert_int_equal(db_exec(f->db, "SELECT 1"), 0);
	s = prep(f->db, "SELECT current_setting('TimeZone')");
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal(db_column_text(s, 0), "UTC");      /* the session is set up again */
	db_finalize(s);
	db_finalize(kept);
}

/* A session that turns out read-only (its server became a standby: SQLSTATE 25006) is
 * dropped: the statement says -ENOTCONN, and the next one runs in a new session that
 * writes. A server whose sessions all start read-only is no server to connect to
 * (target_session_attrs=read-write, incidentd's default). */
static void
test_pg_read_only(void **state)
{
	struct fixture *f = *state;
	char err[512], name[128], sql[256];
	struct db *db = NULL;
	int64_t pid = scalar(f->db, "SELECT pg_backend_pid()");

	exec_ok(f->db, "SET default_transaction_read_only = on");
	assert_int_equal(db_exec(f->db, "INSERT INTO t (id) VALUES (1)"), -ENOTCONN);
	assert_one_line_message(f->db, "25006");
	insert_row(f->db, 2, "b", 2);
	assert_true(scalar(f->db, "SELECT pg_backend_pid()") != pid);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM t"), 1);

	scalar_text(f->db, "SELECT current_database()", name, sizeof(name));
	snprintf(sql, sizeof(sql), "ALTER DATABASE \"%s\" SET default_transaction_read_only = on",
	    name);
	exec_ok(f->db, sql);
	assert_true(db_open(f->be->target, DB_PG, &db, err, sizeof(err)) < 0);
	assert_null(db);
	assert_non_null(strstr(err, "read-only"));
	snprintf(sql, sizeof(sql), "ALTER DATABASE \"%s\" RESET default_transaction_read_only",
	    name);
	exec_ok(f->db, sql);
	assert_int_equal(db_open(f->be->target, DB_PG, &db, err, sizeof(err)), 0);
	db_close(db);
}

#define NODB(fn) { #fn, fn, NULL, NULL, NULL }
#define ON(be, fn) { #be ": " #fn, fn, setup, teardown, &be_##be }

int
main(void)
{
	struct CMUnitTest tests[] = {
		NODB(test_target_is_pg),
		NODB(test_pg_open_errors_hide_password),
		ON(sqlite, test_params_numbered),
		ON(sqlite, test_params_quoted_left_alone),
		ON(sqlite, test_bind_kinds),
		ON(sqlite, test_steps_rows),
		ON(sqlite, test_changes),
		ON(sqlite, test_reset_rerun),
		ON(sqlite, test_duplicate_key),
		ON(sqlite, test_transactions),
		ON(sqlite, test_sql_errors),
		ON(sqlite, test_columns),
		ON(sqlite, test_exec_script),
		/* from here on only with INCIDENTD_TEST_PG */
		ON(pg, test_params_numbered),
		ON(pg, test_params_quoted_left_alone),
		ON(pg, test_pg_params_unnumbered_refused),
		ON(pg, test_bind_kinds),
		ON(pg, test_steps_rows),
		ON(pg, test_changes),
		ON(pg, test_reset_rerun),
		ON(pg, test_duplicate_key),
		ON(pg, test_transactions),
		ON(pg, test_sql_errors),
		ON(pg, test_columns),
		ON(pg, test_exec_script),
		ON(pg, test_pg_wrong_password),
		ON(pg, test_pg_session),
		ON(pg, test_pg_aborted_transaction),
		ON(pg, test_pg_exec_copy_refused),
		ON(pg, test_pg_busy),
		ON(pg, test_pg_connection_lost),
		ON(pg, test_pg_read_only),
	};
	size_t n = sizeof(tests) / sizeof(tests[0]);
	const char *pg = getenv("INCIDENTD_TEST_PG");

	if (pg != NULL && *pg != '\0') {
		be_pg.target = pg;
	} else {
		while (n > 0 && tests[n - 1].initial_state == &be_pg)
			n--;
		printf("# INCIDENTD_TEST_PG is not set: the PostgreSQL half does not run here "
		    "(tests/integration/test_units_pg.py runs it against a server of its own)\n");
		fflush(stdout);
	}
	return _cmocka_run_group_tests("test_db", tests, n, NULL, NULL);
}
