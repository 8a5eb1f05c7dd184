/*
 * The audit log: every act of every program (jpki-ca, jpki-office, jpkid),
 * appended to a hash chain kept in the store, so that it commits or rolls back
 * with the act it records.
 *
 * Entry n carries mac_n = HMAC-SHA256(key, mac_{n-1} || encode(entry n)), with
 * mac_0 = 32 zero bytes and key the 32 random bytes of the CA directory's
 * audit.key (0600, made on first use).  Someone who can edit the database but
 * not read audit.key cannot change, remove or reorder an entry without
 * jpki_audit_verify() naming the first entry that no longer fits.  The number
 * of entries is also kept as the store counter "audit.count", so cutting off
 * the tail is found too.
 *
 * Appending reads the chain's head and writes the next entry in one store
 * transaction (BEGIN IMMEDIATE in SQLite), so two programs appending at once
 * serialize; inside the caller's transaction (jpki_store_begin or
 * jpki_ca_batch_begin) the entry is part of it.
 */
#ifndef JPKI_AUDIT_H
#define JPKI_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "jpki/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JPKI_AUDIT_KEY_LEN 32
#define JPKI_AUDIT_MAC_LEN 32

/* Field limits (bytes, without the NUL); longer values are cut at a UTF-8
 * character boundary, never refused, so an act is never lost to its audit. */
#define JPKI_AUDIT_PROGRAM_MAX 31
#define JPKI_AUDIT_ACTOR_MAX 63
#define JPKI_AUDIT_ACTION_MAX 63
#define JPKI_AUDIT_SUBJECT_MAX 255
#define JPKI_AUDIT_DETAIL_MAX 1023

typedef struct jpki_audit {
	jpki_store_t *store;   /* not owned */
	uint8_t key[JPKI_AUDIT_KEY_LEN];
	char program[JPKI_AUDIT_PROGRAM_MAX + 1];
} jpki_audit_t;

/* One entry as the store keeps it. */
typedef struct jpki_audit_rec {
	int64_t seq;                                /* 1, 2, ... */
	int64_t time;                               /* Unix seconds */
	char program[JPKI_AUDIT_PROGRAM_MAX + 1];   /* "jpki-office" */
	char actor[JPKI_AUDIT_ACTOR_MAX + 1];       /* operator, office or "resident" */
	char action[JPKI_AUDIT_ACTION_MAX + 1];     /* "issue", "revoke", "login", ... */
	char subject[JPKI_AUDIT_SUBJECT_MAX + 1];   /* "resident 12", "sign 0A1B..." */
	char outcome[16];                           /* "ok", "refused", "failed" */
	char detail[JPKI_AUDIT_DETAIL_MAX + 1];     /* free text: reason, reference */
	uint8_t mac[JPKI_AUDIT_MAC_LEN];
} jpki_audit_rec_t;

/*
 * Prepare to audit into st as program: reads (creating 0600 with O_EXCL if
 * absent) dir/audit.key.  a is filled; nothing to free but jpki_audit_clear()
 * wipes the key.
 */
int jpki_audit_open(jpki_audit_t *a, const char *dir, jpki_store_t *st, const char *program);
void jpki_audit_clear(jpki_audit_t *a);

/* Append one entry (time jpki_now()).  NULL strings are stored as "". */
int jpki_audit_append(jpki_audit_t *a, const char *actor, const char *action,
                      const char *subject, const char *outcome, const char *detail);
/* printf-style detail. */
int jpki_audit_appendf(jpki_audit_t *a, const char *actor, const char *action,
                       const char *subject, const char *outcome, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

typedef struct jpki_audit_report {
	int64_t entries;       /* entries read */
	int64_t bad_seq;       /* 0 when the chain holds; else the first entry that
	                          does not fit (or count+1 for a cut tail) */
	char why[160];         /* "entry 7 was changed", "entry 5 is missing", ... */
} jpki_audit_report_t;

/* Walk the chain.  Returns 0 when it holds, JPKI_ERR_VERIFY when it does not
 * (rep says where and why); other errors for a store that cannot be read. */
int jpki_audit_verify(jpki_audit_t *a, jpki_audit_report_t *rep);

/* Every entry in order (for `jpki-ca audit show`); non-zero from cb stops. */
typedef int (*jpki_audit_cb)(void *ctx, const jpki_audit_rec_t *rec);
int jpki_audit_foreach(jpki_audit_t *a, jpki_audit_cb cb, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
