/* test_backup.c - the online copy of the ledger (store_backup) and its check
 * (store_verify): a snapshot of what was committed, taken while a writer is busy, that
 * passes integrity_check and has incremental auto-vacuum; damaged copies are refused. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include <cmocka.h>

#include "event.h"
#include "store.h"

#define T0 1770692472000LL

struct fixture {
	char dir[256];
	char path[300];
	char copy[300];
	struct store *st;
};

static void
unlink_db(const char *path)
{
	char p[350];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", path);
	unlink(p);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	char err[256];

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test_backup.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/ledger.db", f->dir);
	snprintf(f->copy, sizeof(f->copy), "%s/copy.db", f->dir);
	if (store_open(f->path, &f->st, err, sizeof(err)) != 0) {
		print_error("store_open: %s\n", err);
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	unlink_db(f->path);
	unlink_db(f->copy);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
add_event(struct store *st, const char *app)
{
	struct ievent *ev = ievent_new("argocd");
	int64_t req = 0;

	assert_non_null(ev);
	assert_int_equal(ievent_set(&ev->status, "firing"), 0);
	assert_int_equal(ievent_set(&ev->app, app), 0);
	ev->received_at = ev->occurred_at = T0;
	ev->payload = json_pack("{s:s}", "app", app);
	assert_int_equal(store_insert_request(st, "argocd", T0, "sha", NULL, &req), 0);
	assert_int_equal(store_insert_event(st, ev, req, NULL), 0);
	ievent_destroy(ev);
}

/* An empty file only its owner may read, as incidentctl backup makes it. */
static void
make_target(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	close(fd);
}

static void
raw_text(const char *path, const char *sql, char *out, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	out[0] = '\0';
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* The copy is what was committed when it began: a transaction still open on the writer's
 * connection is not in it, and the writer is not held up. */
static void
test_backup_snapshot(void **state)
{
	struct fixture *f = *state;
	struct store_copy_info info;
	struct stat sb;
	char err[512], buf[64];

	for (int i = 0; i < 20; i++)
		add_event(f->st, "committed");
	assert_int_equal(store_begin(f->st), 0);
	add_event(f->st, "not-yet");
	make_target(f->copy);
	if (store_backup(f->path, f->copy, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	add_event(f->st, "not-yet");               /* the writer goes on meanwhile */
	assert_int_equal(store_commit(f->st), 0);

	assert_int_equal(store_verify(f->copy, &info, err, sizeof(err)), 0);
	assert_int_equal(info.events, 20);
	assert_int_equal(info.incidents, 0);
	assert_int_equal(info.deliveries, 0);
	assert_int_equal(info.schema, STORE_SCHEMA_VERSION);
	raw_text(f->copy, "PRAGMA auto_vacuum", buf, sizeof(buf));
	assert_string_equal(buf, "2");
	raw_text(f->copy, "SELECT count(*) FROM events WHERE app = 'not-yet'", buf,
	    sizeof(buf));
	assert_string_equal(buf, "0");
	assert_int_equal(stat(f->copy, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* the daemon opens a restored copy as its ledger */
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->copy, &f->st, err, sizeof(err)), 0);
	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
}

/* A target that is not empty is refused and left alone; a missing ledger is an error. */
static void
test_backup_refuses(void **state)
{
	struct fixture *f = *state;
	char err[512], missing[350];
	struct stat sb;
	FILE *fp;

	add_event(f->st, "a");
	fp = fopen(f->copy, "w");
	assert_non_null(fp);
	fputs("precious", fp);
	fclose(fp);
	assert_true(store_backup(f->path, f->copy, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot copy"));
	assert_int_equal(stat(f->copy, &sb), 0);
	assert_int_equal(sb.st_size, 8);
	unlink(f->copy);

	snprintf(missing, sizeof(missing), "%s/nope.db", f->dir);
	assert_true(store_backup(missing, f->copy, err, sizeof(err)) < 0);
	assert_int_equal(access(missing, F_OK), -1);   /* not created by the attempt */
}

/* A damaged copy fails the check with SQLite's complaint; so does a file that is not a
 * database. */
static void
test_verify_damaged(void **state)
{
	struct fixture *f = *state;
	struct store_copy_info info;
	char err[512], page[4096];
	struct stat sb;
	FILE *fp;

	for (int i = 0; i < 200; i++)
		add_event(f->st, "a");
	make_target(f->copy);
	if (store_backup(f->path, f->copy, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(store_verify(f->copy, &info, err, sizeof(err)), 0);
	/* scribble over a page in the middle of the file (the events table's) */
	memset(page, 0x5a, sizeof(page));
	assert_int_equal(stat(f->copy, &sb), 0);
	fp = fopen(f->copy, "r+");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, sb.st_size / 4096 / 2 * 4096, SEEK_SET), 0);
	assert_int_equal(fwrite(page, 1, sizeof(page), fp), sizeof(page));
	fclose(fp);
	assert_true(store_verify(f->copy, &info, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, f->copy));

	fp = fopen(f->copy, "w");
	assert_non_null(fp);
	fputs("this is not an SQLite database, but long enough to have a header .........\n",
	    fp);
	fclose(fp);
	assert_true(store_verify(f->copy, &info, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, f->copy));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backup_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_damaged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
