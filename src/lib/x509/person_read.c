/*
 * Reading the resident's facts back out of a signature certificate (spec §4):
 * a bounded walk over the subjectAltName extension's DER, so that a hostile
 * certificate given to the copy printer or the client cannot make it read
 * past the extension or overflow the fixed buffers.
 */
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/buf.h"
#include "jpki/error.h"
#include "jpki/x509.h"
#include "x509/der.h"

/* Far above what the profile can produce (about 3 KiB with the alias). */
#define SAN_MAX_BYTES 65536

#define TAG_CTX0_CONS 0xa0 /* [0] constructed: otherName, and its EXPLICIT value */

enum { F_NAME, F_DOB, F_SEX, F_ADDRESS, F_ALIAS, F__COUNT };

static const char *const field_oid[F__COUNT] = {
	JPKI_OID_NAME, JPKI_OID_DOB, JPKI_OID_SEX, JPKI_OID_ADDRESS, JPKI_OID_ALIAS,
};
static const char *const field_name[F__COUNT] = {"name", "date of birth", "sex", "address",
                                                 "alias"};
static const unsigned field_bit[F__COUNT] = {JPKI_PR_NAME, JPKI_PR_DOB, JPKI_PR_SEX,
                                             JPKI_PR_ADDRESS, JPKI_PR_ALIAS};

/* One TLV: single-byte tags only (GeneralNames use no others), definite
 * lengths of at most 4 bytes, content within what is left. */
static int
der_read_tlv(jpki_rd_t *rd, uint8_t *tag, const uint8_t **p, size_t *len)
{
	uint8_t t, l, b;
	size_t n = 0;
	int r;

	if ((r = jpki_rd_u8(rd, &t)) != 0 || (r = jpki_rd_u8(rd, &l)) != 0)
		return JPKI_ERR_FORMAT;
	if ((t & 0x1f) == 0x1f)
		return JPKI_ERR_FORMAT;
	if (l < 0x80) {
		n = l;
	} else {
		l &= 0x7f;
		if (l == 0 || l > 4)
			return JPKI_ERR_FORMAT;
		while (l--) {
			if (jpki_rd_u8(rd, &b) != 0)
				return JPKI_ERR_FORMAT;
			n = (n << 8) | b;
		}
	}
	if (n > jpki_rd_left(rd) || jpki_rd_bytes(rd, n, p) != 0)
		return JPKI_ERR_FORMAT;
	*tag = t;
	*len = n;
	return 0;
}

/* Copy a UTF8String value into dst (dstlen with the NUL), refusing NULs,
 * control characters and ill-formed UTF-8. */
static int
copy_text(const char *field, const uint8_t *v, size_t n, char *dst, size_t dstlen)
{
	size_t i;

	if (n >= dstlen) {
		jpki_set_detail("subjectAltName %s: %zu bytes, at most %zu", field, n, dstlen - 1);
		return JPKI_ERR_TOO_LARGE;
	}
	for (i = 0; i < n; i++) {
		if (v[i] < 0x20 || v[i] == 0x7f) {
			jpki_set_detail("subjectAltName %s: a control character", field);
			return JPKI_ERR_FORMAT;
		}
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
	if (jpki_utf8_chars(dst) < 0) {
		dst[0] = '\0';
		jpki_set_detail("subjectAltName %s: not valid UTF-8", field);
		return JPKI_ERR_FORMAT;
	}
	return 0;
}

/* Store the value of one known otherName. */
static int
take_field(int f, const uint8_t *v, size_t n, jpki_person_read_t *out)
{
	char small[16];
	int r;

	switch (f) {
	case F_NAME:
		return copy_text(field_name[f], v, n, out->name, sizeof(out->name));
	case F_ADDRESS:
		return copy_text(field_name[f], v, n, out->address, sizeof(out->address));
	case F_ALIAS:
		return copy_text(field_name[f], v, n, out->alias, sizeof(out->alias));
	case F_DOB:
		if ((r = copy_text(field_name[f], v, n, small, sizeof(small))) != 0)
			return r;
		if (jpki_era_dob_parse(small, &out->dob, &out->dob_era) != 0) {
			jpki_set_detail("subjectAltName date of birth: '%s' is not EYYYYMMDD", small);
			return JPKI_ERR_FORMAT;
		}
		return 0;
	case F_SEX:
		if (n != 1 || (v[0] != '1' && v[0] != '2' && v[0] != '9')) {
			jpki_set_detail("subjectAltName sex: not 1, 2 or 9");
			return JPKI_ERR_FORMAT;
		}
		out->sex = v[0] - '0';
		return 0;
	}
	return JPKI_ERR_INTERNAL;
}

/* otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY } (IMPLICIT
 * [0] in GeneralName, so its content starts at the OID). */
static int
read_other_name(const uint8_t *p, size_t len, uint8_t oids[F__COUNT][64],
                const size_t oid_len[F__COUNT], jpki_person_read_t *out)
{
	jpki_rd_t rd, inner;
	const uint8_t *oid, *ex, *v;
	size_t olen, exlen, vlen;
	uint8_t tag;
	int f, r;

	jpki_rd_init(&rd, p, len);
	if (der_read_tlv(&rd, &tag, &oid, &olen) != 0 || tag != DER_OID ||
	    der_read_tlv(&rd, &tag, &ex, &exlen) != 0 || tag != TAG_CTX0_CONS ||
	    jpki_rd_left(&rd) != 0) {
		jpki_set_detail("subjectAltName: a malformed otherName");
		return JPKI_ERR_FORMAT;
	}
	for (f = 0; f < F__COUNT; f++)
		if (olen == oid_len[f] && memcmp(oid, oids[f], olen) == 0)
			break;
	if (f == F__COUNT)
		return 0; /* the substitute-character flags, or someone else's */
	if (out->present & field_bit[f]) {
		jpki_set_detail("subjectAltName %s: given twice", field_name[f]);
		return JPKI_ERR_FORMAT;
	}
	jpki_rd_init(&inner, ex, exlen);
	if (der_read_tlv(&inner, &tag, &v, &vlen) != 0 || tag != DER_UTF8 ||
	    jpki_rd_left(&inner) != 0) {
		jpki_set_detail("subjectAltName %s: not [0] EXPLICIT UTF8String", field_name[f]);
		return JPKI_ERR_FORMAT;
	}
	if ((r = take_field(f, v, vlen, out)) != 0)
		return r;
	out->present |= field_bit[f];
	return 0;
}

int
jpki_x509_person_read(X509 *cert, jpki_person_read_t *out)
{
	uint8_t oids[F__COUNT][64];
	size_t oid_len[F__COUNT];
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *os;
	const uint8_t *seq, *gn;
	size_t seqlen, gnlen;
	jpki_rd_t rd, names;
	uint8_t tag;
	int i, f, r = JPKI_ERR_INTERNAL;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (cert == NULL || out == NULL)
		return JPKI_ERR_INVALID_ARG;
	for (f = 0; f < F__COUNT; f++)
		if ((r = der_oid_from_text(field_oid[f], oids[f], &oid_len[f])) != 0)
			goto out;
	if ((i = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1)) < 0) {
		r = JPKI_ERR_NOT_FOUND;
		goto out;
	}
	/* Two SAN extensions would let a certificate show one set of facts here
	 * and another to a verifier that reads the other. */
	if (X509_get_ext_by_NID(cert, NID_subject_alt_name, i) >= 0) {
		jpki_set_detail("subjectAltName: the extension appears twice");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	ext = X509_get_ext(cert, i);
	if ((os = X509_EXTENSION_get_data(ext)) == NULL) {
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if (ASN1_STRING_length(os) > SAN_MAX_BYTES) {
		jpki_set_detail("subjectAltName: over %d bytes", SAN_MAX_BYTES);
		r = JPKI_ERR_TOO_LARGE;
		goto out;
	}
	jpki_rd_init(&rd, ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os));
	if (der_read_tlv(&rd, &tag, &seq, &seqlen) != 0 || tag != DER_SEQUENCE ||
	    jpki_rd_left(&rd) != 0) {
		jpki_set_detail("subjectAltName: not one SEQUENCE of GeneralName");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	jpki_rd_init(&names, seq, seqlen);
	while (jpki_rd_left(&names) > 0) {
		if (der_read_tlv(&names, &tag, &gn, &gnlen) != 0) {
			jpki_set_detail("subjectAltName: a malformed GeneralName");
			r = JPKI_ERR_FORMAT;
			goto out;
		}
		if (tag != TAG_CTX0_CONS)
			continue; /* a DNS name, a directory name: nothing of the resident */
		if ((r = read_other_name(gn, gnlen, oids, oid_len, out)) != 0)
			goto out;
	}
	if (out->present == 0) {
		r = JPKI_ERR_NOT_FOUND;
		goto out;
	}
	/* A copy showing a name without an address (or the reverse) would look
	 * complete and be wrong: all four basic facts or none. */
	if ((out->present & JPKI_PR_BASIC) != JPKI_PR_BASIC) {
		for (f = 0; f < F_ALIAS; f++)
			if (!(out->present & field_bit[f]))
				break;
		jpki_set_detail("subjectAltName: no %s", field_name[f]);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}
