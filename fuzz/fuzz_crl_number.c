/*
 * libFuzzer target: jpki_crl_number_read, which reads the CRLNumber of a
 * published CRL file before the next one is numbered (so a damaged or
 * foreign file in crl/ must not crash jpki-ca or jpkid).
 *
 *   CC=clang bash scripts/build.sh build-fuzz -DJPKI_FUZZ=ON
 *   build-fuzz/fuzz_crl_number fuzz/corpus/fuzz_crl_number
 *
 * Input: anything.  When a number is read, OpenSSL must parse the same
 * bytes' CRLNumber to the same value whenever it can parse the CRL at all.
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/error.h"
#include "jpki/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	int64_t n = -1;
	X509_CRL *crl;
	ASN1_INTEGER *num;
	int r = jpki_crl_number_read(data, size, &n);

	if (r == 0 && n < 0)
		abort();
	if (r != 0 && r != JPKI_ERR_NOT_FOUND && r != JPKI_ERR_FORMAT && r != JPKI_ERR_TRUNCATED)
		abort();
	if (r != 0 || size > 1 << 20)
		return 0;
	crl = d2i_X509_CRL(NULL, &p, (long)size);
	if (crl == NULL)
		return 0;
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	if (num != NULL) {
		int64_t v = -1;
		if (ASN1_INTEGER_get_int64(&v, num) == 1 && v != n)
			abort();
		ASN1_INTEGER_free(num);
	}
	X509_CRL_free(crl);
	return 0;
}
