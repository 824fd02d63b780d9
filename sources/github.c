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
 *   incident_key  the key of the incident marker in the issue body (the body's
 *                 `<!-- incidentd:incident=KEY -->` line written by the github_issue sink),
 *                 when there is one: a hint only, the ledger's refs decide ownership
 *   new_repository  issues.transferred: changes.new_repository.full_name
 * Nothing here trusts the sender's text: the labels are copied as strings and printed
 * inert wherever they are shown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>

#include "fields.h"
#include "source.h"

#define GITHUB_MARKER "<!-- incidentd:incident="

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
	char number[32] = "", key[512], type[160], summary[400];
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
	if (issue == NULL)
		issue = json_object_get(body, "pull_request");
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
	    (rc = set_label(ev, "incident_key", key)))
		goto out;
	if (strcmp(name, "issues") == 0 && action != NULL && strcmp(action, "transferred") == 0 &&
	    (rc = set_label(ev, "new_repository", str_at(json_object_get(json_object_get(body,
	    "changes"), "new_repository"), "full_name"))) != 0)
		goto out;
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
