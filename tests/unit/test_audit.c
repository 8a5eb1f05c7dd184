/* The audit log (jpki/audit.h): the chain holds, and a changed, removed,
 * reordered or cut-off entry is found and named; the store's documents. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "jpki/audit.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/store.h"

static char dir[256];

static int
setup(void **state)
{
	const char *t = getenv("JPKI_TEST_TMP");
	char tmpl[200];

	if (t == NULL)
		t = "/tmp";
	jpki_file_mkdirs(t, 0755);
	snprintf(tmpl, sizeof(tmpl), "%s/test_audit.XXXXXX", t);
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A store with n entries in a fresh subdirectory; returns it open. */
static jpki_store_t *
fill(const char *name, int n, jpki_audit_t *a, char *db, size_t dblen)
{
	char sub[300];
	jpki_store_t *st = NULL;
	int i;

	snprintf(sub, sizeof(sub), "%s/%s", dir, name);
	assert_int_equal(jpki_file_mkdirs(sub, 0700), 0);
	snprintf(db, dblen, "%s/ca.db", sub);
	assert_int_equal(jpki_store_open(db, &st), 0);
	assert_int_equal(jpki_audit_open(a, sub, st, "test_audit"), 0);
	for (i = 1; i <= n; i++)
		assert_int_equal(jpki_audit_appendf(a, "operator1", "issue", "resident 1", "ok",
		                                    "entry %d", i), 0);
	return st;
}

static void
sql(const char *db, const char *q)
{
	sqlite3 *h = NULL;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, q, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static void
test_chain_holds(void **state)
{
	jpki_audit_t a;
	jpki_audit_report_t rep;
	char db[400], path[400];
	struct stat sb;
	jpki_store_t *st = fill("holds", 5, &a, db, sizeof(db));

	assert_int_equal(jpki_audit_verify(&a, &rep), 0);
	assert_int_equal(rep.entries, 5);
	assert_int_equal(rep.bad_seq, 0);
	/* The key is the directory's secret. */
	snprintf(path, sizeof(path), "%s/holds/audit.key", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, 32);
	jpki_audit_clear(&a);
	jpki_store_close(st);
}

static void
test_changed_entry_named(void **state)
{
	jpki_audit_t a;
	jpki_audit_report_t rep;
	char db[400];
	jpki_store_t *st = fill("changed", 6, &a, db, sizeof(db));

	jpki_store_close(st);
	sql(db, "UPDATE audit SET detail = 'entry 9' WHERE seq = 4");
	assert_int_equal(jpki_store_open(db, &st), 0);
	a.store = st;
	assert_int_equal(jpki_audit_verify(&a, &rep), JPKI_ERR_VERIFY);
	assert_int_equal(rep.bad_seq, 4);
	assert_non_null(strstr(rep.why, "entry 4 was changed"));
	jpki_audit_clear(&a);
	jpki_store_close(st);
}

static void
test_removed_entry_named(void **state)
{
	jpki_audit_t a;
	jpki_audit_report_t rep;
	char db[400];
	jpki_store_t *st = fill("removed", 6, &a, db, sizeof(db));

	jpki_store_close(st);
	sql(db, "DELETE FROM audit WHERE seq = 3");
	assert_int_equal(jpki_store_open(db, &st), 0);
	a.store = st;
	assert_int_equal(jpki_audit_verify(&a, &rep), JPKI_ERR_VERIFY);
	assert_int_equal(rep.bad_seq, 3);
	assert_non_null(strstr(rep.why, "entry 3 is missing"));
	jpki_audit_clear(&a);
	jpki_store_close(st);
}

static void
test_reordered_entries_named(void **state)
{
	jpki_audit_t a;
	jpki_audit_report_t rep;
	char db[400];
	jpki_store_t *st = fill("reordered", 6, &a, db, sizeof(db));

	jpki_store_close(st);
	/* Entries 2 and 3 change places (numbers swapped, so no gap shows). */
	sql(db, "UPDATE audit SET seq = -2 WHERE seq = 2;"
	        "UPDATE audit SET seq = 2 WHERE seq = 3;"
	        "UPDATE audit SET seq = 3 WHERE seq = -2;");
	assert_int_equal(jpki_store_open(db, &st), 0);
	a.store = st;
	assert_int_equal(jpki_audit_verify(&a, &rep), JPKI_ERR_VERIFY);
	assert_int_equal(rep.bad_seq, 2);
	jpki_audit_clear(&a);
	jpki_store_close(st);
}

static void
test_cut_tail_found(void **state)
{
	jpki_audit_t a;
	jpki_audit_report_t rep;
	char db[400];
	jpki_store_t *st = fill("cut", 6, &a, db, sizeof(db));

	jpki_store_close(st);
	sql(db, "DELETE FROM audit WHERE seq >= 5");
	assert_int_equal(jpki_store_open(db, &st), 0);
	a.store = st;
	assert_int_equal(jpki_audit_verify(&a, &rep), JPKI_ERR_VERIFY);
	assert_int_equal(rep.bad_seq, 5);
	assert_non_null(strstr(rep.why, "ends at entry 4 but 6"));
	jpki_audit_clear(&a);
	jpki_store_close(st);
}

/* A log whose key file is gone (lost, or not restored with a backup): no
 * new key is made behind the operator's back; the error says what to do. */
static void
test_lost_key_refused(void **state)
{
	jpki_audit_t a, again;
	char db[400], key[320], sub[300];
	jpki_store_t *st = fill("lost", 2, &a, db, sizeof(db));

	snprintf(sub, sizeof(sub), "%s/lost", dir);
	snprintf(key, sizeof(key), "%s/audit.key", sub);
	assert_int_equal(unlink(key), 0);
	assert_int_equal(jpki_audit_open(&again, sub, st, "test_audit"), JPKI_ERR_NOT_FOUND);
	assert_non_null(strstr(jpki_detail(), "restore the key"));
	assert_int_equal(access(key, F_OK), -1);
	jpki_audit_clear(&a);
	jpki_store_close(st);
}

static void
test_forged_without_key(void **state)
{
	jpki_audit_t a, other;
	jpki_audit_report_t rep;
	char db[400], sub[300], key[320];
	jpki_store_t *st = fill("forged", 3, &a, db, sizeof(db));

	/* Someone with the database but another key appends: found. */
	snprintf(sub, sizeof(sub), "%s/forger", dir);
	assert_int_equal(jpki_file_mkdirs(sub, 0700), 0);
	snprintf(key, sizeof(key), "%s/audit.key", sub);
	assert_int_equal(jpki_file_write_new(key, (const uint8_t *)"0123456789abcdef0123456789abcdef",
	                                     32, 0600), 0);
	assert_int_equal(jpki_audit_open(&other, sub, st, "forger"), 0);
	assert_int_equal(jpki_audit_append(&other, "x", "revoke", "sign 01", "ok", ""), 0);
	assert_int_equal(jpki_audit_verify(&a, &rep), JPKI_ERR_VERIFY);
	assert_int_equal(rep.bad_seq, 4);
	jpki_audit_clear(&other);
	jpki_audit_clear(&a);
	jpki_store_close(st);
}

static void
test_rolls_back_with_act(void **state)
{
	jpki_audit_t a;
	jpki_audit_report_t rep;
	char db[400];
	jpki_store_t *st = fill("rollback", 2, &a, db, sizeof(db));

	assert_int_equal(jpki_store_begin(st), 0);
	assert_int_equal(jpki_audit_append(&a, "op", "issue", "r", "ok", NULL), 0);
	assert_int_equal(jpki_store_rollback(st), 0);
	assert_int_equal(jpki_audit_verify(&a, &rep), 0);
	assert_int_equal(rep.entries, 2);
	/* A long field is cut at a character boundary, never refused. */
	{
		char big[2000];
		size_t i;
		for (i = 0; i + 3 < sizeof(big); i += 3)
			memcpy(big + i, "あ", 3);
		big[i] = '\0';
		assert_int_equal(jpki_audit_append(&a, big, big, big, "ok", big), 0);
	}
	assert_int_equal(jpki_audit_verify(&a, &rep), 0);
	jpki_audit_clear(&a);
	jpki_store_close(st);
}

struct keys {
	char seen[8][64];
	int n;
};

static int
collect(void *ctx, const char *key, const char *body)
{
	struct keys *k = ctx;

	if (k->n < 8)
		snprintf(k->seen[k->n++], sizeof(k->seen[0]), "%s=%s", key, body);
	return 0;
}

static void
test_docs(void **state)
{
	jpki_audit_t a;
	char db[400];
	char *body = NULL;
	struct keys k;
	jpki_store_t *st = fill("docs", 0, &a, db, sizeof(db));

	assert_int_equal(jpki_store_doc_put(st, "resident", "000001", "name=a\n", JPKI_DOC_CREATE), 0);
	assert_int_equal(jpki_store_doc_put(st, "resident", "000001", "x", JPKI_DOC_CREATE),
	                 JPKI_ERR_EXISTS);
	assert_int_equal(jpki_store_doc_put(st, "resident", "000009", "x", JPKI_DOC_REPLACE),
	                 JPKI_ERR_NOT_FOUND);
	assert_int_equal(jpki_store_doc_put(st, "resident", "000002", "b", JPKI_DOC_UPSERT), 0);
	assert_int_equal(jpki_store_doc_put(st, "resident", "000002", "c", JPKI_DOC_REPLACE), 0);
	assert_int_equal(jpki_store_doc_put(st, "card", "000001/1", "k", JPKI_DOC_CREATE), 0);
	assert_int_equal(jpki_store_doc_put(st, "card", "000001/2", "l", JPKI_DOC_CREATE), 0);
	assert_int_equal(jpki_store_doc_put(st, "card", "0000010/1", "m", JPKI_DOC_CREATE), 0);
	assert_int_equal(jpki_store_doc_get(st, "resident", "000002", &body), 0);
	assert_string_equal(body, "c");
	free(body);
	assert_int_equal(jpki_store_doc_get(st, "resident", "000003", &body), JPKI_ERR_NOT_FOUND);
	assert_null(body);
	memset(&k, 0, sizeof(k));
	assert_int_equal(jpki_store_foreach_doc(st, "card", "000001/", collect, &k), 0);
	assert_int_equal(k.n, 2);
	assert_string_equal(k.seen[0], "000001/1=k");
	assert_string_equal(k.seen[1], "000001/2=l");
	memset(&k, 0, sizeof(k));
	assert_int_equal(jpki_store_foreach_doc(st, "resident", "", collect, &k), 0);
	assert_int_equal(k.n, 2);
	assert_int_equal(jpki_store_doc_delete(st, "card", "000001/1"), 0);
	assert_int_equal(jpki_store_doc_delete(st, "card", "000001/1"), JPKI_ERR_NOT_FOUND);
	assert_int_equal(jpki_store_doc_put(st, "", "k", "x", JPKI_DOC_CREATE), JPKI_ERR_INVALID_ARG);
	jpki_audit_clear(&a);
	jpki_store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_holds),
		cmocka_unit_test(test_changed_entry_named),
		cmocka_unit_test(test_removed_entry_named),
		cmocka_unit_test(test_reordered_entries_named),
		cmocka_unit_test(test_cut_tail_found),
		cmocka_unit_test(test_forged_without_key),
		cmocka_unit_test(test_lost_key_refused),
		cmocka_unit_test(test_rolls_back_with_act),
		cmocka_unit_test(test_docs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
