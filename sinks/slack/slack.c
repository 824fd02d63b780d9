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
 * Pacing: one message per second per webhook URL or per token and channel (a host pacing
 * lane named by a hash: the URL and the token are secrets and never appear in logs, the
 * ledger or details). A 429 holds the lane for Retry-After and retries after it.
 *
 * A delivery whose answer was lost (timeout, reset, shutdown) is retried and may post a
 * message twice: Slack has no idempotency key for chat.postMessage or webhooks. */
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
#include "strbuf.h"
#include "template.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* Slack: about one message per second per channel, as Slack sees them arrive: 100 ms of
 * margin for the jitter between our send and its receipt (as for GitHub's mutations) */
#define SL_GAP_MS 1100
#define SL_MAX_BODY (1u << 20)      /* answers longer than this are cut */
#define SL_DEFAULT_API "https://slack.com/api"

struct sl_sink {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	bool webhook;
	char *url;                   /* the webhook URL (secret) or <api_url>/chat.postMessage */
	char *secret_path;           /* webhook: the URL's path, scrubbed from curl's errors */
	char *auth_header;           /* "Authorization: Bearer <token>" (secret) or NULL */
	char *channel;               /* token mode: where open messages go */
	char *lane;                  /* "slack:" + the first 16 hex of a SHA-256 of the secret */
	char *user_agent;
	long timeout_ms;
	int64_t hold_until;          /* a rate limit: no transfer of ours starts before this */
	char *issue_from;
	struct template *title;      /* plain text, or NULL */
	struct template *text;       /* mrkdwn over escaped values, or NULL */
	LIST_HEAD(, sl_job) jobs;
};

struct sl_job {
	struct sl_sink *s;
	incidentd_done_fn done;
	struct incidentd_call *call;
	char *action;
	char *key;
	bool threaded;               /* a reply in the incident's known thread */
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	char *buf;
	size_t len;
	long retry_after_s;
	char errbuf[CURL_ERROR_SIZE];
	struct incidentd_timer *timer;   /* the paced start */
	bool running;                    /* handed to the multi handle */
	LIST_ENTRY(sl_job) entry;
};

/* --- small helpers ------------------------------------------------------------------- */

static const char *
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

/* --- one request --------------------------------------------------------------------- */

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sl_job *j = arg;
	size_t n = size * nmemb;
	char *nb;

	if (j->len + n > SL_MAX_BODY)
		return n;           /* keep reading, drop the excess */
	nb = realloc(j->buf, j->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + j->len, ptr, n);
	j->len += n;
	nb[j->len] = '\0';
	j->buf = nb;
	return n;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sl_job *j = arg;
	size_t n = size * nmemb;

	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		j->retry_after_s = -1;      /* a new response (e.g. after 100 Continue) */
	} else if (n > 12 && strncasecmp(ptr, "retry-after:", 12) == 0) {
		char v[32];
		size_t vl = n - 12 < sizeof(v) - 1 ? n - 12 : sizeof(v) - 1;
		char *end;
		long s;

		memcpy(v, ptr + 12, vl);
		v[vl] = '\0';
		s = strtol(v, &end, 10);
		if (end != v && s >= 0)
			j->retry_after_s = s;
	}
	return n;
}

static void
job_free(struct sl_job *j)
{
	if (j == NULL)
		return;
	if (j->timer != NULL)
		j->s->host->timer_cancel(j->timer);
	if (j->running)
		j->s->host->http_cancel(j->s->self, j->easy);
	if (j->easy != NULL)
		curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->headers);
	free(j->action);
	free(j->key);
	free(j->body);
	free(j->buf);
	free(j);
}

/* Report the outcome and free the job. */
static void
job_finish(struct sl_job *j, enum incidentd_result res, uint64_t retry_after_ms,
    const char *detail, const char *result)
{
	LIST_REMOVE(j, entry);
	j->done(j->call, res, retry_after_ms, detail, result);
	job_free(j);
}

/* curl's error text, unless it quotes the secret part of the webhook URL. */
static const char *
curl_error(const struct sl_job *j, int code)
{
	const char *e = j->errbuf[0] ? j->errbuf : curl_easy_strerror((CURLcode)code);

	if (j->s->secret_path != NULL && strstr(e, j->s->secret_path) != NULL)
		return curl_easy_strerror((CURLcode)code);
	return e;
}

static void
on_transfer_done(void *easy, int code, void *arg)
{
	struct sl_job *j = arg;
	struct sl_sink *s = j->s;
	struct slack_answer a = { .status = 0, .retry_after_s = j->retry_after_s };
	char detail[512], result[512];
	const char *res_json = NULL;
	uint64_t delay = 0;
	enum slack_verdict v;

	(void)easy;
	j->running = false;
	if (code == CURLE_OK) {
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &a.status);
		a.body = j->buf;
	} else {
		a.error = curl_error(j, code);
	}
	v = slack_classify_answer(s->webhook, &a, &delay, detail, sizeof(detail));
	if (v != SLACK_OK) {
		if (delay > 0) {
			int64_t until = s->host->now_ms(s->self) + (int64_t)delay;

			s->host->pace_hold(s->self, s->lane, until);
			if (until > s->hold_until)
				s->hold_until = until;
		}
		s->host->log(s->self, INCIDENTD_LOG_WARN, "%s %s: %s", j->action, j->key, detail);
		job_finish(j, v == SLACK_RETRY ? INCIDENTD_RETRY : INCIDENTD_FAIL, delay, detail,
		    NULL);
		return;
	}
	if (!s->webhook) {
		json_t *ans = json_loads(j->buf ? j->buf : "", 0, NULL);
		const char *ts = jstr(ans, "ts"), *ch = jstr(ans, "channel");

		if (j->threaded) {
			snprintf(detail, sizeof(detail), "replied in the thread (%s)", j->action);
		} else if (ts != NULL && ch != NULL && strlen(ts) < 64 && strlen(ch) < 64) {
			json_t *r = json_pack("{s:s, s:s}", "thread_ts", ts, "channel", ch);
			char *dump = r ? json_dumps(r, JSON_COMPACT) : NULL;

			if (dump != NULL && strlen(dump) < sizeof(result)) {
				snprintf(result, sizeof(result), "%s", dump);
				res_json = result;
			}
			free(dump);
			json_decref(r);
			snprintf(detail, sizeof(detail), "posted message %s to %s (%s)", ts, ch,
			    j->action);
		} else {
			snprintf(detail, sizeof(detail), "posted (%s); the answer had no ts to "
			    "thread on", j->action);
		}
		json_decref(ans);
	} else {
		snprintf(detail, sizeof(detail), "posted (incoming webhook, %s)", j->action);
	}
	s->host->log(s->self, INCIDENTD_LOG_INFO, "%s %s: %s", j->action, j->key, detail);
	job_finish(j, INCIDENTD_OK, 0, detail, res_json);
}

static void
start_transfer(void *arg)
{
	struct sl_job *j = arg;
	struct sl_sink *s = j->s;
	int64_t now = s->host->now_ms(s->self);
	char detail[128];
	int rc;

	j->timer = NULL;
	if (now < s->hold_until) {
		/* a 429 arrived after this transfer was scheduled: take a new slot on the
		 * lane, which the hold pushes past Retry-After */
		uint64_t wait = s->host->pace_reserve(s->self, s->lane, SL_GAP_MS);

		if (wait < (uint64_t)(s->hold_until - now))
			wait = (uint64_t)(s->hold_until - now);
		j->timer = s->host->timer_start(s->self, wait, start_transfer, j);
		if (j->timer != NULL)
			return;
		job_finish(j, INCIDENTD_RETRY, 0, "cannot start a timer", NULL);
		return;
	}
	rc = j->s->host->http_start(j->s->self, j->easy, on_transfer_done, j);
	if (rc == 0) {
		j->running = true;
		return;
	}
	snprintf(detail, sizeof(detail), "cannot start the request to Slack: %s", strerror(-rc));
	job_finish(j, INCIDENTD_RETRY, 0, detail, NULL);
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

/* The request body: the rendered message plus where it goes. */
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

		/* open starts a new thread; update and resolve reply in the known one */
		j->threaded = strcmp(d->action, "open") != 0 && ts != NULL && ch != NULL;
		if (json_object_set_new(msg, "channel", json_string(j->threaded ? ch :
		    s->channel)) != 0)
			goto out;
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
	struct curl_slist *h;
	uint64_t wait;
	int rc = -ENOMEM;

	if (j == NULL)
		return -ENOMEM;
	j->s = s;
	j->done = done;
	j->call = call;
	j->retry_after_s = -1;
	j->action = strdup(d->action);
	j->key = strdup(d->incident_key);
	if (j->action == NULL || j->key == NULL)
		goto fail;
	if ((rc = build_body(j, d, &j->body)) != 0)
		goto fail;
	rc = -ENOMEM;
	j->easy = curl_easy_init();
	if (j->easy == NULL)
		goto fail;
	h = j->headers = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
	if (h != NULL && s->auth_header != NULL)
		h = curl_slist_append(j->headers, s->auth_header);
	if (h != NULL)
		h = curl_slist_append(j->headers, "Expect:");
	if (h == NULL)
		goto fail;
	curl_easy_setopt(j->easy, CURLOPT_URL, s->url);
	curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(j->easy, CURLOPT_USERAGENT, s->user_agent);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(j->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(j->easy, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->easy, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* one message per second per lane, after any rate-limit hold; even without a wait
	 * the transfer starts from a timer, so done() never runs inside deliver() */
	wait = s->host->pace_reserve(s->self, s->lane, SL_GAP_MS);
	j->timer = s->host->timer_start(s->self, wait, start_transfer, j);
	if (j->timer == NULL)
		goto fail;
	LIST_INSERT_HEAD(&s->jobs, j, entry);
	return 0;
fail:
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
	if (s->auth_header != NULL) {
		OPENSSL_cleanse(s->auth_header, strlen(s->auth_header));
		free(s->auth_header);
	}
	free(s->secret_path);
	free(s->channel);
	free(s->lane);
	free(s->user_agent);
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
	int64_t t = 0;
	int rc = -EINVAL;

	cfg = json_loads(config_json, 0, &jerr);
	if (cfg == NULL) {
		snprintf(err, errlen, "configuration is not JSON: %s", jerr.text);
		goto out;
	}
	if (json_unpack_ex(cfg, &jerr, JSON_STRICT, "{s?s, s?s, s?s, s?s, s?s, s?s, s?s, s?s}",
	    "webhook_url", &webhook_url, "token", &token, "channel", &channel, "api_url",
	    &api_url, "timeout", &timeout, "title", &title, "text", &text, "issue_from",
	    &issue_from) != 0) {
		/* jansson's text names the key; it never contains a value */
		snprintf(err, errlen, "%s (keys: webhook_url, token, channel, api_url, timeout, "
		    "title, text, issue_from)", jerr.text);
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
	s->webhook = webhook_url != NULL;
	s->timeout_ms = (long)t;
	if ((rc = compile_template("title", title, &s->title, err, errlen)) != 0 ||
	    (rc = compile_template("text", text, &s->text, err, errlen)) != 0)
		goto out;
	rc = -ENOMEM;
	if (s->webhook) {
		const char *host_end = strchr(strstr(webhook_url, "://") + 3, '/');

		s->url = strdup(webhook_url);
		s->lane = lane_name(webhook_url, NULL);
		if (host_end != NULL && strlen(host_end) > 1 &&
		    (s->secret_path = strdup(host_end)) == NULL)
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
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
		s->auth_header = strdup(hdr);
		OPENSSL_cleanse(hdr, sizeof(hdr));
		s->channel = strdup(channel);
		s->lane = lane_name(token, channel);
		if (s->auth_header == NULL || s->channel == NULL)
			goto nomem;
	}
	s->user_agent = strdup("incidentd/" PACKAGE_VERSION);
	s->issue_from = issue_from ? strdup(issue_from) : NULL;
	if (s->url == NULL || s->lane == NULL || s->user_agent == NULL ||
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
