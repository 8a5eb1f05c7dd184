/*
 * The card's internal state, shared by the applet (applet.c) and the card
 * file (cardfile.c).  Private to src/lib/card/; unit tests and the fuzzer
 * include it for the in-memory card and the test hook.
 */
#ifndef JPKI_CARD_INT_H
#define JPKI_CARD_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "jpki/buf.h"
#include "jpki/card.h"

#define JPKI_CARD_SALT_LEN 32
#define JPKI_PIN_HASH_LEN 32      /* SHA-256 */
#define JPKI_PIN_MAX_LEN 16       /* L9: the signing password's maximum */
#define JPKI_CHALLENGE_LEN 8
#define JPKI_ISSUER_PUB_MAX 512   /* an EC P-256 SPKI is 91 bytes */
#define JPKI_KEY_DER_MAX 4096     /* an RSA-2048 RSAPrivateKey is ~1.2 KB */
#define JPKI_CARD_FILE_MAX 65536  /* hard maximum of a card file */

/* Indexes of the arrays below. */
enum { CERT_SIGN = 0, CERT_SIGN_CA, CERT_AUTH, CERT_AUTH_CA, CERT_N };
enum { PIN_AUTH = 0, PIN_SIGN, PIN_N };   /* also the key indexes: key i needs PIN i */

struct card_ef {
	uint8_t *data;         /* malloc'd, NULL when empty */
	size_t len;
};

struct card_pin {
	int set;               /* 0 until the issuer sets it (VERIFY answers 6984) */
	uint8_t tries;         /* tries left; 0 = blocked */
	uint8_t hash[JPKI_PIN_HASH_LEN];
};

/*
 * Test hook: called with a step name at each point of the persistence path
 * where a power cut matters ("verify:before-save", "save:tmp-written",
 * "save:renamed", "verify:after-save", "verify:after-compare",
 * "verify:reset-saved").  Always compiled in; a test sets it to _exit() at
 * one step in a forked child, then checks what the file kept.
 */
typedef void (*jpki_card_hook_fn)(const char *step, void *arg);

struct jpki_card {
	/* Persistent: what the card file holds. */
	jpki_card_kind_t kind;
	uint8_t salt[JPKI_CARD_SALT_LEN];  /* per card, for the PIN hashes */
	uint8_t *issuer_pub_der;
	size_t issuer_pub_len;
	struct card_ef certs[CERT_N];
	struct card_pin pins[PIN_N];
	EVP_PKEY *keys[PIN_N];             /* RSA-2048 or NULL; never changed in place */
	uint8_t *key_der[PIN_N];           /* RSAPrivateKey DER of keys[i], kept for saves */
	size_t key_der_len[PIN_N];

	/* Derived / volatile: rebuilt on load, cleared by reset. */
	EVP_PKEY *issuer_pub;
	char *path;                        /* NULL: in-memory card, never saved */
	int nosync;                        /* skip fsync (fuzzing only) */
	int broken;                        /* a save failed: answer nothing more */
	jpki_card_hook_fn hook;
	void *hook_arg;

	int ap;                            /* AP_NONE / AP_JPKI / AP_OTHER */
	uint16_t ef;                       /* selected EF of the JPKI AP, 0 none */
	int verified[PIN_N];
	int issuer_auth;
	int challenge_valid;
	uint8_t challenge[JPKI_CHALLENGE_LEN];
};

enum { AP_NONE = 0, AP_JPKI, AP_OTHER };

/* Call the test hook, if any. */
void jpki_card_hook(jpki_card_t *card, const char *step);

/* Serialize the persistent state into b (the card file image). */
int jpki_card_serialize(const jpki_card_t *card, jpki_buf_t *b);
/*
 * Parse a card file image into a new in-memory card (path NULL: never saved).
 * Bounded: any damage gives JPKI_ERR_FORMAT, an unknown version
 * JPKI_ERR_VERSION.  *out is NULL unless 0 is returned.
 */
int jpki_card_parse(const uint8_t *p, size_t len, jpki_card_t **out);
/* Make a blank in-memory card (as jpki_card_create, without a file). */
int jpki_card_new_mem(jpki_card_kind_t kind, const uint8_t *issuer_pub_der,
                      size_t issuer_pub_len, jpki_card_t **out);
/*
 * A copy of card as an in-memory card (path NULL, no hook), security state
 * included.  The key objects are shared (reference counted): keys are
 * replaced, never modified.  For the fuzzer, which needs a fresh card per
 * input without decoding RSA keys each time.
 */
int jpki_card_dup(const jpki_card_t *card, jpki_card_t **out);
/* Install pk (an RSA-2048 key) as key i (PIN_AUTH / PIN_SIGN), taking
 * ownership on success; the old key is freed. */
int jpki_card_set_key(jpki_card_t *card, int i, EVP_PKEY *pk);
/* Save the card to its file atomically; 0 at once for an in-memory card. */
int jpki_card_save(jpki_card_t *card);
/* Set the test hook (NULL to clear). */
void jpki_card_set_hook(jpki_card_t *card, jpki_card_hook_fn fn, void *arg);
/* Skip fsync() when saving (fuzzing and tests that save thousands of times). */
void jpki_card_set_nosync(jpki_card_t *card, int nosync);

#endif
