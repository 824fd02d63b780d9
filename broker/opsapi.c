/* opsapi.c - operator verbs over HTTP (opsapi.h). */
#include "opsapi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "ack.h"
#include "httputil.h"
#include "incident.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

/* The request body as a JSON object of the given string keys (an empty body is {}; a
 * null member counts as absent), or NULL after answering 400. */
static json_t *
body_object(struct evhttp_request *req, const char *const *keys)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_error_t jerr;
	const char *k;
	json_t *o, *v;
	char msg[256];

	o = len ? json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &jerr) :
	    json_object();
	if (!json_is_object(o)) {
		json_decref(o);
		http_reply_error(req, 400, "expected a JSON object");
		return NULL;
	}
	json_object_foreach(o, k, v) {
		bool known = false;

		for (size_t i = 0; keys[i] != NULL; i++)
			known = known || strcmp(k, keys[i]) == 0;
		if (!known || !(json_is_string(v) || json_is_null(v))) {
			snprintf(msg, sizeof(msg), known ? "%.64s: expected a string" :
			    "unknown member '%.64s'", k);
			json_decref(o);
			http_reply_error(req, 400, msg);
			return NULL;
		}
	}
	return o;
}

/* Run fn inside one ledger transaction; 0 or its (or the commit's) negative errno. */
static int
in_transaction(struct store *st, int rc_of_begin, int rc)
{
	(void)rc_of_begin;
	if (rc == 0)
		rc = store_commit(st);
	if (rc != 0)
		store_rollback(st);
	return rc;
}

static void
resolve(struct daemon *dmn, struct evhttp_request *req, const char *id)
{
	static const char *const keys[] = { "comment", "author", NULL };
	json_t *body = body_object(req, keys);
	char event_id[UTIL_ID_LEN + 1] = "", msg[256];
	int n = 0, rc;

	if (body == NULL)
		return;
	/* an operator's action is on the disk before it is answered */
	store_set_durable(dmn->store, true);
	rc = store_begin(dmn->store);
	if (rc == 0)
		rc = in_transaction(dmn->store, rc, incident_resolve_by_hand(dmn->store, dmn->cfg,
		    id, json_string_value(json_object_get(body, "author")),
		    json_string_value(json_object_get(body, "comment")), util_now_ms(), &n,
		    event_id));
	if (rc == -ENOENT) {
		http_reply_error(req, 404, "no such incident");
	} else if (rc == -EALREADY) {
		snprintf(msg, sizeof(msg), "incident %.30s is not firing: nothing to resolve", id);
		http_reply_error(req, 409, msg);
	} else if (rc != 0) {
		http_reply_error(req, 503, "cannot write to the ledger; retry");
	} else {
		log_info("ops", "incident %s resolved by hand (event %s, %d delivery(ies))", id,
		    event_id, n);
		metrics_inc("incidentd_operator_actions_total", "action=\"resolve\"");
		http_reply_json(req, 200, json_pack("{s:s, s:s, s:i}", "incident", id, "event",
		    event_id, "deliveries", n));
		dispatcher_kick(dmn->disp);
	}
	json_decref(body);
}

static void
ack(struct daemon *dmn, struct evhttp_request *req, const char *id, bool undo)
{
	static const char *const keys[] = { "comment", "author", NULL };
	json_t *body = body_object(req, keys);
	char event_id[UTIL_ID_LEN + 1] = "", msg[256];
	int rc;

	if (body == NULL)
		return;
	/* an operator's action is on the disk before it is answered */
	store_set_durable(dmn->store, true);
	rc = store_begin(dmn->store);
	if (rc == 0)
		rc = in_transaction(dmn->store, rc, ack_by_hand(dmn->store, id,
		    json_string_value(json_object_get(body, "author")),
		    json_string_value(json_object_get(body, "comment")), undo, util_now_ms(),
		    event_id));
	if (rc == -ENOENT) {
		http_reply_error(req, 404, "no such incident");
	} else if (rc == -EALREADY) {
		snprintf(msg, sizeof(msg), "incident %.30s is not firing or %s", id, undo ?
		    "not acknowledged: nothing to withdraw" : "already acknowledged");
		http_reply_error(req, 409, msg);
	} else if (rc != 0) {
		http_reply_error(req, 503, "cannot write to the ledger; retry");
	} else {
		log_info("ops", "incident %s %s by hand (event %s)", id, undo ?
		    "unacknowledged" : "acknowledged", event_id);
		metrics_inc("incidentd_operator_actions_total", undo ? "action=\"unack\"" :
		    "action=\"ack\"");
		http_reply_json(req, 200, json_pack("{s:s, s:s, s:b}", "incident", id, "event",
		    event_id, "acknowledged", !undo));
	}
	json_decref(body);
}

static void
retry(struct daemon *dmn, struct evhttp_request *req, const char *id_text)
{
	static const char *const keys[] = { "sink", NULL };
	json_t *body = body_object(req, keys);
	enum delivery_state state = DELIVERY_PENDING;
	char msg[256], *end = NULL;
	int64_t id = 0;
	int n = 0, rc;

	if (body == NULL)
		return;
	if (id_text != NULL) {
		id = strtoll(id_text, &end, 10);
		if (*end != '\0' || id <= 0) {
			http_reply_error(req, 404, "no such delivery");
			goto out;
		}
	}
	/* an operator's action is on the disk before it is answered */
	store_set_durable(dmn->store, true);
	rc = store_begin(dmn->store);
	if (rc == 0) {
		int op = id_text ? store_retry_delivery(dmn->store, id, util_now_ms(), &state) :
		    store_retry_failed(dmn->store, json_string_value(json_object_get(body, "sink")),
		    util_now_ms(), &n);

		rc = in_transaction(dmn->store, rc, op);
		if (id_text && rc == 0)
			n = 1;
	}
	if (rc == -ENOENT) {
		http_reply_error(req, 404, "no such delivery");
	} else if (rc == -EINVAL) {
		snprintf(msg, sizeof(msg), "delivery %lld is %s, not failed: nothing to retry",
		    (long long)id, delivery_state_name(state));
		http_reply_error(req, 409, msg);
	} else if (rc != 0) {
		http_reply_error(req, 503, "cannot write to the ledger; retry");
	} else {
		log_info("ops", "%d failed delivery(ies) re-driven by an operator", n);
		metrics_add("incidentd_operator_actions_total", "action=\"retry\"", n);
		http_reply_json(req, 200, json_pack("{s:i}", "retried", n));
		dispatcher_kick(dmn->disp);
	}
out:
	json_decref(body);
}

void
opsapi_handle(struct daemon *dmn, struct evhttp_request *req, const char *path)
{
	char id[128];
	size_t n;

	if (strcmp(path, "/v1/deliveries/retry") == 0) {
		retry(dmn, req, NULL);
	} else if (strncmp(path, "/v1/incidents/", 14) == 0) {
		/* access.c matched /v1/incidents/{id}/{resolve,ack,unack} */
		const char *verb = strrchr(path, '/');

		n = (size_t)(verb - path) - 14;
		snprintf(id, sizeof(id), "%.*s", (int)(n < sizeof(id) ? n : sizeof(id) - 1),
		    path + 14);
		if (strcmp(verb, "/resolve") == 0)
			resolve(dmn, req, id);
		else
			ack(dmn, req, id, strcmp(verb, "/unack") == 0);
	} else {
		n = strlen(path) - 15 - strlen("/retry");
		snprintf(id, sizeof(id), "%.*s", (int)(n < sizeof(id) ? n : sizeof(id) - 1),
		    path + 15);
		retry(dmn, req, id);
	}
}
