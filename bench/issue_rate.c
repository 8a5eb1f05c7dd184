/*
 * Issuance rate with keys given: issue N signature certificates (public keys
 * made beforehand) through jpki_ca_issue, in batches of B per store
 * transaction, and print certificates per second.
 *   bench_issue_rate CA_DIR N [BATCH [MODE]]
 * MODE: der (default: keys as EVP_PKEY, the certificate handed back as DER),
 *       x509 (the same, also parsed into an X509),
 *       modulus (keys as the card answers them, 256-byte moduli; DER).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jpki/ca.h"
#include "jpki/cli.h"
#include "jpki/error.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	jpki_ca_t *ca = NULL;
	EVP_PKEY *keys[16];
	jpki_person_t p = {.name = "山田　太郎", .dob = {1980, 4, 1}, .sex = 1,
	                   .address = "東京都千代田区霞が関２丁目１番２号"};
	jpki_issue_req_t req = {.kind = JPKI_CA_SIGN, .person = &p, .gen = JPKI_GEN_MYNUMBER};
	jpki_issued_t is;
	uint8_t mod[16][256];
	const char *mode;
	long n, batch, i;
	double t0, t1;
	int r, k;

	if (argc < 3 || (n = atol(argv[2])) <= 0)
		return fprintf(stderr, "usage: bench_issue_rate CA_DIR N [BATCH]\n"), 2;
	batch = argc > 3 ? atol(argv[3]) : 100;
	if (batch <= 0)
		batch = 1;
	mode = argc > 4 ? argv[4] : "der";
	if (strcmp(mode, "der") != 0 && strcmp(mode, "x509") != 0 && strcmp(mode, "modulus") != 0)
		return fprintf(stderr, "bench_issue_rate: MODE is der, x509 or modulus\n"), 2;
	req.der_only = strcmp(mode, "x509") != 0;
	if ((r = jpki_ca_open(argv[1], &ca)) != 0)
		return jpki_cli_fail("bench_issue_rate", r);
	/* Keys are given: the card makes them, not the CA. */
	for (k = 0; k < 16; k++) {
		BIGNUM *bn = NULL;
		if ((keys[k] = EVP_RSA_gen(2048)) == NULL ||
		    EVP_PKEY_get_bn_param(keys[k], OSSL_PKEY_PARAM_RSA_N, &bn) != 1 ||
		    BN_bn2binpad(bn, mod[k], 256) != 256)
			return 1;
		BN_free(bn);
	}
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (i % batch == 0 && (r = jpki_ca_batch_begin(ca)) != 0)
			return jpki_cli_fail("bench_issue_rate", r);
		if (strcmp(mode, "modulus") == 0) {
			req.pub_n = mod[i % 16];
			req.pub_n_len = 256;
		} else {
			req.pub = keys[i % 16];
		}
		if ((r = jpki_ca_issue(ca, &req, &is)) != 0)
			return jpki_cli_fail("bench_issue_rate", r);
		jpki_issued_clear(&is);
		if ((i % batch == batch - 1 || i == n - 1) && (r = jpki_ca_batch_commit(ca)) != 0)
			return jpki_cli_fail("bench_issue_rate", r);
	}
	t1 = now_s();
	printf("%.1f\n", (double)n / (t1 - t0));
	for (k = 0; k < 16; k++)
		EVP_PKEY_free(keys[k]);
	jpki_ca_close(ca);
	return 0;
}
