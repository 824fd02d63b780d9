/* github_issue.c - the github_issue sink: one GitHub issue per incident.
 *
 * open    -> adopt an existing issue carrying the incident marker (open, or closed within
 *            reopen_window: reopened), else create one;
 * update  -> a "failed again" comment, at most once per new revision or repeat_interval;
 * resolve -> a "recovered" comment and, with close_on_resolve, close (completed).
 * Results (issue number, URL, state, last comment) are stored on the incident as
 * refs.<instance>, which is what chained sinks (github_label, slack) read.
 *
 * Crash safety: the ledger learns the issue number only after GitHub answered; if the
 * broker dies in between, the retried delivery finds the issue by its marker (listing the
 * configured label through every page, or the search API without labels) instead of
 * opening a second one.
 *
 * Adoption: only an issue incidentd wrote is adopted: its author is the token's own login
 * (GET /user, cached per token; for a GitHub App installation token, which GET /user
 * refuses, the configured `author` "<app-slug>[bot]", or the bot learned from an issue or
 * comment the token wrote) and the marker is its body's last line. An issue anyone else
 * wrote is never commented on, closed or reopened, whatever it carries; while the token's
 * identity is unknown, nothing is adopted and a new issue is opened.
 *
 * Exactly once per delivery: every comment ends with its delivery's marker
 * ("<!-- incidentd:delivery=<id> event=<event id> -->"). An attempt after the first (a
 * retry, or the delivery a SIGKILL left running, which the broker hands out again) that
 * is about to comment first lists the issue's comments since shortly before the event
 * arrived and skips the POST when one written by the token's identity ends with that
 * marker; then it goes on (close after a recovery comment). Closing a closed issue and
 * reopening an open one are no-ops on GitHub, so those steps repeat safely. First
 * attempts never list. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>

#include "incidentd/sink.h"
#include "ghapi.h"
#include "strbuf.h"
#include "ghuser.h"
#include "render.h"
#include "util.h"

#define GI_PERM_CACHE 16          /* logins whose permission is remembered ... */
#define GI_PERM_TTL_MS 300000     /* ... for 5 minutes */
#define GI_REFUSED_CACHE 16       /* people refused a command on an issue ... */
#define GI_REFUSED_QUIET_MS 600000   /* ... are not told again for 10 minutes */
#define GI_MAX_PAGES 50          /* 5,000 issues per listing: beyond that, give up adoption */
/* A retry lists the comments updated since the event arrived, less this much for a clock
 * of ours that runs ahead of GitHub's. */
#define GI_SINCE_MARGIN_MS (10 * 60 * 1000)

struct gi_sink {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	struct gh_client gh;
	char *repo;
	json_t *labels;              /* array of strings */
	char *title_prefix;          /* NULL: per source default */
	char *argocd_url;
	char *author;                /* the expected author of our issues, or NULL: GET /user */
	bool warned_refused;         /* logged that GET /user was refused */
	bool warned_unchecked;       /* logged that retried comments cannot be checked */
	bool close_on_resolve;
	int64_t reopen_window_ms;
	int64_t repeat_interval_ms;
	/* people's write permission on repo, asked for label triggers (cached briefly) */
	struct {
		char login[GH_LOGIN_MAX + 1];
		bool write;
		int64_t at;
	} perm[GI_PERM_CACHE];
	/* refusal comments made (a public repository lets anyone comment: one each) */
	struct {
		char login[GH_LOGIN_MAX + 1];
		json_int_t issue;
		int64_t at;
	} refused[GI_REFUSED_CACHE];
	LIST_HEAD(, gi_job) jobs;
};

enum gi_find_pass { FIND_OPEN, FIND_CLOSED, FIND_SEARCH };

struct gi_job {
	struct gi_sink *s;
	incidentd_done_fn done;
	struct incidentd_call *call;
	int attempt;
	int64_t delivery;            /* the ledger's delivery id (the comment marker's) */
	char *action;
	char *key;
	const char *event_id;        /* borrowed from event, or NULL */
	json_t *incident;
	json_t *event;
	json_t *refs;                /* borrowed from incident: refs.<instance>, or NULL */
	json_t *result;              /* what we store on the incident */
	struct gh_request *req;
	struct incidentd_timer *timer;   /* the deferred start */
	/* the issue we act on */
	json_int_t issue;
	bool issue_closed;
	char *issue_body;            /* body of an adopted issue (to spot our own create) */
	/* adoption search */
	char self[GH_LOGIN_MAX + 1]; /* who our issues are by; "" while unknown */
	int foreign;                 /* issues with our marker by someone else */
	json_int_t foreign_issue;    /* the first of them, and its author (or "") */
	char foreign_by[GH_LOGIN_MAX + 1];
	enum gi_find_pass pass;
	int pages;
	json_int_t best_closed;      /* most recently closed match within the window */
	int64_t best_closed_at;
	json_t *best_closed_url;
	/* the comment to post, and what a retry found of an earlier attempt's */
	char *comment;
	bool comment_existed;        /* an earlier attempt posted it: not posted again */
	int foreign_comments;        /* comments with its marker by someone else */
	/* after the identity is known (j->self, "" when it cannot be known) */
	void (*then)(struct gi_job *);
	/* after the current request */
	void (*next)(struct gi_job *, const struct gh_response *);
	LIST_ENTRY(gi_job) entry;
};

/* --- small helpers ------------------------------------------------------------------- */

/* GitHub's `since` form, "2026-02-10T03:01:12Z" (seconds, no fraction). */
static void
format_time(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *
jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* URL-encode s for a query string. Returns a new string or NULL. */
static char *
url_encode(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *copy = e ? strdup(e) : NULL;

	curl_free(e);
	return copy;
}

/* --- completion ---------------------------------------------------------------------- */

static void
job_free(struct gi_job *j)
{
	if (j == NULL)
		return;
	gh_request_cancel(j->req);
	if (j->timer != NULL)
		j->s->host->timer_cancel(j->timer);
	free(j->action);
	free(j->key);
	free(j->issue_body);
	free(j->comment);
	json_decref(j->incident);
	json_decref(j->event);
	json_decref(j->result);
	json_decref(j->best_closed_url);
	free(j);
}

/* Report the outcome and free the job. */
static void
job_finish(struct gi_job *j, enum incidentd_result res, uint64_t retry_after_ms,
    const char *detail)
{
	char *result = NULL;

	if (res == INCIDENTD_OK && j->result != NULL && json_object_size(j->result) > 0)
		result = json_dumps(j->result, JSON_COMPACT);
	LIST_REMOVE(j, entry);
	/* j->req is NULL when an answer ends the job (on_answer cleared it: ghapi frees the
	 * request after the callback); a request still waiting or running (a drain ends the
	 * job) is cancelled by job_free() */
	j->done(j->call, res, retry_after_ms, detail, result);
	free(result);
	job_free(j);
}

/* Common answer handling: non-2xx answers end the job with RETRY or FAIL. Returns true
 * when the caller may go on with a successful answer. */
static bool
job_check(struct gi_job *j, const struct gh_response *r, const char *what)
{
	char detail[512], full[640];
	uint64_t delay = 0;
	enum gh_verdict v;

	j->req = NULL;
	v = gh_classify(&j->s->gh, r, j->attempt, j->s->host->now_ms(j->s->self), &delay,
	    detail, sizeof(detail));
	if (v == GH_OK)
		return true;
	snprintf(full, sizeof(full), "%s: %s", what, detail);
	j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "%s %s: %s", j->action, j->key, full);
	job_finish(j, v == GH_RETRY ? INCIDENTD_RETRY : INCIDENTD_FAIL, delay, full);
	return false;
}

static void
on_answer(void *arg, const struct gh_response *r)
{
	struct gi_job *j = arg;

	j->req = NULL;
	j->next(j, r);
}

/* Send a request; on failure to start, finish with RETRY. */
static void
job_send(struct gi_job *j, const char *method, const char *path, json_t *body,
    void (*next)(struct gi_job *, const struct gh_response *))
{
	int rc;

	j->next = next;
	rc = gh_request(&j->s->gh, method, path, body, on_answer, j, &j->req);
	json_decref(body);
	if (rc != 0) {
		char detail[128];

		snprintf(detail, sizeof(detail), "cannot start a GitHub request: %s",
		    strerror(-rc));
		job_finish(j, INCIDENTD_RETRY, 0, detail);
	}
}

static void
result_set_issue(struct gi_job *j, json_int_t number, const char *url, bool closed)
{
	json_object_set_new(j->result, "issue", json_integer(number));
	if (url != NULL)
		json_object_set_new(j->result, "url", json_string(url));
	json_object_set_new(j->result, "repo", json_string(j->s->repo));
	json_object_set_new(j->result, "state", json_string(closed ? "closed" : "open"));
	json_object_set_new(j->result, "seen_state", json_string(closed ? "closed" : "open"));
	j->issue = number;
	j->issue_closed = closed;
}

static void
result_note_comment(struct gi_job *j)
{
	const char *rev = jstr(j->event, "revision");

	json_object_set_new(j->result, "last_comment_at",
	    json_integer(j->s->host->now_ms(j->s->self)));
	if (rev != NULL)
		json_object_set_new(j->result, "last_revision", json_string(rev));
}

static bool
event_is(const struct gi_job *j, const char *source, const char *type)
{
	const char *src = jstr(j->event, "source"), *t = jstr(j->event, "type");

	return strcmp(j->action, "update") == 0 && src != NULL && strcmp(src, source) == 0 &&
	    t != NULL && strcmp(t, type) == 0;
}

/* An update whose event is incidentd's reply to a command (command.h): a comment, never a
 * failure, and no "last comment" for repeat_interval. */
static bool
is_reply(const struct gi_job *j)
{
	return event_is(j, "incidentd", "incident.command");
}

/* An update whose event is incidentd's periodic reconciliation (broker/reconcile.c): read
 * the issue with If-None-Match and report what changed. */
static bool
is_reconcile(const struct gi_job *j)
{
	return event_is(j, "incidentd", "github.reconcile");
}

/* An update whose event is a `/incidentd` command in a comment (the webhook source put
 * it in labels.command): the check of the commenter's permission. */
static bool
is_command(const struct gi_job *j)
{
	return event_is(j, "github", "github.issue_comment.created") &&
	    jstr(json_object_get(j->event, "labels"), "command") != NULL;
}

/* An update whose event is a merged pull request that references the issue (incidentd's
 * GitHub webhook source): a "fix merged" note, never a failure. */
static bool
is_fix_note(const struct gi_job *j)
{
	const char *type = jstr(j->event, "type");

	return strcmp(j->action, "update") == 0 && jstr(j->event, "source") != NULL &&
	    strcmp(jstr(j->event, "source"), "github") == 0 && type != NULL &&
	    strncmp(type, "github.pull_request.", 20) == 0;
}

/* --- steps --------------------------------------------------------------------------- */

static void step_comment(struct gi_job *j, const char *kind);
static void step_create(struct gi_job *j);
static void step_reopen(struct gi_job *j);
static void step_close(struct gi_job *j);
static void find_page(struct gi_job *j, const char *url);
static void find_done(struct gi_job *j);
static void step_find(struct gi_job *j);
static void step_whoami(struct gi_job *j);
static void learn_author(struct gi_job *j, const char *login);
static const char *permission_login(const struct gi_job *j);
static void refusal_note(struct gi_sink *s, const char *login, json_int_t issue, int64_t now);

/* Whether the known issue is gone (404, or 410 "This issue was deleted": deleted, or moved
 * to a repository the token cannot see). Then the job starts over as if there were no
 * issue: a resolve has nothing left to do; otherwise adoption by marker (the issue may
 * have been transferred back) or a new issue. Returns true when it took the job over. */
static bool
issue_gone(struct gi_job *j, const struct gh_response *r)
{
	json_int_t old = j->issue;

	if (j->issue == 0 || (r->status != 404 && r->status != 410))
		return false;
	j->req = NULL;
	j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "%s %s: issue #%lld is gone (HTTP %ld): "
	    "%s", j->action, j->key, (long long)old, r->status,
	    strcmp(j->action, "resolve") == 0 ? "nothing to resolve" : "opening a new issue");
	j->issue = 0;
	j->issue_closed = false;
	json_object_clear(j->result);
	json_object_set_new(j->result, "previous_issue", json_integer(old));
	json_object_set_new(j->result, "issue", json_integer(0));
	if (strcmp(j->action, "resolve") == 0) {
		char detail[120];

		snprintf(detail, sizeof(detail), "issue #%lld is gone (HTTP %ld): nothing to "
		    "resolve", (long long)old, r->status);
		job_finish(j, INCIDENTD_OK, 0, detail);
		return true;
	}
	step_find(j);
	return true;
}

static void
after_close(struct gi_job *j, const struct gh_response *r)
{
	char detail[160];

	if (issue_gone(j, r) || !job_check(j, r, "close issue"))
		return;
	json_object_set_new(j->result, "state", json_string("closed"));
	json_object_set_new(j->result, "seen_state", json_string("closed"));
	json_object_set_new(j->result, "closed_at", json_integer(j->s->host->now_ms(j->s->self)));
	snprintf(detail, sizeof(detail), "issue #%lld: recovered%s, closed", (long long)j->issue,
	    j->comment_existed ? " (comment of an earlier attempt, not posted again)" : "");
	job_finish(j, INCIDENTD_OK, 0, detail);
}

/* Close the issue (completed). Closing a closed issue changes nothing on GitHub, so a
 * retry that closes again is harmless. */
static void
step_close(struct gi_job *j)
{
	char path[512];

	snprintf(path, sizeof(path), "/repos/%s/issues/%lld", j->s->repo, (long long)j->issue);
	job_send(j, "PATCH", path, json_pack("{s:s, s:s}", "state", "closed", "state_reason",
	    "completed"), after_close);
}

/* The comment is on the issue (posted now, or by an earlier attempt): close after a
 * recovery comment, else done. */
static void
comment_done(struct gi_job *j)
{
	char detail[200];

	/* a fix note, a reply or a refusal does not hold back the next failed-again comment */
	if (!is_fix_note(j) && !is_reply(j) && !is_command(j))
		result_note_comment(j);
	if (is_command(j)) {
		/* the refusal is on the issue: the command stays undone */
		refusal_note(j->s, permission_login(j), j->issue, j->s->host->now_ms(j->s->self));
		snprintf(detail, sizeof(detail), "@%s lacks write permission on %s: the command "
		    "is refused (replied on issue #%lld)", jstr(json_object_get(j->event, "labels"),
		    "sender"), j->s->repo, (long long)j->issue);
		json_object_clear(j->result);
		job_finish(j, INCIDENTD_FAIL, 0, detail);
		return;
	}
	if (strcmp(j->action, "resolve") == 0 && j->s->close_on_resolve && !j->issue_closed) {
		step_close(j);
		return;
	}
	if (j->comment_existed)
		snprintf(detail, sizeof(detail), "issue #%lld: the comment (%s) of an earlier "
		    "attempt is there, not posted again", (long long)j->issue, j->action);
	else
		snprintf(detail, sizeof(detail), "issue #%lld: commented (%s)", (long long)j->issue,
		    j->action);
	job_finish(j, INCIDENTD_OK, 0, detail);
}

static void
after_comment(struct gi_job *j, const struct gh_response *r)
{
	if (issue_gone(j, r) || !job_check(j, r, "comment"))
		return;
	learn_author(j, jstr(json_object_get(r->json, "user"), "login"));
	comment_done(j);
}

static void
post_comment(struct gi_job *j)
{
	char path[512];

	snprintf(path, sizeof(path), "/repos/%s/issues/%lld/comments", j->s->repo,
	    (long long)j->issue);
	job_send(j, "POST", path, json_pack("{s:s}", "body", j->comment), after_comment);
}

/* One page of the issue's comments: is this delivery's comment there, written by us? */
static void
after_comments_page(struct gi_job *j, const struct gh_response *r)
{
	size_t i;
	json_t *c;

	if (issue_gone(j, r) || !job_check(j, r, "look for an earlier attempt's comment"))
		return;
	if (!json_is_array(r->json)) {
		job_finish(j, INCIDENTD_RETRY, 0, "look for an earlier attempt's comment: "
		    "unexpected answer");
		return;
	}
	json_array_foreach(r->json, i, c) {
		const char *author = jstr(json_object_get(c, "user"), "login");

		if (!ghr_body_has_delivery_marker(jstr(c, "body"), j->delivery, j->event_id))
			continue;
		if (author != NULL && strcasecmp(author, j->self) == 0) {
			j->comment_existed = true;
			j->s->host->log(j->s->self, INCIDENTD_LOG_INFO, "%s: issue #%lld already has "
			    "the comment of delivery %lld (an earlier attempt posted it): not posted "
			    "again", j->key, (long long)j->issue, (long long)j->delivery);
			comment_done(j);
			return;
		}
		j->foreign_comments++;
	}
	if (r->link_next != NULL && ++j->pages < GI_MAX_PAGES) {
		char *next = strdup(r->link_next);

		if (next == NULL) {
			job_finish(j, INCIDENTD_RETRY, 0, "out of memory");
			return;
		}
		job_send(j, "GET", next, NULL, after_comments_page);
		free(next);
		return;
	}
	if (r->link_next != NULL)
		j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "%s: issue #%lld has more than %d "
		    "pages of recent comments: delivery %lld is posted without looking further for "
		    "an earlier attempt's comment", j->key, (long long)j->issue, GI_MAX_PAGES,
		    (long long)j->delivery);
	if (j->foreign_comments > 0)
		j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "%s: %d comment(s) on issue #%lld "
		    "carry the marker of delivery %lld but were not written by %s: not taken for "
		    "ours, commenting", j->key, j->foreign_comments, (long long)j->issue,
		    (long long)j->delivery, j->self);
	post_comment(j);
}

/* A retry: list the comments updated since shortly before the event arrived (the first
 * attempt cannot have posted earlier) and post only when ours is not among them. */
static void
check_comments(struct gi_job *j)
{
	char path[640], since[32] = "";
	int64_t received = 0;

	if (j->self[0] == '\0') {
		/* who our comments are by is unknown: anyone could have written the marker */
		if (!j->s->warned_unchecked) {
			j->s->warned_unchecked = true;
			j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "the token's identity is "
			    "unknown (set author: <app-slug>[bot] for an installation token): a "
			    "retried comment is posted without looking for an earlier attempt's");
		}
		post_comment(j);
		return;
	}
	if (util_parse_time(jstr(j->event, "received_at"), &received) == 0 &&
	    received > GI_SINCE_MARGIN_MS)
		format_time(received - GI_SINCE_MARGIN_MS, since, sizeof(since));
	snprintf(path, sizeof(path), "/repos/%s/issues/%lld/comments?per_page=100%s%s",
	    j->s->repo, (long long)j->issue, since[0] ? "&since=" : "", since);
	j->pages = 0;
	j->foreign_comments = 0;
	job_send(j, "GET", path, NULL, after_comments_page);
}

/* kind: "failed", "resolved", "reopened", "fix", "reply" or "refusal". A first attempt posts; a later one (which an
 * interrupted or unanswered earlier attempt may have posted already) checks first. */
static void
step_comment(struct gi_job *j, const char *kind)
{
	int rc;

	free(j->comment);
	j->comment = NULL;
	if (strcmp(kind, "resolved") == 0)
		rc = ghr_comment_resolved(j->incident, j->event, j->delivery, &j->comment);
	else if (strcmp(kind, "fix") == 0)
		rc = ghr_comment_fix_merged(j->incident, j->event, j->delivery, &j->comment);
	else if (strcmp(kind, "reopened") == 0)
		rc = ghr_comment_reopened(j->incident, j->event, j->delivery, &j->comment);
	else if (strcmp(kind, "reply") == 0)
		rc = ghr_comment_reply(j->incident, j->event, j->delivery, &j->comment);
	else if (strcmp(kind, "refusal") == 0)
		rc = ghr_comment_refusal(j->event, j->s->repo, j->delivery, &j->comment);
	else
		rc = ghr_comment_failed_again(j->incident, j->event, j->delivery, &j->comment);
	if (rc != 0) {
		job_finish(j, INCIDENTD_RETRY, 0, "cannot render the comment");
		return;
	}
	if (j->attempt <= 1) {
		post_comment(j);
		return;
	}
	j->then = check_comments;
	step_whoami(j);
}

static void
after_reopen(struct gi_job *j, const struct gh_response *r)
{
	if (issue_gone(j, r) || !job_check(j, r, "reopen issue"))
		return;
	json_object_set_new(j->result, "state", json_string("open"));
	json_object_set_new(j->result, "seen_state", json_string("open"));
	json_object_set_new(j->result, "closed_at", json_null());
	j->issue_closed = false;
	step_comment(j, "reopened");
}

/* Reopen the issue; reopening an open one changes nothing on GitHub, so a retry that
 * reopens again is harmless. */
static void
step_reopen(struct gi_job *j)
{
	char path[512];

	snprintf(path, sizeof(path), "/repos/%s/issues/%lld", j->s->repo, (long long)j->issue);
	json_object_set_new(j->result, "reopened_at",
	    json_integer(j->s->host->now_ms(j->s->self)));
	job_send(j, "PATCH", path, json_pack("{s:s, s:s}", "state", "open", "state_reason",
	    "reopened"), after_reopen);
}

/* The author of an issue or comment this token just wrote is the token's identity:
 * remember it (an installation token's bot, which GET /user does not tell), or warn when
 * it is not the configured author (then our own issues and comments would never be
 * recognized). */
static void
learn_author(struct gi_job *j, const char *login)
{
	if (!gh_login_valid(login))
		return;
	if (j->s->author != NULL) {
		if (strcasecmp(login, j->s->author) != 0)
			j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "issue #%lld: written as "
			    "%s, but author is %s: incidentd will not recognize its own issues and "
			    "comments (set author: %s)", (long long)j->issue, login, j->s->author,
			    login);
		return;
	}
	if (j->self[0] == '\0')
		gh_user_remember(&j->s->gh, login);
}

static void
after_create(struct gi_job *j, const struct gh_response *r)
{
	json_t *num;
	char detail[128];

	if (!job_check(j, r, "create issue"))
		return;
	num = json_object_get(r->json, "number");
	if (!json_is_integer(num)) {
		job_finish(j, INCIDENTD_RETRY, 0, "create issue: answer without a number");
		return;
	}
	result_set_issue(j, json_integer_value(num), jstr(r->json, "html_url"), false);
	result_note_comment(j);
	json_object_set_new(j->result, "opened_at", json_integer(j->s->host->now_ms(j->s->self)));
	learn_author(j, jstr(json_object_get(r->json, "user"), "login"));
	snprintf(detail, sizeof(detail), "created issue #%lld", (long long)j->issue);
	j->s->host->log(j->s->self, INCIDENTD_LOG_INFO, "%s: %s %s", j->key, detail,
	    jstr(r->json, "html_url") ? jstr(r->json, "html_url") : "");
	job_finish(j, INCIDENTD_OK, 0, detail);
}

static void
step_create(struct gi_job *j)
{
	struct ghr_opts o = { .argocd_url = j->s->argocd_url, .max_body = 65536 };
	char path[512], *title = NULL, *body = NULL;
	json_t *req, *titled = j->event;

	/* a storm summary (incident key storm/<route>) is titled by the incident, not by its
	 * latest member's event */
	if (strncmp(j->key, "storm/", 6) == 0 && jstr(j->incident, "title") != NULL) {
		titled = json_copy(j->event);
		if (titled != NULL) {
			json_object_set_new(titled, "source", json_string("storm"));
			json_object_set(titled, "summary", json_object_get(j->incident, "title"));
		}
	}
	if (titled == NULL || ghr_issue_title(titled, j->s->title_prefix, &title) != 0 ||
	    ghr_issue_body(j->incident, j->event, &o, &body) != 0) {
		free(title);
		free(body);
		if (titled != j->event)
			json_decref(titled);
		job_finish(j, INCIDENTD_RETRY, 0, "cannot render the issue");
		return;
	}
	if (titled != j->event)
		json_decref(titled);
	req = json_pack("{s:s, s:s, s:O}", "title", title, "body", body, "labels", j->s->labels);
	free(title);
	free(body);
	snprintf(path, sizeof(path), "/repos/%s/issues", j->s->repo);
	job_send(j, "POST", path, req, after_create);
}

/* --- adoption: find the issue that carries the marker --------------------------------- */

/* Look at one issue of a listing or search; true when it is ours: not a pull request, the
 * marker the last line of its body, written by j->self (others are counted as foreign). */
static bool
consider(struct gi_job *j, const json_t *it)
{
	const char *body = jstr(it, "body"), *state = jstr(it, "state");
	json_t *num = json_object_get(it, "number");
	int64_t now = j->s->host->now_ms(j->s->self);
	const char *author = jstr(json_object_get(it, "user"), "login");

	if (json_object_get(it, "pull_request") != NULL || !json_is_integer(num) ||
	    body == NULL || state == NULL || !ghr_body_has_marker(body, j->key))
		return false;
	/* ours only: written by the token's identity (GitHub logins ignore case) */
	if (author == NULL || j->self[0] == '\0' || strcasecmp(author, j->self) != 0) {
		if (j->foreign++ == 0) {
			j->foreign_issue = json_integer_value(num);
			snprintf(j->foreign_by, sizeof(j->foreign_by), "%s",
			    gh_login_valid(author) ? author : "");
		}
		return false;
	}
	if (strcmp(state, "open") == 0) {
		result_set_issue(j, json_integer_value(num), jstr(it, "html_url"), false);
		free(j->issue_body);
		j->issue_body = strdup(body);
		return true;
	}
	{
		int64_t closed_at = 0;

		if (util_parse_time(jstr(it, "closed_at"), &closed_at) == 0 && closed_at > 0 &&
		    now - closed_at <= j->s->reopen_window_ms &&
		    closed_at > j->best_closed_at) {
			j->best_closed = json_integer_value(num);
			j->best_closed_at = closed_at;
			json_decref(j->best_closed_url);
			j->best_closed_url = json_incref(json_object_get(it, "html_url"));
		}
	}
	return false;
}

static void
after_find_page(struct gi_job *j, const struct gh_response *r)
{
	const json_t *items = j->pass == FIND_SEARCH ? json_object_get(r->json, "items") : r->json;
	size_t i;
	json_t *it;

	if (!job_check(j, r, "look for an existing issue"))
		return;
	if (!json_is_array(items)) {
		job_finish(j, INCIDENTD_RETRY, 0, "look for an existing issue: unexpected answer");
		return;
	}
	json_array_foreach(items, i, it) {
		if (consider(j, it)) {
			find_done(j);
			return;
		}
	}
	if (r->link_next != NULL && ++j->pages < GI_MAX_PAGES) {
		char *next = strdup(r->link_next);

		if (next == NULL) {
			job_finish(j, INCIDENTD_RETRY, 0, "out of memory");
			return;
		}
		find_page(j, next);
		free(next);
		return;
	}
	if (j->pass == FIND_OPEN) {
		/* no open issue: closed ones updated within the reopen window */
		char since[32], path[1024], *label = url_encode(json_string_value(
		    json_array_get(j->s->labels, 0)));

		if (label == NULL) {
			job_finish(j, INCIDENTD_RETRY, 0, "out of memory");
			return;
		}
		format_time(j->s->host->now_ms(j->s->self) - j->s->reopen_window_ms, since,
		    sizeof(since));
		snprintf(path, sizeof(path), "/repos/%s/issues?state=closed&labels=%s&since=%s"
		    "&per_page=100", j->s->repo, label, since);
		free(label);
		j->pass = FIND_CLOSED;
		j->pages = 0;
		find_page(j, path);
		return;
	}
	find_done(j);
}

static void
find_page(struct gi_job *j, const char *url)
{
	job_send(j, "GET", url, NULL, after_find_page);
}

static void
find_start(struct gi_job *j)
{
	char path[2048];

	j->pages = 0;
	if (json_array_size(j->s->labels) > 0) {
		char *label = url_encode(json_string_value(json_array_get(j->s->labels, 0)));

		if (label == NULL) {
			job_finish(j, INCIDENTD_RETRY, 0, "out of memory");
			return;
		}
		j->pass = FIND_OPEN;
		snprintf(path, sizeof(path), "/repos/%s/issues?state=open&labels=%s&per_page=100",
		    j->s->repo, label);
		free(label);
	} else {
		char q[1024], *eq;

		/* search is eventually consistent; labels make adoption exact (docs/sinks.md) */
		snprintf(q, sizeof(q), "repo:%s is:issue in:body \"incidentd:incident=%s\"",
		    j->s->repo, j->key);
		eq = url_encode(q);
		if (eq == NULL) {
			job_finish(j, INCIDENTD_RETRY, 0, "out of memory");
			return;
		}
		j->pass = FIND_SEARCH;
		snprintf(path, sizeof(path), "/search/issues?q=%s&per_page=100", eq);
		free(eq);
	}
	find_page(j, path);
}

/* Who our issues are by is unknown (an installation token, no author configured, no
 * issue created yet): adopt nothing. */
static void
find_unknown_self(struct gi_job *j)
{
	if (!j->s->warned_refused) {
		j->s->warned_refused = true;
		j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "GET /user is refused for this "
		    "token (a GitHub App installation token?): set author: <app-slug>[bot]; until "
		    "incidentd knows who its issues are by, it adopts none and opens new ones");
	}
	j->self[0] = '\0';
	find_done(j);
}

/* GET /user answered: the token's login, or (403) an installation token. */
static void
after_user(struct gi_job *j, const struct gh_response *r)
{
	const char *login = jstr(r->json, "login");

	if (r->status == 403) {
		char detail[256], full[300];
		uint64_t delay = 0;

		j->req = NULL;
		if (gh_classify(&j->s->gh, r, j->attempt, j->s->host->now_ms(j->s->self), &delay,
		    detail, sizeof(detail)) != GH_FAIL) {
			snprintf(full, sizeof(full), "GET /user: %s", detail);
			job_finish(j, INCIDENTD_RETRY, delay, full);
			return;
		}
		gh_user_remember(&j->s->gh, NULL);
		j->self[0] = '\0';
		j->then(j);
		return;
	}
	if (!job_check(j, r, "GET /user"))
		return;
	if (!gh_login_valid(login) || strchr(login, '[') != NULL) {
		job_finish(j, INCIDENTD_RETRY, 0, "GET /user: answer without a login");
		return;
	}
	gh_user_remember(&j->s->gh, login);
	snprintf(j->self, sizeof(j->self), "%s", login);
	j->then(j);
}

/* Who our issues and comments are by, into j->self, then j->then(j): the configured
 * author, the cached login of the token, or GET /user. "" when it cannot be known (an
 * installation token, no author configured, and no issue or comment written yet). */
static void
step_whoami(struct gi_job *j)
{
	if (j->s->author != NULL) {
		snprintf(j->self, sizeof(j->self), "%s", j->s->author);
		j->then(j);
		return;
	}
	switch (gh_user_lookup(&j->s->gh, j->self, sizeof(j->self))) {
	case GH_USER_KNOWN:
	case GH_USER_REFUSED:
		j->then(j);
		return;
	case GH_USER_UNKNOWN:
	default:
		job_send(j, "GET", "/user", NULL, after_user);
		return;
	}
}

/* Adoption, once we know who our issues are by. While the identity is unknown, nothing
 * can be adopted: go straight to creating. */
static void
find_with_self(struct gi_job *j)
{
	if (j->self[0] != '\0')
		find_start(j);
	else
		find_unknown_self(j);
}

static void
step_find(struct gi_job *j)
{
	j->then = find_with_self;
	step_whoami(j);
}

/* The search is over: act on what it found. */
static void
find_done(struct gi_job *j)
{
	const char *event_id = jstr(j->event, "id");
	char detail[160];

	if (j->foreign > 0)
		j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "%s: %d issue(s) carry this "
		    "incident's marker but were not written by %s (e.g. #%lld by %s): not adopted",
		    j->key, j->foreign, j->self[0] ? j->self : "incidentd (identity unknown)",
		    (long long)j->foreign_issue, j->foreign_by[0] ? j->foreign_by : "someone else");

	if (j->issue > 0) {
		/* our own create whose answer never reached the ledger: adopt silently */
		if (event_id != NULL && j->issue_body != NULL && strstr(j->issue_body, event_id)) {
			result_note_comment(j);
			snprintf(detail, sizeof(detail), "adopted issue #%lld (created for this event)",
			    (long long)j->issue);
			job_finish(j, INCIDENTD_OK, 0, detail);
			return;
		}
		j->s->host->log(j->s->self, INCIDENTD_LOG_INFO, "%s: adopted open issue #%lld",
		    j->key, (long long)j->issue);
		step_comment(j, strcmp(j->action, "resolve") == 0 ? "resolved" : "failed");
		return;
	}
	if (j->best_closed > 0 && strcmp(j->action, "resolve") != 0) {
		result_set_issue(j, j->best_closed, json_string_value(j->best_closed_url), true);
		step_reopen(j);
		return;
	}
	if (strcmp(j->action, "resolve") == 0) {
		job_finish(j, INCIDENTD_OK, 0, "no open issue for this incident: nothing to resolve");
		return;
	}
	step_create(j);
}

/* --- deliver ------------------------------------------------------------------------- */

/* Decide what to do for a delivery whose incident already knows its issue. */
static void
step_known(struct gi_job *j)
{
	int64_t now = j->s->host->now_ms(j->s->self);
	const char *state = jstr(j->refs, "state");
	bool closed = state != NULL && strcmp(state, "closed") == 0;
	json_t *closed_at = json_object_get(j->refs, "closed_at");

	result_set_issue(j, j->issue, jstr(j->refs, "url"), closed);
	if (strcmp(j->action, "resolve") == 0) {
		if (closed) {
			job_finish(j, INCIDENTD_OK, 0, "issue already closed");
			return;
		}
		step_comment(j, "resolved");
		return;
	}
	if (closed) {
		if (json_is_integer(closed_at) &&
		    now - json_integer_value(closed_at) <= j->s->reopen_window_ms) {
			step_reopen(j);
			return;
		}
		/* closed too long ago: a new issue (adoption first, in case we crashed) */
		j->issue = 0;
		json_object_clear(j->result);
		json_object_set_new(j->result, "previous_issue", json_integer(
		    json_integer_value(json_object_get(j->refs, "issue"))));
		step_find(j);
		return;
	}
	{
		const char *rev = jstr(j->event, "revision");
		const char *last_rev = jstr(j->refs, "last_revision");
		json_t *last = json_object_get(j->refs, "last_comment_at");
		bool new_rev = rev != NULL && (last_rev == NULL || strcmp(rev, last_rev) != 0);
		bool due = !json_is_integer(last) ||
		    now - json_integer_value(last) >= j->s->repeat_interval_ms;
		char detail[200];

		/* "open" on a known, still open issue: it failed again after a recovery
		 * (close_on_resolve off), which is always worth a comment */
		if (!new_rev && !due && strcmp(j->action, "update") == 0) {
			snprintf(detail, sizeof(detail), "issue #%lld: no comment (same revision, "
			    "last comment %llds ago, repeat_interval %llds)", (long long)j->issue,
			    (long long)((now - json_integer_value(last)) / 1000),
			    (long long)(j->s->repeat_interval_ms / 1000));
			json_object_clear(j->result);
			job_finish(j, INCIDENTD_OK, 0, detail);
			return;
		}
	}
	step_comment(j, "failed");
}

/* An update whose event is a label added to the issue (incidentd's GitHub webhook
 * source), sent ahead of a sink with trigger: label: may the person who added it start
 * it? Yes with write, maintain or admin permission on the repository. */
static bool
is_permission_check(const struct gi_job *j)
{
	return event_is(j, "github", "github.issues.labeled") || is_command(j);
}

static const char *
permission_login(const struct gi_job *j)
{
	return jstr(json_object_get(j->event, "labels"), "sender");
}

/* The slot of login's refusal on issue within GI_REFUSED_QUIET_MS of now, or -1. */
static int
refusal_recent(const struct gi_sink *s, const char *login, json_int_t issue, int64_t now)
{
	for (size_t i = 0; i < GI_REFUSED_CACHE; i++)
		if (s->refused[i].at > 0 && s->refused[i].issue == issue &&
		    now - s->refused[i].at < GI_REFUSED_QUIET_MS &&
		    strcasecmp(s->refused[i].login, login) == 0)
			return (int)i;
	return -1;
}

/* Remember that login was told on issue (now), in the oldest slot. */
static void
refusal_note(struct gi_sink *s, const char *login, json_int_t issue, int64_t now)
{
	size_t slot = 0;

	for (size_t i = 1; i < GI_REFUSED_CACHE; i++)
		if (s->refused[i].at < s->refused[slot].at)
			slot = i;
	snprintf(s->refused[slot].login, sizeof(s->refused[slot].login), "%s", login);
	s->refused[slot].issue = issue;
	s->refused[slot].at = now;
}

static void
permission_answer(struct gi_job *j, const char *login, bool write, const char *what)
{
	char detail[300];

	snprintf(detail, sizeof(detail), "@%s %s write permission on %s%s", login,
	    write ? "has" : "lacks", j->s->repo, write ? "" : is_command(j) ? ": only people "
	    "with write permission give incidentd commands" : ": only people with write "
	    "permission (or allowed_actors) start a label-triggered sink");
	j->s->host->log(j->s->self, INCIDENTD_LOG_INFO, "%s on %s: %s (%s)", is_command(j) ?
	    "command" : "label trigger", j->key, detail, what);
	if (!write && is_command(j) && j->issue > 0) {
		/* anyone else gets a short refusal reply (once in a while), then the check fails */
		if (refusal_recent(j->s, login, j->issue, j->s->host->now_ms(j->s->self)) < 0) {
			step_comment(j, "refusal");
			return;
		}
		snprintf(detail, sizeof(detail), "@%s lacks write permission on %s: the command is "
		    "refused (told on issue #%lld less than 10 minutes ago: no second reply)", login,
		    j->s->repo, (long long)j->issue);
	}
	job_finish(j, write ? INCIDENTD_OK : INCIDENTD_FAIL, 0, detail);
}

static void
after_permission(struct gi_job *j, const struct gh_response *r)
{
	const char *login = permission_login(j), *perm;
	bool write;
	size_t slot = 0;

	if (!job_check(j, r, "ask the permission of the label's sender"))
		return;
	perm = jstr(r->json, "permission");
	write = perm != NULL && (strcmp(perm, "admin") == 0 || strcmp(perm, "maintain") == 0 ||
	    strcmp(perm, "write") == 0);
	for (size_t i = 1; i < GI_PERM_CACHE; i++)   /* the oldest slot */
		if (j->s->perm[i].at < j->s->perm[slot].at)
			slot = i;
	snprintf(j->s->perm[slot].login, sizeof(j->s->perm[slot].login), "%s", login);
	j->s->perm[slot].write = write;
	j->s->perm[slot].at = j->s->host->now_ms(j->s->self);
	permission_answer(j, login, write, perm ? perm : "no permission in the answer");
}

static void
step_permission(struct gi_job *j)
{
	const char *login = permission_login(j);
	int64_t now = j->s->host->now_ms(j->s->self);
	char path[300];

	if (!gh_login_valid(login)) {
		job_finish(j, INCIDENTD_FAIL, 0, "the label's sender is not a GitHub login");
		return;
	}
	for (size_t i = 0; i < GI_PERM_CACHE; i++) {
		if (j->s->perm[i].at > 0 && now - j->s->perm[i].at < GI_PERM_TTL_MS &&
		    strcasecmp(j->s->perm[i].login, login) == 0) {
			permission_answer(j, login, j->s->perm[i].write, "cached");
			return;
		}
	}
	snprintf(path, sizeof(path), "/repos/%s/collaborators/%s/permission", j->s->repo, login);
	job_send(j, "GET", path, NULL, after_permission);
}

/* What reconciliation found, in the result (refs.<instance>.last_reconcile, and kept on
 * the delivery for incidentd's step behind it): seen "unchanged", "open", "closed" or
 * "gone"; was (the state the refs knew); by and person for a closed issue. */
static void
reconcile_found(struct gi_job *j, const char *seen, const char *was, const char *by,
    bool person)
{
	json_t *f = json_pack("{s:s, s:s?, s:s?, s:b}", "seen", seen, "was", was, "by", by,
	    "person", person);

	if (f != NULL)
		json_object_set_new(j->result, "last_reconcile", f);
}

static void
after_reconcile(struct gi_job *j, const struct gh_response *r)
{
	/* the state last seen: by reconciliation, a webhook (ghfeedback.c) or this sink */
	const char *was = jstr(j->refs, "seen_state") ? jstr(j->refs, "seen_state") :
	    jstr(j->refs, "state") ? jstr(j->refs, "state") : "open";
	const char *state, *by = NULL, *author, *etag = r->etag[0] ? r->etag : NULL;
	bool person = false;
	char detail[300];

	j->req = NULL;
	if (r->status == 304) {
		reconcile_found(j, "unchanged", was, NULL, false);
		snprintf(detail, sizeof(detail), "issue #%lld unchanged (304, no rate limit spent)",
		    (long long)j->issue);
		job_finish(j, INCIDENTD_OK, 0, detail);
		return;
	}
	if (r->status == 404 || r->status == 410) {
		json_object_set_new(j->result, "previous_issue", json_integer(j->issue));
		json_object_set_new(j->result, "issue", json_integer(0));
		json_object_set_new(j->result, "etag", json_null());
		reconcile_found(j, "gone", was, NULL, false);
		snprintf(detail, sizeof(detail), "issue #%lld is gone (HTTP %ld): forgotten, the "
		    "next notification opens a new issue", (long long)j->issue, r->status);
		j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "reconcile %s: %s", j->key, detail);
		job_finish(j, INCIDENTD_OK, 0, detail);
		return;
	}
	if (!job_check(j, r, "read the issue"))
		return;
	state = jstr(r->json, "state");
	if (state == NULL || (strcmp(state, "open") != 0 && strcmp(state, "closed") != 0)) {
		job_finish(j, INCIDENTD_RETRY, 0, "read the issue: no state in the answer");
		return;
	}
	author = jstr(json_object_get(r->json, "user"), "login");
	if (strcmp(state, "closed") == 0) {
		const json_t *cb = json_object_get(r->json, "closed_by");
		const char *type = jstr(cb, "type");

		by = jstr(cb, "login");
		/* a person: a User who is not the issue's author (incidentd itself) */
		person = by != NULL && gh_login_valid(by) && type != NULL &&
		    strcmp(type, "User") == 0 && (author == NULL || strcasecmp(by, author) != 0);
		if (by != NULL && !gh_login_valid(by))
			by = NULL;
	}
	/* seen_state, not state: what this sink did to the issue (state, closed_at) drives
	 * its own decisions; a person's close is only seen */
	json_object_set_new(j->result, "seen_state", json_string(state));
	json_object_set_new(j->result, "etag", etag ? json_string(etag) : json_null());
	reconcile_found(j, state, was, by, person);
	snprintf(detail, sizeof(detail), "issue #%lld is %s%s%s%s (was %s)", (long long)j->issue,
	    state, by ? " by @" : "", by ? by : "", by && !person ? ", not a person" : "", was);
	job_finish(j, INCIDENTD_OK, 0, detail);
}

static void
step_reconcile(struct gi_job *j)
{
	char path[512];
	int rc;

	snprintf(path, sizeof(path), "/repos/%s/issues/%lld", j->s->repo, (long long)j->issue);
	j->next = after_reconcile;
	rc = gh_request_if_none_match(&j->s->gh, "GET", path, NULL, jstr(j->refs, "etag"),
	    on_answer, j, &j->req);
	if (rc != 0)
		job_finish(j, INCIDENTD_RETRY, 0, "cannot start a GitHub request");
}

static void
job_begin(void *arg)
{
	struct gi_job *j = arg;
	json_t *issue;
	bool known;

	j->timer = NULL;
	j->refs = json_object_get(json_object_get(j->incident, "refs"),
	    j->s->host->instance_name(j->s->self));
	issue = json_object_get(j->refs, "issue");
	known = json_is_integer(issue) && json_integer_value(issue) > 0 &&
	    (jstr(j->refs, "repo") == NULL || strcmp(jstr(j->refs, "repo"), j->s->repo) == 0);
	if (known)
		j->issue = json_integer_value(issue);
	if (is_permission_check(j)) {
		step_permission(j);
		return;
	}
	if (is_reconcile(j)) {
		if (known)
			step_reconcile(j);
		else
			job_finish(j, INCIDENTD_OK, 0, "no issue to reconcile");
		return;
	}
	if (is_reply(j)) {
		/* on the issue as it is; no issue, no reply */
		if (known)
			step_comment(j, "reply");
		else
			job_finish(j, INCIDENTD_OK, 0, "no issue to reply on");
		return;
	}
	if (is_fix_note(j)) {
		/* on the issue as it is (a closed one stays closed); no issue, no note */
		if (known)
			step_comment(j, "fix");
		else
			job_finish(j, INCIDENTD_OK, 0, "no issue to note the merged fix on");
		return;
	}
	if (known)
		step_known(j);
	else
		step_find(j);
}

static int
gi_deliver(void *state, const struct incidentd_delivery *d, incidentd_done_fn done,
    struct incidentd_call *call)
{
	struct gi_sink *s = state;
	struct gi_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return -ENOMEM;
	j->s = s;
	j->done = done;
	j->call = call;
	j->attempt = d->attempt;
	j->delivery = d->id;
	j->action = strdup(d->action);
	j->key = strdup(d->incident_key);
	j->incident = json_loads(d->incident_json, 0, NULL);
	j->event = json_loads(d->event_json, 0, NULL);
	/* no text of the event displays reordered (bidirectional controls) */
	if (text_json_strip_bidi(j->incident) != 0 || text_json_strip_bidi(j->event) != 0) {
		json_decref(j->event);
		j->event = NULL;
	}
	j->event_id = jstr(j->event, "id");
	j->result = json_object();
	if (j->action == NULL || j->key == NULL || j->incident == NULL || j->event == NULL ||
	    j->result == NULL) {
		job_free(j);
		return -ENOMEM;
	}
	/* start from the loop, so that even an immediate outcome is reported after deliver()
	 * returned */
	j->timer = s->host->timer_start(s->self, 0, job_begin, j);
	if (j->timer == NULL) {
		job_free(j);
		return -ENOMEM;
	}
	LIST_INSERT_HEAD(&s->jobs, j, entry);
	return 0;
}

/* --- lifecycle ----------------------------------------------------------------------- */

static void
gi_destroy(void *state)
{
	struct gi_sink *s = state;
	struct gi_job *j;

	if (s == NULL)
		return;
	while ((j = LIST_FIRST(&s->jobs)) != NULL) {
		LIST_REMOVE(j, entry);
		job_free(j);
	}
	gh_client_clear(&s->gh);
	free(s->repo);
	json_decref(s->labels);
	free(s->title_prefix);
	free(s->argocd_url);
	free(s->author);
	free(s);
}

/* Draining: abandon what has not finished; it is retried after the restart (and the
 * marker search prevents a duplicate if a create had already reached GitHub). */
static void
gi_flush(void *state)
{
	struct gi_sink *s = state;
	struct gi_job *j;

	while ((j = LIST_FIRST(&s->jobs)) != NULL)
		job_finish(j, INCIDENTD_RETRY, 0, "incidentd is shutting down");
}

static int
gi_init(const struct incidentd_host *host, struct incidentd_instance *self,
    const char *config_json, void **state, char *err, size_t errlen)
{
	struct gi_sink *s = NULL;
	json_t *cfg = NULL, *labels = NULL, *v;
	json_error_t jerr;
	const char *repo = NULL, *token = NULL, *api_url = "https://api.github.com";
	const char *title_prefix = NULL, *argocd_url = NULL, *reopen = "24h", *repeat = "4h";
	const char *timeout = "30s", *author = NULL;
	int close_on_resolve = 0, rc = -EINVAL;
	size_t i;

	cfg = json_loads(config_json, 0, &jerr);
	if (cfg == NULL) {
		snprintf(err, errlen, "configuration is not JSON: %s", jerr.text);
		goto out;
	}
	if (json_unpack_ex(cfg, &jerr, JSON_STRICT, "{s:s, s:s, s?s, s?o, s?s, s?s, s?b, s?s, "
	    "s?s, s?s, s?s}", "repo", &repo, "token", &token, "api_url", &api_url, "labels",
	    &labels, "title_prefix", &title_prefix, "argocd_url", &argocd_url,
	    "close_on_resolve", &close_on_resolve, "reopen_window", &reopen, "repeat_interval",
	    &repeat, "timeout", &timeout, "author", &author) != 0) {
		/* jansson's text names the key; it never contains a value */
		snprintf(err, errlen, "%s (keys: repo, token, api_url, labels, title_prefix, "
		    "argocd_url, close_on_resolve, reopen_window, repeat_interval, timeout, author)",
		    jerr.text);
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	LIST_INIT(&s->jobs);
	s->host = host;
	s->self = self;
	if (!gh_repo_valid(repo)) {
		snprintf(err, errlen, "repo: '%s' is not owner/name", repo);
		goto out;
	}
	if (author != NULL && !gh_login_valid(author)) {
		snprintf(err, errlen, "author: '%.80s' is not a GitHub login (e.g. my-app[bot] for "
		    "a GitHub App)", author);
		goto out;
	}
	if (argocd_url != NULL) {
		char *norm = NULL;

		rc = ghr_http_url(argocd_url, &norm);
		free(norm);
		if (rc == -ENOMEM)
			goto out;
		rc = -EINVAL;
		if (norm == NULL) {
			snprintf(err, errlen, "argocd_url: '%.200s' is not an http(s) URL without "
			    "user, query or fragment", argocd_url);
			goto out;
		}
	}
	if (labels != NULL && !json_is_array(labels)) {
		snprintf(err, errlen, "labels: expected a list of strings");
		goto out;
	}
	json_array_foreach(labels, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 50) {
			snprintf(err, errlen, "labels[%zu]: expected a string of 1 to 50 characters "
			    "(GitHub's limit)", i);
			goto out;
		}
	}
	if (util_parse_duration(reopen, &s->reopen_window_ms) != 0 ||
	    util_parse_duration(repeat, &s->repeat_interval_ms) != 0) {
		snprintf(err, errlen, "reopen_window / repeat_interval: expected a duration like "
		    "24h or 30m");
		goto out;
	}
	{
		int64_t t;

		if (util_parse_duration(timeout, &t) != 0 || t <= 0) {
			snprintf(err, errlen, "timeout: expected a duration like 30s");
			goto out;
		}
		rc = gh_client_init(&s->gh, host, self, api_url, token, err, errlen);
		if (rc != 0)
			goto out;
		s->gh.timeout_ms = (long)t;
		rc = -EINVAL;
	}
	s->repo = strdup(repo);
	s->labels = labels ? json_incref(labels) : json_array();
	s->title_prefix = title_prefix ? strdup(title_prefix) : NULL;
	s->argocd_url = argocd_url ? strdup(argocd_url) : NULL;
	s->author = author ? strdup(author) : NULL;
	s->close_on_resolve = close_on_resolve;
	if (s->repo == NULL || s->labels == NULL || (title_prefix && !s->title_prefix) ||
	    (argocd_url && !s->argocd_url) || (author && !s->author)) {
		rc = -ENOMEM;
		goto out;
	}
	*state = s;
	s = NULL;
	rc = 0;
out:
	gi_destroy(s);
	json_decref(cfg);
	return rc;
}

static const struct incidentd_sink gi_descriptor = {
	.abi_version = INCIDENTD_SINK_ABI_VERSION,
	.struct_size = sizeof(struct incidentd_sink),
	.name = "github_issue",
	.description = "one GitHub issue per incident: open, comment, resolve, reopen",
	.init = gi_init,
	.deliver = gi_deliver,
	.flush = gi_flush,
	.destroy = gi_destroy,
};

INCIDENTD_SINK_EXPORT const struct incidentd_sink *
incidentd_sink_entry(void)
{
	return &gi_descriptor;
}
