/*
 * Calendar dates, Japanese eras, and certificate validity (L4).
 *
 * A jpki_date_t is a civil date in the proleptic Gregorian calendar, taken as
 * a day in Japan Standard Time (UTC+9, no DST).  Certificates end at 23:59:59
 * JST of their last day, which is 14:59:59Z (spec L4).
 */
#ifndef JPKI_DATE_H
#define JPKI_DATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jpki_date {
	int year;   /* 1..9999 */
	int month;  /* 1..12 */
	int day;    /* 1..31 */
} jpki_date_t;

enum jpki_era {
	JPKI_ERA_UNKNOWN = 0, /* before 明治 (1868-01-25), or unknown: DOB code 0 */
	JPKI_ERA_MEIJI = 1,   /* 明治 from 1868-01-25 */
	JPKI_ERA_TAISHO = 2,  /* 大正 from 1912-07-30 */
	JPKI_ERA_SHOWA = 3,   /* 昭和 from 1926-12-25 */
	JPKI_ERA_HEISEI = 4,  /* 平成 from 1989-01-08 */
	JPKI_ERA_REIWA = 5    /* 令和 from 2019-05-01 */
};

/* 1 if d is a real calendar date in years 1..9999, else 0. */
int jpki_date_valid(const jpki_date_t *d);
/* 1 for a Gregorian leap year. */
int jpki_date_leap(int year);
/* Days in the month (28..31); 0 for a bad month. */
int jpki_date_days_in_month(int year, int month);
/* <0, 0, >0 like strcmp. */
int jpki_date_cmp(const jpki_date_t *a, const jpki_date_t *b);
/* Strict "YYYY-MM-DD"; JPKI_ERR_DATE for anything else or an impossible date. */
int jpki_date_parse(const char *s, jpki_date_t *out);
/* "YYYY-MM-DD" into out (at least 11 bytes). */
void jpki_date_format_iso(const jpki_date_t *d, char *out, size_t outlen);
/* The JST calendar day of the instant t. */
void jpki_date_from_time_jst(time_t t, jpki_date_t *out);
/* Today in JST (honours JPKI_NOW, see jpki_now()). */
void jpki_date_today_jst(jpki_date_t *out);
/* The instant 00:00:00 JST of d (= 15:00:00Z of the previous day). */
time_t jpki_date_start_jst(const jpki_date_t *d);
/* The instant 23:59:59 JST of d (= 14:59:59Z of the same day). */
time_t jpki_date_end_jst(const jpki_date_t *d);
/* d plus n days (n may be negative). */
void jpki_date_add_days(const jpki_date_t *d, int n, jpki_date_t *out);
/* The same month and day n years later; 29 February becomes 28 February in a
 * non-leap year (the choice this project makes for birthdays and anniversaries). */
void jpki_date_add_years(const jpki_date_t *d, int n, jpki_date_t *out);
/* n calendar months later (earlier for n < 0), the day clamped to the month's
 * length (31 May - 3 months = 28 or 29 February): L5's "3 months before".
 * out is all zeros when d is invalid or the result leaves years 1..9999. */
void jpki_date_add_months(const jpki_date_t *d, int n, jpki_date_t *out);

/*
 * Current time.  The environment variable JPKI_NOW ("YYYY-MM-DDTHH:MM:SSZ")
 * overrides the clock, so tests and demos can walk a resident through years.
 */
time_t jpki_now(void);
/*
 * For a long-running server (jpkid): from now on jpki_now() starts at
 * JPKI_NOW, if set, and moves on with the real clock, instead of standing
 * still.  Call once, before any thread starts.
 */
void jpki_now_run_on(void);

/* Era of d, and the year within it (1 = 元年).  JPKI_ERR_DATE before 1868-01-25. */
int jpki_era_of(const jpki_date_t *d, int *era, int *era_year);
/* "明治", "大正", "昭和", "平成", "令和"; "" for JPKI_ERA_UNKNOWN. */
const char *jpki_era_name(int era);
/* "昭和52年11月7日", "平成元年1月8日" (UTF-8).  JPKI_ERR_DATE before Meiji,
 * JPKI_ERR_RANGE if outlen is too small (32 bytes always suffice). */
int jpki_era_format(const jpki_date_t *d, char *out, size_t outlen);
/* "令和6年1月1日 (2024-01-01)": both forms, as the programs show dates. */
int jpki_era_format_both(const jpki_date_t *d, char *out, size_t outlen);
/* The DOB otherName value "EYYYYMMDD" (spec §4): E the era digit, YYYY the
 * Gregorian year.  out needs 10 bytes. Dates before Meiji get E = 0. */
int jpki_era_dob_code(const jpki_date_t *d, char *out, size_t outlen);
/* Parse "EYYYYMMDD"; checks that E agrees with the date (0 allowed only before
 * Meiji).  era may be NULL. */
int jpki_era_dob_parse(const char *s, jpki_date_t *out, int *era);

/* Certificate generations (L1, L4). */
typedef enum jpki_generation {
	JPKI_GEN_MYNUMBER = 0, /* Individual Number Card: until the 5th birthday */
	JPKI_GEN_2004 = 1      /* Basic Resident Registration Card: 3 years */
} jpki_generation_t;

/*
 * L4: the last valid day of a certificate issued on `issued`.
 *  - JPKI_GEN_MYNUMBER: the 5th birthday strictly after the issuance day (a
 *    certificate issued on the birthday itself runs to the same date 5 years
 *    on); a 29 February birthday falls on 28 February in non-leap years.
 *  - JPKI_GEN_2004: the same date 3 years after issuance.
 * In both, never beyond card_expiry (the card's last valid day) when given.
 * dob may be NULL for JPKI_GEN_2004.  JPKI_ERR_DATE if dob is after issued or
 * the card has already expired on the issuance day.
 * The certificate's notAfter is jpki_date_end_jst(last).
 */
int jpki_validity_last_day(jpki_generation_t gen, const jpki_date_t *issued,
                           const jpki_date_t *dob, const jpki_date_t *card_expiry,
                           jpki_date_t *last);

#ifdef __cplusplus
}
#endif
#endif
