/* router.c - route selection and incident keys. */
#include "router.h"

#include <errno.h>
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

int
router_plan(const struct config *cfg, const struct ievent *ev, struct route_plan *plan)
{
	char detail[512];
	int rc = 0;

	memset(plan, 0, sizeof(*plan));
	if (cfg->n_routes == 0)
		return plan_add_step(plan, "route", "not matched", "no routes are configured");
	/* No matchers yet: the first route takes every event. */
	plan->route = &cfg->routes[0];
	snprintf(detail, sizeof(detail), "route %s (%s) takes every event",
	    plan->route->name, plan->route->where ? plan->route->where : "config");
	rc = plan_add_step(plan, "route", "matched", detail);
	if (rc != 0)
		return rc;
	plan->key = router_incident_key(ev, plan->route->group_by, plan->route->n_group_by);
	if (plan->key == NULL)
		return -ENOMEM;
	return 0;
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
	free(plan->key);
	memset(plan, 0, sizeof(*plan));
}
