/*
 * libFuzzer target: jpkid's HTTP/1.1 request reader (http.c): the head
 * parser, then the chunked body decoder over what follows the head, fed in
 * pieces as a socket would deliver them; and the decoder alone over the
 * whole input.
 *
 *   CC=clang bash scripts/build.sh build-fuzz -DJPKI_FUZZ=ON
 *   build-fuzz/fuzz_http_request fuzz/corpus/fuzz_http_request
 *
 * Input: bytes as a client would send them; the first byte also picks the
 * size of the pieces the body is fed in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX 4096

/* s is a NUL-terminated string that lies inside buf[0..len). */
static void
inside(const char *s, const char *buf, size_t len)
{
	if (s == NULL)
		return;
	if (s < buf || s >= buf + len || memchr(s, '\0', (size_t)(buf + len - s)) == NULL)
		abort();
}

/* Decode in[0..n) in pieces of step bytes; check the decoder's promises. */
static void
decode(const uint8_t *in, size_t n, size_t step)
{
	static uint8_t out[BODY_MAX];
	struct http_chunked ck;
	size_t off = 0, len = 0, used;
	int r = 0;

	memset(&ck, 0, sizeof(ck));
	while (off < n) {
		size_t k = n - off < step ? n - off : step;
		r = http_chunked_decode(&ck, in + off, k, &used, out, &len, sizeof(out));
		if (len > sizeof(out) || used > k)
			abort();
		if (r != 0)
			break;
		if (used != k)
			abort(); /* "more needed" takes everything it was given */
		off += k;
	}
	if (r != 0 && r != 1 && r != -400 && r != -413)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req rq;
	size_t step = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
	char *buf;
	int r;

	/* An exact-size copy (no NUL after it): reads past the end are caught. */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	r = http_request_parse(buf, size, &rq);
	if (r == 0 && size >= HTTP_HEAD_MAX)
		abort(); /* a head can't grow without end */
	if (r > 0) {
		if ((size_t)r > size || r > HTTP_HEAD_MAX || rq.target == NULL || rq.minor < 0 ||
		    rq.minor > 1 || rq.content_length < -1 || (rq.chunked && rq.content_length >= 0))
			abort();
		inside(rq.target, buf, (size_t)r);
		inside(rq.if_none_match, buf, (size_t)r);
		inside(rq.if_modified_since, buf, (size_t)r);
		inside(rq.authorization, buf, (size_t)r);
		if (rq.if_none_match != NULL)
			http_etag_matches(rq.if_none_match, "\"abc\"");
		if (rq.chunked)
			decode(data + r, size - (size_t)r, step);
	} else if (r != 0 && r != -400 && r != -431 && r != -501 && r != -505) {
		abort();
	}
	free(buf);
	decode(data, size, step);
	return 0;
}
