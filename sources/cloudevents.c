/* cloudevents.c - CloudEvents 1.0 over HTTP: structured mode (the body is the event in the
 * JSON event format), binary mode (context attributes in ce-* headers, the body is the
 * data) and batch mode (the body is a JSON array of structured events). */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/http.h>

#include "fields.h"
#include "source.h"

/* The attributes the spec defines; every other top-level member (structured) or ce-*
 * header (binary) is an extension attribute. */
static const char *const core_attrs[] = {
	"specversion", "id", "source", "type", "subject", "time", "datacontenttype",
	"dataschema", "data", "data_base64",
};

/* One CloudEvent, whichever mode it came in. Strings are borrowed from the body, the
 * headers or whole. */
struct ce {
	const char *specversion, *id, *source, *type, *subject, *time;
	const json_t *data;     /* may be NULL */
	json_t *ext;            /* extension attributes, name -> value (owned) */
	json_t *whole;          /* the CloudEvent in structured form (owned) */
};

struct ctx {
	char *err;
	size_t errlen;
	const char *where;      /* "" or "event [3]: " inside a batch */
	char missing[256];
};

static void
ce_clear(struct ce *e)
{
	json_decref(e->ext);
	json_decref(e->whole);
	memset(e, 0, sizeof(*e));
}

static bool
is_core_attr(const char *name)
{
	for (size_t i = 0; i < sizeof(core_attrs) / sizeof(core_attrs[0]); i++) {
		if (strcmp(name, core_attrs[i]) == 0)
			return true;
	}
	return false;
}

static void
note_missing(struct ctx *c, const char *name)
{
	fields_note_missing(c->missing, sizeof(c->missing), "", name);
}

/* An optional string attribute of a structured event; a present non-string is an error,
 * "" counts as absent. */
static int
attr_str(struct ctx *c, const json_t *obj, const char *key, const char **out)
{
	return fields_opt_str(obj, key, c->where, key, c->err, c->errlen, out);
}

/* Required attributes present and specversion "1.0"; names are as the sender wrote them
 * ("id" or "ce-id"). */
static int
check_required(struct ctx *c, const struct ce *e, bool binary)
{
	const char *pre = binary ? "ce-" : "";
	char name[32];

	if (e->specversion == NULL) {
		snprintf(name, sizeof(name), "%sspecversion", pre);
		note_missing(c, name);
	}
	if (e->id == NULL) {
		snprintf(name, sizeof(name), "%sid", pre);
		note_missing(c, name);
	}
	if (e->source == NULL) {
		snprintf(name, sizeof(name), "%ssource", pre);
		note_missing(c, name);
	}
	if (e->type == NULL) {
		snprintf(name, sizeof(name), "%stype", pre);
		note_missing(c, name);
	}
	if (c->missing[0]) {
		snprintf(c->err, c->errlen, "%smissing required field(s): %s", c->where,
		    c->missing);
		return -EINVAL;
	}
	if (strcmp(e->specversion, "1.0") != 0) {
		snprintf(c->err, c->errlen, "%s%sspecversion: '%.20s' is not supported (only "
		    "1.0)", c->where, pre, e->specversion);
		return -EINVAL;
	}
	return 0;
}

/* A structured-mode event (JSON event format). */
static int
parse_structured(struct ctx *c, const json_t *obj, struct ce *e)
{
	const char *k, *dct, *schema;   /* only type-checked: the payload keeps them */
	json_t *v;
	int rc;

	if (!json_is_object(obj)) {
		snprintf(c->err, c->errlen, "%sexpected a JSON object (a CloudEvent)",
		    c->where);
		return -EINVAL;
	}
	if ((rc = attr_str(c, obj, "specversion", &e->specversion)) ||
	    (rc = attr_str(c, obj, "id", &e->id)) ||
	    (rc = attr_str(c, obj, "source", &e->source)) ||
	    (rc = attr_str(c, obj, "type", &e->type)) ||
	    (rc = attr_str(c, obj, "subject", &e->subject)) ||
	    (rc = attr_str(c, obj, "time", &e->time)) ||
	    (rc = attr_str(c, obj, "datacontenttype", &dct)) ||
	    (rc = attr_str(c, obj, "dataschema", &schema)))
		return rc;
	(void)dct;
	(void)schema;
	if ((rc = check_required(c, e, false)) != 0)
		return rc;
	e->data = json_object_get(obj, "data");
	e->ext = json_object();
	if (e->ext == NULL)
		return -ENOMEM;
	json_object_foreach((json_t *)obj, k, v) {
		if (!is_core_attr(k) && json_object_set(e->ext, k, v) != 0)
			return -ENOMEM;
	}
	e->whole = json_incref((json_t *)obj);
	return 0;
}

/* Set key of obj to a header's value; header values need not be UTF-8, JSON strings must. */
static int
put_header(struct ctx *c, json_t *obj, const char *key, const char *hname, const char *value)
{
	json_t *s;

	if (value == NULL)
		return 0;
	if ((s = json_string(value)) == NULL) {
		snprintf(c->err, c->errlen, "%s: header value is not valid UTF-8", hname);
		return -EINVAL;
	}
	return json_object_set_new(obj, key, s) == 0 ? 0 : -ENOMEM;
}

/* A binary-mode event: attributes from ce-* headers, data = the body. The structured form
 * is rebuilt for the payload. */
static int
parse_binary(struct ctx *c, const struct evkeyvalq *headers, const json_t *body,
    struct ce *e)
{
	const struct evkeyval *h;
	const char *dct = NULL, *schema = NULL;
	json_t *w;
	int rc;

	if (headers != NULL) {
		e->specversion = evhttp_find_header(headers, "ce-specversion");
		e->id = evhttp_find_header(headers, "ce-id");
		e->source = evhttp_find_header(headers, "ce-source");
		e->type = evhttp_find_header(headers, "ce-type");
		e->subject = evhttp_find_header(headers, "ce-subject");
		e->time = evhttp_find_header(headers, "ce-time");
		schema = evhttp_find_header(headers, "ce-dataschema");
		dct = evhttp_find_header(headers, "Content-Type");
	}
	/* "" counts as absent, as in structured mode */
	if (e->specversion && !*e->specversion)
		e->specversion = NULL;
	if (e->id && !*e->id)
		e->id = NULL;
	if (e->source && !*e->source)
		e->source = NULL;
	if (e->type && !*e->type)
		e->type = NULL;
	if (e->subject && !*e->subject)
		e->subject = NULL;
	if (e->time && !*e->time)
		e->time = NULL;
	if (schema && !*schema)
		schema = NULL;
	/* without headers every attribute is missing: headers != NULL past this point */
	if ((rc = check_required(c, e, true)) != 0)
		return rc;
	e->ext = json_object();
	e->whole = w = json_object();
	if (e->ext == NULL || w == NULL)
		return -ENOMEM;
	if ((rc = put_header(c, w, "specversion", "ce-specversion", e->specversion)) ||
	    (rc = put_header(c, w, "id", "ce-id", e->id)) ||
	    (rc = put_header(c, w, "source", "ce-source", e->source)) ||
	    (rc = put_header(c, w, "type", "ce-type", e->type)) ||
	    (rc = put_header(c, w, "subject", "ce-subject", e->subject)) ||
	    (rc = put_header(c, w, "time", "ce-time", e->time)) ||
	    (rc = put_header(c, w, "datacontenttype", "Content-Type", dct)) ||
	    (rc = put_header(c, w, "dataschema", "ce-dataschema", schema)))
		return rc;
	for (h = headers->tqh_first; h != NULL; h = h->next.tqe_next) {
		char name[64];
		size_t n;

		if (strncasecmp(h->key, "ce-", 3) != 0)
			continue;
		n = strlen(h->key + 3);
		if (n == 0 || n >= sizeof(name))
			continue;
		for (size_t i = 0; i <= n; i++)
			name[i] = (char)tolower((unsigned char)h->key[3 + i]);
		/* attribute names are [a-z0-9] (CloudEvents 1.0); others are not ours */
		if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789") != n ||
		    is_core_attr(name))
			continue;
		if ((rc = put_header(c, e->ext, name, h->key, h->value)) != 0)
			return rc;
	}
	if (json_object_update(w, e->ext) != 0 ||
	    json_object_set(w, "data", (json_t *)body) != 0)
		return -ENOMEM;
	e->data = body;
	/* the strings now live in whole, which outlives the headers */
	e->specversion = json_string_value(json_object_get(w, "specversion"));
	e->id = json_string_value(json_object_get(w, "id"));
	e->source = json_string_value(json_object_get(w, "source"));
	e->type = json_string_value(json_object_get(w, "type"));
	e->subject = json_string_value(json_object_get(w, "subject"));
	e->time = json_string_value(json_object_get(w, "time"));
	return 0;
}

/* A string member of data (when data is an object), else of the extensions; "" and
 * non-strings count as absent. */
static const char *
data_or_ext(const struct ce *e, const char *key)
{
	const char *s = json_string_value(json_object_get(e->data, key));

	if (s == NULL || *s == '\0')
		s = json_string_value(json_object_get(e->ext, key));
	return (s != NULL && *s != '\0') ? s : NULL;
}

static const char *
data_str(const struct ce *e, const char *key)
{
	const char *s = json_string_value(json_object_get(e->data, key));

	return (s != NULL && *s != '\0') ? s : NULL;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *
ce_status(const struct ce *e)
{
	const char *s = data_str(e, "status");

	if (s != NULL && (strcmp(s, "firing") == 0 || strcmp(s, "resolved") == 0))
		return s;
	if (ends_with(e->type, ".resolved") || ends_with(e->type, ".recovered") ||
	    ends_with(e->type, ".succeeded"))
		return "resolved";
	return "firing";
}

static int
set_label(struct ievent *ev, const char *k, const char *v)
{
	if (v == NULL)
		return 0;
	return json_object_set_new(ev->labels, k, json_string(v)) == 0 ? 0 : -ENOMEM;
}

/* Map a parsed CloudEvent onto a new event in *out. */
static int
to_event(struct ctx *c, const struct ce *e, int64_t received_at, struct ievent **out)
{
	struct ievent *ev = ievent_new("cloudevents");
	const char *summary, *fp, *k;
	char *fpbuf = NULL;
	json_t *v;
	int rc = -ENOMEM;

	*out = NULL;
	if (ev == NULL)
		goto out;
	ev->received_at = received_at;
	ev->occurred_at = received_at;
	if (e->time != NULL && util_parse_time(e->time, &ev->occurred_at) != 0) {
		snprintf(c->err, c->errlen, "%stime: '%.60s' is not an RFC 3339 time", c->where,
		    e->time);
		rc = -EINVAL;
		goto out;
	}
	json_object_foreach(e->ext, k, v) {
		if (json_is_string(v) && json_object_set(ev->labels, k, v) != 0)
			goto out;
	}
	summary = data_str(e, "summary");
	if (summary == NULL)
		summary = data_str(e, "title");
	if (summary == NULL)
		summary = e->subject ? e->subject : e->type;
	fp = data_str(e, "fingerprint");
	if (fp == NULL) {
		/* exact, never cut: a long source URI must neither split a character nor
		 * make two subjects one incident */
		fpbuf = util_format_new("%s/%s", e->source, e->subject ? e->subject : e->id);
		if (fpbuf == NULL)
			goto out;
		fp = fpbuf;
	}
	if (ievent_set(&ev->type, e->type) || ievent_set(&ev->status, ce_status(e)) ||
	    ievent_set(&ev->severity, data_or_ext(e, "severity")) ||
	    ievent_set(&ev->cluster, data_or_ext(e, "cluster")) ||
	    ievent_set(&ev->namespace, data_or_ext(e, "namespace")) ||
	    ievent_set(&ev->app, data_or_ext(e, "app")) ||
	    ievent_set(&ev->summary, summary) ||
	    ievent_set(&ev->message, data_str(e, "message")) ||
	    ievent_set(&ev->fingerprint, fp) ||
	    set_label(ev, "ce_type", e->type) || set_label(ev, "ce_source", e->source) ||
	    set_label(ev, "ce_subject", e->subject))
		goto out;
	ev->payload = json_incref(e->whole);
	*out = ev;
	ev = NULL;
	rc = 0;
out:
	free(fpbuf);
	ievent_destroy(ev);
	return rc;
}

/* Parse and map one CloudEvent, appending it to out. */
static int
one_event(struct ctx *c, const struct source_input *in, const json_t *obj, bool binary,
    struct ievent_vec *out)
{
	struct ce e = { 0 };
	struct ievent *ev = NULL;
	int rc;

	c->missing[0] = '\0';
	rc = binary ? parse_binary(c, in->headers, obj, &e) : parse_structured(c, obj, &e);
	if (rc != 0)
		goto out;
	if ((rc = to_event(c, &e, in->received_at, &ev)) != 0)
		goto out;
	if ((rc = ievent_vec_push(out, ev)) != 0)
		goto out;
	ev = NULL;
out:
	ievent_destroy(ev);
	ce_clear(&e);
	return rc;
}

int
cloudevents_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "" };
	size_t n0 = out->n, i;
	const json_t *el;
	char where[48];
	bool binary = in->ce_binary;
	int rc = -EINVAL;

	if (in->ce_batch) {
		if (!json_is_array(in->body) || json_array_size(in->body) == 0) {
			snprintf(err, errlen, "expected a non-empty JSON array of CloudEvents "
			    "(application/cloudevents-batch+json)");
			goto out;
		}
		c.where = where;
		json_array_foreach(in->body, i, el) {
			snprintf(where, sizeof(where), "event [%zu]: ", i);
			if ((rc = one_event(&c, in, el, false, out)) != 0)
				goto out;
		}
		goto out;
	}
	/* A structured event posted as plain JSON, without ce-* headers: take it as such. */
	if (binary && (in->headers == NULL ||
	    evhttp_find_header(in->headers, "ce-specversion") == NULL) &&
	    json_is_object(in->body) && json_object_get(in->body, "specversion") != NULL)
		binary = false;
	rc = one_event(&c, in, in->body, binary, out);
out:
	if (rc != 0) {
		/* all or nothing: drop what this batch appended */
		while (out->n > n0)
			ievent_destroy(out->v[--out->n]);
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
	}
	return rc;
}
