/*
 * The HTTP client of the relying party and the resident's client (libcurl):
 * one request, an answer bounded by the caller's maximum, no redirects, only
 * http(s) unless the caller allows file:// for a URL the user typed.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "jpki/buf.h"
#include "jpki/error.h"
#include "jpki/verify.h"

#define DEFAULT_TIMEOUT_MS 10000L

struct sink {
	jpki_buf_t b;
	int over;
};

static size_t
sink_write(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t len = size * n;

	if (jpki_buf_put(&s->b, p, len) != 0) {
		s->over = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	return len;
}

int
jpki_http_fetch(const jpki_http_req_t *q, long *status, uint8_t **body, size_t *len)
{
	struct sink s;
	struct curl_slist *hdr = NULL, *h2;
	char line[256];
	CURL *c = NULL;
	CURLcode cc;
	long code = 0, t;
	uint8_t *data = NULL;
	size_t n = 0;
	int r = JPKI_ERR_INTERNAL, is_file;

	if (status != NULL)
		*status = 0;
	if (body != NULL)
		*body = NULL;
	if (len != NULL)
		*len = 0;
	jpki_buf_init(&s.b, q != NULL ? q->max : 0);
	s.over = 0;
	if (q == NULL || q->url == NULL || status == NULL || body == NULL || len == NULL ||
	    q->max == 0) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	is_file = strncmp(q->url, "file:", 5) == 0;
	if (strncmp(q->url, "http://", 7) != 0 && strncmp(q->url, "https://", 8) != 0 &&
	    !(q->allow_file && is_file)) {
		jpki_set_detail("'%.200s': only http:// and https:// URLs are fetched", q->url);
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((c = curl_easy_init()) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	t = q->timeout_ms > 0 ? q->timeout_ms : DEFAULT_TIMEOUT_MS;
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, q->allow_file ? "http,https,file" : "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, t);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, t);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)q->max);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "OpenJPKI/0.1");
	if (q->accept != NULL) {
		snprintf(line, sizeof(line), "Accept: %s", q->accept);
		if ((h2 = curl_slist_append(hdr, line)) == NULL) {
			r = JPKI_ERR_NOMEM;
			goto out;
		}
		hdr = h2;
	}
	if (q->body != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s",
		         q->content_type != NULL ? q->content_type : "application/octet-stream");
		if ((h2 = curl_slist_append(hdr, line)) == NULL) {
			r = JPKI_ERR_NOMEM;
			goto out;
		}
		hdr = h2;
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	}
	if (hdr != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	cc = curl_easy_perform(c);
	if (s.over || cc == CURLE_FILESIZE_EXCEEDED) {
		jpki_set_detail("'%.200s': the answer is larger than %zu bytes", q->url, q->max);
		r = JPKI_ERR_TOO_LARGE;
		goto out;
	}
	if (cc != CURLE_OK) {
		jpki_set_detail("'%.200s': %s", q->url, curl_easy_strerror(cc));
		r = JPKI_ERR_NET;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (is_file && code == 0)
		code = 200;
	if ((r = jpki_buf_steal(&s.b, &data, &n)) != 0)
		goto out;
	*body = data;
	*len = n;
	*status = code;
	r = 0;
out:
	curl_slist_free_all(hdr);
	if (c != NULL)
		curl_easy_cleanup(c);
	jpki_buf_free(&s.b);
	return r;
}

int
jpki_base64_encode(const uint8_t *in, size_t len, char **out)
{
	char *s;
	size_t n;

	if (out != NULL)
		*out = NULL;
	if ((in == NULL && len > 0) || out == NULL || len > ((size_t)1 << 30))
		return JPKI_ERR_INVALID_ARG;
	n = 4 * ((len + 2) / 3);
	if ((s = malloc(n + 1)) == NULL)
		return JPKI_ERR_NOMEM;
	if (EVP_EncodeBlock((unsigned char *)s, in, (int)len) != (int)n) {
		free(s);
		return JPKI_ERR_CRYPTO;
	}
	s[n] = '\0';
	*out = s;
	return 0;
}

int
jpki_base64_decode(const char *in, size_t in_len, size_t max, uint8_t **out, size_t *out_len)
{
	uint8_t *b = NULL;
	size_t i, pad = 0, n;
	int got;

	if (out != NULL)
		*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	if (in == NULL || out == NULL || out_len == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (in_len % 4 != 0) {
		jpki_set_detail("base64 of %zu characters (not a multiple of 4)", in_len);
		return JPKI_ERR_FORMAT;
	}
	for (i = 0; i < in_len; i++) {
		char c = in[i];
		if (c == '=' && i + 2 >= in_len) {
			pad++;
			continue;
		}
		if (pad > 0 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		                 (c >= '0' && c <= '9') || c == '+' || c == '/')) {
			jpki_set_detail("not base64 at character %zu", i);
			return JPKI_ERR_FORMAT;
		}
	}
	n = in_len / 4 * 3;
	if (n - pad > max) {
		jpki_set_detail("%zu bytes of base64 data, at most %zu", n - pad, max);
		return JPKI_ERR_TOO_LARGE;
	}
	if ((b = malloc(n + 1)) == NULL)
		return JPKI_ERR_NOMEM;
	if (in_len > 0 &&
	    (got = EVP_DecodeBlock(b, (const unsigned char *)in, (int)in_len)) != (int)n) {
		free(b);
		jpki_set_detail("bad base64");
		return JPKI_ERR_FORMAT;
	}
	*out = b;
	*out_len = n - pad;
	return 0;
}
