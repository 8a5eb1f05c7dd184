/* A minimal DER writer for the hot encoders (CRL entries, OCSP responses). */
#ifndef JPKI_X509_DER_H
#define JPKI_X509_DER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jpki/buf.h"

#define DER_BOOLEAN 0x01
#define DER_INTEGER 0x02
#define DER_BIT_STRING 0x03
#define DER_OCTET_STRING 0x04
#define DER_NULL 0x05
#define DER_OID 0x06
#define DER_ENUMERATED 0x0a
#define DER_UTF8 0x0c
#define DER_IA5 0x16
#define DER_UTCTIME 0x17
#define DER_GENTIME 0x18
#define DER_SEQUENCE 0x30
#define DER_SET 0x31

/* Bytes a header for content of length len takes (tag + length octets). */
size_t der_hdr_len(size_t len);
/* Append tag and length. */
int der_put_hdr(jpki_buf_t *b, uint8_t tag, size_t len);
/* Append a whole TLV. */
int der_put_tlv(jpki_buf_t *b, uint8_t tag, const void *p, size_t len);
/* Length of the INTEGER content for an unsigned big-endian magnitude. */
size_t der_uint_content_len(const uint8_t *mag, size_t len);
/* Append INTEGER for an unsigned big-endian magnitude (leading zeros dropped,
 * a 00 added when the top bit is set). */
int der_put_uint(jpki_buf_t *b, const uint8_t *mag, size_t len);
int der_put_u64(jpki_buf_t *b, uint64_t v);
/* Time: UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5).
 * Writes the 13 or 15 content bytes into out and returns the tag. */
int der_time_content(time_t t, char out[16], size_t *len, uint8_t *tag);
int der_put_time(jpki_buf_t *b, time_t t);
/* Append a TLV whose content is the buffer's bytes from `mark` on: the content
 * is shifted to make room for the header. */
int der_wrap(jpki_buf_t *b, size_t mark, uint8_t tag);
/* DistributionPointName as its parent carries it: distributionPoint [0]
 * { fullName [0] { uniformResourceIdentifier [6] url } } (CRLDP, IDP, FreshestCRL). */
int der_put_dp_name(jpki_buf_t *b, const char *url);
/* Encoded OID content from dotted text (up to 64 bytes). */
int der_oid_from_text(const char *text, uint8_t *out, size_t *out_len);

/* GeneralizedTime "YYYYMMDDHHMMSSZ" whatever the year (OCSP: RFC 6960 4.2.2.1). */
int der_put_gentime(jpki_buf_t *b, time_t t);

/*
 * A bounded DER reader over jpki_rd_t, for input from outside (OCSP requests).
 * Strict DER: one-byte tags only (no high tag numbers), definite lengths in
 * the shortest form, at most 4 length octets.  *val points into the input.
 * JPKI_ERR_TRUNCATED when the input ends early, JPKI_ERR_FORMAT otherwise.
 */
int der_get_tlv(jpki_rd_t *r, uint8_t *tag, const uint8_t **val, size_t *len);
/* der_get_tlv, and the tag must be `tag` (JPKI_ERR_FORMAT otherwise). */
int der_get_expect(jpki_rd_t *r, uint8_t tag, const uint8_t **val, size_t *len);
/* The next tag without consuming it; -1 when nothing is left. */
int der_peek_tag(const jpki_rd_t *r);

#endif
