/* command.c - `/incidentd` commands and Slack buttons applied to incidents (command.h). */
#include "command.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "incident.h"

/* --- the step ------------------------------------------------------------------------ */

static const char *
label(const json_t *ev, const char *k)
{
	return json_string_value(json_object_get(json_object_get(ev, "labels"), k));
}

int
command_put_delivery(struct store *st, const char *incident_id, const char *event_id,
    const char *sink, const char *action, int64_t depends_on, int64_t now, int64_t *id,
    int *n_deliveries)
{
	struct delivery d;
	int rc;

	memset(&d, 0, sizeof(d));
	snprintf(d.incident_id, sizeof(d.incident_id), "%s", incident_id);
	snprintf(d.event_id, sizeof(d.event_id), "%s", event_id);
	d.sink = (char *)sink;
	d.action = (char *)action;
	d.state = depends_on ? DELIVERY_BLOCKED : DELIVERY_PENDING;
	d.depends_on = depends_on;
	d.next_attempt_at = d.created_at = d.updated_at = now;
	if ((rc = store_insert_delivery(st, &d)) != 0)
		return rc;
	*id = d.id;
	(*n_deliveries)++;
	return 0;
}

int
command_schedule(struct store *st, const char *incident_id, const char *event_id,
    const char *sink, int64_t now, int64_t *check, int64_t *step, int *n_deliveries)
{
	int rc = command_put_delivery(st, incident_id, event_id, sink, "update", 0, now, check,
	    n_deliveries);

	return rc ? rc : command_put_delivery(st, incident_id, event_id, COMMAND_SINK, "update", *check,
	    now, step, n_deliveries);
}

int
command_reply(struct store *st, const char *incident_id, const char *origin_event_id,
    const char *verb, const char *duration, const char *actor, const char *outcome,
    const char *reply, const char *sink, int64_t now, int *n_deliveries)
{
	struct ievent *ev = ievent_new("incidentd");
	struct incident inc;
	int64_t id = 0;
	char summary[512];
	int64_t request_id = 0;
	int rc = -ENOMEM;

	memset(&inc, 0, sizeof(inc));
	if (ev == NULL)
		goto out;
	if ((rc = store_get_incident(st, incident_id, &inc)) != 0)
		goto out;
	rc = -ENOMEM;
	snprintf(summary, sizeof(summary), "%s", reply);
	summary[strcspn(summary, "\n")] = '\0';
	ev->received_at = ev->occurred_at = now;
	if (ievent_set(&ev->type, "incident.command") || ievent_set(&ev->status, "info") ||
	    ievent_set(&ev->cluster, inc.cluster) || ievent_set(&ev->namespace, inc.namespace) ||
	    ievent_set(&ev->app, inc.app) || ievent_set(&ev->summary, util_trim_utf8(summary)) ||
	    ievent_set(&ev->message, reply) || ievent_set(&ev->fingerprint, inc.key))
		goto out;
	if (json_object_set_new(ev->labels, "command", json_string(verb ? verb : "")) ||
	    json_object_set_new(ev->labels, "actor", json_string(actor ? actor : "")) ||
	    json_object_set_new(ev->labels, "outcome", json_string(outcome)) ||
	    json_object_set_new(ev->labels, "reply", json_string(reply)) ||
	    (origin_event_id && json_object_set_new(ev->labels, "origin_event",
	    json_string(origin_event_id))) ||
	    (duration && json_object_set_new(ev->labels, "duration", json_string(duration))))
		goto out;
	if ((ev->payload = json_pack("{s:s, s:s?, s:s?, s:s}", "incident", inc.id, "command",
	    verb, "actor", actor, "outcome", outcome)) == NULL)
		goto out;
	if ((rc = store_insert_request(st, "incidentd", now, ev->id, NULL, &request_id)) != 0 ||
	    (rc = store_insert_event(st, ev, request_id, inc.id)) != 0)
		goto out;
	if ((rc = command_put_delivery(st, inc.id, ev->id, sink, "update", 0, now, &id,
	    n_deliveries)) != 0)
		goto out;
	rc = store_insert_decision(st, ev->id, inc.id, 1, "command", outcome, reply);
	if (rc == 0) {
		char detail[300];

		snprintf(detail, sizeof(detail), "sink %s action update: delivery %lld, the reply",
		    sink, (long long)id);
		rc = store_insert_decision(st, ev->id, inc.id, 2, "delivery", "scheduled", detail);
	}
out:
	ievent_destroy(ev);
	incident_clear(&inc);
	return rc;
}

/* The sinks that run the agent for inc: enabled sinks a label triggers (trigger: label,
 * what the cluster-doctor label would start), and enabled copilot_runner sinks of its
 * route. */
static bool
is_agent_sink(const struct config *cfg, const struct config_sink *cs, const struct incident *inc)
{
	const struct config_route *r = config_find_route(cfg, inc->route);

	if (!cs->enabled)
		return false;
	if (cs->on_label)
		return true;
	if (!config_plugin_is(cs->plugin, "copilot_runner"))
		return false;
	for (size_t i = 0; r != NULL && i < r->n_sinks; i++)
		if (strcmp(r->sinks[i], cs->name) == 0)
			return true;
	return false;
}

/* /incidentd doctor: an open delivery to every agent sink of the incident. */
static int
run_doctor(struct store *st, const struct config *cfg, const struct incident *inc,
    const char *event_id, int64_t now, char *reply, size_t len, int *n_deliveries)
{
	size_t off = 0;
	int n = 0, rc = 0;

	for (size_t i = 0; rc == 0 && i < cfg->n_sinks; i++) {
		const struct config_sink *cs = &cfg->sinks[i];
		int64_t id = 0;

		if (!is_agent_sink(cfg, cs, inc))
			continue;
		if ((rc = command_put_delivery(st, inc->id, inc->last_event_id ? inc->last_event_id :
		    event_id, cs->name, "open", 0, now, &id, n_deliveries)) != 0)
			break;
		if (off < len)
			off += (size_t)snprintf(reply + off, len - off, "%s%s (delivery %lld)",
			    n ? ", " : "", cs->name, (long long)id);
		n++;
	}
	return rc != 0 ? rc : n;
}

/* /incidentd explain: the incident's state and its latest decisions, one per line. */
static int
explain_text(struct store *st, const struct incident *inc, char *out, size_t len)
{
	json_t *obj = NULL, *decisions;
	size_t off = 0, n, from;
	char when[UTIL_TIME_LEN];
	int rc;

	if ((rc = store_incident_json(st, inc->id, &obj)) != 0)
		return rc;
	util_format_time(inc->opened_at, when, sizeof(when));
	off += (size_t)snprintf(out + off, len - off, "Incident %s key %s is %s%s%s (route %s, "
	    "opened %s, %lld event(s)). Latest decisions:", inc->id, inc->key, inc->state,
	    inc->acked_at ? ", acknowledged by " : "", inc->acked_at && inc->acked_by ?
	    inc->acked_by : "", inc->route ? inc->route : "?", when, (long long)inc->event_count);
	decisions = json_object_get(obj, "decisions");
	n = json_array_size(decisions);
	from = n > 8 ? n - 8 : 0;
	for (size_t i = from; i < n && off < len; i++) {
		const json_t *d = json_array_get(decisions, i);

		off += (size_t)snprintf(out + off, len - off, "\n%s %s: %s",
		    json_string_value(json_object_get(d, "step")),
		    json_string_value(json_object_get(d, "outcome")),
		    json_string_value(json_object_get(d, "detail")));
	}
	json_decref(obj);
	return 0;
}

/* A reconciliation (reconcile.h): apply what the sink found (check: its finished delivery,
 * the result holding "last_reconcile") to incident_id; trace rows on event_id. */
static int
reconcile_apply(struct store *st, const struct delivery *check, const char *incident_id,
    const char *event_id, int64_t now, char *detail, size_t len)
{
	const json_t *f = json_object_get(check->result, "last_reconcile");
	const char *seen = json_string_value(json_object_get(f, "seen"));
	const char *was = json_string_value(json_object_get(f, "was"));
	const char *by = json_string_value(json_object_get(f, "by"));
	bool person = json_is_true(json_object_get(f, "person"));
	struct incident inc;
	const char *outcome = "unchanged";
	char who[300];
	int rc;

	memset(&inc, 0, sizeof(inc));
	if ((rc = store_get_incident(st, incident_id, &inc)) != 0)
		goto out;
	if (seen == NULL) {
		snprintf(detail, len, "sink %s reported nothing to reconcile", check->sink);
	} else if (strcmp(seen, "gone") == 0) {
		outcome = "forgotten";
		snprintf(detail, len, "the issue of incident %s is gone: sink %s forgot it; the next "
		    "notification opens a new issue", inc.id, check->sink);
	} else if (strcmp(seen, "closed") == 0 && person && by != NULL &&
	    strcmp(inc.state, "firing") == 0 && inc.acked_at == 0) {
		snprintf(who, sizeof(who), "github:%s", by);
		free(inc.acked_by);
		if ((inc.acked_by = strdup(who)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		inc.acked_at = now;
		if ((rc = store_put_incident(st, &inc)) != 0)
			goto out;
		outcome = "acknowledged";
		snprintf(detail, len, "caught up: the issue was closed by @%s (a missed webhook): "
		    "incident %s key %s acknowledged; no update notifications until it resolves",
		    by, inc.id, inc.key);
	} else if (strcmp(seen, "open") == 0 && was != NULL && strcmp(was, "closed") == 0 &&
	    inc.acked_at != 0 && inc.acked_by != NULL &&
	    strncmp(inc.acked_by, "github:", 7) == 0) {
		char *from = inc.acked_by;

		inc.acked_by = NULL;
		incident_unack(&inc);
		rc = store_put_incident(st, &inc);
		if (rc == 0) {
			outcome = "withdrawn";
			snprintf(detail, len, "caught up: the issue is open again (a missed webhook): "
			    "the acknowledgement by %s is withdrawn; notifications resume", from);
		}
		free(from);
		if (rc != 0)
			goto out;
	} else {
		snprintf(detail, len, "issue %s%s%s%s: nothing to catch up", seen,
		    by ? " by @" : "", by ? by : "", by && !person ? " (not a person)" : "");
	}
	rc = store_insert_decision(st, event_id, inc.id, 200, "reconcile", outcome, detail);
out:
	incident_clear(&inc);
	return rc;
}

int
command_step(struct store *st, const struct config *cfg, const struct delivery *del,
    int64_t now, char *detail, size_t len, int *n_deliveries)
{
	struct delivery check;
	struct incident inc;
	json_t *ev = NULL;
	char *text = NULL, actor[200], reply[4096], when[UTIL_TIME_LEN], dur[32];
	const char *verb, *who, *outcome = "done";
	struct command c;
	int rc;

	*n_deliveries = 0;
	memset(&check, 0, sizeof(check));
	memset(&inc, 0, sizeof(inc));
	memset(&c, 0, sizeof(c));
	rc = store_get_delivery(st, del->depends_on, &check);
	if (rc == -ENOENT || (rc == 0 && check.sink == NULL)) {
		snprintf(detail, len, "the check this command waited for is gone: not applied");
		rc = 0;
		goto out;
	}
	if (rc != 0 || (rc = store_event_text(st, del->event_id, &text, NULL, NULL)) != 0)
		goto out;
	if ((ev = json_loads(text, 0, NULL)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (json_string_value(json_object_get(ev, "type")) != NULL &&
	    strcmp(json_string_value(json_object_get(ev, "type")), "github.reconcile") == 0 &&
	    strcmp(json_string_value(json_object_get(ev, "source")), "incidentd") == 0) {
		rc = reconcile_apply(st, &check, del->incident_id, del->event_id, now, detail, len);
		goto out;
	}
	verb = label(ev, "command");
	c.verb = command_verb_parse(verb);
	if (c.verb == COMMAND_SILENCE && (label(ev, "duration") == NULL ||
	    util_parse_duration(label(ev, "duration"), &c.duration_ms) != 0 ||
	    c.duration_ms < COMMAND_SILENCE_MIN_MS || c.duration_ms > COMMAND_SILENCE_MAX_MS))
		c.verb = COMMAND_NONE;
	if (c.verb == COMMAND_NONE) {
		snprintf(detail, len, "event %s holds no command incidentd applies", del->event_id);
		goto out;
	}
	snprintf(c.reason, sizeof(c.reason), "%s", label(ev, "command_reason") ?
	    label(ev, "command_reason") : "");
	/* who: github:<login> or slack:<user id> (the sink of the check vouched for them) */
	if (label(ev, "slack_user") != NULL)
		snprintf(actor, sizeof(actor), "slack:%s", label(ev, "slack_user"));
	else
		snprintf(actor, sizeof(actor), "github:%s", label(ev, "sender") ?
		    label(ev, "sender") : "?");
	who = label(ev, "slack_user_name") ? label(ev, "slack_user_name") : label(ev, "sender");
	if (who == NULL)
		who = "?";
	if ((rc = store_get_incident(st, del->incident_id, &inc)) != 0)
		goto out;

	switch (c.verb) {
	case COMMAND_ACK:
		if (strcmp(inc.state, "firing") != 0) {
			snprintf(reply, sizeof(reply), "Not acknowledged: incident %s is %s.", inc.id,
			    inc.state);
			outcome = "failed";
		} else if (inc.acked_at != 0) {
			snprintf(reply, sizeof(reply), "Already acknowledged by %s.", inc.acked_by ?
			    inc.acked_by : "someone");
		} else {
			free(inc.acked_by);
			if ((inc.acked_by = strdup(actor)) == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			inc.acked_at = now;
			if ((rc = store_put_incident(st, &inc)) != 0)
				goto out;
			snprintf(reply, sizeof(reply), "Acknowledged by %s: no update notifications "
			    "until the incident resolves.", who);
		}
		break;
	case COMMAND_SILENCE: {
		char id[UTIL_ID_LEN + 1], m[600], comment[400];
		json_t *matchers;

		snprintf(m, sizeof(m), "incident_key=\"%s\"", inc.key);
		if (strchr(inc.key, '"') != NULL || strchr(inc.key, '\\') != NULL) {
			snprintf(reply, sizeof(reply), "Not silenced: the incident key cannot be "
			    "written as a matcher; use incidentctl silence.");
			outcome = "failed";
			break;
		}
		snprintf(comment, sizeof(comment), "%s", c.reason[0] ? c.reason :
		    "silenced with a command");
		if ((matchers = json_pack("[s]", m)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		rc = store_silence_add(st, matchers, now, now + c.duration_ms, comment, actor, id);
		json_decref(matchers);
		if (rc != 0)
			goto out;
		util_format_time(now + c.duration_ms, when, sizeof(when));
		snprintf(reply, sizeof(reply), "Silenced for %s by %s (silence %s, until %s): no "
		    "notifications for this incident until then.", util_format_duration(c.duration_ms,
		    dur, sizeof(dur)), who, id, when);
		break;
	}
	case COMMAND_RESOLVE: {
		char evid[UTIL_ID_LEN + 1];
		int n = 0;

		rc = incident_resolve_by_hand(st, cfg, inc.id, actor, c.reason[0] ? c.reason : NULL,
		    now, &n, evid);
		if (rc == -EALREADY) {
			snprintf(reply, sizeof(reply), "Not resolved: incident %s is already %s.",
			    inc.id, inc.state);
			outcome = "failed";
			rc = 0;
			break;
		}
		if (rc != 0)
			goto out;
		*n_deliveries += n;
		snprintf(reply, sizeof(reply), "Resolved by %s.", who);
		break;
	}
	case COMMAND_DOCTOR: {
		char list[1024] = "";

		if (strcmp(inc.state, "firing") != 0) {
			snprintf(reply, sizeof(reply), "The agent does not run: incident %s is %s.",
			    inc.id, inc.state);
			outcome = "failed";
			break;
		}
		rc = run_doctor(st, cfg, &inc, del->event_id, now, list, sizeof(list),
		    n_deliveries);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			snprintf(reply, sizeof(reply), "No agent sink (trigger: label, or a "
			    "copilot_runner of route %s) serves this incident: nothing runs.", inc.route);
			outcome = "failed";
		} else {
			snprintf(reply, sizeof(reply), "The agent runs again, asked by %s: %s.", who,
			    list);
		}
		rc = 0;
		break;
	}
	case COMMAND_EXPLAIN:
		if ((rc = explain_text(st, &inc, reply, sizeof(reply))) != 0)
			goto out;
		break;
	default:
		break;
	}
	util_trim_utf8(reply);   /* a long explanation may have been cut mid-character */
	if ((rc = command_reply(st, inc.id, del->event_id, verb, c.verb == COMMAND_SILENCE ?
	    label(ev, "duration") : NULL, actor, outcome, reply, check.sink, now,
	    n_deliveries)) != 0)
		goto out;
	snprintf(detail, len, "%s by %s: %s", verb, actor, reply);
	detail[strcspn(detail, "\n")] = '\0';
	util_trim_utf8(detail);
out:
	json_decref(ev);
	free(text);
	delivery_clear(&check);
	incident_clear(&inc);
	return rc;
}
