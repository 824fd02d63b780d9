/* health.c - `incidentctl health`: ask the running daemon whether it is alive (GET /healthz)
 * or ready (GET /readyz). A probe for container health checks: no shell, no curl needed. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <jansson.h>

#include "rules.h"

#define EXIT_USAGE 2
#define DEFAULT_URL "http://127.0.0.1:9740"

struct body {
	char buf[2048];
	size_t len;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n, room = sizeof(b->buf) - 1 - b->len;

	memcpy(b->buf + b->len, p, len < room ? len : room);
	b->len += len < room ? len : room;
	b->buf[b->len] = '\0';
	return len;
}

int
ctl_health(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "ready", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *base = getenv("INCIDENTD_URL");
	const char *path = "/healthz";
	struct body b = { .len = 0 };
	char url[1024];
	long status = 0;
	CURL *c = NULL;
	CURLcode cc;
	json_t *j = NULL;
	const char *what;
	int ch, rc = EXIT_FAILURE;

	if (base == NULL || *base == '\0')
		base = DEFAULT_URL;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': base = optarg; break;
		case 'r': path = "/readyz"; break;
		default:
			fprintf(stderr, "incidentctl: usage: incidentctl health [--ready] [--url URL]\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "incidentctl: usage: incidentctl health [--ready] [--url URL]\n");
		return EXIT_USAGE;
	}
	snprintf(url, sizeof(url), "%s%s", base,
	    base[0] && base[strlen(base) - 1] == '/' ? path + 1 : path);
	c = curl_easy_init();
	if (c == NULL)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fprintf(stderr, "incidentctl: cannot reach incidentd at %s: %s (use --url or "
		    "INCIDENTD_URL)\n", base, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	j = json_loads(b.buf, 0, NULL);
	what = json_string_value(json_object_get(j, "status"));
	if (status == 200) {
		printf("%s\n", what ? what : "ok");
		rc = EXIT_SUCCESS;
	} else {
		const char *e = json_string_value(json_object_get(j, "error"));

		if (e == NULL)
			e = json_string_value(json_object_get(j, "reason"));
		fprintf(stderr, "incidentctl: %s (HTTP %ld from %s)%s%s\n",
		    what ? what : "unhealthy", status, url, e ? ": " : "", e ? e : "");
	}
out:
	json_decref(j);
	curl_easy_cleanup(c);
	return rc;
}
