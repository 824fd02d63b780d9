/* main.c - incidentd: options, start-up, signals (SIGHUP reload, SIGTERM drain). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "autoconf.h"
#include "config.h"
#include "daemon.h"
#include "dispatcher.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "nanomsg.h"
#include "paths.h"
#include "plugin.h"
#include "reconcile.h"
#include "retention.h"
#include "router.h"
#include "server.h"
#include "store.h"
#include "tls.h"

#define DRAIN_TIMEOUT_MS 10000
#define DRAIN_POLL_MS 50

struct options {
	const char *config_dir;     /* -c, else paths_confdir when it exists, else NULL */
	const char *listen;
	const char *db;
	const char *plugin_dir;
	const char *state_dir_opt;  /* --state-dir */
	const char *runtime_dir_opt;
	const char *log_format;
	const char *log_level;
	int check_config;
	char state_dir[4096];       /* chosen at start (paths_state_dir) */
	char runtime_dir[4096];
};

/* Configurations replaced by a reload; sink sets built from them may still be finishing
 * deliveries, so they are kept until exit. */
struct retired_config {
	struct retired_config *next;
	struct config *cfg;
};

struct runtime {
	struct daemon dmn;
	struct options opt;
	struct retired_config *retired;
	struct event *sig_hup, *sig_term, *sig_int, *drain_timer;
	int64_t drain_deadline;
	int exit_code;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: incidentd [OPTIONS]\n"
	    "Turn deployment failures and alerts into incidents, GitHub issues and more.\n"
	    "\n"
	    "  -c, --config DIR       conf.d directory; every *.yaml in it is merged in lexical\n"
	    "                         order (default %s when it exists,\n"
	    "                         else the embedded default configuration)\n"
	    "  -l, --listen HOST:PORT listen address (default 127.0.0.1:9740; port 0 = any)\n"
	    "  -d, --db PATH          SQLite ledger (default: ledger.path, incidentd.db in the\n"
	    "                         state directory)\n"
	    "      --state-dir DIR    where a relative ledger.path lives (default\n"
	    "                         $STATE_DIRECTORY, else %s)\n"
	    "      --runtime-dir DIR  where relative ipc:// sockets live (default\n"
	    "                         $RUNTIME_DIRECTORY, else %s)\n"
	    "      --plugin-dir DIR   where sink plugins (*.so) live (default\n"
	    "                         $INCIDENTD_PLUGIN_DIR, else %s)\n"
	    "      --check-config     validate the configuration (and sink options), then exit\n"
	    "                         0 when valid, 1 with a message when not\n"
	    "      --log-format FMT   text (default) or json\n"
	    "      --log-level LEVEL  debug, info (default), warn or error\n"
	    "  -V, --version          print the version and exit\n"
	    "  -h, --help             print this help and exit\n"
	    "\n"
	    "Signals: SIGHUP reloads the configuration; SIGTERM/SIGINT drain and exit.\n",
	    paths_confdir, paths_statedir, paths_runtimedir, paths_plugindir);
}

/* The directories not given on the command line: the installed conf.d when it exists (a
 * build that is not installed runs on the embedded defaults), the state and runtime
 * directories from the environment or the installation. Returns 0 or -EINVAL. */
static int
choose_dirs(struct options *o)
{
	struct stat st;

	if (o->config_dir == NULL && stat(paths_confdir, &st) == 0 && S_ISDIR(st.st_mode))
		o->config_dir = paths_confdir;
	if (paths_state_dir(o->state_dir_opt, o->state_dir, sizeof(o->state_dir)) != 0 ||
	    paths_runtime_dir(o->runtime_dir_opt, o->runtime_dir, sizeof(o->runtime_dir)) != 0) {
		fprintf(stderr, "incidentd: the state or runtime directory name is too long\n");
		return -EINVAL;
	}
	return 0;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_PLUGIN_DIR = 256, OPT_CHECK, OPT_LOG_FORMAT, OPT_LOG_LEVEL, OPT_STATE_DIR,
		OPT_RUNTIME_DIR };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:l:d:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config_dir = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'd': o->db = optarg; break;
		case OPT_PLUGIN_DIR: o->plugin_dir = optarg; break;
		case OPT_STATE_DIR: o->state_dir_opt = optarg; break;
		case OPT_RUNTIME_DIR: o->runtime_dir_opt = optarg; break;
		case OPT_CHECK: o->check_config = 1; break;
		case OPT_LOG_FORMAT: o->log_format = optarg; break;
		case OPT_LOG_LEVEL: o->log_level = optarg; break;
		case 'V':
			printf("incidentd %s (%s; sink ABI %d)\n", PACKAGE_VERSION,
			    INCIDENTD_BUILD_KIND, INCIDENTD_SINK_ABI_VERSION);
			return 1;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "incidentd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return choose_dirs(o);
}

static int
load_config(const struct options *o, struct config **out, char *err, size_t errlen)
{
	if (o->config_dir)
		return config_load_dir(o->config_dir, out, err, errlen);
	return config_load_string(config_embedded_defaults, "<embedded defaults>", out, err,
	    errlen);
}

/* Apply logging settings: command line over configuration. */
static int
setup_logging(const struct options *o, const struct config *cfg)
{
	enum log_format fmt = LOG_FMT_TEXT;
	enum log_level lvl = LOG_LVL_INFO;
	const char *f = o->log_format ? o->log_format : (cfg ? cfg->log_format : NULL);
	const char *l = o->log_level ? o->log_level : (cfg ? cfg->log_level : NULL);

	if (f && log_parse_format(f, &fmt) != 0) {
		fprintf(stderr, "incidentd: --log-format must be text or json\n");
		return -EINVAL;
	}
	if (l && log_parse_level(l, &lvl) != 0) {
		fprintf(stderr, "incidentd: --log-level must be debug, info, warn or error\n");
		return -EINVAL;
	}
	log_setup(fmt, lvl);
	return 0;
}

static const char *
plugin_dir(const struct options *o)
{
	const char *env = getenv("INCIDENTD_PLUGIN_DIR");

	if (o->plugin_dir)
		return o->plugin_dir;
	return env && *env ? env : paths_plugindir;
}

static int apply_overrides(const struct options *o, struct config *cfg, char *err,
    size_t errlen);

/* --check-config: parse, validate, and let every sink plugin validate its options. */
static int
check_config(const struct options *o)
{
	struct config *cfg = NULL;
	struct event_base *base = NULL;
	struct plugin_host *host = NULL;
	struct sink_set *set = NULL;
	struct tls_server *tls = NULL;
	char err[2048];
	int rc;

	rc = load_config(o, &cfg, err, sizeof(err));
	if (rc == 0)
		rc = apply_overrides(o, cfg, err, sizeof(err));
	if (rc == 0 && (base = event_base_new()) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = plugin_host_new(base, &host);
	if (rc == 0)
		rc = sink_set_load(host, plugin_dir(o), cfg, &set, err, sizeof(err));
	if (rc == 0 && (rc = tls_server_new(cfg, &tls, err, sizeof(err))) == 0)
		tls_server_free(tls);
	if (rc == 0)
		printf("configuration OK: %s (%zu source(s), %zu sink(s), %zu route(s))\n",
		    o->config_dir ? o->config_dir : "embedded defaults", cfg->n_sources,
		    cfg->n_sinks, cfg->n_routes);
	else
		fprintf(stderr, "incidentd: invalid configuration: %s\n", err);
	sink_set_destroy(set);
	plugin_host_destroy(host);
	if (base)
		event_base_free(base);
	config_destroy(cfg);
	return rc == 0 ? 0 : 1;
}

/* Command-line options win over the configuration; relative paths are resolved (paths.h);
 * then the exposure check (an unauthenticated source on a non-loopback address). Returns
 * 0, -ENOMEM or -EINVAL, with the reason in err. */
static int
apply_overrides(const struct options *o, struct config *cfg, char *err, size_t errlen)
{
	char *listen = o->listen ? strdup(o->listen) : NULL;
	char *db = o->db ? strdup(o->db) : NULL;

	if ((o->listen && !listen) || (o->db && !db)) {
		free(listen);
		free(db);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (listen) {
		free(cfg->listen);
		cfg->listen = listen;
	}
	if (db) {
		free(cfg->db_path);
		cfg->db_path = db;
		free(cfg->db_url);      /* --db names the ledger, whatever conf.d says */
		cfg->db_url = NULL;
	}
	if (paths_resolve_config(cfg, o->state_dir, o->runtime_dir, o->db != NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return config_check_exposure(cfg, err, errlen);
}

static void
on_committed(void *arg, int n_deliveries)
{
	struct runtime *rt = arg;

	(void)n_deliveries;
	dispatcher_kick(rt->dmn.disp);
}

/* Every newly committed event goes to the live tail, with its incident key. */
static void
on_event(void *arg, const struct ievent *ev)
{
	struct runtime *rt = arg;

	if (rt->dmn.pub != NULL)
		publisher_send_event(rt->dmn.pub, ev, ev->incident_key);
}

static bool
str_changed(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* The nanomsg sockets are bound at start; say what a reload cannot change. */
static void
reload_warn_nanomsg(const struct config *old, const struct config *cfg)
{
	const struct config_source *a = config_find_source(old, "nanomsg");
	const struct config_source *b = config_find_source(cfg, "nanomsg");
	const char *pa = a && a->enabled ? a->pull : NULL;
	const char *pb = b && b->enabled ? b->pull : NULL;

	if (str_changed(old->publish, cfg->publish))
		log_warn("main", "server.publish changed to %s: takes effect after a restart",
		    cfg->publish ? cfg->publish : "(off)");
	if (pb != NULL && str_changed(pa, pb))
		log_warn("main", "sources.nanomsg.pull changed to %s: takes effect after a "
		    "restart", pb);
	else if (pa != NULL && pb == NULL)
		log_warn("main", "sources.nanomsg disabled: messages are refused; the socket "
		    "closes at the next restart");
}

/* Load conf.d again and swap it in atomically; on any error keep the active one. Returns
 * 0, or a negative errno with the reason (file:line: ...) in err. */
static int
reload(struct runtime *rt, char *err, size_t errlen)
{
	struct daemon *dmn = &rt->dmn;
	struct config *cfg = NULL;
	struct sink_set *set = NULL;
	struct retired_config *ret = NULL;
	struct tls_server *tls = NULL;
	int rc;

	if (dmn->draining) {
		snprintf(err, errlen, "incidentd is shutting down");
		return -ESHUTDOWN;
	}
	/* Requests already accepted are committed under the configuration they came in with. */
	ingest_flush(dmn->ingest);
	rc = load_config(&rt->opt, &cfg, err, errlen);
	if (rc == 0)
		rc = apply_overrides(&rt->opt, cfg, err, errlen);
	if (rc == 0)
		rc = sink_set_load(dmn->phost, dmn->plugin_dir, cfg, &set, err, errlen);
	if (rc == 0)   /* certificates are read again: renewed ones take effect */
		rc = tls_server_new(cfg, &tls, err, errlen);
	if (rc == 0 && (ret = calloc(1, sizeof(*ret))) == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
	}
	if (rc != 0) {
		log_error("main", "reload failed, keeping the active configuration: %s", err);
		metrics_inc("incidentd_config_reloads_total", "result=\"failed\"");
		sink_set_destroy(set);
		tls_server_free(tls);
		config_destroy(cfg);
		return rc;
	}
	if (strcmp(cfg->listen, dmn->cfg->listen) != 0)
		log_warn("main", "server.listen changed to %s: takes effect after a restart",
		    cfg->listen);
	if (strcmp(cfg->db_path, dmn->cfg->db_path) != 0 ||
	    (cfg->db_url == NULL) != (dmn->cfg->db_url == NULL) ||
	    (cfg->db_url != NULL && strcmp(cfg->db_url, dmn->cfg->db_url) != 0))
		log_warn("main", "ledger.path or ledger.url changed: takes effect after a restart");
	reload_warn_nanomsg(dmn->cfg, cfg);
	setup_logging(&rt->opt, cfg);
	ret->cfg = dmn->cfg;
	ret->next = rt->retired;
	rt->retired = ret;
	sink_set_destroy(dmn->sinks);   /* really freed once its in-flight deliveries end */
	dmn->cfg = cfg;
	dmn->sinks = set;
	ingest_set_config(dmn->ingest, cfg);
	server_apply_config(dmn->server, cfg, tls);
	dispatcher_set_sinks(dmn->disp, set, cfg);
	retention_apply_config(dmn->retention, cfg);
	reconcile_apply_config(dmn->reconcile, cfg);
	metrics_inc("incidentd_config_reloads_total", "result=\"ok\"");
	log_info("main", "configuration reloaded: %zu sink(s), %zu route(s)", cfg->n_sinks,
	    cfg->n_routes);
	return 0;
}

/* POST /-/reload (incidentctl reload): the same as SIGHUP, with the answer. */
static int
reload_requested(void *arg, char *err, size_t errlen)
{
	return reload(arg, err, errlen);
}

static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct runtime *rt = arg;
	struct daemon *dmn = &rt->dmn;

	(void)fd;
	(void)what;
	dispatcher_flush_results(dmn->disp);
	if (dispatcher_inflight(dmn->disp) == 0 || util_mono_ms() >= rt->drain_deadline) {
		if (dispatcher_inflight(dmn->disp) > 0)
			log_warn("main", "%zu delivery(ies) still running; they resume at the next "
			    "start", dispatcher_inflight(dmn->disp));
		event_base_loopbreak(dmn->base);
	}
}

static void
drain(struct runtime *rt)
{
	struct daemon *dmn = &rt->dmn;
	struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };

	if (dmn->draining) {
		log_warn("main", "second signal: exiting now");
		event_base_loopbreak(dmn->base);
		return;
	}
	log_info("main", "draining: no new connections, finishing accepted work");
	dmn->draining = true;
	server_stop_listening(dmn->server);
	nnsource_stop(dmn->nnsrc);
	ingest_flush(dmn->ingest);
	dispatcher_drain(dmn->disp);
	sink_set_flush(dmn->sinks);
	rt->drain_deadline = util_mono_ms() + DRAIN_TIMEOUT_MS;
	rt->drain_timer = event_new(dmn->base, -1, EV_PERSIST, drain_check, rt);
	if (rt->drain_timer == NULL || event_add(rt->drain_timer, &tv) != 0)
		event_base_loopbreak(dmn->base);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct runtime *rt = arg;

	(void)what;
	if (sig == SIGHUP) {
		char err[2048];

		(void)reload(rt, err, sizeof(err));   /* logged either way */
	} else {
		drain(rt);
	}
}

/* The live tail's PUB socket (server.publish) and the nanomsg source, when configured. */
static int
start_nanomsg(struct runtime *rt, char *err, size_t errlen)
{
	struct daemon *dmn = &rt->dmn;
	const struct config_source *cs = config_find_source(dmn->cfg, "nanomsg");
	int rc;

	if (dmn->cfg->publish != NULL) {
		rc = publisher_new(dmn->cfg->publish, &dmn->pub, err, errlen);
		if (rc != 0)
			return rc;
		ingest_set_observer(dmn->ingest, on_event, rt);
	}
	if (cs != NULL && cs->enabled)
		return nnsource_new(dmn, cs->pull, &dmn->nnsrc, err, errlen);
	return 0;
}

static int
pace_reserve_ledger(void *arg, const char *lane, int64_t now, uint64_t gap_ms,
    uint64_t *wait_ms)
{
	return store_pace_reserve(arg, lane, now, gap_ms, wait_ms);
}

static int
pace_hold_ledger(void *arg, const char *lane, int64_t until)
{
	return store_pace_hold(arg, lane, until);
}

static int
quota_take_ledger(void *arg, const char *name, int64_t period_ms, int64_t limit)
{
	return store_quota_take(arg, name, period_ms, limit);
}

static int
slot_take_ledger(void *arg, const char *name, int64_t delivery_id, int64_t max)
{
	return store_slot_take(arg, name, delivery_id, max);
}

static int
slot_release_ledger(void *arg, const char *name, int64_t delivery_id)
{
	return store_slot_release(arg, name, delivery_id);
}

static struct plugin_shared shared_ledger = {
	.reserve = pace_reserve_ledger,
	.hold = pace_hold_ledger,
	.quota_take = quota_take_ledger,
	.slot_take = slot_take_ledger,
	.slot_release = slot_release_ledger,
};

static int
run(struct runtime *rt)
{
	struct daemon *dmn = &rt->dmn;
	struct tls_server *tls = NULL;
	const char *ledger;
	char err[2048], shown[1024];
	int rc;

	dmn->base = event_base_new();
	if (dmn->base == NULL) {
		log_error("main", "cannot create the event loop");
		return -ENOMEM;
	}
	ledger = dmn->cfg->db_url != NULL ? dmn->cfg->db_url : dmn->cfg->db_path;
	store_target_display(ledger, shown, sizeof(shown));
	rc = dmn->cfg->db_url != NULL ? store_open_pg(ledger, &dmn->store, err, sizeof(err)) :
	    store_open(ledger, &dmn->store, err, sizeof(err));
	if (rc != 0) {
		log_error("main", "cannot open the ledger %s: %s", shown, err);
		return rc;
	}
	rc = plugin_host_new(dmn->base, &dmn->phost);
	if (rc == 0 && store_is_shared(dmn->store)) {
		/* replicas pace together (>= 1 s between mutating GitHub requests per token,
		 * whichever replica makes them) and share the sinks' quotas and slots (e.g.
		 * the copilot_runner's daily budget and max_concurrent) */
		shared_ledger.arg = dmn->store;
		plugin_host_share(dmn->phost, &shared_ledger);
	}
	if (rc == 0)
		rc = sink_set_load(dmn->phost, dmn->plugin_dir, dmn->cfg, &dmn->sinks, err,
		    sizeof(err));
	if (rc != 0) {
		log_error("main", "%s", err);
		return rc;
	}
	rc = ingest_new(dmn->base, dmn->store, on_committed, rt, &dmn->ingest);
	/* PostgreSQL makes each commit durable itself (synchronous_commit) */
	if (rc == 0 && !store_is_shared(dmn->store) &&
	    (rc = ingest_enable_sync(dmn->ingest)) != 0) {
		log_warn("main", "cannot sync the ledger off the event loop (%s): every commit "
		    "fsyncs on it", strerror(-rc));
		rc = 0;
	}
	if (rc == 0)
		rc = dispatcher_new(dmn->base, dmn->store, &dmn->disp);
	if (rc == 0 && store_is_shared(dmn->store)) {
		/* replicas: this process's claims on the deliveries it runs */
		char id[64], host[40] = "", rnd[UTIL_ID_LEN + 1];
		const char *env = getenv("INCIDENTD_REPLICA_ID");

		(void)gethostname(host, sizeof(host) - 1);
		util_id_new(rnd);
		if (env != NULL && *env != '\0' && strlen(env) < sizeof(id) &&
		    strspn(env, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		    "-_./:") == strlen(env))
			snprintf(id, sizeof(id), "%s", env);    /* e.g. the pod's name */
		else
			snprintf(id, sizeof(id), "%s/%ld/%.6s", host, (long)getpid(), rnd + 20);
		if (env != NULL && *env != '\0' && strcmp(env, id) != 0)
			log_warn("main", "INCIDENTD_REPLICA_ID must be 1 to 63 of [A-Za-z0-9-_./:]: "
			    "using %s", id);
		store_set_claimant(dmn->store, id, dmn->cfg->lease_ms);
		rc = dispatcher_share(dmn->disp, dmn->cfg->lease_ms);
		log_info("main", "shared ledger: this replica is %s (lease %llds)", id,
		    (long long)(dmn->cfg->lease_ms / 1000));
	}
	if (rc == 0)
		rc = retention_new(dmn->base, dmn->store, &dmn->retention);
	if (rc == 0)
		rc = reconcile_new(dmn->base, dmn->store, dmn->disp, &dmn->reconcile);
	if (rc != 0) {
		log_error("main", "cannot start: %s", strerror(-rc));
		return rc;
	}
	ingest_set_config(dmn->ingest, dmn->cfg);
	dispatcher_set_sinks(dmn->disp, dmn->sinks, dmn->cfg);
	ingest_set_dispatcher(dmn->ingest, dmn->disp);
	retention_apply_config(dmn->retention, dmn->cfg);
	reconcile_apply_config(dmn->reconcile, dmn->cfg);
	rc = tls_server_new(dmn->cfg, &tls, err, sizeof(err));
	if (rc == 0)
		rc = server_new(dmn, dmn->cfg->listen, tls, &dmn->server, err, sizeof(err));
	if (rc != 0) {
		log_error("main", "%s", err);
		return rc;
	}
	rc = start_nanomsg(rt, err, sizeof(err));
	if (rc != 0) {
		log_error("main", "%s", err);
		return rc;
	}
	rt->sig_hup = evsignal_new(dmn->base, SIGHUP, on_signal, rt);
	rt->sig_term = evsignal_new(dmn->base, SIGTERM, on_signal, rt);
	rt->sig_int = evsignal_new(dmn->base, SIGINT, on_signal, rt);
	if (!rt->sig_hup || !rt->sig_term || !rt->sig_int || evsignal_add(rt->sig_hup, NULL) ||
	    evsignal_add(rt->sig_term, NULL) || evsignal_add(rt->sig_int, NULL)) {
		log_error("main", "cannot install signal handlers");
		return -ENOMEM;
	}
	log_info("main", "incidentd %s ready: config %s, ledger %s, %zu sink(s), %zu route(s)",
	    PACKAGE_VERSION, dmn->config_dir ? dmn->config_dir : "<embedded defaults>",
	    shown, dmn->cfg->n_sinks, dmn->cfg->n_routes);
	if (event_base_dispatch(dmn->base) < 0) {
		log_error("main", "event loop failed");
		return -EIO;
	}
	/* no loop any more to run deliveries on: what is still queued waits in the outbox */
	ingest_set_dispatcher(dmn->ingest, NULL);
	ingest_flush(dmn->ingest);
	dispatcher_flush_results(dmn->disp);
	log_info("main", "stopped");
	return 0;
}

static void
teardown(struct runtime *rt)
{
	struct daemon *dmn = &rt->dmn;
	struct retired_config *r;

	server_destroy(dmn->server);
	nnsource_destroy(dmn->nnsrc);
	ingest_destroy(dmn->ingest);     /* commits what is queued: published below */
	publisher_destroy(dmn->pub);
	sink_set_destroy(dmn->sinks);
	dispatcher_destroy(dmn->disp);
	retention_destroy(dmn->retention);
	reconcile_destroy(dmn->reconcile);
	plugin_host_destroy(dmn->phost);
	store_close(dmn->store);
	if (rt->sig_hup)
		event_free(rt->sig_hup);
	if (rt->sig_term)
		event_free(rt->sig_term);
	if (rt->sig_int)
		event_free(rt->sig_int);
	if (rt->drain_timer)
		event_free(rt->drain_timer);
	config_destroy(dmn->cfg);
	while ((r = rt->retired) != NULL) {
		rt->retired = r->next;
		config_destroy(r->cfg);
		free(r);
	}
	metrics_reset();
	if (dmn->base)
		event_base_free(dmn->base);
}

/* What the process is allowed and how it creates files, before anything else runs: no
 * core dumps and no ptrace or /proc/<pid>/environ for other processes of the same user
 * (agents run by copilot_runner must not read the daemon's secrets); files and sockets
 * private to the daemon's user unless made otherwise; the open-files limit raised to its
 * hard limit (server.max_connections is capped below it, see server.c). */
#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer's exit-time check stops the process with ptrace, which a non-dumpable
 * process refuses to a tracer without CAP_SYS_PTRACE: sanitizer builds become dumpable
 * again when they exit (this runs before LeakSanitizer's own atexit handler). */
static void
dumpable_at_exit(void)
{
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}
#endif

static void
harden_process(void)
{
	struct rlimit rl;

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#if defined(__SANITIZE_ADDRESS__)
	atexit(dumpable_at_exit);
#endif
	umask(077);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max;

		if (want == RLIM_INFINITY || want > 1048576)
			want = 1048576;
		if (want > rl.rlim_cur) {
			rl.rlim_cur = want;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
}

int
main(int argc, char **argv)
{
	struct runtime rt;
	char err[2048];
	int rc;

	memset(&rt, 0, sizeof(rt));
	harden_process();
	rc = parse_options(argc, argv, &rt.opt);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (setup_logging(&rt.opt, NULL) != 0)
		return 2;
	if (rt.opt.check_config)
		return check_config(&rt.opt);

	rc = load_config(&rt.opt, &rt.dmn.cfg, err, sizeof(err));
	if (rc != 0) {
		log_error("main", "invalid configuration: %s", err);
		return 1;
	}
	if (setup_logging(&rt.opt, rt.dmn.cfg) != 0) {
		config_destroy(rt.dmn.cfg);
		return 2;
	}
	if (apply_overrides(&rt.opt, rt.dmn.cfg, err, sizeof(err)) != 0) {
		log_error("main", "invalid configuration: %s", err);
		config_destroy(rt.dmn.cfg);
		return 1;
	}
	rt.dmn.config_dir = rt.opt.config_dir;
	rt.dmn.reload = reload_requested;
	rt.dmn.reload_arg = &rt;
	rt.dmn.plugin_dir = plugin_dir(&rt.opt);

	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("main", "cannot initialize libcurl");
		config_destroy(rt.dmn.cfg);
		return 1;
	}
	rc = run(&rt);
	teardown(&rt);
	curl_global_cleanup();
	libevent_global_shutdown();
	return rc == 0 ? 0 : 1;
}
