/* test_runner.c - the pure parts of the copilot_runner sink: the child's environment
 * (nothing leaks), command lookup, the cluster-identity verdict on normalized Argo CD
 * samples, the capped transcript (head, tail, dropped count, valid UTF-8), the issue ref,
 * the template data and the option parsers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "runner_core.h"
#include "source.h"
#include "template.h"

#define API "https://prod-west.example:443"
#define UID "6a1f3c2e-8d4b-4f3a-9c1e-2b7d5e8f0a91"
#define CA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static json_t *
load_sample(const char *name)
{
	const char *dir = getenv("SAMPLES_DIR");
	char path[1024];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), "%s/argocd/%s", dir ? dir : "tests/samples", name);
	j = json_load_file(path, 0, &e);
	if (j == NULL)
		fail_msg("cannot load %s: %s", path, e.text);
	return j;
}

/* The ledger's event JSON (with payload) of an Argo CD body, as sinks receive it. */
static json_t *
event_of(json_t *body)
{
	struct source_input in = { .body = body, .received_at = 1770000000000 };
	struct ievent_vec vec = { 0 };
	char err[256];
	json_t *ev;

	if (argocd_normalize(&in, &vec, err, sizeof(err)) != 0)
		fail_msg("normalize: %s", err);
	assert_int_equal(vec.n, 1);
	ev = ievent_to_json(vec.v[0], true);
	assert_non_null(ev);
	ievent_vec_clear(&vec);
	return ev;
}

static json_t *
sample_event(const char *name)
{
	json_t *body = load_sample(name), *ev = event_of(body);

	json_decref(body);
	return ev;
}

static json_t *
registry(void)
{
	json_t *r = json_pack("{s:{s:s, s:s, s:s}, s:{s:s}}", "prod-west-aks", "api_server", API,
	    "uid", UID, "ca_sha256", CA, "staging-aks", "api_server",
	    "https://staging.example:6443/");

	assert_non_null(r);
	return r;
}

/* --- environment ----------------------------------------------------------------------- */

static void
test_env_build(void **state)
{
	json_t *env = json_pack("{s:s, s:s}", "GITHUB_MCP_TOKEN", "ghp_mcp",
	    "COPILOT_GITHUB_TOKEN", "ghp_cop");
	char **v = NULL;

	(void)state;
	/* incidentd's own environment has more; only env: + PATH + HOME reach the child */
	setenv("INCIDENTD_SECRET_FOR_TEST", "must-not-leak", 1);
	assert_int_equal(runner_env_build(env, "/usr/bin:/bin", "/var/lib/incidentd", &v), 0);
	assert_string_equal(v[0], "GITHUB_MCP_TOKEN=ghp_mcp");
	assert_string_equal(v[1], "COPILOT_GITHUB_TOKEN=ghp_cop");
	assert_string_equal(v[2], "PATH=/usr/bin:/bin");
	assert_string_equal(v[3], "HOME=/var/lib/incidentd");
	assert_null(v[4]);
	assert_null(runner_env_get(v, "INCIDENTD_SECRET_FOR_TEST"));
	assert_string_equal(runner_env_get(v, "PATH"), "/usr/bin:/bin");
	assert_null(runner_env_get(v, "PAT"));
	runner_env_free(v);
	unsetenv("INCIDENTD_SECRET_FOR_TEST");

	/* env: wins over incidentd's PATH/HOME, never twice */
	json_object_set_new(env, "PATH", json_string("/opt/agent/bin"));
	assert_int_equal(runner_env_build(env, "/usr/bin", "/root", &v), 0);
	assert_string_equal(v[2], "PATH=/opt/agent/bin");
	assert_string_equal(v[3], "HOME=/root");
	assert_null(v[4]);
	runner_env_free(v);

	/* no env: and no HOME: PATH alone; an empty PATH is left out */
	assert_int_equal(runner_env_build(NULL, "/bin", NULL, &v), 0);
	assert_string_equal(v[0], "PATH=/bin");
	assert_null(v[1]);
	runner_env_free(v);
	assert_int_equal(runner_env_build(NULL, "", "", &v), 0);
	assert_null(v[0]);
	runner_env_free(v);
	runner_env_free(NULL);
	json_decref(env);
}

static void
expect_env_error(const char *json, const char *message)
{
	json_t *env = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	char err[256] = "";

	assert_non_null(env);
	assert_int_equal(runner_env_check(env, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, message);
	json_decref(env);
}

static void
test_env_check(void **state)
{
	json_t *ok = json_pack("{s:s, s:s}", "A_1", "x", "_b", "");
	char err[256];

	(void)state;
	assert_int_equal(runner_env_check(ok, err, sizeof(err)), 0);
	assert_int_equal(runner_env_check(NULL, err, sizeof(err)), 0);
	json_decref(ok);
	expect_env_error("[\"A=b\"]", "env: expected a mapping of NAME: value");
	expect_env_error("{\"1BAD\": \"x\"}",
	    "env.1BAD: not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
	expect_env_error("{\"A=B\": \"x\"}", "env.A=B: not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
	expect_env_error("{\"\": \"x\"}", "env.: not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
	expect_env_error("{\"N\": 5}", "env.N: expected a string (without NUL)");
	expect_env_error("{\"N\": \"a\\u0000b\"}", "env.N: expected a string (without NUL)");
	assert_true(runner_env_name_ok("COPILOT_GITHUB_TOKEN"));
	assert_false(runner_env_name_ok("A-B"));
}

static void
test_resolve_command(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], exe[300], plain[300], path[700], *out = NULL;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_runner.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(exe, sizeof(exe), "%s/copilot", dir);
	snprintf(plain, sizeof(plain), "%s/notexec", dir);
	assert_non_null(f = fopen(exe, "w"));
	fclose(f);
	assert_int_equal(chmod(exe, 0755), 0);
	assert_non_null(f = fopen(plain, "w"));
	fclose(f);

	snprintf(path, sizeof(path), "/nonexistent/bin:%s", dir);
	assert_int_equal(runner_resolve_command("copilot", path, &out), 0);
	assert_string_equal(out, exe);
	free(out);
	assert_int_equal(runner_resolve_command("notexec", path, &out), -ENOENT);
	assert_int_equal(runner_resolve_command("nothere", path, &out), -ENOENT);
	assert_int_equal(runner_resolve_command("copilot", NULL, &out), -ENOENT);
	assert_int_equal(runner_resolve_command("", path, &out), -ENOENT);
	/* a name with '/' is used as given (relative to the workdir) */
	assert_int_equal(runner_resolve_command("./bin/agent", path, &out), 0);
	assert_string_equal(out, "./bin/agent");
	free(out);
	unlink(exe);
	unlink(plain);
	rmdir(dir);
}

/* --- identity ---------------------------------------------------------------------------- */

static void
check_identity(const json_t *clusters, const char *cluster, const json_t *ev, bool verified,
    const char *detail)
{
	struct runner_identity id;

	runner_identity_check(clusters, cluster, ev, &id);
	assert_string_equal(id.detail, detail);
	assert_int_equal(id.verified, verified);
}

static void
set_label(json_t *ev, const char *k, const char *v)
{
	assert_int_equal(json_object_set_new(json_object_get(ev, "labels"), k, json_string(v)),
	    0);
}

static void
test_identity_client_payload(void **state)
{
	json_t *reg = registry();
	json_t *ev = sample_event("seed-aks-store-degraded.client_payload.json");
	json_t *empty = json_object();

	(void)state;
	assert_string_equal(json_string_value(json_object_get(ev, "cluster")), "prod-west-aks");
	/* the reference template sends only the name: one signal is not enough */
	check_identity(reg, "prod-west-aks", ev, false, "cluster 'prod-west-aks': 1 of 4 "
	    "signals match (name); not reported: api_server, uid, ca_sha256");
	/* no registry, or a cluster it does not know */
	check_identity(NULL, "prod-west-aks", ev, false, "no clusters: registry to check "
	    "cluster 'prod-west-aks' against");
	check_identity(empty, "prod-west-aks", ev, false, "no clusters: registry to check "
	    "cluster 'prod-west-aks' against");
	check_identity(reg, "prod-east-aks", ev, false, "cluster 'prod-east-aks' is not in the "
	    "clusters: registry");
	check_identity(reg, NULL, ev, false, "cluster '' is not in the clusters: registry");

	/* name + uid label: verified */
	set_label(ev, "cluster_uid", UID);
	check_identity(reg, "prod-west-aks", ev, true, "cluster 'prod-west-aks': 2 of 4 "
	    "signals match (name, uid); not reported: api_server, ca_sha256");
	/* + api_server (case of host and a trailing slash ignored) + CA with colons */
	set_label(ev, "api_server", "HTTPS://Prod-West.example:443/");
	json_object_set_new(json_object_get(ev, "annotations"), "ca_sha256", json_string(
	    "9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:2B:0B:82:2C:D1:5D:6C:"
	    "15:B0:F0:0A:08"));
	check_identity(reg, "prod-west-aks", ev, true, "cluster 'prod-west-aks': 4 of 4 "
	    "signals match (name, api_server, uid, ca_sha256)");
	/* a contradicting signal overrides any number of matches */
	set_label(ev, "api_server", "https://prod-east.example:443");
	check_identity(reg, "prod-west-aks", ev, false, "cluster 'prod-west-aks': 3 of 4 "
	    "signals match (name, uid, ca_sha256); contradicted: api_server "
	    "https://prod-east.example:443");
	set_label(ev, "api_server", API);
	set_label(ev, "cluster_uid", "00000000-0000-0000-0000-000000000000");
	check_identity(reg, "prod-west-aks", ev, false, "cluster 'prod-west-aks': 3 of 4 "
	    "signals match (name, api_server, ca_sha256); contradicted: uid "
	    "00000000-0000-0000-0000-000000000000");
	/* the path of the URL is not ignored */
	json_object_del(json_object_get(ev, "labels"), "cluster_uid");
	json_object_del(json_object_get(ev, "annotations"), "ca_sha256");
	set_label(ev, "api_server", API "/other");
	check_identity(reg, "prod-west-aks", ev, false, "cluster 'prod-west-aks': 1 of 4 "
	    "signals match (name); contradicted: api_server " API "/other; not reported: uid, "
	    "ca_sha256");
	/* a registry entry without uid/ca: two signals are name + api_server */
	set_label(ev, "api_server", "https://staging.example:6443");
	check_identity(reg, "staging-aks", ev, true, "cluster 'staging-aks': 2 of 2 signals "
	    "match (name, api_server)");
	json_decref(ev);
	json_decref(reg);
	json_decref(empty);
}

static void
test_identity_application(void **state)
{
	json_t *reg = registry();
	json_t *app = load_sample("application-synced-healthy.argo-cd.controller-testdata-"
	    "diff-cache.json");
	json_t *dest = json_object_get(json_object_get(app, "spec"), "destination");
	json_t *labels, *ev;

	(void)state;
	/* the Application names its destination by server URL only */
	json_object_del(dest, "name");
	json_object_set_new(dest, "server", json_string(API));
	ev = event_of(app);
	assert_string_equal(json_string_value(json_object_get(ev, "cluster")), API);
	check_identity(reg, API, ev, false, "cluster 'prod-west-aks': 1 of 4 signals match "
	    "(api_server); not reported: uid, ca_sha256");
	json_decref(ev);
	/* metadata.labels become event labels: a cluster_uid label is the second signal */
	labels = json_object_get(json_object_get(app, "metadata"), "labels");
	if (labels == NULL) {
		labels = json_object();
		json_object_set_new(json_object_get(app, "metadata"), "labels", labels);
	}
	json_object_set_new(labels, "cluster_uid", json_string(UID));
	ev = event_of(app);
	check_identity(reg, API, ev, true, "cluster 'prod-west-aks': 2 of 4 signals match "
	    "(api_server, uid); not reported: ca_sha256");
	json_decref(ev);
	/* named destination + server in the spec: name and api_server */
	json_object_set_new(dest, "name", json_string("prod-west-aks"));
	json_object_del(labels, "cluster_uid");
	ev = event_of(app);
	assert_string_equal(json_string_value(json_object_get(ev, "cluster")), "prod-west-aks");
	check_identity(reg, "prod-west-aks", ev, true, "cluster 'prod-west-aks': 2 of 4 "
	    "signals match (name, api_server); not reported: uid, ca_sha256");
	json_decref(ev);
	json_decref(app);
	json_decref(reg);
}

/* --- transcript -------------------------------------------------------------------------- */

static char *
transcript_of(size_t cap, const char *data, size_t len, size_t step)
{
	struct runner_transcript t;
	char *text = NULL;

	assert_int_equal(runner_transcript_init(&t, cap), 0);
	for (size_t i = 0; i < len; i += step)
		runner_transcript_add(&t, data + i, len - i < step ? len - i : step);
	assert_int_equal(t.total, len);
	assert_int_equal(runner_transcript_text(&t, &text), 0);
	runner_transcript_clear(&t);
	return text;
}

static void
test_transcript(void **state)
{
	char data[101], *text, *big;
	struct runner_transcript t;

	(void)state;
	for (int i = 0; i < 100; i++)
		data[i] = (char)('0' + i % 10);
	data[100] = '\0';
	/* under the cap: everything */
	text = transcript_of(16, "hello", 5, 5);
	assert_string_equal(text, "hello");
	free(text);
	text = transcript_of(16, data, 16, 16);
	assert_string_equal(text, "0123456789012345");
	free(text);
	/* over: the first 8 and the last 8 bytes, and how much was dropped; the same whether
	 * the output comes at once, byte by byte or in odd chunks (the ring wraps) */
	for (size_t step = 1; step <= 100; step = step * 3 + 1) {
		text = transcript_of(16, data, 100, step);
		assert_string_equal(text, "01234567\n[... 84 bytes dropped ...]\n23456789");
		free(text);
	}
	text = transcript_of(17, data, 17, 4);     /* odd cap: head 8, tail 9 */
	assert_string_equal(text, "01234567890123456");
	free(text);
	/* empty */
	text = transcript_of(16, "", 0, 1);
	assert_string_equal(text, "");
	free(text);
	/* valid UTF-8 always: a cut through a sequence, invalid bytes, NUL */
	text = transcript_of(8, "abc\xc3\xa9" "defghijk", 13, 13);   /* head "abc\xc3" */
	assert_string_equal(text, "abc\xef\xbf\xbd\n[... 5 bytes dropped ...]\nhijk");
	free(text);
	text = transcript_of(64, "a\xff" "b\0c\xed\xa0\x80" "d", 9, 2);
	assert_string_equal(text, "a\xef\xbf\xbd" "b c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "d");
	free(text);
	/* a flood: 1 MiB into 16 KiB keeps the beginning and the end */
	big = malloc(1048576);
	assert_non_null(big);
	for (size_t i = 0; i < 1048576; i++)
		big[i] = (char)('a' + i % 26);
	memcpy(big, "BEGIN", 5);
	memcpy(big + 1048576 - 3, "END", 3);
	assert_int_equal(runner_transcript_init(&t, 16384), 0);
	runner_transcript_add(&t, big, 1048576);
	assert_int_equal(runner_transcript_dropped(&t), 1048576 - 16384);
	assert_int_equal(runner_transcript_text(&t, &text), 0);
	assert_memory_equal(text, "BEGIN", 5);
	assert_non_null(strstr(text, "\n[... 1032192 bytes dropped ...]\n"));
	assert_string_equal(text + strlen(text) - 3, "END");
	assert_int_equal(strlen(text), 16384 + strlen("\n[... 1032192 bytes dropped ...]\n"));
	free(text);
	runner_transcript_clear(&t);
	runner_transcript_clear(&t);     /* twice is fine */
	free(big);
}

/* --- refs and template data ---------------------------------------------------------------- */

static void
test_find_issue_ref(void **state)
{
	json_t *refs = json_loads("{\"github\": {\"issue\": 42, \"repo\": \"o/r\"}, "
	    "\"doctor-label\": {\"labeled\": true}, \"slack\": {\"ts\": \"1.2\"}}", 0, NULL);
	json_t *two = json_loads("{\"a\": {\"issue\": 1}, \"b\": {\"issue\": 2}}", 0, NULL);

	(void)state;
	assert_ptr_equal(runner_find_issue_ref(refs, NULL), json_object_get(refs, "github"));
	assert_ptr_equal(runner_find_issue_ref(refs, "github"), json_object_get(refs, "github"));
	assert_null(runner_find_issue_ref(refs, "slack"));       /* no issue number there */
	assert_null(runner_find_issue_ref(refs, "nope"));
	assert_null(runner_find_issue_ref(two, NULL));           /* ambiguous */
	assert_ptr_equal(runner_find_issue_ref(two, "b"), json_object_get(two, "b"));
	assert_null(runner_find_issue_ref(NULL, NULL));
	json_decref(refs);
	json_decref(two);
}

static char *
render(const char *text, const json_t *data)
{
	struct template *t = NULL;
	char err[128], *out = NULL;

	assert_int_equal(template_compile(text, TEMPLATE_ESCAPE_NONE, &t, err, sizeof(err)), 0);
	assert_int_equal(template_render(t, data, &out), 0);
	template_destroy(t);
	return out;
}

static void
test_template_data(void **state)
{
	static const struct {
		const char *file, *status, *summary;
	} samples[] = {
		{ "seed-aks-store-degraded.client_payload.json", "firing",
		  "aks-store is Degraded (OutOfSync) in prod-west-aks/pets" },
		{ "seed-aks-store-degraded.repository_dispatch.json", "firing",
		  "aks-store is Degraded (OutOfSync) in prod-west-aks/pets" },
		{ "seed-aks-store-degraded-argocd3-no-resource-health.client_payload.json",
		  "firing", "aks-store is Degraded (OutOfSync) in prod-west-aks/pets" },
		{ "seed-aks-store-recovered.client_payload.json", "resolved",
		  "aks-store is Healthy and Synced in prod-west-aks/pets" },
	};
	json_t *inc = json_loads("{\"id\": \"01INC\", \"key\": \"argocd/prod-west-aks/pets/"
	    "aks-store\", \"cluster\": \"prod-west-aks\", \"refs\": {}}", 0, NULL);
	json_t *ref = json_pack("{s:i, s:s, s:s}", "issue", 42, "url",
	    "https://github.com/example-org/platform-incidents/issues/42", "repo",
	    "example-org/platform-incidents");
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		json_t *ev = sample_event(samples[i].file);
		json_t *d = runner_template_data(inc, ev, ref, NULL, i % 2 == 0);

		assert_non_null(d);
		assert_string_equal(json_string_value(json_object_get(d, "app")), "aks-store");
		assert_string_equal(json_string_value(json_object_get(d, "cluster")),
		    "prod-west-aks");
		assert_string_equal(json_string_value(json_object_get(d, "namespace")), "pets");
		assert_string_equal(json_string_value(json_object_get(d, "revision")),
		    "4194267f2c1d9a3e5b7c8d0e1f2a3b4c5d6e7f80");
		assert_string_equal(json_string_value(json_object_get(d, "repo")),
		    "example-org/platform-incidents");
		assert_string_equal(json_string_value(json_object_get(d, "source")), "argocd");
		assert_string_equal(json_string_value(json_object_get(d, "status")),
		    samples[i].status);
		assert_string_equal(json_string_value(json_object_get(d, "summary")),
		    samples[i].summary);
		assert_string_equal(json_string_value(json_object_get(d, "identity")),
		    i % 2 == 0 ? "verified" : "uncertain");
		out = render("#{{issue.number}} {{issue.url}} {{incident.key}} {{identity}}", d);
		assert_string_equal(out, i % 2 == 0 ? "#42 https://github.com/example-org/"
		    "platform-incidents/issues/42 argocd/prod-west-aks/pets/aks-store verified" :
		    "#42 https://github.com/example-org/platform-incidents/issues/42 "
		    "argocd/prod-west-aks/pets/aks-store uncertain");
		free(out);
		json_decref(d);
		json_decref(ev);
	}
	/* the message, untouched (quotes and all) */
	{
		json_t *ev = sample_event("seed-aks-store-degraded.client_payload.json");
		json_t *d = runner_template_data(inc, ev, ref, "other/repo", true);

		out = render("{{repo}}: {{message}}", d);
		assert_string_equal(out, "other/repo: one or more objects failed to apply, reason: "
		    "Deployment \"store-front\" exceeded its progress deadline");
		free(out);
		json_decref(d);
		/* no issue ref: issue renders empty, not "null" */
		d = runner_template_data(inc, ev, NULL, NULL, false);
		out = render("[{{issue.number}}][{{repo}}]", d);
		assert_string_equal(out, "[][]");
		free(out);
		json_decref(d);
		json_decref(ev);
	}
	json_decref(inc);
	json_decref(ref);
}

/* --- parsers ------------------------------------------------------------------------------- */

static void
test_parsers(void **state)
{
	uint64_t v;
	json_t *x;

	(void)state;
	assert_int_equal(runner_parse_duration("20m", &v), 0);
	assert_int_equal(v, 1200000);
	assert_int_equal(runner_parse_duration("30s", &v), 0);
	assert_int_equal(v, 30000);
	assert_int_equal(runner_parse_duration("1h", &v), 0);
	assert_int_equal(v, 3600000);
	assert_int_equal(runner_parse_duration("250ms", &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(runner_parse_duration("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(runner_parse_duration("5", &v), -EINVAL);
	assert_int_equal(runner_parse_duration("m", &v), -EINVAL);
	assert_int_equal(runner_parse_duration("-1s", &v), -EINVAL);
	assert_int_equal(runner_parse_duration("1d", &v), -EINVAL);
	assert_int_equal(runner_parse_duration(NULL, &v), -EINVAL);

	x = json_integer(16384);
	assert_int_equal(runner_parse_size(x, &v), 0);
	assert_int_equal(v, 16384);
	json_decref(x);
	static const struct { const char *s; uint64_t want; } ok[] = {
		{ "16KiB", 16384 }, { "1MiB", 1048576 }, { "2k", 2048 }, { "64KB", 64000 },
		{ "100", 100 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		x = json_string(ok[i].s);
		assert_int_equal(runner_parse_size(x, &v), 0);
		assert_int_equal(v, ok[i].want);
		json_decref(x);
	}
	static const char *const bad[] = { "x", "16 KiB", "KiB", "-1", "1GiB" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		x = json_string(bad[i]);
		assert_int_equal(runner_parse_size(x, &v), -EINVAL);
		json_decref(x);
	}
	x = json_integer(-1);
	assert_int_equal(runner_parse_size(x, &v), -EINVAL);
	json_decref(x);
	assert_int_equal(runner_parse_size(json_true(), &v), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_build),
		cmocka_unit_test(test_env_check),
		cmocka_unit_test(test_resolve_command),
		cmocka_unit_test(test_identity_client_payload),
		cmocka_unit_test(test_identity_application),
		cmocka_unit_test(test_transcript),
		cmocka_unit_test(test_find_issue_ref),
		cmocka_unit_test(test_template_data),
		cmocka_unit_test(test_parsers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
