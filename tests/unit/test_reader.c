/*
 * The token client (jpki/token.h) over the in-process transport against the
 * real applet: a card personalized through the issuer operations with
 * certificates from a real CA (jpki_ca_init in a temp dir); then reading the
 * certificates, PIN status without spending, counting down, blocking,
 * changing, signing with both keys (verified by OpenSSL).  Fake transports
 * (reader_int.h) give the answers a real card would not: no JPKI AP, lying
 * length headers, short EFs.  Without pcscd, the PC/SC calls say NO_READER.
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

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "jpki/ca.h"
#include "jpki/card.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/reader.h"
#include "jpki/token.h"
#include "reader/reader_int.h"

#define SIGN_PW "ABC123"
#define AUTH_PIN "1234"

static struct {
	char dir[512];
	char ca_dir[600];
	EVP_PKEY *issuer;
	uint8_t *tmpl;               /* the personalized card file image */
	size_t tmpl_len;
	uint8_t *der[4];             /* what the CA issued, by index below */
	size_t der_len[4];
	int counter;
} G;

enum { I_AUTH = 0, I_AUTH_CA, I_SIGN, I_SIGN_CA };
static const uint16_t fids[4] = {JPKI_EF_AUTH_CERT, JPKI_EF_AUTH_CA, JPKI_EF_SIGN_CERT,
                                 JPKI_EF_SIGN_CA};

/* A card (and its in-process reader) fresh from the template. */
struct fix {
	jpki_card_t *card;
	jpki_reader_t *rd;
	char path[600];
};

static void
x509_der(X509 *x, uint8_t **der, size_t *len)
{
	uint8_t *p = NULL;
	int n = i2d_X509(x, &p);

	assert_true(n > 0);
	*der = malloc((size_t)n);
	assert_non_null(*der);
	memcpy(*der, p, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(p);
}

static void
put_cert(jpki_reader_t *rd, uint16_t fid, const uint8_t *der, size_t len)
{
	assert_int_equal(jpki_token_write_cert(rd, fid, der, len), 0);
}

/* Personalize a blank card through the issuer client, as jpki-card does. */
static int
personalize(const char *path)
{
	jpki_card_t *card = NULL;
	jpki_reader_t *rd = NULL;
	jpki_ca_t *ca = NULL;
	EVP_PKEY *pub = NULL;
	jpki_person_t person;
	jpki_issue_req_t req;
	jpki_issued_t is;
	int k;

	memset(&person, 0, sizeof(person));
	memset(&req, 0, sizeof(req));
	person.name = "山田\xE3\x80\x80太郎";
	person.dob.year = 1977;
	person.dob.month = 11;
	person.dob.day = 7;
	person.sex = 1;
	person.address = "東京都千代田区霞が関二丁目1番2号";
	assert_int_equal(jpki_ca_open(G.ca_dir, &ca), 0);
	assert_int_equal(jpki_card_load(path, &card), 0);
	assert_int_equal(jpki_reader_open_inproc(card, &rd), 0);
	assert_string_equal(jpki_reader_name(rd), "in-process");
	/* Without issuer authentication, issuer operations are refused. */
	assert_int_equal(jpki_token_select_ap(rd), 0);
	assert_int_equal(jpki_token_generate_key(rd, JPKI_PIN_AUTH, &pub), JPKI_ERR_SECURITY);
	assert_null(pub);
	assert_int_equal(jpki_token_issuer_auth(rd, G.issuer), 0);
	for (k = 0; k < 2; k++) {
		jpki_pin_kind_t which = k == 0 ? JPKI_PIN_AUTH : JPKI_PIN_SIGN;
		EVP_PKEY *again = NULL;

		memset(&is, 0, sizeof(is));
		assert_int_equal(jpki_token_generate_key(rd, which, &pub), 0);
		assert_int_equal(EVP_PKEY_get_bits(pub), 2048);
		/* READ PUBLIC KEY gives the same key. */
		assert_int_equal(jpki_token_read_pubkey(rd, which, &again), 0);
		assert_int_equal(EVP_PKEY_eq(pub, again), 1);
		EVP_PKEY_free(again);
		req.kind = k == 0 ? JPKI_CA_AUTH : JPKI_CA_SIGN;
		req.pub = pub;
		req.person = &person;
		req.gen = JPKI_GEN_MYNUMBER;
		assert_int_equal(jpki_ca_issue(ca, &req, &is), 0);
		x509_der(is.cert, &G.der[k == 0 ? I_AUTH : I_SIGN], &G.der_len[k == 0 ? I_AUTH : I_SIGN]);
		jpki_issued_clear(&is);
		EVP_PKEY_free(pub);
		pub = NULL;
	}
	x509_der(jpki_ca_cert(ca, JPKI_CA_AUTH), &G.der[I_AUTH_CA], &G.der_len[I_AUTH_CA]);
	x509_der(jpki_ca_cert(ca, JPKI_CA_SIGN), &G.der[I_SIGN_CA], &G.der_len[I_SIGN_CA]);
	for (k = 0; k < 4; k++)
		put_cert(rd, fids[k], G.der[k], G.der_len[k]);
	assert_int_equal(jpki_token_set_pin(rd, JPKI_PIN_AUTH, AUTH_PIN), 0);
	assert_int_equal(jpki_token_set_pin(rd, JPKI_PIN_SIGN, SIGN_PW), 0);
	jpki_reader_close(rd);
	jpki_card_free(card);
	jpki_ca_close(ca);
	return 0;
}

static int
group_setup(void **state)
{
	const char *tmp = getenv("JPKI_TEST_TMP");
	jpki_ca_init_opts_t o;
	char path[700];
	uint8_t *spki = NULL;
	int n;

	if (tmp == NULL)
		tmp = "/tmp";
	jpki_file_mkdirs(tmp, 0755);
	snprintf(G.dir, sizeof(G.dir), "%s/test_reader.XXXXXX", tmp);
	if (mkdtemp(G.dir) == NULL)
		return -1;
	snprintf(G.ca_dir, sizeof(G.ca_dir), "%s/ca", G.dir);
	memset(&o, 0, sizeof(o));
	o.test = 1;
	if (jpki_ca_init(G.ca_dir, &o) != 0)
		return -1;
	if ((G.issuer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (n = i2d_PUBKEY(G.issuer, &spki)) <= 0)
		return -1;
	snprintf(path, sizeof(path), "%s/template.card", G.dir);
	if (jpki_card_create(path, JPKI_CARD_MYNUMBER, spki, (size_t)n) != 0)
		return -1;
	OPENSSL_free(spki);
	if (personalize(path) != 0)
		return -1;
	return jpki_file_read(path, 1 << 20, &G.tmpl, &G.tmpl_len) == 0 ? 0 : -1;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int
group_teardown(void **state)
{
	int k;

	for (k = 0; k < 4; k++)
		free(G.der[k]);
	free(G.tmpl);
	EVP_PKEY_free(G.issuer);
	return nftw(G.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
fix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/card-%d", G.dir, ++G.counter);
	if (jpki_file_write_new(f->path, G.tmpl, G.tmpl_len, 0600) != 0 ||
	    jpki_card_load(f->path, &f->card) != 0 ||
	    jpki_reader_open_inproc(f->card, &f->rd) != 0 || jpki_token_select_ap(f->rd) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
fix_teardown(void **state)
{
	struct fix *f = *state;

	jpki_reader_close(f->rd);
	jpki_card_free(f->card);
	unlink(f->path);
	free(f);
	return 0;
}

static int
tries(jpki_reader_t *rd, jpki_pin_kind_t which)
{
	int t = -1;

	assert_int_equal(jpki_token_pin_status(rd, which, &t), 0);
	return t;
}

/* ---- tests --------------------------------------------------------------------- */

static void
test_label(void **state)
{
	struct fix *f = *state;
	char label[JPKI_TOKEN_LABEL_MAX];
	jpki_card_kind_t kind = JPKI_CARD_2004;

	assert_int_equal(jpki_token_label(f->rd, label, &kind), 0);
	assert_string_equal(label, "JPKIAPICCTOKEN2");
	assert_int_equal(kind, JPKI_CARD_MYNUMBER);
}

static void
test_read_certificates(void **state)
{
	struct fix *f = *state;
	uint8_t *der = NULL;
	size_t len = 77;
	X509 *x = NULL;
	int k;

	/* The signature certificate only after the signing password. */
	assert_int_equal(jpki_token_read_cert(f->rd, JPKI_EF_SIGN_CERT, &der, &len),
	                 JPKI_ERR_SECURITY);
	assert_null(der);
	assert_int_equal(len, 0);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_SIGN, SIGN_PW, NULL), 0);
	for (k = 0; k < 4; k++) {
		assert_int_equal(jpki_token_read_cert(f->rd, fids[k], &der, &len), 0);
		assert_int_equal(len, G.der_len[k]);
		assert_memory_equal(der, G.der[k], len);
		free(der);
		der = NULL;
	}
	assert_int_equal(jpki_token_read_x509(f->rd, JPKI_EF_AUTH_CERT, &x), 0);
	assert_non_null(x);
	X509_free(x);
	/* Not a certificate EF. */
	assert_int_equal(jpki_token_read_cert(f->rd, JPKI_EF_AUTH_KEY, &der, &len),
	                 JPKI_ERR_SECURITY);
	assert_int_equal(jpki_token_read_cert(f->rd, 0x1234, &der, &len), JPKI_ERR_NOT_FOUND);
	assert_non_null(strstr(jpki_detail(), "EF 1234"));
	/* Re-selecting the AP is the logout. */
	assert_int_equal(jpki_token_select_ap(f->rd), 0);
	assert_int_equal(jpki_token_read_cert(f->rd, JPKI_EF_SIGN_CERT, &der, &len),
	                 JPKI_ERR_SECURITY);
}

static void
test_pin_status_spends_nothing(void **state)
{
	struct fix *f = *state;
	int i;

	for (i = 0; i < 10; i++) {
		assert_int_equal(tries(f->rd, JPKI_PIN_AUTH), JPKI_AUTH_PIN_TRIES);
		assert_int_equal(tries(f->rd, JPKI_PIN_SIGN), JPKI_SIGN_PIN_TRIES);
	}
	/* A PIN of the wrong format is refused before the card sees it. */
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, "12a4", NULL),
	                 JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, "12345", NULL),
	                 JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_SIGN, "AB-123", NULL),
	                 JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_SIGN, "A1", NULL),
	                 JPKI_ERR_PIN_FORMAT);
	assert_int_equal(tries(f->rd, JPKI_PIN_AUTH), JPKI_AUTH_PIN_TRIES);
	assert_int_equal(tries(f->rd, JPKI_PIN_SIGN), JPKI_SIGN_PIN_TRIES);
}

static void
test_wrong_pin_counts_down(void **state)
{
	struct fix *f = *state;
	int left = -1, i;

	/* Auth PIN: 3 tries, then blocked; the right PIN no longer helps. */
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, "0000", &left),
	                 JPKI_ERR_PIN_WRONG);
	assert_int_equal(left, 2);
	assert_non_null(strstr(jpki_detail(), "2 tries left"));
	assert_int_equal(tries(f->rd, JPKI_PIN_AUTH), 2);
	/* A right try resets the count (L9). */
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, AUTH_PIN, &left), 0);
	assert_int_equal(tries(f->rd, JPKI_PIN_AUTH), 3);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, "0000", &left),
	                 JPKI_ERR_PIN_WRONG);
	assert_int_equal(left, 2);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, "0001", &left),
	                 JPKI_ERR_PIN_WRONG);
	assert_int_equal(left, 1);
	/* The last try: 63C0, blocked. */
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, "0002", &left),
	                 JPKI_ERR_PIN_BLOCKED);
	assert_int_equal(left, 0);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, AUTH_PIN, &left),
	                 JPKI_ERR_PIN_BLOCKED);
	assert_non_null(strstr(jpki_detail(), "blocked"));
	assert_int_equal(tries(f->rd, JPKI_PIN_AUTH), 0);
	/* The signing password is not affected, and has 5 tries. */
	assert_int_equal(tries(f->rd, JPKI_PIN_SIGN), 5);
	for (i = 4; i >= 1; i--) {
		assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_SIGN, "WRONG1", &left),
		                 JPKI_ERR_PIN_WRONG);
		assert_int_equal(left, i);
	}
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_SIGN, "WRONG1", &left),
	                 JPKI_ERR_PIN_BLOCKED);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_SIGN, SIGN_PW, &left),
	                 JPKI_ERR_PIN_BLOCKED);
	assert_int_equal(tries(f->rd, JPKI_PIN_SIGN), 0);
	/* The window unblocks: issuer RESET RETRY COUNTER. */
	assert_int_equal(jpki_token_reset_counter(f->rd, JPKI_PIN_AUTH), JPKI_ERR_SECURITY);
	assert_int_equal(jpki_token_issuer_auth(f->rd, G.issuer), 0);
	assert_int_equal(jpki_token_reset_counter(f->rd, JPKI_PIN_AUTH), 0);
	assert_int_equal(jpki_token_set_pin(f->rd, JPKI_PIN_SIGN, "NEW777"), 0);
	assert_int_equal(tries(f->rd, JPKI_PIN_AUTH), 3);
	assert_int_equal(tries(f->rd, JPKI_PIN_SIGN), 5);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, AUTH_PIN, NULL), 0);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_SIGN, "new777", NULL), 0);
}

static void
test_change_pin(void **state)
{
	struct fix *f = *state;
	int left = -1;

	/* A bad new value is refused before any try is spent. */
	assert_int_equal(jpki_token_change_pin(f->rd, JPKI_PIN_AUTH, AUTH_PIN, "12345", &left),
	                 JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_token_change_pin(f->rd, JPKI_PIN_SIGN, SIGN_PW, "ABCDEFG", &left),
	                 JPKI_ERR_PIN_FORMAT);   /* letters only: L9 wants them mixed */
	assert_int_equal(tries(f->rd, JPKI_PIN_SIGN), 5);
	/* A wrong old value counts. */
	assert_int_equal(jpki_token_change_pin(f->rd, JPKI_PIN_AUTH, "9999", "5678", &left),
	                 JPKI_ERR_PIN_WRONG);
	assert_int_equal(left, 2);
	assert_int_equal(jpki_token_change_pin(f->rd, JPKI_PIN_AUTH, AUTH_PIN, "5678", &left), 0);
	assert_int_equal(jpki_token_select_ap(f->rd), 0);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, AUTH_PIN, &left),
	                 JPKI_ERR_PIN_WRONG);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, "5678", &left), 0);
	assert_int_equal(tries(f->rd, JPKI_PIN_AUTH), 3);
	/* The signing password, lower case taken as upper case. */
	assert_int_equal(jpki_token_change_pin(f->rd, JPKI_PIN_SIGN, "abc123", "xyz789q", &left), 0);
	assert_int_equal(jpki_token_select_ap(f->rd), 0);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_SIGN, "XYZ789Q", &left), 0);
	/* The change was saved in the card file. */
	jpki_reader_close(f->rd);
	jpki_card_free(f->card);
	f->rd = NULL;
	f->card = NULL;
	assert_int_equal(jpki_card_load(f->path, &f->card), 0);
	assert_int_equal(jpki_reader_open_inproc(f->card, &f->rd), 0);
	assert_int_equal(jpki_token_select_ap(f->rd), 0);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, "5678", &left), 0);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_SIGN, "xyz789Q", &left), 0);
}

static X509 *
der_x509(int k)
{
	const uint8_t *p = G.der[k];
	X509 *x = d2i_X509(NULL, &p, (long)G.der_len[k]);

	assert_non_null(x);
	return x;
}

static void
check_sig(X509 *cert, const uint8_t *data, size_t len, const uint8_t *sig)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();

	assert_non_null(m);
	assert_int_equal(EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)),
	                 1);
	assert_int_equal(EVP_DigestVerify(m, sig, JPKI_SIG_LEN, data, len), 1);
	EVP_MD_CTX_free(m);
}

static void
test_sign_both_keys(void **state)
{
	struct fix *f = *state;
	static const char msg[] = "申請書: 転入届 (L13)";
	uint8_t hash[32], di[JPKI_DIGESTINFO_SHA256_LEN], sig[JPKI_SIG_LEN], sig2[JPKI_SIG_LEN];
	X509 *auth = der_x509(I_AUTH), *sign = der_x509(I_SIGN);

	SHA256((const uint8_t *)msg, sizeof(msg) - 1, hash);
	jpki_token_digestinfo_sha256(hash, di);
	/* Not before the PIN. */
	assert_int_equal(jpki_token_sign(f->rd, JPKI_PIN_AUTH, di, sizeof(di), sig),
	                 JPKI_ERR_SECURITY);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_AUTH, AUTH_PIN, NULL), 0);
	/* The auth PIN opens only the auth key. */
	assert_int_equal(jpki_token_sign(f->rd, JPKI_PIN_SIGN, di, sizeof(di), sig),
	                 JPKI_ERR_SECURITY);
	assert_int_equal(jpki_token_sign(f->rd, JPKI_PIN_AUTH, di, sizeof(di), sig), 0);
	check_sig(auth, (const uint8_t *)msg, sizeof(msg) - 1, sig);
	assert_int_equal(jpki_token_verify_pin(f->rd, JPKI_PIN_SIGN, SIGN_PW, NULL), 0);
	assert_int_equal(jpki_token_sign(f->rd, JPKI_PIN_SIGN, di, sizeof(di), sig2), 0);
	check_sig(sign, (const uint8_t *)msg, sizeof(msg) - 1, sig2);
	/* Different keys, different signatures; PKCS#1 v1.5 is deterministic. */
	assert_memory_not_equal(sig, sig2, JPKI_SIG_LEN);
	assert_int_equal(jpki_token_sign(f->rd, JPKI_PIN_SIGN, di, sizeof(di), sig), 0);
	assert_memory_equal(sig, sig2, JPKI_SIG_LEN);
	/* Too long for PKCS#1 padding in 256 bytes: refused before sending. */
	assert_int_equal(jpki_token_sign(f->rd, JPKI_PIN_SIGN, sig, 246, sig2),
	                 JPKI_ERR_INVALID_ARG);
	/* A reset logs out. */
	assert_int_equal(jpki_reader_reset(f->rd), 0);
	assert_int_equal(jpki_token_select_ap(f->rd), 0);
	assert_int_equal(jpki_token_sign(f->rd, JPKI_PIN_SIGN, di, sizeof(di), sig),
	                 JPKI_ERR_SECURITY);
	X509_free(auth);
	X509_free(sign);
}

static void
test_issuer_ops(void **state)
{
	struct fix *f = *state;
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *pub = NULL;
	EVP_PKEY *rsa = NULL;
	X509 *auth = der_x509(I_AUTH);
	uint8_t big[JPKI_CARD_EF_MAX + 1], *der = NULL;
	size_t len = 0;

	assert_non_null(other);
	/* Another issuer's key: refused (6300). */
	assert_int_equal(jpki_token_issuer_auth(f->rd, other), JPKI_ERR_AUTH);
	assert_int_equal(jpki_token_read_pubkey(f->rd, JPKI_PIN_AUTH, &pub), JPKI_ERR_SECURITY);
	/* Not an EC key at all. */
	rsa = X509_get_pubkey(auth);
	assert_int_equal(jpki_token_issuer_auth(f->rd, rsa), JPKI_ERR_INVALID_ARG);
	/* The right one: the card's public key is the certificate's. */
	assert_int_equal(jpki_token_issuer_auth(f->rd, G.issuer), 0);
	assert_int_equal(jpki_token_read_pubkey(f->rd, JPKI_PIN_AUTH, &pub), 0);
	assert_int_equal(EVP_PKEY_eq(pub, X509_get0_pubkey(auth)), 1);
	EVP_PKEY_free(pub);
	pub = NULL;
	/* New PINs follow L9. */
	assert_int_equal(jpki_token_set_pin(f->rd, JPKI_PIN_AUTH, "123"), JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_token_set_pin(f->rd, JPKI_PIN_SIGN, "123456"), JPKI_ERR_PIN_FORMAT);
	/* Writes: bounded, chunked, read back whole. */
	memset(big, 0xA5, sizeof(big));
	big[0] = 0x30;
	big[1] = 0x82;
	big[2] = (JPKI_CARD_EF_MAX - 4) >> 8;
	big[3] = (JPKI_CARD_EF_MAX - 4) & 0xFF;
	assert_int_equal(jpki_token_write_cert(f->rd, JPKI_EF_AUTH_CA, big, sizeof(big)),
	                 JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_token_write_cert(f->rd, JPKI_EF_AUTH_CA, big, JPKI_CARD_EF_MAX), 0);
	assert_int_equal(jpki_token_read_cert(f->rd, JPKI_EF_AUTH_CA, &der, &len), 0);
	assert_int_equal(len, JPKI_CARD_EF_MAX);
	assert_memory_equal(der, big, len);
	free(der);
	der = NULL;
	/* ... but it is no certificate. */
	X509 *x = (X509 *)1;
	assert_int_equal(jpki_token_read_x509(f->rd, JPKI_EF_AUTH_CA, &x), JPKI_ERR_FORMAT);
	assert_null(x);
	/* A shorter write replaces the longer content entirely (ERASE first). */
	assert_int_equal(jpki_token_write_cert(f->rd, JPKI_EF_AUTH_CA, G.der[I_AUTH_CA],
	                                       G.der_len[I_AUTH_CA]), 0);
	assert_int_equal(jpki_token_read_cert(f->rd, JPKI_EF_AUTH_CA, &der, &len), 0);
	assert_int_equal(len, G.der_len[I_AUTH_CA]);
	free(der);
	/* Re-selecting the AP ends issuer authentication. */
	assert_int_equal(jpki_token_select_ap(f->rd), 0);
	assert_int_equal(jpki_token_set_pin(f->rd, JPKI_PIN_AUTH, "4321"), JPKI_ERR_SECURITY);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(other);
	X509_free(auth);
}

static void
test_empty_card(void **state)
{
	jpki_card_t *card = NULL;
	jpki_reader_t *rd = NULL;
	EVP_PKEY *pub = NULL;
	uint8_t *spki = NULL, *der = NULL;
	size_t len = 0;
	char path[700];
	int n, t = -1;

	snprintf(path, sizeof(path), "%s/blank-%d", G.dir, ++G.counter);
	assert_true((n = i2d_PUBKEY(G.issuer, &spki)) > 0);
	assert_int_equal(jpki_card_create(path, JPKI_CARD_2004, spki, (size_t)n), 0);
	OPENSSL_free(spki);
	assert_int_equal(jpki_card_load(path, &card), 0);
	assert_int_equal(jpki_reader_open_inproc(card, &rd), 0);
	assert_int_equal(jpki_token_select_ap(rd), 0);
	{
		char label[JPKI_TOKEN_LABEL_MAX];
		jpki_card_kind_t kind;

		assert_int_equal(jpki_token_label(rd, label, &kind), 0);
		assert_string_equal(label, "JPKIAPICCTOKEN");
		assert_int_equal(kind, JPKI_CARD_2004);
	}
	assert_int_equal(jpki_token_read_cert(rd, JPKI_EF_AUTH_CERT, &der, &len),
	                 JPKI_ERR_NOT_FOUND);
	assert_non_null(strstr(jpki_detail(), "holds no certificate"));
	/* A PIN never set reads as blocked (the card says 63C0 or 6984). */
	assert_int_equal(jpki_token_pin_status(rd, JPKI_PIN_AUTH, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(jpki_token_verify_pin(rd, JPKI_PIN_AUTH, "1234", NULL),
	                 JPKI_ERR_PIN_BLOCKED);
	assert_int_equal(jpki_token_issuer_auth(rd, G.issuer), 0);
	assert_int_equal(jpki_token_read_pubkey(rd, JPKI_PIN_SIGN, &pub), JPKI_ERR_NOT_FOUND);
	assert_null(pub);
	jpki_reader_close(rd);
	jpki_card_free(card);
}

/* ---- fake transports -------------------------------------------------------------- */

/* A card of our own making: answers SELECT AP with sel_sw, serves ef[] to READ
 * BINARY (6B00 past its end), and records the largest Le asked for. */
struct fake {
	unsigned sel_sw;
	const uint8_t *ef;
	size_t ef_len;
	size_t max_le;
	int reads;
	int give_zero;      /* answer READ BINARY past offset 4 with no data */
	int overlong;       /* answer more than JPKI_RAPDU_MAX */
};

static int
fake_transmit(void *impl, const char *name, const uint8_t *cmd, size_t n, uint8_t *rsp,
              size_t rsp_max, size_t *rsp_len)
{
	struct fake *fk = impl;
	size_t off, le, k;
	unsigned sw = 0x9000;

	*rsp_len = 0;
	if (fk->overlong) {
		*rsp_len = rsp_max + 1;
		return 0;
	}
	if (cmd[1] == 0xA4 && cmd[2] == 0x04) {
		sw = fk->sel_sw;
	} else if (cmd[1] == 0xB0) {
		off = ((size_t)cmd[2] << 8) | cmd[3];
		le = cmd[4] ? cmd[4] : 256;
		fk->reads++;
		if (le > fk->max_le)
			fk->max_le = le;
		if (off >= fk->ef_len || (fk->give_zero && off >= 4)) {
			sw = fk->give_zero && off < fk->ef_len ? 0x9000 : 0x6B00;
		} else {
			k = fk->ef_len - off < le ? fk->ef_len - off : le;
			memcpy(rsp, fk->ef + off, k);
			*rsp_len = k;
		}
	}
	rsp[*rsp_len] = (uint8_t)(sw >> 8);
	rsp[*rsp_len + 1] = (uint8_t)sw;
	*rsp_len += 2;
	return 0;
}

static const struct jpki_reader_ops fake_ops = {fake_transmit, NULL, NULL};

static jpki_reader_t *
fake_reader(struct fake *fk)
{
	jpki_reader_t *rd = NULL;

	assert_int_equal(jpki_reader_new(&fake_ops, fk, "fake", &rd), 0);
	return rd;
}

static void
test_not_jpki(void **state)
{
	struct fake fk = {0x6A82, NULL, 0, 0, 0, 0, 0};
	jpki_reader_t *rd = fake_reader(&fk);
	char label[JPKI_TOKEN_LABEL_MAX];
	static const uint8_t other[32] = "SOMEOTHERTOKEN                  ";

	assert_int_equal(jpki_token_select_ap(rd), JPKI_ERR_NOT_JPKI);
	assert_non_null(strstr(jpki_detail(), "fake"));
	assert_non_null(strstr(jpki_detail(), "6A82"));
	/* An AP that answers but holds another token. */
	fk.sel_sw = 0x9000;
	fk.ef = other;
	fk.ef_len = sizeof(other);
	assert_int_equal(jpki_token_select_ap(rd), 0);
	assert_int_equal(jpki_token_label(rd, label, NULL), JPKI_ERR_NOT_JPKI);
	assert_string_equal(label, "");
	assert_non_null(strstr(jpki_detail(), "SOMEOTHERTOKEN"));
	/* Other failures of SELECT are not "not JPKI". */
	fk.sel_sw = 0x6E00;
	assert_int_equal(jpki_token_select_ap(rd), JPKI_ERR_CARD);
	/* A transport that breaks the response contract. */
	fk.overlong = 1;
	assert_int_equal(jpki_token_select_ap(rd), JPKI_ERR_CARD);
	jpki_reader_close(rd);
}

static void
test_cert_bounds(void **state)
{
	static uint8_t ef[5000];
	struct fake fk = {0x9000, ef, 0, 0, 0, 0, 0};
	jpki_reader_t *rd = fake_reader(&fk);
	uint8_t *der = NULL;
	size_t len = 0;

	memset(ef, 0x11, sizeof(ef));
	ef[0] = 0x30;
	ef[1] = 0x82;
	/* A header claiming 64 KB: refused before reading on. */
	ef[2] = ef[3] = 0xFF;
	fk.ef_len = sizeof(ef);
	assert_int_equal(jpki_token_read_cert(rd, JPKI_EF_AUTH_CERT, &der, &len),
	                 JPKI_ERR_TOO_LARGE);
	assert_int_equal(fk.reads, 1);
	/* Exactly the maximum: read in chunks of at most 256. */
	ef[2] = (JPKI_CARD_EF_MAX - 4) >> 8;
	ef[3] = (JPKI_CARD_EF_MAX - 4) & 0xFF;
	fk.reads = 0;
	assert_int_equal(jpki_token_read_cert(rd, JPKI_EF_AUTH_CERT, &der, &len), 0);
	assert_int_equal(len, JPKI_CARD_EF_MAX);
	assert_true(fk.max_le <= 256);
	assert_int_equal(fk.reads, 1 + (JPKI_CARD_EF_MAX - 4 + 255) / 256);
	free(der);
	der = NULL;
	/* An EF shorter than its header says. */
	ef[2] = 0x04;
	ef[3] = 0x00;
	fk.ef_len = 700;
	assert_int_equal(jpki_token_read_cert(rd, JPKI_EF_AUTH_CERT, &der, &len),
	                 JPKI_ERR_TRUNCATED);
	assert_null(der);
	/* A card that answers 9000 with no data. */
	fk.ef_len = sizeof(ef);
	fk.give_zero = 1;
	assert_int_equal(jpki_token_read_cert(rd, JPKI_EF_AUTH_CERT, &der, &len),
	                 JPKI_ERR_TRUNCATED);
	fk.give_zero = 0;
	/* Not a long-form SEQUENCE. */
	ef[1] = 0x81;
	assert_int_equal(jpki_token_read_cert(rd, JPKI_EF_AUTH_CERT, &der, &len), JPKI_ERR_FORMAT);
	ef[0] = 0x04;
	ef[1] = 0x82;
	assert_int_equal(jpki_token_read_cert(rd, JPKI_EF_AUTH_CERT, &der, &len), JPKI_ERR_FORMAT);
	/* Empty. */
	fk.ef_len = 0;
	assert_int_equal(jpki_token_read_cert(rd, JPKI_EF_AUTH_CERT, &der, &len),
	                 JPKI_ERR_NOT_FOUND);
	assert_null(der);
	jpki_reader_close(rd);
}

static void
test_sw_mapping(void **state)
{
	static const struct {
		uint8_t ins, p1;
		unsigned sw;
		int err;
	} t[] = {
		{0xA4, 0x04, 0x9000, 0},
		{0x20, 0x00, 0x63C3, JPKI_ERR_PIN_WRONG},
		{0x20, 0x00, 0x63C1, JPKI_ERR_PIN_WRONG},
		{0x20, 0x00, 0x63C0, JPKI_ERR_PIN_BLOCKED},
		{0x20, 0x00, 0x6983, JPKI_ERR_PIN_BLOCKED},
		{0x20, 0x00, 0x6984, JPKI_ERR_PIN_BLOCKED},
		{0x2A, 0x00, 0x6982, JPKI_ERR_SECURITY},
		{0xA4, 0x04, 0x6A82, JPKI_ERR_NOT_JPKI},
		{0xB0, 0x00, 0x6A82, JPKI_ERR_NOT_FOUND},
		{0xA4, 0x02, 0x6A82, JPKI_ERR_NOT_FOUND},   /* SELECT EF */
		{0x24, 0x00, 0x6A80, JPKI_ERR_PIN_FORMAT},
		{0x2C, 0x00, 0x6A80, JPKI_ERR_PIN_FORMAT},
		{0xD6, 0x00, 0x6A80, JPKI_ERR_CARD},
		{0xB0, 0x00, 0x6B00, JPKI_ERR_RANGE},
		{0xD6, 0x00, 0x6A84, JPKI_ERR_TOO_LARGE},
		{0xB0, 0x00, 0x6985, JPKI_ERR_STATE},
		{0x82, 0x00, 0x6300, JPKI_ERR_AUTH},
		{0xB0, 0x00, 0x6300, JPKI_ERR_CARD},
		{0xB0, 0x00, 0x6700, JPKI_ERR_CARD},
		{0xB0, 0x00, 0x6A86, JPKI_ERR_CARD},
		{0xFF, 0x00, 0x6D00, JPKI_ERR_CARD},
		{0xB0, 0x00, 0x6E00, JPKI_ERR_CARD},
		{0xB0, 0x00, 0x6F00, JPKI_ERR_CARD},
		{0xB0, 0x00, 0x0000, JPKI_ERR_CARD},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		jpki_clear_detail();
		assert_int_equal(jpki_token_sw_error("r", t[i].ins, t[i].p1, t[i].sw), t[i].err);
		if (t[i].err != 0) {
			char sw[8];

			snprintf(sw, sizeof(sw), "%04X", t[i].sw);
			assert_non_null(strstr(jpki_detail(), sw));
			assert_non_null(strstr(jpki_detail(), "reader 'r'"));
		}
	}
	assert_int_equal(jpki_token_pin_check(JPKI_PIN_AUTH, "0123", 1), 0);
	assert_int_equal(jpki_token_pin_check(JPKI_PIN_SIGN, "abcdef", 0), 0);
	assert_int_equal(jpki_token_pin_check(JPKI_PIN_SIGN, "abcdef", 1), JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_token_pin_check(JPKI_PIN_SIGN, "abc1234567890123", 1), 0);
	assert_int_equal(jpki_token_pin_check(JPKI_PIN_SIGN, "abc12345678901234", 0),
	                 JPKI_ERR_PIN_FORMAT);
	assert_int_equal(jpki_token_pin_check(JPKI_PIN_SIGN, "ＡＢＣ１２３", 0),
	                 JPKI_ERR_PIN_FORMAT);
}

static void
test_args(void **state)
{
	uint8_t rsp[JPKI_RAPDU_MAX], cmd[4] = {0, 0xA4, 4, 0x0C};
	size_t n = 9;
	jpki_reader_t *rd = (jpki_reader_t *)1;

	assert_int_equal(jpki_reader_open_inproc(NULL, &rd), JPKI_ERR_INVALID_ARG);
	assert_null(rd);
	assert_int_equal(jpki_reader_transmit(NULL, cmd, 4, rsp, sizeof(rsp), &n),
	                 JPKI_ERR_INVALID_ARG);
	assert_int_equal(n, 0);
	jpki_reader_close(NULL);
	assert_string_equal(jpki_reader_name(NULL), "");
}

/* Without pcscd (a socket that does not exist), PC/SC says: no reader. */
static void
test_pcsc_no_service(void **state)
{
	jpki_reader_t *rd = (jpki_reader_t *)1;
	char **names = (char **)1;
	size_t n = 7;

	setenv("PCSCLITE_CSOCK_NAME", "/nonexistent/jpki-test/pcscd.comm", 1);
	assert_int_equal(jpki_reader_list(&names, &n), JPKI_ERR_NO_READER);
	assert_null(names);
	assert_int_equal(n, 0);
	assert_int_equal(jpki_reader_open_pcsc(NULL, &rd), JPKI_ERR_NO_READER);
	assert_null(rd);
	assert_true(strlen(jpki_detail()) > 0);
	jpki_reader_list_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_label, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_read_certificates, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_pin_status_spends_nothing, fix_setup,
		                                fix_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_pin_counts_down, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_change_pin, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_sign_both_keys, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_issuer_ops, fix_setup, fix_teardown),
		cmocka_unit_test(test_empty_card),
		cmocka_unit_test(test_not_jpki),
		cmocka_unit_test(test_cert_bounds),
		cmocka_unit_test(test_sw_mapping),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_pcsc_no_service),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
