/* The registry's "key=value" document bodies (doc.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpki/error.h"
#include "jpki/store.h"
#include "registry/doc.h"

void
docw_init(docw_t *w)
{
	jpki_buf_init(&w->b, JPKI_DOC_BODY_MAX);
	w->err = 0;
}

void
docw_free(docw_t *w)
{
	jpki_buf_free(&w->b);
}

void
docw_str(docw_t *w, const char *key, const char *value)
{
	const char *p;

	if (w->err)
		return;
	if (value == NULL)
		value = "";
	if ((w->err = jpki_buf_put_str(&w->b, key)) != 0 ||
	    (w->err = jpki_buf_put_u8(&w->b, '=')) != 0)
		return;
	for (p = value; *p != '\0' && w->err == 0; p++) {
		switch (*p) {
		case '\\':
			w->err = jpki_buf_put_str(&w->b, "\\\\");
			break;
		case '\n':
			w->err = jpki_buf_put_str(&w->b, "\\n");
			break;
		case '\r':
			w->err = jpki_buf_put_str(&w->b, "\\r");
			break;
		default:
			w->err = jpki_buf_put_u8(&w->b, (uint8_t)*p);
		}
	}
	if (w->err == 0)
		w->err = jpki_buf_put_u8(&w->b, '\n');
}

void
docw_int(docw_t *w, const char *key, int64_t value)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRId64, value);
	docw_str(w, key, s);
}

void
docw_date(docw_t *w, const char *key, const jpki_date_t *d)
{
	char s[16] = "";

	if (d != NULL && d->year != 0)
		jpki_date_format_iso(d, s, sizeof(s));
	docw_str(w, key, s);
}

int
docw_finish(docw_t *w, char **out)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int r;

	*out = NULL;
	if (w->err != 0)
		return w->err;
	if (w->b.len == 0 && (r = jpki_buf_put_str(&w->b, "")) != 0)
		return r;
	if ((r = jpki_buf_steal(&w->b, &p, &n)) != 0)
		return r;
	if (p == NULL && (p = calloc(1, 1)) == NULL)
		return JPKI_ERR_NOMEM;
	*out = (char *)p;
	return 0;
}

/* Find "key=" at the start of a line; *val points after '=' and *end at the
 * line's end. */
static int
find(const char *body, const char *key, const char **val, const char **end)
{
	size_t klen = strlen(key);
	const char *line = body, *nl;

	while (*line != '\0') {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = line + strlen(line);
		if ((size_t)(nl - line) > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
			*val = line + klen + 1;
			*end = nl;
			return 0;
		}
		line = *nl ? nl + 1 : nl;
	}
	return JPKI_ERR_NOT_FOUND;
}

int
doc_str(const char *body, const char *key, char *out, size_t outlen)
{
	const char *v, *end;
	size_t n = 0;

	if (outlen == 0)
		return JPKI_ERR_INVALID_ARG;
	out[0] = '\0';
	if (find(body, key, &v, &end) != 0)
		return 0;
	for (; v < end; v++) {
		char c = *v;
		if (c == '\\') {
			if (v + 1 >= end)
				return JPKI_ERR_FORMAT;
			v++;
			c = *v == 'n' ? '\n' : *v == 'r' ? '\r' : *v == '\\' ? '\\' : 0;
			if (c == 0)
				return JPKI_ERR_FORMAT;
		}
		if (n + 1 >= outlen) {
			out[0] = '\0';
			jpki_set_detail("registry field '%s' longer than %zu bytes", key, outlen - 1);
			return JPKI_ERR_TOO_LARGE;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

int
doc_int(const char *body, const char *key, int64_t *v)
{
	char s[32], *e;
	long long x;
	int r;

	*v = 0;
	if ((r = doc_str(body, key, s, sizeof(s))) != 0)
		return r;
	if (s[0] == '\0')
		return 0;
	errno = 0;
	x = strtoll(s, &e, 10);
	if (errno != 0 || *e != '\0')
		return JPKI_ERR_FORMAT;
	*v = x;
	return 0;
}

int
doc_date(const char *body, const char *key, jpki_date_t *d)
{
	char s[16];
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = doc_str(body, key, s, sizeof(s))) != 0)
		return r;
	if (s[0] == '\0')
		return 0;
	return jpki_date_parse(s, d) == 0 ? 0 : JPKI_ERR_FORMAT;
}
