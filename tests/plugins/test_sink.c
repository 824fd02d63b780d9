/* test_sink.c - a configurable sink ("test_sink") for unit and integration tests.
 *
 * Options (all optional, unknown keys rejected):
 *   record: PATH          append one compact JSON line per deliver() call:
 *                         {"delivery", "action", "attempt", "incident", "event",
 *                          "note_json" (the delivery's note, or null), "note_rc" (with
 *                          note: what host->note() returned)}
 *   fail_times: N         attempts 1..N of every delivery complete with RETRY
 *   retry_after: "200ms"  retry_after_ms reported with RETRY (default 0 = core back-off)
 *   mode: ok | fail | sync | double | error
 *                         ok: complete OK; fail: FAIL "test failure"; sync: call done()
 *                         from inside deliver(); double: call done() twice; error: call
 *                         done() and then return -EIO from deliver()
 *   result: {object}      result_json reported with OK
 *   delay: "50ms"         complete after a timer (default 0 = the next loop pass)
 *   note: {object}        record it on the delivery with host->note() in deliver()
 * flush() completes every pending delivery at once with RETRY "flushed".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include <incidentd/sink.h>

enum ts_mode { TS_OK, TS_FAIL, TS_SYNC, TS_DOUBLE, TS_ERROR };

struct ts_sink;

struct ts_pending {
	struct ts_sink *ts;
	incidentd_done_fn done;
	struct incidentd_call *call;
	struct incidentd_timer *timer;
	enum incidentd_result res;
	struct ts_pending *prev, *next;
};

struct ts_sink {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	char *record;
	json_int_t fail_times;
	uint64_t retry_after_ms;
	enum ts_mode mode;
	char *result;          /* compact JSON or NULL */
	char *note;            /* compact JSON or NULL */
	uint64_t delay_ms;
	struct ts_pending *pending;
};

INCIDENTD_SINK_EXPORT const struct incidentd_sink *incidentd_sink_entry(void);

/* "250ms", "2s", "1m" or "0". Returns 0 or -EINVAL. */
static int
ts_parse_duration(const char *s, uint64_t *ms)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno != 0)
		return -EINVAL;
	if (strcmp(end, "ms") == 0 || (v == 0 && *end == '\0'))
		*ms = v;
	else if (strcmp(end, "s") == 0)
		*ms = v * 1000;
	else if (strcmp(end, "m") == 0)
		*ms = v * 60000;
	else
		return -EINVAL;
	return 0;
}

static void
ts_free(struct ts_sink *ts)
{
	if (ts == NULL)
		return;
	free(ts->record);
	free(ts->note);
	free(ts->result);
	free(ts);
}

static int
ts_init(const struct incidentd_host *host, struct incidentd_instance *self,
    const char *config_json, void **state, char *err, size_t errlen)
{
	const char *record = NULL, *retry_after = NULL, *mode = NULL, *delay = NULL;
	json_t *root = NULL, *result = NULL, *note = NULL;
	json_int_t fail_times = 0;
	struct ts_sink *ts = NULL;
	json_error_t jerr;
	int rc = -EINVAL;

	*state = NULL;
	root = json_loads(config_json, 0, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "invalid options: %s", jerr.text);
		goto out;
	}
	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s?s, s?I, s?s, s?s, s?o, s?s, s?o}",
	    "record", &record, "fail_times", &fail_times, "retry_after", &retry_after,
	    "mode", &mode, "result", &result, "delay", &delay, "note", &note) != 0) {
		snprintf(err, errlen, "%s", jerr.text);
		goto out;
	}
	ts = calloc(1, sizeof(*ts));
	if (ts == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	ts->host = host;
	ts->self = self;
	ts->fail_times = fail_times;
	if (retry_after != NULL && ts_parse_duration(retry_after, &ts->retry_after_ms) != 0) {
		snprintf(err, errlen, "retry_after: '%s' is not a duration", retry_after);
		goto out;
	}
	if (delay != NULL && ts_parse_duration(delay, &ts->delay_ms) != 0) {
		snprintf(err, errlen, "delay: '%s' is not a duration", delay);
		goto out;
	}
	if (mode == NULL || strcmp(mode, "ok") == 0)
		ts->mode = TS_OK;
	else if (strcmp(mode, "fail") == 0)
		ts->mode = TS_FAIL;
	else if (strcmp(mode, "sync") == 0)
		ts->mode = TS_SYNC;
	else if (strcmp(mode, "double") == 0)
		ts->mode = TS_DOUBLE;
	else if (strcmp(mode, "error") == 0)
		ts->mode = TS_ERROR;
	else {
		snprintf(err, errlen, "mode: '%s' is not one of ok, fail, sync, double, error",
		    mode);
		goto out;
	}
	if (result != NULL && !json_is_object(result)) {
		snprintf(err, errlen, "result: must be an object");
		goto out;
	}
	if ((record != NULL && (ts->record = strdup(record)) == NULL) ||
	    (result != NULL && (ts->result = json_dumps(result, JSON_COMPACT)) == NULL) ||
	    (note != NULL && (ts->note = json_dumps(note, JSON_COMPACT | JSON_ENCODE_ANY)) ==
	    NULL)) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	*state = ts;
	ts = NULL;
	rc = 0;
out:
	ts_free(ts);
	json_decref(root);
	return rc;
}

/* Append the delivery as one JSON line to the record file. */
static int
ts_record(const struct ts_sink *ts, const struct incidentd_delivery *d, int note_rc)
{
	const char *note = INCIDENTD_DELIVERY_HAS(d, note_json) ? d->note_json : NULL;
	json_t *line;
	char *text = NULL;
	FILE *f = NULL;
	int rc = -ENOMEM;

	line = json_pack("{s:I, s:s?, s:i, s:I, s:o?, s:o?}", "delivery", (json_int_t)d->id,
	    "action", d->action, "attempt", d->attempt,
	    "at", (json_int_t)ts->host->now_ms(ts->self),
	    "incident", d->incident_json ? json_loads(d->incident_json, 0, NULL) : NULL,
	    "event", d->event_json ? json_loads(d->event_json, 0, NULL) : NULL);
	if (line == NULL || json_object_set_new(line, "note_json", note ? json_string(note) :
	    json_null()) != 0 || (ts->note != NULL && json_object_set_new(line, "note_rc",
	    json_integer(note_rc)) != 0) || (text = json_dumps(line, JSON_COMPACT)) == NULL)
		goto out;
	f = fopen(ts->record, "a");
	if (f == NULL) {
		rc = -errno;
		goto out;
	}
	rc = fprintf(f, "%s\n", text) < 0 ? -EIO : 0;
out:
	if (f != NULL && fclose(f) != 0 && rc == 0)
		rc = -EIO;
	free(text);
	json_decref(line);
	return rc;
}

static void
ts_unlink(struct ts_pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		p->ts->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
}

static void
ts_complete(struct ts_pending *p)
{
	const struct ts_sink *ts = p->ts;
	incidentd_done_fn done = p->done;
	struct incidentd_call *call = p->call;
	enum incidentd_result res = p->res;
	bool twice = ts->mode == TS_DOUBLE;

	ts_unlink(p);
	free(p);
	switch (res) {
	case INCIDENTD_OK:
		done(call, res, 0, "test ok", ts->result);
		break;
	case INCIDENTD_RETRY:
		done(call, res, ts->retry_after_ms, "test retry", NULL);
		break;
	default:
		done(call, res, 0, "test failure", NULL);
		break;
	}
	/* ts and call may be gone by now: only the broker's bookkeeping is exercised. */
	if (twice)
		done(call, INCIDENTD_FAIL, 0, "second done", NULL);
}

static void
ts_on_timer(void *arg)
{
	ts_complete(arg);
}

static int
ts_deliver(void *state, const struct incidentd_delivery *d, incidentd_done_fn done,
    struct incidentd_call *call)
{
	struct ts_sink *ts = state;
	struct ts_pending *p;
	int rc, note_rc = 0;

	if (ts->note != NULL)
		note_rc = INCIDENTD_HOST_HAS(ts->host, note) ? ts->host->note(ts->self, call,
		    ts->note) : -ENOSYS;
	if (ts->record != NULL) {
		rc = ts_record(ts, d, note_rc);
		if (rc != 0) {
			ts->host->log(ts->self, INCIDENTD_LOG_ERROR, "cannot record delivery %lld "
			    "(%d)", (long long)d->id, rc);
			return rc;
		}
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->ts = ts;
	p->done = done;
	p->call = call;
	if (d->attempt <= ts->fail_times)
		p->res = INCIDENTD_RETRY;
	else
		p->res = ts->mode == TS_FAIL ? INCIDENTD_FAIL : INCIDENTD_OK;
	p->next = ts->pending;
	if (ts->pending != NULL)
		ts->pending->prev = p;
	ts->pending = p;
	if (ts->mode == TS_SYNC) {
		ts_complete(p);
		return 0;
	}
	if (ts->mode == TS_ERROR) {
		ts_complete(p);
		return -EIO;
	}
	p->timer = ts->host->timer_start(ts->self, ts->delay_ms, ts_on_timer, p);
	if (p->timer == NULL) {
		ts_unlink(p);
		free(p);
		return -ENOMEM;
	}
	return 0;
}

static void
ts_flush(void *state)
{
	struct ts_sink *ts = state;
	struct ts_pending *p;

	while ((p = ts->pending) != NULL) {
		ts->host->timer_cancel(p->timer);
		p->res = INCIDENTD_RETRY;
		ts_complete(p);
	}
}

static void
ts_destroy(void *state)
{
	struct ts_sink *ts = state;
	struct ts_pending *p;

	if (ts == NULL)
		return;
	while ((p = ts->pending) != NULL) {
		ts->pending = p->next;
		ts->host->timer_cancel(p->timer);
		free(p);
	}
	ts_free(ts);
}

static const struct incidentd_sink ts_descriptor = {
	.abi_version = INCIDENTD_SINK_ABI_VERSION,
	.struct_size = sizeof(struct incidentd_sink),
	.name = "test_sink",
	.description = "configurable sink for tests",
	.init = ts_init,
	.deliver = ts_deliver,
	.flush = ts_flush,
	.destroy = ts_destroy,
};

const struct incidentd_sink *
incidentd_sink_entry(void)
{
	return &ts_descriptor;
}
