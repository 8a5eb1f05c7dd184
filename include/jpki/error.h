/*
 * libjpki error codes.
 *
 * Every function that can fail returns int: 0 on success or a negative
 * JPKI_ERR_* code.  jpki_strerror() gives a one-line text in the language of
 * LANG/LC_MESSAGES (Japanese for ja*, English otherwise).
 */
#ifndef JPKI_ERROR_H
#define JPKI_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
	JPKI_OK = 0,
	JPKI_ERR_INTERNAL = -1,        /* a bug or an impossible state */
	JPKI_ERR_NOMEM = -2,
	JPKI_ERR_INVALID_ARG = -3,     /* a caller passed a bad value */
	JPKI_ERR_IO = -4,              /* a file or socket operation failed */
	JPKI_ERR_EXISTS = -5,          /* would overwrite something that exists */
	JPKI_ERR_NOT_FOUND = -6,
	JPKI_ERR_FORMAT = -7,          /* malformed input (DER, file, request) */
	JPKI_ERR_CRYPTO = -8,          /* OpenSSL reported an error */
	JPKI_ERR_STORE = -9,           /* the database failed */
	JPKI_ERR_CONFIG = -10,         /* bad or missing configuration */
	JPKI_ERR_RANGE = -11,          /* a value outside its allowed range */
	JPKI_ERR_STATE = -12,          /* not allowed in the object's current state */
	JPKI_ERR_RELEASE_SIGN = -13,   /* L8: a signature certificate cannot be released */
	JPKI_ERR_TRUNCATED = -14,      /* input ended early */
	JPKI_ERR_TOO_LARGE = -15,      /* input over its hard maximum */
	JPKI_ERR_VERSION = -16,        /* unsupported file or schema version */
	JPKI_ERR_DATE = -17,           /* an impossible or out-of-range date */
	JPKI_ERR_PIN_WRONG = -18,      /* wrong PIN or password (tries remain) */
	JPKI_ERR_PIN_BLOCKED = -19,    /* PIN or password blocked */
	JPKI_ERR_PIN_FORMAT = -20,     /* PIN or password breaks the L9 rules */
	JPKI_ERR_SECURITY = -21,       /* card: security status not satisfied */
	JPKI_ERR_NO_READER = -22,
	JPKI_ERR_NO_CARD = -23,
	JPKI_ERR_CARD_REMOVED = -24,
	JPKI_ERR_NOT_JPKI = -25,       /* the card has no JPKI application */
	JPKI_ERR_CARD = -26,           /* the card answered an unexpected status word */
	JPKI_ERR_AUTH = -27,           /* authentication of an operator or issuer failed */
	JPKI_ERR_REVOKED = -28,
	JPKI_ERR_EXPIRED = -29,
	JPKI_ERR_VERIFY = -30,         /* a signature or chain did not verify */
	JPKI_ERR_NET = -31,            /* network or HTTP failure */
	JPKI_ERR_BUSY = -32,
	JPKI_ERR_UNTRUSTED = -33,      /* the certificate does not chain to the trust anchor */
	JPKI_ERR_HOLD = -34,           /* certificate on hold (certificateHold, L8) */
	JPKI_ERR__LAST = -35
};

/* A static one-line description of err; never NULL. */
const char *jpki_strerror(int err);

/*
 * A detail for the last error of this thread, naming what was wrong
 * ("unknown reason 'lost'", "dob: 2099-01-01 is in the future").  Library
 * functions set it where the code alone would leave the user guessing;
 * programs print "prog: <jpki_strerror(err)>: <detail>".
 */
void jpki_set_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The detail, or "" if none was set since jpki_clear_detail(). */
const char *jpki_detail(void);
void jpki_clear_detail(void);

/* 1 when messages should be Japanese (LC_ALL, LC_MESSAGES or LANG starts with "ja"). */
int jpki_lang_ja(void);

#ifdef __cplusplus
}
#endif
#endif
