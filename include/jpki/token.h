/*
 * The JPKI application seen from the client side: what every program of ours
 * does with a card through a jpki_reader_t (PC/SC or in-process), and the
 * issuer operations of jpki/card.h (ours) that the municipal window and the
 * test tools use to personalize a card.
 *
 * A session: jpki_token_select_ap() first (it is also the logout: the card
 * forgets verified PINs and issuer authentication), then any of the calls
 * below; a PIN verified with jpki_token_verify_pin() holds until the next
 * jpki_token_select_ap(), reset or card removal.
 *
 * Every status word becomes a JPKI_ERR_* code in one function,
 * jpki_token_sw_error(); the thread's detail names the reader, the command
 * and the status word.
 */
#ifndef JPKI_TOKEN_H
#define JPKI_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jpki/card.h"
#include "jpki/reader.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The two PINs (and the two keys they open). */
typedef enum jpki_pin_kind {
	JPKI_PIN_AUTH = 0,   /* 4 digits, 3 tries; opens the authentication key (0017) */
	JPKI_PIN_SIGN = 1    /* signing password, 6-16 A-Z 0-9, 5 tries; opens 001A */
} jpki_pin_kind_t;

#define JPKI_TOKEN_LABEL_MAX 33      /* 32 ASCII bytes + NUL */
#define JPKI_SIG_LEN 256             /* RSA-2048 */
#define JPKI_DIGESTINFO_SHA256_LEN 51

/*
 * The status word sw answered to a command (instruction ins, parameter p1), as a
 * library code: 9000 -> 0; 63Cx (x > 0) -> JPKI_ERR_PIN_WRONG; 63C0, 6983,
 * 6984 -> JPKI_ERR_PIN_BLOCKED; 6300 (EXTERNAL AUTHENTICATE) -> JPKI_ERR_AUTH;
 * 6982 -> JPKI_ERR_SECURITY; 6A82 -> JPKI_ERR_NOT_JPKI for SELECT by AID (P1 04),
 * JPKI_ERR_NOT_FOUND otherwise; 6A80 to a PIN command -> JPKI_ERR_PIN_FORMAT;
 * 6B00 -> JPKI_ERR_RANGE; 6A84 -> JPKI_ERR_TOO_LARGE; 6985 -> JPKI_ERR_STATE;
 * anything else -> JPKI_ERR_CARD.  Sets the detail (reader may be NULL).
 */
int jpki_token_sw_error(const char *reader, uint8_t ins, uint8_t p1, unsigned sw);

/*
 * Send one APDU and split the answer: data (at most data_max bytes, may be
 * NULL when data_max is 0) and *sw.  Returns 0 whenever the card answered,
 * whatever the status word; a transport error otherwise.  For commands this
 * header has no call for.
 */
int jpki_token_apdu(jpki_reader_t *rd, const uint8_t *cmd, size_t cmd_len,
                    uint8_t *data, size_t data_max, size_t *data_len, unsigned *sw);

/* SELECT the JPKI AP (00 A4 04 0C 0A D392F000260100000001): the start of a
 * session and the logout.  JPKI_ERR_NOT_JPKI when the card has no such AP. */
int jpki_token_select_ap(jpki_reader_t *rd);
/* SELECT an EF of the JPKI AP (00 A4 02 0C 02 <fid>). */
int jpki_token_select_ef(jpki_reader_t *rd, uint16_t fid);

/* The token label of EF 0006 without its space padding ("JPKIAPICCTOKEN2"),
 * into label (JPKI_TOKEN_LABEL_MAX bytes), and the card kind it means.
 * JPKI_ERR_NOT_JPKI for any other label.  kind may be NULL. */
int jpki_token_label(jpki_reader_t *rd, char label[JPKI_TOKEN_LABEL_MAX],
                     jpki_card_kind_t *kind);

/*
 * Read a certificate EF whole: 4 bytes (30 82 LL LL) for the length, then
 * chunks of at most 256 bytes, never more than JPKI_CARD_EF_MAX in all.
 * *der is malloc'd (free with free()).  JPKI_ERR_NOT_FOUND when the EF is
 * empty; JPKI_ERR_SECURITY for the signature certificate before the signing
 * password; JPKI_ERR_FORMAT when the EF does not start as a long DER SEQUENCE.
 */
int jpki_token_read_cert(jpki_reader_t *rd, uint16_t fid, uint8_t **der, size_t *der_len);
/* The same, parsed (JPKI_ERR_FORMAT when it is no certificate). X509_free(). */
int jpki_token_read_x509(jpki_reader_t *rd, uint16_t fid, X509 **out);

/*
 * A PIN's tries left without spending one (VERIFY with no data): *tries is
 * 0..5, 0 meaning blocked (or never set: the card says 6984 for both).
 */
int jpki_token_pin_status(jpki_reader_t *rd, jpki_pin_kind_t which, int *tries);
/*
 * Check a PIN against the L9 format before it goes to the card (a wrong
 * format would cost a try): auth 4 digits; signing password 6-16 of A-Z a-z
 * 0-9.  new_value: a value being set also needs letters and digits mixed.
 * JPKI_ERR_PIN_FORMAT with a detail otherwise.
 */
int jpki_token_pin_check(jpki_pin_kind_t which, const char *pin, int new_value);
/*
 * VERIFY a PIN.  0: verified (the key is usable until the logout).
 * JPKI_ERR_PIN_WRONG: *tries_left (when not NULL) says how many remain, the
 * one output set on a failure; JPKI_ERR_PIN_BLOCKED: none remain.
 * JPKI_ERR_PIN_FORMAT: refused before sending, no try spent.
 */
int jpki_token_verify_pin(jpki_reader_t *rd, jpki_pin_kind_t which, const char *pin,
                          int *tries_left);
/* VERIFY the old value, then CHANGE REFERENCE DATA (00 24 01 80) to the new
 * one (which must pass jpki_token_pin_check(which, new, 1)).  tries_left as
 * for jpki_token_verify_pin(). */
int jpki_token_change_pin(jpki_reader_t *rd, jpki_pin_kind_t which, const char *old_pin,
                          const char *new_pin, int *tries_left);

/* The DER DigestInfo of a SHA-256 hash (51 bytes) for jpki_token_sign(). */
void jpki_token_digestinfo_sha256(const uint8_t hash[32],
                                  uint8_t out[JPKI_DIGESTINFO_SHA256_LEN]);
/*
 * COMPUTE DIGITAL SIGNATURE (80 2A 00 80) with the key that PIN which opens,
 * over a DER DigestInfo (at most 245 bytes): RSASSA-PKCS1-v1_5, 256 bytes into
 * sig.  JPKI_ERR_SECURITY unless the PIN was verified in this session.
 */
int jpki_token_sign(jpki_reader_t *rd, jpki_pin_kind_t which, const uint8_t *digestinfo,
                    size_t len, uint8_t sig[JPKI_SIG_LEN]);

/* ---- Issuer operations (ours, jpki/card.h) ------------------------------- */

/*
 * Select the AP, then GET CHALLENGE + EXTERNAL AUTHENTICATE with an ECDSA
 * P-256 signature (SHA-256, DER) by issuer_key over "JPKI-ISSUER-AUTH" ||
 * challenge.  The issuer operations below are allowed until the next AP
 * selection or reset.  JPKI_ERR_AUTH when the card has another issuer key.
 */
int jpki_token_issuer_auth(jpki_reader_t *rd, EVP_PKEY *issuer_key);
/* GENERATE KEY PAIR for key which (a new RSA-2048 key replaces the old one);
 * *pub is the public key, e = 65537 (EVP_PKEY_free()). */
int jpki_token_generate_key(jpki_reader_t *rd, jpki_pin_kind_t which, EVP_PKEY **pub);
/* READ PUBLIC KEY of key which; JPKI_ERR_NOT_FOUND when the card has none. */
int jpki_token_read_pubkey(jpki_reader_t *rd, jpki_pin_kind_t which, EVP_PKEY **pub);
/* ERASE BINARY, then UPDATE BINARY in chunks of at most 255 bytes (len 1..4096). */
int jpki_token_write_cert(jpki_reader_t *rd, uint16_t fid, const uint8_t *der, size_t len);
/* RESET RETRY COUNTER with a new value (00 2C 02 80): set a PIN, tries full.
 * The value must pass jpki_token_pin_check(which, pin, 1). */
int jpki_token_set_pin(jpki_reader_t *rd, jpki_pin_kind_t which, const char *pin);
/* RESET RETRY COUNTER without a value (00 2C 03 80): unblock, same PIN. */
int jpki_token_reset_counter(jpki_reader_t *rd, jpki_pin_kind_t which);

#ifdef __cplusplus
}
#endif
#endif
