/* store_outbox.c - deliveries: the outbox the dispatcher drains. */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {
	[DELIVERY_BLOCKED] = "blocked",
	[DELIVERY_PENDING] = "pending",
	[DELIVERY_RUNNING] = "running",
	[DELIVERY_DONE] = "done",
	[DELIVERY_FAILED] = "failed",
	[DELIVERY_CANCELLED] = "cancelled",
};

#define N_STATES (sizeof(state_names) / sizeof(state_names[0]))

const char *
delivery_state_name(enum delivery_state s)
{
	if ((size_t)s >= N_STATES)
		return "unknown";
	return state_names[s];
}

int
delivery_state_parse(const char *name, enum delivery_state *out)
{
	for (size_t i = 0; name != NULL && i < N_STATES; i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum delivery_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

void
delivery_clear(struct delivery *d)
{
	if (d == NULL)
		return;
	free(d->sink);
	free(d->action);
	free(d->last_status);
	free(d->last_error);
	free(d->note);
	json_decref(d->result);
	memset(d, 0, sizeof(*d));
}

void
delivery_free_array(struct delivery *arr, size_t n)
{
	if (arr == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		delivery_clear(&arr[i]);
	free(arr);
}

int
store_row_delivery(struct db_stmt *s, struct delivery *d)
{
	const char *v;
	int rc;

	memset(d, 0, sizeof(*d));
	d->id = db_column_int64(s, 0);
	v = (const char *)db_column_text(s, 1);
	snprintf(d->incident_id, sizeof(d->incident_id), "%s", v ? v : "");
	v = (const char *)db_column_text(s, 2);
	snprintf(d->event_id, sizeof(d->event_id), "%s", v ? v : "");
	if ((rc = store_col_dup(s, 3, &d->sink)) != 0 ||
	    (rc = store_col_dup(s, 4, &d->action)) != 0 ||
	    (rc = store_col_dup(s, 10, &d->last_status)) != 0 ||
	    (rc = store_col_dup(s, 11, &d->last_error)) != 0 ||
	    (rc = store_col_dup(s, 16, &d->note)) != 0)
		goto out;
	if (delivery_state_parse((const char *)db_column_text(s, 5), &d->state) != 0) {
		rc = -EIO;  /* the CHECK constraint makes this impossible */
		goto out;
	}
	d->attempts = (int)db_column_int64(s, 6);
	d->next_attempt_at = store_col_time(s, 7);
	d->created_at = store_col_time(s, 8);
	d->updated_at = store_col_time(s, 9);
	v = (const char *)db_column_text(s, 12);
	if (v != NULL && (d->result = json_loads(v, JSON_DECODE_ANY, NULL)) == NULL) {
		rc = -EIO;
		goto out;
	}
	d->depends_on = db_column_int64(s, 13);
	d->requires_firing = (int)db_column_int64(s, 14) != 0;
	d->retried_at = store_col_time(s, 15);
out:
	if (rc != 0)
		delivery_clear(d);
	return rc;
}

/* Bind the JSON result (or NULL) of a delivery. */
static int
bind_result(struct db_stmt *s, int idx, const json_t *result)
{
	char *text;
	int rc;

	if (result == NULL)
		return db_bind_null(s, idx);
	text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text == NULL)
		return -ENOMEM;
	rc = db_bind_text_copy(s, idx, text);
	free(text);
	return rc;
}

/* Bind who claims a running delivery (?idx) and until when (?idx + 1). */
static void
bind_claim(struct store *st, struct db_stmt *s, int idx, int64_t now)
{
	if (st->claimant[0] == '\0')
		return;    /* one process (SQLite): nobody else could take over */
	store_bind_text(s, idx, st->claimant);
	store_bind_time(s, idx + 1, now + st->lease_ms);
}

void
store_set_claimant(struct store *st, const char *id, int64_t lease_ms)
{
	snprintf(st->claimant, sizeof(st->claimant), "%s", id);
	st->lease_ms = lease_ms;
}

int
store_pace_reserve(struct store *st, const char *lane, int64_t now, uint64_t gap_ms,
    uint64_t *wait_ms)
{
	struct db_stmt *s = NULL;
	int64_t slot = now;
	int rc;

	*wait_ms = 0;
	rc = store_stmt(st, STMT_PACE_RESERVE, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, lane);
	db_bind_int64(s, 2, now);
	db_bind_int64(s, 3, (int64_t)gap_ms);
	rc = store_step_id(st, s, &slot);
	if (rc == 0 && slot > now)
		*wait_ms = (uint64_t)(slot - now);
	return rc;
}

int
store_pace_hold(struct store *st, const char *lane, int64_t until)
{
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, STMT_PACE_HOLD, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, lane);
	db_bind_int64(s, 2, until);
	return store_step_done(st, s);
}

int
store_quota_take(struct store *st, const char *name, int64_t period_ms, int64_t limit)
{
	struct db_stmt *s = NULL;
	int rc;

	if (name == NULL)
		return -EINVAL;
	if (limit <= 0)
		return 0;
	rc = store_stmt(st, STMT_QUOTA_TAKE, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, name);
	db_bind_int64(s, 2, period_ms);
	db_bind_int64(s, 3, limit);
	rc = db_step(s);
	if (rc == DB_ROW)
		rc = 1;
	else
		rc = rc == DB_DONE ? 0 : store_error(st, rc);
	while (rc == 1 && db_step(s) == DB_ROW)
		;
	store_stmt_done(s);
	return rc;
}

/* count(*) of statement id for (name, delivery_id): the row count of a SELECT count(*). */
static int
slot_count(struct store *st, enum store_stmt_id id, const char *name, int64_t delivery_id,
    int64_t *n)
{
	struct db_stmt *s = NULL;
	int rc;

	*n = 0;
	rc = store_stmt(st, id, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, name);
	if (id == STMT_SLOT_HELD)
		db_bind_int64(s, 2, delivery_id);
	return store_step_id(st, s, n);
}

int
store_slot_take(struct store *st, const char *name, int64_t delivery_id, int64_t max)
{
	struct db_stmt *s = NULL;
	int64_t held = 0, running = 0;
	int rc;

	if (name == NULL)
		return -EINVAL;
	rc = store_begin(st);
	if (rc != 0)
		return rc;
	rc = slot_count(st, STMT_SLOT_HELD, name, delivery_id, &held);
	if (rc != 0 || held > 0)
		goto out;
	rc = slot_count(st, STMT_SLOT_COUNT, name, 0, &running);
	if (rc != 0 || running >= max)
		goto out;
	rc = store_stmt(st, STMT_SLOT_INSERT, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, name);
	db_bind_int64(s, 2, delivery_id);
	rc = store_step_done(st, s);
	held = rc == 0;
out:
	if (rc == 0)
		rc = store_commit(st);
	if (rc != 0) {
		store_rollback(st);
		return rc;
	}
	return held > 0 ? 1 : 0;
}

int
store_slot_release(struct store *st, const char *name, int64_t delivery_id)
{
	struct db_stmt *s = NULL;
	int rc;

	if (name == NULL)
		return -EINVAL;
	rc = store_stmt(st, STMT_SLOT_DELETE, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, name);
	db_bind_int64(s, 2, delivery_id);
	return store_step_done(st, s);
}

int
store_renew_claims(struct store *st, int64_t now)
{
	struct db_stmt *s = NULL;
	int rc;

	if (st->claimant[0] == '\0')
		return 0;
	rc = store_stmt(st, STMT_DEL_RENEW, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, st->claimant);
	store_bind_time(s, 2, now + st->lease_ms);
	return store_step_done(st, s);
}

int
store_insert_delivery(struct store *st, struct delivery *d)
{
	struct db_stmt *s = NULL;
	int64_t now = util_now_ms();
	int rc;

	rc = store_stmt(st, STMT_DEL_INSERT, &s);
	if (rc != 0)
		goto out;
	store_bind_text(s, 1, d->incident_id);
	store_bind_text(s, 2, d->event_id);
	store_bind_text(s, 3, d->sink);
	store_bind_text(s, 4, d->action);
	store_bind_text(s, 5, delivery_state_name(d->state));
	db_bind_int64(s, 6, d->attempts);
	store_bind_time(s, 7, d->next_attempt_at ? d->next_attempt_at : now);
	store_bind_time(s, 8, d->created_at ? d->created_at : now);
	store_bind_time(s, 9, d->updated_at ? d->updated_at : now);
	store_bind_text(s, 10, d->last_status);
	store_bind_text(s, 11, d->last_error);
	rc = bind_result(s, 12, d->result);
	if (rc != 0)
		goto out;
	if (d->depends_on != 0)
		db_bind_int64(s, 13, d->depends_on);
	db_bind_int64(s, 14, d->requires_firing ? 1 : 0);
	bind_claim(st, s, 15, now);
	rc = store_step_id(st, s, &d->id);
	s = NULL;
out:
	store_stmt_done(s);
	return rc;
}

/* Update d by id, with one step of its trace appended when step != NULL. */
static int
update_delivery(struct store *st, const struct delivery *d, int seq, const char *step,
    const char *outcome, const char *detail)
{
	int64_t now = util_now_ms();
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, step ? STMT_DEL_UPDATE_STEP : STMT_DEL_UPDATE, &s);
	if (rc != 0)
		goto out;
	db_bind_int64(s, 1, d->id);
	store_bind_text(s, 2, delivery_state_name(d->state));
	db_bind_int64(s, 3, d->attempts);
	store_bind_time(s, 4, d->next_attempt_at);
	store_bind_text(s, 5, d->last_status);
	store_bind_text(s, 6, d->last_error);
	rc = bind_result(s, 7, d->result);
	if (rc != 0)
		goto out;
	store_bind_time(s, 8, d->updated_at ? d->updated_at : now);
	bind_claim(st, s, 9, now);
	if (step != NULL) {
		db_bind_int64(s, 11, seq);
		store_bind_text(s, 12, step);
		store_bind_text(s, 13, outcome);
		store_bind_text(s, 14, detail);
	}
	rc = store_step_one(st, s);
	s = NULL;
out:
	store_stmt_done(s);
	return rc;
}

int
store_update_delivery(struct store *st, const struct delivery *d)
{
	return update_delivery(st, d, 0, NULL, NULL, NULL);
}

int
store_update_delivery_step(struct store *st, const struct delivery *d, int seq,
    const char *step, const char *outcome, const char *detail)
{
	return update_delivery(st, d, seq, step, outcome, detail);
}

int
store_add_delivery_step(struct store *st, int64_t id, int seq, const char *step,
    const char *outcome, const char *detail)
{
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, STMT_DEL_ADD_STEP, &s);
	if (rc != 0)
		return rc;
	db_bind_int64(s, 1, id);
	db_bind_int64(s, 2, seq);
	store_bind_text(s, 3, step);
	store_bind_text(s, 4, outcome);
	store_bind_text(s, 5, detail);
	store_bind_time(s, 6, util_now_ms());
	return store_step_one(st, s);
}

/* Read every row of a deliveries SELECT into a new array. */
static int
read_deliveries(struct store *st, struct db_stmt *s, size_t max, struct delivery **out,
    size_t *n)
{
	struct delivery *arr = NULL;
	size_t cnt = 0;
	int rc = DB_DONE;

	*out = NULL;
	*n = 0;
	if (max > 0 && (arr = calloc(max, sizeof(*arr))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (cnt < max && (rc = db_step(s)) == DB_ROW) {
		rc = store_row_delivery(s, &arr[cnt]);
		if (rc != 0)
			goto out;
		cnt++;
	}
	rc = max == 0 || rc == DB_DONE || rc == DB_ROW ? 0 : store_error(st, rc);
out:
	store_stmt_done(s);
	if (rc != 0) {
		delivery_free_array(arr, cnt);
		return rc;
	}
	if (cnt == 0) {
		free(arr);
		arr = NULL;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int
store_due_deliveries(struct store *st, int64_t now, size_t max, struct delivery **out,
    size_t *n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	rc = store_stmt(st, STMT_DEL_DUE, &s);
	if (rc != 0)
		return rc;
	store_bind_time(s, 1, now);
	db_bind_int64(s, 2, (sqlite3_int64)max);
	return read_deliveries(st, s, max, out, n);
}

int
store_next_due_time(struct store *st, int64_t *when)
{
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, STMT_DEL_NEXT, &s);
	if (rc != 0)
		return rc;
	rc = db_step(s);
	if (rc == DB_ROW && !db_column_is_null(s, 0)) {
		*when = store_col_time(s, 0);
		rc = 0;
	} else if (rc == DB_ROW || rc == DB_DONE) {
		rc = -ENOENT;
	} else {
		rc = store_error(st, rc);
	}
	store_stmt_done(s);
	return rc;
}

int
store_release_dependents(struct store *st, int64_t dep_id, bool ok, int64_t now)
{
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, ok ? STMT_DEL_RELEASE_OK : STMT_DEL_RELEASE_FAIL, &s);
	if (rc != 0)
		return rc;
	db_bind_int64(s, 1, dep_id);
	store_bind_time(s, 2, now);
	return store_step_done(st, s);
}

int
store_retry_delivery(struct store *st, int64_t id, int64_t now,
    enum delivery_state *state_out)
{
	struct delivery d;
	struct db_stmt *s = NULL;
	int rc;

	rc = store_get_delivery(st, id, &d);
	if (rc != 0)
		return rc;
	*state_out = d.state;
	delivery_clear(&d);
	if (*state_out != DELIVERY_FAILED)
		return -EINVAL;
	if ((rc = store_stmt(st, STMT_DEL_RETRY, &s)) != 0)
		return rc;
	db_bind_int64(s, 1, id);
	store_bind_time(s, 2, now);
	if ((rc = store_step_done(st, s)) != 0 ||
	    (rc = store_stmt(st, STMT_DEL_RETRY_CHAIN, &s)) != 0)
		return rc;
	db_bind_int64(s, 1, id);
	store_bind_time(s, 2, now);
	return store_step_done(st, s);
}

int
store_retry_failed(struct store *st, const char *sink, int64_t now, int *n)
{
	struct db_stmt *s = NULL;
	int64_t *ids = NULL, *grown;
	size_t count = 0, cap = 0;
	enum delivery_state state;
	int rc;

	*n = 0;
	if ((rc = store_stmt(st, STMT_DEL_FAILED_IDS, &s)) != 0)
		return rc;
	store_bind_text(s, 1, sink);
	while ((rc = db_step(s)) == DB_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			if ((grown = realloc(ids, cap * sizeof(*ids))) == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			ids = grown;
		}
		ids[count++] = db_column_int64(s, 0);
	}
	rc = rc == DB_DONE ? 0 : store_error(st, rc);
	store_stmt_done(s);
	s = NULL;
	for (size_t i = 0; rc == 0 && i < count; i++) {
		rc = store_retry_delivery(st, ids[i], now, &state);
		if (rc == 0)
			(*n)++;
	}
out:
	store_stmt_done(s);
	free(ids);
	return rc;
}

int
store_requeue_running(struct store *st, int *n)
{
	int64_t changed = 0;
	struct db_stmt *s = NULL;
	int rc;

	*n = 0;
	rc = store_stmt(st, STMT_DEL_REQUEUE, &s);
	if (rc != 0)
		return rc;
	rc = store_step_count(st, s, &changed);
	if (rc == 0)
		*n = (int)changed;
	return rc;
}

/* Running deliveries (claims ended before expired_before, when > 0, or made by this
 * claimant when own), oldest first. */
static int
running_rows(struct store *st, int64_t expired_before, bool own, struct delivery **out,
    size_t *n)
{
	struct delivery *arr = NULL, *na;
	struct db_stmt *s = NULL;
	size_t cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = store_stmt(st, expired_before > 0 ? STMT_DEL_EXPIRED : STMT_DEL_RUNNING, &s);
	if (rc != 0)
		return rc;
	if (expired_before > 0) {
		store_bind_time(s, 1, expired_before);
		if (own && st->claimant[0] != '\0')
			store_bind_text(s, 2, st->claimant);
	}
	while ((rc = db_step(s)) == DB_ROW) {
		if ((na = realloc(arr, (cnt + 1) * sizeof(*arr))) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		arr = na;
		if ((rc = store_row_delivery(s, &arr[cnt])) != 0)
			goto out;
		cnt++;
	}
	rc = rc == DB_DONE ? 0 : store_error(st, rc);
out:
	store_stmt_done(s);
	if (rc != 0) {
		delivery_free_array(arr, cnt);
		return rc;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int
store_running_deliveries(struct store *st, struct delivery **out, size_t *n)
{
	return running_rows(st, 0, false, out, n);
}

int
store_expired_claims(struct store *st, int64_t now, bool own, struct delivery **out,
    size_t *n)
{
	return running_rows(st, now, own, out, n);
}

int
store_set_delivery_note(struct store *st, int64_t id, const char *note)
{
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, STMT_DEL_NOTE, &s);
	if (rc != 0)
		return rc;
	db_bind_int64(s, 1, id);
	store_bind_text(s, 2, note);
	return store_step_one(st, s);
}

int
store_get_delivery(struct store *st, int64_t id, struct delivery *out)
{
	struct db_stmt *s = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_stmt(st, STMT_DEL_GET, &s);
	if (rc != 0)
		return rc;
	db_bind_int64(s, 1, id);
	rc = db_step(s);
	if (rc == DB_ROW)
		rc = store_row_delivery(s, out);
	else if (rc == DB_DONE)
		rc = -ENOENT;
	else
		rc = store_error(st, rc);
	store_stmt_done(s);
	return rc;
}

int
store_sink_history(struct store *st, const char *incident_id, const char *sink,
    struct sink_history *h)
{
	struct db_stmt *s = NULL;
	bool told_known = false;
	int rc;

	memset(h, 0, sizeof(*h));
	/* the newest rows: the last done open/update, and whether the newest open/update/resolve
	 * that is not failed or cancelled is an open/update (told since the last resolve) */
	rc = store_stmt(st, STMT_DEL_HISTORY, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, incident_id);
	store_bind_text(s, 2, sink);
	while ((rc = db_step(s)) == DB_ROW && (!told_known || h->last_notified_at == 0)) {
		const char *action = (const char *)db_column_text(s, 0);
		const char *state = (const char *)db_column_text(s, 1);
		bool tell = action != NULL && (strcmp(action, "open") == 0 ||
		    strcmp(action, "update") == 0);

		if (state == NULL || strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0)
			continue;
		if (!told_known) {
			h->told_since_resolve = tell;
			told_known = true;
		}
		if (tell && strcmp(state, "done") == 0 && h->last_notified_at == 0)
			h->last_notified_at = store_col_time(s, 2);
		if (action != NULL && strcmp(action, "resolve") == 0 && h->last_notified_at == 0)
			break;   /* nothing done since the resolve counts as the last notification */
	}
	rc = rc == DB_ROW || rc == DB_DONE ? 0 : store_error(st, rc);
	store_stmt_done(s);
	if (rc != 0)
		return rc;
	rc = store_stmt(st, STMT_DEL_HELD, &s);
	if (rc != 0)
		return rc;
	store_bind_text(s, 1, incident_id);
	store_bind_text(s, 2, sink);
	rc = db_step(s);
	if (rc == DB_ROW) {
		h->held_open_id = db_column_int64(s, 0);
		h->active = db_column_int64(s, 1) > 0;
		h->waiting_update_id = db_column_int64(s, 2);
		rc = 0;
	} else {
		rc = store_error(st, rc);
	}
	store_stmt_done(s);
	return rc;
}

int
store_fold_delivery(struct store *st, int64_t id, const char *event_id, int64_t depends_on,
    int64_t now)
{
	struct db_stmt *s = NULL;
	int rc;

	rc = store_stmt(st, STMT_DEL_FOLD, &s);
	if (rc != 0)
		return rc;
	db_bind_int64(s, 1, id);
	store_bind_text(s, 2, event_id);
	store_bind_time(s, 3, now);
	db_bind_int64(s, 4, depends_on);
	return store_step_one(st, s);
}

int
store_cancel_delivery(struct store *st, int64_t id, const char *reason, int64_t now)
{
	struct delivery d;
	int rc;

	rc = store_get_delivery(st, id, &d);
	if (rc != 0)
		return rc;
	if (d.state != DELIVERY_BLOCKED && d.state != DELIVERY_PENDING) {
		rc = -ENOENT;
		goto out;
	}
	d.state = DELIVERY_CANCELLED;
	d.updated_at = now;
	free(d.last_error);
	d.last_error = strdup(reason);
	if (d.last_error == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = store_update_delivery(st, &d);
	if (rc == 0)
		rc = store_release_dependents(st, id, false, now);
out:
	delivery_clear(&d);
	return rc;
}
