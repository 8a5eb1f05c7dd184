/*
 * The resident's client helpers (jpki/client.h): the L9 rules against
 * guessable PINs, the L5 three-month expiry warning, names as the guides
 * show them, the published fingerprint list (L12).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jpki/client.h"
#include "jpki/error.h"

static void
test_guessable(void **state)
{
	jpki_date_t dob = {1977, 11, 7};

	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_AUTH, "1111", NULL), JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_AUTH, "1234", NULL), JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_AUTH, "9876", NULL), JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_AUTH, "4821", NULL), 0);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_AUTH, "1107", &dob), JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_AUTH, "1977", &dob), JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_AUTH, "0711", &dob), 0);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_SIGN, "123456", NULL), JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_SIGN, "abcdef", NULL), JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_SIGN, "aaaAAA", NULL), JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_SIGN, "X19771107", &dob),
	                 JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_SIGN, "771107AB", &dob),
	                 JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_SIGN, "HANA2024X", &dob), 0);
	assert_int_equal(jpki_client_pin_guessable(JPKI_PIN_SIGN, "ABC123", NULL), 0);
}

static X509 *
cert_ending(time_t not_after)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();

	assert_non_null(k);
	assert_non_null(x);
	X509_set_pubkey(x, k);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &not_after);
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), not_after));
	EVP_PKEY_free(k);
	return x;
}

static void
test_expiry(void **state)
{
	/* The last day 2031-11-07 JST: notAfter 2031-11-07T14:59:59Z. */
	time_t na = 1951829999, got = 0;
	long days = 0;
	int warn = -1;
	X509 *x = cert_ending(na);

	assert_int_equal(jpki_client_expiry(x, na - 100L * 86400, &got, &days, &warn), 0);
	assert_int_equal(got, na);
	assert_int_equal(days, 100);
	assert_int_equal(warn, 0);
	/* 2031-08-07 JST (three months before) and after: warn. */
	assert_int_equal(jpki_client_expiry(x, 1943794800 /* 2031-08-07T00:00:00+09:00 */, &got,
	                                    &days, &warn), 0);
	assert_int_equal(warn, 1);
	assert_int_equal(jpki_client_expiry(x, 1943794800 - 1, &got, &days, &warn), 0);
	assert_int_equal(warn, 0);
	/* Expired: negative days, still a warning. */
	assert_int_equal(jpki_client_expiry(x, na + 2 * 86400, &got, &days, &warn), 0);
	assert_true(days < 0);
	assert_int_equal(warn, 1);
	X509_free(x);
}

static void
test_name_and_fingerprints(void **state)
{
	X509_NAME *n = X509_NAME_new();
	char out[256], s[JPKI_CLIENT_FP_MAX], a[JPKI_CLIENT_FP_MAX];
	static const char js[] = "{\"sign\":\"ab:cd\",\"auth\":\"EF:01\"}";

	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"JPKI-TEST", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8,
	                           (const unsigned char *)"公的個人認証サービス", -1, -1, 0);
	assert_int_equal(jpki_client_name(n, ", ", out, sizeof(out)), 0);
	assert_string_equal(out, "OU=公的個人認証サービス, O=JPKI-TEST, C=JP");
	X509_NAME_free(n);

	assert_int_equal(jpki_client_published_fp(js, strlen(js), s, a), 0);
	assert_string_equal(s, "ab:cd");
	assert_true(jpki_client_fp_equal(s, "ABCD"));
	assert_true(jpki_client_fp_equal(a, "ef:01"));
	assert_false(jpki_client_fp_equal(a, "EF:02"));
	assert_false(jpki_client_fp_equal("", ""));
	assert_int_equal(jpki_client_published_fp("{}", 2, s, a), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_client_published_fp("{\"sign\":1}", 10, s, a), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_client_published_fp("{\"sign\":\"zz\"}", 13, s, a), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_client_published_fp("[", 1, s, a), JPKI_ERR_FORMAT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guessable),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_name_and_fingerprints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
