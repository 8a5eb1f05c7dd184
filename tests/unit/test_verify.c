/*
 * The relying party's library (jpki/verify.h): CAdES-BES signatures made by
 * the in-process card (personalized with certificates of a real CA made by
 * jpki_ca_init in a temp dir) round-trip through our verifier and OpenSSL's
 * CMS_verify; a changed document, a wrong anchor, an expired certificate and
 * a revoked one (CRL files the CA published) each give their own code; login
 * responses signed by the card's authentication key verify, and held,
 * released and revoked authentication certificates are told apart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "jpki/ca.h"
#include "jpki/card.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/reader.h"
#include "jpki/token.h"
#include "jpki/verify.h"

#define SIGN_PW "ABC123"
#define AUTH_PIN "1234"
#define ORIGIN "http://127.0.0.1:8443"

static struct {
	char dir[512];
	char ca_dir[600];
	char ca2_dir[600];
	jpki_ca_t *ca;
	X509 *sign_ca, *auth_ca, *other_sign_ca;
	X509 *sign_cert, *auth_cert;   /* the card's */
	jpki_card_t *card;
	jpki_reader_t *rd;
} G;

static const char doc[] = "電子申請: 転入届 / application form v1\n";

/* ---- setup ----------------------------------------------------------------------- */

static X509 *
dup_cert(X509 *x)
{
	X509_up_ref(x);
	return x;
}

static int
personalize(const char *path, EVP_PKEY *issuer)
{
	jpki_person_t person;
	jpki_issue_req_t req;
	jpki_issued_t is;
	EVP_PKEY *pub = NULL;
	uint8_t *der = NULL;
	int k, n;

	memset(&person, 0, sizeof(person));
	person.name = "山田\xE3\x80\x80太郎";
	person.dob.year = 1977;
	person.dob.month = 11;
	person.dob.day = 7;
	person.sex = 1;
	person.address = "東京都千代田区霞が関二丁目1番2号";
	if (jpki_card_load(path, &G.card) != 0 || jpki_reader_open_inproc(G.card, &G.rd) != 0 ||
	    jpki_token_issuer_auth(G.rd, issuer) != 0)
		return -1;
	for (k = 0; k < 2; k++) {
		jpki_pin_kind_t which = k == 0 ? JPKI_PIN_AUTH : JPKI_PIN_SIGN;

		memset(&req, 0, sizeof(req));
		memset(&is, 0, sizeof(is));
		if (jpki_token_generate_key(G.rd, which, &pub) != 0)
			return -1;
		req.kind = k == 0 ? JPKI_CA_AUTH : JPKI_CA_SIGN;
		req.pub = pub;
		req.person = &person;
		req.gen = JPKI_GEN_MYNUMBER;
		if (jpki_ca_issue(G.ca, &req, &is) != 0)
			return -1;
		if (k == 0)
			G.auth_cert = dup_cert(is.cert);
		else
			G.sign_cert = dup_cert(is.cert);
		jpki_issued_clear(&is);
		EVP_PKEY_free(pub);
		pub = NULL;
	}
	for (k = 0; k < 4; k++) {
		X509 *x = k == 0 ? G.auth_cert : k == 1 ? G.sign_cert : k == 2 ? G.auth_ca : G.sign_ca;
		uint16_t fid = k == 0 ? JPKI_EF_AUTH_CERT : k == 1 ? JPKI_EF_SIGN_CERT
		             : k == 2 ? JPKI_EF_AUTH_CA : JPKI_EF_SIGN_CA;
		der = NULL;
		if ((n = i2d_X509(x, &der)) <= 0 || jpki_token_write_cert(G.rd, fid, der, (size_t)n) != 0)
			return -1;
		OPENSSL_free(der);
	}
	if (jpki_token_set_pin(G.rd, JPKI_PIN_AUTH, AUTH_PIN) != 0 ||
	    jpki_token_set_pin(G.rd, JPKI_PIN_SIGN, SIGN_PW) != 0 || jpki_token_select_ap(G.rd) != 0)
		return -1;
	return 0;
}

static int
group_setup(void **state)
{
	const char *tmp = getenv("JPKI_TEST_TMP");
	jpki_ca_init_opts_t o;
	jpki_ca_t *ca2 = NULL;
	EVP_PKEY *issuer = NULL;
	uint8_t *spki = NULL;
	char path[700];
	int n;

	if (tmp == NULL)
		tmp = "/tmp";
	jpki_file_mkdirs(tmp, 0755);
	snprintf(G.dir, sizeof(G.dir), "%s/test_verify.XXXXXX", tmp);
	if (mkdtemp(G.dir) == NULL)
		return -1;
	snprintf(G.ca_dir, sizeof(G.ca_dir), "%s/ca", G.dir);
	snprintf(G.ca2_dir, sizeof(G.ca2_dir), "%s/ca2", G.dir);
	memset(&o, 0, sizeof(o));
	o.test = 1;
	o.partition_size = 1000;
	if (jpki_ca_init(G.ca_dir, &o) != 0 || jpki_ca_init(G.ca2_dir, &o) != 0 ||
	    jpki_ca_open(G.ca_dir, &G.ca) != 0 || jpki_ca_open(G.ca2_dir, &ca2) != 0)
		return -1;
	G.sign_ca = dup_cert(jpki_ca_cert(G.ca, JPKI_CA_SIGN));
	G.auth_ca = dup_cert(jpki_ca_cert(G.ca, JPKI_CA_AUTH));
	G.other_sign_ca = dup_cert(jpki_ca_cert(ca2, JPKI_CA_SIGN));
	jpki_ca_close(ca2);
	if ((issuer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (n = i2d_PUBKEY(issuer, &spki)) <= 0)
		return -1;
	snprintf(path, sizeof(path), "%s/card", G.dir);
	if (jpki_card_create(path, JPKI_CARD_MYNUMBER, spki, (size_t)n) != 0 ||
	    personalize(path, issuer) != 0)
		return -1;
	OPENSSL_free(spki);
	EVP_PKEY_free(issuer);
	return 0;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int
group_teardown(void **state)
{
	jpki_reader_close(G.rd);
	jpki_card_free(G.card);
	jpki_ca_close(G.ca);
	X509_free(G.sign_ca);
	X509_free(G.auth_ca);
	X509_free(G.other_sign_ca);
	X509_free(G.sign_cert);
	X509_free(G.auth_cert);
	return nftw(G.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers ------------------------------------------------------------------------ */

/* The signer callbacks: the card (after its PIN) or a software key. */
struct card_signer {
	jpki_reader_t *rd;
	jpki_pin_kind_t which;
};

static int
card_sign(void *ctx, const uint8_t *di, size_t len, uint8_t *sig, size_t max, size_t *sig_len)
{
	struct card_signer *c = ctx;
	int r;

	assert_true(max >= JPKI_SIG_LEN);
	if ((r = jpki_token_sign(c->rd, c->which, di, len, sig)) != 0)
		return r;
	*sig_len = JPKI_SIG_LEN;
	return 0;
}

static int
soft_sign(void *ctx, const uint8_t *di, size_t len, uint8_t *sig, size_t max, size_t *sig_len)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ctx, NULL);
	size_t n = max;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_sign_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_sign(c, sig, &n, di, len), 1);
	EVP_PKEY_CTX_free(c);
	*sig_len = n;
	return 0;
}

static void
sign_with_card(const uint8_t hash[32], uint8_t **der, size_t *len)
{
	struct card_signer cs = {G.rd, JPKI_PIN_SIGN};

	assert_int_equal(jpki_token_select_ap(G.rd), 0);
	assert_int_equal(jpki_token_verify_pin(G.rd, JPKI_PIN_SIGN, SIGN_PW, NULL), 0);
	assert_int_equal(jpki_cms_sign(hash, G.sign_cert, 0, card_sign, &cs, der, len), 0);
	assert_int_equal(jpki_token_select_ap(G.rd), 0);
}

/* A certificate of kind for a software key (so its status can change without
 * touching the card's). */
static X509 *
issue_soft(jpki_ca_kind_t kind, EVP_PKEY **key)
{
	jpki_person_t person;
	jpki_issue_req_t req;
	jpki_issued_t is;
	X509 *x;

	memset(&person, 0, sizeof(person));
	person.name = "個人\xE3\x80\x80花子";
	person.dob.year = 1990;
	person.dob.month = 2;
	person.dob.day = 3;
	person.sex = 2;
	person.address = "大阪府大阪市北区中之島一丁目3番20号";
	person.alias = "Hanako";
	*key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(*key);
	memset(&req, 0, sizeof(req));
	memset(&is, 0, sizeof(is));
	req.kind = kind;
	req.pub = *key;
	req.person = &person;
	req.gen = JPKI_GEN_MYNUMBER;
	assert_int_equal(jpki_ca_issue(G.ca, &req, &is), 0);
	x = dup_cert(is.cert);
	jpki_issued_clear(&is);
	return x;
}

static void
serial_of(X509 *x, uint8_t *s, size_t *n)
{
	assert_int_equal(jpki_x509_serial(x, s, n), 0);
}

/* Publish full and delta CRLs of partition 0 of kind and load them. */
static STACK_OF(X509_CRL) *
publish(jpki_ca_kind_t kind)
{
	STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
	char path[1024];
	int d;

	assert_non_null(sk);
	for (d = 0; d < 2; d++) {
		uint8_t *b = NULL;
		const uint8_t *p;
		size_t n = 0;
		X509_CRL *crl;

		assert_int_equal(jpki_ca_publish_crl(G.ca, kind, 0, d, 0, NULL), 0);
		assert_int_equal(jpki_ca_crl_path(G.ca, kind, 0, d, path, sizeof(path)), 0);
		assert_int_equal(jpki_file_read(path, 1 << 24, &b, &n), 0);
		p = b;
		crl = d2i_X509_CRL(NULL, &p, (long)n);
		assert_non_null(crl);
		sk_X509_CRL_push(sk, crl);
		free(b);
	}
	return sk;
}

static void
offline_opts(jpki_verify_opts_t *o, X509 *anchor, jpki_ca_kind_t kind, STACK_OF(X509_CRL) *crls)
{
	memset(o, 0, sizeof(*o));
	o->anchor = anchor;
	o->kind = kind;
	o->status.offline = 1;
	o->status.crls = crls;
}

/* ---- CMS ------------------------------------------------------------------------------ */

static void
test_cms_round_trip(void **state)
{
	jpki_verify_opts_t o;
	jpki_verified_t v;
	uint8_t hash[32], *der = NULL;
	size_t len = 0;
	CMS_ContentInfo *cms;
	X509_STORE *st;
	BIO *in;
	const uint8_t *p;

	SHA256((const uint8_t *)doc, strlen(doc), hash);
	sign_with_card(hash, &der, &len);
	memset(&o, 0, sizeof(o));
	o.anchor = G.sign_ca;
	o.kind = JPKI_CA_SIGN;
	o.no_status = 1;
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), 0);
	assert_int_equal(X509_cmp(v.cert, G.sign_cert), 0);
	assert_true(v.has_id);
	assert_string_equal(v.id.name, "山田\xE3\x80\x80太郎");
	assert_string_equal(v.id.dob_code, "319771107");
	assert_int_equal(v.id.dob.year, 1977);
	assert_int_equal(v.id.sex, 1);
	assert_string_equal(v.id.address, "東京都千代田区霞が関二丁目1番2号");
	assert_string_equal(v.id.alias, "");
	assert_true(v.signing_time > 0);
	assert_false(v.status_checked);
	jpki_verified_clear(&v);

	/* OpenSSL's own CMS verifier accepts it (chain to the Signing CA). */
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(cms);
	st = X509_STORE_new();
	X509_STORE_add_cert(st, G.sign_ca);
	in = BIO_new_mem_buf(doc, (int)strlen(doc));
	assert_int_equal(CMS_verify(cms, NULL, st, in, NULL, CMS_BINARY | CMS_CADES), 1);
	BIO_free(in);
	X509_STORE_free(st);
	CMS_ContentInfo_free(cms);
	free(der);
	/* Without the PIN the card refuses and nothing is produced. */
	{
		struct card_signer cs = {G.rd, JPKI_PIN_SIGN};
		der = (uint8_t *)1;
		assert_int_equal(jpki_cms_sign(hash, G.sign_cert, 0, card_sign, &cs, &der, &len),
		                 JPKI_ERR_SECURITY);
		assert_null(der);
	}
}

static void
test_cms_tampered(void **state)
{
	jpki_verify_opts_t o;
	jpki_verified_t v;
	uint8_t hash[32], other[32], *der = NULL, *bad;
	size_t len = 0;

	SHA256((const uint8_t *)doc, strlen(doc), hash);
	SHA256((const uint8_t *)"tampered", 8, other);
	sign_with_card(hash, &der, &len);
	memset(&o, 0, sizeof(o));
	o.anchor = G.sign_ca;
	o.kind = JPKI_CA_SIGN;
	o.no_status = 1;
	assert_int_equal(jpki_cms_verify(der, len, other, &o, &v), JPKI_ERR_VERIFY);
	assert_non_null(strstr(jpki_detail(), "changed after signing"));
	assert_null(v.cert);
	jpki_verified_clear(&v);
	/* A flipped bit in the signature value (the last bytes). */
	bad = malloc(len);
	memcpy(bad, der, len);
	bad[len - 5] ^= 0x01;
	assert_int_equal(jpki_cms_verify(bad, len, hash, &o, &v), JPKI_ERR_VERIFY);
	jpki_verified_clear(&v);
	/* Cut short, or garbage. */
	assert_int_equal(jpki_cms_verify(der, len - 1, hash, &o, &v), JPKI_ERR_FORMAT);
	jpki_verified_clear(&v);
	memset(bad, 0x30, len);
	assert_int_equal(jpki_cms_verify(bad, len, hash, &o, &v), JPKI_ERR_FORMAT);
	jpki_verified_clear(&v);
	free(bad);
	free(der);
}

static void
test_cms_wrong_anchor(void **state)
{
	jpki_verify_opts_t o;
	jpki_verified_t v;
	uint8_t hash[32], *der = NULL;
	size_t len = 0;

	SHA256((const uint8_t *)doc, strlen(doc), hash);
	sign_with_card(hash, &der, &len);
	memset(&o, 0, sizeof(o));
	o.kind = JPKI_CA_SIGN;
	o.no_status = 1;
	/* Another CA of the same name (a second test hierarchy). */
	o.anchor = G.other_sign_ca;
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), JPKI_ERR_UNTRUSTED);
	assert_non_null(v.cert);
	jpki_verified_clear(&v);
	/* The User-Authentication CA. */
	o.anchor = G.auth_ca;
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), JPKI_ERR_UNTRUSTED);
	jpki_verified_clear(&v);
	/* The certificate itself as anchor. */
	o.anchor = G.sign_cert;
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), JPKI_ERR_UNTRUSTED);
	jpki_verified_clear(&v);
	free(der);
}

static void
test_cms_expired(void **state)
{
	jpki_verify_opts_t o;
	jpki_verified_t v;
	uint8_t hash[32], *der = NULL;
	size_t len = 0;
	struct tm tm;

	SHA256((const uint8_t *)doc, strlen(doc), hash);
	sign_with_card(hash, &der, &len);
	memset(&o, 0, sizeof(o));
	o.anchor = G.sign_ca;
	o.kind = JPKI_CA_SIGN;
	o.no_status = 1;
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(G.sign_cert), &tm), 1);
	o.at = timegm(&tm) + 1;
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), JPKI_ERR_EXPIRED);
	assert_non_null(strstr(jpki_detail(), "expired on"));
	jpki_verified_clear(&v);
	o.at = timegm(&tm) - 60;
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), 0);
	jpki_verified_clear(&v);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(G.sign_cert), &tm), 1);
	o.at = timegm(&tm) - 3600;
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), JPKI_ERR_EXPIRED);
	assert_non_null(strstr(jpki_detail(), "not valid before"));
	jpki_verified_clear(&v);
	free(der);
}

static void
test_cms_status_by_crl(void **state)
{
	jpki_verify_opts_t o;
	jpki_verified_t v;
	STACK_OF(X509_CRL) *crls;
	EVP_PKEY *key = NULL;
	X509 *x;
	uint8_t hash[32], *der = NULL, serial[JPKI_SERIAL_MAX];
	size_t len = 0, slen = 0;

	SHA256((const uint8_t *)doc, strlen(doc), hash);
	/* A software-key signature certificate, revoked for key compromise. */
	x = issue_soft(JPKI_CA_SIGN, &key);
	assert_int_equal(jpki_cms_sign(hash, x, 0, soft_sign, key, &der, &len), 0);
	crls = publish(JPKI_CA_SIGN);
	offline_opts(&o, G.sign_ca, JPKI_CA_SIGN, crls);
	if (jpki_cms_verify(der, len, hash, &o, &v) != 0)
		fail_msg("%s", jpki_detail());
	assert_true(v.status_checked);
	assert_int_equal(v.status.state, JPKI_CERT_GOOD);
	assert_int_equal(v.status.source, JPKI_SOURCE_CRL);
	assert_true(v.status.delta_applied);
	assert_string_equal(v.id.alias, "Hanako");
	assert_int_equal(v.id.sex, 2);
	jpki_verified_clear(&v);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);

	serial_of(x, serial, &slen);
	assert_int_equal(jpki_ca_revoke(G.ca, JPKI_CA_SIGN, serial, slen,
	                                JPKI_REASON_KEY_COMPROMISE, 0), 0);
	crls = publish(JPKI_CA_SIGN);
	offline_opts(&o, G.sign_ca, JPKI_CA_SIGN, crls);
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), JPKI_ERR_REVOKED);
	assert_int_equal(v.status.state, JPKI_CERT_REVOKED);
	assert_int_equal(v.status.reason, JPKI_REASON_KEY_COMPROMISE);
	assert_true(v.status.since > 0);
	assert_int_equal(X509_cmp(v.cert, x), 0);
	jpki_verified_clear(&v);
	/* The card's certificate in the same CRLs is good. */
	free(der);
	der = NULL;
	sign_with_card(hash, &der, &len);
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), 0);
	jpki_verified_clear(&v);
	/* Only the full CRL at hand, offline: its FreshestCRL names a delta that
	 * cannot be fetched, so the status is unavailable. */
	X509_CRL_free(sk_X509_CRL_pop(crls));
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), JPKI_ERR_NET);
	assert_non_null(strstr(jpki_detail(), "delta"));
	jpki_verified_clear(&v);
	/* No CRL at all. */
	offline_opts(&o, G.sign_ca, JPKI_CA_SIGN, NULL);
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), JPKI_ERR_NET);
	jpki_verified_clear(&v);
	/* CRLs of the other CA are not believed. */
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	crls = publish(JPKI_CA_AUTH);
	offline_opts(&o, G.sign_ca, JPKI_CA_SIGN, crls);
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), JPKI_ERR_NET);
	jpki_verified_clear(&v);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	/* A stale CRL: a week after its nextUpdate. */
	crls = publish(JPKI_CA_SIGN);
	offline_opts(&o, G.sign_ca, JPKI_CA_SIGN, crls);
	{
		struct tm tm;
		assert_int_equal(ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(sk_X509_CRL_value(crls, 0)),
		                                 &tm), 1);
		o.at = timegm(&tm) + 7 * 86400;
	}
	assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), JPKI_ERR_NET);
	assert_non_null(strstr(jpki_detail(), "stale"));
	jpki_verified_clear(&v);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	/* A CRL at hand is checked once and remembered; one whose signature was
	 * changed is refused, even parsed where a remembered one lay. */
	{
		char path[1024];
		uint8_t *b = NULL;
		const uint8_t *p;
		size_t n = 0;
		X509_CRL *good, *bad;
		const void *was;
		int i, again = 0;

		crls = publish(JPKI_CA_SIGN);
		offline_opts(&o, G.sign_ca, JPKI_CA_SIGN, crls);
		for (i = 0; i < 3; i++) {
			assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), 0);
			jpki_verified_clear(&v);
		}
		assert_int_equal(jpki_ca_crl_path(G.ca, JPKI_CA_SIGN, 0, 0, path, sizeof(path)), 0);
		assert_int_equal(jpki_file_read(path, 1 << 24, &b, &n), 0);
		b[n - 1] ^= 0x01; /* the signature's last byte */
		good = sk_X509_CRL_shift(crls);
		was = good;
		X509_CRL_free(good);
		for (i = 0; i < 8 && !again; i++) {
			p = b;
			bad = d2i_X509_CRL(NULL, &p, (long)n);
			assert_non_null(bad);
			again = (const void *)bad == was;
			assert_true(sk_X509_CRL_unshift(crls, bad) > 0);
			assert_int_equal(jpki_cms_verify(der, len, hash, &o, &v), JPKI_ERR_NET);
			assert_non_null(strstr(jpki_detail(), "signature is not the CA's"));
			jpki_verified_clear(&v);
		}
		free(b);
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
	}
	free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* ---- login ------------------------------------------------------------------------------ */

static void
login_sign_card(const uint8_t ch[32], const char *origin, uint8_t sig[JPKI_SIG_LEN])
{
	uint8_t h[32], di[JPKI_DIGESTINFO_SHA256_LEN];

	assert_int_equal(jpki_login_digest(ch, origin, h), 0);
	jpki_token_digestinfo_sha256(h, di);
	assert_int_equal(jpki_token_select_ap(G.rd), 0);
	assert_int_equal(jpki_token_verify_pin(G.rd, JPKI_PIN_AUTH, AUTH_PIN, NULL), 0);
	assert_int_equal(jpki_token_sign(G.rd, JPKI_PIN_AUTH, di, sizeof(di), sig), 0);
	assert_int_equal(jpki_token_select_ap(G.rd), 0);
}

static void
test_login_good(void **state)
{
	jpki_login_table_t *t = NULL;
	jpki_verify_opts_t o;
	jpki_verified_t v;
	STACK_OF(X509_CRL) *crls;
	char id[JPKI_LOGIN_ID_LEN + 1];
	uint8_t ch[32], ch2[32], sig[JPKI_SIG_LEN], *cert = NULL;
	time_t exp = 0, now = 1000000;
	int n;

	assert_int_equal(jpki_login_table_new(4, 60, &t), 0);
	assert_int_equal(jpki_login_table_issue(t, now, id, ch, &exp), 0);
	assert_int_equal(exp, now + 60);
	assert_int_equal(strlen(id), JPKI_LOGIN_ID_LEN);
	login_sign_card(ch, ORIGIN, sig);
	assert_int_equal(jpki_login_table_take(t, id, now + 5, ch2), 0);
	assert_memory_equal(ch, ch2, 32);
	/* Used once. */
	assert_int_equal(jpki_login_table_take(t, id, now + 6, ch2), JPKI_ERR_NOT_FOUND);

	n = i2d_X509(G.auth_cert, &cert);
	assert_true(n > 0);
	crls = publish(JPKI_CA_AUTH);
	offline_opts(&o, G.auth_ca, JPKI_CA_AUTH, crls);
	assert_int_equal(jpki_login_verify(ch, ORIGIN, cert, (size_t)n, sig, sizeof(sig), &o, &v), 0);
	assert_int_equal(v.status.state, JPKI_CERT_GOOD);
	assert_false(v.has_id);   /* no personal data in an authentication certificate */
	jpki_verified_clear(&v);
	/* Another origin, another challenge, a changed signature. */
	assert_int_equal(jpki_login_verify(ch, "http://127.0.0.1:8444", cert, (size_t)n, sig,
	                                   sizeof(sig), &o, &v), JPKI_ERR_VERIFY);
	jpki_verified_clear(&v);
	ch2[0] ^= 1;
	assert_int_equal(jpki_login_verify(ch2, ORIGIN, cert, (size_t)n, sig, sizeof(sig), &o, &v),
	                 JPKI_ERR_VERIFY);
	jpki_verified_clear(&v);
	/* The Signing CA is not the anchor for logins. */
	o.anchor = G.sign_ca;
	assert_int_equal(jpki_login_verify(ch, ORIGIN, cert, (size_t)n, sig, sizeof(sig), &o, &v),
	                 JPKI_ERR_UNTRUSTED);
	jpki_verified_clear(&v);
	/* Garbage certificate. */
	assert_int_equal(jpki_login_verify(ch, ORIGIN, sig, sizeof(sig), sig, sizeof(sig), &o, &v),
	                 JPKI_ERR_FORMAT);
	jpki_verified_clear(&v);
	/* Challenges expire. */
	assert_int_equal(jpki_login_table_issue(t, now, id, ch, &exp), 0);
	assert_int_equal(jpki_login_table_take(t, id, now + 61, ch2), JPKI_ERR_NOT_FOUND);
	assert_non_null(strstr(jpki_detail(), "expired"));
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	OPENSSL_free(cert);
	jpki_login_table_free(t);
}

static void
test_login_held_released_revoked(void **state)
{
	jpki_verify_opts_t o;
	jpki_verified_t v;
	STACK_OF(X509_CRL) *crls;
	EVP_PKEY *key = NULL;
	X509 *x;
	uint8_t ch[32], h[32], di[51], sig[512], *cert = NULL, serial[JPKI_SERIAL_MAX];
	size_t siglen = 0, slen = 0;
	int n;

	x = issue_soft(JPKI_CA_AUTH, &key);
	n = i2d_X509(x, &cert);
	assert_true(n > 0);
	memset(ch, 7, sizeof(ch));
	assert_int_equal(jpki_login_digest(ch, ORIGIN, h), 0);
	jpki_token_digestinfo_sha256(h, di);
	assert_int_equal(soft_sign(key, di, sizeof(di), sig, sizeof(sig), &siglen), 0);
	serial_of(x, serial, &slen);

	/* On hold: the full CRL already lists it. */
	assert_int_equal(jpki_ca_hold(G.ca, JPKI_CA_AUTH, serial, slen, 0), 0);
	crls = publish(JPKI_CA_AUTH);
	offline_opts(&o, G.auth_ca, JPKI_CA_AUTH, crls);
	assert_int_equal(jpki_login_verify(ch, ORIGIN, cert, (size_t)n, sig, siglen, &o, &v),
	                 JPKI_ERR_HOLD);
	assert_int_equal(v.status.state, JPKI_CERT_HOLD);
	assert_int_equal(v.status.reason, JPKI_REASON_CERTIFICATE_HOLD);
	jpki_verified_clear(&v);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);

	/* Released at the window: only a delta CRL (removeFromCRL) says so yet. */
	assert_int_equal(jpki_ca_release(G.ca, JPKI_CA_AUTH, serial, slen, 0), 0);
	{
		STACK_OF(X509_CRL) *old = NULL;
		char path[1024];
		uint8_t *b = NULL;
		const uint8_t *p;
		size_t bl = 0;

		/* The full CRL of before (listing the hold) and a new delta. */
		assert_int_equal(jpki_ca_crl_path(G.ca, JPKI_CA_AUTH, 0, 0, path, sizeof(path)), 0);
		assert_int_equal(jpki_file_read(path, 1 << 24, &b, &bl), 0);
		old = sk_X509_CRL_new_null();
		p = b;
		sk_X509_CRL_push(old, d2i_X509_CRL(NULL, &p, (long)bl));
		free(b);
		assert_int_equal(jpki_ca_publish_crl(G.ca, JPKI_CA_AUTH, 0, 1, 0, NULL), 0);
		assert_int_equal(jpki_ca_crl_path(G.ca, JPKI_CA_AUTH, 0, 1, path, sizeof(path)), 0);
		assert_int_equal(jpki_file_read(path, 1 << 24, &b, &bl), 0);
		p = b;
		sk_X509_CRL_push(old, d2i_X509_CRL(NULL, &p, (long)bl));
		free(b);
		assert_non_null(sk_X509_CRL_value(old, 0));
		assert_non_null(sk_X509_CRL_value(old, 1));
		offline_opts(&o, G.auth_ca, JPKI_CA_AUTH, old);
		assert_int_equal(jpki_login_verify(ch, ORIGIN, cert, (size_t)n, sig, siglen, &o, &v), 0);
		assert_int_equal(v.status.state, JPKI_CERT_GOOD);
		assert_true(v.status.delta_applied);
		jpki_verified_clear(&v);
		sk_X509_CRL_pop_free(old, X509_CRL_free);
	}

	/* Revoked. */
	assert_int_equal(jpki_ca_revoke(G.ca, JPKI_CA_AUTH, serial, slen, JPKI_REASON_CESSATION, 0),
	                 0);
	crls = publish(JPKI_CA_AUTH);
	offline_opts(&o, G.auth_ca, JPKI_CA_AUTH, crls);
	assert_int_equal(jpki_login_verify(ch, ORIGIN, cert, (size_t)n, sig, siglen, &o, &v),
	                 JPKI_ERR_REVOKED);
	assert_int_equal(v.status.reason, JPKI_REASON_CESSATION);
	jpki_verified_clear(&v);
	/* Status of the card's own certificate is unaffected. */
	assert_int_equal(jpki_status_check(G.auth_cert, G.auth_ca, &o.status, &v.status), 0);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	OPENSSL_free(cert);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void
test_login_origin(void **state)
{
	char o[JPKI_LOGIN_ORIGIN_MAX];

	assert_int_equal(jpki_login_origin("HTTP://Example.JP:80/login?x", o, sizeof(o)), 0);
	assert_string_equal(o, "http://example.jp");
	assert_int_equal(jpki_login_origin("https://example.jp:443", o, sizeof(o)), 0);
	assert_string_equal(o, "https://example.jp");
	assert_int_equal(jpki_login_origin("http://127.0.0.1:8443/", o, sizeof(o)), 0);
	assert_string_equal(o, "http://127.0.0.1:8443");
	assert_int_equal(jpki_login_origin("http://[::1]:9000/x", o, sizeof(o)), 0);
	assert_string_equal(o, "http://[::1]:9000");
	assert_int_equal(jpki_login_origin("ftp://example.jp", o, sizeof(o)), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_login_origin("http://user@example.jp", o, sizeof(o)),
	                 JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_login_origin("http://example.jp:99999", o, sizeof(o)),
	                 JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_login_origin("http://:80", o, sizeof(o)), JPKI_ERR_INVALID_ARG);
}

static void
test_identity_and_chain(void **state)
{
	jpki_identity_t id;

	assert_int_equal(jpki_identity_from_cert(G.auth_cert, &id), JPKI_ERR_NOT_FOUND);
	assert_int_equal(jpki_identity_from_cert(G.sign_cert, &id), 0);
	assert_true(id.has_dob);
	assert_string_equal(jpki_sex_name(id.sex, 0), "male");
	assert_int_equal(jpki_verify_chain(G.sign_cert, G.sign_ca, JPKI_CA_SIGN, 0), 0);
	assert_int_equal(jpki_verify_chain(G.auth_cert, G.auth_ca, JPKI_CA_AUTH, 0), 0);
	/* An authentication certificate is not for signing applications. */
	assert_int_equal(jpki_verify_chain(G.auth_cert, G.auth_ca, JPKI_CA_SIGN, 0),
	                 JPKI_ERR_UNTRUSTED);
	assert_int_equal(jpki_verify_chain(G.auth_cert, G.sign_ca, JPKI_CA_AUTH, 0),
	                 JPKI_ERR_UNTRUSTED);
}

static void
test_http_refuses(void **state)
{
	jpki_http_req_t q;
	uint8_t *b = NULL;
	size_t n = 0;
	long st = 0;

	memset(&q, 0, sizeof(q));
	q.url = "file:///etc/hostname";
	q.max = 1024;
	assert_int_equal(jpki_http_fetch(&q, &st, &b, &n), JPKI_ERR_INVALID_ARG);
	q.allow_file = 1;
	q.url = "file:///etc/passwd";
	q.max = 4;
	assert_int_equal(jpki_http_fetch(&q, &st, &b, &n), JPKI_ERR_TOO_LARGE);
	assert_null(b);
	q.url = "http://127.0.0.1:1/";
	q.max = 1024;
	q.timeout_ms = 2000;
	assert_int_equal(jpki_http_fetch(&q, &st, &b, &n), JPKI_ERR_NET);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_and_chain),
		cmocka_unit_test(test_cms_round_trip),
		cmocka_unit_test(test_cms_tampered),
		cmocka_unit_test(test_cms_wrong_anchor),
		cmocka_unit_test(test_cms_expired),
		cmocka_unit_test(test_cms_status_by_crl),
		cmocka_unit_test(test_login_good),
		cmocka_unit_test(test_login_held_released_revoked),
		cmocka_unit_test(test_login_origin),
		cmocka_unit_test(test_http_refuses),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
