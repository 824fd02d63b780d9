/* fuzz_common.c - helpers shared by the libFuzzer targets (see fuzz.h). */
#include "fuzz.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>

#include "jsonread.h"

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz: contract broken: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		fuzz_fail("out of memory copying %zu bytes", size);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

size_t
fuzz_read_headers(const uint8_t *data, size_t size, struct evkeyvalq *h)
{
	size_t pos = 0, end = 0;
	bool found = false;

	/* the header block ends at the first empty line */
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] == '\n')) {
			end = i;
			found = true;
			break;
		}
	}
	if (!found)
		return 0;
	while (pos < end) {
		const uint8_t *nl = memchr(data + pos, '\n', end - pos);
		size_t n = (size_t)(nl - (data + pos));
		char *line = fuzz_strndup(data + pos, n), *colon, *value;
		size_t len = strlen(line);

		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		colon = strchr(line, ':');
		if (colon != NULL && colon != line) {
			*colon = '\0';
			value = colon + 1;
			while (*value == ' ' || *value == '\t')
				value++;
			(void)evhttp_add_header(h, line, value);   /* refused: skipped */
		}
		free(line);
		pos += n + 1;
	}
	return end + 1;
}

static void
check_str_map(const json_t *m, const char *what, const char *source)
{
	const char *k;
	json_t *v;

	if (!json_is_object(m))
		fuzz_fail("%s: %s is not an object", source, what);
	json_object_foreach((json_t *)m, k, v) {
		if (!json_is_string(v))
			fuzz_fail("%s: %s.%s is not a string", source, what, k);
	}
}

void
fuzz_check_event(const struct ievent *ev, const char *want)
{
	const char *source = want ? want : "any";
	json_t *j;
	char *text;

	if (ev == NULL)
		fuzz_fail("%s: NULL event appended", source);
	if (strlen(ev->id) != UTIL_ID_LEN)
		fuzz_fail("%s: id '%s' is not %d characters", source, ev->id, UTIL_ID_LEN);
	if (ev->source == NULL || (want != NULL && strcmp(ev->source, want) != 0))
		fuzz_fail("%s: event source is '%s'", source, ev->source ? ev->source : "(null)");
	if (ev->type == NULL || ev->status == NULL)
		fuzz_fail("%s: event without type or status", source);
	if (ev->payload == NULL)
		fuzz_fail("%s: event without payload", source);
	if (ev->n_resources > 0 && ev->resources == NULL)
		fuzz_fail("%s: %zu resources but no array", source, ev->n_resources);
	check_str_map(ev->labels, "labels", source);
	check_str_map(ev->annotations, "annotations", source);
	j = ievent_to_json(ev, true);
	if (j == NULL)
		fuzz_fail("%s: ievent_to_json failed (a string that is not UTF-8?)", source);
	text = json_dumps(j, JSON_COMPACT);
	if (text == NULL)
		fuzz_fail("%s: json_dumps of the event failed", source);
	free(text);
	json_decref(j);
}

int
fuzz_normalize(source_normalize_fn normalize, const char *want,
    const struct source_input *in, const uint8_t *body, size_t size, struct ievent_vec *out)
{
	const char *source = want ? want : "any";
	struct source_input input = *in;
	size_t before = out->n;
	char err[1024];
	json_t *j;
	int rc;

	if (jsonread_loadb((const char *)body, size, &j, err, sizeof(err), NULL, NULL) != 0)
		return 1;
	input.body = j;
	memset(err, 0x5a, sizeof(err));
	err[0] = '\0';
	rc = normalize(&input, out, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		fuzz_fail("%s: err is not NUL-terminated", source);
	switch (rc) {
	case 0:
		if (out->n <= before)
			fuzz_fail("%s: returned 0 but appended no event", source);
		for (size_t i = before; i < out->n; i++)
			fuzz_check_event(out->v[i], want);
		break;
	case -EINVAL:
	case -E2BIG:
		if (err[0] == '\0')
			fuzz_fail("%s: rc %d without a message", source, rc);
		/* fall through */
	case -ENOMEM:
		if (out->n != before)
			fuzz_fail("%s: rc %d but appended %zu events", source, rc, out->n - before);
		break;
	default:
		fuzz_fail("%s: unexpected rc %d", source, rc);
	}
	json_decref(j);
	return rc;
}
