/* child.c - a watched child process of the copilot_runner sink (child.h). */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define CHILD_DRAIN_MS 2000      /* output may stay open this long after the exit */
#define CHILD_READ_CHUNK 16384

struct runner_child {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	struct runner_child_opts o;
	char *label;
	runner_child_done_fn fn;
	void *arg;
	pid_t pid;                   /* also the process group id */
	int pidfd;                   /* -1 = none (SIGCHLD mode) */
	int out_fd;                  /* read end of the output pipe, -1 when closed */
	struct event *exit_ev;
	struct event *out_ev;
	struct event *timer_ev;      /* timeout, then kill_after, then the drain deadline */
	bool exited;
	bool timed_out;
	bool killed;
	bool reported;
	int status;
	int64_t started_mono;
	int64_t ended_mono;
	struct runner_transcript tr;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
child_close_output(struct runner_child *c)
{
	if (c->out_ev != NULL) {
		event_free(c->out_ev);
		c->out_ev = NULL;
	}
	if (c->out_fd >= 0) {
		close(c->out_fd);
		c->out_fd = -1;
	}
}

static void
child_maybe_done(struct runner_child *c)
{
	if (!c->exited || c->out_fd >= 0 || c->reported)
		return;
	if (c->timer_ev != NULL)
		event_del(c->timer_ev);
	c->reported = true;
	c->fn(c, c->arg);          /* may free c */
}

static void
child_on_output(evutil_socket_t fd, short what, void *arg)
{
	struct runner_child *c = arg;
	char buf[CHILD_READ_CHUNK];
	ssize_t n;

	(void)what;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			runner_transcript_add(&c->tr, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;     /* EOF or an error: the output is over */
	}
	child_close_output(c);
	child_maybe_done(c);
}

/* The leader has exited (a zombie until reaped here): kill what is left of its group while
 * its pid still names the group, reap, then wait for the output to close. */
static void
child_exited(struct runner_child *c)
{
	struct timeval tv = { CHILD_DRAIN_MS / 1000, (CHILD_DRAIN_MS % 1000) * 1000 };

	kill(-c->pid, SIGKILL);
	if (waitpid(c->pid, &c->status, WNOHANG) != c->pid)
		return;       /* not ours to reap yet: try on the next notification */
	c->exited = true;
	c->ended_mono = mono_ms();
	if (c->exit_ev != NULL)
		event_del(c->exit_ev);
	if (c->out_fd >= 0 && c->timer_ev != NULL)
		event_add(c->timer_ev, &tv);   /* drain deadline */
	child_maybe_done(c);
}

static void
child_on_pidfd(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	child_exited(arg);
}

void
runner_child_poll(struct runner_child *c)
{
	siginfo_t info;

	if (c == NULL || c->pid <= 0 || c->exited)
		return;
	/* only our own pid; WNOWAIT keeps the zombie so the group can still be killed */
	memset(&info, 0, sizeof(info));
	if (waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    info.si_pid == c->pid)
		child_exited(c);
}

static void
child_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct runner_child *c = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (c->exited) {          /* the drain deadline: stop waiting for the output */
		c->host->log(c->self, INCIDENTD_LOG_WARN, "%s: output still open %d ms after the "
		    "exit (a process left the group); closed", c->label, CHILD_DRAIN_MS);
		child_close_output(c);
		child_maybe_done(c);
		return;
	}
	if (!c->timed_out) {
		c->timed_out = true;
		c->host->log(c->self, INCIDENTD_LOG_WARN, "%s: timeout after %llu ms; SIGTERM to "
		    "process group %d", c->label, (unsigned long long)c->o.timeout_ms,
		    (int)c->pid);
		kill(-c->pid, SIGTERM);
		tv.tv_sec = (time_t)(c->o.kill_after_ms / 1000);
		tv.tv_usec = (suseconds_t)(c->o.kill_after_ms % 1000) * 1000;
		event_add(c->timer_ev, &tv);
		return;
	}
	c->killed = true;
	c->host->log(c->self, INCIDENTD_LOG_WARN, "%s: still running %llu ms after SIGTERM; "
	    "SIGKILL to process group %d", c->label, (unsigned long long)c->o.kill_after_ms,
	    (int)c->pid);
	kill(-c->pid, SIGKILL);
}

int
runner_child_start(const struct incidentd_host *host, struct incidentd_instance *self,
    struct event_base *base, const struct runner_spawn *sp,
    const struct runner_child_opts *o, runner_child_done_fn fn, void *arg,
    struct runner_child **out, char *err, size_t errlen)
{
	struct runner_child *c = calloc(1, sizeof(*c));
	struct runner_spawn s = *sp;
	int pipefd[2] = { -1, -1 }, null_fd = -1, rc = -ENOMEM;
	struct timeval tv;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (c == NULL)
		goto out;
	c->host = host;
	c->self = self;
	c->o = *o;
	c->fn = fn;
	c->arg = arg;
	c->pidfd = -1;
	c->out_fd = -1;
	if ((c->label = strdup(o->label ? o->label : "child")) == NULL ||
	    runner_transcript_init(&c->tr, o->output_cap) != 0)
		goto out;
	if (pipe2(pipefd, O_CLOEXEC) != 0 ||
	    (!o->merge_stderr && (null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)) {
		rc = -errno;
		snprintf(err, errlen, "cannot create the output pipe: %s", strerror(errno));
		goto out;
	}
	/* non-blocking for us only: the write end is a separate open file */
	if (fcntl(pipefd[0], F_SETFL, fcntl(pipefd[0], F_GETFL) | O_NONBLOCK) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot prepare the output pipe: %s", strerror(errno));
		goto out;
	}
	s.out_fd = pipefd[1];
	s.err_fd = o->merge_stderr ? -1 : null_fd;
	if ((rc = runner_spawn(&s, &c->pid, err, errlen)) != 0) {
		c->pid = 0;
		goto out;
	}
	c->started_mono = mono_ms();
	close(pipefd[1]);
	pipefd[1] = -1;
	c->out_fd = pipefd[0];
	pipefd[0] = -1;
	/* from here on the child runs: a failure below kills it (runner_child_free) */
	if (o->use_pidfd) {
		c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
		if (c->pidfd >= 0)
			c->exit_ev = event_new(base, c->pidfd, EV_READ | EV_PERSIST,
			    child_on_pidfd, c);
	}
	c->out_ev = event_new(base, c->out_fd, EV_READ | EV_PERSIST, child_on_output, c);
	c->timer_ev = evtimer_new(base, child_on_timer, c);
	tv.tv_sec = (time_t)(o->timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(o->timeout_ms % 1000) * 1000;
	if ((o->use_pidfd && c->exit_ev == NULL) || c->out_ev == NULL || c->timer_ev == NULL ||
	    event_add(c->out_ev, NULL) != 0 ||
	    (c->exit_ev != NULL && event_add(c->exit_ev, NULL) != 0) ||
	    event_add(c->timer_ev, &tv) != 0) {
		snprintf(err, errlen, "cannot watch the child (%s)", o->use_pidfd &&
		    c->pidfd < 0 ? "pidfd_open failed" : "out of memory");
		rc = o->use_pidfd && c->pidfd < 0 ? -ENOSYS : -ENOMEM;
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	if (rc == -ENOMEM && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (null_fd >= 0)
		close(null_fd);
	runner_child_free(c);
	return rc;
}

void
runner_child_kill(struct runner_child *c)
{
	if (c != NULL && c->pid > 0 && !c->exited)
		kill(-c->pid, SIGKILL);
}

void
runner_child_free(struct runner_child *c)
{
	if (c == NULL)
		return;
	if (c->pid > 0 && !c->exited) {
		kill(-c->pid, SIGKILL);
		while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
			;
	}
	if (c->exit_ev != NULL)
		event_free(c->exit_ev);
	if (c->timer_ev != NULL)
		event_free(c->timer_ev);
	child_close_output(c);
	if (c->pidfd >= 0)
		close(c->pidfd);
	runner_transcript_clear(&c->tr);
	free(c->label);
	free(c);
}

pid_t
runner_child_pid(const struct runner_child *c)
{
	return c->pid;
}

bool
runner_child_exited(const struct runner_child *c)
{
	return c->exited;
}

int
runner_child_status(const struct runner_child *c)
{
	return c->status;
}

bool
runner_child_timed_out(const struct runner_child *c)
{
	return c->timed_out;
}

bool
runner_child_killed(const struct runner_child *c)
{
	return c->killed;
}

int64_t
runner_child_runtime_ms(const struct runner_child *c)
{
	return (c->exited ? c->ended_mono : mono_ms()) - c->started_mono;
}

const struct runner_transcript *
runner_child_output(const struct runner_child *c)
{
	return &c->tr;
}
