/* prunesize.h - how many rows the next retention batch of a table looks at (retention.c):
 * about PRUNESIZE_TARGET_US of work, from what a deleted row has cost so far. Any window
 * may turn out to be all deletable, so the size never exceeds what the target affords at
 * that cost; until a batch has deleted enough rows to tell, a deleted row is taken to cost
 * PRUNESIZE_PRIOR_US (more than any measured), so that quick batches over rows that stay
 * cannot grow the size unchecked. Pure arithmetic, no state beyond the struct. */
#ifndef INCIDENTD_PRUNESIZE_H
#define INCIDENTD_PRUNESIZE_H

#include <stdint.h>

#define PRUNESIZE_TARGET_US 2000    /* aim for ~2 ms per transaction */
#define PRUNESIZE_PRIOR_US 100.0    /* a deleted row's cost until one is measured */
#define PRUNESIZE_MIN 16
#define PRUNESIZE_MAX 4096

struct prunesize {
	int64_t limit;                  /* rows the next batch looks at */
	double row_us;                  /* measured cost of a deleted row, 0 = not yet */
};

/* A table no batch has run on yet: the smallest size, no cost known. */
void prunesize_init(struct prunesize *ps);

/* After a batch that deleted `deleted` rows in `us` microseconds (the whole batch): learn
 * the cost of a row from batches that deleted at least PRUNESIZE_MIN rows (an average with
 * what was known), halve the size after a batch over twice the target, double it after one
 * under half of it, then keep it within PRUNESIZE_MIN..PRUNESIZE_MAX and under what the
 * target affords at the known (or assumed) cost of a row. */
void prunesize_update(struct prunesize *ps, int64_t deleted, int64_t us);

#endif
