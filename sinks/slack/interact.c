/* interact.c - the slack sink's part in Slack buttons (see sink_int.h).
 *
 * Check (an `update` delivery of a Slack button press: event source "slack", type
 * "slack.block_actions"): may labels.slack_user act? allowed_users (user IDs) and
 * allowed_groups (user-group IDs, their members read with usergroups.users.list and
 * believed for SL_GROUP_TTL_MS; needs usergroups:read); neither set: everyone in the
 * workspace. Allowed: OK. Refused: an ephemeral note to that person in that channel
 * (chat.postEphemeral) and FAIL, which cancels the command the broker chained behind it.
 *
 * Reply (an `update` delivery of the broker's "incident.command" event, source
 * "incidentd"): chat.update of the incident's message (refs.<instance>.channel and
 * .thread_ts), re-rendered from the incident view with who did what (blocks.c:
 * slack_render_status); without buttons once the incident resolved. No message: OK,
 * nothing to update.
 *
 * Slack's answers are classified like the rest of the sink's: 429 and ratelimited RETRY
 * after Retry-After (holding the lane), missing_scope FAILs naming the scope. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink_int.h"
#include "strbuf.h"

#define SL_MAX_ALLOWED 1000          /* entries of allowed_users / allowed_groups */

static const char *
label(const json_t *event, const char *k)
{
	return jstr(json_object_get(event, "labels"), k);
}

/* Whether s is an ID of Slack's with one of the first letters in first: upper-case
 * letters and digits, 3..31 characters. */
static bool
slack_id(const char *s, const char *first)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 3 || n >= SLACK_ID_MAX || strchr(first, s[0]) == NULL)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

/* --- options ------------------------------------------------------------------------- */

static int
id_list(const json_t *arr, const char *key, const char *first, const char *what,
    char ***out, size_t *n, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > SL_MAX_ALLOWED) {
		snprintf(err, errlen, "%s: expected a list of %s", key, what);
		return -EINVAL;
	}
	*out = calloc(json_array_size(arr) + 1, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, v) {
		const char *id = json_string_value(v);

		if (!slack_id(id, first)) {
			snprintf(err, errlen, "%s[%zu]: expected %s, not '%.40s'", key, i, what,
			    id ? id : "(not a string)");
			return -EINVAL;
		}
		if (((*out)[(*n)++] = strdup(id)) == NULL)
			return -ENOMEM;
	}
	return 0;
}

int
sl_interact_config(struct sl_sink *s, const json_t *users, const json_t *groups, char *err,
    size_t errlen)
{
	int rc;

	if ((rc = id_list(users, "allowed_users", "UW", "Slack user IDs (U…, W…)",
	    &s->allowed_users, &s->n_allowed_users, err, errlen)) != 0 ||
	    (rc = id_list(groups, "allowed_groups", "S", "Slack user-group IDs (S…)",
	    &s->allowed_groups, &s->n_allowed_groups, err, errlen)) != 0)
		return rc;
	if ((s->groups = json_object()) == NULL)
		return -ENOMEM;
	return 0;
}

static void
free_list(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

void
sl_interact_clear(struct sl_sink *s)
{
	free_list(s->allowed_users, s->n_allowed_users);
	free_list(s->allowed_groups, s->n_allowed_groups);
	json_decref(s->groups);
	s->allowed_users = s->allowed_groups = NULL;
	s->n_allowed_users = s->n_allowed_groups = 0;
	s->groups = NULL;
}

/* --- which delivery ------------------------------------------------------------------ */

enum sl_kind
sl_interact_kind(const struct incidentd_delivery *d, const json_t *event)
{
	const char *source = jstr(event, "source"), *type = jstr(event, "type");

	if (strcmp(d->action, "update") != 0 || source == NULL || type == NULL)
		return SL_POST;
	if (strcmp(source, "slack") == 0 && strcmp(type, "slack.block_actions") == 0)
		return SL_CHECK;
	if (strcmp(source, "incidentd") == 0 && strcmp(type, "incident.command") == 0)
		return SL_REPLY;
	return SL_POST;
}

/* What the person wanted to do, for "You are not allowed to ...". */
static const char *
verb_of(const char *command)
{
	if (command == NULL)
		return "act on";
	if (strcmp(command, "ack") == 0)
		return "acknowledge";
	if (strcmp(command, "silence") == 0)
		return "silence";
	if (strcmp(command, "resolve") == 0)
		return "resolve";
	return "act on";
}

/* The request body of the reply: the incident's message again, where it is. */
static int
reply_body(struct sl_job *j, const struct incidentd_delivery *d, const json_t *event)
{
	struct sl_sink *s = j->s;
	const char *self = s->host->instance_name(s->self);
	json_t *incident = json_loads(d->incident_json, 0, NULL), *msg = NULL;
	const json_t *mine, *refs;
	struct slack_status_opts o = {
		.command = label(event, "command"), .duration = label(event, "duration"),
		.actor = label(event, "actor"), .outcome = label(event, "outcome"),
		.reply = label(event, "reply"), .event_id = jstr(event, "id"),
		.at = jstr(event, "occurred_at") ? jstr(event, "occurred_at") :
		    jstr(event, "received_at"),
		.buttons = s->buttons,
	};
	const char *ts, *ch;
	int rc = -ENOMEM;

	if (incident == NULL || text_json_strip_bidi(incident) != 0)
		goto out;
	refs = json_object_get(incident, "refs");
	mine = json_object_get(refs, self);
	ts = jstr(mine, "thread_ts");
	ch = jstr(mine, "channel");
	if (s->webhook || ts == NULL || ch == NULL) {
		j->early = strdup(s->webhook ? "an incoming webhook cannot update its messages: "
		    "nothing to update" : "no message to update");
		rc = j->early != NULL ? 0 : -ENOMEM;
		goto out;
	}
	slack_find_issue(refs, s->issue_from, self, &o.issue_url, &o.issue_number);
	if ((rc = slack_render_status(incident, &o, &msg)) != 0)
		goto out;
	rc = -ENOMEM;
	if (json_object_set_new(msg, "channel", json_string(ch)) != 0 ||
	    json_object_set_new(msg, "ts", json_string(ts)) != 0 ||
	    (j->body = json_dumps(msg, JSON_COMPACT)) == NULL)
		goto out;
	snprintf(j->thread_channel, sizeof(j->thread_channel), "%s", ch);
	snprintf(j->thread_ts, sizeof(j->thread_ts), "%s", ts);
	rc = 0;
out:
	json_decref(msg);
	json_decref(incident);
	return rc;
}

int
sl_interact_prepare(struct sl_job *j, const struct incidentd_delivery *d,
    const json_t *event)
{
	const char *user = label(event, "slack_user"), *ch = label(event, "channel");
	const char *command = label(event, "command");

	if (j->kind == SL_REPLY)
		return reply_body(j, d, event);
	/* without a user ID the check refuses (j->user stays "") */
	if (user != NULL && slack_id(user, "UW"))
		snprintf(j->user, sizeof(j->user), "%s", user);
	if (ch != NULL && slack_id(ch, "CGD"))
		snprintf(j->note_channel, sizeof(j->note_channel), "%s", ch);
	if (command != NULL && (j->command = strdup(command)) == NULL)
		return -ENOMEM;
	return 0;
}

/* --- the check ----------------------------------------------------------------------- */

static void check_groups(struct sl_job *j);

/* A Web API answer that is not ok: hold the lane on a rate limit and finish (RETRY or
 * FAIL with Slack's reason). Returns true when it finished the job. */
static bool
finish_unless_ok(struct sl_job *j, const char *method, const struct slack_answer *a,
    json_t **ans)
{
	struct sl_sink *s = j->s;
	char detail[300];
	uint64_t delay = 0;
	enum slack_verdict v = slack_classify_method(method, a, &delay, detail, sizeof(detail));

	*ans = NULL;
	if (v == SLACK_OK && (*ans = json_loads(a->body ? a->body : "", 0, NULL)) == NULL) {
		snprintf(detail, sizeof(detail), "%s: unexpected answer", method);
		v = SLACK_RETRY;
	}
	if (v == SLACK_OK)
		return false;
	if (delay > 0)
		slack_client_hold(&s->api, delay);
	s->host->log(s->self, v == SLACK_RETRY ? INCIDENTD_LOG_INFO : INCIDENTD_LOG_WARN,
	    "%s %s: %s", j->action, j->key, detail);
	job_finish(j, v == SLACK_RETRY ? INCIDENTD_RETRY : INCIDENTD_FAIL, delay, detail, NULL);
	return true;
}

static void
on_ephemeral(struct sl_job *j, const struct slack_answer *a)
{
	struct sl_sink *s = j->s;
	char detail[600], why[300];
	uint64_t delay = 0;
	enum slack_verdict v = slack_classify_method("chat.postEphemeral", a, &delay, why,
	    sizeof(why));

	if (v == SLACK_RETRY) {
		/* the note is part of the refusal: the check is made again, then the note */
		if (delay > 0)
			slack_client_hold(&s->api, delay);
		job_finish(j, INCIDENTD_RETRY, delay, why, NULL);
		return;
	}
	if (v == SLACK_OK)
		snprintf(detail, sizeof(detail), "<@%s> may not act (not in allowed_users or "
		    "allowed_groups): refused, nothing changed; told them in %s", j->user,
		    j->note_channel);
	else
		snprintf(detail, sizeof(detail), "<@%s> may not act (not in allowed_users or "
		    "allowed_groups): refused, nothing changed; the note to them failed: %s",
		    j->user, why);
	s->host->log(s->self, INCIDENTD_LOG_INFO, "%s %s: %s", j->action, j->key, detail);
	job_finish(j, INCIDENTD_FAIL, 0, detail, NULL);
}

/* Not allowed: tell the person where they pressed (when we can), then FAIL. */
static void
refuse(struct sl_job *j)
{
	struct sl_sink *s = j->s;
	char detail[300], text[200], url[600];
	json_t *body;
	char *dump;

	if (j->user[0] == '\0') {
		job_finish(j, INCIDENTD_FAIL, 0, "the button press names no Slack user: refused, "
		    "nothing changed", NULL);
		return;
	}
	if (s->webhook || j->note_channel[0] == '\0') {
		snprintf(detail, sizeof(detail), "<@%s> may not act (not in allowed_users or "
		    "allowed_groups): refused, nothing changed", j->user);
		job_finish(j, INCIDENTD_FAIL, 0, detail, NULL);
		return;
	}
	snprintf(text, sizeof(text), "You are not allowed to %s incidents here; nothing "
	    "changed.", verb_of(j->command));
	body = json_pack("{s:s, s:s, s:s}", "channel", j->note_channel, "user", j->user,
	    "text", text);
	dump = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (dump == NULL) {
		job_finish(j, INCIDENTD_RETRY, 0, "out of memory", NULL);
		return;
	}
	snprintf(url, sizeof(url), "%s/chat.postEphemeral", s->api_base);
	job_send(j, url, dump, SL_GAP_MS, on_ephemeral);
	free(dump);
}

static void
allow(struct sl_job *j, const char *why)
{
	char detail[200];

	snprintf(detail, sizeof(detail), "<@%s> may act (%s)", j->user, why);
	j->s->host->log(j->s->self, INCIDENTD_LOG_INFO, "%s %s: %s", j->action, j->key, detail);
	job_finish(j, INCIDENTD_OK, 0, detail, NULL);
}

static void
on_group(struct sl_job *j, const struct slack_answer *a)
{
	struct sl_sink *s = j->s;
	const char *group = s->allowed_groups[j->group];
	json_t *ans, *users, *entry;

	if (finish_unless_ok(j, "usergroups.users.list", a, &ans))
		return;
	users = json_object_get(ans, "users");
	if (!json_is_array(users)) {
		json_decref(ans);
		job_finish(j, INCIDENTD_RETRY, 0, "usergroups.users.list: unexpected answer", NULL);
		return;
	}
	entry = json_pack("{s:I, s:O}", "until", (json_int_t)(s->host->now_ms(s->self) +
	    SL_GROUP_TTL_MS), "users", users);
	json_decref(ans);
	if (entry == NULL || json_object_set_new(s->groups, group, entry) != 0) {
		job_finish(j, INCIDENTD_RETRY, 0, "out of memory", NULL);
		return;
	}
	check_groups(j);
}

/* The members of group from the cache (borrowed), or NULL when unknown or stale. */
static const json_t *
cached_members(struct sl_sink *s, const char *group)
{
	json_t *entry = json_object_get(s->groups, group);

	if (entry == NULL || json_integer_value(json_object_get(entry, "until")) <=
	    s->host->now_ms(s->self))
		return NULL;
	return json_object_get(entry, "users");
}

/* Go through allowed_groups from j->group on: a member is allowed; a group not in the
 * cache is read first. */
static void
check_groups(struct sl_job *j)
{
	struct sl_sink *s = j->s;
	char url[600], why[80];

	for (; j->group < s->n_allowed_groups; j->group++) {
		const char *group = s->allowed_groups[j->group];
		const json_t *members = cached_members(s, group);
		size_t i;
		json_t *m;

		if (members == NULL) {
			if (s->webhook)
				continue;
			snprintf(url, sizeof(url), "%s/usergroups.users.list?usergroup=%s",
			    s->api_base, group);
			/* a read books no pacing slot (Tier 2: 20 a minute; cached) */
			job_send(j, url, NULL, 0, on_group);
			return;
		}
		json_array_foreach(members, i, m) {
			if (json_is_string(m) && strcmp(json_string_value(m), j->user) == 0) {
				snprintf(why, sizeof(why), "a member of allowed group %s", group);
				allow(j, why);
				return;
			}
		}
	}
	refuse(j);
}

static void
check_begin(struct sl_job *j)
{
	struct sl_sink *s = j->s;

	if (j->user[0] == '\0') {
		refuse(j);
		return;
	}
	if (s->n_allowed_users == 0 && s->n_allowed_groups == 0) {
		allow(j, "no allowed_users or allowed_groups: everyone in the workspace");
		return;
	}
	for (size_t i = 0; i < s->n_allowed_users; i++) {
		if (strcmp(s->allowed_users[i], j->user) == 0) {
			allow(j, "in allowed_users");
			return;
		}
	}
	j->group = 0;
	check_groups(j);
}

/* --- the reply ----------------------------------------------------------------------- */

static void
on_update(struct sl_job *j, const struct slack_answer *a)
{
	struct sl_sink *s = j->s;
	char detail[300];
	json_t *ans;

	if (finish_unless_ok(j, "chat.update", a, &ans))
		return;
	json_decref(ans);
	snprintf(detail, sizeof(detail), "updated message %s in %s", j->thread_ts,
	    j->thread_channel);
	s->host->log(s->self, INCIDENTD_LOG_INFO, "%s %s: %s", j->action, j->key, detail);
	job_finish(j, INCIDENTD_OK, 0, detail, NULL);
}

void
sl_interact_begin(struct sl_job *j)
{
	char url[600];

	if (j->kind == SL_CHECK) {
		check_begin(j);
		return;
	}
	snprintf(url, sizeof(url), "%s/chat.update", j->s->api_base);
	job_send(j, url, j->body, SL_GAP_MS, on_update);
}
