/* The two CAs in-process: init, issuance (L4), revoke/hold/release (L8, spec §5), CRLs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/ca.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/x509.h"

static char base[256];
static EVP_PKEY *key;
static int seq;

/* 2026-11-21T01:00:00Z = 10:00 JST of 2026-11-21 */
#define T_ISSUE ((time_t)1795222800)

static int
setup(void **state)
{
	const char *t = getenv("JPKI_TEST_TMP");
	char tmpl[200];

	if (t == NULL)
		t = "/tmp";
	jpki_file_mkdirs(t, 0755);
	if (strlen(t) > 150)
		return -1;
	snprintf(tmpl, sizeof(tmpl), "%s/test_ca.XXXXXX", t);
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(base, sizeof(base), "%s", tmpl);
	key = EVP_RSA_gen(2048);
	return key ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[400];

	EVP_PKEY_free(key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh CA directory per test. */
static jpki_ca_t *
new_ca(int64_t partition_size, char *dir, size_t dirlen)
{
	jpki_ca_init_opts_t o = {.test = 1, .partition_size = partition_size,
	                         .base_url = "http://127.0.0.1:18080"};
	jpki_ca_t *ca = NULL;

	snprintf(dir, dirlen, "%s/ca%d", base, seq++);
	assert_int_equal(jpki_ca_init(dir, &o), 0);
	assert_int_equal(jpki_ca_open(dir, &ca), 0);
	return ca;
}

static jpki_person_t person = {.name = "山田　花子", .dob = {1977, 11, 7}, .sex = 2,
                               .address = "東京都千代田区霞が関２丁目１番２号"};

static int
issue(jpki_ca_t *ca, jpki_ca_kind_t kind, jpki_issued_t *is)
{
	jpki_issue_req_t req = {.kind = kind, .pub = key, .person = &person,
	                        .gen = JPKI_GEN_MYNUMBER, .now = T_ISSUE};
	return jpki_ca_issue(ca, &req, is);
}

static int
count_cb(void *ctx, const jpki_cert_rec_t *rec)
{
	(*(int *)ctx)++;
	return 0;
}

static int
count_certs(jpki_ca_t *ca, jpki_ca_kind_t kind)
{
	int n = 0;
	assert_int_equal(jpki_store_foreach_cert(jpki_ca_store(ca), kind, count_cb, &n), 0);
	return n;
}

static void
test_init_files_and_no_overwrite(void **state)
{
	char dir[600], path[1024];
	struct stat st;
	uint8_t *before = NULL, *after = NULL;
	size_t lb, la;
	jpki_ca_t *ca;

	ca = new_ca(0, dir, sizeof(dir));
	jpki_ca_close(ca);
	snprintf(path, sizeof(path), "%s/sign/ca.key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/auth/ca.key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* Running init twice must not overwrite an existing CA. */
	assert_int_equal(jpki_file_read(path, 1 << 20, &before, &lb), 0);
	assert_int_equal(jpki_ca_init(dir, NULL), JPKI_ERR_EXISTS);
	assert_int_equal(jpki_file_read(path, 1 << 20, &after, &la), 0);
	assert_int_equal(lb, la);
	assert_memory_equal(before, after, lb);
	free(before);
	free(after);
	/* A key without jpki.conf (an interrupted init elsewhere) is not replaced either. */
	snprintf(path, sizeof(path), "%s/jpki.conf", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(jpki_ca_init(dir, NULL), JPKI_ERR_EXISTS);
	snprintf(path, sizeof(path), "%s/sign/ca.key", dir);
	assert_true(jpki_file_exists(path));
	/* No CA at all. */
	snprintf(path, sizeof(path), "%s/none", base);
	assert_int_equal(jpki_ca_open(path, &ca), JPKI_ERR_NOT_FOUND);
	assert_null(ca);
}

static void
test_issue_validity_and_serials(void **state)
{
	char dir[600];
	jpki_ca_t *ca = new_ca(0, dir, sizeof(dir));
	jpki_issued_t a, b;
	jpki_cert_rec_t rec;
	jpki_date_t last = {2031, 11, 7}, cap = {2029, 3, 31};
	jpki_issue_req_t req = {.kind = JPKI_CA_SIGN, .pub = key, .person = &person,
	                        .gen = JPKI_GEN_MYNUMBER, .now = T_ISSUE, .card_expiry = &cap};
	int cmp;

	assert_int_equal(issue(ca, JPKI_CA_SIGN, &a), 0);
	assert_int_equal(issue(ca, JPKI_CA_SIGN, &b), 0);
	/* Random, positive, unique serials. */
	assert_int_equal(a.serial_len, 16);
	assert_true(a.serial[0] & 0x40);
	assert_false(a.serial[0] & 0x80);
	assert_memory_not_equal(a.serial, b.serial, 16);
	/* L4: the 5th birthday after 2026-11-21 is 2031-11-07, 23:59:59 JST = 14:59:59Z. */
	assert_int_equal(a.not_after, jpki_date_end_jst(&last));
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(a.cert), jpki_date_end_jst(&last)), 0);
	assert_int_equal(X509_verify(a.cert, X509_get0_pubkey(jpki_ca_cert(ca, JPKI_CA_SIGN))), 1);
	/* In the store with its DER. */
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(jpki_store_cert_get(jpki_ca_store(ca), JPKI_CA_SIGN, a.serial, a.serial_len, 1,
	                                     &rec), 0);
	assert_int_equal(rec.status, JPKI_STATUS_GOOD);
	assert_non_null(rec.der);
	{
		const unsigned char *p = rec.der;
		X509 *x = d2i_X509(NULL, &p, (long)rec.der_len);
		assert_non_null(x);
		cmp = X509_cmp(x, a.cert);
		assert_int_equal(cmp, 0);
		X509_free(x);
	}
	jpki_cert_rec_clear(&rec);
	jpki_issued_clear(&a);
	jpki_issued_clear(&b);
	/* Capped by the card's expiry (L4). */
	assert_int_equal(jpki_ca_issue(ca, &req, &a), 0);
	assert_int_equal(a.not_after, jpki_date_end_jst(&cap));
	jpki_issued_clear(&a);
	/* 2004-era: three years. */
	req.card_expiry = NULL;
	req.gen = JPKI_GEN_2004;
	assert_int_equal(jpki_ca_issue(ca, &req, &a), 0);
	last = (jpki_date_t){2029, 11, 21};
	assert_int_equal(a.not_after, jpki_date_end_jst(&last));
	jpki_issued_clear(&a);
	jpki_ca_close(ca);
}

static void
test_bad_input_changes_nothing(void **state)
{
	char dir[600];
	jpki_ca_t *ca = new_ca(0, dir, sizeof(dir));
	jpki_person_t p = person;
	jpki_issue_req_t req = {.kind = JPKI_CA_SIGN, .pub = key, .person = &p, .now = T_ISSUE};
	jpki_issued_t is;
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	char longname[400];
	jpki_date_t expired = {2026, 1, 1};

	p.dob = (jpki_date_t){2027, 1, 1}; /* in the future */
	assert_int_equal(jpki_ca_issue(ca, &req, &is), JPKI_ERR_DATE);
	p.dob = person.dob;
	memset(longname, 'a', 101);
	longname[101] = '\0';
	p.name = longname;
	assert_int_equal(jpki_ca_issue(ca, &req, &is), JPKI_ERR_RANGE);
	assert_non_null(strstr(jpki_detail(), "name"));
	p.name = person.name;
	req.pub = ec;
	assert_int_equal(jpki_ca_issue(ca, &req, &is), JPKI_ERR_INVALID_ARG);
	req.pub = key;
	req.card_expiry = &expired;
	assert_int_equal(jpki_ca_issue(ca, &req, &is), JPKI_ERR_DATE);
	assert_int_equal(count_certs(ca, JPKI_CA_SIGN), 0);
	EVP_PKEY_free(ec);
	/* A batch rolled back leaves nothing. */
	req.card_expiry = NULL;
	assert_int_equal(jpki_ca_batch_begin(ca), 0);
	assert_int_equal(jpki_ca_issue(ca, &req, &is), 0);
	jpki_issued_clear(&is);
	assert_int_equal(jpki_ca_batch_rollback(ca), 0);
	assert_int_equal(count_certs(ca, JPKI_CA_SIGN), 0);
	jpki_ca_close(ca);
}

/* The certificate comes as DER too; the key may come as the card's modulus. */
static void
test_issue_der_and_modulus(void **state)
{
	char dir[600];
	jpki_ca_t *ca = new_ca(0, dir, sizeof(dir));
	jpki_issue_req_t req = {.kind = JPKI_CA_SIGN, .pub = key, .person = &person,
	                        .gen = JPKI_GEN_MYNUMBER, .now = T_ISSUE};
	jpki_issued_t is;
	unsigned char *der = NULL;
	const unsigned char *q;
	uint8_t mod[256];
	BIGNUM *n = NULL;
	X509 *x;
	int len;

	assert_int_equal(jpki_ca_issue(ca, &req, &is), 0);
	assert_non_null(is.cert);
	len = i2d_X509(is.cert, &der);
	assert_int_equal((size_t)len, is.der_len);
	assert_memory_equal(der, is.der, is.der_len);
	OPENSSL_free(der);
	jpki_issued_clear(&is);
	assert_null(is.der);
	/* The modulus as the card answers it, and the DER alone. */
	assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(BN_bn2binpad(n, mod, sizeof(mod)), 256);
	BN_free(n);
	req.pub = NULL;
	req.pub_n = mod;
	req.pub_n_len = sizeof(mod);
	req.der_only = 1;
	assert_int_equal(jpki_ca_issue(ca, &req, &is), 0);
	assert_null(is.cert);
	q = is.der;
	x = d2i_X509(NULL, &q, (long)is.der_len);
	assert_non_null(x);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(jpki_ca_cert(ca, JPKI_CA_SIGN))), 1);
	X509_free(x);
	jpki_issued_clear(&is);
	/* One form of the key, RSA-2048. */
	req.pub = key;
	assert_int_equal(jpki_ca_issue(ca, &req, &is), JPKI_ERR_INVALID_ARG);
	req.pub = NULL;
	req.pub_n_len = 255;
	assert_int_equal(jpki_ca_issue(ca, &req, &is), JPKI_ERR_INVALID_ARG);
	req.pub_n = NULL;
	assert_int_equal(jpki_ca_issue(ca, &req, &is), JPKI_ERR_INVALID_ARG);
	assert_int_equal(count_certs(ca, JPKI_CA_SIGN), 2);
	jpki_ca_close(ca);
}

/*
 * A random source that answers the serial's 16-byte requests with the same
 * bytes while `fixed_serials` lasts, and everything else (RSA blinding) from
 * OpenSSL's own: the only way to make a serial collide.  RAND_METHOD is
 * deprecated in OpenSSL 3 but still honoured by RAND_bytes.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static const RAND_METHOD *orig_rand;
static int fixed_serials;

static int
fixed_rand_bytes(unsigned char *buf, int num)
{
	if (num == 16 && fixed_serials > 0) {
		fixed_serials--;
		memset(buf, 0x5a, (size_t)num);
		return 1;
	}
	return orig_rand->bytes(buf, num);
}

static int
fixed_rand_status(void)
{
	return 1;
}

static void
test_issue_serial_collision(void **state)
{
	static RAND_METHOD m;
	char dir[600];
	jpki_ca_t *ca = new_ca(0, dir, sizeof(dir));
	jpki_issued_t a, b;

	orig_rand = RAND_get_rand_method();
	assert_non_null(orig_rand);
	m = *orig_rand;
	m.bytes = fixed_rand_bytes;
	m.status = fixed_rand_status;
	assert_int_equal(RAND_set_rand_method(&m), 1);
	fixed_serials = 1;
	assert_int_equal(issue(ca, JPKI_CA_SIGN, &a), 0);
	/* The same serial again: the store refuses it, another is drawn. */
	fixed_serials = 1;
	assert_int_equal(jpki_ca_batch_begin(ca), 0);
	assert_int_equal(issue(ca, JPKI_CA_SIGN, &b), 0);
	assert_int_equal(jpki_ca_batch_commit(ca), 0);
	assert_int_equal(fixed_serials, 0);
	assert_memory_not_equal(a.serial, b.serial, 16);
	assert_int_equal(count_certs(ca, JPKI_CA_SIGN), 2);
	jpki_issued_clear(&b);
	/* Never a fresh serial: give up, store nothing. */
	fixed_serials = 1000;
	assert_int_equal(issue(ca, JPKI_CA_SIGN, &b), JPKI_ERR_INTERNAL);
	assert_null(b.cert);
	assert_null(b.der);
	assert_int_equal(RAND_set_rand_method(orig_rand), 1);
	fixed_serials = 0;
	assert_int_equal(count_certs(ca, JPKI_CA_SIGN), 2);
	jpki_issued_clear(&a);
	jpki_ca_close(ca);
}
#pragma GCC diagnostic pop

static void
test_status_rules(void **state)
{
	char dir[600];
	jpki_ca_t *ca = new_ca(0, dir, sizeof(dir));
	jpki_issued_t s, a;
	jpki_cert_rec_t rec;
	uint8_t none[] = {0x01, 0x02};

	memset(&rec, 0, sizeof(rec));
	assert_int_equal(issue(ca, JPKI_CA_SIGN, &s), 0);
	assert_int_equal(issue(ca, JPKI_CA_AUTH, &a), 0);
	/* spec §5: never unspecified; hold is its own verb. */
	assert_int_equal(jpki_ca_revoke(ca, JPKI_CA_SIGN, s.serial, s.serial_len,
	                                JPKI_REASON_UNSPECIFIED, 0), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_ca_revoke(ca, JPKI_CA_SIGN, s.serial, s.serial_len,
	                                JPKI_REASON_CERTIFICATE_HOLD, 0), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_ca_revoke(ca, JPKI_CA_SIGN, none, sizeof(none),
	                                JPKI_REASON_KEY_COMPROMISE, 0), JPKI_ERR_NOT_FOUND);
	/* L8: hold both; the auth hold is released, the signature one cannot be. */
	assert_int_equal(jpki_ca_hold(ca, JPKI_CA_SIGN, s.serial, s.serial_len, 0), 0);
	assert_int_equal(jpki_ca_hold(ca, JPKI_CA_AUTH, a.serial, a.serial_len, 0), 0);
	assert_int_equal(jpki_ca_hold(ca, JPKI_CA_AUTH, a.serial, a.serial_len, 0), JPKI_ERR_STATE);
	assert_int_equal(jpki_ca_release(ca, JPKI_CA_SIGN, s.serial, s.serial_len, 0),
	                 JPKI_ERR_RELEASE_SIGN);
	assert_non_null(strstr(jpki_strerror(JPKI_ERR_RELEASE_SIGN), "revoke"));
	assert_int_equal(jpki_ca_release(ca, JPKI_CA_AUTH, a.serial, a.serial_len, 0), 0);
	assert_int_equal(jpki_ca_release(ca, JPKI_CA_AUTH, a.serial, a.serial_len, 0), JPKI_ERR_STATE);
	/* The held signature certificate is revoked instead. */
	assert_int_equal(jpki_ca_revoke(ca, JPKI_CA_SIGN, s.serial, s.serial_len,
	                                JPKI_REASON_KEY_COMPROMISE, 0), 0);
	assert_int_equal(jpki_ca_revoke(ca, JPKI_CA_SIGN, s.serial, s.serial_len,
	                                JPKI_REASON_SUPERSEDED, 0), JPKI_ERR_STATE);
	assert_int_equal(jpki_ca_hold(ca, JPKI_CA_SIGN, s.serial, s.serial_len, 0), JPKI_ERR_STATE);
	assert_int_equal(jpki_store_cert_get(jpki_ca_store(ca), JPKI_CA_SIGN, s.serial, s.serial_len,
	                                     0, &rec), 0);
	assert_int_equal(rec.status, JPKI_STATUS_REVOKED);
	assert_int_equal(rec.reason, JPKI_REASON_KEY_COMPROMISE);
	jpki_issued_clear(&s);
	jpki_issued_clear(&a);
	jpki_ca_close(ca);
}

/* Parse a published CRL file. */
static X509_CRL *
load_crl(jpki_ca_t *ca, jpki_ca_kind_t kind, int64_t part, int delta)
{
	char path[1024];
	uint8_t *der = NULL;
	size_t len;
	const unsigned char *p;
	X509_CRL *crl;

	assert_int_equal(jpki_ca_crl_path(ca, kind, part, delta, path, sizeof(path)), 0);
	assert_int_equal(jpki_file_read(path, 1 << 26, &der, &len), 0);
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(jpki_ca_cert(ca, kind))), 1);
	free(der);
	return crl;
}

static long
crl_number(X509_CRL *crl, int nid)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, nid, NULL, NULL);
	long v = n ? ASN1_INTEGER_get(n) : -1;
	ASN1_INTEGER_free(n);
	return v;
}

static int
entry_reason(X509_CRL *crl, const jpki_issued_t *is)
{
	X509_REVOKED *rev = NULL;
	ASN1_ENUMERATED *e;
	ASN1_INTEGER *sn = X509_get_serialNumber(is->cert);
	int v;

	if (X509_CRL_get0_by_serial(crl, &rev, sn) == 0)
		return -2; /* not listed */
	e = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
	v = e ? (int)ASN1_ENUMERATED_get(e) : -1;
	ASN1_ENUMERATED_free(e);
	return v;
}

static void
test_crls_full_and_delta(void **state)
{
	char dir[600];
	jpki_ca_t *ca = new_ca(0, dir, sizeof(dir));
	jpki_issued_t a1, a2, a3;
	jpki_crl_rec_t r1, r2, r3, r4;
	X509_CRL *full, *delta;

	assert_int_equal(issue(ca, JPKI_CA_AUTH, &a1), 0);
	assert_int_equal(issue(ca, JPKI_CA_AUTH, &a2), 0);
	assert_int_equal(issue(ca, JPKI_CA_AUTH, &a3), 0);
	/* A delta needs a full CRL to be relative to. */
	assert_int_equal(jpki_ca_publish_crl(ca, JPKI_CA_AUTH, 0, 1, 0, NULL), JPKI_ERR_STATE);
	assert_int_equal(jpki_ca_hold(ca, JPKI_CA_AUTH, a1.serial, a1.serial_len, 0), 0);
	assert_int_equal(jpki_ca_revoke(ca, JPKI_CA_AUTH, a2.serial, a2.serial_len,
	                                JPKI_REASON_CESSATION, 0), 0);
	assert_int_equal(jpki_ca_publish_crl(ca, JPKI_CA_AUTH, 0, 0, 0, &r1), 0);
	full = load_crl(ca, JPKI_CA_AUTH, 0, 0);
	assert_int_equal(entry_reason(full, &a1), JPKI_REASON_CERTIFICATE_HOLD);
	assert_int_equal(entry_reason(full, &a2), JPKI_REASON_CESSATION);
	assert_int_equal(entry_reason(full, &a3), -2);
	assert_int_equal(crl_number(full, NID_crl_number), r1.number);
	assert_int_equal(crl_number(full, NID_delta_crl), -1);
	X509_CRL_free(full);
	/* Release the hold and revoke another: the delta lists both changes. */
	assert_int_equal(jpki_ca_release(ca, JPKI_CA_AUTH, a1.serial, a1.serial_len, 0), 0);
	assert_int_equal(jpki_ca_revoke(ca, JPKI_CA_AUTH, a3.serial, a3.serial_len,
	                                JPKI_REASON_KEY_COMPROMISE, 0), 0);
	assert_int_equal(jpki_ca_publish_crl(ca, JPKI_CA_AUTH, 0, 1, 0, &r2), 0);
	delta = load_crl(ca, JPKI_CA_AUTH, 0, 1);
	assert_int_equal(crl_number(delta, NID_delta_crl), r1.number);
	assert_true(r2.number > r1.number);
	assert_int_equal(entry_reason(delta, &a1), JPKI_REASON_REMOVE_FROM_CRL);
	assert_int_equal(entry_reason(delta, &a3), JPKI_REASON_KEY_COMPROMISE);
	assert_int_equal(entry_reason(delta, &a2), -2); /* unchanged since the base */
	X509_CRL_free(delta);
	/* The next full CRL no longer lists the released certificate. */
	assert_int_equal(jpki_ca_publish_crl(ca, JPKI_CA_AUTH, 0, 0, 0, &r3), 0);
	assert_true(r3.number > r2.number);
	full = load_crl(ca, JPKI_CA_AUTH, 0, 0);
	assert_int_equal(entry_reason(full, &a1), -2);
	assert_int_equal(entry_reason(full, &a3), JPKI_REASON_KEY_COMPROMISE);
	X509_CRL_free(full);
	/* The signature CA has its own CRLNumber sequence. */
	assert_int_equal(jpki_ca_publish_crl(ca, JPKI_CA_SIGN, 0, 0, 0, &r4), 0);
	assert_int_equal(r4.number, 1);
	jpki_issued_clear(&a1);
	jpki_issued_clear(&a2);
	jpki_issued_clear(&a3);
	jpki_ca_close(ca);
}

/* The CRLNumber of a published file, read by jpki_crl_number_read and by OpenSSL. */
static int64_t
file_crl_number(jpki_ca_t *ca, jpki_ca_kind_t kind, int delta)
{
	char path[1024];
	uint8_t *der = NULL;
	size_t len;
	int64_t n = -1;
	X509_CRL *crl = load_crl(ca, kind, 0, delta);

	assert_int_equal(jpki_ca_crl_path(ca, kind, 0, delta, path, sizeof(path)), 0);
	assert_int_equal(jpki_file_read(path, 1 << 26, &der, &len), 0);
	assert_int_equal(jpki_crl_number_read(der, len, &n), 0);
	assert_int_equal(crl_number(crl, NID_crl_number), n);
	X509_CRL_free(crl);
	free(der);
	return n;
}

static void
copy_file(const char *from, const char *to)
{
	uint8_t *d = NULL;
	size_t n;

	assert_int_equal(jpki_file_read(from, 1 << 26, &d, &n), 0);
	assert_int_equal(jpki_file_write_atomic(to, d, n, 0600), 0);
	free(d);
}

/* A store restored from an older backup does not know the CRLs published
 * since; the next CRL still takes a number above the published file's, so a
 * relying party never sees a CRLNumber again or going back (RFC 5280 5.2.3). */
static void
test_crl_numbers_after_restore(void **state)
{
	char dir[600], db[700], old[700], path[1024];
	jpki_ca_t *ca = new_ca(0, dir, sizeof(dir));
	jpki_crl_rec_t r;
	int64_t published;
	int i;

	snprintf(db, sizeof(db), "%s/ca.db", dir);
	snprintf(old, sizeof(old), "%s/backup.db", dir);
	assert_int_equal(jpki_ca_publish_crl(ca, JPKI_CA_SIGN, 0, 0, 0, &r), 0);
	assert_int_equal(r.number, 1);
	jpki_ca_close(ca);
	copy_file(db, old); /* closed: the WAL is folded into ca.db */
	assert_int_equal(jpki_ca_open(dir, &ca), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(jpki_ca_publish_crl(ca, JPKI_CA_SIGN, 0, i & 1, 0, &r), 0);
		assert_int_equal(r.number, 2 + i);
	}
	published = file_crl_number(ca, JPKI_CA_SIGN, 1);
	assert_int_equal(published, 5);
	assert_int_equal(file_crl_number(ca, JPKI_CA_SIGN, 0), 4);
	jpki_ca_close(ca);

	copy_file(old, db);
	snprintf(path, sizeof(path), "%s-wal", db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", db);
	unlink(path);
	assert_int_equal(jpki_ca_open(dir, &ca), 0);
	assert_int_equal(jpki_ca_publish_crl(ca, JPKI_CA_SIGN, 0, 0, 0, &r), 0);
	assert_int_equal(r.number, 6);
	assert_int_equal(file_crl_number(ca, JPKI_CA_SIGN, 0), 6);
	/* The delta is relative to that new full CRL and goes on from it. */
	assert_int_equal(jpki_ca_publish_crl(ca, JPKI_CA_SIGN, 0, 1, 0, &r), 0);
	assert_int_equal(r.number, 7);
	assert_int_equal(r.base_number, 6);
	assert_int_equal(file_crl_number(ca, JPKI_CA_SIGN, 1), 7);
	/* The other CA's sequence is untouched; a damaged published file is
	 * replaced, the store's counter then deciding alone. */
	assert_int_equal(jpki_ca_publish_crl(ca, JPKI_CA_AUTH, 0, 0, 0, &r), 0);
	assert_int_equal(r.number, 1);
	assert_int_equal(jpki_ca_crl_path(ca, JPKI_CA_SIGN, 0, 0, path, sizeof(path)), 0);
	assert_int_equal(jpki_file_write_atomic(path, "not a CRL", 9, 0644), 0);
	assert_int_equal(jpki_ca_publish_crl(ca, JPKI_CA_SIGN, 0, 0, 0, &r), 0);
	assert_int_equal(r.number, 8);
	assert_int_equal(file_crl_number(ca, JPKI_CA_SIGN, 0), 8);
	jpki_ca_close(ca);
}

static void
test_partitions(void **state)
{
	char dir[600], url[600];
	jpki_ca_t *ca = new_ca(2, dir, sizeof(dir));
	jpki_issued_t is[5];
	int i, count;

	for (i = 0; i < 5; i++) {
		STACK_OF(DIST_POINT) *dps;
		GENERAL_NAME *g;

		assert_int_equal(issue(ca, JPKI_CA_AUTH, &is[i]), 0);
		assert_int_equal(is[i].partition, i / 2);
		/* The CRLDP names the partition's CRL, and the CRL's IDP says the same. */
		dps = X509_get_ext_d2i(is[i].cert, NID_crl_distribution_points, NULL, NULL);
		assert_non_null(dps);
		g = sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps, 0)->distpoint->name.fullname, 0);
		assert_int_equal(jpki_ca_crl_url(ca, JPKI_CA_AUTH, i / 2, 0, url, sizeof(url)), 0);
		assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier), url);
		CRL_DIST_POINTS_free(dps);
	}
	assert_int_equal(jpki_ca_revoke(ca, JPKI_CA_AUTH, is[3].serial, is[3].serial_len,
	                                JPKI_REASON_KEY_COMPROMISE, 0), 0);
	assert_int_equal(jpki_ca_publish_all(ca, 0, &count), 0);
	/* sign: partition 0 full+delta; auth: 3 partitions, full+delta. */
	assert_int_equal(count, 2 + 6);
	{
		X509_CRL *p0 = load_crl(ca, JPKI_CA_AUTH, 0, 0), *p1 = load_crl(ca, JPKI_CA_AUTH, 1, 0);
		assert_int_equal(entry_reason(p0, &is[3]), -2);
		assert_int_equal(entry_reason(p1, &is[3]), JPKI_REASON_KEY_COMPROMISE);
		X509_CRL_free(p0);
		X509_CRL_free(p1);
	}
	for (i = 0; i < 5; i++)
		jpki_issued_clear(&is[i]);
	jpki_ca_close(ca);
}

static void
test_names(void **state)
{
	int reason;
	uint8_t s[JPKI_SERIAL_MAX];
	size_t n;
	char hex[64];

	assert_int_equal(jpki_reason_parse("keyCompromise", &reason), 0);
	assert_int_equal(reason, 1);
	assert_int_equal(jpki_reason_parse("lost", &reason), JPKI_ERR_INVALID_ARG);
	assert_non_null(strstr(jpki_detail(), "lost"));
	assert_int_equal(jpki_serial_parse("00:7F:01", s, &n), 0);
	assert_int_equal(n, 2);
	jpki_serial_hex(s, n, hex, sizeof(hex));
	assert_string_equal(hex, "7F01");
	assert_int_equal(jpki_serial_parse("abc", s, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(s[0], 0x0a);
	assert_int_equal(jpki_serial_parse("xyz", s, &n), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_serial_parse("00", s, &n), JPKI_ERR_INVALID_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_files_and_no_overwrite),
		cmocka_unit_test(test_issue_validity_and_serials),
		cmocka_unit_test(test_bad_input_changes_nothing),
		cmocka_unit_test(test_issue_der_and_modulus),
		cmocka_unit_test(test_issue_serial_collision),
		cmocka_unit_test(test_status_rules),
		cmocka_unit_test(test_crls_full_and_delta),
		cmocka_unit_test(test_crl_numbers_after_restore),
		cmocka_unit_test(test_partitions),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
