/*
 * CRL encoding (spec §5): entries are appended as DER as they come from the
 * store; finish() puts the header in front of them in place, signs the TBS
 * in pieces and appends the signature, so a million entries cost one buffer.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/error.h"
#include "jpki/store.h"
#include "jpki/x509.h"
#include "x509/der.h"

#define CRL_MAX_BYTES ((size_t)1 << 31)

/* sha256WithRSAEncryption with NULL parameters. */
static const uint8_t alg_sha256_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                         0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};

struct jpki_crl_builder {
	jpki_buf_t entries;
	size_t count;
	uint8_t *issuer;   /* DER Name */
	int issuer_len;
	uint8_t keyid[64]; /* the CA's subject key identifier */
	size_t keyid_len;
};

void
jpki_crl_builder_free(jpki_crl_builder_t *b)
{
	if (b == NULL)
		return;
	jpki_buf_free(&b->entries);
	OPENSSL_free(b->issuer);
	free(b);
}

int
jpki_crl_builder_new(X509 *ca_cert, jpki_crl_builder_t **out)
{
	jpki_crl_builder_t *b = NULL;
	const ASN1_OCTET_STRING *ski;
	int r = JPKI_ERR_INTERNAL;

	*out = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return JPKI_ERR_NOMEM;
	jpki_buf_init(&b->entries, CRL_MAX_BYTES);
	b->issuer_len = i2d_X509_NAME(X509_get_subject_name(ca_cert), &b->issuer);
	if (b->issuer_len <= 0) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	if ((ski = X509_get0_subject_key_id(ca_cert)) == NULL ||
	    (size_t)ASN1_STRING_length(ski) > sizeof(b->keyid)) {
		jpki_set_detail("the CA certificate has no usable subject key identifier");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	b->keyid_len = (size_t)ASN1_STRING_length(ski);
	memcpy(b->keyid, ASN1_STRING_get0_data(ski), b->keyid_len);
	*out = b;
	b = NULL;
	r = 0;
out:
	jpki_crl_builder_free(b);
	return r;
}

int
jpki_crl_builder_reserve(jpki_crl_builder_t *b, size_t n)
{
	/* An entry with a 16-byte serial and a reason is 47 bytes; the header,
	 * extensions and signature need well under 4 KiB more. */
	if (n > (CRL_MAX_BYTES - 4096) / 48)
		return JPKI_ERR_TOO_LARGE;
	return jpki_buf_reserve(&b->entries, n * 48 + 4096);
}

size_t
jpki_crl_builder_count(const jpki_crl_builder_t *b)
{
	return b->count;
}

int
jpki_crl_builder_add(jpki_crl_builder_t *b, const uint8_t *serial, size_t serial_len,
                     time_t when, int reason)
{
	char ts[16];
	size_t tlen, ilen, content;
	uint8_t ttag;
	int r;
	/* crlEntryExtensions: SEQUENCE { SEQUENCE { reasonCode, OCTET STRING { ENUMERATED r } } } */
	uint8_t ext[] = {0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15,
	                 0x04, 0x03, 0x0a, 0x01, 0x00};
	size_t extlen = 0;

	if (serial_len == 0 || serial_len > JPKI_SERIAL_MAX)
		return JPKI_ERR_INVALID_ARG;
	if ((r = der_time_content(when, ts, &tlen, &ttag)) != 0)
		return r;
	if (reason != JPKI_REASON_NONE) {
		if (reason < 0 || reason > 10 || reason == 7)
			return JPKI_ERR_INVALID_ARG;
		ext[13] = (uint8_t)reason;
		extlen = sizeof(ext);
	}
	ilen = der_uint_content_len(serial, serial_len);
	content = der_hdr_len(ilen) + ilen + 2 + tlen + extlen;
	if ((r = jpki_buf_reserve(&b->entries, content + 6)) != 0)
		return r;
	if ((r = der_put_hdr(&b->entries, DER_SEQUENCE, content)) != 0 ||
	    (r = der_put_uint(&b->entries, serial, serial_len)) != 0 ||
	    (r = der_put_tlv(&b->entries, ttag, ts, tlen)) != 0)
		return r;
	if (extlen && (r = jpki_buf_put(&b->entries, ext, extlen)) != 0)
		return r;
	b->count++;
	return 0;
}

/* Append one Extension { extnID, [critical], extnValue OCTET STRING { value } }. */
static int
put_ext(jpki_buf_t *b, const uint8_t *oid, size_t oid_len, int critical,
        const uint8_t *val, size_t val_len)
{
	size_t mark = b->len;
	int r;

	if ((r = der_put_tlv(b, DER_OID, oid, oid_len)) != 0)
		return r;
	if (critical && (r = jpki_buf_put(b, "\x01\x01\xff", 3)) != 0)
		return r;
	if ((r = der_put_tlv(b, DER_OCTET_STRING, val, val_len)) != 0)
		return r;
	return der_wrap(b, mark, DER_SEQUENCE);
}

static int
build_exts(jpki_crl_builder_t *bl, const jpki_crl_params_t *p, jpki_buf_t *t)
{
	static const uint8_t oid_aki[] = {0x55, 0x1d, 0x23};
	static const uint8_t oid_crlnum[] = {0x55, 0x1d, 0x14};
	static const uint8_t oid_idp[] = {0x55, 0x1d, 0x1c};
	static const uint8_t oid_delta[] = {0x55, 0x1d, 0x1b};
	static const uint8_t oid_freshest[] = {0x55, 0x1d, 0x2e};
	jpki_buf_t v;
	size_t mark = t->len;
	int r;

	jpki_buf_init(&v, 1 << 16);
	/* AuthorityKeyIdentifier { [0] keyIdentifier } */
	if ((r = der_put_tlv(&v, 0x80, bl->keyid, bl->keyid_len)) != 0 ||
	    (r = der_wrap(&v, 0, DER_SEQUENCE)) != 0 ||
	    (r = put_ext(t, oid_aki, sizeof(oid_aki), 0, v.data, v.len)) != 0)
		goto out;
	jpki_buf_reset(&v);
	if ((r = der_put_u64(&v, (uint64_t)p->number)) != 0 ||
	    (r = put_ext(t, oid_crlnum, sizeof(oid_crlnum), 0, v.data, v.len)) != 0)
		goto out;
	if (p->idp_url != NULL) {
		/* IssuingDistributionPoint { [0] name, [1] onlyContainsUserCerts TRUE } */
		jpki_buf_reset(&v);
		if ((r = der_put_dp_name(&v, p->idp_url)) != 0 ||
		    (r = jpki_buf_put(&v, "\x81\x01\xff", 3)) != 0 ||
		    (r = der_wrap(&v, 0, DER_SEQUENCE)) != 0 ||
		    (r = put_ext(t, oid_idp, sizeof(oid_idp), 1, v.data, v.len)) != 0)
			goto out;
	}
	if (p->delta_base > 0) {
		jpki_buf_reset(&v);
		if ((r = der_put_u64(&v, (uint64_t)p->delta_base)) != 0 ||
		    (r = put_ext(t, oid_delta, sizeof(oid_delta), 1, v.data, v.len)) != 0)
			goto out;
	} else if (p->freshest_url != NULL) {
		/* FreshestCRL ::= CRLDistributionPoints: SEQUENCE { DistributionPoint } */
		jpki_buf_reset(&v);
		if ((r = der_put_dp_name(&v, p->freshest_url)) != 0 ||
		    (r = der_wrap(&v, 0, DER_SEQUENCE)) != 0 ||
		    (r = der_wrap(&v, 0, DER_SEQUENCE)) != 0 ||
		    (r = put_ext(t, oid_freshest, sizeof(oid_freshest), 0, v.data, v.len)) != 0)
			goto out;
	}
	if ((r = der_wrap(t, mark, DER_SEQUENCE)) != 0 || (r = der_wrap(t, mark, 0xa0)) != 0)
		goto out;
	r = 0;
out:
	jpki_buf_free(&v);
	return r;
}

int
jpki_crl_builder_finish(jpki_crl_builder_t *b, const jpki_crl_params_t *p,
                        EVP_PKEY *ca_key, uint8_t **der, size_t *der_len)
{
	jpki_buf_t head, tail;
	EVP_MD_CTX *md = NULL;
	size_t fields_len, tbs_content, tbs_len, sig_len, bits_len, outer_content;
	size_t outer_hdr, elen = b->entries.len, total, siglen_out;
	uint8_t *out;
	int r = JPKI_ERR_INTERNAL;

	*der = NULL;
	*der_len = 0;
	jpki_buf_init(&head, 1 << 16);
	jpki_buf_init(&tail, 1 << 16);
	if (p->number <= 0 || p->next_update <= p->this_update) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	/* The fields before revokedCertificates go to `head` after the headers;
	 * first encode them alone to learn their length. */
	if ((r = jpki_buf_put(&head, "\x02\x01\x01", 3)) != 0 || /* version v2 */
	    (r = jpki_buf_put(&head, alg_sha256_rsa, sizeof(alg_sha256_rsa))) != 0 ||
	    (r = jpki_buf_put(&head, b->issuer, (size_t)b->issuer_len)) != 0 ||
	    (r = der_put_time(&head, p->this_update)) != 0 ||
	    (r = der_put_time(&head, p->next_update)) != 0)
		goto out;
	if ((r = build_exts(b, p, &tail)) != 0)
		goto out;
	fields_len = head.len;
	tbs_content = fields_len + (b->count ? der_hdr_len(elen) + elen : 0) + tail.len;
	tbs_len = der_hdr_len(tbs_content) + tbs_content;
	sig_len = (size_t)EVP_PKEY_get_size(ca_key);
	bits_len = 1 + sig_len;
	outer_content = tbs_len + sizeof(alg_sha256_rsa) + der_hdr_len(bits_len) + bits_len;
	outer_hdr = der_hdr_len(outer_content);
	total = outer_hdr + outer_content;

	/* Put the headers in front of the fields in `head`. */
	{
		jpki_buf_t h;
		jpki_buf_init(&h, 64);
		if ((r = der_put_hdr(&h, DER_SEQUENCE, outer_content)) != 0 ||
		    (r = der_put_hdr(&h, DER_SEQUENCE, tbs_content)) != 0) {
			jpki_buf_free(&h);
			goto out;
		}
		if ((r = jpki_buf_reserve(&head, h.len)) != 0) {
			jpki_buf_free(&h);
			goto out;
		}
		memmove(head.data + h.len, head.data, head.len);
		memcpy(head.data, h.data, h.len);
		head.len += h.len;
		jpki_buf_free(&h);
	}
	if (b->count && (r = der_put_hdr(&head, DER_SEQUENCE, elen)) != 0)
		goto out;

	/* Sign head (minus the outer header) || entries || tail. */
	if ((md = EVP_MD_CTX_new()) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ca_key) != 1 ||
	    EVP_DigestSignUpdate(md, head.data + outer_hdr, head.len - outer_hdr) != 1 ||
	    (b->count && EVP_DigestSignUpdate(md, b->entries.data, elen) != 1) ||
	    EVP_DigestSignUpdate(md, tail.data, tail.len) != 1) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	/* Assemble in the entries buffer: grow it, move the entries up, put the
	 * head in front and the tail, algorithm and signature behind. */
	if ((r = jpki_buf_reserve(&b->entries, total - elen)) != 0)
		goto out;
	out = b->entries.data;
	if (elen)
		memmove(out + head.len, out, elen);
	memcpy(out, head.data, head.len);
	memcpy(out + head.len + elen, tail.data, tail.len);
	b->entries.len = head.len + elen + tail.len;
	if ((r = jpki_buf_put(&b->entries, alg_sha256_rsa, sizeof(alg_sha256_rsa))) != 0 ||
	    (r = der_put_hdr(&b->entries, DER_BIT_STRING, bits_len)) != 0 ||
	    (r = jpki_buf_put_u8(&b->entries, 0)) != 0 ||
	    (r = jpki_buf_reserve(&b->entries, sig_len)) != 0)
		goto out;
	siglen_out = sig_len;
	if (EVP_DigestSignFinal(md, b->entries.data + b->entries.len, &siglen_out) != 1 ||
	    siglen_out != sig_len) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	b->entries.len += sig_len;
	if (b->entries.len != total) {
		r = JPKI_ERR_INTERNAL;
		goto out;
	}
	/* The builder is spent: hand its buffer over. */
	if ((r = jpki_buf_steal(&b->entries, der, der_len)) != 0)
		goto out;
	b->count = 0;
	r = 0;
out:
	EVP_MD_CTX_free(md);
	jpki_buf_free(&head);
	jpki_buf_free(&tail);
	return r;
}

/* id-ce-cRLNumber, 2.5.29.20 (RFC 5280 5.2.3). */
static const uint8_t oid_crl_number[] = {0x55, 0x1d, 0x14};

static int
crl_number_ext(const uint8_t *p, size_t len, int64_t *number)
{
	jpki_rd_t r, e;
	const uint8_t *v, *oid, *val;
	size_t vl, oidl, vall, i;
	uint8_t tag;
	int rc;

	jpki_rd_init(&r, p, len);
	while (jpki_rd_left(&r) > 0) {
		if ((rc = der_get_expect(&r, DER_SEQUENCE, &v, &vl)) != 0)
			return rc;
		jpki_rd_init(&e, v, vl);
		if ((rc = der_get_expect(&e, DER_OID, &oid, &oidl)) != 0)
			return rc;
		if (der_peek_tag(&e) == DER_BOOLEAN &&
		    (rc = der_get_expect(&e, DER_BOOLEAN, &val, &vall)) != 0)
			return rc;
		if ((rc = der_get_expect(&e, DER_OCTET_STRING, &val, &vall)) != 0)
			return rc;
		if (oidl != sizeof(oid_crl_number) || memcmp(oid, oid_crl_number, oidl) != 0)
			continue;
		jpki_rd_init(&e, val, vall);
		if ((rc = der_get_tlv(&e, &tag, &v, &vl)) != 0)
			return rc;
		/* A non-negative INTEGER of at most 63 bits: 8 octets, or 9 with a
		 * leading 00 that DER allows only before a set top bit. */
		if (tag != DER_INTEGER || vl == 0 || (v[0] & 0x80) != 0 ||
		    (vl > 1 && v[0] == 0 && (v[1] & 0x80) == 0))
			return JPKI_ERR_FORMAT;
		if (v[0] == 0) {
			v++;
			vl--;
		}
		if (vl > 8 || (vl == 8 && (v[0] & 0x80) != 0))
			return JPKI_ERR_FORMAT;
		*number = 0;
		for (i = 0; i < vl; i++)
			*number = (*number << 8) | v[i];
		return 0;
	}
	return JPKI_ERR_NOT_FOUND;
}

int
jpki_crl_number_read(const uint8_t *der, size_t len, int64_t *number)
{
	jpki_rd_t r, t;
	const uint8_t *v;
	size_t vl;
	uint8_t tag;
	int rc;

	if (der == NULL || number == NULL)
		return JPKI_ERR_INVALID_ARG;
	*number = 0;
	jpki_rd_init(&r, der, len);
	if ((rc = der_get_expect(&r, DER_SEQUENCE, &v, &vl)) != 0)
		return rc;
	jpki_rd_init(&r, v, vl);
	if ((rc = der_get_expect(&r, DER_SEQUENCE, &v, &vl)) != 0) /* tbsCertList */
		return rc;
	jpki_rd_init(&t, v, vl);
	/* version, signature, issuer, thisUpdate, nextUpdate, revokedCertificates,
	 * each skipped whole; crlExtensions is [0] EXPLICIT. */
	while (jpki_rd_left(&t) > 0) {
		if ((rc = der_get_tlv(&t, &tag, &v, &vl)) != 0)
			return rc;
		if (tag != 0xa0)
			continue;
		jpki_rd_init(&r, v, vl);
		if ((rc = der_get_expect(&r, DER_SEQUENCE, &v, &vl)) != 0)
			return rc;
		return crl_number_ext(v, vl, number);
	}
	return JPKI_ERR_NOT_FOUND;
}
