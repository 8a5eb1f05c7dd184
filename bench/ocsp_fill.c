/*
 * The OCSP benchmark's input: fill a CA's store with N signature
 * certificates, one in ten revoked (keyCompromise), write the same set as an
 * `openssl ca` index.txt for `openssl ocsp -index`, and write a wrk script
 * that POSTs K pre-made requests (SHA-1 CertIDs, no nonce) spread evenly
 * over the serials; and WRK_LUA.good.der, WRK_LUA.revoked.der, one request
 * each for a good and a revoked certificate.
 *   bench_ocsp_fill CA_DIR N INDEX_TXT WRK_LUA K
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>

#include "jpki/ca.h"
#include "jpki/cli.h"
#include "jpki/error.h"
#include "jpki/store.h"

static const char *prog = "bench_ocsp_fill";

/* One request for serial, DER, as `openssl ocsp -no_nonce` would send it. */
static int
request_der(X509 *ca, const uint8_t *serial, size_t len, unsigned char **der)
{
	BIGNUM *bn = BN_bin2bn(serial, (int)len, NULL);
	ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	OCSP_CERTID *id = ai ? OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca),
	                                        X509_get0_pubkey_bitstr(ca), ai) : NULL;
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	int n = -1;

	*der = NULL;
	if (id != NULL && req != NULL && OCSP_request_add0_id(req, id) != NULL) {
		id = NULL;
		n = i2d_OCSP_REQUEST(req, der);
	}
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return n;
}

int
main(int argc, char **argv)
{
	jpki_ca_t *ca = NULL;
	jpki_store_t *st;
	jpki_cert_rec_t rec;
	FILE *idx, *lua;
	uint8_t (*serials)[16];
	long n, k, i, step;
	int r;
	time_t t0 = 1767225600; /* 2026-01-01 */

	if (argc != 6 || (n = atol(argv[2])) <= 0 || (k = atol(argv[5])) <= 0)
		return fprintf(stderr, "usage: %s CA_DIR N INDEX_TXT WRK_LUA K\n", prog), 2;
	if (k > n)
		k = n;
	if ((serials = calloc((size_t)n, sizeof(*serials))) == NULL)
		return fprintf(stderr, "%s: out of memory\n", prog), 1;
	if ((r = jpki_ca_open(argv[1], &ca)) != 0)
		return jpki_cli_fail(prog, r);
	if ((idx = fopen(argv[3], "w")) == NULL || (lua = fopen(argv[4], "w")) == NULL)
		return perror(argv[3]), 1;
	st = jpki_ca_store(ca);
	if ((r = jpki_store_begin(st)) != 0)
		return jpki_cli_fail(prog, r);
	for (i = 0; i < n; i++) {
		char hex[2 * JPKI_SERIAL_MAX + 1], when[32];
		struct tm tm;
		time_t t = t0 + i;
		int revoked = i % 10 == 3;

		memset(&rec, 0, sizeof(rec));
		rec.ca = JPKI_CA_SIGN;
		RAND_bytes(rec.serial, 16);
		rec.serial[0] = (uint8_t)((rec.serial[0] & 0x3f) | 0x40);
		rec.serial_len = 16;
		memcpy(serials[i], rec.serial, 16);
		rec.not_before = t0;
		rec.not_after = t0 + 5 * 365 * 86400;
		rec.partition = 0;
		rec.status = revoked ? JPKI_STATUS_REVOKED : JPKI_STATUS_GOOD;
		rec.reason = revoked ? JPKI_REASON_KEY_COMPROMISE : JPKI_REASON_NONE;
		rec.status_time = revoked ? t : 0;
		snprintf(rec.subject_cn, sizeof(rec.subject_cn), "bench%ld", i);
		if ((r = jpki_store_cert_insert(st, &rec)) != 0)
			return jpki_cli_fail(prog, r);
		jpki_serial_hex(rec.serial, rec.serial_len, hex, sizeof(hex));
		/* openssl ca index: status, expiry, revocation[,reason], serial, file, DN */
		if (revoked) {
			gmtime_r(&t, &tm);
			snprintf(when, sizeof(when), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100,
			         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
			fprintf(idx, "R\t310101000000Z\t%s,keyCompromise\t%s\tunknown\t/CN=bench%ld\n",
			        when, hex, i);
		} else {
			fprintf(idx, "V\t310101000000Z\t\t%s\tunknown\t/CN=bench%ld\n", hex, i);
		}
	}
	if ((r = jpki_store_commit(st)) != 0)
		return jpki_cli_fail(prog, r);
	fclose(idx);

	/* The wrk script: every thread walks the same list from its own start.
	 * Request i is for certificate i * step + i % step: one in ten revoked. */
	fprintf(lua, "-- %ld OCSP requests over %ld certificates (bench/ocsp.sh)\n"
	             "wrk.method = \"POST\"\n"
	             "wrk.headers[\"Content-Type\"] = \"application/ocsp-request\"\n"
	             "local bodies = {\n", k, n);
	step = n / k;
	for (i = 0; i < k; i++) {
		unsigned char *der;
		int len = request_der(jpki_ca_cert(ca, JPKI_CA_SIGN), serials[i * step + i % step], 16,
		                      &der), j;
		if (len <= 0)
			return fprintf(stderr, "%s: cannot encode a request\n", prog), 1;
		fputc('"', lua);
		for (j = 0; j < len; j++)
			fprintf(lua, "\\%03u", der[j]);
		fputs("\",\n", lua);
		OPENSSL_free(der);
	}
	/* Two of them alone, to check both servers' answers: good and revoked. */
	for (i = 0; i < 2; i++) {
		char path[4096];
		unsigned char *der;
		int len = request_der(jpki_ca_cert(ca, JPKI_CA_SIGN), serials[i ? 3 : 0], 16, &der);
		FILE *f;
		snprintf(path, sizeof(path), "%s.%s.der", argv[4], i ? "revoked" : "good");
		if (len <= 0 || (f = fopen(path, "wb")) == NULL || fwrite(der, 1, (size_t)len, f) != (size_t)len)
			return fprintf(stderr, "%s: cannot write %s\n", prog, path), 1;
		fclose(f);
		OPENSSL_free(der);
	}
	fprintf(lua, "}\n"
	             "local i = 0\n"
	             "function init(args) i = math.random(#bodies) end\n"
	             "function request()\n"
	             "  i = i %% #bodies + 1\n"
	             "  return wrk.format(nil, nil, nil, bodies[i])\n"
	             "end\n");
	fclose(lua);
	free(serials);
	jpki_ca_close(ca);
	return 0;
}
