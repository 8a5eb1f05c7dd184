/*
 * Certificate status for relying parties and the resident's client (L13-L15):
 * OCSP per the certificate's AIA, then the CRL of its CRLDP with the delta CRL
 * its FreshestCRL names.  Every answer is checked before it is believed: the
 * issuer's signature (or a responder it delegated), freshness against the
 * caller's clock (JPKI_NOW), the CertID or the issuing distribution point.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/date.h"
#include "jpki/error.h"
#include "jpki/verify.h"

#define OCSP_MAX ((size_t)64 * 1024)
#define CRL_MAX ((size_t)64 << 20)
#define SKEW 300                 /* seconds of clock difference tolerated */
#define NO_NEXT_MAX_AGE 3600     /* a response without nextUpdate and nonce */
#define URL_MAX 512

const char *
jpki_cert_state_name(jpki_cert_state_t s)
{
	switch (s) {
	case JPKI_CERT_GOOD: return "good";
	case JPKI_CERT_REVOKED: return "revoked";
	case JPKI_CERT_HOLD: return "hold";
	default: return "unknown";
	}
}

static int
asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	*out = 0;
	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return JPKI_ERR_FORMAT;
	*out = timegm(&tm);
	return 0;
}

/* The first URI of a DistributionPointName's fullName ("" when none). */
static void
dpn_url(const DIST_POINT_NAME *dpn, char *out, size_t outlen)
{
	int i;

	out[0] = '\0';
	if (dpn == NULL || dpn->type != 0)
		return;
	for (i = 0; i < sk_GENERAL_NAME_num(dpn->name.fullname); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(dpn->name.fullname, i);
		const ASN1_IA5STRING *u;

		if (g->type != GEN_URI)
			continue;
		u = g->d.uniformResourceIdentifier;
		if (ASN1_STRING_length(u) <= 0 || (size_t)ASN1_STRING_length(u) >= outlen)
			continue;
		memcpy(out, ASN1_STRING_get0_data(u), (size_t)ASN1_STRING_length(u));
		out[ASN1_STRING_length(u)] = '\0';
		if (strlen(out) != (size_t)ASN1_STRING_length(u))
			out[0] = '\0'; /* an embedded NUL */
		else
			return;
	}
}

/* The first URL of a CRLDP or FreshestCRL extension of a certificate or CRL. */
static void
dp_url(STACK_OF(DIST_POINT) *dps, char *out, size_t outlen)
{
	int i;

	out[0] = '\0';
	for (i = 0; i < sk_DIST_POINT_num(dps) && out[0] == '\0'; i++)
		dpn_url(sk_DIST_POINT_value(dps, i)->distpoint, out, outlen);
}

static void
cert_crldp(X509 *cert, char *out, size_t outlen)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);

	dp_url(dps, out, outlen);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
}

static void
cert_ocsp_url(X509 *cert, char *out, size_t outlen)
{
	AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(cert, NID_info_access, NULL, NULL);
	int i;

	out[0] = '\0';
	for (i = 0; i < sk_ACCESS_DESCRIPTION_num(aia) && out[0] == '\0'; i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		const ASN1_IA5STRING *u;

		if (OBJ_obj2nid(ad->method) != NID_ad_OCSP || ad->location->type != GEN_URI)
			continue;
		u = ad->location->d.uniformResourceIdentifier;
		if (ASN1_STRING_length(u) > 0 && (size_t)ASN1_STRING_length(u) < outlen &&
		    memchr(ASN1_STRING_get0_data(u), 0, (size_t)ASN1_STRING_length(u)) == NULL) {
			memcpy(out, ASN1_STRING_get0_data(u), (size_t)ASN1_STRING_length(u));
			out[ASN1_STRING_length(u)] = '\0';
		}
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	ERR_clear_error();
}

/* ---- OCSP ----------------------------------------------------------------------- */

static int
map_revoked(int reason, jpki_status_t *st)
{
	st->reason = reason >= 0 ? reason : JPKI_REASON_NONE;
	if (reason == OCSP_REVOKED_STATUS_CERTIFICATEHOLD) {
		st->state = JPKI_CERT_HOLD;
		return JPKI_ERR_HOLD;
	}
	st->state = JPKI_CERT_REVOKED;
	return JPKI_ERR_REVOKED;
}

static int
ocsp_check(X509 *cert, X509 *issuer, const char *url, const jpki_status_opts_t *o, time_t now,
           jpki_status_t *st)
{
	OCSP_REQUEST *req = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_CERTID *id = NULL, *id2 = NULL;
	X509_STORE *store = NULL;
	STACK_OF(X509) *certs = NULL;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	jpki_http_req_t q;
	uint8_t *der = NULL, *body = NULL;
	const uint8_t *p;
	size_t blen = 0;
	long http = 0;
	time_t tu = 0, nu = 0, rt = 0;
	int r = JPKI_ERR_INTERNAL, n, nonce, status = -1, reason = -1;

	if ((id = OCSP_cert_to_id(EVP_sha1(), cert, issuer)) == NULL ||
	    (id2 = OCSP_CERTID_dup(id)) == NULL || (req = OCSP_REQUEST_new()) == NULL ||
	    OCSP_request_add0_id(req, id2) == NULL) {
		jpki_set_detail("cannot build the OCSP request");
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	id2 = NULL;
	if (OCSP_request_add1_nonce(req, NULL, -1) != 1 || (n = i2d_OCSP_REQUEST(req, &der)) <= 0) {
		jpki_set_detail("cannot encode the OCSP request");
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	memset(&q, 0, sizeof(q));
	q.url = url;
	q.accept = "application/ocsp-response";
	q.content_type = "application/ocsp-request";
	q.body = der;
	q.body_len = (size_t)n;
	q.max = OCSP_MAX;
	q.timeout_ms = o->timeout_ms;
	if ((r = jpki_http_fetch(&q, &http, &body, &blen)) != 0)
		goto out;
	if (http != 200) {
		jpki_set_detail("%s answered HTTP %ld", url, http);
		r = JPKI_ERR_NET;
		goto out;
	}
	p = body;
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)blen)) == NULL || p != body + blen) {
		jpki_set_detail("%s: the answer is not an OCSP response", url);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if ((n = OCSP_response_status(resp)) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		jpki_set_detail("%s: the responder says %s", url, OCSP_response_status_str(n));
		r = JPKI_ERR_NET;
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
		jpki_set_detail("%s: not a basic OCSP response", url);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	/* Signed by the issuer itself or by a responder it delegated; chains
	 * checked at the caller's time. */
	if ((store = X509_STORE_new()) == NULL || X509_STORE_add_cert(store, issuer) != 1 ||
	    (certs = sk_X509_new_null()) == NULL || sk_X509_push(certs, issuer) <= 0) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), now);
	if (OCSP_basic_verify(bs, certs, store, 0) <= 0) {
		unsigned long e = ERR_peek_last_error();
		jpki_set_detail("%s: the response is not signed by the CA or its responder (%s)",
		                url, e ? ERR_reason_error_string(e) : "?");
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	nonce = OCSP_check_nonce(req, bs);
	if (nonce == 0 || nonce == -1) {
		jpki_set_detail("%s: the response's nonce is not the request's (a replay?)", url);
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	if (OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd) != 1) {
		jpki_set_detail("%s: the response does not answer for this certificate (CertID)",
		                url);
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	if (asn1_time(thisupd, &tu) != 0 || (nextupd != NULL && asn1_time(nextupd, &nu) != 0)) {
		jpki_set_detail("%s: bad thisUpdate/nextUpdate", url);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if (tu > now + SKEW) {
		jpki_set_detail("%s: the response is from the future (thisUpdate)", url);
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	if ((nextupd != NULL && now > nu + SKEW) ||
	    (nextupd == NULL && nonce != 1 && now - tu > NO_NEXT_MAX_AGE)) {
		jpki_set_detail("%s: the response is stale (nextUpdate passed)", url);
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	st->source = JPKI_SOURCE_OCSP;
	snprintf(st->url, sizeof(st->url), "%s", url);
	st->this_update = tu;
	st->next_update = nu;
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		st->state = JPKI_CERT_GOOD;
		r = 0;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		if (asn1_time(rev, &rt) != 0) {
			jpki_set_detail("%s: bad revocationTime", url);
			r = JPKI_ERR_FORMAT;
			goto out;
		}
		st->since = rt;
		r = map_revoked(reason, st);
		break;
	default:
		st->state = JPKI_CERT_UNKNOWN;
		jpki_set_detail("%s: the responder does not know this certificate", url);
		r = JPKI_ERR_NOT_FOUND;
		break;
	}
out:
	ERR_clear_error();
	sk_X509_free(certs);
	X509_STORE_free(store);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	OCSP_CERTID_free(id);
	OCSP_CERTID_free(id2);
	OPENSSL_free(der);
	free(body);
	return r;
}

/* ---- CRL ---------------------------------------------------------------------------- */

static int
crl_parse(const uint8_t *b, size_t n, X509_CRL **out)
{
	const uint8_t *p = b;
	BIO *bio = NULL;

	*out = d2i_X509_CRL(NULL, &p, (long)n);
	if (*out != NULL && p != b + n) {
		X509_CRL_free(*out);
		*out = NULL;
	}
	if (*out == NULL && (bio = BIO_new_mem_buf(b, (int)n)) != NULL) {
		*out = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	return *out != NULL ? 0 : JPKI_ERR_FORMAT;
}

static int
crl_fetch(const char *url, int allow_file, const jpki_status_opts_t *o, X509_CRL **out)
{
	jpki_http_req_t q;
	uint8_t *body = NULL;
	size_t n = 0;
	long http = 0;
	int r;

	*out = NULL;
	memset(&q, 0, sizeof(q));
	q.url = url;
	q.max = CRL_MAX;
	q.timeout_ms = o->timeout_ms;
	q.allow_file = allow_file;
	if ((r = jpki_http_fetch(&q, &http, &body, &n)) != 0)
		goto out;
	if (http != 200) {
		jpki_set_detail("%s answered HTTP %ld", url, http);
		r = JPKI_ERR_NET;
		goto out;
	}
	if ((r = crl_parse(body, n, out)) != 0)
		jpki_set_detail("%s: the answer is not a CRL", url);
out:
	free(body);
	return r;
}

static void
crl_idp_url(X509_CRL *crl, char *out, size_t outlen, int *has)
{
	ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, NULL,
	                                               NULL);

	out[0] = '\0';
	*has = idp != NULL;
	if (idp != NULL)
		dpn_url(idp->distpoint, out, outlen);
	ISSUING_DIST_POINT_free(idp);
	ERR_clear_error();
}

/* CRLNumber (nid NID_crl_number) or BaseCRLNumber (NID_delta_crl); -1 if absent. */
static long long
crl_num(X509_CRL *crl, int nid)
{
	ASN1_INTEGER *a = X509_CRL_get_ext_d2i(crl, nid, NULL, NULL);
	int64_t v = -1;

	if (a == NULL || ASN1_INTEGER_get_int64(&v, a) != 1)
		v = -1;
	ASN1_INTEGER_free(a);
	ERR_clear_error();
	return (long long)v;
}

/* Does crl cover the certificate whose CRLDP is dp, as a full (delta 0) or a delta CRL? */
static int
crl_matches(X509_CRL *crl, X509 *issuer, const char *dp, int delta)
{
	char idp[URL_MAX];
	int has;

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
		return 0;
	if ((crl_num(crl, NID_delta_crl) >= 0) != (delta != 0))
		return 0;
	crl_idp_url(crl, idp, sizeof(idp), &has);
	if (has && strcmp(idp, dp) != 0)
		return 0;
	return 1;
}

/*
 * CRLs at hand (jpki_status_opts_t.crls) are the same objects verification
 * after verification, so their signatures are checked once per issuer key and
 * remembered here: the object's address, the SHA-1 of its whole encoding that
 * OpenSSL computed when it was parsed, and the key it verified with.  A CRL
 * freed and another parsed at the same address has another digest; a CRL
 * fetched for one verification is never remembered.
 */
#define CRL_SEEN_MAX 64
static struct crl_seen {
	const X509_CRL *crl;
	unsigned char digest[SHA_DIGEST_LENGTH];
	EVP_PKEY *key;
} crl_seen[CRL_SEEN_MAX];
static unsigned crl_seen_next;
static pthread_mutex_t crl_seen_mu = PTHREAD_MUTEX_INITIALIZER;

static int
crl_sig_ok(X509_CRL *crl, EVP_PKEY *key, int remember)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0, i;
	int known = 0;

	if (key == NULL)
		return 0;
	if (remember && (X509_CRL_digest(crl, EVP_sha1(), d, &dl) != 1 || dl != SHA_DIGEST_LENGTH))
		remember = 0;
	if (remember) {
		pthread_mutex_lock(&crl_seen_mu);
		for (i = 0; i < CRL_SEEN_MAX && !known; i++)
			known = crl_seen[i].crl == crl && crl_seen[i].key != NULL &&
			        memcmp(crl_seen[i].digest, d, dl) == 0 &&
			        EVP_PKEY_eq(crl_seen[i].key, key) == 1;
		pthread_mutex_unlock(&crl_seen_mu);
		if (known)
			return 1;
	}
	if (X509_CRL_verify(crl, key) != 1) {
		ERR_clear_error();
		return 0;
	}
	if (remember && EVP_PKEY_up_ref(key) == 1) {
		struct crl_seen *e;
		EVP_PKEY *old;

		pthread_mutex_lock(&crl_seen_mu);
		e = &crl_seen[crl_seen_next++ % CRL_SEEN_MAX];
		old = e->key;
		e->crl = crl;
		memcpy(e->digest, d, dl);
		e->key = key;
		pthread_mutex_unlock(&crl_seen_mu);
		EVP_PKEY_free(old);
	}
	ERR_clear_error();
	return 1;
}

/* Signed by the issuer, current at now, covering this certificate's
 * partition.  at_hand: crl is one of the caller's (its check is remembered). */
static int
crl_usable(X509_CRL *crl, X509 *issuer, const char *dp, int delta, time_t now, const char *what,
           int at_hand)
{
	char idp[URL_MAX];
	time_t last = 0, next = 0;
	int has;

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
		jpki_set_detail("%s: issued by another CA", what);
		return JPKI_ERR_VERIFY;
	}
	if (!crl_sig_ok(crl, X509_get0_pubkey(issuer), at_hand)) {
		jpki_set_detail("%s: its signature is not the CA's", what);
		return JPKI_ERR_VERIFY;
	}
	if ((crl_num(crl, NID_delta_crl) >= 0) != (delta != 0)) {
		jpki_set_detail("%s: %s", what, delta ? "not a delta CRL" : "a delta CRL, not a full one");
		return JPKI_ERR_VERIFY;
	}
	crl_idp_url(crl, idp, sizeof(idp), &has);
	if (has && strcmp(idp, dp) != 0) {
		jpki_set_detail("%s: covers '%s', the certificate's partition is '%s'", what, idp, dp);
		return JPKI_ERR_VERIFY;
	}
	if (asn1_time(X509_CRL_get0_lastUpdate(crl), &last) != 0 ||
	    asn1_time(X509_CRL_get0_nextUpdate(crl), &next) != 0) {
		jpki_set_detail("%s: no thisUpdate/nextUpdate", what);
		return JPKI_ERR_FORMAT;
	}
	if (last > now + SKEW) {
		jpki_set_detail("%s: issued in the future (thisUpdate)", what);
		return JPKI_ERR_VERIFY;
	}
	if (now > next) {
		char when[32];
		struct tm tm;

		gmtime_r(&next, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		jpki_set_detail("%s: stale (nextUpdate %s passed)", what, when);
		return JPKI_ERR_VERIFY;
	}
	return 0;
}

/* Look the certificate up in crl: 0 not listed, 1 listed (reason, time), 2 removeFromCRL. */
static int
crl_lookup(X509_CRL *crl, X509 *cert, int *reason, time_t *when)
{
	X509_REVOKED *rev = NULL;
	ASN1_ENUMERATED *e;
	int n;

	*reason = JPKI_REASON_NONE;
	*when = 0;
	n = X509_CRL_get0_by_serial(crl, &rev, (ASN1_INTEGER *)X509_get0_serialNumber(cert));
	if (n <= 0 || rev == NULL)
		return 0;
	if ((e = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL)) != NULL) {
		*reason = (int)ASN1_ENUMERATED_get(e);
		ASN1_ENUMERATED_free(e);
	}
	ERR_clear_error();
	asn1_time(X509_REVOKED_get0_revocationDate(rev), when);
	return *reason == JPKI_REASON_REMOVE_FROM_CRL ? 2 : 1;
}

static X509_CRL *
crl_at_hand(const jpki_status_opts_t *o, X509 *issuer, const char *dp, int delta)
{
	int i;

	for (i = 0; i < sk_X509_CRL_num(o->crls); i++) {
		X509_CRL *c = sk_X509_CRL_value(o->crls, i);
		if (crl_matches(c, issuer, dp, delta)) {
			X509_CRL_up_ref(c);
			return c;
		}
	}
	return NULL;
}

static void
apply_entry(int found, int reason, time_t when, jpki_status_t *st)
{
	if (found == 1) {
		st->state = reason == JPKI_REASON_CERTIFICATE_HOLD ? JPKI_CERT_HOLD : JPKI_CERT_REVOKED;
		st->reason = reason;
		st->since = when;
	} else {
		st->state = JPKI_CERT_GOOD;
		st->reason = JPKI_REASON_NONE;
		st->since = 0;
	}
}

static int
crl_check(X509 *cert, X509 *issuer, const jpki_status_opts_t *o, time_t now, jpki_status_t *st)
{
	X509_CRL *full = NULL, *delta = NULL;
	char dp[URL_MAX], fresh[URL_MAX], what[URL_MAX + 32], given[256];
	const char *url;
	STACK_OF(DIST_POINT) *fdp = NULL;
	time_t tu = 0, nu = 0, when = 0;
	long long fnum, dnum, base;
	int r = JPKI_ERR_INTERNAL, found, reason;

	cert_crldp(cert, dp, sizeof(dp));
	snprintf(given, sizeof(given), "none matches the certificate");
	if ((full = crl_at_hand(o, issuer, dp, 0)) != NULL) {
		if (crl_usable(full, issuer, dp, 0, now, "the CRL given", 1) == 0) {
			snprintf(st->url, sizeof(st->url), "%s", dp[0] ? dp : "(given)");
		} else {
			snprintf(given, sizeof(given), "%s", jpki_detail());
			X509_CRL_free(full);
			full = NULL;
		}
	}
	if (full == NULL) {
		url = o->crl_url != NULL ? o->crl_url : dp;
		if (o->offline) {
			jpki_set_detail("no usable CRL at hand (offline): %s", given);
			r = JPKI_ERR_NET;
			goto out;
		}
		if (url[0] == '\0') {
			jpki_set_detail("the certificate names no CRL distribution point");
			r = JPKI_ERR_NET;
			goto out;
		}
		snprintf(what, sizeof(what), "CRL %s", url);
		if ((r = crl_fetch(url, o->crl_url != NULL, o, &full)) != 0 ||
		    (r = crl_usable(full, issuer, dp, 0, now, what, 0)) != 0)
			goto out;
		snprintf(st->url, sizeof(st->url), "%s", url);
	}
	found = crl_lookup(full, cert, &reason, &when);
	apply_entry(found == 1, reason, when, st);
	asn1_time(X509_CRL_get0_lastUpdate(full), &tu);
	asn1_time(X509_CRL_get0_nextUpdate(full), &nu);

	/* The delta CRL its FreshestCRL names: newer changes (holds, releases). */
	fdp = X509_CRL_get_ext_d2i(full, NID_freshest_crl, NULL, NULL);
	ERR_clear_error();
	dp_url(fdp, fresh, sizeof(fresh));
	delta = crl_at_hand(o, issuer, dp, 1);
	if (fdp != NULL || delta != NULL) {
		if (delta != NULL && crl_usable(delta, issuer, dp, 1, now, "the delta CRL given", 1) != 0) {
			X509_CRL_free(delta);
			delta = NULL;
		}
		if (delta == NULL) {
			if (fresh[0] == '\0' || o->offline) {
				jpki_set_detail("the delta CRL is not at hand%s", o->offline ? " (offline)" : "");
				r = JPKI_ERR_NET;
				goto out;
			}
			snprintf(what, sizeof(what), "delta CRL %s", fresh);
			if ((r = crl_fetch(fresh, 0, o, &delta)) != 0 ||
			    (r = crl_usable(delta, issuer, dp, 1, now, what, 0)) != 0)
				goto out;
		}
		fnum = crl_num(full, NID_crl_number);
		dnum = crl_num(delta, NID_crl_number);
		base = crl_num(delta, NID_delta_crl);
		if (base > fnum) {
			jpki_set_detail("the delta CRL (base %lld) needs a newer full CRL than number %lld",
			                base, fnum);
			r = JPKI_ERR_NET;
			goto out;
		}
		if (dnum > fnum) {
			found = crl_lookup(delta, cert, &reason, &when);
			if (found != 0)
				apply_entry(found, reason, when, st);
			st->delta_applied = 1;
			asn1_time(X509_CRL_get0_lastUpdate(delta), &tu);
			asn1_time(X509_CRL_get0_nextUpdate(delta), &nu);
		}
	}
	st->source = JPKI_SOURCE_CRL;
	st->this_update = tu;
	st->next_update = nu;
	switch (st->state) {
	case JPKI_CERT_REVOKED: r = JPKI_ERR_REVOKED; break;
	case JPKI_CERT_HOLD: r = JPKI_ERR_HOLD; break;
	default: r = 0; break;
	}
out:
	sk_DIST_POINT_pop_free(fdp, DIST_POINT_free);
	X509_CRL_free(full);
	X509_CRL_free(delta);
	return r;
}

int
jpki_status_check(X509 *cert, X509 *issuer, const jpki_status_opts_t *opts, jpki_status_t *st)
{
	static const jpki_status_opts_t none;
	const jpki_status_opts_t *o = opts != NULL ? opts : &none;
	char url[URL_MAX], ocsp_err[256], crl_err[256];
	time_t now;
	int r;

	if (st != NULL) {
		memset(st, 0, sizeof(*st));
		st->reason = JPKI_REASON_NONE;
		st->state = JPKI_CERT_UNKNOWN;
	}
	if (cert == NULL || issuer == NULL || st == NULL)
		return JPKI_ERR_INVALID_ARG;
	now = o->now != 0 ? o->now : jpki_now();
	ocsp_err[0] = '\0';
	if (o->no_ocsp) {
		snprintf(ocsp_err, sizeof(ocsp_err), "not asked");
	} else if (o->offline) {
		snprintf(ocsp_err, sizeof(ocsp_err), "offline");
	} else {
		if (o->ocsp_url != NULL)
			snprintf(url, sizeof(url), "%s", o->ocsp_url);
		else
			cert_ocsp_url(cert, url, sizeof(url));
		if (url[0] == '\0') {
			snprintf(ocsp_err, sizeof(ocsp_err), "the certificate names no OCSP responder");
		} else {
			jpki_clear_detail();
			r = ocsp_check(cert, issuer, url, o, now, st);
			if (r == 0 || r == JPKI_ERR_REVOKED || r == JPKI_ERR_HOLD ||
			    r == JPKI_ERR_NOT_FOUND)
				return r;
			snprintf(ocsp_err, sizeof(ocsp_err), "%s", jpki_detail()[0] ? jpki_detail()
			                                                              : jpki_strerror(r));
			memset(st, 0, sizeof(*st));
			st->reason = JPKI_REASON_NONE;
			st->state = JPKI_CERT_UNKNOWN;
		}
	}
	if (o->no_crl) {
		jpki_set_detail("OCSP: %s; CRL: not asked", ocsp_err);
		return JPKI_ERR_NET;
	}
	jpki_clear_detail();
	r = crl_check(cert, issuer, o, now, st);
	if (r == 0 || r == JPKI_ERR_REVOKED || r == JPKI_ERR_HOLD) {
		snprintf(st->ocsp_error, sizeof(st->ocsp_error), "%s", ocsp_err);
		return r;
	}
	snprintf(crl_err, sizeof(crl_err), "%s", jpki_detail()[0] ? jpki_detail() : jpki_strerror(r));
	memset(st, 0, sizeof(*st));
	st->reason = JPKI_REASON_NONE;
	st->state = JPKI_CERT_UNKNOWN;
	jpki_set_detail("OCSP: %s; CRL: %s", ocsp_err, crl_err);
	return JPKI_ERR_NET;
}
