/*
 * The store: the backend-neutral database interface of the CAs.
 *
 * A store is opened from a URI: "sqlite:PATH" or a plain path (SQLite, the
 * embedded default); "postgresql://..." is reserved for the PostgreSQL backend.
 * Each backend fills a struct jpki_store_ops (src/lib/store/store_impl.h); the
 * functions below dispatch through it, so callers never see the backend.
 *
 * Transactions: every mutating call runs in its own transaction unless the
 * caller has opened one with jpki_store_begin(); then the changes become
 * visible only at jpki_store_commit(), and jpki_store_rollback() (or closing
 * the store, or a crash) undoes them all.  Transactions do not nest.
 *
 * A failed call inside the caller's transaction:
 *  - one that changed nothing (JPKI_ERR_INVALID_ARG, JPKI_ERR_EXISTS,
 *    JPKI_ERR_NOT_FOUND) leaves the transaction open and usable;
 *  - any other failure may have ended it: a call that failed half-way (one
 *    of its writes done, the next refused), or one after which the database
 *    itself gave the transaction up (I/O error, disk full, out of memory),
 *    rolls back everything done since jpki_store_begin().  So that nothing
 *    then runs outside the transaction the caller believes in, every later
 *    call (but jpki_store_schema_version) returns JPKI_ERR_STATE until the
 *    caller ends it: jpki_store_rollback() returns 0, jpki_store_commit()
 *    JPKI_ERR_STATE (nothing is committed); either one ends it, and the
 *    store is usable again.  So after such an error, roll back.
 * A call without a transaction of the caller's is atomic: it is done whole or
 * not at all.
 *
 * Threads: a handle is for one thread at a time.  It may pass from thread to
 * thread, but two threads must not use it at once; open one handle per thread
 * (each its own connection) to work in parallel.
 *
 * Serial numbers are unsigned big-endian integers without leading zero bytes,
 * 1..20 bytes (RFC 5280 positive INTEGER contents minus the sign octet).
 * RFC 5280 4.1.2.2 allows at most 20 octets for the DER INTEGER, sign octet
 * included, so a certificate's 20-byte serial must have its top bit clear
 * (0x80.. would need a 0x00 sign octet: 21 octets).  The store does not check
 * that: it records any 1..20 bytes it is given, so that it can keep what a
 * non-conforming issuer produced; the CA must not issue such a serial.
 */
#ifndef JPKI_STORE_H
#define JPKI_STORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jpki_store jpki_store_t;

/* Which of the Agency's two CAs. */
typedef enum jpki_ca_kind {
	JPKI_CA_SIGN = 0, /* 署名用認証局: signature certificates */
	JPKI_CA_AUTH = 1  /* 利用者証明用認証局: authentication certificates */
} jpki_ca_kind_t;

typedef enum jpki_cert_status {
	JPKI_STATUS_GOOD = 0,
	JPKI_STATUS_REVOKED = 1, /* final */
	JPKI_STATUS_HOLD = 2     /* certificateHold (L8) */
} jpki_cert_status_t;

/* RFC 5280 CRLReason codes as the service uses them (spec §5). */
enum jpki_reason {
	JPKI_REASON_NONE = -1,              /* no reason extension */
	JPKI_REASON_UNSPECIFIED = 0,        /* never written by this project */
	JPKI_REASON_KEY_COMPROMISE = 1,     /* loss, theft, misuse */
	JPKI_REASON_CA_COMPROMISE = 2,
	JPKI_REASON_AFFILIATION_CHANGED = 3,/* L6: basic facts changed */
	JPKI_REASON_SUPERSEDED = 4,         /* renewal */
	JPKI_REASON_CESSATION = 5,          /* voluntary stop */
	JPKI_REASON_CERTIFICATE_HOLD = 6,   /* L8 suspension */
	JPKI_REASON_REMOVE_FROM_CRL = 8     /* delta CRL: a released hold */
};

#define JPKI_SERIAL_MAX 20

/* One certificate as the store keeps it. */
typedef struct jpki_cert_rec {
	int64_t id;                      /* set by the store */
	jpki_ca_kind_t ca;
	uint8_t serial[JPKI_SERIAL_MAX];
	size_t serial_len;
	int64_t not_before;              /* Unix seconds */
	int64_t not_after;
	int64_t partition;               /* CRL partition (matches the CRLDP) */
	jpki_cert_status_t status;
	int reason;                      /* enum jpki_reason; NONE when good */
	int64_t status_time;             /* revocation/hold time; 0 when good */
	/* Issuance id or opaque auth id: at most 127 bytes, then a NUL
	 * (jpki_store_cert_insert refuses one with no NUL in the array). */
	char subject_cn[128];
	uint8_t *der;                    /* owned by the record; may be NULL */
	size_t der_len;
} jpki_cert_rec_t;

/* Free rec->der and clear it.  Accepts NULL. */
void jpki_cert_rec_clear(jpki_cert_rec_t *rec);

/* A CRL the CA has published. */
typedef struct jpki_crl_rec {
	jpki_ca_kind_t ca;
	int64_t partition;
	int64_t number;       /* CRLNumber (shared by full and delta of one CA) */
	int is_delta;
	int64_t base_number;  /* delta: the full CRL it is relative to */
	int64_t event_seq;    /* status events covered: all with seq <= this */
	int64_t this_update;
	int64_t next_update;
	uint8_t *der;         /* owned; may be NULL when not asked for */
	size_t der_len;
} jpki_crl_rec_t;

void jpki_crl_rec_clear(jpki_crl_rec_t *rec);

/* Open (creating if needed, and migrating to the current schema) the store at
 * uri.  *out is set only on success; free with jpki_store_close(). */
int jpki_store_open(const char *uri, jpki_store_t **out);
void jpki_store_close(jpki_store_t *st);
/* The schema version the open store is at (after migration). */
int jpki_store_schema_version(jpki_store_t *st, int *version);

int jpki_store_begin(jpki_store_t *st);
int jpki_store_commit(jpki_store_t *st);
int jpki_store_rollback(jpki_store_t *st);

/* Add a certificate (status as in rec, normally GOOD).  JPKI_ERR_EXISTS if the
 * CA already has that serial (nothing is changed).  Sets rec->id on success.
 * A certificate inserted as REVOKED or HOLD (an import) also gets a status
 * event, with the next sequence number and rec->status_time as its time, as
 * jpki_store_cert_set_status() would record: so the next delta CRL lists it.
 * rec->status_time is ignored (stored as 0) when the status is GOOD.  rec->der
 * (may be NULL) is copied; jpki_store_cert_get() with with_der gives it back. */
int jpki_store_cert_insert(jpki_store_t *st, jpki_cert_rec_t *rec);
/* Sets *exists to 1 if the CA has issued that serial, 0 if not, and returns
 * 0; or returns an error, with *exists 0. */
int jpki_store_cert_exists(jpki_store_t *st, jpki_ca_kind_t ca,
                           const uint8_t *serial, size_t serial_len, int *exists);
/* Look a certificate up by serial; JPKI_ERR_NOT_FOUND if none.  rec is
 * overwritten (caller clears it with jpki_cert_rec_clear()).  with_der = 0
 * skips loading the DER. */
int jpki_store_cert_get(jpki_store_t *st, jpki_ca_kind_t ca,
                        const uint8_t *serial, size_t serial_len, int with_der,
                        jpki_cert_rec_t *rec);
/*
 * Change a certificate's status and record the change as a status event with
 * the next event sequence number (*seq_out, may be NULL).  The store does not
 * judge whether the change is allowed (the CA does); it only records it.
 * reason is JPKI_REASON_NONE when the new status is GOOD.
 */
int jpki_store_cert_set_status(jpki_store_t *st, jpki_ca_kind_t ca,
                               const uint8_t *serial, size_t serial_len,
                               jpki_cert_status_t status, int reason,
                               int64_t when, int64_t *seq_out);

/*
 * Called once per certificate by the iterators below; a non-zero return stops
 * the iteration and is returned by the iterator.  The record is valid only
 * during the call; its der is always NULL (the iterators never load DER).
 *
 * A callback may call back into the store with the same handle: look-ups,
 * another iteration (even the same one), and changes too.  A change to a row
 * the running iteration has not reached yet may or may not be seen by it.
 */
typedef int (*jpki_store_cert_cb)(void *ctx, const jpki_cert_rec_t *rec);

/*
 * The two CRL iterators fill only what a CRL entry needs, so that a backend
 * can answer from an index without reading the certificates themselves:
 * id, ca, serial, serial_len, partition, status, reason and status_time.
 * not_before, not_after and der_len are 0, subject_cn is "" and der NULL.
 * Use jpki_store_cert_get() for the rest.
 */

/* Every certificate of (ca, partition) whose status is REVOKED or HOLD, in
 * any order: the entries of a full CRL. */
int jpki_store_foreach_listed(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
                              jpki_store_cert_cb cb, void *ctx);
/* Every certificate of (ca, partition) with a status event whose sequence
 * number is > since_seq, once each, with its current status: the entries of
 * a delta CRL. */
int jpki_store_foreach_changed(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
                               int64_t since_seq, jpki_store_cert_cb cb, void *ctx);
/* Every certificate of the CA, in insertion order (for listing and tests):
 * every field but der. */
int jpki_store_foreach_cert(jpki_store_t *st, jpki_ca_kind_t ca,
                            jpki_store_cert_cb cb, void *ctx);

/* The partitions of the CA that hold at least one certificate, ascending.
 * *parts is malloc'd (caller frees); *n may be 0. */
int jpki_store_partitions(jpki_store_t *st, jpki_ca_kind_t ca, int64_t **parts, size_t *n);
/* Number of certificates the CA has in the partition. */
int jpki_store_partition_count(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
                               int64_t *count);
/* The highest status event sequence number so far (0 if none). */
int jpki_store_event_seq(jpki_store_t *st, int64_t *seq);

/* Named monotonic counters (e.g. "crl_number.sign", "issued.auth"): add one and
 * return the new value in *value; a new counter starts at 1.  A name is 1..128
 * bytes (JPKI_ERR_INVALID_ARG otherwise), compared as bytes. */
int jpki_store_counter_next(jpki_store_t *st, const char *name, int64_t *value);
/* jpki_store_counter_next, but the new value is also above `floor` (>= 0):
 * max(counter + 1, floor + 1).  For a sequence that something outside the
 * store has already carried further (a published CRL's number after the
 * store was restored from an older backup). */
int jpki_store_counter_next_above(jpki_store_t *st, const char *name, int64_t floor,
                                  int64_t *value);
/* Read a counter without changing it (0 if it never was incremented). */
int jpki_store_counter_get(jpki_store_t *st, const char *name, int64_t *value);

/* Record a published CRL (the DER is kept).  JPKI_ERR_EXISTS if a CRL of the
 * same (ca, partition, kind, number) is there already (nothing is changed);
 * a full and a delta CRL may share a number (RFC 5280 5.2.3: a full and a
 * delta issued together must). */
int jpki_store_crl_save(jpki_store_t *st, const jpki_crl_rec_t *rec);
/* The newest CRL (highest number) of (ca, partition) and kind; JPKI_ERR_NOT_FOUND
 * if none.  with_der = 0 skips loading the DER. */
int jpki_store_crl_latest(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
                          int is_delta, int with_der, jpki_crl_rec_t *rec);

/* ---- The audit log's rows (jpki/audit.h makes and checks the chain) ---- */

struct jpki_audit_rec;
typedef int (*jpki_store_audit_cb)(void *ctx, const struct jpki_audit_rec *rec);

/* The newest entry's sequence number and MAC; *seq 0 and a zero MAC when the
 * log is empty.  mac has JPKI_AUDIT_MAC_LEN (32) bytes. */
int jpki_store_audit_last(jpki_store_t *st, int64_t *seq, uint8_t *mac);
/* Append an entry as given (seq included).  JPKI_ERR_EXISTS if that seq is
 * taken (nothing is changed). */
int jpki_store_audit_insert(jpki_store_t *st, const struct jpki_audit_rec *rec);
/* Every entry in seq order; the record is valid only during the call. */
int jpki_store_foreach_audit(jpki_store_t *st, jpki_store_audit_cb cb, void *ctx);

/* ---- Documents: small text records by (kind, key), for the registry ----
 *
 * kind and key are 1..128 bytes of UTF-8 without NUL; body is text of at most
 * JPKI_DOC_BODY_MAX bytes.  Keys are ordered as bytes. */

#define JPKI_DOC_NAME_MAX 128
#define JPKI_DOC_BODY_MAX (64 * 1024)

enum jpki_doc_mode {
	JPKI_DOC_CREATE = 0,  /* JPKI_ERR_EXISTS if the key is taken */
	JPKI_DOC_REPLACE = 1, /* JPKI_ERR_NOT_FOUND if it is not */
	JPKI_DOC_UPSERT = 2
};

typedef int (*jpki_store_doc_cb)(void *ctx, const char *key, const char *body);

int jpki_store_doc_put(jpki_store_t *st, const char *kind, const char *key, const char *body,
                       int mode);
/* *body is malloc'd, NUL-terminated (free()).  JPKI_ERR_NOT_FOUND if absent. */
int jpki_store_doc_get(jpki_store_t *st, const char *kind, const char *key, char **body);
/* JPKI_ERR_NOT_FOUND if absent. */
int jpki_store_doc_delete(jpki_store_t *st, const char *kind, const char *key);
/* Every document of kind whose key starts with prefix ("" for all), in key
 * order; a non-zero return of cb stops and is returned. */
int jpki_store_foreach_doc(jpki_store_t *st, const char *kind, const char *prefix,
                           jpki_store_doc_cb cb, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
