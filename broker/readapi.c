/* readapi.c - GET endpoints over the ledger. */
#include "readapi.h"

#include <errno.h>
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>
#include <event2/keyvalq_struct.h>

#include "httputil.h"

static const char *const prefixes[] = { "/v1/incidents", "/v1/events", "/v1/deliveries" };

/* path is exactly prefix, or prefix + "/" + a non-empty id without further slashes. */
static int
match(const char *path, const char *prefix, const char **id)
{
	size_t n = strlen(prefix);

	if (strncmp(path, prefix, n) != 0)
		return 0;
	*id = NULL;
	if (path[n] == '\0')
		return 1;
	if (path[n] != '/' || path[n + 1] == '\0' || strchr(path + n + 1, '/'))
		return 0;
	*id = path + n + 1;
	return 1;
}

bool
readapi_handles(const char *path)
{
	const char *id;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (match(path, prefixes[i], &id))
			return true;
	return false;
}

static void
reply_store(struct evhttp_request *req, int rc, json_t *out, const char *what)
{
	if (rc == 0)
		http_reply_json(req, 200, out);
	else if (rc == -ENOENT)
		http_reply_error(req, 404, what);
	else if (rc == -EBUSY)
		http_reply_error(req, 503, "ledger is busy; retry");
	else
		http_reply_error(req, 500, "cannot read the ledger");
}

void
readapi_handle(struct store *st, struct evhttp_request *req, const char *path,
    const char *query)
{
	struct evkeyvalq params;
	struct store_query q;
	const char *id = NULL, *v;
	json_t *out = NULL;
	int rc;

	TAILQ_INIT(&params);
	if (query && evhttp_parse_query_str(query, &params) != 0) {
		http_reply_error(req, 400, "malformed query string");
		return;
	}
	memset(&q, 0, sizeof(q));
	if ((v = evhttp_find_header(&params, "limit")) != NULL) {
		char *end;
		long l = strtol(v, &end, 10);

		if (*end != '\0' || l < 1 || l > 1000) {
			http_reply_error(req, 400, "limit must be an integer from 1 to 1000");
			goto out;
		}
		q.limit = (int)l;
	}
	q.before_id = evhttp_find_header(&params, "before");
	q.source = evhttp_find_header(&params, "source");
	q.state = evhttp_find_header(&params, "state");
	q.incident_id = evhttp_find_header(&params, "incident");
	v = evhttp_find_header(&params, "failed");
	q.failed_only = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);

	if (match(path, "/v1/incidents", &id)) {
		if (id)
			rc = store_incident_json(st, id, &out);
		else
			rc = store_list_incidents(st, &q, &out);
		reply_store(req, rc, out, "no such incident");
	} else if (match(path, "/v1/events", &id)) {
		if (id)
			rc = store_event_json(st, id, &out);
		else
			rc = store_list_events(st, &q, &out);
		reply_store(req, rc, out, "no such event");
	} else {
		rc = store_list_deliveries(st, &q, &out);
		reply_store(req, rc, out, "no such delivery");
	}
out:
	evhttp_clear_headers(&params);
}
