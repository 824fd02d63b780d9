/* store_sync.c - the ledger's durability off the event loop (store.h, store_syncer_*).
 *
 * The event loop commits a pass with synchronous = NORMAL (SQLite writes the WAL frames,
 * no fsync) and asks for a sync; a thread of ours fdatasyncs the WAL file (its own
 * descriptor: fsync flushes the file, whichever descriptor asks) and tells the loop
 * through an eventfd. Only then are the pass's requests answered: the durability is the
 * same as synchronous = FULL, but the loop goes on with the next pass meanwhile and
 * consecutive passes share one fsync.
 *
 * The same thread checkpoints the WAL, on a connection of its own, after a sync, once
 * SYNCER_CHECKPOINT_FRAMES frames have come since its last checkpoint: the loop's
 * connection reports the WAL's length after each commit (its WAL hook, which replaces
 * SQLite's automatic checkpoint). A checkpoint copies pages into the database file and
 * syncs it; on the loop, in the commit that crossed 1,000 frames, that stopped everything
 * for as long, about a fifth of the loop's time under load. Here the loop goes on, and
 * only the next sync waits for it. It runs between two syncs, never beside one: a
 * checkpointer thread of its own was tried, and the database pages it kept writing made
 * every fdatasync of the WAL wait for them (ext4 orders the data of a file system's
 * journal commit). */
#include "store_int.h"
#include "db_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

/* The thread checkpoints once this many frames have come since its last checkpoint (half
 * SQLite's automatic 1,000: a sync that waits behind a checkpoint waits less; measured
 * better for both the latency and the throughput). */
#define SYNCER_CHECKPOINT_FRAMES 500
/* The WAL starts over only after a checkpoint that copied all of it, and the thread's
 * rarely do: the loop commits meanwhile. Once the WAL is this long, the thread asks the
 * loop to copy what is left after its next checkpoint (a pass or two), which lets the
 * WAL start over; at the second length the loop does it in any case. */
#define CATCH_UP_FRAMES 4000
#define LOOP_CHECKPOINT_FRAMES 16000

struct store_syncer {
	struct store *st;
	char *db_path;
	char *wal_path;
	int efd;                    /* eventfd: a sync finished */
	int wal_fd;                 /* the syncer thread's descriptor of the WAL, or -1 */
	dev_t wal_dev;
	ino_t wal_ino;
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* work for the syncer thread, or stop */
	pthread_cond_t done_cv;     /* a sync finished (store_syncer_wait) */
	uint64_t requested, done;
	int broken;                 /* sticky: a failed fdatasync (negative errno), or 0 */
	bool stop;
	bool sync_started;
	pthread_t sync_thread;
	sqlite3 *ckpt_db;           /* the thread's connection for checkpoints, or NULL */
	sqlite3 *loop_db;           /* the loop's connection, whose WAL hook reports here */
	atomic_int wal_frames;      /* the WAL's frames after the loop's last commit */
	atomic_bool catch_up;       /* the loop should checkpoint what is left */
	int ckpt_mark;              /* the frames the thread's last checkpoint copied */
	int db_fd;                  /* the thread's descriptor of the database file, or -1 */
	atomic_ulong checkpoints;   /* made by the thread */
	atomic_ulong checkpoint_failures;
};

/* (Re)open the WAL when it is not open or was replaced. Returns 0 or a negative errno. */
static int
wal_open(struct store_syncer *s)
{
	struct stat sb;

	if (s->wal_fd >= 0 && stat(s->wal_path, &sb) == 0 && sb.st_dev == s->wal_dev &&
	    sb.st_ino == s->wal_ino)
		return 0;
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	s->wal_fd = open(s->wal_path, O_RDONLY | O_CLOEXEC);
	if (s->wal_fd < 0)
		return -errno;
	if (fstat(s->wal_fd, &sb) != 0)
		return -errno;
	s->wal_dev = sb.st_dev;
	s->wal_ino = sb.st_ino;
	return 0;
}

/* One fdatasync of the WAL (once more after a failure, then the error). */
static int
wal_sync(struct store_syncer *s)
{
	int rc = wal_open(s);

	if (rc == -ENOENT)
		return 0;   /* no WAL (nothing written since it was checkpointed away) */
	if (rc == 0 && fdatasync(s->wal_fd) != 0)
		rc = -errno;
	if (rc != 0 && rc != -ENOENT) {
		if (s->wal_fd >= 0)
			close(s->wal_fd);
		s->wal_fd = -1;
		rc = wal_open(s);
		if (rc == 0 && fdatasync(s->wal_fd) != 0)
			rc = -errno;
	}
	return rc == -ENOENT ? 0 : rc;
}

/* The loop's connection after each commit (on the loop): the WAL's length. When the
 * thread asks (or the WAL grew too long anyway), the loop checkpoints what is left: the
 * only writer, it copies all of it, so its next transaction starts the WAL over. */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store_syncer *s = arg;

	atomic_store(&s->wal_frames, frames);
	if (atomic_exchange(&s->catch_up, false) || frames >= LOOP_CHECKPOINT_FRAMES)
		(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

/* On the syncer thread, with nothing else to sync: checkpoint the WAL when it is long
 * enough (PASSIVE: the loop's readers and writer go on meanwhile). A failure leaves the
 * frames for the next time. */
static void
checkpoint_maybe(struct store_syncer *s)
{
	int frames = atomic_load(&s->wal_frames), log = 0, done = 0, rc;

	if (frames < s->ckpt_mark)
		s->ckpt_mark = 0;         /* the WAL started over */
	if (s->ckpt_db == NULL || frames - s->ckpt_mark < SYNCER_CHECKPOINT_FRAMES)
		return;
	rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, "main", SQLITE_CHECKPOINT_PASSIVE, &log,
	    &done);
	if (rc == SQLITE_BUSY)
		return;                   /* the loop's is running: the next time */
	if (rc != SQLITE_OK) {
		atomic_fetch_add(&s->checkpoint_failures, 1);
		return;
	}
	atomic_fetch_add(&s->checkpoints, 1);
	/* SQLite syncs the database file only after a checkpoint that copied all of the WAL;
	 * syncing what this one copied here leaves the loop's catch-up little to sync */
	if (done > s->ckpt_mark && s->db_fd >= 0 && fdatasync(s->db_fd) != 0)
		atomic_fetch_add(&s->checkpoint_failures, 1);
	/* the next one when as many frames again have come */
	s->ckpt_mark = done > 0 ? done : frames;
	if (frames >= CATCH_UP_FRAMES)
		atomic_store(&s->catch_up, true);
}

static void *
sync_main(void *arg)
{
	struct store_syncer *s = arg;
	uint64_t one = 1, target;
	int rc;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->stop && s->requested == s->done)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->requested == s->done)
			break;   /* stop, and nothing left to sync */
		target = s->requested;
		pthread_mutex_unlock(&s->mu);
		rc = wal_sync(s);
		pthread_mutex_lock(&s->mu);
		if (rc != 0 && s->broken == 0)
			s->broken = rc;
		s->done = target;
		pthread_cond_broadcast(&s->done_cv);
		if (write(s->efd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
			/* the counter is saturated: the loop wakes up anyway */
		}
		/* after the answer, before the next sync */
		if (rc == 0 && !s->stop) {
			pthread_mutex_unlock(&s->mu);
			checkpoint_maybe(s);
			pthread_mutex_lock(&s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* The thread's own connection to the ledger, for checkpoints (the same VFS; it only
 * checkpoints, so the loop's page cache stays valid). Returns 0 or a negative errno. */
static int
checkpointer_open(struct store_syncer *s)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(s->db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	    db_sqlite_vfs());
	/* a checkpoint syncs the WAL before and the database file after it */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close(db);
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	s->ckpt_db = db;
	s->db_fd = open(s->db_path, O_RDONLY | O_CLOEXEC);
	return s->db_fd >= 0 ? 0 : -errno;
}

int
store_syncer_new(struct store *st, struct store_syncer **out)
{
	struct store_syncer *s;
	const char *path;
	size_t n;
	int rc = -ENOMEM;

	*out = NULL;
	if (db_sqlite_handle(st->db) == NULL)
		return -ENOTSUP;  /* PostgreSQL: the server makes each commit durable */
	path = sqlite3_db_filename(db_sqlite_handle(st->db), "main");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->st = st;
	s->efd = -1;
	s->wal_fd = -1;
	s->db_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->done_cv, NULL);
	if (path == NULL || *path == '\0') {
		rc = -EINVAL;   /* an in-memory or temporary ledger: nothing to sync */
		goto fail;
	}
	n = strlen(path) + sizeof("-wal");
	if ((s->db_path = strdup(path)) == NULL || (s->wal_path = malloc(n)) == NULL)
		goto fail;
	snprintf(s->wal_path, n, "%s-wal", path);
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = checkpointer_open(s)) != 0)
		goto fail;
	if ((rc = -pthread_create(&s->sync_thread, NULL, sync_main, s)) != 0)
		goto fail;
	s->sync_started = true;
	/* from now on the WAL is checkpointed here, not by the loop's commits */
	s->loop_db = db_sqlite_handle(st->db);
	sqlite3_wal_hook(s->loop_db, wal_hook, s);
	*out = s;
	return 0;
fail:
	store_syncer_destroy(s);
	return rc;
}

int
store_syncer_fd(const struct store_syncer *s)
{
	return s->efd;
}

uint64_t
store_syncer_request(struct store_syncer *s)
{
	uint64_t gen;

	pthread_mutex_lock(&s->mu);
	gen = ++s->requested;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return gen;
}

int
store_syncer_collect(struct store_syncer *s, uint64_t *done)
{
	uint64_t v;
	int broken;

	while (read(s->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
	pthread_mutex_lock(&s->mu);
	*done = s->done;
	broken = s->broken;
	pthread_mutex_unlock(&s->mu);
	return broken;
}

int
store_syncer_wait(struct store_syncer *s, uint64_t gen)
{
	int broken;

	pthread_mutex_lock(&s->mu);
	while (s->done < gen)
		pthread_cond_wait(&s->done_cv, &s->mu);
	broken = s->broken;
	pthread_mutex_unlock(&s->mu);
	return broken;
}

void
store_syncer_checkpoints(struct store_syncer *s, uint64_t *made, uint64_t *failed)
{
	*made = atomic_load(&s->checkpoints);
	*failed = atomic_load(&s->checkpoint_failures);
}

void
store_syncer_destroy(struct store_syncer *s)
{
	if (s == NULL)
		return;
	/* the loop's connection checkpoints by itself again (and no longer reports here) */
	if (s->loop_db != NULL && db_sqlite_handle(s->st->db) == s->loop_db)
		sqlite3_wal_autocheckpoint(s->loop_db, 1000);   /* SQLite's default */
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->sync_started)
		pthread_join(s->sync_thread, NULL);
	sqlite3_close(s->ckpt_db);
	if (s->efd >= 0)
		close(s->efd);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	if (s->db_fd >= 0)
		close(s->db_fd);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->done_cv);
	pthread_mutex_destroy(&s->mu);
	free(s->db_path);
	free(s->wal_path);
	free(s);
}
