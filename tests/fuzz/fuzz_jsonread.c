/* fuzz_jsonread.c - differential libFuzzer target: jsonread_loadb() against jansson's
 * json_loadb(buf, len, 0, &e) on the same bytes. The input is a request body.
 *
 * Aborts unless the two agree: both accept and the trees are json_equal(), or both reject
 * with the same message, line and column. The one difference jsonread.h states: jansson
 * loses a NUL byte directly after a number or true/false/null and accepts "[1\0]"; there
 * jsonread must reject, and accept the same bytes without their NULs as jansson's tree.
 * (With a NUL byte in the input the error texts are not compared: jansson's position
 * counts the bytes it lost.) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fuzz.h"
#include "jsonread.h"

/* jsonread on data without its NUL bytes must give want. */
static void
check_without_nul(const uint8_t *data, size_t size, const json_t *want)
{
	char *clean = malloc(size ? size : 1), err[256];
	json_t *got = NULL;
	size_t n = 0;
	int rc;

	if (clean == NULL)
		fuzz_fail("out of memory");
	for (size_t i = 0; i < size; i++)
		if (data[i] != '\0')
			clean[n++] = (char)data[i];
	rc = jsonread_loadb(clean, n, &got, err, sizeof(err), NULL, NULL);
	if (rc != 0)
		fuzz_fail("jansson accepts the text with NULs, jsonread not without them: %s", err);
	if (!json_equal(want, got))
		fuzz_fail("jansson's tree with NULs differs from jsonread's without them");
	json_decref(got);
	free(clean);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	int has_nul = memchr(data, '\0', size) != NULL, line = -1, column = -1, rc;
	json_t *want, *got = (json_t *)1;
	json_error_t jerr;
	char err[256];

	want = json_loadb(buf, size, 0, &jerr);
	memset(err, 0x5a, sizeof(err));
	rc = jsonread_loadb(buf, size, &got, err, sizeof(err), &line, &column);
	if (rc != 0 && memchr(err, '\0', sizeof(err)) == NULL)
		fuzz_fail("err is not NUL-terminated");
	if (rc == -ENOMEM) {
		/* only under allocator_may_return_null: nothing to compare */
		if (got != NULL)
			fuzz_fail("-ENOMEM with a tree");
	} else if (rc == 0) {
		if (got == NULL)
			fuzz_fail("0 without a tree");
		if (want == NULL)
			fuzz_fail("jsonread accepts what jansson rejects (line %d, column %d: %s)",
			    jerr.line, jerr.column, jerr.text);
		if (!json_equal(want, got))
			fuzz_fail("jsonread's tree differs from jansson's");
	} else {
		if (rc != -EINVAL || got != NULL || err[0] == '\0' || line < 1 || column < 0)
			fuzz_fail("error contract: rc %d, tree %p, line %d, column %d, '%s'", rc,
			    (void *)got, line, column, err);
		if (want != NULL && !has_nul)
			fuzz_fail("jsonread rejects what jansson accepts: line %d, column %d: %s",
			    line, column, err);
		if (want != NULL)
			check_without_nul(data, size, want);
		else if (!has_nul && (strcmp(err, jerr.text) != 0 || line != jerr.line ||
		    column != jerr.column))
			fuzz_fail("errors differ: jansson line %d, column %d: %s; jsonread line %d, "
			    "column %d: %s", jerr.line, jerr.column, jerr.text, line, column, err);
	}
	json_decref(want);
	json_decref(got);
	return 0;
}
