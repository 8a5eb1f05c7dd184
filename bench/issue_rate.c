/*
 * Issuance rate with keys given: issue N signature certificates (public keys
 * made beforehand) through jpki_ca_issue, in batches of B per store
 * transaction, and print certificates per second.
 *   bench_issue_rate CA_DIR N [BATCH]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "jpki/ca.h"
#include "jpki/cli.h"
#include "jpki/error.h"

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
	long n, batch, i;
	double t0, t1;
	int r, k;

	if (argc < 3 || (n = atol(argv[2])) <= 0)
		return fprintf(stderr, "usage: bench_issue_rate CA_DIR N [BATCH]\n"), 2;
	batch = argc > 3 ? atol(argv[3]) : 100;
	if (batch <= 0)
		batch = 1;
	if ((r = jpki_ca_open(argv[1], &ca)) != 0)
		return jpki_cli_fail("bench_issue_rate", r);
	/* Keys are given: the card makes them, not the CA. */
	for (k = 0; k < 16; k++)
		if ((keys[k] = EVP_RSA_gen(2048)) == NULL)
			return 1;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (i % batch == 0 && (r = jpki_ca_batch_begin(ca)) != 0)
			return jpki_cli_fail("bench_issue_rate", r);
		req.pub = keys[i % 16];
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
