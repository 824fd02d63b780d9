/* github_label.c - the github_label sink: hand an incident's GitHub issue to an agent
 * workflow, once per incident.
 *
 * mode: label    (default) add `label` (e.g. cluster-doctor) to the issue; a workflow
 *                triggered by `issues: labeled` starts the agent.
 * mode: dispatch send a repository_dispatch (`event_type`, client_payload with the issue
 *                number) - needed when the label would be added with a token whose events
 *                do not start workflows (GITHUB_TOKEN of an Action).
 *
 * The issue comes from the incident's refs: the entry of the sink named by `issue_from`,
 * or else the only refs entry that has an "issue" number (the github_issue sink chained
 * before with `after:`). Runs for `open` actions (and for `update` until it has succeeded
 * once); `resolve` has nothing to do. Without a `token` option it uses GITHUB_TOKEN from
 * the environment, so `{ plugin: github_label, after: github, label: cluster-doctor }`
 * works next to a github_issue sink configured with token: "${GITHUB_TOKEN}". */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <jansson.h>

#include "incidentd/sink.h"
#include "ghapi.h"
#include "strbuf.h"

struct gl_sink {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	struct gh_client gh;
	bool dispatch;
	char *label;
	char *event_type;
	char *repo;          /* dispatch target (default: the issue's repository) */
	char *issue_from;    /* refs entry to read, or NULL = find it */
	LIST_HEAD(, gl_job) jobs;
};

struct gl_job {
	struct gl_sink *s;
	incidentd_done_fn done;
	struct incidentd_call *call;
	int attempt;
	json_t *incident;
	json_t *event;
	char *action;
	struct gh_request *req;
	struct incidentd_timer *timer;
	json_int_t issue;
	char repo[256];
	LIST_ENTRY(gl_job) entry;
};

static void
job_free(struct gl_job *j)
{
	if (j == NULL)
		return;
	gh_request_cancel(j->req);
	if (j->timer != NULL)
		j->s->host->timer_cancel(j->timer);
	json_decref(j->incident);
	json_decref(j->event);
	free(j->action);
	free(j);
}

static void
job_finish(struct gl_job *j, enum incidentd_result res, uint64_t retry_after_ms,
    const char *detail, const char *result)
{
	LIST_REMOVE(j, entry);
	/* j->req is NULL when an answer ends the job (on_answer cleared it); a request still
	 * waiting or running (a drain ends the job) is cancelled by job_free() */
	j->done(j->call, res, retry_after_ms, detail, result);
	job_free(j);
}

static void
on_answer(void *arg, const struct gh_response *r)
{
	struct gl_job *j = arg;
	char detail[512], result[256];
	uint64_t delay = 0;
	enum gh_verdict v;

	j->req = NULL;
	v = gh_classify(&j->s->gh, r, j->attempt, j->s->host->now_ms(j->s->self), &delay,
	    detail, sizeof(detail));
	if (v != GH_OK) {
		j->s->host->log(j->s->self, INCIDENTD_LOG_WARN, "issue #%lld: %s",
		    (long long)j->issue, detail);
		job_finish(j, v == GH_RETRY ? INCIDENTD_RETRY : INCIDENTD_FAIL, delay, detail,
		    NULL);
		return;
	}
	if (j->s->dispatch) {
		snprintf(detail, sizeof(detail), "sent repository_dispatch %s for issue #%lld",
		    j->s->event_type, (long long)j->issue);
		snprintf(result, sizeof(result), "{\"dispatched\": true, \"issue\": %lld, "
		    "\"at\": %lld}", (long long)j->issue,
		    (long long)j->s->host->now_ms(j->s->self));
	} else {
		snprintf(detail, sizeof(detail), "labeled issue #%lld", (long long)j->issue);
		snprintf(result, sizeof(result), "{\"labeled\": true, \"issue\": %lld, "
		    "\"at\": %lld}", (long long)j->issue,
		    (long long)j->s->host->now_ms(j->s->self));
	}
	job_finish(j, INCIDENTD_OK, 0, detail, result);
}

/* Find the issue this incident has: returns the refs entry or NULL. */
static const json_t *
find_issue_ref(const struct gl_sink *s, const json_t *refs)
{
	const json_t *found = NULL, *v;
	const char *name;

	if (s->issue_from != NULL)
		return json_object_get(refs, s->issue_from);
	json_object_foreach((json_t *)refs, name, v) {
		if (json_is_integer(json_object_get(v, "issue")) &&
		    json_is_string(json_object_get(v, "repo"))) {
			if (found != NULL)
				return NULL;   /* ambiguous: issue_from must say which */
			found = v;
		}
	}
	return found;
}

static void
job_begin(void *arg)
{
	struct gl_job *j = arg;
	struct gl_sink *s = j->s;
	const json_t *refs = json_object_get(j->incident, "refs");
	const json_t *mine = json_object_get(refs, s->host->instance_name(s->self));
	const json_t *ref;
	const char *repo;
	char path[512];
	json_t *body;
	int rc;

	j->timer = NULL;
	if (strcmp(j->action, "resolve") == 0) {
		job_finish(j, INCIDENTD_OK, 0, "nothing to do on resolve", NULL);
		return;
	}
	if (strcmp(j->action, "update") == 0 && json_is_true(json_object_get(mine,
	    s->dispatch ? "dispatched" : "labeled"))) {
		job_finish(j, INCIDENTD_OK, 0, "already handed to the agent", NULL);
		return;
	}
	ref = find_issue_ref(s, refs);
	if (ref == NULL || !json_is_integer(json_object_get(ref, "issue"))) {
		/* the chain guarantees the issue sink ran; no issue means misconfiguration */
		job_finish(j, INCIDENTD_FAIL, 0, s->issue_from ? "the incident has no issue from "
		    "the sink named by issue_from" : "the incident has no GitHub issue (chain "
		    "this sink with after: <github_issue sink>, or set issue_from)", NULL);
		return;
	}
	j->issue = json_integer_value(json_object_get(ref, "issue"));
	repo = json_string_value(json_object_get(ref, "repo"));
	if (s->repo != NULL)
		repo = s->repo;
	if (repo == NULL || !gh_repo_valid(repo)) {
		job_finish(j, INCIDENTD_FAIL, 0, "no valid repository for the issue", NULL);
		return;
	}
	snprintf(j->repo, sizeof(j->repo), "%s", repo);
	if (s->dispatch) {
		snprintf(path, sizeof(path), "/repos/%s/dispatches", j->repo);
		body = json_pack("{s:s, s:{s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}}", "event_type",
		    s->event_type, "client_payload", "issue", (json_int_t)j->issue, "issue_url",
		    json_string_value(json_object_get(ref, "url")), "incident",
		    json_string_value(json_object_get(j->incident, "key")), "app",
		    json_string_value(json_object_get(j->event, "app")), "cluster",
		    json_string_value(json_object_get(j->event, "cluster")), "namespace",
		    json_string_value(json_object_get(j->event, "namespace")), "repo",
		    json_string_value(json_object_get(ref, "repo")));
	} else {
		snprintf(path, sizeof(path), "/repos/%s/issues/%lld/labels", j->repo,
		    (long long)j->issue);
		body = json_pack("{s:[s]}", "labels", s->label);
	}
	if (body == NULL) {
		job_finish(j, INCIDENTD_RETRY, 0, "out of memory", NULL);
		return;
	}
	rc = gh_request(&s->gh, "POST", path, body, on_answer, j, &j->req);
	json_decref(body);
	if (rc != 0)
		job_finish(j, INCIDENTD_RETRY, 0, "cannot start the GitHub request", NULL);
}

static int
gl_deliver(void *state, const struct incidentd_delivery *d, incidentd_done_fn done,
    struct incidentd_call *call)
{
	struct gl_sink *s = state;
	struct gl_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return -ENOMEM;
	j->s = s;
	j->done = done;
	j->call = call;
	j->attempt = d->attempt;
	j->action = strdup(d->action);
	j->incident = json_loads(d->incident_json, 0, NULL);
	j->event = json_loads(d->event_json, 0, NULL);
	/* no text of the event displays reordered (bidirectional controls) */
	if (text_json_strip_bidi(j->incident) != 0 || text_json_strip_bidi(j->event) != 0) {
		json_decref(j->event);
		j->event = NULL;
	}
	if (j->action == NULL || j->incident == NULL || j->event == NULL ||
	    (j->timer = s->host->timer_start(s->self, 0, job_begin, j)) == NULL) {
		job_free(j);
		return -ENOMEM;
	}
	LIST_INSERT_HEAD(&s->jobs, j, entry);
	return 0;
}

static void
gl_destroy(void *state)
{
	struct gl_sink *s = state;
	struct gl_job *j;

	if (s == NULL)
		return;
	while ((j = LIST_FIRST(&s->jobs)) != NULL) {
		LIST_REMOVE(j, entry);
		job_free(j);
	}
	gh_client_clear(&s->gh);
	free(s->label);
	free(s->event_type);
	free(s->repo);
	free(s->issue_from);
	free(s);
}

static void
gl_flush(void *state)
{
	struct gl_sink *s = state;
	struct gl_job *j;

	while ((j = LIST_FIRST(&s->jobs)) != NULL)
		job_finish(j, INCIDENTD_RETRY, 0, "incidentd is shutting down", NULL);
}

static int
gl_init(const struct incidentd_host *host, struct incidentd_instance *self,
    const char *config_json, void **state, char *err, size_t errlen)
{
	struct gl_sink *s = NULL;
	json_t *cfg;
	json_error_t jerr;
	const char *token = NULL, *api_url = "https://api.github.com", *mode = "label";
	const char *label = NULL, *event_type = "cluster-doctor-trigger", *repo = NULL;
	const char *issue_from = NULL;
	int rc = -EINVAL;

	cfg = json_loads(config_json, 0, &jerr);
	if (cfg == NULL) {
		snprintf(err, errlen, "configuration is not JSON: %s", jerr.text);
		goto out;
	}
	if (json_unpack_ex(cfg, &jerr, JSON_STRICT, "{s?s, s?s, s?s, s?s, s?s, s?s, s?s}",
	    "token", &token, "api_url", &api_url, "mode", &mode, "label", &label, "event_type",
	    &event_type, "repo", &repo, "issue_from", &issue_from) != 0) {
		snprintf(err, errlen, "%s (keys: token, api_url, mode, label, event_type, repo, "
		    "issue_from)", jerr.text);
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	LIST_INIT(&s->jobs);
	s->host = host;
	s->self = self;
	if (strcmp(mode, "dispatch") == 0) {
		s->dispatch = true;
		if (strlen(event_type) == 0 || strlen(event_type) > 100) {
			snprintf(err, errlen, "event_type: 1 to 100 characters (GitHub's limit)");
			goto out;
		}
	} else if (strcmp(mode, "label") == 0) {
		if (label == NULL || strlen(label) == 0 || strlen(label) > 50) {
			snprintf(err, errlen, "label: required in mode label, 1 to 50 characters");
			goto out;
		}
	} else {
		snprintf(err, errlen, "mode: '%s' is not label or dispatch", mode);
		goto out;
	}
	if (repo != NULL && !gh_repo_valid(repo)) {
		snprintf(err, errlen, "repo: '%s' is not owner/name", repo);
		goto out;
	}
	/* like gh(1): the token the github_issue sink usually gets from ${GITHUB_TOKEN} */
	if (token == NULL)
		token = getenv("GITHUB_TOKEN");
	if (token == NULL || *token == '\0') {
		snprintf(err, errlen, "token: required (or GITHUB_TOKEN in incidentd's "
		    "environment)");
		goto out;
	}
	rc = gh_client_init(&s->gh, host, self, api_url, token, err, errlen);
	if (rc != 0)
		goto out;
	rc = -ENOMEM;
	if ((label && !(s->label = strdup(label))) ||
	    !(s->event_type = strdup(event_type)) || (repo && !(s->repo = strdup(repo))) ||
	    (issue_from && !(s->issue_from = strdup(issue_from))))
		goto out;
	*state = s;
	s = NULL;
	rc = 0;
out:
	gl_destroy(s);
	json_decref(cfg);
	return rc;
}

static const struct incidentd_sink gl_descriptor = {
	.abi_version = INCIDENTD_SINK_ABI_VERSION,
	.struct_size = sizeof(struct incidentd_sink),
	.name = "github_label",
	.description = "label an incident's GitHub issue (or send a repository_dispatch) to "
	    "start an agent workflow",
	.init = gl_init,
	.deliver = gl_deliver,
	.flush = gl_flush,
	.destroy = gl_destroy,
};

INCIDENTD_SINK_EXPORT const struct incidentd_sink *
incidentd_sink_entry(void)
{
	return &gl_descriptor;
}
