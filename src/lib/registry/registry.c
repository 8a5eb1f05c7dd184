/*
 * The resident registry and the window's operators (jpki/registry.h): residents,
 * their history, cards and acts as store documents, and the change of facts
 * that invalidates a signature certificate at once (L6).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "jpki/audit.h"
#include "jpki/error.h"
#include "jpki/registry.h"
#include "registry/doc.h"
#include "registry/registry_int.h"
#include "registry/remote.h"

/* ---- the window ---- */

int
jpki_window_open(const char *ca_dir, const char *program, jpki_window_t **out)
{
	int r = JPKI_ERR_INTERNAL;
	jpki_window_t *w = NULL;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return JPKI_ERR_NOMEM;
	snprintf(w->dir, sizeof(w->dir), "%s", ca_dir);
	if ((r = jpki_ca_open(ca_dir, &w->ca)) != 0)
		goto out;
	w->st = jpki_ca_store(w->ca);
	if ((r = jpki_audit_open(&w->audit, ca_dir, w->st, program)) != 0)
		goto out;
	*out = w;
	w = NULL;
	r = 0;
out:
	jpki_window_close(w);
	return r;
}

void
jpki_window_close(jpki_window_t *w)
{
	if (w == NULL)
		return;
	remote_free(w->remote);
	jpki_audit_clear(&w->audit);
	jpki_ca_close(w->ca);
	OPENSSL_cleanse(w, sizeof(*w));
	free(w);
}

jpki_ca_t *
jpki_window_ca(jpki_window_t *w)
{
	return w->ca;
}

struct jpki_audit *
jpki_window_audit(jpki_window_t *w)
{
	if (w->remote != NULL)
		return NULL;
	return &w->audit;
}

const char *
jpki_window_operator(const jpki_window_t *w)
{
	return w->operator_name;
}

void
reg_hex(const uint8_t *s, size_t len, char out[2 * JPKI_SERIAL_MAX + 1])
{
	out[0] = '\0';
	if (len > 0)
		jpki_serial_hex(s, len, out, 2 * JPKI_SERIAL_MAX + 1);
}

/* ---- operators: salted scrypt of the credential ---- */

#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 16
#define HASH_LEN 32

static int
valid_operator_name(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (n < 1 || n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_' &&
		    name[i] != '.')
			return 0;
	return 1;
}

static int
scrypt_hash(const char *secret, const uint8_t salt[SALT_LEN], uint8_t out[HASH_LEN])
{
	return EVP_PBE_scrypt(secret, strlen(secret), salt, SALT_LEN, SCRYPT_N, SCRYPT_R, SCRYPT_P,
	                      64 * 1024 * 1024, out, HASH_LEN) == 1 ? 0 : JPKI_ERR_CRYPTO;
}

static void
to_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
from_hex(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	if (strlen(s) != 2 * n)
		return JPKI_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return JPKI_ERR_FORMAT;
		out[i] = (uint8_t)v;
	}
	return 0;
}

struct any_ctx {
	int found;
};

static int
any_cb(void *ctx, const char *key, const char *body)
{
	((struct any_ctx *)ctx)->found = 1;
	return 1;
}

int
jpki_window_operator_add(jpki_window_t *w, const char *name, const char *secret)
{
	int r = JPKI_ERR_INTERNAL;
	struct any_ctx any = {0};
	uint8_t salt[SALT_LEN], hash[HASH_LEN];
	char salt_hex[2 * SALT_LEN + 1], hash_hex[2 * HASH_LEN + 1];
	char *body = NULL;
	docw_t d;

	if (w->remote != NULL)
		return remote_operator_add(w, name, secret);
	docw_init(&d);
	if (!valid_operator_name(name)) {
		jpki_set_detail("operator name '%s': 1-32 of A-Z a-z 0-9 - _ .", name ? name : "");
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if (secret == NULL || strlen(secret) < 8) {
		jpki_set_detail("an operator's credential needs at least 8 characters");
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	r = jpki_store_foreach_doc(w->st, "operator", "", any_cb, &any);
	if (r != 0 && r != 1)
		goto out;
	/* The first operator is made by whoever holds the CA directory; every
	 * later one by a logged-in operator. */
	if (any.found && w->operator_name[0] == '\0') {
		jpki_set_detail("adding an operator needs a logged-in operator (--operator)");
		(void)jpki_audit_append(&w->audit, "(none)", "operator-add", name, "refused",
		                        "no operator logged in");
		r = JPKI_ERR_AUTH;
		goto out;
	}
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	if ((r = scrypt_hash(secret, salt, hash)) != 0)
		goto out;
	to_hex(salt, sizeof(salt), salt_hex);
	to_hex(hash, sizeof(hash), hash_hex);
	docw_str(&d, "name", name);
	docw_str(&d, "kdf", "scrypt-16384-8-1");
	docw_str(&d, "salt", salt_hex);
	docw_str(&d, "hash", hash_hex);
	docw_int(&d, "created", (int64_t)jpki_now());
	docw_str(&d, "by", w->operator_name[0] ? w->operator_name : "(ca directory)");
	if ((r = docw_finish(&d, &body)) != 0)
		goto out;
	if ((r = jpki_store_begin(w->st)) != 0)
		goto out;
	if ((r = jpki_store_doc_put(w->st, "operator", name, body, JPKI_DOC_CREATE)) != 0 ||
	    (r = jpki_audit_append(&w->audit, w->operator_name[0] ? w->operator_name : "(ca directory)",
	                           "operator-add", name, "ok", NULL)) != 0) {
		if (r == JPKI_ERR_EXISTS)
			jpki_set_detail("operator '%s' exists", name);
		(void)jpki_store_rollback(w->st);
		goto out;
	}
	r = jpki_store_commit(w->st);
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(hash_hex, sizeof(hash_hex));
	free(body);
	docw_free(&d);
	return r;
}

void
reg_act_as(jpki_window_t *w, const char *name)
{
	snprintf(w->operator_name, sizeof(w->operator_name), "%s", name ? name : "");
}

int
jpki_window_login(jpki_window_t *w, const char *name, const char *secret)
{
	int r = JPKI_ERR_INTERNAL;
	char *body = NULL;
	char salt_hex[2 * SALT_LEN + 1], hash_hex[2 * HASH_LEN + 1];
	uint8_t salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
	const char *why = "unknown operator";

	if (w->remote != NULL)
		return remote_login(w, name, secret);
	w->operator_name[0] = '\0';
	if (!valid_operator_name(name) || secret == NULL)
		goto refuse;
	r = jpki_store_doc_get(w->st, "operator", name, &body);
	if (r == JPKI_ERR_NOT_FOUND)
		goto refuse;
	if (r != 0)
		goto out;
	if ((r = doc_str(body, "salt", salt_hex, sizeof(salt_hex))) != 0 ||
	    (r = doc_str(body, "hash", hash_hex, sizeof(hash_hex))) != 0 ||
	    (r = from_hex(salt_hex, salt, sizeof(salt))) != 0 ||
	    (r = from_hex(hash_hex, want, sizeof(want))) != 0)
		goto out;
	if ((r = scrypt_hash(secret, salt, got)) != 0)
		goto out;
	if (CRYPTO_memcmp(got, want, sizeof(got)) != 0) {
		why = "wrong credential";
		goto refuse;
	}
	snprintf(w->operator_name, sizeof(w->operator_name), "%s", name);
	r = 0;
	goto out;
refuse:
	(void)jpki_audit_append(&w->audit, name && *name ? name : "(none)", "login", "window",
	                        "refused", why);
	jpki_set_detail("operator '%s': %s", name ? name : "", why);
	r = JPKI_ERR_AUTH;
out:
	OPENSSL_cleanse(got, sizeof(got));
	free(body);
	return r;
}

/* ---- residents ---- */

static int
resident_encode(const jpki_resident_t *r, char **out)
{
	docw_t d;
	int rc;

	docw_init(&d);
	docw_str(&d, "id", r->id);
	docw_str(&d, "name", r->name);
	docw_str(&d, "kana", r->kana);
	docw_date(&d, "dob", &r->dob);
	docw_int(&d, "sex", r->sex);
	docw_str(&d, "address", r->address);
	docw_str(&d, "alias", r->alias);
	docw_int(&d, "foreign", r->foreign);
	docw_str(&d, "card", r->card);
	docw_int(&d, "registered", r->registered);
	docw_int(&d, "updated", r->updated);
	rc = docw_finish(&d, out);
	docw_free(&d);
	return rc;
}

static int
resident_decode(const char *body, jpki_resident_t *r)
{
	int64_t v;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = doc_str(body, "id", r->id, sizeof(r->id))) != 0 ||
	    (rc = doc_str(body, "name", r->name, sizeof(r->name))) != 0 ||
	    (rc = doc_str(body, "kana", r->kana, sizeof(r->kana))) != 0 ||
	    (rc = doc_date(body, "dob", &r->dob)) != 0 ||
	    (rc = doc_int(body, "sex", &v)) != 0)
		return rc;
	r->sex = (int)v;
	if ((rc = doc_str(body, "address", r->address, sizeof(r->address))) != 0 ||
	    (rc = doc_str(body, "alias", r->alias, sizeof(r->alias))) != 0 ||
	    (rc = doc_int(body, "foreign", &v)) != 0)
		return rc;
	r->foreign = (int)v;
	if ((rc = doc_str(body, "card", r->card, sizeof(r->card))) != 0 ||
	    (rc = doc_int(body, "registered", &r->registered)) != 0 ||
	    (rc = doc_int(body, "updated", &r->updated)) != 0)
		return rc;
	return 0;
}

int
reg_resident_save(jpki_window_t *w, const jpki_resident_t *r, int mode)
{
	char *body = NULL;
	int rc;

	if ((rc = resident_encode(r, &body)) == 0)
		rc = jpki_store_doc_put(w->st, "resident", r->id, body, mode);
	free(body);
	return rc;
}

int
jpki_registry_get(jpki_window_t *w, const char *id, jpki_resident_t *out)
{
	char *body = NULL;
	int r;

	if (w->remote != NULL)
		return remote_registry_get(w, id, out);
	memset(out, 0, sizeof(*out));
	if (id == NULL || *id == '\0')
		return JPKI_ERR_INVALID_ARG;
	r = jpki_store_doc_get(w->st, "resident", id, &body);
	if (r == JPKI_ERR_NOT_FOUND)
		jpki_set_detail("no resident %s in the registry", id);
	if (r == 0)
		r = resident_decode(body, out);
	free(body);
	return r;
}

struct res_iter {
	jpki_resident_cb cb;
	void *ctx;
	jpki_resident_t r;
};

static int
res_iter_cb(void *ctx, const char *key, const char *body)
{
	struct res_iter *it = ctx;
	int r;

	if ((r = resident_decode(body, &it->r)) != 0)
		return r;
	return it->cb(it->ctx, &it->r);
}

int
jpki_registry_foreach(jpki_window_t *w, jpki_resident_cb cb, void *ctx)
{
	struct res_iter *it;
	int r;

	if (w->remote != NULL)
		return remote_registry_foreach(w, cb, ctx);
	if ((it = calloc(1, sizeof(*it))) == NULL)
		return JPKI_ERR_NOMEM;
	it->cb = cb;
	it->ctx = ctx;
	r = jpki_store_foreach_doc(w->st, "resident", "", res_iter_cb, it);
	free(it);
	return r;
}

/* The facts as the registry takes them: the same limits as the certificate. */
static int
check_resident(const jpki_resident_t *r)
{
	jpki_person_t p;
	jpki_date_t today;

	memset(&p, 0, sizeof(p));
	p.name = r->name;
	p.dob = r->dob;
	p.sex = r->sex;
	p.address = r->address;
	p.alias = r->alias[0] ? r->alias : NULL;
	jpki_date_today_jst(&today);
	return jpki_person_check(&p, &today);
}

int
jpki_registry_add(jpki_window_t *w, jpki_resident_t *res, const jpki_photo_id_t *pid)
{
	int r = JPKI_ERR_INTERNAL;
	int64_t n = 0;
	jpki_act_t act;

	if (w->remote != NULL)
		return remote_registry_add(w, res, pid);
	if ((r = check_resident(res)) != 0)
		return r;
	if (res->kana[0] == '\0') {
		jpki_set_detail("kana (フリガナ) is required");
		return JPKI_ERR_INVALID_ARG;
	}
	if ((r = reg_act_new(w, JPKI_ACT_REGISTER, "", pid, &act)) != 0)
		return r;
	if ((r = jpki_store_begin(w->st)) != 0)
		return r;
	if ((r = jpki_store_counter_next(w->st, "registry.resident", &n)) != 0)
		goto fail;
	snprintf(res->id, sizeof(res->id), "%08" PRId64, n);
	res->card[0] = '\0';
	res->registered = res->updated = (int64_t)jpki_now();
	snprintf(act.resident, sizeof(act.resident), "%s", res->id);
	act.state = JPKI_ACT_DONE;
	snprintf(act.step, sizeof(act.step), "done");
	snprintf(act.detail, sizeof(act.detail), "registered resident %s", res->id);
	if ((r = reg_resident_save(w, res, JPKI_DOC_CREATE)) != 0 ||
	    (r = reg_act_save(w, &act, NULL, JPKI_DOC_CREATE)) != 0 ||
	    (r = reg_audit_act(w, &act, "ok")) != 0)
		goto fail;
	return jpki_store_commit(w->st);
fail:
	(void)jpki_store_rollback(w->st);
	return r;
}

/* ---- facts and their change (L6) ---- */

static const char *const fact_names[] = {
	[JPKI_FACT_NAME] = "name", [JPKI_FACT_KANA] = "kana", [JPKI_FACT_DOB] = "dob",
	[JPKI_FACT_SEX] = "sex", [JPKI_FACT_ADDRESS] = "address", [JPKI_FACT_ALIAS] = "alias",
};

int
jpki_fact_parse(const char *s, jpki_fact_t *f)
{
	size_t i;

	for (i = 0; i < sizeof(fact_names) / sizeof(fact_names[0]); i++)
		if (s != NULL && strcmp(s, fact_names[i]) == 0) {
			*f = (jpki_fact_t)i;
			return 0;
		}
	jpki_set_detail("unknown fact '%s' (name, kana, dob, sex, address, alias)", s ? s : "");
	return JPKI_ERR_INVALID_ARG;
}

const char *
jpki_fact_name(jpki_fact_t f)
{
	return (unsigned)f < sizeof(fact_names) / sizeof(fact_names[0]) ? fact_names[f] : "?";
}

int
jpki_registry_change(jpki_window_t *w, const char *id, jpki_fact_t f, const char *value,
                     const jpki_date_t *effective, int *revoked, char ref[JPKI_ID_LEN])
{
	int r = JPKI_ERR_INTERNAL;
	jpki_resident_t *res = NULL, *old = NULL;
	jpki_card_rec_t card;
	jpki_cert_rec_t rec;
	jpki_act_t act;
	char key[64], eff[16], *hist = NULL;
	int64_t n = 0;
	docw_t d;

	if (w->remote != NULL)
		return remote_registry_change(w, id, f, value, effective, revoked, ref);
	*revoked = 0;
	ref[0] = '\0';
	docw_init(&d);
	memset(&rec, 0, sizeof(rec));
	if ((res = malloc(sizeof(*res))) == NULL || (old = malloc(sizeof(*old))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if ((r = reg_act_new(w, JPKI_ACT_CHANGE, id, NULL, &act)) != 0)
		goto out;
	if ((r = jpki_registry_get(w, id, res)) != 0)
		goto out;
	*old = *res;
	switch (f) {
	case JPKI_FACT_NAME:
		snprintf(res->name, sizeof(res->name), "%s", value);
		break;
	case JPKI_FACT_KANA:
		snprintf(res->kana, sizeof(res->kana), "%s", value);
		break;
	case JPKI_FACT_ADDRESS:
		snprintf(res->address, sizeof(res->address), "%s", value);
		break;
	case JPKI_FACT_ALIAS:
		snprintf(res->alias, sizeof(res->alias), "%s", value);
		break;
	case JPKI_FACT_DOB:
		if (jpki_date_parse(value, &res->dob) != 0) {
			jpki_set_detail("dob: '%s' is not a date (YYYY-MM-DD)", value);
			r = JPKI_ERR_DATE;
			goto out;
		}
		break;
	case JPKI_FACT_SEX:
		if ((r = jpki_sex_parse(value, &res->sex)) != 0)
			goto out;
		break;
	}
	if ((r = check_resident(res)) != 0)
		goto out;
	res->updated = (int64_t)jpki_now();
	jpki_date_format_iso(effective, eff, sizeof(eff));

	/* The CA's batch: the revocation below joins this transaction. */
	if ((r = jpki_ca_batch_begin(w->ca)) != 0)
		goto out;
	if ((r = jpki_store_counter_next(w->st, "registry.history", &n)) != 0)
		goto fail;
	snprintf(key, sizeof(key), "%s/%08" PRId64, id, n);
	docw_str(&d, "fact", jpki_fact_name(f));
	docw_str(&d, "effective", eff);
	docw_str(&d, "act", act.ref);
	docw_str(&d, "old", f == JPKI_FACT_NAME ? old->name : f == JPKI_FACT_KANA ? old->kana
	                    : f == JPKI_FACT_ADDRESS ? old->address : f == JPKI_FACT_ALIAS ? old->alias
	                    : "");
	docw_str(&d, "new", value);
	if ((r = docw_finish(&d, &hist)) != 0)
		goto fail;
	if ((r = jpki_store_doc_put(w->st, "history", key, hist, JPKI_DOC_CREATE)) != 0 ||
	    (r = reg_resident_save(w, res, JPKI_DOC_REPLACE)) != 0)
		goto fail;
	/* L6: the signature certificate dies with the facts it states, at once;
	 * the kana is not in it and the authentication certificate has none. */
	if (f != JPKI_FACT_KANA && res->card[0] != '\0' &&
	    jpki_registry_card(w, res->card, &card) == 0 && card.sign_serial_len > 0) {
		r = jpki_store_cert_get(w->st, JPKI_CA_SIGN, card.sign_serial, card.sign_serial_len, 0,
		                        &rec);
		if (r != 0)
			goto fail;
		if (rec.status != JPKI_STATUS_REVOKED) {
			if ((r = jpki_ca_revoke(w->ca, JPKI_CA_SIGN, card.sign_serial,
			                        card.sign_serial_len, JPKI_REASON_AFFILIATION_CHANGED,
			                        0)) != 0)
				goto fail;
			*revoked = 1;
			reg_hex(card.sign_serial, card.sign_serial_len, act.sign_old);
			act.reason = JPKI_REASON_AFFILIATION_CHANGED;
		}
		snprintf(act.card, sizeof(act.card), "%s", card.number);
	}
	act.state = JPKI_ACT_DONE;
	snprintf(act.step, sizeof(act.step), "done");
	snprintf(act.detail, sizeof(act.detail), "%s changed, effective %s%s", jpki_fact_name(f),
	         eff, *revoked ? "; signature certificate revoked (affiliationChanged, L6)" : "");
	if ((r = reg_act_save(w, &act, NULL, JPKI_DOC_CREATE)) != 0 ||
	    (r = reg_audit_act(w, &act, "ok")) != 0)
		goto fail;
	if ((r = jpki_ca_batch_commit(w->ca)) != 0)
		goto out;
	snprintf(ref, JPKI_ID_LEN, "%s", act.ref);
	r = 0;
	goto out;
fail:
	(void)jpki_ca_batch_rollback(w->ca);
	*revoked = 0;
out:
	free(hist);
	docw_free(&d);
	free(res);
	free(old);
	return r;
}

/* ---- cards ---- */

static int
card_encode(const jpki_card_rec_t *c, char **out)
{
	docw_t d;
	char hex[2 * JPKI_SERIAL_MAX + 1];
	int rc;

	docw_init(&d);
	docw_str(&d, "number", c->number);
	docw_str(&d, "resident", c->resident);
	docw_int(&d, "kind", c->kind);
	docw_int(&d, "state", c->state);
	docw_date(&d, "issued", &c->issued);
	docw_date(&d, "expiry", &c->expiry);
	reg_hex(c->sign_serial, c->sign_serial_len, hex);
	docw_str(&d, "sign_serial", hex);
	reg_hex(c->auth_serial, c->auth_serial_len, hex);
	docw_str(&d, "auth_serial", hex);
	docw_str(&d, "sign_key", c->sign_key);
	docw_str(&d, "auth_key", c->auth_key);
	rc = docw_finish(&d, out);
	docw_free(&d);
	return rc;
}

static int
serial_field(const char *body, const char *key, uint8_t *serial, size_t *len)
{
	char hex[2 * JPKI_SERIAL_MAX + 1];
	int r;

	*len = 0;
	if ((r = doc_str(body, key, hex, sizeof(hex))) != 0)
		return r;
	if (hex[0] == '\0')
		return 0;
	return jpki_serial_parse(hex, serial, len);
}

static int
card_decode(const char *body, jpki_card_rec_t *c)
{
	int64_t v;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = doc_str(body, "number", c->number, sizeof(c->number))) != 0 ||
	    (r = doc_str(body, "resident", c->resident, sizeof(c->resident))) != 0 ||
	    (r = doc_int(body, "kind", &v)) != 0)
		return r;
	c->kind = (jpki_card_kind_t)v;
	if ((r = doc_int(body, "state", &v)) != 0)
		return r;
	c->state = (jpki_card_state_t)v;
	if ((r = doc_date(body, "issued", &c->issued)) != 0 ||
	    (r = doc_date(body, "expiry", &c->expiry)) != 0 ||
	    (r = serial_field(body, "sign_serial", c->sign_serial, &c->sign_serial_len)) != 0 ||
	    (r = serial_field(body, "auth_serial", c->auth_serial, &c->auth_serial_len)) != 0 ||
	    (r = doc_str(body, "sign_key", c->sign_key, sizeof(c->sign_key))) != 0 ||
	    (r = doc_str(body, "auth_key", c->auth_key, sizeof(c->auth_key))) != 0)
		return r;
	return 0;
}

static int
index_serial(jpki_window_t *w, const char *kind, const uint8_t *s, size_t n, const char *card)
{
	char hex[2 * JPKI_SERIAL_MAX + 1], key[2 * JPKI_SERIAL_MAX + 8], body[JPKI_ID_LEN + 8];

	if (n == 0)
		return 0;
	reg_hex(s, n, hex);
	snprintf(key, sizeof(key), "%s/%s", kind, hex);
	snprintf(body, sizeof(body), "card=%s\n", card);
	return jpki_store_doc_put(w->st, "certcard", key, body, JPKI_DOC_UPSERT);
}

int
reg_card_save(jpki_window_t *w, const jpki_card_rec_t *c, int mode)
{
	char *body = NULL;
	int r;

	if ((r = card_encode(c, &body)) == 0)
		r = jpki_store_doc_put(w->st, "card", c->number, body, mode);
	free(body);
	/* The index from a certificate to its card (kind "certcard", key
	 * "sign/HEX" or "auth/HEX"): how an online revocation signed with the
	 * card finds the card without a scan. */
	if (r == 0)
		r = index_serial(w, "sign", c->sign_serial, c->sign_serial_len, c->number);
	if (r == 0)
		r = index_serial(w, "auth", c->auth_serial, c->auth_serial_len, c->number);
	return r;
}

int
reg_card_by_serial(jpki_window_t *w, jpki_ca_kind_t kind, const uint8_t *s, size_t n,
                   jpki_card_rec_t *out)
{
	char hex[2 * JPKI_SERIAL_MAX + 1], key[2 * JPKI_SERIAL_MAX + 8], *body = NULL, *p;
	int r;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n > JPKI_SERIAL_MAX)
		return JPKI_ERR_NOT_FOUND;
	reg_hex(s, n, hex);
	snprintf(key, sizeof(key), "%s/%s", kind == JPKI_CA_SIGN ? "sign" : "auth", hex);
	if ((r = jpki_store_doc_get(w->st, "certcard", key, &body)) != 0) {
		if (r == JPKI_ERR_NOT_FOUND)
			jpki_set_detail("no card holds the %s certificate %s",
			                kind == JPKI_CA_SIGN ? "signature" : "authentication", hex);
		return r;
	}
	p = strncmp(body, "card=", 5) == 0 ? body + 5 : body;
	p[strcspn(p, "\n")] = '\0';
	r = jpki_registry_card(w, p, out);
	free(body);
	return r;
}

int
jpki_registry_card(jpki_window_t *w, const char *number, jpki_card_rec_t *out)
{
	char *body = NULL;
	int r;

	if (w->remote != NULL)
		return remote_registry_card(w, number, out);
	memset(out, 0, sizeof(*out));
	if (number == NULL || *number == '\0')
		return JPKI_ERR_INVALID_ARG;
	r = jpki_store_doc_get(w->st, "card", number, &body);
	if (r == JPKI_ERR_NOT_FOUND)
		jpki_set_detail("no card %s in the registry", number);
	if (r == 0)
		r = card_decode(body, out);
	free(body);
	return r;
}

struct card_iter {
	const char *resident;
	jpki_card_rec_t *list;
	size_t n, cap;
};

static int
card_iter_cb(void *ctx, const char *key, const char *body)
{
	struct card_iter *it = ctx;
	jpki_card_rec_t c, *nl;
	int r;

	if ((r = card_decode(body, &c)) != 0)
		return r;
	if (strcmp(c.resident, it->resident) != 0)
		return 0;
	if (it->n == it->cap) {
		it->cap = it->cap ? 2 * it->cap : 4;
		if ((nl = realloc(it->list, it->cap * sizeof(*nl))) == NULL)
			return JPKI_ERR_NOMEM;
		it->list = nl;
	}
	it->list[it->n++] = c;
	return 0;
}

/* Cards are few per resident; a municipality's cards are scanned once per
 * listing (the window's "show"), never on an act's path. */
int
jpki_registry_cards(jpki_window_t *w, const char *resident, jpki_card_rec_cb cb, void *ctx)
{
	struct card_iter it = {resident, NULL, 0, 0};
	size_t i;
	int r;

	if (w->remote != NULL)
		return remote_registry_cards(w, resident, cb, ctx);
	if ((r = jpki_store_foreach_doc(w->st, "card", "", card_iter_cb, &it)) != 0)
		goto out;
	for (i = it.n; i > 0; i--)
		if ((r = cb(ctx, &it.list[i - 1])) != 0)
			goto out;
	r = 0;
out:
	free(it.list);
	return r;
}

/* ---- acts ---- */

static const char *const act_names[JPKI_ACT__COUNT] = {
	[JPKI_ACT_REGISTER] = "register", [JPKI_ACT_CHANGE] = "change",
	[JPKI_ACT_ISSUE] = "issue", [JPKI_ACT_RENEW] = "renew", [JPKI_ACT_REVOKE] = "revoke",
	[JPKI_ACT_SUSPEND] = "suspend", [JPKI_ACT_RELEASE] = "release",
	[JPKI_ACT_PIN_INIT] = "pin-init", [JPKI_ACT_RETURN] = "return", [JPKI_ACT_COPY] = "copy",
};

const char *
jpki_act_kind_name(jpki_act_kind_t k)
{
	return (unsigned)k < JPKI_ACT__COUNT ? act_names[k] : "?";
}

static void
mask_id(const char *number, char *out, size_t outlen)
{
	size_t n = number ? strlen(number) : 0, i, o = 0;

	for (i = 0; i < n && o + 1 < outlen; i++)
		out[o++] = i + 4 < n ? '*' : number[i];
	out[o] = '\0';
}

int
reg_act_new(jpki_window_t *w, jpki_act_kind_t kind, const char *resident,
            const jpki_photo_id_t *pid, jpki_act_t *a)
{
	int r;
	int64_t n = 0;
	jpki_date_t today;
	time_t now = jpki_now();

	memset(a, 0, sizeof(*a));
	if (w->operator_name[0] == '\0') {
		jpki_set_detail("no operator is logged in");
		(void)jpki_audit_append(&w->audit, "(none)", act_names[kind], resident, "refused",
		                        "no operator logged in");
		return JPKI_ERR_AUTH;
	}
	/* L10: every window act needs photo ID; the suspension line and a
	 * registry change recorded from a moving-in notice do not. */
	if (pid == NULL && kind != JPKI_ACT_SUSPEND && kind != JPKI_ACT_CHANGE) {
		jpki_set_detail("photo ID is required (L10): --id-kind and --id-number");
		return JPKI_ERR_INVALID_ARG;
	}
	if (pid != NULL && (pid->kind == NULL || pid->number == NULL || strlen(pid->number) < 4)) {
		jpki_set_detail("photo ID: a kind and a number of at least 4 characters");
		return JPKI_ERR_INVALID_ARG;
	}
	if ((r = jpki_store_counter_next(w->st, "registry.act", &n)) != 0)
		return r;
	jpki_date_from_time_jst(now, &today);
	snprintf(a->ref, sizeof(a->ref), "%04d%02d%02d-%06" PRId64, today.year, today.month,
	         today.day, n);
	a->kind = kind;
	a->state = JPKI_ACT_PENDING;
	a->time = (int64_t)now;
	a->reason = JPKI_REASON_NONE;
	snprintf(a->resident, sizeof(a->resident), "%s", resident ? resident : "");
	snprintf(a->operator_name, sizeof(a->operator_name), "%s", w->operator_name);
	if (pid != NULL) {
		snprintf(a->id_kind, sizeof(a->id_kind), "%s", pid->kind);
		mask_id(pid->number, a->id_masked, sizeof(a->id_masked));
	}
	return 0;
}

int
reg_act_save(jpki_window_t *w, const jpki_act_t *a, const char *extra, int mode)
{
	docw_t d;
	char *body = NULL;
	int r;

	docw_init(&d);
	docw_str(&d, "ref", a->ref);
	docw_int(&d, "kind", a->kind);
	docw_int(&d, "state", a->state);
	docw_str(&d, "step", a->step);
	docw_str(&d, "resident", a->resident);
	docw_str(&d, "card", a->card);
	docw_str(&d, "operator", a->operator_name);
	docw_str(&d, "id_kind", a->id_kind);
	docw_str(&d, "id_masked", a->id_masked);
	docw_int(&d, "fee", a->fee);
	docw_int(&d, "time", a->time);
	docw_str(&d, "detail", a->detail);
	docw_str(&d, "sign_new", a->sign_new);
	docw_str(&d, "auth_new", a->auth_new);
	docw_str(&d, "sign_old", a->sign_old);
	docw_str(&d, "auth_old", a->auth_old);
	docw_int(&d, "reason", a->reason);
	if (extra != NULL && d.err == 0)
		d.err = jpki_buf_put_str(&d.b, extra);
	if ((r = docw_finish(&d, &body)) == 0)
		r = jpki_store_doc_put(w->st, "act", a->ref, body, mode);
	free(body);
	docw_free(&d);
	return r;
}

int
reg_act_load(jpki_window_t *w, const char *ref, jpki_act_t *a, char **body_out)
{
	char *body = NULL;
	int64_t v;
	int r;

	memset(a, 0, sizeof(*a));
	if (body_out != NULL)
		*body_out = NULL;
	if (ref == NULL || *ref == '\0')
		return JPKI_ERR_INVALID_ARG;
	r = jpki_store_doc_get(w->st, "act", ref, &body);
	if (r == JPKI_ERR_NOT_FOUND)
		jpki_set_detail("no act with reference number %s", ref);
	if (r != 0)
		goto out;
	if ((r = doc_str(body, "ref", a->ref, sizeof(a->ref))) != 0 ||
	    (r = doc_int(body, "kind", &v)) != 0)
		goto out;
	a->kind = (jpki_act_kind_t)v;
	if ((r = doc_int(body, "state", &v)) != 0)
		goto out;
	a->state = (jpki_act_state_t)v;
	if ((r = doc_str(body, "step", a->step, sizeof(a->step))) != 0 ||
	    (r = doc_str(body, "resident", a->resident, sizeof(a->resident))) != 0 ||
	    (r = doc_str(body, "card", a->card, sizeof(a->card))) != 0 ||
	    (r = doc_str(body, "operator", a->operator_name, sizeof(a->operator_name))) != 0 ||
	    (r = doc_str(body, "id_kind", a->id_kind, sizeof(a->id_kind))) != 0 ||
	    (r = doc_str(body, "id_masked", a->id_masked, sizeof(a->id_masked))) != 0 ||
	    (r = doc_int(body, "fee", &v)) != 0)
		goto out;
	a->fee = (int)v;
	if ((r = doc_int(body, "time", &a->time)) != 0 ||
	    (r = doc_str(body, "detail", a->detail, sizeof(a->detail))) != 0 ||
	    (r = doc_str(body, "sign_new", a->sign_new, sizeof(a->sign_new))) != 0 ||
	    (r = doc_str(body, "auth_new", a->auth_new, sizeof(a->auth_new))) != 0 ||
	    (r = doc_str(body, "sign_old", a->sign_old, sizeof(a->sign_old))) != 0 ||
	    (r = doc_str(body, "auth_old", a->auth_old, sizeof(a->auth_old))) != 0 ||
	    (r = doc_int(body, "reason", &v)) != 0)
		goto out;
	a->reason = (int)v;
	if (body_out != NULL) {
		*body_out = body;
		body = NULL;
	}
	r = 0;
out:
	free(body);
	return r;
}

int
jpki_act_get(jpki_window_t *w, const char *ref, jpki_act_t *out)
{
	if (w->remote != NULL)
		return remote_act_get(w, ref, out);
	return reg_act_load(w, ref, out, NULL);
}

int
reg_audit_act(jpki_window_t *w, const jpki_act_t *a, const char *outcome)
{
	char subject[128];

	snprintf(subject, sizeof(subject), "resident %s%s%s", a->resident[0] ? a->resident : "-",
	         a->card[0] ? " card " : "", a->card);
	return jpki_audit_appendf(&w->audit, a->operator_name, act_names[a->kind], subject, outcome,
	                          "ref %s; id %s %s; fee %d; %s", a->ref,
	                          a->id_kind[0] ? a->id_kind : "-", a->id_masked, a->fee, a->detail);
}

/* ---- what the programs read and note beside the acts ---- */

int
jpki_window_cert_get(jpki_window_t *w, jpki_ca_kind_t kind, const uint8_t *serial, size_t len,
                     jpki_cert_rec_t *rec)
{
	if (w->remote != NULL)
		return remote_cert_get(w, kind, serial, len, rec);
	return jpki_store_cert_get(w->st, kind, serial, len, 1, rec);
}

int
jpki_window_note(jpki_window_t *w, const char *action, const char *object, const char *result,
                 const char *detail)
{
	if (w->remote != NULL)
		return remote_note(w, action, object, result, detail);
	return jpki_audit_append(&w->audit, w->operator_name[0] ? w->operator_name : "(none)",
	                         action, object, result, detail);
}
