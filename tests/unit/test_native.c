/* test_native.c - incidentd's own event JSON as a source (every sample in
 * tests/samples/event/, fields asserted), the format lookup, and one nanomsg message from
 * bytes to events (source_normalize_message) with every error message and reason. */
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

#define RECEIVED 1770000000000LL

static char *
sample_text(const char *dir_name, const char *name, size_t *len)
{
	const char *dir = getenv("SAMPLES_DIR");
	char path[1024], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s/%s", dir ? dir : "tests/samples", dir_name, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static json_t *
load_sample(const char *name)
{
	size_t len;
	char *text = sample_text("event", name, &len);
	json_error_t e;
	json_t *j = json_loadb(text, len, 0, &e);

	free(text);
	if (j == NULL)
		fail_msg("cannot parse %s: %s", name, e.text);
	return j;
}

static int
normalize(json_t *body, struct ievent_vec *vec, char *err, size_t errlen)
{
	struct source_input in = { .body = body, .received_at = RECEIVED };

	err[0] = '\0';
	return native_normalize(&in, vec, err, errlen);
}

static int64_t
t(const char *s)
{
	int64_t ms = 0;

	assert_int_equal(util_parse_time(s, &ms), 0);
	return ms;
}

static const char *
label(const json_t *map, const char *k)
{
	return json_string_value(json_object_get(map, k));
}

static void
test_backup_failed(void **state)
{
	json_t *body = load_sample("seed-backup-failed.json");
	struct ievent_vec vec = { 0 };
	struct ievent *ev;
	char err[256], fp[65], buf[256];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	assert_string_equal(ev->source, "nanomsg");
	assert_string_equal(ev->type, "job.failed");
	assert_string_equal(ev->status, "firing");
	assert_string_equal(ev->severity, "error");
	assert_string_equal(ev->cluster, "prod-west-aks");
	assert_string_equal(ev->namespace, "backup");
	assert_string_equal(ev->app, "velero-nightly");
	assert_null(ev->revision);
	assert_null(ev->repo_url);
	assert_string_equal(ev->summary, "velero-nightly backup failed in prod-west-aks/backup");
	assert_string_equal(ev->message, "backup velero-nightly-20260210020000 failed: 3 of 41 "
	    "volume snapshots timed out");
	assert_string_equal(label(ev->labels, "team"), "storage");
	assert_string_equal(label(ev->labels, "schedule"), "0 2 * * *");
	assert_int_equal(json_object_size(ev->labels), 2);
	assert_int_equal(json_object_size(ev->annotations), 0);
	assert_int_equal(ev->n_resources, 0);
	assert_int_equal(ev->occurred_at, t("2026-02-10T02:00:05Z"));
	assert_int_equal(ev->received_at, RECEIVED);
	assert_int_equal(strlen(ev->id), UTIL_ID_LEN);
	/* no fingerprint in the message: source, cluster, namespace, app */
	snprintf(buf, sizeof(buf), "nanomsg\nprod-west-aks\nbackup\nvelero-nightly");
	util_sha256_hex(buf, strlen(buf), fp);
	fp[32] = '\0';
	assert_string_equal(ev->fingerprint, fp);
	/* no payload member: the payload is the message itself */
	assert_ptr_equal(ev->payload, body);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_backup_recovered(void **state)
{
	json_t *body = load_sample("seed-backup-recovered.json");
	struct ievent_vec vec = { 0 };
	struct ievent *ev;
	char err[256];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	assert_string_equal(ev->source, "cron");
	assert_string_equal(ev->type, "job.succeeded");
	assert_string_equal(ev->status, "resolved");
	assert_string_equal(ev->severity, "info");
	assert_string_equal(ev->cluster, "prod-west-aks");
	assert_string_equal(ev->namespace, "backup");
	assert_string_equal(ev->app, "velero-nightly");
	assert_string_equal(ev->revision, "v1.13.0");
	assert_string_equal(ev->summary, "velero-nightly backup succeeded");
	assert_null(ev->message);
	assert_string_equal(ev->fingerprint, "velero-nightly@prod-west-aks");
	assert_int_equal(ev->n_resources, 1);
	assert_string_equal(ev->resources[0].group, "velero.io");
	assert_string_equal(ev->resources[0].kind, "Backup");
	assert_string_equal(ev->resources[0].name, "velero-nightly-20260211020000");
	assert_string_equal(ev->resources[0].namespace, "backup");
	assert_string_equal(ev->resources[0].health, "Completed");
	assert_null(ev->resources[0].sync);
	assert_string_equal(label(ev->annotations, "runbook"),
	    "https://runbooks.example.org/backup");
	assert_int_equal(json_object_size(ev->labels), 0);
	assert_int_equal(ev->occurred_at, t("2026-02-11T01:04:41.250Z"));
	assert_int_equal(ev->received_at, RECEIVED);
	/* the payload member is the payload */
	assert_ptr_equal(ev->payload, json_object_get(body, "payload"));
	assert_int_equal(json_integer_value(json_object_get(ev->payload, "duration_s")), 281);
	ievent_vec_clear(&vec);
	json_decref(body);
}

/* A line of `incidentctl tail --json` goes back in as the same event, with a new id. */
static void
test_tail_line_round_trip(void **state)
{
	json_t *body = load_sample("tail-aks-store-degraded.json"), *again;
	struct ievent_vec vec = { 0 };
	struct ievent *ev;
	char err[256];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	assert_string_not_equal(ev->id, "01M8BJ0E2ZCF4Q85716XXWSVHM");
	assert_string_equal(ev->source, "argocd");
	assert_string_equal(ev->type, "deployment.degraded");
	assert_string_equal(ev->status, "firing");
	assert_string_equal(ev->severity, "error");
	assert_string_equal(ev->cluster, "prod-west-aks");
	assert_string_equal(ev->namespace, "pets");
	assert_string_equal(ev->app, "aks-store");
	assert_string_equal(ev->revision, "4194267f2c1d9a3e5b7c8d0e1f2a3b4c5d6e7f80");
	assert_string_equal(ev->repo_url,
	    "https://github.com/example-org/agentic-platform-engineering");
	assert_string_equal(ev->health, "Degraded");
	assert_string_equal(ev->sync, "OutOfSync");
	assert_string_equal(ev->summary, "aks-store is Degraded (OutOfSync) in prod-west-aks/pets");
	assert_non_null(strstr(ev->message, "exceeded its progress deadline"));
	assert_string_equal(ev->fingerprint, "fd6104153c34d1df1d27e3356e76defa");
	assert_int_equal(ev->n_resources, 5);
	assert_true(ev->resource_health_reported);
	assert_string_equal(ev->resources[0].name, "store-front");
	assert_string_equal(ev->resources[0].health, "Degraded");
	assert_string_equal(ev->resources[1].health, "Progressing");
	assert_string_equal(ev->resources[3].kind, "Service");
	assert_null(ev->resources[4].health);
	assert_string_equal(label(ev->labels, "health_status"), "Degraded");
	assert_string_equal(label(ev->labels, "sync_status"), "OutOfSync");
	assert_int_equal(ev->occurred_at, t("2026-02-10T03:01:12Z"));
	assert_int_equal(ev->received_at, RECEIVED);   /* not the publisher's */
	/* and it serializes back to the same fields */
	again = ievent_to_json(ev, false);
	assert_non_null(again);
	json_object_del(body, "id");
	json_object_del(body, "received_at");
	json_object_del(body, "incident_key");
	json_object_del(again, "id");
	json_object_del(again, "received_at");
	assert_true(json_equal(body, again));
	json_decref(again);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_defaults(void **state)
{
	json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "t", "status", "info",
	    "summary", "s", "fingerprint", "f", "id", "not-an-id");
	struct ievent_vec vec = { 0 };
	char err[256];

	(void)state;
	/* a bogus id is ignored, not an error; occurred_at defaults to received_at */
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[0]->source, "nanomsg");
	assert_string_equal(vec.v[0]->status, "info");
	assert_string_equal(vec.v[0]->fingerprint, "f");
	assert_int_equal(vec.v[0]->occurred_at, RECEIVED);
	assert_null(vec.v[0]->app);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
expect_error(const char *json, const char *message)
{
	json_t *body = json_loads(json, JSON_DECODE_ANY, NULL);
	struct ievent_vec vec = { 0 };
	char err[256];

	assert_non_null(body);
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, message);
	assert_int_equal(vec.n, 0);
	json_decref(body);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("[1]", "expected a JSON object (an incidentd event: source, type, status, "
	    "summary, ...)");
	expect_error("{}", "missing required field(s): type, status, summary, fingerprint "
	    "(or app)");
	expect_error("{\"type\":\"\",\"status\":\"firing\",\"summary\":\"s\",\"app\":\"a\"}",
	    "missing required field(s): type");
	expect_error("{\"type\":\"t\",\"status\":\"firing\",\"summary\":\"s\"}",
	    "missing required field(s): fingerprint (or app)");
	expect_error("{\"type\":\"t\",\"status\":\"open\",\"summary\":\"s\",\"app\":\"a\"}",
	    "status: 'open' is not firing, resolved or info");
	expect_error("{\"source\":5,\"type\":\"t\",\"status\":\"firing\",\"summary\":\"s\"}",
	    "source: expected a string");
	expect_error("{\"source\":\"a b\",\"type\":\"t\"}",
	    "source: 'a b' is not a valid source name ([A-Za-z0-9_.-], at most 64 characters)");
	expect_error("{\"source\":\"x\\\"} 1\",\"type\":\"t\"}",
	    "source: 'x\"} 1' is not a valid source name ([A-Za-z0-9_.-], at most 64 "
	    "characters)");
	expect_error("{\"source\":\"\",\"type\":\"t\"}",
	    "source: '' is not a valid source name ([A-Za-z0-9_.-], at most 64 characters)");
	expect_error("{\"type\":1,\"status\":\"firing\",\"summary\":\"s\",\"app\":\"a\"}",
	    "type: expected a string");
	expect_error("{\"type\":\"t\",\"status\":\"firing\",\"summary\":\"s\",\"app\":\"a\","
	    "\"occurred_at\":\"yesterday\"}", "occurred_at: 'yesterday' is not an RFC 3339 time");
	expect_error("{\"type\":\"t\",\"status\":\"firing\",\"summary\":\"s\",\"app\":\"a\","
	    "\"labels\":[]}", "labels: expected an object");
	expect_error("{\"type\":\"t\",\"status\":\"firing\",\"summary\":\"s\",\"app\":\"a\","
	    "\"resources\":{}}", "resources: expected an array");
	/* found by fuzz_native: label and annotation values must be strings (event.h) */
	expect_error("{\"type\":\"t\",\"status\":\"firing\",\"summary\":\"s\",\"app\":\"a\","
	    "\"labels\":{\"team\":\"x\",\"replicas\":3}}", "labels.replicas: expected a string");
	expect_error("{\"type\":\"t\",\"status\":\"firing\",\"summary\":\"s\",\"app\":\"a\","
	    "\"annotations\":{\"runbook\":{\"url\":\"u\"}}}",
	    "annotations.runbook: expected a string");
}

static void
test_find_normalizer(void **state)
{
	(void)state;
	assert_ptr_equal(source_find_normalizer("argocd"), argocd_normalize);
	assert_ptr_equal(source_find_normalizer("alertmanager"), alertmanager_normalize);
	assert_ptr_equal(source_find_normalizer("flux"), flux_normalize);
	assert_ptr_equal(source_find_normalizer("cloudevents"), cloudevents_normalize);
	assert_ptr_equal(source_find_normalizer("event"), native_normalize);
	assert_null(source_find_normalizer("nanomsg"));
	assert_null(source_find_normalizer("Argocd"));
	assert_null(source_find_normalizer(NULL));
}

/* Bytes in, events or (rc, reason, message) out. */
static int
message(const char *format, const char *data, size_t len, uint64_t max,
    struct ievent_vec *vec, const char **reason, char *err, size_t errlen)
{
	err[0] = '\0';
	return source_normalize_message(format, data, len, max, RECEIVED, vec, reason, err,
	    errlen);
}

static void
expect_message_error(const char *format, const char *data, size_t len, uint64_t max, int rc,
    const char *reason, const char *text)
{
	struct ievent_vec vec = { 0 };
	const char *why = NULL;
	char err[512];

	assert_int_equal(message(format, data, len, max, &vec, &why, err, sizeof(err)), rc);
	assert_non_null(why);
	assert_string_equal(why, reason);
	assert_string_equal(err, text);
	assert_int_equal(vec.n, 0);
}

static void
test_message_samples(void **state)
{
	struct ievent_vec vec = { 0 };
	const char *why = "unset";
	char err[512], *text;
	size_t len;

	(void)state;
	text = sample_text("argocd", "seed-aks-store-degraded.client_payload.json", &len);
	assert_int_equal(message("argocd", text, len, 1 << 20, &vec, &why, err, sizeof(err)), 0);
	assert_null(why);
	assert_int_equal(vec.n, 1);
	assert_string_equal(vec.v[0]->source, "argocd");
	assert_string_equal(vec.v[0]->type, "deployment.degraded");
	assert_string_equal(vec.v[0]->app, "aks-store");
	assert_int_equal(vec.v[0]->received_at, RECEIVED);
	ievent_vec_clear(&vec);
	free(text);

	text = sample_text("alertmanager", "k8s_KubePodCrashLooping_firing_2alerts.json", &len);
	assert_int_equal(message("alertmanager", text, len, 1 << 20, &vec, &why, err,
	    sizeof(err)), 0);
	assert_int_equal(vec.n, 2);
	assert_string_equal(vec.v[0]->source, "alertmanager");
	assert_string_equal(vec.v[0]->fingerprint, "ffdb340c659e5983");
	assert_string_equal(vec.v[1]->fingerprint, "908b990298dfafc3");
	assert_string_equal(vec.v[0]->namespace, "payments");
	ievent_vec_clear(&vec);
	free(text);

	/* a JSON array is a CloudEvents batch (there are no content types to say so) */
	text = sample_text("cloudevents", "seed-batch.json", &len);
	assert_int_equal(message("cloudevents", text, len, 1 << 20, &vec, &why, err,
	    sizeof(err)), 0);
	assert_int_equal(vec.n, 2);
	assert_string_equal(vec.v[0]->source, "cloudevents");
	ievent_vec_clear(&vec);
	free(text);

	text = sample_text("event", "seed-backup-failed.json", &len);
	assert_int_equal(message("event", text, len, 1 << 20, &vec, &why, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 1);
	assert_string_equal(vec.v[0]->source, "nanomsg");
	assert_string_equal(vec.v[0]->type, "job.failed");
	ievent_vec_clear(&vec);

	/* exactly at the limit is fine, one byte over is not */
	assert_int_equal(message("event", text, len, len, &vec, &why, err, sizeof(err)), 0);
	ievent_vec_clear(&vec);
	free(text);
}

static void
test_message_errors(void **state)
{
	char msg[128];

	(void)state;
	expect_message_error("event", "", 0, 100, -EINVAL, "bad_json",
	    "empty message: expected a JSON object");
	expect_message_error("event", "{bad", 4, 100, -EINVAL, "bad_json",
	    "invalid JSON at line 1, column 4: string or '}' expected");
	expect_message_error("event", "{\"token\": hunter2}", 18, 100, -EINVAL, "bad_json",
	    "invalid JSON at line 1, column 16: invalid token");
	snprintf(msg, sizeof(msg), "message of 11 bytes is over the limit of 10 bytes");
	expect_message_error("event", "{\"a\":\"bcd\"}", 11, 10, -EINVAL, "too_large", msg);
	expect_message_error("nope", "{}", 2, 100, -EINVAL, "invalid_payload",
	    "unknown format 'nope'");
	expect_message_error(NULL, "{}", 2, 100, -EINVAL, "invalid_payload",
	    "unknown format '(none)'");
	expect_message_error("argocd", "{}", 2, 100, -EINVAL, "invalid_payload",
	    "missing required field(s): app_name, health_status (or sync_status, "
	    "operation_phase)");
	expect_message_error("event", "{}", 2, 100, -EINVAL, "invalid_payload",
	    "missing required field(s): type, status, summary, fingerprint (or app)");
	expect_message_error("alertmanager", "{\"alerts\":[]}", 13, 100, -EINVAL,
	    "invalid_payload", "no alerts");
}

/* Over ALERTMANAGER_MAX_ALERTS alerts: the normalizer's -E2BIG is "too_large". */
static void
test_message_too_many_alerts(void **state)
{
	size_t cap = (ALERTMANAGER_MAX_ALERTS + 1) * 48 + 64, n = 0;
	char *buf = malloc(cap);
	struct ievent_vec vec = { 0 };
	const char *why = NULL;
	char err[256];

	(void)state;
	assert_non_null(buf);
	n += (size_t)snprintf(buf + n, cap - n, "{\"status\":\"firing\",\"alerts\":[");
	for (int i = 0; i <= ALERTMANAGER_MAX_ALERTS; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s{\"labels\":{\"i\":\"%d\"}}",
		    i ? "," : "", i);
	n += (size_t)snprintf(buf + n, cap - n, "]}");
	assert_true(n < cap);
	assert_int_equal(message("alertmanager", buf, n, cap, &vec, &why, err, sizeof(err)),
	    -E2BIG);
	assert_string_equal(why, "too_large");
	assert_non_null(strstr(err, "10000"));
	assert_int_equal(vec.n, 0);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_failed),
		cmocka_unit_test(test_backup_recovered),
		cmocka_unit_test(test_tail_line_round_trip),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_find_normalizer),
		cmocka_unit_test(test_message_samples),
		cmocka_unit_test(test_message_errors),
		cmocka_unit_test(test_message_too_many_alerts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
