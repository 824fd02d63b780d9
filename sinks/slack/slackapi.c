/* slackapi.c - the slack sink's HTTP requests on the broker's curl multi handle. */
#include "slackapi.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#define SL_MAX_BODY (1u << 20)      /* answers longer than this are cut */

struct slack_request {
	struct slack_client *c;
	CURL *easy;
	struct curl_slist *headers;
	char *body;                      /* the POST body, or NULL for a GET */
	uint64_t gap_ms;
	char *buf;
	size_t len;
	long retry_after_s;
	char errbuf[CURL_ERROR_SIZE];
	struct incidentd_timer *timer;   /* the paced start */
	bool running;                    /* handed to the multi handle */
	slack_done_fn done;
	void *arg;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct slack_request *r = arg;
	size_t n = size * nmemb;
	char *nb;

	if (r->len + n > SL_MAX_BODY)
		return n;           /* keep reading, drop the excess */
	nb = realloc(r->buf, r->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, ptr, n);
	r->len += n;
	nb[r->len] = '\0';
	r->buf = nb;
	return n;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct slack_request *r = arg;
	size_t n = size * nmemb;

	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		r->retry_after_s = -1;      /* a new response (e.g. after 100 Continue) */
	} else if (n > 12 && strncasecmp(ptr, "retry-after:", 12) == 0) {
		char v[32];
		size_t vl = n - 12 < sizeof(v) - 1 ? n - 12 : sizeof(v) - 1;
		char *end;
		long s;

		memcpy(v, ptr + 12, vl);
		v[vl] = '\0';
		s = strtol(v, &end, 10);
		if (end != v && s >= 0)
			r->retry_after_s = s;
	}
	return n;
}

static void
request_free(struct slack_request *r)
{
	if (r == NULL)
		return;
	if (r->timer != NULL)
		r->c->host->timer_cancel(r->timer);
	if (r->running)
		r->c->host->http_cancel(r->c->self, r->easy);
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r->buf);
	free(r);
}

/* curl's error text, unless it quotes the secret part of the webhook URL. */
static const char *
curl_error(const struct slack_request *r, int code)
{
	const char *e = r->errbuf[0] ? r->errbuf : curl_easy_strerror((CURLcode)code);

	if (r->c->secret_path != NULL && strstr(e, r->c->secret_path) != NULL)
		return curl_easy_strerror((CURLcode)code);
	return e;
}

static void
finish(struct slack_request *r, const struct slack_answer *a)
{
	r->timer = NULL;
	r->running = false;
	r->done(r->arg, a);
	request_free(r);
}

static void
on_transfer_done(void *easy, int code, void *arg)
{
	struct slack_request *r = arg;
	struct slack_answer a = { .status = 0, .retry_after_s = r->retry_after_s };

	(void)easy;
	r->running = false;
	if (code == CURLE_OK) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &a.status);
		a.body = r->buf;
	} else {
		a.error = curl_error(r, code);
	}
	finish(r, &a);
}

static void
start_transfer(void *arg)
{
	struct slack_request *r = arg;
	struct slack_client *c = r->c;
	int64_t now = c->host->now_ms(c->self);
	struct slack_answer a = { .status = 0, .retry_after_s = -1 };
	char error[128];
	int rc;

	r->timer = NULL;
	if (now < c->hold_until) {
		/* a rate limit arrived after this request was scheduled: take a new slot on the
		 * lane, which the hold pushes past Retry-After */
		uint64_t wait = c->host->pace_reserve(c->self, c->lane, r->gap_ms);

		if (wait < (uint64_t)(c->hold_until - now))
			wait = (uint64_t)(c->hold_until - now);
		r->timer = c->host->timer_start(c->self, wait, start_transfer, r);
		if (r->timer != NULL)
			return;
		a.error = "cannot start a timer";
		finish(r, &a);
		return;
	}
	rc = c->host->http_start(c->self, r->easy, on_transfer_done, r);
	if (rc == 0) {
		r->running = true;
		return;
	}
	snprintf(error, sizeof(error), "cannot start the request: %s", strerror(-rc));
	a.error = error;
	finish(r, &a);
}

int
slack_request_start(struct slack_client *c, const char *url, const char *json_body,
    uint64_t gap_ms, slack_done_fn done, void *arg, struct slack_request **out)
{
	struct slack_request *r = calloc(1, sizeof(*r));
	struct curl_slist *h;
	uint64_t wait;

	*out = NULL;
	if (r == NULL)
		return -ENOMEM;
	r->c = c;
	r->done = done;
	r->arg = arg;
	r->gap_ms = gap_ms;
	r->retry_after_s = -1;
	if (json_body != NULL && (r->body = strdup(json_body)) == NULL)
		goto fail;
	r->easy = curl_easy_init();
	if (r->easy == NULL)
		goto fail;
	h = r->headers = curl_slist_append(NULL, r->body != NULL ?
	    "Content-Type: application/json; charset=utf-8" : "Accept: application/json");
	if (h != NULL && c->auth_header != NULL)
		h = curl_slist_append(r->headers, c->auth_header);
	if (h != NULL)
		h = curl_slist_append(r->headers, "Expect:");
	if (h == NULL)
		goto fail;
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, c->user_agent);
	if (r->body != NULL) {
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	} else {
		curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* one message per gap per lane, after any rate-limit hold; even without a wait the
	 * transfer starts from a timer, so done never runs inside this function */
	wait = c->host->pace_reserve(c->self, c->lane, gap_ms);
	r->timer = c->host->timer_start(c->self, wait, start_transfer, r);
	if (r->timer == NULL)
		goto fail;
	*out = r;
	return 0;
fail:
	request_free(r);
	return -ENOMEM;
}

void
slack_request_cancel(struct slack_request *r)
{
	request_free(r);
}

void
slack_client_hold(struct slack_client *c, uint64_t delay_ms)
{
	int64_t until = c->host->now_ms(c->self) + (int64_t)delay_ms;

	c->host->pace_hold(c->self, c->lane, until);
	if (until > c->hold_until)
		c->hold_until = until;
}

void
slack_client_clear(struct slack_client *c)
{
	if (c->auth_header != NULL) {
		OPENSSL_cleanse(c->auth_header, strlen(c->auth_header));
		free(c->auth_header);
	}
	if (c->secret_path != NULL) {
		OPENSSL_cleanse(c->secret_path, strlen(c->secret_path));
		free(c->secret_path);
	}
	free(c->lane);
	free(c->user_agent);
	c->auth_header = c->secret_path = c->lane = c->user_agent = NULL;
}
