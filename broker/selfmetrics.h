/* selfmetrics.h - what /metrics says about incidentd itself, read when /metrics is asked:
 * the process (CPU, memory, descriptors, start time; Prometheus' standard process_*
 * names) and the ledger (file sizes, the outbox backlog per sink and state, the age of the
 * oldest due delivery). Event-loop thread only. */
#ifndef INCIDENTD_SELFMETRICS_H
#define INCIDENTD_SELFMETRICS_H

#include <stdint.h>

#include "config.h"
#include "store.h"

/* Set the process_* gauges and counter from /proc/self. What cannot be read is left out.
 * Does not call back. */
void selfmetrics_process(void);

/* Set the ledger and outbox gauges from st (header reads and the deliveries_backlog
 * index: the cost follows the backlog, not the ledger), with a series for every
 * configured sink of cfg also when it has nothing waiting, as of now (ms). Returns 0, or
 * the store's negative errno (the gauges read so far are kept). Does not call back. */
int selfmetrics_ledger(struct store *st, const struct config *cfg, int64_t now);

#endif
