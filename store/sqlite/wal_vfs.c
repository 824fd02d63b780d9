/* wal_vfs.c - SQLite's default VFS, with the WAL frames of a commit written in one system
 * call.
 *
 * SQLite appends a frame to the write-ahead log as two writes: its 24-byte header, then the
 * page right after it, and a commit of the ingest path writes a hundred frames or more. On
 * a virtual machine a system call is not cheap: that was two pwrite64 calls per frame, half
 * of all the system calls per accepted event. This VFS passes everything through to the
 * default one (unix), except that on a WAL file it holds a run of contiguous frames and
 * writes them in one call: when the run ends with a commit frame (the only frames whose
 * header gives the database size), or reaches WAL_RUN_MAX. So the commit's last write
 * returns only once all its frames are written, and a failed write is SQLite's to see, as
 * before: it rolls the transaction back. Anything else on the file (another write, a read,
 * a sync, a truncate, the size, a lock, a shared-memory call, closing) first writes what is
 * held, as it was. The file holds the same bytes in the same order, and nothing can see a
 * held frame except through this file handle, which writes it first. */
#include "db_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#define WAL_FRAME_HEADER 24
#define WAL_RUN_MAX (1024 * 1024)   /* a longer run of frames is written in parts */
/* The most the unix VFS writes in one call: os_unix.c masks a write's length with 0x1ffff
 * (SQLite itself never writes more than a page at a time), so a run goes out in parts of
 * at most this. */
#define WAL_WRITE_MAX 0x1ffff
#define WAL_VFS_NAME "incidentd-unix"

struct wal_file {
	sqlite3_file base;            /* our methods */
	sqlite3_file *real;           /* the default VFS's file (allocated after this) */
	unsigned char *run;           /* held frames: run_len bytes to write at run_off */
	size_t run_len, run_cap;
	sqlite3_int64 run_off;
	int header_open;              /* the run ends with a header whose page comes next */
};

static sqlite3_vfs wal_vfs;
static sqlite3_vfs *real_vfs;
static sqlite3_io_methods wal_methods;

/* Write the held frames, if any. Returns SQLITE_OK or the write's error; on an error the
 * frames are dropped (SQLite sees the error and rolls their transaction back), or kept
 * with keep (for a caller that cannot report it: the next call on the file sees it). */
static int
wal_flush_run(struct wal_file *f, int keep)
{
	size_t done = 0;
	int rc = SQLITE_OK;

	while (rc == SQLITE_OK && done < f->run_len) {
		size_t n = f->run_len - done < WAL_WRITE_MAX ? f->run_len - done : WAL_WRITE_MAX;

		rc = f->real->pMethods->xWrite(f->real, f->run + done, (int)n,
		    f->run_off + (sqlite3_int64)done);
		done += n;
	}
	if (rc == SQLITE_OK || !keep) {
		f->run_len = 0;
		f->header_open = 0;
	}
	return rc;
}

static int
wal_flush(struct wal_file *f)
{
	return wal_flush_run(f, 0);
}

/* Add n bytes to the run (its room grows as needed). Returns 0, or -1 when out of memory
 * (the caller then writes instead). */
static int
run_append(struct wal_file *f, const void *buf, int n)
{
	size_t need = f->run_len + (size_t)n;

	if (need > f->run_cap) {
		size_t cap = f->run_cap ? f->run_cap * 2 : 65536;
		unsigned char *p;

		while (cap < need)
			cap *= 2;
		if ((p = realloc(f->run, cap)) == NULL)
			return -1;
		f->run = p;
		f->run_cap = cap;
	}
	memcpy(f->run + f->run_len, buf, (size_t)n);
	f->run_len = need;
	return 0;
}

/* Start or extend the run with a frame header (its page comes next). */
static int
run_header(struct wal_file *f, const unsigned char *hdr)
{
	if (run_append(f, hdr, WAL_FRAME_HEADER) != 0)
		return -1;
	f->header_open = 1;
	return 0;
}

/* Whether the header that ends the run is a commit frame's: its bytes 4-7 hold the
 * database size in pages after the commit, 0 in any other frame. */
static int
open_header_commits(const struct wal_file *f)
{
	const unsigned char *hdr = f->run + f->run_len - WAL_FRAME_HEADER;

	return (hdr[4] | hdr[5] | hdr[6] | hdr[7]) != 0;
}

static int
wal_close(sqlite3_file *pf)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f), rc2 = f->real->pMethods->xClose(f->real);

	free(f->run);
	f->run = NULL;
	f->run_cap = 0;
	return rc != SQLITE_OK ? rc : rc2;
}

static int
wal_read(sqlite3_file *pf, void *buf, int n, sqlite3_int64 off)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, buf, n, off);
}

static int
wal_write(sqlite3_file *pf, const void *buf, int n, sqlite3_int64 off)
{
	struct wal_file *f = (struct wal_file *)pf;
	sqlite3_int64 end = f->run_off + (sqlite3_int64)f->run_len;
	int rc;

	if (f->run_len > 0 && off == end) {
		int commit = f->header_open && open_header_commits(f);

		if (f->header_open && n != WAL_FRAME_HEADER && run_append(f, buf, n) == 0) {
			/* the page of the header that ends the run: a commit's last frame, or a
			 * long run, goes out now */
			f->header_open = 0;
			return commit || f->run_len >= WAL_RUN_MAX ? wal_flush(f) : SQLITE_OK;
		}
		if (!f->header_open && n == WAL_FRAME_HEADER && run_header(f, buf) == 0)
			return SQLITE_OK;      /* the next frame's header */
	}
	/* anything else: what is held first, then this (a frame header starts a run) */
	if ((rc = wal_flush(f)) != SQLITE_OK)
		return rc;
	if (n == WAL_FRAME_HEADER) {
		f->run_off = off;
		if (run_header(f, buf) == 0)
			return SQLITE_OK;
	}
	return f->real->pMethods->xWrite(f->real, buf, n, off);
}

static int
wal_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int
wal_sync(sqlite3_file *pf, int flags)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int
wal_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int
wal_lock(sqlite3_file *pf, int level)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xLock(f->real, level);
}

static int
wal_unlock(sqlite3_file *pf, int level)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xUnlock(f->real, level);
}

static int
wal_check_reserved(sqlite3_file *pf, int *out)
{
	struct wal_file *f = (struct wal_file *)pf;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
wal_file_control(sqlite3_file *pf, int op, void *arg)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
wal_sector_size(sqlite3_file *pf)
{
	struct wal_file *f = (struct wal_file *)pf;

	return f->real->pMethods->xSectorSize(f->real);
}

static int
wal_device_characteristics(sqlite3_file *pf)
{
	struct wal_file *f = (struct wal_file *)pf;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int
wal_shm_map(sqlite3_file *pf, int region, int size, int extend, void volatile **out)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xShmMap(f->real, region, size, extend,
	    out);
}

static int
wal_shm_lock(sqlite3_file *pf, int offset, int n, int flags)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void
wal_shm_barrier(sqlite3_file *pf)
{
	struct wal_file *f = (struct wal_file *)pf;

	/* the WAL index is about to say the frames are there: they must be (a commit wrote
	 * them already). A failed write here is seen again by the next call on the file (the
	 * frames are still held). */
	(void)wal_flush_run(f, 1);
	f->real->pMethods->xShmBarrier(f->real);
}

static int
wal_shm_unmap(sqlite3_file *pf, int del)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xShmUnmap(f->real, del);
}

static int
wal_fetch(sqlite3_file *pf, sqlite3_int64 off, int n, void **out)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc = wal_flush(f);

	*out = NULL;                    /* no memory map: SQLite reads instead */
	if (rc != SQLITE_OK || f->real->pMethods->iVersion < 3)
		return rc;
	return f->real->pMethods->xFetch(f->real, off, n, out);
}

static int
wal_unfetch(sqlite3_file *pf, sqlite3_int64 off, void *p)
{
	struct wal_file *f = (struct wal_file *)pf;

	if (f->real->pMethods->iVersion < 3)
		return SQLITE_OK;
	return f->real->pMethods->xUnfetch(f->real, off, p);
}

/* The VFS's own methods that get a VFS pointer: the default one's, with the default one. */
static int
wal_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int
wal_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int
wal_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

/* Open with the default VFS; a WAL file gets our methods over the real ones. */
static int
wal_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out_flags)
{
	struct wal_file *f = (struct wal_file *)pf;
	int rc;

	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		return real_vfs->xOpen(real_vfs, name, pf, flags, out_flags);
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK || f->real->pMethods == NULL) {
		f->base.pMethods = NULL;        /* nothing to close */
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	if (f->real->pMethods->iVersion < 2) {     /* no shared memory: no WAL */
		f->real->pMethods->xClose(f->real);
		f->base.pMethods = NULL;
		return SQLITE_CANTOPEN;
	}
	f->base.pMethods = &wal_methods;
	return SQLITE_OK;
}

static pthread_once_t wal_vfs_once = PTHREAD_ONCE_INIT;
static int wal_vfs_rc = SQLITE_ERROR;

static void
wal_vfs_init(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (real_vfs == NULL)
		return;
	wal_methods = (sqlite3_io_methods){
		.iVersion = 3,
		.xClose = wal_close,
		.xRead = wal_read,
		.xWrite = wal_write,
		.xTruncate = wal_truncate,
		.xSync = wal_sync,
		.xFileSize = wal_file_size,
		.xLock = wal_lock,
		.xUnlock = wal_unlock,
		.xCheckReservedLock = wal_check_reserved,
		.xFileControl = wal_file_control,
		.xSectorSize = wal_sector_size,
		.xDeviceCharacteristics = wal_device_characteristics,
		.xShmMap = wal_shm_map,
		.xShmLock = wal_shm_lock,
		.xShmBarrier = wal_shm_barrier,
		.xShmUnmap = wal_shm_unmap,
		.xFetch = wal_fetch,
		.xUnfetch = wal_unfetch,
	};
	wal_vfs = *real_vfs;               /* everything else is the default VFS's */
	wal_vfs.zName = WAL_VFS_NAME;
	wal_vfs.pNext = NULL;
	wal_vfs.szOsFile = (int)sizeof(struct wal_file) + real_vfs->szOsFile;
	wal_vfs.xOpen = wal_open;
	wal_vfs.xDelete = wal_delete;
	wal_vfs.xAccess = wal_access;
	wal_vfs.xFullPathname = wal_full_pathname;
	wal_vfs_rc = sqlite3_vfs_register(&wal_vfs, 0);
}

const char *
db_sqlite_vfs(void)
{
	pthread_once(&wal_vfs_once, wal_vfs_init);
	return wal_vfs_rc == SQLITE_OK ? WAL_VFS_NAME : NULL;
}
