/* httputil.c - JSON answers for evhttp handlers. */
#include "httputil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

const char *
http_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

void
http_reply_json(struct evhttp_request *req, int code, json_t *body)
{
	struct evbuffer *buf = evbuffer_new();
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	if (buf && text) {
		evbuffer_add(buf, text, strlen(text));
		evbuffer_add(buf, "\n", 1);
	}
	evhttp_send_reply(req, code, http_reason(code), buf);
	if (buf)
		evbuffer_free(buf);
	free(text);
	json_decref(body);
}

/* Replace every byte of s that does not start or continue a valid UTF-8 sequence (RFC
 * 3629: no overlongs, no surrogates, at most U+10FFFF) with '?', in place. */
static void
utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		    (*p & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = n > 0;

		for (size_t i = 1; ok && i < n; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (ok && n == 2)
			ok = *p >= 0xc2;
		if (ok && n == 3)
			ok = !(*p == 0xe0 && p[1] < 0xa0) && !(*p == 0xed && p[1] >= 0xa0);
		if (ok && n == 4)
			ok = *p <= 0xf4 && !(*p == 0xf0 && p[1] < 0x90) && !(*p == 0xf4 && p[1] >= 0x90);
		if (!ok) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

void
http_reply_error(struct evhttp_request *req, int code, const char *msg)
{
	json_t *body = json_pack("{s:s}", "error", msg ? msg : http_reason(code));

	if (body == NULL && msg != NULL) {
		/* msg quotes input that is not UTF-8 (or was cut inside a character): keep the
		 * message, with '?' for each byte that is not part of a valid character */
		char *fixed = strdup(msg);

		if (fixed != NULL) {
			utf8_scrub(fixed);
			body = json_pack("{s:s}", "error", fixed);
			free(fixed);
		}
	}
	if (body == NULL)
		body = json_pack("{s:s}", "error", http_reason(code));
	http_reply_json(req, code, body);
}
