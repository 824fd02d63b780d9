/* fuzz_config.c - libFuzzer target for the conf.d loader: config_load_string() on the
 * input as one YAML file, then config_check_exposure() and config_destroy(). A refused
 * document must say why (file:line: path: what) and leave *out untouched. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	char err[1024];
	char *yaml;
	int rc;

	yaml = fuzz_strndup(data, size);
	err[0] = '\0';
	rc = config_load_string(yaml, "fuzz.yaml", &cfg, err, sizeof(err));
	if (rc == 0) {
		if (cfg == NULL)
			fuzz_fail("config_load_string returned 0 without a config");
		err[0] = '\0';
		rc = config_check_exposure(cfg, err, sizeof(err));
		if (rc != 0 && (rc != -EINVAL || err[0] == '\0'))
			fuzz_fail("config_check_exposure: rc %d, err '%s'", rc, err);
	} else if (cfg != NULL) {
		fuzz_fail("config_load_string: rc %d but a config", rc);
	} else if (rc != -ENOMEM && err[0] == '\0') {
		fuzz_fail("config_load_string: rc %d without a message", rc);
	}
	config_destroy(cfg);
	free(yaml);
	return 0;
}
