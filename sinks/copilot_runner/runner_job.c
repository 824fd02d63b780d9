/* runner_job.c - one delivery of the copilot_runner sink, from deliver() (or recover())
 * to done(): the checks (once per incident, an issue, the budget, a runner slot), the
 * cluster identity (with the registry entry's probe, run like the agent), the prompt with
 * the event's text fenced, the agent's run, its result, and what an interrupted run
 * becomes (a failure "interrupted", or a retry when `retries` allows).
 *
 * Notes (host->note, kept on the delivery in the ledger at once): {"phase": "starting",
 * "attempt", "run", "issue", "at"} just before the agent is started, then {"phase":
 * "running", "attempt", "run", "issue", "at", "pid", "session", "start", "boot_id",
 * "identity", "read_only"} once it runs (pid = its process group; start = its start time in clock ticks after boot, so a
 * reused pid is never taken for it). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "runner_sink.h"
#include "template.h"

#define PROBE_OUTPUT_MAX 4096
#define PROBE_TIMEOUT_MS 30000
#define PROBE_KILL_AFTER_MS 2000

static void job_run(struct rn_job *j);

/* --- bookkeeping ------------------------------------------------------------------------- */

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
tries_set(struct rn_sink *s, int64_t delivery, int runs)
{
	struct rn_tries *t = tries_find(s, delivery);

	if (t == NULL && (t = calloc(1, sizeof(*t))) != NULL) {
		t->delivery = delivery;
		LIST_INSERT_HEAD(&s->tries, t, entry);
	}
	if (t != NULL)
		t->runs = runs;
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

/* The number of the next run of the delivery: one more than the runs it had, as this
 * process counted them or as the delivery's note (from an earlier process) says. */
static int
job_next_run(const struct rn_job *j)
{
	const struct rn_tries *t = tries_find(j->s, j->delivery);
	int mem = t ? t->runs : 0;
	int noted = (int)json_integer_value(json_object_get(j->note, "run"));

	return 1 + (mem > noted ? mem : noted);
}

static void
slot_take(struct rn_job *j)
{
	if (!j->slot) {
		j->s->shared->running++;
		j->slot = true;
	}
}

static void
slot_release(struct rn_job *j)
{
	if (!j->slot)
		return;
	if (j->s->host_admits)     /* after done() the host released it already */
		j->s->host->slot_release(j->s->self, j->call, j->s->slot_name);
	else
		j->s->shared->running--;
	j->slot = false;
}

void
rn_job_free(struct rn_job *j)
{
	if (j == NULL)
		return;
	runner_child_free(j->probe);
	runner_child_free(j->agent);
	slot_release(j);
	if (j->begin_ev != NULL)
		event_free(j->begin_ev);
	json_decref(j->incident);
	json_decref(j->event);
	json_decref(j->note);
	free(j->action);
	free(j);
}

/* Complete the delivery. The job stays alive while a child still needs reaping. */
static void
job_finish(struct rn_job *j, enum incidentd_result res, uint64_t retry_after_ms,
    const char *detail, const char *result)
{
	incidentd_done_fn done = j->done;
	struct incidentd_call *call = j->call;

	j->done = NULL;
	if (j->probe == NULL && j->agent == NULL) {
		LIST_REMOVE(j, entry);
		rn_job_free(j);
	} else {
		j->abandoned = true;
	}
	if (done != NULL)
		done(call, res, retry_after_ms, detail, result);
}

/* Record note (stolen) on the delivery. A failure is logged: the run goes on, but a crash
 * of the daemon would then start it again instead of recording it as interrupted. */
static void
job_note(struct rn_job *j, json_t *note)
{
	struct rn_sink *s = j->s;
	char *text = NULL;
	int rc = -ENOMEM;

	if (note == NULL || !INCIDENTD_HOST_HAS(s->host, note) || s->host->note == NULL) {
		json_decref(note);
		return;
	}
	if ((text = json_dumps(note, JSON_COMPACT)) != NULL)
		rc = s->host->note(s->self, j->call, text);
	if (rc != 0)
		s->host->log(s->self, INCIDENTD_LOG_WARN, "issue #%lld: cannot record run %d on "
		    "its delivery (%s): after a crash of incidentd it would not be known as "
		    "interrupted", (long long)j->issue, j->run, strerror(rc < 0 ? -rc : rc));
	free(text);
	json_decref(note);
}

static void
format_utc(int64_t ms, char *buf, size_t len)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --- executing a child (the probe or the agent) ------------------------------------------ */

/* The child's environment: env: plus PATH and HOME (in the sandbox, HOME is its
 * directory: the workdir or /tmp). */
static int
job_env(const struct rn_job *j, char ***envp)
{
	const struct rn_sink *s = j->s;

	return runner_env_build(s->env, getenv("PATH"), s->sandbox != NULL ?
	    runner_sandbox_home(s->sandbox) : getenv("HOME"), envp);
}

/* Start argv (argv[0] looked up in envp's PATH), in the sandbox unless it is off.
 * Returns 0 and *out, or a negative errno with the reason in err. */
static int
job_exec(struct rn_job *j, char **argv, char **envp, const struct runner_child_opts *o,
    runner_child_done_fn fn, struct runner_child **out, char *err, size_t errlen)
{
	struct rn_sink *s = j->s;
	struct runner_spawn sp;
	char *exe = NULL, **wrapped = NULL;
	int rc;

	rc = runner_resolve_command(argv[0], runner_env_get(envp, "PATH"), &exe);
	if (rc != 0) {
		snprintf(err, errlen, rc == -ENOENT ? "cannot find %s in the PATH it is given" :
		    "out of memory", argv[0]);
		goto out;
	}
	memset(&sp, 0, sizeof(sp));
	sp.envp = envp;
	sp.workdir = s->workdir;
	sp.set_ids = s->set_ids;
	sp.uid = s->uid;
	sp.gid = s->gid;
	sp.groups = s->groups;
	sp.n_groups = s->n_groups;
	if (s->sandbox != NULL) {
		/* bwrap looks argv[0] up again inside, in the same PATH: it must be there too */
		if (exe[0] == '/' && !runner_sandbox_shows(s->sandbox, exe)) {
			snprintf(err, errlen, "%s (%s) is not visible in the sandbox: add its "
			    "directory to ro_binds", argv[0], exe);
			rc = -ENOENT;
			goto out;
		}
		if ((rc = runner_sandbox_argv(s->sandbox, argv, &wrapped)) != 0)
			goto out;
		sp.path = runner_sandbox_program(s->sandbox);
		sp.argv = wrapped;
	} else {
		sp.path = exe;
		sp.argv = argv;
	}
	rc = runner_child_start(s->host, s->self, s->base, &sp, o, fn, j, out, err, errlen);
out:
	if (rc == -ENOMEM && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	runner_env_free(wrapped);
	free(exe);
	return rc;
}

/* --- interrupted runs -------------------------------------------------------------------- */

/* Complete a delivery whose run k = j->run was interrupted (a restart of incidentd): it
 * counts as a run. RETRY when the retries policy allows another, else FAIL with a detail
 * starting "interrupted" and "interrupted": true in the result (extra: more members of
 * the result, stolen). */
static void
job_interrupted(struct rn_job *j, const char *why, json_t *extra)
{
	struct rn_sink *s = j->s;
	char detail[640], *text = NULL;
	json_t *r;

	snprintf(detail, sizeof(detail), "interrupted: %s", why);
	if (j->run <= s->retries) {
		tries_set(s, j->delivery, j->run);
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
		    "; retry %d of %lld", j->run, (long long)s->retries);
		json_decref(extra);
		job_finish(j, INCIDENTD_RETRY, s->retry_delay_ms, detail, NULL);
		return;
	}
	tries_forget(s, j->delivery);
	r = json_pack("{s:i, s:b, s:I}", "runs", j->prev_runs + j->run, "interrupted", 1,
	    "issue", j->issue);
	if (r != NULL && extra != NULL)
		json_object_update(r, extra);
	if (r != NULL)
		text = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	json_decref(extra);
	job_finish(j, INCIDENTD_FAIL, 0, detail, text);
	free(text);
}

/* recover(): the previous incidentd process left this delivery running. With a note of a
 * run, end what is left of that run and complete the delivery as interrupted; without one,
 * no run had started: make the delivery as usual. */
static void
job_recover(struct rn_job *j)
{
	struct rn_sink *s = j->s;
	const json_t *n = j->note;
	const char *phase = json_string_value(json_object_get(n, "phase"));
	const char *boot = json_string_value(json_object_get(n, "boot_id"));
	pid_t pid = (pid_t)json_integer_value(json_object_get(n, "pid"));
	char why[512], when[32] = "", left[160] = "", now_boot[40] = "";
	int killed = 0;
	json_t *extra;

	j->run = (int)json_integer_value(json_object_get(n, "run"));
	if (j->run < 1)
		j->run = 1;
	j->issue = json_integer_value(json_object_get(n, "issue"));
	if (json_is_integer(json_object_get(n, "at")))
		format_utc(json_integer_value(json_object_get(n, "at")), when, sizeof(when));
	if (phase != NULL && strcmp(phase, "running") == 0 && pid > 1) {
		if (boot != NULL && runner_boot_id(now_boot) == 0 && strcmp(boot, now_boot) == 0) {
			killed = runner_kill_leftovers(pid, (pid_t)json_integer_value(
			    json_object_get(n, "session")), (unsigned long long)json_integer_value(
			    json_object_get(n, "start")));
			if (killed > 0)
				snprintf(left, sizeof(left), "%d leftover process(es) of it killed",
				    killed);
			else
				snprintf(left, sizeof(left), "no process of it was left");
		} else {
			snprintf(left, sizeof(left), "the machine has restarted since");
		}
		snprintf(why, sizeof(why), "incidentd stopped during run %d for issue #%lld "
		    "(started %s, pid %d); %s", j->run, (long long)j->issue, when, (int)pid, left);
	} else {
		snprintf(why, sizeof(why), "incidentd stopped while starting run %d for issue "
		    "#%lld (%s)", j->run, (long long)j->issue, when);
	}
	s->host->log(s->self, INCIDENTD_LOG_WARN, "issue #%lld: %s", (long long)j->issue, why);
	extra = json_pack("{s:s, s:i}", "last_run_at", when, "leftovers_killed", killed);
	if (extra != NULL && json_object_get(n, "identity") != NULL)
		json_object_set(extra, "identity", json_object_get(n, "identity"));
	if (extra != NULL && json_object_get(n, "read_only") != NULL)
		json_object_set(extra, "read_only", json_object_get(n, "read_only"));
	job_interrupted(j, why, extra);
}

void
rn_job_flush(struct rn_job *j)
{
	struct rn_sink *s = j->s;
	char why[256], when[32];
	json_t *extra;

	if (j->done == NULL)
		return;
	if (j->begin_ev != NULL)
		event_del(j->begin_ev);
	if (j->agent != NULL) {
		runner_child_kill(j->agent);
		s->host->log(s->self, INCIDENTD_LOG_WARN, "run for issue #%lld stopped: "
		    "incidentd is shutting down", (long long)j->issue);
		format_utc(j->started_ms, when, sizeof(when));
		snprintf(why, sizeof(why), "incidentd was shut down during run %d for issue #%lld "
		    "(started %s); the process group was killed", j->run, (long long)j->issue,
		    when);
		extra = json_pack("{s:s, s:s, s:b}", "last_run_at", when, "identity",
		    j->id.verified ? "verified" : "uncertain", "read_only", !j->id.verified);
		job_interrupted(j, why, extra);
		return;
	}
	runner_child_kill(j->probe);
	job_finish(j, INCIDENTD_RETRY, 0, "incidentd is shutting down", NULL);
}

/* --- the agent's run ---------------------------------------------------------------------- */

/* The result JSON of a finished run, or NULL when out of memory. */
static char *
job_result(struct rn_job *j, int64_t duration_ms, int runs)
{
	const struct runner_child *c = j->agent;
	int status = runner_child_status(c), sig = 0;
	char when[32], *text = NULL, *out;
	json_t *r;

	format_utc(j->started_ms, when, sizeof(when));
	if (runner_transcript_text(runner_child_output(c), &text) != 0)
		return NULL;
	if (runner_redact(&text, j->s->env) != 0) {
		free(text);
		return NULL;
	}
	if (WIFSIGNALED(status))
		sig = WTERMSIG(status);
	r = json_pack("{s:i, s:o, s:o, s:b, s:s, s:I, s:s, s:s, s:s, s:b, s:I, s:s, s:I, s:I}",
	    "runs", runs,
	    "last_exit", WIFEXITED(status) ? json_integer(WEXITSTATUS(status)) : json_null(),
	    "last_signal", sig ? json_string(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?") :
	    json_null(),
	    "timed_out", runner_child_timed_out(c), "last_run_at", when, "duration_ms",
	    (json_int_t)duration_ms, "identity", j->id.verified ? "verified" : "uncertain",
	    "identity_check", j->id.how, "identity_detail", j->id.detail,
	    "read_only", !j->id.verified, "issue", j->issue, "transcript", text,
	    "transcript_bytes", (json_int_t)runner_child_output(c)->total,
	    "transcript_dropped", (json_int_t)runner_transcript_dropped(runner_child_output(c)));
	free(text);
	if (r == NULL)
		return NULL;
	out = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return out;
}

/* The agent has exited and its output is closed: report. */
static void
job_complete(struct rn_job *j)
{
	struct rn_sink *s = j->s;
	const struct runner_child *c = j->agent;
	int status = runner_child_status(c);
	int64_t ms = runner_child_runtime_ms(c), secs = (ms + 500) / 1000;
	char detail[512], how[128], *result;
	bool ok, timed_out = runner_child_timed_out(c);

	ok = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (timed_out && s->timeout_ms % 1000 == 0)
		snprintf(how, sizeof(how), "timed out after %llu s (process group killed%s)",
		    (unsigned long long)s->timeout_ms / 1000, runner_child_killed(c) ?
		    " with SIGKILL" : "");
	else if (timed_out)
		snprintf(how, sizeof(how), "timed out after %llu ms (process group killed%s)",
		    (unsigned long long)s->timeout_ms, runner_child_killed(c) ?
		    " with SIGKILL" : "");
	else if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exit %d after %lld s", WEXITSTATUS(status),
		    (long long)secs);
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by SIG%s after %lld s",
		    sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?",
		    (long long)secs);
	else
		snprintf(how, sizeof(how), "ended after %lld s", (long long)secs);
	/* how identity was established goes into the trace with the outcome */
	snprintf(detail, sizeof(detail), "%s for issue #%lld (%s: %s)", how,
	    (long long)j->issue, j->id.verified ? "identity verified" :
	    "read-only: cluster-identity uncertain", j->id.how);
	s->host->log(s->self, ok ? INCIDENTD_LOG_INFO : INCIDENTD_LOG_WARN, "run for issue "
	    "#%lld: %s; %llu output bytes", (long long)j->issue, how,
	    (unsigned long long)runner_child_output(c)->total);
	if (!ok && j->run <= s->retries) {
		tries_set(s, j->delivery, j->run);
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
		    "; retry %d of %lld", j->run, (long long)s->retries);
		runner_child_free(j->agent);
		j->agent = NULL;
		job_finish(j, INCIDENTD_RETRY, s->retry_delay_ms, detail, NULL);
		return;
	}
	tries_forget(s, j->delivery);
	result = job_result(j, ms, j->prev_runs + j->run);
	runner_child_free(j->agent);
	j->agent = NULL;
	job_finish(j, ok ? INCIDENTD_OK : INCIDENTD_FAIL, 0, detail, result);
	free(result);
}

static void
agent_done(struct runner_child *c, void *arg)
{
	struct rn_job *j = arg;

	(void)c;
	slot_release(j);
	if (j->abandoned) {       /* done() was already called: only reaping was left */
		LIST_REMOVE(j, entry);
		rn_job_free(j);
		return;
	}
	job_complete(j);
}

/* Render the argv of the run: the command's templates over data, then read_only_args
 * when the identity is not verified. An element whose value would start with '-' although
 * its template does not is refused (-EPERM): event text never becomes an option. Returns
 * 0 and a NULL-terminated array, or a negative errno with the reason in err. */
static int
job_argv(struct rn_job *j, json_t *data, char ***out, char *err, size_t errlen)
{
	struct rn_sink *s = j->s;
	size_t nro = 0, n = 0;
	char **v, src[96];
	int rc = -ENOMEM;

	while (!j->id.verified && s->read_only[nro] != NULL)
		nro++;
	if ((v = calloc(s->argc + nro + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < s->argc; i++) {
		if (template_render(s->argv_t[i], data, &v[n++]) != 0)
			goto out;
		if (i > 0 && runner_arg_is_injected(s->command[i], v[i])) {
			runner_text_inert(src, sizeof(src), s->command[i], 64);
			snprintf(err, errlen, "command[%zu] ('%s') would start with '-' from the "
			    "event's text: refused, so that no sender can add an option (begin the "
			    "element with your own text)", i, src);
			rc = -EPERM;
			goto out;
		}
	}
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

/* The prompt: the fence's instruction, the uncertainty (when the identity is not
 * verified), then the prompt template rendered with the event's text fenced. Returns 0
 * and a new string, or -ENOMEM (or the error of getrandom). */
static int
job_prompt(struct rn_job *j, const json_t *data, char **out)
{
	struct rn_sink *s = j->s;
	char token[RUNNER_FENCE_LEN + 1], *body = NULL, *pre = NULL, *fenced = NULL;
	char *notice = NULL, *p = NULL;
	json_t *pd = NULL;
	size_t len;
	int rc = -EAGAIN;

	for (int i = 0; i < 4 && rc == -EAGAIN; i++)
		if ((rc = runner_fence_token(token)) == 0)
			rc = runner_prompt_data(data, token, &pd);
	if (rc != 0)
		goto out;
	rc = -ENOMEM;
	if (template_render(s->prompt_t, pd, &body) != 0 ||
	    (pre = runner_fence_preamble(token)) == NULL)
		goto out;
	if (!j->id.verified) {
		if ((fenced = runner_fence(token, j->id.detail)) == NULL)
			goto out;
		len = strlen(fenced) + strlen(j->id.how) + 256;
		if ((notice = malloc(len)) == NULL)
			goto out;
		snprintf(notice, len, "cluster-identity uncertain (%s): %s. Work read-only: "
		    "diagnose only, change nothing in the cluster or the repository, and start "
		    "your issue comment with \"cluster-identity uncertain\".\n\n", j->id.how,
		    fenced);
	}
	len = strlen(pre) + (notice ? strlen(notice) : 0) + strlen(body) + 4;
	if ((p = malloc(len)) == NULL)
		goto out;
	snprintf(p, len, "%s\n\n%s%s", pre, notice ? notice : "", body);
	*out = p;
	rc = 0;
out:
	json_decref(pd);
	free(body);
	free(pre);
	free(fenced);
	free(notice);
	return rc;
}

/* The note of a running agent. */
static json_t *
job_running_note(const struct rn_job *j, pid_t pid)
{
	struct runner_proc p = { 0 };
	char boot[40] = "";
	json_t *n;

	runner_proc_read(pid, &p);
	runner_boot_id(boot);
	n = json_pack("{s:s, s:i, s:i, s:I, s:I, s:i, s:i, s:I, s:s, s:s, s:b}", "phase",
	    "running", "attempt", j->attempt, "run", j->run, "issue", j->issue, "at", (json_int_t)j->started_ms, "pid", (int)pid,
	    "session", (int)getsid(0), "start", (json_int_t)p.start, "boot_id", boot,
	    "identity", j->id.verified ? "verified" : "uncertain", "read_only",
	    !j->id.verified);
	return n;
}

/* The identity is settled: start the agent. */
static void
job_run(struct rn_job *j)
{
	struct rn_sink *s = j->s;
	struct runner_child_opts o;
	json_t *data = NULL;
	char **argv = NULL, **envp = NULL, *prompt = NULL, err[512] = "", label[64];
	int rc;

	slot_take(j);
	if (!j->id.verified)
		s->host->log(s->self, INCIDENTD_LOG_WARN, "issue #%lld: cluster-identity "
		    "uncertain (%s: %s): running read-only", (long long)j->issue, j->id.how,
		    j->id.detail);
	rc = -ENOMEM;
	if ((data = runner_template_data(j->incident, j->event, j->issue_ref, s->repo,
	    j->id.verified)) == NULL ||
	    (rc = job_prompt(j, data, &prompt)) != 0)
		goto out;
	rc = -ENOMEM;
	if (json_object_set_new(data, "prompt", json_string(prompt)) != 0)
		goto out;
	if ((rc = job_argv(j, data, &argv, err, sizeof(err))) != 0 ||
	    (rc = job_env(j, &envp)) != 0)
		goto out;
	j->run = job_next_run(j);
	j->started_ms = s->host->now_ms(s->self);
	job_note(j, json_pack("{s:s, s:i, s:i, s:I, s:I}", "phase", "starting", "attempt",
	    j->attempt, "run", j->run, "issue", j->issue, "at", (json_int_t)j->started_ms));
	snprintf(label, sizeof(label), "run for issue #%lld", (long long)j->issue);
	memset(&o, 0, sizeof(o));
	o.timeout_ms = s->timeout_ms;
	o.kill_after_ms = s->kill_after_ms;
	o.output_cap = s->transcript_max;
	o.merge_stderr = true;
	o.use_pidfd = s->use_pidfd;
	o.label = label;
	if ((rc = job_exec(j, argv, envp, &o, agent_done, &j->agent, err, sizeof(err))) != 0)
		goto out;
	if (!s->host_admits)
		s->shared->used++;
	job_note(j, job_running_note(j, runner_child_pid(j->agent)));
	s->host->log(s->self, INCIDENTD_LOG_INFO, "run for issue #%lld started: pid %d, "
	    "identity %s%s, sandbox %s", (long long)j->issue, (int)runner_child_pid(j->agent),
	    j->id.verified ? "verified" : "uncertain", j->id.verified ? "" : " (read-only)",
	    s->sandbox != NULL ? "bwrap" : "none");
out:
	if (rc != 0) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s", rc == -ENOMEM ? "out of memory" :
			    strerror(-rc));
		s->host->log(s->self, INCIDENTD_LOG_ERROR, "issue #%lld: %s", (long long)j->issue,
		    err);
		slot_release(j);
		job_finish(j, rc == -ENOMEM ? INCIDENTD_RETRY : INCIDENTD_FAIL, 0, err, NULL);
	}
	json_decref(data);
	free(prompt);
	runner_env_free(argv);
	runner_env_free(envp);
}

/* --- the probe ----------------------------------------------------------------------------- */

static void
probe_done(struct runner_child *c, void *arg)
{
	struct rn_job *j = arg;
	const json_t *entry = runner_cluster_entry(j->s->clusters, j->id.cluster);
	int status = runner_child_status(c);
	char why[128] = "", *text = NULL;
	bool ok;

	j->probe = NULL;
	if (j->abandoned) {
		runner_child_free(c);
		LIST_REMOVE(j, entry);
		rn_job_free(j);
		return;
	}
	ok = !runner_child_timed_out(c) && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    runner_transcript_dropped(runner_child_output(c)) == 0;
	if (runner_child_timed_out(c))
		snprintf(why, sizeof(why), "timed out after %lld ms",
		    (long long)runner_child_runtime_ms(c));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		snprintf(why, sizeof(why), "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "killed by SIG%s", sigabbrev_np(WTERMSIG(status)) ?
		    sigabbrev_np(WTERMSIG(status)) : "?");
	else if (!ok)
		snprintf(why, sizeof(why), "more than %d bytes of output", PROBE_OUTPUT_MAX);
	if (ok && (runner_transcript_text(runner_child_output(c), &text) != 0 ||
	    runner_redact(&text, j->s->env) != 0)) {
		ok = false;
		snprintf(why, sizeof(why), "out of memory");
	}
	runner_identity_probed(&j->id, entry, ok, text, why);
	j->s->host->log(j->s->self, ok && j->id.verified ? INCIDENTD_LOG_INFO :
	    INCIDENTD_LOG_WARN, "issue #%lld: %s", (long long)j->issue, j->id.detail);
	free(text);
	runner_child_free(c);
	job_run(j);
}

/* The identity waits for the cluster's probe: render and start it like the agent (same
 * sandbox, environment and user). A probe that cannot start settles it as failed. */
static void
job_probe(struct rn_job *j)
{
	struct rn_sink *s = j->s;
	const json_t *entry = runner_cluster_entry(s->clusters, j->id.cluster);
	const json_t *probe = json_object_get(entry, "probe");
	struct runner_child_opts o;
	struct template *t = NULL;
	json_t *data = json_pack("{s:s}", "cluster", j->id.cluster);
	char **argv = NULL, **envp = NULL, err[512] = "", terr[128], label[300];
	uint64_t timeout = PROBE_TIMEOUT_MS;
	size_t n = json_array_size(probe);
	int rc = -ENOMEM;

	slot_take(j);
	if (data == NULL || (argv = calloc(n + 1, sizeof(*argv))) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		rc = template_compile(json_string_value(json_array_get(probe, i)),
		    TEMPLATE_ESCAPE_NONE, &t, terr, sizeof(terr));
		if (rc == 0)
			rc = template_render(t, data, &argv[i]);
		template_destroy(t);
		t = NULL;
		if (rc != 0) {
			snprintf(err, sizeof(err), "probe[%zu]: %s", i, rc == -ENOMEM ?
			    "out of memory" : terr);
			goto out;
		}
	}
	if ((rc = job_env(j, &envp)) != 0)
		goto out;
	runner_parse_duration(json_string_value(json_object_get(entry, "probe_timeout")),
	    &timeout);
	snprintf(label, sizeof(label), "probe of cluster '%s'", j->id.cluster);
	memset(&o, 0, sizeof(o));
	o.timeout_ms = timeout;
	o.kill_after_ms = PROBE_KILL_AFTER_MS;
	o.output_cap = PROBE_OUTPUT_MAX;
	o.merge_stderr = false;
	o.use_pidfd = s->use_pidfd;
	o.label = label;
	rc = job_exec(j, argv, envp, &o, probe_done, &j->probe, err, sizeof(err));
out:
	json_decref(data);
	runner_env_free(argv);
	runner_env_free(envp);
	if (rc == 0)
		return;
	if (err[0] == '\0')
		snprintf(err, sizeof(err), "out of memory");
	runner_identity_probed(&j->id, entry, false, NULL, err);
	s->host->log(s->self, INCIDENTD_LOG_WARN, "issue #%lld: %s", (long long)j->issue,
	    j->id.detail);
	job_run(j);
}

/* --- the start --------------------------------------------------------------------------- */

/* Admit the job through the host (shared by replicas on a PostgreSQL ledger): a runner
 * slot first (none free: wait), then one run of the UTC day's budget (none left: give the
 * slot back and fail). A ledger error is retried soon: no agent runs uncounted. Returns
 * true when the job holds its slot and run; otherwise the delivery is finished. */
static bool
job_admit_host(struct rn_job *j)
{
	struct rn_sink *s = j->s;
	int64_t now = s->host->now_ms(s->self);
	char detail[512];
	int rc;

	rc = s->host->slot_take(s->self, j->call, s->slot_name, s->max_concurrent);
	if (rc == 0) {
		snprintf(detail, sizeof(detail), "waiting for a free runner slot (%lld/%lld "
		    "running)", (long long)s->max_concurrent, (long long)s->max_concurrent);
		job_finish(j, INCIDENTD_RETRY, s->queue_retry_ms, detail, NULL);
		return false;
	}
	if (rc > 0) {
		j->slot = true;
		rc = s->host->quota_take(s->self, s->quota_name, now - now % 86400000,
		    s->daily_budget);
		if (rc > 0)
			return true;
		slot_release(j);
	}
	if (rc == 0) {
		snprintf(detail, sizeof(detail), "budget exhausted (%lld/day): issue #%lld not "
		    "handed to the agent", (long long)s->daily_budget, (long long)j->issue);
		s->host->log(s->self, INCIDENTD_LOG_WARN, "%s", detail);
		job_finish(j, INCIDENTD_FAIL, 0, detail, NULL);
		return false;
	}
	snprintf(detail, sizeof(detail), "the ledger is unavailable (%s): the runner's budget "
	    "and slots cannot be counted; trying again", strerror(-rc));
	s->host->log(s->self, INCIDENTD_LOG_WARN, "issue #%lld: %s", (long long)j->issue,
	    detail);
	job_finish(j, INCIDENTD_RETRY, s->queue_retry_ms, detail, NULL);
	return false;
}

static void
job_begin(evutil_socket_t fd, short what, void *arg)
{
	struct rn_job *j = arg;
	struct rn_sink *s = j->s;
	const json_t *refs = json_object_get(j->incident, "refs");
	const json_t *mine = json_object_get(refs, s->host->instance_name(s->self));
	const char *cluster;
	int64_t day;
	char detail[512];

	(void)fd;
	(void)what;
	j->prev_runs = (int)json_integer_value(json_object_get(mine, "runs"));
	/* a note of this very attempt: its run was interrupted (an older attempt's note
	 * only counts its runs) */
	if (j->recovering && json_object_get(j->note, "phase") != NULL &&
	    json_integer_value(json_object_get(j->note, "attempt")) == j->attempt) {
		job_recover(j);
		return;
	}
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
	j->issue_ref = runner_find_issue_ref(refs, s->issue_from);
	if (j->issue_ref == NULL) {
		job_finish(j, INCIDENTD_FAIL, 0, s->issue_from ? "the incident has no issue from "
		    "the sink named by issue_from: nothing runs without one" : "the incident has "
		    "no GitHub issue: nothing runs without one (chain this sink with after: "
		    "<github_issue sink>, or set issue_from)", NULL);
		return;
	}
	j->issue = json_integer_value(json_object_get(j->issue_ref, "issue"));
	if (s->host_admits) {
		if (!job_admit_host(j))
			return;
		goto admitted;
	}
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
admitted:
	cluster = json_string_value(json_object_get(j->incident, "cluster"));
	if (cluster == NULL)
		cluster = json_string_value(json_object_get(j->event, "cluster"));
	runner_identity_check(s->clusters, cluster, j->event, &j->id);
	if (j->id.probe_pending)
		job_probe(j);
	else
		job_run(j);
}

int
rn_job_start(struct rn_sink *s, const struct incidentd_delivery *d, bool recovering,
    incidentd_done_fn done, struct incidentd_call *call)
{
	struct rn_job *j = calloc(1, sizeof(*j));
	struct timeval zero = { 0, 0 };
	const char *note = INCIDENTD_DELIVERY_HAS(d, note_json) ? d->note_json : NULL;

	if (j == NULL)
		return -ENOMEM;
	j->s = s;
	j->done = done;
	j->call = call;
	j->delivery = d->id;
	j->attempt = d->attempt;
	j->recovering = recovering;
	j->action = strdup(d->action);
	j->incident = json_loads(d->incident_json, 0, NULL);
	j->event = json_loads(d->event_json, 0, NULL);
	if (note != NULL)
		j->note = json_loads(note, 0, NULL);
	if (j->note != NULL && !json_is_object(j->note)) {
		json_decref(j->note);      /* not ours, or damaged: as if there were none */
		j->note = NULL;
	}
	j->begin_ev = evtimer_new(s->base, job_begin, j);
	if (j->action == NULL || j->incident == NULL || j->event == NULL ||
	    j->begin_ev == NULL || event_add(j->begin_ev, &zero) != 0) {
		rn_job_free(j);
		return -ENOMEM;
	}
	LIST_INSERT_HEAD(&s->jobs, j, entry);
	return 0;
}

void
rn_job_poll(struct rn_job *j)
{
	if (j->probe != NULL)
		runner_child_poll(j->probe);
	else if (j->agent != NULL)
		runner_child_poll(j->agent);
}
