/* store_prune.c - retention: delete, a window of rows at a time, what is older than the
 * cutoff and no longer needed; give freed pages back to the file system. */
#include "store_int.h"

#include <errno.h>
#include <string.h>

static const enum store_stmt_id window_stmt[STORE_PRUNE__COUNT] = {
	[STORE_PRUNE_DELIVERIES] = STMT_PRUNE_WINDOW_DELIVERIES,
	[STORE_PRUNE_EVENTS] = STMT_PRUNE_WINDOW_EVENTS,
	[STORE_PRUNE_REQUESTS] = STMT_PRUNE_WINDOW_REQUESTS,
	[STORE_PRUNE_INCIDENTS] = STMT_PRUNE_WINDOW_INCIDENTS,
};

static const enum store_stmt_id delete_stmt[STORE_PRUNE__COUNT] = {
	[STORE_PRUNE_DELIVERIES] = STMT_PRUNE_DELIVERIES,
	[STORE_PRUNE_EVENTS] = STMT_PRUNE_EVENTS,
	[STORE_PRUNE_REQUESTS] = STMT_PRUNE_REQUESTS,
	[STORE_PRUNE_INCIDENTS] = STMT_PRUNE_INCIDENTS,
};

/* The window after cursor: its last rowid, its size and its oldest time (ms; the
 * creation time whose order follows the rowid's). */
static int
read_window(struct store *st, enum store_prune_table table, int64_t cursor, int64_t limit,
    int64_t *last, int64_t *count, int64_t *oldest)
{
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, window_stmt[table], &s);
	if (rc != 0)
		return rc;
	db_bind_int64(s, 1, cursor);
	db_bind_int64(s, 2, limit);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*last = db_column_int64(s, 0);
		*count = db_column_int64(s, 1);
		*oldest = store_col_time(s, 2);
		rc = 0;
	} else {
		rc = store_error(st, rc);
	}
	store_stmt_done(s);
	return rc;
}

/* Run one prune DELETE over the window (cursor, last] and add its changes to *n. */
static int
run_delete(struct store *st, enum store_stmt_id id, int64_t cursor, int64_t last,
    int64_t cutoff, int64_t *n)
{
	int64_t changed = 0;
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, id, &s);
	if (rc != 0)
		return rc;
	db_bind_int64(s, 1, cursor);
	db_bind_int64(s, 2, last);
	store_bind_time(s, 3, cutoff);
	rc = store_step_count(st, s, &changed);
	if (rc == 0)
		*n += changed;
	return rc;
}

/* Begin a transaction whose commit need not wait for the disk. */
static int
quick_begin(struct store *st)
{
	int rc = store_set_durable(st, false);

	return rc == 0 ? store_begin(st) : rc;
}

/* Commit it when rc is 0, else roll it back; back to durable commits. */
static int
quick_end(struct store *st, int rc)
{
	if (rc == 0)
		rc = store_commit(st);
	if (rc != 0)
		store_rollback(st);
	store_set_durable(st, true);
	return rc;
}

int
store_prune_batch(struct store *st, enum store_prune_table table, int64_t cutoff,
    struct store_prune_batch *b)
{
	int64_t last = 0, count = 0, oldest = 0, deleted = 0, decisions = 0, slots = 0;
	int rc;

	b->deleted = b->decisions = 0;
	b->done = false;
	if ((unsigned)table >= STORE_PRUNE__COUNT || b->limit <= 0)
		return -EINVAL;
	rc = quick_begin(st);
	if (rc != 0)
		return rc;
	rc = read_window(st, table, b->cursor, b->limit, &last, &count, &oldest);
	if (rc != 0 || count == 0)
		goto out;
	/* rows come in time order: a window that starts at the cutoff ends the walk */
	if (oldest >= cutoff)
		goto out;
	if (table == STORE_PRUNE_EVENTS)
		rc = run_delete(st, STMT_PRUNE_TRACES, b->cursor, last, cutoff, &decisions);
	if (table == STORE_PRUNE_DELIVERIES)
		rc = run_delete(st, STMT_PRUNE_SLOTS, b->cursor, last, cutoff, &slots);
	if (rc == 0)
		rc = run_delete(st, delete_stmt[table], b->cursor, last, cutoff, &deleted);
out:
	rc = quick_end(st, rc);
	if (rc != 0)
		return rc;
	b->done = count < b->limit || oldest >= cutoff;
	if (count > 0 && oldest < cutoff)
		b->cursor = last;
	b->deleted = deleted;
	b->decisions = decisions;
	return 0;
}

int
store_vacuum_step(struct store *st, int64_t *remaining)
{
	struct db_stmt *s = NULL;
	int64_t mode = 0;
	int rc;

	*remaining = 0;
	rc = store_pragma_int(st, STMT_AUTO_VACUUM, &mode);
	if (rc == 0 && mode == 2) {
		rc = quick_begin(st);
		if (rc != 0)
			return rc;
		rc = store_stmt(st, STMT_INCREMENTAL_VACUUM, &s);
		if (rc == 0) {
			/* one (empty) row per page given back */
			while ((rc = db_step(s)) == DB_ROW)
				;
			rc = rc == DB_DONE ? 0 : store_error(st, rc);
			store_stmt_done(s);
		}
		rc = quick_end(st, rc);
	}
	if (rc == 0)
		rc = store_pragma_int(st, STMT_FREELIST_COUNT, remaining);
	return rc;
}
