/* retention.c - pruning passes over the ledger on a libevent timer (retention.h). */
#include "retention.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

#define BATCH_TARGET_US 2000       /* aim for ~2 ms per transaction */
#define BATCH_MIN 16
#define BATCH_START 256
#define BATCH_MAX 4096

/* The phases of a pass: the tables in store_prune_table order, then the vacuum. */
#define PHASE_VACUUM STORE_PRUNE__COUNT

static const char *const table_names[] = {
	[STORE_PRUNE_DELIVERIES] = "deliveries", [STORE_PRUNE_EVENTS] = "events",
	[STORE_PRUNE_REQUESTS] = "requests", [STORE_PRUNE_INCIDENTS] = "incidents",
};

struct retention {
	struct event_base *base;
	struct store *st;
	struct event *timer;
	int64_t retention_ms;          /* 0 = off */
	bool warned_vacuum;            /* said once that this ledger cannot shrink */
	int64_t limit[STORE_PRUNE__COUNT];   /* rows per batch, adapted to BATCH_TARGET_US */
	/* the pass under way */
	bool in_pass;
	int phase;                     /* enum store_prune_table, or PHASE_VACUUM */
	int64_t cursor;
	int64_t cutoff;                /* ms: rows older than this may go */
	int64_t rows[STORE_PRUNE__COUNT], decisions;
	int64_t free_pages, pages_given;
	int batches;
	int64_t longest_us, started_us;
};

int64_t
retention_interval_ms(int64_t retention_ms)
{
	int64_t ms = retention_ms / 8;

	return ms < 100 ? 100 : ms > 60000 ? 60000 : ms;
}

static void
arm(struct retention *r, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	event_add(r->timer, &tv);
}

static void
pass_start(struct retention *r)
{
	r->in_pass = true;
	r->phase = 0;
	r->cursor = 0;
	r->cutoff = util_now_ms() - r->retention_ms;
	memset(r->rows, 0, sizeof(r->rows));
	r->decisions = r->pages_given = 0;
	r->free_pages = -1;                /* read when the vacuum phase starts */
	r->batches = 0;
	r->longest_us = 0;
	r->started_us = util_mono_us();
}

static void
pass_end(struct retention *r)
{
	int64_t total = r->decisions;
	char when[UTIL_TIME_LEN];

	r->in_pass = false;
	for (size_t i = 0; i < STORE_PRUNE__COUNT; i++)
		total += r->rows[i];
	metrics_set("incidentd_ledger_last_prune_timestamp_seconds", NULL,
	    (double)util_now_ms() / 1000.0);
	metrics_set("incidentd_ledger_prune_batch_max_seconds", NULL,
	    (double)r->longest_us / 1e6);
	if (total == 0 && r->pages_given == 0) {
		log_debug("retention", "nothing older than the retention to prune (%d batch(es))",
		    r->batches);
		return;
	}
	util_format_time(r->cutoff, when, sizeof(when));
	log_info("retention", "pruned rows older than %s: %lld event(s), %lld decision(s), "
	    "%lld delivery(ies), %lld request(s), %lld incident(s); %lld free page(s) given "
	    "back; %d batch(es) in %.1f ms, the longest %.2f ms", when,
	    (long long)r->rows[STORE_PRUNE_EVENTS], (long long)r->decisions,
	    (long long)r->rows[STORE_PRUNE_DELIVERIES], (long long)r->rows[STORE_PRUNE_REQUESTS],
	    (long long)r->rows[STORE_PRUNE_INCIDENTS], (long long)r->pages_given, r->batches,
	    (double)(util_mono_us() - r->started_us) / 1000.0, (double)r->longest_us / 1000.0);
}

/* One batch of the table phase. Returns 0 or a negative errno. */
static int
table_batch(struct retention *r)
{
	struct store_prune_batch b = { .cursor = r->cursor, .limit = r->limit[r->phase] };
	char labels[64];
	int rc;

	rc = store_prune_batch(r->st, (enum store_prune_table)r->phase, r->cutoff, &b);
	if (rc != 0)
		return rc;
	r->rows[r->phase] += b.deleted;
	r->decisions += b.decisions;
	snprintf(labels, sizeof(labels), "table=\"%s\"", table_names[r->phase]);
	metrics_add("incidentd_ledger_pruned_rows_total", labels, (double)b.deleted);
	if (b.decisions > 0)
		metrics_add("incidentd_ledger_pruned_rows_total", "table=\"decisions\"",
		    (double)b.decisions);
	r->cursor = b.cursor;
	if (b.done) {
		r->phase++;
		r->cursor = 0;
	}
	return 0;
}

/* One step of the vacuum phase; moves past it when nothing is left to give back. */
static int
vacuum_batch(struct retention *r)
{
	struct store_stats ss;
	int64_t before, left = 0;
	int rc;

	if (r->free_pages < 0) {
		rc = store_stats(r->st, &ss);
		if (rc != 0)
			return rc;
		r->free_pages = ss.incremental_vacuum ? ss.free_pages : 0;
	}
	before = r->free_pages;
	if (before == 0) {             /* nothing free, or a ledger that cannot shrink */
		r->phase++;
		return 0;
	}
	rc = store_vacuum_step(r->st, &left);
	if (rc != 0)
		return rc;
	if (before > left)
		r->pages_given += before - left;
	r->free_pages = left;
	if (left == 0 || left >= before)
		r->phase++;                /* done, or nothing moves (keep the rest) */
	return 0;
}

/* Adapt the batch size of phase to the time its last batch took. */
static void
adapt(struct retention *r, int phase, int64_t us)
{
	int64_t *limit;

	if (phase >= STORE_PRUNE__COUNT)
		return;
	limit = &r->limit[phase];
	if (us > 2 * BATCH_TARGET_US && *limit > BATCH_MIN)
		*limit = *limit / 2 < BATCH_MIN ? BATCH_MIN : *limit / 2;
	else if (us < BATCH_TARGET_US / 2 && *limit < BATCH_MAX)
		*limit = *limit * 2 > BATCH_MAX ? BATCH_MAX : *limit * 2;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct retention *r = arg;
	int64_t t0, us;
	int phase, rc;

	(void)fd;
	(void)what;
	if (r->retention_ms <= 0)
		return;
	if (!r->in_pass)
		pass_start(r);
	phase = r->phase;
	t0 = util_mono_us();
	rc = phase < PHASE_VACUUM ? table_batch(r) : vacuum_batch(r);
	us = util_mono_us() - t0;
	r->batches++;
	if (us > r->longest_us)
		r->longest_us = us;
	if (rc != 0) {
		log_warn("retention", "pruning stopped at the %s: %s (%d); next pass in %lld ms",
		    phase < PHASE_VACUUM ? table_names[phase] : "vacuum",
		    store_last_error(r->st), rc,
		    (long long)retention_interval_ms(r->retention_ms));
		metrics_inc("incidentd_ledger_prune_failures_total", NULL);
		r->in_pass = false;
		arm(r, retention_interval_ms(r->retention_ms));
		return;
	}
	adapt(r, phase, us);
	if (r->phase > PHASE_VACUUM) {
		pass_end(r);
		arm(r, retention_interval_ms(r->retention_ms));
		return;
	}
	arm(r, 0);   /* the next batch after what the loop has waiting */
}

int
retention_new(struct event_base *base, struct store *st, struct retention **out)
{
	struct retention *r;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->base = base;
	r->st = st;
	for (size_t i = 0; i < STORE_PRUNE__COUNT; i++)
		r->limit[i] = BATCH_START;
	r->timer = evtimer_new(base, on_timer, r);
	if (r->timer == NULL) {
		free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

/* Once per process: a ledger without incremental auto-vacuum reuses pruned pages but its
 * file never shrinks. */
static void
warn_no_vacuum(struct retention *r)
{
	struct store_stats ss;

	if (r->warned_vacuum || store_stats(r->st, &ss) != 0 || ss.incremental_vacuum)
		return;
	r->warned_vacuum = true;
	log_warn("retention", "this ledger was created before incidentd set incremental "
	    "auto-vacuum: pruned pages are reused, but the file does not shrink; a backup "
	    "restored in its place has it (see docs/operations.md)");
}

void
retention_apply_config(struct retention *r, const struct config *cfg)
{
	char dur[32], every[32];

	metrics_set("incidentd_ledger_retention_seconds", NULL,
	    (double)cfg->retention_ms / 1000.0);
	if (cfg->retention_ms == r->retention_ms)
		return;
	r->retention_ms = cfg->retention_ms;
	r->in_pass = false;
	event_del(r->timer);
	if (r->retention_ms <= 0) {
		log_info("retention", "ledger.retention is off: the ledger keeps everything");
		return;
	}
	metrics_add("incidentd_ledger_pruned_rows_total", "table=\"decisions\"", 0);
	for (size_t i = 0; i < STORE_PRUNE__COUNT; i++) {
		char labels[64];

		snprintf(labels, sizeof(labels), "table=\"%s\"", table_names[i]);
		metrics_add("incidentd_ledger_pruned_rows_total", labels, 0);
	}
	metrics_add("incidentd_ledger_prune_failures_total", NULL, 0);
	log_info("retention", "pruning ledger rows older than %s every %s",
	    util_format_duration(r->retention_ms, dur, sizeof(dur)),
	    util_format_duration(retention_interval_ms(r->retention_ms), every,
	    sizeof(every)));
	warn_no_vacuum(r);
	arm(r, retention_interval_ms(r->retention_ms));
}

void
retention_destroy(struct retention *r)
{
	if (r == NULL)
		return;
	event_free(r->timer);
	free(r);
}
