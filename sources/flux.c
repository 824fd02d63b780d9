/* flux.c - Flux notification-controller events, as its `generic` and `generic-hmac`
 * providers post them (event v1beta1/v1beta3 shape: involvedObject, severity, timestamp,
 * message, reason, metadata, reportingController, reportingInstance). One event each. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "source.h"

/* Reasons of an info event that say the object is in its desired state again, so the
 * event resolves an open incident. From the Flux APIs:
 *   fluxcd/pkg apis/meta           ReconciliationSucceeded, Succeeded
 *   source-controller              NewArtifact, ArtifactUpToDate, ChartPullSucceeded,
 *                                  ChartPackageSucceeded (Succeeded on failure recovery)
 *   helm-controller                InstallSucceeded, UpgradeSucceeded, TestSucceeded
 * Not in the set (recorded as progress): Progressing, ProgressingWithRetry,
 * DependencyNotReady, Suspended, RollbackSucceeded and UninstallSucceeded (a remediation
 * after a failed release, not the desired state), and any reason not listed here. */
static const char *const success_reasons[] = {
	"ReconciliationSucceeded",
	"Succeeded",
	"NewArtifact",
	"ArtifactUpToDate",
	"ChartPullSucceeded",
	"ChartPackageSucceeded",
	"InstallSucceeded",
	"UpgradeSucceeded",
	"TestSucceeded",
};

struct ctx {
	char *err;
	size_t errlen;
	char missing[256];
};

/* Fetch an optional string at key; a present non-string is an error, "" counts as absent. */
static int
opt_str(struct ctx *c, const json_t *obj, const char *key, const char *path,
    const char **out)
{
	return fields_opt_str(obj, key, "", path, c->err, c->errlen, out);
}

static void
note_missing(struct ctx *c, const char *path)
{
	fields_note_missing(c->missing, sizeof(c->missing), "", path);
}

static int
set_label(struct ievent *ev, const char *k, const char *v)
{
	if (v == NULL)
		return 0;
	return json_object_set_new(ev->labels, k, json_string(v)) == 0 ? 0 : -ENOMEM;
}

static bool
is_success_reason(const char *reason)
{
	if (reason == NULL)
		return false;
	for (size_t i = 0; i < sizeof(success_reasons) / sizeof(success_reasons[0]); i++) {
		if (strcmp(reason, success_reasons[i]) == 0)
			return true;
	}
	return false;
}

/* The revision from metadata: "revision", else the first key ending in "/revision"
 * (e.g. "kustomize.toolkit.fluxcd.io/revision"). Non-strings are ignored. */
static const char *
find_revision(const json_t *meta)
{
	const char *k, *s;
	json_t *v;

	if (meta == NULL)
		return NULL;
	s = json_string_value(json_object_get(meta, "revision"));
	if (s != NULL && *s != '\0')
		return s;
	json_object_foreach((json_t *)meta, k, v) {
		size_t n = strlen(k);

		s = json_string_value(v);
		if (s != NULL && *s != '\0' && n > 9 && strcmp(k + n - 9, "/revision") == 0)
			return s;
	}
	return NULL;
}

/* The bare commit or digest of a revision into buf: "main@sha1:<sha>" (Flux >= 2.0),
 * "sha256:<digest>", "main/<sha>" (older controllers) and a bare "<sha>" all give <sha>.
 * Returns false (buf empty) when what is left is not at least 7 hex digits, e.g. a Helm
 * chart version "6.5.4". */
static bool
revision_sha(const char *rev, char *buf, size_t len)
{
	const char *p = strrchr(rev, '@'), *colon;
	size_t n;

	buf[0] = '\0';
	p = p ? p + 1 : rev;
	if ((colon = strchr(p, ':')) != NULL)
		p = colon + 1;
	else if (strchr(p, '/') != NULL)
		p = strrchr(p, '/') + 1;
	n = strlen(p);
	if (n < 7 || n >= len)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return false;
	}
	memcpy(buf, p, n + 1);
	return true;
}

/* Copy the string members of metadata into the annotations (non-strings are skipped). */
static int
copy_string_map(json_t *dst, const json_t *src)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)src, k, v) {
		if (json_is_string(v) && json_object_set(dst, k, v) != 0)
			return -ENOMEM;
	}
	return 0;
}

/* Fill type/status/summary from severity and reason. */
static int
classify(struct ievent *ev, const char *kind, const char *name, const char *severity,
    const char *reason, const char *msg)
{
	const char *type, *status;
	char summary[512];

	if (strcmp(severity, "error") == 0) {
		type = "reconcile.failed";
		status = "firing";
	} else if (strcmp(severity, "info") == 0 && is_success_reason(reason)) {
		type = "reconcile.succeeded";
		status = "resolved";
	} else {
		type = "reconcile.progress";
		status = "info";
	}
	if (reason != NULL)
		snprintf(summary, sizeof(summary), "%s/%s: %s", kind, name, reason);
	else
		snprintf(summary, sizeof(summary), "%s/%s: %.*s", kind, name,
		    (int)strcspn(msg, "\n"), msg);
	util_trim_utf8(summary);   /* a long name or reason may have been cut mid-character */
	if (ievent_set(&ev->type, type) || ievent_set(&ev->status, status) ||
	    ievent_set(&ev->severity, severity) || ievent_set(&ev->summary, summary))
		return -ENOMEM;
	return 0;
}

static int
from_event(struct ctx *c, const json_t *body, struct ievent *ev)
{
	const json_t *obj = json_object_get(body, "involvedObject");
	const json_t *meta = json_object_get(body, "metadata");
	const char *kind = NULL, *name = NULL, *ns = NULL, *severity, *msg, *reason, *ts;
	const char *controller, *cluster = NULL, *rev;
	char *app = NULL, *fp = NULL, sha[72];
	int rc;

	if (obj != NULL && !json_is_null(obj) && !json_is_object(obj)) {
		snprintf(c->err, c->errlen, "involvedObject: expected an object");
		return -EINVAL;
	}
	if (meta != NULL && json_is_null(meta))
		meta = NULL;
	if (meta != NULL && !json_is_object(meta)) {
		snprintf(c->err, c->errlen, "metadata: expected an object of strings");
		return -EINVAL;
	}
	if ((rc = opt_str(c, obj, "kind", "involvedObject.kind", &kind)) ||
	    (rc = opt_str(c, obj, "name", "involvedObject.name", &name)) ||
	    (rc = opt_str(c, obj, "namespace", "involvedObject.namespace", &ns)) ||
	    (rc = opt_str(c, body, "severity", "severity", &severity)) ||
	    (rc = opt_str(c, body, "message", "message", &msg)) ||
	    (rc = opt_str(c, body, "reason", "reason", &reason)) ||
	    (rc = opt_str(c, body, "timestamp", "timestamp", &ts)) ||
	    (rc = opt_str(c, body, "reportingController", "reportingController",
	    &controller)) ||
	    (rc = opt_str(c, meta, "cluster", "metadata.cluster", &cluster)))
		return rc;
	if (kind == NULL)
		note_missing(c, "involvedObject.kind");
	if (name == NULL)
		note_missing(c, "involvedObject.name");
	if (severity == NULL)
		note_missing(c, "severity");
	if (msg == NULL)
		note_missing(c, "message");
	if (c->missing[0]) {
		snprintf(c->err, c->errlen, "missing required field(s): %s", c->missing);
		return -EINVAL;
	}
	/* "trace" is Flux's third severity (debug-level events): recorded, never firing. */
	if (strcmp(severity, "info") != 0 && strcmp(severity, "error") != 0 &&
	    strcmp(severity, "trace") != 0) {
		snprintf(c->err, c->errlen, "severity: '%.40s' is not one of info, error, "
		    "trace", severity);
		return -EINVAL;
	}
	if (ts != NULL && util_parse_time(ts, &ev->occurred_at) != 0) {
		snprintf(c->err, c->errlen, "timestamp: '%.60s' is not an RFC 3339 time", ts);
		return -EINVAL;
	}
	rev = find_revision(meta);
	if (rev != NULL && revision_sha(rev, sha, sizeof(sha)) &&
	    set_label(ev, "revision_sha", sha) != 0)
		return -ENOMEM;
	if (meta != NULL && copy_string_map(ev->annotations, meta) != 0)
		return -ENOMEM;
	/* exact, never cut: they name the object (and key its incident) */
	app = util_format_new("%s/%s", kind, name);
	fp = util_format_new("flux/%s/%s/%s", kind, ns ? ns : "", name);
	if (app == NULL || fp == NULL ||
	    ievent_set(&ev->app, app) || ievent_set(&ev->namespace, ns) ||
	    ievent_set(&ev->cluster, cluster) || ievent_set(&ev->revision, rev) ||
	    ievent_set(&ev->message, msg) || ievent_set(&ev->fingerprint, fp) ||
	    set_label(ev, "kind", kind) || set_label(ev, "name", name) ||
	    set_label(ev, "reason", reason) || set_label(ev, "reportingController", controller))
		rc = -ENOMEM;
	else
		rc = classify(ev, kind, name, severity, reason, msg);
	free(app);
	free(fp);
	return rc;
}

int
flux_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen };
	struct ievent *ev = NULL;
	int rc = -EINVAL;

	if (!json_is_object(in->body)) {
		snprintf(err, errlen, "expected a JSON object (a Flux notification-controller "
		    "event)");
		goto out;
	}
	ev = ievent_new("flux");
	if (ev == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	ev->received_at = in->received_at;
	ev->occurred_at = in->received_at;
	if ((rc = from_event(&c, in->body, ev)) != 0)
		goto out;
	ev->payload = json_incref((json_t *)in->body);
	if ((rc = ievent_vec_push(out, ev)) != 0)
		goto out;
	ev = NULL;
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	ievent_destroy(ev);
	return rc;
}
