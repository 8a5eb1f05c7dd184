/*
 * libFuzzer target: what jpkid reads from a URL or a header besides the OCSP
 * DER itself: the RFC 5019 GET path (percent escapes, base64 in either
 * alphabet) then the request parser, the CRL path, HTTP dates and
 * If-None-Match lists.
 *
 *   CC=clang bash scripts/build.sh build-fuzz -DJPKI_FUZZ=ON
 *   build-fuzz/fuzz_http_url fuzz/corpus/fuzz_http_url
 *
 * Input: text; a NUL, if any, splits it into a header value and an entity
 * tag for http_etag_matches.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jpki/error.h"
#include "jpki/ocsp.h"
#include "server/server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t der[JPKI_OCSP_REQUEST_MAX];
	jpki_ocsp_request_t rq;
	jpki_ca_kind_t kind;
	int64_t part;
	int delta;
	size_t n;
	time_t t;
	char *s;

	/* An exact-size copy of the path (no NUL): reads past it are caught. */
	if (jpki_ocsp_decode_get((const char *)data, size, der, sizeof(der), &n) == 0) {
		if (n > sizeof(der) || n > size)
			abort(); /* base64 never grows */
		jpki_ocsp_request_parse(der, n, &rq);
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (http_crl_path_parse(s, &kind, &part, &delta) == 0 && (part < 0 || (delta != 0 && delta != 1)))
		abort();
	if (http_date_parse(s, &t) == 0) {
		/* What it prints, it reads back as the same instant. */
		char back[32];
		time_t t2;
		http_date(t, back);
		if (http_date_parse(back, &t2) != 0 || t2 != t)
			abort();
	}
	if (strlen(s) < size)
		http_etag_matches(s, s + strlen(s) + 1);
	free(s);
	return 0;
}
