/* Minimal DER writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpki/error.h"
#include "x509/der.h"

size_t
der_hdr_len(size_t len)
{
	if (len < 0x80)
		return 2;
	if (len < 0x100)
		return 3;
	if (len < 0x10000)
		return 4;
	if (len < 0x1000000)
		return 5;
	return 6;
}

/* Tag and length into h (6 bytes at most); 0 if len is too large for DER here. */
static size_t
hdr_encode(uint8_t h[6], uint8_t tag, size_t len)
{
	size_t n = 0;

	h[n++] = tag;
	if (len < 0x80) {
		h[n++] = (uint8_t)len;
	} else if (len < 0x100) {
		h[n++] = 0x81;
		h[n++] = (uint8_t)len;
	} else if (len < 0x10000) {
		h[n++] = 0x82;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else if (len < 0x1000000) {
		h[n++] = 0x83;
		h[n++] = (uint8_t)(len >> 16);
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else if (len <= 0xffffffffu) {
		h[n++] = 0x84;
		h[n++] = (uint8_t)(len >> 24);
		h[n++] = (uint8_t)(len >> 16);
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else {
		return 0;
	}
	return n;
}

int
der_put_hdr(jpki_buf_t *b, uint8_t tag, size_t len)
{
	uint8_t h[6];
	size_t n = hdr_encode(h, tag, len);

	if (n == 0)
		return JPKI_ERR_TOO_LARGE;
	return jpki_buf_put(b, h, n);
}

int
der_put_tlv(jpki_buf_t *b, uint8_t tag, const void *p, size_t len)
{
	int r;

	if ((r = der_put_hdr(b, tag, len)) != 0)
		return r;
	return jpki_buf_put(b, p, len);
}

size_t
der_uint_content_len(const uint8_t *mag, size_t len)
{
	while (len > 0 && mag[0] == 0) {
		mag++;
		len--;
	}
	if (len == 0)
		return 1;
	return len + ((mag[0] & 0x80) ? 1 : 0);
}

int
der_put_uint(jpki_buf_t *b, const uint8_t *mag, size_t len)
{
	int r;
	size_t clen;

	while (len > 0 && mag[0] == 0) {
		mag++;
		len--;
	}
	clen = der_uint_content_len(mag, len);
	if ((r = der_put_hdr(b, DER_INTEGER, clen)) != 0)
		return r;
	if (len == 0 || (mag[0] & 0x80))
		if ((r = jpki_buf_put_u8(b, 0)) != 0)
			return r;
	return jpki_buf_put(b, mag, len);
}

int
der_put_u64(jpki_buf_t *b, uint64_t v)
{
	uint8_t m[8];
	int i;

	for (i = 7; i >= 0; i--) {
		m[i] = (uint8_t)v;
		v >>= 8;
	}
	return der_put_uint(b, m, 8);
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm): the
 * CRL encoder formats a time per entry, and gmtime_r + snprintf were a third
 * of the cost of a million-entry CRL. */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static char *
put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

int
der_time_content(time_t t, char out[16], size_t *len, uint8_t *tag)
{
	int64_t days = (int64_t)t / 86400, secs = (int64_t)t % 86400, y;
	unsigned mo, d;
	char *p = out;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	if (y < 1 || y > 9999)
		return JPKI_ERR_DATE;
	/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
	if (y >= 1950 && y < 2050) {
		p = put2(p, (unsigned)(y % 100));
		*len = 13;
		*tag = DER_UTCTIME;
	} else {
		p = put2(p, (unsigned)(y / 100));
		p = put2(p, (unsigned)(y % 100));
		*len = 15;
		*tag = DER_GENTIME;
	}
	p = put2(p, mo);
	p = put2(p, d);
	p = put2(p, (unsigned)(secs / 3600));
	p = put2(p, (unsigned)(secs / 60 % 60));
	p = put2(p, (unsigned)(secs % 60));
	*p++ = 'Z';
	*p = '\0';
	return 0;
}

int
der_put_time(jpki_buf_t *b, time_t t)
{
	char s[16];
	size_t n;
	uint8_t tag;
	int r;

	if ((r = der_time_content(t, s, &n, &tag)) != 0)
		return r;
	return der_put_tlv(b, tag, s, n);
}

int
der_wrap(jpki_buf_t *b, size_t mark, uint8_t tag)
{
	/* The header goes through a stack array, not a buffer: the certificate
	 * encoder wraps a few dozen times per certificate. */
	uint8_t h[6];
	size_t clen = b->len - mark, hl = hdr_encode(h, tag, clen);
	int r;

	if (hl == 0)
		return JPKI_ERR_TOO_LARGE;
	if ((r = jpki_buf_reserve(b, hl)) != 0)
		return r;
	memmove(b->data + mark + hl, b->data + mark, clen);
	memcpy(b->data + mark, h, hl);
	b->len += hl;
	return 0;
}

int
der_put_dp_name(jpki_buf_t *b, const char *url)
{
	size_t mark = b->len;
	int r;

	if ((r = der_put_tlv(b, 0x86, url, strlen(url))) != 0 ||
	    (r = der_wrap(b, mark, 0xa0)) != 0) /* fullName [0] IMPLICIT GeneralNames */
		return r;
	return der_wrap(b, mark, 0xa0);        /* distributionPoint [0] (a CHOICE: explicit) */
}

int
der_oid_from_text(const char *text, uint8_t *out, size_t *out_len)
{
	/* Arcs may exceed 64 bits (the 2.25 UUID arc): keep each arc as text
	 * and convert it to base 128 by repeated division. */
	uint8_t tmp[64];
	size_t n = 0;
	const char *p = text;
	int arcno = 0;
	unsigned first = 0;

	*out_len = 0;
	while (*p != '\0') {
		char dec[64];
		size_t dl = 0, i;
		uint8_t b128[64];
		size_t bl = 0;

		while (*p >= '0' && *p <= '9') {
			if (dl + 1 >= sizeof(dec))
				return JPKI_ERR_INVALID_ARG;
			dec[dl++] = *p++;
		}
		if (dl == 0 || (*p != '.' && *p != '\0'))
			return JPKI_ERR_INVALID_ARG;
		if (*p == '.')
			p++;
		dec[dl] = '\0';
		if (arcno == 0) {
			if (dl != 1 || dec[0] > '2')
				return JPKI_ERR_INVALID_ARG;
			first = (unsigned)(dec[0] - '0');
			arcno++;
			continue;
		}
		if (arcno == 1) {
			/* First two arcs combine as 40*X+Y; Y is small for X < 2.
			 * For X = 2 add 80 to the decimal string. */
			unsigned long long y = strtoull(dec, NULL, 10);
			if (dl > 18)
				return JPKI_ERR_INVALID_ARG;
			snprintf(dec, sizeof(dec), "%llu", y + 40ULL * first);
			dl = strlen(dec);
		}
		arcno++;
		/* Divide the decimal string by 128 until zero, collecting digits. */
		for (;;) {
			unsigned rem = 0;
			size_t o = 0;
			int nonzero = 0;
			for (i = 0; i < dl; i++) {
				unsigned cur = rem * 10 + (unsigned)(dec[i] - '0');
				unsigned q = cur / 128;
				rem = cur % 128;
				if (q != 0 || nonzero) {
					dec[o++] = (char)('0' + q);
					nonzero = 1;
				}
			}
			if (bl >= sizeof(b128))
				return JPKI_ERR_INVALID_ARG;
			b128[bl++] = (uint8_t)rem;
			dl = o;
			if (dl == 0)
				break;
		}
		for (i = bl; i > 0; i--) {
			if (n >= sizeof(tmp))
				return JPKI_ERR_INVALID_ARG;
			tmp[n++] = (uint8_t)(b128[i - 1] | (i > 1 ? 0x80 : 0));
		}
	}
	if (arcno < 2)
		return JPKI_ERR_INVALID_ARG;
	memcpy(out, tmp, n);
	*out_len = n;
	return 0;
}

int
der_put_gentime(jpki_buf_t *b, time_t t)
{
	char s[16], g[16];
	size_t n;
	uint8_t tag;
	int r;

	if ((r = der_time_content(t, s, &n, &tag)) != 0)
		return r;
	if (tag == DER_GENTIME)
		return der_put_tlv(b, DER_GENTIME, s, n);
	/* UTCTime content YYMMDDHHMMSSZ for 1950..2049: put the century back. */
	g[0] = s[0] >= '5' ? '1' : '2';
	g[1] = s[0] >= '5' ? '9' : '0';
	memcpy(g + 2, s, 13);
	return der_put_tlv(b, DER_GENTIME, g, 15);
}

int
der_get_tlv(jpki_rd_t *r, uint8_t *tag, const uint8_t **val, size_t *len)
{
	uint8_t t, l, c;
	size_t n = 0, nb, i;
	int e;

	if ((e = jpki_rd_u8(r, &t)) != 0 || (e = jpki_rd_u8(r, &l)) != 0)
		return e;
	if ((t & 0x1f) == 0x1f)
		return JPKI_ERR_FORMAT;
	if (l < 0x80) {
		n = l;
	} else {
		nb = l & 0x7f;
		if (nb == 0 || nb > 4) /* indefinite (BER), or beyond any bound we keep */
			return JPKI_ERR_FORMAT;
		for (i = 0; i < nb; i++) {
			if ((e = jpki_rd_u8(r, &c)) != 0)
				return e;
			if (i == 0 && c == 0)
				return JPKI_ERR_FORMAT;
			n = (n << 8) | c;
		}
		if (n < 0x80)
			return JPKI_ERR_FORMAT;
	}
	if ((e = jpki_rd_bytes(r, n, val)) != 0)
		return e;
	*tag = t;
	*len = n;
	return 0;
}

int
der_get_expect(jpki_rd_t *r, uint8_t tag, const uint8_t **val, size_t *len)
{
	uint8_t t;
	int e;

	if ((e = der_get_tlv(r, &t, val, len)) != 0)
		return e;
	return t == tag ? 0 : JPKI_ERR_FORMAT;
}

int
der_peek_tag(const jpki_rd_t *r)
{
	return r->off < r->len ? r->p[r->off] : -1;
}
