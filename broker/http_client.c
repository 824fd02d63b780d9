/* http_client.c - curl multi on libevent, after curl's docs/examples/hiperfifo.c.
 *
 * curl tells us which sockets to watch (socket callback) and when to call it back
 * (timer callback). Each socket gets one persistent libevent event; the timer is one
 * evtimer, armed with a zero timeout when curl asks for 0 so that curl is never
 * re-entered from inside its own callback. After every curl_multi_socket_action() the
 * finished transfers are collected and their done callbacks run.
 */
#include "http_client.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <event2/event_struct.h>

#include "log.h"

#define HTTP_MAX_HOST_CONNECTIONS 8L

struct http_xfer {
	struct http_client *hc;
	CURL *easy;
	http_client_done_fn done;
	void *arg;
	TAILQ_ENTRY(http_xfer) entry;
};

struct http_sock {
	struct http_client *hc;
	curl_socket_t fd;
	struct event ev;
	int assigned;          /* ev has been event_assign()ed */
	TAILQ_ENTRY(http_sock) entry;
};

struct http_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	size_t active;
	TAILQ_HEAD(, http_xfer) xfers;
	TAILQ_HEAD(, http_sock) socks;
};

/* Collect finished transfers and report them. */
static void
http_check_multi_info(struct http_client *hc)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(hc->multi, &left)) != NULL) {
		struct http_xfer *x;
		CURL *easy = msg->easy_handle;
		void *priv = NULL;
		CURLcode rc = msg->data.result;
		http_client_done_fn done;
		void *arg;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		x = priv;
		curl_multi_remove_handle(hc->multi, easy);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		if (x == NULL || x->easy != easy) {
			log_error("http", "finished transfer without bookkeeping; ignored");
			continue;
		}
		TAILQ_REMOVE(&hc->xfers, x, entry);
		hc->active--;
		done = x->done;
		arg = x->arg;
		free(x);
		done(easy, rc, arg);
	}
}

static void
http_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *hc = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(hc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_multi_info(hc);
}

static void
http_on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *hc = arg;
	int action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(hc->multi, fd, action, &running);
	/* No "running == 0 -> delete the timer" here (hiperfifo does it): a done callback
	 * may just have added a transfer and armed it. curl disarms via timeout -1. */
	http_check_multi_info(hc);
}

static void
http_sock_free(struct http_client *hc, struct http_sock *sk)
{
	if (sk->assigned)
		event_del(&sk->ev);
	TAILQ_REMOVE(&hc->socks, sk, entry);
	free(sk);
}

/* CURLMOPT_SOCKETFUNCTION: watch, re-watch or forget one socket. */
static int
http_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_client *hc = userp;
	struct http_sock *sk = socketp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sk != NULL) {
			curl_multi_assign(hc->multi, s, NULL);
			http_sock_free(hc, sk);
		}
		return 0;
	}
	if (sk == NULL) {
		sk = calloc(1, sizeof(*sk));
		if (sk == NULL)
			return -1;
		sk->hc = hc;
		sk->fd = s;
		TAILQ_INSERT_TAIL(&hc->socks, sk, entry);
		curl_multi_assign(hc->multi, s, sk);
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (sk->assigned)
		event_del(&sk->ev);
	event_assign(&sk->ev, hc->base, s, kind, http_on_socket_event, hc);
	sk->assigned = 1;
	if (event_add(&sk->ev, NULL) != 0)
		return -1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: arm (or disarm, for -1) the single timer. A timeout of 0 arms
 * a zero timer: curl must not be called from inside this callback. */
static int
http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *hc = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(hc->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(hc->timer, &tv) == 0 ? 0 : -1;
}

int
http_client_new(struct event_base *base, struct http_client **out)
{
	struct http_client *hc;
	int rc = -ENOMEM;

	*out = NULL;
	hc = calloc(1, sizeof(*hc));
	if (hc == NULL)
		goto out;
	hc->base = base;
	TAILQ_INIT(&hc->xfers);
	TAILQ_INIT(&hc->socks);
	hc->multi = curl_multi_init();
	hc->timer = evtimer_new(base, http_on_timer, hc);
	if (hc->multi == NULL || hc->timer == NULL)
		goto out;
	curl_multi_setopt(hc->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	curl_multi_setopt(hc->multi, CURLMOPT_SOCKETDATA, hc);
	curl_multi_setopt(hc->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
	curl_multi_setopt(hc->multi, CURLMOPT_TIMERDATA, hc);
	curl_multi_setopt(hc->multi, CURLMOPT_MAX_HOST_CONNECTIONS, HTTP_MAX_HOST_CONNECTIONS);
	*out = hc;
	hc = NULL;
	rc = 0;
out:
	http_client_destroy(hc);
	return rc;
}

void
http_client_destroy(struct http_client *hc)
{
	struct http_xfer *x;
	struct http_sock *sk;

	if (hc == NULL)
		return;
	while ((x = TAILQ_FIRST(&hc->xfers)) != NULL) {
		TAILQ_REMOVE(&hc->xfers, x, entry);
		curl_multi_remove_handle(hc->multi, x->easy);
		curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
		free(x);
	}
	if (hc->multi != NULL)
		curl_multi_cleanup(hc->multi);
	/* Sockets curl did not report as removed while closing its connections. */
	while ((sk = TAILQ_FIRST(&hc->socks)) != NULL)
		http_sock_free(hc, sk);
	if (hc->timer != NULL)
		event_free(hc->timer);
	free(hc);
}

int
http_client_start(struct http_client *hc, CURL *easy, http_client_done_fn done, void *arg)
{
	struct http_xfer *x = NULL;
	CURLMcode mc;
	int rc;

	if (hc == NULL || easy == NULL || done == NULL) {
		rc = -EINVAL;
		goto out;
	}
	TAILQ_FOREACH(x, &hc->xfers, entry) {
		if (x->easy == easy) {
			x = NULL;
			rc = -EALREADY;
			goto out;
		}
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	x->hc = hc;
	x->easy = easy;
	x->done = done;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	mc = curl_multi_add_handle(hc->multi, easy);
	if (mc != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		rc = mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : mc == CURLM_ADDED_ALREADY ? -EALREADY :
		    -EIO;
		goto out;
	}
	TAILQ_INSERT_TAIL(&hc->xfers, x, entry);
	hc->active++;
	x = NULL;
	rc = 0;
out:
	free(x);
	return rc;
}

void
http_client_cancel(struct http_client *hc, CURL *easy)
{
	struct http_xfer *x;

	if (hc == NULL || easy == NULL)
		return;
	TAILQ_FOREACH(x, &hc->xfers, entry) {
		if (x->easy == easy)
			break;
	}
	if (x == NULL)
		return;
	TAILQ_REMOVE(&hc->xfers, x, entry);
	hc->active--;
	curl_multi_remove_handle(hc->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(x);
}

size_t
http_client_active(const struct http_client *hc)
{
	return hc != NULL ? hc->active : 0;
}
