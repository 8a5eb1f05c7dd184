/* The window (jpki/registry.h) with an in-process card: operators, the
 * registry and L6, issuance L2-L4, renewal L5, revocation L7, suspension L8,
 * passwords L9, the 2004-era card, and a failure injected after every step of
 * a card act, then resumed or undone (acceptance 11). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jpki/audit.h"
#include "jpki/card.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/reader.h"
#include "jpki/registry.h"
#include "jpki/token.h"

static struct {
	char dir[256];
	EVP_PKEY *issuer;
	uint8_t *spki;
	int spki_len;
	int seq;
} G;

static const jpki_photo_id_t pid = {"driving-licence", "123456789012"};
static const jpki_pins_t pins = {"ABC123", "1234"};

static int
setup(void **state)
{
	const char *tmp = getenv("JPKI_TEST_TMP");

	if (tmp == NULL)
		tmp = "/tmp";
	jpki_file_mkdirs(tmp, 0755);
	snprintf(G.dir, sizeof(G.dir), "%s/test_registry.XXXXXX", tmp);
	if (mkdtemp(G.dir) == NULL)
		return -1;
	if ((G.issuer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (G.spki_len = i2d_PUBKEY(G.issuer, &G.spki)) <= 0)
		return -1;
	/* 2026-11-21 10:00 JST */
	setenv("JPKI_NOW", "2026-11-21T01:00:00Z", 1);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];

	EVP_PKEY_free(G.issuer);
	OPENSSL_free(G.spki);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", G.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh CA + window with operator "tanaka" logged in. */
static jpki_window_t *
new_window(void)
{
	char ca[300];
	jpki_ca_init_opts_t o = {.test = 1};
	jpki_window_t *w = NULL;

	snprintf(ca, sizeof(ca), "%s/ca%d", G.dir, G.seq++);
	assert_int_equal(jpki_ca_init(ca, &o), 0);
	assert_int_equal(jpki_window_open(ca, "test_registry", &w), 0);
	assert_int_equal(jpki_window_operator_add(w, "tanaka", "window-secret-1"), 0);
	assert_int_equal(jpki_window_login(w, "tanaka", "window-secret-1"), 0);
	return w;
}

struct card {
	jpki_card_t *card;
	jpki_reader_t *rd;
};

static void
blank_card(struct card *c, jpki_card_kind_t kind)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/card%d", G.dir, G.seq++);
	assert_int_equal(jpki_card_create(path, kind, G.spki, (size_t)G.spki_len), 0);
	assert_int_equal(jpki_card_load(path, &c->card), 0);
	assert_int_equal(jpki_reader_open_inproc(c->card, &c->rd), 0);
}

static void
card_free(struct card *c)
{
	jpki_reader_close(c->rd);
	jpki_card_free(c->card);
}

static void
resident(jpki_window_t *w, const char *dob, jpki_resident_t *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "個人　花子");
	snprintf(r->kana, sizeof(r->kana), "コジン　ハナコ");
	assert_int_equal(jpki_date_parse(dob, &r->dob), 0);
	r->sex = 2;
	snprintf(r->address, sizeof(r->address), "東京都千代田区霞が関２丁目１番２号");
	assert_int_equal(jpki_registry_add(w, r, &pid), 0);
	assert_true(r->id[0] != '\0');
}

static jpki_cert_status_t
status_of(jpki_window_t *w, jpki_ca_kind_t k, const char *hex, int *reason)
{
	uint8_t s[JPKI_SERIAL_MAX];
	size_t n;
	jpki_cert_rec_t rec;

	assert_int_equal(jpki_serial_parse(hex, s, &n), 0);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(jpki_store_cert_get(jpki_ca_store(jpki_window_ca(w)), k, s, n, 0, &rec), 0);
	if (reason != NULL)
		*reason = rec.reason;
	return rec.status;
}

/* The certificate on the card in EF fid has serial hex. */
static void
card_has(struct card *c, uint16_t fid, const char *hex, const char *sign_pin)
{
	X509 *x = NULL;
	uint8_t s[JPKI_SERIAL_MAX];
	size_t n;
	char got[64];

	assert_int_equal(jpki_token_select_ap(c->rd), 0);
	if (sign_pin != NULL)
		assert_int_equal(jpki_token_verify_pin(c->rd, JPKI_PIN_SIGN, sign_pin, NULL), 0);
	assert_int_equal(jpki_token_read_x509(c->rd, fid, &x), 0);
	assert_int_equal(jpki_x509_serial(x, s, &n), 0);
	jpki_serial_hex(s, n, got, sizeof(got));
	assert_string_equal(got, hex);
	X509_free(x);
}

static void
test_operators(void **state)
{
	jpki_window_t *w = new_window();
	jpki_audit_report_t rep;
	jpki_resident_t r;

	assert_int_equal(jpki_window_login(w, "tanaka", "wrong-secret"), JPKI_ERR_AUTH);
	assert_string_equal(jpki_window_operator(w), "");
	/* Nobody logged in: an act is refused, and so is a new operator. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(jpki_window_operator_add(w, "suzuki", "another-secret"), JPKI_ERR_AUTH);
	assert_int_equal(jpki_window_login(w, "nobody", "whatever-secret"), JPKI_ERR_AUTH);
	assert_int_equal(jpki_window_login(w, "tanaka", "window-secret-1"), 0);
	assert_int_equal(jpki_window_operator_add(w, "suzuki", "another-secret"), 0);
	assert_int_equal(jpki_window_operator_add(w, "suzuki", "another-secret"), JPKI_ERR_EXISTS);
	/* The refusals are in the audit log, and it holds. */
	assert_int_equal(jpki_audit_verify(jpki_window_audit(w), &rep), 0);
	assert_true(rep.entries >= 5);
	jpki_window_close(w);
}

static void
test_life(void **state)
{
	jpki_window_t *w = new_window();
	jpki_resident_t r, got;
	jpki_act_t act;
	jpki_card_rec_t card;
	jpki_issue_opts_t o = {.fee = -1};
	struct card c;
	char ref[JPKI_ID_LEN], sign1[64], auth1[64];
	int revoked, reason, tries;
	jpki_date_t eff = {2027, 1, 10};

	resident(w, "1977-11-07", &r);
	blank_card(&c, JPKI_CARD_MYNUMBER);
	assert_int_equal(jpki_window_issue(w, r.id, c.rd, G.issuer, &o, &pins, &pid, &act), 0);
	assert_int_equal(act.state, JPKI_ACT_DONE);
	assert_int_equal(act.fee, 0);
	assert_string_equal(act.id_masked, "********9012");
	assert_true(act.sign_new[0] && act.auth_new[0]);
	snprintf(sign1, sizeof(sign1), "%s", act.sign_new);
	snprintf(auth1, sizeof(auth1), "%s", act.auth_new);
	card_has(&c, JPKI_EF_AUTH_CERT, auth1, NULL);
	card_has(&c, JPKI_EF_SIGN_CERT, sign1, "ABC123");
	assert_int_equal(jpki_registry_get(w, r.id, &got), 0);
	assert_int_equal(jpki_registry_card(w, got.card, &card), 0);
	assert_int_equal(card.state, JPKI_CARD_ACTIVE);
	/* L4: the card's own expiry, the 10th birthday after issuance. */
	assert_int_equal(card.expiry.year, 2036);
	assert_int_equal(card.expiry.month, 11);
	assert_int_equal(card.expiry.day, 7);

	/* L6: a move revokes the signature certificate at once, not the auth one. */
	assert_int_equal(jpki_registry_change(w, r.id, JPKI_FACT_ADDRESS,
	                                      "大阪府大阪市北区中之島１丁目３番２０号", &eff, &revoked,
	                                      ref), 0);
	assert_int_equal(revoked, 1);
	assert_int_equal(status_of(w, JPKI_CA_SIGN, sign1, &reason), JPKI_STATUS_REVOKED);
	assert_int_equal(reason, JPKI_REASON_AFFILIATION_CHANGED);
	assert_int_equal(status_of(w, JPKI_CA_AUTH, auth1, NULL), JPKI_STATUS_GOOD);
	/* The kana is not in the certificate: nothing revoked. */
	assert_int_equal(jpki_registry_change(w, r.id, JPKI_FACT_KANA, "コジン　ハナ", &eff,
	                                      &revoked, ref), 0);
	assert_int_equal(revoked, 0);

	/* A new signature certificate onto the same card. */
	assert_int_equal(jpki_window_reissue(w, r.id, JPKI_CA_SIGN, 0, c.rd, G.issuer, &pins, &pid,
	                                     &act), 0);
	assert_int_equal(status_of(w, JPKI_CA_SIGN, act.sign_new, NULL), JPKI_STATUS_GOOD);
	card_has(&c, JPKI_EF_SIGN_CERT, act.sign_new, "ABC123");
	snprintf(sign1, sizeof(sign1), "%s", act.sign_new);

	/* L8: the suspension line holds both; at the window auth is released
	 * and the signature certificate revoked. */
	assert_int_equal(jpki_window_suspend(w, r.id, NULL, &act), 0);
	assert_int_equal(status_of(w, JPKI_CA_SIGN, sign1, NULL), JPKI_STATUS_HOLD);
	assert_int_equal(status_of(w, JPKI_CA_AUTH, auth1, NULL), JPKI_STATUS_HOLD);
	assert_int_equal(jpki_window_reissue(w, r.id, JPKI_CA_SIGN, 0, c.rd, G.issuer, &pins, &pid,
	                                     &act), JPKI_ERR_STATE);
	assert_int_equal(jpki_window_release(w, r.id, &pid, &act), 0);
	assert_int_equal(status_of(w, JPKI_CA_AUTH, auth1, NULL), JPKI_STATUS_GOOD);
	assert_int_equal(status_of(w, JPKI_CA_SIGN, sign1, &reason), JPKI_STATUS_REVOKED);
	assert_int_equal(jpki_window_reissue(w, r.id, JPKI_CA_SIGN, 0, c.rd, G.issuer, &pins, &pid,
	                                     &act), 0);
	snprintf(sign1, sizeof(sign1), "%s", act.sign_new);

	/* L9: three wrong auth PINs lock it; the window unlocks it. */
	assert_int_equal(jpki_token_select_ap(c.rd), 0);
	assert_int_equal(jpki_token_verify_pin(c.rd, JPKI_PIN_AUTH, "9999", NULL), JPKI_ERR_PIN_WRONG);
	assert_int_equal(jpki_token_verify_pin(c.rd, JPKI_PIN_AUTH, "9998", NULL), JPKI_ERR_PIN_WRONG);
	assert_int_equal(jpki_token_verify_pin(c.rd, JPKI_PIN_AUTH, "9997", NULL),
	                 JPKI_ERR_PIN_BLOCKED);
	assert_int_equal(jpki_window_pin_init(w, r.id, JPKI_PIN_AUTH, NULL, c.rd, G.issuer, &pid,
	                                      &act), 0);
	assert_int_equal(jpki_token_select_ap(c.rd), 0);
	assert_int_equal(jpki_token_pin_status(c.rd, JPKI_PIN_AUTH, &tries), 0);
	assert_int_equal(tries, 3);
	assert_int_equal(jpki_token_verify_pin(c.rd, JPKI_PIN_AUTH, "1234", NULL), 0);
	/* A forgotten signing password: a new one set. */
	assert_int_equal(jpki_window_pin_init(w, r.id, JPKI_PIN_SIGN, "NEW456", c.rd, G.issuer, &pid,
	                                      &act), 0);
	card_has(&c, JPKI_EF_SIGN_CERT, sign1, "NEW456");

	/* L5: renewal only from 3 months before the expiry. */
	assert_int_equal(jpki_window_reissue(w, r.id, JPKI_CA_AUTH, 1, c.rd, G.issuer, &pins, &pid,
	                                     &act), JPKI_ERR_STATE);
	assert_non_null(strstr(jpki_detail(), "2031-08-07"));
	setenv("JPKI_NOW", "2031-09-01T01:00:00Z", 1);
	assert_int_equal(jpki_window_reissue(w, r.id, JPKI_CA_AUTH, 1, c.rd, G.issuer, &pins, &pid,
	                                     &act), 0);
	assert_int_equal(act.kind, JPKI_ACT_RENEW);
	assert_int_equal(status_of(w, JPKI_CA_AUTH, auth1, &reason), JPKI_STATUS_REVOKED);
	assert_int_equal(reason, JPKI_REASON_SUPERSEDED);
	card_has(&c, JPKI_EF_AUTH_CERT, act.auth_new, NULL);

	/* L7: lost: both revoked, keyCompromise, the card void. */
	assert_int_equal(jpki_window_revoke(w, r.id, -1, JPKI_WR_LOST, &pid, &act), 0);
	assert_int_equal(act.reason, JPKI_REASON_KEY_COMPROMISE);
	assert_int_equal(status_of(w, JPKI_CA_SIGN, sign1, &reason), JPKI_STATUS_REVOKED);
	assert_int_equal(reason, JPKI_REASON_KEY_COMPROMISE);
	assert_int_equal(jpki_registry_card(w, got.card, &card), 0);
	assert_int_equal(card.state, JPKI_CARD_VOID);
	setenv("JPKI_NOW", "2026-11-21T01:00:00Z", 1);
	card_free(&c);
	jpki_window_close(w);
}

static void
test_minors(void **state)
{
	jpki_window_t *w = new_window();
	jpki_resident_t kid, teen;
	jpki_issue_opts_t o = {.fee = -1};
	jpki_card_rec_t card;
	jpki_act_t act;
	struct card c;

	resident(w, "2016-04-01", &kid);
	blank_card(&c, JPKI_CARD_MYNUMBER);
	/* L2: no signature certificate under 15 without the operator's reason. */
	assert_int_equal(jpki_window_issue(w, kid.id, c.rd, G.issuer, &o, &pins, &pid, &act),
	                 JPKI_ERR_STATE);
	o.no_sign = 1;
	assert_int_equal(jpki_window_issue(w, kid.id, c.rd, G.issuer, &o, &pins, &pid, &act), 0);
	assert_int_equal(act.sign_new[0], '\0');
	assert_true(act.auth_new[0] != '\0');
	assert_int_equal(jpki_registry_card(w, act.card, &card), 0);
	/* Under 18: the card runs to the 5th birthday. */
	assert_int_equal(card.expiry.year, 2031);
	card_free(&c);

	resident(w, "2012-05-05", &teen);
	blank_card(&c, JPKI_CARD_MYNUMBER);
	o.no_sign = 0;
	o.under15_reason = "parental request with court permission";
	assert_int_equal(jpki_window_issue(w, teen.id, c.rd, G.issuer, &o, &pins, &pid, &act), 0);
	assert_true(act.sign_new[0] != '\0');
	card_free(&c);
	jpki_window_close(w);
}

static void
test_2004_card(void **state)
{
	jpki_window_t *w = new_window();
	jpki_resident_t r;
	jpki_issue_opts_t o = {.fee = -1};
	jpki_card_rec_t card;
	jpki_act_t act;
	jpki_cert_rec_t rec;
	uint8_t s[JPKI_SERIAL_MAX];
	size_t n;
	struct card old, c;
	char old_sign[64];
	int reason;

	setenv("JPKI_NOW", "2005-03-01T01:00:00Z", 1);
	resident(w, "1960-06-15", &r);
	blank_card(&old, JPKI_CARD_2004);
	assert_int_equal(jpki_window_issue(w, r.id, old.rd, G.issuer, &o, &pins, &pid, &act), 0);
	assert_int_equal(act.fee, 500);
	assert_true(act.sign_new[0] != '\0');
	assert_int_equal(act.auth_new[0], '\0'); /* L1: only a signature certificate */
	snprintf(old_sign, sizeof(old_sign), "%s", act.sign_new);
	/* L4: 3 years from issuance. */
	assert_int_equal(jpki_serial_parse(old_sign, s, &n), 0);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(jpki_store_cert_get(jpki_ca_store(jpki_window_ca(w)), JPKI_CA_SIGN, s, n, 0,
	                                     &rec), 0);
	assert_int_equal(rec.not_after, 1204383599); /* 2008-03-01T14:59:59Z */
	setenv("JPKI_NOW", "2007-01-10T01:00:00Z", 1);
	/* No new certificate onto a 2004-era card. */
	assert_int_equal(jpki_window_reissue(w, r.id, JPKI_CA_SIGN, 0, old.rd, G.issuer, &pins, &pid,
	                                     &act), JPKI_ERR_STATE);
	assert_non_null(strstr(jpki_detail(), "2004-era"));
	/* An Individual Number Card: the old card handed back, its certificate revoked. */
	blank_card(&c, JPKI_CARD_MYNUMBER);
	assert_int_equal(jpki_window_issue(w, r.id, c.rd, G.issuer, &o, &pins, &pid, &act), 0);
	assert_string_equal(act.sign_old, old_sign);
	assert_int_equal(status_of(w, JPKI_CA_SIGN, old_sign, &reason), JPKI_STATUS_REVOKED);
	assert_int_equal(reason, JPKI_REASON_SUPERSEDED);
	assert_int_equal(jpki_registry_card(w, "0000000001", &card), 0);
	assert_int_equal(card.state, JPKI_CARD_RETURNED);
	setenv("JPKI_NOW", "2026-11-21T01:00:00Z", 1);
	card_free(&old);
	card_free(&c);
	jpki_window_close(w);
}

/* Acceptance 11: a failure after each step, then the act run again. */
static void
test_fault_then_resume(void **state)
{
	static const char *const steps[] = {"begin", "keys", "certs", "written"};
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		jpki_window_t *w = new_window();
		jpki_resident_t r;
		jpki_issue_opts_t o = {.fee = -1};
		jpki_act_t act, pend;
		struct card c;

		resident(w, "1980-01-01", &r);
		blank_card(&c, JPKI_CARD_MYNUMBER);
		setenv("JPKI_FAULT_AFTER", steps[i], 1);
		assert_int_equal(jpki_window_issue(w, r.id, c.rd, G.issuer, &o, &pins, &pid, &act),
		                 JPKI_ERR_IO);
		unsetenv("JPKI_FAULT_AFTER");
		assert_int_equal(jpki_window_pending(w, r.id, &pend), 0);
		assert_string_equal(pend.step, steps[i]);
		/* Another act for the resident waits for this one. */
		assert_int_equal(jpki_window_issue(w, r.id, c.rd, G.issuer, &o, &pins, &pid, &act),
		                 JPKI_ERR_STATE);
		assert_int_equal(jpki_window_resume(w, pend.ref, c.rd, G.issuer, &pins, &act), 0);
		assert_int_equal(act.state, JPKI_ACT_DONE);
		assert_int_equal(status_of(w, JPKI_CA_SIGN, act.sign_new, NULL), JPKI_STATUS_GOOD);
		assert_int_equal(status_of(w, JPKI_CA_AUTH, act.auth_new, NULL), JPKI_STATUS_GOOD);
		card_has(&c, JPKI_EF_AUTH_CERT, act.auth_new, NULL);
		card_has(&c, JPKI_EF_SIGN_CERT, act.sign_new, "ABC123");
		assert_int_equal(jpki_window_pending(w, r.id, &pend), JPKI_ERR_NOT_FOUND);
		card_free(&c);
		jpki_window_close(w);
	}
}

/* ... or cleanly undone: what it issued is revoked, the card record void. */
static void
test_fault_then_undo(void **state)
{
	static const char *const steps[] = {"begin", "keys", "certs", "written"};
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		jpki_window_t *w = new_window();
		jpki_resident_t r, got;
		jpki_issue_opts_t o = {.fee = -1};
		jpki_act_t act, pend, undone;
		jpki_card_rec_t card;
		struct card c;
		int reason;

		resident(w, "1980-01-01", &r);
		blank_card(&c, JPKI_CARD_MYNUMBER);
		setenv("JPKI_FAULT_AFTER", steps[i], 1);
		assert_int_equal(jpki_window_issue(w, r.id, c.rd, G.issuer, &o, &pins, &pid, &act),
		                 JPKI_ERR_IO);
		unsetenv("JPKI_FAULT_AFTER");
		assert_int_equal(jpki_window_pending(w, r.id, &pend), 0);
		assert_int_equal(jpki_window_undo(w, pend.ref, &undone), 0);
		assert_int_equal(undone.state, JPKI_ACT_UNDONE);
		if (undone.sign_new[0]) {
			assert_int_equal(status_of(w, JPKI_CA_SIGN, undone.sign_new, &reason),
			                 JPKI_STATUS_REVOKED);
			assert_int_equal(status_of(w, JPKI_CA_AUTH, undone.auth_new, &reason),
			                 JPKI_STATUS_REVOKED);
		}
		assert_int_equal(jpki_registry_card(w, pend.card, &card), 0);
		assert_int_equal(card.state, JPKI_CARD_VOID);
		assert_int_equal(jpki_registry_get(w, r.id, &got), 0);
		assert_string_equal(got.card, "");
		assert_int_equal(jpki_window_undo(w, pend.ref, &undone), JPKI_ERR_STATE);
		/* The same blank card can be issued again from scratch. */
		assert_int_equal(jpki_window_issue(w, r.id, c.rd, G.issuer, &o, &pins, &pid, &act), 0);
		card_free(&c);
		jpki_window_close(w);
	}
}

/* A resume that finds other keys on the card than the journal's: the
 * certificates issued for the journal's keys are revoked and new ones issued. */
static void
test_resume_after_keys_changed(void **state)
{
	jpki_window_t *w = new_window();
	jpki_resident_t r;
	jpki_issue_opts_t o = {.fee = -1};
	jpki_act_t act, pend;
	struct card c;
	EVP_PKEY *pk = NULL;
	char first[64];

	resident(w, "1980-01-01", &r);
	blank_card(&c, JPKI_CARD_MYNUMBER);
	setenv("JPKI_FAULT_AFTER", "certs", 1);
	assert_int_equal(jpki_window_issue(w, r.id, c.rd, G.issuer, &o, &pins, &pid, &act),
	                 JPKI_ERR_IO);
	unsetenv("JPKI_FAULT_AFTER");
	snprintf(first, sizeof(first), "%s", act.sign_new);
	assert_true(first[0] != '\0');
	/* Something regenerated the signing key meanwhile. */
	assert_int_equal(jpki_token_issuer_auth(c.rd, G.issuer), 0);
	assert_int_equal(jpki_token_generate_key(c.rd, JPKI_PIN_SIGN, &pk), 0);
	EVP_PKEY_free(pk);
	assert_int_equal(jpki_window_pending(w, r.id, &pend), 0);
	assert_int_equal(jpki_window_resume(w, pend.ref, c.rd, G.issuer, &pins, &act), 0);
	assert_string_not_equal(act.sign_new, first);
	assert_int_equal(status_of(w, JPKI_CA_SIGN, first, NULL), JPKI_STATUS_REVOKED);
	card_has(&c, JPKI_EF_SIGN_CERT, act.sign_new, "ABC123");
	card_free(&c);
	jpki_window_close(w);
}

/* The card in the reader must be the resident's. */
static void
test_wrong_card_refused(void **state)
{
	jpki_window_t *w = new_window();
	jpki_resident_t a, b;
	jpki_issue_opts_t o = {.fee = -1};
	jpki_act_t act;
	struct card ca, cb;

	resident(w, "1970-01-01", &a);
	resident(w, "1971-01-01", &b);
	blank_card(&ca, JPKI_CARD_MYNUMBER);
	blank_card(&cb, JPKI_CARD_MYNUMBER);
	assert_int_equal(jpki_window_issue(w, a.id, ca.rd, G.issuer, &o, &pins, &pid, &act), 0);
	assert_int_equal(jpki_window_issue(w, b.id, cb.rd, G.issuer, &o, &pins, &pid, &act), 0);
	assert_int_equal(jpki_window_pin_init(w, a.id, JPKI_PIN_AUTH, "4321", cb.rd, G.issuer, &pid,
	                                      &act), JPKI_ERR_STATE);
	assert_non_null(strstr(jpki_detail(), "not card"));
	card_free(&ca);
	card_free(&cb);
	jpki_window_close(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_life),
		cmocka_unit_test(test_minors),
		cmocka_unit_test(test_2004_card),
		cmocka_unit_test(test_fault_then_resume),
		cmocka_unit_test(test_fault_then_undo),
		cmocka_unit_test(test_resume_after_keys_changed),
		cmocka_unit_test(test_wrong_card_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
