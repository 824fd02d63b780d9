/* spawn.h - start one child of the copilot_runner sink with fork() + execve(), so the child
 * can be tied to the daemon's life (PR_SET_PDEATHSIG), which posix_spawn cannot do.
 *
 * Between fork and exec the child makes only async-signal-safe calls: setpgid, sigaction
 * resets, sigprocmask, dup2, close_range, chdir, setgroups/setgid/setuid,
 * prctl(PR_SET_PDEATHSIG, SIGKILL) (after the credential change, which would clear it),
 * getppid (to close the race with a parent that died before the prctl) and execve. A
 * failure of any step is reported to the parent through a close-on-exec pipe, so
 * runner_spawn() either returns a running child or an error that names the step. */
#ifndef INCIDENTD_RUNNER_SPAWN_H
#define INCIDENTD_RUNNER_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The death signal applies to the thread that forks: call runner_spawn() from the thread
 * that lives as long as the daemon (the event-loop thread). */
struct runner_spawn {
	const char *path;          /* the program; execve() is given it as is (no PATH search) */
	char *const *argv;         /* NULL-terminated; argv[0] is what the program sees */
	char *const *envp;         /* NULL-terminated: the child's whole environment */
	const char *workdir;       /* chdir() there before exec, or NULL to stay */
	int out_fd;                /* becomes stdout, > 2 */
	int err_fd;                /* becomes stderr, > 2; -1 = the same as out_fd */
	/* stdin is always /dev/null; every other descriptor is closed */
	bool set_ids;              /* change credentials before exec: */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;       /* supplementary groups (setgroups), may be NULL when */
	size_t n_groups;           /* n_groups is 0 (then the child has none) */
};

/* Start the child in its own process group (pgid = pid) with default signal dispositions,
 * an empty signal mask and PR_SET_PDEATHSIG = SIGKILL. Blocks only until the child has
 * executed the program (or failed to). Returns 0 and *pid, or a negative errno with
 * "<step>: <reason>" in err (e.g. "chdir /x: No such file or directory"); a child that
 * failed is reaped before returning. Does not call back. */
int runner_spawn(const struct runner_spawn *sp, pid_t *pid, char *err, size_t errlen);

#endif
