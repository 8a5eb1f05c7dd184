/*
 * jpki-office: what a municipal window runs.  The resident registry and every
 * window act of L2-L11, by a named and authenticated operator, with photo ID,
 * each handing out a notice.  The library does the work (jpki/registry.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "jpki/audit.h"
#include "jpki/cli.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/prompt.h"
#include "jpki/reader.h"
#include "jpki/registry.h"
#include "jpki/token.h"
#include "jpki/x509.h"

static const char *prog = "jpki-office";

static int ja;

/* The message in the user's language (both forms take the same arguments;
 * format_arg lets the compiler check them against the English one). */
static const char *M(const char *en, const char *jp) __attribute__((format_arg(1)));
static const char *
M(const char *en, const char *jp)
{
	return ja ? jp : en;
}

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: jpki-office [-d DIR | --server URL] COMMAND [ARGS] [OPTIONS]\n"
"The municipal window: the resident registry and the certificate acts (L2-L11).\n"
"\n"
"Registry:\n"
"  register --name N --kana K --dob YYYY-MM-DD --sex 1|2|9 --address A\n"
"           [--alias A] [--foreign]          a new resident; prints the number\n"
"  change RESIDENT --fact name|kana|dob|sex|address|alias --value V [--date D]\n"
"           a change of facts; the signature certificate is revoked at once (L6)\n"
"  show RESIDENT                              facts, cards, certificates\n"
"  list                                       every resident\n"
"Card and certificates (the card in --reader NAME, or --card-file FILE):\n"
"  issue RESIDENT [--no-sign] [--no-auth] [--under15-reason R] [--card-expiry D]\n"
"           [--reissue-after-loss] [--fee YEN]   a new card, keys made on it (L2, L3)\n"
"  reissue RESIDENT sign|auth                 a new certificate on the card (L6, L8)\n"
"  renew RESIDENT sign|auth                   renewal, from 3 months before expiry (L5)\n"
"  revoke RESIDENT --reason lost|stolen|broken|misused|voluntary [--kind sign|auth] (L7)\n"
"  suspend (RESIDENT | --card NO)             the suspension line: both on hold (L8)\n"
"  release RESIDENT                           lift the hold: auth released, sign revoked (L8)\n"
"  pin-init RESIDENT sign|auth [--unlock]     new password, or unlock keeping it (L9)\n"
"  return RESIDENT [--card NO]                a card handed back (a 2004-era card, L1)\n"
"  copy RESIDENT sign|auth [--html FILE] [--pem FILE]  the printed copy of a\n"
"           certificate (L11); --pem also writes the certificate itself\n"
"  notice REF [--html FILE]                   a notice again\n"
"  pending RESIDENT | resume REF | undo REF   an act a failure interrupted\n"
"Operators:\n"
"  operator-add NAME                          a window operator and credential\n"
"\n"
"Options:\n"
"  -d, --dir DIR          the CA directory holding the store (default $JPKI_CA_DIR or ./jpki-ca)\n"
"  --server URL           work against jpkid's office API at URL (or $JPKI_SERVER)\n"
"                         instead of a CA directory; card acts need no --issuer-key\n"
"  --operator NAME        the operator (default $JPKI_OPERATOR); the credential is\n"
"                         asked on the terminal, or read from $JPKI_OPERATOR_SECRET or\n"
"                         --operator-secret-file FILE\n"
"  --id-kind K --id-number N   photo ID shown (passport, driving-licence,\n"
"                         mynumber-card, residence-card, other); only the last 4\n"
"                         characters are kept\n"
"  --reader NAME | --card-file FILE   the card; --issuer-key FILE (or $JPKI_ISSUER_KEY)\n"
"                         on a local store\n"
"  --pin-stdin            read passwords from standard input, one per line\n"
"                         (signing password first, then the auth PIN)\n"
"  --notice-dir DIR       where printable notices go (default DIR/notices; with\n"
"                         --server, ./notices)\n"
"  --yes                  do not ask for confirmation;  --json  machine-readable output\n"
"  -h, --help;  -V, --version\n"
"\n"
"Exit status: 0 success, 2 usage error, 10+N for library error N (see jpki-office(1)).\n");
}

enum {
	O_OPERATOR = 256, O_SECRET_FILE, O_ID_KIND, O_ID_NUMBER, O_READER, O_CARD_FILE,
	O_ISSUER_KEY, O_PIN_STDIN, O_NOTICE_DIR, O_YES, O_JSON, O_NAME, O_KANA, O_DOB, O_SEX,
	O_ADDRESS, O_ALIAS, O_FOREIGN, O_FACT, O_VALUE, O_DATE, O_NO_SIGN, O_NO_AUTH,
	O_UNDER15, O_CARD_EXPIRY, O_AFTER_LOSS, O_FEE, O_REASON, O_KIND, O_CARD, O_UNLOCK,
	O_HTML, O_PEM, O_SERVER
};

static const struct option longopts[] = {
	{"dir", required_argument, NULL, 'd'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"operator", required_argument, NULL, O_OPERATOR},
	{"operator-secret-file", required_argument, NULL, O_SECRET_FILE},
	{"id-kind", required_argument, NULL, O_ID_KIND},
	{"id-number", required_argument, NULL, O_ID_NUMBER},
	{"reader", required_argument, NULL, O_READER},
	{"card-file", required_argument, NULL, O_CARD_FILE},
	{"issuer-key", required_argument, NULL, O_ISSUER_KEY},
	{"pin-stdin", no_argument, NULL, O_PIN_STDIN},
	{"notice-dir", required_argument, NULL, O_NOTICE_DIR},
	{"yes", no_argument, NULL, O_YES},
	{"json", no_argument, NULL, O_JSON},
	{"name", required_argument, NULL, O_NAME},
	{"kana", required_argument, NULL, O_KANA},
	{"dob", required_argument, NULL, O_DOB},
	{"sex", required_argument, NULL, O_SEX},
	{"address", required_argument, NULL, O_ADDRESS},
	{"alias", required_argument, NULL, O_ALIAS},
	{"foreign", no_argument, NULL, O_FOREIGN},
	{"fact", required_argument, NULL, O_FACT},
	{"value", required_argument, NULL, O_VALUE},
	{"date", required_argument, NULL, O_DATE},
	{"no-sign", no_argument, NULL, O_NO_SIGN},
	{"no-auth", no_argument, NULL, O_NO_AUTH},
	{"under15-reason", required_argument, NULL, O_UNDER15},
	{"card-expiry", required_argument, NULL, O_CARD_EXPIRY},
	{"reissue-after-loss", no_argument, NULL, O_AFTER_LOSS},
	{"fee", required_argument, NULL, O_FEE},
	{"reason", required_argument, NULL, O_REASON},
	{"kind", required_argument, NULL, O_KIND},
	{"card", required_argument, NULL, O_CARD},
	{"unlock", no_argument, NULL, O_UNLOCK},
	{"html", required_argument, NULL, O_HTML},
	{"pem", required_argument, NULL, O_PEM},
	{"server", required_argument, NULL, O_SERVER},
	{NULL, 0, NULL, 0},
};

struct args {
	const char *dir, *operator_name, *secret_file, *id_kind, *id_number, *reader, *card_file;
	const char *issuer_key, *notice_dir, *name, *kana, *dob, *sex, *address, *alias, *fact;
	const char *value, *date, *under15, *card_expiry, *fee, *reason, *kind, *card, *html, *pem;
	const char *server;         /* remote mode: jpkid's URL; the server holds the issuer key */
	int pin_stdin, yes, json, foreign, no_sign, no_auth, after_loss, unlock;
	const char *cmd, *pos1, *pos2;
};

/* What an act needs besides the window: the card and the issuer key. */
struct card_io {
	jpki_card_t *card;
	jpki_reader_t *rd;
	EVP_PKEY *issuer;
};

static void
card_io_close(struct card_io *c)
{
	jpki_reader_close(c->rd);
	jpki_card_free(c->card);
	EVP_PKEY_free(c->issuer);
	memset(c, 0, sizeof(*c));
}

static int
card_io_open(const struct args *a, struct card_io *c)
{
	const char *key = a->issuer_key ? a->issuer_key : getenv("JPKI_ISSUER_KEY");
	int r;

	memset(c, 0, sizeof(*c));
	if (a->server != NULL)
		key = NULL; /* the server signs as the card issuer */
	else if (key == NULL) {
		jpki_set_detail("the issuer key is needed to write to a card: --issuer-key FILE");
		return JPKI_ERR_INVALID_ARG;
	}
	if (key != NULL && (r = jpki_x509_load_privkey(key, &c->issuer)) != 0)
		return r;
	if (a->card_file != NULL) {
		if ((r = jpki_card_load(a->card_file, &c->card)) != 0 ||
		    (r = jpki_reader_open_inproc(c->card, &c->rd)) != 0)
			goto fail;
		return 0;
	}
	if ((r = jpki_reader_open_pcsc(a->reader, &c->rd)) != 0) {
		if (r == JPKI_ERR_NO_CARD)
			jpki_set_detail("put the card in the reader%s%s", a->reader ? " " : "",
			                a->reader ? a->reader : "");
		goto fail;
	}
	return 0;
fail:
	card_io_close(c);
	return r;
}

/* Log the operator in: name from --operator or $JPKI_OPERATOR, the credential
 * from a file, $JPKI_OPERATOR_SECRET, or the terminal. */
static int
login(const struct args *a, jpki_window_t *w)
{
	const char *name = a->operator_name ? a->operator_name : getenv("JPKI_OPERATOR");
	const char *env = getenv("JPKI_OPERATOR_SECRET");
	char secret[JPKI_SECRET_MAX + 1];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (name == NULL) {
		jpki_set_detail("name the operator: --operator NAME (or $JPKI_OPERATOR)");
		(void)jpki_window_note(w, "login", "window", "refused", "no operator named");
		return JPKI_ERR_AUTH;
	}
	if (a->secret_file != NULL) {
		if ((r = jpki_file_read(a->secret_file, JPKI_SECRET_MAX, &buf, &len)) != 0)
			return r;
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			len--;
		memcpy(secret, buf, len);
		secret[len] = '\0';
		OPENSSL_cleanse(buf, len);
		free(buf);
	} else if (env != NULL) {
		snprintf(secret, sizeof(secret), "%s", env);
	} else if ((r = jpki_prompt_secret(M("Operator credential: ", "職員の認証情報: "), 0, secret,
	                                   sizeof(secret))) != 0) {
		return r;
	}
	r = jpki_window_login(w, name, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	return r;
}

static int
photo_id(const struct args *a, jpki_photo_id_t *pid)
{
	static const char *const kinds[] = {"passport", "driving-licence", "mynumber-card",
	                                    "residence-card", "other", NULL};
	int i;

	if (a->id_kind == NULL || a->id_number == NULL)
		return jpki_cli_usage_error(prog, "%s", M("photo ID is required (L10): --id-kind K "
		                                          "--id-number N",
		                                          "本人確認書類が必要です (L10): --id-kind K "
		                                          "--id-number N"));
	for (i = 0; kinds[i] != NULL; i++)
		if (strcmp(kinds[i], a->id_kind) == 0)
			break;
	if (kinds[i] == NULL)
		return jpki_cli_usage_error(prog, "--id-kind: '%s' is not passport, driving-licence, "
		                            "mynumber-card, residence-card or other", a->id_kind);
	pid->kind = a->id_kind;
	pid->number = a->id_number;
	return 0;
}

static int
confirm(const struct args *a, const char *question)
{
	int r;

	if (a->yes)
		return 0;
	r = jpki_prompt_yes(question);
	if (r < 0)
		return jpki_cli_fail(prog, r);
	if (r == 0) {
		fprintf(stderr, "%s: %s\n", prog, M("not confirmed; nothing was done",
		                                     "確認されませんでした。何も行っていません"));
		return 1;
	}
	return 0;
}

static void
json_field(const char *key, const char *val, int last)
{
	char esc[2048];

	jpki_cli_json_str(val ? val : "", esc, sizeof(esc));
	printf("  \"%s\": %s%s\n", key, esc, last ? "" : ",");
}

/* Hand out the act: the notice on stdout (or JSON), and the printable page
 * in the notice directory. */
static int
hand_out(const struct args *a, jpki_window_t *w, const jpki_act_t *act)
{
	jpki_resident_t res;
	char dir[4096], path[4200], *text = NULL, *html = NULL;
	int r, have_res;

	have_res = act->resident[0] && jpki_registry_get(w, act->resident, &res) == 0;
	if ((r = jpki_notice_render(act, have_res ? &res : NULL, "OpenJPKI", 0, ja, &text)) != 0 ||
	    (r = jpki_notice_render(act, have_res ? &res : NULL, "OpenJPKI", 1, ja, &html)) != 0)
		goto out;
	if (a->notice_dir != NULL)
		snprintf(dir, sizeof(dir), "%s", a->notice_dir);
	else if (a->server != NULL)
		snprintf(dir, sizeof(dir), "notices");
	else
		snprintf(dir, sizeof(dir), "%s/notices", a->dir);
	snprintf(path, sizeof(path), "%s/%s.html", dir, act->ref);
	/* Notices name residents: kept like the rest of the registry, 0600. */
	if ((r = jpki_file_mkdirs(dir, 0700)) != 0 ||
	    (r = jpki_file_write_atomic(path, html, strlen(html), 0600)) != 0)
		goto out;
	if (a->json) {
		char fee[16];
		printf("{\n");
		json_field("ref", act->ref, 0);
		json_field("act", jpki_act_kind_name(act->kind), 0);
		json_field("state", act->state == JPKI_ACT_DONE ? "done"
		                    : act->state == JPKI_ACT_UNDONE ? "undone" : "pending", 0);
		json_field("resident", act->resident, 0);
		json_field("card", act->card, 0);
		json_field("operator", act->operator_name, 0);
		snprintf(fee, sizeof(fee), "%d", act->fee);
		json_field("fee", fee, 0);
		json_field("sign_new", act->sign_new, 0);
		json_field("auth_new", act->auth_new, 0);
		json_field("sign_old", act->sign_old, 0);
		json_field("auth_old", act->auth_old, 0);
		json_field("detail", act->detail, 0);
		json_field("notice", path, 1);
		printf("}\n");
	} else {
		fputs(text, stdout);
		printf("%s %s\n", M("Printable notice:", "印刷用の通知書:"), path);
	}
	r = 0;
out:
	free(text);
	free(html);
	return r;
}

/* After a failed card act: say how to go on. */
static int
act_fail(jpki_window_t *w, const jpki_act_t *act, int r)
{
	int rc = jpki_cli_fail(prog, r);
	jpki_act_t pend;

	if (act->ref[0] && act->resident[0] &&
	    jpki_window_pending(w, act->resident, &pend) == 0 && strcmp(pend.ref, act->ref) == 0)
		fprintf(stderr, M("%s: act %s stopped after step '%s': run `jpki-office resume %s` "
		                  "with the card, or `jpki-office undo %s`\n",
		                  "%s: 手続 %s は '%s' の後で中断しました。カードを置いて "
		                  "`jpki-office resume %s`、または `jpki-office undo %s` を実行してください\n"),
		        prog, act->ref, pend.step, act->ref, act->ref);
	return rc;
}

static int
read_pins(const struct args *a, int want_sign, int want_auth, char *sign, char *auth)
{
	int r;

	if (want_sign &&
	    (r = jpki_prompt_new_secret(M("New signing password (6-16 A-Z 0-9): ",
	                                  "新しい署名用パスワード (英数字6〜16文字): "),
	                                M("Again: ", "もう一度: "), a->pin_stdin, sign,
	                                JPKI_SECRET_MAX + 1)) != 0)
		return r;
	if (want_auth &&
	    (r = jpki_prompt_new_secret(M("New authentication PIN (4 digits): ",
	                                  "新しい利用者証明用暗証番号 (数字4桁): "),
	                                M("Again: ", "もう一度: "), a->pin_stdin, auth,
	                                JPKI_SECRET_MAX + 1)) != 0)
		return r;
	return 0;
}

static int
parse_kind(const char *s, jpki_ca_kind_t *k)
{
	if (s == NULL)
		return jpki_cli_usage_error(prog, "say which certificate: sign or auth");
	if (jpki_ca_kind_parse(s, k) != 0)
		return jpki_cli_usage_error(prog, "'%s' is not sign or auth", s);
	return 0;
}

/* ---- commands ---- */

static int
cmd_register(const struct args *a, jpki_window_t *w)
{
	jpki_resident_t *res = calloc(1, sizeof(*res));
	jpki_photo_id_t pid;
	int r, rc = 1;

	if (res == NULL)
		return jpki_cli_fail(prog, JPKI_ERR_NOMEM);
	if (a->name == NULL || a->kana == NULL || a->dob == NULL || a->sex == NULL ||
	    a->address == NULL) {
		rc = jpki_cli_usage_error(prog, "register needs --name, --kana, --dob, --sex and "
		                          "--address");
		goto out;
	}
	if ((rc = photo_id(a, &pid)) != 0)
		goto out;
	snprintf(res->name, sizeof(res->name), "%s", a->name);
	snprintf(res->kana, sizeof(res->kana), "%s", a->kana);
	snprintf(res->address, sizeof(res->address), "%s", a->address);
	snprintf(res->alias, sizeof(res->alias), "%s", a->alias ? a->alias : "");
	res->foreign = a->foreign || a->alias != NULL;
	if (jpki_date_parse(a->dob, &res->dob) != 0) {
		rc = jpki_cli_usage_error(prog, "--dob: '%s' is not a date (YYYY-MM-DD)", a->dob);
		goto out;
	}
	if (jpki_sex_parse(a->sex, &res->sex) != 0) {
		rc = jpki_cli_usage_error(prog, "--sex: '%s' is not 1 (male), 2 (female) or 9", a->sex);
		goto out;
	}
	if ((r = jpki_registry_add(w, res, &pid)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	if (a->json)
		printf("{\"resident\": \"%s\"}\n", res->id);
	else
		printf("%s %s\n", M("Registered resident", "住民を登録しました:"), res->id);
	rc = 0;
out:
	free(res);
	return rc;
}

static int
cmd_change(const struct args *a, jpki_window_t *w)
{
	jpki_fact_t f;
	jpki_date_t eff;
	jpki_act_t act;
	char ref[JPKI_ID_LEN];
	int r, revoked = 0;

	if (a->pos1 == NULL || a->fact == NULL || a->value == NULL)
		return jpki_cli_usage_error(prog, "change RESIDENT --fact F --value V [--date D]");
	if (jpki_fact_parse(a->fact, &f) != 0)
		return jpki_cli_fail(prog, JPKI_ERR_INVALID_ARG);
	if (a->date != NULL) {
		if (jpki_date_parse(a->date, &eff) != 0)
			return jpki_cli_usage_error(prog, "--date: '%s' is not a date", a->date);
	} else {
		jpki_date_today_jst(&eff);
	}
	if ((r = jpki_registry_change(w, a->pos1, f, a->value, &eff, &revoked, ref)) != 0)
		return jpki_cli_fail(prog, r);
	if ((r = jpki_act_get(w, ref, &act)) != 0 || (r = hand_out(a, w, &act)) != 0)
		return jpki_cli_fail(prog, r);
	return 0;
}

struct show_ctx {
	jpki_window_t *w;
	int json, n;
};

static void
print_cert(jpki_window_t *w, jpki_ca_kind_t k, const uint8_t *s, size_t n, int json, int last)
{
	jpki_cert_rec_t rec;
	char hex[2 * JPKI_SERIAL_MAX + 1], t[96];
	const char *st;

	memset(&rec, 0, sizeof(rec));
	if (n == 0 || jpki_window_cert_get(w, k, s, n, &rec) != 0) {
		if (json)
			printf("      \"%s\": null%s\n", jpki_ca_kind_name(k), last ? "" : ",");
		else
			printf("    %-5s %s\n", jpki_ca_kind_name(k), M("(none)", "(なし)"));
		jpki_cert_rec_clear(&rec);
		return;
	}
	jpki_serial_hex(s, n, hex, sizeof(hex));
	st = rec.status == JPKI_STATUS_GOOD ? "good" : rec.status == JPKI_STATUS_HOLD ? "hold"
	                                                                            : "revoked";
	jpki_cli_format_time((time_t)rec.not_after, t, sizeof(t));
	if (json) {
		printf("      \"%s\": {\"serial\": \"%s\", \"status\": \"%s\", \"reason\": \"%s\", "
		       "\"not_after\": %lld}%s\n", jpki_ca_kind_name(k), hex, st,
		       rec.status == JPKI_STATUS_GOOD ? "" : jpki_reason_name(rec.reason),
		       (long long)rec.not_after, last ? "" : ",");
	} else {
		printf("    %-5s %s  %s%s%s%s  %s %s\n", jpki_ca_kind_name(k), hex, st,
		       rec.status == JPKI_STATUS_REVOKED ? " (" : "",
		       rec.status == JPKI_STATUS_REVOKED ? jpki_reason_name(rec.reason) : "",
		       rec.status == JPKI_STATUS_REVOKED ? ")" : "", M("until", "満了"), t);
	}
	jpki_cert_rec_clear(&rec);
}

static const char *
card_state_name(jpki_card_state_t s)
{
	static const char *const en[] = {"issuing", "active", "suspended", "returned", "void"};
	static const char *const jp[] = {"発行中", "利用中", "一時保留", "返納", "廃止"};

	return (unsigned)s < 5 ? (ja ? jp[s] : en[s]) : "?";
}

static int
show_card(void *ctx, const jpki_card_rec_t *c)
{
	struct show_ctx *s = ctx;
	char exp[64];

	jpki_era_format_both(&c->expiry, exp, sizeof(exp));
	if (s->json) {
		printf("%s    {\"number\": \"%s\", \"kind\": \"%s\", \"state\": \"%s\", "
		       "\"expiry\": \"%04d-%02d-%02d\",\n", s->n++ ? ",\n" : "", c->number,
		       c->kind == JPKI_CARD_2004 ? "2004" : "mynumber",
		       (const char *[]){"issuing", "active", "suspended", "returned", "void"}[c->state],
		       c->expiry.year, c->expiry.month, c->expiry.day);
		print_cert(s->w, JPKI_CA_SIGN, c->sign_serial, c->sign_serial_len, 1, 0);
		print_cert(s->w, JPKI_CA_AUTH, c->auth_serial, c->auth_serial_len, 1, 1);
		printf("    }");
		return 0;
	}
	printf("  %s %s  %s  %s %s\n", M("card", "カード"), c->number,
	       c->kind == JPKI_CARD_2004 ? M("Basic Resident Registration card (2004)",
	                                     "住民基本台帳カード (2004年)")
	                                 : M("Individual Number Card", "個人番号カード"),
	       card_state_name(c->state), c->expiry.year ? exp : "");
	print_cert(s->w, JPKI_CA_SIGN, c->sign_serial, c->sign_serial_len, 0, 0);
	print_cert(s->w, JPKI_CA_AUTH, c->auth_serial, c->auth_serial_len, 0, 1);
	return 0;
}

static int
cmd_show(const struct args *a, jpki_window_t *w)
{
	jpki_resident_t *res = calloc(1, sizeof(*res));
	struct show_ctx s = {w, a->json, 0};
	char dob[64], e1[1800], e2[1800];
	int r, rc = 1;

	if (res == NULL)
		return jpki_cli_fail(prog, JPKI_ERR_NOMEM);
	if (a->pos1 == NULL) {
		rc = jpki_cli_usage_error(prog, "show RESIDENT");
		goto out;
	}
	if ((r = jpki_registry_get(w, a->pos1, res)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	jpki_era_format_both(&res->dob, dob, sizeof(dob));
	if (a->json) {
		jpki_cli_json_str(res->name, e1, sizeof(e1));
		jpki_cli_json_str(res->address, e2, sizeof(e2));
		printf("{\n  \"resident\": \"%s\", \"name\": %s, \"dob\": \"%04d-%02d-%02d\", "
		       "\"sex\": %d, \"address\": %s, \"card\": \"%s\",\n  \"cards\": [\n", res->id, e1,
		       res->dob.year, res->dob.month, res->dob.day, res->sex, e2, res->card);
	} else {
		printf("%s %s\n  %s %s (%s)\n  %s %s\n  %s %s\n  %s %s\n", M("Resident", "住民"),
		       res->id, M("name", "氏名"), res->name, res->kana, M("born", "生年月日"), dob,
		       M("sex", "性別"), res->sex == 1 ? M("male", "男") : res->sex == 2
		       ? M("female", "女") : M("not applicable", "適用なし"), M("address", "住所"),
		       res->address);
		if (res->alias[0])
			printf("  %s %s\n", M("alias", "通称"), res->alias);
	}
	if ((r = jpki_registry_cards(w, res->id, show_card, &s)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	if (a->json)
		printf("\n  ]\n}\n");
	rc = 0;
out:
	free(res);
	return rc;
}

static int
list_one(void *ctx, const jpki_resident_t *r)
{
	int *json = ctx;
	char e[1800];

	if (*json) {
		jpki_cli_json_str(r->name, e, sizeof(e));
		printf("{\"resident\": \"%s\", \"name\": %s, \"card\": \"%s\"}\n", r->id, e, r->card);
	} else {
		printf("%s  %04d-%02d-%02d  %-10s  %s\n", r->id, r->dob.year, r->dob.month, r->dob.day,
		       r->card[0] ? r->card : "-", r->name);
	}
	return 0;
}

static int
cmd_list(const struct args *a, jpki_window_t *w)
{
	int json = a->json, r;

	if ((r = jpki_registry_foreach(w, list_one, &json)) != 0)
		return jpki_cli_fail(prog, r);
	return 0;
}

static int
cmd_issue(const struct args *a, jpki_window_t *w, int reissue, int renewal)
{
	jpki_photo_id_t pid;
	jpki_issue_opts_t o;
	jpki_act_t act;
	jpki_date_t exp;
	jpki_ca_kind_t k = JPKI_CA_SIGN;
	struct card_io c;
	char sign[JPKI_SECRET_MAX + 1] = "", auth[JPKI_SECRET_MAX + 1] = "";
	jpki_pins_t pins = {NULL, NULL};
	char label[JPKI_TOKEN_LABEL_MAX];
	jpki_card_kind_t ckind = JPKI_CARD_MYNUMBER;
	char *end;
	int r, rc;

	memset(&c, 0, sizeof(c));
	memset(&act, 0, sizeof(act));
	memset(&o, 0, sizeof(o));
	o.fee = -1;
	if (a->pos1 == NULL)
		return jpki_cli_usage_error(prog, "%s RESIDENT%s", a->cmd, reissue ? " sign|auth" : "");
	if (reissue && (rc = parse_kind(a->pos2, &k)) != 0)
		return rc;
	if ((rc = photo_id(a, &pid)) != 0)
		return rc;
	o.no_sign = a->no_sign;
	o.no_auth = a->no_auth;
	o.under15_reason = a->under15;
	o.reissue_after_loss = a->after_loss;
	if (a->card_expiry != NULL) {
		if (jpki_date_parse(a->card_expiry, &exp) != 0)
			return jpki_cli_usage_error(prog, "--card-expiry: '%s' is not a date",
			                            a->card_expiry);
		o.card_expiry = &exp;
	}
	if (a->fee != NULL) {
		long v = strtol(a->fee, &end, 10);
		if (*end != '\0' || v < 0 || v > 100000)
			return jpki_cli_usage_error(prog, "--fee: '%s' is not a number of yen", a->fee);
		o.fee = (int)v;
	}
	if ((r = card_io_open(a, &c)) != 0)
		return jpki_cli_fail(prog, r);
	/* A 2004-era card holds no authentication certificate (L1): no PIN asked. */
	if (!reissue && ((r = jpki_token_select_ap(c.rd)) != 0 ||
	                 (r = jpki_token_label(c.rd, label, &ckind)) != 0)) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	/* L9: the passwords are chosen at the window. */
	if ((r = read_pins(a, reissue ? k == JPKI_CA_SIGN : !a->no_sign,
	                   reissue ? k == JPKI_CA_AUTH : !a->no_auth && ckind != JPKI_CARD_2004,
	                   sign, auth)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	pins.sign = sign[0] ? sign : NULL;
	pins.auth = auth[0] ? auth : NULL;
	if (reissue)
		r = jpki_window_reissue(w, a->pos1, k, renewal, c.rd, c.issuer, &pins, &pid, &act);
	else
		r = jpki_window_issue(w, a->pos1, c.rd, c.issuer, &o, &pins, &pid, &act);
	if (r != 0) {
		rc = act_fail(w, &act, r);
		goto out;
	}
	rc = (r = hand_out(a, w, &act)) != 0 ? jpki_cli_fail(prog, r) : 0;
out:
	OPENSSL_cleanse(sign, sizeof(sign));
	OPENSSL_cleanse(auth, sizeof(auth));
	card_io_close(&c);
	return rc;
}

static int
cmd_revoke(const struct args *a, jpki_window_t *w)
{
	jpki_photo_id_t pid;
	jpki_window_reason_t why;
	jpki_ca_kind_t k;
	jpki_act_t act;
	char q[256];
	int r, rc, which = -1;

	if (a->pos1 == NULL || a->reason == NULL)
		return jpki_cli_usage_error(prog, "revoke RESIDENT --reason lost|stolen|broken|misused|"
		                            "voluntary [--kind sign|auth]");
	if (jpki_window_reason_parse(a->reason, &why) != 0)
		return jpki_cli_fail(prog, JPKI_ERR_INVALID_ARG);
	if (a->kind != NULL) {
		if ((rc = parse_kind(a->kind, &k)) != 0)
			return rc;
		which = (int)k;
	}
	if ((rc = photo_id(a, &pid)) != 0)
		return rc;
	snprintf(q, sizeof(q), M("Revoke %s certificate(s) of resident %s (%s)? This cannot be "
	                         "undone. [y/N] ",
	                         "住民 %2$s の電子証明書 (%1$s) を失効させます (理由: %3$s)。取り消せません。"
	                         "よろしいですか [y/N] "),
	         which < 0 ? M("both", "両方") : a->kind, a->pos1, a->reason);
	if ((rc = confirm(a, q)) != 0)
		return rc;
	if ((r = jpki_window_revoke(w, a->pos1, which, why, &pid, &act)) != 0 ||
	    (r = hand_out(a, w, &act)) != 0)
		return jpki_cli_fail(prog, r);
	return 0;
}

static int
cmd_suspend(const struct args *a, jpki_window_t *w)
{
	jpki_act_t act;
	char q[256];
	int r, rc;

	if (a->pos1 == NULL && a->card == NULL)
		return jpki_cli_usage_error(prog, "suspend RESIDENT, or suspend --card NUMBER");
	snprintf(q, sizeof(q), M("Put both certificates of %s on hold? [y/N] ",
	                         "%s の電子証明書を両方とも一時保留にします。よろしいですか [y/N] "),
	         a->card ? a->card : a->pos1);
	if ((rc = confirm(a, q)) != 0)
		return rc;
	if ((r = jpki_window_suspend(w, a->pos1, a->card, &act)) != 0 ||
	    (r = hand_out(a, w, &act)) != 0)
		return jpki_cli_fail(prog, r);
	return 0;
}

static int
cmd_release(const struct args *a, jpki_window_t *w)
{
	jpki_photo_id_t pid;
	jpki_act_t act;
	int r, rc;

	if (a->pos1 == NULL)
		return jpki_cli_usage_error(prog, "release RESIDENT");
	if ((rc = photo_id(a, &pid)) != 0)
		return rc;
	if ((r = jpki_window_release(w, a->pos1, &pid, &act)) != 0 ||
	    (r = hand_out(a, w, &act)) != 0)
		return jpki_cli_fail(prog, r);
	if (!a->json && act.sign_old[0])
		printf("%s\n", M("The signature certificate was revoked; issue a new one with "
		                 "`jpki-office reissue RESIDENT sign`.",
		                 "署名用電子証明書は失効しました。新しい証明書は "
		                 "`jpki-office reissue RESIDENT sign` で発行できます。"));
	return 0;
}

static int
cmd_pin_init(const struct args *a, jpki_window_t *w)
{
	jpki_photo_id_t pid;
	jpki_ca_kind_t k;
	jpki_act_t act;
	struct card_io c;
	char pin[JPKI_SECRET_MAX + 1] = "";
	int r, rc;

	if (a->pos1 == NULL)
		return jpki_cli_usage_error(prog, "pin-init RESIDENT sign|auth [--unlock]");
	if ((rc = parse_kind(a->pos2, &k)) != 0 || (rc = photo_id(a, &pid)) != 0)
		return rc;
	if ((r = card_io_open(a, &c)) != 0)
		return jpki_cli_fail(prog, r);
	if (!a->unlock &&
	    (r = read_pins(a, k == JPKI_CA_SIGN, k == JPKI_CA_AUTH, pin, pin)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	r = jpki_window_pin_init(w, a->pos1, k == JPKI_CA_SIGN ? JPKI_PIN_SIGN : JPKI_PIN_AUTH,
	                         a->unlock ? NULL : pin, c.rd, c.issuer, &pid, &act);
	if (r != 0 || (r = hand_out(a, w, &act)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	card_io_close(&c);
	return rc;
}

static int
cmd_return(const struct args *a, jpki_window_t *w)
{
	jpki_photo_id_t pid;
	jpki_act_t act;
	int r, rc;

	if (a->pos1 == NULL)
		return jpki_cli_usage_error(prog, "return RESIDENT [--card NUMBER]");
	if ((rc = photo_id(a, &pid)) != 0)
		return rc;
	if ((r = jpki_window_return_card(w, a->pos1, a->card, &pid, &act)) != 0 ||
	    (r = hand_out(a, w, &act)) != 0)
		return jpki_cli_fail(prog, r);
	return 0;
}

static int
cmd_copy(const struct args *a, jpki_window_t *w)
{
	jpki_resident_t *res = calloc(1, sizeof(*res));
	jpki_card_rec_t card;
	jpki_cert_rec_t rec;
	jpki_ca_kind_t k;
	const uint8_t *p;
	X509 *x = NULL;
	char *text = NULL;
	int r, rc = 1;

	memset(&rec, 0, sizeof(rec));
	if (res == NULL)
		return jpki_cli_fail(prog, JPKI_ERR_NOMEM);
	if (a->pos1 == NULL) {
		rc = jpki_cli_usage_error(prog, "copy RESIDENT sign|auth [--html FILE]");
		goto out;
	}
	if ((rc = parse_kind(a->pos2, &k)) != 0)
		goto out;
	if ((r = jpki_registry_get(w, a->pos1, res)) != 0)
		goto fail;
	if (res->card[0] == '\0') {
		jpki_set_detail("resident %s has no card", res->id);
		r = JPKI_ERR_NOT_FOUND;
		goto fail;
	}
	if ((r = jpki_registry_card(w, res->card, &card)) != 0)
		goto fail;
	if ((k == JPKI_CA_SIGN ? card.sign_serial_len : card.auth_serial_len) == 0) {
		jpki_set_detail("card %s holds no %s certificate", card.number, jpki_ca_kind_name(k));
		r = JPKI_ERR_NOT_FOUND;
		goto fail;
	}
	if ((r = jpki_window_cert_get(w, k, k == JPKI_CA_SIGN ? card.sign_serial : card.auth_serial,
	                              k == JPKI_CA_SIGN ? card.sign_serial_len : card.auth_serial_len,
	                              &rec)) != 0)
		goto fail;
	p = rec.der;
	if (p == NULL || (x = d2i_X509(NULL, &p, (long)rec.der_len)) == NULL) {
		r = JPKI_ERR_FORMAT;
		goto fail;
	}
	if ((r = jpki_cert_copy_render(x, 0, ja, &text)) != 0)
		goto fail;
	fputs(text, stdout);
	if (a->html != NULL) {
		free(text);
		text = NULL;
		if ((r = jpki_cert_copy_render(x, 1, ja, &text)) != 0 ||
		    (r = jpki_file_write_atomic(a->html, text, strlen(text), 0600)) != 0)
			goto fail;
	}
	if (a->pem != NULL) {
		BIO *b = BIO_new(BIO_s_mem());
		char *pem = NULL;
		long n = 0;
		if (b == NULL || PEM_write_bio_X509(b, x) != 1 || (n = BIO_get_mem_data(b, &pem)) <= 0)
			r = JPKI_ERR_CRYPTO;
		else
			r = jpki_file_write_atomic(a->pem, pem, (size_t)n, 0644);
		BIO_free(b);
		if (r != 0)
			goto fail;
	}
	{
		char note[128];
		snprintf(note, sizeof(note), "%s certificate of card %s", jpki_ca_kind_name(k),
		         card.number);
		(void)jpki_window_note(w, "copy", res->id, "ok", note);
	}
	rc = 0;
	goto out;
fail:
	rc = jpki_cli_fail(prog, r);
out:
	free(text);
	X509_free(x);
	jpki_cert_rec_clear(&rec);
	free(res);
	return rc;
}

static int
cmd_notice(const struct args *a, jpki_window_t *w)
{
	jpki_act_t act;
	jpki_resident_t res;
	char *out = NULL;
	int r, have;

	if (a->pos1 == NULL)
		return jpki_cli_usage_error(prog, "notice REF [--html FILE]");
	if ((r = jpki_act_get(w, a->pos1, &act)) != 0)
		return jpki_cli_fail(prog, r);
	have = act.resident[0] && jpki_registry_get(w, act.resident, &res) == 0;
	if ((r = jpki_notice_render(&act, have ? &res : NULL, "OpenJPKI", a->html != NULL, ja,
	                            &out)) != 0)
		return jpki_cli_fail(prog, r);
	if (a->html != NULL)
		r = jpki_file_write_atomic(a->html, out, strlen(out), 0600);
	else
		fputs(out, stdout);
	free(out);
	return r != 0 ? jpki_cli_fail(prog, r) : 0;
}

static int
cmd_pending(const struct args *a, jpki_window_t *w)
{
	jpki_act_t act;
	int r;

	if (a->pos1 == NULL)
		return jpki_cli_usage_error(prog, "pending RESIDENT");
	r = jpki_window_pending(w, a->pos1, &act);
	if (r == JPKI_ERR_NOT_FOUND) {
		if (!a->json)
			printf("%s\n", M("no act pending", "中断中の手続はありません"));
		else
			printf("{\"pending\": null}\n");
		return 0;
	}
	if (r != 0)
		return jpki_cli_fail(prog, r);
	if (a->json)
		printf("{\"pending\": \"%s\", \"act\": \"%s\", \"step\": \"%s\"}\n", act.ref,
		       jpki_act_kind_name(act.kind), act.step);
	else
		printf("%s %s (%s) %s '%s'\n", M("pending:", "中断中:"), act.ref,
		       jpki_act_kind_name(act.kind), M("after step", "完了済みの段階"), act.step);
	return 0;
}

static int
cmd_resume(const struct args *a, jpki_window_t *w, int undo)
{
	jpki_act_t act, pend;
	struct card_io c;
	char sign[JPKI_SECRET_MAX + 1] = "", auth[JPKI_SECRET_MAX + 1] = "";
	jpki_pins_t pins = {NULL, NULL};
	char q[200];
	int r, rc, need;

	memset(&c, 0, sizeof(c));
	if (a->pos1 == NULL)
		return jpki_cli_usage_error(prog, "%s REF", a->cmd);
	if (undo) {
		snprintf(q, sizeof(q), M("Undo act %s (certificates it issued are revoked)? [y/N] ",
		                         "手続 %s を取り消します (発行済みの証明書は失効します)。"
		                         "よろしいですか [y/N] "), a->pos1);
		if ((rc = confirm(a, q)) != 0)
			return rc;
		if ((r = jpki_window_undo(w, a->pos1, &act)) != 0 || (r = hand_out(a, w, &act)) != 0)
			return jpki_cli_fail(prog, r);
		return 0;
	}
	if ((r = jpki_act_get(w, a->pos1, &pend)) != 0)
		return jpki_cli_fail(prog, r);
	/* Passwords are set in the "written" step: asked again if it is still to come. */
	need = strcmp(pend.step, "written") != 0 &&
	       (pend.kind == JPKI_ACT_ISSUE || pend.kind == JPKI_ACT_RENEW);
	if (need) {
		if ((r = card_io_open(a, &c)) != 0)
			return jpki_cli_fail(prog, r);
		/* Which ones: what the act will issue. */
		if ((r = read_pins(a, strstr(pend.detail, "signature") != NULL,
		                   strstr(pend.detail, "authentication") != NULL, sign, auth)) != 0) {
			rc = jpki_cli_fail(prog, r);
			goto out;
		}
		pins.sign = sign[0] ? sign : NULL;
		pins.auth = auth[0] ? auth : NULL;
	}
	if ((r = jpki_window_resume(w, a->pos1, c.rd, c.issuer, &pins, &act)) != 0) {
		rc = act_fail(w, &act, r);
		goto out;
	}
	rc = (r = hand_out(a, w, &act)) != 0 ? jpki_cli_fail(prog, r) : 0;
out:
	OPENSSL_cleanse(sign, sizeof(sign));
	OPENSSL_cleanse(auth, sizeof(auth));
	card_io_close(&c);
	return rc;
}

static int
cmd_operator_add(const struct args *a, jpki_window_t *w)
{
	char secret[JPKI_SECRET_MAX + 1];
	int r;

	if (a->pos1 == NULL)
		return jpki_cli_usage_error(prog, "operator-add NAME");
	if ((r = jpki_prompt_new_secret(M("New operator's credential: ", "新しい職員の認証情報: "),
	                                M("Again: ", "もう一度: "), a->pin_stdin, secret,
	                                sizeof(secret))) != 0)
		return jpki_cli_fail(prog, r);
	r = jpki_window_operator_add(w, a->pos1, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (r != 0)
		return jpki_cli_fail(prog, r);
	if (!a->json)
		printf("%s %s\n", M("Operator added:", "職員を登録しました:"), a->pos1);
	return 0;
}

int
main(int argc, char **argv)
{
	struct args a;
	jpki_window_t *w = NULL;
	int c, r, rc = 1, first;

	memset(&a, 0, sizeof(a));
	ja = jpki_lang_ja();
	a.dir = getenv("JPKI_CA_DIR") ? getenv("JPKI_CA_DIR") : "./jpki-ca";
	a.server = getenv("JPKI_SERVER") && *getenv("JPKI_SERVER") ? getenv("JPKI_SERVER") : NULL;
	while ((c = getopt_long(argc, argv, "d:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': a.dir = optarg; break;
		case O_SERVER: a.server = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("jpki-office (OpenJPKI) 0.1.0\n"); return 0;
		case O_OPERATOR: a.operator_name = optarg; break;
		case O_SECRET_FILE: a.secret_file = optarg; break;
		case O_ID_KIND: a.id_kind = optarg; break;
		case O_ID_NUMBER: a.id_number = optarg; break;
		case O_READER: a.reader = optarg; break;
		case O_CARD_FILE: a.card_file = optarg; break;
		case O_ISSUER_KEY: a.issuer_key = optarg; break;
		case O_PIN_STDIN: a.pin_stdin = 1; break;
		case O_NOTICE_DIR: a.notice_dir = optarg; break;
		case O_YES: a.yes = 1; break;
		case O_JSON: a.json = 1; break;
		case O_NAME: a.name = optarg; break;
		case O_KANA: a.kana = optarg; break;
		case O_DOB: a.dob = optarg; break;
		case O_SEX: a.sex = optarg; break;
		case O_ADDRESS: a.address = optarg; break;
		case O_ALIAS: a.alias = optarg; break;
		case O_FOREIGN: a.foreign = 1; break;
		case O_FACT: a.fact = optarg; break;
		case O_VALUE: a.value = optarg; break;
		case O_DATE: a.date = optarg; break;
		case O_NO_SIGN: a.no_sign = 1; break;
		case O_NO_AUTH: a.no_auth = 1; break;
		case O_UNDER15: a.under15 = optarg; break;
		case O_CARD_EXPIRY: a.card_expiry = optarg; break;
		case O_AFTER_LOSS: a.after_loss = 1; break;
		case O_FEE: a.fee = optarg; break;
		case O_REASON: a.reason = optarg; break;
		case O_KIND: a.kind = optarg; break;
		case O_CARD: a.card = optarg; break;
		case O_UNLOCK: a.unlock = 1; break;
		case O_HTML: a.html = optarg; break;
		case O_PEM: a.pem = optarg; break;
		default: usage(stderr); return JPKI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return JPKI_EXIT_USAGE;
	}
	a.cmd = argv[optind];
	a.pos1 = optind + 1 < argc ? argv[optind + 1] : NULL;
	a.pos2 = optind + 2 < argc ? argv[optind + 2] : NULL;
	if (optind + 3 < argc)
		return jpki_cli_usage_error(prog, "unexpected argument '%s'", argv[optind + 3]);
	if (a.server != NULL)
		r = jpki_window_connect(a.server, prog, &w);
	else
		r = jpki_window_open(a.dir, prog, &w);
	if (r != 0)
		return jpki_cli_fail(prog, r);
	/* Adding the first operator needs no login; everything else does. */
	{
		const char *who = a.operator_name ? a.operator_name : getenv("JPKI_OPERATOR");
		/* (the library refuses it unless the store has no operator yet) */
		/* (a server has one already: its office API needs a logged-in operator) */
		first = a.server == NULL && strcmp(a.cmd, "operator-add") == 0 &&
		        (who == NULL || (a.pos1 != NULL && strcmp(who, a.pos1) == 0));
	}
	if (!first && (r = login(&a, w)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	if (strcmp(a.cmd, "register") == 0)
		rc = cmd_register(&a, w);
	else if (strcmp(a.cmd, "change") == 0)
		rc = cmd_change(&a, w);
	else if (strcmp(a.cmd, "show") == 0)
		rc = cmd_show(&a, w);
	else if (strcmp(a.cmd, "list") == 0)
		rc = cmd_list(&a, w);
	else if (strcmp(a.cmd, "issue") == 0)
		rc = cmd_issue(&a, w, 0, 0);
	else if (strcmp(a.cmd, "reissue") == 0)
		rc = cmd_issue(&a, w, 1, 0);
	else if (strcmp(a.cmd, "renew") == 0)
		rc = cmd_issue(&a, w, 1, 1);
	else if (strcmp(a.cmd, "revoke") == 0)
		rc = cmd_revoke(&a, w);
	else if (strcmp(a.cmd, "suspend") == 0)
		rc = cmd_suspend(&a, w);
	else if (strcmp(a.cmd, "release") == 0)
		rc = cmd_release(&a, w);
	else if (strcmp(a.cmd, "pin-init") == 0)
		rc = cmd_pin_init(&a, w);
	else if (strcmp(a.cmd, "return") == 0)
		rc = cmd_return(&a, w);
	else if (strcmp(a.cmd, "copy") == 0)
		rc = cmd_copy(&a, w);
	else if (strcmp(a.cmd, "notice") == 0)
		rc = cmd_notice(&a, w);
	else if (strcmp(a.cmd, "pending") == 0)
		rc = cmd_pending(&a, w);
	else if (strcmp(a.cmd, "resume") == 0)
		rc = cmd_resume(&a, w, 0);
	else if (strcmp(a.cmd, "undo") == 0)
		rc = cmd_resume(&a, w, 1);
	else if (strcmp(a.cmd, "operator-add") == 0)
		rc = cmd_operator_add(&a, w);
	else
		rc = jpki_cli_usage_error(prog, "unknown command '%s' (see --help)", a.cmd);
out:
	jpki_window_close(w);
	return rc;
}
