/* copilot_runner.c - the copilot_runner sink: hand an incident's GitHub issue to a
 * diagnosis agent (GitHub Copilot CLI with a custom agent) by running it as a child
 * process, once per incident (DESIGN.md §8, docs/sinks.md, docs/security.md).
 *
 * This file holds the instance: its options (unknown keys rejected), the sandbox and the
 * user the children run as, the shared budget, and the descriptor. One delivery's life is
 * runner_job.c; a child process is child.c (started by spawn.c: fork + execve with a death
 * signal); the bubblewrap argv is sandbox.c; identity, fence and transcript are
 * runner_core.c.
 *
 * The command is an argv list (never a shell); every element is a Mustache template over
 * the incident ({{prompt}} is the rendered prompt); an element whose value would start
 * with '-' only because of the event's text is refused. By default the child runs inside
 * bubblewrap (sandbox: bwrap): its own pid namespace, no capabilities, only the system
 * directories, a few /etc files, the workdir and the configured binds; `sandbox: none` is
 * the explicit opt-out. The child gets only the configured env: plus PATH and HOME, its
 * own process group, /dev/null as stdin, one pipe for stdout and stderr, no other
 * descriptor, and SIGKILL when the daemon dies. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <event2/event.h>
#include <jansson.h>

#include "incidentd/sink.h"
#include "runner_sink.h"
#include "template.h"

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

static LIST_HEAD(, rn_shared) shared_list = LIST_HEAD_INITIALIZER(shared_list);

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

/* --- the descriptor's callbacks ---------------------------------------------------------- */

static void
sink_on_sigchld(evutil_socket_t fd, short what, void *arg)
{
	struct rn_sink *s = arg;
	struct rn_job *j, *next;

	(void)fd;
	(void)what;
	for (j = LIST_FIRST(&s->jobs); j != NULL; j = next) {
		next = LIST_NEXT(j, entry);
		rn_job_poll(j);     /* may free j */
	}
}

static int
rn_deliver(void *state, const struct incidentd_delivery *d, incidentd_done_fn done,
    struct incidentd_call *call)
{
	return rn_job_start(state, d, false, done, call);
}

/* After a restart: a delivery the previous process left running. */
static int
rn_recover(void *state, const struct incidentd_delivery *d, incidentd_done_fn done,
    struct incidentd_call *call)
{
	return rn_job_start(state, d, true, done, call);
}

/* SIGTERM drain: stop every child (SIGKILL to its group) and complete every delivery. */
static void
rn_flush(void *state)
{
	struct rn_sink *s = state;
	struct rn_job *j, *next;

	for (j = LIST_FIRST(&s->jobs); j != NULL; j = next) {
		next = LIST_NEXT(j, entry);
		rn_job_flush(j);    /* may free j */
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
		rn_job_free(j);     /* kills and reaps a child left by flush() */
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
	runner_sandbox_destroy(s->sandbox);
	json_decref(s->env);
	json_decref(s->clusters);
	free(s->workdir);
	free(s->issue_from);
	free(s->repo);
	free(s->groups);
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

/* The clusters: registry this sink checks identity against (the top-level one unless the
 * sink has its own): each entry's probe (a non-empty argv, element 0 a plain program,
 * {{cluster}} its only variable), probe_timeout and trust_event_claims. */
static int
opt_clusters(const json_t *x, char *err, size_t errlen)
{
	const char *name, *k;
	json_t *e, *v;
	uint64_t ms;

	if (x != NULL && !json_is_object(x)) {
		snprintf(err, errlen, "clusters: expected a mapping of name: { api_server, uid, "
		    "ca_sha256, probe, probe_timeout, trust_event_claims }");
		return -EINVAL;
	}
	json_object_foreach((json_t *)x, name, e) {
		if (!json_is_object(e) || !json_is_string(json_object_get(e, "api_server"))) {
			snprintf(err, errlen, "clusters.%.64s: expected a mapping with api_server",
			    name);
			return -EINVAL;
		}
		json_object_foreach(e, k, v) {
			if (strcmp(k, "probe") == 0) {
				size_t n = json_array_size(v);
				const char *p0 = json_string_value(json_array_get(v, 0));

				if (!json_is_array(v) || n == 0 || p0 == NULL || *p0 == '\0' ||
				    strchr(p0, '{') != NULL) {
					snprintf(err, errlen, "clusters.%.64s.probe: expected an argv "
					    "list whose first element is a program (no template)", name);
					return -EINVAL;
				}
				for (size_t i = 0; i < n; i++) {
					struct template *t = NULL;
					char terr[128];
					const char *a = json_string_value(json_array_get(v, i));

					if (a == NULL || template_compile(a, TEMPLATE_ESCAPE_NONE, &t,
					    terr, sizeof(terr)) != 0) {
						snprintf(err, errlen, "clusters.%.64s.probe[%zu]: %s",
						    name, i, a == NULL ? "expected a string" : terr);
						return -EINVAL;
					}
					template_destroy(t);
				}
				if (!json_is_string(json_object_get(e, "uid"))) {
					snprintf(err, errlen, "clusters.%.64s.probe: needs uid (the "
					    "probe's output is compared with it)", name);
					return -EINVAL;
				}
			} else if (strcmp(k, "probe_timeout") == 0) {
				if (runner_parse_duration(json_string_value(v), &ms) != 0 || ms < 1) {
					snprintf(err, errlen, "clusters.%.64s.probe_timeout: expected a "
					    "duration like 30s", name);
					return -EINVAL;
				}
			} else if (strcmp(k, "trust_event_claims") == 0) {
				if (!json_is_boolean(v)) {
					snprintf(err, errlen, "clusters.%.64s.trust_event_claims: "
					    "expected true or false", name);
					return -EINVAL;
				}
			}
		}
	}
	return 0;
}

/* Whether this process may change its user and groups: CAP_SETUID and CAP_SETGID in its
 * effective set (root has them unless a container took them away). */
static bool
may_change_ids(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "CapEff:", 7) == 0)
			eff = strtoull(line + 7, NULL, 16);
	fclose(f);
	return (eff & (1ULL << 6)) != 0 && (eff & (1ULL << 7)) != 0;
}

/* A user or group given as a name or a number. */
static bool
parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *out < 4294967295UL;
}

/* run_as: user[:group] (names or numbers). Resolved at init; refused when the daemon
 * cannot change its user. */
static int
opt_run_as(struct rn_sink *s, const json_t *x, char *err, size_t errlen)
{
	const char *spec = json_string_value(x), *colon;
	char user[256], buf[16384];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	unsigned long id;
	int ng = 0;

	if (x == NULL)
		return 0;
	if (spec == NULL || *spec == '\0' || strlen(spec) >= sizeof(user)) {
		snprintf(err, errlen, "run_as: expected user or user:group");
		return -EINVAL;
	}
	colon = strchr(spec, ':');
	snprintf(user, sizeof(user), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec),
	    spec);
	if (parse_id(user, &id)) {
		s->uid = (uid_t)id;
		getpwuid_r(s->uid, &pw, buf, sizeof(buf), &pwp);
	} else if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL) {
		snprintf(err, errlen, "run_as: no user '%.64s'", user);
		return -EINVAL;
	} else {
		s->uid = pwp->pw_uid;
	}
	if (colon != NULL && parse_id(colon + 1, &id)) {
		s->gid = (gid_t)id;
	} else if (colon != NULL) {
		char gbuf[16384];

		if (getgrnam_r(colon + 1, &gr, gbuf, sizeof(gbuf), &grp) != 0 || grp == NULL) {
			snprintf(err, errlen, "run_as: no group '%.64s'", colon + 1);
			return -EINVAL;
		}
		s->gid = grp->gr_gid;
	} else if (pwp != NULL) {
		s->gid = pwp->pw_gid;
	} else {
		snprintf(err, errlen, "run_as: user %lu has no passwd entry: name its group too "
		    "(user:group)", (unsigned long)s->uid);
		return -EINVAL;
	}
	/* the user's supplementary groups, when it has a passwd entry */
	if (pwp != NULL) {
		ng = 64;
		if ((s->groups = calloc((size_t)ng, sizeof(*s->groups))) == NULL)
			return -ENOMEM;
		if (getgrouplist(pwp->pw_name, s->gid, s->groups, &ng) < 0) {
			free(s->groups);
			if ((s->groups = calloc((size_t)ng, sizeof(*s->groups))) == NULL)
				return -ENOMEM;
			if (getgrouplist(pwp->pw_name, s->gid, s->groups, &ng) < 0)
				ng = 0;
		}
		s->n_groups = (size_t)ng;
	}
	if (s->uid == geteuid() && s->gid == getegid())
		return 0;            /* already that user: nothing to change */
	if (!may_change_ids()) {
		snprintf(err, errlen, "run_as: incidentd runs as uid %lu without CAP_SETUID and "
		    "CAP_SETGID, so it cannot start the agent as '%.64s'; start incidentd as root "
		    "(or with those capabilities), or drop run_as", (unsigned long)geteuid(), spec);
		return -EINVAL;
	}
	s->set_ids = true;
	return 0;
}

/* sandbox, bwrap, ro_binds, rw_binds. */
static int
opt_sandbox(struct rn_sink *s, const json_t *cfg, char *err, size_t errlen)
{
	const json_t *x = json_object_get(cfg, "sandbox");
	const char *kind = x ? json_string_value(x) : "bwrap";
	const json_t *path = json_object_get(cfg, "bwrap");
	char **ro = NULL, **rw = NULL, **protect = NULL, **open_files = NULL, *bwrap = NULL;
	static const char *const none[] = { NULL };
	size_t n_prot = 0, n_open = 0;
	int rc = -EINVAL;

	if (kind == NULL || (strcmp(kind, "bwrap") != 0 && strcmp(kind, "none") != 0)) {
		snprintf(err, errlen, "sandbox: expected bwrap or none");
		goto out;
	}
	if ((rc = string_list(json_object_get(cfg, "ro_binds"), none, "ro_binds", false, &ro,
	    err, errlen)) != 0 ||
	    (rc = string_list(json_object_get(cfg, "rw_binds"), none, "rw_binds", false, &rw,
	    err, errlen)) != 0 ||
	    (rc = string_list(json_object_get(cfg, "protect"), none, "protect", false, &protect,
	    err, errlen)) != 0)
		goto out;
	if (strcmp(kind, "none") == 0) {
		s->sandbox_kind = RN_SANDBOX_NONE;
		rc = -EINVAL;
		if (ro[0] != NULL || rw[0] != NULL || path != NULL) {
			snprintf(err, errlen, "%s: only with sandbox: bwrap", ro[0] ? "ro_binds" :
			    rw[0] ? "rw_binds" : "bwrap");
			goto out;
		}
		rc = 0;
		goto out;
	}
	s->sandbox_kind = RN_SANDBOX_BWRAP;
	rc = -EINVAL;
	if (path != NULL && (!json_is_string(path) || json_string_value(path)[0] != '/')) {
		snprintf(err, errlen, "bwrap: expected the absolute path of bubblewrap's bwrap");
		goto out;
	}
	/* the configured path, else bwrap in incidentd's PATH, else where Debian has it */
	if (path != NULL)
		rc = (bwrap = strdup(json_string_value(path))) != NULL ? 0 : -ENOMEM;
	else if ((rc = runner_resolve_command("bwrap", getenv("PATH"), &bwrap)) == -ENOENT)
		rc = (bwrap = strdup("/usr/bin/bwrap")) != NULL ? 0 : -ENOMEM;
	if (rc != 0)
		goto out;
	rc = -EINVAL;
	if (bwrap[0] != '/')
		errno = EINVAL;         /* a relative PATH entry: not for a sandbox */
	if (bwrap[0] != '/' || access(bwrap, X_OK) != 0) {
		snprintf(err, errlen, "sandbox: bwrap: cannot run %.200s (%s): install bubblewrap "
		    "(Debian: apt-get install bubblewrap), or set sandbox: none to run the agent "
		    "without a sandbox (weaker: see docs/security.md)", bwrap, strerror(errno));
		goto out;
	}
	/* never shown: the protect list (the conf.d), and the daemon's open files (the ledger
	 * and its journal, logs) */
	if ((rc = runner_sandbox_daemon_files(&open_files)) != 0)
		goto out;
	while (protect[n_prot] != NULL)
		n_prot++;
	while (open_files[n_open] != NULL)
		n_open++;
	{
		char **all = realloc(protect, (n_prot + n_open + 1) * sizeof(*all));

		if (all == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		protect = all;
		memcpy(protect + n_prot, open_files, (n_open + 1) * sizeof(*all));
		free(open_files);      /* its strings now belong to protect */
		open_files = NULL;
	}
	rc = runner_sandbox_new(bwrap, ro, rw, s->workdir, protect, &s->sandbox, err, errlen);
out:
	free(bwrap);
	runner_env_free(ro);
	runner_env_free(rw);
	runner_env_free(protect);
	runner_env_free(open_files);
	return rc;
}

static int
rn_init(const struct incidentd_host *host, struct incidentd_instance *self,
    const char *config_json, void **state, char *err, size_t errlen)
{
	static const char *const keys[] = { "command", "prompt", "workdir", "env", "timeout",
	    "kill_after", "max_concurrent", "daily_budget", "retries", "retry_delay",
	    "queue_retry", "read_only_args", "transcript_max", "clusters", "issue_from", "repo",
	    "child_watch", "sandbox", "bwrap", "ro_binds", "rw_binds", "run_as", "protect",
	    NULL };
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
	s->host_admits = INCIDENTD_HOST_HAS(host, slot_release);
	snprintf(s->slot_name, sizeof(s->slot_name), "copilot_runner:%s",
	    host->instance_name(self));
	snprintf(s->quota_name, sizeof(s->quota_name), "copilot_runner:%s:runs",
	    host->instance_name(self));
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
	if ((rc = opt_clusters(x, err, errlen)) != 0)
		goto out;
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
	if (str == NULL || strcmp(str, "auto") == 0) {
		/* pidfd_open needs Linux >= 5.3 and may be filtered by seccomp */
		int probe = (int)syscall(SYS_pidfd_open, getpid(), 0);

		if (probe >= 0)
			close(probe);
		s->use_pidfd = probe >= 0;
	} else {
		s->use_pidfd = strcmp(str, "pidfd") == 0;
	}
	if (!s->use_pidfd) {
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
	if ((rc = opt_run_as(s, json_object_get(cfg, "run_as"), err, errlen)) != 0 ||
	    (rc = opt_sandbox(s, cfg, err, errlen)) != 0)
		goto out;
	if (json_object_size(s->clusters) == 0)
		host->log(self, INCIDENTD_LOG_WARN, "no clusters: registry: every run is "
		    "read-only (cluster-identity uncertain)");
	if (s->sandbox == NULL)
		host->log(self, INCIDENTD_LOG_WARN, "sandbox: none: the agent sees the host's "
		    "file system and processes as its user does (see docs/security.md)");
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
	.recover = rn_recover,
};

INCIDENTD_SINK_EXPORT const struct incidentd_sink *
incidentd_sink_entry(void)
{
	return &rn_descriptor;
}
