/*
 * The store's backend interface (private to libjpki).
 *
 * store.c owns the public functions: it checks the arguments, clears the
 * outputs and then calls the backend through st->ops, so a backend sees only
 * well-formed requests (valid CA, serial, status and reason, non-NULL outputs).
 * A backend allocates its own handle with struct jpki_store as its first
 * member and fills ops; every function pointer is required.
 *
 * Transactions are the backend's business (it knows whether the caller has
 * one open).  Each mutating operation is atomic on its own.  Inside a caller's
 * transaction, an operation that fails having changed nothing (duplicate or
 * unknown serial) leaves the transaction usable; one that fails half-way
 * rolls the whole transaction back; every later call returns JPKI_ERR_STATE
 * until the caller ends it (rollback returns 0, commit JPKI_ERR_STATE).
 */
#ifndef JPKI_STORE_IMPL_H
#define JPKI_STORE_IMPL_H

#include "jpki/store.h"

struct jpki_store_ops {
	const char *name; /* "sqlite", "postgresql" */

	/* Roll back an open caller transaction and free everything. */
	void (*close)(jpki_store_t *st);
	int (*schema_version)(jpki_store_t *st, int *version);

	/* JPKI_ERR_STATE for begin inside a transaction and for commit or
	 * rollback without one. */
	int (*begin)(jpki_store_t *st);
	int (*commit)(jpki_store_t *st);
	int (*rollback)(jpki_store_t *st);

	int (*cert_insert)(jpki_store_t *st, jpki_cert_rec_t *rec);
	int (*cert_exists)(jpki_store_t *st, jpki_ca_kind_t ca, const uint8_t *serial,
	                   size_t serial_len, int *exists);
	int (*cert_get)(jpki_store_t *st, jpki_ca_kind_t ca, const uint8_t *serial,
	                size_t serial_len, int with_der, jpki_cert_rec_t *rec);
	int (*cert_set_status)(jpki_store_t *st, jpki_ca_kind_t ca, const uint8_t *serial,
	                       size_t serial_len, jpki_cert_status_t status, int reason,
	                       int64_t when, int64_t *seq_out);

	int (*foreach_listed)(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
	                      jpki_store_cert_cb cb, void *ctx);
	int (*foreach_changed)(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
	                       int64_t since_seq, jpki_store_cert_cb cb, void *ctx);
	int (*foreach_cert)(jpki_store_t *st, jpki_ca_kind_t ca, jpki_store_cert_cb cb,
	                    void *ctx);

	int (*partitions)(jpki_store_t *st, jpki_ca_kind_t ca, int64_t **parts, size_t *n);
	int (*partition_count)(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
	                       int64_t *count);
	int (*event_seq)(jpki_store_t *st, int64_t *seq);

	/* max(counter + 1, floor + 1), stored and returned; floor >= 0. */
	int (*counter_next)(jpki_store_t *st, const char *name, int64_t floor, int64_t *value);
	int (*counter_get)(jpki_store_t *st, const char *name, int64_t *value);

	int (*crl_save)(jpki_store_t *st, const jpki_crl_rec_t *rec);
	int (*crl_latest)(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
	                  int is_delta, int with_der, jpki_crl_rec_t *rec);

	int (*audit_last)(jpki_store_t *st, int64_t *seq, uint8_t *mac);
	int (*audit_insert)(jpki_store_t *st, const struct jpki_audit_rec *rec);
	int (*foreach_audit)(jpki_store_t *st, jpki_store_audit_cb cb, void *ctx);

	int (*doc_put)(jpki_store_t *st, const char *kind, const char *key, const char *body,
	               int mode);
	int (*doc_get)(jpki_store_t *st, const char *kind, const char *key, char **body);
	int (*doc_delete)(jpki_store_t *st, const char *kind, const char *key);
	int (*foreach_doc)(jpki_store_t *st, const char *kind, const char *prefix,
	                   jpki_store_doc_cb cb, void *ctx);
};

/* The common head of every backend's handle. */
struct jpki_store {
	const struct jpki_store_ops *ops;
};

/* Longest counter name the store accepts (bytes, without the NUL). */
#define JPKI_STORE_COUNTER_NAME_MAX 128

/* The SQLite backend: open (creating with mode 0600 and migrating) the
 * database file at path.  *out is set only on success. */
int jpki_store_sqlite_open(const char *path, jpki_store_t **out);

#endif
