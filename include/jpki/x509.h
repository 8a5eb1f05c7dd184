/*
 * JPKI certificate profiles (spec §4) and CRL encoding (spec §5).
 *
 * CA certificates (made once) are built with OpenSSL's X509 API.  End-entity
 * certificates, made at the rate cards are issued, are encoded here directly
 * in DER from parts precomputed per CA, so that the RSA signature is nearly
 * all their cost; tests/unit/test_x509.c checks them byte for byte against
 * the X509-API builder they replaced.  CRLs are encoded here as a stream of
 * DER entries so that a partition of a million entries costs one pass and a
 * few dozen bytes per entry.
 */
#ifndef JPKI_X509_H
#define JPKI_X509_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jpki/date.h"
#include "jpki/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Signature certificate subjectAltName otherNames (spec §4), in this order. */
#define JPKI_OID_NAME          "1.2.392.200149.8.5.5.1"
#define JPKI_OID_DOB           "1.2.392.200149.8.5.5.4"
#define JPKI_OID_SEX           "1.2.392.200149.8.5.5.3"
#define JPKI_OID_ADDRESS       "1.2.392.200149.8.5.5.5"
#define JPKI_OID_NAME_FLAGS    "1.2.392.200149.8.5.5.2"
#define JPKI_OID_ADDRESS_FLAGS "1.2.392.200149.8.5.5.6"
/* (ours) The registered alias 通称 of a foreign resident.  No public source
 * fixes its OID.  The project takes nobody's arc: it uses the enterprise
 * number IANA reserves for documentation and examples (RFC 5612, 32473); a
 * deployment replaces it with an arc of its own.  (A UUID arc under 2.25 was
 * tried first: GnuTLS and Python cryptography cannot parse arcs of 2^64 and
 * 2^31 or more, so relying parties could not read such a certificate.) */
#define JPKI_OID_ALIAS "1.3.6.1.4.1.32473.1.1"

/* Certificate policies. */
#define JPKI_POLICY_SIGN      "1.2.392.200149.8.5.1.1.20"
#define JPKI_POLICY_SIGN_TEST "1.2.392.200149.8.5.1.0.20"
/* (ours) The authentication policy of spec §4; the test arc follows the
 * signature policy's pattern (production .1.3.30, test .1.2.30). */
#define JPKI_POLICY_AUTH      "1.2.392.200149.8.5.1.3.30"
#define JPKI_POLICY_AUTH_TEST "1.2.392.200149.8.5.1.2.30"

#define JPKI_NAME_MAX_CHARS 100
#define JPKI_ADDRESS_MAX_CHARS 200 /* spec §4 */
#define JPKI_ALIAS_MAX_CHARS 100

/* A resident's basic facts, as the signature certificate carries them (L1). */
typedef struct jpki_person {
	const char *name;          /* family U+3000 given; UTF-8 */
	jpki_date_t dob;
	int sex;                   /* 1 male, 2 female, 9 not applicable */
	const char *address;       /* no postal code */
	const char *alias;         /* 通称, or NULL */
	const char *name_flags;    /* one '0'/'1' per character of name; NULL = all '0' */
	const char *address_flags; /* likewise for the address */
	const char *prefecture;    /* subject L; NULL = taken from the address */
	const char *city;          /* subject L; NULL = taken from the address */
} jpki_person_t;

/* Check p against the profile: well-formed UTF-8, lengths, sex code, flags of
 * the right length, dob a real date not after `on` (the issuance day).
 * JPKI_ERR_INVALID_ARG / JPKI_ERR_DATE with a detail naming the field. */
int jpki_person_check(const jpki_person_t *p, const jpki_date_t *on);
/* The sex code of spec §4 from "1"/"male", "2"/"female", "9"/"na" (not
 * applicable).  JPKI_ERR_INVALID_ARG for anything else. */
int jpki_sex_parse(const char *s, int *sex);
/* Split a Japanese address into prefecture (one of the 47) and city (up to and
 * including the first 市, 区, 町 or 村 after the prefecture and any 郡).
 * JPKI_ERR_INVALID_ARG when no prefecture is recognised. */
int jpki_address_split(const char *address, char *pref, size_t pref_len,
                       char *city, size_t city_len);
/* Number of Unicode characters in s, or -1 if s is not well-formed UTF-8. */
long jpki_utf8_chars(const char *s);

/* The facts read back out of a signature certificate's subjectAltName
 * (spec §4), for display (the copy of L11, the client).  Buffers hold up to
 * 4 UTF-8 bytes per character of the profile's limits, NUL-terminated. */
#define JPKI_PR_NAME    0x01
#define JPKI_PR_DOB     0x02
#define JPKI_PR_SEX     0x04
#define JPKI_PR_ADDRESS 0x08
#define JPKI_PR_ALIAS   0x10
#define JPKI_PR_BASIC   (JPKI_PR_NAME | JPKI_PR_DOB | JPKI_PR_SEX | JPKI_PR_ADDRESS)

typedef struct jpki_person_read {
	unsigned present;                             /* JPKI_PR_* of the otherNames found */
	char name[4 * JPKI_NAME_MAX_CHARS + 1];       /* family U+3000 given */
	char address[4 * JPKI_ADDRESS_MAX_CHARS + 1];
	char alias[4 * JPKI_ALIAS_MAX_CHARS + 1];     /* "" when absent */
	jpki_date_t dob;
	int dob_era;                                  /* E of "EYYYYMMDD": 0 unknown, 1 明治 .. 5 令和 */
	int sex;                                      /* 1, 2, 9; 0 when absent */
} jpki_person_read_t;

/* Read the otherNames of cert's subjectAltName: each must be [0] EXPLICIT
 * UTF8String of well-formed UTF-8 without control characters; otherNames of
 * other OIDs (the substitute-character flags) and other GeneralNames are
 * skipped.  0 with the four basic facts (the alias optional); JPKI_ERR_NOT_FOUND
 * when there are none of them (an authentication certificate); JPKI_ERR_FORMAT
 * for malformed DER, a bad value, a repeated or missing fact, and
 * JPKI_ERR_TOO_LARGE for a value over its buffer (a detail names the field).
 * *out is cleared on entry and is meaningful only on 0. */
int jpki_x509_person_read(X509 *cert, jpki_person_read_t *out);

/* A self-signed CA certificate of spec §4: 10 years, notAfter 14:59:59Z. */
int jpki_x509_ca_cert(jpki_ca_kind_t kind, int test, EVP_PKEY *key, time_t now,
                      const uint8_t *serial, size_t serial_len, X509 **out);

/* What an end-entity certificate is made of besides its key. */
typedef struct jpki_ee_params {
	jpki_ca_kind_t kind;
	int test;                  /* test hierarchy: test policy OIDs */
	const uint8_t *serial;     /* 1..JPKI_SERIAL_MAX bytes, big-endian, positive */
	size_t serial_len;
	time_t not_before;
	time_t not_after;
	const char *cn;            /* issuance id (sign) or opaque id (auth) */
	const jpki_person_t *person; /* JPKI_CA_SIGN only */
	const char *crl_url;       /* CRL distribution point of its partition; NULL: none */
	const char *ocsp_url;      /* AIA OCSP; NULL: none */
	const char *cps_uri;       /* certificatePolicies CPS qualifier; NULL or "": none */
} jpki_ee_params_t;

/* An RSA public key as SubjectPublicKeyInfo carries it: big-endian n and e. */
typedef struct jpki_rsa_pub {
	uint8_t n[512];
	size_t n_len;
	uint8_t e[8];
	size_t e_len;
} jpki_rsa_pub_t;

/* n and e of an RSA key.  Read with one EVP_PKEY_get_params() into these
 * buffers: EVP_PKEY_get_bn_param() allocates and copies a BIGNUM per value. */
int jpki_rsa_pub_from_pkey(EVP_PKEY *pk, jpki_rsa_pub_t *out);
/* From the bytes themselves (a card answers the modulus; e = 65537 there). */
int jpki_rsa_pub_set(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
                     jpki_rsa_pub_t *out);

/* What every end-entity certificate of one CA shares, encoded once: issuer
 * Name (the CA certificate's subject, byte for byte), AuthorityKeyIdentifier
 * (its SKI), issuerAltName, the OIDs; and a signing context for ca_key
 * (RSA, PKCS#1 v1.5 with SHA-256).  ca_cert and ca_key are not kept (the
 * key is referenced by the context).  Like jpki_ca_t, one thread at a time. */
typedef struct jpki_ee_encoder jpki_ee_encoder_t;

int jpki_ee_encoder_new(X509 *ca_cert, EVP_PKEY *ca_key, jpki_ee_encoder_t **out);
void jpki_ee_encoder_free(jpki_ee_encoder_t *enc);

/* Encode and sign an end-entity certificate of spec §4 for pub: version 3,
 * sha256WithRSAEncryption, extensions KeyUsage (critical), certificatePolicies
 * (critical), subjectAltName otherNames (sign only), issuerAltName, SKI, AKI,
 * CRLDP, AIA OCSP in that order.  *der gets the Certificate DER (malloc'd,
 * caller frees with free()). */
int jpki_x509_ee_cert(jpki_ee_encoder_t *enc, const jpki_ee_params_t *p,
                      const jpki_rsa_pub_t *pub, uint8_t **der, size_t *der_len);

/* Streaming CRL encoder. */
typedef struct jpki_crl_builder jpki_crl_builder_t;

typedef struct jpki_crl_params {
	int64_t number;            /* CRLNumber */
	int64_t delta_base;        /* > 0: a delta CRL relative to this full CRL */
	time_t this_update;
	time_t next_update;
	const char *idp_url;       /* issuing distribution point (the partition's URL) */
	const char *freshest_url;  /* full CRL: where its delta is; may be NULL */
} jpki_crl_params_t;

/* Start a CRL for ca_cert.  Free with jpki_crl_builder_free(). */
int jpki_crl_builder_new(X509 *ca_cert, jpki_crl_builder_t **out);
void jpki_crl_builder_free(jpki_crl_builder_t *b);
/* Add an entry; reason JPKI_REASON_NONE omits the reason extension. */
int jpki_crl_builder_add(jpki_crl_builder_t *b, const uint8_t *serial, size_t serial_len,
                         time_t when, int reason);
/* Reserve room for n more entries (and the CRL around them), so a large CRL
 * is built in one allocation instead of growing by copies. */
int jpki_crl_builder_reserve(jpki_crl_builder_t *b, size_t n);
/* Number of entries added so far. */
size_t jpki_crl_builder_count(const jpki_crl_builder_t *b);
/* Sign with ca_key and hand back the DER (*der malloc'd, caller frees). */
int jpki_crl_builder_finish(jpki_crl_builder_t *b, const jpki_crl_params_t *p,
                            EVP_PKEY *ca_key, uint8_t **der, size_t *der_len);

/* The CRLNumber of a DER CertificateList, read by walking the TBSCertList
 * (the revoked entries are skipped by their length, not parsed), so a CRL of
 * a million entries costs no more than a small one.  JPKI_ERR_NOT_FOUND when
 * it has no CRLNumber; JPKI_ERR_FORMAT / JPKI_ERR_TRUNCATED on bad DER or a
 * number that is negative or does not fit in 63 bits. */
int jpki_crl_number_read(const uint8_t *der, size_t len, int64_t *number);

/* SHA-256 fingerprint of a certificate as "AB:CD:..." (out >= 96 bytes). */
int jpki_x509_fingerprint_sha256(X509 *x, char *out, size_t outlen);
/* Serial number of x as big-endian bytes without leading zeros. */
int jpki_x509_serial(X509 *x, uint8_t *serial, size_t *serial_len);
/* Load a PEM or DER certificate / public key / private key from a file. */
int jpki_x509_load_cert(const char *path, X509 **out);
int jpki_x509_load_pubkey(const char *path, EVP_PKEY **out);
int jpki_x509_load_privkey(const char *path, EVP_PKEY **out);

#ifdef __cplusplus
}
#endif
#endif
