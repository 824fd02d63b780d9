/* metrics.h - process-wide counters and histograms, rendered in Prometheus text format.
 * Event-loop thread only. Label strings are preformatted (`source="argocd"`); callers only
 * pass label values from a fixed vocabulary or validated names (no escaping needed). */
#ifndef INCIDENTD_METRICS_H
#define INCIDENTD_METRICS_H

#include <stdint.h>
#include <event2/buffer.h>

/* Add v to counter name{labels}; the name must be one of the families metrics.c declares.
 * Allocation failure drops the sample silently (metrics never fail a request). */
void metrics_add(const char *name, const char *labels, double v);
#define metrics_inc(name, labels) metrics_add((name), (labels), 1)

/* Set gauge name{labels} to v. */
void metrics_set(const char *name, const char *labels, double v);

/* Observe one ledger commit duration in seconds (histogram incidentd_ledger_commit_seconds). */
void metrics_observe_commit(double seconds);

/* Append the exposition text (text/plain; version=0.0.4) of every family to out. */
void metrics_render(struct evbuffer *out);

/* Free everything (at exit, for leak checkers). */
void metrics_reset(void);

#endif
