/* slackfeedback.c - Slack interactions written to the ledger (see slackfeedback.h). */
#include "slackfeedback.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "command.h"

static const char *
label(const struct ievent *ev, const char *k)
{
	return json_string_value(json_object_get(ev->labels, k));
}

/* The slack sink instance whose message the button is on (refs.<instance>.channel and
 * .thread_ts are the press's channel and message_ts), configured and enabled; or NULL. */
static const char *
message_owner(const struct config *cfg, const struct ievent *ev, const struct incident *inc)
{
	const char *channel = label(ev, "channel"), *ts = label(ev, "message_ts"), *instance;
	json_t *slot;

	if (channel == NULL || ts == NULL)
		return NULL;
	json_object_foreach(inc->refs, instance, slot) {
		const char *c = json_string_value(json_object_get(slot, "channel"));
		const char *t = json_string_value(json_object_get(slot, "thread_ts"));
		const struct config_sink *cs = config_find_sink(cfg, instance);

		if (c != NULL && t != NULL && strcmp(c, channel) == 0 && strcmp(t, ts) == 0 &&
		    cs != NULL && cs->enabled)
			return instance;
	}
	return NULL;
}

/* A command button on the message of one of incidentd's slack sinks: that sink checks who
 * pressed it (allowed_users, allowed_groups), then incidentd applies it (command.h). */
static int
schedule(struct store *st, const struct config *cfg, const struct ievent *ev,
    const struct incident *inc, const char *user, const char *command, int *n_deliveries)
{
	const char *instance = message_owner(cfg, ev, inc);
	char detail[512];
	int64_t check = 0, step = 0;
	int rc;

	if (instance == NULL) {
		snprintf(detail, sizeof(detail), "Slack user %s pressed %s on a message that is not "
		    "incident %s's message of a configured slack sink: recorded, nothing changes",
		    user ? user : "?", command, inc->id);
		return store_insert_decision(st, ev->id, inc->id, 1, "command", "ignored", detail);
	}
	if ((rc = command_schedule(st, inc->id, ev->id, instance, ev->received_at, &check, &step,
	    n_deliveries)) != 0)
		return rc;
	snprintf(detail, sizeof(detail), "Slack user %s pressed %s: applied (delivery %lld) once "
	    "sink %s confirmed they may act (delivery %lld)", user ? user : "?", command,
	    (long long)step, instance, (long long)check);
	return store_insert_decision(st, ev->id, inc->id, 1, "command", "scheduled", detail);
}

int
slackfeedback_apply(struct store *st, const struct config *cfg, const struct ievent *ev,
    int64_t request_id, int *n_deliveries)
{
	const char *id = label(ev, "incident_id"), *user = label(ev, "slack_user");
	const char *action = label(ev, "action_id"), *command = label(ev, "command");
	const char *incident_id = NULL;
	struct incident inc;
	char detail[512];
	int rc;

	*n_deliveries = 0;
	memset(&inc, 0, sizeof(inc));
	if (id != NULL) {
		rc = store_get_incident(st, id, &inc);
		if (rc == 0)
			incident_id = inc.id;
		else if (rc != -ENOENT)
			goto out;
	}
	if ((rc = store_insert_event(st, ev, request_id, incident_id)) != 0)
		goto out;
	if (command != NULL && incident_id != NULL) {
		rc = schedule(st, cfg, ev, &inc, user, command, n_deliveries);
		goto out;
	}
	if (action == NULL)
		snprintf(detail, sizeof(detail), "%s from Slack user %s: recorded; it is not a "
		    "button press", ev->type, user ? user : "?");
	else
		snprintf(detail, sizeof(detail), "Slack user %s pressed %s%s%s%s%s: recorded%s",
		    user ? user : "?", action, command ? " (" : "", command ? command : "",
		    command ? ")" : "", incident_id ? " on this incident" : id ? " for an "
		    "unknown incident" : "", command ? "" : "; not a command");
	rc = store_insert_decision(st, ev->id, incident_id, 1, "slack", "info", detail);
out:
	incident_clear(&inc);
	return rc;
}
