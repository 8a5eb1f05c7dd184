/*
 * The JPKI applet: the card's own logic (spec §3), faithful enough that
 * OpenSC's jpki driver (card-jpki.c, pkcs15-jpki.c) works with it unchanged:
 *
 *   SELECT AP   00 A4 04 0C 0A <AID>         (P2 00 accepted too, no FCI)
 *   SELECT EF   00 A4 02 0C 02 <FID>
 *   READ BINARY 00 B0 <off hi> <off lo> <Le>  OpenSC reads 4 bytes at select
 *               time to learn a certificate's length, then reads in chunks
 *   VERIFY      00 20 00 80 [Lc <PIN>]        OpenSC's GET_INFO sends it with
 *               no data and wants SW1 = 63 whatever the login state, so the
 *               count-only form always answers 63Cx (never 9000)
 *   CHANGE REFERENCE DATA 00 24 01 80 Lc <new PIN>
 *   COMPUTE DIGITAL SIGNATURE 80 2A 00 80 Lc <DigestInfo> 00
 *
 * and the issuer operations of jpki/card.h (ours).
 *
 * Check order for every command: length < 4 (6700), CLA (6E00), INS (6D00),
 * short-APDU structure (6700), P1-P2 (6A86), the command's case / Lc / Le
 * (6700), then the card's state (6985, 6982, 6983, 6984, 6A82, 6B00, ...).
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "card/apdu.h"
#include "card/card_int.h"
#include "jpki/error.h"

const uint8_t jpki_card_atr[JPKI_CARD_ATR_LEN] = {
	0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14
};
const uint8_t jpki_aid_jpki[10] = {
	0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01
};
/* Other APs of the card (spec §3): selectable, but they hold no JPKI EFs. */
static const uint8_t aid_cardinfo[10] = {
	0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08
};
static const uint8_t aid_cardface[10] = {
	0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02
};

#define TOKEN_LEN 32               /* spec §3: a 32-byte space-padded ASCII label */
#define RSA_BYTES 256              /* RSA-2048 */
#define PKCS1_OVERHEAD 11          /* PKCS#1 v1.5 type 1: 00 01 FF*8.. 00 */
#define ISSUER_CTX "JPKI-ISSUER-AUTH"
#define ISSUER_CTX_LEN 16

static const uint8_t pin_max_tries[PIN_N] = {JPKI_AUTH_PIN_TRIES, JPKI_SIGN_PIN_TRIES};
static const uint16_t pin_fids[PIN_N] = {JPKI_EF_AUTH_PIN, JPKI_EF_SIGN_PIN};

/* A response under construction: data goes to rsp, the handler sets sw. */
struct resp {
	uint8_t *data;     /* JPKI_RAPDU_MAX - 2 bytes of room */
	size_t len;
	unsigned sw;
};

void
jpki_card_reset(jpki_card_t *card)
{
	if (card == NULL)
		return;
	card->ap = AP_NONE;
	card->ef = 0;
	card->verified[PIN_AUTH] = card->verified[PIN_SIGN] = 0;
	card->issuer_auth = 0;
	card->challenge_valid = 0;
	OPENSSL_cleanse(card->challenge, sizeof(card->challenge));
}

/* The index into certs[] of a certificate EF, or -1. */
static int
cert_index(uint16_t fid)
{
	switch (fid) {
	case JPKI_EF_SIGN_CERT: return CERT_SIGN;
	case JPKI_EF_SIGN_CA: return CERT_SIGN_CA;
	case JPKI_EF_AUTH_CERT: return CERT_AUTH;
	case JPKI_EF_AUTH_CA: return CERT_AUTH_CA;
	default: return -1;
	}
}

static int
pin_index(uint16_t fid)
{
	switch (fid) {
	case JPKI_EF_AUTH_PIN: return PIN_AUTH;
	case JPKI_EF_SIGN_PIN: return PIN_SIGN;
	default: return -1;
	}
}

/* A key EF's index; key i is usable after PIN i (spec §3 table). */
static int
key_index(uint16_t fid)
{
	switch (fid) {
	case JPKI_EF_AUTH_KEY: return PIN_AUTH;
	case JPKI_EF_SIGN_KEY: return PIN_SIGN;
	default: return -1;
	}
}

/*
 * Bring a PIN to the form the card hashes, in a fixed 16-byte zero-padded
 * buffer.  Returns 1 when it satisfies L9:
 *   signing password: 6-16 of A-Z 0-9, a-z taken as A-Z.  Letters only or
 *     digits only are accepted by the card: the "mix letters and digits"
 *     advice of L9 is enforced by the client software, not the card.
 *   auth PIN: exactly 4 digits.
 * An input over 16 bytes is cut (and invalid): it can never match.
 */
static int
pin_normalize(int which, const uint8_t *in, size_t n, uint8_t out[JPKI_PIN_MAX_LEN],
              size_t *outlen)
{
	size_t i, m = n > JPKI_PIN_MAX_LEN ? JPKI_PIN_MAX_LEN : n;
	int ok = n <= JPKI_PIN_MAX_LEN;
	uint8_t c;

	memset(out, 0, JPKI_PIN_MAX_LEN);
	for (i = 0; i < m; i++) {
		c = in[i];
		if (which == PIN_SIGN && c >= 'a' && c <= 'z')
			c = (uint8_t)(c - 'a' + 'A');
		if (c >= '0' && c <= '9')
			;
		else if (which == PIN_SIGN && c >= 'A' && c <= 'Z')
			;
		else
			ok = 0;
		out[i] = c;
	}
	*outlen = m;
	if (which == PIN_SIGN && (n < 6 || n > 16))
		ok = 0;
	if (which == PIN_AUTH && n != 4)
		ok = 0;
	return ok;
}

/* SHA-256("JPKI-PIN-V1" || salt || FID || len || PIN padded to 16): the stored form. */
static int
pin_hash(const jpki_card_t *card, int which, const uint8_t pin[JPKI_PIN_MAX_LEN],
         size_t len, uint8_t out[JPKI_PIN_HASH_LEN])
{
	static const char dom[] = "JPKI-PIN-V1";
	uint8_t meta[3] = {(uint8_t)(pin_fids[which] >> 8), (uint8_t)pin_fids[which],
	                   (uint8_t)len};
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	int r = JPKI_ERR_CRYPTO;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, dom, sizeof(dom) - 1) != 1 ||
	    EVP_DigestUpdate(ctx, card->salt, sizeof(card->salt)) != 1 ||
	    EVP_DigestUpdate(ctx, meta, sizeof(meta)) != 1 ||
	    EVP_DigestUpdate(ctx, pin, JPKI_PIN_MAX_LEN) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &mdlen) != 1 || mdlen != JPKI_PIN_HASH_LEN)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

/* A failed save: the card stops answering, as one that lost power. */
static int
save(jpki_card_t *card)
{
	int r;

	if ((r = jpki_card_save(card)) != 0)
		card->broken = 1;
	return r;
}

/* The 256-byte modulus of an RSA-2048 key. */
static int
modulus(EVP_PKEY *pk, uint8_t out[RSA_BYTES])
{
	BIGNUM *n = NULL;
	int r = JPKI_ERR_CRYPTO;

	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    BN_bn2binpad(n, out, RSA_BYTES) != RSA_BYTES)
		goto out;
	r = 0;
out:
	BN_free(n);
	return r;
}

/* ---- SELECT ---------------------------------------------------------------- */

static void
clear_security(jpki_card_t *card)
{
	card->verified[PIN_AUTH] = card->verified[PIN_SIGN] = 0;
	card->issuer_auth = 0;
	card->challenge_valid = 0;
	OPENSSL_cleanse(card->challenge, sizeof(card->challenge));
}

static int
cmd_select(jpki_card_t *card, const jpki_apdu_t *a, struct resp *rs)
{
	uint16_t fid;

	if ((a->p1 != 0x04 && a->p1 != 0x02) || (a->p2 != 0x0C && a->p2 != 0x00)) {
		rs->sw = SW_BAD_P1P2;
		return 0;
	}
	/* P2 0C: no response data, so no Le; P2 00 may carry one (we send no FCI). */
	if (!(a->iso_case == 3 || (a->iso_case == 4 && a->p2 == 0x00))) {
		rs->sw = SW_WRONG_LENGTH;
		return 0;
	}
	if (a->p1 == 0x04) {
		int ap = AP_NONE;

		if (a->lc == sizeof(jpki_aid_jpki) && memcmp(a->data, jpki_aid_jpki, a->lc) == 0)
			ap = AP_JPKI;
		else if (a->lc == sizeof(aid_cardinfo) &&
		         (memcmp(a->data, aid_cardinfo, a->lc) == 0 ||
		          memcmp(a->data, aid_cardface, a->lc) == 0))
			ap = AP_OTHER;
		if (ap == AP_NONE) {
			rs->sw = SW_NOT_FOUND;   /* a failed SELECT keeps the current state */
			return 0;
		}
		/* Spec §3: (re-)selecting the AP is the logout; it also ends issuer auth. */
		clear_security(card);
		card->ap = ap;
		card->ef = 0;
		rs->sw = SW_OK;
		return 0;
	}
	if (a->lc != 2) {
		rs->sw = SW_WRONG_LENGTH;
		return 0;
	}
	fid = (uint16_t)((a->data[0] << 8) | a->data[1]);
	if (card->ap != AP_JPKI ||
	    (fid != JPKI_EF_TOKEN && cert_index(fid) < 0 && pin_index(fid) < 0 &&
	     key_index(fid) < 0)) {
		rs->sw = SW_NOT_FOUND;
		return 0;
	}
	/* An empty certificate EF is selectable; reading it answers 6B00. */
	card->ef = fid;
	rs->sw = SW_OK;
	return 0;
}

/* ---- READ BINARY ------------------------------------------------------------ */

static int
cmd_read_binary(jpki_card_t *card, const jpki_apdu_t *a, struct resp *rs)
{
	uint8_t token[TOKEN_LEN];
	const uint8_t *content;
	size_t off, len, n;
	int ci;

	/* P1 bit 8 would address a short EF identifier, which the card has not. */
	if (a->p1 & 0x80) {
		rs->sw = SW_BAD_P1P2;
		return 0;
	}
	if (a->iso_case != 2) {
		rs->sw = SW_WRONG_LENGTH;
		return 0;
	}
	if (card->ap != AP_JPKI || card->ef == 0) {
		rs->sw = SW_CONDITIONS;
		return 0;
	}
	off = ((size_t)a->p1 << 8) | a->p2;
	if (card->ef == JPKI_EF_TOKEN) {
		const char *label = card->kind == JPKI_CARD_2004 ? "JPKIAPICCTOKEN" : "JPKIAPICCTOKEN2";

		memset(token, ' ', sizeof(token));
		memcpy(token, label, strlen(label));
		content = token;
		len = sizeof(token);
	} else if ((ci = cert_index(card->ef)) >= 0) {
		/* Spec §3: the signature certificate only after the signing password. */
		if (ci == CERT_SIGN && !card->verified[PIN_SIGN]) {
			rs->sw = SW_SECURITY;
			return 0;
		}
		content = card->certs[ci].data;
		len = card->certs[ci].len;
	} else {
		/* PIN and key EFs are never readable: the private key never leaves (L3). */
		rs->sw = SW_SECURITY;
		return 0;
	}
	if (off >= len) {
		rs->sw = SW_PAST_END;
		return 0;
	}
	/* A read running past the end returns what is left, 9000 (OpenSC reads in chunks). */
	n = len - off < a->le ? len - off : a->le;
	memcpy(rs->data, content + off, n);
	rs->len = n;
	rs->sw = SW_OK;
	return 0;
}

/* ---- PINs (L9) -------------------------------------------------------------- */

/* The selected PIN's index, or -1 with sw set. */
static int
selected_pin(const jpki_card_t *card, struct resp *rs)
{
	int pi;

	if (card->ap != AP_JPKI || (pi = pin_index(card->ef)) < 0) {
		rs->sw = SW_CONDITIONS;
		return -1;
	}
	return pi;
}

static int
cmd_verify(jpki_card_t *card, const jpki_apdu_t *a, struct resp *rs)
{
	uint8_t pin[JPKI_PIN_MAX_LEN], h[JPKI_PIN_HASH_LEN];
	struct card_pin *p;
	size_t plen = 0;
	/* Status words go in rs; r is an error only when the card file failed. */
	int pi, ok, match, r = 0;

	memset(pin, 0, sizeof(pin));
	memset(h, 0, sizeof(h));
	if (a->p1 != 0x00 || a->p2 != 0x80) {
		rs->sw = SW_BAD_P1P2;
		goto out;
	}
	if (a->iso_case != 1 && a->iso_case != 3) {
		rs->sw = SW_WRONG_LENGTH;
		goto out;
	}
	if ((pi = selected_pin(card, rs)) < 0)
		goto out;
	p = &card->pins[pi];
	if (a->iso_case == 1) {
		/* Count only: no try is spent (spec §3).  A blocked or unset PIN
		 * answers 63C0, which the spec treats as blocked: OpenSC's jpki
		 * driver reads both counts when it binds and gives up on anything
		 * but 63Cx, so 6983 here would hide even the free certificates. */
		rs->sw = SW_PIN_TRIES | (p->set ? p->tries : 0);
		goto out;
	}
	if (!p->set) {
		rs->sw = SW_REF_UNUSABLE;
		goto out;
	}
	if (p->tries == 0) {
		rs->sw = SW_BLOCKED;
		goto out;
	}
	ok = pin_normalize(pi, a->data, a->lc, pin, &plen);
	if (pin_hash(card, pi, pin, plen, h) != 0) {
		rs->sw = 0x6F00;
		goto out;
	}
	/*
	 * Spec §3 / L9: the try is counted and saved before the comparison, so
	 * cutting the power during VERIFY never gives a free try.
	 */
	jpki_card_hook(card, "verify:before-save");
	p->tries--;
	card->verified[pi] = 0;
	if ((r = save(card)) != 0)
		goto out;
	jpki_card_hook(card, "verify:after-save");
	/* Constant time over fixed-size digests of a fixed-size padded buffer. */
	match = (CRYPTO_memcmp(h, p->hash, sizeof(h)) == 0) & ok;
	jpki_card_hook(card, "verify:after-compare");
	if (!match) {
		/* 63C0 when this try blocked it. */
		rs->sw = SW_PIN_TRIES | p->tries;
		goto out;
	}
	/* L9: a right try resets the count. */
	p->tries = pin_max_tries[pi];
	if ((r = save(card)) != 0)
		goto out;
	jpki_card_hook(card, "verify:reset-saved");
	card->verified[pi] = 1;
	rs->sw = SW_OK;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}

/* Set PIN pi to the new value in data (CHANGE REFERENCE DATA, RESET RETRY COUNTER 02). */
static int
set_pin(jpki_card_t *card, int pi, const jpki_apdu_t *a, struct resp *rs)
{
	uint8_t pin[JPKI_PIN_MAX_LEN], h[JPKI_PIN_HASH_LEN];
	size_t plen = 0;
	int r = 0;

	if (!pin_normalize(pi, a->data, a->lc, pin, &plen)) {
		rs->sw = SW_WRONG_DATA;   /* L9 format */
		goto out;
	}
	if (pin_hash(card, pi, pin, plen, h) != 0) {
		rs->sw = 0x6F00;
		goto out;
	}
	memcpy(card->pins[pi].hash, h, sizeof(h));
	card->pins[pi].set = 1;
	card->pins[pi].tries = pin_max_tries[pi];
	if ((r = save(card)) != 0)
		goto out;
	rs->sw = SW_OK;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}

static int
cmd_change_reference_data(jpki_card_t *card, const jpki_apdu_t *a, struct resp *rs)
{
	int pi;

	/* P1 01: only the new value is sent, the old one was just verified. */
	if (a->p1 != 0x01 || a->p2 != 0x80) {
		rs->sw = SW_BAD_P1P2;
		return 0;
	}
	if (a->iso_case != 3) {
		rs->sw = SW_WRONG_LENGTH;
		return 0;
	}
	if ((pi = selected_pin(card, rs)) < 0)
		return 0;
	if (!card->pins[pi].set) {
		rs->sw = SW_REF_UNUSABLE;
		return 0;
	}
	if (card->pins[pi].tries == 0) {
		rs->sw = SW_BLOCKED;
		return 0;
	}
	if (!card->verified[pi]) {
		rs->sw = SW_SECURITY;
		return 0;
	}
	return set_pin(card, pi, a, rs);
}

/* ---- COMPUTE DIGITAL SIGNATURE ---------------------------------------------- */

static int
cmd_sign(jpki_card_t *card, const jpki_apdu_t *a, struct resp *rs)
{
	EVP_PKEY_CTX *ctx = NULL;
	size_t siglen = RSA_BYTES;
	int ki;

	if (a->p1 != 0x00 || a->p2 != 0x80) {
		rs->sw = SW_BAD_P1P2;
		goto out;
	}
	/* 80 2A 00 80 Lc data 00: the answer is 256 bytes, so Le must be 00. */
	if (a->iso_case != 4 || a->le != RSA_BYTES || a->lc > RSA_BYTES - PKCS1_OVERHEAD) {
		rs->sw = SW_WRONG_LENGTH;
		goto out;
	}
	if (card->ap != AP_JPKI || (ki = key_index(card->ef)) < 0) {
		rs->sw = SW_CONDITIONS;
		goto out;
	}
	if (!card->verified[ki]) {
		rs->sw = SW_SECURITY;
		goto out;
	}
	if (card->keys[ki] == NULL) {
		rs->sw = SW_CONDITIONS;
		goto out;
	}
	/* No digest set: PKCS#1 v1.5 type 1 over the caller's DigestInfo as is. */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, card->keys[ki], NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_sign(ctx, rs->data, &siglen, a->data, a->lc) != 1 ||
	    siglen != RSA_BYTES) {
		rs->sw = 0x6F00;   /* no precise diagnosis: the key failed */
		goto out;
	}
	rs->len = siglen;
	rs->sw = SW_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	return 0;
}

/* ---- Issuer operations (ours, jpki/card.h) ---------------------------------- */

static int
cmd_get_challenge(jpki_card_t *card, const jpki_apdu_t *a, struct resp *rs)
{
	if (a->p1 != 0 || a->p2 != 0) {
		rs->sw = SW_BAD_P1P2;
		return 0;
	}
	if (a->iso_case != 2 || a->le != JPKI_CHALLENGE_LEN) {
		rs->sw = SW_WRONG_LENGTH;
		return 0;
	}
	if (card->ap != AP_JPKI) {
		rs->sw = SW_CONDITIONS;
		return 0;
	}
	if (RAND_bytes(card->challenge, JPKI_CHALLENGE_LEN) != 1) {
		card->challenge_valid = 0;
		rs->sw = 0x6F00;
		return 0;
	}
	card->challenge_valid = 1;
	memcpy(rs->data, card->challenge, JPKI_CHALLENGE_LEN);
	rs->len = JPKI_CHALLENGE_LEN;
	rs->sw = SW_OK;
	return 0;
}

static int
cmd_external_authenticate(jpki_card_t *card, const jpki_apdu_t *a, struct resp *rs)
{
	uint8_t msg[ISSUER_CTX_LEN + JPKI_CHALLENGE_LEN];
	EVP_MD_CTX *ctx = NULL;
	int ok;

	if (a->p1 != 0 || a->p2 != 0) {
		rs->sw = SW_BAD_P1P2;
		goto out;
	}
	if (a->iso_case != 3) {
		rs->sw = SW_WRONG_LENGTH;
		goto out;
	}
	if (card->ap != AP_JPKI || !card->challenge_valid) {
		rs->sw = SW_CONDITIONS;
		goto out;
	}
	/* A challenge is good for one try, right or wrong: no replay. */
	memcpy(msg, ISSUER_CTX, ISSUER_CTX_LEN);
	memcpy(msg + ISSUER_CTX_LEN, card->challenge, JPKI_CHALLENGE_LEN);
	card->challenge_valid = 0;
	OPENSSL_cleanse(card->challenge, sizeof(card->challenge));
	card->issuer_auth = 0;
	ok = (ctx = EVP_MD_CTX_new()) != NULL &&
	     EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, card->issuer_pub) == 1 &&
	     EVP_DigestVerify(ctx, a->data, a->lc, msg, sizeof(msg)) == 1;
	if (!ok) {
		rs->sw = SW_VERIFY_FAIL;
		goto out;
	}
	card->issuer_auth = 1;
	rs->sw = SW_OK;
out:
	EVP_MD_CTX_free(ctx);
	return 0;
}

/* The checks every issuer command shares after P1-P2 and length: AP, issuer auth. */
static int
issuer_ok(const jpki_card_t *card, struct resp *rs)
{
	if (card->ap != AP_JPKI) {
		rs->sw = SW_CONDITIONS;
		return 0;
	}
	if (!card->issuer_auth) {
		rs->sw = SW_SECURITY;
		return 0;
	}
	return 1;
}

static int
cmd_key_pair(jpki_card_t *card, const jpki_apdu_t *a, struct resp *rs)
{
	EVP_PKEY *pk = NULL;
	int ki, r = 0;

	if ((a->p1 != 0x00 && a->p1 != 0x01) || a->p2 != 0x00) {
		rs->sw = SW_BAD_P1P2;
		goto out;
	}
	if (a->iso_case != 2 || a->le != RSA_BYTES) {
		rs->sw = SW_WRONG_LENGTH;
		goto out;
	}
	if (!issuer_ok(card, rs))
		goto out;
	if ((ki = key_index(card->ef)) < 0) {
		rs->sw = SW_CONDITIONS;
		goto out;
	}
	if (a->p1 == 0x01) {
		/* READ PUBLIC KEY */
		if (card->keys[ki] == NULL) {
			rs->sw = SW_NOT_FOUND;
			goto out;
		}
		if (modulus(card->keys[ki], rs->data) != 0) {
			rs->sw = 0x6F00;
			goto out;
		}
		rs->len = RSA_BYTES;
		rs->sw = SW_OK;
		goto out;
	}
	/* GENERATE KEY PAIR: RSA-2048, e = 65537 (spec §4); made on the card (L3). */
	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL ||
	    modulus(pk, rs->data) != 0) {
		rs->sw = 0x6F00;
		goto out;
	}
	if (jpki_card_set_key(card, ki, pk) != 0) {
		rs->sw = 0x6F00;
		goto out;
	}
	pk = NULL;
	if ((r = save(card)) != 0)
		goto out;
	rs->len = RSA_BYTES;
	rs->sw = SW_OK;
out:
	EVP_PKEY_free(pk);
	return r;
}

static int
cmd_erase_binary(jpki_card_t *card, const jpki_apdu_t *a, struct resp *rs)
{
	struct card_ef *ef;
	int ci;

	if (a->p1 != 0 || a->p2 != 0) {
		rs->sw = SW_BAD_P1P2;
		return 0;
	}
	if (a->iso_case != 1) {
		rs->sw = SW_WRONG_LENGTH;
		return 0;
	}
	if (!issuer_ok(card, rs))
		return 0;
	if ((ci = cert_index(card->ef)) < 0) {
		rs->sw = SW_CONDITIONS;
		return 0;
	}
	ef = &card->certs[ci];
	free(ef->data);
	ef->data = NULL;
	ef->len = 0;
	rs->sw = SW_OK;
	return save(card);
}

static int
cmd_update_binary(jpki_card_t *card, const jpki_apdu_t *a, struct resp *rs)
{
	struct card_ef *ef;
	uint8_t *nd;
	size_t off, end;
	int ci;

	if (a->p1 & 0x80) {
		rs->sw = SW_BAD_P1P2;
		return 0;
	}
	if (a->iso_case != 3) {
		rs->sw = SW_WRONG_LENGTH;
		return 0;
	}
	if (!issuer_ok(card, rs))
		return 0;
	if ((ci = cert_index(card->ef)) < 0) {
		rs->sw = SW_CONDITIONS;
		return 0;
	}
	ef = &card->certs[ci];
	off = ((size_t)a->p1 << 8) | a->p2;
	if (off > ef->len) {
		rs->sw = SW_PAST_END;   /* writes may extend the EF, never leave a hole */
		return 0;
	}
	end = off + a->lc;
	if (end > JPKI_CARD_EF_MAX) {
		rs->sw = SW_NO_SPACE;
		return 0;
	}
	if (end > ef->len) {
		if ((nd = realloc(ef->data, end)) == NULL) {
			rs->sw = 0x6F00;
			return 0;
		}
		ef->data = nd;
		ef->len = end;
	}
	memcpy(ef->data + off, a->data, a->lc);
	rs->sw = SW_OK;
	return save(card);
}

static int
cmd_reset_retry_counter(jpki_card_t *card, const jpki_apdu_t *a, struct resp *rs)
{
	int pi;

	/* P1 02: new PIN in the data; P1 03: count reset only. */
	if ((a->p1 != 0x02 && a->p1 != 0x03) || a->p2 != 0x80) {
		rs->sw = SW_BAD_P1P2;
		return 0;
	}
	if (a->iso_case != (a->p1 == 0x02 ? 3 : 1)) {
		rs->sw = SW_WRONG_LENGTH;
		return 0;
	}
	if (!issuer_ok(card, rs))
		return 0;
	if ((pi = selected_pin(card, rs)) < 0)
		return 0;
	card->verified[pi] = 0;
	if (a->p1 == 0x02)
		return set_pin(card, pi, a, rs);
	if (!card->pins[pi].set) {
		rs->sw = SW_REF_UNUSABLE;
		return 0;
	}
	card->pins[pi].tries = pin_max_tries[pi];
	rs->sw = SW_OK;
	return save(card);
}

/* ---- Dispatch ---------------------------------------------------------------- */

int
jpki_card_apdu(jpki_card_t *card, const uint8_t *cmd, size_t cmd_len,
               uint8_t *rsp, size_t *rsp_len)
{
	struct resp rs;
	jpki_apdu_t a;
	unsigned sw;
	int r = JPKI_ERR_INTERNAL;

	if (rsp_len != NULL)
		*rsp_len = 0;
	memset(&rs, 0, sizeof(rs));
	if (card == NULL || rsp == NULL || rsp_len == NULL || (cmd == NULL && cmd_len != 0)) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if (card->broken) {
		/* A save failed: the state in memory may be ahead of the file. */
		r = JPKI_ERR_STATE;
		goto out;
	}
	rs.data = rsp;
	rs.sw = SW_OK;
	if (cmd_len < 4) {
		rs.sw = SW_WRONG_LENGTH;
		goto answer;
	}
	/* CLA 00 for the ISO commands, 80 for COMPUTE DIGITAL SIGNATURE only. */
	if (cmd[0] != 0x00 && cmd[0] != 0x80) {
		rs.sw = SW_BAD_CLA;
		goto answer;
	}
	switch (cmd[1]) {
	case 0xA4: case 0xB0: case 0x20: case 0x24: case 0x84: case 0x82:
	case 0x46: case 0x0E: case 0xD6: case 0x2C:
		if (cmd[0] != 0x00)
			rs.sw = SW_BAD_INS;
		break;
	case 0x2A:
		if (cmd[0] != 0x80)
			rs.sw = SW_BAD_INS;
		break;
	default:
		rs.sw = SW_BAD_INS;
	}
	if (rs.sw != SW_OK)
		goto answer;
	if ((sw = (unsigned)jpki_apdu_parse(cmd, cmd_len, &a)) != 0) {
		rs.sw = sw;
		goto answer;
	}
	switch (a.ins) {
	case 0xA4: r = cmd_select(card, &a, &rs); break;
	case 0xB0: r = cmd_read_binary(card, &a, &rs); break;
	case 0x20: r = cmd_verify(card, &a, &rs); break;
	case 0x24: r = cmd_change_reference_data(card, &a, &rs); break;
	case 0x2A: r = cmd_sign(card, &a, &rs); break;
	case 0x84: r = cmd_get_challenge(card, &a, &rs); break;
	case 0x82: r = cmd_external_authenticate(card, &a, &rs); break;
	case 0x46: r = cmd_key_pair(card, &a, &rs); break;
	case 0x0E: r = cmd_erase_binary(card, &a, &rs); break;
	case 0xD6: r = cmd_update_binary(card, &a, &rs); break;
	case 0x2C: r = cmd_reset_retry_counter(card, &a, &rs); break;
	default: r = 0; rs.sw = SW_BAD_INS; break;
	}
	if (r != 0) {
		/* The card file could not be written: no answer at all. */
		OPENSSL_cleanse(rsp, JPKI_RAPDU_MAX);
		goto out;
	}
	/* Data only travels with 9000. */
	if (rs.sw != SW_OK)
		rs.len = 0;
answer:
	*rsp_len = jpki_apdu_sw(rsp, rs.len, rs.sw);
	r = 0;
out:
	return r;
}
