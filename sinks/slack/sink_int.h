/* sink_int.h - what the slack sink's files share: the instance, one delivery in flight
 * (a job), and the few steps every job uses. Compiled into the plugin only (hidden). */
#ifndef INCIDENTD_SLACK_SINK_INT_H
#define INCIDENTD_SLACK_SINK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <jansson.h>

#include "incidentd/sink.h"
#include "blocks.h"
#include "history.h"
#include "slackapi.h"
#include "template.h"

/* Slack: about one message per second per channel, as Slack sees them arrive: 100 ms of
 * margin for the jitter between our send and its receipt (as for GitHub's mutations) */
#define SL_GAP_MS 1100
/* How long a user group's members are believed (usergroups.users.list) */
#define SL_GROUP_TTL_MS (5 * 60 * 1000)

/* What a delivery asks (sl_job.kind). */
enum sl_kind {
	SL_POST = 0,     /* open / update / resolve: a message (slack.c) */
	SL_CHECK,        /* may the Slack user of a button press act? (interact.c) */
	SL_REPLY,        /* a command was applied: update the incident's message */
};

struct sl_sink {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	struct slack_client api;     /* auth header, lane, hold: the transport */
	bool webhook;
	char *url;                   /* the webhook URL (secret) or <api_url>/chat.postMessage */
	char *api_base;              /* token mode: <api_url> without a trailing '/' */
	char *channel;               /* token mode: where open messages go */
	char channel_id[SLACK_ID_MAX];   /* its ID (configured, answered or looked up), or "" */
	struct slack_identity me;    /* who the token posts as, once known */
	bool warned_unchecked;       /* logged that retries cannot be checked */
	char *issue_from;
	struct template *title;      /* plain text, or NULL */
	struct template *text;       /* mrkdwn over escaped values, or NULL */
	LIST_HEAD(, sl_job) jobs;
	/* interactivity (interact.c) */
	bool buttons;                /* command buttons on the incident's message */
	char **allowed_users;        /* Slack user IDs that may act (NULL-terminated) */
	size_t n_allowed_users;
	char **allowed_groups;       /* user-group IDs whose members may act */
	size_t n_allowed_groups;
	json_t *groups;              /* cache: group ID -> {"until": ms, "users": [IDs]} */
};

struct sl_job {
	struct sl_sink *s;
	incidentd_done_fn done;
	struct incidentd_call *call;
	char *action;
	char *key;
	int attempt;
	int64_t delivery;            /* the ledger's delivery id (the metadata's) */
	char *event_id;
	bool threaded;               /* a reply in the incident's known thread */
	char thread_ts[SLACK_ID_MAX];    /* threaded: the thread and its channel ID */
	char thread_channel[SLACK_ID_MAX];
	char *body;                  /* the message (JSON) */
	/* the check of a retry */
	const char *scan_channel;    /* the channel ID read */
	char *read_url;              /* the read in flight, to ask again after a rate limit */
	int read_waits;
	char oldest[32];             /* "<seconds>.000000", or "" */
	char *cursor;
	int pages;
	int foreign;                 /* messages with our metadata by another bot or user */
	char unchecked[200];         /* why an earlier attempt's message was not looked for */
	struct slack_request *req;
	struct incidentd_timer *timer;   /* the start, from the loop */
	void (*next)(struct sl_job *, const struct slack_answer *);
	LIST_ENTRY(sl_job) entry;
	/* interactivity (interact.c) */
	enum sl_kind kind;
	char *early;                 /* finish OK with this detail without asking Slack */
	char user[SLACK_ID_MAX];     /* SL_CHECK: labels.slack_user */
	char note_channel[SLACK_ID_MAX];  /* SL_CHECK: where the refused person pressed */
	char *command;               /* SL_CHECK: labels.command, or NULL */
	size_t group;                /* SL_CHECK: the next allowed_groups entry to ask */
};

/* The string at obj[key] when it is a non-empty string, else NULL (borrowed). */
const char *jstr(const json_t *obj, const char *key);

/* Report the outcome to the broker and free the job (it leaves s->jobs). */
void job_finish(struct sl_job *j, enum incidentd_result res, uint64_t retry_after_ms,
    const char *detail, const char *result);

/* Start a request (body NULL: a GET; url and body are copied), then next(j, answer); on
 * failure to start, finish with RETRY. */
void job_send(struct sl_job *j, const char *url, const char *body, uint64_t gap_ms,
    void (*next)(struct sl_job *, const struct slack_answer *));

/* interact.c: which kind of delivery d is (event: its event JSON, borrowed). */
enum sl_kind sl_interact_kind(const struct incidentd_delivery *d, const json_t *event);

/* interact.c: prepare an SL_CHECK or SL_REPLY job j for d (event borrowed). Returns 0 or
 * -ENOMEM; may set j->early (nothing to ask Slack). Does not call back. */
int sl_interact_prepare(struct sl_job *j, const struct incidentd_delivery *d,
    const json_t *event);

/* interact.c: start a prepared SL_CHECK or SL_REPLY job (from the loop); finishes it
 * later, exactly once. */
void sl_interact_begin(struct sl_job *j);

/* interact.c: check the options allowed_users and allowed_groups (JSON arrays or NULL,
 * borrowed) into s. Returns 0, -EINVAL with a message naming the key in err, or -ENOMEM. */
int sl_interact_config(struct sl_sink *s, const json_t *users, const json_t *groups,
    char *err, size_t errlen);

/* interact.c: free what sl_interact_config() and the group cache hold. */
void sl_interact_clear(struct sl_sink *s);

#endif
