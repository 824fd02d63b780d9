/* ticket_sink.c - a complete example sink: "files a ticket" for every delivery by logging
 * it, finishing each delivery from a timer (never from inside deliver()). Build it out of
 * tree with:
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags incidentd-sink) \
 *      ticket_sink.c -o ticket_sink.so
 * and use it with `plugin: /path/to/ticket_sink.so` in conf.d. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <incidentd/sink.h>

struct ticket_sink {
	const struct incidentd_host *host;
	struct incidentd_instance *self;
	long next_ticket;
};

/* One delivery in flight. */
struct ticket_job {
	struct ticket_sink *s;
	incidentd_done_fn done;
	struct incidentd_call *call;
	long ticket;
};

static int
ticket_init(const struct incidentd_host *host, struct incidentd_instance *self,
    const char *config_json, void **state, char *err, size_t errlen)
{
	struct ticket_sink *s;

	/* This sink has no options: anything but {} is an unknown key. A real sink parses
	 * config_json with a JSON library and names the unknown key in err. */
	if (strcmp(config_json, "{}") != 0) {
		snprintf(err, errlen, "ticket_sink takes no options");
		return -EINVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->host = host;
	s->self = self;
	s->next_ticket = 1;
	*state = s;
	return 0;
}

/* The timer fired: the "ticket" exists; report it. */
static void
ticket_finish(void *arg)
{
	struct ticket_job *j = arg;
	char result[64];

	snprintf(result, sizeof(result), "{\"ticket\": %ld}", j->ticket);
	j->done(j->call, INCIDENTD_OK, 0, "ticket filed", result);
	free(j);
}

static int
ticket_deliver(void *state, const struct incidentd_delivery *d, incidentd_done_fn done,
    struct incidentd_call *call)
{
	struct ticket_sink *s = state;
	struct ticket_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return -ENOMEM;           /* not started: the broker retries later */
	j->s = s;
	j->done = done;
	j->call = call;
	j->ticket = s->next_ticket++;
	s->host->log(s->self, INCIDENTD_LOG_INFO, "delivery %lld: %s of %s -> ticket %ld",
	    (long long)d->id, d->action, d->incident_key, j->ticket);
	/* Real work would start an HTTP request with host->http_start(); done() is called
	 * exactly once, later, from the loop: here from a zero timer. */
	if (s->host->timer_start(s->self, 0, ticket_finish, j) == NULL) {
		free(j);
		return -ENOMEM;
	}
	return 0;
}

static void
ticket_destroy(void *state)
{
	free(state);    /* called after every done(): no job is left */
}

static const struct incidentd_sink ticket_descriptor = {
	.abi_version = INCIDENTD_SINK_ABI_VERSION,
	.struct_size = sizeof(struct incidentd_sink),
	.name = "ticket_sink",
	.description = "example: files a ticket per delivery",
	.init = ticket_init,
	.deliver = ticket_deliver,
	.destroy = ticket_destroy,
};

INCIDENTD_SINK_EXPORT const struct incidentd_sink *
incidentd_sink_entry(void)
{
	return &ticket_descriptor;
}
