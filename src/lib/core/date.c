/*
 * Calendar dates, Japanese eras and certificate validity (spec L4, §4).
 *
 * Everything is integer arithmetic on a day count from 1970-01-01 (the
 * days-from-civil algorithm), so the result never depends on TZ, the locale or
 * the C library's time functions: JST is a fixed UTC+9.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jpki/date.h"
#include "jpki/error.h"

#define SECS_PER_DAY	86400
#define JST_OFFSET	(9 * 3600)

/* First day of each era (spec §4); index = era digit of the DOB code. */
static const struct {
	jpki_date_t start;
	const char *name;
} eras[] = {
	{ { 0, 0, 0 }, "" },
	{ { 1868, 1, 25 }, "明治" },
	{ { 1912, 7, 30 }, "大正" },
	{ { 1926, 12, 25 }, "昭和" },
	{ { 1989, 1, 8 }, "平成" },
	{ { 2019, 5, 1 }, "令和" },
};
#define N_ERAS ((int)(sizeof(eras) / sizeof(eras[0])))

/* Floor division, so that days before 1970 and negative instants round down. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse: out is the zero date when the year leaves 1..9999. */
static void
civil_from_days(int64_t z, jpki_date_t *out)
{
	int64_t era, doe, yoe, y, doy, mp, d, m;

	memset(out, 0, sizeof(*out));
	/* Far outside 1..9999: refuse before the arithmetic could overflow. */
	if (z < -800000 || z > 3000000)
		return;
	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 1 || y > 9999)
		return;
	out->year = (int)y;
	out->month = (int)m;
	out->day = (int)d;
}

int
jpki_date_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int
jpki_date_days_in_month(int year, int month)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (month < 1 || month > 12)
		return 0;
	if (month == 2 && jpki_date_leap(year))
		return 29;
	return dim[month - 1];
}

int
jpki_date_valid(const jpki_date_t *d)
{
	if (d == NULL || d->year < 1 || d->year > 9999)
		return 0;
	if (d->month < 1 || d->month > 12)
		return 0;
	return d->day >= 1 && d->day <= jpki_date_days_in_month(d->year, d->month);
}

/* NULL sorts before any date, so a sort never crashes on it. */
int
jpki_date_cmp(const jpki_date_t *a, const jpki_date_t *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	if (a->year != b->year)
		return a->year < b->year ? -1 : 1;
	if (a->month != b->month)
		return a->month < b->month ? -1 : 1;
	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	return 0;
}

/* n ASCII digits at s into *v; 0 on success, -1 on anything but a digit. */
static int
parse_digits(const char *s, int n, int *v)
{
	int i, x = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 0;
}

int
jpki_date_parse(const char *s, jpki_date_t *out)
{
	jpki_date_t d;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL)
		return JPKI_ERR_INVALID_ARG;
	/* Checked left to right, so a short string stops at its NUL. */
	if (parse_digits(s, 4, &d.year) != 0 || s[4] != '-' ||
	    parse_digits(s + 5, 2, &d.month) != 0 || s[7] != '-' ||
	    parse_digits(s + 8, 2, &d.day) != 0 || s[10] != '\0')
		return JPKI_ERR_DATE;
	if (!jpki_date_valid(&d))
		return JPKI_ERR_DATE;
	*out = d;
	return 0;
}

void
jpki_date_format_iso(const jpki_date_t *d, char *out, size_t outlen)
{
	if (out == NULL || outlen == 0)
		return;
	out[0] = '\0';
	/* An impossible date or a short buffer gives "", never a truncated date. */
	if (outlen < 11 || !jpki_date_valid(d))
		return;
	snprintf(out, outlen, "%04d-%02d-%02d", d->year, d->month, d->day);
}

void
jpki_date_from_time_jst(time_t t, jpki_date_t *out)
{
	int64_t days, secs;

	if (out == NULL)
		return;
	/* Split before adding the offset so that no time_t value can overflow. */
	days = (int64_t)t / SECS_PER_DAY;
	secs = (int64_t)t % SECS_PER_DAY;
	if (secs < 0) {
		secs += SECS_PER_DAY;
		days--;
	}
	if (secs + JST_OFFSET >= SECS_PER_DAY)
		days++;
	civil_from_days(days, out);
}

/* The instant day_shift days after d, secs seconds past 00:00Z; -1 if d is
 * not a date or the instant does not fit time_t. */
static int
instant_utc(const jpki_date_t *d, int64_t day_shift, int64_t secs, time_t *out)
{
	int64_t v;
	time_t t;

	if (!jpki_date_valid(d))
		return -1;
	v = (days_from_civil(d->year, d->month, d->day) + day_shift) * SECS_PER_DAY + secs;
	t = (time_t)v;
	if ((int64_t)t != v)
		return -1;
	*out = t;
	return 0;
}

/* (time_t)-1 for NULL or an impossible date, as time() reports failure. */
time_t
jpki_date_start_jst(const jpki_date_t *d)
{
	time_t t;

	if (instant_utc(d, -1, 15 * 3600, &t) != 0)
		return (time_t)-1;
	return t;
}

time_t
jpki_date_end_jst(const jpki_date_t *d)
{
	time_t t;

	if (instant_utc(d, 0, 14 * 3600 + 59 * 60 + 59, &t) != 0)
		return (time_t)-1;
	return t;
}

void
jpki_date_add_days(const jpki_date_t *d, int n, jpki_date_t *out)
{
	if (out == NULL)
		return;
	if (!jpki_date_valid(d)) {
		memset(out, 0, sizeof(*out));
		return;
	}
	civil_from_days(days_from_civil(d->year, d->month, d->day) + n, out);
}

void
jpki_date_add_years(const jpki_date_t *d, int n, jpki_date_t *out)
{
	jpki_date_t r;
	int64_t y;

	if (out == NULL)
		return;
	/* Read d before clearing out: they may be the same date. */
	if (!jpki_date_valid(d)) {
		memset(out, 0, sizeof(*out));
		return;
	}
	r = *d;
	memset(out, 0, sizeof(*out));
	y = (int64_t)r.year + n;
	if (y < 1 || y > 9999)
		return;
	r.year = (int)y;
	if (r.month == 2 && r.day == 29 && !jpki_date_leap(r.year))
		r.day = 28;
	*out = r;
}

void
jpki_date_add_months(const jpki_date_t *d, int n, jpki_date_t *out)
{
	jpki_date_t r;
	int64_t m;
	int dim;

	if (out == NULL)
		return;
	if (!jpki_date_valid(d)) {
		memset(out, 0, sizeof(*out));
		return;
	}
	r = *d;
	memset(out, 0, sizeof(*out));
	m = (int64_t)r.year * 12 + (r.month - 1) + n;
	if (m < 12 || m > 9999 * 12 + 11)
		return;
	r.year = (int)(m / 12);
	r.month = (int)(m % 12) + 1;
	dim = jpki_date_days_in_month(r.year, r.month);
	if (r.day > dim)
		r.day = dim;
	*out = r;
}

/* Strict "YYYY-MM-DDTHH:MM:SSZ" into *t; -1 on anything else. */
static int
parse_now(const char *s, time_t *t)
{
	jpki_date_t d;
	int hh, mm, ss;

	if (parse_digits(s, 4, &d.year) != 0 || s[4] != '-' ||
	    parse_digits(s + 5, 2, &d.month) != 0 || s[7] != '-' ||
	    parse_digits(s + 8, 2, &d.day) != 0 || s[10] != 'T' ||
	    parse_digits(s + 11, 2, &hh) != 0 || s[13] != ':' ||
	    parse_digits(s + 14, 2, &mm) != 0 || s[16] != ':' ||
	    parse_digits(s + 17, 2, &ss) != 0 || s[19] != 'Z' || s[20] != '\0')
		return -1;
	if (!jpki_date_valid(&d) || hh > 23 || mm > 59 || ss > 59)
		return -1;
	return instant_utc(&d, 0, (int64_t)hh * 3600 + mm * 60 + ss, t);
}

/* Set once by jpki_now_run_on() before threads start; read-only after. */
static int now_runs_on;
static time_t now_offset;

void
jpki_now_run_on(void)
{
	const char *s = getenv("JPKI_NOW");
	time_t t;

	if (s != NULL && parse_now(s, &t) == 0)
		now_offset = t - time(NULL);
	now_runs_on = 1;
}

time_t
jpki_now(void)
{
	const char *s;
	time_t t;

	if (now_runs_on)
		return time(NULL) + now_offset;
	s = getenv("JPKI_NOW");
	/* A malformed override is ignored rather than fatal: the clock is always there. */
	if (s != NULL && parse_now(s, &t) == 0)
		return t;
	return time(NULL);
}

void
jpki_date_today_jst(jpki_date_t *out)
{
	jpki_date_from_time_jst(jpki_now(), out);
}

int
jpki_era_of(const jpki_date_t *d, int *era, int *era_year)
{
	int e;

	if (era != NULL)
		*era = JPKI_ERA_UNKNOWN;
	if (era_year != NULL)
		*era_year = 0;
	if (d == NULL || era == NULL || era_year == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (!jpki_date_valid(d))
		return JPKI_ERR_DATE;
	for (e = N_ERAS - 1; e >= 1; e--) {
		if (jpki_date_cmp(d, &eras[e].start) >= 0)
			break;
	}
	if (e < 1)
		return JPKI_ERR_DATE;
	*era = e;
	*era_year = d->year - eras[e].start.year + 1;
	return 0;
}

const char *
jpki_era_name(int era)
{
	if (era < 1 || era >= N_ERAS)
		return "";
	return eras[era].name;
}

int
jpki_era_format(const jpki_date_t *d, char *out, size_t outlen)
{
	char year[16];
	int r, era, ey, n;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (d == NULL || out == NULL)
		return JPKI_ERR_INVALID_ARG;
	if ((r = jpki_era_of(d, &era, &ey)) != 0)
		return r;
	if (ey == 1)
		snprintf(year, sizeof(year), "元");
	else
		snprintf(year, sizeof(year), "%d", ey);
	n = snprintf(out, outlen, "%s%s年%d月%d日", jpki_era_name(era), year,
	    d->month, d->day);
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return JPKI_ERR_RANGE;
	}
	return 0;
}

int
jpki_era_format_both(const jpki_date_t *d, char *out, size_t outlen)
{
	char era[32], iso[11];
	int r, n;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (d == NULL || out == NULL)
		return JPKI_ERR_INVALID_ARG;
	if ((r = jpki_era_format(d, era, sizeof(era))) != 0)
		return r;
	jpki_date_format_iso(d, iso, sizeof(iso));
	n = snprintf(out, outlen, "%s (%s)", era, iso);
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return JPKI_ERR_RANGE;
	}
	return 0;
}

/* The DOB era digit: 0 before Meiji, else the era (for any valid date). */
static int
dob_era_digit(const jpki_date_t *d)
{
	int era, ey;

	if (jpki_era_of(d, &era, &ey) != 0)
		return JPKI_ERA_UNKNOWN;
	return era;
}

int
jpki_era_dob_code(const jpki_date_t *d, char *out, size_t outlen)
{
	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (d == NULL || out == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (!jpki_date_valid(d))
		return JPKI_ERR_DATE;
	if (outlen < 10)
		return JPKI_ERR_RANGE;
	snprintf(out, outlen, "%d%04d%02d%02d", dob_era_digit(d), d->year,
	    d->month, d->day);
	return 0;
}

int
jpki_era_dob_parse(const char *s, jpki_date_t *out, int *era)
{
	jpki_date_t d;
	int e;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (era != NULL)
		*era = JPKI_ERA_UNKNOWN;
	if (s == NULL || out == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (parse_digits(s, 1, &e) != 0 || parse_digits(s + 1, 4, &d.year) != 0 ||
	    parse_digits(s + 5, 2, &d.month) != 0 ||
	    parse_digits(s + 7, 2, &d.day) != 0 || s[9] != '\0')
		return JPKI_ERR_DATE;
	/* The era digit is redundant with the date: a mismatch means a bad value. */
	if (!jpki_date_valid(&d) || e != dob_era_digit(&d))
		return JPKI_ERR_DATE;
	*out = d;
	if (era != NULL)
		*era = e;
	return 0;
}

int
jpki_validity_last_day(jpki_generation_t gen, const jpki_date_t *issued,
                       const jpki_date_t *dob, const jpki_date_t *card_expiry,
                       jpki_date_t *last)
{
	jpki_date_t r, bday, iss, birth, card;
	int years;

	/* Copies first: last may be one of the inputs, and is cleared on entry. */
	if (issued != NULL)
		iss = *issued;
	if (dob != NULL)
		birth = *dob;
	if (card_expiry != NULL)
		card = *card_expiry;
	if (last != NULL)
		memset(last, 0, sizeof(*last));
	if (issued == NULL || last == NULL)
		return JPKI_ERR_INVALID_ARG;
	issued = &iss;
	dob = dob != NULL ? &birth : NULL;
	card_expiry = card_expiry != NULL ? &card : NULL;
	if (gen != JPKI_GEN_MYNUMBER && gen != JPKI_GEN_2004)
		return JPKI_ERR_INVALID_ARG;
	if (gen == JPKI_GEN_MYNUMBER && dob == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (!jpki_date_valid(issued))
		return JPKI_ERR_DATE;
	if (dob != NULL && (!jpki_date_valid(dob) || jpki_date_cmp(dob, issued) > 0))
		return JPKI_ERR_DATE;
	if (card_expiry != NULL &&
	    (!jpki_date_valid(card_expiry) || jpki_date_cmp(card_expiry, issued) < 0))
		return JPKI_ERR_DATE;

	if (gen == JPKI_GEN_2004) {
		jpki_date_add_years(issued, 3, &r);
	} else {
		/*
		 * The 5th birthday strictly after the issuance day: if this
		 * year's birthday is still to come it is the 1st, else next
		 * year's is.  add_years gives 28 February for a 29 February
		 * birthday in a non-leap year, consistently for every year.
		 */
		jpki_date_add_years(dob, issued->year - dob->year, &bday);
		years = jpki_date_cmp(&bday, issued) > 0 ? 4 : 5;
		/* From the birth date, not bday, which may have lost a 29th. */
		jpki_date_add_years(dob, issued->year - dob->year + years, &r);
	}
	if (!jpki_date_valid(&r)) {
		/* Past 9999: only a card expiry can still give a last day. */
		if (card_expiry == NULL)
			return JPKI_ERR_DATE;
		r = *card_expiry;
	}
	if (card_expiry != NULL && jpki_date_cmp(card_expiry, &r) < 0)
		r = *card_expiry;
	*last = r;
	return 0;
}
