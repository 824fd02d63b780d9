/* runner_core.c - environment, identity, transcript and template data of the
 * copilot_runner sink (runner_core.h). */
#include "runner_core.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

bool
runner_env_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 128 || isdigit((unsigned char)name[0]))
		return false;
	for (const char *p = name; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_') || (unsigned char)*p > 0x7f)
			return false;
	return true;
}

int
runner_env_check(const json_t *env, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	if (env == NULL)
		return 0;
	if (!json_is_object(env)) {
		snprintf(err, errlen, "env: expected a mapping of NAME: value");
		return -EINVAL;
	}
	json_object_foreach((json_t *)env, k, v) {
		if (!runner_env_name_ok(k)) {
			snprintf(err, errlen, "env.%.128s: not a variable name ([A-Za-z_][A-Za-z0-9_]*)",
			    k);
			return -EINVAL;
		}
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(err, errlen, "env.%s: expected a string (without NUL)", k);
			return -EINVAL;
		}
	}
	return 0;
}

void
runner_env_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

const char *
runner_env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static char *
env_pair(const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "%s=%s", name, value);
	return s;
}

int
runner_env_build(const json_t *env, const char *path, const char *home, char ***out)
{
	size_t n = 0, cap = (env ? json_object_size(env) : 0) + 3;
	char **v = calloc(cap, sizeof(*v));
	const char *k;
	json_t *val;
	int rc = -ENOMEM;

	if (v == NULL)
		return -ENOMEM;
	json_object_foreach((json_t *)env, k, val) {
		if ((v[n++] = env_pair(k, json_string_value(val))) == NULL)
			goto out;
	}
	if (path != NULL && *path != '\0' && json_object_get(env, "PATH") == NULL &&
	    (v[n++] = env_pair("PATH", path)) == NULL)
		goto out;
	if (home != NULL && *home != '\0' && json_object_get(env, "HOME") == NULL &&
	    (v[n++] = env_pair("HOME", home)) == NULL)
		goto out;
	*out = v;
	v = NULL;
	rc = 0;
out:
	runner_env_free(v);
	return rc;
}

/* A regular file with an execute bit (whether this user may run it, posix_spawn says). */
static bool
is_executable_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
}

int
runner_resolve_command(const char *cmd, const char *path, char **out)
{
	const char *p, *end;
	char *cand;
	size_t len;

	if (strchr(cmd, '/') != NULL) {
		*out = strdup(cmd);
		return *out ? 0 : -ENOMEM;
	}
	if (*cmd == '\0' || path == NULL)
		return -ENOENT;
	for (p = path;; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p) + strlen(cmd) + 3;
		if ((cand = malloc(len)) == NULL)
			return -ENOMEM;
		if (end == p)
			snprintf(cand, len, "./%s", cmd);
		else
			snprintf(cand, len, "%.*s/%s", (int)(end - p), p, cmd);
		if (is_executable_file(cand)) {
			*out = cand;
			return 0;
		}
		free(cand);
		if (*end == '\0')
			return -ENOENT;
	}
}

/* --- identity -------------------------------------------------------------------------- */

/* A label or annotation of the event, or NULL. */
static const char *
event_tag(const json_t *event, const char *name)
{
	const char *v = json_string_value(json_object_get(json_object_get(event, "labels"),
	    name));

	if (v == NULL || *v == '\0')
		v = json_string_value(json_object_get(json_object_get(event, "annotations"),
		    name));
	return v != NULL && *v != '\0' ? v : NULL;
}

/* URL equality for API servers: scheme and host case-insensitive, trailing '/' ignored. */
static bool
same_server(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), host_a, host_b;
	const char *sa, *sb;

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (lb > 0 && b[lb - 1] == '/')
		lb--;
	if (la != lb)
		return false;
	/* the authority ends at the first '/' after "://" */
	sa = strstr(a, "://");
	sb = strstr(b, "://");
	host_a = sa ? (size_t)(sa - a) + 3 + strcspn(sa + 3, "/") : la;
	host_b = sb ? (size_t)(sb - b) + 3 + strcspn(sb + 3, "/") : lb;
	if (host_a != host_b || host_a > la)
		return false;
	return strncasecmp(a, b, host_a) == 0 && strncmp(a + host_a, b + host_a,
	    la - host_a) == 0;
}

/* Fingerprint equality: hex digits compared case-insensitively, ':' ignored. */
static bool
same_fingerprint(const char *a, const char *b)
{
	for (;;) {
		while (*a == ':')
			a++;
		while (*b == ':')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
}

static void
detail_add(char *buf, size_t len, const char *sep, const char *what)
{
	size_t n = strlen(buf);

	if (n < len)
		snprintf(buf + n, len - n, "%s%s", n > 0 ? sep : "", what);
}

void
runner_identity_check(const json_t *clusters, const char *cluster, const json_t *event,
    struct runner_identity *out)
{
	const json_t *entry = NULL, *e;
	const char *name = NULL, *k, *server, *want, *got;
	char ok[128] = "", bad[256] = "", missing[128] = "", tmp[160];
	int checked = 1;

	memset(out, 0, sizeof(*out));
	server = json_string_value(json_object_get(json_object_get(json_object_get(
	    json_object_get(event, "payload"), "spec"), "destination"), "server"));
	if (server == NULL || *server == '\0')
		server = event_tag(event, "api_server");
	if (!json_is_object(clusters) || json_object_size(clusters) == 0) {
		snprintf(out->detail, sizeof(out->detail), "no clusters: registry to check "
		    "cluster '%s' against", cluster ? cluster : "");
		return;
	}
	if (cluster != NULL && (entry = json_object_get(clusters, cluster)) != NULL) {
		name = cluster;
		out->matched++;
		detail_add(ok, sizeof(ok), ", ", "name");
	} else if (cluster != NULL) {
		/* the event may name the cluster by its API server URL */
		json_object_foreach((json_t *)clusters, k, e) {
			want = json_string_value(json_object_get(e, "api_server"));
			if (want != NULL && same_server(want, cluster)) {
				if (entry != NULL) {
					entry = NULL;   /* ambiguous */
					break;
				}
				entry = e;
				name = k;
			}
		}
		if (entry != NULL && server == NULL)
			server = cluster;
	}
	if (entry == NULL) {
		snprintf(out->detail, sizeof(out->detail), "cluster '%s' is not in the clusters: "
		    "registry", cluster ? cluster : "");
		return;
	}
	/* api_server */
	want = json_string_value(json_object_get(entry, "api_server"));
	checked++;
	if (server == NULL) {
		detail_add(missing, sizeof(missing), ", ", "api_server");
	} else if (want != NULL && same_server(want, server)) {
		out->matched++;
		detail_add(ok, sizeof(ok), ", ", "api_server");
	} else {
		out->contradicted++;
		snprintf(tmp, sizeof(tmp), "api_server %.100s", server);
		detail_add(bad, sizeof(bad), ", ", tmp);
	}
	/* uid and ca_sha256: only when the registry knows them */
	if ((want = json_string_value(json_object_get(entry, "uid"))) != NULL) {
		checked++;
		if ((got = event_tag(event, "cluster_uid")) == NULL) {
			detail_add(missing, sizeof(missing), ", ", "uid");
		} else if (strcmp(got, want) == 0) {
			out->matched++;
			detail_add(ok, sizeof(ok), ", ", "uid");
		} else {
			out->contradicted++;
			snprintf(tmp, sizeof(tmp), "uid %.100s", got);
			detail_add(bad, sizeof(bad), ", ", tmp);
		}
	}
	if ((want = json_string_value(json_object_get(entry, "ca_sha256"))) != NULL) {
		checked++;
		if ((got = event_tag(event, "ca_sha256")) == NULL) {
			detail_add(missing, sizeof(missing), ", ", "ca_sha256");
		} else if (same_fingerprint(got, want)) {
			out->matched++;
			detail_add(ok, sizeof(ok), ", ", "ca_sha256");
		} else {
			out->contradicted++;
			detail_add(bad, sizeof(bad), ", ", "ca_sha256 differs");
		}
	}
	out->verified = out->matched >= 2 && out->contradicted == 0;
	snprintf(out->detail, sizeof(out->detail), "cluster '%s': %d of %d signals match%s%s%s"
	    "%s%s%s%s", name, out->matched, checked, *ok ? " (" : "", ok, *ok ? ")" : "",
	    *bad ? "; contradicted: " : "", bad, *missing ? "; not reported: " : "", missing);
}

/* --- transcript ------------------------------------------------------------------------ */

int
runner_transcript_init(struct runner_transcript *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	if (cap < 2)
		cap = 2;
	t->cap = cap;
	t->head = malloc(cap / 2);
	t->tail = malloc(cap - cap / 2);
	if (t->head == NULL || t->tail == NULL) {
		runner_transcript_clear(t);
		return -ENOMEM;
	}
	return 0;
}

void
runner_transcript_clear(struct runner_transcript *t)
{
	free(t->head);
	free(t->tail);
	memset(t, 0, sizeof(*t));
}

void
runner_transcript_add(struct runner_transcript *t, const void *buf, size_t n)
{
	const char *p = buf;
	size_t hcap = t->cap / 2, tcap = t->cap - t->cap / 2, k;

	if (t->head == NULL)
		return;
	t->total += n;
	k = hcap - t->head_len < n ? hcap - t->head_len : n;
	memcpy(t->head + t->head_len, p, k);
	t->head_len += k;
	p += k;
	n -= k;
	if (n > tcap) {        /* only the last tcap bytes can survive */
		p += n - tcap;
		n = tcap;
	}
	while (n > 0) {
		k = tcap - t->tail_pos < n ? tcap - t->tail_pos : n;
		memcpy(t->tail + t->tail_pos, p, k);
		t->tail_pos = (t->tail_pos + k) % tcap;
		t->tail_len = t->tail_len + k > tcap ? tcap : t->tail_len + k;
		p += k;
		n -= k;
	}
}

uint64_t
runner_transcript_dropped(const struct runner_transcript *t)
{
	return t->total - t->head_len - t->tail_len;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 when invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Append n bytes of s to out as valid UTF-8. out has room for 3 * n bytes. */
static size_t
utf8_copy(char *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, i = 0, k;

	while (i < n) {
		k = utf8_seq(p + i, n - i);
		if (k == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);   /* U+FFFD */
			o += 3;
			i++;
			continue;
		}
		if (k == 1 && p[i] == '\0')
			out[o] = ' ';
		else
			memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	return o;
}

int
runner_transcript_text(const struct runner_transcript *t, char **out)
{
	size_t tcap = t->cap - t->cap / 2, start, o = 0;
	uint64_t dropped = runner_transcript_dropped(t);
	char mark[96] = "", *raw, *text;
	size_t rawlen = 0;

	if (dropped > 0)
		snprintf(mark, sizeof(mark), "\n[... %llu bytes dropped ...]\n",
		    (unsigned long long)dropped);
	/* head, then the ring in order (a contiguous copy, so sequences that straddle the
	 * ring's wrap stay intact) */
	raw = malloc(t->head_len + t->tail_len + 1);
	if (raw == NULL)
		return -ENOMEM;
	if (t->head_len > 0)
		memcpy(raw, t->head, t->head_len);
	rawlen = t->head_len;
	start = t->tail_len < tcap ? 0 : t->tail_pos;
	for (size_t i = 0; i < t->tail_len; i++)
		raw[rawlen + i] = t->tail[(start + i) % tcap];
	text = malloc(3 * (t->head_len + t->tail_len) + strlen(mark) + 1);
	if (text == NULL) {
		free(raw);
		return -ENOMEM;
	}
	o = utf8_copy(text, raw, t->head_len);
	memcpy(text + o, mark, strlen(mark));
	o += strlen(mark);
	o += utf8_copy(text + o, raw + t->head_len, t->tail_len);
	text[o] = '\0';
	free(raw);
	*out = text;
	return 0;
}

/* --- refs and template data -------------------------------------------------------------- */

const json_t *
runner_find_issue_ref(const json_t *refs, const char *issue_from)
{
	const json_t *found = NULL, *v;
	const char *name;

	if (issue_from != NULL) {
		v = json_object_get(refs, issue_from);
		return json_is_integer(json_object_get(v, "issue")) ? v : NULL;
	}
	json_object_foreach((json_t *)refs, name, v) {
		if (json_is_integer(json_object_get(v, "issue"))) {
			if (found != NULL)
				return NULL;   /* ambiguous: issue_from must say which */
			found = v;
		}
	}
	return found;
}

json_t *
runner_template_data(const json_t *incident, const json_t *event, const json_t *issue_ref,
    const char *repo_override, bool verified)
{
	static const char *const from_event[] = { "app", "cluster", "namespace", "revision",
	    "summary", "message", "source", "status", "severity", NULL };
	const char *repo = repo_override;
	json_t *d = json_object(), *issue = NULL;

	if (d == NULL)
		return NULL;
	for (size_t i = 0; from_event[i] != NULL; i++) {
		json_t *v = json_object_get(event, from_event[i]);

		if (v == NULL && incident != NULL)
			v = json_object_get(incident, from_event[i]);
		if (json_is_string(v) && json_object_set(d, from_event[i], v) != 0)
			goto fail;
	}
	if (repo == NULL)
		repo = json_string_value(json_object_get(issue_ref, "repo"));
	issue = json_pack("{s:O?, s:O?}", "number", json_object_get(issue_ref, "issue"), "url",
	    json_object_get(issue_ref, "url"));
	if (issue == NULL || json_object_set_new(d, "issue", issue) != 0 ||
	    (repo != NULL && json_object_set_new(d, "repo", json_string(repo)) != 0) ||
	    json_object_set_new(d, "identity", json_string(verified ? "verified" :
	    "uncertain")) != 0 ||
	    json_object_set_new(d, "incident", json_pack("{s:O?, s:O?}", "id",
	    json_object_get(incident, "id"), "key", json_object_get(incident, "key"))) != 0)
		goto fail;
	return d;
fail:
	json_decref(d);
	return NULL;
}

/* --- parsers ----------------------------------------------------------------------------- */

int
runner_parse_duration(const char *s, uint64_t *ms)
{
	unsigned long long v;
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || v > 1000000000ULL)
		return -EINVAL;
	if (strcmp(end, "ms") == 0 || (v == 0 && *end == '\0'))
		*ms = v;
	else if (strcmp(end, "s") == 0)
		*ms = v * 1000;
	else if (strcmp(end, "m") == 0)
		*ms = v * 60000;
	else if (strcmp(end, "h") == 0)
		*ms = v * 3600000;
	else
		return -EINVAL;
	return 0;
}

int
runner_parse_size(const json_t *v, uint64_t *bytes)
{
	static const struct { const char *unit; uint64_t mul; } units[] = {
		{ "", 1 }, { "KiB", 1024 }, { "MiB", 1048576 }, { "KB", 1000 },
		{ "MB", 1000000 }, { "k", 1024 }, { "K", 1024 }, { "M", 1048576 },
	};
	unsigned long long n;
	const char *s;
	char *end;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -EINVAL;
		*bytes = (uint64_t)json_integer_value(v);
		return 0;
	}
	if ((s = json_string_value(v)) == NULL || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || n > (1ULL << 40))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			*bytes = n * units[i].mul;
			return 0;
		}
	}
	return -EINVAL;
}
