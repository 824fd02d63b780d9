/* payload.c - storing a payload once per request (payload.h). */
#include "payload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
payload_own_text(const struct ievent *ev, char **out)
{
	json_t *own, *v;
	const char *k;

	*out = NULL;
	if (ev->payload == NULL)
		return 0;
	if (ev->payload_shared == NULL || !json_is_object(ev->payload)) {
		*out = json_dumps(ev->payload, JSON_COMPACT | JSON_ENCODE_ANY);
		return *out ? 0 : -ENOMEM;
	}
	if ((own = json_object()) == NULL)
		return -ENOMEM;
	json_object_foreach(ev->payload, k, v) {
		if (json_object_get(ev->payload_shared, k) == v)
			continue;
		if (json_object_set(own, k, v) != 0) {
			json_decref(own);
			return -ENOMEM;
		}
	}
	*out = json_dumps(own, JSON_COMPACT);
	json_decref(own);
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
