/* tls.c - server.tls (tls.h). */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

struct tls_server {
	SSL_CTX *ctx;
};

/* OpenSSL's last error as text into err, after what. */
static int
tls_fail(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "unknown error";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, errlen, "server.tls: %s %s: %s", what, file ? file : "", reason);
	return -EINVAL;
}

int
tls_server_new(const struct config *cfg, struct tls_server **out, char *err,
    size_t errlen)
{
	struct tls_server *ts = NULL;
	int rc;

	*out = NULL;
	if (cfg->tls_cert == NULL)
		return 0;
	if ((ts = calloc(1, sizeof(*ts))) == NULL)
		return -ENOMEM;
	ERR_clear_error();
	if ((ts->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		rc = tls_fail(err, errlen, "cannot create a TLS context", NULL);
		goto out;
	}
	SSL_CTX_set_min_proto_version(ts->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ts->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ts->ctx, cfg->tls_cert) != 1) {
		rc = tls_fail(err, errlen, "cannot load the certificate", cfg->tls_cert);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ts->ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		rc = tls_fail(err, errlen, "cannot load the key", cfg->tls_key);
		goto out;
	}
	if (SSL_CTX_check_private_key(ts->ctx) != 1) {
		rc = tls_fail(err, errlen, "the key does not match the certificate", cfg->tls_key);
		goto out;
	}
	if (cfg->tls_client_ca != NULL) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_client_ca);

		if (names == NULL ||
		    SSL_CTX_load_verify_locations(ts->ctx, cfg->tls_client_ca, NULL) != 1) {
			if (names != NULL)
				sk_X509_NAME_pop_free(names, X509_NAME_free);
			rc = tls_fail(err, errlen, "cannot load the client CAs", cfg->tls_client_ca);
			goto out;
		}
		SSL_CTX_set_client_CA_list(ts->ctx, names);
		SSL_CTX_set_verify(ts->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
		    NULL);
	}
	*out = ts;
	ts = NULL;
	rc = 0;
out:
	tls_server_free(ts);
	return rc;
}

void
tls_server_free(struct tls_server *ts)
{
	if (ts == NULL)
		return;
	SSL_CTX_free(ts->ctx);
	free(ts);
}

struct bufferevent *
tls_server_bufferevent(struct tls_server *ts, struct event_base *base)
{
	SSL *ssl = SSL_new(ts->ctx);
	struct bufferevent *bev;

	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	return bev;
}
