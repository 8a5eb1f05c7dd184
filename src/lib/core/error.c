/* Error texts, English and Japanese (habit 1: one error type). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpki/error.h"

struct errtext {
	int code;
	const char *en;
	const char *ja;
};

static const struct errtext texts[] = {
	{JPKI_OK, "success", "成功"},
	{JPKI_ERR_INTERNAL, "internal error", "内部エラー"},
	{JPKI_ERR_NOMEM, "out of memory", "メモリが不足しています"},
	{JPKI_ERR_INVALID_ARG, "invalid argument", "引数が正しくありません"},
	{JPKI_ERR_IO, "input/output error", "入出力エラー"},
	{JPKI_ERR_EXISTS, "already exists", "すでに存在します"},
	{JPKI_ERR_NOT_FOUND, "not found", "見つかりません"},
	{JPKI_ERR_FORMAT, "malformed data", "データの形式が正しくありません"},
	{JPKI_ERR_CRYPTO, "cryptographic operation failed", "暗号処理に失敗しました"},
	{JPKI_ERR_STORE, "database error", "データベースのエラー"},
	{JPKI_ERR_CONFIG, "configuration error", "設定のエラー"},
	{JPKI_ERR_RANGE, "value out of range", "値が範囲外です"},
	{JPKI_ERR_STATE, "not allowed in the current state", "現在の状態では実行できません"},
	{JPKI_ERR_RELEASE_SIGN,
	 "a signature certificate cannot be released from hold: revoke it and issue a new one",
	 "署名用電子証明書の一時保留は解除できません。失効させて再発行してください"},
	{JPKI_ERR_TRUNCATED, "data ends early", "データが途中で終わっています"},
	{JPKI_ERR_TOO_LARGE, "data too large", "データが大きすぎます"},
	{JPKI_ERR_VERSION, "unsupported version", "対応していないバージョンです"},
	{JPKI_ERR_DATE, "invalid date", "日付が正しくありません"},
	{JPKI_ERR_PIN_WRONG, "wrong password", "暗証番号が違います"},
	{JPKI_ERR_PIN_BLOCKED, "password blocked", "暗証番号がロックされています"},
	{JPKI_ERR_PIN_FORMAT, "password does not follow the rules", "暗証番号が規則に合っていません"},
	{JPKI_ERR_SECURITY, "security status not satisfied", "セキュリティ条件が満たされていません"},
	{JPKI_ERR_NO_READER, "no card reader found", "カードリーダが見つかりません"},
	{JPKI_ERR_NO_CARD, "no card in the reader", "カードが挿入されていません"},
	{JPKI_ERR_CARD_REMOVED, "card was removed", "カードが取り外されました"},
	{JPKI_ERR_NOT_JPKI, "not a JPKI card", "公的個人認証のカードではありません"},
	{JPKI_ERR_CARD, "the card returned an error", "カードがエラーを返しました"},
	{JPKI_ERR_AUTH, "authentication failed", "認証に失敗しました"},
	{JPKI_ERR_REVOKED, "certificate revoked", "電子証明書は失効しています"},
	{JPKI_ERR_EXPIRED, "certificate expired", "電子証明書の有効期間が過ぎています"},
	{JPKI_ERR_VERIFY, "verification failed", "検証に失敗しました"},
	{JPKI_ERR_NET, "network error", "通信エラー"},
	{JPKI_ERR_BUSY, "busy, try again", "処理中です。しばらくしてから再度お試しください"},
	{JPKI_ERR_UNTRUSTED, "certificate not issued by the trusted CA",
	 "信頼する認証局が発行した電子証明書ではありません"},
	{JPKI_ERR_HOLD, "certificate on hold (temporarily suspended)",
	 "電子証明書は一時保留されています"},
};

int
jpki_lang_ja(void)
{
	static const char *vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v != NULL && *v != '\0')
			return strncmp(v, "ja", 2) == 0;
	}
	return 0;
}

const char *
jpki_strerror(int err)
{
	size_t i;
	int ja = jpki_lang_ja();

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (texts[i].code == err)
			return ja ? texts[i].ja : texts[i].en;
	}
	return ja ? "不明なエラー" : "unknown error";
}

static _Thread_local char detail[512];

void
jpki_set_detail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
}

const char *
jpki_detail(void)
{
	return detail;
}

void
jpki_clear_detail(void)
{
	detail[0] = '\0';
}
