/* auth.c - bearer, basic and HMAC-SHA256 request authentication. */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Compare two strings in time independent of their content: both are hashed first, so
 * neither the length nor the position of the first difference leaks. */
static int
secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char da[32], db[32];
	unsigned int l1 = 0, l2 = 0;

	EVP_Digest(a, alen, da, &l1, EVP_sha256(), NULL);
	EVP_Digest(b, blen, db, &l2, EVP_sha256(), NULL);
	return CRYPTO_memcmp(da, db, sizeof(da)) == 0 && alen == blen;
}

static const char *
header_get(const struct evkeyvalq *headers, const char *name)
{
	return evhttp_find_header(headers, name);
}

/* "Bearer x" or "token x" (GitHub's style, which Argo CD's github service config uses). */
static int
check_bearer(const struct config_auth *auth, const struct evkeyvalq *headers, const char **why)
{
	const char *h = header_get(headers, "Authorization");
	const char *tok;

	if (h == NULL) {
		*why = "missing Authorization header";
		return -EACCES;
	}
	if (strncasecmp(h, "Bearer ", 7) == 0)
		tok = h + 7;
	else if (strncasecmp(h, "token ", 6) == 0)
		tok = h + 6;
	else {
		*why = "Authorization scheme is not Bearer";
		return -EACCES;
	}
	while (*tok == ' ')
		tok++;
	if (!secret_equal(tok, strlen(tok), auth->token, strlen(auth->token))) {
		*why = "invalid bearer token";
		return -EACCES;
	}
	return 0;
}

static int
check_basic(const struct config_auth *auth, const struct evkeyvalq *headers, const char **why)
{
	const char *h = header_get(headers, "Authorization");
	unsigned char decoded[1024];
	char *colon;
	size_t inlen, ulen, plen;
	int n, ok_user, ok_pass, rc = -EACCES;

	if (h == NULL) {
		*why = "missing Authorization header";
		return -EACCES;
	}
	if (strncasecmp(h, "Basic ", 6) != 0) {
		*why = "Authorization scheme is not Basic";
		return -EACCES;
	}
	h += 6;
	while (*h == ' ')
		h++;
	inlen = strlen(h);
	if (inlen == 0 || inlen % 4 != 0 || inlen / 4 * 3 >= sizeof(decoded))
		goto out;
	n = EVP_DecodeBlock(decoded, (const unsigned char *)h, (int)inlen);
	if (n < 0)
		goto out;
	/* EVP_DecodeBlock counts padding as zero bytes; drop them. */
	if (inlen >= 1 && h[inlen - 1] == '=')
		n--;
	if (inlen >= 2 && h[inlen - 2] == '=')
		n--;
	if (n < 0)
		goto out;
	decoded[n] = '\0';
	colon = memchr(decoded, ':', (size_t)n);
	if (colon == NULL)
		goto out;
	ulen = (size_t)(colon - (char *)decoded);
	plen = (size_t)n - ulen - 1;
	ok_user = secret_equal((char *)decoded, ulen, auth->username, strlen(auth->username));
	ok_pass = secret_equal(colon + 1, plen, auth->password, strlen(auth->password));
	if (ok_user && ok_pass)
		rc = 0;
out:
	OPENSSL_cleanse(decoded, sizeof(decoded));
	if (rc != 0)
		*why = "invalid basic credentials";
	return rc;
}

static int
hex_decode(const char *hex, unsigned char *out, size_t outlen)
{
	for (size_t i = 0; i < outlen; i++) {
		int hi, lo;
		char c1 = hex[2 * i], c2 = hex[2 * i + 1];

		if (!isxdigit((unsigned char)c1) || !isxdigit((unsigned char)c2))
			return -EINVAL;
		hi = isdigit((unsigned char)c1) ? c1 - '0' : tolower((unsigned char)c1) - 'a' + 10;
		lo = isdigit((unsigned char)c2) ? c2 - '0' : tolower((unsigned char)c2) - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return hex[2 * outlen] == '\0' ? 0 : -EINVAL;
}

/* The signature header: X-Signature: sha256=<hex> (Flux generic-hmac) or
 * X-Hub-Signature-256: sha256=<hex> (GitHub webhooks), decoded into got. */
static int
hmac_header(const struct evkeyvalq *headers, unsigned char got[32], const char **why)
{
	const char *h = header_get(headers, "X-Signature");

	if (h == NULL)
		h = header_get(headers, "X-Hub-Signature-256");
	if (h == NULL) {
		*why = "missing X-Signature header";
		return -EACCES;
	}
	if (strncasecmp(h, "sha256=", 7) != 0 || strlen(h + 7) != 64 ||
	    hex_decode(h + 7, got, 32) != 0) {
		*why = "X-Signature is not sha256=<64 hex digits>";
		return -EACCES;
	}
	return 0;
}

/* The signature must be the HMAC-SHA256 of the exact body. */
static int
check_hmac(const struct config_auth *auth, const struct evkeyvalq *headers, const void *body,
    size_t len, const char **why)
{
	unsigned char want[32], got[32];
	unsigned int mdlen = 0;

	if (hmac_header(headers, got, why) != 0)
		return -EACCES;
	if (HMAC(EVP_sha256(), auth->hmac_key, (int)strlen(auth->hmac_key), body, len, want,
	    &mdlen) == NULL || mdlen != sizeof(want)) {
		*why = "cannot compute HMAC";
		return -EACCES;
	}
	if (CRYPTO_memcmp(want, got, sizeof(want)) != 0) {
		*why = "signature does not match the body";
		return -EACCES;
	}
	return 0;
}

int
auth_check_headers(const struct config_auth *auth, const struct evkeyvalq *headers,
    const char **why)
{
	unsigned char got[32];

	*why = NULL;
	if (auth->kind == AUTH_HMAC)
		return hmac_header(headers, got, why);
	return auth_check(auth, headers, NULL, 0, why);
}

int
auth_check(const struct config_auth *auth, const struct evkeyvalq *headers, const void *body,
    size_t len, const char **why)
{
	*why = NULL;
	switch (auth->kind) {
	case AUTH_UNSET:
	case AUTH_NONE:
		return 0;
	case AUTH_BEARER:
		return check_bearer(auth, headers, why);
	case AUTH_BASIC:
		return check_basic(auth, headers, why);
	case AUTH_HMAC:
		return check_hmac(auth, headers, body, len, why);
	}
	*why = "unknown auth scheme";
	return -EACCES;
}

const char *
auth_challenge(const struct config_auth *auth)
{
	switch (auth->kind) {
	case AUTH_BEARER:
		return "Bearer realm=\"incidentd\"";
	case AUTH_BASIC:
		return "Basic realm=\"incidentd\", charset=\"UTF-8\"";
	default:
		return NULL;
	}
}
