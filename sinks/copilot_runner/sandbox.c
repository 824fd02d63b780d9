/* sandbox.c - the bubblewrap sandbox of the copilot_runner sink (sandbox.h). */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* Always: namespaces, a new session, no capabilities, death with the daemon, own /proc,
 * /dev and /tmp. */
static const char *const base_opts[] = {
	"--die-with-parent", "--unshare-all", "--share-net", "--new-session",
	"--cap-drop", "ALL", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", NULL };

/* Read-only where present; as the host's symlinks when they are (merged /usr). */
static const char *const system_dirs[] = { "/usr", "/bin", "/sbin", "/lib", "/lib64",
	"/lib32", "/libx32", NULL };

/* What programs need of /etc: users, name resolution, TLS roots, the dynamic linker's
 * cache, alternatives (Debian's /usr/bin symlinks go through /etc/alternatives). Not
 * /etc/ssl as a whole: /etc/ssl/private holds keys. */
static const char *const etc_files[] = { "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
	"/etc/resolv.conf", "/etc/hosts", "/etc/host.conf", "/etc/gai.conf", "/etc/services",
	"/etc/protocols", "/etc/localtime", "/etc/ld.so.cache", "/etc/ld.so.conf",
	"/etc/ld.so.conf.d", "/etc/alternatives", "/etc/ssl/certs", "/etc/ssl/openssl.cnf",
	"/etc/ca-certificates", "/etc/ca-certificates.conf", "/etc/pki/tls/certs",
	"/etc/pki/ca-trust/extracted", NULL };

struct runner_sandbox {
	char *bwrap;
	char **opts;          /* every bwrap option, NULL-terminated */
	size_t n_opts;
	size_t cap_opts;
	char **visible;       /* resolved host paths shown at the same place, NULL-terminated */
	size_t n_visible;
	char *home;
};

struct bind {
	const char *path;     /* as configured */
	char *real;           /* resolved */
	bool writable;
	const char *key;      /* for messages: "ro_binds", "rw_binds", "workdir" */
	size_t index;
};

static int
opt_add(struct runner_sandbox *sb, const char *s)
{
	char **v;

	if (sb->n_opts + 2 > sb->cap_opts) {
		size_t cap = sb->cap_opts ? sb->cap_opts * 2 : 64;

		if ((v = realloc(sb->opts, cap * sizeof(*v))) == NULL)
			return -ENOMEM;
		sb->opts = v;
		sb->cap_opts = cap;
	}
	if ((sb->opts[sb->n_opts] = strdup(s)) == NULL)
		return -ENOMEM;
	sb->opts[++sb->n_opts] = NULL;
	return 0;
}

static int
opt_add3(struct runner_sandbox *sb, const char *a, const char *b, const char *c)
{
	int rc;

	if ((rc = opt_add(sb, a)) != 0 || (rc = opt_add(sb, b)) != 0)
		return rc;
	return c != NULL ? opt_add(sb, c) : 0;
}

static int
visible_add(struct runner_sandbox *sb, const char *real)
{
	char **v = realloc(sb->visible, (sb->n_visible + 2) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	sb->visible = v;
	if ((v[sb->n_visible] = strdup(real)) == NULL)
		return -ENOMEM;
	v[++sb->n_visible] = NULL;
	return 0;
}

/* Whether p is prefix or below it (both resolved, absolute). */
static bool
path_under(const char *p, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return true;
	return strncmp(p, prefix, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

void
runner_sandbox_destroy(struct runner_sandbox *sb)
{
	if (sb == NULL)
		return;
	for (size_t i = 0; i < sb->n_opts; i++)
		free(sb->opts[i]);
	for (size_t i = 0; i < sb->n_visible; i++)
		free(sb->visible[i]);
	free(sb->opts);
	free(sb->visible);
	free(sb->bwrap);
	free(sb->home);
	free(sb);
}

/* The system directories and /etc files, as the host has them. */
static int
add_system(struct runner_sandbox *sb)
{
	char target[PATH_MAX], real[PATH_MAX];
	struct stat st;
	ssize_t n;
	int rc;

	for (size_t i = 0; system_dirs[i] != NULL; i++) {
		if (lstat(system_dirs[i], &st) != 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(system_dirs[i], target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			rc = opt_add3(sb, "--symlink", target, system_dirs[i]);
		} else if (S_ISDIR(st.st_mode)) {
			rc = opt_add3(sb, "--ro-bind", system_dirs[i], system_dirs[i]);
		} else {
			continue;
		}
		if (rc == 0 && realpath(system_dirs[i], real) != NULL)
			rc = visible_add(sb, real);
		if (rc != 0)
			return rc;
	}
	for (size_t i = 0; etc_files[i] != NULL; i++) {
		if (lstat(etc_files[i], &st) != 0)
			continue;
		if ((rc = opt_add3(sb, "--ro-bind-try", etc_files[i], etc_files[i])) != 0)
			return rc;
	}
	return 0;
}

/* Resolve and check one bind; fills b->real. */
static int
bind_check(struct bind *b, char *const *protect, char *err, size_t errlen)
{
	char real[PATH_MAX], preal[PATH_MAX], where[64];
	struct stat st;

	if (b->index == (size_t)-1)
		snprintf(where, sizeof(where), "%s", b->key);
	else
		snprintf(where, sizeof(where), "%s[%zu]", b->key, b->index);
	if (b->path[0] != '/' || strstr(b->path, "/../") != NULL ||
	    (strlen(b->path) >= 3 && strcmp(b->path + strlen(b->path) - 3, "/..") == 0)) {
		snprintf(err, errlen, "%s: '%.200s' is not an absolute path without '..'", where,
		    b->path);
		return -EINVAL;
	}
	if (stat(b->path, &st) != 0 || realpath(b->path, real) == NULL) {
		snprintf(err, errlen, "%s: '%.200s': %s", where, b->path, strerror(errno));
		return -EINVAL;
	}
	if (strcmp(real, "/") == 0 || path_under(real, "/proc") ||
	    path_under(real, "/sys") || path_under(real, "/dev")) {
		snprintf(err, errlen, "%s: '%.200s' would show the host's %s to the agent", where,
		    b->path, strcmp(real, "/") == 0 ? "whole file system" : real);
		return -EINVAL;
	}
	for (size_t i = 0; protect != NULL && protect[i] != NULL; i++) {
		struct stat pst;

		if (realpath(protect[i], preal) == NULL)
			continue;
		/* a bind that contains a protected path, or lies inside a protected directory */
		if (path_under(preal, real) || (stat(preal, &pst) == 0 && S_ISDIR(pst.st_mode) &&
		    path_under(real, preal))) {
			snprintf(err, errlen, "%s: '%.200s' would show incidentd's own %.200s to the "
			    "agent: bind a directory that does not contain it", where, b->path,
			    preal);
			return -EINVAL;
		}
	}
	if ((b->real = strdup(real)) == NULL)
		return -ENOMEM;
	return 0;
}

static int
bind_cmp(const void *a, const void *b)
{
	const struct bind *x = a, *y = b;
	size_t lx = strlen(x->real), ly = strlen(y->real);

	/* parents before what is mounted inside them; then configuration order */
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
}

int
runner_sandbox_new(const char *bwrap, char *const *ro, char *const *rw, const char *workdir,
    char *const *protect, struct runner_sandbox **out, char *err, size_t errlen)
{
	struct runner_sandbox *sb = calloc(1, sizeof(*sb));
	struct bind *binds = NULL;
	size_t n = 0, n_ro = 0, n_rw = 0;
	int rc = -ENOMEM;

	*out = NULL;
	if (sb == NULL)
		return -ENOMEM;
	while (ro != NULL && ro[n_ro] != NULL)
		n_ro++;
	while (rw != NULL && rw[n_rw] != NULL)
		n_rw++;
	if ((binds = calloc(n_ro + n_rw + 1, sizeof(*binds))) == NULL ||
	    (sb->bwrap = strdup(bwrap)) == NULL)
		goto out;
	for (size_t i = 0; i < n_ro; i++)
		binds[n++] = (struct bind){ .path = ro[i], .key = "ro_binds", .index = i };
	for (size_t i = 0; i < n_rw; i++)
		binds[n++] = (struct bind){ .path = rw[i], .writable = true, .key = "rw_binds",
		    .index = i };
	if (workdir != NULL)
		binds[n++] = (struct bind){ .path = workdir, .writable = true, .key = "workdir",
		    .index = (size_t)-1 };
	for (size_t i = 0; i < n; i++)
		if ((rc = bind_check(&binds[i], protect, err, errlen)) != 0)
			goto out;
	qsort(binds, n, sizeof(*binds), bind_cmp);
	rc = -ENOMEM;
	if ((sb->home = strdup(workdir != NULL ? workdir : "/tmp")) == NULL)
		goto out;
	for (size_t i = 0; base_opts[i] != NULL; i++)
		if ((rc = opt_add(sb, base_opts[i])) != 0)
			goto out;
	if ((rc = add_system(sb)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((rc = opt_add3(sb, binds[i].writable ? "--bind" : "--ro-bind", binds[i].path,
		    binds[i].path)) != 0 || (rc = visible_add(sb, binds[i].real)) != 0)
			goto out;
	if ((rc = opt_add3(sb, "--chdir", sb->home, NULL)) != 0)
		goto out;
	*out = sb;
	sb = NULL;
	rc = 0;
out:
	for (size_t i = 0; binds != NULL && i < n; i++)
		free(binds[i].real);
	free(binds);
	runner_sandbox_destroy(sb);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return rc;
}

int
runner_sandbox_argv(const struct runner_sandbox *sb, char *const *argv, char ***out)
{
	size_t n = 0, k = 0;
	char **v;

	while (argv[n] != NULL)
		n++;
	if ((v = calloc(sb->n_opts + n + 3, sizeof(*v))) == NULL)
		return -ENOMEM;
	if ((v[k++] = strdup(sb->bwrap)) == NULL)
		goto fail;
	for (size_t i = 0; i < sb->n_opts; i++)
		if ((v[k++] = strdup(sb->opts[i])) == NULL)
			goto fail;
	if ((v[k++] = strdup("--")) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if ((v[k++] = strdup(argv[i])) == NULL)
			goto fail;
	*out = v;
	return 0;
fail:
	for (size_t i = 0; i < k; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

const char *
runner_sandbox_program(const struct runner_sandbox *sb)
{
	return sb->bwrap;
}

const char *
runner_sandbox_home(const struct runner_sandbox *sb)
{
	return sb->home;
}

static bool
real_visible(const struct runner_sandbox *sb, const char *real)
{
	for (size_t i = 0; i < sb->n_visible; i++)
		if (path_under(real, sb->visible[i]))
			return true;
	return false;
}

bool
runner_sandbox_shows(const struct runner_sandbox *sb, const char *path)
{
	char real[PATH_MAX], dir[PATH_MAX], *slash;

	/* the file itself, after its symlinks, and the directory it is looked up in */
	if (realpath(path, real) == NULL || !real_visible(sb, real))
		return false;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return true;         /* relative to the working directory: the workdir */
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return realpath(dir, real) != NULL && real_visible(sb, real);
}

int
runner_sandbox_daemon_files(char ***out)
{
	char link[300], target[PATH_MAX], **v = NULL, **nv;
	size_t n = 0;
	struct dirent *e;
	struct stat st;
	DIR *d;
	ssize_t len;
	int rc = -ENOMEM;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return -ENOMEM;
	if ((d = opendir("/proc/self/fd")) == NULL)
		goto done;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0 || target[0] != '/')
			continue;          /* sockets, pipes, anonymous inodes */
		target[len] = '\0';
		if (stat(target, &st) != 0 || !S_ISREG(st.st_mode) ||
		    path_under(target, "/proc") || path_under(target, "/dev"))
			continue;
		if ((nv = realloc(v, (n + 2) * sizeof(*v))) == NULL)
			goto fail;
		v = nv;
		if ((v[n] = strdup(target)) == NULL)
			goto fail;
		v[++n] = NULL;
	}
	closedir(d);
done:
	*out = v;
	return 0;
fail:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}
