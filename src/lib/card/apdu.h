/*
 * Short-APDU codec of the card applet (private to src/lib/card/).
 *
 * Only short APDUs (ISO 7816-4 cases 1 to 4) are understood: the JPKI card
 * speaks nothing else (spec §3), so an extended APDU is a wrong length (6700).
 */
#ifndef JPKI_CARD_APDU_H
#define JPKI_CARD_APDU_H

#include <stddef.h>
#include <stdint.h>

/* Status words the card answers (spec §3; the issuer ones are ours). */
enum {
	SW_OK = 0x9000,
	SW_VERIFY_FAIL = 0x6300,       /* EXTERNAL AUTHENTICATE: bad signature */
	SW_PIN_TRIES = 0x63C0,         /* | tries left (low nibble) */
	SW_WRONG_LENGTH = 0x6700,
	SW_SECURITY = 0x6982,          /* security status not satisfied */
	SW_BLOCKED = 0x6983,           /* authentication method blocked */
	SW_REF_UNUSABLE = 0x6984,      /* reference data not usable (PIN unset) */
	SW_CONDITIONS = 0x6985,        /* conditions of use not satisfied */
	SW_WRONG_DATA = 0x6A80,        /* new PIN breaks the L9 format */
	SW_NOT_FOUND = 0x6A82,         /* file or application not found */
	SW_NO_SPACE = 0x6A84,          /* UPDATE BINARY past JPKI_CARD_EF_MAX */
	SW_BAD_P1P2 = 0x6A86,
	SW_PAST_END = 0x6B00,          /* offset outside the EF */
	SW_BAD_INS = 0x6D00,
	SW_BAD_CLA = 0x6E00
};

/* A parsed command APDU.  data points into the caller's command buffer. */
typedef struct jpki_apdu {
	uint8_t cla, ins, p1, p2;
	int iso_case;          /* 1: no data, no Le; 2: Le; 3: data; 4: data + Le */
	const uint8_t *data;   /* NULL when lc == 0 */
	size_t lc;             /* 0..255 */
	size_t le;             /* 1..256 when cases 2/4 (a byte 00 means 256), else 0 */
} jpki_apdu_t;

/*
 * Parse a command APDU of len bytes.  Returns 0, or SW_WRONG_LENGTH when the
 * bytes are no short APDU: fewer than 4 bytes, Lc disagreeing with the number
 * of bytes, or an extended-length encoding (P3 = 00 followed by more bytes).
 * *a is cleared on entry.
 */
int jpki_apdu_parse(const uint8_t *cmd, size_t len, jpki_apdu_t *a);

/* Write SW1 SW2 at rsp[off]; returns the total response length off + 2. */
size_t jpki_apdu_sw(uint8_t *rsp, size_t off, unsigned sw);

#endif
