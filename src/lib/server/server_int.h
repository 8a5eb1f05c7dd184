/*
 * jpkid's insides (private to libjpki): the OCSP service (cache, producer
 * thread, store handles) and the HTTP helpers the routes share.  The path
 * and date parsers are here, not static, so that fuzz/fuzz_http_url.c can
 * reach them.
 */
#ifndef JPKI_SERVER_INT_H
#define JPKI_SERVER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "jpki/ocsp.h"
#include "jpki/server.h"
#include "jpki/store.h"

/* One OCSP answer, ready for HTTP. */
struct ocsp_answer {
	uint8_t *der;          /* the OCSPResponse: buf when it fitted there, else
	                          malloc'd (the caller frees it when der != buf) */
	size_t len;
	uint8_t *buf;          /* in: the caller's buffer for der, or NULL */
	size_t cap;            /* in: its size */
	int http_cacheable;    /* a response about an issued certificate without
	                          a nonce: the RFC 5019 cache headers apply */
	time_t produced;       /* thisUpdate = producedAt */
	time_t next_update;
	char etag[40];         /* quoted, when http_cacheable */
	char last_modified[32];/* http_date(produced), http_date(next_update) */
	char expires[32];
	const char *what;      /* for the access log: "good", "revoked", "hold",
	                          "non-issued", "malformed", "unauthorized", ... */
};

struct ocsp_stats {
	int64_t event_seq;     /* status events processed up to */
	size_t entries;        /* responses in the cache */
	int64_t poll_age_ms;   /* since the last successful poll of the store */
	int fresh;             /* 1 when that poll is recent enough to trust the cache */
	int64_t prefill_left;  /* certificates still to prefill; 0 when done or off */
};

struct ocsp_svc;

/* Open the CA directory o->ca_dir (its store once per HTTP thread, plus one
 * for the producer and one for the prefill), load both CA keys, and start
 * the producer (and prefill) threads.  Free with ocsp_svc_free(). */
int ocsp_svc_new(const jpki_server_opts_t *o, struct ocsp_svc **out);
/* Stop the threads and free everything.  Accepts NULL. */
void ocsp_svc_free(struct ocsp_svc *s);
/* Answer a DER request of len bytes (a->buf and a->cap set by the caller,
 * the rest filled in).  Every problem with the request becomes an OCSP error
 * response (malformedRequest, unauthorized, tryLater, internalError); only
 * JPKI_ERR_NOMEM is returned.  A cached answer is copied into a->buf, with
 * no allocation, when it fits. */
int ocsp_svc_answer(struct ocsp_svc *s, const uint8_t *req, size_t len, struct ocsp_answer *a);
void ocsp_svc_stats(struct ocsp_svc *s, struct ocsp_stats *st);
/* The CA certificate of kind (owned by s). */
X509 *ocsp_svc_ca_cert(struct ocsp_svc *s, jpki_ca_kind_t kind);
/* The server's clock: time(), moved by JPKI_NOW as it was at start. */
time_t ocsp_svc_now(const struct ocsp_svc *s);

/* RFC 7231 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (out: 30 bytes). */
void http_date(time_t t, char out[32]);
/* Parse an IMF-fixdate; JPKI_ERR_FORMAT for anything else. */
int http_date_parse(const char *s, time_t *t);
/* The rest of a CRL URL after "/crl/": "<sign|auth>/<n>.crl" or
 * "<n>-delta.crl", n decimal without leading zeros (at most 18 digits). */
int http_crl_path_parse(const char *rest, jpki_ca_kind_t *kind, int64_t *partition,
                        int *delta);
/* An If-None-Match header value lists etag (quoted), or is "*". */
int http_etag_matches(const char *header, const char *etag);

/*
 * HTTP/1.1 requests as jpkid's own server reads them (http.c): bounded,
 * in place, no allocation.  Fuzzed by fuzz/fuzz_http_request.c.
 */
#define HTTP_HEAD_MAX 8192       /* request line and headers, blank line included */

enum { HTTP_M_OTHER = 0, HTTP_M_GET = 1, HTTP_M_HEAD = 2, HTTP_M_POST = 4 };

struct http_req {
	unsigned method;             /* HTTP_M_*; HTTP_M_OTHER for any other token */
	char *target;                /* as sent, the query cut off; NUL-terminated in place */
	int minor;                   /* HTTP/1.minor: 0 or 1 */
	int keep_alive;              /* the connection may carry another request */
	int expect_continue;         /* "Expect: 100-continue" */
	int chunked;                 /* "Transfer-Encoding: chunked" */
	int64_t content_length;      /* -1 when not given */
	const char *if_none_match;   /* the first of each, NUL-terminated, or NULL */
	const char *if_modified_since;
	const char *authorization;
};

/*
 * Parse the head of a request at buf[0..len), writing NULs into it.  The
 * head's length (request line, headers and the blank line; empty lines
 * before the request line count too) when it is complete; 0 when more bytes
 * are needed (no blank line yet and len < HTTP_HEAD_MAX, buf untouched); or
 * minus an HTTP status: 400 malformed (bare CR, folded or duplicated
 * framing headers, Content-Length with Transfer-Encoding, a bad token),
 * 431 a head over HTTP_HEAD_MAX, 501 a transfer coding other than chunked,
 * 505 a version other than HTTP/1.0 and HTTP/1.1.
 */
int http_request_parse(char *buf, size_t len, struct http_req *rq);

/* The state of a chunked body being read; zero it before the first call. */
struct http_chunked {
	int state;
	uint64_t left;               /* bytes left in the chunk, or its size so far */
	unsigned digits;
	size_t line;                 /* bytes of a chunk extension or trailer line */
	size_t trailer;              /* bytes of trailer section */
};

/*
 * Decode chunked data in[0..n) into out[*out_len..out_max).  *used: bytes of
 * in taken.  1 at the end of the body (last chunk and trailers read; what
 * follows in in belongs to the next request), 0 when all of in was taken
 * and more is needed, -400 malformed, -413 the body would pass out_max.
 */
int http_chunked_decode(struct http_chunked *c, const uint8_t *in, size_t n, size_t *used,
                        uint8_t *out, size_t *out_len, size_t out_max);

/*
 * The online window's JSON API (api.c): every path under /window/, /line/
 * and /office/.  Independent of the HTTP layer, which hands it the request
 * whole and sends back what it fills in.  A call may take a while (a card
 * act's step: a CA signature, a store transaction), but never waits on the
 * network itself.
 */
#define API_BODY_MAX ((size_t)1 << 20)   /* request bodies on API paths */

struct api_req {
	const char *method;          /* "GET", "POST", ... */
	const char *path;            /* "/office/call", as sent (no query) */
	const char *authorization;   /* the Authorization header, or NULL */
	const uint8_t *body;         /* NULL when empty */
	size_t body_len;             /* at most API_BODY_MAX */
	const char *peer;            /* the client's address, for the audit log */
};

struct api_resp {
	int status;                  /* HTTP status */
	char *body;                  /* malloc'd JSON text (application/json), or NULL */
	size_t len;
	const char *www_authenticate;/* static; set with 401 */
	const char *what;            /* for the access log: "revoke", "refused", ... */
};

struct api_svc;
/* Keeps what the API needs across calls (sessions of the office API,
 * tokens).  Opens nothing global: each call opens the window itself. */
int api_svc_new(const jpki_server_opts_t *o, struct api_svc **out);
void api_svc_free(struct api_svc *a);
/* Serve one call.  Every problem becomes an HTTP status with a JSON
 * {"error": "..."} body; only JPKI_ERR_NOMEM is returned. */
int api_handle(struct api_svc *a, const struct api_req *rq, struct api_resp *out);
/* Is path one of the API's?  ("/window/", "/line/", "/office/" prefixes) */
int api_path(const char *path);

#endif
