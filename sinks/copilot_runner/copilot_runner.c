/* copilot_runner.c - the copilot_runner sink: hand an incident's GitHub issue to a
 * diagnosis agent (GitHub Copilot CLI with a custom agent) by running it as a child
 * process, once per incident (DESIGN.md §8).
 *
 * The command is an argv list (never a shell); every element is a Mustache template over
 * the incident ({{prompt}} is the rendered prompt). The child gets only the configured
 * env: plus PATH and HOME, its own process group, /dev/null as stdin and one pipe for
 * stdout and stderr; descriptors above 2 are closed. Its output is read on the broker's
 * libevent loop into a capped transcript; its exit is watched with a pidfd (or, where
 * pidfd_open is unavailable, SIGCHLD and waitid for its own pids only). On timeout the
 * whole group gets SIGTERM, then SIGKILL after kill_after; when the agent exits, what is
 * left of its group is killed.
 *
 * Per delivery: resolve does nothing; update does nothing when refs.<instance>.runs >= 1
 * (once per incident); an incident without an issue ref never runs (FAIL). Otherwise the
 * daily budget (runs started per UTC day, per instance name, kept in memory across
 * reloads but not restarts) must allow a run (else FAIL "budget exhausted (N/day)"), and
 * a runner slot must be free (else RETRY after queue_retry, "waiting for a free runner
 * slot"). The cluster identity is checked against the clusters: registry; an uncertain
 * identity appends read_only_args to the argv and prefixes the prompt.
 *
 * Result (stored on the incident under the instance name, also for a failed final run):
 * {"runs", "last_exit", "last_signal", "timed_out", "last_run_at", "duration_ms",
 *  "identity", "identity_detail", "read_only", "issue", "transcript", "transcript_bytes",
 *  "transcript_dropped"}. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <event2/event.h>
#include <jansson.h>

#include "incidentd/sink.h"
#include "runner_core.h"
#include "template.h"

#define RUNNER_DRAIN_MS 2000     /* output may stay open this long after the exit */
#define RUNNER_READ_CHUNK 16384

static const char *const default_command[] = { "copilot", "-p", "{{prompt}}", "--agent",
	"cluster-doctor", "--additional-mcp-config", "@.copilot/mcp-config.json",
	"--allow-all-tools", NULL };

/* Denied when the cluster identity is uncertain: file writes, cluster-mutating shell
 * commands, git push, and the write tools of the GitHub and cluster MCP servers of
 * deploy/copilot/mcp-config.json. Deny rules win over --allow-all-tools. */
static const char *const default_read_only[] = {
	"--deny-tool", "write",
	"--deny-tool", "shell(kubectl apply)", "--deny-tool", "shell(kubectl create)",
	"--deny-tool", "shell(kubectl delete)", "--deny-tool", "shell(kubectl edit)",
	"--deny-tool", "shell(kubectl patch)", "--deny-tool", "shell(kubectl replace)",
	"--deny-tool", "shell(kubectl scale)", "--deny-tool", "shell(kubectl rollout)",
	"--deny-tool", "shell(kubectl set)", "--deny-tool", "shell(kubectl label)",
	"--deny-tool", "shell(kubectl annotate)", "--deny-tool", "shell(kubectl exec)",
	"--deny-tool", "shell(kubectl drain)", "--deny-tool", "shell(kubectl cordon)",
	"--deny-tool", "shell(helm)", "--deny-tool", "shell(argocd)",
	"--deny-tool", "shell(git push)",
	"--deny-tool", "github(create_pull_request)", "--deny-tool", "github(create_branch)",
	"--deny-tool", "github(push_files)", "--deny-tool", "github(create_or_update_file)",
	"--deny-tool", "github(merge_pull_request)",
	"--deny-tool", "kubernetes(resources_create_or_update)",
	"--deny-tool", "kubernetes(resources_delete)", "--deny-tool", "kubernetes(pods_delete)",
	"--deny-tool", "kubernetes(pods_exec)", "--deny-tool", "kubernetes(pods_run)",
	"--deny-tool", "kubernetes(helm_install)", "--deny-tool", "kubernetes(helm_uninstall)",
	NULL };

static const char default_prompt[] =
	"Use the GitHub MCP Server to analyze GitHub Issue #{{issue.number}} in {{repo}}: "
	"{{summary}}. The deployment of {{app}} in namespace {{namespace}} on cluster "
	"{{cluster}} failed (source {{source}}, revision {{revision}}). Cluster identity: "
	"{{identity}}. Diagnose the root cause with read-only commands first, post your "
	"diagnosis as a comment on the issue, and if a change in this GitOps repository fixes "
	"it, open a pull request that references the issue for human review. Never change "
	"the cluster directly.";

enum child_watch { WATCH_AUTO, WATCH_PIDFD, WATCH_SIGCHLD };

/* Budget and slots, shared by the instances of one name (a reload replaces the instance
 * before the old one is destroyed, so the count survives it). */
struct rn_shared {
	char *name;
	int refs;
	int64_t day;           /* UTC day number of `used` */
	int64_t used;          /* runs started that day */
	int running;           /* children alive, over every instance of the name */
	LIST_ENTRY(rn_shared) entry;
};

static LIST_HEAD(, rn_shared) shared_list = LIST_HEAD_INITIALIZER(shared_list);

struct rn_sink;

/* Failed runs of one delivery, for retries: (delivery id, runs so far). */
struct rn_tries {
	int64_t delivery;
	int runs;
	LIST_ENTRY(rn_tries) entry;
};

struct rn_job {
	struct rn_sink *s;
	incidentd_done_fn done;
	struct incidentd_call *call;
	int64_t delivery;
	char *action;
	json_t *incident;
	json_t *event;
	struct event *begin_ev;      /* zero timer: start outside deliver() */
	/* the child, once started */
	pid_t pid;                   /* 0 = none; also the process group id */
	int pidfd;                   /* -1 = none (SIGCHLD mode) */
	int out_fd;                  /* read end of the output pipe, -1 when closed */
	struct event *exit_ev;
	struct event *out_ev;
	struct event *timer_ev;      /* timeout, then kill_after, then drain */
	bool exited;
	bool timed_out;
	bool killed;                 /* SIGKILL sent after kill_after */
	bool abandoned;              /* flush(): done() was called, only reaping is left */
	int status;                  /* waitpid status */
	int64_t started_ms;
	int64_t started_mono;
	json_int_t issue;
	int prev_runs;
	bool verified;
	char identity_detail[512];
	struct runner_transcript tr;
	LIST_ENTRY(rn_job) entry;
};

struct rn_sink {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	struct event_base *base;
	struct rn_shared *shared;
	char **command;              /* NULL-terminated */
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
	enum child_watch watch;
	struct event *sigchld_ev;    /* SIGCHLD mode only */
	LIST_HEAD(, rn_job) jobs;
	LIST_HEAD(, rn_tries) tries;
};

static void job_timeout(evutil_socket_t fd, short what, void *arg);

/* --- shared budget ------------------------------------------------------------------- */

static struct rn_shared *
shared_get(const char *name)
{
	struct rn_shared *sh;

	LIST_FOREACH(sh, &shared_list, entry) {
		if (strcmp(sh->name, name) == 0) {
			sh->refs++;
			return sh;
		}
	}
	if ((sh = calloc(1, sizeof(*sh))) == NULL || (sh->name = strdup(name)) == NULL) {
		free(sh);
		return NULL;
	}
	sh->refs = 1;
	sh->day = -1;
	LIST_INSERT_HEAD(&shared_list, sh, entry);
	return sh;
}

static void
shared_put(struct rn_shared *sh)
{
	if (sh == NULL || --sh->refs > 0)
		return;
	LIST_REMOVE(sh, entry);
	free(sh->name);
	free(sh);
}

/* --- retries bookkeeping --------------------------------------------------------------- */

static struct rn_tries *
tries_find(struct rn_sink *s, int64_t delivery)
{
	struct rn_tries *t;

	LIST_FOREACH(t, &s->tries, entry)
		if (t->delivery == delivery)
			return t;
	return NULL;
}

static void
tries_forget(struct rn_sink *s, int64_t delivery)
{
	struct rn_tries *t = tries_find(s, delivery);

	if (t != NULL) {
		LIST_REMOVE(t, entry);
		free(t);
	}
}

/* --- jobs -------------------------------------------------------------------------------- */

static void
job_close_output(struct rn_job *j)
{
	if (j->out_ev != NULL) {
		event_free(j->out_ev);
		j->out_ev = NULL;
	}
	if (j->out_fd >= 0) {
		close(j->out_fd);
		j->out_fd = -1;
	}
}

/* Reap the child (blocking only when it was already sent SIGKILL, at destroy). */
static void
job_reap(struct rn_job *j, bool block)
{
	if (j->pid <= 0 || j->exited)
		return;
	kill(-j->pid, SIGKILL);
	if (waitpid(j->pid, &j->status, block ? 0 : WNOHANG) == j->pid) {
		j->exited = true;
		j->s->shared->running--;
	}
}

static void
job_free(struct rn_job *j)
{
	if (j == NULL)
		return;
	if (j->pid > 0 && !j->exited)
		job_reap(j, true);
	if (j->begin_ev != NULL)
		event_free(j->begin_ev);
	if (j->exit_ev != NULL)
		event_free(j->exit_ev);
	if (j->timer_ev != NULL)
		event_free(j->timer_ev);
	job_close_output(j);
	if (j->pidfd >= 0)
		close(j->pidfd);
	runner_transcript_clear(&j->tr);
	json_decref(j->incident);
	json_decref(j->event);
	free(j->action);
	free(j);
}

/* Complete the delivery. The job stays alive when its child still needs reaping. */
static void
job_finish(struct rn_job *j, enum incidentd_result res, uint64_t retry_after_ms,
    const char *detail, const char *result)
{
	incidentd_done_fn done = j->done;
	struct incidentd_call *call = j->call;

	j->done = NULL;
	if (j->pid == 0 || j->exited) {
		LIST_REMOVE(j, entry);
		job_free(j);
	} else {
		j->abandoned = true;
	}
	if (done != NULL)
		done(call, res, retry_after_ms, detail, result);
}

/* The result JSON of a finished run, or NULL when out of memory. */
static char *
job_result(struct rn_job *j, int64_t duration_ms, int runs)
{
	char when[32], *text = NULL, *out;
	time_t secs = (time_t)(j->started_ms / 1000);
	struct tm tm;
	json_t *r;
	int sig = 0;

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (runner_transcript_text(&j->tr, &text) != 0)
		return NULL;
	if (WIFSIGNALED(j->status))
		sig = WTERMSIG(j->status);
	r = json_pack("{s:i, s:o, s:o, s:b, s:s, s:I, s:s, s:s, s:b, s:I, s:s, s:I, s:I}",
	    "runs", runs,
	    "last_exit", WIFEXITED(j->status) ? json_integer(WEXITSTATUS(j->status)) :
	    json_null(),
	    "last_signal", sig ? json_string(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?") :
	    json_null(),
	    "timed_out", j->timed_out, "last_run_at", when, "duration_ms",
	    (json_int_t)duration_ms, "identity", j->verified ? "verified" : "uncertain",
	    "identity_detail", j->identity_detail, "read_only", !j->verified,
	    "issue", j->issue, "transcript", text,
	    "transcript_bytes", (json_int_t)j->tr.total,
	    "transcript_dropped", (json_int_t)runner_transcript_dropped(&j->tr));
	free(text);
	if (r == NULL)
		return NULL;
	out = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return out;
}

/* The child is gone and its output closed: report. */
static void
job_complete(struct rn_job *j)
{
	struct rn_sink *s = j->s;
	struct timespec ts;
	int64_t now_mono, secs;
	struct rn_tries *t;
	char detail[512], how[128], *result;
	bool ok;
	int runs, failed_runs;

	if (j->abandoned) {
		LIST_REMOVE(j, entry);
		job_free(j);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_mono = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	secs = (now_mono - j->started_mono + 500) / 1000;
	ok = !j->timed_out && WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0;
	if (j->timed_out && s->timeout_ms % 1000 == 0)
		snprintf(how, sizeof(how), "timed out after %llu s (process group killed%s)",
		    (unsigned long long)s->timeout_ms / 1000, j->killed ? " with SIGKILL" : "");
	else if (j->timed_out)
		snprintf(how, sizeof(how), "timed out after %llu ms (process group killed%s)",
		    (unsigned long long)s->timeout_ms, j->killed ? " with SIGKILL" : "");
	else if (WIFEXITED(j->status))
		snprintf(how, sizeof(how), "exit %d after %lld s", WEXITSTATUS(j->status),
		    (long long)secs);
	else if (WIFSIGNALED(j->status))
		snprintf(how, sizeof(how), "killed by SIG%s after %lld s",
		    sigabbrev_np(WTERMSIG(j->status)) ? sigabbrev_np(WTERMSIG(j->status)) : "?",
		    (long long)secs);
	else
		snprintf(how, sizeof(how), "ended after %lld s", (long long)secs);
	t = tries_find(s, j->delivery);
	failed_runs = t ? t->runs : 0;
	runs = j->prev_runs + failed_runs + 1;
	snprintf(detail, sizeof(detail), "%s for issue #%lld%s", how, (long long)j->issue,
	    j->verified ? "" : " (read-only: cluster-identity uncertain)");
	s->host->log(s->self, ok ? INCIDENTD_LOG_INFO : INCIDENTD_LOG_WARN, "run for issue "
	    "#%lld: %s; %llu output bytes", (long long)j->issue, how,
	    (unsigned long long)j->tr.total);
	if (!ok && failed_runs < s->retries) {
		if (t == NULL && (t = calloc(1, sizeof(*t))) != NULL) {
			t->delivery = j->delivery;
			LIST_INSERT_HEAD(&s->tries, t, entry);
		}
		if (t != NULL)
			t->runs++;
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
		    "; retry %d of %lld", failed_runs + 1, (long long)s->retries);
		job_finish(j, INCIDENTD_RETRY, s->retry_delay_ms, detail, NULL);
		return;
	}
	tries_forget(s, j->delivery);
	result = job_result(j, now_mono - j->started_mono, runs);
	job_finish(j, ok ? INCIDENTD_OK : INCIDENTD_FAIL, 0, detail, result);
	free(result);
}

static void
job_maybe_complete(struct rn_job *j)
{
	if (j->exited && j->out_fd < 0) {
		if (j->timer_ev != NULL)
			event_del(j->timer_ev);
		job_complete(j);
	}
}

static void
job_on_output(evutil_socket_t fd, short what, void *arg)
{
	struct rn_job *j = arg;
	char buf[RUNNER_READ_CHUNK];
	ssize_t n;

	(void)what;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			runner_transcript_add(&j->tr, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;     /* EOF or an error: the output is over */
	}
	job_close_output(j);
	job_maybe_complete(j);
}

/* The child has exited (it is a zombie until reaped here): kill what is left of its group
 * while its pid still names the group, reap, then wait for the output to close. */
static void
job_exited(struct rn_job *j)
{
	struct timeval tv = { RUNNER_DRAIN_MS / 1000, (RUNNER_DRAIN_MS % 1000) * 1000 };

	kill(-j->pid, SIGKILL);
	if (waitpid(j->pid, &j->status, WNOHANG) != j->pid)
		return;       /* not ours to reap yet: try on the next notification */
	j->exited = true;
	j->s->shared->running--;
	if (j->exit_ev != NULL)
		event_del(j->exit_ev);
	if (j->abandoned) {       /* flush() already answered: only reaping was left */
		LIST_REMOVE(j, entry);
		job_free(j);
		return;
	}
	if (j->out_fd >= 0 && j->timer_ev != NULL)
		event_add(j->timer_ev, &tv);   /* drain deadline */
	job_maybe_complete(j);
}

static void
job_on_pidfd(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	job_exited(arg);
}

static void
sink_on_sigchld(evutil_socket_t fd, short what, void *arg)
{
	struct rn_sink *s = arg;
	struct rn_job *j, *next;
	siginfo_t info;

	(void)fd;
	(void)what;
	for (j = LIST_FIRST(&s->jobs); j != NULL; j = next) {
		next = LIST_NEXT(j, entry);
		if (j->pid <= 0 || j->exited)
			continue;
		/* only our own pids; WNOWAIT keeps the zombie so the group can be killed */
		memset(&info, 0, sizeof(info));
		if (waitid(P_PID, (id_t)j->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    info.si_pid == j->pid)
			job_exited(j);
	}
}

static void
job_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct rn_job *j = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (j->exited) {          /* the drain deadline: stop waiting for the output */
		j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "run for issue #%lld: output "
		    "still open %d ms after the exit (a process left the group); closed",
		    (long long)j->issue, RUNNER_DRAIN_MS);
		job_close_output(j);
		job_maybe_complete(j);
		return;
	}
	if (!j->timed_out) {
		j->timed_out = true;
		j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "run for issue #%lld: timeout "
		    "after %llu ms; SIGTERM to process group %d", (long long)j->issue,
		    (unsigned long long)j->s->timeout_ms, (int)j->pid);
		kill(-j->pid, SIGTERM);
		tv.tv_sec = (time_t)(j->s->kill_after_ms / 1000);
		tv.tv_usec = (suseconds_t)(j->s->kill_after_ms % 1000) * 1000;
		event_add(j->timer_ev, &tv);
		return;
	}
	j->killed = true;
	j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "run for issue #%lld: still running "
	    "%llu ms after SIGTERM; SIGKILL to process group %d", (long long)j->issue,
	    (unsigned long long)j->s->kill_after_ms, (int)j->pid);
	kill(-j->pid, SIGKILL);
}

/* Render the argv of one run. Returns 0 and a NULL-terminated array, or -ENOMEM. */
static int
job_argv(struct rn_job *j, json_t *data, char ***out)
{
	struct rn_sink *s = j->s;
	size_t nro = 0, n = 0;
	char **v;
	int rc = -ENOMEM;

	while (!j->verified && s->read_only[nro] != NULL)
		nro++;
	if ((v = calloc(s->argc + nro + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < s->argc; i++)
		if (template_render(s->argv_t[i], data, &v[n++]) != 0)
			goto out;
	for (size_t i = 0; i < nro; i++)
		if ((v[n++] = strdup(s->read_only[i])) == NULL)
			goto out;
	*out = v;
	v = NULL;
	rc = 0;
out:
	runner_env_free(v);
	return rc;
}

/* Start the child. Returns 0, or a negative errno with a reason in err. */
static int
job_spawn(struct rn_job *j, json_t *data, char *err, size_t errlen)
{
	struct rn_sink *s = j->s;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_ok = false, attr_ok = false;
	char **argv = NULL, **envp = NULL, *prompt = NULL, *uncertain = NULL, *exe = NULL;
	int pipefd[2] = { -1, -1 }, rc;
	sigset_t none, all;
	struct timeval tv;
	struct timespec ts;
	pid_t pid;

	/* the prompt first: argv elements may use {{prompt}} */
	if ((rc = template_render(s->prompt_t, data, &prompt)) != 0)
		goto out;
	if (!j->verified) {
		size_t len = strlen(prompt) + strlen(j->identity_detail) + 256;

		rc = -ENOMEM;
		if ((uncertain = malloc(len)) == NULL)
			goto out;
		snprintf(uncertain, len, "cluster-identity uncertain: %s. Work read-only: "
		    "diagnose only, change nothing in the cluster or the repository, and start "
		    "your issue comment with \"cluster-identity uncertain\".\n\n%s",
		    j->identity_detail, prompt);
		free(prompt);
		prompt = uncertain;
	}
	rc = -ENOMEM;
	if (json_object_set_new(data, "prompt", json_string(prompt)) != 0)
		goto out;
	if ((rc = job_argv(j, data, &argv)) != 0 ||
	    (rc = runner_env_build(s->env, getenv("PATH"), getenv("HOME"), &envp)) != 0)
		goto out;
	rc = runner_resolve_command(argv[0], runner_env_get(envp, "PATH"), &exe);
	if (rc != 0) {
		snprintf(err, errlen, "cannot find %s in the PATH it is given", argv[0]);
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create the output pipe: %s", strerror(errno));
		goto out;
	}
	/* non-blocking for us only: the write end is a separate open file */
	if (fcntl(pipefd[0], F_SETFL, fcntl(pipefd[0], F_GETFL) | O_NONBLOCK) != 0) {
		rc = -errno;
		goto out;
	}
	rc = posix_spawn_file_actions_init(&fa);
	fa_ok = rc == 0;
	if (rc == 0)
		rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (rc == 0 && s->workdir != NULL)
		rc = posix_spawn_file_actions_addchdir_np(&fa, s->workdir);
	if (rc == 0) {
		rc = posix_spawnattr_init(&attr);
		attr_ok = rc == 0;
	}
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if (rc == 0)
		rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
		    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (rc == 0)
		rc = posix_spawnattr_setpgroup(&attr, 0);
	if (rc == 0)
		rc = posix_spawnattr_setsigmask(&attr, &none);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(&attr, &all);
	if (rc != 0) {
		snprintf(err, errlen, "cannot prepare the child: %s", strerror(rc));
		rc = -rc;
		goto out;
	}
	rc = posix_spawn(&pid, exe, &fa, &attr, argv, envp);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start %s: %s", exe, strerror(rc));
		rc = -rc;
		goto out;
	}
	j->pid = pid;
	s->shared->running++;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	j->started_mono = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	j->started_ms = s->host->now_ms(s->self);
	close(pipefd[1]);
	pipefd[1] = -1;
	j->out_fd = pipefd[0];
	pipefd[0] = -1;
	/* from here on the child runs: failures below end it through the usual path */
	if (s->watch != WATCH_SIGCHLD) {
		j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (j->pidfd >= 0)
			j->exit_ev = event_new(s->base, j->pidfd, EV_READ | EV_PERSIST,
			    job_on_pidfd, j);
	}
	j->out_ev = event_new(s->base, j->out_fd, EV_READ | EV_PERSIST, job_on_output, j);
	j->timer_ev = evtimer_new(s->base, job_timeout, j);
	tv.tv_sec = (time_t)(s->timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(s->timeout_ms % 1000) * 1000;
	if ((j->pidfd < 0 && s->sigchld_ev == NULL) || (j->pidfd >= 0 && j->exit_ev == NULL) ||
	    j->out_ev == NULL || j->timer_ev == NULL || event_add(j->out_ev, NULL) != 0 ||
	    (j->exit_ev != NULL && event_add(j->exit_ev, NULL) != 0) ||
	    event_add(j->timer_ev, &tv) != 0) {
		/* cannot watch it: stop it now; reaped by job_free */
		snprintf(err, errlen, "cannot watch the child (%s)", j->pidfd < 0 &&
		    s->sigchld_ev == NULL ? "pidfd_open failed and SIGCHLD is not watched" :
		    "out of memory");
		rc = j->pidfd < 0 && s->sigchld_ev == NULL ? -ENOSYS : -ENOMEM;
		goto out;
	}
	s->host->log(s->self, INCIDENTD_LOG_INFO, "run for issue #%lld started: pid %d, "
	    "identity %s%s", (long long)j->issue, (int)pid, j->verified ? "verified" :
	    "uncertain", j->verified ? "" : " (read-only)");
	rc = 0;
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (rc == -ENOMEM && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	free(prompt);
	free(exe);
	runner_env_free(argv);
	runner_env_free(envp);
	return rc;
}

static void
job_begin(evutil_socket_t fd, short what, void *arg)
{
	struct rn_job *j = arg;
	struct rn_sink *s = j->s;
	const json_t *refs = json_object_get(j->incident, "refs");
	const json_t *mine = json_object_get(refs, s->host->instance_name(s->self));
	const json_t *ref;
	struct runner_identity id;
	int64_t day;
	json_t *data = NULL;
	char detail[512], err[256] = "";
	int rc;

	(void)fd;
	(void)what;
	j->prev_runs = (int)json_integer_value(json_object_get(mine, "runs"));
	if (strcmp(j->action, "resolve") == 0) {
		job_finish(j, INCIDENTD_OK, 0, "nothing to do on resolve", NULL);
		return;
	}
	if (strcmp(j->action, "update") == 0 && j->prev_runs >= 1) {
		snprintf(detail, sizeof(detail), "already ran (%d run(s) for this incident)",
		    j->prev_runs);
		job_finish(j, INCIDENTD_OK, 0, detail, NULL);
		return;
	}
	ref = runner_find_issue_ref(refs, s->issue_from);
	if (ref == NULL) {
		job_finish(j, INCIDENTD_FAIL, 0, s->issue_from ? "the incident has no issue from "
		    "the sink named by issue_from: nothing runs without one" : "the incident has "
		    "no GitHub issue: nothing runs without one (chain this sink with after: "
		    "<github_issue sink>, or set issue_from)", NULL);
		return;
	}
	j->issue = json_integer_value(json_object_get(ref, "issue"));
	day = s->host->now_ms(s->self) / 86400000;
	if (s->shared->day != day) {
		s->shared->day = day;
		s->shared->used = 0;
	}
	if (s->shared->used >= s->daily_budget) {
		snprintf(detail, sizeof(detail), "budget exhausted (%lld/day): issue #%lld not "
		    "handed to the agent", (long long)s->daily_budget, (long long)j->issue);
		s->host->log(s->self, INCIDENTD_LOG_WARN, "%s", detail);
		job_finish(j, INCIDENTD_FAIL, 0, detail, NULL);
		return;
	}
	if (s->shared->running >= s->max_concurrent) {
		snprintf(detail, sizeof(detail), "waiting for a free runner slot (%d/%lld "
		    "running)", s->shared->running, (long long)s->max_concurrent);
		job_finish(j, INCIDENTD_RETRY, s->queue_retry_ms, detail, NULL);
		return;
	}
	runner_identity_check(s->clusters, json_string_value(json_object_get(j->incident,
	    "cluster")) ? json_string_value(json_object_get(j->incident, "cluster")) :
	    json_string_value(json_object_get(j->event, "cluster")), j->event, &id);
	j->verified = id.verified;
	snprintf(j->identity_detail, sizeof(j->identity_detail), "%s", id.detail);
	if (!id.verified)
		s->host->log(s->self, INCIDENTD_LOG_WARN, "issue #%lld: cluster-identity "
		    "uncertain (%s): running read-only", (long long)j->issue, id.detail);
	data = runner_template_data(j->incident, j->event, ref, s->repo, j->verified);
	if (data == NULL) {
		job_finish(j, INCIDENTD_RETRY, 0, "out of memory", NULL);
		return;
	}
	if (runner_transcript_init(&j->tr, s->transcript_max) != 0) {
		json_decref(data);
		job_finish(j, INCIDENTD_RETRY, 0, "out of memory", NULL);
		return;
	}
	rc = job_spawn(j, data, err, sizeof(err));
	json_decref(data);
	if (rc != 0) {
		s->host->log(s->self, INCIDENTD_LOG_ERROR, "issue #%lld: %s", (long long)j->issue,
		    err);
		if (j->pid > 0) {
			job_reap(j, true);
			j->pid = 0;
		}
		job_finish(j, rc == -ENOMEM ? INCIDENTD_RETRY : INCIDENTD_FAIL, 0, err, NULL);
		return;
	}
	s->shared->used++;
}

static int
rn_deliver(void *state, const struct incidentd_delivery *d, incidentd_done_fn done,
    struct incidentd_call *call)
{
	struct rn_sink *s = state;
	struct rn_job *j = calloc(1, sizeof(*j));
	struct timeval zero = { 0, 0 };

	if (j == NULL)
		return -ENOMEM;
	j->s = s;
	j->done = done;
	j->call = call;
	j->delivery = d->id;
	j->pidfd = -1;
	j->out_fd = -1;
	j->action = strdup(d->action);
	j->incident = json_loads(d->incident_json, 0, NULL);
	j->event = json_loads(d->event_json, 0, NULL);
	j->begin_ev = evtimer_new(s->base, job_begin, j);
	if (j->action == NULL || j->incident == NULL || j->event == NULL ||
	    j->begin_ev == NULL || event_add(j->begin_ev, &zero) != 0) {
		job_free(j);
		return -ENOMEM;
	}
	LIST_INSERT_HEAD(&s->jobs, j, entry);
	return 0;
}

/* SIGTERM drain: stop every child (SIGKILL to its group) and complete every delivery with
 * RETRY, so the run starts again after the restart. Children are reaped as they go. */
static void
rn_flush(void *state)
{
	struct rn_sink *s = state;
	struct rn_job *j, *next;

	for (j = LIST_FIRST(&s->jobs); j != NULL; j = next) {
		next = LIST_NEXT(j, entry);
		if (j->done == NULL)
			continue;
		if (j->pid > 0 && !j->exited) {
			kill(-j->pid, SIGKILL);
			s->host->log(s->self, INCIDENTD_LOG_WARN, "run for issue #%lld stopped: "
			    "incidentd is shutting down", (long long)j->issue);
		}
		if (j->begin_ev != NULL)
			event_del(j->begin_ev);
		job_finish(j, INCIDENTD_RETRY, 0, "incidentd is shutting down", NULL);
	}
}

static void
rn_destroy(void *state)
{
	struct rn_sink *s = state;
	struct rn_job *j;
	struct rn_tries *t;

	if (s == NULL)
		return;
	while ((j = LIST_FIRST(&s->jobs)) != NULL) {
		LIST_REMOVE(j, entry);
		job_free(j);     /* kills and reaps a child left by flush() */
	}
	while ((t = LIST_FIRST(&s->tries)) != NULL) {
		LIST_REMOVE(t, entry);
		free(t);
	}
	if (s->sigchld_ev != NULL)
		event_free(s->sigchld_ev);
	for (size_t i = 0; i < s->argc; i++)
		template_destroy(s->argv_t[i]);
	free(s->argv_t);
	template_destroy(s->prompt_t);
	runner_env_free(s->command);
	runner_env_free(s->read_only);
	json_decref(s->env);
	json_decref(s->clusters);
	free(s->workdir);
	free(s->issue_from);
	free(s->repo);
	shared_put(s->shared);
	free(s);
}

/* --- configuration ------------------------------------------------------------------- */

/* A list of strings (or the defaults when x is NULL) as a NULL-terminated array. */
static int
string_list(const json_t *x, const char *const *def, const char *key, bool nonempty,
    char ***out, char *err, size_t errlen)
{
	size_t n = 0;
	char **v;

	if (x != NULL && !json_is_array(x)) {
		snprintf(err, errlen, "%s: expected a list of strings", key);
		return -EINVAL;
	}
	if (x != NULL)
		n = json_array_size(x);
	else
		while (def[n] != NULL)
			n++;
	if (nonempty && n == 0) {
		snprintf(err, errlen, "%s: must not be empty", key);
		return -EINVAL;
	}
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *e = x ? json_string_value(json_array_get(x, i)) : def[i];

		if (e == NULL) {
			snprintf(err, errlen, "%s[%zu]: expected a string", key, i);
			runner_env_free(v);
			return -EINVAL;
		}
		if ((v[i] = strdup(e)) == NULL) {
			runner_env_free(v);
			return -ENOMEM;
		}
	}
	*out = v;
	return 0;
}

static int
opt_duration(const json_t *cfg, const char *key, uint64_t def, uint64_t min, uint64_t *out,
    char *err, size_t errlen)
{
	const json_t *x = json_object_get(cfg, key);

	*out = def;
	if (x == NULL)
		return 0;
	if (runner_parse_duration(json_string_value(x), out) != 0 || *out < min) {
		snprintf(err, errlen, "%s: expected a duration like 30s, 20m or 1h (at least "
		    "%llu ms)", key, (unsigned long long)min);
		return -EINVAL;
	}
	return 0;
}

/* A whole number from lo to hi (YAML 20, or "20" from an ${ENV} reference). */
static int
opt_count(const json_t *cfg, const char *key, int64_t def, int64_t lo, int64_t hi,
    int64_t *out, char *err, size_t errlen)
{
	const json_t *x = json_object_get(cfg, key);
	char *end = NULL;

	*out = def;
	if (x == NULL)
		return 0;
	if (json_is_integer(x))
		*out = json_integer_value(x);
	else if (json_is_string(x) && json_string_length(x) > 0)
		*out = strtoll(json_string_value(x), &end, 10);
	if ((!json_is_integer(x) && (end == NULL || *end != '\0')) || *out < lo || *out > hi) {
		snprintf(err, errlen, "%s: expected a whole number from %lld to %lld", key,
		    (long long)lo, (long long)hi);
		return -EINVAL;
	}
	return 0;
}

static int
rn_init(const struct incidentd_host *host, struct incidentd_instance *self,
    const char *config_json, void **state, char *err, size_t errlen)
{
	static const char *const keys[] = { "command", "prompt", "workdir", "env", "timeout",
	    "kill_after", "max_concurrent", "daily_budget", "retries", "retry_delay",
	    "queue_retry", "read_only_args", "transcript_max", "clusters", "issue_from", "repo",
	    "child_watch", NULL };
	struct rn_sink *s = NULL;
	json_t *cfg = NULL, *x;
	json_error_t jerr;
	const char *k, *str;
	char list[512] = "", terr[256];
	uint64_t size = 16384;
	struct stat st;
	int rc = -EINVAL;

	*state = NULL;
	cfg = json_loads(config_json, 0, &jerr);
	if (cfg == NULL || !json_is_object(cfg)) {
		snprintf(err, errlen, "configuration is not a JSON object");
		goto out;
	}
	json_object_foreach(cfg, k, x) {
		bool known = false;

		for (size_t i = 0; keys[i] != NULL; i++)
			known = known || strcmp(k, keys[i]) == 0;
		if (known)
			continue;
		for (size_t i = 0; keys[i] != NULL; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			    i ? ", " : "", keys[i]);
		snprintf(err, errlen, "unknown key '%s' (expected one of: %s)", k, list);
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	LIST_INIT(&s->jobs);
	LIST_INIT(&s->tries);
	s->host = host;
	s->self = self;
	s->base = host->event_base(self);
	if ((s->shared = shared_get(host->instance_name(self))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = string_list(json_object_get(cfg, "command"), default_command, "command",
	    true, &s->command, err, errlen)) != 0 ||
	    (rc = string_list(json_object_get(cfg, "read_only_args"), default_read_only,
	    "read_only_args", false, &s->read_only, err, errlen)) != 0)
		goto out;
	rc = -EINVAL;
	if (s->command[0][0] == '\0' || strchr(s->command[0], '{') != NULL) {
		snprintf(err, errlen, "command[0]: the program must be a plain name or path");
		goto out;
	}
	while (s->command[s->argc] != NULL)
		s->argc++;
	if ((s->argv_t = calloc(s->argc, sizeof(*s->argv_t))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->argc; i++) {
		rc = template_compile(s->command[i], TEMPLATE_ESCAPE_NONE, &s->argv_t[i], terr,
		    sizeof(terr));
		if (rc != 0) {
			snprintf(err, errlen, "command[%zu]: %s", i, terr);
			goto out;
		}
	}
	x = json_object_get(cfg, "prompt");
	if (x != NULL && (!json_is_string(x) || json_string_length(x) == 0)) {
		snprintf(err, errlen, "prompt: expected a non-empty string (a template)");
		rc = -EINVAL;
		goto out;
	}
	rc = template_compile(x ? json_string_value(x) : default_prompt, TEMPLATE_ESCAPE_NONE,
	    &s->prompt_t, terr, sizeof(terr));
	if (rc != 0) {
		snprintf(err, errlen, "prompt: %s", terr);
		goto out;
	}
	x = json_object_get(cfg, "env");
	if ((rc = runner_env_check(x, err, errlen)) != 0)
		goto out;
	s->env = x ? json_incref(x) : json_object();
	x = json_object_get(cfg, "clusters");
	rc = -EINVAL;
	if (x != NULL && !json_is_object(x)) {
		snprintf(err, errlen, "clusters: expected a mapping of name: { api_server, uid, "
		    "ca_sha256 }");
		goto out;
	}
	s->clusters = x ? json_incref(x) : json_object();
	if (s->env == NULL || s->clusters == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = opt_duration(cfg, "timeout", 1200000, 1, &s->timeout_ms, err, errlen)) ||
	    (rc = opt_duration(cfg, "kill_after", 10000, 1, &s->kill_after_ms, err, errlen)) ||
	    (rc = opt_duration(cfg, "queue_retry", 30000, 1, &s->queue_retry_ms, err,
	    errlen)) ||
	    (rc = opt_duration(cfg, "retry_delay", 60000, 1, &s->retry_delay_ms, err,
	    errlen)) ||
	    (rc = opt_count(cfg, "max_concurrent", 1, 1, 64, &s->max_concurrent, err,
	    errlen)) ||
	    (rc = opt_count(cfg, "daily_budget", 20, 1, 100000, &s->daily_budget, err,
	    errlen)) ||
	    (rc = opt_count(cfg, "retries", 0, 0, 10, &s->retries, err, errlen)))
		goto out;
	rc = -EINVAL;
	if ((x = json_object_get(cfg, "transcript_max")) != NULL &&
	    (runner_parse_size(x, &size) != 0 || size < 1024 || size > 1048576)) {
		snprintf(err, errlen, "transcript_max: expected a size from 1KiB to 1MiB");
		goto out;
	}
	s->transcript_max = (size_t)size;
	str = json_string_value(json_object_get(cfg, "child_watch"));
	if (json_object_get(cfg, "child_watch") != NULL && (str == NULL ||
	    (strcmp(str, "auto") != 0 && strcmp(str, "pidfd") != 0 &&
	    strcmp(str, "sigchld") != 0))) {
		snprintf(err, errlen, "child_watch: expected auto, pidfd or sigchld");
		goto out;
	}
	s->watch = str == NULL || strcmp(str, "auto") == 0 ? WATCH_AUTO :
	    strcmp(str, "pidfd") == 0 ? WATCH_PIDFD : WATCH_SIGCHLD;
	if (s->watch == WATCH_AUTO) {
		/* pidfd_open needs Linux >= 5.3 and may be filtered by seccomp */
		int probe = (int)syscall(SYS_pidfd_open, getpid(), 0);

		if (probe >= 0)
			close(probe);
		s->watch = probe >= 0 ? WATCH_PIDFD : WATCH_SIGCHLD;
	}
	if (s->watch == WATCH_SIGCHLD) {
		s->sigchld_ev = evsignal_new(s->base, SIGCHLD, sink_on_sigchld, s);
		if (s->sigchld_ev == NULL || evsignal_add(s->sigchld_ev, NULL) != 0) {
			snprintf(err, errlen, "cannot watch SIGCHLD");
			goto out;
		}
	}
	for (size_t i = 0; i < 3; i++) {
		static const char *const skeys[] = { "workdir", "issue_from", "repo" };
		char **dst = i == 0 ? &s->workdir : i == 1 ? &s->issue_from : &s->repo;

		x = json_object_get(cfg, skeys[i]);
		if (x == NULL)
			continue;
		if (!json_is_string(x) || json_string_length(x) == 0) {
			snprintf(err, errlen, "%s: expected a non-empty string", skeys[i]);
			goto out;
		}
		if ((*dst = strdup(json_string_value(x))) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (s->workdir != NULL && (stat(s->workdir, &st) != 0 || !S_ISDIR(st.st_mode))) {
		snprintf(err, errlen, "workdir: '%s' is not a directory", s->workdir);
		goto out;
	}
	if (json_object_size(s->clusters) == 0)
		host->log(self, INCIDENTD_LOG_WARN, "no clusters: registry: every run is "
		    "read-only (cluster-identity uncertain)");
	*state = s;
	s = NULL;
	rc = 0;
out:
	rn_destroy(s);
	json_decref(cfg);
	return rc;
}

static const struct incidentd_sink rn_descriptor = {
	.abi_version = INCIDENTD_SINK_ABI_VERSION,
	.struct_size = sizeof(struct incidentd_sink),
	.name = "copilot_runner",
	.description = "run a diagnosis agent (GitHub Copilot CLI) once per incident with "
	    "its GitHub issue",
	.init = rn_init,
	.deliver = rn_deliver,
	.flush = rn_flush,
	.destroy = rn_destroy,
};

INCIDENTD_SINK_EXPORT const struct incidentd_sink *
incidentd_sink_entry(void)
{
	return &rn_descriptor;
}
