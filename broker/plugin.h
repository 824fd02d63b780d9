/* plugin.h - sink plugins: loading the shared objects of one configuration generation,
 * the services the broker offers them (struct incidentd_host: logging, timers, the shared
 * curl multi, the clock), and the completion bookkeeping of their deliveries.
 *
 * Everything runs on the event-loop thread of the host's base.
 */
#ifndef INCIDENTD_PLUGIN_H
#define INCIDENTD_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "config.h"
#include "incidentd/sink.h"

struct http_client;

/* Services shared by every sink instance: event base, http_client, clock. */
struct plugin_host;
/* The sink instances of one configuration generation. */
struct sink_set;
/* One loaded, initialized sink (a config_sink with enabled: true). */
struct sink_instance;

/* What several replicas (a PostgreSQL ledger) share through the ledger, in place of the
 * host's own in-memory state. Called on the loop thread; none may call back.
 * Pacing lanes, used before the host's in-memory lanes: reserve() books a slot as
 * pace_reserve() does and returns 0, or a negative errno (then the in-memory lanes pace
 * this process alone); hold() as pace_hold().
 * Quotas and slots (host->quota_take, slot_take, slot_release): as store_quota_take(),
 * store_slot_take() and store_slot_release(); a negative errno is handed to the plugin. */
struct plugin_shared {
	int (*reserve)(void *arg, const char *lane, int64_t now, uint64_t gap_ms,
	    uint64_t *wait_ms);
	int (*hold)(void *arg, const char *lane, int64_t until);
	int (*quota_take)(void *arg, const char *name, int64_t period_ms, int64_t limit);
	int (*slot_take)(void *arg, const char *name, int64_t delivery_id, int64_t max);
	int (*slot_release)(void *arg, const char *name, int64_t delivery_id);
	void *arg;
};

/* Share pacing, quotas and slots through shared (borrowed: it must outlive host; NULL:
 * back to the host's in-memory state). Set it before the first delivery. */
void plugin_host_share(struct plugin_host *host, const struct plugin_shared *shared);

/* Create the host on base (borrowed; must outlive the host). Returns 0 and *out (owned by
 * the caller), or a negative errno. curl_global_init() must have been called. */
int plugin_host_new(struct event_base *base, struct plugin_host **out);

/* Free the host. Sets already passed to sink_set_destroy() but still waiting for calls in
 * flight are destroyed now: their plugins' destroy() runs and their pending completions
 * are dropped without calling back. Destroy every other set before. NULL is a no-op. */
void plugin_host_destroy(struct plugin_host *host);

/* Replace the clock plugins see through now_ms() (tests); NULL restores util_now_ms. */
void plugin_host_set_clock(struct plugin_host *host, int64_t (*now_ms)(void));

/* The host's shared HTTP client. Borrowed; valid while the host lives. */
struct http_client *plugin_host_http(struct plugin_host *host);

/* Load and initialize every enabled sink of cfg. A plugin value containing '/' or ending
 * in ".so" is a path, anything else names "<plugin_dir>/<plugin>.so". cfg is borrowed and
 * must outlive the set (sink_instance_config() points into it).
 * Returns 0 and *out (owned; free with sink_set_destroy()), or a negative errno with a
 * message prefixed "sinks.<name> (<file:line>): " in err; nothing stays loaded then.
 * Calls the plugins' init(); does not call back. */
int sink_set_load(struct plugin_host *host, const char *plugin_dir,
    const struct config *cfg, struct sink_set **out, char *err, size_t errlen);

/* The loaded instance named name, or NULL (absent or disabled). Borrowed; valid until
 * the set is destroyed. NULL set is allowed. */
struct sink_instance *sink_set_find(struct sink_set *set, const char *name);

/* The instance's configuration. Borrowed from the struct config of sink_set_load(). */
const struct config_sink *sink_instance_config(const struct sink_instance *si);

/* Completion of one delivery: res, retry_after_ms (RETRY only; 0 = core back-off),
 * detail and result_json (borrowed for the duration of the call; may be NULL). */
typedef void (*sink_complete_fn)(void *arg, enum incidentd_result res,
    uint64_t retry_after_ms, const char *detail, const char *result_json);

/* Start one delivery on si. d and the strings it points to are borrowed and must stay
 * valid until cb has been called. Returns 0 when cb will be called exactly once, later,
 * from the event loop (never from inside this function), or a negative errno when the
 * plugin could not start (-ESHUTDOWN if the set is being destroyed); cb is then never
 * called. cb may start further deliveries or destroy the set. */
int sink_instance_deliver(struct sink_instance *si, const struct incidentd_delivery *d,
    sink_complete_fn cb, void *arg);

/* Whether si's plugin has recover() (sink ABI growth; INCIDENTD_SINK_HAS). */
bool sink_instance_can_recover(const struct sink_instance *si);

/* Like sink_instance_deliver(), but through the plugin's recover(): d is a delivery a
 * previous process left running, d->note_json its last note. Returns -ENOTSUP when the
 * plugin has no recover(); otherwise as sink_instance_deliver(). */
int sink_instance_recover(struct sink_instance *si, const struct incidentd_delivery *d,
    sink_complete_fn cb, void *arg);

/* Handler of the plugins' host->note(): arg is the arg the call was started with
 * (sink_instance_deliver/recover), note_json a JSON object of at most 4096 bytes (already
 * checked), borrowed. Returns 0 or a negative errno; must not call back. */
typedef int (*sink_note_fn)(void *arg, const char *note_json);

/* Route the host->note() of the set's plugins to fn (NULL: note() answers -ENOTSUP). */
void sink_set_note_handler(struct sink_set *set, sink_note_fn fn);

/* Deliveries started on the set whose cb has not run yet. NULL set gives 0. */
size_t sink_set_inflight(const struct sink_set *set);

/* Ask every instance to finish quickly (the plugins' optional flush(); the broker is
 * draining). Completions reported during flush reach their cb on the next loop pass. */
void sink_set_flush(struct sink_set *set);

/* Destroy the set: the plugins' destroy() and dlclose(). If deliveries are in flight, or
 * when called from a completion cb (a plugin is then still on the stack), the set is only
 * marked: new deliveries are refused, and it is really destroyed on the loop pass after
 * its last completion (or by plugin_host_destroy()). Completions still reach their cb.
 * NULL is a no-op. Does not call back. */
void sink_set_destroy(struct sink_set *set);

#endif
