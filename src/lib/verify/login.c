/*
 * Login with the authentication certificate (L14): the service hands out a
 * challenge, the card signs "JPKI-LOGIN" || challenge || origin with the
 * authentication key after the 4-digit PIN, the service verifies.  The
 * origin in the signed bytes ties a response to the service that asked for
 * it, so a response cannot be replayed to another service.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "jpki/error.h"
#include "jpki/verify.h"
#include "verify/verify_int.h"

#define CERT_MAX 8192
#define SIG_MAX 512

int
jpki_login_origin(const char *url, char *out, size_t outlen)
{
	const char *p, *host, *end;
	size_t hlen, i, o = 0;
	const char *scheme, *defport;
	char port[8] = "";
	int n;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (url == NULL || out == NULL || outlen == 0)
		return JPKI_ERR_INVALID_ARG;
	if (strncasecmp(url, "http://", 7) == 0) {
		scheme = "http";
		defport = "80";
		p = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		scheme = "https";
		defport = "443";
		p = url + 8;
	} else {
		jpki_set_detail("'%.100s' is not an http:// or https:// URL", url);
		return JPKI_ERR_INVALID_ARG;
	}
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)) != NULL) {
		jpki_set_detail("'%.100s': user names in the URL are not accepted", url);
		return JPKI_ERR_INVALID_ARG;
	}
	host = p;
	if (*p == '[') { /* [IPv6]:port */
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (rb == NULL)
			goto bad;
		hlen = (size_t)(rb - p) + 1;
		p = rb + 1;
	} else {
		p = host + strcspn(host, ":/?#");
		hlen = (size_t)(p - host);
	}
	if (hlen == 0)
		goto bad;
	if (*p == ':') {
		size_t plen = (size_t)(end - p - 1);
		if (plen == 0 || plen > 5)
			goto bad;
		for (i = 0; i < plen; i++)
			if (!isdigit((unsigned char)p[1 + i]))
				goto bad;
		memcpy(port, p + 1, plen);
		port[plen] = '\0';
		if (atoi(port) < 1 || atoi(port) > 65535)
			goto bad;
		if (strcmp(port, defport) == 0)
			port[0] = '\0';
	} else if (p != end) {
		goto bad;
	}
	n = snprintf(out, outlen, "%s://", scheme);
	if (n < 0 || (size_t)n >= outlen)
		goto small;
	o = (size_t)n;
	if (o + hlen >= outlen)
		goto small;
	for (i = 0; i < hlen; i++) {
		unsigned char c = (unsigned char)host[i];
		if (c <= 0x20 || c >= 0x7f)
			goto bad;
		out[o++] = (char)tolower(c);
	}
	out[o] = '\0';
	if (port[0] != '\0') {
		n = snprintf(out + o, outlen - o, ":%s", port);
		if (n < 0 || (size_t)n >= outlen - o)
			goto small;
	}
	return 0;
bad:
	out[0] = '\0';
	jpki_set_detail("'%.100s' is not a valid URL", url);
	return JPKI_ERR_INVALID_ARG;
small:
	out[0] = '\0';
	jpki_set_detail("the origin of '%.100s' is too long", url);
	return JPKI_ERR_RANGE;
}

int
jpki_login_digest(const uint8_t challenge[JPKI_LOGIN_CHALLENGE_LEN], const char *origin,
                  uint8_t hash[32])
{
	EVP_MD_CTX *m = NULL;
	int r = JPKI_ERR_CRYPTO;

	if (challenge == NULL || origin == NULL || hash == NULL ||
	    strlen(origin) > JPKI_LOGIN_ORIGIN_MAX)
		return JPKI_ERR_INVALID_ARG;
	if ((m = EVP_MD_CTX_new()) != NULL && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(m, JPKI_LOGIN_PREFIX, strlen(JPKI_LOGIN_PREFIX)) == 1 &&
	    EVP_DigestUpdate(m, challenge, JPKI_LOGIN_CHALLENGE_LEN) == 1 &&
	    EVP_DigestUpdate(m, origin, strlen(origin)) == 1 && EVP_DigestFinal_ex(m, hash, NULL) == 1)
		r = 0;
	EVP_MD_CTX_free(m);
	return r;
}

int
jpki_login_verify(const uint8_t challenge[JPKI_LOGIN_CHALLENGE_LEN], const char *origin,
                  const uint8_t *cert_der, size_t cert_len, const uint8_t *sig, size_t sig_len,
                  const jpki_verify_opts_t *o, jpki_verified_t *out)
{
	X509 *cert = NULL;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *c = NULL;
	const uint8_t *p;
	uint8_t hash[32];
	int r = JPKI_ERR_INTERNAL;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (challenge == NULL || origin == NULL || cert_der == NULL || sig == NULL || o == NULL ||
	    o->anchor == NULL || out == NULL) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if (cert_len == 0 || cert_len > CERT_MAX || sig_len == 0 || sig_len > SIG_MAX) {
		jpki_set_detail("certificate of %zu bytes or signature of %zu bytes out of bounds",
		                cert_len, sig_len);
		r = JPKI_ERR_TOO_LARGE;
		goto out;
	}
	p = cert_der;
	if ((cert = d2i_X509(NULL, &p, (long)cert_len)) == NULL || p != cert_der + cert_len) {
		jpki_set_detail("the certificate is not DER");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if ((r = jpki_login_digest(challenge, origin, hash)) != 0)
		goto out;
	pk = X509_get0_pubkey(cert);
	if (pk == NULL || !EVP_PKEY_is_a(pk, "RSA")) {
		jpki_set_detail("the certificate's key is not RSA");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if ((c = EVP_PKEY_CTX_new(pk, NULL)) == NULL || EVP_PKEY_verify_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) != 1) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_verify(c, sig, sig_len, hash, sizeof(hash)) != 1) {
		jpki_set_detail("the login signature does not verify (another challenge, another "
		                "origin, or another key)");
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	out->cert = cert;
	cert = NULL;
	r = jpki_verify_cert_status(out->cert, o, out);
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(c);
	X509_free(cert);
	return r;
}

/* ---- The service's outstanding challenges ------------------------------------------- */

struct login_entry {
	char id[JPKI_LOGIN_ID_LEN + 1];   /* "" when free */
	uint8_t challenge[JPKI_LOGIN_CHALLENGE_LEN];
	time_t expires;
};

struct jpki_login_table {
	pthread_mutex_t mu;
	struct login_entry *e;
	size_t max;
	int ttl;
};

int
jpki_login_table_new(size_t max, int ttl, jpki_login_table_t **out)
{
	jpki_login_table_t *t;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || max == 0 || max > 1000000 || ttl <= 0)
		return JPKI_ERR_INVALID_ARG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return JPKI_ERR_NOMEM;
	if ((t->e = calloc(max, sizeof(*t->e))) == NULL) {
		free(t);
		return JPKI_ERR_NOMEM;
	}
	pthread_mutex_init(&t->mu, NULL);
	t->max = max;
	t->ttl = ttl;
	*out = t;
	return 0;
}

void
jpki_login_table_free(jpki_login_table_t *t)
{
	if (t == NULL)
		return;
	OPENSSL_cleanse(t->e, t->max * sizeof(*t->e));
	free(t->e);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

int
jpki_login_table_issue(jpki_login_table_t *t, time_t now, char id[JPKI_LOGIN_ID_LEN + 1],
                       uint8_t challenge[JPKI_LOGIN_CHALLENGE_LEN], time_t *expires)
{
	uint8_t raw[JPKI_LOGIN_ID_LEN / 2];
	struct login_entry *slot = NULL;
	size_t i;

	if (t == NULL || id == NULL || challenge == NULL || expires == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (RAND_bytes(raw, sizeof(raw)) != 1 || RAND_bytes(challenge, JPKI_LOGIN_CHALLENGE_LEN) != 1)
		return JPKI_ERR_CRYPTO;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	*expires = now + t->ttl;
	pthread_mutex_lock(&t->mu);
	/* A free or expired slot, else the one that expires first. */
	for (i = 0; i < t->max; i++) {
		struct login_entry *e = &t->e[i];
		if (e->id[0] == '\0' || e->expires < now) {
			slot = e;
			break;
		}
		if (slot == NULL || e->expires < slot->expires)
			slot = e;
	}
	if (slot == NULL) {
		pthread_mutex_unlock(&t->mu);
		return JPKI_ERR_INTERNAL;
	}
	memcpy(slot->id, id, JPKI_LOGIN_ID_LEN + 1);
	memcpy(slot->challenge, challenge, JPKI_LOGIN_CHALLENGE_LEN);
	slot->expires = *expires;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

int
jpki_login_table_take(jpki_login_table_t *t, const char *id, time_t now,
                      uint8_t challenge[JPKI_LOGIN_CHALLENGE_LEN])
{
	size_t i;
	int r = JPKI_ERR_NOT_FOUND;

	if (t == NULL || id == NULL || challenge == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (strlen(id) != JPKI_LOGIN_ID_LEN) {
		jpki_set_detail("the challenge id is not %d hex characters", JPKI_LOGIN_ID_LEN);
		return JPKI_ERR_NOT_FOUND;
	}
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->max; i++) {
		struct login_entry *e = &t->e[i];
		if (e->id[0] == '\0' || CRYPTO_memcmp(e->id, id, JPKI_LOGIN_ID_LEN) != 0)
			continue;
		if (e->expires < now) {
			jpki_set_detail("the challenge expired; ask for a new one");
		} else {
			memcpy(challenge, e->challenge, JPKI_LOGIN_CHALLENGE_LEN);
			r = 0;
		}
		OPENSSL_cleanse(e, sizeof(*e));
		break;
	}
	pthread_mutex_unlock(&t->mu);
	if (r == JPKI_ERR_NOT_FOUND && i == t->max)
		jpki_set_detail("unknown or already used challenge");
	return r;
}
