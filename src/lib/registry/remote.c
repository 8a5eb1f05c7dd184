/*
 * The remote window: jpki/registry.h over jpkid's office API
 * (docs/online-window.md).  One libcurl handle per window, so the calls of
 * one act share a connection; every answer is bounded (2 MiB, JSON nesting,
 * hex lengths) before it is believed.  Card acts run a session: the server
 * sends card commands one at a time, this end relays them to the reader at
 * the window and sends the answers back until the act is finished.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "jpki/buf.h"
#include "jpki/error.h"
#include "jpki/registry.h"
#include "jpki/verify.h"
#include "registry/registry_int.h"
#include "registry/remote.h"
#include "registry/wire.h"

#define ANSWER_MAX ((size_t)2 << 20)   /* 2 MiB */
#define JSON_DEPTH_MAX 16              /* the deepest answer is 4 levels */
#define TIMEOUT_MS 60000L              /* a step of an act, server side */
#define SESSION_STEPS_MAX 10000        /* an issuance takes a few hundred */
#define SESSION_LEN_MAX 64
#define TOKEN_LEN 64
#define DER_MAX 65536

struct remote {
	char base[1024];        /* the server's URL, no trailing '/' */
	char token[TOKEN_LEN + 1];
	CURL *curl;
};

void
remote_free(struct remote *rm)
{
	if (rm == NULL)
		return;
	if (rm->curl != NULL)
		curl_easy_cleanup(rm->curl);
	OPENSSL_cleanse(rm, sizeof(*rm));
	free(rm);
}

int
jpki_window_connect(const char *url, const char *program, jpki_window_t **out)
{
	jpki_window_t *w = NULL;
	size_t n;
	int r = JPKI_ERR_INTERNAL;

	(void)program; /* the server names its audit entries itself */
	*out = NULL;
	if (url == NULL ||
	    (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
		jpki_set_detail("server '%.200s': only http:// and https:// URLs", url ? url : "");
		return JPKI_ERR_INVALID_ARG;
	}
	if ((n = strlen(url)) >= sizeof(((struct remote *)0)->base)) {
		jpki_set_detail("server URL longer than %zu bytes",
		                sizeof(((struct remote *)0)->base) - 1);
		return JPKI_ERR_INVALID_ARG;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL || (w->remote = calloc(1, sizeof(*w->remote))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	memcpy(w->remote->base, url, n + 1);
	while (n > 0 && w->remote->base[n - 1] == '/')
		w->remote->base[--n] = '\0';
	snprintf(w->dir, sizeof(w->dir), "%s", w->remote->base);
	if ((w->remote->curl = curl_easy_init()) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	*out = w;
	w = NULL;
	r = 0;
out:
	jpki_window_close(w);
	return r;
}

/* ---- HTTP ---- */

struct sink {
	jpki_buf_t b;
	int over;
};

static size_t
sink_write(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;

	if (jpki_buf_put(&s->b, p, size * n) != 0) {
		s->over = 1;
		return 0;
	}
	return size * n;
}

/* JSON nesting deeper than max is refused before jansson builds it. */
static int
depth_ok(const uint8_t *p, size_t n, int max)
{
	int depth = 0, in_str = 0, esc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return 0;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return 1;
}

/* Wipe a header list (it may carry a credential or a token) and free it. */
static void
slist_wipe_free(struct curl_slist *h)
{
	struct curl_slist *i;

	for (i = h; i != NULL; i = i->next)
		if (i->data != NULL)
			OPENSSL_cleanse(i->data, strlen(i->data));
	curl_slist_free_all(h);
}

/* The HTTP status of a refusal as the library's code. */
static int
status_err(long st)
{
	switch (st) {
	case 400: return JPKI_ERR_FORMAT;
	case 401: case 403: return JPKI_ERR_AUTH;
	case 404: return JPKI_ERR_NOT_FOUND;
	case 409: return JPKI_ERR_STATE;
	case 503: return JPKI_ERR_BUSY;
	default: return JPKI_ERR_NET;
	}
}

/*
 * POST body (JSON text) to the server's path with the Authorization line
 * auth; *answer: the JSON object of a 200 answer.  Any other status is an
 * error with the server's "error" text as the detail.
 */
static int
post(struct remote *rm, const char *path, const char *auth, const char *body, json_t **answer)
{
	struct sink s;
	struct curl_slist *hdr = NULL, *h2;
	char url[1200];
	json_error_t je;
	json_t *j = NULL;
	CURLcode cc;
	long st = 0;
	int r = JPKI_ERR_INTERNAL;

	*answer = NULL;
	jpki_buf_init(&s.b, ANSWER_MAX);
	s.over = 0;
	snprintf(url, sizeof(url), "%s%s", rm->base, path);
	if ((h2 = curl_slist_append(hdr, "Content-Type: application/json")) == NULL)
		goto nomem;
	hdr = h2;
	if ((h2 = curl_slist_append(hdr, "Accept: application/json")) == NULL)
		goto nomem;
	hdr = h2;
	if (auth != NULL) {
		if ((h2 = curl_slist_append(hdr, auth)) == NULL)
			goto nomem;
		hdr = h2;
	}
	/* Reset keeps the live connection: the calls of one act share it. */
	curl_easy_reset(rm->curl);
	curl_easy_setopt(rm->curl, CURLOPT_URL, url);
	curl_easy_setopt(rm->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(rm->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(rm->curl, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
	curl_easy_setopt(rm->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(rm->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(rm->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ANSWER_MAX);
	curl_easy_setopt(rm->curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(rm->curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(rm->curl, CURLOPT_USERAGENT, "OpenJPKI/0.1");
	curl_easy_setopt(rm->curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(rm->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(rm->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(rm->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	cc = curl_easy_perform(rm->curl);
	if (s.over || cc == CURLE_FILESIZE_EXCEEDED) {
		jpki_set_detail("%s: the answer is larger than %zu bytes", url, ANSWER_MAX);
		r = JPKI_ERR_TOO_LARGE;
		goto out;
	}
	if (cc != CURLE_OK) {
		jpki_set_detail("%s: %s", url, curl_easy_strerror(cc));
		r = JPKI_ERR_NET;
		goto out;
	}
	curl_easy_getinfo(rm->curl, CURLINFO_RESPONSE_CODE, &st);
	if (!depth_ok(s.b.data, s.b.len, JSON_DEPTH_MAX) ||
	    (j = json_loadb((const char *)s.b.data, s.b.len, JSON_REJECT_DUPLICATES, &je)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		j = NULL;
		if (st != 200) {
			jpki_set_detail("%s: HTTP %ld", url, st);
			r = status_err(st);
		} else {
			jpki_set_detail("%s: the answer is not a JSON object", url);
			r = JPKI_ERR_FORMAT;
		}
		goto out;
	}
	if (st != 200) {
		const char *e = NULL;
		(void)wire_str(j, "error", &e);
		jpki_set_detail("%.400s", e != NULL ? e : "refused");
		if (st != 401 && st != 403 && st != 404 && st != 409 && st != 400 && st != 503)
			jpki_set_detail("%s: HTTP %ld: %.400s", url, st, e != NULL ? e : "");
		r = status_err(st);
		goto out;
	}
	*answer = j;
	j = NULL;
	r = 0;
	goto out;
nomem:
	r = JPKI_ERR_NOMEM;
out:
	json_decref(j);
	slist_wipe_free(hdr);
	jpki_buf_free(&s.b);
	return r;
}

/* ---- calls ---- */

/* Passwords in a request are wiped before jansson frees them. */
static void
wipe_str_member(json_t *o, const char *key)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

static void
wipe_request(json_t *args)
{
	json_t *pins = json_object_get(args, "pins");

	wipe_str_member(args, "secret");
	wipe_str_member(args, "new_pin");
	wipe_str_member(pins, "sign");
	wipe_str_member(pins, "auth");
}

/* One card command of the session carried out on rd: the reply to send. */
static json_t *
card_step(jpki_reader_t *rd, const char *session, const json_t *ans)
{
	uint8_t cmd[JPKI_APDU_MAX], rsp[JPKI_RAPDU_MAX];
	char hex[2 * JPKI_RAPDU_MAX + 1];
	const char *apdu = NULL;
	size_t n = 0, m = 0;
	int r;

	if (rd == NULL) {
		jpki_set_detail("the act needs the card: --reader NAME or --card-file FILE");
		r = JPKI_ERR_NO_CARD;
		goto fail;
	}
	if (json_is_true(json_object_get(ans, "reset"))) {
		if ((r = jpki_reader_reset(rd)) != 0)
			goto fail;
		/* A reset has no answer of its own: an empty one says it was done. */
		return json_pack("{s:s,s:s}", "session", session, "rsp", "");
	}
	if (wire_str(ans, "apdu", &apdu) != 0 || apdu == NULL ||
	    jpki_hex_decode(apdu, cmd, sizeof(cmd), &n) != 0 || n < 4) {
		jpki_set_detail("the server sent a card command that is not a short APDU in hex");
		r = JPKI_ERR_FORMAT;
		goto fail;
	}
	if ((r = jpki_reader_transmit(rd, cmd, n, rsp, sizeof(rsp), &m)) != 0)
		goto fail;
	jpki_hex_encode(rsp, m, hex);
	OPENSSL_cleanse(cmd, sizeof(cmd)); /* a VERIFY or CHANGE carries a PIN */
	OPENSSL_cleanse(rsp, sizeof(rsp));
	{
		json_t *o = json_pack("{s:s,s:s}", "session", session, "rsp", hex);
		OPENSSL_cleanse(hex, sizeof(hex));
		return o;
	}
fail:
	OPENSSL_cleanse(cmd, sizeof(cmd));
	return json_pack("{s:s,s:i,s:s}", "session", session, "error", r, "detail",
	                 jpki_detail()[0] ? jpki_detail() : jpki_strerror(r));
}

/* POST a request object (kept by the caller) and wipe its text afterwards. */
static int
post_json(jpki_window_t *w, const char *path, const json_t *req, json_t **answer)
{
	char auth[32 + TOKEN_LEN];
	char *text;
	int r;

	*answer = NULL;
	if (w->remote->token[0] == '\0') {
		jpki_set_detail("log in first (--operator NAME)");
		return JPKI_ERR_AUTH;
	}
	if ((text = json_dumps(req, JSON_COMPACT)) == NULL)
		return JPKI_ERR_NOMEM;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->remote->token);
	r = post(w->remote, path, auth, text, answer);
	OPENSSL_cleanse(text, strlen(text));
	OPENSSL_cleanse(auth, sizeof(auth));
	free(text);
	return r;
}

/*
 * Call fn with args (stolen; secrets in it wiped).  On a card act the
 * session is run with rd.  The server's rc is returned, its detail set;
 * *result (new reference, never NULL on a finished call) holds what the
 * function filled in, also on failure.
 */
static int
call(jpki_window_t *w, const char *fn, json_t *args, jpki_reader_t *rd, json_t **result)
{
	json_t *req = NULL, *ans = NULL, *res;
	const char *session, *detail;
	char sess[SESSION_LEN_MAX + 1];
	int64_t rc;
	int r, steps;

	*result = NULL;
	if (args == NULL || (req = json_object()) == NULL ||
	    json_object_set_new(req, "fn", json_string(fn)) != 0 ||
	    json_object_set(req, "args", args) != 0) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if ((r = post_json(w, "/office/call", req, &ans)) != 0)
		goto out;
	for (steps = 0;; steps++) {
		json_t *reply;
		if ((r = wire_str(ans, "session", &session)) != 0)
			goto out;
		if (session == NULL)
			break;
		if (steps >= SESSION_STEPS_MAX || strlen(session) > SESSION_LEN_MAX) {
			jpki_set_detail("the server's card session runs past %d commands",
			                SESSION_STEPS_MAX);
			r = JPKI_ERR_FORMAT;
			goto out;
		}
		snprintf(sess, sizeof(sess), "%s", session);
		reply = card_step(rd, sess, ans);
		json_decref(ans);
		ans = NULL;
		if (reply == NULL) {
			r = JPKI_ERR_NOMEM;
			goto out;
		}
		r = post_json(w, "/office/apdu", reply, &ans);
		wipe_str_member(reply, "rsp");
		json_decref(reply);
		if (r != 0)
			goto out;
	}
	if ((r = wire_int(ans, "rc", 1, &rc)) != 0 || (r = wire_str(ans, "detail", &detail)) != 0)
		goto out;
	if (rc > 0 || rc <= JPKI_ERR__LAST) {
		jpki_set_detail("the server answered no result (rc %lld)", (long long)rc);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	res = json_object_get(ans, "result");
	if (res != NULL && !json_is_object(res)) {
		jpki_set_detail("result: not an object");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	*result = res != NULL ? json_incref(res) : json_object();
	if (*result == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	r = (int)rc;
	if (r != 0)
		jpki_set_detail("%.500s", detail != NULL ? detail : "");
out:
	wipe_request(args);
	json_decref(args);
	json_decref(req);
	json_decref(ans);
	return r;
}

/* The act of a result into act; the call's own code wins over a decoding
 * failure, so an act left pending still reaches the caller. */
static int
act_result(int r, json_t *res, jpki_act_t *act)
{
	json_t *a = res != NULL ? json_object_get(res, "act") : NULL;
	int d;

	if (a == NULL || json_is_null(a)) {
		json_decref(res);
		if (r == 0) {
			jpki_set_detail("the server's answer holds no act");
			return JPKI_ERR_FORMAT;
		}
		return r;
	}
	if (r != 0) {
		/* Keep the server's detail over the decoder's. */
		char keep[512];
		snprintf(keep, sizeof(keep), "%s", jpki_detail());
		(void)wire_act_get(a, act);
		jpki_set_detail("%s", keep);
	} else if ((d = wire_act_get(a, act)) != 0) {
		r = d;
	}
	json_decref(res);
	return r;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* ---- operators ---- */

int
remote_login(jpki_window_t *w, const char *name, const char *secret)
{
	struct remote *rm = w->remote;
	char *up = NULL, *b64 = NULL, *line = NULL;
	const char *tok, *op;
	json_t *ans = NULL;
	size_t n;
	int r = JPKI_ERR_INTERNAL;

	w->operator_name[0] = '\0';
	OPENSSL_cleanse(rm->token, sizeof(rm->token));
	if (name == NULL || secret == NULL || strchr(name, ':') != NULL) {
		jpki_set_detail("operator '%s': unknown operator", name ? name : "");
		return JPKI_ERR_AUTH;
	}
	n = strlen(name) + 1 + strlen(secret) + 1;
	if ((up = malloc(n)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	snprintf(up, n, "%s:%s", name, secret);
	if ((r = jpki_base64_encode((const uint8_t *)up, n - 1, &b64)) != 0)
		goto out;
	n = strlen(b64) + 32;
	if ((line = malloc(n)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	snprintf(line, n, "Authorization: Basic %s", b64);
	if ((r = post(rm, "/office/login", line, "{}", &ans)) != 0) {
		if (r == JPKI_ERR_AUTH && jpki_detail()[0] == '\0')
			jpki_set_detail("operator '%s': refused", name);
		goto out;
	}
	if ((r = wire_str(ans, "token", &tok)) != 0 || (r = wire_str(ans, "operator", &op)) != 0)
		goto out;
	if (tok == NULL || strlen(tok) != TOKEN_LEN || strspn(tok, "0123456789abcdefABCDEF") !=
	    TOKEN_LEN || (op != NULL && strlen(op) >= sizeof(w->operator_name))) {
		jpki_set_detail("the server's login answer is malformed");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	memcpy(rm->token, tok, TOKEN_LEN + 1);
	snprintf(w->operator_name, sizeof(w->operator_name), "%s", op != NULL ? op : name);
	wipe_str_member(ans, "token");
	r = 0;
out:
	if (up != NULL)
		OPENSSL_cleanse(up, strlen(up));
	if (b64 != NULL)
		OPENSSL_cleanse(b64, strlen(b64));
	if (line != NULL)
		OPENSSL_cleanse(line, strlen(line));
	free(up);
	free(b64);
	free(line);
	json_decref(ans);
	return r;
}

int
remote_operator_add(jpki_window_t *w, const char *name, const char *secret)
{
	json_t *res = NULL;
	int r;

	r = call(w, "operator_add", json_pack("{s:s?,s:s?}", "name", name, "secret", secret), NULL,
	         &res);
	json_decref(res);
	return r;
}

/* ---- the registry ---- */

int
remote_registry_add(jpki_window_t *w, jpki_resident_t *r, const jpki_photo_id_t *pid)
{
	json_t *res = NULL, *args;
	jpki_resident_t *back;
	int rc;

	args = json_pack("{s:o,s:o}", "resident", wire_resident(r), "pid", wire_pid(pid));
	if ((rc = call(w, "registry_add", args, NULL, &res)) != 0)
		goto out;
	if ((back = malloc(sizeof(*back))) == NULL) {
		rc = JPKI_ERR_NOMEM;
		goto out;
	}
	if ((rc = wire_resident_get(json_object_get(res, "resident"), back)) == 0)
		*r = *back;
	free(back);
out:
	json_decref(res);
	return rc;
}

int
remote_registry_get(jpki_window_t *w, const char *id, jpki_resident_t *out)
{
	json_t *res = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = call(w, "registry_get", json_pack("{s:s?}", "id", id), NULL, &res)) == 0)
		r = wire_resident_get(json_object_get(res, "resident"), out);
	json_decref(res);
	return r;
}

int
remote_registry_foreach(jpki_window_t *w, jpki_resident_cb cb, void *ctx)
{
	json_t *res = NULL, *arr, *v;
	jpki_resident_t *one = NULL;
	size_t i;
	int r;

	if ((r = call(w, "registry_list", json_object(), NULL, &res)) != 0)
		goto out;
	arr = json_object_get(res, "residents");
	if (!json_is_array(arr)) {
		jpki_set_detail("residents: not an array");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if ((one = malloc(sizeof(*one))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(arr, i, v) {
		if ((r = wire_resident_get(v, one)) != 0 || (r = cb(ctx, one)) != 0)
			goto out;
	}
	r = 0;
out:
	free(one);
	json_decref(res);
	return r;
}

int
remote_registry_change(jpki_window_t *w, const char *id, jpki_fact_t f, const char *value,
                       const jpki_date_t *effective, int *revoked, char ref[JPKI_ID_LEN])
{
	json_t *res = NULL, *eff;
	const char *s = NULL;
	int64_t rv = 0;
	char d[16];
	int r;

	*revoked = 0;
	ref[0] = '\0';
	if (effective != NULL) {
		jpki_date_format_iso(effective, d, sizeof(d));
		eff = json_string(d);
	} else {
		eff = json_null();
	}
	r = call(w, "registry_change",
	         json_pack("{s:s?,s:s,s:s?,s:o}", "id", id, "fact", jpki_fact_name(f), "value", value,
	                   "effective", eff),
	         NULL, &res);
	if (res != NULL && wire_int(res, "revoked", 0, &rv) == 0 && wire_str(res, "ref", &s) == 0 &&
	    s != NULL && strlen(s) < JPKI_ID_LEN) {
		*revoked = rv != 0;
		memcpy(ref, s, strlen(s) + 1);
	} else if (r == 0) {
		jpki_set_detail("registry_change: the answer holds no ref");
		r = JPKI_ERR_FORMAT;
	}
	json_decref(res);
	return r;
}

int
remote_registry_cards(jpki_window_t *w, const char *resident, jpki_card_rec_cb cb, void *ctx)
{
	json_t *res = NULL, *arr, *v;
	jpki_card_rec_t c;
	size_t i;
	int r;

	if ((r = call(w, "registry_cards", json_pack("{s:s?}", "resident", resident), NULL,
	              &res)) != 0)
		goto out;
	arr = json_object_get(res, "cards");
	if (!json_is_array(arr)) {
		jpki_set_detail("cards: not an array");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	json_array_foreach(arr, i, v) {
		if ((r = wire_card_get(v, &c)) != 0 || (r = cb(ctx, &c)) != 0)
			goto out;
	}
	r = 0;
out:
	json_decref(res);
	return r;
}

int
remote_registry_card(jpki_window_t *w, const char *number, jpki_card_rec_t *out)
{
	json_t *res = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = call(w, "registry_card", json_pack("{s:s?}", "number", number), NULL, &res)) == 0)
		r = wire_card_get(json_object_get(res, "card"), out);
	json_decref(res);
	return r;
}

/* ---- acts ---- */

int
remote_act_get(jpki_window_t *w, const char *ref, jpki_act_t *out)
{
	json_t *res = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = call(w, "act_get", json_pack("{s:s?}", "ref", ref), NULL, &res);
	return act_result(r, res, out);
}

int
remote_pending(jpki_window_t *w, const char *resident, jpki_act_t *act)
{
	json_t *res = NULL;
	int r;

	memset(act, 0, sizeof(*act));
	r = call(w, "pending", json_pack("{s:s?}", "resident", resident), NULL, &res);
	return act_result(r, res, act);
}

int
remote_issue(jpki_window_t *w, const char *resident, jpki_reader_t *rd,
             const jpki_issue_opts_t *opts, const jpki_pins_t *pins, const jpki_photo_id_t *pid,
             jpki_act_t *act)
{
	jpki_issue_opts_t def = {.fee = -1};
	json_t *res = NULL;
	int r;

	memset(act, 0, sizeof(*act));
	r = call(w, "issue",
	         json_pack("{s:s?,s:o,s:o,s:o}", "resident", resident, "opts",
	                   wire_issue_opts(opts != NULL ? opts : &def), "pins", wire_pins(pins),
	                   "pid", wire_pid(pid)),
	         rd, &res);
	return act_result(r, res, act);
}

int
remote_reissue(jpki_window_t *w, const char *resident, jpki_ca_kind_t which, int renewal,
               jpki_reader_t *rd, const jpki_pins_t *pins, const jpki_photo_id_t *pid,
               jpki_act_t *act)
{
	json_t *res = NULL;
	int r;

	memset(act, 0, sizeof(*act));
	r = call(w, "reissue",
	         json_pack("{s:s?,s:i,s:i,s:o,s:o}", "resident", resident, "which", (int)which,
	                   "renewal", renewal ? 1 : 0, "pins", wire_pins(pins), "pid", wire_pid(pid)),
	         rd, &res);
	return act_result(r, res, act);
}

int
remote_revoke(jpki_window_t *w, const char *resident, int which, jpki_window_reason_t why,
              const jpki_photo_id_t *pid, jpki_act_t *act)
{
	json_t *res = NULL;
	int r;

	memset(act, 0, sizeof(*act));
	r = call(w, "revoke",
	         json_pack("{s:s?,s:i,s:i,s:o}", "resident", resident, "which", which, "why",
	                   (int)why, "pid", wire_pid(pid)),
	         NULL, &res);
	return act_result(r, res, act);
}

int
remote_suspend(jpki_window_t *w, const char *resident, const char *card, jpki_act_t *act)
{
	json_t *res = NULL;
	int r;

	memset(act, 0, sizeof(*act));
	r = call(w, "suspend",
	         json_pack("{s:o,s:o}", "resident", str_or_null(resident), "card", str_or_null(card)),
	         NULL, &res);
	return act_result(r, res, act);
}

int
remote_release(jpki_window_t *w, const char *resident, const jpki_photo_id_t *pid,
               jpki_act_t *act)
{
	json_t *res = NULL;
	int r;

	memset(act, 0, sizeof(*act));
	r = call(w, "release", json_pack("{s:s?,s:o}", "resident", resident, "pid", wire_pid(pid)),
	         NULL, &res);
	return act_result(r, res, act);
}

int
remote_pin_init(jpki_window_t *w, const char *resident, jpki_pin_kind_t which,
                const char *new_pin, jpki_reader_t *rd, const jpki_photo_id_t *pid,
                jpki_act_t *act)
{
	json_t *res = NULL;
	int r;

	memset(act, 0, sizeof(*act));
	/* On the wire which is the certificate's kind (0 sign, 1 auth), not
	 * jpki_pin_kind_t's numbering. */
	r = call(w, "pin_init",
	         json_pack("{s:s?,s:i,s:o,s:o}", "resident", resident, "which",
	                   which == JPKI_PIN_SIGN ? (int)JPKI_CA_SIGN : (int)JPKI_CA_AUTH, "new_pin",
	                   str_or_null(new_pin), "pid", wire_pid(pid)),
	         rd, &res);
	return act_result(r, res, act);
}

int
remote_return_card(jpki_window_t *w, const char *resident, const char *card,
                   const jpki_photo_id_t *pid, jpki_act_t *act)
{
	json_t *res = NULL;
	int r;

	memset(act, 0, sizeof(*act));
	r = call(w, "return_card",
	         json_pack("{s:s?,s:o,s:o}", "resident", resident, "card", str_or_null(card), "pid",
	                   wire_pid(pid)),
	         NULL, &res);
	return act_result(r, res, act);
}

int
remote_resume(jpki_window_t *w, const char *ref, jpki_reader_t *rd, const jpki_pins_t *pins,
              jpki_act_t *act)
{
	json_t *res = NULL;
	int r;

	memset(act, 0, sizeof(*act));
	r = call(w, "resume", json_pack("{s:s?,s:o}", "ref", ref, "pins", wire_pins(pins)), rd,
	         &res);
	return act_result(r, res, act);
}

int
remote_undo(jpki_window_t *w, const char *ref, jpki_act_t *act)
{
	json_t *res = NULL;
	int r;

	memset(act, 0, sizeof(*act));
	r = call(w, "undo", json_pack("{s:s?}", "ref", ref), NULL, &res);
	return act_result(r, res, act);
}

/* ---- certificates and the audit log ---- */

/* A time member: Unix seconds, or "YYYY-MM-DDTHH:MM:SSZ". */
static int
get_time(const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);
	struct tm tm;
	const char *s;
	char *end;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		goto bad;
	s = json_string_value(v);
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0')
		goto bad;
	*out = (int64_t)timegm(&tm);
	return 0;
bad:
	jpki_set_detail("cert.%s: not a time", key);
	return JPKI_ERR_FORMAT;
}

int
remote_cert_get(jpki_window_t *w, jpki_ca_kind_t kind, const uint8_t *serial, size_t len,
                jpki_cert_rec_t *rec)
{
	char hex[2 * JPKI_SERIAL_MAX + 1];
	const char *s, *cn, *der;
	json_t *res = NULL, *c, *v;
	int r;

	memset(rec, 0, sizeof(*rec));
	if (len == 0 || len > JPKI_SERIAL_MAX)
		return JPKI_ERR_INVALID_ARG;
	jpki_hex_encode(serial, len, hex);
	if ((r = call(w, "cert_get", json_pack("{s:i,s:s}", "kind", (int)kind, "serial", hex), NULL,
	              &res)) != 0)
		goto out;
	c = json_object_get(res, "cert");
	r = JPKI_ERR_FORMAT;
	if (!json_is_object(c)) {
		jpki_set_detail("cert: not an object");
		goto out;
	}
	rec->ca = kind;
	if (wire_str(c, "serial", &s) != 0 || s == NULL ||
	    jpki_hex_decode(s, rec->serial, sizeof(rec->serial), &rec->serial_len) != 0) {
		jpki_set_detail("cert.serial: not a serial");
		goto out;
	}
	if ((r = get_time(c, "not_before", &rec->not_before)) != 0 ||
	    (r = get_time(c, "not_after", &rec->not_after)) != 0 ||
	    (r = get_time(c, "status_time", &rec->status_time)) != 0 ||
	    (r = wire_int(c, "partition", 0, &rec->partition)) != 0)
		goto out;
	r = JPKI_ERR_FORMAT;
	/* status and reason: their numbers, or their names. */
	v = json_object_get(c, "status");
	if (json_is_integer(v) && json_integer_value(v) >= JPKI_STATUS_GOOD &&
	    json_integer_value(v) <= JPKI_STATUS_HOLD) {
		rec->status = (jpki_cert_status_t)json_integer_value(v);
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		if (strcmp(s, "good") == 0)
			rec->status = JPKI_STATUS_GOOD;
		else if (strcmp(s, "revoked") == 0)
			rec->status = JPKI_STATUS_REVOKED;
		else if (strcmp(s, "hold") == 0)
			rec->status = JPKI_STATUS_HOLD;
		else
			goto bad_status;
	} else {
		goto bad_status;
	}
	v = json_object_get(c, "reason");
	rec->reason = JPKI_REASON_NONE;
	if (json_is_integer(v) && json_integer_value(v) >= -1 && json_integer_value(v) <= 10) {
		rec->reason = (int)json_integer_value(v);
	} else if (json_is_string(v) && json_string_value(v)[0] != '\0') {
		if (jpki_reason_parse(json_string_value(v), &rec->reason) != 0) {
			jpki_set_detail("cert.reason: unknown");
			goto out;
		}
	} else if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
		jpki_set_detail("cert.reason: not a reason");
		goto out;
	}
	if (wire_str(c, "subject_cn", &cn) != 0 || (cn != NULL && strlen(cn) >= sizeof(rec->subject_cn))) {
		jpki_set_detail("cert.subject_cn: not a string of at most %zu bytes",
		                sizeof(rec->subject_cn) - 1);
		goto out;
	}
	snprintf(rec->subject_cn, sizeof(rec->subject_cn), "%s", cn != NULL ? cn : "");
	if (wire_str(c, "der", &der) != 0 || der == NULL ||
	    jpki_base64_decode(der, strlen(der), DER_MAX, &rec->der, &rec->der_len) != 0) {
		jpki_set_detail("cert.der: not base64 of at most %d bytes", DER_MAX);
		goto out;
	}
	r = 0;
	goto out;
bad_status:
	jpki_set_detail("cert.status: not good, revoked or hold");
out:
	if (r != 0)
		jpki_cert_rec_clear(rec);
	json_decref(res);
	return r;
}

int
remote_note(jpki_window_t *w, const char *action, const char *object, const char *result,
            const char *detail)
{
	json_t *res = NULL;
	int r;

	r = call(w, "audit",
	         json_pack("{s:s?,s:s?,s:s?,s:s?}", "action", action, "object", object, "result",
	                   result, "detail", detail),
	         NULL, &res);
	json_decref(res);
	return r;
}
