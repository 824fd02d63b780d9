/* test_router.c - matchers (table-driven) and the route tree: nesting, inheritance,
 * continue, incident keys. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "matcher.h"
#include "router.h"

static struct ievent *
event(const char *source, const char *cluster, const char *ns, const char *app)
{
	struct ievent *ev = ievent_new(source);

	assert_non_null(ev);
	assert_int_equal(ievent_set(&ev->status, "firing"), 0);
	assert_int_equal(ievent_set(&ev->cluster, cluster), 0);
	assert_int_equal(ievent_set(&ev->namespace, ns), 0);
	assert_int_equal(ievent_set(&ev->app, app), 0);
	json_object_set_new(ev->labels, "team", json_string("payments"));
	ev->payload = json_pack("{s:{s:s}}", "app", "spec", "v1");
	return ev;
}

static void
test_matcher_table(void **state)
{
	static const struct {
		const char *text;
		int want;          /* 1 match, 0 no match */
	} cases[] = {
		{ "source = argocd", 1 },
		{ "source=argocd", 1 },
		{ "source = flux", 0 },
		{ "source != flux", 1 },
		{ "cluster =~ \"prod-.*\"", 1 },
		{ "cluster =~ prod", 0 },                 /* anchored: the whole value */
		{ "cluster =~ \"prod-west-aks|x\"", 1 },
		{ "cluster !~ \"staging-.*\"", 1 },
		{ "cluster !~ \"prod-.*\"", 0 },
		{ "labels.team = payments", 1 },
		{ "labels.owner = \"\"", 1 },             /* absent reads as "" */
		{ "labels.owner != \"\"", 0 },
		{ "annotations.runbook =~ \".*\"", 1 },
		{ "payload.app.spec = v1", 1 },
		{ "app = \"aks-store\"", 1 },
		{ "app = aks-store-2", 0 },
		{ "app = \"a\\\"b\"", 0 },
		{ "summary =~ \"(a+)+b\"", 0 },           /* no catastrophic stall on "" */
	};
	struct ievent *ev = event("argocd", "prod-west-aks", "pets", "aks-store");
	char err[256], why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct matcher m;

		if (matcher_parse(cases[i].text, &m, err, sizeof(err)) != 0)
			fail_msg("%s: %s", cases[i].text, err);
		if (matcher_eval(&m, ev, why, sizeof(why)) != cases[i].want)
			fail_msg("%s: expected %d (%s)", cases[i].text, cases[i].want, why);
		matcher_clear(&m);
	}
	matcher_clear(NULL);
	ievent_destroy(ev);
}

static void
test_matcher_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "", "expected `field op value`" },
		{ "clustr = x", "unknown field 'clustr'" },
		{ "cluster ~ x", "expected an operator" },
		{ "cluster =~ \"(\"", "bad regular expression" },
		{ "cluster = \"abc", "unterminated or unescaped double quote" },
		{ "labels. = x", "unknown field 'labels.'" },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct matcher m;

		err[0] = '\0';
		assert_int_equal(matcher_parse(cases[i].text, &m, err, sizeof(err)), -EINVAL);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("'%s': error '%s' lacks '%s'", cases[i].text, err, cases[i].want);
		assert_null(m.field);
	}
}

/* A regex that would backtrack for ages gives up and counts as no match. */
static void
test_matcher_limit(void **state)
{
	struct ievent *ev = event("argocd", "c", "n", "a");
	char err[256], why[256], text[64];
	struct matcher m;

	(void)state;
	memset(text, 'a', 40);
	text[40] = '!';
	text[41] = '\0';
	assert_int_equal(ievent_set(&ev->summary, text), 0);
	assert_int_equal(matcher_parse("summary =~ \"(a+)+\"", &m, err, sizeof(err)), 0);
	assert_int_equal(matcher_eval(&m, ev, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "regex gave up"));
	matcher_clear(&m);
	ievent_destroy(ev);
}

static const char tree[] =
    "sinks:\n"
    "  github: { plugin: log }\n"
    "  slack: { plugin: log }\n"
    "  pager: { plugin: log }\n"
    "  audit: { plugin: log }\n"
    "routes:\n"
    "  - name: audit\n"
    "    match: ['source =~ \"argocd|flux\"']\n"
    "    sinks: [audit]\n"
    "    group_by: ['...']\n"
    "    continue: true\n"
    "  - name: prod\n"
    "    match: ['cluster =~ \"prod-.*\"']\n"
    "    sinks: [github]\n"
    "    group_by: [cluster, app]\n"
    "    routes:\n"
    "      - name: prod-payments\n"
    "        match: ['labels.team = payments']\n"
    "        sinks: [github, pager]\n"
    "      - name: prod-pets\n"
    "        match: ['namespace = pets']\n"
    "  - name: default\n"
    "    sinks: [slack]\n";

static void
plan_of(const struct config *cfg, struct ievent *ev, struct route_plan *plan)
{
	assert_int_equal(router_plan(cfg, ev, plan), 0);
	ievent_destroy(ev);
}

/* "route key sink,sink | route key sink" for every target of the plan. */
static void
assert_targets(const struct route_plan *plan, const char *want)
{
	char got[512] = "";

	for (size_t t = 0; t < plan->n_targets; t++) {
		const struct plan_target *tg = &plan->targets[t];

		strcat(got, t ? " | " : "");
		strcat(got, tg->route->name);
		strcat(got, " ");
		strcat(got, tg->key);
		strcat(got, " ");
		for (size_t i = 0; i < tg->n_sinks; i++) {
			strcat(got, i ? "," : "");
			strcat(got, tg->sinks[i]);
		}
	}
	assert_string_equal(got, want);
}

static void
test_route_tree(void **state)
{
	struct config *cfg = NULL;
	struct route_plan plan;
	struct ievent *ev;
	char err[512];

	(void)state;
	if (config_load_string(tree, "t.yaml", &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);

	/* argocd in prod with team payments: audit (its own incident per event, continue),
	 * then prod -> prod-payments with the inherited group_by */
	ev = event("argocd", "prod-west-aks", "pets", "aks-store");
	{
		char want[256];

		snprintf(want, sizeof(want), "audit argocd/%s audit | prod-payments "
		    "argocd/prod-west-aks/aks-store github,pager", ev->id);
		plan_of(cfg, ev, &plan);
		assert_targets(&plan, want);
		/* every route that took it, in order, as amtool lists receivers */
		assert_int_equal(plan.n_taken, 2);
		assert_string_equal(plan.taken[0]->name, "audit");
		assert_string_equal(plan.taken[1]->name, "prod-payments");
	}
	route_plan_clear(&plan);

	/* alertmanager in prod, another team: prod-pets by namespace; inherited sinks */
	ev = event("alertmanager", "prod-east", "pets", "api");
	json_object_set_new(ev->labels, "team", json_string("search"));
	plan_of(cfg, ev, &plan);
	assert_targets(&plan, "prod-pets alertmanager/prod-east/api github");
	route_plan_clear(&plan);

	/* prod, no child matches: the parent takes it */
	ev = event("alertmanager", "prod-east", "shop", "api");
	json_object_set_new(ev->labels, "team", json_string("search"));
	plan_of(cfg, ev, &plan);
	assert_targets(&plan, "prod alertmanager/prod-east/api github");
	route_plan_clear(&plan);

	/* staging: falls through to default; the trace says why prod did not match */
	ev = event("alertmanager", "staging-1", "pets", "api");
	plan_of(cfg, ev, &plan);
	assert_string_equal(plan.targets[0].route->name, "default");
	assert_int_equal(plan.n_targets, 1);
	{
		bool found = false;

		for (size_t i = 0; i < plan.n_steps; i++)
			found |= strstr(plan.steps[i].detail, "route prod (t.yaml:") != NULL &&
			    strstr(plan.steps[i].detail, "cluster=\"staging-1\"") != NULL &&
			    strcmp(plan.steps[i].outcome, "not matched") == 0;
		assert_true(found);
	}
	route_plan_clear(&plan);
	config_destroy(cfg);
}

/* Two routes that group an event the same way share its incident and their sinks. */
static void
test_shared_key(void **state)
{
	struct config *cfg = NULL;
	struct route_plan plan;
	char err[512];

	(void)state;
	assert_int_equal(config_load_string("sinks: { a: { plugin: log }, b: { plugin: log } }\n"
	    "routes:\n  - { name: one, sinks: [a, b], continue: true }\n"
	    "  - { name: two, sinks: [b, a] }\n", "t.yaml", &cfg, err, sizeof(err)), 0);
	plan_of(cfg, event("argocd", "c", "n", "x"), &plan);
	assert_targets(&plan, "one argocd/c/n/x a,b");
	route_plan_clear(&plan);
	config_destroy(cfg);
}

static void
test_no_route_matches(void **state)
{
	struct config *cfg = NULL;
	struct route_plan plan;
	char err[512];

	(void)state;
	assert_int_equal(config_load_string("sinks: { log: { plugin: log } }\nroutes:\n"
	    "  - { name: only-prod, match: ['cluster = prod'], sinks: [log] }\n", "t.yaml", &cfg,
	    err, sizeof(err)), 0);
	plan_of(cfg, event("argocd", "dev", "n", "a"), &plan);
	assert_int_equal(plan.n_targets, 0);
	assert_null(plan.targets);
	assert_string_equal(plan.steps[plan.n_steps - 1].outcome, "not matched");
	route_plan_clear(&plan);
	route_plan_clear(NULL);
	config_destroy(cfg);
}

/* A fallback route takes an event only when no other route took it, wherever it sits. */
static void
test_fallback(void **state)
{
	struct config *cfg = NULL;
	struct route_plan plan;
	char err[512];

	(void)state;
	if (config_load_string("sinks: { log: { plugin: log }, team: { plugin: log } }\n"
	    "routes:\n  - { name: default, fallback: true, sinks: [log] }\n"
	    "  - { name: audit, match: ['app = audited'], sinks: [team], group_by: ['...'], "
	    "continue: true }\n"
	    "  - { name: prod, match: ['cluster = prod'], sinks: [team] }\n", "t.yaml", &cfg, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	plan_of(cfg, event("argocd", "prod", "n", "x"), &plan);
	assert_targets(&plan, "prod argocd/prod/n/x team");
	for (size_t i = 0; i < plan.n_steps; i++)     /* not even tried */
		assert_null(strstr(plan.steps[i].detail, "route default"));
	route_plan_clear(&plan);
	/* a route with continue: true that took it is enough to keep the fallback out */
	plan_of(cfg, event("argocd", "dev", "n", "audited"), &plan);
	assert_int_equal(plan.n_taken, 1);
	assert_string_equal(plan.taken[0]->name, "audit");
	route_plan_clear(&plan);
	plan_of(cfg, event("argocd", "dev", "n", "x"), &plan);
	assert_targets(&plan, "default argocd/dev/n/x log");
	assert_non_null(strstr(plan.steps[plan.n_steps - 1].detail, "route default takes the "
	    "event"));
	assert_non_null(strstr(plan.steps[plan.n_steps - 2].detail, "route default (t.yaml:3): "
	    "no matchers (fallback: no other route took the event)"));
	route_plan_clear(&plan);
	config_destroy(cfg);
}

static void
test_route_config_errors(void **state)
{
	static const struct {
		const char *routes, *want;
	} cases[] = {
		{ "  - { name: a, match: ['clustr = x'], sinks: [log] }\n",
		  "t.yaml:3: routes.0.match.0: 'clustr = x': unknown field 'clustr'" },
		{ "  - { name: a, match: 'cluster = x', sinks: [log] }\n", "expected a list" },
		{ "  - { name: a }\n", "sinks: required" },
		{ "  - { name: a, sinks: [log], routes: [ { name: a } ] }\n",
		  "duplicate route name 'a'" },
		{ "  - { name: a, sinks: [log], routes: [ { name: b, sinks: [nope] } ] }\n",
		  "routes.0.routes.0.sinks.0: no sink named 'nope'" },
		{ "  - { name: a, sinks: [log], group_by: [cluster, '...'] }\n",
		  "'...' is not an event field" },
		{ "  - { name: a, sinks: [log], continue: maybe }\n", "continue" },
	};
	char yaml[1024], err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = NULL;

		snprintf(yaml, sizeof(yaml), "sinks: { log: { plugin: log } }\nroutes:\n%s",
		    cases[i].routes);
		err[0] = '\0';
		assert_int_equal(config_load_string(yaml, "t.yaml", &cfg, err, sizeof(err)), -EINVAL);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: error '%s' lacks '%s'", i, err, cases[i].want);
		assert_null(cfg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matcher_table),
		cmocka_unit_test(test_matcher_errors),
		cmocka_unit_test(test_matcher_limit),
		cmocka_unit_test(test_route_tree),
		cmocka_unit_test(test_shared_key),
		cmocka_unit_test(test_no_route_matches),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_route_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
