/* store_silence.c - what keeps notifications back: silences (incidentctl silence
 * add/list/expire; checked by incident.c), inhibitors (inhibit_rules) and the counts
 * behind the storm guard. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

int
store_silence_add(struct store *st, const json_t *matchers, int64_t starts_at,
    int64_t ends_at, const char *comment, const char *created_by, char *id)
{
	struct db_stmt *s = NULL;
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
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	rc = store_stmt(st, STMT_SILENCE_LIST, &s);
	if (rc != 0)
		return rc;
	store_bind_time(s, 1, now);
	db_bind_int64(s, 2, all ? 1 : 0);
	return store_rows_json(st, s, out);
}

int
store_silence_expire(struct store *st, const char *id, int64_t now)
{
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, STMT_SILENCE_EXPIRE, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, id);
	store_bind_time(s, 2, now);
	return store_step_one(st, s);
}

/* One count(*) query: ?1 text, then ?2 text2 when it is not NULL, then the time since
 * when with_time (as the next parameter). */
static int
count_query(struct store *st, enum store_stmt_id id, const char *text, const char *text2,
    int64_t since, bool with_time, int64_t *n)
{
	struct db_stmt *s = NULL;
	int rc, next = 2;

	*n = 0;
	rc = store_stmt(st, id, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, text);
	if (text2 != NULL)
		store_bind_text(s, next++, text2);
	if (with_time)
		store_bind_time(s, next, since);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*n = db_column_int64(s, 0);
		rc = 0;
	} else {
		rc = store_error(st, rc);
	}
	store_stmt_done(s);
	return rc;
}

int
store_count_refusals(struct store *st, const char *incident_id, const char *actor,
    int64_t since, int64_t *n)
{
	return count_query(st, STMT_COUNT_REFUSALS, incident_id, actor ? actor : "", since, true,
	    n);
}

int
store_count_route_incidents(struct store *st, const char *route, int64_t since, int64_t *n)
{
	return count_query(st, STMT_COUNT_ROUTE, route, NULL, since, true, n);
}

int
store_count_storm_members(struct store *st, const char *storm_key, int64_t *n)
{
	return count_query(st, STMT_COUNT_STORM, storm_key, NULL, 0, false, n);
}

int
store_inhibitor_set(struct store *st, const char *rule, const char *incident_id,
    const char *equal_key, int64_t now)
{
	struct db_stmt *s = NULL;
	int rc = store_stmt(st, STMT_INHIBITOR_SET, &s);

	if (rc != 0)
		return rc;
	store_bind_text(s, 1, rule);
	store_bind_text(s, 2, incident_id);
	store_bind_text(s, 3, equal_key);
	store_bind_time(s, 4, now);
	return store_step_done(st, s);
}

int
store_inhibitor_clear(struct store *st, const char *rule, const char *incident_id)
{
	struct db_stmt *s = NULL;
	int rc = store_stmt(st, rule ? STMT_INHIBITOR_CLEAR : STMT_INHIBITOR_CLEAR_ALL, &s);

	if (rc != 0)
		return rc;
	if (rule != NULL) {
		store_bind_text(s, 1, rule);
		store_bind_text(s, 2, incident_id);
	} else {
		store_bind_text(s, 1, incident_id);
	}
	return store_step_done(st, s);
}

int
store_inhibitor_find(struct store *st, const char *rule, const char *equal_key,
    const char *exclude_id, char *id_out, char **key_out)
{
	struct db_stmt *s = NULL;
	int rc = store_stmt(st, STMT_INHIBITOR_FIND, &s);

	*key_out = NULL;
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, rule);
	store_bind_text(s, 2, equal_key);
	store_bind_text(s, 3, exclude_id ? exclude_id : "");
	rc = db_step(s);
	if (rc == DB_ROW) {
		snprintf(id_out, UTIL_ID_LEN + 1, "%s", (const char *)db_column_text(s, 0));
		rc = store_col_dup(s, 1, key_out);
	} else {
		rc = rc == DB_DONE ? -ENOENT : store_error(st, rc);
	}
	store_stmt_done(s);
	return rc;
}
