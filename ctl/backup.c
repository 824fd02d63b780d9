/* backup.c - `incidentctl backup [--force] FILE` (backup.h). The copy is written to a
 * temporary file next to FILE, synced and verified there, then renamed into place: an
 * error or an interruption never leaves a half-written or unverified FILE behind. */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "store.h"

#define EXIT_USAGE 2

static int
fail(const char *what, const char *path, const char *why)
{
	fprintf(stderr, "incidentctl: backup: %s%s%s%s%s\n", what, path ? " " : "",
	    path ? path : "", why ? ": " : "", why ? why : "");
	return EXIT_FAILURE;
}

/* fsync a file, or the directory a path is in (dir true). Returns 0 or -errno. */
static int
sync_path(const char *path, bool dir)
{
	char buf[4096];
	int fd, rc = 0;

	if (dir) {
		snprintf(buf, sizeof(buf), "%s", path);
		path = dirname(buf);
	}
	fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Put tmp in place as file: replace it (force), or only when there is none. */
static int
publish(const char *tmp, const char *file, bool force)
{
	if (force)
		return rename(tmp, file) == 0 ? 0 : -errno;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, file, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* a file system without RENAME_NOREPLACE: link() refuses an existing name too */
	if (link(tmp, file) != 0)
		return -errno;
	unlink(tmp);
	return 0;
}

/* Whether file may be written: not the ledger, not a directory, and absent unless force.
 * Returns 0, or the exit status after saying why not. */
static int
check_target(const char *db, const char *file, bool force)
{
	struct stat fs, ds;

	if (stat(file, &fs) != 0) {
		if (errno == ENOENT)
			return 0;
		return fail("cannot use", file, strerror(errno));
	}
	if (stat(db, &ds) == 0 && fs.st_dev == ds.st_dev && fs.st_ino == ds.st_ino)
		return fail("refusing to write over the ledger itself:", file, NULL);
	if (S_ISDIR(fs.st_mode))
		return fail("is a directory, not a file:", file, NULL);
	if (!force)
		return fail(file, NULL, "exists; use --force to replace it");
	return 0;
}

static void
report(const char *db, const char *file, const struct store_copy_info *info, bool json)
{
	struct stat sb;
	long long bytes = stat(file, &sb) == 0 ? (long long)sb.st_size : -1;
	json_t *o;

	if (!json) {
		printf("backup of %s written to %s: %lld bytes, schema %d, %lld event(s), "
		    "%lld incident(s), %lld delivery(ies); integrity_check ok\n", db, file, bytes,
		    info->schema, (long long)info->events, (long long)info->incidents,
		    (long long)info->deliveries);
		return;
	}
	o = json_pack("{s:s, s:s, s:I, s:i, s:I, s:I, s:I, s:s}", "ledger", db, "file", file,
	    "bytes", (json_int_t)bytes, "schema", info->schema, "events",
	    (json_int_t)info->events, "incidents", (json_int_t)info->incidents, "deliveries",
	    (json_int_t)info->deliveries, "integrity_check", "ok");
	if (o != NULL && json_dumpf(o, stdout, JSON_INDENT(2)) == 0)
		fputc('\n', stdout);
	json_decref(o);
}

/* Copy db to tmp, sync and verify it there, then put it in place as file. Returns 0 with
 * *info, or -errno with the reason in err. */
static int
copy_verified(const char *db, const char *tmp, const char *file, bool force,
    struct store_copy_info *info, char *err, size_t errlen)
{
	char why[5120];
	int rc;

	rc = store_backup(db, tmp, err, errlen);
	if (rc != 0)
		return rc;
	rc = sync_path(tmp, false);
	if (rc != 0) {
		snprintf(err, errlen, "cannot sync %s: %s", tmp, strerror(-rc));
		return rc;
	}
	rc = store_verify(tmp, info, why, sizeof(why));
	if (rc != 0) {
		snprintf(err, errlen, "the copy failed its check, nothing written: %s", why);
		return rc;
	}
	rc = publish(tmp, file, force);
	if (rc == -EEXIST)
		snprintf(err, errlen, "%s appeared meanwhile; use --force to replace it", file);
	else if (rc != 0)
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, file, strerror(-rc));
	return rc;
}

const struct option ctl_backup_options[] = {
	{ "force", no_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 },
};

int
ctl_backup(const char *db, bool json, int argc, char **argv)
{
	struct store_copy_info info;
	const char *file;
	char tmp[4096], err[10240];
	bool force = false;
	int ch, fd, rc;

	optind = 0;   /* glibc: restart getopt for the command's own options */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "f", ctl_backup_options, NULL)) != -1) {
		if (ch != 'f') {
			fprintf(stderr, "incidentctl: usage: incidentctl [--db PATH] backup "
			    "[--force] FILE\n");
			return EXIT_USAGE;
		}
		force = true;
	}
	if (optind != argc - 1 || argv[optind][0] == '\0') {
		fprintf(stderr, "incidentctl: usage: incidentctl [--db PATH] backup [--force] "
		    "FILE\n");
		return EXIT_USAGE;
	}
	file = argv[optind];
	if (store_target_is_url(db))
		return fail("backup copies a SQLite ledger; a PostgreSQL ledger is backed up",
		    "with pg_dump or the database's own backups", NULL);
	if (access(db, F_OK) != 0)
		return fail("no ledger at", db, "use --db or INCIDENTD_DB");
	if ((rc = check_target(db, file, force)) != 0)
		return rc;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", file) >= sizeof(tmp))
		return fail("file name too long:", file, NULL);
	fd = mkstemp(tmp);    /* mode 0600, whatever the umask; VACUUM INTO keeps it */
	if (fd < 0)
		return fail("cannot create a file next to", file, strerror(errno));
	close(fd);
	rc = copy_verified(db, tmp, file, force, &info, err, sizeof(err));
	if (rc != 0) {
		unlink(tmp);
		return fail(err, NULL, NULL);
	}
	(void)sync_path(file, true);    /* the rename itself */
	report(db, file, &info, json);
	return EXIT_SUCCESS;
}
