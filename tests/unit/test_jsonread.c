/* test_jsonread.c - jsonread_loadb() against jansson's json_loadb(buf, len, 0, &e): the
 * same inputs accepted with json_equal() trees, the same rejected with the same message,
 * line and column; the texts the server's answers depend on; NUL bytes; allocation
 * failures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "jsonread.h"

/* Both parsers on buf[0..len): jsonread must accept exactly when jansson does, with an
 * equal tree, or fail as jansson does (message, line, column). */
static void
check_same(const char *buf, size_t len)
{
	json_error_t jerr;
	json_t *want = json_loadb(buf, len, 0, &jerr), *got = NULL;
	char err[256];
	int line = -1, column = -1, rc;

	rc = jsonread_loadb(buf, len, &got, err, sizeof(err), &line, &column);
	if (want != NULL) {
		if (rc != 0)
			fail_msg("'%.*s': jansson accepts, jsonread says %d:%d %s", (int)len, buf,
			    line, column, err);
		if (!json_equal(want, got))
			fail_msg("'%.*s': the trees differ", (int)len, buf);
	} else {
		if (rc != -EINVAL || got != NULL)
			fail_msg("'%.*s': jansson rejects (%s), jsonread returns %d", (int)len, buf,
			    jerr.text, rc);
		if (strcmp(err, jerr.text) != 0 || line != jerr.line || column != jerr.column)
			fail_msg("'%.*s': jansson %d:%d %s, jsonread %d:%d %s", (int)len, buf,
			    jerr.line, jerr.column, jerr.text, line, column, err);
	}
	json_decref(want);
	json_decref(got);
}

#define SAME(lit) check_same(lit, sizeof(lit) - 1)

static void
test_valid(void **state)
{
	(void)state;
	SAME("{}");
	SAME("[]");
	SAME(" \t\r\n[ 1 , 2 ]\r\n\t ");
	SAME("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}");
	SAME("{\"k\":1,\"k\":2}");                     /* the last duplicate wins */
	SAME("{\"k\":{\"x\":1},\"k\":[]}");
	SAME("{\"\":\"\"}");
	SAME("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]");
	SAME("[\"\\u0041\\u00e9\\u20AC\\uffff\"]");
	SAME("[\"\\ud83d\\ude00\", \"\\uD834\\uDD1E\"]");
	SAME("{\"\\u006b\\u0065y\":\"\\u00e9\"}");   /* escaped key */
	SAME("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"]");
	SAME("[\"\x7f\"]");
	SAME("[0,-0,1,-1,10,9223372036854775807,-9223372036854775808]");
	SAME("[0.5,-0.5,1e3,1E3,1e+3,1e-3,2.5E-3,0e0,-0.0,1.7976931348623157e308]");
	SAME("[4.9e-324,1e-400,123456789012345678901234567890.5,0.1,3.141592653589793]");
	SAME("[1.00000000000000011102230246251565404236316680908203125]");
}

static void
test_invalid(void **state)
{
	(void)state;
	/* structure */
	SAME("");
	SAME("   ");
	SAME("1");
	SAME("\"a\"");
	SAME("true");
	SAME("{");
	SAME("[");
	SAME("[1");
	SAME("[1,");
	SAME("[1,]");
	SAME("[,1]");
	SAME("[1 2]");
	SAME("{\"a\"}");
	SAME("{\"a\":}");
	SAME("{\"a\" 1}");
	SAME("{\"a\":1,}");
	SAME("{,}");
	SAME("{1:2}");
	SAME("{\"a\":1 \"b\":2}");
	SAME("[1] x");
	SAME("[1] [2]");
	SAME("{}}");
	/* strings */
	SAME("[\"abc");
	SAME("[\"ab\ncd\"]");
	SAME("[\"a\tb\"]");
	SAME("[\"\x1f\"]");
	SAME("[\"a\\x\"]");
	SAME("[\"a\\");
	SAME("[\"a\\u12");
	SAME("[\"a\\u12G4\"]");
	SAME("[\"\\U0041\"]");
	SAME("[\"\\\n\"]");
	SAME("[\"\\ud800\"]");
	SAME("[\"\\udc00\"]");
	SAME("[\"\\ud800\\u0041\"]");
	SAME("[\"\\ud800\\n\"]");
	SAME("[\"\\ud800\\\\u0041\"]");
	SAME("[\"\\u0000\"]");
	SAME("{\"a\\u0000b\":1}");
	SAME("[\"a string that is longer than twenty bytes \\q\"]");
	SAME("{\"a key that is longer than twenty bytes\" 1}");
	/* UTF-8 */
	SAME("[\"\xff\"]");
	SAME("[\"\x80\"]");
	SAME("[\"\xc0\xaf\"]");               /* overlong '/' */
	SAME("[\"\xe0\x80\xaf\"]");           /* overlong, 3 bytes */
	SAME("[\"\xe0\x9f\xbf\"]");           /* U+07FF in 3 bytes */
	SAME("[\"\xf0\x80\x80\xaf\"]");       /* overlong, 4 bytes */
	SAME("[\"\xf0\x8f\xbf\xbf\"]");       /* U+FFFF in 4 bytes */
	SAME("[\"\xed\xbf\xbf\"]");           /* U+DFFF */
	SAME("[\"\xed\xa0\x80\"]");           /* a surrogate in UTF-8 */
	SAME("[\"\xf4\x90\x80\x80\"]");       /* over U+10FFFF */
	SAME("[\"\xf5\x80\x80\x80\"]");
	SAME("[\"\xc3\"]");                   /* truncated */
	SAME("[\"\xe2\x82\"]");
	SAME("[\"\xe2\x82");
	SAME("[\"\\\xc3\xa9\"]");
	SAME("[\"\\u\xc3\xa9\"]");
	SAME("[\"\\u\xff\"]");
	SAME("[\xff]");
	SAME("[\xc3\xa9]");
	SAME("\xef\xbb\xbf[1]");              /* a byte order mark is not whitespace */
	SAME("[1\xff]");
	SAME("[1.\xff]");
	SAME("[1e\xff]");
	SAME("[1,\n2,\n\xc3\xa9\xc3\xa9x]");
	/* numbers */
	SAME("[01]");
	SAME("[-01]");
	SAME("[1.]");
	SAME("[.5]");
	SAME("[-]");
	SAME("[--1]");
	SAME("[+1]");
	SAME("[1e]");
	SAME("[1e+]");
	SAME("[1.5.3]");
	SAME("[1e5e]");
	SAME("[0x10]");
	SAME("[-a]");
	SAME("[Infinity]");
	SAME("[NaN]");
	SAME("[1e999]");
	SAME("[-1e999]");
	SAME("[9223372036854775808]");
	SAME("[99999999999999999999]");
	SAME("[-9223372036854775809]");
	SAME("[-99999999999999999999]");
	/* words */
	SAME("[tru]");
	SAME("[truex]");
	SAME("[true1]");
	SAME("[nul]");
	SAME("[True]");
	SAME("[a-very-long-identifier-past-twenty]");
}

/* The texts the server's answers and its tests rely on, spelled out (not only "as
 * jansson"): tests/integration/test_hostile.py, test_nanomsg.py, test_native.c. */
static void
test_messages(void **state)
{
	static const struct {
		const char *in, *err;
		int line, column;
	} cases[] = {
		{ "{\"app_name\": \"aks", "premature end of input near '\"aks'", 1, 17 },
		{ "{\n  \"a\": 1,\n  \"b\": [1,", "']' expected near end of file", 3, 10 },
		{ "{\"app_name\": \"aks\xff\xfestore\"}", "unable to decode byte 0xff near '\"aks'",
		  1, 17 },
		{ "{\"token\": \"hunter2-secret\"", "'}' expected near end of file", 1, 26 },
		{ "{\"a\"}", "':' expected near '}'", 1, 5 },
		{ "[1,\n2,\n\xc3\xa9x]", "invalid token near '\xc3\xa9'", 3, 1 },
		{ "[\"\\ud800\"]", "invalid Unicode '\\uD800' near '\"\\ud800\"'", 1, 9 },
		{ "[\"\\u0000\"]", "\\u0000 is not allowed without JSON_ALLOW_NUL near '\"\\u0000\"'",
		  1, 9 },
		{ "[99999999999999999999]", "too big integer near '99999999999999999999'", 1, 21 },
		{ "[1e999]", "real number overflow near '1e999'", 1, 6 },
		{ "", "'[' or '{' expected near end of file", 1, 0 },
		{ "[\xff]", "unable to decode byte 0xff", 1, 1 },
	};
	char err[256];
	json_t *got;
	int line, column;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(jsonread_loadb(cases[i].in, strlen(cases[i].in), &got, err,
		    sizeof(err), &line, &column), -EINVAL);
		assert_null(got);
		assert_string_equal(err, cases[i].err);
		assert_int_equal(line, cases[i].line);
		assert_int_equal(column, cases[i].column);
	}
	/* a short err is cut and NUL-terminated; no err, line or column at all is fine */
	assert_int_equal(jsonread_loadb("[", 1, &got, err, 5, &line, &column), -EINVAL);
	assert_string_equal(err, "']' ");
	assert_int_equal(jsonread_loadb("[", 1, &got, NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(jsonread_loadb(NULL, 0, &got, err, sizeof(err), NULL, NULL), -EINVAL);
	assert_string_equal(err, "'[' or '{' expected near end of file");
}

/* Nesting: JSON_PARSER_MAX_DEPTH levels, a scalar counting as one, as in jansson. */
static void
test_depth(void **state)
{
	static const char *const inner[] = { "", "1", "\"x\"", "{}", "{\"a\":[]}" };
	static const int depth[] = { 1, 2047, 2048, 2049, 10000 };
	char *buf = malloc(6 * 10000 + 16);   /* {"a": and } per level */

	(void)state;
	assert_non_null(buf);
	for (size_t d = 0; d < sizeof(depth) / sizeof(depth[0]); d++) {
		for (size_t i = 0; i < sizeof(inner) / sizeof(inner[0]); i++) {
			size_t n = 0;

			memset(buf, '[', (size_t)depth[d]);
			n += (size_t)depth[d];
			memcpy(buf + n, inner[i], strlen(inner[i]));
			n += strlen(inner[i]);
			memset(buf + n, ']', (size_t)depth[d]);
			n += (size_t)depth[d];
			check_same(buf, n);
		}
	}
	/* the same with objects */
	for (size_t d = 0; d < sizeof(depth) / sizeof(depth[0]); d++) {
		size_t n = 0;

		for (int k = 0; k < depth[d]; k++) {
			memcpy(buf + n, "{\"a\":", 5);
			n += 5;
		}
		buf[n++] = '1';
		memset(buf + n, '}', (size_t)depth[d]);
		check_same(buf, n + (size_t)depth[d]);
	}
	free(buf);
}

/* Strings are scanned eight bytes at a time: a special byte at every offset of a long
 * run, and the run cut at every length, must read as jansson reads them. */
static void
test_string_runs(void **state)
{
	static const char *const specials[] = { "\"", "\\n", "\\u00e9", "\\ud83d\\ude00",
	    "\n", "\x01", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff",
	    "\xc3", "\xed\xa0\x80", "\\", "\\q" };
	char buf[128];

	(void)state;
	for (size_t s = 0; s < sizeof(specials) / sizeof(specials[0]); s++) {
		for (int at = 0; at < 40; at++) {
			int n = snprintf(buf, sizeof(buf), "[\"%.*s%s%.*s\"]", at,
			    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH", specials[s], 17,
			    "abcdefghijklmnopqrstuvwxyz");

			for (int cut = 0; cut <= n; cut++)
				check_same(buf, (size_t)cut);
		}
	}
}

/* JSON request bodies of tests/samples, whole and cut short. */
static void
test_samples(void **state)
{
	static const char *const files[] = {
		"argocd/seed-aks-store-degraded.client_payload.json",
		"argocd/seed-aks-store-degraded.repository_dispatch.json",
		"argocd/application-synced-healthy.argo-cd.controller-testdata-diff-cache.json",
		"alertmanager/k8s_KubePodCrashLooping_firing_2alerts.json",
		"alertmanager/prometheus-msteams__prom_post_request.json",
		"flux/nc_docs_v1beta3_events_example.json",
		"cloudevents/seed-batch.json",
		"event/tail-aks-store-degraded.json",
	};
	const char *dir = getenv("SAMPLES_DIR");
	char path[4096], *buf;

	(void)state;
	assert_non_null(dir);
	buf = malloc(1 << 20);
	assert_non_null(buf);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		f = fopen(path, "rb");
		if (f == NULL)
			fail_msg("cannot open %s", path);
		n = fread(buf, 1, 1 << 20, f);
		fclose(f);
		assert_true(n > 0 && n < 1 << 20);
		/* every cut of the small ones, every 13th of the 20 kB Application */
		for (size_t cut = 0; cut < n; cut += n > 4096 ? 13 : 1)
			check_same(buf, cut);
		check_same(buf, n);
	}
	free(buf);
}

/* NUL bytes are errors everywhere. jansson loses one right after a number or a word
 * (and accepts "[1\0]"): there jsonread still says no, at the NUL. */
static void
test_nul_bytes(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *err;
		int column;
	} cases[] = {
		{ "[1\0]", 4, "']' expected near end of file", 3 },
		{ "[true\0]", 7, "']' expected near end of file", 6 },
		{ "{\"a\":1.5\0}", 10, "'}' expected near end of file", 9 },
		{ "[\"a\0\"]", 6, "control character 0x0 near '\"a'", 3 },
		{ "\0[1]", 4, "'[' or '{' expected near end of file", 1 },
		{ "[1]\0", 4, "end of file expected near end of file", 4 },
	};
	char err[256];
	json_t *got;
	int line, column;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(jsonread_loadb(cases[i].in, cases[i].len, &got, err, sizeof(err),
		    &line, &column), -EINVAL);
		assert_null(got);
		assert_string_equal(err, cases[i].err);
		assert_int_equal(line, 1);
		assert_int_equal(column, cases[i].column);
	}
}

/* Allocation failures: jansson's allocator fails at the n-th call, for every n until the
 * parse succeeds; each attempt returns -ENOMEM with nothing leaked (LeakSanitizer). */
static int alloc_budget;

static void *
failing_malloc(size_t n)
{
	if (alloc_budget-- <= 0)
		return NULL;
	return malloc(n);
}

static void
test_out_of_memory(void **state)
{
	static const char text[] = "{\"a\":[1,2.5,\"x\",{\"k\\u00e9y\":\"v\\n\"}],\"b\":true,"
	    "\"c\":{\"d\":null},\"a\":\"again\"}";
	json_t *got;
	char err[256];
	int rc = -ENOMEM, n;

	(void)state;
	json_set_alloc_funcs(failing_malloc, free);
	for (n = 0; n < 1000 && rc == -ENOMEM; n++) {
		alloc_budget = n;
		rc = jsonread_loadb(text, sizeof(text) - 1, &got, err, sizeof(err), NULL, NULL);
		if (rc == -ENOMEM) {
			assert_null(got);
			assert_string_equal(err, "out of memory");
		}
	}
	alloc_budget = 1 << 30;
	assert_int_equal(rc, 0);
	assert_true(n > 10);
	json_decref(got);
	json_set_alloc_funcs(malloc, free);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_string_runs),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
