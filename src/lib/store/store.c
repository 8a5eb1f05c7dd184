/*
 * The store: URI dispatch, argument checks and the backend-neutral entry
 * points.  Checks live here once so that every backend gets the same contract.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jpki/audit.h"
#include "jpki/error.h"
#include "jpki/store.h"
#include "store/store_impl.h"

void
jpki_cert_rec_clear(jpki_cert_rec_t *rec)
{
	if (rec == NULL)
		return;
	free(rec->der);
	memset(rec, 0, sizeof(*rec));
	rec->reason = JPKI_REASON_NONE;
}

void
jpki_crl_rec_clear(jpki_crl_rec_t *rec)
{
	if (rec == NULL)
		return;
	free(rec->der);
	memset(rec, 0, sizeof(*rec));
}

static int
valid_ca(jpki_ca_kind_t ca)
{
	return ca == JPKI_CA_SIGN || ca == JPKI_CA_AUTH;
}

/* 1..20 bytes, unsigned big-endian without leading zero bytes: one spelling
 * per integer, so UNIQUE(ca, serial) really means one certificate per value. */
static int
valid_serial(const uint8_t *serial, size_t len)
{
	return serial != NULL && len >= 1 && len <= JPKI_SERIAL_MAX && serial[0] != 0;
}

static int
valid_status(jpki_cert_status_t status)
{
	return status == JPKI_STATUS_GOOD || status == JPKI_STATUS_REVOKED ||
	       status == JPKI_STATUS_HOLD;
}

static int
valid_reason(int reason)
{
	switch (reason) {
	case JPKI_REASON_NONE:
	case JPKI_REASON_UNSPECIFIED:
	case JPKI_REASON_KEY_COMPROMISE:
	case JPKI_REASON_CA_COMPROMISE:
	case JPKI_REASON_AFFILIATION_CHANGED:
	case JPKI_REASON_SUPERSEDED:
	case JPKI_REASON_CESSATION:
	case JPKI_REASON_CERTIFICATE_HOLD:
	case JPKI_REASON_REMOVE_FROM_CRL:
		return 1;
	default:
		return 0;
	}
}

/* A good certificate carries no reason (header: "NONE when good"). */
static int
valid_status_reason(jpki_cert_status_t status, int reason)
{
	if (!valid_status(status) || !valid_reason(reason))
		return 0;
	return status != JPKI_STATUS_GOOD || reason == JPKI_REASON_NONE;
}

static int
valid_counter_name(const char *name)
{
	size_t n;

	if (name == NULL)
		return 0;
	n = strnlen(name, JPKI_STORE_COUNTER_NAME_MAX + 1);
	return n >= 1 && n <= JPKI_STORE_COUNTER_NAME_MAX;
}

static int
valid_blob(const uint8_t *p, size_t len)
{
	return p != NULL || len == 0;
}

/* "scheme://" at the start of s (RFC 3986 scheme characters). */
static int
has_scheme(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')
			continue;
		return c == ':' && s[i + 1] == '/' && s[i + 2] == '/';
	}
	return 0;
}

int
jpki_store_open(const char *uri, jpki_store_t **out)
{
	int r = JPKI_ERR_INTERNAL;
	const char *path;

	if (out != NULL)
		*out = NULL;
	if (uri == NULL || out == NULL || uri[0] == '\0') {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if (strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0) {
		/* Reserved for the PostgreSQL backend, which is not built yet. */
		r = JPKI_ERR_CONFIG;
		goto out;
	}
	if (strncmp(uri, "sqlite:", 7) == 0) {
		path = uri + 7;
	} else if (has_scheme(uri)) {
		r = JPKI_ERR_CONFIG; /* a URI of a kind we do not know */
		goto out;
	} else {
		path = uri;
	}
	if (path[0] == '\0') {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	r = jpki_store_sqlite_open(path, out);
out:
	return r;
}

void
jpki_store_close(jpki_store_t *st)
{
	if (st == NULL)
		return;
	st->ops->close(st);
}

int
jpki_store_schema_version(jpki_store_t *st, int *version)
{
	if (version != NULL)
		*version = 0;
	if (st == NULL || version == NULL)
		return JPKI_ERR_INVALID_ARG;
	return st->ops->schema_version(st, version);
}

int
jpki_store_begin(jpki_store_t *st)
{
	if (st == NULL)
		return JPKI_ERR_INVALID_ARG;
	return st->ops->begin(st);
}

int
jpki_store_commit(jpki_store_t *st)
{
	if (st == NULL)
		return JPKI_ERR_INVALID_ARG;
	return st->ops->commit(st);
}

int
jpki_store_rollback(jpki_store_t *st)
{
	if (st == NULL)
		return JPKI_ERR_INVALID_ARG;
	return st->ops->rollback(st);
}

int
jpki_store_cert_insert(jpki_store_t *st, jpki_cert_rec_t *rec)
{
	if (st == NULL || rec == NULL || !valid_ca(rec->ca) ||
	    !valid_serial(rec->serial, rec->serial_len) ||
	    !valid_status_reason(rec->status, rec->reason) ||
	    memchr(rec->subject_cn, '\0', sizeof(rec->subject_cn)) == NULL ||
	    !valid_blob(rec->der, rec->der_len))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->cert_insert(st, rec);
}

int
jpki_store_cert_exists(jpki_store_t *st, jpki_ca_kind_t ca, const uint8_t *serial,
                       size_t serial_len, int *exists)
{
	if (exists != NULL)
		*exists = 0;
	if (st == NULL || exists == NULL || !valid_ca(ca) || !valid_serial(serial, serial_len))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->cert_exists(st, ca, serial, serial_len, exists);
}

int
jpki_store_cert_get(jpki_store_t *st, jpki_ca_kind_t ca, const uint8_t *serial,
                    size_t serial_len, int with_der, jpki_cert_rec_t *rec)
{
	if (rec != NULL) {
		/* Overwritten, not freed: the caller owns whatever was there. */
		memset(rec, 0, sizeof(*rec));
		rec->reason = JPKI_REASON_NONE;
	}
	if (st == NULL || rec == NULL || !valid_ca(ca) || !valid_serial(serial, serial_len))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->cert_get(st, ca, serial, serial_len, with_der, rec);
}

int
jpki_store_cert_set_status(jpki_store_t *st, jpki_ca_kind_t ca, const uint8_t *serial,
                           size_t serial_len, jpki_cert_status_t status, int reason,
                           int64_t when, int64_t *seq_out)
{
	if (seq_out != NULL)
		*seq_out = 0;
	if (st == NULL || !valid_ca(ca) || !valid_serial(serial, serial_len) ||
	    !valid_status_reason(status, reason))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->cert_set_status(st, ca, serial, serial_len, status, reason, when,
	                                seq_out);
}

int
jpki_store_foreach_listed(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
                          jpki_store_cert_cb cb, void *ctx)
{
	if (st == NULL || cb == NULL || !valid_ca(ca))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->foreach_listed(st, ca, partition, cb, ctx);
}

int
jpki_store_foreach_changed(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
                           int64_t since_seq, jpki_store_cert_cb cb, void *ctx)
{
	if (st == NULL || cb == NULL || !valid_ca(ca))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->foreach_changed(st, ca, partition, since_seq, cb, ctx);
}

int
jpki_store_foreach_cert(jpki_store_t *st, jpki_ca_kind_t ca, jpki_store_cert_cb cb,
                        void *ctx)
{
	if (st == NULL || cb == NULL || !valid_ca(ca))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->foreach_cert(st, ca, cb, ctx);
}

int
jpki_store_partitions(jpki_store_t *st, jpki_ca_kind_t ca, int64_t **parts, size_t *n)
{
	if (parts != NULL)
		*parts = NULL;
	if (n != NULL)
		*n = 0;
	if (st == NULL || parts == NULL || n == NULL || !valid_ca(ca))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->partitions(st, ca, parts, n);
}

int
jpki_store_partition_count(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
                           int64_t *count)
{
	if (count != NULL)
		*count = 0;
	if (st == NULL || count == NULL || !valid_ca(ca))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->partition_count(st, ca, partition, count);
}

int
jpki_store_event_seq(jpki_store_t *st, int64_t *seq)
{
	if (seq != NULL)
		*seq = 0;
	if (st == NULL || seq == NULL)
		return JPKI_ERR_INVALID_ARG;
	return st->ops->event_seq(st, seq);
}

int
jpki_store_counter_next(jpki_store_t *st, const char *name, int64_t *value)
{
	if (value != NULL)
		*value = 0;
	if (st == NULL || value == NULL || !valid_counter_name(name))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->counter_next(st, name, 0, value);
}

int
jpki_store_counter_next_above(jpki_store_t *st, const char *name, int64_t floor, int64_t *value)
{
	if (value != NULL)
		*value = 0;
	if (st == NULL || value == NULL || !valid_counter_name(name) || floor < 0 ||
	    floor == INT64_MAX)
		return JPKI_ERR_INVALID_ARG;
	return st->ops->counter_next(st, name, floor, value);
}

int
jpki_store_counter_get(jpki_store_t *st, const char *name, int64_t *value)
{
	if (value != NULL)
		*value = 0;
	if (st == NULL || value == NULL || !valid_counter_name(name))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->counter_get(st, name, value);
}

int
jpki_store_crl_save(jpki_store_t *st, const jpki_crl_rec_t *rec)
{
	if (st == NULL || rec == NULL || !valid_ca(rec->ca) || rec->number < 0 ||
	    rec->event_seq < 0 || (rec->is_delta && rec->base_number < 0) ||
	    !valid_blob(rec->der, rec->der_len))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->crl_save(st, rec);
}

int
jpki_store_crl_latest(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
                      int is_delta, int with_der, jpki_crl_rec_t *rec)
{
	if (rec != NULL)
		memset(rec, 0, sizeof(*rec));
	if (st == NULL || rec == NULL || !valid_ca(ca))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->crl_latest(st, ca, partition, is_delta ? 1 : 0, with_der, rec);
}

/* ---- audit rows and documents ---- */

int
jpki_store_audit_last(jpki_store_t *st, int64_t *seq, uint8_t *mac)
{
	if (seq != NULL)
		*seq = 0;
	if (st == NULL || seq == NULL || mac == NULL)
		return JPKI_ERR_INVALID_ARG;
	return st->ops->audit_last(st, seq, mac);
}

int
jpki_store_audit_insert(jpki_store_t *st, const struct jpki_audit_rec *rec)
{
	if (st == NULL || rec == NULL || rec->seq < 1)
		return JPKI_ERR_INVALID_ARG;
	return st->ops->audit_insert(st, rec);
}

int
jpki_store_foreach_audit(jpki_store_t *st, jpki_store_audit_cb cb, void *ctx)
{
	if (st == NULL || cb == NULL)
		return JPKI_ERR_INVALID_ARG;
	return st->ops->foreach_audit(st, cb, ctx);
}

static int
valid_doc_name(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	return n >= 1 && n <= JPKI_DOC_NAME_MAX;
}

int
jpki_store_doc_put(jpki_store_t *st, const char *kind, const char *key, const char *body,
                   int mode)
{
	if (st == NULL || !valid_doc_name(kind) || !valid_doc_name(key) || body == NULL ||
	    mode < JPKI_DOC_CREATE || mode > JPKI_DOC_UPSERT)
		return JPKI_ERR_INVALID_ARG;
	if (strlen(body) > JPKI_DOC_BODY_MAX)
		return JPKI_ERR_TOO_LARGE;
	return st->ops->doc_put(st, kind, key, body, mode);
}

int
jpki_store_doc_get(jpki_store_t *st, const char *kind, const char *key, char **body)
{
	if (body != NULL)
		*body = NULL;
	if (st == NULL || !valid_doc_name(kind) || !valid_doc_name(key) || body == NULL)
		return JPKI_ERR_INVALID_ARG;
	return st->ops->doc_get(st, kind, key, body);
}

int
jpki_store_doc_delete(jpki_store_t *st, const char *kind, const char *key)
{
	if (st == NULL || !valid_doc_name(kind) || !valid_doc_name(key))
		return JPKI_ERR_INVALID_ARG;
	return st->ops->doc_delete(st, kind, key);
}

int
jpki_store_foreach_doc(jpki_store_t *st, const char *kind, const char *prefix,
                       jpki_store_doc_cb cb, void *ctx)
{
	if (st == NULL || !valid_doc_name(kind) || prefix == NULL ||
	    strlen(prefix) > JPKI_DOC_NAME_MAX || cb == NULL)
		return JPKI_ERR_INVALID_ARG;
	return st->ops->foreach_doc(st, kind, prefix, cb, ctx);
}
