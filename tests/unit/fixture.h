/* fixture.h - the ledger the store unit suites (test_store, test_incident, test_prune) run
 * each test against: a fresh SQLite file always, and a fresh PostgreSQL schema too when
 * INCIDENTD_TEST_PG holds a libpq connection string (a keyword/value string or a
 * postgresql:// URI; tests/integration/test_units_pg.py starts a throwaway server and runs
 * the suites with it). A test registered for both engines says what the ledger does, not
 * how an engine stores it; what only SQLite has (the file, WAL, PRAGMAs, plans) is tested
 * on SQLite only, and the suite says why where it registers the test.
 *
 * The query helpers read and write through a connection of their own (db.h), so a test
 * sees what the store committed, whichever engine holds it. Their SQL is the dialect both
 * engines share, with `?1` for the one optional text parameter. On an SQL error they fail
 * the running test. */
#ifndef INCIDENTD_TESTS_FIXTURE_H
#define INCIDENTD_TESTS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "db.h"
#include "store.h"

struct fixture_backend {
	enum db_kind kind;
	const char *target;     /* PostgreSQL: INCIDENTD_TEST_PG (fixture_run sets it) */
};

/* The two engines; a test's cmocka initial state is one of them. */
extern struct fixture_backend fixture_sqlite, fixture_pg;

struct fixture {
	const struct fixture_backend *be;
	char dir[256];          /* SQLite: the test's temporary directory */
	char sub[300];          /* SQLite: dir/var/lib, which store_open() creates */
	char path[400];         /* SQLite: the ledger file, sub/ledger.db */
	const char *target;     /* what store_open() gets: path, or the connection string */
	struct store *st;
};

/* Open a new, empty ledger on be in f (zeroed by the caller): SQLite, a file under a new
 * temporary directory whose parents store_open() must create; PostgreSQL, the schema
 * `public` dropped and made again first (whatever a failed test left), then store_open()
 * for a URI or store_open_pg() for a keyword/value string. Returns 0, or -1 with the
 * reason printed (f then holds nothing). */
int fixture_open(struct fixture *f, const struct fixture_backend *be);

/* Close f's store (if open) and remove the SQLite files and directories. */
void fixture_close(struct fixture *f);

/* Open f's ledger again as a second store in *out (store_open(), or store_open_pg() for a
 * keyword/value string); returns what that returns, with its message in err. */
int fixture_store_open(struct fixture *f, struct store **out, char *err, size_t errlen);

/* Close f's store and open the same ledger again; fails the test when that fails. */
void fixture_reopen(struct fixture *f);

/* cmocka setup and teardown: *state is a struct fixture_backend on entry, then a new
 * struct fixture (freed by fixture_teardown). */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* Whether f's ledger is PostgreSQL. */
bool fixture_is_pg(const struct fixture *f);

/* A connection of its own to f's ledger (the caller closes it with db_close()); fails the
 * test when it cannot connect. For queries the helpers below do not cover (many rows). */
struct db *fixture_connect(struct fixture *f);

/* The first column of the first row of sql (with ?1 = arg, when not NULL) as an integer;
 * -1 when there is no row. */
int64_t fixture_int(struct fixture *f, const char *sql, const char *arg);

/* The same as text: a new string (the caller frees it), or NULL when there is no row or
 * the value is NULL. */
char *fixture_text(struct fixture *f, const char *sql, const char *arg);

/* Run sql (with ?1 = arg, when not NULL) to its end; returns the rows it changed. */
int64_t fixture_exec(struct fixture *f, const char *sql, const char *arg);

/* Run the suite's tests: with INCIDENTD_TEST_PG set, all of them (fixture_pg's target is
 * that string); without it, those whose initial state is fixture_pg are left out, saying
 * so. Returns what cmocka returns (the failed tests). tests is compacted in place. */
int fixture_run(const char *suite, struct CMUnitTest *tests, size_t n);

/* A test of fn on one engine ("sqlite: fn", "pg: fn"), with the given setup and teardown;
 * FIXTURE_BOTH registers it on both. */
#define FIXTURE_TEST(be, fn, up, down) { #be ": " #fn, fn, up, down, &fixture_##be }
#define FIXTURE_ON(be, fn) FIXTURE_TEST(be, fn, fixture_setup, fixture_teardown)
#define FIXTURE_BOTH(fn) FIXTURE_ON(sqlite, fn), FIXTURE_ON(pg, fn)

#endif
