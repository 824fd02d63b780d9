/* template.c - Mustache-style template compiler and renderer. */
#include "template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tnode_kind {
	TNODE_TEXT,
	TNODE_VAR,	/* {{x}}: escaped if the template escapes */
	TNODE_RAW,	/* {{{x}}} and {{&x}} */
	TNODE_SECTION,	/* {{#x}} */
	TNODE_INVERTED	/* {{^x}} */
};

struct tnode {
	enum tnode_kind	 kind;
	char		*str;		/* text, or the name as written */
	size_t		 len;
	char		**path;		/* name split on '.'; NULL for "." */
	size_t		 npath;
	int		 line;		/* where the tag opened, for errors */
	struct tnode	*child;		/* sections: first child */
	struct tnode	*next;
};

struct template {
	enum template_escape	 esc;
	struct tnode		*root;	/* list of top-level nodes */
};

struct tbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

/* One open list that nodes are being appended to while compiling. */
struct tlevel {
	struct tnode	*owner;		/* section node, NULL at top level */
	struct tnode	**tail;		/* where the next node goes */
};

struct tparse {
	const char	*src;
	size_t		 pos;
	size_t		 text_start;
	struct tlevel	 stack[TEMPLATE_MAX_DEPTH + 1];
	int		 depth;
	char		*err;
	size_t		 errlen;
};

static void
tnode_free_list(struct tnode *n)
{
	struct tnode *next;

	while (n != NULL) {
		next = n->next;
		tnode_free_list(n->child);
		for (size_t i = 0; i < n->npath; i++)
			free(n->path[i]);
		free(n->path);
		free(n->str);
		free(n);
		n = next;
	}
}

void
template_destroy(struct template *t)
{
	if (t == NULL)
		return;
	tnode_free_list(t->root);
	free(t);
}

static int
tparse_line(const struct tparse *tp, size_t pos)
{
	int line = 1;

	for (size_t i = 0; i < pos && tp->src[i] != '\0'; i++)
		if (tp->src[i] == '\n')
			line++;
	return line;
}

static int
tparse_error(struct tparse *tp, size_t pos, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (tp->err == NULL || tp->errlen == 0)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(tp->err, tp->errlen, "line %d: %s", tparse_line(tp, pos), msg);
	return -EINVAL;
}

static void
tparse_append(struct tparse *tp, struct tnode *n)
{
	struct tlevel *lv = &tp->stack[tp->depth];

	*lv->tail = n;
	lv->tail = &n->next;
}

static int
tparse_add_text(struct tparse *tp, size_t start, size_t end)
{
	struct tnode *n;

	if (end <= start)
		return 0;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -ENOMEM;
	n->kind = TNODE_TEXT;
	n->len = end - start;
	if ((n->str = strndup(tp->src + start, n->len)) == NULL) {
		free(n);
		return -ENOMEM;
	}
	tparse_append(tp, n);
	return 0;
}

/* Split name on '.' into n->path. "." alone is the implicit iterator (no path). */
static int
tnode_set_name(struct tnode *n, const char *name, size_t len)
{
	size_t count = 1, i, start;
	int rc = -ENOMEM;

	if ((n->str = strndup(name, len)) == NULL)
		goto out;
	n->len = len;
	if (len == 1 && name[0] == '.') {
		rc = 0;
		goto out;
	}
	for (i = 0; i < len; i++)
		if (name[i] == '.')
			count++;
	if ((n->path = calloc(count, sizeof(*n->path))) == NULL)
		goto out;
	for (i = 0, start = 0; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		if ((n->path[n->npath] = strndup(name + start, i - start)) == NULL)
			goto out;
		n->npath++;
		start = i + 1;
	}
	rc = 0;
out:
	return rc;
}

/* Validate a trimmed tag name; returns a static description of the problem or NULL. */
static const char *
tname_problem(const char *name, size_t len)
{
	if (len == 0)
		return "empty name";
	if (len == 1 && name[0] == '.')
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == ' ' || name[i] == '\t' || name[i] == '\n' || name[i] == '\r')
			return "whitespace inside name";
		if (name[i] == '.' && (i == 0 || i + 1 == len || name[i + 1] == '.'))
			return "empty segment in dotted name";
		if (name[i] == '{' || name[i] == '}')
			return "braces inside name";
	}
	return NULL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * A tag that is not an interpolation is standalone if only blanks precede it on its line
 * and only blanks and then a newline (or the end) follow it. Returns true and sets
 * *line_start / *after (the position past the newline) if so.
 */
static bool
tparse_standalone(const struct tparse *tp, size_t tag_start, size_t tag_end,
    size_t *line_start, size_t *after)
{
	const char *s = tp->src;
	size_t i = tag_start;

	while (i > 0 && is_blank(s[i - 1]))
		i--;
	if (i > 0 && s[i - 1] != '\n')
		return false;
	*line_start = i;
	i = tag_end;
	while (is_blank(s[i]))
		i++;
	if (s[i] == '\n')
		i++;
	else if (s[i] == '\r' && s[i + 1] == '\n')
		i += 2;
	else if (s[i] != '\0')
		return false;
	*after = i;
	return true;
}

static int
tparse_open(struct tparse *tp, struct tnode *n, size_t tag_start)
{
	if (tp->depth >= TEMPLATE_MAX_DEPTH) {
		tnode_free_list(n);
		return tparse_error(tp, tag_start, "sections nested deeper than %d",
		    TEMPLATE_MAX_DEPTH);
	}
	tparse_append(tp, n);
	tp->depth++;
	tp->stack[tp->depth].owner = n;
	tp->stack[tp->depth].tail = &n->child;
	return 0;
}

static int
tparse_close(struct tparse *tp, const char *name, size_t len, size_t tag_start)
{
	struct tnode *open = tp->stack[tp->depth].owner;

	if (open == NULL)
		return tparse_error(tp, tag_start, "unexpected close tag {{/%.*s}}", (int)len,
		    name);
	if (open->len != len || memcmp(open->str, name, len) != 0)
		return tparse_error(tp, tag_start,
		    "mismatched close tag {{/%.*s}}, expected {{/%s}} (opened on line %d)",
		    (int)len, name, open->str, open->line);
	tp->depth--;
	return 0;
}

/* Parse the tag starting at tp->pos ("{{"); on success tp->pos is past it. */
static int
tparse_tag(struct tparse *tp)
{
	const char *s = tp->src, *body, *close, *name;
	size_t tag_start = tp->pos, tag_end, nlen, ls, after;
	struct tnode *n = NULL;
	const char *problem;
	char sigil = '\0';
	int rc;

	body = s + tag_start + 2;
	if (*body == '{') {
		sigil = '{';
		body++;
		close = strstr(body, "}}}");
	} else {
		if (*body != '\0' && strchr("#^/!&>=", *body) != NULL)
			sigil = *body++;
		close = strstr(body, "}}");
	}
	if (close == NULL)
		return tparse_error(tp, tag_start, "unterminated tag");
	tag_end = (size_t)(close - s) + (sigil == '{' ? 3 : 2);
	if (sigil == '>' || sigil == '=')
		return tparse_error(tp, tag_start, "%s tags are not supported",
		    sigil == '>' ? "partial" : "set-delimiter");

	/* Text before the tag, minus the indentation of a standalone tag. */
	if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!') {
		if (tparse_standalone(tp, tag_start, tag_end, &ls, &after)) {
			if ((rc = tparse_add_text(tp, tp->text_start, ls)) != 0)
				return rc;
			tag_end = after;
		} else if ((rc = tparse_add_text(tp, tp->text_start, tag_start)) != 0)
			return rc;
	} else if ((rc = tparse_add_text(tp, tp->text_start, tag_start)) != 0)
		return rc;
	tp->pos = tp->text_start = tag_end;
	if (sigil == '!')
		return 0;

	name = body;
	nlen = (size_t)(close - body);
	while (nlen > 0 && strchr(" \t\r\n", *name) != NULL) {
		name++;
		nlen--;
	}
	while (nlen > 0 && strchr(" \t\r\n", name[nlen - 1]) != NULL)
		nlen--;
	if ((problem = tname_problem(name, nlen)) != NULL)
		return tparse_error(tp, tag_start, "%s in tag", problem);
	if (sigil == '/')
		return tparse_close(tp, name, nlen, tag_start);

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -ENOMEM;
	n->line = tparse_line(tp, tag_start);
	switch (sigil) {
	case '#':
		n->kind = TNODE_SECTION;
		break;
	case '^':
		n->kind = TNODE_INVERTED;
		break;
	case '{':
	case '&':
		n->kind = TNODE_RAW;
		break;
	default:
		n->kind = TNODE_VAR;
		break;
	}
	if ((rc = tnode_set_name(n, name, nlen)) != 0) {
		tnode_free_list(n);
		return rc;
	}
	if (n->kind == TNODE_SECTION || n->kind == TNODE_INVERTED)
		return tparse_open(tp, n, tag_start);
	tparse_append(tp, n);
	return 0;
}

int
template_compile(const char *text, enum template_escape esc, struct template **out,
    char *err, size_t errlen)
{
	struct template *t = NULL;
	struct tparse tp;
	const char *open;
	int rc = -EINVAL;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&tp, 0, sizeof(tp));
	tp.src = text;
	tp.err = err;
	tp.errlen = errlen;
	if (text == NULL || out == NULL) {
		rc = -EINVAL;
		goto out;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	t->esc = esc;
	tp.stack[0].tail = &t->root;
	while ((open = strstr(text + tp.pos, "{{")) != NULL) {
		tp.pos = (size_t)(open - text);
		if ((rc = tparse_tag(&tp)) != 0)
			goto out;
	}
	if ((rc = tparse_add_text(&tp, tp.text_start, strlen(text))) != 0)
		goto out;
	if (tp.depth > 0) {
		struct tnode *o = tp.stack[tp.depth].owner;

		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "line %d: unclosed section {{%c%s}}", o->line,
			    o->kind == TNODE_SECTION ? '#' : '^', o->str);
		rc = -EINVAL;
		goto out;
	}
	*out = t;
	t = NULL;
	rc = 0;
out:
	template_destroy(t);
	return rc;
}

/* ---- rendering ---- */

static int
tbuf_add(struct tbuf *b, const char *s, size_t len)
{
	size_t need = b->len + len + 1, cap;
	char *p;

	if (need > b->cap) {
		cap = b->cap != 0 ? b->cap : 128;
		while (cap < need)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

static int
tbuf_add_escaped(struct tbuf *b, const char *s, size_t len)
{
	size_t run = 0;
	const char *rep;
	int rc;

	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		default:
			continue;
		}
		if ((rc = tbuf_add(b, s + run, i - run)) != 0 ||
		    (rc = tbuf_add(b, rep, strlen(rep))) != 0)
			return rc;
		run = i + 1;
	}
	return tbuf_add(b, s + run, len - run);
}

/* Shortest "%.*g" form of v that reads back as v. */
static void
format_real(double v, char *buf, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* Resolve n's name against the context stack (ctx[0..nctx-1], innermost last). Returns a
 * borrowed value or NULL when missing. */
static json_t *
tnode_lookup(const struct tnode *n, json_t *const *ctx, int nctx)
{
	json_t *v = NULL;

	if (n->path == NULL)
		return ctx[nctx - 1];
	for (int i = nctx - 1; i >= 0 && v == NULL; i--)
		if (json_is_object(ctx[i]))
			v = json_object_get(ctx[i], n->path[0]);
	for (size_t k = 1; k < n->npath && v != NULL; k++)
		v = json_is_object(v) ? json_object_get(v, n->path[k]) : NULL;
	return v;
}

static bool
value_truthy(const json_t *v)
{
	if (v == NULL || json_is_null(v) || json_is_false(v))
		return false;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	return true;
}

static int
render_value(struct tbuf *b, const json_t *v, bool escape)
{
	char num[64], *dump = NULL;
	const char *s = "";
	size_t len = 0;
	int rc;

	if (v == NULL || json_is_null(v))
		return 0;
	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		len = json_string_length(v);
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		s = num;
		len = strlen(num);
		break;
	case JSON_REAL:
		format_real(json_real_value(v), num, sizeof(num));
		s = num;
		len = strlen(num);
		break;
	case JSON_TRUE:
		s = "true";
		len = 4;
		break;
	case JSON_FALSE:
		s = "false";
		len = 5;
		break;
	default:
		if ((dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
			return -ENOMEM;
		s = dump;
		len = strlen(dump);
		break;
	}
	rc = escape ? tbuf_add_escaped(b, s, len) : tbuf_add(b, s, len);
	free(dump);
	return rc;
}

static int render_list(const struct template *, const struct tnode *, struct tbuf *,
    json_t **, int);

static int
render_section(const struct template *t, const struct tnode *n, struct tbuf *b,
    json_t **ctx, int nctx)
{
	json_t *v = tnode_lookup(n, ctx, nctx);
	int rc = 0;

	if (n->kind == TNODE_INVERTED)
		return value_truthy(v) ? 0 : render_list(t, n->child, b, ctx, nctx);
	if (!value_truthy(v))
		return 0;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v) && rc == 0; i++) {
			ctx[nctx] = json_array_get(v, i);
			rc = render_list(t, n->child, b, ctx, nctx + 1);
		}
		return rc;
	}
	ctx[nctx] = v;
	return render_list(t, n->child, b, ctx, nctx + 1);
}

/* ctx has room for TEMPLATE_MAX_DEPTH + 1 entries; nesting is bounded at compile time. */
static int
render_list(const struct template *t, const struct tnode *n, struct tbuf *b, json_t **ctx,
    int nctx)
{
	int rc = 0;

	for (; n != NULL && rc == 0; n = n->next) {
		switch (n->kind) {
		case TNODE_TEXT:
			rc = tbuf_add(b, n->str, n->len);
			break;
		case TNODE_VAR:
		case TNODE_RAW:
			rc = render_value(b, tnode_lookup(n, ctx, nctx),
			    n->kind == TNODE_VAR && t->esc == TEMPLATE_ESCAPE_HTML);
			break;
		case TNODE_SECTION:
		case TNODE_INVERTED:
			rc = render_section(t, n, b, ctx, nctx);
			break;
		}
	}
	return rc;
}

int
template_render(const struct template *t, const json_t *data, char **out)
{
	json_t *ctx[TEMPLATE_MAX_DEPTH + 1];
	struct tbuf b = { NULL, 0, 0 };
	int rc;

	if (t == NULL || out == NULL)
		return -EINVAL;
	/* The renderer never modifies data; the cast only feeds jansson's getters. */
	ctx[0] = (json_t *)(uintptr_t)data;
	if ((rc = tbuf_add(&b, "", 0)) != 0)
		goto out;
	if ((rc = render_list(t, t->root, &b, ctx, 1)) != 0)
		goto out;
	*out = b.p;
	b.p = NULL;
out:
	free(b.p);
	return rc;
}

/* ---- names ---- */

static int
names_collect(const struct tnode *n, json_t *seen, json_t *arr)
{
	int rc = 0;

	for (; n != NULL && rc == 0; n = n->next) {
		if (n->kind == TNODE_TEXT)
			continue;
		if (json_object_get(seen, n->str) == NULL) {
			if (json_object_set_new(seen, n->str, json_true()) != 0 ||
			    json_array_append_new(arr, json_string_nocheck(n->str)) != 0)
				return -ENOMEM;
		}
		rc = names_collect(n->child, seen, arr);
	}
	return rc;
}

int
template_names(const struct template *t, json_t **out)
{
	json_t *seen = json_object(), *arr = json_array();
	int rc = -ENOMEM;

	if (t == NULL || out == NULL) {
		rc = -EINVAL;
		goto out;
	}
	if (seen == NULL || arr == NULL)
		goto out;
	if ((rc = names_collect(t->root, seen, arr)) != 0)
		goto out;
	*out = arr;
	arr = NULL;
out:
	json_decref(seen);
	json_decref(arr);
	return rc;
}
