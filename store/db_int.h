/* db_int.h - what a db.h driver implements. db.c checks arguments and dispatches through
 * the connection's ops; each driver embeds struct db / struct db_stmt as the first member
 * of its own connection and statement types. Not for use outside store/db*.c. */
#ifndef INCIDENTD_DB_INT_H
#define INCIDENTD_DB_INT_H

#include "db.h"

struct db_ops {
	/* connection */
	void (*close)(struct db *db);
	bool (*in_transaction)(const struct db *db);
	int (*exec)(struct db *db, const char *sql);
	int (*prepare)(struct db *db, const char *sql, struct db_stmt **out);
	/* statement (each as the db.h function of the same name) */
	void (*finalize)(struct db_stmt *s);
	int (*bind_int64)(struct db_stmt *s, int idx, int64_t v);
	int (*bind_text)(struct db_stmt *s, int idx, const char *v, bool copy);
	int (*bind_null)(struct db_stmt *s, int idx);
	int (*step)(struct db_stmt *s);
	void (*reset)(struct db_stmt *s);
	int64_t (*changes)(struct db_stmt *s);
	int (*column_count)(struct db_stmt *s);
	const char *(*column_name)(struct db_stmt *s, int col);
	bool (*column_is_null)(struct db_stmt *s, int col);
	bool (*column_is_integer)(struct db_stmt *s, int col);
	int64_t (*column_int64)(struct db_stmt *s, int col);
	const char *(*column_text)(struct db_stmt *s, int col);
};

struct db {
	const struct db_ops *ops;
	enum db_kind kind;
	char errmsg[512];
};

struct db_stmt {
	struct db *db;
};

/* Drivers' connect functions (db_open() picks one). Return 0 and *out or -errno with a
 * message in err (never the password). */
int db_sqlite_open(const char *path, struct db **out, char *err, size_t errlen);
int db_pg_open(const char *conninfo, struct db **out, char *err, size_t errlen);

/* The name of the SQLite VFS the ledger opens with (sqlite/wal_vfs.c: the default one,
 * each WAL frame written in one system call), registered on first use; NULL (then the
 * default VFS) if it cannot be. Thread-safe; no callbacks. */
const char *db_sqlite_vfs(void);

#endif
