/* X.509 profiles (spec §4) and CRL encoding (spec §5), read back with OpenSSL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/error.h"
#include "jpki/x509.h"
#include "x509/der.h"

static EVP_PKEY *ca_key, *ee_key;
static X509 *ca_cert;

static int
setup(void **state)
{
	static const uint8_t serial[] = {0x42, 0x01};

	ca_key = EVP_RSA_gen(2048);
	ee_key = EVP_RSA_gen(2048);
	if (ca_key == NULL || ee_key == NULL)
		return -1;
	return jpki_x509_ca_cert(JPKI_CA_SIGN, 1, ca_key, 1732147200, serial, sizeof(serial), &ca_cert);
}

static int
teardown(void **state)
{
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

	assert_int_equal(jpki_x509_ee_cert(&e, ee_key, ca_cert, ca_key, &x), 0);
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

	assert_int_equal(jpki_x509_ee_cert(&e, ee_key, ca_cert, ca_key, &x), 0);
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
		cmocka_unit_test(test_crl_builder),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
