/*
 * The card state file: everything a card keeps across power cycles.
 *
 * Format, version 1 (all integers big-endian):
 *
 *   offset 0   magic    "JPKICARD" (8 bytes)
 *          8   version  u16 = 1
 *         10   length   u32 = N, the byte count of the records
 *         14   records  N bytes: { tag u8, len u16, value[len] } ...
 *     14 + N   checksum SHA-256 over bytes [0, 14 + N)
 *
 * and the file is exactly 14 + N + 32 bytes.  Records (each at most once;
 * per FID for the last three):
 *
 *   0x01 KIND    u8: 0 My Number card, 1 2004-era card        (required)
 *   0x02 SALT    32 random bytes, per card, for the PIN hashes (required)
 *   0x03 ISSUER  the issuer's ECDSA P-256 SubjectPublicKeyInfo (required)
 *   0x10 EF      u16 FID (0001/0002/000A/000B) || DER content (1..4096 bytes)
 *   0x20 PIN     u16 FID (0018/001B) || u8 tries left || SHA-256 hash (32)
 *   0x30 KEY     u16 FID (0017/001A) || RSAPrivateKey DER (RSA-2048)
 *
 * An absent EF/PIN/KEY record means: empty EF, PIN not set, no key.
 *
 * PINs are never stored in clear: the file holds
 * SHA-256("JPKI-PIN-V1" || salt || FID || len || PIN padded to 16 bytes with 0).
 * The hash keeps the PIN out of backups and logs; it is no defence against
 * someone who has the file, who holds the private keys anyway (the file is
 * the card's secure memory and must stay 0600).
 *
 * Writing is atomic (temp file in the same directory, O_CREAT|O_EXCL 0600,
 * fsync, rename over, fsync the directory), so after a power cut the file is
 * either the old state or the new one, never a mixture (spec §3, L9: the
 * try counter must survive).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "card/card_int.h"
#include "jpki/error.h"

#define CARDFILE_MAGIC "JPKICARD"
#define CARDFILE_MAGIC_LEN 8
#define CARDFILE_VERSION 1
#define CARDFILE_HDR_LEN 14

enum {
	TAG_KIND = 0x01,
	TAG_SALT = 0x02,
	TAG_ISSUER = 0x03,
	TAG_EF = 0x10,
	TAG_PIN = 0x20,
	TAG_KEY = 0x30
};

static const uint16_t cert_fids[CERT_N] = {
	JPKI_EF_SIGN_CERT, JPKI_EF_SIGN_CA, JPKI_EF_AUTH_CERT, JPKI_EF_AUTH_CA
};
static const uint16_t pin_fids[PIN_N] = {JPKI_EF_AUTH_PIN, JPKI_EF_SIGN_PIN};
static const uint16_t key_fids[PIN_N] = {JPKI_EF_AUTH_KEY, JPKI_EF_SIGN_KEY};
static const uint8_t pin_max_tries[PIN_N] = {JPKI_AUTH_PIN_TRIES, JPKI_SIGN_PIN_TRIES};

void
jpki_card_hook(jpki_card_t *card, const char *step)
{
	if (card != NULL && card->hook != NULL)
		card->hook(step, card->hook_arg);
}

void
jpki_card_set_hook(jpki_card_t *card, jpki_card_hook_fn fn, void *arg)
{
	card->hook = fn;
	card->hook_arg = arg;
}

void
jpki_card_set_nosync(jpki_card_t *card, int nosync)
{
	card->nosync = nosync;
}

void
jpki_card_free(jpki_card_t *card)
{
	int i;

	if (card == NULL)
		return;
	for (i = 0; i < CERT_N; i++)
		free(card->certs[i].data);
	for (i = 0; i < PIN_N; i++) {
		EVP_PKEY_free(card->keys[i]);
		if (card->key_der[i] != NULL) {
			OPENSSL_cleanse(card->key_der[i], card->key_der_len[i]);
			free(card->key_der[i]);
		}
	}
	EVP_PKEY_free(card->issuer_pub);
	free(card->issuer_pub_der);
	free(card->path);
	/* Wipes the salt, the PIN hashes and the issuer challenge. */
	OPENSSL_cleanse(card, sizeof(*card));
	free(card);
}

/* Decode and check the issuer key: an EC P-256 SPKI, consumed exactly. */
static int
issuer_key_decode(const uint8_t *der, size_t len, EVP_PKEY **out)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = NULL;
	char group[64];
	size_t glen = 0;
	int r = JPKI_ERR_FORMAT;

	*out = NULL;
	if (der == NULL || len == 0 || len > JPKI_ISSUER_PUB_MAX)
		goto out;
	if ((pk = d2i_PUBKEY(NULL, &p, (long)len)) == NULL || p != der + len)
		goto out;
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC)
		goto out;
	if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
	                                    group, sizeof(group), &glen) ||
	    strcmp(group, "prime256v1") != 0)
		goto out;
	*out = pk;
	pk = NULL;
	r = 0;
out:
	EVP_PKEY_free(pk);
	return r;
}

/* Decode a stored private key: RSAPrivateKey DER of RSA-2048, consumed exactly. */
static int
rsa_key_decode(const uint8_t *der, size_t len, EVP_PKEY **out)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = NULL;
	int r = JPKI_ERR_FORMAT;

	*out = NULL;
	if (len == 0 || len > JPKI_KEY_DER_MAX)
		goto out;
	if ((pk = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len)) == NULL ||
	    p != der + len)
		goto out;
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA || EVP_PKEY_get_bits(pk) != 2048)
		goto out;
	*out = pk;
	pk = NULL;
	r = 0;
out:
	EVP_PKEY_free(pk);
	return r;
}

int
jpki_card_new_mem(jpki_card_kind_t kind, const uint8_t *issuer_pub_der,
                  size_t issuer_pub_len, jpki_card_t **out)
{
	jpki_card_t *card = NULL;
	int r = JPKI_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (kind != JPKI_CARD_MYNUMBER && kind != JPKI_CARD_2004)) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((card = calloc(1, sizeof(*card))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	card->kind = kind;
	if ((r = issuer_key_decode(issuer_pub_der, issuer_pub_len, &card->issuer_pub)) != 0) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((card->issuer_pub_der = malloc(issuer_pub_len)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	memcpy(card->issuer_pub_der, issuer_pub_der, issuer_pub_len);
	card->issuer_pub_len = issuer_pub_len;
	if (RAND_bytes(card->salt, sizeof(card->salt)) != 1) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	*out = card;
	card = NULL;
	r = 0;
out:
	jpki_card_free(card);
	return r;
}

int
jpki_card_set_key(jpki_card_t *card, int i, EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	uint8_t *copy = NULL;
	int n = 0, r = JPKI_ERR_INTERNAL;

	if (card == NULL || pk == NULL || i < 0 || i >= PIN_N) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA || EVP_PKEY_get_bits(pk) != 2048) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((n = i2d_PrivateKey(pk, &der)) <= 0 || n > JPKI_KEY_DER_MAX) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	/* A copy in plain malloc'd memory, like the rest of the card's buffers. */
	if ((copy = malloc((size_t)n)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	memcpy(copy, der, (size_t)n);
	EVP_PKEY_free(card->keys[i]);
	if (card->key_der[i] != NULL) {
		OPENSSL_cleanse(card->key_der[i], card->key_der_len[i]);
		free(card->key_der[i]);
	}
	card->keys[i] = pk;
	card->key_der[i] = copy;
	card->key_der_len[i] = (size_t)n;
	copy = NULL;
	r = 0;
out:
	if (der != NULL && n > 0)
		OPENSSL_clear_free(der, (size_t)n);
	return r;
}

int
jpki_card_dup(const jpki_card_t *src, jpki_card_t **out)
{
	jpki_card_t *card = NULL;
	int i, r = JPKI_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (src == NULL || out == NULL) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((card = calloc(1, sizeof(*card))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	/* Scalars and fixed arrays first; then every pointer is replaced below. */
	*card = *src;
	card->issuer_pub_der = NULL;
	card->issuer_pub = NULL;
	card->path = NULL;
	card->hook = NULL;
	card->hook_arg = NULL;
	for (i = 0; i < CERT_N; i++)
		card->certs[i].data = NULL;
	for (i = 0; i < PIN_N; i++) {
		card->keys[i] = NULL;
		card->key_der[i] = NULL;
	}
	r = JPKI_ERR_NOMEM;
	if ((card->issuer_pub_der = malloc(src->issuer_pub_len)) == NULL)
		goto out;
	memcpy(card->issuer_pub_der, src->issuer_pub_der, src->issuer_pub_len);
	if (EVP_PKEY_up_ref(src->issuer_pub) != 1) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	card->issuer_pub = src->issuer_pub;
	for (i = 0; i < CERT_N; i++) {
		if (src->certs[i].len == 0)
			continue;
		if ((card->certs[i].data = malloc(src->certs[i].len)) == NULL) {
			card->certs[i].len = 0;
			goto out;
		}
		memcpy(card->certs[i].data, src->certs[i].data, src->certs[i].len);
	}
	for (i = 0; i < PIN_N; i++) {
		if (src->keys[i] == NULL)
			continue;
		if ((card->key_der[i] = malloc(src->key_der_len[i])) == NULL)
			goto out;
		memcpy(card->key_der[i], src->key_der[i], src->key_der_len[i]);
		if (EVP_PKEY_up_ref(src->keys[i]) != 1) {
			r = JPKI_ERR_CRYPTO;
			goto out;
		}
		card->keys[i] = src->keys[i];
	}
	*out = card;
	card = NULL;
	r = 0;
out:
	jpki_card_free(card);
	return r;
}

static int
put_record(jpki_buf_t *b, uint8_t tag, uint16_t fid, int with_fid,
           const uint8_t *v1, size_t n1, const uint8_t *v2, size_t n2)
{
	size_t len = (with_fid ? 2 : 0) + n1 + n2;
	int r;

	if (len > 0xFFFF)
		return JPKI_ERR_TOO_LARGE;
	if ((r = jpki_buf_put_u8(b, tag)) != 0 ||
	    (r = jpki_buf_put_u16be(b, (uint16_t)len)) != 0)
		return r;
	if (with_fid && (r = jpki_buf_put_u16be(b, fid)) != 0)
		return r;
	if ((r = jpki_buf_put(b, v1, n1)) != 0 || (r = jpki_buf_put(b, v2, n2)) != 0)
		return r;
	return 0;
}

int
jpki_card_serialize(const jpki_card_t *card, jpki_buf_t *b)
{
	uint8_t kind = (uint8_t)card->kind, md[SHA256_DIGEST_LENGTH];
	size_t start = b->len, lenpos;
	int i, r = JPKI_ERR_INTERNAL;

	if ((r = jpki_buf_put(b, CARDFILE_MAGIC, CARDFILE_MAGIC_LEN)) != 0 ||
	    (r = jpki_buf_put_u16be(b, CARDFILE_VERSION)) != 0)
		goto out;
	lenpos = b->len;
	if ((r = jpki_buf_put_u32be(b, 0)) != 0)
		goto out;
	if ((r = put_record(b, TAG_KIND, 0, 0, &kind, 1, NULL, 0)) != 0 ||
	    (r = put_record(b, TAG_SALT, 0, 0, card->salt, sizeof(card->salt), NULL, 0)) != 0 ||
	    (r = put_record(b, TAG_ISSUER, 0, 0, card->issuer_pub_der,
	                    card->issuer_pub_len, NULL, 0)) != 0)
		goto out;
	for (i = 0; i < CERT_N; i++) {
		if (card->certs[i].len == 0)
			continue;
		if ((r = put_record(b, TAG_EF, cert_fids[i], 1, card->certs[i].data,
		                    card->certs[i].len, NULL, 0)) != 0)
			goto out;
	}
	for (i = 0; i < PIN_N; i++) {
		if (!card->pins[i].set)
			continue;
		if ((r = put_record(b, TAG_PIN, pin_fids[i], 1, &card->pins[i].tries, 1,
		                    card->pins[i].hash, sizeof(card->pins[i].hash))) != 0)
			goto out;
	}
	for (i = 0; i < PIN_N; i++) {
		if (card->keys[i] == NULL)
			continue;
		if ((r = put_record(b, TAG_KEY, key_fids[i], 1, card->key_der[i],
		                    card->key_der_len[i], NULL, 0)) != 0)
			goto out;
	}
	{
		size_t body = b->len - lenpos - 4;
		b->data[lenpos] = (uint8_t)(body >> 24);
		b->data[lenpos + 1] = (uint8_t)(body >> 16);
		b->data[lenpos + 2] = (uint8_t)(body >> 8);
		b->data[lenpos + 3] = (uint8_t)body;
	}
	SHA256(b->data + start, b->len - start, md);
	if ((r = jpki_buf_put(b, md, sizeof(md))) != 0)
		goto out;
	r = 0;
out:
	return r;
}

/* Which index of fids[] is fid, or -1. */
static int
fid_index(const uint16_t *fids, int n, uint16_t fid)
{
	int i;

	for (i = 0; i < n; i++)
		if (fids[i] == fid)
			return i;
	return -1;
}

int
jpki_card_parse(const uint8_t *p, size_t len, jpki_card_t **out)
{
	jpki_card_t *card = NULL;
	jpki_rd_t rd, rec;
	uint8_t md[SHA256_DIGEST_LENGTH], tag, u8v;
	uint16_t version, rlen, fid;
	uint32_t body;
	const uint8_t *v;
	int seen_kind = 0, seen_salt = 0, i, r = JPKI_ERR_FORMAT;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (p == NULL && len != 0)) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if (len > JPKI_CARD_FILE_MAX)
		goto out;
	jpki_rd_init(&rd, p, len);
	if (jpki_rd_bytes(&rd, CARDFILE_MAGIC_LEN, &v) != 0 ||
	    memcmp(v, CARDFILE_MAGIC, CARDFILE_MAGIC_LEN) != 0)
		goto out;
	if (jpki_rd_u16be(&rd, &version) != 0)
		goto out;
	if (version != CARDFILE_VERSION) {
		r = JPKI_ERR_VERSION;
		goto out;
	}
	/* The length must account for the file exactly: records + checksum. */
	if (jpki_rd_u32be(&rd, &body) != 0 || jpki_rd_left(&rd) < SHA256_DIGEST_LENGTH ||
	    body != jpki_rd_left(&rd) - SHA256_DIGEST_LENGTH)
		goto out;
	SHA256(p, CARDFILE_HDR_LEN + (size_t)body, md);
	if (CRYPTO_memcmp(md, p + CARDFILE_HDR_LEN + body, sizeof(md)) != 0)
		goto out;

	if ((card = calloc(1, sizeof(*card))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	jpki_rd_init(&rd, p + CARDFILE_HDR_LEN, body);
	while (jpki_rd_left(&rd) > 0) {
		if (jpki_rd_u8(&rd, &tag) != 0 || jpki_rd_u16be(&rd, &rlen) != 0 ||
		    jpki_rd_bytes(&rd, rlen, &v) != 0)
			goto out;
		jpki_rd_init(&rec, v, rlen);
		switch (tag) {
		case TAG_KIND:
			if (seen_kind || rlen != 1 || v[0] > JPKI_CARD_2004)
				goto out;
			card->kind = (jpki_card_kind_t)v[0];
			seen_kind = 1;
			break;
		case TAG_SALT:
			if (seen_salt || rlen != JPKI_CARD_SALT_LEN)
				goto out;
			memcpy(card->salt, v, JPKI_CARD_SALT_LEN);
			seen_salt = 1;
			break;
		case TAG_ISSUER:
			if (card->issuer_pub != NULL ||
			    issuer_key_decode(v, rlen, &card->issuer_pub) != 0)
				goto out;
			if ((card->issuer_pub_der = malloc(rlen)) == NULL) {
				r = JPKI_ERR_NOMEM;
				goto out;
			}
			memcpy(card->issuer_pub_der, v, rlen);
			card->issuer_pub_len = rlen;
			break;
		case TAG_EF:
			if (jpki_rd_u16be(&rec, &fid) != 0 ||
			    (i = fid_index(cert_fids, CERT_N, fid)) < 0 ||
			    card->certs[i].data != NULL || jpki_rd_left(&rec) == 0 ||
			    jpki_rd_left(&rec) > JPKI_CARD_EF_MAX)
				goto out;
			card->certs[i].len = jpki_rd_left(&rec);
			if ((card->certs[i].data = malloc(card->certs[i].len)) == NULL) {
				card->certs[i].len = 0;
				r = JPKI_ERR_NOMEM;
				goto out;
			}
			if (jpki_rd_copy(&rec, card->certs[i].data, card->certs[i].len) != 0)
				goto out;
			break;
		case TAG_PIN:
			if (jpki_rd_u16be(&rec, &fid) != 0 ||
			    (i = fid_index(pin_fids, PIN_N, fid)) < 0 || card->pins[i].set ||
			    jpki_rd_u8(&rec, &u8v) != 0 || u8v > pin_max_tries[i] ||
			    jpki_rd_copy(&rec, card->pins[i].hash, JPKI_PIN_HASH_LEN) != 0 ||
			    jpki_rd_left(&rec) != 0)
				goto out;
			card->pins[i].tries = u8v;
			card->pins[i].set = 1;
			break;
		case TAG_KEY:
			if (jpki_rd_u16be(&rec, &fid) != 0 ||
			    (i = fid_index(key_fids, PIN_N, fid)) < 0 || card->keys[i] != NULL ||
			    jpki_rd_bytes(&rec, jpki_rd_left(&rec), &v) != 0 ||
			    rsa_key_decode(v, (size_t)rlen - 2, &card->keys[i]) != 0)
				goto out;
			if ((card->key_der[i] = malloc((size_t)rlen - 2)) == NULL) {
				r = JPKI_ERR_NOMEM;
				goto out;
			}
			memcpy(card->key_der[i], v, (size_t)rlen - 2);
			card->key_der_len[i] = (size_t)rlen - 2;
			break;
		default:
			/* A version-1 file has no other records: this is damage. */
			goto out;
		}
	}
	if (!seen_kind || !seen_salt || card->issuer_pub == NULL)
		goto out;
	*out = card;
	card = NULL;
	r = 0;
out:
	jpki_card_free(card);
	OPENSSL_cleanse(md, sizeof(md));
	return r;
}

/* Read a whole file of at most max bytes. */
static int
read_file(const char *path, size_t max, jpki_buf_t *b)
{
	struct stat st;
	uint8_t chunk[4096];
	ssize_t n;
	int fd = -1, r = JPKI_ERR_INTERNAL;

	/* O_NONBLOCK: a FIFO in place of the file must not hang the load. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		r = errno == ENOENT ? JPKI_ERR_NOT_FOUND : JPKI_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = JPKI_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = JPKI_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		/* The file may have grown since fstat: the buffer's max stops it. */
		if (jpki_buf_put(b, chunk, (size_t)n) != 0) {
			r = JPKI_ERR_FORMAT;
			goto out;
		}
	}
	r = 0;
out:
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (fd >= 0)
		close(fd);
	return r;
}

int
jpki_card_load(const char *path, jpki_card_t **out)
{
	jpki_buf_t b;
	jpki_card_t *card = NULL;
	int r = JPKI_ERR_INTERNAL;

	jpki_buf_init(&b, JPKI_CARD_FILE_MAX);
	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((r = read_file(path, JPKI_CARD_FILE_MAX, &b)) != 0)
		goto out;
	if ((r = jpki_card_parse(b.data, b.len, &card)) != 0)
		goto out;
	if ((card->path = strdup(path)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	*out = card;
	card = NULL;
	r = 0;
out:
	jpki_card_free(card);
	jpki_buf_free(&b); /* wipes: the image holds private keys */
	return r;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return JPKI_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync the directory holding path, so that a rename or create is durable. */
static int
sync_dir(const char *path)
{
	char *dir = NULL, *slash;
	int fd = -1, r = JPKI_ERR_INTERNAL;

	if ((dir = strdup(path)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == NULL) {
		strcpy(dir, ".");
	} else if (slash == dir) {
		dir[1] = '\0';
	} else {
		*slash = '\0';
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		r = JPKI_ERR_IO;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

int
jpki_card_save(jpki_card_t *card)
{
	jpki_buf_t b;
	char *tmp = NULL;
	size_t plen;
	int fd = -1, r = JPKI_ERR_INTERNAL;

	jpki_buf_init(&b, JPKI_CARD_FILE_MAX);
	if (card == NULL) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if (card->path == NULL) {
		r = 0;
		goto out;
	}
	if ((r = jpki_card_serialize(card, &b)) != 0)
		goto out;
	/* The temp file is in the same directory so that rename() is atomic. */
	plen = strlen(card->path);
	if ((tmp = malloc(plen + sizeof(".tmp-XXXXXX"))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	memcpy(tmp, card->path, plen);
	memcpy(tmp + plen, ".tmp-XXXXXX", sizeof(".tmp-XXXXXX"));
	/* mkostemp: O_CREAT|O_EXCL, mode 0600 (habit 6). */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		free(tmp);
		tmp = NULL;
		r = JPKI_ERR_IO;
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || (r = write_all(fd, b.data, b.len)) != 0 ||
	    (!card->nosync && fsync(fd) != 0)) {
		r = JPKI_ERR_IO;
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = JPKI_ERR_IO;
		goto out;
	}
	fd = -1;
	jpki_card_hook(card, "save:tmp-written");
	if (rename(tmp, card->path) != 0) {
		r = JPKI_ERR_IO;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	jpki_card_hook(card, "save:renamed");
	if (!card->nosync && (r = sync_dir(card->path)) != 0)
		goto out;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	jpki_buf_free(&b);
	return r;
}

int
jpki_card_create(const char *path, jpki_card_kind_t kind,
                 const uint8_t *issuer_pub_der, size_t issuer_pub_len)
{
	jpki_card_t *card = NULL;
	jpki_buf_t b;
	int fd = -1, created = 0, r = JPKI_ERR_INTERNAL;

	jpki_buf_init(&b, JPKI_CARD_FILE_MAX);
	if (path == NULL) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((r = jpki_card_new_mem(kind, issuer_pub_der, issuer_pub_len, &card)) != 0 ||
	    (r = jpki_card_serialize(card, &b)) != 0)
		goto out;
	/* O_EXCL on the final path: creating a card never overwrites one. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		r = errno == EEXIST ? JPKI_ERR_EXISTS : JPKI_ERR_IO;
		goto out;
	}
	created = 1;
	if (fchmod(fd, 0600) != 0 || write_all(fd, b.data, b.len) != 0 || fsync(fd) != 0) {
		r = JPKI_ERR_IO;
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r != 0 || (r = sync_dir(path)) != 0) {
		r = JPKI_ERR_IO;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r != 0 && created)
		unlink(path);
	jpki_card_free(card);
	jpki_buf_free(&b);
	return r;
}
