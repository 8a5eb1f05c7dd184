/*
 * jpkid's OCSP service: signed responses kept in a hash table by CA, CertID
 * hash and serial; a producer thread that follows the store's status events
 * and refreshes responses before they expire; store handles for the HTTP
 * threads' cache misses.
 *
 * Freshness.  The producer polls jpki_store_event_seq() every poll_ms.  When
 * it moved, the certificates changed since are read, their responses are
 * dropped from the table (under the write lock, with the table's `seq` set
 * to the new sequence number in the same critical section), then produced
 * again from the new status.  A miss reads `seq` before it reads the store
 * and inserts its response only if `seq` is unchanged: a response made from
 * a status older than the last change never enters the table.  When the
 * store cannot be polled for a while, the table is not trusted (every
 * request reads the store) until a poll succeeds again.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "jpki/ca.h"
#include "jpki/date.h"
#include "jpki/error.h"
#include "jpki/ocsp.h"
#include "jpki/x509.h"
#include "server/server_int.h"

#define REFRESH_BATCH 128       /* responses re-signed per producer tick at most (each
                                   of poll_events and refresh_some) */
#define STALE_MIN_MS 3000       /* store not polled for this long: bypass the table */

/* One cached response. */
struct centry {
	struct centry *next;
	uint64_t h;
	uint8_t ca, alg, serial_len;
	_Atomic uint8_t used;   /* asked for since it was produced */
	uint8_t serial[JPKI_SERIAL_MAX];
	int8_t status;          /* jpki_cert_status_t it says */
	int8_t reason;
	int64_t status_time;
	time_t produced, next_update;
	char etag[40];
	char last_modified[32]; /* formatted once, not per request */
	char expires[32];
	uint8_t *der;
	size_t len;
};

/* A certificate's status as a response says it. */
struct cstatus {
	int issued;
	jpki_cert_status_t status;
	int reason;
	int64_t time;
};

struct ocsp_svc {
	int64_t validity, refresh_after, serve_margin, poll_ms, stale_ms;
	size_t cache_max;
	int prefill;
	time_t clock_offset;

	jpki_ca_t *ca;                      /* the producer's (certificates, store) */
	EVP_PKEY *key[2];
	jpki_ocsp_responder_t *resp[2];

	/* Store handles for the HTTP threads' misses. */
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	jpki_ca_t **pool_all, **pool_free;
	size_t pool_n, pool_nfree;

	/* The table. */
	pthread_rwlock_t lock;
	struct centry **buckets;
	size_t nbuckets;                    /* a power of two */
	size_t count;
	_Atomic int64_t seq;                /* written under the write lock only */
	size_t sweep_pos;                   /* producer only */

	/* Threads. */
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cv;
	int stop;
	pthread_t producer, prefiller;
	int have_producer, have_prefiller;
	jpki_ca_t *prefill_ca;
	_Atomic int64_t prefill_left;
	_Atomic int64_t last_poll_ms;       /* CLOCK_MONOTONIC of the last good poll */
	int64_t last_error_ms;              /* producer: rate limit of its messages */
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

time_t
ocsp_svc_now(const struct ocsp_svc *s)
{
	return time(NULL) + s->clock_offset;
}

X509 *
ocsp_svc_ca_cert(struct ocsp_svc *s, jpki_ca_kind_t kind)
{
	return jpki_ca_cert(s->ca, kind);
}

/* FNV-1a over the key; serials are random, so this spreads well enough, and
 * only issued serials ever enter the table. */
static uint64_t
key_hash(int ca, int alg, const uint8_t *serial, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	h = (h ^ (uint64_t)(ca * 4 + alg)) * 0x100000001b3ULL;
	for (i = 0; i < len; i++)
		h = (h ^ serial[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static int
entry_is(const struct centry *e, uint64_t h, int ca, int alg, const uint8_t *serial, size_t len)
{
	return e->h == h && e->ca == ca && e->alg == alg && e->serial_len == len &&
	       memcmp(e->serial, serial, len) == 0;
}

static void
entry_free(struct centry *e)
{
	if (e == NULL)
		return;
	free(e->der);
	free(e);
}

static const char *
status_what(const struct cstatus *cs)
{
	if (!cs->issued)
		return "non-issued";
	return cs->status == JPKI_STATUS_GOOD ? "good" :
	       cs->status == JPKI_STATUS_HOLD ? "hold" : "revoked";
}

static void
fill_single(jpki_ocsp_single_t *sr, const jpki_ocsp_certid_t *id, const struct cstatus *cs)
{
	memset(sr, 0, sizeof(*sr));
	sr->id = id;
	sr->reason = JPKI_REASON_NONE;
	if (!cs->issued) {
		sr->status = JPKI_OCSP_REVOKED;
		sr->non_issued = 1;
	} else if (cs->status == JPKI_STATUS_GOOD) {
		sr->status = JPKI_OCSP_GOOD;
	} else {
		sr->status = JPKI_OCSP_REVOKED;
		sr->revocation_time = cs->time;
		/* A hold is "revoked" with reason certificateHold (RFC 6960 2.2). */
		sr->reason = cs->status == JPKI_STATUS_HOLD ? JPKI_REASON_CERTIFICATE_HOLD : cs->reason;
	}
}

static void
make_etag(const uint8_t *der, size_t len, char out[40])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = len < 16 ? len : 16;
	char *p = out;

	/* The tail of the signature: it changes with every byte signed. */
	*p++ = '"';
	for (i = len - n; i < len; i++) {
		*p++ = hex[der[i] >> 4];
		*p++ = hex[der[i] & 15];
	}
	*p++ = '"';
	*p = '\0';
}

/* Produce the response for (ca, alg, serial) with status cs, as the table
 * keeps it: the CertID as a request for that serial carries it. */
static int
produce(struct ocsp_svc *s, int ca, int alg, const uint8_t *serial, size_t len,
        const struct cstatus *cs, time_t now, struct centry **out)
{
	jpki_ocsp_certid_t id;
	jpki_ocsp_single_t sr;
	uint8_t buf[JPKI_SERIAL_MAX + 1];
	struct centry *e;
	int r;

	*out = NULL;
	if ((r = jpki_ocsp_responder_certid(s->resp[ca], alg, serial, len, buf, &id)) != 0)
		return r;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return JPKI_ERR_NOMEM;
	fill_single(&sr, &id, cs);
	if ((r = jpki_ocsp_response_build(s->resp[ca], &sr, 1, NULL, 0, now, now + s->validity,
	                                  &e->der, &e->len)) != 0) {
		free(e);
		return r;
	}
	e->h = key_hash(ca, alg, serial, len);
	e->ca = (uint8_t)ca;
	e->alg = (uint8_t)alg;
	e->serial_len = (uint8_t)len;
	memcpy(e->serial, serial, len);
	e->status = (int8_t)cs->status;
	e->reason = (int8_t)cs->reason;
	e->status_time = cs->time;
	e->produced = now;
	e->next_update = now + s->validity;
	make_etag(e->der, e->len, e->etag);
	http_date(e->produced, e->last_modified);
	http_date(e->next_update, e->expires);
	*out = e;
	return 0;
}

/* Set a->der to a copy of der[0..len): in the caller's buffer when it fits. */
static int
answer_copy(struct ocsp_answer *a, const uint8_t *der, size_t len)
{
	if (a->buf != NULL && len <= a->cap) {
		a->der = a->buf;
	} else if ((a->der = malloc(len)) == NULL) {
		return JPKI_ERR_NOMEM;
	}
	memcpy(a->der, der, len);
	a->len = len;
	return 0;
}

/* Take a malloc'd der into a (moved into the caller's buffer if it fits). */
static void
answer_take(struct ocsp_answer *a, uint8_t *der, size_t len)
{
	if (a->buf != NULL && len <= a->cap) {
		memcpy(a->buf, der, len);
		free(der);
		der = a->buf;
	}
	a->der = der;
	a->len = len;
}

/* Put e in the table unless a status changed since seq g was read (then the
 * response may say an old status), or the table is full.  Takes e. */
static void
cache_put(struct ocsp_svc *s, struct centry *e, int64_t g)
{
	struct centry **pp, *drop = e;

	pthread_rwlock_wrlock(&s->lock);
	if (atomic_load(&s->seq) != g)
		goto out;
	for (pp = &s->buckets[e->h & (s->nbuckets - 1)]; *pp != NULL; pp = &(*pp)->next) {
		if (entry_is(*pp, e->h, e->ca, e->alg, e->serial, e->serial_len)) {
			if ((*pp)->produced > e->produced)
				goto out; /* someone put a newer one */
			drop = *pp;
			e->next = drop->next;
			*pp = e;
			goto out;
		}
	}
	if (s->count >= s->cache_max)
		goto out;
	pp = &s->buckets[e->h & (s->nbuckets - 1)];
	e->next = *pp;
	*pp = e;
	s->count++;
	drop = NULL;
out:
	pthread_rwlock_unlock(&s->lock);
	entry_free(drop);
}

/* Copy the cached response of (ca, alg, serial) into a, if one is there and
 * still well before its nextUpdate.  1 on a hit. */
static int
cache_get(struct ocsp_svc *s, int ca, int alg, const uint8_t *serial, size_t len, time_t now,
          struct ocsp_answer *a)
{
	uint64_t h = key_hash(ca, alg, serial, len);
	struct centry *e;
	int hit = 0;

	pthread_rwlock_rdlock(&s->lock);
	for (e = s->buckets[h & (s->nbuckets - 1)]; e != NULL; e = e->next) {
		if (!entry_is(e, h, ca, alg, serial, len))
			continue;
		if (now >= e->next_update - s->serve_margin || now < e->produced)
			break; /* the producer is behind: make a fresh one */
		if (answer_copy(a, e->der, e->len) != 0)
			break;
		a->http_cacheable = 1;
		a->produced = e->produced;
		a->next_update = e->next_update;
		memcpy(a->etag, e->etag, sizeof(a->etag));
		memcpy(a->last_modified, e->last_modified, sizeof(a->last_modified));
		memcpy(a->expires, e->expires, sizeof(a->expires));
		a->what = e->status == JPKI_STATUS_GOOD ? "good" :
		          e->status == JPKI_STATUS_HOLD ? "hold" : "revoked";
		if (!atomic_load_explicit(&e->used, memory_order_relaxed))
			atomic_store_explicit(&e->used, 1, memory_order_relaxed);
		hit = 1;
		break;
	}
	pthread_rwlock_unlock(&s->lock);
	return hit;
}

/* ---- store handles ---- */

static jpki_ca_t *
pool_get(struct ocsp_svc *s)
{
	jpki_ca_t *c;

	pthread_mutex_lock(&s->pool_mu);
	while (s->pool_nfree == 0)
		pthread_cond_wait(&s->pool_cv, &s->pool_mu);
	c = s->pool_free[--s->pool_nfree];
	pthread_mutex_unlock(&s->pool_mu);
	return c;
}

static void
pool_put(struct ocsp_svc *s, jpki_ca_t *c)
{
	pthread_mutex_lock(&s->pool_mu);
	s->pool_free[s->pool_nfree++] = c;
	pthread_cond_signal(&s->pool_cv);
	pthread_mutex_unlock(&s->pool_mu);
}

static int
store_status(jpki_store_t *st, int ca, const uint8_t *serial, size_t len, struct cstatus *cs)
{
	jpki_cert_rec_t rec;
	int r;

	memset(&rec, 0, sizeof(rec));
	memset(cs, 0, sizeof(*cs));
	r = jpki_store_cert_get(st, (jpki_ca_kind_t)ca, serial, len, 0, &rec);
	if (r == JPKI_ERR_NOT_FOUND)
		return 0; /* never issued */
	if (r != 0)
		return r;
	cs->issued = 1;
	cs->status = rec.status;
	cs->reason = rec.reason;
	cs->time = rec.status_time;
	jpki_cert_rec_clear(&rec);
	return 0;
}

/* ---- answering ---- */

static int
answer_error(struct ocsp_answer *a, int status, const char *what)
{
	uint8_t b[5];
	size_t n = jpki_ocsp_error_response(status, b);

	a->what = what;
	return answer_copy(a, b, n);
}

static int
cache_trusted(struct ocsp_svc *s)
{
	return mono_ms() - atomic_load(&s->last_poll_ms) <= s->stale_ms;
}

/* One CertID, no nonce: the table, or the store and then the table. */
static int
answer_one(struct ocsp_svc *s, int ca, const jpki_ocsp_certid_t *id, struct ocsp_answer *a)
{
	uint8_t serial[JPKI_SERIAL_MAX];
	size_t len;
	struct cstatus cs;
	struct centry *e = NULL;
	jpki_ocsp_single_t sr;
	jpki_ca_t *c;
	time_t now = ocsp_svc_now(s);
	uint8_t *der;
	size_t derlen;
	int64_t g;
	int trusted, r;

	memset(&cs, 0, sizeof(cs));
	if (jpki_ocsp_serial_key(id, serial, &len) != 0)
		goto fresh; /* zero, negative or too long: never one of ours */
	trusted = cache_trusted(s);
	if (trusted && cache_get(s, ca, id->hash, serial, len, now, a))
		return 0;
	g = atomic_load(&s->seq);
	c = pool_get(s);
	r = store_status(jpki_ca_store(c), ca, serial, len, &cs);
	pool_put(s, c);
	if (r != 0)
		return answer_error(a, JPKI_OCSP_TRY_LATER, "store-error");
	if (!cs.issued)
		goto fresh;
	if ((r = produce(s, ca, id->hash, serial, len, &cs, now, &e)) != 0)
		return r == JPKI_ERR_NOMEM ? r : answer_error(a, JPKI_OCSP_INTERNAL_ERROR, "sign-error");
	if (answer_copy(a, e->der, e->len) != 0) {
		entry_free(e);
		return JPKI_ERR_NOMEM;
	}
	a->http_cacheable = 1;
	a->produced = e->produced;
	a->next_update = e->next_update;
	memcpy(a->etag, e->etag, sizeof(a->etag));
	memcpy(a->last_modified, e->last_modified, sizeof(a->last_modified));
	memcpy(a->expires, e->expires, sizeof(a->expires));
	a->what = status_what(&cs);
	if (trusted)
		cache_put(s, e, g);
	else
		entry_free(e);
	return 0;
fresh:
	/* Not kept: anyone can ask about any number of serials never issued. */
	fill_single(&sr, id, &cs);
	r = jpki_ocsp_response_build(s->resp[ca], &sr, 1, NULL, 0, now, now + s->validity, &der,
	                             &derlen);
	if (r != 0)
		return r == JPKI_ERR_NOMEM ? r : answer_error(a, JPKI_OCSP_INTERNAL_ERROR, "sign-error");
	answer_take(a, der, derlen);
	a->produced = now;
	a->next_update = now + s->validity;
	a->what = "non-issued";
	return 0;
}

int
ocsp_svc_answer(struct ocsp_svc *s, const uint8_t *req, size_t len, struct ocsp_answer *a)
{
	jpki_ocsp_request_t rq;
	jpki_ocsp_single_t sr[JPKI_OCSP_MAX_CERTS];
	struct cstatus cs;
	jpki_ca_t *c;
	time_t now;
	size_t i;
	int ca = -1, k, r;

	uint8_t *buf = a->buf, *der;
	size_t cap = a->cap, derlen;

	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
	if (jpki_ocsp_request_parse(req, len, &rq) != 0)
		return answer_error(a, JPKI_OCSP_MALFORMED_REQUEST, "malformed");
	/* Every CertID must name the same CA of ours: one key signs the answer. */
	for (i = 0; i < rq.count; i++) {
		k = jpki_ocsp_responder_match(s->resp[0], &rq.ids[i]) ? 0 :
		    jpki_ocsp_responder_match(s->resp[1], &rq.ids[i]) ? 1 : -1;
		if (k < 0 || (ca >= 0 && k != ca))
			return answer_error(a, JPKI_OCSP_UNAUTHORIZED, "unauthorized");
		ca = k;
	}
	if (rq.count == 1 && rq.nonce == NULL)
		return answer_one(s, ca, &rq.ids[0], a);

	/* A nonce, or several certificates: read the store, sign afresh. */
	now = ocsp_svc_now(s);
	c = pool_get(s);
	for (i = 0, r = 0; i < rq.count && r == 0; i++) {
		uint8_t serial[JPKI_SERIAL_MAX];
		size_t sl;
		memset(&cs, 0, sizeof(cs));
		if (jpki_ocsp_serial_key(&rq.ids[i], serial, &sl) == 0)
			r = store_status(jpki_ca_store(c), ca, serial, sl, &cs);
		fill_single(&sr[i], &rq.ids[i], &cs);
		if (i == 0)
			a->what = status_what(&cs);
	}
	pool_put(s, c);
	if (r != 0)
		return answer_error(a, JPKI_OCSP_TRY_LATER, "store-error");
	if (rq.count > 1)
		a->what = "several";
	r = jpki_ocsp_response_build(s->resp[ca], sr, rq.count, rq.nonce, rq.nonce_len, now,
	                             now + s->validity, &der, &derlen);
	if (r != 0)
		return r == JPKI_ERR_NOMEM ? r : answer_error(a, JPKI_OCSP_INTERNAL_ERROR, "sign-error");
	answer_take(a, der, derlen);
	a->produced = now;
	a->next_update = now + s->validity;
	return 0;
}

void
ocsp_svc_stats(struct ocsp_svc *s, struct ocsp_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_rwlock_rdlock(&s->lock);
	st->entries = s->count;
	pthread_rwlock_unlock(&s->lock);
	st->event_seq = atomic_load(&s->seq);
	st->poll_age_ms = mono_ms() - atomic_load(&s->last_poll_ms);
	st->fresh = st->poll_age_ms <= s->stale_ms;
	st->prefill_left = atomic_load(&s->prefill_left);
}

/* ---- the producer ---- */

struct changed {
	uint8_t ca, serial_len, present; /* present: bit per alg that had a response */
	uint8_t serial[JPKI_SERIAL_MAX];
	struct cstatus cs;
};

struct changed_list {
	struct changed *v;
	size_t n, cap;
};

static int
collect_changed(void *ctx, const jpki_cert_rec_t *rec)
{
	struct changed_list *l = ctx;
	struct changed *c;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct changed *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return JPKI_ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	c = &l->v[l->n++];
	memset(c, 0, sizeof(*c));
	c->ca = (uint8_t)rec->ca;
	c->serial_len = (uint8_t)rec->serial_len;
	memcpy(c->serial, rec->serial, rec->serial_len);
	c->cs.issued = 1;
	c->cs.status = rec->status;
	c->cs.reason = rec->reason;
	c->cs.time = rec->status_time;
	return 0;
}

/* Remove (ca, alg, serial); 1 if it was there. Write lock held. */
static int
cache_remove_locked(struct ocsp_svc *s, int ca, int alg, const uint8_t *serial, size_t len)
{
	uint64_t h = key_hash(ca, alg, serial, len);
	struct centry **pp, *e;

	for (pp = &s->buckets[h & (s->nbuckets - 1)]; (e = *pp) != NULL; pp = &e->next) {
		if (entry_is(e, h, ca, alg, serial, len)) {
			*pp = e->next;
			s->count--;
			entry_free(e);
			return 1;
		}
	}
	return 0;
}

static void
cache_clear_locked(struct ocsp_svc *s)
{
	size_t i;

	for (i = 0; i < s->nbuckets; i++) {
		struct centry *e = s->buckets[i], *n;
		for (; e != NULL; e = n) {
			n = e->next;
			entry_free(e);
		}
		s->buckets[i] = NULL;
	}
	s->count = 0;
}

static void
producer_error(struct ocsp_svc *s, const char *what, int r)
{
	int64_t now = mono_ms();

	/* jpkid is quiet, but a store it cannot read must not go unnoticed. */
	if (now - s->last_error_ms < 10000)
		return;
	s->last_error_ms = now;
	fprintf(stderr, "jpkid: %s: %s%s%s\n", what, jpki_strerror(r), *jpki_detail() ? ": " : "",
	        jpki_detail());
}

/* Follow the status events from *last on. */
static int
poll_events(struct ocsp_svc *s, jpki_store_t *st, int64_t *last)
{
	struct changed_list l = {NULL, 0, 0};
	int64_t seq, *parts = NULL;
	size_t np = 0, i, n;
	int k, a, r;
	time_t now;

	if ((r = jpki_store_event_seq(st, &seq)) != 0)
		return r;
	if (seq == *last)
		return 0;
	if (seq < *last) {
		/* The sequence went back: another database.  Trust nothing kept. */
		pthread_rwlock_wrlock(&s->lock);
		cache_clear_locked(s);
		atomic_store(&s->seq, seq);
		pthread_rwlock_unlock(&s->lock);
		*last = seq;
		return 0;
	}
	for (k = 0; k < 2; k++) {
		free(parts);
		parts = NULL;
		if ((r = jpki_store_partitions(st, (jpki_ca_kind_t)k, &parts, &np)) != 0)
			goto out;
		for (i = 0; i < np; i++)
			if ((r = jpki_store_foreach_changed(st, (jpki_ca_kind_t)k, parts[i], *last,
			                                    collect_changed, &l)) != 0)
				goto out;
	}
	/* Drop first, all at once: from here no request gets an old status. */
	pthread_rwlock_wrlock(&s->lock);
	for (i = 0; i < l.n; i++)
		for (a = 0; a < 2; a++)
			if (cache_remove_locked(s, l.v[i].ca, a, l.v[i].serial, l.v[i].serial_len))
				l.v[i].present |= (uint8_t)(1 << a);
	atomic_store(&s->seq, seq);
	pthread_rwlock_unlock(&s->lock);
	*last = seq;
	/* Then produce again what was asked for; a few per poll, so that a
	 * thousand revocations at once do not hold the next poll back (the
	 * rest are made again when asked for). */
	now = ocsp_svc_now(s);
	for (i = 0, n = 0; i < l.n && n < REFRESH_BATCH; i++) {
		for (a = 0; a < 2; a++) {
			struct centry *e;
			if (!(l.v[i].present & (1 << a)))
				continue;
			n++;
			if (produce(s, l.v[i].ca, a, l.v[i].serial, l.v[i].serial_len, &l.v[i].cs, now,
			            &e) == 0) {
				atomic_store(&e->used, 1);
				cache_put(s, e, seq);
			}
		}
	}
	r = 0;
out:
	free(parts);
	free(l.v);
	return r;
}

struct stale {
	uint8_t ca, alg, serial_len, used;
	uint8_t serial[JPKI_SERIAL_MAX];
	time_t produced;
	struct cstatus cs;
};

/* Re-sign responses past half their life that were asked for; drop the
 * others.  A slice of the table per tick, at most REFRESH_BATCH signatures. */
static void
refresh_some(struct ocsp_svc *s)
{
	struct stale w[REFRESH_BATCH];
	size_t n = 0, i, b, chunk = s->nbuckets / 50;
	time_t now = ocsp_svc_now(s);
	int64_t g;

	if (chunk < 1024)
		chunk = 1024;
	if (chunk > s->nbuckets)
		chunk = s->nbuckets;
	pthread_rwlock_rdlock(&s->lock);
	g = atomic_load(&s->seq);
	for (b = 0; b < chunk && n < REFRESH_BATCH; b++) {
		size_t before = n;
		struct centry *e;
		for (e = s->buckets[s->sweep_pos]; e != NULL; e = e->next) {
			if (now < e->produced + s->refresh_after && now >= e->produced)
				continue;
			if (n == REFRESH_BATCH) {
				n = before; /* this bucket next time, whole */
				goto stop;
			}
			w[n].ca = e->ca;
			w[n].alg = e->alg;
			w[n].serial_len = e->serial_len;
			memcpy(w[n].serial, e->serial, e->serial_len);
			w[n].used = atomic_load(&e->used);
			w[n].produced = e->produced;
			w[n].cs.issued = 1;
			w[n].cs.status = (jpki_cert_status_t)e->status;
			w[n].cs.reason = e->reason;
			w[n].cs.time = e->status_time;
			n++;
		}
		s->sweep_pos = (s->sweep_pos + 1) & (s->nbuckets - 1);
	}
stop:
	pthread_rwlock_unlock(&s->lock);
	for (i = 0; i < n; i++) {
		struct centry *e = NULL;
		if (w[i].used && produce(s, w[i].ca, w[i].alg, w[i].serial, w[i].serial_len, &w[i].cs,
		                         now, &e) == 0) {
			cache_put(s, e, g); /* replaces it unless a status changed meanwhile */
			continue;
		}
		/* Not asked for in half a validity: let it go (a request makes it again). */
		pthread_rwlock_wrlock(&s->lock);
		{
			uint64_t h = key_hash(w[i].ca, w[i].alg, w[i].serial, w[i].serial_len);
			struct centry **pp, *x;
			for (pp = &s->buckets[h & (s->nbuckets - 1)]; (x = *pp) != NULL; pp = &x->next) {
				if (entry_is(x, h, w[i].ca, w[i].alg, w[i].serial, w[i].serial_len)) {
					if (x->produced == w[i].produced && !atomic_load(&x->used)) {
						*pp = x->next;
						s->count--;
						entry_free(x);
					}
					break;
				}
			}
		}
		pthread_rwlock_unlock(&s->lock);
	}
}

/* Wait ms or until stopped; 1 when stopped. */
static int
wait_stop(struct ocsp_svc *s, int64_t ms)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->stop_mu);
	while (!s->stop && pthread_cond_timedwait(&s->stop_cv, &s->stop_mu, &ts) != ETIMEDOUT)
		;
	stop = s->stop;
	pthread_mutex_unlock(&s->stop_mu);
	return stop;
}

static void *
producer_main(void *arg)
{
	struct ocsp_svc *s = arg;
	jpki_store_t *st = jpki_ca_store(s->ca);
	int64_t last = atomic_load(&s->seq);
	int r;

	while (!wait_stop(s, s->poll_ms)) {
		if ((r = poll_events(s, st, &last)) == 0)
			atomic_store(&s->last_poll_ms, mono_ms());
		else
			producer_error(s, "reading status events", r);
		refresh_some(s);
	}
	return NULL;
}

struct serial_list {
	struct {
		uint8_t ca, len;
		uint8_t serial[JPKI_SERIAL_MAX];
	} *v;
	size_t n, cap;
};

static int
collect_serial(void *ctx, const jpki_cert_rec_t *rec)
{
	struct serial_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		void *v = realloc(l->v, cap * sizeof(*l->v));
		if (v == NULL)
			return JPKI_ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].ca = (uint8_t)rec->ca;
	l->v[l->n].len = (uint8_t)rec->serial_len;
	memcpy(l->v[l->n].serial, rec->serial, rec->serial_len);
	l->n++;
	return 0;
}

/* Produce every certificate's responses ahead of any request, as a miss
 * would (so the same freshness rule holds), until the table is full. */
static void *
prefill_main(void *arg)
{
	struct ocsp_svc *s = arg;
	jpki_store_t *st = jpki_ca_store(s->prefill_ca);
	struct serial_list l = {NULL, 0, 0};
	size_t i;
	int k, a, r;

	for (k = 0; k < 2; k++)
		if ((r = jpki_store_foreach_cert(st, (jpki_ca_kind_t)k, collect_serial, &l)) != 0) {
			fprintf(stderr, "jpkid: prefill: %s\n", jpki_strerror(r));
			goto out;
		}
	atomic_store(&s->prefill_left, (int64_t)l.n);
	for (i = 0; i < l.n; i++) {
		pthread_mutex_lock(&s->stop_mu);
		k = s->stop;
		pthread_mutex_unlock(&s->stop_mu);
		if (k)
			break;
		for (a = 0; a < 2; a++) {
			struct cstatus cs;
			struct centry *e;
			struct ocsp_answer probe;
			time_t now = ocsp_svc_now(s);
			int64_t g;
			if (!(s->prefill & (1 << a)))
				continue;
			memset(&probe, 0, sizeof(probe));
			if (cache_get(s, l.v[i].ca, a, l.v[i].serial, l.v[i].len, now, &probe)) {
				free(probe.der);
				continue;
			}
			g = atomic_load(&s->seq);
			if (store_status(st, l.v[i].ca, l.v[i].serial, l.v[i].len, &cs) != 0 || !cs.issued ||
			    produce(s, l.v[i].ca, a, l.v[i].serial, l.v[i].len, &cs, now, &e) != 0)
				continue;
			atomic_store(&e->used, 1); /* kept through the first refresh */
			cache_put(s, e, g);
		}
		atomic_store(&s->prefill_left, (int64_t)(l.n - i - 1));
	}
out:
	atomic_store(&s->prefill_left, 0);
	free(l.v);
	return NULL;
}

/* ---- setup ---- */

void
ocsp_svc_free(struct ocsp_svc *s)
{
	size_t i;
	int k;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->stop_mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->stop_cv);
	pthread_mutex_unlock(&s->stop_mu);
	if (s->have_producer)
		pthread_join(s->producer, NULL);
	if (s->have_prefiller)
		pthread_join(s->prefiller, NULL);
	if (s->buckets != NULL)
		cache_clear_locked(s);
	free(s->buckets);
	for (i = 0; i < s->pool_n; i++)
		jpki_ca_close(s->pool_all[i]);
	free(s->pool_all);
	free(s->pool_free);
	jpki_ca_close(s->prefill_ca);
	for (k = 0; k < 2; k++) {
		jpki_ocsp_responder_free(s->resp[k]);
		EVP_PKEY_free(s->key[k]);
	}
	jpki_ca_close(s->ca);
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_cond_destroy(&s->pool_cv);
	pthread_mutex_destroy(&s->stop_mu);
	pthread_cond_destroy(&s->stop_cv);
	free(s);
}

int
ocsp_svc_new(const jpki_server_opts_t *o, struct ocsp_svc **out)
{
	static const char *const sub[2] = {"sign", "auth"};
	struct ocsp_svc *s;
	char path[PATH_MAX];
	int64_t seq;
	size_t i;
	int k, r;

	*out = NULL;
	if (o->ca_dir == NULL) {
		jpki_set_detail("no CA directory given");
		return JPKI_ERR_INVALID_ARG;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return JPKI_ERR_NOMEM;
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_cond_init(&s->pool_cv, NULL);
	pthread_mutex_init(&s->stop_mu, NULL);
	pthread_cond_init(&s->stop_cv, NULL);
	s->validity = o->ocsp_validity > 0 ? o->ocsp_validity : 3600;
	/* Re-signed at half its life while asked for; served until shortly
	 * before nextUpdate, so a client never gets one about to expire. */
	s->refresh_after = s->validity / 2 > 0 ? s->validity / 2 : 1;
	s->serve_margin = s->validity / 10 < 60 ? s->validity / 10 : 60;
	s->poll_ms = o->poll_ms > 0 ? o->poll_ms : 100;
	s->stale_ms = 20 * s->poll_ms > STALE_MIN_MS ? 20 * s->poll_ms : STALE_MIN_MS;
	s->cache_max = o->cache_max > 0 ? (size_t)o->cache_max : 1000000;
	s->prefill = o->prefill;
	s->clock_offset = jpki_now() - time(NULL);
	for (s->nbuckets = 1024; s->nbuckets < s->cache_max && s->nbuckets < ((size_t)1 << 22);)
		s->nbuckets <<= 1;
	if ((s->buckets = calloc(s->nbuckets, sizeof(*s->buckets))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if ((r = jpki_ca_open(o->ca_dir, &s->ca)) != 0)
		goto out;
	for (k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/%s/ca.key", o->ca_dir, sub[k]);
		if ((r = jpki_x509_load_privkey(path, &s->key[k])) != 0 ||
		    (r = jpki_ocsp_responder_new(jpki_ca_cert(s->ca, (jpki_ca_kind_t)k), s->key[k],
		                                 &s->resp[k])) != 0)
			goto out;
	}
	/* One store connection per HTTP thread, so misses never wait on each other. */
	s->pool_n = (o->threads > 0 ? o->threads : 2) + 1;
	if ((s->pool_all = calloc(s->pool_n, sizeof(*s->pool_all))) == NULL ||
	    (s->pool_free = calloc(s->pool_n, sizeof(*s->pool_free))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < s->pool_n; i++) {
		if ((r = jpki_ca_open(o->ca_dir, &s->pool_all[i])) != 0) {
			s->pool_n = i;
			goto out;
		}
		s->pool_free[s->pool_nfree++] = s->pool_all[i];
	}
	if ((r = jpki_store_event_seq(jpki_ca_store(s->ca), &seq)) != 0)
		goto out;
	atomic_store(&s->seq, seq);
	atomic_store(&s->last_poll_ms, mono_ms());
	if (pthread_create(&s->producer, NULL, producer_main, s) != 0) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	s->have_producer = 1;
	if (s->prefill != JPKI_PREFILL_NONE) {
		if ((r = jpki_ca_open(o->ca_dir, &s->prefill_ca)) != 0)
			goto out;
		atomic_store(&s->prefill_left, 1); /* until it has counted */
		if (pthread_create(&s->prefiller, NULL, prefill_main, s) != 0) {
			r = JPKI_ERR_NOMEM;
			goto out;
		}
		s->have_prefiller = 1;
	}
	*out = s;
	s = NULL;
	r = 0;
out:
	ocsp_svc_free(s);
	return r;
}
