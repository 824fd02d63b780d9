/* nanomsg.h - the nanomsg side of incidentd: the PULL source (local programs push one JSON
 * body per message, normalized by sources.nanomsg.format and committed through ingest like
 * an HTTP request) and the PUB socket of the live tail (`incidentctl tail`).
 * Event-loop thread only. Neither ever blocks the loop. */
#ifndef INCIDENTD_NANOMSG_H
#define INCIDENTD_NANOMSG_H

#include <stddef.h>

#include "event.h"

struct daemon;
struct nnsource;
struct publisher;

/* Bind a PULL socket at addr (an ipc:// path's directory is created) and watch it on
 * dmn->base. Each message is normalized with the format of dmn->cfg's sources.nanomsg at
 * the time it arrives (so a reload may change the format or disable the source; the
 * address needs a restart) and submitted to dmn->ingest with the events' source. Rejected
 * messages are logged (the reason, never the body) and counted in
 * incidentd_events_rejected_total{source="nanomsg",reason=...}; nothing is stored.
 * dmn is borrowed and must outlive the source. Returns 0 and *out, or a negative errno
 * with the reason in err. */
int nnsource_new(struct daemon *dmn, const char *addr, struct nnsource **out, char *err,
    size_t errlen);

/* Stop receiving (SIGTERM drain): the socket is closed; messages already received stay
 * queued in ingest. NULL is a no-op. */
void nnsource_stop(struct nnsource *src);

/* Stop and free. NULL is a no-op. */
void nnsource_destroy(struct nnsource *src);

/* Bind a PUB socket at addr (an ipc:// path's directory is created). Returns 0 and *out,
 * or a negative errno with the reason in err. */
int publisher_new(const char *addr, struct publisher **out, char *err, size_t errlen);

/* Publish ev as one compact JSON object (ievent_to_json() without payload, plus
 * "incident_key" when incident_key is not NULL; no trailing newline) with NN_DONTWAIT.
 * A message that cannot be sent is dropped and counted
 * (incidentd_tail_messages_total{result="dropped"}); never blocks, never fails. */
void publisher_send_event(struct publisher *pub, const struct ievent *ev,
    const char *incident_key);

/* Close and free. NULL is a no-op. */
void publisher_destroy(struct publisher *pub);

#endif
