/* test_config.c - conf.d loading: lexical merge, ${ENV}, schema errors with file:line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char dir[256];

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_config.XXXXXX", tmp ? tmp : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[512];

	(void)state;
	/* remove the files we wrote; the test creates at most a handful */
	for (int i = 0; i < 10; i++) {
		snprintf(cmd, sizeof(cmd), "%s/%d.yaml", dir, i);
		unlink(cmd);
	}
	rmdir(dir);
	return 0;
}

static void
write_file(int n, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d.yaml", dir, n);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Load a single document; returns rc and err. */
static int
load(const char *yaml, struct config **cfg, char *err, size_t len)
{
	return config_load_string(yaml, "t.yaml", cfg, err, len);
}

static const char base[] =
    "sinks:\n"
    "  log: { plugin: log }\n"
    "routes:\n"
    "  - name: default\n"
    "    sinks: [log]\n";

static void
test_defaults(void **state)
{
	struct config *cfg = NULL;
	char err[512];

	(void)state;
	assert_int_equal(load(base, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->listen, "127.0.0.1:9740");
	assert_int_equal(cfg->max_body_bytes, 1048576);
	assert_int_equal(cfg->request_timeout_ms, 30000);
	assert_int_equal(cfg->max_connections, 1024);
	assert_string_equal(cfg->db_path, "incidentd.db");    /* in the state directory */
	assert_int_equal(cfg->dedup_window_ms, 600000);
	assert_int_equal(cfg->retention_ms, 0);     /* retention is off unless set */
	assert_int_equal(cfg->n_sources, 1);
	assert_string_equal(cfg->sources[0].name, "argocd");
	assert_int_equal(cfg->sources[0].auth.kind, AUTH_UNSET);
	assert_int_equal(cfg->n_sinks, 1);
	assert_true(cfg->sinks[0].enabled);
	assert_int_equal(cfg->sinks[0].retry_initial_ms, 1000);
	assert_int_equal(cfg->sinks[0].give_up_after_ms, 86400000);
	assert_int_equal(json_object_size(cfg->sinks[0].options), 0);
	assert_string_equal(cfg->sinks[0].where, "t.yaml:2");
	assert_string_equal(config_where(cfg, "routes.0.sinks"), "t.yaml:5");
	assert_null(cfg->publish);                  /* no live tail unless configured */
	assert_null(config_find_source(cfg, "nanomsg"));
	config_destroy(cfg);
	config_destroy(NULL);
}

static void
test_max_connections(void **state)
{
	struct config *cfg = NULL;
	char yaml[512], err[512];

	(void)state;
	snprintf(yaml, sizeof(yaml), "server: { max_connections: 20 }\n%s", base);
	assert_int_equal(load(yaml, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->max_connections, 20);
	config_destroy(cfg);
	cfg = NULL;
	/* a quoted number, as an ${ENV} reference yields */
	snprintf(yaml, sizeof(yaml), "server: { max_connections: \"1000000\" }\n%s", base);
	assert_int_equal(load(yaml, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->max_connections, 1000000);
	config_destroy(cfg);
}

static void
test_embedded_defaults_match_confd(void **state)
{
	struct config *a = NULL, *b = NULL;
	const char *confd = getenv("CONFD_DIR");
	char err[512];

	(void)state;
	assert_int_equal(config_load_string(config_embedded_defaults, "<embedded>", &a, err,
	    sizeof(err)), 0);
	assert_int_equal(config_load_dir(confd ? confd : "conf.d", &b, err, sizeof(err)), 0);
	assert_true(json_equal(a->root, b->root));
	/* the shipped defaults never serve open beyond loopback: no auth is set, so on any
	 * other address incidentd refuses to start and names what to set */
	assert_int_equal(a->sources[0].auth.kind, AUTH_UNSET);
	assert_int_equal(a->api_auth.kind, AUTH_UNSET);
	assert_int_equal(config_check_exposure(a, err, sizeof(err)), 0);
	free(a->listen);
	a->listen = strdup("0.0.0.0:9740");
	assert_int_equal(config_check_exposure(a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "sources.argocd has no auth while listening on 0.0.0.0:9740"));
	assert_string_equal(a->sinks[0].plugin, "log");
	/* incidentctl tail works out of the box; the nanomsg source is off */
	assert_string_equal(a->publish, "ipc://tail.ipc");    /* in the runtime directory */
	assert_null(config_find_source(a, "nanomsg"));
	config_destroy(a);
	config_destroy(b);
}

static void
test_merge_lexical(void **state)
{
	struct config *cfg = NULL;
	char err[512];

	(void)state;
	write_file(2, "server: { listen: \"0.0.0.0:1\" }\n"
	    "sinks:\n  gh: { plugin: x, repo: a/b, labels: [l1] }\n"
	    "routes:\n  - { name: second, sinks: [gh] }\n");
	write_file(1, "server: { listen: \"127.0.0.1:2\", max_body: 4KiB }\n"
	    "sinks:\n  gh: { plugin: y, repo: c/d, token: t }\n  log: { plugin: log }\n"
	    "routes:\n  - { name: first, sinks: [log], continue: true }\n");
	assert_int_equal(config_load_dir(dir, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->listen, "0.0.0.0:1");          /* 2.yaml after 1.yaml */
	assert_int_equal(cfg->max_body_bytes, 4096);            /* nested merge keeps it */
	assert_int_equal(cfg->n_routes, 2);                     /* routes concatenated */
	assert_string_equal(cfg->routes[0].name, "first");
	assert_string_equal(cfg->routes[1].name, "second");
	assert_non_null(strstr(config_where(cfg, "routes.1.name"), "2.yaml:5"));
	assert_non_null(strstr(config_where(cfg, "routes.0.name"), "1.yaml:6"));
	{
		const struct config_sink *gh = config_find_sink(cfg, "gh");

		assert_string_equal(gh->plugin, "x");
		assert_string_equal(json_string_value(json_object_get(gh->options, "repo")),
		    "a/b");
		assert_string_equal(json_string_value(json_object_get(gh->options, "token")), "t");
		assert_null(json_object_get(gh->options, "plugin"));
	}
	config_destroy(cfg);
}

static void
test_env(void **state)
{
	struct config *cfg = NULL;
	char err[512];

	(void)state;
	setenv("ICD_TOKEN", "s3cret", 1);
	unsetenv("ICD_UNSET");
	setenv("ICD_EMPTY", "", 1);
	assert_int_equal(load("sources:\n  argocd: { auth: { bearer: \"${ICD_TOKEN}\" } }\n"
	    "ledger: { path: \"${ICD_UNSET:-/tmp/x.db}\" }\n"
	    "sinks:\n  log: { plugin: log, note: \"cost $$5 ${ICD_TOKEN:+set}\" }\n"
	    "  slack: { plugin: slack, enabled: \"${ICD_UNSET:+true}\" }\n"
	    "  other:\n    plugin: log\n    enabled: ${ICD_TOKEN:+true}\n"
	    "routes: [ { name: d, sinks: [log] } ]\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->sources[0].auth.kind, AUTH_BEARER);
	assert_string_equal(cfg->sources[0].auth.token, "s3cret");
	assert_string_equal(cfg->db_path, "/tmp/x.db");
	assert_string_equal(json_string_value(json_object_get(cfg->sinks[0].options, "note")),
	    "cost $5 set");
	assert_false(config_find_sink(cfg, "slack")->enabled);
	assert_true(config_find_sink(cfg, "other")->enabled);
	config_destroy(cfg);

	assert_int_equal(load("sinks:\n  log:\n    plugin: log\n    token: ${ICD_UNSET}\n"
	    "routes: [ { name: d, sinks: [log] } ]\n", &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "t.yaml:4"));
	assert_non_null(strstr(err, "ICD_UNSET is not set"));
	assert_int_equal(load("sinks:\n  log: { plugin: \"${\" }\n", &cfg, err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(load("sinks:\n  log: { plugin: \"${}\" }\n", &cfg, err, sizeof(err)),
	    -EINVAL);
	/* the value of a variable never appears in an error */
	assert_int_equal(load("server: { listen: 1 }\nsinks:\n  log: { plugin: log, retry: "
	    "{ initial: \"${ICD_TOKEN}\" } }\nroutes: [ { name: d, sinks: [log] } ]\n", &cfg, err,
	    sizeof(err)), -EINVAL);
	assert_null(strstr(err, "s3cret"));
	unsetenv("ICD_TOKEN");
	unsetenv("ICD_EMPTY");
}

static void
expect_error(const char *yaml, const char *want1, const char *want2)
{
	struct config *cfg = NULL;
	char err[512];

	assert_int_equal(load(yaml, &cfg, err, sizeof(err)), -EINVAL);
	assert_null(cfg);
	if (strstr(err, want1) == NULL || (want2 && strstr(err, want2) == NULL))
		fail_msg("error '%.200s' lacks '%s' / '%s'", err, want1, want2 ? want2 : "");
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("sinks:\n  log: { plugin: log }\nroutes:\n  - name: d\n    sinks: [log]\n"
	    "    colour: blue\n", "t.yaml:6", "unknown key 'colour'");
	expect_error("servr: {}\n", "t.yaml:1", "unknown key 'servr'");
	expect_error("server: { max_body: lots }\n", "server.max_body", "size");
	expect_error("server: { max_connections: 0 }\n", "t.yaml:1: server.max_connections: "
	    "expected a whole number from 1 to 1000000", NULL);
	expect_error("server: { max_connections: 1000001 }\n", "server.max_connections",
	    "from 1 to 1000000");
	expect_error("server: { max_connections: many }\n", "server.max_connections",
	    "whole number");
	expect_error("server: { max_connections: 2.5 }\n", "server.max_connections",
	    "whole number");
	expect_error("server: { max_connections: \"20x\" }\n", "server.max_connections",
	    "whole number");
	expect_error("ledger: { dedup_window: 10 }\n", "ledger.dedup_window", "duration");
	/* a PostgreSQL ledger: a URI or a libpq string, not with path; the value (it may hold
	 * a password) is never quoted back */
	expect_error("ledger: { url: \"not a url s3cret\" }\n", "ledger.url",
	    "expected a PostgreSQL URI");
	expect_error("ledger: { url: \"postgresql://u:s3cret@db/x\", path: x.db }\n",
	    "ledger.url", "not both");
	expect_error("ledger: { lease: 2s }\n", "ledger.lease", "at least 3s");
	/* a path of keys longer than the parser names (found by fuzz_config): an error with
	 * its place, as any other */
	{
		char yaml[2400];
		size_t n = 0;

		for (int i = 0; i < 3; i++) {
			n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%*s", 2 * i, "");
			memset(yaml + n, 'k', 500);
			n += 500;
			n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%d:\n", i);
		}
		snprintf(yaml + n, sizeof(yaml) - n, "      x: 1\n");
		expect_error(yaml, "t.yaml:3:5", "too deep: the path to this key is longer than");
		n = (size_t)snprintf(yaml, sizeof(yaml), "a:\n  ");
		memset(yaml + n, 'k', 1020);
		n += 1020;
		snprintf(yaml + n, sizeof(yaml) - n, ":\n    - 1\n");
		expect_error(yaml, "t.yaml:3:7", "too deep: the path to this item is longer than");
	}
	{
		struct config *cfg = NULL;
		char err[512], ok[512];

		assert_int_equal(load("ledger: { url: \"not a url s3cret\" }\n", &cfg, err,
		    sizeof(err)), -EINVAL);
		assert_null(strstr(err, "s3cret"));
		snprintf(ok, sizeof(ok), "%sledger: { url: \"host=db dbname=x password=s3cret\", "
		    "lease: 5s }\n", base);
		if (load(ok, &cfg, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_string_equal(cfg->db_url, "host=db dbname=x password=s3cret");
		assert_int_equal(cfg->lease_ms, 5000);
		config_destroy(cfg);
	}
	expect_error("log: { level: loud }\n", "log.level", "loud");
	expect_error("sinks:\n  log: { plugin: log }\nroutes:\n  - { name: d, sinks: [nope] }\n",
	    "t.yaml:4", "no sink named 'nope'");
	expect_error("sinks:\n  a: { plugin: log, after: b }\n  b: { plugin: log, after: a }\n"
	    "routes: [ { name: d, sinks: [a] } ]\n", "cycle", NULL);
	expect_error("sinks:\n  a: { plugin: log, after: zz }\nroutes: [ { name: d, sinks: [a] } ]\n",
	    "sinks.a.after", "zz");
	expect_error("sinks:\n  log: { plugin: log }\n  log: { plugin: log }\n", "t.yaml:3",
	    "duplicate key 'log'");
	expect_error("sinks:\n  log: { plugin: log\n", "t.yaml:", NULL);   /* YAML syntax */
	expect_error("sinks:\n  log: { plugin: log }\n", "routes", "at least one route");
	expect_error("sinks:\n  log: { enabled: true }\nroutes: [ { name: d, sinks: [log] } ]\n",
	    "plugin", "required");
	expect_error("sources:\n  argocd: { auth: { bearer: \"\" } }\n", "sources.argocd.auth",
	    "non-empty");
	expect_error("sources:\n  argocd: { auth: { bearer: a, hmac: b } }\n",
	    "sources.argocd.auth", "exactly one");
	expect_error("sources:\n  nagios: {}\n", "unknown key 'nagios'", NULL);
	expect_error("a: &x 1\nb: *x\n", "not supported", NULL);
	expect_error("routes: [ { name: d, sinks: [log] } ]\n---\nroutes: []\n", "one YAML document",
	    NULL);
	expect_error("sinks:\n  \"bad name\": { plugin: log }\n", "not a valid sink name", NULL);
	expect_error("sinks:\n  log: { plugin: log }\nroutes:\n  - { name: d, sinks: [log] }\n"
	    "  - { name: d, sinks: [log] }\n", "duplicate route name", NULL);
}

/* ledger.retention: off by default (and as off, 0 or null); a duration otherwise, at least
 * the longest window that looks back on the ledger, named in the error with both places. */
static void
test_retention(void **state)
{
	static const char *const off[] = { "", "ledger: { retention: off }\n",
	    "ledger: { retention: 0 }\n", "ledger: { retention: null }\n",
	    "ledger: { retention: false }\n" };
	struct config *cfg = NULL;
	char yaml[2048], err[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		snprintf(yaml, sizeof(yaml), "%s%s", off[i], base);
		assert_int_equal(load(yaml, &cfg, err, sizeof(err)), 0);
		assert_int_equal(cfg->retention_ms, 0);
		config_destroy(cfg);
	}
	/* 90d covers every default window (github_issue's reopen_window 24h included) */
	assert_int_equal(load("ledger: { retention: 90d }\n"
	    "sinks:\n  gh: { plugin: github_issue, repo: o/r, token: t }\n"
	    "routes:\n  - { name: d, sinks: [gh], for: 2m, repeat_interval: 4h }\n", &cfg, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg->retention_ms, 90 * 86400000LL);
	config_destroy(cfg);
	/* short retentions are fine with short windows (the integration tests use this) */
	assert_int_equal(load("ledger: { retention: 2s, dedup_window: 1s }\n"
	    "sinks:\n  log: { plugin: log }\n"
	    "routes:\n  - { name: d, sinks: [log], for: 500ms, flap_window: 2s }\n", &cfg, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg->retention_ms, 2000);
	config_destroy(cfg);

	expect_error("ledger: { retention: soon }\n", "t.yaml:1: ledger.retention",
	    "a duration like 90d, or off");
	expect_error("ledger: { retention: 90 }\n", "ledger.retention", "duration");
	/* the default dedup_window (10m) */
	expect_error("ledger: { retention: 5m }\nsinks: { log: { plugin: log } }\n"
	    "routes: [ { name: d, sinks: [log] } ]\n", "t.yaml:1: ledger.retention: 5m is shorter "
	    "than ledger.dedup_window (10m, its default)", "at least 10m");
	/* a route's window, nested routes included, named with where it is */
	expect_error("ledger: { retention: 1h }\nsinks:\n  log: { plugin: log }\nroutes:\n"
	    "  - name: outer\n    sinks: [log]\n    routes:\n"
	    "      - { name: inner, repeat_interval: 4h }\n",
	    "ledger.retention: 1h is shorter than route 'inner' repeat_interval (4h, t.yaml:8)",
	    "at least 4h");
	expect_error("ledger: { retention: 1h }\nsinks:\n  log: { plugin: log }\nroutes:\n"
	    "  - { name: d, sinks: [log], flap_window: 2h }\n",
	    "route 'd' flap_window (2h, t.yaml:5)", NULL);
	expect_error("ledger: { retention: 1h }\nsinks:\n  log: { plugin: log }\nroutes:\n"
	    "  - { name: d, sinks: [log], for: 90m }\n", "route 'd' for (90m, t.yaml:5)", NULL);
	expect_error("ledger: { retention: 1h }\nsinks:\n  log: { plugin: log }\nroutes:\n"
	    "  - { name: d, sinks: [log], max_new_incidents: 5 per 2h }\n",
	    "route 'd' max_new_incidents window (2h, t.yaml:5)", NULL);
	/* github_issue's reopen_window: its default, or as set */
	expect_error("ledger: { retention: 12h }\n"
	    "sinks:\n  gh: { plugin: github_issue, repo: o/r, token: t }\n"
	    "routes: [ { name: d, sinks: [gh] } ]\n",
	    "ledger.retention: 12h is shorter than sink 'gh' reopen_window (24h, github_issue's "
	    "default, t.yaml:3)", "at least 24h");
	expect_error("ledger: { retention: 12h }\n"
	    "sinks:\n  gh:\n    plugin: github_issue\n    reopen_window: 2d\n"
	    "routes: [ { name: d, sinks: [gh] } ]\n",
	    "sink 'gh' reopen_window (2d, t.yaml:5)", "at least 48h");
	/* any sink's repeat_interval (the plugin's own option) counts */
	expect_error("ledger: { retention: 1h }\n"
	    "sinks:\n  s: { plugin: slack, repeat_interval: 3h }\n"
	    "routes: [ { name: d, sinks: [s] } ]\n", "sink 's' repeat_interval (3h, t.yaml:3)",
	    NULL);
	/* a disabled sink does not look back on anything */
	assert_int_equal(load("ledger: { retention: 12h }\n"
	    "sinks:\n  gh: { plugin: github_issue, enabled: false }\n  log: { plugin: log }\n"
	    "routes: [ { name: d, sinks: [log, gh] } ]\n", &cfg, err, sizeof(err)), 0);
	config_destroy(cfg);
}

/* A route after a catch-all of its level (no matchers, no continue: true) can never be
 * reached: a load error naming both routes with file:line. Fallback routes are a pass of
 * their own, tried only when no other route took the event. */
static void
test_unreachable_routes(void **state)
{
	static const char head[] = "sinks:\n  log: { plugin: log }\nroutes:\n";
	static const struct {
		const char *routes, *want;      /* want NULL: loads */
	} cases[] = {
		{ "  - name: everything\n    sinks: [log]\n  - name: prod\n"
		  "    match: ['cluster = prod']\n    sinks: [log]\n",
		  "t.yaml:6: routes.1: route 'prod' can never be reached: route 'everything' before "
		  "it (t.yaml:4) has no matchers and no `continue: true`, so it takes every event "
		  "(give 'everything' matchers or `continue: true`, or make it `fallback: true`)" },
		/* empty entries are no matchers, as in Alertmanager */
		{ "  - { name: a, match: ['{}', ''], sinks: [log] }\n  - { name: b, sinks: [log] }\n",
		  "t.yaml:5: routes.1: route 'b' can never be reached: route 'a' before it (t.yaml:4)" },
		/* nested: the same rule at every level (no fallback there) */
		{ "  - name: p\n    sinks: [log]\n    routes:\n      - { name: c1, sinks: [log] }\n"
		  "      - { name: c2, match: ['app = x'], sinks: [log] }\n",
		  "t.yaml:8: routes.0.routes.1: route 'c2' can never be reached: route 'c1' before "
		  "it (t.yaml:7) has no matchers and no `continue: true`, so it takes every event "
		  "(give 'c1' matchers or `continue: true`)" },
		/* a catch-all with nested routes still takes every event */
		{ "  - { name: a, sinks: [log], routes: [ { name: a1, match: ['app = x'] } ] }\n"
		  "  - { name: b, match: ['app = y'], sinks: [log] }\n",
		  "route 'b' can never be reached: route 'a' before it (t.yaml:4)" },
		{ "  - { name: a, sinks: [log], continue: true }\n  - { name: b, sinks: [log] }\n",
		  NULL },
		{ "  - { name: a, match: ['app = x'], sinks: [log] }\n  - { name: b, sinks: [log] }\n",
		  NULL },
		/* the fallback comes first in the file but is tried last */
		{ "  - { name: default, fallback: true, sinks: [log] }\n"
		  "  - { name: a, match: ['app = x'], sinks: [log] }\n"
		  "  - { name: all, sinks: [log] }\n", NULL },
		{ "  - { name: f1, fallback: true, sinks: [log] }\n"
		  "  - { name: a, sinks: [log] }\n"
		  "  - { name: f2, fallback: true, match: ['app = x'], sinks: [log] }\n",
		  "t.yaml:6: routes.2: route 'f2' can never be reached: route 'f1' before it "
		  "(t.yaml:4) has no matchers and no `continue: true`, so it takes every event that "
		  "no other route took (give 'f1' matchers or `continue: true`)" },
		{ "  - { name: a, sinks: [log], routes: [ { name: b, fallback: true } ] }\n",
		  "t.yaml:4: routes.0.routes.0: fallback: only a top-level route can be a fallback" },
		{ "  - { name: a, sinks: [log], fallback: sometimes }\n", "routes.0.fallback" },
	};
	char yaml[1024], err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = NULL;
		int rc;

		snprintf(yaml, sizeof(yaml), "%s%s", head, cases[i].routes);
		err[0] = '\0';
		rc = load(yaml, &cfg, err, sizeof(err));
		if (cases[i].want == NULL && rc != 0)
			fail_msg("case %zu: %s", i, err);
		if (cases[i].want != NULL && (rc != -EINVAL || strstr(err, cases[i].want) == NULL))
			fail_msg("case %zu: error '%s' lacks '%s'", i, err, cases[i].want);
		config_destroy(cfg);
	}
}

/* The shipped layout: 00-defaults.yaml's fallback route and a site file's routes after it
 * load; a site catch-all followed by a route in a later file is refused naming both files. */
static void
test_unreachable_across_files(void **state)
{
	struct config *cfg = NULL;
	char err[512];

	(void)state;
	write_file(0, config_embedded_defaults);
	write_file(1, "sinks:\n  team: { plugin: log }\nroutes:\n"
	    "  - { name: prod, match: ['cluster = prod'], sinks: [team] }\n"
	    "  - { name: rest, sinks: [team] }\n");
	assert_int_equal(config_load_dir(dir, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->n_routes, 3);
	assert_true(cfg->routes[0].fallback);
	config_destroy(cfg);
	cfg = NULL;
	write_file(2, "routes:\n  - { name: late, match: ['app = x'], sinks: [team] }\n");
	assert_int_equal(config_load_dir(dir, &cfg, err, sizeof(err)), -EINVAL);
	assert_null(cfg);
	if (strstr(err, "2.yaml:2: routes.3: route 'late' can never be reached: route 'rest' "
	    "before it (") == NULL || strstr(err, "1.yaml:5)") == NULL)
		fail_msg("error '%s' lacks both places", err);
}

static void
test_auth_kinds(void **state)
{
	struct config *cfg = NULL;
	char err[512];

	(void)state;
	assert_int_equal(load("sources:\n  argocd:\n    auth: { basic: { username: u, password: p } }\n"
	    "sinks: { log: { plugin: log } }\nroutes: [ { name: d, sinks: [log], "
	    "group_by: [cluster, app] } ]\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->sources[0].auth.kind, AUTH_BASIC);
	assert_string_equal(cfg->sources[0].auth.username, "u");
	assert_int_equal(cfg->routes[0].n_group_by, 2);
	assert_string_equal(cfg->routes[0].group_by[1], "app");
	config_destroy(cfg);
	assert_int_equal(load("sources:\n  argocd: { enabled: false, auth: { hmac: k } }\n"
	    "sinks: { log: { plugin: log, retry: { initial: 100ms, max: 1s, give_up_after: 0s } } }\n"
	    "routes: [ { name: d, sinks: [log] } ]\n", &cfg, err, sizeof(err)), 0);
	assert_false(cfg->sources[0].enabled);
	assert_int_equal(cfg->sources[0].auth.kind, AUTH_HMAC);
	assert_int_equal(cfg->sinks[0].retry_initial_ms, 100);
	assert_int_equal(cfg->sinks[0].give_up_after_ms, 0);
	config_destroy(cfg);
}

/* Listening beyond loopback needs auth (or an explicit auth: none) on every enabled source. */
static void
test_exposure(void **state)
{
	static const char *const loopback[] = { "127.0.0.1:9740", "127.0.0.2:1", "[::1]:9740",
	    "localhost:9740" };
	static const char *const exposed[] = { "0.0.0.0:9740", ":9740", "10.0.0.5:9740",
	    "[::]:9740", "example.org:9740" };
	struct config *cfg = NULL;
	char err[512];

	(void)state;
	assert_int_equal(load("sources:\n  argocd: {}\n  flux: { auth: { hmac: k } }\n"
	    "  alertmanager: { enabled: false }\n"
	    "sinks: { log: { plugin: log } }\nroutes: [ { name: d, sinks: [log] } ]\n", &cfg,
	    err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		free(cfg->listen);
		cfg->listen = strdup(loopback[i]);
		assert_int_equal(config_check_exposure(cfg, err, sizeof(err)), 0);
	}
	for (size_t i = 0; i < sizeof(exposed) / sizeof(exposed[0]); i++) {
		free(cfg->listen);
		cfg->listen = strdup(exposed[i]);
		err[0] = '\0';
		assert_int_equal(config_check_exposure(cfg, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "t.yaml:2: sources.argocd has no auth while listening "
		    "on "));
		assert_non_null(strstr(err, exposed[i]));
	}
	/* explicit auth: none is a decision, not an omission; disabled sources do not count;
	 * the API needs its own auth (or an explicit none) too */
	config_destroy(cfg);
	assert_int_equal(load("sources:\n  argocd: { auth: none }\n  flux: { auth: { hmac: k } }\n"
	    "  alertmanager: { enabled: false }\n"
	    "sinks: { log: { plugin: log } }\nroutes: [ { name: d, sinks: [log] } ]\n", &cfg,
	    err, sizeof(err)), 0);
	free(cfg->listen);
	cfg->listen = strdup("0.0.0.0:9740");
	assert_int_equal(config_check_exposure(cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "server.api_auth is not set while listening on 0.0.0.0:9740"));
	cfg->api_auth.kind = AUTH_NONE;
	assert_int_equal(config_check_exposure(cfg, err, sizeof(err)), 0);
	config_destroy(cfg);
}

static void expect_exact(const char *yaml, const char *message);

/* server.api_auth guards the read API and reload, and /metrics unless metrics_auth says
 * otherwise; hmac cannot guard a GET. */
static void
test_api_auth(void **state)
{
	struct config *cfg = NULL;
	char doc[1024], err[512];

	(void)state;
	snprintf(doc, sizeof(doc), "server:\n  api_auth: { bearer: tok }\n%s", base);
	assert_int_equal(load(doc, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->api_auth.kind, AUTH_BEARER);
	assert_ptr_equal(config_metrics_auth(cfg), &cfg->api_auth);
	config_destroy(cfg);
	snprintf(doc, sizeof(doc), "server:\n  api_auth: { basic: { username: u, password: p } }\n"
	    "  metrics_auth: none\n%s", base);
	assert_int_equal(load(doc, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->api_auth.kind, AUTH_BASIC);
	assert_int_equal(config_metrics_auth(cfg)->kind, AUTH_NONE);
	config_destroy(cfg);
	expect_exact("server:\n  api_auth: { hmac: k }\n", "t.yaml:2: server.api_auth: expected "
	    "none, { bearer: TOKEN } or { basic: { username, password } } (hmac needs a body to "
	    "sign)");
	expect_exact("server:\n  allowed_hosts: [\"\"]\n", "t.yaml:2: server.allowed_hosts.0: "
	    "expected a non-empty string");
}

/* server.publish streams every event: beyond the machine only when allowed explicitly. */
static void
test_publish_exposure(void **state)
{
	struct config *cfg = NULL;
	char doc[1024], err[512];

	(void)state;
	snprintf(doc, sizeof(doc), "server:\n  publish: tcp://0.0.0.0:9741\n%s", base);
	assert_int_equal(load(doc, &cfg, err, sizeof(err)), 0);
	assert_int_equal(config_check_exposure(cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.yaml:2: server.publish: tcp://0.0.0.0:9741 is not a local "
	    "address and every event is streamed to any subscriber: use ipc:// or a loopback "
	    "tcp:// address, or set server.publish_allow_remote: true");
	cfg->publish_allow_remote = true;
	assert_int_equal(config_check_exposure(cfg, err, sizeof(err)), 0);
	free(cfg->publish);
	cfg->publish = strdup("tcp://127.0.0.1:9741");
	cfg->publish_allow_remote = false;
	assert_int_equal(config_check_exposure(cfg, err, sizeof(err)), 0);
	config_destroy(cfg);
}

/* Load yaml (a document without sinks/routes of its own) and expect exactly message. */
static void
expect_exact(const char *yaml, const char *message)
{
	struct config *cfg = NULL;
	char doc[1024], err[512];

	snprintf(doc, sizeof(doc), "%s%s", yaml, base);
	assert_int_equal(load(doc, &cfg, err, sizeof(err)), -EINVAL);
	assert_null(cfg);
	assert_string_equal(err, message);
}

static void
test_nanomsg(void **state)
{
	struct config *cfg = NULL;
	const struct config_source *cs;
	char doc[1024], err[512];

	(void)state;
	snprintf(doc, sizeof(doc), "server: { publish: \"tcp://127.0.0.1:5560\" }\n"
	    "sources:\n  nanomsg: { pull: \"ipc:///run/incidentd/events.ipc\" }\n%s", base);
	assert_int_equal(load(doc, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->publish, "tcp://127.0.0.1:5560");
	cs = config_find_source(cfg, "nanomsg");
	assert_non_null(cs);
	assert_true(cs->enabled);
	assert_string_equal(cs->pull, "ipc:///run/incidentd/events.ipc");
	assert_string_equal(cs->format, "event");      /* the default format */
	assert_int_equal(cs->auth.kind, AUTH_UNSET);
	config_destroy(cfg);

	/* publish: "" is off; a disabled source needs no address; every format */
	snprintf(doc, sizeof(doc), "server: { publish: \"\" }\n"
	    "sources:\n  nanomsg: { enabled: false, format: alertmanager }\n%s", base);
	assert_int_equal(load(doc, &cfg, err, sizeof(err)), 0);
	assert_null(cfg->publish);
	cs = config_find_source(cfg, "nanomsg");
	assert_false(cs->enabled);
	assert_null(cs->pull);
	assert_string_equal(cs->format, "alertmanager");
	config_destroy(cfg);
	for (const char *const *f = (const char *const[]){ "argocd", "alertmanager", "flux",
	    "cloudevents", "event", NULL }; *f; f++) {
		snprintf(doc, sizeof(doc), "sources:\n  nanomsg: { pull: \"ws://[::1]:80/x\", "
		    "format: %s, auth: none }\n%s", *f, base);
		assert_int_equal(load(doc, &cfg, err, sizeof(err)), 0);
		assert_string_equal(config_find_source(cfg, "nanomsg")->format, *f);
		assert_int_equal(config_find_source(cfg, "nanomsg")->auth.kind, AUTH_NONE);
		config_destroy(cfg);
	}

	/* without a pull address: ipc://events.ipc, which main puts in the runtime directory */
	for (const char *const *d = (const char *const[]){ "sources:\n  nanomsg: {}\n",
	    "sources:\n  nanomsg:\n", "sources:\n  nanomsg: { pull: \"\" }\n", NULL }; *d; d++) {
		snprintf(doc, sizeof(doc), "%s%s", *d, base);
		assert_int_equal(load(doc, &cfg, err, sizeof(err)), 0);
		cs = config_find_source(cfg, "nanomsg");
		assert_true(cs->enabled);
		assert_string_equal(cs->pull, "ipc://events.ipc");
		assert_string_equal(cs->format, "event");
		config_destroy(cfg);
	}
	expect_exact("sources:\n  nanomsg:\n    pull: /run/x.ipc\n",
	    "t.yaml:3: sources.nanomsg.pull: '/run/x.ipc' is not a nanomsg address (ipc://PATH, "
	    "tcp://HOST:PORT or ws://HOST:PORT)");
	expect_exact("sources:\n  nanomsg:\n    pull: \"tcp://127.0.0.1\"\n",
	    "t.yaml:3: sources.nanomsg.pull: 'tcp://127.0.0.1' is not a nanomsg address "
	    "(ipc://PATH, tcp://HOST:PORT or ws://HOST:PORT)");
	expect_exact("sources:\n  nanomsg:\n    pull: \"ipc://\"\n",
	    "t.yaml:3: sources.nanomsg.pull: 'ipc://' is not a nanomsg address (ipc://PATH, "
	    "tcp://HOST:PORT or ws://HOST:PORT)");
	expect_exact("sources:\n  nanomsg:\n    pull: \"ipc://x\"\n    format: nagios\n",
	    "t.yaml:4: sources.nanomsg.format: 'nagios' is not argocd, alertmanager, flux, "
	    "cloudevents or event");
	expect_exact("sources:\n  nanomsg:\n    pull: \"ipc://x\"\n    auth: { bearer: t }\n",
	    "t.yaml:4: sources.nanomsg.auth: nanomsg has no authentication; only auth: none "
	    "is accepted");
	expect_exact("sources:\n  nanomsg:\n    pull: \"ipc://x\"\n    address: y\n",
	    "t.yaml:4: sources.nanomsg: unknown key 'address' (expected one of: enabled, auth, "
	    "pull, format)");
	expect_exact("sources:\n  argocd:\n    pull: \"ipc://x\"\n",
	    "t.yaml:3: sources.argocd: unknown key 'pull' (expected one of: enabled, auth)");
	expect_exact("sources:\n  nanomsg: ipc://x\n",
	    "t.yaml:2: sources.nanomsg: expected a mapping");
	expect_exact("server:\n  publish: tail.ipc\n",
	    "t.yaml:2: server.publish: 'tail.ipc' is not a nanomsg address (ipc://PATH, "
	    "tcp://HOST:PORT or ws://HOST:PORT)");
	expect_exact("server:\n  publish: 5\n", "t.yaml:2: server.publish: expected a string");
}

/* nanomsg has no auth: a pull address beyond loopback needs an explicit auth: none, and
 * the HTTP exposure check does not apply to it. */
static void
test_nanomsg_exposure(void **state)
{
	static const char *const local[] = { "ipc:///run/x.ipc", "ipc://./var/x.ipc",
	    "tcp://127.0.0.1:5555", "tcp://localhost:5555", "tcp://[::1]:5555",
	    "ws://127.0.0.1:80/events", "tcp://127.0.0.1;10.0.0.1:5555" };
	static const char *const exposed[] = { "tcp://*:5555", "tcp://0.0.0.0:5555",
	    "tcp://eth0:5555", "ws://10.0.0.5:80/events", "tcp://[::]:5555" };
	struct config *cfg = NULL;
	char doc[1024], err[512], want[512];

	(void)state;
	snprintf(doc, sizeof(doc), "sources:\n  argocd: { auth: none }\n"
	    "  nanomsg: { pull: \"ipc://x\" }\n%sserver: { api_auth: none }\n", base);
	assert_int_equal(load(doc, &cfg, err, sizeof(err)), 0);
	free(cfg->listen);
	cfg->listen = strdup("0.0.0.0:9740");    /* HTTP exposure is not nanomsg's */
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		free(cfg->sources[1].pull);
		cfg->sources[1].pull = strdup(local[i]);
		assert_int_equal(config_check_exposure(cfg, err, sizeof(err)), 0);
	}
	for (size_t i = 0; i < sizeof(exposed) / sizeof(exposed[0]); i++) {
		free(cfg->sources[1].pull);
		cfg->sources[1].pull = strdup(exposed[i]);
		err[0] = '\0';
		assert_int_equal(config_check_exposure(cfg, err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "t.yaml:3: sources.nanomsg.pull: %s is not a local "
		    "address and nanomsg has no authentication: use ipc:// or a loopback tcp:// "
		    "address, or set auth: none to accept anyone", exposed[i]);
		assert_string_equal(err, want);
	}
	/* a disabled source, or an explicit auth: none, is fine */
	cfg->sources[1].enabled = false;
	assert_int_equal(config_check_exposure(cfg, err, sizeof(err)), 0);
	cfg->sources[1].enabled = true;
	cfg->sources[1].auth.kind = AUTH_NONE;
	assert_int_equal(config_check_exposure(cfg, err, sizeof(err)), 0);
	config_destroy(cfg);
}

/* clusters: the identity registry, validated with file:line, handed to copilot_runner
 * sinks as their "clusters" option unless they set one. */
static void
test_clusters(void **state)
{
	static const char yaml[] =
	    "clusters:\n"
	    "  prod-west-aks: { api_server: \"https://prod-west.example:443\", uid: u-1,\n"
	    "    ca_sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08 }\n"
	    "  staging: { api_server: \"http://127.0.0.1:6443\" }\n"
	    "sinks:\n"
	    "  log: { plugin: log }\n"
	    "  doctor: { plugin: copilot_runner }\n"
	    "  byname: { plugin: /usr/lib/incidentd/copilot_runner.so }\n"
	    "  own: { plugin: copilot_runner, clusters: { x: { api_server: \"https://x\" } } }\n"
	    "routes: [ { name: d, sinks: [log] } ]\n";
	struct config *cfg = NULL;
	const json_t *c;
	char err[512];

	(void)state;
	assert_int_equal(load(yaml, &cfg, err, sizeof(err)), 0);
	assert_int_equal(json_object_size(cfg->clusters), 2);
	c = json_object_get(cfg->clusters, "prod-west-aks");
	assert_string_equal(json_string_value(json_object_get(c, "api_server")),
	    "https://prod-west.example:443");
	assert_string_equal(json_string_value(json_object_get(c, "uid")), "u-1");
	assert_non_null(json_object_get(c, "ca_sha256"));
	c = json_object_get(cfg->clusters, "staging");
	assert_null(json_object_get(c, "uid"));
	/* injected into the runner sinks, not into others, and never over their own */
	assert_true(json_equal(json_object_get(config_find_sink(cfg, "doctor")->options,
	    "clusters"), cfg->clusters));
	assert_true(json_equal(json_object_get(config_find_sink(cfg, "byname")->options,
	    "clusters"), cfg->clusters));
	assert_null(json_object_get(config_find_sink(cfg, "log")->options, "clusters"));
	c = json_object_get(config_find_sink(cfg, "own")->options, "clusters");
	assert_int_equal(json_object_size(c), 1);
	assert_non_null(json_object_get(c, "x"));
	config_destroy(cfg);

	/* without a registry the runner gets an empty one */
	assert_int_equal(load("sinks:\n  doctor: { plugin: copilot_runner }\nroutes: [ { name: d, "
	    "sinks: [doctor] } ]\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(json_object_size(cfg->clusters), 0);
	assert_true(json_is_object(json_object_get(config_find_sink(cfg, "doctor")->options,
	    "clusters")));
	config_destroy(cfg);

	expect_exact("clusters: [ a ]\n", "t.yaml:1: clusters: expected a mapping");
	expect_exact("clusters:\n  a: 1\n", "t.yaml:2: clusters.a: expected a mapping "
	    "{ api_server, uid, ca_sha256 }");
	expect_exact("clusters:\n  a: { uid: x }\n", "t.yaml:2: clusters.a: api_server: "
	    "required, an https:// URL");
	expect_exact("clusters:\n  a: { api_server: prod-west.example }\n", "t.yaml:2: "
	    "clusters.a: api_server: required, an https:// URL");
	expect_exact("clusters:\n  a: { api_server: \"https://a\", uid: \"\" }\n", "t.yaml:2: "
	    "clusters.a: uid: must not be empty");
	expect_exact("clusters:\n  a: { api_server: \"https://a\", ca_sha256: abc }\n",
	    "t.yaml:2: clusters.a: ca_sha256: expected 64 hex digits (the SHA-256 of the cluster "
	    "CA certificate)");
	expect_exact("clusters:\n  a: { api_server: \"https://a\", ca: x }\n", "t.yaml:2: "
	    "clusters.a: unknown key 'ca' (expected one of: api_server, uid, ca_sha256, probe, "
	    "probe_timeout, trust_event_claims)");
	expect_exact("clusters:\n  a:\n    api_server: 5\n", "t.yaml:3: clusters.a.api_server: "
	    "expected a string");
	expect_exact("clusters:\n  \"\": { api_server: \"https://a\" }\n", "t.yaml:2: "
	    "clusters.: a cluster name is 1 to 253 characters without control characters");
}

/* clusters.<name>.probe, probe_timeout and trust_event_claims: how identity is
 * established (docs/security.md) */
static void
test_cluster_probe(void **state)
{
	static const char yaml[] =
	    "clusters:\n"
	    "  prod: { api_server: \"https://p\", uid: u-1, probe: [kubectl, --context,\n"
	    "          \"{{cluster}}\", get, ns, kube-system, -o, \"jsonpath={.metadata.uid}\"],\n"
	    "          probe_timeout: 1m }\n"
	    "  lab: { api_server: \"https://l\", uid: u-2, trust_event_claims: \"true\" }\n"
	    "  dev: { api_server: \"https://d\", probe: null, trust_event_claims: false }\n"
	    "sinks: { log: { plugin: log } }\nroutes: [ { name: d, sinks: [log] } ]\n";
	struct config *cfg = NULL;
	const json_t *c;
	char err[512];

	(void)state;
	assert_int_equal(load(yaml, &cfg, err, sizeof(err)), 0);
	c = json_object_get(cfg->clusters, "prod");
	assert_int_equal(json_array_size(json_object_get(c, "probe")), 8);
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "probe"), 2)),
	    "{{cluster}}");
	/* normalized for the runner: a duration in ms, a real boolean, absent when off */
	assert_string_equal(json_string_value(json_object_get(c, "probe_timeout")), "60000ms");
	assert_null(json_object_get(c, "trust_event_claims"));
	c = json_object_get(cfg->clusters, "lab");
	assert_true(json_is_true(json_object_get(c, "trust_event_claims")));
	assert_null(json_object_get(c, "probe"));
	c = json_object_get(cfg->clusters, "dev");
	assert_null(json_object_get(c, "trust_event_claims"));
	assert_null(json_object_get(c, "probe"));
	config_destroy(cfg);

	expect_exact("clusters:\n  a: { api_server: \"https://a\", uid: u, probe: kubectl }\n",
	    "t.yaml:2: clusters.a.probe: expected an argv list, e.g. [kubectl, --context, "
	    "\"{{cluster}}\", get, namespace, kube-system, -o, \"jsonpath={.metadata.uid}\"]");
	expect_exact("clusters:\n  a: { api_server: \"https://a\", uid: u, probe: [] }\n",
	    "t.yaml:2: clusters.a.probe: expected an argv list, e.g. [kubectl, --context, "
	    "\"{{cluster}}\", get, namespace, kube-system, -o, \"jsonpath={.metadata.uid}\"]");
	expect_exact("clusters:\n  a: { api_server: \"https://a\", uid: u, probe: [\"{{x}}\"] }\n",
	    "t.yaml:2: clusters.a.probe: element 0: the program must be a plain name or path");
	expect_exact("clusters:\n  a: { api_server: \"https://a\", uid: u, probe: [k, 5] }\n",
	    "t.yaml:2: clusters.a.probe: element 1: expected a string without control "
	    "characters");
	expect_exact("clusters:\n  a: { api_server: \"https://a\", probe: [kubectl] }\n",
	    "t.yaml:2: clusters.a: probe: needs uid (the probe's output must equal it)");
	expect_exact("clusters:\n  a: { api_server: \"https://a\", uid: u, probe: [k],\n"
	    "    probe_timeout: soon }\n", "t.yaml:3: clusters.a.probe_timeout: expected a "
	    "duration like 30s, 10m or 24h");
	expect_exact("clusters:\n  a: { api_server: \"https://a\", trust_event_claims: 1 }\n",
	    "t.yaml:2: clusters.a.trust_event_claims: expected true or false");
}

static void
test_empty_dir(void **state)
{
	struct config *cfg = NULL;
	char err[512];

	(void)state;
	assert_int_equal(config_load_dir(dir, &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no *.yaml files"));
	assert_true(config_load_dir("/nonexistent/conf.d", &cfg, err, sizeof(err)) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_max_connections),
		cmocka_unit_test(test_embedded_defaults_match_confd),
		cmocka_unit_test_setup_teardown(test_merge_lexical, setup, teardown),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_unreachable_routes),
		cmocka_unit_test_setup_teardown(test_unreachable_across_files, setup, teardown),
		cmocka_unit_test(test_auth_kinds),
		cmocka_unit_test(test_exposure),
		cmocka_unit_test(test_api_auth),
		cmocka_unit_test(test_publish_exposure),
		cmocka_unit_test(test_nanomsg),
		cmocka_unit_test(test_nanomsg_exposure),
		cmocka_unit_test(test_clusters),
		cmocka_unit_test(test_cluster_probe),
		cmocka_unit_test_setup_teardown(test_empty_dir, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
