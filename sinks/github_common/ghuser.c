/* ghuser.c - the cache of who each GitHub token acts as. */
#include "ghuser.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#define GH_USER_SLOTS 16

struct gh_user_slot {
	unsigned char key[32];           /* SHA-256 of the lane (a hash of the token) and URL */
	bool used;
	enum gh_user_state state;
	char login[GH_LOGIN_MAX + 1];
	uint64_t age;
};

static struct gh_user_slot slots[GH_USER_SLOTS];
static uint64_t clock_tick;

bool
gh_login_valid(const char *login)
{
	size_t n, bot = strlen("[bot]");

	if (login == NULL || login[0] == '-' || login[0] == '\0')
		return false;
	n = strlen(login);
	if (n > bot && strcmp(login + n - bot, "[bot]") == 0)
		n -= bot;
	return n >= 1 && n <= 39 && strspn(login, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

/* The slot key of c: false when it cannot be computed (then nothing is cached). */
static bool
slot_key(const struct gh_client *c, unsigned char key[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	bool ok;

	if (ctx == NULL || c->lane == NULL || c->api_url == NULL) {
		EVP_MD_CTX_free(ctx);
		return false;
	}
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, c->lane, strlen(c->lane) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, c->api_url, strlen(c->api_url)) == 1 &&
	    EVP_DigestFinal_ex(ctx, key, &len) == 1 && len == 32;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static struct gh_user_slot *
slot_find(const unsigned char key[32])
{
	for (size_t i = 0; i < GH_USER_SLOTS; i++)
		if (slots[i].used && memcmp(slots[i].key, key, 32) == 0)
			return &slots[i];
	return NULL;
}

enum gh_user_state
gh_user_lookup(const struct gh_client *c, char *login, size_t len)
{
	unsigned char key[32];
	struct gh_user_slot *s;

	if (len > 0)
		login[0] = '\0';
	if (!slot_key(c, key) || (s = slot_find(key)) == NULL)
		return GH_USER_UNKNOWN;
	if (s->state == GH_USER_KNOWN)
		snprintf(login, len, "%s", s->login);
	return s->state;
}

void
gh_user_remember(const struct gh_client *c, const char *login)
{
	unsigned char key[32];
	struct gh_user_slot *s;

	if ((login != NULL && !gh_login_valid(login)) || !slot_key(c, key))
		return;
	s = slot_find(key);
	if (s != NULL && s->state == GH_USER_KNOWN && login == NULL)
		return;
	if (s == NULL) {
		s = &slots[0];
		for (size_t i = 0; i < GH_USER_SLOTS; i++) {
			if (!slots[i].used) {
				s = &slots[i];
				break;
			}
			if (slots[i].age < s->age)
				s = &slots[i];
		}
		memset(s, 0, sizeof(*s));
		memcpy(s->key, key, 32);
		s->used = true;
	}
	s->age = ++clock_tick;
	s->state = login != NULL ? GH_USER_KNOWN : GH_USER_REFUSED;
	snprintf(s->login, sizeof(s->login), "%s", login != NULL ? login : "");
}
