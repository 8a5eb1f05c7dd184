/*
 * The chain of an end-entity certificate to the trust anchor the relying
 * party gives (spec §4: EE certificates chain directly to their CA), at a
 * chosen time, so that JPKI_NOW walks a certificate past its expiry.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "jpki/cli.h"
#include "jpki/date.h"
#include "jpki/error.h"
#include "jpki/verify.h"

static int
time_detail(const char *who, X509 *x, int expired)
{
	const ASN1_TIME *t = expired ? X509_get0_notAfter(x) : X509_get0_notBefore(x);
	struct tm tm;
	char when[96];

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(t, &tm) == 1)
		jpki_cli_format_time(timegm(&tm), when, sizeof(when));
	else
		snprintf(when, sizeof(when), "?");
	if (expired)
		jpki_set_detail("the %s expired on %s", who, when);
	else
		jpki_set_detail("the %s is not valid before %s", who, when);
	return JPKI_ERR_EXPIRED;
}

int
jpki_verify_chain(X509 *cert, X509 *anchor, jpki_ca_kind_t kind, time_t at)
{
	X509_STORE *st = NULL;
	X509_STORE_CTX *ctx = NULL;
	uint32_t ku;
	int r = JPKI_ERR_INTERNAL, err, depth, ok;

	if (cert == NULL || anchor == NULL || (kind != JPKI_CA_SIGN && kind != JPKI_CA_AUTH)) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if (at == 0)
		at = jpki_now();
	/* Issued by the anchor (names and key identifiers) before any signature:
	 * the test hierarchies of two CA directories share their names. */
	if ((err = X509_check_issued(anchor, cert)) != X509_V_OK) {
		jpki_set_detail("the certificate was not issued by the given CA (%s)",
		                X509_verify_cert_error_string(err));
		r = JPKI_ERR_UNTRUSTED;
		goto out;
	}
	if ((st = X509_STORE_new()) == NULL || X509_STORE_add_cert(st, anchor) != 1 ||
	    (ctx = X509_STORE_CTX_new()) == NULL || X509_STORE_CTX_init(ctx, st, cert, NULL) != 1) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
	X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(ctx), 1);
	ok = X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	depth = X509_STORE_CTX_get_error_depth(ctx);
	if (ok != 1) {
		switch (err) {
		case X509_V_ERR_CERT_HAS_EXPIRED:
			r = time_detail(depth == 0 ? "certificate" : "CA certificate",
			                depth == 0 ? cert : anchor, 1);
			break;
		case X509_V_ERR_CERT_NOT_YET_VALID:
			r = time_detail(depth == 0 ? "certificate" : "CA certificate",
			                depth == 0 ? cert : anchor, 0);
			break;
		default:
			jpki_set_detail("the certificate does not chain to the given CA: %s (depth %d)",
			                X509_verify_cert_error_string(err), depth);
			r = JPKI_ERR_UNTRUSTED;
			break;
		}
		goto out;
	}
	ku = X509_get_key_usage(cert);
	if (kind == JPKI_CA_SIGN && !(ku & KU_NON_REPUDIATION)) {
		jpki_set_detail("the certificate is not for signatures (no nonRepudiation key usage)");
		r = JPKI_ERR_UNTRUSTED;
		goto out;
	}
	if (!(ku & KU_DIGITAL_SIGNATURE)) {
		jpki_set_detail("the certificate has no digitalSignature key usage");
		r = JPKI_ERR_UNTRUSTED;
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return r;
}
