/* Certificate profiles of spec §4, built with OpenSSL's X509 API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/date.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/x509.h"
#include "x509/der.h"

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

/* otherName { type-id, [0] EXPLICIT UTF8String value } (spec §4). */
static int
gens_add_othername(GENERAL_NAMES *gens, const char *oid, const char *value)
{
	GENERAL_NAME *g = NULL;
	ASN1_OBJECT *obj = NULL;
	ASN1_TYPE *t = NULL;
	ASN1_UTF8STRING *s = NULL;
	int r = JPKI_ERR_CRYPTO;

	if ((obj = OBJ_txt2obj(oid, 1)) == NULL || (t = ASN1_TYPE_new()) == NULL ||
	    (s = ASN1_UTF8STRING_new()) == NULL || (g = GENERAL_NAME_new()) == NULL)
		goto out;
	if (!ASN1_STRING_set(s, value, -1))
		goto out;
	ASN1_TYPE_set(t, V_ASN1_UTF8STRING, s);
	s = NULL;
	if (!GENERAL_NAME_set0_othername(g, obj, t))
		goto out;
	obj = NULL;
	t = NULL;
	if (!sk_GENERAL_NAME_push(gens, g)) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	g = NULL;
	r = 0;
out:
	ASN1_OBJECT_free(obj);
	ASN1_TYPE_free(t);
	ASN1_UTF8STRING_free(s);
	GENERAL_NAME_free(g);
	return r;
}

static int
gens_add_uri(GENERAL_NAMES *gens, const char *uri)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (g == NULL || s == NULL || !ASN1_STRING_set(s, uri, -1)) {
		GENERAL_NAME_free(g);
		ASN1_IA5STRING_free(s);
		return JPKI_ERR_CRYPTO;
	}
	GENERAL_NAME_set0_value(g, GEN_URI, s);
	if (!sk_GENERAL_NAME_push(gens, g)) {
		GENERAL_NAME_free(g);
		return JPKI_ERR_NOMEM;
	}
	return 0;
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
add_aki(X509 *x, X509 *ca)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	int r = JPKI_ERR_CRYPTO;

	if (aki == NULL || ski == NULL || (aki->keyid = ASN1_OCTET_STRING_dup(ski)) == NULL ||
	    X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, X509V3_ADD_REPLACE) != 1)
		goto out;
	r = 0;
out:
	AUTHORITY_KEYID_free(aki);
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

static int
add_policy(X509 *x, const char *oid, const char *cps)
{
	CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();
	POLICYQUALINFO *q = NULL;
	int r = JPKI_ERR_CRYPTO;

	if (pols == NULL || pi == NULL)
		goto out;
	if ((pi->policyid = OBJ_txt2obj(oid, 1)) == NULL)
		goto out;
	if (cps != NULL && *cps != '\0') {
		if ((q = POLICYQUALINFO_new()) == NULL || (pi->qualifiers = sk_POLICYQUALINFO_new_null()) == NULL)
			goto out;
		q->pqualid = OBJ_nid2obj(NID_id_qt_cps);
		if ((q->d.cpsuri = ASN1_IA5STRING_new()) == NULL || !ASN1_STRING_set(q->d.cpsuri, cps, -1))
			goto out;
		if (!sk_POLICYQUALINFO_push(pi->qualifiers, q))
			goto out;
		q = NULL;
	}
	if (!sk_POLICYINFO_push(pols, pi))
		goto out;
	pi = NULL;
	/* Critical, as the service marks it (spec §4). */
	if (X509_add1_ext_i2d(x, NID_certificate_policies, pols, 1, X509V3_ADD_REPLACE) != 1)
		goto out;
	r = 0;
out:
	POLICYQUALINFO_free(q);
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(pols);
	return r;
}

static int
add_crldp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	int r = JPKI_ERR_CRYPTO;

	if (dps == NULL || dp == NULL || (dp->distpoint = DIST_POINT_NAME_new()) == NULL)
		goto out;
	dp->distpoint->type = 0;
	if ((dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (r = gens_add_uri(dp->distpoint->name.fullname, url)) != 0)
		goto out;
	r = JPKI_ERR_CRYPTO;
	if (!sk_DIST_POINT_push(dps, dp))
		goto out;
	dp = NULL;
	if (X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0, X509V3_ADD_REPLACE) != 1)
		goto out;
	r = 0;
out:
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(dps);
	return r;
}

static int
add_aia(X509 *x, const char *ocsp_url)
{
	AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
	ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
	GENERAL_NAMES *tmp = GENERAL_NAMES_new();
	int r = JPKI_ERR_CRYPTO;

	if (aia == NULL || ad == NULL || tmp == NULL)
		goto out;
	if ((r = gens_add_uri(tmp, ocsp_url)) != 0)
		goto out;
	r = JPKI_ERR_CRYPTO;
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(NID_ad_OCSP);
	GENERAL_NAME_free(ad->location);
	ad->location = sk_GENERAL_NAME_pop(tmp);
	if (!sk_ACCESS_DESCRIPTION_push(aia, ad))
		goto out;
	ad = NULL;
	if (X509_add1_ext_i2d(x, NID_info_access, aia, 0, X509V3_ADD_REPLACE) != 1)
		goto out;
	r = 0;
out:
	ACCESS_DESCRIPTION_free(ad);
	GENERAL_NAMES_free(tmp);
	AUTHORITY_INFO_ACCESS_free(aia);
	return r;
}

/*
 * Put an RSA public key into the certificate.  X509_set_pubkey() runs
 * OpenSSL 3's generic encoder, which costs as much as the RSA signature
 * itself; the RSAPublicKey DER is two INTEGERs, so write it directly.
 */
static int
set_rsa_pubkey(X509 *x, EVP_PKEY *pub)
{
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[1024], eb[16];
	int nl, el, r = JPKI_ERR_CRYPTO;
	jpki_buf_t b;
	uint8_t *enc = NULL, *penc = NULL;
	size_t enclen;

	jpki_buf_init(&b, 2048);
	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA ||
	    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) ||
	    (nl = BN_num_bytes(n)) > (int)sizeof(nb) || (el = BN_num_bytes(e)) > (int)sizeof(eb))
		goto out;
	BN_bn2bin(n, nb);
	BN_bn2bin(e, eb);
	if ((r = der_put_uint(&b, nb, (size_t)nl)) != 0 || (r = der_put_uint(&b, eb, (size_t)el)) != 0 ||
	    (r = der_wrap(&b, 0, DER_SEQUENCE)) != 0 || (r = jpki_buf_steal(&b, &enc, &enclen)) != 0)
		goto out;
	r = JPKI_ERR_NOMEM;
	if ((penc = OPENSSL_memdup(enc, enclen)) == NULL)
		goto out;
	r = JPKI_ERR_CRYPTO;
	if (!X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_nid2obj(NID_rsaEncryption),
	                            V_ASN1_NULL, NULL, penc, (int)enclen)) {
		OPENSSL_free(penc);
		goto out;
	}
	r = 0;
out:
	free(enc);
	jpki_buf_free(&b);
	BN_free(n);
	BN_free(e);
	return r;
}

/* "0000..." with one flag per character, when the caller gave none. */
static char *
zero_flags(const char *s)
{
	long n = jpki_utf8_chars(s);
	char *f;

	if (n < 0 || (f = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memset(f, '0', (size_t)n);
	f[n] = '\0';
	return f;
}

static int
sign_san(X509 *x, const jpki_person_t *p)
{
	GENERAL_NAMES *san = GENERAL_NAMES_new();
	char dob[16], sex[4];
	char *nf = NULL, *af = NULL;
	int r = JPKI_ERR_NOMEM;

	if (san == NULL)
		goto out;
	if ((r = jpki_era_dob_code(&p->dob, dob, sizeof(dob))) != 0)
		goto out;
	snprintf(sex, sizeof(sex), "%d", p->sex);
	r = JPKI_ERR_NOMEM;
	if ((p->name_flags == NULL && (nf = zero_flags(p->name)) == NULL) ||
	    (p->address_flags == NULL && (af = zero_flags(p->address)) == NULL))
		goto out;
	/* The order of spec §4: name, DOB, sex, address, name flags, address flags, alias. */
	if ((r = gens_add_othername(san, JPKI_OID_NAME, p->name)) != 0 ||
	    (r = gens_add_othername(san, JPKI_OID_DOB, dob)) != 0 ||
	    (r = gens_add_othername(san, JPKI_OID_SEX, sex)) != 0 ||
	    (r = gens_add_othername(san, JPKI_OID_ADDRESS, p->address)) != 0 ||
	    (r = gens_add_othername(san, JPKI_OID_NAME_FLAGS, p->name_flags ? p->name_flags : nf)) != 0 ||
	    (r = gens_add_othername(san, JPKI_OID_ADDRESS_FLAGS,
	                            p->address_flags ? p->address_flags : af)) != 0)
		goto out;
	if (p->alias != NULL && *p->alias != '\0' &&
	    (r = gens_add_othername(san, JPKI_OID_ALIAS, p->alias)) != 0)
		goto out;
	r = JPKI_ERR_CRYPTO;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, san, 0, X509V3_ADD_REPLACE) != 1)
		goto out;
	r = 0;
out:
	free(nf);
	free(af);
	GENERAL_NAMES_free(san);
	return r;
}

int
jpki_x509_ee_cert(const jpki_ee_params_t *p, EVP_PKEY *pub, X509 *ca_cert, EVP_PKEY *ca_key,
                  X509 **out)
{
	X509 *x = NULL;
	X509_NAME *n = NULL;
	GENERAL_NAMES *ian = NULL;
	char pref[64], city[128];
	int r = JPKI_ERR_NOMEM;

	*out = NULL;
	if (p->kind == JPKI_CA_SIGN && p->person == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (p->cn == NULL || *p->cn == '\0' || p->not_after <= p->not_before)
		return JPKI_ERR_INVALID_ARG;
	if ((x = X509_new()) == NULL || (n = X509_NAME_new()) == NULL ||
	    (ian = GENERAL_NAMES_new()) == NULL)
		goto out;
	r = JPKI_ERR_CRYPTO;
	if (!X509_set_version(x, 2))
		goto out;
	if ((r = set_serial(x, p->serial, p->serial_len)) != 0)
		goto out;
	/* Subject: sign C=JP, L=<prefecture>, L=<city>, CN=<issuance id>;
	 * auth C=JP, CN=<opaque id> (no personal data, L1). */
	if ((r = name_add(n, NID_countryName, V_ASN1_PRINTABLESTRING, "JP")) != 0)
		goto out;
	if (p->kind == JPKI_CA_SIGN) {
		const char *pp = p->person->prefecture, *cc = p->person->city;
		if (pp == NULL || cc == NULL) {
			if ((r = jpki_address_split(p->person->address, pref, sizeof(pref), city,
			                            sizeof(city))) != 0)
				goto out;
			if (pp == NULL)
				pp = pref;
			if (cc == NULL)
				cc = city;
		}
		if ((r = name_add(n, NID_localityName, V_ASN1_UTF8STRING, pp)) != 0 ||
		    (r = name_add(n, NID_localityName, V_ASN1_UTF8STRING, cc)) != 0)
			goto out;
	}
	if ((r = name_add(n, NID_commonName, V_ASN1_UTF8STRING, p->cn)) != 0)
		goto out;
	r = JPKI_ERR_CRYPTO;
	if (!X509_set_subject_name(x, n) || !X509_set_issuer_name(x, X509_get_subject_name(ca_cert)))
		goto out;
	if ((r = set_validity(x, p->not_before, p->not_after)) != 0 ||
	    (r = set_rsa_pubkey(x, pub)) != 0)
		goto out;
	if (p->kind == JPKI_CA_SIGN) {
		if ((r = add_key_usage(x, JKU_DIGITAL_SIGNATURE | JKU_NON_REPUDIATION)) != 0 ||
		    (r = add_policy(x, p->test ? JPKI_POLICY_SIGN_TEST : JPKI_POLICY_SIGN, p->cps_uri)) != 0 ||
		    (r = sign_san(x, p->person)) != 0)
			goto out;
	} else {
		if ((r = add_key_usage(x, JKU_DIGITAL_SIGNATURE)) != 0 ||
		    (r = add_policy(x, p->test ? JPKI_POLICY_AUTH_TEST : JPKI_POLICY_AUTH, p->cps_uri)) != 0)
			goto out;
	}
	/* issuerAltName DirName C=JP, O=公的個人認証サービス (spec §4). */
	if ((r = jp_dirname(ian, p->kind, 0)) != 0)
		goto out;
	r = JPKI_ERR_CRYPTO;
	if (X509_add1_ext_i2d(x, NID_issuer_alt_name, ian, 0, X509V3_ADD_REPLACE) != 1)
		goto out;
	if ((r = add_ski(x)) != 0 || (r = add_aki(x, ca_cert)) != 0)
		goto out;
	/* (ours) where the status is told: the partition's CRL and the OCSP URL. */
	if (p->crl_url != NULL && (r = add_crldp(x, p->crl_url)) != 0)
		goto out;
	if (p->ocsp_url != NULL && (r = add_aia(x, p->ocsp_url)) != 0)
		goto out;
	r = JPKI_ERR_CRYPTO;
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0)
		goto out;
	*out = x;
	x = NULL;
	r = 0;
out:
	X509_free(x);
	X509_NAME_free(n);
	GENERAL_NAMES_free(ian);
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
