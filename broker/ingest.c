/* ingest.c - the grouped-commit queue between sources and the ledger. */
#include "ingest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "dispatcher.h"
#include "ghfeedback.h"
#include "slackfeedback.h"
#include "incident.h"
#include "log.h"
#include "metrics.h"

struct item {
	TAILQ_ENTRY(item) entry;
	char *source;
	struct ievent_vec events;
	char sha[65];
	bool key_forever;
	ingest_done_fn done;
	void *arg;
};

TAILQ_HEAD(item_list, item);

/* A committed pass waiting for the fdatasync of its WAL frames (store_syncer) before its
 * requests are answered and its ready deliveries start. */
struct waiting {
	TAILQ_ENTRY(waiting) entry;
	uint64_t gen;                /* the sync generation that makes it durable */
	struct item_list batch;
	json_t **ids;
	int *rcs;
	bool *dups;
	struct ready_list ready;
	int n_deliveries;            /* left in the outbox (not ready) */
};

TAILQ_HEAD(waiting_list, waiting);

struct ingest {
	struct event_base *base;
	struct store *st;
	const struct config *cfg;
	struct event *pass;          /* zero-timeout event: the commit pass */
	struct item_list queue;
	size_t n_queued;
	ingest_committed_fn committed;
	void *committed_arg;
	ingest_event_fn observer;
	void *observer_arg;
	struct dispatcher *disp;     /* takes the deliveries written running (ready) */
	struct ready_list ready;     /* of the pass being written */
	struct store_syncer *syncer; /* NULL: each commit fsyncs on the loop (FULL) */
	struct event *synced;        /* the syncer's eventfd */
	struct waiting_list waiting; /* committed passes, oldest first */
	size_t waiting_ready;        /* their ready deliveries, not started yet */
	uint64_t failed_passes;      /* failed since the last log line about it */
	int64_t next_failure_log_ms; /* no such line before (monotonic) */
};

static void ingest_pass(evutil_socket_t fd, short what, void *arg);

int
ingest_new(struct event_base *base, struct store *st, ingest_committed_fn committed,
    void *arg, struct ingest **out)
{
	struct ingest *ing = calloc(1, sizeof(*ing));

	if (ing == NULL)
		return -ENOMEM;
	ing->base = base;
	ing->st = st;
	ing->committed = committed;
	ing->committed_arg = arg;
	TAILQ_INIT(&ing->queue);
	TAILQ_INIT(&ing->waiting);
	ing->pass = event_new(base, -1, 0, ingest_pass, ing);
	if (ing->pass == NULL) {
		free(ing);
		return -ENOMEM;
	}
	*out = ing;
	return 0;
}

void
ingest_set_config(struct ingest *ing, const struct config *cfg)
{
	ing->cfg = cfg;
}

void
ingest_set_dispatcher(struct ingest *ing, struct dispatcher *d)
{
	ing->disp = d;
}

void
ingest_set_observer(struct ingest *ing, ingest_event_fn fn, void *arg)
{
	ing->observer = fn;
	ing->observer_arg = arg;
}

int
ingest_submit(struct ingest *ing, const char *source, struct ievent_vec *events,
    const char *payload_sha256, bool key_forever, ingest_done_fn done, void *arg)
{
	struct item *it;

	/* the events are final: their JSON text (for the ledger row and the live tail) is
	 * written now, on the way in, rather than in the commit pass, which the requests of
	 * the pass wait for */
	for (size_t i = 0; i < events->n; i++)
		if (ievent_json_text(events->v[i]) == NULL)
			return -ENOMEM;
	it = calloc(1, sizeof(*it));
	if (it == NULL || (it->source = strdup(source)) == NULL) {
		free(it);
		return -ENOMEM;
	}
	it->events = *events;
	memset(events, 0, sizeof(*events));
	snprintf(it->sha, sizeof(it->sha), "%s", payload_sha256);
	it->key_forever = key_forever;
	it->done = done;
	it->arg = arg;
	TAILQ_INSERT_TAIL(&ing->queue, it, entry);
	ing->n_queued++;
	if (!event_pending(ing->pass, EV_TIMEOUT, NULL)) {
		struct timeval zero = { 0, 0 };
		event_add(ing->pass, &zero);
	}
	return 0;
}

void
ingest_report_checkpoints(struct ingest *ing)
{
	uint64_t made, failed;

	if (ing == NULL || ing->syncer == NULL)
		return;
	store_syncer_checkpoints(ing->syncer, &made, &failed);
	metrics_set("incidentd_ledger_checkpoints_total", NULL, (double)made);
	metrics_set("incidentd_ledger_checkpoint_failures_total", NULL, (double)failed);
}

size_t
ingest_pending(const struct ingest *ing)
{
	return ing->n_queued;
}

/* Write one submission inside the open transaction, in a savepoint of its own when
 * `alone` (then an error undoes only this submission; otherwise the caller rolls the whole
 * transaction back). *ids is left with what was written before an error (ignored by the
 * caller). */
static int
item_write(struct ingest *ing, struct item *it, int64_t now, json_t *ids, bool *dup,
    int *n_deliveries, bool alone)
{
	json_t *prev = NULL;
	int64_t request_id = 0;
	size_t ready_mark = ing->ready.n;
	int rc;

	*dup = false;
	if (alone && (rc = store_savepoint(ing->st)) != 0)
		return rc;
	if (ing->cfg->dedup_window_ms > 0 || it->key_forever) {
		rc = store_find_duplicate(ing->st, it->source, it->sha,
		    it->key_forever ? 0 : now - ing->cfg->dedup_window_ms, &prev);
		if (rc != 0)
			goto fail;
		if (json_array_size(prev) > 0) {
			json_array_extend(ids, prev);
			json_decref(prev);
			*dup = true;
			return alone ? store_release(ing->st) : 0;
		}
		json_decref(prev);
	}
	/* one request row; what the events share (payload_shared: the same object for all of
	 * them) is stored there once */
	rc = store_insert_request(ing->st, it->source, it->events.n > 0 ?
	    it->events.v[0]->received_at : now, it->sha, it->events.n > 0 ?
	    it->events.v[0]->payload_shared : NULL, &request_id);
	if (rc != 0)
		goto fail;
	for (size_t i = 0; i < it->events.n; i++) {
		struct ievent *ev = it->events.v[i];
		int n = 0;

		free(ev->incident_key);
		/* what people did on GitHub is applied to incidents, never routed as an alert */
		if (strcmp(it->source, "github") == 0)
			rc = ghfeedback_apply(ing->st, ing->cfg, ev, request_id, &n);
		else if (strcmp(it->source, "slack") == 0)
			rc = slackfeedback_apply(ing->st, ing->cfg, ev, request_id, &n);
		else
			rc = incident_apply(ing->st, ing->cfg, ev, request_id, now, &n,
			    &ev->incident_key, &ing->ready);
		if (rc != 0)
			goto fail;
		*n_deliveries += n;
		json_array_append_new(ids, json_string(ev->id));
	}
	return alone ? store_release(ing->st) : 0;
fail:
	if (alone) {
		store_rollback_savepoint(ing->st);
		ready_list_truncate(&ing->ready, ready_mark);
	}
	return rc;
}

/* Write every submission of the batch in the open transaction. Returns 0 when all were
 * written, 1 when one failed (the caller rolls back and writes them again one savepoint
 * each: then only the bad one fails), or a negative errno from the savepoints. */
static int
batch_write(struct ingest *ing, struct item_list *batch, int64_t now, json_t **ids, int *rcs,
    bool *dups, int *n_deliveries, bool alone)
{
	struct item *it;
	size_t i = 0;

	*n_deliveries = 0;
	TAILQ_FOREACH(it, batch, entry) {
		json_decref(ids[i]);
		ids[i] = json_array();
		rcs[i] = ids[i] ? item_write(ing, it, now, ids[i], &dups[i], n_deliveries, alone)
				: -ENOMEM;
		if (rcs[i] != 0 && !alone)
			return 1;
		i++;
	}
	return 0;
}

static void
item_free(struct item *it)
{
	ievent_vec_clear(&it->events);
	free(it->source);
	free(it);
}

/* Answer the requests of a pass (rc != 0: everything gets 503 with error), start its ready
 * deliveries and report the ones left in the outbox when it was written (committed: also
 * when only the fsync that should have made it durable failed). Frees what it is given. */
static void
answer_batch(struct ingest *ing, struct item_list *batch, json_t **ids, int *rcs, bool *dups,
    int rc, const char *error, bool written, struct ready_list *ready, int n_deliveries)
{
	struct item *it;
	size_t i = 0;

	if (rc != 0) {
		/* one line per 10 s while the ledger keeps failing (a database that is down
		 * fails every pass), with how many passes failed since the last line */
		int64_t now = util_mono_ms();

		ing->failed_passes++;
		if (now >= ing->next_failure_log_ms) {
			log_error("ingest", "%s (%s): answering 503 (%llu pass(es) failed since the "
			    "last report)", error, store_last_error(ing->st),
			    (unsigned long long)ing->failed_passes);
			ing->failed_passes = 0;
			ing->next_failure_log_ms = now + 10000;
		}
		metrics_inc("incidentd_ledger_commit_failures_total", "");
	}
	while ((it = TAILQ_FIRST(batch)) != NULL) {
		struct ingest_result res = { 0 };
		char labels[128];

		TAILQ_REMOVE(batch, it, entry);
		res.ids = ids ? ids[i] : NULL;
		if (rc != 0 || rcs == NULL || rcs[i] != 0) {
			res.status = 503;
			res.error = error ? error : "cannot write to the ledger";
			if (rc == 0)
				log_error("ingest", "cannot write %s request (%d)", it->source,
				    rcs[i]);
		} else {
			res.status = 202;
			res.duplicate = dups[i];
			res.accepted = dups[i] ? 0 : (int)it->events.n;
			snprintf(labels, sizeof(labels), "source=\"%s\"", it->source);
			metrics_add(dups[i] ? "incidentd_events_duplicate_total"
					    : "incidentd_events_accepted_total",
			    labels, dups[i] ? 1 : (double)it->events.n);
			for (size_t k = 0; !dups[i] && ing->observer && k < it->events.n; k++)
				ing->observer(ing->observer_arg, it->events.v[k]);
		}
		it->done(it->arg, &res);
		if (ids)
			json_decref(ids[i]);
		item_free(it);
		i++;
	}
	free(ids);
	free(rcs);
	free(dups);
	/* committed even when the fsync failed: the rows exist, so they run */
	if (ready->n > 0 && ing->disp != NULL)
		dispatcher_start_ready(ing->disp, ready);
	ready_list_truncate(ready, 0);
	if (written && n_deliveries > 0 && ing->committed)
		ing->committed(ing->committed_arg, n_deliveries);
}

/* Answer the waiting passes whose sync is done (all of them with wait: blocking). */
static void
release_waiting(struct ingest *ing, bool wait)
{
	struct waiting *w;
	uint64_t done = 0;
	int broken;

	/* the eventfd is cleared either way (a wait leaves it readable) */
	broken = store_syncer_collect(ing->syncer, &done);
	if (wait && !TAILQ_EMPTY(&ing->waiting)) {
		done = TAILQ_LAST(&ing->waiting, waiting_list)->gen;
		broken = store_syncer_wait(ing->syncer, done);
	}
	while ((w = TAILQ_FIRST(&ing->waiting)) != NULL && w->gen <= done) {
		TAILQ_REMOVE(&ing->waiting, w, entry);
		ing->waiting_ready -= w->ready.n;
		if (broken != 0)
			metrics_inc("incidentd_ledger_sync_failures_total", "");
		answer_batch(ing, &w->batch, w->ids, w->rcs, w->dups, broken, broken ?
		    "cannot make the ledger durable (fdatasync of its WAL failed); retry" : NULL,
		    true, &w->ready, w->n_deliveries);
		ready_list_clear(&w->ready);
		free(w);
	}
}

static void
on_synced(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *ing = arg;

	(void)fd;
	(void)what;
	release_waiting(ing, false);
}

/* Keep a committed pass until its sync is done. Returns 0, or -ENOMEM (the caller answers
 * it at once: it is committed, only not yet known to be durable). */
static int
wait_for_sync(struct ingest *ing, struct item_list *batch, json_t **ids, int *rcs, bool *dups,
    int n_deliveries)
{
	struct waiting *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -ENOMEM;
	TAILQ_INIT(&w->batch);
	TAILQ_CONCAT(&w->batch, batch, entry);
	w->ids = ids;
	w->rcs = rcs;
	w->dups = dups;
	w->ready = ing->ready;
	memset(&ing->ready, 0, sizeof(ing->ready));
	w->n_deliveries = n_deliveries;
	ing->waiting_ready += w->ready.n;
	w->gen = store_syncer_request(ing->syncer);
	TAILQ_INSERT_TAIL(&ing->waiting, w, entry);
	return 0;
}

/* Commit what is queued as one pass. It does not wait for the fsync of an earlier pass:
 * the syncer's next fdatasync covers both, and each pass is answered once its own commit
 * is durable (struct waiting). Waiting for it instead left the loop idle during every
 * fsync and made each request wait for two. */
static void
pass_run(struct ingest *ing)
{
	struct item_list batch = TAILQ_HEAD_INITIALIZER(batch);
	size_t n = 0, slots;
	json_t **ids = NULL;
	int *rcs = NULL;
	bool *dups = NULL;
	int n_deliveries = 0, rc;
	int64_t now = util_now_ms(), t0;
	const char *error = NULL;

	TAILQ_CONCAT(&batch, &ing->queue, entry);
	n = ing->n_queued;
	ing->n_queued = 0;
	if (n == 0)
		return;
	ids = calloc(n, sizeof(*ids));
	rcs = calloc(n, sizeof(*rcs));
	dups = calloc(n, sizeof(*dups));
	if (ids == NULL || rcs == NULL || dups == NULL) {
		error = "out of memory";
		rc = -ENOMEM;
		goto answer;
	}

	t0 = util_mono_ms();
	slots = ing->disp ? dispatcher_free_slots(ing->disp) : 0;
	ing->ready.max = slots > ing->waiting_ready ? slots - ing->waiting_ready : 0;
	/* with a syncer, the commit writes the WAL and the syncer's thread fsyncs it; without
	 * one, the commit waits for the disk */
	store_set_durable(ing->st, ing->syncer == NULL);
	rc = store_begin(ing->st);
	if (rc != 0) {
		error = "cannot begin a ledger transaction";
		goto answer;
	}
	/* no savepoint per request (each one wrote SQLite's statement journal to a temporary
	 * file): when a request fails, the pass is rolled back and written again with one
	 * savepoint per request, so the bad one fails alone */
	rc = batch_write(ing, &batch, now, ids, rcs, dups, &n_deliveries, false);
	if (rc == 1) {
		log_warn("ingest", "a request of this pass (%zu) failed: writing them again one at a "
		    "time", n);
		store_rollback(ing->st);
		ready_list_truncate(&ing->ready, 0);
		rc = store_begin(ing->st);
		if (rc != 0) {
			error = "cannot begin a ledger transaction";
			goto answer;
		}
		rc = batch_write(ing, &batch, now, ids, rcs, dups, &n_deliveries, true);
	}
	if (rc != 0) {
		store_rollback(ing->st);
		error = "cannot write to the ledger";
		goto answer;
	}
	rc = store_commit(ing->st);
	if (rc != 0) {
		store_rollback(ing->st);
		error = "cannot commit to the ledger";
		goto answer;
	}
	metrics_observe_commit((double)(util_mono_ms() - t0) / 1000.0);

answer:
	if (rc != 0)
		ready_list_truncate(&ing->ready, 0);   /* rolled back: those rows do not exist */
	n_deliveries -= (int)ing->ready.n;
	if (rc == 0 && ing->syncer != NULL &&
	    wait_for_sync(ing, &batch, ids, rcs, dups, n_deliveries) == 0)
		return;
	answer_batch(ing, &batch, ids, rcs, dups, rc, error, rc == 0, &ing->ready, n_deliveries);
}

static void
ingest_pass(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pass_run(arg);
}

int
ingest_enable_sync(struct ingest *ing)
{
	int rc = store_syncer_new(ing->st, &ing->syncer);

	if (rc != 0)
		return rc;
	ing->synced = event_new(ing->base, store_syncer_fd(ing->syncer), EV_READ | EV_PERSIST,
	    on_synced, ing);
	if (ing->synced == NULL || event_add(ing->synced, NULL) != 0) {
		event_free(ing->synced);
		ing->synced = NULL;
		store_syncer_destroy(ing->syncer);
		ing->syncer = NULL;
		return -ENOMEM;
	}
	return 0;
}

void
ingest_flush(struct ingest *ing)
{
	if (ing->n_queued > 0) {
		event_del(ing->pass);
		pass_run(ing);
	}
	if (ing->syncer != NULL)
		release_waiting(ing, true);
}

void
ingest_destroy(struct ingest *ing)
{
	if (ing == NULL)
		return;
	ingest_flush(ing);
	if (ing->synced != NULL)
		event_free(ing->synced);
	store_syncer_destroy(ing->syncer);
	ready_list_clear(&ing->ready);
	event_free(ing->pass);
	free(ing);
}
