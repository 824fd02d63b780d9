/*
 * loadgen: the fixed-rate (open-loop) and counted load of the ingest benchmark.
 *
 * Sends POST requests with Argo CD notification bodies to one HTTP/1.1 server over a fixed
 * number of keep-alive connections, one request at a time on each (no pipelining), and
 * keeps the latency of every request; percentiles come from the sorted array, exactly.
 *
 *   Fixed rate (-r RATE -d SECONDS): request i is due at start + i/RATE whether or not the
 *   earlier ones have been answered (open loop). Its latency runs from that due time to
 *   the last byte of its answer, so a request that waits for a free connection, or for a
 *   late generator, counts the wait (no coordinated omission; what wrk2 measures).
 *   Counted (-n COUNT): exactly COUNT requests, each connection sending its next request
 *   as soon as its answer is in (closed loop); latency from sending to the answer.
 *
 * Bodies: the sample (-s FILE, an Argo CD client_payload) with "app_name" set to
 * bench-<i mod APPS> and "revision" to 40 hex digits unique per request (the run's
 * nonce, a tag, the request number), exactly as bench/post.lua does for wrk.
 *
 * Prints one line on stdout (run.sh parses it):
 *   loadgen: requests=N answered=N ok=N bad_status=N unanswered=N conn_errors=N
 *            duplicates=N late=N queued=N seconds=S rps=R p50_ms=X p90_ms=X p99_ms=X
 *            p999_ms=X max_ms=X
 * ok: answers with the expected status (-e, default 202); unanswered: requests lost with
 * a failed connection, left without an answer -t seconds after the last was sent, or never
 * sent (interrupted); conn_errors: connections refused, reset or closed with a request on
 * them; duplicates: answers whose body says "duplicate": true; late (fixed rate): requests
 * sent more than 1 ms after they were due, for want of a free connection (queued, also
 * counted on its own) or because the generator itself did not run in time (a busy machine);
 * seconds: from the first request's due time to the last answer. Latencies are those of
 * the answered requests, whatever their status.
 * Exit status: 0 when every request got the expected status, 1 otherwise, 2 on bad usage.
 *
 * Build: cc -O2 -o loadgen loadgen.c        (Linux: epoll)
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_SEC 1000000000ULL
#define MAX_CONNS 4096
#define MAX_HEAD 8192                 /* an answer's head larger than this is an error */

struct body_tpl {                     /* the sample split around the two varied values */
	char *pre, *mid, *post;       /* pre "app" mid "revision" post */
	size_t npre, nmid, npost;
	bool app_first;               /* app_name comes before revision in the sample */
};

struct opts {
	const char *hostport;
	const char *path;
	const char *sample;
	unsigned conns;
	double rate;                  /* requests/s (fixed-rate mode), 0 in counted mode */
	double seconds;               /* duration in fixed-rate mode */
	uint64_t count;               /* requests in counted mode, 0 in fixed-rate mode */
	double tail_timeout;          /* seconds to wait for the last answers */
	int expect;                   /* expected status */
	unsigned apps;
	uint32_t nonce, tag;
};

enum conn_state { C_CONNECTING, C_IDLE, C_BUSY, C_DEAD };

struct conn {
	int fd;
	enum conn_state state;
	char *out;                    /* the request being sent */
	size_t outlen, outoff, outcap;
	char *in;                     /* the answer being read */
	size_t inlen, incap;
	size_t head_end;              /* 0 until the head is complete, then its length */
	size_t body_len;              /* Content-Length of the answer */
	bool close_after;             /* the server said Connection: close */
	uint64_t req;                 /* the request on the wire */
	int status;                   /* its answer's status, once the head is in */
	uint64_t t0;                  /* its due (open loop) or send (closed loop) time */
};

struct run {
	const struct opts *o;
	struct body_tpl tpl;
	struct addrinfo *addr;
	int ep;                       /* epoll */
	int tfd;                      /* timerfd: the next request is due */
	struct conn *c;
	char host_header[300];
	uint64_t total;               /* requests to send */
	uint64_t sent, answered, ok, bad_status, duplicates;
	uint64_t late;                /* sent more than 1 ms after they were due */
	uint64_t queued;              /* found no idle connection when due */
	uint64_t queued_mark;         /* requests below this one are counted in queued */
	uint64_t conn_errors;         /* connections refused, reset or closed mid-request */
	uint64_t *lat;                /* latency in ns of each answered request */
	uint64_t start;               /* ns, monotonic */
	uint64_t end;                 /* when the last answer came */
	int first_bad_status;
};

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen -s SAMPLE [-c CONNS] (-r RATE -d SECONDS | -n COUNT)\n"
	    "               [-e STATUS] [-a APPS] [-k NONCE] [-g TAG] [-t SECONDS] HOST:PORT PATH\n"
	    "  -s FILE   Argo CD client_payload sample (app_name and revision are varied)\n"
	    "  -c N      keep-alive connections (default 64)\n"
	    "  -r RATE   requests per second, open loop, for -d SECONDS\n"
	    "  -n COUNT  exactly COUNT requests, closed loop\n"
	    "  -e CODE   expected status (default 202)\n"
	    "  -a N      distinct app names (default 1000)\n"
	    "  -k N, -g N  nonce and tag of the revisions (default: from the clock; 0)\n"
	    "  -t SECS   wait this long for the last answers (default 30)\n");
}

/* --- the body ---------------------------------------------------------------------------- */

static int
read_file(const char *path, char **out, size_t *len)
{
	FILE *f = NULL;
	char *buf = NULL;
	struct stat st;
	int rc = -EIO;

	if ((f = fopen(path, "rb")) == NULL) {
		rc = -errno;
		goto out;
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || st.st_size > 16 * 1024 * 1024)
		goto out;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		goto out;
	buf[st.st_size] = '\0';
	*out = buf;
	*len = (size_t)st.st_size;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return rc;
}

/* Find the string value of "key" (the only one in the text): [*vs, *ve) is the value between
 * its quotes. Returns 0, or -EINVAL when the key is absent, repeated or not a plain string. */
static int
find_value(const char *text, const char *key, const char **vs, const char **ve)
{
	char quoted[64];
	const char *p, *found = NULL;
	size_t n;

	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	n = strlen(quoted);
	for (p = strstr(text, quoted); p != NULL; p = strstr(p + n, quoted)) {
		const char *q = p + n;

		while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
			q++;
		if (*q != ':')
			continue;             /* the key's name as a value, not a key */
		if (found != NULL)
			return -EINVAL;
		q++;
		while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
			q++;
		if (*q != '"')
			return -EINVAL;
		found = q + 1;
	}
	if (found == NULL)
		return -EINVAL;
	for (p = found; *p != '"'; p++)
		if (*p == '\\' || *p == '\0')
			return -EINVAL;
	*vs = found;
	*ve = p;
	return 0;
}

static char *
dup_range(const char *s, const char *e, size_t *n)
{
	char *d = malloc((size_t)(e - s) + 1);

	if (d != NULL) {
		memcpy(d, s, (size_t)(e - s));
		d[e - s] = '\0';
		*n = (size_t)(e - s);
	}
	return d;
}

static int
tpl_load(struct body_tpl *t, const char *path)
{
	const char *as, *ae, *rs, *re, *s1, *e1, *s2, *e2;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = read_file(path, &text, &len)) != 0) {
		fprintf(stderr, "loadgen: cannot read %s: %s\n", path, strerror(-rc));
		goto out;
	}
	if (strlen(text) != len || find_value(text, "app_name", &as, &ae) != 0 ||
	    find_value(text, "revision", &rs, &re) != 0) {
		fprintf(stderr, "loadgen: %s needs one plain string \"app_name\" and one "
		    "\"revision\"\n", path);
		rc = -EINVAL;
		goto out;
	}
	t->app_first = as < rs;
	s1 = t->app_first ? as : rs;
	e1 = t->app_first ? ae : re;
	s2 = t->app_first ? rs : as;
	e2 = t->app_first ? re : ae;
	t->pre = dup_range(text, s1, &t->npre);
	t->mid = dup_range(e1, s2, &t->nmid);
	t->post = dup_range(e2, text + len, &t->npost);
	rc = (t->pre && t->mid && t->post) ? 0 : -ENOMEM;
out:
	free(text);
	return rc;
}

static void
tpl_free(struct body_tpl *t)
{
	free(t->pre);
	free(t->mid);
	free(t->post);
}

/* Write request number i of the run into c->out (grown as needed). */
static int
conn_format_request(struct run *r, struct conn *c, uint64_t i)
{
	const struct body_tpl *t = &r->tpl;
	char app[32], rev[48], head[512];
	size_t body, need;
	int na, nr, nh;

	na = snprintf(app, sizeof(app), "bench-%" PRIu64, i % r->o->apps);
	nr = snprintf(rev, sizeof(rev), "%08" PRIx32 "%08" PRIx32 "%024" PRIu64, r->o->nonce,
	    r->o->tag, i);
	body = t->npre + t->nmid + t->npost + (size_t)na + (size_t)nr;
	nh = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", r->o->path,
	    r->host_header, body);
	if (nh < 0 || (size_t)nh >= sizeof(head))
		return -EINVAL;
	need = (size_t)nh + body;
	if (need > c->outcap) {
		char *p = realloc(c->out, need);

		if (p == NULL)
			return -ENOMEM;
		c->out = p;
		c->outcap = need;
	}
	/* pre V1 mid V2 post, V1 the value that comes first in the sample */
	c->outlen = 0;
#define PUT(p, n) (memcpy(c->out + c->outlen, (p), (n)), c->outlen += (n))
	PUT(head, (size_t)nh);
	PUT(t->pre, t->npre);
	if (t->app_first)
		PUT(app, (size_t)na);
	else
		PUT(rev, (size_t)nr);
	PUT(t->mid, t->nmid);
	if (t->app_first)
		PUT(rev, (size_t)nr);
	else
		PUT(app, (size_t)na);
	PUT(t->post, t->npost);
#undef PUT
	c->outoff = 0;
	return 0;
}

/* --- connections --------------------------------------------------------------------------- */

static int
conn_open(struct run *r, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	int one = 1, fd;

	fd = socket(r->addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, r->addr->ai_addr, r->addr->ai_addrlen) != 0 && errno != EINPROGRESS) {
		int e = -errno;

		close(fd);
		return e;
	}
	ev.data.ptr = c;
	if (epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	c->fd = fd;
	c->state = C_CONNECTING;
	c->inlen = 0;
	c->head_end = 0;
	c->close_after = false;
	return 0;
}

static void
conn_close(struct run *r, struct conn *c)
{
	if (c->fd >= 0) {
		(void)epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = C_DEAD;
}

/* The connection failed: its request (if any) is an error; open a new one. */
static void
conn_fail(struct run *r, struct conn *c)
{
	r->conn_errors++;
	conn_close(r, c);
	if (!stop_requested && conn_open(r, c) != 0)
		c->state = C_DEAD;
}

static void
conn_want(struct run *r, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	(void)epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
conn_flush(struct run *r, struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_want(r, c, EPOLLIN | EPOLLOUT);
			return;
		}
		if (n <= 0) {
			conn_fail(r, c);
			return;
		}
		c->outoff += (size_t)n;
	}
	conn_want(r, c, EPOLLIN);
}

static void
conn_send(struct run *r, struct conn *c, uint64_t due)
{
	if (conn_format_request(r, c, r->sent) != 0) {
		fprintf(stderr, "loadgen: out of memory\n");
		stop_requested = 1;
		return;
	}
	c->req = r->sent++;
	c->t0 = due;
	c->state = C_BUSY;
	c->inlen = 0;
	c->head_end = 0;
	conn_flush(r, c);
}

/* Parse the head in c->in[0, head_end): status, Content-Length, Connection: close. */
static int
conn_parse_head(struct conn *c, int *status)
{
	const char *p = c->in, *end = c->in + c->head_end;
	bool have_len = false;

	if (c->head_end < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
		return -EPROTO;
	*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	c->body_len = 0;
	c->close_after = p[7] == '0';        /* HTTP/1.0 closes unless told otherwise */
	for (p = memchr(p, '\n', (size_t)(end - p)); p != NULL && p + 1 < end;
	     p = memchr(p + 1, '\n', (size_t)(end - p - 1))) {
		const char *line = p + 1;

		if (strncasecmp(line, "Content-Length:", 15) == 0) {
			char *e;
			unsigned long long v = strtoull(line + 15, &e, 10);

			if (e == line + 15 || v > 64 * 1024 * 1024)
				return -EPROTO;
			c->body_len = (size_t)v;
			have_len = true;
		} else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
			return -EPROTO;       /* chunked answers: not from these servers */
		} else if (strncasecmp(line, "Connection:", 11) == 0) {
			const char *v = line + 11;

			while (*v == ' ')
				v++;
			c->close_after = strncasecmp(v, "close", 5) == 0;
		}
	}
	if (!have_len && *status != 204 && *status != 304)
		return -EPROTO;
	return 0;
}

static void
conn_read(struct run *r, struct conn *c)
{
	for (;;) {
		ssize_t n;
		int status = 0;

		if (c->incap - c->inlen < 4096) {
			size_t cap = c->incap ? c->incap * 2 : 16384;
			char *p = realloc(c->in, cap);

			if (p == NULL) {
				conn_fail(r, c);
				return;
			}
			c->in = p;
			c->incap = cap;
		}
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0 || c->state != C_BUSY) {
			conn_fail(r, c);      /* closed, or an answer nobody asked for */
			return;
		}
		c->inlen += (size_t)n;
		c->in[c->inlen] = '\0';
		if (c->head_end == 0) {
			char *e = strstr(c->in, "\r\n\r\n");

			if (e == NULL) {
				if (c->inlen > MAX_HEAD)
					conn_fail(r, c);
				continue;
			}
			c->head_end = (size_t)(e - c->in) + 4;
			if (conn_parse_head(c, &c->status) != 0) {
				conn_fail(r, c);
				return;
			}
		}
		if (c->inlen < c->head_end + c->body_len)
			continue;
		if (c->inlen > c->head_end + c->body_len) {
			conn_fail(r, c);      /* more than one answer: not asked for */
			return;
		}
		/* one whole answer */
		status = c->status;
		r->end = now_ns();
		r->lat[r->answered++] = r->end - c->t0;
		if (status == r->o->expect) {
			r->ok++;
		} else {
			r->bad_status++;
			if (r->first_bad_status == 0)
				r->first_bad_status = status;
		}
		if (strstr(c->in + c->head_end, "\"duplicate\":true") != NULL ||
		    strstr(c->in + c->head_end, "\"duplicate\": true") != NULL)
			r->duplicates++;
		c->state = C_IDLE;
		c->inlen = 0;
		c->head_end = 0;
		if (c->close_after) {
			conn_close(r, c);
			if (conn_open(r, c) != 0)
				c->state = C_DEAD;
		}
		return;
	}
}

static void
conn_event(struct run *r, struct conn *c, uint32_t events)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if ((events & (EPOLLERR | EPOLLHUP)) ||
		    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			conn_close(r, c);     /* refused: the server is gone; do not spin */
			r->conn_errors++;
			return;
		}
		c->state = C_IDLE;
		conn_want(r, c, EPOLLIN);
		return;
	}
	if (events & EPOLLIN) {
		conn_read(r, c);
		if (c->state == C_DEAD || c->fd < 0)
			return;
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		conn_fail(r, c);
		return;
	}
	if ((events & EPOLLOUT) && c->state == C_BUSY)
		conn_flush(r, c);
}

/* --- the run ------------------------------------------------------------------------------- */

/* When request i is due (fixed rate), in ns since the start. */
static uint64_t
due_at(const struct run *r, uint64_t i)
{
	return r->start + (uint64_t)((double)i * 1e9 / r->o->rate);
}

/* Hand the requests that are due (all of them, counted mode) to idle connections. */
static void
send_due(struct run *r, uint64_t now)
{
	unsigned i;

	for (i = 0; i < r->o->conns && r->sent < r->total; i++) {
		struct conn *c = &r->c[i];
		uint64_t due;

		if (c->state != C_IDLE)
			continue;
		if (r->o->rate > 0) {
			due = due_at(r, r->sent);
			if (due > now)
				break;
			if (now - due > 1000000)
				r->late++;
		} else {
			due = now;
		}
		conn_send(r, c, due);
	}
	/* what is still due found every connection busy */
	if (r->o->rate > 0) {
		uint64_t j = r->queued_mark > r->sent ? r->queued_mark : r->sent;

		for (; j < r->total && due_at(r, j) <= now; j++)
			r->queued++;
		r->queued_mark = j;
	}
}

/* No connection is still connecting. */
static bool
connected(const struct run *r)
{
	unsigned i;

	for (i = 0; i < r->o->conns; i++)
		if (r->c[i].state == C_CONNECTING)
			return false;
	return true;
}

static bool
all_idle(const struct run *r)
{
	unsigned i;

	for (i = 0; i < r->o->conns; i++)
		if (r->c[i].state == C_BUSY || r->c[i].state == C_CONNECTING)
			return false;
	return true;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted latencies, in ms. */
static double
pct_ms(const uint64_t *v, uint64_t n, double p)
{
	uint64_t k;

	if (n == 0)
		return 0;
	k = (uint64_t)((p / 100.0) * (double)n + 0.999999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return (double)v[k - 1] / 1e6;
}

/* Arm the timer for the next due request (fixed rate), or disarm it. */
static void
timer_arm(struct run *r)
{
	struct itimerspec its = { 0 };

	if (r->o->rate > 0 && r->sent < r->total) {
		uint64_t due = due_at(r, r->sent);

		its.it_value.tv_sec = (time_t)(due / NS_PER_SEC);
		its.it_value.tv_nsec = (long)(due % NS_PER_SEC);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	(void)timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void
dispatch(struct run *r, const struct epoll_event *evs, int n)
{
	int k;

	for (k = 0; k < n; k++) {
		if (evs[k].data.ptr == NULL) {        /* the timer */
			uint64_t ticks;

			(void)!read(r->tfd, &ticks, sizeof(ticks));
			continue;
		}
		conn_event(r, evs[k].data.ptr, evs[k].events);
	}
}

static unsigned
conns_alive(const struct run *r)
{
	unsigned i, n = 0;

	for (i = 0; i < r->o->conns; i++)
		n += r->c[i].state != C_DEAD;
	return n;
}

static int
run_load(struct run *r)
{
	struct epoll_event evs[256];
	struct epoll_event tev = { .events = EPOLLIN, .data.ptr = NULL };
	uint64_t deadline = 0, last_progress, tail = (uint64_t)(r->o->tail_timeout * 1e9);
	unsigned i;

	r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->tfd < 0 || epoll_ctl(r->ep, EPOLL_CTL_ADD, r->tfd, &tev) != 0) {
		perror("loadgen: timerfd");
		return -EIO;
	}
	for (i = 0; i < r->o->conns; i++) {
		r->c[i].fd = -1;
		if (conn_open(r, &r->c[i]) != 0)
			r->c[i].state = C_DEAD;
	}
	/* connect them all before the clock starts */
	last_progress = now_ns();
	while (!stop_requested && !connected(r) && now_ns() - last_progress < 10 * NS_PER_SEC) {
		int n = epoll_wait(r->ep, evs, 256, 100);

		dispatch(r, evs, n);
	}
	if (conns_alive(r) == 0 || !connected(r)) {
		fprintf(stderr, "loadgen: cannot connect to %s\n", r->o->hostport);
		return -ECONNREFUSED;
	}
	r->conn_errors = 0;                   /* from here on, failures are the server's */
	r->start = now_ns();
	last_progress = r->start;
	while (!stop_requested) {
		uint64_t now = now_ns(), answered = r->answered;
		int n;

		send_due(r, now);
		timer_arm(r);
		if (r->sent == r->total && all_idle(r))
			break;
		if (r->sent == r->total && deadline == 0)
			deadline = now + tail;
		if (deadline != 0 && now >= deadline)
			break;                /* the last answers did not come */
		n = epoll_wait(r->ep, evs, 256, 100);
		if (n < 0 && errno != EINTR)
			return -errno;
		dispatch(r, evs, n);
		if (r->answered != answered)
			last_progress = now_ns();
		if (conns_alive(r) == 0) {
			fprintf(stderr, "loadgen: every connection failed\n");
			break;
		}
		/* counted mode: no answer for that long means the server is stuck */
		if (r->o->rate == 0 && now_ns() - last_progress > tail)
			break;
	}
	if (r->end == 0)
		r->end = now_ns();
	return 0;
}

static int
parse_num(const char *s, double lo, double hi, double *out)
{
	char *e;
	double v;

	errno = 0;
	v = strtod(s, &e);
	if (errno != 0 || e == s || *e != '\0' || !(v >= lo && v <= hi))
		return -EINVAL;
	*out = v;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	double v;
	int ch;

	o->conns = 64;
	o->expect = 202;
	o->apps = 1000;
	o->tail_timeout = 30;
	o->nonce = (uint32_t)(time(NULL) ^ ((uint32_t)getpid() << 16));
	while ((ch = getopt(argc, argv, "s:c:r:d:n:e:a:k:g:t:h")) != -1) {
		switch (ch) {
		case 's': o->sample = optarg; break;
		case 'c':
			if (parse_num(optarg, 1, MAX_CONNS, &v) != 0)
				return -EINVAL;
			o->conns = (unsigned)v;
			break;
		case 'r':
			if (parse_num(optarg, 0.001, 10e6, &o->rate) != 0)
				return -EINVAL;
			break;
		case 'd':
			if (parse_num(optarg, 0.001, 86400, &o->seconds) != 0)
				return -EINVAL;
			break;
		case 'n':
			if (parse_num(optarg, 1, 1e9, &v) != 0)
				return -EINVAL;
			o->count = (uint64_t)v;
			break;
		case 'e':
			if (parse_num(optarg, 100, 599, &v) != 0)
				return -EINVAL;
			o->expect = (int)v;
			break;
		case 'a':
			if (parse_num(optarg, 1, 1e9, &v) != 0)
				return -EINVAL;
			o->apps = (unsigned)v;
			break;
		case 'k':
			if (parse_num(optarg, 0, UINT32_MAX, &v) != 0)
				return -EINVAL;
			o->nonce = (uint32_t)v;
			break;
		case 'g':
			if (parse_num(optarg, 0, UINT32_MAX, &v) != 0)
				return -EINVAL;
			o->tag = (uint32_t)v;
			break;
		case 't':
			if (parse_num(optarg, 0.1, 3600, &o->tail_timeout) != 0)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	if (argc - optind != 2 || o->sample == NULL)
		return -EINVAL;
	/* exactly one mode */
	if ((o->count > 0) == (o->rate > 0) || (o->rate > 0) != (o->seconds > 0))
		return -EINVAL;
	o->hostport = argv[optind];
	o->path = argv[optind + 1];
	if (o->path[0] != '/' || strpbrk(o->path, " \r\n") != NULL)
		return -EINVAL;
	return 0;
}

static int
resolve(const char *hostport, struct addrinfo **out)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	char host[256];
	const char *colon = strrchr(hostport, ':');
	size_t hl;
	int rc;

	if (colon == NULL || colon == hostport || colon[1] == '\0')
		return -EINVAL;
	hl = (size_t)(colon - hostport);
	if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), hostport + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)hl, hostport);
	rc = getaddrinfo(host, colon + 1, &hints, out);
	if (rc != 0) {
		fprintf(stderr, "loadgen: %s: %s\n", hostport, gai_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct run r = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	double secs;
	unsigned i;
	int rc = 2;

	r.ep = -1;
	r.tfd = -1;
	if (parse_opts(argc, argv, &o) != 0) {
		usage();
		goto out;
	}
	r.o = &o;
	r.total = o.count > 0 ? o.count : (uint64_t)(o.rate * o.seconds + 0.5);
	if (r.total == 0) {
		usage();
		goto out;
	}
	rc = 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	(void)prctl(PR_SET_TIMERSLACK, 1UL);  /* wake up when due, not 50 us later */
	snprintf(r.host_header, sizeof(r.host_header), "%s", o.hostport);
	if (tpl_load(&r.tpl, o.sample) != 0 || resolve(o.hostport, &r.addr) != 0)
		goto out;
	r.lat = calloc(r.total, sizeof(*r.lat));
	r.c = calloc(o.conns, sizeof(*r.c));
	if (r.lat == NULL || r.c == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		goto out;
	}
	if ((r.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("loadgen: epoll_create1");
		goto out;
	}
	if (run_load(&r) != 0)
		goto out;
	qsort(r.lat, r.answered, sizeof(*r.lat), cmp_u64);
	secs = (double)(r.end - r.start) / 1e9;
	printf("loadgen: requests=%" PRIu64 " answered=%" PRIu64 " ok=%" PRIu64
	    " bad_status=%" PRIu64 " unanswered=%" PRIu64 " conn_errors=%" PRIu64
	    " duplicates=%" PRIu64 " late=%" PRIu64 " queued=%" PRIu64 " seconds=%.3f rps=%.1f"
	    " p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n", r.total,
	    r.answered, r.ok, r.bad_status, r.total - r.answered, r.conn_errors, r.duplicates,
	    r.late, r.queued, secs,
	    secs > 0 ? (double)r.answered / secs : 0, pct_ms(r.lat, r.answered, 50),
	    pct_ms(r.lat, r.answered, 90), pct_ms(r.lat, r.answered, 99),
	    pct_ms(r.lat, r.answered, 99.9), pct_ms(r.lat, r.answered, 100));
	if (r.first_bad_status != 0)
		fprintf(stderr, "loadgen: %" PRIu64 " answer(s) with an unexpected status, the "
		    "first %d\n", r.bad_status, r.first_bad_status);
	fflush(stdout);
	rc = r.ok == r.total ? 0 : 1;
out:
	if (r.c != NULL) {
		for (i = 0; i < o.conns; i++) {
			conn_close(&r, &r.c[i]);
			free(r.c[i].out);
			free(r.c[i].in);
		}
	}
	free(r.c);
	free(r.lat);
	if (r.ep >= 0)
		close(r.ep);
	if (r.tfd >= 0)
		close(r.tfd);
	if (r.addr != NULL)
		freeaddrinfo(r.addr);
	tpl_free(&r.tpl);
	return rc;
}
