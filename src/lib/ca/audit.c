/*
 * The audit log (jpki/audit.h): an HMAC chain over the store's audit rows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "jpki/audit.h"
#include "jpki/date.h"
#include "jpki/error.h"
#include "jpki/file.h"

#define AUDIT_KEY_FILE "audit.key"

/* Copy s into out (outlen bytes), cut at a UTF-8 character boundary. */
static void
copy_field(char *out, size_t outlen, const char *s)
{
	size_t n;

	if (s == NULL)
		s = "";
	n = strlen(s);
	if (n >= outlen) {
		n = outlen - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

static int
read_key(const char *path, uint8_t key[JPKI_AUDIT_KEY_LEN])
{
	int fd, r = JPKI_ERR_INTERNAL;
	ssize_t n;
	uint8_t extra;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		r = errno == ENOENT ? JPKI_ERR_NOT_FOUND : JPKI_ERR_IO;
		jpki_set_detail("%s: %s", path, strerror(errno));
		return r;
	}
	n = read(fd, key, JPKI_AUDIT_KEY_LEN);
	if (n != JPKI_AUDIT_KEY_LEN || read(fd, &extra, 1) != 0) {
		jpki_set_detail("%s: not a %d-byte audit key", path, JPKI_AUDIT_KEY_LEN);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}

int
jpki_audit_open(jpki_audit_t *a, const char *dir, jpki_store_t *st, const char *program)
{
	int r = JPKI_ERR_INTERNAL;
	char path[4096];
	uint8_t key[JPKI_AUDIT_KEY_LEN];

	if (a == NULL || dir == NULL || st == NULL)
		return JPKI_ERR_INVALID_ARG;
	memset(a, 0, sizeof(*a));
	if (snprintf(path, sizeof(path), "%s/%s", dir, AUDIT_KEY_FILE) >= (int)sizeof(path))
		return JPKI_ERR_INVALID_ARG;
	r = read_key(path, key);
	if (r == JPKI_ERR_NOT_FOUND) {
		int64_t last = 0;
		uint8_t prev[JPKI_AUDIT_MAC_LEN];
		/* A log with entries and no key: the key was lost or not restored
		 * with a backup.  A new key would make every entry look forged, and
		 * the chain could never be checked again: refuse, and say so. */
		if ((r = jpki_store_audit_last(st, &last, prev)) != 0)
			goto out;
		if (last > 0) {
			jpki_set_detail("%s is missing but the audit log has %lld entries: restore the "
			                "key from its backup (a new key would make the log unverifiable)",
			                path, (long long)last);
			r = JPKI_ERR_NOT_FOUND;
			goto out;
		}
		/* The first program to audit here makes the key.  Two at once:
		 * O_EXCL lets one win, and the other reads its key. */
		if (RAND_priv_bytes(key, sizeof(key)) != 1) {
			r = JPKI_ERR_CRYPTO;
			goto out;
		}
		r = jpki_file_write_new(path, key, sizeof(key), 0600);
		if (r == JPKI_ERR_EXISTS)
			r = read_key(path, key);
	}
	if (r != 0)
		goto out;
	a->store = st;
	memcpy(a->key, key, sizeof(key));
	copy_field(a->program, sizeof(a->program), program);
	r = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

void
jpki_audit_clear(jpki_audit_t *a)
{
	if (a != NULL)
		OPENSSL_cleanse(a, sizeof(*a));
}

/* Append a length-prefixed field to the MAC input, so that no two entries
 * encode alike ("ab"+"c" vs "a"+"bc"). */
static int
mac_field(EVP_MAC_CTX *m, const void *p, size_t n)
{
	uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

	return EVP_MAC_update(m, len, 4) == 1 && EVP_MAC_update(m, p, n) == 1;
}

/* mac = HMAC-SHA256(key, prev || seq || time || program || actor || action ||
 * subject || outcome || detail). */
static int
entry_mac(const uint8_t key[JPKI_AUDIT_KEY_LEN], const uint8_t prev[JPKI_AUDIT_MAC_LEN],
          const jpki_audit_rec_t *e, uint8_t mac[JPKI_AUDIT_MAC_LEN])
{
	int r = JPKI_ERR_CRYPTO;
	EVP_MAC *alg = NULL;
	EVP_MAC_CTX *m = NULL;
	OSSL_PARAM params[2];
	uint8_t num[16];
	size_t outlen = 0;
	int i;

	if ((alg = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (m = EVP_MAC_CTX_new(alg)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(m, key, JPKI_AUDIT_KEY_LEN, params) != 1)
		goto out;
	for (i = 0; i < 8; i++) {
		num[i] = (uint8_t)((uint64_t)e->seq >> (56 - 8 * i));
		num[8 + i] = (uint8_t)((uint64_t)e->time >> (56 - 8 * i));
	}
	if (!mac_field(m, prev, JPKI_AUDIT_MAC_LEN) || !mac_field(m, num, sizeof(num)) ||
	    !mac_field(m, e->program, strlen(e->program)) ||
	    !mac_field(m, e->actor, strlen(e->actor)) ||
	    !mac_field(m, e->action, strlen(e->action)) ||
	    !mac_field(m, e->subject, strlen(e->subject)) ||
	    !mac_field(m, e->outcome, strlen(e->outcome)) ||
	    !mac_field(m, e->detail, strlen(e->detail)))
		goto out;
	if (EVP_MAC_final(m, mac, &outlen, JPKI_AUDIT_MAC_LEN) != 1 || outlen != JPKI_AUDIT_MAC_LEN)
		goto out;
	r = 0;
out:
	EVP_MAC_CTX_free(m);
	EVP_MAC_free(alg);
	return r;
}

int
jpki_audit_append(jpki_audit_t *a, const char *actor, const char *action, const char *subject,
                  const char *outcome, const char *detail)
{
	int r = JPKI_ERR_INTERNAL;
	int own = 0;
	int64_t last = 0, count = 0;
	uint8_t prev[JPKI_AUDIT_MAC_LEN];
	jpki_audit_rec_t *e = NULL;

	if (a == NULL || a->store == NULL)
		return JPKI_ERR_INVALID_ARG;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return JPKI_ERR_NOMEM;
	/* Our own transaction unless the caller holds one (then begin says
	 * JPKI_ERR_STATE, and the entry commits or rolls back with the act). */
	r = jpki_store_begin(a->store);
	if (r == 0)
		own = 1;
	else if (r != JPKI_ERR_STATE)
		goto out;
	if ((r = jpki_store_audit_last(a->store, &last, prev)) != 0)
		goto out;
	e->seq = last + 1;
	e->time = (int64_t)jpki_now();
	copy_field(e->program, sizeof(e->program), a->program);
	copy_field(e->actor, sizeof(e->actor), actor);
	copy_field(e->action, sizeof(e->action), action);
	copy_field(e->subject, sizeof(e->subject), subject);
	copy_field(e->outcome, sizeof(e->outcome), outcome);
	copy_field(e->detail, sizeof(e->detail), detail);
	if ((r = entry_mac(a->key, prev, e, e->mac)) != 0)
		goto out;
	if ((r = jpki_store_audit_insert(a->store, e)) != 0)
		goto out;
	if ((r = jpki_store_counter_next(a->store, "audit.count", &count)) != 0)
		goto out;
	if (count != e->seq) {
		jpki_set_detail("audit log: %lld entries but the count says %lld",
		                (long long)e->seq, (long long)count);
		r = JPKI_ERR_STATE;
		goto out;
	}
	if (own) {
		r = jpki_store_commit(a->store);
		own = 0;
		if (r != 0)
			goto out;
	}
	r = 0;
out:
	if (own)
		(void)jpki_store_rollback(a->store);
	free(e);
	return r;
}

int
jpki_audit_appendf(jpki_audit_t *a, const char *actor, const char *action, const char *subject,
                   const char *outcome, const char *fmt, ...)
{
	char detail[JPKI_AUDIT_DETAIL_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return jpki_audit_append(a, actor, action, subject, outcome, detail);
}

struct verify_ctx {
	const jpki_audit_t *a;
	jpki_audit_report_t *rep;
	uint8_t prev[JPKI_AUDIT_MAC_LEN];
	int64_t expect;
	int bad;
};

static int
verify_cb(void *ctx, const struct jpki_audit_rec *e)
{
	struct verify_ctx *v = ctx;
	uint8_t mac[JPKI_AUDIT_MAC_LEN];
	int r;

	v->rep->entries++;
	if (e->seq != v->expect) {
		v->rep->bad_seq = v->expect;
		if (e->seq > v->expect)
			snprintf(v->rep->why, sizeof(v->rep->why),
			         e->seq == v->expect + 1 ? "entry %lld is missing"
			                                 : "entries from %lld are missing",
			         (long long)v->expect);
		else
			snprintf(v->rep->why, sizeof(v->rep->why), "entry %lld is out of order",
			         (long long)e->seq);
		v->bad = 1;
		return 1;
	}
	if ((r = entry_mac(v->a->key, v->prev, e, mac)) != 0)
		return r;
	if (CRYPTO_memcmp(mac, e->mac, sizeof(mac)) != 0) {
		/* The entry itself, or the one before it (whose MAC this one chains
		 * on) was changed, or entries were swapped. */
		v->rep->bad_seq = e->seq;
		snprintf(v->rep->why, sizeof(v->rep->why),
		         "entry %lld was changed, or does not follow entry %lld",
		         (long long)e->seq, (long long)e->seq - 1);
		v->bad = 1;
		return 1;
	}
	memcpy(v->prev, e->mac, sizeof(v->prev));
	v->expect++;
	return 0;
}

int
jpki_audit_verify(jpki_audit_t *a, jpki_audit_report_t *rep)
{
	int r = JPKI_ERR_INTERNAL;
	struct verify_ctx v;
	int64_t count = 0;

	if (a == NULL || a->store == NULL || rep == NULL)
		return JPKI_ERR_INVALID_ARG;
	memset(rep, 0, sizeof(*rep));
	memset(&v, 0, sizeof(v));
	v.a = a;
	v.rep = rep;
	v.expect = 1;
	r = jpki_store_foreach_audit(a->store, verify_cb, &v);
	if (r != 0 && !(r == 1 && v.bad))
		goto out;
	if (v.bad) {
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	if ((r = jpki_store_counter_get(a->store, "audit.count", &count)) != 0)
		goto out;
	if (count != v.expect - 1) {
		rep->bad_seq = v.expect;
		if (count > v.expect - 1)
			snprintf(rep->why, sizeof(rep->why),
			         "the log ends at entry %lld but %lld were written",
			         (long long)v.expect - 1, (long long)count);
		else
			snprintf(rep->why, sizeof(rep->why),
			         "%lld entries but only %lld were written",
			         (long long)v.expect - 1, (long long)count);
		r = JPKI_ERR_VERIFY;
		goto out;
	}
	r = 0;
out:
	return r;
}

struct foreach_ctx {
	jpki_audit_cb cb;
	void *ctx;
};

static int
foreach_cb(void *ctx, const struct jpki_audit_rec *e)
{
	struct foreach_ctx *f = ctx;

	return f->cb(f->ctx, e);
}

int
jpki_audit_foreach(jpki_audit_t *a, jpki_audit_cb cb, void *ctx)
{
	struct foreach_ctx f = { cb, ctx };

	if (a == NULL || a->store == NULL || cb == NULL)
		return JPKI_ERR_INVALID_ARG;
	return jpki_store_foreach_audit(a->store, foreach_cb, &f);
}
