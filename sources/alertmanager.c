/* alertmanager.c - Alertmanager webhook bodies (payload version 4, and the older shapes
 * without fingerprint or groupKey, version "3"): one event per alert. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fields.h"
#include "source.h"

struct ctx {
	char *err;
	size_t errlen;
	size_t common_copied;   /* bytes of commonLabels/commonAnnotations the alerts lacked */
};

/* What every alert of one body shares (all borrowed from the body, except context). */
struct common {
	const json_t *labels;          /* commonLabels; may be NULL */
	const json_t *annotations;     /* commonAnnotations; may be NULL */
	const char *status;            /* top-level status, normalized; may be NULL */
	json_t *context;               /* the body without alerts[] (owned) */
};

/* Labels that name the application an alert is about, most specific first. `job` is left
 * out on purpose: in Prometheus it is the scrape job (often "kube-state-metrics"), not the
 * workload; kube-state-metrics calls a Job's name `job_name`. `pod_name` is cAdvisor's
 * name before Kubernetes 1.16. `pod` comes before `service` because on kube-state-metrics
 * alerts `service` is the exporter's Service. The last resort is the alert's name. */
static const char *const app_labels[] = {
	"app", "app_kubernetes_io_name", "application", "deployment", "statefulset", "daemonset",
	"cronjob", "job_name", "pod", "pod_name", "service", "alertname", NULL
};

/* Fetch an optional string at key; a present non-string is an error, "" counts as absent. */
static int
opt_str(struct ctx *c, const json_t *obj, const char *where, const char *key,
    const char **out)
{
	return fields_opt_str(obj, key, where, key, c->err, c->errlen, out);
}

/* Fetch an optional object at key (NULL when absent or null); anything else is an error. */
static int
opt_obj(struct ctx *c, const json_t *obj, const char *where, const char *key,
    const json_t **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		snprintf(c->err, c->errlen, "%s%s: expected an object", where, key);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* "firing" / "resolved" in any case, as a static string; anything else is an error. */
static int
parse_status(struct ctx *c, const char *where, const char *s, const char **out)
{
	if (strcasecmp(s, "firing") == 0) {
		*out = "firing";
	} else if (strcasecmp(s, "resolved") == 0) {
		*out = "resolved";
	} else {
		snprintf(c->err, c->errlen, "%sstatus: expected \"firing\" or \"resolved\", not "
		    "'%.40s'", where, s);
		return -EINVAL;
	}
	return 0;
}

/* An optional RFC 3339 time at key. Alertmanager writes an unset endsAt as Go's zero time
 * "0001-01-01T00:00:00Z"; that, and any time not after the Unix epoch, counts as absent.
 * Returns 0 with *set telling whether *ms holds a time, or -EINVAL. */
static int
opt_time(struct ctx *c, const json_t *obj, const char *where, const char *key, int64_t *ms,
    bool *set)
{
	const char *s;
	int64_t t;
	int rc;

	*set = false;
	if ((rc = opt_str(c, obj, where, key, &s)) != 0 || s == NULL)
		return rc;
	if (util_parse_time(s, &t) != 0) {
		snprintf(c->err, c->errlen, "%s%s: '%.60s' is not an RFC 3339 time", where, key, s);
		return -EINVAL;
	}
	if (t > 0) {
		*ms = t;
		*set = true;
	}
	return 0;
}

/* Bytes of the string members of common that own (may be NULL) lacks: what overlaying
 * common under own copies into one event. */
static size_t
common_only_bytes(const json_t *common, const json_t *own)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach((json_t *)common, k, v) {
		if (json_is_string(v) && json_object_get(own, k) == NULL)
			n += strlen(k) + json_string_length(v);
	}
	return n;
}

/* Copy the string members of src (may be NULL) into dst, replacing what dst has;
 * non-strings are skipped. */
static int
copy_string_map(json_t *dst, const json_t *src)
{
	const char *k;
	json_t *v;

	if (src == NULL)
		return 0;
	json_object_foreach((json_t *)src, k, v) {
		if (json_is_string(v) && json_object_set(dst, k, v) != 0)
			return -ENOMEM;
	}
	return 0;
}

static const char *
str_at(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return (s != NULL && *s != '\0') ? s : NULL;
}

/* Set *field to the first line of s (NULL allowed). Returns 0 or -ENOMEM. */
static int
set_line(char **field, const char *s)
{
	size_t n;
	char *copy;

	if (s == NULL)
		return ievent_set(field, NULL);
	n = strcspn(s, "\r\n");
	if ((copy = strndup(s, n)) == NULL)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* Set *field to a lowercased copy of s (NULL allowed). Returns 0 or -ENOMEM. */
static int
set_lower(char **field, const char *s)
{
	int rc;

	if ((rc = ievent_set(field, s)) != 0 || *field == NULL)
		return rc;
	for (char *p = *field; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Alertmanager's own fingerprint is a hash of the alert's label set sorted by name. When the
 * sender left it out (Alertmanager < 0.13, relays such as prom2teams' fixtures) we do the
 * same in spirit with SHA-256: hex of "name=value\n" for every label in byte order of the
 * names. It is stable across restarts and independent of the order in the body. */
static int
label_fingerprint(const json_t *labels, char hex[65])
{
	const char **keys = NULL, *k;
	size_t n = 0, len = 0, off = 0;
	char *buf = NULL;
	json_t *v;
	int rc = -ENOMEM;

	if ((keys = calloc(json_object_size(labels) + 1, sizeof(*keys))) == NULL)
		goto out;
	json_object_foreach((json_t *)labels, k, v) {
		if (!json_is_string(v))
			continue;
		keys[n++] = k;
		len += strlen(k) + strlen(json_string_value(v)) + 2;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	if ((buf = malloc(len + 1)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *val = json_string_value(json_object_get(labels, keys[i]));
		size_t kl = strlen(keys[i]), vl = strlen(val);

		memcpy(buf + off, keys[i], kl);
		buf[off + kl] = '=';
		memcpy(buf + off + kl + 1, val, vl);
		buf[off + kl + 1 + vl] = '\n';
		off += kl + vl + 2;
	}
	util_sha256_hex(buf, off, hex);
	rc = 0;
out:
	free(buf);
	free(keys);
	return rc;
}

/* The body without alerts[]: what each event's payload carries besides its own "alert"
 * (a top-level "alert" member would be replaced by it, so it is left out). Values are
 * shared with the body by reference. Returns a new object or NULL (no memory). */
static json_t *
context_new(const json_t *body)
{
	json_t *ctx = json_object(), *v;
	const char *k;

	if (ctx == NULL)
		return NULL;
	json_object_foreach((json_t *)body, k, v) {
		if (strcmp(k, "alerts") != 0 && strcmp(k, "alert") != 0 &&
		    json_object_set(ctx, k, v) != 0) {
			json_decref(ctx);
			return NULL;
		}
	}
	return ctx;
}

/* Fill the event's fields from its merged labels and annotations. */
static int
fill_fields(struct ievent *ev)
{
	const json_t *l = ev->labels, *a = ev->annotations;
	const char *cluster = str_at(l, "cluster"), *app = NULL, *msg, *summary;

	if (cluster == NULL)
		cluster = str_at(l, "k8s_cluster");
	for (size_t i = 0; app == NULL && app_labels[i] != NULL; i++)
		app = str_at(l, app_labels[i]);
	msg = str_at(a, "description");
	if (msg == NULL)
		msg = str_at(a, "message");
	if (msg == NULL)
		msg = str_at(a, "summary");
	summary = str_at(a, "summary");
	if (summary == NULL)
		summary = str_at(l, "alertname");
	if (summary == NULL)
		summary = msg;
	if (summary == NULL)
		summary = "Alertmanager alert";
	if (ievent_set(&ev->cluster, cluster) ||
	    ievent_set(&ev->namespace, str_at(l, "namespace")) || ievent_set(&ev->app, app) ||
	    set_lower(&ev->severity, str_at(l, "severity")) || ievent_set(&ev->message, msg) ||
	    set_line(&ev->summary, summary))
		return -ENOMEM;
	return 0;
}

/* One alert (alerts[idx]) to one event appended to out. */
static int
alert_to_event(struct ctx *c, const struct source_input *in, const struct common *cm,
    const json_t *alert, size_t idx, struct ievent_vec *out)
{
	const json_t *labels, *annotations;
	const char *status = NULL, *fp, *gen;
	struct ievent *ev = NULL;
	int64_t starts = 0, ends = 0;
	bool has_starts, has_ends;
	char where[48], hex[65];
	json_t *payload = NULL;
	int rc = -EINVAL;

	snprintf(where, sizeof(where), "alerts[%zu].", idx);
	if (!json_is_object(alert)) {
		snprintf(c->err, c->errlen, "alerts[%zu]: expected an object", idx);
		goto out;
	}
	labels = json_object_get(alert, "labels");
	if (labels == NULL || json_is_null(labels)) {
		snprintf(c->err, c->errlen, "alerts[%zu]: missing required field(s): labels", idx);
		goto out;
	}
	if ((rc = opt_obj(c, alert, where, "labels", &labels)) != 0 ||
	    (rc = opt_obj(c, alert, where, "annotations", &annotations)) != 0 ||
	    (rc = opt_str(c, alert, where, "status", &status)) != 0 ||
	    (rc = opt_str(c, alert, where, "fingerprint", &fp)) != 0 ||
	    (rc = opt_str(c, alert, where, "generatorURL", &gen)) != 0 ||
	    (rc = opt_time(c, alert, where, "startsAt", &starts, &has_starts)) != 0 ||
	    (rc = opt_time(c, alert, where, "endsAt", &ends, &has_ends)) != 0)
		goto out;
	if (status != NULL && (rc = parse_status(c, where, status, &status)) != 0)
		goto out;
	if (status == NULL)
		status = cm->status ? cm->status : "firing";
	/* Alertmanager's common maps are what every alert has anyway; keys only they hold are
	 * copied into every event, so they are bounded (no amplification of one large key) */
	c->common_copied += common_only_bytes(cm->labels, labels) +
	    common_only_bytes(cm->annotations, annotations);
	if (c->common_copied > ALERTMANAGER_MAX_COMMON_COPY) {
		snprintf(c->err, c->errlen, "commonLabels/commonAnnotations hold members the alerts "
		    "lack, which would be copied into every alert's event (over %d bytes at "
		    "alerts[%zu]); Alertmanager's common maps only repeat what each alert has",
		    ALERTMANAGER_MAX_COMMON_COPY, idx);
		rc = -E2BIG;
		goto out;
	}

	rc = -ENOMEM;
	if ((ev = ievent_new("alertmanager")) == NULL)
		goto out;
	ev->received_at = in->received_at;
	ev->occurred_at = in->received_at;
	if (strcmp(status, "firing") == 0 && has_starts)
		ev->occurred_at = starts;
	else if (strcmp(status, "resolved") == 0 && has_ends)
		ev->occurred_at = ends;
	if (copy_string_map(ev->labels, cm->labels) != 0 ||
	    copy_string_map(ev->labels, labels) != 0 ||
	    copy_string_map(ev->annotations, cm->annotations) != 0 ||
	    copy_string_map(ev->annotations, annotations) != 0)
		goto out;
	if (gen != NULL && json_object_get(ev->annotations, "generatorURL") == NULL &&
	    json_object_set_new(ev->annotations, "generatorURL", json_string(gen)) != 0)
		goto out;
	if (ievent_set(&ev->status, status) ||
	    ievent_set(&ev->type, strcmp(status, "firing") == 0 ? "alert.firing" :
	    "alert.resolved") || fill_fields(ev) != 0)
		goto out;
	if (fp == NULL) {
		if (label_fingerprint(ev->labels, hex) != 0)
			goto out;
		fp = hex;
	}
	if (ievent_set(&ev->fingerprint, fp) != 0)
		goto out;
	if ((payload = json_copy(cm->context)) == NULL ||
	    json_object_set(payload, "alert", (json_t *)alert) != 0)
		goto out;
	ev->payload = payload;
	ev->payload_shared = json_incref(cm->context);
	payload = NULL;
	if (ievent_vec_push(out, ev) != 0)
		goto out;
	ev = NULL;
	rc = 0;
out:
	json_decref(payload);
	ievent_destroy(ev);
	return rc;
}

/* A top-level array: the alerts posted to Alertmanager's API, or something else. */
static void
explain_array(struct ctx *c, const json_t *body)
{
	const json_t *first = json_array_get(body, 0);

	if (json_is_object(first) && json_object_get(first, "labels") != NULL)
		snprintf(c->err, c->errlen, "expected an Alertmanager webhook body (an object with "
		    "alerts[]), not an array: this looks like an Alertmanager API payload (the "
		    "alerts POSTed to /api/v2/alerts), not a webhook body");
	else
		snprintf(c->err, c->errlen, "expected a JSON object (an Alertmanager webhook body, "
		    "payload version 4), not an array");
}

int
alertmanager_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen };
	struct common cm = { 0 };
	const json_t *body = in->body, *alerts, *alert;
	const char *status;
	size_t n0 = out->n, i, n;
	int rc = -EINVAL;

	if (json_is_array(body)) {
		explain_array(&c, body);
		goto out;
	}
	if (!json_is_object(body)) {
		snprintf(err, errlen, "expected a JSON object (an Alertmanager webhook body, "
		    "payload version 4)");
		goto out;
	}
	alerts = json_object_get(body, "alerts");
	if (alerts == NULL || json_is_null(alerts)) {
		snprintf(err, errlen, "missing required field(s): alerts%s",
		    json_object_get(body, "labels") != NULL ? " (this looks like a single alert, "
		    "not an Alertmanager webhook body)" : "");
		goto out;
	}
	if (!json_is_array(alerts)) {
		snprintf(err, errlen, "alerts: expected an array");
		goto out;
	}
	n = json_array_size(alerts);
	if (n == 0) {
		snprintf(err, errlen, "no alerts");
		goto out;
	}
	if (n > ALERTMANAGER_MAX_ALERTS) {
		snprintf(err, errlen, "too many alerts (%zu > %d)", n, ALERTMANAGER_MAX_ALERTS);
		rc = -E2BIG;
		goto out;
	}
	if ((rc = opt_str(&c, body, "", "status", &status)) != 0 ||
	    (status != NULL && (rc = parse_status(&c, "", status, &cm.status)) != 0) ||
	    (rc = opt_obj(&c, body, "", "commonLabels", &cm.labels)) != 0 ||
	    (rc = opt_obj(&c, body, "", "commonAnnotations", &cm.annotations)) != 0)
		goto out;
	if ((cm.context = context_new(body)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	json_array_foreach(alerts, i, alert) {
		if ((rc = alert_to_event(&c, in, &cm, alert, i, out)) != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc != 0) {
		/* nothing appended on error */
		for (i = n0; i < out->n; i++)
			ievent_destroy(out->v[i]);
		out->n = n0;
	}
	json_decref(cm.context);
	return rc;
}
