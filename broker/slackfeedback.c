/* slackfeedback.c - Slack interactions written to the ledger (see slackfeedback.h). */
#include "slackfeedback.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *
label(const struct ievent *ev, const char *k)
{
	return json_string_value(json_object_get(ev->labels, k));
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

	(void)cfg;
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
