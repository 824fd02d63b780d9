/* runner_core.h - the pure parts of the copilot_runner sink: the child's environment, the
 * cluster-identity verdict (DESIGN.md §8), the fence around event text in prompts, the
 * capped transcript, the template data, small parsers, and reading /proc. No callbacks;
 * only the functions that say so look at the file system or /proc. Every returned string
 * or array is new (malloc) and owned by the caller unless said otherwise. */
#ifndef INCIDENTD_RUNNER_CORE_H
#define INCIDENTD_RUNNER_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

/* Whether name is an environment variable name: [A-Za-z_][A-Za-z0-9_]*, at most 128. */
bool runner_env_name_ok(const char *name);

/* Check the env: option (NULL = none): an object of NAME -> string. Returns 0, or
 * -EINVAL with "env.NAME: what" in err. */
int runner_env_check(const json_t *env, char *err, size_t errlen);

/* The child's whole environment: every env entry ("NAME=value", in the object's order),
 * then PATH and HOME from path and home unless env sets them (a NULL or empty path/home is
 * left out). Nothing else of incidentd's environment is passed. Returns 0 and a new
 * NULL-terminated array in *out (free with runner_env_free), or -ENOMEM. env was checked
 * with runner_env_check. */
int runner_env_build(const json_t *env, const char *path, const char *home, char ***out);

/* Replace, in *text (a malloc'd string, replaced by a new one when something changes),
 * every occurrence of the value of an env: entry of at least 8 bytes with
 * "[redacted NAME]": the child's output may repeat the tokens it was given, and they must
 * not reach the ledger. Returns 0 or -ENOMEM (*text is then unchanged). */
int runner_redact(char **text, const json_t *env);

/* Free an array from runner_env_build or runner_argv_build. NULL is a no-op. */
void runner_env_free(char **v);

/* The value of NAME in a "NAME=value" array, or NULL. Borrowed. */
const char *runner_env_get(char *const *envp, const char *name);

/* Where execution finds cmd: cmd itself when it contains '/', else the first
 * "<dir>/<cmd>" of the colon-separated path that is an executable regular file (an empty
 * element means "."). Returns 0 and a new string in *out, -ENOENT when none is, or
 * -ENOMEM. Looks at the file system (stat); does not call back. */
int runner_resolve_command(const char *cmd, const char *path, char **out);

/* How an incident's cluster identity was established (DESIGN.md §8, docs/security.md).
 * Fields of the event (labels, annotations, payload) are claims: anyone who can reach a
 * source endpoint chooses them. The registry entry of the cluster names which fields it
 * registers (api_server, uid, ca_sha256); a claim is "matched" when every value the event
 * reports for the field, wherever it reports it, equals the registry's (one claim however
 * many places repeat it). Write tools are only allowed ("verified") when:
 *   - the entry has a probe: the probe's trimmed output equals the entry's uid, and no
 *     claim of the event contradicts the registry; or
 *   - the entry has no probe but trust_event_claims: true: every registered field is
 *     reported and matches (weaker: the sender could copy them).
 * Without a probe and without the opt-out, a run is read-only whatever the event says. */
struct runner_identity {
	bool verified;          /* write tools allowed */
	bool registered;        /* the incident's cluster is in the registry */
	bool probe_pending;     /* the entry has a probe: runner_identity_probed() settles */
	char cluster[256];      /* the registry key ("" when not registered) */
	int matched;            /* registered fields reported and matching */
	int missing;            /* registered fields not reported */
	int contradicted;       /* registered fields reported with another value */
	const char *how;        /* "probe ok", "probe mismatch", "probe failed", "claims",
	                         * "no probe", "unregistered", or "probe pending" */
	char claims[384];       /* e.g. "api_server, uid match; not reported: ca_sha256" */
	char detail[1024];      /* the whole verdict, e.g. "cluster 'prod-west-aks': probe ok
	                         * (...); claims: api_server matches" */
};

/* Check cluster (the incident's cluster as the event names it, may be NULL) and the
 * event's claims (its labels and annotations api_server, cluster_uid and ca_sha256, and
 * payload.spec.destination.server of an Argo CD Application; event may be NULL) against
 * clusters (object: key -> {api_server, uid?, ca_sha256?, probe?, trust_event_claims?};
 * NULL or empty = no registry). The entry is clusters[cluster], or the only entry whose
 * api_server equals cluster (an Argo CD destination named by its URL; that URL is then an
 * api_server claim too). URLs compare with the case of scheme and host and a trailing '/'
 * ignored, fingerprints with case and ':' ignored. Sets *out; when the entry has a probe,
 * out->probe_pending is set and the verdict waits for runner_identity_probed(). Event
 * text in out->detail is cut short and has its control characters replaced. Never
 * fails. */
void runner_identity_check(const json_t *clusters, const char *cluster, const json_t *event,
    struct runner_identity *out);

/* The registry entry of key, or NULL. Borrowed from clusters. */
const json_t *runner_cluster_entry(const json_t *clusters, const char *key);

/* Settle a verdict that waited for its probe (entry: the cluster's registry entry). ok:
 * the probe exited 0 in time, with output its stdout; else why says what went wrong
 * ("exit 1", "timed out after 30 s", "cannot start kubectl: ..."). The trimmed output must
 * equal the entry's uid. */
void runner_identity_probed(struct runner_identity *id, const json_t *entry, bool ok,
    const char *output, const char *why);

/* Copy at most max bytes of untrusted text src into dst (size n), inert for logs and
 * details: control characters become '?', a cut sequence is dropped, "..." marks a cut.
 * Returns dst. */
char *runner_text_inert(char *dst, size_t n, const char *src, size_t max);

/* --- fencing event text in the prompt ------------------------------------------------------ */

#define RUNNER_FENCE_LEN 32      /* hex characters of a fence token */

/* A new random fence token (RUNNER_FENCE_LEN hex characters + NUL). Returns 0, or a
 * negative errno of getrandom(). */
int runner_fence_token(char out[RUNNER_FENCE_LEN + 1]);

/* text fenced as untrusted data: "<<<event-data T>>>" text "<<<end event-data T>>>", its
 * control characters other than newline and tab replaced by spaces. Returns a new string,
 * or NULL when out of memory. */
char *runner_fence(const char *token, const char *text);

/* The instruction that explains the fence to the agent (a new string, or NULL). */
char *runner_fence_preamble(const char *token);

/* The data a prompt is rendered with: a copy of data (from runner_template_data) in which
 * every string the event's sender chose (app, cluster, namespace, revision, summary,
 * message, source, status, severity, incident.key) is fenced with token. Returns 0 and a
 * new reference in *out, -EAGAIN when a value contains the token (draw another), or
 * -ENOMEM. */
int runner_prompt_data(const json_t *data, const char *token, json_t **out);

/* Whether a rendered argv element must be refused: its template (src) does not itself
 * start with '-', but the rendered value does, so text from the event would become an
 * option of the program. */
bool runner_arg_is_injected(const char *src, const char *value);

/* --- processes ----------------------------------------------------------------------------- */

/* What /proc/<pid>/stat says of a process. */
struct runner_proc {
	pid_t pgrp;
	pid_t session;
	unsigned long long start;   /* start time, clock ticks after boot */
	char state;
};

/* Read /proc/<pid>/stat. Returns 0, -ENOENT (no such process) or -EIO. */
int runner_proc_read(pid_t pid, struct runner_proc *out);

/* This boot's id (/proc/sys/kernel/random/boot_id) into out[40]. Returns 0 or -errno. */
int runner_boot_id(char out[40]);

/* Kill (SIGKILL) every process of process group pgrp in session that started at or after
 * start (clock ticks after boot): what is left of a run whose leader was pgrp. Each is
 * checked again through a pidfd before the signal, so a reused pid is never hit. Returns
 * the number of processes killed. */
int runner_kill_leftovers(pid_t pgrp, pid_t session, unsigned long long start);

/* Output of a child, capped: the first cap/2 bytes and the last cap - cap/2 bytes are
 * kept, the middle is counted. */
struct runner_transcript {
	size_t cap;           /* > 0 */
	char *head;           /* cap / 2 bytes */
	size_t head_len;
	char *tail;           /* ring of cap - cap / 2 bytes */
	size_t tail_len;      /* bytes in the ring */
	size_t tail_pos;      /* next write position in the ring */
	uint64_t total;       /* every byte seen */
};

/* Prepare t for at most cap (>= 2) bytes. Returns 0 or -ENOMEM (t is then cleared). */
int runner_transcript_init(struct runner_transcript *t, size_t cap);

/* Free t's buffers (t itself is not freed). Safe on a zeroed or cleared t. */
void runner_transcript_clear(struct runner_transcript *t);

/* Add n bytes. Never fails. */
void runner_transcript_add(struct runner_transcript *t, const void *buf, size_t n);

/* The transcript as valid UTF-8 text (invalid bytes become U+FFFD, NUL bytes a space):
 * everything when total <= cap, else head, "\n[... N bytes dropped ...]\n", tail. At
 * most cap bytes of output come from the child (before the replacement expansion).
 * Returns 0 and a new string in *out, or -ENOMEM. */
int runner_transcript_text(const struct runner_transcript *t, char **out);

/* Bytes the transcript did not keep. */
uint64_t runner_transcript_dropped(const struct runner_transcript *t);

/* The refs entry that holds the incident's GitHub issue: refs[issue_from] when issue_from
 * is set, else the only entry with an integer "issue" (NULL when none or several).
 * Borrowed from refs. */
const json_t *runner_find_issue_ref(const json_t *refs, const char *issue_from);

/* The data prompts and argv are rendered with (DESIGN.md §8): app, cluster, namespace,
 * revision, repo, issue {number, url}, identity ("verified" | "uncertain"), summary,
 * message, source, status, severity, incident {id, key}. repo is repo_override when set,
 * else the issue ref's "repo". Returns a NEW reference, or NULL when out of memory. */
json_t *runner_template_data(const json_t *incident, const json_t *event,
    const json_t *issue_ref, const char *repo_override, bool verified);

/* "20m", "30s", "1h", "250ms" (a whole number and a unit; "0" alone is 0). Returns 0 and
 * *ms, or -EINVAL. */
int runner_parse_duration(const char *s, uint64_t *ms);

/* 16384, "16384", "16KiB", "1MiB" (units KiB, MiB, KB, MB, k, M). Returns 0 and *bytes,
 * or -EINVAL. */
int runner_parse_size(const json_t *v, uint64_t *bytes);

#endif
