/* db_sqlite.c - the db.h driver for SQLite: a thin layer over sqlite3_stmt. The store sets
 * up the file (WAL, synchronous, foreign keys, permissions) itself; this only connects and
 * maps results. */
#include "db_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

struct lite {
	struct db base;
	sqlite3 *h;
};

struct lite_stmt {
	struct db_stmt base;
	sqlite3_stmt *s;
};

static sqlite3 *
handle(struct db *db)
{
	return ((struct lite *)db)->h;
}

static sqlite3_stmt *
stmt_of(struct db_stmt *s)
{
	return ((struct lite_stmt *)s)->s;
}

/* Map an SQLite result code to 0 or a negative errno, keeping the message. */
static int
lite_error(struct db *db, int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	}
	db_set_errmsg(db, "%s", sqlite3_errmsg(handle(db)));
	switch (rc) {
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return -EEXIST;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	}
	return -EIO;
}

static void
lite_close(struct db *db)
{
	sqlite3_close_v2(handle(db));  /* finalizes nothing: db_finalize() did, or it waits */
	free(db);
}

static bool
lite_in_transaction(const struct db *db)
{
	return !sqlite3_get_autocommit(((const struct lite *)db)->h);
}

static int
lite_exec(struct db *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	const char *tail = sql;
	int rc = 0;

	while (tail != NULL && *tail != '\0') {
		rc = sqlite3_prepare_v2(handle(db), tail, -1, &s, &tail);
		if (rc != SQLITE_OK) {
			rc = lite_error(db, rc);
			goto out;
		}
		if (s == NULL)  /* only whitespace or comments left */
			break;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE) {
			rc = lite_error(db, rc);
			goto out;
		}
		rc = 0;
		sqlite3_finalize(s);
		s = NULL;
	}
out:
	sqlite3_finalize(s);
	return rc;
}

static int
lite_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct lite_stmt *ls = calloc(1, sizeof(*ls));
	int rc;

	if (ls == NULL)
		return -ENOMEM;
	rc = sqlite3_prepare_v3(handle(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &ls->s, NULL);
	if (rc != SQLITE_OK || ls->s == NULL) {
		rc = rc != SQLITE_OK ? lite_error(db, rc) : -EINVAL;
		free(ls);
		return rc;
	}
	ls->base.db = db;
	*out = &ls->base;
	return 0;
}

static void
lite_finalize(struct db_stmt *s)
{
	sqlite3_finalize(stmt_of(s));
	free(s);
}

static int
lite_bind_int64(struct db_stmt *s, int idx, int64_t v)
{
	return lite_error(s->db, sqlite3_bind_int64(stmt_of(s), idx, v));
}

static int
lite_bind_text(struct db_stmt *s, int idx, const char *v, bool copy)
{
	if (v == NULL)
		return lite_error(s->db, sqlite3_bind_null(stmt_of(s), idx));
	return lite_error(s->db, sqlite3_bind_text(stmt_of(s), idx, v, -1,
	    copy ? SQLITE_TRANSIENT : SQLITE_STATIC));
}

static int
lite_bind_null(struct db_stmt *s, int idx)
{
	return lite_error(s->db, sqlite3_bind_null(stmt_of(s), idx));
}

static int
lite_step(struct db_stmt *s)
{
	int rc = sqlite3_step(stmt_of(s));

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	return lite_error(s->db, rc);
}

static void
lite_reset(struct db_stmt *s)
{
	sqlite3_reset(stmt_of(s));
	sqlite3_clear_bindings(stmt_of(s));
}

static int64_t
lite_changes(struct db_stmt *s)
{
	return sqlite3_changes64(handle(s->db));
}

static int
lite_column_count(struct db_stmt *s)
{
	return sqlite3_column_count(stmt_of(s));
}

static const char *
lite_column_name(struct db_stmt *s, int col)
{
	return sqlite3_column_name(stmt_of(s), col);
}

static bool
lite_column_is_null(struct db_stmt *s, int col)
{
	return sqlite3_column_type(stmt_of(s), col) == SQLITE_NULL;
}

static bool
lite_column_is_integer(struct db_stmt *s, int col)
{
	return sqlite3_column_type(stmt_of(s), col) == SQLITE_INTEGER;
}

static int64_t
lite_column_int64(struct db_stmt *s, int col)
{
	return sqlite3_column_int64(stmt_of(s), col);
}

static const char *
lite_column_text(struct db_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(stmt_of(s), col);
}

static const struct db_ops lite_ops = {
	.close = lite_close,
	.in_transaction = lite_in_transaction,
	.exec = lite_exec,
	.prepare = lite_prepare,
	.finalize = lite_finalize,
	.bind_int64 = lite_bind_int64,
	.bind_text = lite_bind_text,
	.bind_null = lite_bind_null,
	.step = lite_step,
	.reset = lite_reset,
	.changes = lite_changes,
	.column_count = lite_column_count,
	.column_name = lite_column_name,
	.column_is_null = lite_column_is_null,
	.column_is_integer = lite_column_is_integer,
	.column_int64 = lite_column_int64,
	.column_text = lite_column_text,
};

int
db_sqlite_open(const char *path, struct db **out, char *err, size_t errlen)
{
	struct lite *l = calloc(1, sizeof(*l));
	int rc;

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->base.ops = &lite_ops;
	l->base.kind = DB_SQLITE;
	/* NOMUTEX: a connection is used by one thread, so SQLite need not lock it around
	 * every call (hundreds of lock pairs per event) */
	rc = sqlite3_open_v2(path, &l->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, db_sqlite_vfs());
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    l->h ? sqlite3_errmsg(l->h) : "out of memory");
		rc = l->h ? -EIO : -ENOMEM;
		sqlite3_close(l->h);
		free(l);
		return rc;
	}
	sqlite3_extended_result_codes(l->h, 1);
	sqlite3_busy_timeout(l->h, 5000);
	*out = &l->base;
	return 0;
}

struct sqlite3 *
db_sqlite_handle(const struct db *db)
{
	return db != NULL && db->kind == DB_SQLITE ? ((const struct lite *)db)->h : NULL;
}

int64_t
db_last_insert_id(struct db *db)
{
	sqlite3 *h = db_sqlite_handle(db);

	return h != NULL ? sqlite3_last_insert_rowid(h) : 0;
}
