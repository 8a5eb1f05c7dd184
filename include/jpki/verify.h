/*
 * What a relying party runs (L13, L14): the resident's CAdES-BES signature
 * over an application, the chain to a trust anchor (the Signing CA or the
 * User-Authentication CA), the certificate's status by OCSP with a CRL
 * fallback, the identity a signature certificate carries (spec §4), and the
 * login challenge and response.  Needs only x509/ and an HTTP client (libcurl),
 * so a relying party can link it without the CA, the store or the reader.
 *
 * Every check has its own code:
 *   JPKI_ERR_FORMAT     the signature (or a response) is not what it claims
 *   JPKI_ERR_VERIFY     the content was changed or the signature is bad
 *   JPKI_ERR_UNTRUSTED  the certificate does not chain to the given anchor
 *   JPKI_ERR_EXPIRED    outside its validity at the time of the check
 *   JPKI_ERR_REVOKED    revoked (jpki_status_t says the reason and time)
 *   JPKI_ERR_HOLD       on hold (certificateHold, L8)
 *   JPKI_ERR_NOT_FOUND  the responder does not know the certificate ("unknown")
 *   JPKI_ERR_NET        no status source gave a usable answer
 */
#ifndef JPKI_VERIFY_H
#define JPKI_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "jpki/date.h"
#include "jpki/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- HTTP (libcurl) -------------------------------------------------------- */

typedef struct jpki_http_req {
	const char *url;
	const char *accept;         /* Accept header, or NULL */
	const char *content_type;   /* with body: a POST */
	const void *body;           /* NULL: a GET */
	size_t body_len;
	size_t max;                 /* hard maximum of the answer's body */
	long timeout_ms;            /* the whole exchange; 0: 10 s */
	int allow_file;             /* also file:// (URLs the user gave, never ones
	                               read from a certificate or a CRL) */
} jpki_http_req_t;

/*
 * Fetch a URL (http, https; file when allowed; no redirects).  0 whenever
 * an HTTP answer came, whatever its status (*status; 200 for file://), with
 * the body in *body (malloc'd, NUL-terminated, caller frees with free()).
 * JPKI_ERR_NET when no answer came (detail: the URL and curl's words),
 * JPKI_ERR_TOO_LARGE over req->max.
 */
int jpki_http_fetch(const jpki_http_req_t *req, long *status, uint8_t **body, size_t *len);

/* Standard base64 (RFC 4648, padded, no line breaks).  encode: *out malloc'd
 * and NUL-terminated.  decode: whitespace is not allowed; at most max bytes
 * out (JPKI_ERR_TOO_LARGE), JPKI_ERR_FORMAT for anything not base64. */
int jpki_base64_encode(const uint8_t *in, size_t len, char **out);
int jpki_base64_decode(const char *in, size_t in_len, size_t max, uint8_t **out,
                       size_t *out_len);

/* ---- Hashes ------------------------------------------------------------------ */

/* SHA-256 of a file, read in pieces (any size).  JPKI_ERR_NOT_FOUND, JPKI_ERR_IO. */
int jpki_sha256_file(const char *path, uint8_t out[32]);

/* ---- Identity (spec §4) ------------------------------------------------------- */

typedef struct jpki_identity {
	char name[512];            /* family U+3000 given, UTF-8 */
	char dob_code[16];         /* "EYYYYMMDD" as the certificate has it */
	jpki_date_t dob;           /* valid when has_dob */
	int has_dob;
	int sex;                   /* 1 male, 2 female, 9 not applicable; 0 absent */
	char address[1024];
	char alias[512];           /* the registered alias 通称, "" when none */
	char name_flags[128];      /* substitute-character flags, "" when absent */
	char address_flags[256];
} jpki_identity_t;

/*
 * The otherName entries of a signature certificate's subjectAltName.
 * JPKI_ERR_NOT_FOUND when the certificate carries none (an authentication
 * certificate); JPKI_ERR_FORMAT when an entry is malformed or too long.
 */
int jpki_identity_from_cert(X509 *cert, jpki_identity_t *id);
/* "male" / "female" / "not applicable" (or 男 / 女 / 適用不能 when ja). */
const char *jpki_sex_name(int sex, int ja);

/* ---- Chain ------------------------------------------------------------------------ */

/*
 * cert must be issued by anchor (a self-signed CA certificate the caller
 * trusts) and both valid at `at` (0: jpki_now()); kind says which CA it is:
 * a signature certificate needs nonRepudiation, an authentication one
 * digitalSignature.  JPKI_ERR_UNTRUSTED (another issuer, a bad certificate
 * signature, the wrong key usage), JPKI_ERR_EXPIRED (detail: expired on or
 * not valid before).
 */
int jpki_verify_chain(X509 *cert, X509 *anchor, jpki_ca_kind_t kind, time_t at);

/* ---- Status: OCSP, then CRL ---------------------------------------------------------- */

typedef enum jpki_cert_state {
	JPKI_CERT_GOOD = 0,
	JPKI_CERT_REVOKED = 1,
	JPKI_CERT_HOLD = 2,        /* certificateHold */
	JPKI_CERT_UNKNOWN = 3      /* the responder does not know it */
} jpki_cert_state_t;

typedef enum jpki_status_source {
	JPKI_SOURCE_NONE = 0,
	JPKI_SOURCE_OCSP = 1,
	JPKI_SOURCE_CRL = 2
} jpki_status_source_t;

typedef struct jpki_status {
	jpki_cert_state_t state;
	int reason;                /* enum jpki_reason; JPKI_REASON_NONE when not given */
	time_t since;              /* revocation or hold time; 0 when good */
	jpki_status_source_t source;
	char url[512];             /* the OCSP responder or the full CRL asked */
	time_t this_update;        /* of the answer */
	time_t next_update;        /* 0 when the answer has none */
	int delta_applied;         /* CRL: a delta CRL (FreshestCRL) was applied */
	char ocsp_error[256];      /* when the answer is from a CRL: why not OCSP */
} jpki_status_t;

typedef struct jpki_status_opts {
	time_t now;                /* 0: jpki_now() */
	long timeout_ms;           /* per request; 0: 10 s */
	int no_ocsp;               /* straight to the CRL */
	int no_crl;                /* OCSP only */
	int offline;               /* never download: only the CRLs in crls */
	const char *ocsp_url;      /* instead of the certificate's AIA (file:// allowed) */
	const char *crl_url;       /* instead of its CRLDP (file:// allowed) */
	STACK_OF(X509_CRL) *crls;  /* CRLs at hand (full and delta), tried before any
	                              download; not owned */
} jpki_status_opts_t;

/*
 * The status of cert (issued by issuer) at o->now.  OCSP first (the AIA URL,
 * POST, SHA-1 CertID as RFC 5019 asks, a nonce): the response must be signed
 * by the issuer or a responder it delegated (id-kp-OCSPSigning), answer for
 * this CertID, be fresh (thisUpdate not in the future, nextUpdate not past;
 * 5 minutes of skew) and echo the nonce if it carries one.  When OCSP gives no
 * usable answer, the CRL of the CRLDP: signed by the issuer, current, its
 * issuing distribution point the certificate's own, not a delta; and the
 * delta CRL its FreshestCRL names, which must be usable too when named
 * (removeFromCRL in it releases a hold).
 * Returns 0 (good), JPKI_ERR_REVOKED, JPKI_ERR_HOLD, JPKI_ERR_NOT_FOUND
 * (unknown), with *st filled; JPKI_ERR_NET when no source answered usably
 * (the detail says why each failed).  o may be NULL.
 */
int jpki_status_check(X509 *cert, X509 *issuer, const jpki_status_opts_t *o,
                      jpki_status_t *st);
/* "good", "revoked", "hold", "unknown". */
const char *jpki_cert_state_name(jpki_cert_state_t s);

/* ---- Verification of a signed application (L13) and of a login (L14) ---------------- */

typedef struct jpki_verify_opts {
	X509 *anchor;              /* required: the CA certificate to chain to */
	jpki_ca_kind_t kind;       /* which CA the anchor is */
	time_t at;                 /* validity time; 0: jpki_now() */
	int no_status;             /* skip the status check */
	jpki_status_opts_t status; /* how to check it (status.now 0: at) */
} jpki_verify_opts_t;

typedef struct jpki_verified {
	X509 *cert;                /* the signer's certificate; owned */
	time_t signing_time;       /* as the signer claims it; 0 when absent */
	jpki_identity_t id;        /* valid when has_id */
	int has_id;
	jpki_status_t status;      /* valid when status_checked */
	int status_checked;
} jpki_verified_t;

/* Free what v holds and zero it.  Accepts NULL. */
void jpki_verified_clear(jpki_verified_t *v);

/*
 * Verify a detached CAdES-BES SignedData (DER) over content whose SHA-256 is
 * content_hash: exactly one signer, SHA-256, the signed attributes
 * contentType (id-data), messageDigest (equal to content_hash),
 * signingCertificateV2 (naming the included signer certificate); the RSA
 * signature over them; then the chain to o->anchor at o->at, then the status.
 * Checks run in that order and the first failure is returned (codes at the
 * top of this header).  *out is cleared on entry; from the chain step on it
 * holds the signer's certificate, so that a refusal can name whose it was,
 * and on JPKI_ERR_REVOKED / JPKI_ERR_HOLD / JPKI_ERR_NOT_FOUND its status.
 * Call jpki_verified_clear() whatever the result.
 */
int jpki_cms_verify(const uint8_t *cms, size_t cms_len, const uint8_t content_hash[32],
                    const jpki_verify_opts_t *o, jpki_verified_t *out);

/*
 * The signer: RSASSA-PKCS1-v1_5 over a DER DigestInfo (the card's COMPUTE
 * DIGITAL SIGNATURE).  Writes at most sig_max bytes into sig, sets *sig_len.
 * Returns 0 or a JPKI_ERR_* code that jpki_cms_sign() hands back unchanged.
 */
typedef int (*jpki_sign_fn)(void *ctx, const uint8_t *digestinfo, size_t len,
                            uint8_t *sig, size_t sig_max, size_t *sig_len);

/*
 * Build a detached CAdES-BES SignedData (DER) over content whose SHA-256 is
 * content_hash, with signer's certificate included and the signed attributes
 * contentType, signingTime (signing_time; 0: jpki_now()), messageDigest and
 * signingCertificateV2 (SHA-256 of the certificate, with its issuer and
 * serial).  The signature comes from fn and is checked against the
 * certificate's key before the result is handed out (JPKI_ERR_VERIFY: the
 * card's key is not the certificate's).  *der: malloc'd, free with free().
 */
int jpki_cms_sign(const uint8_t content_hash[32], X509 *signer, time_t signing_time,
                  jpki_sign_fn fn, void *ctx, uint8_t **der, size_t *der_len);

#define JPKI_LOGIN_PREFIX "JPKI-LOGIN"
#define JPKI_LOGIN_CHALLENGE_LEN 32
#define JPKI_LOGIN_ID_LEN 32         /* hex characters */
#define JPKI_LOGIN_ORIGIN_MAX 256

/*
 * A URL's origin as the login signs it: lower-case scheme "://" lower-case
 * host, ":" port only when it is not the scheme's default (http 80, https
 * 443); no path.  JPKI_ERR_INVALID_ARG for anything but http(s) URLs.
 */
int jpki_login_origin(const char *url, char *out, size_t outlen);
/* SHA-256 of "JPKI-LOGIN" || challenge (32 bytes) || origin (its bytes, no NUL):
 * the hash whose DigestInfo the card signs with the authentication key. */
int jpki_login_digest(const uint8_t challenge[JPKI_LOGIN_CHALLENGE_LEN], const char *origin,
                      uint8_t hash[32]);
/*
 * Verify a login response: cert_der (the authentication certificate) signed
 * "JPKI-LOGIN" || challenge || origin (RSASSA-PKCS1-v1_5, SHA-256), chains
 * to o->anchor (the User-Authentication CA), valid at o->at, status good.
 * Codes and *out as for jpki_cms_verify (JPKI_ERR_VERIFY: the signature).
 */
int jpki_login_verify(const uint8_t challenge[JPKI_LOGIN_CHALLENGE_LEN], const char *origin,
                      const uint8_t *cert_der, size_t cert_len, const uint8_t *sig,
                      size_t sig_len, const jpki_verify_opts_t *o, jpki_verified_t *out);

/*
 * A service's outstanding challenges: each is 32 random bytes under a random
 * id, used once, valid ttl seconds.  At most max are kept (the oldest go
 * first).  Safe for several threads.
 */
typedef struct jpki_login_table jpki_login_table_t;

int jpki_login_table_new(size_t max, int ttl, jpki_login_table_t **out);
void jpki_login_table_free(jpki_login_table_t *t);
/* A new challenge at now: id (JPKI_LOGIN_ID_LEN hex + NUL), the bytes, expiry. */
int jpki_login_table_issue(jpki_login_table_t *t, time_t now,
                           char id[JPKI_LOGIN_ID_LEN + 1],
                           uint8_t challenge[JPKI_LOGIN_CHALLENGE_LEN], time_t *expires);
/* Take (and forget) the challenge id at now.  JPKI_ERR_NOT_FOUND when unknown,
 * already used or expired (the detail says which). */
int jpki_login_table_take(jpki_login_table_t *t, const char *id, time_t now,
                          uint8_t challenge[JPKI_LOGIN_CHALLENGE_LEN]);

#ifdef __cplusplus
}
#endif
#endif
