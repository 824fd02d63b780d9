/* argocd.c - Argo CD notifications: the client_payload of the reference template, the
 * whole repository_dispatch body, or an Application object (a `{{toJson .app}}` body). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "source.h"

/* A field as the user wrote it, for messages ("client_payload.app_name"). */
struct ctx {
	const char *prefix;      /* "", "client_payload." or "" for Application paths */
	char *err;
	size_t errlen;
	char missing[512];
};

/* Fetch an optional string at key; a present non-string is an error. */
static int
opt_str(struct ctx *c, const json_t *obj, const char *key, const char *path,
    const char **out)
{
	return fields_opt_str(obj, key, c->prefix, path, c->err, c->errlen, out);
}

static void
note_missing(struct ctx *c, const char *path)
{
	fields_note_missing(c->missing, sizeof(c->missing), c->prefix, path);
}

/* Walk "a.b.c" through objects; NULL when absent or not an object on the way. */
static const json_t *
path_get(const json_t *obj, const char *path)
{
	char key[64];

	while (obj != NULL && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		obj = json_is_object(obj) ? json_object_get(obj, key) : NULL;
		path = dot ? dot + 1 : path + n;
	}
	return obj;
}

static const char *
path_str(const json_t *obj, const char *path)
{
	const char *s = json_string_value(path_get(obj, path));

	return (s != NULL && *s != '\0') ? s : NULL;
}

/* Copy the string members of an object into dst (non-strings are skipped). */
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

static int
set_label(struct ievent *ev, const char *k, const char *v)
{
	if (v == NULL)
		return 0;
	return json_object_set_new(ev->labels, k, json_string(v)) == 0 ? 0 : -ENOMEM;
}

/* resources[] as an array, or a string holding an array (templates that quote toJson). */
static int
add_resources(struct ctx *c, struct ievent *ev, const json_t *res, const char *path)
{
	json_t *parsed = NULL, *r;
	bool any_health = false;
	size_t i;
	int rc = 0;

	if (res == NULL || json_is_null(res))
		return 0;
	if (json_is_string(res)) {
		parsed = json_loads(json_string_value(res), 0, NULL);
		if (!json_is_array(parsed)) {
			snprintf(c->err, c->errlen, "%s%s: a string that is not a JSON array",
			    c->prefix, path);
			rc = -EINVAL;
			goto out;
		}
		res = parsed;
	}
	if (!json_is_array(res)) {
		snprintf(c->err, c->errlen, "%s%s: expected an array", c->prefix, path);
		rc = -EINVAL;
		goto out;
	}
	json_array_foreach(res, i, r) {
		json_t *h;
		struct ievent_resource x;

		if (!json_is_object(r)) {
			snprintf(c->err, c->errlen, "%s%s[%zu]: expected an object", c->prefix,
			    path, i);
			rc = -EINVAL;
			goto out;
		}
		h = json_object_get(r, "health");
		memset(&x, 0, sizeof(x));
		x.group = (char *)json_string_value(json_object_get(r, "group"));
		x.kind = (char *)json_string_value(json_object_get(r, "kind"));
		x.name = (char *)json_string_value(json_object_get(r, "name"));
		x.namespace = (char *)json_string_value(json_object_get(r, "namespace"));
		x.sync = (char *)json_string_value(json_object_get(r, "status"));
		if (json_is_object(h)) {
			any_health = true;
			x.health = (char *)json_string_value(json_object_get(h, "status"));
			x.message = (char *)json_string_value(json_object_get(h, "message"));
		} else if (json_is_string(h)) {
			any_health = true;
			x.health = (char *)json_string_value(h);
		}
		if ((rc = ievent_add_resource(ev, &x)) != 0)
			goto out;
	}
	ev->resource_health_reported = ev->n_resources == 0 || any_health;
out:
	json_decref(parsed);
	return rc;
}

/* Fill type/status/severity/summary from health, sync and the operation phase. */
static int
classify(struct ievent *ev, const char *phase)
{
	const char *h = ev->health, *s = ev->sync;
	const char *where_c = ev->cluster ? ev->cluster : "?";
	const char *where_n = ev->namespace ? ev->namespace : "?";
	char summary[512];
	bool degraded = h && (strcmp(h, "Degraded") == 0 || strcmp(h, "Missing") == 0);
	bool failed = phase && (strcmp(phase, "Error") == 0 || strcmp(phase, "Failed") == 0);
	const char *type, *status, *sev;

	if (degraded) {
		type = "deployment.degraded";
		status = "firing";
		sev = "error";
		snprintf(summary, sizeof(summary), "%s is %s (%s) in %s/%s", ev->app, h,
		    s ? s : "sync unknown", where_c, where_n);
	} else if (failed) {
		type = "deployment.sync_failed";
		status = "firing";
		sev = "error";
		snprintf(summary, sizeof(summary), "%s sync failed (%s) in %s/%s", ev->app, phase,
		    where_c, where_n);
	} else if (h && s && strcmp(h, "Healthy") == 0 && strcmp(s, "Synced") == 0) {
		type = "deployment.recovered";
		status = "resolved";
		sev = "info";
		snprintf(summary, sizeof(summary), "%s is Healthy and Synced in %s/%s", ev->app,
		    where_c, where_n);
	} else {
		type = "deployment.status";
		status = "info";
		sev = "info";
		snprintf(summary, sizeof(summary), "%s is %s (%s) in %s/%s", ev->app,
		    h ? h : "health unknown", s ? s : phase ? phase : "sync unknown", where_c,
		    where_n);
	}
	util_trim_utf8(summary);   /* a long app name may have been cut mid-character */
	if (ievent_set(&ev->type, type) || ievent_set(&ev->status, status) ||
	    ievent_set(&ev->severity, sev) || ievent_set(&ev->summary, summary))
		return -ENOMEM;
	return 0;
}

/* fingerprint: what the event is about (cluster, namespace, app). */
static int
set_fingerprint(struct ievent *ev)
{
	char *buf, hex[65];
	int rc = -ENOMEM;

	/* hashed whole: a cut here made long names that differ late one incident */
	buf = util_format_new("argocd\n%s\n%s\n%s", ev->cluster ? ev->cluster : "",
	    ev->namespace ? ev->namespace : "", ev->app ? ev->app : "");
	if (buf == NULL)
		goto out;
	util_sha256_hex(buf, strlen(buf), hex);
	hex[32] = '\0';
	rc = ievent_set(&ev->fingerprint, hex);
out:
	free(buf);
	return rc;
}

/* Shape 1 (and 2 through it): the client_payload object. */
static int
from_client_payload(struct ctx *c, const json_t *p, struct ievent *ev)
{
	const char *app, *health, *sync, *msg, *rev, *repo, *cluster, *ns, *ts, *group;
	const char *phase, *opmsg;
	json_t *labels;
	int rc;

	if ((rc = opt_str(c, p, "app_name", "app_name", &app)) ||
	    (rc = opt_str(c, p, "health_status", "health_status", &health)) ||
	    (rc = opt_str(c, p, "sync_status", "sync_status", &sync)) ||
	    (rc = opt_str(c, p, "message", "message", &msg)) ||
	    (rc = opt_str(c, p, "revision", "revision", &rev)) ||
	    (rc = opt_str(c, p, "repo_url", "repo_url", &repo)) ||
	    (rc = opt_str(c, p, "cluster", "cluster", &cluster)) ||
	    (rc = opt_str(c, p, "namespace", "namespace", &ns)) ||
	    (rc = opt_str(c, p, "timestamp", "timestamp", &ts)) ||
	    (rc = opt_str(c, p, "resource_group", "resource_group", &group)) ||
	    (rc = opt_str(c, p, "operation_phase", "operation_phase", &phase)) ||
	    (rc = opt_str(c, p, "operation_message", "operation_message", &opmsg)))
		return rc;
	if (phase == NULL && (rc = opt_str(c, p, "phase", "phase", &phase)) != 0)
		return rc;
	if (app == NULL)
		note_missing(c, "app_name");
	if (health == NULL && sync == NULL && phase == NULL)
		note_missing(c, "health_status (or sync_status, operation_phase)");
	if (c->missing[0]) {
		snprintf(c->err, c->errlen, "missing required field(s): %s", c->missing);
		return -EINVAL;
	}
	if (ts != NULL && util_parse_time(ts, &ev->occurred_at) != 0) {
		snprintf(c->err, c->errlen, "%stimestamp: '%.60s' is not an RFC 3339 time",
		    c->prefix, ts);
		return -EINVAL;
	}
	labels = json_object_get(p, "labels");
	if (labels != NULL && !json_is_null(labels)) {
		if (!json_is_object(labels)) {
			snprintf(c->err, c->errlen, "%slabels: expected an object of strings",
			    c->prefix);
			return -EINVAL;
		}
		if (copy_string_map(ev->labels, labels) != 0)
			return -ENOMEM;
	}
	if (ievent_set(&ev->app, app) || ievent_set(&ev->health, health) ||
	    ievent_set(&ev->sync, sync) || ievent_set(&ev->revision, rev) ||
	    ievent_set(&ev->repo_url, repo) || ievent_set(&ev->cluster, cluster) ||
	    ievent_set(&ev->namespace, ns) ||
	    ievent_set(&ev->message, msg ? msg : opmsg) ||
	    set_label(ev, "resource_group", group) || set_label(ev, "health_status", health) ||
	    set_label(ev, "sync_status", sync) || set_label(ev, "operation_phase", phase))
		return -ENOMEM;
	if ((rc = add_resources(c, ev, json_object_get(p, "resources"), "resources")) != 0)
		return rc;
	return classify(ev, phase);
}

/* Shape 3: an Application object. */
static int
from_application(struct ctx *c, const json_t *app, struct ievent *ev)
{
	const json_t *meta = json_object_get(app, "metadata");
	const char *name = path_str(app, "metadata.name");
	const char *health = path_str(app, "status.health.status");
	const char *sync = path_str(app, "status.sync.status");
	const char *phase = path_str(app, "status.operationState.phase");
	const char *cluster = path_str(app, "spec.destination.name");
	const char *repo = path_str(app, "spec.source.repoURL");
	const char *rev = path_str(app, "status.sync.revision");
	const char *msg = path_str(app, "status.operationState.message");
	const char *ts = path_str(app, "status.operationState.finishedAt");
	const char *hsrc = path_str(app, "status.resourceHealthSource");
	const json_t *m;
	int rc;

	if (name == NULL)
		note_missing(c, "metadata.name");
	if (health == NULL && sync == NULL && phase == NULL)
		note_missing(c, "status.health.status (or status.sync.status, "
		    "status.operationState.phase)");
	if (c->missing[0]) {
		snprintf(c->err, c->errlen, "missing required field(s): %s", c->missing);
		return -EINVAL;
	}
	if (cluster == NULL)
		cluster = path_str(app, "spec.destination.server");
	if (repo == NULL)
		repo = json_string_value(json_object_get(json_array_get(path_get(app,
		    "spec.sources"), 0), "repoURL"));
	if (rev == NULL)
		rev = path_str(app, "status.operationState.syncResult.revision");
	if (msg == NULL)
		msg = path_str(app, "status.health.message");
	if (ts == NULL)
		ts = path_str(app, "status.health.lastTransitionTime");
	if (ts != NULL && util_parse_time(ts, &ev->occurred_at) != 0) {
		snprintf(c->err, c->errlen, "status.operationState.finishedAt: '%.60s' is not an "
		    "RFC 3339 time", ts);
		return -EINVAL;
	}
	if ((m = json_object_get(meta, "labels")) != NULL && json_is_object(m) &&
	    copy_string_map(ev->labels, m) != 0)
		return -ENOMEM;
	if ((m = json_object_get(meta, "annotations")) != NULL && json_is_object(m) &&
	    copy_string_map(ev->annotations, m) != 0)
		return -ENOMEM;
	if (ievent_set(&ev->app, name) || ievent_set(&ev->health, health) ||
	    ievent_set(&ev->sync, sync) || ievent_set(&ev->revision, rev) ||
	    ievent_set(&ev->repo_url, repo) || ievent_set(&ev->cluster, cluster) ||
	    ievent_set(&ev->namespace, path_str(app, "spec.destination.namespace")) ||
	    ievent_set(&ev->message, msg) ||
	    set_label(ev, "argocd_namespace", path_str(app, "metadata.namespace")) ||
	    set_label(ev, "project", path_str(app, "spec.project")) ||
	    set_label(ev, "health_status", health) || set_label(ev, "sync_status", sync) ||
	    set_label(ev, "operation_phase", phase))
		return -ENOMEM;
	rc = add_resources(c, ev, path_get(app, "status.resources"), "status.resources");
	if (rc != 0)
		return rc;
	if (hsrc != NULL && strcmp(hsrc, "appTree") == 0)
		ev->resource_health_reported = false;
	return classify(ev, phase);
}

int
argocd_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen)
{
	struct ctx c = { .prefix = "", .err = err, .errlen = errlen };
	const json_t *body = in->body, *cp;
	struct ievent *ev = NULL;
	const char *event_type = NULL;
	int rc = -EINVAL;

	if (!json_is_object(body)) {
		snprintf(err, errlen, "expected a JSON object (the client_payload of the "
		    "notification template, a repository_dispatch body, or an Application)");
		goto out;
	}
	ev = ievent_new("argocd");
	if (ev == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	ev->received_at = in->received_at;
	ev->occurred_at = in->received_at;
	cp = json_object_get(body, "client_payload");
	if (cp != NULL) {
		c.prefix = "client_payload.";
		if (!json_is_object(cp)) {
			snprintf(err, errlen, "client_payload: expected an object");
			goto out;
		}
		if ((rc = opt_str(&c, body, "event_type", "event_type", &event_type)) != 0)
			goto out;
		if (event_type && json_object_set_new(ev->labels, "event_type",
		    json_string(event_type)) != 0) {
			rc = -ENOMEM;
			goto out;
		}
		rc = from_client_payload(&c, cp, ev);
	} else if (json_object_get(body, "metadata") != NULL ||
	    json_object_get(body, "status") != NULL ||
	    (json_string_value(json_object_get(body, "kind")) != NULL &&
	    strcmp(json_string_value(json_object_get(body, "kind")), "Application") == 0)) {
		rc = from_application(&c, body, ev);
	} else {
		rc = from_client_payload(&c, body, ev);
	}
	if (rc != 0)
		goto out;
	if (in->path_owner != NULL && in->path_repo != NULL) {
		char repo[256];

		snprintf(repo, sizeof(repo), "%s/%s", in->path_owner, in->path_repo);
		if (set_label(ev, "dispatch_repo", repo) != 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if ((rc = set_fingerprint(ev)) != 0)
		goto out;
	ev->payload = json_incref((json_t *)body);
	if ((rc = ievent_vec_push(out, ev)) != 0)
		goto out;
	ev = NULL;
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	ievent_destroy(ev);
	return rc;
}
