/* runner_core.h - the pure parts of the copilot_runner sink: the child's environment, the
 * cluster-identity verdict (DESIGN.md §8), the capped transcript, the template data and
 * small parsers. No I/O, no callbacks; every returned string or array is new (malloc) and
 * owned by the caller unless said otherwise. */
#ifndef INCIDENTD_RUNNER_CORE_H
#define INCIDENTD_RUNNER_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* Free an array from runner_env_build or runner_argv_build. NULL is a no-op. */
void runner_env_free(char **v);

/* The value of NAME in a "NAME=value" array, or NULL. Borrowed. */
const char *runner_env_get(char *const *envp, const char *name);

/* Where execution finds cmd: cmd itself when it contains '/', else the first
 * "<dir>/<cmd>" of the colon-separated path that is an executable regular file (an empty
 * element means "."). Returns 0 and a new string in *out, -ENOENT when none is, or
 * -ENOMEM. Looks at the file system (stat); does not call back. */
int runner_resolve_command(const char *cmd, const char *path, char **out);

/* The identity verdict of one incident against the cluster registry. */
struct runner_identity {
	bool verified;        /* >= 2 signals match and none contradicts */
	int matched;          /* signals that match */
	int contradicted;     /* signals reported with a value that differs from the registry */
	char detail[512];     /* e.g. "2 of 3 signals match (name, api_server); uid not
	                       * reported" */
};

/* Check cluster (the incident's cluster name, may be NULL) and the event (its labels,
 * annotations and payload, may be NULL) against clusters (object: name -> {api_server,
 * uid?, ca_sha256?}; NULL or empty = no registry). Signals, each independent:
 *   name:       cluster is a key of the registry (or, when it is not, equals the
 *               api_server of exactly one entry, which then is the entry checked);
 *   api_server: payload.spec.destination.server (an Argo CD Application), or label /
 *               annotation api_server, equals the entry's api_server (a trailing '/' and
 *               the case of scheme and host are ignored);
 *   uid:        label / annotation cluster_uid equals the entry's uid;
 *   ca_sha256:  label / annotation ca_sha256 equals the entry's ca_sha256 (case and ':'
 *               separators ignored).
 * Verified needs at least two matching signals and no contradicting one. Never fails. */
void runner_identity_check(const json_t *clusters, const char *cluster, const json_t *event,
    struct runner_identity *out);

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
