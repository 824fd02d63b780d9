/* incident.c - incident state transitions and the outbox rows they cause. */
#include "incident.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "matcher.h"
#include "router.h"
#include "timeinterval.h"

/* The context of one event's decisions: its trace, and where deliveries due at once go
 * (ready, NULL for none). Steps are gathered in memory and written per incident they are
 * about (trace_flush), not a row per step: the first group, when it is about the event's
 * own incident (or, like the event, about none), goes into the event's row, which is
 * written last (event_steps); any other group is a traces row. */
struct trace {
	struct store *st;
	const char *event_id;
	const char *incident_id;   /* of the steps added from now on */
	int seq;
	struct ready_list *ready;
	struct jsonw steps;        /* an open array of the steps not written yet */
	char *steps_incident;      /* the incident they are about (NULL: none) */
	size_t n_steps;
	int64_t at;                /* when the steps are recorded (those of the event's row) */
	const char *event_incident; /* the event's own incident (NULL: none) */
	bool grouped;              /* a group was flushed: the next ones are traces rows */
	bool to_event;             /* the open group goes into the event's row */
	char *event_steps;         /* the steps of the event's row, once flushed */
};

static bool
same_id(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Close the gathered steps: the event's row keeps the first group when it is about the
 * event's incident; any other is written as a traces row. Then start over. Returns 0 or
 * a negative errno. */
static int
trace_flush(struct trace *t)
{
	char *steps;
	int rc = 0;

	if (t->n_steps == 0)
		return 0;
	jsonw_close(&t->steps, ']');
	steps = jsonw_take(&t->steps);
	if (steps == NULL)
		rc = -ENOMEM;
	else if (t->to_event)
		t->event_steps = steps;      /* written with the event (incident_apply) */
	else
		rc = store_insert_trace(t->st, t->event_id, t->steps_incident, steps);
	if (!t->to_event)
		free(steps);
	free(t->steps_incident);
	t->steps_incident = NULL;
	t->n_steps = 0;
	t->grouped = true;
	t->to_event = false;
	return rc;
}

/* Free what the trace holds (the steps not written are dropped). */
static void
trace_clear(struct trace *t)
{
	jsonw_clear(&t->steps);
	free(t->steps_incident);
	t->steps_incident = NULL;
	t->n_steps = 0;
	free(t->event_steps);
	t->event_steps = NULL;
}

static int
trace_add(struct trace *t, const char *step, const char *outcome, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
trace_add(struct trace *t, const char *step, const char *outcome, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (t->n_steps > 0 && !same_id(t->steps_incident, t->incident_id) &&
	    (rc = trace_flush(t)) != 0)
		return rc;
	if (t->n_steps == 0) {
		jsonw_init(&t->steps);
		jsonw_open(&t->steps, '[');
		if (t->incident_id != NULL && (t->steps_incident = strdup(t->incident_id)) == NULL)
			return -ENOMEM;
		t->to_event = !t->grouped && same_id(t->incident_id, t->event_incident);
	}
	/* the event's row has no time of its own for them: each step says it */
	store_trace_step(&t->steps, ++t->seq, step, outcome, detail, t->to_event ? t->at : 0);
	t->n_steps++;
	return 0;
}

static int
set_str(char **field, const char *v)
{
	char *n = util_strdup0(v);

	if (v && n == NULL)
		return -ENOMEM;
	free(*field);
	*field = n;
	return 0;
}

/* Fill a new incident from the event. */
static int
incident_init(struct incident *inc, const struct ievent *ev, const char *key,
    const struct config_route *route)
{
	util_id_new(inc->id);
	inc->refs = json_object();
	if (inc->refs == NULL || set_str(&inc->key, key) || set_str(&inc->route, route->name) ||
	    set_str(&inc->source, ev->source) || set_str(&inc->cluster, ev->cluster) ||
	    set_str(&inc->namespace, ev->namespace) || set_str(&inc->app, ev->app))
		return -ENOMEM;
	inc->opened_at = ev->received_at;
	return 0;
}

void
incident_unack(struct incident *inc)
{
	free(inc->acked_by);
	inc->acked_by = NULL;
	inc->acked_at = 0;
}

void
ready_delivery_clear(struct ready_delivery *r)
{
	if (r == NULL)
		return;
	delivery_clear(&r->del);
	free(r->incident_json);
	free(r->incident_key);
	free(r->event_json);
	free(r->event_status);
	free(r->event_summary);
	memset(r, 0, sizeof(*r));
}

void
ready_list_truncate(struct ready_list *l, size_t n)
{
	if (l == NULL)
		return;
	while (l->n > n)
		ready_delivery_clear(&l->v[--l->n]);
}

void
ready_list_clear(struct ready_list *l)
{
	if (l == NULL)
		return;
	ready_list_truncate(l, 0);
	free(l->v);
	l->v = NULL;
	l->cap = 0;
}

/* "key": the string, or null. */
static void
view_str(struct jsonw *w, const char *key, const char *v)
{
	jsonw_key(w, key);
	if (v != NULL)
		jsonw_string(w, v);
	else
		jsonw_json(w, NULL);
}

/* Written directly (jsonw.h): the bytes json_dumps printed for the same members. */
char *
incident_view_json(const struct incident *inc)
{
	char t[UTIL_TIME_LEN];
	struct jsonw w;

	jsonw_init(&w);
	jsonw_open(&w, '{');
	view_str(&w, "id", inc->id);
	view_str(&w, "key", inc->key);
	view_str(&w, "route", inc->route);
	view_str(&w, "state", inc->state);
	view_str(&w, "source", inc->source);
	view_str(&w, "cluster", inc->cluster);
	view_str(&w, "namespace", inc->namespace);
	view_str(&w, "app", inc->app);
	view_str(&w, "title", inc->title);
	view_str(&w, "opened_at", util_format_time(inc->opened_at, t, sizeof(t)));
	view_str(&w, "updated_at", util_format_time(inc->updated_at, t, sizeof(t)));
	jsonw_key(&w, "event_count");
	jsonw_int(&w, (long long)inc->event_count);
	jsonw_key(&w, "refs");
	jsonw_json(&w, inc->refs);
	if (inc->resolved_at)
		view_str(&w, "resolved_at", util_format_time(inc->resolved_at, t, sizeof(t)));
	if (inc->acked_at) {
		view_str(&w, "acked_by", inc->acked_by);
		view_str(&w, "acked_at", util_format_time(inc->acked_at, t, sizeof(t)));
	}
	jsonw_close(&w, '}');
	return jsonw_take(&w);
}

/* Append the delivery just written (d, borrowed) with what its sink gets: the incident as
 * it is now and the event as the ledger has it. When the event is ev, it comes from
 * memory, or, when memory does not have it as the ledger will (a payload shared by the
 * events of a request), from the event's row once incident_apply has written it
 * (ready_read_events); another event's row was written before. */
static int
ready_add(struct store *st, struct ready_list *l, const struct delivery *d,
    const struct incident *inc, const struct ievent *ev)
{
	struct ready_delivery *r;
	bool own;
	int rc;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct ready_delivery *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	r = &l->v[l->n];
	memset(r, 0, sizeof(*r));
	r->del = *d;
	r->del.sink = strdup(d->sink);
	r->del.action = strdup(d->action);
	r->incident_json = incident_view_json(inc);
	r->incident_key = util_strdup0(inc->key);
	if (r->del.sink == NULL || r->del.action == NULL || r->incident_json == NULL ||
	    (inc->key != NULL && r->incident_key == NULL)) {
		rc = -ENOMEM;
		goto fail;
	}
	/* from memory when the event is the delivery's (no read back) */
	own = strcmp(ev->id, d->event_id) == 0;
	rc = own ? store_event_text_of(ev, &r->event_json) : -ENOENT;
	if (rc == 0) {
		r->event_status = util_strdup0(ev->status);
		r->event_summary = util_strdup0(ev->summary);
		if ((ev->status && r->event_status == NULL) ||
		    (ev->summary && r->event_summary == NULL))
			rc = -ENOMEM;
	} else if (rc == -ENOENT && own) {
		rc = 0;                      /* ready_read_events(), after the event's row */
	} else if (rc == -ENOENT) {
		rc = store_event_text(st, d->event_id, &r->event_json, &r->event_status,
		    &r->event_summary);
	}
	if (rc != 0)
		goto fail;
	l->n++;
	return 0;
fail:
	ready_delivery_clear(r);
	return rc;
}

/* Read the event (event_id, just written) of the ready deliveries from index from on that
 * ready_add() left without it. Returns 0 or a negative errno. */
static int
ready_read_events(struct store *st, struct ready_list *l, size_t from, const char *event_id)
{
	int rc = 0;

	for (size_t i = from; l != NULL && rc == 0 && i < l->n; i++) {
		struct ready_delivery *r = &l->v[i];

		if (r->event_json == NULL && strcmp(r->del.event_id, event_id) == 0)
			rc = store_event_text(st, event_id, &r->event_json, &r->event_status,
			    &r->event_summary);
	}
	return rc;
}

/* Order the sinks so that a sink comes after the sink it is chained to. Returns indexes
 * into sinks in *order (caller frees). */
static int
sink_order(const struct config *cfg, const char *const *sinks, size_t n, size_t **order)
{
	size_t done = 0;
	size_t *o = calloc(n ? n : 1, sizeof(*o));
	char *placed = calloc(n ? n : 1, 1);
	int rc = 0;

	if (o == NULL || placed == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (done < n) {
		size_t before = done;

		for (size_t i = 0; i < n; i++) {
			const struct config_sink *cs;
			int ready = 1;

			if (placed[i])
				continue;
			cs = config_find_sink(cfg, sinks[i]);
			if (cs && cs->after) {
				for (size_t j = 0; j < n; j++)
					if (!placed[j] && j != i &&
					    strcmp(sinks[j], cs->after) == 0)
						ready = 0;
			}
			if (ready) {
				placed[i] = 1;
				o[done++] = i;
			}
		}
		if (done == before) {
			/* A cycle cannot pass config validation; place the rest as listed. */
			for (size_t i = 0; i < n; i++)
				if (!placed[i])
					o[done++] = i;
		}
	}
	*order = o;
	o = NULL;
out:
	free(o);
	free(placed);
	return rc;
}

/* What one sink gets for this action, from the route's windows and what the sink was told
 * before. Returns 0 and either *skip (a reason, in skip_buf) or a delivery due at *due
 * (*requires_firing for a held first notification; *waits when an earlier delivery of the
 * sink for this incident is still on its way; *fold_id, for an update, when an update of
 * the sink for this incident waits that has not started: it is to carry this event
 * instead of a new delivery); or a negative errno. */
static int
sink_policy(struct store *st, const struct config_route *route, const struct incident *inc,
    const char *sink, const char *action, int64_t now, int64_t hold_ms, const char *hold_why,
    int64_t *due, bool *requires_firing, bool *waits, int64_t *fold_id, const char **skip,
    char *skip_buf, size_t len)
{
	struct sink_history h;
	char a[32], b[32];
	int rc;

	*due = now;
	*requires_firing = false;
	*fold_id = 0;
	*skip = NULL;
	rc = store_sink_history(st, inc->id, sink, &h);
	if (rc != 0)
		return rc;
	*waits = h.active;
	if (strcmp(action, "open") == 0) {
		if (hold_ms > 0) {
			*due = now + hold_ms;
			*requires_firing = true;
		}
		(void)hold_why;
	} else if (strcmp(action, "update") == 0) {
		if (inc->acked_at != 0) {
			snprintf(skip_buf, len, "acknowledged by %s at %s: no update notifications "
			    "until it resolves", inc->acked_by ? inc->acked_by : "someone",
			    util_format_time(inc->acked_at, a, sizeof(a)));
			*skip = skip_buf;
		} else if (h.held_open_id != 0) {
			snprintf(skip_buf, len, "the first notification (delivery %lld) is still held; "
			    "it will carry the latest state", (long long)h.held_open_id);
			*skip = skip_buf;
		} else if (route->repeat_ms > 0 && h.last_notified_at > 0 &&
		    now - h.last_notified_at < route->repeat_ms) {
			snprintf(skip_buf, len, "repeat_interval %s: last notified %s ago",
			    util_format_duration(route->repeat_ms, a, sizeof(a)),
			    util_format_duration((now - h.last_notified_at) / 1000 * 1000, b,
			    sizeof(b)));
			*skip = skip_buf;
		} else {
			*fold_id = h.waiting_update_id;
		}
	} else if (strcmp(action, "resolve") == 0) {
		if (h.held_open_id != 0) {
			rc = store_cancel_delivery(st, h.held_open_id, "the incident resolved before its "
			    "for/flap window ended: never notified", now);
			if (rc != 0 && rc != -ENOENT)
				return rc;
			snprintf(skip_buf, len, "resolved within the window: held delivery %lld "
			    "cancelled, nothing to resolve", (long long)h.held_open_id);
			*skip = skip_buf;
		} else if (!h.told_since_resolve) {
			snprintf(skip_buf, len, "%s", "the sink was not notified of this incident since "
			    "it last resolved: nothing to resolve");
			*skip = skip_buf;
		}
	}
	return 0;
}

/* Write one delivery per enabled sink of the plan, chained per `after:`. hold_ms > 0 holds
 * an open for that long (a `for` window or a flap hold-down, named by hold_why). */
static int
schedule_deliveries(struct store *st, const struct config *cfg, const struct plan_target *tg,
    const struct ievent *ev, const struct incident *inc, const char *action, int64_t now,
    int64_t hold_ms, const char *hold_why, struct trace *tr, int *count)
{
	const char *const *sinks = tg->sinks;
	size_t n_sinks = tg->n_sinks;
	size_t *order = NULL;
	int64_t *ids = NULL;
	int rc;

	rc = sink_order(cfg, sinks, n_sinks, &order);
	if (rc != 0)
		goto out;
	ids = calloc(n_sinks ? n_sinks : 1, sizeof(*ids));
	if (ids == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n_sinks; k++) {
		size_t i = order[k];
		const struct config_sink *cs = config_find_sink(cfg, sinks[i]);
		struct delivery d;
		int64_t dep = 0, due = now, fold = 0;
		bool held = false, waits = false, ready;

		if (cs == NULL || !cs->enabled) {
			rc = trace_add(tr, "delivery", "skipped", "sink %s is disabled",
			    sinks[i]);
			if (rc != 0)
				goto out;
			continue;
		}
		if (cs->after) {
			int found = 0;

			for (size_t j = 0; j < n_sinks; j++) {
				if (strcmp(sinks[j], cs->after) == 0) {
					found = 1;
					dep = ids[j];
				}
			}
			if (!found || dep == 0) {
				rc = trace_add(tr, "delivery", "skipped",
				    "sink %s runs after %s, which does not run for route %s",
				    cs->name, cs->after, tg->route->name);
				if (rc != 0)
					goto out;
				continue;
			}
		}
		{
			const char *skip = NULL;
			char why[256];

			rc = sink_policy(st, tg->route, inc, cs->name, action, now, hold_ms, hold_why,
			    &due, &held, &waits, &fold, &skip, why, sizeof(why));
			if (rc != 0)
				goto out;
			if (skip != NULL) {
				rc = trace_add(tr, "delivery", "skipped", "sink %s action %s: %s", cs->name,
				    action, skip);
				if (rc != 0)
					goto out;
				continue;
			}
		}
		/* one update waits per sink and incident, with the newest event: a burst while
		 * the sink is slow (or GitHub rate-limits) is told once, with its latest state,
		 * not once per event */
		if (fold != 0 && (rc = store_fold_delivery(st, fold, ev->id, dep, now)) == 0) {
			ids[i] = fold;
			rc = trace_add(tr, "delivery", "folded", "sink %s action %s: delivery %lld "
			    "had not started and carries this event now, instead of an older one",
			    cs->name, action, (long long)fold);
			if (rc != 0)
				goto out;
			continue;
		}
		if (rc != 0 && rc != -ENOENT)
			goto out;
		/* due now and first in line: written running and handed to the dispatcher after
		 * the commit (no second look-up of the outbox, the incident and the event) */
		ready = tr->ready != NULL && tr->ready->n < tr->ready->max && dep == 0 && !held &&
		    !waits && due <= now;
		memset(&d, 0, sizeof(d));
		snprintf(d.incident_id, sizeof(d.incident_id), "%s", inc->id);
		snprintf(d.event_id, sizeof(d.event_id), "%s", ev->id);
		d.sink = cs->name;
		d.action = (char *)action;
		d.state = ready ? DELIVERY_RUNNING : dep ? DELIVERY_BLOCKED : DELIVERY_PENDING;
		d.attempts = ready ? 1 : 0;
		d.next_attempt_at = due;
		d.created_at = d.updated_at = now;
		d.depends_on = dep;
		d.requires_firing = held;
		rc = store_insert_delivery(st, &d);
		if (rc == 0 && ready)
			rc = ready_add(st, tr->ready, &d, inc, ev);
		if (rc != 0)
			goto out;
		ids[i] = d.id;
		(*count)++;
		if (held) {
			char when[UTIL_TIME_LEN], dur[32];

			util_format_time(due, when, sizeof(when));
			rc = trace_add(tr, "delivery", "held",
			    "sink %s action %s: delivery %lld held until %s (%s %s): sent only if "
			    "the incident still fires then", cs->name, action, (long long)d.id, when,
			    hold_why, util_format_duration(hold_ms, dur, sizeof(dur)));
		} else if (dep) {
			rc = trace_add(tr, "delivery", "scheduled",
			    "sink %s action %s: delivery %lld, after delivery %lld (%s)", cs->name,
			    action, (long long)d.id, (long long)dep, cs->after);
		} else {
			rc = trace_add(tr, "delivery", "scheduled",
			    "sink %s action %s: delivery %lld", cs->name, action, (long long)d.id);
		}
		if (rc != 0)
			goto out;
	}
out:
	free(order);
	free(ids);
	return rc;
}

/* What the event does to one target's incident. */
struct target_state {
	struct incident inc;
	bool have;                 /* the incident exists (now) */
	const char *action;        /* open, update, resolve, or NULL */
	const char *transition;
	int64_t was_resolved_at;   /* a reopened incident: when it had resolved */
};

/* Look the target's incident up and move it; writes it when something happens. */
static int
target_transition(struct store *st, const struct ievent *ev, const struct plan_target *tg,
    struct target_state *ts)
{
	int rc;

	rc = store_get_incident_by_key(st, tg->key, &ts->inc);
	if (rc == 0)
		ts->have = true;
	else if (rc != -ENOENT)
		return rc;
	if (strcmp(ev->status, "firing") == 0) {
		if (!ts->have) {
			rc = incident_init(&ts->inc, ev, tg->key, tg->route);
			if (rc != 0)
				return rc;
			ts->have = true;
			ts->action = "open";
			ts->transition = "opened";
		} else if (strcmp(ts->inc.state, "resolved") == 0) {
			ts->action = "open";
			ts->transition = "reopened";
			ts->was_resolved_at = ts->inc.resolved_at;
			ts->inc.resolved_at = 0;
		} else {
			ts->action = "update";
			ts->transition = "updated";
		}
		if ((rc = set_str(&ts->inc.state, "firing")) != 0)
			return rc;
	} else if (strcmp(ev->status, "resolved") == 0) {
		if (ts->have && strcmp(ts->inc.state, "firing") == 0) {
			ts->action = "resolve";
			ts->transition = "resolved";
			ts->inc.resolved_at = ev->received_at;
			incident_unack(&ts->inc);   /* the episode is over */
			if ((rc = set_str(&ts->inc.state, "resolved")) != 0)
				return rc;
		} else {
			ts->transition = ts->have ? "already resolved" : "nothing to resolve";
		}
	} else {
		ts->transition = "informational";
	}
	if (!ts->have || ts->action == NULL)
		return 0;
	ts->inc.updated_at = ev->received_at;
	ts->inc.event_count++;
	if ((rc = set_str(&ts->inc.last_event_id, ev->id)) != 0 ||
	    (rc = set_str(&ts->inc.title, ev->summary)) != 0)
		return rc;
	return store_put_incident(st, &ts->inc);
}

/* Whether route is muted at `at` by its time intervals; the reason goes to why. */
static bool
route_muted(const struct config_route *r, int64_t at, char *why, size_t len)
{
	bool in_active = r->n_active == 0;

	for (size_t i = 0; i < r->n_mute; i++) {
		if (ti_contains(r->mute[i], at)) {
			snprintf(why, len, "route %s is muted by time interval %s", r->name,
			    r->mute[i]->name);
			return true;
		}
	}
	for (size_t i = 0; i < r->n_active && !in_active; i++)
		in_active = ti_contains(r->active[i], at);
	if (!in_active) {
		snprintf(why, len, "route %s is outside its active time intervals", r->name);
		return true;
	}
	return false;
}

/* Whether one of the active silences (list, from store_silence_list) matches ev as an
 * event of the incident key: 1 with the silence named in why, 0, or -errno. A silence
 * whose matchers no longer parse is ignored (they were validated when added). */
static int
silence_check(const json_t *list, const struct ievent *ev, const char *key, char *why,
    size_t len)
{
	struct ievent as_key = *ev;   /* shallow: only incident_key differs */
	json_t *sil, *m;
	size_t i, j;
	int rc;

	as_key.incident_key = (char *)key;
	json_array_foreach(list, i, sil) {
		bool all = json_array_size(json_object_get(sil, "matchers")) > 0;

		json_array_foreach(json_object_get(sil, "matchers"), j, m) {
			struct matcher mt;
			char err[256];

			if (!all)
				break;
			if (!json_is_string(m) ||
			    matcher_parse(json_string_value(m), &mt, err, sizeof(err)) != 0) {
				all = false;
				break;
			}
			rc = matcher_eval(&mt, &as_key, NULL, 0);
			matcher_clear(&mt);
			if (rc < 0)
				return rc;
			all = rc == 1;
		}
		if (all) {
			snprintf(why, len, "silence %s until %s (%s)",
			    json_string_value(json_object_get(sil, "id")),
			    json_string_value(json_object_get(sil, "ends_at")),
			    json_string_value(json_object_get(sil, "comment")));
			return 1;
		}
	}
	return 0;
}

/* Whether every matcher of ms holds for ev: 1, 0, or -ENOMEM. */
static int
all_hold(const struct matcher *ms, size_t n, const struct ievent *ev)
{
	for (size_t i = 0; i < n; i++) {
		int rc = matcher_eval(&ms[i], ev, NULL, 0);

		if (rc != 1)
			return rc;
	}
	return 1;
}

/* The values of r's equal fields in ev as a JSON array text (absent fields are ""), the
 * same for source and target as in Alertmanager. Returns a new string or NULL. */
static char *
equal_key(const struct config_inhibit *r, const struct ievent *ev)
{
	json_t *a = json_array();
	char *text = NULL;

	for (size_t i = 0; a != NULL && i < r->n_equal; i++) {
		char *v = NULL;
		int rc = ievent_get_field(ev, r->equal[i], &v);

		if ((rc != 0 && rc != -ENOENT) ||
		    json_array_append_new(a, json_string(v ? v : "")) != 0) {
			free(v);
			goto out;
		}
		free(v);
	}
	text = a ? json_dumps(a, JSON_COMPACT) : NULL;
out:
	json_decref(a);
	return text;
}

/* The incident inc (after ev moved it) inhibits under every rule whose source matchers
 * ev satisfies while it fires; a resolved incident inhibits nothing. */
static int
inhibit_update(struct store *st, const struct config *cfg, const struct ievent *ev,
    const struct incident *inc, int64_t now)
{
	int rc = 0;

	if (cfg->n_inhibits == 0)
		return 0;
	if (strcmp(inc->state, "firing") != 0)
		return store_inhibitor_clear(st, NULL, inc->id);
	for (size_t i = 0; rc == 0 && i < cfg->n_inhibits; i++) {
		const struct config_inhibit *r = &cfg->inhibits[i];
		char *key;

		rc = all_hold(r->source, r->n_source, ev);
		if (rc == 0) {
			rc = store_inhibitor_clear(st, r->id, inc->id);
			continue;
		}
		if (rc < 0)
			break;
		if ((key = equal_key(r, ev)) == NULL)
			return -ENOMEM;
		rc = store_inhibitor_set(st, r->id, inc->id, key, now);
		free(key);
	}
	return rc;
}

/* Whether another firing incident inhibits ev's incident (inc_id): 1 with the inhibiting
 * incident and rule named in why, 0, or -errno. */
static int
inhibit_check(struct store *st, const struct config *cfg, const struct ievent *ev,
    const char *inc_id, char *why, size_t len)
{
	for (size_t i = 0; i < cfg->n_inhibits; i++) {
		const struct config_inhibit *r = &cfg->inhibits[i];
		char id[UTIL_ID_LEN + 1], *key, *src_key = NULL;
		int rc = all_hold(r->target, r->n_target, ev);

		if (rc <= 0) {
			if (rc < 0)
				return rc;
			continue;
		}
		if ((key = equal_key(r, ev)) == NULL)
			return -ENOMEM;
		rc = store_inhibitor_find(st, r->id, key, inc_id, id, &src_key);
		if (rc == 0)
			snprintf(why, len, "inhibited by incident %s (%s), inhibit rule %s, equal %s",
			    id, src_key ? src_key : "?", r->where, key);
		free(key);
		free(src_key);
		if (rc == 0)
			return 1;
		if (rc != -ENOENT)
			return rc;
	}
	return 0;
}

/* The storm summary incident of tg's route moves: fire (open/update) or resolve. */
static int
storm_move(struct store *st, const struct config *cfg, const struct ievent *ev,
    const struct plan_target *tg, const char *into, bool fire, int64_t now,
    struct trace *tr, int *n_deliveries)
{
	const struct config_route *r = tg->route;
	struct plan_target stg = *tg;
	struct incident inc;
	const char *action = NULL, *transition = NULL, *saved = tr->incident_id;
	int64_t members = 0;
	char title[512], dur[32];
	int rc;

	memset(&inc, 0, sizeof(inc));
	stg.key = (char *)into;
	rc = store_count_storm_members(st, into, &members);
	if (rc != 0)
		goto out;
	rc = store_get_incident_by_key(st, into, &inc);
	if (rc != 0 && rc != -ENOENT)
		goto out;
	if (rc == -ENOENT) {
		if (!fire) {
			rc = 0;
			goto out;
		}
		rc = incident_init(&inc, ev, into, r);
		if (rc != 0)
			goto out;
		/* a summary of many apps: not any one of them */
		free(inc.app);
		free(inc.namespace);
		inc.app = inc.namespace = NULL;
		action = "open";
		transition = "opened";
	} else if (fire) {
		action = strcmp(inc.state, "resolved") == 0 ? "open" : "update";
		transition = strcmp(inc.state, "resolved") == 0 ? "reopened" : "updated";
	} else if (strcmp(inc.state, "firing") == 0 && members == 0) {
		action = "resolve";
		transition = "resolved";
	}
	rc = 0;
	if (action == NULL)
		goto out;
	snprintf(title, sizeof(title), "storm: %lld incident(s) on route %s beyond %lld new per "
	    "%s (latest: %.200s)", (long long)members, r->name, (long long)r->storm_max,
	    util_format_duration(r->storm_window_ms, dur, sizeof(dur)),
	    ev->summary ? ev->summary : "-");
	if ((rc = set_str(&inc.state, fire ? "firing" : "resolved")) != 0 ||
	    (rc = set_str(&inc.title, title)) != 0 ||
	    (rc = set_str(&inc.last_event_id, ev->id)) != 0)
		goto out;
	inc.resolved_at = fire ? 0 : ev->received_at;
	inc.updated_at = ev->received_at;
	inc.event_count++;
	if ((rc = store_put_incident(st, &inc)) != 0)
		goto out;
	tr->incident_id = inc.id;
	rc = trace_add(tr, "storm", transition, "storm incident %s key %s is %s: %s", inc.id,
	    into, inc.state, title);
	if (rc == 0)
		rc = schedule_deliveries(st, cfg, &stg, ev, &inc, action, now, 0, NULL, tr,
		    n_deliveries);
	tr->incident_id = saved;
out:
	incident_clear(&inc);
	return rc;
}

/* The storm guard of a route with max_new_incidents: an incident opened beyond the limit
 * (or one folded before) is handled by the route's storm summary incident instead of
 * notifying on its own. Sets *folded when so. */
static int
storm_guard(struct store *st, const struct config *cfg, const struct ievent *ev,
    const struct plan_target *tg, struct target_state *ts, int64_t now, struct trace *tr,
    int *n_deliveries, bool *folded)
{
	const struct config_route *r = tg->route;
	const char *into = json_string_value(json_object_get(json_object_get(ts->inc.refs,
	    "storm"), "into"));
	char key[300];
	int rc;

	*folded = false;
	if (into == NULL && strcmp(ts->action, "open") == 0 && ts->was_resolved_at == 0) {
		int64_t n = 0;

		rc = store_count_route_incidents(st, r->name, now - r->storm_window_ms, &n);
		if (rc != 0)
			return rc;
		if (n > r->storm_max) {
			json_t *ref;

			snprintf(key, sizeof(key), "storm/%s", r->name);
			ref = json_pack("{s:s}", "into", key);
			if (ref == NULL)
				return -ENOMEM;
			rc = store_merge_incident_refs(st, ts->inc.id, "storm", ref);
			json_decref(ref);
			if (rc != 0)
				return rc;
			into = key;
		}
	}
	if (into == NULL)
		return 0;
	*folded = true;
	rc = trace_add(tr, "storm", "folded", "incident %s (%s, action %s) is part of %s: no "
	    "notification of its own", ts->inc.id, tg->key, ts->action, into);
	if (rc != 0)
		return rc;
	if (strcmp(ts->action, "update") == 0)
		return 0;
	return storm_move(st, cfg, ev, tg, into, strcmp(ts->action, "open") == 0, now, tr,
	    n_deliveries);
}

int
incident_apply(struct store *st, const struct config *cfg, const struct ievent *ev,
    int64_t request_id, int64_t now, int *n_deliveries, char **key_out,
    struct ready_list *ready)
{
	struct route_plan plan;
	struct target_state *ts = NULL;
	struct trace tr = { .st = st, .event_id = ev->id, .ready = ready, .at = util_now_ms() };
	const char *first = NULL;
	size_t ready_from = ready != NULL ? ready->n : 0;
	char silenced[512] = "";
	json_t *silences = NULL;
	int rc;

	*n_deliveries = 0;
	if (key_out != NULL)
		*key_out = NULL;
	rc = router_plan(cfg, ev, &plan);
	if (rc != 0)
		goto out;
	ts = calloc(plan.n_targets ? plan.n_targets : 1, sizeof(*ts));
	if (ts == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* incidents first: the event row refers to one (the first route's); it is written
	 * last, with the steps about that incident */
	for (size_t i = 0; i < plan.n_targets; i++) {
		rc = target_transition(st, ev, &plan.targets[i], &ts[i]);
		if (rc != 0)
			goto out;
		if (first == NULL && ts[i].have)
			first = ts[i].inc.id;
	}
	tr.event_incident = first;
	tr.incident_id = first;
	for (size_t i = 0; i < plan.n_steps; i++) {
		rc = trace_add(&tr, plan.steps[i].step, plan.steps[i].outcome, "%s",
		    plan.steps[i].detail);
		if (rc != 0)
			goto out;
	}
	if (plan.n_targets > 0 && (rc = store_silence_list(st, now, false, &silences)) != 0)
		goto out;
	/* inhibitors first, so that an event cannot inhibit its own incident through two
	 * targets in either order */
	for (size_t i = 0; i < plan.n_targets; i++) {
		if (ts[i].have && ts[i].action != NULL &&
		    (rc = inhibit_update(st, cfg, ev, &ts[i].inc, now)) != 0)
			goto out;
	}
	for (size_t i = 0; i < plan.n_targets; i++) {
		const struct plan_target *tg = &plan.targets[i];
		char muted[256], inhibited[512];

		tr.incident_id = ts[i].have ? ts[i].inc.id : NULL;
		silenced[0] = '\0';
		if (ts[i].action != NULL && json_array_size(silences) > 0) {
			rc = silence_check(silences, ev, tg->key, silenced, sizeof(silenced));
			if (rc < 0)
				goto out;
			rc = 0;
		}
		if (ts[i].action != NULL && (silenced[0] != '\0' ||
		    route_muted(tg->route, ev->received_at, muted, sizeof(muted)))) {
			rc = trace_add(&tr, "incident", ts[i].transition, "incident %s key %s is %s",
			    ts[i].inc.id, tg->key, ts[i].inc.state);
			if (rc == 0 && silenced[0] != '\0')
				rc = trace_add(&tr, "silence", "silenced", "no notification (%s action "
				    "%s): %s", tg->key, ts[i].action, silenced);
			else if (rc == 0)
				rc = trace_add(&tr, "silence", "muted", "no notification (%s action "
				    "%s): %s", tg->key, ts[i].action, muted);
			if (rc != 0)
				goto out;
			continue;
		}
		if (ts[i].action == NULL) {
			rc = trace_add(&tr, "incident", ts[i].transition, "%s event for key %s: no "
			    "action", ev->status, tg->key);
			if (rc != 0)
				goto out;
			continue;
		}
		int64_t hold = 0;
		const char *why = NULL;

		rc = trace_add(&tr, "incident", ts[i].transition, "incident %s key %s is %s",
		    ts[i].inc.id, tg->key, ts[i].inc.state);
		if (rc != 0)
			goto out;
		/* inhibition holds back new notifications; a resolve still reaches the sinks
		 * that were told before */
		if (strcmp(ts[i].action, "resolve") != 0 && cfg->n_inhibits > 0) {
			rc = inhibit_check(st, cfg, ev, ts[i].inc.id, inhibited, sizeof(inhibited));
			if (rc < 0)
				goto out;
			if (rc == 1) {
				rc = trace_add(&tr, "inhibit", "inhibited", "no notification (%s action "
				    "%s): %s", tg->key, ts[i].action, inhibited);
				if (rc != 0)
					goto out;
				continue;
			}
			rc = 0;
		}
		if (tg->route->storm_max > 0) {
			bool folded = false;

			rc = storm_guard(st, cfg, ev, tg, &ts[i], now, &tr, n_deliveries, &folded);
			if (rc != 0)
				goto out;
			if (folded)
				continue;
		}

		if (strcmp(ts[i].action, "open") == 0 && tg->route->for_ms > 0) {
			hold = tg->route->for_ms;
			why = "for";
		}
		if (ts[i].was_resolved_at > 0 && tg->route->flap_ms > 0 &&
		    ev->received_at - ts[i].was_resolved_at < tg->route->flap_ms &&
		    tg->route->flap_ms > hold) {
			/* flapping: held down for flap_window instead of notified again at once */
			hold = tg->route->flap_ms;
			why = "flapping: fired again within flap_window";
		}
		rc = schedule_deliveries(st, cfg, tg, ev, &ts[i].inc, ts[i].action, now, hold, why,
		    &tr, n_deliveries);
		if (rc != 0)
			goto out;
	}
	if (key_out != NULL && plan.n_targets > 0 && (*key_out = strdup(plan.targets[0].key)) ==
	    NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = trace_flush(&tr);
	if (rc == 0)
		rc = store_insert_event_steps(st, ev, request_id, first, tr.event_steps);
	if (rc == 0)
		rc = ready_read_events(st, ready, ready_from, ev->id);
out:
	trace_clear(&tr);
	for (size_t i = 0; ts != NULL && i < plan.n_targets; i++)
		incident_clear(&ts[i].inc);
	free(ts);
	json_decref(silences);
	route_plan_clear(&plan);
	return rc;
}

struct ievent *
incident_operator_event(const struct incident *inc, const char *type, const char *status,
    const char *what, const char *author, const char *comment, int64_t now)
{
	struct ievent *ev = ievent_new("operator");
	char summary[512];

	if (ev == NULL)
		return NULL;
	snprintf(summary, sizeof(summary), "%s by %s%s%s", what, author && *author ? author :
	    "an operator", comment && *comment ? ": " : "", comment ? comment : "");
	ev->received_at = ev->occurred_at = now;
	if (ievent_set(&ev->type, type) || ievent_set(&ev->status, status) ||
	    ievent_set(&ev->cluster, inc->cluster) || ievent_set(&ev->namespace, inc->namespace) ||
	    ievent_set(&ev->app, inc->app) || ievent_set(&ev->summary, util_trim_utf8(summary)) ||
	    ievent_set(&ev->message, comment) || ievent_set(&ev->fingerprint, inc->key) ||
	    (ev->payload = json_pack("{s:s, s:s?, s:s?}", "incident", inc->id, "author", author,
	    "comment", comment)) == NULL) {
		ievent_destroy(ev);
		return NULL;
	}
	return ev;
}

int
incident_resolve_by_hand(struct store *st, const struct config *cfg, const char *id,
    const char *author, const char *comment, int64_t now, int *n_deliveries, char *event_id)
{
	struct incident inc;
	struct ievent *ev = NULL;
	struct trace tr = { .st = st, .incident_id = id };
	struct plan_target tg = { 0 };
	int64_t request_id = 0;
	int rc;

	*n_deliveries = 0;
	rc = store_get_incident(st, id, &inc);
	if (rc != 0)
		return rc;
	if (strcmp(inc.state, "firing") != 0) {
		rc = -EALREADY;
		goto out;
	}
	if ((ev = incident_operator_event(&inc, "incident.resolved", "resolved", "resolved",
	    author, comment, now)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	tr.event_id = ev->id;
	if ((rc = store_insert_request(st, "operator", now, ev->id, NULL, &request_id)) != 0 ||
	    (rc = store_insert_event(st, ev, request_id, inc.id)) != 0)
		goto out;
	if ((rc = set_str(&inc.state, "resolved")) != 0 ||
	    (rc = set_str(&inc.last_event_id, ev->id)) != 0)
		goto out;
	inc.resolved_at = inc.updated_at = now;
	inc.event_count++;
	incident_unack(&inc);
	if ((rc = store_put_incident(st, &inc)) != 0 ||
	    (rc = store_inhibitor_clear(st, NULL, inc.id)) != 0 ||
	    (rc = trace_add(&tr, "incident", "resolved", "incident %s key %s resolved by hand: %s",
	    inc.id, inc.key, ev->summary)) != 0)
		goto out;
	tg.route = config_find_route(cfg, inc.route);
	tg.key = inc.key;
	if (tg.route == NULL) {
		rc = trace_add(&tr, "delivery", "skipped", "route %s is no longer configured: no "
		    "sink is told", inc.route);
		goto out;
	}
	tg.sinks = (const char **)tg.route->sinks;
	tg.n_sinks = tg.route->n_sinks;
	rc = schedule_deliveries(st, cfg, &tg, ev, &inc, "resolve", now, 0, NULL, &tr,
	    n_deliveries);
	if (rc == 0 && event_id != NULL)
		snprintf(event_id, UTIL_ID_LEN + 1, "%s", ev->id);
out:
	if (rc == 0)
		rc = trace_flush(&tr);
	trace_clear(&tr);
	ievent_destroy(ev);
	incident_clear(&inc);
	return rc;
}
