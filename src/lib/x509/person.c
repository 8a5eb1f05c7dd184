/* The resident's facts as the signature certificate carries them (L1, spec §4). */
#include <stdio.h>
#include <string.h>

#include "jpki/error.h"
#include "jpki/x509.h"

long
jpki_utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;

	while (*p) {
		unsigned c = *p;
		int extra;
		unsigned cp;

		if (c < 0x80) {
			p++;
			n++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			extra = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			extra = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			extra = 3;
			cp = c & 0x07;
		} else {
			return -1;
		}
		p++;
		for (int i = 0; i < extra; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (*p & 0x3f);
		}
		/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
		if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
		    (extra == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		n++;
	}
	return n;
}

static int
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int
check_text(const char *field, const char *v, long max, int required)
{
	long n;

	if (v == NULL || *v == '\0') {
		if (!required)
			return 0;
		jpki_set_detail("%s is missing", field);
		return JPKI_ERR_INVALID_ARG;
	}
	if ((n = jpki_utf8_chars(v)) < 0) {
		jpki_set_detail("%s is not valid UTF-8", field);
		return JPKI_ERR_INVALID_ARG;
	}
	if (n > max) {
		jpki_set_detail("%s has %ld characters; at most %ld are allowed", field, n, max);
		return JPKI_ERR_RANGE;
	}
	if (has_control(v)) {
		jpki_set_detail("%s contains a control character", field);
		return JPKI_ERR_INVALID_ARG;
	}
	return 0;
}

static int
check_flags(const char *field, const char *flags, const char *of)
{
	long n = jpki_utf8_chars(of);
	size_t i;

	if (flags == NULL)
		return 0;
	if ((long)strlen(flags) != n) {
		jpki_set_detail("%s has %zu flags; it needs one per character (%ld)",
		                field, strlen(flags), n);
		return JPKI_ERR_INVALID_ARG;
	}
	for (i = 0; flags[i]; i++) {
		if (flags[i] != '0' && flags[i] != '1') {
			jpki_set_detail("%s may hold only 0 and 1", field);
			return JPKI_ERR_INVALID_ARG;
		}
	}
	return 0;
}

int
jpki_person_check(const jpki_person_t *p, const jpki_date_t *on)
{
	char iso[16];
	int r;

	if (p == NULL)
		return JPKI_ERR_INVALID_ARG;
	if ((r = check_text("name", p->name, JPKI_NAME_MAX_CHARS, 1)) != 0 ||
	    (r = check_text("address", p->address, JPKI_ADDRESS_MAX_CHARS, 1)) != 0 ||
	    (r = check_text("alias", p->alias, JPKI_ALIAS_MAX_CHARS, 0)) != 0 ||
	    (r = check_text("prefecture", p->prefecture, 20, 0)) != 0 ||
	    (r = check_text("city", p->city, 40, 0)) != 0)
		return r;
	if ((r = check_flags("name flags", p->name_flags, p->name)) != 0 ||
	    (r = check_flags("address flags", p->address_flags, p->address)) != 0)
		return r;
	if (p->sex != 1 && p->sex != 2 && p->sex != 9) {
		jpki_set_detail("sex must be 1 (male), 2 (female) or 9 (not applicable), not %d", p->sex);
		return JPKI_ERR_INVALID_ARG;
	}
	if (!jpki_date_valid(&p->dob)) {
		jpki_set_detail("date of birth is not a real date");
		return JPKI_ERR_DATE;
	}
	if (on != NULL && jpki_date_cmp(&p->dob, on) > 0) {
		jpki_date_format_iso(&p->dob, iso, sizeof(iso));
		jpki_set_detail("date of birth %s is in the future", iso);
		return JPKI_ERR_DATE;
	}
	return 0;
}

int
jpki_sex_parse(const char *s, int *sex)
{
	if (s != NULL && (!strcmp(s, "1") || !strcmp(s, "male")))
		*sex = 1;
	else if (s != NULL && (!strcmp(s, "2") || !strcmp(s, "female")))
		*sex = 2;
	else if (s != NULL && (!strcmp(s, "9") || !strcmp(s, "na")))
		*sex = 9;
	else
		return JPKI_ERR_INVALID_ARG;
	return 0;
}

static const char *const prefectures[] = {
	"北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県",
	"栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県",
	"石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県",
	"滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県",
	"岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
	"佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
};

int
jpki_address_split(const char *address, char *pref, size_t pref_len, char *city, size_t city_len)
{
	const char *rest = NULL, *p;
	size_t i, n;

	if (pref_len)
		pref[0] = '\0';
	if (city_len)
		city[0] = '\0';
	for (i = 0; i < sizeof(prefectures) / sizeof(prefectures[0]); i++) {
		n = strlen(prefectures[i]);
		if (strncmp(address, prefectures[i], n) == 0) {
			rest = address + n;
			break;
		}
	}
	if (rest == NULL) {
		jpki_set_detail("the address does not start with a prefecture");
		return JPKI_ERR_INVALID_ARG;
	}
	if (n >= pref_len)
		return JPKI_ERR_RANGE;
	memcpy(pref, address, n);
	pref[n] = '\0';
	/* City: up to the first 市/区/町/村 (a 郡 before it belongs to the name:
	 * "足柄下郡箱根町").  Each of these is 3 bytes in UTF-8. */
	for (p = rest; *p; ) {
		if (strncmp(p, "市", 3) == 0 || strncmp(p, "区", 3) == 0 ||
		    strncmp(p, "町", 3) == 0 || strncmp(p, "村", 3) == 0) {
			size_t cl = (size_t)(p + 3 - rest);
			if (cl >= city_len)
				return JPKI_ERR_RANGE;
			memcpy(city, rest, cl);
			city[cl] = '\0';
			return 0;
		}
		p++;
		while ((*p & 0xc0) == 0x80)
			p++;
	}
	jpki_set_detail("the address names no city, ward, town or village");
	return JPKI_ERR_INVALID_ARG;
}
