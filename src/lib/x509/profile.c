/* CA certificates of spec §4, built with OpenSSL's X509 API (made once per
 * CA; the end-entity certificates are encoded directly, see ee.c), and
 * certificate file helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/date.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/x509.h"

#define CERT_FILE_MAX (64 * 1024)

/* Add one RDN with an exact string type (C PrintableString, the rest UTF8String). */
static int
name_add(X509_NAME *n, int nid, int type, const char *v)
{
	if (!X509_NAME_add_entry_by_NID(n, nid, type, (const unsigned char *)v, -1, -1, 0))
		return JPKI_ERR_CRYPTO;
	return 0;
}

static const char *
ca_ou(jpki_ca_kind_t kind)
{
	return kind == JPKI_CA_SIGN ? "JPKI for digital signature" : "JPKI for user authentication";
}

/* C=JP, O=JPKI[-TEST], OU=JPKI for ..., OU=Japan Agency for Local Authority Information Systems */
static int
ca_name(jpki_ca_kind_t kind, int test, X509_NAME **out)
{
	X509_NAME *n = X509_NAME_new();
	int r;

	*out = NULL;
	if (n == NULL)
		return JPKI_ERR_NOMEM;
	if ((r = name_add(n, NID_countryName, V_ASN1_PRINTABLESTRING, "JP")) != 0 ||
	    (r = name_add(n, NID_organizationName, V_ASN1_UTF8STRING, test ? "JPKI-TEST" : "JPKI")) != 0 ||
	    (r = name_add(n, NID_organizationalUnitName, V_ASN1_UTF8STRING, ca_ou(kind))) != 0 ||
	    (r = name_add(n, NID_organizationalUnitName, V_ASN1_UTF8STRING,
	                  "Japan Agency for Local Authority Information Systems")) != 0) {
		X509_NAME_free(n);
		return r;
	}
	*out = n;
	return 0;
}

/* Add a GeneralName of type directoryName built from (nid, type, value) triples. */
static int
gens_add_dirname(GENERAL_NAMES *gens, const int *nids, const int *types, const char *const *vals,
                 size_t n)
{
	GENERAL_NAME *g = NULL;
	X509_NAME *dn = NULL;
	size_t i;
	int r = JPKI_ERR_CRYPTO;

	if ((dn = X509_NAME_new()) == NULL || (g = GENERAL_NAME_new()) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = name_add(dn, nids[i], types[i], vals[i])) != 0)
			goto out;
	GENERAL_NAME_set0_value(g, GEN_DIRNAME, dn);
	dn = NULL;
	if (!sk_GENERAL_NAME_push(gens, g)) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	g = NULL;
	r = 0;
out:
	X509_NAME_free(dn);
	GENERAL_NAME_free(g);
	return r;
}

static int
add_key_usage(X509 *x, int bits)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	int i, r = JPKI_ERR_CRYPTO;

	if (ku == NULL)
		return JPKI_ERR_NOMEM;
	for (i = 0; i < 9; i++)
		if ((bits & (1 << i)) && !ASN1_BIT_STRING_set_bit(ku, i, 1))
			goto out;
	if (X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_REPLACE) != 1)
		goto out;
	r = 0;
out:
	ASN1_BIT_STRING_free(ku);
	return r;
}

enum { JKU_DIGITAL_SIGNATURE = 1 << 0, JKU_NON_REPUDIATION = 1 << 1, JKU_KEY_CERT_SIGN = 1 << 5,
       JKU_CRL_SIGN = 1 << 6 };

static int
add_ski(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
	int r = JPKI_ERR_CRYPTO;

	/* RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING. */
	if (ski == NULL || !X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) ||
	    !ASN1_OCTET_STRING_set(ski, md, (int)mdlen) ||
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_REPLACE) != 1)
		goto out;
	r = 0;
out:
	ASN1_OCTET_STRING_free(ski);
	return r;
}

static int
set_serial(X509 *x, const uint8_t *serial, size_t len)
{
	BIGNUM *bn = BN_bin2bn(serial, (int)len, NULL);
	int r = JPKI_ERR_CRYPTO;

	if (bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		r = 0;
	BN_free(bn);
	return r;
}

static int
set_validity(X509 *x, time_t nb, time_t na)
{
	if (ASN1_TIME_set(X509_getm_notBefore(x), nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), na) == NULL)
		return JPKI_ERR_CRYPTO;
	return 0;
}

/* subjectAltName (CA) and issuerAltName (EE): the Japanese names of spec §4. */
static int
jp_dirname(GENERAL_NAMES *gens, jpki_ca_kind_t kind, int full)
{
	static const int nids[] = {NID_countryName, NID_organizationName,
	                           NID_organizationalUnitName, NID_organizationalUnitName};
	static const int types[] = {V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING, V_ASN1_UTF8STRING,
	                            V_ASN1_UTF8STRING};
	const char *vals[4] = {"JP", "公的個人認証サービス",
	                       kind == JPKI_CA_SIGN ? "公的個人認証サービス署名用"
	                                            : "公的個人認証サービス利用者証明用",
	                       "地方公共団体情報システム機構"};

	return gens_add_dirname(gens, nids, types, vals, full ? 4 : 2);
}

int
jpki_x509_ca_cert(jpki_ca_kind_t kind, int test, EVP_PKEY *key, time_t now,
                  const uint8_t *serial, size_t serial_len, X509 **out)
{
	X509 *x = NULL;
	X509_NAME *n = NULL;
	BASIC_CONSTRAINTS *bc = NULL;
	GENERAL_NAMES *san = NULL;
	jpki_date_t today, last;
	int r = JPKI_ERR_CRYPTO;

	*out = NULL;
	if ((x = X509_new()) == NULL || (bc = BASIC_CONSTRAINTS_new()) == NULL ||
	    (san = GENERAL_NAMES_new()) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if (!X509_set_version(x, 2))
		goto out;
	if ((r = set_serial(x, serial, serial_len)) != 0)
		goto out;
	if ((r = ca_name(kind, test, &n)) != 0)
		goto out;
	r = JPKI_ERR_CRYPTO;
	if (!X509_set_subject_name(x, n) || !X509_set_issuer_name(x, n))
		goto out;
	/* 10 years, ending 23:59:59 JST of the last day (spec §4, L4 convention). */
	jpki_date_from_time_jst(now, &today);
	jpki_date_add_years(&today, 10, &last);
	if ((r = set_validity(x, now, jpki_date_end_jst(&last))) != 0)
		goto out;
	r = JPKI_ERR_CRYPTO;
	if (!X509_set_pubkey(x, key))
		goto out;
	if ((r = add_key_usage(x, JKU_KEY_CERT_SIGN | JKU_CRL_SIGN)) != 0)
		goto out;
	r = JPKI_ERR_CRYPTO;
	bc->ca = 0xff;
	if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_REPLACE) != 1)
		goto out;
	if ((r = add_ski(x)) != 0)
		goto out;
	if ((r = jp_dirname(san, kind, 1)) != 0)
		goto out;
	r = JPKI_ERR_CRYPTO;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, san, 0, X509V3_ADD_REPLACE) != 1)
		goto out;
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	*out = x;
	x = NULL;
	r = 0;
out:
	X509_free(x);
	X509_NAME_free(n);
	BASIC_CONSTRAINTS_free(bc);
	GENERAL_NAMES_free(san);
	return r;
}

int
jpki_x509_fingerprint_sha256(X509 *x, char *out, size_t outlen)
{
	unsigned char md[32];
	unsigned int n = sizeof(md), i;

	if (outlen < 96)
		return JPKI_ERR_RANGE;
	if (!X509_digest(x, EVP_sha256(), md, &n))
		return JPKI_ERR_CRYPTO;
	for (i = 0; i < n; i++)
		snprintf(out + 3 * i, 4, i + 1 < n ? "%02X:" : "%02X", md[i]);
	return 0;
}

int
jpki_x509_serial(X509 *x, uint8_t *serial, size_t *serial_len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	int n, r = JPKI_ERR_FORMAT;

	*serial_len = 0;
	if (bn == NULL)
		return JPKI_ERR_CRYPTO;
	n = BN_num_bytes(bn);
	if (!BN_is_negative(bn) && n > 0 && n <= JPKI_SERIAL_MAX) {
		BN_bn2bin(bn, serial);
		*serial_len = (size_t)n;
		r = 0;
	}
	BN_free(bn);
	return r;
}

static int
load_bio(const char *path, BIO **out)
{
	uint8_t *data = NULL;
	size_t len;
	int r;

	*out = NULL;
	if ((r = jpki_file_read(path, CERT_FILE_MAX, &data, &len)) != 0)
		return r;
	/* BIO_new_mem_buf does not copy: keep the data alive in a copying BIO. */
	if ((*out = BIO_new(BIO_s_mem())) == NULL || BIO_write(*out, data, (int)len) != (int)len) {
		BIO_free(*out);
		*out = NULL;
		r = JPKI_ERR_NOMEM;
	}
	OPENSSL_cleanse(data, len);
	free(data);
	return r;
}

int
jpki_x509_load_cert(const char *path, X509 **out)
{
	BIO *b = NULL;
	int r;

	*out = NULL;
	if ((r = load_bio(path, &b)) != 0)
		return r;
	if ((*out = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		(void)BIO_reset(b);
		*out = d2i_X509_bio(b, NULL);
	}
	BIO_free(b);
	ERR_clear_error();
	if (*out == NULL) {
		jpki_set_detail("%s: not a certificate (PEM or DER)", path);
		return JPKI_ERR_FORMAT;
	}
	return 0;
}

int
jpki_x509_load_pubkey(const char *path, EVP_PKEY **out)
{
	BIO *b = NULL;
	X509 *x = NULL;
	int r;

	*out = NULL;
	if ((r = load_bio(path, &b)) != 0)
		return r;
	if ((*out = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL)) == NULL) {
		(void)BIO_reset(b);
		if ((*out = d2i_PUBKEY_bio(b, NULL)) == NULL) {
			(void)BIO_reset(b);
			/* A certificate request's or a certificate's key will do too. */
			if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
				*out = X509_get_pubkey(x);
		}
	}
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	if (*out == NULL) {
		jpki_set_detail("%s: not a public key (PEM or DER SubjectPublicKeyInfo)", path);
		return JPKI_ERR_FORMAT;
	}
	if (EVP_PKEY_get_base_id(*out) != EVP_PKEY_RSA || EVP_PKEY_get_bits(*out) != 2048) {
		jpki_set_detail("%s: JPKI keys are RSA-2048", path);
		EVP_PKEY_free(*out);
		*out = NULL;
		return JPKI_ERR_INVALID_ARG;
	}
	return 0;
}

int
jpki_x509_load_privkey(const char *path, EVP_PKEY **out)
{
	BIO *b = NULL;
	int r;

	*out = NULL;
	if ((r = load_bio(path, &b)) != 0)
		return r;
	*out = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	if (*out == NULL) {
		jpki_set_detail("%s: not a private key", path);
		return JPKI_ERR_FORMAT;
	}
	return 0;
}
