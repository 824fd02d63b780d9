/* test_github_render.c - the github_issue markdown: sections in order, per-kind commands,
 * the Argo CD >= 3.0 no-health note, hostile text, size limits, markers, titles. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "render.h"

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
	p = after(p, "- Commit: https://github.com/example-org/agentic-platform-engineering/commit/"
	    "4194267f2c1d9a3e5b7c8d0e1f2a3b4c5d6e7f80");
	p = after(p, "- Argo CD: https://argocd.example.com/applications/aks-store");
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
	assert_int_equal(ghr_comment_failed_again(inc, ev, &c), 0);
	assert_non_null(strstr(c, "**Failed again**"));
	assert_non_null(strstr(c, "`````text"));
	assert_null(strstr(c, "hi @octocat"));
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
