/* payload.c - storing a payload once per request (payload.h). */
#include "payload.h"
#include "jsonw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The members of ev->payload that are not shared, as jansson prints them (an object with
 * a key that has a NUL inside, which jsonw does not write). */
static int
own_text_dumped(const struct ievent *ev, char **out)
{
	json_t *own, *v;
	const char *k;

	if ((own = json_object()) == NULL)
		return -ENOMEM;
	json_object_foreach(ev->payload, k, v) {
		if (json_object_get(ev->payload_shared, k) == v)
			continue;
		if (json_object_setn(own, k, json_object_iter_key_len(json_object_key_to_iter(k)),
		    v) != 0) {
			json_decref(own);
			return -ENOMEM;
		}
	}
	*out = json_dumps(own, JSON_COMPACT);
	json_decref(own);
	return *out ? 0 : -ENOMEM;
}

int
payload_own_text(const struct ievent *ev, char **out)
{
	struct jsonw w;
	json_t *v;
	const char *k;

	*out = NULL;
	if (ev->payload == NULL)
		return 0;
	/* written directly (jsonw: what json_dumps prints, without a second tree) */
	jsonw_init(&w);
	if (ev->payload_shared == NULL || !json_is_object(ev->payload)) {
		jsonw_json(&w, ev->payload);
	} else {
		jsonw_open(&w, '{');
		json_object_foreach(ev->payload, k, v) {
			if (json_object_get(ev->payload_shared, k) == v)
				continue;
			if (strlen(k) != json_object_iter_key_len(json_object_key_to_iter(k))) {
				jsonw_clear(&w);
				return own_text_dumped(ev, out);
			}
			jsonw_key(&w, k);
			jsonw_json(&w, v);
		}
		jsonw_close(&w, '}');
	}
	*out = jsonw_take(&w);
	return *out ? 0 : -ENOMEM;
}

static bool
is_object_text(const char *s, size_t n)
{
	return n >= 2 && s[0] == '{' && s[n - 1] == '}';
}

int
payload_join_text(const char *shared, const char *own, char **out)
{
	size_t olen, slen, len;

	*out = NULL;
	if (shared == NULL || own == NULL) {
		if ((own = own ? own : shared) == NULL)
			return 0;
		*out = strdup(own);
		return *out ? 0 : -ENOMEM;
	}
	olen = strlen(own);
	slen = strlen(shared);
	if (!is_object_text(own, olen) || !is_object_text(shared, slen))
		return -EIO;
	len = olen + slen + 2;
	if ((*out = malloc(len)) == NULL)
		return -ENOMEM;
	snprintf(*out, len, "%.*s%s%s", (int)(slen - 1), shared, slen > 2 && olen > 2 ? "," : "",
	    own + 1);
	return 0;
}
