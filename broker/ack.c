/* ack.c - acknowledging an incident by hand (ack.h). */
#include "ack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "incident.h"

/* The operator's event: about the incident's cluster, namespace and app. */
static struct ievent *
ack_event(const struct incident *inc, const char *author, const char *comment, bool undo)
{
	struct ievent *ev = ievent_new("operator");
	char summary[512];

	if (ev == NULL)
		return NULL;
	snprintf(summary, sizeof(summary), "%s by %s%s%s", undo ? "acknowledgement withdrawn" :
	    "acknowledged", author ? author : "an operator", comment && *comment ? ": " : "",
	    comment ? comment : "");
	if (ievent_set(&ev->type, undo ? "incident.unacknowledged" : "incident.acknowledged") ||
	    ievent_set(&ev->status, "info") || ievent_set(&ev->cluster, inc->cluster) ||
	    ievent_set(&ev->namespace, inc->namespace) || ievent_set(&ev->app, inc->app) ||
	    ievent_set(&ev->summary, util_trim_utf8(summary)) ||
	    ievent_set(&ev->message, comment) || ievent_set(&ev->fingerprint, inc->key) ||
	    (ev->payload = json_pack("{s:s, s:s?, s:s?, s:b}", "incident", inc->id, "author",
	    author, "comment", comment, "undo", undo)) == NULL) {
		ievent_destroy(ev);
		return NULL;
	}
	return ev;
}

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
	if ((ev = ack_event(&inc, author, comment, undo)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	ev->received_at = ev->occurred_at = now;
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
