/* incidentd/sink.h - the sink plugin ABI of incidentd.
 *
 * A sink is a shared object exporting one function, INCIDENTD_SINK_ENTRY_SYMBOL
 * ("incidentd_sink_entry"), that returns a pointer to a static, versioned descriptor.
 * The broker keeps that pointer and never reads past the descriptor's struct_size, so the
 * descriptor can grow at its end without breaking plugins built against an older header;
 * likewise a plugin must check host->struct_size (INCIDENTD_HOST_HAS) before calling a
 * host service added after the ABI version it was built for.
 *
 * Threading: everything happens on the broker's event-loop thread. Callbacks must not
 * block: start work with the host's services (shared curl multi, timers) and report
 * completion later through the done callback.
 *
 * Build a plugin out of tree with: cc -shared -fPIC -fvisibility=hidden
 *   $(pkg-config --cflags --libs incidentd-sink) my_sink.c -o my_sink.so
 */
#ifndef INCIDENTD_SINK_H
#define INCIDENTD_SINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INCIDENTD_SINK_ABI_VERSION 1
#define INCIDENTD_SINK_ENTRY_SYMBOL "incidentd_sink_entry"

#if defined(__GNUC__)
#define INCIDENTD_SINK_EXPORT __attribute__((visibility("default")))
#else
#define INCIDENTD_SINK_EXPORT
#endif

/* Opaque handle naming one configured sink instance (e.g. "github"). */
struct incidentd_instance;
/* Opaque handle of one delivery in flight; passed back to done(). */
struct incidentd_call;
/* Opaque timer handle. */
struct incidentd_timer;

enum incidentd_log_level {
	INCIDENTD_LOG_DEBUG = 0,
	INCIDENTD_LOG_INFO = 1,
	INCIDENTD_LOG_WARN = 2,
	INCIDENTD_LOG_ERROR = 3,
};

enum incidentd_result {
	INCIDENTD_OK = 0,     /* done; result_json (if any) is stored on the incident */
	INCIDENTD_RETRY = 1,  /* try again; after retry_after_ms if > 0, else core back-off */
	INCIDENTD_FAIL = 2,   /* permanent failure; detail is kept in the ledger, and
	                       * result_json (if any) is stored like with OK */
};

/* What one delivery asks the sink to do. All pointers are borrowed and valid until done()
 * has been called. JSON members are UTF-8 text; parse them with any JSON library. */
struct incidentd_delivery {
	uint32_t struct_size;        /* sizeof as known by the broker */
	int64_t id;                  /* delivery id in the ledger */
	const char *action;          /* "open", "update" or "resolve" */
	int attempt;                 /* 1 for the first try */
	const char *incident_id;
	const char *incident_key;
	/* The incident: id, key, state, route, title, times, event_count, and "refs": results
	 * that sinks stored before (e.g. {"github": {"issue": 42, "url": "..."}}). */
	const char *incident_json;
	/* The event that caused this delivery, in the ledger's event shape (DESIGN.md §4),
	 * including "payload". */
	const char *event_json;
	/* Added later in ABI v1 (check INCIDENTD_DELIVERY_HAS): the event's id, status
	 * ("firing", "resolved", "info") and summary, so a sink that needs no more does not
	 * have to parse event_json. May be NULL. */
	const char *event_id;
	const char *event_status;
	const char *event_summary;
	/* Added later in ABI v1 (check INCIDENTD_DELIVERY_HAS): the last note the sink
	 * recorded on this delivery with host->note() during an earlier attempt (a JSON object
	 * as text), or NULL. recover() gets the note of the attempt that was interrupted. */
	const char *note_json;
};

#define INCIDENTD_DELIVERY_HAS(d, member) \
	((d)->struct_size >= offsetof(struct incidentd_delivery, member) + sizeof((d)->member))

/* Completion. Call exactly once per deliver(), from the event loop, never from inside
 * deliver() itself (the broker detects that and defers it, but do not rely on it).
 * detail: a short human-readable outcome ("created issue #42"), copied, may be NULL.
 * result_json: a JSON object merged into the incident's refs under the sink's name (and
 * kept on the delivery), copied, may be NULL; used with OK and FAIL, ignored with RETRY. */
typedef void (*incidentd_done_fn)(struct incidentd_call *call, enum incidentd_result res,
    uint64_t retry_after_ms, const char *detail, const char *result_json);

typedef void (*incidentd_timer_fn)(void *arg);

/* Called when an HTTP transfer added with http_start() finishes. curl_code is the
 * CURLcode; the easy handle is already removed from the multi handle and is again owned
 * by the plugin (clean it up or reuse it). */
typedef void (*incidentd_http_done_fn)(void *easy, int curl_code, void *arg);

/* Services the broker offers to plugins. Pointers stay valid until destroy() returns. */
struct incidentd_host {
	uint32_t abi_version;
	uint32_t struct_size;
	/* Log one line tagged with the instance name ("sink/github"). Never pass secrets. */
	void (*log)(struct incidentd_instance *self, enum incidentd_log_level level,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
	/* Name of the instance as configured. Borrowed. */
	const char *(*instance_name)(struct incidentd_instance *self);
	/* The broker's libevent base (struct event_base *), for plugins that need more than
	 * timers. */
	void *(*event_base)(struct incidentd_instance *self);
	/* One-shot timer after ms; returns NULL on failure. The handle is freed after fn
	 * runs or by timer_cancel(). */
	struct incidentd_timer *(*timer_start)(struct incidentd_instance *self, uint64_t ms,
	    incidentd_timer_fn fn, void *arg);
	void (*timer_cancel)(struct incidentd_timer *t);
	/* Add a configured CURL easy handle (void * to keep curl out of this header) to the
	 * broker's shared multi handle, driven by libevent; connections are reused across
	 * transfers. fn is called once, later, from the loop. Returns 0 or a negative errno.
	 * Do not set CURLOPT_PRIVATE: the broker uses it. */
	int (*http_start)(struct incidentd_instance *self, void *easy,
	    incidentd_http_done_fn fn, void *arg);
	/* Remove a transfer before it finished (fn is not called). */
	void (*http_cancel)(struct incidentd_instance *self, void *easy);
	/* ms since the epoch (the broker's clock, which tests may control). */
	int64_t (*now_ms)(struct incidentd_instance *self);
	/* Pacing lanes shared by every sink instance of the broker, e.g. one per API token
	 * ("github:<hash of token>"; never the secret itself). Returns how many ms the caller
	 * must wait before starting its action (0 = now) and books the lane so that the next
	 * caller starts at least min_gap_ms later. lane is copied. */
	uint64_t (*pace_reserve)(struct incidentd_instance *self, const char *lane,
	    uint64_t min_gap_ms);
	/* Nobody on lane starts before until_ms (ms since the epoch), e.g. a rate limit's
	 * reset time. Earlier holds than the current one are ignored. */
	void (*pace_hold)(struct incidentd_instance *self, const char *lane, int64_t until_ms);
	/* Added later in ABI v1 (check INCIDENTD_HOST_HAS(host, note)). Record note_json (a
	 * JSON object, at most 4096 bytes; copied) on the delivery of call, which must be in
	 * flight: it is written to the ledger at once (deliveries.note), so it survives a crash
	 * of the daemon, and is handed back as d->note_json to a later attempt and to
	 * recover(). A later note replaces the earlier one. Use it for what a restarted daemon
	 * must know, e.g. the pid of a child process; never for secrets. Returns 0, -EINVAL
	 * (not a JSON object, or too large), -ENOENT (call is not in flight), -ENOTSUP or -EIO
	 * (ledger). Does not call back. */
	int (*note)(struct incidentd_instance *self, struct incidentd_call *call,
	    const char *note_json);
	/* Added later in ABI v1 (check INCIDENTD_HOST_HAS(host, quota_take)). Take one unit of
	 * the counter name (copied; prefix it with the instance name) in the period that
	 * starts at period_ms (ms since the epoch, e.g. the UTC day's start) if fewer than
	 * limit were taken in it. With replicas on a PostgreSQL ledger the counter is shared
	 * by all of them (a row in the ledger), else it lives in this process. Returns 1
	 * (taken), 0 (none left) or a negative errno (the ledger is unavailable: nothing was
	 * taken; try again later). Does not call back. */
	int (*quota_take)(struct incidentd_instance *self, const char *name, int64_t period_ms,
	    int64_t limit);
	/* Added later in ABI v1 (check INCIDENTD_HOST_HAS(host, slot_take)). A slot of name
	 * (copied) for the delivery of call, which must be in flight, if fewer than max
	 * running deliveries hold one (taking it again is no new slot). Shared by replicas
	 * like quota_take(). A slot counts only while its delivery is in state running and
	 * is released when the call completes, so a dead replica's slots free themselves
	 * when its deliveries are taken over or finish. Returns 1 (held), 0 (none free),
	 * -ENOENT (call is not in flight) or another negative errno (ledger). Does not call
	 * back. */
	int (*slot_take)(struct incidentd_instance *self, struct incidentd_call *call,
	    const char *name, int64_t max);
	/* Give back the slot of name held by call's delivery; nothing if none is held or the
	 * call already completed (done() releases it). Does not call back. */
	void (*slot_release)(struct incidentd_instance *self, struct incidentd_call *call,
	    const char *name);
};

#define INCIDENTD_HOST_HAS(host, member) \
	((host)->struct_size >= offsetof(struct incidentd_host, member) + sizeof((host)->member))

/* The descriptor. Fill abi_version and struct_size with the macros of this header. */
struct incidentd_sink {
	uint32_t abi_version;        /* INCIDENTD_SINK_ABI_VERSION */
	uint32_t struct_size;        /* sizeof(struct incidentd_sink) */
	const char *name;            /* plugin name, e.g. "github_issue" */
	const char *description;     /* one line */
	/* Create an instance from its configuration: a JSON object of the sink's keys without
	 * the broker's common keys (plugin, after, enabled, retry). Reject unknown keys.
	 * Returns 0 and *state, or a negative errno with a message naming the key in err.
	 * May not call back. */
	int (*init)(const struct incidentd_host *host, struct incidentd_instance *self,
	    const char *config_json, void **state, char *err, size_t errlen);
	/* Start one delivery. Returns 0 when done() will be called later, or a negative errno
	 * when it could not start (then done() must not be called; the broker retries). */
	int (*deliver)(void *state, const struct incidentd_delivery *d, incidentd_done_fn done,
	    struct incidentd_call *call);
	/* Optional: the broker is draining (SIGTERM); finish or abandon work quickly. Every
	 * pending done() must still be called exactly once. May be NULL. */
	void (*flush)(void *state);
	/* Free the instance. Called after every done() has been called. */
	void (*destroy)(void *state);
	/* Added later in ABI v1 (the broker checks INCIDENTD_SINK_HAS). Optional: at start-up,
	 * called instead of deliver() for each delivery a previous incidentd process left
	 * running (handed to this sink and never completed: a crash, SIGKILL, a power loss),
	 * with d->note_json the last note recorded during that attempt (or NULL). The sink
	 * decides what an interrupted delivery becomes (e.g. end a leftover child, then FAIL
	 * "interrupted", or RETRY); the same contract as deliver(). NULL: such deliveries are
	 * simply made again (deliver()). */
	int (*recover)(void *state, const struct incidentd_delivery *d, incidentd_done_fn done,
	    struct incidentd_call *call);
};

#define INCIDENTD_SINK_HAS(desc, member) \
	((desc)->struct_size >= offsetof(struct incidentd_sink, member) + sizeof((desc)->member))

/* The entry point every plugin exports (use INCIDENTD_SINK_EXPORT on it). */
typedef const struct incidentd_sink *(*incidentd_sink_entry_fn)(void);

/* Its prototype, declared here so a plugin's definition needs nothing else. Returns a
 * pointer to a static descriptor; never NULL; may be called more than once. */
INCIDENTD_SINK_EXPORT const struct incidentd_sink *incidentd_sink_entry(void);

#ifdef __cplusplus
}
#endif

#endif
