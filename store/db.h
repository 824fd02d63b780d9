/* db.h - the SQL engines the ledger runs on, behind one small statement API: SQLite
 * (embedded, one machine; sqlite/db_sqlite.c) and PostgreSQL (libpq, several replicas;
 * pg/db_pg.c). For store/ only: the rest of incidentd talks to store.h and never knows
 * which engine it has.
 *
 * SQL is written once, in the dialect both engines share, with numbered parameters `?N`
 * (the PostgreSQL driver turns them into `$N`). What differs between the engines lives in
 * the engine's folder (pg/sql_pg.c, pg/migrations_pg.c; sqlite/migrations.c), never in the
 * callers.
 *
 * A connection and its statements are used by one thread. Every function returns 0 (or the
 * value it documents) or a negative errno: -EIO for an SQL error, -EEXIST for a unique or
 * primary-key violation, -EBUSY when the database is locked or a serialization failure asks
 * for a retry, -ENOTCONN when the connection to the server is lost, -ENOMEM. The engine's
 * message is then in db_errmsg(); it never contains a password. No function calls back. */
#ifndef INCIDENTD_DB_H
#define INCIDENTD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum db_kind {
	DB_SQLITE = 0,
	DB_PG,
};

#define DB_DONE 0    /* db_step: no (more) rows */
#define DB_ROW 1     /* db_step: a row is ready for the column functions */

struct db;
struct db_stmt;

/* Whether target is a PostgreSQL URI ("postgresql://" or "postgres://"): where a ledger is
 * given as one string (--db), anything else is a SQLite file path. */
bool db_target_is_pg(const char *target);

/* Connect to target. SQLite: opens (creating) the file read-write. PostgreSQL: connects
 * with libpq to a URI or a keyword/value connection string ("host=... dbname=..."; sslmode
 * and every other parameter libpq knows are honoured). Returns 0 and *out, or a negative
 * errno with a message in err that never contains the password. */
int db_open(const char *target, enum db_kind kind, struct db **out, char *err,
    size_t errlen);

/* Close the connection; its statements must be finalized first. NULL is a no-op. */
void db_close(struct db *db);

enum db_kind db_kind_of(const struct db *db);

/* The engine's last error message (borrowed; valid until the next call on db). */
const char *db_errmsg(const struct db *db);

/* Remember msg (formatted) as the connection's error message. */
void db_set_errmsg(struct db *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether a transaction is open on the connection (the engine may have rolled one back
 * by itself after an error). */
bool db_in_transaction(const struct db *db);

/* Run a script of statements without parameters (migrations, PRAGMAs, BEGIN). Rows are
 * read and dropped. Returns 0 or a negative errno. */
int db_exec(struct db *db, const char *sql);

/* Prepare sql (one statement, parameters `?1`..`?N`) on db. The caller owns the statement
 * and finalizes it with db_finalize() before db_close(). Returns 0 and *out, or -errno. */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);

/* Finalize a statement. NULL is a no-op. */
void db_finalize(struct db_stmt *s);

/* Bind parameter idx (1-based). db_bind_text() does not copy: v must stay unchanged until
 * the statement is reset; NULL binds SQL NULL. db_bind_text_copy() copies v. Returns 0 or
 * a negative errno. */
int db_bind_int64(struct db_stmt *s, int idx, int64_t v);
int db_bind_text(struct db_stmt *s, int idx, const char *v);
int db_bind_text_copy(struct db_stmt *s, int idx, const char *v);
int db_bind_null(struct db_stmt *s, int idx);

/* Run the statement (the first call) or move to its next row. Returns DB_ROW, DB_DONE or a
 * negative errno. */
int db_step(struct db_stmt *s);

/* SQLite: the rowid of the last row inserted on db (sqlite3_last_insert_rowid()).
 * PostgreSQL has no such cheap question: 0 (ask with INSERT ... RETURNING). */
int64_t db_last_insert_id(struct db *db);

/* Reset the statement to run again and clear its bindings. NULL is a no-op. */
void db_reset(struct db_stmt *s);

/* Rows inserted, updated or deleted by the statement's last run (after DB_DONE). */
int64_t db_changes(struct db_stmt *s);

/* Columns of the current row (after DB_ROW), 0-based. db_column_text() returns NULL for
 * SQL NULL; the text is valid until the next step or reset. db_column_int64() is 0 for
 * NULL. db_column_is_integer(): the column's type (or value) is an integer. */
int db_column_count(struct db_stmt *s);
const char *db_column_name(struct db_stmt *s, int col);
bool db_column_is_null(struct db_stmt *s, int col);
bool db_column_is_integer(struct db_stmt *s, int col);
int64_t db_column_int64(struct db_stmt *s, int col);
const char *db_column_text(struct db_stmt *s, int col);

/* The SQLite handle behind db, NULL on PostgreSQL: for what only SQLite has (the backup
 * API, the WAL file's fdatasync, page counts). */
struct sqlite3 *db_sqlite_handle(const struct db *db);

#endif
