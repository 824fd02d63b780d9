/* slackfeedback.h - what people do with incidentd's Slack buttons, written to the ledger.
 *
 * A Slack interaction (sources/slack.c: POST /v1/slack/actions) is never routed like an
 * alert. It is written to the ledger as an event of the incident its button names
 * (labels.incident_id, when that incident exists) with one decision-trace row saying what
 * was pressed. A command button (labels.command: ack, silence with labels.duration,
 * resolve) on the incident's message of a configured slack sink (its refs' channel and
 * thread_ts) becomes an update delivery of the press to that sink, which checks who may
 * act, and behind it a delivery to COMMAND_SINK that applies it (command.h); the reply
 * updates the message. Anything else is recorded and changes nothing. */
#ifndef INCIDENTD_SLACKFEEDBACK_H
#define INCIDENTD_SLACKFEEDBACK_H

#include <stdint.h>

#include "config.h"
#include "event.h"
#include "store.h"

/* Write the Slack event ev (borrowed; source "slack") as request request_id's event,
 * attached to the incident labels.incident_id names when it exists (else to none), plus
 * one decision row, inside the caller's transaction. *n_deliveries is set to the
 * deliveries written (due now: the caller kicks the dispatcher). cfg is borrowed.
 * Returns 0 or a negative errno from the ledger (the caller rolls back). Never calls
 * back. */
int slackfeedback_apply(struct store *st, const struct config *cfg, const struct ievent *ev,
    int64_t request_id, int *n_deliveries);

#endif
