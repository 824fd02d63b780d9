/* test_flux.c - Flux notification-controller normalization of every sample in
 * tests/samples/flux/ (fields asserted, not just success), both revision styles and both
 * metadata key styles, success vs progress vs error, and the error messages. */
#include <dirent.h>
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

static const char *
samples_dir(void)
{
	const char *dir = getenv("SAMPLES_DIR");

	return dir ? dir : "tests/samples";
}

static json_t *
load_sample(const char *name)
{
	char path[1024];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), "%s/flux/%s", samples_dir(), name);
	j = json_load_file(path, 0, &e);
	if (j == NULL)
		fail_msg("cannot load %s: %s", path, e.text);
	return j;
}

/* Normalize body; returns the rc, events in vec and the message in err. */
static int
normalize(json_t *body, struct ievent_vec *vec, char *err, size_t errlen)
{
	struct source_input in = { .body = body, .received_at = 1770000000000 };

	err[0] = '\0';
	return flux_normalize(&in, vec, err, errlen);
}

static const char *
label(const struct ievent *ev, const char *k)
{
	return json_string_value(json_object_get(ev->labels, k));
}

static const char *
annotation(const struct ievent *ev, const char *k)
{
	return json_string_value(json_object_get(ev->annotations, k));
}

static void
assert_time(int64_t got, const char *rfc3339)
{
	int64_t t;

	assert_int_equal(util_parse_time(rfc3339, &t), 0);
	assert_int_equal(got, t);
}

/* Normalize a sample that must give exactly one event; the caller clears vec. */
static struct ievent *
one_from_sample(const char *name, struct ievent_vec *vec, json_t **body)
{
	char err[512];

	*body = load_sample(name);
	assert_int_equal(normalize(*body, vec, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(vec->n, 1);
	return vec->v[0];
}

static void
test_sample_error_artifact_failed(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body;
	struct ievent *ev = one_from_sample("BramMeerten__error_ArtifactFailed.wire.json", &vec,
	    &body);

	(void)state;
	assert_string_equal(ev->source, "flux");
	assert_string_equal(ev->type, "reconcile.failed");
	assert_string_equal(ev->status, "firing");
	assert_string_equal(ev->severity, "error");
	assert_string_equal(ev->app, "Kustomization/my-app-kustomization");
	assert_string_equal(ev->namespace, "flux-system");
	assert_null(ev->cluster);
	assert_string_equal(ev->revision, "main@sha1:07a684d59d1bc9a58e0c0d07ed480812b2b9a29e");
	assert_string_equal(ev->summary, "Kustomization/my-app-kustomization: ArtifactFailed");
	assert_string_equal(ev->message, "kustomization path not found: stat "
	    "/tmp/kustomization-644156964/cluster-resources/my-app: no such file or directory");
	assert_string_equal(ev->fingerprint, "flux/Kustomization/flux-system/my-app-kustomization");
	assert_time(ev->occurred_at, "2024-07-12T08:54:33Z");
	assert_int_equal(ev->received_at, 1770000000000);
	assert_string_equal(label(ev, "kind"), "Kustomization");
	assert_string_equal(label(ev, "name"), "my-app-kustomization");
	assert_string_equal(label(ev, "reason"), "ArtifactFailed");
	assert_string_equal(label(ev, "reportingController"), "kustomize-controller");
	assert_string_equal(label(ev, "revision_sha"), "07a684d59d1bc9a58e0c0d07ed480812b2b9a29e");
	assert_int_equal(json_object_size(ev->labels), 5);
	assert_string_equal(annotation(ev, "revision"),
	    "main@sha1:07a684d59d1bc9a58e0c0d07ed480812b2b9a29e");
	assert_int_equal(json_object_size(ev->annotations), 1);
	assert_int_equal(ev->n_resources, 0);
	assert_ptr_equal(ev->payload, body);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_sample_info_progressing(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body;
	struct ievent *ev = one_from_sample("BramMeerten__info_Progressing.wire.json", &vec,
	    &body);

	(void)state;
	assert_string_equal(ev->type, "reconcile.progress");
	assert_string_equal(ev->status, "info");
	assert_string_equal(ev->severity, "info");
	assert_string_equal(ev->app, "Kustomization/my-app-kustomization");
	assert_string_equal(ev->namespace, "flux-system");
	assert_null(ev->cluster);
	assert_string_equal(ev->revision, "main@sha1:07a684d59d1bc9a58e0c0d07ed480812b2b9a29e");
	assert_string_equal(ev->summary, "Kustomization/my-app-kustomization: Progressing");
	assert_string_equal(ev->message,
	    "Namespace/my-app created\nDeployment/my-app/my-app created");
	assert_string_equal(ev->fingerprint, "flux/Kustomization/flux-system/my-app-kustomization");
	assert_time(ev->occurred_at, "2024-07-12T08:56:37Z");
	assert_string_equal(label(ev, "reason"), "Progressing");
	assert_string_equal(label(ev, "revision_sha"), "07a684d59d1bc9a58e0c0d07ed480812b2b9a29e");
	assert_non_null(ev->payload);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_sample_hmac_vector_body(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body;
	struct ievent *ev = one_from_sample("hmac_vector_nc_forwarder_test.body.json", &vec,
	    &body);

	(void)state;
	assert_string_equal(ev->type, "reconcile.progress");
	assert_string_equal(ev->status, "info");
	assert_string_equal(ev->severity, "info");
	assert_string_equal(ev->app, "GitRepository/webapp");
	assert_string_equal(ev->namespace, "gitops-system");
	assert_null(ev->cluster);
	assert_null(ev->revision);
	assert_string_equal(ev->summary, "GitRepository/webapp: reason");
	assert_string_equal(ev->message, "message");
	assert_string_equal(ev->fingerprint, "flux/GitRepository/gitops-system/webapp");
	assert_time(ev->occurred_at, "2022-09-30T06:40:29Z");
	assert_string_equal(label(ev, "kind"), "GitRepository");
	assert_string_equal(label(ev, "reportingController"), "source-controller");
	assert_null(label(ev, "revision_sha"));
	assert_string_equal(annotation(ev, "test"), "metadata");
	assert_int_equal(json_object_size(ev->annotations), 1);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
check_nc_docs(const struct ievent *ev)
{
	assert_string_equal(ev->type, "reconcile.failed");
	assert_string_equal(ev->status, "firing");
	assert_string_equal(ev->severity, "error");
	assert_string_equal(ev->app, "Kustomization/webapp");
	assert_string_equal(ev->namespace, "apps");
	assert_null(ev->cluster);
	assert_string_equal(ev->revision, "main/731f7eaddfb6af01cb2173e18f0f75b0ba780ef1");
	assert_string_equal(ev->summary, "Kustomization/webapp: ValidationFailed");
	assert_string_equal(ev->message,
	    "service/apps/webapp validation error: spec.type: Unsupported value: Ingress");
	assert_string_equal(ev->fingerprint, "flux/Kustomization/apps/webapp");
	assert_time(ev->occurred_at, "2022-10-28T07:26:19Z");
	assert_string_equal(label(ev, "kind"), "Kustomization");
	assert_string_equal(label(ev, "name"), "webapp");
	assert_string_equal(label(ev, "reason"), "ValidationFailed");
	assert_string_equal(label(ev, "reportingController"), "kustomize-controller");
	assert_string_equal(label(ev, "revision_sha"), "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1");
	assert_string_equal(annotation(ev, "kustomize.toolkit.fluxcd.io/revision"),
	    "main/731f7eaddfb6af01cb2173e18f0f75b0ba780ef1");
	assert_int_equal(json_object_size(ev->annotations), 1);
}

static void
test_sample_nc_docs(void **state)
{
	struct ievent_vec v1 = { 0 }, v2 = { 0 };
	json_t *b1, *b2;

	(void)state;
	check_nc_docs(one_from_sample("nc_docs_v1beta3_events_example.json", &v1, &b1));
	check_nc_docs(one_from_sample("nc_docs_v1beta3_providers_generic_example.json", &v2,
	    &b2));
	ievent_vec_clear(&v1);
	ievent_vec_clear(&v2);
	json_decref(b1);
	json_decref(b2);
}

/* Every .json under samples/flux/ is one of the files asserted above: a new sample
 * without assertions fails here. */
static void
test_every_sample_is_asserted(void **state)
{
	static const char *const known[] = {
		"BramMeerten__error_ArtifactFailed.wire.json",
		"BramMeerten__info_Progressing.wire.json",
		"hmac_vector_nc_forwarder_test.body.json",
		"nc_docs_v1beta3_events_example.json",
		"nc_docs_v1beta3_providers_generic_example.json",
	};
	char path[1024];
	struct dirent *de;
	size_t seen = 0;
	DIR *d;

	(void)state;
	snprintf(path, sizeof(path), "%s/flux", samples_dir());
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name), i;

		if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (strcmp(de->d_name, known[i]) == 0)
				break;
		}
		if (i == sizeof(known) / sizeof(known[0]))
			fail_msg("sample flux/%s has no assertions in test_flux.c", de->d_name);
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, sizeof(known) / sizeof(known[0]));
}

/* A minimal valid event to vary. */
static json_t *
base_event(const char *severity, const char *reason)
{
	json_t *b = json_pack("{s:{s:s, s:s, s:s}, s:s, s:s, s:s}",
	    "involvedObject", "kind", "HelmRelease", "namespace", "web", "name", "podinfo",
	    "severity", severity, "message", "m", "timestamp", "2026-02-10T03:01:12Z");

	if (reason != NULL)
		json_object_set_new(b, "reason", json_string(reason));
	return b;
}

/* Revision "main/<sha>" and "main@sha1:<sha>" under "revision" and "<group>/revision". */
static void
test_revision_styles(void **state)
{
	static const char *const keys[] = {
		"revision", "kustomize.toolkit.fluxcd.io/revision",
		"source.toolkit.fluxcd.io/revision",
	};
	static const char *const revs[] = {
		"main/731f7eaddfb6af01cb2173e18f0f75b0ba780ef1",
		"main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1",
		"sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1",
		"731f7eaddfb6af01cb2173e18f0f75b0ba780ef1",
		"release/v1.2/731f7eaddfb6af01cb2173e18f0f75b0ba780ef1",
	};
	struct ievent_vec vec = { 0 };
	char err[512];

	(void)state;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (size_t r = 0; r < sizeof(revs) / sizeof(revs[0]); r++) {
			json_t *b = base_event("error", "UpgradeFailed");

			json_object_set_new(b, "metadata", json_pack("{s:s}", keys[k], revs[r]));
			assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
			assert_string_equal(vec.v[vec.n - 1]->revision, revs[r]);
			assert_string_equal(label(vec.v[vec.n - 1], "revision_sha"),
			    "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1");
			assert_string_equal(annotation(vec.v[vec.n - 1], keys[k]), revs[r]);
			json_decref(b);
		}
	}
	ievent_vec_clear(&vec);
}

static void
test_revision_edge_cases(void **state)
{
	struct ievent_vec vec = { 0 };
	char err[512];
	json_t *b;

	(void)state;
	/* OCI digest */
	b = base_event("info", "NewArtifact");
	json_object_set_new(b, "metadata", json_pack("{s:s}",
	    "source.toolkit.fluxcd.io/revision", "6.5.4@sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(label(vec.v[0], "revision_sha"),
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	json_decref(b);

	/* a Helm chart version: revision kept, no sha */
	b = base_event("info", "UpgradeSucceeded");
	json_object_set_new(b, "metadata", json_pack("{s:s}",
	    "helm.toolkit.fluxcd.io/revision", "6.5.4"));
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[1]->revision, "6.5.4");
	assert_null(label(vec.v[1], "revision_sha"));
	json_decref(b);

	/* "revision" wins over a "<group>/revision" key; "xrevision" is not a revision key;
	 * non-string metadata is not copied to the annotations */
	b = base_event("info", "Progressing");
	json_object_set_new(b, "metadata", json_pack("{s:s, s:s, s:i, s:s}",
	    "kustomize.toolkit.fluxcd.io/revision", "main/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "revision", "main/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	    "count", 3, "xrevision", "x"));
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[2]->revision, "main/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	assert_string_equal(label(vec.v[2], "revision_sha"),
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	assert_int_equal(json_object_size(vec.v[2]->annotations), 3);
	assert_null(annotation(vec.v[2], "count"));
	json_decref(b);

	b = base_event("info", "Progressing");
	json_object_set_new(b, "metadata", json_pack("{s:s}", "xrevision", "main/abcdef012"));
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_null(vec.v[3]->revision);
	assert_null(label(vec.v[3], "revision_sha"));
	json_decref(b);
	ievent_vec_clear(&vec);
}

static void
test_success_progress_error(void **state)
{
	static const char *const success[] = {
		"ReconciliationSucceeded", "Succeeded", "NewArtifact", "ArtifactUpToDate",
		"ChartPullSucceeded", "ChartPackageSucceeded", "InstallSucceeded",
		"UpgradeSucceeded", "TestSucceeded",
	};
	static const char *const progress[] = {
		"Progressing", "ProgressingWithRetry", "DependencyNotReady", "Suspended",
		"RollbackSucceeded", "UninstallSucceeded", "reconciliationsucceeded",
		"Succeeded2",
	};
	struct ievent_vec vec = { 0 };
	char err[512];
	json_t *b;

	(void)state;
	for (size_t i = 0; i < sizeof(success) / sizeof(success[0]); i++) {
		b = base_event("info", success[i]);
		assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
		assert_string_equal(vec.v[vec.n - 1]->status, "resolved");
		assert_string_equal(vec.v[vec.n - 1]->type, "reconcile.succeeded");
		assert_string_equal(vec.v[vec.n - 1]->severity, "info");
		json_decref(b);
	}
	for (size_t i = 0; i < sizeof(progress) / sizeof(progress[0]); i++) {
		b = base_event("info", progress[i]);
		assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
		assert_string_equal(vec.v[vec.n - 1]->status, "info");
		assert_string_equal(vec.v[vec.n - 1]->type, "reconcile.progress");
		json_decref(b);
	}
	/* an error is firing whatever its reason */
	b = base_event("error", "ReconciliationSucceeded");
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[vec.n - 1]->status, "firing");
	assert_string_equal(vec.v[vec.n - 1]->type, "reconcile.failed");
	json_decref(b);
	/* trace: recorded, never firing nor resolving */
	b = base_event("trace", "ReconciliationSucceeded");
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[vec.n - 1]->status, "info");
	assert_string_equal(vec.v[vec.n - 1]->type, "reconcile.progress");
	assert_string_equal(vec.v[vec.n - 1]->severity, "trace");
	json_decref(b);
	/* no reason: info is progress, the summary is the message's first line */
	b = base_event("info", NULL);
	json_object_set_new(b, "message", json_string("first line\nsecond line"));
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[vec.n - 1]->status, "info");
	assert_string_equal(vec.v[vec.n - 1]->summary, "HelmRelease/podinfo: first line");
	assert_null(label(vec.v[vec.n - 1], "reason"));
	json_decref(b);
	/* failure and recovery of one object share the fingerprint */
	for (size_t i = 1; i < vec.n; i++)
		assert_string_equal(vec.v[i]->fingerprint, vec.v[0]->fingerprint);
	assert_string_equal(vec.v[0]->fingerprint, "flux/HelmRelease/web/podinfo");
	ievent_vec_clear(&vec);
}

static void
test_cluster_and_identity(void **state)
{
	struct ievent_vec vec = { 0 };
	char err[512];
	json_t *b;

	(void)state;
	b = base_event("error", "InstallFailed");
	json_object_set_new(b, "metadata", json_pack("{s:s, s:s}", "cluster", "prod-eu",
	    "summary", "Cluster: prod-eu"));
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[0]->cluster, "prod-eu");
	assert_string_equal(annotation(vec.v[0], "cluster"), "prod-eu");
	assert_string_equal(annotation(vec.v[0], "summary"), "Cluster: prod-eu");
	json_decref(b);

	/* cluster-scoped object: no namespace */
	b = json_pack("{s:{s:s, s:s}, s:s, s:s}", "involvedObject", "kind", "Kustomization",
	    "name", "infra", "severity", "error", "message", "m");
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_null(vec.v[1]->namespace);
	assert_string_equal(vec.v[1]->fingerprint, "flux/Kustomization//infra");
	assert_int_equal(vec.v[1]->occurred_at, 1770000000000);   /* no timestamp */
	json_decref(b);

	/* same name, other kind or namespace: other identity */
	b = json_pack("{s:{s:s, s:s, s:s}, s:s, s:s}", "involvedObject", "kind",
	    "GitRepository", "namespace", "web", "name", "podinfo", "severity", "error",
	    "message", "m");
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[2]->fingerprint, "flux/GitRepository/web/podinfo");
	assert_string_not_equal(vec.v[2]->fingerprint, vec.v[0]->fingerprint);
	json_decref(b);
	ievent_vec_clear(&vec);
}

/* body, expected message */
static void
expect_error(json_t *b, const char *msg)
{
	struct ievent_vec vec = { 0 };
	char err[512];

	assert_int_equal(normalize(b, &vec, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
	assert_int_equal(vec.n, 0);
	json_decref(b);
}

static void
test_errors(void **state)
{
	json_t *b;

	(void)state;
	expect_error(json_object(), "missing required field(s): involvedObject.kind, "
	    "involvedObject.name, severity, message");
	expect_error(json_pack("{s:{s:s}, s:s}", "involvedObject", "kind", "Kustomization",
	    "severity", "info"), "missing required field(s): involvedObject.name, message");
	expect_error(json_pack("{s:{s:s, s:s}, s:s, s:s}", "involvedObject", "kind", "",
	    "name", "x", "severity", "info", "message", "m"),
	    "missing required field(s): involvedObject.kind");
	expect_error(json_pack("{s:s, s:s, s:s}", "involvedObject", "Kustomization/x",
	    "severity", "info", "message", "m"), "involvedObject: expected an object");
	expect_error(json_pack("{s:{s:i, s:s}, s:s, s:s}", "involvedObject", "kind", 1,
	    "name", "x", "severity", "info", "message", "m"),
	    "involvedObject.kind: expected a string");
	b = base_event("warning", "X");
	expect_error(b, "severity: 'warning' is not one of info, error, trace");
	b = base_event("error", "X");
	json_object_set_new(b, "timestamp", json_string("yesterday"));
	expect_error(b, "timestamp: 'yesterday' is not an RFC 3339 time");
	b = base_event("error", "X");
	json_object_set_new(b, "metadata", json_string("revision=main"));
	expect_error(b, "metadata: expected an object of strings");
	b = base_event("error", "X");
	json_object_set_new(b, "metadata", json_pack("{s:i}", "cluster", 1));
	expect_error(b, "metadata.cluster: expected a string");
	b = base_event("error", "X");
	json_object_set_new(b, "reason", json_integer(3));
	expect_error(b, "reason: expected a string");
	expect_error(json_pack("[{s:s}]", "severity", "error"),
	    "expected a JSON object (a Flux notification-controller event)");
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

/* Found by tests/fuzz/fuzz_flux: app ("Kind/name", 512 bytes), fingerprint (1024) and
 * summary (512) were cut to fixed buffers, splitting a character of a long name (the event
 * could not be stored: not UTF-8) and making different long names one incident. App and
 * fingerprint are now exact; the summary is cut at a character boundary. */
static void
test_long_multibyte_name(void **state)
{
	struct ievent_vec vec = { 0 };
	char *name = repeat_e_acute(600), *want, err[256];
	json_t *body, *j;
	size_t n;

	(void)state;
	body = base_event("error", "ArtifactFailed");
	json_object_set_new(json_object_get(body, "involvedObject"), "name", json_string(name));
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	want = malloc(strlen(name) + 64);
	assert_non_null(want);
	snprintf(want, strlen(name) + 64, "HelmRelease/%s", name);
	assert_string_equal(vec.v[0]->app, want);
	snprintf(want, strlen(name) + 64, "flux/HelmRelease/web/%s", name);
	assert_string_equal(vec.v[0]->fingerprint, want);
	n = strlen(vec.v[0]->summary);
	assert_int_equal(n, 510);   /* "HelmRelease/" and 249 whole characters */
	assert_memory_equal(vec.v[0]->summary, "HelmRelease/", 12);
	assert_memory_equal(vec.v[0]->summary + 12, name, n - 12);
	j = ievent_to_json(vec.v[0], true);
	assert_non_null(j);
	json_decref(j);
	ievent_vec_clear(&vec);
	json_decref(body);
	free(want);
	free(name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_error_artifact_failed),
		cmocka_unit_test(test_sample_info_progressing),
		cmocka_unit_test(test_sample_hmac_vector_body),
		cmocka_unit_test(test_sample_nc_docs),
		cmocka_unit_test(test_every_sample_is_asserted),
		cmocka_unit_test(test_revision_styles),
		cmocka_unit_test(test_revision_edge_cases),
		cmocka_unit_test(test_success_progress_error),
		cmocka_unit_test(test_cluster_and_identity),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_multibyte_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
