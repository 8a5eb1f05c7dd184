/*
 * libFuzzer target: the subjectAltName reader (jpki_x509_person_read) and,
 * on what it accepts, the certificate copy in both forms and languages.
 *
 *   CC=clang bash scripts/build.sh build-fuzz -DJPKI_FUZZ=ON
 *   build-fuzz/fuzz_person_read fuzz/corpus/fuzz_person_read
 *
 * Input: the contents of a subjectAltName extension (GeneralNames DER), put
 * into a copy of a certificate template made once at startup.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/error.h"
#include "jpki/registry.h"
#include "jpki/x509.h"

static X509 *tmpl;

static X509 *
make_template(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();

	if (k == NULL || x == NULL || nm == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)"fuzz", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_set_subject_name(x, nm);
	ASN1_TIME_set(X509_getm_notBefore(x), 1795222800);
	ASN1_TIME_set(X509_getm_notAfter(x), 1951239599);
	X509_set_pubkey(x, k);
	/* Signed once so that it encodes; the extension added later leaves the
	 * signature wrong, which nothing here checks. */
	if (X509_sign(x, k, EVP_sha256()) <= 0)
		abort();
	X509_NAME_free(nm);
	EVP_PKEY_free(k);
	return x;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jpki_person_read_t p;
	ASN1_OCTET_STRING *os = NULL;
	X509_EXTENSION *ext = NULL;
	X509 *x = NULL;
	char *s;
	int html, ja;

	if (tmpl == NULL)
		tmpl = make_template();
	if (size > 1 << 17)
		return 0;
	if ((x = X509_dup(tmpl)) == NULL || (os = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(os, data, (int)size) ||
	    (ext = X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name, 0, os)) == NULL ||
	    !X509_add_ext(x, ext, -1))
		goto out;
	if (jpki_x509_person_read(x, &p) == 0) {
		/* What is accepted is NUL-terminated UTF-8 within its buffers. */
		if (memchr(p.name, 0, sizeof(p.name)) == NULL || jpki_utf8_chars(p.name) < 0 ||
		    memchr(p.address, 0, sizeof(p.address)) == NULL ||
		    jpki_utf8_chars(p.address) < 0 || (p.sex != 1 && p.sex != 2 && p.sex != 9))
			abort();
		for (html = 0; html < 2; html++) {
			for (ja = 0; ja < 2; ja++) {
				if (jpki_cert_copy_render(x, html, ja, &s) == 0) {
					if (html && strstr(s, "<script") != NULL)
						abort();
					free(s);
				}
			}
		}
	}
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	X509_free(x);
	return 0;
}
