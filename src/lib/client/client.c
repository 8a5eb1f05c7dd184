/*
 * Helpers of the resident's client (jpki/client.h): PIN input without echo,
 * the L9 guessable-value rules, the L5 expiry warning, names, fingerprints.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "jpki/client.h"
#include "jpki/error.h"

#define PUBLISHED_MAX (64 * 1024)

static int
is_run(const char *s)
{
	size_t n = strlen(s), i;
	int up = 1, down = 1;

	if (n < 3)
		return 0;
	for (i = 1; i < n; i++) {
		int a = toupper((unsigned char)s[i - 1]), b = toupper((unsigned char)s[i]);
		if (b != a + 1)
			up = 0;
		if (b != a - 1)
			down = 0;
	}
	return up || down;
}

static int
icontains(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; hay[i] != '\0'; i++)
		if (strncasecmp(hay + i, needle, n) == 0)
			return 1;
	return 0;
}

int
jpki_client_pin_guessable(jpki_pin_kind_t which, const char *pin, const jpki_date_t *dob)
{
	char full[16], yymmdd[16], mmdd[8], yyyy[8];
	size_t n, i;
	int same = 1;

	if (pin == NULL)
		return JPKI_ERR_INVALID_ARG;
	n = strlen(pin);
	for (i = 1; i < n; i++)
		if (toupper((unsigned char)pin[i]) != toupper((unsigned char)pin[0]))
			same = 0;
	if (n > 0 && same) {
		jpki_set_detail("all one character is easy to guess");
		return JPKI_ERR_PIN_FORMAT;
	}
	if (is_run(pin)) {
		jpki_set_detail("a run like 1234 or ABCDEF is easy to guess");
		return JPKI_ERR_PIN_FORMAT;
	}
	if (dob == NULL || !jpki_date_valid(dob))
		return 0;
	snprintf(full, sizeof(full), "%04d%02d%02d", dob->year, dob->month, dob->day);
	snprintf(yymmdd, sizeof(yymmdd), "%02d%02d%02d", dob->year % 100, dob->month, dob->day);
	snprintf(mmdd, sizeof(mmdd), "%02d%02d", dob->month, dob->day);
	snprintf(yyyy, sizeof(yyyy), "%04d", dob->year);
	if (which == JPKI_PIN_AUTH ? (strcmp(pin, mmdd) == 0 || strcmp(pin, yyyy) == 0)
	                           : (icontains(pin, full) || icontains(pin, yymmdd))) {
		jpki_set_detail("it is your date of birth, which others can find out");
		return JPKI_ERR_PIN_FORMAT;
	}
	return 0;
}

int
jpki_client_expiry(X509 *cert, time_t now, time_t *not_after, long *days_left, int *warn)
{
	struct tm tm;
	time_t na;
	jpki_date_t last, today, from;

	if (cert == NULL || not_after == NULL || days_left == NULL || warn == NULL)
		return JPKI_ERR_INVALID_ARG;
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return JPKI_ERR_FORMAT;
	na = timegm(&tm);
	if (now == 0)
		now = jpki_now();
	*not_after = na;
	*days_left = (long)((na - now) / 86400);
	if (na < now && (na - now) % 86400 != 0)
		(*days_left)--;
	/* Three calendar months before the last day (JST), the day clamped to the
	 * month's length: from then on, renewal is possible and the client warns. */
	jpki_date_from_time_jst(na, &last);
	jpki_date_add_months(&last, -3, &from);
	jpki_date_from_time_jst(now, &today);
	*warn = jpki_date_cmp(&today, &from) >= 0;
	return 0;
}

int
jpki_client_name(const X509_NAME *name, const char *sep, char *out, size_t outlen)
{
	size_t o = 0;
	int i, n, first = 1;

	if (name == NULL || sep == NULL || out == NULL || outlen == 0)
		return JPKI_ERR_INVALID_ARG;
	out[0] = '\0';
	for (i = X509_NAME_entry_count(name) - 1; i >= 0; i--) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : "?";
		unsigned char *u = NULL;

		if ((n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e))) < 0)
			return JPKI_ERR_FORMAT;
		o += (size_t)snprintf(out + o, outlen - o, "%s%s=%.*s", first ? "" : sep, sn, n,
		                      (const char *)u);
		OPENSSL_free(u);
		first = 0;
		if (o >= outlen) {
			out[outlen - 1] = '\0';
			return JPKI_ERR_RANGE;
		}
	}
	return 0;
}

static int
take_fp(json_t *root, const char *key, char out[JPKI_CLIENT_FP_MAX])
{
	json_t *v = json_object_get(root, key);
	const char *s;
	size_t i;

	out[0] = '\0';
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || (s = json_string_value(v)) == NULL ||
	    strlen(s) >= JPKI_CLIENT_FP_MAX) {
		jpki_set_detail("published fingerprints: '%s' is not a fingerprint string", key);
		return JPKI_ERR_FORMAT;
	}
	for (i = 0; s[i] != '\0'; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != ' ') {
			jpki_set_detail("published fingerprints: '%s' is not hex", key);
			return JPKI_ERR_FORMAT;
		}
	memcpy(out, s, i + 1);
	return 0;
}

int
jpki_client_published_fp(const char *text, size_t len, char sign[JPKI_CLIENT_FP_MAX],
                         char auth[JPKI_CLIENT_FP_MAX])
{
	json_error_t je;
	json_t *root = NULL;
	int r;

	if (sign != NULL)
		sign[0] = '\0';
	if (auth != NULL)
		auth[0] = '\0';
	if (text == NULL || sign == NULL || auth == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (len > PUBLISHED_MAX) {
		jpki_set_detail("published fingerprints: %zu bytes, at most %d", len, PUBLISHED_MAX);
		return JPKI_ERR_TOO_LARGE;
	}
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL ||
	    !json_is_object(root)) {
		jpki_set_detail("published fingerprints: not a JSON object (%s)", root ? "" : je.text);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if ((r = take_fp(root, "sign", sign)) != 0 || (r = take_fp(root, "auth", auth)) != 0)
		goto out;
	if (sign[0] == '\0' && auth[0] == '\0') {
		jpki_set_detail("published fingerprints: neither \"sign\" nor \"auth\" is there");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	r = 0;
out:
	json_decref(root);
	return r;
}

int
jpki_client_fp_equal(const char *a, const char *b)
{
	size_t i = 0, j = 0;

	if (a == NULL || b == NULL)
		return 0;
	for (;;) {
		while (a[i] == ':' || a[i] == ' ')
			i++;
		while (b[j] == ':' || b[j] == ' ')
			j++;
		if (a[i] == '\0' || b[j] == '\0')
			return a[i] == '\0' && b[j] == '\0' && i > 0 && j > 0;
		if (toupper((unsigned char)a[i]) != toupper((unsigned char)b[j]))
			return 0;
		i++;
		j++;
	}
}
