/* test_matcher.c - matchers mean what they mean in Alertmanager 0.25: the value's quoting
 * and backslashes, white space, comma-separated lists, Go's regular expression syntax and
 * its meaning where PCRE2's differs, and Go's error messages. Every expectation here is
 * what `amtool config routes test` (Alertmanager 0.25.0, Go 1.19) answers for the same
 * matcher and label value; tests/integration/test_am_routing.py checks such cases against
 * amtool itself. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "matcher.h"

struct mcase {
	const char *text;       /* the matcher, on labels.x */
	const char *value;      /* the label's value (NULL: no such label) */
	int want;               /* 1 match, 0 no match */
};

/* Whether ev (with labels.x = value) satisfies every matcher of the list text. */
static int
eval_list(const char *text, const char *value)
{
	struct ievent *ev = ievent_new("alertmanager");
	struct matcher *ms = NULL;
	size_t n = 0;
	char err[512];
	int all = 1;

	assert_non_null(ev);
	if (value != NULL)
		json_object_set_new(ev->labels, "x", json_string(value));
	if (matcher_parse_list(text, &ms, &n, err, sizeof(err)) != 0)
		fail_msg("%s: %s", text, err);
	for (size_t i = 0; i < n; i++) {
		int hit = matcher_eval(&ms[i], ev, NULL, 0);

		assert_true(hit >= 0);
		all = all && hit;
		matcher_clear(&ms[i]);
	}
	free(ms);
	ievent_destroy(ev);
	return all;
}

static void
run_cases(const struct mcase *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ievent *ev = ievent_new("alertmanager");
		struct matcher m;
		char err[512], why[256];
		int hit;

		assert_non_null(ev);
		if (cases[i].value != NULL)
			json_object_set_new(ev->labels, "x", json_string(cases[i].value));
		if (matcher_parse(cases[i].text, &m, err, sizeof(err)) != 0)
			fail_msg("%s: %s", cases[i].text, err);
		hit = matcher_eval(&m, ev, why, sizeof(why));
		if (hit != cases[i].want)
			fail_msg("%s on \"%s\": got %d, Alertmanager says %d (%s)", cases[i].text,
			    cases[i].value ? cases[i].value : "(absent)", hit, cases[i].want, why);
		matcher_clear(&m);
		ievent_destroy(ev);
	}
}

/* In a quoted value only \\, \" and \n are escapes; any other backslash stays, so regexes
 * read as people write them in alertmanager.yml. Bare values unescape the same three. */
static void
test_backslashes(void **state)
{
	static const struct mcase cases[] = {
		{ "labels.x =~ \"prod\\.west\"", "prod.west", 1 },
		{ "labels.x =~ \"prod\\.west\"", "prod-west", 0 },   /* \. is a dot, not any */
		{ "labels.x =~ prod\\.west", "prod-west", 0 },
		{ "labels.x =~ \"\\S+\"", "abc", 1 },                /* \S, not S */
		{ "labels.x =~ \"\\S+\"", "SS", 1 },
		{ "labels.x =~ \"\\S+\"", "a b", 0 },
		{ "labels.x =~ \"pay\\)?\"", "pay)", 1 },            /* accepted: \) is a paren */
		{ "labels.x =~ \"pay\\)?\"", "pay", 1 },
		{ "labels.x =~ \"\\d+\"", "123", 1 },
		{ "labels.x =~ \"\\d+\"", "d", 0 },
		{ "labels.x = \"a\\\\b\"", "a\\b", 1 },              /* \\ is one backslash */
		{ "labels.x = a\\\\b", "a\\b", 1 },                  /* also bare */
		{ "labels.x = a\\\\b", "a\\\\b", 0 },
		{ "labels.x = \"a\\\"b\"", "a\"b", 1 },
		{ "labels.x = a\\\"b", "a\"b", 1 },                  /* bare \" is a quote */
		{ "labels.x = \"a\\nb\"", "a\nb", 1 },               /* \n is a line feed */
		{ "labels.x = a\\nb", "a\nb", 1 },
		{ "labels.x = \"a\\tb\"", "a\\tb", 1 },              /* \t is not an escape */
		{ "labels.x = \"a\\tb\"", "a\tb", 0 },
		{ "labels.x = a\\", "a\\", 1 },                      /* a final backslash stays */
		{ "labels.x =~ \"a\\\\\\\\b\"", "a\\b", 1 },         /* regex a\\b: one backslash */
		{ "labels.x = \"\"", NULL, 1 },                      /* "" = absent */
		{ "labels.x != \"\"", NULL, 0 },
		{ "labels.x !~ \"a.*\"", NULL, 1 },                  /* != and !~ on absent */
		{ "labels.x != a", NULL, 1 },
		{ "labels.x =", "", 1 },                             /* an empty bare value */
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* White space around each token is Go's \s ([ \t\n\f\r]); inside quotes it is kept. */
static void
test_whitespace(void **state)
{
	static const struct mcase cases[] = {
		{ " \t labels.x \n=~\r\f\"a b\" \n", "a b", 1 },
		{ "labels.x = \" a \"", " a ", 1 },
		{ "labels.x = \" a \"", "a", 0 },
		{ "labels.x =   spaced value  ", "spaced value", 1 },
	};
	struct matcher m;
	char err[256];

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
	/* the trace shows the matcher without the surrounding space */
	assert_int_equal(matcher_parse("  labels.x = y \n", &m, err, sizeof(err)), 0);
	assert_string_equal(m.text, "labels.x = y");
	matcher_clear(&m);
}

/* Go's regexp syntax and meaning, where PCRE2 reads the same text differently. */
static void
test_go_regex_meaning(void **state)
{
	static const struct mcase cases[] = {
		{ "labels.x =~ \"\\s\"", "\v", 0 },                  /* Go's \s has no \v */
		{ "labels.x =~ \"[[:space:]]\"", "\v", 1 },
		{ "labels.x =~ \"\\v\"", "\v", 1 },                   /* \v is VT only */
		{ "labels.x =~ \"\\v\"", "\n", 0 },
		{ "labels.x =~ \"[^\\S]\"", "\v", 0 },
		{ "labels.x =~ \"(?i)\\w\"", "\xe2\x84\xaa", 1 },     /* U+212A folds to k */
		{ "labels.x =~ \"(?i)[[:upper:]]+\"", "ab", 1 },      /* folded, as in Go */
		{ "labels.x =~ \"(?i)[^\\W]\"", "\xc5\xbf", 1 },      /* U+017F folds to s */
		{ "labels.x =~ \"(?i)k\"", "\xe2\x84\xaa", 1 },
		{ "labels.x =~ \"(?i)[^k]\"", "K", 0 },
		{ "labels.x =~ \"\\\\12\"", "\n", 1 },                /* octal 012 */
		{ "labels.x =~ \"x{,3}\"", "x{,3}", 1 },              /* not a repeat */
		{ "labels.x =~ \"x{01}\"", "x{01}", 1 },
		{ "labels.x =~ \"a$\"", "a\n", 0 },                   /* $ is the very end */
		{ "labels.x =~ \"(?m)a$\\n\"", "a\n", 1 },
		{ "labels.x =~ \"(?m)a\\n^\"", "a\n", 1 },
		{ "labels.x =~ \"a)|(b\"", "axyz", 1 },               /* ^(?:a)|(b)$, as in Go */
		{ "labels.x =~ \".\"", "\n", 0 },
		{ "labels.x =~ \"(?s).\"", "\n", 1 },
		{ "labels.x =~ \"[^a]\"", "\n", 1 },
		{ "labels.x =~ \"[\\\\x{D7FF}-\\\\x{E000}]\"", "\xee\x80\x80", 1 },
		{ "labels.x =~ \"a*(?i)*\"", "aaa", 1 },              /* (a*)* */
		{ "labels.x =~ \"a\\\\Q\\\\E*\"", "aaa", 1 },
		{ "labels.x =~ \"\\\\Q.*\\\\E\"", ".*", 1 },
		{ "labels.x =~ \"\\\\Q.*\\\\E\"", "ab", 0 },
		{ "labels.x =~ \"[]a]+\"", "]a", 1 },
		{ "labels.x =~ \"[[.a.]]+\"", ".]]", 1 },             /* [.a.] is a class, ]+ */
		{ "labels.x =~ \"\\\\p{Greek}+\"", "\xce\xb1\xce\x91", 1 },
		{ "labels.x =~ \"(?i)\\\\p{Latin}+\"", "aB", 1 },
		{ "labels.x =~ \"(?P<n>a)b\"", "ab", 1 },
		{ "labels.x =~ \"\\\\_\"", "_", 1 },
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* What Go refuses is refused, with Go's words (and a hint where PCRE habits lead). */
static void
test_go_regex_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "labels.x =~ \"(?=a)\"", "invalid or unsupported Perl syntax: `(?=` (lookarounds" },
		{ "labels.x =~ \"(?<!a)b\"", "invalid or unsupported Perl syntax: `(?<` (lookarounds" },
		{ "labels.x =~ \"(a)\\\\1\"", "invalid escape sequence: `\\1` (backreferences" },
		{ "labels.x =~ \"(?<n>a)\"", "`(?<` (write a named group as (?P<name>" },
		{ "labels.x =~ \"(?>a)\"", "invalid or unsupported Perl syntax: `(?>`" },
		{ "labels.x =~ \"a++\"", "invalid nested repetition operator: `++` (possessive" },
		{ "labels.x =~ \"a**\"", "invalid nested repetition operator: `**`" },
		{ "labels.x =~ \"x{2}{3}\"", "invalid nested repetition operator: `{2}{3}`" },
		{ "labels.x =~ \"\\\\Z\"", "invalid escape sequence: `\\Z` (use \\z" },
		{ "labels.x =~ \"\\\\C\"", "invalid escape sequence: `\\C`" },
		{ "labels.x =~ \"\\\\8\"", "invalid escape sequence: `\\8`" },
		{ "labels.x =~ \"\\\\e\"", "invalid escape sequence: `\\e`" },
		{ "labels.x =~ \"(a\"", "missing closing ): `^(?:(a)$`" },
		{ "labels.x =~ \"a)\"", "unexpected ): `^(?:a))$`" },
		{ "labels.x =~ \"[a\"", "missing closing ]: `[a)$`" },
		{ "labels.x =~ \"\\\\\"", "missing closing ): `^(?:\\)$`" },
		{ "labels.x =~ \"a{1001}\"", "invalid repeat count: `{1001}`" },
		{ "labels.x =~ \"(a{10}){101}\"", "invalid repeat count: `{101}`" },
		{ "labels.x =~ \"*a\"", "missing argument to repetition operator: `*`" },
		{ "labels.x =~ \"[z-a]\"", "invalid character class range: `z-a`" },
		{ "labels.x =~ \"\\\\pX\"", "invalid character class range: `\\pX`" },
		{ "labels.x =~ \"\\\\p{greek}\"", "invalid character class range: `\\p{greek}`" },
		{ "labels.x =~ \"[[:foo:]]\"", "invalid character class range: `[:foo:]`" },
		{ "labels.x =~ \"(?P<>a)\"", "invalid named capture: `(?P<>`" },
		{ "labels.x =~ \"(?i-)a\"", "invalid or unsupported Perl syntax: `(?i-)`" },
		{ "labels.x =~ \"(?x)a\"", "invalid or unsupported Perl syntax: `(?x`" },
		{ "labels.x =~ \"(?i)\\\\p{Lu}\"", "unsupported: `\\p{Lu}` under (?i)" },
		{ "labels.x =~ \"\\\\x{D800}\"", "unsupported: `\\x{D800}` is a UTF-16 surrogate" },
		{ "labels.x = \"abc", "unterminated or unescaped double quote" },
		{ "labels.x = a\"b", "unterminated or unescaped double quote" },
		{ "labels.x = \"a\"b\"", "unterminated or unescaped double quote" },
		{ "labels.x = \"a\\\"", "unterminated or unescaped double quote" },
		{ "labels.x = \"", "unterminated or unescaped double quote" },
		{ "labels.x = \"\xff\"", "not valid UTF-8" },
		{ "labels.x", "expected an operator" },
		{ "= x", "bad matcher format" },
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct matcher m;

		err[0] = '\0';
		assert_int_equal(matcher_parse(cases[i].text, &m, err, sizeof(err)), -EINVAL);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("'%s': error '%s' lacks '%s'", cases[i].text, err, cases[i].want);
		assert_null(m.field);
	}
}

/* A route's match entry is a list, as each entry of Alertmanager's `matchers:` is. */
static void
test_lists(void **state)
{
	struct matcher *ms = NULL;
	size_t n = 99;
	char err[512];

	(void)state;
	assert_int_equal(matcher_parse_list("{labels.a=\"x\", labels.x=~\"y,z\"}", &ms, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ms[0].field, "labels.a");
	assert_string_equal(ms[1].value, "y,z");
	assert_string_equal(ms[1].text, "labels.x=~\"y,z\"");
	for (size_t i = 0; i < n; i++)
		matcher_clear(&ms[i]);
	free(ms);

	/* "" and {} are no matcher at all; a trailing comma is allowed */
	assert_int_equal(matcher_parse_list("", &ms, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(ms);
	assert_int_equal(matcher_parse_list("{}", &ms, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(eval_list("labels.x=a, ", "a"), 1);
	assert_int_equal(eval_list("labels.x=a, ", "b"), 0);
	assert_int_equal(eval_list("labels.x=~\"a\\\",b\"", "a\",b"), 1);   /* \" inside */
	assert_int_equal(eval_list("labels.x!=a,labels.x!=b", "b"), 0);

	/* a bare comma splits: the rest is no matcher */
	assert_int_equal(matcher_parse_list("labels.x=a,b", &ms, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "in 'labels.x=a,b' (a comma outside quotes separates "
	    "matchers): 'b': bad matcher format"));
	assert_int_equal(matcher_parse_list("labels.x=a,,labels.y=b", &ms, &n, err,
	    sizeof(err)), -EINVAL);
	assert_int_equal(matcher_parse_list("labels.x=~\"(\"", &ms, &n, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "missing closing )"));
	assert_null(strstr(err, "a comma"));        /* one matcher: no word about lists */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backslashes),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_go_regex_meaning),
		cmocka_unit_test(test_go_regex_errors),
		cmocka_unit_test(test_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
