/* render.c - GitHub issue markdown for incidents (DESIGN.md §7). */
#include "render.h"
#include "strbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GHR_TITLE_MAX 256
#define GHR_BODY_MAX 65536
#define GHR_MSG_MAX 8000           /* error message shown in full up to this */
#define GHR_RES_MSG_MAX 1000

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return (s && *s) ? s : NULL;
}

/* Untrusted text in running markdown (and table cells when cell is true): control
 * characters dropped, '<' as &lt; (no HTML comments, no marker forgery), '|' escaped in
 * cells, newlines as <br> in cells, and a zero-width space after '@' so nobody is
 * mentioned. Backticks are escaped so no code span opens. */
static void
buf_text(struct strbuf *b, const char *s, bool cell, size_t max)
{
	size_t n = 0;

	if (s == NULL) {
		strbuf_str(b, "—");
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
		if (max && n >= max) {
			strbuf_str(b, "…");
			break;
		}
		if (*p == '<')
			strbuf_str(b, "&lt;");
		else if (*p == '>')
			strbuf_str(b, "&gt;");
		else if (*p == '&')
			strbuf_str(b, "&amp;");
		else if (*p == '@')
			strbuf_str(b, "@\xe2\x80\x8b");
		else if (*p == '`' || *p == '*' || *p == '_' || *p == '[' || *p == ']' ||
		    *p == '\\' || *p == '#')
			strbuf_fmt(b, "\\%c", *p);
		else if (*p == '|' && cell)
			strbuf_str(b, "\\|");
		else if (*p == '\n')
			strbuf_str(b, cell ? "<br>" : "  \n");
		else if (*p < 0x20 || *p == 0x7f)
			strbuf_str(b, " ");
		else
			strbuf_add(b, (const char *)p, 1);
	}
}

/* A fenced code block holding untrusted text: the fence is longer than the longest
 * backtick run inside (at least 3), so nothing can close it early. */
static void
buf_code(struct strbuf *b, const char *lang, const char *s, size_t max)
{
	size_t run = 0, longest = 0, len = strlen(s);
	bool cut = max && len > max;

	if (cut)
		len = max;
	for (size_t i = 0; i < len; i++) {
		run = s[i] == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	longest = longest < 3 ? 3 : longest + 1;
	for (size_t i = 0; i < longest; i++)
		strbuf_str(b, "`");
	strbuf_str(b, lang ? lang : "");
	strbuf_str(b, "\n");
	/* keep UTF-8 intact at the cut */
	while (cut && len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || (c < 0x20 && c != '\n' && c != '\t'))
			continue;
		strbuf_add(b, &s[i], 1);
		/* "<!--" inside a code block is shown as is but cannot be a forged marker */
		if (c == '<' && i + 3 < len && memcmp(&s[i + 1], "!--", 3) == 0)
			strbuf_str(b, "\xe2\x80\x8b");
	}
	if (len == 0 || s[len - 1] != '\n')
		strbuf_str(b, "\n");
	if (cut)
		strbuf_fmt(b, "… (%zu more bytes; the full text is in the ledger)\n", strlen(s) - len);
	for (size_t i = 0; i < longest; i++)
		strbuf_str(b, "`");
	strbuf_str(b, "\n");
}

/* Shell word for a command line: only [A-Za-z0-9._/:=@+-] pass as is, anything else is
 * single-quoted ('"'"' for quotes), so a pasted command does what it says. */
static void
buf_shell_word(struct strbuf *b, const char *s)
{
	bool plain = *s != '\0' && *s != '-';

	for (const char *p = s; *p && plain; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._/:=@+-", *p)))
			plain = false;
	if (plain) {
		strbuf_str(b, s);
		return;
	}
	strbuf_str(b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			strbuf_str(b, "'\"'\"'");
		else if ((unsigned char)*p >= 0x20)
			strbuf_add(b, p, 1);
	}
	strbuf_str(b, "'");
}

static void
lower_kind(const char *kind, char *out, size_t len)
{
	size_t i = 0;

	for (; kind[i] && i + 1 < len; i++)
		out[i] = (kind[i] >= 'A' && kind[i] <= 'Z') ? (char)(kind[i] + 32) : kind[i];
	out[i] = '\0';
}

int
ghr_marker(const char *key, char **out)
{
	struct strbuf b = { 0 };

	strbuf_str(&b, "<!-- incidentd:incident=");
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		/* a lone '-' is kept (readable keys); a run of two or more is encoded so the
		 * key can never hold "--" and end the HTML comment */
		bool dash_ok = *p == '-' && p[1] != '-' && (p == (const unsigned char *)key ||
		    p[-1] != '-');

		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("._/:=@+", *p) || dash_ok)
			strbuf_add(&b, (const char *)p, 1);
		else
			strbuf_fmt(&b, "%%%02X", *p);
	}
	strbuf_str(&b, " -->");
	return strbuf_finish(&b, out);
}

bool
ghr_body_has_marker(const char *body, const char *key)
{
	char *m = NULL;
	bool found;

	if (body == NULL || ghr_marker(key, &m) != 0)
		return false;
	/* the marker ends with " -->", so a longer key can never match a shorter one */
	found = strstr(body, m) != NULL;
	free(m);
	return found;
}

/* --- title --------------------------------------------------------------------------- */

int
ghr_issue_title(const json_t *event, const char *prefix, char **out)
{
	const char *source = jstr(event, "source"), *app = jstr(event, "app");
	const char *summary = jstr(event, "summary");
	const char *subject = app ? app : summary ? summary : "unknown";
	char raw[1024];
	size_t n, i, cut;
	struct strbuf b = { 0 };

	if (prefix == NULL) {
		if (source && strcmp(source, "argocd") == 0)
			prefix = "ArgoCD Deployment Failed";
		else if (source && strcmp(source, "alertmanager") == 0) {
			prefix = "Alert";
			subject = jstr(json_object_get(event, "labels"), "alertname");
			if (subject == NULL)
				subject = summary ? summary : "unknown";
		} else if (source && strcmp(source, "flux") == 0)
			prefix = "Flux reconciliation failed";
		else {
			prefix = "Incident";
			subject = summary ? summary : subject;
		}
	}
	snprintf(raw, sizeof(raw), "%s: %s", prefix, subject);
	for (i = 0; raw[i]; i++)
		if ((unsigned char)raw[i] < 0x20 || raw[i] == 0x7f)
			raw[i] = ' ';
	n = strlen(raw);
	if (n <= GHR_TITLE_MAX) {
		strbuf_str(&b, raw);
		return strbuf_finish(&b, out);
	}
	/* cut to 253 bytes on a UTF-8 boundary and add "…" (3 bytes) */
	cut = GHR_TITLE_MAX - 3;
	while (cut > 0 && ((unsigned char)raw[cut] & 0xc0) == 0x80)
		cut--;
	strbuf_add(&b, raw, cut);
	strbuf_str(&b, "…");
	return strbuf_finish(&b, out);
}

/* --- body ---------------------------------------------------------------------------- */

static bool
is_bad_health(const char *h)
{
	return h && (strcmp(h, "Degraded") == 0 || strcmp(h, "Missing") == 0 ||
	    strcmp(h, "Unknown") == 0);
}

static bool
has_logs(const char *kind)
{
	return kind && (strcmp(kind, "Pod") == 0 || strcmp(kind, "Deployment") == 0 ||
	    strcmp(kind, "StatefulSet") == 0 || strcmp(kind, "DaemonSet") == 0);
}

/* One degraded resource block. */
static void
render_resource(struct strbuf *b, const json_t *r, const char *app_ns, size_t msg_max)
{
	const char *kind = jstr(r, "kind"), *name = jstr(r, "name");
	const char *ns = jstr(r, "namespace") ? jstr(r, "namespace") : app_ns;
	char lk[64];

	strbuf_str(b, "#### ");
	buf_text(b, kind ? kind : "Resource", false, 64);
	strbuf_str(b, " / ");
	buf_text(b, name, false, 253);
	strbuf_str(b, "\n\n| | |\n|---|---|\n| Namespace | ");
	buf_text(b, ns, true, 253);
	strbuf_str(b, " |\n| Health | ");
	buf_text(b, jstr(r, "health"), true, 64);
	strbuf_str(b, " |\n| Sync | ");
	buf_text(b, jstr(r, "sync"), true, 64);
	strbuf_str(b, " |\n\n");
	if (jstr(r, "message")) {
		strbuf_str(b, "Message:\n\n");
		buf_code(b, "text", jstr(r, "message"), msg_max);
		strbuf_str(b, "\n");
	}
	if (kind == NULL || name == NULL)
		return;
	lower_kind(kind, lk, sizeof(lk));
	strbuf_str(b, "```sh\nkubectl describe ");
	buf_shell_word(b, lk);
	strbuf_str(b, " ");
	buf_shell_word(b, name);
	if (ns) {
		strbuf_str(b, " -n ");
		buf_shell_word(b, ns);
	}
	strbuf_str(b, "\n");
	if (has_logs(kind)) {
		strbuf_str(b, "kubectl logs ");
		if (strcmp(kind, "Pod") == 0) {
			buf_shell_word(b, name);
		} else {
			char ref[512];

			snprintf(ref, sizeof(ref), "%s/%s", lk, name);
			buf_shell_word(b, ref);
		}
		if (ns) {
			strbuf_str(b, " -n ");
			buf_shell_word(b, ns);
		}
		strbuf_str(b, " --all-containers --tail=200\n");
	}
	strbuf_str(b, "```\n\n");
}

/* The body with messages cut to msg_max/res_max and at most max_res resource blocks. */
static int
render_body(const json_t *incident, const json_t *ev, const struct ghr_opts *o,
    size_t msg_max, size_t res_max, size_t max_res, char **out)
{
	struct strbuf b = { 0 };
	const json_t *labels = json_object_get(ev, "labels");
	const json_t *res = json_object_get(ev, "resources"), *r;
	const char *app = jstr(ev, "app"), *ns = jstr(ev, "namespace");
	const char *rev = jstr(ev, "revision"), *repo = jstr(ev, "repo_url");
	const char *key = jstr(incident, "key");
	const char *source = jstr(ev, "source");
	bool argocd = source && strcmp(source, "argocd") == 0;
	bool absent = jstr(ev, "resource_health") &&
	    strcmp(jstr(ev, "resource_health"), "absent") == 0;
	size_t i, shown = 0, bad = 0;
	char *marker = NULL;
	int rc;

	strbuf_str(&b, "### Application\n\n**");
	buf_text(&b, app, false, 253);
	strbuf_str(&b, "** — ");
	buf_text(&b, jstr(ev, "summary"), false, 500);
	strbuf_str(&b, "\n\nEvent time: ");
	buf_text(&b, jstr(ev, "occurred_at"), false, 64);
	strbuf_str(&b, " · received ");
	buf_text(&b, jstr(ev, "received_at"), false, 64);
	strbuf_str(&b, "\n\n### Cluster Information\n\n| | |\n|---|---|\n| Cluster | ");
	buf_text(&b, jstr(ev, "cluster"), true, 253);
	strbuf_str(&b, " |\n| Namespace | ");
	buf_text(&b, ns, true, 253);
	strbuf_str(&b, " |\n");
	if (jstr(labels, "resource_group")) {
		strbuf_str(&b, "| Resource group | ");
		buf_text(&b, jstr(labels, "resource_group"), true, 253);
		strbuf_str(&b, " |\n");
	}
	strbuf_str(&b, "\n### Application Status\n\n| | |\n|---|---|\n| Health | ");
	buf_text(&b, jstr(ev, "health"), true, 64);
	strbuf_str(&b, " |\n| Sync | ");
	buf_text(&b, jstr(ev, "sync"), true, 64);
	if (jstr(labels, "operation_phase")) {
		strbuf_str(&b, " |\n| Operation | ");
		buf_text(&b, jstr(labels, "operation_phase"), true, 64);
	}
	strbuf_str(&b, " |\n| Revision | ");
	if (rev) {
		char shortrev[13];

		snprintf(shortrev, sizeof(shortrev), "%s", rev);
		buf_text(&b, shortrev, true, 12);
		strbuf_str(&b, " (");
		buf_text(&b, rev, true, 100);
		strbuf_str(&b, ")");
	} else {
		strbuf_str(&b, "—");
	}
	strbuf_str(&b, " |\n| Repository | ");
	buf_text(&b, repo, true, 500);
	strbuf_str(&b, " |\n\n### Error Message\n\n");
	if (jstr(ev, "message"))
		buf_code(&b, "text", jstr(ev, "message"), msg_max);
	else
		strbuf_str(&b, "_The notification carried no message._\n");

	strbuf_str(&b, "\n### Degraded Resources\n\n");
	json_array_foreach(res, i, r)
		if (is_bad_health(jstr(r, "health")))
			bad++;
	if (absent) {
		strbuf_str(&b, "The notification carried no per-resource health: since Argo CD 3.0 "
		    "resource health lives in the application tree and is not sent by default. "
		    "To include it, set `controller.resource.health.persist: \"true\"` in "
		    "`argocd-cmd-params-cm` (see the Argo CD 2.14 → 3.0 upgrade notes), or "
		    "inspect the app with `argocd app get` below.\n\n");
		json_array_foreach(res, i, r) {
			const char *sync = jstr(r, "sync");

			if (sync && strcmp(sync, "Synced") != 0 && shown < max_res) {
				if (shown++ == 0)
					strbuf_str(&b, "Resources not in sync:\n\n");
				strbuf_str(&b, "- ");
				buf_text(&b, jstr(r, "kind"), false, 64);
				strbuf_str(&b, " ");
				buf_text(&b, jstr(r, "name"), false, 253);
				strbuf_str(&b, " (");
				buf_text(&b, sync, false, 64);
				strbuf_str(&b, ")\n");
			}
		}
		if (shown)
			strbuf_str(&b, "\n");
	} else if (bad == 0) {
		strbuf_str(&b, "No resource reported Degraded, Missing or Unknown health.\n\n");
	} else {
		json_array_foreach(res, i, r) {
			if (!is_bad_health(jstr(r, "health")))
				continue;
			if (shown == max_res) {
				strbuf_fmt(&b, "… and %zu more degraded resources (see the ledger).\n\n",
				    bad - shown);
				break;
			}
			render_resource(&b, r, ns, res_max);
			shown++;
		}
	}

	strbuf_str(&b, "### Troubleshooting Commands\n\n```sh\n");
	if (argocd && app) {
		strbuf_str(&b, "argocd app get ");
		buf_shell_word(&b, app);
		strbuf_str(&b, "\n");
	}
	if (ns) {
		strbuf_str(&b, "kubectl get pods -n ");
		buf_shell_word(&b, ns);
		strbuf_str(&b, "\nkubectl describe pods -n ");
		buf_shell_word(&b, ns);
		strbuf_str(&b, "\nkubectl get events -n ");
		buf_shell_word(&b, ns);
		strbuf_str(&b, " --sort-by=.lastTimestamp\n");
	} else {
		strbuf_str(&b, "kubectl get events -A --sort-by=.lastTimestamp\n");
	}
	strbuf_str(&b, "```\n\n### Links\n\n");
	if (repo && strncmp(repo, "https://", 8) == 0 && strpbrk(repo, " ()<>\"'`") == NULL) {
		size_t rl = strlen(repo);

		strbuf_fmt(&b, "- Repository: %.*s\n", (int)(rl > 400 ? 400 : rl), repo);
		if (rev && strncmp(repo, "https://github.com/", 19) == 0 &&
		    strspn(rev, "0123456789abcdef") == strlen(rev) && strlen(rev) >= 7) {
			if (rl > 4 && strcmp(repo + rl - 4, ".git") == 0)
				rl -= 4;
			strbuf_fmt(&b, "- Commit: %.*s/commit/%.64s\n", (int)(rl > 400 ? 400 : rl), repo,
			    rev);
		}
	}
	if (argocd && app && o->argocd_url)
		strbuf_fmt(&b, "- Argo CD: %.300s/applications/%.253s\n", o->argocd_url, app);
	strbuf_str(&b, "- Ledger: `incidentctl incident ");
	buf_text(&b, jstr(incident, "id"), false, 64);
	strbuf_str(&b, "`\n\n_Opened by incidentd for incident ");
	buf_text(&b, key, false, 500);
	strbuf_str(&b, ", event ");
	buf_text(&b, jstr(ev, "id"), false, 64);
	strbuf_str(&b, "._\n");
	rc = ghr_marker(key ? key : "", &marker);
	if (rc != 0) {
		free(b.s);
		return rc;
	}
	strbuf_str(&b, marker);
	strbuf_str(&b, "\n");
	free(marker);
	return strbuf_finish(&b, out);
}

int
ghr_issue_body(const json_t *incident, const json_t *event, const struct ghr_opts *o,
    char **out)
{
	static const struct { size_t msg, res, nres; } steps[] = {
		{ GHR_MSG_MAX, GHR_RES_MSG_MAX, 50 },
		{ 4000, 300, 30 },
		{ 2000, 200, 10 },
		{ 500, 100, 3 },
		{ 200, 0, 0 },
	};
	size_t max = o && o->max_body ? o->max_body : GHR_BODY_MAX;
	struct ghr_opts def = { 0 };
	int rc;

	if (o == NULL)
		o = &def;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		rc = render_body(incident, event, o, steps[i].msg, steps[i].res, steps[i].nres, out);
		if (rc != 0 || strlen(*out) <= max)
			return rc;
		free(*out);
		*out = NULL;
	}
	return -E2BIG;
}

/* --- comments ------------------------------------------------------------------------ */

static int
comment(const json_t *ev, const char *head, bool with_error, char **out)
{
	struct strbuf b = { 0 };
	const char *rev = jstr(ev, "revision");

	strbuf_fmt(&b, "**%s** at ", head);
	buf_text(&b, jstr(ev, "occurred_at"), false, 64);
	strbuf_str(&b, ": ");
	buf_text(&b, jstr(ev, "summary"), false, 500);
	if (rev) {
		char shortrev[13];

		snprintf(shortrev, sizeof(shortrev), "%s", rev);
		strbuf_str(&b, " (revision ");
		buf_text(&b, shortrev, false, 12);
		strbuf_str(&b, ")");
	}
	strbuf_str(&b, "\n\n");
	if (with_error && jstr(ev, "message"))
		buf_code(&b, "text", jstr(ev, "message"), GHR_MSG_MAX);
	strbuf_str(&b, "\n_incidentd, event ");
	buf_text(&b, jstr(ev, "id"), false, 64);
	strbuf_str(&b, "_\n");
	return strbuf_finish(&b, out);
}

int
ghr_comment_failed_again(const json_t *incident, const json_t *event, char **out)
{
	(void)incident;
	return comment(event, "Failed again", true, out);
}

int
ghr_comment_resolved(const json_t *incident, const json_t *event, char **out)
{
	(void)incident;
	return comment(event, "Recovered", false, out);
}

int
ghr_comment_reopened(const json_t *incident, const json_t *event, char **out)
{
	(void)incident;
	return comment(event, "Reopened: failing again", true, out);
}
