/* incidentctl.c - read the incidentd ledger from the command line.
 *
 *   incidentctl [--db PATH] [--json] COMMAND [OPTIONS]   (--db and --json may also follow
 *                                                        the command)
 *
 * Exit status: 0 on success, 1 on error ("incidentctl: <message>" on stderr), 2 on a usage
 * error. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <jansson.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>

#if defined(__has_include)
#if __has_include("autoconf.h")
#include "autoconf.h"
#endif
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#include "paths.h"
#include "store.h"
#include "backup.h"
#include "rules.h"
#include "ops.h"
#include "safeout.h"
#include "table.h"

#define TABLE_WIDTH 120

#define EXIT_USAGE 2
#define OPT_GLOBAL_DB 0x100     /* getopt values no command uses for its own options */
#define OPT_GLOBAL_JSON 0x101

struct ctl {
	const char *db;
	bool json;
	struct store *st;
};

/* Printed with the default ledger and tail address (see default_db, default_tail). */
static const char usage_text[] =
"usage: incidentctl [--db PATH] [--json] COMMAND [OPTIONS] [--db PATH] [--json]\n"
"\n"
"Commands:\n"
"  events [--limit N] [--source S] [--incident ID]   list events, newest first\n"
"  event ID                                          one event with its decision trace\n"
"  incidents [--limit N] [--state firing|resolved]   list incidents, newest first;\n"
"    [--since DURATION|TIME] [--app A] [--cluster C] --since: updated since then\n"
"  incident ID                                       one incident with events, deliveries\n"
"  deliveries [--failed] [--incident ID] [--limit N] list sink deliveries\n"
"  explain ID                                        why an event or incident went as it\n"
"                                                    did: routes, transitions, deliveries\n"
"  rules test --config DIR --event FILE... [--source S] [--expect FILE]\n"
"                                                    route payloads offline (no ledger;\n"
"                                                    --event may repeat)\n"
"  silence add MATCHER... (--for DUR | --until TIME) --comment TEXT [--starts TIME]\n"
"          [--author NAME]                           keep matching events from sinks\n"
"  silence list [--all]                              active (or all) silences\n"
"  silence expire ID                                 end a silence now\n"
"  stats [--since DURATION|TIME]                     incidents per cluster and app, time\n"
"                                                    to resolve, the noisiest (default 7d)\n"
"  ack ID [--comment TEXT] [--author NAME] [--undo]  acknowledge a firing incident: no\n"
"                                                    update notifications until it\n"
"                                                    resolves (--undo withdraws it)\n"
"  resolve ID [--comment TEXT] [--author NAME]       resolve an incident by hand (the\n"
"                                                    sinks told about it get resolve)\n"
"  retry DELIVERY-ID | retry --failed [--sink NAME]  re-drive failed deliveries\n"
"  fire --source argocd|alertmanager|flux [--app A] [--cluster C] [--resolve]\n"
"                                                    a synthetic failure through the\n"
"                                                    daemon (label incidentd_test=true)\n"
"  reload [--url URL] [--token-file F]               reload the daemon's conf.d (like\n"
"                                                    SIGHUP; prints the error if invalid)\n"
"  health [--ready] [--url URL]                      is the daemon alive (GET /healthz),\n"
"                                                    or ready (/readyz)? exit 0 if so\n"
"  backup [--force] FILE                             a consistent, verified copy of the\n"
"                                                    ledger (0600), also while incidentd runs\n"
"  tail [--address ADDR] [--json]                    print every event incidentd accepts,\n"
"                                                    live, until Ctrl-C (one line each:\n"
"                                                    time source status key summary)\n"
"\n"
"Options (--db and --json go before or after the command):\n"
"  --db PATH    the ledger: a SQLite file, or a postgresql:// URI (default\n"
"               $INCIDENTD_DB, else %s)\n"
"  --json       print JSON instead of a table (tail: the event JSON, one per line)\n"
"  --address    tail: incidentd's server.publish address (default $INCIDENTD_TAIL,\n"
"               else %s)\n"
"  --help       this text\n"
"  --version    print the version\n";

/* The ledger incidentd keeps by default: incidentd.db in its state directory
 * ($STATE_DIRECTORY, else the installed one). Written to buf; returns buf. */
static const char *
default_db(char *buf, size_t len)
{
	char dir[4096];

	if (paths_state_dir(NULL, dir, sizeof(dir)) != 0)
		snprintf(dir, sizeof(dir), "%s", paths_statedir);
	snprintf(buf, len, "%s/%s", dir, PATHS_DB_NAME);
	return buf;
}

/* The live tail's default address: server.publish of 00-defaults.yaml (ipc://tail.ipc)
 * in the runtime directory ($RUNTIME_DIRECTORY, else the installed one). */
static const char *
default_tail(char *buf, size_t len)
{
	char dir[4096];

	if (paths_runtime_dir(NULL, dir, sizeof(dir)) != 0)
		snprintf(dir, sizeof(dir), "%s", paths_runtimedir);
	snprintf(buf, len, "ipc://%s/%s", dir, PATHS_TAIL_NAME);
	return buf;
}

static void
ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
ctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("incidentctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("incidentctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'incidentctl --help'.\n", stderr);
	return EXIT_USAGE;
}

/* getopt_long returned '?' (opterr is 0): say which option of what (a command name, or
 * NULL for the global options) was wrong. Returns the usage exit status. */
static int
bad_option(const char *what, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;

	const char *sep = what != NULL ? ": " : "";

	if (what == NULL)
		what = "";
	if (arg != NULL && strncmp(arg, "--", 2) == 0)
		return usage_error("%s%soption '%s' is unknown or needs a value", what, sep, arg);
	return usage_error("%s%soption '-%c' is unknown or needs a value", what, sep,
	    optopt ? optopt : '?');
}

static int
parse_limit(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 1000)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* Report a store error for what; returns the exit status 1. */
static int
store_failed(struct ctl *c, int rc, const char *what, const char *id)
{
	if (rc == -ENOENT && id != NULL)
		ctl_error("no such %s %s", what, id);
	else if (rc == -EIO)
		ctl_error("cannot read %s: %s", what, store_last_error(c->st));
	else
		ctl_error("cannot read %s: %s", what, strerror(-rc));
	return EXIT_FAILURE;
}

static int
print_json(const json_t *v)
{
	if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY) != 0) {
		ctl_error("cannot write JSON");
		return EXIT_FAILURE;
	}
	fputc('\n', stdout);
	return EXIT_SUCCESS;
}

/* A string member of obj, or NULL (printed as "-"). */
static const char *
str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static const char *
dash(const char *s)
{
	return s ? s : "-";
}

/* Time column: "2026-02-10T03:01:12.000Z" -> "2026-02-10 03:01:12". */
static const char *
short_time(const json_t *obj, const char *key, char *buf, size_t len)
{
	const char *t = str(obj, key);

	if (t == NULL)
		return NULL;
	snprintf(buf, len, "%.10s %.8s", t, strlen(t) > 11 ? t + 11 : "");
	return buf;
}

/* On a terminal, its width (a long cell is shortened to fit); into a pipe or file, no
 * limit, so grep and copy-paste get whole values (URLs, keys). */
static size_t
table_width(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO))
		return SIZE_MAX;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return TABLE_WIDTH;
}

static int
print_table(struct table *t, int flex)
{
	if (t == NULL) {
		ctl_error("out of memory");
		return EXIT_FAILURE;
	}
	table_print(t, stdout, table_width(), flex);
	table_free(t);
	return EXIT_SUCCESS;
}

/* Each command's own options (the global --db and --json are taken out before a command
 * parses its arguments: see take_global_options()). */
static const struct option events_options[] = {
	{ "limit", required_argument, NULL, 'n' },
	{ "source", required_argument, NULL, 's' },
	{ "incident", required_argument, NULL, 'i' },
	{ NULL, 0, NULL, 0 },
};
static const struct option incidents_options[] = {
	{ "limit", required_argument, NULL, 'n' },
	{ "state", required_argument, NULL, 's' },
	{ "since", required_argument, NULL, 'S' },
	{ "app", required_argument, NULL, 'a' },
	{ "cluster", required_argument, NULL, 'c' },
	{ NULL, 0, NULL, 0 },
};
static const struct option deliveries_options[] = {
	{ "limit", required_argument, NULL, 'n' },
	{ "failed", no_argument, NULL, 'f' },
	{ "incident", required_argument, NULL, 'i' },
	{ NULL, 0, NULL, 0 },
};
static const struct option tail_options[] = {
	{ "address", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 },
};
static const struct option no_options[] = {
	{ NULL, 0, NULL, 0 },
};

static int
cmd_events(struct ctl *c, int argc, char **argv)
{
	static const char *const headers[] = { "ID", "RECEIVED", "SOURCE", "TYPE", "STATUS",
	    "CLUSTER/NAMESPACE/APP", "SUMMARY" };
	struct store_query q = { 0 };
	struct table *t = NULL;
	json_t *arr = NULL, *ev;
	size_t i;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", events_options, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_limit(optarg, &q.limit) != 0)
				return usage_error("--limit must be an integer from 1 to 1000");
			break;
		case 's':
			q.source = optarg;
			break;
		case 'i':
			q.incident_id = optarg;
			break;
		default:
			return bad_option(argv[0], argv);
		}
	}
	if (optind != argc)
		return usage_error("events: unexpected argument '%s'", argv[optind]);
	rc = store_list_events(c->st, &q, &arr);
	if (rc != 0)
		return store_failed(c, rc, "events", NULL);
	if (c->json) {
		rc = print_json(arr);
		goto out;
	}
	t = table_new(7, headers);
	json_array_foreach(arr, i, ev) {
		char when[32], where[512];
		const char *cells[7];

		snprintf(where, sizeof(where), "%s/%s/%s", dash(str(ev, "cluster")),
		    dash(str(ev, "namespace")), dash(str(ev, "app")));
		cells[0] = str(ev, "id");
		cells[1] = short_time(ev, "received_at", when, sizeof(when));
		cells[2] = str(ev, "source");
		cells[3] = str(ev, "type");
		cells[4] = str(ev, "status");
		cells[5] = where;
		cells[6] = str(ev, "summary");
		if (t != NULL && table_add_row(t, cells) != 0) {
			table_free(t);
			t = NULL;
		}
	}
	rc = print_table(t, 6);
out:
	json_decref(arr);
	return rc;
}

/* "#42 https://..." from the first sink result with an issue number (github first). */
static void
issue_cell(const json_t *refs, char *buf, size_t len)
{
	const json_t *r = json_object_get(refs, "github"), *v;
	const char *sink, *url;

	snprintf(buf, len, "-");
	if (json_object_get(r, "issue") == NULL) {
		r = NULL;
		json_object_foreach((json_t *)refs, sink, v) {
			if (json_object_get(v, "issue") != NULL) {
				r = v;
				break;
			}
		}
	}
	if (r == NULL)
		return;
	v = json_object_get(r, "issue");
	url = json_string_value(json_object_get(r, "url"));
	if (json_is_integer(v))
		snprintf(buf, len, "#%lld%s%s", (long long)json_integer_value(v), url ? " " : "",
		    url ? url : "");
	else if (json_is_string(v))
		snprintf(buf, len, "#%s%s%s", json_string_value(v), url ? " " : "", url ? url : "");
}

static int
cmd_incidents(struct ctl *c, int argc, char **argv)
{
	static const char *const headers[] = { "ID", "STATE", "KEY", "EVENTS", "OPENED",
	    "UPDATED", "ISSUE" };
	struct store_query q = { 0 };
	struct table *t = NULL;
	json_t *arr = NULL, *inc;
	size_t i;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", incidents_options, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_limit(optarg, &q.limit) != 0)
				return usage_error("--limit must be an integer from 1 to 1000");
			break;
		case 's':
			if (strcmp(optarg, "firing") != 0 && strcmp(optarg, "resolved") != 0)
				return usage_error("--state must be firing or resolved");
			q.state = optarg;
			break;
		case 'S': {
			int64_t d;

			if (util_parse_duration(optarg, &d) == 0 && d > 0)
				q.since = util_now_ms() - d;
			else if (util_parse_time(optarg, &q.since) != 0)
				return usage_error("--since must be a duration (2h, 7d) or an RFC 3339 "
				    "time");
			break;
		}
		case 'a':
			q.app = optarg;
			break;
		case 'c':
			q.cluster = optarg;
			break;
		default:
			return bad_option(argv[0], argv);
		}
	}
	if (optind != argc)
		return usage_error("incidents: unexpected argument '%s'", argv[optind]);
	rc = store_list_incidents(c->st, &q, &arr);
	if (rc != 0)
		return store_failed(c, rc, "incidents", NULL);
	if (c->json) {
		rc = print_json(arr);
		goto out;
	}
	t = table_new(7, headers);
	json_array_foreach(arr, i, inc) {
		char opened[32], updated[32], count[32], issue[1024], state[64];
		const char *cells[7];

		snprintf(count, sizeof(count), "%lld",
		    (long long)json_integer_value(json_object_get(inc, "event_count")));
		issue_cell(json_object_get(inc, "refs"), issue, sizeof(issue));
		cells[0] = str(inc, "id");
		snprintf(state, sizeof(state), "%s%s", str(inc, "state"),
		    json_is_string(json_object_get(inc, "acked_by")) ? " (acked)" : "");
		cells[1] = state;
		cells[2] = str(inc, "key");
		cells[3] = count;
		cells[4] = short_time(inc, "opened_at", opened, sizeof(opened));
		cells[5] = short_time(inc, "updated_at", updated, sizeof(updated));
		cells[6] = issue;
		if (t != NULL && table_add_row(t, cells) != 0) {
			table_free(t);
			t = NULL;
		}
	}
	rc = print_table(t, 6);
out:
	json_decref(arr);
	return rc;
}

static int
cmd_deliveries(struct ctl *c, int argc, char **argv)
{
	static const char *const headers[] = { "ID", "SINK", "ACTION", "STATE", "ATTEMPTS",
	    "NEXT", "LAST ERROR" };
	struct store_query q = { 0 };
	struct table *t = NULL;
	json_t *arr = NULL, *d;
	size_t i;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", deliveries_options, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_limit(optarg, &q.limit) != 0)
				return usage_error("--limit must be an integer from 1 to 1000");
			break;
		case 'f':
			q.failed_only = true;
			break;
		case 'i':
			q.incident_id = optarg;
			break;
		default:
			return bad_option(argv[0], argv);
		}
	}
	if (optind != argc)
		return usage_error("deliveries: unexpected argument '%s'", argv[optind]);
	rc = store_list_deliveries(c->st, &q, &arr);
	if (rc != 0)
		return store_failed(c, rc, "deliveries", NULL);
	if (c->json) {
		rc = print_json(arr);
		goto out;
	}
	t = table_new(7, headers);
	json_array_foreach(arr, i, d) {
		char id[32], attempts[32], next[32];
		const char *cells[7], *state = str(d, "state");

		snprintf(id, sizeof(id), "%lld",
		    (long long)json_integer_value(json_object_get(d, "id")));
		snprintf(attempts, sizeof(attempts), "%lld",
		    (long long)json_integer_value(json_object_get(d, "attempts")));
		cells[0] = id;
		cells[1] = str(d, "sink");
		cells[2] = str(d, "action");
		cells[3] = state;
		cells[4] = attempts;
		/* the due time only means something while the delivery waits */
		cells[5] = state && strcmp(state, "pending") == 0 ?
		    short_time(d, "next_attempt_at", next, sizeof(next)) : NULL;
		cells[6] = str(d, "last_error");
		if (t != NULL && table_add_row(t, cells) != 0) {
			table_free(t);
			t = NULL;
		}
	}
	rc = print_table(t, 6);
out:
	json_decref(arr);
	return rc;
}

/* event ID / incident ID: always pretty JSON. */
static int
cmd_show(struct ctl *c, int argc, char **argv, bool incident)
{
	const char *what = incident ? "incident" : "event";
	json_t *obj = NULL;
	int rc;

	if (argc != 2)
		return usage_error("usage: incidentctl %s ID", what);
	rc = incident ? store_incident_json(c->st, argv[1], &obj) :
	    store_event_json(c->st, argv[1], &obj);
	if (rc != 0)
		return store_failed(c, rc, what, argv[1]);
	rc = print_json(obj);
	json_decref(obj);
	return rc;
}

static volatile sig_atomic_t tail_stop;

static void
tail_on_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

/* A field padded to width, then sep. Control characters (newlines, terminal escapes in a
 * hostile summary) print as spaces, as in tables. */
static void
tail_put(const char *s, size_t width, const char *sep)
{
	size_t n = 0;

	for (; *s; s++, n++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
	for (; n < width; n++)
		putchar(' ');
	fputs(sep, stdout);
}

/* One published event as a line: time source status key summary. */
static void
tail_print_human(const char *msg, int len)
{
	json_t *ev = json_loadb(msg, (size_t)len, 0, NULL);
	char when[40];

	if (!json_is_object(ev)) {
		printf("? (%d bytes that are not an event)\n", len);
		json_decref(ev);
		return;
	}
	tail_put(dash(short_time(ev, "occurred_at", when, sizeof(when))), 0, "  ");
	tail_put(dash(str(ev, "source")), 12, " ");
	tail_put(dash(str(ev, "status")), 8, " ");
	tail_put(dash(str(ev, "incident_key")), 0, "  ");
	tail_put(dash(str(ev, "summary")), 0, "\n");
	json_decref(ev);
}

/* tail: subscribe to incidentd's PUB socket (server.publish) and print every event until
 * SIGINT/SIGTERM (exit 0). Needs no ledger; waits for the daemon if it is not up yet. */
static int
cmd_tail(bool json, int argc, char **argv)
{
	const char *env = getenv("INCIDENTD_TAIL");
	char dflt[4200];
	const char *addr = env && *env ? env : default_tail(dflt, sizeof(dflt));
	struct sigaction sa;
	int ch, sock = -1, timeout = 250, rc = EXIT_FAILURE;

	while ((ch = getopt_long(argc, argv, "+", tail_options, NULL)) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		default: return bad_option("tail", argv);
		}
	}
	if (optind != argc)
		return usage_error("tail: unexpected argument '%s'", argv[optind]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tail_on_signal;     /* no SA_RESTART: a signal ends the wait */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sock = nn_socket(AF_SP, NN_SUB);
	if (sock < 0 || nn_setsockopt(sock, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0 ||
	    nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout, sizeof(timeout)) < 0 ||
	    nn_connect(sock, addr) < 0) {
		ctl_error("cannot subscribe to %s: %s", addr, nn_strerror(nn_errno()));
		goto out;
	}
	while (!tail_stop) {
		char *msg = NULL;
		int n = nn_recv(sock, &msg, NN_MSG, 0);

		if (n < 0) {
			if (nn_errno() == ETIMEDOUT || nn_errno() == EAGAIN || nn_errno() == EINTR)
				continue;
			ctl_error("cannot receive from %s: %s", addr, nn_strerror(nn_errno()));
			goto out;
		}
		if (json)
			printf("%.*s\n", n, msg);
		else
			tail_print_human(msg, n);
		nn_freemsg(msg);
		if (fflush(stdout) != 0)
			goto out;       /* the reader went away */
	}
	rc = EXIT_SUCCESS;
out:
	if (sock >= 0)
		nn_close(sock);
	return rc;
}

static int
run_tail(int argc, char **argv, bool json)
{
	return cmd_tail(json, argc, argv);
}

static int
run_reload(int argc, char **argv, bool json)
{
	(void)json;     /* reload prints the daemon's answer as it is */
	return ctl_reload(argc, argv);
}

/* Every command: its name (and silence's subcommand, NULL for any), its own getopt table
 * (take_global_options() reads its arguments with it) and, for those that do not read the
 * ledger, the function that runs it. The first entry that fits wins. */
static const struct command {
	const char *name, *sub;
	const struct option *options;
	int (*run)(int argc, char **argv, bool json);
} commands[] = {
	{ "events", NULL, events_options, NULL },
	{ "event", NULL, no_options, NULL },
	{ "incidents", NULL, incidents_options, NULL },
	{ "incident", NULL, no_options, NULL },
	{ "deliveries", NULL, deliveries_options, NULL },
	{ "explain", NULL, no_options, NULL },
	{ "silence", "add", ctl_silence_add_options, NULL },
	{ "silence", "list", ctl_silence_list_options, NULL },
	{ "silence", NULL, no_options, NULL },
	{ "stats", NULL, ctl_stats_options, NULL },
	{ "backup", NULL, ctl_backup_options, NULL },   /* run in main(): no store_open() */
	/* offline: no ledger needed */
	{ "rules", NULL, ctl_rules_options, ctl_rules },
	/* through the running daemon, not on the ledger */
	{ "tail", NULL, tail_options, run_tail },
	{ "reload", NULL, ctl_reload_options, run_reload },
	{ "resolve", NULL, ctl_resolve_options, ctl_resolve },
	{ "ack", NULL, ctl_ack_options, ctl_ack },
	{ "retry", NULL, ctl_retry_options, ctl_retry },
	{ "fire", NULL, ctl_fire_options, ctl_fire },
	{ "health", NULL, ctl_health_options, ctl_health },
};

/* The entry of the command in argv[0] (argv[1] picks silence's subcommand), or NULL. */
static const struct command *
command_find(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *cmd = &commands[i];

		if (strcmp(argv[0], cmd->name) == 0 && (cmd->sub == NULL ||
		    (argc > 1 && strcmp(argv[1], cmd->sub) == 0)))
			return cmd;
	}
	return NULL;
}

/* The global options after the command (`incidentctl events --db X --json`, as kubectl
 * and amtool users type them): take --db PATH, --db=PATH and --json out of the command's
 * arguments argv[1..argc), reading them with the command's own table cmd so that an
 * option's value stays its own (`silence add ... --comment --json` is a comment), and set
 * *db and *json. Stops at "--". Compacts argv in place; returns the new argc, -EINVAL when
 * --db lacks its value, or -E2BIG when cmd has more options than this reads (a bug). */
static int
take_global_options(int argc, char **argv, const struct option *cmd, const char **db,
    bool *json)
{
	struct option all[24];
	size_t n = 0;
	int out = 1, prev = 1, ch;

	for (; cmd[n].name != NULL; n++) {
		if (n + 3 > sizeof(all) / sizeof(all[0]))
			return -E2BIG;
		all[n] = cmd[n];
	}
	all[n++] = (struct option){ "db", required_argument, NULL, OPT_GLOBAL_DB };
	all[n++] = (struct option){ "json", no_argument, NULL, OPT_GLOBAL_JSON };
	all[n] = (struct option){ NULL, 0, NULL, 0 };
	optind = 0;     /* glibc: restart getopt */
	opterr = 0;
	/* "-": every argument in order (no permutation), so each one is kept or taken out */
	while ((ch = getopt_long(argc, argv, "-", all, NULL)) != -1) {
		bool global = ch == OPT_GLOBAL_DB || ch == OPT_GLOBAL_JSON;

		if (ch == '?' && optopt == OPT_GLOBAL_DB)
			return -EINVAL;         /* --db without its value */
		if (ch == OPT_GLOBAL_DB)
			*db = optarg;
		else if (global)
			*json = true;
		for (int i = prev; !global && i < optind; i++)
			argv[out++] = argv[i];
		prev = optind;
	}
	for (int i = prev; i < argc; i++)
		argv[out++] = argv[i];
	argv[out] = NULL;
	return out;
}

static int
run_command(struct ctl *c, int argc, char **argv)
{
	optind = 0;  /* glibc: restart getopt for the command's own options */
	opterr = 0;
	if (strcmp(argv[0], "events") == 0)
		return cmd_events(c, argc, argv);
	if (strcmp(argv[0], "event") == 0)
		return cmd_show(c, argc, argv, false);
	if (strcmp(argv[0], "incidents") == 0)
		return cmd_incidents(c, argc, argv);
	if (strcmp(argv[0], "incident") == 0)
		return cmd_show(c, argc, argv, true);
	if (strcmp(argv[0], "explain") == 0)
		return ctl_explain(c->st, argc, argv, c->json);
	if (strcmp(argv[0], "silence") == 0)
		return ctl_silence(c->st, argc, argv, c->json);
	if (strcmp(argv[0], "stats") == 0)
		return ctl_stats(c->st, argc, argv, c->json);
	return cmd_deliveries(c, argc, argv);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { 0 };
	const struct command *command;
	char err[512], dflt_db[4200], dflt_tail[4200], **cmd;
	const char *env;
	int ch, rc, cmd_argc;

	if (safeout_install() != 0) {
		fprintf(stderr, "incidentctl: out of memory\n");
		return EXIT_FAILURE;
	}
	env = getenv("INCIDENTD_DB");
	c.db = env && *env ? env : default_db(dflt_db, sizeof(dflt_db));
	opterr = 0;
	/* "+": stop at the command, whose options are parsed by the command */
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			c.db = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			printf(usage_text, default_db(dflt_db, sizeof(dflt_db)),
			    default_tail(dflt_tail, sizeof(dflt_tail)));
			return EXIT_SUCCESS;
		case 'V':
			printf("incidentctl %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		default:
			return bad_option(NULL, argv);
		}
	}
	if (optind >= argc)
		return usage_error("missing command");
	cmd = argv + optind;
	command = command_find(argc - optind, cmd);
	if (command == NULL)
		return usage_error("unknown command '%s'", cmd[0]);
	cmd_argc = take_global_options(argc - optind, cmd, command->options, &c.db, &c.json);
	if (cmd_argc == -EINVAL)
		return usage_error("%s: option '--db' is unknown or needs a value", cmd[0]);
	if (cmd_argc < 0) {
		ctl_error("%s: too many options", cmd[0]);
		return EXIT_FAILURE;
	}
	optind = 0;     /* glibc: restart getopt for the command's own options */
	opterr = 0;
	if (command->run != NULL)
		return command->run(cmd_argc, cmd, c.json);
	if (strcmp(cmd[0], "backup") == 0)      /* connections of its own, read-only */
		return ctl_backup(c.db, c.json, cmd_argc, cmd);

	/* a reader should not create an empty ledger by mistake */
	if (!store_target_is_url(c.db) && access(c.db, F_OK) != 0) {
		ctl_error("no ledger at %s (use --db or INCIDENTD_DB)", c.db);
		return EXIT_FAILURE;
	}
	rc = store_open(c.db, &c.st, err, sizeof(err));
	if (rc != 0) {
		ctl_error("%s", err);
		return EXIT_FAILURE;
	}
	rc = run_command(&c, cmd_argc, cmd);
	store_close(c.st);
	return rc;
}
