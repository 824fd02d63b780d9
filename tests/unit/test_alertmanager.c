/* test_alertmanager.c - Alertmanager normalization of every sample in
 * tests/samples/alertmanager/ (fields asserted, not just success), status and time
 * fallbacks, the fingerprint fallback, large bodies and the error messages. */
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

static json_t *
load_sample(const char *name)
{
	const char *dir = getenv("SAMPLES_DIR");
	char path[1024];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), "%s/alertmanager/%s", dir ? dir : "tests/samples", name);
	j = json_load_file(path, 0, &e);
	if (j == NULL)
		fail_msg("cannot load %s: %s", path, e.text);
	return j;
}

/* Normalize body into vec; returns the rc and the message in err. */
static int
normalize(const json_t *body, struct ievent_vec *vec, char *err, size_t errlen)
{
	struct source_input in = { .body = body, .received_at = RECEIVED };

	err[0] = '\0';
	return alertmanager_normalize(&in, vec, err, errlen);
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

static int64_t
ts(const char *s)
{
	int64_t t = 0;

	assert_int_equal(util_parse_time(s, &t), 0);
	return t;
}

/* Expected fallback fingerprint, written out independently of the implementation. */
static void
expect_fp(const struct ievent *ev, const char *sorted_kv)
{
	char hex[65];

	util_sha256_hex(sorted_kv, strlen(sorted_kv), hex);
	assert_string_equal(ev->fingerprint, hex);
}

/* The payload: the body's context without alerts[], plus this alert. */
static void
check_payload(const struct ievent *ev, const json_t *body, size_t idx)
{
	const json_t *alerts = json_object_get(body, "alerts");
	const char *k;
	json_t *v;

	assert_non_null(ev->payload);
	assert_ptr_equal(json_object_get(ev->payload, "alert"), json_array_get(alerts, idx));
	assert_null(json_object_get(ev->payload, "alerts"));
	json_object_foreach((json_t *)body, k, v) {
		if (strcmp(k, "alerts") != 0)
			assert_ptr_equal(json_object_get(ev->payload, k), v);
	}
	assert_int_equal(json_object_size(ev->payload), json_object_size(body));
}

static void
check_k8s_common(const struct ievent *ev, const char *pod)
{
	assert_string_equal(ev->source, "alertmanager");
	assert_string_equal(ev->severity, "warning");
	assert_null(ev->cluster);
	assert_string_equal(ev->namespace, "payments");
	assert_string_equal(ev->app, pod);
	assert_string_equal(ev->summary, "Pod is crash looping.");
	assert_non_null(strstr(ev->message, "is in waiting state (reason: \"CrashLoopBackOff\")"));
	assert_non_null(strstr(ev->message, pod));
	assert_null(ev->revision);
	assert_null(ev->repo_url);
	assert_int_equal(ev->n_resources, 0);
	assert_int_equal(ev->received_at, RECEIVED);
	assert_int_equal(json_object_size(ev->labels), 10);
	assert_string_equal(label(ev, "alertname"), "KubePodCrashLooping");
	assert_string_equal(label(ev, "pod"), pod);
	assert_string_equal(label(ev, "container"), "checkout");
	assert_string_equal(label(ev, "job"), "kube-state-metrics");
	assert_int_equal(json_object_size(ev->annotations), 4);
	assert_string_equal(annotation(ev, "runbook_url"),
	    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping");
	assert_string_equal(annotation(ev, "summary"), "Pod is crash looping.");
	/* \u0026 in the body is a plain '&' */
	assert_non_null(strstr(annotation(ev, "generatorURL"), "%3E%3D+1&g0.tab=1"));
	/* the receiver, group key and external URL stay out of labels and annotations */
	assert_null(label(ev, "receiver"));
	assert_null(annotation(ev, "externalURL"));
}

static void
test_k8s_firing(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("k8s_KubePodCrashLooping_firing_2alerts.json");
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(vec.v[i]->type, "alert.firing");
		assert_string_equal(vec.v[i]->status, "firing");
		check_payload(vec.v[i], body, i);
	}
	check_k8s_common(vec.v[0], "checkout-api-7d9f8b6c5d-q8w2z");
	check_k8s_common(vec.v[1], "checkout-api-7d9f8b6c5d-xk2mn");
	assert_string_equal(vec.v[0]->fingerprint, "ffdb340c659e5983");
	assert_string_equal(vec.v[1]->fingerprint, "908b990298dfafc3");
	assert_int_equal(vec.v[0]->occurred_at, ts("2026-11-25T00:41:01.286Z"));
	assert_int_equal(vec.v[1]->occurred_at, ts("2026-11-25T00:40:31.286Z"));
	assert_string_not_equal(vec.v[0]->id, vec.v[1]->id);
	assert_string_equal(json_string_value(json_object_get(vec.v[0]->payload, "groupKey")),
	    "{}:{alertname=\"KubePodCrashLooping\", namespace=\"payments\"}");
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_k8s_resolved(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("k8s_KubePodCrashLooping_resolved.json");
	json_t *firing = load_sample("k8s_KubePodCrashLooping_firing_2alerts.json");
	struct ievent_vec fvec = { 0 };
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(vec.v[i]->type, "alert.resolved");
		assert_string_equal(vec.v[i]->status, "resolved");
		/* a resolved alert happened when it ended */
		assert_int_equal(vec.v[i]->occurred_at, ts("2026-11-25T00:56:42.695Z"));
		check_payload(vec.v[i], body, i);
	}
	check_k8s_common(vec.v[0], "checkout-api-7d9f8b6c5d-q8w2z");
	check_k8s_common(vec.v[1], "checkout-api-7d9f8b6c5d-xk2mn");
	/* the same identities as when they fired */
	assert_int_equal(normalize(firing, &fvec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[0]->fingerprint, fvec.v[0]->fingerprint);
	assert_string_equal(vec.v[1]->fingerprint, fvec.v[1]->fingerprint);
	ievent_vec_clear(&vec);
	ievent_vec_clear(&fvec);
	json_decref(body);
	json_decref(firing);
}

static void
test_dingtalk_v3(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("dingtalk__PlaygroundDemoAlert_v3.json");
	struct ievent *a, *b;
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 2);
	a = vec.v[0];
	b = vec.v[1];
	assert_string_equal(a->type, "alert.firing");
	assert_string_equal(a->status, "firing");
	assert_string_equal(a->severity, "warning");
	assert_null(a->cluster);
	assert_null(a->namespace);
	assert_string_equal(a->app, "prometheus_bot");     /* the service label */
	/* the alert's summary wins over commonAnnotations */
	assert_string_equal(a->summary, "Oops, something happened!");
	assert_string_equal(a->message, "Oops, something happened!");
	assert_string_equal(b->summary, "Oops, something happend!");
	assert_int_equal(a->occurred_at, ts("2016-04-27T20:46:37.903Z"));
	assert_int_equal(b->occurred_at, ts("2016-04-27T20:49:37.903Z"));
	assert_int_equal(json_object_size(a->labels), 7);
	assert_string_equal(label(a, "env"), "prod");
	assert_string_equal(label(b, "env"), "staging");
	assert_string_equal(label(a, "supervisor"), "runit");
	assert_int_equal(json_object_size(a->annotations), 2);
	assert_string_equal(annotation(a, "generatorURL"), "https://example.com/graph#...");
	/* no fingerprint in version 3: SHA-256 of the sorted label set */
	expect_fp(a, "alertname=something_happened\nenv=prod\ninstance=server01.int:9100\n"
	    "job=node\nservice=prometheus_bot\nseverity=warning\nsupervisor=runit\n");
	expect_fp(b, "alertname=something_happened\nenv=staging\ninstance=server02.int:9100\n"
	    "job=node\nservice=prometheus_bot\nseverity=warning\nsupervisor=runit\n");
	assert_int_equal(strlen(a->fingerprint), 64);
	check_payload(a, body, 0);
	check_payload(b, body, 1);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_prom2teams_all_ok(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("prom2teams__all_ok.json");
	struct ievent *ev;
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	assert_string_equal(ev->type, "alert.resolved");
	assert_string_equal(ev->status, "resolved");
	assert_string_equal(ev->severity, "severe");
	assert_string_equal(ev->app, "DiskSpace");          /* no workload label: alertname */
	assert_null(ev->namespace);
	assert_null(ev->cluster);
	assert_string_equal(ev->summary, "Disk usage alert on CS30.evilcorp");
	assert_string_equal(ev->message, "disk usage 93% on rootfs device");
	assert_int_equal(ev->occurred_at, ts("2017-05-09T07:08:37.818Z"));
	assert_string_equal(ev->fingerprint, "dd19ae3d4e06ac55");
	assert_int_equal(json_object_size(ev->labels), 6);
	assert_string_equal(label(ev, "mountpoint"), "/");
	assert_string_equal(annotation(ev, "generatorURL"), "my.prometheusserver.url");
	check_payload(ev, body, 0);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_prom2teams_all_ok_multiple(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("prom2teams__all_ok_multiple.json");
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 2);
	assert_string_equal(vec.v[0]->status, "resolved");
	assert_string_equal(vec.v[1]->status, "resolved");
	assert_string_equal(vec.v[0]->severity, "severe");
	assert_string_equal(vec.v[1]->severity, "critical");
	assert_string_equal(vec.v[0]->summary, "Disk usage alert on CS30.evilcorp");
	assert_string_equal(vec.v[1]->summary, "Disk usage alert on CS31.evilcorp");
	assert_string_equal(vec.v[1]->message, "disk usage 94% on rootfs device");
	assert_string_equal(label(vec.v[1], "instance"), "cs31.evilcorp");
	/* ".818Z" and ".81827Z": the same millisecond */
	assert_int_equal(vec.v[0]->occurred_at, ts("2017-05-09T07:08:37.818Z"));
	assert_int_equal(vec.v[1]->occurred_at, ts("2017-05-09T07:08:37.818Z"));
	/* the fixture gives both the same fingerprint; the sender's value is kept as is */
	assert_string_equal(vec.v[0]->fingerprint, "dd19ae3d4e06ac55");
	assert_string_equal(vec.v[1]->fingerprint, "dd19ae3d4e06ac55");
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_prom2teams_with_common_items(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("prom2teams__with_common_items.json");
	struct ievent *ev;
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	assert_string_equal(ev->type, "alert.resolved");
	assert_string_equal(ev->severity, "warning");
	assert_string_equal(ev->namespace, "monitoring");
	assert_string_equal(ev->app, "alertmanager-ot-mon-prometheus-operator-alertmanager-0");
	assert_string_equal(ev->summary, "CPU throttling");
	/* no description: the message annotation */
	assert_string_equal(ev->message, "27% throttling of CPU in namespace monitoring for "
	    "container config-reloader in pod alertmanager-ot-mon-prometheus-operator-"
	    "alertmanager-0.");
	assert_int_equal(ev->occurred_at, ts("2019-01-28T20:27:23.868893Z"));
	assert_string_equal(ev->fingerprint, "dd19ae3d4e06ac55");
	assert_int_equal(json_object_size(ev->labels), 6);
	assert_string_equal(label(ev, "container_name"), "config-reloader");
	assert_int_equal(json_object_size(ev->annotations), 4);
	assert_non_null(strstr(annotation(ev, "generatorURL"), "&g0.tab=1"));
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_prom2teams_without_fingerprint(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("prom2teams__without_fingerprint.json");
	struct ievent *ev;
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	assert_string_equal(ev->type, "alert.resolved");
	assert_string_equal(ev->app, "DiskSpace");
	assert_string_equal(ev->summary, "Disk usage alert on CS30.evilcorp");
	assert_int_equal(ev->occurred_at, ts("2017-05-09T07:08:37.818Z"));
	expect_fp(ev, "alertname=DiskSpace\ndevice=rootfs\nfstype=rootfs\n"
	    "instance=cs30.evilcorp\nmountpoint=/\nseverity=severe\n");
	ievent_vec_clear(&vec);
	json_decref(body);
}

/* No status anywhere, no alertname label, no summary annotation: still one event. */
static void
test_prom2teams_without_mandatory_field(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("prom2teams__without_mandatory_field.json");
	struct ievent *ev;
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	assert_string_equal(ev->type, "alert.firing");
	assert_string_equal(ev->status, "firing");
	assert_int_equal(ev->occurred_at, ts("2017-05-09T07:01:37.803Z"));
	assert_string_equal(ev->summary, "disk usage 73% on rootfs device");
	assert_string_equal(ev->message, "disk usage 73% on rootfs device");
	assert_null(ev->app);               /* `job` is the scrape job, never the app */
	assert_string_equal(ev->severity, "severe");
	assert_string_equal(ev->fingerprint, "dd19ae3d4e06ac55");
	assert_null(label(ev, "alertname"));
	assert_string_equal(label(ev, "job"), "fsociety");
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_prometheus_msteams(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("prometheus-msteams__prom_post_request.json");
	struct ievent *ev;
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	/* the alert has no status: the top-level one */
	assert_string_equal(ev->type, "alert.firing");
	assert_string_equal(ev->status, "firing");
	/* -05:00 with nanoseconds */
	assert_int_equal(ev->occurred_at, ts("2018-03-07T11:33:21.873Z"));
	assert_string_equal(ev->app, "high_memory_load");
	assert_string_equal(ev->severity, "warning");
	assert_string_equal(ev->summary, "Server High Memory usage");
	assert_string_equal(ev->message, "10.80.40.11 reported high memory usage with 23.28%.");
	assert_int_equal(json_object_size(ev->labels), 5);
	assert_string_equal(label(ev, "instance"), "instance-with-hyphen_and_underscore");
	/* commonAnnotations merged in under the alert's own */
	assert_int_equal(json_object_size(ev->annotations), 3);
	assert_string_equal(annotation(ev, "runbook"), "https://github.com/bzon/prometheus-msteams");
	assert_string_equal(annotation(ev, "summary"), "Server High Memory usage");
	assert_null(annotation(ev, "generatorURL"));
	expect_fp(ev, "alertname=high_memory_load\ninstance=instance-with-hyphen_and_underscore\n"
	    "job=docker_nodes\nmonitor=master\nseverity=warning\n");
	check_payload(ev, body, 0);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_api_v2_array_rejected(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("alerts_posted_to_api_v2.json");
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "expected an Alertmanager webhook body (an object with "
	    "alerts[]), not an array: this looks like an Alertmanager API payload (the alerts "
	    "POSTed to /api/v2/alerts), not a webhook body");
	assert_int_equal(vec.n, 0);
	/* wrapped as a webhook body, the same alerts are accepted */
	json_t *wrapped = json_pack("{s:s, s:O}", "version", "4", "alerts", body);
	assert_int_equal(normalize(wrapped, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 4);
	assert_string_equal(vec.v[2]->app, "checkout-api");           /* deployment label */
	assert_string_equal(vec.v[3]->app, "checkout-api-7d9f8b6c5d-xk2mn");
	assert_int_equal(vec.v[3]->occurred_at, ts("2026-11-25T00:41:30.286Z"));
	ievent_vec_clear(&vec);
	json_decref(wrapped);
	json_decref(body);
}

/* A version 4 body stripped down to version 3 (no fingerprint, no groupKey) still works. */
static void
test_version3_shape(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("k8s_KubePodCrashLooping_firing_2alerts.json");
	json_t *alerts = json_object_get(body, "alerts");
	char err[512];

	(void)state;
	json_object_set_new(body, "version", json_string("3"));
	json_object_del(body, "groupKey");
	json_object_del(body, "truncatedAlerts");
	json_object_del(json_array_get(alerts, 0), "fingerprint");
	json_object_del(json_array_get(alerts, 1), "fingerprint");
	json_object_set_new(body, "someFutureField", json_pack("{s:i}", "x", 1));
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 2);
	check_k8s_common(vec.v[0], "checkout-api-7d9f8b6c5d-q8w2z");
	assert_int_equal(strlen(vec.v[0]->fingerprint), 64);
	assert_string_not_equal(vec.v[0]->fingerprint, vec.v[1]->fingerprint);
	assert_non_null(json_object_get(vec.v[0]->payload, "someFutureField"));
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_fingerprint_fallback_stable(void **state)
{
	struct ievent_vec vec = { 0 };
	char err[512];
	json_t *a, *b, *c, *d;

	(void)state;
	a = json_pack("{s:[{s:{s:s, s:s, s:s}}]}", "alerts", "labels",
	    "alertname", "X", "namespace", "n", "pod", "p");
	b = json_pack("{s:[{s:{s:s, s:s, s:s}}]}", "alerts", "labels",
	    "pod", "p", "alertname", "X", "namespace", "n");
	/* the same labels, some of them given only as commonLabels */
	c = json_pack("{s:{s:s}, s:[{s:{s:s, s:s}}]}", "commonLabels", "namespace", "n",
	    "alerts", "labels", "pod", "p", "alertname", "X");
	d = json_pack("{s:[{s:{s:s, s:s, s:s}}]}", "alerts", "labels",
	    "alertname", "X", "namespace", "n", "pod", "q");
	assert_int_equal(normalize(a, &vec, err, sizeof(err)), 0);
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_int_equal(normalize(c, &vec, err, sizeof(err)), 0);
	assert_int_equal(normalize(d, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 4);
	expect_fp(vec.v[0], "alertname=X\nnamespace=n\npod=p\n");
	assert_string_equal(vec.v[0]->fingerprint, vec.v[1]->fingerprint);
	assert_string_equal(vec.v[0]->fingerprint, vec.v[2]->fingerprint);
	assert_string_not_equal(vec.v[0]->fingerprint, vec.v[3]->fingerprint);
	/* the same labels in another request: the same value (no per-run salt) */
	ievent_vec_clear(&vec);
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	expect_fp(vec.v[0], "alertname=X\nnamespace=n\npod=p\n");
	ievent_vec_clear(&vec);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
}

static void
test_status_and_time_fallbacks(void **state)
{
	struct ievent_vec vec = { 0 };
	char err[512];
	json_t *b;

	(void)state;
	/* no alert status: the top-level "resolved"; the time is endsAt */
	b = json_pack("{s:s, s:[{s:{s:s}, s:s, s:s}]}", "status", "resolved", "alerts",
	    "labels", "alertname", "A", "startsAt", "2026-01-01T00:00:00Z",
	    "endsAt", "2026-01-01T01:00:00+01:00");
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[0]->status, "resolved");
	assert_string_equal(vec.v[0]->type, "alert.resolved");
	assert_int_equal(vec.v[0]->occurred_at, ts("2026-01-01T00:00:00Z"));
	json_decref(b);

	/* the alert's status wins over the top-level one, in any case */
	b = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s}]}", "status", "resolved", "alerts",
	    "status", "FIRING", "labels", "alertname", "A", "startsAt", "2026-01-01T00:00:00Z");
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[1]->status, "firing");
	assert_string_equal(vec.v[1]->type, "alert.firing");
	assert_int_equal(vec.v[1]->occurred_at, ts("2026-01-01T00:00:00Z"));
	json_decref(b);

	/* no status anywhere: firing; a zero startsAt is unset, so the receive time */
	b = json_pack("{s:[{s:{s:s}, s:s, s:s}]}", "alerts", "labels", "alertname", "A",
	    "startsAt", "0001-01-01T00:00:00Z", "endsAt", "0001-01-01T00:00:00Z");
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[2]->status, "firing");
	assert_int_equal(vec.v[2]->occurred_at, RECEIVED);
	json_decref(b);

	/* resolved with an unset endsAt: the receive time, not startsAt */
	b = json_pack("{s:[{s:s, s:{s:s}, s:s, s:s}]}", "alerts", "status", "resolved",
	    "labels", "alertname", "A", "startsAt", "2026-01-01T00:00:00Z",
	    "endsAt", "0001-01-01T00:00:00Z");
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[3]->status, "resolved");
	assert_int_equal(vec.v[3]->occurred_at, RECEIVED);
	json_decref(b);
	ievent_vec_clear(&vec);
}

static void
test_field_choices(void **state)
{
	struct ievent_vec vec = { 0 };
	char err[512];
	json_t *b;

	(void)state;
	/* alert labels and annotations win over the common ones; severity lowercased;
	 * cluster from k8s_cluster; app label first; multi-line summary cut to its first line;
	 * the alert's own generatorURL annotation is kept */
	b = json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:[{s:{s:s, s:s, s:s, s:s}, "
	    "s:{s:s, s:s, s:s}, s:s}]}",
	    "commonLabels", "severity", "warning", "team", "core", "app", "common-app",
	    "commonAnnotations", "summary", "common summary", "runbook_url", "rb",
	    "alerts",
	    "labels", "severity", "CRITICAL", "k8s_cluster", "aks-1", "app", "web",
	    "deployment", "web-deploy",
	    "annotations", "summary", "first line\nsecond line", "message", "msg",
	    "generatorURL", "mine",
	    "generatorURL", "http://prom/graph");
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[0]->severity, "critical");
	assert_string_equal(label(vec.v[0], "severity"), "CRITICAL");
	assert_string_equal(label(vec.v[0], "team"), "core");
	assert_string_equal(vec.v[0]->cluster, "aks-1");
	assert_string_equal(vec.v[0]->app, "web");
	assert_string_equal(vec.v[0]->summary, "first line");
	assert_string_equal(vec.v[0]->message, "msg");           /* message before summary */
	assert_string_equal(annotation(vec.v[0], "runbook_url"), "rb");
	assert_string_equal(annotation(vec.v[0], "generatorURL"), "mine");
	json_decref(b);

	/* cluster wins over k8s_cluster; deployment before pod; summary from alertname;
	 * message from summary-less annotations is NULL */
	b = json_pack("{s:[{s:{s:s, s:s, s:s, s:s, s:s}}]}", "alerts", "labels",
	    "cluster", "prod-west-aks", "k8s_cluster", "other", "deployment", "api",
	    "pod", "api-1", "alertname", "KubeDeploymentReplicasMismatch");
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[1]->cluster, "prod-west-aks");
	assert_string_equal(vec.v[1]->app, "api");
	assert_string_equal(vec.v[1]->summary, "KubeDeploymentReplicasMismatch");
	assert_null(vec.v[1]->message);
	assert_null(vec.v[1]->severity);
	assert_int_equal(json_object_size(vec.v[1]->annotations), 0);
	json_decref(b);

	/* nothing to name it by */
	b = json_pack("{s:[{s:{s:s}}]}", "alerts", "labels", "job", "node");
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[2]->summary, "Alertmanager alert");
	assert_null(vec.v[2]->app);
	json_decref(b);

	/* non-string label values are skipped, not fatal */
	b = json_pack("{s:[{s:{s:s, s:i}}]}", "alerts", "labels", "alertname", "A", "n", 3);
	assert_int_equal(normalize(b, &vec, err, sizeof(err)), 0);
	assert_int_equal(json_object_size(vec.v[3]->labels), 1);
	expect_fp(vec.v[3], "alertname=A\n");
	json_decref(b);
	ievent_vec_clear(&vec);
}

/* Each payload refers to its own alert and outlives the request body. */
static void
test_payload_outlives_body(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("k8s_KubePodCrashLooping_firing_2alerts.json");
	char err[512];
	json_t *j;

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	json_decref(body);
	assert_string_equal(json_string_value(json_object_get(json_object_get(vec.v[1]->payload,
	    "alert"), "fingerprint")), "908b990298dfafc3");
	assert_string_equal(json_string_value(json_object_get(vec.v[0]->payload, "receiver")),
	    "k8s-webhook");
	j = ievent_to_json(vec.v[0], true);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "alert.firing");
	assert_string_equal(json_string_value(json_object_get(j, "fingerprint")),
	    "ffdb340c659e5983");
	json_decref(j);
	ievent_vec_clear(&vec);
}

static json_t *
many_alerts(size_t n)
{
	json_t *alerts = json_array(), *body;
	char pod[64];

	for (size_t i = 0; i < n; i++) {
		snprintf(pod, sizeof(pod), "web-%zu", i);
		json_array_append_new(alerts, json_pack("{s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s}, "
		    "s:s, s:s}", "status", "firing", "labels", "alertname", "KubePodNotReady",
		    "namespace", "shop", "pod", pod, "severity", "warning", "annotations",
		    "summary", "Pod is not ready.", "startsAt", "2026-11-25T00:41:30.286Z",
		    "endsAt", "0001-01-01T00:00:00Z"));
	}
	body = json_pack("{s:s, s:s, s:s, s:{s:s}, s:o}", "version", "4", "status", "firing",
	    "receiver", "r", "commonLabels", "alertname", "KubePodNotReady", "alerts", alerts);
	return body;
}

static int
cmp_fp(const void *a, const void *b)
{
	return strcmp((*(struct ievent *const *)a)->fingerprint,
	    (*(struct ievent *const *)b)->fingerprint);
}

static void
test_five_thousand_alerts(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = many_alerts(5000);
	struct ievent **sorted;
	char err[512], *text;

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 5000);
	assert_string_equal(vec.v[4999]->app, "web-4999");
	assert_string_equal(vec.v[4999]->status, "firing");
	/* each payload carries one alert, not the whole body (no N x body in the ledger) */
	text = json_dumps(vec.v[4999]->payload, JSON_COMPACT);
	assert_true(strlen(text) < 600);
	free(text);
	/* distinct fingerprints */
	sorted = malloc(vec.n * sizeof(*sorted));
	assert_non_null(sorted);
	memcpy(sorted, vec.v, vec.n * sizeof(*sorted));
	qsort(sorted, vec.n, sizeof(*sorted), cmp_fp);
	for (size_t i = 1; i < vec.n; i++)
		assert_string_not_equal(sorted[i - 1]->fingerprint, sorted[i]->fingerprint);
	free(sorted);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_alert_cap(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = many_alerts(ALERTMANAGER_MAX_ALERTS + 1);
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "too many alerts (10001 > 10000)");
	assert_int_equal(vec.n, 0);
	/* exactly at the cap is accepted */
	json_array_remove(json_object_get(body, "alerts"), 0);
	assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, ALERTMANAGER_MAX_ALERTS);
	ievent_vec_clear(&vec);
	json_decref(body);
}

/* body (stolen) is rejected with exactly msg, and vec keeps only what it had. */
static void
expect_error(struct ievent_vec *vec, json_t *body, const char *msg)
{
	size_t before = vec->n;
	char err[512];

	assert_non_null(body);
	assert_int_equal(normalize(body, vec, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
	assert_int_equal(vec->n, before);
	json_decref(body);
}

static void
test_errors(void **state)
{
	struct ievent_vec vec = { 0 };
	char err[512];
	json_t *ok = json_pack("{s:[{s:{s:s}}]}", "alerts", "labels", "alertname", "A");

	(void)state;
	/* one event already in the vector: errors must leave it alone */
	assert_int_equal(normalize(ok, &vec, err, sizeof(err)), 0);
	json_decref(ok);
	assert_int_equal(vec.n, 1);

	expect_error(&vec, json_string("x"),
	    "expected a JSON object (an Alertmanager webhook body, payload version 4)");
	expect_error(&vec, json_pack("[i]", 1),
	    "expected a JSON object (an Alertmanager webhook body, payload version 4), not an "
	    "array");
	expect_error(&vec, json_pack("{s:s}", "receiver", "r"),
	    "missing required field(s): alerts");
	expect_error(&vec, json_pack("{s:{s:s}}", "labels", "alertname", "A"),
	    "missing required field(s): alerts (this looks like a single alert, not an "
	    "Alertmanager webhook body)");
	expect_error(&vec, json_pack("{s:n}", "alerts"), "missing required field(s): alerts");
	expect_error(&vec, json_pack("{s:{}}", "alerts"), "alerts: expected an array");
	expect_error(&vec, json_pack("{s:[]}", "alerts"), "no alerts");
	/* the index of the bad alert, after good ones (which are not kept) */
	expect_error(&vec, json_pack("{s:[{s:{}}, {s:{}}, {s:{s:s}}]}", "alerts", "labels",
	    "labels", "annotations", "summary", "x"),
	    "alerts[2]: missing required field(s): labels");
	expect_error(&vec, json_pack("{s:[{s:{}}, i]}", "alerts", "labels", 7),
	    "alerts[1]: expected an object");
	expect_error(&vec, json_pack("{s:[{s:n}]}", "alerts", "labels"),
	    "alerts[0]: missing required field(s): labels");
	expect_error(&vec, json_pack("{s:[{s:s}]}", "alerts", "labels", "a=b"),
	    "alerts[0].labels: expected an object");
	expect_error(&vec, json_pack("{s:[{s:{}, s:[]}]}", "alerts", "labels", "annotations"),
	    "alerts[0].annotations: expected an object");
	expect_error(&vec, json_pack("{s:[{s:{}, s:s}]}", "alerts", "labels", "status",
	    "pending"), "alerts[0].status: expected \"firing\" or \"resolved\", not 'pending'");
	expect_error(&vec, json_pack("{s:[{s:{}, s:i}]}", "alerts", "labels", "status", 1),
	    "alerts[0].status: expected a string");
	expect_error(&vec, json_pack("{s:[{s:{}, s:i}]}", "alerts", "labels", "fingerprint", 1),
	    "alerts[0].fingerprint: expected a string");
	expect_error(&vec, json_pack("{s:[{s:{}, s:b}]}", "alerts", "labels", "generatorURL",
	    1), "alerts[0].generatorURL: expected a string");
	expect_error(&vec, json_pack("{s:[{s:{}}, {s:{}, s:s}]}", "alerts", "labels", "labels",
	    "startsAt", "yesterday"), "alerts[1].startsAt: 'yesterday' is not an RFC 3339 time");
	expect_error(&vec, json_pack("{s:[{s:{}, s:i}]}", "alerts", "labels", "endsAt", 0),
	    "alerts[0].endsAt: expected a string");
	expect_error(&vec, json_pack("{s:s, s:[{s:{}}]}", "status", "bogus", "alerts",
	    "labels"), "status: expected \"firing\" or \"resolved\", not 'bogus'");
	expect_error(&vec, json_pack("{s:[], s:[{s:{}}]}", "commonLabels", "alerts", "labels"),
	    "commonLabels: expected an object");
	expect_error(&vec, json_pack("{s:s, s:[{s:{}}]}", "commonAnnotations", "x", "alerts",
	    "labels"), "commonAnnotations: expected an object");
	assert_int_equal(vec.n, 1);
	assert_string_equal(vec.v[0]->summary, "A");
	ievent_vec_clear(&vec);
}

/* Alerts as kube-prometheus rules fire them (samples/kube): for every rule, a webhook body
 * with the labels Prometheus adds (alertname, severity, namespace, pod, container, cluster)
 * and the rule's annotations normalizes to the rule's severity, summary, description and
 * runbook, with the pod as the app. */
static void
test_kube_prometheus_rules(void **state)
{
	const char *dir = getenv("SAMPLES_DIR");
	char path[1024], err[256];
	json_t *rules, *r;
	json_error_t e;
	size_t i, tested = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/kube/kube-prometheus_selected_rules.json",
	    dir ? dir : "tests/samples");
	rules = json_load_file(path, 0, &e);
	if (rules == NULL)
		fail_msg("cannot load %s: %s", path, e.text);
	json_array_foreach(json_object_get(rules, "rules"), i, r) {
		const char *sev = json_string_value(json_object_get(json_object_get(r, "labels"),
		    "severity"));
		const json_t *ann = json_object_get(r, "annotations");
		struct ievent_vec vec = { 0 };
		struct ievent *ev;
		json_t *body = json_pack("{s:s, s:s, s:s, s:[{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s},"
		    " s:O, s:s, s:s, s:s}]}", "version", "4", "status", "firing", "receiver",
		    "incidentd", "alerts", "status", "firing", "labels", "alertname",
		    json_string_value(json_object_get(r, "alert")), "severity", sev ? sev : "none",
		    "namespace", "payments", "pod", "checkout-api-7d9f8b6c5d-q8w2z", "container",
		    "api", "cluster", "prod-west-aks", "annotations", ann, "startsAt",
		    "2026-02-10T03:01:12Z", "endsAt", "0001-01-01T00:00:00Z", "generatorURL",
		    "http://prometheus:9090/graph");

		assert_non_null(body);
		assert_int_equal(normalize(body, &vec, err, sizeof(err)), 0);
		assert_int_equal(vec.n, 1);
		ev = vec.v[0];
		assert_string_equal(ev->status, "firing");
		assert_string_equal(ev->type, "alert.firing");
		assert_string_equal(ev->cluster, "prod-west-aks");
		assert_string_equal(ev->namespace, "payments");
		assert_string_equal(ev->app, "checkout-api-7d9f8b6c5d-q8w2z");
		if (sev != NULL)
			assert_string_equal(ev->severity, sev);
		if (json_object_get(ann, "summary") != NULL)
			assert_string_equal(ev->summary, json_string_value(json_object_get(ann,
			    "summary")));
		if (json_object_get(ann, "description") != NULL)
			assert_string_equal(ev->message, json_string_value(json_object_get(ann,
			    "description")));
		assert_string_equal(annotation(ev, "runbook_url"),
		    json_string_value(json_object_get(ann, "runbook_url")));
		assert_string_equal(label(ev, "alertname"),
		    json_string_value(json_object_get(r, "alert")));
		assert_int_equal(strlen(ev->fingerprint), 64);   /* no fingerprint: label hash */
		assert_int_equal(ev->occurred_at, ts("2026-02-10T03:01:12Z"));
		ievent_vec_clear(&vec);
		json_decref(body);
		tested++;
	}
	assert_true(tested >= 5);
	json_decref(rules);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_k8s_firing),
		cmocka_unit_test(test_k8s_resolved),
		cmocka_unit_test(test_dingtalk_v3),
		cmocka_unit_test(test_prom2teams_all_ok),
		cmocka_unit_test(test_prom2teams_all_ok_multiple),
		cmocka_unit_test(test_prom2teams_with_common_items),
		cmocka_unit_test(test_prom2teams_without_fingerprint),
		cmocka_unit_test(test_prom2teams_without_mandatory_field),
		cmocka_unit_test(test_prometheus_msteams),
		cmocka_unit_test(test_api_v2_array_rejected),
		cmocka_unit_test(test_version3_shape),
		cmocka_unit_test(test_fingerprint_fallback_stable),
		cmocka_unit_test(test_status_and_time_fallbacks),
		cmocka_unit_test(test_field_choices),
		cmocka_unit_test(test_payload_outlives_body),
		cmocka_unit_test(test_five_thousand_alerts),
		cmocka_unit_test(test_alert_cap),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_kube_prometheus_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
