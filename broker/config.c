/* config.c - conf.d: load every *.yaml in lexical order, merge, validate (config.h). */
#include "config.h"
#include "matcher.h"
#include "timeinterval.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

#include "log.h"
#include "util.h"
#include "yaml_json.h"

#define CONFIG_MAX_FILE (4u << 20)

/* Validation context: the merged document and where its values came from. */
struct vctx {
	struct config *cfg;
	char *err;
	size_t errlen;
};

static const char *
where_of(const struct vctx *v, const char *path)
{
	const char *w = config_where(v->cfg, path);

	return w ? w : "<config>";
}

static int
verr(struct vctx *v, const char *path, const char *fmt, const char *arg)
{
	char what[512];

	snprintf(what, sizeof(what), fmt, arg);
	snprintf(v->err, v->errlen, "%s: %s: %s", where_of(v, path), path, what);
	return -EINVAL;
}

/* Reject members of obj not listed in allowed (NULL-terminated). */
static int
check_keys(struct vctx *v, const json_t *obj, const char *path, const char *const *allowed)
{
	const char *k;
	json_t *val;
	char child[512], list[512];

	json_object_foreach((json_t *)obj, k, val) {
		bool ok = false;

		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(k, allowed[i]) == 0)
				ok = true;
		if (ok)
			continue;
		list[0] = '\0';
		for (size_t i = 0; allowed[i]; i++) {
			size_t n = strlen(list);

			snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", allowed[i]);
		}
		snprintf(child, sizeof(child), "%s%s%s", path, path[0] ? "." : "", k);
		snprintf(v->err, v->errlen, "%s: %s: unknown key '%s' (expected one of: %s)",
		    where_of(v, child), path[0] ? path : "(top)", k, list);
		return -EINVAL;
	}
	return 0;
}

static int
get_string(struct vctx *v, const json_t *obj, const char *key, const char *path,
    const char *def, char **out)
{
	json_t *x = json_object_get(obj, key);
	char full[512];

	snprintf(full, sizeof(full), "%s.%s", path, key);
	if (x == NULL || json_is_null(x)) {
		*out = util_strdup0(def);
		return (def && !*out) ? -ENOMEM : 0;
	}
	if (!json_is_string(x))
		return verr(v, full, "%s", "expected a string");
	*out = strdup(json_string_value(x));
	return *out ? 0 : -ENOMEM;
}

static int
get_bool(struct vctx *v, const json_t *obj, const char *key, const char *path, bool def,
    bool *out)
{
	json_t *x = json_object_get(obj, key);
	char full[512];

	snprintf(full, sizeof(full), "%s.%s", path, key);
	if (x == NULL) {
		*out = def;
		return 0;
	}
	if (json_is_null(x) || (json_is_string(x) && json_string_length(x) == 0)) {
		*out = false;    /* e.g. enabled: ${SECRET:+true} with the secret unset */
		return 0;
	}
	/* "true"/"false" as strings too: a quoted "${VAR:+true}" (needed inside { } flow
	 * mappings, where braces end a plain scalar) is a string */
	if (json_is_string(x) && strcasecmp(json_string_value(x), "true") == 0) {
		*out = true;
		return 0;
	}
	if (json_is_string(x) && strcasecmp(json_string_value(x), "false") == 0) {
		*out = false;
		return 0;
	}
	if (!json_is_boolean(x))
		return verr(v, full, "%s", "expected true or false");
	*out = json_is_true(x);
	return 0;
}

static int
get_duration(struct vctx *v, const json_t *obj, const char *key, const char *path,
    int64_t def, int64_t *out)
{
	json_t *x = json_object_get(obj, key);
	char full[512];

	snprintf(full, sizeof(full), "%s.%s", path, key);
	if (x == NULL || json_is_null(x)) {
		*out = def;
		return 0;
	}
	if (!json_is_string(x) || util_parse_duration(json_string_value(x), out) != 0)
		return verr(v, full, "%s", "expected a duration like 30s, 10m or 24h");
	return 0;
}

static int
get_size(struct vctx *v, const json_t *obj, const char *key, const char *path,
    uint64_t def, uint64_t *out)
{
	json_t *x = json_object_get(obj, key);
	char full[512];

	snprintf(full, sizeof(full), "%s.%s", path, key);
	if (x == NULL || json_is_null(x)) {
		*out = def;
		return 0;
	}
	if (json_is_integer(x) && json_integer_value(x) > 0) {
		*out = (uint64_t)json_integer_value(x);
		return 0;
	}
	if (!json_is_string(x) || util_parse_size(json_string_value(x), out) != 0 || *out == 0)
		return verr(v, full, "%s", "expected a size like 1MiB or 65536");
	return 0;
}

/* A whole number from lo to hi (YAML `20`, or a quoted "20" from an ${ENV} reference). */
static int
get_count(struct vctx *v, const json_t *obj, const char *key, const char *path,
    int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
	json_t *x = json_object_get(obj, key);
	char full[512], want[128], *end;
	long long n;

	snprintf(full, sizeof(full), "%s.%s", path, key);
	snprintf(want, sizeof(want), "expected a whole number from %lld to %lld", (long long)lo,
	    (long long)hi);
	if (x == NULL || json_is_null(x)) {
		*out = def;
		return 0;
	}
	if (json_is_integer(x)) {
		n = json_integer_value(x);
	} else if (json_is_string(x) && json_string_length(x) > 0) {
		errno = 0;
		n = strtoll(json_string_value(x), &end, 10);
		if (*end != '\0' || errno != 0)
			return verr(v, full, "%s", want);
	} else {
		return verr(v, full, "%s", want);
	}
	if (n < lo || n > hi)
		return verr(v, full, "%s", want);
	*out = n;
	return 0;
}

/* ledger.url: a PostgreSQL database, instead of ledger.path. The value is never quoted in
 * an error: it may hold a password. */
static int
check_ledger_url(struct vctx *v, const json_t *l)
{
	const char *url = v->cfg->db_url;

	if (v->cfg->lease_ms < 3000)
		return verr(v, "ledger.lease", "%s", "must be at least 3s (claims are renewed "
		    "every third of it)");
	if (url == NULL)
		return 0;
	if (json_object_get(l, "path") != NULL)
		return verr(v, "ledger.url", "%s", "set ledger.url (PostgreSQL) or ledger.path "
		    "(SQLite), not both");
	if (strncasecmp(url, "postgresql://", 13) != 0 && strncasecmp(url, "postgres://", 11) != 0 &&
	    strchr(url, '=') == NULL)
		return verr(v, "ledger.url", "%s", "expected a PostgreSQL URI "
		    "(postgresql://USER@HOST/DB?sslmode=verify-full) or a libpq connection string "
		    "(host=HOST dbname=DB ...)");
	return 0;
}

/* ledger.retention: a duration, or off (also absent, null, false or 0) for none. */
static int
get_retention(struct vctx *v, const json_t *ledger, int64_t *out)
{
	json_t *x = json_object_get(ledger, "retention");

	*out = 0;
	if (x == NULL || json_is_null(x) || json_is_false(x) ||
	    (json_is_integer(x) && json_integer_value(x) == 0) ||
	    (json_is_string(x) && (strcmp(json_string_value(x), "off") == 0 ||
	    strcmp(json_string_value(x), "") == 0)))
		return 0;
	if (!json_is_string(x) || util_parse_duration(json_string_value(x), out) != 0)
		return verr(v, "ledger.retention", "%s", "expected a duration like 90d, or off");
	return 0;
}

static int
check_object(struct vctx *v, const json_t *x, const char *path)
{
	if (x != NULL && !json_is_object(x))
		return verr(v, path, "%s", "expected a mapping");
	return 0;
}

static bool
valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* A nanomsg address incidentd can bind: ipc://PATH, tcp://HOST:PORT or ws://HOST:PORT. */
static bool
nn_address_ok(const char *addr)
{
	static const char *const schemes[] = { "ipc://", "tcp://", "ws://", NULL };

	for (size_t i = 0; schemes[i]; i++) {
		size_t n = strlen(schemes[i]);

		if (strncmp(addr, schemes[i], n) == 0)
			return addr[n] != '\0' && (i == 0 || strchr(addr + n, ':') != NULL);
	}
	return false;
}

/* --- sections ------------------------------------------------------------------------ */

static int load_auth(struct vctx *v, const json_t *a, const char *path,
    struct config_auth *out);
static int string_list(struct vctx *v, const json_t *x, const char *path, char ***out,
    size_t *n);
static int load_trigger(struct vctx *v, const json_t *x, const char *path,
    struct config_sink *cs);

/* server.api_auth / server.metrics_auth: none, { bearer } or { basic } (GET requests have
 * no body to sign, so no hmac). */
static int
load_endpoint_auth(struct vctx *v, const json_t *server, const char *key,
    struct config_auth *out)
{
	char path[64];
	int rc;

	snprintf(path, sizeof(path), "server.%s", key);
	if ((rc = load_auth(v, json_object_get(server, key), path, out)) != 0)
		return rc;
	if (out->kind == AUTH_HMAC)
		return verr(v, path, "%s", "expected none, { bearer: TOKEN } or { basic: { username, "
		    "password } } (hmac needs a body to sign)");
	return 0;
}

/* server.tls: { cert, key, client_ca? } (PEM files; they are read when the server starts
 * or reloads, see broker/tls.c). */
static int
load_tls(struct vctx *v, const json_t *server, struct config *cfg)
{
	static const char *const keys[] = { "cert", "key", "client_ca", NULL };
	const json_t *t = json_object_get(server, "tls");
	int rc;

	if (t == NULL || json_is_null(t))
		return 0;
	if ((rc = check_object(v, t, "server.tls")) || (rc = check_keys(v, t, "server.tls", keys)) ||
	    (rc = get_string(v, t, "cert", "server.tls", NULL, &cfg->tls_cert)) ||
	    (rc = get_string(v, t, "key", "server.tls", NULL, &cfg->tls_key)) ||
	    (rc = get_string(v, t, "client_ca", "server.tls", NULL, &cfg->tls_client_ca)))
		return rc;
	if (cfg->tls_cert == NULL || *cfg->tls_cert == '\0' || cfg->tls_key == NULL ||
	    *cfg->tls_key == '\0')
		return verr(v, "server.tls", "%s", "cert and key are required (PEM files)");
	return 0;
}

/* server.allowed_hosts / server.allowed_origins: an optional list of non-empty strings. */
static int
load_server_list(struct vctx *v, const json_t *server, const char *key, char ***out,
    size_t *n)
{
	const json_t *x = json_object_get(server, key);
	char path[64];

	if (x == NULL || json_is_null(x))
		return 0;
	snprintf(path, sizeof(path), "server.%s", key);
	return string_list(v, x, path, out, n);
}

static int
load_top(struct vctx *v)
{
	static const char *const top[] = { "server", "ledger", "log", "sources", "sinks",
		"routes", "time_intervals", "clusters", "inhibit_rules", NULL };
	static const char *const server[] = { "listen", "max_body", "request_timeout", "publish",
	    "max_connections", "api_auth", "metrics_auth", "allowed_hosts", "allowed_origins",
	    "publish_allow_remote", "tls", NULL };
	static const char *const ledger[] = { "path", "url", "lease", "dedup_window", "retention",
	    NULL };
	static const char *const logk[] = { "format", "level", NULL };
	struct config *cfg = v->cfg;
	json_t *s = json_object_get(cfg->root, "server");
	json_t *l = json_object_get(cfg->root, "ledger");
	json_t *g = json_object_get(cfg->root, "log");
	enum log_format lf;
	enum log_level ll;
	int rc;

	if ((rc = check_keys(v, cfg->root, "", top)) || (rc = check_object(v, s, "server")) ||
	    (rc = check_object(v, l, "ledger")) || (rc = check_object(v, g, "log")))
		return rc;
	if (s && (rc = check_keys(v, s, "server", server)))
		return rc;
	if (l && (rc = check_keys(v, l, "ledger", ledger)))
		return rc;
	if (g && (rc = check_keys(v, g, "log", logk)))
		return rc;
	if ((rc = get_string(v, s, "listen", "server", "127.0.0.1:9740", &cfg->listen)) ||
	    (rc = get_size(v, s, "max_body", "server", 1048576, &cfg->max_body_bytes)) ||
	    (rc = get_duration(v, s, "request_timeout", "server", 30000,
	    &cfg->request_timeout_ms)) ||
	    (rc = get_count(v, s, "max_connections", "server", 1024, 1, 1000000,
	    &cfg->max_connections)) ||
	    (rc = get_string(v, l, "path", "ledger", "incidentd.db", &cfg->db_path)) ||
	    (rc = get_string(v, l, "url", "ledger", NULL, &cfg->db_url)) ||
	    (rc = get_duration(v, l, "lease", "ledger", 30000, &cfg->lease_ms)) ||
	    (rc = get_duration(v, l, "dedup_window", "ledger", 600000, &cfg->dedup_window_ms)) ||
	    (rc = get_retention(v, l, &cfg->retention_ms)) ||
	    (rc = get_string(v, g, "format", "log", "text", &cfg->log_format)) ||
	    (rc = get_string(v, g, "level", "log", "info", &cfg->log_level)) ||
	    (rc = get_string(v, s, "publish", "server", NULL, &cfg->publish)) ||
	    (rc = get_bool(v, s, "publish_allow_remote", "server", false,
	    &cfg->publish_allow_remote)) ||
	    (rc = load_endpoint_auth(v, s, "api_auth", &cfg->api_auth)) ||
	    (rc = load_endpoint_auth(v, s, "metrics_auth", &cfg->metrics_auth)) ||
	    (rc = load_server_list(v, s, "allowed_hosts", &cfg->allowed_hosts,
	    &cfg->n_allowed_hosts)) ||
	    (rc = load_server_list(v, s, "allowed_origins", &cfg->allowed_origins,
	    &cfg->n_allowed_origins)) ||
	    (rc = load_tls(v, s, cfg)))
		return rc;
	if (cfg->publish != NULL && *cfg->publish == '\0') {
		free(cfg->publish);     /* publish: "" turns the live tail off */
		cfg->publish = NULL;
	}
	if (cfg->publish != NULL && !nn_address_ok(cfg->publish))
		return verr(v, "server.publish", "'%s' is not a nanomsg address (ipc://PATH, "
		    "tcp://HOST:PORT or ws://HOST:PORT)", cfg->publish);
	if (log_parse_format(cfg->log_format, &lf) != 0)
		return verr(v, "log.format", "'%s' is not text or json", cfg->log_format);
	if (log_parse_level(cfg->log_level, &ll) != 0)
		return verr(v, "log.level", "'%s' is not debug, info, warn or error",
		    cfg->log_level);
	if (cfg->request_timeout_ms <= 0)
		return verr(v, "server.request_timeout", "%s", "must be more than 0");
	return check_ledger_url(v, l);
}

static int
load_auth(struct vctx *v, const json_t *a, const char *path, struct config_auth *out)
{
	static const char *const kinds[] = { "bearer", "basic", "hmac", NULL };
	static const char *const basic[] = { "username", "password", NULL };
	char sub[300];
	json_t *x;
	int rc;

	if (a == NULL)
		return 0;
	if (json_is_string(a) && strcmp(json_string_value(a), "none") == 0) {
		out->kind = AUTH_NONE;
		return 0;
	}
	if (!json_is_object(a) || json_object_size(a) != 1)
		return verr(v, path, "%s", "expected none, or exactly one of { bearer: TOKEN }, "
		    "{ basic: { username, password } }, { hmac: KEY }");
	if ((rc = check_keys(v, a, path, kinds)) != 0)
		return rc;
	if ((x = json_object_get(a, "basic")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.basic", path);
		if (!json_is_object(x))
			return verr(v, sub, "%s", "expected { username, password }");
		if ((rc = check_keys(v, x, sub, basic)) ||
		    (rc = get_string(v, x, "username", sub, NULL, &out->username)) ||
		    (rc = get_string(v, x, "password", sub, NULL, &out->password)))
			return rc;
		if (out->username == NULL || !*out->username || out->password == NULL ||
		    !*out->password || strchr(out->username, ':'))
			return verr(v, sub, "%s", "username (without ':') and password must be "
			    "non-empty");
		out->kind = AUTH_BASIC;
		return 0;
	}
	if ((x = json_object_get(a, "bearer")) != NULL) {
		if ((rc = get_string(v, a, "bearer", path, NULL, &out->token)) != 0)
			return rc;
		if (out->token == NULL || !*out->token)
			return verr(v, path, "%s", "bearer token must be non-empty");
		out->kind = AUTH_BEARER;
		return 0;
	}
	if ((rc = get_string(v, a, "hmac", path, NULL, &out->hmac_key)) != 0)
		return rc;
	if (out->hmac_key == NULL || !*out->hmac_key)
		return verr(v, path, "%s", "hmac key must be non-empty");
	out->kind = AUTH_HMAC;
	return 0;
}

/* sources.nanomsg: { enabled, pull (default ipc://events.ipc), format, auth: none }. */
static int
load_nanomsg(struct vctx *v, const json_t *x, const char *path, const char *const *keys,
    struct config_source *cs)
{
	static const char *const formats[] = { "argocd", "alertmanager", "flux", "cloudevents",
	    "event", NULL };
	char sub[300];
	bool known = false;
	int rc;

	if (x != NULL && json_is_null(x))
		x = NULL;               /* "nanomsg:" alone: on, with the defaults */
	if ((x != NULL && ((rc = check_object(v, x, path)) ||
	    (rc = check_keys(v, x, path, keys)))) ||
	    (rc = get_bool(v, x, "enabled", path, true, &cs->enabled)) ||
	    (rc = get_string(v, x, "pull", path, NULL, &cs->pull)) ||
	    (rc = get_string(v, x, "format", path, "event", &cs->format)))
		return rc;
	snprintf(sub, sizeof(sub), "%s.auth", path);
	if ((rc = load_auth(v, json_object_get(x, "auth"), sub, &cs->auth)) != 0)
		return rc;
	if (cs->auth.kind != AUTH_UNSET && cs->auth.kind != AUTH_NONE)
		return verr(v, sub, "%s", "nanomsg has no authentication; only auth: none is "
		    "accepted");
	for (size_t i = 0; formats[i]; i++)
		known = known || strcmp(cs->format, formats[i]) == 0;
	snprintf(sub, sizeof(sub), "%s.format", path);
	if (!known)
		return verr(v, sub, "'%s' is not argocd, alertmanager, flux, cloudevents or event",
		    cs->format);
	snprintf(sub, sizeof(sub), "%s.pull", path);
	if (cs->pull != NULL && *cs->pull != '\0' && !nn_address_ok(cs->pull))
		return verr(v, sub, "'%s' is not a nanomsg address (ipc://PATH, tcp://HOST:PORT "
		    "or ws://HOST:PORT)", cs->pull);
	if (cs->enabled && (cs->pull == NULL || *cs->pull == '\0')) {
		free(cs->pull);         /* in the runtime directory (see paths.h) */
		if ((cs->pull = strdup("ipc://" CONFIG_NANOMSG_PULL_NAME)) == NULL)
			return -ENOMEM;
	}
	return 0;
}

/* sources.slack: { enabled (default true), signing_secret (required when enabled) }.
 * Slack signs every request with the app's signing secret (X-Slack-Signature); that is
 * the source's authentication, so it takes no auth key. Off unless listed. */
static int
load_slack(struct vctx *v, const json_t *x, const char *path, struct config_source *cs)
{
	static const char *const keys[] = { "enabled", "signing_secret", NULL };
	char sub[300];
	int rc;

	snprintf(sub, sizeof(sub), "%s.signing_secret", path);
	if (x == NULL || json_is_null(x))
		return verr(v, sub, "%s", "required: the signing secret of the Slack app (Basic "
		    "Information, App Credentials), e.g. signing_secret: "
		    "\"${SLACK_SIGNING_SECRET}\"");
	if ((rc = check_object(v, x, path)) || (rc = check_keys(v, x, path, keys)) ||
	    (rc = get_bool(v, x, "enabled", path, true, &cs->enabled)) ||
	    (rc = get_string(v, x, "signing_secret", path, NULL, &cs->signing_secret)))
		return rc;
	if (cs->enabled && (cs->signing_secret == NULL || *cs->signing_secret == '\0'))
		return verr(v, sub, "%s", "required (non-empty) while sources.slack is enabled: "
		    "the signing secret of the Slack app (Basic Information, App Credentials), "
		    "e.g. signing_secret: \"${SLACK_SIGNING_SECRET}\"");
	return 0;
}

static int
load_sources(struct vctx *v)
{
	static const char *const known[] = { "argocd", "alertmanager", "flux", "cloudevents",
	    "github", "slack", "nanomsg", NULL };
	static const char *const keys[] = { "enabled", "auth", NULL };
	static const char *const gh_keys[] = { "enabled", "auth", "reconcile", NULL };
	static const char *const nn_keys[] = { "enabled", "auth", "pull", "format", NULL };
	struct config *cfg = v->cfg;
	json_t *s = json_object_get(cfg->root, "sources"), *x;
	const char *name;
	char path[256];
	int rc;

	if (s == NULL || json_is_null(s)) {
		cfg->sources = calloc(1, sizeof(*cfg->sources));
		if (cfg->sources == NULL || (cfg->sources[0].name = strdup("argocd")) == NULL)
			return -ENOMEM;
		cfg->sources[0].enabled = true;
		cfg->n_sources = 1;
		return 0;
	}
	if ((rc = check_object(v, s, "sources")) || (rc = check_keys(v, s, "sources", known)))
		return rc;
	cfg->sources = calloc(json_object_size(s) + 1, sizeof(*cfg->sources));
	if (cfg->sources == NULL)
		return -ENOMEM;
	json_object_foreach(s, name, x) {
		struct config_source *cs = &cfg->sources[cfg->n_sources++];

		snprintf(path, sizeof(path), "sources.%s", name);
		if ((cs->name = strdup(name)) == NULL)
			return -ENOMEM;
		if (strcmp(name, "nanomsg") == 0) {
			if ((rc = load_nanomsg(v, x, path, nn_keys, cs)) != 0)
				return rc;
			continue;
		}
		if (strcmp(name, "slack") == 0) {
			if ((rc = load_slack(v, x, path, cs)) != 0)
				return rc;
			continue;
		}
		if ((x == NULL || json_is_null(x)) && strcmp(name, "github") != 0) {
			cs->enabled = true;
			continue;
		}
		bool github = strcmp(name, "github") == 0;

		cs->reconcile_ms = github ? CONFIG_RECONCILE_DEFAULT_MS : 0;
		if (x == NULL || json_is_null(x))
			cs->enabled = true;
		else if ((rc = check_object(v, x, path)) ||
		    (rc = check_keys(v, x, path, github ? gh_keys : keys)) ||
		    (rc = get_bool(v, x, "enabled", path, true, &cs->enabled)) ||
		    (github && (rc = get_duration(v, x, "reconcile", path, CONFIG_RECONCILE_DEFAULT_MS,
		    &cs->reconcile_ms)) != 0))
			return rc;
		if (github && cs->reconcile_ms != 0 && cs->reconcile_ms < 1000)
			return verr(v, path, "%s", "reconcile: at least 1s (or 0 to turn it off)");
		snprintf(path, sizeof(path), "sources.%s.auth", name);
		if ((rc = load_auth(v, json_object_get(x, "auth"), path, &cs->auth)) != 0)
			return rc;
		if (strcmp(name, "github") == 0 && cs->enabled && cs->auth.kind != AUTH_HMAC)
			return verr(v, path, "%s", "GitHub webhooks are signed with the webhook's "
			    "secret: set auth: { hmac: \"${GITHUB_WEBHOOK_SECRET}\" } (the same secret "
			    "as in the webhook's settings)");
	}
	return 0;
}

static bool
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Whether s is a lowercase or uppercase hex string of exactly n digits. */
static bool
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return i == n;
}

/* clusters.<name>.probe: an argv (a list of strings; element 0 a program, not a template)
 * that prints the cluster's kube-system namespace uid. Returns 0 and a new array in *out
 * (NULL when absent), or an error. */
static int
get_probe(struct vctx *v, const json_t *entry, const char *path, json_t **out)
{
	const json_t *x = json_object_get(entry, "probe");
	char full[600], idx[32];
	size_t i;
	json_t *e;

	*out = NULL;
	snprintf(full, sizeof(full), "%s.probe", path);
	if (x == NULL || json_is_null(x))
		return 0;
	if (!json_is_array(x) || json_array_size(x) == 0)
		return verr(v, full, "%s", "expected an argv list, e.g. [kubectl, --context, "
		    "\"{{cluster}}\", get, namespace, kube-system, -o, "
		    "\"jsonpath={.metadata.uid}\"]");
	json_array_foreach(x, i, e) {
		const char *s = json_string_value(e);

		snprintf(idx, sizeof(idx), "%zu", i);
		if (s == NULL || strlen(s) != json_string_length(e) || has_control(s))
			return verr(v, full, "element %s: expected a string without control "
			    "characters", idx);
		if (i == 0 && (*s == '\0' || strchr(s, '{') != NULL))
			return verr(v, full, "%s", "element 0: the program must be a plain name or "
			    "path");
	}
	if ((*out = json_deep_copy(x)) == NULL)
		return -ENOMEM;
	return 0;
}

/* clusters: name -> { api_server, uid, ca_sha256, probe, probe_timeout,
 * trust_event_claims }, the registry that agent hand-offs check an incident's cluster
 * identity against (DESIGN.md §8, docs/security.md). */
static int
load_clusters(struct vctx *v)
{
	static const char *const keys[] = { "api_server", "uid", "ca_sha256", "probe",
	    "probe_timeout", "trust_event_claims", NULL };
	struct config *cfg = v->cfg;
	json_t *c = json_object_get(cfg->root, "clusters"), *x, *entry;
	const char *name;
	char path[512];
	int rc;

	if ((cfg->clusters = json_object()) == NULL)
		return -ENOMEM;
	if (c == NULL || json_is_null(c))
		return 0;
	if ((rc = check_object(v, c, "clusters")) != 0)
		return rc;
	json_object_foreach(c, name, x) {
		char *api = NULL, *uid = NULL, *ca = NULL;
		json_t *probe = NULL;
		int64_t probe_ms = 30000;
		bool trust = false;

		snprintf(path, sizeof(path), "clusters.%s", name);
		if (*name == '\0' || strlen(name) > 253 || has_control(name))
			return verr(v, path, "%s", "a cluster name is 1 to 253 characters without "
			    "control characters");
		if (!json_is_object(x))
			return verr(v, path, "%s", "expected a mapping { api_server, uid, "
			    "ca_sha256 }");
		if ((rc = check_keys(v, x, path, keys)) != 0)
			return rc;
		rc = get_string(v, x, "api_server", path, NULL, &api);
		if (rc == 0)
			rc = get_string(v, x, "uid", path, NULL, &uid);
		if (rc == 0)
			rc = get_string(v, x, "ca_sha256", path, NULL, &ca);
		if (rc == 0 && (api == NULL || (strncmp(api, "https://", 8) != 0 &&
		    strncmp(api, "http://", 7) != 0)))
			rc = verr(v, path, "%s", "api_server: required, an https:// URL");
		if (rc == 0 && uid != NULL && *uid == '\0')
			rc = verr(v, path, "%s", "uid: must not be empty");
		if (rc == 0 && ca != NULL && !is_hex(ca, 64))
			rc = verr(v, path, "%s", "ca_sha256: expected 64 hex digits (the SHA-256 "
			    "of the cluster CA certificate)");
		if (rc == 0)
			rc = get_probe(v, x, path, &probe);
		if (rc == 0)
			rc = get_duration(v, x, "probe_timeout", path, 30000, &probe_ms);
		if (rc == 0)
			rc = get_bool(v, x, "trust_event_claims", path, false, &trust);
		if (rc == 0 && probe != NULL && uid == NULL)
			rc = verr(v, path, "%s", "probe: needs uid (the probe's output must equal "
			    "it)");
		if (rc == 0 && probe_ms <= 0)
			rc = verr(v, path, "%s", "probe_timeout: must be more than 0");
		entry = NULL;
		if (rc == 0 && ((entry = json_pack("{s:s}", "api_server", api)) == NULL ||
		    (uid && json_object_set_new(entry, "uid", json_string(uid)) != 0) ||
		    (ca && json_object_set_new(entry, "ca_sha256", json_string(ca)) != 0) ||
		    (probe && (json_object_set(entry, "probe", probe) != 0 ||
		    json_object_set_new(entry, "probe_timeout", json_sprintf("%lldms",
		    (long long)probe_ms)) != 0)) ||
		    (trust && json_object_set_new(entry, "trust_event_claims", json_true()) != 0) ||
		    json_object_set(cfg->clusters, name, entry) != 0))
			rc = -ENOMEM;
		json_decref(entry);
		json_decref(probe);
		free(api);
		free(uid);
		free(ca);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Append path to the sink's "protect" list (created when absent; a value that is not a
 * list is left for the plugin to refuse). */
static int
add_protected(struct config_sink *cs, const char *path)
{
	json_t *list = json_object_get(cs->options, "protect");

	if (list != NULL && !json_is_array(list))
		return 0;
	/* a copy: the configured list belongs to the merged document */
	list = list != NULL ? json_copy(list) : json_array();
	if (list == NULL || json_array_append_new(list, json_string(path)) != 0 ||
	    json_object_set_new(cs->options, "protect", list) != 0)
		return -ENOMEM;
	return 0;
}

bool
config_plugin_is(const char *plugin, const char *name)
{
	const char *base = strrchr(plugin, '/');
	size_t n = strlen(name);

	base = base ? base + 1 : plugin;
	return strncmp(base, name, n) == 0 && (base[n] == '\0' || strcmp(base + n, ".so") == 0);
}

static int
load_sinks(struct vctx *v)
{
	static const char *const retry[] = { "initial", "max", "give_up_after", NULL };
	struct config *cfg = v->cfg;
	json_t *s = json_object_get(cfg->root, "sinks"), *x, *val;
	const char *name, *k;
	char path[256], rpath[300];
	int rc;

	if (s == NULL || json_is_null(s))
		return 0;
	if ((rc = check_object(v, s, "sinks")) != 0)
		return rc;
	cfg->sinks = calloc(json_object_size(s) + 1, sizeof(*cfg->sinks));
	if (cfg->sinks == NULL)
		return -ENOMEM;
	json_object_foreach(s, name, x) {
		struct config_sink *cs = &cfg->sinks[cfg->n_sinks++];
		json_t *r;

		snprintf(path, sizeof(path), "sinks.%s", name);
		if ((cs->name = strdup(name)) == NULL ||
		    (cs->where = strdup(where_of(v, path))) == NULL ||
		    (cs->options = json_object()) == NULL)
			return -ENOMEM;
		if (!valid_name(name, 64))
			return verr(v, path, "'%s' is not a valid sink name ([A-Za-z0-9_-], at "
			    "most 64 characters)", name);
		if (strcmp(name, CONFIG_RESERVED_SINK) == 0)
			return verr(v, path, "'%s' is reserved: incidentd's own steps (commands from "
			    "GitHub and Slack) are deliveries to a sink of that name", name);
		if (!json_is_object(x))
			return verr(v, path, "%s", "expected a mapping with at least plugin:");
		if ((rc = get_string(v, x, "plugin", path, NULL, &cs->plugin)) ||
		    (rc = get_string(v, x, "after", path, NULL, &cs->after)) ||
		    (rc = get_bool(v, x, "enabled", path, true, &cs->enabled)))
			return rc;
		if (cs->plugin == NULL || *cs->plugin == '\0')
			return verr(v, path, "%s", "plugin: required (a plugin name like log, or a "
			    "path to a .so)");
		cs->retry_initial_ms = 1000;
		cs->retry_max_ms = 600000;
		cs->give_up_after_ms = 86400000;
		r = json_object_get(x, "retry");
		snprintf(rpath, sizeof(rpath), "%s.retry", path);
		if (r != NULL && !json_is_null(r)) {
			if ((rc = check_object(v, r, rpath)) || (rc = check_keys(v, r, rpath, retry)) ||
			    (rc = get_duration(v, r, "initial", rpath, 1000, &cs->retry_initial_ms)) ||
			    (rc = get_duration(v, r, "max", rpath, 600000, &cs->retry_max_ms)) ||
			    (rc = get_duration(v, r, "give_up_after", rpath, 86400000,
			    &cs->give_up_after_ms)))
				return rc;
			if (cs->retry_initial_ms <= 0 || cs->retry_max_ms < cs->retry_initial_ms)
				return verr(v, rpath, "%s", "initial must be > 0 and <= max");
		}
		if ((rc = load_trigger(v, x, path, cs)) != 0)
			return rc;
		json_object_foreach(x, k, val) {
			if (strcmp(k, "plugin") == 0 || strcmp(k, "after") == 0 ||
			    strcmp(k, "enabled") == 0 || strcmp(k, "retry") == 0 ||
			    strcmp(k, "trigger") == 0 || strcmp(k, "trigger_label") == 0 ||
			    strcmp(k, "allowed_actors") == 0)
				continue;
			if (json_object_set(cs->options, k, val) != 0)
				return -ENOMEM;
		}
		/* the runner checks cluster identity against the top-level registry unless
		 * the sink has a clusters: of its own */
		if (config_plugin_is(cs->plugin, "copilot_runner") && json_object_get(cs->options, "clusters") == NULL &&
		    json_object_set(cs->options, "clusters", cfg->clusters) != 0)
			return -ENOMEM;
		/* and its sandbox never shows the conf.d (secrets may be written in it) */
		if (config_plugin_is(cs->plugin, "copilot_runner") && cfg->dir != NULL && (rc = add_protected(cs,
		    cfg->dir)) != 0)
			return rc;
	}
	/* after: names another sink, without cycles */
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		const struct config_sink *cs = &cfg->sinks[i];
		size_t hops = 0;

		if (cs->after == NULL)
			continue;
		snprintf(path, sizeof(path), "sinks.%s.after", cs->name);
		if (config_find_sink(cfg, cs->after) == NULL)
			return verr(v, path, "no sink named '%s'", cs->after);
		while (cs != NULL && cs->after != NULL) {
			cs = config_find_sink(cfg, cs->after);
			if (++hops > cfg->n_sinks)
				return verr(v, path, "'%s' is part of an after: cycle",
				    cfg->sinks[i].name);
		}
	}
	return 0;
}

/* A sink's trigger: route (the default: routes name it) or label (trigger_label added to
 * an incident's issue by a person; allowed_actors skip the permission check). */
static int
load_trigger(struct vctx *v, const json_t *x, const char *path, struct config_sink *cs)
{
	char *trigger = NULL, p[300];
	const json_t *actors = json_object_get(x, "allowed_actors");
	int rc;

	if ((rc = get_string(v, x, "trigger", path, "route", &trigger)) != 0)
		return rc;
	if (strcmp(trigger, "label") == 0) {
		cs->on_label = true;
	} else if (strcmp(trigger, "route") != 0) {
		snprintf(p, sizeof(p), "%s.trigger", path);
		rc = verr(v, p, "'%s' is not a trigger: route (the default) or label", trigger);
		free(trigger);
		return rc;
	}
	free(trigger);
	if (!cs->on_label && (json_object_get(x, "trigger_label") != NULL || actors != NULL)) {
		snprintf(p, sizeof(p), "%s.trigger", path);
		return verr(v, p, "%s", "trigger_label and allowed_actors need trigger: label");
	}
	if (!cs->on_label)
		return 0;
	if (cs->after != NULL) {
		snprintf(p, sizeof(p), "%s.after", path);
		return verr(v, p, "%s", "a sink with trigger: label runs when the label is added, "
		    "not after another sink");
	}
	if ((rc = get_string(v, x, "trigger_label", path, "cluster-doctor",
	    &cs->trigger_label)) != 0)
		return rc;
	if (actors != NULL && !json_is_null(actors)) {
		snprintf(p, sizeof(p), "%s.allowed_actors", path);
		if ((rc = string_list(v, actors, p, &cs->allowed_actors,
		    &cs->n_allowed_actors)) != 0)
			return rc;
	}
	return 0;
}

static int
string_list(struct vctx *v, const json_t *x, const char *path, char ***out, size_t *n)
{
	size_t i;
	json_t *e;
	char ep[300];

	if (!json_is_array(x))
		return verr(v, path, "%s", "expected a list of strings");
	*out = calloc(json_array_size(x) + 1, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	json_array_foreach(x, i, e) {
		snprintf(ep, sizeof(ep), "%s.%zu", path, i);
		if (!json_is_string(e) || json_string_length(e) == 0)
			return verr(v, ep, "%s", "expected a non-empty string");
		if (((*out)[(*n)++] = strdup(json_string_value(e))) == NULL)
			return -ENOMEM;
	}
	return 0;
}

/* Copy a string list (inheritance). Returns 0 or -ENOMEM. */
static int
copy_list(char **from, size_t n, char ***out, size_t *nout)
{
	*out = calloc(n + 1, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (((*out)[i] = strdup(from[i])) == NULL)
			return -ENOMEM;
		(*nout)++;
	}
	return 0;
}

/* A route's list of time interval names (key), resolved against cfg->intervals; without
 * the key, the parent's list (inherited). */
static int
route_intervals(struct vctx *v, const json_t *x, const char *key, const char *path,
    const struct time_interval *const *inherit, size_t n_inherit,
    const struct time_interval ***out, size_t *n)
{
	const json_t *list = json_object_get(x, key), *e;
	char kp[400], ep[440];
	size_t i;

	snprintf(kp, sizeof(kp), "%s.%s", path, key);
	if (list == NULL || json_is_null(list)) {
		if (n_inherit == 0)
			return 0;
		*out = calloc(n_inherit, sizeof(**out));
		if (*out == NULL)
			return -ENOMEM;
		memcpy(*out, inherit, n_inherit * sizeof(**out));
		*n = n_inherit;
		return 0;
	}
	if (!json_is_array(list))
		return verr(v, kp, "%s", "expected a list of time interval names");
	*out = calloc(json_array_size(list) + 1, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	json_array_foreach(list, i, e) {
		const struct time_interval *ti = NULL;

		snprintf(ep, sizeof(ep), "%s.%zu", kp, i);
		for (size_t j = 0; json_is_string(e) && j < v->cfg->n_intervals; j++)
			if (strcmp(v->cfg->intervals[j].name, json_string_value(e)) == 0)
				ti = &v->cfg->intervals[j];
		if (ti == NULL)
			return verr(v, ep, "no time interval named '%s' (define it under "
			    "time_intervals:)", json_is_string(e) ? json_string_value(e) : "?");
		(*out)[(*n)++] = ti;
	}
	return 0;
}

/* time_intervals: [{name, time_intervals: [spec, ...]}] (Alertmanager's syntax). */
static int
load_intervals(struct vctx *v)
{
	static const char *const keys[] = { "name", "time_intervals", NULL };
	struct config *cfg = v->cfg;
	const json_t *list = json_object_get(cfg->root, "time_intervals"), *x, *spec;
	char path[64], sp[128], msg[400];
	size_t i, j;
	int rc;

	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return verr(v, "time_intervals", "%s", "expected a list of {name, time_intervals}");
	cfg->intervals = calloc(json_array_size(list) + 1, sizeof(*cfg->intervals));
	if (cfg->intervals == NULL)
		return -ENOMEM;
	json_array_foreach(list, i, x) {
		struct time_interval *ti = &cfg->intervals[cfg->n_intervals++];
		const json_t *specs;

		snprintf(path, sizeof(path), "time_intervals.%zu", i);
		if ((rc = check_object(v, x, path)) || (rc = check_keys(v, x, path, keys)) ||
		    (rc = get_string(v, x, "name", path, NULL, &ti->name)))
			return rc;
		if (ti->name == NULL || *ti->name == '\0')
			return verr(v, path, "%s", "name: required");
		for (size_t k = 0; k + 1 < cfg->n_intervals; k++)
			if (strcmp(cfg->intervals[k].name, ti->name) == 0)
				return verr(v, path, "duplicate time interval name '%s'", ti->name);
		specs = json_object_get(x, "time_intervals");
		snprintf(sp, sizeof(sp), "%s.time_intervals", path);
		if (!json_is_array(specs) || json_array_size(specs) == 0)
			return verr(v, sp, "%s", "expected a list of intervals (times, weekdays, ...)");
		ti->specs = calloc(json_array_size(specs), sizeof(*ti->specs));
		if (ti->specs == NULL)
			return -ENOMEM;
		json_array_foreach(specs, j, spec) {
			char ep[160];

			snprintf(ep, sizeof(ep), "%s.%zu", sp, j);
			rc = ti_spec_parse(spec, &ti->specs[j], msg, sizeof(msg));
			if (rc == -ENOMEM)
				return rc;
			if (rc != 0)
				return verr(v, ep, "%s", msg);
			ti->n_specs++;
		}
	}
	return 0;
}

/* max_new_incidents: "20 per 10m" (inherited when absent). */
static int
storm_option(struct vctx *v, const json_t *x, const char *path,
    const struct config_route *parent, struct config_route *cr)
{
	const json_t *o = json_object_get(x, "max_new_incidents");
	char kp[400], dur[32], tail;
	long long n;

	if (o == NULL || json_is_null(o)) {
		cr->storm_max = parent ? parent->storm_max : 0;
		cr->storm_window_ms = parent ? parent->storm_window_ms : 0;
		return 0;
	}
	snprintf(kp, sizeof(kp), "%s.max_new_incidents", path);
	if (!json_is_string(o) || sscanf(json_string_value(o), "%lld per %31s%c", &n, dur,
	    &tail) != 2 || n < 1 || util_parse_duration(dur, &cr->storm_window_ms) != 0 ||
	    cr->storm_window_ms <= 0)
		return verr(v, kp, "%s", "expected 'N per DURATION', e.g. '20 per 10m'");
	cr->storm_max = n;
	return 0;
}

static int load_route_list(struct vctx *v, const json_t *list, const char *path,
    const struct config_route *parent, json_t *names, struct config_route **out, size_t *n);

/* A list of matcher strings at path (Alertmanager's `matchers:`, `source_matchers:`, ...),
 * appended to *out (n in *n; both may hold matchers already). Each entry is parsed as
 * Alertmanager parses one: a comma-separated list, optionally in braces
 * (matcher_parse_list). Returns 0, -EINVAL with v's message, or -ENOMEM. */
static int
load_matcher_list(struct vctx *v, const json_t *list, const char *path, struct matcher **out,
    size_t *n)
{
	const json_t *e;
	size_t j;
	int rc;

	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return verr(v, path, "%s", "expected a list of matchers, e.g. ['cluster =~ "
		    "\"prod-.*\"']");
	json_array_foreach(list, j, e) {
		char ep[400], merr[800];
		struct matcher *ms = NULL, *all;
		size_t nm = 0;

		snprintf(ep, sizeof(ep), "%s.%zu", path, j);
		if (!json_is_string(e))
			return verr(v, ep, "%s", "expected a string like 'cluster =~ \"prod-.*\"'");
		rc = matcher_parse_list(json_string_value(e), &ms, &nm, merr, sizeof(merr));
		if (rc == -ENOMEM)
			return rc;
		if (rc != 0)
			return verr(v, ep, "%s", merr);
		if (nm == 0)
			continue;       /* "" or "{}": no matcher */
		all = realloc(*out, (*n + nm) * sizeof(*all));
		if (all == NULL) {
			for (size_t k = 0; k < nm; k++)
				matcher_clear(&ms[k]);
			free(ms);
			return -ENOMEM;
		}
		*out = all;
		memcpy(all + *n, ms, nm * sizeof(*ms));
		*n += nm;
		free(ms);
	}
	return 0;
}

/* One route at path (a JSON object), inheriting from parent (may be NULL). */
static int
load_route(struct vctx *v, const json_t *x, const char *path, const struct config_route *parent,
    json_t *names, struct config_route *cr)
{
	static const char *const keys[] = { "name", "sinks", "group_by", "match", "continue",
	    "fallback", "routes", "for", "repeat_interval", "flap_window", "mute_time_intervals",
	    "active_time_intervals", "max_new_incidents", NULL };
	const json_t *gb, *match, *kids;
	char sp[340];
	int rc;

	if ((cr->where = strdup(where_of(v, path))) == NULL)
		return -ENOMEM;
	if ((rc = check_object(v, x, path)) || (rc = check_keys(v, x, path, keys)) ||
	    (rc = get_string(v, x, "name", path, NULL, &cr->name)) ||
	    (rc = get_bool(v, x, "continue", path, false, &cr->cont)) ||
	    (rc = get_bool(v, x, "fallback", path, false, &cr->fallback)) ||
	    (rc = get_duration(v, x, "for", path, parent ? parent->for_ms : 0, &cr->for_ms)) ||
	    (rc = get_duration(v, x, "repeat_interval", path, parent ? parent->repeat_ms : 0,
	    &cr->repeat_ms)) ||
	    (rc = get_duration(v, x, "flap_window", path, parent ? parent->flap_ms : 0,
	    &cr->flap_ms)))
		return rc;
	if (cr->name == NULL || *cr->name == '\0')
		return verr(v, path, "%s", "name: required");
	if (cr->fallback && parent != NULL)
		return verr(v, path, "%s", "fallback: only a top-level route can be a fallback (a "
		    "nested route's parent already takes what its routes do not)");
	if ((rc = storm_option(v, x, path, parent, cr)) != 0)
		return rc;
	if (json_object_get(names, cr->name) != NULL)
		return verr(v, path, "duplicate route name '%s'", cr->name);
	if (json_object_set_new(names, cr->name, json_true()) != 0)
		return -ENOMEM;
	snprintf(sp, sizeof(sp), "%s.sinks", path);
	if (json_object_get(x, "sinks") != NULL) {
		if ((rc = string_list(v, json_object_get(x, "sinks"), sp, &cr->sinks,
		    &cr->n_sinks)) != 0)
			return rc;
		if (cr->n_sinks == 0)
			return verr(v, sp, "%s", "at least one sink is required");
	} else if (parent != NULL) {
		if ((rc = copy_list(parent->sinks, parent->n_sinks, &cr->sinks, &cr->n_sinks)) != 0)
			return rc;
	} else {
		return verr(v, path, "%s", "sinks: required (a list of sink names)");
	}
	for (size_t j = 0; j < cr->n_sinks; j++) {
		char ep[400];

		snprintf(ep, sizeof(ep), "%s.%zu", sp, j);
		const struct config_sink *cs = config_find_sink(v->cfg, cr->sinks[j]);

		if (cs == NULL)
			return verr(v, ep, "no sink named '%s' (define it under sinks:)", cr->sinks[j]);
		if (cs->on_label)
			return verr(v, ep, "sink '%s' has trigger: label: it runs when a person adds "
			    "its label to an incident's issue, never from a route", cs->name);
	}
	gb = json_object_get(x, "group_by");
	snprintf(sp, sizeof(sp), "%s.group_by", path);
	if (gb != NULL && !json_is_null(gb)) {
		if ((rc = string_list(v, gb, sp, &cr->group_by, &cr->n_group_by)) != 0)
			return rc;
		for (size_t j = 0; j < cr->n_group_by; j++) {
			char ep[400];

			snprintf(ep, sizeof(ep), "%s.%zu", sp, j);
			if (strcmp(cr->group_by[j], "...") == 0 ? cr->n_group_by != 1 :
			    !matcher_field_known(cr->group_by[j]))
				return verr(v, ep, "'%s' is not an event field (cluster, app, labels.X, "
				    "...; or ['...'] alone to keep every event separate)",
				    cr->group_by[j]);
		}
	} else if (parent != NULL && parent->group_by != NULL) {
		if ((rc = copy_list(parent->group_by, parent->n_group_by, &cr->group_by,
		    &cr->n_group_by)) != 0)
			return rc;
	}
	match = json_object_get(x, "match");
	snprintf(sp, sizeof(sp), "%s.match", path);
	if (json_is_string(match))
		return verr(v, sp, "%s", "expected a list of matchers, e.g. ['source = argocd']");
	if ((rc = load_matcher_list(v, match, sp, &cr->matchers, &cr->n_matchers)) != 0)
		return rc;
	if ((rc = route_intervals(v, x, "mute_time_intervals", path, parent ? parent->mute : NULL,
	    parent ? parent->n_mute : 0, &cr->mute, &cr->n_mute)) != 0 ||
	    (rc = route_intervals(v, x, "active_time_intervals", path, parent ? parent->active :
	    NULL, parent ? parent->n_active : 0, &cr->active, &cr->n_active)) != 0)
		return rc;
	kids = json_object_get(x, "routes");
	snprintf(sp, sizeof(sp), "%s.routes", path);
	if (kids != NULL && !json_is_null(kids))
		return load_route_list(v, kids, sp, cr, names, &cr->routes, &cr->n_routes);
	return 0;
}

/* Whether route r takes every event that reaches it, so that the routes after it at the
 * same level (in the same pass: fallbacks are tried after the others) never see one: no
 * matchers (or only empty entries) and no `continue: true`. */
static bool
route_takes_all(const struct config_route *r)
{
	return r->n_matchers == 0 && !r->cont;
}

/* Refuse routes[i] (loaded from path) when an earlier route of its level, in the same pass,
 * takes every event: it could never be reached. Alertmanager accepts such a tree silently;
 * here it is a load error naming both routes with file:line. top: the level is the top
 * one (where fallback: exists). Returns 0 or -EINVAL with v's message. */
static int
check_reachable(struct vctx *v, const struct config_route *routes, size_t i, const char *path,
    bool top)
{
	const struct config_route *r = &routes[i];

	for (size_t j = 0; j < i; j++) {
		const struct config_route *b = &routes[j];

		if (b->fallback != r->fallback || !route_takes_all(b))
			continue;
		snprintf(v->err, v->errlen, "%s: %s: route '%s' can never be reached: route '%s' "
		    "before it (%s) has no matchers and no `continue: true`, so it takes every "
		    "event%s (give '%s' matchers or `continue: true`%s)", r->where, path, r->name,
		    b->name, b->where, r->fallback ? " that no other route took" : "", b->name,
		    top && !r->fallback ? ", or make it `fallback: true`" : "");
		return -EINVAL;
	}
	return 0;
}

static int
load_route_list(struct vctx *v, const json_t *list, const char *path,
    const struct config_route *parent, json_t *names, struct config_route **out, size_t *n)
{
	const json_t *x;
	char rp[320];
	size_t i;
	int rc;

	if (!json_is_array(list))
		return verr(v, path, "%s", "expected a list of routes");
	*out = calloc(json_array_size(list) + 1, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	json_array_foreach(list, i, x) {
		snprintf(rp, sizeof(rp), "%s.%zu", path, i);
		(*n)++;
		if ((rc = load_route(v, x, rp, parent, names, &(*out)[i])) != 0 ||
		    (rc = check_reachable(v, *out, i, rp, parent == NULL)) != 0)
			return rc;
	}
	return 0;
}

static int
load_routes(struct vctx *v)
{
	struct config *cfg = v->cfg;
	json_t *r = json_object_get(cfg->root, "routes"), *names;
	int rc;

	if (r == NULL || json_is_null(r) || (json_is_array(r) && json_array_size(r) == 0)) {
		snprintf(v->err, v->errlen, "%s: routes: at least one route is required",
		    config_where(cfg, "routes") ? config_where(cfg, "routes") : "<config>");
		return -EINVAL;
	}
	names = json_object();
	if (names == NULL)
		return -ENOMEM;
	rc = load_route_list(v, r, "routes", NULL, names, &cfg->routes, &cfg->n_routes);
	json_decref(names);
	return rc;
}

/* --- retention ------------------------------------------------------------------------ */

/* The longest window the ledger must remember rows for, and what it is. */
struct window {
	int64_t ms;
	char what[1024];   /* e.g. "route 'prod' repeat_interval (4h, conf.d/10.yaml:7)" */
};

static void
window_consider(struct window *w, int64_t ms, const char *what, const char *value,
    const char *where)
{
	char dur[32];

	if (ms <= w->ms)
		return;
	w->ms = ms;
	snprintf(w->what, sizeof(w->what), "%s (%s, %s)", what,
	    value ? value : util_format_duration(ms, dur, sizeof(dur)), where);
}

static void
window_routes(const struct config_route *routes, size_t n, struct window *w)
{
	static const char *const names[] = { "for", "repeat_interval", "flap_window",
	    "max_new_incidents window" };
	char what[200];

	for (size_t i = 0; i < n; i++) {
		const struct config_route *r = &routes[i];
		const int64_t ms[] = { r->for_ms, r->repeat_ms, r->flap_ms, r->storm_window_ms };

		for (size_t k = 0; k < sizeof(ms) / sizeof(ms[0]); k++) {
			snprintf(what, sizeof(what), "route '%s' %s", r->name, names[k]);
			window_consider(w, ms[k], what, NULL, r->where);
		}
		window_routes(r->routes, r->n_routes, w);
	}
}

/* Windows of sink options: reopen_window and repeat_interval of any enabled sink that sets
 * them (a duration), and github_issue's defaults (24h, 4h) when it does not. */
static void
window_sinks(const struct config *cfg, struct window *w)
{
	static const struct { const char *option, *plugin_default; } opts[] = {
		{ "reopen_window", "24h" }, { "repeat_interval", "4h" },
	};
	char what[200], path[300];
	int64_t ms;

	for (size_t i = 0; i < cfg->n_sinks; i++) {
		const struct config_sink *cs = &cfg->sinks[i];
		bool github = config_plugin_is(cs->plugin, "github_issue");

		if (!cs->enabled)
			continue;
		for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
			const char *val = json_string_value(json_object_get(cs->options,
			    opts[k].option));
			const char *where;

			snprintf(what, sizeof(what), "sink '%s' %s", cs->name, opts[k].option);
			snprintf(path, sizeof(path), "sinks.%s.%s", cs->name, opts[k].option);
			if (val != NULL) {
				where = config_where(cfg, path);
				if (util_parse_duration(val, &ms) == 0)  /* else the plugin says so */
					window_consider(w, ms, what, val, where ? where : cs->where);
			} else if (github && util_parse_duration(opts[k].plugin_default, &ms) == 0) {
				snprintf(path, sizeof(path), "github_issue's default, %s", cs->where);
				window_consider(w, ms, what, opts[k].plugin_default, path);
			}
		}
	}
}

/* ledger.retention must cover every window whose rows the router, the dedup check and the
 * sinks look back on: otherwise pruning would change what they decide. */
static int
check_retention(struct vctx *v)
{
	const struct config *cfg = v->cfg;
	struct window w = { 0 };
	char have[32], want[32];
	const char *where;

	if (cfg->retention_ms == 0)
		return 0;
	where = config_where(cfg, "ledger.dedup_window");
	window_consider(&w, cfg->dedup_window_ms, "ledger.dedup_window", NULL,
	    where ? where : "its default");
	window_routes(cfg->routes, cfg->n_routes, &w);
	window_sinks(cfg, &w);
	if (cfg->retention_ms >= w.ms)
		return 0;
	snprintf(v->err, v->errlen, "%s: ledger.retention: %s is shorter than %s: the ledger "
	    "must keep what that window looks back on; set ledger.retention to at least %s",
	    where_of(v, "ledger.retention"),
	    util_format_duration(cfg->retention_ms, have, sizeof(have)), w.what,
	    util_format_duration(w.ms, want, sizeof(want)));
	return -EINVAL;
}

/* inhibit_rules: [{ source_matchers, target_matchers, equal }] (Alertmanager's keys). */
static int
load_inhibits(struct vctx *v)
{
	static const char *const keys[] = { "source_matchers", "target_matchers", "equal", NULL };
	struct config *cfg = v->cfg;
	const json_t *list = json_object_get(cfg->root, "inhibit_rules"), *x;
	char path[64], sp[96];
	size_t i;
	int rc;

	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return verr(v, "inhibit_rules", "%s", "expected a list of { source_matchers, "
		    "target_matchers, equal }");
	if ((cfg->inhibits = calloc(json_array_size(list) + 1, sizeof(*cfg->inhibits))) == NULL)
		return -ENOMEM;
	json_array_foreach(list, i, x) {
		struct config_inhibit *r = &cfg->inhibits[cfg->n_inhibits++];
		char *id;

		snprintf(path, sizeof(path), "inhibit_rules.%zu", i);
		if ((r->where = strdup(where_of(v, path))) == NULL)
			return -ENOMEM;
		if ((rc = check_object(v, x, path)) || (rc = check_keys(v, x, path, keys)))
			return rc;
		snprintf(sp, sizeof(sp), "%s.source_matchers", path);
		if ((rc = load_matcher_list(v, json_object_get(x, "source_matchers"), sp,
		    &r->source, &r->n_source)) != 0)
			return rc;
		snprintf(sp, sizeof(sp), "%s.target_matchers", path);
		if ((rc = load_matcher_list(v, json_object_get(x, "target_matchers"), sp,
		    &r->target, &r->n_target)) != 0)
			return rc;
		if (r->n_target == 0)
			return verr(v, sp, "%s", "at least one target matcher is required (an empty "
			    "list would inhibit every incident)");
		snprintf(sp, sizeof(sp), "%s.equal", path);
		if (json_object_get(x, "equal") != NULL &&
		    (rc = string_list(v, json_object_get(x, "equal"), sp, &r->equal,
		    &r->n_equal)) != 0)
			return rc;
		for (size_t j = 0; j < r->n_equal; j++) {
			char ep[128];

			snprintf(ep, sizeof(ep), "%s.%zu", sp, j);
			if (!matcher_field_known(r->equal[j]))
				return verr(v, ep, "'%s' is not an event field (cluster, app, labels.X, "
				    "...)", r->equal[j]);
		}
		/* the rule as written identifies its rows in the ledger across reloads */
		if ((id = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
			return -ENOMEM;
		r->id = id;
	}
	return 0;
}

static int
config_build(struct config *cfg, char *err, size_t errlen)
{
	struct vctx v = { .cfg = cfg, .err = err, .errlen = errlen };
	int rc;

	if ((rc = load_top(&v)) || (rc = load_sources(&v)) || (rc = load_clusters(&v)) ||
	    (rc = load_sinks(&v)) || (rc = load_intervals(&v)) || (rc = load_routes(&v)) ||
	    (rc = load_inhibits(&v)) || (rc = check_retention(&v)))
		return rc;
	return 0;
}

/* --- merge --------------------------------------------------------------------------- */

/* Drop where entries at path and below (the value is replaced). */
static void
where_drop(json_t *where, const char *path)
{
	size_t n = strlen(path);
	const char *k;
	json_t *val, *tmp;

	json_object_foreach_safe(where, tmp, k, val) {
		if (strncmp(k, path, n) == 0 && (k[n] == '\0' || k[n] == '.'))
			json_object_del(where, k);
	}
}

/* Copy where entries of src at path and below into dst, renumbering a top-level routes
 * index by offset. */
static int
where_copy(json_t *dst, const json_t *src, const char *path, size_t route_offset)
{
	size_t n = strlen(path);
	const char *k;
	json_t *val;
	char buf[1024];

	json_object_foreach((json_t *)src, k, val) {
		const char *to = k;   /* k itself drives the iteration: never reassign it */

		if (strncmp(k, path, n) != 0 || (k[n] != '\0' && k[n] != '.'))
			continue;
		if (route_offset > 0 && strncmp(k, "routes.", 7) == 0) {
			char *end;
			unsigned long idx = strtoul(k + 7, &end, 10);

			snprintf(buf, sizeof(buf), "routes.%lu%s", idx + route_offset, end);
			to = buf;
		}
		if (json_object_set(dst, to, val) != 0)
			return -ENOMEM;
	}
	return 0;
}

/* Merge src (one file) into dst at path: mappings recursively, top-level routes appended,
 * anything else replaced. */
static int
merge_into(json_t *dst, json_t *dwhere, const json_t *src, const json_t *swhere,
    const char *path)
{
	const char *k;
	json_t *sv;
	char child[1024];
	int rc;

	json_object_foreach((json_t *)src, k, sv) {
		json_t *dv = json_object_get(dst, k);

		snprintf(child, sizeof(child), "%s%s%s", path, path[0] ? "." : "", k);
		if (path[0] == '\0' && strcmp(k, "routes") == 0 && json_is_array(dv) &&
		    json_is_array(sv)) {
			size_t off = json_array_size(dv);

			if (json_array_extend(dv, sv) != 0)
				return -ENOMEM;
			if ((rc = where_copy(dwhere, swhere, "routes", off)) != 0)
				return rc;
			continue;
		}
		if (json_is_object(dv) && json_is_object(sv)) {
			if ((rc = merge_into(dv, dwhere, sv, swhere, child)) != 0)
				return rc;
			continue;
		}
		where_drop(dwhere, child);
		if (json_object_set(dst, k, sv) != 0)
			return -ENOMEM;
		if ((rc = where_copy(dwhere, swhere, child, 0)) != 0)
			return rc;
	}
	return 0;
}

/* --- loading ------------------------------------------------------------------------- */

static struct config *
config_alloc(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	cfg->root = json_object();
	cfg->where = json_object();
	if (cfg->root == NULL || cfg->where == NULL) {
		config_destroy(cfg);
		return NULL;
	}
	return cfg;
}

static int
merge_text(struct config *cfg, const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	json_t *doc = NULL, *where = json_object();
	int rc;

	if (where == NULL)
		return -ENOMEM;
	rc = yaml_json_parse(text, len, name, &doc, where, err, errlen);
	if (rc == 0)
		rc = merge_into(cfg->root, cfg->where, doc, where, "");
	json_decref(doc);
	json_decref(where);
	return rc;
}

static int
read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	*out = NULL;
	if (f == NULL)
		return -errno;
	for (;;) {
		size_t got;

		if (n + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > CONFIG_MAX_FILE + 8192) {
				rc = -EFBIG;
				goto out;
			}
			nb = realloc(buf, cap);
			if (nb == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				rc = -EIO;
			break;
		}
	}
	if (rc == 0) {
		buf[n] = '\0';
		*out = buf;
		*len = n;
		buf = NULL;
	}
out:
	free(buf);
	fclose(f);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_yaml(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	    (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

int
config_load_dir(const char *dir, struct config **out, char *err, size_t errlen)
{
	struct config *cfg = NULL;
	DIR *d = NULL;
	struct dirent *de;
	char **names = NULL, path[4096], *text = NULL;
	size_t n = 0, cap = 0, len = 0;
	int rc = 0;

	*out = NULL;
	err[0] = '\0';
	d = opendir(dir);
	if (d == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_yaml(de->d_name))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nn));

			if (nn == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "no *.yaml files in %s", dir);
		rc = -ENOENT;
		goto out;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	cfg = config_alloc();
	if (cfg == NULL || (cfg->dir = strdup(dir)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t dl = strlen(dir);

		snprintf(path, sizeof(path), "%s%s%s", dir, (dl && dir[dl - 1] == '/') ? "" : "/",
		    names[i]);
		rc = read_file(path, &text, &len);
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", path, rc == -EFBIG ? "file too large" :
			    strerror(-rc));
			goto out;
		}
		rc = merge_text(cfg, text, len, path, err, errlen);
		free(text);
		text = NULL;
		if (rc != 0)
			goto out;
	}
	rc = config_build(cfg, err, errlen);
	if (rc != 0)
		goto out;
	*out = cfg;
	cfg = NULL;
out:
	if (rc == -ENOMEM && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d != NULL)
		closedir(d);
	config_destroy(cfg);
	return rc;
}

int
config_load_string(const char *yaml, const char *name, struct config **out, char *err,
    size_t errlen)
{
	struct config *cfg = config_alloc();
	int rc;

	*out = NULL;
	err[0] = '\0';
	if (cfg == NULL)
		return -ENOMEM;
	rc = merge_text(cfg, yaml, strlen(yaml), name, err, errlen);
	if (rc == 0)
		rc = config_build(cfg, err, errlen);
	if (rc != 0) {
		config_destroy(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

static void
auth_clear(struct config_auth *a)
{
	free(a->token);
	free(a->username);
	free(a->password);
	free(a->hmac_key);
}

/* Free a route list and everything below it. */
static void
routes_free(struct config_route *routes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct config_route *r = &routes[i];

		free(r->name);
		for (size_t j = 0; j < r->n_sinks; j++)
			free(r->sinks[j]);
		free(r->sinks);
		for (size_t j = 0; j < r->n_group_by; j++)
			free(r->group_by[j]);
		free(r->group_by);
		for (size_t j = 0; j < r->n_matchers; j++)
			matcher_clear(&r->matchers[j]);
		free(r->matchers);
		routes_free(r->routes, r->n_routes);
		free(r->mute);
		free(r->active);
		free(r->where);
	}
	free(routes);
}

void
config_destroy(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->listen);
	free(cfg->db_path);
	free(cfg->db_url);
	free(cfg->log_format);
	free(cfg->log_level);
	free(cfg->publish);
	auth_clear(&cfg->api_auth);
	auth_clear(&cfg->metrics_auth);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_client_ca);
	for (size_t i = 0; i < cfg->n_allowed_hosts; i++)
		free(cfg->allowed_hosts[i]);
	free(cfg->allowed_hosts);
	for (size_t i = 0; i < cfg->n_allowed_origins; i++)
		free(cfg->allowed_origins[i]);
	free(cfg->allowed_origins);
	for (size_t i = 0; i < cfg->n_sources; i++) {
		free(cfg->sources[i].name);
		free(cfg->sources[i].pull);
		free(cfg->sources[i].format);
		if (cfg->sources[i].signing_secret != NULL) {
			OPENSSL_cleanse(cfg->sources[i].signing_secret,
			    strlen(cfg->sources[i].signing_secret));
			free(cfg->sources[i].signing_secret);
		}
		auth_clear(&cfg->sources[i].auth);
	}
	free(cfg->sources);
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		struct config_sink *s = &cfg->sinks[i];

		free(s->name);
		free(s->plugin);
		free(s->after);
		json_decref(s->options);
		free(s->where);
		free(s->trigger_label);
		for (size_t j = 0; j < s->n_allowed_actors; j++)
			free(s->allowed_actors[j]);
		free(s->allowed_actors);
	}
	free(cfg->sinks);
	routes_free(cfg->routes, cfg->n_routes);
	for (size_t i = 0; i < cfg->n_intervals; i++) {
		free(cfg->intervals[i].name);
		for (size_t j = 0; j < cfg->intervals[i].n_specs; j++)
			ti_spec_clear(&cfg->intervals[i].specs[j]);
		free(cfg->intervals[i].specs);
	}
	free(cfg->intervals);
	for (size_t i = 0; i < cfg->n_inhibits; i++) {
		struct config_inhibit *r = &cfg->inhibits[i];

		for (size_t j = 0; j < r->n_source; j++)
			matcher_clear(&r->source[j]);
		for (size_t j = 0; j < r->n_target; j++)
			matcher_clear(&r->target[j]);
		free(r->source);
		free(r->target);
		for (size_t j = 0; j < r->n_equal; j++)
			free(r->equal[j]);
		free(r->equal);
		free(r->id);
		free(r->where);
	}
	free(cfg->inhibits);
	json_decref(cfg->clusters);
	free(cfg->dir);
	json_decref(cfg->root);
	json_decref(cfg->where);
	free(cfg);
}

const char *
config_where(const struct config *cfg, const char *path)
{
	return json_string_value(json_object_get(cfg->where, path));
}

static const struct config_route *
find_route_in(const struct config_route *routes, size_t n, const char *name)
{
	const struct config_route *r;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(routes[i].name, name) == 0)
			return &routes[i];
		if ((r = find_route_in(routes[i].routes, routes[i].n_routes, name)) != NULL)
			return r;
	}
	return NULL;
}

const struct config_route *
config_find_route(const struct config *cfg, const char *name)
{
	return name ? find_route_in(cfg->routes, cfg->n_routes, name) : NULL;
}

const struct config_sink *
config_find_sink(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_sinks; i++)
		if (cfg->sinks[i].name != NULL && strcmp(cfg->sinks[i].name, name) == 0)
			return &cfg->sinks[i];
	return NULL;
}

const struct config_source *
config_find_source(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_sources; i++)
		if (strcmp(cfg->sources[i].name, name) == 0)
			return &cfg->sources[i];
	return NULL;
}

bool
config_listen_is_loopback(const char *listen)
{
	char host[256];
	const char *colon;
	size_t n;

	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');

		if (end == NULL)
			return false;
		n = (size_t)(end - listen - 1);
		listen++;
	} else {
		colon = strrchr(listen, ':');
		n = colon ? (size_t)(colon - listen) : strlen(listen);
	}
	if (n == 0 || n >= sizeof(host))
		return false;   /* ":9740" binds every address */
	memcpy(host, listen, n);
	host[n] = '\0';
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "localhost") == 0;
}

/* tcp://HOST:PORT or ws://HOST:PORT[/path] on a loopback host; ipc:// is always local. */
static bool
nn_address_is_local(const char *addr)
{
	char host[300];
	const char *p, *end;

	if (strncmp(addr, "ipc://", 6) == 0)
		return true;
	p = strstr(addr, "://");
	if (p == NULL)
		return false;
	p += 3;
	end = strchr(p, '/');
	snprintf(host, sizeof(host), "%.*s", end ? (int)(end - p) : (int)strlen(p), p);
	/* nanomsg's "tcp://local;remote:port" form: the local part is what is bound */
	if (strchr(host, ';') != NULL)
		*strchr(host, ';') = '\0';
	return config_listen_is_loopback(host);
}

const struct config_auth *
config_metrics_auth(const struct config *cfg)
{
	return cfg->metrics_auth.kind != AUTH_UNSET ? &cfg->metrics_auth : &cfg->api_auth;
}

/* "<file:line>: " of path, or "" (buf must hold it). */
static const char *
where_prefix(const struct config *cfg, const char *path, char *buf, size_t len)
{
	const char *where = config_where(cfg, path);

	snprintf(buf, len, "%s%s", where ? where : "", where ? ": " : "");
	return buf;
}

int
config_check_exposure(const struct config *cfg, char *err, size_t errlen)
{
	bool open_listener = cfg->listen != NULL && !config_listen_is_loopback(cfg->listen);
	char path[128], at[160];

	for (size_t i = 0; i < cfg->n_sources; i++) {
		const struct config_source *cs = &cfg->sources[i];

		/* slack authenticates every request with its signing secret */
		if (!cs->enabled || cs->auth.kind != AUTH_UNSET || cs->signing_secret != NULL)
			continue;
		if (strcmp(cs->name, "nanomsg") == 0) {
			if (cs->pull == NULL || nn_address_is_local(cs->pull))
				continue;
			snprintf(err, errlen, "%ssources.nanomsg.pull: %s is not a local address "
			    "and nanomsg has no authentication: use ipc:// or a loopback tcp:// "
			    "address, or set auth: none to accept anyone",
			    where_prefix(cfg, "sources.nanomsg.pull", at, sizeof(at)), cs->pull);
			return -EINVAL;
		}
		if (!open_listener)
			continue;
		snprintf(path, sizeof(path), "sources.%s", cs->name);
		snprintf(err, errlen, "%ssources.%s has no auth while listening on %s (not "
		    "loopback): set auth: { bearer: ... } / { basic: ... } / { hmac: ... }, or "
		    "auth: none to accept anyone", where_prefix(cfg, path, at, sizeof(at)),
		    cs->name, cfg->listen);
		return -EINVAL;
	}
	if (open_listener && cfg->api_auth.kind == AUTH_UNSET) {
		snprintf(err, errlen, "%sserver.api_auth is not set while listening on %s (not "
		    "loopback): the read API (/v1/incidents, /v1/events, /v1/deliveries), "
		    "/metrics and /-/reload need it: set server.api_auth: { bearer: ... } or "
		    "{ basic: ... }, or api_auth: none to serve them to anyone",
		    where_prefix(cfg, "server", at, sizeof(at)), cfg->listen);
		return -EINVAL;
	}
	if (cfg->publish != NULL && !cfg->publish_allow_remote &&
	    !nn_address_is_local(cfg->publish)) {
		snprintf(err, errlen, "%sserver.publish: %s is not a local address and every "
		    "event is streamed to any subscriber: use ipc:// or a loopback tcp:// "
		    "address, or set server.publish_allow_remote: true",
		    where_prefix(cfg, "server.publish", at, sizeof(at)), cfg->publish);
		return -EINVAL;
	}
	return 0;
}
