/* reconcile.c - reading the issues of firing incidents back from GitHub (reconcile.h). */
#include "reconcile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "event.h"
#include "log.h"
#include "metrics.h"

#define RECONCILE_FIRST_MS 1000      /* the first pass, after start or a reload */
#define RECONCILE_PAGE 500           /* incidents read per query */

struct reconcile {
	struct event_base *base;
	struct store *st;
	struct dispatcher *disp;
	const struct config *cfg;
	int64_t interval_ms;
	struct event *timer;
};

static void on_timer(evutil_socket_t fd, short what, void *arg);

int
reconcile_new(struct event_base *base, struct store *st, struct dispatcher *disp,
    struct reconcile **out)
{
	struct reconcile *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return -ENOMEM;
	r->base = base;
	r->st = st;
	r->disp = disp;
	r->timer = evtimer_new(base, on_timer, r);
	if (r->timer == NULL) {
		free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

static void
arm(struct reconcile *r, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(r->timer, &tv);
}

void
reconcile_apply_config(struct reconcile *r, const struct config *cfg)
{
	const struct config_source *gh = config_find_source(cfg, "github");
	int64_t interval = gh != NULL && gh->enabled ? gh->reconcile_ms : 0;

	r->cfg = cfg;
	if (interval == r->interval_ms && evtimer_pending(r->timer, NULL))
		return;
	r->interval_ms = interval;
	evtimer_del(r->timer);
	if (interval > 0)
		arm(r, RECONCILE_FIRST_MS < interval ? RECONCILE_FIRST_MS : interval);
}

/* Whether sink is a github_issue instance of cfg that is enabled. */
static bool
is_issue_sink(const struct config *cfg, const char *sink)
{
	const struct config_sink *cs = config_find_sink(cfg, sink);

	return cs != NULL && cs->enabled && config_plugin_is(cs->plugin, "github_issue");
}

/* The pass's event, written on first use. */
static int
pass_event(struct store *st, int64_t now, char *event_id)
{
	struct ievent *ev;
	int64_t request_id = 0;
	int rc = -ENOMEM;

	if (event_id[0] != '\0')
		return 0;
	if ((ev = ievent_new("incidentd")) == NULL)
		return -ENOMEM;
	ev->received_at = ev->occurred_at = now;
	if (ievent_set(&ev->type, "github.reconcile") || ievent_set(&ev->status, "info") ||
	    ievent_set(&ev->summary, "the issues of firing incidents read back from GitHub "
	    "(missed webhooks)") || ievent_set(&ev->fingerprint, "github.reconcile") ||
	    (ev->payload = json_object()) == NULL)
		goto out;
	if ((rc = store_insert_request(st, "incidentd", now, ev->id, NULL, &request_id)) != 0 ||
	    (rc = store_insert_event(st, ev, request_id, NULL)) != 0)
		goto out;
	snprintf(event_id, UTIL_ID_LEN + 1, "%s", ev->id);
out:
	ievent_destroy(ev);
	return rc;
}

/* The deliveries of one incident (a row of store_list_incidents). */
static int
reconcile_incident(struct reconcile *r, const json_t *inc, int64_t now, char *event_id,
    int *seq, int *n_deliveries)
{
	const char *id = json_string_value(json_object_get(inc, "id")), *sink;
	json_t *slot;
	int rc = 0;

	json_object_foreach(json_object_get(inc, "refs"), sink, slot) {
		json_t *issue = json_object_get(slot, "issue");
		struct sink_history h;
		int64_t check, step;
		char detail[300];

		if (!json_is_integer(issue) || json_integer_value(issue) <= 0 ||
		    !is_issue_sink(r->cfg, sink))
			continue;
		if ((rc = store_sink_history(r->st, id, sink, &h)) != 0)
			return rc;
		if (h.active)
			continue;   /* the sink is at it anyway; the next pass looks again */
		if ((rc = pass_event(r->st, now, event_id)) != 0)
			return rc;
		if ((rc = command_schedule(r->st, id, event_id, sink, now, &check, &step,
		    n_deliveries)) != 0)
			return rc;
		snprintf(detail, sizeof(detail), "incident %s: sink %s reads issue #%lld back "
		    "(delivery %lld), then incidentd applies what changed (delivery %lld)", id, sink,
		    (long long)json_integer_value(issue), (long long)check, (long long)step);
		if ((rc = store_insert_decision(r->st, event_id, id, ++*seq, "reconcile",
		    "scheduled", detail)) != 0)
			return rc;
	}
	return 0;
}

int
reconcile_pass(struct reconcile *r, int64_t now, int *n_deliveries)
{
	struct store_query q = { .limit = RECONCILE_PAGE, .state = "firing" };
	char event_id[UTIL_ID_LEN + 1] = "", last[UTIL_ID_LEN + 1] = "";
	json_t *page = NULL;
	int seq = 0, rc;

	*n_deliveries = 0;
	if (r->cfg == NULL)
		return 0;
	store_set_durable(r->st, false);
	rc = store_begin(r->st);
	while (rc == 0) {
		size_t i, n;
		json_t *inc;

		q.before_id = last[0] ? last : NULL;
		if ((rc = store_list_incidents(r->st, &q, &page)) != 0)
			break;
		n = json_array_size(page);
		json_array_foreach(page, i, inc) {
			if ((rc = reconcile_incident(r, inc, now, event_id, &seq, n_deliveries)) != 0)
				break;
			snprintf(last, sizeof(last), "%s", json_string_value(json_object_get(inc,
			    "id")));
		}
		json_decref(page);
		page = NULL;
		if (n < RECONCILE_PAGE)
			break;
	}
	if (rc == 0)
		rc = store_commit(r->st);
	if (rc != 0) {
		store_rollback(r->st);
		*n_deliveries = 0;
	}
	return rc;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct reconcile *r = arg;
	int n = 0, rc;

	(void)fd;
	(void)what;
	rc = reconcile_pass(r, util_now_ms(), &n);
	if (rc != 0)
		log_warn("reconcile", "cannot schedule the reconciliation with GitHub (%s); next "
		    "try in %lld s", strerror(-rc), (long long)(r->interval_ms / 1000));
	else if (n > 0)
		dispatcher_kick(r->disp);
	metrics_inc("incidentd_github_reconcile_passes_total", rc ? "result=\"error\"" :
	    "result=\"ok\"");
	if (r->interval_ms > 0)
		arm(r, r->interval_ms);
}

void
reconcile_destroy(struct reconcile *r)
{
	if (r == NULL)
		return;
	event_free(r->timer);
	free(r);
}
