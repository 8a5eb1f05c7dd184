/*
 * jpkid's HTTP/1.1 server: a few epoll event loops sharing one listening
 * socket (each serves the connections it accepts), keep-alive and
 * pipelined requests, a route table, and the handlers for OCSP, CRLs, CA
 * certificates, health and the online window's API.  The OCSP answers themselves come from ocsp_svc.c, requests are read
 * by http.c's parser, and API calls (api.c, which may take a CA signature
 * and a store transaction) run in a small pool of worker threads so that
 * no loop waits on one.
 *
 * Each loop owns its connections: a fixed input buffer per connection (a
 * request head and an OCSP body fit in it, so they are parsed in place), a
 * fixed output buffer that responses are formatted into, and, past it, at
 * most one larger body (a CRL file, an API answer).  A cached OCSP answer
 * goes from the cache to the output buffer with no allocation, and a
 * connection's responses leave in one write.  Sockets are edge-triggered;
 * a short read or write stands for "drained" until epoll says otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

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
#define IN_CAP (HTTP_HEAD_MAX + JPKI_OCSP_REQUEST_MAX + 8192) /* a head and an OCSP body, and some */
#define OUT_CAP 16384
#define HDR_ROOM 2048         /* free in out[] before a response is begun */
#define IDLE_S 30             /* an idle connection, a request or a response stalled so long: closed */
#define LINGER_S 2            /* after the last response of a closing connection */
#define LINGER_MAX (1 << 20)  /* bytes read and thrown away while lingering */
#define CONNS_MAX 8192        /* connections at most (fewer if RLIMIT_NOFILE says so) */
#define ACCEPT_BATCH 64
#define STOP_GRACE_MS 5000    /* jpki_server_stop waits so long for requests under way */
#define EVENTS 128

enum { C_HEAD, C_BODY, C_API, C_LINGER };   /* what a connection is doing */
enum { T_NONE, T_MEM, T_FREE, T_FILE };     /* the body sent after out[] */
enum { B_COPY, B_STATIC, B_FREE };          /* how a body is handed to resp_body */
enum { R_NEED_IN, R_OUT_FULL, R_BUSY, R_CLOSE };

struct loop;

struct conn {
	struct conn *prev, *next;   /* the loop's connections */
	struct conn *qnext;         /* in the API queue or the done list */
	struct loop *lp;
	int fd;
	int state;                  /* C_* */
	int rd_ready, wr_ready;     /* may read (write) without EAGAIN, as far as we know */
	int close_after;            /* close once out is sent */
	int64_t last;               /* monotonic seconds of the last progress */
	int64_t req_start;          /* when the request under way began to arrive */
	char peer[INET6_ADDRSTRLEN];

	/* The request under way: its head at in[in_off..], parsed in place. */
	struct http_req rq;
	size_t in_len, in_off;
	size_t head_len, req_end;   /* req_end: where the next request starts */
	int64_t body_in;            /* Content-Length body kept in in[]: its length; -1 otherwise */
	size_t raw_off;             /* chunked: undecoded bytes start there in in[] */
	struct http_chunked ck;
	uint8_t *body;              /* chunked bodies, bodies larger than in[]: malloc'd */
	size_t body_len, body_cap;
	int sent_continue;
	struct timespec t0;

	/* Output: out[out_off..out_len), then the tail. */
	size_t out_len, out_off;
	int tail;                   /* T_* */
	const uint8_t *tail_p;
	size_t tail_len, tail_off;
	int tail_fd;
	off_t tail_pos;
	int oflow;                  /* a response did not fit out[]: a bug; the connection closes */

	/* The API call under way (C_API). */
	struct api_req ar;
	struct api_resp ap;
	int api_rc;

	char in[IN_CAP];
	uint8_t out[OUT_CAP];
};

struct loop {
	jpki_server_t *s;
	int ep, efd;
	pthread_t th;
	int have_th;
	int listening;              /* the listener is in ep */
	struct conn *conns;
	pthread_mutex_t mu;         /* guards done */
	struct conn *done;          /* API calls answered, back from the workers */
	int64_t now;                /* monotonic seconds, once an iteration */
	time_t date_t;
	char date[32];              /* the Date header's value, once a second */
	uint8_t scratch[OUT_CAP];   /* an OCSP answer on its way to out[] */
};

struct jpki_server {
	struct ocsp_svc *ocsp;
	struct api_svc *api;
	int lfd;
	struct loop *loops;
	unsigned nloops;
	_Atomic int nconns;
	int conns_max;
	_Atomic int stopping;

	/* API workers */
	pthread_mutex_t wmu;
	pthread_cond_t wcv;
	struct conn *wq_head, *wq_tail;
	int wstop;
	pthread_t *workers;
	unsigned nworkers;

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
access_log(struct conn *c, unsigned status, size_t len, const char *note)
{
	static const char *const names[] = {"-", "GET", "HEAD", "-", "POST"};
	jpki_server_t *s = c->lp->s;
	const char *url = c->rq.target != NULL ? c->rq.target : "-";
	char when[32], path[LOG_PATH_SHOWN + 4];
	struct timespec t1;
	size_t i;
	long long us;

	if (s->log == NULL)
		return;
	/* The path as sent, cut short, with nothing that could forge a line. */
	for (i = 0; url[i] && i < LOG_PATH_SHOWN; i++)
		path[i] = (url[i] > 0x20 && url[i] < 0x7f) ? url[i] : '?';
	if (url[i])
		path[i++] = '~';
	path[i] = '\0';
	jpki_cli_iso_time(time(NULL), when, sizeof(when));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (long long)(t1.tv_sec - c->t0.tv_sec) * 1000000 + (t1.tv_nsec - c->t0.tv_nsec) / 1000;
	pthread_mutex_lock(&s->log_mu);
	if (s->log != NULL)
		fprintf(s->log, "%s %s %s %s %u %zu %lldus%s%s\n", when, c->peer,
		        c->rq.method <= HTTP_M_POST ? names[c->rq.method] : "-", path, status, len, us,
		        note ? " " : "", note ? note : "");
	pthread_mutex_unlock(&s->log_mu);
}

/* ---- responses, formatted into out[] ---- */

static const char *
reason(unsigned status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 423: return "Locked";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

static void
out_put(struct conn *c, const void *p, size_t n)
{
	if (n > OUT_CAP - c->out_len) {
		c->oflow = 1;
		return;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

static void
out_str(struct conn *c, const char *s)
{
	out_put(c, s, strlen(s));
}

static void
out_u64(struct conn *c, uint64_t v)
{
	char b[24];
	size_t i = sizeof(b);

	do
		b[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	out_put(c, b + i, sizeof(b) - i);
}

static void
hdr(struct conn *c, const char *name, const char *value)
{
	out_str(c, name);
	out_put(c, ": ", 2);
	out_str(c, value);
	out_put(c, "\r\n", 2);
}

/* The status line, Date and Connection. */
static void
resp_start(struct conn *c, unsigned status)
{
	struct loop *lp = c->lp;
	time_t t = time(NULL);

	if (!c->rq.keep_alive || atomic_load_explicit(&lp->s->stopping, memory_order_relaxed))
		c->close_after = 1;
	if (t != lp->date_t) {
		http_date(t, lp->date);
		lp->date_t = t;
	}
	out_put(c, "HTTP/1.1 ", 9);
	out_u64(c, status);
	out_put(c, " ", 1);
	out_str(c, reason(status));
	out_put(c, "\r\nDate: ", 8);
	out_str(c, lp->date);
	out_put(c, "\r\n", 2);
	if (c->close_after)
		out_str(c, "Connection: close\r\n");
	else if (c->rq.minor == 0)
		out_str(c, "Connection: keep-alive\r\n");
}

/* Content-Length, the blank line, the body (none for HEAD and 304), the log. */
static void
resp_body(struct conn *c, unsigned status, const void *p, size_t len, int how, const char *note)
{
	int send = status != 304 && c->rq.method != HTTP_M_HEAD && len > 0;

	if (status != 304) {
		out_str(c, "Content-Length: ");
		out_u64(c, len);
		out_put(c, "\r\n", 2);
	}
	out_put(c, "\r\n", 2);
	if (send && len <= OUT_CAP - c->out_len) {
		out_put(c, p, len);
		if (how == B_FREE)
			free((void *)p);
	} else if (send) {
		/* Larger than what is left of out[]: sent after it. */
		if (how == B_COPY) {
			void *q = malloc(len);
			if (q == NULL) {
				c->oflow = 1;
				return;
			}
			memcpy(q, p, len);
			p = q;
			how = B_FREE;
		}
		c->tail = how == B_FREE ? T_FREE : T_MEM;
		c->tail_p = p;
		c->tail_len = len;
		c->tail_off = 0;
	} else if (how == B_FREE) {
		free((void *)p);
	}
	access_log(c, status, status == 304 ? 0 : len, note);
}

/* resp_body for a file: sent from fd (taken) after out[]. */
static void
resp_file(struct conn *c, unsigned status, int fd, size_t len)
{
	out_str(c, "Content-Length: ");
	out_u64(c, len);
	out_put(c, "\r\n\r\n", 4);
	if (c->rq.method == HTTP_M_HEAD || len == 0) {
		close(fd);
	} else {
		c->tail = T_FILE;
		c->tail_fd = fd;
		c->tail_pos = 0;
		c->tail_len = len;
		c->tail_off = 0;
	}
	access_log(c, status, len, NULL);
}

static void
reply_text(struct conn *c, unsigned status, const char *text)
{
	resp_start(c, status);
	out_str(c, "Content-Type: text/plain; charset=utf-8\r\n");
	resp_body(c, status, text, strlen(text), B_STATIC, NULL);
}

/* 304 when the client's validators say it has this representation. */
static int
not_modified(struct conn *c, const char *etag, time_t mtime)
{
	time_t t;

	if (c->rq.if_none_match != NULL)
		return etag != NULL && http_etag_matches(c->rq.if_none_match, etag);
	return c->rq.if_modified_since != NULL && mtime != 0 &&
	       http_date_parse(c->rq.if_modified_since, &t) == 0 && mtime <= t;
}

/* ---- OCSP ---- */

static void
ocsp_reply(struct conn *c, const uint8_t *req, size_t len, int is_get)
{
	jpki_server_t *s = c->lp->s;
	struct ocsp_answer a;
	unsigned status = 200;

	a.buf = c->lp->scratch;
	a.cap = sizeof(c->lp->scratch);
	if (ocsp_svc_answer(s->ocsp, req, len, &a) != 0) {
		reply_text(c, 500, "out of memory\n");
		return;
	}
	if (a.http_cacheable && is_get && not_modified(c, a.etag, 0))
		status = 304;
	resp_start(c, status);
	out_str(c, "Content-Type: application/ocsp-response\r\n");
	if (a.http_cacheable) {
		long long age = (long long)(a.next_update - ocsp_svc_now(s->ocsp));
		hdr(c, "Last-Modified", a.last_modified);
		hdr(c, "Expires", a.expires);
		/* RFC 5019 6.2: cacheable until nextUpdate, never beyond it. */
		out_str(c, "Cache-Control: max-age=");
		out_u64(c, age > 0 ? (uint64_t)age : 0);
		out_str(c, ", public, no-transform, must-revalidate\r\n");
		hdr(c, "ETag", a.etag);
	} else {
		/* A nonce's answer, an error, a serial never issued: not for caches. */
		out_str(c, "Cache-Control: no-cache, no-store\r\n");
	}
	resp_body(c, status, a.der, status == 304 ? 0 : a.len, a.der == a.buf ? B_COPY : B_FREE,
	          a.what);
}

static void
h_ocsp_post(struct conn *c, const char *url, const char *rest, const uint8_t *body, size_t len)
{
	ocsp_reply(c, body, len, 0);
}

static void
h_ocsp_get(struct conn *c, const char *url, const char *rest, const uint8_t *body, size_t len)
{
	uint8_t der[JPKI_OCSP_REQUEST_MAX];
	size_t n = 0;

	/* A request that does not decode is a malformed request, answered as such. */
	if (jpki_ocsp_decode_get(rest, strlen(rest), der, sizeof(der), &n) != 0)
		n = 0;
	ocsp_reply(c, der, n, 1);
}

/* ---- CRLs ---- */

static void
h_crl(struct conn *c, const char *url, const char *rest, const uint8_t *body, size_t len)
{
	jpki_server_t *s = c->lp->s;
	jpki_ca_kind_t kind;
	int64_t part;
	int delta, fd;
	char path[PATH_MAX], etag[80], lm[32];
	struct stat st;

	if (http_crl_path_parse(rest, &kind, &part, &delta) != 0) {
		reply_text(c, 404, "not found\n");
		return;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/crl/%s/%lld%s.crl", s->ca_dir,
	                     jpki_ca_kind_name(kind), (long long)part,
	                     delta ? "-delta" : "") >= sizeof(path)) {
		reply_text(c, 404, "not found\n");
		return;
	}
	/* The file as jpki-ca last renamed it into place: opened per request, so
	 * a new CRL is served at once and the one being sent stays whole. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		reply_text(c, 404, "not found\n");
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CRL_FILE_MAX) {
		close(fd);
		reply_text(c, 404, "not found\n");
		return;
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%llx.%09ld\"", (unsigned long long)st.st_ino,
	         (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec,
	         (long)st.st_mtim.tv_nsec);
	http_date(st.st_mtim.tv_sec, lm);
	if (not_modified(c, etag, st.st_mtim.tv_sec)) {
		close(fd);
		resp_start(c, 304);
		hdr(c, "ETag", etag);
		hdr(c, "Last-Modified", lm);
		resp_body(c, 304, NULL, 0, B_STATIC, NULL);
		return;
	}
	resp_start(c, 200);
	out_str(c, "Content-Type: application/pkix-crl\r\n");
	hdr(c, "ETag", etag);
	hdr(c, "Last-Modified", lm);
	resp_file(c, 200, fd, (size_t)st.st_size);
}

/* ---- CA certificates, health ---- */

static void
send_static(struct conn *c, const char *body, size_t len, const char *type, const char *etag)
{
	int nm = not_modified(c, etag, 0);

	resp_start(c, nm ? 304 : 200);
	if (!nm)
		hdr(c, "Content-Type", type);
	hdr(c, "ETag", etag);
	resp_body(c, nm ? 304 : 200, body, nm ? 0 : len, B_STATIC, NULL);
}

static void
h_ca_pem(struct conn *c, const char *url, const char *rest, const uint8_t *body, size_t len)
{
	jpki_server_t *s = c->lp->s;
	int k = strcmp(url, "/ca/auth.pem") == 0;

	send_static(c, s->pem[k], s->pem_len[k], "application/x-pem-file", s->pem_etag[k]);
}

static void
h_fingerprints(struct conn *c, const char *url, const char *rest, const uint8_t *body, size_t len)
{
	jpki_server_t *s = c->lp->s;

	send_static(c, s->fp_json, strlen(s->fp_json), "application/json", s->fp_etag);
}

static void
h_health(struct conn *c, const char *url, const char *rest, const uint8_t *body, size_t len)
{
	jpki_server_t *s = c->lp->s;
	struct ocsp_stats st;
	char text[512];
	unsigned status;
	int n;

	ocsp_svc_stats(s->ocsp, &st);
	n = snprintf(text, sizeof(text),
	             "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_s\":%lld,\"event_seq\":%lld,"
	             "\"ocsp_cache\":%zu,\"poll_age_ms\":%lld,\"prefill_left\":%lld}\n",
	             st.fresh ? "ok" : "store-unreachable", JPKID_VERSION,
	             (long long)(time(NULL) - s->started), (long long)st.event_seq, st.entries,
	             (long long)st.poll_age_ms, (long long)st.prefill_left);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		reply_text(c, 500, "internal error\n");
		return;
	}
	status = st.fresh ? 200 : 503;
	resp_start(c, status);
	out_str(c, "Content-Type: application/json\r\nCache-Control: no-cache, no-store\r\n");
	resp_body(c, status, text, (size_t)n, B_COPY, NULL);
}

/* ---- the online window's JSON API (api.c), in the worker pool ---- */

static void
h_api(struct conn *c, const char *url, const char *rest, const uint8_t *body, size_t len)
{
	jpki_server_t *s = c->lp->s;

	memset(&c->ar, 0, sizeof(c->ar));
	memset(&c->ap, 0, sizeof(c->ap));
	c->ar.method = c->rq.method == HTTP_M_POST ? "POST" : c->rq.method == HTTP_M_GET ? "GET" : "HEAD";
	c->ar.path = url;
	c->ar.authorization = c->rq.authorization;
	c->ar.body = len ? body : NULL;
	c->ar.body_len = len;
	c->ar.peer = c->peer;
	/* The request stays where it is (in[], body) until the call returns:
	 * the loop leaves a connection in C_API alone. */
	c->state = C_API;
	c->qnext = NULL;
	pthread_mutex_lock(&s->wmu);
	if (s->wq_tail != NULL)
		s->wq_tail->qnext = c;
	else
		s->wq_head = c;
	s->wq_tail = c;
	pthread_cond_signal(&s->wcv);
	pthread_mutex_unlock(&s->wmu);
}

static void *
worker_main(void *arg)
{
	jpki_server_t *s = arg;
	struct conn *c;
	uint64_t one = 1;

	for (;;) {
		pthread_mutex_lock(&s->wmu);
		while (s->wq_head == NULL && !s->wstop)
			pthread_cond_wait(&s->wcv, &s->wmu);
		if ((c = s->wq_head) == NULL) {
			pthread_mutex_unlock(&s->wmu);
			return NULL; /* stopped, and nothing left to do */
		}
		if ((s->wq_head = c->qnext) == NULL)
			s->wq_tail = NULL;
		pthread_mutex_unlock(&s->wmu);
		c->api_rc = api_handle(s->api, &c->ar, &c->ap);
		pthread_mutex_lock(&c->lp->mu);
		c->qnext = c->lp->done;
		c->lp->done = c;
		pthread_mutex_unlock(&c->lp->mu);
		if (write(c->lp->efd, &one, sizeof(one)) < 0) {
			/* the counter is far from full; nothing to do */
		}
	}
}

/* Back in the loop: the API's answer. */
static void
api_reply(struct conn *c)
{
	unsigned status = (unsigned)c->ap.status;

	if (c->api_rc != 0 || status < 200 || status > 599) {
		free(c->ap.body);
		c->ap.body = NULL;
		reply_text(c, 500, "internal error\n");
		c->close_after = 1;
		return;
	}
	resp_start(c, status);
	out_str(c, "Content-Type: application/json\r\nCache-Control: no-store\r\n");
	if (c->ap.www_authenticate != NULL && strlen(c->ap.www_authenticate) < 1024 &&
	    strpbrk(c->ap.www_authenticate, "\r\n") == NULL)
		hdr(c, "WWW-Authenticate", c->ap.www_authenticate);
	resp_body(c, status, c->ap.body, c->ap.body ? c->ap.len : 0, B_FREE, c->ap.what);
	c->ap.body = NULL;
}

/* ---- routes ---- */

typedef void (*handler_fn)(struct conn *c, const char *url, const char *rest, const uint8_t *body,
                           size_t len);

/* A route: an exact path, or a prefix when it ends in '/' (the handler gets
 * the rest).  Routes for the online window go here too. */
struct route {
	const char *path;
	unsigned methods;
	handler_fn fn;
};

static const struct route routes[] = {
	{"/health", HTTP_M_GET | HTTP_M_HEAD, h_health},
	{"/ocsp/sign", HTTP_M_POST, h_ocsp_post},
	{"/ocsp/auth", HTTP_M_POST, h_ocsp_post},
	{"/ocsp", HTTP_M_POST, h_ocsp_post},
	{"/", HTTP_M_POST, h_ocsp_post},
	{"/ocsp/sign/", HTTP_M_GET | HTTP_M_HEAD, h_ocsp_get},
	{"/ocsp/auth/", HTTP_M_GET | HTTP_M_HEAD, h_ocsp_get},
	{"/crl/", HTTP_M_GET | HTTP_M_HEAD, h_crl},
	{"/ca/sign.pem", HTTP_M_GET | HTTP_M_HEAD, h_ca_pem},
	{"/ca/auth.pem", HTTP_M_GET | HTTP_M_HEAD, h_ca_pem},
	{"/ca/fingerprints", HTTP_M_GET | HTTP_M_HEAD, h_fingerprints},
	{"/window/", HTTP_M_GET | HTTP_M_POST, h_api},
	{"/line/", HTTP_M_POST, h_api},
	{"/office/", HTTP_M_POST, h_api},
};

static void
dispatch(struct conn *c, const uint8_t *body, size_t len)
{
	const char *url = c->rq.target;
	unsigned allowed = 0;
	size_t i;

	if (c->rq.method == HTTP_M_OTHER) {
		reply_text(c, 501, "method not implemented\n");
		return;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *rt = &routes[i];
		size_t pl = strlen(rt->path);
		int prefix = pl > 1 && rt->path[pl - 1] == '/';
		if (prefix ? strncmp(url, rt->path, pl) != 0 || url[pl] == '\0'
		           : strcmp(url, rt->path) != 0)
			continue;
		if (rt->methods & c->rq.method) {
			rt->fn(c, url, prefix ? url + pl : "", body, len);
			return;
		}
		allowed |= rt->methods;
	}
	if (allowed) {
		const char *text = "method not allowed\n";
		resp_start(c, 405);
		out_str(c, "Content-Type: text/plain; charset=utf-8\r\nAllow: ");
		out_str(c, (allowed & HTTP_M_GET) ? "GET, HEAD" : "");
		out_str(c, (allowed & HTTP_M_GET) && (allowed & HTTP_M_POST) ? ", " : "");
		out_str(c, (allowed & HTTP_M_POST) ? "POST" : "");
		out_put(c, "\r\n", 2);
		resp_body(c, 405, text, strlen(text), B_STATIC, NULL);
		return;
	}
	reply_text(c, 404, "not found\n");
}

/* ---- connections ---- */

static int64_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec;
}

static void
tail_release(struct conn *c)
{
	if (c->tail == T_FREE)
		free((void *)c->tail_p);
	else if (c->tail == T_FILE)
		close(c->tail_fd);
	c->tail = T_NONE;
	c->tail_p = NULL;
}

static void
conn_close(struct conn *c)
{
	struct loop *lp = c->lp;

	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		lp->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	tail_release(c);
	free(c->body);
	free(c->ap.body);
	atomic_fetch_sub(&lp->s->nconns, 1);
	free(c);
}

static int
out_pending(const struct conn *c)
{
	return c->out_off < c->out_len || c->tail != T_NONE;
}

/* Send what can be sent.  -1: the connection is broken. */
static int
conn_flush(struct conn *c)
{
	while (out_pending(c)) {
		struct iovec iov[2];
		size_t want;
		ssize_t n;
		int cnt = 0;
		if (c->out_off < c->out_len) {
			iov[cnt].iov_base = c->out + c->out_off;
			iov[cnt++].iov_len = c->out_len - c->out_off;
		}
		if (c->tail == T_MEM || c->tail == T_FREE) {
			iov[cnt].iov_base = (void *)(c->tail_p + c->tail_off);
			iov[cnt++].iov_len = c->tail_len - c->tail_off;
		}
		if (cnt > 0) {
			want = iov[0].iov_len + (cnt > 1 ? iov[1].iov_len : 0);
			n = cnt == 1 ? send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL)
			             : writev(c->fd, iov, cnt);
		} else { /* T_FILE */
			want = c->tail_len - c->tail_off;
			n = sendfile(c->fd, c->tail_fd, &c->tail_pos, want > (1u << 20) ? 1u << 20 : want);
			if (n == 0)
				return -1; /* the file shrank under us */
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->wr_ready = 0;
				return 0;
			}
			return -1;
		}
		c->last = c->lp->now;
		if (cnt > 0) {
			size_t k = (size_t)n, o = c->out_len - c->out_off;
			if (k >= o) {
				c->out_off = c->out_len;
				c->tail_off += k - o;
			} else {
				c->out_off += k;
			}
		} else {
			c->tail_off += (size_t)n;
		}
		if (c->out_off == c->out_len)
			c->out_off = c->out_len = 0;
		if (c->tail != T_NONE && c->tail_off >= c->tail_len)
			tail_release(c);
		if ((size_t)n < want) {
			c->wr_ready = 0; /* the socket buffer is full: EPOLLOUT will say when */
			return 0;
		}
	}
	return 0;
}

/* Where the next bytes from the socket go. */
static void
read_target(struct conn *c, char **dst, size_t *space)
{
	if (c->state == C_BODY && c->body != NULL && !c->rq.chunked) {
		*dst = (char *)c->body + c->body_len;
		*space = c->body_cap - c->body_len;
	} else {
		*dst = c->in + c->in_len;
		*space = IN_CAP - c->in_len;
	}
}

/* Read once.  -1: end of stream or an error. */
static int
conn_read(struct conn *c)
{
	char *dst;
	size_t space;
	ssize_t n;

	read_target(c, &dst, &space);
	if (space == 0)
		return 0;
	if (c->state == C_HEAD && c->in_len == c->in_off)
		c->req_start = c->lp->now;
	n = recv(c->fd, dst, space, 0);
	if (n > 0) {
		if (dst == c->in + c->in_len)
			c->in_len += (size_t)n;
		else
			c->body_len += (size_t)n;
		if ((size_t)n < space)
			c->rd_ready = 0; /* drained; EPOLLIN will say when more comes */
		c->last = c->lp->now;
		return 0;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->rd_ready = 0;
		return 0;
	}
	if (n < 0 && errno == EINTR)
		return 0;
	return -1;
}

/* An error that ends the connection once answered. */
static void
reply_fatal(struct conn *c, unsigned status)
{
	const char *text = status == 413 ? "request too large\n" :
	                   status == 431 ? "request header too large\n" :
	                   status == 501 ? "transfer coding not implemented\n" :
	                   status == 505 ? "HTTP version not supported\n" : "bad request\n";

	c->close_after = 1;
	if (c->rq.method > HTTP_M_POST)
		c->rq.method = HTTP_M_OTHER;
	reply_text(c, status, text);
}

/* The head is in: see to the body.  0, or an HTTP status to refuse with. */
static unsigned
body_begin(struct conn *c)
{
	size_t limit = api_path(c->rq.target) ? API_BODY_MAX : JPKI_OCSP_REQUEST_MAX;
	size_t start = c->in_off + c->head_len, have = c->in_len - start;
	int64_t cl = c->rq.content_length;

	c->body_in = -1;
	c->sent_continue = 0;
	if (cl > (int64_t)limit)
		return 413; /* refused before it is read */
	if (c->rq.chunked) {
		if ((c->body = malloc(limit)) == NULL)
			return 500;
		c->body_cap = limit;
		c->body_len = 0;
		memset(&c->ck, 0, sizeof(c->ck));
		c->raw_off = start;
		c->state = C_BODY;
	} else if (cl > 0 && (size_t)cl <= IN_CAP - start) {
		c->body_in = cl; /* read into in[] after the head */
		c->req_end = start + (size_t)cl;
		c->state = C_BODY;
	} else if (cl > 0) {
		size_t k = have < (size_t)cl ? have : (size_t)cl;
		if ((c->body = malloc((size_t)cl)) == NULL)
			return 500;
		c->body_cap = (size_t)cl;
		memcpy(c->body, c->in + start, k);
		c->body_len = k;
		memmove(c->in + start, c->in + start + k, have - k);
		c->in_len -= k;
		c->req_end = start;
		c->state = C_BODY;
	} else {
		c->req_end = start;
	}
	return 0;
}

/* 1 when the body is whole, 0 when more must come, or minus a status. */
static int
body_step(struct conn *c)
{
	if (c->rq.chunked) {
		size_t n = c->in_len - c->raw_off, used = 0;
		int r = http_chunked_decode(&c->ck, (const uint8_t *)c->in + c->raw_off, n, &used,
		                            c->body, &c->body_len, c->body_cap);
		memmove(c->in + c->raw_off, c->in + c->raw_off + used, n - used);
		c->in_len -= used;
		if (r == 1)
			c->req_end = c->raw_off;
		return r;
	}
	if (c->body != NULL)
		return c->body_len == c->body_cap;
	return c->in_len >= c->req_end;
}

/* The request is answered: on to the next one. */
static void
request_done(struct conn *c)
{
	c->in_off = c->req_end;
	c->state = C_HEAD;
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_cap = 0;
	c->req_start = c->lp->now;
}

/* Answer every whole request in in[] that out[] has room for. */
static int
conn_serve(struct conn *c)
{
	for (;;) {
		int r;
		if (c->oflow)
			return R_CLOSE;
		if (c->state == C_API)
			return R_BUSY;
		if (c->close_after || c->tail != T_NONE || OUT_CAP - c->out_len < HDR_ROOM)
			return R_OUT_FULL;
		if (c->state == C_HEAD) {
			unsigned refuse;
			if (c->in_off > 0) {
				memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
				c->in_len -= c->in_off;
				c->in_off = 0;
			}
			if (c->in_len == 0)
				return R_NEED_IN;
			r = http_request_parse(c->in, c->in_len, &c->rq);
			if (r == 0)
				return R_NEED_IN;
			if (c->lp->s->log != NULL)
				clock_gettime(CLOCK_MONOTONIC, &c->t0);
			if (r < 0) {
				reply_fatal(c, (unsigned)-r);
				continue;
			}
			c->head_len = (size_t)r;
			if ((refuse = body_begin(c)) != 0) {
				reply_fatal(c, refuse);
				continue;
			}
		}
		if (c->state == C_BODY) {
			r = body_step(c);
			if (r < 0) {
				reply_fatal(c, (unsigned)-r);
				continue;
			}
			if (r == 0) {
				if (c->rq.expect_continue && c->rq.minor == 1 && !c->sent_continue) {
					out_str(c, "HTTP/1.1 100 Continue\r\n\r\n");
					c->sent_continue = 1;
				}
				return R_NEED_IN;
			}
		}
		if (c->body != NULL)
			dispatch(c, c->body, c->body_len);
		else if (c->body_in > 0)
			dispatch(c, (const uint8_t *)c->in + c->in_off + c->head_len, (size_t)c->body_in);
		else
			dispatch(c, NULL, 0);
		if (c->state == C_API)
			return R_BUSY;
		request_done(c);
	}
}

/* Close the sending side, then read and drop what the client still sends
 * (an unread request would turn close() into a reset that can destroy the
 * answer in flight), until it closes too. */
static void
conn_linger(struct conn *c)
{
	char sink[16384];
	size_t total = 0;
	ssize_t n;

	if (c->state != C_LINGER) {
		shutdown(c->fd, SHUT_WR);
		c->state = C_LINGER;
		c->last = c->lp->now;
		c->rd_ready = 1;
	}
	while (total < LINGER_MAX) {
		n = recv(c->fd, sink, sizeof(sink), 0);
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;
	}
	conn_close(c);
}

static void
conn_run(struct conn *c)
{
	for (;;) {
		int r;
		if (c->state == C_LINGER) {
			conn_linger(c);
			return;
		}
		r = conn_serve(c);
		if (r == R_CLOSE) {
			conn_close(c);
			return;
		}
		if (out_pending(c)) {
			if (!c->wr_ready)
				return;
			if (conn_flush(c) != 0) {
				conn_close(c);
				return;
			}
			if (out_pending(c))
				return; /* EPOLLOUT brings us back */
		}
		if (c->close_after) {
			conn_linger(c);
			return;
		}
		if (r == R_BUSY)
			return;
		if (r == R_OUT_FULL)
			continue;
		if (!c->rd_ready)
			return;
		if (conn_read(c) != 0) {
			conn_close(c);
			return;
		}
	}
}

static void
conn_attach(struct loop *lp, struct conn *c)
{
	struct epoll_event ev;

	c->lp = lp;
	c->last = c->req_start = lp->now;
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		close(c->fd);
		atomic_fetch_sub(&lp->s->nconns, 1);
		free(c);
		return;
	}
	c->prev = NULL;
	c->next = lp->conns;
	if (lp->conns != NULL)
		lp->conns->prev = c;
	lp->conns = c;
}

static void
accept_some(struct loop *lp)
{
	jpki_server_t *s = lp->s;
	int i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct conn *c;
		int fd, one = 1;

		fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: stop listening for a second, not spin. */
				epoll_ctl(lp->ep, EPOLL_CTL_DEL, s->lfd, NULL);
				lp->listening = 0;
			}
			return;
		}
		if (atomic_fetch_add(&s->nconns, 1) >= s->conns_max ||
		    (c = malloc(sizeof(*c))) == NULL) {
			atomic_fetch_sub(&s->nconns, 1);
			close(fd);
			continue;
		}
		memset(c, 0, offsetof(struct conn, in));
		c->fd = fd;
		c->wr_ready = 1;
		c->rq.keep_alive = 1;
		c->rq.minor = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->peer, sizeof(c->peer));
		else if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer, sizeof(c->peer));
		else
			snprintf(c->peer, sizeof(c->peer), "-");
		/* The loop that accepted it serves it (EPOLLEXCLUSIVE woke an idle
		 * one).  Measured against dealing connections out in turn: each
		 * client thread then talks to one loop, and the scheduler keeps the
		 * pair close; in turn was 5-10% slower under wrk. */
		conn_attach(lp, c);
	}
}

/* API calls done. */
static void
take_mail(struct loop *lp)
{
	struct conn *done, *c;
	uint64_t v;

	if (read(lp->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: someone else's wake-up was already taken */
	}
	pthread_mutex_lock(&lp->mu);
	done = lp->done;
	lp->done = NULL;
	pthread_mutex_unlock(&lp->mu);
	while ((c = done) != NULL) {
		done = c->qnext;
		c->state = C_BODY; /* leaves C_API; the request is still in place */
		api_reply(c);
		request_done(c);
		c->last = lp->now;
		conn_run(c);
	}
}

static int
conn_busy(const struct conn *c)
{
	return c->state == C_API || c->state == C_BODY || out_pending(c) ||
	       (c->state == C_HEAD && c->in_len > c->in_off);
}

/* Once a second: time limits; when stopping, idle connections go. */
static void
sweep(struct loop *lp, int stopping)
{
	struct conn *c, *next;
	struct epoll_event ev;

	for (c = lp->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == C_API)
			continue;
		if (c->state == C_LINGER) {
			if (lp->now - c->last >= LINGER_S || stopping)
				conn_close(c);
		} else if (out_pending(c)) {
			if (lp->now - c->last >= IDLE_S)
				conn_close(c);
		} else if (c->state == C_BODY || c->in_len > c->in_off) {
			if (lp->now - c->req_start >= IDLE_S)
				conn_close(c);
		} else if (lp->now - c->last >= IDLE_S || stopping) {
			conn_close(c);
		}
	}
	if (!lp->listening && !stopping) {
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.ptr = &lp->s->lfd;
		if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->s->lfd, &ev) == 0)
			lp->listening = 1;
	}
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
loop_main(void *arg)
{
	struct loop *lp = arg;
	jpki_server_t *s = lp->s;
	struct epoll_event ev[EVENTS];
	int64_t last_sweep = 0, stop_at = 0;
	struct conn *c, *next;
	int n, i;

	for (;;) {
		int stopping = atomic_load(&s->stopping);
		n = epoll_wait(lp->ep, ev, EVENTS, stopping ? 100 : 1000);
		lp->now = mono_s();
		for (i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;
			if (p == &s->lfd) {
				if (!stopping)
					accept_some(lp);
			} else if (p == &lp->efd) {
				take_mail(lp);
			} else {
				c = p;
				if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					c->rd_ready = 1;
				if (ev[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
					c->wr_ready = 1;
				if (c->state != C_API)
					conn_run(c);
			}
		}
		if (stopping) {
			int busy = 0;
			if (stop_at == 0) {
				stop_at = mono_ms() + STOP_GRACE_MS;
				if (lp->listening)
					epoll_ctl(lp->ep, EPOLL_CTL_DEL, s->lfd, NULL);
				lp->listening = 0;
				sweep(lp, 1);
			}
			for (c = lp->conns; c != NULL; c = next) {
				next = c->next;
				if (conn_busy(c))
					busy = 1;
				else
					conn_close(c); /* idle, or done and lingering */
			}
			if (!busy || mono_ms() >= stop_at)
				break;
		} else if (lp->now != last_sweep) {
			sweep(lp, 0);
			last_sweep = lp->now;
		}
	}
	/* What is left (a call still in a worker) is freed once the workers are done. */
	for (c = lp->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state != C_API)
			conn_close(c);
	}
	return NULL;
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
	struct conn *c, *next;
	uint64_t one = 1;
	unsigned i;
	int k;

	if (s == NULL)
		return;
	/* The loops stop accepting, finish what is under way (a few seconds at
	 * most), and end; then the workers finish their queue and end. */
	atomic_store(&s->stopping, 1);
	for (i = 0; i < s->nloops; i++)
		if (s->loops[i].have_th && write(s->loops[i].efd, &one, sizeof(one)) < 0) {
			/* never full */
		}
	for (i = 0; i < s->nloops; i++)
		if (s->loops[i].have_th)
			pthread_join(s->loops[i].th, NULL);
	pthread_mutex_lock(&s->wmu);
	s->wstop = 1;
	pthread_cond_broadcast(&s->wcv);
	pthread_mutex_unlock(&s->wmu);
	for (i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	for (i = 0; i < s->nloops; i++) {
		struct loop *lp = &s->loops[i];
		for (c = lp->conns; c != NULL; c = next) {
			next = c->next;
			conn_close(c);
		}
		if (lp->ep >= 0)
			close(lp->ep);
		if (lp->efd >= 0)
			close(lp->efd);
		pthread_mutex_destroy(&lp->mu);
	}
	free(s->loops);
	free(s->workers);
	if (s->lfd >= 0)
		close(s->lfd);
	ocsp_svc_free(s->ocsp);
	api_svc_free(s->api);
	for (k = 0; k < 2; k++)
		free(s->pem[k]);
	if (s->log != NULL && s->log != stderr)
		fclose(s->log);
	free(s->log_path);
	pthread_mutex_destroy(&s->log_mu);
	pthread_mutex_destroy(&s->wmu);
	pthread_cond_destroy(&s->wcv);
	free(s);
}

static int
open_listener(jpki_server_t *s, const struct sockaddr_storage *ss, const char *spec)
{
	struct sockaddr_storage got;
	socklen_t gl = sizeof(got);
	socklen_t sl = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                         : sizeof(struct sockaddr_in);
	int one = 1;

	if ((s->lfd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s->lfd, (const struct sockaddr *)ss, sl) != 0 || listen(s->lfd, 1024) != 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&got, &gl) != 0) {
		jpki_set_detail("cannot listen on %s: %s", spec ? spec : "127.0.0.1:8080",
		                strerror(errno));
		return JPKI_ERR_IO;
	}
	s->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
	                                          : ((struct sockaddr_in *)&got)->sin_port);
	return 0;
}

int
jpki_server_start(const jpki_server_opts_t *o, jpki_server_t **out)
{
	jpki_server_t *s;
	struct sockaddr_storage ss;
	struct rlimit rl;
	unsigned threads = o->threads > 0 ? o->threads : 2, i;
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
	s->lfd = -1;
	pthread_mutex_init(&s->log_mu, NULL);
	pthread_mutex_init(&s->wmu, NULL);
	pthread_cond_init(&s->wcv, NULL);
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
	    (r = api_svc_new(o, &s->api)) != 0 || (r = open_listener(s, &ss, o->listen)) != 0)
		goto out;
	/* A descriptor a connection, some for the store, the log and CRL files. */
	s->conns_max = CONNS_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)CONNS_MAX + 128)
		s->conns_max = rl.rlim_cur > 256 ? (int)rl.rlim_cur - 128 : 64;

	if ((s->loops = calloc(threads, sizeof(*s->loops))) == NULL ||
	    (s->workers = calloc(threads < 4 ? 4 : threads, sizeof(*s->workers))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < threads; i++) {
		struct loop *lp = &s->loops[i];
		struct epoll_event ev;
		lp->s = s;
		lp->efd = -1;
		pthread_mutex_init(&lp->mu, NULL);
		s->nloops = i + 1;
		lp->now = mono_s();
		if ((lp->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		    (lp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
			jpki_set_detail("epoll: %s", strerror(errno));
			r = JPKI_ERR_IO;
			goto out;
		}
		ev.events = EPOLLIN;
		ev.data.ptr = &lp->efd;
		if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->efd, &ev) != 0) {
			r = JPKI_ERR_IO;
			goto out;
		}
		/* One listener in every loop; EPOLLEXCLUSIVE wakes one of them. */
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.ptr = &s->lfd;
		if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, s->lfd, &ev) != 0) {
			r = JPKI_ERR_IO;
			goto out;
		}
		lp->listening = 1;
	}
	/* At least 4: a card act's call waits for the act's next step. */
	for (i = 0; i < (threads < 4 ? 4 : threads); i++) {
		if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
			r = JPKI_ERR_NOMEM;
			goto out;
		}
		s->nworkers = i + 1;
	}
	for (i = 0; i < threads; i++) {
		if (pthread_create(&s->loops[i].th, NULL, loop_main, &s->loops[i]) != 0) {
			r = JPKI_ERR_NOMEM;
			goto out;
		}
		s->loops[i].have_th = 1;
	}
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
