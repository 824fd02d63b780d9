/* test_cloudevents.c - CloudEvents 1.0 normalization: every sample in
 * tests/samples/cloudevents/ (fields asserted), structured, binary and batch mode, the
 * mapping rules, missing attributes and a wrong specversion. */
#include <sys/queue.h>
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
#include <event2/http.h>

#include "source.h"

#define RECEIVED 1770000000000

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

	snprintf(path, sizeof(path), "%s/cloudevents/%s", samples_dir(), name);
	j = json_load_file(path, 0, &e);
	if (j == NULL)
		fail_msg("cannot load %s: %s", path, e.text);
	return j;
}

enum mode { STRUCTURED, BINARY, BATCH };

static int
normalize(json_t *body, const struct evkeyvalq *hdrs, enum mode m, struct ievent_vec *vec,
    char *err, size_t errlen)
{
	struct source_input in = { .body = body, .received_at = RECEIVED, .headers = hdrs,
		.ce_binary = m == BINARY, .ce_batch = m == BATCH };

	err[0] = '\0';
	return cloudevents_normalize(&in, vec, err, errlen);
}

static const char *
label(const struct ievent *ev, const char *k)
{
	return json_string_value(json_object_get(ev->labels, k));
}

static void
assert_time(int64_t got, const char *rfc3339)
{
	int64_t t;

	assert_int_equal(util_parse_time(rfc3339, &t), 0);
	assert_int_equal(got, t);
}

static void
headers_init(struct evkeyvalq *h)
{
	TAILQ_INIT(h);
}

static void
test_sample_structured_failed(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("seed-structured-deploy-failed.json");
	struct ievent *ev;
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, NULL, STRUCTURED, &vec, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	assert_string_equal(ev->source, "cloudevents");
	assert_string_equal(ev->type, "com.example.deploy.failed");
	assert_string_equal(ev->status, "firing");
	assert_string_equal(ev->severity, "critical");
	assert_string_equal(ev->cluster, "prod-west-aks");
	assert_string_equal(ev->namespace, "shop");
	assert_string_equal(ev->app, "checkout");
	assert_null(ev->revision);
	assert_string_equal(ev->summary, "checkout rollout failed in prod-west-aks/shop");
	assert_string_equal(ev->message,
	    "Deployment checkout: 0/3 replicas available after 600s (ImagePullBackOff)");
	assert_string_equal(ev->fingerprint,
	    "https://ci.example.com/pipelines/checkout/checkout/prod-west");
	assert_time(ev->occurred_at, "2026-02-10T03:01:12.250Z");
	assert_int_equal(ev->received_at, RECEIVED);
	assert_string_equal(label(ev, "ce_type"), "com.example.deploy.failed");
	assert_string_equal(label(ev, "ce_source"), "https://ci.example.com/pipelines/checkout");
	assert_string_equal(label(ev, "ce_subject"), "checkout/prod-west");
	assert_string_equal(label(ev, "team"), "payments");
	assert_null(label(ev, "priority"));       /* a number extension: not a label */
	assert_int_equal(json_object_size(ev->labels), 4);
	assert_int_equal(json_object_size(ev->annotations), 0);
	assert_ptr_equal(ev->payload, body);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_sample_structured_recovered(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("seed-structured-deploy-recovered.json");
	struct ievent *ev;
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, NULL, STRUCTURED, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	assert_string_equal(ev->type, "com.example.deploy.recovered");
	assert_string_equal(ev->status, "resolved");
	assert_null(ev->severity);
	/* from extension attributes */
	assert_string_equal(ev->cluster, "prod-west-aks");
	assert_string_equal(ev->namespace, "shop");
	assert_string_equal(ev->app, "checkout");
	assert_string_equal(ev->summary, "checkout is available again");
	assert_string_equal(ev->message, "3/3 replicas available");
	/* same identity as the failure it recovers from */
	assert_string_equal(ev->fingerprint,
	    "https://ci.example.com/pipelines/checkout/checkout/prod-west");
	assert_time(ev->occurred_at, "2026-02-10T03:20:00Z");
	assert_string_equal(label(ev, "cluster"), "prod-west-aks");
	assert_string_equal(label(ev, "namespace"), "shop");
	assert_string_equal(label(ev, "app"), "checkout");
	assert_string_equal(label(ev, "ce_subject"), "checkout/prod-west");
	assert_int_equal(json_object_size(ev->labels), 6);
	assert_ptr_equal(ev->payload, body);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_sample_batch(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("seed-batch.json");
	struct ievent *ev;
	char err[512];

	(void)state;
	assert_int_equal(normalize(body, NULL, BATCH, &vec, err, sizeof(err)), 0);
	assert_int_equal(vec.n, 2);
	ev = vec.v[0];
	assert_string_equal(ev->type, "com.example.monitor.alert");
	assert_string_equal(ev->status, "firing");
	assert_string_equal(ev->severity, "warning");
	assert_null(ev->cluster);
	assert_null(ev->app);
	assert_string_equal(ev->summary, "node-7");                /* the subject */
	assert_string_equal(ev->message, "/var is 97% full");
	assert_string_equal(ev->fingerprint, "disk-full/node-7");
	assert_time(ev->occurred_at, "2026-02-10T03:00:00Z");
	assert_string_equal(label(ev, "severity"), "warning");
	assert_string_equal(label(ev, "ce_source"), "/monitors/disk");
	assert_ptr_equal(ev->payload, json_array_get(body, 0));

	ev = vec.v[1];
	assert_string_equal(ev->type, "com.example.heartbeat.missed");
	assert_string_equal(ev->status, "firing");
	assert_null(ev->severity);
	assert_string_equal(ev->summary, "com.example.heartbeat.missed");   /* the type */
	assert_null(ev->message);
	assert_string_equal(ev->fingerprint, "/monitors/heartbeat/evt-0002"); /* source/id */
	assert_int_equal(ev->occurred_at, RECEIVED);
	assert_null(label(ev, "ce_subject"));
	assert_int_equal(json_object_size(ev->labels), 2);
	assert_ptr_equal(ev->payload, json_array_get(body, 1));
	assert_string_not_equal(vec.v[0]->id, vec.v[1]->id);
	ievent_vec_clear(&vec);
	json_decref(body);
}

/* Every .json under samples/cloudevents/ is one of the files asserted above. */
static void
test_every_sample_is_asserted(void **state)
{
	static const char *const known[] = {
		"seed-structured-deploy-failed.json",
		"seed-structured-deploy-recovered.json",
		"seed-batch.json",
	};
	char path[1024];
	struct dirent *de;
	size_t seen = 0;
	DIR *d;

	(void)state;
	snprintf(path, sizeof(path), "%s/cloudevents", samples_dir());
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
			fail_msg("sample cloudevents/%s has no assertions", de->d_name);
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, sizeof(known) / sizeof(known[0]));
}

static void
test_binary(void **state)
{
	struct ievent_vec vec = { 0 };
	struct evkeyvalq h;
	json_t *body = json_pack("{s:s, s:s, s:s}", "app", "checkout", "message", "rolled out",
	    "cluster", "from-data");
	json_t *p, *want;
	struct ievent *ev;
	char err[512];

	(void)state;
	headers_init(&h);
	evhttp_add_header(&h, "Content-Type", "application/json");
	evhttp_add_header(&h, "ce-specversion", "1.0");
	evhttp_add_header(&h, "Ce-Id", "42");
	evhttp_add_header(&h, "ce-source", "/ci/checkout");
	evhttp_add_header(&h, "ce-type", "com.example.deploy.succeeded");
	evhttp_add_header(&h, "ce-subject", "checkout");
	evhttp_add_header(&h, "ce-time", "2026-02-10T03:01:12Z");
	evhttp_add_header(&h, "CE-CLUSTER", "from-extension");
	evhttp_add_header(&h, "ce-namespace", "shop");
	evhttp_add_header(&h, "ce-dataschema", "https://example.com/schema");
	evhttp_add_header(&h, "X-Other", "not an attribute");
	evhttp_add_header(&h, "ce-not_an-attribute", "skipped");
	assert_int_equal(normalize(body, &h, BINARY, &vec, err, sizeof(err)), 0);
	evhttp_clear_headers(&h);        /* the event and its payload outlive the headers */
	assert_int_equal(vec.n, 1);
	ev = vec.v[0];
	assert_string_equal(ev->type, "com.example.deploy.succeeded");
	assert_string_equal(ev->status, "resolved");
	assert_string_equal(ev->cluster, "from-data");     /* data beats the extension */
	assert_string_equal(ev->namespace, "shop");
	assert_string_equal(ev->app, "checkout");
	assert_string_equal(ev->summary, "checkout");
	assert_string_equal(ev->message, "rolled out");
	assert_string_equal(ev->fingerprint, "/ci/checkout/checkout");
	assert_time(ev->occurred_at, "2026-02-10T03:01:12Z");
	assert_string_equal(label(ev, "ce_type"), "com.example.deploy.succeeded");
	assert_string_equal(label(ev, "ce_source"), "/ci/checkout");
	assert_string_equal(label(ev, "ce_subject"), "checkout");
	assert_string_equal(label(ev, "cluster"), "from-extension");
	assert_string_equal(label(ev, "namespace"), "shop");
	assert_int_equal(json_object_size(ev->labels), 5);
	/* the payload is the whole CloudEvent in structured form */
	p = ev->payload;
	want = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O}",
	    "specversion", "1.0", "id", "42", "source", "/ci/checkout",
	    "type", "com.example.deploy.succeeded", "subject", "checkout",
	    "time", "2026-02-10T03:01:12Z", "datacontenttype", "application/json",
	    "dataschema", "https://example.com/schema",
	    "cluster", "from-extension", "namespace", "shop", "data", body);
	assert_true(json_equal(p, want));
	json_decref(want);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static void
test_binary_errors(void **state)
{
	struct ievent_vec vec = { 0 };
	struct evkeyvalq h;
	json_t *body = json_pack("{s:s}", "message", "x");
	char err[512];

	(void)state;
	headers_init(&h);
	evhttp_add_header(&h, "ce-specversion", "1.0");
	evhttp_add_header(&h, "ce-source", "/s");
	evhttp_add_header(&h, "ce-type", "");
	assert_int_equal(normalize(body, &h, BINARY, &vec, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "missing required field(s): ce-id, ce-type");
	evhttp_clear_headers(&h);

	evhttp_add_header(&h, "ce-specversion", "0.3");
	evhttp_add_header(&h, "ce-id", "1");
	evhttp_add_header(&h, "ce-source", "/s");
	evhttp_add_header(&h, "ce-type", "t");
	assert_int_equal(normalize(body, &h, BINARY, &vec, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "ce-specversion: '0.3' is not supported (only 1.0)");
	evhttp_clear_headers(&h);

	evhttp_add_header(&h, "ce-specversion", "1.0");
	evhttp_add_header(&h, "ce-id", "1");
	evhttp_add_header(&h, "ce-source", "/s");
	evhttp_add_header(&h, "ce-type", "t");
	evhttp_add_header(&h, "ce-time", "soon");
	assert_int_equal(normalize(body, &h, BINARY, &vec, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "time: 'soon' is not an RFC 3339 time");
	evhttp_clear_headers(&h);

	evhttp_add_header(&h, "ce-specversion", "1.0");
	evhttp_add_header(&h, "ce-id", "1");
	evhttp_add_header(&h, "ce-source", "/s");
	evhttp_add_header(&h, "ce-type", "t");
	evhttp_add_header(&h, "ce-team", "caf\xe9");        /* Latin-1, not UTF-8 */
	assert_int_equal(normalize(body, &h, BINARY, &vec, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "ce-team: header value is not valid UTF-8");
	evhttp_clear_headers(&h);

	assert_int_equal(normalize(body, NULL, BINARY, &vec, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "missing required field(s): ce-specversion, ce-id, ce-source, "
	    "ce-type");
	assert_int_equal(vec.n, 0);
	json_decref(body);
}

/* Binary mode flag, but a structured event posted as plain JSON without ce-* headers:
 * taken as structured. With ce-specversion present the body is the data. */
static void
test_binary_flag_with_structured_body(void **state)
{
	struct ievent_vec vec = { 0 };
	json_t *body = load_sample("seed-structured-deploy-failed.json");
	struct evkeyvalq h;
	char err[512];

	(void)state;
	headers_init(&h);
	evhttp_add_header(&h, "Content-Type", "application/json");
	assert_int_equal(normalize(body, &h, BINARY, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[0]->type, "com.example.deploy.failed");
	assert_ptr_equal(vec.v[0]->payload, body);
	assert_int_equal(normalize(body, NULL, BINARY, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[1]->type, "com.example.deploy.failed");

	evhttp_add_header(&h, "ce-specversion", "1.0");
	evhttp_add_header(&h, "ce-id", "9");
	evhttp_add_header(&h, "ce-source", "/outer");
	evhttp_add_header(&h, "ce-type", "com.example.wrapped");
	assert_int_equal(normalize(body, &h, BINARY, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[2]->type, "com.example.wrapped");
	assert_string_equal(vec.v[2]->fingerprint, "/outer/9");
	assert_ptr_equal(json_object_get(vec.v[2]->payload, "data"), body);
	evhttp_clear_headers(&h);
	ievent_vec_clear(&vec);
	json_decref(body);
}

static json_t *
minimal(const char *type)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "specversion", "1.0", "id", "1",
	    "source", "/s", "type", type);
}

static void
test_status_and_fields(void **state)
{
	static const struct {
		const char *type, *data_status, *want;
	} cases[] = {
		{ "com.example.deploy.failed", NULL, "firing" },
		{ "com.example.deploy.resolved", NULL, "resolved" },
		{ "com.example.deploy.recovered", NULL, "resolved" },
		{ "com.example.job.succeeded", NULL, "resolved" },
		{ "com.example.job.succeededx", NULL, "firing" },
		{ "succeeded", NULL, "firing" },
		{ "com.example.deploy.failed", "resolved", "resolved" },
		{ "com.example.deploy.resolved", "firing", "firing" },
		{ "com.example.deploy.resolved", "bogus", "resolved" },
		{ "com.example.deploy.failed", "info", "firing" },
	};
	struct ievent_vec vec = { 0 };
	char err[512];
	json_t *b;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = minimal(cases[i].type);
		if (cases[i].data_status)
			json_object_set_new(b, "data", json_pack("{s:s}", "status",
			    cases[i].data_status));
		assert_int_equal(normalize(b, NULL, STRUCTURED, &vec, err, sizeof(err)), 0);
		if (strcmp(vec.v[i]->status, cases[i].want) != 0)
			fail_msg("type %s, data.status %s: got %s, want %s", cases[i].type,
			    cases[i].data_status ? cases[i].data_status : "-", vec.v[i]->status,
			    cases[i].want);
		json_decref(b);
	}
	ievent_vec_clear(&vec);

	/* summary: data.summary > data.title > subject > type; severity from data beats
	 * the extension; non-object data is not looked into */
	b = minimal("t");
	json_object_set_new(b, "subject", json_string("subj"));
	json_object_set_new(b, "severity", json_string("warning"));
	json_object_set_new(b, "data", json_pack("{s:s, s:s, s:s, s:i}", "title", "T",
	    "summary", "S", "severity", "critical", "message", 5));
	assert_int_equal(normalize(b, NULL, STRUCTURED, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[0]->summary, "S");
	assert_string_equal(vec.v[0]->severity, "critical");
	assert_null(vec.v[0]->message);
	json_object_del(json_object_get(b, "data"), "summary");
	assert_int_equal(normalize(b, NULL, STRUCTURED, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[1]->summary, "T");
	json_object_set_new(b, "data", json_string("summary"));
	assert_int_equal(normalize(b, NULL, STRUCTURED, &vec, err, sizeof(err)), 0);
	assert_string_equal(vec.v[2]->summary, "subj");
	assert_string_equal(vec.v[2]->severity, "warning");
	assert_string_equal(vec.v[2]->fingerprint, "/s/subj");
	json_decref(b);
	ievent_vec_clear(&vec);
}

static void
expect_error(json_t *b, enum mode m, const char *msg)
{
	struct ievent_vec vec = { 0 };
	struct ievent *keep = ievent_new("other");
	char err[512];

	/* an event already in the vector is left alone */
	assert_int_equal(ievent_vec_push(&vec, keep), 0);
	assert_int_equal(normalize(b, NULL, m, &vec, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
	assert_int_equal(vec.n, 1);
	assert_ptr_equal(vec.v[0], keep);
	ievent_vec_clear(&vec);
	json_decref(b);
}

static void
test_structured_errors(void **state)
{
	json_t *b;

	(void)state;
	expect_error(json_object(), STRUCTURED,
	    "missing required field(s): specversion, id, source, type");
	b = minimal("t");
	json_object_del(b, "source");
	json_object_set_new(b, "id", json_string(""));
	expect_error(b, STRUCTURED, "missing required field(s): id, source");
	b = minimal("t");
	json_object_set_new(b, "specversion", json_string("0.3"));
	expect_error(b, STRUCTURED, "specversion: '0.3' is not supported (only 1.0)");
	b = minimal("t");
	json_object_set_new(b, "specversion", json_real(1.0));
	expect_error(b, STRUCTURED, "specversion: expected a string");
	b = minimal("t");
	json_object_set_new(b, "id", json_integer(7));
	expect_error(b, STRUCTURED, "id: expected a string");
	b = minimal("t");
	json_object_set_new(b, "time", json_string("2026-13-40"));
	expect_error(b, STRUCTURED, "time: '2026-13-40' is not an RFC 3339 time");
	expect_error(json_pack("[{s:s}]", "id", "1"), STRUCTURED,
	    "expected a JSON object (a CloudEvent)");
}

static void
test_batch_errors(void **state)
{
	json_t *b;

	(void)state;
	expect_error(minimal("t"), BATCH, "expected a non-empty JSON array of CloudEvents "
	    "(application/cloudevents-batch+json)");
	expect_error(json_array(), BATCH, "expected a non-empty JSON array of CloudEvents "
	    "(application/cloudevents-batch+json)");
	/* the first event is good: the whole batch is still refused, nothing appended */
	b = json_array();
	json_array_append_new(b, minimal("a"));
	json_array_append_new(b, json_pack("{s:s, s:s}", "specversion", "1.0", "type", "b"));
	expect_error(b, BATCH, "event [1]: missing required field(s): id, source");
	b = json_array();
	json_array_append_new(b, minimal("a"));
	json_array_append_new(b, minimal("b"));
	json_object_set_new(json_array_get(b, 1), "specversion", json_string("1.1"));
	expect_error(b, BATCH, "event [1]: specversion: '1.1' is not supported (only 1.0)");
	b = json_pack("[s]", "x");
	expect_error(b, BATCH, "event [0]: expected a JSON object (a CloudEvent)");
	b = json_array();
	json_array_append_new(b, minimal("a"));
	json_object_set_new(json_array_get(b, 0), "time", json_string("noon"));
	expect_error(b, BATCH, "event [0]: time: 'noon' is not an RFC 3339 time");
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

/* Found by tests/fuzz/fuzz_cloudevents: the default fingerprint "source/subject" was cut
 * to 1024 bytes, splitting a character of a long source (the event could not be stored:
 * not UTF-8) and making different long sources one incident. It is now exact. */
static void
test_long_multibyte_source(void **state)
{
	struct ievent_vec vec = { 0 };
	char *src = repeat_e_acute(600), *want, err[256];
	json_t *body, *j;

	(void)state;
	body = minimal("com.example.x");
	json_object_set_new(body, "source", json_string(src));
	assert_int_equal(normalize(body, NULL, STRUCTURED, &vec, err, sizeof(err)), 0);
	want = malloc(strlen(src) + 8);
	assert_non_null(want);
	snprintf(want, strlen(src) + 8, "%s/1", src);
	assert_string_equal(vec.v[0]->fingerprint, want);
	j = ievent_to_json(vec.v[0], true);
	assert_non_null(j);
	json_decref(j);
	ievent_vec_clear(&vec);
	json_decref(body);
	free(want);
	free(src);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_structured_failed),
		cmocka_unit_test(test_sample_structured_recovered),
		cmocka_unit_test(test_sample_batch),
		cmocka_unit_test(test_every_sample_is_asserted),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_binary_errors),
		cmocka_unit_test(test_binary_flag_with_structured_body),
		cmocka_unit_test(test_status_and_fields),
		cmocka_unit_test(test_structured_errors),
		cmocka_unit_test(test_batch_errors),
		cmocka_unit_test(test_long_multibyte_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
