/*
 * libFuzzer target: the card applet (APDU codec + applet logic) and the card
 * file parser.
 *
 *   CC=clang bash scripts/build.sh build-fuzz-card -DJPKI_FUZZ=ON
 *   bash scripts/fuzz.sh build-fuzz-card 30
 *   (or one target: build-fuzz-card/fuzz_apdu fuzz/corpus/fuzz_apdu)
 *
 * Input, APDU mode: a sequence of records { u16be len, len bytes }:
 *   len 0x0000  authenticate as the issuer (GET CHALLENGE, ECDSA signature,
 *               EXTERNAL AUTHENTICATE), so that issuer commands are reachable
 *   len 0xFFFF  jpki_card_reset() (a power cycle)
 *   otherwise   one command APDU of len bytes, sent as is (may be malformed)
 * run against a fresh in-memory copy of a personalized card (auth PIN 1234,
 * signing password ABC123, both keys, certificate EFs), so state never leaks
 * between inputs (jpki_card_dup: the RSA key objects are shared, not decoded
 * again).  The RSA keys are generated once at startup; GENERATE KEY
 * PAIR commands are skipped (2048-bit generation per input would make the
 * fuzzer crawl).  The in-memory card has no file: nothing is written or
 * fsync'ed.  After the sequence the card's state is serialized; when it
 * changed, it is parsed back and serialized again, and both images must agree.
 *
 * Input, card file mode: an input starting with "JPKICARD" is a card file
 * image, parsed as is, and a second time with its length field and SHA-256
 * checksum fixed up so that mutations reach the record parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "card/card_int.h"
#include "jpki/buf.h"
#include "jpki/card.h"
#include "jpki/error.h"

#define MAX_APDUS 64

static jpki_card_t *g_card;     /* the personalized card */
static uint8_t *g_image;        /* ... serialized */
static size_t g_image_len;
static EVP_PKEY *g_issuer;      /* the issuing side's key */

static int
send(jpki_card_t *c, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t *rlen)
{
	int r = jpki_card_apdu(c, cmd, n, rsp, rlen);

	/* An in-memory card never fails to save: it must always answer. */
	if (r != 0 || *rlen < 2 || *rlen > JPKI_RAPDU_MAX)
		abort();
	return (rsp[*rlen - 2] << 8) | rsp[*rlen - 1];
}

static int
issuer_auth(jpki_card_t *c)
{
	static const uint8_t getch[] = {0x00, 0x84, 0x00, 0x00, 0x08};
	uint8_t rsp[JPKI_RAPDU_MAX], msg[24], cmd[5 + 128];
	size_t rlen, siglen = 128;
	EVP_MD_CTX *m = NULL;
	int sw = -1;

	if (send(c, getch, sizeof(getch), rsp, &rlen) != 0x9000)
		goto out;
	memcpy(msg, "JPKI-ISSUER-AUTH", 16);
	memcpy(msg + 16, rsp, 8);
	if ((m = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, g_issuer) != 1 ||
	    EVP_DigestSign(m, cmd + 5, &siglen, msg, sizeof(msg)) != 1)
		abort();
	memcpy(cmd, "\x00\x82\x00\x00", 4);
	cmd[4] = (uint8_t)siglen;
	sw = send(c, cmd, 5 + siglen, rsp, &rlen);
out:
	EVP_MD_CTX_free(m);
	return sw;
}

static void
must(jpki_card_t *c, const char *hex)
{
	uint8_t cmd[300], rsp[JPKI_RAPDU_MAX];
	size_t n = 0, rlen;
	unsigned v;

	while (hex[0] && hex[1]) {
		char t[3] = {hex[0], hex[1], 0};
		v = (unsigned)strtoul(t, NULL, 16);
		cmd[n++] = (uint8_t)v;
		hex += 2;
	}
	if (send(c, cmd, n, rsp, &rlen) != 0x9000)
		abort();
}

/* Write bytes into the selected EF with UPDATE BINARY. */
static void
fill_ef(jpki_card_t *c, size_t len, uint8_t fill)
{
	uint8_t cmd[5 + 200], rsp[JPKI_RAPDU_MAX];
	size_t off, n, rlen;

	for (off = 0; off < len; off += n) {
		n = len - off > 200 ? 200 : len - off;
		cmd[0] = 0x00;
		cmd[1] = 0xD6;
		cmd[2] = (uint8_t)(off >> 8);
		cmd[3] = (uint8_t)off;
		cmd[4] = (uint8_t)n;
		memset(cmd + 5, fill, n);
		if (off == 0 && n >= 4) {   /* looks like a DER SEQUENCE of len bytes */
			cmd[5] = 0x30;
			cmd[6] = 0x82;
			cmd[7] = (uint8_t)((len - 4) >> 8);
			cmd[8] = (uint8_t)(len - 4);
		}
		if (send(c, cmd, 5 + n, rsp, &rlen) != 0x9000)
			abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	jpki_card_t *c = NULL;
	unsigned char *spki = NULL;
	jpki_buf_t b;
	int n;

	if ((g_issuer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (n = i2d_PUBKEY(g_issuer, &spki)) <= 0 ||
	    jpki_card_new_mem(JPKI_CARD_MYNUMBER, spki, (size_t)n, &c) != 0)
		abort();
	must(c, "00A4040C0AD392F000260100000001");
	if (issuer_auth(c) != 0x9000)
		abort();
	must(c, "00A4020C020001");
	fill_ef(c, 1200, 0x11);
	must(c, "00A4020C020002");
	fill_ef(c, 900, 0x22);
	must(c, "00A4020C02000A");
	fill_ef(c, 1000, 0x33);
	must(c, "00A4020C02000B");
	fill_ef(c, 900, 0x44);
	must(c, "00A4020C020017");
	must(c, "0046000000");
	must(c, "00A4020C02001A");
	must(c, "0046000000");
	must(c, "00A4020C020018");
	must(c, "002C02800431323334");                /* 1234 */
	must(c, "00A4020C02001B");
	must(c, "002C028006414243313233");            /* ABC123 */
	jpki_buf_init(&b, JPKI_CARD_FILE_MAX);
	if (jpki_card_serialize(c, &b) != 0 || jpki_buf_steal(&b, &g_image, &g_image_len) != 0)
		abort();
	jpki_buf_free(&b);
	g_card = c;
	OPENSSL_free(spki);
	return 0;
}

/* Serialize, parse back, serialize again: the two images must agree.  A
 * state equal to the starting image was checked at startup already. */
static void
roundtrip(const jpki_card_t *c)
{
	jpki_buf_t b1, b2;
	jpki_card_t *d = NULL;

	jpki_buf_init(&b1, JPKI_CARD_FILE_MAX);
	jpki_buf_init(&b2, JPKI_CARD_FILE_MAX);
	if (jpki_card_serialize(c, &b1) != 0)
		abort();
	if (b1.len != g_image_len || memcmp(b1.data, g_image, b1.len) != 0) {
		if (jpki_card_parse(b1.data, b1.len, &d) != 0 || jpki_card_serialize(d, &b2) != 0 ||
		    b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
			abort();
	}
	jpki_card_free(d);
	jpki_buf_free(&b1);
	jpki_buf_free(&b2);
}

static void
parse_image(const uint8_t *data, size_t size)
{
	jpki_card_t *c = NULL;
	uint8_t *copy;
	size_t body;

	if (jpki_card_parse(data, size, &c) == 0) {
		roundtrip(c);
		jpki_card_free(c);
		c = NULL;
	}
	/* Past the length and checksum checks, into the records. */
	if (size < 14 + 32 || (copy = malloc(size)) == NULL)
		return;
	memcpy(copy, data, size);
	body = size - 14 - 32;
	copy[10] = (uint8_t)(body >> 24);
	copy[11] = (uint8_t)(body >> 16);
	copy[12] = (uint8_t)(body >> 8);
	copy[13] = (uint8_t)body;
	SHA256(copy, 14 + body, copy + 14 + body);
	if (jpki_card_parse(copy, size, &c) == 0) {
		roundtrip(c);
		jpki_card_free(c);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jpki_card_t *c = NULL;
	uint8_t rsp[JPKI_RAPDU_MAX];
	size_t off = 0, len, rlen;
	int count = 0;

	if (size >= 8 && memcmp(data, "JPKICARD", 8) == 0) {
		parse_image(data, size);
		return 0;
	}
	if (jpki_card_dup(g_card, &c) != 0)
		abort();
	while (off + 2 <= size && count++ < MAX_APDUS) {
		len = ((size_t)data[off] << 8) | data[off + 1];
		off += 2;
		if (len == 0) {
			issuer_auth(c);
			continue;
		}
		if (len == 0xFFFF) {
			jpki_card_reset(c);
			continue;
		}
		if (len > size - off)
			len = size - off;
		/* GENERATE KEY PAIR: too slow to run per input (see above). */
		if (len >= 3 && data[off] == 0x00 && data[off + 1] == 0x46 && data[off + 2] == 0x00) {
			off += len;
			continue;
		}
		send(c, data + off, len, rsp, &rlen);
		off += len;
	}
	roundtrip(c);
	jpki_card_free(c);
	return 0;
}
