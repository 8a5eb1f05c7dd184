/*
 * The relying party's verification rate, in-process: a signature certificate
 * and an authentication certificate are issued by the CA in CA_DIR to RSA-2048
 * keys held in software (no card), R further certificates of each CA are
 * revoked so that the CRLs have entries, and the full and delta CRLs of
 * partition 0 are published.  A 1 KiB application is signed with
 * jpki_cms_sign (RSASSA-PKCS1-v1_5 by OpenSSL in the callback), a login
 * response is signed the same way, and N verifications of each kind are timed:
 *   cms-nostatus   jpki_cms_verify, chain to the Signing CA, no_status
 *   cms-crl        the same, status from the CRL files loaded once (full and
 *                  delta at hand, offline: what `jpki-service --crl` does)
 *   cms-crlfile    the same, the full CRL read and parsed from its file at
 *                  every verification (crl_url file://, the delta at hand)
 *   login-nostatus jpki_login_verify, chain to the User-Authentication CA
 *   login-crl      the same, status from the CRLs at hand
 * No OCSP and no network in any of them.  A CMS verification includes the
 * SHA-256 of the application.  One line per kind:
 *   NAME CPU_RATE WALL_RATE RSA_VERIFIES
 * rates in verifications per second of process CPU time, user + system
 * (`openssl speed` counts its user CPU time), and of wall time; RSA_VERIFIES is how many RSA public-key operations
 * one verification makes: the signature and the certificate's; a CRL at hand
 * is checked once and remembered (status.c), a CRL read from its file costs
 * one more each time.
 *   bench_verify CA_DIR [N [R]]      (N default 20000, R default 1000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "jpki/ca.h"
#include "jpki/cli.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/token.h"
#include "jpki/verify.h"

#define APP_LEN 1024
#define ORIGIN "https://service.example.jp"

static const char *prog = "bench_verify";
static const char form[] = "電子申請: 転入届 / application form v1\n";

static double
clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The card's part, in software: RSASSA-PKCS1-v1_5 over the DigestInfo. */
static int
soft_sign(void *ctx, const uint8_t *di, size_t len, uint8_t *sig, size_t max, size_t *sig_len)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ctx, NULL);
	size_t n = max;
	int ok;

	ok = c != NULL && EVP_PKEY_sign_init(c) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
	     EVP_PKEY_sign(c, sig, &n, di, len) == 1;
	EVP_PKEY_CTX_free(c);
	*sig_len = n;
	return ok ? 0 : JPKI_ERR_CRYPTO;
}

static int
issue(jpki_ca_t *ca, jpki_ca_kind_t kind, EVP_PKEY *key, int der_only, jpki_issued_t *is)
{
	static const jpki_person_t p = {.name = "山田　太郎", .dob = {1980, 4, 1}, .sex = 1,
	                                .address = "東京都千代田区霞が関２丁目１番２号"};
	jpki_issue_req_t req = {.kind = kind, .pub = key, .person = &p,
	                        .gen = JPKI_GEN_MYNUMBER, .der_only = der_only};

	return jpki_ca_issue(ca, &req, is);
}

/* R certificates of kind issued to key and revoked, then the full and the
 * delta CRL of partition 0 published and loaded into crls.  full_path gets
 * the full CRL's file. */
static int
revoke_and_publish(jpki_ca_t *ca, jpki_ca_kind_t kind, EVP_PKEY *key, long r_count,
                   STACK_OF(X509_CRL) *crls, char *full_path, size_t path_len)
{
	jpki_issued_t is;
	char path[1024];
	long i;
	int r, d;

	if ((r = jpki_ca_batch_begin(ca)) != 0)
		return r;
	for (i = 0; i < r_count; i++) {
		if ((r = issue(ca, kind, key, 1, &is)) != 0 ||
		    (r = jpki_ca_revoke(ca, kind, is.serial, is.serial_len,
		                        JPKI_REASON_KEY_COMPROMISE, 0)) != 0)
			return r;
		jpki_issued_clear(&is);
	}
	if ((r = jpki_ca_batch_commit(ca)) != 0)
		return r;
	for (d = 0; d < 2; d++) {
		uint8_t *b = NULL;
		const uint8_t *p;
		size_t n = 0;
		X509_CRL *crl;

		if ((r = jpki_ca_publish_crl(ca, kind, 0, d, 0, NULL)) != 0 ||
		    (r = jpki_ca_crl_path(ca, kind, 0, d, path, sizeof(path))) != 0 ||
		    (r = jpki_file_read(path, (size_t)64 << 20, &b, &n)) != 0)
			return r;
		p = b;
		crl = d2i_X509_CRL(NULL, &p, (long)n);
		free(b);
		if (crl == NULL || sk_X509_CRL_push(crls, crl) <= 0)
			return JPKI_ERR_CRYPTO;
		if (d == 0)
			snprintf(full_path, path_len, "%s", path);
	}
	return 0;
}

struct job {
	const char *name;
	int login;                 /* 0: a signed application */
	int rsa;                   /* RSA verifies in one verification */
	jpki_verify_opts_t o;
};

struct input {
	const uint8_t *app;
	const uint8_t *cms;
	size_t cms_len;
	const uint8_t *challenge;
	const uint8_t *cert;
	size_t cert_len;
	const uint8_t *sig;
	size_t sig_len;
};

static int
verify_once(const struct job *j, const struct input *in, jpki_verified_t *v)
{
	uint8_t h[32];

	if (j->login)
		return jpki_login_verify(in->challenge, ORIGIN, in->cert, in->cert_len, in->sig,
		                         in->sig_len, &j->o, v);
	SHA256(in->app, APP_LEN, h);
	return jpki_cms_verify(in->cms, in->cms_len, h, &j->o, v);
}

static int
run(const struct job *j, const struct input *in, long n)
{
	jpki_verified_t v;
	double w0, w1, c0, c1;
	long i;
	int r;

	/* Once outside the timing: it must pass, with the status from a CRL when asked. */
	r = verify_once(j, in, &v);
	if (r == 0 && !j->o.no_status &&
	    (!v.status_checked || v.status.source != JPKI_SOURCE_CRL || !v.status.delta_applied)) {
		jpki_set_detail("%s: the status did not come from the full and delta CRL", j->name);
		r = JPKI_ERR_INTERNAL;
	}
	jpki_verified_clear(&v);
	if (r != 0)
		return r;
	for (i = 0; i < n / 10; i++) { /* warm-up */
		r = verify_once(j, in, &v);
		jpki_verified_clear(&v);
		if (r != 0)
			return r;
	}
	w0 = clock_s(CLOCK_MONOTONIC);
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < n; i++) {
		r = verify_once(j, in, &v);
		jpki_verified_clear(&v);
		if (r != 0)
			return r;
	}
	c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	w1 = clock_s(CLOCK_MONOTONIC);
	printf("%-15s %10.1f %10.1f %d\n", j->name, (double)n / (c1 - c0), (double)n / (w1 - w0),
	       j->rsa);
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	jpki_ca_t *ca = NULL;
	EVP_PKEY *sign_key = NULL, *auth_key = NULL, *filler = NULL;
	jpki_issued_t sign_is, auth_is;
	STACK_OF(X509_CRL) *sign_crls = NULL, *auth_crls = NULL, *sign_delta = NULL;
	X509 *sign_ca, *auth_ca;
	struct input in;
	struct job jobs[5];
	uint8_t app[APP_LEN], challenge[JPKI_LOGIN_CHALLENGE_LEN], h[32];
	uint8_t di[JPKI_DIGESTINFO_SHA256_LEN], sig[512], *cms = NULL;
	char sign_full[1024], auth_full[1024], crl_url[1100];
	size_t cms_len = 0, sig_len = 0, i;
	long n, r_count;
	int r, k;

	memset(&sign_is, 0, sizeof(sign_is));
	memset(&auth_is, 0, sizeof(auth_is));
	if (argc < 2 || argc > 4)
		return fprintf(stderr, "usage: bench_verify CA_DIR [N [R]]\n"), 2;
	n = argc > 2 ? atol(argv[2]) : 20000;
	r_count = argc > 3 ? atol(argv[3]) : 1000;
	if (n <= 0 || r_count < 0)
		return fprintf(stderr, "usage: bench_verify CA_DIR [N [R]]\n"), 2;
	if ((r = jpki_ca_open(argv[1], &ca)) != 0)
		return jpki_cli_fail(prog, r);
	sign_ca = jpki_ca_cert(ca, JPKI_CA_SIGN);
	auth_ca = jpki_ca_cert(ca, JPKI_CA_AUTH);

	/* The resident's keys and certificates, and the revoked others. */
	if ((sign_key = EVP_RSA_gen(2048)) == NULL || (auth_key = EVP_RSA_gen(2048)) == NULL ||
	    (filler = EVP_RSA_gen(2048)) == NULL || (sign_crls = sk_X509_CRL_new_null()) == NULL ||
	    (auth_crls = sk_X509_CRL_new_null()) == NULL || (sign_delta = sk_X509_CRL_new_null()) == NULL)
		return jpki_cli_fail(prog, JPKI_ERR_CRYPTO);
	if ((r = issue(ca, JPKI_CA_SIGN, sign_key, 0, &sign_is)) != 0 ||
	    (r = issue(ca, JPKI_CA_AUTH, auth_key, 0, &auth_is)) != 0 ||
	    (r = revoke_and_publish(ca, JPKI_CA_SIGN, filler, r_count, sign_crls, sign_full,
	                            sizeof(sign_full))) != 0 ||
	    (r = revoke_and_publish(ca, JPKI_CA_AUTH, filler, r_count, auth_crls, auth_full,
	                            sizeof(auth_full))) != 0)
		return jpki_cli_fail(prog, r);
	X509_CRL_up_ref(sk_X509_CRL_value(sign_crls, 1));
	sk_X509_CRL_push(sign_delta, sk_X509_CRL_value(sign_crls, 1));
	snprintf(crl_url, sizeof(crl_url), "file://%s", sign_full);

	/* A 1 KiB application and its signature; a login response. */
	for (i = 0; i < sizeof(app); i++)
		app[i] = (uint8_t)form[i % (sizeof(form) - 1)];
	SHA256(app, sizeof(app), h);
	if ((r = jpki_cms_sign(h, sign_is.cert, 0, soft_sign, sign_key, &cms, &cms_len)) != 0)
		return jpki_cli_fail(prog, r);
	for (i = 0; i < sizeof(challenge); i++)
		challenge[i] = (uint8_t)(i * 7 + 1);
	if ((r = jpki_login_digest(challenge, ORIGIN, h)) != 0)
		return jpki_cli_fail(prog, r);
	jpki_token_digestinfo_sha256(h, di);
	if ((r = soft_sign(auth_key, di, sizeof(di), sig, sizeof(sig), &sig_len)) != 0)
		return jpki_cli_fail(prog, r);
	in = (struct input){.app = app, .cms = cms, .cms_len = cms_len, .challenge = challenge,
	                    .cert = auth_is.der, .cert_len = auth_is.der_len, .sig = sig,
	                    .sig_len = sig_len};

	memset(jobs, 0, sizeof(jobs));
	for (k = 0; k < 5; k++) {
		jobs[k].login = k >= 3;
		jobs[k].o.anchor = jobs[k].login ? auth_ca : sign_ca;
		jobs[k].o.kind = jobs[k].login ? JPKI_CA_AUTH : JPKI_CA_SIGN;
		jobs[k].o.status.no_ocsp = 1;
		jobs[k].o.status.offline = 1;
		jobs[k].rsa = 2;
	}
	jobs[0].name = "cms-nostatus";
	jobs[0].o.no_status = 1;
	jobs[0].rsa = 2;
	jobs[1].name = "cms-crl";
	jobs[1].o.status.crls = sign_crls;
	jobs[2].name = "cms-crlfile";
	jobs[2].o.status.offline = 0;  /* the file is read through the CRL fetcher */
	jobs[2].o.status.crl_url = crl_url;
	jobs[2].o.status.crls = sign_delta;
	jobs[2].rsa = 3;
	jobs[3].name = "login-nostatus";
	jobs[3].o.no_status = 1;
	jobs[3].rsa = 2;
	jobs[4].name = "login-crl";
	jobs[4].o.status.crls = auth_crls;
	printf("# %ld verifications each; CRLs with %ld revoked entries; %zu-byte CMS\n", n, r_count,
	       cms_len);
	for (k = 0; k < 5; k++)
		if ((r = run(&jobs[k], &in, n)) != 0)
			return jpki_cli_fail(prog, r);

	free(cms);
	jpki_issued_clear(&sign_is);
	jpki_issued_clear(&auth_is);
	sk_X509_CRL_pop_free(sign_crls, X509_CRL_free);
	sk_X509_CRL_pop_free(auth_crls, X509_CRL_free);
	sk_X509_CRL_pop_free(sign_delta, X509_CRL_free);
	EVP_PKEY_free(sign_key);
	EVP_PKEY_free(auth_key);
	EVP_PKEY_free(filler);
	jpki_ca_close(ca);
	return 0;
}
