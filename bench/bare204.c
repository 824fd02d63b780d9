/*
 * bare204: the reference point of the ingest benchmark.
 *
 * A minimal libevent evhttp server on 127.0.0.1:PORT that answers every request
 * "204 No Content" once its body has been read (evhttp reads the whole body before
 * calling the handler). It does no parsing and no I/O besides the socket, so it measures
 * what libevent's HTTP layer alone costs; bench/run.sh compares incidentd to it.
 *
 * Build: cc -O2 bare204.c $(pkg-config --cflags --libs libevent)
 * Usage: bare204 PORT        (0: any free port; stops on SIGINT or SIGTERM)
 * Prints "bare204: listening on 127.0.0.1:PORT" on stdout once it listens.
 */

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

static void
bare_handle_request(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);

	(void)arg;
	/* the body has been read in full; drop it, as a real handler would consume it */
	evbuffer_drain(in, evbuffer_get_length(in));
	evhttp_send_reply(req, 204, "No Content", NULL);
}

static void
bare_handle_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static int
bare_parse_port(const char *s, unsigned short *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 65535)
		return -EINVAL;
	*port = (unsigned short)v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct event_base *base = NULL;
	struct evhttp *http = NULL;
	struct evhttp_bound_socket *bound;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct event *sigint = NULL, *sigterm = NULL;
	unsigned short port;
	int rc = 1;

	if (argc != 2 || bare_parse_port(argv[1], &port) != 0) {
		fprintf(stderr, "usage: bare204 PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		goto out;
	if ((http = evhttp_new(base)) == NULL)
		goto out;
	evhttp_set_max_body_size(http, 1024 * 1024);
	evhttp_set_gencb(http, bare_handle_request, NULL);
	bound = evhttp_bind_socket_with_handle(http, "127.0.0.1", port);
	if (bound == NULL || getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&sin, &slen) != 0) {
		fprintf(stderr, "bare204: cannot listen on 127.0.0.1:%u\n", port);
		goto out;
	}
	printf("bare204: listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	sigint = evsignal_new(base, SIGINT, bare_handle_signal, base);
	sigterm = evsignal_new(base, SIGTERM, bare_handle_signal, base);
	if (sigint == NULL || sigterm == NULL ||
	    evsignal_add(sigint, NULL) != 0 || evsignal_add(sigterm, NULL) != 0)
		goto out;
	if (event_base_dispatch(base) < 0)
		goto out;
	rc = 0;
out:
	if (sigint != NULL)
		event_free(sigint);
	if (sigterm != NULL)
		event_free(sigterm);
	if (http != NULL)
		evhttp_free(http);
	if (base != NULL)
		event_base_free(base);
	return rc;
}
