/* health.c - `incidentctl health`: ask the running daemon whether it is alive (GET /healthz)
 * or ready (GET /readyz). A probe for container health checks: no shell, no curl needed. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>

#include "api.h"
#include "ops.h"

#define EXIT_USAGE 2

static int
health_usage(void)
{
	fprintf(stderr, "incidentctl: usage: incidentctl health [--ready] [--url URL]\n");
	return EXIT_USAGE;
}

const struct option ctl_health_options[] = {
	{ "url", required_argument, NULL, 'u' },
	{ "ready", no_argument, NULL, 'r' },
	{ NULL, 0, NULL, 0 },
};

int
ctl_health(int argc, char **argv, bool json)
{
	const char *path = "/healthz";
	struct ctl_api api;
	json_t *j = NULL;
	const char *what, *why;
	long status = 0;
	int ch, rc = EXIT_FAILURE;

	ctl_api_init(&api);
	while ((ch = getopt_long(argc, argv, "", ctl_health_options, NULL)) != -1) {
		switch (ch) {
		case 'u': api.url = optarg; break;
		case 'r': path = "/readyz"; break;
		default: return health_usage();
		}
	}
	if (optind != argc)
		return health_usage();
	if (ctl_api_call(&api, "GET", path, NULL, &status, &j) != 0)
		goto out;
	what = json_string_value(json_object_get(j, "status"));
	why = json_string_value(json_object_get(j, "reason"));
	if (status == 200) {
		if (json && j != NULL)
			json_dumpf(j, stdout, JSON_COMPACT);
		printf("%s\n", json && j != NULL ? "" : what ? what : "ok");
		rc = EXIT_SUCCESS;
	} else {
		fprintf(stderr, "incidentctl: %s (HTTP %ld from %s%s)%s%s\n",
		    what ? what : "unhealthy", status, api.url, path, why ? ": " : "",
		    why ? why : "");
	}
out:
	json_decref(j);
	return rc;
}
