/* reload.c - `incidentctl reload`: ask the running daemon to reload conf.d (POST /-/reload
 * with server.api_auth's credentials, see api.h) and print how it went. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "api.h"
#include "rules.h"

#define EXIT_USAGE 2

const struct option ctl_reload_options[] = {
	{ "url", required_argument, NULL, 'u' },
	{ "token-file", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 },
};

int
ctl_reload(int argc, char **argv)
{
	struct ctl_api api;
	json_t *body = NULL, *j = NULL;
	long status = 0;
	int ch, rc = EXIT_FAILURE;

	ctl_api_init(&api);
	while ((ch = getopt_long(argc, argv, "", ctl_reload_options, NULL)) != -1) {
		switch (ch) {
		case 'u':
			api.url = optarg;
			break;
		case 't':
			api.token_file = optarg;
			break;
		default:
			fprintf(stderr, "incidentctl: usage: incidentctl reload [--url URL] "
			    "[--token-file FILE]\n");
			return EXIT_USAGE;
		}
	}
	if ((body = json_object()) == NULL ||
	    ctl_api_call(&api, "POST", "/-/reload", body, &status, &j) != 0)
		goto out;
	if (status == 200) {
		printf("configuration reloaded: %lld sink(s), %lld route(s)\n",
		    (long long)json_integer_value(json_object_get(j, "sinks")),
		    (long long)json_integer_value(json_object_get(j, "routes")));
		rc = EXIT_SUCCESS;
	} else {
		const char *e = json_string_value(json_object_get(j, "error"));

		fprintf(stderr, "incidentctl: reload failed (HTTP %ld), the active configuration "
		    "stays: %s%s\n", status, e ? e : "no answer", status == 401 ? " (set "
		    "INCIDENTD_API_TOKEN or --token-file with server.api_auth's token)" : "");
	}
out:
	json_decref(j);
	json_decref(body);
	return rc;
}
