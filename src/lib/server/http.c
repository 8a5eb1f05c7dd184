/* HTTP helpers of jpkid's routes: dates, CRL paths, entity tags.  Everything
 * here reads bytes a client sent, so it is bounded and fuzzed. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "jpki/error.h"
#include "server/server_int.h"

static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void
http_date(time_t t, char out[32])
{
	struct tm tm;

	/* Not strftime: %a and %b follow the locale, HTTP dates do not. */
	if (gmtime_r(&t, &tm) == NULL) {
		out[0] = '\0';
		return;
	}
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
	         months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
http_date_parse(const char *s, time_t *t)
{
	struct tm tm;
	int i, mon = -1, v;

	/* "Sun, 06 Nov 1994 08:49:37 GMT": 29 characters, fixed positions. */
	if (s == NULL || strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    memcmp(s + 25, " GMT", 4) != 0)
		return JPKI_ERR_FORMAT;
	for (i = 0; i < 12; i++)
		if (memcmp(s + 8, months[i], 3) == 0)
			mon = i;
	if (mon < 0)
		return JPKI_ERR_FORMAT;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mon = mon;
	if (digits(s + 5, 2, &tm.tm_mday) || digits(s + 12, 4, &v) || digits(s + 17, 2, &tm.tm_hour) ||
	    digits(s + 20, 2, &tm.tm_min) || digits(s + 23, 2, &tm.tm_sec))
		return JPKI_ERR_FORMAT;
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60 || v < 1970)
		return JPKI_ERR_FORMAT;
	tm.tm_year = v - 1900;
	*t = timegm(&tm);
	return 0;
}

int
http_crl_path_parse(const char *rest, jpki_ca_kind_t *kind, int64_t *partition, int *delta)
{
	const char *p;
	int64_t n = 0;
	int nd = 0;

	if (strncmp(rest, "sign/", 5) == 0)
		*kind = JPKI_CA_SIGN;
	else if (strncmp(rest, "auth/", 5) == 0)
		*kind = JPKI_CA_AUTH;
	else
		return JPKI_ERR_NOT_FOUND;
	for (p = rest + 5; *p >= '0' && *p <= '9'; p++) {
		if (++nd > 18 || (nd == 2 && n == 0))
			return JPKI_ERR_NOT_FOUND; /* too long, or a leading zero */
		n = n * 10 + (*p - '0');
	}
	if (nd == 0)
		return JPKI_ERR_NOT_FOUND;
	*delta = strncmp(p, "-delta", 6) == 0;
	if (*delta)
		p += 6;
	if (strcmp(p, ".crl") != 0)
		return JPKI_ERR_NOT_FOUND;
	*partition = n;
	return 0;
}

int
http_etag_matches(const char *header, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = header;

	if (header == NULL)
		return 0;
	/* A list of entity tags, "W/" weak ones compared weakly (RFC 7232 3.2). */
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (strncmp(p, etag, el) == 0 && (p[el] == '\0' || p[el] == ',' || p[el] == ' ' ||
		                                  p[el] == '\t'))
			return 1;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}
