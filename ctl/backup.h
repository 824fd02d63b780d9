/* backup.h - `incidentctl backup`: an online, verified copy of the ledger. */
#ifndef INCIDENTCTL_BACKUP_H
#define INCIDENTCTL_BACKUP_H

#include <getopt.h>
#include <stdbool.h>

/* `incidentctl backup [--force] FILE` (argv[0] is "backup") for the ledger at db: a
 * consistent copy made while the daemon keeps writing (store_backup()), synced, checked
 * with PRAGMA integrity_check (store_verify()) and only then put in place as FILE, mode
 * 0600. An existing FILE is refused unless --force (then replaced at once, never left
 * half-written); the ledger itself never. Prints what the copy holds (json: as a JSON
 * object). Returns the process exit status: 0, 1 (an error, FILE unchanged) or 2 (usage). */
int ctl_backup(const char *db, bool json, int argc, char **argv);

/* backup's getopt table, for incidentctl's main() to tell its options from the global ones
 * (--db, --json), which it takes out of argv first. */
extern const struct option ctl_backup_options[];

#endif
