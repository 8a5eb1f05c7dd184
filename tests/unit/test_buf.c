/* Bounded buffers: growth stops at the maximum; readers never pass the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jpki/buf.h"
#include "jpki/error.h"

static void
test_buf_limit(void **state)
{
	jpki_buf_t b;
	uint8_t x[10] = {0};

	jpki_buf_init(&b, 16);
	assert_int_equal(jpki_buf_put(&b, x, 10), 0);
	assert_int_equal(jpki_buf_put(&b, x, 6), 0);
	assert_int_equal(jpki_buf_put(&b, x, 1), JPKI_ERR_TOO_LARGE);
	assert_int_equal(b.len, 16);
	jpki_buf_free(&b);
	jpki_buf_free(NULL);
}

static void
test_buf_printf_steal(void **state)
{
	jpki_buf_t b;
	uint8_t *p;
	size_t n;

	jpki_buf_init(&b, 1024);
	assert_int_equal(jpki_buf_printf(&b, "%s-%d", "abc", 42), 0);
	assert_int_equal(jpki_buf_put_u16be(&b, 0x4142), 0);
	assert_int_equal(jpki_buf_steal(&b, &p, &n), 0);
	assert_int_equal(n, 8);
	assert_string_equal((char *)p, "abc-42AB");
	free(p);
	assert_null(b.data);
}

static void
test_rd_bounds(void **state)
{
	static const uint8_t in[] = {0x01, 0x02, 0x03};
	jpki_rd_t r;
	uint16_t v;
	uint8_t u;
	const uint8_t *p;

	jpki_rd_init(&r, in, sizeof(in));
	assert_int_equal(jpki_rd_u16be(&r, &v), 0);
	assert_int_equal(v, 0x0102);
	assert_int_equal(jpki_rd_u16be(&r, &v), JPKI_ERR_TRUNCATED);
	assert_int_equal(jpki_rd_bytes(&r, 2, &p), JPKI_ERR_TRUNCATED);
	assert_int_equal(jpki_rd_u8(&r, &u), 0);
	assert_int_equal(u, 3);
	assert_int_equal(jpki_rd_left(&r), 0);
	assert_int_equal(jpki_rd_u8(&r, &u), JPKI_ERR_TRUNCATED);
}

static void
test_strerror(void **state)
{
	setenv("LANG", "C", 1);
	unsetenv("LC_ALL");
	unsetenv("LC_MESSAGES");
	assert_string_equal(jpki_strerror(JPKI_ERR_NOT_FOUND), "not found");
	setenv("LANG", "ja_JP.UTF-8", 1);
	assert_string_equal(jpki_strerror(JPKI_ERR_NOT_FOUND), "見つかりません");
	assert_non_null(jpki_strerror(-9999));
	setenv("LANG", "C", 1);
}

static void
test_hex(void **state)
{
	const uint8_t in[] = {0x00, 0x9f, 0xa0, 0xff};
	uint8_t out[4];
	char hex[9];
	size_t n = 99;

	(void)state;
	jpki_hex_encode(in, sizeof(in), hex);
	assert_string_equal(hex, "009FA0FF");
	assert_int_equal(jpki_hex_decode("009fA0Ff", out, sizeof(out), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, in, 4);
	assert_int_equal(jpki_hex_decode("", out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(jpki_hex_decode("0", out, sizeof(out), &n), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_hex_decode("0g", out, sizeof(out), &n), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_hex_decode(" 00", out, sizeof(out), &n), JPKI_ERR_FORMAT);
	assert_int_equal(jpki_hex_decode("0000000000", out, sizeof(out), &n), JPKI_ERR_TOO_LARGE);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_buf_printf_steal),
		cmocka_unit_test(test_rd_bounds),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
