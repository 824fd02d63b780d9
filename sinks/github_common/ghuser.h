/* ghuser.h - who a GitHub token acts as, for the github_* sinks: the login GET /user
 * answers (a user, or a machine user), or for a GitHub App installation token, which
 * GET /user refuses with 403 "Resource not accessible by integration", the app's bot
 * "<app-slug>[bot]" (configured, or learned from an issue the token created).
 *
 * A small cache per token and API URL that lives as long as the plugin is loaded (the
 * process, in practice: a reload keeps the plugin loaded while the old and the new sink
 * instances overlap). Fixed storage: nothing to free. Loop thread only. */
#ifndef INCIDENTD_GHUSER_H
#define INCIDENTD_GHUSER_H

#include <stdbool.h>
#include <stddef.h>

#include "ghapi.h"

#define GH_LOGIN_MAX 64              /* 39 characters and "[bot]" fit */

enum gh_user_state {
	GH_USER_UNKNOWN,                 /* never asked (or forgotten): ask GET /user */
	GH_USER_KNOWN,                   /* *login is the token's identity */
	GH_USER_REFUSED,                 /* GET /user answered 403: an installation token
	                                  * whose bot has not been seen yet */
};

/* What is known about the identity of c's token (and API URL). With GH_USER_KNOWN, copies
 * the login into login (len >= GH_LOGIN_MAX + 1 bytes). Never calls back. */
enum gh_user_state gh_user_lookup(const struct gh_client *c, char *login, size_t len);

/* Remember the login of c's token (login NULL: GET /user was refused). A refusal never
 * replaces a known login; an invalid login (see gh_login_valid) is ignored. When the
 * cache is full the oldest entry goes. */
void gh_user_remember(const struct gh_client *c, const char *login);

/* A GitHub login: 1 to 39 characters of [A-Za-z0-9-], not starting with '-', optionally
 * followed by "[bot]" (a GitHub App's bot user). */
bool gh_login_valid(const char *login);

#endif
