/* nanomsg.c - the nanomsg PULL source and the PUB socket of the live tail. */
#include "nanomsg.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "source.h"

/* Messages taken per wake-up; the receive fd stays readable while more are queued. */
#define NN_DRAIN_BATCH 256

struct nnsource {
	struct daemon *dmn;
	int sock;                 /* -1 once stopped */
	struct event *ev;
};

struct publisher {
	int sock;
};

static void
count_reject(const char *reason)
{
	char labels[128];

	snprintf(labels, sizeof(labels), "source=\"nanomsg\",reason=\"%s\"", reason);
	metrics_inc("incidentd_events_rejected_total", labels);
}

/* Whether incidentd can bind the ipc socket file path: nothing listens there, and the
 * directory lets us create it (a stale file is removed, as nanomsg would). libnanomsg 1.1
 * leaks its endpoint when an ipc:// bind fails, so bind failures are found here first.
 * Returns 0, or -EADDRINUSE, -ENAMETOOLONG or the -errno of unlink/bind. */
static int
ipc_check_bindable(const char *path)
{
	struct sockaddr_un sa;
	size_t n = strlen(path);
	int fd, rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
		rc = -EADDRINUSE;       /* a live listener: another incidentd? */
		goto out;
	}
	if (errno == ECONNREFUSED && unlink(path) != 0) {
		rc = -errno;            /* a stale socket file we may not remove */
		goto out;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		goto out;
	}
	unlink(path);
out:
	close(fd);
	return rc;
}

/* For ipc:// addresses: mkdir -p of the socket's directory (nanomsg does not create it),
 * then ipc_check_bindable. what names the setting in err. Returns 0 or a negative errno. */
static int
ipc_prepare(const char *addr, const char *what, char *err, size_t errlen)
{
	int rc;

	if (strncmp(addr, "ipc://", 6) != 0)
		return 0;
	rc = util_make_parent_dir(addr + 6);
	if (rc != 0) {
		snprintf(err, errlen, "cannot create the directory of %s %s: %s", what, addr,
		    strerror(-rc));
		return rc;
	}
	rc = ipc_check_bindable(addr + 6);
	if (rc != 0)
		snprintf(err, errlen, "cannot bind %s %s: %s", what, addr, strerror(-rc));
	return rc;
}

/* Socket of protocol proto bound at addr. Returns the socket, or a negative errno. */
static int
nn_open_bound(int proto, const char *addr, const char *what, char *err, size_t errlen)
{
	int s = -1, rc;

	rc = ipc_prepare(addr, what, err, errlen);
	if (rc != 0)
		return rc;
	s = nn_socket(AF_SP, proto);
	if (s < 0) {
		rc = -nn_errno();
		snprintf(err, errlen, "cannot create the %s socket: %s", what, nn_strerror(-rc));
		return rc;
	}
	if (nn_bind(s, addr) < 0) {
		rc = -nn_errno();
		snprintf(err, errlen, "cannot bind %s %s: %s", what, addr, nn_strerror(-rc));
		nn_close(s);
		return rc;
	}
	/* the daemon's umask makes it 0600; its group may connect (local programs pushing
	 * events, incidentctl tail) */
	if (strncmp(addr, "ipc://", 6) == 0 && chmod(addr + 6, 0660) != 0)
		log_warn("nanomsg", "cannot make %s %s group-accessible: %s", what, addr,
		    strerror(errno));
	return s;
}

/* --- PULL source ----------------------------------------------------------------------- */

/* After the commit: nothing to answer (nanomsg has no replies), only count. */
static void
on_submitted(void *arg, const struct ingest_result *res)
{
	(void)arg;
	if (res->status == 202) {
		metrics_inc("incidentd_nanomsg_messages_total",
		    res->duplicate ? "result=\"duplicate\"" : "result=\"accepted\"");
		return;
	}
	log_error("nanomsg", "a message could not be stored and is lost: %s",
	    res->error ? res->error : "ledger failure");
	metrics_inc("incidentd_nanomsg_messages_total", "result=\"failed\"");
	count_reject("unavailable");
}

static void
reject(const char *reason, size_t len, const char *format, const char *err)
{
	static int64_t window_start;
	static unsigned logged, suppressed;
	int64_t now = util_mono_ms();

	/* at most 10 lines per 10 s: a misbehaving sender must not flood the log (every
	 * rejection is still counted in the metrics) */
	if (now - window_start >= 10000) {
		if (suppressed > 0)
			log_warn("nanomsg", "%u more rejected message(s) not logged in the last 10 s",
			    suppressed);
		window_start = now;
		logged = suppressed = 0;
	}
	if (logged < 10) {
		/* the reason only: message bodies may carry anything, secrets included */
		log_warn("nanomsg", "rejected a message of %zu bytes (format %s, %s): %.300s",
		    len, format ? format : "-", reason, err);
		logged++;
	} else {
		suppressed++;
	}
	count_reject(reason);
	metrics_inc("incidentd_nanomsg_messages_total", "result=\"rejected\"");
}

/* One received message: normalize and queue it for the next commit pass. */
static void
nnsource_handle(struct nnsource *src, const void *data, size_t len)
{
	struct daemon *dmn = src->dmn;
	const struct config_source *cs = config_find_source(dmn->cfg, "nanomsg");
	struct ievent_vec events = { 0 };
	const char *reason = NULL;
	char err[1024], sha[65];
	int rc;

	if (cs == NULL || !cs->enabled) {
		reject("disabled", len, NULL, "the nanomsg source is disabled in the configuration");
		return;
	}
	rc = source_normalize_message(cs->format, data, len, dmn->cfg->max_body_bytes,
	    util_now_ms(), &events, &reason, err, sizeof(err));
	if (rc != 0) {
		reject(reason, len, cs->format, err);
		goto out;
	}
	util_sha256_hex(data, len, sha);
	/* every event of one message has the same source (the format's, or the event's) */
	if (ingest_submit(dmn->ingest, events.v[0]->source, &events, sha, false, on_submitted,
	    NULL) != 0)
		reject("unavailable", len, cs->format, "out of memory");
out:
	ievent_vec_clear(&events);
}

static void
nnsource_readable(evutil_socket_t fd, short what, void *arg)
{
	struct nnsource *src = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < NN_DRAIN_BATCH && src->sock >= 0; i++) {
		void *msg = NULL;
		int n = nn_recv(src->sock, &msg, NN_MSG, NN_DONTWAIT);

		if (n < 0) {
			if (nn_errno() != EAGAIN && nn_errno() != EINTR)
				log_error("nanomsg", "receive failed: %s", nn_strerror(nn_errno()));
			return;
		}
		nnsource_handle(src, msg, (size_t)n);
		nn_freemsg(msg);
	}
}

int
nnsource_new(struct daemon *dmn, const char *addr, struct nnsource **out, char *err,
    size_t errlen)
{
	struct nnsource *src = calloc(1, sizeof(*src));
	uint64_t max = dmn->cfg->max_body_bytes;
	int fd = -1, rcvmax;
	size_t sz = sizeof(fd);
	int rc;

	*out = NULL;
	if (src == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	src->dmn = dmn;
	src->sock = nn_open_bound(NN_PULL, addr, "sources.nanomsg.pull", err, errlen);
	if (src->sock < 0) {
		rc = src->sock;
		goto fail;
	}
	/* Up to 4x server.max_body arrives and is refused as too_large (counted); nanomsg
	 * drops anything larger itself. */
	rcvmax = max > INT_MAX / 4 ? INT_MAX : (int)(max * 4);
	if (nn_setsockopt(src->sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &rcvmax,
	    sizeof(rcvmax)) < 0 ||
	    nn_getsockopt(src->sock, NN_SOL_SOCKET, NN_RCVFD, &fd, &sz) < 0) {
		rc = -nn_errno();
		snprintf(err, errlen, "cannot set up the nanomsg source: %s", nn_strerror(-rc));
		goto fail;
	}
	src->ev = event_new(dmn->base, fd, EV_READ | EV_PERSIST, nnsource_readable, src);
	if (src->ev == NULL || event_add(src->ev, NULL) != 0) {
		rc = -ENOMEM;
		snprintf(err, errlen, "cannot watch the nanomsg source");
		goto fail;
	}
	log_info("nanomsg", "pulling events on %s", addr);
	*out = src;
	return 0;
fail:
	nnsource_destroy(src);
	return rc;
}

void
nnsource_stop(struct nnsource *src)
{
	if (src == NULL)
		return;
	if (src->ev != NULL) {
		event_free(src->ev);
		src->ev = NULL;
	}
	if (src->sock >= 0) {
		nn_close(src->sock);
		src->sock = -1;
	}
}

void
nnsource_destroy(struct nnsource *src)
{
	if (src == NULL)
		return;
	nnsource_stop(src);
	free(src);
}

/* --- PUB socket of the live tail ------------------------------------------------------- */

int
publisher_new(const char *addr, struct publisher **out, char *err, size_t errlen)
{
	struct publisher *pub = calloc(1, sizeof(*pub));

	*out = NULL;
	if (pub == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pub->sock = nn_open_bound(NN_PUB, addr, "server.publish", err, errlen);
	if (pub->sock < 0) {
		int rc = pub->sock;

		free(pub);
		return rc;
	}
	log_info("nanomsg", "publishing accepted events on %s", addr);
	*out = pub;
	return 0;
}

void
publisher_send_event(struct publisher *pub, const struct ievent *ev,
    const char *incident_key)
{
	json_t *obj = NULL;
	char *text = NULL, *key = NULL;
	size_t len, size;

	if (pub == NULL)
		return;
	/* nobody tails: nothing to build (a PUB socket would drop it anyway) */
	if (nn_get_statistic(pub->sock, NN_STAT_CURRENT_CONNECTIONS) == 0) {
		metrics_inc("incidentd_tail_messages_total", "result=\"unheard\"");
		return;
	}
	if (ev->json_text != NULL && ev->json_text[0] == '{' &&
	    (len = strlen(ev->json_text)) > 2 && ev->json_text[len - 1] == '}') {
		/* the ledger's dump plus the key, as json_dumps() would write the object with
		 * "incident_key" set last: same bytes, no second conversion */
		if (incident_key == NULL) {
			text = strdup(ev->json_text);
		} else if ((obj = json_string(incident_key)) != NULL &&
		    (key = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL) {
			size = len + strlen(key) + sizeof(",\"incident_key\":");
			if ((text = malloc(size)) != NULL)
				snprintf(text, size, "%.*s,\"incident_key\":%s}", (int)(len - 1),
				    ev->json_text, key);
		}
		if (text == NULL)
			goto dropped;
	} else {
		obj = ievent_to_json(ev, false);
		if (obj == NULL || (incident_key != NULL &&
		    json_object_set_new(obj, "incident_key", json_string(incident_key)) != 0) ||
		    (text = json_dumps(obj, JSON_COMPACT)) == NULL)
			goto dropped;
	}
	len = strlen(text);
	/* PUB never waits for subscribers; a full queue drops the message */
	if (nn_send(pub->sock, text, len, NN_DONTWAIT) != (int)len)
		goto dropped;
	metrics_inc("incidentd_tail_messages_total", "result=\"sent\"");
	goto out;
dropped:
	metrics_inc("incidentd_tail_messages_total", "result=\"dropped\"");
out:
	free(text);
	free(key);
	json_decref(obj);
}

void
publisher_destroy(struct publisher *pub)
{
	if (pub == NULL)
		return;
	if (pub->sock >= 0)
		nn_close(pub->sock);
	free(pub);
}
