/* Dates, Japanese eras (spec §4) and certificate validity (spec L4). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "jpki/date.h"
#include "jpki/error.h"

static jpki_date_t
D(int y, int m, int d)
{
	jpki_date_t r = { y, m, d };

	return r;
}

static void
assert_date(const jpki_date_t *got, int y, int m, int d)
{
	assert_int_equal(got->year, y);
	assert_int_equal(got->month, m);
	assert_int_equal(got->day, d);
}

/* §4: the era and its printed form on one date. */
static void
check_era(int y, int m, int d, int want_era, int want_year, const char *want)
{
	jpki_date_t dt = D(y, m, d);
	char buf[32];
	int era = -1, ey = -1;

	assert_int_equal(jpki_era_of(&dt, &era, &ey), 0);
	assert_int_equal(era, want_era);
	assert_int_equal(ey, want_year);
	assert_int_equal(jpki_era_format(&dt, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

/* §4: every era boundary, on both sides. */
static void
test_era_boundaries(void **state)
{
	jpki_date_t d = D(1868, 1, 24);
	char buf[32];
	int era = -1, ey = -1;
	(void)state;

	/* §4: before 明治 there is no era. */
	assert_int_equal(jpki_era_of(&d, &era, &ey), JPKI_ERR_DATE);
	assert_int_equal(era, JPKI_ERA_UNKNOWN);
	assert_int_equal(ey, 0);
	strcpy(buf, "junk");
	assert_int_equal(jpki_era_format(&d, buf, sizeof(buf)), JPKI_ERR_DATE);
	assert_string_equal(buf, "");

	check_era(1868, 1, 25, JPKI_ERA_MEIJI, 1, "明治元年1月25日");
	check_era(1912, 7, 29, JPKI_ERA_MEIJI, 45, "明治45年7月29日");
	check_era(1912, 7, 30, JPKI_ERA_TAISHO, 1, "大正元年7月30日");
	check_era(1926, 12, 24, JPKI_ERA_TAISHO, 15, "大正15年12月24日");
	check_era(1926, 12, 25, JPKI_ERA_SHOWA, 1, "昭和元年12月25日");
	check_era(1989, 1, 7, JPKI_ERA_SHOWA, 64, "昭和64年1月7日");
	check_era(1989, 1, 8, JPKI_ERA_HEISEI, 1, "平成元年1月8日");
	check_era(2019, 4, 30, JPKI_ERA_HEISEI, 31, "平成31年4月30日");
	check_era(2019, 5, 1, JPKI_ERA_REIWA, 1, "令和元年5月1日");
	/* §4: the guides' own example; no zero padding. */
	check_era(1977, 11, 7, JPKI_ERA_SHOWA, 52, "昭和52年11月7日");
	check_era(9999, 12, 31, JPKI_ERA_REIWA, 7981, "令和7981年12月31日");
}

/* §4: names, and the "both" form the programs print. */
static void
test_era_names_format(void **state)
{
	jpki_date_t d = D(2024, 1, 1);
	char buf[64], small[8];
	int era, ey;
	(void)state;

	assert_string_equal(jpki_era_name(JPKI_ERA_MEIJI), "明治");
	assert_string_equal(jpki_era_name(JPKI_ERA_TAISHO), "大正");
	assert_string_equal(jpki_era_name(JPKI_ERA_SHOWA), "昭和");
	assert_string_equal(jpki_era_name(JPKI_ERA_HEISEI), "平成");
	assert_string_equal(jpki_era_name(JPKI_ERA_REIWA), "令和");
	assert_string_equal(jpki_era_name(JPKI_ERA_UNKNOWN), "");
	assert_string_equal(jpki_era_name(6), "");
	assert_string_equal(jpki_era_name(-1), "");

	assert_int_equal(jpki_era_format_both(&d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "令和6年1月1日 (2024-01-01)");
	d = D(1989, 1, 8);
	assert_int_equal(jpki_era_format_both(&d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "平成元年1月8日 (1989-01-08)");

	/* Habit 1: a short buffer is JPKI_ERR_RANGE and leaves "". */
	assert_int_equal(jpki_era_format(&d, small, sizeof(small)), JPKI_ERR_RANGE);
	assert_string_equal(small, "");
	assert_int_equal(jpki_era_format_both(&d, small, sizeof(small)), JPKI_ERR_RANGE);
	assert_string_equal(small, "");
	d = D(1868, 1, 24);
	assert_int_equal(jpki_era_format_both(&d, buf, sizeof(buf)), JPKI_ERR_DATE);
	d = D(2023, 2, 29);
	assert_int_equal(jpki_era_format(&d, buf, sizeof(buf)), JPKI_ERR_DATE);
	assert_int_equal(jpki_era_of(&d, &era, &ey), JPKI_ERR_DATE);

	/* Habit 1: NULL where required. */
	assert_int_equal(jpki_era_of(NULL, &era, &ey), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_era_of(&d, NULL, &ey), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_era_format(NULL, buf, sizeof(buf)), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_era_format(&d, NULL, 32), JPKI_ERR_INVALID_ARG);
}

/* §4: DOB code "EYYYYMMDD", round trip through the parser. */
static void
check_dob(int y, int m, int d, const char *want, int want_era)
{
	jpki_date_t dt = D(y, m, d), back;
	char code[10];
	int era = -1;

	assert_int_equal(jpki_era_dob_code(&dt, code, sizeof(code)), 0);
	assert_string_equal(code, want);
	assert_int_equal(jpki_era_dob_parse(code, &back, &era), 0);
	assert_date(&back, y, m, d);
	assert_int_equal(era, want_era);
}

static void
test_dob_code(void **state)
{
	jpki_date_t back;
	(void)state;

	/* §4: E = 0 before 明治, then 1..5; YYYY stays Gregorian. */
	check_dob(1868, 1, 24, "018680124", JPKI_ERA_UNKNOWN);
	check_dob(1868, 1, 25, "118680125", JPKI_ERA_MEIJI);
	check_dob(1912, 7, 29, "119120729", JPKI_ERA_MEIJI);
	check_dob(1912, 7, 30, "219120730", JPKI_ERA_TAISHO);
	check_dob(1926, 12, 24, "219261224", JPKI_ERA_TAISHO);
	check_dob(1926, 12, 25, "319261225", JPKI_ERA_SHOWA);
	check_dob(1989, 1, 7, "319890107", JPKI_ERA_SHOWA);
	check_dob(1989, 1, 8, "419890108", JPKI_ERA_HEISEI);
	check_dob(2019, 4, 30, "420190430", JPKI_ERA_HEISEI);
	check_dob(2019, 5, 1, "520190501", JPKI_ERA_REIWA);
	check_dob(1, 1, 1, "000010101", JPKI_ERA_UNKNOWN);

	/* era may be NULL. */
	assert_int_equal(jpki_era_dob_parse("319771107", &back, NULL), 0);
	assert_date(&back, 1977, 11, 7);
}

/* §4: the parser is strict; a failed parse leaves a zero date. */
static void
test_dob_parse_bad(void **state)
{
	static const char *bad[] = {
		"419890107", /* 平成 digit on the last day of 昭和 */
		"319890108", /* 昭和 digit on the first day of 平成 */
		"018680125", /* 0 is only for dates before 明治 */
		"118680124", /* 明治 digit before 明治 */
		"520190430", /* 令和 digit on the last day of 平成 */
		"620240101", /* no era 6 */
		"920240101",
		"52024010",  /* 8 digits */
		"5202401011", /* 10 digits */
		"5202401O1", /* letter O */
		"S19771107", /* era letter instead of digit */
		"52024-101",
		" 52024011",
		"520230229", /* 2023-02-29 does not exist */
		"520241301",
		"520240100",
		"400000101",
		"",
	};
	jpki_date_t out;
	size_t i;
	int era;
	(void)state;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = D(1, 2, 3);
		era = 9;
		if (jpki_era_dob_parse(bad[i], &out, &era) != JPKI_ERR_DATE)
			fail_msg("accepted DOB code \"%s\"", bad[i]);
		assert_date(&out, 0, 0, 0);
		assert_int_equal(era, JPKI_ERA_UNKNOWN);
	}
	assert_int_equal(jpki_era_dob_parse(NULL, &out, &era), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_era_dob_parse("520240101", NULL, &era), JPKI_ERR_INVALID_ARG);
}

static void
test_dob_code_errors(void **state)
{
	jpki_date_t d = D(2024, 1, 1);
	char code[10], small[9];
	(void)state;

	/* §4: out needs 10 bytes. */
	assert_int_equal(jpki_era_dob_code(&d, small, sizeof(small)), JPKI_ERR_RANGE);
	assert_string_equal(small, "");
	d = D(2023, 2, 29);
	assert_int_equal(jpki_era_dob_code(&d, code, sizeof(code)), JPKI_ERR_DATE);
	assert_string_equal(code, "");
	assert_int_equal(jpki_era_dob_code(NULL, code, sizeof(code)), JPKI_ERR_INVALID_ARG);
}

/* Strict ISO parse: "YYYY-MM-DD" and nothing else. */
static void
test_iso_parse(void **state)
{
	static const char *bad[] = {
		"2024-13-01", "2023-02-29", "2024-1-01", "2024-01-1", "2024-01-01x",
		"2024-01-01 ", " 2024-01-01", "2024/01/01", "20240101", "0000-01-01",
		"2024-00-10", "2024-04-31", "2024-01-00", "+024-01-01", "", "2024",
		"2024-01-01T00:00:00Z",
	};
	jpki_date_t d;
	char iso[11];
	size_t i;
	(void)state;

	assert_int_equal(jpki_date_parse("2024-02-29", &d), 0);
	assert_date(&d, 2024, 2, 29);
	assert_int_equal(jpki_date_parse("0001-01-01", &d), 0);
	assert_int_equal(jpki_date_parse("9999-12-31", &d), 0);
	jpki_date_format_iso(&d, iso, sizeof(iso));
	assert_string_equal(iso, "9999-12-31");
	d = D(7, 3, 4);
	jpki_date_format_iso(&d, iso, sizeof(iso));
	assert_string_equal(iso, "0007-03-04");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = D(1, 2, 3);
		if (jpki_date_parse(bad[i], &d) != JPKI_ERR_DATE)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_date(&d, 0, 0, 0);
	}
	assert_int_equal(jpki_date_parse(NULL, &d), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_date_parse("2024-01-01", NULL), JPKI_ERR_INVALID_ARG);

	/* An impossible date or a short buffer formats as "", never truncated. */
	d = D(2023, 2, 29);
	strcpy(iso, "junk");
	jpki_date_format_iso(&d, iso, sizeof(iso));
	assert_string_equal(iso, "");
	d = D(2024, 1, 1);
	jpki_date_format_iso(&d, iso, 10);
	assert_string_equal(iso, "");
}

/* Gregorian leap years and month lengths. */
static void
test_leap(void **state)
{
	jpki_date_t d;
	(void)state;

	assert_false(jpki_date_leap(1900));
	assert_true(jpki_date_leap(2000));
	assert_true(jpki_date_leap(2024));
	assert_false(jpki_date_leap(2023));
	assert_false(jpki_date_leap(2100));
	assert_int_equal(jpki_date_days_in_month(1900, 2), 28);
	assert_int_equal(jpki_date_days_in_month(2000, 2), 29);
	assert_int_equal(jpki_date_days_in_month(2024, 2), 29);
	assert_int_equal(jpki_date_days_in_month(2024, 4), 30);
	assert_int_equal(jpki_date_days_in_month(2024, 12), 31);
	assert_int_equal(jpki_date_days_in_month(2024, 0), 0);
	assert_int_equal(jpki_date_days_in_month(2024, 13), 0);
	d = D(1900, 2, 29);
	assert_false(jpki_date_valid(&d));
	d = D(2000, 2, 29);
	assert_true(jpki_date_valid(&d));
	d = D(10000, 1, 1);
	assert_false(jpki_date_valid(&d));
	d = D(0, 1, 1);
	assert_false(jpki_date_valid(&d));
	assert_false(jpki_date_valid(NULL));
}

static void
test_cmp_add(void **state)
{
	jpki_date_t a = D(2024, 1, 31), b = D(2024, 2, 1), r;
	(void)state;

	assert_true(jpki_date_cmp(&a, &b) < 0);
	assert_true(jpki_date_cmp(&b, &a) > 0);
	assert_int_equal(jpki_date_cmp(&a, &a), 0);
	assert_true(jpki_date_cmp(NULL, &a) < 0);

	jpki_date_add_days(&a, 1, &r);
	assert_date(&r, 2024, 2, 1);
	jpki_date_add_days(&a, 29, &r);
	assert_date(&r, 2024, 2, 29);
	jpki_date_add_days(&a, 30, &r);
	assert_date(&r, 2024, 3, 1);
	a = D(2024, 3, 1);
	jpki_date_add_days(&a, -1, &r);
	assert_date(&r, 2024, 2, 29);
	a = D(1900, 3, 1);
	jpki_date_add_days(&a, -1, &r);
	assert_date(&r, 1900, 2, 28);
	a = D(1970, 1, 1);
	jpki_date_add_days(&a, -1, &r);
	assert_date(&r, 1969, 12, 31);
	jpki_date_add_days(&a, 20000, &r);
	assert_date(&r, 2024, 10, 4);
	jpki_date_add_days(&a, -20000, &r);
	assert_date(&r, 1915, 3, 31);
	/* Out of 1..9999: the zero date. */
	a = D(9999, 12, 31);
	jpki_date_add_days(&a, 1, &r);
	assert_date(&r, 0, 0, 0);
	a = D(1, 1, 1);
	jpki_date_add_days(&a, -1, &r);
	assert_date(&r, 0, 0, 0);

	/* L4: 29 February becomes 28 February in a non-leap year. */
	a = D(2000, 2, 29);
	jpki_date_add_years(&a, 1, &r);
	assert_date(&r, 2001, 2, 28);
	jpki_date_add_years(&a, 4, &r);
	assert_date(&r, 2004, 2, 29);
	jpki_date_add_years(&a, 100, &r);
	assert_date(&r, 2100, 2, 28);
	jpki_date_add_years(&a, -100, &r);
	assert_date(&r, 1900, 2, 28);
	a = D(2024, 6, 15);
	jpki_date_add_years(&a, 5, &r);
	assert_date(&r, 2029, 6, 15);
	jpki_date_add_years(&a, 8000, &r);
	assert_date(&r, 0, 0, 0);
	/* In place: out may be d. */
	a = D(2000, 2, 29);
	jpki_date_add_years(&a, 1, &a);
	assert_date(&a, 2001, 2, 28);
	jpki_date_add_days(&a, 1, &a);
	assert_date(&a, 2001, 3, 1);
}

/* L4: the typical case, issued before this year's birthday. */
static void
test_l4_typical(void **state)
{
	jpki_date_t dob = D(1990, 6, 15), iss = D(2024, 3, 1), last;
	(void)state;

	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, NULL, &last), 0);
	assert_date(&last, 2028, 6, 15);
	/* L4: issued after this year's birthday. */
	iss = D(2024, 9, 1);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, NULL, &last), 0);
	assert_date(&last, 2029, 6, 15);
	/* L4: last may be the same variable as issued. */
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, NULL, &iss), 0);
	assert_date(&iss, 2029, 6, 15);
}

/* L4: the 5th birthday strictly after the issuance day. */
static void
test_l4_on_birthday(void **state)
{
	jpki_date_t dob = D(1990, 6, 15), iss = D(2024, 6, 15), last;
	(void)state;

	/* L4: issued on the birthday: that birthday does not count. */
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, NULL, &last), 0);
	assert_date(&last, 2029, 6, 15);
	/* L4: issued the day before: tomorrow's birthday is the 1st. */
	iss = D(2024, 6, 14);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, NULL, &last), 0);
	assert_date(&last, 2028, 6, 15);
	/* L4: issued on the day of birth itself. */
	dob = D(2024, 6, 15);
	iss = D(2024, 6, 15);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, NULL, &last), 0);
	assert_date(&last, 2029, 6, 15);
}

/* L4: a 29 February birthday. */
static void
test_l4_feb29(void **state)
{
	jpki_date_t dob = D(2000, 2, 29), iss = D(2024, 3, 1), last;
	(void)state;

	/* L4: the 5th birthday falls in a non-leap year: 28 February. */
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, NULL, &last), 0);
	assert_date(&last, 2029, 2, 28);
	/* L4: the 5th birthday falls in a leap year: 29 February. */
	iss = D(2023, 3, 1);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, NULL, &last), 0);
	assert_date(&last, 2028, 2, 29);
	/* L4: issued on 28 February of a non-leap year, the birthday observed. */
	iss = D(2023, 2, 28);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, NULL, &last), 0);
	assert_date(&last, 2028, 2, 29);
	/* L4: issued on 29 February itself. */
	iss = D(2024, 2, 29);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, NULL, &last), 0);
	assert_date(&last, 2029, 2, 28);
}

/* L4: never beyond the card's own expiry. */
static void
test_l4_card_cap(void **state)
{
	jpki_date_t dob = D(1990, 6, 15), iss = D(2024, 3, 1), card, last;
	(void)state;

	card = D(2027, 3, 1);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, &card, &last), 0);
	assert_date(&last, 2027, 3, 1);
	/* L4: a card that outlives the certificate does not lengthen it. */
	card = D(2034, 3, 1);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, &card, &last), 0);
	assert_date(&last, 2028, 6, 15);
	/* L4: a card whose last day is the issuance day. */
	card = iss;
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, &card, &last), 0);
	assert_date(&last, 2024, 3, 1);
	/* L4: the 2004 generation is capped the same way. */
	card = D(2006, 1, 1);
	iss = D(2005, 4, 1);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_2004, &iss, NULL, &card, &last), 0);
	assert_date(&last, 2006, 1, 1);
	/* L4: a 5th birthday past 9999 still has a last day when the card caps it. */
	dob = D(9990, 1, 1);
	iss = D(9998, 1, 1);
	card = D(9999, 6, 30);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, &card, &last), 0);
	assert_date(&last, 9999, 6, 30);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_MYNUMBER, &iss, &dob, NULL, &last),
	    JPKI_ERR_DATE);
}

/* L4: 2004-era certificates run 3 years. */
static void
test_l4_2004(void **state)
{
	jpki_date_t iss = D(2005, 4, 1), dob = D(1970, 1, 1), last;
	(void)state;

	assert_int_equal(jpki_validity_last_day(JPKI_GEN_2004, &iss, NULL, NULL, &last), 0);
	assert_date(&last, 2008, 4, 1);
	/* L4: the birthday plays no part. */
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_2004, &iss, &dob, NULL, &last), 0);
	assert_date(&last, 2008, 4, 1);
	/* L4: issued on 29 February: 28 February three years on. */
	iss = D(2004, 2, 29);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_2004, &iss, NULL, NULL, &last), 0);
	assert_date(&last, 2007, 2, 28);
}

/* L4: the documented errors; last is cleared on every one. */
static void
test_l4_errors(void **state)
{
	jpki_date_t dob = D(1990, 6, 15), iss = D(2024, 3, 1), card, bad, last;
	(void)state;

#define EXPECT(rv, gen, i, b, c) do { \
		last = D(1, 2, 3); \
		assert_int_equal(jpki_validity_last_day(gen, i, b, c, &last), rv); \
		assert_date(&last, 0, 0, 0); \
	} while (0)

	/* L4: dob after the issuance day. */
	bad = D(2024, 3, 2);
	EXPECT(JPKI_ERR_DATE, JPKI_GEN_MYNUMBER, &iss, &bad, NULL);
	EXPECT(JPKI_ERR_DATE, JPKI_GEN_2004, &iss, &bad, NULL);
	/* L4: the card has already expired on the issuance day. */
	card = D(2024, 2, 29);
	EXPECT(JPKI_ERR_DATE, JPKI_GEN_MYNUMBER, &iss, &dob, &card);
	EXPECT(JPKI_ERR_DATE, JPKI_GEN_2004, &iss, NULL, &card);
	/* L4: impossible dates anywhere. */
	bad = D(2023, 2, 29);
	EXPECT(JPKI_ERR_DATE, JPKI_GEN_MYNUMBER, &bad, &dob, NULL);
	EXPECT(JPKI_ERR_DATE, JPKI_GEN_MYNUMBER, &iss, &bad, NULL);
	EXPECT(JPKI_ERR_DATE, JPKI_GEN_MYNUMBER, &iss, &dob, &bad);
	bad = D(2024, 13, 1);
	EXPECT(JPKI_ERR_DATE, JPKI_GEN_2004, &bad, NULL, NULL);
	/* Habit 1: NULL where required. */
	EXPECT(JPKI_ERR_INVALID_ARG, JPKI_GEN_MYNUMBER, &iss, NULL, NULL);
	EXPECT(JPKI_ERR_INVALID_ARG, JPKI_GEN_MYNUMBER, NULL, &dob, NULL);
	EXPECT(JPKI_ERR_INVALID_ARG, JPKI_GEN_2004, NULL, NULL, NULL);
	EXPECT(JPKI_ERR_INVALID_ARG, (jpki_generation_t)7, &iss, &dob, NULL);
	assert_int_equal(jpki_validity_last_day(JPKI_GEN_2004, &iss, NULL, NULL, NULL),
	    JPKI_ERR_INVALID_ARG);
#undef EXPECT
}

/* L4: notAfter is 23:59:59 JST = 14:59:59Z of the last day. */
static void
test_jst_instants(void **state)
{
	jpki_date_t d = D(2024, 1, 1), bad = D(2023, 2, 29);
	(void)state;

	assert_int_equal((int64_t)jpki_date_end_jst(&d), INT64_C(1704121199));
	assert_int_equal((int64_t)jpki_date_start_jst(&d), INT64_C(1704034800));
	/* L4: a day is exactly [start, end]. */
	assert_int_equal((int64_t)(jpki_date_end_jst(&d) - jpki_date_start_jst(&d)), 86399);
	d = D(1970, 1, 1);
	assert_int_equal((int64_t)jpki_date_start_jst(&d), -32400);
	assert_int_equal((int64_t)jpki_date_end_jst(&d), 53999);
	d = D(2028, 6, 15);
	assert_int_equal((int64_t)jpki_date_end_jst(&d), INT64_C(1844693999));
	d = D(2024, 3, 1);
	assert_int_equal((int64_t)jpki_date_start_jst(&d), INT64_C(1709218800));
	assert_int_equal((int64_t)jpki_date_end_jst(&bad), -1);
	assert_int_equal((int64_t)jpki_date_start_jst(NULL), -1);
}

/* L4: the JST day changes at 15:00:00Z. */
static void
test_from_time_jst(void **state)
{
	jpki_date_t d;
	jpki_date_t day = D(2024, 1, 1);
	(void)state;

	jpki_date_from_time_jst((time_t)1704034799, &d); /* 2023-12-31 14:59:59Z */
	assert_date(&d, 2023, 12, 31);
	jpki_date_from_time_jst((time_t)1704034800, &d); /* 2023-12-31 15:00:00Z */
	assert_date(&d, 2024, 1, 1);
	jpki_date_from_time_jst(jpki_date_end_jst(&day), &d);
	assert_date(&d, 2024, 1, 1);
	jpki_date_from_time_jst(jpki_date_end_jst(&day) + 1, &d);
	assert_date(&d, 2024, 1, 2);
	jpki_date_from_time_jst(jpki_date_start_jst(&day), &d);
	assert_date(&d, 2024, 1, 1);
	jpki_date_from_time_jst(jpki_date_start_jst(&day) - 1, &d);
	assert_date(&d, 2023, 12, 31);
	/* Before the epoch: floor, not truncation. */
	jpki_date_from_time_jst((time_t)-32401, &d);
	assert_date(&d, 1969, 12, 31);
	jpki_date_from_time_jst((time_t)-32400, &d);
	assert_date(&d, 1970, 1, 1);
	jpki_date_from_time_jst((time_t)0, &d);
	assert_date(&d, 1970, 1, 1);
	/* 2000-02-29 14:59:59Z is still the leap day in JST; 15:00Z is 1 March. */
	jpki_date_from_time_jst((time_t)951836399, &d);
	assert_date(&d, 2000, 2, 29);
	jpki_date_from_time_jst((time_t)951836400, &d);
	assert_date(&d, 2000, 3, 1);
	/* Instants outside years 1..9999 give the zero date, without overflow. */
	if (sizeof(time_t) == 8) {
		jpki_date_from_time_jst((time_t)INT64_MAX, &d);
		assert_date(&d, 0, 0, 0);
		jpki_date_from_time_jst((time_t)INT64_MIN, &d);
		assert_date(&d, 0, 0, 0);
	}
}

/* Habit: JPKI_NOW lets tests walk a resident through years; malformed is ignored. */
static void
test_jpki_now(void **state)
{
	static const char *bad[] = {
		"2024-01-01T00:00:00", "2024-01-01 00:00:00Z", "2024-01-01T24:00:00Z",
		"2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z", "2023-02-29T00:00:00Z",
		"2024-01-01T00:00:00Zx", "2024-1-01T00:00:00Z", "", "yesterday",
	};
	jpki_date_t d;
	time_t before, t;
	size_t i;
	(void)state;

	setenv("TZ", "America/New_York", 1); /* must not matter */
	setenv("JPKI_NOW", "2024-01-01T14:59:59Z", 1);
	assert_int_equal((int64_t)jpki_now(), INT64_C(1704121199));
	jpki_date_today_jst(&d);
	assert_date(&d, 2024, 1, 1);
	setenv("JPKI_NOW", "2024-01-01T15:00:00Z", 1);
	jpki_date_today_jst(&d);
	assert_date(&d, 2024, 1, 2);
	setenv("JPKI_NOW", "1969-12-31T23:59:59Z", 1);
	assert_int_equal((int64_t)jpki_now(), -1);
	setenv("JPKI_NOW", "2029-06-15T14:59:59Z", 1);
	d = D(2029, 6, 15);
	assert_int_equal((int64_t)jpki_now(), (int64_t)jpki_date_end_jst(&d));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("JPKI_NOW", bad[i], 1);
		before = time(NULL);
		t = jpki_now();
		if (t < before || t > time(NULL))
			fail_msg("JPKI_NOW \"%s\" was not ignored", bad[i]);
	}
	unsetenv("JPKI_NOW");
	before = time(NULL);
	t = jpki_now();
	assert_true(t >= before && t <= time(NULL));
	unsetenv("TZ");
}

/* L5's "3 months before": calendar months, the day clamped. */
static void
test_add_months(void **state)
{
	jpki_date_t d = {2031, 11, 7}, o;

	jpki_date_add_months(&d, -3, &o);
	assert_int_equal(o.year, 2031);
	assert_int_equal(o.month, 8);
	assert_int_equal(o.day, 7);
	d = (jpki_date_t){2030, 2, 15};
	jpki_date_add_months(&d, -3, &o);
	assert_int_equal(o.year, 2029);
	assert_int_equal(o.month, 11);
	d = (jpki_date_t){2024, 5, 31};
	jpki_date_add_months(&d, -3, &o);
	assert_int_equal(o.month, 2);
	assert_int_equal(o.day, 29);
	d = (jpki_date_t){2023, 5, 31};
	jpki_date_add_months(&d, -3, &o);
	assert_int_equal(o.day, 28);
	jpki_date_add_months(&d, 14, &o);
	assert_int_equal(o.year, 2024);
	assert_int_equal(o.month, 7);
	assert_int_equal(o.day, 31);
	d = (jpki_date_t){1, 2, 1};
	jpki_date_add_months(&d, -2, &o);
	assert_int_equal(o.year, 0);
	d = (jpki_date_t){2023, 2, 30};
	jpki_date_add_months(&d, 1, &o);
	assert_int_equal(o.year, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_months),
		cmocka_unit_test(test_era_boundaries),
		cmocka_unit_test(test_era_names_format),
		cmocka_unit_test(test_dob_code),
		cmocka_unit_test(test_dob_parse_bad),
		cmocka_unit_test(test_dob_code_errors),
		cmocka_unit_test(test_iso_parse),
		cmocka_unit_test(test_leap),
		cmocka_unit_test(test_cmp_add),
		cmocka_unit_test(test_l4_typical),
		cmocka_unit_test(test_l4_on_birthday),
		cmocka_unit_test(test_l4_feb29),
		cmocka_unit_test(test_l4_card_cap),
		cmocka_unit_test(test_l4_2004),
		cmocka_unit_test(test_l4_errors),
		cmocka_unit_test(test_jst_instants),
		cmocka_unit_test(test_from_time_jst),
		cmocka_unit_test(test_jpki_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
