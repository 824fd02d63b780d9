/* store_read.c - the read side: JSON views for incidentctl and the HTTP read API. */
#include "store_int.h"
#include "payload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 50
#define LIST_MAX 1000

static int
query_limit(const struct store_query *q)
{
	if (q == NULL || q->limit <= 0)
		return LIST_DEFAULT;
	return q->limit > LIST_MAX ? LIST_MAX : q->limit;
}

int
store_list_events(struct store *st, const struct store_query *q, json_t **out)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	rc = store_stmt(st, STMT_LIST_EVENTS, &s);
	if (rc != 0)
		return rc;
	if (q != NULL) {
		store_bind_text(s, 1, q->before_id);
		store_bind_text(s, 2, q->source);
		store_bind_text(s, 3, q->incident_id);
	}
	db_bind_int64(s, 4, query_limit(q));
	return store_rows_json(st, s, out);
}

/* Run a cached statement with one text parameter and collect its rows. */
static int
rows_by_id(struct store *st, enum store_stmt_id id, const char *arg, json_t **out)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	rc = store_stmt(st, id, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, arg);
	return store_rows_json(st, s, out);
}

/* Set key of obj to a new reference; on failure the reference is dropped. */
static int
set_new(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL)
		return -ENOMEM;
	return json_object_set_new(obj, key, v) == 0 ? 0 : -ENOMEM;
}

/* An event's payload from its row (columns 1: own payload, 5: the request's shared
 * members), joined (payload.h). */
static int
row_payload_text(struct db_stmt *s, char **out)
{
	return payload_join_text((const char *)db_column_text(s, 5),
	    (const char *)db_column_text(s, 1), out);
}

int
store_event_json(struct store *st, const char *id, json_t **out)
{
	struct db_stmt *s = NULL;
	json_t *obj = NULL, *v;
	const char *text;
	char *payload = NULL;
	int rc;

	*out = NULL;
	rc = store_stmt(st, STMT_EVENT_GET, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, id);
	rc = db_step(s);
	if (rc == DB_DONE) {
		rc = -ENOENT;
		goto out;
	}
	if (rc != DB_ROW) {
		rc = store_error(st, rc);
		goto out;
	}
	text = (const char *)db_column_text(s, 0);
	obj = text ? json_loads(text, 0, NULL) : NULL;
	if (!json_is_object(obj)) {
		json_decref(obj);
		obj = json_object();
		if (obj == NULL || set_new(obj, "id", json_string(id)) != 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if ((rc = row_payload_text(s, &payload)) != 0)
		goto out;
	v = payload ? json_loads(payload, JSON_DECODE_ANY, NULL) : json_null();
	if ((rc = set_new(obj, "payload", v ? v : json_string(payload))) != 0)
		goto out;
	text = (const char *)db_column_text(s, 2);
	if ((rc = set_new(obj, "incident_id", text ? json_string(text) : json_null())) != 0)
		goto out;
	store_stmt_done(s);
	s = NULL;
	if ((rc = rows_by_id(st, STMT_DECISIONS_BY_EVENT, id, &v)) != 0 ||
	    (rc = set_new(obj, "decisions", v)) != 0)
		goto out;
	if ((rc = rows_by_id(st, STMT_DELIVERIES_BY_EVENT, id, &v)) != 0 ||
	    (rc = set_new(obj, "deliveries", v)) != 0)
		goto out;
out:
	store_stmt_done(s);
	free(payload);
	if (rc != 0) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

int
store_list_incidents(struct store *st, const struct store_query *q, json_t **out)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	rc = store_stmt(st, STMT_LIST_INCIDENTS, &s);
	if (rc != 0)
		return rc;
	if (q != NULL) {
		store_bind_text(s, 1, q->before_id);
		store_bind_text(s, 2, q->source);
		store_bind_text(s, 3, q->state);
		store_bind_text(s, 5, q->app);
		store_bind_text(s, 6, q->cluster);
		if (q->since > 0)
			store_bind_time(s, 7, q->since);
	}
	db_bind_int64(s, 4, query_limit(q));
	return store_rows_json(st, s, out);
}

int
store_incident_json(struct store *st, const char *id, json_t **out)
{
	struct db_stmt *s = NULL;
	json_t *obj = NULL, *rows = NULL, *row, *v;
	size_t i;
	int rc;

	*out = NULL;
	rc = store_stmt(st, STMT_INC_BY_ID, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, id);
	rc = db_step(s);
	if (rc == DB_DONE) {
		rc = -ENOENT;
		goto out;
	}
	if (rc != DB_ROW) {
		rc = store_error(st, rc);
		goto out;
	}
	obj = store_row_json(s);
	if (obj == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	store_stmt_done(s);
	s = NULL;
	/* "events": the ids only */
	if ((rc = rows_by_id(st, STMT_INC_EVENTS, id, &rows)) != 0)
		goto out;
	if ((v = json_array()) == NULL || (rc = set_new(obj, "events", v)) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	json_array_foreach(rows, i, row) {
		if (json_array_append(v, json_object_get(row, "id")) != 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if ((rc = rows_by_id(st, STMT_DELIVERIES_BY_INC, id, &v)) != 0 ||
	    (rc = set_new(obj, "deliveries", v)) != 0)
		goto out;
	if ((rc = rows_by_id(st, STMT_DECISIONS_BY_INC, id, &v)) != 0 ||
	    (rc = set_new(obj, "decisions", v)) != 0)
		goto out;
out:
	store_stmt_done(s);
	json_decref(rows);
	if (rc != 0) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

int
store_list_deliveries(struct store *st, const struct store_query *q, json_t **out)
{
	struct db_stmt *s = NULL;
	enum delivery_state state;
	long long before = 0;
	char *end;
	int rc;

	*out = NULL;
	if (q != NULL && q->state != NULL && delivery_state_parse(q->state, &state) != 0)
		return -EINVAL;
	if (q != NULL && q->before_id != NULL) {
		errno = 0;
		before = strtoll(q->before_id, &end, 10);
		if (errno != 0 || end == q->before_id || *end != '\0' || before <= 0)
			return -EINVAL;
	}
	rc = store_stmt(st, STMT_LIST_DELIVERIES, &s);
	if (rc != 0)
		return rc;
	if (before > 0)
		db_bind_int64(s, 1, before);
	if (q != NULL) {
		store_bind_text(s, 2, q->incident_id);
		store_bind_text(s, 3, q->state);
	}
	db_bind_int64(s, 4, q != NULL && q->failed_only);
	db_bind_int64(s, 5, query_limit(q));
	return store_rows_json(st, s, out);
}

/* The event text of the ledger: ev's compact dump (elen bytes, an object) with "payload"
 * (text, or null) spliced in as its last member. Returns a new string or NULL. */
static char *
event_text_splice(const char *ev, size_t elen, const char *payload)
{
	size_t len = elen + (payload ? strlen(payload) : 4) + 16;
	char *buf = malloc(len);

	if (buf != NULL)
		snprintf(buf, len, "%.*s%s\"payload\":%s}", (int)(elen - 1), ev, elen > 2 ? "," : "",
		    payload ? payload : "null");
	return buf;
}

int
store_event_text_of(const struct ievent *ev, char **out)
{
	size_t elen;

	*out = NULL;
	if (ev->json_text == NULL || ev->payload_text == NULL || ev->payload_shared != NULL)
		return -ENOENT;
	elen = strlen(ev->json_text);
	if (elen < 2 || ev->json_text[0] != '{' || ev->json_text[elen - 1] != '}')
		return -ENOENT;
	*out = event_text_splice(ev->json_text, elen, ev->payload_text);
	return *out ? 0 : -ENOMEM;
}

int
store_event_text(struct store *st, const char *id, char **out, char **status,
    char **summary)
{
	struct db_stmt *s = NULL;
	const char *ev;
	char *payload = NULL, *buf;
	size_t elen;
	int rc;

	*out = NULL;
	if (status != NULL)
		*status = NULL;
	if (summary != NULL)
		*summary = NULL;
	rc = store_stmt(st, STMT_EVENT_GET, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, id);
	rc = db_step(s);
	if (rc == DB_DONE) {
		rc = -ENOENT;
		goto out;
	}
	if (rc != DB_ROW) {
		rc = store_error(st, rc);
		goto out;
	}
	/* The stored event text is a compact JSON object written by ievent_to_json(), and
	 * the payload valid JSON: splice instead of parsing both again. */
	ev = (const char *)db_column_text(s, 0);
	elen = ev ? strlen(ev) : 0;
	while (elen > 0 && (ev[elen - 1] == ' ' || ev[elen - 1] == '\n'))
		elen--;
	if (elen < 2 || ev[0] != '{' || ev[elen - 1] != '}') {
		rc = -EIO;
		goto out;
	}
	if ((rc = row_payload_text(s, &payload)) != 0)
		goto out;
	buf = event_text_splice(ev, elen, payload);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((status != NULL && (rc = store_col_dup(s, 3, status)) != 0) ||
	    (summary != NULL && (rc = store_col_dup(s, 4, summary)) != 0)) {
		free(buf);
		goto out;
	}
	*out = buf;
	rc = 0;
out:
	store_stmt_done(s);
	free(payload);
	return rc;
}

/* The value at quantile q (0..1) of the sorted array a of n > 0 (nearest rank). */
static json_int_t
quantile(const json_int_t *a, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n + 0.999999);

	return a[i == 0 ? 0 : (i > n ? n : i) - 1];
}

/* {count, p50, p90} of the sorted durations statement `id` yields for incidents opened
 * since `since` (p50 and p90 null without any), into *out. */
static int
durations(struct store *st, enum store_stmt_id id, int64_t since, json_t **out)
{
	struct db_stmt *s = NULL;
	json_int_t *ms = NULL, *grown;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	if ((rc = store_stmt(st, id, &s)) != 0)
		return rc;
	store_bind_time(s, 1, since);
	while ((rc = db_step(s)) == DB_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((grown = realloc(ms, cap * sizeof(*ms))) == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			ms = grown;
		}
		ms[n++] = db_column_int64(s, 0);
	}
	rc = rc == DB_DONE ? 0 : store_error(st, rc);
	if (rc != 0)
		goto out;
	*out = n ? json_pack("{s:I, s:I, s:I}", "count", (json_int_t)n, "p50",
	    quantile(ms, n, 0.5), "p90", quantile(ms, n, 0.9)) : json_pack("{s:i, s:n, s:n}",
	    "count", 0, "p50", "p90");
	if (*out == NULL)
		rc = -ENOMEM;
out:
	store_stmt_done(s);
	free(ms);
	return rc;
}

int
store_stats(struct store *st, int64_t since, json_t **out)
{
	struct db_stmt *s = NULL;
	json_t *o = NULL, *by_app = NULL, *noisy = NULL, *ttr = NULL, *ttf = NULL;
	json_int_t firing = 0, total = 0;
	char when[UTIL_TIME_LEN];
	int rc;

	*out = NULL;
	if ((rc = store_stmt(st, STMT_STATS_TOTALS, &s)) != 0)
		goto out;
	store_bind_time(s, 1, since);
	if ((rc = db_step(s)) == DB_ROW) {
		total = db_column_int64(s, 0);
		firing = db_column_int64(s, 1);
		rc = 0;
	} else {
		rc = store_error(st, rc);
	}
	store_stmt_done(s);
	s = NULL;
	if (rc != 0)
		goto out;
	if ((rc = store_stmt(st, STMT_STATS_BY_APP, &s)) != 0)
		goto out;
	store_bind_time(s, 1, since);
	if ((rc = store_rows_json(st, s, &by_app)) != 0)
		goto out;
	if ((rc = store_stmt(st, STMT_STATS_NOISIEST, &s)) != 0)
		goto out;
	store_bind_time(s, 1, since);
	if ((rc = store_rows_json(st, s, &noisy)) != 0)
		goto out;
	s = NULL;
	if ((rc = durations(st, STMT_STATS_RESOLVE_TIMES, since, &ttr)) != 0 ||
	    (rc = durations(st, STMT_STATS_FIX_TIMES, since, &ttf)) != 0)
		goto out;
	util_format_time(since, when, sizeof(when));
	o = json_pack("{s:s, s:I, s:I, s:I, s:O, s:o, s:o, s:O}", "since", when, "incidents",
	    total, "firing", firing, "resolved", total - firing, "by_app", by_app,
	    "time_to_resolve_ms", ttr, "time_to_fix_ms", ttf, "noisiest", noisy);
	ttr = ttf = NULL;
	if (o == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	*out = o;
out:
	store_stmt_done(s);
	json_decref(ttr);
	json_decref(ttf);
	json_decref(by_app);
	json_decref(noisy);
	return rc;
}
