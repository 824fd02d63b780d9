/* ghapi.c - GitHub REST requests on the broker's curl multi handle. */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#endif
#include "ghapi.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define GH_MAX_BODY (8u << 20)        /* answers larger than this are cut (and fail to parse) */
/* GitHub: mutating requests >= 1 s apart per token, as GitHub sees them arrive: 100 ms of
 * margin for the jitter between our send and its receipt */
#define GH_MUTATION_GAP_MS 1100
#define GH_SECONDARY_MIN_MS 60000     /* secondary limit without headers: >= 1 min */

struct gh_request {
	struct gh_client *c;
	CURL *easy;
	struct curl_slist *headers;
	char *url;
	char *body;
	bool mutating;
	struct incidentd_timer *timer;   /* pacing wait before the transfer starts */
	bool running;                    /* handed to the multi handle */
	gh_done_fn done;
	void *arg;
	char *buf;
	size_t len;
	struct gh_response resp;
	char errbuf[CURL_ERROR_SIZE];
};

int
gh_client_init(struct gh_client *c, const struct incidentd_host *host,
    struct incidentd_instance *self, const char *api_url, const char *token,
    char *err, size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[17], hdr[1024];
	size_t n;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->host = host;
	c->self = self;
	c->timeout_ms = 30000;
	if (strncmp(api_url, "https://", 8) != 0 && strncmp(api_url, "http://", 7) != 0) {
		snprintf(err, errlen, "api_url: '%s' is not an http(s) URL", api_url);
		return -EINVAL;
	}
	if (strlen(token) == 0 || strlen(token) > 512 || strpbrk(token, "\r\n ") != NULL) {
		snprintf(err, errlen, "token: empty, too long or contains whitespace");
		return -EINVAL;
	}
	c->api_url = strdup(api_url);
	if (c->api_url == NULL)
		goto nomem;
	n = strlen(c->api_url);
	while (n > 0 && c->api_url[n - 1] == '/')
		c->api_url[--n] = '\0';
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
	c->auth_header = strdup(hdr);
	OPENSSL_cleanse(hdr, sizeof(hdr));
	if (c->auth_header == NULL)
		goto nomem;
	if (EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "cannot hash the token");
		rc = -EIO;
		goto fail;
	}
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(hdr, sizeof(hdr), "github:%s", hex);
	c->lane = strdup(hdr);
	c->user_agent = strdup("incidentd/" PACKAGE_VERSION);
	if (c->lane == NULL || c->user_agent == NULL)
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	rc = -ENOMEM;
fail:
	gh_client_clear(c);
	return rc;
}

void
gh_client_clear(struct gh_client *c)
{
	if (c->auth_header != NULL) {
		OPENSSL_cleanse(c->auth_header, strlen(c->auth_header));
		free(c->auth_header);
	}
	free(c->api_url);
	free(c->lane);
	free(c->user_agent);
	c->auth_header = c->api_url = c->lane = c->user_agent = NULL;
}

bool
gh_repo_valid(const char *repo)
{
	const char *slash = repo ? strchr(repo, '/') : NULL;
	size_t parts[2] = { 0, 0 };
	int part = 0;

	if (slash == NULL)
		return false;
	for (const char *p = repo; *p; p++) {
		if (*p == '/') {
			if (part == 1)
				return false;
			part = 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return false;
		parts[part]++;
	}
	return parts[0] > 0 && parts[1] > 0 && parts[0] <= 100 && parts[1] <= 100;
}

/* Length of the scheme://host[:port] prefix of url. */
static size_t
origin_len(const char *url)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return 0;
	p += 3;
	while (*p && *p != '/' && *p != '?' && *p != '#')
		p++;
	return (size_t)(p - url);
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct gh_request *r = arg;
	size_t n = size * nmemb;
	char *nb;

	if (r->len + n > GH_MAX_BODY)
		return n;       /* keep reading, drop the excess: the JSON will not parse */
	nb = realloc(r->buf, r->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, ptr, n);
	r->len += n;
	nb[r->len] = '\0';
	r->buf = nb;
	return n;
}

char *
gh_link_next(const char *v)
{
	const char *p = v;

	while ((p = strchr(p, '<')) != NULL) {
		const char *end = strchr(p, '>');
		const char *sep;

		if (end == NULL)
			return NULL;
		sep = strchr(end, ',');
		{
			size_t span = sep ? (size_t)(sep - end) : strlen(end);
			const char *rel = strstr(end, "rel=\"next\"");

			if (rel != NULL && (size_t)(rel - end) < span)
				return strndup(p + 1, (size_t)(end - p - 1));
		}
		p = end;
	}
	return NULL;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct gh_request *r = arg;
	size_t n = size * nmemb, klen;
	char line[4096], *colon, *v, *e;

	if (n >= sizeof(line))
		return n;
	memcpy(line, ptr, n);
	line[n] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) {
		/* a new response (e.g. after 100 Continue): forget earlier headers */
		free(r->resp.link_next);
		r->resp.link_next = NULL;
		r->resp.retry_after_s = -1;
		r->resp.rl_remaining = -1;
		r->resp.rl_reset = 0;
		r->resp.etag[0] = '\0';
		return n;
	}
	colon = strchr(line, ':');
	if (colon == NULL)
		return n;
	klen = (size_t)(colon - line);
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	e = v + strlen(v);
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
		*--e = '\0';
	if (klen == 11 && strncasecmp(line, "retry-after", klen) == 0)
		r->resp.retry_after_s = strtol(v, NULL, 10);
	else if (klen == 21 && strncasecmp(line, "x-ratelimit-remaining", klen) == 0)
		r->resp.rl_remaining = strtol(v, NULL, 10);
	else if (klen == 17 && strncasecmp(line, "x-ratelimit-reset", klen) == 0)
		r->resp.rl_reset = strtoll(v, NULL, 10);
	else if (klen == 4 && strncasecmp(line, "etag", klen) == 0) {
		/* kept only when it fits and is printable: it goes back in If-None-Match */
		bool ok = strlen(v) < sizeof(r->resp.etag);

		for (const char *q = v; ok && *q; q++)
			ok = *q > ' ' && *q < 0x7f;
		snprintf(r->resp.etag, sizeof(r->resp.etag), "%s", ok ? v : "");
	} else if (klen == 4 && strncasecmp(line, "link", klen) == 0) {
		free(r->resp.link_next);
		r->resp.link_next = gh_link_next(v);
	}
	return n;
}

static void
request_free(struct gh_request *r)
{
	if (r == NULL)
		return;
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->url);
	free(r->body);
	free(r->buf);
	json_decref(r->resp.json);
	free(r->resp.link_next);
	free(r);
}

static void
on_transfer_done(void *easy, int code, void *arg)
{
	struct gh_request *r = arg;

	(void)easy;
	r->running = false;
	r->resp.curl_code = code;
	if (code == CURLE_OK) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->resp.status);
		if (r->buf != NULL)
			r->resp.json = json_loadb(r->buf, r->len, 0, NULL);
	} else {
		snprintf(r->resp.error, sizeof(r->resp.error), "%s",
		    r->errbuf[0] ? r->errbuf : curl_easy_strerror((CURLcode)code));
	}
	r->done(r->arg, &r->resp);
	request_free(r);
}

static void
start_transfer(void *arg)
{
	struct gh_request *r = arg;
	int rc;

	r->timer = NULL;
	rc = r->c->host->http_start(r->c->self, r->easy, on_transfer_done, r);
	if (rc == 0) {
		r->running = true;
		return;
	}
	r->resp.curl_code = CURLE_FAILED_INIT;
	snprintf(r->resp.error, sizeof(r->resp.error), "cannot start the transfer: %s",
	    strerror(-rc));
	r->done(r->arg, &r->resp);
	request_free(r);
}

int
gh_request(struct gh_client *c, const char *method, const char *path, const json_t *body,
    gh_done_fn done, void *arg, struct gh_request **out)
{
	return gh_request_if_none_match(c, method, path, body, NULL, done, arg, out);
}

int
gh_request_if_none_match(struct gh_client *c, const char *method, const char *path,
    const json_t *body, const char *etag, gh_done_fn done, void *arg, struct gh_request **out)
{
	char inm[160];
	struct gh_request *r;
	struct curl_slist *h;
	uint64_t wait;
	size_t ulen;
	int rc = -ENOMEM;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->c = c;
	r->done = done;
	r->arg = arg;
	r->resp.retry_after_s = -1;
	r->resp.rl_remaining = -1;
	r->mutating = strcmp(method, "GET") != 0;
	if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0) {
		size_t ol = origin_len(c->api_url);

		if (origin_len(path) != ol || strncmp(path, c->api_url, ol) != 0) {
			rc = -EPERM;   /* never send the token to another origin */
			goto fail;
		}
		r->url = strdup(path);
	} else {
		ulen = strlen(c->api_url) + strlen(path) + 1;
		r->url = malloc(ulen);
		if (r->url != NULL)
			snprintf(r->url, ulen, "%s%s", c->api_url, path);
	}
	if (r->url == NULL)
		goto fail;
	if (body != NULL && (r->body = json_dumps(body, JSON_COMPACT)) == NULL)
		goto fail;
	r->easy = curl_easy_init();
	if (r->easy == NULL)
		goto fail;
	h = r->headers = curl_slist_append(NULL, c->auth_header);
	if (h != NULL)
		h = curl_slist_append(r->headers, "Accept: application/vnd.github+json");
	if (h != NULL)
		h = curl_slist_append(r->headers, "X-GitHub-Api-Version: 2022-11-28");
	if (h != NULL && r->body != NULL)
		h = curl_slist_append(r->headers, "Content-Type: application/json");
	if (h != NULL)
		h = curl_slist_append(r->headers, "Expect:");
	if (h != NULL && etag != NULL && *etag != '\0' && strlen(etag) < sizeof(inm) - 16 &&
	    strpbrk(etag, "\r\n") == NULL) {
		snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
		h = curl_slist_append(r->headers, inm);
	}
	if (h == NULL)
		goto fail;
	curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	if (r->body != NULL) {
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	} else if (r->mutating) {
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, "");
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

	/* Mutations are paced per token; every request waits out a rate-limit hold. Even
	 * without a wait the transfer starts from a timer, so done never runs before we
	 * return. */
	wait = c->host->pace_reserve(c->self, c->lane, r->mutating ? GH_MUTATION_GAP_MS : 0);
	r->timer = c->host->timer_start(c->self, wait, start_transfer, r);
	if (r->timer == NULL)
		goto fail;
	*out = r;
	return 0;
fail:
	request_free(r);
	return rc;
}

void
gh_request_cancel(struct gh_request *r)
{
	if (r == NULL)
		return;
	if (r->timer != NULL)
		r->c->host->timer_cancel(r->timer);
	if (r->running)
		r->c->host->http_cancel(r->c->self, r->easy);
	request_free(r);
}

/* GitHub's error message (and the first validation error) as a short text. */
static void
describe(const struct gh_response *resp, char *out, size_t len)
{
	const char *msg = json_string_value(json_object_get(resp->json, "message"));
	json_t *errs = json_object_get(resp->json, "errors");
	json_t *e0 = json_array_get(errs, 0);
	const char *emsg = json_string_value(json_object_get(e0, "message"));
	const char *efield = json_string_value(json_object_get(e0, "field"));
	const char *ecode = json_string_value(json_object_get(e0, "code"));

	if (emsg != NULL)
		snprintf(out, len, "HTTP %ld: %.120s: %.160s", resp->status, msg ? msg : "",
		    emsg);
	else if (efield != NULL)
		snprintf(out, len, "HTTP %ld: %.120s: field %.60s %.40s", resp->status,
		    msg ? msg : "", efield, ecode ? ecode : "invalid");
	else
		snprintf(out, len, "HTTP %ld: %.200s", resp->status, msg ? msg : "no message");
}

enum gh_verdict
gh_classify(struct gh_client *c, const struct gh_response *resp, int attempt, int64_t now,
    uint64_t *retry_after_ms, char *detail, size_t len)
{
	const char *msg;
	uint64_t delay = 0;

	*retry_after_ms = 0;
	if (resp->status == 0) {
		snprintf(detail, len, "no answer from GitHub: %s", resp->error);
		return GH_RETRY;
	}
	if (resp->status >= 200 && resp->status < 300) {
		snprintf(detail, len, "HTTP %ld", resp->status);
		return GH_OK;
	}
	describe(resp, detail, len);
	if (resp->status >= 500 || resp->status == 408)
		return GH_RETRY;
	if (resp->status != 403 && resp->status != 429)
		return GH_FAIL;
	msg = json_string_value(json_object_get(resp->json, "message"));
	if (resp->retry_after_s >= 0) {
		delay = (uint64_t)resp->retry_after_s * 1000;
	} else if (resp->rl_remaining == 0 && resp->rl_reset > 0) {
		int64_t until = resp->rl_reset * 1000;

		delay = until > now ? (uint64_t)(until - now) + 1000 : 1000;
	} else if (resp->status == 429 ||
	    (msg != NULL && strcasestr(msg, "secondary rate limit") != NULL)) {
		int shift = attempt > 1 ? attempt - 1 : 0;

		delay = (uint64_t)GH_SECONDARY_MIN_MS << (shift > 5 ? 5 : shift);
	} else {
		return GH_FAIL;      /* a real 403: permissions */
	}
	*retry_after_ms = delay;
	c->host->pace_hold(c->self, c->lane, now + (int64_t)delay);
	return GH_RETRY;
}
