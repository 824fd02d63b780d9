/* store_silence.c - silences: matchers that keep notifications of matching events from
 * sinks for a while (incidentctl silence add/list/expire; checked by incident.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

int
store_silence_add(struct store *st, const json_t *matchers, int64_t starts_at,
    int64_t ends_at, const char *comment, const char *created_by, char *id)
{
	sqlite3_stmt *s = NULL;
	char *text = NULL;
	int rc;

	text = json_dumps(matchers, JSON_COMPACT);
	if (text == NULL)
		return -ENOMEM;
	util_id_new(id);
	rc = store_stmt(st, STMT_SILENCE_ADD, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, text);
	store_bind_time(s, 3, starts_at);
	store_bind_time(s, 4, ends_at);
	store_bind_text(s, 5, comment);
	store_bind_text(s, 6, created_by);
	store_bind_time(s, 7, util_now_ms());
	rc = store_step_done(st, s);
out:
	free(text);
	return rc;
}

int
store_silence_list(struct store *st, int64_t now, bool all, json_t **out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = NULL;
	rc = store_stmt(st, STMT_SILENCE_LIST, &s);
	if (rc != 0)
		return rc;
	store_bind_time(s, 1, now);
	sqlite3_bind_int(s, 2, all ? 1 : 0);
	return store_rows_json(st, s, out);
}

int
store_silence_expire(struct store *st, const char *id, int64_t now)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, STMT_SILENCE_EXPIRE, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, id);
	store_bind_time(s, 2, now);
	rc = store_step_done(st, s);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = -ENOENT;
	return rc;
}
