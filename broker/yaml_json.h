/* yaml_json.h - one YAML document (libyaml) into a jansson value, with ${ENV} expansion in
 * scalars and a record of where every value came from ("file:line" by dotted path). */
#ifndef INCIDENTD_YAML_JSON_H
#define INCIDENTD_YAML_JSON_H

#include <stddef.h>
#include <jansson.h>

/* Parse the YAML text (len bytes) named name (used in messages and in where values).
 * Plain scalars are typed like YAML 1.2's core schema (null, booleans, integers, floats,
 * else strings); quoted scalars are strings. Environment references are expanded in every
 * scalar before typing (see config.h). Anchors/aliases, non-string keys, duplicate keys
 * and multiple documents are errors. An empty document gives an empty object.
 * Returns 0, *out (new reference) and fills where (borrowed object: path -> "name:line"),
 * or a negative errno with "name:line:col: what" in err. */
int yaml_json_parse(const char *text, size_t len, const char *name, json_t **out,
    json_t *where, char *err, size_t errlen);

/* Expand ${NAME}, ${NAME:-word}, ${NAME:+word} and $$ in s. Returns 0 and a new string in
 * *out, or -EINVAL with a message naming the variable (never its value), or -ENOMEM. */
int yaml_json_expand_env(const char *s, char **out, char *err, size_t errlen);

#endif
