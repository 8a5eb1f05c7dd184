/* The store: URI dispatch, SQLite file and schema, records, iterators,
 * counters, CRLs, transactions, and what a crash leaves behind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "jpki/error.h"
#include "jpki/store.h"

static char base[512];

#define T0 ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */

/* ---- fixtures ---- */

static void
mkdirs(const char *dir)
{
	char p[512];
	size_t i;

	snprintf(p, sizeof(p), "%s", dir);
	for (i = 1; p[i] != '\0'; i++) {
		if (p[i] == '/') {
			p[i] = '\0';
			(void)mkdir(p, 0755);
			p[i] = '/';
		}
	}
	(void)mkdir(p, 0755);
}

static int
group_setup(void **state)
{
	const char *t = getenv("JPKI_TEST_TMP");
	char tmpl[512];

	if (t == NULL || t[0] == '\0')
		t = "/tmp";
	mkdirs(t);
	snprintf(tmpl, sizeof(tmpl), "%s/test_store.XXXXXX", t);
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(base, sizeof(base), "%s", tmpl);
	return 0;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
group_teardown(void **state)
{
	return nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A path of its own for each test. */
static const char *
db_path(const char *name)
{
	static char p[600];

	snprintf(p, sizeof(p), "%s/%s.db", base, name);
	return p;
}

static jpki_store_t *
open_ok(const char *path)
{
	jpki_store_t *st = NULL;

	assert_int_equal(jpki_store_open(path, &st), 0);
	assert_non_null(st);
	return st;
}

/* Minimal big-endian bytes of n (n >= 1): a valid serial. */
static size_t
serial_of(uint64_t n, uint8_t *out)
{
	uint8_t tmp[8];
	size_t len = 0, i;

	while (n != 0) {
		tmp[len++] = (uint8_t)(n & 0xff);
		n >>= 8;
	}
	for (i = 0; i < len; i++)
		out[i] = tmp[len - 1 - i];
	return len;
}

static void
make_cert(jpki_cert_rec_t *rec, jpki_ca_kind_t ca, uint64_t n, int64_t partition)
{
	memset(rec, 0, sizeof(*rec));
	rec->ca = ca;
	rec->serial_len = serial_of(n, rec->serial);
	rec->not_before = T0;
	rec->not_after = T0 + 5 * 365 * 86400;
	rec->partition = partition;
	rec->status = JPKI_STATUS_GOOD;
	rec->reason = JPKI_REASON_NONE;
	snprintf(rec->subject_cn, sizeof(rec->subject_cn), "cn%llu", (unsigned long long)n);
}

static int
insert_n(jpki_store_t *st, jpki_ca_kind_t ca, uint64_t n, int64_t partition)
{
	jpki_cert_rec_t rec;

	make_cert(&rec, ca, n, partition);
	return jpki_store_cert_insert(st, &rec);
}

static int
set_status_n(jpki_store_t *st, jpki_ca_kind_t ca, uint64_t n, jpki_cert_status_t status,
             int reason, int64_t when, int64_t *seq)
{
	uint8_t s[8];
	size_t len = serial_of(n, s);

	return jpki_store_cert_set_status(st, ca, s, len, status, reason, when, seq);
}

/* Collects what an iterator hands out. */
struct seen {
	int n;
	uint64_t serial[64];
	jpki_cert_status_t status[64];
	int reason[64];
	int der_seen;
	int stop_at; /* return 7 at this call (1-based); 0: never */
};

static uint64_t
serial_value(const jpki_cert_rec_t *rec)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < rec->serial_len; i++)
		v = (v << 8) | rec->serial[i];
	return v;
}

static int
collect(void *ctx, const jpki_cert_rec_t *rec)
{
	struct seen *s = ctx;

	if (rec->der != NULL || rec->der_len != 0)
		s->der_seen = 1;
	if (s->n < 64) {
		s->serial[s->n] = serial_value(rec);
		s->status[s->n] = rec->status;
		s->reason[s->n] = rec->reason;
	}
	s->n++;
	return s->stop_at != 0 && s->n == s->stop_at ? 7 : 0;
}

static int
count_cb(void *ctx, const jpki_cert_rec_t *rec)
{
	(*(int64_t *)ctx)++;
	return 0;
}

static int
has_serial(const struct seen *s, uint64_t v)
{
	int i, k = 0;

	for (i = 0; i < s->n && i < 64; i++)
		k += s->serial[i] == v;
	return k;
}

/* Raw SQL on the file, behind the store's back. */
static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *p = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &p, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(p), SQLITE_ROW);
	v = sqlite3_column_int64(p, 0);
	sqlite3_finalize(p);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return v;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* ---- URI and file ---- */

static void
test_uri(void **state)
{
	jpki_store_t *st = (jpki_store_t *)&st; /* must be cleared on failure */
	char uri[700];

	assert_int_equal(jpki_store_open(NULL, &st), JPKI_ERR_INVALID_ARG);
	assert_null(st);
	assert_int_equal(jpki_store_open("", &st), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_open("sqlite:", &st), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_open("postgresql://user@localhost/jpki", &st), JPKI_ERR_CONFIG);
	assert_null(st);
	assert_int_equal(jpki_store_open("postgres://localhost/jpki", &st), JPKI_ERR_CONFIG);
	assert_int_equal(jpki_store_open("mysql://localhost/jpki", &st), JPKI_ERR_CONFIG);
	assert_null(st);

	snprintf(uri, sizeof(uri), "sqlite:%s", db_path("uri"));
	st = open_ok(uri);
	assert_int_equal(insert_n(st, JPKI_CA_SIGN, 1, 0), 0);
	jpki_store_close(st);
	/* The plain path names the same store. */
	st = open_ok(db_path("uri"));
	assert_int_equal(jpki_store_partitions(st, JPKI_CA_AUTH, NULL, NULL), JPKI_ERR_INVALID_ARG);
	{
		int e = 0;
		uint8_t s1 = 1;
		assert_int_equal(jpki_store_cert_exists(st, JPKI_CA_SIGN, &s1, 1, &e), 0);
		assert_int_equal(e, 1);
	}
	jpki_store_close(st);
	jpki_store_close(NULL);
}

static void
check_mode_0600(mode_t mask, const char *name)
{
	struct stat sb;
	mode_t old = umask(mask);
	jpki_store_t *st = NULL;
	char wal[700];
	const char *path = db_path(name);

	st = open_ok(path);
	umask(old);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	/* SQLite gives its WAL the mode of the database. */
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	jpki_store_close(st);
}

static void
test_file_mode(void **state)
{
	check_mode_0600(0, "mode_umask0");       /* not the 0644 a default open would give */
	check_mode_0600(0277, "mode_umask277");  /* not the 0400 the umask would leave */
	check_mode_0600(022, "mode_umask022");
}

static void
test_wal_and_schema(void **state)
{
	const char *path = db_path("schema");
	jpki_store_t *st = open_ok(path);
	int v = -1;

	assert_int_equal(jpki_store_schema_version(st, &v), 0);
	assert_true(v >= 1);
	assert_int_equal(raw_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"), v);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM meta WHERE key = 'schema_version'"), 1);
	assert_int_equal(raw_int(path, "PRAGMA application_id"), 0x4A504B49);
	jpki_store_close(st);
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *p = NULL;
		assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &p, NULL), 0);
		assert_int_equal(sqlite3_step(p), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(p, 0), "wal");
		sqlite3_finalize(p);
		sqlite3_close(db);
	}
	assert_int_equal(jpki_store_schema_version(NULL, &v), JPKI_ERR_INVALID_ARG);
}

/*
 * Reopening an up-to-date store only reads: it works while another
 * connection holds the write lock (a migration would wait and fail busy)
 * and keeps the data.
 */
static void
test_reopen_no_migration(void **state)
{
	const char *path = db_path("reopen");
	jpki_store_t *st = open_ok(path);
	sqlite3 *db = NULL;
	int v1 = 0, v2 = 0, e = 0;
	int64_t c = 0;
	uint8_t s1 = 1;
	time_t t;

	assert_int_equal(jpki_store_schema_version(st, &v1), 0);
	assert_int_equal(insert_n(st, JPKI_CA_SIGN, 1, 0), 0);
	assert_int_equal(jpki_store_counter_next(st, "x", &c), 0);
	jpki_store_close(st);

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE; INSERT INTO counters VALUES ('y', 5)",
	                              NULL, NULL, NULL), SQLITE_OK);
	t = time(NULL);
	st = open_ok(path);
	assert_true(time(NULL) - t < 3); /* not after the 5 s busy timeout */
	assert_int_equal(jpki_store_schema_version(st, &v2), 0);
	assert_int_equal(v1, v2);
	assert_int_equal(jpki_store_cert_exists(st, JPKI_CA_SIGN, &s1, 1, &e), 0);
	assert_int_equal(e, 1);
	assert_int_equal(jpki_store_counter_get(st, "x", &c), 0);
	assert_int_equal(c, 1);
	assert_int_equal(jpki_store_counter_get(st, "y", &c), 0);
	assert_int_equal(c, 0); /* not committed */
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(jpki_store_counter_get(st, "y", &c), 0);
	assert_int_equal(c, 5);
	jpki_store_close(st);
}

static void
test_future_version(void **state)
{
	const char *path = db_path("future");
	jpki_store_t *st = open_ok(path);
	int v = 0;
	char sql[128];

	assert_int_equal(jpki_store_schema_version(st, &v), 0);
	jpki_store_close(st);
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = %d WHERE key = 'schema_version'", v + 1);
	raw_exec(path, sql);
	st = (jpki_store_t *)&st;
	assert_int_equal(jpki_store_open(path, &st), JPKI_ERR_VERSION);
	assert_null(st);
	/* ... and it was left alone. */
	assert_int_equal(raw_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"), v + 1);
}

static void
test_not_a_store(void **state)
{
	char junk[8192], back[8192];
	const char *path = db_path("junk");
	jpki_store_t *st = (jpki_store_t *)&st;
	FILE *f;
	size_t i;
	int r;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)("this is not a database\n"[i % 23]);
	write_file(path, junk, sizeof(junk));
	r = jpki_store_open(path, &st);
	assert_int_equal(r, JPKI_ERR_FORMAT);
	assert_null(st);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(back, 1, sizeof(back), f), sizeof(back));
	fclose(f);
	assert_memory_equal(junk, back, sizeof(junk));

	/* A truncated SQLite header. */
	path = db_path("short");
	write_file(path, "SQLite format 3\0\x10", 18);
	assert_true(jpki_store_open(path, &st) < 0);
	assert_null(st);

	/* Somebody else's SQLite database. */
	path = db_path("foreign");
	{
		sqlite3 *db = NULL;
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "CREATE TABLE foo (x)", NULL, NULL, NULL), 0);
		sqlite3_close(db);
	}
	assert_int_equal(jpki_store_open(path, &st), JPKI_ERR_FORMAT);
	assert_null(st);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master"), 1);

	/* A directory, a FIFO, and a file in a directory that does not exist. */
	assert_int_equal(jpki_store_open(base, &st), JPKI_ERR_IO);
	path = db_path("fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(jpki_store_open(path, &st), JPKI_ERR_IO);
	{
		char p[700];
		snprintf(p, sizeof(p), "%s/no/such/dir.db", base);
		assert_int_equal(jpki_store_open(p, &st), JPKI_ERR_IO);
	}
	assert_null(st);
}

/* ---- certificates ---- */

static void
test_insert_get(void **state)
{
	jpki_store_t *st = open_ok(db_path("insert"));
	jpki_cert_rec_t rec, got;
	uint8_t der[300];
	size_t i;
	int e = -1;

	for (i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)(i * 7);
	make_cert(&rec, JPKI_CA_AUTH, 0xA1B2C3D4E5ULL, 42);
	snprintf(rec.subject_cn, sizeof(rec.subject_cn), "%s", "ＡＢＣ-0001");
	rec.der = der;
	rec.der_len = sizeof(der);
	assert_int_equal(jpki_store_cert_insert(st, &rec), 0);
	assert_true(rec.id > 0);

	memset(&got, 0xAA, sizeof(got)); /* overwritten, never freed */
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_AUTH, rec.serial, rec.serial_len, 1, &got),
	                 0);
	assert_int_equal(got.id, rec.id);
	assert_int_equal(got.ca, JPKI_CA_AUTH);
	assert_int_equal(got.serial_len, 5);
	assert_memory_equal(got.serial, rec.serial, 5);
	assert_int_equal(got.not_before, rec.not_before);
	assert_int_equal(got.not_after, rec.not_after);
	assert_int_equal(got.partition, 42);
	assert_int_equal(got.status, JPKI_STATUS_GOOD);
	assert_int_equal(got.reason, JPKI_REASON_NONE);
	assert_int_equal(got.status_time, 0);
	assert_string_equal(got.subject_cn, "ＡＢＣ-0001");
	assert_int_equal(got.der_len, sizeof(der));
	assert_memory_equal(got.der, der, sizeof(der));
	jpki_cert_rec_clear(&got);
	assert_null(got.der);
	jpki_cert_rec_clear(NULL);

	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_AUTH, rec.serial, rec.serial_len, 0, &got),
	                 0);
	assert_null(got.der);
	assert_int_equal(got.der_len, 0);
	assert_int_equal(got.id, rec.id);

	/* The other CA has its own serial space. */
	assert_int_equal(jpki_store_cert_exists(st, JPKI_CA_AUTH, rec.serial, rec.serial_len, &e), 0);
	assert_int_equal(e, 1);
	assert_int_equal(jpki_store_cert_exists(st, JPKI_CA_SIGN, rec.serial, rec.serial_len, &e), 0);
	assert_int_equal(e, 0);
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, rec.serial, rec.serial_len, 1, &got),
	                 JPKI_ERR_NOT_FOUND);
	assert_null(got.der);
	rec.ca = JPKI_CA_SIGN;
	rec.der = NULL;
	rec.der_len = 0;
	assert_int_equal(jpki_store_cert_insert(st, &rec), 0);
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, rec.serial, rec.serial_len, 1, &got),
	                 0);
	assert_null(got.der);

	/* 20-byte serials, the longest. */
	make_cert(&rec, JPKI_CA_SIGN, 1, 0);
	memset(rec.serial, 0xFF, JPKI_SERIAL_MAX);
	rec.serial_len = JPKI_SERIAL_MAX;
	assert_int_equal(jpki_store_cert_insert(st, &rec), 0);
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, rec.serial, JPKI_SERIAL_MAX, 0, &got),
	                 0);
	assert_int_equal(got.serial_len, JPKI_SERIAL_MAX);
	jpki_store_close(st);
}

static void
test_duplicate(void **state)
{
	jpki_store_t *st = open_ok(db_path("dup"));
	jpki_cert_rec_t rec, got;
	int64_t id, n = 0, seq = 0;

	make_cert(&rec, JPKI_CA_SIGN, 77, 3);
	assert_int_equal(jpki_store_cert_insert(st, &rec), 0);
	id = rec.id;
	make_cert(&rec, JPKI_CA_SIGN, 77, 9);
	rec.status = JPKI_STATUS_REVOKED;
	rec.reason = JPKI_REASON_KEY_COMPROMISE;
	rec.status_time = T0;
	snprintf(rec.subject_cn, sizeof(rec.subject_cn), "other");
	rec.id = 12345;
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_EXISTS);
	assert_int_equal(rec.id, 12345); /* set only on success */
	/* Nothing changed: the first record, no event, no new partition. */
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, rec.serial, rec.serial_len, 0, &got),
	                 0);
	assert_int_equal(got.id, id);
	assert_int_equal(got.partition, 3);
	assert_int_equal(got.status, JPKI_STATUS_GOOD);
	assert_string_equal(got.subject_cn, "cn77");
	assert_int_equal(jpki_store_event_seq(st, &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(jpki_store_partition_count(st, JPKI_CA_SIGN, 9, &n), 0);
	assert_int_equal(n, 0);

	/* Inside a transaction the duplicate is refused and the rest stays. */
	assert_int_equal(jpki_store_begin(st), 0);
	assert_int_equal(insert_n(st, JPKI_CA_SIGN, 78, 3), 0);
	assert_int_equal(insert_n(st, JPKI_CA_SIGN, 77, 3), JPKI_ERR_EXISTS);
	assert_int_equal(insert_n(st, JPKI_CA_SIGN, 79, 3), 0);
	assert_int_equal(jpki_store_commit(st), 0);
	assert_int_equal(jpki_store_partition_count(st, JPKI_CA_SIGN, 3, &n), 0);
	assert_int_equal(n, 3);
	jpki_store_close(st);
}

static void
test_bad_args(void **state)
{
	jpki_store_t *st = open_ok(db_path("badargs"));
	jpki_cert_rec_t rec, got;
	uint8_t lead0[2] = {0x00, 0x80}, big[JPKI_SERIAL_MAX + 1], ok1 = 5;
	int e = 0;
	int64_t v = 99;
	char longname[200];

	memset(big, 0x11, sizeof(big));
	make_cert(&rec, JPKI_CA_SIGN, 1, 0);
	rec.serial_len = 0;
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_INVALID_ARG);
	rec.serial_len = JPKI_SERIAL_MAX + 1;
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_INVALID_ARG);
	make_cert(&rec, JPKI_CA_SIGN, 1, 0);
	memcpy(rec.serial, lead0, 2);
	rec.serial_len = 2;
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_INVALID_ARG);
	make_cert(&rec, (jpki_ca_kind_t)2, 1, 0);
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_INVALID_ARG);
	make_cert(&rec, JPKI_CA_SIGN, 1, 0);
	rec.status = (jpki_cert_status_t)3;
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_INVALID_ARG);
	make_cert(&rec, JPKI_CA_SIGN, 1, 0);
	rec.reason = JPKI_REASON_KEY_COMPROMISE; /* a good certificate has no reason */
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_INVALID_ARG);
	make_cert(&rec, JPKI_CA_SIGN, 1, 0);
	rec.status = JPKI_STATUS_REVOKED;
	rec.reason = 7; /* unused in RFC 5280 */
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_INVALID_ARG);
	make_cert(&rec, JPKI_CA_SIGN, 1, 0);
	memset(rec.subject_cn, 'x', sizeof(rec.subject_cn)); /* no terminator */
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_INVALID_ARG);
	make_cert(&rec, JPKI_CA_SIGN, 1, 0);
	rec.der_len = 10; /* der NULL */
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_cert_insert(st, NULL), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_cert_insert(NULL, &rec), JPKI_ERR_INVALID_ARG);

	e = 5;
	assert_int_equal(jpki_store_cert_exists(st, JPKI_CA_SIGN, lead0, 2, &e), JPKI_ERR_INVALID_ARG);
	assert_int_equal(e, 0);
	assert_int_equal(jpki_store_cert_exists(st, JPKI_CA_SIGN, big, sizeof(big), &e),
	                 JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_cert_exists(st, JPKI_CA_SIGN, NULL, 1, &e), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_cert_exists(st, JPKI_CA_SIGN, &ok1, 0, &e), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, lead0, 2, 1, &got),
	                 JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_cert_set_status(st, JPKI_CA_SIGN, lead0, 2, JPKI_STATUS_REVOKED,
	                                            JPKI_REASON_KEY_COMPROMISE, T0, NULL),
	                 JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_cert_set_status(st, JPKI_CA_SIGN, &ok1, 1, JPKI_STATUS_GOOD,
	                                            JPKI_REASON_SUPERSEDED, T0, NULL),
	                 JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 0, NULL, NULL),
	                 JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_counter_next(st, "", &v), JPKI_ERR_INVALID_ARG);
	assert_int_equal(v, 0);
	assert_int_equal(jpki_store_counter_next(st, NULL, &v), JPKI_ERR_INVALID_ARG);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(jpki_store_counter_next(st, longname, &v), JPKI_ERR_INVALID_ARG);
	/* Nothing got in. */
	assert_int_equal(jpki_store_partition_count(st, JPKI_CA_SIGN, 0, &v), 0);
	assert_int_equal(v, 0);
	jpki_store_close(st);
}

/* ---- statuses, events, iterators, partitions ---- */

static void
test_status_and_iterators(void **state)
{
	jpki_store_t *st = open_ok(db_path("status"));
	jpki_cert_rec_t rec, got;
	struct seen s;
	int64_t seq = -1, seq2, n = 0, *parts = NULL, c;
	size_t np = 99;
	uint64_t i;
	uint8_t ser[8];
	size_t sl;

	/* Partition 0: 1..5, partition 1: 6..8, the other CA: 1..2 in partition 0. */
	for (i = 1; i <= 5; i++)
		assert_int_equal(insert_n(st, JPKI_CA_SIGN, i, 0), 0);
	for (i = 6; i <= 8; i++)
		assert_int_equal(insert_n(st, JPKI_CA_SIGN, i, 1), 0);
	for (i = 1; i <= 2; i++)
		assert_int_equal(insert_n(st, JPKI_CA_AUTH, i, 0), 0);
	assert_int_equal(jpki_store_event_seq(st, &seq), 0);
	assert_int_equal(seq, 0);

	assert_int_equal(set_status_n(st, JPKI_CA_SIGN, 1, JPKI_STATUS_REVOKED,
	                              JPKI_REASON_KEY_COMPROMISE, T0 + 10, &seq), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(set_status_n(st, JPKI_CA_SIGN, 2, JPKI_STATUS_HOLD,
	                              JPKI_REASON_CERTIFICATE_HOLD, T0 + 20, &seq), 0);
	assert_int_equal(seq, 2);
	assert_int_equal(set_status_n(st, JPKI_CA_SIGN, 6, JPKI_STATUS_REVOKED,
	                              JPKI_REASON_AFFILIATION_CHANGED, T0 + 30, &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(set_status_n(st, JPKI_CA_AUTH, 1, JPKI_STATUS_HOLD,
	                              JPKI_REASON_CERTIFICATE_HOLD, T0 + 40, NULL), 0);
	/* Released (auth certificate, L8): back to good, and an event. */
	assert_int_equal(set_status_n(st, JPKI_CA_SIGN, 2, JPKI_STATUS_GOOD, JPKI_REASON_NONE,
	                              T0 + 50, &seq), 0);
	assert_int_equal(seq, 5);
	/* Unknown serial: nothing recorded. */
	seq2 = 77;
	assert_int_equal(set_status_n(st, JPKI_CA_SIGN, 999, JPKI_STATUS_REVOKED,
	                              JPKI_REASON_KEY_COMPROMISE, T0, &seq2), JPKI_ERR_NOT_FOUND);
	assert_int_equal(seq2, 0);
	assert_int_equal(set_status_n(st, JPKI_CA_AUTH, 6, JPKI_STATUS_REVOKED,
	                              JPKI_REASON_KEY_COMPROMISE, T0, NULL), JPKI_ERR_NOT_FOUND);
	assert_int_equal(jpki_store_event_seq(st, &seq), 0);
	assert_int_equal(seq, 5);

	sl = serial_of(1, ser);
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, ser, sl, 0, &got), 0);
	assert_int_equal(got.status, JPKI_STATUS_REVOKED);
	assert_int_equal(got.reason, JPKI_REASON_KEY_COMPROMISE);
	assert_int_equal(got.status_time, T0 + 10);
	sl = serial_of(2, ser);
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, ser, sl, 0, &got), 0);
	assert_int_equal(got.status, JPKI_STATUS_GOOD);
	assert_int_equal(got.reason, JPKI_REASON_NONE);
	assert_int_equal(got.status_time, 0);

	/* Full CRL of partition 0: only 1 (2 was released). */
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 0, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.serial[0], 1);
	assert_int_equal(s.reason[0], JPKI_REASON_KEY_COMPROMISE);
	assert_int_equal(s.der_seen, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 1, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.serial[0], 6);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_AUTH, 0, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.status[0], JPKI_STATUS_HOLD);

	/* Delta of partition 0 since 0: 1 and 2 once each (2 with two events),
	 * 2 with its current status GOOD (removeFromCRL for the encoder). */
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_changed(st, JPKI_CA_SIGN, 0, 0, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(has_serial(&s, 1), 1);
	assert_int_equal(has_serial(&s, 2), 1);
	for (i = 0; i < 2; i++)
		if (s.serial[i] == 2)
			assert_int_equal(s.status[i], JPKI_STATUS_GOOD);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_changed(st, JPKI_CA_SIGN, 0, 1, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.serial[0], 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_changed(st, JPKI_CA_SIGN, 0, 5, collect, &s), 0);
	assert_int_equal(s.n, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_changed(st, JPKI_CA_SIGN, 1, 0, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.serial[0], 6);
	assert_int_equal(s.der_seen, 0);

	/* A certificate inserted already revoked is listed and is an event. */
	make_cert(&rec, JPKI_CA_SIGN, 9, 0);
	rec.status = JPKI_STATUS_REVOKED;
	rec.reason = JPKI_REASON_SUPERSEDED;
	rec.status_time = T0 + 60;
	assert_int_equal(jpki_store_cert_insert(st, &rec), 0);
	assert_int_equal(jpki_store_event_seq(st, &seq), 0);
	assert_int_equal(seq, 6);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_changed(st, JPKI_CA_SIGN, 0, 5, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.serial[0], 9);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 0, collect, &s), 0);
	assert_int_equal(s.n, 2);

	/* All certificates, in insertion order; a callback's value stops it. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_cert(st, JPKI_CA_SIGN, collect, &s), 0);
	assert_int_equal(s.n, 9);
	for (i = 0; i < 9; i++)
		assert_int_equal(s.serial[i], i + 1);
	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	assert_int_equal(jpki_store_foreach_cert(st, JPKI_CA_SIGN, collect, &s), 7);
	assert_int_equal(s.n, 3);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 0, collect, &s), 7);
	/* The statement was reset: the next run is complete. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 0, collect, &s), 0);
	assert_int_equal(s.n, 2);

	/* Partitions. */
	assert_int_equal(jpki_store_partitions(st, JPKI_CA_SIGN, &parts, &np), 0);
	assert_int_equal(np, 2);
	assert_int_equal(parts[0], 0);
	assert_int_equal(parts[1], 1);
	free(parts);
	assert_int_equal(insert_n(st, JPKI_CA_AUTH, 50, -3), 0);
	assert_int_equal(insert_n(st, JPKI_CA_AUTH, 51, 100), 0);
	assert_int_equal(jpki_store_partitions(st, JPKI_CA_AUTH, &parts, &np), 0);
	assert_int_equal(np, 3);
	assert_int_equal(parts[0], -3);
	assert_int_equal(parts[1], 0);
	assert_int_equal(parts[2], 100);
	free(parts);
	assert_int_equal(jpki_store_partition_count(st, JPKI_CA_SIGN, 0, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(jpki_store_partition_count(st, JPKI_CA_SIGN, 1, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(jpki_store_partition_count(st, JPKI_CA_SIGN, 2, &n), 0);
	assert_int_equal(n, 0);
	c = 0;
	assert_int_equal(jpki_store_foreach_cert(st, JPKI_CA_AUTH, count_cb, &c), 0);
	assert_int_equal(c, 4);
	jpki_store_close(st);

	/* An empty store. */
	st = open_ok(db_path("status_empty"));
	parts = (int64_t *)&np;
	assert_int_equal(jpki_store_partitions(st, JPKI_CA_SIGN, &parts, &np), 0);
	assert_int_equal(np, 0);
	assert_null(parts);
	jpki_store_close(st);
}

/* Callbacks may call back into the store, even the same iterator. */
struct nest {
	jpki_store_t *st;
	int outer, inner, got;
};

static int
nest_inner(void *ctx, const jpki_cert_rec_t *rec)
{
	((struct nest *)ctx)->inner++;
	return 0;
}

static int
nest_outer(void *ctx, const jpki_cert_rec_t *rec)
{
	struct nest *n = ctx;
	jpki_cert_rec_t got;
	int r;

	n->outer++;
	if ((r = jpki_store_foreach_listed(n->st, rec->ca, rec->partition, nest_inner, n)) != 0)
		return r;
	if ((r = jpki_store_cert_get(n->st, rec->ca, rec->serial, rec->serial_len, 1, &got)) != 0)
		return r;
	n->got += got.id == rec->id;
	jpki_cert_rec_clear(&got);
	return 0;
}

static void
test_reentrant_callbacks(void **state)
{
	jpki_store_t *st = open_ok(db_path("nest"));
	struct nest n = {st, 0, 0, 0};
	uint64_t i;

	for (i = 1; i <= 3; i++) {
		assert_int_equal(insert_n(st, JPKI_CA_SIGN, i, 0), 0);
		assert_int_equal(set_status_n(st, JPKI_CA_SIGN, i, JPKI_STATUS_REVOKED,
		                              JPKI_REASON_CESSATION, T0, NULL), 0);
	}
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 0, nest_outer, &n), 0);
	assert_int_equal(n.outer, 3);
	assert_int_equal(n.inner, 9);
	assert_int_equal(n.got, 3);
	jpki_store_close(st);
}

/* ---- counters and CRLs ---- */

static void
test_counters(void **state)
{
	const char *path = db_path("counters");
	jpki_store_t *st = open_ok(path);
	int64_t v = -1;
	int i;

	assert_int_equal(jpki_store_counter_get(st, "crl_number.sign", &v), 0);
	assert_int_equal(v, 0);
	for (i = 1; i <= 5; i++) {
		assert_int_equal(jpki_store_counter_next(st, "crl_number.sign", &v), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(jpki_store_counter_next(st, "crl_number.auth", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(jpki_store_counter_get(st, "crl_number.sign", &v), 0);
	assert_int_equal(v, 5);
	/* A floor lifts the sequence above it; below the counter it changes nothing. */
	assert_int_equal(jpki_store_counter_next_above(st, "floor", 41, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(jpki_store_counter_next_above(st, "floor", 10, &v), 0);
	assert_int_equal(v, 43);
	assert_int_equal(jpki_store_counter_next_above(st, "floor", 43, &v), 0);
	assert_int_equal(v, 44);
	assert_int_equal(jpki_store_counter_next_above(st, "floor", 99, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(jpki_store_counter_next(st, "floor", &v), 0);
	assert_int_equal(v, 101);
	assert_int_equal(jpki_store_counter_next_above(st, "floor", -1, &v), JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_counter_next_above(st, "floor", INT64_MAX, &v),
	                 JPKI_ERR_INVALID_ARG);
	assert_int_equal(jpki_store_counter_get(st, "floor", &v), 0);
	assert_int_equal(v, 101);
	assert_int_equal(jpki_store_counter_get(st, "crl_number.auth", &v), 0);
	assert_int_equal(v, 1);
	jpki_store_close(st);
	st = open_ok(path);
	assert_int_equal(jpki_store_counter_next(st, "crl_number.sign", &v), 0);
	assert_int_equal(v, 6);
	/* A rolled-back increment is not seen, and not skipped either. */
	assert_int_equal(jpki_store_begin(st), 0);
	assert_int_equal(jpki_store_counter_next(st, "crl_number.sign", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(jpki_store_rollback(st), 0);
	assert_int_equal(jpki_store_counter_get(st, "crl_number.sign", &v), 0);
	assert_int_equal(v, 6);
	jpki_store_close(st);
}

static void
test_crls(void **state)
{
	jpki_store_t *st = open_ok(db_path("crls"));
	jpki_crl_rec_t rec, got;
	uint8_t der1[] = {0x30, 0x01, 0x01}, der2[] = {0x30, 0x02, 0x02, 0x02},
	        der3[] = {0x30, 0x03, 0x03, 0x03, 0x03};

	memset(&got, 0x55, sizeof(got));
	assert_int_equal(jpki_store_crl_latest(st, JPKI_CA_SIGN, 0, 0, 1, &got), JPKI_ERR_NOT_FOUND);
	assert_null(got.der);

	memset(&rec, 0, sizeof(rec));
	rec.ca = JPKI_CA_SIGN;
	rec.partition = 0;
	rec.number = 1;
	rec.event_seq = 10;
	rec.this_update = T0;
	rec.next_update = T0 + 86400;
	rec.der = der1;
	rec.der_len = sizeof(der1);
	assert_int_equal(jpki_store_crl_save(st, &rec), 0);
	rec.number = 2;
	rec.is_delta = 1;
	rec.base_number = 1;
	rec.event_seq = 12;
	rec.this_update = T0 + 3600;
	rec.der = der2;
	rec.der_len = sizeof(der2);
	assert_int_equal(jpki_store_crl_save(st, &rec), 0);
	rec.number = 4;
	rec.is_delta = 0;
	rec.base_number = 0;
	rec.event_seq = 20;
	rec.der = der3;
	rec.der_len = sizeof(der3);
	assert_int_equal(jpki_store_crl_save(st, &rec), 0);
	/* Saved out of order: the highest number still wins. */
	rec.number = 3;
	rec.der = der1;
	rec.der_len = sizeof(der1);
	assert_int_equal(jpki_store_crl_save(st, &rec), 0);
	/* The same number twice for one kind is refused. */
	assert_int_equal(jpki_store_crl_save(st, &rec), JPKI_ERR_EXISTS);
	/* A full and a delta issued together may share the number (RFC 5280 5.2.3). */
	rec.is_delta = 1;
	rec.base_number = 3;
	rec.number = 4;
	rec.der = der2;
	rec.der_len = sizeof(der2);
	rec.event_seq = 20;
	rec.this_update = T0 + 7200;
	assert_int_equal(jpki_store_crl_save(st, &rec), 0);

	assert_int_equal(jpki_store_crl_latest(st, JPKI_CA_SIGN, 0, 0, 1, &got), 0);
	assert_int_equal(got.number, 4);
	assert_int_equal(got.is_delta, 0);
	assert_int_equal(got.event_seq, 20);
	assert_int_equal(got.next_update, T0 + 86400);
	assert_int_equal(got.der_len, sizeof(der3));
	assert_memory_equal(got.der, der3, sizeof(der3));
	jpki_crl_rec_clear(&got);
	assert_null(got.der);
	jpki_crl_rec_clear(NULL);

	assert_int_equal(jpki_store_crl_latest(st, JPKI_CA_SIGN, 0, 1, 0, &got), 0);
	assert_int_equal(got.number, 4);
	assert_int_equal(got.is_delta, 1);
	assert_int_equal(got.base_number, 3);
	assert_int_equal(got.this_update, T0 + 7200);
	assert_null(got.der);
	assert_int_equal(got.der_len, 0);

	assert_int_equal(jpki_store_crl_latest(st, JPKI_CA_SIGN, 1, 0, 1, &got), JPKI_ERR_NOT_FOUND);
	assert_int_equal(jpki_store_crl_latest(st, JPKI_CA_AUTH, 0, 0, 1, &got), JPKI_ERR_NOT_FOUND);

	rec.der = NULL;
	rec.der_len = 5;
	assert_int_equal(jpki_store_crl_save(st, &rec), JPKI_ERR_INVALID_ARG);
	rec.der_len = 0;
	rec.number = -1;
	assert_int_equal(jpki_store_crl_save(st, &rec), JPKI_ERR_INVALID_ARG);
	jpki_store_close(st);
}

/* ---- transactions ---- */

struct snapshot {
	int64_t certs_sign, certs_auth, listed, changed, seq, counter, crl_number;
};

static void
take_snapshot(jpki_store_t *st, struct snapshot *s)
{
	jpki_crl_rec_t crl;
	int r;

	memset(s, 0, sizeof(*s));
	assert_int_equal(jpki_store_foreach_cert(st, JPKI_CA_SIGN, count_cb, &s->certs_sign), 0);
	assert_int_equal(jpki_store_foreach_cert(st, JPKI_CA_AUTH, count_cb, &s->certs_auth), 0);
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 0, count_cb, &s->listed), 0);
	assert_int_equal(jpki_store_foreach_changed(st, JPKI_CA_SIGN, 0, 0, count_cb, &s->changed),
	                 0);
	assert_int_equal(jpki_store_event_seq(st, &s->seq), 0);
	assert_int_equal(jpki_store_counter_get(st, "c", &s->counter), 0);
	r = jpki_store_crl_latest(st, JPKI_CA_SIGN, 0, 0, 0, &crl);
	assert_true(r == 0 || r == JPKI_ERR_NOT_FOUND);
	s->crl_number = r == 0 ? crl.number : -1;
}

static void
assert_same(const struct snapshot *a, const struct snapshot *b)
{
	assert_int_equal(a->certs_sign, b->certs_sign);
	assert_int_equal(a->certs_auth, b->certs_auth);
	assert_int_equal(a->listed, b->listed);
	assert_int_equal(a->changed, b->changed);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->counter, b->counter);
	assert_int_equal(a->crl_number, b->crl_number);
}

/* Some of everything, for the transaction and crash tests (returns 0 or an error). */
static int
do_work(jpki_store_t *st, uint64_t first, int n)
{
	jpki_crl_rec_t crl;
	int64_t v;
	int i, r;

	for (i = 0; i < n; i++)
		if ((r = insert_n(st, JPKI_CA_SIGN, first + (uint64_t)i, 0)) != 0)
			return r;
	for (i = 0; i < n; i += 2)
		if ((r = set_status_n(st, JPKI_CA_SIGN, first + (uint64_t)i, JPKI_STATUS_REVOKED,
		                      JPKI_REASON_KEY_COMPROMISE, T0 + i, NULL)) != 0)
			return r;
	/* and a change to a certificate that was there before */
	if ((r = set_status_n(st, JPKI_CA_SIGN, 2, JPKI_STATUS_HOLD, JPKI_REASON_CERTIFICATE_HOLD,
	                      T0, NULL)) != 0)
		return r;
	if ((r = insert_n(st, JPKI_CA_AUTH, first, 0)) != 0)
		return r;
	if ((r = jpki_store_counter_next(st, "c", &v)) != 0)
		return r;
	memset(&crl, 0, sizeof(crl));
	crl.ca = JPKI_CA_SIGN;
	crl.number = (int64_t)first;
	crl.event_seq = 1;
	return jpki_store_crl_save(st, &crl);
}

/* The state the transaction and crash tests start from. */
static jpki_store_t *
seeded(const char *path)
{
	jpki_store_t *st = open_ok(path);

	assert_int_equal(do_work(st, 1, 4), 0);
	return st;
}

static void
test_rollback(void **state)
{
	const char *path = db_path("rollback");
	jpki_store_t *st = seeded(path), *other;
	struct snapshot before, after, seen;

	take_snapshot(st, &before);
	assert_int_equal(jpki_store_commit(st), JPKI_ERR_STATE);
	assert_int_equal(jpki_store_rollback(st), JPKI_ERR_STATE);
	assert_int_equal(jpki_store_begin(st), 0);
	assert_int_equal(jpki_store_begin(st), JPKI_ERR_STATE); /* no nesting */
	assert_int_equal(do_work(st, 1000, 20), 0);
	take_snapshot(st, &after);
	assert_int_equal(after.certs_sign, before.certs_sign + 20); /* we see our own work */
	/* Another handle does not, until commit. */
	other = open_ok(path);
	take_snapshot(other, &seen);
	assert_same(&before, &seen);
	assert_int_equal(jpki_store_rollback(st), 0);
	take_snapshot(st, &after);
	assert_same(&before, &after);

	/* Commit makes it visible to everyone. */
	assert_int_equal(jpki_store_begin(st), 0);
	assert_int_equal(do_work(st, 2000, 3), 0);
	assert_int_equal(jpki_store_commit(st), 0);
	take_snapshot(other, &seen);
	assert_int_equal(seen.certs_sign, before.certs_sign + 3);
	assert_int_equal(seen.counter, before.counter + 1);
	jpki_store_close(other);

	/* Closing with a transaction open rolls it back. */
	take_snapshot(st, &before);
	assert_int_equal(jpki_store_begin(st), 0);
	assert_int_equal(do_work(st, 3000, 5), 0);
	jpki_store_close(st);
	st = open_ok(path);
	take_snapshot(st, &after);
	assert_same(&before, &after);
	jpki_store_close(st);
}

/*
 * A call that fails half-way (its certificate row written, its event refused
 * by a trigger planted behind the store's back) leaves nothing: alone, its own
 * transaction is rolled back; inside the caller's, the caller's is, and the
 * store refuses to go on in it.
 */
static void
test_half_done_call(void **state)
{
	const char *path = db_path("halfdone");
	jpki_store_t *st = seeded(path);
	struct snapshot before, after;
	jpki_cert_rec_t rec, got;
	int64_t v, seq = 5;

	jpki_store_close(st);
	raw_exec(path, "CREATE TRIGGER boom BEFORE INSERT ON status_events"
	               " WHEN NEW.reason = 5 BEGIN SELECT RAISE(ABORT, 'boom'); END");
	st = open_ok(path);
	take_snapshot(st, &before);

	make_cert(&rec, JPKI_CA_SIGN, 900, 0);
	rec.status = JPKI_STATUS_REVOKED;
	rec.reason = JPKI_REASON_CESSATION;
	rec.status_time = T0;
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_STORE);
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, rec.serial, rec.serial_len, 0, &got),
	                 JPKI_ERR_NOT_FOUND);
	assert_int_equal(set_status_n(st, JPKI_CA_SIGN, 3, JPKI_STATUS_REVOKED,
	                              JPKI_REASON_CESSATION, T0, &seq), JPKI_ERR_STORE);
	assert_int_equal(seq, 0);
	take_snapshot(st, &after);
	assert_same(&before, &after);

	assert_int_equal(jpki_store_begin(st), 0);
	assert_int_equal(insert_n(st, JPKI_CA_SIGN, 901, 0), 0);
	assert_int_equal(jpki_store_counter_next(st, "c", &v), 0);
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_STORE);
	assert_int_equal(insert_n(st, JPKI_CA_SIGN, 902, 0), JPKI_ERR_STATE);
	assert_int_equal(jpki_store_counter_get(st, "c", &v), JPKI_ERR_STATE);
	assert_int_equal(jpki_store_begin(st), JPKI_ERR_STATE);
	assert_int_equal(jpki_store_commit(st), JPKI_ERR_STATE);
	/* The transaction is over; everything in it is gone. */
	assert_int_equal(jpki_store_rollback(st), JPKI_ERR_STATE);
	take_snapshot(st, &after);
	assert_same(&before, &after);

	/* Same again, ended by rollback this time; then the store goes on. */
	assert_int_equal(jpki_store_begin(st), 0);
	assert_int_equal(insert_n(st, JPKI_CA_SIGN, 903, 0), 0);
	assert_int_equal(set_status_n(st, JPKI_CA_SIGN, 903, JPKI_STATUS_REVOKED,
	                              JPKI_REASON_CESSATION, T0, NULL), JPKI_ERR_STORE);
	assert_int_equal(jpki_store_rollback(st), 0);
	take_snapshot(st, &after);
	assert_same(&before, &after);
	assert_int_equal(insert_n(st, JPKI_CA_SIGN, 904, 0), 0);
	jpki_store_close(st);
}

/* ---- crashes ---- */

enum crash_how { CRASH_EXIT, CRASH_KILL };

/*
 * A child opens the store, begins, works, tells the parent, and dies without
 * commit: by _exit(1) itself, or killed by the parent (SIGKILL) while it
 * waits.  The parent finds the store as it was, and writable.
 */
static void
crash_uncommitted(const char *name, enum crash_how how)
{
	const char *path = db_path(name);
	jpki_store_t *st = seeded(path), *other;
	struct snapshot before, after, during;
	int fds[2], status;
	pid_t pid;
	char c = 0;

	take_snapshot(st, &before);
	jpki_store_close(st);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		if (jpki_store_open(path, &st) != 0 || jpki_store_begin(st) != 0 ||
		    do_work(st, 5000, 300) != 0)
			_exit(2);
		if (write(fds[1], "w", 1) != 1)
			_exit(3);
		if (how == CRASH_EXIT)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 'w');
	if (how == CRASH_KILL) {
		/* While the child holds its transaction, others see the old state. */
		other = open_ok(path);
		take_snapshot(other, &during);
		assert_same(&before, &during);
		jpki_store_close(other);
		assert_int_equal(kill(pid, SIGKILL), 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (how == CRASH_KILL)
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	else
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	close(fds[0]);

	st = open_ok(path);
	take_snapshot(st, &after);
	assert_same(&before, &after);
	/* The lock died with the child. */
	assert_int_equal(do_work(st, 5000, 3), 0);
	jpki_store_close(st);
}

static void
test_crash_exit_in_transaction(void **state)
{
	crash_uncommitted("crash_exit", CRASH_EXIT);
}

static void
test_crash_kill_in_transaction(void **state)
{
	crash_uncommitted("crash_kill", CRASH_KILL);
}

/* Killed between two committed calls: the first stays, whole. */
static void
test_crash_between_calls(void **state)
{
	const char *path = db_path("crash_between");
	jpki_store_t *st = seeded(path);
	jpki_cert_rec_t got;
	struct snapshot before, after;
	int fds[2], status, e = 1;
	pid_t pid;
	char c = 0;
	uint8_t ser[8];
	size_t sl;

	take_snapshot(st, &before);
	jpki_store_close(st);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		jpki_cert_rec_t rec;

		close(fds[0]);
		if (jpki_store_open(path, &st) != 0)
			_exit(2);
		make_cert(&rec, JPKI_CA_SIGN, 7000, 0);
		rec.status = JPKI_STATUS_REVOKED;
		rec.reason = JPKI_REASON_CESSATION;
		rec.status_time = T0;
		if (jpki_store_cert_insert(st, &rec) != 0)
			_exit(2);
		if (write(fds[1], "1", 1) != 1)
			_exit(3);
		for (;;)
			pause();
		/* never: insert_n(st, JPKI_CA_SIGN, 7001, 0) */
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(fds[0]);

	st = open_ok(path);
	sl = serial_of(7000, ser);
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, ser, sl, 0, &got), 0);
	assert_int_equal(got.status, JPKI_STATUS_REVOKED);
	sl = serial_of(7001, ser);
	assert_int_equal(jpki_store_cert_exists(st, JPKI_CA_SIGN, ser, sl, &e), 0);
	assert_int_equal(e, 0);
	take_snapshot(st, &after);
	assert_int_equal(after.certs_sign, before.certs_sign + 1);
	assert_int_equal(after.listed, before.listed + 1);
	assert_int_equal(after.seq, before.seq + 1); /* the insert's event came with it */
	jpki_store_close(st);
}

/*
 * A child commits one revoked certificate per call, reporting each; the
 * parent kills it at an arbitrary moment.  Every reported call is there,
 * at most one more, and never a certificate without its event.
 */
static void
test_crash_during_commits(void **state)
{
	const char *path = db_path("crash_loop");
	jpki_store_t *st = open_ok(path);
	struct snapshot after;
	int fds[2], status;
	pid_t pid;
	char buf[64];
	ssize_t k;
	int64_t reported = 0;

	jpki_store_close(st);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		jpki_cert_rec_t rec;
		uint64_t i;

		close(fds[0]);
		if (jpki_store_open(path, &st) != 0)
			_exit(2);
		for (i = 1;; i++) {
			make_cert(&rec, JPKI_CA_SIGN, i, 0);
			rec.status = JPKI_STATUS_REVOKED;
			rec.reason = JPKI_REASON_KEY_COMPROMISE;
			rec.status_time = T0;
			if (jpki_store_cert_insert(st, &rec) != 0)
				_exit(2);
			if (write(fds[1], "+", 1) != 1)
				_exit(3);
		}
	}
	close(fds[1]);
	while (reported < 50 && (k = read(fds[0], buf, sizeof(buf))) > 0)
		reported += k;
	assert_int_equal(kill(pid, SIGKILL), 0);
	/* Whatever was written before the kill counts as reported. */
	while ((k = read(fds[0], buf, sizeof(buf))) > 0)
		reported += k;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(fds[0]);

	st = open_ok(path);
	take_snapshot(st, &after);
	assert_true(after.certs_sign >= reported);
	assert_true(after.certs_sign <= reported + 1);
	assert_int_equal(after.listed, after.certs_sign);
	assert_int_equal(after.changed, after.certs_sign);
	assert_int_equal(after.seq, after.certs_sign);
	jpki_store_close(st);
}

/* ---- what the iterators fill; DER in its own table ---- */

struct fields {
	int n, bad;
	int64_t id;
};

/* Listed and changed: id, ca, serial, partition, status, reason, status_time;
 * the rest zero (store.h). */
static int
check_entry_fields(void *ctx, const jpki_cert_rec_t *rec)
{
	struct fields *f = ctx;

	f->n++;
	f->bad += rec->id != f->id || rec->ca != JPKI_CA_AUTH || rec->partition != 7 ||
	          rec->serial_len != 2 || rec->serial[0] != 0x12 || rec->serial[1] != 0x34 ||
	          rec->status != JPKI_STATUS_HOLD || rec->reason != JPKI_REASON_CERTIFICATE_HOLD ||
	          rec->status_time != T0 + 5;
	f->bad += rec->not_before != 0 || rec->not_after != 0 || rec->subject_cn[0] != '\0' ||
	          rec->der != NULL || rec->der_len != 0;
	return 0;
}

/* foreach_cert: everything but der. */
static int
check_cert_fields(void *ctx, const jpki_cert_rec_t *rec)
{
	struct fields *f = ctx;

	f->n++;
	f->bad += rec->id != f->id || rec->partition != 7 || rec->status != JPKI_STATUS_HOLD ||
	          rec->status_time != T0 + 5 || rec->not_before != T0 ||
	          rec->not_after != T0 + 5 * 365 * 86400 || strcmp(rec->subject_cn, "cn4660") != 0;
	f->bad += rec->der != NULL || rec->der_len != 0;
	return 0;
}

static void
test_iterator_fields(void **state)
{
	const char *path = db_path("fields");
	jpki_store_t *st = open_ok(path);
	jpki_cert_rec_t rec, got;
	struct fields f;
	uint8_t der[5000]; /* more than a page: overflow pages in cert_der */
	size_t i;

	for (i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)(i * 13 + 1);
	make_cert(&rec, JPKI_CA_AUTH, 0x1234, 7);
	rec.der = der;
	rec.der_len = sizeof(der);
	assert_int_equal(jpki_store_cert_insert(st, &rec), 0);
	assert_int_equal(set_status_n(st, JPKI_CA_AUTH, 0x1234, JPKI_STATUS_HOLD,
	                              JPKI_REASON_CERTIFICATE_HOLD, T0 + 5, NULL), 0);

	memset(&f, 0, sizeof(f));
	f.id = rec.id;
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_AUTH, 7, check_entry_fields, &f), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.bad, 0);
	memset(&f, 0, sizeof(f));
	f.id = rec.id;
	assert_int_equal(jpki_store_foreach_changed(st, JPKI_CA_AUTH, 7, 0, check_entry_fields, &f),
	                 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.bad, 0);
	memset(&f, 0, sizeof(f));
	f.id = rec.id;
	assert_int_equal(jpki_store_foreach_cert(st, JPKI_CA_AUTH, check_cert_fields, &f), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.bad, 0);

	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_AUTH, rec.serial, rec.serial_len, 1, &got),
	                 0);
	assert_int_equal(got.der_len, sizeof(der));
	assert_memory_equal(got.der, der, sizeof(der));
	jpki_cert_rec_clear(&got);
	jpki_store_close(st);

	/* The DER lives in cert_der, one row per certificate that has one; the
	 * certificate rows hold none. */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM pragma_table_info('certs')"
	                               " WHERE name = 'der'"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM cert_der"), 1);
	assert_int_equal(raw_int(path, "SELECT length(der) FROM cert_der"), (int64_t)sizeof(der));
	/* The full CRL query of sqlite.c (S_LISTED) is answered from certs_listed
	 * alone: this checks the index still covers what the query asks. */
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *p = NULL;
		int covering = 0;

		assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db,
		                                    "EXPLAIN QUERY PLAN SELECT id, ca, serial, partition,"
		                                    " status, reason, status_time FROM certs"
		                                    " WHERE ca = ?1 AND partition = ?2 AND status != 0",
		                                    -1, &p, NULL), SQLITE_OK);
		while (sqlite3_step(p) == SQLITE_ROW)
			covering += strstr((const char *)sqlite3_column_text(p, 3),
			                   "USING COVERING INDEX certs_listed") != NULL;
		sqlite3_finalize(p);
		sqlite3_close(db);
		assert_int_equal(covering, 1);
	}
}

/*
 * An insert whose DER row is refused (a trigger planted behind the store's
 * back) has already written its certificate row: a half-done call, with the
 * same outcome as the others (see test_half_done_call).
 */
static void
test_half_done_der(void **state)
{
	const char *path = db_path("halfdone_der");
	jpki_store_t *st = seeded(path);
	struct snapshot before, after;
	jpki_cert_rec_t rec, got;
	uint8_t der13[13] = {0x30, 11}, der14[14] = {0x30, 12};
	int e = 1;

	jpki_store_close(st);
	raw_exec(path, "CREATE TRIGGER boom BEFORE INSERT ON cert_der"
	               " WHEN length(NEW.der) = 13 BEGIN SELECT RAISE(ABORT, 'boom'); END");
	st = open_ok(path);
	take_snapshot(st, &before);

	make_cert(&rec, JPKI_CA_SIGN, 800, 0);
	rec.der = der13;
	rec.der_len = sizeof(der13);
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_STORE);
	assert_int_equal(jpki_store_cert_exists(st, JPKI_CA_SIGN, rec.serial, rec.serial_len, &e), 0);
	assert_int_equal(e, 0);
	take_snapshot(st, &after);
	assert_same(&before, &after);

	assert_int_equal(jpki_store_begin(st), 0);
	make_cert(&rec, JPKI_CA_SIGN, 801, 0);
	rec.der = der14;
	rec.der_len = sizeof(der14);
	assert_int_equal(jpki_store_cert_insert(st, &rec), 0);
	make_cert(&rec, JPKI_CA_SIGN, 800, 0);
	rec.der = der13;
	rec.der_len = sizeof(der13);
	assert_int_equal(jpki_store_cert_insert(st, &rec), JPKI_ERR_STORE);
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, rec.serial, rec.serial_len, 0, &got),
	                 JPKI_ERR_STATE);
	assert_int_equal(jpki_store_commit(st), JPKI_ERR_STATE);
	take_snapshot(st, &after);
	assert_same(&before, &after); /* 801 went with the transaction */

	/* A DER of another length gets in, and the store goes on. */
	make_cert(&rec, JPKI_CA_SIGN, 802, 0);
	rec.der = der14;
	rec.der_len = sizeof(der14);
	assert_int_equal(jpki_store_cert_insert(st, &rec), 0);
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, rec.serial, rec.serial_len, 1, &got),
	                 0);
	assert_int_equal(got.der_len, sizeof(der14));
	assert_memory_equal(got.der, der14, sizeof(der14));
	jpki_cert_rec_clear(&got);
	jpki_store_close(st);
}

/* Callbacks may change the store too (store.h). */
struct changer {
	jpki_store_t *st;
	int calls, r;
};

static int
change_cb(void *ctx, const jpki_cert_rec_t *rec)
{
	struct changer *c = ctx;
	int64_t v;

	if (c->calls++ != 0)
		return 0;
	if ((c->r = set_status_n(c->st, JPKI_CA_SIGN, 5, JPKI_STATUS_REVOKED,
	                         JPKI_REASON_SUPERSEDED, T0, NULL)) != 0 ||
	    (c->r = jpki_store_counter_next(c->st, "cb", &v)) != 0 ||
	    (c->r = insert_n(c->st, JPKI_CA_SIGN, 100 + (uint64_t)v, 0)) != 0)
		return c->r;
	return 0;
}

static void
test_callback_changes(void **state)
{
	jpki_store_t *st = open_ok(db_path("cbchange"));
	struct changer c = {st, 0, 0};
	struct seen s;
	uint64_t i;
	int64_t v = 0;
	int e = 0;
	uint8_t ser[8];
	size_t sl;

	for (i = 1; i <= 6; i++)
		assert_int_equal(insert_n(st, JPKI_CA_SIGN, i, 0), 0);
	for (i = 1; i <= 4; i++)
		assert_int_equal(set_status_n(st, JPKI_CA_SIGN, i, JPKI_STATUS_REVOKED,
		                              JPKI_REASON_CESSATION, T0, NULL), 0);
	/* Each change in its own transaction, while the iteration reads. */
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 0, change_cb, &c), 0);
	assert_int_equal(c.r, 0);
	assert_true(c.calls == 4 || c.calls == 5); /* 5 may or may not be seen */
	assert_int_equal(jpki_store_counter_get(st, "cb", &v), 0);
	assert_int_equal(v, 1);
	sl = serial_of(101, ser);
	assert_int_equal(jpki_store_cert_exists(st, JPKI_CA_SIGN, ser, sl, &e), 0);
	assert_int_equal(e, 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 0, collect, &s), 0);
	assert_int_equal(s.n, 5);

	/* Inside the caller's transaction: undone with it. */
	c.calls = 0;
	assert_int_equal(jpki_store_begin(st), 0);
	assert_int_equal(jpki_store_foreach_changed(st, JPKI_CA_SIGN, 0, 0, change_cb, &c), 0);
	assert_int_equal(c.r, 0);
	assert_int_equal(jpki_store_counter_get(st, "cb", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(jpki_store_rollback(st), 0);
	assert_int_equal(jpki_store_counter_get(st, "cb", &v), 0);
	assert_int_equal(v, 1);
	jpki_store_close(st);
}

/* ---- migration from schema version 1 ---- */

/* Schema version 1 as released: a verbatim copy of migrations[0] of sqlite.c
 * (with the application id spelled out), which stores were created with. */
static const char v1_schema[] =
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL"
	") STRICT;"
	"CREATE TABLE certs ("
	"  id INTEGER PRIMARY KEY,"
	"  ca INTEGER NOT NULL CHECK (ca IN (0, 1)),"
	"  serial BLOB NOT NULL CHECK (length(serial) BETWEEN 1 AND 20),"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  partition INTEGER NOT NULL,"
	"  status INTEGER NOT NULL CHECK (status IN (0, 1, 2)),"
	"  reason INTEGER NOT NULL,"
	"  status_time INTEGER NOT NULL,"
	"  subject_cn TEXT NOT NULL,"
	"  der BLOB,"
	"  UNIQUE (ca, serial)"
	") STRICT;"
	"CREATE INDEX certs_part ON certs (ca, partition);"
	"CREATE INDEX certs_listed ON certs (ca, partition) WHERE status != 0;"
	"CREATE TABLE status_events ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  cert_id INTEGER NOT NULL REFERENCES certs (id),"
	"  ca INTEGER NOT NULL,"
	"  partition INTEGER NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  status INTEGER NOT NULL CHECK (status IN (0, 1, 2)),"
	"  reason INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX status_events_part ON status_events (ca, partition, seq);"
	"CREATE TABLE counters ("
	"  name TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL"
	") STRICT;"
	"CREATE TABLE crls ("
	"  id INTEGER PRIMARY KEY,"
	"  ca INTEGER NOT NULL CHECK (ca IN (0, 1)),"
	"  partition INTEGER NOT NULL,"
	"  number INTEGER NOT NULL,"
	"  is_delta INTEGER NOT NULL CHECK (is_delta IN (0, 1)),"
	"  base_number INTEGER NOT NULL,"
	"  event_seq INTEGER NOT NULL,"
	"  this_update INTEGER NOT NULL,"
	"  next_update INTEGER NOT NULL,"
	"  der BLOB,"
	"  UNIQUE (ca, partition, is_delta, number)"
	") STRICT;"
	"PRAGMA application_id = 1246776137;";

/* The statements of the version-1 code that touch der: the file must still
 * answer them after a failed migration. */
static const char *const v1_statements[] = {
	"INSERT INTO certs (ca, serial, not_before, not_after, partition, status, reason,"
	" status_time, subject_cn, der) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	"SELECT id, ca, serial, not_before, not_after, partition, status, reason, status_time,"
	" subject_cn, der FROM certs WHERE ca = ?1 AND serial = ?2",
	"SELECT id, ca, serial, not_before, not_after, partition, status, reason, status_time,"
	" subject_cn FROM certs WHERE ca = ?1 AND partition = ?2 AND status != 0",
};

/* One certificate of the version-1 store, as the version-1 code wrote it. */
struct v1_cert {
	int64_t id;
	jpki_ca_kind_t ca;
	uint64_t serial; /* 0: the 20-byte serial 7F FF .. FF */
	int64_t partition;
	jpki_cert_status_t status;
	int reason;
	int64_t status_time;
	size_t der_len; /* 0: stored without DER */
};

static const struct v1_cert v1_certs[] = {
	{1, JPKI_CA_SIGN, 1, 0, JPKI_STATUS_GOOD, JPKI_REASON_NONE, 0, 300},
	{2, JPKI_CA_SIGN, 2, 0, JPKI_STATUS_REVOKED, JPKI_REASON_KEY_COMPROMISE, T0 + 10, 1400},
	{3, JPKI_CA_SIGN, 3, 1, JPKI_STATUS_HOLD, JPKI_REASON_CERTIFICATE_HOLD, T0 + 20, 0},
	{4, JPKI_CA_AUTH, 1, 0, JPKI_STATUS_GOOD, JPKI_REASON_NONE, 0, 1300},
	{5, JPKI_CA_SIGN, 0, 0, JPKI_STATUS_REVOKED, JPKI_REASON_SUPERSEDED, T0 + 50, 6000},
};
#define V1_NCERTS (sizeof(v1_certs) / sizeof(v1_certs[0]))

static size_t
v1_serial(const struct v1_cert *c, uint8_t *out)
{
	if (c->serial != 0)
		return serial_of(c->serial, out);
	memset(out, 0xFF, JPKI_SERIAL_MAX);
	out[0] = 0x7F;
	return JPKI_SERIAL_MAX;
}

static void
v1_der(const struct v1_cert *c, uint8_t *out)
{
	size_t i;

	for (i = 0; i < c->der_len; i++)
		out[i] = (uint8_t)(i * 31 + (size_t)c->id);
}

static void
v1_bind_exec(sqlite3 *db, const char *sql, const int64_t *v, int n, const void *blob,
             int blob_idx, int blob_len)
{
	sqlite3_stmt *p = NULL;
	int i;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &p, NULL), SQLITE_OK);
	for (i = 0; i < n; i++)
		assert_int_equal(sqlite3_bind_int64(p, i + 1, v[i]), SQLITE_OK);
	if (blob != NULL)
		assert_int_equal(sqlite3_bind_blob(p, blob_idx, blob, blob_len, SQLITE_TRANSIENT),
		                 SQLITE_OK);
	assert_int_equal(sqlite3_step(p), SQLITE_DONE);
	sqlite3_finalize(p);
}

/*
 * A store as the version-1 code left it: the certificates above, with their
 * status events (the revoked and held ones; the AUTH one was held and
 * released), two counters and a full and a delta CRL.
 */
static void
make_v1_store(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *p = NULL;
	uint8_t ser[JPKI_SERIAL_MAX], der[6000], crl[700];
	size_t i, sl;
	char cn[32];

	(void)remove(path);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                                 NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL), 0);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO meta VALUES ('schema_version', 1)", NULL,
	                              NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, v1_statements[0], -1, &p, NULL), SQLITE_OK);
	for (i = 0; i < V1_NCERTS; i++) {
		const struct v1_cert *c = &v1_certs[i];

		sl = v1_serial(c, ser);
		v1_der(c, der);
		snprintf(cn, sizeof(cn), "v1-%lld", (long long)c->id);
		sqlite3_bind_int(p, 1, (int)c->ca);
		sqlite3_bind_blob(p, 2, ser, (int)sl, SQLITE_TRANSIENT);
		sqlite3_bind_int64(p, 3, T0 + c->id);
		sqlite3_bind_int64(p, 4, T0 + 1000 + c->id);
		sqlite3_bind_int64(p, 5, c->partition);
		sqlite3_bind_int(p, 6, (int)c->status);
		sqlite3_bind_int(p, 7, c->reason);
		sqlite3_bind_int64(p, 8, c->status_time);
		sqlite3_bind_text(p, 9, cn, -1, SQLITE_TRANSIENT);
		if (c->der_len > 0)
			sqlite3_bind_blob(p, 10, der, (int)c->der_len, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(p, 10);
		assert_int_equal(sqlite3_step(p), SQLITE_DONE);
		assert_int_equal(sqlite3_last_insert_rowid(db), c->id);
		sqlite3_reset(p);
		sqlite3_clear_bindings(p);
	}
	sqlite3_finalize(p);
	/* seq 1..5: cert_id, ca, partition, time, status, reason */
	{
		static const int64_t ev[][6] = {
			{2, 0, 0, T0 + 10, 1, 1}, {3, 0, 1, T0 + 20, 2, 6}, {4, 1, 0, T0 + 30, 2, 6},
			{4, 1, 0, T0 + 40, 0, -1}, {5, 0, 0, T0 + 50, 1, 4},
		};
		for (i = 0; i < 5; i++)
			v1_bind_exec(db, "INSERT INTO status_events (cert_id, ca, partition, time,"
			                 " status, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			             ev[i], 6, NULL, 0, 0);
	}
	assert_int_equal(sqlite3_exec(db, "INSERT INTO counters VALUES ('crl_number.sign', 3),"
	                                  " ('issued.auth', 2)", NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < sizeof(crl); i++)
		crl[i] = (uint8_t)(i ^ 0x5A);
	{
		/* ca, partition, number, is_delta, base_number, event_seq, this, next */
		static const int64_t full[] = {0, 0, 2, 0, 0, 3, T0 + 100, T0 + 86500};
		static const int64_t delta[] = {0, 0, 3, 1, 2, 5, T0 + 200, T0 + 3800};
		static const char sql[] = "INSERT INTO crls (ca, partition, number, is_delta,"
		                          " base_number, event_seq, this_update, next_update, der)"
		                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
		v1_bind_exec(db, sql, full, 8, crl, 9, (int)sizeof(crl));
		v1_bind_exec(db, sql, delta, 8, crl, 9, 100);
	}
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Everything make_v1_store wrote, read through the store (at version 2). */
static void
check_v1_data(jpki_store_t *st)
{
	jpki_cert_rec_t got;
	jpki_crl_rec_t crl;
	struct seen s;
	uint8_t ser[JPKI_SERIAL_MAX], der[6000];
	size_t i, sl;
	int64_t v;
	char cn[32];

	for (i = 0; i < V1_NCERTS; i++) {
		const struct v1_cert *c = &v1_certs[i];

		sl = v1_serial(c, ser);
		v1_der(c, der);
		snprintf(cn, sizeof(cn), "v1-%lld", (long long)c->id);
		assert_int_equal(jpki_store_cert_get(st, c->ca, ser, sl, 1, &got), 0);
		assert_int_equal(got.id, c->id);
		assert_int_equal(got.ca, c->ca);
		assert_int_equal(got.serial_len, sl);
		assert_memory_equal(got.serial, ser, sl);
		assert_int_equal(got.not_before, T0 + c->id);
		assert_int_equal(got.not_after, T0 + 1000 + c->id);
		assert_int_equal(got.partition, c->partition);
		assert_int_equal(got.status, c->status);
		assert_int_equal(got.reason, c->reason);
		assert_int_equal(got.status_time, c->status_time);
		assert_string_equal(got.subject_cn, cn);
		assert_int_equal(got.der_len, c->der_len);
		if (c->der_len > 0)
			assert_memory_equal(got.der, der, c->der_len);
		else
			assert_null(got.der);
		jpki_cert_rec_clear(&got);
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 0, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(has_serial(&s, 2), 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_SIGN, 1, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.serial[0], 3);
	assert_int_equal(s.status[0], JPKI_STATUS_HOLD);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_listed(st, JPKI_CA_AUTH, 0, collect, &s), 0);
	assert_int_equal(s.n, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_changed(st, JPKI_CA_AUTH, 0, 0, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.status[0], JPKI_STATUS_GOOD); /* released: removeFromCRL */
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_changed(st, JPKI_CA_SIGN, 0, 3, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.reason[0], JPKI_REASON_SUPERSEDED);
	memset(&s, 0, sizeof(s));
	assert_int_equal(jpki_store_foreach_cert(st, JPKI_CA_SIGN, collect, &s), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(jpki_store_event_seq(st, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(jpki_store_counter_get(st, "crl_number.sign", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(jpki_store_counter_get(st, "issued.auth", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(jpki_store_crl_latest(st, JPKI_CA_SIGN, 0, 0, 1, &crl), 0);
	assert_int_equal(crl.number, 2);
	assert_int_equal(crl.event_seq, 3);
	assert_int_equal(crl.this_update, T0 + 100);
	assert_int_equal(crl.next_update, T0 + 86500);
	assert_int_equal(crl.der_len, 700);
	assert_int_equal(crl.der[699], (uint8_t)(699 ^ 0x5A));
	jpki_crl_rec_clear(&crl);
	assert_int_equal(jpki_store_crl_latest(st, JPKI_CA_SIGN, 0, 1, 1, &crl), 0);
	assert_int_equal(crl.number, 3);
	assert_int_equal(crl.base_number, 2);
	assert_int_equal(crl.der_len, 100);
	jpki_crl_rec_clear(&crl);
}

static void
test_migrate_from_v1(void **state)
{
	const char *path = db_path("from_v1");
	jpki_store_t *st;
	jpki_cert_rec_t rec, got;
	int v = 0;
	int64_t seq = 0;
	uint8_t der[50] = {0x30, 48};

	make_v1_store(path);
	st = open_ok(path);
	assert_int_equal(jpki_store_schema_version(st, &v), 0);
	assert_int_equal(v, 3);
	check_v1_data(st);
	jpki_store_close(st);

	assert_int_equal(raw_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 3);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM pragma_table_info('certs')"
	                               " WHERE name = 'der'"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM cert_der"), 4);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master"
	                               " WHERE name = 'certs_v2'"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM pragma_integrity_check"
	                               " WHERE integrity_check != 'ok'"), 0);

	/* Reopened: already at the current version, same data. */
	st = open_ok(path);
	assert_int_equal(jpki_store_schema_version(st, &v), 0);
	assert_int_equal(v, 3);
	check_v1_data(st);

	/* It goes on from where version 1 stopped: ids, event numbers. */
	make_cert(&rec, JPKI_CA_SIGN, 6, 0);
	rec.status = JPKI_STATUS_REVOKED;
	rec.reason = JPKI_REASON_CESSATION;
	rec.status_time = T0 + 60;
	rec.der = der;
	rec.der_len = sizeof(der);
	assert_int_equal(jpki_store_cert_insert(st, &rec), 0);
	assert_int_equal(rec.id, 6);
	assert_int_equal(jpki_store_event_seq(st, &seq), 0);
	assert_int_equal(seq, 6);
	assert_int_equal(jpki_store_cert_get(st, JPKI_CA_SIGN, rec.serial, rec.serial_len, 1, &got),
	                 0);
	assert_int_equal(got.der_len, sizeof(der));
	assert_memory_equal(got.der, der, sizeof(der));
	jpki_cert_rec_clear(&got);
	jpki_store_close(st);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM cert_der"), 5);
}

/* FNV-1a over the whole database: schema and every row of every table. */
static uint64_t
db_digest(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *t = NULL, *p = NULL;
	uint64_t h = 14695981039346656037ULL;
	char sql[256];
	int i, n;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, sql FROM sqlite_master"
	                                        " ORDER BY name", -1, &t, NULL), SQLITE_OK);
	while (sqlite3_step(t) == SQLITE_ROW) {
		for (i = 0; i < 4; i++) {
			const unsigned char *v = sqlite3_column_text(t, i);
			for (n = sqlite3_column_bytes(t, i); n > 0; n--, v++)
				h = (h ^ *v) * 1099511628211ULL;
			h = (h ^ 0xFF) * 1099511628211ULL;
		}
		if (strcmp((const char *)sqlite3_column_text(t, 0), "table") != 0)
			continue;
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"",
		         (const char *)sqlite3_column_text(t, 1));
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &p, NULL), SQLITE_OK);
		while (sqlite3_step(p) == SQLITE_ROW) {
			for (i = 0; i < sqlite3_column_count(p); i++) {
				const unsigned char *v = sqlite3_column_blob(p, i);
				h = (h ^ (uint64_t)sqlite3_column_type(p, i)) * 1099511628211ULL;
				for (n = sqlite3_column_bytes(p, i); n > 0; n--, v++)
					h = (h ^ *v) * 1099511628211ULL;
			}
		}
		sqlite3_finalize(p);
	}
	sqlite3_finalize(t);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return h;
}

/* The version-1 code could still work on the file: its der statements
 * compile and the DER is where it left it. */
static void
assert_v1_usable(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *p = NULL;
	size_t i;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	for (i = 0; i < sizeof(v1_statements) / sizeof(v1_statements[0]); i++) {
		assert_int_equal(sqlite3_prepare_v2(db, v1_statements[i], -1, &p, NULL), SQLITE_OK);
		sqlite3_finalize(p);
	}
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(raw_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'cert_der'"),
	                 0);
	assert_int_equal(raw_int(path, "SELECT length(der) FROM certs WHERE id = 5"), 6000);
}

/*
 * Migration 2 failing half-way leaves version 1 as it was.  Two failures
 * planted behind the store's back: a view somebody made on certs (the step
 * has copied the DER and dropped the old table when its RENAME trips on the
 * view), and a trigger refusing the new version number (the whole step done,
 * only the version left to write).
 */
static void
test_migrate_from_v1_fails(void **state)
{
	const char *path = db_path("from_v1_fail");
	jpki_store_t *st = (jpki_store_t *)&st;
	uint64_t before;
	int v = 0;

	make_v1_store(path);
	raw_exec(path, "CREATE VIEW site_report AS SELECT serial, status FROM certs");
	before = db_digest(path);
	assert_int_equal(jpki_store_open(path, &st), JPKI_ERR_STORE);
	assert_null(st);
	assert_true(db_digest(path) == before);
	assert_v1_usable(path);

	raw_exec(path, "DROP VIEW site_report;"
	               "CREATE TRIGGER no_v2 BEFORE UPDATE ON meta WHEN NEW.value = 2"
	               " BEGIN SELECT RAISE(ABORT, 'no'); END");
	before = db_digest(path);
	st = (jpki_store_t *)&st;
	assert_int_equal(jpki_store_open(path, &st), JPKI_ERR_STORE);
	assert_null(st);
	assert_true(db_digest(path) == before);
	assert_v1_usable(path);

	/* With the obstacle gone, the migration goes through. */
	raw_exec(path, "DROP TRIGGER no_v2");
	st = open_ok(path);
	assert_int_equal(jpki_store_schema_version(st, &v), 0);
	assert_int_equal(v, 3);
	check_v1_data(st);
	jpki_store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_file_mode),
		cmocka_unit_test(test_wal_and_schema),
		cmocka_unit_test(test_reopen_no_migration),
		cmocka_unit_test(test_future_version),
		cmocka_unit_test(test_not_a_store),
		cmocka_unit_test(test_insert_get),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_status_and_iterators),
		cmocka_unit_test(test_reentrant_callbacks),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_crls),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_half_done_call),
		cmocka_unit_test(test_crash_exit_in_transaction),
		cmocka_unit_test(test_crash_kill_in_transaction),
		cmocka_unit_test(test_crash_between_calls),
		cmocka_unit_test(test_crash_during_commits),
		cmocka_unit_test(test_iterator_fields),
		cmocka_unit_test(test_half_done_der),
		cmocka_unit_test(test_callback_changes),
		cmocka_unit_test(test_migrate_from_v1),
		cmocka_unit_test(test_migrate_from_v1_fails),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
