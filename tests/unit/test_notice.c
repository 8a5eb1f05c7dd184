/* The window's notices and the printed certificate copy (L7, L10, L11), and
 * the subjectAltName reader they rest on (spec §4). */
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
#include <openssl/x509v3.h>

#include "jpki/ca.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/registry.h"
#include "jpki/x509.h"

/* 2026-11-21T01:00:00Z = 10:00 JST of 2026-11-21 */
#define T_ISSUE ((time_t)1795222800)
#define PYTHON "/usr/bin/python3"

static char base[256];
static EVP_PKEY *key;
static jpki_ca_t *ca;
static X509 *sign_cert, *auth_cert;
static int nfile;

static jpki_person_t person = {.name = "山田　花子", .dob = {1977, 11, 7}, .sex = 2,
                               .address = "東京都千代田区霞が関２丁目１番２号",
                               .alias = "ヤマダ　ハナ"};

static int
setup(void **state)
{
	const char *t = getenv("JPKI_TEST_TMP");
	jpki_ca_init_opts_t o = {.test = 1, .base_url = "http://127.0.0.1:18080"};
	jpki_issue_req_t req = {.pub = NULL, .person = &person, .gen = JPKI_GEN_MYNUMBER,
	                        .now = T_ISSUE};
	jpki_issued_t is;
	char tmpl[200], dir[300];

	if (t == NULL)
		t = "/tmp";
	jpki_file_mkdirs(t, 0755);
	if (strlen(t) > 150)
		return -1;
	snprintf(tmpl, sizeof(tmpl), "%s/test_notice.XXXXXX", t);
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(base, sizeof(base), "%s", tmpl);
	if ((key = EVP_RSA_gen(2048)) == NULL)
		return -1;
	/* A real signature and authentication certificate from the library's CAs. */
	snprintf(dir, sizeof(dir), "%s/ca", base);
	if (jpki_ca_init(dir, &o) != 0 || jpki_ca_open(dir, &ca) != 0)
		return -1;
	req.pub = key;
	req.kind = JPKI_CA_SIGN;
	if (jpki_ca_issue(ca, &req, &is) != 0)
		return -1;
	sign_cert = is.cert;
	is.cert = NULL;
	jpki_issued_clear(&is);
	req.kind = JPKI_CA_AUTH;
	if (jpki_ca_issue(ca, &req, &is) != 0)
		return -1;
	auth_cert = is.cert;
	is.cert = NULL;
	jpki_issued_clear(&is);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];

	X509_free(sign_cert);
	X509_free(auth_cert);
	jpki_ca_close(ca);
	EVP_PKEY_free(key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the independent peer: Python's html.parser ---- */

/* Parses each page, checks the doctype, UTF-8, the print CSS, that every
 * element is closed in order and that no script element exists; then that
 * each --expect string appears in the text as decoded by the parser (escaped
 * once, not twice). */
static const char html_check_py[] =
	"import sys\n"
	"from html.parser import HTMLParser\n"
	"VOID = {'area','base','br','col','embed','hr','img','input','link','meta','source',"
	"'track','wbr'}\n"
	"class P(HTMLParser):\n"
	"    def __init__(self):\n"
	"        super().__init__(convert_charrefs=True)\n"
	"        self.stack, self.errors, self.decl, self.text, self.tags = [], [], None, [], []\n"
	"    def handle_decl(self, d): self.decl = d\n"
	"    def handle_starttag(self, t, a):\n"
	"        self.tags.append(t)\n"
	"        if t not in VOID: self.stack.append(t)\n"
	"    def handle_startendtag(self, t, a):\n"
	"        self.tags.append(t)\n"
	"    def handle_endtag(self, t):\n"
	"        if not self.stack or self.stack[-1] != t:\n"
	"            self.errors.append('unexpected </%s>, open %s' % (t, self.stack)); return\n"
	"        self.stack.pop()\n"
	"    def handle_data(self, d): self.text.append(d)\n"
	"args, expect = sys.argv[1:], []\n"
	"files = []\n"
	"i = 0\n"
	"while i < len(args):\n"
	"    if args[i] == '--expect': expect.append(args[i + 1]); i += 2\n"
	"    else: files.append(args[i]); i += 1\n"
	"bad = 0\n"
	"for f in files:\n"
	"    data = open(f, encoding='utf-8', errors='strict').read()\n"
	"    p = P(); p.feed(data); p.close()\n"
	"    e = p.errors\n"
	"    if (p.decl or '').lower() != 'doctype html': e.append('no <!DOCTYPE html>')\n"
	"    if p.stack: e.append('unclosed %s' % p.stack)\n"
	"    if 'script' in p.tags: e.append('a script element')\n"
	"    if p.tags[:1] != ['html'] or 'meta' not in p.tags: e.append('no html/meta')\n"
	"    if 'charset=\"utf-8\"' not in data or '@media print' not in data or 'A4' not in data:\n"
	"        e.append('no utf-8 / print CSS')\n"
	"    text = ''.join(p.text)\n"
	"    for x in expect:\n"
	"        if x not in text: e.append('text lacks %r' % x)\n"
	"    for m in e: print('%s: %s' % (f, m)); bad = 1\n"
	"sys.exit(bad)\n";

static int
have_python(void)
{
	return access(PYTHON, X_OK) == 0;
}

/* Write s to a new file under base; path receives its name. */
static void
write_page(const char *s, char *path, size_t pathlen)
{
	FILE *f;

	snprintf(path, pathlen, "%s/page%d.html", base, nfile++);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, strlen(s), f), strlen(s));
	assert_int_equal(fclose(f), 0);
}

/* Run the checker over the files, with strings the decoded text must hold
 * (NULL-terminated).  The strings pass through the shell single-quoted. */
static int
python_check(const char *files, const char *const *expect)
{
	char script[300], cmd[8192];
	size_t o;
	FILE *f;

	snprintf(script, sizeof(script), "%s/check_html.py", base);
	f = fopen(script, "w");
	assert_non_null(f);
	fputs(html_check_py, f);
	assert_int_equal(fclose(f), 0);
	o = (size_t)snprintf(cmd, sizeof(cmd), "%s '%s' %s", PYTHON, script, files);
	for (; expect != NULL && *expect != NULL; expect++) {
		const char *s;

		o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, " --expect '");
		for (s = *expect; *s && o + 8 < sizeof(cmd); s++) {
			if (*s == '\'')
				o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, "'\\''");
			else
				cmd[o++] = *s;
		}
		o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, "'");
		assert_true(o < sizeof(cmd));
	}
	return system(cmd);
}

/* ---- notices ---- */

static void
fill_act(jpki_act_t *a, jpki_act_kind_t k)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->ref, sizeof(a->ref), "20261121-%06d", (int)k + 1);
	a->kind = k;
	a->state = JPKI_ACT_DONE;
	snprintf(a->resident, sizeof(a->resident), "00000001");
	snprintf(a->card, sizeof(a->card), "0000000001");
	snprintf(a->operator_name, sizeof(a->operator_name), "suzuki");
	snprintf(a->id_kind, sizeof(a->id_kind), "driving-licence");
	snprintf(a->id_masked, sizeof(a->id_masked), "********1234");
	a->time = T_ISSUE;
	a->reason = JPKI_REASON_NONE;
	switch (k) {
	case JPKI_ACT_ISSUE:
	case JPKI_ACT_RENEW:
		snprintf(a->sign_new, sizeof(a->sign_new), "7A11223344556677");
		snprintf(a->auth_new, sizeof(a->auth_new), "4B11223344556677");
		if (k == JPKI_ACT_RENEW) {
			snprintf(a->sign_old, sizeof(a->sign_old), "6C00000000000001");
			a->reason = JPKI_REASON_SUPERSEDED;
		}
		break;
	case JPKI_ACT_REVOKE:
		snprintf(a->sign_old, sizeof(a->sign_old), "7A11223344556677");
		snprintf(a->auth_old, sizeof(a->auth_old), "4B11223344556677");
		a->reason = JPKI_REASON_KEY_COMPROMISE;
		snprintf(a->detail, sizeof(a->detail), "revoked sign and auth: card lost");
		break;
	case JPKI_ACT_SUSPEND:
		snprintf(a->sign_old, sizeof(a->sign_old), "7A11223344556677");
		snprintf(a->auth_old, sizeof(a->auth_old), "4B11223344556677");
		a->reason = JPKI_REASON_CERTIFICATE_HOLD;
		a->operator_name[0] = '\0';
		a->id_kind[0] = a->id_masked[0] = '\0';
		break;
	case JPKI_ACT_RELEASE:
		snprintf(a->sign_old, sizeof(a->sign_old), "7A11223344556677");
		snprintf(a->auth_old, sizeof(a->auth_old), "4B11223344556677");
		break;
	case JPKI_ACT_CHANGE:
		snprintf(a->sign_old, sizeof(a->sign_old), "7A11223344556677");
		a->reason = JPKI_REASON_AFFILIATION_CHANGED;
		snprintf(a->detail, sizeof(a->detail), "address changed from 2026-11-20");
		break;
	default:
		break;
	}
}

static void
fill_resident(jpki_resident_t *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "00000001");
	snprintf(r->name, sizeof(r->name), "%s", person.name);
	snprintf(r->kana, sizeof(r->kana), "ヤマダ　ハナコ");
	r->dob = person.dob;
	r->sex = 2;
	snprintf(r->address, sizeof(r->address), "%s", person.address);
}

static void
test_every_kind_both_languages_both_forms(void **state)
{
	/* What each title must say (the brief and the guides' words). */
	static const char *const want_ja[JPKI_ACT__COUNT] = {
		[JPKI_ACT_REGISTER] = "登録", [JPKI_ACT_CHANGE] = "異動",
		[JPKI_ACT_ISSUE] = "電子証明書発行通知書", [JPKI_ACT_RENEW] = "更新",
		[JPKI_ACT_REVOKE] = "電子証明書失効申請等受理通知書", [JPKI_ACT_SUSPEND] = "一時保留",
		[JPKI_ACT_RELEASE] = "一時保留解除", [JPKI_ACT_PIN_INIT] = "パスワード初期化・ロック解除",
		[JPKI_ACT_RETURN] = "返納", [JPKI_ACT_COPY] = "写し",
	};
	static const char *const want_en[JPKI_ACT__COUNT] = {
		[JPKI_ACT_REGISTER] = "registration", [JPKI_ACT_CHANGE] = "change",
		[JPKI_ACT_ISSUE] = "issuance", [JPKI_ACT_RENEW] = "renewal",
		[JPKI_ACT_REVOKE] = "revocation", [JPKI_ACT_SUSPEND] = "suspension",
		[JPKI_ACT_RELEASE] = "release", [JPKI_ACT_PIN_INIT] = "password",
		[JPKI_ACT_RETURN] = "return", [JPKI_ACT_COPY] = "copy",
	};
	const char *expect[] = {"山田　花子", NULL, NULL};
	jpki_act_t a;
	jpki_resident_t res;
	char *s, path[400], files[4096] = "";
	int k, ja, html;

	fill_resident(&res);
	for (k = 0; k < JPKI_ACT__COUNT; k++) {
		fill_act(&a, (jpki_act_kind_t)k);
		for (ja = 0; ja < 2; ja++) {
			for (html = 0; html < 2; html++) {
				s = (char *)1;
				assert_int_equal(jpki_notice_render(&a, &res, "千代田区役所", html, ja, &s),
				                 0);
				assert_non_null(s);
				assert_non_null(strstr(s, ja ? want_ja[k] : want_en[k]));
				assert_non_null(strstr(s, a.ref));
				assert_non_null(strstr(s, "千代田区役所"));
				assert_non_null(strstr(s, ja ? "令和8年11月21日 (2026-11-21) 10:00 JST"
				                             : "2026-11-21 10:00 JST (Reiwa 8)"));
				assert_non_null(strstr(s, ja ? "無料" : "free"));
				assert_non_null(strstr(s, "山田　花子"));
				assert_non_null(strstr(s, "00000001"));
				if (k != JPKI_ACT_SUSPEND) {
					assert_non_null(strstr(s, "********1234"));
					assert_non_null(strstr(s, ja ? "運転免許証" : "driving licence"));
					assert_non_null(strstr(s, "suzuki"));
				}
				assert_non_null(strstr(s, ja ? "この通知書は大切に保管してください"
				                             : "Keep this notice"));
				if (a.sign_old[0] != '\0')
					assert_non_null(strstr(s, a.sign_old));
				if (a.sign_new[0] != '\0')
					assert_non_null(strstr(s, a.sign_new));
				if (html) {
					assert_true(strncmp(s, "<!DOCTYPE html>\n", 16) == 0);
					assert_non_null(strstr(s, ja ? "<html lang=\"ja\">"
					                             : "<html lang=\"en\">"));
					assert_non_null(strstr(s, "@media print"));
					assert_string_equal(s + strlen(s) - 8, "</html>\n");
					write_page(s, path, sizeof(path));
					strcat(files, " '");
					strcat(files, path);
					strcat(files, "'");
				} else {
					assert_null(strchr(s, '<'));
				}
				free(s);
			}
		}
	}
	if (!have_python()) {
		print_message("SKIPPED: %s missing: HTML pages not checked by html.parser\n",
		              PYTHON);
		return;
	}
	assert_int_equal(python_check(files, NULL), 0);
	/* The decoded text of one page holds the values as given. */
	fill_act(&a, JPKI_ACT_REVOKE);
	expect[1] = a.ref;
	assert_int_equal(jpki_notice_render(&a, &res, "千代田区役所", 1, 1, &s), 0);
	write_page(s, path, sizeof(path));
	free(s);
	snprintf(files, sizeof(files), "'%s'", path);
	assert_int_equal(python_check(files, expect), 0);
}

static void
test_revocation_notice(void **state)
{
	jpki_act_t a;
	jpki_resident_t res;
	char *s = NULL;

	fill_resident(&res);
	fill_act(&a, JPKI_ACT_REVOKE);
	assert_int_equal(jpki_notice_render(&a, &res, "千代田区役所 市民課", 0, 1, &s), 0);
	if (getenv("JPKI_NOTICE_PRINT") != NULL)
		print_message("%s", s);
	/* The title the guide names, the reason in words and by its RFC name. */
	assert_non_null(strstr(s, "電子証明書失効申請等受理通知書\n"));
	assert_non_null(strstr(s, "失効理由"));
	assert_non_null(strstr(s, "紛失・盗難等 (keyCompromise)"));
	assert_non_null(strstr(s, "失効（シリアル番号 7A11223344556677）"));
	assert_non_null(strstr(s, "失効（シリアル番号 4B11223344556677）"));
	assert_non_null(strstr(s, "山田　花子 様"));
	assert_non_null(strstr(s, "今後使用できません"));
	assert_non_null(strstr(s, "revoked sign and auth: card lost"));
	free(s);
	assert_int_equal(jpki_notice_render(&a, &res, "Chiyoda City Office", 0, 0, &s), 0);
	assert_non_null(strstr(s, "Notice of acceptance of certificate revocation"));
	assert_non_null(strstr(s, "loss, theft or misuse of the card (keyCompromise)"));
	assert_non_null(strstr(s, "revoked, serial number 7A11223344556677"));
	assert_non_null(strstr(s, "can no longer be used"));
	free(s);
}

static void
test_suspension_line_and_fees(void **state)
{
	jpki_act_t a;
	char *s = NULL;

	/* The suspension line: no resident record at hand, no photo ID. */
	fill_act(&a, JPKI_ACT_SUSPEND);
	assert_int_equal(jpki_notice_render(&a, NULL, "", 0, 1, &s), 0);
	assert_non_null(strstr(s, "なし（一時停止の電話届出）"));
	assert_non_null(strstr(s, "00000001"));
	assert_non_null(strstr(s, "一時保留（シリアル番号 7A11223344556677）"));
	assert_non_null(strstr(s, "写真付きの本人確認書類を持って市区町村窓口"));
	assert_null(strstr(s, "様"));
	free(s);
	assert_int_equal(jpki_notice_render(&a, NULL, NULL, 0, 0, &s), 0);
	assert_non_null(strstr(s, "come to the municipal window with photo ID"));
	assert_non_null(strstr(s, "put on hold, serial number"));
	free(s);
	/* Release: the authentication hold lifted, the signature one revoked (L8). */
	fill_act(&a, JPKI_ACT_RELEASE);
	assert_int_equal(jpki_notice_render(&a, NULL, NULL, 0, 1, &s), 0);
	assert_non_null(strstr(s, "一時保留を解除（シリアル番号 4B11223344556677）"));
	assert_non_null(strstr(s, "失効（シリアル番号 7A11223344556677）"));
	free(s);
	/* Fees (L10): a reissue after loss costs; grouped digits. */
	fill_act(&a, JPKI_ACT_ISSUE);
	a.fee = 1000;
	assert_int_equal(jpki_notice_render(&a, NULL, NULL, 0, 1, &s), 0);
	assert_non_null(strstr(s, "1,000円"));
	assert_null(strstr(s, "無料"));
	free(s);
	a.fee = 500;
	assert_int_equal(jpki_notice_render(&a, NULL, NULL, 1, 0, &s), 0);
	assert_non_null(strstr(s, "500 yen"));
	free(s);
	/* A pending act says so. */
	a.state = JPKI_ACT_PENDING;
	assert_int_equal(jpki_notice_render(&a, NULL, NULL, 0, 1, &s), 0);
	assert_non_null(strstr(s, "手続中（未完了）"));
	free(s);
	/* Bad arguments: nothing handed out. */
	s = (char *)1;
	assert_int_equal(jpki_notice_render(NULL, NULL, NULL, 0, 1, &s), JPKI_ERR_INVALID_ARG);
	assert_null(s);
	a.kind = JPKI_ACT__COUNT;
	s = (char *)1;
	assert_int_equal(jpki_notice_render(&a, NULL, NULL, 0, 1, &s), JPKI_ERR_INVALID_ARG);
	assert_null(s);
	assert_int_equal(jpki_notice_render(&a, NULL, NULL, 0, 1, NULL), JPKI_ERR_INVALID_ARG);
}

static void
test_hostile_values_escaped(void **state)
{
	static const char *const expect[] = {"<script>alert('x')</script>&\"", "<b>Office</b>",
	                                     "o'neil<", NULL};
	jpki_act_t a;
	jpki_resident_t res;
	char *s = NULL, path[400], files[500];

	fill_resident(&res);
	snprintf(res.name, sizeof(res.name), "<script>alert('x')</script>&\"");
	/* Controls, a right-to-left override and a stray byte. */
	snprintf(res.address, sizeof(res.address), "東京\x1b[2J\r\n\xe2\x80\xae" "evil\xff");
	fill_act(&a, JPKI_ACT_REVOKE);
	snprintf(a.operator_name, sizeof(a.operator_name), "o'neil<");
	/* A field filled to its last byte without a NUL is read no further. */
	memset(a.detail, 'x', sizeof(a.detail));
	assert_int_equal(jpki_notice_render(&a, &res, "<b>Office</b>", 1, 1, &s), 0);
	assert_null(strstr(s, "<script"));
	assert_null(strstr(s, "<b>"));
	assert_non_null(strstr(s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
	assert_non_null(strstr(s, "o&#39;neil&lt;"));
	assert_null(strchr(s, '\x1b'));
	assert_null(strchr(s, '\r'));
	assert_null(strstr(s, "\xe2\x80\xae"));
	assert_null(strstr(s, "\xff"));
	assert_non_null(strstr(s, "東京\xef\xbf\xbd[2J\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	                          "evil\xef\xbf\xbd"));
	write_page(s, path, sizeof(path));
	free(s);
	/* Plain text: the markup stays as it is, the controls do not. */
	assert_int_equal(jpki_notice_render(&a, &res, "<b>Office</b>", 0, 0, &s), 0);
	assert_non_null(strstr(s, "<script>alert('x')</script>"));
	assert_null(strchr(s, '\x1b'));
	assert_null(strstr(s, "\xe2\x80\xae"));
	free(s);
	if (!have_python()) {
		print_message("SKIPPED: %s missing: HTML page not checked by html.parser\n", PYTHON);
		return;
	}
	/* The parser decodes the escapes back to exactly the hostile values. */
	snprintf(files, sizeof(files), "'%s'", path);
	assert_int_equal(python_check(files, expect), 0);
}

/* ---- the subjectAltName reader ---- */

static void
test_person_read_real_certificates(void **state)
{
	jpki_person_read_t p;

	assert_int_equal(jpki_x509_person_read(sign_cert, &p), 0);
	assert_string_equal(p.name, person.name);
	assert_string_equal(p.address, person.address);
	assert_string_equal(p.alias, person.alias);
	assert_int_equal(p.present, JPKI_PR_BASIC | JPKI_PR_ALIAS);
	assert_int_equal(p.dob.year, 1977);
	assert_int_equal(p.dob.month, 11);
	assert_int_equal(p.dob.day, 7);
	assert_int_equal(p.dob_era, JPKI_ERA_SHOWA);
	assert_int_equal(p.sex, 2);
	/* No personal data in an authentication certificate (L1). */
	assert_int_equal(jpki_x509_person_read(auth_cert, &p), JPKI_ERR_NOT_FOUND);
	assert_int_equal(p.present, 0);
	assert_int_equal(jpki_x509_person_read(NULL, &p), JPKI_ERR_INVALID_ARG);
}

/* A certificate signed by key with the given SAN extensions (raw DER of
 * GeneralNames each; n of them). */
static X509 *
cert_with_san(const uint8_t *const *san, const size_t *san_len, int n)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	ASN1_OCTET_STRING *os;
	X509_EXTENSION *ext;
	int i;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_set_subject_name(x, nm);
	X509_NAME_free(nm);
	ASN1_TIME_set(X509_getm_notBefore(x), T_ISSUE);
	ASN1_TIME_set(X509_getm_notAfter(x), T_ISSUE + 86400);
	X509_set_pubkey(x, key);
	for (i = 0; i < n; i++) {
		os = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(os, san[i], (int)san_len[i]);
		ext = X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name, 0, os);
		assert_non_null(ext);
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
		ASN1_OCTET_STRING_free(os);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

/* GeneralNames DER from otherNames given as (oid, tag, value) triples. */
struct on {
	const char *oid;
	int tag; /* V_ASN1_UTF8STRING, or another to test refusal */
	const char *val;
	size_t len; /* 0: strlen */
};

static size_t
san_der(const struct on *o, int n, uint8_t *out)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	unsigned char *p = out;
	int i, len;

	for (i = 0; i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_TYPE *t = ASN1_TYPE_new();
		ASN1_STRING *s = ASN1_STRING_type_new(o[i].tag);

		ASN1_STRING_set(s, o[i].val, o[i].len ? (int)o[i].len : (int)strlen(o[i].val));
		ASN1_TYPE_set(t, o[i].tag, s);
		assert_int_equal(GENERAL_NAME_set0_othername(g, OBJ_txt2obj(o[i].oid, 1), t), 1);
		sk_GENERAL_NAME_push(gens, g);
	}
	len = i2d_GENERAL_NAMES(gens, &p);
	GENERAL_NAMES_free(gens);
	assert_true(len > 0 && len < 8192);
	return (size_t)len;
}

static int
read_crafted(const struct on *o, int n, jpki_person_read_t *p)
{
	static uint8_t der[8192];
	const uint8_t *d[1] = {der};
	size_t len[1];
	X509 *x;
	int r;

	len[0] = san_der(o, n, der);
	x = cert_with_san(d, len, 1);
	r = jpki_x509_person_read(x, p);
	X509_free(x);
	return r;
}

static void
test_person_read_refuses_bad_values(void **state)
{
	const int U = V_ASN1_UTF8STRING;
	struct on good[] = {{JPKI_OID_NAME, U, "ミラー　ジョン", 0},
	                    {JPKI_OID_DOB, U, "018600101", 0},
	                    {JPKI_OID_SEX, U, "9", 0},
	                    {JPKI_OID_ADDRESS, U, "大阪府大阪市北区", 0},
	                    {JPKI_OID_NAME_FLAGS, U, "0000000", 0},
	                    {"1.2.3.4", V_ASN1_IA5STRING, "skipped", 0}};
	struct on bad[6];
	jpki_person_read_t p;
	char big[2000];

	/* A date of birth before Meiji carries era digit 0. */
	assert_int_equal(read_crafted(good, 6, &p), 0);
	assert_int_equal(p.dob_era, 0);
	assert_int_equal(p.dob.year, 1860);
	assert_int_equal(p.sex, 9);
	assert_string_equal(p.alias, "");
	/* Control character in the name. */
	memcpy(bad, good, sizeof(good));
	bad[0].val = "ミラー\nジョン";
	assert_int_equal(read_crafted(bad, 4, &p), JPKI_ERR_FORMAT);
	assert_int_equal(p.present, 0);
	/* Not UTF-8. */
	bad[0].val = "\xc3\x28";
	assert_int_equal(read_crafted(bad, 4, &p), JPKI_ERR_FORMAT);
	/* Not a UTF8String. */
	memcpy(bad, good, sizeof(good));
	bad[3].tag = V_ASN1_IA5STRING;
	bad[3].val = "Osaka";
	assert_int_equal(read_crafted(bad, 4, &p), JPKI_ERR_FORMAT);
	assert_non_null(strstr(jpki_detail(), "address"));
	/* Over the buffer. */
	memcpy(bad, good, sizeof(good));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bad[3].val = big;
	assert_int_equal(read_crafted(bad, 4, &p), JPKI_ERR_TOO_LARGE);
	/* A name given twice: which one would the copy show? */
	memcpy(bad, good, sizeof(good));
	bad[4] = (struct on){JPKI_OID_NAME, U, "別人　太郎", 0};
	assert_int_equal(read_crafted(bad, 5, &p), JPKI_ERR_FORMAT);
	assert_non_null(strstr(jpki_detail(), "twice"));
	/* Missing the address: all four or none. */
	assert_int_equal(read_crafted(good, 3, &p), JPKI_ERR_FORMAT);
	assert_non_null(strstr(jpki_detail(), "address"));
	/* Bad sex code; an era digit that disagrees with the date. */
	memcpy(bad, good, sizeof(good));
	bad[2].val = "3";
	assert_int_equal(read_crafted(bad, 4, &p), JPKI_ERR_FORMAT);
	memcpy(bad, good, sizeof(good));
	bad[1].val = "319900101";
	assert_int_equal(read_crafted(bad, 4, &p), JPKI_ERR_FORMAT);
	/* An embedded NUL. */
	memcpy(bad, good, sizeof(good));
	bad[0].val = "ab\0cd";
	bad[0].len = 5;
	assert_int_equal(read_crafted(bad, 4, &p), JPKI_ERR_FORMAT);
	/* Only foreign otherNames: nothing of a resident. */
	assert_int_equal(read_crafted(good + 4, 2, &p), JPKI_ERR_NOT_FOUND);
}

static void
test_person_read_malformed_der(void **state)
{
	/* A DNS name only; then malformed encodings. */
	static const uint8_t dns[] = {0x30, 0x05, 0x82, 0x03, 'a', '.', 'b'};
	static const uint8_t indefinite[] = {0x30, 0x80, 0x00, 0x00};
	static const uint8_t overlong[] = {0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x01, 0x05};
	static const uint8_t past_end[] = {0x30, 0x10, 0xa0, 0x02};
	static const uint8_t trailing[] = {0x30, 0x00, 0x00};
	static const uint8_t high_tag[] = {0x30, 0x03, 0xbf, 0x81, 0x00};
	static const uint8_t *const cases[] = {indefinite, overlong, past_end, trailing, high_tag};
	static const size_t lens[] = {sizeof(indefinite), sizeof(overlong), sizeof(past_end),
	                              sizeof(trailing), sizeof(high_tag)};
	jpki_person_read_t p;
	const uint8_t *d[2];
	size_t l[2];
	uint8_t *der = NULL, *mut;
	const ASN1_OCTET_STRING *os;
	X509 *x;
	size_t i, n;
	int b;

	d[0] = dns;
	l[0] = sizeof(dns);
	x = cert_with_san(d, l, 1);
	assert_int_equal(jpki_x509_person_read(x, &p), JPKI_ERR_NOT_FOUND);
	X509_free(x);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d[0] = cases[i];
		l[0] = lens[i];
		x = cert_with_san(d, l, 1);
		assert_int_equal(jpki_x509_person_read(x, &p), JPKI_ERR_FORMAT);
		X509_free(x);
	}
	/* Two subjectAltName extensions: refused, not the first or second taken. */
	os = X509_EXTENSION_get_data(
	    X509_get_ext(sign_cert, X509_get_ext_by_NID(sign_cert, NID_subject_alt_name, -1)));
	n = (size_t)ASN1_STRING_length(os);
	d[0] = d[1] = ASN1_STRING_get0_data(os);
	l[0] = l[1] = n;
	x = cert_with_san(d, l, 2);
	assert_int_equal(jpki_x509_person_read(x, &p), JPKI_ERR_FORMAT);
	X509_free(x);
	/* Every truncation and every single-byte change of the real extension:
	 * an answer, never a read past the end (ASan runs catch one). */
	der = malloc(n);
	assert_non_null(der);
	memcpy(der, ASN1_STRING_get0_data(os), n);
	mut = malloc(n);
	assert_non_null(mut);
	for (i = 0; i < n; i++) {
		for (b = 0; b < 3; b++) {
			memcpy(mut, der, n);
			mut[i] ^= (uint8_t)(b == 0 ? 0x01 : b == 1 ? 0x80 : 0xff);
			d[0] = mut;
			l[0] = b == 2 ? i : n;
			x = cert_with_san(d, l, 1);
			(void)jpki_x509_person_read(x, &p);
			X509_free(x);
		}
	}
	free(mut);
	free(der);
}

/* ---- the copy (L11) ---- */

static void
test_copy_of_signature_certificate(void **state)
{
	static const char *const expect[] = {"山田　花子", "昭和52年11月7日 (1977-11-07)",
	                                     "令和13年11月7日 (2031-11-07)", NULL};
	char *s = NULL, path[400], files[500];

	assert_int_equal(jpki_cert_copy_render(sign_cert, 0, 1, &s), 0);
	if (getenv("JPKI_NOTICE_PRINT") != NULL)
		print_message("%s", s);
	assert_non_null(strstr(s, "署名用電子証明書の写し\n"));
	assert_non_null(strstr(s, "氏名"));
	assert_non_null(strstr(s, "山田　花子"));
	assert_non_null(strstr(s, "生年月日"));
	assert_non_null(strstr(s, "昭和52年11月7日 (1977-11-07)"));
	assert_non_null(strstr(s, "性別"));
	assert_non_null(strstr(s, "  女\n"));
	assert_non_null(strstr(s, "住所"));
	assert_non_null(strstr(s, person.address));
	assert_non_null(strstr(s, "通称"));
	assert_non_null(strstr(s, person.alias));
	/* Issued 2026-11-21 10:00 JST; last day the 5th birthday after (L4). */
	assert_non_null(strstr(s, "発行年月日"));
	assert_non_null(strstr(s, "令和8年11月21日 (2026-11-21)"));
	assert_non_null(strstr(s, "有効期間の満了日"));
	assert_non_null(strstr(s, "令和13年11月7日 (2031-11-07)"));
	assert_non_null(strstr(s, "発行者"));
	assert_non_null(strstr(s, "C=JP, O=JPKI-TEST, OU=JPKI for digital signature"));
	assert_non_null(strstr(s, "O=公的個人認証サービス"));
	assert_non_null(strstr(s, "シリアル番号"));
	assert_non_null(strstr(s, "試験用"));
	free(s);
	assert_int_equal(jpki_cert_copy_render(sign_cert, 0, 0, &s), 0);
	assert_non_null(strstr(s, "Copy of signature certificate"));
	assert_non_null(strstr(s, "1977-11-07 (Showa 52)"));
	assert_non_null(strstr(s, "female"));
	assert_non_null(strstr(s, "2031-11-07 (Reiwa 13)"));
	free(s);
	assert_int_equal(jpki_cert_copy_render(sign_cert, 1, 1, &s), 0);
	assert_true(strncmp(s, "<!DOCTYPE html>", 15) == 0);
	assert_non_null(strstr(s, "<th scope=\"row\">有効期間の満了日</th><td>令和13年11月7日"));
	write_page(s, path, sizeof(path));
	free(s);
	s = (char *)1;
	assert_int_equal(jpki_cert_copy_render(NULL, 0, 1, &s), JPKI_ERR_INVALID_ARG);
	assert_null(s);
	if (!have_python()) {
		print_message("SKIPPED: %s missing: HTML page not checked by html.parser\n", PYTHON);
		return;
	}
	snprintf(files, sizeof(files), "'%s'", path);
	assert_int_equal(python_check(files, expect), 0);
}

static void
test_copy_of_auth_certificate(void **state)
{
	char *s = NULL;

	assert_int_equal(jpki_cert_copy_render(auth_cert, 0, 1, &s), 0);
	assert_non_null(strstr(s, "利用者証明用電子証明書の写し"));
	assert_non_null(strstr(s, "個人情報は記録されていません"));
	assert_non_null(strstr(s, "有効期間の満了日"));
	assert_non_null(strstr(s, "令和13年11月7日 (2031-11-07)"));
	assert_non_null(strstr(s, "OU=JPKI for user authentication"));
	assert_null(strstr(s, "山田"));
	assert_null(strstr(s, "昭和52年"));
	free(s);
	assert_int_equal(jpki_cert_copy_render(auth_cert, 1, 0, &s), 0);
	assert_non_null(strstr(s, "carries no personal data"));
	free(s);
}

static void
test_copy_escapes_and_refuses(void **state)
{
	const int U = V_ASN1_UTF8STRING;
	struct on o[] = {{JPKI_OID_NAME, U, "<script>x</script>", 0},
	                 {JPKI_OID_DOB, U, "419890108", 0},
	                 {JPKI_OID_SEX, U, "1", 0},
	                 {JPKI_OID_ADDRESS, U, "a&b", 0}};
	static uint8_t der[8192];
	const uint8_t *d[1] = {der};
	size_t len[1];
	char *s = NULL;
	X509 *x;

	len[0] = san_der(o, 4, der);
	x = cert_with_san(d, len, 1);
	assert_int_equal(jpki_cert_copy_render(x, 1, 1, &s), 0);
	assert_null(strstr(s, "<script>"));
	assert_non_null(strstr(s, "&lt;script&gt;x&lt;/script&gt;"));
	assert_non_null(strstr(s, "a&amp;b"));
	assert_non_null(strstr(s, "平成元年1月8日 (1989-01-08)"));
	assert_non_null(strstr(s, "<h1>電子証明書の写し</h1>")); /* no JPKI policy */
	free(s);
	X509_free(x);
	/* A malformed identity is refused, not printed in part. */
	o[2].val = "7";
	len[0] = san_der(o, 4, der);
	x = cert_with_san(d, len, 1);
	s = (char *)1;
	assert_int_equal(jpki_cert_copy_render(x, 0, 1, &s), JPKI_ERR_FORMAT);
	assert_null(s);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_both_languages_both_forms),
		cmocka_unit_test(test_revocation_notice),
		cmocka_unit_test(test_suspension_line_and_fees),
		cmocka_unit_test(test_hostile_values_escaped),
		cmocka_unit_test(test_person_read_real_certificates),
		cmocka_unit_test(test_person_read_refuses_bad_values),
		cmocka_unit_test(test_person_read_malformed_der),
		cmocka_unit_test(test_copy_of_signature_certificate),
		cmocka_unit_test(test_copy_of_auth_certificate),
		cmocka_unit_test(test_copy_escapes_and_refuses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
