/* slack.c - Slack interactivity (POST /v1/slack/actions): the request's signature, the
 * form body, and one "info" event per interaction (a person pressed a button on one of
 * incidentd's messages).
 *
 * A request is Slack's when X-Slack-Signature is "v0=" + the hex HMAC-SHA256 of
 * "v0:<X-Slack-Request-Timestamp>:<raw body>" keyed with the app's signing secret, and the
 * timestamp is within SLACK_MAX_SKEW_S of now (a captured request cannot be replayed
 * later). The body is application/x-www-form-urlencoded with one field, payload, holding
 * the interaction as JSON.
 *
 * The event's labels (all strings, each only when present; see source.h): slack_event,
 * slack_team, slack_user, slack_user_name, action_id, command, duration, incident_id,
 * channel, message_ts. Nothing here trusts the sender's text: labels are copied as strings
 * (IDs only when they look like IDs) and printed inert wherever they are shown. */
#include <sys/queue.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "jsonread.h"
#include "source.h"
#include "util.h"

#define SLACK_SIG_PREFIX "v0="
#define SLACK_NAME_MAX 80        /* a user name label is cut to this many bytes */
#define SLACK_ID_LABEL_MAX 255   /* IDs, action_ids and timestamps longer are dropped */

/* incidentd's buttons (sinks/slack): action_id -> command, duration and what it says. */
static const struct {
	const char *action_id, *command, *duration, *label;
} slack_buttons[] = {
	{ "incidentd.ack", "ack", NULL, "Acknowledge" },
	{ "incidentd.silence.1h", "silence", "1h", "Silence 1h" },
	{ "incidentd.silence.4h", "silence", "4h", "Silence 4h" },
	{ "incidentd.resolve", "resolve", NULL, "Resolve" },
	{ "incidentd.open_issue", NULL, NULL, "Open issue" },
};

/* Members of an interaction that are capabilities (a response_url can post to the channel
 * for 30 minutes, a trigger_id opens a modal) or the legacy verification token: never
 * kept in the event's payload. */
static const char *const slack_secret_members[] = { "response_url", "response_urls",
	"trigger_id", "token" };

/* --- the signature ------------------------------------------------------------------- */

int
slack_check_timestamp(const char *ts, int64_t now_s, const char **why)
{
	char *end;
	long long v;

	*why = NULL;
	if (ts == NULL || *ts == '\0') {
		*why = "missing X-Slack-Request-Timestamp header";
		return -EACCES;
	}
	errno = 0;
	v = strtoll(ts, &end, 10);
	if (*end != '\0' || errno != 0 || !isdigit((unsigned char)*ts) || strlen(ts) > 12) {
		*why = "X-Slack-Request-Timestamp is not a number of seconds";
		return -EACCES;
	}
	if (v < now_s - SLACK_MAX_SKEW_S || v > now_s + SLACK_MAX_SKEW_S) {
		*why = "X-Slack-Request-Timestamp is more than 5 minutes away from now (a stale or "
		    "replayed request, or a clock that is off)";
		return -EACCES;
	}
	return 0;
}

/* The 32 bytes of "v0=<64 hex digits>" into got. */
static int
signature_decode(const char *sig, unsigned char got[32])
{
	size_t plen = strlen(SLACK_SIG_PREFIX);

	if (sig == NULL || strncmp(sig, SLACK_SIG_PREFIX, plen) != 0 || strlen(sig + plen) != 64)
		return -EINVAL;
	for (size_t i = 0; i < 32; i++) {
		unsigned int byte;
		char two[3] = { sig[plen + 2 * i], sig[plen + 2 * i + 1], '\0' };

		if (!isxdigit((unsigned char)two[0]) || !isxdigit((unsigned char)two[1]) ||
		    sscanf(two, "%2x", &byte) != 1)
			return -EINVAL;
		got[i] = (unsigned char)byte;
	}
	return 0;
}

int
slack_check_headers(const struct evkeyvalq *headers, int64_t now_s, const char **why)
{
	unsigned char got[32];
	const char *sig = headers ? evhttp_find_header(headers, "X-Slack-Signature") : NULL;
	int rc;

	rc = slack_check_timestamp(headers ? evhttp_find_header(headers,
	    "X-Slack-Request-Timestamp") : NULL, now_s, why);
	if (rc != 0)
		return rc;
	if (sig == NULL) {
		*why = "missing X-Slack-Signature header";
		return -EACCES;
	}
	if (signature_decode(sig, got) != 0) {
		*why = "X-Slack-Signature is not v0=<64 hex digits>";
		return -EACCES;
	}
	return 0;
}

bool
slack_signature_ok(const char *secret, const char *ts, const char *sig, const void *body,
    size_t len)
{
	unsigned char want[EVP_MAX_MD_SIZE], got[32];
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	bool ok = false;

	if (secret == NULL || *secret == '\0' || ts == NULL || signature_decode(sig, got) != 0)
		return false;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx == NULL || EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret),
	    params) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)"v0:", 3) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)":", 1) != 1 ||
	    (len > 0 && EVP_MAC_update(ctx, body, len) != 1) ||
	    EVP_MAC_final(ctx, want, &outl, sizeof(want)) != 1 || outl != 32)
		goto out;
	ok = CRYPTO_memcmp(want, got, 32) == 0;
out:
	OPENSSL_cleanse(want, sizeof(want));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

int
slack_verify_request(const char *secret, const struct evkeyvalq *headers, const void *body,
    size_t len, int64_t now_s, const char **why)
{
	int rc = slack_check_headers(headers, now_s, why);

	if (rc != 0)
		return rc;
	if (!slack_signature_ok(secret, evhttp_find_header(headers, "X-Slack-Request-Timestamp"),
	    evhttp_find_header(headers, "X-Slack-Signature"), body, len)) {
		*why = "X-Slack-Signature does not match the request (signed with another secret, "
		    "or the body was changed)";
		return -EACCES;
	}
	return 0;
}

/* --- the body ------------------------------------------------------------------------ */

int
slack_form_payload(const char *data, size_t len, json_t **out, char *err, size_t errlen)
{
	struct evkeyvalq fields;
	struct evkeyval *kv;
	const char *payload = NULL;
	char *text = NULL, jtext[JSON_ERROR_TEXT_LENGTH];
	int line = 0, col = 0, n = 0, rc = -EINVAL;

	*out = NULL;
	TAILQ_INIT(&fields);
	if (len == 0 || memchr(data, '\0', len) != NULL) {
		snprintf(err, errlen, "expected an application/x-www-form-urlencoded body with a "
		    "payload field (Slack's interactivity request)");
		return -EINVAL;
	}
	if ((text = strndup(data, len)) == NULL)
		return -ENOMEM;
	if (evhttp_parse_query_str(text, &fields) != 0) {
		snprintf(err, errlen, "the body is not application/x-www-form-urlencoded");
		goto out;
	}
	TAILQ_FOREACH(kv, &fields, next) {
		if (strcmp(kv->key, "payload") == 0) {
			payload = kv->value;
			n++;
		}
	}
	if (n != 1) {
		snprintf(err, errlen, n == 0 ? "the form has no payload field (Slack's "
		    "interactivity request sends the interaction as payload=<JSON>)" :
		    "the form has more than one payload field");
		goto out;
	}
	rc = jsonread_loadb(payload, strlen(payload), out, jtext, sizeof(jtext), &line, &col);
	if (rc == -ENOMEM)
		goto out;
	if (rc != 0) {
		snprintf(err, errlen, "payload: invalid JSON at line %d, column %d: %s", line, col,
		    jtext);
		goto out;
	}
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		snprintf(err, errlen, "payload: expected a JSON object");
		rc = -EINVAL;
	}
out:
	evhttp_clear_headers(&fields);
	free(text);
	return rc;
}

/* --- the event ----------------------------------------------------------------------- */

bool
slack_is_incident_id(const char *s)
{
	static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

	if (s == NULL || strlen(s) != UTIL_ID_LEN)
		return false;
	for (size_t i = 0; i < UTIL_ID_LEN; i++)
		if (strchr(crockford, s[i]) == NULL || s[i] == '\0')
			return false;
	return s[0] <= '7';          /* 48 bits of milliseconds: the first digit is 0..7 */
}

static const char *
str_at(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return (s != NULL && *s != '\0') ? s : NULL;
}

/* s when it looks like an ID, an action_id or a timestamp (1..255 of [A-Za-z0-9._-]),
 * else NULL. */
static const char *
id_like(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > SLACK_ID_LABEL_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return NULL;
	return s;
}

static int
set_label(struct ievent *ev, const char *k, const char *v)
{
	if (v == NULL || *v == '\0')
		return 0;
	return json_object_set_new(ev->labels, k, json_string(v)) == 0 ? 0 : -ENOMEM;
}

/* A copy of the interaction without its capabilities (slack_secret_members). */
static json_t *
payload_without_secrets(const json_t *body)
{
	json_t *p = json_deep_copy(body);

	for (size_t i = 0; p != NULL && i < sizeof(slack_secret_members) /
	    sizeof(slack_secret_members[0]); i++)
		json_object_del(p, slack_secret_members[i]);
	return p;
}

int
slack_normalize(const struct source_input *in, struct ievent_vec *out, char *err,
    size_t errlen)
{
	const json_t *body = in->body, *team, *user, *action, *container, *channel, *message;
	const char *type, *uid, *uname, *action_id, *value, *action_ts, *team_id;
	const char *command = NULL, *duration = NULL, *what = NULL;
	char etype[96], summary[300], name[SLACK_NAME_MAX + 1], key[600];
	struct ievent *ev = NULL;
	int rc = -ENOMEM;

	if (!json_is_object(body)) {
		snprintf(err, errlen, "payload: expected a JSON object");
		return -EINVAL;
	}
	type = str_at(body, "type");
	if (type == NULL || id_like(type) == NULL || strlen(type) > 64) {
		snprintf(err, errlen, "payload.type: expected the interaction's type (e.g. "
		    "block_actions)");
		return -EINVAL;
	}
	team = json_object_get(body, "team");
	user = json_object_get(body, "user");
	action = json_array_get(json_object_get(body, "actions"), 0);
	container = json_object_get(body, "container");
	channel = json_object_get(body, "channel");
	message = json_object_get(body, "message");
	team_id = id_like(str_at(team, "id"));
	uid = id_like(str_at(user, "id"));
	uname = str_at(user, "username") ? str_at(user, "username") : str_at(user, "name");
	snprintf(name, sizeof(name), "%s", uname ? uname : "");
	util_trim_utf8(name);
	action_id = id_like(str_at(action, "action_id"));
	value = str_at(action, "value");
	action_ts = id_like(str_at(action, "action_ts"));
	for (size_t i = 0; action_id != NULL && i < sizeof(slack_buttons) /
	    sizeof(slack_buttons[0]); i++) {
		if (strcmp(action_id, slack_buttons[i].action_id) == 0) {
			command = slack_buttons[i].command;
			duration = slack_buttons[i].duration;
			what = slack_buttons[i].label;
		}
	}

	if ((ev = ievent_new("slack")) == NULL)
		goto out;
	snprintf(etype, sizeof(etype), "slack.%s", type);
	if (action_id != NULL)
		snprintf(summary, sizeof(summary), "slack: %s pressed %s", name[0] ? name :
		    uid ? uid : "someone", what ? what : action_id);
	else
		snprintf(summary, sizeof(summary), "slack: %s sent %s", name[0] ? name :
		    uid ? uid : "someone", type);
	util_trim_utf8(summary);
	/* the fingerprint names the interaction: one press of one button by one person
	 * (Slack sends the same action_ts again only for the same press) */
	snprintf(key, sizeof(key), "slack:%s:%s:%s:%s", team_id ? team_id : "-",
	    uid ? uid : "-", action_ts ? action_ts : "-", action_id ? action_id : type);
	if (ievent_set(&ev->type, etype) || ievent_set(&ev->status, "info") ||
	    ievent_set(&ev->severity, "info") || ievent_set(&ev->summary, summary) ||
	    ievent_set(&ev->fingerprint, key))
		goto out;
	if ((rc = set_label(ev, "slack_event", type)) ||
	    (rc = set_label(ev, "slack_team", team_id)) ||
	    (rc = set_label(ev, "slack_user", uid)) ||
	    (rc = set_label(ev, "slack_user_name", name)) ||
	    (rc = set_label(ev, "action_id", action_id)) ||
	    (rc = set_label(ev, "command", command)) ||
	    (rc = set_label(ev, "duration", duration)) ||
	    (rc = set_label(ev, "incident_id", slack_is_incident_id(value) ? value : NULL)) ||
	    (rc = set_label(ev, "channel", id_like(str_at(container, "channel_id")) ?
	    id_like(str_at(container, "channel_id")) : id_like(str_at(channel, "id")))) ||
	    (rc = set_label(ev, "message_ts", id_like(str_at(container, "message_ts")) ?
	    id_like(str_at(container, "message_ts")) : id_like(str_at(message, "ts")))))
		goto out;
	rc = -ENOMEM;
	if ((ev->payload = payload_without_secrets(body)) == NULL)
		goto out;
	ev->occurred_at = ev->received_at = in->received_at;
	if (ievent_vec_push(out, ev) != 0)
		goto out;
	ev = NULL;
	rc = 0;
out:
	ievent_destroy(ev);
	return rc;
}

bool
slack_request_key(const struct ievent *ev, char sha[65])
{
	const char *fp = ev->fingerprint;
	char text[700];
	int n;

	/* "slack:<team>:<user>:<action_ts>:<action_id>": without an action_ts (a view
	 * submission, an unknown interaction) the body's digest is the key, within
	 * ledger.dedup_window */
	if (fp == NULL || strstr(fp, ":-:") != NULL || strncmp(fp, "slack:", 6) != 0)
		return false;
	n = snprintf(text, sizeof(text), "X-Slack interaction: %s", fp);
	util_sha256_hex(text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1, sha);
	return true;
}
