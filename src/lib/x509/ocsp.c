/*
 * OCSP requests read and responses written in DER (RFC 6960, RFC 5019).
 * The reader is strict DER and bounded by the request's own length; nothing
 * is allocated while parsing.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "jpki/error.h"
#include "jpki/ocsp.h"
#include "x509/der.h"

#define RESPONSE_MAX ((size_t)64 * 1024)

/* sha1 1.3.14.3.2.26 and sha256 2.16.840.1.101.3.4.2.1, OID contents. */
static const uint8_t oid_sha1[] = {0x2b, 0x0e, 0x03, 0x02, 0x1a};
static const uint8_t oid_sha256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
/* id-pkix-ocsp-nonce 1.3.6.1.5.5.7.48.1.2 */
static const uint8_t oid_nonce[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02};
/* id-pkix-ocsp-extended-revoke 1.3.6.1.5.5.7.48.1.9 */
static const uint8_t oid_ext_revoke[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x09};
/* id-pkix-ocsp-basic 1.3.6.1.5.5.7.48.1.1 */
static const uint8_t oid_basic[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};

/* AlgorithmIdentifiers as the response carries them (NULL parameters). */
static const uint8_t alg_sha1[] = {0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a,
                                   0x05, 0x00};
static const uint8_t alg_sha256[] = {0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                                     0x03, 0x04, 0x02, 0x01, 0x05, 0x00};
static const uint8_t alg_sha256_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                         0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};

static const size_t hash_len[2] = {20, 32};

static int
oid_is(const uint8_t *p, size_t n, const uint8_t *oid, size_t oid_len)
{
	return n == oid_len && memcmp(p, oid, n) == 0;
}

/* Extensions ::= SEQUENCE OF Extension, inside an EXPLICIT tag whose
 * contents are p.  The nonce is kept when want_nonce; the rest is skipped. */
static int
parse_exts(const uint8_t *p, size_t len, jpki_ocsp_request_t *out, int want_nonce)
{
	jpki_rd_t r, s, e;
	const uint8_t *v, *oid, *val, *crit;
	size_t vl, oidl, vall, critl;
	int rc;

	jpki_rd_init(&r, p, len);
	if ((rc = der_get_expect(&r, DER_SEQUENCE, &v, &vl)) != 0)
		return rc;
	if (jpki_rd_left(&r) != 0)
		return JPKI_ERR_FORMAT;
	jpki_rd_init(&s, v, vl);
	while (jpki_rd_left(&s) > 0) {
		if ((rc = der_get_expect(&s, DER_SEQUENCE, &v, &vl)) != 0)
			return rc;
		jpki_rd_init(&e, v, vl);
		if ((rc = der_get_expect(&e, DER_OID, &oid, &oidl)) != 0)
			return rc;
		if (oidl == 0)
			return JPKI_ERR_FORMAT;
		if (der_peek_tag(&e) == DER_BOOLEAN) {
			if ((rc = der_get_expect(&e, DER_BOOLEAN, &crit, &critl)) != 0)
				return rc;
			if (critl != 1)
				return JPKI_ERR_FORMAT;
		}
		if ((rc = der_get_expect(&e, DER_OCTET_STRING, &val, &vall)) != 0)
			return rc;
		if (jpki_rd_left(&e) != 0)
			return JPKI_ERR_FORMAT;
		if (want_nonce && oid_is(oid, oidl, oid_nonce, sizeof(oid_nonce))) {
			if (out->nonce != NULL || out->nonce_ignored)
				return JPKI_ERR_FORMAT; /* two nonces: which one to echo? */
			if (vall > JPKI_OCSP_NONCE_MAX) {
				out->nonce_ignored = 1; /* RFC 8954: answer without it */
			} else {
				out->nonce = val;
				out->nonce_len = vall;
			}
		}
	}
	return 0;
}

/* CertID ::= SEQUENCE { hashAlgorithm, issuerNameHash, issuerKeyHash,
 * serialNumber }, from its contents p. */
static int
parse_certid(const uint8_t *p, size_t len, jpki_ocsp_certid_t *id)
{
	jpki_rd_t r, a;
	const uint8_t *v, *oid, *par;
	size_t vl, oidl, parl;
	uint8_t tag;
	int rc;

	jpki_rd_init(&r, p, len);
	if ((rc = der_get_expect(&r, DER_SEQUENCE, &v, &vl)) != 0)
		return rc;
	jpki_rd_init(&a, v, vl);
	if ((rc = der_get_expect(&a, DER_OID, &oid, &oidl)) != 0)
		return rc;
	if (jpki_rd_left(&a) > 0) {
		/* Parameters: NULL for the hashes we know; anything else is still
		 * well-formed (it just will not match a CA of ours). */
		if ((rc = der_get_tlv(&a, &tag, &par, &parl)) != 0)
			return rc;
		if (tag == DER_NULL && parl != 0)
			return JPKI_ERR_FORMAT;
		if (jpki_rd_left(&a) != 0)
			return JPKI_ERR_FORMAT;
	}
	if (oid_is(oid, oidl, oid_sha1, sizeof(oid_sha1)))
		id->hash = JPKI_OCSP_SHA1;
	else if (oid_is(oid, oidl, oid_sha256, sizeof(oid_sha256)))
		id->hash = JPKI_OCSP_SHA256;
	else if (oidl > 0)
		id->hash = JPKI_OCSP_HASH_OTHER;
	else
		return JPKI_ERR_FORMAT;
	if ((rc = der_get_expect(&r, DER_OCTET_STRING, &id->name_hash, &id->name_hash_len)) != 0 ||
	    (rc = der_get_expect(&r, DER_OCTET_STRING, &id->key_hash, &id->key_hash_len)) != 0 ||
	    (rc = der_get_expect(&r, DER_INTEGER, &id->serial, &id->serial_len)) != 0)
		return rc;
	if (id->serial_len == 0)
		return JPKI_ERR_FORMAT;
	if (id->serial_len > JPKI_OCSP_SERIAL_RAW_MAX)
		return JPKI_ERR_TOO_LARGE;
	return jpki_rd_left(&r) == 0 ? 0 : JPKI_ERR_FORMAT;
}

int
jpki_ocsp_request_parse(const uint8_t *der, size_t len, jpki_ocsp_request_t *out)
{
	jpki_rd_t r, o, t, l, q;
	const uint8_t *v, *tbs, *list;
	size_t vl, tbsl, listl;
	int rc;

	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0)
		return JPKI_ERR_TRUNCATED;
	if (len > JPKI_OCSP_REQUEST_MAX)
		return JPKI_ERR_TOO_LARGE;
	/* OCSPRequest ::= SEQUENCE { tbsRequest, optionalSignature [0] EXPLICIT } */
	jpki_rd_init(&r, der, len);
	if ((rc = der_get_expect(&r, DER_SEQUENCE, &v, &vl)) != 0)
		goto out;
	if (jpki_rd_left(&r) != 0) {
		rc = JPKI_ERR_FORMAT;
		goto out;
	}
	jpki_rd_init(&o, v, vl);
	if ((rc = der_get_expect(&o, DER_SEQUENCE, &tbs, &tbsl)) != 0)
		goto out;
	if (jpki_rd_left(&o) > 0) {
		/* A signed request: accepted, not checked (RFC 5019 2.1.2 lets a
		 * responder ignore it; ours answers every relying party). */
		if ((rc = der_get_expect(&o, 0xa0, &v, &vl)) != 0)
			goto out;
		if (jpki_rd_left(&o) != 0) {
			rc = JPKI_ERR_FORMAT;
			goto out;
		}
	}
	/* TBSRequest ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, requestorName
	 *   [1] EXPLICIT OPTIONAL, requestList, requestExtensions [2] EXPLICIT OPTIONAL } */
	jpki_rd_init(&t, tbs, tbsl);
	if (der_peek_tag(&t) == 0xa0) {
		if ((rc = der_get_expect(&t, 0xa0, &v, &vl)) != 0)
			goto out;
		if (vl != 3 || memcmp(v, "\x02\x01\x00", 3) != 0) {
			rc = JPKI_ERR_FORMAT; /* only v1 exists */
			goto out;
		}
	}
	if (der_peek_tag(&t) == 0xa1 && (rc = der_get_expect(&t, 0xa1, &v, &vl)) != 0)
		goto out;
	if ((rc = der_get_expect(&t, DER_SEQUENCE, &list, &listl)) != 0)
		goto out;
	jpki_rd_init(&l, list, listl);
	while (jpki_rd_left(&l) > 0) {
		/* Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT } */
		if (out->count == JPKI_OCSP_MAX_CERTS) {
			rc = JPKI_ERR_TOO_LARGE;
			goto out;
		}
		if ((rc = der_get_expect(&l, DER_SEQUENCE, &v, &vl)) != 0)
			goto out;
		jpki_rd_init(&q, v, vl);
		if ((rc = der_get_expect(&q, DER_SEQUENCE, &v, &vl)) != 0 ||
		    (rc = parse_certid(v, vl, &out->ids[out->count])) != 0)
			goto out;
		if (jpki_rd_left(&q) > 0) {
			if ((rc = der_get_expect(&q, 0xa0, &v, &vl)) != 0 ||
			    (rc = parse_exts(v, vl, out, 0)) != 0)
				goto out;
			if (jpki_rd_left(&q) != 0) {
				rc = JPKI_ERR_FORMAT;
				goto out;
			}
		}
		out->count++;
	}
	if (out->count == 0) {
		rc = JPKI_ERR_FORMAT;
		goto out;
	}
	if (der_peek_tag(&t) == 0xa2) {
		if ((rc = der_get_expect(&t, 0xa2, &v, &vl)) != 0 ||
		    (rc = parse_exts(v, vl, out, 1)) != 0)
			goto out;
	}
	if (jpki_rd_left(&t) != 0) {
		rc = JPKI_ERR_FORMAT;
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int
jpki_ocsp_serial_key(const jpki_ocsp_certid_t *id, uint8_t serial[JPKI_SERIAL_MAX],
                     size_t *serial_len)
{
	const uint8_t *p = id->serial;
	size_t n = id->serial_len;

	*serial_len = 0;
	if (n == 0 || (p[0] & 0x80))
		return JPKI_ERR_RANGE; /* negative */
	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	if (n == 0 || n > JPKI_SERIAL_MAX)
		return JPKI_ERR_RANGE;
	memcpy(serial, p, n);
	*serial_len = n;
	return 0;
}

static int
b64_value(unsigned c)
{
	if (c >= 'A' && c <= 'Z')
		return (int)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (int)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (int)(c - '0' + 52);
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static int
hex_value(unsigned c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return (int)(c - 'a' + 10);
	return -1;
}

int
jpki_ocsp_decode_get(const char *s, size_t len, uint8_t *out, size_t outmax, size_t *out_len)
{
	uint32_t acc = 0;
	size_t i, n = 0, chars = 0, pad = 0;
	int bits = 0;

	*out_len = 0;
	for (i = 0; i < len; i++) {
		unsigned c = (unsigned char)s[i];
		int v;
		if (c == '%') {
			int hi, lo;
			if (len - i < 3 || (hi = hex_value((unsigned char)s[i + 1])) < 0 ||
			    (lo = hex_value((unsigned char)s[i + 2])) < 0)
				return JPKI_ERR_FORMAT;
			c = (unsigned)(hi << 4 | lo);
			i += 2;
		}
		if (c == '=') {
			if (++pad > 2)
				return JPKI_ERR_FORMAT;
			continue;
		}
		if (pad > 0 || (v = b64_value(c)) < 0)
			return JPKI_ERR_FORMAT; /* data after padding, or not base64 */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		chars++;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outmax)
				return JPKI_ERR_TOO_LARGE;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* One character alone in its group carries no whole byte; padding, when
	 * there is any, must complete the group of four. */
	if (chars % 4 == 1 || (pad > 0 && (chars + pad) % 4 != 0))
		return JPKI_ERR_FORMAT;
	*out_len = n;
	return 0;
}

struct jpki_ocsp_responder {
	EVP_PKEY *key;
	EVP_MD *sha256;
	uint8_t name_hash[2][32];
	uint8_t key_hash[2][32];
	uint8_t rid[4 + SHA_DIGEST_LENGTH]; /* ResponderID byKey [2] EXPLICIT KeyHash */
	size_t sig_len;
};

void
jpki_ocsp_responder_free(jpki_ocsp_responder_t *r)
{
	if (r == NULL)
		return;
	EVP_PKEY_free(r->key);
	EVP_MD_free(r->sha256);
	free(r);
}

int
jpki_ocsp_responder_new(X509 *ca_cert, EVP_PKEY *ca_key, jpki_ocsp_responder_t **out)
{
	jpki_ocsp_responder_t *r = NULL;
	const ASN1_BIT_STRING *key;
	unsigned char *name = NULL;
	int name_len, rc = JPKI_ERR_CRYPTO;

	*out = NULL;
	if (ca_cert == NULL || ca_key == NULL)
		return JPKI_ERR_INVALID_ARG;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return JPKI_ERR_NOMEM;
	if (EVP_PKEY_get_base_id(ca_key) != EVP_PKEY_RSA || X509_check_private_key(ca_cert, ca_key) != 1) {
		jpki_set_detail("the OCSP signing key must be the CA's own RSA key");
		rc = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	/* The CertID hashes: issuerNameHash over the CA's subject DER,
	 * issuerKeyHash over its subjectPublicKey BIT STRING contents. */
	if ((name_len = i2d_X509_NAME(X509_get_subject_name(ca_cert), &name)) <= 0 ||
	    (key = X509_get0_pubkey_bitstr(ca_cert)) == NULL)
		goto out;
	SHA1(name, (size_t)name_len, r->name_hash[JPKI_OCSP_SHA1]);
	SHA256(name, (size_t)name_len, r->name_hash[JPKI_OCSP_SHA256]);
	SHA1(key->data, (size_t)key->length, r->key_hash[JPKI_OCSP_SHA1]);
	SHA256(key->data, (size_t)key->length, r->key_hash[JPKI_OCSP_SHA256]);
	memcpy(r->rid, "\xa2\x16\x04\x14", 4);
	memcpy(r->rid + 4, r->key_hash[JPKI_OCSP_SHA1], SHA_DIGEST_LENGTH);
	if ((r->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		goto out;
	r->sig_len = (size_t)EVP_PKEY_get_size(ca_key);
	if (r->sig_len == 0 || r->sig_len > 1024 || EVP_PKEY_up_ref(ca_key) != 1)
		goto out;
	r->key = ca_key;
	*out = r;
	r = NULL;
	rc = 0;
out:
	OPENSSL_free(name);
	jpki_ocsp_responder_free(r);
	return rc;
}

int
jpki_ocsp_responder_match(const jpki_ocsp_responder_t *r, const jpki_ocsp_certid_t *id)
{
	size_t hl;

	if (id->hash != JPKI_OCSP_SHA1 && id->hash != JPKI_OCSP_SHA256)
		return 0;
	hl = hash_len[id->hash];
	return id->name_hash_len == hl && id->key_hash_len == hl &&
	       memcmp(id->name_hash, r->name_hash[id->hash], hl) == 0 &&
	       memcmp(id->key_hash, r->key_hash[id->hash], hl) == 0;
}

int
jpki_ocsp_responder_certid(const jpki_ocsp_responder_t *r, int hash, const uint8_t *serial,
                           size_t serial_len, uint8_t buf[JPKI_SERIAL_MAX + 1],
                           jpki_ocsp_certid_t *out)
{
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if ((hash != JPKI_OCSP_SHA1 && hash != JPKI_OCSP_SHA256) || serial_len == 0 ||
	    serial_len > JPKI_SERIAL_MAX || serial[0] == 0)
		return JPKI_ERR_INVALID_ARG;
	if (serial[0] & 0x80)
		buf[n++] = 0; /* a positive INTEGER */
	memcpy(buf + n, serial, serial_len);
	out->hash = hash;
	out->name_hash = r->name_hash[hash];
	out->name_hash_len = hash_len[hash];
	out->key_hash = r->key_hash[hash];
	out->key_hash_len = hash_len[hash];
	out->serial = buf;
	out->serial_len = n + serial_len;
	return 0;
}

/* The serial INTEGER contents in their minimal two's-complement form. */
static void
serial_min(const uint8_t *p, size_t n, const uint8_t **q, size_t *m)
{
	while (n > 1 && ((p[0] == 0x00 && !(p[1] & 0x80)) || (p[0] == 0xff && (p[1] & 0x80)))) {
		p++;
		n--;
	}
	*q = p;
	*m = n;
}

static int
put_certid(jpki_buf_t *b, const jpki_ocsp_certid_t *id)
{
	const uint8_t *s;
	size_t mark = b->len, sl;
	int rc;

	if (id->hash == JPKI_OCSP_SHA1)
		rc = jpki_buf_put(b, alg_sha1, sizeof(alg_sha1));
	else if (id->hash == JPKI_OCSP_SHA256)
		rc = jpki_buf_put(b, alg_sha256, sizeof(alg_sha256));
	else
		rc = JPKI_ERR_INVALID_ARG; /* unauthorized: never answered */
	if (rc != 0)
		return rc;
	serial_min(id->serial, id->serial_len, &s, &sl);
	if ((rc = der_put_tlv(b, DER_OCTET_STRING, id->name_hash, id->name_hash_len)) != 0 ||
	    (rc = der_put_tlv(b, DER_OCTET_STRING, id->key_hash, id->key_hash_len)) != 0 ||
	    (rc = der_put_tlv(b, DER_INTEGER, s, sl)) != 0)
		return rc;
	return der_wrap(b, mark, DER_SEQUENCE);
}

static int
put_single(jpki_buf_t *b, const jpki_ocsp_single_t *s, time_t produced, time_t next_update)
{
	size_t mark = b->len, m;
	int rc;

	if (s->id == NULL)
		return JPKI_ERR_INVALID_ARG;
	if ((rc = put_certid(b, s->id)) != 0)
		return rc;
	switch (s->non_issued ? JPKI_OCSP_REVOKED : s->status) {
	case JPKI_OCSP_GOOD:
		rc = jpki_buf_put(b, "\x80\x00", 2); /* good [0] IMPLICIT NULL */
		break;
	case JPKI_OCSP_UNKNOWN:
		rc = jpki_buf_put(b, "\x82\x00", 2); /* unknown [2] IMPLICIT NULL */
		break;
	case JPKI_OCSP_REVOKED: {
		/* revoked [1] IMPLICIT RevokedInfo { revocationTime, [0] EXPLICIT CRLReason } */
		int reason = s->non_issued ? JPKI_REASON_CERTIFICATE_HOLD : s->reason;
		time_t when = s->non_issued ? 0 : (time_t)s->revocation_time;
		m = b->len;
		if ((rc = der_put_gentime(b, when)) != 0)
			return rc;
		if (reason != JPKI_REASON_NONE) {
			uint8_t e[5] = {0xa0, 0x03, DER_ENUMERATED, 0x01, 0};
			if (reason < 0 || reason > 10 || reason == 7)
				return JPKI_ERR_INVALID_ARG;
			e[4] = (uint8_t)reason;
			if ((rc = jpki_buf_put(b, e, sizeof(e))) != 0)
				return rc;
		}
		rc = der_wrap(b, m, 0xa1);
		break;
	}
	default:
		return JPKI_ERR_INVALID_ARG;
	}
	if (rc != 0 || (rc = der_put_gentime(b, produced)) != 0)
		return rc;
	if (next_update != 0) {
		m = b->len;
		if ((rc = der_put_gentime(b, next_update)) != 0 || (rc = der_wrap(b, m, 0xa0)) != 0)
			return rc;
	}
	return der_wrap(b, mark, DER_SEQUENCE);
}

/* Extension { extnID, extnValue OCTET STRING } (never critical here). */
static int
put_ext(jpki_buf_t *b, const uint8_t *oid, size_t oid_len, const uint8_t *val, size_t val_len)
{
	size_t mark = b->len;
	int rc;

	if ((rc = der_put_tlv(b, DER_OID, oid, oid_len)) != 0 ||
	    (rc = der_put_tlv(b, DER_OCTET_STRING, val, val_len)) != 0)
		return rc;
	return der_wrap(b, mark, DER_SEQUENCE);
}

int
jpki_ocsp_response_build(const jpki_ocsp_responder_t *r, const jpki_ocsp_single_t *s,
                         size_t n, const uint8_t *nonce, size_t nonce_len, time_t produced,
                         time_t next_update, uint8_t **der, size_t *der_len)
{
	jpki_buf_t b, o;
	EVP_MD_CTX *md = NULL;
	uint8_t sig[1024];
	size_t i, mark, siglen, basic_len, rb_content, outer_content;
	int rc = JPKI_ERR_INTERNAL, non_issued = 0;

	*der = NULL;
	*der_len = 0;
	jpki_buf_init(&b, RESPONSE_MAX);
	jpki_buf_init(&o, RESPONSE_MAX);
	if (r == NULL || s == NULL || n == 0 || n > JPKI_OCSP_MAX_CERTS ||
	    nonce_len > JPKI_OCSP_NONCE_MAX || (nonce == NULL && nonce_len != 0)) {
		rc = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((rc = jpki_buf_reserve(&b, 512 + r->sig_len)) != 0)
		goto out;
	/* ResponseData: version v1 (omitted), responderID, producedAt, responses,
	 * responseExtensions [1] EXPLICIT. */
	if ((rc = jpki_buf_put(&b, r->rid, sizeof(r->rid))) != 0 ||
	    (rc = der_put_gentime(&b, produced)) != 0)
		goto out;
	mark = b.len;
	for (i = 0; i < n; i++) {
		if ((rc = put_single(&b, &s[i], produced, next_update)) != 0)
			goto out;
		non_issued |= s[i].non_issued;
	}
	if ((rc = der_wrap(&b, mark, DER_SEQUENCE)) != 0)
		goto out;
	if (nonce != NULL || non_issued) {
		mark = b.len;
		if (nonce != NULL &&
		    (rc = put_ext(&b, oid_nonce, sizeof(oid_nonce), nonce, nonce_len)) != 0)
			goto out;
		/* RFC 6960 4.4.8: a "revoked" for a serial never issued comes with
		 * the extended revoke definition, value NULL, not critical. */
		if (non_issued &&
		    (rc = put_ext(&b, oid_ext_revoke, sizeof(oid_ext_revoke),
		                  (const uint8_t *)"\x05\x00", 2)) != 0)
			goto out;
		if ((rc = der_wrap(&b, mark, DER_SEQUENCE)) != 0 || (rc = der_wrap(&b, mark, 0xa1)) != 0)
			goto out;
	}
	if ((rc = der_wrap(&b, 0, DER_SEQUENCE)) != 0)
		goto out;

	siglen = r->sig_len;
	if ((md = EVP_MD_CTX_new()) == NULL) {
		rc = JPKI_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestSignInit(md, NULL, r->sha256, NULL, r->key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, b.data, b.len) != 1 || siglen != r->sig_len) {
		rc = JPKI_ERR_CRYPTO;
		goto out;
	}
	/* BasicOCSPResponse { tbsResponseData, signatureAlgorithm, signature } */
	if ((rc = jpki_buf_put(&b, alg_sha256_rsa, sizeof(alg_sha256_rsa))) != 0 ||
	    (rc = der_put_hdr(&b, DER_BIT_STRING, siglen + 1)) != 0 ||
	    (rc = jpki_buf_put_u8(&b, 0)) != 0 || (rc = jpki_buf_put(&b, sig, siglen)) != 0 ||
	    (rc = der_wrap(&b, 0, DER_SEQUENCE)) != 0)
		goto out;
	/* OCSPResponse { responseStatus successful, responseBytes [0] EXPLICIT
	 *   ResponseBytes { id-pkix-ocsp-basic, OCTET STRING { basic } } } */
	basic_len = b.len;
	rb_content = 2 + sizeof(oid_basic) + der_hdr_len(basic_len) + basic_len;
	outer_content = 3 + der_hdr_len(der_hdr_len(rb_content) + rb_content) +
	                der_hdr_len(rb_content) + rb_content;
	if ((rc = jpki_buf_reserve(&o, der_hdr_len(outer_content) + outer_content)) != 0 ||
	    (rc = der_put_hdr(&o, DER_SEQUENCE, outer_content)) != 0 ||
	    (rc = jpki_buf_put(&o, "\x0a\x01\x00", 3)) != 0 ||
	    (rc = der_put_hdr(&o, 0xa0, der_hdr_len(rb_content) + rb_content)) != 0 ||
	    (rc = der_put_hdr(&o, DER_SEQUENCE, rb_content)) != 0 ||
	    (rc = der_put_tlv(&o, DER_OID, oid_basic, sizeof(oid_basic))) != 0 ||
	    (rc = der_put_tlv(&o, DER_OCTET_STRING, b.data, b.len)) != 0)
		goto out;
	if ((rc = jpki_buf_steal(&o, der, der_len)) != 0)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	jpki_buf_free(&b);
	jpki_buf_free(&o);
	return rc;
}

size_t
jpki_ocsp_error_response(int status, uint8_t out[5])
{
	out[0] = DER_SEQUENCE;
	out[1] = 0x03;
	out[2] = DER_ENUMERATED;
	out[3] = 0x01;
	out[4] = (uint8_t)status;
	return 5;
}
