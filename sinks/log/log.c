/* log.c - the `log` sink: one log line per delivery, then OK ("logged").
 *
 * Options:
 *   level: info | debug | warn    level of the delivery lines (default info)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include <incidentd/sink.h>

struct log_sink;

/* One delivery waiting for its zero timer. */
struct log_pending {
	struct log_sink *ls;
	incidentd_done_fn done;
	struct incidentd_call *call;
	struct incidentd_timer *timer;
	struct log_pending *prev, *next;
};

struct log_sink {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	enum incidentd_log_level level;
	struct log_pending *pending;
};


static int
log_parse_options(const char *config_json, enum incidentd_log_level *level, char *err,
    size_t errlen)
{
	const char *name = NULL;
	json_error_t jerr;
	json_t *root;
	int rc = 0;

	*level = INCIDENTD_LOG_INFO;
	root = json_loads(config_json, 0, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "invalid options: %s", jerr.text);
		rc = -EINVAL;
		goto out;
	}
	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s?s}", "level", &name) != 0) {
		snprintf(err, errlen, "%s (known keys: level)", jerr.text);
		rc = -EINVAL;
		goto out;
	}
	if (name == NULL || strcmp(name, "info") == 0)
		*level = INCIDENTD_LOG_INFO;
	else if (strcmp(name, "debug") == 0)
		*level = INCIDENTD_LOG_DEBUG;
	else if (strcmp(name, "warn") == 0)
		*level = INCIDENTD_LOG_WARN;
	else {
		snprintf(err, errlen, "level: '%s' is not one of info, debug, warn", name);
		rc = -EINVAL;
	}
out:
	json_decref(root);
	return rc;
}

static int
log_init(const struct incidentd_host *host, struct incidentd_instance *self,
    const char *config_json, void **state, char *err, size_t errlen)
{
	struct log_sink *ls = NULL;
	enum incidentd_log_level level;
	int rc;

	*state = NULL;
	if (!INCIDENTD_HOST_HAS(host, timer_cancel)) {
		snprintf(err, errlen, "the broker lacks timers (host ABI too old)");
		rc = -ENOTSUP;
		goto out;
	}
	rc = log_parse_options(config_json, &level, err, errlen);
	if (rc != 0)
		goto out;
	ls = calloc(1, sizeof(*ls));
	if (ls == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	ls->host = host;
	ls->self = self;
	ls->level = level;
	*state = ls;
	ls = NULL;
out:
	free(ls);
	return rc;
}

static void
log_pending_unlink(struct log_pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		p->ls->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
}

static void
log_on_timer(void *arg)
{
	struct log_pending *p = arg;
	incidentd_done_fn done = p->done;
	struct incidentd_call *call = p->call;

	log_pending_unlink(p);
	free(p);
	done(call, INCIDENTD_OK, 0, "logged", NULL);
}

/* Copy s into buf with quotes, backslashes and control characters escaped. */
static const char *
log_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 3 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (ch < 0x20 || ch == 0x7f) {
			buf[o++] = ' ';
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o] = '\0';
	return buf;
}

static const char *
log_str(json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : dflt;
}

static int
log_deliver(void *state, const struct incidentd_delivery *d, incidentd_done_fn done,
    struct incidentd_call *call)
{
	struct log_sink *ls = state;
	struct log_pending *p = NULL;
	json_t *inc = NULL, *ev = NULL;
	const char *ev_id = "-", *ev_status = "-", *ev_summary = "";
	char summary[1024];
	int rc;

	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* parse the JSON only for what an older broker does not hand over as plain fields */
	if ((d->incident_id == NULL || d->incident_key == NULL) && d->incident_json != NULL)
		inc = json_loads(d->incident_json, 0, NULL);
	if (INCIDENTD_DELIVERY_HAS(d, event_summary) && d->event_id != NULL &&
	    d->event_status != NULL) {
		ev_id = d->event_id;
		ev_status = d->event_status;
		ev_summary = d->event_summary != NULL ? d->event_summary : "";
	} else if (d->event_json != NULL) {
		ev = json_loads(d->event_json, 0, NULL);
		ev_id = log_str(ev, "id", "-");
		ev_status = log_str(ev, "status", "-");
		ev_summary = log_str(ev, "summary", "");
	}
	ls->host->log(ls->self, ls->level, "delivery %lld action=%s attempt=%d incident=%s "
	    "key=%s event=%s status=%s summary=\"%s\"", (long long)d->id,
	    d->action != NULL ? d->action : "-", d->attempt,
	    d->incident_id != NULL ? d->incident_id : log_str(inc, "id", "-"),
	    d->incident_key != NULL ? d->incident_key : log_str(inc, "key", "-"),
	    ev_id, ev_status, log_quote(ev_summary, summary, sizeof(summary)));
	p->ls = ls;
	p->done = done;
	p->call = call;
	p->timer = ls->host->timer_start(ls->self, 0, log_on_timer, p);
	if (p->timer == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	p->next = ls->pending;
	if (ls->pending != NULL)
		ls->pending->prev = p;
	ls->pending = p;
	p = NULL;
	rc = 0;
out:
	free(p);
	json_decref(inc);
	json_decref(ev);
	return rc;
}

static void
log_destroy(void *state)
{
	struct log_sink *ls = state;
	struct log_pending *p;

	if (ls == NULL)
		return;
	/* Normally empty: destroy() comes after every done(). */
	while ((p = ls->pending) != NULL) {
		ls->pending = p->next;
		ls->host->timer_cancel(p->timer);
		free(p);
	}
	free(ls);
}

static const struct incidentd_sink log_descriptor = {
	.abi_version = INCIDENTD_SINK_ABI_VERSION,
	.struct_size = sizeof(struct incidentd_sink),
	.name = "log",
	.description = "writes one log line per delivery",
	.init = log_init,
	.deliver = log_deliver,
	.flush = NULL,
	.destroy = log_destroy,
};

const struct incidentd_sink *
incidentd_sink_entry(void)
{
	return &log_descriptor;
}
