/*
 * The Individual Number Card: the JPKI applet (the card's own logic) and the
 * card state file.  Depends on nothing of the CA or the registry: a card knows
 * nothing of the Agency.
 *
 * Public protocol (spec §3): SELECT AP/EF, READ BINARY, VERIFY (and VERIFY
 * with no data for the count), CHANGE REFERENCE DATA, COMPUTE DIGITAL
 * SIGNATURE (80 2A 00 80).  Status words exactly as the spec lists.
 *
 * Issuer operations (ours; the public protocol does not fix them).  All need
 * the issuer to have authenticated since the last reset / AP selection:
 *   GET CHALLENGE          00 84 00 00 08            -> 8 random bytes 9000
 *   EXTERNAL AUTHENTICATE  00 82 00 00 Lc <sig>      -> 9000; 6300 bad sig;
 *       sig = ECDSA P-256 / SHA-256, DER, over
 *             "JPKI-ISSUER-AUTH" (16 ASCII bytes) || challenge (8 bytes),
 *       verified with the issuer public key the card was created with.
 *       6985 when no challenge is outstanding (a challenge is used once).
 *   GENERATE KEY PAIR      (key EF 0017/001A selected)
 *                          00 46 00 00 00            -> modulus (256 bytes) 9000
 *       a new RSA-2048 pair, e = 65537; the private key never leaves the card.
 *   READ PUBLIC KEY        00 46 01 00 00            -> modulus 9000; 6A82 none
 *   ERASE BINARY           (cert EF selected) 00 0E 00 00   -> EF emptied
 *   UPDATE BINARY          00 D6 <off hi> <off lo> Lc <data>: off <= current
 *                          length; the EF grows; at most JPKI_CARD_EF_MAX bytes.
 *   RESET RETRY COUNTER    (PIN EF 0018/001B selected)
 *                          00 2C 02 80 Lc <new PIN>  -> PIN set, count reset
 *                          00 2C 03 80               -> count reset only
 * Without issuer authentication each of these answers 6982.
 */
#ifndef JPKI_CARD_H
#define JPKI_CARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ATR that OpenSC's jpki driver knows. */
#define JPKI_CARD_ATR_LEN 9
extern const uint8_t jpki_card_atr[JPKI_CARD_ATR_LEN];

/* AIDs (spec §3). */
extern const uint8_t jpki_aid_jpki[10];

/* EF identifiers of the JPKI AP. */
enum {
	JPKI_EF_TOKEN = 0x0006,
	JPKI_EF_SIGN_CERT = 0x0001,
	JPKI_EF_SIGN_CA = 0x0002,
	JPKI_EF_AUTH_CERT = 0x000A,
	JPKI_EF_AUTH_CA = 0x000B,
	JPKI_EF_AUTH_KEY = 0x0017,
	JPKI_EF_AUTH_PIN = 0x0018,
	JPKI_EF_SIGN_KEY = 0x001A,
	JPKI_EF_SIGN_PIN = 0x001B
};

#define JPKI_CARD_EF_MAX 4096      /* largest certificate EF */
#define JPKI_APDU_MAX 261          /* short APDU: 4 + 1 + 255 + 1 */
#define JPKI_RAPDU_MAX 258         /* 256 data + SW1 SW2 */

#define JPKI_SIGN_PIN_TRIES 5      /* L9 */
#define JPKI_AUTH_PIN_TRIES 3      /* L9 */

typedef enum jpki_card_kind {
	JPKI_CARD_MYNUMBER = 0, /* token label JPKIAPICCTOKEN2 */
	JPKI_CARD_2004 = 1      /* token label JPKIAPICCTOKEN */
} jpki_card_kind_t;

typedef struct jpki_card jpki_card_t;

/*
 * Create a new, blank card file at path (0600, O_EXCL: never overwrites).
 * issuer_pub_der is the issuer's ECDSA P-256 public key (SubjectPublicKeyInfo
 * DER).  The card has no keys, certificates or PINs until the issuer writes them.
 */
int jpki_card_create(const char *path, jpki_card_kind_t kind,
                     const uint8_t *issuer_pub_der, size_t issuer_pub_len);
/* Load a card file.  A damaged or foreign file gives JPKI_ERR_FORMAT or
 * JPKI_ERR_VERSION, never a crash.  Free with jpki_card_free(). */
int jpki_card_load(const char *path, jpki_card_t **out);
void jpki_card_free(jpki_card_t *card);
/* Power on / reset: clears all security state (verified PINs, issuer auth). */
void jpki_card_reset(jpki_card_t *card);
/*
 * Process one command APDU and write the response APDU (data + SW1 SW2) into
 * rsp (at least JPKI_RAPDU_MAX bytes).  Persistent changes (PIN counters, keys,
 * EFs) are saved to the card file before the answer is given; a PIN try is
 * counted and saved before the comparison.  Returns 0 whenever a response was
 * produced (including error status words); negative only when the card file
 * could not be written (then the card answers nothing, as a card losing power).
 */
int jpki_card_apdu(jpki_card_t *card, const uint8_t *cmd, size_t cmd_len,
                   uint8_t *rsp, size_t *rsp_len);

#ifdef __cplusplus
}
#endif
#endif
