/*
 * jpki: the resident's client software (利用者クライアントソフト) on Linux.
 * Through the reader layer (PC/SC: a real card and the virtual card alike) it
 * shows the card and its certificates, checks the CA fingerprints (L12), shows
 * and changes the PINs (L9), asks whether a certificate is still good (L15),
 * signs files and verifies signatures (L13), logs in to a service (L14), and
 * warns when a certificate has less than three months left (L5).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/ca.h"
#include "jpki/card.h"
#include "jpki/cli.h"
#include "jpki/client.h"
#include "jpki/date.h"
#include "jpki/error.h"
#include "jpki/prompt.h"
#include "jpki/file.h"
#include "jpki/reader.h"
#include "jpki/token.h"
#include "jpki/verify.h"
#include "jpki/x509.h"

static const char *prog = "jpki";

#define M(en, ja) (jpki_lang_ja() ? (ja) : (en))
#define SIG_FILE_MAX (64 * 1024)
#define ANSWER_MAX (64 * 1024)
#define MAX_CRLS 8

struct args {
	const char *reader;
	int json, detail, pem, der, pin_stdin, no_status, no_ocsp, no_crl, yes;
	const char *reason;
	const char *out, *ca, *published, *url, *ocsp_url, *crl_url, *dob;
	const char *crls[MAX_CRLS];
	int ncrl;
	char **pos;
	int npos;
};

/* A card in a reader, the JPKI AP selected. */
struct card {
	jpki_reader_t *rd;
	char label[JPKI_TOKEN_LABEL_MAX];
	jpki_card_kind_t kind;
};

/* ---- usage ------------------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: jpki [-r READER] [--json] COMMAND [ARGS] [OPTIONS]\n"
"The resident's client of the Public Certification Service for Individuals:\n"
"your Individual Number Card in a PC/SC card reader.\n"
"\n"
"Commands:\n"
"  readers                       the card readers and what they hold\n"
"  card                          the card: kind, certificates, PIN tries left\n"
"  cert show sign|auth|sign-ca|auth-ca [--detail] [--pem|--der] [-o FILE]\n"
"                                a certificate (sign asks for the signing password)\n"
"  ca fingerprint [--published FILE | --url URL]\n"
"                                SHA-256 of the CA certificates on the card,\n"
"                                compared with the published ones\n"
"  pin status                    tries left for both PINs (none spent)\n"
"  pin change sign|auth          change a PIN (asks the current and the new one)\n"
"  status [sign|auth]            is the certificate still good? (OCSP, then CRL)\n"
"  sign FILE [-o SIG]            sign FILE with the card (CAdES-BES, detached)\n"
"  verify FILE SIG [--ca PEM]    verify a signature: content, chain, status\n"
"  login URL                     log in to a service with the authentication key\n"
"  revoke [sign|auth|both] --reason R [--url URL] [--yes]\n"
"                                revoke the card's certificates online (L7)\n"
"\n"
"Options:\n"
"  -r, --reader NAME   the reader (exact name or its beginning; default: the\n"
"                      first reader holding a card)\n"
"  --json              machine-readable output\n"
"  --pin-stdin         read PINs as lines of standard input (scripts); PINs are\n"
"                      never taken from the command line\n"
"  -h, --help          this help, or a command's (jpki COMMAND --help)\n"
"  -V, --version       the version\n"
"\n"
"Exit status: 0 success, 2 usage error, 10+N for library error N (see jpki(1)):\n"
"  29 PIN blocked, 38 revoked, 39 expired, 40 signature invalid, 41 status\n"
"  unavailable, 43 not issued by the trusted CA (or fingerprint mismatch), 44 on hold.\n");
}

static int
usage_cmd(const char *cmd)
{
	if (!strcmp(cmd, "readers"))
		printf("Usage: jpki readers [--json]\n"
		       "List the PC/SC readers and whether each holds a JPKI card.\n");
	else if (!strcmp(cmd, "card"))
		printf("Usage: jpki [-r READER] card [--json]\n"
		       "The card's kind (token label), which certificates it holds, the PIN\n"
		       "tries left (none spent), and the validity of the authentication\n"
		       "certificate.\n");
	else if (!strcmp(cmd, "cert"))
		printf("Usage: jpki [-r READER] cert show sign|auth|sign-ca|auth-ca [--detail]\n"
		       "       [--pem | --der] [-o FILE] [--json] [--pin-stdin]\n"
		       "Show a certificate of the card: name, date of birth, sex, address (signature\n"
		       "certificate), issue and expiry dates, issuer.  Reading the signature\n"
		       "certificate asks for the signing password.\n"
		       "  --detail      every field (as openssl x509 -text)\n"
		       "  --pem, --der  the certificate itself, to standard output or -o FILE\n");
	else if (!strcmp(cmd, "ca"))
		printf("Usage: jpki [-r READER] ca fingerprint [--published FILE | --url URL] [--json]\n"
		       "SHA-256 fingerprints of the Signing CA and the User-Authentication CA\n"
		       "certificates on the card (L12).  With a published list (JSON\n"
		       "{\"sign\":\"AB:CD:..\",\"auth\":\"..\"}, as the Agency's server serves at\n"
		       "/ca/fingerprints) each is compared; a mismatch is a loud warning and\n"
		       "exit status 43.\n");
	else if (!strcmp(cmd, "pin"))
		printf("Usage: jpki [-r READER] pin status [--json]\n"
		       "       jpki [-r READER] pin change sign|auth [--pin-stdin] [--dob YYYY-MM-DD]\n"
		       "status: tries left of the authentication PIN (3) and the signing password\n"
		       "(5), without spending any.\n"
		       "change: asks the current value, then the new one twice (with --pin-stdin:\n"
		       "two lines, current and new).  The signing password is 6-16 letters A-Z and\n"
		       "digits, both mixed; the authentication PIN is 4 digits.  Values easy to\n"
		       "guess are refused: all one character, runs like 1234, your date of birth\n"
		       "(read from the signature certificate when the signing password is changed;\n"
		       "give --dob to have the authentication PIN checked against it).\n");
	else if (!strcmp(cmd, "status"))
		printf("Usage: jpki [-r READER] status [sign|auth] [--json] [--pin-stdin]\n"
		       "       [--ocsp-url URL] [--crl-url URL] [--no-ocsp] [--no-crl]\n"
		       "Ask whether the certificate (default: auth) is still good: OCSP at the URL\n"
		       "the certificate names, else its CRL (with the delta CRL).  Says good,\n"
		       "revoked (reason, time), on hold, or unknown, and warns when less than\n"
		       "three months remain.  sign asks for the signing password.\n");
	else if (!strcmp(cmd, "sign"))
		printf("Usage: jpki [-r READER] sign FILE [-o SIG] [--pin-stdin] [--json]\n"
		       "Sign FILE with the card's signature key after the signing password: a\n"
		       "detached CAdES-BES signature (CMS, DER) written to SIG (default FILE.p7s),\n"
		       "which `openssl cms -verify -binary -inform DER` accepts.\n");
	else if (!strcmp(cmd, "verify"))
		printf("Usage: jpki [-r READER] verify FILE SIG [--ca PEM] [--no-status] [--crl FILE]...\n"
		       "       [--ocsp-url URL] [--crl-url URL] [--no-ocsp] [--json]\n"
		       "Verify a detached signature over FILE: the content, the chain to the Signing\n"
		       "CA (--ca, or the one on the card), validity now, and the status (OCSP, then\n"
		       "CRL; --crl gives CRL files at hand).  Prints the signer's identity.  Exit\n"
		       "40: changed or bad signature; 43: another CA; 39: expired; 38: revoked;\n"
		       "44: on hold; 41: status unavailable.\n");
	else if (!strcmp(cmd, "login"))
		printf("Usage: jpki [-r READER] login URL [--pin-stdin] [--json]\n"
		       "Log in to the service at URL: fetch a challenge (GET URL/login/challenge),\n"
		       "sign \"JPKI-LOGIN\" || challenge || the URL's origin with the authentication\n"
		       "key after the 4-digit PIN, send it (POST URL/login), print the answer.\n");
	else if (!strcmp(cmd, "revoke"))
		printf("Usage: jpki revoke [sign|auth|both] --reason lost|stolen|broken|misused|voluntary\n"
		       "                   [--url URL] [--yes] [--pin-stdin] [--json]\n"
		       "A revocation request signed with the card, sent to the Agency's online window:\n"
		       "the signing password signs it for sign or both (the default), the\n"
		       "authentication PIN for auth.  The window is found from the certificate's OCSP\n"
		       "address, or --url (its base URL).  Asks for confirmation unless --yes.\n"
		       "Prints the acceptance and the reference number.  If the card may be lost\n"
		       "and is not at hand, call the 24-hour suspension line instead.\n");
	else
		usage(stdout);
	return 0;
}

/* ---- output helpers --------------------------------------------------------------- */

static int
fail(int r)
{
	const char *hint = NULL, *d = jpki_detail();

	switch (r) {
	case JPKI_ERR_NO_READER:
		hint = M("connect an IC card reader (and start pcscd), then try again",
		         "ICカードリーダライタを接続し（pcscd を起動して）、もう一度お試しください");
		break;
	case JPKI_ERR_NO_CARD:
		hint = M("insert your Individual Number Card into the reader and try again",
		         "個人番号カードをカードリーダにセットして、もう一度お試しください");
		break;
	case JPKI_ERR_CARD_REMOVED:
		hint = M("the card was taken out during the operation: insert it again and repeat",
		         "操作中にカードが取り出されました。カードをセットし直して、もう一度お試しください");
		break;
	case JPKI_ERR_NOT_JPKI:
		hint = M("this card holds no JPKI certificates: insert your Individual Number Card",
		         "公的個人認証サービスのカードではありません。個人番号カードをセットしてください");
		break;
	case JPKI_ERR_BUSY:
		hint = M("another program is using the card: close it and try again",
		         "他のプログラムがカードを使用中です。終了してから、もう一度お試しください");
		break;
	case JPKI_ERR_PIN_BLOCKED:
		hint = M("have it initialized at your municipal office window (bring photo ID)",
		         "お住まいの市区町村窓口で初期化の申請をしてください（写真付きの本人確認書類が必要です）");
		break;
	default:
		break;
	}
	if (d != NULL && *d != '\0')
		fprintf(stderr, "%s: %s: %s%s%s\n", prog, jpki_strerror(r), d, hint ? "; " : "",
		        hint ? hint : "");
	else
		fprintf(stderr, "%s: %s%s%s\n", prog, jpki_strerror(r), hint ? ": " : "",
		        hint ? hint : "");
	return jpki_cli_exit_code(r);
}

static void
json_out(json_t *o)
{
	if (o == NULL)
		return;
	json_dumpf(o, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(o);
}

static void
jset(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v != NULL ? json_string(v) : json_null());
}

static void
iso(time_t t, char *out, size_t n)
{
	jpki_cli_iso_time(t, out, n);
}

static time_t
asn1_to_time(const ASN1_TIME *a)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static const char *
kind_label(jpki_ca_kind_t k)
{
	return k == JPKI_CA_SIGN ? M("signature certificate", "署名用電子証明書")
	                         : M("authentication certificate", "利用者証明用電子証明書");
}

static const char *
pin_label(jpki_pin_kind_t w)
{
	return w == JPKI_PIN_SIGN ? M("signing password", "署名用パスワード")
	                          : M("authentication PIN", "利用者証明用パスワード");
}

/* L5: warn on stderr when less than three months remain. */
static void
warn_expiry(X509 *x, jpki_ca_kind_t k)
{
	time_t na = 0;
	long days = 0;
	int warn = 0;
	char when[96];

	if (x == NULL || jpki_client_expiry(x, 0, &na, &days, &warn) != 0 || !warn)
		return;
	jpki_cli_format_time(na, when, sizeof(when));
	if (days < 0)
		fprintf(stderr, M("%s: warning: the %s expired on %s: have a new one issued at your "
		                  "municipal office window\n",
		                  "%s: 警告: %sの有効期間は %s に満了しています。お住まいの市区町村窓口で"
		                  "新しい電子証明書の発行を受けてください\n"),
		        prog, kind_label(k), when);
	else
		fprintf(stderr, M("%s: warning: the %s expires on %s (%ld days left): renew it at "
		                  "your municipal office window\n",
		                  "%s: 警告: %sの有効期間の満了日は %s です（残り%ld日）。お住まいの"
		                  "市区町村窓口で更新の手続きをしてください\n"),
		        prog, kind_label(k), when, days);
}

/* ---- the card ------------------------------------------------------------------------ */

static void
card_close(struct card *c)
{
	jpki_reader_close(c->rd);
	c->rd = NULL;
}

/* Connect, select the JPKI AP, read the label; warn about the authentication
 * certificate's expiry (free to read) as every command that touches the card. */
static int
card_open(struct args *a, struct card *c, int quiet_expiry)
{
	X509 *x = NULL;
	int r;

	memset(c, 0, sizeof(*c));
	jpki_clear_detail();
	if ((r = jpki_reader_open_pcsc(a->reader, &c->rd)) != 0 ||
	    (r = jpki_token_select_ap(c->rd)) != 0 ||
	    (r = jpki_token_label(c->rd, c->label, &c->kind)) != 0) {
		card_close(c);
		return r;
	}
	if (!quiet_expiry && jpki_token_read_x509(c->rd, JPKI_EF_AUTH_CERT, &x) == 0)
		warn_expiry(x, JPKI_CA_AUTH);
	X509_free(x);
	jpki_clear_detail();
	return 0;
}

/* Ask for a PIN (after saying how many tries remain) and verify it on the card. */
static int
ask_pin(struct args *a, struct card *c, jpki_pin_kind_t which, const char *prompt_override,
        char *keep, size_t keeplen)
{
	char pin[JPKI_CLIENT_PIN_MAX];
	int tries = 0, left = 0, r, max = which == JPKI_PIN_SIGN ? JPKI_SIGN_PIN_TRIES
	                                                           : JPKI_AUTH_PIN_TRIES;
	const char *prompt;

	if ((r = jpki_token_pin_status(c->rd, which, &tries)) != 0)
		return r;
	if (tries == 0) {
		jpki_set_detail(M("the %s is locked", "%sがロックされています"), pin_label(which));
		return JPKI_ERR_PIN_BLOCKED;
	}
	if (tries < max)
		fprintf(stderr, M("%s: the %s has %d tr%s left (%d wrong tries in a row lock it)\n",
		                  "%s: %sの残り回数は%d回です%.0s（%d回連続で誤るとロックされます）\n"),
		        prog, pin_label(which), tries, tries == 1 ? "y" : "ies", max);
	prompt = prompt_override != NULL ? prompt_override
	       : which == JPKI_PIN_SIGN ? M("Signing password (6-16 letters and digits): ",
	                                    "署名用パスワード（英数字6〜16文字）: ")
	                                : M("Authentication PIN (4 digits): ",
	                                    "利用者証明用パスワード（数字4桁）: ");
	if ((r = jpki_prompt_secret(prompt, a->pin_stdin, pin, sizeof(pin))) != 0)
		goto out;
	r = jpki_token_verify_pin(c->rd, which, pin, &left);
	if (r == JPKI_ERR_PIN_WRONG)
		jpki_set_detail(M("wrong %s: %d tr%s left%s", "%sが違います。残り%d回です%.0s%s"),
		                pin_label(which), left, left == 1 ? "y" : "ies",
		                left == 1 ? M(" (one more wrong try locks it)",
		                              "（あと1回誤るとロックされます）") : "");
	else if (r == JPKI_ERR_PIN_BLOCKED)
		jpki_set_detail(M("the %s is now locked after %d wrong tries",
		                  "%sは%d回連続で誤ったためロックされました"), pin_label(which), max);
	if (r == 0 && keep != NULL)
		snprintf(keep, keeplen, "%s", pin);
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	return r;
}

/* "sign", "auth", "sign-ca", "auth-ca" to an EF; kind the CA it belongs to. */
static int
cert_which(const char *s, uint16_t *fid, jpki_ca_kind_t *kind, int *is_ca)
{
	static const struct { const char *n; uint16_t fid; jpki_ca_kind_t k; int ca; } t[] = {
		{"sign", JPKI_EF_SIGN_CERT, JPKI_CA_SIGN, 0},
		{"auth", JPKI_EF_AUTH_CERT, JPKI_CA_AUTH, 0},
		{"sign-ca", JPKI_EF_SIGN_CA, JPKI_CA_SIGN, 1},
		{"auth-ca", JPKI_EF_AUTH_CA, JPKI_CA_AUTH, 1},
	};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].n) == 0) {
			*fid = t[i].fid;
			*kind = t[i].k;
			*is_ca = t[i].ca;
			return 0;
		}
	return -1;
}

/* ---- readers, card ------------------------------------------------------------------------ */

static int
cmd_readers(struct args *a)
{
	char **names = NULL;
	size_t n = 0, i;
	json_t *arr = a->json ? json_array() : NULL;
	int r;

	if ((r = jpki_reader_list(&names, &n)) != 0)
		return fail(r);
	for (i = 0; i < n; i++) {
		jpki_reader_t *rd = NULL;
		char label[JPKI_TOKEN_LABEL_MAX] = "";
		const char *state;

		r = jpki_reader_open_pcsc(names[i], &rd);
		if (r == 0 && (r = jpki_token_select_ap(rd)) == 0)
			r = jpki_token_label(rd, label, NULL);
		jpki_reader_close(rd);
		state = r == 0 ? "jpki" : r == JPKI_ERR_NO_CARD ? "none"
		      : r == JPKI_ERR_NOT_JPKI ? "other" : "error";
		if (arr != NULL) {
			json_t *o = json_object();
			jset(o, "reader", names[i]);
			jset(o, "card", state);
			if (r == 0)
				jset(o, "label", label);
			json_array_append_new(arr, o);
		} else if (r == 0) {
			printf("%s\t%s (%s)\n", names[i], M("JPKI card", "公的個人認証カード"), label);
		} else if (r == JPKI_ERR_NO_CARD) {
			printf("%s\t%s\n", names[i], M("no card", "カードなし"));
		} else if (r == JPKI_ERR_NOT_JPKI) {
			printf("%s\t%s\n", names[i], M("not a JPKI card", "公的個人認証のカードではありません"));
		} else {
			printf("%s\t%s\n", names[i], jpki_strerror(r));
		}
	}
	jpki_reader_list_free(names);
	json_out(arr);
	return 0;
}

static int
cmd_card(struct args *a)
{
	static const struct { uint16_t fid; const char *key, *en, *ja; } efs[] = {
		{JPKI_EF_AUTH_CERT, "auth", "authentication certificate", "利用者証明用電子証明書"},
		{JPKI_EF_SIGN_CERT, "sign", "signature certificate", "署名用電子証明書"},
		{JPKI_EF_AUTH_CA, "auth-ca", "User-Authentication CA", "利用者証明用認証局"},
		{JPKI_EF_SIGN_CA, "sign-ca", "Signing CA", "署名用認証局"},
	};
	struct card c;
	json_t *o = NULL, *certs = NULL, *pins = NULL;
	const char *kname;
	char when[96];
	size_t i;
	int r, k;

	if ((r = card_open(a, &c, 0)) != 0)
		return fail(r);
	kname = c.kind == JPKI_CARD_MYNUMBER ? M("Individual Number Card", "個人番号カード")
	                                     : M("Basic Resident Registration Card", "住民基本台帳カード");
	if (a->json) {
		o = json_object();
		certs = json_object();
		pins = json_object();
		jset(o, "reader", jpki_reader_name(c.rd));
		jset(o, "label", c.label);
		jset(o, "kind", c.kind == JPKI_CARD_MYNUMBER ? "mynumber" : "2004");
	} else {
		printf("%-28s %s\n", M("reader", "カードリーダ"), jpki_reader_name(c.rd));
		printf("%-28s %s (%s)\n", M("card", "カード"), kname, c.label);
	}
	for (i = 0; i < sizeof(efs) / sizeof(efs[0]); i++) {
		X509 *x = NULL;
		const char *state;

		r = jpki_token_read_x509(c.rd, efs[i].fid, &x);
		state = r == 0 ? "present" : r == JPKI_ERR_SECURITY ? "protected"
		      : r == JPKI_ERR_NOT_FOUND ? "none" : "error";
		if (r != 0 && r != JPKI_ERR_SECURITY && r != JPKI_ERR_NOT_FOUND) {
			X509_free(x);
			card_close(&c);
			json_decref(o);
			json_decref(certs);
			json_decref(pins);
			return fail(r);
		}
		if (o != NULL) {
			json_t *e = json_object();
			jset(e, "state", state);
			if (x != NULL) {
				iso(asn1_to_time(X509_get0_notAfter(x)), when, sizeof(when));
				jset(e, "not_after", when);
			}
			json_object_set_new(certs, efs[i].key, e);
		} else if (x != NULL) {
			jpki_cli_format_time(asn1_to_time(X509_get0_notAfter(x)), when, sizeof(when));
			printf("%-28s %s %s\n", M(efs[i].en, efs[i].ja), M("present, expires",
			       "あり、有効期間の満了日"), when);
		} else {
			printf("%-28s %s\n", M(efs[i].en, efs[i].ja),
			       r == JPKI_ERR_SECURITY ? M("present (readable after the signing password)",
			                                  "あり（署名用パスワードの入力後に表示できます）")
			                              : M("none", "なし"));
		}
		X509_free(x);
	}
	for (k = 0; k < 2; k++) {
		jpki_pin_kind_t w = k == 0 ? JPKI_PIN_AUTH : JPKI_PIN_SIGN;
		int tries = 0;

		if ((r = jpki_token_pin_status(c.rd, w, &tries)) != 0) {
			card_close(&c);
			json_decref(o);
			json_decref(certs);
			json_decref(pins);
			return fail(r);
		}
		if (pins != NULL)
			json_object_set_new(pins, k == 0 ? "auth" : "sign", json_integer(tries));
		else if (tries == 0)
			printf("%-28s %s\n", pin_label(w), M("locked (or not set)", "ロック中（または未設定）"));
		else
			printf("%-28s %s %d\n", pin_label(w), M("tries left", "残り回数"), tries);
	}
	card_close(&c);
	if (o != NULL) {
		json_object_set_new(o, "certificates", certs);
		json_object_set_new(o, "pins", pins);
		json_out(o);
	}
	return 0;
}

/* ---- cert show --------------------------------------------------------------------------- */

static int
write_cert(struct args *a, X509 *x)
{
	uint8_t *der = NULL;
	BIO *b = NULL;
	char *mem;
	long n = 0;
	int len, r = 0;

	if (a->der) {
		if ((len = i2d_X509(x, &der)) <= 0)
			return JPKI_ERR_CRYPTO;
		mem = (char *)der;
		n = len;
	} else {
		if ((b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(b, x) != 1 ||
		    (n = BIO_get_mem_data(b, &mem)) <= 0) {
			BIO_free(b);
			return JPKI_ERR_CRYPTO;
		}
	}
	if (a->out != NULL)
		r = jpki_file_write_atomic(a->out, mem, (size_t)n, 0644);
	else if (fwrite(mem, 1, (size_t)n, stdout) != (size_t)n)
		r = JPKI_ERR_IO;
	OPENSSL_free(der);
	BIO_free(b);
	return r;
}

static void
row(const char *en, const char *ja, const char *v)
{
	printf("%s\t%s\n", M(en, ja), v);
}

static int
show_basic(X509 *x, jpki_ca_kind_t kind, int is_ca)
{
	jpki_identity_t id;
	char buf[2048], when[96], fp[JPKI_CLIENT_FP_MAX], hex[64];
	uint8_t serial[JPKI_SERIAL_MAX];
	size_t slen = 0;

	printf("%s\n", is_ca ? (kind == JPKI_CA_SIGN
	                        ? M("Signing CA certificate", "署名用認証局の電子証明書")
	                        : M("User-Authentication CA certificate",
	                            "利用者証明用認証局の電子証明書"))
	                     : kind_label(kind));
	if (!is_ca && kind == JPKI_CA_SIGN && jpki_identity_from_cert(x, &id) == 0) {
		row("Name", "氏名", id.name);
		if (id.has_dob && jpki_era_format_both(&id.dob, buf, sizeof(buf)) == 0)
			row("Date of birth", "生年月日", buf);
		else
			row("Date of birth", "生年月日", id.dob_code);
		row("Sex", "性別", jpki_sex_name(id.sex, jpki_lang_ja()));
		row("Address", "住所", id.address);
		if (id.alias[0] != '\0')
			row("Alias", "通称", id.alias);
	} else {
		jpki_client_name(X509_get_subject_name(x), ", ", buf, sizeof(buf));
		row("Subject", "主体者", buf);
	}
	jpki_cli_format_time(asn1_to_time(X509_get0_notBefore(x)), when, sizeof(when));
	row("Issued", "発行年月日", when);
	jpki_cli_format_time(asn1_to_time(X509_get0_notAfter(x)), when, sizeof(when));
	row("Expires", "有効期間の満了日", when);
	jpki_client_name(X509_get_issuer_name(x), ", ", buf, sizeof(buf));
	row("Issuer", "発行者", buf);
	if (jpki_x509_serial(x, serial, &slen) == 0) {
		jpki_serial_hex(serial, slen, hex, sizeof(hex));
		row("Serial", "シリアル番号", hex);
	}
	if (is_ca && jpki_x509_fingerprint_sha256(x, fp, sizeof(fp)) == 0)
		row("SHA-256 fingerprint", "フィンガープリント sha256", fp);
	return 0;
}

static json_t *
cert_json(X509 *x, jpki_ca_kind_t kind, int is_ca)
{
	json_t *o = json_object(), *ido;
	jpki_identity_t id;
	char buf[2048], fp[JPKI_CLIENT_FP_MAX], hex[64];
	uint8_t serial[JPKI_SERIAL_MAX];
	size_t slen = 0;
	BIO *b;
	char *mem;
	long n;

	jset(o, "kind", is_ca ? (kind == JPKI_CA_SIGN ? "sign-ca" : "auth-ca")
	                      : jpki_ca_kind_name(kind));
	jpki_client_name(X509_get_subject_name(x), ", ", buf, sizeof(buf));
	jset(o, "subject", buf);
	jpki_client_name(X509_get_issuer_name(x), ", ", buf, sizeof(buf));
	jset(o, "issuer", buf);
	iso(asn1_to_time(X509_get0_notBefore(x)), buf, sizeof(buf));
	jset(o, "not_before", buf);
	iso(asn1_to_time(X509_get0_notAfter(x)), buf, sizeof(buf));
	jset(o, "not_after", buf);
	if (jpki_x509_serial(x, serial, &slen) == 0) {
		jpki_serial_hex(serial, slen, hex, sizeof(hex));
		jset(o, "serial", hex);
	}
	if (jpki_x509_fingerprint_sha256(x, fp, sizeof(fp)) == 0)
		jset(o, "sha256", fp);
	if (!is_ca && jpki_identity_from_cert(x, &id) == 0) {
		ido = json_object();
		jset(ido, "name", id.name);
		if (id.has_dob) {
			jpki_date_format_iso(&id.dob, buf, sizeof(buf));
			jset(ido, "dob", buf);
		}
		jset(ido, "dob_code", id.dob_code);
		json_object_set_new(ido, "sex", json_integer(id.sex));
		jset(ido, "address", id.address);
		if (id.alias[0] != '\0')
			jset(ido, "alias", id.alias);
		json_object_set_new(o, "identity", ido);
	}
	if ((b = BIO_new(BIO_s_mem())) != NULL && PEM_write_bio_X509(b, x) == 1 &&
	    (n = BIO_get_mem_data(b, &mem)) > 0) {
		json_object_set_new(o, "pem", json_stringn(mem, (size_t)n));
	}
	BIO_free(b);
	return o;
}

static int
cmd_cert(struct args *a)
{
	struct card c;
	X509 *x = NULL;
	uint16_t fid;
	jpki_ca_kind_t kind;
	int is_ca, r;

	if (a->npos < 1 || strcmp(a->pos[0], "show") != 0)
		return jpki_cli_usage_error(prog, "cert: say 'cert show sign|auth|sign-ca|auth-ca'");
	if (a->npos != 2 || cert_which(a->pos[1], &fid, &kind, &is_ca) != 0)
		return jpki_cli_usage_error(prog, "cert show: which certificate? sign, auth, sign-ca or auth-ca");
	if (a->pem && a->der)
		return jpki_cli_usage_error(prog, "--pem or --der, not both");
	/* Showing the auth certificate warns about it below: not twice. */
	if ((r = card_open(a, &c, fid == JPKI_EF_AUTH_CERT)) != 0)
		return fail(r);
	if (fid == JPKI_EF_SIGN_CERT && (r = ask_pin(a, &c, JPKI_PIN_SIGN, NULL, NULL, 0)) != 0)
		goto out;
	if ((r = jpki_token_read_x509(c.rd, fid, &x)) != 0)
		goto out;
	if (!is_ca)
		warn_expiry(x, kind);
	if (a->pem || a->der)
		r = write_cert(a, x);
	else if (a->json)
		json_out(cert_json(x, kind, is_ca));
	else {
		show_basic(x, kind, is_ca);
		if (a->detail) {
			BIO *b = BIO_new_fp(stdout, BIO_NOCLOSE);
			printf("\n");
			fflush(stdout);
			if (b != NULL)
				X509_print_ex(b, x, (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) |
				                    XN_FLAG_SEP_CPLUS_SPC, 0);
			BIO_free(b);
		}
	}
out:
	X509_free(x);
	card_close(&c);
	return r != 0 ? fail(r) : 0;
}

/* ---- ca fingerprint ---------------------------------------------------------------------- */

static int
cmd_ca(struct args *a)
{
	struct card c;
	char fp[2][JPKI_CLIENT_FP_MAX], pub[2][JPKI_CLIENT_FP_MAX];
	const char *key[2] = {"sign", "auth"};
	uint16_t fid[2] = {JPKI_EF_SIGN_CA, JPKI_EF_AUTH_CA};
	uint8_t *text = NULL;
	size_t tlen = 0;
	int r, k, have_pub = 0, mismatch = 0, match[2] = {0, 0};
	json_t *o = NULL;

	if (a->npos != 1 || strcmp(a->pos[0], "fingerprint") != 0)
		return jpki_cli_usage_error(prog, "ca: say 'ca fingerprint'");
	if (a->published && a->url)
		return jpki_cli_usage_error(prog, "--published or --url, not both");
	pub[0][0] = pub[1][0] = '\0';
	if (a->published != NULL) {
		if ((r = jpki_file_read(a->published, 64 * 1024, &text, &tlen)) != 0)
			return fail(r);
	} else if (a->url != NULL) {
		jpki_http_req_t q;
		long st = 0;

		memset(&q, 0, sizeof(q));
		q.url = a->url;
		q.accept = "application/json";
		q.max = 64 * 1024;
		q.allow_file = 1;
		if ((r = jpki_http_fetch(&q, &st, &text, &tlen)) != 0)
			return fail(r);
		if (st != 200) {
			free(text);
			jpki_set_detail("%s answered HTTP %ld", a->url, st);
			return fail(JPKI_ERR_NET);
		}
	}
	if (text != NULL) {
		r = jpki_client_published_fp((const char *)text, tlen, pub[0], pub[1]);
		free(text);
		if (r != 0)
			return fail(r);
		have_pub = 1;
	}
	if ((r = card_open(a, &c, 0)) != 0)
		return fail(r);
	for (k = 0; k < 2; k++) {
		X509 *x = NULL;

		if ((r = jpki_token_read_x509(c.rd, fid[k], &x)) != 0 ||
		    (r = jpki_x509_fingerprint_sha256(x, fp[k], sizeof(fp[k]))) != 0) {
			X509_free(x);
			card_close(&c);
			return fail(r);
		}
		X509_free(x);
		if (have_pub && pub[k][0] != '\0') {
			match[k] = jpki_client_fp_equal(fp[k], pub[k]) ? 1 : -1;
			if (match[k] < 0)
				mismatch = 1;
		}
	}
	card_close(&c);
	if (a->json) {
		o = json_object();
		for (k = 0; k < 2; k++) {
			json_t *e = json_object();
			jset(e, "sha256", fp[k]);
			if (match[k] != 0) {
				jset(e, "published", pub[k]);
				json_object_set_new(e, "match", json_boolean(match[k] > 0));
			}
			json_object_set_new(o, key[k], e);
		}
		json_out(o);
	} else {
		for (k = 0; k < 2; k++) {
			printf("%s\t%s", k == 0 ? M("Signing CA", "署名用認証局")
			                       : M("User-Authentication CA", "利用者証明用認証局"), fp[k]);
			if (match[k] > 0)
				printf("\t%s", M("matches the published fingerprint", "公開値と一致"));
			else if (match[k] < 0)
				printf("\t%s", M("DOES NOT MATCH", "一致しません"));
			printf("\n");
		}
		if (!have_pub)
			printf("%s\n", M("Compare these with the fingerprints the Agency publishes on its "
			                 "portal site.",
			                 "ポータルサイトに掲載されているフィンガープリントと一致することを"
			                 "確認してください。"));
	}
	if (mismatch) {
		for (k = 0; k < 2; k++)
			if (match[k] < 0)
				fprintf(stderr, M("%s: WARNING: the %s certificate on the card is NOT the one "
				                  "the Agency published (card %s, published %s). Do not use this "
				                  "card; ask your municipal office window.\n",
				                  "%s: 警告: カードの%sの自己署名証明書は公開されているものと一致"
				                  "しません（カード %s、公開値 %s）。このカードは使わず、お住まいの"
				                  "市区町村窓口に相談してください。\n"),
				        prog, k == 0 ? M("Signing CA", "署名用認証局")
				                     : M("User-Authentication CA", "利用者証明用認証局"),
				        fp[k], pub[k]);
		return jpki_cli_exit_code(JPKI_ERR_UNTRUSTED);
	}
	return 0;
}

/* ---- pin ------------------------------------------------------------------------------- */

static int
cmd_pin_status(struct args *a)
{
	struct card c;
	json_t *o = a->json ? json_object() : NULL;
	int k, r, tries;

	if ((r = card_open(a, &c, 0)) != 0) {
		json_decref(o);
		return fail(r);
	}
	for (k = 0; k < 2; k++) {
		jpki_pin_kind_t w = k == 0 ? JPKI_PIN_AUTH : JPKI_PIN_SIGN;
		int max = w == JPKI_PIN_SIGN ? JPKI_SIGN_PIN_TRIES : JPKI_AUTH_PIN_TRIES;

		if ((r = jpki_token_pin_status(c.rd, w, &tries)) != 0) {
			card_close(&c);
			json_decref(o);
			return fail(r);
		}
		if (o != NULL) {
			json_t *e = json_object();
			json_object_set_new(e, "tries_left", json_integer(tries));
			json_object_set_new(e, "max", json_integer(max));
			json_object_set_new(e, "blocked", json_boolean(tries == 0));
			json_object_set_new(o, k == 0 ? "auth" : "sign", e);
		} else if (tries == 0) {
			printf(M("%s\tlocked: have it initialized at your municipal office window\n",
			         "%s\tロック中: お住まいの市区町村窓口で初期化の申請をしてください\n"),
			       pin_label(w));
		} else {
			printf(M("%s\t%d of %d tries left\n", "%s\t残り%d回（%d回まで）\n"), pin_label(w),
			       tries, max);
		}
	}
	card_close(&c);
	json_out(o);
	return 0;
}

static int
cmd_pin_change(struct args *a, jpki_pin_kind_t which)
{
	struct card c;
	char oldp[JPKI_CLIENT_PIN_MAX], newp[JPKI_CLIENT_PIN_MAX], again[JPKI_CLIENT_PIN_MAX];
	jpki_date_t dob, *dobp = NULL;
	jpki_identity_t id;
	X509 *x = NULL;
	int r, left = 0, opened = 0;

	memset(oldp, 0, sizeof(oldp));
	memset(newp, 0, sizeof(newp));
	memset(again, 0, sizeof(again));
	if (a->dob != NULL) {
		if (jpki_date_parse(a->dob, &dob) != 0)
			return jpki_cli_usage_error(prog, "--dob: '%s' is not a date (YYYY-MM-DD)", a->dob);
		dobp = &dob;
	}
	if ((r = card_open(a, &c, 0)) != 0)
		return fail(r);
	opened = 1;
	/* The current value, verified at once: then the signature certificate
	 * (the date of birth) can be read before the new value is chosen. */
	if ((r = ask_pin(a, &c, which, which == JPKI_PIN_SIGN
	                 ? M("Current signing password: ", "現在の署名用パスワード: ")
	                 : M("Current authentication PIN: ", "現在の利用者証明用パスワード: "),
	                 oldp, sizeof(oldp))) != 0)
		goto out;
	if (dobp == NULL && which == JPKI_PIN_SIGN &&
	    jpki_token_read_x509(c.rd, JPKI_EF_SIGN_CERT, &x) == 0 &&
	    jpki_identity_from_cert(x, &id) == 0 && id.has_dob) {
		dob = id.dob;
		dobp = &dob;
	}
	jpki_clear_detail();
	if ((r = jpki_prompt_secret(which == JPKI_PIN_SIGN
	                              ? M("New signing password: ", "新しい署名用パスワード: ")
	                              : M("New authentication PIN: ", "新しい利用者証明用パスワード: "),
	                              a->pin_stdin, newp, sizeof(newp))) != 0)
		goto out;
	if (!a->pin_stdin) {
		if ((r = jpki_prompt_secret(M("New value again: ", "確認のためもう一度: "), 0, again,
		                            sizeof(again))) != 0)
			goto out;
		if (strcmp(newp, again) != 0) {
			jpki_set_detail(M("the two new values differ; nothing was changed",
			                  "新しい値が一致しません。変更していません"));
			r = JPKI_ERR_INVALID_ARG;
			goto out;
		}
	}
	if ((r = jpki_token_pin_check(which, newp, 1)) != 0 ||
	    (r = jpki_client_pin_guessable(which, newp, dobp)) != 0) {
		char d[256];
		snprintf(d, sizeof(d), "%s", jpki_detail());
		jpki_set_detail(M("the new value is refused: %s; nothing was changed",
		                  "新しい値は使えません: %s。変更していません"), d);
		goto out;
	}
	/* VERIFY (the value just checked) and CHANGE REFERENCE DATA. */
	r = jpki_token_change_pin(c.rd, which, oldp, newp, &left);
	if (r == 0) {
		if (a->json) {
			json_t *o = json_object();
			jset(o, "changed", which == JPKI_PIN_SIGN ? "sign" : "auth");
			json_out(o);
		} else {
			printf(M("The %s was changed.\n", "%sを変更しました。\n"), pin_label(which));
		}
	}
out:
	OPENSSL_cleanse(oldp, sizeof(oldp));
	OPENSSL_cleanse(newp, sizeof(newp));
	OPENSSL_cleanse(again, sizeof(again));
	X509_free(x);
	if (opened)
		card_close(&c);
	return r != 0 ? fail(r) : 0;
}

static int
cmd_pin(struct args *a)
{
	if (a->npos == 1 && strcmp(a->pos[0], "status") == 0)
		return cmd_pin_status(a);
	if (a->npos == 2 && strcmp(a->pos[0], "change") == 0) {
		if (strcmp(a->pos[1], "sign") == 0)
			return cmd_pin_change(a, JPKI_PIN_SIGN);
		if (strcmp(a->pos[1], "auth") == 0)
			return cmd_pin_change(a, JPKI_PIN_AUTH);
	}
	return jpki_cli_usage_error(prog, "pin: say 'pin status' or 'pin change sign|auth'");
}

/* ---- status ------------------------------------------------------------------------------- */

static const char *
reason_text(int reason)
{
	if (reason == JPKI_REASON_NONE)
		return M("no reason given", "理由なし");
	return jpki_reason_name(reason);
}

static void
status_opts(struct args *a, jpki_status_opts_t *so)
{
	memset(so, 0, sizeof(*so));
	so->no_ocsp = a->no_ocsp;
	so->no_crl = a->no_crl;
	so->ocsp_url = a->ocsp_url;
	so->crl_url = a->crl_url;
}

static json_t *
status_json(const jpki_status_t *st)
{
	json_t *o = json_object();
	char buf[64];

	jset(o, "state", jpki_cert_state_name(st->state));
	jset(o, "source", st->source == JPKI_SOURCE_OCSP ? "ocsp"
	                  : st->source == JPKI_SOURCE_CRL ? "crl" : "none");
	if (st->url[0] != '\0')
		jset(o, "url", st->url);
	if (st->state == JPKI_CERT_REVOKED || st->state == JPKI_CERT_HOLD) {
		jset(o, "reason", st->reason == JPKI_REASON_NONE ? NULL : jpki_reason_name(st->reason));
		iso(st->since, buf, sizeof(buf));
		jset(o, "since", buf);
	}
	if (st->this_update) {
		iso(st->this_update, buf, sizeof(buf));
		jset(o, "this_update", buf);
	}
	if (st->next_update) {
		iso(st->next_update, buf, sizeof(buf));
		jset(o, "next_update", buf);
	}
	if (st->source == JPKI_SOURCE_CRL && st->ocsp_error[0] != '\0')
		jset(o, "ocsp_error", st->ocsp_error);
	return o;
}

static void
status_print(const char *what, const jpki_status_t *st, int r)
{
	char when[96];

	switch (r) {
	case 0:
		printf(M("%s: good (not revoked)\n", "%s: 有効です（失効していません）\n"), what);
		break;
	case JPKI_ERR_REVOKED:
		jpki_cli_format_time(st->since, when, sizeof(when));
		printf(M("%s: REVOKED (%s) since %s\n", "%s: 失効しています（%s）失効日時 %s\n"), what,
		       reason_text(st->reason), when);
		break;
	case JPKI_ERR_HOLD:
		jpki_cli_format_time(st->since, when, sizeof(when));
		printf(M("%s: ON HOLD (temporarily suspended) since %s\n",
		         "%s: 一時保留されています（%s から）\n"), what, when);
		break;
	case JPKI_ERR_NOT_FOUND:
		printf(M("%s: UNKNOWN to the responder\n", "%s: 応答者はこの電子証明書を知りません\n"),
		       what);
		break;
	default:
		return;
	}
	if (st->source != JPKI_SOURCE_NONE) {
		jpki_cli_format_time(st->this_update, when, sizeof(when));
		printf(M("  checked by %s %s (as of %s)\n", "  確認方法 %s %s（%s 時点）\n"),
		       st->source == JPKI_SOURCE_OCSP ? "OCSP" : "CRL", st->url, when);
		if (st->source == JPKI_SOURCE_CRL && st->ocsp_error[0] != '\0')
			printf(M("  (OCSP not used: %s)\n", "  （OCSP は使えませんでした: %s）\n"),
			       st->ocsp_error);
	}
}

static int
cmd_status(struct args *a)
{
	struct card c;
	X509 *x = NULL, *ca = NULL;
	jpki_status_opts_t so;
	jpki_status_t st;
	jpki_ca_kind_t kind = JPKI_CA_AUTH;
	json_t *o = NULL;
	time_t na = 0;
	long days = 0;
	int r, warn = 0, opened = 0;
	char when[96];

	memset(&st, 0, sizeof(st));
	if (a->npos > 1)
		return jpki_cli_usage_error(prog, "status: sign or auth");
	if (a->npos == 1) {
		if (strcmp(a->pos[0], "sign") == 0)
			kind = JPKI_CA_SIGN;
		else if (strcmp(a->pos[0], "auth") != 0)
			return jpki_cli_usage_error(prog, "status: sign or auth, not '%s'", a->pos[0]);
	}
	if ((r = card_open(a, &c, 1)) != 0)
		return fail(r);
	opened = 1;
	if (kind == JPKI_CA_SIGN && (r = ask_pin(a, &c, JPKI_PIN_SIGN, NULL, NULL, 0)) != 0)
		goto out;
	if ((r = jpki_token_read_x509(c.rd, kind == JPKI_CA_SIGN ? JPKI_EF_SIGN_CERT
	                                                         : JPKI_EF_AUTH_CERT, &x)) != 0 ||
	    (r = jpki_token_read_x509(c.rd, kind == JPKI_CA_SIGN ? JPKI_EF_SIGN_CA
	                                                         : JPKI_EF_AUTH_CA, &ca)) != 0)
		goto out;
	card_close(&c);
	opened = 0;
	jpki_client_expiry(x, 0, &na, &days, &warn);
	jpki_cli_format_time(na, when, sizeof(when));
	if ((r = jpki_verify_chain(x, ca, kind, 0)) != 0)
		goto out;
	warn_expiry(x, kind);
	status_opts(a, &so);
	r = jpki_status_check(x, ca, &so, &st);
	if (a->json) {
		o = json_object();
		jset(o, "certificate", jpki_ca_kind_name(kind));
		json_object_set_new(o, "status", status_json(&st));
		iso(na, when, sizeof(when));
		jset(o, "not_after", when);
		json_object_set_new(o, "days_left", json_integer(days));
		json_object_set_new(o, "renewal_due", json_boolean(warn));
		if (r == JPKI_ERR_NET)
			jset(o, "error", jpki_detail());
		json_out(o);
	} else {
		status_print(kind_label(kind), &st, r);
		if (r == 0 || r == JPKI_ERR_REVOKED || r == JPKI_ERR_HOLD || r == JPKI_ERR_NOT_FOUND)
			printf(M("  expires %s (%ld days left)\n", "  有効期間の満了日 %s（残り%ld日）\n"),
			       when, days);
		if (r == JPKI_ERR_HOLD)
			printf("  %s\n", kind == JPKI_CA_AUTH
			       ? M("the hold can be lifted at your municipal office window",
			           "一時保留はお住まいの市区町村窓口で解除できます")
			       : M("a signature certificate on hold cannot be released: have it revoked "
			           "and a new one issued at your municipal office window",
			           "署名用電子証明書の一時保留は解除できません。市区町村窓口で失効させ、"
			           "新しい電子証明書の発行を受けてください"));
	}
	if (r == JPKI_ERR_REVOKED || r == JPKI_ERR_HOLD || r == JPKI_ERR_NOT_FOUND) {
		X509_free(x);
		X509_free(ca);
		return jpki_cli_exit_code(r);
	}
out:
	X509_free(x);
	X509_free(ca);
	if (opened)
		card_close(&c);
	if (r == JPKI_ERR_EXPIRED && !a->json)
		fprintf(stderr, M("%s: the %s is no longer valid: have a new one issued at your "
		                  "municipal office window\n",
		                  "%s: %sは有効期間外です。お住まいの市区町村窓口で新しい電子証明書の"
		                  "発行を受けてください\n"), prog, kind_label(kind));
	return r != 0 ? fail(r) : 0;
}

/* ---- sign, verify --------------------------------------------------------------------------- */

struct card_signer {
	jpki_reader_t *rd;
};

static int
card_sign_cb(void *ctx, const uint8_t *di, size_t len, uint8_t *sig, size_t max, size_t *n)
{
	struct card_signer *cs = ctx;
	int r;

	if (max < JPKI_SIG_LEN)
		return JPKI_ERR_INTERNAL;
	if ((r = jpki_token_sign(cs->rd, JPKI_PIN_SIGN, di, len, sig)) != 0)
		return r;
	*n = JPKI_SIG_LEN;
	return 0;
}

static int
cmd_sign(struct args *a)
{
	struct card c;
	struct card_signer cs;
	X509 *x = NULL;
	uint8_t hash[32], *der = NULL;
	size_t len = 0;
	char outpath[PATH_MAX];
	time_t na;
	long days;
	int r, warn, opened = 0;

	if (a->npos != 1)
		return jpki_cli_usage_error(prog, "sign: one FILE to sign");
	if (a->out != NULL)
		snprintf(outpath, sizeof(outpath), "%s", a->out);
	else if ((size_t)snprintf(outpath, sizeof(outpath), "%s.p7s", a->pos[0]) >= sizeof(outpath))
		return jpki_cli_usage_error(prog, "sign: file name too long");
	if ((r = jpki_sha256_file(a->pos[0], hash)) != 0)
		return fail(r);
	if ((r = card_open(a, &c, 0)) != 0)
		return fail(r);
	opened = 1;
	if ((r = ask_pin(a, &c, JPKI_PIN_SIGN, NULL, NULL, 0)) != 0 ||
	    (r = jpki_token_read_x509(c.rd, JPKI_EF_SIGN_CERT, &x)) != 0)
		goto out;
	warn_expiry(x, JPKI_CA_SIGN);
	if (jpki_client_expiry(x, 0, &na, &days, &warn) == 0 && na < jpki_now()) {
		jpki_set_detail(M("the signature certificate has expired: nothing was signed",
		                  "署名用電子証明書の有効期間が過ぎています。署名していません"));
		r = JPKI_ERR_EXPIRED;
		goto out;
	}
	cs.rd = c.rd;
	if ((r = jpki_cms_sign(hash, x, 0, card_sign_cb, &cs, &der, &len)) != 0)
		goto out;
	card_close(&c);
	opened = 0;
	if ((r = jpki_file_write_atomic(outpath, der, len, 0644)) != 0)
		goto out;
	if (a->json) {
		json_t *o = json_object();
		jset(o, "file", a->pos[0]);
		jset(o, "signature", outpath);
		json_out(o);
	} else {
		printf(M("signed: %s\n", "署名しました: %s\n"), outpath);
	}
out:
	free(der);
	X509_free(x);
	if (opened)
		card_close(&c);
	return r != 0 ? fail(r) : 0;
}

/* A signature file: DER, or PEM of any label (CMS, PKCS7). */
static int
load_sig(const char *path, uint8_t **der, size_t *len)
{
	uint8_t *b = NULL;
	size_t n = 0;
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	int r;

	*der = NULL;
	*len = 0;
	if ((r = jpki_file_read(path, SIG_FILE_MAX, &b, &n)) != 0)
		return r;
	if (n > 10 && memcmp(b, "-----BEGIN", 10) == 0) {
		if ((bio = BIO_new_mem_buf(b, (int)n)) == NULL ||
		    PEM_read_bio(bio, &name, &header, &data, &dlen) != 1 || dlen <= 0) {
			ERR_clear_error();
			jpki_set_detail("%s: bad PEM", path);
			r = JPKI_ERR_FORMAT;
		} else if ((*der = malloc((size_t)dlen)) == NULL) {
			r = JPKI_ERR_NOMEM;
		} else {
			memcpy(*der, data, (size_t)dlen);
			*len = (size_t)dlen;
		}
		BIO_free(bio);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		free(b);
		return r;
	}
	*der = b;
	*len = n;
	return 0;
}

static STACK_OF(X509_CRL) *
load_crls(struct args *a, int *err)
{
	STACK_OF(X509_CRL) *sk;
	int i;

	*err = 0;
	if (a->ncrl == 0)
		return NULL;
	if ((sk = sk_X509_CRL_new_null()) == NULL) {
		*err = JPKI_ERR_NOMEM;
		return NULL;
	}
	for (i = 0; i < a->ncrl; i++) {
		uint8_t *b = NULL;
		const uint8_t *p;
		size_t n = 0;
		X509_CRL *crl = NULL;
		BIO *bio;

		if ((*err = jpki_file_read(a->crls[i], (size_t)64 << 20, &b, &n)) != 0)
			break;
		p = b;
		crl = d2i_X509_CRL(NULL, &p, (long)n);
		if (crl == NULL && (bio = BIO_new_mem_buf(b, (int)n)) != NULL) {
			crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
			BIO_free(bio);
		}
		free(b);
		ERR_clear_error();
		if (crl == NULL || sk_X509_CRL_push(sk, crl) <= 0) {
			X509_CRL_free(crl);
			jpki_set_detail("%s: not a CRL", a->crls[i]);
			*err = JPKI_ERR_FORMAT;
			break;
		}
	}
	if (*err != 0) {
		sk_X509_CRL_pop_free(sk, X509_CRL_free);
		return NULL;
	}
	return sk;
}

static const char *
verify_message(int r)
{
	switch (r) {
	case JPKI_ERR_VERIFY:
		return M("the document was changed after it was signed, or the signature is not valid",
		         "文書が署名の後に改ざんされたか、署名が正しくありません");
	case JPKI_ERR_UNTRUSTED:
		return M("the signer's certificate was not issued by the trusted Signing CA",
		         "署名者の電子証明書は、信頼する署名用認証局が発行したものではありません");
	case JPKI_ERR_EXPIRED:
		return M("the signer's certificate is outside its validity period",
		         "署名者の電子証明書は有効期間外です");
	case JPKI_ERR_REVOKED:
		return M("the signer's certificate is revoked", "署名者の電子証明書は失効しています");
	case JPKI_ERR_HOLD:
		return M("the signer's certificate is on hold (temporarily suspended)",
		         "署名者の電子証明書は一時保留されています");
	case JPKI_ERR_NOT_FOUND:
		return M("the status responder does not know the signer's certificate",
		         "署名者の電子証明書は失効情報の提供者に知られていません");
	case JPKI_ERR_NET:
		return M("the certificate's status could not be checked",
		         "電子証明書の失効情報を確認できませんでした");
	case JPKI_ERR_FORMAT:
		return M("not a CMS signature of this kind", "この形式の署名ではありません");
	default:
		return jpki_strerror(r);
	}
}

static const char *
verify_error_name(int r)
{
	switch (r) {
	case JPKI_ERR_VERIFY: return "signature_invalid";
	case JPKI_ERR_UNTRUSTED: return "untrusted";
	case JPKI_ERR_EXPIRED: return "expired";
	case JPKI_ERR_REVOKED: return "revoked";
	case JPKI_ERR_HOLD: return "hold";
	case JPKI_ERR_NOT_FOUND: return "unknown";
	case JPKI_ERR_NET: return "status_unavailable";
	case JPKI_ERR_FORMAT: return "format";
	default: return "error";
	}
}

static json_t *
identity_json(const jpki_identity_t *id)
{
	json_t *o = json_object();
	char buf[32];

	jset(o, "name", id->name);
	if (id->has_dob) {
		jpki_date_format_iso(&id->dob, buf, sizeof(buf));
		jset(o, "dob", buf);
	}
	jset(o, "dob_code", id->dob_code);
	json_object_set_new(o, "sex", json_integer(id->sex));
	jset(o, "address", id->address);
	if (id->alias[0] != '\0')
		jset(o, "alias", id->alias);
	return o;
}

static int
cmd_verify(struct args *a)
{
	jpki_verify_opts_t o;
	jpki_verified_t v;
	X509 *anchor = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	uint8_t hash[32], *sig = NULL;
	size_t slen = 0;
	char buf[2048], hex[64];
	uint8_t serial[JPKI_SERIAL_MAX];
	size_t sl = 0;
	int r;

	memset(&v, 0, sizeof(v));
	if (a->npos != 2)
		return jpki_cli_usage_error(prog, "verify: FILE and SIG");
	if ((r = jpki_sha256_file(a->pos[0], hash)) != 0 || (r = load_sig(a->pos[1], &sig, &slen)) != 0)
		goto out;
	crls = load_crls(a, &r);
	if (r != 0)
		goto out;
	if (a->ca != NULL) {
		if ((r = jpki_x509_load_cert(a->ca, &anchor)) != 0)
			goto out;
	} else {
		struct card c;
		if ((r = card_open(a, &c, 0)) != 0)
			goto out;
		r = jpki_token_read_x509(c.rd, JPKI_EF_SIGN_CA, &anchor);
		card_close(&c);
		if (r != 0)
			goto out;
	}
	memset(&o, 0, sizeof(o));
	o.anchor = anchor;
	o.kind = JPKI_CA_SIGN;
	o.no_status = a->no_status;
	status_opts(a, &o.status);
	o.status.crls = crls;
	r = jpki_cms_verify(sig, slen, hash, &o, &v);
	if (a->json) {
		json_t *j = json_object();
		jset(j, "result", r == 0 ? "valid" : "invalid");
		if (r != 0) {
			jset(j, "error", verify_error_name(r));
			json_object_set_new(j, "code", json_integer(r));
			jset(j, "message", verify_message(r));
			jset(j, "detail", jpki_detail());
		}
		if (v.cert != NULL && jpki_x509_serial(v.cert, serial, &sl) == 0) {
			jpki_serial_hex(serial, sl, hex, sizeof(hex));
			jset(j, "serial", hex);
		}
		if (v.has_id)
			json_object_set_new(j, "identity", identity_json(&v.id));
		if (v.signing_time) {
			iso(v.signing_time, buf, sizeof(buf));
			jset(j, "signing_time", buf);
		}
		if (v.status_checked)
			json_object_set_new(j, "status", status_json(&v.status));
		json_out(j);
		r = r != 0 ? jpki_cli_exit_code(r) : 0;
		goto done;
	}
	if (r == 0 || v.has_id) {
		if (r == 0)
			printf("%s\n", M("The signature is valid.", "署名は正しく検証されました。"));
		if (v.has_id) {
			row("Name", "氏名", v.id.name);
			if (v.id.has_dob && jpki_era_format_both(&v.id.dob, buf, sizeof(buf)) == 0)
				row("Date of birth", "生年月日", buf);
			row("Sex", "性別", jpki_sex_name(v.id.sex, jpki_lang_ja()));
			row("Address", "住所", v.id.address);
			if (v.id.alias[0] != '\0')
				row("Alias", "通称", v.id.alias);
		}
		if (v.signing_time) {
			jpki_cli_format_time(v.signing_time, buf, sizeof(buf));
			row("Signed at (claimed)", "署名日時（署名者の申告）", buf);
		}
		if (v.status_checked && r == 0)
			status_print(M("Status", "失効確認"), &v.status, 0);
		else if (r == 0)
			printf("%s\n", M("Status not checked (--no-status).", "失効確認は行っていません。"));
	}
	if (r != 0) {
		char d[512];

		snprintf(d, sizeof(d), "%s", jpki_detail());
		if (r == JPKI_ERR_REVOKED || r == JPKI_ERR_HOLD) {
			char when[96];
			jpki_cli_format_time(v.status.since, when, sizeof(when));
			fprintf(stderr, "%s: %s (%s, %s %s)\n", prog, verify_message(r),
			        r == JPKI_ERR_HOLD ? "certificateHold" : reason_text(v.status.reason),
			        M("since", "日時"), when);
		} else {
			fprintf(stderr, "%s: %s%s%s\n", prog, verify_message(r), d[0] ? ": " : "", d);
		}
		r = jpki_cli_exit_code(r);
		goto done;
	}
	goto done;
out:
	r = r != 0 ? fail(r) : 0;
done:
	jpki_verified_clear(&v);
	X509_free(anchor);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(sig);
	return r;
}

/* ---- login ----------------------------------------------------------------------------------- */

static int
fetch_json(const char *url, const char *body, json_t **out, long *status)
{
	jpki_http_req_t q;
	json_error_t je;
	uint8_t *b = NULL;
	size_t n = 0;
	int r;

	*out = NULL;
	memset(&q, 0, sizeof(q));
	q.url = url;
	q.accept = "application/json";
	q.max = ANSWER_MAX;
	if (body != NULL) {
		q.body = body;
		q.body_len = strlen(body);
		q.content_type = "application/json";
	}
	if ((r = jpki_http_fetch(&q, status, &b, &n)) != 0)
		return r;
	*out = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, &je);
	free(b);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		jpki_set_detail("%s answered HTTP %ld without a JSON object", url, *status);
		return JPKI_ERR_FORMAT;
	}
	return 0;
}

static int
cmd_login(struct args *a)
{
	struct card c;
	char origin[JPKI_LOGIN_ORIGIN_MAX], base[1024], url[1100], *b64c = NULL, *b64s = NULL;
	char *body = NULL;
	json_t *ch = NULL, *ans = NULL, *req = NULL;
	const char *id, *chs, *res;
	uint8_t *chal = NULL, *der = NULL, hash[32], di[JPKI_DIGESTINFO_SHA256_LEN], sig[JPKI_SIG_LEN];
	size_t chl = 0, dl = 0, n;
	long st = 0;
	int r, opened = 0, code;

	if (a->npos != 1)
		return jpki_cli_usage_error(prog, "login: one URL");
	if ((r = jpki_login_origin(a->pos[0], origin, sizeof(origin))) != 0)
		return fail(r);
	snprintf(base, sizeof(base), "%s", a->pos[0]);
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	snprintf(url, sizeof(url), "%s/login/challenge", base);
	if ((r = fetch_json(url, NULL, &ch, &st)) != 0)
		goto out;
	if (st != 200 || (id = json_string_value(json_object_get(ch, "id"))) == NULL ||
	    (chs = json_string_value(json_object_get(ch, "challenge"))) == NULL) {
		jpki_set_detail("%s: HTTP %ld, no challenge in the answer", url, st);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if ((r = jpki_base64_decode(chs, strlen(chs), JPKI_LOGIN_CHALLENGE_LEN, &chal, &chl)) != 0 ||
	    chl != JPKI_LOGIN_CHALLENGE_LEN) {
		jpki_set_detail("%s: the challenge is not 32 bytes of base64", url);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if ((r = card_open(a, &c, 0)) != 0)
		goto out;
	opened = 1;
	if ((r = ask_pin(a, &c, JPKI_PIN_AUTH, NULL, NULL, 0)) != 0 ||
	    (r = jpki_token_read_cert(c.rd, JPKI_EF_AUTH_CERT, &der, &dl)) != 0 ||
	    (r = jpki_login_digest(chal, origin, hash)) != 0)
		goto out;
	jpki_token_digestinfo_sha256(hash, di);
	if ((r = jpki_token_sign(c.rd, JPKI_PIN_AUTH, di, sizeof(di), sig)) != 0)
		goto out;
	card_close(&c);
	opened = 0;
	if ((r = jpki_base64_encode(der, dl, &b64c)) != 0 ||
	    (r = jpki_base64_encode(sig, sizeof(sig), &b64s)) != 0)
		goto out;
	req = json_object();
	jset(req, "id", id);
	jset(req, "certificate", b64c);
	jset(req, "signature", b64s);
	if ((body = json_dumps(req, JSON_COMPACT)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	snprintf(url, sizeof(url), "%s/login", base);
	if ((r = fetch_json(url, body, &ans, &st)) != 0)
		goto out;
	res = json_string_value(json_object_get(ans, "result"));
	if (a->json) {
		json_dumpf(ans, stdout, JSON_COMPACT);
		fputc('\n', stdout);
	}
	if (res != NULL && strcmp(res, "ok") == 0) {
		if (!a->json)
			printf(M("logged in to %s\n", "%s にログインしました\n"), origin);
		r = 0;
		goto out;
	}
	{
		const char *msg = json_string_value(json_object_get(ans, "message"));
		json_t *jc = json_object_get(ans, "code");

		code = json_is_integer(jc) ? (int)json_integer_value(jc) : 0;
		fprintf(stderr, M("%s: the service refused the login: %s\n",
		                  "%s: ログインは拒否されました: %s\n"), prog,
		        msg != NULL ? msg : "?");
		r = code < 0 && code > JPKI_ERR__LAST ? jpki_cli_exit_code(code) : 1;
		json_decref(ch);
		json_decref(ans);
		json_decref(req);
		free(body);
		free(b64c);
		free(b64s);
		free(der);
		free(chal);
		return r;
	}
out:
	OPENSSL_cleanse(sig, sizeof(sig));
	if (opened)
		card_close(&c);
	json_decref(ch);
	json_decref(ans);
	json_decref(req);
	free(body);
	free(b64c);
	free(b64s);
	free(der);
	free(chal);
	return r != 0 ? fail(r) : 0;
}

/* ---- revoke (L7, online) ------------------------------------------------------------------ */

/* The online window of the Agency whose responder the certificate names:
 * the OCSP URL's origin (docs/online-window.md), or --url. */
static int
revoke_url(struct args *a, X509 *x, char *out, size_t outlen)
{
	STACK_OF(OPENSSL_STRING) *ocsp = NULL;
	char origin[JPKI_LOGIN_ORIGIN_MAX];
	const char *base = a->url;
	size_t n;
	int r = 0;

	if (base == NULL) {
		ocsp = X509_get1_ocsp(x);
		if (ocsp == NULL || sk_OPENSSL_STRING_num(ocsp) < 1) {
			X509_email_free(ocsp);
			jpki_set_detail(M("the certificate names no OCSP responder: give the online "
			                  "window with --url", "電子証明書に OCSP の所在がありません。"
			                  "--url でオンライン窓口を指定してください"));
			return JPKI_ERR_NOT_FOUND;
		}
		r = jpki_login_origin(sk_OPENSSL_STRING_value(ocsp, 0), origin, sizeof(origin));
		X509_email_free(ocsp);
		if (r != 0)
			return r;
		base = origin;
	}
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (n + sizeof("/window/revoke") > outlen || n == 0) {
		jpki_set_detail("--url: too long or empty");
		return JPKI_ERR_INVALID_ARG;
	}
	if (a->url != NULL && (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)) {
		jpki_set_detail("--url '%s': want http:// or https://", base);
		return JPKI_ERR_INVALID_ARG;
	}
	snprintf(out, outlen, "%.*s/window/revoke", (int)n, base);
	return 0;
}

struct key_signer {
	jpki_reader_t *rd;
	jpki_pin_kind_t key;
};

static int
key_sign_cb(void *ctx, const uint8_t *di, size_t len, uint8_t *sig, size_t max, size_t *n)
{
	struct key_signer *ks = ctx;
	int r;

	if (max < JPKI_SIG_LEN)
		return JPKI_ERR_INTERNAL;
	if ((r = jpki_token_sign(ks->rd, ks->key, di, len, sig)) != 0)
		return r;
	*n = JPKI_SIG_LEN;
	return 0;
}

/*
 * A revocation request signed with the card (L7 online): with the signing
 * key for sign or both (the signing password), with the authentication key
 * for auth (the PIN).  The window checks the signature, that the key's
 * certificate is on the card being revoked, and the time and nonce.
 */
static int
cmd_revoke(struct args *a)
{
	static const char *const reasons[] = {"lost", "stolen", "broken", "misused", "voluntary"};
	struct card c;
	struct key_signer ks;
	const char *which = a->npos ? a->pos[0] : "both";
	X509 *x = NULL;
	uint8_t nonce[16], hash[32], *der = NULL;
	size_t len = 0, i;
	char nonce_hex[33], when[24], url[1200], *req = NULL, *b64r = NULL, *b64s = NULL;
	char *body = NULL, question[256];
	json_t *ans = NULL, *rv;
	const char *ref, *err;
	long st = 0;
	int r, opened = 0, ok_reason = 0;
	jpki_pin_kind_t key;

	if (a->npos > 1 || (strcmp(which, "sign") && strcmp(which, "auth") && strcmp(which, "both")))
		return jpki_cli_usage_error(prog, "revoke: sign, auth or both (default both)");
	for (i = 0; a->reason != NULL && i < 5; i++)
		ok_reason |= !strcmp(a->reason, reasons[i]);
	if (!ok_reason)
		return jpki_cli_usage_error(prog, "revoke: --reason lost|stolen|broken|misused|voluntary");
	key = !strcmp(which, "auth") ? JPKI_PIN_AUTH : JPKI_PIN_SIGN;
	if ((r = card_open(a, &c, 0)) != 0)
		return fail(r);
	opened = 1;
	/* The auth certificate can be read freely; the signature certificate
	 * needs the signing password first (the card requires it). */
	if (key == JPKI_PIN_AUTH &&
	    (r = jpki_token_read_x509(c.rd, JPKI_EF_AUTH_CERT, &x)) != 0)
		goto out;
	if (!a->yes) {
		snprintf(question, sizeof(question),
		         M("Revoke the %s on this card (%s)? It cannot be undone. [y/N] ",
		           "このカードの%s を失効させますか（理由: %s）。取り消せません。[y/N] "),
		         !strcmp(which, "both") ? M("signature and authentication certificates",
		                                   "署名用・利用者証明用電子証明書")
		                               : kind_label(key == JPKI_PIN_AUTH ? JPKI_CA_AUTH
		                                                                 : JPKI_CA_SIGN),
		         a->reason);
		if ((r = jpki_prompt_yes(question)) < 0)
			goto out;
		if (r == 0) {
			fprintf(stderr, M("%s: nothing was revoked\n", "%s: 失効させませんでした\n"), prog);
			r = JPKI_ERR_STATE;
			jpki_set_detail(M("not confirmed", "確認されませんでした"));
			goto out;
		}
	}
	if ((r = ask_pin(a, &c, key, NULL, NULL, 0)) != 0)
		goto out;
	if (x == NULL && (r = jpki_token_read_x509(c.rd, JPKI_EF_SIGN_CERT, &x)) != 0)
		goto out;
	if ((r = revoke_url(a, x, url, sizeof(url))) != 0)
		goto out;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	for (i = 0; i < sizeof(nonce); i++)
		snprintf(nonce_hex + 2 * i, 3, "%02x", nonce[i]);
	iso(jpki_now(), when, sizeof(when));
	{
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "jpki-online-revoke", "which",
		                      which, "reason", a->reason, "time", when, "nonce", nonce_hex);
		req = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
	}
	if (req == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	SHA256((const uint8_t *)req, strlen(req), hash);
	ks.rd = c.rd;
	ks.key = key;
	if ((r = jpki_cms_sign(hash, x, 0, key_sign_cb, &ks, &der, &len)) != 0)
		goto out;
	card_close(&c);
	opened = 0;
	if ((r = jpki_base64_encode((const uint8_t *)req, strlen(req), &b64r)) != 0 ||
	    (r = jpki_base64_encode(der, len, &b64s)) != 0)
		goto out;
	{
		json_t *o = json_pack("{s:s,s:s}", "request", b64r, "signature", b64s);
		body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
	}
	if (body == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if ((r = fetch_json(url, body, &ans, &st)) != 0)
		goto out;
	if (st != 200 || (ref = json_string_value(json_object_get(ans, "ref"))) == NULL) {
		err = json_string_value(json_object_get(ans, "error"));
		jpki_set_detail(M("the online window refused (HTTP %ld): %s",
		                  "オンライン窓口が受け付けませんでした（HTTP %ld）: %s"),
		                st, err ? err : "?");
		r = st == 409 ? JPKI_ERR_STATE : st == 403 ? JPKI_ERR_AUTH :
		    st == 400 ? JPKI_ERR_FORMAT : JPKI_ERR_NET;
		goto out;
	}
	if (a->json) {
		json_out(json_incref(ans));
	} else {
		rv = json_object_get(ans, "revoked");
		printf(M("The online window accepted the revocation.\n", "失効申請が受け付けられました。\n"));
		printf(M("  reference number: %s\n", "  受付番号: %s\n"), ref);
		if (json_object_get(rv, "sign") != NULL)
			printf(M("  revoked: signature certificate (serial %s)\n",
			         "  失効: 署名用電子証明書（シリアル番号 %s）\n"),
			       json_string_value(json_object_get(rv, "sign")));
		if (json_object_get(rv, "auth") != NULL)
			printf(M("  revoked: authentication certificate (serial %s)\n",
			         "  失効: 利用者証明用電子証明書（シリアル番号 %s）\n"),
			       json_string_value(json_object_get(rv, "auth")));
		printf(M("  reason: %s  at: %s\n", "  理由: %s  日時: %s\n"),
		       json_string_value(json_object_get(ans, "reason")) ?: "?",
		       json_string_value(json_object_get(ans, "time")) ?: "?");
	}
out:
	json_decref(ans);
	free(body);
	free(b64r);
	free(b64s);
	free(der);
	if (req != NULL) {
		OPENSSL_cleanse(req, strlen(req));
		free(req);
	}
	X509_free(x);
	if (opened)
		card_close(&c);
	return r != 0 ? fail(r) : 0;
}

/* ---- main ----------------------------------------------------------------------------------- */

enum {
	O_JSON = 256, O_DETAIL, O_PEM, O_DER, O_PIN_STDIN, O_NO_STATUS, O_NO_OCSP, O_NO_CRL, O_CA,
	O_PUBLISHED, O_URL, O_OCSP_URL, O_CRL_URL, O_CRL, O_DOB, O_REASON, O_YES
};

static const struct option longopts[] = {
	{"reader", required_argument, NULL, 'r'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"out", required_argument, NULL, 'o'},
	{"json", no_argument, NULL, O_JSON},
	{"detail", no_argument, NULL, O_DETAIL},
	{"pem", no_argument, NULL, O_PEM},
	{"der", no_argument, NULL, O_DER},
	{"pin-stdin", no_argument, NULL, O_PIN_STDIN},
	{"no-status", no_argument, NULL, O_NO_STATUS},
	{"no-ocsp", no_argument, NULL, O_NO_OCSP},
	{"no-crl", no_argument, NULL, O_NO_CRL},
	{"ca", required_argument, NULL, O_CA},
	{"published", required_argument, NULL, O_PUBLISHED},
	{"url", required_argument, NULL, O_URL},
	{"ocsp-url", required_argument, NULL, O_OCSP_URL},
	{"crl-url", required_argument, NULL, O_CRL_URL},
	{"crl", required_argument, NULL, O_CRL},
	{"dob", required_argument, NULL, O_DOB},
	{"reason", required_argument, NULL, O_REASON},
	{"yes", no_argument, NULL, O_YES},
	{NULL, 0, NULL, 0},
};

int
main(int argc, char **argv)
{
	struct args a;
	const char *cmd;
	int c;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, "+r:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': a.reader = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("jpki (OpenJPKI) 0.1.0\n"); return 0;
		case O_JSON: a.json = 1; break;
		case O_PIN_STDIN: a.pin_stdin = 1; break;
		default: return jpki_cli_usage_error(prog, "unknown option");
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return JPKI_EXIT_USAGE;
	}
	cmd = argv[optind];
	/* The command's own options and arguments, in any order: a fresh scan of
	 * the words after the command (optind 0 reinitializes GNU getopt). */
	argc -= optind;
	argv += optind;
	optind = 0;
	while ((c = getopt_long(argc, argv, "r:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': a.reader = optarg; break;
		case 'h': return usage_cmd(cmd);
		case 'o': a.out = optarg; break;
		case O_JSON: a.json = 1; break;
		case O_DETAIL: a.detail = 1; break;
		case O_PEM: a.pem = 1; break;
		case O_DER: a.der = 1; break;
		case O_PIN_STDIN: a.pin_stdin = 1; break;
		case O_NO_STATUS: a.no_status = 1; break;
		case O_NO_OCSP: a.no_ocsp = 1; break;
		case O_NO_CRL: a.no_crl = 1; break;
		case O_CA: a.ca = optarg; break;
		case O_PUBLISHED: a.published = optarg; break;
		case O_URL: a.url = optarg; break;
		case O_OCSP_URL: a.ocsp_url = optarg; break;
		case O_CRL_URL: a.crl_url = optarg; break;
		case O_DOB: a.dob = optarg; break;
		case O_REASON: a.reason = optarg; break;
		case O_YES: a.yes = 1; break;
		case O_CRL:
			if (a.ncrl >= MAX_CRLS)
				return jpki_cli_usage_error(prog, "at most %d --crl files", MAX_CRLS);
			a.crls[a.ncrl++] = optarg;
			break;
		default: return jpki_cli_usage_error(prog, "bad option for '%s'", cmd);
		}
	}
	a.pos = argv + optind;
	a.npos = argc - optind;
	if (a.no_ocsp && a.no_crl)
		return jpki_cli_usage_error(prog, "--no-ocsp and --no-crl leave no way to check status");
	if (!strcmp(cmd, "readers"))
		return a.npos ? jpki_cli_usage_error(prog, "readers takes no arguments") : cmd_readers(&a);
	if (!strcmp(cmd, "card"))
		return a.npos ? jpki_cli_usage_error(prog, "card takes no arguments") : cmd_card(&a);
	if (!strcmp(cmd, "cert"))
		return cmd_cert(&a);
	if (!strcmp(cmd, "ca"))
		return cmd_ca(&a);
	if (!strcmp(cmd, "pin"))
		return cmd_pin(&a);
	if (!strcmp(cmd, "status"))
		return cmd_status(&a);
	if (!strcmp(cmd, "sign"))
		return cmd_sign(&a);
	if (!strcmp(cmd, "verify"))
		return cmd_verify(&a);
	if (!strcmp(cmd, "login"))
		return cmd_login(&a);
	if (!strcmp(cmd, "revoke"))
		return cmd_revoke(&a);
	if (!strcmp(cmd, "help"))
		return a.npos ? usage_cmd(a.pos[0]) : (usage(stdout), 0);
	return jpki_cli_usage_error(prog, "unknown command '%s'", cmd);
}
