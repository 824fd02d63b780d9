/* paths.h - where incidentd keeps things: the installation directories compiled in, the
 * state and runtime directories chosen at run time, and how relative paths of the
 * configuration resolve against them.
 *
 *   conf.d         --config DIR, else $sysconfdir/incidentd/conf.d when it exists, else the
 *                  embedded defaults
 *   state dir      --state-dir DIR, else $STATE_DIRECTORY (systemd's StateDirectory=),
 *                  else $localstatedir/lib/incidentd
 *   runtime dir    --runtime-dir DIR, else $RUNTIME_DIRECTORY (systemd's
 *                  RuntimeDirectory=), else $runstatedir/incidentd
 *   ledger.path    relative: inside the state dir (default "incidentd.db"); --db PATH
 *                  overrides it and is taken as given (relative to the working directory)
 *   ipc:// paths   relative (server.publish, sources.nanomsg.pull): inside the runtime dir
 *   plugins        --plugin-dir DIR, else $INCIDENTD_PLUGIN_DIR, else $libdir/incidentd
 */
#ifndef INCIDENTD_PATHS_H
#define INCIDENTD_PATHS_H

#include <stddef.h>

struct config;

/* Compiled in from the configured installation directories (broker/installdirs.c, made by
 * make and rewritten only when a value changes, so re-configuring rebuilds what uses them). */
extern const char paths_confdir[];      /* $sysconfdir/incidentd/conf.d */
extern const char paths_statedir[];     /* $localstatedir/lib/incidentd */
extern const char paths_runtimedir[];   /* $runstatedir/incidentd */
extern const char paths_plugindir[];    /* $libdir/incidentd */

#define PATHS_DB_NAME "incidentd.db"    /* the ledger's file name in the state dir */
#define PATHS_TAIL_NAME "tail.ipc"      /* the live tail's socket in the runtime dir */

/* The state directory: opt when not NULL, else the first entry of $STATE_DIRECTORY (a
 * colon-separated list under systemd), else paths_statedir. Written to buf. Returns 0, or
 * -ENAMETOOLONG when it does not fit. */
int paths_state_dir(const char *opt, char *buf, size_t len);

/* The runtime directory, likewise from opt, $RUNTIME_DIRECTORY or paths_runtimedir. */
int paths_runtime_dir(const char *opt, char *buf, size_t len);

/* path as is when absolute, else "dir/path" ("./" prefixes dropped). Returns a new string
 * (caller frees) or NULL when out of memory. */
char *paths_join(const char *dir, const char *path);

/* A nanomsg address with a relative ipc:// path made absolute inside dir
 * ("ipc://tail.ipc" -> "ipc://<dir>/tail.ipc"); any other address is copied as is.
 * Returns a new string (caller frees) or NULL when out of memory. */
char *paths_resolve_ipc(const char *dir, const char *addr);

/* Resolve the relative paths of cfg in place: ledger.path against state_dir unless
 * db_given (an explicit --db stays as given), server.publish and sources.nanomsg.pull
 * against runtime_dir. Returns 0 or -ENOMEM; cfg stays consistent either way. */
int paths_resolve_config(struct config *cfg, const char *state_dir, const char *runtime_dir,
    int db_given);

#endif
