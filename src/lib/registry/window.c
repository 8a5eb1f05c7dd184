/*
 * The window's acts on cards and certificates (L2-L9), each journaled so that
 * a failure at any step can be finished or undone (jpki/registry.h).
 *
 * A card act goes through the steps
 *   begin   the act and (for a new card) the card record written, pending
 *   keys    key pairs generated on the card; their hashes journaled
 *   certs   certificates issued by the CAs, serials journaled (one store
 *           transaction with the card record)
 *   written certificates, CA certificates and passwords written to the card
 *   done    old certificates revoked, the card active, the act done, audited
 *           (one store transaction)
 * and each step is recorded when it is complete.  Running the act again
 * (jpki_window_resume) starts from the recorded step, checking the card's keys
 * against the journal: keys that are not the ones the certificates were
 * issued for get those certificates revoked and the act redone from "keys".
 *
 * Tests inject a failure after any step with JPKI_FAULT_AFTER=<step>: the act
 * stops there as if the process had died (nothing is cleaned up).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jpki/audit.h"
#include "jpki/error.h"
#include "jpki/registry.h"
#include "jpki/token.h"
#include "registry/doc.h"
#include "registry/registry_int.h"
#include "registry/remote.h"

/* The journal: the act plus what a later run needs to carry on. */
struct journal {
	jpki_act_t a;
	int mode_card;              /* 1: a new card; 0: one certificate (re)issued */
	int want_sign, want_auth;
	int renewal;
	int card_kind;              /* jpki_card_kind_t of the new card */
	jpki_date_t card_expiry;
	char under15[256];
	char sign_key_new[65], auth_key_new[65];
	char old_card[JPKI_ID_LEN];
};

static int
journal_save(jpki_window_t *w, const struct journal *j, int mode)
{
	docw_t d;
	char *extra = NULL;
	int r;

	docw_init(&d);
	docw_int(&d, "j_mode_card", j->mode_card);
	docw_int(&d, "j_want_sign", j->want_sign);
	docw_int(&d, "j_want_auth", j->want_auth);
	docw_int(&d, "j_renewal", j->renewal);
	docw_int(&d, "j_card_kind", j->card_kind);
	docw_date(&d, "j_card_expiry", &j->card_expiry);
	docw_str(&d, "j_under15", j->under15);
	docw_str(&d, "j_sign_key_new", j->sign_key_new);
	docw_str(&d, "j_auth_key_new", j->auth_key_new);
	docw_str(&d, "j_old_card", j->old_card);
	if ((r = docw_finish(&d, &extra)) == 0)
		r = reg_act_save(w, &j->a, extra, mode);
	free(extra);
	docw_free(&d);
	return r;
}

static int
journal_load(jpki_window_t *w, const char *ref, struct journal *j)
{
	char *body = NULL;
	int64_t v;
	int r;

	memset(j, 0, sizeof(*j));
	if ((r = reg_act_load(w, ref, &j->a, &body)) != 0)
		return r;
	if ((r = doc_int(body, "j_mode_card", &v)) != 0)
		goto out;
	j->mode_card = (int)v;
	if ((r = doc_int(body, "j_want_sign", &v)) != 0)
		goto out;
	j->want_sign = (int)v;
	if ((r = doc_int(body, "j_want_auth", &v)) != 0)
		goto out;
	j->want_auth = (int)v;
	if ((r = doc_int(body, "j_renewal", &v)) != 0)
		goto out;
	j->renewal = (int)v;
	if ((r = doc_int(body, "j_card_kind", &v)) != 0)
		goto out;
	j->card_kind = (int)v;
	if ((r = doc_date(body, "j_card_expiry", &j->card_expiry)) != 0 ||
	    (r = doc_str(body, "j_under15", j->under15, sizeof(j->under15))) != 0 ||
	    (r = doc_str(body, "j_sign_key_new", j->sign_key_new, sizeof(j->sign_key_new))) != 0 ||
	    (r = doc_str(body, "j_auth_key_new", j->auth_key_new, sizeof(j->auth_key_new))) != 0 ||
	    (r = doc_str(body, "j_old_card", j->old_card, sizeof(j->old_card))) != 0)
		goto out;
	r = 0;
out:
	free(body);
	return r;
}

/* Record a completed step (its own transaction). */
static int
journal_step(jpki_window_t *w, struct journal *j, const char *step)
{
	snprintf(j->a.step, sizeof(j->a.step), "%s", step);
	return journal_save(w, j, JPKI_DOC_REPLACE);
}

/* JPKI_FAULT_AFTER=<step>: stop as if the process died after that step. */
static int
fault(const char *step)
{
	const char *f = getenv("JPKI_FAULT_AFTER");

	if (f != NULL && strcmp(f, step) == 0) {
		jpki_set_detail("injected failure after step '%s' (JPKI_FAULT_AFTER)", step);
		return JPKI_ERR_IO;
	}
	return 0;
}

/* Hex SHA-256 of an RSA key's modulus: how a card's key pair is known. */
static int
key_hash(EVP_PKEY *pk, char out[65])
{
	BIGNUM *n = NULL;
	uint8_t buf[512], md[32];
	unsigned mdlen = 0;
	int len, r = JPKI_ERR_CRYPTO, i;

	out[0] = '\0';
	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1)
		goto out;
	if ((len = BN_num_bytes(n)) > (int)sizeof(buf) || BN_bn2bin(n, buf) != len)
		goto out;
	if (EVP_Digest(buf, (size_t)len, md, &mdlen, EVP_sha256(), NULL) != 1)
		goto out;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	r = 0;
out:
	BN_free(n);
	return r;
}

/* The hash of the card's key pair `which`, or "" when it has none. */
static int
card_key_hash(jpki_reader_t *rd, jpki_pin_kind_t which, char out[65])
{
	EVP_PKEY *pk = NULL;
	int r;

	out[0] = '\0';
	r = jpki_token_read_pubkey(rd, which, &pk);
	if (r == JPKI_ERR_NOT_FOUND)
		return 0;
	if (r == 0)
		r = key_hash(pk, out);
	EVP_PKEY_free(pk);
	return r;
}

/* Select the AP, learn the card's kind, authenticate as the issuer. */
static int
card_open(jpki_reader_t *rd, EVP_PKEY *issuer_key, jpki_card_kind_t *kind)
{
	char label[JPKI_TOKEN_LABEL_MAX];
	int r;

	if (rd == NULL || issuer_key == NULL) {
		jpki_set_detail("this act needs the card in a reader and the issuer key");
		return JPKI_ERR_INVALID_ARG;
	}
	if ((r = jpki_token_select_ap(rd)) != 0 || (r = jpki_token_label(rd, label, kind)) != 0 ||
	    (r = jpki_token_issuer_auth(rd, issuer_key)) != 0)
		return r;
	return 0;
}

/* The card in the reader must be the one the registry has for the resident:
 * one of its key pairs is the one recorded. */
static int
card_is(jpki_reader_t *rd, const jpki_card_rec_t *c)
{
	char h[65];
	int r;

	if (c->sign_key[0] != '\0') {
		if ((r = card_key_hash(rd, JPKI_PIN_SIGN, h)) != 0)
			return r;
		if (strcmp(h, c->sign_key) == 0)
			return 0;
	}
	if (c->auth_key[0] != '\0') {
		if ((r = card_key_hash(rd, JPKI_PIN_AUTH, h)) != 0)
			return r;
		if (strcmp(h, c->auth_key) == 0)
			return 0;
	}
	if (c->sign_key[0] == '\0' && c->auth_key[0] == '\0')
		return 0;
	jpki_set_detail("the card in the reader is not card %s of resident %s", c->number,
	                c->resident);
	return JPKI_ERR_STATE;
}

/* Years completed on `on` by someone born on dob. */
static int
age_on(const jpki_date_t *dob, const jpki_date_t *on)
{
	int a = on->year - dob->year;

	if (on->month < dob->month || (on->month == dob->month && on->day < dob->day))
		a--;
	return a;
}

/* The n-th birthday strictly after `after` (L4: the card's own expiry). */
static void
nth_birthday_after(const jpki_date_t *dob, const jpki_date_t *after, int n, jpki_date_t *out)
{
	jpki_date_t b;

	jpki_date_add_years(dob, after->year - dob->year, &b);
	if (jpki_date_cmp(&b, after) <= 0)
		jpki_date_add_years(dob, after->year - dob->year + 1, &b);
	jpki_date_add_years(dob, b.year - dob->year + n - 1, out);
}

/* A certificate's status, or NOT_FOUND. */
static int
cert_status(jpki_window_t *w, jpki_ca_kind_t k, const uint8_t *s, size_t n,
            jpki_cert_rec_t *rec)
{
	memset(rec, 0, sizeof(*rec));
	if (n == 0)
		return JPKI_ERR_NOT_FOUND;
	return jpki_store_cert_get(jpki_ca_store(w->ca), k, s, n, 0, rec);
}

/* Revoke unless already revoked (inside the caller's transaction).  *did
 * says whether it was. */
static int
revoke_if_live(jpki_window_t *w, jpki_ca_kind_t k, const uint8_t *s, size_t n, int reason,
               int *did)
{
	jpki_cert_rec_t rec;
	int r;

	if (did != NULL)
		*did = 0;
	if (n == 0)
		return 0;
	if ((r = cert_status(w, k, s, n, &rec)) != 0)
		return r == JPKI_ERR_NOT_FOUND ? 0 : r;
	if (rec.status == JPKI_STATUS_REVOKED)
		return 0;
	if ((r = jpki_ca_revoke(w->ca, k, s, n, reason, 0)) != 0)
		return r;
	if (did != NULL)
		*did = 1;
	return 0;
}

/* Revoke the card's certificates of the kinds asked, those not revoked yet,
 * noting each one revoked in a->sign_old / a->auth_old.  *any (may be NULL):
 * whether one was. */
static int
revoke_card(jpki_window_t *w, const jpki_card_rec_t *c, int sign, int auth, int reason,
            jpki_act_t *a, int *any)
{
	int r, did;

	if (any != NULL)
		*any = 0;
	if (sign) {
		if ((r = revoke_if_live(w, JPKI_CA_SIGN, c->sign_serial, c->sign_serial_len, reason,
		                        &did)) != 0)
			return r;
		if (did)
			reg_hex(c->sign_serial, c->sign_serial_len, a->sign_old);
		if (did && any != NULL)
			*any = 1;
	}
	if (auth) {
		if ((r = revoke_if_live(w, JPKI_CA_AUTH, c->auth_serial, c->auth_serial_len, reason,
		                        &did)) != 0)
			return r;
		if (did)
			reg_hex(c->auth_serial, c->auth_serial_len, a->auth_old);
		if (did && any != NULL)
			*any = 1;
	}
	return 0;
}

static int
hex_to_serial(const char *hex, uint8_t *s, size_t *n)
{
	*n = 0;
	return hex[0] ? jpki_serial_parse(hex, s, n) : 0;
}

/* Person facts of a resident for the signature certificate. */
static void
person_of(const jpki_resident_t *res, jpki_person_t *p)
{
	memset(p, 0, sizeof(*p));
	p->name = res->name;
	p->dob = res->dob;
	p->sex = res->sex;
	p->address = res->address;
	p->alias = res->alias[0] ? res->alias : NULL;
}

static int
fetch_der(jpki_window_t *w, jpki_ca_kind_t k, const char *hex, uint8_t **der, size_t *len)
{
	jpki_cert_rec_t rec;
	uint8_t s[JPKI_SERIAL_MAX];
	size_t n;
	int r;

	*der = NULL;
	*len = 0;
	memset(&rec, 0, sizeof(rec));
	if ((r = hex_to_serial(hex, s, &n)) != 0)
		return r;
	if ((r = jpki_store_cert_get(jpki_ca_store(w->ca), k, s, n, 1, &rec)) != 0)
		return r;
	if (rec.der == NULL) {
		jpki_cert_rec_clear(&rec);
		return JPKI_ERR_NOT_FOUND;
	}
	*der = rec.der;
	*len = rec.der_len;
	rec.der = NULL;
	return 0;
}

static int
write_ca_cert(jpki_window_t *w, jpki_reader_t *rd, uint16_t fid, jpki_ca_kind_t k)
{
	uint8_t *der = NULL;
	int len, r;

	if ((len = i2d_X509(jpki_ca_cert(w->ca, k), &der)) <= 0)
		return JPKI_ERR_CRYPTO;
	r = jpki_token_write_cert(rd, fid, der, (size_t)len);
	OPENSSL_free(der);
	return r;
}

/* ---- the steps ---- */

/* keys: generate the wanted key pairs on the card, journal their hashes. */
static int
step_keys(jpki_window_t *w, struct journal *j, jpki_reader_t *rd)
{
	EVP_PKEY *pk = NULL;
	int r = 0;

	if (j->want_auth) {
		if ((r = jpki_token_generate_key(rd, JPKI_PIN_AUTH, &pk)) != 0 ||
		    (r = key_hash(pk, j->auth_key_new)) != 0)
			goto out;
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	if (j->want_sign) {
		if ((r = jpki_token_generate_key(rd, JPKI_PIN_SIGN, &pk)) != 0 ||
		    (r = key_hash(pk, j->sign_key_new)) != 0)
			goto out;
	}
	if ((r = journal_step(w, j, "keys")) != 0)
		goto out;
	r = fault("keys");
out:
	EVP_PKEY_free(pk);
	return r;
}

/* Do the card's keys still match the journal? */
static int
keys_match(struct journal *j, jpki_reader_t *rd, int *match)
{
	char h[65];
	int r;

	*match = 1;
	if (j->want_auth) {
		if ((r = card_key_hash(rd, JPKI_PIN_AUTH, h)) != 0)
			return r;
		if (strcmp(h, j->auth_key_new) != 0)
			*match = 0;
	}
	if (j->want_sign) {
		if ((r = card_key_hash(rd, JPKI_PIN_SIGN, h)) != 0)
			return r;
		if (strcmp(h, j->sign_key_new) != 0)
			*match = 0;
	}
	return 0;
}

/* certs: issue for the keys on the card, in one transaction with the journal. */
static int
step_certs(jpki_window_t *w, struct journal *j, jpki_reader_t *rd)
{
	jpki_resident_t *res = NULL;
	jpki_person_t person;
	jpki_issue_req_t req;
	jpki_issued_t is;
	EVP_PKEY *pk = NULL;
	jpki_card_rec_t card;
	int r, in_tx = 0;

	memset(&is, 0, sizeof(is));
	memset(&req, 0, sizeof(req));
	if ((res = malloc(sizeof(*res))) == NULL)
		return JPKI_ERR_NOMEM;
	if ((r = jpki_registry_get(w, j->a.resident, res)) != 0 ||
	    (r = jpki_registry_card(w, j->a.card, &card)) != 0)
		goto out;
	person_of(res, &person);
	req.person = &person;
	req.gen = card.kind == JPKI_CARD_2004 ? JPKI_GEN_2004 : JPKI_GEN_MYNUMBER;
	req.card_expiry = card.expiry.year ? &card.expiry : NULL;
	req.der_only = 1;
	if ((r = jpki_ca_batch_begin(w->ca)) != 0)
		goto out;
	in_tx = 1;
	if (j->want_auth) {
		if ((r = jpki_token_read_pubkey(rd, JPKI_PIN_AUTH, &pk)) != 0)
			goto out;
		req.kind = JPKI_CA_AUTH;
		req.pub = pk;
		if ((r = jpki_ca_issue(w->ca, &req, &is)) != 0)
			goto out;
		reg_hex(is.serial, is.serial_len, j->a.auth_new);
		jpki_issued_clear(&is);
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	if (j->want_sign) {
		if ((r = jpki_token_read_pubkey(rd, JPKI_PIN_SIGN, &pk)) != 0)
			goto out;
		req.kind = JPKI_CA_SIGN;
		req.pub = pk;
		if ((r = jpki_ca_issue(w->ca, &req, &is)) != 0)
			goto out;
		reg_hex(is.serial, is.serial_len, j->a.sign_new);
		jpki_issued_clear(&is);
	}
	snprintf(j->a.step, sizeof(j->a.step), "certs");
	if ((r = journal_save(w, j, JPKI_DOC_REPLACE)) != 0)
		goto out;
	in_tx = 0;
	if ((r = jpki_ca_batch_commit(w->ca)) != 0)
		goto out;
	r = fault("certs");
out:
	if (in_tx) {
		(void)jpki_ca_batch_rollback(w->ca);
		j->a.sign_new[0] = j->a.auth_new[0] = '\0';
	}
	jpki_issued_clear(&is);
	EVP_PKEY_free(pk);
	free(res);
	return r;
}

/* written: the certificates, the CA certificates (L12) and the passwords. */
static int
step_written(jpki_window_t *w, struct journal *j, jpki_reader_t *rd, const jpki_pins_t *pins)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int r;

	if ((j->want_sign && (pins == NULL || pins->sign == NULL)) ||
	    (j->want_auth && (pins == NULL || pins->auth == NULL))) {
		jpki_set_detail("the %s must be chosen at the window (L9)",
		                j->want_sign && (pins == NULL || pins->sign == NULL)
		                ? "signing password" : "authentication PIN");
		return JPKI_ERR_INVALID_ARG;
	}
	if (j->want_auth) {
		if ((r = fetch_der(w, JPKI_CA_AUTH, j->a.auth_new, &der, &len)) != 0 ||
		    (r = jpki_token_write_cert(rd, JPKI_EF_AUTH_CERT, der, len)) != 0)
			goto out;
		free(der);
		der = NULL;
	}
	if (j->want_sign) {
		if ((r = fetch_der(w, JPKI_CA_SIGN, j->a.sign_new, &der, &len)) != 0 ||
		    (r = jpki_token_write_cert(rd, JPKI_EF_SIGN_CERT, der, len)) != 0)
			goto out;
	}
	if (j->mode_card) {
		if ((j->card_kind != JPKI_CARD_2004 &&
		     (r = write_ca_cert(w, rd, JPKI_EF_AUTH_CA, JPKI_CA_AUTH)) != 0) ||
		    (r = write_ca_cert(w, rd, JPKI_EF_SIGN_CA, JPKI_CA_SIGN)) != 0)
			goto out;
	}
	if ((j->want_auth && (r = jpki_token_set_pin(rd, JPKI_PIN_AUTH, pins->auth)) != 0) ||
	    (j->want_sign && (r = jpki_token_set_pin(rd, JPKI_PIN_SIGN, pins->sign)) != 0))
		goto out;
	if ((r = journal_step(w, j, "written")) != 0)
		goto out;
	r = fault("written");
out:
	free(der);
	return r;
}

/* done: everything the act changes in the store, at once. */
static int
step_done(jpki_window_t *w, struct journal *j)
{
	jpki_resident_t *res = NULL;
	jpki_card_rec_t card, old;
	uint8_t s[JPKI_SERIAL_MAX];
	size_t n;
	int r;

	if ((res = malloc(sizeof(*res))) == NULL)
		return JPKI_ERR_NOMEM;
	if ((r = jpki_registry_get(w, j->a.resident, res)) != 0 ||
	    (r = jpki_registry_card(w, j->a.card, &card)) != 0)
		goto out;
	if ((r = jpki_ca_batch_begin(w->ca)) != 0)
		goto out;
	if (j->mode_card) {
		/* The card handed back: a 2004-era card too (L1). */
		if (j->old_card[0] != '\0' && jpki_registry_card(w, j->old_card, &old) == 0 &&
		    old.state != JPKI_CARD_RETURNED && old.state != JPKI_CARD_VOID) {
			if ((r = revoke_card(w, &old, 1, 1, JPKI_REASON_SUPERSEDED, &j->a, NULL)) != 0)
				goto fail;
			old.state = JPKI_CARD_RETURNED;
			if ((r = reg_card_save(w, &old, JPKI_DOC_REPLACE)) != 0)
				goto fail;
		}
		card.state = JPKI_CARD_ACTIVE;
		snprintf(res->card, sizeof(res->card), "%s", card.number);
		res->updated = (int64_t)jpki_now();
		if ((r = reg_resident_save(w, res, JPKI_DOC_REPLACE)) != 0)
			goto fail;
	} else {
		/* The certificate replaced on the card (L5, L6, L8). */
		if ((r = revoke_card(w, &card, j->want_sign, j->want_auth, JPKI_REASON_SUPERSEDED,
		                     &j->a, NULL)) != 0)
			goto fail;
	}
	if (j->want_sign) {
		if ((r = hex_to_serial(j->a.sign_new, s, &n)) != 0)
			goto fail;
		memcpy(card.sign_serial, s, n);
		card.sign_serial_len = n;
		snprintf(card.sign_key, sizeof(card.sign_key), "%s", j->sign_key_new);
	}
	if (j->want_auth) {
		if ((r = hex_to_serial(j->a.auth_new, s, &n)) != 0)
			goto fail;
		memcpy(card.auth_serial, s, n);
		card.auth_serial_len = n;
		snprintf(card.auth_key, sizeof(card.auth_key), "%s", j->auth_key_new);
	}
	if ((r = reg_card_save(w, &card, JPKI_DOC_REPLACE)) != 0)
		goto fail;
	j->a.state = JPKI_ACT_DONE;
	snprintf(j->a.step, sizeof(j->a.step), "done");
	if ((r = journal_save(w, j, JPKI_DOC_REPLACE)) != 0 ||
	    (r = reg_audit_act(w, &j->a, "ok")) != 0)
		goto fail;
	r = jpki_ca_batch_commit(w->ca);
	goto out;
fail:
	(void)jpki_ca_batch_rollback(w->ca);
out:
	free(res);
	return r;
}

/* Revoke the certificates a half-done act issued (their keys are gone). */
static int
drop_issued(jpki_window_t *w, struct journal *j, int reason)
{
	uint8_t s[JPKI_SERIAL_MAX];
	size_t n;
	int r;

	if (j->a.sign_new[0]) {
		if ((r = hex_to_serial(j->a.sign_new, s, &n)) != 0 ||
		    (r = revoke_if_live(w, JPKI_CA_SIGN, s, n, reason, NULL)) != 0)
			return r;
	}
	if (j->a.auth_new[0]) {
		if ((r = hex_to_serial(j->a.auth_new, s, &n)) != 0 ||
		    (r = revoke_if_live(w, JPKI_CA_AUTH, s, n, reason, NULL)) != 0)
			return r;
	}
	return 0;
}

/* Carry a card act on from its recorded step to the end. */
static int
run(jpki_window_t *w, struct journal *j, jpki_reader_t *rd, EVP_PKEY *issuer_key,
    const jpki_pins_t *pins)
{
	jpki_card_kind_t kind;
	jpki_card_rec_t card;
	int r, match;

	if (strcmp(j->a.step, "written") != 0) {
		if ((r = card_open(rd, issuer_key, &kind)) != 0)
			return r;
		if (j->mode_card && (int)kind != j->card_kind) {
			jpki_set_detail("the card in the reader is %s; this act needs %s",
			                kind == JPKI_CARD_2004 ? "a 2004-era card" : "an Individual Number Card",
			                j->card_kind == JPKI_CARD_2004 ? "a 2004-era card"
			                                               : "an Individual Number Card");
			return JPKI_ERR_STATE;
		}
		if (!j->mode_card && strcmp(j->a.step, "begin") == 0) {
			if ((r = jpki_registry_card(w, j->a.card, &card)) != 0 ||
			    (r = card_is(rd, &card)) != 0)
				return r;
		}
	}
	if (strcmp(j->a.step, "keys") == 0 || strcmp(j->a.step, "certs") == 0) {
		if ((r = keys_match(j, rd, &match)) != 0)
			return r;
		if (!match) {
			/* Not the keys the journal knows: another card, or keys made
			 * again.  Certificates for the lost keys are revoked. */
			if ((r = jpki_ca_batch_begin(w->ca)) != 0)
				return r;
			if ((r = drop_issued(w, j, JPKI_REASON_SUPERSEDED)) != 0) {
				(void)jpki_ca_batch_rollback(w->ca);
				return r;
			}
			j->a.sign_new[0] = j->a.auth_new[0] = '\0';
			snprintf(j->a.step, sizeof(j->a.step), "begin");
			if ((r = journal_save(w, j, JPKI_DOC_REPLACE)) != 0) {
				(void)jpki_ca_batch_rollback(w->ca);
				return r;
			}
			if ((r = jpki_ca_batch_commit(w->ca)) != 0)
				return r;
		}
	}
	if (strcmp(j->a.step, "begin") == 0 && (r = step_keys(w, j, rd)) != 0)
		return r;
	if (strcmp(j->a.step, "keys") == 0 && (r = step_certs(w, j, rd)) != 0)
		return r;
	if (strcmp(j->a.step, "certs") == 0 && (r = step_written(w, j, rd, pins)) != 0)
		return r;
	if (strcmp(j->a.step, "written") == 0 && (r = step_done(w, j)) != 0)
		return r;
	return 0;
}

static int
no_pending(jpki_window_t *w, const char *resident)
{
	jpki_act_t a;
	int r = jpki_window_pending(w, resident, &a);

	if (r == 0) {
		jpki_set_detail("resident %s has act %s (%s) pending at step '%s': resume or undo it "
		                "first", resident, a.ref, jpki_act_kind_name(a.kind), a.step);
		return JPKI_ERR_STATE;
	}
	return r == JPKI_ERR_NOT_FOUND ? 0 : r;
}

/* Check the PINs' format before the card is touched (a wrong one would cost
 * nothing, but a half-written card would). */
static int
check_pins(const struct journal *j, const jpki_pins_t *pins)
{
	int r;

	if (j->want_sign) {
		if (pins == NULL || pins->sign == NULL) {
			jpki_set_detail("the signing password must be chosen at the window (L9)");
			return JPKI_ERR_INVALID_ARG;
		}
		if ((r = jpki_token_pin_check(JPKI_PIN_SIGN, pins->sign, 1)) != 0)
			return r;
	}
	if (j->want_auth) {
		if (pins == NULL || pins->auth == NULL) {
			jpki_set_detail("the authentication PIN must be chosen at the window (L9)");
			return JPKI_ERR_INVALID_ARG;
		}
		if ((r = jpki_token_pin_check(JPKI_PIN_AUTH, pins->auth, 1)) != 0)
			return r;
	}
	return 0;
}

int
jpki_window_issue(jpki_window_t *w, const char *resident, jpki_reader_t *rd,
                  EVP_PKEY *issuer_key, const jpki_issue_opts_t *opts, const jpki_pins_t *pins,
                  const jpki_photo_id_t *pid, jpki_act_t *act)
{
	struct journal *j = NULL;
	jpki_resident_t *res = NULL;
	jpki_card_rec_t card, old;
	jpki_issue_opts_t o;
	jpki_date_t today;
	jpki_card_kind_t kind;
	int64_t n = 0;
	int r, age;

	if (w->remote != NULL)
		return remote_issue(w, resident, rd, opts, pins, pid, act);
	memset(act, 0, sizeof(*act));
	memset(&o, 0, sizeof(o));
	if (opts != NULL)
		o = *opts;
	if ((j = calloc(1, sizeof(*j))) == NULL || (res = calloc(1, sizeof(*res))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if ((r = reg_act_new(w, JPKI_ACT_ISSUE, resident, pid, &j->a)) != 0 ||
	    (r = jpki_registry_get(w, resident, res)) != 0 || (r = no_pending(w, resident)) != 0)
		goto out;
	/* The blank card tells which kind it is. */
	if ((r = card_open(rd, issuer_key, &kind)) != 0)
		goto out;
	jpki_date_from_time_jst((time_t)j->a.time, &today);
	age = age_on(&res->dob, &today);
	j->mode_card = 1;
	j->card_kind = (int)kind;
	j->want_auth = !o.no_auth && kind != JPKI_CARD_2004; /* L1 */
	j->want_sign = !o.no_sign;
	/* L2: normally no signature certificate under 15. */
	if (j->want_sign && age < 15) {
		if (o.under15_reason == NULL || *o.under15_reason == '\0') {
			jpki_set_detail("resident %s is %d: no signature certificate under 15 (L2) "
			                "unless the operator gives a reason (--under15-reason)",
			                resident, age);
			r = JPKI_ERR_STATE;
			goto out;
		}
		snprintf(j->under15, sizeof(j->under15), "%s", o.under15_reason);
	}
	if (!j->want_sign && !j->want_auth) {
		jpki_set_detail("nothing to issue: both certificates declined");
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((r = check_pins(j, pins)) != 0)
		goto out;
	/* The card's own expiry (L4): 10th birthday after issuance from 18,
	 * 5th under 18; a 2004-era card's certificate runs 3 years anyway. */
	if (o.card_expiry != NULL)
		j->card_expiry = *o.card_expiry;
	else if (kind != JPKI_CARD_2004)
		nth_birthday_after(&res->dob, &today, age >= 18 ? 10 : 5, &j->card_expiry);
	/* L10: free today; 500 yen in 2004; a fee on reissue after loss. */
	j->a.fee = o.fee >= 0 && opts != NULL && opts->fee >= 0 ? o.fee
	           : kind == JPKI_CARD_2004 ? 500 : o.reissue_after_loss ? 1000 : 0;
	if (res->card[0] != '\0' && jpki_registry_card(w, res->card, &old) == 0)
		snprintf(j->old_card, sizeof(j->old_card), "%s", old.number);

	if ((r = jpki_store_begin(w->st)) != 0)
		goto out;
	if ((r = jpki_store_counter_next(w->st, "registry.card", &n)) != 0)
		goto fail;
	memset(&card, 0, sizeof(card));
	snprintf(card.number, sizeof(card.number), "%010" PRId64, n);
	snprintf(card.resident, sizeof(card.resident), "%s", resident);
	card.kind = kind;
	card.state = JPKI_CARD_ISSUING;
	card.issued = today;
	card.expiry = j->card_expiry;
	snprintf(j->a.card, sizeof(j->a.card), "%s", card.number);
	snprintf(j->a.step, sizeof(j->a.step), "begin");
	snprintf(j->a.detail, sizeof(j->a.detail), "new %s %s: %s%s%s%s%s",
	         kind == JPKI_CARD_2004 ? "Basic Resident Registration card" : "Individual Number Card",
	         card.number, j->want_sign ? "signature certificate" : "",
	         j->want_sign && j->want_auth ? " and " : "",
	         j->want_auth ? "authentication certificate" : "",
	         j->under15[0] ? "; under 15, operator's reason: " : "", j->under15);
	if ((r = reg_card_save(w, &card, JPKI_DOC_CREATE)) != 0 ||
	    (r = journal_save(w, j, JPKI_DOC_CREATE)) != 0)
		goto fail;
	if ((r = jpki_store_commit(w->st)) != 0)
		goto out;
	if ((r = fault("begin")) != 0)
		goto keep;
	r = run(w, j, rd, issuer_key, pins);
keep:
	*act = j->a;
	goto out;
fail:
	(void)jpki_store_rollback(w->st);
out:
	if (r != 0 && j != NULL && j->a.ref[0] && act->ref[0] == '\0')
		*act = j->a;
	free(j);
	free(res);
	return r;
}

int
jpki_window_reissue(jpki_window_t *w, const char *resident, jpki_ca_kind_t which, int renewal,
                    jpki_reader_t *rd, EVP_PKEY *issuer_key, const jpki_pins_t *pins,
                    const jpki_photo_id_t *pid, jpki_act_t *act)
{
	struct journal *j = NULL;
	jpki_resident_t *res = NULL;
	jpki_card_rec_t card;
	jpki_cert_rec_t rec;
	jpki_date_t today, last, first;
	char d1[64];
	int r;

	if (w->remote != NULL)
		return remote_reissue(w, resident, which, renewal, rd, pins, pid, act);
	memset(act, 0, sizeof(*act));
	if ((j = calloc(1, sizeof(*j))) == NULL || (res = calloc(1, sizeof(*res))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if ((r = reg_act_new(w, renewal ? JPKI_ACT_RENEW : JPKI_ACT_ISSUE, resident, pid,
	                     &j->a)) != 0 ||
	    (r = jpki_registry_get(w, resident, res)) != 0 || (r = no_pending(w, resident)) != 0)
		goto out;
	if (res->card[0] == '\0') {
		jpki_set_detail("resident %s has no card: issue one first", resident);
		r = JPKI_ERR_STATE;
		goto out;
	}
	if ((r = jpki_registry_card(w, res->card, &card)) != 0)
		goto out;
	if (card.state != JPKI_CARD_ACTIVE) {
		jpki_set_detail("card %s is %s", card.number,
		                card.state == JPKI_CARD_SUSPENDED ? "suspended: release it first"
		                                                  : "not in use");
		r = JPKI_ERR_STATE;
		goto out;
	}
	/* L1, L4: nothing new goes onto a 2004-era card. */
	if (card.kind == JPKI_CARD_2004) {
		jpki_set_detail("card %s is a 2004-era card: no new certificate can be put on it; "
		                "issue an Individual Number Card", card.number);
		r = JPKI_ERR_STATE;
		goto out;
	}
	jpki_date_from_time_jst((time_t)j->a.time, &today);
	if (which == JPKI_CA_SIGN && age_on(&res->dob, &today) < 15) {
		jpki_set_detail("resident %s is under 15: no signature certificate (L2)", resident);
		r = JPKI_ERR_STATE;
		goto out;
	}
	if (renewal) {
		/* L5: from 3 months before the expiry. */
		r = cert_status(w, which, which == JPKI_CA_SIGN ? card.sign_serial : card.auth_serial,
		                which == JPKI_CA_SIGN ? card.sign_serial_len : card.auth_serial_len,
		                &rec);
		if (r == JPKI_ERR_NOT_FOUND || (r == 0 && rec.status == JPKI_STATUS_REVOKED)) {
			jpki_set_detail("no valid %s certificate to renew: issue a new one",
			                jpki_ca_kind_name(which));
			r = JPKI_ERR_STATE;
			goto out;
		}
		if (r != 0)
			goto out;
		jpki_date_from_time_jst((time_t)rec.not_after, &last);
		jpki_date_add_months(&last, -3, &first);
		if (jpki_date_cmp(&today, &first) < 0) {
			jpki_era_format_both(&first, d1, sizeof(d1));
			jpki_set_detail("renewal is possible from %s, 3 months before the expiry (L5)",
			                d1);
			r = JPKI_ERR_STATE;
			goto out;
		}
	}
	j->mode_card = 0;
	j->renewal = renewal;
	j->card_kind = card.kind;
	j->want_sign = which == JPKI_CA_SIGN;
	j->want_auth = which == JPKI_CA_AUTH;
	if ((r = check_pins(j, pins)) != 0)
		goto out;
	snprintf(j->a.card, sizeof(j->a.card), "%s", card.number);
	snprintf(j->a.step, sizeof(j->a.step), "begin");
	snprintf(j->a.detail, sizeof(j->a.detail), "%s %s certificate on card %s",
	         renewal ? "renewed" : "new", which == JPKI_CA_SIGN ? "signature" : "authentication",
	         card.number);
	if ((r = journal_save(w, j, JPKI_DOC_CREATE)) != 0)
		goto out;
	if ((r = fault("begin")) != 0)
		goto keep;
	r = run(w, j, rd, issuer_key, pins);
keep:
	*act = j->a;
out:
	if (r != 0 && j != NULL && j->a.ref[0] && act->ref[0] == '\0')
		*act = j->a;
	free(j);
	free(res);
	return r;
}

int
jpki_window_resume(jpki_window_t *w, const char *ref, jpki_reader_t *rd, EVP_PKEY *issuer_key,
                   const jpki_pins_t *pins, jpki_act_t *act)
{
	struct journal *j;
	int r;

	if (w->remote != NULL)
		return remote_resume(w, ref, rd, pins, act);
	memset(act, 0, sizeof(*act));
	if (w->operator_name[0] == '\0') {
		jpki_set_detail("no operator is logged in");
		return JPKI_ERR_AUTH;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return JPKI_ERR_NOMEM;
	if ((r = journal_load(w, ref, j)) != 0)
		goto out;
	if (j->a.state != JPKI_ACT_PENDING) {
		jpki_set_detail("act %s is %s", ref, j->a.state == JPKI_ACT_DONE ? "done" : "undone");
		r = JPKI_ERR_STATE;
		goto out;
	}
	(void)jpki_audit_appendf(&w->audit, w->operator_name, "resume", j->a.ref, "ok",
	                         "at step %s", j->a.step);
	r = run(w, j, rd, issuer_key, pins);
	*act = j->a;
out:
	free(j);
	return r;
}

int
jpki_window_undo(jpki_window_t *w, const char *ref, jpki_act_t *act)
{
	struct journal *j;
	jpki_card_rec_t card;
	int r;

	if (w->remote != NULL)
		return remote_undo(w, ref, act);
	memset(act, 0, sizeof(*act));
	if (w->operator_name[0] == '\0') {
		jpki_set_detail("no operator is logged in");
		return JPKI_ERR_AUTH;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return JPKI_ERR_NOMEM;
	if ((r = journal_load(w, ref, j)) != 0)
		goto out;
	if (j->a.state != JPKI_ACT_PENDING) {
		jpki_set_detail("act %s is not pending", ref);
		r = JPKI_ERR_STATE;
		goto out;
	}
	if ((r = jpki_ca_batch_begin(w->ca)) != 0)
		goto out;
	/* What the act issued is revoked; nobody ever held it. */
	if ((r = drop_issued(w, j, JPKI_REASON_CESSATION)) != 0)
		goto fail;
	if (jpki_registry_card(w, j->a.card, &card) == 0) {
		if (j->mode_card) {
			card.state = JPKI_CARD_VOID;
		} else if (strcmp(j->a.step, "begin") != 0) {
			/* The card's old key of that kind was replaced: its old
			 * certificate names a key the card no longer has. */
			if ((r = revoke_card(w, &card, j->want_sign, j->want_auth,
			                     JPKI_REASON_SUPERSEDED, &j->a, NULL)) != 0)
				goto fail;
			if (j->want_sign) {
				card.sign_serial_len = 0;
				card.sign_key[0] = '\0';
			}
			if (j->want_auth) {
				card.auth_serial_len = 0;
				card.auth_key[0] = '\0';
			}
		}
		if ((r = reg_card_save(w, &card, JPKI_DOC_REPLACE)) != 0)
			goto fail;
	}
	j->a.state = JPKI_ACT_UNDONE;
	snprintf(j->a.detail + strlen(j->a.detail), sizeof(j->a.detail) - strlen(j->a.detail),
	         "; undone at step %s by %s", j->a.step, w->operator_name);
	if ((r = journal_save(w, j, JPKI_DOC_REPLACE)) != 0 ||
	    (r = reg_audit_act(w, &j->a, "undone")) != 0)
		goto fail;
	if ((r = jpki_ca_batch_commit(w->ca)) != 0)
		goto out;
	*act = j->a;
	goto out;
fail:
	(void)jpki_ca_batch_rollback(w->ca);
out:
	free(j);
	return r;
}

struct pending_ctx {
	const char *resident;
	jpki_act_t *act;
	int found;
};

static int
pending_cb(void *ctx, const char *key, const char *body)
{
	struct pending_ctx *p = ctx;
	char res[JPKI_ID_LEN];
	int64_t state;

	if (doc_int(body, "state", &state) != 0 || state != JPKI_ACT_PENDING)
		return 0;
	if (doc_str(body, "resident", res, sizeof(res)) != 0 || strcmp(res, p->resident) != 0)
		return 0;
	p->found = 1;
	snprintf(p->act->ref, sizeof(p->act->ref), "%s", key);
	return 1;
}

int
jpki_window_pending(jpki_window_t *w, const char *resident, jpki_act_t *act)
{
	struct pending_ctx p = {resident, act, 0};
	char ref[JPKI_ID_LEN];
	int r;

	if (w->remote != NULL)
		return remote_pending(w, resident, act);
	memset(act, 0, sizeof(*act));
	r = jpki_store_foreach_doc(w->st, "act", "", pending_cb, &p);
	if (r != 0 && r != 1)
		return r;
	if (!p.found)
		return JPKI_ERR_NOT_FOUND;
	snprintf(ref, sizeof(ref), "%s", act->ref);
	return jpki_act_get(w, ref, act);
}

/* ---- acts without the card: one store transaction each ---- */

static const char *const reason_names[] = {
	[JPKI_WR_LOST] = "lost", [JPKI_WR_STOLEN] = "stolen", [JPKI_WR_BROKEN] = "broken",
	[JPKI_WR_MISUSED] = "misused", [JPKI_WR_VOLUNTARY] = "voluntary",
};

int
jpki_window_reason_parse(const char *s, jpki_window_reason_t *r)
{
	size_t i;

	for (i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]); i++)
		if (s != NULL && strcmp(s, reason_names[i]) == 0) {
			*r = (jpki_window_reason_t)i;
			return 0;
		}
	jpki_set_detail("unknown reason '%s' (lost, stolen, broken, misused, voluntary)",
	                s ? s : "");
	return JPKI_ERR_INVALID_ARG;
}

/* spec §5: keyCompromise for loss, theft or misuse; a broken card's keys are
 * gone with it (cessationOfOperation); a voluntary stop likewise. */
int
jpki_window_reason_crl(jpki_window_reason_t r)
{
	switch (r) {
	case JPKI_WR_LOST:
	case JPKI_WR_STOLEN:
	case JPKI_WR_MISUSED:
		return JPKI_REASON_KEY_COMPROMISE;
	case JPKI_WR_BROKEN:
	case JPKI_WR_VOLUNTARY:
	default:
		return JPKI_REASON_CESSATION;
	}
}

/* The resident and the card an act without the card works on. */
static int
resident_card(jpki_window_t *w, const char *resident, const char *number, jpki_card_rec_t *card)
{
	jpki_resident_t *res;
	int r;

	if (number != NULL && *number != '\0') {
		if ((r = jpki_registry_card(w, number, card)) != 0)
			return r;
		if (resident != NULL && *resident != '\0' && strcmp(card->resident, resident) != 0) {
			jpki_set_detail("card %s is not resident %s's", number, resident);
			return JPKI_ERR_STATE;
		}
		return 0;
	}
	if ((res = malloc(sizeof(*res))) == NULL)
		return JPKI_ERR_NOMEM;
	r = jpki_registry_get(w, resident, res);
	if (r == 0 && res->card[0] == '\0') {
		jpki_set_detail("resident %s has no card", resident);
		r = JPKI_ERR_STATE;
	}
	if (r == 0)
		r = jpki_registry_card(w, res->card, card);
	free(res);
	return r;
}

/* Finish an act without the card: save it done, audit, commit. */
static int
finish(jpki_window_t *w, jpki_act_t *a, jpki_card_rec_t *card)
{
	int r;

	a->state = JPKI_ACT_DONE;
	snprintf(a->step, sizeof(a->step), "done");
	if ((card != NULL && (r = reg_card_save(w, card, JPKI_DOC_REPLACE)) != 0) ||
	    (r = reg_act_save(w, a, NULL, JPKI_DOC_CREATE)) != 0 ||
	    (r = reg_audit_act(w, a, "ok")) != 0) {
		(void)jpki_ca_batch_rollback(w->ca);
		return r;
	}
	return jpki_ca_batch_commit(w->ca);
}

int
jpki_window_revoke(jpki_window_t *w, const char *resident, int which, jpki_window_reason_t why,
                   const jpki_photo_id_t *pid, jpki_act_t *act)
{
	jpki_card_rec_t card;
	int r, any = 0;
	int reason = jpki_window_reason_crl(why);

	if (w->remote != NULL)
		return remote_revoke(w, resident, which, why, pid, act);
	memset(act, 0, sizeof(*act));
	/* A pending act first: its reference says more than "no card". */
	if ((r = reg_act_new(w, JPKI_ACT_REVOKE, resident, pid, act)) != 0 ||
	    (r = no_pending(w, resident)) != 0 ||
	    (r = resident_card(w, resident, NULL, &card)) != 0)
		return r;
	snprintf(act->card, sizeof(act->card), "%s", card.number);
	act->reason = reason;
	if ((r = jpki_ca_batch_begin(w->ca)) != 0)
		return r;
	if ((r = revoke_card(w, &card, which != JPKI_CA_AUTH, which != JPKI_CA_SIGN, reason, act,
	                     &any)) != 0)
		goto fail;
	if (!any) {
		jpki_set_detail("card %s has no valid certificate to revoke", card.number);
		r = JPKI_ERR_STATE;
		goto fail;
	}
	/* A lost, stolen or broken card is not used again. */
	if (why == JPKI_WR_LOST || why == JPKI_WR_STOLEN || why == JPKI_WR_BROKEN)
		card.state = JPKI_CARD_VOID;
	snprintf(act->detail, sizeof(act->detail), "revoked (%s: %s) on card %s",
	         reason_names[why], jpki_reason_name(reason), card.number);
	return finish(w, act, &card);
fail:
	(void)jpki_ca_batch_rollback(w->ca);
	return r;
}

int
jpki_window_suspend(jpki_window_t *w, const char *resident, const char *number, jpki_act_t *act)
{
	jpki_card_rec_t card;
	jpki_cert_rec_t rec;
	int r, held = 0;

	if (w->remote != NULL)
		return remote_suspend(w, resident, number, act);
	memset(act, 0, sizeof(*act));
	if ((r = reg_act_new(w, JPKI_ACT_SUSPEND, resident ? resident : "", NULL, act)) != 0 ||
	    (r = resident_card(w, resident, number, &card)) != 0)
		return r;
	snprintf(act->resident, sizeof(act->resident), "%s", card.resident);
	snprintf(act->card, sizeof(act->card), "%s", card.number);
	act->reason = JPKI_REASON_CERTIFICATE_HOLD;
	if (card.state != JPKI_CARD_ACTIVE) {
		jpki_set_detail("card %s is not in use (already suspended, returned or void)",
		                card.number);
		return JPKI_ERR_STATE;
	}
	if ((r = jpki_ca_batch_begin(w->ca)) != 0)
		return r;
	/* L8: both certificates of the card on hold at once. */
	if (cert_status(w, JPKI_CA_SIGN, card.sign_serial, card.sign_serial_len, &rec) == 0 &&
	    rec.status == JPKI_STATUS_GOOD) {
		if ((r = jpki_ca_hold(w->ca, JPKI_CA_SIGN, card.sign_serial, card.sign_serial_len,
		                      0)) != 0)
			goto fail;
		reg_hex(card.sign_serial, card.sign_serial_len, act->sign_old);
		held++;
	}
	if (cert_status(w, JPKI_CA_AUTH, card.auth_serial, card.auth_serial_len, &rec) == 0 &&
	    rec.status == JPKI_STATUS_GOOD) {
		if ((r = jpki_ca_hold(w->ca, JPKI_CA_AUTH, card.auth_serial, card.auth_serial_len,
		                      0)) != 0)
			goto fail;
		reg_hex(card.auth_serial, card.auth_serial_len, act->auth_old);
		held++;
	}
	card.state = JPKI_CARD_SUSPENDED;
	snprintf(act->detail, sizeof(act->detail),
	         "card %s suspended by the suspension line: %d certificate%s on hold", card.number,
	         held, held == 1 ? "" : "s");
	return finish(w, act, &card);
fail:
	(void)jpki_ca_batch_rollback(w->ca);
	return r;
}

int
jpki_window_release(jpki_window_t *w, const char *resident, const jpki_photo_id_t *pid,
                    jpki_act_t *act)
{
	jpki_card_rec_t card;
	jpki_cert_rec_t rec;
	int r, released = 0, revoked = 0;

	if (w->remote != NULL)
		return remote_release(w, resident, pid, act);
	memset(act, 0, sizeof(*act));
	if ((r = reg_act_new(w, JPKI_ACT_RELEASE, resident, pid, act)) != 0 ||
	    (r = resident_card(w, resident, NULL, &card)) != 0)
		return r;
	snprintf(act->card, sizeof(act->card), "%s", card.number);
	if (card.state != JPKI_CARD_SUSPENDED) {
		jpki_set_detail("card %s is not suspended", card.number);
		return JPKI_ERR_STATE;
	}
	if ((r = jpki_ca_batch_begin(w->ca)) != 0)
		return r;
	if (cert_status(w, JPKI_CA_AUTH, card.auth_serial, card.auth_serial_len, &rec) == 0 &&
	    rec.status == JPKI_STATUS_HOLD) {
		if ((r = jpki_ca_release(w->ca, JPKI_CA_AUTH, card.auth_serial, card.auth_serial_len,
		                         0)) != 0)
			goto fail;
		/* The notice shows the certificate whose hold was lifted here. */
		reg_hex(card.auth_serial, card.auth_serial_len, act->auth_old);
		released = 1;
	}
	/* L8: the signature certificate cannot be released: revoked, and a new
	 * one is offered. */
	if (cert_status(w, JPKI_CA_SIGN, card.sign_serial, card.sign_serial_len, &rec) == 0 &&
	    rec.status == JPKI_STATUS_HOLD) {
		if ((r = jpki_ca_revoke(w->ca, JPKI_CA_SIGN, card.sign_serial, card.sign_serial_len,
		                        JPKI_REASON_SUPERSEDED, 0)) != 0)
			goto fail;
		reg_hex(card.sign_serial, card.sign_serial_len, act->sign_old);
		act->reason = JPKI_REASON_SUPERSEDED;
		revoked = 1;
	}
	card.state = JPKI_CARD_ACTIVE;
	snprintf(act->detail, sizeof(act->detail), "hold on card %s lifted:%s%s%s", card.number,
	         released ? " authentication certificate released" : "",
	         released && revoked ? ";" : "",
	         revoked ? " signature certificate revoked (it cannot be released, L8): a new one "
	                   "can be issued now" : "");
	return finish(w, act, &card);
fail:
	(void)jpki_ca_batch_rollback(w->ca);
	return r;
}

int
jpki_window_pin_init(jpki_window_t *w, const char *resident, jpki_pin_kind_t which,
                     const char *new_pin, jpki_reader_t *rd, EVP_PKEY *issuer_key,
                     const jpki_photo_id_t *pid, jpki_act_t *act)
{
	jpki_card_rec_t card;
	jpki_card_kind_t kind;
	int r;

	if (w->remote != NULL)
		return remote_pin_init(w, resident, which, new_pin, rd, pid, act);
	memset(act, 0, sizeof(*act));
	if ((r = reg_act_new(w, JPKI_ACT_PIN_INIT, resident, pid, act)) != 0 ||
	    (r = resident_card(w, resident, NULL, &card)) != 0)
		return r;
	snprintf(act->card, sizeof(act->card), "%s", card.number);
	if (new_pin != NULL && (r = jpki_token_pin_check(which, new_pin, 1)) != 0)
		return r;
	if ((r = card_open(rd, issuer_key, &kind)) != 0 || (r = card_is(rd, &card)) != 0)
		return r;
	/* One APDU: done whole or not at all on the card; the act is recorded
	 * after it (a failure to record leaves a card with a fresh PIN and an
	 * audit refusal the operator sees). */
	r = new_pin != NULL ? jpki_token_set_pin(rd, which, new_pin)
	                    : jpki_token_reset_counter(rd, which);
	if (r != 0)
		return r;
	snprintf(act->detail, sizeof(act->detail), "%s %s on card %s",
	         which == JPKI_PIN_SIGN ? "signing password" : "authentication PIN",
	         new_pin != NULL ? "initialized (new password set, tries reset)"
	                         : "unlocked (tries reset, password kept)", card.number);
	if ((r = jpki_ca_batch_begin(w->ca)) != 0)
		return r;
	return finish(w, act, NULL);
}

int
jpki_window_return_card(jpki_window_t *w, const char *resident, const char *number,
                        const jpki_photo_id_t *pid, jpki_act_t *act)
{
	jpki_card_rec_t card;
	jpki_resident_t *res = NULL;
	int r;

	if (w->remote != NULL)
		return remote_return_card(w, resident, number, pid, act);
	memset(act, 0, sizeof(*act));
	if ((r = reg_act_new(w, JPKI_ACT_RETURN, resident, pid, act)) != 0 ||
	    (r = resident_card(w, resident, number, &card)) != 0)
		return r;
	snprintf(act->card, sizeof(act->card), "%s", card.number);
	if (card.state == JPKI_CARD_RETURNED) {
		jpki_set_detail("card %s was handed back already", card.number);
		return JPKI_ERR_STATE;
	}
	if ((res = malloc(sizeof(*res))) == NULL)
		return JPKI_ERR_NOMEM;
	if ((r = jpki_registry_get(w, card.resident, res)) != 0)
		goto out;
	if ((r = jpki_ca_batch_begin(w->ca)) != 0)
		goto out;
	if ((r = revoke_card(w, &card, 1, 1, JPKI_REASON_SUPERSEDED, act, NULL)) != 0)
		goto fail;
	if (act->sign_old[0] || act->auth_old[0])
		act->reason = JPKI_REASON_SUPERSEDED;
	card.state = JPKI_CARD_RETURNED;
	if (strcmp(res->card, card.number) == 0) {
		res->card[0] = '\0';
		if ((r = reg_resident_save(w, res, JPKI_DOC_REPLACE)) != 0)
			goto fail;
	}
	snprintf(act->detail, sizeof(act->detail), "%s %s handed back",
	         card.kind == JPKI_CARD_2004 ? "Basic Resident Registration card"
	                                     : "Individual Number Card", card.number);
	r = finish(w, act, &card);
	goto out;
fail:
	(void)jpki_ca_batch_rollback(w->ca);
out:
	free(res);
	return r;
}
