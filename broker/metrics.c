/* metrics.c - a tiny Prometheus registry: fixed families, dynamic label sets. */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "autoconf.h"
#include "util.h"

struct family {
	const char *name;
	const char *type;   /* "counter" | "gauge" */
	const char *help;
};

static const struct family families[] = {
	{ "incidentd_build_info", "gauge", "Build information; always 1." },
	{ "incidentd_events_accepted_total", "counter",
	  "Events committed to the ledger, by source." },
	{ "incidentd_events_duplicate_total", "counter",
	  "Requests recognized as a re-sent payload and not stored again, by source." },
	{ "incidentd_events_rejected_total", "counter",
	  "Requests rejected before anything was stored, by source and reason." },
	{ "incidentd_deliveries_total", "counter",
	  "Delivery attempts completed by sinks, by sink and outcome (ok, retry, fail)." },
	{ "incidentd_deliveries_inflight", "gauge", "Deliveries currently handed to sinks." },
	{ "incidentd_config_reloads_total", "counter",
	  "Configuration reloads, by result (ok, failed)." },
	{ "incidentd_ledger_commit_failures_total", "counter",
	  "Ledger transactions that could not commit." },
	{ "incidentd_nanomsg_messages_total", "counter",
	  "Messages of the nanomsg source, by result (accepted, duplicate, rejected, failed)." },
	{ "incidentd_tail_messages_total", "counter",
	  "Events published for incidentctl tail, by result (sent, dropped)." },
	{ "incidentd_connections_open", "gauge",
	  "Client connections whose socket is open (including ones being closed)." },
	{ "incidentd_connections_rejected_total", "counter",
	  "Connections answered 503 and closed because server.max_connections were open." },
	{ "incidentd_requests_timed_out_total", "counter",
	  "Connections closed because a request took longer than server.request_timeout "
	  "to arrive." },
	{ "incidentd_requests_refused_total", "counter",
	  "Requests to endpoints other than the sources' refused before they were served, "
	  "by endpoint and reason." },
	{ "incidentd_accept_errors_total", "counter",
	  "Times accepting a connection failed (out of descriptors or memory)." },
	{ "incidentd_operator_actions_total", "counter",
	  "Operator actions through the API (incidentctl resolve, retry), by action; a "
	  "retry counts the deliveries it re-drove." },
	/* the outbox and the ledger, read when /metrics is asked (selfmetrics.c) */
	{ "incidentd_outbox_deliveries", "gauge",
	  "Deliveries not finished yet, by sink and state (blocked, pending, running)." },
	{ "incidentd_outbox_oldest_due_seconds", "gauge",
	  "Age of the oldest pending delivery that is due, by sink; 0 when none is due." },
	{ "incidentd_ledger_size_bytes", "gauge",
	  "Size of the ledger's database file (pages times page size), without the WAL." },
	{ "incidentd_ledger_free_bytes", "gauge",
	  "Unused pages inside the ledger's database file (reused before it grows)." },
	{ "incidentd_ledger_wal_bytes", "gauge", "Size of the ledger's write-ahead log file." },
	{ "incidentd_ledger_checkpoints_total", "counter",
	  "Checkpoints of the ledger's write-ahead log made off the event loop (SQLite)." },
	{ "incidentd_ledger_checkpoint_failures_total", "counter",
	  "Checkpoints of the write-ahead log that failed (the next one copies their frames)." },
	/* retention (retention.c) */
	{ "incidentd_ledger_retention_seconds", "gauge",
	  "ledger.retention: rows older than this are pruned; 0 when retention is off." },
	{ "incidentd_ledger_pruned_rows_total", "counter",
	  "Ledger rows deleted by retention, by table." },
	{ "incidentd_ledger_last_prune_timestamp_seconds", "gauge",
	  "When the last complete pruning pass over the ledger ended (Unix time)." },
	{ "incidentd_ledger_prune_batch_max_seconds", "gauge",
	  "Longest pruning transaction of the last pass (the longest the loop was held)." },
	{ "incidentd_ledger_prune_failures_total", "counter",
	  "Pruning passes stopped by a ledger error (retried at the next pass)." },
	/* the process, with the names and types of Prometheus' client libraries */
	{ "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in "
	  "seconds." },
	{ "process_open_fds", "gauge", "Number of open file descriptors." },
	{ "process_max_fds", "gauge", "Maximum number of open file descriptors." },
	{ "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes." },
	{ "process_resident_memory_bytes", "gauge", "Resident memory size in bytes." },
	{ "process_start_time_seconds", "gauge",
	  "Start time of the process since unix epoch in seconds." },
};

struct sample {
	TAILQ_ENTRY(sample) entry;
	const struct family *fam;
	char *labels;
	double value;
};

static TAILQ_HEAD(, sample) samples = TAILQ_HEAD_INITIALIZER(samples);

static const double commit_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5 };
#define N_BOUNDS (sizeof(commit_bounds) / sizeof(commit_bounds[0]))
static uint64_t commit_buckets[N_BOUNDS];
static uint64_t commit_count;
static double commit_sum;

static const struct family *
family_find(const char *name)
{
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strcmp(families[i].name, name) == 0)
			return &families[i];
	return NULL;
}

static struct sample *
sample_get(const char *name, const char *labels)
{
	const struct family *fam = family_find(name);
	struct sample *s;

	if (fam == NULL)
		return NULL;
	if (labels == NULL)
		labels = "";
	TAILQ_FOREACH(s, &samples, entry)
		if (s->fam == fam && strcmp(s->labels, labels) == 0)
			return s;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->labels = strdup(labels);
	if (s->labels == NULL) {
		free(s);
		return NULL;
	}
	s->fam = fam;
	/* Keep samples of one family together so each family is rendered contiguously. */
	struct sample *after = NULL, *it;
	TAILQ_FOREACH(it, &samples, entry)
		if (it->fam == fam)
			after = it;
	if (after)
		TAILQ_INSERT_AFTER(&samples, after, s, entry);
	else
		TAILQ_INSERT_TAIL(&samples, s, entry);
	return s;
}

void
metrics_add(const char *name, const char *labels, double v)
{
	struct sample *s = sample_get(name, labels);

	if (s)
		s->value += v;
}

void
metrics_set(const char *name, const char *labels, double v)
{
	struct sample *s = sample_get(name, labels);

	if (s)
		s->value = v;
}

void
metrics_clear(const char *name)
{
	const struct family *fam = family_find(name);
	struct sample *s, *next;

	for (s = TAILQ_FIRST(&samples); fam != NULL && s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->fam != fam)
			continue;
		TAILQ_REMOVE(&samples, s, entry);
		free(s->labels);
		free(s);
	}
}

char *
metrics_label_value(char *out, size_t len, const char *value)
{
	size_t o = 0;

	if (len == 0)
		return out;
	for (const char *p = value ? value : ""; *p != '\0' && o + 1 < len; p++) {
		const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" :
		    *p == '\n' ? "\\n" : NULL;

		if (esc == NULL) {
			out[o++] = *p;
			continue;
		}
		if (o + 2 >= len)
			break;
		out[o++] = esc[0];
		out[o++] = esc[1];
	}
	out[o] = '\0';
	return util_trim_utf8(out);
}

void
metrics_observe_commit(double seconds)
{
	for (size_t i = 0; i < N_BOUNDS; i++)
		if (seconds <= commit_bounds[i])
			commit_buckets[i]++;
	commit_count++;
	commit_sum += seconds;
}

void
metrics_render(struct evbuffer *out)
{
	struct sample *s;

	metrics_set("incidentd_build_info", "version=\"" PACKAGE_VERSION "\",build=\""
	    INCIDENTD_BUILD_KIND "\"", 1);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		const struct family *fam = &families[i];
		int any = 0;

		TAILQ_FOREACH(s, &samples, entry) {
			if (s->fam != fam)
				continue;
			if (!any)
				evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fam->name,
				    fam->help, fam->name, fam->type);
			any = 1;
			if (s->labels[0])
				evbuffer_add_printf(out, "%s{%s} %.17g\n", fam->name, s->labels,
				    s->value);
			else
				evbuffer_add_printf(out, "%s %.17g\n", fam->name, s->value);
		}
	}
	evbuffer_add_printf(out,
	    "# HELP incidentd_ledger_commit_seconds Time to commit one grouped ledger transaction.\n"
	    "# TYPE incidentd_ledger_commit_seconds histogram\n");
	for (size_t i = 0; i < N_BOUNDS; i++)
		evbuffer_add_printf(out, "incidentd_ledger_commit_seconds_bucket{le=\"%g\"} %llu\n",
		    commit_bounds[i], (unsigned long long)commit_buckets[i]);
	evbuffer_add_printf(out, "incidentd_ledger_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)commit_count);
	evbuffer_add_printf(out, "incidentd_ledger_commit_seconds_sum %.9f\n", commit_sum);
	evbuffer_add_printf(out, "incidentd_ledger_commit_seconds_count %llu\n",
	    (unsigned long long)commit_count);
}

void
metrics_reset(void)
{
	struct sample *s;

	while ((s = TAILQ_FIRST(&samples)) != NULL) {
		TAILQ_REMOVE(&samples, s, entry);
		free(s->labels);
		free(s);
	}
	memset(commit_buckets, 0, sizeof(commit_buckets));
	commit_count = 0;
	commit_sum = 0;
}
