/* store_ledger_stats.c - what /metrics reports about the ledger: its size on disk and the
 * outbox backlog. Cheap by construction: header reads and a partial index. */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Size of the database's -wal file, 0 when there is none (or no file: in memory). */
static int64_t
wal_bytes(struct store *st)
{
	sqlite3 *h = db_sqlite_handle(st->db);
	const char *db = h != NULL ? sqlite3_db_filename(h, "main") : NULL;
	char path[4096];
	struct stat sb;

	if (db == NULL || *db == '\0' ||
	    (size_t)snprintf(path, sizeof(path), "%s-wal", db) >= sizeof(path))
		return 0;
	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

int
store_ledger_stats(struct store *st, struct store_ledger_stats *out)
{
	int64_t mode = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_pragma_int(st, STMT_PAGE_SIZE, &out->page_size)) != 0 ||
	    (rc = store_pragma_int(st, STMT_PAGE_COUNT, &out->pages)) != 0 ||
	    (rc = store_pragma_int(st, STMT_FREELIST_COUNT, &out->free_pages)) != 0 ||
	    (rc = store_pragma_int(st, STMT_AUTO_VACUUM, &mode)) != 0)
		return rc;
	/* PostgreSQL: autovacuum gives space back, nothing for incidentd to do */
	out->incremental_vacuum = mode == 2 || db_kind_of(st->db) == DB_PG;
	out->wal_bytes = wal_bytes(st);
	return 0;
}

int
store_outbox_backlog(struct store *st, struct store_backlog **out, size_t *n)
{
	struct store_backlog *arr = NULL, *grown;
	struct db_stmt *s = NULL;
	size_t cap = 0, len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = store_stmt(st, STMT_OUTBOX_BACKLOG, &s);
	if (rc != 0)
		return rc;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *state = (const char *)db_column_text(s, 0);
		struct store_backlog *g;

		if (len == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(arr, cap * sizeof(*arr));
			if (grown == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			arr = grown;
		}
		g = &arr[len];
		memset(g, 0, sizeof(*g));
		if (state == NULL || delivery_state_parse(state, &g->state) != 0)
			continue;   /* the CHECK constraint keeps this from happening */
		rc = store_col_dup(s, 1, &g->sink);
		if (rc != 0)
			goto out;
		len++;
		g->count = db_column_int64(s, 2);
		g->oldest_due_at = store_col_time(s, 3);
	}
	rc = rc == DB_DONE ? 0 : store_error(st, rc);
out:
	store_stmt_done(s);
	if (rc != 0) {
		store_backlog_free(arr, len);
		return rc;
	}
	*out = arr;
	*n = len;
	return 0;
}

void
store_backlog_free(struct store_backlog *arr, size_t n)
{
	if (arr == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(arr[i].sink);
	free(arr);
}
