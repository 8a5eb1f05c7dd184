/*
 * OCSP (RFC 6960 with the RFC 5019 profile, spec §5): the request parser and
 * the response builder of the Agency's responder.
 *
 * Requests are read with a bounded, strict DER reader (no OpenSSL on this
 * path: it must be fast and safe to fuzz); responses are encoded directly in
 * DER and signed by the CA key itself (sha256WithRSAEncryption, responderID
 * byKey, no certificates: the relying party holds the CA certificate).
 */
#ifndef JPKI_OCSP_H
#define JPKI_OCSP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jpki/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JPKI_OCSP_REQUEST_MAX 16384 /* hard maximum of a request's DER */
#define JPKI_OCSP_MAX_CERTS 16      /* Requests in one OCSPRequest */
#define JPKI_OCSP_NONCE_MAX 64      /* longest nonce echoed (RFC 8954 asks 32) */
#define JPKI_OCSP_SERIAL_RAW_MAX 64 /* longest serial INTEGER accepted at all */

/* OCSPResponseStatus (RFC 6960 4.2.1). */
enum jpki_ocsp_resp_status {
	JPKI_OCSP_SUCCESSFUL = 0,
	JPKI_OCSP_MALFORMED_REQUEST = 1,
	JPKI_OCSP_INTERNAL_ERROR = 2,
	JPKI_OCSP_TRY_LATER = 3,
	JPKI_OCSP_SIG_REQUIRED = 5,
	JPKI_OCSP_UNAUTHORIZED = 6
};

/* The hash of a CertID. */
enum jpki_ocsp_hash {
	JPKI_OCSP_SHA1 = 0,
	JPKI_OCSP_SHA256 = 1,
	JPKI_OCSP_HASH_OTHER = 2 /* parsed, but no CA of ours matches it */
};

/* CertStatus. */
enum jpki_ocsp_cert_status {
	JPKI_OCSP_GOOD = 0,
	JPKI_OCSP_REVOKED = 1,
	JPKI_OCSP_UNKNOWN = 2
};

/* One CertID as the request carries it.  The pointers point into the
 * request's bytes and are valid as long as they are. */
typedef struct jpki_ocsp_certid {
	int hash;                   /* enum jpki_ocsp_hash */
	const uint8_t *name_hash;   /* issuerNameHash contents */
	size_t name_hash_len;
	const uint8_t *key_hash;    /* issuerKeyHash contents */
	size_t key_hash_len;
	const uint8_t *serial;      /* serialNumber INTEGER contents, as sent */
	size_t serial_len;          /* 1..JPKI_OCSP_SERIAL_RAW_MAX */
} jpki_ocsp_certid_t;

typedef struct jpki_ocsp_request {
	size_t count;                             /* 1..JPKI_OCSP_MAX_CERTS */
	jpki_ocsp_certid_t ids[JPKI_OCSP_MAX_CERTS];
	const uint8_t *nonce;  /* id-pkix-ocsp-nonce extnValue contents, or NULL
	                          (absent, or longer than JPKI_OCSP_NONCE_MAX: then
	                          nonce_ignored is 1 and the answer has no nonce) */
	size_t nonce_len;
	int nonce_ignored;
} jpki_ocsp_request_t;

/*
 * Parse a DER OCSPRequest of len bytes (at most JPKI_OCSP_REQUEST_MAX).
 * Accepts version v1 (omitted or explicit), a requestorName and an
 * optionalSignature (neither is checked: the responder answers anyone),
 * singleRequestExtensions and requestExtensions (the nonce is kept, others
 * ignored).  JPKI_ERR_FORMAT / JPKI_ERR_TRUNCATED for anything malformed
 * (answer malformedRequest), JPKI_ERR_TOO_LARGE over the limits.  *out is
 * cleared first; its pointers point into der.
 */
int jpki_ocsp_request_parse(const uint8_t *der, size_t len, jpki_ocsp_request_t *out);

/*
 * The serial of a CertID as the store keys it (store.h: unsigned, no leading
 * zero bytes), comparing serials as integers: leading zero octets are
 * dropped.  JPKI_ERR_RANGE when it cannot be a serial of ours (zero,
 * negative, longer than JPKI_SERIAL_MAX): the CA never issued it.
 */
int jpki_ocsp_serial_key(const jpki_ocsp_certid_t *id, uint8_t serial[JPKI_SERIAL_MAX],
                         size_t *serial_len);

/*
 * The request of an RFC 5019 GET, from the path text after "/ocsp/<ca>/":
 * percent escapes are decoded, then base64 in either alphabet (+/ or -_),
 * padding optional.  Writes at most outmax bytes to out.  JPKI_ERR_FORMAT
 * for a bad escape or character, JPKI_ERR_TOO_LARGE past outmax.
 */
int jpki_ocsp_decode_get(const char *s, size_t len, uint8_t *out, size_t outmax,
                         size_t *out_len);

/* One CA's responder: its CertID hashes and its key.  Immutable once made,
 * so any number of threads may use one at once. */
typedef struct jpki_ocsp_responder jpki_ocsp_responder_t;

/* From the CA certificate and its private key (both up-ref'd, not copied).
 * Free with jpki_ocsp_responder_free(). */
int jpki_ocsp_responder_new(X509 *ca_cert, EVP_PKEY *ca_key, jpki_ocsp_responder_t **out);
void jpki_ocsp_responder_free(jpki_ocsp_responder_t *r);
/* 1 if the CertID names this CA: a known hash, and issuerNameHash and
 * issuerKeyHash (the latter over the subjectPublicKey BIT STRING contents)
 * both equal this CA's; else 0. */
int jpki_ocsp_responder_match(const jpki_ocsp_responder_t *r, const jpki_ocsp_certid_t *id);

/* The CertID a request for serial (store form: unsigned, no leading zeros)
 * under this CA carries with hash (SHA1 or SHA256), so that a response can be
 * produced ahead of any request.  buf receives the INTEGER contents; out's
 * hashes point into r, its serial into buf. */
int jpki_ocsp_responder_certid(const jpki_ocsp_responder_t *r, int hash, const uint8_t *serial,
                               size_t serial_len, uint8_t buf[JPKI_SERIAL_MAX + 1],
                               jpki_ocsp_certid_t *out);

/* What one SingleResponse says. */
typedef struct jpki_ocsp_single {
	const jpki_ocsp_certid_t *id; /* echoed: hash algorithm (with NULL
	                                 parameters), both hashes, the serial in
	                                 its minimal encoding */
	int status;                   /* enum jpki_ocsp_cert_status */
	int64_t revocation_time;      /* REVOKED: Unix seconds */
	int reason;                   /* REVOKED: enum jpki_reason, NONE to omit */
	int non_issued;               /* 1: REVOKED for a serial never issued
	                                 (RFC 6960 2.2): certificateHold at
	                                 1970-01-01, and the response carries the
	                                 extended revoke extension */
} jpki_ocsp_single_t;

/*
 * Build and sign a successful OCSPResponse with a BasicOCSPResponse of n
 * SingleResponses (1..JPKI_OCSP_MAX_CERTS), producedAt and thisUpdate
 * `produced`, nextUpdate `next_update` (0: omitted).  nonce (may be NULL) is
 * echoed as the id-pkix-ocsp-nonce extnValue.  *der is malloc'd (caller
 * frees with free()).
 */
int jpki_ocsp_response_build(const jpki_ocsp_responder_t *r, const jpki_ocsp_single_t *s,
                             size_t n, const uint8_t *nonce, size_t nonce_len,
                             time_t produced, time_t next_update, uint8_t **der,
                             size_t *der_len);

/* An unsuccessful OCSPResponse (status != SUCCESSFUL): 5 bytes into out,
 * which needs 5.  Returns the length. */
size_t jpki_ocsp_error_response(int status, uint8_t out[5]);

#ifdef __cplusplus
}
#endif
#endif
