/* Bounded buffers (habit 5). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "jpki/buf.h"
#include "jpki/error.h"

void
jpki_buf_init(jpki_buf_t *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
jpki_buf_free(jpki_buf_t *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

void
jpki_buf_reset(jpki_buf_t *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->len);
	b->len = 0;
}

int
jpki_buf_reserve(jpki_buf_t *b, size_t n)
{
	size_t need, ncap;
	uint8_t *nd;

	if (n > b->max || b->len > b->max - n)
		return JPKI_ERR_TOO_LARGE;
	need = b->len + n + 1; /* room for the NUL that steal() appends */
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if ((nd = malloc(ncap)) == NULL)
		return JPKI_ERR_NOMEM;
	if (b->data != NULL) {
		memcpy(nd, b->data, b->len);
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = nd;
	b->cap = ncap;
	return 0;
}

int
jpki_buf_put(jpki_buf_t *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = jpki_buf_reserve(b, n)) != 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
jpki_buf_put_u8(jpki_buf_t *b, uint8_t v)
{
	return jpki_buf_put(b, &v, 1);
}

int
jpki_buf_put_u16be(jpki_buf_t *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return jpki_buf_put(b, x, 2);
}

int
jpki_buf_put_u32be(jpki_buf_t *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return jpki_buf_put(b, x, 4);
}

int
jpki_buf_put_str(jpki_buf_t *b, const char *s)
{
	return jpki_buf_put(b, s, strlen(s));
}

int
jpki_buf_printf(jpki_buf_t *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return JPKI_ERR_INTERNAL;
	if ((r = jpki_buf_reserve(b, (size_t)n)) != 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int
jpki_buf_steal(jpki_buf_t *b, uint8_t **out, size_t *out_len)
{
	int r;

	*out = NULL;
	*out_len = 0;
	if ((r = jpki_buf_reserve(b, 0)) != 0)
		return r;
	if (b->data == NULL && (b->data = calloc(1, 1)) == NULL)
		return JPKI_ERR_NOMEM;
	b->data[b->len] = '\0';
	*out = b->data;
	*out_len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return 0;
}

void
jpki_rd_init(jpki_rd_t *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p == NULL ? 0 : len;
	r->off = 0;
}

size_t
jpki_rd_left(const jpki_rd_t *r)
{
	return r->len - r->off;
}

int
jpki_rd_bytes(jpki_rd_t *r, size_t n, const uint8_t **p)
{
	if (n > jpki_rd_left(r))
		return JPKI_ERR_TRUNCATED;
	*p = r->p + r->off;
	r->off += n;
	return 0;
}

int
jpki_rd_copy(jpki_rd_t *r, void *dst, size_t n)
{
	const uint8_t *p;
	int e;

	if ((e = jpki_rd_bytes(r, n, &p)) != 0)
		return e;
	if (n)
		memcpy(dst, p, n);
	return 0;
}

int
jpki_rd_u8(jpki_rd_t *r, uint8_t *v)
{
	return jpki_rd_copy(r, v, 1);
}

int
jpki_rd_u16be(jpki_rd_t *r, uint16_t *v)
{
	uint8_t x[2];
	int e;

	if ((e = jpki_rd_copy(r, x, 2)) != 0)
		return e;
	*v = (uint16_t)((x[0] << 8) | x[1]);
	return 0;
}

int
jpki_rd_u32be(jpki_rd_t *r, uint32_t *v)
{
	uint8_t x[4];
	int e;

	if ((e = jpki_rd_copy(r, x, 4)) != 0)
		return e;
	*v = ((uint32_t)x[0] << 24) | ((uint32_t)x[1] << 16) | ((uint32_t)x[2] << 8) | x[3];
	return 0;
}

void
jpki_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
jpki_hex_decode(const char *s, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(s), i;

	*len = 0;
	if (n % 2 != 0)
		return JPKI_ERR_FORMAT;
	if (n / 2 > max)
		return JPKI_ERR_TOO_LARGE;
	for (i = 0; i < n / 2; i++) {
		int hi = hex_digit((unsigned char)s[2 * i]), lo = hex_digit((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return JPKI_ERR_FORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}
