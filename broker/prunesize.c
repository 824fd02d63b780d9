/* prunesize.c - the size of retention batches (prunesize.h). */
#include "prunesize.h"

void
prunesize_init(struct prunesize *ps)
{
	ps->limit = PRUNESIZE_MIN;
	ps->row_us = 0;
}

void
prunesize_update(struct prunesize *ps, int64_t deleted, int64_t us)
{
	int64_t want = ps->limit, afford;
	double cost;

	if (deleted >= PRUNESIZE_MIN) {
		cost = (double)us / (double)deleted;
		ps->row_us = ps->row_us > 0 ? (ps->row_us + cost) / 2 : cost;
	}
	if (us > 2 * PRUNESIZE_TARGET_US)
		want /= 2;
	else if (us < PRUNESIZE_TARGET_US / 2)
		want *= 2;
	cost = ps->row_us > 0 ? ps->row_us : PRUNESIZE_PRIOR_US;
	afford = (int64_t)(PRUNESIZE_TARGET_US / cost);
	if (want > afford)
		want = afford;
	ps->limit = want < PRUNESIZE_MIN ? PRUNESIZE_MIN : want > PRUNESIZE_MAX ?
	    PRUNESIZE_MAX : want;
}
