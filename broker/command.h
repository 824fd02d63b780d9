/* command.h - what people ask incidentd to do from where they read the alert: a
 * `/incidentd ...` comment on the incident's GitHub issue, a button on its Slack message.
 *
 * The flow (broker/ghfeedback.c, broker/slackfeedback.c write it; the dispatcher runs it):
 *   1. the command's event is written to the ledger like every webhook;
 *   2. the sink the command came through (the github_issue instance that owns the issue,
 *      the slack instance that posted the message) gets an `update` delivery of that event:
 *      it checks that the person may act (write permission on the repository, or the
 *      Slack allow-lists) and refuses with a short reply of its own when not;
 *   3. behind it, a delivery to the reserved sink name "incidentd" (COMMAND_SINK): the
 *      broker itself applies the command to the incident in the dispatcher's transaction
 *      (command_step) and writes the outcome as an event (source "incidentd", type
 *      "incident.command") with an `update` delivery of it to the sink of step 2, which
 *      shows it (a comment, the Slack message updated in place).
 * A failed check cancels step 3 (the dispatcher's chain), so nothing changes. */
#ifndef INCIDENTD_COMMAND_H
#define INCIDENTD_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

/* The sink name of incidentd's own steps; config refuses a sink of that name. */
#define COMMAND_SINK CONFIG_RESERVED_SINK

/* Shortest and longest silence a command may set. */
#define COMMAND_SILENCE_MIN_MS (60 * 1000LL)
#define COMMAND_SILENCE_MAX_MS (30 * 24 * 3600 * 1000LL)

/* A person who was refused is not answered again on the same incident for this long: a
 * refusal costs GitHub requests, and anyone may comment on a public repository. */
#define COMMAND_REFUSAL_QUIET_MS (10 * 60 * 1000LL)

/* What `/incidentd` accepts, for replies to a bad command. */
#define COMMAND_USAGE "`/incidentd ack [reason]`, `/incidentd silence <duration, e.g. 2h> " \
	"[reason]`, `/incidentd resolve [reason]`, `/incidentd doctor`, `/incidentd explain`"

enum command_verb {
	COMMAND_NONE = 0,
	COMMAND_ACK,
	COMMAND_SILENCE,
	COMMAND_RESOLVE,
	COMMAND_DOCTOR,
	COMMAND_EXPLAIN,
};

struct command {
	enum command_verb verb;
	int64_t duration_ms;       /* silence only */
	char duration[32];         /* as written, e.g. "2h" */
	char reason[256];          /* the rest of the line (control characters as spaces), or "" */
};

/* The name of verb ("ack", ...), or NULL for COMMAND_NONE. */
const char *command_verb_name(enum command_verb verb);

/* The verb named name (exactly), or COMMAND_NONE. */
enum command_verb command_verb_parse(const char *name);

/* Find the command in text (a comment body): the first line that starts with
 * "/incidentd" followed by white space or the end of the line, outside ``` fences.
 * Returns 0 with no command (*c zeroed), 1 with *c filled, or -EINVAL when the line is a
 * bad command: err then says what is wrong and what is accepted, without echoing more of
 * the line than a short verb of [a-z0-9_-]. Never calls back. */
int command_find(const char *text, struct command *c, char *err, size_t errlen);

/* Run incidentd's own step a delivery to COMMAND_SINK stands for: apply the command (or,
 * when its event is a reconciliation pass, reconcile.h, what the sink found) (del borrowed; its event is the
 * command's, its depends_on the check of step 2) under cfg, inside the caller's
 * transaction. Writes what the command changes, the outcome event and its reply delivery;
 * *n_deliveries counts the deliveries written (the caller kicks the dispatcher after the
 * commit). Returns 0 with detail saying what happened (also when the command could not
 * apply, e.g. to a resolved incident: the reply says so), or a negative errno from the
 * ledger (the caller rolls back what it wrote). Never calls back. */
int command_step(struct store *st, const struct config *cfg, const struct delivery *del,
    int64_t now, char *detail, size_t len, int *n_deliveries);

/* Write a delivery of event_id to sink about incident_id, due at now: pending, or blocked
 * behind depends_on when that is not 0. Its id goes to *id; *n_deliveries grows by one.
 * Returns 0 or a negative errno. Does not call back. */
int command_put_delivery(struct store *st, const char *incident_id, const char *event_id,
    const char *sink, const char *action, int64_t depends_on, int64_t now, int64_t *id,
    int *n_deliveries);

/* Write the two deliveries of a command (steps 2 and 3 above) about incident_id: an update
 * of event_id to sink (the check) and one to COMMAND_SINK blocked behind it, both due at
 * now; their ids go to *check and *step, *n_deliveries grows by 2. Returns 0 or a negative
 * errno. Never calls back. */
int command_schedule(struct store *st, const char *incident_id, const char *event_id,
    const char *sink, int64_t now, int64_t *check, int64_t *step, int *n_deliveries);

/* Write the reply to a command: an event (source "incidentd", type "incident.command",
 * status info, summary = reply, labels command, duration (a silence's, when not NULL),
 * actor, outcome, reply, origin_event) about incident_id and an update delivery of it to
 * sink, due now. outcome is "done", "refused" or "failed". Returns 0 or a negative errno.
 * Never calls back. */
int command_reply(struct store *st, const char *incident_id, const char *origin_event_id,
    const char *verb, const char *duration, const char *actor, const char *outcome,
    const char *reply, const char *sink, int64_t now, int *n_deliveries);

#endif
