/*
 * The Agency's two certification authorities (spec §1, §4, §5).
 *
 * A CA directory holds:
 *   jpki.conf            settings (see jpki_ca_init)
 *   ca.db                the store (SQLite by default; `store =` overrides)
 *   sign/ca.key, ca.pem  the Signing CA (署名用認証局): key 0600, certificate
 *   auth/ca.key, ca.pem  the User-Authentication CA (利用者証明用認証局)
 *   crl/sign/N.crl, N-delta.crl, crl/auth/...   published CRLs, DER
 */
#ifndef JPKI_CA_H
#define JPKI_CA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jpki/date.h"
#include "jpki/store.h"
#include "jpki/x509.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jpki_ca jpki_ca_t;

typedef struct jpki_ca_init_opts {
	int test;               /* the O=JPKI-TEST hierarchy with test policy OIDs */
	const char *base_url;   /* where jpkid serves CRLs and OCSP; NULL: http://127.0.0.1:8080 */
	const char *store_uri;  /* NULL: sqlite:ca.db inside the directory */
	int64_t partition_size; /* certificates per CRL partition; 0: 100000 */
} jpki_ca_init_opts_t;

/* Create both CAs in dir (created 0700 if absent): RSA-2048 keys written 0600
 * with O_EXCL, self-signed certificates, jpki.conf and the store.  An existing
 * CA is never overwritten: JPKI_ERR_EXISTS.  On failure, nothing is left. */
int jpki_ca_init(const char *dir, const jpki_ca_init_opts_t *opts);
/* Open the CAs of dir.  JPKI_ERR_NOT_FOUND (detail names the file) if none. */
int jpki_ca_open(const char *dir, jpki_ca_t **out);
void jpki_ca_close(jpki_ca_t *ca);

jpki_store_t *jpki_ca_store(jpki_ca_t *ca);
X509 *jpki_ca_cert(jpki_ca_t *ca, jpki_ca_kind_t kind);   /* owned by ca */
int jpki_ca_is_test(const jpki_ca_t *ca);
const char *jpki_ca_dir(const jpki_ca_t *ca);
/* URLs the certificates name. */
int jpki_ca_crl_url(const jpki_ca_t *ca, jpki_ca_kind_t kind, int64_t partition, int delta,
                    char *out, size_t outlen);
int jpki_ca_ocsp_url(const jpki_ca_t *ca, jpki_ca_kind_t kind, char *out, size_t outlen);
/* Path of a published CRL file. */
int jpki_ca_crl_path(const jpki_ca_t *ca, jpki_ca_kind_t kind, int64_t partition, int delta,
                     char *out, size_t outlen);

typedef struct jpki_issue_req {
	jpki_ca_kind_t kind;
	EVP_PKEY *pub;                 /* the card's RSA-2048 public key, or NULL and: */
	const uint8_t *pub_n;          /* the key as the card answers it: the 256-byte
	                                  modulus, e = 65537 (spec §4); saves reading
	                                  n and e back out of an EVP_PKEY */
	size_t pub_n_len;
	int der_only;                  /* 1: hand back the DER alone, out->cert stays
	                                  NULL (d2i_X509 decodes the key through
	                                  OSSL_DECODER: a fifth of an issuance) */
	const jpki_person_t *person;   /* JPKI_CA_SIGN: the facts; JPKI_CA_AUTH: only
	                                  dob is used (validity), nothing is embedded */
	jpki_generation_t gen;         /* L4 rule */
	const jpki_date_t *card_expiry;/* the card's last valid day, or NULL */
	time_t now;                    /* 0: jpki_now() */
} jpki_issue_req_t;

typedef struct jpki_issued {
	uint8_t serial[JPKI_SERIAL_MAX];
	size_t serial_len;
	int64_t partition;
	time_t not_before;
	time_t not_after;
	char cn[64];
	uint8_t *der;                  /* the certificate, DER; owned */
	size_t der_len;
	X509 *cert;                    /* the same, parsed (NULL if req->der_only); owned */
} jpki_issued_t;

void jpki_issued_clear(jpki_issued_t *is);

/* Issue a certificate: random positive serial unique in the store, validity
 * by L4, the profile of spec §4, recorded in the store in one transaction. */
int jpki_ca_issue(jpki_ca_t *ca, const jpki_issue_req_t *req, jpki_issued_t *out);

/* Group many issuances into one store transaction (throughput for batches:
 * nothing is handed out before jpki_ca_batch_commit() returns 0). */
int jpki_ca_batch_begin(jpki_ca_t *ca);
int jpki_ca_batch_commit(jpki_ca_t *ca);
int jpki_ca_batch_rollback(jpki_ca_t *ca);

/* Revoke with an RFC 5280 reason of spec §5 (not unspecified, not hold). */
int jpki_ca_revoke(jpki_ca_t *ca, jpki_ca_kind_t kind, const uint8_t *serial, size_t len,
                   int reason, time_t when);
/* Put on hold (certificateHold, L8).  JPKI_ERR_STATE unless good. */
int jpki_ca_hold(jpki_ca_t *ca, jpki_ca_kind_t kind, const uint8_t *serial, size_t len,
                 time_t when);
/* Release a hold: authentication certificates only; a signature certificate
 * gives JPKI_ERR_RELEASE_SIGN (it must be revoked and re-issued, L8). */
int jpki_ca_release(jpki_ca_t *ca, jpki_ca_kind_t kind, const uint8_t *serial, size_t len,
                    time_t when);

/* Publish one CRL of a partition: full, or delta relative to the newest full
 * CRL of that partition (JPKI_ERR_STATE if there is none).  The CRL is saved
 * in the store and written atomically to its file.  out may be NULL; when
 * given it receives the record (without the DER). */
int jpki_ca_publish_crl(jpki_ca_t *ca, jpki_ca_kind_t kind, int64_t partition, int delta,
                        time_t now, jpki_crl_rec_t *out);
/* Publish full and delta CRLs of every partition of both CAs (a partition
 * that has no full CRL yet gets one first).  *count receives how many. */
int jpki_ca_publish_all(jpki_ca_t *ca, time_t now, int *count);

/* Reasons by name: keyCompromise, affiliationChanged, superseded,
 * cessationOfOperation, caCompromise, certificateHold, removeFromCRL. */
int jpki_reason_parse(const char *s, int *reason);
const char *jpki_reason_name(int reason);
const char *jpki_ca_kind_name(jpki_ca_kind_t kind); /* "sign" / "auth" */
int jpki_ca_kind_parse(const char *s, jpki_ca_kind_t *kind);
/* Hex (upper case) of a serial into out (2*len+1 bytes). */
void jpki_serial_hex(const uint8_t *serial, size_t len, char *out, size_t outlen);
/* Parse hex (optionally with colons, or a 0x prefix) into a serial. */
int jpki_serial_parse(const char *hex, uint8_t *serial, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
