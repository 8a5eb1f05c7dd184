/*
 * Bounded buffers.
 *
 * jpki_buf_t grows up to a hard maximum fixed at init; jpki_rd_t reads from a
 * byte range and fails with JPKI_ERR_TRUNCATED rather than reading past it.
 * Every byte that comes from outside the process goes through one of these.
 */
#ifndef JPKI_BUF_H
#define JPKI_BUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jpki_buf {
	uint8_t *data;  /* owned; NULL until the first put */
	size_t len;
	size_t cap;
	size_t max;     /* hard maximum of len */
} jpki_buf_t;

/* Initialise an empty buffer that may grow to max bytes. */
void jpki_buf_init(jpki_buf_t *b, size_t max);
/* Release the memory (wiped first: buffers may hold secrets). Accepts NULL. */
void jpki_buf_free(jpki_buf_t *b);
/* Make len 0, keeping the allocation (wiping the old contents). */
void jpki_buf_reset(jpki_buf_t *b);
/* Ensure room for n more bytes; JPKI_ERR_TOO_LARGE past max. */
int jpki_buf_reserve(jpki_buf_t *b, size_t n);
int jpki_buf_put(jpki_buf_t *b, const void *p, size_t n);
int jpki_buf_put_u8(jpki_buf_t *b, uint8_t v);
int jpki_buf_put_u16be(jpki_buf_t *b, uint16_t v);
int jpki_buf_put_u32be(jpki_buf_t *b, uint32_t v);
int jpki_buf_put_str(jpki_buf_t *b, const char *s);
/* Append a printf-formatted string (no NUL stored). */
int jpki_buf_printf(jpki_buf_t *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Take ownership of the data: *out gets the bytes (caller frees with free()),
 * the buffer becomes empty.  A NUL is appended after len for convenience. */
int jpki_buf_steal(jpki_buf_t *b, uint8_t **out, size_t *out_len);

typedef struct jpki_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
} jpki_rd_t;

void jpki_rd_init(jpki_rd_t *r, const void *p, size_t len);
size_t jpki_rd_left(const jpki_rd_t *r);
int jpki_rd_u8(jpki_rd_t *r, uint8_t *v);
int jpki_rd_u16be(jpki_rd_t *r, uint16_t *v);
int jpki_rd_u32be(jpki_rd_t *r, uint32_t *v);
/* Point *p at the next n bytes (no copy) and advance. */
int jpki_rd_bytes(jpki_rd_t *r, size_t n, const uint8_t **p);
int jpki_rd_copy(jpki_rd_t *r, void *dst, size_t n);

/* Upper-case hex of the n bytes at p into out (2n + 1 bytes, NUL-terminated). */
void jpki_hex_encode(const uint8_t *p, size_t n, char *out);
/* Strict hex (either case, even length, nothing else) into out; *len bytes.
 * JPKI_ERR_FORMAT, or JPKI_ERR_TOO_LARGE for more than max bytes. */
int jpki_hex_decode(const char *s, uint8_t *out, size_t max, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
