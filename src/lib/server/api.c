/*
 * The online window's JSON API (docs/online-window.md): the validity check
 * (L15), online revocation signed by the card (L7), the suspension line (L8)
 * and the office API through which `jpki-office --server` works against
 * this server's store.
 *
 * Each call opens the window (the CA directory and its store) for itself:
 * calls are few next to OCSP, and a handle of its own per call keeps them
 * apart from each other and from the OCSP threads.  Card acts of the office
 * API run in a thread of their own, whose card is the office's reader at the
 * other end of the connection: each command for the card is handed back as
 * the HTTP answer, and the office's next call brings the card's answer
 * (struct session, relay_ops).
 *
 * Every call but the validity check is written to the audit log, accepted
 * or refused, with the peer's address.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/audit.h"
#include "jpki/buf.h"
#include "jpki/ca.h"
#include "jpki/date.h"
#include "jpki/error.h"
#include "jpki/registry.h"
#include "jpki/verify.h"
#include "jpki/x509.h"
#include "reader/reader_int.h"
#include "registry/registry_int.h"
#include "registry/wire.h"
#include "server/server_int.h"

#define TOKEN_BYTES 32
#define TOKEN_TTL (8 * 3600)          /* a working day */
#define TOKENS_MAX 256
#define SESSIONS_MAX 8                /* card acts under way at once */
#define SESSION_IDLE 120              /* seconds the office may take per card command */
#define ANSWER_WAIT 60                /* seconds a call waits for the act's next step */
#define SESSION_KEEP 600              /* an answer nobody fetched is dropped after this */
#define REVOKE_SKEW 300               /* L7 request time: within 5 minutes */
#define REVOKE_REQ_MAX 4096
#define REVOKE_SIG_MAX 65536
#define CERT_MAX 65536

struct token {
	char hex[2 * TOKEN_BYTES + 1];   /* "" when free */
	char op[64];
	time_t expires;
};

enum { S_RUN, S_APDU, S_DONE };

struct session {
	int used;
	char id[33];
	char op[64];
	char peer[64];
	char fn[32];
	json_t *args;
	struct api_svc *svc;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;                        /* S_RUN, S_APDU, S_DONE */
	int reset;                        /* S_APDU: a reset, not a command */
	uint8_t cmd[JPKI_APDU_MAX];
	size_t cmd_len;
	uint8_t rsp[JPKI_APDU_MAX + 2];
	size_t rsp_len;
	int have_rsp;
	int rsp_err;
	char rsp_detail[256];
	json_t *answer;                   /* S_DONE: {"rc",...} */
	int fetched;                      /* the answer went out */
	time_t touched;
};

struct api_svc {
	char ca_dir[PATH_MAX];
	EVP_PKEY *issuer;                 /* NULL: card acts refused */
	pthread_mutex_t mu;               /* tokens and the session table */
	struct token tokens[TOKENS_MAX];
	struct session *sessions[SESSIONS_MAX];
	int stopping;
};

/* ---- answers ---- */

static int
answer_json(struct api_resp *out, int status, json_t *j, const char *what)
{
	char *s;

	out->status = status;
	out->what = what;
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (s == NULL)
		return JPKI_ERR_NOMEM;
	out->len = strlen(s);
	/* json_dumps uses malloc (jansson's default allocator): the HTTP layer
	 * frees the body with free(). */
	out->body = s;
	return 0;
}

static int
answer_error(struct api_resp *out, int status, const char *msg)
{
	json_t *j = json_pack("{s:s}", "error", msg ? msg : "");

	if (j == NULL)
		return JPKI_ERR_NOMEM;
	if (status == 401)
		out->www_authenticate = "Basic realm=\"jpkid office\", charset=\"UTF-8\"";
	return answer_json(out, status, j, status == 401 || status == 403 ? "refused" : "error");
}

static void
iso_time(time_t t, char out[24])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly. */
static int
iso_parse(const char *s, time_t *t)
{
	struct tm tm;
	int y, mo, d, h, mi, se;
	char z;

	if (s == NULL || strlen(s) != 20 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 || z != 'Z' ||
	    s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
	    y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60 || h < 0 || mi < 0 || se < 0)
		return JPKI_ERR_FORMAT;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = timegm(&tm);
	return 0;
}

/* The body as a JSON object (at most API_BODY_MAX, no duplicate keys). */
static json_t *
body_json(const struct api_req *rq, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;

	if (rq->body == NULL || rq->body_len == 0) {
		snprintf(err, errlen, "the request has no body (JSON expected)");
		return NULL;
	}
	j = json_loadb((const char *)rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		snprintf(err, errlen, "the body is not JSON: %s (line %d)", je.text, je.line);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(err, errlen, "the body is not a JSON object");
		return NULL;
	}
	return j;
}

/* ---- audit ---- */

static void
audit(jpki_window_t *w, const char *actor, const char *action, const char *object,
      const char *result, const struct api_req *rq, const char *detail)
{
	if (w == NULL)
		return;
	(void)jpki_audit_appendf(jpki_window_audit(w), actor && *actor ? actor : "(none)", action,
	                         object ? object : "", result, "peer=%s %s", rq->peer ? rq->peer : "?",
	                         detail ? detail : "");
}

/* ---- authentication ---- */

/* "Basic base64(name:secret)" into name and secret (secret wiped by the
 * caller). */
static int
basic_auth(const char *h, char *name, size_t nlen, char *secret, size_t slen)
{
	uint8_t *dec = NULL;
	size_t n = 0;
	char *colon;
	int r = JPKI_ERR_AUTH;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return JPKI_ERR_AUTH;
	h += 6;
	while (*h == ' ')
		h++;
	if (jpki_base64_decode(h, strlen(h), 1024, &dec, &n) != 0)
		return JPKI_ERR_AUTH;
	if (memchr(dec, '\0', n) != NULL || (colon = memchr(dec, ':', n)) == NULL)
		goto out;
	if ((size_t)(colon - (char *)dec) >= nlen || n - (size_t)(colon - (char *)dec) > slen)
		goto out;
	memcpy(name, dec, (size_t)(colon - (char *)dec));
	name[colon - (char *)dec] = '\0';
	memcpy(secret, colon + 1, n - (size_t)(colon - (char *)dec) - 1);
	secret[n - (size_t)(colon - (char *)dec) - 1] = '\0';
	r = 0;
out:
	OPENSSL_cleanse(dec, n);
	free(dec);
	return r;
}

/* The operator of a "Bearer TOKEN" header, or JPKI_ERR_AUTH. */
static int
bearer(struct api_svc *a, const char *h, char op[64])
{
	time_t now = time(NULL);
	size_t i;
	int r = JPKI_ERR_AUTH;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return JPKI_ERR_AUTH;
	h += 7;
	while (*h == ' ')
		h++;
	if (strlen(h) != 2 * TOKEN_BYTES)
		return JPKI_ERR_AUTH;
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < TOKENS_MAX; i++) {
		struct token *t = &a->tokens[i];
		if (t->hex[0] == '\0')
			continue;
		if (t->expires <= now) {
			OPENSSL_cleanse(t, sizeof(*t));
			continue;
		}
		if (CRYPTO_memcmp(t->hex, h, 2 * TOKEN_BYTES) == 0) {
			memcpy(op, t->op, 64);
			r = 0;
		}
	}
	pthread_mutex_unlock(&a->mu);
	return r;
}

static int
token_new(struct api_svc *a, const char *op, char hex[2 * TOKEN_BYTES + 1], time_t *expires)
{
	uint8_t raw[TOKEN_BYTES];
	time_t now = time(NULL);
	size_t i, slot = TOKENS_MAX, oldest = 0;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return JPKI_ERR_CRYPTO;
	jpki_hex_encode(raw, sizeof(raw), hex);
	OPENSSL_cleanse(raw, sizeof(raw));
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < TOKENS_MAX && slot == TOKENS_MAX; i++)
		if (a->tokens[i].hex[0] == '\0' || a->tokens[i].expires <= now)
			slot = i;
		else if (a->tokens[i].expires < a->tokens[oldest].expires)
			oldest = i;
	if (slot == TOKENS_MAX)
		slot = oldest; /* full: the oldest login has to log in again */
	memcpy(a->tokens[slot].hex, hex, sizeof(a->tokens[slot].hex));
	snprintf(a->tokens[slot].op, sizeof(a->tokens[slot].op), "%s", op);
	a->tokens[slot].expires = *expires = now + TOKEN_TTL;
	pthread_mutex_unlock(&a->mu);
	return 0;
}

/* ---- the validity check (L15) ---- */

static int
h_validity(struct api_svc *a, const struct api_req *rq, struct api_resp *out)
{
	jpki_window_t *w = NULL;
	X509 *x = NULL;
	BIO *b = NULL;
	jpki_cert_rec_t rec;
	jpki_ca_kind_t kind = JPKI_CA_SIGN;
	const unsigned char *p;
	char serial[2 * JPKI_SERIAL_MAX + 1], t1[24], t2[24];
	uint8_t sn[JPKI_SERIAL_MAX];
	size_t snlen = 0;
	const ASN1_INTEGER *ai;
	const char *status = "unknown";
	json_t *j = NULL;
	time_t now = jpki_now();
	int k, found = 0, r;

	memset(&rec, 0, sizeof(rec));
	if (strcmp(rq->method, "POST") != 0)
		return answer_error(out, 405, "POST a certificate (DER or PEM) to /window/validity");
	if (rq->body == NULL || rq->body_len == 0 || rq->body_len > CERT_MAX)
		return answer_error(out, 400, "the body must be one certificate, DER or PEM");
	p = rq->body;
	if (rq->body_len > 10 && memcmp(rq->body, "-----BEGIN", 10) == 0) {
		if ((b = BIO_new_mem_buf(rq->body, (int)rq->body_len)) != NULL)
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		x = d2i_X509(NULL, &p, (long)rq->body_len);
		if (x != NULL && p != rq->body + rq->body_len) {
			X509_free(x);
			x = NULL;
		}
	}
	if (x == NULL)
		return answer_error(out, 400, "the body is not a certificate (DER or PEM)");
	if ((r = jpki_window_open(a->ca_dir, "jpkid", &w)) != 0) {
		X509_free(x);
		return answer_error(out, 503, jpki_detail());
	}
	for (k = 0; k < 2 && !found; k++) {
		X509 *ca = jpki_ca_cert(jpki_window_ca(w), (jpki_ca_kind_t)k);
		EVP_PKEY *pk = X509_get0_pubkey(ca);
		if (X509_check_issued(ca, x) == X509_V_OK && pk != NULL && X509_verify(x, pk) == 1) {
			kind = (jpki_ca_kind_t)k;
			found = 1;
		}
	}
	ai = X509_get0_serialNumber(x);
	serial[0] = '\0';
	if (ai != NULL && ai->length > 0 && (size_t)ai->length <= JPKI_SERIAL_MAX) {
		memcpy(sn, ai->data, (size_t)ai->length);
		snlen = (size_t)ai->length;
		jpki_hex_encode(sn, snlen, serial);
	}
	if (found && snlen > 0 &&
	    jpki_store_cert_get(jpki_ca_store(jpki_window_ca(w)), kind, sn, snlen, 0, &rec) == 0) {
		if (rec.status == JPKI_STATUS_REVOKED)
			status = "revoked";
		else if (rec.status == JPKI_STATUS_HOLD)
			status = "hold";
		else if ((int64_t)now > rec.not_after)
			status = "expired";
		else if ((int64_t)now < rec.not_before)
			status = "not-yet-valid";
		else
			status = "good";
	} else {
		found = 0;
	}
	if ((j = json_object()) == NULL)
		goto nomem;
	json_object_set_new(j, "status", json_string(status));
	if (found) {
		iso_time((time_t)rec.not_before, t1);
		iso_time((time_t)rec.not_after, t2);
		json_object_set_new(j, "ca", json_string(jpki_ca_kind_name(kind)));
		json_object_set_new(j, "serial", json_string(serial));
		json_object_set_new(j, "not_before", json_string(t1));
		json_object_set_new(j, "not_after", json_string(t2));
		if (rec.status == JPKI_STATUS_REVOKED || rec.status == JPKI_STATUS_HOLD) {
			iso_time((time_t)rec.status_time, t1);
			json_object_set_new(j, "reason", json_string(jpki_reason_name(rec.reason)));
			json_object_set_new(j, "revoked_at", json_string(t1));
		}
	}
	jpki_cert_rec_clear(&rec);
	X509_free(x);
	jpki_window_close(w);
	r = answer_json(out, 200, j, status);
	return r;
nomem:
	jpki_cert_rec_clear(&rec);
	X509_free(x);
	jpki_window_close(w);
	return JPKI_ERR_NOMEM;
}

/* ---- online revocation (L7) ---- */

static int
nonce_ok(const char *s)
{
	return s != NULL && strlen(s) == 32 && strspn(s, "0123456789abcdefABCDEF") == 32;
}

/*
 * Seen nonces are kept as "nonce" documents keyed "<request time>-<nonce>",
 * the time zero-padded to 12 digits so that keys sort by it.  A request is
 * taken only within REVOKE_SKEW of the server's clock, so a replay of one
 * older than twice that is refused for its time anyway: those keys are
 * pruned, a bounded number per request taken, and so are keys of the
 * earlier form (the nonce alone).  What is left to walk is only the last
 * ten minutes' nonces.
 */
#define NONCE_PRUNE_MAX 64

struct nonce_prune {
	long long before;
	size_t n;
	char keys[NONCE_PRUNE_MAX][JPKI_DOC_NAME_MAX + 1];
};

static int
nonce_old_cb(void *ctx, const char *key, const char *body)
{
	struct nonce_prune *p = ctx;
	char *end;
	long long t;

	(void)body;
	t = strtoll(key, &end, 10);
	if (end == key + 12 && *end == '-' && t >= p->before)
		return 0;
	snprintf(p->keys[p->n], sizeof(p->keys[p->n]), "%s", key);
	return ++p->n == NONCE_PRUNE_MAX ? 1 : 0;
}

static void
nonce_prune(jpki_store_t *st, time_t now)
{
	struct nonce_prune *p = calloc(1, sizeof(*p));
	size_t i;

	if (p == NULL)
		return;
	p->before = (long long)now - 2 * REVOKE_SKEW;
	if (jpki_store_foreach_doc(st, "nonce", "", nonce_old_cb, p) >= 0 && p->n > 0 &&
	    jpki_store_begin(st) == 0) {
		for (i = 0; i < p->n; i++)
			(void)jpki_store_doc_delete(st, "nonce", p->keys[i]);
		if (jpki_store_commit(st) != 0)
			(void)jpki_store_rollback(st);
	}
	free(p);
}

static int
h_revoke(struct api_svc *a, const struct api_req *rq, struct api_resp *out)
{
	char err[300] = "", obj[64] = "", actor[64], note[64];
	json_t *body = NULL, *req = NULL, *j = NULL, *rv;
	const char *req_b64 = NULL, *sig_b64 = NULL, *type = NULL, *which_s = NULL,
	           *reason_s = NULL, *time_s = NULL, *nonce = NULL;
	uint8_t *req_bytes = NULL, *sig = NULL, hash[32];
	size_t req_len = 0, sig_len = 0;
	jpki_window_t *w = NULL;
	jpki_verify_opts_t vo;
	jpki_verified_t v;
	jpki_cert_rec_t rec;
	jpki_card_rec_t card;
	jpki_act_t act;
	jpki_photo_id_t pid;
	jpki_window_reason_t why;
	jpki_ca_kind_t kind;
	const ASN1_INTEGER *ai;
	uint8_t sn[JPKI_SERIAL_MAX];
	size_t snlen;
	time_t t, now = jpki_now();
	char t1[24], serial[2 * JPKI_SERIAL_MAX + 1], nkey[JPKI_DOC_NAME_MAX + 1];
	int which, status = 400, r;
	size_t i;

	memset(&v, 0, sizeof(v));
	memset(&rec, 0, sizeof(rec));
	if ((r = jpki_window_open(a->ca_dir, "jpkid", &w)) != 0)
		return answer_error(out, 503, jpki_detail());
	if ((body = body_json(rq, err, sizeof(err))) == NULL)
		goto refuse;
	if (wire_str(body, "request", &req_b64) != 0 || wire_str(body, "signature", &sig_b64) != 0 ||
	    req_b64 == NULL || sig_b64 == NULL) {
		snprintf(err, sizeof(err), "want {\"request\": base64, \"signature\": base64}");
		goto refuse;
	}
	if (jpki_base64_decode(req_b64, strlen(req_b64), REVOKE_REQ_MAX, &req_bytes, &req_len) != 0 ||
	    jpki_base64_decode(sig_b64, strlen(sig_b64), REVOKE_SIG_MAX, &sig, &sig_len) != 0) {
		snprintf(err, sizeof(err), "request or signature: not base64, or too long");
		goto refuse;
	}
	req = json_loadb((const char *)req_bytes, req_len, JSON_REJECT_DUPLICATES, NULL);
	if (req == NULL || !json_is_object(req) || wire_str(req, "type", &type) != 0 ||
	    wire_str(req, "which", &which_s) != 0 || wire_str(req, "reason", &reason_s) != 0 ||
	    wire_str(req, "time", &time_s) != 0 || wire_str(req, "nonce", &nonce) != 0 ||
	    type == NULL || strcmp(type, "jpki-online-revoke") != 0) {
		snprintf(err, sizeof(err), "the request is not a jpki-online-revoke request");
		goto refuse;
	}
	if (which_s == NULL || (strcmp(which_s, "sign") != 0 && strcmp(which_s, "auth") != 0 &&
	                        strcmp(which_s, "both") != 0)) {
		snprintf(err, sizeof(err), "which: sign, auth or both");
		goto refuse;
	}
	which = strcmp(which_s, "sign") == 0 ? JPKI_CA_SIGN :
	        strcmp(which_s, "auth") == 0 ? JPKI_CA_AUTH : -1;
	if (reason_s == NULL || jpki_window_reason_parse(reason_s, &why) != 0) {
		snprintf(err, sizeof(err), "reason: lost, stolen, broken, misused or voluntary");
		goto refuse;
	}
	if (iso_parse(time_s, &t) != 0) {
		snprintf(err, sizeof(err), "time: want YYYY-MM-DDTHH:MM:SSZ");
		goto refuse;
	}
	if (!nonce_ok(nonce)) {
		snprintf(err, sizeof(err), "nonce: want 32 hex digits");
		goto refuse;
	}
	/* From here on the request is well formed: what is wrong is refused. */
	status = 403;
	if (t < now - REVOKE_SKEW || t > now + REVOKE_SKEW) {
		snprintf(err, sizeof(err), "the request's time is more than 5 minutes from the server's");
		goto refuse;
	}
	/* L7 online: the key of the certificate being revoked signs (the
	 * signing key for sign or both, the authentication key for auth). */
	kind = which == JPKI_CA_AUTH ? JPKI_CA_AUTH : JPKI_CA_SIGN;
	SHA256(req_bytes, req_len, hash);
	memset(&vo, 0, sizeof(vo));
	vo.anchor = jpki_ca_cert(jpki_window_ca(w), kind);
	vo.kind = kind;
	vo.at = now;
	vo.no_status = 1; /* the store is at hand: checked below, hold allowed */
	if ((r = jpki_cms_verify(sig, sig_len, hash, &vo, &v)) != 0) {
		snprintf(err, sizeof(err), "the signature does not verify with the %s CA: %s",
		         jpki_ca_kind_name(kind), jpki_detail());
		goto refuse;
	}
	/* A signed request is taken once: a replay is refused as such, before
	 * anything else is looked at (a client makes a new nonce per try). */
	snprintf(note, sizeof(note), "time=%lld\n", (long long)now);
	snprintf(nkey, sizeof(nkey), "%012lld-%s", (long long)t, nonce);
	for (i = 13; nkey[i] != '\0'; i++)
		nkey[i] = (char)tolower((unsigned char)nkey[i]);
	if ((r = jpki_store_doc_put(jpki_ca_store(jpki_window_ca(w)), "nonce", nkey, note,
	                            JPKI_DOC_CREATE)) != 0) {
		snprintf(err, sizeof(err), r == JPKI_ERR_EXISTS ? "the request was sent before (nonce seen)"
		                                               : "the nonce could not be recorded");
		goto refuse;
	}
	nonce_prune(jpki_ca_store(jpki_window_ca(w)), now);
	ai = X509_get0_serialNumber(v.cert);
	if (ai == NULL || ai->length <= 0 || (size_t)ai->length > JPKI_SERIAL_MAX) {
		snprintf(err, sizeof(err), "the signer's serial number is not one of ours");
		goto refuse;
	}
	snlen = (size_t)ai->length;
	memcpy(sn, ai->data, snlen);
	jpki_hex_encode(sn, snlen, serial);
	if (jpki_store_cert_get(jpki_ca_store(jpki_window_ca(w)), kind, sn, snlen, 0, &rec) != 0) {
		snprintf(err, sizeof(err), "the signer's certificate %s was never issued here", serial);
		goto refuse;
	}
	if (rec.status == JPKI_STATUS_REVOKED) {
		status = 409;
		snprintf(err, sizeof(err), "the signer's certificate %s is already revoked", serial);
		goto refuse;
	}
	if ((r = reg_card_by_serial(w, kind, sn, snlen, &card)) != 0) {
		snprintf(err, sizeof(err), "%s", jpki_detail());
		goto refuse;
	}
	snprintf(obj, sizeof(obj), "%s", card.resident);
	snprintf(actor, sizeof(actor), "online:%s", card.number);
	reg_act_as(w, actor);
	pid.kind = "card-signature"; /* L10: the card's own signature identifies */
	pid.number = card.number;
	if ((r = jpki_window_revoke(w, card.resident, which, why, &pid, &act)) != 0) {
		status = r == JPKI_ERR_STATE ? 409 : 500;
		snprintf(err, sizeof(err), "%s", jpki_detail());
		goto refuse;
	}
	iso_time((time_t)act.time, t1);
	if ((rv = json_object()) == NULL)
		goto nomem;
	if (act.sign_old[0])
		json_object_set_new(rv, "sign", json_string(act.sign_old));
	if (act.auth_old[0])
		json_object_set_new(rv, "auth", json_string(act.auth_old));
	j = json_pack("{s:b,s:s,s:s,s:o,s:s,s:s}", "accepted", 1, "ref", act.ref, "card", act.card,
	              "revoked", rv, "reason", jpki_reason_name(act.reason), "time", t1);
	if (j == NULL)
		goto nomem;
	r = answer_json(out, 200, j, "revoke");
	goto done;
refuse:
	audit(w, "(online)", "online-revoke", obj, "refused", rq, err);
	r = answer_error(out, status, err);
	goto done;
nomem:
	r = JPKI_ERR_NOMEM;
done:
	jpki_cert_rec_clear(&rec);
	jpki_verified_clear(&v);
	json_decref(body);
	json_decref(req);
	free(req_bytes);
	free(sig);
	jpki_window_close(w);
	return r;
}

/* ---- the suspension line (L8) ---- */

static int
h_suspend(struct api_svc *a, const struct api_req *rq, struct api_resp *out)
{
	char name[64] = "", secret[256] = "", err[300] = "";
	const char *resident = NULL, *number = NULL;
	jpki_window_t *w = NULL;
	json_t *body = NULL, *held, *j;
	jpki_act_t act;
	int r;

	if ((r = jpki_window_open(a->ca_dir, "jpkid", &w)) != 0)
		return answer_error(out, 503, jpki_detail());
	if (basic_auth(rq->authorization, name, sizeof(name), secret, sizeof(secret)) != 0) {
		audit(w, "(none)", "line-suspend", "", "refused", rq, "no operator credential");
		r = answer_error(out, 401, "the suspension line needs an operator (HTTP Basic)");
		goto out;
	}
	if (jpki_window_login(w, name, secret) != 0) { /* the refusal is audited */
		r = answer_error(out, 401, "unknown operator or wrong credential");
		goto out;
	}
	if ((body = body_json(rq, err, sizeof(err))) == NULL ||
	    wire_str(body, "resident", &resident) != 0 || wire_str(body, "card", &number) != 0 ||
	    ((resident == NULL || *resident == '\0') && (number == NULL || *number == '\0'))) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "want {\"resident\": \"NUMBER\"} or {\"card\": \"NUMBER\"}");
		audit(w, name, "line-suspend", "", "refused", rq, err);
		r = answer_error(out, 400, err);
		goto out;
	}
	if ((r = jpki_window_suspend(w, resident, number, &act)) != 0) {
		snprintf(err, sizeof(err), "%s", jpki_detail());
		r = answer_error(out, r == JPKI_ERR_NOT_FOUND ? 404 : 409, err);
		goto out;
	}
	if ((held = json_object()) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if (act.sign_old[0])
		json_object_set_new(held, "sign", json_string(act.sign_old));
	if (act.auth_old[0])
		json_object_set_new(held, "auth", json_string(act.auth_old));
	j = json_pack("{s:s,s:s,s:s,s:o}", "ref", act.ref, "resident", act.resident, "card", act.card,
	              "held", held);
	r = j ? answer_json(out, 200, j, "suspend") : JPKI_ERR_NOMEM;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	json_decref(body);
	jpki_window_close(w);
	return r;
}

/* ---- the office API ---- */

static int
h_login(struct api_svc *a, const struct api_req *rq, struct api_resp *out)
{
	char name[64] = "", secret[256] = "", hex[2 * TOKEN_BYTES + 1];
	jpki_window_t *w = NULL;
	time_t expires = 0;
	json_t *j;
	int r;

	if ((r = jpki_window_open(a->ca_dir, "jpkid", &w)) != 0)
		return answer_error(out, 503, jpki_detail());
	if (basic_auth(rq->authorization, name, sizeof(name), secret, sizeof(secret)) != 0) {
		audit(w, "(none)", "office-login", "", "refused", rq, "no credential");
		r = answer_error(out, 401, "log in with HTTP Basic: the operator's name and credential");
		goto out;
	}
	if (jpki_window_login(w, name, secret) != 0) {
		audit(w, name, "office-login", "", "refused", rq, "unknown operator or wrong credential");
		r = answer_error(out, 401, "unknown operator or wrong credential");
		goto out;
	}
	if ((r = token_new(a, name, hex, &expires)) != 0) {
		r = answer_error(out, 500, "cannot make a token");
		goto out;
	}
	audit(w, name, "office-login", "", "ok", rq, "");
	j = json_pack("{s:s,s:s,s:I}", "token", hex, "operator", name, "expires", (json_int_t)expires);
	OPENSSL_cleanse(hex, sizeof(hex));
	r = j ? answer_json(out, 200, j, "login") : JPKI_ERR_NOMEM;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	jpki_window_close(w);
	return r;
}

/* One call of the office API, in the handler's thread or a session's. */
struct call {
	jpki_window_t *w;
	jpki_reader_t *rd;       /* card acts: the relay to the office's reader */
	EVP_PKEY *issuer;
	const json_t *args;
	json_t *result;          /* filled by the function */
	char object[64];         /* for the audit entry */
	int bad_args;
	char err[256];
};

/* A refused argument: "argument 'key': expect". */
static int
bad(struct call *c, const char *key, const char *expect)
{
	c->bad_args = 1;
	snprintf(c->err, sizeof(c->err), "argument '%s': %s", key, expect);
	return JPKI_ERR_FORMAT;
}

/* A required string argument. */
static int
arg_str(struct call *c, const char *key, const char **out)
{
	if (wire_str(c->args, key, out) != 0 || *out == NULL)
		return bad(c, key, "a string is required");
	return 0;
}

static int
arg_int(struct call *c, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
	if (wire_int(c->args, key, def, out) != 0 || *out < lo || *out > hi)
		return bad(c, key, "an integer in range is required");
	return 0;
}

static int
arg_pid(struct call *c, jpki_photo_id_t *pid, const jpki_photo_id_t **pp)
{
	const json_t *j = json_object_get(c->args, "pid");

	*pp = NULL;
	if (j == NULL || json_is_null(j))
		return 0;
	if (wire_pid_get(j, pid) != 0)
		return bad(c, "pid", "a photo ID {kind, number}");
	*pp = pid->kind ? pid : NULL;
	return 0;
}

static int
arg_pins(struct call *c, jpki_pins_t *p)
{
	const json_t *j = json_object_get(c->args, "pins");

	memset(p, 0, sizeof(*p));
	if (j == NULL || json_is_null(j))
		return 0;
	if (wire_pins_get(j, p) != 0)
		return bad(c, "pins", "{sign, auth}");
	return 0;
}

static int
set_act(struct call *c, const jpki_act_t *act, int r)
{
	/* Even on failure: a journaled act left pending has its reference. */
	if (act->ref[0] != '\0')
		json_object_set_new(c->result, "act", wire_act(act));
	snprintf(c->object, sizeof(c->object), "%s", act->ref[0] ? act->ref : c->object);
	return r;
}

static int
fn_operator_add(struct call *c)
{
	const char *name, *secret;
	int r;

	if ((r = arg_str(c, "name", &name)) != 0 || (r = arg_str(c, "secret", &secret)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", name);
	return jpki_window_operator_add(c->w, name, secret);
}

static int
fn_registry_add(struct call *c)
{
	jpki_resident_t res;
	jpki_photo_id_t pid;
	const jpki_photo_id_t *pp;
	const json_t *j = json_object_get(c->args, "resident");
	int r;

	if (j == NULL || wire_resident_get(j, &res) != 0)
		return bad(c, "resident", "a resident record");
	if ((r = arg_pid(c, &pid, &pp)) != 0)
		return r;
	if ((r = jpki_registry_add(c->w, &res, pp)) == 0) {
		json_object_set_new(c->result, "resident", wire_resident(&res));
		snprintf(c->object, sizeof(c->object), "%s", res.id);
	}
	return r;
}

static int
fn_registry_get(struct call *c)
{
	jpki_resident_t res;
	const char *id;
	int r;

	if ((r = arg_str(c, "id", &id)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", id);
	if ((r = jpki_registry_get(c->w, id, &res)) == 0)
		json_object_set_new(c->result, "resident", wire_resident(&res));
	return r;
}

static int
list_cb(void *ctx, const jpki_resident_t *r)
{
	return json_array_append_new(ctx, wire_resident(r)) == 0 ? 0 : JPKI_ERR_NOMEM;
}

static int
fn_registry_list(struct call *c)
{
	json_t *arr = json_array();
	int r;

	if (arr == NULL)
		return JPKI_ERR_NOMEM;
	if ((r = jpki_registry_foreach(c->w, list_cb, arr)) == 0)
		json_object_set_new(c->result, "residents", arr);
	else
		json_decref(arr);
	return r;
}

static int
fn_registry_change(struct call *c)
{
	const char *id, *fact, *value, *eff_s;
	jpki_fact_t f;
	jpki_date_t eff;
	char ref[JPKI_ID_LEN] = "";
	int revoked = 0, r;

	if ((r = arg_str(c, "id", &id)) != 0 || (r = arg_str(c, "fact", &fact)) != 0 ||
	    (r = arg_str(c, "value", &value)) != 0 || (r = arg_str(c, "effective", &eff_s)) != 0)
		return r;
	if (jpki_fact_parse(fact, &f) != 0)
		return bad(c, "fact", "name, kana, dob, sex, address or alias");
	if (jpki_date_parse(eff_s, &eff) != 0)
		return bad(c, "effective", "a date YYYY-MM-DD");
	snprintf(c->object, sizeof(c->object), "%s", id);
	if ((r = jpki_registry_change(c->w, id, f, value, &eff, &revoked, ref)) == 0) {
		json_object_set_new(c->result, "revoked", json_integer(revoked));
		json_object_set_new(c->result, "ref", json_string(ref));
	}
	return r;
}

static int
cards_cb(void *ctx, const jpki_card_rec_t *cr)
{
	return json_array_append_new(ctx, wire_card(cr)) == 0 ? 0 : JPKI_ERR_NOMEM;
}

static int
fn_registry_cards(struct call *c)
{
	const char *resident;
	json_t *arr;
	int r;

	if ((r = arg_str(c, "resident", &resident)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", resident);
	if ((arr = json_array()) == NULL)
		return JPKI_ERR_NOMEM;
	if ((r = jpki_registry_cards(c->w, resident, cards_cb, arr)) == 0)
		json_object_set_new(c->result, "cards", arr);
	else
		json_decref(arr);
	return r;
}

static int
fn_registry_card(struct call *c)
{
	jpki_card_rec_t card;
	const char *number;
	int r;

	if ((r = arg_str(c, "number", &number)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", number);
	if ((r = jpki_registry_card(c->w, number, &card)) == 0)
		json_object_set_new(c->result, "card", wire_card(&card));
	return r;
}

static int
fn_act_get(struct call *c)
{
	jpki_act_t act;
	const char *ref;
	int r;

	if ((r = arg_str(c, "ref", &ref)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", ref);
	memset(&act, 0, sizeof(act));
	r = jpki_act_get(c->w, ref, &act);
	return set_act(c, &act, r);
}

static int
fn_pending(struct call *c)
{
	jpki_act_t act;
	const char *resident;
	int r;

	if ((r = arg_str(c, "resident", &resident)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", resident);
	memset(&act, 0, sizeof(act));
	r = jpki_window_pending(c->w, resident, &act);
	return set_act(c, &act, r);
}

static int
fn_issue(struct call *c)
{
	jpki_issue_opts_t o;
	jpki_date_t exp;
	jpki_pins_t pins;
	jpki_photo_id_t pid;
	const jpki_photo_id_t *pp;
	const json_t *jo = json_object_get(c->args, "opts");
	const char *resident;
	jpki_act_t act;
	int r;

	if ((r = arg_str(c, "resident", &resident)) != 0)
		return r;
	if (jo == NULL || wire_issue_opts_get(jo, &o, &exp) != 0)
		return bad(c, "opts", "issue options");
	if ((r = arg_pins(c, &pins)) != 0 || (r = arg_pid(c, &pid, &pp)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", resident);
	memset(&act, 0, sizeof(act));
	r = jpki_window_issue(c->w, resident, c->rd, c->issuer, &o, &pins, pp, &act);
	return set_act(c, &act, r);
}

static int
fn_reissue(struct call *c)
{
	jpki_pins_t pins;
	jpki_photo_id_t pid;
	const jpki_photo_id_t *pp;
	const char *resident;
	int64_t which, renewal;
	jpki_act_t act;
	int r;

	if ((r = arg_str(c, "resident", &resident)) != 0 ||
	    (r = arg_int(c, "which", -1, 0, 1, &which)) != 0 ||
	    (r = arg_int(c, "renewal", 0, 0, 1, &renewal)) != 0 || (r = arg_pins(c, &pins)) != 0 ||
	    (r = arg_pid(c, &pid, &pp)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", resident);
	memset(&act, 0, sizeof(act));
	r = jpki_window_reissue(c->w, resident, (jpki_ca_kind_t)which, (int)renewal, c->rd,
	                        c->issuer, &pins, pp, &act);
	return set_act(c, &act, r);
}

static int
fn_revoke(struct call *c)
{
	jpki_photo_id_t pid;
	const jpki_photo_id_t *pp;
	const char *resident;
	int64_t which, why;
	jpki_act_t act;
	int r;

	if ((r = arg_str(c, "resident", &resident)) != 0 ||
	    (r = arg_int(c, "which", -2, -1, 1, &which)) != 0 ||
	    (r = arg_int(c, "why", -1, JPKI_WR_LOST, JPKI_WR_VOLUNTARY, &why)) != 0 ||
	    (r = arg_pid(c, &pid, &pp)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", resident);
	memset(&act, 0, sizeof(act));
	r = jpki_window_revoke(c->w, resident, (int)which, (jpki_window_reason_t)why, pp, &act);
	return set_act(c, &act, r);
}

static int
fn_suspend(struct call *c)
{
	const char *resident = NULL, *card = NULL;
	jpki_act_t act;
	int r;

	if (wire_str(c->args, "resident", &resident) != 0 || wire_str(c->args, "card", &card) != 0)
		return bad(c, "resident, card", "strings or null");
	snprintf(c->object, sizeof(c->object), "%s", resident ? resident : card ? card : "");
	memset(&act, 0, sizeof(act));
	r = jpki_window_suspend(c->w, resident, card, &act);
	return set_act(c, &act, r);
}

static int
fn_release(struct call *c)
{
	jpki_photo_id_t pid;
	const jpki_photo_id_t *pp;
	const char *resident;
	jpki_act_t act;
	int r;

	if ((r = arg_str(c, "resident", &resident)) != 0 || (r = arg_pid(c, &pid, &pp)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", resident);
	memset(&act, 0, sizeof(act));
	r = jpki_window_release(c->w, resident, pp, &act);
	return set_act(c, &act, r);
}

static int
fn_pin_init(struct call *c)
{
	jpki_photo_id_t pid;
	const jpki_photo_id_t *pp;
	const char *resident, *new_pin = NULL;
	int64_t which;
	jpki_act_t act;
	int r;

	if ((r = arg_str(c, "resident", &resident)) != 0 ||
	    (r = arg_int(c, "which", -1, 0, 1, &which)) != 0 ||
	    (r = arg_pid(c, &pid, &pp)) != 0)
		return r;
	if (wire_str(c->args, "new_pin", &new_pin) != 0)
		return bad(c, "new_pin", "a string or null");
	snprintf(c->object, sizeof(c->object), "%s", resident);
	memset(&act, 0, sizeof(act));
	/* On the wire as the certificates are numbered: 0 sign, 1 auth. */
	r = jpki_window_pin_init(c->w, resident, which == 0 ? JPKI_PIN_SIGN : JPKI_PIN_AUTH, new_pin,
	                         c->rd, c->issuer, pp, &act);
	return set_act(c, &act, r);
}

static int
fn_return_card(struct call *c)
{
	jpki_photo_id_t pid;
	const jpki_photo_id_t *pp;
	const char *resident, *card = NULL;
	jpki_act_t act;
	int r;

	if ((r = arg_str(c, "resident", &resident)) != 0 || (r = arg_pid(c, &pid, &pp)) != 0)
		return r;
	if (wire_str(c->args, "card", &card) != 0)
		return bad(c, "card", "a string or null");
	snprintf(c->object, sizeof(c->object), "%s", resident);
	memset(&act, 0, sizeof(act));
	r = jpki_window_return_card(c->w, resident, card, pp, &act);
	return set_act(c, &act, r);
}

static int
fn_resume(struct call *c)
{
	jpki_pins_t pins;
	const char *ref;
	jpki_act_t act;
	int r;

	if ((r = arg_str(c, "ref", &ref)) != 0 || (r = arg_pins(c, &pins)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", ref);
	memset(&act, 0, sizeof(act));
	r = jpki_window_resume(c->w, ref, c->rd, c->issuer, &pins, &act);
	return set_act(c, &act, r);
}

static int
fn_undo(struct call *c)
{
	const char *ref;
	jpki_act_t act;
	int r;

	if ((r = arg_str(c, "ref", &ref)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", ref);
	memset(&act, 0, sizeof(act));
	r = jpki_window_undo(c->w, ref, &act);
	return set_act(c, &act, r);
}

static int
fn_cert_get(struct call *c)
{
	const char *hex;
	int64_t kind;
	uint8_t sn[JPKI_SERIAL_MAX];
	size_t n = 0;
	jpki_cert_rec_t rec;
	char *b64 = NULL, shex[2 * JPKI_SERIAL_MAX + 1];
	json_t *j;
	int r;

	if ((r = arg_int(c, "kind", -1, 0, 1, &kind)) != 0 || (r = arg_str(c, "serial", &hex)) != 0)
		return r;
	if (jpki_hex_decode(hex, sn, sizeof(sn), &n) != 0 || n == 0)
		return bad(c, "serial", "a serial number in hex");
	snprintf(c->object, sizeof(c->object), "%s/%s", kind == 0 ? "sign" : "auth", hex);
	memset(&rec, 0, sizeof(rec));
	if ((r = jpki_store_cert_get(jpki_ca_store(jpki_window_ca(c->w)), (jpki_ca_kind_t)kind, sn,
	                             n, 1, &rec)) != 0)
		return r;
	jpki_hex_encode(rec.serial, rec.serial_len, shex);
	if (rec.der != NULL && (r = jpki_base64_encode(rec.der, rec.der_len, &b64)) != 0) {
		jpki_cert_rec_clear(&rec);
		return r;
	}
	j = json_pack("{s:i,s:s,s:I,s:I,s:I,s:i,s:i,s:I,s:s,s:s}", "ca", (int)rec.ca, "serial", shex,
	              "not_before", (json_int_t)rec.not_before, "not_after",
	              (json_int_t)rec.not_after, "partition", (json_int_t)rec.partition, "status",
	              (int)rec.status, "reason", rec.reason, "status_time",
	              (json_int_t)rec.status_time, "subject_cn", rec.subject_cn, "der",
	              b64 ? b64 : "");
	free(b64);
	jpki_cert_rec_clear(&rec);
	if (j == NULL)
		return JPKI_ERR_NOMEM;
	json_object_set_new(c->result, "cert", j);
	return 0;
}

static int
fn_audit(struct call *c)
{
	const char *action, *object, *result, *detail;
	char act[JPKI_AUDIT_ACTION_MAX + 1];
	int r;

	if ((r = arg_str(c, "action", &action)) != 0 || (r = arg_str(c, "object", &object)) != 0 ||
	    (r = arg_str(c, "result", &result)) != 0 || (r = arg_str(c, "detail", &detail)) != 0)
		return r;
	snprintf(c->object, sizeof(c->object), "%s", object);
	snprintf(act, sizeof(act), "%s", action);
	return jpki_audit_append(jpki_window_audit(c->w), jpki_window_operator(c->w), act, object,
	                         result, detail);
}

static const struct fn {
	const char *name;
	int card;                 /* runs in a session, with the office's card */
	int (*run)(struct call *c);
} fns[] = {
	{"operator_add", 0, fn_operator_add},   {"registry_add", 0, fn_registry_add},
	{"registry_get", 0, fn_registry_get},   {"registry_list", 0, fn_registry_list},
	{"registry_change", 0, fn_registry_change}, {"registry_cards", 0, fn_registry_cards},
	{"registry_card", 0, fn_registry_card}, {"act_get", 0, fn_act_get},
	{"pending", 0, fn_pending},             {"issue", 1, fn_issue},
	{"reissue", 1, fn_reissue},             {"revoke", 0, fn_revoke},
	{"suspend", 0, fn_suspend},             {"release", 0, fn_release},
	{"pin_init", 1, fn_pin_init},           {"return_card", 0, fn_return_card},
	{"resume", 1, fn_resume},               {"undo", 0, fn_undo},
	{"cert_get", 0, fn_cert_get},           {"audit", 0, fn_audit},
};

static const struct fn *
fn_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(fns) / sizeof(fns[0]); i++)
		if (strcmp(fns[i].name, name) == 0)
			return &fns[i];
	return NULL;
}

/* Wipe the passwords of a call's arguments once it has run. */
static void
wipe_args(json_t *args)
{
	json_t *p = json_object_get(args, "pins");
	const char *keys[] = {"sign", "auth"};
	size_t i;

	for (i = 0; p != NULL && i < 2; i++) {
		json_t *s = json_object_get(p, keys[i]);
		if (json_is_string(s))
			OPENSSL_cleanse((void *)json_string_value(s), json_string_length(s));
	}
	if ((p = json_object_get(args, "new_pin")) != NULL && json_is_string(p))
		OPENSSL_cleanse((void *)json_string_value(p), json_string_length(p));
	if ((p = json_object_get(args, "secret")) != NULL && json_is_string(p))
		OPENSSL_cleanse((void *)json_string_value(p), json_string_length(p));
}

/* Run fn as op on a window of its own; the finished answer
 * {"rc", "detail", "result"} into *answer. */
static int
run_call(struct api_svc *a, const struct fn *f, json_t *args, const char *op, jpki_reader_t *rd,
         const struct api_req *rq, json_t **answer, int *bad_args, char *err, size_t errlen)
{
	struct call c;
	char action[64];
	int r;

	memset(&c, 0, sizeof(c));
	*answer = NULL;
	*bad_args = 0;
	if ((c.result = json_object()) == NULL)
		return JPKI_ERR_NOMEM;
	c.args = args;
	c.rd = rd;
	c.issuer = a->issuer;
	if ((r = jpki_window_open(a->ca_dir, "jpkid", &c.w)) == 0) {
		reg_act_as(c.w, op);
		r = f->run(&c);
	}
	wipe_args(args);
	snprintf(action, sizeof(action), "office:%s", f->name);
	audit(c.w, op, action, c.object, c.bad_args ? "refused" : r == 0 ? "ok" : "failed", rq,
	      c.bad_args ? c.err : r != 0 ? jpki_detail() : "");
	jpki_window_close(c.w);
	if (c.bad_args) {
		*bad_args = 1;
		snprintf(err, errlen, "%s", c.err);
		json_decref(c.result);
		return 0;
	}
	*answer = json_pack("{s:i,s:o}", "rc", r, "result", c.result);
	if (*answer == NULL)
		return JPKI_ERR_NOMEM;
	if (r != 0)
		json_object_set_new(*answer, "detail", json_string(jpki_detail()));
	return 0;
}

/* ---- card acts: the relay to the office's reader ---- */

static int
relay_wait(struct session *s)
{
	struct timespec ts;
	int e = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += SESSION_IDLE;
	while (!s->have_rsp && !s->svc->stopping && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	if (!s->have_rsp) {
		jpki_set_detail("the office stopped answering (card act of %s)", s->op);
		return JPKI_ERR_CARD_REMOVED;
	}
	if (s->rsp_err != 0) {
		jpki_set_detail("the office's reader: %s", s->rsp_detail);
		return s->rsp_err;
	}
	return 0;
}

static int
relay_transmit(void *impl, const char *name, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
               size_t rsp_max, size_t *rsp_len)
{
	struct session *s = impl;
	int r;

	(void)name;
	if (cmd_len > sizeof(s->cmd))
		return JPKI_ERR_INVALID_ARG;
	pthread_mutex_lock(&s->mu);
	memcpy(s->cmd, cmd, cmd_len);
	s->cmd_len = cmd_len;
	s->reset = 0;
	s->have_rsp = 0;
	s->state = S_APDU;
	pthread_cond_broadcast(&s->cv);
	if ((r = relay_wait(s)) == 0) {
		if (s->rsp_len > rsp_max) {
			jpki_set_detail("the office's card answered %zu bytes", s->rsp_len);
			r = JPKI_ERR_CARD;
		} else {
			memcpy(rsp, s->rsp, s->rsp_len);
			*rsp_len = s->rsp_len;
		}
	}
	OPENSSL_cleanse(s->cmd, sizeof(s->cmd)); /* it may carry a password */
	OPENSSL_cleanse(s->rsp, sizeof(s->rsp));
	s->state = S_RUN;
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int
relay_reset(void *impl, const char *name)
{
	struct session *s = impl;
	int r;

	(void)name;
	pthread_mutex_lock(&s->mu);
	s->reset = 1;
	s->have_rsp = 0;
	s->state = S_APDU;
	pthread_cond_broadcast(&s->cv);
	r = relay_wait(s);
	s->state = S_RUN;
	pthread_mutex_unlock(&s->mu);
	return r;
}

static const struct jpki_reader_ops relay_ops = {relay_transmit, relay_reset, NULL};

static void *
session_main(void *arg)
{
	struct session *s = arg;
	jpki_reader_t *rd = NULL;
	json_t *answer = NULL;
	char name[96], err[256];
	int bad_args = 0, r;
	struct api_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.peer = s->peer;
	snprintf(name, sizeof(name), "office %s", s->op);
	if ((r = jpki_reader_new(&relay_ops, s, name, &rd)) == 0)
		r = run_call(s->svc, fn_find(s->fn), s->args, s->op, rd, &rq, &answer, &bad_args, err,
		             sizeof(err));
	jpki_reader_close(rd);
	if (r == 0 && bad_args)
		answer = json_pack("{s:i,s:s,s:o}", "rc", JPKI_ERR_FORMAT, "detail", err, "result",
		                   json_object());
	if (answer == NULL)
		answer = json_pack("{s:i,s:s,s:o}", "rc", r ? r : JPKI_ERR_NOMEM, "detail",
		                   "out of memory", "result", json_object());
	pthread_mutex_lock(&s->mu);
	s->answer = answer;
	s->state = S_DONE;
	s->touched = time(NULL);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	pthread_join(s->th, NULL);
	json_decref(s->args);
	json_decref(s->answer);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

/* Drop sessions whose answer went out, or that nobody asked about for long.
 * Under a->mu; the sessions to free are handed back (joined outside). */
static size_t
sessions_reap(struct api_svc *a, struct session **gone)
{
	time_t now = time(NULL);
	size_t i, n = 0;

	for (i = 0; i < SESSIONS_MAX; i++) {
		struct session *s = a->sessions[i];
		int drop;
		if (s == NULL)
			continue;
		pthread_mutex_lock(&s->mu);
		drop = s->state == S_DONE && (s->fetched || now - s->touched > SESSION_KEEP);
		pthread_mutex_unlock(&s->mu);
		if (drop) {
			gone[n++] = s;
			a->sessions[i] = NULL;
		}
	}
	return n;
}

/* Wait for the session's next step and answer with it. */
static int
session_answer(struct session *s, struct api_resp *out)
{
	struct timespec ts;
	json_t *j = NULL;
	char hex[2 * (JPKI_APDU_MAX) + 1];
	int e = 0, busy = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ANSWER_WAIT;
	pthread_mutex_lock(&s->mu);
	while (s->state == S_RUN && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	s->touched = time(NULL);
	if (s->state == S_APDU) {
		if (s->reset) {
			j = json_pack("{s:s,s:b}", "session", s->id, "reset", 1);
		} else {
			jpki_hex_encode(s->cmd, s->cmd_len, hex);
			j = json_pack("{s:s,s:s}", "session", s->id, "apdu", hex);
			OPENSSL_cleanse(hex, sizeof(hex));
		}
	} else if (s->state == S_DONE) {
		j = json_incref(s->answer);
		s->fetched = 1;
	} else {
		busy = 1;
	}
	/* Once fetched, another call may free s: not touched after this. */
	pthread_mutex_unlock(&s->mu);
	if (busy)
		return answer_error(out, 503, "the card act is still working; ask again");
	if (j == NULL)
		return JPKI_ERR_NOMEM;
	return answer_json(out, 200, j, "office");
}

static int
h_call(struct api_svc *a, const struct api_req *rq, struct api_resp *out, const char *op)
{
	char err[300] = "";
	json_t *body = NULL, *args, *answer = NULL;
	const char *fname = NULL;
	const struct fn *f;
	struct session *s = NULL, *gone[SESSIONS_MAX];
	size_t i, ngone;
	int bad_args = 0, r;

	if ((body = body_json(rq, err, sizeof(err))) == NULL ||
	    wire_str(body, "fn", &fname) != 0 || (f = fn_find(fname)) == NULL) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "unknown function '%.64s'", fname ? fname : "");
		json_decref(body);
		return answer_error(out, fname != NULL ? 404 : 400, err);
	}
	args = json_object_get(body, "args");
	if (args == NULL) {
		json_object_set_new(body, "args", json_object());
		args = json_object_get(body, "args");
	}
	if (!json_is_object(args)) {
		json_decref(body);
		return answer_error(out, 400, "args: a JSON object");
	}
	if (!f->card) {
		r = run_call(a, f, args, op, NULL, rq, &answer, &bad_args, err, sizeof(err));
		json_decref(body);
		if (r != 0)
			return r;
		if (bad_args)
			return answer_error(out, 400, err);
		return answer_json(out, 200, answer, f->name);
	}
	if (a->issuer == NULL) {
		json_decref(body);
		return answer_error(out, 503, "card acts are not configured on this server (issuer_key)");
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		json_decref(body);
		return JPKI_ERR_NOMEM;
	}
	{
		uint8_t raw[16];
		if (RAND_bytes(raw, sizeof(raw)) != 1) {
			free(s);
			json_decref(body);
			return answer_error(out, 500, "no randomness");
		}
		jpki_hex_encode(raw, sizeof(raw), s->id);
	}
	s->used = 1;
	s->svc = a;
	s->args = json_incref(args);
	json_decref(body);
	snprintf(s->op, sizeof(s->op), "%s", op);
	snprintf(s->peer, sizeof(s->peer), "%s", rq->peer ? rq->peer : "?");
	snprintf(s->fn, sizeof(s->fn), "%s", f->name);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->state = S_RUN;
	s->touched = time(NULL);
	pthread_mutex_lock(&a->mu);
	ngone = sessions_reap(a, gone);
	for (i = 0; i < SESSIONS_MAX && a->sessions[i] != NULL; i++)
		;
	if (i == SESSIONS_MAX || a->stopping) {
		pthread_mutex_unlock(&a->mu);
		for (i = 0; i < ngone; i++)
			session_free(gone[i]);
		json_decref(s->args);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s);
		return answer_error(out, 503, "too many card acts under way; try again shortly");
	}
	if (pthread_create(&s->th, NULL, session_main, s) != 0) {
		pthread_mutex_unlock(&a->mu);
		for (i = 0; i < ngone; i++)
			session_free(gone[i]);
		json_decref(s->args);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s);
		return answer_error(out, 503, "cannot start the card act");
	}
	a->sessions[i] = s;
	pthread_mutex_unlock(&a->mu);
	for (i = 0; i < ngone; i++)
		session_free(gone[i]);
	return session_answer(s, out);
}

static int
h_apdu(struct api_svc *a, const struct api_req *rq, struct api_resp *out, const char *op)
{
	char err[300] = "";
	json_t *body;
	const char *id = NULL, *rsp = NULL, *detail = NULL;
	int64_t rerr = 0;
	struct session *s = NULL;
	size_t i;
	int r;

	if ((body = body_json(rq, err, sizeof(err))) == NULL)
		return answer_error(out, 400, err);
	if (wire_str(body, "session", &id) != 0 || id == NULL || wire_str(body, "rsp", &rsp) != 0 ||
	    wire_str(body, "detail", &detail) != 0 || wire_int(body, "error", 0, &rerr) != 0 ||
	    rerr < JPKI_ERR__LAST + 1 || rerr > 0 || (rsp == NULL && rerr == 0)) {
		json_decref(body);
		return answer_error(out, 400, "want {\"session\", \"rsp\": hex} or {\"session\", \"error\", \"detail\"}");
	}
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < SESSIONS_MAX; i++)
		if (a->sessions[i] != NULL && strcmp(a->sessions[i]->id, id) == 0 &&
		    strcmp(a->sessions[i]->op, op) == 0)
			s = a->sessions[i];
	if (s == NULL) {
		pthread_mutex_unlock(&a->mu);
		json_decref(body);
		return answer_error(out, 404, "no such session (finished, or over 2 minutes idle)");
	}
	pthread_mutex_lock(&s->mu);
	pthread_mutex_unlock(&a->mu); /* s is not freed while not S_DONE+fetched */
	if (s->state != S_APDU) {
		pthread_mutex_unlock(&s->mu);
		json_decref(body);
		return answer_error(out, 409, "the session is not waiting for the card");
	}
	if (rerr != 0) {
		s->rsp_err = (int)rerr;
		snprintf(s->rsp_detail, sizeof(s->rsp_detail), "%s", detail ? detail : "error");
		s->have_rsp = 1;
	} else if (s->reset) {
		s->rsp_err = 0;
		s->have_rsp = 1;
	} else if ((r = jpki_hex_decode(rsp, s->rsp, sizeof(s->rsp), &s->rsp_len)) != 0 || s->rsp_len < 2) {
		pthread_mutex_unlock(&s->mu);
		json_decref(body);
		return answer_error(out, 400, "rsp: the card's answer in hex, with SW1 SW2");
	} else {
		s->rsp_err = 0;
		s->have_rsp = 1;
	}
	s->state = S_RUN;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (rsp != NULL)
		OPENSSL_cleanse((void *)rsp, strlen(rsp));
	json_decref(body);
	return session_answer(s, out);
}

static int
h_office(struct api_svc *a, const struct api_req *rq, struct api_resp *out)
{
	char op[64], why[96];
	jpki_window_t *w = NULL;

	if (strcmp(rq->method, "POST") != 0)
		return answer_error(out, 405, "the office API takes POST");
	if (strcmp(rq->path, "/office/login") == 0)
		return h_login(a, rq, out);
	if (bearer(a, rq->authorization, op) != 0) {
		/* Refused and audited. */
		snprintf(why, sizeof(why), "%s", rq->authorization ? "unknown or expired token"
		                                                   : "no token");
		if (jpki_window_open(a->ca_dir, "jpkid", &w) == 0) {
			audit(w, "(none)", rq->path, "", "refused", rq, why);
			jpki_window_close(w);
		}
		return answer_error(out, 401, "log in first: POST /office/login, then Bearer TOKEN");
	}
	if (strcmp(rq->path, "/office/call") == 0)
		return h_call(a, rq, out, op);
	if (strcmp(rq->path, "/office/apdu") == 0)
		return h_apdu(a, rq, out, op);
	return answer_error(out, 404, "no such office call");
}

/* ---- the service ---- */

int
api_path(const char *path)
{
	return strncmp(path, "/window/", 8) == 0 || strncmp(path, "/line/", 6) == 0 ||
	       strncmp(path, "/office/", 8) == 0;
}

int
api_svc_new(const jpki_server_opts_t *o, struct api_svc **out)
{
	struct api_svc *a;
	const char *key = o->issuer_key ? o->issuer_key : getenv("JPKI_ISSUER_KEY");
	int r;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return JPKI_ERR_NOMEM;
	snprintf(a->ca_dir, sizeof(a->ca_dir), "%s", o->ca_dir);
	pthread_mutex_init(&a->mu, NULL);
	if (key != NULL && *key != '\0' && (r = jpki_x509_load_privkey(key, &a->issuer)) != 0) {
		char why[256];
		snprintf(why, sizeof(why), "%s", jpki_detail()); /* not the buffer being written */
		jpki_set_detail("the card issuer's key (issuer_key or $JPKI_ISSUER_KEY): %s", why);
		api_svc_free(a);
		return r;
	}
	*out = a;
	return 0;
}

void
api_svc_free(struct api_svc *a)
{
	size_t i;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stopping = 1;
	for (i = 0; i < SESSIONS_MAX; i++)
		if (a->sessions[i] != NULL) {
			pthread_mutex_lock(&a->sessions[i]->mu);
			pthread_cond_broadcast(&a->sessions[i]->cv);
			pthread_mutex_unlock(&a->sessions[i]->mu);
		}
	pthread_mutex_unlock(&a->mu);
	for (i = 0; i < SESSIONS_MAX; i++)
		session_free(a->sessions[i]);
	EVP_PKEY_free(a->issuer);
	pthread_mutex_destroy(&a->mu);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

int
api_handle(struct api_svc *a, const struct api_req *rq, struct api_resp *out)
{
	memset(out, 0, sizeof(*out));
	if (rq->body_len > API_BODY_MAX)
		return answer_error(out, 413, "request too large");
	if (strcmp(rq->path, "/window/validity") == 0)
		return h_validity(a, rq, out);
	if (strcmp(rq->path, "/window/revoke") == 0) {
		if (strcmp(rq->method, "POST") != 0)
			return answer_error(out, 405, "POST a signed request to /window/revoke");
		return h_revoke(a, rq, out);
	}
	if (strcmp(rq->path, "/line/suspend") == 0)
		return h_suspend(a, rq, out);
	if (strncmp(rq->path, "/office/", 8) == 0)
		return h_office(a, rq, out);
	return answer_error(out, 404, "not found");
}
