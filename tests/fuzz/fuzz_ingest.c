/* fuzz_ingest.c - libFuzzer target for the JSON -> event path as the HTTP server and the
 * ledger take it: jsonread_loadb, the source's normalizer, ievent_to_json and the compact text
 * the store writes (event and payload), then what the CLI and the read API do with that
 * text: ievent_from_json (which must give back the same event) and ievent_get_field.
 *
 * Input: one byte choosing the endpoint (value % 12), then the body:
 *   0 POST /v1/events/argocd            1 POST /repos/my-org/platform/dispatches
 *   2 POST /v1/events/alertmanager      3 POST /v1/events/flux
 *   4 POST /v1/events, structured       5 POST /v1/events, batch
 *   6 POST /v1/events as application/json (binary mode without ce-* headers)
 *   7..11 a nanomsg message, format argocd, alertmanager, flux, cloudevents, event
 *         (source_normalize_message(), which parses the JSON itself)
 * Seeds use '0'..'9', ':' and ';' (48 + n) as that byte. */
#include <sys/queue.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>

#include "fuzz.h"

static const struct {
	const char *source;
	source_normalize_fn normalize;
} endpoints[] = {
	{ "argocd", argocd_normalize },
	{ "argocd", argocd_normalize },
	{ "alertmanager", alertmanager_normalize },
	{ "flux", flux_normalize },
	{ "cloudevents", cloudevents_normalize },
	{ "cloudevents", cloudevents_normalize },
	{ "cloudevents", cloudevents_normalize },
	{ "argocd", NULL },             /* 7..11: source_normalize_message(source, ...) */
	{ "alertmanager", NULL },
	{ "flux", NULL },
	{ "cloudevents", NULL },
	{ "event", NULL },
};

#define N_ENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

/* Field names a route's match or group_by may use. */
static const char *const fields[] = {
	"source", "type", "status", "severity", "cluster", "namespace", "app", "revision",
	"repo_url", "summary", "fingerprint", "labels.alertname", "labels.health_status",
	"annotations.summary", "payload.status", "payload.alert.labels.severity",
	"payload.involvedObject.kind", "payload.data.cluster", "payload",
};

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

#define SAME_STR(f) do { \
	if (!str_eq(a->f, b->f)) \
		fuzz_fail("round trip changed " #f ": '%s' -> '%s'", a->f ? a->f : "(null)", \
		    b->f ? b->f : "(null)"); \
} while (0)

/* ievent_from_json(text of ievent_to_json(a)) must be a again. */
static void
check_round_trip(const struct ievent *a, const struct ievent *b)
{
	SAME_STR(source); SAME_STR(type); SAME_STR(status); SAME_STR(severity);
	SAME_STR(cluster); SAME_STR(namespace); SAME_STR(app); SAME_STR(revision);
	SAME_STR(repo_url); SAME_STR(health); SAME_STR(sync); SAME_STR(summary);
	SAME_STR(message); SAME_STR(fingerprint);
	if (strcmp(a->id, b->id) != 0)
		fuzz_fail("round trip changed id");
	if (a->occurred_at != b->occurred_at || a->received_at != b->received_at)
		fuzz_fail("round trip changed a time: occurred_at %lld -> %lld, received_at "
		    "%lld -> %lld", (long long)a->occurred_at, (long long)b->occurred_at,
		    (long long)a->received_at, (long long)b->received_at);
	if (a->resource_health_reported != b->resource_health_reported)
		fuzz_fail("round trip changed resource_health_reported");
	if (a->n_resources != b->n_resources)
		fuzz_fail("round trip changed n_resources %zu -> %zu", a->n_resources,
		    b->n_resources);
	for (size_t i = 0; i < a->n_resources; i++) {
		SAME_STR(resources[i].group); SAME_STR(resources[i].kind);
		SAME_STR(resources[i].name); SAME_STR(resources[i].namespace);
		SAME_STR(resources[i].health); SAME_STR(resources[i].sync);
		SAME_STR(resources[i].message);
	}
	if (!json_equal(a->labels, b->labels) || !json_equal(a->annotations, b->annotations))
		fuzz_fail("round trip changed labels or annotations");
}

/* What store_ingest writes for ev, then what the CLI rebuilds from it. */
static void
store_and_reload(const struct ievent *ev)
{
	json_t *obj = NULL, *back = NULL;
	char *event_text = NULL, *payload_text = NULL, *v, err[256];
	struct ievent *re = NULL;
	json_error_t jerr;
	int rc;

	obj = ievent_to_json(ev, false);
	if (obj == NULL || (event_text = json_dumps(obj, JSON_COMPACT)) == NULL)
		fuzz_fail("%s: event text", ev->source);
	payload_text = json_dumps(ev->payload, JSON_COMPACT | JSON_ENCODE_ANY);
	if (payload_text == NULL)
		fuzz_fail("%s: payload text", ev->source);
	back = json_loads(event_text, 0, &jerr);
	if (back == NULL)
		fuzz_fail("%s: stored event text does not parse: %s", ev->source, jerr.text);
	err[0] = '\0';
	if ((rc = ievent_from_json(back, &re, err, sizeof(err))) != 0)
		fuzz_fail("%s: ievent_from_json: %d %s", ev->source, rc, err);
	check_round_trip(ev, re);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		rc = ievent_get_field(ev, fields[i], &v);
		if (rc == 0)
			free(v);
		else if (rc != -ENOENT)
			fuzz_fail("%s: ievent_get_field(%s): %d", ev->source, fields[i], rc);
	}
	ievent_destroy(re);
	json_decref(back);
	free(payload_text);
	free(event_text);
	json_decref(obj);
}

/* The nanomsg source's path: source_normalize_message() and its contract. Returns its rc. */
static int
message(const char *format, const uint8_t *data, size_t size, struct ievent_vec *out)
{
	const char *reason = NULL;
	char err[1024];
	int rc;

	err[0] = '\0';
	rc = source_normalize_message(format, data, size, 1048576, 1770000000000, out, &reason,
	    err, sizeof(err));
	if (rc == 0) {
		if (out->n == 0 || reason != NULL)
			fuzz_fail("message(%s): rc 0 with %zu events, reason %s", format, out->n,
			    reason ? reason : "NULL");
		for (size_t i = 0; i < out->n; i++)
			fuzz_check_event(out->v[i], strcmp(format, "event") == 0 ? NULL : format);
	} else if (out->n != 0 || reason == NULL || (rc != -ENOMEM && err[0] == '\0')) {
		fuzz_fail("message(%s): rc %d with %zu events, reason %s, err '%s'", format, rc,
		    out->n, reason ? reason : "NULL", err);
	}
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source_input in = { .received_at = 1770000000000 };
	struct ievent_vec out = { 0 };
	struct evkeyvalq headers;
	char sha[65];
	unsigned ep;

	if (size < 1)
		return 0;
	ep = data[0] % N_ENDPOINTS;
	data++;
	size--;
	TAILQ_INIT(&headers);
	in.headers = &headers;
	switch (ep) {
	case 1:
		in.path_owner = "my-org";
		in.path_repo = "platform";
		break;
	case 4:
		evhttp_add_header(&headers, "Content-Type", "application/cloudevents+json");
		break;
	case 5:
		evhttp_add_header(&headers, "Content-Type", "application/cloudevents-batch+json");
		in.ce_batch = true;
		break;
	case 6:
		evhttp_add_header(&headers, "Content-Type", "application/json");
		in.ce_binary = true;
		break;
	default:
		evhttp_add_header(&headers, "Content-Type", "application/json");
		break;
	}
	if (endpoints[ep].normalize == NULL ? message(endpoints[ep].source, data, size,
	    &out) == 0 : fuzz_normalize(endpoints[ep].normalize, endpoints[ep].source, &in, data,
	    size, &out) == 0) {
		util_sha256_hex(data, size, sha);
		for (size_t i = 0; i < out.n; i++)
			store_and_reload(out.v[i]);
	}
	ievent_vec_clear(&out);
	evhttp_clear_headers(&headers);
	return 0;
}
