/*
 * End-entity certificates of spec §4, encoded directly in DER.
 *
 * Built with OpenSSL's X509 API, a certificate cost some 0.7 M instructions
 * besides its RSA signature (6.4 M) in ASN.1 objects made, duplicated
 * (X509_NAME_dup is an i2d and a d2i), encoded and freed, and more in wall
 * time (allocations, cache misses).  Here what every certificate of a CA
 * shares is encoded once per CA (jpki_ee_encoder_new) and a certificate is
 * one pass over one buffer (some 60 k instructions, most of them the SHA-256)
 * and the RSA signature.  The bytes are those the X509-API builder
 * produced: tests/unit/oracle_ee.inc keeps that builder and test_x509
 * compares the two whole certificates.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/error.h"
#include "jpki/x509.h"
#include "x509/der.h"

#define EE_MAX_BYTES (64 * 1024)

/* AlgorithmIdentifiers with NULL parameters, as OpenSSL writes them. */
static const uint8_t alg_sha256_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                         0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
static const uint8_t alg_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                  0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
/* [0] EXPLICIT INTEGER 2 (v3) */
static const uint8_t version_v3[] = {0xa0, 0x03, 0x02, 0x01, 0x02};

static const uint8_t oid_c[] = {0x55, 0x04, 0x06};
static const uint8_t oid_l[] = {0x55, 0x04, 0x07};
static const uint8_t oid_o[] = {0x55, 0x04, 0x0a};
static const uint8_t oid_cn[] = {0x55, 0x04, 0x03};
static const uint8_t oid_ski[] = {0x55, 0x1d, 0x0e};
static const uint8_t oid_ku[] = {0x55, 0x1d, 0x0f};
static const uint8_t oid_san[] = {0x55, 0x1d, 0x11};
static const uint8_t oid_ian[] = {0x55, 0x1d, 0x12};
static const uint8_t oid_crldp[] = {0x55, 0x1d, 0x1f};
static const uint8_t oid_pol[] = {0x55, 0x1d, 0x20};
static const uint8_t oid_aki[] = {0x55, 0x1d, 0x23};
static const uint8_t oid_aia[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01};
static const uint8_t oid_qt_cps[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x02, 0x01};
static const uint8_t oid_ad_ocsp[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01};

/* KeyUsage BIT STRINGs as i2d trims them: digitalSignature+nonRepudiation
 * (6 unused bits of 0xc0), digitalSignature alone (7 unused bits of 0x80). */
static const uint8_t ku_sign[] = {0x03, 0x02, 0x06, 0xc0};
static const uint8_t ku_auth[] = {0x03, 0x02, 0x07, 0x80};

/* The signature certificate's otherNames, in the order of spec §4. */
enum { SAN_NAME, SAN_DOB, SAN_SEX, SAN_ADDRESS, SAN_NAME_FLAGS, SAN_ADDRESS_FLAGS, SAN_ALIAS,
       SAN__COUNT };
static const char *const san_oid_text[SAN__COUNT] = {
	JPKI_OID_NAME, JPKI_OID_DOB, JPKI_OID_SEX, JPKI_OID_ADDRESS,
	JPKI_OID_NAME_FLAGS, JPKI_OID_ADDRESS_FLAGS, JPKI_OID_ALIAS,
};

struct oid {
	uint8_t b[64];
	size_t len;
};

struct jpki_ee_encoder {
	/* issuer Name || AKI Extension || issuerAltName Extension */
	jpki_buf_t fixed;
	size_t issuer_len, aki_len, ian_len;
	struct oid san[SAN__COUNT];
	struct oid policy[2][2];   /* [kind == auth][test] */
	EVP_MD *sha1, *sha256;     /* fetched once: an implicit fetch per use costs */
	EVP_MD_CTX *md;
	EVP_PKEY_CTX *sign;        /* initialised once, reused for every signature */
	size_t sig_len;
};

int
jpki_rsa_pub_set(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
                 jpki_rsa_pub_t *out)
{
	memset(out, 0, sizeof(*out));
	if (n == NULL || e == NULL || n_len == 0 || e_len == 0 || n_len > sizeof(out->n) ||
	    e_len > sizeof(out->e))
		return JPKI_ERR_INVALID_ARG;
	memcpy(out->n, n, n_len);
	out->n_len = n_len;
	memcpy(out->e, e, e_len);
	out->e_len = e_len;
	return 0;
}

/* OSSL_PARAM unsigned integers come in native byte order. */
static void
native_to_be(uint8_t *p, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	(void)p;
	(void)n;
#else
	size_t i;

	for (i = 0; i < n / 2; i++) {
		uint8_t t = p[i];
		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
#endif
}

int
jpki_rsa_pub_from_pkey(EVP_PKEY *pk, jpki_rsa_pub_t *out)
{
	OSSL_PARAM params[3];
	int size;

	memset(out, 0, sizeof(*out));
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
		return JPKI_ERR_INVALID_ARG;
	/* The modulus takes exactly EVP_PKEY_get_size() bytes: ask for no more,
	 * the provider pads to the size of the buffer. */
	if ((size = EVP_PKEY_get_size(pk)) <= 0 || (size_t)size > sizeof(out->n))
		return JPKI_ERR_INVALID_ARG;
	params[0] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, out->n, (size_t)size);
	params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, out->e, sizeof(out->e));
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_get_params(pk, params) != 1 || !OSSL_PARAM_modified(&params[0]) ||
	    !OSSL_PARAM_modified(&params[1])) {
		ERR_clear_error();
		memset(out, 0, sizeof(*out));
		return JPKI_ERR_CRYPTO;
	}
	native_to_be(out->n, (size_t)size);
	native_to_be(out->e, sizeof(out->e));
	out->n_len = (size_t)size;
	out->e_len = sizeof(out->e);
	return 0;
}

/* SET { SEQUENCE { type, value } }: one RDN of one attribute. */
static int
put_rdn(jpki_buf_t *b, const uint8_t *oid, size_t oid_len, uint8_t tag, const char *v,
        size_t vlen)
{
	size_t atv = der_hdr_len(oid_len) + oid_len + der_hdr_len(vlen) + vlen;
	int r;

	if ((r = der_put_hdr(b, DER_SET, der_hdr_len(atv) + atv)) != 0 ||
	    (r = der_put_hdr(b, DER_SEQUENCE, atv)) != 0 ||
	    (r = der_put_tlv(b, DER_OID, oid, oid_len)) != 0)
		return r;
	return der_put_tlv(b, tag, v, vlen);
}

/* Extension { extnID, critical DEFAULT FALSE, extnValue }: the caller writes
 * the value between ext_begin and ext_end. */
static int
ext_begin(jpki_buf_t *b, const uint8_t *oid, size_t oid_len, int critical, size_t marks[2])
{
	int r;

	marks[0] = b->len;
	if ((r = der_put_tlv(b, DER_OID, oid, oid_len)) != 0)
		return r;
	if (critical && (r = jpki_buf_put(b, "\x01\x01\xff", 3)) != 0)
		return r;
	marks[1] = b->len;
	return 0;
}

static int
ext_end(jpki_buf_t *b, const size_t marks[2])
{
	int r;

	if ((r = der_wrap(b, marks[1], DER_OCTET_STRING)) != 0)
		return r;
	return der_wrap(b, marks[0], DER_SEQUENCE);
}

static int
put_ext(jpki_buf_t *b, const uint8_t *oid, size_t oid_len, int critical, const uint8_t *val,
        size_t val_len)
{
	size_t m[2];
	int r;

	if ((r = ext_begin(b, oid, oid_len, critical, m)) != 0 ||
	    (r = jpki_buf_put(b, val, val_len)) != 0)
		return r;
	return ext_end(b, m);
}

void
jpki_ee_encoder_free(jpki_ee_encoder_t *enc)
{
	if (enc == NULL)
		return;
	jpki_buf_free(&enc->fixed);
	EVP_MD_free(enc->sha1);
	EVP_MD_free(enc->sha256);
	EVP_MD_CTX_free(enc->md);
	EVP_PKEY_CTX_free(enc->sign);
	free(enc);
}

/* issuerAltName: GeneralNames { directoryName [4] { C=JP, O=公的個人認証サービス } }
 * (spec §4), the same for both CAs. */
static int
put_ian(jpki_buf_t *b)
{
	static const char jp_o[] = "公的個人認証サービス";
	size_t m[2], mark;
	int r;

	if ((r = ext_begin(b, oid_ian, sizeof(oid_ian), 0, m)) != 0)
		return r;
	mark = b->len;
	if ((r = put_rdn(b, oid_c, sizeof(oid_c), 0x13, "JP", 2)) != 0 ||
	    (r = put_rdn(b, oid_o, sizeof(oid_o), DER_UTF8, jp_o, sizeof(jp_o) - 1)) != 0 ||
	    (r = der_wrap(b, mark, DER_SEQUENCE)) != 0 ||  /* Name */
	    (r = der_wrap(b, mark, 0xa4)) != 0 ||          /* [4] EXPLICIT: Name is a CHOICE */
	    (r = der_wrap(b, mark, DER_SEQUENCE)) != 0)    /* GeneralNames */
		return r;
	return ext_end(b, m);
}

int
jpki_ee_encoder_new(X509 *ca_cert, EVP_PKEY *ca_key, jpki_ee_encoder_t **out)
{
	static const char *const pols[2][2] = {{JPKI_POLICY_SIGN, JPKI_POLICY_SIGN_TEST},
	                                       {JPKI_POLICY_AUTH, JPKI_POLICY_AUTH_TEST}};
	jpki_ee_encoder_t *enc = NULL;
	const ASN1_OCTET_STRING *ski;
	unsigned char *name = NULL;
	int name_len, i, j, r = JPKI_ERR_INTERNAL;
	size_t m[2], mark;

	*out = NULL;
	if (ca_cert == NULL || ca_key == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (EVP_PKEY_get_base_id(ca_key) != EVP_PKEY_RSA) {
		jpki_set_detail("a JPKI CA key is RSA (sha256WithRSAEncryption, spec §4)");
		return JPKI_ERR_INVALID_ARG;
	}
	if ((enc = calloc(1, sizeof(*enc))) == NULL)
		return JPKI_ERR_NOMEM;
	jpki_buf_init(&enc->fixed, EE_MAX_BYTES);
	for (i = 0; i < SAN__COUNT; i++)
		if ((r = der_oid_from_text(san_oid_text[i], enc->san[i].b, &enc->san[i].len)) != 0)
			goto out;
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			if ((r = der_oid_from_text(pols[i][j], enc->policy[i][j].b,
			                           &enc->policy[i][j].len)) != 0)
				goto out;
	/* The issuer is the CA certificate's subject as it is encoded there:
	 * i2d of a parsed Name gives back its original bytes. */
	r = JPKI_ERR_CRYPTO;
	if ((name_len = i2d_X509_NAME(X509_get_subject_name(ca_cert), &name)) <= 0)
		goto out;
	if ((r = jpki_buf_put(&enc->fixed, name, (size_t)name_len)) != 0)
		goto out;
	enc->issuer_len = (size_t)name_len;
	/* AuthorityKeyIdentifier { [0] keyIdentifier = the CA's SKI } */
	if ((ski = X509_get0_subject_key_id(ca_cert)) == NULL) {
		jpki_set_detail("the CA certificate has no subject key identifier");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if ((r = ext_begin(&enc->fixed, oid_aki, sizeof(oid_aki), 0, m)) != 0)
		goto out;
	mark = enc->fixed.len;
	if ((r = der_put_tlv(&enc->fixed, 0x80, ASN1_STRING_get0_data(ski),
	                     (size_t)ASN1_STRING_length(ski))) != 0 ||
	    (r = der_wrap(&enc->fixed, mark, DER_SEQUENCE)) != 0 ||
	    (r = ext_end(&enc->fixed, m)) != 0)
		goto out;
	enc->aki_len = enc->fixed.len - enc->issuer_len;
	if ((r = put_ian(&enc->fixed)) != 0)
		goto out;
	enc->ian_len = enc->fixed.len - enc->issuer_len - enc->aki_len;

	r = JPKI_ERR_CRYPTO;
	if ((enc->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL ||
	    (enc->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (enc->md = EVP_MD_CTX_new()) == NULL ||
	    (enc->sign = EVP_PKEY_CTX_new_from_pkey(NULL, ca_key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(enc->sign) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(enc->sign, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(enc->sign, enc->sha256) != 1 ||
	    EVP_PKEY_get_size(ca_key) <= 0)
		goto out;
	enc->sig_len = (size_t)EVP_PKEY_get_size(ca_key);
	*out = enc;
	enc = NULL;
	r = 0;
out:
	if (r == JPKI_ERR_CRYPTO)
		ERR_clear_error();
	OPENSSL_free(name);
	jpki_ee_encoder_free(enc);
	return r;
}

/* otherName [0] { type-id, [0] EXPLICIT UTF8String } (spec §4).  v == NULL:
 * vlen '0' characters (the flags when the caller gave none). */
static int
put_othername(jpki_buf_t *b, const struct oid *oid, const char *v, size_t vlen)
{
	size_t utf = der_hdr_len(vlen) + vlen, expl = der_hdr_len(utf) + utf;
	int r;

	if ((r = der_put_hdr(b, 0xa0, der_hdr_len(oid->len) + oid->len + expl)) != 0 ||
	    (r = der_put_tlv(b, DER_OID, oid->b, oid->len)) != 0 ||
	    (r = der_put_hdr(b, 0xa0, utf)) != 0 ||
	    (r = der_put_hdr(b, DER_UTF8, vlen)) != 0)
		return r;
	if (v != NULL)
		return jpki_buf_put(b, v, vlen);
	if ((r = jpki_buf_reserve(b, vlen)) != 0)
		return r;
	memset(b->data + b->len, '0', vlen);
	b->len += vlen;
	return 0;
}

/* Length of a flags value: as given, or one '0' per character of s. */
static int
flags_len(const char *given, const char *s, const char *field, size_t *len)
{
	long n;

	if (given != NULL) {
		*len = strlen(given);
		return 0;
	}
	if ((n = jpki_utf8_chars(s)) < 0) {
		jpki_set_detail("%s: not UTF-8", field);
		return JPKI_ERR_INVALID_ARG;
	}
	*len = (size_t)n;
	return 0;
}

static int
put_sign_san(jpki_ee_encoder_t *enc, jpki_buf_t *b, const jpki_person_t *p)
{
	char dob[16], sex[16];
	size_t m[2], mark, nfl, afl;
	int r;

	if ((r = jpki_era_dob_code(&p->dob, dob, sizeof(dob))) != 0)
		return r;
	snprintf(sex, sizeof(sex), "%d", p->sex);
	if ((r = flags_len(p->name_flags, p->name, "name", &nfl)) != 0 ||
	    (r = flags_len(p->address_flags, p->address, "address", &afl)) != 0)
		return r;
	if ((r = ext_begin(b, oid_san, sizeof(oid_san), 0, m)) != 0)
		return r;
	mark = b->len;
	if ((r = put_othername(b, &enc->san[SAN_NAME], p->name, strlen(p->name))) != 0 ||
	    (r = put_othername(b, &enc->san[SAN_DOB], dob, strlen(dob))) != 0 ||
	    (r = put_othername(b, &enc->san[SAN_SEX], sex, strlen(sex))) != 0 ||
	    (r = put_othername(b, &enc->san[SAN_ADDRESS], p->address, strlen(p->address))) != 0 ||
	    (r = put_othername(b, &enc->san[SAN_NAME_FLAGS], p->name_flags, nfl)) != 0 ||
	    (r = put_othername(b, &enc->san[SAN_ADDRESS_FLAGS], p->address_flags, afl)) != 0)
		return r;
	if (p->alias != NULL && *p->alias != '\0' &&
	    (r = put_othername(b, &enc->san[SAN_ALIAS], p->alias, strlen(p->alias))) != 0)
		return r;
	if ((r = der_wrap(b, mark, DER_SEQUENCE)) != 0)
		return r;
	return ext_end(b, m);
}

/* certificatePolicies { PolicyInformation { policy, [ { id-qt-cps, IA5String } ] } },
 * critical as the service marks it (spec §4). */
static int
put_policy(jpki_buf_t *b, const struct oid *pol, const char *cps)
{
	size_t m[2], mark, qmark;
	int r;

	if ((r = ext_begin(b, oid_pol, sizeof(oid_pol), 1, m)) != 0)
		return r;
	mark = b->len;
	if ((r = der_put_tlv(b, DER_OID, pol->b, pol->len)) != 0)
		return r;
	if (cps != NULL && *cps != '\0') {
		qmark = b->len;
		if ((r = der_put_tlv(b, DER_OID, oid_qt_cps, sizeof(oid_qt_cps))) != 0 ||
		    (r = der_put_tlv(b, DER_IA5, cps, strlen(cps))) != 0 ||
		    (r = der_wrap(b, qmark, DER_SEQUENCE)) != 0 ||  /* PolicyQualifierInfo */
		    (r = der_wrap(b, qmark, DER_SEQUENCE)) != 0)    /* policyQualifiers */
			return r;
	}
	if ((r = der_wrap(b, mark, DER_SEQUENCE)) != 0 ||       /* PolicyInformation */
	    (r = der_wrap(b, mark, DER_SEQUENCE)) != 0)         /* certificatePolicies */
		return r;
	return ext_end(b, m);
}

/* CRLDistributionPoints { DistributionPoint { [0] { fullName [0] { [6] URI } } } } */
static int
put_crldp(jpki_buf_t *b, const char *url)
{
	size_t m[2], mark;
	int r;

	if ((r = ext_begin(b, oid_crldp, sizeof(oid_crldp), 0, m)) != 0)
		return r;
	mark = b->len;
	if ((r = der_put_dp_name(b, url)) != 0 ||
	    (r = der_wrap(b, mark, DER_SEQUENCE)) != 0 ||  /* DistributionPoint */
	    (r = der_wrap(b, mark, DER_SEQUENCE)) != 0)
		return r;
	return ext_end(b, m);
}

/* AuthorityInfoAccess { AccessDescription { id-ad-ocsp, [6] URI } } */
static int
put_aia(jpki_buf_t *b, const char *url)
{
	size_t m[2], mark;
	int r;

	if ((r = ext_begin(b, oid_aia, sizeof(oid_aia), 0, m)) != 0)
		return r;
	mark = b->len;
	if ((r = der_put_tlv(b, DER_OID, oid_ad_ocsp, sizeof(oid_ad_ocsp))) != 0 ||
	    (r = der_put_tlv(b, 0x86, url, strlen(url))) != 0 ||
	    (r = der_wrap(b, mark, DER_SEQUENCE)) != 0 ||
	    (r = der_wrap(b, mark, DER_SEQUENCE)) != 0)
		return r;
	return ext_end(b, m);
}

/* SubjectPublicKeyInfo { rsaEncryption NULL, BIT STRING { RSAPublicKey } };
 * ski gets the SHA-1 of the BIT STRING's contents (RFC 5280 4.2.1.2 (1)). */
static int
put_spki(jpki_ee_encoder_t *enc, jpki_buf_t *b, const jpki_rsa_pub_t *pub, uint8_t ski[20])
{
	size_t nl = der_uint_content_len(pub->n, pub->n_len);
	size_t el = der_uint_content_len(pub->e, pub->e_len);
	size_t rsa_content = der_hdr_len(nl) + nl + der_hdr_len(el) + el;
	size_t rsa_len = der_hdr_len(rsa_content) + rsa_content, at;
	unsigned int mdlen = 0;
	int r;

	if ((r = der_put_hdr(b, DER_SEQUENCE, sizeof(alg_rsa) + der_hdr_len(1 + rsa_len) + 1 +
	                                      rsa_len)) != 0 ||
	    (r = jpki_buf_put(b, alg_rsa, sizeof(alg_rsa))) != 0 ||
	    (r = der_put_hdr(b, DER_BIT_STRING, 1 + rsa_len)) != 0 ||
	    (r = jpki_buf_put_u8(b, 0)) != 0)
		return r;
	at = b->len;
	if ((r = der_put_hdr(b, DER_SEQUENCE, rsa_content)) != 0 ||
	    (r = der_put_uint(b, pub->n, pub->n_len)) != 0 ||
	    (r = der_put_uint(b, pub->e, pub->e_len)) != 0)
		return r;
	if (b->len - at != rsa_len)
		return JPKI_ERR_INTERNAL;
	if (EVP_DigestInit_ex2(enc->md, enc->sha1, NULL) != 1 ||
	    EVP_DigestUpdate(enc->md, b->data + at, rsa_len) != 1 ||
	    EVP_DigestFinal_ex(enc->md, ski, &mdlen) != 1 || mdlen != 20)
		return JPKI_ERR_CRYPTO;
	return 0;
}

/* Subject: sign C=JP, L=<prefecture>, L=<city>, CN=<issuance id>;
 * auth C=JP, CN=<opaque id> (no personal data, L1). */
static int
put_subject(jpki_buf_t *b, const jpki_ee_params_t *p)
{
	char pref[64], city[128];
	size_t mark = b->len;
	int r;

	if ((r = put_rdn(b, oid_c, sizeof(oid_c), 0x13, "JP", 2)) != 0)
		return r;
	if (p->kind == JPKI_CA_SIGN) {
		const char *pp = p->person->prefecture, *cc = p->person->city;
		if (pp == NULL || cc == NULL) {
			if ((r = jpki_address_split(p->person->address, pref, sizeof(pref), city,
			                            sizeof(city))) != 0)
				return r;
			if (pp == NULL)
				pp = pref;
			if (cc == NULL)
				cc = city;
		}
		if ((r = put_rdn(b, oid_l, sizeof(oid_l), DER_UTF8, pp, strlen(pp))) != 0 ||
		    (r = put_rdn(b, oid_l, sizeof(oid_l), DER_UTF8, cc, strlen(cc))) != 0)
			return r;
	}
	if ((r = put_rdn(b, oid_cn, sizeof(oid_cn), DER_UTF8, p->cn, strlen(p->cn))) != 0)
		return r;
	return der_wrap(b, mark, DER_SEQUENCE);
}

static size_t
slen(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

/* Roughly the certificate's size, so the buffer is allocated once. */
static size_t
size_hint(const jpki_ee_encoder_t *enc, const jpki_ee_params_t *p, const jpki_rsa_pub_t *pub)
{
	size_t n = 1024 + enc->fixed.len + pub->n_len + enc->sig_len + slen(p->cn) +
	           2 * slen(p->crl_url) + slen(p->ocsp_url) + slen(p->cps_uri);

	if (p->kind == JPKI_CA_SIGN)
		n += 2 * slen(p->person->name) + 3 * slen(p->person->address) +
		     slen(p->person->alias) + slen(p->person->name_flags) +
		     slen(p->person->address_flags);
	return n;
}

int
jpki_x509_ee_cert(jpki_ee_encoder_t *enc, const jpki_ee_params_t *p, const jpki_rsa_pub_t *pub,
                  uint8_t **der, size_t *der_len)
{
	jpki_buf_t b;
	uint8_t ski[20], digest[32];
	const uint8_t *fixed;
	size_t exts, siglen;
	unsigned int mdlen = 0;
	int r = JPKI_ERR_INVALID_ARG;

	*der = NULL;
	*der_len = 0;
	jpki_buf_init(&b, EE_MAX_BYTES);
	if (enc == NULL || p == NULL || pub == NULL || pub->n_len == 0 || pub->e_len == 0)
		goto out;
	if (p->kind != JPKI_CA_SIGN && p->kind != JPKI_CA_AUTH)
		goto out;
	if (p->kind == JPKI_CA_SIGN &&
	    (p->person == NULL || p->person->name == NULL || p->person->address == NULL))
		goto out;
	if (p->cn == NULL || *p->cn == '\0' || p->not_after <= p->not_before ||
	    p->serial == NULL || p->serial_len == 0 || p->serial_len > JPKI_SERIAL_MAX)
		goto out;
	fixed = enc->fixed.data;
	if ((r = jpki_buf_reserve(&b, size_hint(enc, p, pub))) != 0)
		goto out;

	/* TBSCertificate */
	if ((r = jpki_buf_put(&b, version_v3, sizeof(version_v3))) != 0 ||
	    (r = der_put_uint(&b, p->serial, p->serial_len)) != 0 ||
	    (r = jpki_buf_put(&b, alg_sha256_rsa, sizeof(alg_sha256_rsa))) != 0 ||
	    (r = jpki_buf_put(&b, fixed, enc->issuer_len)) != 0)
		goto out;
	{
		size_t mark = b.len;
		if ((r = der_put_time(&b, p->not_before)) != 0 ||
		    (r = der_put_time(&b, p->not_after)) != 0 ||
		    (r = der_wrap(&b, mark, DER_SEQUENCE)) != 0)
			goto out;
	}
	if ((r = put_subject(&b, p)) != 0 || (r = put_spki(enc, &b, pub, ski)) != 0)
		goto out;

	/* Extensions, in the order the X509-API builder added them. */
	exts = b.len;
	if (p->kind == JPKI_CA_SIGN) {
		if ((r = put_ext(&b, oid_ku, sizeof(oid_ku), 1, ku_sign, sizeof(ku_sign))) != 0 ||
		    (r = put_policy(&b, &enc->policy[0][p->test != 0], p->cps_uri)) != 0 ||
		    (r = put_sign_san(enc, &b, p->person)) != 0)
			goto out;
	} else {
		if ((r = put_ext(&b, oid_ku, sizeof(oid_ku), 1, ku_auth, sizeof(ku_auth))) != 0 ||
		    (r = put_policy(&b, &enc->policy[1][p->test != 0], p->cps_uri)) != 0)
			goto out;
	}
	if ((r = jpki_buf_put(&b, fixed + enc->issuer_len + enc->aki_len, enc->ian_len)) != 0)
		goto out;
	{
		/* SubjectKeyIdentifier: OCTET STRING of the SHA-1 */
		uint8_t v[22] = {DER_OCTET_STRING, 20};
		memcpy(v + 2, ski, 20);
		if ((r = put_ext(&b, oid_ski, sizeof(oid_ski), 0, v, sizeof(v))) != 0)
			goto out;
	}
	if ((r = jpki_buf_put(&b, fixed + enc->issuer_len, enc->aki_len)) != 0)
		goto out;
	/* (ours) where the status is told: the partition's CRL and the OCSP URL. */
	if (p->crl_url != NULL && (r = put_crldp(&b, p->crl_url)) != 0)
		goto out;
	if (p->ocsp_url != NULL && (r = put_aia(&b, p->ocsp_url)) != 0)
		goto out;
	if ((r = der_wrap(&b, exts, DER_SEQUENCE)) != 0 || (r = der_wrap(&b, exts, 0xa3)) != 0 ||
	    (r = der_wrap(&b, 0, DER_SEQUENCE)) != 0)
		goto out;

	/* Certificate { tbs, sha256WithRSAEncryption, BIT STRING { signature } } */
	r = JPKI_ERR_CRYPTO;
	if (EVP_DigestInit_ex2(enc->md, enc->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(enc->md, b.data, b.len) != 1 ||
	    EVP_DigestFinal_ex(enc->md, digest, &mdlen) != 1 || mdlen != sizeof(digest))
		goto out;
	if ((r = jpki_buf_put(&b, alg_sha256_rsa, sizeof(alg_sha256_rsa))) != 0 ||
	    (r = der_put_hdr(&b, DER_BIT_STRING, 1 + enc->sig_len)) != 0 ||
	    (r = jpki_buf_put_u8(&b, 0)) != 0 || (r = jpki_buf_reserve(&b, enc->sig_len)) != 0)
		goto out;
	siglen = enc->sig_len;
	if (EVP_PKEY_sign(enc->sign, b.data + b.len, &siglen, digest, sizeof(digest)) != 1 ||
	    siglen != enc->sig_len) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	b.len += siglen;
	if ((r = der_wrap(&b, 0, DER_SEQUENCE)) != 0 || (r = jpki_buf_steal(&b, der, der_len)) != 0)
		goto out;
	r = 0;
out:
	if (r == JPKI_ERR_CRYPTO)
		ERR_clear_error();
	jpki_buf_free(&b);
	return r;
}
