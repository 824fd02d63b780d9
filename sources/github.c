/* github.c - GitHub webhooks (repository or organization webhooks, GitHub Apps): one
 * "info" event per delivery that says what a person did to an issue or pull request.
 *
 * The event carries what broker/ghfeedback.c needs in its labels (all strings):
 *   github_event  X-GitHub-Event ("issues", "issue_comment", "pull_request", "ping", ...)
 *   delivery      X-GitHub-Delivery (the GUID GitHub keeps for redeliveries)
 *   action        the payload's "action", when it has one
 *   repository    repository.full_name ("owner/name")
 *   issue         the issue's (or pull request's) number, in decimal
 *   sender        sender.login; sender_type: sender.type ("User", "Bot", ...)
 *   issue_author  the issue's (or pull request's) user.login: for incidentd's issues, its
 *                 own identity
 *   incident_key  the key of the incident marker in the issue body (the body's
 *                 `<!-- incidentd:incident=KEY -->` line written by the github_issue sink),
 *                 when there is one: a hint only, the ledger's refs decide ownership
 *   new_repository  issues.transferred: changes.new_repository.full_name
 *   references    pull_request: the issues its title and body reference, as
 *                 "owner/repo#N" separated by spaces (at most GITHUB_MAX_REFS): a closing
 *                 keyword (fixes, closes, resolves, ...) before "#N" or "owner/repo#N", or
 *                 a link to https://<host>/owner/repo/issues/N
 *   merged        pull_request: "true" when the pull request is merged, else "false"
 *   url           the issue's or pull request's html_url
 *   label         issues.labeled / .unlabeled: the label's name
 * Nothing here trusts the sender's text: the labels are copied as strings and printed
 * inert wherever they are shown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>

#include "command.h"
#include "fields.h"
#include "source.h"

#define GITHUB_MARKER "<!-- incidentd:incident="
#define GITHUB_MAX_REFS 20

#include <ctype.h>
#include <strings.h>

static const char *const closing_words[] = { "close", "closes", "closed", "fix", "fixes",
	"fixed", "resolve", "resolves", "resolved", NULL };

static int
set_label(struct ievent *ev, const char *k, const char *v)
{
	if (v == NULL || *v == '\0')
		return 0;
	return json_object_set_new(ev->labels, k, json_string(v)) == 0 ? 0 : -ENOMEM;
}

/* A string member of obj (an object) at key, or NULL. */
static const char *
str_at(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The incident key of the marker line in body, copied into key (empty when none). The key
 * runs to the closing " -->" on the same line; a key with other text around it is none. */
static void
marker_key(const char *body, char *key, size_t len)
{
	const char *m = body ? strstr(body, GITHUB_MARKER) : NULL;
	const char *end;
	size_t n;

	key[0] = '\0';
	if (m == NULL)
		return;
	m += strlen(GITHUB_MARKER);
	end = strstr(m, " -->");
	if (end == NULL)
		return;
	n = (size_t)(end - m);
	if (n == 0 || n >= len || memchr(m, '\n', n) != NULL || memchr(m, '\r', n) != NULL)
		return;
	memcpy(key, m, n);
	key[n] = '\0';
}

/* Whether c may be part of an owner or repository name. */
static bool
name_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

/* "owner/repo" at p (n bytes, both parts valid names) into out, or false. */
static bool
repo_name(const char *p, size_t n, char *out, size_t len)
{
	const char *slash;

	if (n < 3 || n >= len || n > 140 || (slash = memchr(p, '/', n)) == NULL || slash == p ||
	    slash == p + n - 1)
		return false;
	for (const char *q = p; q < p + n; q++)
		if (q != slash && !name_char((unsigned char)*q))
			return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* Digits at p (1..9 of them, not 0) as a number, advancing *end; 0 when none. */
static long long
issue_number(const char *p, const char **end)
{
	long long v = 0;
	int n = 0;

	while (isdigit((unsigned char)p[n]) && n < 9)
		v = v * 10 + (p[n++] - '0');
	*end = p + n;
	if (n == 0 || isdigit((unsigned char)p[n]))
		return 0;
	return v;
}

/* Append "repo#n" to refs (space-separated) unless it is there or refs is full. */
static void
add_ref(char *refs, size_t len, int *count, const char *repo, long long n)
{
	char one[200];

	if (*count >= GITHUB_MAX_REFS)
		return;
	snprintf(one, sizeof(one), "%s#%lld", repo, n);
	for (const char *p = refs; (p = strstr(p, one)) != NULL; p++)
		if ((p == refs || p[-1] == ' ') && (p[strlen(one)] == ' ' || p[strlen(one)] == '\0'))
			return;
	size_t used = strlen(refs);

	if (used + strlen(one) + 2 > len)
		return;
	snprintf(refs + used, len - used, "%s%s", used ? " " : "", one);
	(*count)++;
}

/* The issues text references (see the header), in this repository (repo) or others. */
static void
find_refs(const char *text, const char *repo, char *refs, size_t len, int *count)
{
	const char *p = text;

	if (text == NULL)
		return;
	while (*p != '\0' && *count < GITHUB_MAX_REFS) {
		const char *w = p, *end;
		char other[160];
		size_t n;

		/* a link: https://<host>/owner/repo/issues/N (searched within the URL only, so a
		 * body of many links stays linear) */
		if (strncmp(p, "https://", 8) == 0) {
			size_t tok = strcspn(p, " \t\r\n<>()[]\"'");
			const char *host_end = memchr(p + 8, '/', tok > 8 ? tok - 8 : 0), *iss = NULL;

			for (const char *q = host_end; q != NULL && q + 8 <= p + tok && iss == NULL; q++)
				if (memcmp(q, "/issues/", 8) == 0)
					iss = q;
			if (iss != NULL && iss > host_end + 1 &&
			    repo_name(host_end + 1, (size_t)(iss - host_end - 1), other,
			    sizeof(other))) {
				long long num = issue_number(iss + 8, &end);

				if (num > 0)
					add_ref(refs, len, count, other, num);
			}
			p += tok > 8 ? tok : 8;
			continue;
		}
		/* a closing keyword, then "#N" or "owner/repo#N" */
		while (isalpha((unsigned char)*p))
			p++;
		n = (size_t)(p - w);
		if (n == 0) {
			p++;
			continue;
		}
		bool closing = false;

		for (size_t i = 0; closing_words[i] != NULL; i++)
			closing = closing || (strlen(closing_words[i]) == n &&
			    strncasecmp(w, closing_words[i], n) == 0);
		if (!closing || (w > text && name_char((unsigned char)w[-1])))
			continue;
		if (*p == ':')
			p++;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *hash = p;

		while (name_char((unsigned char)*hash) || *hash == '/')
			hash++;
		if (*hash != '#')
			continue;
		long long num = issue_number(hash + 1, &end);

		if (num <= 0)
			continue;
		if (hash == p && repo != NULL)
			add_ref(refs, len, count, repo, num);
		else if (hash > p && repo_name(p, (size_t)(hash - p), other, sizeof(other)))
			add_ref(refs, len, count, other, num);
		p = end;
	}
}

/* The header's value when it is a non-empty printable token without spaces (at most 128
 * bytes), else NULL. */
static const char *
token_header(const struct evkeyvalq *headers, const char *name)
{
	const char *v = headers ? evhttp_find_header(headers, name) : NULL;
	size_t n;

	if (v == NULL)
		return NULL;
	n = strlen(v);
	if (n == 0 || n > 128)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] > '~')
			return NULL;
	return v;
}

int
github_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen)
{
	const json_t *body = in->body, *issue, *repo, *sender;
	const char *name, *delivery, *action, *full, *login, *stype;
	char number[32] = "", key[512], type[160], summary[400], refs[GITHUB_MAX_REFS * 64] = "";
	int n_refs = 0;
	bool pr;
	struct ievent *ev = NULL;
	int rc = -ENOMEM;

	name = token_header(in->headers, "X-GitHub-Event");
	delivery = token_header(in->headers, "X-GitHub-Delivery");
	if (name == NULL || delivery == NULL) {
		snprintf(err, errlen, "not a GitHub webhook: the X-GitHub-Event and "
		    "X-GitHub-Delivery headers are required");
		return -EINVAL;
	}
	if (!json_is_object(body)) {
		snprintf(err, errlen, "a GitHub webhook body is a JSON object");
		return -EINVAL;
	}
	action = str_at(body, "action");
	repo = json_object_get(body, "repository");
	full = str_at(repo, "full_name");
	sender = json_object_get(body, "sender");
	login = str_at(sender, "login");
	stype = str_at(sender, "type");
	issue = json_object_get(body, "issue");
	pr = issue == NULL && json_is_object(json_object_get(body, "pull_request"));
	if (pr) {
		issue = json_object_get(body, "pull_request");
		find_refs(str_at(issue, "title"), full, refs, sizeof(refs), &n_refs);
		find_refs(str_at(issue, "body"), full, refs, sizeof(refs), &n_refs);
	}
	if (json_is_integer(json_object_get(issue, "number")))
		snprintf(number, sizeof(number), "%lld",
		    (long long)json_integer_value(json_object_get(issue, "number")));
	marker_key(str_at(issue, "body"), key, sizeof(key));

	if ((ev = ievent_new("github")) == NULL)
		goto out;
	snprintf(type, sizeof(type), "github.%s%s%s", name, action ? "." : "",
	    action ? action : "");
	if (number[0] != '\0')
		snprintf(summary, sizeof(summary), "%s%s%s on %s#%s by @%s", name,
		    action ? " " : "", action ? action : "", full ? full : "?", number,
		    login ? login : "?");
	else
		snprintf(summary, sizeof(summary), "%s%s%s%s%s by @%s", name, action ? " " : "",
		    action ? action : "", full ? " on " : "", full ? full : "",
		    login ? login : "?");
	util_trim_utf8(summary);
	if (ievent_set(&ev->type, type) || ievent_set(&ev->status, "info") ||
	    ievent_set(&ev->severity, "info") || ievent_set(&ev->summary, summary) ||
	    ievent_set(&ev->fingerprint, delivery))
		goto out;
	if ((rc = set_label(ev, "github_event", name)) || (rc = set_label(ev, "delivery",
	    delivery)) || (rc = set_label(ev, "action", action)) ||
	    (rc = set_label(ev, "repository", full)) || (rc = set_label(ev, "issue", number)) ||
	    (rc = set_label(ev, "sender", login)) || (rc = set_label(ev, "sender_type", stype)) ||
	    (rc = set_label(ev, "incident_key", key)) ||
	    (rc = set_label(ev, "url", str_at(issue, "html_url"))) ||
	    (rc = set_label(ev, "issue_author", str_at(json_object_get(issue, "user"),
	    "login"))) ||
	    (rc = set_label(ev, "label", str_at(json_object_get(body, "label"), "name"))) ||
	    (pr && (rc = set_label(ev, "merged", json_is_true(json_object_get(issue, "merged")) ?
	    "true" : "false"))) || (rc = set_label(ev, "references", refs)))
		goto out;
	if (strcmp(name, "issues") == 0 && action != NULL && strcmp(action, "transferred") == 0 &&
	    (rc = set_label(ev, "new_repository", str_at(json_object_get(json_object_get(body,
	    "changes"), "new_repository"), "full_name"))) != 0)
		goto out;
	/* a command in a new comment (applied by ghfeedback.c when the issue is ours) */
	if (strcmp(name, "issue_comment") == 0 && action != NULL && strcmp(action, "created") == 0) {
		const char *text = str_at(json_object_get(body, "comment"), "body");
		struct command c;
		char cerr[512];
		int k = command_find(text ? text : "", &c, cerr, sizeof(cerr));

		if (k == 1 && ((rc = set_label(ev, "command", command_verb_name(c.verb))) ||
		    (rc = set_label(ev, "duration", c.duration)) ||
		    (rc = set_label(ev, "command_reason", c.reason))))
			goto out;
		if (k < 0 && (rc = set_label(ev, "command_error", cerr)) != 0)
			goto out;
	}
	ev->payload = json_incref((json_t *)body);
	ev->occurred_at = ev->received_at = in->received_at;
	rc = -ENOMEM;
	if (ievent_vec_push(out, ev) != 0)
		goto out;
	ev = NULL;
	rc = 0;
out:
	ievent_destroy(ev);
	return rc;
}
