/* test_argocd.c - Argo CD normalization of every sample in tests/samples/argocd/ (fields
 * asserted, not just success), the three body shapes, and the error messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "source.h"

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

/* Normalize body; returns the rc, the event in *ev (owned by vec) and err. */
static int
normalize(json_t *body, struct ievent_vec *vec, char *err, size_t errlen, const char *owner,
    const char *repo)
{
	struct source_input in = { .body = body, .received_at = 1770000000000,
		.path_owner = owner, .path_repo = repo };

	err[0] = '\0';
	return argocd_normalize(&in, vec, err, errlen);
}

static const char *
label(const struct ievent *ev, const char *k)
{
	return json_string_value(json_object_get(ev->labels, k));
}

static void
check_seed_degraded(const struct ievent *ev)
{
	int64_t t;

	assert_string_equal(ev->source, "argocd");
	assert_string_equal(ev->type, "deployment.degraded");
	assert_string_equal(ev->status, "firing");
	assert_string_equal(ev->severity, "error");
	assert_string_equal(ev->app, "aks-store");
	assert_string_equal(ev->cluster, "prod-west-aks");
	assert_string_equal(ev->namespace, "pets");
	assert_string_equal(ev->revision, "4194267f2c1d9a3e5b7c8d0e1f2a3b4c5d6e7f80");
	assert_string_equal(ev->health, "Degraded");
	assert_string_equal(ev->sync, "OutOfSync");
	assert_string_equal(ev->summary, "aks-store is Degraded (OutOfSync) in prod-west-aks/pets");
	assert_non_null(strstr(ev->message, "exceeded its progress deadline"));
	assert_int_equal(util_parse_time("2026-02-10T03:01:12Z", &t), 0);
	assert_int_equal(ev->occurred_at, t);
	assert_int_equal(ev->received_at, 1770000000000);
	assert_int_equal(ev->n_resources, 5);
	assert_true(ev->resource_health_reported);
	assert_string_equal(ev->resources[0].kind, "Deployment");
	assert_string_equal(ev->resources[0].name, "store-front");
	assert_string_equal(ev->resources[0].health, "Degraded");
	assert_string_equal(ev->resources[0].sync, "Synced");
	assert_string_equal(ev->resources[0].group, "apps");
	assert_string_equal(ev->resources[1].health, "Progressing");
	assert_string_equal(ev->resources[2].health, "Healthy");
	assert_string_equal(ev->resources[3].health, "Missing");
	assert_null(ev->resources[3].group);
	assert_null(ev->resources[4].health);
	assert_string_equal(label(ev, "health_status"), "Degraded");
	assert_string_equal(label(ev, "sync_status"), "OutOfSync");
	assert_int_equal(strlen(ev->fingerprint), 32);
	assert_non_null(ev->payload);
}

static void
test_seed_client_payload(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("seed-aks-store-degraded.client_payload.json");
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err), NULL, NULL), 0);
	assert_int_equal(vec.n, 1);
	check_seed_degraded(vec.v[0]);
	assert_null(label(vec.v[0], "event_type"));
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_seed_repository_dispatch(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("seed-aks-store-degraded.repository_dispatch.json");
	json_t *cp_body = load_sample("seed-aks-store-degraded.client_payload.json");
	struct ievent_vec vec2 = { 0 };
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err), "example-org", "incidents"), 0);
	check_seed_degraded(vec.v[0]);
	assert_string_equal(label(vec.v[0], "event_type"), "argocd-sync-failed");
	assert_string_equal(label(vec.v[0], "dispatch_repo"), "example-org/incidents");
	/* same incident identity as the client_payload form */
	assert_int_equal(normalize(cp_body, &vec2, err, sizeof(err), NULL, NULL), 0);
	assert_string_equal(vec.v[0]->fingerprint, vec2.v[0]->fingerprint);
	ievent_vec_clear(&vec);
	ievent_vec_clear(&vec2);
	json_decref(body);
	json_decref(cp_body);
}

static void
test_argocd3_no_resource_health(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample(
	    "seed-aks-store-degraded-argocd3-no-resource-health.client_payload.json");
	char err[512];
	json_t *j;

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err), NULL, NULL), 0);
	assert_string_equal(vec.v[0]->type, "deployment.degraded");
	assert_true(vec.v[0]->n_resources > 0);
	assert_false(vec.v[0]->resource_health_reported);
	for (size_t i = 0; i < vec.v[0]->n_resources; i++)
		assert_null(vec.v[0]->resources[i].health);
	j = ievent_to_json(vec.v[0], false);
	assert_string_equal(json_string_value(json_object_get(j, "resource_health")), "absent");
	json_decref(j);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_recovered(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("seed-aks-store-recovered.client_payload.json");
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err), NULL, NULL), 0);
	assert_string_equal(vec.v[0]->type, "deployment.recovered");
	assert_string_equal(vec.v[0]->status, "resolved");
	assert_string_equal(vec.v[0]->severity, "info");
	assert_string_equal(vec.v[0]->app, "aks-store");
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_application_synced_healthy(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample(
	    "application-synced-healthy.argo-cd.controller-testdata-diff-cache.json");
	struct ievent *ev;
	char err[512];
	int64_t t;

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err), NULL, NULL), 0);
	ev = vec.v[0];
	assert_string_equal(ev->type, "deployment.recovered");
	assert_string_equal(ev->status, "resolved");
	assert_string_equal(ev->cluster, "gke-alpha-01-europe-west1");
	assert_string_equal(ev->namespace, "test-lla");
	assert_string_equal(ev->repo_url, "https://github.com/foo/manifests-velero.git");
	assert_string_equal(ev->revision, "rev1");
	assert_string_equal(label(ev, "argocd_namespace"), "argo-cd");
	assert_int_equal(util_parse_time("2024-03-05T07:33:04Z", &t), 0);
	assert_int_equal(ev->occurred_at, t);
	assert_true(ev->resource_health_reported);
	assert_int_equal(ev->n_resources, 2);
	assert_string_equal(ev->resources[0].kind, "Service");
	assert_string_equal(ev->resources[0].health, "Healthy");
	assert_string_equal(ev->resources[1].kind, "Deployment");
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_application_minimal_has_no_name(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample(
	    "application-degraded-minimal.argo-cd.gitops-engine-health-testdata.json");
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err), NULL, NULL), -EINVAL);
	assert_non_null(strstr(err, "metadata.name"));
	assert_int_equal(vec.n, 0);
	/* with a name it is a degraded deployment */
	json_object_set_new(body, "metadata", json_pack("{s:s}", "name", "guestbook"));
	assert_int_equal(normalize(body, &vec, err, sizeof(err), NULL, NULL), 0);
	assert_string_equal(vec.v[0]->type, "deployment.degraded");
	assert_string_equal(vec.v[0]->app, "guestbook");
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_status_excerpts(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *tree = load_sample("status-resource-health-apptree.argo-cd.docs-upgrading-2.14-3.0.json");
	json_t *pers = load_sample(
	    "status-resource-health-persisted.argo-cd.docs-upgrading-2.14-3.0.json");
	char err[512];

	(void)state;
	/* excerpts lack metadata: refused, naming the field */
	assert_int_equal(normalize(tree, &vec, err, sizeof(err), NULL, NULL), -EINVAL);
	assert_non_null(strstr(err, "metadata.name"));
	json_object_set_new(tree, "metadata", json_pack("{s:s}", "name", "my-app"));
	json_object_set_new(pers, "metadata", json_pack("{s:s}", "name", "my-app"));
	assert_int_equal(normalize(tree, &vec, err, sizeof(err), NULL, NULL), 0);
	assert_int_equal(normalize(pers, &vec, err, sizeof(err), NULL, NULL), 0);
	assert_false(vec.v[0]->resource_health_reported);    /* appTree */
	assert_true(vec.v[1]->resource_health_reported);     /* persisted */
	/* Healthy but OutOfSync: recorded as info, never opens an incident */
	assert_string_equal(vec.v[0]->status, "info");
	assert_string_equal(vec.v[0]->type, "deployment.status");
	ievent_vec_clear(&vec);
	json_decref(tree);
	json_decref(pers);
}

static void
test_errors(void **state)
{
	struct ievent_vec vec = { 0 };
	char err[512];
	json_t *b;

	(void)state;
	b = json_pack("{s:s}", "message", "x");
	assert_int_equal(normalize(b, &vec, err, sizeof(err), NULL, NULL), -EINVAL);
	assert_non_null(strstr(err, "missing required field(s)"));
	assert_non_null(strstr(err, "app_name"));
	assert_non_null(strstr(err, "health_status"));
	json_decref(b);

	b = json_pack("{s:s, s:{s:s}}", "event_type", "x", "client_payload", "sync_status",
	    "Synced");
	assert_int_equal(normalize(b, &vec, err, sizeof(err), NULL, NULL), -EINVAL);
	assert_non_null(strstr(err, "client_payload.app_name"));
	json_decref(b);

	b = json_pack("{s:i, s:s}", "app_name", 12, "health_status", "Degraded");
	assert_int_equal(normalize(b, &vec, err, sizeof(err), NULL, NULL), -EINVAL);
	assert_non_null(strstr(err, "app_name: expected a string"));
	json_decref(b);

	b = json_pack("{s:s, s:s, s:i}", "app_name", "a", "health_status", "Degraded",
	    "resources", 3);
	assert_int_equal(normalize(b, &vec, err, sizeof(err), NULL, NULL), -EINVAL);
	assert_non_null(strstr(err, "resources"));
	json_decref(b);

	b = json_pack("{s:s, s:s, s:s}", "app_name", "a", "health_status", "Degraded",
	    "timestamp", "yesterday");
	assert_int_equal(normalize(b, &vec, err, sizeof(err), NULL, NULL), -EINVAL);
	assert_non_null(strstr(err, "timestamp"));
	json_decref(b);

	b = json_pack("[i]", 1);
	assert_int_equal(normalize(b, &vec, err, sizeof(err), NULL, NULL), -EINVAL);
	assert_non_null(strstr(err, "JSON object"));
	json_decref(b);
	assert_int_equal(vec.n, 0);
}

static void
test_shapes_and_classes(void **state)
{
	struct ievent_vec vec = { 0 };
	char err[512];
	json_t *b;

	(void)state;
	/* resources as a string holding the array (templates that quote toJson) */
	b = json_pack("{s:s, s:s, s:s}", "app_name", "a", "health_status", "Degraded",
	    "resources", "[{\"kind\":\"Pod\",\"name\":\"p\",\"health\":{\"status\":\"Degraded\"}}]");
	assert_int_equal(normalize(b, &vec, err, sizeof(err), NULL, NULL), 0);
	assert_int_equal(vec.v[0]->n_resources, 1);
	assert_string_equal(vec.v[0]->resources[0].kind, "Pod");
	json_decref(b);

	/* a failed sync of a healthy app */
	b = json_pack("{s:s, s:s, s:s, s:s, s:s}", "app_name", "a", "health_status", "Healthy",
	    "sync_status", "OutOfSync", "operation_phase", "Failed", "cluster", "c");
	assert_int_equal(normalize(b, &vec, err, sizeof(err), NULL, NULL), 0);
	assert_string_equal(vec.v[1]->type, "deployment.sync_failed");
	assert_string_equal(vec.v[1]->status, "firing");
	assert_string_equal(label(vec.v[1], "operation_phase"), "Failed");
	assert_non_null(strstr(vec.v[1]->summary, "sync failed (Failed)"));
	json_decref(b);

	/* progressing: info */
	b = json_pack("{s:s, s:s, s:s}", "app_name", "a", "health_status", "Progressing",
	    "sync_status", "Synced");
	assert_int_equal(normalize(b, &vec, err, sizeof(err), NULL, NULL), 0);
	assert_string_equal(vec.v[2]->status, "info");
	json_decref(b);

	/* different apps, different fingerprints; no substring confusion */
	b = json_pack("{s:s, s:s}", "app_name", "aks-store-2", "health_status", "Degraded");
	assert_int_equal(normalize(b, &vec, err, sizeof(err), NULL, NULL), 0);
	json_decref(b);
	b = json_pack("{s:s, s:s}", "app_name", "aks-store", "health_status", "Degraded");
	assert_int_equal(normalize(b, &vec, err, sizeof(err), NULL, NULL), 0);
	json_decref(b);
	assert_string_not_equal(vec.v[3]->fingerprint, vec.v[4]->fingerprint);
	ievent_vec_clear(&vec);
}

/* n copies of "\xc3\xa9" (U+00E9, two bytes each) as a new string; caller frees. */
static char *
repeat_e_acute(size_t n)
{
	char *s = malloc(2 * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[2 * n] = '\0';
	return s;
}

/* Found by tests/fuzz/fuzz_argocd: the summary is cut to 511 bytes, which split a
 * two-byte character of a long app name; the event then had a summary that is not UTF-8,
 * so ievent_to_json() failed and the ledger could never store it (503 for ever). */
static void
test_long_multibyte_app_name(void **state)
{
	struct ievent_vec vec = { 0 };
	char *app = repeat_e_acute(300), err[256];
	json_t *body, *j, *s;

	(void)state;
	body = json_pack("{s:s, s:s, s:s, s:s, s:s}", "app_name", app, "health_status",
	    "Degraded", "sync_status", "OutOfSync", "cluster", "c", "namespace", "n");
	assert_int_equal(normalize(body, &vec, err, sizeof(err), NULL, NULL), 0);
	assert_string_equal(vec.v[0]->app, app);
	assert_int_equal(strlen(vec.v[0]->summary), 510);   /* 255 whole characters */
	assert_memory_equal(vec.v[0]->summary, app, 510);
	s = json_string(vec.v[0]->summary);
	assert_non_null(s);
	json_decref(s);
	j = ievent_to_json(vec.v[0], true);
	assert_non_null(j);
	json_decref(j);
	ievent_vec_clear(&vec);
	json_decref(body);
	free(app);
}

/* The fingerprint hashed at most 1024 bytes of "argocd\ncluster\nnamespace\napp": apps
 * whose names differ only past that were one incident. Short ones keep their value. */
static void
test_long_names_fingerprint(void **state)
{
	struct ievent_vec vec = { 0 };
	char name[1200], err[256];
	json_t *body;

	(void)state;
	memset(name, 'a', sizeof(name) - 2);
	name[sizeof(name) - 1] = '\0';
	for (int i = 0; i < 2; i++) {
		name[sizeof(name) - 2] = (char)('1' + i);
		body = json_pack("{s:s, s:s, s:s, s:s}", "app_name", name, "health_status",
		    "Degraded", "cluster", "c", "namespace", "n");
		assert_int_equal(normalize(body, &vec, err, sizeof(err), NULL, NULL), 0);
		json_decref(body);
	}
	assert_string_not_equal(vec.v[0]->fingerprint, vec.v[1]->fingerprint);
	body = json_pack("{s:s, s:s, s:s, s:s}", "app_name", "aks-store", "health_status",
	    "Degraded", "cluster", "prod-west-aks", "namespace", "pets");
	assert_int_equal(normalize(body, &vec, err, sizeof(err), NULL, NULL), 0);
	/* the first 32 hex digits of SHA-256("argocd\nprod-west-aks\npets\naks-store") */
	assert_string_equal(vec.v[2]->fingerprint, "fd6104153c34d1df1d27e3356e76defa");
	json_decref(body);
	ievent_vec_clear(&vec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_client_payload),
		cmocka_unit_test(test_seed_repository_dispatch),
		cmocka_unit_test(test_argocd3_no_resource_health),
		cmocka_unit_test(test_recovered),
		cmocka_unit_test(test_application_synced_healthy),
		cmocka_unit_test(test_application_minimal_has_no_name),
		cmocka_unit_test(test_status_excerpts),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_shapes_and_classes),
		cmocka_unit_test(test_long_multibyte_app_name),
		cmocka_unit_test(test_long_names_fingerprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
