/* selfmetrics.c - process and ledger gauges for /metrics (selfmetrics.h). */
#include "selfmetrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics.h"

/* Read a small /proc file into buf (NUL-terminated). Returns 0 or -1. */
static int
read_proc(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* Boot time of the machine (Unix seconds) from /proc/stat, or 0. */
static long long
boot_time(void)
{
	static long long btime;
	char buf[8192], *p;

	if (btime == 0 && read_proc("/proc/stat", buf, sizeof(buf)) == 0 &&
	    (p = strstr(buf, "\nbtime ")) != NULL)
		btime = strtoll(p + 7, NULL, 10);
	return btime;
}

/* Descriptors open in this process, not counting the one that lists them. */
static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
			n++;
	closedir(d);
	return n;
}

void
selfmetrics_process(void)
{
	unsigned long long utime, stime, start, vsize;
	long long rss;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	char buf[2048], *p;
	struct rlimit rl;
	int fds;

	/* /proc/self/stat: "pid (comm) state ..."; comm may hold anything, so fields are
	 * counted from the last ')': state is field 3, utime 14, stime 15, starttime 22,
	 * vsize 23, rss 24 */
	if (tick > 0 && page > 0 && read_proc("/proc/self/stat", buf, sizeof(buf)) == 0 &&
	    (p = strrchr(buf, ')')) != NULL &&
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
	    "%*d %*d %*d %llu %llu %lld", &utime, &stime, &start, &vsize, &rss) == 5) {
		metrics_set("process_cpu_seconds_total", NULL, (double)(utime + stime) /
		    (double)tick);
		metrics_set("process_virtual_memory_bytes", NULL, (double)vsize);
		metrics_set("process_resident_memory_bytes", NULL, (double)rss * (double)page);
		if (boot_time() > 0)
			metrics_set("process_start_time_seconds", NULL, (double)boot_time() +
			    (double)start / (double)tick);
	}
	if ((fds = count_fds()) >= 0)
		metrics_set("process_open_fds", NULL, fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		metrics_set("process_max_fds", NULL, (double)rl.rlim_cur);
}

static const char *const backlog_states[] = { "blocked", "pending", "running" };

/* A series for every configured sink, also with nothing to report: rate() and absent()
 * work from the start, and a sink that is idle reads 0 instead of vanishing. */
static void
zero_sink_series(const struct config *cfg)
{
	static const char *const outcomes[] = { "ok", "retry", "fail" };
	char sink[160], labels[256];

	for (size_t i = 0; cfg != NULL && i < cfg->n_sinks; i++) {
		metrics_label_value(sink, sizeof(sink), cfg->sinks[i].name);
		for (size_t k = 0; k < sizeof(backlog_states) / sizeof(backlog_states[0]); k++) {
			snprintf(labels, sizeof(labels), "sink=\"%s\",state=\"%s\"", sink,
			    backlog_states[k]);
			metrics_set("incidentd_outbox_deliveries", labels, 0);
		}
		for (size_t k = 0; k < sizeof(outcomes) / sizeof(outcomes[0]); k++) {
			snprintf(labels, sizeof(labels), "sink=\"%s\",outcome=\"%s\"", sink,
			    outcomes[k]);
			metrics_add("incidentd_deliveries_total", labels, 0);
		}
		snprintf(labels, sizeof(labels), "sink=\"%s\"", sink);
		metrics_set("incidentd_outbox_oldest_due_seconds", labels, 0);
	}
}

int
selfmetrics_ledger(struct store *st, const struct config *cfg, int64_t now)
{
	struct store_backlog *groups = NULL;
	struct store_ledger_stats ss;
	char sink[160], labels[256];
	size_t n = 0;
	int rc;

	rc = store_ledger_stats(st, &ss);
	if (rc != 0)
		return rc;
	metrics_set("incidentd_ledger_size_bytes", NULL, (double)(ss.pages * ss.page_size));
	metrics_set("incidentd_ledger_free_bytes", NULL,
	    (double)(ss.free_pages * ss.page_size));
	metrics_set("incidentd_ledger_wal_bytes", NULL, (double)ss.wal_bytes);
	rc = store_outbox_backlog(st, &groups, &n);
	if (rc != 0)
		return rc;
	/* sinks removed from conf.d drop out, unless the ledger still has work for them */
	metrics_clear("incidentd_outbox_deliveries");
	metrics_clear("incidentd_outbox_oldest_due_seconds");
	zero_sink_series(cfg);
	for (size_t i = 0; i < n; i++) {
		const struct store_backlog *g = &groups[i];

		metrics_label_value(sink, sizeof(sink), g->sink);
		snprintf(labels, sizeof(labels), "sink=\"%s\",state=\"%s\"", sink,
		    delivery_state_name(g->state));
		metrics_set("incidentd_outbox_deliveries", labels, (double)g->count);
		if (g->state != DELIVERY_PENDING)
			continue;
		snprintf(labels, sizeof(labels), "sink=\"%s\"", sink);
		metrics_set("incidentd_outbox_oldest_due_seconds", labels,
		    g->oldest_due_at > 0 && g->oldest_due_at < now ?
		    (double)(now - g->oldest_due_at) / 1000.0 : 0);
	}
	store_backlog_free(groups, n);
	return 0;
}
