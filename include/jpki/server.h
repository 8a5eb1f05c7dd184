/*
 * The Agency's HTTP server (jpkid): OCSP (RFC 6960, RFC 5019 profile), the
 * published CRLs, the CA certificates and their fingerprints, health.
 *
 * Routes (a table in src/lib/server/server.c; more are added there):
 *   GET  /health                      200 {"status":"ok",...}, 503 when the
 *                                     store has not been read for a while
 *   POST /ocsp/sign, /ocsp/auth       application/ocsp-request (also /ocsp, /)
 *   GET  /ocsp/<sign|auth>/<request>  RFC 5019 GET: base64 (either alphabet,
 *                                     percent-encoded or not) of the DER
 *   GET  /crl/<sign|auth>/<n>.crl, /crl/<sign|auth>/<n>-delta.crl
 *   GET  /ca/sign.pem, /ca/auth.pem, /ca/fingerprints
 *   POST /window/validity, /window/revoke, /line/suspend,
 *        /office/login, /office/call, /office/apdu
 *                                     the online window (api.c,
 *                                     docs/online-window.md)
 * HEAD is answered wherever GET is.  The online window's calls run in
 * worker threads.
 *
 * HTTP/1.1 (and 1.0) by jpkid's own server over epoll: keep-alive and
 * pipelining; a request head of at most 8 KiB (431 past it); bodies by
 * Content-Length or chunked, at most 16 KiB for OCSP and 1 MiB for the API
 * (413 past it); a connection idle, or a request or a response stalled, for
 * 30 s is closed; 8192 connections at most (fewer when RLIMIT_NOFILE says so).
 *
 * OCSP answers come from an in-memory cache of signed responses, keyed by
 * CA, CertID hash and serial, produced on the first request for a
 * certificate (or ahead of any request, with prefill), refreshed before
 * they expire while they are asked for, and replaced as soon as a status
 * changes: a thread polls the store's status event sequence every poll_ms
 * (jpki-ca and jpki-office write the same store from other processes).
 * A serial the CA never issued is answered "revoked" (certificateHold,
 * revocationTime 1970-01-01, the extended revoke extension: RFC 6960 2.2).
 */
#ifndef JPKI_SERVER_H
#define JPKI_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "jpki/config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jpki_server jpki_server_t;

/* What to prefill the OCSP cache with at start. */
enum jpki_prefill {
	JPKI_PREFILL_NONE = 0,
	JPKI_PREFILL_SHA1 = 1,   /* SHA-1 CertIDs (OpenSSL's default) */
	JPKI_PREFILL_SHA256 = 2,
	JPKI_PREFILL_BOTH = 3
};

typedef struct jpki_server_opts {
	const char *ca_dir;          /* a directory made by `jpki-ca init` (required) */
	const char *listen;          /* "ADDR[:PORT]", "[V6ADDR]:PORT"; NULL: 127.0.0.1:8080;
	                                port 0 picks a free port (jpki_server_port) */
	long port;                   /* -1: as listen says; 0..65535: this port instead */
	const char *access_log;      /* NULL: none; "-": stderr; else a file, appended */
	unsigned threads;            /* HTTP event loops, and as many API worker
	                                threads (at least 4); 0: 2 */
	int64_t ocsp_validity;       /* nextUpdate - thisUpdate, seconds; 0: 3600 */
	int64_t poll_ms;             /* status event poll interval; 0: 100 */
	int64_t cache_max;           /* OCSP responses kept at most; 0: 1,000,000 */
	int prefill;                 /* enum jpki_prefill */
	const char *issuer_key;      /* the card issuer's key (PEM) for card acts
	                                of the office API; NULL: $JPKI_ISSUER_KEY,
	                                else card acts are refused */
} jpki_server_opts_t;

/* Defaults into o (every field; strings NULL, port -1). */
void jpki_server_opts_init(jpki_server_opts_t *o);

/*
 * Settings from a jpkid configuration file (jpki/config.h syntax): keys
 * ca_dir, listen, access_log, threads, ocsp_validity, poll_ms, cache_max,
 * prefill (none, sha1, sha256, both), issuer_key.  Fields present in the file overwrite
 * those of o; the strings are owned by *cfg (free it with jpki_config_free()
 * after the server has stopped).  JPKI_ERR_CONFIG naming the key or line.
 */
int jpki_server_opts_load(const char *path, jpki_server_opts_t *o, jpki_config_t **cfg);

/* "none", "sha1", "sha256", "both". */
int jpki_server_prefill_parse(const char *s, int *prefill);

/*
 * Open the CA directory, load both CA keys, bind the listening socket and
 * start serving (in threads of the server's own; the call returns).
 * JPKI_ERR_NOT_FOUND for a directory with no CA, JPKI_ERR_IO (detail names
 * the address) when the socket cannot be bound.  Stop with jpki_server_stop().
 */
int jpki_server_start(const jpki_server_opts_t *o, jpki_server_t **out);
/* The bound port (the one picked when port 0 was asked). */
unsigned jpki_server_port(const jpki_server_t *s);
/* Reopen the access log file (after rotation; SIGHUP in jpkid). */
int jpki_server_reopen_log(jpki_server_t *s);
/* Stop accepting, finish the requests under way (5 s at most; idle
 * keep-alive connections are closed at once), stop the threads, free
 * everything.  Accepts NULL. */
void jpki_server_stop(jpki_server_t *s);

#ifdef __cplusplus
}
#endif
#endif
