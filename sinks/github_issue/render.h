/* render.h - the markdown of the github_issue sink: issue title and body (DESIGN.md §7),
 * and the comments for "failed again", "recovered" and "reopened".
 *
 * Pure functions over the incident and event JSON the broker hands to sinks. Every string
 * from the event is untrusted: it cannot leave its code block (the fence is longer than any
 * backtick run inside), cannot @-mention anyone, and cannot forge the incident marker.
 * All returned strings are new (malloc) and owned by the caller. */
#ifndef INCIDENTD_GITHUB_RENDER_H
#define INCIDENTD_GITHUB_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct ghr_opts {
	const char *argocd_url;  /* e.g. "https://argocd.example.com" for app links, or NULL */
	size_t max_body;         /* GitHub's limit, 65536 characters; 0 means that */
};

/* "ArgoCD Deployment Failed: <app>" (Argo CD), "Alert: <summary>", "Flux reconciliation
 * failed: <app>", else "Incident: <summary>"; prefix (may be NULL) replaces the part before
 * ": ". Control characters become spaces; at most 256 characters (cut on a UTF-8
 * boundary, with "…"). Returns 0 or -ENOMEM. */
int ghr_issue_title(const json_t *event, const char *prefix, char **out);

/* The issue body; at most o->max_body bytes, the marker always its last line.
 * Returns 0 or -ENOMEM. */
int ghr_issue_body(const json_t *incident, const json_t *event, const struct ghr_opts *o,
    char **out);

/* Comments on an existing issue. Return 0 or -ENOMEM. */
int ghr_comment_failed_again(const json_t *incident, const json_t *event, char **out);
int ghr_comment_resolved(const json_t *incident, const json_t *event, char **out);
int ghr_comment_reopened(const json_t *incident, const json_t *event, char **out);

/* The hidden marker "<!-- incidentd:incident=<key> -->" with the key percent-encoded
 * outside [A-Za-z0-9._/:=@+] and single dashes (so it never holds "--", spaces or
 * newlines). Returns 0 or -ENOMEM. */
int ghr_marker(const char *key, char **out);

/* True when body contains exactly the marker of key (aks-store is not aks-store-2). */
bool ghr_body_has_marker(const char *body, const char *key);

#endif
