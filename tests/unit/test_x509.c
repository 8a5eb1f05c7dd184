/* X.509 profiles (spec §4) and CRL encoding (spec §5), read back with OpenSSL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/error.h"
#include "jpki/x509.h"
#include "x509/der.h"

#include "oracle_ee.inc"

static EVP_PKEY *ca_key, *ee_key;
static X509 *ca_cert;
static jpki_ee_encoder_t *enc;

static int
setup(void **state)
{
	static const uint8_t serial[] = {0x42, 0x01};

	ca_key = EVP_RSA_gen(2048);
	ee_key = EVP_RSA_gen(2048);
	if (ca_key == NULL || ee_key == NULL)
		return -1;
	if (jpki_x509_ca_cert(JPKI_CA_SIGN, 1, ca_key, 1732147200, serial, sizeof(serial), &ca_cert) != 0)
		return -1;
	return jpki_ee_encoder_new(ca_cert, ca_key, &enc);
}

static int
teardown(void **state)
{
	jpki_ee_encoder_free(enc);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ee_key);
	return 0;
}

static void
test_oid_text(void **state)
{
	uint8_t o[64];
	size_t n;
	ASN1_OBJECT *obj;
	char back[128];
	const unsigned char *p = o;

	/* 1.2.392.200149.8.5.5.1, and the UUID arc whose number passes 64 bits. */
	assert_int_equal(der_oid_from_text(JPKI_OID_NAME, o, &n), 0);
	{
		uint8_t tlv[66];
		tlv[0] = 0x06;
		tlv[1] = (uint8_t)n;
		memcpy(tlv + 2, o, n);
		p = tlv;
		obj = d2i_ASN1_OBJECT(NULL, &p, (long)n + 2);
		assert_non_null(obj);
		OBJ_obj2txt(back, sizeof(back), obj, 1);
		assert_string_equal(back, JPKI_OID_NAME);
		ASN1_OBJECT_free(obj);
		/* An arc past 64 bits (the UUID arc) still encodes right. */
		assert_int_equal(der_oid_from_text("2.25.311421414916491800095784238038333557747.1", o, &n), 0);
		tlv[1] = (uint8_t)n;
		memcpy(tlv + 2, o, n);
		p = tlv;
		obj = d2i_ASN1_OBJECT(NULL, &p, (long)n + 2);
		assert_non_null(obj);
		OBJ_obj2txt(back, sizeof(back), obj, 1);
		assert_string_equal(back, "2.25.311421414916491800095784238038333557747.1");
		ASN1_OBJECT_free(obj);
	}
	assert_int_not_equal(der_oid_from_text("1", o, &n), 0);
	assert_int_not_equal(der_oid_from_text("1..2", o, &n), 0);
	assert_int_not_equal(der_oid_from_text("3.1", o, &n), 0);
}

/* DER times against OpenSSL's own formatting, across the UTCTime/GeneralizedTime switch. */
static void
test_der_time(void **state)
{
	static const time_t ts[] = {0, 1, 86399, 86400, 951782400 /* 2000-02-29 */, 1704121199,
	                            2524607999 /* 2049-12-31T23:59:59Z */, 2524608000,
	                            -631152000 /* 1950-01-01 */, -631152001, 4102444800, 253402300799};
	size_t i;

	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		char s[16];
		size_t n;
		uint8_t tag;
		ASN1_TIME *a = ASN1_TIME_set(NULL, ts[i]);
		assert_non_null(a);
		assert_int_equal(der_time_content(ts[i], s, &n, &tag), 0);
		assert_int_equal(tag, ASN1_STRING_type(a) == V_ASN1_UTCTIME ? DER_UTCTIME : DER_GENTIME);
		assert_int_equal(n, (size_t)ASN1_STRING_length(a));
		assert_memory_equal(s, ASN1_STRING_get0_data(a), n);
		ASN1_TIME_free(a);
	}
}

static void
test_utf8_and_person(void **state)
{
	jpki_person_t p = {.name = "山田　太郎", .dob = {1977, 11, 7}, .sex = 1,
	                   .address = "東京都千代田区霞が関２丁目１番２号"};
	jpki_date_t today = {2026, 11, 21};
	char big[1024];

	assert_int_equal(jpki_utf8_chars("山田　太郎"), 5);
	assert_int_equal(jpki_utf8_chars("\xc0\xaf"), -1); /* overlong */
	assert_int_equal(jpki_utf8_chars("\xed\xa0\x80"), -1); /* surrogate */
	assert_int_equal(jpki_person_check(&p, &today), 0);
	p.sex = 3;
	assert_int_equal(jpki_person_check(&p, &today), JPKI_ERR_INVALID_ARG);
	assert_non_null(strstr(jpki_detail(), "sex"));
	p.sex = 9;
	p.dob = (jpki_date_t){2027, 1, 1};
	assert_int_equal(jpki_person_check(&p, &today), JPKI_ERR_DATE);
	assert_non_null(strstr(jpki_detail(), "future"));
	p.dob = (jpki_date_t){1977, 11, 7};
	p.name_flags = "0010";
	assert_int_equal(jpki_person_check(&p, &today), JPKI_ERR_INVALID_ARG);
	p.name_flags = "00102";
	assert_int_equal(jpki_person_check(&p, &today), JPKI_ERR_INVALID_ARG);
	p.name_flags = "00100";
	assert_int_equal(jpki_person_check(&p, &today), 0);
	/* Address: at most 200 characters (spec §4). */
	memset(big, 'a', 201);
	big[201] = '\0';
	p.address = big;
	p.name_flags = NULL;
	assert_int_equal(jpki_person_check(&p, &today), JPKI_ERR_RANGE);
	big[200] = '\0';
	assert_int_equal(jpki_person_check(&p, &today), 0);
}

static void
test_address_split(void **state)
{
	char pref[64], city[64];

	assert_int_equal(jpki_address_split("東京都千代田区霞が関２丁目", pref, sizeof(pref), city,
	                                    sizeof(city)), 0);
	assert_string_equal(pref, "東京都");
	assert_string_equal(city, "千代田区");
	assert_int_equal(jpki_address_split("京都府京都市中京区", pref, sizeof(pref), city, sizeof(city)), 0);
	assert_string_equal(pref, "京都府");
	assert_string_equal(city, "京都市");
	assert_int_equal(jpki_address_split("神奈川県足柄下郡箱根町湯本", pref, sizeof(pref), city,
	                                    sizeof(city)), 0);
	assert_string_equal(pref, "神奈川県");
	assert_string_equal(city, "足柄下郡箱根町");
	assert_int_equal(jpki_address_split("Springfield", pref, sizeof(pref), city, sizeof(city)),
	                 JPKI_ERR_INVALID_ARG);
}

/* The UTF8String inside otherName i of the SAN, and its OID. */
static void
othername_at(GENERAL_NAMES *gens, int i, char *oid, size_t oidlen, const char **val)
{
	GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
	ASN1_OBJECT *obj;
	ASN1_TYPE *v;

	assert_int_equal(g->type, GEN_OTHERNAME);
	assert_int_equal(GENERAL_NAME_get0_otherName(g, &obj, &v), 1);
	OBJ_obj2txt(oid, (int)oidlen, obj, 1);
	assert_int_equal(v->type, V_ASN1_UTF8STRING);
	*val = (const char *)ASN1_STRING_get0_data(v->value.utf8string);
}

/* An end-entity certificate from the encoder, parsed back. */
static X509 *
ee_x509(const jpki_ee_params_t *e, EVP_PKEY *pub)
{
	jpki_rsa_pub_t rp;
	uint8_t *der = NULL;
	size_t len = 0;
	const unsigned char *q;
	X509 *x;

	assert_int_equal(jpki_rsa_pub_from_pkey(pub, &rp), 0);
	assert_int_equal(jpki_x509_ee_cert(enc, e, &rp, &der, &len), 0);
	q = der;
	x = d2i_X509(NULL, &q, (long)len);
	assert_non_null(x);
	assert_ptr_equal(q, der + len);
	free(der);
	return x;
}

static void
test_sign_profile(void **state)
{
	static const uint8_t serial[] = {0x7a, 0x11, 0x22};
	jpki_person_t p = {.name = "ミラー　ジョン", .dob = {1989, 1, 8}, .sex = 1,
	                   .address = "大阪府大阪市北区梅田１丁目", .alias = "山田　ジョン",
	                   .address_flags = "0000000000000"};
	jpki_ee_params_t e = {.kind = JPKI_CA_SIGN, .test = 1, .serial = serial,
	                      .serial_len = sizeof(serial), .not_before = 1732147200,
	                      .not_after = 1890000000, .cn = "20261121000000000001", .person = &p,
	                      .crl_url = "http://127.0.0.1:8080/crl/sign/0.crl",
	                      .ocsp_url = "http://127.0.0.1:8080/ocsp/sign",
	                      .cps_uri = "http://127.0.0.1:8080/cps"};
	static const char *want_oid[] = {JPKI_OID_NAME, JPKI_OID_DOB, JPKI_OID_SEX, JPKI_OID_ADDRESS,
	                                 JPKI_OID_NAME_FLAGS, JPKI_OID_ADDRESS_FLAGS, JPKI_OID_ALIAS};
	const char *want_val[] = {"ミラー　ジョン", "419890108", "1", "大阪府大阪市北区梅田１丁目",
	                          "0000000", "0000000000000", "山田　ジョン"};
	X509 *x = NULL;
	GENERAL_NAMES *san;
	CERTIFICATEPOLICIES *pol;
	X509_NAME *subj;
	X509_EXTENSION *ext;
	char oid[128], buf[256];
	const char *val;
	int i, crit;

	x = ee_x509(&e, ee_key);
	assert_int_equal(X509_verify(x, ca_key), 1);
	/* SAN otherNames in the spec's order, UTF8String values equal to the inputs. */
	san = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 7);
	for (i = 0; i < 7; i++) {
		othername_at(san, i, oid, sizeof(oid), &val);
		assert_string_equal(oid, want_oid[i]);
		assert_string_equal(val, want_val[i]);
	}
	GENERAL_NAMES_free(san);
	/* KeyUsage critical digitalSignature + nonRepudiation. */
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
	ext = X509_get_ext(x, X509_get_ext_by_NID(x, NID_key_usage, -1));
	assert_int_equal(X509_EXTENSION_get_critical(ext), 1);
	/* certificatePolicies critical, the test OID with a CPS URI. */
	pol = X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
	assert_non_null(pol);
	assert_int_equal(crit, 1);
	OBJ_obj2txt(oid, sizeof(oid), sk_POLICYINFO_value(pol, 0)->policyid, 1);
	assert_string_equal(oid, JPKI_POLICY_SIGN_TEST);
	CERTIFICATEPOLICIES_free(pol);
	/* Subject C=JP, L=大阪府, L=大阪市, CN=issuance id. */
	subj = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_entry_count(subj), 4);
	assert_int_equal(X509_NAME_ENTRY_set(X509_NAME_get_entry(subj, 1)), 1);
	X509_NAME_get_text_by_NID(subj, NID_commonName, buf, sizeof(buf));
	assert_string_equal(buf, "20261121000000000001");
	assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, 0))),
	                 V_ASN1_PRINTABLESTRING);
	assert_string_equal((const char *)ASN1_STRING_get0_data(
	                        X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, 1))), "大阪府");
	assert_string_equal((const char *)ASN1_STRING_get0_data(
	                        X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, 2))), "大阪市");
	/* Issuer = the CA's subject; AKI = the CA's SKI. */
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca_cert)), 0);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
	                                       X509_get0_subject_key_id(ca_cert)), 0);
	X509_free(x);
}

static void
test_auth_profile(void **state)
{
	static const uint8_t serial[] = {0x41};
	jpki_ee_params_t e = {.kind = JPKI_CA_AUTH, .test = 0, .serial = serial,
	                      .serial_len = sizeof(serial), .not_before = 1732147200,
	                      .not_after = 1890000000, .cn = "0A1B2C", .crl_url = "http://x/crl/auth/0.crl",
	                      .ocsp_url = "http://x/ocsp/auth"};
	CERTIFICATEPOLICIES *pol;
	X509 *x = NULL;
	char oid[128];
	int crit;

	x = ee_x509(&e, ee_key);
	assert_int_equal(X509_verify(x, ca_key), 1);
	/* No personal data (L1): no SAN, subject C and CN only. */
	assert_null(X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL));
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 2);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	pol = X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
	OBJ_obj2txt(oid, sizeof(oid), sk_POLICYINFO_value(pol, 0)->policyid, 1);
	assert_string_equal(oid, JPKI_POLICY_AUTH);
	CERTIFICATEPOLICIES_free(pol);
	X509_free(x);
}

/* The encoder's DER and the oracle's (the X509-API builder it replaced), byte
 * for byte: PKCS#1 v1.5 signatures are deterministic, so whole certificates
 * must match.  On a difference, the first differing offset is printed. */
static void
assert_same_as_oracle(const jpki_ee_params_t *e, EVP_PKEY *pub)
{
	jpki_rsa_pub_t rp;
	uint8_t *der = NULL;
	unsigned char *oder = NULL;
	size_t len = 0, i;
	int olen;
	X509 *ox = NULL;

	assert_int_equal(jpki_rsa_pub_from_pkey(pub, &rp), 0);
	assert_int_equal(jpki_x509_ee_cert(enc, e, &rp, &der, &len), 0);
	assert_int_equal(oracle_ee_cert(e, pub, ca_cert, ca_key, &ox), 0);
	olen = i2d_X509(ox, &oder);
	assert_true(olen > 0);
	if ((size_t)olen != len || memcmp(der, oder, len) != 0) {
		for (i = 0; i < len && i < (size_t)olen && der[i] == oder[i]; i++)
			;
		print_message("encoder %zu bytes, oracle %d bytes, first difference at %zu\n", len,
		              olen, i);
	}
	assert_int_equal(len, (size_t)olen);
	assert_memory_equal(der, oder, len);
	free(der);
	OPENSSL_free(oder);
	X509_free(ox);
}

static void
test_ee_matches_oracle(void **state)
{
	static const uint8_t s_small[] = {0x7a, 0x11, 0x22};
	static const uint8_t s_top[16] = {0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	                                  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0xff};
	static const uint8_t s_max[20] = {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66,
	                                  0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0x01, 0x02, 0x03, 0x04};
	static const uint8_t s_lead0[] = {0x00, 0x00, 0x7f, 0x01};
	jpki_person_t p = {.name = "ミラー　ジョン", .dob = {1989, 1, 8}, .sex = 1,
	                   .address = "大阪府大阪市北区梅田１丁目", .alias = "山田　ジョン",
	                   .name_flags = "0100000", .address_flags = "0000000000001"};
	jpki_ee_params_t e = {.kind = JPKI_CA_SIGN, .test = 1, .serial = s_small,
	                      .serial_len = sizeof(s_small), .not_before = 1732147200,
	                      .not_after = 1890000000, .cn = "20261121000000000001", .person = &p,
	                      .crl_url = "http://127.0.0.1:8080/crl/sign/0.crl",
	                      .ocsp_url = "http://127.0.0.1:8080/ocsp/sign",
	                      .cps_uri = "http://127.0.0.1:8080/cps"};
	char addr[800], name[400], alias[400], aflags[201];
	EVP_PKEY *k1024;
	int i;

	/* Signature certificate: alias and flags given, test policy. */
	assert_same_as_oracle(&e, ee_key);
	/* No alias, no flags (all '0'), production policy, a serial with the top
	 * bit set, and a notAfter past 2049 (GeneralizedTime). */
	p.alias = NULL;
	p.name_flags = NULL;
	p.address_flags = NULL;
	e.test = 0;
	e.serial = s_top;
	e.serial_len = sizeof(s_top);
	e.not_after = 2556143999; /* 2050-12-31T23:59:59Z */
	assert_same_as_oracle(&e, ee_key);
	/* Both times in GeneralizedTime; an empty alias is left out. */
	p.alias = "";
	e.not_before = 2524608000; /* 2050-01-01T00:00:00Z */
	assert_same_as_oracle(&e, ee_key);
	e.not_before = 2524607999; /* the last UTCTime second */
	assert_same_as_oracle(&e, ee_key);
	/* A 200-character address, 100-character name and alias: the SAN and the
	 * extensions cross the 0x80 and 0x100 length forms; prefecture and city given. */
	strcpy(addr, "北海道札幌市");
	for (i = 6; i < 200; i++)
		strcat(addr, i % 2 ? "丁" : "Ａ");
	assert_int_equal(jpki_utf8_chars(addr), 200);
	name[0] = alias[0] = '\0';
	for (i = 0; i < 100; i++) {
		strcat(name, i == 49 ? "　" : "山");
		strcat(alias, "ｘ");
	}
	memset(aflags, '0', 200);
	aflags[199] = '1';
	aflags[200] = '\0';
	p.name = name;
	p.address = addr;
	p.alias = alias;
	p.address_flags = aflags;
	p.prefecture = "北海道";
	p.city = "札幌市";
	p.sex = 9;
	p.dob = (jpki_date_t){2019, 5, 1};
	e.serial = s_max;
	e.serial_len = sizeof(s_max);
	e.not_before = 1732147200;
	assert_same_as_oracle(&e, ee_key);
	/* The same with short strings but a short URL set: lengths just under 0x80. */
	p.address = "東京都千代田区霞が関２丁目１番２号";
	p.address_flags = NULL;
	p.name = "山田　太郎";
	p.alias = NULL;
	p.prefecture = NULL;
	p.city = NULL;
	e.serial = s_lead0;
	e.serial_len = sizeof(s_lead0);
	e.crl_url = "http://a/c.crl";
	e.ocsp_url = "http://a/o";
	e.cps_uri = NULL;
	assert_same_as_oracle(&e, ee_key);

	/* Authentication certificate: production and test, with and without a CPS. */
	e = (jpki_ee_params_t){.kind = JPKI_CA_AUTH, .test = 0, .serial = s_top,
	                       .serial_len = sizeof(s_top), .not_before = 1732147200,
	                       .not_after = 1890000000, .cn = "0A1B2C3D4E5F60718293A4B5C6D7E8F9",
	                       .crl_url = "http://127.0.0.1:8080/crl/auth/12.crl",
	                       .ocsp_url = "http://127.0.0.1:8080/ocsp/auth",
	                       .cps_uri = "http://127.0.0.1:8080/cps"};
	assert_same_as_oracle(&e, ee_key);
	e.test = 1;
	e.cps_uri = "";
	e.not_after = 2600000000;
	assert_same_as_oracle(&e, ee_key);
	/* No CRLDP nor AIA. */
	e.crl_url = NULL;
	e.ocsp_url = NULL;
	assert_same_as_oracle(&e, ee_key);
	/* Another key size: the RSAPublicKey's length takes the 0x81 form. */
	k1024 = EVP_RSA_gen(1024);
	assert_non_null(k1024);
	assert_same_as_oracle(&e, k1024);
	e.kind = JPKI_CA_SIGN;
	e.person = &p;
	assert_same_as_oracle(&e, k1024);
	EVP_PKEY_free(k1024);
}

/* The fast path (n and e as bytes) gives what the EVP_PKEY path gives. */
static void
test_ee_pub_bytes(void **state)
{
	static const uint8_t serial[] = {0x41};
	static const uint8_t e65537[] = {0x01, 0x00, 0x01};
	jpki_ee_params_t e = {.kind = JPKI_CA_AUTH, .serial = serial, .serial_len = sizeof(serial),
	                      .not_before = 1732147200, .not_after = 1890000000, .cn = "X"};
	jpki_rsa_pub_t a, b;
	BIGNUM *n = NULL;
	uint8_t nb[256], *d1 = NULL, *d2 = NULL;
	size_t l1, l2;

	assert_int_equal(EVP_PKEY_get_bn_param(ee_key, "n", &n), 1);
	assert_int_equal(BN_bn2binpad(n, nb, sizeof(nb)), 256);
	BN_free(n);
	assert_int_equal(jpki_rsa_pub_from_pkey(ee_key, &a), 0);
	assert_int_equal(a.n_len, 256);
	assert_memory_equal(a.n, nb, 256);
	assert_int_equal(jpki_rsa_pub_set(nb, sizeof(nb), e65537, sizeof(e65537), &b), 0);
	assert_int_equal(jpki_x509_ee_cert(enc, &e, &a, &d1, &l1), 0);
	assert_int_equal(jpki_x509_ee_cert(enc, &e, &b, &d2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(d1, d2, l1);
	free(d1);
	free(d2);
	/* Bad input changes nothing and gives no certificate. */
	assert_int_equal(jpki_rsa_pub_set(nb, 0, e65537, 3, &b), JPKI_ERR_INVALID_ARG);
	e.cn = "";
	assert_int_equal(jpki_x509_ee_cert(enc, &e, &a, &d1, &l1), JPKI_ERR_INVALID_ARG);
	assert_null(d1);
	assert_int_equal(l1, 0);
	e.cn = "X";
	e.serial_len = 0;
	assert_int_equal(jpki_x509_ee_cert(enc, &e, &a, &d1, &l1), JPKI_ERR_INVALID_ARG);
	e.serial_len = 1;
	e.kind = JPKI_CA_SIGN; /* without a person */
	assert_int_equal(jpki_x509_ee_cert(enc, &e, &a, &d1, &l1), JPKI_ERR_INVALID_ARG);
	e.kind = JPKI_CA_AUTH;
	e.not_after = e.not_before;
	assert_int_equal(jpki_x509_ee_cert(enc, &e, &a, &d1, &l1), JPKI_ERR_INVALID_ARG);
}

/* The CRLNumber as OpenSSL reads it (the independent reading). */
static void
q_crl_number_openssl(const uint8_t *der, size_t len, BIGNUM **out)
{
	const unsigned char *q = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)len);
	ASN1_INTEGER *num;

	assert_non_null(crl);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	*out = ASN1_INTEGER_to_BN(num, NULL);
	assert_non_null(*out);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
}

static void
test_crl_builder(void **state)
{
	static const uint8_t s1[] = {0x01}, s2[] = {0x80, 0x00}, s3[] = {0x7f, 0xff, 0xff};
	jpki_crl_builder_t *b = NULL;
	jpki_crl_params_t p = {.number = 7, .delta_base = 5, .this_update = 1732147200,
	                       .next_update = 1732168800, .idp_url = "http://x/crl/sign/0.crl"};
	uint8_t *der = NULL;
	size_t len;
	const unsigned char *q;
	X509_CRL *crl;
	STACK_OF(X509_REVOKED) *rev;
	ASN1_INTEGER *num;
	ASN1_ENUMERATED *reason;
	int crit;

	assert_int_equal(jpki_crl_builder_new(ca_cert, &b), 0);
	assert_int_equal(jpki_crl_builder_add(b, s1, sizeof(s1), 1732000000, JPKI_REASON_KEY_COMPROMISE), 0);
	assert_int_equal(jpki_crl_builder_add(b, s2, sizeof(s2), 1732000001, JPKI_REASON_REMOVE_FROM_CRL), 0);
	assert_int_equal(jpki_crl_builder_add(b, s3, sizeof(s3), 4102444800 /* 2100: GeneralizedTime */,
	                                      JPKI_REASON_NONE), 0);
	assert_int_equal(jpki_crl_builder_add(b, s1, 0, 0, 0), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_crl_builder_add(b, s1, 1, 0, 7), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_crl_builder_count(b), 3);
	assert_int_equal(jpki_crl_builder_finish(b, &p, ca_key, &der, &len), 0);
	q = der;
	crl = d2i_X509_CRL(NULL, &q, (long)len);
	assert_non_null(crl);
	assert_ptr_equal(q, der + len);
	assert_int_equal(X509_CRL_verify(crl, ca_key), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca_cert)), 0);
	rev = X509_CRL_get_REVOKED(crl);
	assert_int_equal(sk_X509_REVOKED_num(rev), 3);
	reason = X509_REVOKED_get_ext_d2i(sk_X509_REVOKED_value(rev, 1), NID_crl_reason, &crit, NULL);
	assert_non_null(reason);
	assert_int_equal(ASN1_ENUMERATED_get(reason), 8);
	ASN1_ENUMERATED_free(reason);
	assert_null(X509_REVOKED_get_ext_d2i(sk_X509_REVOKED_value(rev, 2), NID_crl_reason, &crit, NULL));
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	assert_int_equal(ASN1_INTEGER_get(num), 7);
	ASN1_INTEGER_free(num);
	num = X509_CRL_get_ext_d2i(crl, NID_delta_crl, &crit, NULL);
	assert_int_equal(ASN1_INTEGER_get(num), 5);
	assert_int_equal(crit, 1);
	ASN1_INTEGER_free(num);
	{
		ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
		GENERAL_NAME *g;
		assert_non_null(idp);
		assert_int_equal(crit, 1);
		assert_true(idp->onlyuser > 0);
		g = sk_GENERAL_NAME_value(idp->distpoint->name.fullname, 0);
		assert_int_equal(g->type, GEN_URI);
		assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
		                    "http://x/crl/sign/0.crl");
		ISSUING_DIST_POINT_free(idp);
	}
	X509_CRL_free(crl);
	free(der);
	jpki_crl_builder_free(b);

	/* jpki_crl_number_read agrees with OpenSSL's reading, whatever the INTEGER's
	 * length (255 takes a leading 00), and refuses what is cut short. */
	{
		static const int64_t nums[] = {1, 127, 128, 255, 256, 65536, (int64_t)1 << 40,
		                               INT64_MAX};
		size_t i, cut;
		int64_t got;

		for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			jpki_crl_params_t cp = p;
			cp.number = nums[i];
			assert_int_equal(jpki_crl_builder_new(ca_cert, &b), 0);
			assert_int_equal(jpki_crl_builder_add(b, s3, sizeof(s3), 1732000000,
			                                      JPKI_REASON_NONE), 0);
			assert_int_equal(jpki_crl_builder_finish(b, &cp, ca_key, &der, &len), 0);
			assert_int_equal(jpki_crl_number_read(der, len, &got), 0);
			assert_true(got == nums[i]);
			{
				BIGNUM *bn = NULL;
				char *dec;
				char want[32];
				q_crl_number_openssl(der, len, &bn);
				dec = BN_bn2dec(bn);
				snprintf(want, sizeof(want), "%lld", (long long)nums[i]);
				assert_string_equal(dec, want);
				OPENSSL_free(dec);
				BN_free(bn);
			}
			for (cut = 0; cut < len; cut += 1 + cut / 4)
				assert_true(jpki_crl_number_read(der, cut, &got) < 0);
			free(der);
			jpki_crl_builder_free(b);
		}
		assert_int_equal(jpki_crl_number_read(NULL, 0, &got), JPKI_ERR_INVALID_ARG);
		/* A CRL OpenSSL made without a CRLNumber: none found. */
		{
			X509_CRL *bare = X509_CRL_new();
			ASN1_TIME *t = ASN1_TIME_set(NULL, 1732147200);
			unsigned char *bd = NULL;
			int bl;
			assert_non_null(bare);
			assert_int_equal(X509_CRL_set_version(bare, X509_CRL_VERSION_2), 1);
			assert_int_equal(X509_CRL_set_issuer_name(bare, X509_get_subject_name(ca_cert)), 1);
			assert_int_equal(X509_CRL_set1_lastUpdate(bare, t), 1);
			assert_true(X509_CRL_sign(bare, ca_key, EVP_sha256()) > 0);
			bl = i2d_X509_CRL(bare, &bd);
			assert_true(bl > 0);
			assert_int_equal(jpki_crl_number_read(bd, (size_t)bl, &got), JPKI_ERR_NOT_FOUND);
			OPENSSL_free(bd);
			ASN1_TIME_free(t);
			X509_CRL_free(bare);
		}
	}

	/* An empty full CRL omits revokedCertificates and carries FreshestCRL. */
	assert_int_equal(jpki_crl_builder_new(ca_cert, &b), 0);
	p.delta_base = 0;
	p.freshest_url = "http://x/crl/sign/0-delta.crl";
	assert_int_equal(jpki_crl_builder_finish(b, &p, ca_key, &der, &len), 0);
	q = der;
	crl = d2i_X509_CRL(NULL, &q, (long)len);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, ca_key), 1);
	assert_null(X509_CRL_get_REVOKED(crl));
	{
		CRL_DIST_POINTS *fr = X509_CRL_get_ext_d2i(crl, NID_freshest_crl, &crit, NULL);
		assert_non_null(fr);
		CRL_DIST_POINTS_free(fr);
	}
	X509_CRL_free(crl);
	free(der);
	jpki_crl_builder_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oid_text),
		cmocka_unit_test(test_der_time),
		cmocka_unit_test(test_utf8_and_person),
		cmocka_unit_test(test_address_split),
		cmocka_unit_test(test_sign_profile),
		cmocka_unit_test(test_auth_profile),
		cmocka_unit_test(test_ee_matches_oracle),
		cmocka_unit_test(test_ee_pub_bytes),
		cmocka_unit_test(test_crl_builder),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
