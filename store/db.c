/* db.c - the db.h API: argument checks and dispatch to the connection's driver. */
#include "db_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool
db_target_is_pg(const char *target)
{
	if (target == NULL)
		return false;
	return strncasecmp(target, "postgresql://", 13) == 0 ||
	    strncasecmp(target, "postgres://", 11) == 0;
}

int
db_open(const char *target, enum db_kind kind, struct db **out, char *err, size_t errlen)
{
	*out = NULL;
	if (target == NULL || *target == '\0') {
		snprintf(err, errlen, "no database given");
		return -EINVAL;
	}
	if (kind == DB_PG)
		return db_pg_open(target, out, err, errlen);
	return db_sqlite_open(target, out, err, errlen);
}

void
db_close(struct db *db)
{
	if (db != NULL)
		db->ops->close(db);
}

enum db_kind
db_kind_of(const struct db *db)
{
	return db->kind;
}

const char *
db_errmsg(const struct db *db)
{
	return db != NULL ? db->errmsg : "no database";
}

void
db_set_errmsg(struct db *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->errmsg, sizeof(db->errmsg), fmt, ap);
	va_end(ap);
}

bool
db_in_transaction(const struct db *db)
{
	return db->ops->in_transaction(db);
}

int
db_exec(struct db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

int
db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	*out = NULL;
	return db->ops->prepare(db, sql, out);
}

void
db_finalize(struct db_stmt *s)
{
	if (s != NULL)
		s->db->ops->finalize(s);
}

int
db_bind_int64(struct db_stmt *s, int idx, int64_t v)
{
	return s->db->ops->bind_int64(s, idx, v);
}

int
db_bind_text(struct db_stmt *s, int idx, const char *v)
{
	return s->db->ops->bind_text(s, idx, v, false);
}

int
db_bind_text_copy(struct db_stmt *s, int idx, const char *v)
{
	return s->db->ops->bind_text(s, idx, v, true);
}

int
db_bind_null(struct db_stmt *s, int idx)
{
	return s->db->ops->bind_null(s, idx);
}

int
db_step(struct db_stmt *s)
{
	return s->db->ops->step(s);
}

void
db_reset(struct db_stmt *s)
{
	if (s != NULL)
		s->db->ops->reset(s);
}

int64_t
db_changes(struct db_stmt *s)
{
	return s->db->ops->changes(s);
}

int
db_column_count(struct db_stmt *s)
{
	return s->db->ops->column_count(s);
}

const char *
db_column_name(struct db_stmt *s, int col)
{
	return s->db->ops->column_name(s, col);
}

bool
db_column_is_null(struct db_stmt *s, int col)
{
	return s->db->ops->column_is_null(s, col);
}

bool
db_column_is_integer(struct db_stmt *s, int col)
{
	return s->db->ops->column_is_integer(s, col);
}

int64_t
db_column_int64(struct db_stmt *s, int col)
{
	return s->db->ops->column_int64(s, col);
}

const char *
db_column_text(struct db_stmt *s, int col)
{
	return s->db->ops->column_text(s, col);
}
