/* store_sync.c - the ledger's durability off the event loop (store.h, store_syncer_*).
 *
 * The event loop commits a pass with synchronous = NORMAL (SQLite writes the WAL frames,
 * no fsync) and asks for a sync; a thread of ours fdatasyncs the WAL file (its own
 * descriptor: fsync flushes the file, whichever descriptor asks) and tells the loop
 * through an eventfd. Only then are the pass's requests answered: the durability is the
 * same as synchronous = FULL, but the loop goes on with the next pass meanwhile and
 * consecutive passes share one fsync. Checkpoints stay SQLite's automatic ones on the
 * loop: a checkpointer thread was tried, and the database pages it kept writing made every
 * fdatasync of the WAL wait for them (ext4 orders the data of a file system's journal
 * commit), which cost far more latency than the checkpoints themselves. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

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
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
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
	if ((rc = -pthread_create(&s->sync_thread, NULL, sync_main, s)) != 0)
		goto fail;
	s->sync_started = true;
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
store_syncer_destroy(struct store_syncer *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->sync_started)
		pthread_join(s->sync_thread, NULL);
	if (s->efd >= 0)
		close(s->efd);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->done_cv);
	pthread_mutex_destroy(&s->mu);
	free(s->db_path);
	free(s->wal_path);
	free(s);
}
