/* dispatcher.c - the outbox driver. */
#include "dispatcher.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <openssl/rand.h>

#include "command.h"
#include "log.h"
#include "metrics.h"

#define DISPATCH_MAX_INFLIGHT 64
#define RESULT_RETRY_MS 1000

struct call {
	TAILQ_ENTRY(call) entry;
	struct dispatcher *d;
	struct delivery del;          /* the row as handed out (state RUNNING) */
	char *incident_json;
	char *incident_key;
	char *event_json;
	char *event_status, *event_summary;
	bool builtin;                 /* to COMMAND_SINK: incidentd's own step, run when the
	                               * outcome is written (command_step) */
	/* outcome, once known */
	bool completed;
	enum incidentd_result res;
	uint64_t retry_after_ms;
	char *detail;
	char *result_json;
};

TAILQ_HEAD(call_list, call);

struct dispatcher {
	struct event_base *base;
	struct store *st;
	struct sink_set *sinks;
	const struct config *cfg;
	struct event *pass_ev;     /* zero timer: start due deliveries */
	struct event *due_ev;      /* timer: the next due time */
	struct event *result_ev;   /* zero timer: write outcomes */
	struct call_list inflight; /* handed to a sink, outcome not yet written */
	size_t n_inflight;
	bool draining;
	bool recovered;            /* deliveries left RUNNING at start-up were handled */
	struct event *claims_ev;   /* shared ledger: renew our claims, take over ended ones */
	int64_t lease_ms;
};

static void dispatch_pass(evutil_socket_t fd, short what, void *arg);
static void dispatch_results(evutil_socket_t fd, short what, void *arg);
static void dispatch_recover(struct dispatcher *d, bool expired_only, bool own);
static struct call *call_new(struct dispatcher *d, struct delivery *row);
static int dispatch_note(void *arg, const char *note_json);

int64_t
dispatcher_backoff_ms(int attempts, int64_t initial_ms, int64_t max_ms)
{
	int64_t delay = initial_ms > 0 ? initial_ms : 1000;
	uint32_t r = 0;

	for (int i = 1; i < attempts && delay < max_ms; i++)
		delay *= 2;
	if (max_ms > 0 && delay > max_ms)
		delay = max_ms;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)random();
	return delay / 2 + (int64_t)((double)(delay / 2) * ((double)r / 4294967295.0));
}

int
dispatcher_new(struct event_base *base, struct store *st, struct dispatcher **out)
{
	struct dispatcher *d = calloc(1, sizeof(*d));
	int rc = -ENOMEM;

	if (d == NULL)
		return -ENOMEM;
	d->base = base;
	d->st = st;
	TAILQ_INIT(&d->inflight);
	d->pass_ev = event_new(base, -1, 0, dispatch_pass, d);
	d->due_ev = event_new(base, -1, 0, dispatch_pass, d);
	d->result_ev = event_new(base, -1, 0, dispatch_results, d);
	if (!d->pass_ev || !d->due_ev || !d->result_ev)
		goto fail;
	*out = d;
	return 0;
fail:
	dispatcher_destroy(d);
	return rc;
}

/* Every third of a lease: renew this process's claims, take over the deliveries whose
 * claim has ended (their replica died), and start what is due. */
static void
on_claims(evutil_socket_t fd, short what, void *arg)
{
	struct dispatcher *d = arg;
	int rc;

	(void)fd;
	(void)what;
	if ((rc = store_renew_claims(d->st, util_now_ms())) != 0)
		log_error("dispatcher", "cannot renew the claims on running deliveries: %s",
		    store_last_error(d->st));
	if (!d->draining && d->sinks != NULL && d->recovered)
		dispatch_recover(d, true, false);
	/* what another replica wrote to be due later (a `for` hold, a retry) has no timer
	 * here: look for it now and then */
	dispatcher_kick(d);
}

int
dispatcher_share(struct dispatcher *d, int64_t lease_ms)
{
	struct timeval tv;

	d->lease_ms = lease_ms > 0 ? lease_ms : 30000;
	if (d->claims_ev == NULL &&
	    (d->claims_ev = event_new(d->base, -1, EV_PERSIST, on_claims, d)) == NULL)
		return -ENOMEM;
	tv.tv_sec = (time_t)(d->lease_ms / 3000);
	tv.tv_usec = (suseconds_t)(d->lease_ms / 3 % 1000) * 1000;
	return event_add(d->claims_ev, &tv) == 0 ? 0 : -EIO;
}

void
dispatcher_set_sinks(struct dispatcher *d, struct sink_set *set, const struct config *cfg)
{
	d->sinks = set;
	d->cfg = cfg;
	sink_set_note_handler(set, dispatch_note);
	if (!d->recovered) {
		d->recovered = true;
		dispatch_recover(d, store_is_shared(d->st), true);
	}
	dispatcher_kick(d);
}

static void
arm_zero(struct event *ev)
{
	struct timeval zero = { 0, 0 };

	if (!event_pending(ev, EV_TIMEOUT, NULL))
		event_add(ev, &zero);
}

void
dispatcher_kick(struct dispatcher *d)
{
	if (!d->draining)
		arm_zero(d->pass_ev);
}

void
dispatcher_drain(struct dispatcher *d)
{
	d->draining = true;
	event_del(d->pass_ev);
	event_del(d->due_ev);
}

size_t
dispatcher_inflight(const struct dispatcher *d)
{
	return d->n_inflight;
}

static void
call_free(struct call *c)
{
	if (c == NULL)
		return;
	delivery_clear(&c->del);
	free(c->incident_json);
	free(c->incident_key);
	free(c->event_json);
	free(c->event_status);
	free(c->event_summary);
	free(c->detail);
	free(c->result_json);
	free(c);
}

static void
trace_attempt(struct dispatcher *d, const struct delivery *del, const char *outcome,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* One step of the delivery's own decision trace (its row's steps) per attempt, so
 * `explain` shows every try; the outcome of an attempt is traced with its update
 * (apply_outcome). */
static void
trace_attempt(struct dispatcher *d, const struct delivery *del, const char *outcome,
    const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (store_add_delivery_step(d->st, del->id, 100 + del->attempts, "delivery", outcome,
	    detail) != 0)
		log_warn("dispatcher", "cannot record the trace of delivery %lld",
		    (long long)del->id);
}

static void
on_complete(void *arg, enum incidentd_result res, uint64_t retry_after_ms, const char *detail,
    const char *result_json)
{
	struct call *c = arg;

	c->completed = true;
	c->res = res;
	c->retry_after_ms = retry_after_ms;
	c->detail = util_strdup0(detail);
	c->result_json = util_strdup0(result_json);
	arm_zero(c->d->result_ev);
}

/* Start one delivery (through the sink's recover() when recover); on failure to start,
 * the call completes as RETRY. */
static void
start_call(struct dispatcher *d, struct call *c, bool recover)
{
	struct sink_instance *si = d->sinks ? sink_set_find(d->sinks, c->del.sink) : NULL;
	struct incidentd_delivery view;
	int rc;

	if (strcmp(c->del.sink, COMMAND_SINK) == 0) {
		/* incidentd's own step: it writes to the ledger, so it runs in the results
		 * transaction (apply_outcome) */
		c->builtin = true;
		on_complete(c, INCIDENTD_OK, 0, NULL, NULL);
		return;
	}
	if (si == NULL) {
		/* Removed or disabled by a reload: nothing can ever deliver it. */
		on_complete(c, INCIDENTD_FAIL, 0, "sink is no longer configured", NULL);
		return;
	}
	if (c->incident_json == NULL || c->event_json == NULL) {
		on_complete(c, INCIDENTD_RETRY, 0, "cannot load the incident or event", NULL);
		return;
	}
	memset(&view, 0, sizeof(view));
	view.struct_size = sizeof(view);
	view.id = c->del.id;
	view.action = c->del.action;
	view.attempt = c->del.attempts;
	view.incident_id = c->del.incident_id;
	view.incident_key = c->incident_key;
	view.incident_json = c->incident_json;
	view.event_json = c->event_json;
	view.event_id = c->del.event_id;
	view.event_status = c->event_status;
	view.event_summary = c->event_summary;
	view.note_json = c->del.note;
	rc = recover ? sink_instance_recover(si, &view, on_complete, c) :
	    sink_instance_deliver(si, &view, on_complete, c);
	if (rc < 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "sink could not start the delivery (%s)", strerror(-rc));
		on_complete(c, INCIDENTD_RETRY, 0, msg, NULL);
	}
}

static void
arm_due(struct dispatcher *d)
{
	int64_t when = 0, now = util_now_ms();
	struct timeval tv;

	if (d->draining || d->n_inflight >= DISPATCH_MAX_INFLIGHT)
		return;
	if (store_next_due_time(d->st, &when) != 0)
		return;
	int64_t delay = when > now ? when - now : 0;
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	event_add(d->due_ev, &tv);
}

/* A transaction of delivery bookkeeping. It need not wait for the disk: a process crash
 * loses nothing (the WAL is written), a power loss at worst makes a delivery again, and the
 * next durable ingest commit makes it durable anyway. */
static int
bookkeeping_begin(struct dispatcher *d)
{
	store_set_durable(d->st, false);
	return store_begin(d->st);
}

/* Commit it when rc is 0, else roll it back. Returns rc or the commit's error. */
static int
bookkeeping_end(struct dispatcher *d, int rc)
{
	if (rc == 0)
		rc = store_commit(d->st);
	if (rc != 0)
		store_rollback(d->st);
	return rc;
}

/* Whether the incident of del is still firing (true when it cannot be read: deliver). */
static bool
incident_still_firing(struct dispatcher *d, const struct delivery *del)
{
	struct incident inc;
	bool firing = true;

	memset(&inc, 0, sizeof(inc));
	if (store_get_incident(d->st, del->incident_id, &inc) == 0 && inc.state != NULL)
		firing = strcmp(inc.state, "firing") == 0;
	incident_clear(&inc);
	return firing;
}

static void
dispatch_pass(evutil_socket_t fd, short what, void *arg)
{
	struct dispatcher *d = arg;
	struct delivery *rows = NULL;
	struct call **calls = NULL;
	size_t n = 0, n_calls = 0, cap;
	int64_t now = util_now_ms();
	int rc;

	(void)fd;
	(void)what;
	if (d->draining || d->sinks == NULL)
		return;
	cap = DISPATCH_MAX_INFLIGHT - d->n_inflight;
	if (cap == 0)
		return;
	/* One transaction: read what is due, mark it RUNNING and read what the sinks get (one
	 * read snapshot instead of one per query); hand the calls out after the commit. A
	 * delivery held by a `for` window whose incident no longer fires is cancelled instead. */
	rc = bookkeeping_begin(d);
	if (rc == 0)
		rc = store_due_deliveries(d->st, now, cap, &rows, &n);
	if (rc == 0 && n > 0 && (calls = calloc(n, sizeof(*calls))) == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct call *c;

		if (rows[i].requires_firing && !incident_still_firing(d, &rows[i])) {
			char step[1024];

			rows[i].state = DELIVERY_CANCELLED;
			rows[i].updated_at = now;
			free(rows[i].last_error);
			rows[i].last_error = strdup("the incident no longer fires at the end of its "
			    "for/flap window: never notified");
			snprintf(step, sizeof(step), "sink %s %s: %s", rows[i].sink, rows[i].action,
			    rows[i].last_error ? rows[i].last_error : "");
			rc = store_update_delivery_step(d->st, &rows[i], 100 + rows[i].attempts,
			    "delivery", "cancelled", step);
			if (rc == 0)
				rc = store_release_dependents(d->st, rows[i].id, false, now);
			continue;
		}
		rows[i].state = DELIVERY_RUNNING;
		rows[i].attempts++;
		rows[i].updated_at = now;
		rc = store_update_delivery(d->st, &rows[i]);
		if (rc != 0)
			break;
		if ((c = call_new(d, &rows[i])) == NULL) {   /* ownership moved into the call */
			rc = -ENOMEM;
			break;
		}
		calls[n_calls++] = c;
	}
	rc = bookkeeping_end(d, rc);
	if (rc != 0) {
		log_error("dispatcher", "cannot hand out due deliveries (%d)", rc);
		for (size_t i = 0; i < n_calls; i++)
			call_free(calls[i]);
		n_calls = 0;
	}
	for (size_t i = 0; i < n_calls; i++) {
		TAILQ_INSERT_TAIL(&d->inflight, calls[i], entry);
		d->n_inflight++;
		start_call(d, calls[i], false);
	}
	free(calls);
	delivery_free_array(rows, n);
	metrics_set("incidentd_deliveries_inflight", "", (double)d->n_inflight);
	arm_due(d);
}

/* A new call for row (ownership of its members moves into the call), with the incident
 * and event the sink gets. Returns NULL when out of memory. */
static struct call *
call_new(struct dispatcher *d, struct delivery *row)
{
	struct call *c = calloc(1, sizeof(*c));
	struct incident inc;

	if (c == NULL)
		return NULL;
	c->d = d;
	c->del = *row;
	memset(row, 0, sizeof(*row));
	memset(&inc, 0, sizeof(inc));
	if (store_get_incident(d->st, c->del.incident_id, &inc) == 0) {
		c->incident_json = incident_view_json(&inc);
		c->incident_key = inc.key;   /* moved */
		inc.key = NULL;
	}
	incident_clear(&inc);
	if (store_event_text(d->st, c->del.event_id, &c->event_json, &c->event_status,
	    &c->event_summary) != 0)
		c->event_json = NULL;
	return c;
}

size_t
dispatcher_free_slots(const struct dispatcher *d)
{
	if (d->draining || d->sinks == NULL || d->n_inflight >= DISPATCH_MAX_INFLIGHT)
		return 0;
	return DISPATCH_MAX_INFLIGHT - d->n_inflight;
}

void
dispatcher_start_ready(struct dispatcher *d, struct ready_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct ready_delivery *r = &l->v[i];
		struct call *c = calloc(1, sizeof(*c));

		if (c == NULL) {
			/* written running: the next start-up recovers or requeues it */
			log_error("dispatcher", "out of memory: delivery %lld stays running until "
			    "the next start", (long long)r->del.id);
			ready_delivery_clear(r);
			continue;
		}
		c->d = d;
		c->del = r->del;
		c->incident_json = r->incident_json;
		c->incident_key = r->incident_key;
		c->event_json = r->event_json;
		c->event_status = r->event_status;
		c->event_summary = r->event_summary;
		memset(r, 0, sizeof(*r));
		TAILQ_INSERT_TAIL(&d->inflight, c, entry);
		d->n_inflight++;
		start_call(d, c, false);
	}
	l->n = 0;
	metrics_set("incidentd_deliveries_inflight", "", (double)d->n_inflight);
}

/* Deliveries a dead process left RUNNING (handed to a sink, never completed): at start-up
 * every one of them (SQLite: one process), or, on a shared ledger (expired_only), those
 * whose claim ended, from the start and then every third of a lease. A sink with recover()
 * decides what each becomes (e.g. the runner finishes an interrupted run instead of
 * starting a second agent); the others are made again. The ones recovered here are
 * claimed by this process in the same transaction, so one replica takes each over. */
static void
dispatch_recover(struct dispatcher *d, bool expired_only, bool own)
{
	struct delivery *rows = NULL;
	struct call **calls = NULL;
	size_t n = 0, n_calls = 0;
	int requeued = 0, rc;

	rc = bookkeeping_begin(d);
	if (rc == 0)
		rc = expired_only ? store_expired_claims(d->st, util_now_ms(), own, &rows, &n) :
		    store_running_deliveries(d->st, &rows, &n);
	if (rc == 0 && n > 0 && (calls = calloc(n, sizeof(*calls))) == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct sink_instance *si = sink_set_find(d->sinks, rows[i].sink);
		struct call *c;

		if (!sink_instance_can_recover(si)) {
			rows[i].state = DELIVERY_PENDING;
			rc = store_update_delivery(d->st, &rows[i]);
			requeued++;
			continue;
		}
		trace_attempt(d, &rows[i], "recover", "sink %s %s attempt %d was left running "
		    "by a previous incidentd process: handed to the sink's recover", rows[i].sink,
		    rows[i].action, rows[i].attempts);
		if (expired_only && (rc = store_update_delivery(d->st, &rows[i])) != 0)
			break;     /* still running: claimed by this process now */
		if ((c = call_new(d, &rows[i])) == NULL) {
			rc = -ENOMEM;
			break;
		}
		calls[n_calls++] = c;
	}
	rc = bookkeeping_end(d, rc);
	if (rc != 0) {
		/* left RUNNING: the next start tries again */
		log_error("dispatcher", "cannot recover the deliveries left running (%d)", rc);
		for (size_t i = 0; i < n_calls; i++)
			call_free(calls[i]);
		n_calls = 0;
		requeued = 0;
	}
	if (requeued > 0) {
		log_info("dispatcher", "requeued %d delivery(ies) left running by a previous run",
		    requeued);
		dispatcher_kick(d);
	}
	if (n_calls > 0)
		log_info("dispatcher", "recovering %zu delivery(ies) left running by a previous "
		    "run", n_calls);
	for (size_t i = 0; i < n_calls; i++) {
		TAILQ_INSERT_TAIL(&d->inflight, calls[i], entry);
		d->n_inflight++;
		start_call(d, calls[i], true);
	}
	free(calls);
	delivery_free_array(rows, n);
	metrics_set("incidentd_deliveries_inflight", "", (double)d->n_inflight);
}

/* host->note() of a delivery in flight: on its row at once, in its own transaction. */
static int
dispatch_note(void *arg, const char *note_json)
{
	struct call *c = arg;
	struct dispatcher *d = c->d;
	char *copy = strdup(note_json);
	int rc;

	if (copy == NULL)
		return -ENOMEM;
	rc = bookkeeping_begin(d);
	if (rc == 0)
		rc = store_set_delivery_note(d->st, c->del.id, note_json);
	rc = bookkeeping_end(d, rc);
	if (rc != 0) {
		log_warn("dispatcher", "cannot record the note of delivery %lld (%d)",
		    (long long)c->del.id, rc);
		free(copy);
		return rc;
	}
	free(c->del.note);
	c->del.note = copy;
	return 0;
}

/* Run incidentd's own step of c inside the results transaction (its own savepoint: a
 * step that cannot write is retried alone). Sets c's outcome. Returns 0 or a negative
 * errno from the savepoint. */
static int
builtin_step(struct dispatcher *d, struct call *c, int64_t now)
{
	char detail[1024];
	int n = 0, rc;

	if (d->cfg == NULL) {
		c->res = INCIDENTD_RETRY;
		snprintf(detail, sizeof(detail), "no configuration yet");
	} else if ((rc = store_savepoint(d->st)) != 0) {
		return rc;
	} else if ((rc = command_step(d->st, d->cfg, &c->del, now, detail, sizeof(detail),
	    &n)) != 0) {
		store_rollback_savepoint(d->st);
		c->res = INCIDENTD_RETRY;
		snprintf(detail, sizeof(detail), "cannot apply the command (%s)", strerror(-rc));
	} else {
		if ((rc = store_release(d->st)) != 0)
			return rc;
		c->res = INCIDENTD_OK;
	}
	free(c->detail);
	c->detail = strdup(detail);
	return 0;
}

/* Write one outcome inside the results transaction. */
static int
apply_outcome(struct dispatcher *d, struct call *c, int64_t now)
{
	struct delivery *del = &c->del;
	const struct config_sink *cs = d->cfg ? config_find_sink(d->cfg, del->sink) : NULL;
	const char *outcome = "ok";
	json_t *result = NULL;
	char labels[160], when[UTIL_TIME_LEN], step[1024];
	int rc = 0;

	if (c->builtin && (rc = builtin_step(d, c, now)) != 0)
		return rc;
	free(del->last_error);
	del->last_error = util_strdup0(c->detail);
	del->updated_at = now;
	/* a result is kept with OK and with a permanent FAIL (e.g. the runner's exit code
	 * and transcript); RETRY results are dropped */
	if (c->res != INCIDENTD_RETRY) {
		if (c->result_json)
			result = json_loads(c->result_json, 0, NULL);
		if (c->result_json && !json_is_object(result)) {
			log_warn("dispatcher", "sink %s returned a result that is not a JSON "
			    "object; ignored", del->sink);
			json_decref(result);
			result = NULL;
		}
		json_decref(del->result);
		del->result = result;
	}
	switch (c->res) {
	case INCIDENTD_OK:
		del->state = DELIVERY_DONE;
		break;
	case INCIDENTD_RETRY: {
		int64_t initial = cs ? cs->retry_initial_ms : 1000;
		int64_t max = cs ? cs->retry_max_ms : 600000;
		int64_t give_up = cs ? cs->give_up_after_ms : 86400000;
		int64_t delay = c->retry_after_ms > 0 ? (int64_t)c->retry_after_ms
						       : dispatcher_backoff_ms(del->attempts, initial, max);

		outcome = "retry";
		int64_t since = del->retried_at > del->created_at ? del->retried_at :
		    del->created_at;

		if (give_up > 0 && now + delay - since > give_up) {
			del->state = DELIVERY_FAILED;
			outcome = "fail";
			char msg[512];
			snprintf(msg, sizeof(msg), "gave up after %d attempt(s): %s", del->attempts,
			    c->detail ? c->detail : "retry");
			free(del->last_error);
			del->last_error = strdup(msg);
		} else {
			del->state = DELIVERY_PENDING;
			del->next_attempt_at = now + delay;
		}
		break;
	}
	case INCIDENTD_FAIL:
	default:
		outcome = "fail";
		del->state = DELIVERY_FAILED;
		break;
	}
	free(del->last_status);
	del->last_status = strdup(outcome);
	/* the attempt's step of the trace is written with the outcome, in one statement */
	if (del->state == DELIVERY_PENDING) {
		util_format_time(del->next_attempt_at, when, sizeof(when));
		snprintf(step, sizeof(step), "sink %s %s attempt %d: %s; next attempt at %s",
		    del->sink, del->action, del->attempts, c->detail ? c->detail : "retry", when);
	} else {
		snprintf(step, sizeof(step), "sink %s %s attempt %d: %s", del->sink, del->action,
		    del->attempts, del->last_error ? del->last_error : outcome);
	}
	rc = store_update_delivery_step(d->st, del, 100 + del->attempts, "delivery", outcome,
	    step);
	if (rc == 0 && c->res != INCIDENTD_RETRY && del->result)
		rc = store_merge_incident_refs(d->st, del->incident_id, del->sink, del->result);
	if (rc == 0 && (del->state == DELIVERY_DONE || del->state == DELIVERY_FAILED))
		rc = store_release_dependents(d->st, del->id, del->state == DELIVERY_DONE, now);
	if (rc != 0)
		return rc;
	if (del->state == DELIVERY_PENDING)
		log_info("dispatcher", "delivery %lld to %s: retry at %s: %s", (long long)del->id,
		    del->sink, when, c->detail ? c->detail : "");
	else if (del->state == DELIVERY_FAILED)
		log_warn("dispatcher", "delivery %lld to %s failed: %s", (long long)del->id,
		    del->sink, del->last_error ? del->last_error : "");
	snprintf(labels, sizeof(labels), "sink=\"%s\",outcome=\"%s\"", del->sink, outcome);
	metrics_inc("incidentd_deliveries_total", labels);
	return 0;
}

static void
dispatch_results(evutil_socket_t fd, short what, void *arg)
{
	struct dispatcher *d = arg;
	struct call *c, *next;
	int64_t now = util_now_ms();
	int rc;

	(void)fd;
	(void)what;
	rc = bookkeeping_begin(d);
	for (c = TAILQ_FIRST(&d->inflight); rc == 0 && c != NULL; c = TAILQ_NEXT(c, entry))
		if (c->completed)
			rc = apply_outcome(d, c, now);
	rc = bookkeeping_end(d, rc);
	if (rc != 0) {
		struct timeval tv = { RESULT_RETRY_MS / 1000, 0 };

		log_error("dispatcher", "cannot write delivery outcomes (%d); retrying in %d ms",
		    rc, RESULT_RETRY_MS);
		metrics_inc("incidentd_ledger_commit_failures_total", "");
		event_add(d->result_ev, &tv);
		return;
	}
	for (c = TAILQ_FIRST(&d->inflight); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->completed)
			continue;
		TAILQ_REMOVE(&d->inflight, c, entry);
		d->n_inflight--;
		call_free(c);
	}
	metrics_set("incidentd_deliveries_inflight", "", (double)d->n_inflight);
	dispatcher_kick(d);
}

void
dispatcher_flush_results(struct dispatcher *d)
{
	if (event_pending(d->result_ev, EV_TIMEOUT, NULL)) {
		event_del(d->result_ev);
		dispatch_results(-1, 0, d);
	}
}

void
dispatcher_destroy(struct dispatcher *d)
{
	struct call *c;

	if (d == NULL)
		return;
	while ((c = TAILQ_FIRST(&d->inflight)) != NULL) {
		TAILQ_REMOVE(&d->inflight, c, entry);
		call_free(c);
	}
	if (d->pass_ev)
		event_free(d->pass_ev);
	if (d->due_ev)
		event_free(d->due_ev);
	if (d->result_ev)
		event_free(d->result_ev);
	if (d->claims_ev)
		event_free(d->claims_ev);
	free(d);
}
