/* runner_sink.h - internals shared by the copilot_runner sink's files: the instance
 * (copilot_runner.c: options, init, the descriptor) and its jobs (runner_job.c: one
 * delivery from its start to done()). Not a public interface. */
#ifndef INCIDENTD_RUNNER_SINK_H
#define INCIDENTD_RUNNER_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <event2/event.h>
#include <jansson.h>

#include "incidentd/sink.h"
#include "child.h"
#include "runner_core.h"
#include "sandbox.h"

struct template;

/* Budget and slots, shared by the instances of one name (a reload replaces the instance
 * before the old one is destroyed, so the count survives it): the fallback of a broker
 * without host->quota_take and slot_take (which share them across replicas). */
struct rn_shared {
	char *name;
	int refs;
	int64_t day;           /* UTC day number of `used` */
	int64_t used;          /* runs started that day */
	int running;           /* jobs holding a slot (probing or running), every instance */
	LIST_ENTRY(rn_shared) entry;
};

/* Runs of one delivery that ended without success, for retries: (delivery id, runs). */
struct rn_tries {
	int64_t delivery;
	int runs;
	LIST_ENTRY(rn_tries) entry;
};

struct rn_sink;

/* One delivery. It has at most one child at a time: the probe, then the agent. */
struct rn_job {
	struct rn_sink *s;
	incidentd_done_fn done;      /* NULL once done() was called */
	struct incidentd_call *call;
	int64_t delivery;
	int attempt;                 /* the delivery's attempt number */
	char *action;
	bool recovering;             /* recover(), not deliver() */
	json_t *note;                /* the delivery's note from an earlier attempt, or NULL */
	json_t *incident;
	json_t *event;
	struct event *begin_ev;      /* zero timer: start outside deliver() */
	struct runner_child *probe;
	struct runner_child *agent;
	bool slot;                   /* holds a runner slot (host or shared->running) */
	bool abandoned;              /* done() was called; only a child is left to end */
	int64_t started_ms;          /* wall clock at the agent's start */
	json_int_t issue;
	const json_t *issue_ref;     /* borrowed from incident */
	int prev_runs;               /* runs of this incident before this delivery */
	int run;                     /* this run's number among the delivery's runs */
	struct runner_identity id;
	LIST_ENTRY(rn_job) entry;
};

enum rn_sandbox { RN_SANDBOX_BWRAP, RN_SANDBOX_NONE };

struct rn_sink {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	struct event_base *base;
	struct rn_shared *shared;
	bool host_admits;            /* budget and slots through the host (quota/slot_take) */
	char slot_name[320];         /* "copilot_runner:<instance>" */
	char quota_name[320];        /* "copilot_runner:<instance>:runs" */
	char **command;              /* NULL-terminated template sources */
	char **read_only;            /* NULL-terminated */
	struct template **argv_t;    /* one per command element */
	size_t argc;
	struct template *prompt_t;
	json_t *env;                 /* checked env: object */
	json_t *clusters;
	char *workdir;
	char *issue_from;
	char *repo;
	uint64_t timeout_ms;
	uint64_t kill_after_ms;
	uint64_t queue_retry_ms;
	uint64_t retry_delay_ms;
	int64_t max_concurrent;
	int64_t daily_budget;
	int64_t retries;
	size_t transcript_max;
	bool use_pidfd;
	enum rn_sandbox sandbox_kind;
	struct runner_sandbox *sandbox;  /* RN_SANDBOX_BWRAP */
	bool set_ids;                /* run_as: change credentials in the child */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	struct event *sigchld_ev;    /* SIGCHLD mode only */
	LIST_HEAD(, rn_job) jobs;
	LIST_HEAD(, rn_tries) tries;
};

/* Create the job of one delivery (deliver() or, with recovering, recover()) and start it
 * from a zero timer. Returns 0 (done() will be called later) or -ENOMEM. */
int rn_job_start(struct rn_sink *s, const struct incidentd_delivery *d, bool recovering,
    incidentd_done_fn done, struct incidentd_call *call);

/* SIGTERM drain: stop the job's child and complete the delivery (an interrupted run
 * counts as a run: it fails "interrupted", or is retried when retries allow). */
void rn_job_flush(struct rn_job *j);

/* SIGCHLD mode: look at the job's child. May complete and free the job. */
void rn_job_poll(struct rn_job *j);

/* Free the job (its child is killed and reaped). NULL is a no-op. Never calls back. */
void rn_job_free(struct rn_job *j);

#endif
