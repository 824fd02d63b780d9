/* pace.c - named pacing lanes (a short list: one lane per token or webhook). */
#include "pace.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

struct lane {
	char *name;
	int64_t next_free;   /* ms since the epoch: the earliest start of the next action */
	bool paced;          /* a reservation with a gap was made by this process */
	LIST_ENTRY(lane) entry;
};

struct pace {
	LIST_HEAD(, lane) lanes;
	int64_t born;
};

struct pace *
pace_new(int64_t now)
{
	struct pace *p = calloc(1, sizeof(*p));

	if (p != NULL) {
		LIST_INIT(&p->lanes);
		p->born = now;
	}
	return p;
}

void
pace_destroy(struct pace *p)
{
	struct lane *l;

	if (p == NULL)
		return;
	while ((l = LIST_FIRST(&p->lanes)) != NULL) {
		LIST_REMOVE(l, entry);
		free(l->name);
		free(l);
	}
	free(p);
}

/* The lane called name, created empty if absent; NULL on allocation failure. */
static struct lane *
lane_get(struct pace *p, const char *name)
{
	struct lane *l;

	LIST_FOREACH(l, &p->lanes, entry)
		if (strcmp(l->name, name) == 0)
			return l;
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->name = strdup(name)) == NULL) {
		free(l);
		return NULL;
	}
	LIST_INSERT_HEAD(&p->lanes, l, entry);
	return l;
}

int
pace_reserve(struct pace *p, const char *lane, int64_t now, uint64_t min_gap_ms,
    uint64_t *wait_ms)
{
	struct lane *l = lane_get(p, lane);
	int64_t start;

	*wait_ms = 0;
	if (l == NULL)
		return -ENOMEM;
	if (!l->paced && min_gap_ms > 0) {
		/* a previous process may have used the lane just before we started */
		l->paced = true;
		if (l->next_free < p->born + (int64_t)min_gap_ms)
			l->next_free = p->born + (int64_t)min_gap_ms;
	}
	start = l->next_free > now ? l->next_free : now;
	*wait_ms = (uint64_t)(start - now);
	l->next_free = start + (int64_t)min_gap_ms;
	return 0;
}

int
pace_hold(struct pace *p, const char *lane, int64_t until)
{
	struct lane *l = lane_get(p, lane);

	if (l == NULL)
		return -ENOMEM;
	if (until > l->next_free)
		l->next_free = until;
	return 0;
}
