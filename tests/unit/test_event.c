/* test_event.c - the event model: JSON round trip, field lookup for matchers/group_by. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "event.h"
#include "jsonw.h"

static struct ievent *
sample_event(void)
{
	struct ievent *ev = ievent_new("argocd");
	struct ievent_resource r = { .kind = "Deployment", .name = "store-front",
		.namespace = "pets", .health = "Degraded", .sync = "Synced",
		.message = "exceeded its progress deadline" };
	struct ievent_resource r2 = { .kind = "ConfigMap", .name = "cm" };

	assert_non_null(ev);
	assert_int_equal(ievent_set(&ev->type, "deployment.degraded"), 0);
	assert_int_equal(ievent_set(&ev->status, "firing"), 0);
	assert_int_equal(ievent_set(&ev->cluster, "prod-west-aks"), 0);
	assert_int_equal(ievent_set(&ev->namespace, "pets"), 0);
	assert_int_equal(ievent_set(&ev->app, "aks-store"), 0);
	assert_int_equal(ievent_set(&ev->summary, "aks-store is Degraded"), 0);
	assert_int_equal(ievent_add_resource(ev, &r), 0);
	assert_int_equal(ievent_add_resource(ev, &r2), 0);
	json_object_set_new(ev->labels, "team", json_string("pets"));
	json_object_set_new(ev->annotations, "runbook_url", json_string("https://r/x"));
	ev->payload = json_pack("{s:{s:i, s:b, s:[s]}}", "a", "b", 42, "ok", 1, "list", "x");
	ev->occurred_at = 1770692472000;   /* 2026-02-10T03:01:12Z */
	return ev;
}

static void
test_new_defaults(void **state)
{
	struct ievent *a = ievent_new("x"), *b = ievent_new("x");

	(void)state;
	assert_int_equal(strlen(a->id), UTIL_ID_LEN);
	assert_true(strcmp(a->id, b->id) < 0);      /* time-sortable, strictly increasing */
	assert_true(json_is_object(a->labels));
	assert_true(a->resource_health_reported);
	assert_int_equal(a->occurred_at, a->received_at);
	ievent_destroy(a);
	ievent_destroy(b);
	ievent_destroy(NULL);
}

static void
test_json_round_trip(void **state)
{
	struct ievent *ev = sample_event(), *back = NULL;
	json_t *j = ievent_to_json(ev, true), *j2;
	char err[256];

	(void)state;
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "occurred_at")),
	    "2026-02-10T03:01:12.000Z");
	assert_string_equal(json_string_value(json_object_get(j, "resource_health")), "reported");
	assert_null(json_object_get(j, "revision"));        /* NULL strings are omitted */
	assert_null(json_object_get(json_array_get(json_object_get(j, "resources"), 1),
	    "health"));
	assert_int_equal(ievent_from_json(j, &back, err, sizeof(err)), 0);
	assert_string_equal(back->id, ev->id);
	assert_int_equal(back->occurred_at, ev->occurred_at);
	assert_int_equal(back->n_resources, 2);
	j2 = ievent_to_json(back, true);
	assert_true(json_equal(j, j2));
	json_decref(j2);
	ievent_destroy(back);

	/* without payload; "absent" survives */
	json_decref(j);
	ev->resource_health_reported = false;
	j = ievent_to_json(ev, false);
	assert_null(json_object_get(j, "payload"));
	assert_int_equal(ievent_from_json(j, &back, err, sizeof(err)), 0);
	assert_false(back->resource_health_reported);
	ievent_destroy(back);
	json_decref(j);
	ievent_destroy(ev);
}

static void
test_from_json_errors(void **state)
{
	struct ievent *ev = NULL;
	json_t *j;
	char err[256];

	(void)state;
	j = json_pack("{s:s, s:i}", "source", "argocd", "app", 3);
	assert_int_equal(ievent_from_json(j, &ev, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "app"));
	assert_null(ev);
	json_decref(j);
	j = json_pack("{s:s, s:s}", "source", "argocd", "occurred_at", "soon");
	assert_int_equal(ievent_from_json(j, &ev, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "occurred_at"));
	json_decref(j);
	j = json_pack("{s:s}", "app", "x");
	assert_int_equal(ievent_from_json(j, &ev, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "source"));
	json_decref(j);
}

static void
expect_field(const struct ievent *ev, const char *name, const char *want)
{
	char *v = NULL;

	assert_int_equal(ievent_get_field(ev, name, &v), 0);
	assert_string_equal(v, want);
	free(v);
}

static void
test_get_field(void **state)
{
	struct ievent *ev = sample_event();
	char *v = NULL;

	(void)state;
	expect_field(ev, "app", "aks-store");
	expect_field(ev, "cluster", "prod-west-aks");
	expect_field(ev, "source", "argocd");
	expect_field(ev, "labels.team", "pets");
	expect_field(ev, "annotations.runbook_url", "https://r/x");
	expect_field(ev, "payload.a.b", "42");
	expect_field(ev, "payload.a.ok", "true");
	expect_field(ev, "payload.a.list.0", "x");
	expect_field(ev, "id", ev->id);
	assert_int_equal(ievent_get_field(ev, "revision", &v), -ENOENT);   /* unset */
	assert_int_equal(ievent_get_field(ev, "labels.nope", &v), -ENOENT);
	assert_int_equal(ievent_get_field(ev, "payload.a", &v), -ENOENT);   /* an object */
	assert_int_equal(ievent_get_field(ev, "payload.zz.y", &v), -ENOENT);
	assert_int_equal(ievent_get_field(ev, "colour", &v), -ENOENT);
	assert_null(v);
	ievent_destroy(ev);
}

/* ievent_json_text: the compact dump of ievent_to_json(ev, false), built once; and the live
 * tail's splice of "incident_key" gives what dumping the object with the key set last does. */
static void
test_json_text(void **state)
{
	struct ievent *ev = sample_event();
	json_t *obj = ievent_to_json(ev, false), *key;
	char *want = json_dumps(obj, JSON_COMPACT), *with_key, *keytext, spliced[8192];
	const char *text;

	(void)state;
	assert_null(ev->json_text);
	text = ievent_json_text(ev);
	assert_non_null(text);
	assert_string_equal(text, want);
	assert_null(strstr(text, "payload"));
	assert_ptr_equal(ievent_json_text(ev), text);   /* cached, not rebuilt */
	assert_ptr_equal(ev->json_text, text);
	/* a key that needs escaping */
	key = json_string("argocd/prod \"west\"/pets/\u00e9");
	json_object_set(obj, "incident_key", key);
	with_key = json_dumps(obj, JSON_COMPACT);
	keytext = json_dumps(key, JSON_COMPACT | JSON_ENCODE_ANY);
	snprintf(spliced, sizeof(spliced), "%.*s,\"incident_key\":%s}", (int)strlen(text) - 1,
	    text, keytext);
	assert_string_equal(spliced, with_key);
	free(keytext);
	free(with_key);
	free(want);
	json_decref(key);
	json_decref(obj);
	ievent_destroy(ev);
}

/* The direct writer behind ievent_json_text prints exactly what jansson prints, for every
 * character an attacker can put in a field, a label or a resource: quotes, backslashes,
 * every control character, DEL, slashes, multi-byte UTF-8, and a NUL inside a label
 * value or key (jansson's own output then). */
static void
test_json_text_hostile(void **state)
{
	static const char *const nasty[] = { "", "\"", "\\", "a\\\"b", "/</script>",
	    "\x7f", "caf\u00e9 \u2028 \xf0\x9f\x94\xa5", "tab\there\r\nnl\b\f" };
	char ctl[64];

	(void)state;
	for (int i = 0; i < 32; i++)
		ctl[i] = (char)(i + 1 < 32 ? i + 1 : 'x');
	ctl[31] = '\0';
	for (size_t round = 0; round < sizeof(nasty) / sizeof(nasty[0]) + 2; round++) {
		const char *v = round < sizeof(nasty) / sizeof(nasty[0]) ? nasty[round] : ctl;
		struct ievent *ev = sample_event();
		struct ievent_resource r = { .kind = (char *)v, .name = (char *)v,
			.message = (char *)v };
		json_t *obj;
		char *want;

		assert_int_equal(ievent_set(&ev->summary, v), 0);
		assert_int_equal(ievent_set(&ev->message, v), 0);
		assert_int_equal(ievent_set(&ev->repo_url, v), 0);
		assert_int_equal(ievent_set(&ev->fingerprint, v), 0);
		assert_int_equal(ievent_add_resource(ev, &r), 0);
		json_object_set_new(ev->labels, v, json_string(v));
		json_object_set_new(ev->annotations, "k", json_string(v));
		if (round == sizeof(nasty) / sizeof(nasty[0]) + 1) {
			/* NUL inside a value and inside a key: jansson prints \u0000 */
			json_object_set_new(ev->labels, "nul", json_stringn("a\0b", 3));
			json_object_setn_new(ev->annotations, "k\0y", 3, json_string("v"));
		}
		obj = ievent_to_json(ev, false);
		want = json_dumps(obj, JSON_COMPACT);
		assert_non_null(want);
		assert_string_equal(ievent_json_text(ev), want);
		free(want);
		json_decref(obj);
		ievent_destroy(ev);
	}
}

/* jsonw's pieces (strings, null, integers, nested objects through jansson) as json_dumps
 * prints them: the dispatcher's incident view is written with them. */
static void
test_jsonw_pieces(void **state)
{
	json_t *refs = json_pack("{s:{s:i, s:s}}", "github", "issue", 42, "url", "https://x/42");
	json_t *o = json_pack("{s:s, s:n, s:I, s:O, s:[]}", "id", "01X\"\n", "key", "count",
	    (json_int_t)-7, "refs", refs, "empty");
	char *want = json_dumps(o, JSON_COMPACT), *got;
	struct jsonw w;

	(void)state;
	jsonw_init(&w);
	jsonw_open(&w, '{');
	jsonw_member_str(&w, "id", "01X\"\n");
	jsonw_key(&w, "key");
	jsonw_json(&w, NULL);
	jsonw_member_str(&w, "absent", NULL);
	jsonw_key(&w, "count");
	jsonw_int(&w, -7);
	jsonw_key(&w, "refs");
	jsonw_json(&w, refs);
	jsonw_key(&w, "empty");
	jsonw_open(&w, '[');
	jsonw_close(&w, ']');
	jsonw_close(&w, '}');
	got = jsonw_take(&w);
	assert_string_equal(got, want);
	jsonw_clear(&w);
	free(got);
	free(want);
	json_decref(o);
	json_decref(refs);
}

/* jsonw_json writes any jansson value as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)
 * prints it (the ledger stores an Alertmanager alert's payload that way): nested objects
 * and arrays, empty ones, integers at their limits, reals (jansson's digits), true, false,
 * null, escapes and UTF-8, and a NUL inside a string or an object key (jansson's text). */
static void
test_jsonw_any_value(void **state)
{
	json_t *v = json_pack("{s:[{s:s, s:[i, I, I, f, f, b, b, n]}, [], {}, [[[]]]],"
	    " s:{s:{s:s}}, s:s, s:f}",
	    "alerts", "labels", "a\"\\b\n\x01\x7f caf\u00e9", "values", 0,
	    (json_int_t)INT64_MAX, (json_int_t)INT64_MIN, 0.1, -1e300, 1, 0, "nested", "x",
	    "y", "\u2028", "s", "/</script>", "r", 3.0);
	char *want, *got;
	struct jsonw w;

	(void)state;
	assert_non_null(v);
	json_object_set_new(v, "nul", json_stringn("a\0b", 3));
	json_object_set_new(json_object_get(v, "nested"), "k\0y",
	    json_pack("{s:[s]}", "in", "deep"));
	json_array_append_new(json_object_get(v, "alerts"), json_stringn("\0", 1));
	for (int round = 0; round < 2; round++) {
		const json_t *what = round == 0 ? v : json_array_get(json_object_get(v, "alerts"), 0);

		want = json_dumps(what, JSON_COMPACT | JSON_ENCODE_ANY);
		assert_non_null(want);
		jsonw_init(&w);
		jsonw_json(&w, what);
		got = jsonw_take(&w);
		assert_non_null(got);
		assert_string_equal(got, want);
		free(got);
		free(want);
	}
	/* values on their own, and as elements after others (their commas) */
	for (int round = 0; round < 6; round++) {
		json_t *one = round == 0 ? json_integer(-42) : round == 1 ? json_true() :
		    round == 2 ? json_null() : round == 3 ? json_real(2.5) :
		    round == 4 ? json_array() : json_string("s");
		json_t *arr = json_pack("[s, O, O]", "first", one, one);

		want = json_dumps(arr, JSON_COMPACT);
		jsonw_init(&w);
		jsonw_open(&w, '[');
		jsonw_string(&w, "first");
		jsonw_json(&w, one);
		jsonw_json(&w, one);
		jsonw_close(&w, ']');
		got = jsonw_take(&w);
		assert_string_equal(got, want);
		free(got);
		free(want);
		json_decref(arr);
		json_decref(one);
	}
	jsonw_clear(&w);
	json_decref(v);
}

/* Every byte jansson escapes, escaped as jansson does, as a key and as a value, in short
 * strings and in one long enough to make the writer's buffer grow several times. */
static void
test_jsonw_escapes_like_jansson(void **state)
{
	char all[160], *big, *want, *got;
	size_t n = 0;
	json_t *o;
	struct jsonw w;

	(void)state;
	for (int c = 1; c < 0x80; c++)
		all[n++] = (char)c;
	memcpy(all + n, "\xc3\xa9\xe2\x82\xac/\\\"", 9);   /* é € / \ " */
	n += 9;
	all[n] = '\0';
	big = malloc(64 * n + 1);
	assert_non_null(big);
	for (int i = 0; i < 64; i++)
		memcpy(big + i * n, all, n);
	big[64 * n] = '\0';
	o = json_pack("{s:s, s:s, s:s, s:[s, s]}", all, all, "k", big, "", "", "list", all, big);
	assert_non_null(o);
	want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	jsonw_init(&w);
	jsonw_open(&w, '{');
	jsonw_member_str(&w, all, all);
	jsonw_member_str(&w, "k", big);
	jsonw_member_str(&w, "", "");
	jsonw_key(&w, "list");
	jsonw_open(&w, '[');
	jsonw_string(&w, all);
	jsonw_string(&w, big);
	jsonw_close(&w, ']');
	jsonw_close(&w, '}');
	got = jsonw_take(&w);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(big);
	json_decref(o);
}

static void
test_vec(void **state)
{
	struct ievent_vec vec = { 0 };

	(void)state;
	for (int i = 0; i < 10; i++)
		assert_int_equal(ievent_vec_push(&vec, ievent_new("x")), 0);
	assert_int_equal(vec.n, 10);
	ievent_vec_clear(&vec);
	assert_int_equal(vec.n, 0);
	assert_null(vec.v);
	ievent_vec_clear(&vec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_defaults),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_from_json_errors),
		cmocka_unit_test(test_get_field),
		cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_json_text_hostile),
		cmocka_unit_test(test_jsonw_pieces),
		cmocka_unit_test(test_jsonw_any_value),
		cmocka_unit_test(test_jsonw_escapes_like_jansson),
		cmocka_unit_test(test_vec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
