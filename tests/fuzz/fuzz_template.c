/* fuzz_template.c - libFuzzer target for the Mustache renderer (broker/template.h).
 *
 * Input: one flag byte (bit 0: TEMPLATE_ESCAPE_HTML), then the template text, then
 * optionally a NUL byte and the data as JSON (any value). Without a NUL, or when the data
 * is not JSON, the template renders over a fixed incident. Compiles, lists the names,
 * renders, and checks that a refused template says why. Templates come from conf.d, which
 * libyaml decodes as UTF-8, so a template text that is not UTF-8 is skipped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "template.h"

static const char incident[] =
	"{\"app\": \"aks-store\", \"cluster\": \"prod-west-aks\", \"namespace\": \"pets\","
	" \"revision\": \"4194267\", \"repo\": \"my-org/platform\", \"identity\": \"verified\","
	" \"issue\": {\"number\": 42, \"url\": \"https://github.com/my-org/platform/issues/42\"},"
	" \"summary\": \"aks-store is <Degraded> & \\\"OutOfSync\\\"\", \"message\": null,"
	" \"source\": \"argocd\", \"status\": \"firing\", \"resources\": [{\"kind\": "
	"\"Deployment\", \"name\": \"store-front\"}, {\"kind\": \"Service\"}], \"n\": 1.5}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum template_escape esc;
	struct template *t = NULL;
	json_t *d = NULL, *names = NULL, *utf8;
	const uint8_t *nul;
	char *text, *out = NULL, err[256];
	int rc;

	if (size < 1)
		return 0;
	esc = data[0] & 1 ? TEMPLATE_ESCAPE_HTML : TEMPLATE_ESCAPE_NONE;
	data++;
	size--;
	text = fuzz_strndup(data, size);   /* ends at the first NUL */
	if ((utf8 = json_string(text)) == NULL) {
		free(text);
		return 0;
	}
	json_decref(utf8);
	nul = memchr(data, '\0', size);
	if (nul != NULL)
		d = json_loadb((const char *)nul + 1, size - (size_t)(nul + 1 - data),
		    JSON_DECODE_ANY, NULL);
	if (d == NULL)
		d = json_loads(incident, 0, NULL);
	if (d == NULL)
		fuzz_fail("the fixed incident does not parse");
	err[0] = '\0';
	rc = template_compile(text, esc, &t, err, sizeof(err));
	if (rc == 0) {
		if ((rc = template_names(t, &names)) != 0 || !json_is_array(names))
			fuzz_fail("template_names: %d", rc);
		if ((rc = template_render(t, d, &out)) != 0 || out == NULL)
			fuzz_fail("template_render: %d", rc);
		free(out);
		if ((rc = template_render(t, NULL, &out)) != 0 || out == NULL)
			fuzz_fail("template_render(NULL data): %d", rc);
		free(out);
	} else if (t != NULL) {
		fuzz_fail("template_compile: rc %d but a template", rc);
	} else if (rc != -ENOMEM && (rc != -EINVAL || err[0] == '\0')) {
		fuzz_fail("template_compile: rc %d, err '%s'", rc, err);
	}
	json_decref(names);
	template_destroy(t);
	json_decref(d);
	free(text);
	return 0;
}
