/* db_pg.c - the db.h driver for PostgreSQL over libpq (synchronous calls, no threads).
 *
 * Statements are prepared on the server (PQprepare, one name per statement and
 * connection) after the numbered parameters `?N` are rewritten to `$N`; they run with
 * PQexecPrepared, parameters and results in text form. A run's whole result is kept until
 * the statement is reset, so db_step() only walks its rows (queries bound theirs with
 * LIMIT). Where this differs from SQLite: a parameter without a number (`?`, `:name`) is
 * refused; the columns are known from the first db_step() on, not from db_prepare();
 * db_step() after DB_DONE answers DB_DONE again until db_reset() (SQLite runs the
 * statement again); db_changes() after a SELECT is the rows it returned; a failed
 * statement aborts the whole transaction it is in; db_finalize() deallocates the
 * statement on the server (one round trip).
 *
 * The session is set up as the store expects on every engine: TimeZone UTC,
 * client_encoding UTF8 (incidentd's strings are UTF-8), standard_conforming_strings on
 * (a backslash in '...' is a backslash, as in SQLite), and application_name incidentd
 * unless the connection string (or PGAPPNAME) names one. */
#include "db_int.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

/* Type OIDs (PostgreSQL's catalog/pg_type.dat; fixed since the beginning) */
#define PG_OID_BOOL 16
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_TEXT 25

/* The protocol's limit on the parameters of one statement */
#define PG_MAX_PARAMS 65535

/* Reconnection attempts while the server is away: the first at once, then after 1 s,
 * doubling up to 10 s between the end of one attempt and the start of the next. An
 * attempt blocks for at most connect_timeout (5 s unless the connection string says
 * otherwise), so an unreachable server holds the event loop at most a third of the time
 * instead of all of it. */
#define PG_RECONNECT_MIN_MS 1000
#define PG_RECONNECT_MAX_MS 10000

struct pg {
	struct db base;
	PGconn *conn;
	uint64_t stmt_seq;      /* names the connection's statements: incidentd_1, _2, ... */
	uint64_t session;       /* counts the sessions (a reconnection starts a new one) */
	int64_t next_reset_ms;  /* no reconnection attempt before (monotonic ms) */
	int64_t backoff_ms;     /* the wait after the next failed attempt */
	bool read_only;         /* the server said the session cannot write: reconnect */
};

struct pg_stmt {
	struct db_stmt base;
	char name[32];
	int nparams;
	const char **values;    /* what PQexecPrepared sends: NULL is SQL NULL */
	char **copies;          /* values[i] owned by the statement (db_bind_text_copy) */
	char (*ints)[24];       /* values[i] formatted by db_bind_int64 */
	PGresult *res;          /* the last run's result; NULL before the first step */
	int next_row;           /* the row db_step() returns next */
	char *text;             /* the statement as prepared ($N), to prepare it again */
	Oid *types;             /* declared parameter types (NULL: all inferred) */
	uint64_t session;       /* the session it is prepared in */
};

static PGconn *
conn_of(struct db *db)
{
	return ((struct pg *)db)->conn;
}

static struct pg_stmt *
pst(struct db_stmt *s)
{
	return (struct pg_stmt *)s;
}

/* Copy src into dst as one line: every run of white space (line breaks, tabs) becomes
 * one space, leading and trailing space dropped. */
static void
one_line(char *dst, size_t len, const char *src)
{
	size_t n = 0;
	bool space = false;

	for (; *src != '\0' && n + 1 < len; src++) {
		if (*src == ' ' || *src == '\t' || *src == '\n' || *src == '\r') {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < len)
			dst[n++] = ' ';
		space = false;
		dst[n++] = *src;
	}
	dst[n] = '\0';
}

/* Copy src into dst with every occurrence of secret replaced by "***". */
static void
copy_redacted(char *dst, size_t len, const char *src, const char *secret)
{
	size_t slen = secret != NULL ? strlen(secret) : 0, n = 0;

	while (*src != '\0' && n + 1 < len) {
		if (slen > 0 && strncmp(src, secret, slen) == 0) {
			n += (size_t)snprintf(dst + n, len - n, "***");
			if (n >= len)
				n = len - 1;
			src += slen;
			continue;
		}
		dst[n++] = *src++;
	}
	dst[n] = '\0';
}

/* Map a failed libpq call (res: its result, or NULL) to a negative errno and keep the
 * server's message, one line. Returns 0 when res is a success. */
static int
pg_error(struct db *db, const PGresult *res)
{
	PGconn *c = conn_of(db);
	const char *state = NULL, *msg = NULL;
	char line[sizeof(db->errmsg)];

	if (res != NULL) {
		switch (PQresultStatus(res)) {
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
		case PGRES_EMPTY_QUERY:
			return 0;
		default:
			break;
		}
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		if (msg == NULL || *msg == '\0')
			msg = PQresultErrorMessage(res);
	}
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(c);
	one_line(line, sizeof(line), msg);
	if (line[0] == '\0')
		snprintf(line, sizeof(line), "unexpected answer from the server (%s)",
		    res != NULL ? PQresStatus(PQresultStatus(res)) : "none");
	if (state != NULL)
		db_set_errmsg(db, "%s (SQLSTATE %s)", line, state);
	else
		db_set_errmsg(db, "%s", line);

	if (PQstatus(c) != CONNECTION_OK || (state != NULL && strncmp(state, "08", 2) == 0))
		return -ENOTCONN;
	if (state != NULL && strcmp(state, "25006") == 0) {     /* read_only_sql_transaction */
		/* a standby, or a primary that became one: another session (libpq's
		 * target_session_attrs=read-write) finds the one that writes */
		((struct pg *)db)->read_only = true;
		return -ENOTCONN;
	}
	if (res == NULL)        /* libpq could not even make a result */
		return -ENOMEM;
	if (state == NULL)      /* libpq's own errors: "out of memory", protocol trouble */
		return strstr(line, "out of memory") != NULL ? -ENOMEM : -EIO;
	if (strcmp(state, "23505") == 0)                        /* unique_violation */
		return -EEXIST;
	if (strcmp(state, "40001") == 0 ||                      /* serialization_failure */
	    strcmp(state, "40P01") == 0 ||                      /* deadlock_detected */
	    strcmp(state, "55P03") == 0)                        /* lock_not_available */
		return -EBUSY;
	if (strcmp(state, "53200") == 0)                        /* out_of_memory */
		return -ENOMEM;
	return -EIO;
}

/* Server notices (NOTICE, WARNING, ...) go to the log, never to stderr by themselves. */
static void
pg_notice(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	(void)arg;
	if (msg == NULL)
		return;
	log_msg(sev != NULL && strcmp(sev, "WARNING") == 0 ? LOG_LVL_WARN : LOG_LVL_DEBUG,
	    "store", "PostgreSQL %s: %s", sev != NULL ? sev : "NOTICE", msg);
}

/* A COPY to or from the client (db_exec only; a prepared statement cannot be one) leaves
 * the connection in copy mode: end it and read what is left. */
static void
pg_end_copy(PGconn *c, const PGresult *res)
{
	PGresult *r;
	char *buf;

	if (PQresultStatus(res) == PGRES_COPY_IN)
		PQputCopyEnd(c, "incidentd does not send COPY data");
	else if (PQresultStatus(res) == PGRES_COPY_OUT)
		while (PQgetCopyData(c, &buf, 0) > 0)
			PQfreemem(buf);
	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What every session needs (see the file's comment). Returns 0 or -errno. */
static int
pg_session_setup(struct pg *p)
{
	PGresult *res;
	int rc;

	PQsetNoticeReceiver(p->conn, pg_notice, NULL);
	res = PQexec(p->conn, "SET TimeZone TO 'UTC'; SET standard_conforming_strings TO on");
	rc = pg_error(&p->base, res);
	PQclear(res);
	return rc;
}

/* The connection is usable, or made so: a lost one is reset (see PG_RECONNECT_MIN_MS),
 * which starts a new session where the statements are prepared again when next run. A
 * transaction that was open is gone with the old session (the server rolled it back).
 * Returns 0 or -ENOTCONN. */
static int
pg_ensure(struct pg *p)
{
	int64_t now;

	if (PQstatus(p->conn) == CONNECTION_OK && !p->read_only)
		return 0;
	now = mono_ms();
	if (now < p->next_reset_ms) {
		db_set_errmsg(&p->base, "the connection to PostgreSQL is lost; reconnecting");
		return -ENOTCONN;
	}
	PQreset(p->conn);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		char line[400];

		if (p->backoff_ms < PG_RECONNECT_MIN_MS)
			p->backoff_ms = PG_RECONNECT_MIN_MS;
		p->next_reset_ms = mono_ms() + p->backoff_ms;
		p->backoff_ms = p->backoff_ms * 2 > PG_RECONNECT_MAX_MS ? PG_RECONNECT_MAX_MS :
		    p->backoff_ms * 2;
		one_line(line, sizeof(line), PQerrorMessage(p->conn));
		db_set_errmsg(&p->base, "cannot reconnect to PostgreSQL: %s", line);
		return -ENOTCONN;
	}
	p->backoff_ms = PG_RECONNECT_MIN_MS;
	p->read_only = false;
	p->session++;
	if (pg_session_setup(p) != 0)
		return -ENOTCONN;
	log_info("db", "reconnected to PostgreSQL");
	return 0;
}

static void
pg_close(struct db *db)
{
	PQfinish(conn_of(db));
	free(db);
}

static bool
pg_in_transaction(const struct db *db)
{
	/* INERROR: a statement failed inside it; PostgreSQL keeps it open (aborted) until
	 * ROLLBACK. UNKNOWN: the connection is lost, and the server has rolled back. */
	switch (PQtransactionStatus(((const struct pg *)db)->conn)) {
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
	case PQTRANS_ACTIVE:
		return true;
	default:
		return false;
	}
}

static int
pg_exec(struct db *db, const char *sql)
{
	PGconn *c = conn_of(db);
	PGresult *res = NULL;
	int rc;

	if ((rc = pg_ensure((struct pg *)db)) != 0)
		return rc;
	res = PQexec(c, sql);

	if (res != NULL && (PQresultStatus(res) == PGRES_COPY_IN ||
	    PQresultStatus(res) == PGRES_COPY_OUT || PQresultStatus(res) == PGRES_COPY_BOTH)) {
		pg_end_copy(c, res);
		db_set_errmsg(db, "COPY from or to the client is not supported");
		rc = PQstatus(c) == CONNECTION_OK ? -EINVAL : -ENOTCONN;
		goto out;
	}
	rc = pg_error(db, res);
out:
	PQclear(res);
	return rc;
}

/* Find the numbered parameters of sql: ?N outside '...', "..." and comments (-- to the
 * end of the line, nested block comments). With out (as long as sql), write sql with each
 * ?N as $N (the same length); with used (highest + 1 entries), mark each N that occurs.
 * Returns the highest N (0: none) or -EINVAL with a message in db. */
static int
pg_scan_params(struct db *db, const char *sql, char *out, unsigned char *used)
{
	size_t i = 0, len = strlen(sql);
	int highest = 0;

	if (out != NULL)
		memcpy(out, sql, len + 1);
	while (i < len) {
		char c = sql[i];

		if (c == '\'' || c == '"') {            /* a literal or a quoted identifier */
			for (i++; i < len; i++) {
				if (sql[i] == c && sql[i + 1] == c)
					i++;            /* a doubled quote stays inside */
				else if (sql[i] == c)
					break;
			}
			i++;
		} else if (c == '-' && sql[i + 1] == '-') {
			while (i < len && sql[i] != '\n')
				i++;
		} else if (c == '/' && sql[i + 1] == '*') {
			int depth = 1;

			for (i += 2; i < len && depth > 0; i++) {
				if (sql[i] == '/' && sql[i + 1] == '*') {
					depth++;
					i++;
				} else if (sql[i] == '*' && sql[i + 1] == '/') {
					depth--;
					i++;
				}
			}
		} else if (c == '?') {
			size_t start = i++;
			long n = 0;

			while (i < len && sql[i] >= '0' && sql[i] <= '9' && n <= PG_MAX_PARAMS)
				n = n * 10 + (sql[i++] - '0');
			if (i == start + 1) {
				db_set_errmsg(db, "a parameter without a number (\"?\" at offset %zu): "
				    "write ?1, ?2, ...", start);
				return -EINVAL;
			}
			if (n < 1 || n > PG_MAX_PARAMS) {
				db_set_errmsg(db, "parameter ?%.*s at offset %zu: numbers go from 1 to "
				    "%d", (int)(i - start - 1 > 8 ? 8 : i - start - 1), sql + start + 1,
				    start, PG_MAX_PARAMS);
				return -EINVAL;
			}
			if (out != NULL)
				out[start] = '$';
			if (used != NULL)
				used[n] = 1;
			if (n > highest)
				highest = (int)n;
		} else {
			i++;
		}
	}
	return highest;
}

static void pg_finalize(struct db_stmt *s);

static int
pg_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct pg *p = (struct pg *)db;
	struct pg_stmt *s = NULL;
	unsigned char *used = NULL;
	Oid *types = NULL;
	char *text = NULL;
	PGresult *res = NULL;
	int n, rc;

	n = pg_scan_params(db, sql, NULL, NULL);
	if (n < 0)
		return n;
	s = calloc(1, sizeof(*s));
	text = malloc(strlen(sql) + 1);
	used = calloc((size_t)n + 1, 1);
	if (s == NULL || text == NULL || used == NULL)
		goto nomem;
	pg_scan_params(db, sql, text, used);
	s->base.db = db;
	if (n > 0) {
		s->values = calloc((size_t)n, sizeof(*s->values));
		s->copies = calloc((size_t)n, sizeof(*s->copies));
		s->ints = calloc((size_t)n, sizeof(*s->ints));
		if (s->values == NULL || s->copies == NULL || s->ints == NULL)
			goto nomem;
	}
	s->nparams = n;
	/* A parameter the statement does not use (?3 without ?2) has no type to infer:
	 * declare it text, which the server accepts and ignores. The others stay 0, for the
	 * server to infer from where they are used. */
	for (int i = 1; i <= n; i++) {
		if (used[i])
			continue;
		if (types == NULL && (types = calloc((size_t)n, sizeof(*types))) == NULL)
			goto nomem;
		types[i - 1] = PG_OID_TEXT;
	}
	snprintf(s->name, sizeof(s->name), "incidentd_%" PRIu64, ++p->stmt_seq);
	s->text = text;
	s->types = types;
	text = NULL;
	types = NULL;
	if ((rc = pg_ensure(p)) != 0) {
		s->name[0] = '\0';
		goto out;
	}
	s->session = p->session;
	res = PQprepare(p->conn, s->name, s->text, n, s->types);
	rc = pg_error(db, res);
	if (rc != 0) {
		s->name[0] = '\0';      /* nothing to deallocate */
		goto out;
	}
	*out = &s->base;
	s = NULL;
	goto out;
nomem:
	db_set_errmsg(db, "out of memory");
	rc = -ENOMEM;
	if (s != NULL)
		s->name[0] = '\0';
out:
	PQclear(res);
	if (s != NULL)
		pg_finalize(&s->base);
	free(types);
	free(used);
	free(text);
	return rc;
}

/* Drop the binding of parameter i (0-based) and what the statement owned for it. */
static void
pg_unbind(struct pg_stmt *s, int i)
{
	free(s->copies[i]);
	s->copies[i] = NULL;
	s->values[i] = NULL;
}

static void
pg_reset(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);

	PQclear(s->res);
	s->res = NULL;
	s->next_row = 0;
	for (int i = 0; i < s->nparams; i++)
		pg_unbind(s, i);
}

static void
pg_finalize(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);
	PGconn *c = conn_of(st->db);

	pg_reset(st);
	/* The server keeps a prepared statement until the session ends: deallocate it (a
	 * failure, e.g. inside an aborted transaction, only leaves it there). */
	if (s->name[0] != '\0' && PQstatus(c) == CONNECTION_OK &&
	    s->session == ((struct pg *)st->db)->session) {
		char sql[64];

		snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
		PQclear(PQexec(c, sql));
	}
	free(s->values);
	free(s->copies);
	free(s->ints);
	free(s->text);
	free(s->types);
	free(s);
}

/* Check idx (1-based) and drop its old binding; returns the 0-based index or -EINVAL. */
static int
pg_param(struct pg_stmt *s, int idx)
{
	if (idx < 1 || idx > s->nparams) {
		db_set_errmsg(s->base.db, "parameter %d out of range: the statement has %d", idx,
		    s->nparams);
		return -EINVAL;
	}
	pg_unbind(s, idx - 1);
	return idx - 1;
}

static int
pg_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	struct pg_stmt *s = pst(st);
	int i = pg_param(s, idx);

	if (i < 0)
		return i;
	snprintf(s->ints[i], sizeof(s->ints[i]), "%" PRId64, v);
	s->values[i] = s->ints[i];
	return 0;
}

static int
pg_bind_text(struct db_stmt *st, int idx, const char *v, bool copy)
{
	struct pg_stmt *s = pst(st);
	int i = pg_param(s, idx);

	if (i < 0)
		return i;
	if (v != NULL && copy) {
		s->copies[i] = strdup(v);
		if (s->copies[i] == NULL) {
			db_set_errmsg(st->db, "out of memory");
			return -ENOMEM;
		}
		v = s->copies[i];
	}
	s->values[i] = v;
	return 0;
}

static int
pg_bind_null(struct db_stmt *st, int idx)
{
	int i = pg_param(pst(st), idx);

	return i < 0 ? i : 0;
}

static int
pg_step(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);

	if (s->res == NULL) {
		struct pg *p = (struct pg *)st->db;
		PGresult *res;
		int rc;

		if ((rc = pg_ensure(p)) != 0)
			return rc;
		if (s->session != p->session) {
			/* a new session since it was prepared: prepare it in this one */
			res = PQprepare(p->conn, s->name, s->text, s->nparams, s->types);
			rc = pg_error(st->db, res);
			PQclear(res);
			if (rc != 0)
				return rc;
			s->session = p->session;
		}
		res = PQexecPrepared(p->conn, s->name, s->nparams, s->values, NULL, NULL, 0);
		rc = pg_error(st->db, res);
		if (rc != 0) {
			PQclear(res);
			return rc;
		}
		s->res = res;
		s->next_row = 0;
	}
	if (s->next_row < PQntuples(s->res)) {
		s->next_row++;
		return DB_ROW;
	}
	return DB_DONE;
}

static int64_t
pg_changes(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);

	return s->res != NULL ? strtoll(PQcmdTuples(s->res), NULL, 10) : 0;
}

/* The current row (after DB_ROW), or -1 when there is none or col is out of range. */
static int
pg_row(struct pg_stmt *s, int col)
{
	if (s->res == NULL || s->next_row < 1 || s->next_row > PQntuples(s->res) ||
	    col < 0 || col >= PQnfields(s->res))
		return -1;
	return s->next_row - 1;
}

static int
pg_column_count(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);

	return s->res != NULL ? PQnfields(s->res) : 0;
}

static const char *
pg_column_name(struct db_stmt *st, int col)
{
	struct pg_stmt *s = pst(st);

	return s->res != NULL ? PQfname(s->res, col) : NULL;
}

static bool
pg_column_is_null(struct db_stmt *st, int col)
{
	struct pg_stmt *s = pst(st);
	int row = pg_row(s, col);

	return row < 0 || PQgetisnull(s->res, row, col);
}

static bool
pg_column_is_integer(struct db_stmt *st, int col)
{
	struct pg_stmt *s = pst(st);
	Oid t;

	if (s->res == NULL || col < 0 || col >= PQnfields(s->res))
		return false;
	t = PQftype(s->res, col);
	return t == PG_OID_INT2 || t == PG_OID_INT4 || t == PG_OID_INT8;
}

static const char *
pg_column_text(struct db_stmt *st, int col)
{
	struct pg_stmt *s = pst(st);
	int row = pg_row(s, col);

	if (row < 0 || PQgetisnull(s->res, row, col))
		return NULL;
	return PQgetvalue(s->res, row, col);
}

static int64_t
pg_column_int64(struct db_stmt *st, int col)
{
	struct pg_stmt *s = pst(st);
	const char *v = pg_column_text(st, col);

	if (v == NULL)
		return 0;
	if (PQftype(s->res, col) == PG_OID_BOOL)     /* 't'/'f': 1/0, as SQLite has them */
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static const struct db_ops pg_ops = {
	.close = pg_close,
	.in_transaction = pg_in_transaction,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.bind_int64 = pg_bind_int64,
	.bind_text = pg_bind_text,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.reset = pg_reset,
	.changes = pg_changes,
	.column_count = pg_column_count,
	.column_name = pg_column_name,
	.column_is_null = pg_column_is_null,
	.column_is_integer = pg_column_is_integer,
	.column_int64 = pg_column_int64,
	.column_text = pg_column_text,
};

/* libpq could not parse conninfo: its message may quote the string (the whole URI, a
 * percent-encoded token, the words after an unquoted space), so keep only what comes
 * before its first quote. */
static void
pg_parse_error(char *err, size_t errlen, const char *libpq_msg)
{
	char line[256];
	size_t n;
	bool cut;

	one_line(line, sizeof(line), libpq_msg);
	n = strcspn(line, "\"");
	cut = line[n] != '\0';
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == ':'))
		n--;
	line[n] = '\0';
	snprintf(err, errlen, "invalid PostgreSQL connection string: %s%s", line,
	    cut ? " ... (libpq's message is cut where it quotes the string, which may hold "
	    "the password)" : "");
}

int
db_pg_open(const char *conninfo, struct db **out, char *err, size_t errlen)
{
	/* the string is expanded in place of dbname: what it sets wins over the fallback
	 * application_name before it, client_encoding after it wins over the string */
	/* Defaults before the string, which may set its own: a connection attempt and a dead
	 * link (no answer to keepalives or to sent data) block the event loop for at most
	 * seconds, not the minutes of the system's TCP defaults. */
	const char *const keywords[] = {
		"fallback_application_name", "connect_timeout", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"target_session_attrs", "dbname", "client_encoding", NULL
	};
	/* target_session_attrs: only a server that takes writes (with several hosts, the
	 * primary; after a failover, the new one) */
	const char *const values[] = { "incidentd", "5", "30", "10", "3", "30000", "read-write",
		conninfo, "UTF8", NULL };
	PQconninfoOption *opts = NULL;
	const char *password = NULL;
	struct pg *p = NULL;
	PGresult *res = NULL;
	char *perr = NULL;
	char line[512], msg[600];
	int rc;

	*out = NULL;
	opts = PQconninfoParse(conninfo, &perr);
	if (opts == NULL) {
		if (perr == NULL) {
			snprintf(err, errlen, "out of memory");
			rc = -ENOMEM;
		} else {
			pg_parse_error(err, errlen, perr);
			rc = -EINVAL;
		}
		goto out;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0)
			password = o->val;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	p->base.ops = &pg_ops;
	p->base.kind = DB_PG;
	p->conn = PQconnectdbParams(keywords, values, 1);
	if (p->conn == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	if (PQstatus(p->conn) != CONNECTION_OK) {
		/* libpq's message names the host or socket and the server's refusal; it does
		 * not quote the password, and redacting makes sure */
		one_line(line, sizeof(line), PQerrorMessage(p->conn));
		snprintf(msg, sizeof(msg), "cannot connect to PostgreSQL: %s", line);
		copy_redacted(err, errlen, msg, password);
		rc = strstr(line, "out of memory") != NULL ? -ENOMEM : -ENOTCONN;
		goto out;
	}
	rc = pg_session_setup(p);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "cannot set up the PostgreSQL session: %s",
		    db_errmsg(&p->base));
		copy_redacted(err, errlen, msg, password);
		goto out;
	}
	*out = &p->base;
	p = NULL;
out:
	PQclear(res);
	if (p != NULL) {
		PQfinish(p->conn);
		free(p);
	}
	PQconninfoFree(opts);
	PQfreemem(perr);
	return rc;
}
