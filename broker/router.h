/* router.h - which routes an event takes and which incident it belongs to.
 *
 * Routes form a tree, tried like Alertmanager's: at each level the routes are tried in
 * order; a route matches when all its matchers hold; a matching route hands the event to the
 * first of its children that matches (and the following ones while they say `continue`),
 * and takes it itself when none does. Top-level routes marked `fallback` are tried (in
 * order, by the same rules) only when no other route took the event. Every route that takes the event puts it into the
 * incident named by its own group_by (default per source), as Alertmanager puts an alert
 * into one aggregation group per matching route; routes yielding the same key share one
 * incident and their sinks. router_plan() only reads the event and the configuration,
 * never the ledger, so `incidentctl rules test` runs the same code offline. */
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

/* One incident the event goes to: the routes that took it with the same key share it. */
struct plan_target {
	const struct config_route *route;   /* the first of them (names the incident's route) */
	char *key;                          /* incident key (owned) */
	const char **sinks;                 /* their sinks, each once, in order (array owned,
	                                     * names borrowed from the config) */
	size_t n_sinks;
};

struct route_plan {
	struct plan_target *targets;        /* in the order routes took the event; none = no
	                                     * route took it (recorded, no incident) */
	size_t n_targets;
	const struct config_route **taken;  /* every route that took the event, in order, as
	                                     * amtool lists receivers (array owned, routes
	                                     * borrowed from the config) */
	size_t n_taken;
	struct plan_step *steps;
	size_t n_steps;
};

/* Plan ev against cfg (both borrowed). Returns 0 and fills *plan (free with
 * route_plan_clear()), or -ENOMEM (or -ELOOP for routes nested deeper than 32). */
int router_plan(const struct config *cfg, const struct ievent *ev, struct route_plan *plan);

/* Build the incident key "<source>/<v1>/<v2>..." of ev for the given group_by field list
 * (NULL/0 = the source's default: cluster, namespace, app for Argo CD and Flux;
 * fingerprint for the others). '/' and '%' inside values are percent-encoded so keys are
 * unambiguous ("aks-store" and "aks-store-2" never collide); ['...'] alone gives
 * "<source>/<event id>" (every event separate). Returns a new string or NULL. */
char *router_incident_key(const struct ievent *ev, char *const *group_by, size_t n);

/* Free what a plan owns and zero it. NULL is a no-op. */
void route_plan_clear(struct route_plan *plan);

#endif
