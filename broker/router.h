/* router.h - which route an event takes and which incident it belongs to.
 *
 * The minimal router of the spine: routes have no matchers yet, so the first route takes
 * every event. The incident key is built from the route's group_by fields (default per
 * source: Argo CD cluster, namespace, app). The seam for the full rules engine is
 * router_plan(): it only reads the event and the configuration, never the ledger. */
#ifndef INCIDENTD_ROUTER_H
#define INCIDENTD_ROUTER_H

#include <stddef.h>

#include "config.h"
#include "event.h"

/* One decision-trace step produced while planning. Strings are owned by the plan. */
struct plan_step {
	char *step;     /* "route" */
	char *outcome;  /* "matched", "not matched" */
	char *detail;
};

struct route_plan {
	const struct config_route *route;   /* borrowed from the config; NULL = no route */
	char *key;                          /* incident key (owned) */
	struct plan_step *steps;
	size_t n_steps;
};

/* Plan ev against cfg (both borrowed). Returns 0 and fills *plan (free with
 * route_plan_clear()), or -ENOMEM. A plan with route == NULL means no route matched. */
int router_plan(const struct config *cfg, const struct ievent *ev, struct route_plan *plan);

/* Build the incident key "<source>/<v1>/<v2>..." of ev for the given group_by field list
 * (NULL/0 = the source's default: cluster, namespace, app for Argo CD and Flux;
 * fingerprint for the others). '/' and '%' inside values are percent-encoded so keys are
 * unambiguous ("aks-store" and "aks-store-2" never collide). Returns a new string or NULL. */
char *router_incident_key(const struct ievent *ev, char *const *group_by, size_t n);

void route_plan_clear(struct route_plan *plan);

#endif
