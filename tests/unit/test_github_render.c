/* test_github_render.c - the github_issue markdown: sections in order, per-kind commands,
 * the Argo CD >= 3.0 no-health note, hostile text (every markdown, HTML and GitHub
 * construct in every field the renderer prints), links, size limits, markers (the
 * incident's on issues, the delivery's on comments), titles. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "render.h"
#include "strbuf.h"

/* The event the broker hands to sinks for tests/samples/argocd/seed-aks-store-degraded. */
static json_t *
seed_event(void)
{
	json_t *ev = json_loads(
	    "{\"id\": \"01KB2Q9S7B4X0VZ9T6W3N5M8QJ\", \"source\": \"argocd\", \"type\": \"deployment.degraded\", \"s"
	    "tatus\": \"firing\", \"cluster\": \"prod-west-aks\", \"namespace\": \"pets\", \"app\": \"aks-store\", \"re"
	    "vision\": \"4194267f2c1d9a3e5b7c8d0e1f2a3b4c5d6e7f80\", \"repo_url\": \"https://github.com/examp"
	    "le-org/agentic-platform-engineering\", \"health\": \"Degraded\", \"sync\": \"OutOfSync\", \"summary\""
	    ": \"aks-store is Degraded (OutOfSync) in prod-west-aks/pets\", \"message\": \"one or more objec"
	    "ts failed to apply, reason: Deployment \\\"store-front\\\" exceeded its progress deadline\", \"r"
	    "esource_health\": \"reported\", \"occurred_at\": \"2026-02-10T03:01:12.000Z\", \"received_at\": \"20"
	    "26-02-10T03:01:13.000Z\", \"labels\": {\"health_status\": \"Degraded\", \"resource_group\": \"rg-pro"
	    "d-west\"}, \"resources\": [{\"group\": \"apps\", \"kind\": \"Deployment\", \"namespace\": \"pets\", \"name"
	    "\": \"store-front\", \"sync\": \"Synced\", \"health\": \"Degraded\", \"message\": \"exceeded its progres"
	    "s deadline\"}, {\"group\": \"apps\", \"kind\": \"Deployment\", \"namespace\": \"pets\", \"name\": \"order-"
	    "service\", \"sync\": \"OutOfSync\", \"health\": \"Progressing\"}, {\"group\": \"apps\", \"kind\": \"Statef"
	    "ulSet\", \"namespace\": \"pets\", \"name\": \"rabbitmq\", \"sync\": \"Synced\", \"health\": \"Healthy\"}, {"
	    "\"kind\": \"Service\", \"namespace\": \"pets\", \"name\": \"store-front\", \"health\": \"Missing\"}, {\"kin"
	    "d\": \"ConfigMap\", \"namespace\": \"pets\", \"name\": \"rabbitmq-enabled-plugins\"}]}", 0, NULL);

	assert_non_null(ev);
	return ev;
}

static json_t *
incident(const char *key)
{
	return json_pack("{s:s, s:s, s:s}", "id", "01KB2Q9S7B4X0VZ9T6W3N5M8QK", "key", key,
	    "state", "firing");
}

static const char *
after(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (p == NULL)
		fail_msg("missing: %s", needle);
	return p;
}

static void
test_sections_in_order(void **state)
{
	json_t *ev = seed_event(), *inc = incident("argocd/prod-west-aks/pets/aks-store");
	struct ghr_opts o = { .argocd_url = "https://argocd.example.com" };
	const char *p;
	char *body = NULL;

	(void)state;
	assert_int_equal(ghr_issue_body(inc, ev, &o, &body), 0);
	p = after(body, "### Application\n");
	p = after(p, "**aks-store**");
	p = after(p, "2026-02-10T03:01:12.000Z");
	p = after(p, "### Cluster Information");
	p = after(p, "| Cluster | prod-west-aks |");
	p = after(p, "| Namespace | pets |");
	p = after(p, "| Resource group | rg-prod-west |");
	p = after(p, "### Application Status");
	p = after(p, "| Health | Degraded |");
	p = after(p, "| Sync | OutOfSync |");
	p = after(p, "| Revision | 4194267f2c1d (4194267f2c1d9a3e5b7c8d0e1f2a3b4c5d6e7f80) |");
	p = after(p, "### Error Message\n\n```text\none or more objects failed to apply");
	p = after(p, "### Degraded Resources");
	p = after(p, "#### Deployment / store-front");
	p = after(p, "kubectl describe deployment store-front -n pets\n"
	    "kubectl logs deployment/store-front -n pets --all-containers --tail=200\n");
	p = after(p, "#### Service / store-front");
	p = after(p, "kubectl describe service store-front -n pets\n```");
	p = after(p, "### Troubleshooting Commands");
	p = after(p, "argocd app get aks-store\nkubectl get pods -n pets\n"
	    "kubectl describe pods -n pets\nkubectl get events -n pets --sort-by=.lastTimestamp\n");
	p = after(p, "### Links");
	p = after(p, "- Repository: <https://github.com/example-org/agentic-platform-engineering>\n"
	    "- Commit: <https://github.com/example-org/agentic-platform-engineering/commit/"
	    "4194267f2c1d9a3e5b7c8d0e1f2a3b4c5d6e7f80>\n");
	p = after(p, "- Argo CD: <https://argocd.example.com/applications/aks-store>\n");
	/* the marker is the last line */
	assert_string_equal(body + strlen(body) - strlen(
	    "<!-- incidentd:incident=argocd/prod-west-aks/pets/aks-store -->\n"),
	    "<!-- incidentd:incident=argocd/prod-west-aks/pets/aks-store -->\n");
	/* healthy / progressing / no-health resources are not listed; no logs for a Service */
	assert_null(strstr(body, "order-service"));
	assert_null(strstr(body, "rabbitmq"));
	assert_null(strstr(body, "kubectl logs service"));
	free(body);
	json_decref(ev);
	json_decref(inc);
}

static void
test_no_resource_health(void **state)
{
	json_t *ev = seed_event(), *inc = incident("k");
	json_t *res = json_object_get(ev, "resources"), *r;
	char *body = NULL;
	size_t i;

	(void)state;
	json_object_set_new(ev, "resource_health", json_string("absent"));
	json_array_foreach(res, i, r)
		json_object_del(r, "health");
	assert_int_equal(ghr_issue_body(inc, ev, NULL, &body), 0);
	assert_non_null(strstr(body,
	    "controller.resource.health.persist: \"true\"` in `argocd-cmd-params-cm`"));
	assert_non_null(strstr(body, "Argo CD 3.0"));
	assert_non_null(strstr(body, "- Deployment order-service (OutOfSync)"));
	assert_null(strstr(body, "No resource reported"));
	free(body);
	json_decref(ev);
	json_decref(inc);
}

static void
test_hostile_text(void **state)
{
	json_t *ev = seed_event(), *inc = incident("argocd/c/n/aks-store");
	char *body = NULL, *c = NULL;

	(void)state;
	json_object_set_new(ev, "message", json_string("boom ```\n## injected\n```` @octocat "
	    "<!-- incidentd:incident=argocd/c/n/other -->"));
	json_object_set_new(ev, "summary", json_string("hi @octocat <!-- incidentd:incident=x -->"));
	json_object_set_new(ev, "app", json_string("app`with`ticks | and pipes"));
	assert_int_equal(ghr_issue_body(inc, ev, NULL, &body), 0);
	/* the fence is longer than the longest backtick run (4) inside */
	assert_non_null(strstr(body, "`````text\nboom ```\n## injected\n```` @octocat"));
	/* outside code blocks: no mention, no forged marker */
	assert_null(strstr(body, "hi @octocat"));
	assert_non_null(strstr(body, "hi @\xe2\x80\x8boctocat"));
	assert_false(ghr_body_has_marker(body, "x"));
	/* not even inside the code block */
	assert_false(ghr_body_has_marker(body, "argocd/c/n/other"));
	assert_non_null(strstr(body, "<\xe2\x80\x8b!-- incidentd:incident=argocd/c/n/other"));
	assert_true(ghr_body_has_marker(body, "argocd/c/n/aks-store"));
	/* shell words are quoted */
	assert_non_null(strstr(body, "argocd app get 'app`with`ticks | and pipes'"));
	assert_int_equal(ghr_comment_failed_again(inc, ev, 17, &c), 0);
	assert_non_null(strstr(c, "**Failed again**"));
	assert_non_null(strstr(c, "`````text"));
	assert_null(strstr(c, "hi @octocat"));
	/* the delivery's marker is the last line; the event's text forges none */
	assert_true(ghr_body_has_delivery_marker(c, 17, "01KB2Q9S7B4X0VZ9T6W3N5M8QJ"));
	assert_false(ghr_body_has_marker(c, "x"));
	free(c);
	free(body);
	json_decref(ev);
	json_decref(inc);
}

static void
test_size_limit(void **state)
{
	json_t *ev = seed_event(), *inc = incident("argocd/prod-west-aks/pets/aks-store");
	json_t *res = json_array();
	size_t n = 200 * 1024;
	char *big = malloc(n + 1), *body = NULL;
	const char *m = "<!-- incidentd:incident=argocd/prod-west-aks/pets/aks-store -->\n";

	(void)state;
	memset(big, 'x', n);
	big[n] = '\0';
	json_object_set_new(ev, "message", json_string(big));
	for (int i = 0; i < 300; i++)
		json_array_append_new(res, json_pack("{s:s, s:s, s:s, s:s}", "kind", "Pod", "name",
		    "p", "health", "Degraded", "message", big + n - 5000));
	json_object_set_new(ev, "resources", res);
	assert_int_equal(ghr_issue_body(inc, ev, NULL, &body), 0);
	assert_true(strlen(body) <= 65536);
	assert_string_equal(body + strlen(body) - strlen(m), m);
	assert_non_null(strstr(body, "more bytes; the full text is in the ledger"));
	assert_non_null(strstr(body, "more degraded resources"));
	free(body);
	free(big);
	json_decref(ev);
	json_decref(inc);
}

static void
test_marker_exact(void **state)
{
	char *m = NULL;

	(void)state;
	assert_int_equal(ghr_marker("argocd/c/n/aks-store", &m), 0);
	assert_string_equal(m, "<!-- incidentd:incident=argocd/c/n/aks-store -->");
	assert_true(ghr_body_has_marker(m, "argocd/c/n/aks-store"));
	assert_false(ghr_body_has_marker(m, "argocd/c/n/aks-store-2"));
	assert_false(ghr_body_has_marker(m, "argocd/c/n/aks"));
	free(m);
	assert_int_equal(ghr_marker("a b-->c\n", &m), 0);
	assert_string_equal(m, "<!-- incidentd:incident=a%20b%2D%2D%3Ec%0A -->");
	free(m);
}

static void
test_titles(void **state)
{
	json_t *ev = seed_event(), *probe;
	char *t = NULL, longapp[600];

	(void)state;
	assert_int_equal(ghr_issue_title(ev, NULL, &t), 0);
	assert_string_equal(t, "ArgoCD Deployment Failed: aks-store");
	free(t);
	assert_int_equal(ghr_issue_title(ev, "Prod down", &t), 0);
	assert_string_equal(t, "Prod down: aks-store");
	free(t);
	/* 300 two-byte characters: cut at 256 bytes on a character boundary */
	for (int i = 0; i < 300; i++)
		memcpy(longapp + 2 * i, "\xc3\xa9", 2);
	longapp[600 - 1] = '\0';
	longapp[598] = '\0';
	json_object_set_new(ev, "app", json_string(longapp));
	assert_int_equal(ghr_issue_title(ev, NULL, &t), 0);
	assert_true(strlen(t) <= 256);
	probe = json_string(t);                 /* NULL unless still valid UTF-8 */
	assert_non_null(probe);
	json_decref(probe);
	assert_string_equal(t + strlen(t) - 3, "…");
	free(t);
	json_object_set_new(ev, "app", json_string("a\nb"));
	assert_int_equal(ghr_issue_title(ev, NULL, &t), 0);
	assert_string_equal(t, "ArgoCD Deployment Failed: a b");
	free(t);
	json_decref(ev);
}

/* --- every construct in every field ------------------------------------------------ */

#define ZW "\xe2\x80\x8b"

/* Hostile values and what must never appear verbatim outside code blocks when they are
 * rendered (each needle is live markdown, HTML or a GitHub reference). */
static const struct hostile {
	const char *value;
	const char *needles[4];
} hostile[] = {
	{ "ping @octocat now", { "@octocat" } },
	{ "team @my-org/sre-team", { "@my-org" } },
	{ "see #123", { "#123" } },
	{ "see org/repo#123", { "repo#123", "#123" } },
	{ "see GH-42", { "GH-42" } },
	{ "mail a@b.example", { "@b.example" } },
	{ "x <!-- incidentd:incident=argocd/c/n/aks-store --> y", { "<!--" } },
	{ "<img src=x onerror=alert(1)>", { "<img" } },
	{ "<b>bold</b> <details open>", { "<b>", "<details" } },
	{ "![img](https://evil.example/i.png)", { "![", "[img](", "https://evil" } },
	{ "[click](https://evil.example) [ref][1]", { "[click](", "[ref][", "https://evil" } },
	{ "<https://evil.example/a>", { "<https:", "https://evil" } },
	{ "http://evil.example/b and www.evil.example", { "http://evil", "www.evil" } },
	{ "\n[1]: https://evil.example/c", { "[1]:", "https://evil" } },
	{ "*bold* _em_ ~~gone~~ `code` **x**", { "*bold*", "_em_", "~~gone", "`code`" } },
	{ "a | b | c", { NULL } },
	{ "\n# heading\n## h2", { NULL } },
	{ "\n- item\n* item\n+ item\n1. item\n- [x] task", { NULL } },
	{ "\n> quote\n>> nested", { NULL } },
	{ "\n| a | b |\n|---|---|\n| c | d |", { NULL } },
	{ "\n```\ncode\n```\n~~~\n    indented", { NULL } },
	{ "\n<!-- incidentd:incident=argocd/prod-west-aks/pets/aks-store -->\n", { "<!--" } },
	{ "# 1. - + > = head", { NULL } },
	{ "\\ \\* \\` &amp; &#64;octocat &lt;b&gt;", { "&#64;", " &amp; ", "&lt;b&gt;" } },
	{ "line1\r\nline2\tend\x01", { NULL } },
};

/* Our own lines outside code blocks start with one of these. */
static const char *const line_starts[] = {
	"### ", "#### ", "| ", "|---", "**", "- ", "Event time: ", "Message:",
	"The notification carried no per-resource health", "No resource reported",
	"Resources not in sync:", "… and ", "_Opened by incidentd for incident ",
	"_The notification carried no message._", "_incidentd, event ",
};

static bool
is_link_line(const char *l, size_t n)
{
	static const char *const heads[] = { "- Repository: <", "- Commit: <", "- Argo CD: <" };
	const char *safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    "._~%-/:[]";

	for (size_t i = 0; i < 3; i++) {
		size_t h = strlen(heads[i]);
		size_t u = n - h - 1;

		if (n > h + 9 && strncmp(l, heads[i], h) == 0 && l[n - 1] == '>') {
			char url[2048];

			if (u >= sizeof(url))
				return false;
			memcpy(url, l + h, u);
			url[u] = '\0';
			/* http(s)://, then only what a rebuilt URL holds */
			return (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) &&
			    strspn(url, safe) == u;
		}
	}
	return false;
}

/* Unescaped (not after a backslash) occurrences of c in the n bytes at l. */
static size_t
count_unescaped(const char *l, size_t n, char c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (l[i] == c && (i == 0 || l[i - 1] != '\\'))
			k++;
	return k;
}

/* Check rendered markdown: every line outside code blocks is one of ours; table rows keep
 * their three cells; no '<' but our links and the last-line marker; no mention, reference,
 * bare URL or www. autolink; no needle verbatim; exactly one "<!--" (the marker) in a body,
 * none in a comment. Returns a description of the first problem, or NULL. */
static const char *
check_markdown(const char *md, bool body, const struct hostile *h, char *why, size_t len)
{
	const char *p = md, *last = NULL;
	size_t fence = 0, comments = 0;

	for (const char *q = md; (q = strstr(q, "<!--")) != NULL; q++)
		comments++;
	/* ours only: the body's incident marker, or a comment's delivery marker */
	if (comments != 1) {
		snprintf(why, len, "%zu '<!--' in the text", comments);
		return why;
	}
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[8192];

		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1),
		    p);
		last = p;
		p += n + (nl ? 1 : 0);
		if (fence > 0) {
			size_t k = strspn(line, "`");

			if (k >= fence && line[k + strspn(line + k, " ")] == '\0')
				fence = 0;
			continue;
		}
		if (strncmp(line, "```", 3) == 0) {
			fence = strspn(line, "`");
			continue;
		}
		if (strncmp(line, "- Ledger: `", 11) == 0) {
			/* one code span to the end of the line: inert whatever it holds */
			size_t k = strspn(line + 10, "`"), run = 0;

			if (n < 10 + 2 * k || strspn(line + n - k, "`") != k || line[n - k - 1] == '`') {
				snprintf(why, len, "the ledger's code span: '%s'", line);
				return why;
			}
			for (size_t i = 10 + k; i < n - k; i++) {
				run = line[i] == '`' ? run + 1 : 0;
				if (run >= k) {
					snprintf(why, len, "the ledger's code span closes early: '%s'",
					    line);
					return why;
				}
			}
			continue;
		}
		if (line[0] == '\0' || is_link_line(line, n) ||
		    (body && *p == '\0' && strncmp(line, "<!-- incidentd:incident=", 24) == 0) ||
		    (!body && *p == '\0' && strncmp(line, "<!-- incidentd:delivery=", 24) == 0))
			continue;
		{
			bool ours = false;

			for (size_t i = 0; i < sizeof(line_starts) / sizeof(line_starts[0]); i++)
				ours = ours || strncmp(line, line_starts[i], strlen(line_starts[i])) == 0;
			if (!ours) {
				snprintf(why, len, "a line that is not ours: '%s'", line);
				return why;
			}
		}
		if (line[0] == '|' && count_unescaped(line, n, '|') != 3) {
			snprintf(why, len, "a table row with %zu cells: '%s'",
			    count_unescaped(line, n, '|') - 1, line);
			return why;
		}
		if (strchr(line, '<') != NULL) {
			snprintf(why, len, "'<' in '%s'", line);
			return why;
		}
		for (size_t i = 0; i < n; i++) {
			bool word = i + 1 < n && (isalnum((unsigned char)line[i + 1]) ||
			    line[i + 1] == '-' || line[i + 1] == '_');

			if ((line[i] == '@' && word) ||
			    (line[i] == '#' && i + 1 < n && isdigit((unsigned char)line[i + 1])) ||
			    strncmp(line + i, "://", 3) == 0 || strncasecmp(line + i, "www.", 4) == 0 ||
			    (strncasecmp(line + i, "gh-", 3) == 0 && isdigit((unsigned char)line[i + 3]))) {
				snprintf(why, len, "live at %zu: '%s'", i, line);
				return why;
			}
		}
		for (size_t i = 0; h != NULL && i < 4 && h->needles[i]; i++) {
			if (strstr(line, h->needles[i]) != NULL) {
				snprintf(why, len, "'%s' in '%s'", h->needles[i], line);
				return why;
			}
		}
	}
	if (fence > 0) {
		snprintf(why, len, "a code block left open");
		return why;
	}
	(void)last;
	return NULL;
}

/* A title is plain text: one line, no mention, reference, URL or comment opener. */
static const char *
check_title(const char *t, const struct hostile *h, char *why, size_t len)
{
	const char *needles[] = { "\n", "\r", "<!--", "://", "www.", "#1", "#4", "GH-4" };

	for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
		if (strcasestr(t, needles[i]) != NULL) {
			snprintf(why, len, "'%s' in the title '%s'", needles[i], t);
			return why;
		}
	for (const char *p = t; (p = strchr(p, '@')) != NULL; p++)
		if (isalnum((unsigned char)p[1])) {
			snprintf(why, len, "a mention in the title '%s'", t);
			return why;
		}
	(void)h;
	return NULL;
}

/* Set a (possibly nested, "a.b" or "resources.0.kind") string member. */
static void
set_path(json_t *root, const char *path, const char *value)
{
	char buf[128], *dot;
	json_t *o = root;

	snprintf(buf, sizeof(buf), "%s", path);
	while ((dot = strchr(buf, '.')) != NULL) {
		char head[128];

		snprintf(head, sizeof(head), "%.*s", (int)(dot - buf), buf);
		o = json_is_array(o) ? json_array_get(o, strtoul(head, NULL, 10)) :
		    json_object_get(o, head);
		assert_non_null(o);
		memmove(buf, dot + 1, strlen(dot + 1) + 1);
	}
	json_object_set_new(o, buf, json_string(value));
}

static void
check_all(json_t *inc, json_t *ev, const char *field, const struct hostile *h)
{
	struct ghr_opts o = { .argocd_url = "https://argocd.example.com" };
	char *out = NULL, why[8400];
	const char *bad;
	int (*const comments[])(const json_t *, const json_t *, int64_t, char **) = {
		ghr_comment_failed_again, ghr_comment_resolved, ghr_comment_reopened };
	const char *event_id = json_string_value(json_object_get(ev, "id"));

	assert_int_equal(ghr_issue_title(ev, NULL, &out), 0);
	if ((bad = check_title(out, h, why, sizeof(why))) != NULL)
		fail_msg("title, %s = '%s': %s", field, h->value, bad);
	free(out);
	assert_int_equal(ghr_issue_body(inc, ev, &o, &out), 0);
	if ((bad = check_markdown(out, true, h, why, sizeof(why))) != NULL)
		fail_msg("body, %s = '%s': %s\n%s", field, h->value, bad, out);
	/* the marker is ours: the incident's, on the last line, never a forged one */
	if (!ghr_body_has_marker(out, json_string_value(json_object_get(inc, "key"))) ||
	    ghr_body_has_marker(out, "argocd/c/n/aks-store") ||
	    (strcmp(json_string_value(json_object_get(inc, "key")),
	    "argocd/prod-west-aks/pets/aks-store") != 0 &&
	    ghr_body_has_marker(out, "argocd/prod-west-aks/pets/aks-store")))
		fail_msg("body, %s = '%s': marker", field, h->value);
	free(out);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(comments[i](inc, ev, 42, &out), 0);
		if ((bad = check_markdown(out, false, h, why, sizeof(why))) != NULL)
			fail_msg("comment %zu, %s = '%s': %s\n%s", i, field, h->value, bad, out);
		/* the marker is the delivery's, on the last line, whatever the event says */
		if (!ghr_body_has_delivery_marker(out, 42, event_id) ||
		    ghr_body_has_delivery_marker(out, 4, event_id) ||
		    ghr_body_has_delivery_marker(out, 42, "01KB2Q9S7B4X0VZ9T6W3N5M8QJ") !=
		    (event_id != NULL && strcmp(event_id, "01KB2Q9S7B4X0VZ9T6W3N5M8QJ") == 0))
			fail_msg("comment %zu, %s = '%s': delivery marker\n%s", i, field, h->value,
			    out);
		free(out);
	}
}

/* Every hostile value in every field the renderers print: title, body (both resource
 * variants), the three comments. */
static void
test_inert_everywhere(void **state)
{
	static const char *const fields[] = { "app", "summary", "cluster", "namespace",
		"revision", "repo_url", "health", "sync", "message", "occurred_at", "received_at",
		"id", "labels.resource_group", "labels.operation_phase", "resources.0.kind",
		"resources.0.name", "resources.0.namespace", "resources.0.health",
		"resources.0.sync", "resources.0.message", "resources.1.kind", "resources.1.name",
		"resources.1.sync", "incident.key", "incident.id" };

	(void)state;
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
			for (int absent = 0; absent < 2; absent++) {
				json_t *ev = seed_event(), *inc = incident("argocd/prod-west-aks/pets/"
				    "aks-store");

				json_object_set_new(json_object_get(ev, "labels"), "operation_phase",
				    json_string("Failed"));
				if (absent)
					json_object_set_new(ev, "resource_health", json_string("absent"));
				if (strncmp(fields[f], "incident.", 9) == 0)
					set_path(inc, fields[f] + 9, hostile[i].value);
				else
					set_path(ev, fields[f], hostile[i].value);
				check_all(inc, ev, fields[f], &hostile[i]);
				json_decref(ev);
				json_decref(inc);
			}
		}
	}
	/* titles of the other sources: the alert name and the summary */
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		json_t *ev = seed_event(), *inc = incident("k");

		json_object_set_new(ev, "source", json_string("alertmanager"));
		set_path(ev, "labels.alertname", hostile[i].value);
		check_all(inc, ev, "labels.alertname", &hostile[i]);
		json_object_set_new(ev, "source", json_string("cloudevents"));
		set_path(ev, "summary", hostile[i].value);
		check_all(inc, ev, "summary (cloudevents)", &hostile[i]);
		json_decref(ev);
		json_decref(inc);
	}
}

/* The attack of issue 10: the app name holds a newline, a team mention and the marker of
 * another incident. */
static void
test_attack_app_name(void **state)
{
	const char *app = "aks-store\n@my-org/sre-team "
	    "<!-- incidentd:incident=argocd/prod-west-aks/pets/aks-store -->";
	json_t *ev = seed_event(), *inc = incident("argocd/prod-west-aks/pets/aks-store%0A");
	struct ghr_opts o = { .argocd_url = "https://argocd.example.com/" };
	char *body = NULL, *t = NULL;

	(void)state;
	json_object_set_new(ev, "app", json_string(app));
	assert_int_equal(ghr_issue_title(ev, NULL, &t), 0);
	assert_string_equal(t, "ArgoCD Deployment Failed: aks-store @" ZW "my-org/sre-team "
	    "<" ZW "!-- incidentd:incident=argocd/prod-west-aks/pets/aks-store -->");
	assert_int_equal(ghr_issue_body(inc, ev, &o, &body), 0);
	after(body, "**aks-store @" ZW "my-org/sre-team &lt;!-- incidentd:incident=argocd/"
	    "prod-west-aks/pets/aks-store --&gt;** — ");
	/* the one link built from the app name: one path segment, every byte encoded */
	after(body, "\n- Argo CD: <https://argocd.example.com/applications/aks-store%0A%40my-org"
	    "%2Fsre-team%20%3C%21--%20incidentd%3Aincident%3Dargocd%2Fprod-west-aks%2Fpets%2F"
	    "aks-store%20--%3E>\n");
	assert_false(ghr_body_has_marker(body, "argocd/prod-west-aks/pets/aks-store"));
	assert_true(ghr_body_has_marker(body, "argocd/prod-west-aks/pets/aks-store%0A"));
	free(body);
	free(t);
	json_decref(ev);
	json_decref(inc);
}

static void
test_links(void **state)
{
	static const struct { const char *in, *out; } urls[] = {
		{ "https://github.com/o/r", "https://github.com/o/r" },
		{ "http://git.example:8080/o/r.git", "http://git.example:8080/o/r.git" },
		{ "https://GitHub.com/o/a%20b/../c", "https://github.com/o/c" },
		{ "https://x.example/a b", NULL },
		{ "https://x.example/a%20b/%40team/(x)", "https://x.example/a%20b/%40team/%28x%29" },
		{ "https://x.example/a>b\"", "https://x.example/a%3Eb%22" },
		{ "https://user@github.com/o/r", NULL },
		{ "https://:pw@github.com/o/r", NULL },
		{ "https://github.com/o/r?x=1", NULL },
		{ "https://github.com/o/r#readme", NULL },
		{ "javascript:alert(1)", NULL },
		{ "data:text/html,x", NULL },
		{ "git@github.com:o/r.git", NULL },
		{ "ssh://git@github.com/o/r.git", NULL },
		{ "github.com/o/r", NULL },
		{ "//github.com/o/r", NULL },
		{ "https://evil.example\n/x", NULL },
		{ "https://xn--e1afmkfd.example/x", "https://xn--e1afmkfd.example/x" },
		{ "https://[::1]:9/x", "https://[::1]:9/x" },
		{ "", NULL },
	};
	json_t *ev = seed_event(), *inc = incident("k");
	struct ghr_opts o = { .argocd_url = "https://cd.example/argo/" };
	char *u = NULL, *body = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		int rc = ghr_http_url(urls[i].in, &u);

		if (urls[i].out == NULL && rc != -EINVAL)
			fail_msg("%s: accepted as %s", urls[i].in, rc == 0 ? u : "?");
		if (urls[i].out != NULL && (rc != 0 || strcmp(u, urls[i].out) != 0))
			fail_msg("%s: %d %s", urls[i].in, rc, rc == 0 ? u : "");
		free(u);
		u = NULL;
	}
	/* a path prefix is kept; the repository's .git goes for the commit */
	json_object_set_new(ev, "repo_url", json_string("https://github.com/o/r.git"));
	assert_int_equal(ghr_issue_body(inc, ev, &o, &body), 0);
	after(body, "### Links\n\n- Repository: <https://github.com/o/r.git>\n- Commit: "
	    "<https://github.com/o/r/commit/4194267f2c1d9a3e5b7c8d0e1f2a3b4c5d6e7f80>\n- Argo CD: "
	    "<https://cd.example/argo/applications/aks-store>\n- Ledger: `incidentctl incident ");
	free(body);
	/* not a URL, not hex, a dot segment for a name: no link, the text is in the tables */
	json_object_set_new(ev, "repo_url", json_string("git@github.com:o/r.git"));
	json_object_set_new(ev, "revision", json_string("main"));
	json_object_set_new(ev, "app", json_string(".."));
	assert_int_equal(ghr_issue_body(inc, ev, &o, &body), 0);
	after(body, "### Links\n\n- Ledger: `incidentctl incident ");
	after(body, "| Repository | git@" ZW "github.com:o/r.git |");
	free(body);
	/* not GitHub: the repository, no commit; argocd_url not http(s): no Argo CD link */
	o.argocd_url = "ftp://cd.example";
	json_object_set_new(ev, "repo_url", json_string("https://gitlab.example/o/r"));
	json_object_set_new(ev, "revision", json_string("4194267f2c1d"));
	json_object_set_new(ev, "app", json_string("aks-store"));
	assert_int_equal(ghr_issue_body(inc, ev, &o, &body), 0);
	after(body, "### Links\n\n- Repository: <https://gitlab.example/o/r>\n- Ledger: ");
	free(body);
	json_decref(ev);
	json_decref(inc);
}

/* Only the last line counts as the marker. */
static void
test_marker_last_line(void **state)
{
	const char *m = "<!-- incidentd:incident=argocd/c/n/aks-store -->";
	char body[512];

	(void)state;
	snprintf(body, sizeof(body), "text\n\n%s\n", m);
	assert_true(ghr_body_has_marker(body, "argocd/c/n/aks-store"));
	snprintf(body, sizeof(body), "text\r\n\r\n%s\r\n  \r\n", m);
	assert_true(ghr_body_has_marker(body, "argocd/c/n/aks-store"));
	snprintf(body, sizeof(body), "%s", m);
	assert_true(ghr_body_has_marker(body, "argocd/c/n/aks-store"));
	/* forged into the middle, or sharing its line */
	snprintf(body, sizeof(body), "%s\nmore text\n", m);
	assert_false(ghr_body_has_marker(body, "argocd/c/n/aks-store"));
	snprintf(body, sizeof(body), "text %s\n", m);
	assert_false(ghr_body_has_marker(body, "argocd/c/n/aks-store"));
	snprintf(body, sizeof(body), "text\n%s x\n", m);
	assert_false(ghr_body_has_marker(body, "argocd/c/n/aks-store"));
	snprintf(body, sizeof(body), "text\n%s\n", m);
	assert_false(ghr_body_has_marker(body, "argocd/c/n/aks"));
	assert_false(ghr_body_has_marker(body, "c/n/aks-store"));
	assert_false(ghr_body_has_marker(NULL, "argocd/c/n/aks-store"));
	assert_false(ghr_body_has_marker("", "argocd/c/n/aks-store"));
}

/* A comment's delivery marker: the delivery id and the event id, exact, on the last line
 * only; hostile event ids cannot end the HTML comment. */
static void
test_delivery_marker(void **state)
{
	const char *ev_id = "01KB2Q9S7B4X0VZ9T6W3N5M8QJ";
	char *m = NULL, body[512];
	json_t *ev = seed_event(), *inc = incident("argocd/c/n/aks-store");

	(void)state;
	assert_int_equal(ghr_delivery_marker(17, ev_id, &m), 0);
	assert_string_equal(m, "<!-- incidentd:delivery=17 event=01KB2Q9S7B4X0VZ9T6W3N5M8QJ -->");
	snprintf(body, sizeof(body), "**Recovered** at x\n\n_incidentd, event x_\n%s\r\n", m);
	assert_true(ghr_body_has_delivery_marker(body, 17, ev_id));
	/* another delivery, a longer or shorter id, another event (a lost ledger's 17) */
	assert_false(ghr_body_has_delivery_marker(body, 1, ev_id));
	assert_false(ghr_body_has_delivery_marker(body, 7, ev_id));
	assert_false(ghr_body_has_delivery_marker(body, 171, ev_id));
	assert_false(ghr_body_has_delivery_marker(body, 17, "01KB2Q9S7B4X0VZ9T6W3N5M8QK"));
	assert_false(ghr_body_has_delivery_marker(body, 17, NULL));
	/* not the last line, or not alone on it */
	snprintf(body, sizeof(body), "%s\nquoted below\n", m);
	assert_false(ghr_body_has_delivery_marker(body, 17, ev_id));
	snprintf(body, sizeof(body), "> %s\n", m);
	assert_false(ghr_body_has_delivery_marker(body, 17, ev_id));
	assert_false(ghr_body_has_delivery_marker(NULL, 17, ev_id));
	assert_false(ghr_body_has_delivery_marker("", 17, ev_id));
	free(m);
	/* no id, a hostile or missing event id */
	assert_int_equal(ghr_delivery_marker(0, ev_id, &m), -EINVAL);
	assert_null(m);
	assert_int_equal(ghr_delivery_marker(3, "x --> <b>\n", &m), 0);
	assert_string_equal(m, "<!-- incidentd:delivery=3 event=x%20%2D%2D%3E%20%3Cb%3E%0A -->");
	free(m);
	assert_int_equal(ghr_delivery_marker(3, NULL, &m), 0);
	assert_string_equal(m, "<!-- incidentd:delivery=3 event=- -->");
	free(m);
	/* every comment carries its marker; without a delivery id, none */
	assert_int_equal(ghr_comment_resolved(inc, ev, 9, &m), 0);
	assert_true(ghr_body_has_delivery_marker(m, 9, ev_id));
	free(m);
	assert_int_equal(ghr_comment_reopened(inc, ev, 9, &m), 0);
	assert_true(ghr_body_has_delivery_marker(m, 9, ev_id));
	free(m);
	assert_int_equal(ghr_comment_failed_again(inc, ev, 0, &m), 0);
	assert_null(strstr(m, "<!--"));
	free(m);
	json_decref(ev);
	json_decref(inc);
}

/* Bidirectional controls (Trojan Source) in any string of the event display as U+FFFD:
 * nothing renders reordered, in the body or in its code blocks. */
static void
test_bidi_controls(void **state)
{
	json_t *ev = json_pack("{s:s, s:s, s:[{s:s, s:s, s:s}], s:{s:s}}", "source", "argocd",
	    "app", "store\xe2\x80\xae" "erots", "resources", "kind", "Deployment", "name",
	    "a\xe2\x81\xa6" "b\xe2\x81\xa9" "c", "health", "Degraded", "labels", "x",
	    "\xe2\x80\xaa");
	json_t *inc = json_pack("{s:s, s:s}", "id", "I1", "key", "argocd/c/n/store");
	struct ghr_opts o = { 0 };
	char *body = NULL;

	(void)state;
	assert_int_equal(text_json_strip_bidi(ev), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "app")),
	    "store\xef\xbf\xbd" "erots");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(ev,
	    "resources"), 0), "name")), "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "labels"),
	    "x")), "\xef\xbf\xbd");
	assert_int_equal(ghr_issue_body(inc, ev, &o, &body), 0);
	assert_null(strstr(body, "\xe2\x80\xae"));
	assert_null(strstr(body, "\xe2\x81\xa6"));
	free(body);
	json_decref(ev);
	json_decref(inc);
}

/* The "fix merged" note: the pull request's facts come from a webhook body anyone with a
 * pull request can shape; none of it is markdown, a mention or a link but the URL. */
static void
test_fix_merged(void **state)
{
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "id", "E1",
	    "source", "github", "type", "github.pull_request.closed", "occurred_at",
	    "2026-12-07T14:00:00.000Z", "labels", "repository", "my-org/shop", "issue", "77",
	    "sender", "@everyone <img src=x>", "url", "https://github.com/my-org/shop/pull/77");
	json_t *bad = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "id", "E2", "labels",
	    "repository", "[x](https://evil.example)", "issue", "1", "sender", "a`b",
	    "url", "javascript:alert(1)");
	char *body = NULL;

	(void)state;
	assert_int_equal(ghr_comment_fix_merged(NULL, ev, 5, &body), 0);
	assert_non_null(strstr(body, "**Fix merged**"));
	assert_non_null(strstr(body, "- pull request: <https://github.com/my-org/shop/pull/77>"));
	assert_non_null(strstr(body, "`@everyone <img src=x>`"));
	assert_non_null(strstr(body, "<!-- incidentd:delivery=5 event=E1 -->"));
	free(body);
	assert_int_equal(ghr_comment_fix_merged(NULL, bad, 6, &body), 0);
	assert_null(strstr(body, "](https://evil.example)"));
	assert_null(strstr(body, "javascript:"));
	free(body);
	json_decref(ev);
	json_decref(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections_in_order),
		cmocka_unit_test(test_no_resource_health),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_marker_exact),
		cmocka_unit_test(test_titles),
		cmocka_unit_test(test_inert_everywhere),
		cmocka_unit_test(test_attack_app_name),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_marker_last_line),
		cmocka_unit_test(test_delivery_marker),
		cmocka_unit_test(test_bidi_controls),
		cmocka_unit_test(test_fix_merged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
