/*
 * The JPKI card applet and its state file: every status word of spec §3, the
 * L9 password rules, the issuer operations of jpki/card.h, signatures checked
 * with OpenSSL, the card file's round trip and damage handling, and the
 * power-cut rule (a VERIFY try is saved before the comparison).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "card/apdu.h"
#include "card/card_int.h"
#include "jpki/buf.h"
#include "jpki/card.h"
#include "jpki/error.h"

#define SIGN_PW "ABC123"
#define AUTH_PIN "1234"

static struct {
	char dir[512];
	EVP_PKEY *issuer;          /* the issuing side's ECDSA P-256 key */
	uint8_t *issuer_spki;
	size_t issuer_spki_len;
	uint8_t *cert;             /* a ~1.2 KB self-signed DER certificate */
	size_t cert_len;
	uint8_t *tmpl;             /* a personalized card file image */
	size_t tmpl_len;
	int counter;
} G;

/* ---- helpers ---------------------------------------------------------------- */

static void
new_path(char *out, size_t n)
{
	snprintf(out, n, "%s/card-%d", G.dir, ++G.counter);
}

/* Send a command; returns the status word, or -1 when the card answered nothing. */
static int
tx(jpki_card_t *c, const uint8_t *cmd, size_t n, uint8_t *out, size_t *outlen)
{
	uint8_t rsp[JPKI_RAPDU_MAX];
	size_t rlen = 0;

	if (outlen)
		*outlen = 0;
	if (jpki_card_apdu(c, cmd, n, rsp, &rlen) != 0)
		return -1;
	assert_true(rlen >= 2 && rlen <= JPKI_RAPDU_MAX);
	if (out)
		memcpy(out, rsp, rlen - 2);
	if (outlen)
		*outlen = rlen - 2;
	return (rsp[rlen - 2] << 8) | rsp[rlen - 1];
}

/* Send a command written in hex ("00A4040C0A..."). */
static int
txh(jpki_card_t *c, const char *hex, uint8_t *out, size_t *outlen)
{
	uint8_t cmd[600];
	size_t n = 0;
	unsigned v;

	while (hex[0] && hex[1]) {
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		assert_true(n < sizeof(cmd));
		cmd[n++] = (uint8_t)v;
		hex += 2;
	}
	return tx(c, cmd, n, out, outlen);
}

/* Build and send: le < 0 means no Le; le 256 is sent as 00. */
static int
txf(jpki_card_t *c, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const void *data, size_t lc, int le, uint8_t *out, size_t *outlen)
{
	uint8_t cmd[JPKI_APDU_MAX];
	size_t n = 0;

	assert_true(lc <= 255);
	cmd[n++] = cla;
	cmd[n++] = ins;
	cmd[n++] = p1;
	cmd[n++] = p2;
	if (lc > 0) {
		cmd[n++] = (uint8_t)lc;
		memcpy(cmd + n, data, lc);
		n += lc;
	}
	if (le >= 0)
		cmd[n++] = (uint8_t)(le & 0xFF);
	return tx(c, cmd, n, out, outlen);
}

static int
select_ap(jpki_card_t *c)
{
	return txh(c, "00A4040C0AD392F000260100000001", NULL, NULL);
}

static int
select_ef(jpki_card_t *c, uint16_t fid)
{
	uint8_t d[2] = {(uint8_t)(fid >> 8), (uint8_t)fid};
	return txf(c, 0x00, 0xA4, 0x02, 0x0C, d, 2, -1, NULL, NULL);
}

static int
verify(jpki_card_t *c, uint16_t pin_ef, const char *pin)
{
	int sw = select_ef(c, pin_ef);

	if (sw != 0x9000)
		return sw;
	if (pin == NULL)
		return txh(c, "00200080", NULL, NULL);
	return txf(c, 0x00, 0x20, 0x00, 0x80, pin, strlen(pin), -1, NULL, NULL);
}

/* ECDSA P-256 / SHA-256 over "JPKI-ISSUER-AUTH" || challenge, DER. */
static void
issuer_sign(EVP_PKEY *key, const uint8_t ch[8], uint8_t *sig, size_t *siglen)
{
	uint8_t msg[24];
	EVP_MD_CTX *m = EVP_MD_CTX_new();

	memcpy(msg, "JPKI-ISSUER-AUTH", 16);
	memcpy(msg + 16, ch, 8);
	*siglen = 80;
	assert_non_null(m);
	assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(m, sig, siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(m);
}

static void
issuer_auth(jpki_card_t *c)
{
	uint8_t ch[8], sig[80];
	size_t n, siglen;

	assert_int_equal(txh(c, "0084000008", ch, &n), 0x9000);
	assert_int_equal(n, 8);
	issuer_sign(G.issuer, ch, sig, &siglen);
	assert_int_equal(txf(c, 0x00, 0x82, 0x00, 0x00, sig, siglen, -1, NULL, NULL), 0x9000);
}

static void
write_ef(jpki_card_t *c, uint16_t fid, const uint8_t *p, size_t len)
{
	size_t off, n;

	assert_int_equal(select_ef(c, fid), 0x9000);
	assert_int_equal(txh(c, "000E0000", NULL, NULL), 0x9000);
	for (off = 0; off < len; off += n) {
		n = len - off > 255 ? 255 : len - off;
		assert_int_equal(txf(c, 0x00, 0xD6, (uint8_t)(off >> 8), (uint8_t)off,
		                     p + off, n, -1, NULL, NULL), 0x9000);
	}
}

static void
set_pin(jpki_card_t *c, uint16_t fid, const char *pin)
{
	assert_int_equal(select_ef(c, fid), 0x9000);
	assert_int_equal(txf(c, 0x00, 0x2C, 0x02, 0x80, pin, strlen(pin), -1, NULL, NULL),
	                 0x9000);
}

static void
write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static uint8_t *
slurp(const char *path, size_t *n)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	close(fd);
	*n = (size_t)st.st_size;
	return p;
}

/* A personalized card (from the template) in a new file, loaded. */
static jpki_card_t *
fresh_card(char *path, size_t pathlen)
{
	jpki_card_t *c = NULL;

	new_path(path, pathlen);
	write_file(path, G.tmpl, G.tmpl_len);
	assert_int_equal(jpki_card_load(path, &c), 0);
	return c;
}

/* A blank card (as jpki_card_create makes it), loaded. */
static jpki_card_t *
blank_card(char *path, size_t pathlen, jpki_card_kind_t kind)
{
	jpki_card_t *c = NULL;

	new_path(path, pathlen);
	assert_int_equal(jpki_card_create(path, kind, G.issuer_spki, G.issuer_spki_len), 0);
	assert_int_equal(jpki_card_load(path, &c), 0);
	return c;
}

static uint8_t *
make_cert(size_t *len)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	char san[2048];
	size_t o = 0;
	unsigned char *der = NULL;
	int i, n;

	assert_non_null(k);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_NAME_add_entry_by_txt(nm, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"JPKI-TEST", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_ASC,
	                           (const unsigned char *)"JPKI for digital signature", -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, nm);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	X509_set_pubkey(x, k);
	/* Names enough to bring the certificate to about 1.2 KB (several READ BINARY chunks). */
	for (i = 0; i < 16; i++)
		o += (size_t)snprintf(san + o, sizeof(san) - o, "%sDNS:host-%02d.card.jpki.example.jp",
		                      i ? "," : "", i);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 1100 && n < 1500);
	*len = (size_t)n;
	X509_NAME_free(nm);
	X509_free(x);
	EVP_PKEY_free(k);
	return der;
}

static int
group_setup(void **state)
{
	const char *tmp = getenv("JPKI_TEST_TMP");
	char path[600];
	jpki_card_t *c = NULL;
	unsigned char *der = NULL;
	int n;

	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0700);
	snprintf(G.dir, sizeof(G.dir), "%s/test_card.XXXXXX", tmp);
	if (mkdtemp(G.dir) == NULL)
		return -1;
	if ((G.issuer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		return -1;
	if ((n = i2d_PUBKEY(G.issuer, &der)) <= 0)
		return -1;
	G.issuer_spki = der;
	G.issuer_spki_len = (size_t)n;
	G.cert = make_cert(&G.cert_len);

	/* Personalize one card through the issuer APDUs and keep its file as a template. */
	new_path(path, sizeof(path));
	if (jpki_card_create(path, JPKI_CARD_MYNUMBER, G.issuer_spki, G.issuer_spki_len) != 0 ||
	    jpki_card_load(path, &c) != 0)
		return -1;
	if (select_ap(c) != 0x9000)
		return -1;
	issuer_auth(c);
	write_ef(c, JPKI_EF_SIGN_CERT, G.cert, G.cert_len);
	write_ef(c, JPKI_EF_SIGN_CA, G.cert, G.cert_len);
	write_ef(c, JPKI_EF_AUTH_CA, G.cert, 300);   /* any bytes will do */
	/* 000A (auth certificate) stays empty on purpose. */
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_KEY), 0x9000);
	assert_int_equal(txh(c, "0046000000", NULL, NULL), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_KEY), 0x9000);
	assert_int_equal(txh(c, "0046000000", NULL, NULL), 0x9000);
	set_pin(c, JPKI_EF_AUTH_PIN, AUTH_PIN);
	set_pin(c, JPKI_EF_SIGN_PIN, SIGN_PW);
	jpki_card_free(c);
	G.tmpl = slurp(path, &G.tmpl_len);
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[700];

	EVP_PKEY_free(G.issuer);
	OPENSSL_free(G.issuer_spki);
	OPENSSL_free(G.cert);
	free(G.tmpl);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", G.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the codec --------------------------------------------------------------- */

static void
test_apdu_codec(void **state)
{
	static const uint8_t c1[] = {0x00, 0x20, 0x00, 0x80};
	static const uint8_t c2[] = {0x00, 0xB0, 0x00, 0x00, 0x00};
	static const uint8_t c3[] = {0x00, 0x20, 0x00, 0x80, 0x02, 0x31, 0x32};
	static const uint8_t c4[] = {0x80, 0x2A, 0x00, 0x80, 0x01, 0xAA, 0x10};
	static const uint8_t ext2[] = {0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00};
	static const uint8_t ext3[] = {0x00, 0x20, 0x00, 0x80, 0x00, 0x00, 0x01, 0x31};
	static const uint8_t badlc[] = {0x00, 0x20, 0x00, 0x80, 0x03, 0x31, 0x32};
	static const uint8_t badlc2[] = {0x00, 0x20, 0x00, 0x80, 0x01, 0x31, 0x32, 0x33};
	jpki_apdu_t a;

	assert_int_equal(jpki_apdu_parse(c1, 3, &a), SW_WRONG_LENGTH);
	assert_int_equal(jpki_apdu_parse(NULL, 0, &a), SW_WRONG_LENGTH);
	assert_int_equal(jpki_apdu_parse(c1, sizeof(c1), &a), 0);
	assert_int_equal(a.iso_case, 1);
	assert_int_equal(a.lc, 0);
	assert_int_equal(a.le, 0);
	assert_int_equal(jpki_apdu_parse(c2, sizeof(c2), &a), 0);
	assert_int_equal(a.iso_case, 2);
	assert_int_equal(a.le, 256);
	assert_int_equal(jpki_apdu_parse(c3, sizeof(c3), &a), 0);
	assert_int_equal(a.iso_case, 3);
	assert_int_equal(a.lc, 2);
	assert_memory_equal(a.data, "12", 2);
	assert_int_equal(jpki_apdu_parse(c4, sizeof(c4), &a), 0);
	assert_int_equal(a.iso_case, 4);
	assert_int_equal(a.cla, 0x80);
	assert_int_equal(a.lc, 1);
	assert_int_equal(a.le, 16);
	assert_int_equal(jpki_apdu_parse(ext2, sizeof(ext2), &a), SW_WRONG_LENGTH);
	assert_int_equal(jpki_apdu_parse(ext3, sizeof(ext3), &a), SW_WRONG_LENGTH);
	assert_int_equal(jpki_apdu_parse(badlc, sizeof(badlc), &a), SW_WRONG_LENGTH);
	assert_int_equal(jpki_apdu_parse(badlc2, sizeof(badlc2), &a), SW_WRONG_LENGTH);
}

/* ---- status words --------------------------------------------------------------- */

static void
test_status_words(void **state)
{
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path));
	uint8_t out[300], big[300];
	size_t n;

	memset(big, 0x30, sizeof(big));
	big[0] = 0x00;
	big[1] = 0xB0;
	/* Shorter than a header; unknown classes; unknown instructions. */
	assert_int_equal(txh(c, "00A4", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "10A4040C0AD392F000260100000001", NULL, NULL), 0x6E00);
	assert_int_equal(txh(c, "0CB0000004", NULL, NULL), 0x6E00);
	assert_int_equal(txh(c, "FFA4040C0AD392F000260100000001", NULL, NULL), 0x6E00);
	assert_int_equal(txh(c, "00FF0000", NULL, NULL), 0x6D00);
	assert_int_equal(txh(c, "80A4040C0AD392F000260100000001", NULL, NULL), 0x6D00);
	assert_int_equal(txh(c, "002A00800130" "00", NULL, NULL), 0x6D00);
	/* Extended and inconsistent lengths. */
	assert_int_equal(txh(c, "00B00000000100", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "00A4040C000010D392F000260100000001", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "00A4040C0BD392F000260100000001", NULL, NULL), 0x6700);
	assert_int_equal(tx(c, big, sizeof(big), NULL, NULL), 0x6700);

	/* Nothing selected yet. */
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6985);
	assert_int_equal(txh(c, "00200080", NULL, NULL), 0x6985);
	assert_int_equal(txh(c, "0084000008", NULL, NULL), 0x6985);
	assert_int_equal(select_ef(c, JPKI_EF_TOKEN), 0x6A82);

	/* SELECT by AID. */
	assert_int_equal(txh(c, "00A4040C0AD392F000260100000002", NULL, NULL), 0x6A82);
	assert_int_equal(txh(c, "00A4040C05D392F00026", NULL, NULL), 0x6A82);
	assert_int_equal(txh(c, "00A4010C0AD392F000260100000001", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "00A404040AD392F000260100000001", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "00A4040C", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "00A4040C0AD392F00026010000000100", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "00A404000AD392F000260100000001", out, &n), 0x9000);
	assert_int_equal(n, 0);
	assert_int_equal(txh(c, "00A404000AD392F00026010000000100", out, &n), 0x9000);
	assert_int_equal(n, 0);
	/* The other APs answer 9000 but hold no JPKI EF. */
	assert_int_equal(txh(c, "00A4040C0AD3921000310001010408", NULL, NULL), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_TOKEN), 0x6A82);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6985);
	assert_int_equal(txh(c, "00A4040C0AD3921000310001010402", NULL, NULL), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CA), 0x6A82);

	/* SELECT EF in the JPKI AP. */
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6985);   /* no EF yet */
	assert_int_equal(select_ef(c, 0x0099), 0x6A82);
	assert_int_equal(select_ef(c, 0x3F00), 0x6A82);
	assert_int_equal(txh(c, "00A4020C03000600", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "00A4020C0106", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "00A4080C020006", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "00A40200020006", NULL, NULL), 0x9000);

	/* Token info: the 32-byte label. */
	assert_int_equal(select_ef(c, JPKI_EF_TOKEN), 0x9000);
	assert_int_equal(txh(c, "00B0000000", out, &n), 0x9000);
	assert_int_equal(n, 32);
	assert_memory_equal(out, "JPKIAPICCTOKEN2                 ", 32);
	assert_int_equal(txh(c, "00B0001000", out, &n), 0x9000);
	assert_int_equal(n, 16);
	assert_int_equal(txh(c, "00B0002001", NULL, NULL), 0x6B00);
	assert_int_equal(txh(c, "00B07FFF01", NULL, NULL), 0x6B00);
	assert_int_equal(txh(c, "00B0800001", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "00B00000", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "00B000000130", NULL, NULL), 0x6700);

	/* VERIFY: P1-P2, case, target. */
	assert_int_equal(txh(c, "00200080", NULL, NULL), 0x6985);     /* token EF selected */
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(txh(c, "00200081", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "00200180", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "0020008000", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "00200080063132333435360A", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "00200080", NULL, NULL), 0x63C5);
	/* READ BINARY of a PIN or key EF: never. */
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6982);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_KEY), 0x9000);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6982);

	/* COMPUTE DIGITAL SIGNATURE: class, P1-P2, lengths, security. */
	assert_int_equal(txh(c, "802A0080013000", NULL, NULL), 0x6982);
	assert_int_equal(txh(c, "802A00810130", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "802A00800130", NULL, NULL), 0x6700);   /* no Le */
	assert_int_equal(txh(c, "802A0080013010", NULL, NULL), 0x6700); /* Le not 256 */
	assert_int_equal(txh(c, "802A0080", NULL, NULL), 0x6700);
	assert_int_equal(select_ef(c, JPKI_EF_TOKEN), 0x9000);
	assert_int_equal(txh(c, "802A0080013000", NULL, NULL), 0x6985); /* not a key EF */

	/* CHANGE REFERENCE DATA: P1-P2, case, needs a verify. */
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_PIN), 0x9000);
	assert_int_equal(txh(c, "0024008004" "31313131", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "00240180", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "0024018004" "31313131", NULL, NULL), 0x6982);

	/* Issuer commands: P1-P2 and lengths come before the security check. */
	assert_int_equal(txh(c, "0084000108", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "0084000000", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "0082000001AA", NULL, NULL), 0x6985); /* no challenge */
	assert_int_equal(txh(c, "00820100", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "00820000", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "0046020000", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "0046000010", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "000E0001", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "000E000000", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "00D6800001AA", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "00D6000000", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "002C0180", NULL, NULL), 0x6A86);
	assert_int_equal(txh(c, "002C0280", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "002C038001AA", NULL, NULL), 0x6700);

	jpki_card_free(c);
}

/* ---- READ BINARY of a real certificate ------------------------------------------ */

static void
test_read_certificate(void **state)
{
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path));
	uint8_t out[300], got[JPKI_CARD_EF_MAX];
	size_t n, off, total;
	X509 *x;
	const unsigned char *p;

	assert_int_equal(select_ap(c), 0x9000);
	/* As OpenSC does: 4 bytes to learn the length, then 256-byte chunks (Le 00). */
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CA), 0x9000);
	assert_int_equal(txh(c, "00B0000004", out, &n), 0x9000);
	assert_int_equal(n, 4);
	assert_int_equal(out[0], 0x30);
	assert_int_equal(out[1], 0x82);
	total = (size_t)((out[2] << 8) | out[3]) + 4;
	assert_int_equal(total, G.cert_len);
	for (off = 0; off < total; off += n) {
		assert_int_equal(txf(c, 0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off, NULL, 0,
		                     0, got + off, &n), 0x9000);
		assert_true(n > 0);
		assert_int_equal(n, total - off < 256 ? total - off : 256);
	}
	assert_int_equal(off, total);
	assert_memory_equal(got, G.cert, total);
	p = got;
	x = d2i_X509(NULL, &p, (long)total);
	assert_non_null(x);
	X509_free(x);
	/* A read running past the end gives the rest with 9000; at the end, 6B00. */
	assert_int_equal(txf(c, 0x00, 0xB0, (uint8_t)((total - 10) >> 8), (uint8_t)(total - 10),
	                     NULL, 0, 0, out, &n), 0x9000);
	assert_int_equal(n, 10);
	assert_memory_equal(out, G.cert + total - 10, 10);
	assert_int_equal(txf(c, 0x00, 0xB0, (uint8_t)(total >> 8), (uint8_t)total, NULL, 0, 1,
	                     out, &n), 0x6B00);
	assert_int_equal(txf(c, 0x00, 0xB0, 0x7F, 0xFF, NULL, 0, 0, out, &n), 0x6B00);

	/* A short Le is honoured. */
	assert_int_equal(txf(c, 0x00, 0xB0, 0x00, 0x05, NULL, 0, 7, out, &n), 0x9000);
	assert_int_equal(n, 7);
	assert_memory_equal(out, G.cert + 5, 7);

	/* The signature certificate: only after the signing password (spec §3). */
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CERT), 0x9000);
	assert_int_equal(txh(c, "00B0000004", out, &n), 0x6982);
	assert_int_equal(n, 0);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, AUTH_PIN), 0x9000);  /* the wrong one */
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CERT), 0x9000);
	assert_int_equal(txh(c, "00B0000004", out, &n), 0x6982);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CERT), 0x9000);
	assert_int_equal(txh(c, "00B0010000", out, &n), 0x9000);
	assert_int_equal(n, 256);
	assert_memory_equal(out, G.cert + 256, 256);

	/* An empty certificate EF: selectable, nothing to read. */
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_CERT), 0x9000);
	assert_int_equal(txh(c, "00B0000004", out, &n), 0x6B00);
	assert_int_equal(txh(c, "00B0000000", out, &n), 0x6B00);
	jpki_card_free(c);
}

/* ---- PINs (L9) -------------------------------------------------------------------- */

static void
test_verify_count_only(void **state)
{
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path));

	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C5);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C5);   /* no try spent */
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, NULL), 0x63C3);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "WRONG1"), 0x63C4);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C4);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C4);
	/* Right try: 9000, count back to 5; the count-only form still answers 63Cx. */
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C5);
	jpki_card_free(c);
}

static void
test_sign_pin_blocks(void **state)
{
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path));
	int i;

	assert_int_equal(select_ap(c), 0x9000);
	for (i = 4; i >= 0; i--)
		assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "WRONG1"), 0x63C0 | i);
	/* Blocked: nothing, not even the right password; the count reads 63C0
	 * (spec §3: treated as blocked; what OpenSC's driver expects). */
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x6983);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C0);
	assert_int_equal(txf(c, 0x00, 0x24, 0x01, 0x80, "NEWPW1", 6, -1, NULL, NULL), 0x6983);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_KEY), 0x9000);
	assert_int_equal(txh(c, "802A0080013000", NULL, NULL), 0x6982);
	/* The auth PIN is not affected. */
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, NULL), 0x63C3);
	/* It stays blocked across a reload (the count is in the file). */
	jpki_card_free(c);
	assert_int_equal(jpki_card_load(path, &c), 0);
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x6983);
	/* The window unblocks it: RESET RETRY COUNTER (count only) after issuer auth. */
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(txh(c, "002C0380", NULL, NULL), 0x6982);
	issuer_auth(c);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(txh(c, "002C0380", NULL, NULL), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C5);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	jpki_card_free(c);
}

static void
test_auth_pin_blocks(void **state)
{
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path));

	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, "0000"), 0x63C2);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, "12345"), 0x63C1);  /* bad format: a try */
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, "9999"), 0x63C0);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, AUTH_PIN), 0x6983);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, NULL), 0x63C0);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C5);
	/* The window sets a new PIN: count reset too. */
	issuer_auth(c);
	set_pin(c, JPKI_EF_AUTH_PIN, "4321");
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, NULL), 0x63C3);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, AUTH_PIN), 0x63C2);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, "4321"), 0x9000);
	jpki_card_free(c);
}

static void
test_right_try_resets(void **state)
{
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path));

	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "WRONG1"), 0x63C4);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "WRONG2"), 0x63C3);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "WRONG3"), 0x63C2);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "WRONG4"), 0x63C1);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C5);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, "0000"), 0x63C2);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, "0001"), 0x63C1);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, AUTH_PIN), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, NULL), 0x63C3);
	/* A wrong try also ends the verified state. */
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "WRONG1"), 0x63C4);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CERT), 0x9000);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6982);
	jpki_card_free(c);
}

static void
test_change_reference_data(void **state)
{
	static const char *bad_sign[] = {"ABC12", "ABCDEFGHIJ1234567", "ABC-123", "ABC 123",
	                                 "ＡＢＣ１２３"};
	static const char *bad_auth[] = {"123", "12345", "12a4", "    "};
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path));
	size_t i;

	assert_int_equal(select_ap(c), 0x9000);
	/* Not before a successful VERIFY of that PIN. */
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(txf(c, 0x00, 0x24, 0x01, 0x80, "NEWPW1", 6, -1, NULL, NULL), 0x6982);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, AUTH_PIN), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(txf(c, 0x00, 0x24, 0x01, 0x80, "NEWPW1", 6, -1, NULL, NULL), 0x6982);

	/* Signing password: L9 format, else 6A80 (and the old one stays). */
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	for (i = 0; i < sizeof(bad_sign) / sizeof(bad_sign[0]); i++)
		assert_int_equal(txf(c, 0x00, 0x24, 0x01, 0x80, bad_sign[i], strlen(bad_sign[i]),
		                     -1, NULL, NULL), 0x6A80);
	/* Lower case is taken as upper case (L9). */
	assert_int_equal(txf(c, 0x00, 0x24, 0x01, 0x80, "newpass7", 8, -1, NULL, NULL), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x63C4);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "NEWPASS7"), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "NewPass7"), 0x9000);
	/* Letters only and digits only: the card accepts them (the client insists on a mix). */
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(txf(c, 0x00, 0x24, 0x01, 0x80, "123456", 6, -1, NULL, NULL), 0x9000);
	assert_int_equal(txf(c, 0x00, 0x24, 0x01, 0x80, "ABCDEFGHIJKLMNOP", 16, -1, NULL, NULL),
	                 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "abcdefghijklmnop"), 0x9000);

	/* Auth PIN: exactly 4 digits. */
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, AUTH_PIN), 0x9000);
	for (i = 0; i < sizeof(bad_auth) / sizeof(bad_auth[0]); i++)
		assert_int_equal(txf(c, 0x00, 0x24, 0x01, 0x80, bad_auth[i], strlen(bad_auth[i]),
		                     -1, NULL, NULL), 0x6A80);
	assert_int_equal(txf(c, 0x00, 0x24, 0x01, 0x80, "0987", 4, -1, NULL, NULL), 0x9000);
	/* The change is in the file. */
	jpki_card_free(c);
	assert_int_equal(jpki_card_load(path, &c), 0);
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, AUTH_PIN), 0x63C2);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, "0987"), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "ABCDEFGHIJKLMNOP"), 0x9000);
	jpki_card_free(c);
}

static void
test_reselect_clears_security(void **state)
{
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path));

	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CERT), 0x9000);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x9000);
	/* Re-selecting the AP is the logout (spec §3). */
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6985);   /* no current EF */
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CERT), 0x9000);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6982);
	/* A reset too. */
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	jpki_card_reset(c);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6985);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CERT), 0x6A82);   /* no AP after reset */
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CERT), 0x9000);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6982);
	/* Selecting another AP leaves the JPKI AP, and its security state. */
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	assert_int_equal(txh(c, "00A4040C0AD3921000310001010408", NULL, NULL), 0x9000);
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CERT), 0x9000);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6982);
	jpki_card_reset(NULL);
	jpki_card_free(c);
}

/* ---- issuer operations --------------------------------------------------------------- */

static void
test_unset_pins(void **state)
{
	char path[600];
	jpki_card_t *c = blank_card(path, sizeof(path), JPKI_CARD_MYNUMBER);
	uint8_t out[300];
	size_t n;

	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x6984);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C0);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, NULL), 0x63C0);
	assert_int_equal(txf(c, 0x00, 0x24, 0x01, 0x80, "1111", 4, -1, NULL, NULL), 0x6984);
	/* Empty EFs, no keys. */
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CA), 0x9000);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6B00);
	issuer_auth(c);
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_KEY), 0x9000);
	assert_int_equal(txh(c, "0046010000", out, &n), 0x6A82);
	/* RESET RETRY COUNTER 03 of an unset PIN: nothing to reset. */
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_PIN), 0x9000);
	assert_int_equal(txh(c, "002C0380", NULL, NULL), 0x6984);
	/* Setting a PIN checks the L9 format as well. */
	assert_int_equal(txf(c, 0x00, 0x2C, 0x02, 0x80, "12345", 5, -1, NULL, NULL), 0x6A80);
	assert_int_equal(txf(c, 0x00, 0x2C, 0x02, 0x80, "5678", 4, -1, NULL, NULL), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(txf(c, 0x00, 0x2C, 0x02, 0x80, "pass", 4, -1, NULL, NULL), 0x6A80);
	assert_int_equal(txf(c, 0x00, 0x2C, 0x02, 0x80, "pass99", 6, -1, NULL, NULL), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "PASS99"), 0x9000);
	/* A key EF with no key: the PIN is right, but there is nothing to sign with. */
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, "5678"), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_KEY), 0x9000);
	assert_int_equal(txh(c, "802A0080013000", NULL, NULL), 0x6985);
	jpki_card_free(c);
}

static void
test_issuer_auth(void **state)
{
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path));
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t ch[8], ch2[8], sig[80], sig2[80];
	size_t n, siglen, siglen2;

	assert_non_null(other);
	assert_int_equal(select_ap(c), 0x9000);
	/* Without issuer authentication each issuer command answers 6982. */
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_CA), 0x9000);
	assert_int_equal(txh(c, "00D6000001AA", NULL, NULL), 0x6982);
	assert_int_equal(txh(c, "000E0000", NULL, NULL), 0x6982);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_KEY), 0x9000);
	assert_int_equal(txh(c, "0046000000", NULL, NULL), 0x6982);
	assert_int_equal(txh(c, "0046010000", NULL, NULL), 0x6982);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(txh(c, "002C0280063131313131", NULL, NULL), 0x6700);
	assert_int_equal(txh(c, "002C028006313131313131", NULL, NULL), 0x6982);
	assert_int_equal(txh(c, "002C0380", NULL, NULL), 0x6982);
	/* A user PIN is no issuer authentication. */
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	assert_int_equal(txh(c, "002C0380", NULL, NULL), 0x6982);

	/* EXTERNAL AUTHENTICATE without a challenge. */
	assert_int_equal(txh(c, "0082000001AA", NULL, NULL), 0x6985);
	/* Signed by someone else: 6300, and the challenge is spent. */
	assert_int_equal(txh(c, "0084000008", ch, &n), 0x9000);
	issuer_sign(other, ch, sig, &siglen);
	assert_int_equal(txf(c, 0x00, 0x82, 0x00, 0x00, sig, siglen, -1, NULL, NULL), 0x6300);
	issuer_sign(G.issuer, ch, sig, &siglen);
	assert_int_equal(txf(c, 0x00, 0x82, 0x00, 0x00, sig, siglen, -1, NULL, NULL), 0x6985);
	assert_int_equal(txh(c, "002C0380", NULL, NULL), 0x6982);
	/* Garbage instead of a signature. */
	assert_int_equal(txh(c, "0084000008", ch, &n), 0x9000);
	assert_int_equal(txh(c, "0082000001AA", NULL, NULL), 0x6300);

	/* The right key: allowed. */
	assert_int_equal(txh(c, "0084000008", ch, &n), 0x9000);
	issuer_sign(G.issuer, ch, sig, &siglen);
	assert_int_equal(txf(c, 0x00, 0x82, 0x00, 0x00, sig, siglen, -1, NULL, NULL), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(txh(c, "002C0380", NULL, NULL), 0x9000);
	/* Replaying the same signature: no challenge left, then a new challenge. */
	assert_int_equal(txf(c, 0x00, 0x82, 0x00, 0x00, sig, siglen, -1, NULL, NULL), 0x6985);
	assert_int_equal(txh(c, "0084000008", ch2, &n), 0x9000);
	assert_memory_not_equal(ch, ch2, 8);
	assert_int_equal(txf(c, 0x00, 0x82, 0x00, 0x00, sig, siglen, -1, NULL, NULL), 0x6300);
	/* ... and the failed attempt ended the authentication. */
	assert_int_equal(txh(c, "002C0380", NULL, NULL), 0x6982);

	/* A signature over a challenge with the wrong context string fails. */
	{
		uint8_t msg[24];
		EVP_MD_CTX *m = EVP_MD_CTX_new();

		assert_int_equal(txh(c, "0084000008", ch2, &n), 0x9000);
		memcpy(msg, "JPKI-ISSUER-AUTX", 16);
		memcpy(msg + 16, ch2, 8);
		siglen2 = sizeof(sig2);
		assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, G.issuer), 1);
		assert_int_equal(EVP_DigestSign(m, sig2, &siglen2, msg, sizeof(msg)), 1);
		EVP_MD_CTX_free(m);
		assert_int_equal(txf(c, 0x00, 0x82, 0x00, 0x00, sig2, siglen2, -1, NULL, NULL),
		                 0x6300);
	}

	/* Re-selecting the AP and a reset end issuer authentication. */
	issuer_auth(c);
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(txh(c, "002C0380", NULL, NULL), 0x6982);
	issuer_auth(c);
	jpki_card_reset(c);
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(txh(c, "002C0380", NULL, NULL), 0x6982);
	/* A challenge does not survive a re-select either. */
	assert_int_equal(txh(c, "0084000008", ch, &n), 0x9000);
	issuer_sign(G.issuer, ch, sig, &siglen);
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(txf(c, 0x00, 0x82, 0x00, 0x00, sig, siglen, -1, NULL, NULL), 0x6985);

	EVP_PKEY_free(other);
	jpki_card_free(c);
}

static void
test_update_binary(void **state)
{
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path));
	uint8_t out[300], big[255];
	size_t n, off;

	memset(big, 0x5A, sizeof(big));
	assert_int_equal(select_ap(c), 0x9000);
	issuer_auth(c);
	/* Issuer writes only certificate EFs. */
	assert_int_equal(select_ef(c, JPKI_EF_TOKEN), 0x9000);
	assert_int_equal(txh(c, "00D6000001AA", NULL, NULL), 0x6985);
	assert_int_equal(txh(c, "000E0000", NULL, NULL), 0x6985);
	assert_int_equal(txh(c, "0046000000", NULL, NULL), 0x6985);
	assert_int_equal(txh(c, "002C0380", NULL, NULL), 0x6985);
	/* Offsets: no holes, at most JPKI_CARD_EF_MAX. */
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_CERT), 0x9000);
	assert_int_equal(txh(c, "00D6000101AA", NULL, NULL), 0x6B00);
	assert_int_equal(txh(c, "00D6000003AABBCC", NULL, NULL), 0x9000);
	assert_int_equal(txh(c, "00D6000202DDEE", NULL, NULL), 0x9000);  /* overwrite + grow */
	assert_int_equal(txh(c, "00B0000000", out, &n), 0x9000);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "\xAA\xBB\xDD\xEE", 4);
	for (off = 4; off + sizeof(big) <= JPKI_CARD_EF_MAX; off += sizeof(big))
		assert_int_equal(txf(c, 0x00, 0xD6, (uint8_t)(off >> 8), (uint8_t)off, big,
		                     sizeof(big), -1, NULL, NULL), 0x9000);
	assert_int_equal(txf(c, 0x00, 0xD6, (uint8_t)(off >> 8), (uint8_t)off, big,
	                     JPKI_CARD_EF_MAX - off + 1, -1, NULL, NULL), 0x6A84);
	assert_int_equal(txf(c, 0x00, 0xD6, (uint8_t)(off >> 8), (uint8_t)off, big,
	                     JPKI_CARD_EF_MAX - off, -1, NULL, NULL), 0x9000);
	assert_int_equal(txf(c, 0x00, 0xB0, 0x0F, 0xFF, NULL, 0, 0, out, &n), 0x9000);
	assert_int_equal(n, 1);
	assert_int_equal(txf(c, 0x00, 0xB0, 0x10, 0x00, NULL, 0, 0, out, &n), 0x6B00);
	/* The full EF survives a reload. */
	jpki_card_free(c);
	assert_int_equal(jpki_card_load(path, &c), 0);
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_CERT), 0x9000);
	assert_int_equal(txf(c, 0x00, 0xB0, 0x0F, 0xFF, NULL, 0, 0, out, &n), 0x9000);
	assert_int_equal(out[0], 0x5A);
	/* ERASE BINARY empties it. */
	issuer_auth(c);
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_CERT), 0x9000);
	assert_int_equal(txh(c, "000E0000", NULL, NULL), 0x9000);
	assert_int_equal(txh(c, "00B0000004", NULL, NULL), 0x6B00);
	jpki_card_free(c);
}

/* An RSA public key from the modulus the card answers (e = 65537). */
static EVP_PKEY *
pub_from_modulus(const uint8_t mod[256])
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n = BN_bin2bn(mod, 256, NULL), *e = BN_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;

	assert_non_null(bld);
	assert_non_null(n);
	assert_int_equal(BN_set_word(e, 65537), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, "n", n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, "e", e), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return pk;
}

static void
sign_and_check(jpki_card_t *c, uint16_t key_ef, const char *msg, const uint8_t mod[256])
{
	static const uint8_t sha256_prefix[19] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
	};
	uint8_t di[19 + 32], sig[300];
	size_t n;
	EVP_PKEY *pk = pub_from_modulus(mod);
	EVP_MD_CTX *m = EVP_MD_CTX_new();

	memcpy(di, sha256_prefix, sizeof(sha256_prefix));
	SHA256((const unsigned char *)msg, strlen(msg), di + 19);
	assert_int_equal(select_ef(c, key_ef), 0x9000);
	assert_int_equal(txf(c, 0x80, 0x2A, 0x00, 0x80, di, sizeof(di), 256, sig, &n), 0x9000);
	assert_int_equal(n, 256);
	assert_int_equal(EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestVerify(m, sig, n, (const unsigned char *)msg, strlen(msg)), 1);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(pk);
}

static void
test_compute_signature(void **state)
{
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path));
	uint8_t mod_sign[256], mod_auth[256], tmp[300], big[246];
	size_t n;

	memset(big, 1, sizeof(big));
	assert_int_equal(select_ap(c), 0x9000);
	issuer_auth(c);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_KEY), 0x9000);
	assert_int_equal(txh(c, "0046010000", mod_sign, &n), 0x9000);
	assert_int_equal(n, 256);
	assert_true(mod_sign[0] & 0x80);
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_KEY), 0x9000);
	assert_int_equal(txh(c, "0046010000", mod_auth, &n), 0x9000);
	assert_memory_not_equal(mod_sign, mod_auth, 256);
	assert_int_equal(select_ap(c), 0x9000);

	/* Each key after its own PIN only. */
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_KEY), 0x9000);
	assert_int_equal(txh(c, "802A0080013000", NULL, NULL), 0x6982);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_AUTH_KEY), 0x9000);
	assert_int_equal(txh(c, "802A0080013000", NULL, NULL), 0x6982);
	sign_and_check(c, JPKI_EF_SIGN_KEY, "an application to the Agency (L13)", mod_sign);
	assert_int_equal(verify(c, JPKI_EF_AUTH_PIN, AUTH_PIN), 0x9000);
	sign_and_check(c, JPKI_EF_AUTH_KEY, "a login challenge (L14)", mod_auth);
	/* More than PKCS#1 v1.5 can pad into 256 bytes. */
	assert_int_equal(txf(c, 0x80, 0x2A, 0x00, 0x80, big, sizeof(big), 256, tmp, &n), 0x6700);
	assert_int_equal(txf(c, 0x80, 0x2A, 0x00, 0x80, big, 245, 256, tmp, &n), 0x9000);
	/* Logout: no more signatures. */
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_KEY), 0x9000);
	assert_int_equal(txh(c, "802A0080013000", NULL, NULL), 0x6982);

	/* A new key pair replaces the old one, and survives a reload. */
	issuer_auth(c);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_KEY), 0x9000);
	assert_int_equal(txh(c, "0046000000", tmp, &n), 0x9000);
	assert_int_equal(n, 256);
	assert_memory_not_equal(tmp, mod_sign, 256);
	memcpy(mod_sign, tmp, 256);
	jpki_card_free(c);
	assert_int_equal(jpki_card_load(path, &c), 0);
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	sign_and_check(c, JPKI_EF_SIGN_KEY, "after a reload", mod_sign);
	jpki_card_free(c);
}

/* ---- the card file ---------------------------------------------------------------- */

static void
test_cardfile_create(void **state)
{
	char path[600];
	struct stat st;
	jpki_card_t *c = NULL;
	EVP_PKEY *rsa = NULL, *p384 = NULL;
	unsigned char *der = NULL;
	int n;

	new_path(path, sizeof(path));
	assert_int_equal(jpki_card_create(path, JPKI_CARD_2004, G.issuer_spki, G.issuer_spki_len), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Never overwrites. */
	assert_int_equal(jpki_card_create(path, JPKI_CARD_MYNUMBER, G.issuer_spki,
	                                  G.issuer_spki_len), JPKI_ERR_EXISTS);
	assert_int_equal(jpki_card_load(path, &c), 0);
	/* The 2004-era token label. */
	{
		uint8_t out[300];
		size_t len;

		assert_int_equal(select_ap(c), 0x9000);
		assert_int_equal(select_ef(c, JPKI_EF_TOKEN), 0x9000);
		assert_int_equal(txh(c, "00B0000000", out, &len), 0x9000);
		assert_int_equal(len, 32);
		assert_memory_equal(out, "JPKIAPICCTOKEN                  ", 32);
		/* A save keeps the mode 0600. */
		issuer_auth(c);
		set_pin(c, JPKI_EF_SIGN_PIN, SIGN_PW);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	jpki_card_free(c);
	c = NULL;

	/* The issuer key must be an EC P-256 SubjectPublicKeyInfo. */
	new_path(path, sizeof(path));
	assert_int_equal(jpki_card_create(path, JPKI_CARD_MYNUMBER, G.issuer_spki, 10),
	                 JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_card_create(path, JPKI_CARD_MYNUMBER, NULL, 0), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_card_create(path, (jpki_card_kind_t)7, G.issuer_spki,
	                                  G.issuer_spki_len), JPKI_ERR_INVALID_ARG);
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	n = i2d_PUBKEY(p384, &der);
	assert_true(n > 0);
	assert_int_equal(jpki_card_create(path, JPKI_CARD_MYNUMBER, der, (size_t)n),
	                 JPKI_ERR_INVALID_ARG);
	OPENSSL_free(der);
	der = NULL;
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	n = i2d_PUBKEY(rsa, &der);
	assert_int_equal(jpki_card_create(path, JPKI_CARD_MYNUMBER, der, (size_t)n),
	                 JPKI_ERR_INVALID_ARG);
	OPENSSL_free(der);
	assert_int_equal(stat(path, &st), -1);     /* nothing left behind */
	assert_int_equal(jpki_card_create(NULL, JPKI_CARD_MYNUMBER, G.issuer_spki,
	                                  G.issuer_spki_len), JPKI_ERR_INVALID_ARG);
	/* A directory that does not exist. */
	snprintf(path, sizeof(path), "%s/no/such/dir/card", G.dir);
	assert_int_equal(jpki_card_create(path, JPKI_CARD_MYNUMBER, G.issuer_spki,
	                                  G.issuer_spki_len), JPKI_ERR_IO);
	assert_int_equal(jpki_card_load(path, &c), JPKI_ERR_NOT_FOUND);
	assert_null(c);
	assert_int_equal(jpki_card_load(NULL, &c), JPKI_ERR_INVALID_ARG);
	/* A directory or a FIFO is no card file (and the FIFO must not hang the load). */
	assert_int_equal(jpki_card_load(G.dir, &c), JPKI_ERR_FORMAT);
	new_path(path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(jpki_card_load(path, &c), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_card_create(path, JPKI_CARD_MYNUMBER, G.issuer_spki,
	                                  G.issuer_spki_len), JPKI_ERR_EXISTS);
	jpki_card_free(NULL);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p384);
}

static void
test_cardfile_roundtrip(void **state)
{
	char path[600];
	jpki_card_t *c = fresh_card(path, sizeof(path)), *d = NULL;
	jpki_buf_t b1, b2;
	struct stat st;

	/* Load + serialize gives the same image back, byte for byte. */
	jpki_buf_init(&b1, JPKI_CARD_FILE_MAX);
	jpki_buf_init(&b2, JPKI_CARD_FILE_MAX);
	assert_int_equal(jpki_card_serialize(c, &b1), 0);
	assert_int_equal(b1.len, G.tmpl_len);
	assert_memory_equal(b1.data, G.tmpl, G.tmpl_len);
	assert_int_equal(jpki_card_parse(b1.data, b1.len, &d), 0);
	assert_int_equal(jpki_card_serialize(d, &b2), 0);
	assert_int_equal(b2.len, b1.len);
	assert_memory_equal(b1.data, b2.data, b1.len);
	/* The in-memory card works and never writes. */
	assert_int_equal(select_ap(d), 0x9000);
	assert_int_equal(verify(d, JPKI_EF_SIGN_PIN, "WRONG1"), 0x63C4);
	jpki_card_free(d);
	d = NULL;
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x6A82);  /* c: no AP yet */
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C5);
	/* Saves leave no temporary file behind, and the file stays 0600. */
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, "WRONG1"), 0x63C4);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	{
		const char *base = strrchr(path, '/') + 1;
		char prefix[700];
		struct dirent *de;
		DIR *dh = opendir(G.dir);

		snprintf(prefix, sizeof(prefix), "%s.tmp-", base);
		assert_non_null(dh);
		while ((de = readdir(dh)) != NULL)
			assert_true(strncmp(de->d_name, prefix, strlen(prefix)) != 0);
		closedir(dh);
	}
	/* A duplicate is an independent in-memory card sharing nothing mutable. */
	assert_int_equal(jpki_card_dup(c, &d), 0);
	assert_int_equal(verify(d, JPKI_EF_SIGN_PIN, "WRONG1"), 0x63C4);
	assert_int_equal(verify(c, JPKI_EF_SIGN_PIN, NULL), 0x63C5);
	jpki_buf_reset(&b1);
	jpki_buf_reset(&b2);
	assert_int_equal(jpki_card_serialize(c, &b1), 0);
	jpki_card_free(c);
	c = NULL;
	assert_int_equal(verify(d, JPKI_EF_SIGN_PIN, SIGN_PW), 0x9000);
	assert_int_equal(jpki_card_serialize(d, &b2), 0);
	assert_int_equal(b1.len, b2.len);
	assert_memory_equal(b1.data, b2.data, b1.len);
	jpki_card_free(d);
	d = NULL;
	assert_int_equal(jpki_card_dup(NULL, &d), JPKI_ERR_INVALID_ARG);
	/* The saved state is what a reload sees. */
	assert_int_equal(jpki_card_load(path, &d), 0);
	assert_int_equal(select_ap(d), 0x9000);
	assert_int_equal(verify(d, JPKI_EF_SIGN_PIN, NULL), 0x63C5);
	jpki_card_free(d);
	jpki_buf_free(&b1);
	jpki_buf_free(&b2);
	jpki_card_free(c);
}

/* Rewrite a serialized image with a valid header and checksum around records. */
static size_t
forge(uint8_t *out, uint16_t version, const uint8_t *records, size_t rlen)
{
	memcpy(out, "JPKICARD", 8);
	out[8] = (uint8_t)(version >> 8);
	out[9] = (uint8_t)version;
	out[10] = (uint8_t)(rlen >> 24);
	out[11] = (uint8_t)(rlen >> 16);
	out[12] = (uint8_t)(rlen >> 8);
	out[13] = (uint8_t)rlen;
	memcpy(out + 14, records, rlen);
	SHA256(out, 14 + rlen, out + 14 + rlen);
	return 14 + rlen + 32;
}

static void
test_cardfile_damage(void **state)
{
	char path[600];
	uint8_t *img = malloc(G.tmpl_len + 64), *recs;
	size_t len, rlen, i;
	jpki_card_t *c = NULL;
	int r, fd;

	assert_non_null(img);
	new_path(path, sizeof(path));
	/* Truncated at every length, through the file. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, G.tmpl, G.tmpl_len), (ssize_t)G.tmpl_len);
	for (len = G.tmpl_len; ; len--) {
		assert_int_equal(ftruncate(fd, (off_t)len), 0);
		r = jpki_card_load(path, &c);
		if (len == G.tmpl_len) {
			assert_int_equal(r, 0);
			jpki_card_free(c);
			c = NULL;
		} else {
			assert_int_equal(r, JPKI_ERR_FORMAT);
			assert_null(c);
		}
		if (len == 0)
			break;
	}
	close(fd);
	/* One byte longer. */
	memcpy(img, G.tmpl, G.tmpl_len);
	img[G.tmpl_len] = 0;
	assert_int_equal(jpki_card_parse(img, G.tmpl_len + 1, &c), JPKI_ERR_FORMAT);
	/* Every byte flipped (bit 0 and all bits). */
	for (i = 0; i < G.tmpl_len; i++) {
		uint8_t masks[2] = {0x01, 0xFF};
		int k;

		for (k = 0; k < 2; k++) {
			memcpy(img, G.tmpl, G.tmpl_len);
			img[i] ^= masks[k];
			r = jpki_card_parse(img, G.tmpl_len, &c);
			assert_null(c);
			if (i == 8 || i == 9)
				assert_int_equal(r, JPKI_ERR_VERSION);
			else
				assert_int_equal(r, JPKI_ERR_FORMAT);
		}
	}
	/* A flipped byte through the file too. */
	memcpy(img, G.tmpl, G.tmpl_len);
	img[G.tmpl_len / 2] ^= 0x40;
	write_file(path, img, G.tmpl_len);
	assert_int_equal(jpki_card_load(path, &c), JPKI_ERR_FORMAT);
	/* A foreign file. */
	write_file(path, (const uint8_t *)"-----BEGIN CERTIFICATE-----\n", 28);
	assert_int_equal(jpki_card_load(path, &c), JPKI_ERR_FORMAT);
	/* Too large to be a card file. */
	{
		uint8_t *huge = calloc(1, JPKI_CARD_FILE_MAX + 1);
		assert_non_null(huge);
		memcpy(huge, G.tmpl, G.tmpl_len);
		write_file(path, huge, JPKI_CARD_FILE_MAX + 1);
		assert_int_equal(jpki_card_load(path, &c), JPKI_ERR_FORMAT);
		free(huge);
	}

	/* Well-formed checksums around bad contents. */
	recs = G.tmpl + 14;
	rlen = G.tmpl_len - 14 - 32;
	{
		uint8_t *buf = malloc(G.tmpl_len + 64), *rr = malloc(rlen + 64);
		size_t n;

		assert_non_null(buf);
		assert_non_null(rr);
		/* An unknown version, with a good checksum. */
		n = forge(buf, 2, recs, rlen);
		assert_int_equal(jpki_card_parse(buf, n, &c), JPKI_ERR_VERSION);
		n = forge(buf, 0, recs, rlen);
		assert_int_equal(jpki_card_parse(buf, n, &c), JPKI_ERR_VERSION);
		/* The same version, good checksum: accepted (the forge is right). */
		n = forge(buf, 1, recs, rlen);
		assert_int_equal(jpki_card_parse(buf, n, &c), 0);
		jpki_card_free(c);
		c = NULL;
		/* An unknown record. */
		memcpy(rr, recs, rlen);
		memcpy(rr + rlen, "\x7F\x00\x01\x00", 4);
		n = forge(buf, 1, rr, rlen + 4);
		assert_int_equal(jpki_card_parse(buf, n, &c), JPKI_ERR_FORMAT);
		/* A duplicated KIND record (the first record: 01 0001 00). */
		memcpy(rr, recs, rlen);
		memcpy(rr + rlen, recs, 4);
		n = forge(buf, 1, rr, rlen + 4);
		assert_int_equal(jpki_card_parse(buf, n, &c), JPKI_ERR_FORMAT);
		/* A record running past the end. */
		memcpy(rr, recs, rlen);
		memcpy(rr + rlen, "\x10\x00\x09\x00\x0B", 5);
		n = forge(buf, 1, rr, rlen + 5);
		assert_int_equal(jpki_card_parse(buf, n, &c), JPKI_ERR_FORMAT);
		/* Missing required records (only the KIND record). */
		n = forge(buf, 1, recs, 4);
		assert_int_equal(jpki_card_parse(buf, n, &c), JPKI_ERR_FORMAT);
		/* Every prefix of the records, checksummed: never a crash, never accepted
		 * unless it is the whole. */
		for (i = 0; i < rlen; i++) {
			n = forge(buf, 1, recs, i);
			r = jpki_card_parse(buf, n, &c);
			if (r == 0) {
				jpki_card_free(c);
				c = NULL;
			}
			assert_true(r == 0 || r == JPKI_ERR_FORMAT);
		}
		free(buf);
		free(rr);
	}
	assert_int_equal(jpki_card_parse(NULL, 0, &c), JPKI_ERR_FORMAT);
	free(img);
}

/* A save that cannot be written: no answer, and the card stops answering. */
static void
test_save_failure(void **state)
{
	char path[700], dir[600];
	jpki_card_t *c = NULL;
	uint8_t rsp[JPKI_RAPDU_MAX];
	size_t rlen = 99;
	static const uint8_t wrong[] = {0x00, 0x20, 0x00, 0x80, 0x06, 'W', 'R', 'O', 'N', 'G', '1'};

	snprintf(dir, sizeof(dir), "%s/gone", G.dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/card", dir);
	write_file(path, G.tmpl, G.tmpl_len);
	assert_int_equal(jpki_card_load(path, &c), 0);
	assert_int_equal(select_ap(c), 0x9000);
	assert_int_equal(select_ef(c, JPKI_EF_SIGN_PIN), 0x9000);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_true(jpki_card_apdu(c, wrong, sizeof(wrong), rsp, &rlen) < 0);
	assert_int_equal(rlen, 0);
	assert_int_equal(jpki_card_apdu(c, wrong, 4, rsp, &rlen), JPKI_ERR_STATE);
	assert_int_equal(jpki_card_apdu(NULL, wrong, 4, rsp, &rlen), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_card_apdu(c, wrong, 4, NULL, &rlen), JPKI_ERR_INVALID_ARG);
	jpki_card_free(c);
}

/* ---- power cut during VERIFY (spec §3, L9) -------------------------------------------- */

struct cut {
	const char *step;
	int nth;     /* die at the nth time this step is reached */
	int seen;
};

static void
cut_hook(const char *step, void *arg)
{
	struct cut *cu = arg;

	if (strcmp(step, cu->step) == 0 && ++cu->seen == cu->nth)
		_exit(42);   /* the power goes */
}

/* In a child: one VERIFY, dying at the step.  Returns the tries left afterwards. */
static int
cut_power(const char *step, int nth, const char *pin)
{
	char path[600];
	struct cut cu = {step, nth, 0};
	jpki_card_t *c = NULL;
	uint8_t rsp[JPKI_RAPDU_MAX];
	size_t rlen;
	pid_t pid;
	int status = 0, sw;

	new_path(path, sizeof(path));
	write_file(path, G.tmpl, G.tmpl_len);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t cmd[64];
		size_t n = strlen(pin);

		/* No cmocka here: plain exit codes. */
		if (jpki_card_load(path, &c) != 0)
			_exit(1);
		jpki_card_set_hook(c, cut_hook, &cu);
		memcpy(cmd, "\x00\xA4\x04\x0C\x0A\xD3\x92\xF0\x00\x26\x01\x00\x00\x00\x01", 15);
		if (jpki_card_apdu(c, cmd, 15, rsp, &rlen) != 0)
			_exit(2);
		memcpy(cmd, "\x00\xA4\x02\x0C\x02\x00\x1B", 7);
		if (jpki_card_apdu(c, cmd, 7, rsp, &rlen) != 0)
			_exit(3);
		memcpy(cmd, "\x00\x20\x00\x80", 4);
		cmd[4] = (uint8_t)n;
		memcpy(cmd + 5, pin, n);
		jpki_card_apdu(c, cmd, 5 + n, rsp, &rlen);
		_exit(0);   /* the step was never reached */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 42);
	/* Whatever the moment, the file is loadable: the old state or the new. */
	assert_int_equal(jpki_card_load(path, &c), 0);
	assert_int_equal(select_ap(c), 0x9000);
	sw = verify(c, JPKI_EF_SIGN_PIN, NULL);
	jpki_card_free(c);
	assert_int_equal(sw & 0xFFF0, 0x63C0);
	return sw & 0x0F;
}

static void
test_power_cut_verify(void **state)
{
	/* A wrong try: once the comparison may have run, the try is spent. */
	assert_int_equal(cut_power("verify:before-save", 1, "WRONG1"), 5);
	assert_int_equal(cut_power("save:tmp-written", 1, "WRONG1"), 5);   /* old state */
	assert_int_equal(cut_power("save:renamed", 1, "WRONG1"), 4);
	assert_int_equal(cut_power("verify:after-save", 1, "WRONG1"), 4);
	assert_int_equal(cut_power("verify:after-compare", 1, "WRONG1"), 4);
	/* A right try: spent until the reset of the count is saved. */
	assert_int_equal(cut_power("verify:before-save", 1, SIGN_PW), 5);
	assert_int_equal(cut_power("verify:after-save", 1, SIGN_PW), 4);
	assert_int_equal(cut_power("verify:after-compare", 1, SIGN_PW), 4);
	assert_int_equal(cut_power("save:tmp-written", 2, SIGN_PW), 4);
	assert_int_equal(cut_power("save:renamed", 2, SIGN_PW), 5);
	assert_int_equal(cut_power("verify:reset-saved", 1, SIGN_PW), 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apdu_codec),
		cmocka_unit_test(test_status_words),
		cmocka_unit_test(test_read_certificate),
		cmocka_unit_test(test_verify_count_only),
		cmocka_unit_test(test_sign_pin_blocks),
		cmocka_unit_test(test_auth_pin_blocks),
		cmocka_unit_test(test_right_try_resets),
		cmocka_unit_test(test_change_reference_data),
		cmocka_unit_test(test_reselect_clears_security),
		cmocka_unit_test(test_unset_pins),
		cmocka_unit_test(test_issuer_auth),
		cmocka_unit_test(test_update_binary),
		cmocka_unit_test(test_compute_signature),
		cmocka_unit_test(test_cardfile_create),
		cmocka_unit_test(test_cardfile_roundtrip),
		cmocka_unit_test(test_cardfile_damage),
		cmocka_unit_test(test_save_failure),
		cmocka_unit_test(test_power_cut_verify),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
