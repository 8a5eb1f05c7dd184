/* The Agency's two CAs: creation, issuance, status changes, CRL publication. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "jpki/ca.h"
#include "jpki/config.h"
#include "jpki/error.h"
#include "jpki/file.h"

#define URL_MAX 512

struct jpki_ca {
	char dir[PATH_MAX];
	jpki_store_t *store;
	X509 *cert[2];
	EVP_PKEY *key[2];
	jpki_ee_encoder_t *ee[2];  /* what each CA's certificates share, encoded once */
	int test;
	int in_batch;
	int64_t partition_size;
	int64_t crl_hours;
	int64_t delta_hours;
	char base_url[URL_MAX];
	char cps_uri[URL_MAX];
};

static const char *const config_keys[] = {
	"base_url", "cps_uri", "store", "test", "partition_size", "crl_hours", "delta_hours", NULL,
};

const char *
jpki_ca_kind_name(jpki_ca_kind_t kind)
{
	return kind == JPKI_CA_SIGN ? "sign" : "auth";
}

int
jpki_ca_kind_parse(const char *s, jpki_ca_kind_t *kind)
{
	if (s != NULL && strcmp(s, "sign") == 0)
		*kind = JPKI_CA_SIGN;
	else if (s != NULL && strcmp(s, "auth") == 0)
		*kind = JPKI_CA_AUTH;
	else {
		jpki_set_detail("unknown certificate kind '%s' (sign or auth)", s ? s : "");
		return JPKI_ERR_INVALID_ARG;
	}
	return 0;
}

static const struct {
	int code;
	const char *name;
} reasons[] = {
	{JPKI_REASON_KEY_COMPROMISE, "keyCompromise"},
	{JPKI_REASON_CA_COMPROMISE, "caCompromise"},
	{JPKI_REASON_AFFILIATION_CHANGED, "affiliationChanged"},
	{JPKI_REASON_SUPERSEDED, "superseded"},
	{JPKI_REASON_CESSATION, "cessationOfOperation"},
	{JPKI_REASON_CERTIFICATE_HOLD, "certificateHold"},
	{JPKI_REASON_REMOVE_FROM_CRL, "removeFromCRL"},
};

int
jpki_reason_parse(const char *s, int *reason)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (strcasecmp(s, reasons[i].name) == 0) {
			*reason = reasons[i].code;
			return 0;
		}
	}
	jpki_set_detail("unknown reason '%s' (keyCompromise, affiliationChanged, superseded, "
	                "cessationOfOperation)", s ? s : "");
	return JPKI_ERR_INVALID_ARG;
}

const char *
jpki_reason_name(int reason)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == reason)
			return reasons[i].name;
	return reason == JPKI_REASON_NONE ? "" : "unspecified";
}

void
jpki_serial_hex(const uint8_t *serial, size_t len, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < len && 2 * i + 2 < outlen; i++)
		snprintf(out + 2 * i, 3, "%02X", serial[i]);
}

int
jpki_serial_parse(const char *hex, uint8_t *serial, size_t *len)
{
	uint8_t tmp[64];
	size_t n = 0, nib = 0, i;
	int hi = 0;

	*len = 0;
	if (hex == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	/* Count the digits first so an odd count gets a leading zero nibble. */
	for (i = 0; hex[i]; i++) {
		if (hex[i] == ':')
			continue;
		if (!isxdigit((unsigned char)hex[i]))
			goto bad;
		nib++;
	}
	if (nib == 0 || nib > 2 * sizeof(tmp))
		goto bad;
	if (nib % 2)
		hi = -1; /* the first digit is a low nibble */
	for (i = 0; hex[i]; i++) {
		int v;
		char c = hex[i];
		if (c == ':')
			continue;
		v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
		if (hi == -1) {
			tmp[n++] = (uint8_t)v;
			hi = 0;
		} else if (hi == 0) {
			tmp[n] = (uint8_t)(v << 4);
			hi = 1;
		} else {
			tmp[n++] |= (uint8_t)v;
			hi = 0;
		}
	}
	for (i = 0; i < n && tmp[i] == 0; i++)
		;
	if (n - i == 0 || n - i > JPKI_SERIAL_MAX)
		goto bad;
	memcpy(serial, tmp + i, n - i);
	*len = n - i;
	return 0;
bad:
	jpki_set_detail("'%s' is not a serial number (hex, at most %d bytes)", hex, JPKI_SERIAL_MAX);
	return JPKI_ERR_INVALID_ARG;
}

static int
path_join(char *out, size_t outlen, const char *dir, const char *rel)
{
	if ((size_t)snprintf(out, outlen, "%s/%s", dir, rel) >= outlen)
		return JPKI_ERR_RANGE;
	return 0;
}

/* Write a key (PKCS#8 PEM, 0600) or a certificate (PEM, 0644) with O_EXCL. */
static int
write_pem(const char *path, EVP_PKEY *key, X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int ok, r = JPKI_ERR_CRYPTO;

	if (b == NULL)
		return JPKI_ERR_NOMEM;
	ok = key != NULL ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
	                 : PEM_write_bio_X509(b, x);
	if (ok == 1 && (n = BIO_get_mem_data(b, &p)) > 0) {
		r = jpki_file_write_new(path, p, (size_t)n, key != NULL ? 0600 : 0644);
		OPENSSL_cleanse(p, (size_t)n);
	}
	BIO_free(b);
	return r;
}

static int
gen_rsa2048(EVP_PKEY **out)
{
	*out = EVP_RSA_gen(2048);
	return *out ? 0 : JPKI_ERR_CRYPTO;
}

/* A random positive serial of 16 bytes: the top bit clear keeps it positive,
 * the next bit set keeps its length fixed (RFC 5280 4.1.2.2: at most 20). */
static int
random_serial(uint8_t *serial, size_t *len)
{
	if (RAND_bytes(serial, 16) != 1)
		return JPKI_ERR_CRYPTO;
	serial[0] = (uint8_t)((serial[0] & 0x3f) | 0x40);
	*len = 16;
	return 0;
}

int
jpki_ca_init(const char *dir, const jpki_ca_init_opts_t *opts)
{
	static const char *const sub[2] = {"sign", "auth"};
	jpki_ca_init_opts_t defaults = {0};
	char path[PATH_MAX], conf[4096];
	const char *created[8];
	char createdbuf[8][PATH_MAX + 32];
	size_t ncreated = 0, i;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	jpki_store_t *st = NULL;
	uint8_t serial[JPKI_SERIAL_MAX];
	size_t slen;
	int k, r = JPKI_ERR_INTERNAL;
	const char *base;

	if (opts == NULL)
		opts = &defaults;
	base = opts->base_url ? opts->base_url : "http://127.0.0.1:8080";
	if (strlen(base) > 200 || strncmp(base, "http", 4) != 0) {
		jpki_set_detail("base URL '%s' must be an http(s) URL of at most 200 bytes", base);
		return JPKI_ERR_INVALID_ARG;
	}
	if ((r = jpki_file_mkdirs(dir, 0700)) != 0)
		return r;
	if ((r = path_join(path, sizeof(path), dir, "jpki.conf")) != 0)
		return r;
	if (jpki_file_exists(path)) {
		jpki_set_detail("a CA already exists in %s; it is left as it is", dir);
		return JPKI_ERR_EXISTS;
	}
#define REMEMBER(p) do { snprintf(createdbuf[ncreated], sizeof(createdbuf[0]), "%s", (p)); \
		created[ncreated] = createdbuf[ncreated]; ncreated++; } while (0)
	for (k = 0; k < 2; k++) {
		if ((r = path_join(path, sizeof(path), dir, sub[k])) != 0)
			goto out;
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			jpki_set_detail("%s: %s", path, strerror(errno));
			r = JPKI_ERR_IO;
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s/ca.key", dir, sub[k]);
		if ((r = gen_rsa2048(&key)) != 0)
			goto out;
		/* O_EXCL: a key that exists is never replaced, even without jpki.conf. */
		if ((r = write_pem(path, key, NULL)) != 0) {
			if (r == JPKI_ERR_EXISTS)
				jpki_set_detail("%s exists; refusing to overwrite a CA key", path);
			goto out;
		}
		REMEMBER(path);
		if ((r = random_serial(serial, &slen)) != 0 ||
		    (r = jpki_x509_ca_cert((jpki_ca_kind_t)k, opts->test, key, jpki_now(), serial,
		                           slen, &x)) != 0)
			goto out;
		snprintf(path, sizeof(path), "%s/%s/ca.pem", dir, sub[k]);
		if ((r = write_pem(path, NULL, x)) != 0)
			goto out;
		REMEMBER(path);
		X509_free(x);
		x = NULL;
		EVP_PKEY_free(key);
		key = NULL;
	}
	snprintf(conf, sizeof(conf),
	         "# OpenJPKI certification authorities (jpki-ca init)\n"
	         "test = %d\n"
	         "base_url = %s\n"
	         "cps_uri = %s/cps\n"
	         "store = %s\n"
	         "partition_size = %lld\n"
	         "crl_hours = 24\n"
	         "delta_hours = 6\n",
	         opts->test ? 1 : 0, base, base, opts->store_uri ? opts->store_uri : "sqlite:ca.db",
	         (long long)(opts->partition_size > 0 ? opts->partition_size : 100000));
	{
		/* Create the store now so a bad store URI fails init, not later use. */
		char uri[PATH_MAX + 16];
		const char *su = opts->store_uri ? opts->store_uri : "sqlite:ca.db";
		if (strncmp(su, "sqlite:", 7) == 0 && su[7] != '/')
			snprintf(uri, sizeof(uri), "sqlite:%s/%s", dir, su + 7);
		else
			snprintf(uri, sizeof(uri), "%s", su);
		if ((r = jpki_store_open(uri, &st)) != 0)
			goto out;
		if (strncmp(uri, "sqlite:", 7) == 0)
			REMEMBER(uri + 7);
	}
	if ((r = path_join(path, sizeof(path), dir, "jpki.conf")) != 0 ||
	    (r = jpki_file_write_new(path, conf, strlen(conf), 0600)) != 0)
		goto out;
	r = 0;
out:
	jpki_store_close(st);
	X509_free(x);
	EVP_PKEY_free(key);
	if (r != 0) {
		/* Nothing half-made stays behind; what existed before is untouched. */
		for (i = 0; i < ncreated; i++) {
			char side[PATH_MAX + 8];
			unlink(created[i]);
			snprintf(side, sizeof(side), "%s-wal", created[i]);
			unlink(side);
			snprintf(side, sizeof(side), "%s-shm", created[i]);
			unlink(side);
		}
	}
#undef REMEMBER
	return r;
}

void
jpki_ca_close(jpki_ca_t *ca)
{
	int k;

	if (ca == NULL)
		return;
	if (ca->in_batch)
		jpki_store_rollback(ca->store);
	jpki_store_close(ca->store);
	for (k = 0; k < 2; k++) {
		jpki_ee_encoder_free(ca->ee[k]);
		X509_free(ca->cert[k]);
		EVP_PKEY_free(ca->key[k]);
	}
	free(ca);
}

int
jpki_ca_open(const char *dir, jpki_ca_t **out)
{
	static const char *const sub[2] = {"sign", "auth"};
	jpki_ca_t *ca = NULL;
	jpki_config_t *cfg = NULL;
	char path[PATH_MAX], uri[PATH_MAX + 16];
	const char *v;
	int64_t test;
	int k, r;

	*out = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return JPKI_ERR_NOMEM;
	if (strlen(dir) >= sizeof(ca->dir)) {
		r = JPKI_ERR_RANGE;
		goto out;
	}
	snprintf(ca->dir, sizeof(ca->dir), "%s", dir);
	if ((r = path_join(path, sizeof(path), dir, "jpki.conf")) != 0)
		goto out;
	if ((r = jpki_config_load(path, &cfg)) != 0) {
		if (r == JPKI_ERR_NOT_FOUND)
			jpki_set_detail("no CA in %s (run 'jpki-ca init' first)", dir);
		goto out;
	}
	if ((r = jpki_config_check_keys(cfg, config_keys)) != 0 ||
	    (r = jpki_config_get_int(cfg, "test", 0, 0, 1, &test)) != 0 ||
	    (r = jpki_config_get_int(cfg, "partition_size", 100000, 1, INT64_C(1) << 40,
	                             &ca->partition_size)) != 0 ||
	    (r = jpki_config_get_int(cfg, "crl_hours", 24, 1, 24 * 366, &ca->crl_hours)) != 0 ||
	    (r = jpki_config_get_int(cfg, "delta_hours", 6, 1, 24 * 366, &ca->delta_hours)) != 0)
		goto out;
	ca->test = (int)test;
	v = jpki_config_get(cfg, "base_url", "http://127.0.0.1:8080");
	snprintf(ca->base_url, sizeof(ca->base_url), "%s", v);
	v = jpki_config_get(cfg, "cps_uri", "");
	snprintf(ca->cps_uri, sizeof(ca->cps_uri), "%s", v);
	for (k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/%s/ca.pem", dir, sub[k]);
		if ((r = jpki_x509_load_cert(path, &ca->cert[k])) != 0)
			goto out;
		snprintf(path, sizeof(path), "%s/%s/ca.key", dir, sub[k]);
		if ((r = jpki_x509_load_privkey(path, &ca->key[k])) != 0)
			goto out;
		if (X509_check_private_key(ca->cert[k], ca->key[k]) != 1) {
			ERR_clear_error();
			jpki_set_detail("%s does not match %s/ca.pem", path, sub[k]);
			r = JPKI_ERR_CRYPTO;
			goto out;
		}
		if ((r = jpki_ee_encoder_new(ca->cert[k], ca->key[k], &ca->ee[k])) != 0)
			goto out;
	}
	v = jpki_config_get(cfg, "store", "sqlite:ca.db");
	if (strncmp(v, "sqlite:", 7) == 0 && v[7] != '/')
		snprintf(uri, sizeof(uri), "sqlite:%s/%s", dir, v + 7);
	else
		snprintf(uri, sizeof(uri), "%s", v);
	if ((r = jpki_store_open(uri, &ca->store)) != 0)
		goto out;
	*out = ca;
	ca = NULL;
	r = 0;
out:
	jpki_config_free(cfg);
	jpki_ca_close(ca);
	return r;
}

jpki_store_t *
jpki_ca_store(jpki_ca_t *ca)
{
	return ca->store;
}

X509 *
jpki_ca_cert(jpki_ca_t *ca, jpki_ca_kind_t kind)
{
	return ca->cert[kind == JPKI_CA_AUTH];
}

int
jpki_ca_is_test(const jpki_ca_t *ca)
{
	return ca->test;
}

const char *
jpki_ca_dir(const jpki_ca_t *ca)
{
	return ca->dir;
}

int
jpki_ca_crl_url(const jpki_ca_t *ca, jpki_ca_kind_t kind, int64_t partition, int delta,
                char *out, size_t outlen)
{
	if ((size_t)snprintf(out, outlen, "%s/crl/%s/%lld%s.crl", ca->base_url,
	                     jpki_ca_kind_name(kind), (long long)partition,
	                     delta ? "-delta" : "") >= outlen)
		return JPKI_ERR_RANGE;
	return 0;
}

int
jpki_ca_ocsp_url(const jpki_ca_t *ca, jpki_ca_kind_t kind, char *out, size_t outlen)
{
	if ((size_t)snprintf(out, outlen, "%s/ocsp/%s", ca->base_url, jpki_ca_kind_name(kind)) >= outlen)
		return JPKI_ERR_RANGE;
	return 0;
}

int
jpki_ca_crl_path(const jpki_ca_t *ca, jpki_ca_kind_t kind, int64_t partition, int delta,
                 char *out, size_t outlen)
{
	if ((size_t)snprintf(out, outlen, "%s/crl/%s/%lld%s.crl", ca->dir, jpki_ca_kind_name(kind),
	                     (long long)partition, delta ? "-delta" : "") >= outlen)
		return JPKI_ERR_RANGE;
	return 0;
}

void
jpki_issued_clear(jpki_issued_t *is)
{
	if (is == NULL)
		return;
	X509_free(is->cert);
	free(is->der);
	memset(is, 0, sizeof(*is));
}

int
jpki_ca_batch_begin(jpki_ca_t *ca)
{
	int r;

	if (ca->in_batch)
		return JPKI_ERR_STATE;
	if ((r = jpki_store_begin(ca->store)) == 0)
		ca->in_batch = 1;
	return r;
}

int
jpki_ca_batch_commit(jpki_ca_t *ca)
{
	if (!ca->in_batch)
		return JPKI_ERR_STATE;
	ca->in_batch = 0;
	return jpki_store_commit(ca->store);
}

int
jpki_ca_batch_rollback(jpki_ca_t *ca)
{
	if (!ca->in_batch)
		return JPKI_ERR_STATE;
	ca->in_batch = 0;
	return jpki_store_rollback(ca->store);
}

/* Begin a transaction unless the caller's batch holds one. */
static int
tx_begin(jpki_ca_t *ca)
{
	return ca->in_batch ? 0 : jpki_store_begin(ca->store);
}

static int
tx_end(jpki_ca_t *ca, int r)
{
	if (ca->in_batch)
		return r;
	if (r == 0)
		return jpki_store_commit(ca->store);
	jpki_store_rollback(ca->store);
	return r;
}

/* The subject's key as the certificate carries it, from either form of the
 * request; JPKI keys are RSA-2048 (spec §4). */
static int
issue_pub(const jpki_issue_req_t *req, jpki_rsa_pub_t *pub)
{
	static const uint8_t e65537[] = {0x01, 0x00, 0x01};

	memset(pub, 0, sizeof(*pub));
	if (req->pub_n != NULL) {
		if (req->pub != NULL) {
			jpki_set_detail("give the public key as pub or as pub_n, not both");
			return JPKI_ERR_INVALID_ARG;
		}
		if (req->pub_n_len != 256 || !(req->pub_n[0] & 0x80)) {
			jpki_set_detail("the public key must be RSA-2048");
			return JPKI_ERR_INVALID_ARG;
		}
		return jpki_rsa_pub_set(req->pub_n, req->pub_n_len, e65537, sizeof(e65537), pub);
	}
	if (req->pub == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (EVP_PKEY_get_base_id(req->pub) != EVP_PKEY_RSA || EVP_PKEY_get_bits(req->pub) != 2048) {
		jpki_set_detail("the public key must be RSA-2048");
		return JPKI_ERR_INVALID_ARG;
	}
	return jpki_rsa_pub_from_pkey(req->pub, pub);
}

int
jpki_ca_issue(jpki_ca_t *ca, const jpki_issue_req_t *req, jpki_issued_t *out)
{
	jpki_cert_rec_t rec;
	jpki_ee_params_t p;
	jpki_rsa_pub_t pub;
	jpki_date_t today, last;
	char crl_url[URL_MAX], ocsp_url[URL_MAX];
	int64_t seq;
	X509 *x = NULL;
	uint8_t *der = NULL;
	size_t derlen = 0;
	const unsigned char *q;
	int tries, r, in_tx = 0;
	time_t now;
	int k;

	memset(out, 0, sizeof(*out));
	memset(&rec, 0, sizeof(rec));
	memset(&p, 0, sizeof(p));
	if (req == NULL || req->person == NULL ||
	    (req->kind != JPKI_CA_SIGN && req->kind != JPKI_CA_AUTH))
		return JPKI_ERR_INVALID_ARG;
	if ((r = issue_pub(req, &pub)) != 0)
		return r;
	k = req->kind == JPKI_CA_AUTH;
	now = req->now ? req->now : jpki_now();
	jpki_date_from_time_jst(now, &today);
	if (req->kind == JPKI_CA_SIGN) {
		if ((r = jpki_person_check(req->person, &today)) != 0)
			return r;
	} else if (!jpki_date_valid(&req->person->dob) || jpki_date_cmp(&req->person->dob, &today) > 0) {
		jpki_set_detail("date of birth is not a real date in the past");
		return JPKI_ERR_DATE;
	}
	/* L4: until the 5th birthday (or 3 years for 2004-era), capped by the card. */
	if ((r = jpki_validity_last_day(req->gen, &today, &req->person->dob, req->card_expiry,
	                                &last)) != 0) {
		if (*jpki_detail() == '\0')
			jpki_set_detail("no validity period: the card expires before the issuance day");
		return r;
	}

	if ((r = tx_begin(ca)) != 0)
		return r;
	in_tx = 1;
	if ((r = jpki_store_counter_next(ca->store, k ? "issued.auth" : "issued.sign", &seq)) != 0)
		goto out;
	p.kind = req->kind;
	p.test = ca->test;
	p.not_before = now;
	p.not_after = jpki_date_end_jst(&last);
	p.person = req->kind == JPKI_CA_SIGN ? req->person : NULL;
	p.cps_uri = ca->cps_uri;
	out->partition = (seq - 1) / ca->partition_size;
	if ((r = jpki_ca_crl_url(ca, req->kind, out->partition, 0, crl_url, sizeof(crl_url))) != 0 ||
	    (r = jpki_ca_ocsp_url(ca, req->kind, ocsp_url, sizeof(ocsp_url))) != 0)
		goto out;
	p.crl_url = crl_url;
	p.ocsp_url = ocsp_url;
	if (req->kind == JPKI_CA_SIGN) {
		/* Issuance id: the JST issuance day and the CA's running number. */
		snprintf(out->cn, sizeof(out->cn), "%04d%02d%02d%012lld", today.year, today.month,
		         today.day, (long long)seq);
	} else {
		/* Opaque: nothing about the person or the order of issuance. */
		uint8_t rnd[16];
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			r = JPKI_ERR_CRYPTO;
			goto out;
		}
		jpki_serial_hex(rnd, sizeof(rnd), out->cn, sizeof(out->cn));
	}
	p.cn = out->cn;
	rec.ca = req->kind;
	rec.not_before = p.not_before;
	rec.not_after = p.not_after;
	rec.partition = out->partition;
	rec.status = JPKI_STATUS_GOOD;
	rec.reason = JPKI_REASON_NONE;
	snprintf(rec.subject_cn, sizeof(rec.subject_cn), "%s", out->cn);
	/* The store's uniqueness constraint tells a serial already used (it
	 * leaves the transaction usable): rather than a query before every
	 * issuance, sign again with a new serial in that (126-bit) rare case. */
	for (tries = 0;; tries++) {
		if ((r = random_serial(out->serial, &out->serial_len)) != 0)
			goto out;
		p.serial = out->serial;
		p.serial_len = out->serial_len;
		if ((r = jpki_x509_ee_cert(ca->ee[k], &p, &pub, &der, &derlen)) != 0)
			goto out;
		/* Parsed before it is stored: nothing fails after the insert. */
		q = der;
		if (!req->der_only && (x = d2i_X509(NULL, &q, (long)derlen)) == NULL) {
			ERR_clear_error();
			r = JPKI_ERR_CRYPTO;
			goto out;
		}
		memcpy(rec.serial, out->serial, out->serial_len);
		rec.serial_len = out->serial_len;
		rec.der = der;
		rec.der_len = derlen;
		r = jpki_store_cert_insert(ca->store, &rec);
		rec.der = NULL;
		if (r != JPKI_ERR_EXISTS)
			break;
		free(der);
		der = NULL;
		X509_free(x);
		x = NULL;
		if (tries >= 8) {
			jpki_set_detail("no unused serial in %d random draws", tries + 1);
			r = JPKI_ERR_INTERNAL;
			goto out;
		}
	}
	if (r != 0)
		goto out;
	r = 0;
out:
	if (in_tx)
		r = tx_end(ca, r);
	if (r == 0) {
		out->der = der;
		out->der_len = derlen;
		out->cert = x;
		out->not_before = p.not_before;
		out->not_after = p.not_after;
	} else {
		free(der);
		X509_free(x);
		memset(out, 0, sizeof(*out));
	}
	return r;
}

static int
change_status(jpki_ca_t *ca, jpki_ca_kind_t kind, const uint8_t *serial, size_t len,
              jpki_cert_status_t to, int reason, time_t when)
{
	jpki_cert_rec_t rec;
	char hex[2 * JPKI_SERIAL_MAX + 1];
	int r;

	memset(&rec, 0, sizeof(rec));
	jpki_serial_hex(serial, len, hex, sizeof(hex));
	if (when == 0)
		when = jpki_now();
	if ((r = tx_begin(ca)) != 0)
		return r;
	if ((r = jpki_store_cert_get(ca->store, kind, serial, len, 0, &rec)) != 0) {
		if (r == JPKI_ERR_NOT_FOUND)
			jpki_set_detail("the %s CA has issued no certificate with serial %s",
			                jpki_ca_kind_name(kind), hex);
		goto out;
	}
	switch (to) {
	case JPKI_STATUS_REVOKED:
		if (rec.status == JPKI_STATUS_REVOKED) {
			jpki_set_detail("certificate %s is already revoked (%s)", hex,
			                jpki_reason_name(rec.reason));
			r = JPKI_ERR_STATE;
			goto out;
		}
		break;
	case JPKI_STATUS_HOLD:
		if (rec.status != JPKI_STATUS_GOOD) {
			jpki_set_detail("certificate %s is %s; only a good certificate can be put on hold",
			                hex, rec.status == JPKI_STATUS_HOLD ? "already on hold" : "revoked");
			r = JPKI_ERR_STATE;
			goto out;
		}
		break;
	case JPKI_STATUS_GOOD:
		/* L8: only the authentication certificate's hold can be lifted. */
		if (kind == JPKI_CA_SIGN) {
			jpki_set_detail("certificate %s", hex);
			r = JPKI_ERR_RELEASE_SIGN;
			goto out;
		}
		if (rec.status != JPKI_STATUS_HOLD) {
			jpki_set_detail("certificate %s is not on hold", hex);
			r = JPKI_ERR_STATE;
			goto out;
		}
		break;
	}
	r = jpki_store_cert_set_status(ca->store, kind, serial, len, to, reason, (int64_t)when, NULL);
out:
	jpki_cert_rec_clear(&rec);
	return tx_end(ca, r);
}

int
jpki_ca_revoke(jpki_ca_t *ca, jpki_ca_kind_t kind, const uint8_t *serial, size_t len,
               int reason, time_t when)
{
	/* spec §5: the service never writes unspecified; hold has its own verb. */
	switch (reason) {
	case JPKI_REASON_KEY_COMPROMISE:
	case JPKI_REASON_CA_COMPROMISE:
	case JPKI_REASON_AFFILIATION_CHANGED:
	case JPKI_REASON_SUPERSEDED:
	case JPKI_REASON_CESSATION:
		break;
	default:
		jpki_set_detail("reason '%s' cannot be used to revoke", jpki_reason_name(reason));
		return JPKI_ERR_INVALID_ARG;
	}
	return change_status(ca, kind, serial, len, JPKI_STATUS_REVOKED, reason, when);
}

int
jpki_ca_hold(jpki_ca_t *ca, jpki_ca_kind_t kind, const uint8_t *serial, size_t len, time_t when)
{
	return change_status(ca, kind, serial, len, JPKI_STATUS_HOLD,
	                     JPKI_REASON_CERTIFICATE_HOLD, when);
}

int
jpki_ca_release(jpki_ca_t *ca, jpki_ca_kind_t kind, const uint8_t *serial, size_t len, time_t when)
{
	return change_status(ca, kind, serial, len, JPKI_STATUS_GOOD, JPKI_REASON_NONE, when);
}

struct crl_ctx {
	jpki_crl_builder_t *b;
	int delta;
	time_t now;
};

static int
crl_entry(void *vctx, const jpki_cert_rec_t *rec)
{
	struct crl_ctx *c = vctx;
	time_t when = rec->status_time ? (time_t)rec->status_time : c->now;

	if (rec->status == JPKI_STATUS_GOOD) {
		/* A released hold: in a delta CRL it is removed from the base (spec §5). */
		if (!c->delta)
			return 0;
		return jpki_crl_builder_add(c->b, rec->serial, rec->serial_len, when,
		                            JPKI_REASON_REMOVE_FROM_CRL);
	}
	return jpki_crl_builder_add(c->b, rec->serial, rec->serial_len, when, rec->reason);
}

/* The CRLNumber of the CRL file now published for (kind, partition, delta);
 * 0 when there is none or it cannot be read (publishing replaces it anyway).
 * The file is mapped, not read: only its head and its extensions at the end
 * are touched, however many entries lie between. */
static int64_t
published_crl_number(const jpki_ca_t *ca, jpki_ca_kind_t kind, int64_t partition, int delta)
{
	char path[PATH_MAX];
	struct stat sb;
	int64_t n = 0;
	void *m;
	int fd;

	if (jpki_ca_crl_path(ca, kind, partition, delta, path, sizeof(path)) != 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
	    (uint64_t)sb.st_size <= ((uint64_t)1 << 34)) {
		m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			if (jpki_crl_number_read(m, (size_t)sb.st_size, &n) != 0)
				n = 0;
			munmap(m, (size_t)sb.st_size);
		}
	}
	close(fd);
	return n;
}

int
jpki_ca_publish_crl(jpki_ca_t *ca, jpki_ca_kind_t kind, int64_t partition, int delta, time_t now,
                    jpki_crl_rec_t *out)
{
	jpki_crl_rec_t rec, base;
	jpki_crl_params_t p;
	struct crl_ctx c;
	char idp[URL_MAX], fresh[URL_MAX], path[PATH_MAX], dir[PATH_MAX + 64];
	int k = kind == JPKI_CA_AUTH, r, in_tx = 0;
	int64_t floor, pub;

	memset(&rec, 0, sizeof(rec));
	memset(&base, 0, sizeof(base));
	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (partition < 0)
		return JPKI_ERR_INVALID_ARG;
	if (now == 0)
		now = jpki_now();
	if ((r = jpki_crl_builder_new(ca->cert[k], &c.b)) != 0)
		return r;
	c.delta = delta;
	c.now = now;
	if ((r = tx_begin(ca)) != 0)
		goto out;
	in_tx = 1;
	if (delta) {
		if ((r = jpki_store_crl_latest(ca->store, kind, partition, 0, 0, &base)) != 0) {
			if (r == JPKI_ERR_NOT_FOUND) {
				jpki_set_detail("partition %lld of the %s CA has no full CRL yet",
				                (long long)partition, jpki_ca_kind_name(kind));
				r = JPKI_ERR_STATE;
			}
			goto out;
		}
	}
	/* One CRLNumber sequence per CA, shared by full and delta CRLs (RFC 5280
	 * 5.2.3), and never behind what relying parties already hold: after the
	 * store is restored from an older backup its counter is behind the files
	 * published since, so the next number is also above theirs. */
	floor = published_crl_number(ca, kind, partition, 0);
	if ((pub = published_crl_number(ca, kind, partition, 1)) > floor)
		floor = pub;
	if ((r = jpki_store_counter_next_above(ca->store, k ? "crl_number.auth" : "crl_number.sign",
	                                       floor, &rec.number)) != 0 ||
	    (r = jpki_store_event_seq(ca->store, &rec.event_seq)) != 0)
		goto out;
	if (delta) {
		r = jpki_store_foreach_changed(ca->store, kind, partition, base.event_seq, crl_entry, &c);
	} else {
		/* At most every certificate of the partition: size the buffer once. */
		int64_t n = 0;
		if ((r = jpki_store_partition_count(ca->store, kind, partition, &n)) != 0 ||
		    (r = jpki_crl_builder_reserve(c.b, (size_t)n)) != 0)
			goto out;
		r = jpki_store_foreach_listed(ca->store, kind, partition, crl_entry, &c);
	}
	if (r != 0)
		goto out;
	if ((r = jpki_ca_crl_url(ca, kind, partition, 0, idp, sizeof(idp))) != 0 ||
	    (r = jpki_ca_crl_url(ca, kind, partition, 1, fresh, sizeof(fresh))) != 0)
		goto out;
	rec.ca = kind;
	rec.partition = partition;
	rec.is_delta = delta;
	rec.base_number = delta ? base.number : 0;
	rec.this_update = now;
	rec.next_update = now + 3600 * (delta ? ca->delta_hours : ca->crl_hours);
	p.number = rec.number;
	p.delta_base = rec.base_number;
	p.this_update = now;
	p.next_update = (time_t)rec.next_update;
	p.idp_url = idp;
	p.freshest_url = delta ? NULL : fresh;
	if ((r = jpki_crl_builder_finish(c.b, &p, ca->key[k], &rec.der, &rec.der_len)) != 0)
		goto out;
	if ((r = jpki_store_crl_save(ca->store, &rec)) != 0)
		goto out;
	r = tx_end(ca, 0);
	in_tx = 0;
	if (r != 0)
		goto out;
	/* The store has it; now the file, whole or not at all. */
	snprintf(dir, sizeof(dir), "%s/crl/%s", ca->dir, jpki_ca_kind_name(kind));
	if ((r = jpki_file_mkdirs(dir, 0755)) != 0 ||
	    (r = jpki_ca_crl_path(ca, kind, partition, delta, path, sizeof(path))) != 0 ||
	    (r = jpki_file_write_atomic(path, rec.der, rec.der_len, 0644)) != 0)
		goto out;
	if (out != NULL) {
		*out = rec;
		out->der = NULL;
		out->der_len = 0;
	}
	r = 0;
out:
	if (in_tx)
		r = tx_end(ca, r);
	jpki_crl_rec_clear(&rec);
	jpki_crl_rec_clear(&base);
	jpki_crl_builder_free(c.b);
	return r;
}

int
jpki_ca_publish_all(jpki_ca_t *ca, time_t now, int *count)
{
	int64_t *parts = NULL;
	size_t n = 0, i;
	int k, r = 0;

	*count = 0;
	for (k = 0; k < 2 && r == 0; k++) {
		jpki_ca_kind_t kind = (jpki_ca_kind_t)k;
		free(parts);
		parts = NULL;
		if ((r = jpki_store_partitions(ca->store, kind, &parts, &n)) != 0)
			break;
		if (n == 0) {
			/* An empty CA still publishes partition 0, so relying parties find a CRL. */
			free(parts);
			if ((parts = malloc(sizeof(*parts))) == NULL) {
				r = JPKI_ERR_NOMEM;
				break;
			}
			parts[0] = 0;
			n = 1;
		}
		for (i = 0; i < n && r == 0; i++) {
			if ((r = jpki_ca_publish_crl(ca, kind, parts[i], 0, now, NULL)) != 0)
				break;
			(*count)++;
			if ((r = jpki_ca_publish_crl(ca, kind, parts[i], 1, now, NULL)) != 0)
				break;
			(*count)++;
		}
	}
	free(parts);
	return r;
}
