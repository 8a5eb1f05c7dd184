/*
 * CAdES-BES detached signatures (RFC 5652 SignedData, RFC 5035/5126
 * signingCertificateV2) made by the card and verified by the relying party.
 *
 * Signing is encoded here directly in DER: the card signs a DigestInfo, and
 * OpenSSL's CMS API wants a private key in the process to finish a
 * SignerInfo.  Verification parses with OpenSSL's CMS API and checks each
 * piece itself, so that every failure has its own code and words.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "jpki/buf.h"
#include "jpki/error.h"
#include "jpki/verify.h"
#include "verify/verify_int.h"
#include "x509/der.h"

#define CMS_MAX ((size_t)64 * 1024)
#define SIG_MAX 512

static const uint8_t oid_data[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
static const uint8_t oid_signed_data[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
                                          0x07, 0x02};
static const uint8_t oid_content_type[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
                                           0x09, 0x03};
static const uint8_t oid_message_digest[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
                                             0x01, 0x09, 0x04};
static const uint8_t oid_signing_time[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
                                           0x09, 0x05};
static const uint8_t oid_signing_cert_v2[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
                                              0x01, 0x09, 0x10, 0x02, 0x2f};
/* sha256 without parameters (RFC 5754), rsaEncryption with NULL (RFC 3370). */
static const uint8_t alg_sha256[] = {0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                                     0x04, 0x02, 0x01};
static const uint8_t alg_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
                                  0x01, 0x01, 0x01, 0x05, 0x00};
static const uint8_t int_one[] = {0x02, 0x01, 0x01};

/* One attribute: SEQUENCE { oid, SET { value TLV } } into its own buffer. */
static int
attr(jpki_buf_t *b, const uint8_t *oid, size_t oid_len, const uint8_t *val, size_t val_len)
{
	int r;

	jpki_buf_init(b, CMS_MAX);
	if ((r = jpki_buf_put(b, oid, oid_len)) != 0 ||
	    (r = der_put_tlv(b, DER_SET, val, val_len)) != 0 ||
	    (r = der_wrap(b, 0, DER_SEQUENCE)) != 0)
		return r;
	return 0;
}

static int
attr_cmp(const void *a, const void *b)
{
	const jpki_buf_t *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->data, y->data, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* DER of an OpenSSL object through its i2d function into a buffer. */
static int
put_x509_name(jpki_buf_t *b, const X509_NAME *name)
{
	uint8_t *p = NULL;
	int n = i2d_X509_NAME(name, &p), r;

	if (n <= 0)
		return JPKI_ERR_CRYPTO;
	r = jpki_buf_put(b, p, (size_t)n);
	OPENSSL_free(p);
	return r;
}

static int
put_serial(jpki_buf_t *b, X509 *x)
{
	uint8_t *p = NULL;
	int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &p), r;

	if (n <= 0)
		return JPKI_ERR_CRYPTO;
	r = jpki_buf_put(b, p, (size_t)n);
	OPENSSL_free(p);
	return r;
}

/* SigningCertificateV2 { certs { ESSCertIDv2 { certHash, issuerSerial } } };
 * hashAlgorithm is the DEFAULT sha256 and so absent. */
static int
signing_cert_v2(jpki_buf_t *b, X509 *signer)
{
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	size_t m0, m1;
	int r;

	if (X509_digest(signer, EVP_sha256(), h, &hl) != 1)
		return JPKI_ERR_CRYPTO;
	if ((r = der_put_tlv(b, DER_OCTET_STRING, h, hl)) != 0)
		return r;
	m0 = b->len;                               /* IssuerSerial */
	m1 = b->len;                               /* GeneralNames { [4] Name } */
	if ((r = put_x509_name(b, X509_get_issuer_name(signer))) != 0 ||
	    (r = der_wrap(b, m1, 0xa4)) != 0 || (r = der_wrap(b, m1, DER_SEQUENCE)) != 0 ||
	    (r = put_serial(b, signer)) != 0 || (r = der_wrap(b, m0, DER_SEQUENCE)) != 0 ||
	    (r = der_wrap(b, 0, DER_SEQUENCE)) != 0 ||  /* ESSCertIDv2 */
	    (r = der_wrap(b, 0, DER_SEQUENCE)) != 0 ||  /* certs */
	    (r = der_wrap(b, 0, DER_SEQUENCE)) != 0)    /* SigningCertificateV2 */
		return r;
	return 0;
}

/* RSASSA-PKCS1-v1_5 / SHA-256 verification of sig over hash with pk. */
static int
rsa_verify_hash(EVP_PKEY *pk, const uint8_t hash[32], const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY_CTX *c = NULL;
	int ok = 0;

	if (pk != NULL && EVP_PKEY_is_a(pk, "RSA") && (c = EVP_PKEY_CTX_new(pk, NULL)) != NULL &&
	    EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1)
		ok = EVP_PKEY_verify(c, sig, sig_len, hash, 32) == 1;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return ok;
}

static void
digestinfo_sha256(const uint8_t hash[32], uint8_t out[51])
{
	static const uint8_t prefix[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	                                   0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

	memcpy(out, prefix, sizeof(prefix));
	memcpy(out + sizeof(prefix), hash, 32);
}

int
jpki_cms_sign(const uint8_t content_hash[32], X509 *signer, time_t signing_time,
              jpki_sign_fn fn, void *ctx, uint8_t **der, size_t *der_len)
{
	jpki_buf_t a[4], set, b, tmp;
	uint8_t ah[32], di[51], sig[SIG_MAX], *cert = NULL;
	size_t sig_len = 0, i, m;
	int r = JPKI_ERR_INTERNAL, n, k;

	if (der != NULL)
		*der = NULL;
	if (der_len != NULL)
		*der_len = 0;
	for (k = 0; k < 4; k++)
		jpki_buf_init(&a[k], CMS_MAX);
	jpki_buf_init(&set, CMS_MAX);
	jpki_buf_init(&b, CMS_MAX);
	jpki_buf_init(&tmp, CMS_MAX);
	if (content_hash == NULL || signer == NULL || fn == NULL || der == NULL || der_len == NULL) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if (signing_time == 0)
		signing_time = jpki_now();

	/* The signed attributes, each encoded, then sorted (DER SET OF). */
	if ((r = attr(&a[0], oid_content_type, sizeof(oid_content_type), oid_data,
	              sizeof(oid_data))) != 0)
		goto out;
	if ((r = der_put_time(&tmp, signing_time)) != 0 ||
	    (r = attr(&a[1], oid_signing_time, sizeof(oid_signing_time), tmp.data, tmp.len)) != 0)
		goto out;
	jpki_buf_reset(&tmp);
	if ((r = der_put_tlv(&tmp, DER_OCTET_STRING, content_hash, 32)) != 0 ||
	    (r = attr(&a[2], oid_message_digest, sizeof(oid_message_digest), tmp.data,
	              tmp.len)) != 0)
		goto out;
	jpki_buf_reset(&tmp);
	if ((r = signing_cert_v2(&tmp, signer)) != 0 ||
	    (r = attr(&a[3], oid_signing_cert_v2, sizeof(oid_signing_cert_v2), tmp.data,
	              tmp.len)) != 0)
		goto out;
	qsort(a, 4, sizeof(a[0]), attr_cmp);
	for (k = 0; k < 4; k++)
		if ((r = jpki_buf_put(&set, a[k].data, a[k].len)) != 0)
			goto out;
	/* The signature is over the attributes as a SET OF (tag 31), RFC 5652 5.4. */
	if ((r = der_wrap(&set, 0, DER_SET)) != 0)
		goto out;
	SHA256(set.data, set.len, ah);
	digestinfo_sha256(ah, di);
	if ((r = fn(ctx, di, sizeof(di), sig, sizeof(sig), &sig_len)) != 0)
		goto out;
	if (sig_len == 0 || sig_len > sizeof(sig) ||
	    !rsa_verify_hash(X509_get0_pubkey(signer), ah, sig, sig_len)) {
		jpki_set_detail("the signature the card made does not verify with the certificate "
		                "(is it this card's certificate?)");
		r = JPKI_ERR_VERIFY;
		goto out;
	}

	/* SignerInfo */
	if ((r = jpki_buf_put(&b, int_one, sizeof(int_one))) != 0)
		goto out;
	m = b.len;
	if ((r = put_x509_name(&b, X509_get_issuer_name(signer))) != 0 ||
	    (r = put_serial(&b, signer)) != 0 || (r = der_wrap(&b, m, DER_SEQUENCE)) != 0 ||
	    (r = jpki_buf_put(&b, alg_sha256, sizeof(alg_sha256))) != 0)
		goto out;
	set.data[0] = 0xa0; /* [0] IMPLICIT in the SignerInfo */
	if ((r = jpki_buf_put(&b, set.data, set.len)) != 0 ||
	    (r = jpki_buf_put(&b, alg_rsa, sizeof(alg_rsa))) != 0 ||
	    (r = der_put_tlv(&b, DER_OCTET_STRING, sig, sig_len)) != 0 ||
	    (r = der_wrap(&b, 0, DER_SEQUENCE)) != 0 ||     /* SignerInfo */
	    (r = der_wrap(&b, 0, DER_SET)) != 0)            /* signerInfos */
		goto out;

	/* SignedData around it: version, digestAlgorithms, encapContentInfo
	 * (detached: no eContent), certificates [0], signerInfos. */
	jpki_buf_reset(&tmp);
	if ((r = jpki_buf_put(&tmp, int_one, sizeof(int_one))) != 0 ||
	    (r = der_put_tlv(&tmp, DER_SET, alg_sha256, sizeof(alg_sha256))) != 0 ||
	    (r = der_put_tlv(&tmp, DER_SEQUENCE, oid_data, sizeof(oid_data))) != 0)
		goto out;
	if ((n = i2d_X509(signer, &cert)) <= 0) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	if ((r = der_put_tlv(&tmp, 0xa0, cert, (size_t)n)) != 0 ||
	    (r = jpki_buf_put(&tmp, b.data, b.len)) != 0 ||
	    (r = der_wrap(&tmp, 0, DER_SEQUENCE)) != 0 ||   /* SignedData */
	    (r = der_wrap(&tmp, 0, 0xa0)) != 0)              /* [0] EXPLICIT content */
		goto out;
	jpki_buf_reset(&b);
	if ((r = jpki_buf_put(&b, oid_signed_data, sizeof(oid_signed_data))) != 0 ||
	    (r = jpki_buf_put(&b, tmp.data, tmp.len)) != 0 || (r = der_wrap(&b, 0, DER_SEQUENCE)) != 0)
		goto out;
	r = jpki_buf_steal(&b, der, der_len);
out:
	for (i = 0; i < 4; i++)
		jpki_buf_free(&a[i]);
	jpki_buf_free(&set);
	jpki_buf_free(&b);
	jpki_buf_free(&tmp);
	OPENSSL_free(cert);
	OPENSSL_cleanse(di, sizeof(di));
	return r;
}

void
jpki_verified_clear(jpki_verified_t *v)
{
	if (v == NULL)
		return;
	X509_free(v->cert);
	memset(v, 0, sizeof(*v));
}

int
jpki_verify_cert_status(X509 *cert, const jpki_verify_opts_t *o, jpki_verified_t *out)
{
	jpki_status_opts_t so;
	time_t at = o->at != 0 ? o->at : jpki_now();
	int r;

	if ((r = jpki_verify_chain(cert, o->anchor, o->kind, at)) != 0)
		return r;
	if (jpki_identity_from_cert(cert, &out->id) == 0)
		out->has_id = 1;
	jpki_clear_detail();
	if (o->no_status)
		return 0;
	so = o->status;
	if (so.now == 0)
		so.now = at;
	r = jpki_status_check(cert, o->anchor, &so, &out->status);
	out->status_checked = 1;
	return r;
}

static int
attr_time(CMS_SignerInfo *si, time_t *out)
{
	X509_ATTRIBUTE *at;
	ASN1_TYPE *t;
	struct tm tm;
	int i;

	*out = 0;
	if ((i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1)) < 0)
		return 0;
	if (CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, i) >= 0 ||
	    (at = CMS_signed_get_attr(si, i)) == NULL || X509_ATTRIBUTE_count(at) != 1 ||
	    (t = X509_ATTRIBUTE_get0_type(at, 0)) == NULL ||
	    (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME))
		return JPKI_ERR_FORMAT;
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm((const ASN1_TIME *)t->value.asn1_string, &tm) != 1)
		return JPKI_ERR_FORMAT;
	*out = timegm(&tm);
	return 0;
}

int
jpki_cms_verify(const uint8_t *der, size_t der_len, const uint8_t content_hash[32],
                const jpki_verify_opts_t *o, jpki_verified_t *out)
{
	CMS_ContentInfo *cms = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	CMS_SignerInfo *si;
	X509 *signer = NULL;
	X509_ALGOR *dig = NULL, *sigalg = NULL;
	ASN1_OCTET_STRING **pos;
	const ASN1_OBJECT *ct;
	ASN1_OCTET_STRING *md;
	ASN1_STRING *scv;
	ESS_SIGNING_CERT_V2 *ss2 = NULL;
	STACK_OF(X509) *chain = NULL;
	const uint8_t *p;
	int r = JPKI_ERR_INTERNAL;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (der == NULL || content_hash == NULL || o == NULL || o->anchor == NULL || out == NULL) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if (der_len > CMS_MAX) {
		jpki_set_detail("the signature is %zu bytes, at most %zu", der_len, CMS_MAX);
		r = JPKI_ERR_TOO_LARGE;
		goto out;
	}
	p = der;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_len)) == NULL || p != der + der_len) {
		jpki_set_detail("the signature is not a CMS ContentInfo (DER)");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
	    OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		jpki_set_detail("the signature is not a SignedData over data");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if ((pos = CMS_get0_content(cms)) == NULL || *pos != NULL) {
		jpki_set_detail("the signature is not detached (it carries its content)");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		jpki_set_detail("the signature has %d signers, one expected", sk_CMS_SignerInfo_num(sis));
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	si = sk_CMS_SignerInfo_value(sis, 0);
	if (CMS_set1_signers_certs(cms, NULL, 0) < 0) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	CMS_SignerInfo_get0_algs(si, NULL, &signer, &dig, &sigalg);
	if (signer == NULL) {
		jpki_set_detail("the signer's certificate is not included");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if (OBJ_obj2nid(dig->algorithm) != NID_sha256) {
		jpki_set_detail("the digest algorithm is not SHA-256");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if (CMS_signed_get_attr_count(si) <= 0) {
		jpki_set_detail("no signed attributes (not CAdES-BES)");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	ct = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT);
	if (ct == NULL || OBJ_obj2nid(ct) != NID_pkcs7_data) {
		jpki_set_detail("the contentType attribute is missing or not id-data");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	md = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3,
	                                 V_ASN1_OCTET_STRING);
	if (md == NULL || ASN1_STRING_length(md) != 32) {
		jpki_set_detail("the messageDigest attribute is missing or not SHA-256");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if ((r = attr_time(si, &out->signing_time)) != 0) {
		jpki_set_detail("a bad signingTime attribute");
		goto out;
	}
	/* The content first: its hash is what the signer signed. */
	if (CRYPTO_memcmp(ASN1_STRING_get0_data(md), content_hash, 32) != 0) {
		jpki_set_detail("the document is not the one that was signed (changed after signing)");
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	if (CMS_SignerInfo_verify(si) != 1) {
		jpki_set_detail("the signature does not verify with the signer's certificate");
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	scv = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2), -3,
	                                  V_ASN1_SEQUENCE);
	if (scv == NULL) {
		jpki_set_detail("no signingCertificateV2 attribute (not CAdES-BES)");
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	p = ASN1_STRING_get0_data(scv);
	if ((ss2 = d2i_ESS_SIGNING_CERT_V2(NULL, &p, ASN1_STRING_length(scv))) == NULL ||
	    (chain = sk_X509_new_null()) == NULL || sk_X509_push(chain, signer) <= 0 ||
	    OSSL_ESS_check_signing_certs(NULL, ss2, chain, 1) <= 0) {
		jpki_set_detail("signingCertificateV2 does not name the included certificate");
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	if (X509_up_ref(signer) != 1) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	out->cert = signer;
	r = jpki_verify_cert_status(signer, o, out);
out:
	ERR_clear_error();
	sk_X509_free(chain);
	ESS_SIGNING_CERT_V2_free(ss2);
	CMS_ContentInfo_free(cms);
	return r;
}

int
jpki_sha256_file(const char *path, uint8_t out[32])
{
	EVP_MD_CTX *m = NULL;
	uint8_t buf[65536];
	size_t n;
	FILE *f = NULL;
	int r = JPKI_ERR_INTERNAL;

	if (path == NULL || out == NULL)
		return JPKI_ERR_INVALID_ARG;
	if ((f = fopen(path, "rb")) == NULL) {
		jpki_set_detail("%s: %s", path, strerror(errno));
		r = errno == ENOENT ? JPKI_ERR_NOT_FOUND : JPKI_ERR_IO;
		goto out;
	}
	if ((m = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(m, EVP_sha256(), NULL) != 1) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (EVP_DigestUpdate(m, buf, n) != 1) {
			r = JPKI_ERR_CRYPTO;
			goto out;
		}
	if (ferror(f)) {
		jpki_set_detail("%s: read error", path);
		r = JPKI_ERR_IO;
		goto out;
	}
	if (EVP_DigestFinal_ex(m, out, NULL) != 1) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	r = 0;
out:
	if (f != NULL)
		fclose(f);
	EVP_MD_CTX_free(m);
	return r;
}
