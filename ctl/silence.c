/* silence.c - `incidentctl silence add|list|expire`: silences in the ledger. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "matcher.h"
#include "rules.h"
#include "table.h"
#include "util.h"

#define EXIT_USAGE 2

static int
silence_usage(const char *msg)
{
	fprintf(stderr, "incidentctl: %s\nusage: incidentctl silence add MATCHER... (--for DUR | "
	    "--until TIME) --comment TEXT [--starts TIME] [--author NAME]\n"
	    "       incidentctl silence list [--all] [--json]\n"
	    "       incidentctl silence expire ID\n", msg);
	return EXIT_USAGE;
}

const struct option ctl_silence_add_options[] = {
	{ "for", required_argument, NULL, 'f' },
	{ "until", required_argument, NULL, 'u' },
	{ "starts", required_argument, NULL, 's' },
	{ "comment", required_argument, NULL, 'c' },
	{ "author", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 },
};

const struct option ctl_silence_list_options[] = {
	{ "all", no_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 },
};

static int
silence_add(struct store *st, int argc, char **argv)
{
	const char *dur = NULL, *until = NULL, *starts = NULL, *comment = NULL;
	const char *author = getenv("USER");
	int64_t now = util_now_ms(), start = now, end = 0, len;
	char id[UTIL_ID_LEN + 1], err[512], when[UTIL_TIME_LEN];
	json_t *matchers = NULL;
	int ch, rc = EXIT_FAILURE;

	while ((ch = getopt_long(argc, argv, "", ctl_silence_add_options, NULL)) != -1) {
		switch (ch) {
		case 'f': dur = optarg; break;
		case 'u': until = optarg; break;
		case 's': starts = optarg; break;
		case 'c': comment = optarg; break;
		case 'a': author = optarg; break;
		default: return silence_usage("silence add: unknown option or missing value");
		}
	}
	if (optind >= argc)
		return silence_usage("silence add: at least one matcher, e.g. 'app=aks-store'");
	if ((dur == NULL) == (until == NULL))
		return silence_usage("silence add: give exactly one of --for and --until");
	if (comment == NULL || *comment == '\0')
		return silence_usage("silence add: --comment is required (say why)");
	if (starts != NULL && util_parse_time(starts, &start) != 0)
		return silence_usage("silence add: --starts must be RFC 3339, e.g. "
		    "2026-02-10T03:00:00Z");
	if (dur != NULL && (util_parse_duration(dur, &len) != 0 || len <= 0))
		return silence_usage("silence add: --for must be a duration like 2h or 30m");
	if (until != NULL && util_parse_time(until, &end) != 0)
		return silence_usage("silence add: --until must be RFC 3339");
	if (dur != NULL)
		end = start + len;
	if (end <= start || end <= now)
		return silence_usage("silence add: the silence would already be over");
	matchers = json_array();
	if (matchers == NULL)
		goto out;
	for (int i = optind; i < argc; i++) {
		struct matcher m;

		if (matcher_parse(argv[i], &m, err, sizeof(err)) != 0) {
			fprintf(stderr, "incidentctl: silence add: %s\n", err);
			goto out;
		}
		matcher_clear(&m);
		json_array_append_new(matchers, json_string(argv[i]));
	}
	if (store_silence_add(st, matchers, start, end, comment, author, id) != 0) {
		fprintf(stderr, "incidentctl: cannot write the silence: %s\n", store_last_error(st));
		goto out;
	}
	util_format_time(end, when, sizeof(when));
	printf("%s\n", id);
	fprintf(stderr, "silenced until %s\n", when);
	rc = EXIT_SUCCESS;
out:
	json_decref(matchers);
	return rc;
}

static int
silence_list(struct store *st, int argc, char **argv, bool json)
{
	static const char *const headers[] = { "ID", "MATCHERS", "STARTS", "ENDS", "BY",
	    "COMMENT" };
	json_t *list = NULL, *s;
	struct table *t = NULL;
	bool all = false;
	size_t i;
	int ch, rc = EXIT_FAILURE;

	while ((ch = getopt_long(argc, argv, "", ctl_silence_list_options, NULL)) != -1) {
		if (ch != 'a')
			return silence_usage("silence list: unknown option");
		all = true;
	}
	if (store_silence_list(st, util_now_ms(), all, &list) != 0) {
		fprintf(stderr, "incidentctl: cannot read silences: %s\n", store_last_error(st));
		return EXIT_FAILURE;
	}
	if (json) {
		json_dumpf(list, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		rc = EXIT_SUCCESS;
		goto out;
	}
	t = table_new(6, headers);
	if (t == NULL)
		goto out;
	json_array_foreach(list, i, s) {
		char *m = json_dumps(json_object_get(s, "matchers"), JSON_COMPACT);
		const char *cells[6] = {
			json_string_value(json_object_get(s, "id")), m,
			json_string_value(json_object_get(s, "starts_at")),
			json_is_string(json_object_get(s, "expired_at")) ?
			    json_string_value(json_object_get(s, "expired_at")) :
			    json_string_value(json_object_get(s, "ends_at")),
			json_string_value(json_object_get(s, "created_by")),
			json_string_value(json_object_get(s, "comment")),
		};

		rc = table_add_row(t, cells);
		free(m);
		if (rc != 0) {
			rc = EXIT_FAILURE;
			goto out;
		}
	}
	table_print(t, stdout, (size_t)-1, -1);
	rc = EXIT_SUCCESS;
out:
	table_free(t);
	json_decref(list);
	return rc;
}

int
ctl_silence(struct store *st, int argc, char **argv, bool json)
{
	if (argc < 2)
		return silence_usage("silence: add, list or expire?");
	argc--;
	argv++;
	if (strcmp(argv[0], "add") == 0)
		return silence_add(st, argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return silence_list(st, argc, argv, json);
	if (strcmp(argv[0], "expire") == 0) {
		int rc;

		if (argc != 2)
			return silence_usage("silence expire: one silence id");
		rc = store_silence_expire(st, argv[1], util_now_ms());
		if (rc == -ENOENT) {
			fprintf(stderr, "incidentctl: no active silence %s\n", argv[1]);
			return EXIT_FAILURE;
		}
		if (rc != 0) {
			fprintf(stderr, "incidentctl: %s\n", store_last_error(st));
			return EXIT_FAILURE;
		}
		printf("expired %s\n", argv[1]);
		return EXIT_SUCCESS;
	}
	return silence_usage("silence: add, list or expire?");
}
