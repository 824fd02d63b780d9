/* paths.c - the state and runtime directories, and relative paths resolved against them. */
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

/* opt, else the first entry of the colon-separated list in $env, else dflt, into buf. */
static int
pick_dir(const char *opt, const char *env, const char *dflt, char *buf, size_t len)
{
	const char *v = getenv(env);
	int n;

	if (opt != NULL && *opt != '\0')
		n = snprintf(buf, len, "%s", opt);
	else if (v != NULL && *v != '\0' && *v != ':')
		n = snprintf(buf, len, "%.*s", (int)strcspn(v, ":"), v);
	else
		n = snprintf(buf, len, "%s", dflt);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
paths_state_dir(const char *opt, char *buf, size_t len)
{
	return pick_dir(opt, "STATE_DIRECTORY", paths_statedir, buf, len);
}

int
paths_runtime_dir(const char *opt, char *buf, size_t len)
{
	return pick_dir(opt, "RUNTIME_DIRECTORY", paths_runtimedir, buf, len);
}

char *
paths_join(const char *dir, const char *path)
{
	size_t n;

	if (path[0] == '/' || dir == NULL || dir[0] == '\0')
		return strdup(path);
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return util_format_new("%.*s%s%s", (int)n, dir, dir[n - 1] == '/' ? "" : "/", path);
}

char *
paths_resolve_ipc(const char *dir, const char *addr)
{
	char *path, *out;

	if (strncmp(addr, "ipc://", 6) != 0 || addr[6] == '/')
		return strdup(addr);
	path = paths_join(dir, addr + 6);
	if (path == NULL)
		return NULL;
	out = util_format_new("ipc://%s", path);
	free(path);
	return out;
}

/* Replace *slot by fn(dir, *slot) when it is set. */
static int
resolve_slot(char **slot, const char *dir, char *(*fn)(const char *, const char *))
{
	char *v;

	if (*slot == NULL)
		return 0;
	v = fn(dir, *slot);
	if (v == NULL)
		return -ENOMEM;
	free(*slot);
	*slot = v;
	return 0;
}

int
paths_resolve_config(struct config *cfg, const char *state_dir, const char *runtime_dir,
    int db_given)
{
	int rc = 0;

	if (!db_given)
		rc = resolve_slot(&cfg->db_path, state_dir, paths_join);
	if (rc == 0)
		rc = resolve_slot(&cfg->publish, runtime_dir, paths_resolve_ipc);
	for (size_t i = 0; rc == 0 && i < cfg->n_sources; i++)
		rc = resolve_slot(&cfg->sources[i].pull, runtime_dir, paths_resolve_ipc);
	return rc;
}
