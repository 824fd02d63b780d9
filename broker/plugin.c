/* plugin.c - sink plugin loader, host services and completion bookkeeping.
 *
 * Calls: every deliver() gets a struct plugin_call. The handle given to the plugin is not
 * a pointer but a never-reused sequence number (cast to struct incidentd_call *), looked
 * up in a small process-wide table; so a done() for a call that already completed (or
 * whose deliver() failed) is reliably detected, logged and ignored instead of touching
 * freed memory. A done() made while the broker is inside the plugin (deliver, flush,
 * destroy) is recorded and reported from a zero timer on the next loop pass.
 */
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <event2/event_struct.h>
#include <jansson.h>

#include "http_client.h"
#include "log.h"
#include "pace.h"
#include "util.h"

#define CALL_BUCKETS 64

struct plugin_call {
	uint64_t id;
	struct sink_instance *si;
	sink_complete_fn cb;
	void *arg;
	bool completed;                /* the plugin called done() */
	enum incidentd_result res;     /* recorded for a deferred completion */
	uint64_t retry_after_ms;
	char *detail;
	char *result_json;
	int64_t delivery;              /* the delivery's id in the ledger */
	int nslots;                    /* slots it holds (host->slot_take) */
	struct event ev;               /* zero timer of a deferred completion */
	struct plugin_call *next_id;   /* chain in call_table */
	TAILQ_ENTRY(plugin_call) entry;
};

struct incidentd_timer {
	struct sink_instance *si;
	incidentd_timer_fn fn;
	void *arg;
	struct event ev;
	TAILQ_ENTRY(incidentd_timer) entry;
};

struct host_xfer {
	struct sink_instance *si;
	void *easy;
	incidentd_http_done_fn fn;
	void *arg;
	TAILQ_ENTRY(host_xfer) entry;
};

/* A slot held by a call in flight (host->slot_take), kept by the host in every mode so
 * that it is released when the call completes. */
struct host_slot {
	char *name;
	uint64_t call_id;
	int64_t delivery;
	TAILQ_ENTRY(host_slot) entry;
};

/* An in-memory quota counter (host->quota_take) of one name: the latest period only. */
struct host_quota {
	char *name;
	int64_t period_ms;
	int64_t used;
	TAILQ_ENTRY(host_quota) entry;
};

/* What plugins hold: a handle leading back to the instance. */
struct incidentd_instance {
	struct sink_instance *si;
};

struct sink_instance {
	struct incidentd_instance self;
	struct sink_set *set;
	const struct config_sink *cfg;
	char *component;               /* "sink/<name>" */
	void *dl;
	const struct incidentd_sink *desc;
	void *state;
	bool initialized;
	int in_plugin;                 /* > 0 while the broker is calling into the plugin */
	TAILQ_HEAD(, plugin_call) calls;
	TAILQ_HEAD(, incidentd_timer) timers;
	TAILQ_HEAD(, host_xfer) xfers;
};

struct sink_set {
	struct plugin_host *host;
	sink_note_fn note_fn;          /* host->note() handler, or NULL */
	struct sink_instance *inst;
	size_t n;
	size_t inflight;
	bool dying;
	struct event *reap;
	TAILQ_ENTRY(sink_set) entry;
};

struct plugin_host {
	struct event_base *base;
	struct http_client *http;
	int64_t (*now_ms)(void);
	struct pace *pace;             /* lanes shared by every instance (pace_reserve) */
	const struct plugin_shared *shared; /* what every replica shares, or NULL */
	TAILQ_HEAD(, host_slot) slots;  /* held by calls in flight, every instance */
	TAILQ_HEAD(, host_quota) quotas; /* in-memory quotas (not shared) */
	int depth;                     /* > 0 while a plugin is on the stack below us */
	TAILQ_HEAD(, sink_set) dying;
};

/* Calls in flight, by id (ids are unique in the process, across hosts). */
static struct plugin_call *call_table[CALL_BUCKETS];
static uint64_t call_seq;

static void
call_register(struct plugin_call *c)
{
	struct plugin_call **b = &call_table[c->id % CALL_BUCKETS];

	c->next_id = *b;
	*b = c;
}

static void
call_unregister(struct plugin_call *c)
{
	struct plugin_call **p = &call_table[c->id % CALL_BUCKETS];

	for (; *p != NULL; p = &(*p)->next_id) {
		if (*p == c) {
			*p = c->next_id;
			break;
		}
	}
	c->next_id = NULL;
}

static struct plugin_call *
call_lookup(struct incidentd_call *handle)
{
	uint64_t id = (uint64_t)(uintptr_t)handle;
	struct plugin_call *c;

	for (c = call_table[id % CALL_BUCKETS]; c != NULL; c = c->next_id) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

static struct incidentd_call *
call_handle(const struct plugin_call *c)
{
	return (struct incidentd_call *)(uintptr_t)c->id;
}

/* Forget slot sl of call c (NULL: a call that is gone), in the ledger too if shared. */
static void
slot_drop(struct plugin_host *host, struct plugin_call *c, struct host_slot *sl)
{
	if (host->shared != NULL &&
	    host->shared->slot_release(host->shared->arg, sl->name, sl->delivery) != 0)
		log_warn("plugin", "cannot release a slot in the ledger (it counts until its "
		    "delivery stops running)");
	TAILQ_REMOVE(&host->slots, sl, entry);
	if (c != NULL)
		c->nslots--;
	free(sl->name);
	free(sl);
}

/* Release every slot c still holds (the plugin did not, or could not). */
static void
call_release_slots(struct plugin_call *c)
{
	struct plugin_host *host = c->si->set->host;
	struct host_slot *sl, *next;

	for (sl = TAILQ_FIRST(&host->slots); sl != NULL && c->nslots > 0; sl = next) {
		next = TAILQ_NEXT(sl, entry);
		if (sl->call_id == c->id)
			slot_drop(host, c, sl);
	}
}

/* Take c out of every list and the accounting; the caller frees it. */
static void
call_detach(struct plugin_call *c)
{
	struct sink_instance *si = c->si;

	call_release_slots(c);
	call_unregister(c);
	event_del(&c->ev);
	TAILQ_REMOVE(&si->calls, c, entry);
	si->set->inflight--;
	if (si->set->dying && si->set->inflight == 0) {
		struct timeval zero = { 0, 0 };

		event_add(si->set->reap, &zero);
	}
}

static void
call_free(struct plugin_call *c)
{
	if (c == NULL)
		return;
	free(c->detail);
	free(c->result_json);
	free(c);
}

/* Report c to its cb and free it. Touches neither c's instance nor its set after cb. */
static void
call_finish(struct plugin_call *c, enum incidentd_result res, uint64_t retry_after_ms,
    const char *detail, const char *result_json)
{
	call_detach(c);
	c->cb(c->arg, res, retry_after_ms, detail, result_json);
	call_free(c);
}

static void
call_on_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct plugin_call *c = arg;

	(void)fd;
	(void)what;
	call_finish(c, c->res, c->retry_after_ms, c->detail, c->result_json);
}

/* incidentd_done_fn given to every deliver(). */
static void
host_done(struct incidentd_call *handle, enum incidentd_result res, uint64_t retry_after_ms,
    const char *detail, const char *result_json)
{
	struct plugin_call *c = call_lookup(handle);
	struct timeval zero = { 0, 0 };

	if (c == NULL) {
		log_error("plugin", "done() called for an unknown or already completed call; "
		    "ignored");
		return;
	}
	if (c->completed) {
		log_error(c->si->component, "done() called twice for one delivery; ignored");
		return;
	}
	c->completed = true;
	if (res != INCIDENTD_OK && res != INCIDENTD_RETRY && res != INCIDENTD_FAIL) {
		log_error(c->si->component, "done() with invalid result %d; treated as a "
		    "failure", (int)res);
		res = INCIDENTD_FAIL;
		detail = "sink reported an invalid result";
		result_json = NULL;
	}
	if (c->si->in_plugin == 0) {
		struct plugin_host *host = c->si->set->host;

		host->depth++;
		call_finish(c, res, retry_after_ms, detail, result_json);
		host->depth--;
		return;
	}
	/* Still inside the plugin: report on the next loop pass. */
	c->res = res;
	c->retry_after_ms = retry_after_ms;
	c->detail = util_strdup0(detail);
	c->result_json = util_strdup0(result_json);
	if ((detail != NULL && c->detail == NULL) ||
	    (result_json != NULL && c->result_json == NULL)) {
		free(c->detail);
		free(c->result_json);
		c->detail = NULL;
		c->result_json = NULL;
		c->res = INCIDENTD_RETRY;
		c->retry_after_ms = 0;
	}
	event_add(&c->ev, &zero);
}

/* --- host services -------------------------------------------------------------------- */

static void host_log(struct incidentd_instance *self, enum incidentd_log_level level,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
host_log(struct incidentd_instance *self, enum incidentd_log_level level, const char *fmt,
    ...)
{
	enum log_level lvl;
	va_list ap;

	switch (level) {
	case INCIDENTD_LOG_DEBUG: lvl = LOG_LVL_DEBUG; break;
	case INCIDENTD_LOG_INFO: lvl = LOG_LVL_INFO; break;
	case INCIDENTD_LOG_WARN: lvl = LOG_LVL_WARN; break;
	default: lvl = LOG_LVL_ERROR; break;
	}
	va_start(ap, fmt);
	log_vmsg(lvl, self->si->component, fmt, ap);
	va_end(ap);
}

static const char *
host_instance_name(struct incidentd_instance *self)
{
	return self->si->cfg->name;
}

static void *
host_event_base(struct incidentd_instance *self)
{
	return self->si->set->host->base;
}

static void
timer_on_fire(evutil_socket_t fd, short what, void *arg)
{
	struct incidentd_timer *t = arg;
	struct plugin_host *host = t->si->set->host;
	incidentd_timer_fn fn = t->fn;
	void *fn_arg = t->arg;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&t->si->timers, t, entry);
	free(t);
	host->depth++;
	fn(fn_arg);
	host->depth--;
}

static struct incidentd_timer *
host_timer_start(struct incidentd_instance *self, uint64_t ms, incidentd_timer_fn fn,
    void *arg)
{
	struct sink_instance *si = self->si;
	struct incidentd_timer *t;
	struct timeval tv;

	if (fn == NULL)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->si = si;
	t->fn = fn;
	t->arg = arg;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_assign(&t->ev, si->set->host->base, timer_on_fire, t);
	if (evtimer_add(&t->ev, &tv) != 0) {
		free(t);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&si->timers, t, entry);
	return t;
}

static void
host_timer_cancel(struct incidentd_timer *t)
{
	if (t == NULL)
		return;
	event_del(&t->ev);
	TAILQ_REMOVE(&t->si->timers, t, entry);
	free(t);
}

static void
xfer_on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct host_xfer *x = arg;
	struct plugin_host *host = x->si->set->host;
	incidentd_http_done_fn fn = x->fn;
	void *fn_arg = x->arg;

	TAILQ_REMOVE(&x->si->xfers, x, entry);
	free(x);
	host->depth++;
	fn(easy, (int)rc, fn_arg);
	host->depth--;
}

static int
host_http_start(struct incidentd_instance *self, void *easy, incidentd_http_done_fn fn,
    void *arg)
{
	struct sink_instance *si = self->si;
	struct host_xfer *x = NULL;
	int rc;

	if (easy == NULL || fn == NULL) {
		rc = -EINVAL;
		goto out;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	x->si = si;
	x->easy = easy;
	x->fn = fn;
	x->arg = arg;
	rc = http_client_start(si->set->host->http, easy, xfer_on_done, x);
	if (rc != 0)
		goto out;
	TAILQ_INSERT_TAIL(&si->xfers, x, entry);
	x = NULL;
out:
	free(x);
	return rc;
}

static void
host_http_cancel(struct incidentd_instance *self, void *easy)
{
	struct sink_instance *si = self->si;
	struct host_xfer *x;

	TAILQ_FOREACH(x, &si->xfers, entry) {
		if (x->easy == easy)
			break;
	}
	if (x == NULL)
		return;
	http_client_cancel(si->set->host->http, easy);
	TAILQ_REMOVE(&si->xfers, x, entry);
	free(x);
}

static int64_t
host_now_ms(struct incidentd_instance *self)
{
	struct plugin_host *host = self->si->set->host;

	return host->now_ms != NULL ? host->now_ms() : util_now_ms();
}

static uint64_t
host_pace_reserve(struct incidentd_instance *self, const char *lane, uint64_t min_gap_ms)
{
	struct plugin_host *host = self->si->set->host;
	uint64_t wait = 0;

	/* Out of memory: do not wait (the lane is advisory; the remote side still limits). */
	if (host->shared != NULL) {
		if (host->shared->reserve(host->shared->arg, lane, host_now_ms(self), min_gap_ms,
		    &wait) == 0)
			return wait;
		log_warn(self->si->component, "cannot book a pacing slot in the ledger: paced "
		    "by this replica alone");
	}
	if (pace_reserve(host->pace, lane, host_now_ms(self), min_gap_ms, &wait) != 0)
		log_warn(self->si->component, "cannot book a pacing slot: out of memory");
	return wait;
}

static void
host_pace_hold(struct incidentd_instance *self, const char *lane, int64_t until_ms)
{
	struct plugin_host *host = self->si->set->host;

	if (host->shared != NULL && host->shared->hold(host->shared->arg, lane, until_ms) != 0)
		log_warn(self->si->component, "cannot record a pacing hold in the ledger");
	if (pace_hold(host->pace, lane, until_ms) != 0)
		log_warn(self->si->component, "cannot record a pacing hold: out of memory");
}

#define NOTE_MAX 4096

static int
host_note(struct incidentd_instance *self, struct incidentd_call *call, const char *note_json)
{
	struct plugin_call *c = call_lookup(call);
	json_t *obj;
	int rc;

	if (c == NULL || c->completed || c->si != self->si)
		return -ENOENT;
	if (note_json == NULL || strlen(note_json) > NOTE_MAX)
		return -EINVAL;
	obj = json_loads(note_json, 0, NULL);
	rc = json_is_object(obj) ? 0 : -EINVAL;
	json_decref(obj);
	if (rc != 0)
		return rc;
	if (c->si->set->note_fn == NULL)
		return -ENOTSUP;
	return c->si->set->note_fn(c->arg, note_json);
}

static int
host_quota_take(struct incidentd_instance *self, const char *name, int64_t period_ms,
    int64_t limit)
{
	struct plugin_host *host = self->si->set->host;
	struct host_quota *q;

	if (name == NULL)
		return -EINVAL;
	if (host->shared != NULL)
		return host->shared->quota_take(host->shared->arg, name, period_ms, limit);
	TAILQ_FOREACH(q, &host->quotas, entry) {
		if (strcmp(q->name, name) == 0)
			break;
	}
	if (q == NULL) {
		q = calloc(1, sizeof(*q));
		if (q == NULL || (q->name = strdup(name)) == NULL) {
			free(q);
			return -ENOMEM;
		}
		q->period_ms = period_ms;
		TAILQ_INSERT_TAIL(&host->quotas, q, entry);
	}
	if (q->period_ms != period_ms) {
		q->period_ms = period_ms;
		q->used = 0;
	}
	if (q->used >= limit)
		return 0;
	q->used++;
	return 1;
}

static struct host_slot *
slot_find(struct plugin_host *host, uint64_t call_id, const char *name)
{
	struct host_slot *sl;

	TAILQ_FOREACH(sl, &host->slots, entry) {
		if (sl->call_id == call_id && strcmp(sl->name, name) == 0)
			return sl;
	}
	return NULL;
}

static int
host_slot_take(struct incidentd_instance *self, struct incidentd_call *call,
    const char *name, int64_t max)
{
	struct plugin_host *host = self->si->set->host;
	struct plugin_call *c = call_lookup(call);
	struct host_slot *sl;
	int64_t n = 0;
	int rc;

	if (c == NULL || c->completed || c->si != self->si)
		return -ENOENT;
	if (name == NULL)
		return -EINVAL;
	if (slot_find(host, c->id, name) != NULL)
		return 1;
	if (host->shared != NULL) {
		rc = host->shared->slot_take(host->shared->arg, name, c->delivery, max);
		if (rc != 1)
			return rc;
	} else {
		TAILQ_FOREACH(sl, &host->slots, entry)
			n += strcmp(sl->name, name) == 0;
		if (n >= max)
			return 0;
	}
	sl = calloc(1, sizeof(*sl));
	if (sl == NULL || (sl->name = strdup(name)) == NULL) {
		free(sl);
		if (host->shared != NULL)
			(void)host->shared->slot_release(host->shared->arg, name, c->delivery);
		return -ENOMEM;
	}
	sl->call_id = c->id;
	sl->delivery = c->delivery;
	TAILQ_INSERT_TAIL(&host->slots, sl, entry);
	c->nslots++;
	return 1;
}

static void
host_slot_release(struct incidentd_instance *self, struct incidentd_call *call,
    const char *name)
{
	struct plugin_host *host = self->si->set->host;
	struct plugin_call *c = call_lookup(call);
	struct host_slot *sl;

	if (c == NULL || c->si != self->si || name == NULL)
		return;
	sl = slot_find(host, c->id, name);
	if (sl != NULL)
		slot_drop(host, c, sl);
}

static const struct incidentd_host host_services = {
	.abi_version = INCIDENTD_SINK_ABI_VERSION,
	.struct_size = sizeof(struct incidentd_host),
	.log = host_log,
	.instance_name = host_instance_name,
	.event_base = host_event_base,
	.timer_start = host_timer_start,
	.timer_cancel = host_timer_cancel,
	.http_start = host_http_start,
	.http_cancel = host_http_cancel,
	.now_ms = host_now_ms,
	.pace_reserve = host_pace_reserve,
	.pace_hold = host_pace_hold,
	.note = host_note,
	.quota_take = host_quota_take,
	.slot_take = host_slot_take,
	.slot_release = host_slot_release,
};

/* --- host ----------------------------------------------------------------------------- */

void
plugin_host_share(struct plugin_host *host, const struct plugin_shared *shared)
{
	host->shared = shared;
}

int
plugin_host_new(struct event_base *base, struct plugin_host **out)
{
	struct plugin_host *host;
	int rc;

	*out = NULL;
	host = calloc(1, sizeof(*host));
	if (host == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	host->base = base;
	TAILQ_INIT(&host->dying);
	TAILQ_INIT(&host->slots);
	TAILQ_INIT(&host->quotas);
	rc = http_client_new(base, &host->http);
	if (rc != 0)
		goto out;
	host->pace = pace_new(util_now_ms());
	if (host->pace == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	*out = host;
	host = NULL;
out:
	plugin_host_destroy(host);
	return rc;
}

static void set_destroy_now(struct sink_set *set);

void
plugin_host_destroy(struct plugin_host *host)
{
	struct sink_set *set;
	struct host_slot *sl;
	struct host_quota *q;

	if (host == NULL)
		return;
	while ((set = TAILQ_FIRST(&host->dying)) != NULL) {
		TAILQ_REMOVE(&host->dying, set, entry);
		if (set->inflight > 0)
			log_warn("plugin", "abandoning %zu sink deliveries still in flight",
			    set->inflight);
		set_destroy_now(set);
	}
	while ((sl = TAILQ_FIRST(&host->slots)) != NULL)
		slot_drop(host, NULL, sl);
	while ((q = TAILQ_FIRST(&host->quotas)) != NULL) {
		TAILQ_REMOVE(&host->quotas, q, entry);
		free(q->name);
		free(q);
	}
	http_client_destroy(host->http);
	pace_destroy(host->pace);
	free(host);
}

void
plugin_host_set_clock(struct plugin_host *host, int64_t (*now_ms)(void))
{
	host->now_ms = now_ms;
}

struct http_client *
plugin_host_http(struct plugin_host *host)
{
	return host->http;
}

/* --- instances and sets --------------------------------------------------------------- */

static void load_error(char *err, size_t errlen, const struct config_sink *cs,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* err = "sinks.<name> (<where>): " + the formatted message. */
static void
load_error(char *err, size_t errlen, const struct config_sink *cs, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	if (cs->where != NULL)
		n = snprintf(err, errlen, "sinks.%s (%s): ", cs->name, cs->where);
	else
		n = snprintf(err, errlen, "sinks.%s: ", cs->name);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The file a plugin value names. Returns a new string or NULL. */
static char *
plugin_path(const char *plugin_dir, const char *plugin)
{
	size_t len;
	char *path;

	if (strchr(plugin, '/') != NULL || has_suffix(plugin, ".so"))
		return strdup(plugin);
	if (plugin_dir == NULL || *plugin_dir == '\0')
		plugin_dir = ".";
	len = strlen(plugin_dir) + strlen(plugin) + sizeof("/.so");
	path = malloc(len);
	if (path != NULL)
		snprintf(path, len, "%s/%s.so", plugin_dir, plugin);
	return path;
}

/* Load, check and initialize the plugin of cs into si (zeroed, lists initialized). */
static int
instance_open(struct sink_instance *si, const char *plugin_dir, const struct config_sink *cs,
    char *err, size_t errlen)
{
	const size_t need = offsetof(struct incidentd_sink, destroy) +
	    sizeof(((struct incidentd_sink *)0)->destroy);
	const struct incidentd_sink *desc;
	incidentd_sink_entry_fn entry;
	char *path = NULL, *config_json = NULL, perr[512];
	size_t len;
	void *sym;
	int rc;

	si->cfg = cs;
	len = strlen(cs->name) + sizeof("sink/");
	si->component = malloc(len);
	path = plugin_path(plugin_dir, cs->plugin);
	if (si->component == NULL || path == NULL) {
		load_error(err, errlen, cs, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	snprintf(si->component, len, "sink/%s", cs->name);

	dlerror();
	si->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (si->dl == NULL) {
		const char *why = dlerror();

		load_error(err, errlen, cs, "cannot load plugin '%s' from %s: %s", cs->plugin,
		    path, why != NULL ? why : "unknown error");
		rc = -ENOENT;
		goto out;
	}
	dlerror();
	sym = dlsym(si->dl, INCIDENTD_SINK_ENTRY_SYMBOL);
	if (sym == NULL) {
		load_error(err, errlen, cs, "%s does not export " INCIDENTD_SINK_ENTRY_SYMBOL
		    " (not an incidentd sink?)", path);
		rc = -ENOEXEC;
		goto out;
	}
	entry = (incidentd_sink_entry_fn)sym;
	desc = entry();
	if (desc == NULL) {
		load_error(err, errlen, cs, "%s returned no sink descriptor", path);
		rc = -ENOEXEC;
		goto out;
	}
	if (desc->abi_version != INCIDENTD_SINK_ABI_VERSION) {
		load_error(err, errlen, cs, "%s has sink ABI version %u; this incidentd supports %d",
		    path, (unsigned)desc->abi_version, INCIDENTD_SINK_ABI_VERSION);
		rc = -ENOEXEC;
		goto out;
	}
	if (desc->struct_size < need) {
		load_error(err, errlen, cs, "%s: descriptor too small (%u bytes, need %zu)", path,
		    (unsigned)desc->struct_size, need);
		rc = -ENOEXEC;
		goto out;
	}
	if (desc->init == NULL || desc->deliver == NULL || desc->destroy == NULL) {
		load_error(err, errlen, cs, "%s: descriptor lacks init, deliver or destroy",
		    path);
		rc = -ENOEXEC;
		goto out;
	}
	si->desc = desc;

	if (cs->options != NULL)
		config_json = json_dumps(cs->options, JSON_COMPACT);
	else
		config_json = strdup("{}");
	if (config_json == NULL) {
		load_error(err, errlen, cs, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	perr[0] = '\0';
	si->in_plugin++;
	rc = desc->init(&host_services, &si->self, config_json, &si->state, perr,
	    sizeof(perr));
	si->in_plugin--;
	if (rc != 0) {
		load_error(err, errlen, cs, "plugin '%s' init failed: %s", cs->plugin,
		    perr[0] != '\0' ? perr : strerror(rc < 0 ? -rc : rc));
		rc = rc < 0 ? rc : -EINVAL;
		goto out;
	}
	si->initialized = true;
	log_debug("plugin", "sinks.%s: loaded %s (%s)", cs->name, path,
	    desc->name != NULL ? desc->name : "?");
out:
	free(config_json);
	free(path);
	return rc;
}

/* Destroy the plugin instance and everything it left behind. */
static void
instance_close(struct sink_instance *si)
{
	struct incidentd_timer *t;
	struct host_xfer *x;
	struct plugin_call *c;
	size_t n;

	if (si->initialized) {
		si->in_plugin++;
		si->desc->destroy(si->state);
		si->in_plugin--;
		si->initialized = false;
	}
	for (n = 0; (t = TAILQ_FIRST(&si->timers)) != NULL; n++)
		host_timer_cancel(t);
	if (n > 0)
		log_warn(si->component, "%zu timer(s) left after destroy; cancelled", n);
	for (n = 0; (x = TAILQ_FIRST(&si->xfers)) != NULL; n++) {
		http_client_cancel(si->set->host->http, x->easy);
		TAILQ_REMOVE(&si->xfers, x, entry);
		free(x);
	}
	if (n > 0)
		log_warn(si->component, "%zu HTTP transfer(s) left after destroy; cancelled", n);
	/* Only when forced (plugin_host_destroy): completions are dropped. */
	while ((c = TAILQ_FIRST(&si->calls)) != NULL) {
		call_release_slots(c);
		call_unregister(c);
		event_del(&c->ev);
		TAILQ_REMOVE(&si->calls, c, entry);
		si->set->inflight--;
		call_free(c);
	}
	if (si->dl != NULL)
		dlclose(si->dl);
	si->dl = NULL;
	free(si->component);
	si->component = NULL;
}

static void
set_destroy_now(struct sink_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		instance_close(&set->inst[i]);
	if (set->reap != NULL)
		event_free(set->reap);
	free(set->inst);
	free(set);
}

static void
set_on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct sink_set *set = arg;

	(void)fd;
	(void)what;
	if (set->inflight > 0)
		return;
	TAILQ_REMOVE(&set->host->dying, set, entry);
	set_destroy_now(set);
}

int
sink_set_load(struct plugin_host *host, const char *plugin_dir, const struct config *cfg,
    struct sink_set **out, char *err, size_t errlen)
{
	struct sink_set *set;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	set = calloc(1, sizeof(*set));
	if (set == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	set->host = host;
	for (size_t i = 0; i < cfg->n_sinks; i++)
		n += cfg->sinks[i].enabled ? 1 : 0;
	set->inst = calloc(n > 0 ? n : 1, sizeof(*set->inst));
	set->reap = evtimer_new(host->base, set_on_reap, set);
	if (set->inst == NULL || set->reap == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		const struct config_sink *cs = &cfg->sinks[i];
		struct sink_instance *si;

		if (!cs->enabled)
			continue;
		si = &set->inst[set->n++];
		si->self.si = si;
		si->set = set;
		TAILQ_INIT(&si->calls);
		TAILQ_INIT(&si->timers);
		TAILQ_INIT(&si->xfers);
		rc = instance_open(si, plugin_dir, cs, err, errlen);
		if (rc != 0)
			goto out;
	}
	*out = set;
	set = NULL;
out:
	if (rc == -ENOMEM && err != NULL && errlen > 0 && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	set_destroy_now(set);
	return rc;
}

struct sink_instance *
sink_set_find(struct sink_set *set, const char *name)
{
	if (set == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < set->n; i++) {
		if (strcmp(set->inst[i].cfg->name, name) == 0)
			return &set->inst[i];
	}
	return NULL;
}

const struct config_sink *
sink_instance_config(const struct sink_instance *si)
{
	return si->cfg;
}

bool
sink_instance_can_recover(const struct sink_instance *si)
{
	return si != NULL && INCIDENTD_SINK_HAS(si->desc, recover) && si->desc->recover != NULL;
}

/* Start one call of deliver() or recover(). */
static int
instance_call(struct sink_instance *si, const struct incidentd_delivery *d,
    sink_complete_fn cb, void *arg, bool recover)
{
	struct plugin_call *c = NULL;
	int rc;

	if (si == NULL || d == NULL || cb == NULL) {
		rc = -EINVAL;
		goto out;
	}
	if (si->set->dying) {
		rc = -ESHUTDOWN;
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	c->id = ++call_seq;
	c->si = si;
	c->cb = cb;
	c->arg = arg;
	c->delivery = d->id;
	evtimer_assign(&c->ev, si->set->host->base, call_on_deferred, c);
	call_register(c);
	TAILQ_INSERT_TAIL(&si->calls, c, entry);
	si->set->inflight++;

	si->in_plugin++;
	if (recover)
		rc = si->desc->recover(si->state, d, host_done, call_handle(c));
	else
		rc = si->desc->deliver(si->state, d, host_done, call_handle(c));
	si->in_plugin--;
	if (rc < 0) {
		if (c->completed)
			log_warn(si->component, "done() called although deliver() failed; "
			    "ignored");
		call_detach(c);
		goto out;
	}
	c = NULL;
	rc = 0;
out:
	call_free(c);
	return rc;
}

int
sink_instance_deliver(struct sink_instance *si, const struct incidentd_delivery *d,
    sink_complete_fn cb, void *arg)
{
	return instance_call(si, d, cb, arg, false);
}

int
sink_instance_recover(struct sink_instance *si, const struct incidentd_delivery *d,
    sink_complete_fn cb, void *arg)
{
	if (!sink_instance_can_recover(si))
		return -ENOTSUP;
	return instance_call(si, d, cb, arg, true);
}

void
sink_set_note_handler(struct sink_set *set, sink_note_fn fn)
{
	if (set != NULL)
		set->note_fn = fn;
}

size_t
sink_set_inflight(const struct sink_set *set)
{
	return set != NULL ? set->inflight : 0;
}

void
sink_set_flush(struct sink_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		struct sink_instance *si = &set->inst[i];

		if (si->desc->flush == NULL)
			continue;
		si->in_plugin++;
		si->desc->flush(si->state);
		si->in_plugin--;
	}
}

void
sink_set_destroy(struct sink_set *set)
{
	struct timeval zero = { 0, 0 };

	if (set == NULL || set->dying)
		return;
	if (set->inflight == 0 && set->host->depth == 0) {
		set_destroy_now(set);
		return;
	}
	set->dying = true;
	TAILQ_INSERT_TAIL(&set->host->dying, set, entry);
	if (set->inflight > 0)
		log_info("plugin", "retiring sink set with %zu deliveries in flight",
		    set->inflight);
	else    /* a plugin is on the stack: not under its feet */
		event_add(set->reap, &zero);
}
