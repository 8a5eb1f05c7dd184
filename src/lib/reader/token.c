/*
 * The JPKI application from the client side (jpki/token.h), over any
 * transport.  Everything that comes back from a card is bounded: a response
 * never exceeds JPKI_RAPDU_MAX, a certificate never JPKI_CARD_EF_MAX.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "jpki/error.h"
#include "jpki/token.h"

#define RSA_BYTES 256
#define CHALLENGE_LEN 8
#define ISSUER_CTX "JPKI-ISSUER-AUTH"
#define ISSUER_CTX_LEN 16
#define PIN_MAX 16
#define UPDATE_CHUNK 255
#define READ_CHUNK 256

enum {
	INS_SELECT = 0xA4, INS_READ = 0xB0, INS_VERIFY = 0x20, INS_CHANGE = 0x24,
	INS_SIGN = 0x2A, INS_CHALLENGE = 0x84, INS_EXT_AUTH = 0x82, INS_KEYPAIR = 0x46,
	INS_ERASE = 0x0E, INS_UPDATE = 0xD6, INS_RESET_RETRY = 0x2C
};

static const uint16_t pin_fid[2] = {JPKI_EF_AUTH_PIN, JPKI_EF_SIGN_PIN};
static const uint16_t key_fid[2] = {JPKI_EF_AUTH_KEY, JPKI_EF_SIGN_KEY};
static const char *const pin_what[2] = {"authentication PIN", "signing password"};

static const char *
ins_name(uint8_t ins, uint8_t p1)
{
	switch (ins) {
	case INS_SELECT: return p1 == 0x04 ? "SELECT AP" : p1 == 0x02 ? "SELECT EF" : "SELECT";
	case INS_READ: return "READ BINARY";
	case INS_VERIFY: return "VERIFY";
	case INS_CHANGE: return "CHANGE REFERENCE DATA";
	case INS_SIGN: return "COMPUTE DIGITAL SIGNATURE";
	case INS_CHALLENGE: return "GET CHALLENGE";
	case INS_EXT_AUTH: return "EXTERNAL AUTHENTICATE";
	case INS_KEYPAIR:
		return p1 == 0x01 ? "READ PUBLIC KEY" : p1 == 0x00 ? "GENERATE KEY PAIR" : "KEY PAIR";
	case INS_ERASE: return "ERASE BINARY";
	case INS_UPDATE: return "UPDATE BINARY";
	case INS_RESET_RETRY: return "RESET RETRY COUNTER";
	default: return "a command";
	}
}

int
jpki_token_sw_error(const char *reader, uint8_t ins, uint8_t p1, unsigned sw)
{
	const char *what = "the card returned an unexpected status";
	int r;

	if (sw == 0x9000)
		return 0;
	if ((sw & 0xFFF0) == 0x63C0) {
		r = (sw & 0x0F) ? JPKI_ERR_PIN_WRONG : JPKI_ERR_PIN_BLOCKED;
		what = (sw & 0x0F) ? "wrong PIN" : "no tries left";
	} else {
		switch (sw) {
		case 0x6983: r = JPKI_ERR_PIN_BLOCKED; what = "blocked"; break;
		case 0x6984: r = JPKI_ERR_PIN_BLOCKED; what = "blocked or never set"; break;
		case 0x6300:
			r = ins == INS_EXT_AUTH ? JPKI_ERR_AUTH : JPKI_ERR_CARD;
			what = ins == INS_EXT_AUTH ? "the card has another issuer key" : what;
			break;
		case 0x6982: r = JPKI_ERR_SECURITY; what = "security status not satisfied"; break;
		case 0x6A82:
			r = ins == INS_SELECT && p1 == 0x04 ? JPKI_ERR_NOT_JPKI : JPKI_ERR_NOT_FOUND;
			what = "not found";
			break;
		case 0x6A80:
			r = (ins == INS_CHANGE || ins == INS_RESET_RETRY || ins == INS_VERIFY)
			        ? JPKI_ERR_PIN_FORMAT : JPKI_ERR_CARD;
			what = "incorrect data";
			break;
		case 0x6B00: r = JPKI_ERR_RANGE; what = "offset outside the file"; break;
		case 0x6A84: r = JPKI_ERR_TOO_LARGE; what = "not enough room in the file"; break;
		case 0x6985: r = JPKI_ERR_STATE; what = "conditions of use not satisfied"; break;
		case 0x6700: r = JPKI_ERR_CARD; what = "wrong length"; break;
		case 0x6A86: r = JPKI_ERR_CARD; what = "wrong P1-P2"; break;
		case 0x6D00: r = JPKI_ERR_CARD; what = "instruction not supported"; break;
		case 0x6E00: r = JPKI_ERR_CARD; what = "class not supported"; break;
		default: r = JPKI_ERR_CARD; break;
		}
	}
	if (reader != NULL)
		jpki_set_detail("reader '%s': the card answered %04X to %s (%s)", reader, sw & 0xFFFF,
		                ins_name(ins, p1), what);
	else
		jpki_set_detail("the card answered %04X to %s (%s)", sw & 0xFFFF, ins_name(ins, p1),
		                what);
	return r;
}

int
jpki_token_apdu(jpki_reader_t *rd, const uint8_t *cmd, size_t cmd_len,
                uint8_t *data, size_t data_max, size_t *data_len, unsigned *sw)
{
	uint8_t rsp[JPKI_RAPDU_MAX];
	size_t n = 0;
	int r = JPKI_ERR_INTERNAL;

	if (data_len != NULL)
		*data_len = 0;
	if (sw != NULL)
		*sw = 0;
	if (rd == NULL || cmd == NULL || data_len == NULL || sw == NULL ||
	    (data == NULL && data_max != 0)) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((r = jpki_reader_transmit(rd, cmd, cmd_len, rsp, sizeof(rsp), &n)) != 0)
		goto out;
	if (n - 2 > data_max) {
		jpki_set_detail("reader '%s': %zu bytes of answer to %s, at most %zu expected",
		                jpki_reader_name(rd), n - 2, ins_name(cmd[1], cmd[2]), data_max);
		r = JPKI_ERR_TOO_LARGE;
		goto out;
	}
	if (n > 2)
		memcpy(data, rsp, n - 2);
	*data_len = n - 2;
	*sw = ((unsigned)rsp[n - 2] << 8) | rsp[n - 1];
	r = 0;
out:
	OPENSSL_cleanse(rsp, sizeof(rsp));
	return r;
}

/*
 * Build and send a short APDU: lc bytes of data (0: none), le -1 for none or
 * 1..256 (256 goes as 00).  The status word becomes the return code; data
 * must come with 9000 only.
 */
static int
cmd(jpki_reader_t *rd, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data,
    size_t lc, int le, uint8_t *out, size_t out_max, size_t *out_len, unsigned *swp)
{
	uint8_t apdu[JPKI_APDU_MAX];
	size_t n = 0, got = 0;
	unsigned sw = 0;
	int r = JPKI_ERR_INTERNAL;

	if (out_len != NULL)
		*out_len = 0;
	if (swp != NULL)
		*swp = 0;
	if (lc > 255 || le > 256) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	apdu[n++] = cla;
	apdu[n++] = ins;
	apdu[n++] = p1;
	apdu[n++] = p2;
	if (lc > 0) {
		apdu[n++] = (uint8_t)lc;
		memcpy(apdu + n, data, lc);
		n += lc;
	}
	if (le >= 0)
		apdu[n++] = (uint8_t)(le & 0xFF);
	if ((r = jpki_token_apdu(rd, apdu, n, out, out_max, &got, &sw)) != 0)
		goto out;
	if (swp != NULL)
		*swp = sw;
	if ((r = jpki_token_sw_error(jpki_reader_name(rd), ins, p1, sw)) != 0)
		goto out;
	if (out_len != NULL)
		*out_len = got;
	r = 0;
out:
	OPENSSL_cleanse(apdu, sizeof(apdu));
	return r;
}

int
jpki_token_select_ap(jpki_reader_t *rd)
{
	int r = cmd(rd, 0x00, INS_SELECT, 0x04, 0x0C, jpki_aid_jpki, sizeof(jpki_aid_jpki), -1,
	            NULL, 0, NULL, NULL);

	if (r == JPKI_ERR_NOT_JPKI)
		jpki_set_detail("reader '%s': the card has no JPKI application (SELECT answered "
		                "6A82)", jpki_reader_name(rd));
	return r;
}

int
jpki_token_select_ef(jpki_reader_t *rd, uint16_t fid)
{
	uint8_t d[2] = {(uint8_t)(fid >> 8), (uint8_t)fid};
	int r = cmd(rd, 0x00, INS_SELECT, 0x02, 0x0C, d, 2, -1, NULL, 0, NULL, NULL);

	if (r == JPKI_ERR_NOT_FOUND)
		jpki_set_detail("reader '%s': EF %04X not found (is the JPKI AP selected?)",
		                jpki_reader_name(rd), fid);
	return r;
}

/* READ BINARY of up to want bytes at off. */
static int
read_binary(jpki_reader_t *rd, size_t off, size_t want, uint8_t *out, size_t *got)
{
	return cmd(rd, 0x00, INS_READ, (uint8_t)(off >> 8), (uint8_t)off, NULL, 0, (int)want,
	           out, want, got, NULL);
}

int
jpki_token_label(jpki_reader_t *rd, char label[JPKI_TOKEN_LABEL_MAX], jpki_card_kind_t *kind)
{
	uint8_t buf[32];
	size_t n = 0, i;
	int r;

	if (label != NULL)
		label[0] = '\0';
	if (kind != NULL)
		*kind = JPKI_CARD_MYNUMBER;
	if (rd == NULL || label == NULL)
		return JPKI_ERR_INVALID_ARG;
	if ((r = jpki_token_select_ef(rd, JPKI_EF_TOKEN)) != 0 ||
	    (r = read_binary(rd, 0, sizeof(buf), buf, &n)) != 0)
		return r;
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\0'))
		n--;
	for (i = 0; i < n; i++) {
		if (buf[i] < 0x20 || buf[i] > 0x7E) {
			jpki_set_detail("reader '%s': the token label is not ASCII", jpki_reader_name(rd));
			return JPKI_ERR_NOT_JPKI;
		}
	}
	memcpy(label, buf, n);
	label[n] = '\0';
	if (strcmp(label, "JPKIAPICCTOKEN2") == 0) {
		if (kind != NULL)
			*kind = JPKI_CARD_MYNUMBER;
	} else if (strcmp(label, "JPKIAPICCTOKEN") == 0) {
		if (kind != NULL)
			*kind = JPKI_CARD_2004;
	} else {
		jpki_set_detail("reader '%s': unknown token label '%s'", jpki_reader_name(rd), label);
		label[0] = '\0';
		return JPKI_ERR_NOT_JPKI;
	}
	return 0;
}

int
jpki_token_read_cert(jpki_reader_t *rd, uint16_t fid, uint8_t **der, size_t *der_len)
{
	uint8_t *buf = NULL;
	size_t total, off, n = 0, want;
	int r = JPKI_ERR_INTERNAL;

	if (der != NULL)
		*der = NULL;
	if (der_len != NULL)
		*der_len = 0;
	if (rd == NULL || der == NULL || der_len == NULL) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((r = jpki_token_select_ef(rd, fid)) != 0)
		goto out;
	if ((buf = malloc(JPKI_CARD_EF_MAX)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if ((r = read_binary(rd, 0, 4, buf, &n)) != 0) {
		if (r == JPKI_ERR_RANGE) {
			/* 6B00 at offset 0: an empty EF. */
			jpki_set_detail("reader '%s': EF %04X holds no certificate",
			                jpki_reader_name(rd), fid);
			r = JPKI_ERR_NOT_FOUND;
		} else if (r == JPKI_ERR_SECURITY && fid == JPKI_EF_SIGN_CERT) {
			jpki_set_detail("reader '%s': the signature certificate can be read only after "
			                "the signing password", jpki_reader_name(rd));
		}
		goto out;
	}
	if (n != 4 || buf[0] != 0x30 || buf[1] != 0x82) {
		jpki_set_detail("reader '%s': EF %04X does not start with a DER certificate",
		                jpki_reader_name(rd), fid);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	total = 4 + (((size_t)buf[2] << 8) | buf[3]);
	if (total > JPKI_CARD_EF_MAX) {
		jpki_set_detail("reader '%s': EF %04X claims a %zu-byte certificate (at most %d)",
		                jpki_reader_name(rd), fid, total, JPKI_CARD_EF_MAX);
		r = JPKI_ERR_TOO_LARGE;
		goto out;
	}
	for (off = 4; off < total; off += n) {
		want = total - off > READ_CHUNK ? READ_CHUNK : total - off;
		if ((r = read_binary(rd, off, want, buf + off, &n)) != 0) {
			if (r == JPKI_ERR_RANGE) {
				jpki_set_detail("reader '%s': EF %04X ends at %zu bytes, its certificate "
				                "claims %zu", jpki_reader_name(rd), fid, off, total);
				r = JPKI_ERR_TRUNCATED;
			}
			goto out;
		}
		if (n == 0) {
			jpki_set_detail("reader '%s': EF %04X: an empty READ BINARY answer at %zu",
			                jpki_reader_name(rd), fid, off);
			r = JPKI_ERR_TRUNCATED;
			goto out;
		}
	}
	*der = buf;
	*der_len = total;
	buf = NULL;
	r = 0;
out:
	free(buf);
	return r;
}

int
jpki_token_read_x509(jpki_reader_t *rd, uint16_t fid, X509 **out)
{
	uint8_t *der = NULL;
	const uint8_t *p;
	size_t len = 0;
	X509 *x = NULL;
	int r;

	if (out != NULL)
		*out = NULL;
	if (out == NULL)
		return JPKI_ERR_INVALID_ARG;
	if ((r = jpki_token_read_cert(rd, fid, &der, &len)) != 0)
		goto out;
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len) {
		ERR_clear_error();
		jpki_set_detail("reader '%s': EF %04X holds no valid certificate",
		                jpki_reader_name(rd), fid);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	*out = x;
	x = NULL;
	r = 0;
out:
	X509_free(x);
	free(der);
	return r;
}

static int
pin_kind_ok(jpki_pin_kind_t which)
{
	return which == JPKI_PIN_AUTH || which == JPKI_PIN_SIGN;
}

int
jpki_token_pin_status(jpki_reader_t *rd, jpki_pin_kind_t which, int *tries)
{
	unsigned sw = 0;
	int r;

	if (tries != NULL)
		*tries = 0;
	if (rd == NULL || tries == NULL || !pin_kind_ok(which))
		return JPKI_ERR_INVALID_ARG;
	if ((r = jpki_token_select_ef(rd, pin_fid[which])) != 0)
		return r;
	r = cmd(rd, 0x00, INS_VERIFY, 0x00, 0x80, NULL, 0, -1, NULL, 0, NULL, &sw);
	/* The count-only VERIFY answers 63Cx; 9000 (a card that says "already
	 * verified") leaves the count unknown, which we report as full. */
	if (r == JPKI_ERR_PIN_WRONG) {
		*tries = (int)(sw & 0x0F);
		return 0;
	}
	if (r == JPKI_ERR_PIN_BLOCKED) {
		*tries = 0;
		return 0;
	}
	if (r == 0) {
		*tries = which == JPKI_PIN_AUTH ? JPKI_AUTH_PIN_TRIES : JPKI_SIGN_PIN_TRIES;
		return 0;
	}
	return r;
}

int
jpki_token_pin_check(jpki_pin_kind_t which, const char *pin, int new_value)
{
	size_t i, n;
	int letters = 0, digits = 0;

	if (pin == NULL || !pin_kind_ok(which))
		return JPKI_ERR_INVALID_ARG;
	n = strlen(pin);
	if (which == JPKI_PIN_AUTH) {
		if (n != 4)
			goto bad;
		for (i = 0; i < n; i++)
			if (pin[i] < '0' || pin[i] > '9')
				goto bad;
		return 0;
	}
	if (n < 6 || n > PIN_MAX)
		goto bad;
	for (i = 0; i < n; i++) {
		if (pin[i] >= '0' && pin[i] <= '9')
			digits = 1;
		else if ((pin[i] >= 'A' && pin[i] <= 'Z') || (pin[i] >= 'a' && pin[i] <= 'z'))
			letters = 1;
		else
			goto bad;
	}
	if (new_value && !(letters && digits)) {
		jpki_set_detail("a new signing password mixes letters and digits (L9)");
		return JPKI_ERR_PIN_FORMAT;
	}
	return 0;
bad:
	if (which == JPKI_PIN_AUTH)
		jpki_set_detail("the authentication PIN is 4 digits");
	else
		jpki_set_detail("the signing password is 6 to 16 letters A-Z and digits 0-9");
	return JPKI_ERR_PIN_FORMAT;
}

int
jpki_token_verify_pin(jpki_reader_t *rd, jpki_pin_kind_t which, const char *pin,
                      int *tries_left)
{
	unsigned sw = 0;
	int r;

	if (tries_left != NULL)
		*tries_left = 0;
	if (rd == NULL || pin == NULL || !pin_kind_ok(which))
		return JPKI_ERR_INVALID_ARG;
	if ((r = jpki_token_pin_check(which, pin, 0)) != 0)
		return r;
	if ((r = jpki_token_select_ef(rd, pin_fid[which])) != 0)
		return r;
	r = cmd(rd, 0x00, INS_VERIFY, 0x00, 0x80, pin, strlen(pin), -1, NULL, 0, NULL, &sw);
	if (r == JPKI_ERR_PIN_WRONG) {
		if (tries_left != NULL)
			*tries_left = (int)(sw & 0x0F);
		jpki_set_detail("wrong %s: %u tr%s left", pin_what[which], sw & 0x0F,
		                (sw & 0x0F) == 1 ? "y" : "ies");
	} else if (r == JPKI_ERR_PIN_BLOCKED) {
		jpki_set_detail("the %s is blocked after %d wrong tries; have it initialized at the "
		                "municipal office", pin_what[which],
		                which == JPKI_PIN_AUTH ? JPKI_AUTH_PIN_TRIES : JPKI_SIGN_PIN_TRIES);
	}
	return r;
}

int
jpki_token_change_pin(jpki_reader_t *rd, jpki_pin_kind_t which, const char *old_pin,
                      const char *new_pin, int *tries_left)
{
	int r;

	if (tries_left != NULL)
		*tries_left = 0;
	if (rd == NULL || old_pin == NULL || new_pin == NULL || !pin_kind_ok(which))
		return JPKI_ERR_INVALID_ARG;
	/* Check the new value first: a refused change should not cost a try. */
	if ((r = jpki_token_pin_check(which, new_pin, 1)) != 0)
		return r;
	if ((r = jpki_token_verify_pin(rd, which, old_pin, tries_left)) != 0)
		return r;
	return cmd(rd, 0x00, INS_CHANGE, 0x01, 0x80, new_pin, strlen(new_pin), -1, NULL, 0,
	           NULL, NULL);
}

void
jpki_token_digestinfo_sha256(const uint8_t hash[32], uint8_t out[JPKI_DIGESTINFO_SHA256_LEN])
{
	static const uint8_t prefix[19] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
	};

	memcpy(out, prefix, sizeof(prefix));
	memcpy(out + sizeof(prefix), hash, 32);
}

int
jpki_token_sign(jpki_reader_t *rd, jpki_pin_kind_t which, const uint8_t *digestinfo,
                size_t len, uint8_t sig[JPKI_SIG_LEN])
{
	uint8_t buf[RSA_BYTES];
	size_t n = 0;
	int r = JPKI_ERR_INTERNAL;

	if (rd == NULL || digestinfo == NULL || len == 0 || len > RSA_BYTES - 11 ||
	    sig == NULL || !pin_kind_ok(which)) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((r = jpki_token_select_ef(rd, key_fid[which])) != 0)
		goto out;
	r = cmd(rd, 0x80, INS_SIGN, 0x00, 0x80, digestinfo, len, 256, buf, sizeof(buf), &n, NULL);
	if (r == JPKI_ERR_SECURITY)
		jpki_set_detail("reader '%s': the %s was not verified in this session",
		                jpki_reader_name(rd), pin_what[which]);
	if (r != 0)
		goto out;
	if (n != RSA_BYTES) {
		jpki_set_detail("reader '%s': a %zu-byte signature, 256 expected",
		                jpki_reader_name(rd), n);
		r = JPKI_ERR_CARD;
		goto out;
	}
	memcpy(sig, buf, RSA_BYTES);
	r = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

/* ---- Issuer operations ----------------------------------------------------- */

int
jpki_token_issuer_auth(jpki_reader_t *rd, EVP_PKEY *issuer_key)
{
	uint8_t ch[CHALLENGE_LEN], msg[ISSUER_CTX_LEN + CHALLENGE_LEN], sig[128];
	size_t n = 0, siglen = sizeof(sig);
	EVP_MD_CTX *m = NULL;
	int r = JPKI_ERR_INTERNAL;

	if (rd == NULL || issuer_key == NULL || !EVP_PKEY_is_a(issuer_key, "EC")) {
		jpki_set_detail("the issuer key is an ECDSA P-256 private key");
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((r = jpki_token_select_ap(rd)) != 0 ||
	    (r = cmd(rd, 0x00, INS_CHALLENGE, 0x00, 0x00, NULL, 0, CHALLENGE_LEN, ch, sizeof(ch),
	             &n, NULL)) != 0)
		goto out;
	if (n != CHALLENGE_LEN) {
		jpki_set_detail("reader '%s': a %zu-byte challenge, 8 expected", jpki_reader_name(rd),
		                n);
		r = JPKI_ERR_CARD;
		goto out;
	}
	memcpy(msg, ISSUER_CTX, ISSUER_CTX_LEN);
	memcpy(msg + ISSUER_CTX_LEN, ch, CHALLENGE_LEN);
	if ((m = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, issuer_key) != 1 ||
	    EVP_DigestSign(m, sig, &siglen, msg, sizeof(msg)) != 1) {
		ERR_clear_error();
		jpki_set_detail("signing the issuer challenge failed");
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	r = cmd(rd, 0x00, INS_EXT_AUTH, 0x00, 0x00, sig, siglen, -1, NULL, 0, NULL, NULL);
	if (r == JPKI_ERR_AUTH)
		jpki_set_detail("reader '%s': the card refused the issuer key (it was created for "
		                "another issuer)", jpki_reader_name(rd));
out:
	EVP_MD_CTX_free(m);
	return r;
}

/* An RSA public key from a 256-byte modulus and e = 65537. */
static int
rsa_from_modulus(const uint8_t mod[RSA_BYTES], EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	int r = JPKI_ERR_CRYPTO;

	*out = NULL;
	if ((n = BN_bin2bn(mod, RSA_BYTES, NULL)) == NULL || (e = BN_new()) == NULL ||
	    BN_set_word(e, 65537) != 1)
		goto out;
	if (BN_num_bits(n) != 2048) {
		jpki_set_detail("the card answered a %d-bit modulus, 2048 expected", BN_num_bits(n));
		r = JPKI_ERR_CARD;
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	r = 0;
out:
	if (r != 0)
		ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

static int
key_pair(jpki_reader_t *rd, jpki_pin_kind_t which, uint8_t p1, EVP_PKEY **pub)
{
	uint8_t mod[RSA_BYTES];
	size_t n = 0;
	int r = JPKI_ERR_INTERNAL;

	if (pub != NULL)
		*pub = NULL;
	if (rd == NULL || pub == NULL || !pin_kind_ok(which)) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((r = jpki_token_select_ef(rd, key_fid[which])) != 0 ||
	    (r = cmd(rd, 0x00, INS_KEYPAIR, p1, 0x00, NULL, 0, 256, mod, sizeof(mod), &n,
	             NULL)) != 0)
		goto out;
	if (n != RSA_BYTES) {
		jpki_set_detail("reader '%s': a %zu-byte modulus, 256 expected", jpki_reader_name(rd),
		                n);
		r = JPKI_ERR_CARD;
		goto out;
	}
	r = rsa_from_modulus(mod, pub);
out:
	if (r == JPKI_ERR_NOT_FOUND && p1 == 0x01)
		jpki_set_detail("reader '%s': the card has no %s key", jpki_reader_name(rd),
		                which == JPKI_PIN_AUTH ? "authentication" : "signature");
	return r;
}

int
jpki_token_generate_key(jpki_reader_t *rd, jpki_pin_kind_t which, EVP_PKEY **pub)
{
	return key_pair(rd, which, 0x00, pub);
}

int
jpki_token_read_pubkey(jpki_reader_t *rd, jpki_pin_kind_t which, EVP_PKEY **pub)
{
	return key_pair(rd, which, 0x01, pub);
}

int
jpki_token_write_cert(jpki_reader_t *rd, uint16_t fid, const uint8_t *der, size_t len)
{
	size_t off, n;
	int r;

	if (rd == NULL || der == NULL || len == 0 || len > JPKI_CARD_EF_MAX)
		return JPKI_ERR_INVALID_ARG;
	if ((r = jpki_token_select_ef(rd, fid)) != 0 ||
	    (r = cmd(rd, 0x00, INS_ERASE, 0x00, 0x00, NULL, 0, -1, NULL, 0, NULL, NULL)) != 0)
		return r;
	for (off = 0; off < len; off += n) {
		n = len - off > UPDATE_CHUNK ? UPDATE_CHUNK : len - off;
		if ((r = cmd(rd, 0x00, INS_UPDATE, (uint8_t)(off >> 8), (uint8_t)off, der + off, n,
		             -1, NULL, 0, NULL, NULL)) != 0)
			return r;
	}
	return 0;
}

int
jpki_token_set_pin(jpki_reader_t *rd, jpki_pin_kind_t which, const char *pin)
{
	int r;

	if (rd == NULL || pin == NULL || !pin_kind_ok(which))
		return JPKI_ERR_INVALID_ARG;
	if ((r = jpki_token_pin_check(which, pin, 1)) != 0 ||
	    (r = jpki_token_select_ef(rd, pin_fid[which])) != 0)
		return r;
	return cmd(rd, 0x00, INS_RESET_RETRY, 0x02, 0x80, pin, strlen(pin), -1, NULL, 0, NULL,
	           NULL);
}

int
jpki_token_reset_counter(jpki_reader_t *rd, jpki_pin_kind_t which)
{
	int r;

	if (rd == NULL || !pin_kind_ok(which))
		return JPKI_ERR_INVALID_ARG;
	if ((r = jpki_token_select_ef(rd, pin_fid[which])) != 0)
		return r;
	return cmd(rd, 0x00, INS_RESET_RETRY, 0x03, 0x80, NULL, 0, -1, NULL, 0, NULL, NULL);
}
