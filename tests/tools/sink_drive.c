/* sink_drive.c - test helper: hand one sink instance of a conf.d the deliveries the broker
 * would, without the broker's routing, and print each outcome.
 *
 *   sink_drive CONF_DIR PLUGIN_DIR SINK ACTION INCIDENT.json EVENT.json [EVENT.json ...]
 *
 * Loads CONF_DIR, loads and initializes the sinks, then delivers to SINK one delivery per
 * EVENT file (ids 1, 2, ...; attempt 1; the incident of INCIDENT.json), one after the
 * other on the same instance (so what it caches carries over), and prints one JSON line
 * per delivery: {"result": "ok" | "retry" | "fail", "retry_after_ms", "detail",
 * "result_json"}. Exits 0 when every delivery completed, 1 on a usage or load error. For
 * integration tests of sink paths whose broker side is not there yet (fake servers only:
 * no network). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "plugin.h"

struct outcome {
	struct event_base *base;
	bool done;
};

static void
on_done(void *arg, enum incidentd_result res, uint64_t retry_after_ms, const char *detail,
    const char *result_json)
{
	struct outcome *o = arg;
	static const char *const names[] = { "ok", "retry", "fail" };
	json_t *line = json_pack("{s:s, s:I, s:s?, s:s?}", "result", names[res],
	    "retry_after_ms", (json_int_t)retry_after_ms, "detail", detail, "result_json",
	    result_json);
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;

	printf("%s\n", text ? text : "{\"result\": \"?\"}");
	fflush(stdout);
	free(text);
	json_decref(line);
	o->done = true;
	event_base_loopbreak(o->base);
}

/* The whole file as a string (caller frees), or NULL. */
static char *
slurp(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (j == NULL)
		fprintf(stderr, "sink_drive: %s: %s\n", path, e.text);
	json_decref(j);
	return s;
}

int
main(int argc, char **argv)
{
	struct event_base *base = NULL;
	struct plugin_host *host = NULL;
	struct sink_set *set = NULL;
	struct config *cfg = NULL;
	struct sink_instance *si;
	char err[2048], *incident = NULL, *key = NULL, *iid = NULL;
	json_t *inc = NULL;
	int rc = 1;

	if (argc < 7) {
		fprintf(stderr, "usage: sink_drive CONF_DIR PLUGIN_DIR SINK ACTION INCIDENT.json "
		    "EVENT.json...\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (config_load_dir(argv[1], &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "sink_drive: %s\n", err);
		goto out;
	}
	if ((base = event_base_new()) == NULL || plugin_host_new(base, &host) != 0)
		goto out;
	if (sink_set_load(host, argv[2], cfg, &set, err, sizeof(err)) != 0) {
		fprintf(stderr, "sink_drive: %s\n", err);
		goto out;
	}
	if ((si = sink_set_find(set, argv[3])) == NULL) {
		fprintf(stderr, "sink_drive: no sink %s\n", argv[3]);
		goto out;
	}
	if ((incident = slurp(argv[5])) == NULL || (inc = json_loads(incident, 0, NULL)) == NULL)
		goto out;
	key = strdup(json_string_value(json_object_get(inc, "key")) ?
	    json_string_value(json_object_get(inc, "key")) : "-");
	iid = strdup(json_string_value(json_object_get(inc, "id")) ?
	    json_string_value(json_object_get(inc, "id")) : "-");
	for (int i = 6; i < argc; i++) {
		char *event = slurp(argv[i]);
		struct outcome o = { .base = base };
		struct incidentd_delivery d = {
			.struct_size = sizeof(d), .id = i - 5, .action = argv[4], .attempt = 1,
			.incident_id = iid, .incident_key = key, .incident_json = incident,
			.event_json = event,
		};

		if (event == NULL || key == NULL || iid == NULL ||
		    sink_instance_deliver(si, &d, on_done, &o) != 0) {
			free(event);
			fprintf(stderr, "sink_drive: cannot deliver %s\n", argv[i]);
			goto out;
		}
		while (!o.done)
			event_base_loop(base, EVLOOP_ONCE);
		free(event);
	}
	rc = 0;
out:
	sink_set_destroy(set);
	plugin_host_destroy(host);
	if (base)
		event_base_free(base);
	config_destroy(cfg);
	json_decref(inc);
	free(incident);
	free(key);
	free(iid);
	curl_global_cleanup();
	return rc;
}
