/* payload.c - storing a payload once per request (payload.h). */
#include "payload.h"
#include "jsonw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
payload_own_text(const struct ievent *ev, char **out)
{
	struct jsonw w;

	*out = NULL;
	if (ev->payload == NULL)
		return 0;
	/* written directly (jsonw: what json_dumps prints, without a second tree) */
	jsonw_init(&w);
	if (ev->payload_shared == NULL || !json_is_object(ev->payload)) {
		jsonw_json(&w, ev->payload);
	} else {
		jsonw_open(&w, '{');
		for (void *it = json_object_iter(ev->payload); it != NULL;
		    it = json_object_iter_next(ev->payload, it)) {
			const char *k = json_object_iter_key(it);
			size_t n = json_object_iter_key_len(it);
			json_t *v = json_object_iter_value(it);

			if (json_object_getn(ev->payload_shared, k, n) == v)
				continue;
			jsonw_key_n(&w, k, n);
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
