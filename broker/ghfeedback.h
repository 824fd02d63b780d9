/* ghfeedback.h - what people do on GitHub, applied to the incidents whose issues incidentd
 * owns.
 *
 * A GitHub webhook event (sources/github.c) is not routed like an alert: it is written to
 * the ledger and, when it is about an issue an incident refers to (the incident's refs name
 * that repository and issue number; the marker in the issue body only helps to find it),
 * it changes the incident:
 *   issues.closed by a person      the incident is acknowledged by "github:<login>" until it
 *                                  resolves: sinks get no update notifications meanwhile
 *   issues.reopened by a person    the acknowledgement is withdrawn: notifications resume
 *   issue_comment.created with a   a bad one gets a reply (command_reply); a good one an
 *   `/incidentd` line by a person  update delivery of this event to the sink that owns the
 *                                  issue (the permission check) and, behind it, one to
 *                                  COMMAND_SINK (command.h)
 *   issues.deleted / .transferred  the sink's refs are dropped: the next notification opens
 *                                  a new issue
 *   pull_request                   a pull request that references the issue ("Fixes
 *                                  owner/repo#N", a link, or the marker) is the incident's
 *                                  fix (fix_pr, fix_url); merged, fix_merged_at is set (the
 *                                  time to fix) and the sink that owns the incident's
 *                                  issue gets an `update` delivery of this event (the
 *                                  github_issue sink notes "fix merged" on the issue,
 *                                  acknowledged or not); closed unmerged, the link goes
 * Everything else, and everything about issues incidentd does not own, is recorded and
 * changes nothing. Each outcome is a decision-trace row of the event (`explain`). */
#ifndef INCIDENTD_GHFEEDBACK_H
#define INCIDENTD_GHFEEDBACK_H

#include <stdint.h>

#include "config.h"
#include "event.h"
#include "store.h"

/* Write the GitHub event ev (borrowed; source "github") as request request_id's event and
 * apply it under cfg (borrowed), inside the caller's transaction; *n_deliveries is set to
 * the deliveries written (due now: the caller kicks the dispatcher after the commit).
 * Returns 0 or a negative errno from the ledger (the caller rolls back). Never calls back. */
int ghfeedback_apply(struct store *st, const struct config *cfg, const struct ievent *ev,
    int64_t request_id, int *n_deliveries);

#endif
