/* router.c - route selection and incident keys. */
#include "router.h"
#include "matcher.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const object_default_group[] = { "cluster", "namespace", "app" };
static const char *const generic_default_group[] = { "fingerprint" };

static int
plan_add_step(struct route_plan *plan, const char *step, const char *outcome,
    const char *detail)
{
	struct plan_step *n = realloc(plan->steps, (plan->n_steps + 1) * sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	plan->steps = n;
	n[plan->n_steps].step = strdup(step);
	n[plan->n_steps].outcome = strdup(outcome);
	n[plan->n_steps].detail = strdup(detail);
	plan->n_steps++;
	if (!n[plan->n_steps - 1].step || !n[plan->n_steps - 1].outcome ||
	    !n[plan->n_steps - 1].detail)
		return -ENOMEM;
	return 0;
}

/* Append n bytes of piece to the NUL-terminated buf (length *len, capacity *cap). */
static int
key_append_raw(char **buf, size_t *len, size_t *cap, const char *piece, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*cap ? *cap * 2 : 64) + n;
		char *nb = realloc(*buf, ncap);

		if (nb == NULL)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, piece, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* Append s percent-encoding '/' and '%', so key components never run into each other. */
static int
key_append(char **buf, size_t *len, size_t *cap, const char *s)
{
	for (; *s; s++) {
		char enc[4];
		int rc;

		if (*s == '/' || *s == '%') {
			snprintf(enc, sizeof(enc), "%%%02X", (unsigned char)*s);
			rc = key_append_raw(buf, len, cap, enc, 3);
		} else {
			rc = key_append_raw(buf, len, cap, s, 1);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

char *
router_incident_key(const struct ievent *ev, char *const *group_by, size_t n)
{
	const char *const *fields = (const char *const *)group_by;
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fields == NULL || n == 0) {
		/* Argo CD apps and Flux objects: one incident per object and cluster; alerts and
		 * CloudEvents: per fingerprint */
		if (strcmp(ev->source, "argocd") == 0 || strcmp(ev->source, "flux") == 0) {
			fields = object_default_group;
			n = sizeof(object_default_group) / sizeof(object_default_group[0]);
		} else {
			fields = generic_default_group;
			n = 1;
		}
	}
	if (key_append(&buf, &len, &cap, ev->source) != 0)
		goto fail;
	if (n == 1 && strcmp(fields[0], "...") == 0) {
		/* group_by: ['...']: every event is its own incident */
		if (key_append_raw(&buf, &len, &cap, "/", 1) != 0 ||
		    key_append(&buf, &len, &cap, ev->id) != 0)
			goto fail;
		return buf;
	}
	for (size_t i = 0; i < n; i++) {
		char *v = NULL;

		if (key_append_raw(&buf, &len, &cap, "/", 1) != 0)
			goto fail;
		int rc = ievent_get_field(ev, fields[i], &v);
		if (rc == -ENOMEM)
			goto fail;
		if (rc == 0) {
			rc = key_append(&buf, &len, &cap, v);
			free(v);
			if (rc != 0)
				goto fail;
		}
	}
	return buf;
fail:
	free(buf);
	return NULL;
}

/* Record that route r takes the event: into the target of its key (new or shared). */
static int
plan_take(struct route_plan *plan, const struct ievent *ev, const struct config_route *r,
    struct plan_target **out)
{
	struct plan_target *t = NULL, *nt;
	const struct config_route **tk;
	char *key;
	const char **ns;

	tk = realloc(plan->taken, (plan->n_taken + 1) * sizeof(*tk));
	if (tk == NULL)
		return -ENOMEM;
	plan->taken = tk;
	tk[plan->n_taken++] = r;
	key = router_incident_key(ev, r->group_by, r->n_group_by);
	if (key == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < plan->n_targets && t == NULL; i++)
		if (strcmp(plan->targets[i].key, key) == 0)
			t = &plan->targets[i];
	if (t != NULL) {
		free(key);
	} else {
		nt = realloc(plan->targets, (plan->n_targets + 1) * sizeof(*nt));
		if (nt == NULL) {
			free(key);
			return -ENOMEM;
		}
		plan->targets = nt;
		t = &nt[plan->n_targets++];
		memset(t, 0, sizeof(*t));
		t->route = r;
		t->key = key;
	}
	ns = realloc(t->sinks, (t->n_sinks + r->n_sinks + 1) * sizeof(*ns));
	if (ns == NULL)
		return -ENOMEM;
	t->sinks = ns;
	for (size_t i = 0; i < r->n_sinks; i++) {
		bool dup = false;

		for (size_t j = 0; j < t->n_sinks && !dup; j++)
			dup = strcmp(t->sinks[j], r->sinks[i]) == 0;
		if (!dup)
			ns[t->n_sinks++] = r->sinks[i];
	}
	*out = t;
	return 0;
}

/* Whether every matcher of r holds; on a mismatch why names the first failing one. */
static int
route_matches(const struct config_route *r, const struct ievent *ev, char *why, size_t len)
{
	char seen[256];

	for (size_t i = 0; i < r->n_matchers; i++) {
		int hit = matcher_eval(&r->matchers[i], ev, seen, sizeof(seen));

		if (hit < 0)
			return hit;
		if (!hit) {
			snprintf(why, len, "'%s' does not hold (%s)", r->matchers[i].text, seen);
			return 0;
		}
	}
	snprintf(why, len, "%s", r->n_matchers ? "all matchers hold" : "no matchers");
	return 1;
}

/* Try the routes of one level that are (fallback) or are not fallback routes; *took is set
 * when some route (or a child) took the event. */
static int
plan_level(struct route_plan *plan, const struct ievent *ev, const struct config_route *routes,
    size_t n, int depth, bool fallback, bool *took)
{
	char why[400], detail[600];
	int rc;

	*took = false;
	for (size_t i = 0; i < n; i++) {
		const struct config_route *r = &routes[i];
		bool child_took = false;
		int hit;

		if (depth > 32)
			return -ELOOP;
		if (r->fallback != fallback)
			continue;
		hit = route_matches(r, ev, why, sizeof(why));
		if (hit < 0)
			return hit;
		snprintf(detail, sizeof(detail), "route %s (%s): %s%s", r->name, r->where ? r->where :
		    "config", why, fallback ? " (fallback: no other route took the event)" : "");
		rc = plan_add_step(plan, "route", hit ? "matched" : "not matched", detail);
		if (rc != 0)
			return rc;
		if (!hit)
			continue;
		rc = plan_level(plan, ev, r->routes, r->n_routes, depth + 1, false, &child_took);
		if (rc != 0)
			return rc;
		if (!child_took) {
			struct plan_target *t = NULL;

			rc = plan_take(plan, ev, r, &t);
			if (rc != 0)
				return rc;
			snprintf(detail, sizeof(detail), "route %s takes the event: incident key %s",
			    r->name, t->key);
			rc = plan_add_step(plan, "route", "taken", detail);
			if (rc != 0)
				return rc;
		}
		*took = true;
		if (!r->cont)
			break;
	}
	return 0;
}

int
router_plan(const struct config *cfg, const struct ievent *ev, struct route_plan *plan)
{
	bool took = false;
	int rc;

	memset(plan, 0, sizeof(*plan));
	if (cfg->n_routes == 0)
		return plan_add_step(plan, "route", "not matched", "no routes are configured");
	rc = plan_level(plan, ev, cfg->routes, cfg->n_routes, 0, false, &took);
	if (rc == 0 && !took)       /* the fallback routes take what no other route took */
		rc = plan_level(plan, ev, cfg->routes, cfg->n_routes, 0, true, &took);
	if (rc == 0 && !took)
		rc = plan_add_step(plan, "route", "not matched", "no route matched: the event is "
		    "recorded, no incident, no delivery");
	return rc;
}

void
route_plan_clear(struct route_plan *plan)
{
	if (plan == NULL)
		return;
	for (size_t i = 0; i < plan->n_steps; i++) {
		free(plan->steps[i].step);
		free(plan->steps[i].outcome);
		free(plan->steps[i].detail);
	}
	free(plan->steps);
	for (size_t i = 0; i < plan->n_targets; i++) {
		free(plan->targets[i].key);
		free(plan->targets[i].sinks);
	}
	free(plan->targets);
	free(plan->taken);
	memset(plan, 0, sizeof(*plan));
}
