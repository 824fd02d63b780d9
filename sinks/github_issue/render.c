/* render.c - GitHub issue markdown for incidents (DESIGN.md §7). */
#include "render.h"
#include "strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#define GHR_TITLE_MAX 256
#define GHR_BODY_MAX 65536
#define GHR_MSG_MAX 8000           /* error message shown in full up to this */
#define GHR_RES_MSG_MAX 1000
#define GHR_URL_MAX 2000           /* a longer URL is not linked */
#define ZWSP "\xe2\x80\x8b"          /* U+200B ZERO WIDTH SPACE */

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return (s && *s) ? s : NULL;
}

/* Untrusted text inline in markdown: a paragraph, a table cell, a list item, a heading or
 * emphasis we opened. It shows as the characters it is and nothing else:
 * - no HTML, HTML comment or autolink: '<', '>' and '&' are entities;
 * - no emphasis, strikethrough, code span, link, image, link reference or table cell
 *   break: \ ` * _ [ ] ~ | are backslash-escaped ('!' needs a '[' to be an image);
 * - no line of its own: control characters (newlines too) are spaces and leading white
 *   space is dropped, so it never starts a heading, list, quote, table or code block; a
 *   leading '-', '+', '#' or "1." / "1)" is escaped as well, for where it starts a list
 *   item's text;
 * - nothing GitHub links or notifies after rendering: a zero-width space follows every
 *   '@' (no @user or @org/team mention, no e-mail autolink) and comes between '#' or
 *   "GH-" and a digit (no #123, org/repo#123 or GH-123 reference), after the ':' of
 *   "://" and before the '.' of "www." (no URL autolink).
 * At most max characters (0: no limit), then "…"; NULL is shown as "—". */
static void
buf_text(struct strbuf *b, const char *s, size_t max)
{
	const unsigned char *start, *p;
	size_t n = 0;

	if (s == NULL) {
		strbuf_str(b, "—");
		return;
	}
	p = (const unsigned char *)s;
	while (*p != '\0' && (*p <= 0x20 || *p == 0x7f))
		p++;
	for (start = p; *p; p++) {
		unsigned char c = *p;
		size_t before = (size_t)(p - start);

		/* count characters, never cut inside one */
		if ((c & 0xc0) != 0x80 && max && n++ >= max) {
			strbuf_str(b, "…");
			break;
		}
		if (c == '\r')
			continue;
		if (c < 0x20 || c == 0x7f)
			strbuf_str(b, " ");
		else if (c == '<')
			strbuf_str(b, "&lt;");
		else if (c == '>')
			strbuf_str(b, "&gt;");
		else if (c == '&')
			strbuf_str(b, "&amp;");
		else if (c == '@')
			strbuf_str(b, "@" ZWSP);
		else if (c == '#')
			strbuf_str(b, isdigit(p[1]) ? "\\#" ZWSP : "\\#");
		else if (c == ':' && p[1] == '/' && p[2] == '/')
			strbuf_str(b, ":" ZWSP);
		else if (c == '.' && before >= 3 && strncasecmp((const char *)p - 3, "www", 3) == 0)
			strbuf_str(b, ZWSP ".");
		else if (c == '-' && before >= 2 && strncasecmp((const char *)p - 2, "gh", 2) == 0 &&
		    isdigit(p[1]))
			strbuf_str(b, "-" ZWSP);
		else if (strchr("\\`*_[]~|", c) != NULL ||
		    (before == 0 && (c == '-' || c == '+')) ||
		    ((c == '.' || c == ')') && before > 0 && strspn((const char *)start, "0123456789")
		    == before))
			strbuf_fmt(b, "\\%c", c);
		else
			strbuf_add(b, (const char *)p, 1);
	}
}

/* "<!--" from untrusted text inside code: shown as is, with a zero-width space after '<',
 * so the body's raw text holds no comment opener and no forged marker. */
static void
buf_code_char(struct strbuf *b, const char *p)
{
	strbuf_add(b, p, 1);
	if (p[0] == '<' && strncmp(p + 1, "!--", 3) == 0)
		strbuf_str(b, ZWSP);
}

/* Untrusted text as an inline code span (inside it nothing is markdown, HTML or a GitHub
 * reference): the fence is longer than any backtick run inside, control characters are
 * spaces, '|' is escaped (GitHub splits table cells before code spans). */
static void
buf_code_span(struct strbuf *b, const char *s)
{
	size_t run = 0, longest = 0, len = strlen(s);
	bool pad;

	for (size_t i = 0; i < len; i++) {
		run = s[i] == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	pad = len > 0 && (s[0] == '`' || s[len - 1] == '`');
	for (size_t i = 0; i <= longest; i++)
		strbuf_str(b, "`");
	/* a space keeps a leading or trailing backtick off the fence (and is dropped) */
	if (pad)
		strbuf_str(b, " ");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			strbuf_str(b, " ");
		else if (c == '|')
			strbuf_str(b, "\\|");
		else
			buf_code_char(b, &s[i]);
	}
	if (pad)
		strbuf_str(b, " ");
	for (size_t i = 0; i <= longest; i++)
		strbuf_str(b, "`");
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
		buf_code_char(b, &s[i]);
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
		else if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			buf_code_char(b, p);
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

/* A value inside one of our HTML-comment markers: percent-encoded outside
 * [A-Za-z0-9._/:=@+] and single dashes, so it never holds "--", spaces or newlines and can
 * neither end the comment nor be taken for another value. */
static void
buf_marker_value(struct strbuf *b, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		/* a lone '-' is kept (readable keys); a run of two or more is encoded so the
		 * value can never hold "--" and end the HTML comment */
		bool dash_ok = *p == '-' && p[1] != '-' && (p == (const unsigned char *)v ||
		    p[-1] != '-');

		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("._/:=@+", *p) || dash_ok)
			strbuf_add(b, (const char *)p, 1);
		else
			strbuf_fmt(b, "%%%02X", *p);
	}
}

/* True when the last line of body (trailing white space aside) is exactly line. */
static bool
last_line_is(const char *body, const char *line)
{
	const char *end, *start;
	size_t ml = strlen(line);

	/* the last line, without trailing white space (GitHub may store "\r\n") */
	end = body + strlen(body);
	while (end > body && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' ||
	    end[-1] == '\t'))
		end--;
	if ((size_t)(end - body) < ml)
		return false;
	start = end - ml;
	/* the whole line: a longer or shorter value never matches */
	return memcmp(start, line, ml) == 0 && (start == body || start[-1] == '\n');
}

int
ghr_marker(const char *key, char **out)
{
	struct strbuf b = { 0 };

	strbuf_str(&b, "<!-- incidentd:incident=");
	buf_marker_value(&b, key);
	strbuf_str(&b, " -->");
	return strbuf_finish(&b, out);
}

bool
ghr_body_has_marker(const char *body, const char *key)
{
	char *m = NULL;
	bool found;

	if (body == NULL || key == NULL || ghr_marker(key, &m) != 0)
		return false;
	found = last_line_is(body, m);
	free(m);
	return found;
}

int
ghr_delivery_marker(int64_t delivery_id, const char *event_id, char **out)
{
	struct strbuf b = { 0 };

	*out = NULL;
	if (delivery_id <= 0)
		return -EINVAL;
	strbuf_fmt(&b, "<!-- incidentd:delivery=%lld event=", (long long)delivery_id);
	buf_marker_value(&b, event_id != NULL && *event_id != '\0' ? event_id : "-");
	strbuf_str(&b, " -->");
	return strbuf_finish(&b, out);
}

bool
ghr_body_has_delivery_marker(const char *body, int64_t delivery_id, const char *event_id)
{
	char *m = NULL;
	bool found;

	if (body == NULL || ghr_delivery_marker(delivery_id, event_id, &m) != 0)
		return false;
	found = last_line_is(body, m);
	free(m);
	return found;
}

/* --- links ------------------------------------------------------------------------- */

/* The host of a URL we link: a name or an IPv4 address, or an IPv6 address in brackets. */
static bool
host_plain(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253)
		return false;
	if (h[0] == '[')
		return n > 2 && h[n - 1] == ']' && strspn(h + 1, "0123456789abcdefABCDEF:.") == n - 2;
	return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n;
}

int
ghr_http_url(const char *in, char **out)
{
	static const struct { CURLUPart part; CURLUcode none; } absent[] = {
		{ CURLUPART_USER, CURLUE_NO_USER },
		{ CURLUPART_PASSWORD, CURLUE_NO_PASSWORD },
		{ CURLUPART_OPTIONS, CURLUE_NO_OPTIONS },
		{ CURLUPART_QUERY, CURLUE_NO_QUERY },
		{ CURLUPART_FRAGMENT, CURLUE_NO_FRAGMENT },
	};
	struct strbuf b = { 0 };
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	CURLU *u;
	int rc = -EINVAL;

	*out = NULL;
	if (in == NULL || strlen(in) > GHR_URL_MAX)
		return -EINVAL;
	u = curl_url();
	if (u == NULL)
		return -ENOMEM;
	/* no scheme guessing, no spaces: a URL as written, or nothing */
	if (curl_url_set(u, CURLUPART_URL, in, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0))
		goto out;
	/* no user@ (a look-alike host), no query, no fragment */
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		char *v = NULL;
		CURLUcode uc = curl_url_get(u, absent[i].part, &v, 0);

		curl_free(v);
		if (uc != absent[i].none)
			goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host_plain(host))
		goto out;
	for (char *h = host; *h; h++)
		*h = (char)tolower((unsigned char)*h);
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	/* the path decoded, then every segment encoded again: only [A-Za-z0-9._~-] and %XX */
	if (curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK)
		goto out;
	strbuf_str(&b, scheme);
	strbuf_str(&b, "://");
	strbuf_str(&b, host);
	if (port != NULL) {
		strbuf_str(&b, ":");
		strbuf_str(&b, port);
	}
	for (const char *seg = path; *seg; ) {
		size_t n = strcspn(seg, "/");

		if (n > 0) {
			char *e = curl_easy_escape(NULL, seg, (int)n);

			if (e == NULL) {
				b.oom = true;
				break;
			}
			strbuf_str(&b, e);
			curl_free(e);
		}
		seg += n;
		if (*seg == '/') {
			strbuf_str(&b, "/");
			seg++;
		}
	}
	rc = strbuf_finish(&b, out);
	b.s = NULL;
	if (rc == 0 && strlen(*out) > GHR_URL_MAX) {
		free(*out);
		*out = NULL;
		rc = -EINVAL;
	}
out:
	free(b.s);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* "- <label>: <url>" as an autolink: inside <…> nothing is markdown, and the URL (rebuilt
 * by ghr_http_url or from its output) holds no space, '<', '>', '@' or '#'. */
static void
buf_link(struct strbuf *b, const char *label, const char *url)
{
	strbuf_str(b, "- ");
	strbuf_str(b, label);
	strbuf_str(b, ": <");
	strbuf_str(b, url);
	strbuf_str(b, ">\n");
}

/* The Links section's URLs: the repository (an http(s) repo_url), its commit on github.com
 * (a hex revision) and the Argo CD application (the app name as one encoded path segment
 * under argocd_url). Anything that is not such a URL gets no link: it is shown, inert, in
 * the tables above. */
static void
buf_links(struct strbuf *b, const char *repo, const char *rev, const char *app,
    const char *argocd_url)
{
	char *url = NULL;

	if (repo != NULL && ghr_http_url(repo, &url) == 0) {
		size_t n = strlen(url), rl = rev ? strlen(rev) : 0;

		buf_link(b, "Repository", url);
		while (n > 0 && url[n - 1] == '/')
			url[--n] = '\0';
		if (n > 4 && strcmp(url + n - 4, ".git") == 0)
			url[n -= 4] = '\0';
		if (strncmp(url, "https://github.com/", 19) == 0 && rl >= 7 && rl <= 64 &&
		    strspn(rev, "0123456789abcdef") == rl) {
			strbuf_str(b, "- Commit: <");
			strbuf_str(b, url);
			strbuf_str(b, "/commit/");
			strbuf_str(b, rev);
			strbuf_str(b, ">\n");
		}
	}
	free(url);
	url = NULL;
	/* "." and ".." would be dot segments, not a name */
	if (app != NULL && argocd_url != NULL && strlen(app) <= 253 && strcmp(app, ".") != 0 &&
	    strcmp(app, "..") != 0 && ghr_http_url(argocd_url, &url) == 0) {
		size_t n = strlen(url);
		char *e = curl_easy_escape(NULL, app, 0);

		while (n > 0 && url[n - 1] == '/')
			url[--n] = '\0';
		if (e == NULL) {
			b->oom = true;
		} else {
			strbuf_str(b, "- Argo CD: <");
			strbuf_str(b, url);
			strbuf_str(b, "/applications/");
			strbuf_str(b, e);
			strbuf_str(b, ">\n");
		}
		curl_free(e);
	}
	free(url);
}

/* --- title --------------------------------------------------------------------------- */

/* Untrusted text for an issue title (plain text on GitHub, where references are still
 * linked): control characters as spaces; a zero-width space after '@', between '#' or
 * "GH-" and a digit, after the ':' of "://", before the '.' of "www." and after the '<'
 * of "<!--". */
static void
buf_title_text(struct strbuf *b, const char *s)
{
	const unsigned char *start = (const unsigned char *)s;

	for (const unsigned char *p = start; *p; p++) {
		size_t before = (size_t)(p - start);

		if (*p < 0x20 || *p == 0x7f)
			strbuf_str(b, " ");
		else if (*p == '@')
			strbuf_str(b, "@" ZWSP);
		else if (*p == '#' && isdigit(p[1]))
			strbuf_str(b, "#" ZWSP);
		else if (*p == ':' && p[1] == '/' && p[2] == '/')
			strbuf_str(b, ":" ZWSP);
		else if (*p == '.' && before >= 3 && strncasecmp((const char *)p - 3, "www", 3) == 0)
			strbuf_str(b, ZWSP ".");
		else if (*p == '-' && before >= 2 && strncasecmp((const char *)p - 2, "gh", 2) == 0 &&
		    isdigit(p[1]))
			strbuf_str(b, "-" ZWSP);
		else
			buf_code_char(b, (const char *)p);   /* "<!--" as "<\u200b!--" */
	}
}

int
ghr_issue_title(const json_t *event, const char *prefix, char **out)
{
	const char *source = jstr(event, "source"), *app = jstr(event, "app");
	const char *summary = jstr(event, "summary");
	const char *subject = app ? app : summary ? summary : "unknown";
	struct strbuf b = { 0 };
	size_t cut;

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
	/* the prefix is configuration: control characters only */
	for (const char *p = prefix; *p; p++)
		strbuf_str(&b, ((unsigned char)*p < 0x20 || *p == 0x7f) ? " " : (char[2]){ *p, 0 });
	strbuf_str(&b, ": ");
	buf_title_text(&b, subject);
	if (b.oom || b.len <= GHR_TITLE_MAX)
		return strbuf_finish(&b, out);
	/* cut to 253 bytes on a UTF-8 boundary and add "…" (3 bytes) */
	cut = GHR_TITLE_MAX - 3;
	while (cut > 0 && ((unsigned char)b.s[cut] & 0xc0) == 0x80)
		cut--;
	b.len = cut;
	b.s[cut] = '\0';
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
	buf_text(b, kind ? kind : "Resource", 64);
	strbuf_str(b, " / ");
	buf_text(b, name, 253);
	strbuf_str(b, "\n\n| | |\n|---|---|\n| Namespace | ");
	buf_text(b, ns, 253);
	strbuf_str(b, " |\n| Health | ");
	buf_text(b, jstr(r, "health"), 64);
	strbuf_str(b, " |\n| Sync | ");
	buf_text(b, jstr(r, "sync"), 64);
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
	buf_text(&b, app, 253);
	strbuf_str(&b, "** — ");
	buf_text(&b, jstr(ev, "summary"), 500);
	strbuf_str(&b, "\n\nEvent time: ");
	buf_text(&b, jstr(ev, "occurred_at"), 64);
	strbuf_str(&b, " · received ");
	buf_text(&b, jstr(ev, "received_at"), 64);
	strbuf_str(&b, "\n\n### Cluster Information\n\n| | |\n|---|---|\n| Cluster | ");
	buf_text(&b, jstr(ev, "cluster"), 253);
	strbuf_str(&b, " |\n| Namespace | ");
	buf_text(&b, ns, 253);
	strbuf_str(&b, " |\n");
	if (jstr(labels, "resource_group")) {
		strbuf_str(&b, "| Resource group | ");
		buf_text(&b, jstr(labels, "resource_group"), 253);
		strbuf_str(&b, " |\n");
	}
	strbuf_str(&b, "\n### Application Status\n\n| | |\n|---|---|\n| Health | ");
	buf_text(&b, jstr(ev, "health"), 64);
	strbuf_str(&b, " |\n| Sync | ");
	buf_text(&b, jstr(ev, "sync"), 64);
	if (jstr(labels, "operation_phase")) {
		strbuf_str(&b, " |\n| Operation | ");
		buf_text(&b, jstr(labels, "operation_phase"), 64);
	}
	strbuf_str(&b, " |\n| Revision | ");
	if (rev) {
		char shortrev[13];

		snprintf(shortrev, sizeof(shortrev), "%s", rev);
		buf_text(&b, shortrev, 12);
		strbuf_str(&b, " (");
		buf_text(&b, rev, 100);
		strbuf_str(&b, ")");
	} else {
		strbuf_str(&b, "—");
	}
	strbuf_str(&b, " |\n| Repository | ");
	buf_text(&b, repo, 500);
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
				buf_text(&b, jstr(r, "kind"), 64);
				strbuf_str(&b, " ");
				buf_text(&b, jstr(r, "name"), 253);
				strbuf_str(&b, " (");
				buf_text(&b, sync, 64);
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
	buf_links(&b, repo, rev, argocd ? app : NULL, o->argocd_url);
	strbuf_str(&b, "- Ledger: ");
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "incidentctl incident %.64s",
		    jstr(incident, "id") ? jstr(incident, "id") : "—");
		buf_code_span(&b, cmd);
	}
	strbuf_str(&b, "\n\n_Opened by incidentd for incident ");
	buf_text(&b, key, 500);
	strbuf_str(&b, ", event ");
	buf_text(&b, jstr(ev, "id"), 64);
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

/* End a comment in b: who wrote it (the event ev) and, with delivery_id > 0, the
 * delivery's marker as the last line; the text goes to *out. Frees b on error. Returns 0
 * or -ENOMEM. */
static int
comment_finish(struct strbuf *b, const json_t *ev, int64_t delivery_id, char **out)
{
	char *marker = NULL;
	int rc;

	strbuf_str(b, "\n_incidentd, event ");
	buf_text(b, jstr(ev, "id"), 64);
	strbuf_str(b, "_\n");
	if (delivery_id > 0) {
		rc = ghr_delivery_marker(delivery_id, jstr(ev, "id"), &marker);
		if (rc != 0) {
			free(b->s);
			return rc;
		}
		strbuf_str(b, marker);
		strbuf_str(b, "\n");
		free(marker);
	}
	return strbuf_finish(b, out);
}

/* A comment: head, time, summary, revision, the error (with_error), who wrote it and,
 * with delivery_id > 0, the delivery's marker as the last line. */
static int
comment(const json_t *ev, const char *head, bool with_error, int64_t delivery_id, char **out)
{
	struct strbuf b = { 0 };
	const char *rev = jstr(ev, "revision");

	*out = NULL;
	strbuf_fmt(&b, "**%s** at ", head);
	buf_text(&b, jstr(ev, "occurred_at"), 64);
	strbuf_str(&b, ": ");
	buf_text(&b, jstr(ev, "summary"), 500);
	if (rev) {
		char shortrev[13];

		snprintf(shortrev, sizeof(shortrev), "%s", rev);
		strbuf_str(&b, " (revision ");
		buf_text(&b, shortrev, 12);
		strbuf_str(&b, ")");
	}
	strbuf_str(&b, "\n\n");
	if (with_error && jstr(ev, "message"))
		buf_code(&b, "text", jstr(ev, "message"), GHR_MSG_MAX);
	return comment_finish(&b, ev, delivery_id, out);
}

int
ghr_comment_failed_again(const json_t *incident, const json_t *event, int64_t delivery_id,
    char **out)
{
	(void)incident;
	return comment(event, "Failed again", true, delivery_id, out);
}

int
ghr_comment_resolved(const json_t *incident, const json_t *event, int64_t delivery_id,
    char **out)
{
	(void)incident;
	return comment(event, "Recovered", false, delivery_id, out);
}

int
ghr_comment_fix_merged(const json_t *incident, const json_t *event, int64_t delivery_id,
    char **out)
{
	const json_t *labels = json_object_get(event, "labels");
	struct strbuf b = { 0 };
	char *url = NULL;

	(void)incident;
	*out = NULL;
	strbuf_str(&b, "**Fix merged** at ");
	buf_text(&b, jstr(event, "occurred_at"), 64);
	strbuf_str(&b, ": pull request ");
	buf_text(&b, jstr(labels, "repository"), 200);
	strbuf_str(&b, "#");
	buf_text(&b, jstr(labels, "issue"), 20);
	strbuf_str(&b, " by ");
	buf_code_span(&b, jstr(labels, "sender") ? jstr(labels, "sender") : "?");
	strbuf_str(&b, "\n\n");
	if (jstr(labels, "url") != NULL && ghr_http_url(jstr(labels, "url"), &url) == 0 && url)
		buf_link(&b, "pull request", url);
	free(url);
	return comment_finish(&b, event, delivery_id, out);
}

int
ghr_comment_reopened(const json_t *incident, const json_t *event, int64_t delivery_id,
    char **out)
{
	(void)incident;
	return comment(event, "Reopened: failing again", true, delivery_id, out);
}

int
ghr_comment_reply(const json_t *incident, const json_t *event, int64_t delivery_id,
    char **out)
{
	const char *reply = jstr(json_object_get(event, "labels"), "reply");
	struct strbuf b = { 0 };
	const char *nl;

	(void)incident;
	*out = NULL;
	if (reply == NULL)
		reply = jstr(event, "summary");
	if (reply == NULL)
		reply = "";
	nl = strchr(reply, '\n');
	strbuf_str(&b, "**incidentd:** ");
	if (nl != NULL) {
		char *first = strndup(reply, (size_t)(nl - reply));

		if (first == NULL) {
			free(b.s);
			return -ENOMEM;
		}
		buf_text(&b, first, 1000);
		free(first);
		strbuf_str(&b, "\n\n");
		buf_code(&b, "text", nl + 1, GHR_MSG_MAX);
	} else {
		buf_text(&b, reply, 1000);
		strbuf_str(&b, "\n");
	}
	return comment_finish(&b, event, delivery_id, out);
}

int
ghr_comment_refusal(const json_t *event, const char *repo, int64_t delivery_id, char **out)
{
	const json_t *labels = json_object_get(event, "labels");
	struct strbuf b = { 0 };

	*out = NULL;
	strbuf_str(&b, "**incidentd:** the command ");
	buf_code_span(&b, jstr(labels, "command") ? jstr(labels, "command") : "?");
	strbuf_str(&b, " of ");
	buf_code_span(&b, jstr(labels, "sender") ? jstr(labels, "sender") : "?");
	strbuf_str(&b, " needs write permission on ");
	buf_text(&b, repo, 200);
	strbuf_str(&b, "; nothing changed.\n");
	return comment_finish(&b, event, delivery_id, out);
}
