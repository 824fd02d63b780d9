/* fields.h - what every source normalizer does with fields of a JSON body: read an
 * optional string, and collect the names of missing required fields for one message. */
#ifndef INCIDENTD_FIELDS_H
#define INCIDENTD_FIELDS_H

#include <stddef.h>
#include <jansson.h>

/* The string at obj[key] in *out (borrowed from obj): NULL when absent, null or "".
 * Returns 0, or -EINVAL with "<prefix><name>: expected a string" in err when the value is
 * present but not a string. prefix and name say where, as the sender wrote it. */
int fields_opt_str(const json_t *obj, const char *key, const char *prefix, const char *name,
    char *err, size_t errlen, const char **out);

/* Append "<prefix><name>" to the comma-separated list missing (of size len, cut to fit). */
void fields_note_missing(char *missing, size_t len, const char *prefix, const char *name);

#endif
