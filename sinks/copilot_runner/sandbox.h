/* sandbox.h - the bubblewrap sandbox of the copilot_runner sink: which host paths the agent
 * sees, and the argv that runs a command inside (`bwrap <options> -- <command>`).
 *
 * The sandbox has its own pid, IPC, UTS, cgroup (and, where the kernel allows, user)
 * namespaces, shares the network, starts a new session, drops every capability and dies
 * with the daemon. It sees a fresh /proc (its own processes only), a minimal /dev, an
 * empty /tmp, the system directories read-only (/usr, /bin, /sbin, /lib, /lib64, /lib32,
 * /libx32 where present, as the host's symlinks on merged-/usr systems), the /etc files
 * programs need for users, name resolution and TLS roots (read-only, where present), the
 * operator's extra binds and the workdir (writable). Nothing else of the host. */
#ifndef INCIDENTD_RUNNER_SANDBOX_H
#define INCIDENTD_RUNNER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

struct runner_sandbox;

/* Describe a sandbox. bwrap: the bwrap program (absolute path). ro, rw: NULL-terminated
 * lists of host paths shown at the same path, read-only / writable (may be NULL). workdir:
 * shown writable and the command's directory, or NULL (the command then starts in /tmp).
 * protect: NULL-terminated host paths the sandbox must never show (the daemon's own files);
 * a bind that is one of them, contains one, or lies inside a protected directory is
 * refused. Every bind and the workdir must be absolute and exist. Looks at the file system
 * (lstat, readlink, realpath). Returns 0 and *out (free with runner_sandbox_destroy), or
 * -EINVAL with "ro_binds[1]: what" (or rw_binds, workdir) in err, or -ENOMEM. */
int runner_sandbox_new(const char *bwrap, char *const *ro, char *const *rw,
    const char *workdir, char *const *protect, struct runner_sandbox **out, char *err,
    size_t errlen);

/* Free sb. NULL is a no-op. */
void runner_sandbox_destroy(struct runner_sandbox *sb);

/* The argv that runs argv (NULL-terminated; argv[0] looked up in the command's PATH
 * inside) in the sandbox: bwrap's path, its options, "--", then argv. Returns 0 and a new
 * NULL-terminated array in *out (free each string and the array, e.g. with
 * runner_env_free), or -ENOMEM. Does not look at the file system. */
int runner_sandbox_argv(const struct runner_sandbox *sb, char *const *argv, char ***out);

/* The bwrap program. Borrowed from sb. */
const char *runner_sandbox_program(const struct runner_sandbox *sb);

/* The directory the command starts in inside the sandbox, also its default HOME: the
 * workdir, or "/tmp". Borrowed from sb. */
const char *runner_sandbox_home(const struct runner_sandbox *sb);

/* Whether the host file path (as found, and after resolving its symlinks) is visible
 * inside the sandbox at the same path. Looks at the file system (realpath). */
bool runner_sandbox_shows(const struct runner_sandbox *sb, const char *path);

/* The host paths of the daemon's open files (the ledger and its journal, log files): the
 * targets of /proc/self/fd that are regular files. Returns 0 and
 * a new NULL-terminated array (free with runner_env_free), or -ENOMEM. */
int runner_sandbox_daemon_files(char ***out);

#endif
