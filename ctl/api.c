/* api.c - incidentctl's client of the daemon's HTTP API (api.h). */
#include "api.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define DEFAULT_URL "http://127.0.0.1:9740"
#define ANSWER_MAX (4 * 1024 * 1024)

struct answer {
	char *buf;
	size_t len;
	bool too_long;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;
	char *nb;

	if (a->len + len > ANSWER_MAX) {
		a->too_long = true;
		return 0;
	}
	if ((nb = realloc(a->buf, a->len + len + 1)) == NULL)
		return 0;
	a->buf = nb;
	memcpy(a->buf + a->len, p, len);
	a->len += len;
	a->buf[a->len] = '\0';
	return len;
}

void
ctl_api_init(struct ctl_api *api)
{
	const char *u = getenv("INCIDENTD_URL"), *f = getenv("INCIDENTD_API_TOKEN_FILE");

	api->url = u && *u ? u : DEFAULT_URL;
	api->token_file = f && *f ? f : NULL;
}

/* The Authorization header value into buf ("" when no credentials are configured).
 * Returns 0, or -1 after saying why. */
static int
credentials(const struct ctl_api *api, char *buf, size_t len)
{
	const char *tok = getenv("INCIDENTD_API_TOKEN"), *user = getenv("INCIDENTD_API_USER");
	char line[1024];
	FILE *f;

	buf[0] = '\0';
	if (api->token_file != NULL) {
		if ((f = fopen(api->token_file, "r")) == NULL) {
			fprintf(stderr, "incidentctl: cannot read the token file %s: %s\n",
			    api->token_file, strerror(errno));
			return -1;
		}
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
		line[strcspn(line, "\r\n")] = '\0';
		snprintf(buf, len, "Authorization: Bearer %s", line);
		OPENSSL_cleanse(line, sizeof(line));
	} else if (tok != NULL && *tok != '\0') {
		snprintf(buf, len, "Authorization: Bearer %s", tok);
	} else if (user != NULL && *user != '\0') {
		unsigned char enc[1024];

		if (strlen(user) * 4 / 3 + 4 >= sizeof(enc)) {
			fprintf(stderr, "incidentctl: INCIDENTD_API_USER is too long\n");
			return -1;
		}
		EVP_EncodeBlock(enc, (const unsigned char *)user, (int)strlen(user));
		snprintf(buf, len, "Authorization: Basic %s", (const char *)enc);
		OPENSSL_cleanse(enc, sizeof(enc));
	}
	return 0;
}

int
ctl_api_call(const struct ctl_api *api, const char *method, const char *path,
    const json_t *body, long *status, json_t **answer)
{
	struct answer a = { 0 };
	struct curl_slist *hdrs = NULL;
	char url[2048], auth[2048];
	char *text = NULL;
	CURL *c = NULL;
	CURLcode cc;
	size_t n;
	int rc = -1;

	*status = 0;
	*answer = NULL;
	if (credentials(api, auth, sizeof(auth)) != 0)
		return -1;
	n = strlen(api->url);
	if (n > 0 && api->url[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s%s", (int)n, api->url, path);
	if ((c = curl_easy_init()) == NULL)
		goto out;
	if (auth[0] != '\0')
		hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (body != NULL) {
		if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
			goto out;
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fprintf(stderr, "incidentctl: cannot reach incidentd at %s: %s (use --url or "
		    "INCIDENTD_URL)\n", api->url, a.too_long ? "answer too long" :
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	*answer = a.buf ? json_loads(a.buf, 0, NULL) : NULL;
	rc = 0;
out:
	OPENSSL_cleanse(auth, sizeof(auth));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(text);
	free(a.buf);
	return rc;
}
