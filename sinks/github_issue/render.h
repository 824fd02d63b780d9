/* render.h - the markdown of the github_issue sink: issue title and body (DESIGN.md §7),
 * the comments for "failed again", "recovered" and "reopened", and the hidden markers that
 * let incidentd find its own issues and comments again.
 *
 * Pure functions over the incident and event JSON the broker hands to sinks. Every string
 * from the event is untrusted and inert wherever it is printed: in running text it is
 * never markdown, HTML, a link, an image, a mention or an issue reference and never starts
 * a line of its own; in code blocks it cannot close the block (the fence is longer than any
 * backtick run inside); the only links are the Links section's, rebuilt by libcurl's URL
 * parser (http(s) only, path segments percent-encoded); nothing forges a marker.
 * All returned strings are new (malloc) and owned by the caller. Never calls back. */
#ifndef INCIDENTD_GITHUB_RENDER_H
#define INCIDENTD_GITHUB_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct ghr_opts {
	const char *argocd_url;  /* e.g. "https://argocd.example.com" for app links, or NULL;
	                          * not an http(s) URL (see ghr_http_url): no link */
	size_t max_body;         /* GitHub's limit, 65536 characters; 0 means that */
};

/* "ArgoCD Deployment Failed: <app>" (Argo CD), "Alert: <summary>", "Flux reconciliation
 * failed: <app>", else "Incident: <summary>"; prefix (may be NULL) replaces the part before
 * ": ". Control characters become spaces; in the subject a zero-width space follows '@'
 * and comes between '#' or "GH-" and a digit, after "://"'s ':', before "www."'s '.' and
 * after "<!--"'s '<' (GitHub links references in titles); at most 256 bytes (cut on a UTF-8 boundary, with
 * "…"). Returns 0 or -ENOMEM. */
int ghr_issue_title(const json_t *event, const char *prefix, char **out);

/* The issue body; at most o->max_body bytes, the marker always its last line.
 * Returns 0 or -ENOMEM. */
int ghr_issue_body(const json_t *incident, const json_t *event, const struct ghr_opts *o,
    char **out);

/* Comments on an existing issue. With delivery_id > 0 the last line is the delivery's
 * marker (ghr_delivery_marker, with the event's "id"), so a retried delivery can tell
 * whether an earlier attempt already posted it. Return 0 or -ENOMEM. */
int ghr_comment_failed_again(const json_t *incident, const json_t *event, int64_t delivery_id,
    char **out);
int ghr_comment_resolved(const json_t *incident, const json_t *event, int64_t delivery_id,
    char **out);
/* The "fix merged" note: event is a GitHub pull_request webhook event (incidentd's github
 * source: labels repository, issue, url, sender); the pull request as inert text and its
 * URL as a link when it is an http(s) URL; the delivery's marker last. 0 or -ENOMEM. */
int ghr_comment_fix_merged(const json_t *incident, const json_t *event, int64_t delivery_id,
    char **out);
int ghr_comment_reopened(const json_t *incident, const json_t *event, int64_t delivery_id,
    char **out);

/* incidentd's reply to a command: event is an "incident.command" event (labels.reply, or
 * its summary); the first line as inert text, further lines (an explanation) in a code
 * block; the delivery's marker last. 0 or -ENOMEM. */
int ghr_comment_reply(const json_t *incident, const json_t *event, int64_t delivery_id,
    char **out);

/* The refusal of a `/incidentd` command (event: the issue_comment webhook event, labels
 * command and sender) from someone without write permission on repo. 0 or -ENOMEM. */
int ghr_comment_refusal(const json_t *event, const char *repo, int64_t delivery_id,
    char **out);

/* The hidden marker "<!-- incidentd:incident=<key> -->" with the key percent-encoded
 * outside [A-Za-z0-9._/:=@+] and single dashes (so it never holds "--", spaces or
 * newlines). Returns 0 or -ENOMEM. */
int ghr_marker(const char *key, char **out);

/* True when the last line of body (trailing white space aside) is exactly the marker of
 * key (aks-store is not aks-store-2; a marker anywhere else does not count). */
bool ghr_body_has_marker(const char *body, const char *key);

/* The hidden marker of one delivery's comment, "<!-- incidentd:delivery=<id> event=<event
 * id> -->": the ledger's delivery id, and the id of its event (encoded like a key in
 * ghr_marker; NULL or "" is "-"), which tells this ledger's delivery 7 from the delivery 7
 * of a lost one. Returns 0, -EINVAL (delivery_id <= 0) or -ENOMEM. */
int ghr_delivery_marker(int64_t delivery_id, const char *event_id, char **out);

/* True when the last line of body (trailing white space aside) is exactly the marker of
 * that delivery (delivery 1 is not delivery 17; a marker anywhere else does not count). */
bool ghr_body_has_delivery_marker(const char *body, int64_t delivery_id,
    const char *event_id);

/* The http(s) URL in, parsed by libcurl (curl_url, no scheme guessing) and rebuilt as
 * scheme://host[:port]/path with every path segment percent-encoded outside
 * [A-Za-z0-9._~-]; dot segments are resolved. Refused (-EINVAL): another scheme, a
 * user or password, a query or fragment, a host that is not a plain name or address, more
 * than 2,000 bytes. Returns 0 and a new string in *out, -EINVAL or -ENOMEM. */
int ghr_http_url(const char *in, char **out);

#endif
