/* store_backup.c - an online copy of the ledger (VACUUM INTO) and its verification.
 * Both open the files with connections of their own: the copy never goes through, nor
 * changes, a running daemon's connection. */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Open path with flags on a connection of its own. Returns 0 and *db, or -errno with a
 * message in err (*db is then closed). */
static int
open_file(const char *path, int flags, sqlite3 **db, char *err, size_t errlen)
{
	int rc;

	rc = sqlite3_open_v2(path, db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return rc == SQLITE_CANTOPEN ? -ENOENT : -EIO;
	}
	sqlite3_extended_result_codes(*db, 1);
	sqlite3_busy_timeout(*db, 5000);
	return 0;
}

/* Prepare and run sql (constant text) binding text to ?1 when not NULL; the first column of
 * the first row, if any, goes to buf. Returns 0 or -EIO with SQLite's message in err. */
static int
run(sqlite3 *db, const char *sql, const char *text, char *buf, size_t len, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (len > 0)
		buf[0] = '\0';
	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK && text != NULL)
		rc = sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(s, 0);

		if (v != NULL && len > 0 && buf[0] == '\0')
			snprintf(buf, len, "%s", (const char *)v);
	}
out:
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int
store_backup(const char *src, const char *dst, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char msg[512], mode[16];
	int rc;

	rc = open_file(src, SQLITE_OPEN_READONLY, &db, err, errlen);
	if (rc != 0)
		return rc;
	/* On a ledger without auto-vacuum (made before incidentd set it) this does not change
	 * src: it is the mode VACUUM gives the database it writes. (On one with it, the copy
	 * keeps it, and setting it again would be a write.) */
	rc = run(db, "PRAGMA auto_vacuum", NULL, mode, sizeof(mode), msg, sizeof(msg));
	if (rc == 0 && strcmp(mode, "0") == 0)
		rc = run(db, "PRAGMA auto_vacuum = INCREMENTAL", NULL, NULL, 0, msg, sizeof(msg));
	if (rc == 0)
		rc = run(db, "VACUUM INTO ?1", dst, NULL, 0, msg, sizeof(msg));
	if (rc != 0)
		snprintf(err, errlen, "cannot copy %s: %s", src, msg);
	sqlite3_close(db);
	return rc;
}

int
store_verify(const char *path, struct store_copy_info *info, char *err, size_t errlen)
{
	static const char *const counts[] = { "SELECT count(*) FROM events",
	    "SELECT count(*) FROM incidents", "SELECT count(*) FROM deliveries" };
	int64_t *const into[] = { &info->events, &info->incidents, &info->deliveries };
	sqlite3 *db = NULL;
	char buf[512], msg[512];
	int rc;

	memset(info, 0, sizeof(*info));
	rc = open_file(path, SQLITE_OPEN_READONLY, &db, err, errlen);
	if (rc != 0)
		return rc;
	rc = run(db, "PRAGMA integrity_check", NULL, buf, sizeof(buf), msg, sizeof(msg));
	if (rc == 0 && strcmp(buf, "ok") != 0) {
		snprintf(err, errlen, "%s fails PRAGMA integrity_check: %s", path, buf);
		rc = -EUCLEAN;
		goto out;
	}
	if (rc == 0)
		rc = run(db, "PRAGMA user_version", NULL, buf, sizeof(buf), msg, sizeof(msg));
	if (rc == 0)
		info->schema = atoi(buf);
	for (size_t i = 0; rc == 0 && i < sizeof(counts) / sizeof(counts[0]); i++) {
		rc = run(db, counts[i], NULL, buf, sizeof(buf), msg, sizeof(msg));
		if (rc == 0)
			*into[i] = strtoll(buf, NULL, 10);
	}
	if (rc != 0)
		snprintf(err, errlen, "cannot check %s: %s", path, msg);
out:
	sqlite3_close(db);
	return rc;
}
