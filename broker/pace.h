/* pace.h - named pacing lanes: "no two actions on this lane closer than N ms" and "nothing
 * on this lane before T" (a rate limit's reset). Sinks share them through the host, e.g.
 * one lane per API token, so every instance using that token is paced together.
 * Pure bookkeeping: no timers, no callbacks; the caller waits as told. */
#ifndef INCIDENTD_PACE_H
#define INCIDENTD_PACE_H

#include <stdint.h>

struct pace;

/* Returns a new, empty set of lanes, or NULL on allocation failure. now (ms since the
 * epoch) is the start of the process: a lane's first slot is min_gap_ms after it, since
 * the process before (a crash, a restart) may have acted on the lane just before. */
struct pace *pace_new(int64_t now);

/* Free every lane. NULL is a no-op. */
void pace_destroy(struct pace *p);

/* Book the next slot of lane at or after now: returns 0 and in *wait_ms how long the caller
 * must wait before acting (0 = at once); the slot after it is min_gap_ms later. The lane
 * name is copied. Returns -ENOMEM (then *wait_ms is 0 and nothing is booked). */
int pace_reserve(struct pace *p, const char *lane, int64_t now, uint64_t min_gap_ms,
    uint64_t *wait_ms);

/* Nothing on lane may start before until (ms since the epoch); an earlier hold than the
 * current one is ignored. Returns 0 or -ENOMEM. */
int pace_hold(struct pace *p, const char *lane, int64_t until);

#endif
