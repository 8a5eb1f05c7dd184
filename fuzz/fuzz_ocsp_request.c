/*
 * libFuzzer target: the OCSP request parser (jpkid's hot path for bytes
 * from anyone), and the response builder on whatever the parser accepts.
 *
 *   CC=clang bash scripts/build.sh build-fuzz -DJPKI_FUZZ=ON
 *   build-fuzz/fuzz_ocsp_request fuzz/corpus/fuzz_ocsp_request
 *
 * Input: a DER OCSPRequest (may be anything).  When it parses, every CertID
 * must point inside the input; the serial key must be the integer's
 * magnitude; and a response built for it (as if every CertID were ours and
 * good, with the nonce echoed) must be read back by OpenSSL's
 * d2i_OCSP_RESPONSE whole.  The responder's key is RSA-1024 so that signing
 * does not slow the fuzzer down.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "jpki/error.h"
#include "jpki/ocsp.h"
#include "jpki/x509.h"

static jpki_ocsp_responder_t *g_resp;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t serial[] = {0x42};
	EVP_PKEY *key = EVP_RSA_gen(1024);
	X509 *ca = NULL;

	if (key == NULL || jpki_x509_ca_cert(JPKI_CA_SIGN, 1, key, 1767225600, serial,
	                                     sizeof(serial), &ca) != 0 ||
	    jpki_ocsp_responder_new(ca, key, &g_resp) != 0)
		abort();
	X509_free(ca);
	EVP_PKEY_free(key);
	return 0;
}

static int
inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
	return p >= data && n <= size && p + n <= data + size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jpki_ocsp_request_t rq;
	jpki_ocsp_single_t s[JPKI_OCSP_MAX_CERTS];
	uint8_t key[JPKI_SERIAL_MAX], *der = NULL;
	size_t i, kl, len;
	const unsigned char *p;
	OCSP_RESPONSE *r;
	int built = 0;

	if (jpki_ocsp_request_parse(data, size, &rq) != 0)
		return 0;
	if (rq.count == 0 || rq.count > JPKI_OCSP_MAX_CERTS)
		abort();
	if (rq.nonce != NULL && (!inside(rq.nonce, rq.nonce_len, data, size) ||
	                         rq.nonce_len > JPKI_OCSP_NONCE_MAX))
		abort();
	for (i = 0; i < rq.count; i++) {
		const jpki_ocsp_certid_t *id = &rq.ids[i];
		if (!inside(id->name_hash, id->name_hash_len, data, size) ||
		    !inside(id->key_hash, id->key_hash_len, data, size) ||
		    !inside(id->serial, id->serial_len, data, size) || id->serial_len == 0)
			abort();
		jpki_ocsp_responder_match(g_resp, id);
		if (jpki_ocsp_serial_key(id, key, &kl) == 0) {
			/* The magnitude: the INTEGER's bytes without its leading zeros. */
			if (kl == 0 || kl > JPKI_SERIAL_MAX || key[0] == 0 ||
			    memcmp(key, id->serial + id->serial_len - kl, kl) != 0)
				abort();
		}
		memset(&s[i], 0, sizeof(s[i]));
		s[i].id = id;
		s[i].status = (int)(i % 3);
		s[i].reason = i % 2 ? JPKI_REASON_KEY_COMPROMISE : JPKI_REASON_NONE;
		s[i].revocation_time = 1767225600;
		s[i].non_issued = i == 1;
	}
	/* A hash other than SHA-1/SHA-256 is never answered (unauthorized). */
	if (jpki_ocsp_response_build(g_resp, s, rq.count, rq.nonce, rq.nonce_len, 1767225600,
	                             1767229200, &der, &len) == 0) {
		built = 1;
		p = der;
		if ((r = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL || p != der + len)
			abort();
		OCSP_RESPONSE_free(r);
	}
	for (i = 0; i < rq.count && built; i++)
		if (rq.ids[i].hash == JPKI_OCSP_HASH_OTHER)
			abort();
	free(der);
	return 0;
}
