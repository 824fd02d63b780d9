/* retention.c - pruning passes over the ledger on a libevent timer (retention.h). */
#include "retention.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "prunesize.h"
#include "util.h"

#define BATCH_PAUSE_MAX_US 100000  /* between two batches, at most 100 ms */

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
	struct prunesize size[STORE_PRUNE__COUNT];   /* rows per batch, per table */
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

/* CPU time of this thread (µs): a batch's own work, without waiting for the disk or for
 * the CPU on a busy machine (debug log only). */
static int64_t
cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
retention_interval_ms(int64_t retention_ms)
{
	int64_t ms = retention_ms / 8;

	return ms < 100 ? 100 : ms > 60000 ? 60000 : ms;
}

static void
arm_us(struct retention *r, int64_t us)
{
	struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };

	event_add(r->timer, &tv);
}

static void
arm(struct retention *r, int64_t ms)
{
	arm_us(r, ms * 1000);
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

/* One batch of the table phase; *deleted gets its rows. Returns 0 or a negative errno. */
static int
table_batch(struct retention *r, int64_t *deleted)
{
	struct store_prune_batch b = { .cursor = r->cursor, .limit = r->size[r->phase].limit };
	char labels[64];
	int rc;

	rc = store_prune_batch(r->st, (enum store_prune_table)r->phase, r->cutoff, &b);
	if (rc != 0)
		return rc;
	*deleted = b.deleted;
	r->rows[r->phase] += b.deleted;
	r->decisions += b.decisions;
	snprintf(labels, sizeof(labels), "table=\"%s\"", table_names[r->phase]);
	metrics_add("incidentd_ledger_pruned_rows_total", labels, (double)b.deleted);
	if (b.decisions > 0)
		metrics_add("incidentd_ledger_pruned_rows_total", "table=\"traces\"",
		    (double)b.decisions);
	r->cursor = b.cursor;
	if (b.done) {
		r->phase++;
		r->cursor = 0;
	}
	return 0;
}

/* One step of the vacuum phase; *given gets the pages given back. Moves past the phase
 * when nothing is left to give back. */
static int
vacuum_batch(struct retention *r, int64_t *given)
{
	struct store_ledger_stats ss;
	int64_t before, left = 0;
	int rc;

	if (r->free_pages < 0) {
		rc = store_ledger_stats(r->st, &ss);
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
	*given = before > left ? before - left : 0;
	r->pages_given += *given;
	r->free_pages = left;
	if (left == 0 || left >= before)
		r->phase++;                /* done, or nothing moves (keep the rest) */
	return 0;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct retention *r = arg;
	int64_t t0, us, cpu0, deleted = 0;
	int phase, rc;

	(void)fd;
	(void)what;
	if (r->retention_ms <= 0)
		return;
	if (!r->in_pass)
		pass_start(r);
	phase = r->phase;
	cpu0 = cpu_us();
	t0 = util_mono_us();
	rc = phase < PHASE_VACUUM ? table_batch(r, &deleted) : vacuum_batch(r, &deleted);
	us = util_mono_us() - t0;
	cpu0 = cpu_us() - cpu0;
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
	if (phase < PHASE_VACUUM)
		prunesize_update(&r->size[phase], deleted, us);
	log_debug("retention", "batch %d (%s): %lld %s in %.2f ms (%.2f ms on the CPU); next "
	    "limit %lld", r->batches, phase < PHASE_VACUUM ? table_names[phase] : "vacuum",
	    (long long)deleted, phase < PHASE_VACUUM ? "row(s) deleted" : "page(s) given back",
	    (double)us / 1000.0, (double)cpu0 / 1000.0,
	    (long long)(phase < PHASE_VACUUM ? r->size[phase].limit : 0));
	if (r->phase > PHASE_VACUUM) {
		pass_end(r);
		arm(r, retention_interval_ms(r->retention_ms));
		return;
	}
	/* the next batch after a pause as long as this one took: a pass takes at most about
	 * half of the loop's time, whatever waits is served in between */
	arm_us(r, us < BATCH_PAUSE_MAX_US ? us : BATCH_PAUSE_MAX_US);
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
		prunesize_init(&r->size[i]);
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
	struct store_ledger_stats ss;

	if (r->warned_vacuum || store_ledger_stats(r->st, &ss) != 0 || ss.incremental_vacuum)
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
	metrics_add("incidentd_ledger_pruned_rows_total", "table=\"traces\"", 0);
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
