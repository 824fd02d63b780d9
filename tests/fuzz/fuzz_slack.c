/* fuzz_slack.c - libFuzzer target for what people send incidentd from Slack and GitHub
 * besides signed envelopes: the input as an interactivity body (slack_form_payload(); the
 * payload it finds goes through slack_normalize(), checked like every normalizer's events,
 * and slack_request_key()), and as a comment body (command_find(): the `/incidentd` line,
 * whose error text must never echo the input beyond a short verb). */
#include <string.h>

#include "command.h"
#include "fuzz.h"

/* A command's error text: printable ASCII only, and no markup or mention outside the
 * usage it quotes (it may name a short [a-z0-9_-] verb, nothing else of the input). */
static void
check_error(const char *err)
{
	const char *usage = strstr(err, COMMAND_USAGE);
	size_t n = strlen(err), ul = strlen(COMMAND_USAGE);

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)err[i];

		if (usage != NULL && err + i >= usage && err + i < usage + ul)
			continue;
		if (ch < 0x20 || ch > 0x7e || strchr("<>@#&[]", ch) != NULL)
			__builtin_trap();   /* the error echoed the input */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source_input in = { .received_at = 1770000000000 };
	struct ievent_vec out = { 0 };
	struct command c;
	json_t *payload = NULL;
	char err[512], *text = NULL, sha[65];

	if (slack_form_payload((const char *)data, size, &payload, err, sizeof(err)) == 0) {
		text = json_dumps(payload, JSON_COMPACT);
		if (text != NULL &&
		    fuzz_normalize(slack_normalize, "slack", &in, (const uint8_t *)text,
		    strlen(text), &out) == 0) {
			for (size_t i = 0; i < out.n; i++)
				(void)slack_request_key(out.v[i], sha);
		}
	}
	ievent_vec_clear(&out);
	free(text);
	json_decref(payload);
	if ((text = malloc(size + 1)) != NULL) {
		memcpy(text, data, size);
		text[size] = '\0';
		if (command_find(text, &c, err, sizeof(err)) < 0)
			check_error(err);
		free(text);
	}
	return 0;
}
