/* template.h - Mustache-style templates over JSON data (issue titles, agent prompts,
 * Slack text; DESIGN.md §8).
 *
 * Supported: {{name}}, {{a.b}}, {{.}} (HTML-escaped when compiled with
 * TEMPLATE_ESCAPE_HTML), {{{name}}} and {{&name}} (never escaped), sections {{#x}}...{{/x}},
 * inverted sections {{^x}}...{{/x}}, comments {{! ... }}, the spec's standalone-line rules
 * and context-stack lookup. Not supported (compile error): partials {{>x}}, set-delimiter
 * tags {{=<% %>=}}; lambdas do not exist in JSON data.
 *
 * Falsey section values: missing, null, false, [] and "". Everything else is truthy (also
 * 0 and {}). Arrays iterate; other truthy values are pushed on the context stack once.
 * Interpolation: strings as is, integers plain, reals in the shortest form that round-trips
 * ("1.21"), true/false as words, null/missing as nothing, objects/arrays as compact JSON.
 */
#ifndef INCIDENTD_TEMPLATE_H
#define INCIDENTD_TEMPLATE_H

#include <stddef.h>
#include <jansson.h>

enum template_escape {
	TEMPLATE_ESCAPE_NONE,	/* markdown / plain text callers */
	TEMPLATE_ESCAPE_HTML	/* {{x}} escapes & < > " (what the Mustache spec expects) */
};

#define TEMPLATE_MAX_DEPTH 32	/* deepest allowed section nesting */

struct template;	/* compiled, immutable, reusable; safe to render from many threads */

/* Compile text (NUL-terminated, borrowed; not referenced after return). Returns 0 and a
 * new template in *out (free with template_destroy), -ENOMEM, or -EINVAL with
 * "line L: what" written to err (if err != NULL and errlen > 0) for an unclosed section,
 * a mismatched or unexpected close tag, an unterminated tag, an empty or malformed name,
 * sections nested deeper than TEMPLATE_MAX_DEPTH, or an unsupported tag (partial,
 * set-delimiter). *out is untouched on error. Never calls back. */
int template_compile(const char *text, enum template_escape esc, struct template **out,
    char *err, size_t errlen);

/* Render t with data (any JSON value, usually an object; borrowed, may be NULL = empty).
 * Returns 0 and a new malloc'd NUL-terminated string in *out (caller frees), or -ENOMEM
 * (*out untouched). Never calls back. */
int template_render(const struct template *t, const json_t *data, char **out);

/* Free t. NULL is a no-op. */
void template_destroy(struct template *t);

/* The names t references (variables and sections, as written: "a.b", "."), each once, in
 * order of first appearance, for config-time validation. Names inside a section may
 * resolve relative to that section's value. Returns 0 and a NEW reference to a JSON array
 * of strings in *out (caller decrefs), or -ENOMEM. */
int template_names(const struct template *t, json_t **out);

#endif
