/* rules.c - `incidentctl rules test` (offline routing) and `incidentctl explain`. */
#include "rules.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "config.h"
#include "event.h"
#include "router.h"
#include "source.h"

#define EXIT_USAGE 2

static const struct {
	const char *name;
	source_normalize_fn fn;
} normalizers[] = {
	{ "argocd", argocd_normalize },
	{ "alertmanager", alertmanager_normalize },
	{ "flux", flux_normalize },
	{ "cloudevents", cloudevents_normalize },
};

/* Guess the source of a raw payload; NULL when it is not one we know. */
static const char *
guess_source(const json_t *body)
{
	if (json_is_array(body))
		return json_is_object(json_array_get(body, 0)) &&
		    json_object_get(json_array_get(body, 0), "specversion") ? "cloudevents" : NULL;
	if (json_object_get(body, "specversion"))
		return "cloudevents";
	if (json_is_array(json_object_get(body, "alerts")))
		return "alertmanager";
	if (json_is_object(json_object_get(body, "involvedObject")))
		return "flux";
	if (json_object_get(body, "app_name") || json_object_get(body, "client_payload") ||
	    json_object_get(body, "metadata"))
		return "argocd";
	return NULL;
}

/* An incidentd event (as `incidentctl --json event ID` prints it, or ievent_to_json)? */
static bool
is_ievent(const json_t *body)
{
	return json_is_string(json_object_get(body, "source")) &&
	    json_is_string(json_object_get(body, "type")) &&
	    json_is_string(json_object_get(body, "status"));
}

/* Turn the file's JSON into events. Returns 0, or -EINVAL with err. */
static int
load_events(const json_t *body, const char *source, struct ievent_vec *out, char *err,
    size_t errlen)
{
	struct source_input in = { .body = body, .received_at = util_now_ms() };

	if (source == NULL && is_ievent(body)) {
		struct ievent *ev = NULL;
		int rc = ievent_from_json(body, &ev, err, errlen);

		if (rc == 0 && (rc = ievent_vec_push(out, ev)) != 0)
			ievent_destroy(ev);
		return rc;
	}
	if (source == NULL)
		source = guess_source(body);
	if (source == NULL) {
		snprintf(err, errlen, "cannot tell which source this payload is from: use "
		    "--source argocd|alertmanager|flux|cloudevents");
		return -EINVAL;
	}
	in.ce_batch = json_is_array(body) && strcmp(source, "cloudevents") == 0;
	for (size_t i = 0; i < sizeof(normalizers) / sizeof(normalizers[0]); i++)
		if (strcmp(source, normalizers[i].name) == 0)
			return normalizers[i].fn(&in, out, err, errlen);
	snprintf(err, errlen, "unknown source '%s' (argocd, alertmanager, flux, cloudevents)",
	    source);
	return -EINVAL;
}

/* What a sink would do with this event, offline (no ledger: the incident's state is
 * unknown). */
static const char *
would_do(const struct ievent *ev)
{
	if (strcmp(ev->status, "firing") == 0)
		return "open (update if the incident is already firing)";
	if (strcmp(ev->status, "resolved") == 0)
		return "resolve (if the incident is firing)";
	return "nothing (informational event)";
}

/* The plan of one event as JSON (new reference): the event, the trace steps, every
 * target (route, key, sinks with what they would do), every route that took the event in
 * order ("taken"), and for --expect the first target's route and key and every sink name,
 * each once. */
static json_t *
plan_json(const struct config *cfg, const struct ievent *ev, const struct route_plan *plan)
{
	json_t *o = json_pack("{s:{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?}, s:[], s:b, s:[], "
	    "s:[]}", "event", "source", ev->source, "type", ev->type, "status", ev->status,
	    "cluster", ev->cluster, "namespace", ev->namespace, "app", ev->app, "fingerprint",
	    ev->fingerprint, "steps", "matched", plan->n_targets > 0, "targets", "sinks");
	json_t *steps, *targets, *names, *taken;

	if (o == NULL)
		return NULL;
	steps = json_object_get(o, "steps");
	targets = json_object_get(o, "targets");
	names = json_object_get(o, "sinks");
	for (size_t i = 0; i < plan->n_steps; i++)
		json_array_append_new(steps, json_pack("{s:s, s:s, s:s}", "step",
		    plan->steps[i].step, "outcome", plan->steps[i].outcome, "detail",
		    plan->steps[i].detail));
	for (size_t t = 0; t < plan->n_targets; t++) {
		const struct plan_target *tg = &plan->targets[t];
		json_t *sinks = json_array();

		for (size_t i = 0; i < tg->n_sinks; i++) {
			const struct config_sink *cs = config_find_sink(cfg, tg->sinks[i]);
			bool on = cs != NULL && cs->enabled, seen = false;
			const json_t *x;
			size_t k;

			json_array_append_new(sinks, json_pack("{s:s, s:s, s:s?, s:s}", "sink",
			    tg->sinks[i], "plugin", cs ? cs->plugin : "?", "after", cs ? cs->after :
			    NULL, "action", on ? would_do(ev) : "skipped (sink disabled)"));
			json_array_foreach(names, k, x)
				seen = seen || strcmp(json_string_value(x), tg->sinks[i]) == 0;
			if (!seen)
				json_array_append_new(names, json_string(tg->sinks[i]));
		}
		json_array_append_new(targets, json_pack("{s:s, s:s, s:o}", "route",
		    tg->route->name, "key", tg->key, "sinks", sinks));
	}
	taken = json_array();
	for (size_t i = 0; taken != NULL && i < plan->n_taken; i++)
		json_array_append_new(taken, json_string(plan->taken[i]->name));
	json_object_set_new(o, "taken", taken ? taken : json_null());
	if (plan->n_targets > 0) {
		json_object_set_new(o, "route", json_string(plan->targets[0].route->name));
		json_object_set_new(o, "key", json_string(plan->targets[0].key));
	}
	return o;
}

static void
print_plan(const json_t *p)
{
	const json_t *ev = json_object_get(p, "event"), *x, *tg;
	size_t i, t;

	printf("event: %s %s %s", json_string_value(json_object_get(ev, "source")),
	    json_string_value(json_object_get(ev, "type")),
	    json_string_value(json_object_get(ev, "status")));
	if (json_is_string(json_object_get(ev, "app")))
		printf(" app=%s", json_string_value(json_object_get(ev, "app")));
	if (json_is_string(json_object_get(ev, "cluster")))
		printf(" cluster=%s", json_string_value(json_object_get(ev, "cluster")));
	printf("\n");
	json_array_foreach(json_object_get(p, "steps"), i, x)
		printf("  %-12s %s\n", json_string_value(json_object_get(x, "outcome")),
		    json_string_value(json_object_get(x, "detail")));
	if (!json_is_true(json_object_get(p, "matched"))) {
		printf("  no route takes it: recorded in the ledger, no incident, no delivery\n");
		return;
	}
	json_array_foreach(json_object_get(p, "targets"), t, tg) {
		printf("  incident %s (route %s)\n", json_string_value(json_object_get(tg, "key")),
		    json_string_value(json_object_get(tg, "route")));
		json_array_foreach(json_object_get(tg, "sinks"), i, x) {
			const char *after = json_string_value(json_object_get(x, "after"));

			printf("    sink %s (%s)%s%s: %s\n",
			    json_string_value(json_object_get(x, "sink")),
			    json_string_value(json_object_get(x, "plugin")), after ? ", after " : "",
			    after ? after : "", json_string_value(json_object_get(x, "action")));
		}
	}
}

/* Compare a plan with one expectation; prints mismatches. Returns true when it holds. */
static bool
check_expect(const json_t *plan, const json_t *want, size_t idx)
{
	static const char *const keys[] = { "route", "key", "matched", "taken" };
	const json_t *ws = json_object_get(want, "sinks");
	bool ok = true;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *w = json_object_get(want, keys[i]), *g = json_object_get(plan, keys[i]);

		if (w != NULL && !json_equal(w, g ? g : json_null())) {
			char *ws_ = json_dumps(w, JSON_ENCODE_ANY), *gs = json_dumps(g ? g : json_null(),
			    JSON_ENCODE_ANY);

			printf("expect: event %zu: %s is %s, expected %s\n", idx, keys[i],
			    gs ? gs : "?", ws_ ? ws_ : "?");
			free(ws_);
			free(gs);
			ok = false;
		}
	}
	if (json_object_get(want, "targets") != NULL) {
		json_t *got = json_array();
		const json_t *tg, *x;
		size_t i, k;

		/* compare route, key and sink names of every target */
		json_array_foreach(json_object_get(plan, "targets"), i, tg) {
			json_t *names = json_array();

			json_array_foreach(json_object_get(tg, "sinks"), k, x)
				json_array_append(names, json_object_get(x, "sink"));
			json_array_append_new(got, json_pack("{s:O, s:O, s:o}", "route",
			    json_object_get(tg, "route"), "key", json_object_get(tg, "key"), "sinks",
			    names));
		}
		if (!json_equal(got, json_object_get(want, "targets"))) {
			char *a = json_dumps(got, JSON_COMPACT);
			char *b = json_dumps(json_object_get(want, "targets"), JSON_COMPACT);

			printf("expect: event %zu: targets are %s, expected %s\n", idx, a ? a : "?",
			    b ? b : "?");
			free(a);
			free(b);
			ok = false;
		}
		json_decref(got);
	}
	if (ws != NULL) {
		json_t *names = json_incref(json_object_get(plan, "sinks"));

		if (!json_equal(names, ws)) {
			char *a = json_dumps(names, JSON_COMPACT), *b = json_dumps(ws, JSON_COMPACT);

			printf("expect: event %zu: sinks are %s, expected %s\n", idx, a ? a : "?",
			    b ? b : "?");
			free(a);
			free(b);
			ok = false;
		}
		json_decref(names);
	}
	return ok;
}

static int
rules_usage(const char *msg)
{
	fprintf(stderr, "incidentctl: %s\nusage: incidentctl rules test --config DIR --event FILE "
	    "[--event FILE]... [--source S] [--expect FILE] [--json]\n", msg);
	return EXIT_USAGE;
}

/* Append the events of one payload file to evs. Returns 0, or 1 after printing why. */
static int
rules_load_file(const char *file, const char *source, struct ievent_vec *evs)
{
	json_error_t jerr;
	json_t *body = json_load_file(file, JSON_DECODE_ANY, &jerr);
	char err[2048];

	if (body == NULL) {
		fprintf(stderr, "incidentctl: %s: line %d, column %d: %s\n", file, jerr.line,
		    jerr.column, jerr.text);
		return 1;
	}
	err[0] = '\0';
	if (load_events(body, source, evs, err, sizeof(err)) != 0) {
		fprintf(stderr, "incidentctl: %s: %s\n", file, err[0] ? err : "out of memory");
		json_decref(body);
		return 1;
	}
	json_decref(body);
	return 0;
}

const struct option ctl_rules_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "event", required_argument, NULL, 'e' },
	{ "source", required_argument, NULL, 's' },
	{ "expect", required_argument, NULL, 'x' },
	{ NULL, 0, NULL, 0 },
};

int
ctl_rules(int argc, char **argv, bool json)
{
	const char *dir = NULL, *source = NULL, *expect = NULL;
	const char **files = NULL;
	size_t n_files = 0;
	struct config *cfg = NULL;
	struct ievent_vec evs = { 0 };
	json_t *want = NULL, *out = NULL;
	json_error_t jerr;
	char err[2048];
	int ch, rc = EXIT_FAILURE;
	bool ok = true;

	if (argc < 2 || strcmp(argv[1], "test") != 0)
		return rules_usage("rules: the only subcommand is 'test'");
	argc--;
	argv++;
	files = calloc((size_t)argc, sizeof(*files));
	if (files == NULL) {
		fprintf(stderr, "incidentctl: out of memory\n");
		return EXIT_FAILURE;
	}
	while ((ch = getopt_long(argc, argv, "", ctl_rules_options, NULL)) != -1) {
		switch (ch) {
		case 'c': dir = optarg; break;
		case 'e': files[n_files++] = optarg; break;
		case 's': source = optarg; break;
		case 'x': expect = optarg; break;
		default:
			free(files);
			return rules_usage("rules test: unknown option or missing value");
		}
	}
	if (dir == NULL || n_files == 0 || optind != argc) {
		free(files);
		return rules_usage("rules test: --config DIR and --event FILE are required");
	}
	if (config_load_dir(dir, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "incidentctl: invalid configuration: %s\n", err);
		goto out;
	}
	if (expect != NULL && (want = json_load_file(expect, 0, &jerr)) == NULL) {
		fprintf(stderr, "incidentctl: %s: line %d, column %d: %s\n", expect, jerr.line,
		    jerr.column, jerr.text);
		goto out;
	}
	for (size_t i = 0; i < n_files; i++)
		if (rules_load_file(files[i], source, &evs) != 0)
			goto out;
	if (want != NULL && json_is_array(want) && json_array_size(want) != evs.n) {
		printf("expect: %zu expectation(s) for %zu event(s)\n", json_array_size(want),
		    evs.n);
		ok = false;
	}
	out = json_array();
	for (size_t i = 0; out != NULL && i < evs.n; i++) {
		struct route_plan plan;
		json_t *p;

		if (router_plan(cfg, evs.v[i], &plan) != 0) {
			route_plan_clear(&plan);
			fprintf(stderr, "incidentctl: out of memory\n");
			goto out;
		}
		p = plan_json(cfg, evs.v[i], &plan);
		route_plan_clear(&plan);
		if (p == NULL)
			goto out;
		if (!json)
			print_plan(p);
		if (want != NULL) {
			const json_t *w = json_is_array(want) ? json_array_get(want, i) : want;

			if (w != NULL && !check_expect(p, w, i + 1))
				ok = false;
		}
		json_array_append_new(out, p);
	}
	if (json && out != NULL) {
		char *s = json_dumps(out, JSON_INDENT(2));

		if (s != NULL)
			printf("%s\n", s);
		free(s);
	}
	if (want != NULL)
		printf("expect: %s\n", ok ? "ok" : "FAILED");
	rc = ok ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	ievent_vec_clear(&evs);
	json_decref(out);
	json_decref(want);
	config_destroy(cfg);
	free(files);
	return rc;
}

/* --- explain --------------------------------------------------------------------------- */

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static void
print_decisions(const json_t *decisions)
{
	const json_t *d;
	size_t i;

	json_array_foreach(decisions, i, d)
		printf("  %s  %-10s %-12s %s\n", str(d, "at"), str(d, "step"), str(d, "outcome"),
		    str(d, "detail"));
}

static void
print_deliveries(const json_t *deliveries)
{
	const json_t *d;
	size_t i;

	if (json_array_size(deliveries) == 0) {
		printf("  none\n");
		return;
	}
	json_array_foreach(deliveries, i, d) {
		const char *state = str(d, "state");

		printf("  #%lld %s %s: %s after %lld attempt(s)",
		    (long long)json_integer_value(json_object_get(d, "id")), str(d, "sink"),
		    str(d, "action"), state, (long long)json_integer_value(json_object_get(d,
		    "attempts")));
		if (json_is_integer(json_object_get(d, "depends_on")))
			printf(", after #%lld", (long long)json_integer_value(json_object_get(d,
			    "depends_on")));
		if (strcmp(state, "pending") == 0)
			printf(", next attempt %s", str(d, "next_attempt_at"));
		if (json_is_string(json_object_get(d, "last_error")))
			printf("\n      last: %s%s%s", str(d, "last_status"),
			    json_is_string(json_object_get(d, "last_status")) ? ": " : "",
			    str(d, "last_error"));
		printf("\n");
	}
}

int
ctl_explain(struct store *st, int argc, char **argv, bool json)
{
	json_t *obj = NULL, *x;
	bool incident = false;
	size_t i;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "incidentctl: usage: incidentctl explain EVENT-ID|INCIDENT-ID\n");
		return EXIT_USAGE;
	}
	rc = store_event_json(st, argv[1], &obj);
	if (rc == -ENOENT) {
		incident = true;
		rc = store_incident_json(st, argv[1], &obj);
	}
	if (rc == -ENOENT) {
		fprintf(stderr, "incidentctl: no event or incident %s\n", argv[1]);
		return EXIT_FAILURE;
	}
	if (rc != 0) {
		fprintf(stderr, "incidentctl: cannot read the ledger (%s)\n", strerror(-rc));
		return EXIT_FAILURE;
	}
	if (json) {
		char *s = json_dumps(obj, JSON_INDENT(2));

		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(obj);
		return EXIT_SUCCESS;
	}
	if (incident) {
		printf("incident %s: %s, key %s, route %s\n", str(obj, "id"), str(obj, "state"),
		    str(obj, "key"), str(obj, "route"));
		printf("  %s\n  opened %s, updated %s, resolved %s, %lld event(s)\n",
		    str(obj, "title"), str(obj, "opened_at"), str(obj, "updated_at"),
		    str(obj, "resolved_at"), (long long)json_integer_value(json_object_get(obj,
		    "event_count")));
		if (json_is_string(json_object_get(obj, "fix_pr")))
			printf("  fix: %s %s%s%s\n", str(obj, "fix_pr"), str(obj, "fix_url"),
			    json_is_string(json_object_get(obj, "fix_merged_at")) ? ", merged " : "",
			    json_is_string(json_object_get(obj, "fix_merged_at")) ?
			    str(obj, "fix_merged_at") : " (not merged yet)");
		if (json_is_string(json_object_get(obj, "acked_by")))
			printf("  acknowledged by %s at %s: no update notifications until it "
			    "resolves\n", str(obj, "acked_by"), str(obj, "acked_at"));
		if (json_object_size(json_object_get(obj, "refs")) > 0) {
			char *refs = json_dumps(json_object_get(obj, "refs"), JSON_COMPACT);

			printf("  sink results: %s\n", refs ? refs : "?");
			free(refs);
		}
		printf("events (incidentctl explain EVENT-ID for each one's routing):\n");
		json_array_foreach(json_object_get(obj, "events"), i, x)
			printf("  %s\n", json_is_string(x) ? json_string_value(x) : str(x, "id"));
	} else {
		printf("event %s: %s %s %s\n  %s\n  received %s, incident %s\n", str(obj, "id"),
		    str(obj, "source"), str(obj, "type"), str(obj, "status"), str(obj, "summary"),
		    str(obj, "received_at"), str(obj, "incident_id"));
	}
	printf("decisions:\n");
	print_decisions(json_object_get(obj, "decisions"));
	printf("deliveries:\n");
	print_deliveries(json_object_get(obj, "deliveries"));
	json_decref(obj);
	return EXIT_SUCCESS;
}
