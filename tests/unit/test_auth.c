/* test_auth.c - broker/auth.c: bearer, basic and HMAC-SHA256 (the Flux notification-controller
 * generic-hmac vector from tests/samples/flux/ and GitHub's X-Hub-Signature-256), the exact
 * reasons, and that a reason never carries the secret or the presented credential. */
#include <sys/queue.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <event2/http.h>

#include "auth.h"

#define TOKEN "t0k3n-very-secret"
#define USER "alertmanager"
#define PASS "pa55w0rd-secret"
#define GH_KEY "It's a Secret to Everybody"
#define GH_BODY "Hello, World!"
#define GH_SIG "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

static const char *
samples_dir(void)
{
	const char *dir = getenv("SAMPLES_DIR");

	return dir ? dir : "tests/samples";
}

/* The exact bytes of a sample file (malloc'd, NUL-terminated for convenience). */
static char *
read_sample(const char *name, size_t *len)
{
	char path[1024], *buf;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/flux/%s", samples_dir(), name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The value after prefix on a line of text, up to the end of the line, into out. */
static void
line_value(const char *text, const char *prefix, char *out, size_t len)
{
	const char *p = strstr(text, prefix);
	size_t n;

	if (p == NULL)
		fail_msg("'%s' not found in the vector description", prefix);
	p += strlen(prefix);
	n = strcspn(p, "\r\n");
	assert_true(n < len);
	memcpy(out, p, n);
	out[n] = '\0';
}

/* The Flux vector: key and expected X-Signature value from the .txt, body from .body.json. */
struct vector {
	char key[128];
	char header[128];        /* "sha256=<hex>" */
	char *body;
	size_t len;
};

static void
load_vector(struct vector *v)
{
	size_t tlen;
	char *txt = read_sample("hmac_vector_nc_forwarder_test.txt", &tlen);

	line_value(txt, "HMAC key (Secret 'token'): ", v->key, sizeof(v->key));
	line_value(txt, "X-Signature: ", v->header, sizeof(v->header));
	free(txt);
	v->body = read_sample("hmac_vector_nc_forwarder_test.body.json", &v->len);
	assert_int_equal(strncmp(v->header, "sha256=", 7), 0);
}

static void
headers_init(struct evkeyvalq *h)
{
	TAILQ_INIT(h);
}

/* Rejected with exactly want_why, which carries none of the secrets nor what was presented. */
static void
expect_reject(const struct config_auth *a, const struct evkeyvalq *h, const void *body,
    size_t len, const char *want_why)
{
	const char *why = "unset";
	const struct evkeyval *kv;

	assert_int_equal(auth_check(a, h, body, len, &why), -EACCES);
	assert_non_null(why);
	assert_string_equal(why, want_why);
	if (a->token)
		assert_null(strstr(why, a->token));
	if (a->password)
		assert_null(strstr(why, a->password));
	if (a->hmac_key)
		assert_null(strstr(why, a->hmac_key));
	for (kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
		if (strlen(kv->value) >= 8)
			assert_null(strstr(why, kv->value));
	}
}

static void
expect_accept(const struct config_auth *a, const struct evkeyvalq *h, const void *body,
    size_t len)
{
	const char *why = "unset";

	assert_int_equal(auth_check(a, h, body, len, &why), 0);
	assert_null(why);
}

static void
test_hmac_flux_vector(void **state)
{
	struct config_auth a = { .kind = AUTH_HMAC };
	struct evkeyvalq h;
	struct vector v;

	(void)state;
	load_vector(&v);
	a.hmac_key = v.key;
	headers_init(&h);
	evhttp_add_header(&h, "Content-Type", "application/json");
	evhttp_add_header(&h, "X-Signature", v.header);
	expect_accept(&a, &h, v.body, v.len);
	/* one byte changed */
	v.body[v.len / 2] ^= 0x01;
	expect_reject(&a, &h, v.body, v.len, "signature does not match the body");
	v.body[v.len / 2] ^= 0x01;
	/* one byte more (a trailing newline) or less */
	expect_reject(&a, &h, v.body, v.len - 1, "signature does not match the body");
	/* another key */
	a.hmac_key = "7152fed34dd6149a7c75a276c510da27cb6f82b1";
	expect_reject(&a, &h, v.body, v.len, "signature does not match the body");
	evhttp_clear_headers(&h);
	free(v.body);
}

static void
test_hmac_github(void **state)
{
	struct config_auth a = { .kind = AUTH_HMAC, .hmac_key = GH_KEY };
	struct evkeyvalq h;
	char upper[80];

	(void)state;
	headers_init(&h);
	evhttp_add_header(&h, "X-Hub-Signature-256", "sha256=" GH_SIG);
	expect_accept(&a, &h, GH_BODY, strlen(GH_BODY));
	expect_reject(&a, &h, GH_BODY "\n", strlen(GH_BODY) + 1,
	    "signature does not match the body");
	evhttp_clear_headers(&h);

	/* GitHub sends lowercase hex; uppercase is accepted too (and the header name is
	 * case-insensitive) */
	snprintf(upper, sizeof(upper), "sha256=%s", GH_SIG);
	for (char *p = upper + 7; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 'a' + 'A' : *p);
	evhttp_add_header(&h, "x-hub-signature-256", upper);
	expect_accept(&a, &h, GH_BODY, strlen(GH_BODY));
	evhttp_clear_headers(&h);
}

static void
test_hmac_malformed(void **state)
{
	static const char *const bad[] = {
		"sha1=" GH_SIG,                           /* wrong prefix */
		GH_SIG,                                   /* no prefix */
		"sha256:" GH_SIG,
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",  /* 63 */
		"sha256=" GH_SIG "7",                     /* 65 */
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1g",
		"sha256=",
		"sha256= " GH_SIG,
		"",
	};
	struct config_auth a = { .kind = AUTH_HMAC, .hmac_key = GH_KEY };
	struct evkeyvalq h;

	(void)state;
	headers_init(&h);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		evhttp_add_header(&h, "X-Signature", bad[i]);
		expect_reject(&a, &h, GH_BODY, strlen(GH_BODY),
		    "X-Signature is not sha256=<64 hex digits>");
		evhttp_clear_headers(&h);
	}
	/* missing header */
	evhttp_add_header(&h, "Authorization", "Bearer sha256=" GH_SIG);
	expect_reject(&a, &h, GH_BODY, strlen(GH_BODY), "missing X-Signature header");
	evhttp_clear_headers(&h);
	expect_reject(&a, &h, GH_BODY, strlen(GH_BODY), "missing X-Signature header");
	/* a bad X-Signature is not rescued by a good X-Hub-Signature-256 */
	evhttp_add_header(&h, "X-Signature", "sha256=" GH_SIG "00");
	evhttp_add_header(&h, "X-Hub-Signature-256", "sha256=" GH_SIG);
	expect_reject(&a, &h, GH_BODY, strlen(GH_BODY),
	    "X-Signature is not sha256=<64 hex digits>");
	evhttp_clear_headers(&h);
}

static void
test_bearer(void **state)
{
	struct config_auth a = { .kind = AUTH_BEARER, .token = TOKEN };
	struct evkeyvalq h;

	(void)state;
	headers_init(&h);
	expect_reject(&a, &h, "", 0, "missing Authorization header");
	evhttp_add_header(&h, "Authorization", "Bearer " TOKEN);
	expect_accept(&a, &h, "", 0);
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "authorization", "bearer " TOKEN);
	expect_accept(&a, &h, "", 0);
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Authorization", "token " TOKEN);     /* GitHub style */
	expect_accept(&a, &h, "", 0);
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Authorization", "Bearer " TOKEN "x");
	expect_reject(&a, &h, "", 0, "invalid bearer token");
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Authorization", "Bearer t0k3n-very-secreT");
	expect_reject(&a, &h, "", 0, "invalid bearer token");
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Authorization", "Bearer t0k3n-very");   /* a prefix */
	expect_reject(&a, &h, "", 0, "invalid bearer token");
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Authorization", "Bearer ");
	expect_reject(&a, &h, "", 0, "invalid bearer token");
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Authorization", TOKEN);
	expect_reject(&a, &h, "", 0, "Authorization scheme is not Bearer");
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Authorization", "Basic YWxlcnRtYW5hZ2VyOnBhNTV3MHJkLXNlY3JldA==");
	expect_reject(&a, &h, "", 0, "Authorization scheme is not Bearer");
	evhttp_clear_headers(&h);
	assert_string_equal(auth_challenge(&a), "Bearer realm=\"incidentd\"");
}

static void
test_basic(void **state)
{
	struct config_auth a = { .kind = AUTH_BASIC, .username = USER, .password = PASS };
	struct config_auth pad = { .kind = AUTH_BASIC };
	struct evkeyvalq h;

	(void)state;
	headers_init(&h);
	expect_reject(&a, &h, "", 0, "missing Authorization header");
	/* alertmanager:pa55w0rd-secret */
	evhttp_add_header(&h, "Authorization", "Basic YWxlcnRtYW5hZ2VyOnBhNTV3MHJkLXNlY3JldA==");
	expect_accept(&a, &h, "", 0);
	evhttp_clear_headers(&h);
	/* alertmanager:pa55w0rd-secreT */
	evhttp_add_header(&h, "Authorization", "Basic YWxlcnRtYW5hZ2VyOnBhNTV3MHJkLXNlY3JlVA==");
	expect_reject(&a, &h, "", 0, "invalid basic credentials");
	evhttp_clear_headers(&h);
	/* alertmanagex:pa55w0rd-secret */
	evhttp_add_header(&h, "Authorization", "Basic YWxlcnRtYW5hZ2V4OnBhNTV3MHJkLXNlY3JldA==");
	expect_reject(&a, &h, "", 0, "invalid basic credentials");
	evhttp_clear_headers(&h);
	/* alertmanager:pa55w0rd-secretx */
	evhttp_add_header(&h, "Authorization", "Basic YWxlcnRtYW5hZ2VyOnBhNTV3MHJkLXNlY3JldHg=");
	expect_reject(&a, &h, "", 0, "invalid basic credentials");
	evhttp_clear_headers(&h);
	/* no colon: "alertmanager" */
	evhttp_add_header(&h, "Authorization", "Basic YWxlcnRtYW5hZ2Vy");
	expect_reject(&a, &h, "", 0, "invalid basic credentials");
	evhttp_clear_headers(&h);
	/* not base64, wrong length, empty */
	evhttp_add_header(&h, "Authorization", "Basic !!!!");
	expect_reject(&a, &h, "", 0, "invalid basic credentials");
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Authorization", "Basic YWxlcnRtYW5hZ2VyOnBhNTV3MHJkLXNlY3JldA=");
	expect_reject(&a, &h, "", 0, "invalid basic credentials");
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Authorization", "Basic ");
	expect_reject(&a, &h, "", 0, "invalid basic credentials");
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Authorization", "Basic ====");
	expect_reject(&a, &h, "", 0, "invalid basic credentials");
	evhttp_clear_headers(&h);
	evhttp_add_header(&h, "Authorization", "Bearer " PASS);
	expect_reject(&a, &h, "", 0, "Authorization scheme is not Basic");
	evhttp_clear_headers(&h);

	/* every padding length: "u:p" (no '='), "u:pa" (two), "u:pas" (one) */
	pad.username = "u";
	pad.password = "p";
	evhttp_add_header(&h, "Authorization", "Basic dTpw");
	expect_accept(&pad, &h, "", 0);
	evhttp_clear_headers(&h);
	pad.password = "pa";
	evhttp_add_header(&h, "Authorization", "Basic dTpwYQ==");
	expect_accept(&pad, &h, "", 0);
	evhttp_clear_headers(&h);
	pad.password = "pas";
	evhttp_add_header(&h, "Authorization", "Basic dTpwYXM=");
	expect_accept(&pad, &h, "", 0);
	evhttp_clear_headers(&h);
	/* empty password configured and presented: "u:" */
	pad.password = "";
	evhttp_add_header(&h, "Authorization", "Basic dTo=");
	expect_accept(&pad, &h, "", 0);
	evhttp_clear_headers(&h);
	assert_string_equal(auth_challenge(&a), "Basic realm=\"incidentd\", charset=\"UTF-8\"");
}

static void
test_none_and_unset(void **state)
{
	struct config_auth none = { .kind = AUTH_NONE }, unset = { .kind = AUTH_UNSET };
	struct config_auth hm = { .kind = AUTH_HMAC, .hmac_key = GH_KEY };
	struct evkeyvalq h;

	(void)state;
	headers_init(&h);
	expect_accept(&none, &h, "x", 1);
	expect_accept(&unset, &h, "x", 1);
	assert_null(auth_challenge(&none));
	assert_null(auth_challenge(&hm));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_flux_vector),
		cmocka_unit_test(test_hmac_github),
		cmocka_unit_test(test_hmac_malformed),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_none_and_unset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
