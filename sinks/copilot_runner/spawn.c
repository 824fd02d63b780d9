/* spawn.c - fork + execve with a death signal (spawn.h). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* The steps the child reports a failure of (index into step_names). */
enum spawn_step {
	STEP_SETPGID, STEP_DUP, STEP_CLOSE, STEP_CHDIR, STEP_SETGROUPS, STEP_SETGID,
	STEP_SETUID, STEP_PDEATHSIG, STEP_EXEC,
};

static const char *const step_names[] = {
	[STEP_SETPGID] = "setpgid", [STEP_DUP] = "dup2", [STEP_CLOSE] = "close_range",
	[STEP_CHDIR] = "chdir", [STEP_SETGROUPS] = "setgroups", [STEP_SETGID] = "setgid",
	[STEP_SETUID] = "setuid", [STEP_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
	[STEP_EXEC] = "execve",
};

struct spawn_report {
	int step;
	int err;
};

/* Child side: report the failed step and leave without running atexit handlers. */
static void __attribute__((noreturn))
child_fail(int report_fd, enum spawn_step step)
{
	struct spawn_report r = { (int)step, errno };
	ssize_t n;

	do
		n = write(report_fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/* Child side: fd, moved above 2 (close-on-exec) so dup2 onto 0..2 cannot clobber it. */
static int
child_lift(int fd, int report_fd)
{
	int nfd;

	if (fd > 2)
		return fd;
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		child_fail(report_fd, STEP_DUP);
	return nfd;
}

/* Child side: close every descriptor from lo to hi (inclusive). */
static int
child_close_range(unsigned lo, unsigned hi, unsigned max_fd)
{
	if (lo > hi)
		return 0;
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	for (unsigned fd = lo; fd <= hi && fd < max_fd; fd++)
		close((int)fd);
	return 0;
}

/* Child side, between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child_main(const struct runner_spawn *sp, int null_fd, int report_fd, pid_t parent,
    unsigned max_fd)
{
	struct sigaction dfl;
	sigset_t none;
	int out_fd, err_fd;

	if (setpgid(0, 0) != 0)
		child_fail(report_fd, STEP_SETPGID);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);    /* reserved ones fail: fine */
	report_fd = child_lift(report_fd, report_fd);
	null_fd = child_lift(null_fd, report_fd);
	out_fd = child_lift(sp->out_fd, report_fd);
	err_fd = sp->err_fd >= 0 ? child_lift(sp->err_fd, report_fd) : out_fd;
	if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		child_fail(report_fd, STEP_DUP);
	/* everything above 2 but the report pipe (close-on-exec: the exec closes it) */
	if (child_close_range(3, (unsigned)report_fd - 1, max_fd) != 0 ||
	    child_close_range((unsigned)report_fd + 1, ~0U, max_fd) != 0)
		child_fail(report_fd, STEP_CLOSE);
	if (sp->workdir != NULL && chdir(sp->workdir) != 0)
		child_fail(report_fd, STEP_CHDIR);
	if (sp->set_ids) {
		if (setgroups(sp->n_groups, sp->n_groups > 0 ? sp->groups : NULL) != 0)
			child_fail(report_fd, STEP_SETGROUPS);
		if (setgid(sp->gid) != 0)
			child_fail(report_fd, STEP_SETGID);
		if (setuid(sp->uid) != 0)
			child_fail(report_fd, STEP_SETUID);
	}
	/* after the credential change, which resets the death signal */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		child_fail(report_fd, STEP_PDEATHSIG);
	/* the parent may have died before the prctl: then nobody would ever send it */
	if (getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(sp->path, sp->argv, sp->envp);
	child_fail(report_fd, STEP_EXEC);
}

int
runner_spawn(const struct runner_spawn *sp, pid_t *pid, char *err, size_t errlen)
{
	int null_fd = -1, report[2] = { -1, -1 }, rc, status;
	struct spawn_report r;
	sigset_t all, old;
	struct rlimit rl;
	unsigned max_fd = 65536;
	pid_t parent = getpid(), child;
	size_t got = 0;
	ssize_t n;

	if (sp->out_fd < 0) {
		snprintf(err, errlen, "no output descriptor");
		return -EINVAL;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < max_fd)
		max_fd = (unsigned)rl.rlim_cur;
	if ((null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
	    pipe2(report, O_CLOEXEC) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot prepare the child: %s", strerror(errno));
		goto out;
	}
	/* no handler of ours may run in the child before the reset */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	child = fork();
	if (child == 0)
		child_main(sp, null_fd, report[1], parent, max_fd);
	rc = child < 0 ? -errno : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "fork: %s", strerror(-rc));
		goto out;
	}
	close(report[1]);
	report[1] = -1;
	/* EOF: the exec closed the pipe; a report: a step failed */
	while (got < sizeof(r)) {
		n = read(report[0], (char *)&r + got, sizeof(r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == 0) {
		*pid = child;
		rc = 0;
		goto out;
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (got < sizeof(r) || r.step < 0 || r.step > STEP_EXEC || r.err <= 0) {
		snprintf(err, errlen, "the child failed before exec");
		rc = -EIO;
		goto out;
	}
	snprintf(err, errlen, "%s%s%s: %s", step_names[r.step],
	    r.step == STEP_CHDIR || r.step == STEP_EXEC ? " " : "",
	    r.step == STEP_CHDIR ? sp->workdir : r.step == STEP_EXEC ? sp->path : "",
	    strerror(r.err));
	rc = -r.err;
out:
	if (null_fd >= 0)
		close(null_fd);
	if (report[0] >= 0)
		close(report[0]);
	if (report[1] >= 0)
		close(report[1]);
	return rc;
}
