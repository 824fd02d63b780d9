/* native.c - incidentd's own event JSON as a source format (what ievent_to_json() writes
 * and `incidentctl tail --json` prints), and the lookup of a normalizer by format name. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fields.h"
#include "jsonread.h"
#include "source.h"

#define NATIVE_DEFAULT_SOURCE "nanomsg"

static const struct {
	const char *name;
	source_normalize_fn fn;
} formats[] = {
	{ "argocd", argocd_normalize },
	{ "alertmanager", alertmanager_normalize },
	{ "flux", flux_normalize },
	{ "cloudevents", cloudevents_normalize },
	{ "event", native_normalize },
};

source_normalize_fn
source_find_normalizer(const char *format)
{
	for (size_t i = 0; format != NULL && i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, format) == 0)
			return formats[i].fn;
	return NULL;
}

/* Source names end up in incident keys and metric labels: keep them plain. */
static bool
valid_source(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

/* Sources whose events carry a person's or incidentd's own authority (acknowledge,
 * commands, replies): never taken from a message that names them. */
static bool
reserved_source(const char *s)
{
	static const char *const reserved[] = { "github", "slack", "incidentd", "operator" };

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcasecmp(s, reserved[i]) == 0)
			return true;
	return false;
}

static void
note_missing(char *missing, size_t len, const char *field)
{
	fields_note_missing(missing, len, "", field);
}

/* fingerprint when the message has none: what the event is about (source, cluster,
 * namespace, app), as Argo CD's. */
static int
set_fingerprint(struct ievent *ev)
{
	char buf[1024], hex[65];

	snprintf(buf, sizeof(buf), "%s\n%s\n%s\n%s", ev->source, ev->cluster ? ev->cluster : "",
	    ev->namespace ? ev->namespace : "", ev->app ? ev->app : "");
	util_sha256_hex(buf, strlen(buf), hex);
	hex[32] = '\0';
	return ievent_set(&ev->fingerprint, hex);
}

int
native_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen)
{
	const json_t *body = in->body, *src;
	json_t *copy = NULL;
	struct ievent *ev = NULL;
	char missing[256] = "";
	int rc = -EINVAL;

	if (!json_is_object(body)) {
		snprintf(err, errlen, "expected a JSON object (an incidentd event: source, type, "
		    "status, summary, ...)");
		goto out;
	}
	src = json_object_get(body, "source");
	if (src != NULL && !json_is_null(src) && !json_is_string(src)) {
		snprintf(err, errlen, "source: expected a string");
		goto out;
	}
	if (json_is_string(src) && !valid_source(json_string_value(src))) {
		snprintf(err, errlen, "source: '%.64s' is not a valid source name ([A-Za-z0-9_.-], "
		    "at most 64 characters)", json_string_value(src));
		goto out;
	}
	if (json_is_string(src) && reserved_source(json_string_value(src))) {
		snprintf(err, errlen, "source: '%s' is reserved: what people do on GitHub and Slack "
		    "comes only through their signed endpoints, incidentd's and operators' own "
		    "events only from incidentd", json_string_value(src));
		goto out;
	}
	/* id and received_at are the daemon's (a fresh id from ievent_new); the payload is
	 * taken as a whole below. */
	copy = json_copy((json_t *)body);
	if (copy == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	json_object_del(copy, "id");
	json_object_del(copy, "received_at");
	json_object_del(copy, "payload");
	if (!json_is_string(src) &&
	    json_object_set_new(copy, "source", json_string(NATIVE_DEFAULT_SOURCE)) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	rc = ievent_from_json(copy, &ev, err, errlen);
	if (rc != 0)
		goto out;
	rc = -EINVAL;
	if (ev->type == NULL || *ev->type == '\0')
		note_missing(missing, sizeof(missing), "type");
	if (ev->status == NULL || *ev->status == '\0')
		note_missing(missing, sizeof(missing), "status");
	if (ev->summary == NULL || *ev->summary == '\0')
		note_missing(missing, sizeof(missing), "summary");
	if ((ev->fingerprint == NULL || *ev->fingerprint == '\0') &&
	    (ev->app == NULL || *ev->app == '\0'))
		note_missing(missing, sizeof(missing), "fingerprint (or app)");
	if (missing[0]) {
		snprintf(err, errlen, "missing required field(s): %s", missing);
		goto out;
	}
	if (strcmp(ev->status, "firing") != 0 && strcmp(ev->status, "resolved") != 0 &&
	    strcmp(ev->status, "info") != 0) {
		snprintf(err, errlen, "status: '%.40s' is not firing, resolved or info",
		    ev->status);
		goto out;
	}
	ev->received_at = in->received_at;
	if (json_string_value(json_object_get(body, "occurred_at")) == NULL)
		ev->occurred_at = in->received_at;
	if ((ev->fingerprint == NULL || *ev->fingerprint == '\0') && set_fingerprint(ev) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	json_decref(ev->payload);
	ev->payload = json_object_get(body, "payload");
	ev->payload = json_incref(ev->payload ? ev->payload : (json_t *)body);
	if ((rc = ievent_vec_push(out, ev)) != 0)
		goto out;
	ev = NULL;
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	ievent_destroy(ev);
	json_decref(copy);
	return rc;
}

int
source_normalize_message(const char *format, const void *data, size_t len, uint64_t max_len,
    int64_t received_at, struct ievent_vec *out, const char **reason, char *err,
    size_t errlen)
{
	source_normalize_fn normalize = source_find_normalizer(format);
	struct source_input in = { .received_at = received_at };
	json_t *body = NULL;
	char jtext[JSON_ERROR_TEXT_LENGTH];
	int rc = -EINVAL, jline, jcol;

	*reason = "invalid_payload";
	if (normalize == NULL) {
		snprintf(err, errlen, "unknown format '%.40s'", format ? format : "(none)");
		goto out;
	}
	if (len > max_len) {
		*reason = "too_large";
		snprintf(err, errlen, "message of %zu bytes is over the limit of %llu bytes", len,
		    (unsigned long long)max_len);
		goto out;
	}
	*reason = "bad_json";
	if (len == 0) {
		snprintf(err, errlen, "empty message: expected a JSON object");
		goto out;
	}
	rc = jsonread_loadb(data, len, &body, jtext, sizeof(jtext), &jline, &jcol);
	if (rc == -ENOMEM) {
		*reason = "unavailable";
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (rc != 0) {
		/* without the "near '<text>'": messages are logged, and may hold secrets */
		char *near = strstr(jtext, " near '");

		if (near != NULL)
			*near = '\0';
		snprintf(err, errlen, "invalid JSON at line %d, column %d: %s", jline, jcol, jtext);
		goto out;
	}
	in.body = body;
	/* no headers: CloudEvents come in structured mode, or batch mode as a JSON array */
	in.ce_batch = json_is_array(body) && strcmp(format, "cloudevents") == 0;
	err[0] = '\0';
	rc = normalize(&in, out, err, errlen);
	if (rc == -E2BIG)
		*reason = "too_large";
	else if (rc == -ENOMEM)
		*reason = "unavailable";
	else
		*reason = "invalid_payload";
	if (rc == 0)
		*reason = NULL;
	else if (err[0] == '\0')
		snprintf(err, errlen, "payload rejected");
out:
	json_decref(body);
	return rc;
}
