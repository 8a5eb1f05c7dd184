/*
 * The SQLite backend of the store: the embedded default.
 *
 * One database file, created 0600, in WAL mode with synchronous=FULL so that
 * a committed call survives a crash or power loss and an uncommitted one
 * leaves no trace.  The schema is versioned (meta.schema_version) and grown
 * by the ordered migration steps below, each applied in its own transaction.
 *
 * Hot statements are prepared once per handle and kept (SQLITE_PREPARE_PERSISTENT).
 * A handle is not thread-safe: use one per thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "jpki/audit.h"
#include "jpki/error.h"
#include "jpki/store.h"
#include "store/store_impl.h"

/* "JPKI" (0x4A504B49) in the database header: tells our files from other
 * SQLite files.  Decimal, because the migration below spells it in SQL. */
#define JPKI_SQLITE_APP_ID 1246776137
#define STR_(x) #x
#define STR(x) STR_(x)

/*
 * The migration steps, oldest first: step i takes the schema from version i
 * to i + 1.  Never edit a released step; append a new one.
 *
 * Column notes: serial is the canonical unsigned big-endian form (store.h),
 * compared as bytes.  status_events repeats ca and partition so that a delta
 * CRL of one partition reads one index range.  certs_listed is a partial
 * index: a full CRL reads only revoked and held rows.
 *
 * Step 2 moves the certificate DER out of certs.  A 1.2-1.5 KB DER in the
 * row put only two or three certificates on a 4 KiB page, and every full or
 * delta CRL looked each listed row up there: a million-entry partition read
 * some 1.4 GB it never used.  Now a certs row is about 60 bytes, and
 * certs_listed carries every column a CRL entry needs, so a full CRL reads
 * the index alone.  id comes right after (ca, partition) so that new entries
 * go to the end of the index, as they did in step 1's: ordered by the random
 * serial instead, a million-row import took 15 s instead of 10.5.
 *
 * certs is rebuilt (SQLite's 12-step procedure, lang_altertable.html) rather
 * than shrunk with ALTER TABLE DROP COLUMN: that rewrites each row where it
 * is, and a million migrated rows kept their 334,000 pages, 1.3 GB of a table
 * with 62 MB of data; rebuilt, they fill 14,000.  migrate() turns the foreign
 * key checks off around the step (DROP TABLE would otherwise delete every row
 * first and trip the references of status_events) and runs
 * foreign_key_check before its commit.  Anything someone added on certs: a
 * view makes the RENAME fail and the step roll back whole; a trigger goes
 * with the old table.  The pages of the old table stay in the file, free, for
 * later inserts (a VACUUM by hand would give them back).
 */
static const char *const migrations[] = {
	/* 0 -> 1: the initial schema */
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
	"PRAGMA application_id = " STR(JPKI_SQLITE_APP_ID) ";",

	/* 1 -> 2: the DER in a table of its own; certs_listed covers a CRL entry */
	"CREATE TABLE cert_der ("
	"  cert_id INTEGER PRIMARY KEY REFERENCES certs (id),"
	"  der BLOB NOT NULL"
	") STRICT;"
	"INSERT INTO cert_der (cert_id, der) SELECT id, der FROM certs WHERE der IS NOT NULL;"
	"CREATE TABLE certs_v2 ("
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
	"  UNIQUE (ca, serial)"
	") STRICT;"
	/* In id order: appended, so the pages come out full. */
	"INSERT INTO certs_v2 (id, ca, serial, not_before, not_after, partition, status, reason,"
	"  status_time, subject_cn)"
	"  SELECT id, ca, serial, not_before, not_after, partition, status, reason, status_time,"
	"  subject_cn FROM certs ORDER BY id;"
	"DROP TABLE certs;"
	/* The references to certs (status_events, cert_der) now name this one. */
	"ALTER TABLE certs_v2 RENAME TO certs;"
	"CREATE INDEX certs_part ON certs (ca, partition);"
	"CREATE INDEX certs_listed ON certs (ca, partition, id, serial, status, reason,"
	"  status_time) WHERE status != 0;",

	/* 2 -> 3: the audit log (jpki/audit.h) and the registry's documents */
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  program TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  outcome TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  mac BLOB NOT NULL"
	") STRICT;"
	"CREATE TABLE docs ("
	"  kind TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  PRIMARY KEY (kind, key)"
	") STRICT, WITHOUT ROWID;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The columns of a certificate record without its DER (cert_get,
 * foreach_cert); cert_get adds cert_der.der as column CERT_NCOLS. */
#define CERT_COLS \
	"id, ca, serial, not_before, not_after, partition, status, reason, status_time, subject_cn"
#define CERT_NCOLS 10
/* What the CRL iterators give (store.h): all of it is in certs_listed, so a
 * full CRL never reads the table. */
#define ENTRY_COLS "id, ca, serial, partition, status, reason, status_time"

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_CERT_INSERT,
	S_DER_INSERT,
	S_CERT_EXISTS,
	S_CERT_GET,
	S_CERT_GET_DER,
	S_CERT_SET_STATUS,
	S_EVENT_INSERT,
	S_LISTED,
	S_CHANGED,
	S_ALL,
	S_PARTITIONS,
	S_PARTITION_COUNT,
	S_EVENT_SEQ,
	S_COUNTER_NEXT,
	S_COUNTER_GET,
	S_CRL_SAVE,
	S_CRL_LATEST,
	S_CRL_LATEST_DER,
	S_AUDIT_LAST,
	S_AUDIT_INSERT,
	S_AUDIT_ALL,
	S_DOC_INSERT,
	S_DOC_REPLACE,
	S_DOC_UPSERT,
	S_DOC_GET,
	S_DOC_DELETE,
	S_DOC_PREFIX,
	S__COUNT
};

static const char *const stmt_sql[S__COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_CERT_INSERT] =
	    "INSERT INTO certs (ca, serial, not_before, not_after, partition, status, reason,"
	    " status_time, subject_cn) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[S_DER_INSERT] = "INSERT INTO cert_der (cert_id, der) VALUES (?1, ?2)",
	[S_CERT_EXISTS] = "SELECT 1 FROM certs WHERE ca = ?1 AND serial = ?2",
	[S_CERT_GET] = "SELECT " CERT_COLS " FROM certs WHERE ca = ?1 AND serial = ?2",
	/* No cert_der row: a certificate stored without DER. */
	[S_CERT_GET_DER] = "SELECT " CERT_COLS ", cert_der.der FROM certs"
	                   " LEFT JOIN cert_der ON cert_der.cert_id = certs.id"
	                   " WHERE certs.ca = ?1 AND certs.serial = ?2",
	[S_CERT_SET_STATUS] =
	    "UPDATE certs SET status = ?3, reason = ?4, status_time = ?5"
	    " WHERE ca = ?1 AND serial = ?2 RETURNING id, partition",
	[S_EVENT_INSERT] =
	    "INSERT INTO status_events (cert_id, ca, partition, time, status, reason)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	/* "status != 0" spelled exactly as in certs_listed so the planner uses
	 * it; ENTRY_COLS keep it a covering index (EXPLAIN QUERY PLAN: "SEARCH
	 * certs USING COVERING INDEX certs_listed (ca=? AND partition=?)"). */
	[S_LISTED] = "SELECT " ENTRY_COLS " FROM certs"
	             " WHERE ca = ?1 AND partition = ?2 AND status != 0",
	/* One certs lookup by rowid per changed certificate (few, for a delta);
	 * IN gives each certificate once however many events it has. */
	[S_CHANGED] = "SELECT " ENTRY_COLS " FROM certs WHERE id IN"
	              " (SELECT cert_id FROM status_events"
	              "  WHERE ca = ?1 AND partition = ?2 AND seq > ?3)",
	[S_ALL] = "SELECT " CERT_COLS " FROM certs WHERE ca = ?1 ORDER BY id",
	[S_PARTITIONS] = "SELECT DISTINCT partition FROM certs WHERE ca = ?1 ORDER BY partition",
	[S_PARTITION_COUNT] = "SELECT count(*) FROM certs WHERE ca = ?1 AND partition = ?2",
	[S_EVENT_SEQ] = "SELECT coalesce(max(seq), 0) FROM status_events",
	[S_COUNTER_NEXT] = "INSERT INTO counters (name, value) VALUES (?1, ?2 + 1)"
	                   " ON CONFLICT (name) DO UPDATE SET value = max(value, ?2) + 1"
	                   " RETURNING value",
	[S_COUNTER_GET] = "SELECT value FROM counters WHERE name = ?1",
	[S_CRL_SAVE] = "INSERT INTO crls (ca, partition, number, is_delta, base_number,"
	               " event_seq, this_update, next_update, der)"
	               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[S_CRL_LATEST] = "SELECT ca, partition, number, is_delta, base_number, event_seq,"
	                 " this_update, next_update FROM crls"
	                 " WHERE ca = ?1 AND partition = ?2 AND is_delta = ?3"
	                 " ORDER BY number DESC LIMIT 1",
	[S_CRL_LATEST_DER] = "SELECT ca, partition, number, is_delta, base_number, event_seq,"
	                     " this_update, next_update, der FROM crls"
	                     " WHERE ca = ?1 AND partition = ?2 AND is_delta = ?3"
	                     " ORDER BY number DESC LIMIT 1",
	[S_AUDIT_LAST] = "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1",
	[S_AUDIT_INSERT] = "INSERT INTO audit (seq, time, program, actor, action, subject,"
	                   " outcome, detail, mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[S_AUDIT_ALL] = "SELECT seq, time, program, actor, action, subject, outcome, detail, mac"
	                " FROM audit ORDER BY seq",
	[S_DOC_INSERT] = "INSERT INTO docs (kind, key, body) VALUES (?1, ?2, ?3)",
	[S_DOC_REPLACE] = "UPDATE docs SET body = ?3 WHERE kind = ?1 AND key = ?2",
	[S_DOC_UPSERT] = "INSERT INTO docs (kind, key, body) VALUES (?1, ?2, ?3)"
	                 " ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body",
	[S_DOC_GET] = "SELECT body FROM docs WHERE kind = ?1 AND key = ?2",
	[S_DOC_DELETE] = "DELETE FROM docs WHERE kind = ?1 AND key = ?2",
	/* A prefix as a key range, so the primary key serves it: keys are
	 * compared as bytes (BINARY) and ?3 is the prefix with its last byte
	 * raised, or NULL for "to the end". */
	[S_DOC_PREFIX] = "SELECT key, body FROM docs WHERE kind = ?1 AND key >= ?2"
	                 " AND (?3 IS NULL OR key < ?3) ORDER BY key",
};

struct sqlite_store {
	struct jpki_store base; /* first: the public handle points here */
	sqlite3 *db;
	int version;
	int in_tx;   /* the caller has a transaction open */
	int aborted; /* ... but it was rolled back under it (see op_end) */
	sqlite3_stmt *stmt[S__COUNT];
};

/* How an operation protects itself (see op_begin). */
enum op_how { OP_NONE, OP_OWN_TX };

static const struct jpki_store_ops sqlite_ops;

static struct sqlite_store *
S(jpki_store_t *st)
{
	return (struct sqlite_store *)st;
}

static int
map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return JPKI_ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return JPKI_ERR_BUSY;
	case SQLITE_NOTADB:
		return JPKI_ERR_FORMAT;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return JPKI_ERR_IO;
	case SQLITE_TOOBIG:
		return JPKI_ERR_TOO_LARGE;
	default:
		return JPKI_ERR_STORE;
	}
}

/*
 * A cached statement, ready to bind.  If the cached one is in use (a callback
 * of an iterator calling back into the store), a fresh one is prepared for
 * this call and finalized by stmt_put().
 */
static int
stmt_get(struct sqlite_store *s, enum stmt_id id, sqlite3_stmt **out, int *fresh)
{
	int r = JPKI_ERR_INTERNAL;
	int rc;
	sqlite3_stmt *p = NULL;

	*out = NULL;
	*fresh = 0;
	if (s->stmt[id] != NULL && !sqlite3_stmt_busy(s->stmt[id])) {
		*out = s->stmt[id];
		r = 0;
		goto out;
	}
	rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
	                        s->stmt[id] == NULL ? SQLITE_PREPARE_PERSISTENT : 0, &p, NULL);
	if (rc != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	if (s->stmt[id] == NULL) {
		s->stmt[id] = p;
	} else {
		*fresh = 1;
	}
	*out = p;
	p = NULL;
	r = 0;
out:
	sqlite3_finalize(p);
	return r;
}

static void
stmt_put(sqlite3_stmt *p, int fresh)
{
	if (p == NULL)
		return;
	if (fresh) {
		sqlite3_finalize(p);
		return;
	}
	sqlite3_reset(p);
	sqlite3_clear_bindings(p);
}

/* Run a statement that returns no rows (or whose rows do not matter). */
static int
exec_stmt(struct sqlite_store *s, enum stmt_id id)
{
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	sqlite3_stmt *p = NULL;

	if ((r = stmt_get(s, id, &p, &fresh)) != 0)
		goto out;
	while ((rc = sqlite3_step(p)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		r = map_rc(rc);
		goto out;
	}
	r = 0;
out:
	stmt_put(p, fresh);
	return r;
}

/* The caller's transaction is gone: SQLite rolls it back by itself on some
 * errors (full disk, I/O error, out of memory), and op_end does after a
 * half-done call.  Remember it, so that nothing after it runs outside the
 * transaction the caller believes in. */
static void
check_lost_tx(struct sqlite_store *s)
{
	if (s->in_tx && !s->aborted && sqlite3_get_autocommit(s->db))
		s->aborted = 1;
}

/* Refuse to work inside a transaction SQLite has already rolled back. */
static int
usable(struct sqlite_store *s)
{
	return s->in_tx && s->aborted ? JPKI_ERR_STATE : 0;
}

/* A mutating operation runs in its own transaction unless the caller has one. */
static int
op_begin(struct sqlite_store *s, enum op_how *how)
{
	int r = JPKI_ERR_INTERNAL;

	*how = OP_NONE;
	if ((r = usable(s)) != 0)
		goto out;
	if (!s->in_tx) {
		if ((r = exec_stmt(s, S_BEGIN)) != 0)
			goto out;
		*how = OP_OWN_TX;
	}
	r = 0;
out:
	return r;
}

/*
 * Finish what op_begin started: keep the work if r == 0, undo it otherwise.
 * partial: the operation failed after one of its statements had changed the
 * database.  Inside the caller's transaction that change cannot be taken back
 * alone (a savepoint per call would copy every page it touches, too slow for
 * a million-row import), so the whole transaction is rolled back and marked
 * aborted, as PostgreSQL does after an error.  A failure that changed nothing
 * (duplicate serial, unknown serial) leaves the caller's transaction usable.
 * Returns r, or the error of the commit.
 */
static int
op_end(struct sqlite_store *s, enum op_how how, int r, int partial)
{
	if (how == OP_OWN_TX) {
		if (r == 0)
			r = exec_stmt(s, S_COMMIT);
		if (r != 0 && !sqlite3_get_autocommit(s->db))
			(void)exec_stmt(s, S_ROLLBACK);
	} else if (r != 0 && partial && s->in_tx && !sqlite3_get_autocommit(s->db)) {
		(void)exec_stmt(s, S_ROLLBACK);
	}
	check_lost_tx(s);
	return r;
}

/* Binding integers and short values to a valid index cannot fail; only the
 * DER blobs (SQLITE_TOOBIG) are checked. */
static void
bind_serial(sqlite3_stmt *p, int idx, const uint8_t *serial, size_t len)
{
	sqlite3_bind_blob(p, idx, serial, (int)len, SQLITE_STATIC);
}

/* The serial at column col into rec. */
static int
column_serial(sqlite3_stmt *p, int col, jpki_cert_rec_t *rec)
{
	const void *blob = sqlite3_column_blob(p, col);
	int n = sqlite3_column_bytes(p, col);

	if (blob == NULL || n < 1 || n > JPKI_SERIAL_MAX)
		return JPKI_ERR_FORMAT; /* the CHECK constraint makes this a damaged file */
	memcpy(rec->serial, blob, (size_t)n);
	rec->serial_len = (size_t)n;
	return 0;
}

/* Fill rec (zeroed by the caller) from the ENTRY_COLS of the current row. */
static int
row_to_entry(sqlite3_stmt *p, jpki_cert_rec_t *rec)
{
	int r = JPKI_ERR_INTERNAL;

	rec->id = sqlite3_column_int64(p, 0);
	rec->ca = (jpki_ca_kind_t)sqlite3_column_int(p, 1);
	if ((r = column_serial(p, 2, rec)) != 0)
		goto out;
	rec->partition = sqlite3_column_int64(p, 3);
	rec->status = (jpki_cert_status_t)sqlite3_column_int(p, 4);
	rec->reason = sqlite3_column_int(p, 5);
	rec->status_time = sqlite3_column_int64(p, 6);
	r = 0;
out:
	return r;
}

/* Fill rec from the CERT_COLS of the current row (and der at column
 * CERT_NCOLS when with_der).  rec->der must be NULL on entry. */
static int
row_to_cert(sqlite3_stmt *p, int with_der, jpki_cert_rec_t *rec)
{
	int r = JPKI_ERR_INTERNAL;
	const void *blob;
	const unsigned char *text;
	int n;

	rec->id = sqlite3_column_int64(p, 0);
	rec->ca = (jpki_ca_kind_t)sqlite3_column_int(p, 1);
	if ((r = column_serial(p, 2, rec)) != 0)
		goto out;
	rec->not_before = sqlite3_column_int64(p, 3);
	rec->not_after = sqlite3_column_int64(p, 4);
	rec->partition = sqlite3_column_int64(p, 5);
	rec->status = (jpki_cert_status_t)sqlite3_column_int(p, 6);
	rec->reason = sqlite3_column_int(p, 7);
	rec->status_time = sqlite3_column_int64(p, 8);
	text = sqlite3_column_text(p, 9);
	n = sqlite3_column_bytes(p, 9);
	if (n >= (int)sizeof(rec->subject_cn))
		n = (int)sizeof(rec->subject_cn) - 1;
	if (text != NULL)
		memcpy(rec->subject_cn, text, (size_t)n);
	rec->subject_cn[text != NULL ? n : 0] = '\0';
	if (with_der) {
		blob = sqlite3_column_blob(p, CERT_NCOLS);
		n = sqlite3_column_bytes(p, CERT_NCOLS);
		if (blob != NULL && n > 0) {
			if ((rec->der = malloc((size_t)n)) == NULL) {
				r = JPKI_ERR_NOMEM;
				goto out;
			}
			memcpy(rec->der, blob, (size_t)n);
			rec->der_len = (size_t)n;
		}
	}
	r = 0;
out:
	return r;
}

/* ---- open, migrate, close ---- */

/* Create the file 0600 whatever the umask, so that sqlite never creates it
 * with the process's default mode.  An existing regular file is left as it
 * is; anything else there (directory, FIFO, device) is refused. */
static int
create_file(const char *path)
{
	int r = JPKI_ERR_INTERNAL;
	int fd;
	struct stat sb;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno != EEXIST)
			r = JPKI_ERR_IO;
		else
			r = stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? 0 : JPKI_ERR_IO;
		goto out;
	}
	if (fchmod(fd, 0600) != 0) {
		r = JPKI_ERR_IO;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* One integer from a one-row query run directly (not cached: open only). */
static int
query_int(sqlite3 *db, const char *sql, int64_t *v, int *found)
{
	int r = JPKI_ERR_INTERNAL;
	int rc;
	sqlite3_stmt *p = NULL;

	*v = 0;
	if (found != NULL)
		*found = 0;
	if ((rc = sqlite3_prepare_v2(db, sql, -1, &p, NULL)) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	rc = sqlite3_step(p);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(p, 0) != SQLITE_INTEGER) {
			r = JPKI_ERR_FORMAT;
			goto out;
		}
		*v = sqlite3_column_int64(p, 0);
		if (found != NULL)
			*found = 1;
	} else if (rc != SQLITE_DONE) {
		r = map_rc(rc);
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(p);
	return r;
}

/* The schema version recorded in the file: 0 for an empty database;
 * JPKI_ERR_FORMAT for a database that is not one of ours. */
static int
read_version(sqlite3 *db, int *version)
{
	int r = JPKI_ERR_INTERNAL;
	int64_t n_meta, n_all, app_id, v;
	int found;

	*version = 0;
	if ((r = query_int(db, "PRAGMA application_id", &app_id, NULL)) != 0)
		goto out;
	if (app_id != 0 && app_id != JPKI_SQLITE_APP_ID) {
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if ((r = query_int(db, "SELECT count(*) FROM sqlite_master"
	                       " WHERE type = 'table' AND name = 'meta'", &n_meta, NULL)) != 0 ||
	    (r = query_int(db, "SELECT count(*) FROM sqlite_master", &n_all, NULL)) != 0)
		goto out;
	if (n_meta == 0) {
		/* Empty: ours to create.  Tables but no meta: someone else's. */
		r = n_all == 0 ? 0 : JPKI_ERR_FORMAT;
		goto out;
	}
	if ((r = query_int(db, "SELECT value FROM meta WHERE key = 'schema_version'", &v,
	                   &found)) != 0)
		goto out;
	if (!found || v < 1 || v > 1000000) {
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	*version = (int)v;
	r = 0;
out:
	return r;
}

static int
exec_sql(sqlite3 *db, const char *sql)
{
	return map_rc(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/*
 * Bring the schema up to SCHEMA_VERSION, one step per transaction.  The
 * version is read again under the write lock, so two processes opening a new
 * store at once apply each step once.  An up-to-date store is only read.
 *
 * The foreign key checks are off while the steps run, so that a step may
 * rebuild a table others refer to (see migrations[]); each step checks the
 * references itself before its commit, so a step that would leave one dangling
 * is rolled back.  (The pragma is a no-op inside a transaction: it is set
 * here, before BEGIN, and back after the last COMMIT or ROLLBACK.)
 *
 * secure_delete (on by default in Debian's SQLite) is FAST while the steps
 * run: the pages a step frees (step 2's old certs) hold only what it has just
 * copied, so zeroing them protects nothing and doubles the step's writes (a
 * million certificates with DER: 26 s and a 2.7 GB WAL, 12 s and 1.4 GB
 * without).  The previous setting is restored after.
 */
static int
migrate(struct sqlite_store *s)
{
	int r = JPKI_ERR_INTERNAL;
	int v, in_tx = 0, fk_off = 0, sd_set = 0;
	sqlite3_stmt *p = NULL;
	int rc;
	int64_t dangling, secure = 0;
	char sql[48];

	if ((r = read_version(s->db, &v)) != 0)
		goto out;
	if (v < SCHEMA_VERSION) {
		if ((r = exec_sql(s->db, "PRAGMA foreign_keys = OFF")) != 0)
			goto out;
		fk_off = 1;
		if ((r = query_int(s->db, "PRAGMA secure_delete", &secure, NULL)) != 0 ||
		    (r = exec_sql(s->db, "PRAGMA secure_delete = FAST")) != 0)
			goto out;
		sd_set = 1;
	}
	while (v < SCHEMA_VERSION) {
		if ((r = exec_sql(s->db, "BEGIN IMMEDIATE")) != 0)
			goto out;
		in_tx = 1;
		if ((r = read_version(s->db, &v)) != 0)
			goto out;
		if (v >= SCHEMA_VERSION)
			break;
		if ((r = exec_sql(s->db, migrations[v])) != 0)
			goto out;
		if ((r = query_int(s->db, "SELECT count(*) FROM pragma_foreign_key_check",
		                   &dangling, NULL)) != 0)
			goto out;
		if (dangling != 0) {
			r = JPKI_ERR_FORMAT; /* a reference to nothing: a damaged store */
			goto out;
		}
		rc = sqlite3_prepare_v2(s->db,
		                        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)"
		                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		                        -1, &p, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int(p, 1, v + 1);
		if (rc == SQLITE_OK && (rc = sqlite3_step(p)) == SQLITE_DONE)
			rc = SQLITE_OK;
		sqlite3_finalize(p);
		p = NULL;
		if (rc != SQLITE_OK) {
			r = map_rc(rc);
			goto out;
		}
		if ((r = exec_sql(s->db, "COMMIT")) != 0)
			goto out;
		in_tx = 0;
		v++;
	}
	if (v > SCHEMA_VERSION) {
		r = JPKI_ERR_VERSION; /* written by a newer OpenJPKI */
		goto out;
	}
	if (in_tx) {
		if ((r = exec_sql(s->db, "COMMIT")) != 0)
			goto out;
		in_tx = 0;
	}
	s->version = v;
	r = 0;
out:
	if (in_tx && !sqlite3_get_autocommit(s->db))
		(void)exec_sql(s->db, "ROLLBACK");
	if (fk_off) {
		rc = exec_sql(s->db, "PRAGMA foreign_keys = ON");
		if (r == 0)
			r = rc;
	}
	if (sd_set) {
		snprintf(sql, sizeof(sql), "PRAGMA secure_delete = %d", (int)secure);
		rc = exec_sql(s->db, sql);
		if (r == 0)
			r = rc;
	}
	return r;
}

static void
free_handle(struct sqlite_store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < S__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close_v2(s->db);
	free(s);
}

int
jpki_store_sqlite_open(const char *path, jpki_store_t **out)
{
	int r = JPKI_ERR_INTERNAL;
	struct sqlite_store *s = NULL;
	int memory, rc, flags, v;
	char mode[16];
	sqlite3_stmt *p = NULL;
	const unsigned char *txt;

	*out = NULL;
	memory = strcmp(path, ":memory:") == 0;
	if (!memory && (r = create_file(path)) != 0)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	s->base.ops = &sqlite_ops;
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (memory ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		r = s->db == NULL ? JPKI_ERR_NOMEM : map_rc(rc);
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if ((rc = sqlite3_busy_timeout(s->db, 5000)) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	/* Look before touching: a file that is not a database (SQLITE_NOTADB),
	 * someone else's database, or one from a newer OpenJPKI is refused
	 * before the journal mode below rewrites its header. */
	if ((r = read_version(s->db, &v)) != 0)
		goto out;
	if (v > SCHEMA_VERSION) {
		r = JPKI_ERR_VERSION;
		goto out;
	}
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &p, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(p);
	if (rc != SQLITE_ROW) {
		r = map_rc(rc);
		goto out;
	}
	txt = sqlite3_column_text(p, 0);
	snprintf(mode, sizeof(mode), "%s", txt != NULL ? (const char *)txt : "");
	sqlite3_finalize(p);
	p = NULL;
	if (!memory && strcmp(mode, "wal") != 0) {
		r = JPKI_ERR_STORE; /* e.g. a file system without shared memory */
		goto out;
	}
	/* A 16 MiB page cache: a million-row import runs as fast as with 64 MiB
	 * (10.7 s either way), while a CRL run, one pass over a partition plus a
	 * large blob, would otherwise fill the cache for nothing (peak memory of
	 * a 1M-entry CRL: 171 MiB with 64 MiB, 120 MiB with 16 MiB). */
	if ((r = exec_sql(s->db, "PRAGMA synchronous = FULL;"
	                         "PRAGMA foreign_keys = ON;"
	                         "PRAGMA cache_size = -16384;")) != 0)
		goto out;
	if ((r = migrate(s)) != 0)
		goto out;
	*out = &s->base;
	s = NULL;
	r = 0;
out:
	sqlite3_finalize(p);
	free_handle(s);
	return r;
}

static void
sq_close(jpki_store_t *st)
{
	struct sqlite_store *s = S(st);

	if (s->in_tx && !sqlite3_get_autocommit(s->db))
		(void)exec_stmt(s, S_ROLLBACK);
	free_handle(s);
}

static int
sq_schema_version(jpki_store_t *st, int *version)
{
	*version = S(st)->version;
	return 0;
}

/* ---- caller transactions ---- */

static int
sq_begin(jpki_store_t *st)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;

	if (s->in_tx) {
		r = JPKI_ERR_STATE; /* transactions do not nest */
		goto out;
	}
	if ((r = exec_stmt(s, S_BEGIN)) != 0)
		goto out;
	s->in_tx = 1;
	s->aborted = 0;
	r = 0;
out:
	return r;
}

static int
sq_commit(jpki_store_t *st)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;

	if (!s->in_tx) {
		r = JPKI_ERR_STATE;
		goto out;
	}
	if (s->aborted) {
		r = JPKI_ERR_STATE; /* already rolled back: nothing to commit */
	} else if ((r = exec_stmt(s, S_COMMIT)) != 0 && !sqlite3_get_autocommit(s->db)) {
		goto out; /* still open: the caller may retry or roll back */
	}
	s->in_tx = 0;
	s->aborted = 0;
out:
	return r;
}

static int
sq_rollback(jpki_store_t *st)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;

	if (!s->in_tx) {
		r = JPKI_ERR_STATE;
		goto out;
	}
	r = 0;
	if (!sqlite3_get_autocommit(s->db))
		r = exec_stmt(s, S_ROLLBACK);
	s->in_tx = 0;
	s->aborted = 0;
out:
	return r;
}

/* ---- certificates ---- */

static int
insert_event(struct sqlite_store *s, int64_t cert_id, jpki_ca_kind_t ca, int64_t partition,
             int64_t when, jpki_cert_status_t status, int reason, int64_t *seq)
{
	int r = JPKI_ERR_INTERNAL;
	int fresh = 0;
	sqlite3_stmt *p = NULL;

	if ((r = stmt_get(s, S_EVENT_INSERT, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int64(p, 1, cert_id);
	sqlite3_bind_int(p, 2, (int)ca);
	sqlite3_bind_int64(p, 3, partition);
	sqlite3_bind_int64(p, 4, when);
	sqlite3_bind_int(p, 5, (int)status);
	sqlite3_bind_int(p, 6, reason);
	if ((r = map_rc(sqlite3_step(p))) != 0)
		goto out;
	if (seq != NULL)
		*seq = sqlite3_last_insert_rowid(s->db);
	r = 0;
out:
	stmt_put(p, fresh);
	return r;
}

/*
 * A certificate inserted already revoked or held (an import) gets a status
 * event too: otherwise a delta CRL would miss it until the next full CRL.
 */
static int
sq_cert_insert(jpki_store_t *st, jpki_cert_rec_t *rec)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0, dfresh = 0, partial = 0, listed = rec->status != JPKI_STATUS_GOOD;
	int has_der = rec->der != NULL && rec->der_len > 0;
	enum op_how how = OP_NONE;
	sqlite3_stmt *p = NULL, *d = NULL;
	int64_t id = 0, status_time = listed ? rec->status_time : 0;

	if ((r = op_begin(s, &how)) != 0)
		goto out;
	/* Bind the DER before anything is written: a DER SQLite refuses
	 * (SQLITE_TOOBIG) then fails the call having changed nothing, which
	 * leaves a caller's transaction usable. */
	if (has_der) {
		if ((r = stmt_get(s, S_DER_INSERT, &d, &dfresh)) != 0)
			goto out;
		if ((rc = sqlite3_bind_blob64(d, 2, rec->der, rec->der_len, SQLITE_STATIC)) !=
		    SQLITE_OK) {
			r = map_rc(rc);
			goto out;
		}
	}
	if ((r = stmt_get(s, S_CERT_INSERT, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int(p, 1, (int)rec->ca);
	bind_serial(p, 2, rec->serial, rec->serial_len);
	sqlite3_bind_int64(p, 3, rec->not_before);
	sqlite3_bind_int64(p, 4, rec->not_after);
	sqlite3_bind_int64(p, 5, rec->partition);
	sqlite3_bind_int(p, 6, (int)rec->status);
	sqlite3_bind_int(p, 7, rec->reason);
	sqlite3_bind_int64(p, 8, status_time);
	sqlite3_bind_text(p, 9, rec->subject_cn, -1, SQLITE_STATIC);
	rc = sqlite3_step(p);
	if (rc != SQLITE_DONE) {
		rc = sqlite3_extended_errcode(s->db);
		r = rc == SQLITE_CONSTRAINT_UNIQUE ? JPKI_ERR_EXISTS : map_rc(rc);
		goto out;
	}
	id = sqlite3_last_insert_rowid(s->db);
	partial = 1;
	if (has_der) {
		sqlite3_bind_int64(d, 1, id);
		if ((r = map_rc(sqlite3_step(d))) != 0)
			goto out;
	}
	if (listed && (r = insert_event(s, id, rec->ca, rec->partition, status_time,
	                                rec->status, rec->reason, NULL)) != 0)
		goto out;
	r = 0;
out:
	stmt_put(d, dfresh);
	stmt_put(p, fresh);
	r = op_end(s, how, r, partial);
	if (r == 0)
		rec->id = id;
	return r;
}

static int
sq_cert_exists(jpki_store_t *st, jpki_ca_kind_t ca, const uint8_t *serial,
               size_t serial_len, int *exists)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	sqlite3_stmt *p = NULL;

	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, S_CERT_EXISTS, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int(p, 1, (int)ca);
	bind_serial(p, 2, serial, serial_len);
	rc = sqlite3_step(p);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = map_rc(rc);
		goto out;
	}
	*exists = rc == SQLITE_ROW;
	r = 0;
out:
	stmt_put(p, fresh);
	return r;
}

static int
sq_cert_get(jpki_store_t *st, jpki_ca_kind_t ca, const uint8_t *serial, size_t serial_len,
            int with_der, jpki_cert_rec_t *rec)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	sqlite3_stmt *p = NULL;
	jpki_cert_rec_t tmp;

	memset(&tmp, 0, sizeof(tmp));
	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, with_der ? S_CERT_GET_DER : S_CERT_GET, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int(p, 1, (int)ca);
	bind_serial(p, 2, serial, serial_len);
	rc = sqlite3_step(p);
	if (rc == SQLITE_DONE) {
		r = JPKI_ERR_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = map_rc(rc);
		goto out;
	}
	if ((r = row_to_cert(p, with_der, &tmp)) != 0)
		goto out;
	*rec = tmp;
	memset(&tmp, 0, sizeof(tmp));
	r = 0;
out:
	free(tmp.der);
	stmt_put(p, fresh);
	return r;
}

static int
sq_cert_set_status(jpki_store_t *st, jpki_ca_kind_t ca, const uint8_t *serial,
                   size_t serial_len, jpki_cert_status_t status, int reason, int64_t when,
                   int64_t *seq_out)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0, partial = 0;
	enum op_how how = OP_NONE;
	sqlite3_stmt *p = NULL;
	int64_t id, partition, seq = 0;

	if ((r = op_begin(s, &how)) != 0)
		goto out;
	if ((r = stmt_get(s, S_CERT_SET_STATUS, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int(p, 1, (int)ca);
	bind_serial(p, 2, serial, serial_len);
	sqlite3_bind_int(p, 3, (int)status);
	sqlite3_bind_int(p, 4, reason);
	/* The record says 0 for a good certificate; the event keeps the time. */
	sqlite3_bind_int64(p, 5, status == JPKI_STATUS_GOOD ? 0 : when);
	rc = sqlite3_step(p);
	if (rc == SQLITE_DONE) {
		r = JPKI_ERR_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = map_rc(rc);
		goto out;
	}
	partial = 1;
	id = sqlite3_column_int64(p, 0);
	partition = sqlite3_column_int64(p, 1);
	if ((rc = sqlite3_step(p)) != SQLITE_DONE) { /* UNIQUE(ca, serial): one row */
		r = rc == SQLITE_ROW ? JPKI_ERR_INTERNAL : map_rc(rc);
		goto out;
	}
	stmt_put(p, fresh);
	p = NULL;
	if ((r = insert_event(s, id, ca, partition, when, status, reason, &seq)) != 0)
		goto out;
	r = 0;
out:
	stmt_put(p, fresh);
	r = op_end(s, how, r, partial);
	if (r == 0 && seq_out != NULL)
		*seq_out = seq;
	return r;
}

/* ---- iterators ---- */

/* Step a bound certificate query, handing each row to cb: ENTRY_COLS rows
 * when entry, CERT_COLS ones otherwise. */
static int
run_iter(sqlite3_stmt *p, int entry, jpki_store_cert_cb cb, void *ctx)
{
	int r = JPKI_ERR_INTERNAL;
	int rc;
	jpki_cert_rec_t rec;

	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		memset(&rec, 0, sizeof(rec));
		r = entry ? row_to_entry(p, &rec) : row_to_cert(p, 0, &rec);
		if (r != 0)
			goto out;
		if ((r = cb(ctx, &rec)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = map_rc(rc);
		goto out;
	}
	r = 0;
out:
	return r;
}

static int
sq_foreach_listed(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition,
                  jpki_store_cert_cb cb, void *ctx)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int fresh = 0;
	sqlite3_stmt *p = NULL;

	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, S_LISTED, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int(p, 1, (int)ca);
	sqlite3_bind_int64(p, 2, partition);
	r = run_iter(p, 1, cb, ctx);
out:
	stmt_put(p, fresh);
	return r;
}

static int
sq_foreach_changed(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition, int64_t since_seq,
                   jpki_store_cert_cb cb, void *ctx)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int fresh = 0;
	sqlite3_stmt *p = NULL;

	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, S_CHANGED, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int(p, 1, (int)ca);
	sqlite3_bind_int64(p, 2, partition);
	sqlite3_bind_int64(p, 3, since_seq);
	r = run_iter(p, 1, cb, ctx);
out:
	stmt_put(p, fresh);
	return r;
}

static int
sq_foreach_cert(jpki_store_t *st, jpki_ca_kind_t ca, jpki_store_cert_cb cb, void *ctx)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int fresh = 0;
	sqlite3_stmt *p = NULL;

	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, S_ALL, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int(p, 1, (int)ca);
	r = run_iter(p, 0, cb, ctx);
out:
	stmt_put(p, fresh);
	return r;
}

/* ---- partitions, sequence, counters ---- */

static int
sq_partitions(jpki_store_t *st, jpki_ca_kind_t ca, int64_t **parts, size_t *n)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	sqlite3_stmt *p = NULL;
	int64_t *v = NULL, *nv;
	size_t len = 0, cap = 0;

	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, S_PARTITIONS, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int(p, 1, (int)ca);
	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = JPKI_ERR_NOMEM;
				goto out;
			}
			v = nv;
		}
		v[len++] = sqlite3_column_int64(p, 0);
	}
	if (rc != SQLITE_DONE) {
		r = map_rc(rc);
		goto out;
	}
	*parts = v;
	*n = len;
	v = NULL;
	r = 0;
out:
	free(v);
	stmt_put(p, fresh);
	return r;
}

/* Run a bound query returning one integer (0 when it returns no row). */
static int
one_int(sqlite3_stmt *p, int64_t *v)
{
	int rc = sqlite3_step(p);

	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(p, 0);
		rc = sqlite3_step(p);
	}
	return rc == SQLITE_DONE ? 0 : map_rc(rc);
}

static int
sq_partition_count(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition, int64_t *count)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int fresh = 0;
	sqlite3_stmt *p = NULL;
	int64_t v = 0;

	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, S_PARTITION_COUNT, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int(p, 1, (int)ca);
	sqlite3_bind_int64(p, 2, partition);
	if ((r = one_int(p, &v)) != 0)
		goto out;
	*count = v;
	r = 0;
out:
	stmt_put(p, fresh);
	return r;
}

static int
sq_event_seq(jpki_store_t *st, int64_t *seq)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int fresh = 0;
	sqlite3_stmt *p = NULL;
	int64_t v = 0;

	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, S_EVENT_SEQ, &p, &fresh)) != 0)
		goto out;
	if ((r = one_int(p, &v)) != 0)
		goto out;
	*seq = v;
	r = 0;
out:
	stmt_put(p, fresh);
	return r;
}

static int
sq_counter_next(jpki_store_t *st, const char *name, int64_t floor, int64_t *value)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int fresh = 0;
	enum op_how how = OP_NONE;
	sqlite3_stmt *p = NULL;
	int64_t v = 0;

	if ((r = op_begin(s, &how)) != 0)
		goto out;
	if ((r = stmt_get(s, S_COUNTER_NEXT, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_text(p, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(p, 2, floor);
	if ((r = one_int(p, &v)) != 0)
		goto out;
	if (v < 1 || v <= floor) {
		r = JPKI_ERR_INTERNAL;
		goto out;
	}
	r = 0;
out:
	stmt_put(p, fresh);
	r = op_end(s, how, r, 0);
	if (r == 0)
		*value = v;
	return r;
}

static int
sq_counter_get(jpki_store_t *st, const char *name, int64_t *value)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int fresh = 0;
	sqlite3_stmt *p = NULL;
	int64_t v = 0;

	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, S_COUNTER_GET, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_text(p, 1, name, -1, SQLITE_STATIC);
	if ((r = one_int(p, &v)) != 0)
		goto out;
	*value = v;
	r = 0;
out:
	stmt_put(p, fresh);
	return r;
}

/* ---- CRLs ---- */

static int
sq_crl_save(jpki_store_t *st, const jpki_crl_rec_t *rec)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	enum op_how how = OP_NONE;
	sqlite3_stmt *p = NULL;

	if ((r = op_begin(s, &how)) != 0)
		goto out;
	if ((r = stmt_get(s, S_CRL_SAVE, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int(p, 1, (int)rec->ca);
	sqlite3_bind_int64(p, 2, rec->partition);
	sqlite3_bind_int64(p, 3, rec->number);
	sqlite3_bind_int(p, 4, rec->is_delta ? 1 : 0);
	sqlite3_bind_int64(p, 5, rec->is_delta ? rec->base_number : 0);
	sqlite3_bind_int64(p, 6, rec->event_seq);
	sqlite3_bind_int64(p, 7, rec->this_update);
	sqlite3_bind_int64(p, 8, rec->next_update);
	if (rec->der != NULL && rec->der_len > 0)
		rc = sqlite3_bind_blob64(p, 9, rec->der, rec->der_len, SQLITE_STATIC);
	else
		rc = sqlite3_bind_null(p, 9);
	if (rc != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	if ((rc = sqlite3_step(p)) != SQLITE_DONE) {
		rc = sqlite3_extended_errcode(s->db);
		r = rc == SQLITE_CONSTRAINT_UNIQUE ? JPKI_ERR_EXISTS : map_rc(rc);
		goto out;
	}
	r = 0;
out:
	stmt_put(p, fresh);
	return op_end(s, how, r, 0);
}

static int
sq_crl_latest(jpki_store_t *st, jpki_ca_kind_t ca, int64_t partition, int is_delta,
              int with_der, jpki_crl_rec_t *rec)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0, n;
	sqlite3_stmt *p = NULL;
	const void *blob;
	jpki_crl_rec_t tmp;

	memset(&tmp, 0, sizeof(tmp));
	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, with_der ? S_CRL_LATEST_DER : S_CRL_LATEST, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int(p, 1, (int)ca);
	sqlite3_bind_int64(p, 2, partition);
	sqlite3_bind_int(p, 3, is_delta);
	rc = sqlite3_step(p);
	if (rc == SQLITE_DONE) {
		r = JPKI_ERR_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = map_rc(rc);
		goto out;
	}
	tmp.ca = (jpki_ca_kind_t)sqlite3_column_int(p, 0);
	tmp.partition = sqlite3_column_int64(p, 1);
	tmp.number = sqlite3_column_int64(p, 2);
	tmp.is_delta = sqlite3_column_int(p, 3);
	tmp.base_number = sqlite3_column_int64(p, 4);
	tmp.event_seq = sqlite3_column_int64(p, 5);
	tmp.this_update = sqlite3_column_int64(p, 6);
	tmp.next_update = sqlite3_column_int64(p, 7);
	if (with_der) {
		blob = sqlite3_column_blob(p, 8);
		n = sqlite3_column_bytes(p, 8);
		if (blob != NULL && n > 0) {
			if ((tmp.der = malloc((size_t)n)) == NULL) {
				r = JPKI_ERR_NOMEM;
				goto out;
			}
			memcpy(tmp.der, blob, (size_t)n);
			tmp.der_len = (size_t)n;
		}
	}
	*rec = tmp;
	memset(&tmp, 0, sizeof(tmp));
	r = 0;
out:
	free(tmp.der);
	stmt_put(p, fresh);
	return r;
}

/* ---- the audit log's rows ---- */

static int
sq_audit_last(jpki_store_t *st, int64_t *seq, uint8_t mac[JPKI_AUDIT_MAC_LEN])
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	sqlite3_stmt *p = NULL;

	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, S_AUDIT_LAST, &p, &fresh)) != 0)
		goto out;
	rc = sqlite3_step(p);
	if (rc == SQLITE_DONE) {
		*seq = 0;
		memset(mac, 0, JPKI_AUDIT_MAC_LEN);
		r = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = map_rc(rc);
		goto out;
	}
	*seq = sqlite3_column_int64(p, 0);
	if (sqlite3_column_bytes(p, 1) != JPKI_AUDIT_MAC_LEN) {
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	memcpy(mac, sqlite3_column_blob(p, 1), JPKI_AUDIT_MAC_LEN);
	r = 0;
out:
	stmt_put(p, fresh);
	return r;
}

static int
sq_audit_insert(jpki_store_t *st, const jpki_audit_rec_t *rec)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	enum op_how how = OP_NONE;
	sqlite3_stmt *p = NULL;

	if ((r = op_begin(s, &how)) != 0)
		goto out;
	if ((r = stmt_get(s, S_AUDIT_INSERT, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_int64(p, 1, rec->seq);
	sqlite3_bind_int64(p, 2, rec->time);
	sqlite3_bind_text(p, 3, rec->program, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 4, rec->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 5, rec->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 6, rec->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 7, rec->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 8, rec->detail, -1, SQLITE_STATIC);
	sqlite3_bind_blob(p, 9, rec->mac, JPKI_AUDIT_MAC_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(p)) != SQLITE_DONE) {
		rc = sqlite3_extended_errcode(s->db);
		r = rc == SQLITE_CONSTRAINT_PRIMARYKEY ? JPKI_ERR_EXISTS : map_rc(rc);
		goto out;
	}
	r = 0;
out:
	stmt_put(p, fresh);
	return op_end(s, how, r, 0);
}

/* Copy a text column into a fixed field, cut to fit. */
static void
column_text(sqlite3_stmt *p, int col, char *out, size_t outlen)
{
	const unsigned char *t = sqlite3_column_text(p, col);
	size_t n = (size_t)sqlite3_column_bytes(p, col);

	if (t == NULL)
		n = 0;
	if (n >= outlen)
		n = outlen - 1;
	if (n > 0)
		memcpy(out, t, n);
	out[n] = '\0';
}

static int
sq_foreach_audit(jpki_store_t *st, jpki_store_audit_cb cb, void *ctx)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	sqlite3_stmt *p = NULL;
	jpki_audit_rec_t *rec = NULL;

	if ((r = usable(s)) != 0)
		goto out;
	if ((rec = malloc(sizeof(*rec))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if ((r = stmt_get(s, S_AUDIT_ALL, &p, &fresh)) != 0)
		goto out;
	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		memset(rec, 0, sizeof(*rec));
		rec->seq = sqlite3_column_int64(p, 0);
		rec->time = sqlite3_column_int64(p, 1);
		column_text(p, 2, rec->program, sizeof(rec->program));
		column_text(p, 3, rec->actor, sizeof(rec->actor));
		column_text(p, 4, rec->action, sizeof(rec->action));
		column_text(p, 5, rec->subject, sizeof(rec->subject));
		column_text(p, 6, rec->outcome, sizeof(rec->outcome));
		column_text(p, 7, rec->detail, sizeof(rec->detail));
		/* A MAC of the wrong size is handed on as zeros: the check fails. */
		if (sqlite3_column_bytes(p, 8) == JPKI_AUDIT_MAC_LEN)
			memcpy(rec->mac, sqlite3_column_blob(p, 8), JPKI_AUDIT_MAC_LEN);
		if ((r = cb(ctx, rec)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = map_rc(rc);
		goto out;
	}
	r = 0;
out:
	free(rec);
	stmt_put(p, fresh);
	return r;
}

/* ---- documents (the registry) ---- */

static int
sq_doc_put(jpki_store_t *st, const char *kind, const char *key, const char *body, int mode)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	enum op_how how = OP_NONE;
	enum stmt_id id = mode == JPKI_DOC_CREATE ? S_DOC_INSERT
	                  : mode == JPKI_DOC_REPLACE ? S_DOC_REPLACE : S_DOC_UPSERT;
	sqlite3_stmt *p = NULL;

	if ((r = op_begin(s, &how)) != 0)
		goto out;
	if ((r = stmt_get(s, id, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_text(p, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 2, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_bind_text(p, 3, body, -1, SQLITE_STATIC)) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	if ((rc = sqlite3_step(p)) != SQLITE_DONE) {
		rc = sqlite3_extended_errcode(s->db);
		r = rc == SQLITE_CONSTRAINT_PRIMARYKEY ? JPKI_ERR_EXISTS : map_rc(rc);
		goto out;
	}
	if (mode == JPKI_DOC_REPLACE && sqlite3_changes(s->db) == 0) {
		r = JPKI_ERR_NOT_FOUND;
		goto out;
	}
	r = 0;
out:
	stmt_put(p, fresh);
	return op_end(s, how, r, 0);
}

static int
sq_doc_get(jpki_store_t *st, const char *kind, const char *key, char **body)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	sqlite3_stmt *p = NULL;
	const unsigned char *t;
	int n;
	char *b = NULL;

	if ((r = usable(s)) != 0)
		goto out;
	if ((r = stmt_get(s, S_DOC_GET, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_text(p, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 2, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(p);
	if (rc == SQLITE_DONE) {
		r = JPKI_ERR_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = map_rc(rc);
		goto out;
	}
	t = sqlite3_column_text(p, 0);
	n = sqlite3_column_bytes(p, 0);
	if ((b = malloc((size_t)n + 1)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	if (n > 0)
		memcpy(b, t, (size_t)n);
	b[n] = '\0';
	*body = b;
	b = NULL;
	r = 0;
out:
	free(b);
	stmt_put(p, fresh);
	return r;
}

static int
sq_doc_delete(jpki_store_t *st, const char *kind, const char *key)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	enum op_how how = OP_NONE;
	sqlite3_stmt *p = NULL;

	if ((r = op_begin(s, &how)) != 0)
		goto out;
	if ((r = stmt_get(s, S_DOC_DELETE, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_text(p, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 2, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(p)) != SQLITE_DONE) {
		r = map_rc(rc);
		goto out;
	}
	r = sqlite3_changes(s->db) == 0 ? JPKI_ERR_NOT_FOUND : 0;
out:
	stmt_put(p, fresh);
	return op_end(s, how, r, 0);
}

static int
sq_foreach_doc(jpki_store_t *st, const char *kind, const char *prefix, jpki_store_doc_cb cb,
               void *ctx)
{
	struct sqlite_store *s = S(st);
	int r = JPKI_ERR_INTERNAL;
	int rc, fresh = 0;
	sqlite3_stmt *p = NULL;
	char *hi = NULL;
	size_t n = strlen(prefix);

	if ((r = usable(s)) != 0)
		goto out;
	/* The smallest key above every key with the prefix: the prefix with its
	 * last byte below 0xff raised by one (trailing 0xff bytes dropped). */
	if (n > 0) {
		if ((hi = strdup(prefix)) == NULL) {
			r = JPKI_ERR_NOMEM;
			goto out;
		}
		while (n > 0 && (unsigned char)hi[n - 1] == 0xff)
			hi[--n] = '\0';
		if (n > 0)
			hi[n - 1] = (char)((unsigned char)hi[n - 1] + 1);
	}
	if ((r = stmt_get(s, S_DOC_PREFIX, &p, &fresh)) != 0)
		goto out;
	sqlite3_bind_text(p, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 2, prefix, -1, SQLITE_STATIC);
	if (hi != NULL && n > 0)
		sqlite3_bind_text(p, 3, hi, (int)n, SQLITE_STATIC);
	else
		sqlite3_bind_null(p, 3);
	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		if ((r = cb(ctx, (const char *)sqlite3_column_text(p, 0),
		            (const char *)sqlite3_column_text(p, 1))) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = map_rc(rc);
		goto out;
	}
	r = 0;
out:
	free(hi);
	stmt_put(p, fresh);
	return r;
}

static const struct jpki_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.schema_version = sq_schema_version,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.cert_insert = sq_cert_insert,
	.cert_exists = sq_cert_exists,
	.cert_get = sq_cert_get,
	.cert_set_status = sq_cert_set_status,
	.foreach_listed = sq_foreach_listed,
	.foreach_changed = sq_foreach_changed,
	.foreach_cert = sq_foreach_cert,
	.partitions = sq_partitions,
	.partition_count = sq_partition_count,
	.event_seq = sq_event_seq,
	.counter_next = sq_counter_next,
	.counter_get = sq_counter_get,
	.crl_save = sq_crl_save,
	.crl_latest = sq_crl_latest,
	.audit_last = sq_audit_last,
	.audit_insert = sq_audit_insert,
	.foreach_audit = sq_foreach_audit,
	.doc_put = sq_doc_put,
	.doc_get = sq_doc_get,
	.doc_delete = sq_doc_delete,
	.foreach_doc = sq_foreach_doc,
};
