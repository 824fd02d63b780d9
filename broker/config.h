/* config.h - conf.d loading: every *.yaml of a directory, merged in lexical order, with
 * ${NAME} environment references, validated against the schema below. Unknown keys and
 * type errors are rejected with file:line and the key's path.
 *
 * Merge rule: mappings merge key by key; at the top level `routes` lists are concatenated
 * in file order; for any other key a later file replaces the earlier value.
 *
 * Environment references inside string scalars: ${NAME} (unset is an error), ${NAME:-word}
 * (word when unset or empty), ${NAME:+word} (word when set and non-empty, else ""),
 * $$ for a literal $.
 */
#ifndef INCIDENTD_CONFIG_H
#define INCIDENTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define CONFIG_NANOMSG_PULL_NAME "events.ipc"   /* default ipc:// path of the PULL socket */

enum auth_kind { AUTH_UNSET = 0, AUTH_NONE, AUTH_BEARER, AUTH_BASIC, AUTH_HMAC };

struct config_auth {
	enum auth_kind kind;
	char *token;           /* bearer */
	char *username;        /* basic */
	char *password;        /* basic */
	char *hmac_key;        /* hmac */
};

/* The sink name of incidentd's own steps (command.h); no configured sink may take it. */
#define CONFIG_RESERVED_SINK "incidentd"

/* sources.github.reconcile's default. */
#define CONFIG_RECONCILE_DEFAULT_MS (10 * 60 * 1000LL)

struct config_source {
	char *name;            /* "argocd" */
	bool enabled;          /* default true */
	struct config_auth auth;
	/* github only: how often the issues of firing incidents are read back from GitHub
	 * (broker/reconcile.c), 0 = never */
	int64_t reconcile_ms;
	/* nanomsg only: */
	char *pull;            /* PULL socket address; default "ipc://events.ipc", a relative
	                          ipc:// path that main resolves in the runtime directory */
	char *format;          /* normalizer of each message: argocd, alertmanager, flux,
	                          cloudevents or event (default "event") */
	/* slack only: the app's signing secret (required when enabled; a secret) */
	char *signing_secret;
};

struct config_sink {
	char *name;            /* instance name, the key under sinks: */
	char *plugin;          /* plugin name or path to a .so */
	char *after;           /* sink instance this one chains after, or NULL */
	bool enabled;          /* default true */
	int64_t retry_initial_ms;   /* default 1s */
	int64_t retry_max_ms;       /* default 10m */
	int64_t give_up_after_ms;   /* default 24h; 0 = never */
	json_t *options;       /* plugin's own keys as a JSON object (owned) */
	char *where;           /* "file:line" of the sink's definition */
	/* trigger: label: the sink is never in a route; it runs when a person adds
	 * trigger_label to an incident's GitHub issue (broker/ghfeedback.c) */
	bool on_label;
	char *trigger_label;   /* default "cluster-doctor" */
	char **allowed_actors; /* logins that need no permission check (NULL-terminated) */
	size_t n_allowed_actors;
};

struct matcher;
struct time_interval;

/* A route; children inherit sinks and group_by unless they set their own. */
struct config_route {
	char *name;
	char **sinks;          /* sink instance names (own or inherited copies) */
	size_t n_sinks;
	char **group_by;       /* event field names forming the incident key; NULL = default */
	size_t n_group_by;
	struct matcher *matchers;   /* all must hold; none = every event */
	size_t n_matchers;
	bool cont;             /* continue: after a match, try the next sibling too */
	bool fallback;         /* fallback: (top level only) tried, in order, only when no
	                        * other route took the event */
	int64_t for_ms;        /* for: notify only if still firing after this long (0 = at once) */
	int64_t repeat_ms;     /* repeat_interval: at most one update per sink this often
	                        * (0 = every update) */
	int64_t flap_ms;       /* flap_window: firing again this soon after resolving is held
	                        * down (0 = off) */
	int64_t storm_max;     /* max_new_incidents: N per storm_window_ms (0 = no guard) */
	int64_t storm_window_ms;
	struct config_route *routes;   /* nested routes, tried in order */
	size_t n_routes;
	const struct time_interval **mute;    /* muted while any of these holds (borrowed) */
	size_t n_mute;
	const struct time_interval **active;  /* muted unless one of these holds (borrowed) */
	size_t n_active;
	char *where;
};

/* An inhibit rule (Alertmanager's inhibit_rules): while a firing incident matches the
 * source matchers, notifications of incidents matching the target matchers with the same
 * values of every `equal` field are held back. */
struct config_inhibit {
	struct matcher *source;     /* all must hold; none = every incident */
	size_t n_source;
	struct matcher *target;
	size_t n_target;
	char **equal;               /* event field names (cluster, labels.X, ...) */
	size_t n_equal;
	char *id;                   /* identifies the rule in the ledger across reloads: its
	                             * matchers and equal fields as written */
	char *where;                /* "file:line" */
};

struct config {
	/* server: */
	char *listen;               /* "127.0.0.1:9740" */
	struct config_auth api_auth;     /* read API (/v1/incidents, /v1/events, /v1/deliveries)
	                                  * and POST /-/reload: bearer, basic or none */
	struct config_auth metrics_auth; /* GET /metrics; AUTH_UNSET = as api_auth */
	char **allowed_hosts;       /* Host header values served (NULL-terminated); NULL = any
	                             * on a non-loopback listener, IP literals and localhost
	                             * on a loopback one */
	size_t n_allowed_hosts;
	char **allowed_origins;     /* Origin header values accepted; none by default */
	size_t n_allowed_origins;
	bool publish_allow_remote;  /* server.publish may bind a non-local tcp:// or ws:// */
	char *tls_cert;             /* server.tls.cert: PEM certificate chain, or NULL = plain */
	char *tls_key;              /* server.tls.key: PEM private key */
	char *tls_client_ca;        /* server.tls.client_ca: PEM CAs clients must present a
	                             * certificate from, or NULL */
	uint64_t max_body_bytes;    /* 1 MiB */
	int64_t request_timeout_ms; /* 30s */
	char *publish;              /* nanomsg PUB address of the live tail; NULL = none */
	int64_t max_connections;    /* 1024: open client connections; more are refused */
	/* ledger: */
	char *db_path;              /* "incidentd.db": relative paths are in the state directory,
	                             * resolved by main (paths_resolve_config) */
	char *db_url;               /* ledger.url: a PostgreSQL database (libpq URI or keyword/
	                             * value string; may hold a password: never log it as is);
	                             * NULL = the SQLite file db_path */
	int64_t lease_ms;           /* ledger.lease, 30s: how long a replica's claim on a running
	                             * delivery lasts without renewal (PostgreSQL) */
	int64_t dedup_window_ms;    /* 10m: same payload from the same source is a duplicate */
	int64_t retention_ms;       /* ledger.retention: rows older than this are pruned;
	                             * 0 = off (the default: keep everything) */
	/* log: */
	char *log_format;           /* "text" | "json" */
	char *log_level;            /* "info" */

	struct config_source *sources;
	size_t n_sources;
	struct config_sink *sinks;
	size_t n_sinks;
	struct config_route *routes;
	size_t n_routes;
	struct time_interval *intervals;   /* time_intervals: named maintenance windows etc. */
	size_t n_intervals;
	struct config_inhibit *inhibits;   /* inhibit_rules, in order */
	size_t n_inhibits;
	/* clusters: the identity registry, name -> {"api_server", "uid"?, "ca_sha256"?,
	 * "probe"? (argv), "probe_timeout"? ("<n>ms"), "trust_event_claims"? (true)} (owned;
	 * an empty object when none is configured). Also handed to every copilot_runner sink
	 * as its "clusters" option unless it sets one itself. */
	json_t *clusters;
	/* The conf.d directory this was loaded from (owned), NULL for a string. Added to
	 * every copilot_runner sink's "protect" list: its sandbox never shows it. */
	char *dir;

	json_t *root;               /* the merged document after env expansion (owned) */
	json_t *where;              /* object: "a.b.c" path -> "file:line" (owned) */
};

/* Load and validate every *.yaml file of dir in lexical order.
 * Returns 0 and *out, or a negative errno with "file:line: path: what" in err. */
int config_load_dir(const char *dir, struct config **out, char *err, size_t errlen);

/* Load one YAML document from memory (name is used in messages, e.g. "<embedded>").
 * Same validation as config_load_dir. */
int config_load_string(const char *yaml, const char *name, struct config **out, char *err,
    size_t errlen);

/* Free a config. NULL is a no-op. */
void config_destroy(struct config *cfg);

/* "file:line" where the value at path ("sinks.github.repo") was defined, or NULL.
 * Borrowed; valid while cfg lives. */
const char *config_where(const struct config *cfg, const char *path);

/* Find a route by name anywhere in the tree; NULL if absent. Borrowed. */
const struct config_route *config_find_route(const struct config *cfg, const char *name);

/* Find a sink / source by name; NULL if absent. Borrowed. */
const struct config_sink *config_find_sink(const struct config *cfg, const char *name);
const struct config_source *config_find_source(const struct config *cfg, const char *name);

/* Whether a sink's plugin value (a name or a path to a .so) names the plugin name
 * ("github_issue": github_issue, github_issue.so, /x/github_issue.so). */
bool config_plugin_is(const char *plugin, const char *name);

/* Refuse to serve anything open by accident. When cfg->listen is not a loopback address
 * (127.0.0.0/8, ::1, localhost), every enabled HTTP source must configure auth (bearer,
 * basic, hmac) or say `auth: none` explicitly, and so must server.api_auth (the read API
 * and reload; /metrics follows it unless server.metrics_auth is set). The nanomsg source
 * has no authentication: when its pull address is tcp:// or ws:// on anything but
 * loopback it must say `auth: none`; server.publish on such an address needs
 * server.publish_allow_remote: true. Returns 0, or -EINVAL naming what to set in err (with
 * its file:line when known). Does not call back. */
int config_check_exposure(const struct config *cfg, char *err, size_t errlen);

/* True when listen ("HOST:PORT", "[v6]:PORT") names a loopback host: 127.0.0.0/8, ::1
 * or localhost. An empty host (":9740", every address) is not loopback. */
bool config_listen_is_loopback(const char *listen);

/* The auth of GET /metrics: server.metrics_auth, or server.api_auth when unset.
 * Borrowed. */
const struct config_auth *config_metrics_auth(const struct config *cfg);

/* The embedded default configuration (conf.d/00-defaults.yaml compiled in). */
extern const char config_embedded_defaults[];

#endif
