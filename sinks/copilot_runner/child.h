/* child.h - one child process of the copilot_runner sink, watched on the broker's libevent
 * loop: started with runner_spawn() (own process group, death signal), its stdout and
 * stderr read into a capped transcript, its exit seen through a pidfd (or, where
 * pidfd_open is unavailable, the owner's SIGCHLD handler calling runner_child_poll), a
 * timeout that sends SIGTERM to the process group and SIGKILL after a grace period, and,
 * when the leader exits, the rest of its group killed. The loop never waits for it. */
#ifndef INCIDENTD_RUNNER_CHILD_H
#define INCIDENTD_RUNNER_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/event.h>

#include "incidentd/sink.h"
#include "runner_core.h"
#include "spawn.h"

struct runner_child;

/* Called once, from the loop, when the child has exited and its output is closed (or the
 * drain deadline passed). The child may be freed from inside. */
typedef void (*runner_child_done_fn)(struct runner_child *c, void *arg);

struct runner_child_opts {
	uint64_t timeout_ms;       /* then SIGTERM to the process group */
	uint64_t kill_after_ms;    /* then SIGKILL */
	size_t output_cap;         /* bytes of output kept (head and tail), >= 2 */
	bool merge_stderr;         /* stderr into the transcript too; else to /dev/null */
	bool use_pidfd;            /* false: the owner calls runner_child_poll on SIGCHLD */
	const char *label;         /* for the log, e.g. "run for issue #42"; copied */
};

/* Start sp (its out_fd and err_fd are set here) on base. host and self are used for
 * logging (timeouts, a group that keeps its output open). Returns 0 and *out (free with
 * runner_child_free), or a negative errno with the reason in err; then nothing runs. */
int runner_child_start(const struct incidentd_host *host, struct incidentd_instance *self,
    struct event_base *base, const struct runner_spawn *sp,
    const struct runner_child_opts *o, runner_child_done_fn fn, void *arg,
    struct runner_child **out, char *err, size_t errlen);

/* SIGCHLD mode: see whether the child exited (waitid WNOWAIT on its own pid only). May
 * call the done callback. */
void runner_child_poll(struct runner_child *c);

/* SIGKILL to the child's process group (no-op once it was reaped). */
void runner_child_kill(struct runner_child *c);

/* Free c; a child still running is killed (SIGKILL to its group) and reaped, which
 * blocks only for as long as the kernel takes to end it. NULL is a no-op. Never calls
 * back. */
void runner_child_free(struct runner_child *c);

/* The child's pid (also its process group), 0 after a failed start. */
pid_t runner_child_pid(const struct runner_child *c);

/* Whether it has been reaped; its wait status (valid once reaped). */
bool runner_child_exited(const struct runner_child *c);
int runner_child_status(const struct runner_child *c);

/* Whether the timeout hit, and whether SIGKILL was needed after kill_after. */
bool runner_child_timed_out(const struct runner_child *c);
bool runner_child_killed(const struct runner_child *c);

/* ms the child ran (monotonic clock), up to its exit or now. */
int64_t runner_child_runtime_ms(const struct runner_child *c);

/* Its output. Borrowed from c. */
const struct runner_transcript *runner_child_output(const struct runner_child *c);

#endif
