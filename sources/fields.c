/* fields.c - reading fields of source payloads. */
#include "fields.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
fields_opt_str(const json_t *obj, const char *key, const char *prefix, const char *name,
    char *err, size_t errlen, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s%s: expected a string", prefix, name);
		return -EINVAL;
	}
	*out = json_string_value(v);
	if (**out == '\0')
		*out = NULL;
	return 0;
}

void
fields_note_missing(char *missing, size_t len, const char *prefix, const char *name)
{
	size_t n = strlen(missing);

	snprintf(missing + n, len - n, "%s%s%s", n ? ", " : "", prefix, name);
}
