/*
 * Fill a CA's store with N revoked signature certificates in partition 0,
 * and write the same entries as an `openssl ca` index.txt, so that both
 * CRL generators work on the same input.
 *   bench_fill_store CA_DIR N INDEX_TXT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "jpki/ca.h"
#include "jpki/cli.h"
#include "jpki/error.h"
#include "jpki/store.h"

int
main(int argc, char **argv)
{
	static const int reasons[] = {JPKI_REASON_KEY_COMPROMISE, JPKI_REASON_AFFILIATION_CHANGED,
	                              JPKI_REASON_SUPERSEDED, JPKI_REASON_CESSATION,
	                              JPKI_REASON_CERTIFICATE_HOLD};
	static const char *const names[] = {"keyCompromise", "affiliationChanged", "superseded",
	                                    "cessationOfOperation", "certificateHold"};
	jpki_ca_t *ca = NULL;
	jpki_store_t *st;
	jpki_cert_rec_t rec;
	FILE *idx;
	long n, i;
	int r;
	time_t t0 = 1767225600; /* 2026-01-01 */

	if (argc != 4 || (n = atol(argv[2])) <= 0)
		return fprintf(stderr, "usage: bench_fill_store CA_DIR N INDEX_TXT\n"), 2;
	if ((r = jpki_ca_open(argv[1], &ca)) != 0)
		return jpki_cli_fail("bench_fill_store", r);
	if ((idx = fopen(argv[3], "w")) == NULL)
		return perror(argv[3]), 1;
	st = jpki_ca_store(ca);
	if ((r = jpki_store_begin(st)) != 0)
		return jpki_cli_fail("bench_fill_store", r);
	for (i = 0; i < n; i++) {
		char hex[2 * JPKI_SERIAL_MAX + 1], when[32];
		struct tm tm;
		time_t t = t0 + i;
		int k = (int)(i % 4); /* certificateHold needs a hold instruction in openssl's index */

		memset(&rec, 0, sizeof(rec));
		rec.ca = JPKI_CA_SIGN;
		RAND_bytes(rec.serial, 16);
		rec.serial[0] = (uint8_t)((rec.serial[0] & 0x3f) | 0x40);
		rec.serial_len = 16;
		rec.not_before = t0;
		rec.not_after = t0 + 5 * 365 * 86400;
		rec.partition = 0;
		rec.status = reasons[k] == JPKI_REASON_CERTIFICATE_HOLD ? JPKI_STATUS_HOLD
		                                                       : JPKI_STATUS_REVOKED;
		rec.reason = reasons[k];
		rec.status_time = t;
		snprintf(rec.subject_cn, sizeof(rec.subject_cn), "bench%ld", i);
		if ((r = jpki_store_cert_insert(st, &rec)) != 0)
			return jpki_cli_fail("bench_fill_store", r);
		jpki_serial_hex(rec.serial, rec.serial_len, hex, sizeof(hex));
		gmtime_r(&t, &tm);
		/* UTCTime, two-digit year (RFC 5280 until 2049) */
		snprintf(when, sizeof(when), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1,
		         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		/* openssl ca index: status, expiry, revocation[,reason], serial, file, DN */
		fprintf(idx, "R\t310101000000Z\t%s,%s\t%s\tunknown\t/CN=bench%ld\n", when, names[k],
		        hex, i);
	}
	if ((r = jpki_store_commit(st)) != 0)
		return jpki_cli_fail("bench_fill_store", r);
	fclose(idx);
	jpki_ca_close(ca);
	return 0;
}
