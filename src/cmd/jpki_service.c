/*
 * jpki-service: a small relying party (行政機関) for demos and tests, on
 * loopback.  A resident submits an application (the document and its CAdES
 * signature) and gets back the verified identity or the reason it was
 * refused (L13); and logs in with the authentication certificate (L14).
 * Everything it checks is jpki/verify.h; this file is HTTP and JSON.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "jpki/buf.h"
#include "jpki/ca.h"
#include "jpki/cli.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/verify.h"
#include "jpki/x509.h"

static const char *prog = "jpki-service";

#define APPLY_MAX ((size_t)8 << 20)     /* document + signature, whole body */
#define LOGIN_MAX ((size_t)32 << 10)
#define DOC_MAX ((size_t)6 << 20)
#define SIG_MAX ((size_t)64 << 10)
#define CERT_MAX 8192
#define MAX_CRLS 8

struct service {
	X509 *sign_ca, *auth_ca;
	jpki_login_table_t *table;
	char origin[JPKI_LOGIN_ORIGIN_MAX];
	int no_status;
	jpki_status_opts_t status;
	STACK_OF(X509_CRL) *crls;
};

/* One request's state: the body as it arrives, or the multipart fields. */
struct req {
	jpki_buf_t body;
	jpki_buf_t doc, sig;
	struct MHD_PostProcessor *pp;
	int multipart, too_large;
};

static volatile sig_atomic_t stop;

static void
on_signal(int s)
{
	(void)s;
	stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: jpki-service --sign-ca PEM --auth-ca PEM [--port N] [--port-file FILE]\n"
"       [--origin URL] [--no-status] [--crl FILE]... [--ocsp-url URL] [--crl-url URL]\n"
"       [--no-ocsp] [--ttl SECONDS]\n"
"A demo relying party on 127.0.0.1: verifies signed applications (POST /apply)\n"
"and logins (GET /login/challenge, POST /login); see jpki-service(1).\n"
"  --sign-ca, --auth-ca   the trust anchors: the Signing CA, the User-Authentication CA\n"
"  --port N               the port (default 0: any free one)\n"
"  --port-file FILE       write the port there once listening\n"
"  --origin URL           the origin logins are bound to (default http://127.0.0.1:PORT)\n"
"  --no-status            skip revocation checks\n"
"  --crl FILE             CRLs at hand (full and delta), used before downloading\n"
"  --ocsp-url, --crl-url  status sources instead of the certificates' own\n"
"  --no-ocsp              straight to the CRL\n"
"  --ttl SECONDS          how long a login challenge is valid (default 120)\n");
}

/* ---- responses ------------------------------------------------------------------ */

static enum MHD_Result
send_text(struct MHD_Connection *con, unsigned status, const char *type, const char *text)
{
	struct MHD_Response *rsp;
	enum MHD_Result ret;

	rsp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (rsp == NULL)
		return MHD_NO;
	MHD_add_response_header(rsp, "Content-Type", type);
	MHD_add_response_header(rsp, "Cache-Control", "no-store");
	ret = MHD_queue_response(con, status, rsp);
	MHD_destroy_response(rsp);
	return ret;
}

static enum MHD_Result
send_json(struct MHD_Connection *con, unsigned status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	enum MHD_Result ret;

	json_decref(o);
	if (s == NULL)
		return MHD_NO;
	ret = send_text(con, status, "application/json; charset=utf-8", s);
	free(s);
	return ret;
}

static void
jset(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v != NULL ? json_string(v) : json_null());
}

static const char *
error_name(int r)
{
	switch (r) {
	case JPKI_ERR_VERIFY: return "signature_invalid";
	case JPKI_ERR_UNTRUSTED: return "untrusted";
	case JPKI_ERR_EXPIRED: return "expired";
	case JPKI_ERR_REVOKED: return "revoked";
	case JPKI_ERR_HOLD: return "hold";
	case JPKI_ERR_NOT_FOUND: return "unknown";
	case JPKI_ERR_NET: return "status_unavailable";
	case JPKI_ERR_FORMAT: case JPKI_ERR_TOO_LARGE: case JPKI_ERR_TRUNCATED: return "format";
	default: return "error";
	}
}

static json_t *
refusal(int r, const char *what)
{
	json_t *o = json_object();

	jset(o, "result", "refused");
	jset(o, "error", what != NULL ? what : error_name(r));
	json_object_set_new(o, "code", json_integer(r));
	jset(o, "message", jpki_strerror(r));
	jset(o, "detail", jpki_detail());
	return o;
}

static json_t *
status_json(const jpki_status_t *st)
{
	json_t *o = json_object();
	char buf[64];

	jset(o, "state", jpki_cert_state_name(st->state));
	jset(o, "source", st->source == JPKI_SOURCE_OCSP ? "ocsp"
	                  : st->source == JPKI_SOURCE_CRL ? "crl" : "none");
	if (st->state == JPKI_CERT_REVOKED || st->state == JPKI_CERT_HOLD) {
		jset(o, "reason", st->reason == JPKI_REASON_NONE ? NULL : jpki_reason_name(st->reason));
		jpki_cli_iso_time(st->since, buf, sizeof(buf));
		jset(o, "since", buf);
	}
	return o;
}

/* What both answers share about the certificate. */
static void
cert_fields(json_t *o, const jpki_verified_t *v)
{
	uint8_t serial[JPKI_SERIAL_MAX];
	size_t sl = 0;
	char hex[64], buf[64];

	if (v->cert == NULL)
		return;
	if (jpki_x509_serial(v->cert, serial, &sl) == 0) {
		jpki_serial_hex(serial, sl, hex, sizeof(hex));
		jset(o, "serial", hex);
	}
	{
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		if (ASN1_TIME_to_tm(X509_get0_notAfter(v->cert), &tm) == 1) {
			jpki_cli_iso_time(timegm(&tm), buf, sizeof(buf));
			jset(o, "not_after", buf);
		}
	}
	if (v->status_checked)
		json_object_set_new(o, "status", status_json(&v->status));
}

static void
verify_opts(struct service *s, X509 *anchor, jpki_ca_kind_t kind, jpki_verify_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->anchor = anchor;
	o->kind = kind;
	o->no_status = s->no_status;
	o->status = s->status;
	o->status.crls = s->crls;
}

/* ---- the handlers ---------------------------------------------------------------- */

static const char page[] =
"<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
"<title>電子申請 (OpenJPKI demo)</title></head><body>\n"
"<h1>電子申請 / Online application</h1>\n"
"<p>申請書と、その電子署名（<code>jpki sign FILE</code> が作る CMS 署名）を送信してください。"
"<br>Send the application and its signature made with <code>jpki sign FILE</code>.</p>\n"
"<form method=\"post\" action=\"/apply\" enctype=\"multipart/form-data\">\n"
"<p>申請書 / document: <input type=\"file\" name=\"document\"></p>\n"
"<p>電子署名 / signature: <input type=\"file\" name=\"signature\"></p>\n"
"<p><input type=\"submit\" value=\"送信 / submit\"></p></form>\n"
"<p>ログイン / login: <code>jpki login URL</code> (GET /login/challenge, POST /login).</p>\n"
"</body></html>\n";

static enum MHD_Result
do_apply(struct service *s, struct MHD_Connection *con, struct req *rq)
{
	jpki_verify_opts_t o;
	jpki_verified_t v;
	json_t *in = NULL, *out;
	json_error_t je;
	uint8_t *doc = NULL, *sig = NULL, hash[32];
	size_t dl = 0, sl = 0;
	const char *d64, *s64;
	char buf[64];
	int r;

	memset(&v, 0, sizeof(v));
	jpki_clear_detail();
	if (rq->multipart) {
		if (rq->doc.len == 0 || rq->sig.len == 0) {
			jpki_set_detail("the form needs the fields 'document' and 'signature'");
			return send_json(con, MHD_HTTP_BAD_REQUEST, refusal(JPKI_ERR_FORMAT, NULL));
		}
		SHA256(rq->doc.data, rq->doc.len, hash);
		r = 0;
	} else {
		if ((in = json_loadb((const char *)rq->body.data, rq->body.len, JSON_REJECT_DUPLICATES,
		                     &je)) == NULL ||
		    (d64 = json_string_value(json_object_get(in, "document"))) == NULL ||
		    (s64 = json_string_value(json_object_get(in, "signature"))) == NULL) {
			json_decref(in);
			jpki_set_detail("send JSON {\"document\": base64, \"signature\": base64} or a "
			                "multipart form");
			return send_json(con, MHD_HTTP_BAD_REQUEST, refusal(JPKI_ERR_FORMAT, NULL));
		}
		r = jpki_base64_decode(d64, strlen(d64), DOC_MAX, &doc, &dl);
		if (r == 0)
			r = jpki_base64_decode(s64, strlen(s64), SIG_MAX, &sig, &sl);
		json_decref(in);
		if (r != 0) {
			free(doc);
			free(sig);
			return send_json(con, MHD_HTTP_BAD_REQUEST, refusal(r, "format"));
		}
		SHA256(doc, dl, hash);
	}
	verify_opts(s, s->sign_ca, JPKI_CA_SIGN, &o);
	if (rq->multipart)
		r = jpki_cms_verify(rq->sig.data, rq->sig.len, hash, &o, &v);
	else
		r = jpki_cms_verify(sig, sl, hash, &o, &v);
	if (r == 0) {
		out = json_object();
		jset(out, "result", "accepted");
		if (v.has_id) {
			json_t *id = json_object();
			jset(id, "name", v.id.name);
			if (v.id.has_dob) {
				jpki_date_format_iso(&v.id.dob, buf, sizeof(buf));
				jset(id, "dob", buf);
			}
			jset(id, "dob_code", v.id.dob_code);
			json_object_set_new(id, "sex", json_integer(v.id.sex));
			jset(id, "address", v.id.address);
			if (v.id.alias[0] != '\0')
				jset(id, "alias", v.id.alias);
			json_object_set_new(out, "identity", id);
		}
		if (v.signing_time) {
			jpki_cli_iso_time(v.signing_time, buf, sizeof(buf));
			jset(out, "signing_time", buf);
		}
		cert_fields(out, &v);
		jpki_verified_clear(&v);
		free(doc);
		free(sig);
		return send_json(con, MHD_HTTP_OK, out);
	}
	out = refusal(r, NULL);
	cert_fields(out, &v);
	jpki_verified_clear(&v);
	free(doc);
	free(sig);
	return send_json(con, r == JPKI_ERR_FORMAT ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_FORBIDDEN, out);
}

static enum MHD_Result
do_challenge(struct service *s, struct MHD_Connection *con)
{
	char id[JPKI_LOGIN_ID_LEN + 1], *b64 = NULL, buf[64];
	uint8_t ch[JPKI_LOGIN_CHALLENGE_LEN];
	time_t exp = 0, now = jpki_now();
	json_t *o;
	int r;

	if ((r = jpki_login_table_issue(s->table, now, id, ch, &exp)) != 0 ||
	    (r = jpki_base64_encode(ch, sizeof(ch), &b64)) != 0)
		return send_json(con, MHD_HTTP_INTERNAL_SERVER_ERROR, refusal(r, NULL));
	o = json_object();
	jset(o, "id", id);
	jset(o, "challenge", b64);
	jset(o, "origin", s->origin);
	jpki_cli_iso_time(exp, buf, sizeof(buf));
	jset(o, "expires", buf);
	jset(o, "prefix", JPKI_LOGIN_PREFIX);
	free(b64);
	return send_json(con, MHD_HTTP_OK, o);
}

static enum MHD_Result
do_login(struct service *s, struct MHD_Connection *con, struct req *rq)
{
	jpki_verify_opts_t o;
	jpki_verified_t v;
	json_t *in = NULL, *out;
	json_error_t je;
	const char *id, *c64, *s64;
	uint8_t ch[JPKI_LOGIN_CHALLENGE_LEN], *cert = NULL, *sig = NULL;
	size_t cl = 0, sl = 0;
	char buf[1024];
	int r;

	memset(&v, 0, sizeof(v));
	jpki_clear_detail();
	if ((in = json_loadb((const char *)rq->body.data, rq->body.len, JSON_REJECT_DUPLICATES,
	                     &je)) == NULL ||
	    (id = json_string_value(json_object_get(in, "id"))) == NULL ||
	    (c64 = json_string_value(json_object_get(in, "certificate"))) == NULL ||
	    (s64 = json_string_value(json_object_get(in, "signature"))) == NULL) {
		json_decref(in);
		jpki_set_detail("send JSON {\"id\", \"certificate\": base64 DER, \"signature\": base64}");
		return send_json(con, MHD_HTTP_BAD_REQUEST, refusal(JPKI_ERR_FORMAT, NULL));
	}
	if ((r = jpki_base64_decode(c64, strlen(c64), CERT_MAX, &cert, &cl)) != 0 ||
	    (r = jpki_base64_decode(s64, strlen(s64), 512, &sig, &sl)) != 0) {
		json_decref(in);
		free(cert);
		return send_json(con, MHD_HTTP_BAD_REQUEST, refusal(r, "format"));
	}
	/* The challenge is used up whatever the outcome. */
	if ((r = jpki_login_table_take(s->table, id, jpki_now(), ch)) != 0) {
		json_decref(in);
		free(cert);
		free(sig);
		return send_json(con, MHD_HTTP_FORBIDDEN, refusal(r, "challenge"));
	}
	json_decref(in);
	verify_opts(s, s->auth_ca, JPKI_CA_AUTH, &o);
	r = jpki_login_verify(ch, s->origin, cert, cl, sig, sl, &o, &v);
	free(cert);
	free(sig);
	if (r != 0) {
		out = refusal(r, NULL);
		cert_fields(out, &v);
		jpki_verified_clear(&v);
		return send_json(con, MHD_HTTP_FORBIDDEN, out);
	}
	out = json_object();
	jset(out, "result", "ok");
	{
		/* The subject's CN is the opaque id of the authentication certificate:
		 * what a service keys its accounts on. */
		X509_NAME *n = X509_get_subject_name(v.cert);
		int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
		unsigned char *u = NULL;
		int len;

		if (i >= 0 && (len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
		                   X509_NAME_get_entry(n, i)))) >= 0) {
			snprintf(buf, sizeof(buf), "%.*s", len, (const char *)u);
			jset(out, "subject_cn", buf);
		}
		OPENSSL_free(u);
	}
	cert_fields(out, &v);
	jpki_verified_clear(&v);
	return send_json(con, MHD_HTTP_OK, out);
}

static enum MHD_Result
post_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
          const char *content_type, const char *transfer_encoding, const char *data,
          uint64_t off, size_t size)
{
	struct req *rq = cls;
	jpki_buf_t *b = NULL;

	if (strcmp(key, "document") == 0)
		b = &rq->doc;
	else if (strcmp(key, "signature") == 0)
		b = &rq->sig;
	if (b == NULL || size == 0)
		return MHD_YES;
	if (jpki_buf_put(b, data, size) != 0) {
		rq->too_large = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

static void
req_free(struct req *rq)
{
	if (rq == NULL)
		return;
	if (rq->pp != NULL)
		MHD_destroy_post_processor(rq->pp);
	jpki_buf_free(&rq->body);
	jpki_buf_free(&rq->doc);
	jpki_buf_free(&rq->sig);
	free(rq);
}

static void
completed(void *cls, struct MHD_Connection *con, void **req_cls,
          enum MHD_RequestTerminationCode toe)
{
	req_free(*req_cls);
	*req_cls = NULL;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *con, const char *url, const char *method,
        const char *version, const char *upload_data, size_t *upload_size, void **req_cls)
{
	struct service *s = cls;
	struct req *rq = *req_cls;
	int post = strcmp(method, "POST") == 0;
	int is_apply = strcmp(url, "/apply") == 0, is_login = strcmp(url, "/login") == 0;

	if (rq == NULL) {
		const char *ct;

		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		jpki_buf_init(&rq->body, is_apply ? APPLY_MAX : LOGIN_MAX);
		jpki_buf_init(&rq->doc, DOC_MAX);
		jpki_buf_init(&rq->sig, SIG_MAX);
		ct = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (post && is_apply && ct != NULL && strncasecmp(ct, "multipart/form-data", 19) == 0) {
			rq->multipart = 1;
			if ((rq->pp = MHD_create_post_processor(con, 65536, post_iter, rq)) == NULL) {
				req_free(rq);
				return MHD_NO;
			}
		}
		*req_cls = rq;
		return MHD_YES;
	}
	if (post && *upload_size > 0) {
		if (!rq->too_large) {
			if (rq->multipart) {
				if (MHD_post_process(rq->pp, upload_data, *upload_size) != MHD_YES &&
				    !rq->too_large)
					rq->too_large = 1;
			} else if (jpki_buf_put(&rq->body, upload_data, *upload_size) != 0) {
				rq->too_large = 1;
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_large) {
		jpki_set_detail("the request is larger than this service accepts, or malformed");
		return send_json(con, 413, refusal(JPKI_ERR_TOO_LARGE, "format"));
	}
	if (strcmp(method, "GET") == 0 && (strcmp(url, "/") == 0 || strcmp(url, "/apply") == 0))
		return send_text(con, MHD_HTTP_OK, "text/html; charset=utf-8", page);
	if (strcmp(method, "GET") == 0 && strcmp(url, "/login/challenge") == 0)
		return do_challenge(s, con);
	if (post && is_apply)
		return do_apply(s, con, rq);
	if (post && is_login)
		return do_login(s, con, rq);
	jpki_set_detail("%s %s: no such page (GET /, POST /apply, GET /login/challenge, "
	                "POST /login)", method, url);
	return send_json(con, MHD_HTTP_NOT_FOUND, refusal(JPKI_ERR_NOT_FOUND, "not_found"));
}

/* ---- main ---------------------------------------------------------------------------- */

enum {
	O_SIGN_CA = 256, O_AUTH_CA, O_PORT, O_PORT_FILE, O_ORIGIN, O_NO_STATUS, O_CRL, O_OCSP_URL,
	O_CRL_URL, O_NO_OCSP, O_TTL
};

static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"sign-ca", required_argument, NULL, O_SIGN_CA},
	{"auth-ca", required_argument, NULL, O_AUTH_CA},
	{"port", required_argument, NULL, O_PORT},
	{"port-file", required_argument, NULL, O_PORT_FILE},
	{"origin", required_argument, NULL, O_ORIGIN},
	{"no-status", no_argument, NULL, O_NO_STATUS},
	{"crl", required_argument, NULL, O_CRL},
	{"ocsp-url", required_argument, NULL, O_OCSP_URL},
	{"crl-url", required_argument, NULL, O_CRL_URL},
	{"no-ocsp", no_argument, NULL, O_NO_OCSP},
	{"ttl", required_argument, NULL, O_TTL},
	{NULL, 0, NULL, 0},
};

static int
load_crl_file(const char *path, STACK_OF(X509_CRL) *sk)
{
	uint8_t *b = NULL;
	const uint8_t *p;
	size_t n = 0;
	X509_CRL *crl;
	int r;

	if ((r = jpki_file_read(path, (size_t)64 << 20, &b, &n)) != 0)
		return r;
	p = b;
	crl = d2i_X509_CRL(NULL, &p, (long)n);
	free(b);
	if (crl == NULL || sk_X509_CRL_push(sk, crl) <= 0) {
		X509_CRL_free(crl);
		jpki_set_detail("%s: not a DER CRL", path);
		return JPKI_ERR_FORMAT;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct service s;
	struct MHD_Daemon *d = NULL;
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	const char *sign_ca = NULL, *auth_ca = NULL, *port_file = NULL, *origin = NULL;
	long port = 0, ttl = 120;
	char *end, pbuf[16];
	struct sigaction act;
	sigset_t block, oldmask;
	int c, r, rc = 1;
	unsigned bound;

	memset(&s, 0, sizeof(s));
	if ((s.crls = sk_X509_CRL_new_null()) == NULL)
		return jpki_cli_fail(prog, JPKI_ERR_NOMEM);
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); rc = 0; goto out;
		case 'V': printf("jpki-service (OpenJPKI) 0.1.0\n"); rc = 0; goto out;
		case O_SIGN_CA: sign_ca = optarg; break;
		case O_AUTH_CA: auth_ca = optarg; break;
		case O_PORT:
			port = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || port < 0 || port > 65535) {
				rc = jpki_cli_usage_error(prog, "--port: '%s' is not a port", optarg);
				goto out;
			}
			break;
		case O_PORT_FILE: port_file = optarg; break;
		case O_ORIGIN: origin = optarg; break;
		case O_NO_STATUS: s.no_status = 1; break;
		case O_CRL:
			if (sk_X509_CRL_num(s.crls) >= MAX_CRLS) {
				rc = jpki_cli_usage_error(prog, "at most %d --crl files", MAX_CRLS);
				goto out;
			}
			if ((r = load_crl_file(optarg, s.crls)) != 0) {
				rc = jpki_cli_fail(prog, r);
				goto out;
			}
			break;
		case O_OCSP_URL: s.status.ocsp_url = optarg; break;
		case O_CRL_URL: s.status.crl_url = optarg; break;
		case O_NO_OCSP: s.status.no_ocsp = 1; break;
		case O_TTL:
			ttl = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || ttl < 1 || ttl > 3600) {
				rc = jpki_cli_usage_error(prog, "--ttl: 1 to 3600 seconds");
				goto out;
			}
			break;
		default: rc = jpki_cli_usage_error(prog, "unknown option"); goto out;
		}
	}
	if (optind < argc) {
		rc = jpki_cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (sign_ca == NULL || auth_ca == NULL) {
		rc = jpki_cli_usage_error(prog, "--sign-ca and --auth-ca are required");
		goto out;
	}
	if ((r = jpki_x509_load_cert(sign_ca, &s.sign_ca)) != 0 ||
	    (r = jpki_x509_load_cert(auth_ca, &s.auth_ca)) != 0 ||
	    (r = jpki_login_table_new(4096, (int)ttl, &s.table)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	/* SIGTERM/SIGINT blocked in every thread (the daemon's inherit the mask)
	 * and taken by sigsuspend() in this one. */
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_signal;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port,
	                     NULL, NULL, handler, &s,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)4,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
	                     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	                     MHD_OPTION_END);
	if (d == NULL) {
		jpki_set_detail("cannot listen on 127.0.0.1:%ld", port);
		rc = jpki_cli_fail(prog, JPKI_ERR_IO);
		goto out;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	bound = info != NULL ? info->port : (unsigned)port;
	if (origin != NULL) {
		if ((r = jpki_login_origin(origin, s.origin, sizeof(s.origin))) != 0) {
			rc = jpki_cli_fail(prog, r);
			goto out;
		}
	} else {
		snprintf(s.origin, sizeof(s.origin), "http://127.0.0.1:%u", bound);
	}
	snprintf(pbuf, sizeof(pbuf), "%u\n", bound);
	if (port_file != NULL &&
	    (r = jpki_file_write_atomic(port_file, pbuf, strlen(pbuf), 0644)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	fprintf(stderr, "%s: listening on http://127.0.0.1:%u (login origin %s)\n", prog, bound,
	        s.origin);
	while (!stop)
		sigsuspend(&oldmask);
	fprintf(stderr, "%s: stopped\n", prog);
	rc = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	jpki_login_table_free(s.table);
	X509_free(s.sign_ca);
	X509_free(s.auth_ca);
	sk_X509_CRL_pop_free(s.crls, X509_CRL_free);
	return rc;
}
