/*
 * libFuzzer target: what the relying party parses from outside
 * (jpki/verify.h, jpki/client.h).  The first byte picks the parser:
 *   0  jpki_cms_verify: a signature (DER) over the content "x", anchor a CA
 *      made at startup, status from no source (offline)
 *   1  jpki_base64_decode (at most 4096 bytes out)
 *   2  jpki_client_published_fp (the published fingerprint JSON)
 *   3  jpki_login_origin (a URL)
 *   4  jpki_identity_from_cert: a certificate (DER), its SAN otherNames
 * The rest of the input is the data.
 *
 *   CC=clang bash scripts/build.sh build-fuzz -DJPKI_FUZZ=ON
 *   build-fuzz/fuzz_verify fuzz/corpus/fuzz_verify
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "jpki/client.h"
#include "jpki/error.h"
#include "jpki/verify.h"

static X509 *anchor;

static X509 *
make_anchor(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	if (k == NULL || x == NULL || n == NULL)
		abort();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz CA", -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 3650);
	X509_set_pubkey(x, k);
	if (X509_sign(x, k, EVP_sha256()) <= 0)
		abort();
	X509_NAME_free(n);
	EVP_PKEY_free(k);
	return x;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jpki_verify_opts_t o;
	jpki_verified_t v;
	jpki_identity_t id;
	uint8_t hash[32], *out = NULL;
	size_t n = 0;
	char sign[JPKI_CLIENT_FP_MAX], auth[JPKI_CLIENT_FP_MAX], origin[JPKI_LOGIN_ORIGIN_MAX];
	char *s;
	const uint8_t *p;
	X509 *x;

	if (anchor == NULL)
		anchor = make_anchor();
	if (size < 1)
		return 0;
	switch (data[0]) {
	case 0:
		SHA256((const uint8_t *)"x", 1, hash);
		memset(&o, 0, sizeof(o));
		o.anchor = anchor;
		o.kind = JPKI_CA_SIGN;
		o.status.offline = 1;
		jpki_cms_verify(data + 1, size - 1, hash, &o, &v);
		jpki_verified_clear(&v);
		break;
	case 1:
		if (jpki_base64_decode((const char *)data + 1, size - 1, 4096, &out, &n) == 0 && n > 4096)
			abort();
		free(out);
		break;
	case 2:
		jpki_client_published_fp((const char *)data + 1, size - 1, sign, auth);
		break;
	case 3:
		if ((s = malloc(size)) == NULL)
			return 0;
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		if (jpki_login_origin(s, origin, sizeof(origin)) == 0 && strlen(origin) >= sizeof(origin))
			abort();
		free(s);
		break;
	case 4:
		p = data + 1;
		if ((x = d2i_X509(NULL, &p, (long)(size - 1))) != NULL) {
			jpki_identity_from_cert(x, &id);
			X509_free(x);
		}
		break;
	default:
		break;
	}
	return 0;
}
