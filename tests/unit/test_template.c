/* test_template.c - Mustache spec (interpolation, sections, inverted, comments) plus
 * incidentd's own uses: unescaped text, compile errors with line numbers, incident titles. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "template.h"

/*
 * Spec tests skipped on purpose, by file and name, with the reason. The four spec files
 * shipped in tests/samples/mustache-spec use no partials, set-delimiter tags or lambdas,
 * so nothing is skipped today; keep this list explicit if the files are updated.
 */
static const struct {
	const char *file;
	const char *name;
	const char *reason;
} spec_skips[] = {
	{ NULL, NULL, NULL }
};

static const char *
samples_dir(void)
{
	const char *d = getenv("SAMPLES_DIR");

	return d != NULL && *d != '\0' ? d : "tests/samples";
}

static int
spec_skipped(const char *file, const char *name)
{
	for (size_t i = 0; spec_skips[i].file != NULL; i++) {
		if (strcmp(spec_skips[i].file, file) == 0 && strcmp(spec_skips[i].name, name) == 0) {
			print_message("skip %s/%s: %s\n", file, name, spec_skips[i].reason);
			return 1;
		}
	}
	return 0;
}

/* Run every test in one spec file with HTML escaping; returns how many passed. */
static size_t
run_spec_file(const char *file, size_t expect_count)
{
	char path[1024], err[256];
	json_error_t jerr;
	json_t *root, *tests, *tc;
	size_t i, passed = 0, failed = 0, skipped = 0;

	snprintf(path, sizeof(path), "%s/mustache-spec/%s.json", samples_dir(), file);
	root = json_load_file(path, 0, &jerr);
	if (root == NULL)
		fail_msg("cannot load %s: %s", path, jerr.text);
	tests = json_object_get(root, "tests");
	assert_true(json_is_array(tests));
	assert_int_equal(json_array_size(tests), expect_count);
	json_array_foreach(tests, i, tc) {
		const char *name = json_string_value(json_object_get(tc, "name"));
		const char *text = json_string_value(json_object_get(tc, "template"));
		const char *want = json_string_value(json_object_get(tc, "expected"));
		struct template *t = NULL;
		char *got = NULL;
		int rc;

		assert_non_null(name);
		assert_non_null(text);
		assert_non_null(want);
		if (spec_skipped(file, name)) {
			skipped++;
			continue;
		}
		rc = template_compile(text, TEMPLATE_ESCAPE_HTML, &t, err, sizeof(err));
		if (rc != 0) {
			print_error("FAIL %s/%s: compile: %s\n", file, name, err);
			failed++;
			continue;
		}
		rc = template_render(t, json_object_get(tc, "data"), &got);
		if (rc != 0 || strcmp(got, want) != 0) {
			print_error("FAIL %s/%s:\n  want [%s]\n  got  [%s]\n", file, name, want,
			    got != NULL ? got : "(error)");
			failed++;
		} else
			passed++;
		free(got);
		template_destroy(t);
	}
	json_decref(root);
	print_message("%s: %zu passed, %zu skipped, %zu failed\n", file, passed, skipped,
	    failed);
	assert_int_equal(failed, 0);
	assert_int_equal(passed + skipped, expect_count);
	return passed;
}

static void
test_spec_interpolation(void **state)
{
	(void)state;
	assert_int_equal(run_spec_file("interpolation", 42), 42);
}

static void
test_spec_sections(void **state)
{
	(void)state;
	assert_int_equal(run_spec_file("sections", 34), 34);
}

static void
test_spec_inverted(void **state)
{
	(void)state;
	assert_int_equal(run_spec_file("inverted", 22), 22);
}

static void
test_spec_comments(void **state)
{
	(void)state;
	assert_int_equal(run_spec_file("comments", 12), 12);
}

/* Compile text, render data (a JSON text), return the malloc'd result. */
static char *
render_str(const char *text, enum template_escape esc, const char *data_json)
{
	struct template *t = NULL;
	json_t *data;
	char err[256], *out = NULL;

	data = json_loads(data_json, JSON_DECODE_ANY, NULL);
	assert_non_null(data);
	if (template_compile(text, esc, &t, err, sizeof(err)) != 0)
		fail_msg("compile [%s]: %s", text, err);
	assert_int_equal(template_render(t, data, &out), 0);
	assert_non_null(out);
	template_destroy(t);
	json_decref(data);
	return out;
}

static void
assert_renders(const char *text, enum template_escape esc, const char *data_json,
    const char *want)
{
	char *got = render_str(text, esc, data_json);

	assert_string_equal(got, want);
	free(got);
}

static void
test_escape_none(void **state)
{
	(void)state;
	assert_renders("{{x}}|{{{x}}}|{{&x}}", TEMPLATE_ESCAPE_NONE,
	    "{\"x\": \"a & <b> \\\"c\\\"\"}", "a & <b> \"c\"|a & <b> \"c\"|a & <b> \"c\"");
	assert_renders("{{x}}|{{{x}}}", TEMPLATE_ESCAPE_HTML, "{\"x\": \"<&>\"}",
	    "&lt;&amp;&gt;|<&>");
	assert_renders("{{#l}}{{.}};{{/l}}", TEMPLATE_ESCAPE_NONE, "{\"l\": [\"<a>\", \"b&c\"]}",
	    "<a>;b&c;");
}

static void
test_values(void **state)
{
	(void)state;
	/* reals: shortest form that round-trips; integers plain; booleans as words */
	assert_renders("{{a}} {{b}} {{c}} {{d}} {{e}}", TEMPLATE_ESCAPE_NONE,
	    "{\"a\": 0.1, \"b\": 1.0, \"c\": -2.5e-7, \"d\": 9007199254740993, \"e\": 3.14159}",
	    "0.1 1 -2.5e-07 9007199254740993 3.14159");
	assert_renders("{{t}}/{{f}}/{{n}}/{{missing}}", TEMPLATE_ESCAPE_NONE,
	    "{\"t\": true, \"f\": false, \"n\": null}", "true/false//");
	/* objects and arrays render as compact JSON */
	assert_renders("{{o}} {{l}}", TEMPLATE_ESCAPE_NONE, "{\"o\": {\"k\": 1}, \"l\": [1,2]}",
	    "{\"k\":1} [1,2]");
	/* empty string is falsey, 0 and {} are truthy */
	assert_renders("[{{#s}}S{{/s}}{{^s}}!S{{/s}}][{{#z}}Z{{/z}}][{{#o}}O{{/o}}]",
	    TEMPLATE_ESCAPE_NONE, "{\"s\": \"\", \"z\": 0, \"o\": {}}", "[!S][Z][O]");
	/* NULL data renders the text and nothing for variables */
	{
		struct template *t = NULL;
		char *out = NULL;

		assert_int_equal(template_compile("a{{x}}b{{^x}}c{{/x}}", TEMPLATE_ESCAPE_NONE,
		    &t, NULL, 0), 0);
		assert_int_equal(template_render(t, NULL, &out), 0);
		assert_string_equal(out, "abc");
		free(out);
		template_destroy(t);
	}
}

static void
assert_compile_error(const char *text, const char *want_err)
{
	struct template *t = (struct template *)(uintptr_t)0x1;
	char err[256];

	assert_int_equal(template_compile(text, TEMPLATE_ESCAPE_NONE, &t, err, sizeof(err)),
	    -EINVAL);
	assert_ptr_equal(t, (struct template *)(uintptr_t)0x1);	/* untouched */
	if (strcmp(err, want_err) != 0)
		fail_msg("[%s]: want error [%s], got [%s]", text, want_err, err);
}

static void
test_compile_errors(void **state)
{
	char deep[8 * (TEMPLATE_MAX_DEPTH + 2) * 2];
	size_t off = 0;

	(void)state;
	assert_compile_error("title\n{{#issue}}\n#{{number}}\n",
	    "line 2: unclosed section {{#issue}}");
	assert_compile_error("a\n{{^x}}{{#y}}\n\n{{/x}}{{/y}}",
	    "line 4: mismatched close tag {{/x}}, expected {{/y}} (opened on line 2)");
	assert_compile_error("a\nb\nc {{app", "line 3: unterminated tag");
	assert_compile_error("x {{{app}}", "line 1: unterminated tag");
	assert_compile_error("ok\n{{ }}", "line 2: empty name in tag");
	assert_compile_error("{{#}}{{/}}", "line 1: empty name in tag");
	assert_compile_error("{{a..b}}", "line 1: empty segment in dotted name in tag");
	assert_compile_error("{{a b}}", "line 1: whitespace inside name in tag");
	assert_compile_error("x\n{{/x}}", "line 2: unexpected close tag {{/x}}");
	assert_compile_error("{{> partial}}", "line 1: partial tags are not supported");
	assert_compile_error("{{=<% %>=}}", "line 1: set-delimiter tags are not supported");
	for (int i = 0; i <= TEMPLATE_MAX_DEPTH; i++)
		off += (size_t)snprintf(deep + off, sizeof(deep) - off, "{{#a}}");
	assert_compile_error(deep, "line 1: sections nested deeper than 32");

	/* a NULL error buffer is fine */
	{
		struct template *t = NULL;

		assert_int_equal(template_compile("{{#a}}", TEMPLATE_ESCAPE_NONE, &t, NULL, 0),
		    -EINVAL);
		assert_null(t);
	}
	template_destroy(NULL);
}

static void
test_incident(void **state)
{
	const char *data = "{\"app\": \"aks-store\", \"cluster\": \"prod-west-aks\","
	    " \"namespace\": \"pets\", \"revision\": \"9f1c2ab\", \"status\": \"firing\","
	    " \"identity\": \"verified\", \"summary\": \"Deployment <order-service> Degraded\","
	    " \"issue\": {\"number\": 42, \"url\": \"https://github.com/o/r/issues/42\"}}";
	const char *prompt =
	    "Investigate {{app}} in {{cluster}}/{{namespace}} (revision {{revision}}).\n"
	    "{{#issue}}\n"
	    "Report on issue #{{issue.number}}: {{url}}\n"
	    "{{/issue}}\n"
	    "{{^issue}}\n"
	    "Open a new issue.\n"
	    "{{/issue}}\n"
	    "  {{! identity decides whether write tools are allowed }}\n"
	    "Identity: {{identity}}. Summary: {{summary}}\n";
	struct template *t = NULL;
	json_t *d1, *d2, *names;
	char *out = NULL;

	(void)state;
	assert_renders("ArgoCD Deployment Failed: {{app}}", TEMPLATE_ESCAPE_NONE, data,
	    "ArgoCD Deployment Failed: aks-store");
	assert_renders("{{#issue}}#{{number}}{{/issue}}", TEMPLATE_ESCAPE_NONE, data, "#42");
	assert_renders("{{#issue}}#{{number}}{{/issue}}", TEMPLATE_ESCAPE_NONE,
	    "{\"app\": \"x\"}", "");

	/* one compiled template, rendered twice with different incidents */
	assert_int_equal(template_compile(prompt, TEMPLATE_ESCAPE_NONE, &t, NULL, 0), 0);
	d1 = json_loads(data, 0, NULL);
	assert_non_null(d1);
	d2 = json_deep_copy(d1);
	assert_non_null(d2);
	assert_int_equal(json_object_del(d2, "issue"), 0);
	assert_int_equal(json_object_set_new(d2, "identity", json_string("uncertain")), 0);

	assert_int_equal(template_render(t, d1, &out), 0);
	assert_string_equal(out,
	    "Investigate aks-store in prod-west-aks/pets (revision 9f1c2ab).\n"
	    "Report on issue #42: https://github.com/o/r/issues/42\n"
	    "Identity: verified. Summary: Deployment <order-service> Degraded\n");
	free(out);
	assert_int_equal(template_render(t, d2, &out), 0);
	assert_string_equal(out,
	    "Investigate aks-store in prod-west-aks/pets (revision 9f1c2ab).\n"
	    "Open a new issue.\n"
	    "Identity: uncertain. Summary: Deployment <order-service> Degraded\n");
	free(out);

	assert_int_equal(template_names(t, &names), 0);
	{
		const char *want[] = { "app", "cluster", "namespace", "revision", "issue",
		    "issue.number", "url", "identity", "summary" };

		assert_int_equal(json_array_size(names), sizeof(want) / sizeof(want[0]));
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			assert_string_equal(json_string_value(json_array_get(names, i)), want[i]);
	}
	json_decref(names);
	json_decref(d1);
	json_decref(d2);
	template_destroy(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_interpolation),
		cmocka_unit_test(test_spec_sections),
		cmocka_unit_test(test_spec_inverted),
		cmocka_unit_test(test_spec_comments),
		cmocka_unit_test(test_escape_none),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_incident),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
