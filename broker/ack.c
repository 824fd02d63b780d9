/* ack.c - acknowledging an incident by hand (ack.h). */
#include "ack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "incident.h"

int
ack_by_hand(struct store *st, const char *id, const char *author, const char *comment,
    bool undo, int64_t now, char *event_id)
{
	struct incident inc;
	struct ievent *ev = NULL;
	char who[300], detail[1024];
	int64_t request_id = 0;
	int rc;

	if (author != NULL && *author == '\0')
		author = NULL;
	rc = store_get_incident(st, id, &inc);
	if (rc != 0)
		return rc;
	if (strcmp(inc.state, "firing") != 0 || (undo ? inc.acked_at == 0 : inc.acked_at != 0)) {
		rc = -EALREADY;
		goto out;
	}
	if ((ev = incident_operator_event(&inc, undo ? "incident.unacknowledged" :
	    "incident.acknowledged", "info", undo ? "acknowledgement withdrawn" : "acknowledged",
	    author, comment, now)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = store_insert_request(st, "operator", now, ev->id, NULL, &request_id)) != 0 ||
	    (rc = store_insert_event(st, ev, request_id, inc.id)) != 0)
		goto out;
	if (undo) {
		snprintf(detail, sizeof(detail), "incident %s key %s: acknowledgement by %s "
		    "withdrawn by %s; notifications resume", inc.id, inc.key,
		    inc.acked_by ? inc.acked_by : "someone", author ? author : "an operator");
		incident_unack(&inc);
	} else {
		snprintf(who, sizeof(who), "operator:%s", author ? author : "unknown");
		free(inc.acked_by);
		if ((inc.acked_by = strdup(who)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		inc.acked_at = now;
		snprintf(detail, sizeof(detail), "incident %s key %s acknowledged by %s%s%s; no "
		    "update notifications until it resolves", inc.id, inc.key, who,
		    comment && *comment ? ": " : "", comment ? comment : "");
	}
	if ((rc = store_put_incident(st, &inc)) != 0 ||
	    (rc = store_insert_decision(st, ev->id, inc.id, 1, "ack", undo ? "withdrawn" :
	    "acknowledged", detail)) != 0)
		goto out;
	if (event_id != NULL)
		snprintf(event_id, UTIL_ID_LEN + 1, "%s", ev->id);
out:
	ievent_destroy(ev);
	incident_clear(&inc);
	return rc;
}
