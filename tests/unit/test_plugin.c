/* test_plugin.c - the sink loader, completion bookkeeping, the log sink and http_client.
 *
 * TEST_PLUGIN_DIR names the directory holding test_sink.so, bad_abi.so and no_entry.so
 * (default tests/plugins/.libs); PLUGIN_DIR the one holding log.so (default sinks/.libs).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "config.h"
#include "http_client.h"
#include "plugin.h"
#include "util.h"

#define MAX_SINKS 4

struct fixture {
	struct event_base *base;
	struct event *tick;            /* keeps EVLOOP_ONCE from returning early or hanging */
	struct plugin_host *host;
	struct config cfg;
	struct config_sink sinks[MAX_SINKS];
	struct sink_set *set;
	char tmpdir[256];
	char err[1024];
};

struct done_rec {
	int calls;
	bool returned;                 /* sink_instance_deliver() had returned */
	bool early;                    /* cb ran while deliver() was on the stack */
	enum incidentd_result res;
	uint64_t retry_after_ms;
	char detail[128];
	char result[256];
	struct sink_set **destroy_set; /* if set: destroy *destroy_set from inside cb */
};

static const char incident_json[] =
    "{\"id\":\"01INC\",\"key\":\"argocd/prod/app\",\"state\":\"open\",\"refs\":{}}";
static const char event_json[] =
    "{\"id\":\"01EV\",\"status\":\"firing\",\"summary\":\"app \\\"x\\\" degraded\","
    "\"payload\":{\"a\":1}}";

static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : dflt;
}

static const char *
test_plugin_dir(void)
{
	return env_or("TEST_PLUGIN_DIR", "tests/plugins/.libs");
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct timeval tv = { 0, 10 * 1000 };

	assert_non_null(f);
	snprintf(f->tmpdir, sizeof(f->tmpdir), "%s/test_plugin.XXXXXX", env_or("TMPDIR", "/tmp"));
	assert_non_null(mkdtemp(f->tmpdir));
	f->base = event_base_new();
	assert_non_null(f->base);
	f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, NULL);
	assert_non_null(f->tick);
	assert_int_equal(event_add(f->tick, &tv), 0);
	assert_int_equal(plugin_host_new(f->base, &f->host), 0);
	f->cfg.sinks = f->sinks;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[512];

	sink_set_destroy(f->set);
	plugin_host_destroy(f->host);
	for (size_t i = 0; i < f->cfg.n_sinks; i++) {
		free(f->sinks[i].name);
		free(f->sinks[i].plugin);
		json_decref(f->sinks[i].options);
	}
	event_free(f->tick);
	event_base_free(f->base);
	snprintf(path, sizeof(path), "%s/record.jsonl", f->tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/stderr.log", f->tmpdir);
	unlink(path);
	rmdir(f->tmpdir);
	free(f);
	return 0;
}

/* Add a sink to the hand-made config; plugin is used as given (name or path). */
static void
add_sink(struct fixture *f, const char *name, const char *plugin, const char *options,
    bool enabled)
{
	struct config_sink *cs;

	assert_true(f->cfg.n_sinks < MAX_SINKS);
	cs = &f->sinks[f->cfg.n_sinks++];
	cs->name = strdup(name);
	cs->plugin = strdup(plugin);
	cs->enabled = enabled;
	cs->where = "conf.d/10-sinks.yaml:3";
	cs->options = json_loads(options, 0, NULL);
	assert_non_null(cs->options);
}

/* A path to plugin <name>.so in the test plugin dir. */
static char *
test_plugin(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.so", test_plugin_dir(), name);
	return buf;
}

static void
on_done(void *arg, enum incidentd_result res, uint64_t retry_after_ms, const char *detail,
    const char *result_json)
{
	struct done_rec *r = arg;

	r->calls++;
	if (!r->returned)
		r->early = true;
	r->res = res;
	r->retry_after_ms = retry_after_ms;
	snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : "(null)");
	snprintf(r->result, sizeof(r->result), "%s", result_json ? result_json : "(null)");
	if (r->destroy_set != NULL) {
		sink_set_destroy(*r->destroy_set);
		*r->destroy_set = NULL;
	}
}

/* Run the loop until *counter reaches want or ms elapse. */
static void
run_until(struct fixture *f, const int *counter, int want, int64_t ms)
{
	int64_t end = util_mono_ms() + ms;

	while ((counter == NULL || *counter < want) && util_mono_ms() < end)
		event_base_loop(f->base, EVLOOP_ONCE);
}

static void
delivery_init(struct incidentd_delivery *d, int64_t id, int attempt)
{
	memset(d, 0, sizeof(*d));
	d->struct_size = sizeof(*d);
	d->id = id;
	d->action = "open";
	d->attempt = attempt;
	d->incident_id = "01INC";
	d->incident_key = "argocd/prod/app";
	d->incident_json = incident_json;
	d->event_json = event_json;
}

static int
deliver(struct sink_instance *si, int64_t id, int attempt, struct done_rec *r)
{
	struct incidentd_delivery d;
	int rc;

	delivery_init(&d, id, attempt);
	r->returned = false;
	rc = sink_instance_deliver(si, &d, on_done, r);
	r->returned = true;
	return rc;
}

static int
load(struct fixture *f)
{
	return sink_set_load(f->host, test_plugin_dir(), &f->cfg, &f->set, f->err,
	    sizeof(f->err));
}

static char *
read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	size_t n;

	if (fp == NULL)
		return NULL;
	buf = calloc(1, 65536);
	n = buf ? fread(buf, 1, 65535, fp) : 0;
	(void)n;
	fclose(fp);
	return buf;
}

static void
test_good_plugin_delivers(void **state)
{
	struct fixture *f = *state;
	struct done_rec r = { 0 };
	char opts[512], path[300];
	struct sink_instance *si;
	json_t *line;
	char *text;

	snprintf(path, sizeof(path), "%s/record.jsonl", f->tmpdir);
	snprintf(opts, sizeof(opts), "{\"record\": \"%s\", \"result\": {\"issue\": 42}}", path);
	add_sink(f, "gh", "test_sink", opts, true);   /* by name: <dir>/test_sink.so */
	assert_int_equal(load(f), 0);
	si = sink_set_find(f->set, "gh");
	assert_non_null(si);
	assert_string_equal(sink_instance_config(si)->name, "gh");
	assert_null(sink_set_find(f->set, "nope"));

	assert_int_equal(deliver(si, 7, 1, &r), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(sink_set_inflight(f->set), 1);
	run_until(f, &r.calls, 1, 2000);
	assert_int_equal(r.calls, 1);
	assert_false(r.early);
	assert_int_equal(r.res, INCIDENTD_OK);
	assert_string_equal(r.detail, "test ok");
	assert_string_equal(r.result, "{\"issue\":42}");
	assert_int_equal(sink_set_inflight(f->set), 0);
	run_until(f, NULL, 0, 50);
	assert_int_equal(r.calls, 1);

	text = read_file(path);
	assert_non_null(text);
	line = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(line);
	assert_int_equal(json_integer_value(json_object_get(line, "delivery")), 7);
	assert_string_equal(json_string_value(json_object_get(line, "action")), "open");
	assert_int_equal(json_integer_value(json_object_get(line, "attempt")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(line,
	    "incident"), "key")), "argocd/prod/app");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
	    line, "event"), "payload"), "a")), 1);
	assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));  /* one line */
	json_decref(line);
	free(text);
}

/* What host->note() handed to the set's handler. */
static struct {
	int calls;
	void *arg;
	char note[256];
	int rc;
} noted;

static int
on_note(void *arg, const char *note_json)
{
	noted.calls++;
	noted.arg = arg;
	snprintf(noted.note, sizeof(noted.note), "%s", note_json);
	return noted.rc;
}

/* Read the last line of the record file. */
static json_t *
last_record(const char *path)
{
	char *text = read_file(path), *last;
	json_t *line;

	assert_non_null(text);
	text[strlen(text) - 1] = '\0';
	last = strrchr(text, '\n');
	line = json_loads(last ? last + 1 : text, 0, NULL);
	free(text);
	assert_non_null(line);
	return line;
}

/* host->note(): checked, then routed to the set's handler with the call's arg; the note
 * comes back to later attempts as d->note_json; recover() only for plugins that have it. */
static void
test_note_and_recover(void **state)
{
	struct fixture *f = *state;
	struct done_rec r = { 0 };
	struct incidentd_delivery d;
	char opts[512], path[300];
	struct sink_instance *si;
	json_t *line;

	snprintf(path, sizeof(path), "%s/record.jsonl", f->tmpdir);
	snprintf(opts, sizeof(opts), "{\"record\": \"%s\", \"note\": {\"pid\": 42}}", path);
	add_sink(f, "n", "test_sink", opts, true);
	add_sink(f, "bad", "test_sink", "{\"note\": [1]}", true);
	assert_int_equal(load(f), 0);
	si = sink_set_find(f->set, "n");
	/* no handler yet: -ENOTSUP */
	assert_int_equal(deliver(si, 1, 1, &r), 0);
	run_until(f, &r.calls, 1, 2000);
	line = last_record(path);
	assert_int_equal(json_integer_value(json_object_get(line, "note_rc")), -ENOTSUP);
	assert_true(json_is_null(json_object_get(line, "note_json")));
	json_decref(line);
	/* with a handler: the note and the arg of the call */
	sink_set_note_handler(f->set, on_note);
	assert_int_equal(deliver(si, 2, 1, &r), 0);
	assert_int_equal(noted.calls, 1);
	assert_ptr_equal(noted.arg, &r);
	assert_string_equal(noted.note, "{\"pid\":42}");
	run_until(f, &r.calls, 2, 2000);
	line = last_record(path);
	assert_int_equal(json_integer_value(json_object_get(line, "note_rc")), 0);
	json_decref(line);
	/* the handler's error reaches the plugin */
	noted.rc = -EIO;
	assert_int_equal(deliver(si, 3, 1, &r), 0);
	run_until(f, &r.calls, 3, 2000);
	line = last_record(path);
	assert_int_equal(json_integer_value(json_object_get(line, "note_rc")), -EIO);
	json_decref(line);
	noted.rc = 0;
	/* not a JSON object: refused before the handler */
	assert_int_equal(deliver(sink_set_find(f->set, "bad"), 4, 1, &r), 0);
	run_until(f, &r.calls, 4, 2000);
	assert_int_equal(noted.calls, 2);
	/* a later attempt gets the note back */
	delivery_init(&d, 5, 2);
	d.note_json = "{\"pid\":42}";
	r.returned = false;
	assert_int_equal(sink_instance_deliver(si, &d, on_done, &r), 0);
	r.returned = true;
	run_until(f, &r.calls, 5, 2000);
	line = last_record(path);
	assert_string_equal(json_string_value(json_object_get(line, "note_json")),
	    "{\"pid\":42}");
	json_decref(line);
	/* test_sink has no recover(): the broker makes such deliveries again instead */
	assert_false(sink_instance_can_recover(si));
	assert_false(sink_instance_can_recover(NULL));
	assert_int_equal(sink_instance_recover(si, &d, on_done, &r), -ENOTSUP);
	assert_int_equal(sink_set_inflight(f->set), 0);
}

static void
test_sync_done_is_deferred(void **state)
{
	struct fixture *f = *state;
	struct done_rec r = { 0 };

	add_sink(f, "s", "test_sink", "{\"mode\": \"sync\"}", true);
	assert_int_equal(load(f), 0);
	assert_int_equal(deliver(sink_set_find(f->set, "s"), 1, 1, &r), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(sink_set_inflight(f->set), 1);
	run_until(f, &r.calls, 1, 2000);
	assert_int_equal(r.calls, 1);
	assert_false(r.early);
	assert_int_equal(r.res, INCIDENTD_OK);
	assert_int_equal(sink_set_inflight(f->set), 0);
}

static void
test_retry_then_ok_and_fail(void **state)
{
	struct fixture *f = *state;
	struct done_rec r = { 0 }, r2 = { 0 }, r3 = { 0 };

	add_sink(f, "flaky", "test_sink", "{\"fail_times\": 1, \"retry_after\": \"200ms\"}",
	    true);
	add_sink(f, "broken", "test_sink", "{\"mode\": \"fail\", \"delay\": \"5ms\"}", true);
	assert_int_equal(load(f), 0);
	assert_int_equal(deliver(sink_set_find(f->set, "flaky"), 1, 1, &r), 0);
	assert_int_equal(deliver(sink_set_find(f->set, "flaky"), 1, 2, &r2), 0);
	assert_int_equal(deliver(sink_set_find(f->set, "broken"), 2, 1, &r3), 0);
	assert_int_equal(sink_set_inflight(f->set), 3);
	run_until(f, &r3.calls, 1, 2000);
	run_until(f, &r2.calls, 1, 2000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.res, INCIDENTD_RETRY);
	assert_int_equal(r.retry_after_ms, 200);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(r2.res, INCIDENTD_OK);
	assert_string_equal(r2.result, "(null)");
	assert_int_equal(r3.calls, 1);
	assert_int_equal(r3.res, INCIDENTD_FAIL);
	assert_string_equal(r3.detail, "test failure");
}

static void
test_done_twice_ignored(void **state)
{
	struct fixture *f = *state;
	struct done_rec r = { 0 };

	add_sink(f, "d", "test_sink", "{\"mode\": \"double\"}", true);
	assert_int_equal(load(f), 0);
	assert_int_equal(deliver(sink_set_find(f->set, "d"), 1, 1, &r), 0);
	run_until(f, &r.calls, 1, 2000);
	run_until(f, NULL, 0, 50);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.res, INCIDENTD_OK);
}

static void
test_deliver_error_no_callback(void **state)
{
	struct fixture *f = *state;
	struct done_rec r = { 0 };

	add_sink(f, "e", "test_sink", "{\"mode\": \"error\"}", true);
	assert_int_equal(load(f), 0);
	assert_int_equal(deliver(sink_set_find(f->set, "e"), 1, 1, &r), -EIO);
	assert_int_equal(sink_set_inflight(f->set), 0);
	run_until(f, NULL, 0, 50);
	assert_int_equal(r.calls, 0);
}

static void
test_missing_file(void **state)
{
	struct fixture *f = *state;
	char want[512];

	add_sink(f, "gh", "nonexistent", "{}", true);
	assert_int_equal(load(f), -ENOENT);
	assert_null(f->set);
	snprintf(want, sizeof(want), "sinks.gh (conf.d/10-sinks.yaml:3): cannot load plugin "
	    "'nonexistent' from %s/nonexistent.so: ", test_plugin_dir());
	assert_int_equal(strncmp(f->err, want, strlen(want)), 0);
	assert_non_null(strstr(f->err, "No such file"));
}

static void
test_missing_symbol(void **state)
{
	struct fixture *f = *state;
	char path[300], want[600];

	add_sink(f, "x", test_plugin("no_entry", path, sizeof(path)), "{}", true);
	assert_int_equal(load(f), -ENOEXEC);
	assert_null(f->set);
	snprintf(want, sizeof(want), "sinks.x (conf.d/10-sinks.yaml:3): %s does not export "
	    "incidentd_sink_entry (not an incidentd sink?)", path);
	assert_string_equal(f->err, want);
}

static void
test_wrong_abi(void **state)
{
	struct fixture *f = *state;
	char path[300], want[600];

	add_sink(f, "x", test_plugin("bad_abi", path, sizeof(path)), "{}", true);
	assert_int_equal(load(f), -ENOEXEC);
	assert_null(f->set);
	snprintf(want, sizeof(want), "sinks.x (conf.d/10-sinks.yaml:3): %s has sink ABI "
	    "version 999; this incidentd supports 1", path);
	assert_string_equal(f->err, want);
}

static void
test_init_rejects_unknown_option(void **state)
{
	struct fixture *f = *state;

	/* A good sink first: it must be unloaded again when the second one fails. */
	add_sink(f, "ok", "test_sink", "{}", true);
	add_sink(f, "bad", "test_sink", "{\"mode\": \"ok\", \"bogus\": 1}", true);
	assert_int_equal(load(f), -EINVAL);
	assert_null(f->set);
	assert_non_null(strstr(f->err, "sinks.bad (conf.d/10-sinks.yaml:3): plugin 'test_sink' "
	    "init failed: "));
	assert_non_null(strstr(f->err, "bogus"));
}

static void
test_disabled_not_loaded(void **state)
{
	struct fixture *f = *state;

	add_sink(f, "off", "nonexistent", "{}", false);
	add_sink(f, "on", "test_sink", "{}", true);
	assert_int_equal(load(f), 0);
	assert_null(sink_set_find(f->set, "off"));
	assert_non_null(sink_set_find(f->set, "on"));
}

static void
test_destroy_with_call_in_flight(void **state)
{
	struct fixture *f = *state;
	struct done_rec r = { 0 }, r2 = { 0 };
	struct sink_instance *si;
	struct sink_set *set;

	add_sink(f, "slow", "test_sink", "{\"delay\": \"30ms\"}", true);
	assert_int_equal(load(f), 0);
	set = f->set;
	f->set = NULL;
	si = sink_set_find(set, "slow");
	assert_int_equal(deliver(si, 1, 1, &r), 0);
	sink_set_destroy(set);                       /* only marked */
	assert_int_equal(sink_set_inflight(set), 1);
	assert_int_equal(deliver(si, 2, 1, &r2), -ESHUTDOWN);
	run_until(f, &r.calls, 1, 2000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.res, INCIDENTD_OK);
	run_until(f, NULL, 0, 30);                   /* the reap pass frees it (ASan checks) */
	assert_int_equal(r2.calls, 0);
}

static void
test_destroy_from_callback(void **state)
{
	struct fixture *f = *state;
	struct done_rec r = { 0 };

	add_sink(f, "a", "test_sink", "{}", true);
	assert_int_equal(load(f), 0);
	r.destroy_set = &f->set;
	assert_int_equal(deliver(sink_set_find(f->set, "a"), 1, 1, &r), 0);
	run_until(f, &r.calls, 1, 2000);
	assert_int_equal(r.calls, 1);
	assert_null(f->set);
	run_until(f, NULL, 0, 30);
}

static void
test_host_destroy_abandons_calls(void **state)
{
	struct fixture *f = *state;
	struct done_rec r = { 0 };

	add_sink(f, "slow", "test_sink", "{\"delay\": \"10s\"}", true);
	assert_int_equal(load(f), 0);
	assert_int_equal(deliver(sink_set_find(f->set, "slow"), 1, 1, &r), 0);
	sink_set_destroy(f->set);
	f->set = NULL;
	plugin_host_destroy(f->host);                /* forced: no callback, no leak */
	f->host = NULL;
	assert_int_equal(r.calls, 0);
}

static void
test_flush_completes_deferred(void **state)
{
	struct fixture *f = *state;
	struct done_rec r = { 0 };

	add_sink(f, "slow", "test_sink", "{\"delay\": \"10s\"}", true);
	assert_int_equal(load(f), 0);
	assert_int_equal(deliver(sink_set_find(f->set, "slow"), 1, 1, &r), 0);
	sink_set_flush(f->set);
	assert_int_equal(r.calls, 0);
	run_until(f, &r.calls, 1, 2000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.res, INCIDENTD_RETRY);
}

/* --- the log sink -------------------------------------------------------------------- */

static int
load_log(struct fixture *f)
{
	return sink_set_load(f->host, env_or("PLUGIN_DIR", "sinks/.libs"), &f->cfg, &f->set,
	    f->err, sizeof(f->err));
}

static void
test_log_sink(void **state)
{
	struct fixture *f = *state;
	struct done_rec r = { 0 };
	char path[300], *text;
	int saved, fd, rc;

	add_sink(f, "logger", "log", "{\"level\": \"warn\"}", true);
	assert_int_equal(load_log(f), 0);
	snprintf(path, sizeof(path), "%s/stderr.log", f->tmpdir);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	rc = deliver(sink_set_find(f->set, "logger"), 9, 2, &r);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(rc, 0);
	assert_int_equal(r.calls, 0);
	run_until(f, &r.calls, 1, 2000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.res, INCIDENTD_OK);
	assert_string_equal(r.detail, "logged");
	text = read_file(path);
	assert_non_null(text);
	assert_non_null(strstr(text, " warn  sink/logger: delivery 9 action=open attempt=2 "
	    "incident=01INC key=argocd/prod/app event=01EV status=firing "
	    "summary=\"app \\\"x\\\" degraded\"\n"));
	free(text);
}

static void
test_log_sink_rejects_unknown_option(void **state)
{
	struct fixture *f = *state;

	add_sink(f, "logger", "log", "{\"levle\": \"info\"}", true);
	assert_int_equal(load_log(f), -EINVAL);
	assert_non_null(strstr(f->err, "plugin 'log' init failed: "));
	assert_non_null(strstr(f->err, "levle"));
}

/* --- http_client against an in-process evhttp server -------------------------------- */

struct http_test {
	struct http_client *hc;
	int done;
	CURLcode rc[2];
	long status[2];
	long connects[2];
	size_t body_len;
};

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	(void)arg;
	evbuffer_add_printf(b, "hello");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_test *t = arg;

	(void)ptr;
	t->body_len += size * nmemb;
	return size * nmemb;
}

static void
on_http_done(CURL *easy, CURLcode rc, void *arg)
{
	struct http_test *t = arg;
	int i = t->done++;

	t->rc[i] = rc;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t->status[i]);
	curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &t->connects[i]);
	if (i == 0)   /* the second GET starts from the first one's completion */
		assert_int_equal(http_client_start(t->hc, easy, on_http_done, t), 0);
}

static void
test_http_client_reuses_connection(void **state)
{
	struct fixture *f = *state;
	struct http_test t = { 0 };
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct evhttp *http;
	CURL *easy, *other;
	char url[64];

	http = evhttp_new(f->base);
	assert_non_null(http);
	evhttp_set_gencb(http, on_request, NULL);
	bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	assert_non_null(bs);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa,
	    &salen), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", (unsigned)ntohs(sa.sin_port));

	assert_int_equal(http_client_new(f->base, &t.hc), 0);
	easy = curl_easy_init();
	other = curl_easy_init();
	assert_non_null(easy);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(other, CURLOPT_URL, url);

	assert_int_equal(http_client_start(t.hc, easy, on_http_done, &t), 0);
	assert_int_equal(http_client_start(t.hc, easy, on_http_done, &t), -EALREADY);
	assert_int_equal(http_client_start(t.hc, other, on_http_done, &t), 0);
	http_client_cancel(t.hc, other);             /* never reported */
	assert_int_equal(t.done, 0);
	assert_int_equal(http_client_active(t.hc), 1);
	run_until(f, &t.done, 2, 5000);
	assert_int_equal(t.done, 2);
	assert_int_equal(t.rc[0], CURLE_OK);
	assert_int_equal(t.rc[1], CURLE_OK);
	assert_int_equal(t.status[0], 200);
	assert_int_equal(t.status[1], 200);
	assert_int_equal(t.connects[0], 1);
	assert_int_equal(t.connects[1], 0);          /* reused */
	assert_int_equal(t.body_len, 10);
	assert_int_equal(http_client_active(t.hc), 0);

	/* Destroying with a transfer running does not call back. */
	assert_int_equal(http_client_start(t.hc, easy, on_http_done, &t), 0);
	http_client_destroy(t.hc);
	assert_int_equal(t.done, 2);
	curl_easy_cleanup(easy);
	curl_easy_cleanup(other);
	evhttp_free(http);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_plugin_delivers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_note_and_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_done_is_deferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_then_ok_and_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_twice_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_error_no_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_symbol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_abi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_rejects_unknown_option, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_not_loaded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_with_call_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_from_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_destroy_abandons_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_completes_deferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_sink_rejects_unknown_option, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_http_client_reuses_connection, setup,
		    teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
