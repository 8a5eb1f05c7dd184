/* OCSP request parser and response builder (spec §5), against OpenSSL's OCSP
 * structures as an independent peer: requests made by OCSP_*, responses read
 * back with d2i_OCSP_RESPONSE and checked with OCSP_basic_verify. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "jpki/error.h"
#include "jpki/ocsp.h"
#include "jpki/x509.h"
#include "x509/der.h"

#define T0 ((time_t)1795000000) /* 2026-11-18T11:06:40Z */

static EVP_PKEY *ca_key, *other_key;
static X509 *ca_cert, *other_cert;
static jpki_ocsp_responder_t *resp, *other_resp;

static const uint8_t serial_a[16] = {0x41, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                     0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

static int
setup(void **state)
{
	static const uint8_t s1[] = {0x42, 0x01}, s2[] = {0x42, 0x02};

	if ((ca_key = EVP_RSA_gen(2048)) == NULL || (other_key = EVP_RSA_gen(2048)) == NULL)
		return -1;
	if (jpki_x509_ca_cert(JPKI_CA_SIGN, 1, ca_key, T0 - 86400, s1, sizeof(s1), &ca_cert) != 0 ||
	    jpki_x509_ca_cert(JPKI_CA_AUTH, 1, other_key, T0 - 86400, s2, sizeof(s2), &other_cert) != 0)
		return -1;
	if (jpki_ocsp_responder_new(ca_cert, ca_key, &resp) != 0 ||
	    jpki_ocsp_responder_new(other_cert, other_key, &other_resp) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	jpki_ocsp_responder_free(resp);
	jpki_ocsp_responder_free(other_resp);
	X509_free(ca_cert);
	X509_free(other_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	return 0;
}

/* An OpenSSL CertID for a serial of ca_cert's issuer. */
static OCSP_CERTID *
certid(const EVP_MD *md, X509 *issuer, const uint8_t *serial, size_t len)
{
	ASN1_INTEGER *ai;
	BIGNUM *bn = BN_bin2bn(serial, (int)len, NULL);
	OCSP_CERTID *id;

	assert_non_null(bn);
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	assert_non_null(ai);
	id = OCSP_cert_id_new(md, X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer), ai);
	assert_non_null(id);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return id;
}

/* A DER request of OpenSSL's making for one serial. */
static size_t
make_req(const EVP_MD *md, X509 *issuer, const uint8_t *serial, size_t len, int nonce,
         uint8_t **der, OCSP_REQUEST **keep)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	int n;

	assert_non_null(req);
	assert_non_null(OCSP_request_add0_id(req, certid(md, issuer, serial, len)));
	if (nonce)
		assert_int_equal(OCSP_request_add1_nonce(req, NULL, 16), 1);
	*der = NULL;
	n = i2d_OCSP_REQUEST(req, der);
	assert_true(n > 0);
	if (keep != NULL)
		*keep = req;
	else
		OCSP_REQUEST_free(req);
	return (size_t)n;
}

static void
test_parse_openssl_request(void **state)
{
	jpki_ocsp_request_t rq;
	uint8_t *der, key[JPKI_SERIAL_MAX];
	size_t n, kl;

	n = make_req(EVP_sha1(), ca_cert, serial_a, sizeof(serial_a), 0, &der, NULL);
	assert_int_equal(jpki_ocsp_request_parse(der, n, &rq), 0);
	assert_int_equal(rq.count, 1);
	assert_null(rq.nonce);
	assert_int_equal(rq.ids[0].hash, JPKI_OCSP_SHA1);
	assert_int_equal(rq.ids[0].name_hash_len, 20);
	assert_int_equal(jpki_ocsp_serial_key(&rq.ids[0], key, &kl), 0);
	assert_int_equal(kl, sizeof(serial_a));
	assert_memory_equal(key, serial_a, kl);
	assert_int_equal(jpki_ocsp_responder_match(resp, &rq.ids[0]), 1);
	assert_int_equal(jpki_ocsp_responder_match(other_resp, &rq.ids[0]), 0);
	OPENSSL_free(der);

	n = make_req(EVP_sha256(), other_cert, serial_a, sizeof(serial_a), 1, &der, NULL);
	assert_int_equal(jpki_ocsp_request_parse(der, n, &rq), 0);
	assert_int_equal(rq.ids[0].hash, JPKI_OCSP_SHA256);
	assert_int_equal(rq.ids[0].key_hash_len, 32);
	assert_non_null(rq.nonce);
	/* OpenSSL wraps its 16 random bytes in an OCTET STRING inside extnValue. */
	assert_int_equal(rq.nonce_len, 18);
	assert_int_equal(rq.nonce[0], 0x04);
	assert_int_equal(jpki_ocsp_responder_match(resp, &rq.ids[0]), 0);
	assert_int_equal(jpki_ocsp_responder_match(other_resp, &rq.ids[0]), 1);
	OPENSSL_free(der);

	/* A hash we do not answer for parses, and matches nobody. */
	n = make_req(EVP_sha384(), ca_cert, serial_a, sizeof(serial_a), 0, &der, NULL);
	assert_int_equal(jpki_ocsp_request_parse(der, n, &rq), 0);
	assert_int_equal(rq.ids[0].hash, JPKI_OCSP_HASH_OTHER);
	assert_int_equal(jpki_ocsp_responder_match(resp, &rq.ids[0]), 0);
	OPENSSL_free(der);
}

static void
test_parse_many_and_limits(void **state)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	jpki_ocsp_request_t rq;
	uint8_t *der = NULL, s[2] = {0x10, 0};
	int i, n;

	for (i = 0; i < JPKI_OCSP_MAX_CERTS; i++) {
		s[1] = (uint8_t)i;
		assert_non_null(OCSP_request_add0_id(req, certid(EVP_sha1(), ca_cert, s, 2)));
	}
	n = i2d_OCSP_REQUEST(req, &der);
	assert_int_equal(jpki_ocsp_request_parse(der, (size_t)n, &rq), 0);
	assert_int_equal(rq.count, JPKI_OCSP_MAX_CERTS);
	assert_int_equal(rq.ids[5].serial[1], 5);
	OPENSSL_free(der);
	der = NULL;
	assert_non_null(OCSP_request_add0_id(req, certid(EVP_sha1(), ca_cert, s, 2)));
	n = i2d_OCSP_REQUEST(req, &der);
	assert_int_equal(jpki_ocsp_request_parse(der, (size_t)n, &rq), JPKI_ERR_TOO_LARGE);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
}

/* Every truncation and every single-byte change of a valid request either
 * parses or fails cleanly (run under ASan by the sanitizer build). */
static void
test_parse_mutations(void **state)
{
	jpki_ocsp_request_t rq;
	uint8_t *der, *copy;
	size_t n, i;
	int v;

	n = make_req(EVP_sha256(), ca_cert, serial_a, sizeof(serial_a), 1, &der, NULL);
	for (i = 0; i < n; i++) {
		/* An exact-size copy so ASan sees any read past the end. */
		copy = malloc(i ? i : 1);
		memcpy(copy, der, i);
		assert_int_not_equal(jpki_ocsp_request_parse(copy, i, &rq), 0);
		free(copy);
	}
	copy = malloc(n);
	for (i = 0; i < n; i++) {
		for (v = 0; v < 256; v += 17) {
			memcpy(copy, der, n);
			copy[i] ^= (uint8_t)(v | 1);
			if (jpki_ocsp_request_parse(copy, n, &rq) == 0)
				assert_true(rq.count == 1);
		}
	}
	free(copy);
	/* Trailing bytes after the request. */
	copy = malloc(n + 1);
	memcpy(copy, der, n);
	copy[n] = 0;
	assert_int_equal(jpki_ocsp_request_parse(copy, n + 1, &rq), JPKI_ERR_FORMAT);
	free(copy);
	OPENSSL_free(der);
}

static void
test_parse_handmade(void **state)
{
	jpki_ocsp_request_t rq;
	uint8_t key[JPKI_SERIAL_MAX];
	size_t kl;
	/* SEQ { SEQ { [0] { INTEGER 0 } SEQ { SEQ { CertID } } } }: explicit v1, and
	 * a serial with leading zero octets (compared as an integer). */
	static const uint8_t v1[] = {
		0x30, 0x2a, 0x30, 0x28, 0xa0, 0x03, 0x02, 0x01, 0x00, 0x30, 0x21, 0x30, 0x1f,
		0x30, 0x1d, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00,
		0x04, 0x04, 1, 2, 3, 4, 0x04, 0x04, 5, 6, 7, 8, 0x02, 0x04, 0x00, 0x00, 0x12, 0x34};
	uint8_t buf[sizeof(v1)];

	assert_int_equal(jpki_ocsp_request_parse(v1, sizeof(v1), &rq), 0);
	assert_int_equal(rq.count, 1);
	assert_int_equal(jpki_ocsp_serial_key(&rq.ids[0], key, &kl), 0);
	assert_int_equal(kl, 2);
	assert_int_equal(key[0], 0x12);
	/* version v2 does not exist */
	memcpy(buf, v1, sizeof(v1));
	buf[8] = 1;
	assert_int_equal(jpki_ocsp_request_parse(buf, sizeof(buf), &rq), JPKI_ERR_FORMAT);
	/* BER indefinite length */
	memcpy(buf, v1, sizeof(v1));
	buf[1] = 0x80;
	assert_int_not_equal(jpki_ocsp_request_parse(buf, sizeof(buf), &rq), 0);
	/* a non-minimal length (0x81 0x2a) */
	{
		uint8_t nm[sizeof(v1) + 1];
		nm[0] = 0x30;
		nm[1] = 0x81;
		nm[2] = 0x2a;
		memcpy(nm + 3, v1 + 2, sizeof(v1) - 2);
		assert_int_equal(jpki_ocsp_request_parse(nm, sizeof(nm), &rq), JPKI_ERR_FORMAT);
	}
	/* empty request list */
	{
		static const uint8_t empty[] = {0x30, 0x04, 0x30, 0x02, 0x30, 0x00};
		assert_int_equal(jpki_ocsp_request_parse(empty, sizeof(empty), &rq), JPKI_ERR_FORMAT);
	}
	assert_int_not_equal(jpki_ocsp_request_parse(NULL, 0, &rq), 0);
}

static void
test_serial_key(void **state)
{
	jpki_ocsp_certid_t id;
	uint8_t key[JPKI_SERIAL_MAX], big[22];
	size_t kl;

	memset(&id, 0, sizeof(id));
	id.serial = (const uint8_t *)"\x00\x00\x80\x01";
	id.serial_len = 4;
	assert_int_equal(jpki_ocsp_serial_key(&id, key, &kl), 0);
	assert_int_equal(kl, 2);
	assert_int_equal(key[0], 0x80);
	id.serial = (const uint8_t *)"\x80\x01"; /* negative */
	id.serial_len = 2;
	assert_int_equal(jpki_ocsp_serial_key(&id, key, &kl), JPKI_ERR_RANGE);
	id.serial = (const uint8_t *)"\x00\x00";  /* zero */
	assert_int_equal(jpki_ocsp_serial_key(&id, key, &kl), JPKI_ERR_RANGE);
	memset(big, 0x11, sizeof(big));
	big[0] = 0;
	id.serial = big;
	id.serial_len = 22; /* 21 octets of magnitude */
	assert_int_equal(jpki_ocsp_serial_key(&id, key, &kl), JPKI_ERR_RANGE);
	id.serial_len = 21;
	assert_int_equal(jpki_ocsp_serial_key(&id, key, &kl), 0);
	assert_int_equal(kl, 20);
}

static void
test_decode_get(void **state)
{
	uint8_t *der, out[1024];
	size_t n, ol, i, j;
	char b64[2048], alt[4096];
	int bl;

	n = make_req(EVP_sha1(), ca_cert, serial_a, sizeof(serial_a), 0, &der, NULL);
	bl = EVP_EncodeBlock((unsigned char *)b64, der, (int)n);
	assert_true(bl > 0);
	assert_int_equal(jpki_ocsp_decode_get(b64, (size_t)bl, out, sizeof(out), &ol), 0);
	assert_int_equal(ol, n);
	assert_memory_equal(out, der, n);
	/* URL-safe alphabet, no padding; and percent-encoded standard base64. */
	for (i = j = 0; i < (size_t)bl; i++) {
		if (b64[i] == '=')
			continue;
		alt[j++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	}
	assert_int_equal(jpki_ocsp_decode_get(alt, j, out, sizeof(out), &ol), 0);
	assert_memory_equal(out, der, n);
	for (i = j = 0; i < (size_t)bl; i++) {
		if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=')
			j += (size_t)sprintf(alt + j, "%%%02X", (unsigned char)b64[i]);
		else
			alt[j++] = b64[i];
	}
	assert_int_equal(jpki_ocsp_decode_get(alt, j, out, sizeof(out), &ol), 0);
	assert_memory_equal(out, der, n);
	assert_int_equal(jpki_ocsp_decode_get("MA%", 3, out, sizeof(out), &ol), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_ocsp_decode_get("MA%zz", 5, out, sizeof(out), &ol), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_ocsp_decode_get("M A=", 4, out, sizeof(out), &ol), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_ocsp_decode_get("MAA=A", 5, out, sizeof(out), &ol), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_ocsp_decode_get("MAAAA", 5, out, sizeof(out), &ol), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_ocsp_decode_get(b64, (size_t)bl, out, 10, &ol), JPKI_ERR_TOO_LARGE);
	OPENSSL_free(der);
}

/* Our response, read by OpenSSL: successful, signed by the CA (verified with
 * the CA certificate as the only trust), the status of the CertID. */
static OCSP_BASICRESP *
check_response(const uint8_t *der, size_t n, X509 *issuer)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)n);
	OCSP_BASICRESP *bs;
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *certs = sk_X509_new_null();
	const ASN1_OCTET_STRING *rid_key = NULL;
	const X509_NAME *rid_name = NULL;

	assert_non_null(r);
	assert_ptr_equal(p, der + n);
	assert_int_equal(OCSP_response_status(r), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(r);
	assert_non_null(bs);
	assert_int_equal(X509_STORE_add_cert(st, issuer), 1);
	sk_X509_push(certs, issuer);
	assert_int_equal(OCSP_basic_verify(bs, certs, st, OCSP_TRUSTOTHER), 1);
	/* byKey, the SHA-1 of the CA key */
	assert_int_equal(OCSP_resp_get0_id(bs, &rid_key, &rid_name), 1);
	assert_non_null(rid_key);
	assert_null(rid_name);
	assert_int_equal(ASN1_STRING_length(rid_key), 20);
	sk_X509_free(certs);
	X509_STORE_free(st);
	OCSP_RESPONSE_free(r);
	return bs;
}

static void
build_one(const jpki_ocsp_single_t *s, const uint8_t *nonce, size_t nl, uint8_t **der, size_t *n)
{
	assert_int_equal(jpki_ocsp_response_build(resp, s, 1, nonce, nl, T0, T0 + 3600, der, n), 0);
}

static void
test_response_good_revoked_hold(void **state)
{
	jpki_ocsp_request_t rq;
	jpki_ocsp_single_t s;
	OCSP_BASICRESP *bs;
	OCSP_CERTID *id;
	ASN1_GENERALIZEDTIME *rev, *thisu, *nextu;
	uint8_t *req, *der;
	size_t rn, n;
	int status, reason;
	const EVP_MD *mds[2] = {EVP_sha1(), EVP_sha256()};
	int k;

	for (k = 0; k < 2; k++) {
		rn = make_req(mds[k], ca_cert, serial_a, sizeof(serial_a), 0, &req, NULL);
		assert_int_equal(jpki_ocsp_request_parse(req, rn, &rq), 0);
		id = certid(mds[k], ca_cert, serial_a, sizeof(serial_a));

		memset(&s, 0, sizeof(s));
		s.id = &rq.ids[0];
		s.status = JPKI_OCSP_GOOD;
		s.reason = JPKI_REASON_NONE;
		build_one(&s, NULL, 0, &der, &n);
		bs = check_response(der, n, ca_cert);
		assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisu, &nextu), 1);
		assert_int_equal(status, V_OCSP_CERTSTATUS_GOOD);
		assert_non_null(nextu);
		assert_int_equal(ASN1_TIME_cmp_time_t(thisu, T0), 0);
		assert_int_equal(ASN1_TIME_cmp_time_t(nextu, T0 + 3600), 0);
		assert_int_equal(thisu->type, V_ASN1_GENERALIZEDTIME);
		assert_int_equal(OCSP_BASICRESP_get_ext_count(bs), 0);
		OCSP_BASICRESP_free(bs);
		free(der);

		s.status = JPKI_OCSP_REVOKED;
		s.reason = JPKI_REASON_KEY_COMPROMISE;
		s.revocation_time = T0 - 100;
		build_one(&s, NULL, 0, &der, &n);
		bs = check_response(der, n, ca_cert);
		assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisu, &nextu), 1);
		assert_int_equal(status, V_OCSP_CERTSTATUS_REVOKED);
		assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
		assert_int_equal(ASN1_TIME_cmp_time_t(rev, T0 - 100), 0);
		OCSP_BASICRESP_free(bs);
		free(der);

		s.reason = JPKI_REASON_CERTIFICATE_HOLD;
		build_one(&s, NULL, 0, &der, &n);
		bs = check_response(der, n, ca_cert);
		assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisu, &nextu), 1);
		assert_int_equal(status, V_OCSP_CERTSTATUS_REVOKED);
		assert_int_equal(reason, OCSP_REVOKED_STATUS_CERTIFICATEHOLD);
		OCSP_BASICRESP_free(bs);
		free(der);

		/* revoked without a reason: no reason field */
		s.reason = JPKI_REASON_NONE;
		build_one(&s, NULL, 0, &der, &n);
		bs = check_response(der, n, ca_cert);
		assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisu, &nextu), 1);
		assert_int_equal(reason, OCSP_REVOKED_STATUS_NOSTATUS);
		OCSP_BASICRESP_free(bs);
		free(der);

		s.status = JPKI_OCSP_UNKNOWN;
		build_one(&s, NULL, 0, &der, &n);
		bs = check_response(der, n, ca_cert);
		assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisu, &nextu), 1);
		assert_int_equal(status, V_OCSP_CERTSTATUS_UNKNOWN);
		OCSP_BASICRESP_free(bs);
		free(der);

		OCSP_CERTID_free(id);
		OPENSSL_free(req);
	}
}

static void
test_response_non_issued_and_nonce(void **state)
{
	jpki_ocsp_request_t rq;
	jpki_ocsp_single_t s;
	OCSP_REQUEST *oreq;
	OCSP_BASICRESP *bs;
	OCSP_CERTID *id;
	ASN1_GENERALIZEDTIME *rev, *thisu, *nextu;
	ASN1_OBJECT *ext;
	uint8_t *req, *der;
	size_t rn, n;
	int status, reason, idx;

	rn = make_req(EVP_sha256(), ca_cert, serial_a, sizeof(serial_a), 1, &req, &oreq);
	assert_int_equal(jpki_ocsp_request_parse(req, rn, &rq), 0);
	id = certid(EVP_sha256(), ca_cert, serial_a, sizeof(serial_a));
	memset(&s, 0, sizeof(s));
	s.id = &rq.ids[0];
	s.status = JPKI_OCSP_REVOKED;
	s.non_issued = 1;
	build_one(&s, rq.nonce, rq.nonce_len, &der, &n);
	bs = check_response(der, n, ca_cert);
	assert_int_equal(OCSP_check_nonce(oreq, bs), 1);
	assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisu, &nextu), 1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, OCSP_REVOKED_STATUS_CERTIFICATEHOLD);
	assert_int_equal(ASN1_TIME_cmp_time_t(rev, 0), 0);
	ext = OBJ_txt2obj("1.3.6.1.5.5.7.48.1.9", 1);
	idx = OCSP_BASICRESP_get_ext_by_OBJ(bs, ext, -1);
	assert_true(idx >= 0);
	assert_int_equal(X509_EXTENSION_get_critical(OCSP_BASICRESP_get_ext(bs, idx)), 0);
	ASN1_OBJECT_free(ext);
	OCSP_BASICRESP_free(bs);
	free(der);

	/* Without the nonce echoed OpenSSL notices. */
	s.non_issued = 0;
	s.status = JPKI_OCSP_GOOD;
	build_one(&s, NULL, 0, &der, &n);
	bs = check_response(der, n, ca_cert);
	assert_int_not_equal(OCSP_check_nonce(oreq, bs), 1);
	OCSP_BASICRESP_free(bs);
	free(der);

	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(oreq);
	OPENSSL_free(req);
}

/* A serial sent with leading zero octets is answered with its minimal
 * encoding, which OpenSSL's CertID comparison finds. */
static void
test_response_serial_minimal(void **state)
{
	jpki_ocsp_certid_t cid;
	jpki_ocsp_single_t s;
	OCSP_BASICRESP *bs;
	OCSP_CERTID *id;
	ASN1_GENERALIZEDTIME *rev, *thisu, *nextu;
	uint8_t *der, raw[18], nh[20], kh[20];
	unsigned int hl;
	size_t n;
	int status, reason;

	raw[0] = raw[1] = 0;
	memcpy(raw + 2, serial_a, 16);
	assert_int_equal(X509_NAME_digest(X509_get_subject_name(ca_cert), EVP_sha1(), nh, &hl), 1);
	assert_int_equal(X509_pubkey_digest(ca_cert, EVP_sha1(), kh, &hl), 1);
	memset(&cid, 0, sizeof(cid));
	cid.hash = JPKI_OCSP_SHA1;
	cid.name_hash = nh;
	cid.name_hash_len = 20;
	cid.key_hash = kh;
	cid.key_hash_len = 20;
	cid.serial = raw;
	cid.serial_len = sizeof(raw);
	assert_int_equal(jpki_ocsp_responder_match(resp, &cid), 1);
	memset(&s, 0, sizeof(s));
	s.id = &cid;
	s.status = JPKI_OCSP_GOOD;
	s.reason = JPKI_REASON_NONE;
	build_one(&s, NULL, 0, &der, &n);
	bs = check_response(der, n, ca_cert);
	id = certid(EVP_sha1(), ca_cert, serial_a, sizeof(serial_a));
	assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisu, &nextu), 1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_GOOD);
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	free(der);
}

static void
test_response_many(void **state)
{
	jpki_ocsp_certid_t cid[3];
	jpki_ocsp_single_t s[3];
	OCSP_BASICRESP *bs;
	uint8_t *der, nh[32], kh[32], ser[3][2] = {{1, 1}, {1, 2}, {1, 3}};
	unsigned int hl;
	size_t n;
	int i;

	assert_int_equal(X509_NAME_digest(X509_get_subject_name(ca_cert), EVP_sha256(), nh, &hl), 1);
	assert_int_equal(X509_pubkey_digest(ca_cert, EVP_sha256(), kh, &hl), 1);
	for (i = 0; i < 3; i++) {
		memset(&cid[i], 0, sizeof(cid[i]));
		cid[i].hash = JPKI_OCSP_SHA256;
		cid[i].name_hash = nh;
		cid[i].name_hash_len = 32;
		cid[i].key_hash = kh;
		cid[i].key_hash_len = 32;
		cid[i].serial = ser[i];
		cid[i].serial_len = 2;
		memset(&s[i], 0, sizeof(s[i]));
		s[i].id = &cid[i];
		s[i].status = i == 1 ? JPKI_OCSP_REVOKED : JPKI_OCSP_GOOD;
		s[i].reason = i == 1 ? JPKI_REASON_SUPERSEDED : JPKI_REASON_NONE;
		s[i].revocation_time = T0;
	}
	assert_int_equal(jpki_ocsp_response_build(resp, s, 3, NULL, 0, T0, 0, &der, &n), 0);
	bs = check_response(der, n, ca_cert);
	assert_int_equal(OCSP_resp_count(bs), 3);
	for (i = 0; i < 3; i++) {
		int status, reason;
		ASN1_GENERALIZEDTIME *rev, *thisu, *nextu;
		OCSP_CERTID *id = certid(EVP_sha256(), ca_cert, ser[i], 2);
		assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisu, &nextu), 1);
		assert_int_equal(status, i == 1 ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD);
		assert_null(nextu);
		OCSP_CERTID_free(id);
	}
	OCSP_BASICRESP_free(bs);
	free(der);
	/* refused: nothing, too many, an unanswerable hash */
	assert_int_equal(jpki_ocsp_response_build(resp, s, 0, NULL, 0, T0, 0, &der, &n),
	                 JPKI_ERR_INVALID_ARG);
	cid[0].hash = JPKI_OCSP_HASH_OTHER;
	assert_int_not_equal(jpki_ocsp_response_build(resp, s, 1, NULL, 0, T0, 0, &der, &n), 0);
	assert_null(der);
}

static void
test_error_response(void **state)
{
	uint8_t b[5];
	const unsigned char *p = b;
	size_t n = jpki_ocsp_error_response(JPKI_OCSP_MALFORMED_REQUEST, b);
	OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)n);

	assert_non_null(r);
	assert_int_equal(OCSP_response_status(r), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	OCSP_RESPONSE_free(r);
	n = jpki_ocsp_error_response(JPKI_OCSP_UNAUTHORIZED, b);
	p = b;
	r = d2i_OCSP_RESPONSE(NULL, &p, (long)n);
	assert_int_equal(OCSP_response_status(r), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	OCSP_RESPONSE_free(r);
}

static void
test_der_reader_and_gentime(void **state)
{
	jpki_buf_t b;
	jpki_rd_t r;
	const uint8_t *v;
	uint8_t tag;
	size_t n;
	static const uint8_t long_ok[] = {0x04, 0x81, 0x80};

	jpki_buf_init(&b, 64);
	assert_int_equal(der_put_gentime(&b, T0), 0);
	assert_int_equal(b.len, 17);
	assert_memory_equal(b.data, "\x18\x0f" "20261118", 10);
	jpki_buf_reset(&b);
	assert_int_equal(der_put_gentime(&b, 0), 0);
	assert_memory_equal(b.data + 2, "19700101000000Z", 15);
	jpki_buf_reset(&b);
	assert_int_equal(der_put_gentime(&b, (time_t)2556144000), 0); /* 2051 */
	assert_memory_equal(b.data + 2, "20510101000000Z", 15);
	jpki_buf_free(&b);

	jpki_rd_init(&r, long_ok, sizeof(long_ok));
	assert_int_equal(der_get_tlv(&r, &tag, &v, &n), JPKI_ERR_TRUNCATED);
	jpki_rd_init(&r, "\x1f\x01\x00", 3);
	assert_int_equal(der_get_tlv(&r, &tag, &v, &n), JPKI_ERR_FORMAT);
	jpki_rd_init(&r, "\x04\x85\x01\x00\x00\x00\x00", 7);
	assert_int_equal(der_get_tlv(&r, &tag, &v, &n), JPKI_ERR_FORMAT);
	jpki_rd_init(&r, "\x04\x82\x00\x80", 4);
	assert_int_equal(der_get_tlv(&r, &tag, &v, &n), JPKI_ERR_FORMAT);
	jpki_rd_init(&r, "\x05\x00", 2);
	assert_int_equal(der_get_expect(&r, DER_NULL, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(der_peek_tag(&r), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_der_reader_and_gentime),
		cmocka_unit_test(test_parse_openssl_request),
		cmocka_unit_test(test_parse_many_and_limits),
		cmocka_unit_test(test_parse_mutations),
		cmocka_unit_test(test_parse_handmade),
		cmocka_unit_test(test_serial_key),
		cmocka_unit_test(test_decode_get),
		cmocka_unit_test(test_response_good_revoked_hold),
		cmocka_unit_test(test_response_non_issued_and_nonce),
		cmocka_unit_test(test_response_serial_minimal),
		cmocka_unit_test(test_response_many),
		cmocka_unit_test(test_error_response),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
