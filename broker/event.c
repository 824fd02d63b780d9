/* event.c - the normalized event: construction, JSON round trip, field lookup. */
#include "event.h"
#include "jsonw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ievent *
ievent_new(const char *source)
{
	struct ievent *ev = calloc(1, sizeof(*ev));

	if (ev == NULL)
		return NULL;
	util_id_new(ev->id);
	ev->source = util_strdup0(source);
	ev->labels = json_object();
	ev->annotations = json_object();
	ev->received_at = util_now_ms();
	ev->occurred_at = ev->received_at;
	ev->resource_health_reported = true;
	if ((source != NULL && ev->source == NULL) || ev->labels == NULL ||
	    ev->annotations == NULL) {
		ievent_destroy(ev);
		return NULL;
	}
	return ev;
}

static void
resource_clear(struct ievent_resource *r)
{
	free(r->group);
	free(r->kind);
	free(r->name);
	free(r->namespace);
	free(r->health);
	free(r->sync);
	free(r->message);
}

void
ievent_destroy(struct ievent *ev)
{
	if (ev == NULL)
		return;
	free(ev->source);
	free(ev->type);
	free(ev->status);
	free(ev->severity);
	free(ev->cluster);
	free(ev->namespace);
	free(ev->app);
	free(ev->revision);
	free(ev->repo_url);
	free(ev->health);
	free(ev->sync);
	free(ev->summary);
	free(ev->message);
	for (size_t i = 0; i < ev->n_resources; i++)
		resource_clear(&ev->resources[i]);
	free(ev->resources);
	json_decref(ev->labels);
	json_decref(ev->annotations);
	free(ev->fingerprint);
	json_decref(ev->payload);
	json_decref(ev->payload_shared);
	free(ev->payload_text);
	free(ev->incident_key);
	free(ev->json_text);
	free(ev);
}

int
ievent_set(char **field, const char *value)
{
	char *copy = util_strdup0(value);

	if (value != NULL && copy == NULL)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

int
ievent_add_resource(struct ievent *ev, const struct ievent_resource *r)
{
	struct ievent_resource *v, n;

	memset(&n, 0, sizeof(n));
	if (ievent_set(&n.group, r->group) || ievent_set(&n.kind, r->kind) ||
	    ievent_set(&n.name, r->name) || ievent_set(&n.namespace, r->namespace) ||
	    ievent_set(&n.health, r->health) || ievent_set(&n.sync, r->sync) ||
	    ievent_set(&n.message, r->message))
		goto nomem;
	v = realloc(ev->resources, (ev->n_resources + 1) * sizeof(*v));
	if (v == NULL)
		goto nomem;
	ev->resources = v;
	ev->resources[ev->n_resources++] = n;
	return 0;
nomem:
	resource_clear(&n);
	return -ENOMEM;
}

/* Set key to a string copy of v when v is not NULL. Returns 0 or -1. */
static int
put_str(json_t *obj, const char *key, const char *v)
{
	if (v == NULL)
		return 0;
	return json_object_set_new(obj, key, json_string(v));
}

static int
put_time(json_t *obj, const char *key, int64_t ms)
{
	char buf[UTIL_TIME_LEN];

	return json_object_set_new(obj, key, json_string(util_format_time(ms, buf,
	    sizeof(buf))));
}

json_t *
ievent_to_json(const struct ievent *ev, bool with_payload)
{
	json_t *o = json_object(), *res = json_array();
	int bad = 0;

	if (o == NULL || res == NULL)
		goto fail;
	bad |= put_str(o, "id", ev->id);
	bad |= put_str(o, "source", ev->source);
	bad |= put_str(o, "type", ev->type);
	bad |= put_str(o, "status", ev->status);
	bad |= put_str(o, "severity", ev->severity);
	bad |= put_str(o, "cluster", ev->cluster);
	bad |= put_str(o, "namespace", ev->namespace);
	bad |= put_str(o, "app", ev->app);
	bad |= put_str(o, "revision", ev->revision);
	bad |= put_str(o, "repo_url", ev->repo_url);
	bad |= put_str(o, "health", ev->health);
	bad |= put_str(o, "sync", ev->sync);
	bad |= put_str(o, "summary", ev->summary);
	bad |= put_str(o, "message", ev->message);
	for (size_t i = 0; i < ev->n_resources; i++) {
		const struct ievent_resource *r = &ev->resources[i];
		json_t *ro = json_object();

		if (ro == NULL || json_array_append_new(res, ro) != 0)
			goto fail;
		bad |= put_str(ro, "group", r->group);
		bad |= put_str(ro, "kind", r->kind);
		bad |= put_str(ro, "name", r->name);
		bad |= put_str(ro, "namespace", r->namespace);
		bad |= put_str(ro, "health", r->health);
		bad |= put_str(ro, "sync", r->sync);
		bad |= put_str(ro, "message", r->message);
	}
	bad |= json_object_set(o, "resources", res);
	bad |= json_object_set_new(o, "resource_health",
	    json_string(ev->resource_health_reported ? "reported" : "absent"));
	bad |= json_object_set(o, "labels", ev->labels);
	bad |= json_object_set(o, "annotations", ev->annotations);
	bad |= put_time(o, "occurred_at", ev->occurred_at);
	bad |= put_time(o, "received_at", ev->received_at);
	bad |= put_str(o, "fingerprint", ev->fingerprint);
	if (with_payload && ev->payload != NULL)
		bad |= json_object_set(o, "payload", ev->payload);
	if (bad)
		goto fail;
	json_decref(res);
	return o;
fail:
	json_decref(res);
	json_decref(o);
	return NULL;
}

/* ievent_to_json(ev, false) as compact text, written directly (jsonw.h): the same bytes
 * json_dumps would print, without building the tree (that was ~15% of ingest). */
static char *
event_text_direct(const struct ievent *ev)
{
	struct jsonw w;
	char t[UTIL_TIME_LEN];

	jsonw_init(&w);
	jsonw_open(&w, '{');
	jsonw_member_str(&w, "id", ev->id);
	jsonw_member_str(&w, "source", ev->source);
	jsonw_member_str(&w, "type", ev->type);
	jsonw_member_str(&w, "status", ev->status);
	jsonw_member_str(&w, "severity", ev->severity);
	jsonw_member_str(&w, "cluster", ev->cluster);
	jsonw_member_str(&w, "namespace", ev->namespace);
	jsonw_member_str(&w, "app", ev->app);
	jsonw_member_str(&w, "revision", ev->revision);
	jsonw_member_str(&w, "repo_url", ev->repo_url);
	jsonw_member_str(&w, "health", ev->health);
	jsonw_member_str(&w, "sync", ev->sync);
	jsonw_member_str(&w, "summary", ev->summary);
	jsonw_member_str(&w, "message", ev->message);
	jsonw_key(&w, "resources");
	jsonw_open(&w, '[');
	for (size_t i = 0; i < ev->n_resources; i++) {
		const struct ievent_resource *r = &ev->resources[i];

		jsonw_open(&w, '{');
		jsonw_member_str(&w, "group", r->group);
		jsonw_member_str(&w, "kind", r->kind);
		jsonw_member_str(&w, "name", r->name);
		jsonw_member_str(&w, "namespace", r->namespace);
		jsonw_member_str(&w, "health", r->health);
		jsonw_member_str(&w, "sync", r->sync);
		jsonw_member_str(&w, "message", r->message);
		jsonw_close(&w, '}');
	}
	jsonw_close(&w, ']');
	jsonw_member_str(&w, "resource_health", ev->resource_health_reported ? "reported" :
	    "absent");
	jsonw_key(&w, "labels");
	jsonw_json(&w, ev->labels);
	jsonw_key(&w, "annotations");
	jsonw_json(&w, ev->annotations);
	jsonw_member_str(&w, "occurred_at", util_format_time(ev->occurred_at, t, sizeof(t)));
	jsonw_member_str(&w, "received_at", util_format_time(ev->received_at, t, sizeof(t)));
	jsonw_member_str(&w, "fingerprint", ev->fingerprint);
	jsonw_close(&w, '}');
	return jsonw_take(&w);
}

const char *
ievent_json_text(struct ievent *ev)
{
	json_t *obj;

	if (ev->json_text != NULL)
		return ev->json_text;
	if (ev->labels != NULL && ev->annotations != NULL) {
		ev->json_text = event_text_direct(ev);
		return ev->json_text;
	}
	obj = ievent_to_json(ev, false);     /* fails as before without labels/annotations */
	if (obj != NULL)
		ev->json_text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return ev->json_text;
}

/* Copy an optional string member; a present non-string is an error. */
static int
get_str(const json_t *obj, const char *key, char **field, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s: expected a string", key);
		return -EINVAL;
	}
	return ievent_set(field, json_string_value(v));
}

static int
get_time(const json_t *obj, const char *key, int64_t *ms, char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (s == NULL)
		return 0;
	if (util_parse_time(s, ms) != 0) {
		snprintf(err, errlen, "%s: '%.40s' is not an RFC 3339 time", key, s);
		return -EINVAL;
	}
	return 0;
}

/* Replace *dst with a copy of the object member key (an object of strings), if any. */
static int
get_map(const json_t *obj, const char *key, json_t **dst, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key), *copy, *m;
	const char *k;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		snprintf(err, errlen, "%s: expected an object", key);
		return -EINVAL;
	}
	/* labels and annotations map strings to strings (event.h); sinks and matchers rely
	 * on it */
	json_object_foreach((json_t *)v, k, m) {
		if (!json_is_string(m)) {
			snprintf(err, errlen, "%s.%s: expected a string", key, k);
			return -EINVAL;
		}
	}
	copy = json_deep_copy(v);
	if (copy == NULL)
		return -ENOMEM;
	json_decref(*dst);
	*dst = copy;
	return 0;
}

int
ievent_from_json(const json_t *obj, struct ievent **out, char *err, size_t errlen)
{
	struct ievent *ev = NULL;
	const char *id, *rh;
	json_t *res, *r;
	size_t i;
	int rc = -EINVAL;

	*out = NULL;
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "an event must be a JSON object");
		goto out;
	}
	ev = ievent_new(NULL);
	if (ev == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	id = json_string_value(json_object_get(obj, "id"));
	if (id != NULL) {
		if (strlen(id) != UTIL_ID_LEN) {
			snprintf(err, errlen, "id: expected a %d-character id", UTIL_ID_LEN);
			goto out;
		}
		memcpy(ev->id, id, UTIL_ID_LEN + 1);
	}
	if ((rc = get_str(obj, "source", &ev->source, err, errlen)) ||
	    (rc = get_str(obj, "type", &ev->type, err, errlen)) ||
	    (rc = get_str(obj, "status", &ev->status, err, errlen)) ||
	    (rc = get_str(obj, "severity", &ev->severity, err, errlen)) ||
	    (rc = get_str(obj, "cluster", &ev->cluster, err, errlen)) ||
	    (rc = get_str(obj, "namespace", &ev->namespace, err, errlen)) ||
	    (rc = get_str(obj, "app", &ev->app, err, errlen)) ||
	    (rc = get_str(obj, "revision", &ev->revision, err, errlen)) ||
	    (rc = get_str(obj, "repo_url", &ev->repo_url, err, errlen)) ||
	    (rc = get_str(obj, "health", &ev->health, err, errlen)) ||
	    (rc = get_str(obj, "sync", &ev->sync, err, errlen)) ||
	    (rc = get_str(obj, "summary", &ev->summary, err, errlen)) ||
	    (rc = get_str(obj, "message", &ev->message, err, errlen)) ||
	    (rc = get_str(obj, "fingerprint", &ev->fingerprint, err, errlen)) ||
	    (rc = get_map(obj, "labels", &ev->labels, err, errlen)) ||
	    (rc = get_map(obj, "annotations", &ev->annotations, err, errlen)) ||
	    (rc = get_time(obj, "occurred_at", &ev->occurred_at, err, errlen)) ||
	    (rc = get_time(obj, "received_at", &ev->received_at, err, errlen)))
		goto out;
	if (ev->source == NULL) {
		snprintf(err, errlen, "source: required");
		rc = -EINVAL;
		goto out;
	}
	rh = json_string_value(json_object_get(obj, "resource_health"));
	ev->resource_health_reported = rh == NULL || strcmp(rh, "absent") != 0;
	res = json_object_get(obj, "resources");
	if (res != NULL && !json_is_array(res)) {
		snprintf(err, errlen, "resources: expected an array");
		rc = -EINVAL;
		goto out;
	}
	json_array_foreach(res, i, r) {
		struct ievent_resource x = {
			.group = (char *)json_string_value(json_object_get(r, "group")),
			.kind = (char *)json_string_value(json_object_get(r, "kind")),
			.name = (char *)json_string_value(json_object_get(r, "name")),
			.namespace = (char *)json_string_value(json_object_get(r, "namespace")),
			.health = (char *)json_string_value(json_object_get(r, "health")),
			.sync = (char *)json_string_value(json_object_get(r, "sync")),
			.message = (char *)json_string_value(json_object_get(r, "message")),
		};

		if ((rc = ievent_add_resource(ev, &x)) != 0)
			goto out;
	}
	if (json_object_get(obj, "payload") != NULL)
		ev->payload = json_incref(json_object_get(obj, "payload"));
	*out = ev;
	ev = NULL;
	rc = 0;
out:
	ievent_destroy(ev);
	return rc;
}

/* Render a scalar JSON value as text; NULL for objects, arrays and null. */
static char *
scalar_text(const json_t *v)
{
	char buf[64];

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return strdup(buf);
	}
	if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		return strdup(buf);
	}
	if (json_is_boolean(v))
		return strdup(json_is_true(v) ? "true" : "false");
	errno = ENOENT;
	return NULL;
}

/* Walk a dotted path ("a.b.c") from obj. Returns the value (borrowed) or NULL. */
static const json_t *
walk(const json_t *obj, const char *path)
{
	char key[256];
	const char *p = path;

	while (obj != NULL && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (n == 0 || n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (json_is_array(obj)) {
			char *end;
			long idx = strtol(key, &end, 10);

			obj = (*end == '\0' && idx >= 0) ? json_array_get(obj, (size_t)idx) : NULL;
		} else {
			obj = json_object_get(obj, key);
		}
		p = dot ? dot + 1 : p + n;
	}
	return obj;
}

int
ievent_get_field(const struct ievent *ev, const char *name, char **out)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "source", offsetof(struct ievent, source) },
		{ "type", offsetof(struct ievent, type) },
		{ "status", offsetof(struct ievent, status) },
		{ "severity", offsetof(struct ievent, severity) },
		{ "cluster", offsetof(struct ievent, cluster) },
		{ "namespace", offsetof(struct ievent, namespace) },
		{ "app", offsetof(struct ievent, app) },
		{ "revision", offsetof(struct ievent, revision) },
		{ "repo_url", offsetof(struct ievent, repo_url) },
		{ "health", offsetof(struct ievent, health) },
		{ "sync", offsetof(struct ievent, sync) },
		{ "summary", offsetof(struct ievent, summary) },
		{ "message", offsetof(struct ievent, message) },
		{ "fingerprint", offsetof(struct ievent, fingerprint) },
		{ "incident_key", offsetof(struct ievent, incident_key) },
	};
	const json_t *v = NULL;
	const char *s = NULL;

	*out = NULL;
	if (strcmp(name, "id") == 0) {
		s = ev->id;
	} else if (strncmp(name, "labels.", 7) == 0) {
		v = json_object_get(ev->labels, name + 7);
	} else if (strncmp(name, "annotations.", 12) == 0) {
		v = json_object_get(ev->annotations, name + 12);
	} else if (strncmp(name, "payload.", 8) == 0) {
		v = walk(ev->payload, name + 8);
	} else if (strcmp(name, "resource_health") == 0) {
		s = ev->resource_health_reported ? "reported" : "absent";
	} else {
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			if (strcmp(name, fields[i].name) == 0) {
				s = *(char *const *)((const char *)ev + fields[i].off);
				if (s == NULL)
					return -ENOENT;
				break;
			}
		}
	}
	if (s != NULL) {
		*out = strdup(s);
		return *out ? 0 : -ENOMEM;
	}
	if (v == NULL)
		return -ENOENT;
	*out = scalar_text(v);
	if (*out == NULL)
		return errno == ENOENT ? -ENOENT : -ENOMEM;
	return 0;
}

int
ievent_vec_push(struct ievent_vec *vec, struct ievent *ev)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 4;
		struct ievent **v = realloc(vec->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n++] = ev;
	return 0;
}

void
ievent_vec_clear(struct ievent_vec *vec)
{
	for (size_t i = 0; i < vec->n; i++)
		ievent_destroy(vec->v[i]);
	free(vec->v);
	vec->v = NULL;
	vec->n = vec->cap = 0;
}
