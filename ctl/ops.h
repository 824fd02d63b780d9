/* ops.h - incidentctl's operator verbs. resolve, retry and fire talk to the running daemon
 * (api.h: --url, $INCIDENTD_URL, server.api_auth's credentials); stats reads the ledger.
 * Each takes its command's argv (argv[0] is the command) and returns the process exit
 * status (0, 1 on failure, 2 on a usage error); json selects JSON output. */
#ifndef INCIDENTCTL_OPS_H
#define INCIDENTCTL_OPS_H

#include <getopt.h>
#include <stdbool.h>

#include "store.h"

/* `resolve INCIDENT-ID [--comment TEXT] [--author NAME]`: POST /v1/incidents/{id}/resolve:
 * the incident resolves and the sinks that were told get `resolve`. */
int ctl_resolve(int argc, char **argv, bool json);

/* incidentctl ack ID [--comment TEXT] [--author NAME] [--undo]: POST
 * /v1/incidents/{id}/ack (or /unack) to the running daemon. Returns the exit status. */
int ctl_ack(int argc, char **argv, bool json);

/* `retry DELIVERY-ID` or `retry --failed [--sink NAME]`: re-drive failed deliveries. */
int ctl_retry(int argc, char **argv, bool json);

/* `fire --source argocd|alertmanager|flux [--app NAME] [--cluster NAME] [--resolve]`: a
 * synthetic failure (or its recovery) posted to the source's endpoint, with the source's
 * credentials from $INCIDENTD_SOURCE_TOKEN / --token-file (bearer), $INCIDENTD_SOURCE_USER
 * (basic) or $INCIDENTD_SOURCE_HMAC_KEY (Flux's HMAC), marked X-Incidentd-Test: true so its
 * events carry the label incidentd_test=true. */
int ctl_fire(int argc, char **argv, bool json);

/* `health [--ready] [--url URL]`: GET /healthz, or /readyz with --ready, and print the
 * status (`ok`, `ready`; with json the daemon's answer). Exit 0 when it answered 200, 1
 * otherwise (the reason on stderr): a probe for container health checks. Needs no
 * credentials. */
int ctl_health(int argc, char **argv, bool json);

/* `stats [--since DURATION|TIME]` (default 7d) over the ledger st: incidents per cluster
 * and app, time to resolve (p50, p90), the noisiest incidents. */
int ctl_stats(struct store *st, int argc, char **argv, bool json);

/* The getopt tables of the verbs above, for incidentctl's main() to tell their options from
 * the global ones (--db, --json), which it takes out of argv before a verb runs. */
extern const struct option ctl_resolve_options[];
extern const struct option ctl_ack_options[];
extern const struct option ctl_retry_options[];
extern const struct option ctl_fire_options[];
extern const struct option ctl_health_options[];
extern const struct option ctl_stats_options[];

#endif
