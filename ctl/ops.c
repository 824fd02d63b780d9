/* ops.c - incidentctl's operator verbs through the running daemon (resolve, retry, fire)
 * and `stats` from the ledger. */
#include "ops.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api.h"
#include "util.h"

#define EXIT_USAGE 2

static int
usage(const char *text)
{
	fprintf(stderr, "incidentctl: usage: %s\n", text);
	return EXIT_USAGE;
}

/* Print the daemon's answer: the error (with a hint) unless the status is 200. */
static int
answer_failed(long status, const json_t *j, const char *what)
{
	const char *e = json_string_value(json_object_get(j, "error"));

	fprintf(stderr, "incidentctl: %s failed (HTTP %ld): %s%s\n", what, status,
	    e ? e : "no answer", status == 401 ? " (set INCIDENTD_API_TOKEN or --token-file "
	    "with server.api_auth's token)" : "");
	return EXIT_FAILURE;
}

/* Common options of the verbs that talk to the daemon's API. Returns 1 when handled. */
static int
api_option(struct ctl_api *api, int ch)
{
	if (ch == 'u')
		api->url = optarg;
	else if (ch == 't')
		api->token_file = optarg;
	else
		return 0;
	return 1;
}

const struct option ctl_resolve_options[] = {
	{ "comment", required_argument, NULL, 'c' },
	{ "author", required_argument, NULL, 'a' },
	{ "url", required_argument, NULL, 'u' },
	{ "token-file", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 },
};

int
ctl_resolve(int argc, char **argv, bool json)
{
	static const char use[] = "incidentctl resolve INCIDENT-ID [--comment TEXT] "
	    "[--author NAME] [--url URL] [--token-file FILE]";
	const char *comment = NULL, *author = getenv("USER");
	struct ctl_api api;
	json_t *body = NULL, *j = NULL;
	char path[256];
	long status;
	int ch, rc = EXIT_FAILURE;

	ctl_api_init(&api);
	while ((ch = getopt_long(argc, argv, "", ctl_resolve_options, NULL)) != -1) {
		if (ch == 'c')
			comment = optarg;
		else if (ch == 'a')
			author = optarg;
		else if (!api_option(&api, ch))
			return usage(use);
	}
	if (optind + 1 != argc || strchr(argv[optind], '/') != NULL)
		return usage(use);
	snprintf(path, sizeof(path), "/v1/incidents/%.64s/resolve", argv[optind]);
	if ((body = json_pack("{s:s?, s:s?}", "comment", comment, "author", author)) == NULL ||
	    ctl_api_call(&api, "POST", path, body, &status, &j) != 0)
		goto out;
	if (status != 200) {
		rc = answer_failed(status, j, "resolve");
		goto out;
	}
	if (json) {
		char *text = json_dumps(j, JSON_INDENT(2));

		printf("%s\n", text ? text : "{}");
		free(text);
	} else {
		printf("incident %s resolved (event %s); %lld sink(s) told\n", argv[optind],
		    json_string_value(json_object_get(j, "event")),
		    (long long)json_integer_value(json_object_get(j, "deliveries")));
	}
	rc = EXIT_SUCCESS;
out:
	json_decref(body);
	json_decref(j);
	return rc;
}

const struct option ctl_ack_options[] = {
	{ "comment", required_argument, NULL, 'c' },
	{ "author", required_argument, NULL, 'a' },
	{ "undo", no_argument, NULL, 'x' },
	{ "url", required_argument, NULL, 'u' },
	{ "token-file", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 },
};

int
ctl_ack(int argc, char **argv, bool json)
{
	static const char use[] = "incidentctl ack INCIDENT-ID [--comment TEXT] "
	    "[--author NAME] [--undo] [--url URL] [--token-file FILE]";
	const char *comment = NULL, *author = getenv("USER");
	struct ctl_api api;
	json_t *body = NULL, *j = NULL;
	bool undo = false;
	char path[256];
	long status;
	int ch, rc = EXIT_FAILURE;

	ctl_api_init(&api);
	while ((ch = getopt_long(argc, argv, "", ctl_ack_options, NULL)) != -1) {
		if (ch == 'c')
			comment = optarg;
		else if (ch == 'a')
			author = optarg;
		else if (ch == 'x')
			undo = true;
		else if (!api_option(&api, ch))
			return usage(use);
	}
	if (optind + 1 != argc || strchr(argv[optind], '/') != NULL)
		return usage(use);
	snprintf(path, sizeof(path), "/v1/incidents/%.64s/%s", argv[optind], undo ? "unack" :
	    "ack");
	if ((body = json_pack("{s:s?, s:s?}", "comment", comment, "author", author)) == NULL ||
	    ctl_api_call(&api, "POST", path, body, &status, &j) != 0)
		goto out;
	if (status != 200) {
		rc = answer_failed(status, j, undo ? "ack --undo" : "ack");
		goto out;
	}
	if (json) {
		char *text = json_dumps(j, JSON_INDENT(2));

		printf("%s\n", text ? text : "{}");
		free(text);
	} else if (undo) {
		printf("incident %s: acknowledgement withdrawn (event %s); notifications resume\n",
		    argv[optind], json_string_value(json_object_get(j, "event")));
	} else {
		printf("incident %s acknowledged (event %s): no update notifications until it "
		    "resolves\n", argv[optind], json_string_value(json_object_get(j, "event")));
	}
	rc = EXIT_SUCCESS;
out:
	json_decref(body);
	json_decref(j);
	return rc;
}

const struct option ctl_retry_options[] = {
	{ "failed", no_argument, NULL, 'f' },
	{ "sink", required_argument, NULL, 's' },
	{ "url", required_argument, NULL, 'u' },
	{ "token-file", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 },
};

int
ctl_retry(int argc, char **argv, bool json)
{
	static const char use[] = "incidentctl retry DELIVERY-ID | incidentctl retry --failed "
	    "[--sink NAME] [--url URL] [--token-file FILE]";
	const char *sink = NULL;
	struct ctl_api api;
	json_t *body = NULL, *j = NULL;
	bool failed = false;
	char path[128], *end;
	long status;
	int ch, rc = EXIT_FAILURE;

	ctl_api_init(&api);
	while ((ch = getopt_long(argc, argv, "", ctl_retry_options, NULL)) != -1) {
		if (ch == 'f')
			failed = true;
		else if (ch == 's')
			sink = optarg;
		else if (!api_option(&api, ch))
			return usage(use);
	}
	if (failed ? optind != argc : (optind + 1 != argc || sink != NULL))
		return usage(use);
	if (!failed) {
		long long id = strtoll(argv[optind], &end, 10);

		if (*end != '\0' || id <= 0)
			return usage(use);
		snprintf(path, sizeof(path), "/v1/deliveries/%lld/retry", id);
	} else {
		snprintf(path, sizeof(path), "/v1/deliveries/retry");
	}
	if ((body = json_pack("{s:s?}", "sink", sink)) == NULL ||
	    ctl_api_call(&api, "POST", path, body, &status, &j) != 0)
		goto out;
	if (status != 200) {
		rc = answer_failed(status, j, "retry");
		goto out;
	}
	if (json)
		printf("{\"retried\": %lld}\n", (long long)json_integer_value(json_object_get(j,
		    "retried")));
	else
		printf("%lld delivery(ies) retried\n", (long long)json_integer_value(
		    json_object_get(j, "retried")));
	rc = EXIT_SUCCESS;
out:
	json_decref(body);
	json_decref(j);
	return rc;
}

/* --- fire: a synthetic failure through the real pipe ------------------------------------- */

static json_t *
fire_argocd(const char *app, const char *cluster, bool resolve, const char *now)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}}",
	    "app_name", app, "health_status", resolve ? "Healthy" : "Degraded",
	    "sync_status", "Synced", "message", resolve ? "incidentctl fire --resolve: the "
	    "synthetic failure is over" : "incidentctl fire: a synthetic failure to check the "
	    "whole pipe", "revision", "incidentd-test", "repo_url",
	    "https://example.invalid/incidentd-test", "cluster", cluster, "namespace",
	    "incidentd-test", "timestamp", now, "labels", "incidentd_test", "true");
}

static json_t *
fire_alertmanager(const char *app, const char *cluster, bool resolve, const char *now)
{
	const char *status = resolve ? "resolved" : "firing";

	return json_pack("{s:s, s:s, s:s, s:[{s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s}, s:s, "
	    "s:s}]}", "version", "4", "status", status, "receiver", "incidentctl-fire",
	    "alerts", "status", status, "labels", "alertname", "IncidentdTest", "app", app,
	    "cluster", cluster, "severity", "warning", "incidentd_test", "true", "annotations",
	    "summary", resolve ? "incidentctl fire --resolve" : "incidentctl fire: a synthetic "
	    "alert", "startsAt", now, "endsAt", resolve ? now : "0001-01-01T00:00:00Z");
}

static json_t *
fire_flux(const char *app, const char *cluster, bool resolve, const char *now)
{
	return json_pack("{s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s}",
	    "involvedObject", "kind", "Kustomization", "name", app, "namespace",
	    "incidentd-test", "severity", resolve ? "info" : "error", "timestamp", now,
	    "reason", resolve ? "ReconciliationSucceeded" : "ReconciliationFailed", "message",
	    resolve ? "incidentctl fire --resolve" : "incidentctl fire: a synthetic "
	    "reconciliation failure", "metadata", "cluster", cluster, "revision",
	    "main@sha1:0000000000000000000000000000000000000000", "reportingController",
	    "incidentctl");
}

/* Credentials of the source, from the environment (never the command line): bearer,
 * basic, or an HMAC signature of body (Flux's X-Signature). Appends headers to *h. */
static int
fire_credentials(struct curl_slist **h, const char *token_file, const char *body)
{
	const char *tok = getenv("INCIDENTD_SOURCE_TOKEN"), *user = getenv("INCIDENTD_SOURCE_USER");
	const char *key = getenv("INCIDENTD_SOURCE_HMAC_KEY");
	char line[1024] = "", hdr[1100];
	unsigned char mac[32];
	unsigned int mlen = 0;

	if (token_file != NULL) {
		FILE *f = fopen(token_file, "r");

		if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
			fprintf(stderr, "incidentctl: cannot read the token file %s\n", token_file);
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		line[strcspn(line, "\r\n")] = '\0';
		tok = line;
	}
	if (tok != NULL && *tok != '\0') {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
		*h = curl_slist_append(*h, hdr);
	} else if (user != NULL && *user != '\0') {
		unsigned char enc[1024];

		if (strlen(user) * 4 / 3 + 4 >= sizeof(enc))
			return -1;
		EVP_EncodeBlock(enc, (const unsigned char *)user, (int)strlen(user));
		snprintf(hdr, sizeof(hdr), "Authorization: Basic %s", (const char *)enc);
		*h = curl_slist_append(*h, hdr);
	}
	if (key != NULL && *key != '\0') {
		char hex[65];

		if (HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)body,
		    strlen(body), mac, &mlen) == NULL || mlen != 32)
			return -1;
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", mac[i]);
		snprintf(hdr, sizeof(hdr), "X-Signature: sha256=%s", hex);
		*h = curl_slist_append(*h, hdr);
	}
	return 0;
}

struct fire_answer {
	char buf[65536];
	size_t len;
};

static size_t
fire_body(char *p, size_t size, size_t n, void *arg)
{
	struct fire_answer *a = arg;
	size_t len = size * n, room = sizeof(a->buf) - 1 - a->len;

	memcpy(a->buf + a->len, p, len < room ? len : room);
	a->len += len < room ? len : room;
	a->buf[a->len] = '\0';
	return len;
}

const struct option ctl_fire_options[] = {
	{ "source", required_argument, NULL, 's' },
	{ "app", required_argument, NULL, 'a' },
	{ "cluster", required_argument, NULL, 'c' },
	{ "resolve", no_argument, NULL, 'r' },
	{ "url", required_argument, NULL, 'u' },
	{ "token-file", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 },
};

int
ctl_fire(int argc, char **argv, bool json)
{
	static const char use[] = "incidentctl fire --source argocd|alertmanager|flux "
	    "[--app NAME] [--cluster NAME] [--resolve] [--url URL] [--token-file FILE]";
	const char *source = NULL, *app = "incidentd-fire", *cluster = "incidentd-test";
	const char *token_file = NULL, *path;
	struct curl_slist *h = NULL;
	struct ctl_api api;
	struct fire_answer *raw = NULL;
	json_t *payload = NULL, *answer = NULL;
	char now[UTIL_TIME_LEN], url[2048], *text = NULL;
	bool resolve = false;
	long status = 0;
	CURL *c = NULL;
	CURLcode cc;
	size_t n;
	int ch, rc = EXIT_FAILURE;

	ctl_api_init(&api);
	while ((ch = getopt_long(argc, argv, "", ctl_fire_options, NULL)) != -1) {
		switch (ch) {
		case 's': source = optarg; break;
		case 'a': app = optarg; break;
		case 'c': cluster = optarg; break;
		case 'r': resolve = true; break;
		case 'u': api.url = optarg; break;
		case 't': token_file = optarg; break;
		default: return usage(use);
		}
	}
	if (optind != argc || source == NULL)
		return usage(use);
	util_format_time(util_now_ms(), now, sizeof(now));
	if (strcmp(source, "argocd") == 0) {
		payload = fire_argocd(app, cluster, resolve, now);
		path = "/v1/events/argocd";
	} else if (strcmp(source, "alertmanager") == 0) {
		payload = fire_alertmanager(app, cluster, resolve, now);
		path = "/v1/events/alertmanager";
	} else if (strcmp(source, "flux") == 0) {
		payload = fire_flux(app, cluster, resolve, now);
		path = "/v1/events/flux";
	} else {
		return usage(use);
	}
	if (payload == NULL || (text = json_dumps(payload, JSON_COMPACT)) == NULL)
		goto out;
	n = strlen(api.url);
	if (n > 0 && api.url[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s%s", (int)n, api.url, path);
	h = curl_slist_append(h, "Content-Type: application/json");
	/* marked as a test in the event (label incidentd_test=true) */
	h = curl_slist_append(h, "X-Incidentd-Test: true");
	if (fire_credentials(&h, token_file, text) != 0 || (c = curl_easy_init()) == NULL ||
	    (raw = calloc(1, sizeof(*raw))) == NULL)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fire_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, raw);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fprintf(stderr, "incidentctl: cannot reach incidentd at %s: %s\n", api.url,
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	answer = json_loads(raw->buf, 0, NULL);
	if (status != 202) {
		const char *e = json_string_value(json_object_get(answer, "error"));

		fprintf(stderr, "incidentctl: %s refused the synthetic event (HTTP %ld): %s%s\n",
		    path, status, e ? e : "no answer", status == 401 ? " (set "
		    "INCIDENTD_SOURCE_TOKEN, INCIDENTD_SOURCE_USER or INCIDENTD_SOURCE_HMAC_KEY "
		    "to the source's credentials)" : "");
		goto out;
	}
	if (json) {
		printf("%s\n", raw->buf);
	} else {
		const json_t *ids = json_object_get(answer, "events");

		printf("%s %s event accepted: %s (label incidentd_test=true)\n", source,
		    resolve ? "recovery" : "failure", json_string_value(json_array_get(ids, 0)));
		printf("follow it: incidentctl explain %s\n",
		    json_string_value(json_array_get(ids, 0)));
	}
	rc = EXIT_SUCCESS;
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(raw);
	json_decref(payload);
	json_decref(answer);
	free(text);
	return rc;
}

/* --- stats ------------------------------------------------------------------------------- */

/* "1h 2m", "45s", "850ms": a duration for people. */
static const char *
human_ms(json_int_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%lldms", (long long)ms);
	else if (ms < 60000)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else if (ms < 3600000)
		snprintf(buf, len, "%lldm %llds", (long long)(ms / 60000),
		    (long long)(ms % 60000 / 1000));
	else
		snprintf(buf, len, "%lldh %lldm", (long long)(ms / 3600000),
		    (long long)(ms % 3600000 / 60000));
	return buf;
}

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

const struct option ctl_stats_options[] = {
	{ "since", required_argument, NULL, 's' },
	{ NULL, 0, NULL, 0 },
};

int
ctl_stats(struct store *st, int argc, char **argv, bool json)
{
	static const char use[] = "incidentctl stats [--since DURATION|TIME] (default 7d)";
	int64_t now = util_now_ms(), since = now - 7 * 86400000LL, d;
	json_t *o = NULL, *row;
	const json_t *ttr;
	char a[32], b[32];
	size_t i;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", ctl_stats_options, NULL)) != -1) {
		if (ch == 's') {
			if (util_parse_duration(optarg, &d) == 0)
				since = now - d;
			else if (util_parse_time(optarg, &since) != 0)
				return usage(use);
		} else {
			return usage(use);
		}
	}
	if (optind != argc)
		return usage(use);
	rc = store_stats(st, since, &o);
	if (rc != 0) {
		fprintf(stderr, "incidentctl: cannot read the ledger (%s)\n", strerror(-rc));
		return EXIT_FAILURE;
	}
	if (json) {
		char *text = json_dumps(o, JSON_INDENT(2));

		printf("%s\n", text ? text : "{}");
		free(text);
		json_decref(o);
		return text ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	printf("since %s: %lld incident(s), %lld firing, %lld resolved\n", jstr(o, "since"),
	    (long long)json_integer_value(json_object_get(o, "incidents")),
	    (long long)json_integer_value(json_object_get(o, "firing")),
	    (long long)json_integer_value(json_object_get(o, "resolved")));
	ttr = json_object_get(o, "time_to_resolve_ms");
	if (json_integer_value(json_object_get(ttr, "count")) > 0)
		printf("time to resolve: p50 %s, p90 %s (%lld resolved)\n",
		    human_ms(json_integer_value(json_object_get(ttr, "p50")), a, sizeof(a)),
		    human_ms(json_integer_value(json_object_get(ttr, "p90")), b, sizeof(b)),
		    (long long)json_integer_value(json_object_get(ttr, "count")));
	ttr = json_object_get(o, "time_to_fix_ms");
	if (json_integer_value(json_object_get(ttr, "count")) > 0)
		printf("time to fix (a linked pull request merged): p50 %s, p90 %s (%lld fixed)\n",
		    human_ms(json_integer_value(json_object_get(ttr, "p50")), a, sizeof(a)),
		    human_ms(json_integer_value(json_object_get(ttr, "p90")), b, sizeof(b)),
		    (long long)json_integer_value(json_object_get(ttr, "count")));
	printf("\n%-24s %-32s %9s %7s %6s\n", "CLUSTER", "APP", "INCIDENTS", "EVENTS", "FIRING");
	json_array_foreach(json_object_get(o, "by_app"), i, row)
		printf("%-24.24s %-32.32s %9lld %7lld %6lld\n", jstr(row, "cluster"),
		    jstr(row, "app"), (long long)json_integer_value(json_object_get(row,
		    "incidents")), (long long)json_integer_value(json_object_get(row, "events")),
		    (long long)json_integer_value(json_object_get(row, "firing")));
	printf("\nnoisiest:\n");
	json_array_foreach(json_object_get(o, "noisiest"), i, row)
		printf("  %s  %-8s %6lld event(s)  %s\n", jstr(row, "id"), jstr(row, "state"),
		    (long long)json_integer_value(json_object_get(row, "event_count")),
		    jstr(row, "key"));
	json_decref(o);
	return EXIT_SUCCESS;
}
