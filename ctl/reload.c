/* reload.c - `incidentctl reload`: ask the running daemon to reload conf.d (POST /-/reload,
 * loopback only) and print how it went. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <jansson.h>

#include "rules.h"

#define EXIT_USAGE 2
#define DEFAULT_URL "http://127.0.0.1:9740"

struct answer {
	char buf[8192];
	size_t len;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n, room = sizeof(a->buf) - 1 - a->len;

	memcpy(a->buf + a->len, p, len < room ? len : room);
	a->len += len < room ? len : room;
	a->buf[a->len] = '\0';
	return len;
}

int
ctl_reload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	const char *base = getenv("INCIDENTD_URL");
	struct answer a = { .len = 0 };
	char url[1024];
	long status = 0;
	CURL *c = NULL;
	CURLcode cc;
	json_t *j;
	int ch, rc = EXIT_FAILURE;

	if (base == NULL || *base == '\0')
		base = DEFAULT_URL;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'u') {
			fprintf(stderr, "incidentctl: usage: incidentctl reload [--url URL]\n");
			return EXIT_USAGE;
		}
		base = optarg;
	}
	snprintf(url, sizeof(url), "%s%s/-/reload", base,
	    base[0] && base[strlen(base) - 1] == '/' ? "." : "");
	c = curl_easy_init();
	if (c == NULL)
		return EXIT_FAILURE;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fprintf(stderr, "incidentctl: cannot reach incidentd at %s: %s (use --url or "
		    "INCIDENTD_URL, or send SIGHUP)\n", base, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	j = json_loads(a.buf, 0, NULL);
	if (status == 200) {
		printf("configuration reloaded: %lld sink(s), %lld route(s)\n",
		    (long long)json_integer_value(json_object_get(j, "sinks")),
		    (long long)json_integer_value(json_object_get(j, "routes")));
		rc = EXIT_SUCCESS;
	} else {
		const char *e = json_string_value(json_object_get(j, "error"));

		fprintf(stderr, "incidentctl: reload failed (HTTP %ld), the active configuration "
		    "stays: %s\n", status, e ? e : a.buf);
	}
	json_decref(j);
out:
	curl_easy_cleanup(c);
	return rc;
}
