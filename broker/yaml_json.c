/* yaml_json.c - YAML (libyaml event API) to jansson, with where-tracking and ${ENV}. */
#include "yaml_json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YJ_MAX_DEPTH 64

struct yj {
	yaml_parser_t parser;
	const char *name;
	json_t *where;
	char *err;
	size_t errlen;
};

int
yaml_json_expand_env(const char *s, char **out, char *err, size_t errlen)
{
	size_t cap = strlen(s) + 1, len = 0;
	char *buf = malloc(cap);
	const char *p = s;
	int rc = -EINVAL;

	*out = NULL;
	if (buf == NULL)
		return -ENOMEM;
	while (*p) {
		const char *add = p;
		size_t addlen = 1;
		char name[128];

		if (p[0] == '$' && p[1] == '$') {
			addlen = 1;
			p += 2;
		} else if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p + 2, '}');
			const char *op, *word = NULL, *v;
			size_t nlen, wlen = 0;
			char mode = 0;

			if (end == NULL) {
				snprintf(err, errlen, "unterminated ${ in '%.40s'", s);
				goto out;
			}
			op = p + 2;
			while (op < end && (op[0] != ':' || (op[1] != '-' && op[1] != '+')))
				op++;
			nlen = (size_t)(op - (p + 2));
			if (op < end) {
				mode = op[1];
				word = op + 2;
				wlen = (size_t)(end - word);
			}
			if (nlen == 0 || nlen >= sizeof(name)) {
				snprintf(err, errlen, "empty or too long variable name in '%.40s'", s);
				goto out;
			}
			memcpy(name, p + 2, nlen);
			name[nlen] = '\0';
			for (size_t i = 0; i < nlen; i++) {
				char ch = name[i];

				if (!(ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
				    (i > 0 && ch >= '0' && ch <= '9'))) {
					snprintf(err, errlen, "'%s' is not a valid environment variable "
					    "name", name);
					goto out;
				}
			}
			v = getenv(name);
			if (mode == 0) {
				if (v == NULL) {
					snprintf(err, errlen, "environment variable %s is not set", name);
					goto out;
				}
				add = v;
				addlen = strlen(v);
			} else if (mode == '-') {
				if (v != NULL && *v != '\0') {
					add = v;
					addlen = strlen(v);
				} else {
					add = word;
					addlen = wlen;
				}
			} else {
				add = (v != NULL && *v != '\0') ? word : "";
				addlen = (v != NULL && *v != '\0') ? wlen : 0;
			}
			p = end + 1;
		} else {
			p++;
		}
		if (len + addlen + 1 > cap) {
			char *nb;

			cap = (len + addlen + 1) * 2;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		memcpy(buf + len, add, addlen);
		len += addlen;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

static int
fail_at(struct yj *y, const yaml_mark_t *m, const char *fmt, const char *arg)
{
	char what[512];

	snprintf(what, sizeof(what), fmt, arg);
	snprintf(y->err, y->errlen, "%s:%zu:%zu: %s", y->name, m->line + 1, m->column + 1, what);
	return -EINVAL;
}

static int
next_event(struct yj *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->parser, ev)) {
		snprintf(y->err, y->errlen, "%s:%zu:%zu: %s%s%s", y->name,
		    y->parser.problem_mark.line + 1, y->parser.problem_mark.column + 1,
		    y->parser.problem ? y->parser.problem : "YAML error",
		    y->parser.context ? " " : "", y->parser.context ? y->parser.context : "");
		return -EINVAL;
	}
	return 0;
}

static void
record_where(struct yj *y, const char *path, const yaml_mark_t *m)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s:%zu", y->name, m->line + 1);
	json_object_set_new(y->where, path[0] ? path : ".", json_string(buf));
}

/* Type a plain scalar (after expansion) per the YAML 1.2 core schema. */
static json_t *
plain_value(const char *s)
{
	char *end;

	if (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		return json_null();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return json_false();
	if ((s[0] >= '0' && s[0] <= '9') || ((s[0] == '-' || s[0] == '+') && s[1] >= '0' &&
	    s[1] <= '9')) {
		long long v;
		double d;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (*end == '\0' && errno == 0)
			return json_integer(v);
		errno = 0;
		d = strtod(s, &end);
		if (*end == '\0' && errno == 0 && strpbrk(s, "xXpP") == NULL)
			return json_real(d);
	}
	return json_string(s);
}

static int parse_node(struct yj *y, yaml_event_t *first, const char *path, int depth,
    json_t **out);

static int
parse_scalar(struct yj *y, yaml_event_t *e, const char *path, json_t **out)
{
	const char *raw = (const char *)e->data.scalar.value;
	char *val = NULL, msg[512];
	int rc;

	rc = yaml_json_expand_env(raw, &val, msg, sizeof(msg));
	if (rc == -EINVAL) {
		snprintf(y->err, y->errlen, "%s:%zu: %s: %s", y->name, e->start_mark.line + 1,
		    path[0] ? path : "(top)", msg);
		return rc;
	}
	if (rc != 0)
		return rc;
	if (e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && e->data.scalar.tag == NULL)
		*out = plain_value(val);
	else
		*out = json_string(val);
	free(val);
	return *out ? 0 : -ENOMEM;
}

static int
child_path(char *buf, size_t len, const char *path, const char *key)
{
	int n = snprintf(buf, len, "%s%s%s", path, path[0] ? "." : "", key);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static int
parse_mapping(struct yj *y, const char *path, int depth, json_t **out)
{
	json_t *obj = json_object();
	yaml_event_t ke, ve;
	char child[1024];
	int rc = 0;

	if (obj == NULL)
		return -ENOMEM;
	for (;;) {
		const char *key;
		json_t *v = NULL;

		if ((rc = next_event(y, &ke)) != 0)
			goto out;
		if (ke.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ke);
			break;
		}
		if (ke.type != YAML_SCALAR_EVENT) {
			rc = fail_at(y, &ke.start_mark, "%s", "mapping keys must be strings");
			yaml_event_delete(&ke);
			goto out;
		}
		key = (const char *)ke.data.scalar.value;
		if (json_object_get(obj, key) != NULL) {
			char prev[64] = "";

			if ((rc = child_path(child, sizeof(child), path, key)) == 0) {
				const char *w = json_string_value(json_object_get(y->where, child));
				const char *colon = w ? strrchr(w, ':') : NULL;

				snprintf(prev, sizeof(prev), "%s", colon ? colon + 1 : "?");
			}
			char msg[256];

			snprintf(msg, sizeof(msg), "duplicate key '%.100s' (first at line %s)",
			    key, prev);
			rc = fail_at(y, &ke.start_mark, "%s", msg);
			yaml_event_delete(&ke);
			goto out;
		}
		if (child_path(child, sizeof(child), path, key) != 0) {
			rc = fail_at(y, &ke.start_mark, "%s", "too deep: the path to this key is "
			    "longer than 1,023 bytes");
			yaml_event_delete(&ke);
			goto out;
		}
		record_where(y, child, &ke.start_mark);
		if ((rc = next_event(y, &ve)) != 0) {
			yaml_event_delete(&ke);
			goto out;
		}
		rc = parse_node(y, &ve, child, depth + 1, &v);
		if (rc == 0 && json_object_set_new(obj, key, v) != 0)
			rc = -ENOMEM;
		yaml_event_delete(&ke);
		if (rc != 0)
			goto out;
	}
out:
	if (rc != 0) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

static int
parse_sequence(struct yj *y, const char *path, int depth, json_t **out)
{
	json_t *arr = json_array();
	yaml_event_t e;
	char child[1024], idx[24];
	int rc = 0;

	if (arr == NULL)
		return -ENOMEM;
	for (;;) {
		json_t *v = NULL;

		if ((rc = next_event(y, &e)) != 0)
			break;
		if (e.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&e);
			break;
		}
		snprintf(idx, sizeof(idx), "%zu", json_array_size(arr));
		if (child_path(child, sizeof(child), path, idx) != 0) {
			rc = fail_at(y, &e.start_mark, "%s", "too deep: the path to this item is "
			    "longer than 1,023 bytes");
			yaml_event_delete(&e);
			break;
		}
		record_where(y, child, &e.start_mark);
		rc = parse_node(y, &e, child, depth + 1, &v);
		if (rc == 0 && json_array_append_new(arr, v) != 0)
			rc = -ENOMEM;
		if (rc != 0)
			break;
	}
	if (rc != 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* Parse the node starting with event first (consumed and deleted here). */
static int
parse_node(struct yj *y, yaml_event_t *first, const char *path, int depth, json_t **out)
{
	int rc;

	if (depth > YJ_MAX_DEPTH) {
		rc = fail_at(y, &first->start_mark, "%s", "nesting too deep");
		yaml_event_delete(first);
		return rc;
	}
	switch (first->type) {
	case YAML_SCALAR_EVENT:
		if (first->data.scalar.anchor != NULL)
			rc = fail_at(y, &first->start_mark, "%s", "anchors are not supported");
		else
			rc = parse_scalar(y, first, path, out);
		break;
	case YAML_MAPPING_START_EVENT:
		if (first->data.mapping_start.anchor != NULL)
			rc = fail_at(y, &first->start_mark, "%s", "anchors are not supported");
		else
			rc = parse_mapping(y, path, depth, out);
		break;
	case YAML_SEQUENCE_START_EVENT:
		if (first->data.sequence_start.anchor != NULL)
			rc = fail_at(y, &first->start_mark, "%s", "anchors are not supported");
		else
			rc = parse_sequence(y, path, depth, out);
		break;
	case YAML_ALIAS_EVENT:
		rc = fail_at(y, &first->start_mark, "%s", "aliases are not supported");
		break;
	default:
		rc = fail_at(y, &first->start_mark, "%s", "unexpected YAML event");
		break;
	}
	yaml_event_delete(first);
	return rc;
}

int
yaml_json_parse(const char *text, size_t len, const char *name, json_t **out,
    json_t *where, char *err, size_t errlen)
{
	struct yj y = { .name = name, .where = where, .err = err, .errlen = errlen };
	yaml_event_t e;
	json_t *doc = NULL;
	int rc, docs = 0;

	*out = NULL;
	if (!yaml_parser_initialize(&y.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
	for (;;) {
		if ((rc = next_event(&y, &e)) != 0)
			goto out;
		if (e.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&e);
			break;
		}
		if (e.type == YAML_DOCUMENT_START_EVENT) {
			if (++docs > 1) {
				rc = fail_at(&y, &e.start_mark, "%s", "only one YAML document per "
				    "file");
				yaml_event_delete(&e);
				goto out;
			}
			yaml_event_delete(&e);
			if ((rc = next_event(&y, &e)) != 0)
				goto out;
			if (e.type == YAML_DOCUMENT_END_EVENT) {
				yaml_event_delete(&e);
				continue;
			}
			rc = parse_node(&y, &e, "", 0, &doc);
			if (rc != 0)
				goto out;
			continue;
		}
		yaml_event_delete(&e);
	}
	if (doc == NULL || json_is_null(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "%s:1: the top level must be a mapping", name);
		rc = -EINVAL;
		goto out;
	}
	*out = doc;
	doc = NULL;
	rc = 0;
out:
	json_decref(doc);
	yaml_parser_delete(&y.parser);
	return rc;
}
