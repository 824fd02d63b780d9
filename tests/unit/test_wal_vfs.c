/* test_wal_vfs.c - the ledger's SQLite VFS (store/sqlite/wal_vfs.c): the WAL frames of a
 * commit go out in one write, the file holds exactly the bytes SQLite wrote, and held frames
 * are written before anything else can look at the file.
 *
 * A counting VFS is made the default before the ledger's VFS wraps it, so the test sees
 * every write that reaches the real files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "db.h"
#include "db_int.h"

/* --- the counting VFS under it --------------------------------------------------------- */

static sqlite3_vfs *unix_vfs;
static sqlite3_vfs count_vfs;
static sqlite3_io_methods count_methods;
static const sqlite3_io_methods *unix_methods;
static int wal_writes, wal_writes_24, wal_writes_frame;
static long long wal_bytes;

struct count_file {
	sqlite3_file base;
	sqlite3_file *real;
	int wal;
};

static int
c_close(sqlite3_file *pf)
{
	struct count_file *f = (struct count_file *)pf;

	return f->real->pMethods->xClose(f->real);
}

static int
c_read(sqlite3_file *pf, void *b, int n, sqlite3_int64 o)
{
	struct count_file *f = (struct count_file *)pf;

	return f->real->pMethods->xRead(f->real, b, n, o);
}

static int
c_write(sqlite3_file *pf, const void *b, int n, sqlite3_int64 o)
{
	struct count_file *f = (struct count_file *)pf;

	if (f->wal) {
		wal_writes++;
		wal_bytes += n;
		wal_writes_24 += n == 24;
		wal_writes_frame += n == 24 + 4096;
	}
	return f->real->pMethods->xWrite(f->real, b, n, o);
}

static int c_truncate(sqlite3_file *pf, sqlite3_int64 s)
{ return ((struct count_file *)pf)->real->pMethods->xTruncate(((struct count_file *)pf)->real, s); }
static int c_sync(sqlite3_file *pf, int fl)
{ return ((struct count_file *)pf)->real->pMethods->xSync(((struct count_file *)pf)->real, fl); }
static int c_size(sqlite3_file *pf, sqlite3_int64 *s)
{ return ((struct count_file *)pf)->real->pMethods->xFileSize(((struct count_file *)pf)->real, s); }
static int c_lock(sqlite3_file *pf, int l)
{ return ((struct count_file *)pf)->real->pMethods->xLock(((struct count_file *)pf)->real, l); }
static int c_unlock(sqlite3_file *pf, int l)
{ return ((struct count_file *)pf)->real->pMethods->xUnlock(((struct count_file *)pf)->real, l); }
static int c_reserved(sqlite3_file *pf, int *o)
{ return ((struct count_file *)pf)->real->pMethods->xCheckReservedLock(((struct count_file *)pf)->real, o); }
static int c_fcntl(sqlite3_file *pf, int op, void *a)
{ return ((struct count_file *)pf)->real->pMethods->xFileControl(((struct count_file *)pf)->real, op, a); }
static int c_sector(sqlite3_file *pf)
{ return ((struct count_file *)pf)->real->pMethods->xSectorSize(((struct count_file *)pf)->real); }
static int c_dev(sqlite3_file *pf)
{ return ((struct count_file *)pf)->real->pMethods->xDeviceCharacteristics(((struct count_file *)pf)->real); }
static int c_shm_map(sqlite3_file *pf, int r, int s, int e, void volatile **o)
{ return ((struct count_file *)pf)->real->pMethods->xShmMap(((struct count_file *)pf)->real, r, s, e, o); }
static int c_shm_lock(sqlite3_file *pf, int o, int n, int fl)
{ return ((struct count_file *)pf)->real->pMethods->xShmLock(((struct count_file *)pf)->real, o, n, fl); }
static void c_shm_barrier(sqlite3_file *pf)
{ ((struct count_file *)pf)->real->pMethods->xShmBarrier(((struct count_file *)pf)->real); }
static int c_shm_unmap(sqlite3_file *pf, int d)
{ return ((struct count_file *)pf)->real->pMethods->xShmUnmap(((struct count_file *)pf)->real, d); }
static int c_fetch(sqlite3_file *pf, sqlite3_int64 o, int n, void **p)
{ return ((struct count_file *)pf)->real->pMethods->xFetch(((struct count_file *)pf)->real, o, n, p); }
static int c_unfetch(sqlite3_file *pf, sqlite3_int64 o, void *p)
{ return ((struct count_file *)pf)->real->pMethods->xUnfetch(((struct count_file *)pf)->real, o, p); }

static int
c_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out)
{
	struct count_file *f = (struct count_file *)pf;
	int rc;

	(void)vfs;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = unix_vfs->xOpen(unix_vfs, name, f->real, flags, out);
	if (rc != SQLITE_OK || f->real->pMethods == NULL) {
		f->base.pMethods = NULL;
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	unix_methods = f->real->pMethods;
	count_methods.iVersion = unix_methods->iVersion < 3 ? unix_methods->iVersion : 3;
	f->base.pMethods = &count_methods;
	return SQLITE_OK;
}

static int c_delete(sqlite3_vfs *v, const char *n, int s)
{ (void)v; return unix_vfs->xDelete(unix_vfs, n, s); }
static int c_access(sqlite3_vfs *v, const char *n, int fl, int *o)
{ (void)v; return unix_vfs->xAccess(unix_vfs, n, fl, o); }
static int c_full(sqlite3_vfs *v, const char *n, int len, char *o)
{ (void)v; return unix_vfs->xFullPathname(unix_vfs, n, len, o); }

static int
group_setup(void **state)
{
	(void)state;
	unix_vfs = sqlite3_vfs_find(NULL);
	if (unix_vfs == NULL)
		return -1;
	count_methods = (sqlite3_io_methods){ 3, c_close, c_read, c_write, c_truncate, c_sync,
		c_size, c_lock, c_unlock, c_reserved, c_fcntl, c_sector, c_dev, c_shm_map,
		c_shm_lock, c_shm_barrier, c_shm_unmap, c_fetch, c_unfetch };
	count_vfs = *unix_vfs;
	count_vfs.zName = "counting";
	count_vfs.pNext = NULL;
	count_vfs.szOsFile = (int)sizeof(struct count_file) + unix_vfs->szOsFile;
	count_vfs.xOpen = c_open;
	count_vfs.xDelete = c_delete;
	count_vfs.xAccess = c_access;
	count_vfs.xFullPathname = c_full;
	/* the default from now on: the ledger's VFS, made on first use, wraps it */
	return sqlite3_vfs_register(&count_vfs, 1) == SQLITE_OK ? 0 : -1;
}

/* --- the tests ---------------------------------------------------------------------------- */

static char dir[256], path[300];

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_wal_vfs.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/ledger.db", dir);
	wal_writes = wal_writes_24 = wal_writes_frame = 0;
	wal_bytes = 0;
	return 0;
}

static int
teardown(void **state)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal", ".raw" };
	char p[400];

	(void)state;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

/* The ledger's driver in WAL mode: every frame one write of header and page, none of a
 * header alone; what was committed reads back through a plain connection. */
static void
test_frames_one_write(void **state)
{
	struct db *db = NULL;
	struct db_stmt *s = NULL;
	char err[256];
	sqlite3 *plain = NULL;
	sqlite3_stmt *q = NULL;

	(void)state;
	assert_non_null(db_sqlite_vfs());
	assert_int_equal(db_open(path, DB_SQLITE, &db, err, sizeof(err)), 0);
	assert_int_equal(db_exec(db, "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;"
	    " CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"), 0);
	assert_int_equal(db_prepare(db, "INSERT INTO t (v) VALUES (?1)", &s), 0);
	for (int tx = 0; tx < 20; tx++) {
		assert_int_equal(db_exec(db, "BEGIN"), 0);
		for (int i = 0; i < 50; i++) {
			char v[600];

			memset(v, 'a' + (tx + i) % 26, sizeof(v) - 1);
			v[sizeof(v) - 1] = '\0';
			assert_int_equal(db_bind_text(s, 1, v), 0);
			assert_int_equal(db_step(s), DB_DONE);
			db_reset(s);
		}
		assert_int_equal(db_exec(db, "COMMIT"), 0);
	}
	db_finalize(s);
	/* several frames per commit, one write per commit (and one each for the WAL's own
	 * header and the CREATE TABLE's commit) */
	assert_true(wal_bytes > 20 * 5 * (24 + 4096));
	assert_true(wal_writes >= 20 && wal_writes <= 22);
	assert_int_equal(wal_writes_24, 0);
	/* the WAL is valid: another connection (the default VFS) reads every row */
	assert_int_equal(sqlite3_open_v2(path, &plain, SQLITE_OPEN_READONLY, "unix"), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(plain, "SELECT count(*), sum(length(v)) FROM t", -1,
	    &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 1000);
	assert_int_equal(sqlite3_column_int(q, 1), 1000 * 599);
	sqlite3_finalize(q);
	sqlite3_close(plain);
	/* and a checkpoint moves it into the database file */
	assert_int_equal(db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
	db_close(db);
}

/* Driven by hand: a held 24-byte header is written before any other call on the file
 * returns, and a header with its page is one write of both. */
static void
test_held_header(void **state)
{
	sqlite3_vfs *vfs;
	sqlite3_file *f;
	unsigned char hdr[24], hdr2[24], page[4096], back[4144 + 24];
	sqlite3_int64 size = 0;
	int out = 0;
	char wal[400];

	(void)state;
	assert_non_null(db_sqlite_vfs());
	vfs = sqlite3_vfs_find(db_sqlite_vfs());
	assert_non_null(vfs);
	f = calloc(1, (size_t)vfs->szOsFile);
	assert_non_null(f);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	{
		FILE *main_db = fopen(path, "wb");     /* a WAL file takes its database's mode */

		assert_non_null(main_db);
		fclose(main_db);
	}
	assert_int_equal(vfs->xOpen(vfs, wal, f, SQLITE_OPEN_WAL | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_READWRITE, &out), SQLITE_OK);
	memset(hdr, 'h', sizeof(hdr));
	memset(hdr2, 'H', sizeof(hdr2));
	memset(page, 'p', sizeof(page));

	/* a header alone: held, but the size already counts it */
	assert_int_equal(f->pMethods->xWrite(f, hdr, 24, 0), SQLITE_OK);
	assert_int_equal(wal_writes, 0);
	assert_int_equal(f->pMethods->xFileSize(f, &size), SQLITE_OK);
	assert_int_equal(size, 24);
	assert_int_equal(wal_writes, 1);
	/* a header and its page: one write */
	assert_int_equal(f->pMethods->xWrite(f, hdr, 24, 24), SQLITE_OK);
	assert_int_equal(f->pMethods->xWrite(f, page, 4096, 48), SQLITE_OK);
	assert_int_equal(wal_writes, 2);
	assert_int_equal(wal_writes_frame, 1);
	/* a header, then a write elsewhere: both, in order */
	assert_int_equal(f->pMethods->xWrite(f, hdr, 24, 4144), SQLITE_OK);
	assert_int_equal(f->pMethods->xWrite(f, page, 100, 9000), SQLITE_OK);
	assert_int_equal(wal_writes, 4);
	/* a header (another one at the same place), then a read of it: written first */
	assert_int_equal(f->pMethods->xWrite(f, hdr2, 24, 4144), SQLITE_OK);
	memset(back, 0, sizeof(back));
	assert_int_equal(f->pMethods->xRead(f, back, 4144 + 24, 0), SQLITE_OK);
	assert_memory_equal(back, hdr, 24);
	assert_memory_equal(back + 24, hdr, 24);
	assert_memory_equal(back + 48, page, 4096);
	assert_memory_equal(back + 4144, hdr2, 24);
	/* a header, then a sync, then a truncate: written before each */
	assert_int_equal(f->pMethods->xWrite(f, hdr, 24, 10000), SQLITE_OK);
	assert_int_equal(f->pMethods->xSync(f, SQLITE_SYNC_NORMAL), SQLITE_OK);
	assert_int_equal(f->pMethods->xFileSize(f, &size), SQLITE_OK);
	assert_int_equal(size, 10024);
	assert_int_equal(f->pMethods->xWrite(f, hdr, 24, 20000), SQLITE_OK);
	assert_int_equal(f->pMethods->xTruncate(f, 20024), SQLITE_OK);
	assert_int_equal(f->pMethods->xFileSize(f, &size), SQLITE_OK);
	assert_int_equal(size, 20024);
	/* a header, then close: written */
	assert_int_equal(f->pMethods->xWrite(f, hdr, 24, 30000), SQLITE_OK);
	assert_int_equal(f->pMethods->xClose(f), SQLITE_OK);
	free(f);
	{
		FILE *fp = fopen(wal, "rb");

		assert_non_null(fp);
		assert_int_equal(fseek(fp, 0, SEEK_END), 0);
		assert_int_equal(ftell(fp), 30024);
		assert_int_equal(fseek(fp, 30000, SEEK_SET), 0);
		assert_int_equal(fread(back, 1, 24, fp), 24);
		assert_memory_equal(back, hdr, 24);
		fclose(fp);
	}
}

/* A frame header as SQLite writes it: page number, then the database size after a commit
 * (0 in any other frame); the rest is filled with c. */
static void
frame_header(unsigned char hdr[24], unsigned pgno, unsigned commit_size, unsigned char c)
{
	memset(hdr, c, 24);
	hdr[0] = (unsigned char)(pgno >> 24);
	hdr[1] = (unsigned char)(pgno >> 16);
	hdr[2] = (unsigned char)(pgno >> 8);
	hdr[3] = (unsigned char)pgno;
	hdr[4] = (unsigned char)(commit_size >> 24);
	hdr[5] = (unsigned char)(commit_size >> 16);
	hdr[6] = (unsigned char)(commit_size >> 8);
	hdr[7] = (unsigned char)commit_size;
}

/* Driven by hand: frames are held until a commit frame's page, then written in one call; a
 * run longer than a mebibyte is written in parts; the file gets every byte in place. */
static void
test_run_of_frames(void **state)
{
	sqlite3_vfs *vfs;
	sqlite3_file *f;
	unsigned char hdr[24], page[4096], back[4120];
	const sqlite3_int64 frame = 24 + 4096, base = 32;
	unsigned char walhdr[32];
	int out = 0;
	char wal[400];

	(void)state;
	vfs = sqlite3_vfs_find(db_sqlite_vfs());
	assert_non_null(vfs);
	f = calloc(1, (size_t)vfs->szOsFile);
	assert_non_null(f);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	{
		FILE *main_db = fopen(path, "wb");

		assert_non_null(main_db);
		fclose(main_db);
	}
	assert_int_equal(vfs->xOpen(vfs, wal, f, SQLITE_OPEN_WAL | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_READWRITE, &out), SQLITE_OK);
	/* the WAL's own header is not a frame: written at once */
	memset(walhdr, 'w', sizeof(walhdr));
	assert_int_equal(f->pMethods->xWrite(f, walhdr, 32, 0), SQLITE_OK);
	assert_int_equal(wal_writes, 1);
	/* three frames, then a commit frame: nothing, then one write of all four */
	for (unsigned i = 0; i < 4; i++) {
		frame_header(hdr, i + 1, i == 3 ? 4 : 0, 'a' + (unsigned char)i);
		memset(page, 'A' + (int)i, sizeof(page));
		assert_int_equal(f->pMethods->xWrite(f, hdr, 24, base + i * frame), SQLITE_OK);
		assert_int_equal(f->pMethods->xWrite(f, page, 4096, base + i * frame + 24),
		    SQLITE_OK);
		assert_int_equal(wal_writes, i < 3 ? 1 : 2);
	}
	assert_int_equal(wal_bytes, 32 + 4 * frame);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(f->pMethods->xRead(f, back, (int)frame, base + i * frame),
		    SQLITE_OK);
		frame_header(hdr, i + 1, i == 3 ? 4 : 0, 'a' + (unsigned char)i);
		memset(page, 'A' + (int)i, sizeof(page));
		assert_memory_equal(back, hdr, 24);
		assert_memory_equal(back + 24, page, 4096);
	}
	wal_bytes = 0;
	/* 300 frames without a commit: written when the run passes a mebibyte, in parts the
	 * unix VFS takes (under 128 KiB), the rest held until the next call looks at the file */
	wal_writes = 0;
	for (unsigned i = 0; i < 300; i++) {
		sqlite3_int64 at = base + (4 + i) * frame;

		frame_header(hdr, i + 5, 0, 'x');
		assert_int_equal(f->pMethods->xWrite(f, hdr, 24, at), SQLITE_OK);
		assert_int_equal(f->pMethods->xWrite(f, page, 4096, at + 24), SQLITE_OK);
	}
	/* 255 frames (1,050,600 bytes) in parts of 131,071 bytes */
	assert_int_equal(wal_writes, (255 * 4120 + 131070) / 131071);
	assert_int_equal(wal_bytes, 255 * frame);
	{
		sqlite3_int64 size = 0;
		int before = wal_writes;

		assert_int_equal(f->pMethods->xFileSize(f, &size), SQLITE_OK);
		assert_int_equal(wal_writes, before + (45 * 4120 + 131070) / 131071);
		assert_int_equal(size, base + 304 * frame);
		assert_int_equal(f->pMethods->xRead(f, back, (int)frame, base + 303 * frame),
		    SQLITE_OK);
		frame_header(hdr, 304, 0, 'x');
		assert_memory_equal(back, hdr, 24);
		assert_memory_equal(back + 24, page, 4096);
	}
	assert_int_equal(f->pMethods->xClose(f), SQLITE_OK);
	free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_frames_one_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_of_frames, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
