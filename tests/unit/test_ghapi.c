/* test_ghapi.c - GitHub answer classification: success, retryable, rate limits (primary
 * with reset, retry-after, secondary without headers), permanent failures; repo names;
 * who a token is (login syntax, the cache). */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ghapi.h"
#include "ghuser.h"

static char held_lane[64];
static int64_t held_until;

static void
fake_hold(struct incidentd_instance *self, const char *lane, int64_t until_ms)
{
	(void)self;
	snprintf(held_lane, sizeof(held_lane), "%s", lane);
	held_until = until_ms;
}

static const struct incidentd_host fake_host = {
	.abi_version = INCIDENTD_SINK_ABI_VERSION,
	.struct_size = sizeof(struct incidentd_host),
	.pace_hold = fake_hold,
};

static struct gh_client client;

static int
setup(void **state)
{
	char err[256];

	(void)state;
	held_lane[0] = '\0';
	held_until = 0;
	return gh_client_init(&client, &fake_host, NULL, "https://api.github.com/", "ghp_x",
	    err, sizeof(err));
}

static int
teardown(void **state)
{
	(void)state;
	gh_client_clear(&client);
	return 0;
}

static struct gh_response
resp(long status, const char *body)
{
	struct gh_response r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.retry_after_s = -1;
	r.rl_remaining = -1;
	r.json = body ? json_loads(body, 0, NULL) : NULL;
	return r;
}

static void
test_ok_and_failures(void **state)
{
	struct gh_response r = resp(201, "{\"number\": 1}");
	uint64_t delay = 99;
	char detail[256];

	(void)state;
	assert_int_equal(gh_classify(&client, &r, 1, 0, &delay, detail, sizeof(detail)), GH_OK);
	assert_int_equal(delay, 0);
	json_decref(r.json);

	r = resp(422, "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":\"Issue\","
	    "\"code\":\"custom\",\"field\":\"body\",\"message\":\"body is too long (maximum is "
	    "65536 characters)\"}]}");
	assert_int_equal(gh_classify(&client, &r, 1, 0, &delay, detail, sizeof(detail)),
	    GH_FAIL);
	assert_non_null(strstr(detail, "HTTP 422"));
	assert_non_null(strstr(detail, "body is too long"));
	json_decref(r.json);

	r = resp(401, "{\"message\":\"Bad credentials\"}");
	assert_int_equal(gh_classify(&client, &r, 1, 0, &delay, detail, sizeof(detail)),
	    GH_FAIL);
	assert_non_null(strstr(detail, "Bad credentials"));
	assert_null(strstr(detail, "ghp_x"));
	json_decref(r.json);

	r = resp(404, "{\"message\":\"Not Found\"}");
	assert_int_equal(gh_classify(&client, &r, 1, 0, &delay, detail, sizeof(detail)),
	    GH_FAIL);
	json_decref(r.json);

	/* a plain 403 (no rate limit) is a permission problem: fail */
	r = resp(403, "{\"message\":\"Resource not accessible by integration\"}");
	assert_int_equal(gh_classify(&client, &r, 1, 0, &delay, detail, sizeof(detail)),
	    GH_FAIL);
	assert_string_equal(held_lane, "");
	json_decref(r.json);
}

static void
test_retryable(void **state)
{
	struct gh_response r = resp(502, NULL);
	uint64_t delay = 99;
	char detail[256];

	(void)state;
	assert_int_equal(gh_classify(&client, &r, 1, 0, &delay, detail, sizeof(detail)),
	    GH_RETRY);
	assert_int_equal(delay, 0);          /* core back-off */
	r = resp(0, NULL);
	snprintf(r.error, sizeof(r.error), "Connection reset by peer");
	assert_int_equal(gh_classify(&client, &r, 1, 0, &delay, detail, sizeof(detail)),
	    GH_RETRY);
	assert_non_null(strstr(detail, "Connection reset"));
}

static void
test_rate_limits(void **state)
{
	struct gh_response r;
	uint64_t delay = 0;
	char detail[256];
	int64_t now = 1700000000000;

	(void)state;
	/* primary: remaining 0, wait until reset (+1 s margin) and hold the token's lane */
	r = resp(403, "{\"message\":\"API rate limit exceeded for user ID 1.\"}");
	r.rl_remaining = 0;
	r.rl_reset = 1700000060;
	assert_int_equal(gh_classify(&client, &r, 1, now, &delay, detail, sizeof(detail)),
	    GH_RETRY);
	assert_int_equal(delay, 61000);
	assert_int_equal(held_until, now + 61000);
	assert_int_equal(strncmp(held_lane, "github:", 7), 0);
	json_decref(r.json);

	/* retry-after wins */
	r = resp(429, "{\"message\":\"too many\"}");
	r.retry_after_s = 7;
	assert_int_equal(gh_classify(&client, &r, 1, now, &delay, detail, sizeof(detail)),
	    GH_RETRY);
	assert_int_equal(delay, 7000);
	json_decref(r.json);

	/* secondary limit without headers: >= 60 s, doubling per attempt */
	r = resp(403, "{\"message\":\"You have exceeded a secondary rate limit. Please wait "
	    "a few minutes before you try again.\"}");
	assert_int_equal(gh_classify(&client, &r, 1, now, &delay, detail, sizeof(detail)),
	    GH_RETRY);
	assert_int_equal(delay, 60000);
	assert_int_equal(gh_classify(&client, &r, 3, now, &delay, detail, sizeof(detail)),
	    GH_RETRY);
	assert_int_equal(delay, 240000);
	json_decref(r.json);
}

static void
test_repo_names(void **state)
{
	(void)state;
	assert_true(gh_repo_valid("my-org/platform-incidents"));
	assert_true(gh_repo_valid("a.b/c_d"));
	assert_false(gh_repo_valid("noslash"));
	assert_false(gh_repo_valid("a/b/c"));
	assert_false(gh_repo_valid("/b"));
	assert_false(gh_repo_valid("a/"));
	assert_false(gh_repo_valid("a/b?x=1"));
	assert_false(gh_repo_valid(NULL));
}

static void
test_client_init_rejects(void **state)
{
	struct gh_client c;
	char err[256];

	(void)state;
	assert_int_equal(gh_client_init(&c, &fake_host, NULL, "ftp://x", "t", err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(gh_client_init(&c, &fake_host, NULL, "https://x", "a b", err,
	    sizeof(err)), -EINVAL);
	assert_null(strstr(err, "a b"));   /* never echo the token */
}

/* The link header of a recorded listing (samples/github/octokit-fixtures__list-issues_*). */
static char *
fixture_link(int page)
{
	const char *dir = getenv("SAMPLES_DIR");
	char path[1024];
	json_t *root, *h;
	size_t i;
	char *out = NULL;

	snprintf(path, sizeof(path), "%s/github/octokit-fixtures__list-issues_page%d_link.json",
	    dir ? dir : "tests/samples", page);
	root = json_load_file(path, 0, NULL);
	assert_non_null(root);
	json_array_foreach(json_object_get(json_object_get(root, "response"), "headers"), i, h) {
		if (strcasecmp(json_string_value(json_array_get(h, 0)), "Link") == 0)
			out = strdup(json_string_value(json_array_get(h, 1)));
	}
	json_decref(root);
	return out;
}

/* Pagination as GitHub sends it: next on pages 1-4 (also when prev/first come first), none
 * on the last page; the /repositories/<id>/ form is kept as is. */
static void
test_link_next_recorded(void **state)
{
	(void)state;
	for (int page = 1; page <= 5; page++) {
		char *link = fixture_link(page), *next, want[128];

		assert_non_null(link);
		next = gh_link_next(link);
		if (page < 5) {
			snprintf(want, sizeof(want), "https://api.github.com/repositories/515435940/"
			    "issues?per_page=3&page=%d", page + 1);
			assert_non_null(next);
			assert_string_equal(next, want);
		} else {
			assert_null(next);
		}
		free(next);
		free(link);
	}
	assert_null(gh_link_next(""));
	assert_null(gh_link_next("<https://x/a>; rel=\"last\""));
	assert_null(gh_link_next("<https://x/a; rel=\"next\""));
}

/* Who a token is: GitHub's login syntax, and the cache per token and API URL. */
static void
test_user_cache(void **state)
{
	struct gh_client a, b, other_url;
	char err[128], login[GH_LOGIN_MAX + 1];

	(void)state;
	assert_true(gh_login_valid("octocat"));
	assert_true(gh_login_valid("my-app[bot]"));
	assert_true(gh_login_valid("a"));
	assert_false(gh_login_valid(""));
	assert_false(gh_login_valid(NULL));
	assert_false(gh_login_valid("-x"));
	assert_false(gh_login_valid("[bot]"));
	assert_false(gh_login_valid("a b"));
	assert_false(gh_login_valid("a\nb"));
	assert_false(gh_login_valid("0123456789012345678901234567890123456789"));
	assert_false(gh_login_valid("x[bot][bot]"));
	assert_int_equal(gh_client_init(&a, &fake_host, NULL, "https://api.github.com", "tok-a",
	    err, sizeof(err)), 0);
	assert_int_equal(gh_client_init(&b, &fake_host, NULL, "https://api.github.com", "tok-b",
	    err, sizeof(err)), 0);
	assert_int_equal(gh_client_init(&other_url, &fake_host, NULL, "https://ghe.example/api/v3",
	    "tok-a", err, sizeof(err)), 0);
	assert_int_equal(gh_user_lookup(&a, login, sizeof(login)), GH_USER_UNKNOWN);
	gh_user_remember(&a, "octocat");
	assert_int_equal(gh_user_lookup(&a, login, sizeof(login)), GH_USER_KNOWN);
	assert_string_equal(login, "octocat");
	/* another token, or the same token on another server: not known */
	assert_int_equal(gh_user_lookup(&b, login, sizeof(login)), GH_USER_UNKNOWN);
	assert_int_equal(gh_user_lookup(&other_url, login, sizeof(login)), GH_USER_UNKNOWN);
	/* a refusal (installation token), later the bot learned from a create */
	gh_user_remember(&b, NULL);
	assert_int_equal(gh_user_lookup(&b, login, sizeof(login)), GH_USER_REFUSED);
	gh_user_remember(&b, "not a login");
	assert_int_equal(gh_user_lookup(&b, login, sizeof(login)), GH_USER_REFUSED);
	gh_user_remember(&b, "my-app[bot]");
	assert_int_equal(gh_user_lookup(&b, login, sizeof(login)), GH_USER_KNOWN);
	assert_string_equal(login, "my-app[bot]");
	/* a refusal never replaces a known login */
	gh_user_remember(&a, NULL);
	assert_int_equal(gh_user_lookup(&a, login, sizeof(login)), GH_USER_KNOWN);
	gh_client_clear(&a);
	gh_client_clear(&b);
	gh_client_clear(&other_url);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_next_recorded),
		cmocka_unit_test(test_user_cache),
		cmocka_unit_test_setup_teardown(test_ok_and_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retryable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limits, setup, teardown),
		cmocka_unit_test(test_repo_names),
		cmocka_unit_test(test_client_init_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
