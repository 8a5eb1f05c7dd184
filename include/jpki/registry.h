/*
 * The municipal window (市区町村窓口): the resident registry and every window
 * act of rules L2-L11 (spec §2), carried out against the Agency's CAs through
 * the library and against the card through the reader layer.
 *
 * Everything the window keeps lives in the CA store as documents
 * (jpki_store_doc_*): kind "resident" (key: 8-digit number), "history"
 * ("<resident>/<n>"), "card" (10-digit card number), "act" (the reference
 * number "YYYYMMDD-NNNNNN"), "operator" (name).  So one store transaction
 * carries a registry change, the certificate changes it causes and its audit
 * entry: whole or nothing.
 *
 * An act that touches a card cannot be one transaction (the card is not in
 * the database), so it is journaled (L2-L9 acts, acceptance 11): the act
 * document is written "pending" first, and after each step its progress; a
 * failure at any step leaves a state from which running the same act again
 * (jpki_window_resume) completes it, or jpki_window_undo cleanly undoes it
 * (certificates issued for it revoked, the card record dropped).
 */
#ifndef JPKI_REGISTRY_H
#define JPKI_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jpki/ca.h"
#include "jpki/card.h"
#include "jpki/date.h"
#include "jpki/reader.h"
#include "jpki/store.h"
#include "jpki/token.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JPKI_ID_LEN 24        /* resident, card and reference numbers, with NUL */
#define JPKI_TEXT_MAX 801     /* name, kana, address, alias: UTF-8 bytes with NUL */

typedef struct jpki_resident {
	char id[JPKI_ID_LEN];            /* "00000001" */
	char name[JPKI_TEXT_MAX];        /* family and given separated by U+3000 */
	char kana[JPKI_TEXT_MAX];
	jpki_date_t dob;
	int sex;                         /* 1, 2, 9 */
	char address[JPKI_TEXT_MAX];
	char alias[JPKI_TEXT_MAX];       /* 通称 of a foreign resident, or "" */
	int foreign;                     /* a foreign resident */
	char card[JPKI_ID_LEN];          /* the card in use, or "" */
	int64_t registered;              /* Unix seconds */
	int64_t updated;
} jpki_resident_t;

typedef enum jpki_card_state {
	JPKI_CARD_ISSUING = 0,   /* an issuance act is under way */
	JPKI_CARD_ACTIVE = 1,
	JPKI_CARD_SUSPENDED = 2, /* L8: the suspension line put its certificates on hold */
	JPKI_CARD_RETURNED = 3,  /* handed back (replaced, or a 2004-era card) */
	JPKI_CARD_VOID = 4       /* lost, stolen or broken: certificates revoked */
} jpki_card_state_t;

typedef struct jpki_card_rec {
	char number[JPKI_ID_LEN];        /* "0000000001" */
	char resident[JPKI_ID_LEN];
	jpki_card_kind_t kind;           /* Individual Number Card or 2004-era card */
	jpki_card_state_t state;
	jpki_date_t issued;
	jpki_date_t expiry;              /* the card's own last valid day (L4) */
	/* The certificates the card holds now (len 0: none). */
	uint8_t sign_serial[JPKI_SERIAL_MAX];
	size_t sign_serial_len;
	uint8_t auth_serial[JPKI_SERIAL_MAX];
	size_t auth_serial_len;
	/* Hex SHA-256 of each key pair's public modulus as the card gave it:
	 * how the window knows the card in the reader is this one. */
	char sign_key[65];
	char auth_key[65];
} jpki_card_rec_t;

/* Photo ID shown at the window (L10). */
typedef struct jpki_photo_id {
	const char *kind;    /* "passport", "driving-licence", "mynumber-card",
	                        "residence-card", "other" */
	const char *number;  /* kept masked: all but the last 4 characters as '*' */
} jpki_photo_id_t;

/* The window: the CAs (and their store) and the operator at it. */
typedef struct jpki_window jpki_window_t;

/* Open the window over the CA directory (the registry lives in its store).
 * program names the audit entries ("jpki-office", "jpkid"). */
int jpki_window_open(const char *ca_dir, const char *program, jpki_window_t **out);
void jpki_window_close(jpki_window_t *w);
/*
 * Open the window on jpkid's office API at url ("http://host:port", see
 * docs/online-window.md) instead of a local store: every function below then
 * works against the Agency's store.  Login gets a session token from the
 * server; card acts relay the server's card commands to the reader given
 * here (their issuer_key is not used and may be NULL: the server holds it).
 */
int jpki_window_connect(const char *url, const char *program, jpki_window_t **out);
/* The CAs and the audit log (jpki/audit.h) of a local window, owned by w;
 * NULL on a remote window. */
jpki_ca_t *jpki_window_ca(jpki_window_t *w);
struct jpki_audit *jpki_window_audit(jpki_window_t *w);
/* A certificate record by serial, with its DER (rec cleared by the caller
 * with jpki_cert_rec_clear()).  JPKI_ERR_NOT_FOUND if the CA never issued it. */
int jpki_window_cert_get(jpki_window_t *w, jpki_ca_kind_t kind, const uint8_t *serial,
                         size_t len, jpki_cert_rec_t *rec);
/* An audit entry for what the program did beside the window's acts (a
 * certificate copy handed out), in the logged-in operator's name. */
int jpki_window_note(jpki_window_t *w, const char *action, const char *object,
                     const char *result, const char *detail);

/* ---- operators ---- */

/* Add an operator with a credential (a passphrase of at least 8 bytes, kept
 * as a salted scrypt hash).  The first operator of a store may be added by
 * anyone who can open the CA directory; later ones need a logged-in operator
 * (by).  JPKI_ERR_EXISTS for a taken name. */
int jpki_window_operator_add(jpki_window_t *w, const char *name, const char *secret);
/* Authenticate the operator for the acts that follow.  An unknown name or a
 * wrong credential gives JPKI_ERR_AUTH, and the refusal is audited. */
int jpki_window_login(jpki_window_t *w, const char *name, const char *secret);
const char *jpki_window_operator(const jpki_window_t *w); /* "" before login */

/* ---- the registry ---- */

/* Register a resident (L1 facts).  id is filled.  Audited. */
int jpki_registry_add(jpki_window_t *w, jpki_resident_t *r, const jpki_photo_id_t *pid);
int jpki_registry_get(jpki_window_t *w, const char *id, jpki_resident_t *out);
/* Every resident, in number order. */
typedef int (*jpki_resident_cb)(void *ctx, const jpki_resident_t *r);
int jpki_registry_foreach(jpki_window_t *w, jpki_resident_cb cb, void *ctx);

/* The facts a change can touch (L6). */
typedef enum jpki_fact {
	JPKI_FACT_NAME, JPKI_FACT_KANA, JPKI_FACT_DOB, JPKI_FACT_SEX, JPKI_FACT_ADDRESS,
	JPKI_FACT_ALIAS
} jpki_fact_t;
int jpki_fact_parse(const char *s, jpki_fact_t *f);
const char *jpki_fact_name(jpki_fact_t f);

/*
 * Record a change of one fact with the date it took effect (moving in,
 * marriage).  For the four basic facts and the alias (not the kana), the
 * resident's signature certificate is revoked at once with reason
 * affiliationChanged, in the same transaction; the authentication
 * certificate is left alone (L6).  *revoked is set to 1 when a certificate
 * was revoked.  ref receives the act's reference number.
 */
int jpki_registry_change(jpki_window_t *w, const char *id, jpki_fact_t f, const char *value,
                         const jpki_date_t *effective, int *revoked, char ref[JPKI_ID_LEN]);

/* The cards of a resident, newest first; and one card. */
typedef int (*jpki_card_rec_cb)(void *ctx, const jpki_card_rec_t *c);
int jpki_registry_cards(jpki_window_t *w, const char *resident, jpki_card_rec_cb cb, void *ctx);
int jpki_registry_card(jpki_window_t *w, const char *number, jpki_card_rec_t *out);

/* ---- window acts ---- */

typedef enum jpki_act_kind {
	JPKI_ACT_REGISTER, JPKI_ACT_CHANGE, JPKI_ACT_ISSUE, JPKI_ACT_RENEW, JPKI_ACT_REVOKE,
	JPKI_ACT_SUSPEND, JPKI_ACT_RELEASE, JPKI_ACT_PIN_INIT, JPKI_ACT_RETURN, JPKI_ACT_COPY,
	JPKI_ACT__COUNT
} jpki_act_kind_t;

typedef enum jpki_act_state {
	JPKI_ACT_PENDING = 0, JPKI_ACT_DONE = 1, JPKI_ACT_UNDONE = 2
} jpki_act_state_t;

/* What the window hands out afterwards: the notice is made from this. */
typedef struct jpki_act {
	char ref[JPKI_ID_LEN];            /* "20261121-000001" */
	jpki_act_kind_t kind;
	jpki_act_state_t state;
	char step[32];                    /* the last step done (journal) */
	char resident[JPKI_ID_LEN];
	char card[JPKI_ID_LEN];
	char operator_name[64];
	char id_kind[32];
	char id_masked[64];
	int fee;                          /* yen (L10) */
	int64_t time;
	char detail[512];                 /* what was done, one line, English */
	/* Certificates the act issued / revoked (hex serials, "" if none). */
	char sign_new[2 * JPKI_SERIAL_MAX + 1], auth_new[2 * JPKI_SERIAL_MAX + 1];
	char sign_old[2 * JPKI_SERIAL_MAX + 1], auth_old[2 * JPKI_SERIAL_MAX + 1];
	int reason;                       /* revocation reason of the act, or NONE */
} jpki_act_t;

int jpki_act_get(jpki_window_t *w, const char *ref, jpki_act_t *out);
const char *jpki_act_kind_name(jpki_act_kind_t k);

/* Passwords chosen at the window (L9); NULL where none is set. Wiped by the
 * caller. */
typedef struct jpki_pins {
	const char *sign;   /* 6-16 A-Z 0-9, letters and digits mixed */
	const char *auth;   /* 4 digits */
} jpki_pins_t;

typedef struct jpki_issue_opts {
	jpki_card_kind_t kind;       /* JPKI_CARD_2004 only for the 2004-era tests */
	int no_sign;                 /* the applicant ticked "do not issue" (L2) */
	int no_auth;
	const char *under15_reason;  /* the operator's reason to issue a signature
	                                certificate to a child under 15, or NULL */
	const jpki_date_t *card_expiry; /* NULL: by L4 (10th birthday for 18 and
	                                   over, 5th under 18) */
	int fee;                     /* -1: by L10 */
	int reissue_after_loss;      /* a fee applies (L10) */
} jpki_issue_opts_t;

/*
 * Issue a new card to a resident (L2, L3): key pairs generated on the blank
 * card in rd, certificates issued and written through the issuer operations,
 * the CA certificates written (L12), the passwords set.  The resident's
 * previous card, if still active, is handed back: its certificates are
 * revoked (superseded) and it is marked returned (L1: a 2004-era card too).
 */
int jpki_window_issue(jpki_window_t *w, const char *resident, jpki_reader_t *rd,
                      EVP_PKEY *issuer_key, const jpki_issue_opts_t *opts,
                      const jpki_pins_t *pins, const jpki_photo_id_t *pid, jpki_act_t *act);

/*
 * Issue (again) one certificate onto the resident's active card in rd: after a
 * change of facts (L6), after a hold (L8), or a renewal (L5) -- new keys on
 * the card, the old certificate of that kind revoked (superseded) if still
 * valid.  renewal = 1 applies L5: refused (JPKI_ERR_STATE, detail with the
 * first allowed date) earlier than 3 months before the old one's expiry.
 * A signature certificate on a 2004-era card is refused (L1, L4).
 */
int jpki_window_reissue(jpki_window_t *w, const char *resident, jpki_ca_kind_t which,
                        int renewal, jpki_reader_t *rd, EVP_PKEY *issuer_key,
                        const jpki_pins_t *pins, const jpki_photo_id_t *pid, jpki_act_t *act);

/* Reasons asked at the window (L7), mapped to spec §5. */
typedef enum jpki_window_reason {
	JPKI_WR_LOST, JPKI_WR_STOLEN, JPKI_WR_BROKEN, JPKI_WR_MISUSED, JPKI_WR_VOLUNTARY
} jpki_window_reason_t;
int jpki_window_reason_parse(const char *s, jpki_window_reason_t *r);
int jpki_window_reason_crl(jpki_window_reason_t r);  /* RFC 5280 code */

/* Revoke the certificates of the resident's card (which: sign, auth, or -1
 * for both) (L7).  Lost, stolen or broken also voids the card. */
int jpki_window_revoke(jpki_window_t *w, const char *resident, int which,
                       jpki_window_reason_t why, const jpki_photo_id_t *pid, jpki_act_t *act);

/* The suspension line (L8): both certificates of the card on hold at once.
 * card: a card number, or NULL for the resident's active card. */
int jpki_window_suspend(jpki_window_t *w, const char *resident, const char *card,
                        jpki_act_t *act);
/* At the window after a suspension (L8), the card found again: the
 * authentication certificate's hold is released, and the signature
 * certificate, which cannot be released, is revoked (superseded: a new one is
 * offered, jpki_window_reissue).  The card becomes active again. */
int jpki_window_release(jpki_window_t *w, const char *resident, const jpki_photo_id_t *pid,
                        jpki_act_t *act);

/* Password initialization and unlock (L9) on the resident's card in rd:
 * with new_pin a new password is set (tries full); without, the counter is
 * reset and the password kept. */
int jpki_window_pin_init(jpki_window_t *w, const char *resident, jpki_pin_kind_t which,
                         const char *new_pin, jpki_reader_t *rd, EVP_PKEY *issuer_key,
                         const jpki_photo_id_t *pid, jpki_act_t *act);

/* A 2004-era card handed back (L1): its certificate revoked (superseded) if
 * still valid, the card marked returned. */
int jpki_window_return_card(jpki_window_t *w, const char *resident, const char *card,
                            const jpki_photo_id_t *pid, jpki_act_t *act);

/* Finish a pending act (after a failure) with the card in rd, or undo it. */
int jpki_window_resume(jpki_window_t *w, const char *ref, jpki_reader_t *rd,
                       EVP_PKEY *issuer_key, const jpki_pins_t *pins, jpki_act_t *act);
int jpki_window_undo(jpki_window_t *w, const char *ref, jpki_act_t *act);
/* The pending act of a resident, if any (JPKI_ERR_NOT_FOUND if none). */
int jpki_window_pending(jpki_window_t *w, const char *resident, jpki_act_t *act);

/* ---- notices and certificate copies (L7, L11) ---- */

/* The notice of an act (受理通知書; for a revocation 電子証明書失効申請等受理通知書):
 * plain text (the terminal) or a printable HTML page, in Japanese (ja = 1) or
 * English.  res may be NULL (the suspension line).  office: the issuing
 * office's name for the heading.  *out is malloc'd, NUL-terminated. */
int jpki_notice_render(const jpki_act_t *act, const jpki_resident_t *res, const char *office,
                       int html, int ja, char **out);
/* The printed copy of a certificate (電子証明書の写し, L11): 氏名, 生年月日,
 * 性別, 住所, 発行年月日, 有効期間の満了日, 発行者, dates in eras. */
int jpki_cert_copy_render(X509 *cert, int html, int ja, char **out);

#ifdef __cplusplus
}
#endif
#endif
