/*
 * The resident's client software (利用者クライアントソフト), the parts the
 * `jpki` program shares with any other front end: reading a PIN without echo,
 * the L9 rules against guessable values, the L5 expiry warning, names and
 * fingerprints as the guides show them, the published fingerprint list (L12).
 * The card itself is reached through jpki/token.h.
 */
#ifndef JPKI_CLIENT_H
#define JPKI_CLIENT_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "jpki/date.h"
#include "jpki/token.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JPKI_CLIENT_PIN_MAX 64     /* buffer for a PIN (the longest valid is 16) */
#define JPKI_CLIENT_FP_MAX 128     /* "AB:CD:..." of SHA-256 is 95 + NUL */

/*
 * L9: refuse guessable new values: all one character, an ascending or
 * descending run (1234, 123456, ABCDEF, 9876), and the date of birth (dob may
 * be NULL) as YYYYMMDD, YYMMDD, MMDD or YYYY, for the auth PIN equal to one
 * of them, for the signing password containing YYYYMMDD or YYMMDD.
 * JPKI_ERR_PIN_FORMAT with a detail saying why; 0 otherwise.  (The format
 * itself is jpki_token_pin_check's.)
 */
int jpki_client_pin_guessable(jpki_pin_kind_t which, const char *pin, const jpki_date_t *dob);

/*
 * L5: when cert expires (*not_after), how many whole days remain at now
 * (negative once expired), and *warn = 1 when less than three months remain
 * (the JST day three calendar months before the last day, or later).
 */
int jpki_client_expiry(X509 *cert, time_t now, time_t *not_after, long *days_left, int *warn);

/* A Name as the guides show it: most specific first ("OU=..., O=JPKI, C=JP"),
 * UTF-8, entries joined by sep. */
int jpki_client_name(const X509_NAME *name, const char *sep, char *out, size_t outlen);

/*
 * The published CA fingerprints (L12): JSON {"sign":"AB:CD:..","auth":".."}
 * as jpkid serves it at /ca/fingerprints and `jpki-ca fingerprint --json`
 * prints.  text need not be NUL-terminated; at most 64 KiB.  A missing key
 * leaves "" (at least one is required).  JPKI_ERR_FORMAT otherwise.
 */
int jpki_client_published_fp(const char *text, size_t len, char sign[JPKI_CLIENT_FP_MAX],
                             char auth[JPKI_CLIENT_FP_MAX]);
/* 1 when two fingerprints are the same hex digits (case, ':' and spaces ignored). */
int jpki_client_fp_equal(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif
