/*
 * What the window hands out on paper (L7, L10, L11): the notice of each act
 * and the printed copy of a certificate, as plain text for the terminal or a
 * printable HTML page, in Japanese or English.
 *
 * Both are built on one small document model (a title, rows of label and
 * value, headed sections, bullets) with two back ends, so the two forms never
 * drift apart.  Every value that comes from outside (names, addresses, the
 * office, the operator, certificate fields) goes through text(): HTML-escaped
 * in a page, and in both forms control and bidirectional-override characters
 * and ill-formed UTF-8 become U+FFFD, so a value can neither inject markup
 * nor rewrite the terminal or reorder what is printed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jpki/buf.h"
#include "jpki/ca.h"
#include "jpki/date.h"
#include "jpki/error.h"
#include "jpki/registry.h"
#include "jpki/x509.h"

#define DOC_MAX ((size_t)1 << 20)
#define ISSUER_MAX 4096 /* a printed issuer DN longer than this is not a JPKI CA */

/* ---- the document model ---- */

struct doc {
	jpki_buf_t b;
	int html, ja;
	int r;          /* the first error: later writes do nothing */
	int in_table, in_list;
};

static void
lit(struct doc *d, const char *s)
{
	int r;

	if (d->r == 0 && (r = jpki_buf_put_str(&d->b, s)) != 0)
		d->r = r;
}

static void
put(struct doc *d, const void *p, size_t n)
{
	int r;

	if (d->r == 0 && (r = jpki_buf_put(&d->b, p, n)) != 0)
		d->r = r;
}

/* Decode one UTF-8 character of s (at most n bytes); *cp gets U+FFFD and the
 * length 1 for a byte that does not start a well-formed character. */
static size_t
utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], v;
	size_t extra, i;

	*cp = 0xfffd;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		extra = 1;
		v = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		extra = 2;
		v = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		extra = 3;
		v = c & 0x07;
	} else {
		return 1;
	}
	if (extra >= n)
		return 1;
	for (i = 1; i <= extra; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((extra == 1 && v < 0x80) || (extra == 2 && v < 0x800) || (extra == 3 && v < 0x10000) ||
	    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 1;
	*cp = v;
	return extra + 1;
}

/* Characters no printed value may carry: C0/C1 controls, DEL, and the
 * bidirectional marks and overrides that can reorder a line as displayed. */
static int
unprintable(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* An untrusted value of at most n bytes (it may lack a NUL there). */
static void
textn(struct doc *d, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, k;
	unsigned cp;

	if (s == NULL)
		return;
	len = strnlen(s, n);
	while (len > 0 && d->r == 0) {
		k = utf8_next(p, len, &cp);
		if (cp == 0xfffd || unprintable(cp))
			lit(d, "\xef\xbf\xbd");
		else if (d->html && cp == '&')
			lit(d, "&amp;");
		else if (d->html && cp == '<')
			lit(d, "&lt;");
		else if (d->html && cp == '>')
			lit(d, "&gt;");
		else if (d->html && cp == '"')
			lit(d, "&quot;");
		else if (d->html && cp == '\'')
			lit(d, "&#39;");
		else
			put(d, p, k);
		p += k;
		len -= k;
	}
}

static void
text(struct doc *d, const char *s)
{
	textn(d, s, (size_t)-1);
}

/* Columns a label takes on a terminal: the labels are ASCII or full-width. */
static size_t
width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0, len = strlen(s), k;
	unsigned cp;

	while (len > 0) {
		k = utf8_next(p, len, &cp);
		w += cp < 0x80 ? 1 : 2;
		p += k;
		len -= k;
	}
	return w;
}

static void
repeat(struct doc *d, const char *s, size_t n)
{
	while (n-- > 0)
		lit(d, s);
}

static void
close_blocks(struct doc *d)
{
	if (d->in_table)
		lit(d, "</table>\n");
	if (d->in_list)
		lit(d, "</ul>\n");
	d->in_table = d->in_list = 0;
}

/* A4 portrait; on screen the same page, centred, with shaded labels. */
static const char page_css[] =
	"@page { size: A4 portrait; margin: 18mm 16mm; }\n"
	"html { font-family: \"Noto Sans CJK JP\", \"Hiragino Kaku Gothic ProN\", \"Yu Gothic\", "
	"Meiryo, sans-serif; font-size: 11pt; color: #000; background: #fff; }\n"
	"body { max-width: 178mm; margin: 1em auto; padding: 0 1em; }\n"
	".office { text-align: right; margin: 0; }\n"
	"h1 { font-size: 16pt; text-align: center; margin: 8mm 0 6mm; letter-spacing: .08em; }\n"
	"h2 { font-size: 12pt; border-bottom: 1px solid #000; margin: 6mm 0 2mm; }\n"
	"table { width: 100%; border-collapse: collapse; }\n"
	"th, td { border: 1px solid #000; padding: 1.5mm 2.5mm; text-align: left; "
	"vertical-align: top; }\n"
	"th { width: 32%; font-weight: normal; background: #eee; }\n"
	"td { overflow-wrap: anywhere; }\n"
	"ul { margin: 0; padding-left: 1.4em; }\n"
	"li { margin: 1mm 0; }\n"
	"@media print {\n"
	"  body { max-width: none; margin: 0; padding: 0; }\n"
	"  th { background: none; }\n"
	"  table, ul { break-inside: avoid; }\n"
	"  h2 { break-after: avoid; }\n"
	"}\n";

static void
doc_begin(struct doc *d, const char *title, const char *office)
{
	if (d->html) {
		lit(d, "<!DOCTYPE html>\n<html lang=\"");
		lit(d, d->ja ? "ja" : "en");
		lit(d, "\">\n<head>\n<meta charset=\"utf-8\">\n"
		       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		       "<title>");
		text(d, title);
		if (office != NULL && office[0] != '\0') {
			lit(d, " - ");
			text(d, office);
		}
		lit(d, "</title>\n<style>\n");
		lit(d, page_css);
		lit(d, "</style>\n</head>\n<body>\n");
		if (office != NULL && office[0] != '\0') {
			lit(d, "<p class=\"office\">");
			text(d, office);
			lit(d, "</p>\n");
		}
		lit(d, "<h1>");
		text(d, title);
		lit(d, "</h1>\n");
	} else {
		if (office != NULL && office[0] != '\0') {
			text(d, office);
			lit(d, "\n");
		}
		lit(d, title);
		lit(d, "\n");
		repeat(d, "=", width(title));
		lit(d, "\n");
	}
}

static void
doc_end(struct doc *d)
{
	if (d->html) {
		close_blocks(d);
		lit(d, "</body>\n</html>\n");
	}
}

static void
section(struct doc *d, const char *heading)
{
	if (d->html) {
		close_blocks(d);
		lit(d, "<h2>");
		text(d, heading);
		lit(d, "</h2>\n");
	} else {
		lit(d, d->ja ? "\n【" : "\n[ ");
		lit(d, heading);
		lit(d, d->ja ? "】\n" : " ]\n");
	}
}

static void
row_begin(struct doc *d, const char *label)
{
	size_t col = d->ja ? 24 : 28, w;

	if (d->html) {
		if (d->in_list) {
			lit(d, "</ul>\n");
			d->in_list = 0;
		}
		if (!d->in_table) {
			lit(d, "<table>\n");
			d->in_table = 1;
		}
		lit(d, "<tr><th scope=\"row\">");
		text(d, label);
		lit(d, "</th><td>");
	} else {
		w = width(label);
		lit(d, "  ");
		lit(d, label);
		repeat(d, " ", w + 2 > col ? 2 : col - w);
	}
}

static void
row_end(struct doc *d)
{
	lit(d, d->html ? "</td></tr>\n" : "\n");
}

static void
row(struct doc *d, const char *label, const char *value, size_t n)
{
	row_begin(d, label);
	textn(d, value, n);
	row_end(d);
}

static void
bullet(struct doc *d, const char *s)
{
	if (d->html) {
		if (d->in_table) {
			lit(d, "</table>\n");
			d->in_table = 0;
		}
		if (!d->in_list) {
			lit(d, "<ul>\n");
			d->in_list = 1;
		}
		lit(d, "<li>");
		text(d, s);
		lit(d, "</li>\n");
	} else {
		lit(d, d->ja ? "  ・" : "  - ");
		lit(d, s);
		lit(d, "\n");
	}
}

static int
doc_finish(struct doc *d, char **out)
{
	uint8_t *p = NULL;
	size_t n;
	int r;

	doc_end(d);
	if ((r = d->r) != 0)
		return r;
	if ((r = jpki_buf_steal(&d->b, &p, &n)) != 0)
		return r;
	*out = (char *)p;
	return 0;
}

/* ---- dates ---- */

static const char *const era_roman[] = {"", "Meiji", "Taisho", "Showa", "Heisei", "Reiwa"};

/* "昭和52年11月7日 (1977-11-07)", or "1977-11-07 (Showa 52)"; ISO alone before
 * Meiji. */
static void
fmt_date(const jpki_date_t *dt, int ja, char *out, size_t outlen)
{
	char iso[16];
	int era, ey;

	jpki_date_format_iso(dt, iso, sizeof(iso));
	if (jpki_era_of(dt, &era, &ey) != 0 || era < 1 || era > 5) {
		snprintf(out, outlen, "%s", iso);
		return;
	}
	if (ja) {
		if (jpki_era_format_both(dt, out, outlen) != 0)
			snprintf(out, outlen, "%s", iso);
	} else {
		snprintf(out, outlen, "%s (%s %d)", iso, era_roman[era], ey);
	}
}

/* The JST day and time of t: "令和8年11月21日 (2026-11-21) 10:00 JST", or
 * "2026-11-21 10:00 JST (Reiwa 8)". */
static void
fmt_time(int64_t t, int ja, char *out, size_t outlen)
{
	char day[64], iso[16];
	jpki_date_t dt;
	int64_t s;
	int hh, mm;

	jpki_date_from_time_jst((time_t)t, &dt);
	s = ((t % 86400) + 86400 + 9 * 3600) % 86400;
	hh = (int)(s / 3600);
	mm = (int)(s % 3600 / 60);
	fmt_date(&dt, ja, day, sizeof(day));
	if (ja) {
		snprintf(out, outlen, "%s %02d:%02d JST", day, hh, mm);
	} else {
		/* fmt_date's English form starts with the ISO day: the era goes last. */
		jpki_date_format_iso(&dt, iso, sizeof(iso));
		snprintf(out, outlen, "%s %02d:%02d JST%s", iso, hh, mm, day + strlen(iso));
	}
}

static int
asn1_time_to_t(const ASN1_TIME *a, time_t *t)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return JPKI_ERR_FORMAT;
	*t = timegm(&tm);
	return 0;
}

/* ---- notices ---- */

struct act_text {
	const char *title[2];    /* [ja] */
	const char *summary[2];
};

static const struct act_text act_texts[JPKI_ACT__COUNT] = {
	[JPKI_ACT_REGISTER] = {{"Notice of resident registration", "住民記録登録通知書"},
	                       {"The resident was registered.", "住民記録を登録しました。"}},
	[JPKI_ACT_CHANGE] = {{"Notice of acceptance of a change of recorded facts",
	                      "記載事項変更（異動）受理通知書"},
	                     {"A change of the recorded facts was accepted and recorded.",
	                      "記載事項の変更（異動）を受け付け、記録しました。"}},
	[JPKI_ACT_ISSUE] = {{"Notice of certificate issuance", "電子証明書発行通知書"},
	                    {"Certificates were issued and stored on the card.",
	                     "電子証明書を発行し、カードに記録しました。"}},
	[JPKI_ACT_RENEW] = {{"Notice of certificate renewal", "電子証明書更新通知書"},
	                    {"The certificate was renewed: a new one is on the card.",
	                     "電子証明書を更新し、新しい電子証明書をカードに記録しました。"}},
	[JPKI_ACT_REVOKE] = {{"Notice of acceptance of certificate revocation",
	                      "電子証明書失効申請等受理通知書"},
	                     {"The application for revocation was accepted and the certificates "
	                      "were revoked.",
	                      "電子証明書の失効申請等を受理し、電子証明書を失効させました。"}},
	[JPKI_ACT_SUSPEND] = {{"Notice of temporary suspension of certificates",
	                       "電子証明書一時保留受理通知書"},
	                      {"The card was suspended: its certificates are on hold.",
	                       "カードの一時停止を受け付け、電子証明書を一時保留しました。"}},
	[JPKI_ACT_RELEASE] = {{"Notice of release of temporary suspension",
	                       "電子証明書一時保留解除通知書"},
	                      {"The temporary suspension was released.",
	                       "電子証明書の一時保留の解除を受け付けました。"}},
	[JPKI_ACT_PIN_INIT] = {{"Notice of password initialization and unlock",
	                        "パスワード初期化・ロック解除通知書"},
	                       {"The password was initialized or unlocked.",
	                        "パスワードの初期化・ロック解除を行いました。"}},
	[JPKI_ACT_RETURN] = {{"Notice of acceptance of a returned card", "カード返納受理通知書"},
	                     {"The card was handed back.", "カードの返納を受け付けました。"}},
	[JPKI_ACT_COPY] = {{"Notice of issue of a certificate copy", "電子証明書の写し交付通知書"},
	                   {"A printed copy of the certificate was handed out.",
	                    "電子証明書の写しを交付しました。"}},
};

static const char *
id_kind_words(const char *k, int ja)
{
	static const struct {
		const char *key, *en, *ja;
	} kinds[] = {
		{"passport", "passport", "旅券（パスポート）"},
		{"driving-licence", "driving licence", "運転免許証"},
		{"mynumber-card", "Individual Number Card", "個人番号カード"},
		{"residence-card", "residence card", "在留カード"},
		{"other", "other photo ID", "その他の写真付き証明書"},
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(k, kinds[i].key) == 0)
			return ja ? kinds[i].ja : kinds[i].en;
	return NULL;
}

static const char *
reason_words(int reason, int ja)
{
	switch (reason) {
	case JPKI_REASON_UNSPECIFIED:
		return ja ? "理由の記載なし" : "unspecified";
	case JPKI_REASON_KEY_COMPROMISE:
		return ja ? "紛失・盗難等" : "loss, theft or misuse of the card";
	case JPKI_REASON_CA_COMPROMISE:
		return ja ? "認証局の危殆化" : "compromise of the certification authority";
	case JPKI_REASON_AFFILIATION_CHANGED:
		return ja ? "記載事項の変更" : "a change of the recorded facts";
	case JPKI_REASON_SUPERSEDED:
		return ja ? "更新・再発行" : "replaced by a new certificate";
	case JPKI_REASON_CESSATION:
		return ja ? "利用の停止（本人の申請）" : "the holder stopped using it";
	case JPKI_REASON_CERTIFICATE_HOLD:
		return ja ? "一時保留" : "temporary suspension (hold)";
	case JPKI_REASON_REMOVE_FROM_CRL:
		return ja ? "一時保留の解除" : "hold released";
	}
	return ja ? "その他" : "other";
}

/* "1,000円" / "1,000 yen"; 0 is free (L10: no fee today). */
static void
fmt_fee(int fee, int ja, char *out, size_t outlen)
{
	char digits[16], grouped[24];
	size_t n, i, o = 0;

	if (fee == 0) {
		snprintf(out, outlen, "%s", ja ? "無料" : "free");
		return;
	}
	if (fee < 0) {
		snprintf(out, outlen, "%s", "-");
		return;
	}
	n = (size_t)snprintf(digits, sizeof(digits), "%d", fee);
	for (i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			grouped[o++] = ',';
		grouped[o++] = digits[i];
	}
	grouped[o] = '\0';
	snprintf(out, outlen, ja ? "%s円" : "%s yen", grouped);
}

/* One certificate row: the verb, then the serial. */
static void
serial_row(struct doc *d, const char *label, const char *verb, const char *hex, size_t n)
{
	if (hex[0] == '\0')
		return;
	row_begin(d, label);
	lit(d, verb);
	lit(d, d->ja ? "（シリアル番号 " : ", serial number ");
	textn(d, hex, n);
	if (d->ja)
		lit(d, "）");
	row_end(d);
}

/* What the old serials of an act mean: put on hold by a suspension, the hold
 * lifted for the authentication certificate at a release (the signature one
 * is revoked then, L8), revoked otherwise. */
static const char *
old_verb(jpki_act_kind_t k, int auth, int ja)
{
	if (k == JPKI_ACT_SUSPEND)
		return ja ? "一時保留" : "put on hold";
	if (k == JPKI_ACT_RELEASE && auth)
		return ja ? "一時保留を解除" : "hold released";
	return ja ? "失効" : "revoked";
}

static void
act_next_steps(struct doc *d, const jpki_act_t *act)
{
	int ja = d->ja;

	if (act->state == JPKI_ACT_PENDING) {
		bullet(d, ja ? "この手続はまだ完了していません。窓口で手続を完了するか、取り消します。"
		             : "This act is not complete yet: the window will complete it or undo it.");
	} else if (act->state == JPKI_ACT_UNDONE) {
		bullet(d, ja ? "この手続は取り消されました。カードと電子証明書は手続前の状態です。"
		             : "This act was undone: the card and certificates are as they were before.");
	}
	switch (act->kind) {
	case JPKI_ACT_REGISTER:
		bullet(d, ja ? "記録した氏名・生年月日・性別・住所に誤りがないか確認してください。"
		             : "Check that the recorded name, date of birth, sex and address are right.");
		bullet(d, ja ? "電子証明書の発行には、写真付きの本人確認書類が必要です。"
		             : "To have certificates issued, bring photo ID to the window.");
		break;
	case JPKI_ACT_CHANGE:
		if (act->sign_old[0] != '\0') {
			bullet(d, ja ? "記載事項の変更により、署名用電子証明書は失効し、今後使用できません。"
			             : "Because your recorded facts changed, your signature certificate "
			               "has been revoked and can no longer be used.");
			bullet(d, ja ? "利用者証明用電子証明書は、引き続き使用できます。"
			             : "Your authentication certificate is not affected.");
			bullet(d, ja ? "新しい署名用電子証明書は、写真付きの本人確認書類を持って窓口で"
			               "発行を申請してください。"
			             : "To get a new signature certificate, apply at the window with photo ID.");
		} else {
			bullet(d, ja ? "この変更による電子証明書への影響はありません。"
			             : "This change does not affect your certificates.");
		}
		break;
	case JPKI_ACT_ISSUE:
	case JPKI_ACT_RENEW:
		if (act->kind == JPKI_ACT_RENEW)
			bullet(d, ja ? "以前の電子証明書は失効し、今後使用できません。"
			             : "The previous certificate has been revoked and can no longer be used.");
		bullet(d, ja ? "カードと、交付を受けた場合は電子証明書の写しを大切に保管してください。"
		             : "Keep the card, and the certificate copy if you received one, safe.");
		bullet(d, ja ? "パスワードは他人に知られないようにしてください。署名用は5回、利用者証明用は"
		               "3回続けて誤るとロックされます。"
		             : "Keep your passwords secret: 5 wrong tries in a row lock the signing "
		               "password, 3 the authentication PIN.");
		bullet(d, ja ? "有効期間の満了日の3か月前から、窓口で更新できます。"
		             : "You can renew at the window from 3 months before the expiry date.");
		bullet(d, ja ? "カードを紛失したときは、すぐに一時停止の届出（24時間受付）をしてください。"
		             : "If you lose the card, call the 24-hour line at once to suspend it.");
		break;
	case JPKI_ACT_REVOKE:
		bullet(d, ja ? "失効した電子証明書は、今後使用できません。元に戻すことはできません。"
		             : "The revoked certificates can no longer be used; this cannot be undone.");
		if (act->reason == JPKI_REASON_KEY_COMPROMISE)
			bullet(d, ja ? "カードが見つかっても、失効した電子証明書は使用できません。"
			             : "Even if the card is found, the revoked certificates stay unusable.");
		bullet(d, ja ? "新しい電子証明書が必要なときは、写真付きの本人確認書類を持って窓口で"
		               "発行を申請してください。"
		             : "To get a new certificate, apply at the window with photo ID.");
		break;
	case JPKI_ACT_SUSPEND:
		bullet(d, ja ? "電子証明書は一時保留中で、使用できません。"
		             : "Your certificates are on hold and cannot be used.");
		bullet(d, ja ? "カードが見つかったとき、または失効の届出をするときは、写真付きの本人確認書類を"
		               "持って市区町村窓口へお越しください。"
		             : "When you find the card, or to have the certificates revoked, come to "
		               "the municipal window with photo ID.");
		bullet(d, ja ? "一時保留の解除では、利用者証明用電子証明書は再び使用できますが、署名用電子証明書は"
		               "失効し、新たに発行します。"
		             : "At the release, the authentication certificate becomes usable again; "
		               "the signature certificate is revoked and a new one issued.");
		break;
	case JPKI_ACT_RELEASE:
		bullet(d, ja ? "利用者証明用電子証明書は、再び使用できます。"
		             : "Your authentication certificate can be used again.");
		bullet(d, ja ? "署名用電子証明書は一時保留を解除できないため失効しました。新しい署名用電子証明書の"
		               "発行を申請してください。"
		             : "A signature certificate cannot be released: it was revoked. Apply for "
		               "a new one.");
		break;
	case JPKI_ACT_PIN_INIT:
		bullet(d, ja ? "新しいパスワードは他人に知られないようにしてください。生年月日や電話番号など、"
		               "推測されやすいものは避けてください。"
		             : "Keep the new password secret, and avoid easily guessed values such as "
		               "your date of birth or phone number.");
		bullet(d, ja ? "パスワードは、利用者クライアントソフトで変更できます。"
		             : "You can change it at home with the user client software.");
		break;
	case JPKI_ACT_RETURN:
		bullet(d, ja ? "返納されたカードとその電子証明書は、今後使用できません。"
		             : "The returned card and its certificates can no longer be used.");
		break;
	case JPKI_ACT_COPY:
		bullet(d, ja ? "電子証明書の写しは大切に保管し、失効の届出の際にお持ちください。"
		             : "Keep the certificate copy, and bring it when you apply for revocation.");
		break;
	default:
		break;
	}
	bullet(d, ja ? "この通知書は大切に保管してください。" : "Keep this notice.");
}

int
jpki_notice_render(const jpki_act_t *act, const jpki_resident_t *res, const char *office,
                   int html, int ja, char **out)
{
	struct doc d;
	const struct act_text *at;
	const char *w;
	char buf[160], idk[sizeof(act->id_kind)];
	int r = JPKI_ERR_INTERNAL;

	memset(&d, 0, sizeof(d));
	jpki_buf_init(&d.b, DOC_MAX);
	if (out != NULL)
		*out = NULL;
	if (act == NULL || out == NULL || (int)act->kind < 0 || act->kind >= JPKI_ACT__COUNT) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	d.html = html != 0;
	d.ja = ja != 0;
	at = &act_texts[act->kind];

	doc_begin(&d, at->title[d.ja], office);
	row(&d, ja ? "受付番号" : "Reference number", act->ref, sizeof(act->ref));
	fmt_time(act->time, d.ja, buf, sizeof(buf));
	row(&d, ja ? "受付日時" : "Date and time", buf, sizeof(buf));
	if (act->state != JPKI_ACT_DONE)
		row(&d, ja ? "状態" : "Status",
		    act->state == JPKI_ACT_PENDING ? (ja ? "手続中（未完了）" : "pending (not complete)")
		                                   : (ja ? "取消済み" : "undone"),
		    (size_t)-1);
	if (act->operator_name[0] != '\0')
		row(&d, ja ? "担当者" : "Operator", act->operator_name, sizeof(act->operator_name));
	row_begin(&d, ja ? "本人確認書類" : "Photo ID");
	snprintf(idk, sizeof(idk), "%.*s", (int)sizeof(idk) - 1, act->id_kind);
	if (idk[0] == '\0') {
		lit(&d, act->kind == JPKI_ACT_SUSPEND ? (ja ? "なし（一時停止の電話届出）"
		                                            : "none (the suspension line)")
		                                      : "-");
	} else {
		if ((w = id_kind_words(idk, d.ja)) != NULL)
			lit(&d, w);
		else
			text(&d, idk);
		if (act->id_masked[0] != '\0') {
			lit(&d, ja ? "（番号 " : " (number ");
			textn(&d, act->id_masked, sizeof(act->id_masked));
			lit(&d, ja ? "）" : ")");
		}
	}
	row_end(&d);
	fmt_fee(act->fee, d.ja, buf, sizeof(buf));
	row(&d, ja ? "手数料" : "Fee", buf, sizeof(buf));

	section(&d, ja ? "申請者" : "Applicant");
	if (res != NULL) {
		row_begin(&d, ja ? "氏名" : "Name");
		textn(&d, res->name, sizeof(res->name));
		if (ja)
			lit(&d, " 様");
		row_end(&d);
		if (res->kana[0] != '\0')
			row(&d, ja ? "フリガナ" : "Name (kana)", res->kana, sizeof(res->kana));
		if (res->alias[0] != '\0')
			row(&d, ja ? "通称" : "Registered alias", res->alias, sizeof(res->alias));
		if (res->address[0] != '\0')
			row(&d, ja ? "住所" : "Address", res->address, sizeof(res->address));
	}
	if (res != NULL && res->id[0] != '\0')
		row(&d, ja ? "住民記録番号" : "Resident number", res->id, sizeof(res->id));
	else if (act->resident[0] != '\0')
		row(&d, ja ? "住民記録番号" : "Resident number", act->resident, sizeof(act->resident));
	else
		row(&d, ja ? "住民記録番号" : "Resident number", ja ? "（不明）" : "(not known)",
		    (size_t)-1);
	if (act->card[0] != '\0')
		row(&d, ja ? "カード番号" : "Card number", act->card, sizeof(act->card));

	section(&d, ja ? "手続の内容" : "What was done");
	row(&d, ja ? "内容" : "Act",
	    act->state == JPKI_ACT_UNDONE ? (ja ? "この手続は取り消されました。" : "This act was undone.")
	                                  : at->summary[d.ja], (size_t)-1);
	serial_row(&d, ja ? "署名用電子証明書" : "Signature certificate", ja ? "発行" : "issued",
	           act->sign_new, sizeof(act->sign_new));
	serial_row(&d, ja ? "署名用電子証明書" : "Signature certificate",
	           old_verb(act->kind, 0, d.ja), act->sign_old, sizeof(act->sign_old));
	serial_row(&d, ja ? "利用者証明用電子証明書" : "Authentication certificate",
	           ja ? "発行" : "issued", act->auth_new, sizeof(act->auth_new));
	serial_row(&d, ja ? "利用者証明用電子証明書" : "Authentication certificate",
	           old_verb(act->kind, 1, d.ja), act->auth_old, sizeof(act->auth_old));
	if (act->reason >= 0) {
		const char *rfc = jpki_reason_name(act->reason);

		row_begin(&d, act->reason == JPKI_REASON_CERTIFICATE_HOLD ? (ja ? "理由" : "Reason")
		                                                           : (ja ? "失効理由"
		                                                                 : "Revocation reason"));
		lit(&d, reason_words(act->reason, d.ja));
		if (rfc != NULL && rfc[0] != '\0') {
			lit(&d, " (");
			text(&d, rfc);
			lit(&d, ")");
		}
		row_end(&d);
	}
	if (act->detail[0] != '\0')
		row(&d, ja ? "詳細" : "Details", act->detail, sizeof(act->detail));

	section(&d, ja ? "お知らせ" : "What to keep and what to do next");
	act_next_steps(&d, act);

	r = doc_finish(&d, out);
out:
	jpki_buf_free(&d.b);
	return r;
}

/* ---- the copy of a certificate (L11) ---- */

enum cert_kind { CK_UNKNOWN, CK_SIGN, CK_AUTH };

/* The kind and hierarchy by the policy OID (spec §4). */
static void
cert_kind(X509 *cert, enum cert_kind *kind, int *test)
{
	CERTIFICATEPOLICIES *pol;
	char oid[128];
	int i;

	*kind = CK_UNKNOWN;
	*test = 0;
	if ((pol = X509_get_ext_d2i(cert, NID_certificate_policies, NULL, NULL)) == NULL)
		return;
	for (i = 0; i < sk_POLICYINFO_num(pol); i++) {
		if (OBJ_obj2txt(oid, sizeof(oid), sk_POLICYINFO_value(pol, i)->policyid, 1) <= 0)
			continue;
		if (strcmp(oid, JPKI_POLICY_SIGN) == 0 || strcmp(oid, JPKI_POLICY_SIGN_TEST) == 0)
			*kind = CK_SIGN;
		else if (strcmp(oid, JPKI_POLICY_AUTH) == 0 || strcmp(oid, JPKI_POLICY_AUTH_TEST) == 0)
			*kind = CK_AUTH;
		else
			continue;
		*test = strcmp(oid, JPKI_POLICY_SIGN_TEST) == 0 ||
		        strcmp(oid, JPKI_POLICY_AUTH_TEST) == 0;
		break;
	}
	CERTIFICATEPOLICIES_free(pol);
}

/* A Name as "C=JP, O=JPKI, OU=..." in certificate order, UTF-8 kept as is
 * (not \-escaped): *out malloc'd. */
static int
name_text(const X509_NAME *name, char **out)
{
	unsigned long flags = (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) |
	                      XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN;
	BIO *bio = NULL;
	char *p, *s = NULL;
	long n;
	int r = JPKI_ERR_INTERNAL;

	*out = NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if (X509_NAME_print_ex(bio, name, 0, flags) < 0) {
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	n = BIO_get_mem_data(bio, &p);
	if (n < 0 || n > ISSUER_MAX) {
		jpki_set_detail("issuer name over %d bytes", ISSUER_MAX);
		r = JPKI_ERR_TOO_LARGE;
		goto out;
	}
	if ((s = malloc((size_t)n + 1)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	*out = s;
	r = 0;
out:
	BIO_free(bio);
	return r;
}

/* The first DirName of the issuerAltName (C=JP, O=公的個人認証サービス), or NULL. */
static int
issuer_alt_text(X509 *cert, char **out)
{
	GENERAL_NAMES *ian;
	GENERAL_NAME *gn;
	int i, r = 0;

	*out = NULL;
	if ((ian = X509_get_ext_d2i(cert, NID_issuer_alt_name, NULL, NULL)) == NULL)
		return 0;
	for (i = 0; i < sk_GENERAL_NAME_num(ian); i++) {
		gn = sk_GENERAL_NAME_value(ian, i);
		if (gn->type == GEN_DIRNAME) {
			r = name_text(gn->d.directoryName, out);
			break;
		}
	}
	GENERAL_NAMES_free(ian);
	return r;
}

static int
serial_text(X509 *cert, char **out)
{
	BIGNUM *bn = NULL;
	char *hex = NULL, *s = NULL;
	int r = JPKI_ERR_INTERNAL;

	*out = NULL;
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL) {
		r = JPKI_ERR_CRYPTO;
		goto out;
	}
	if ((s = strdup(hex)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	*out = s;
	r = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return r;
}

static const char *
sex_words(int sex, int ja)
{
	switch (sex) {
	case 1:
		return ja ? "男" : "male";
	case 2:
		return ja ? "女" : "female";
	case 9:
		return ja ? "適用なし" : "not applicable";
	}
	return "-";
}

int
jpki_cert_copy_render(X509 *cert, int html, int ja, char **out)
{
	static const char *const titles[3][2] = {
		[CK_UNKNOWN] = {"Copy of certificate", "電子証明書の写し"},
		[CK_SIGN] = {"Copy of signature certificate", "署名用電子証明書の写し"},
		[CK_AUTH] = {"Copy of user-authentication certificate", "利用者証明用電子証明書の写し"},
	};
	struct doc d;
	jpki_person_read_t *p = NULL;
	enum cert_kind kind;
	jpki_date_t day;
	time_t nb, na;
	char buf[160], fp[128];
	char *issuer = NULL, *issuer_alt = NULL, *serial = NULL;
	int test, has_person, r = JPKI_ERR_INTERNAL;

	memset(&d, 0, sizeof(d));
	jpki_buf_init(&d.b, DOC_MAX);
	if (out != NULL)
		*out = NULL;
	if (cert == NULL || out == NULL) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	d.html = html != 0;
	d.ja = ja != 0;
	/* Several KiB of buffers: off the stack, for threads with small ones. */
	if ((p = malloc(sizeof(*p))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	r = jpki_x509_person_read(cert, p);
	if (r != 0 && r != JPKI_ERR_NOT_FOUND)
		goto out;
	has_person = r == 0;
	cert_kind(cert, &kind, &test);
	if ((r = asn1_time_to_t(X509_get0_notBefore(cert), &nb)) != 0 ||
	    (r = asn1_time_to_t(X509_get0_notAfter(cert), &na)) != 0) {
		jpki_set_detail("the certificate's validity dates cannot be read");
		goto out;
	}
	if ((r = name_text(X509_get_issuer_name(cert), &issuer)) != 0 ||
	    (r = issuer_alt_text(cert, &issuer_alt)) != 0 || (r = serial_text(cert, &serial)) != 0)
		goto out;
	if ((r = jpki_x509_fingerprint_sha256(cert, fp, sizeof(fp))) != 0)
		goto out;

	doc_begin(&d, titles[kind][d.ja], NULL);
	if (kind != CK_UNKNOWN)
		row(&d, ja ? "証明書の種類" : "Certificate",
		    kind == CK_SIGN ? (ja ? "署名用電子証明書" : "signature certificate")
		                    : (ja ? "利用者証明用電子証明書" : "user-authentication certificate"),
		    (size_t)-1);
	if (has_person) {
		row(&d, ja ? "氏名" : "Name", p->name, sizeof(p->name));
		if (p->present & JPKI_PR_ALIAS)
			row(&d, ja ? "通称" : "Registered alias", p->alias, sizeof(p->alias));
		fmt_date(&p->dob, d.ja, buf, sizeof(buf));
		row(&d, ja ? "生年月日" : "Date of birth", buf, sizeof(buf));
		row(&d, ja ? "性別" : "Sex", sex_words(p->sex, d.ja), (size_t)-1);
		row(&d, ja ? "住所" : "Address", p->address, sizeof(p->address));
	} else {
		row(&d, ja ? "記録事項" : "Personal data",
		    ja ? "なし（この電子証明書には氏名・生年月日・性別・住所などの個人情報は記録されていません）"
		       : "none: this certificate carries no personal data (name, date of birth, sex, "
		         "address)",
		    (size_t)-1);
	}
	jpki_date_from_time_jst(nb, &day);
	fmt_date(&day, d.ja, buf, sizeof(buf));
	row(&d, ja ? "発行年月日" : "Issued on", buf, sizeof(buf));
	jpki_date_from_time_jst(na, &day);
	fmt_date(&day, d.ja, buf, sizeof(buf));
	row(&d, ja ? "有効期間の満了日" : "Valid until", buf, sizeof(buf));
	row(&d, ja ? "シリアル番号" : "Serial number", serial, (size_t)-1);
	row(&d, ja ? "発行者" : "Issuer", issuer, (size_t)-1);
	if (issuer_alt != NULL)
		row(&d, ja ? "発行者（別名）" : "Issuer (alternative name)", issuer_alt, (size_t)-1);
	row(&d, ja ? "フィンガープリント (SHA-256)" : "Fingerprint (SHA-256)", fp, sizeof(fp));

	section(&d, ja ? "お知らせ" : "Notes");
	if (test)
		bullet(&d, ja ? "この電子証明書は試験用の認証局が発行したもので、実際の手続には使用できません。"
		              : "This certificate was issued by a TEST certification authority and is "
		                "not valid for real procedures.");
	if (has_person) {
		bullet(&d, ja ? "氏名・生年月日・性別・住所（通称を含む）に変更があったときは、この電子証明書は"
		                "失効します。"
		              : "If your name, date of birth, sex or address (or alias) changes, this "
		                "certificate is revoked.");
	} else {
		bullet(&d, ja ? "この電子証明書には個人情報は記録されていません。転居などでは失効しません。"
		              : "This certificate carries no personal data: moving or marriage does not "
		                "revoke it.");
	}
	bullet(&d, ja ? "有効期間の満了日の3か月前から、市区町村窓口で更新できます。"
	              : "You can renew it at the municipal window from 3 months before it expires.");
	bullet(&d, ja ? "この写しは大切に保管し、失効の届出の際にお持ちください。"
	              : "Keep this copy, and bring it when you apply for revocation.");

	r = doc_finish(&d, out);
out:
	free(p);
	free(issuer);
	free(issuer_alt);
	free(serial);
	jpki_buf_free(&d.b);
	return r;
}
