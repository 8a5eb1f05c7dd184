/*
 * jpkid's HTTP server over libmicrohttpd: one epoll thread pool, a route
 * table, and the handlers for OCSP, CRLs, CA certificates and health.
 * The OCSP answers themselves come from ocsp_svc.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "jpki/buf.h"
#include "jpki/ca.h"
#include "jpki/cli.h"
#include "jpki/config.h"
#include "jpki/error.h"
#include "jpki/ocsp.h"
#include "jpki/server.h"
#include "jpki/x509.h"
#include "server/server_int.h"

#define JPKID_VERSION "0.1.0"
#define CRL_FILE_MAX ((off_t)1 << 31)
#define LOG_PATH_SHOWN 200

enum { M_GET = 1, M_HEAD = 2, M_POST = 4 };

/* One HTTP request under way. */
struct request {
	jpki_buf_t body;
	int too_large;
	uint64_t discarded;    /* body bytes over the limit, thrown away */
	unsigned method;
	struct timespec t0;
};

typedef enum MHD_Result (*handler_fn)(jpki_server_t *s, struct MHD_Connection *c,
                                      struct request *rq, const char *url, const char *rest);

/* A route: an exact path, or a prefix when it ends in '/' (the handler gets
 * the rest).  Routes for the online window go here too. */
struct route {
	const char *path;
	unsigned methods;
	handler_fn fn;
};

struct jpki_server {
	struct MHD_Daemon *d;
	struct ocsp_svc *ocsp;
	struct api_svc *api;
	char ca_dir[PATH_MAX];
	char *pem[2];
	size_t pem_len[2];
	char pem_etag[2][40];
	char fp_json[320];
	char fp_etag[40];
	pthread_mutex_t log_mu;
	FILE *log;
	char *log_path;        /* NULL: stderr, when log is set */
	unsigned port;
	time_t started;
	int starting;          /* MHD's messages go to start_err while starting */
	char start_err[256];
};

void
jpki_server_opts_init(jpki_server_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->threads = 2;
	o->ocsp_validity = 3600;
	o->poll_ms = 100;
	o->cache_max = 1000000;
	o->prefill = JPKI_PREFILL_NONE;
	o->port = -1;
}

int
jpki_server_prefill_parse(const char *s, int *prefill)
{
	static const char *const names[] = {"none", "sha1", "sha256", "both"};
	int i;

	for (i = 0; i < 4; i++)
		if (s != NULL && strcmp(s, names[i]) == 0) {
			*prefill = i;
			return 0;
		}
	jpki_set_detail("prefill '%s': none, sha1, sha256 or both", s ? s : "");
	return JPKI_ERR_INVALID_ARG;
}

int
jpki_server_opts_load(const char *path, jpki_server_opts_t *o, jpki_config_t **cfgp)
{
	static const char *const keys[] = {"ca_dir", "listen", "access_log", "threads",
	                                   "ocsp_validity", "poll_ms", "cache_max", "prefill",
	                                   "issuer_key", NULL};
	jpki_config_t *cfg = NULL;
	const char *v;
	int64_t n;
	int r;

	*cfgp = NULL;
	if ((r = jpki_config_load(path, &cfg)) != 0 || (r = jpki_config_check_keys(cfg, keys)) != 0)
		goto out;
	if ((v = jpki_config_get(cfg, "ca_dir", NULL)) != NULL)
		o->ca_dir = v;
	if ((v = jpki_config_get(cfg, "listen", NULL)) != NULL)
		o->listen = v;
	if ((v = jpki_config_get(cfg, "issuer_key", NULL)) != NULL)
		o->issuer_key = *v ? v : NULL;
	if ((v = jpki_config_get(cfg, "access_log", NULL)) != NULL)
		o->access_log = *v ? v : NULL;
	if ((r = jpki_config_get_int(cfg, "threads", o->threads, 1, 64, &n)) != 0)
		goto out;
	o->threads = (unsigned)n;
	if ((r = jpki_config_get_int(cfg, "ocsp_validity", o->ocsp_validity, 1, 7 * 86400,
	                             &o->ocsp_validity)) != 0 ||
	    (r = jpki_config_get_int(cfg, "poll_ms", o->poll_ms, 10, 60000, &o->poll_ms)) != 0 ||
	    (r = jpki_config_get_int(cfg, "cache_max", o->cache_max, 1, INT64_C(1) << 32,
	                             &o->cache_max)) != 0)
		goto out;
	if ((v = jpki_config_get(cfg, "prefill", NULL)) != NULL &&
	    jpki_server_prefill_parse(v, &o->prefill) != 0) {
		jpki_set_detail("%s: prefill = %s: none, sha1, sha256 or both", path, v);
		r = JPKI_ERR_CONFIG;
		goto out;
	}
	*cfgp = cfg;
	cfg = NULL;
	r = 0;
out:
	jpki_config_free(cfg);
	return r;
}

/* ---- access log ---- */

static int
open_log(jpki_server_t *s)
{
	FILE *f;

	if (s->log_path == NULL)
		return 0;
	if ((f = fopen(s->log_path, "ae")) == NULL) {
		jpki_set_detail("access log %s: %s", s->log_path, strerror(errno));
		return JPKI_ERR_IO;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	pthread_mutex_lock(&s->log_mu);
	if (s->log != NULL && s->log != stderr)
		fclose(s->log);
	s->log = f;
	pthread_mutex_unlock(&s->log_mu);
	return 0;
}

int
jpki_server_reopen_log(jpki_server_t *s)
{
	return open_log(s);
}

/* "2026-11-21T10:00:00Z 127.0.0.1 POST /ocsp/sign 200 471 183us good" */
static void
access_log(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *method,
           const char *url, unsigned status, size_t len, const char *note)
{
	const union MHD_ConnectionInfo *ci;
	char when[32], host[NI_MAXHOST] = "-", path[LOG_PATH_SHOWN + 4];
	struct timespec t1;
	size_t i;
	long long us;

	if (s->log == NULL)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL)
		getnameinfo(ci->client_addr,
		            ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                                   : sizeof(struct sockaddr_in),
		            host, sizeof(host), NULL, 0, NI_NUMERICHOST);
	/* The path as sent, cut short, with nothing that could forge a line. */
	for (i = 0; url[i] && i < LOG_PATH_SHOWN; i++)
		path[i] = (url[i] > 0x20 && url[i] < 0x7f) ? url[i] : '?';
	if (url[i])
		path[i++] = '~';
	path[i] = '\0';
	jpki_cli_iso_time(time(NULL), when, sizeof(when));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (long long)(t1.tv_sec - rq->t0.tv_sec) * 1000000 + (t1.tv_nsec - rq->t0.tv_nsec) / 1000;
	pthread_mutex_lock(&s->log_mu);
	if (s->log != NULL)
		fprintf(s->log, "%s %s %s %s %u %zu %lldus%s%s\n", when, host, method, path, status, len,
		        us, note ? " " : "", note ? note : "");
	pthread_mutex_unlock(&s->log_mu);
}

/* ---- responses ---- */

static enum MHD_Result
send_resp(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url,
          unsigned status, struct MHD_Response *resp, size_t len, const char *note)
{
	static const char *const names[] = {"-", "GET", "HEAD", "-", "POST"};
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	access_log(s, c, rq, rq->method <= M_POST ? names[rq->method] : "-", url, status, len, note);
	return ret;
}

static enum MHD_Result
send_text(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url,
          unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
	                                                         MHD_RESPMEM_PERSISTENT);

	if (r != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	return send_resp(s, c, rq, url, status, r, strlen(text), NULL);
}

/* 304 when the client's validators say it has this representation. */
static int
not_modified(struct MHD_Connection *c, const char *etag, time_t mtime)
{
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	const char *ims;
	time_t t;

	if (inm != NULL)
		return etag != NULL && http_etag_matches(inm, etag);
	ims = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	return ims != NULL && mtime != 0 && http_date_parse(ims, &t) == 0 && mtime <= t;
}

/* ---- OCSP ---- */

static enum MHD_Result
ocsp_reply(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url,
           const uint8_t *req, size_t len, int is_get)
{
	struct ocsp_answer a;
	struct MHD_Response *r;
	char cc[96];
	unsigned status = MHD_HTTP_OK;
	size_t n;

	a.buf = NULL; /* MHD_RESPMEM_MUST_FREE: always malloc'd */
	a.cap = 0;
	if (ocsp_svc_answer(s->ocsp, req, len, &a) != 0)
		return send_text(s, c, rq, url, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	if (a.http_cacheable) {
		time_t now = ocsp_svc_now(s->ocsp);
		long long age = (long long)(a.next_update - now);
		/* RFC 5019 6.2: cacheable until nextUpdate, never beyond it. */
		snprintf(cc, sizeof(cc), "max-age=%lld, public, no-transform, must-revalidate",
		         age > 0 ? age : 0);
		if (is_get && not_modified(c, a.etag, 0)) {
			free(a.der);
			a.der = NULL;
			status = MHD_HTTP_NOT_MODIFIED;
		}
	}
	n = a.der != NULL ? a.len : 0;
	if (a.der != NULL)
		r = MHD_create_response_from_buffer(a.len, a.der, MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(a.der);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/ocsp-response");
	if (a.http_cacheable) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, a.last_modified);
		MHD_add_response_header(r, MHD_HTTP_HEADER_EXPIRES, a.expires);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a.etag);
	} else {
		/* A nonce's answer, an error, a serial never issued: not for caches. */
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, no-store");
	}
	return send_resp(s, c, rq, url, status, r, n, a.what);
}

static enum MHD_Result
h_ocsp_post(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url,
            const char *rest)
{
	return ocsp_reply(s, c, rq, url, rq->body.data, rq->body.len, 0);
}

static enum MHD_Result
h_ocsp_get(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url,
           const char *rest)
{
	uint8_t der[JPKI_OCSP_REQUEST_MAX];
	size_t n = 0;

	/* A request that does not decode is a malformed request, answered as such. */
	if (jpki_ocsp_decode_get(rest, strlen(rest), der, sizeof(der), &n) != 0)
		n = 0;
	return ocsp_reply(s, c, rq, url, der, n, 1);
}

/* ---- CRLs ---- */

static enum MHD_Result
h_crl(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url,
      const char *rest)
{
	jpki_ca_kind_t kind;
	int64_t part;
	int delta, fd;
	char path[PATH_MAX], etag[80], lm[32];
	struct stat st;
	struct MHD_Response *r;

	if (http_crl_path_parse(rest, &kind, &part, &delta) != 0)
		return send_text(s, c, rq, url, MHD_HTTP_NOT_FOUND, "not found\n");
	if ((size_t)snprintf(path, sizeof(path), "%s/crl/%s/%lld%s.crl", s->ca_dir,
	                     jpki_ca_kind_name(kind), (long long)part,
	                     delta ? "-delta" : "") >= sizeof(path))
		return send_text(s, c, rq, url, MHD_HTTP_NOT_FOUND, "not found\n");
	/* The file as jpki-ca last renamed it into place: opened per request, so
	 * a new CRL is served at once and the one being sent stays whole. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return send_text(s, c, rq, url, MHD_HTTP_NOT_FOUND, "not found\n");
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CRL_FILE_MAX) {
		close(fd);
		return send_text(s, c, rq, url, MHD_HTTP_NOT_FOUND, "not found\n");
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%llx.%09ld\"", (unsigned long long)st.st_ino,
	         (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec,
	         (long)st.st_mtim.tv_nsec);
	http_date(st.st_mtim.tv_sec, lm);
	if (not_modified(c, etag, st.st_mtim.tv_sec)) {
		close(fd);
		if ((r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)) == NULL)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
		MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, lm);
		return send_resp(s, c, rq, url, MHD_HTTP_NOT_MODIFIED, r, 0, NULL);
	}
	if ((r = MHD_create_response_from_fd((uint64_t)st.st_size, fd)) == NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/pkix-crl");
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, lm);
	return send_resp(s, c, rq, url, MHD_HTTP_OK, r, (size_t)st.st_size, NULL);
}

/* ---- CA certificates, health ---- */

static enum MHD_Result
send_static(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url,
            const char *body, size_t len, const char *type, const char *etag)
{
	struct MHD_Response *r;
	int nm = not_modified(c, etag, 0);

	r = MHD_create_response_from_buffer(nm ? 0 : len, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	if (!nm)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
	return send_resp(s, c, rq, url, nm ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r, nm ? 0 : len,
	                 NULL);
}

static enum MHD_Result
h_ca_pem(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url,
         const char *rest)
{
	int k = strcmp(url, "/ca/auth.pem") == 0;

	return send_static(s, c, rq, url, s->pem[k], s->pem_len[k], "application/x-pem-file",
	                   s->pem_etag[k]);
}

static enum MHD_Result
h_fingerprints(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url,
               const char *rest)
{
	return send_static(s, c, rq, url, s->fp_json, strlen(s->fp_json), "application/json",
	                   s->fp_etag);
}

static enum MHD_Result
h_health(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url,
         const char *rest)
{
	struct ocsp_stats st;
	struct MHD_Response *r;
	char body[512];
	int n;

	ocsp_svc_stats(s->ocsp, &st);
	n = snprintf(body, sizeof(body),
	             "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_s\":%lld,\"event_seq\":%lld,"
	             "\"ocsp_cache\":%zu,\"poll_age_ms\":%lld,\"prefill_left\":%lld}\n",
	             st.fresh ? "ok" : "store-unreachable", JPKID_VERSION,
	             (long long)(time(NULL) - s->started), (long long)st.event_seq, st.entries,
	             (long long)st.poll_age_ms, (long long)st.prefill_left);
	if (n < 0 || (size_t)n >= sizeof(body))
		return MHD_NO;
	if ((r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY)) == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, no-store");
	return send_resp(s, c, rq, url, st.fresh ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, r,
	                 (size_t)n, NULL);
}

/* The online window's JSON API (api.c). */
static enum MHD_Result
h_api(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url,
      const char *rest)
{
	struct api_req ar;
	struct api_resp ap;
	struct MHD_Response *r;
	const union MHD_ConnectionInfo *ci;
	char peer[64] = "?";
	const char *method = rq->method == M_POST ? "POST" : rq->method == M_GET ? "GET" : "HEAD";

	(void)rest;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL)
		(void)getnameinfo(ci->client_addr,
		                  ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                                         : sizeof(struct sockaddr_in),
		                  peer, sizeof(peer), NULL, 0, NI_NUMERICHOST);
	memset(&ar, 0, sizeof(ar));
	memset(&ap, 0, sizeof(ap));
	ar.method = method;
	ar.path = url;
	ar.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                               MHD_HTTP_HEADER_AUTHORIZATION);
	ar.body = rq->body.len ? rq->body.data : NULL;
	ar.body_len = rq->body.len;
	ar.peer = peer;
	if (api_handle(s->api, &ar, &ap) != 0)
		return MHD_NO;
	r = MHD_create_response_from_buffer(ap.len, ap.body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(ap.body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (ap.www_authenticate != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, ap.www_authenticate);
	return send_resp(s, c, rq, url, (unsigned)ap.status, r, ap.len, ap.what);
}

static const struct route routes[] = {
	{"/health", M_GET | M_HEAD, h_health},
	{"/ocsp/sign", M_POST, h_ocsp_post},
	{"/ocsp/auth", M_POST, h_ocsp_post},
	{"/ocsp", M_POST, h_ocsp_post},
	{"/", M_POST, h_ocsp_post},
	{"/ocsp/sign/", M_GET | M_HEAD, h_ocsp_get},
	{"/ocsp/auth/", M_GET | M_HEAD, h_ocsp_get},
	{"/crl/", M_GET | M_HEAD, h_crl},
	{"/ca/sign.pem", M_GET | M_HEAD, h_ca_pem},
	{"/ca/auth.pem", M_GET | M_HEAD, h_ca_pem},
	{"/ca/fingerprints", M_GET | M_HEAD, h_fingerprints},
	{"/window/", M_GET | M_POST, h_api},
	{"/line/", M_POST, h_api},
	{"/office/", M_POST, h_api},
};

static enum MHD_Result
dispatch(jpki_server_t *s, struct MHD_Connection *c, struct request *rq, const char *url)
{
	unsigned allowed = 0;
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *rt = &routes[i];
		size_t pl = strlen(rt->path);
		int prefix = pl > 1 && rt->path[pl - 1] == '/';
		if (prefix ? strncmp(url, rt->path, pl) != 0 || url[pl] == '\0'
		           : strcmp(url, rt->path) != 0)
			continue;
		if (rt->methods & rq->method)
			return rt->fn(s, c, rq, url, prefix ? url + pl : "");
		allowed |= rt->methods;
	}
	if (allowed) {
		struct MHD_Response *r;
		const char *text = "method not allowed\n";
		char allow[32];
		snprintf(allow, sizeof(allow), "%s%s%s", (allowed & M_GET) ? "GET, HEAD" : "",
		         (allowed & M_GET) && (allowed & M_POST) ? ", " : "",
		         (allowed & M_POST) ? "POST" : "");
		r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
		if (r == NULL)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
		return send_resp(s, c, rq, url, MHD_HTTP_METHOD_NOT_ALLOWED, r, strlen(text), NULL);
	}
	return send_text(s, c, rq, url, MHD_HTTP_NOT_FOUND, "not found\n");
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	jpki_server_t *s = cls;
	struct request *rq = *req_cls;

	if (rq == NULL) {
		const char *cl;
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rq->t0);
		jpki_buf_init(&rq->body, api_path(url) ? API_BODY_MAX : JPKI_OCSP_REQUEST_MAX);
		rq->method = strcmp(method, "GET") == 0 ? M_GET : strcmp(method, "HEAD") == 0 ? M_HEAD :
		             strcmp(method, "POST") == 0 ? M_POST : 0;
		*req_cls = rq;
		/* Refuse an announced body over the limit before reading it. */
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL &&
		    strtoull(cl, NULL, 10) > (api_path(url) ? API_BODY_MAX : JPKI_OCSP_REQUEST_MAX))
			return send_text(s, c, rq, url, MHD_HTTP_CONTENT_TOO_LARGE, "request too large\n");
		return MHD_YES;
	}
	if (*upload_size != 0) {
		if (!rq->too_large && jpki_buf_put(&rq->body, upload, *upload_size) != 0) {
			rq->too_large = 1; /* chunked past the limit: read on, then refuse */
			jpki_buf_free(&rq->body);
		}
		if (rq->too_large && (rq->discarded += *upload_size) > 64 * JPKI_OCSP_REQUEST_MAX)
			return MHD_NO; /* a body without end: close the connection */
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_large)
		return send_text(s, c, rq, url, MHD_HTTP_CONTENT_TOO_LARGE, "request too large\n");
	if (rq->method == 0)
		return send_text(s, c, rq, url, MHD_HTTP_NOT_IMPLEMENTED, "method not implemented\n");
	return dispatch(s, c, rq, url);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
             enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *req_cls;

	if (rq == NULL)
		return;
	jpki_buf_free(&rq->body);
	free(rq);
	*req_cls = NULL;
}

/* Paths are taken as sent: the OCSP GET route decodes its own escapes, and
 * no other route has any. */
static size_t
keep_escapes(void *cls, struct MHD_Connection *c, char *uri)
{
	return strlen(uri);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	jpki_server_t *s = cls;

	/* Kept only while starting (the reason a bind failed); afterwards MHD
	 * reports mostly clients that went away, which jpkid keeps quiet about. */
	if (s->starting)
		vsnprintf(s->start_err, sizeof(s->start_err), fmt, ap);
}

/* "ADDR[:PORT]" or "[V6]:PORT" into a socket address; port 8080 if none. */
static int
parse_listen(const char *spec, long port_override, struct sockaddr_storage *ss, int *v6)
{
	char host[256], port[8] = "8080";
	const char *colon, *p;
	struct addrinfo hints, *res = NULL;
	size_t hl;
	int e;

	if (spec == NULL || *spec == '\0')
		spec = "127.0.0.1:8080";
	if (spec[0] == '[') {
		if ((p = strchr(spec, ']')) == NULL)
			goto bad;
		hl = (size_t)(p - spec - 1);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		colon = p[1] == ':' ? p + 1 : NULL;
		if (p[1] != '\0' && colon == NULL)
			goto bad;
	} else {
		colon = strrchr(spec, ':');
		if (colon != NULL && strchr(spec, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		hl = colon ? (size_t)(colon - spec) : strlen(spec);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, spec, hl);
		host[hl] = '\0';
	}
	if (colon != NULL) {
		size_t pl = strlen(colon + 1);
		if (pl == 0 || pl > 5 || strspn(colon + 1, "0123456789") != pl || atoi(colon + 1) > 65535)
			goto bad;
		memcpy(port, colon + 1, pl + 1);
	}
	if (port_override >= 0 && port_override <= 65535)
		snprintf(port, sizeof(port), "%ld", port_override);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0 || res == NULL ||
	    res->ai_addrlen > sizeof(*ss)) {
		jpki_set_detail("listen address '%s': %s", spec, e ? gai_strerror(e) : "no address");
		if (res != NULL)
			freeaddrinfo(res);
		return JPKI_ERR_INVALID_ARG;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
bad:
	jpki_set_detail("listen address '%s': want ADDR[:PORT] or [IPV6]:PORT", spec);
	return JPKI_ERR_INVALID_ARG;
}

static int
load_ca_files(jpki_server_t *s)
{
	char fp[2][128];
	int k, r;

	for (k = 0; k < 2; k++) {
		X509 *x = ocsp_svc_ca_cert(s->ocsp, (jpki_ca_kind_t)k);
		BIO *b = BIO_new(BIO_s_mem());
		char *p;
		long n;
		if (b == NULL || PEM_write_bio_X509(b, x) != 1 || (n = BIO_get_mem_data(b, &p)) <= 0 ||
		    (s->pem[k] = malloc((size_t)n)) == NULL) {
			BIO_free(b);
			return JPKI_ERR_CRYPTO;
		}
		memcpy(s->pem[k], p, (size_t)n);
		s->pem_len[k] = (size_t)n;
		BIO_free(b);
		if ((r = jpki_x509_fingerprint_sha256(x, fp[k], sizeof(fp[k]))) != 0)
			return r;
		/* The fingerprint names the certificate: a good entity tag. */
		snprintf(s->pem_etag[k], sizeof(s->pem_etag[k]), "\"%.2s%.2s%.2s%.2s%.2s%.2s%.2s%.2s\"",
		         fp[k], fp[k] + 3, fp[k] + 6, fp[k] + 9, fp[k] + 12, fp[k] + 15, fp[k] + 18,
		         fp[k] + 21);
	}
	snprintf(s->fp_json, sizeof(s->fp_json), "{\"sign\":\"%s\",\"auth\":\"%s\"}\n", fp[0], fp[1]);
	snprintf(s->fp_etag, sizeof(s->fp_etag), "\"%.16s%.16s\"", s->pem_etag[0] + 1,
	         s->pem_etag[1] + 1);
	return 0;
}

void
jpki_server_stop(jpki_server_t *s)
{
	int k;

	if (s == NULL)
		return;
	if (s->d != NULL)
		MHD_stop_daemon(s->d);
	ocsp_svc_free(s->ocsp);
	api_svc_free(s->api);
	for (k = 0; k < 2; k++)
		free(s->pem[k]);
	if (s->log != NULL && s->log != stderr)
		fclose(s->log);
	free(s->log_path);
	pthread_mutex_destroy(&s->log_mu);
	free(s);
}

int
jpki_server_start(const jpki_server_opts_t *o, jpki_server_t **out)
{
	jpki_server_t *s;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *di;
	unsigned threads = o->threads > 0 ? o->threads : 2;
	int v6 = 0, r;

	*out = NULL;
	if (o->ca_dir == NULL) {
		jpki_set_detail("no CA directory (--ca-dir or ca_dir =)");
		return JPKI_ERR_INVALID_ARG;
	}
	if (o->port > 65535) {
		jpki_set_detail("port %ld is over 65535", o->port);
		return JPKI_ERR_INVALID_ARG;
	}
	if ((r = parse_listen(o->listen, o->port, &ss, &v6)) != 0)
		return r;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return JPKI_ERR_NOMEM;
	pthread_mutex_init(&s->log_mu, NULL);
	s->started = time(NULL);
	if (strlen(o->ca_dir) >= sizeof(s->ca_dir)) {
		r = JPKI_ERR_RANGE;
		goto out;
	}
	snprintf(s->ca_dir, sizeof(s->ca_dir), "%s", o->ca_dir);
	if (o->access_log != NULL) {
		if (strcmp(o->access_log, "-") == 0) {
			s->log = stderr;
		} else {
			if ((s->log_path = strdup(o->access_log)) == NULL) {
				r = JPKI_ERR_NOMEM;
				goto out;
			}
			if ((r = open_log(s)) != 0)
				goto out;
		}
	}
	if ((r = ocsp_svc_new(o, &s->ocsp)) != 0 || (r = load_ca_files(s)) != 0 ||
	    (r = api_svc_new(o, &s->api)) != 0)
		goto out;
	s->starting = 1;
	s->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
	                        (v6 ? MHD_USE_IPv6 : 0),
	                        0, NULL, NULL, on_request, s,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                        MHD_OPTION_THREAD_POOL_SIZE, threads,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	                        MHD_OPTION_UNESCAPE_CALLBACK, keep_escapes, NULL,
	                        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
	                        MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	                        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
	                        MHD_OPTION_END);
	s->starting = 0;
	if (s->d == NULL) {
		/* MHD's messages end in a newline; the detail is one line. */
		s->start_err[strcspn(s->start_err, "\r\n")] = '\0';
		jpki_set_detail("cannot listen on %s%s%s", o->listen ? o->listen : "127.0.0.1:8080",
		                s->start_err[0] ? ": " : "", s->start_err);
		r = JPKI_ERR_IO;
		goto out;
	}
	if ((di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT)) == NULL) {
		r = JPKI_ERR_INTERNAL;
		goto out;
	}
	s->port = di->port;
	*out = s;
	s = NULL;
	r = 0;
out:
	jpki_server_stop(s);
	return r;
}

unsigned
jpki_server_port(const jpki_server_t *s)
{
	return s->port;
}
