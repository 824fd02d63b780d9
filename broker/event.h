/* event.h - the one event shape every source normalizes into (DESIGN.md §4).
 *
 * Ownership: a struct ievent owns every string and JSON value it points to.
 * ievent_destroy(NULL) is a no-op. */
#ifndef INCIDENTD_EVENT_H
#define INCIDENTD_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util.h"

struct ievent_resource {
	char *group;      /* API group, "" for core; may be NULL */
	char *kind;       /* "Deployment" */
	char *name;
	char *namespace;  /* may be NULL for cluster-scoped objects */
	char *health;     /* "Degraded", "Missing", ...; NULL when the payload carried none */
	char *sync;       /* "Synced", "OutOfSync"; may be NULL */
	char *message;    /* health message; may be NULL */
};

struct ievent {
	char id[UTIL_ID_LEN + 1];   /* ULID, time-sortable; set by ievent_new() */
	char *source;               /* "argocd", "alertmanager", "flux", "cloudevents", ... */
	char *type;                 /* "deployment.degraded", "alert.firing", ... */
	char *status;               /* "firing" | "resolved" */
	char *severity;             /* "critical", "error", "warning", "info"; may be NULL */
	char *cluster;
	char *namespace;
	char *app;                  /* application, or "Kind/name" for Flux objects */
	char *revision;
	char *repo_url;
	char *health;               /* application health ("Degraded"); may be NULL */
	char *sync;                 /* application sync status ("OutOfSync"); may be NULL */
	char *summary;              /* one line */
	char *message;              /* full text; may be NULL */
	struct ievent_resource *resources;
	size_t n_resources;
	/* false when resources[] came without per-resource health (Argo CD >= 3.0 default:
	 * health lives in the app tree); recorded so sinks can say so instead of guessing. */
	bool resource_health_reported;
	json_t *labels;             /* object string -> string; never NULL after ievent_new */
	json_t *annotations;        /* object string -> string; never NULL after ievent_new */
	int64_t occurred_at;        /* ms since epoch; received_at when the payload has none */
	int64_t received_at;        /* ms since epoch */
	char *fingerprint;          /* default identity of what this event is about */
	json_t *payload;            /* the raw payload this event came from (one reference) */
	json_t *payload_shared;     /* NULL, or the members of payload that every event of the
	                             * same request shares, by reference (one reference to an
	                             * object common to those events, e.g. Alertmanager's
	                             * top-level fields): the ledger stores them once per
	                             * request and each event only the rest */
	char *payload_text;         /* NULL, or the request body exactly as received when payload
	                             * is that whole body (owned): the ledger stores it as is
	                             * instead of printing payload again */
	char *incident_key;         /* set when ingested: the key of the (first) incident it
	                             * went to, or NULL; not part of the JSON */
	char *json_text;            /* NULL, or ievent_json_text()'s cached compact text of
	                             * ievent_to_json(ev, false); not part of the JSON */
};

/* A growable array of events. Owns the events it holds. */
struct ievent_vec {
	struct ievent **v;
	size_t n, cap;
};

/* Allocate an empty event with a fresh id, received_at = now, empty labels/annotations.
 * source is copied. Returns NULL on allocation failure. */
struct ievent *ievent_new(const char *source);

/* Free an event and everything it owns. NULL is a no-op. */
void ievent_destroy(struct ievent *ev);

/* Replace *field with a copy of value (NULL allowed). Returns 0 or -ENOMEM. */
int ievent_set(char **field, const char *value);

/* Append a resource (all strings copied; any may be NULL). Returns 0 or -ENOMEM. */
int ievent_add_resource(struct ievent *ev, const struct ievent_resource *r);

/* The event as a JSON object (new reference): all fields of §4, times as RFC 3339 strings,
 * "resources", "labels", "annotations", "resource_health" ("reported" | "absent") and, if
 * with_payload, the raw "payload". Returns NULL on allocation failure. */
json_t *ievent_to_json(const struct ievent *ev, bool with_payload);

/* The compact JSON text of ievent_to_json(ev, false), built on the first call and kept in
 * ev->json_text (owned by the event) so the ledger row and the live tail share one dump.
 * Call it once the event is final: later changes to the fields do not update the text.
 * Returns the text, or NULL on allocation failure. */
const char *ievent_json_text(struct ievent *ev);

/* Rebuild an event from ievent_to_json() output (used by the CLI and offline rule tests).
 * Returns 0 and a new event in *out, or -EINVAL with a message in err. */
int ievent_from_json(const json_t *obj, struct ievent **out, char *err, size_t errlen);

/* Look up a field by name for matchers and group_by: a top-level field ("cluster", "app",
 * "status", ...), "labels.X", "annotations.X" or "payload.a.b" (strings, numbers and
 * booleans rendered as text); "incident_key" is the key of the incident being decided (set
 * while silences are checked, absent while routes match). Returns 0 and a new string in *out (caller frees), or -ENOENT
 * when the field is absent, or -ENOMEM. */
int ievent_get_field(const struct ievent *ev, const char *name, char **out);

/* Append ev to vec; on success vec owns ev. Returns 0 or -ENOMEM (ev untouched). */
int ievent_vec_push(struct ievent_vec *vec, struct ievent *ev);

/* Destroy every event in vec and its array; vec is left empty and reusable. */
void ievent_vec_clear(struct ievent_vec *vec);

#endif
