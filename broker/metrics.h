/* metrics.h - process-wide counters and histograms, rendered in Prometheus text format.
 * Event-loop thread only. Label strings are preformatted (`source="argocd"`); callers only
 * pass label values from a fixed vocabulary or validated names (no escaping needed). */
#ifndef INCIDENTD_METRICS_H
#define INCIDENTD_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <event2/buffer.h>

/* Add v to counter name{labels}; the name must be one of the families metrics.c declares.
 * Allocation failure drops the sample silently (metrics never fail a request). */
void metrics_add(const char *name, const char *labels, double v);
#define metrics_inc(name, labels) metrics_add((name), (labels), 1)

/* Set gauge name{labels} to v. */
void metrics_set(const char *name, const char *labels, double v);

/* Drop every sample of family name (a gauge whose label sets come and go, before it is
 * set again). */
void metrics_clear(const char *name);

/* Write value into out (len bytes with the NUL) as the inside of a label value: backslash,
 * double quote and newline escaped. Cut short on a whole escape. Returns out. */
char *metrics_label_value(char *out, size_t len, const char *value);

/* Observe one ledger commit duration in seconds (histogram incidentd_ledger_commit_seconds). */
void metrics_observe_commit(double seconds);

/* Append the exposition text (text/plain; version=0.0.4) of every family to out. */
void metrics_render(struct evbuffer *out);

/* Free everything (at exit, for leak checkers). */
void metrics_reset(void);

#endif
