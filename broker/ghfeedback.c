/* ghfeedback.c - GitHub webhook events applied to the incidents whose issues incidentd owns. */
#include "ghfeedback.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "incident.h"

struct fb {
	struct store *st;
	const struct config *cfg;
	int n_deliveries;
	const struct ievent *ev;
	const char *incident_id;     /* the owned incident, or NULL */
	int seq;
	/* the delivery's facts (labels; NULL when absent) */
	const char *name, *action, *repo, *sender, *sender_type, *key, *new_repo, *author;
	int64_t number;              /* 0 when not about an issue or pull request */
};

static int
fb_trace(struct fb *f, const char *step, const char *outcome, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fb_trace(struct fb *f, const char *step, const char *outcome, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return store_insert_decision(f->st, f->ev->id, f->incident_id, ++f->seq, step, outcome,
	    detail);
}

/* Write a delivery due at the event's arrival: to sink for incident_id, about event_id,
 * blocked behind depends_on when that is not 0. Its id goes to *id. */
static int
fb_delivery(struct fb *f, const char *incident_id, const char *event_id, const char *sink,
    const char *action, int64_t depends_on, int64_t *id)
{
	return command_put_delivery(f->st, incident_id, event_id, sink, action, depends_on,
	    f->ev->received_at, id, &f->n_deliveries);
}

static const char *
label(const struct ievent *ev, const char *k)
{
	return json_string_value(json_object_get(ev->labels, k));
}

/* The sink instance whose refs name f's issue (refs.<instance>.repo and .issue), or NULL. */
static const char *
owned_ref(const struct fb *f, const struct incident *inc)
{
	const char *instance;
	json_t *slot;

	json_object_foreach(inc->refs, instance, slot) {
		const char *repo = json_string_value(json_object_get(slot, "repo"));
		json_t *issue = json_object_get(slot, "issue");

		if (repo != NULL && strcmp(repo, f->repo) == 0 && json_is_integer(issue) &&
		    json_integer_value(issue) == f->number)
			return instance;
	}
	return NULL;
}

/* The incident that owns f's issue into *inc and its sink instance into *instance: by the
 * marker's key when the body has one (then the refs must agree), else by the refs. Returns
 * 0, -ENOENT (not an issue of an incident) or a negative errno. */
static int
find_owner(struct fb *f, struct incident *inc, const char **instance)
{
	int rc = -ENOENT;

	*instance = NULL;
	if (f->repo == NULL || f->number <= 0)
		return -ENOENT;
	if (f->key != NULL) {
		rc = store_get_incident_by_key(f->st, f->key, inc);
		if (rc == 0 && (*instance = owned_ref(f, inc)) == NULL) {
			incident_clear(inc);
			rc = -ENOENT;
		}
		if (rc != -ENOENT)
			return rc;
	}
	rc = store_find_incident_by_issue(f->st, f->repo, f->number, inc);
	if (rc == 0 && (*instance = owned_ref(f, inc)) == NULL) {
		incident_clear(inc);
		rc = -ENOENT;
	}
	return rc;
}

/* A person: a sender of type User who is not the issue's author, which for incidentd's
 * issues is incidentd itself (e.g. closing on recovery while the incident already fires
 * again). */
static bool
by_person(const struct fb *f)
{
	return f->sender != NULL && (f->sender_type == NULL ||
	    strcmp(f->sender_type, "User") == 0) && (f->author == NULL ||
	    strcmp(f->sender, f->author) != 0);
}

static bool
in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* issues.labeled on an owned issue: every sink with trigger: label for this label runs
 * for the incident, when a person added it: at once for allowed_actors, else after the
 * sink that owns the issue (`instance`) confirmed the person's write permission on the
 * repository (an update delivery of this event; its failure cancels the run). */
static int
apply_label(struct fb *f, const struct incident *inc, const char *instance)
{
	const char *name = label(f->ev, "label");
	const char *about = inc->last_event_id ? inc->last_event_id : f->ev->id;
	int64_t check = 0, id = 0;
	int matched = 0, rc = 0;

	for (size_t i = 0; rc == 0 && name != NULL && i < f->cfg->n_sinks; i++) {
		const struct config_sink *cs = &f->cfg->sinks[i];

		if (!cs->on_label || !cs->enabled || strcmp(cs->trigger_label, name) != 0)
			continue;
		matched++;
		if (!by_person(f)) {
			rc = fb_trace(f, "trigger", "ignored", "label %s added to %s#%lld by %s, not a "
			    "person (a bot, or incidentd itself): sink %s does not run", name, f->repo,
			    (long long)f->number, f->sender ? f->sender : "nobody", cs->name);
		} else if (strcmp(inc->state, "firing") != 0) {
			rc = fb_trace(f, "trigger", "ignored", "label %s added by @%s: incident %s is "
			    "%s, sink %s does not run", name, f->sender, inc->id, inc->state, cs->name);
		} else if (in_list(cs->allowed_actors, cs->n_allowed_actors, f->sender)) {
			rc = fb_delivery(f, inc->id, about, cs->name, "open", 0, &id);
			if (rc == 0)
				rc = fb_trace(f, "trigger", "scheduled", "label %s added by @%s (in "
				    "allowed_actors): sink %s runs for incident %s, delivery %lld", name,
				    f->sender, cs->name, inc->id, (long long)id);
		} else {
			if (check == 0 && (rc = fb_delivery(f, inc->id, f->ev->id, instance, "update",
			    0, &check)) != 0)
				break;
			rc = fb_delivery(f, inc->id, about, cs->name, "open", check, &id);
			if (rc == 0)
				rc = fb_trace(f, "trigger", "scheduled", "label %s added by @%s: sink %s "
				    "runs for incident %s (delivery %lld) once sink %s confirmed @%s's "
				    "write permission on %s (delivery %lld)", name, f->sender, cs->name,
				    inc->id, (long long)id, instance, f->sender, f->repo, (long long)check);
		}
	}
	if (rc == 0 && matched == 0)
		rc = fb_trace(f, "github", "info", "label %s added to %s#%lld: no sink has "
		    "trigger: label for it", name ? name : "?", f->repo, (long long)f->number);
	return rc;
}

/* issues.closed / issues.reopened on an owned issue (of sink instance). */
static int
apply_state(struct fb *f, struct incident *inc, const char *instance, bool closed)
{
	json_t *seen = json_pack("{s:s}", "seen_state", closed ? "closed" : "open");
	char who[300];
	int rc;

	/* what reconciliation compares with next (reconcile.h), whoever did it */
	rc = seen ? store_merge_incident_refs(f->st, inc->id, instance, seen) : -ENOMEM;
	json_decref(seen);
	if (rc != 0)
		return rc;

	if (!by_person(f))
		return fb_trace(f, "github", "ignored", "issue %s#%lld %s by %s (%s%s), not a "
		    "person: nothing changes", f->repo, (long long)f->number, closed ? "closed" :
		    "reopened", f->sender ? f->sender : "nobody", f->sender_type ? f->sender_type :
		    "no type", f->author && f->sender && strcmp(f->author, f->sender) == 0 ?
		    ", incidentd itself" : "");
	if (strcmp(inc->state, "firing") != 0)
		return fb_trace(f, "github", "ignored", "issue %s#%lld %s by @%s: incident %s is "
		    "%s, nothing to acknowledge", f->repo, (long long)f->number,
		    closed ? "closed" : "reopened", f->sender, inc->id, inc->state);
	if (closed) {
		if (inc->acked_at != 0)
			return fb_trace(f, "ack", "already", "issue %s#%lld closed by @%s: incident "
			    "%s was already acknowledged by %s", f->repo, (long long)f->number,
			    f->sender, inc->id, inc->acked_by ? inc->acked_by : "someone");
		snprintf(who, sizeof(who), "github:%s", f->sender);
		free(inc->acked_by);
		if ((inc->acked_by = strdup(who)) == NULL)
			return -ENOMEM;
		inc->acked_at = f->ev->received_at;
		rc = store_put_incident(f->st, inc);

		return rc ? rc : fb_trace(f, "ack", "acknowledged", "issue %s#%lld closed by @%s: "
		    "incident %s key %s acknowledged; no update notifications until it resolves",
		    f->repo, (long long)f->number, f->sender, inc->id, inc->key);
	}
	if (inc->acked_at == 0)
		return fb_trace(f, "github", "ignored", "issue %s#%lld reopened by @%s: incident %s "
		    "was not acknowledged", f->repo, (long long)f->number, f->sender, inc->id);
	incident_unack(inc);
	rc = store_put_incident(f->st, inc);

	return rc ? rc : fb_trace(f, "ack", "withdrawn", "issue %s#%lld reopened by @%s: "
	    "incident %s key %s is no longer acknowledged; notifications resume", f->repo,
	    (long long)f->number, f->sender, inc->id, inc->key);
}

/* issue_comment.created with a `/incidentd` line on an owned issue: a bad command gets a
 * reply saying what is accepted; a good one goes to the sink that owns the issue, which
 * checks the person's write permission (and replies itself when they lack it), and behind
 * that to incidentd's own step (command.h). */
static int
apply_command(struct fb *f, const struct incident *inc, const char *instance)
{
	const char *verb = label(f->ev, "command"), *bad = label(f->ev, "command_error");
	char actor[200], reply[700];
	int64_t check = 0, id = 0;
	int rc;

	if (!by_person(f))
		return fb_trace(f, "command", "ignored", "comment on %s#%lld by %s (%s%s), not a "
		    "person: the command is ignored", f->repo, (long long)f->number,
		    f->sender ? f->sender : "nobody", f->sender_type ? f->sender_type : "no type",
		    f->author && f->sender && strcmp(f->author, f->sender) == 0 ?
		    ", incidentd itself" : "");
	snprintf(actor, sizeof(actor), "github:%s", f->sender);
	if (verb == NULL) {
		int64_t told = 0;

		if ((rc = store_count_refusals(f->st, inc->id, actor, f->ev->received_at -
		    COMMAND_REFUSAL_QUIET_MS, &told)) != 0)
			return rc;
		if (told > 0)
			return fb_trace(f, "command", "refused", "comment by @%s on %s#%lld: not "
			    "understood; no second reply (they were answered less than 10 minutes "
			    "ago)", f->sender, f->repo, (long long)f->number);
		snprintf(reply, sizeof(reply), "Not understood, nothing changed: %s", bad ? bad :
		    "no command");
		rc = command_reply(f->st, inc->id, f->ev->id, NULL, NULL, actor, "refused", reply,
		    instance, f->ev->received_at, &f->n_deliveries);
		return rc ? rc : fb_trace(f, "command", "refused", "comment by @%s on %s#%lld: %s",
		    f->sender, f->repo, (long long)f->number, reply);
	}
	if ((rc = command_schedule(f->st, inc->id, f->ev->id, instance, f->ev->received_at,
	    &check, &id, &f->n_deliveries)) != 0)
		return rc;
	return fb_trace(f, "command", "scheduled", "/incidentd %s by @%s on %s#%lld: applied "
	    "(delivery %lld) once sink %s confirmed @%s's write permission on %s (delivery "
	    "%lld)", verb, f->sender, f->repo, (long long)f->number, (long long)id, instance,
	    f->sender, f->repo, (long long)check);
}

#define FB_MAX_FIXED 8

/* The incidents a pull request references (labels "references" and "incident_key"): their
 * ids into ids (at most FB_MAX_FIXED, distinct). Returns the count, or a negative errno. */
static int
pr_incidents(struct fb *f, char ids[][UTIL_ID_LEN + 1])
{
	const char *refs = label(f->ev, "references");
	struct incident inc;
	int n = 0, rc;

	memset(&inc, 0, sizeof(inc));
	if (f->key != NULL) {
		rc = store_get_incident_by_key(f->st, f->key, &inc);
		if (rc == 0)
			snprintf(ids[n++], UTIL_ID_LEN + 1, "%s", inc.id);
		incident_clear(&inc);
		if (rc != 0 && rc != -ENOENT)
			return rc;
	}
	while (refs != NULL && *refs != '\0' && n < FB_MAX_FIXED) {
		size_t len = strcspn(refs, " ");
		const char *hash = memchr(refs, '#', len);
		char repo[160];
		struct fb one = *f;
		const char *instance;
		bool seen = false;

		if (hash != NULL && (size_t)(hash - refs) < sizeof(repo)) {
			snprintf(repo, sizeof(repo), "%.*s", (int)(hash - refs), refs);
			one.repo = repo;
			one.number = strtoll(hash + 1, NULL, 10);
			one.key = NULL;
			rc = find_owner(&one, &inc, &instance);
			if (rc != 0 && rc != -ENOENT)
				return rc;
			for (int i = 0; rc == 0 && i < n; i++)
				seen = seen || strcmp(ids[i], inc.id) == 0;
			if (rc == 0 && !seen)
				snprintf(ids[n++], UTIL_ID_LEN + 1, "%s", inc.id);
			incident_clear(&inc);
		}
		refs += len;
		refs += strspn(refs, " ");
	}
	return n;
}

/* A merged fix: an update delivery of this event to every configured sink whose refs on
 * inc name an issue (the github_issue sinks), due now and in line behind the incident's
 * earlier deliveries to that sink. */
static int
note_fix(struct fb *f, const struct incident *inc)
{
	const char *instance;
	json_t *slot;
	int rc = 0;

	json_object_foreach(inc->refs, instance, slot) {
		const struct config_sink *cs = config_find_sink(f->cfg, instance);
		json_t *issue = json_object_get(slot, "issue");
		int64_t id = 0;

		if (cs == NULL || !cs->enabled || !json_is_integer(issue) ||
		    json_integer_value(issue) <= 0)
			continue;
		if ((rc = fb_delivery(f, inc->id, f->ev->id, instance, "update", 0, &id)) != 0 ||
		    (rc = fb_trace(f, "delivery", "scheduled", "sink %s action update: delivery "
		    "%lld, the merged fix noted on issue #%lld", instance, (long long)id,
		    (long long)json_integer_value(issue))) != 0)
			return rc;
	}
	return rc;
}

/* A pull request: linked to (opened, edited, ...), merged into, or closed without merging
 * the incidents it references. */
static int
apply_pr(struct fb *f, char ids[][UTIL_ID_LEN + 1], int n)
{
	const char *url = label(f->ev, "url");
	bool merged = f->action && strcmp(f->action, "closed") == 0 &&
	    strcmp(label(f->ev, "merged") ? label(f->ev, "merged") : "", "true") == 0;
	bool closed = f->action && strcmp(f->action, "closed") == 0 && !merged;
	char pr[200], took[32];
	int rc = 0;

	snprintf(pr, sizeof(pr), "%s#%lld", f->repo ? f->repo : "?", (long long)f->number);
	for (int i = 0; rc == 0 && i < n; i++) {
		struct incident inc;

		f->incident_id = ids[i];
		if ((rc = store_get_incident(f->st, ids[i], &inc)) != 0)
			break;
		if (inc.fix_merged_at != 0) {
			rc = fb_trace(f, "fix", "ignored", "pull request %s: incident %s was already "
			    "fixed by %s", pr, inc.id, inc.fix_pr ? inc.fix_pr : "?");
		} else if (closed) {
			if (inc.fix_pr != NULL && strcmp(inc.fix_pr, pr) == 0) {
				free(inc.fix_pr);
				free(inc.fix_url);
				inc.fix_pr = inc.fix_url = NULL;
				rc = store_put_incident(f->st, &inc);
			}
			if (rc == 0)
				rc = fb_trace(f, "fix", "unlinked", "pull request %s closed without "
				    "merging by @%s: not the fix of incident %s", pr,
				    f->sender ? f->sender : "?", inc.id);
		} else {
			free(inc.fix_pr);
			free(inc.fix_url);
			inc.fix_pr = strdup(pr);
			inc.fix_url = util_strdup0(url);
			if (inc.fix_pr == NULL || (url != NULL && inc.fix_url == NULL))
				rc = -ENOMEM;
			if (rc == 0 && merged)
				inc.fix_merged_at = f->ev->received_at;
			if (rc == 0)
				rc = store_put_incident(f->st, &inc);
			if (rc == 0 && merged)
				rc = fb_trace(f, "fix", "merged", "pull request %s merged: the fix of "
				    "incident %s key %s, %s after it opened", pr, inc.id, inc.key,
				    util_format_duration((inc.fix_merged_at - inc.opened_at) / 1000 * 1000,
				    took, sizeof(took)));
			if (rc == 0 && merged)
				rc = note_fix(f, &inc);
			else if (rc == 0)
				rc = fb_trace(f, "fix", "linked", "pull request %s (%s by @%s) references "
				    "the issue of incident %s key %s", pr, f->action ? f->action : "?",
				    f->sender ? f->sender : "?", inc.id, inc.key);
		}
		incident_clear(&inc);
	}
	return rc;
}

int
ghfeedback_apply(struct store *st, const struct config *cfg, const struct ievent *ev,
    int64_t request_id, int *n_deliveries)
{
	struct fb f = { .st = st, .cfg = cfg, .ev = ev };
	struct incident inc;
	const char *instance = NULL, *num;
	bool owned;
	int rc;

	memset(&inc, 0, sizeof(inc));
	f.name = label(ev, "github_event");
	f.action = label(ev, "action");
	f.repo = label(ev, "repository");
	f.sender = label(ev, "sender");
	f.sender_type = label(ev, "sender_type");
	f.key = label(ev, "incident_key");
	f.new_repo = label(ev, "new_repository");
	f.author = label(ev, "issue_author");
	num = label(ev, "issue");
	f.number = num ? strtoll(num, NULL, 10) : 0;
	if (f.name == NULL)
		f.name = "?";

	if (strcmp(f.name, "pull_request") == 0) {
		char ids[FB_MAX_FIXED][UTIL_ID_LEN + 1];
		int n = pr_incidents(&f, ids);

		if (n < 0) {
			rc = n;
			goto out;
		}
		rc = store_insert_event(st, ev, request_id, n > 0 ? ids[0] : NULL);
		if (rc == 0 && n > 0)
			rc = apply_pr(&f, ids, n);
		else if (rc == 0)
			rc = fb_trace(&f, "github", "not ours", "pull request %s#%lld references no "
			    "incident's issue; recorded only", f.repo ? f.repo : "?",
			    (long long)f.number);
		goto out;
	}
	rc = find_owner(&f, &inc, &instance);
	if (rc != 0 && rc != -ENOENT)
		goto out;
	owned = rc == 0;
	f.incident_id = owned ? inc.id : NULL;
	rc = store_insert_event(st, ev, request_id, f.incident_id);
	if (rc != 0)
		goto out;

	if (strcmp(f.name, "ping") == 0) {
		rc = fb_trace(&f, "github", "ping", "webhook ping%s%s: incidentd hears this webhook",
		    f.repo ? " from " : "", f.repo ? f.repo : "");
	} else if (!owned) {
		if (f.number > 0)
			rc = fb_trace(&f, "github", "not ours", "%s%s%s on %s#%lld: not the issue of "
			    "an incidentd incident; recorded only", f.name, f.action ? "." : "",
			    f.action ? f.action : "", f.repo ? f.repo : "?", (long long)f.number);
		else
			rc = fb_trace(&f, "github", "info", "%s%s%s: not about an issue; recorded "
			    "only", f.name, f.action ? "." : "", f.action ? f.action : "");
	} else if (strcmp(f.name, "issues") == 0 && f.action != NULL &&
	    (strcmp(f.action, "closed") == 0 || strcmp(f.action, "reopened") == 0)) {
		rc = apply_state(&f, &inc, instance, strcmp(f.action, "closed") == 0);
	} else if (strcmp(f.name, "issue_comment") == 0 && f.action != NULL &&
	    strcmp(f.action, "created") == 0 && (label(ev, "command") != NULL ||
	    label(ev, "command_error") != NULL)) {
		rc = apply_command(&f, &inc, instance);
	} else if (strcmp(f.name, "issues") == 0 && f.action != NULL &&
	    strcmp(f.action, "labeled") == 0) {
		rc = apply_label(&f, &inc, instance);
	} else if (strcmp(f.name, "issues") == 0 && f.action != NULL &&
	    (strcmp(f.action, "deleted") == 0 || strcmp(f.action, "transferred") == 0)) {
		rc = store_drop_incident_ref(st, inc.id, instance);
		if (rc == 0)
			rc = fb_trace(&f, "github", "forgotten", "issue %s#%lld %s by @%s%s%s: "
			    "incident %s no longer refers to it (refs.%s dropped); the next "
			    "notification opens a new issue", f.repo, (long long)f.number, f.action,
			    f.sender ? f.sender : "?", f.new_repo ? " to " : "",
			    f.new_repo ? f.new_repo : "", inc.id, instance);
	} else {
		rc = fb_trace(&f, "github", "info", "%s%s%s on %s#%lld by @%s: nothing to do",
		    f.name, f.action ? "." : "", f.action ? f.action : "", f.repo,
		    (long long)f.number, f.sender ? f.sender : "?");
	}
out:
	*n_deliveries = f.n_deliveries;
	incident_clear(&inc);
	return rc;
}
