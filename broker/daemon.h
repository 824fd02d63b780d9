/* daemon.h - the state of one running incidentd, shared by main, the server and reloads.
 * Event-loop thread only. */
#ifndef INCIDENTD_DAEMON_H
#define INCIDENTD_DAEMON_H

#include <stdbool.h>
#include <event2/event.h>

#include "config.h"
#include "dispatcher.h"
#include "ingest.h"
#include "plugin.h"
#include "store.h"

struct server;
struct retention;
struct reconcile;
struct nnsource;
struct publisher;

struct daemon {
	struct event_base *base;
	struct config *cfg;           /* active configuration */
	struct store *store;
	struct plugin_host *phost;
	struct sink_set *sinks;       /* active sink instances (built from cfg) */
	struct ingest *ingest;
	struct dispatcher *disp;
	struct retention *retention;  /* ledger.retention's pruning passes */
	struct reconcile *reconcile;  /* sources.github.reconcile's passes */
	struct server *server;
	struct nnsource *nnsrc;       /* the nanomsg PULL source, or NULL */
	struct publisher *pub;        /* the live tail's PUB socket, or NULL */
	const char *config_dir;       /* NULL = embedded defaults */
	const char *plugin_dir;
	bool draining;
	/* Reload conf.d now (POST /-/reload): 0, or -errno with the reason in err. */
	int (*reload)(void *arg, char *err, size_t errlen);
	void *reload_arg;
};

#endif
