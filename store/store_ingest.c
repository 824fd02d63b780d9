/* store_ingest.c - the write side of ingest: events, duplicate detection, incidents
 * and the decision trace. */
#include "store_int.h"
#include "jsonw.h"
#include "payload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
store_find_duplicate(struct store *st, const char *source, const char *payload_sha256,
    int64_t since_ms, json_t **ids)
{
	struct db_stmt *s = NULL;
	json_t *arr;
	int rc;

	*ids = NULL;
	arr = json_array();
	if (arr == NULL)
		return -ENOMEM;
	rc = store_stmt(st, STMT_FIND_DUP, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, source);
	store_bind_text(s, 2, payload_sha256);
	store_bind_time(s, 3, since_ms);
	while ((rc = db_step(s)) == DB_ROW) {
		if (json_array_append_new(arr,
		    json_string((const char *)db_column_text(s, 0))) != 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = rc == DB_DONE ? 0 : store_error(st, rc);
out:
	store_stmt_done(s);
	if (rc == 0)
		*ids = arr;
	else
		json_decref(arr);
	return rc;
}

int
store_insert_request(struct store *st, const char *source, int64_t received_at,
    const char *payload_sha256, const json_t *shared, int64_t *id)
{
	struct db_stmt *s = NULL;
	char *text = NULL;
	int rc;

	if (shared != NULL && (text = json_dumps(shared, JSON_COMPACT)) == NULL)
		return -ENOMEM;
	rc = store_stmt(st, STMT_INSERT_REQUEST, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, source);
	store_bind_time(s, 2, received_at);
	store_bind_text(s, 3, payload_sha256);
	store_bind_text(s, 4, text);
	rc = store_step_id(st, s, id);
out:
	free(text);
	return rc;
}

int
store_insert_event(struct store *st, const struct ievent *ev, int64_t request_id,
    const char *incident_id)
{
	return store_insert_event_steps(st, ev, request_id, incident_id, NULL);
}

int
store_insert_event_steps(struct store *st, const struct ievent *ev, int64_t request_id,
    const char *incident_id, const char *steps_json)
{
	struct db_stmt *s = NULL;
	json_t *obj = NULL;
	char *event_text = NULL, *payload_text = NULL;
	const char *event_json = ev->json_text;  /* ievent_json_text()'s, when there is one */
	int rc;

	if (event_json == NULL) {
		obj = ievent_to_json(ev, false);
		if (obj == NULL || (event_text = json_dumps(obj, JSON_COMPACT)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		event_json = event_text;
	}
	/* the body as received when the event kept it, else the payload printed */
	if ((ev->payload_text == NULL || ev->payload_shared != NULL) &&
	    (rc = payload_own_text(ev, &payload_text)) != 0)
		goto out;
	rc = store_stmt(st, STMT_INSERT_EVENT, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, ev->id);
	store_bind_text(s, 2, ev->source);
	store_bind_text(s, 3, ev->type);
	store_bind_text(s, 4, ev->status);
	store_bind_text(s, 5, ev->severity);
	store_bind_text(s, 6, ev->cluster);
	store_bind_text(s, 7, ev->namespace);
	store_bind_text(s, 8, ev->app);
	store_bind_text(s, 9, ev->revision);
	store_bind_text(s, 10, ev->repo_url);
	store_bind_text(s, 11, ev->summary);
	store_bind_text(s, 12, ev->message);
	store_bind_text(s, 13, ev->fingerprint);
	store_bind_text(s, 14, incident_id);
	store_bind_time(s, 15, ev->occurred_at ? ev->occurred_at : ev->received_at);
	store_bind_time(s, 16, ev->received_at);
	if (request_id > 0)
		db_bind_int64(s, 17, request_id);
	else
		db_bind_null(s, 17);
	store_bind_text(s, 18, event_json);
	store_bind_text(s, 19, payload_text ? payload_text : ev->payload_text);
	store_bind_text(s, 20, steps_json);
	rc = store_step_done(st, s);
out:
	free(payload_text);
	free(event_text);
	json_decref(obj);
	return rc;
}

void
incident_clear(struct incident *inc)
{
	if (inc == NULL)
		return;
	free(inc->key);
	free(inc->route);
	free(inc->state);
	free(inc->source);
	free(inc->cluster);
	free(inc->namespace);
	free(inc->app);
	free(inc->title);
	free(inc->last_event_id);
	json_decref(inc->refs);
	free(inc->acked_by);
	free(inc->fix_pr);
	free(inc->fix_url);
	memset(inc, 0, sizeof(*inc));
}

/* Load the current row (INCIDENT_COLUMNS order) into *out. */
static int
row_incident(struct db_stmt *s, struct incident *out)
{
	const char *id = db_column_text(s, 0);
	const char *refs;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", id ? (const char *)id : "");
	if ((rc = store_col_dup(s, 1, &out->key)) != 0 ||
	    (rc = store_col_dup(s, 2, &out->route)) != 0 ||
	    (rc = store_col_dup(s, 3, &out->state)) != 0 ||
	    (rc = store_col_dup(s, 4, &out->source)) != 0 ||
	    (rc = store_col_dup(s, 5, &out->cluster)) != 0 ||
	    (rc = store_col_dup(s, 6, &out->namespace)) != 0 ||
	    (rc = store_col_dup(s, 7, &out->app)) != 0 ||
	    (rc = store_col_dup(s, 8, &out->title)) != 0 ||
	    (rc = store_col_dup(s, 12, &out->last_event_id)) != 0 ||
	    (rc = store_col_dup(s, 15, &out->acked_by)) != 0 ||
	    (rc = store_col_dup(s, 17, &out->fix_pr)) != 0 ||
	    (rc = store_col_dup(s, 18, &out->fix_url)) != 0)
		goto out;
	out->acked_at = store_col_time(s, 16);
	out->fix_merged_at = store_col_time(s, 19);
	out->opened_at = store_col_time(s, 9);
	out->updated_at = store_col_time(s, 10);
	out->resolved_at = store_col_time(s, 11);
	out->event_count = db_column_int64(s, 13);
	refs = (const char *)db_column_text(s, 14);
	out->refs = refs ? json_loads(refs, 0, NULL) : NULL;
	if (out->refs == NULL || !json_is_object(out->refs)) {
		json_decref(out->refs);
		out->refs = json_object();
	}
	if (out->refs == NULL)
		rc = -ENOMEM;
out:
	if (rc != 0)
		incident_clear(out);
	return rc;
}

/* Step the bound statement s (INCIDENT_COLUMNS) once into *out, and reset it. Returns 0,
 * -ENOENT (no row) or a negative errno. */
static int
step_incident(struct store *st, struct db_stmt *s, struct incident *out)
{
	int rc = db_step(s);

	if (rc == DB_ROW)
		rc = row_incident(s, out);
	else if (rc == DB_DONE)
		rc = -ENOENT;
	else
		rc = store_error(st, rc);
	store_stmt_done(s);
	return rc;
}

static int
get_incident(struct store *st, enum store_stmt_id id, const char *arg, struct incident *out)
{
	struct db_stmt *s = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_stmt(st, id, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, arg);
	return step_incident(st, s, out);
}

int
store_get_incident_by_key(struct store *st, const char *key, struct incident *out)
{
	return get_incident(st, STMT_INC_BY_KEY, key, out);
}

int
store_get_incident(struct store *st, const char *id, struct incident *out)
{
	return get_incident(st, STMT_INC_BY_ID, id, out);
}

int
store_put_incident(struct store *st, const struct incident *inc)
{
	struct db_stmt *s = NULL;
	char *refs = NULL;
	int rc;

	int64_t changed = 0;

	/* most writes are to an incident that exists: update what may change */
	rc = store_stmt(st, STMT_INC_UPDATE, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, inc->id);
	store_bind_text(s, 2, inc->state);
	store_bind_text(s, 3, inc->title);
	store_bind_time(s, 4, inc->updated_at);
	store_bind_time_opt(s, 5, inc->resolved_at);
	store_bind_text(s, 6, inc->last_event_id);
	db_bind_int64(s, 7, inc->event_count);
	store_bind_text(s, 8, inc->acked_at ? inc->acked_by : NULL);
	store_bind_time_opt(s, 9, inc->acked_at);
	store_bind_text(s, 10, inc->fix_pr);
	store_bind_text(s, 11, inc->fix_url);
	store_bind_time_opt(s, 12, inc->fix_merged_at);
	rc = store_step_count(st, s, &changed);
	if (rc != 0 || changed > 0)
		goto out;
	if (inc->refs != NULL && (refs = json_dumps(inc->refs, JSON_COMPACT)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = store_stmt(st, STMT_INC_UPSERT, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, inc->id);
	store_bind_text(s, 2, inc->key);
	store_bind_text(s, 3, inc->route);
	store_bind_text(s, 4, inc->state);
	store_bind_text(s, 5, inc->source);
	store_bind_text(s, 6, inc->cluster);
	store_bind_text(s, 7, inc->namespace);
	store_bind_text(s, 8, inc->app);
	store_bind_text(s, 9, inc->title);
	store_bind_time(s, 10, inc->opened_at);
	store_bind_time(s, 11, inc->updated_at);
	store_bind_time_opt(s, 12, inc->resolved_at);
	store_bind_text(s, 13, inc->last_event_id);
	db_bind_int64(s, 14, inc->event_count);
	store_bind_text(s, 15, refs ? refs : "{}");
	store_bind_text(s, 16, inc->acked_at ? inc->acked_by : NULL);
	store_bind_time_opt(s, 17, inc->acked_at);
	store_bind_text(s, 18, inc->fix_pr);
	store_bind_text(s, 19, inc->fix_url);
	store_bind_time_opt(s, 20, inc->fix_merged_at);
	rc = store_step_done(st, s);
out:
	free(refs);
	return rc;
}

/* Merge obj into refs[sink], or with drop remove refs[sink]. */
static int
edit_refs(struct store *st, const char *incident_id, const char *sink, const json_t *obj,
    bool drop)
{
	struct db_stmt *s = NULL;
	json_t *refs = NULL, *slot;
	char *text = NULL;
	const char *cur;
	int rc;

	rc = store_stmt(st, STMT_INC_REFS_GET, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, incident_id);
	rc = db_step(s);
	if (rc == DB_DONE) {
		rc = -ENOENT;
		goto out;
	}
	if (rc != DB_ROW) {
		rc = store_error(st, rc);
		goto out;
	}
	cur = (const char *)db_column_text(s, 0);
	refs = cur ? json_loads(cur, 0, NULL) : NULL;
	if (refs == NULL || !json_is_object(refs)) {
		json_decref(refs);
		refs = json_object();
	}
	store_stmt_done(s);
	s = NULL;
	slot = json_object_get(refs, sink);
	if (drop) {
		json_object_del(refs, sink);
	} else if (!json_is_object(slot)) {
		slot = json_object();
		if (slot == NULL || json_object_set_new(refs, sink, slot) != 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (!drop && json_is_object(obj) && json_object_update(slot, (json_t *)obj) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	text = json_dumps(refs, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = store_stmt(st, STMT_INC_REFS_SET, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, incident_id);
	store_bind_text(s, 2, text);
	rc = store_step_done(st, s);
	s = NULL;
out:
	store_stmt_done(s);
	free(text);
	json_decref(refs);
	return rc;
}

int
store_merge_incident_refs(struct store *st, const char *incident_id, const char *sink,
    const json_t *obj)
{
	return edit_refs(st, incident_id, sink, obj, false);
}

int
store_drop_incident_ref(struct store *st, const char *incident_id, const char *sink)
{
	return edit_refs(st, incident_id, sink, NULL, true);
}

int
store_find_incident_by_issue(struct store *st, const char *repo, int64_t number,
    struct incident *out)
{
	struct db_stmt *s = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_stmt(st, STMT_INC_BY_ISSUE, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, repo);
	db_bind_int64(s, 2, number);
	return step_incident(st, s, out);
}

int
store_insert_trace(struct store *st, const char *event_id, const char *incident_id,
    const char *steps_json)
{
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, STMT_TRACE_INSERT, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, event_id);
	store_bind_text(s, 2, incident_id);
	store_bind_time(s, 3, util_now_ms());
	store_bind_text(s, 4, steps_json);
	return store_step_done(st, s);
}

int
store_insert_decision(struct store *st, const char *event_id, const char *incident_id,
    int seq, const char *step, const char *outcome, const char *detail)
{
	struct jsonw w;
	char *steps;
	int rc;

	jsonw_init(&w);
	jsonw_open(&w, '[');
	store_trace_step(&w, seq, step, outcome, detail, 0);
	jsonw_close(&w, ']');
	if ((steps = jsonw_take(&w)) == NULL)
		return -ENOMEM;
	rc = store_insert_trace(st, event_id, incident_id, steps);
	free(steps);
	return rc;
}

void
store_trace_step(struct jsonw *w, int seq, const char *step, const char *outcome,
    const char *detail, int64_t at_ms)
{
	jsonw_open(w, '[');
	jsonw_int(w, seq);
	jsonw_string(w, step);
	jsonw_string(w, outcome);
	if (detail != NULL)
		jsonw_string(w, detail);
	else
		jsonw_json(w, NULL);
	if (at_ms > 0) {
		char at[UTIL_TIME_LEN];

		util_format_time(at_ms, at, sizeof(at));
		jsonw_string(w, at);
	}
	jsonw_close(w, ']');
}
