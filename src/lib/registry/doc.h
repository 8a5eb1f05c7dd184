/*
 * The registry's document bodies: "key=value" lines, values escaped (\\, \n,
 * \r), so a name or an address with any character round-trips.  Bounded: a
 * body over JPKI_DOC_BODY_MAX is refused by the store, and every read copies
 * into a fixed buffer or fails with JPKI_ERR_TOO_LARGE.
 */
#ifndef JPKI_REGISTRY_DOC_H
#define JPKI_REGISTRY_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "jpki/buf.h"
#include "jpki/date.h"

typedef struct docw {
	jpki_buf_t b;
	int err;     /* the first error; later puts do nothing */
} docw_t;

void docw_init(docw_t *w);
void docw_str(docw_t *w, const char *key, const char *value);
void docw_int(docw_t *w, const char *key, int64_t value);
void docw_date(docw_t *w, const char *key, const jpki_date_t *d); /* "" when year 0 */
/* *out: malloc'd NUL-terminated body (free()); the writer is emptied. */
int docw_finish(docw_t *w, char **out);
void docw_free(docw_t *w);

/* The value of key, unescaped, into out.  A missing key gives "" and 0 (a
 * document written by an older version); JPKI_ERR_TOO_LARGE if it does not
 * fit; JPKI_ERR_FORMAT for a malformed body. */
int doc_str(const char *body, const char *key, char *out, size_t outlen);
int doc_int(const char *body, const char *key, int64_t *v);       /* missing: 0 */
int doc_date(const char *body, const char *key, jpki_date_t *d);  /* missing: zeros */

#endif
