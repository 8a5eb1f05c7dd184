/* HTTP helpers of jpkid's routes: dates, CRL paths, entity tags.  Everything
 * here reads bytes a client sent, so it is bounded and fuzzed. */
#include <stdint.h>
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
	/* HTTP dates have four-digit years; the moduli below only tell the
	 * compiler how wide each field can be (29 characters at most). */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		out[0] = '\0';
		return;
	}
	snprintf(out, 32, "%s, %02u %s %04u %02u:%02u:%02u GMT", days[tm.tm_wday % 7],
	         (unsigned)tm.tm_mday % 100u, months[tm.tm_mon % 12],
	         (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)tm.tm_hour % 100u,
	         (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
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

/* ---- requests ---- */

/* RFC 9110 tchar, a bit per byte value: a table, since every header name
 * goes through it. */
static const uint32_t tchar_bits[8] = {
	0x00000000, 0x03ff6cfa, 0xc7fffffe, 0x57ffffff, 0, 0, 0, 0,
};

static int
is_tchar(unsigned char ch)
{
	return (tchar_bits[ch >> 5] >> (ch & 31)) & 1;
}

static int
lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* Case-insensitive equality of s[0..n) and the lower-case word w. */
static int
word_is(const char *s, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i] == '\0' || lower((unsigned char)s[i]) != w[i])
			return 0;
	return w[n] == '\0';
}

/* Does the comma-separated list s[0..n) hold the token w (lower case)? */
static int
list_has(const char *s, size_t n, const char *w)
{
	size_t i = 0, b, e;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		b = i;
		while (i < n && s[i] != ',')
			i++;
		e = i;
		while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
			e--;
		if (e > b && word_is(s + b, e - b, w))
			return 1;
	}
	return 0;
}

/* Where the head ends (just past its blank line), 0 if not within lim. */
static size_t
head_end(const char *buf, size_t lim)
{
	size_t i = 0, start;

	/* Empty lines before the request line (RFC 9112 2.2). */
	while (i < lim && (buf[i] == '\n' || (buf[i] == '\r' && i + 1 < lim && buf[i + 1] == '\n')))
		i += buf[i] == '\r' ? 2 : 1;
	/* The first line is not empty; the next empty one ends the head. */
	for (start = i; i < lim; i++) {
		if (buf[i] != '\n')
			continue;
		if (i == start || (i == start + 1 && buf[start] == '\r'))
			return i + 1;
		start = i + 1;
	}
	return 0;
}

int
http_request_parse(char *buf, size_t len, struct http_req *rq)
{
	size_t lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX, end, i, b, e, n;
	int seen_cl = 0, seen_te = 0, close = 0, keep = 0;
	char *line, *p, *q;

	memset(rq, 0, sizeof(*rq));
	rq->content_length = -1;
	if ((end = head_end(buf, lim)) == 0)
		return len >= HTTP_HEAD_MAX ? -431 : 0;
	/* Every line ends in LF (CR LF or a bare LF); a CR elsewhere is malformed. */
	for (i = 0; i < end; i++)
		if (buf[i] == '\r' && buf[i + 1] != '\n')
			return -400;
	i = 0;
	while (buf[i] == '\r' || buf[i] == '\n')
		i++;

	/* The request line: METHOD SP TARGET SP HTTP/1.x */
	line = buf + i;
	for (p = line; is_tchar((unsigned char)*p); p++)
		;
	if (p == line || *p != ' ' || p - line > 32)
		return -400;
	n = (size_t)(p - line);
	rq->method = (n == 3 && memcmp(line, "GET", 3) == 0) ? HTTP_M_GET :
	             (n == 4 && memcmp(line, "HEAD", 4) == 0) ? HTTP_M_HEAD :
	             (n == 4 && memcmp(line, "POST", 4) == 0) ? HTTP_M_POST : HTTP_M_OTHER;
	q = ++p;
	while ((unsigned char)*p > 0x20 && *p != 0x7f)
		p++;
	if (p == q || *p != ' ')
		return -400;
	*p++ = '\0';
	rq->target = q;
	q = strchr(q, '?');
	if (q != NULL)
		*q = '\0';
	if (buf + end - p < 9 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0' ||
	    p[7] > '9' || (p[8] != '\r' && p[8] != '\n'))
		return -400;
	if (p[5] != '1' || p[7] > '1')
		return -505;
	rq->minor = p[7] - '0';
	i = (size_t)(p + 8 - buf) + (p[8] == '\r' ? 2 : 1);

	/* Headers up to the blank line. */
	while (i < end && buf[i] != '\r' && buf[i] != '\n') {
		char *name = buf + i, *val;
		size_t nl, vl;
		if (buf[i] == ' ' || buf[i] == '\t')
			return -400; /* obsolete line folding */
		for (b = i; b < end && is_tchar((unsigned char)buf[b]); b++)
			;
		if (b == i || buf[b] != ':')
			return -400; /* no name, or space before the colon */
		nl = b - i;
		for (b++; buf[b] == ' ' || buf[b] == '\t'; b++)
			;
		for (e = b; buf[e] != '\r' && buf[e] != '\n'; e++) {
			unsigned char ch = (unsigned char)buf[e];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return -400;
		}
		i = e + (buf[e] == '\r' ? 2 : 1);
		while (e > b && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
			e--;
		val = buf + b;
		vl = e - b;
		buf[e] = '\0';
		if (word_is(name, nl, "content-length")) {
			int64_t v = 0;
			if (seen_cl++ || vl == 0 || vl > 18)
				return -400;
			for (b = 0; b < vl; b++) {
				if (val[b] < '0' || val[b] > '9')
					return -400;
				v = v * 10 + (val[b] - '0');
			}
			rq->content_length = v;
		} else if (word_is(name, nl, "transfer-encoding")) {
			if (seen_te++)
				return -400;
			if (!word_is(val, vl, "chunked"))
				return -501;
			rq->chunked = 1;
		} else if (word_is(name, nl, "connection")) {
			close |= list_has(val, vl, "close");
			keep |= list_has(val, vl, "keep-alive");
		} else if (word_is(name, nl, "expect")) {
			rq->expect_continue = word_is(val, vl, "100-continue");
		} else if (word_is(name, nl, "if-none-match")) {
			if (rq->if_none_match == NULL)
				rq->if_none_match = val;
		} else if (word_is(name, nl, "if-modified-since")) {
			if (rq->if_modified_since == NULL)
				rq->if_modified_since = val;
		} else if (word_is(name, nl, "authorization")) {
			if (rq->authorization == NULL)
				rq->authorization = val;
		}
	}
	if (seen_cl && seen_te)
		return -400; /* RFC 9112 6.1: a request smuggler's signature */
	rq->keep_alive = rq->minor == 1 ? !close : keep && !close;
	return (int)end;
}

enum { CK_SIZE, CK_EXT, CK_SIZE_LF, CK_DATA, CK_DATA_CR, CK_DATA_LF, CK_TRAILER, CK_TLINE,
       CK_TLINE_LF, CK_END_LF };

#define CK_LINE_MAX 1024     /* a chunk-size line with its extensions */
#define CK_TRAILER_MAX 8192  /* the trailer section */

static int
hexval(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 :
	       (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10 : -1;
}

int
http_chunked_decode(struct http_chunked *c, const uint8_t *in, size_t n, size_t *used,
                    uint8_t *out, size_t *out_len, size_t out_max)
{
	size_t i = 0, k;
	int v;

	*used = 0;
	while (i < n) {
		unsigned char ch = in[i];
		switch (c->state) {
		case CK_SIZE:
			if ((v = hexval(ch)) >= 0) {
				if (++c->digits > 15)
					return -413;
				c->left = c->left * 16 + (uint64_t)v;
				if (c->left > out_max - *out_len)
					return -413;
				i++;
				break;
			}
			if (c->digits == 0)
				return -400;
			if (ch == ';' || ch == ' ' || ch == '\t') {
				c->state = CK_EXT;
				c->line = 0;
			} else if (ch == '\r') {
				c->state = CK_SIZE_LF;
			} else if (ch == '\n') {
				c->state = c->left ? CK_DATA : CK_TRAILER;
				c->trailer = 0;
			} else {
				return -400;
			}
			i++;
			break;
		case CK_EXT:
			if (ch == '\r' || ch == '\n') {
				c->state = CK_SIZE;
				continue; /* ends the line as above */
			}
			if (++c->line > CK_LINE_MAX || (ch < 0x20 && ch != '\t') || ch == 0x7f)
				return -400;
			i++;
			break;
		case CK_SIZE_LF:
			if (ch != '\n')
				return -400;
			c->state = c->left ? CK_DATA : CK_TRAILER;
			c->trailer = 0;
			i++;
			break;
		case CK_DATA:
			k = n - i < c->left ? n - i : (size_t)c->left;
			memcpy(out + *out_len, in + i, k);
			*out_len += k;
			c->left -= k;
			i += k;
			if (c->left == 0)
				c->state = CK_DATA_CR;
			break;
		case CK_DATA_CR:
			if (ch == '\r')
				c->state = CK_DATA_LF;
			else if (ch == '\n')
				c->state = CK_SIZE, c->digits = 0;
			else
				return -400;
			i++;
			break;
		case CK_DATA_LF:
			if (ch != '\n')
				return -400;
			c->state = CK_SIZE;
			c->digits = 0;
			i++;
			break;
		case CK_TRAILER: /* at the start of a trailer line, or the final empty one */
			if (ch == '\r') {
				c->state = CK_END_LF;
				i++;
				break;
			}
			if (ch == '\n') {
				*used = i + 1;
				return 1;
			}
			c->state = CK_TLINE;
			break;
		case CK_TLINE:
			if (++c->trailer > CK_TRAILER_MAX)
				return -400;
			if (ch == '\r')
				c->state = CK_TLINE_LF;
			else if (ch == '\n')
				c->state = CK_TRAILER;
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return -400;
			i++;
			break;
		case CK_TLINE_LF:
			if (ch != '\n')
				return -400;
			c->state = CK_TRAILER;
			i++;
			break;
		case CK_END_LF:
			if (ch != '\n')
				return -400;
			*used = i + 1;
			return 1;
		default:
			return -400;
		}
	}
	*used = n;
	return 0;
}
