/* rules.h - incidentctl's rule subcommands: `rules test` (offline), `explain` (reads the
 * ledger) and `silence` (writes silences into it). */
#ifndef INCIDENTCTL_RULES_H
#define INCIDENTCTL_RULES_H

#include <getopt.h>
#include <stdbool.h>

#include "store.h"

/* `incidentctl rules test --config DIR --event FILE... [--source S] [--expect FILE]`: run
 * the routing of DIR's conf.d over the events of each FILE (--event may repeat; each file
 * is one payload) offline and print, per event, each route tried and why it matched or
 * not, the routes that took it, the incident key and what each sink would do. argv[0] is
 * "rules". Returns the process exit status: 0, 1 (an --expect mismatch or a bad input), or
 * 2 (usage). Prints to stdout/stderr; json selects JSON output. */
int ctl_rules(int argc, char **argv, bool json);

/* The getopt tables of `rules test`, `silence add`, `silence list` and `reload`, for
 * incidentctl's main() to tell their options from the global ones (--db, --json), which
 * it takes out of argv before the command runs. */
extern const struct option ctl_rules_options[];
extern const struct option ctl_silence_add_options[];
extern const struct option ctl_silence_list_options[];
extern const struct option ctl_reload_options[];

/* `incidentctl explain ID`: the decision trace of an event or an incident (every route
 * tried, incident transitions, deliveries with attempts, errors and next retry), in words.
 * argv[0] is "explain". Returns the process exit status. */
int ctl_explain(struct store *st, int argc, char **argv, bool json);

/* `incidentctl silence add|list|expire` (argv[0] is "silence") against the ledger st.
 * Returns the process exit status. */
int ctl_silence(struct store *st, int argc, char **argv, bool json);

/* `incidentctl reload [--url URL] [--token-file FILE]`: POST /-/reload to the daemon with
 * server.api_auth's credentials (api.h). argv[0] is "reload". Returns the process exit
 * status. */
int ctl_reload(int argc, char **argv);

#endif
