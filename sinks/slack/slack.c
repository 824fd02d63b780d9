/* slack.c - the slack sink: a Block Kit message per incident action.
 *
 * webhook_url      an incoming webhook. Every action posts a new message: webhooks cannot
 *                  reply in threads, so update and resolve messages say which incident
 *                  they follow up.
 * token + channel  chat.postMessage with a bot token. `open` posts a message and stores its
 *                  ts on the incident (refs.<instance> = {"thread_ts", "channel"}); `update`
 *                  and `resolve` reply in that thread, `resolve` also to the channel
 *                  (reply_broadcast). Without a stored thread they post a new message and
 *                  store it as the thread.
 *
 * Chained after a github_issue sink (`after: github`), the message has a button to the
 * issue (refs.<issue_from>, or the only refs entry with an issue number and URL).
 *
 * Buttons (token mode, option buttons, default true): the message that stands for the
 * incident (an open, or an update that starts the thread) has Acknowledge, Silence 1h,
 * Silence 4h and Resolve, each with the incident id as its value; Slack posts a press to
 * POST /v1/slack/actions (sources/slack.c). Who may act, and the message updated after a
 * command, are interact.c's.
 *
 * Pacing: one message per second per webhook URL or per token and channel (a host pacing
 * lane named by a hash: the URL and the token are secrets and never appear in logs, the
 * ledger or details). A 429 holds the lane for Retry-After and retries after it.
 *
 * Exactly once per delivery (token mode). Slack has no idempotency key for
 * chat.postMessage, so every message carries message metadata {"event_type":
 * "incidentd_delivery", "event_payload": {"delivery_id", "event_id"}}. An attempt after the
 * first (a retry after a lost answer, or the delivery a SIGKILL left running, which the
 * broker hands out again) first reads what an earlier attempt may have posted: the
 * incident's thread (conversations.replies) or the channel (conversations.history), since
 * shortly before the event arrived, include_all_metadata=true, through every page. A
 * message of the token's own bot (auth.test, asked once, or learned from an answer) with
 * the delivery's metadata stands for the post (its ts becomes the incident's thread), and
 * nothing is posted. A channel configured by name is looked up once in conversations.list.
 * When a read is refused (missing_scope: channels:history / groups:history, or
 * channels:read / groups:read for a name; not_in_channel ...) the sink logs once that it
 * cannot check and posts. An incoming webhook cannot read anything: its retries post
 * again. First attempts never read. */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "incidentd/sink.h"
#include "blocks.h"
#include "history.h"
#include "sink_int.h"
#include "slackapi.h"
#include "strbuf.h"
#include "template.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define SL_DEFAULT_API "https://slack.com/api"
#define SL_PAGE_LIMIT 200            /* messages per history page (Slack's advice) */
#define SL_MAX_PAGES 20              /* 4,000 messages: beyond that, post unchecked */
#define SL_LIST_LIMIT 1000           /* channels per conversations.list page */
#define SL_READ_WAITS 10             /* rate limits waited out within one check */
/* A retry reads from when the event arrived, less this much for a clock of ours that runs
 * ahead of Slack's. */
#define SL_OLDEST_MARGIN_MS (10 * 60 * 1000)

/* --- small helpers ------------------------------------------------------------------- */

const char *
jstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return (s != NULL && *s != '\0') ? s : NULL;
}

static bool
is_http_url(const char *u)
{
	return strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
}

/* "slack:" + the first 16 hex digits of SHA-256(a [+ "\n" + b]). Returns NULL on error. */
static char *
lane_name(const char *a, const char *b)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char lane[32];
	bool ok;

	if (ctx == NULL)
		return NULL;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, a, strlen(a)) == 1 &&
	    (b == NULL || (EVP_DigestUpdate(ctx, "\n", 1) == 1 &&
	    EVP_DigestUpdate(ctx, b, strlen(b)) == 1)) &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 8;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return NULL;
	memcpy(lane, "slack:", 6);
	for (int i = 0; i < 8; i++)
		snprintf(lane + 6 + 2 * i, 3, "%02x", md[i]);
	return strdup(lane);
}

/* --- completion ---------------------------------------------------------------------- */

static void
job_free(struct sl_job *j)
{
	if (j == NULL)
		return;
	slack_request_cancel(j->req);
	if (j->timer != NULL)
		j->s->host->timer_cancel(j->timer);
	free(j->command);
	free(j->early);
	free(j->action);
	free(j->key);
	free(j->event_id);
	free(j->body);
	free(j->cursor);
	free(j->read_url);
	free(j);
}

void
job_finish(struct sl_job *j, enum incidentd_result res, uint64_t retry_after_ms,
    const char *detail, const char *result)
{
	LIST_REMOVE(j, entry);
	/* j->req is NULL when an answer ends the job (on_answer cleared it); a request still
	 * waiting or running (a drain ends the job) is cancelled by job_free() */
	j->done(j->call, res, retry_after_ms, detail, result);
	job_free(j);
}

static void
on_answer(void *arg, const struct slack_answer *a)
{
	struct sl_job *j = arg;

	j->req = NULL;
	j->next(j, a);
}

void
job_send(struct sl_job *j, const char *url, const char *body, uint64_t gap_ms,
    void (*next)(struct sl_job *, const struct slack_answer *))
{
	char detail[128];
	int rc;

	j->next = next;
	rc = slack_request_start(&j->s->api, url, body, gap_ms, on_answer, j, &j->req);
	if (rc != 0) {
		snprintf(detail, sizeof(detail), "cannot start a request to Slack: %s",
		    strerror(-rc));
		job_finish(j, INCIDENTD_RETRY, 0, detail, NULL);
	}
}

/* --- posting ------------------------------------------------------------------------- */

static void
on_post(struct sl_job *j, const struct slack_answer *a)
{
	struct sl_sink *s = j->s;
	char detail[512], result[512], note[260] = "";
	const char *res_json = NULL;
	uint64_t delay = 0;
	enum slack_verdict v;

	v = slack_classify_answer(s->webhook, a, &delay, detail, sizeof(detail));
	if (v != SLACK_OK) {
		if (delay > 0)
			slack_client_hold(&s->api, delay);
		s->host->log(s->self, INCIDENTD_LOG_WARN, "%s %s: %s", j->action, j->key, detail);
		job_finish(j, v == SLACK_RETRY ? INCIDENTD_RETRY : INCIDENTD_FAIL, delay, detail,
		    NULL);
		return;
	}
	if (j->unchecked[0] != '\0')
		snprintf(note, sizeof(note), "; not checked for an earlier attempt's message: %.200s",
		    j->unchecked);
	if (!s->webhook) {
		json_t *ans = json_loads(a->body ? a->body : "", 0, NULL);
		const char *ts = jstr(ans, "ts"), *ch = jstr(ans, "channel");

		/* who we post as, and the ID of a channel configured by name: a later retry
		 * reads with them */
		slack_identity_from_message(json_object_get(ans, "message"), &s->me);
		if (!j->threaded && ch != NULL && s->channel_id[0] == '\0' &&
		    slack_channel_is_id(ch))
			snprintf(s->channel_id, sizeof(s->channel_id), "%s", ch);
		if (j->threaded) {
			snprintf(detail, sizeof(detail), "replied in the thread (%s)%s", j->action,
			    note);
		} else if (ts != NULL && ch != NULL && strlen(ts) < 64 && strlen(ch) < 64) {
			json_t *r = json_pack("{s:s, s:s}", "thread_ts", ts, "channel", ch);
			char *dump = r ? json_dumps(r, JSON_COMPACT) : NULL;

			if (dump != NULL && strlen(dump) < sizeof(result)) {
				snprintf(result, sizeof(result), "%s", dump);
				res_json = result;
			}
			free(dump);
			json_decref(r);
			snprintf(detail, sizeof(detail), "posted message %s to %s (%s)%s", ts, ch,
			    j->action, note);
		} else {
			snprintf(detail, sizeof(detail), "posted (%s); the answer had no ts to "
			    "thread on%s", j->action, note);
		}
		json_decref(ans);
	} else {
		snprintf(detail, sizeof(detail), "posted (incoming webhook, %s)%s", j->action, note);
	}
	s->host->log(s->self, INCIDENTD_LOG_INFO, "%s %s: %s", j->action, j->key, detail);
	job_finish(j, INCIDENTD_OK, 0, detail, res_json);
}

static void
post_start(struct sl_job *j)
{
	job_send(j, j->s->url, j->body, SL_GAP_MS, on_post);
}

/* --- the check of a retry: did an earlier attempt post this delivery? ------------------ */

/* An earlier attempt's message cannot be looked for (why): say so once, then post. */
static void
post_unchecked(struct sl_job *j, const char *why)
{
	struct sl_sink *s = j->s;

	snprintf(j->unchecked, sizeof(j->unchecked), "%s", why);
	if (!s->warned_unchecked) {
		s->warned_unchecked = true;
		s->host->log(s->self, INCIDENTD_LOG_WARN, "cannot look for the message of an "
		    "earlier attempt (%s): retried messages are posted without checking and may "
		    "repeat; exactly once needs a bot token with channels:history and "
		    "groups:history (and channels:read, groups:read for a channel given by name)",
		    why);
	}
	post_start(j);
}

/* GET url (owned by the job from now on: kept until the answer, for a read again after a
 * rate limit), then next. */
static void
read_send(struct sl_job *j, char *url,
    void (*next)(struct sl_job *, const struct slack_answer *))
{
	free(j->read_url);
	j->read_url = url;
	/* a read books no slot: it waits only for the lane's earlier bookings and holds */
	job_send(j, url, NULL, 0, next);
}

/* The answer of a read (method). Returns its JSON (new reference) when Slack said ok;
 * otherwise the job has gone on and NULL: a rate limit is waited out and the same read
 * made again (paging goes on where it was: some apps may read history once a minute
 * only), other transient errors finish with RETRY, a refusal posts unchecked. */
static json_t *
read_answer(struct sl_job *j, const char *method, const struct slack_answer *a)
{
	struct sl_sink *s = j->s;
	char detail[300];
	uint64_t delay = 0;
	enum slack_verdict v = slack_classify_method(method, a, &delay, detail, sizeof(detail));
	json_t *ans;

	if (v == SLACK_RETRY) {
		if (delay > 0)
			slack_client_hold(&s->api, delay);
		if (delay > 0 && j->read_url != NULL && j->read_waits++ < SL_READ_WAITS) {
			char *url = j->read_url;

			s->host->log(s->self, INCIDENTD_LOG_INFO, "%s %s: %s; reading on after the "
			    "wait", j->action, j->key, detail);
			j->read_url = NULL;
			read_send(j, url, j->next);
			return NULL;
		}
		s->host->log(s->self, INCIDENTD_LOG_WARN, "%s %s: %s", j->action, j->key, detail);
		job_finish(j, INCIDENTD_RETRY, delay, detail, NULL);
		return NULL;
	}
	if (v == SLACK_FAIL) {
		post_unchecked(j, detail);
		return NULL;
	}
	ans = json_loads(a->body ? a->body : "", 0, NULL);
	if (ans == NULL) {
		snprintf(detail, sizeof(detail), "%s: unexpected answer", method);
		post_unchecked(j, detail);
	}
	return ans;
}

/* GET <api_base>/<method>?<query>[&cursor=<j->cursor>], then next. */
static void
read_start(struct sl_job *j, const char *method, const char *query,
    void (*next)(struct sl_job *, const struct slack_answer *))
{
	char *cursor = NULL, *url = NULL;
	size_t n;

	if (j->cursor != NULL && (cursor = curl_easy_escape(NULL, j->cursor, 0)) == NULL) {
		job_finish(j, INCIDENTD_RETRY, 0, "out of memory", NULL);
		return;
	}
	n = strlen(j->s->api_base) + strlen(method) + strlen(query) +
	    (cursor ? strlen(cursor) : 0) + 16;
	url = malloc(n);
	if (url == NULL) {
		curl_free(cursor);
		job_finish(j, INCIDENTD_RETRY, 0, "out of memory", NULL);
		return;
	}
	snprintf(url, n, "%s/%s?%s%s%s", j->s->api_base, method, query,
	    cursor ? "&cursor=" : "", cursor ? cursor : "");
	curl_free(cursor);
	read_send(j, url, next);
}

static void
set_cursor(struct sl_job *j, char *cursor)
{
	free(j->cursor);
	j->cursor = cursor;
}

static void scan_page(struct sl_job *j);

/* One page of the thread or the channel. */
static void
on_scan(struct sl_job *j, const struct slack_answer *a)
{
	const char *method = j->threaded ? "conversations.replies" : "conversations.history";
	struct sl_sink *s = j->s;
	struct slack_page page;
	json_t *ans = read_answer(j, method, a);
	char detail[300], result[160];
	int rc;

	if (ans == NULL)
		return;
	rc = slack_page_find(ans, &s->me, j->delivery, j->event_id, &page);
	json_decref(ans);
	if (rc != 0) {
		free(page.cursor);
		snprintf(detail, sizeof(detail), "%s: %s", method, rc == -ENOMEM ?
		    "out of memory" : "unexpected answer");
		post_unchecked(j, detail);
		return;
	}
	j->foreign += page.foreign;
	if (page.ts[0] != '\0') {
		free(page.cursor);
		s->host->log(s->self, INCIDENTD_LOG_INFO, "%s %s: message %s of delivery %lld is "
		    "already in %s (an earlier attempt posted it): not posted again", j->action,
		    j->key, page.ts, (long long)j->delivery, j->scan_channel);
		snprintf(detail, sizeof(detail), "message %s of an earlier attempt found in %s "
		    "(%s): not posted again", page.ts, j->scan_channel, j->action);
		if (j->threaded) {
			job_finish(j, INCIDENTD_OK, 0, detail, NULL);
			return;
		}
		/* the message stands for the post: it is the incident's thread */
		snprintf(result, sizeof(result), "{\"thread_ts\":\"%s\",\"channel\":\"%s\"}",
		    page.ts, j->scan_channel);
		job_finish(j, INCIDENTD_OK, 0, detail, result);
		return;
	}
	set_cursor(j, page.cursor);
	if (j->cursor != NULL && ++j->pages < SL_MAX_PAGES) {
		scan_page(j);
		return;
	}
	if (j->foreign > 0)
		s->host->log(s->self, INCIDENTD_LOG_WARN, "%s %s: %d message(s) in %s carry the "
		    "metadata of delivery %lld but were not posted by this token's bot: not taken "
		    "for ours, posting", j->action, j->key, j->foreign, j->scan_channel,
		    (long long)j->delivery);
	if (j->cursor != NULL) {
		snprintf(detail, sizeof(detail), "more than %d pages of recent messages in %s",
		    SL_MAX_PAGES, j->scan_channel);
		post_unchecked(j, detail);
		return;
	}
	post_start(j);
}

static void
scan_page(struct sl_job *j)
{
	char query[256];
	int n;

	if (j->threaded)
		n = snprintf(query, sizeof(query), "channel=%s&ts=%s&limit=%d"
		    "&include_all_metadata=true%s%s", j->scan_channel, j->thread_ts, SL_PAGE_LIMIT,
		    j->oldest[0] ? "&oldest=" : "", j->oldest);
	else
		n = snprintf(query, sizeof(query), "channel=%s&limit=%d&include_all_metadata=true"
		    "%s%s", j->scan_channel, SL_PAGE_LIMIT, j->oldest[0] ? "&oldest=" : "",
		    j->oldest);
	if (n < 0 || (size_t)n >= sizeof(query)) {
		post_unchecked(j, "the query does not fit");
		return;
	}
	read_start(j, j->threaded ? "conversations.replies" : "conversations.history", query,
	    on_scan);
}

static void
scan_start(struct sl_job *j, const char *channel)
{
	j->scan_channel = channel;
	j->pages = 0;
	j->foreign = 0;
	set_cursor(j, NULL);
	scan_page(j);
}

static void list_page(struct sl_job *j);

/* One page of conversations.list: the ID of the configured #name. */
static void
on_list(struct sl_job *j, const struct slack_answer *a)
{
	struct sl_sink *s = j->s;
	json_t *ans = read_answer(j, "conversations.list", a);
	char id[SLACK_ID_MAX], *cursor = NULL, detail[200];
	int rc;

	if (ans == NULL)
		return;
	rc = slack_channel_find(ans, s->channel, id, sizeof(id), &cursor);
	json_decref(ans);
	if (rc != 0) {
		free(cursor);
		post_unchecked(j, rc == -ENOMEM ? "out of memory" :
		    "conversations.list: unexpected answer");
		return;
	}
	if (id[0] != '\0') {
		free(cursor);
		snprintf(s->channel_id, sizeof(s->channel_id), "%s", id);
		scan_start(j, s->channel_id);
		return;
	}
	set_cursor(j, cursor);
	if (j->cursor != NULL && ++j->pages < SL_MAX_PAGES) {
		list_page(j);
		return;
	}
	snprintf(detail, sizeof(detail), "conversations.list: no channel called %.80s the token "
	    "can see", s->channel);
	post_unchecked(j, detail);
}

static void
list_page(struct sl_job *j)
{
	char query[128];

	snprintf(query, sizeof(query), "types=public_channel,private_channel"
	    "&exclude_archived=true&limit=%d", SL_LIST_LIMIT);
	read_start(j, "conversations.list", query, on_list);
}

/* Which channel to read: the thread's, the configured ID, or the #name's ID. */
static void
check_channel(struct sl_job *j)
{
	struct sl_sink *s = j->s;

	if (j->threaded) {
		scan_start(j, j->thread_channel);
		return;
	}
	if (s->channel_id[0] != '\0') {
		scan_start(j, s->channel_id);
		return;
	}
	j->pages = 0;
	set_cursor(j, NULL);
	list_page(j);
}

static void
on_auth(struct sl_job *j, const struct slack_answer *a)
{
	json_t *ans = read_answer(j, "auth.test", a);
	bool known;

	if (ans == NULL)
		return;
	known = slack_identity_from_auth(ans, &j->s->me);
	json_decref(ans);
	if (!known) {
		post_unchecked(j, "auth.test: no user or bot id in the answer");
		return;
	}
	check_channel(j);
}

/* A retry: who we post as (auth.test, once), then where to read. */
static void
check_start(struct sl_job *j)
{
	struct sl_sink *s = j->s;

	if (s->me.user_id[0] == '\0' && s->me.bot_id[0] == '\0') {
		read_start(j, "auth.test", "", on_auth);
		return;
	}
	check_channel(j);
}

static void
job_begin(void *arg)
{
	struct sl_job *j = arg;

	j->timer = NULL;
	if (j->early != NULL) {
		job_finish(j, INCIDENTD_OK, 0, j->early, NULL);
		return;
	}
	if (j->kind != SL_POST) {
		sl_interact_begin(j);
		return;
	}
	if (j->attempt <= 1) {
		post_start(j);
		return;
	}
	if (j->s->webhook) {
		post_unchecked(j, "an incoming webhook cannot read the channel");
		return;
	}
	if (j->threaded && (!slack_channel_is_id(j->thread_channel) || j->thread_ts[0] == '\0' ||
	    strspn(j->thread_ts, "0123456789.") != strlen(j->thread_ts))) {
		post_unchecked(j, "the incident's thread is not a channel ID and ts");
		return;
	}
	check_start(j);
}

/* --- deliver ------------------------------------------------------------------------- */

/* Render a template over the incident; *out is NULL without a template. */
static int
render_template(const struct template *t, const json_t *incident, const json_t *event,
    const char *action, const char *issue_url, json_int_t issue_number, bool mrkdwn,
    char **out)
{
	json_t *data = NULL;
	int rc;

	*out = NULL;
	if (t == NULL)
		return 0;
	rc = slack_build_template_data(incident, event, action, issue_url, issue_number,
	    mrkdwn, &data);
	if (rc == 0)
		rc = template_render(t, data, out);
	json_decref(data);
	return rc;
}

/* The request body: the rendered message plus where it goes and, with a token, the
 * delivery's metadata. Notes on j whether it replies in a known thread (and which). */
static int
build_body(struct sl_job *j, const struct incidentd_delivery *d, char **out)
{
	struct sl_sink *s = j->s;
	struct slack_render_opts o = { .action = d->action, .webhook = s->webhook };
	json_t *incident = NULL, *event = NULL, *msg = NULL;
	const json_t *refs, *mine;
	char *title = NULL, *text = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	incident = json_loads(d->incident_json, 0, NULL);
	event = json_loads(d->event_json, 0, NULL);
	/* no text of the event displays reordered (bidirectional controls) */
	if (text_json_strip_bidi(incident) != 0 || text_json_strip_bidi(event) != 0) {
		json_decref(event);
		event = NULL;
	}
	if (incident == NULL || event == NULL)
		goto out;
	refs = json_object_get(incident, "refs");
	mine = json_object_get(refs, s->host->instance_name(s->self));
	slack_find_issue(refs, s->issue_from, s->host->instance_name(s->self), &o.issue_url,
	    &o.issue_number);
	/* open starts a new thread; update and resolve reply in the known one */
	j->threaded = !s->webhook && strcmp(d->action, "open") != 0 &&
	    jstr(mine, "thread_ts") != NULL && jstr(mine, "channel") != NULL;
	/* the buttons go on the message that stands for the incident (token mode: it can be
	 * updated later), never on a thread reply or a resolve */
	o.buttons = !s->webhook && s->buttons && !j->threaded &&
	    strcmp(d->action, "resolve") != 0;
	o.incident_id = d->incident_id;
	if ((rc = render_template(s->title, incident, event, d->action, o.issue_url,
	    o.issue_number, false, &title)) != 0 ||
	    (rc = render_template(s->text, incident, event, d->action, o.issue_url,
	    o.issue_number, true, &text)) != 0)
		goto out;
	o.title = title;
	o.text = text;
	if ((rc = slack_render_message(incident, event, &o, &msg)) != 0)
		goto out;
	rc = -ENOMEM;
	if (!s->webhook) {
		const char *ts = jstr(mine, "thread_ts"), *ch = jstr(mine, "channel");
		json_t *md = NULL;

		/* the thread is kept for a retry's read when it is a plain ts and channel ID
		 * (job_begin checks) */
		if (j->threaded && strlen(ts) < sizeof(j->thread_ts) &&
		    strlen(ch) < sizeof(j->thread_channel)) {
			snprintf(j->thread_ts, sizeof(j->thread_ts), "%s", ts);
			snprintf(j->thread_channel, sizeof(j->thread_channel), "%s", ch);
		}
		if (json_object_set_new(msg, "channel", json_string(j->threaded ? ch :
		    s->channel)) != 0)
			goto out;
		if ((rc = slack_delivery_metadata(d->id, j->event_id, &md)) != 0 ||
		    json_object_set_new(msg, "metadata", md) != 0)
			goto out;
		rc = -ENOMEM;
		if (j->threaded && (json_object_set_new(msg, "thread_ts", json_string(ts)) != 0 ||
		    (strcmp(d->action, "resolve") == 0 &&
		    json_object_set_new(msg, "reply_broadcast", json_true()) != 0)))
			goto out;
	}
	*out = json_dumps(msg, JSON_COMPACT);
	if (*out != NULL)
		rc = 0;
out:
	free(title);
	free(text);
	json_decref(msg);
	json_decref(incident);
	json_decref(event);
	return rc;
}

static int
sl_deliver(void *state, const struct incidentd_delivery *d, incidentd_done_fn done,
    struct incidentd_call *call)
{
	struct sl_sink *s = state;
	struct sl_job *j = calloc(1, sizeof(*j));
	json_t *ev = NULL;
	int64_t received = 0;
	int rc = -ENOMEM;

	if (j == NULL)
		return -ENOMEM;
	j->s = s;
	j->done = done;
	j->call = call;
	j->attempt = d->attempt;
	j->delivery = d->id;
	j->action = strdup(d->action);
	j->key = strdup(d->incident_key);
	ev = json_loads(d->event_json, 0, NULL);
	if (j->action == NULL || j->key == NULL || ev == NULL)
		goto fail;
	if (jstr(ev, "id") != NULL && (j->event_id = strdup(jstr(ev, "id"))) == NULL)
		goto fail;
	/* an earlier attempt cannot have posted before the event arrived */
	if (util_parse_time(jstr(ev, "received_at"), &received) == 0 &&
	    received > SL_OLDEST_MARGIN_MS)
		snprintf(j->oldest, sizeof(j->oldest), "%lld.000000",
		    (long long)((received - SL_OLDEST_MARGIN_MS) / 1000));
	j->kind = sl_interact_kind(d, ev);
	if (j->kind != SL_POST)
		rc = sl_interact_prepare(j, d, ev);
	else
		rc = build_body(j, d, &j->body);
	if (rc != 0)
		goto fail;
	rc = -ENOMEM;
	/* start from the loop, so that even an immediate outcome is reported after deliver()
	 * returned */
	j->timer = s->host->timer_start(s->self, 0, job_begin, j);
	if (j->timer == NULL)
		goto fail;
	json_decref(ev);
	LIST_INSERT_HEAD(&s->jobs, j, entry);
	return 0;
fail:
	json_decref(ev);
	job_free(j);
	return rc;
}

/* --- lifecycle ----------------------------------------------------------------------- */

static void
sl_destroy(void *state)
{
	struct sl_sink *s = state;
	struct sl_job *j;

	if (s == NULL)
		return;
	while ((j = LIST_FIRST(&s->jobs)) != NULL) {
		LIST_REMOVE(j, entry);
		job_free(j);
	}
	if (s->url != NULL) {
		OPENSSL_cleanse(s->url, strlen(s->url));
		free(s->url);
	}
	slack_client_clear(&s->api);
	sl_interact_clear(s);
	free(s->api_base);
	free(s->channel);
	free(s->issue_from);
	template_destroy(s->title);
	template_destroy(s->text);
	free(s);
}

/* Draining: abandon what has not finished; it is retried after the restart. */
static void
sl_flush(void *state)
{
	struct sl_sink *s = state;
	struct sl_job *j;

	while ((j = LIST_FIRST(&s->jobs)) != NULL)
		job_finish(j, INCIDENTD_RETRY, 0, "incidentd is shutting down", NULL);
}

/* A secret or name without whitespace or control characters, 1..max bytes. */
static bool
valid_word(const char *v, size_t max)
{
	size_t n = strlen(v);

	if (n == 0 || n > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int
compile_template(const char *key, const char *text, struct template **out, char *err,
    size_t errlen)
{
	char terr[200];
	int rc;

	if (text == NULL)
		return 0;
	rc = template_compile(text, TEMPLATE_ESCAPE_NONE, out, terr, sizeof(terr));
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s: %s", key, terr);
	else if (rc != 0)
		snprintf(err, errlen, "out of memory");
	return rc;
}

static int
sl_init(const struct incidentd_host *host, struct incidentd_instance *self,
    const char *config_json, void **state, char *err, size_t errlen)
{
	struct sl_sink *s = NULL;
	json_t *cfg = NULL;
	json_error_t jerr;
	const char *webhook_url = NULL, *token = NULL, *channel = NULL, *api_url = NULL;
	const char *timeout = "30s", *title = NULL, *text = NULL, *issue_from = NULL;
	json_t *allowed_users = NULL, *allowed_groups = NULL;
	int buttons = -1;
	int64_t t = 0;
	int rc = -EINVAL;

	cfg = json_loads(config_json, 0, &jerr);
	if (cfg == NULL) {
		snprintf(err, errlen, "configuration is not JSON: %s", jerr.text);
		goto out;
	}
	if (json_unpack_ex(cfg, &jerr, JSON_STRICT, "{s?s, s?s, s?s, s?s, s?s, s?s, s?s, s?s, "
	    "s?b, s?o, s?o}",
	    "webhook_url", &webhook_url, "token", &token, "channel", &channel, "api_url",
	    &api_url, "timeout", &timeout, "title", &title, "text", &text, "issue_from",
	    &issue_from, "buttons", &buttons, "allowed_users", &allowed_users,
	    "allowed_groups", &allowed_groups) != 0) {
		/* jansson's text names the key; it never contains a value */
		snprintf(err, errlen, "%s (keys: webhook_url, token, channel, api_url, timeout, "
		    "title, text, issue_from, buttons, allowed_users, allowed_groups)", jerr.text);
		goto out;
	}
	if (webhook_url != NULL && (buttons == 1 || allowed_groups != NULL)) {
		snprintf(err, errlen, "%s: only with token (%s)", buttons == 1 ? "buttons" :
		    "allowed_groups", buttons == 1 ? "a message posted by an incoming webhook cannot "
		    "be updated, so it gets no buttons" : "user groups are read with the bot token");
		goto out;
	}
	if (webhook_url != NULL && token != NULL) {
		snprintf(err, errlen, "webhook_url and token: give one of them (an incoming "
		    "webhook, or a bot token with a channel)");
		goto out;
	}
	if (webhook_url == NULL && token == NULL) {
		snprintf(err, errlen, "missing required field(s): webhook_url, or token and "
		    "channel");
		goto out;
	}
	if (token != NULL && channel == NULL) {
		snprintf(err, errlen, "missing required field(s): channel");
		goto out;
	}
	if (webhook_url != NULL && (channel != NULL || api_url != NULL)) {
		snprintf(err, errlen, "%s: only with token (an incoming webhook posts to its own "
		    "channel)", channel != NULL ? "channel" : "api_url");
		goto out;
	}
	/* never print the values of webhook_url or token: they are secrets */
	if (webhook_url != NULL && (!is_http_url(webhook_url) || !valid_word(webhook_url,
	    2048))) {
		snprintf(err, errlen, "webhook_url: expected an http(s) URL without spaces");
		goto out;
	}
	if (token != NULL && (strncmp(token, "xox", 3) != 0 || !valid_word(token, 512))) {
		snprintf(err, errlen, "token: expected a Slack token (xoxb-...) without spaces");
		goto out;
	}
	if (channel != NULL && !valid_word(channel, 80)) {
		snprintf(err, errlen, "channel: expected a channel ID or #name (1 to 80 "
		    "characters, no spaces)");
		goto out;
	}
	if (api_url != NULL && (!is_http_url(api_url) || !valid_word(api_url, 512))) {
		snprintf(err, errlen, "api_url: '%.200s' is not an http(s) URL", api_url);
		goto out;
	}
	if (util_parse_duration(timeout, &t) != 0 || t <= 0) {
		snprintf(err, errlen, "timeout: expected a duration like 30s");
		goto out;
	}
	if (issue_from != NULL && *issue_from == '\0') {
		snprintf(err, errlen, "issue_from: expected the name of a sink");
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
	s->api.host = host;
	s->api.self = self;
	s->webhook = webhook_url != NULL;
	s->buttons = !s->webhook && buttons != 0;
	s->api.timeout_ms = (long)t;
	if ((rc = sl_interact_config(s, allowed_users, allowed_groups, err, errlen)) != 0)
		goto out;
	if ((rc = compile_template("title", title, &s->title, err, errlen)) != 0 ||
	    (rc = compile_template("text", text, &s->text, err, errlen)) != 0)
		goto out;
	rc = -ENOMEM;
	if (s->webhook) {
		const char *host_end = strchr(strstr(webhook_url, "://") + 3, '/');

		s->url = strdup(webhook_url);
		s->api.lane = lane_name(webhook_url, NULL);
		if (host_end != NULL && strlen(host_end) > 1 &&
		    (s->api.secret_path = strdup(host_end)) == NULL)
			goto nomem;
	} else {
		const char *base = api_url ? api_url : SL_DEFAULT_API;
		size_t bl = strlen(base), n = bl + sizeof("/chat.postMessage");
		char hdr[600];

		while (bl > 0 && base[bl - 1] == '/')
			bl--;
		s->url = malloc(n);
		if (s->url != NULL)
			snprintf(s->url, n, "%.*s/chat.postMessage", (int)bl, base);
		s->api_base = strndup(base, bl);
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
		s->api.auth_header = strdup(hdr);
		OPENSSL_cleanse(hdr, sizeof(hdr));
		s->channel = strdup(channel);
		s->api.lane = lane_name(token, channel);
		if (s->api.auth_header == NULL || s->channel == NULL || s->api_base == NULL)
			goto nomem;
		if (slack_channel_is_id(channel))
			snprintf(s->channel_id, sizeof(s->channel_id), "%s", channel);
	}
	s->api.user_agent = strdup("incidentd/" PACKAGE_VERSION);
	s->issue_from = issue_from ? strdup(issue_from) : NULL;
	if (s->url == NULL || s->api.lane == NULL || s->api.user_agent == NULL ||
	    (issue_from != NULL && s->issue_from == NULL))
		goto nomem;
	*state = s;
	s = NULL;
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
	rc = -ENOMEM;
out:
	sl_destroy(s);
	json_decref(cfg);
	return rc;
}

static const struct incidentd_sink sl_descriptor = {
	.abi_version = INCIDENTD_SINK_ABI_VERSION,
	.struct_size = sizeof(struct incidentd_sink),
	.name = "slack",
	.description = "a Slack message per incident action: incoming webhook, or chat.postMessage "
	    "threads",
	.init = sl_init,
	.deliver = sl_deliver,
	.flush = sl_flush,
	.destroy = sl_destroy,
};

INCIDENTD_SINK_EXPORT const struct incidentd_sink *
incidentd_sink_entry(void)
{
	return &sl_descriptor;
}
